"""SNMPv3 on our own transport (collectors/usmmanager.py): against net-snmp's snmpd, a real agent, and against the
simulator's agent (collectors/usmagent.py, itself checked against pysnmp in tests/simulate/test_usm.py) for every
auth and priv protocol; engine discovery, the time window, an agent's reboot, and wrong credentials."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from hotspotctl.collectors.auth import Credentials
from hotspotctl.collectors.codec import GET, GET_BULK, _decode, _tlv, encode_response
from hotspotctl.collectors.engine import GetFailure, GetReply, GetRequest, GetShape, SnmpGetEngine
from hotspotctl.collectors.oids import parse_oid
from hotspotctl.collectors.usmagent import UsmAgent, UsmUser
from hotspotctl.collectors.usmcore import AUTH_PROTOCOLS, PRIV_PROTOCOLS, frame, parse_message
from hotspotctl.collectors.walker import WalkerClient
from hotspotctl.errors import CollectError, PollErrorKind

SYS_DESCR, SYS_OBJECT_ID = parse_oid("1.3.6.1.2.1.1.1.0"), parse_oid("1.3.6.1.2.1.1.2.0")
IF_DESCR = parse_oid("1.3.6.1.2.1.2.2.1.2")


def _credentials(name: str, user: str, auth: str = "", auth_pw: str = "", priv: str = "", priv_pw: str = "") -> Credentials:
    return Credentials(name, "3", user=user, auth_protocol=auth, auth_password=auth_pw, priv_protocol=priv,
                       priv_password=priv_pw)


def _snmpd_user(snmpd, *, des: bool = False, auth_pw: str | None = None, priv_pw: str | None = None,
                user: str | None = None) -> Credentials:
    if des:
        return _credentials("lab-des", user or f"{snmpd.V3_USER}-md5-des", "md5", auth_pw or snmpd.V3_AUTH[1], "des",
                            priv_pw or snmpd.V3_PRIV[1])
    return _credentials("lab", user or snmpd.V3_USER, snmpd.V3_AUTH[0], auth_pw or snmpd.V3_AUTH[1],
                        snmpd.V3_PRIV[0], priv_pw or snmpd.V3_PRIV[1])


async def _walker_read(port: int, credentials: Credentials, client: WalkerClient | None = None):
    own = client is None
    client = client or WalkerClient(timeout_s=0.5, retries=1, deadline_s=3.0)
    try:
        device = client.device_at(("127.0.0.1", port), b"", auth_name=credentials.name,
                                  usm=client.transport.usm.user(credentials))
        got = await device.get([SYS_DESCR, SYS_OBJECT_ID])
        rows = await device.walk(IF_DESCR)
        return got, rows, client.transport.stats
    finally:
        if own:
            client.close()


@pytest.mark.parametrize("des", [False, True], ids=["sha256-aes", "md5-des"])
def test_walker_reads_snmpd_over_v3_what_snmpget_reads(snmpd, des):
    """A GET and a GETBULK walk over authPriv read what net-snmp's own snmpget reads over v2c."""
    expected = snmpd.snmpget("1.3.6.1.2.1.1.1.0")["1.3.6.1.2.1.1.1.0"]
    got, rows, stats = asyncio.run(_walker_read(snmpd.port, _snmpd_user(snmpd, des=des)))
    assert got[SYS_DESCR].decode() == expected
    assert got[SYS_OBJECT_ID][:7] == (1, 3, 6, 1, 4, 1, 8072)  # net-snmp's enterprise
    assert rows and rows[0][0] == (*IF_DESCR, 1) and rows[0][1] == b"lo"
    assert stats.dropped == 0


def test_engine_polls_snmpd_over_v3_after_one_discovery(snmpd):
    """The poll engine's GETs go out authPriv; the agent's engine is discovered once, then every GET is one
    exchange (the second batch sends exactly one datagram per AP)."""
    credentials = _snmpd_user(snmpd)

    async def main():
        with SnmpGetEngine(timeout_s=0.5, retries=1, deadline_s=3.0) as engine:
            shape = GetShape(b"", [SYS_DESCR, SYS_OBJECT_ID], usm=engine.transport.usm.user(credentials))
            first = await engine.get_many([GetRequest("ap", ("127.0.0.1", snmpd.port), shape)])
            sent = engine.stats.sent
            second = await engine.get_many([GetRequest("ap", ("127.0.0.1", snmpd.port), shape)])
            return first, second, engine.stats.sent - sent, engine.transport

    first, second, sent, transport = asyncio.run(main())
    for reply in (first[0], second[0]):
        assert isinstance(reply, GetReply), reply
        assert reply.values[0].decode() == snmpd.snmpget("1.3.6.1.2.1.1.1.0")["1.3.6.1.2.1.1.1.0"]
    assert sent == 1
    assert list(transport.usm.peers) == [("127.0.0.1", snmpd.port)]
    assert transport.stats.dropped == 0


