"""A scripted SNMP agent: a real UDP socket on loopback, answered by the test's own script.

For each request it receives, a thread runs ``script(agent, request, source)``, which decides
what to send back, from which socket and when. It plays what no real agent here does on
demand: a genErr, an answer from the wrong port, an answer after a given delay.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from hotspotctl.collectors.codec import COUNTER64, INTEGER, TIME_TICKS, decode_response, encode_response
from hotspotctl.collectors.model import NO_SUCH_INSTANCE
from hotspotctl.collectors.oids import SYS_UPTIME, decode_oid, parse_oid

COMMUNITY = b"test-community"
IN_OCTETS = parse_oid("1.3.6.1.2.1.31.1.1.1.6.2")
CLIENTS = parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.8.1")
VALUES = {SYS_UPTIME: (TIME_TICKS, 123456), IN_OCTETS: (COUNTER64, 2**64 - 5), CLIENTS: (INTEGER, 17)}

Script = Callable[["ScriptedAgent", bytes, tuple], None]


class ScriptedAgent:
    """A UDP agent in a thread on loopback (IPv4 or IPv6); ``other`` is a second socket: the wrong source."""

    def __init__(self, script: Script, family: int = socket.AF_INET) -> None:
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.other = socket.socket(family, socket.SOCK_DGRAM)
        self.other.bind((host, 0))
        self.address = self.sock.getsockname()[:2]
        self.script = script
        self.requests: list[bytes] = []
        self._timers: list[threading.Timer] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, source = self.sock.recvfrom(65535)
            except OSError:
                return
            self.requests.append(data)
            self.script(self, data, source)

    def answer(self, request: bytes, *, community: bytes | None = None, rid_delta: int = 0, error_status: int = 0,
               error_index: int = 0, varbinds: list | None = None) -> bytes:
        """The response to ``request``: VALUES for the OIDs it asks (noSuchInstance for others)."""
        message = decode_response(request)  # a GetRequest decodes with the same parser
        if varbinds is None:
            varbinds = [(oid, *VALUES.get(oid, (0x81, NO_SUCH_INSTANCE)))
                        for oid in (decode_oid(raw) for raw, _, _ in message.varbinds)]
        return encode_response(message.community if community is None else community,
                               message.request_id + rid_delta, varbinds,
                               error_status=error_status, error_index=error_index)

    def later(self, delay_s: float, data: bytes, destination: tuple) -> None:
        timer = threading.Timer(delay_s, self.sock.sendto, (data, destination))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self.sock.close()
        self.other.close()