@pytest.mark.parametrize("wrong, says", [
    ({"auth_pw": "not-the-auth-pw"}, "usmStatsWrongDigests"),
    ({"user": "nobody"}, "usmStatsUnknownUserNames"),
])
def test_wrong_credentials_fail_fast_with_kind_auth(snmpd, wrong, says):
    """The agent's Report fails the request at once, kind auth (not a timeout: nothing a crew could fix)."""
    with pytest.raises(CollectError) as failed:
        asyncio.run(_walker_read(snmpd.port, _snmpd_user(snmpd, **wrong)))
    assert failed.value.kind == PollErrorKind.AUTH
    assert says in str(failed.value) and "auth set 'lab'" in str(failed.value)
    assert "not-the-auth-pw" not in str(failed.value) and snmpd.V3_PRIV[1] not in str(failed.value)


def test_wrong_priv_password_is_never_an_answer(snmpd):
    """A wrong priv password: snmpd decrypts garbage and drops it as a parse error ("error parsing ScopedPDU",
    no decryptionError Report), so the GET times out; it is never read as an answer."""

    async def main():
        with SnmpGetEngine(timeout_s=0.3, retries=0, deadline_s=1.0) as engine:
            shape = GetShape(b"", [SYS_DESCR], usm=engine.transport.usm.user(_snmpd_user(snmpd, priv_pw="nope-nope")))
            reply = (await engine.get_many([GetRequest("ap", ("127.0.0.1", snmpd.port), shape)]))[0]
            return reply, engine.transport.stats

    reply, stats = asyncio.run(main())
    assert isinstance(reply, GetFailure) and reply.kind == PollErrorKind.TIMEOUT
    assert stats.received == 1 and stats.dropped == 0  # the discovery Report, then nothing


# --- against the simulator's agent: every protocol, discovery, the clock, a reboot -------------------------------


class _Agent:
    """The simulator's USM agent on a loopback socket, answering GETs and GETBULKs of sysDescr with one value."""

    def __init__(self, users: list[UsmUser]) -> None:
        self.usm = UsmAgent(users)
        self.engine_id = b"\x80\x00\x1f\x88\x04hotspot-test"
        self.boots, self.time = 3, 1000
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                continue
            self.requests += 1
            got = self.usm.unwrap(data, self.engine_id, self.boots, self.time)
            if isinstance(got, bytes):
                self.sock.sendto(got, peer)
                continue
            if got is None:
                continue
            request = _decode(b"\x30" + bytes([len(got.pdu) + 5]) + b"\x02\x01\x01\x04\x00" + got.pdu)
            assert request.pdu_type in (GET, GET_BULK)
            answer = encode_response(b"", got.request_id, [(SYS_DESCR, 0x04, b"sim-ap " + got.user.name)])
            pdu = answer[answer.index(b"\xa2"):]  # the Response PDU after the empty community
            self.sock.sendto(self.usm.wrap(got, pdu, self.engine_id, self.boots, self.time), peer)

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


ALL_USERS = [UsmUser(f"{a}-{p or 'none'}".encode(), a, b"auth-pass-" + a.encode(), p or None,
                     (b"priv-pass-" + p.encode()) if p else None)
             for a in AUTH_PROTOCOLS for p in ("", *PRIV_PROTOCOLS)]


@pytest.fixture
def agent() -> Iterator[_Agent]:
    served = _Agent([*ALL_USERS, UsmUser(b"plain", None, None, None, None)])
    yield served
    served.close()


def _sim_credentials(user: UsmUser) -> Credentials:
    return _credentials(f"set-{user.name.decode()}", user.name.decode(), user.auth_protocol or "",
                        (user.auth_password or b"").decode(), user.priv_protocol or "",
                        (user.priv_password or b"").decode())


def _get(port: int, credentials: list[Credentials], engine: SnmpGetEngine | None = None):
    async def main(engine: SnmpGetEngine):
        requests = [GetRequest(c.name, ("127.0.0.1", port),
                               GetShape(b"", [SYS_DESCR], usm=engine.transport.usm.user(c))) for c in credentials]
        return await engine.get_many(requests)

    if engine is not None:
        return asyncio.run(main(engine))
    with SnmpGetEngine(timeout_s=0.5, retries=1, deadline_s=3.0) as own:
        return asyncio.run(main(own))


def test_every_auth_and_priv_protocol_at_once(agent):
    """28 users (6 auth x (none + 4 priv) + noAuthNoPriv), one GET each, sent together to one agent: every reply
    is the agent's answer for that user; the concurrent discoveries all end in a resend, none is lost."""
    users = [*ALL_USERS, UsmUser(b"plain", None, None, None, None)]
    replies = _get(agent.port, [_sim_credentials(u) for u in users])
    for user, reply in zip(users, replies, strict=True):
        assert isinstance(reply, GetReply), (user.name, reply)
        assert reply.values == [b"sim-ap " + user.name]


def test_agent_reboot_and_clock_jump_are_learned_from_its_report(agent):
    """After the agent reboots (boots + 1, time from 0) or its clock leaps past the 150 s window, its authenticated
    notInTimeWindow Report carries the new boots and time: the GET is sent again once and answered."""
    credentials = [_sim_credentials(ALL_USERS[6])]  # sha with des
    with SnmpGetEngine(timeout_s=0.5, retries=0, deadline_s=3.0) as engine:
        assert isinstance(_get(agent.port, credentials, engine)[0], GetReply)
        for boots, clock in ((agent.boots + 1, 5), (agent.boots + 1, 5000)):
            agent.boots, agent.time = boots, clock
            before = agent.requests
            reply = _get(agent.port, credentials, engine)[0]
            assert isinstance(reply, GetReply), reply
            assert agent.requests - before == 2  # the stale request (answered by a Report), then the resend
            peer = engine.transport.usm.peers[("127.0.0.1", agent.port)]
            assert (peer.boots, peer.engine_time) == (boots, clock)
        assert agent.usm.stats.not_in_time_windows == 2


def test_a_response_in_the_clear_to_an_authpriv_request_is_dropped():
    """Someone on the path answering an authPriv GET in the clear, with the right msgID, engine and user, is not
    believed: the GET times out and the transport counts the answer unauthentic."""
    forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    forger.bind(("127.0.0.1", 0))
    forger.settimeout(0.1)
    port, engine_id, stop = forger.getsockname()[1], b"\x80\x00\x1f\x88\x04forged", threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = forger.recvfrom(65535)
            except OSError:
                continue
            message = parse_message(data)
            answer = encode_response(b"", message.msg_id, [(SYS_DESCR, 0x04, b"forged")])
            scoped = _tlv(0x30, _tlv(0x04, engine_id) + b"\x04\x00" + answer[answer.index(b"\xa2"):])
            forger.sendto(frame(message.msg_id, 0, engine_id, 1, 100, b"md5-des", None, None, scoped), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    async def main():
        with SnmpGetEngine(timeout_s=0.3, retries=0, deadline_s=1.0) as engine:
            usm = engine.transport.usm.user(_sim_credentials(ALL_USERS[1]))  # md5 with des
            engine.transport.usm.learn(("127.0.0.1", port), engine_id, 1, 100)
            reply = (await engine.get_many([GetRequest("ap", ("127.0.0.1", port),
                                                       GetShape(b"", [SYS_DESCR], usm=usm))]))[0]
            return reply, engine.transport.stats

    try:
        reply, stats = asyncio.run(main())
    finally:
        stop.set()
        thread.join(2)
        forger.close()
    assert isinstance(reply, GetFailure) and reply.kind == PollErrorKind.TIMEOUT
    assert stats.dropped_unauthentic == 1 and stats.received == 1


def test_a_poller_never_imports_pysnmp():
    """The service, the cluster worker and the CLI poll SNMPv3 on our transport: pysnmp (about 38 MB of a poller's
    RSS with pyasn1 and pysmi) is loaded only for an SNMP reboot's SET. Imported in a fresh interpreter."""
    code = ("import sys, hotspotctl.cli, hotspotctl.scheduling.service, hotspotctl.scheduling.cluster, "
            "hotspotctl.collectors.poller; "
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('pysnmp', 'pysmi', 'pyasn1'))}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
