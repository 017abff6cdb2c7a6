"""One SNMP transport under both request styles: the poll engine's GETs and the walker's exchanges.

A ``UdpTransport`` owns what the two have in common (scrapli's transport/driver split):

- the sockets: one non-blocking IPv4 socket, and an IPv6 one opened on the first IPv6 agent;
  a large receive buffer, read back after it is set (the kernel caps it silently at
  ``net.core.rmem_max`` for a process without CAP_NET_ADMIN: that is warned about once, with the
  sysctl that fixes it), and the kernel's receive drops counted (``SO_MEMINFO``);
- request-ids (one counter, a dict from request-id to the request waiting for it) and the
  screening of answers: a datagram that does not decode, carries a request-id nobody waits for,
  comes from another address or with another community, or is not a Response is dropped and
  counted, never trusted. An answer to ANY attempt of a request completes it: a retry adds a
  request-id, it never forgets the earlier ones;
- the in-flight cap, shared by every owner: at most ``max_in_flight`` requests, and never more
  than the receive buffer holds (its effective size over what one answer costs the kernel, its
  "truesize", measured as answers arrive), so that a burst of answers is never dropped by the kernel;
- one timer heap for every attempt's expiry, and the timeouts themselves: per agent address,
  RFC 6298's smoothed round trip and its variance (first contact: ``timeout_s``), clamped between
  a floor and the deadline, doubling per retry; a request is never given up before its last
  attempt's wait, and never waited for past its deadline;
- the readable/writable plumbing, and one table of error-status names;
- SNMPv3: a request made with a v3 credential set (``Request.usm``) is encoded by its owner as a v2c message
  with an empty community and sent in a v3 message (``usmmanager.ManagerUser.wrap``); a v3 answer is matched by its
  msgID, checked and opened by the same user (``unwrap``). Agents' engines are discovered on first contact and
  kept per address (``usm``, a ``usmmanager.UsmManager``); a Report that teaches the engine or its clock sends
  the request again (``Owner.resend``), one that says the credentials are wrong fails it (``Owner.refused``).

Owners (``engine.SnmpGetEngine``, ``walker.WalkerClient``) keep their request semantics: they queue
requests, take a slot, call ``transmit``, and get ``answered``/``expired`` callbacks; the transport
calls each owner's ``pump`` when slots free up or the socket becomes writable again.

``Resolver`` turns management addresses into socket addresses off the event loop.
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import itertools
import logging
import random
import socket
import struct
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from socket import AF_INET, inet_pton
from typing import Any, Protocol, TypeVar

from hotspotctl.collectors.codec import REQUEST_ID_MAX, REQUEST_ID_MIN, RESPONSE, CodecError, Response, decode_response
from hotspotctl.collectors.usmcore import Malformed, parse_message
from hotspotctl.collectors.usmmanager import RESENDS_MAX, ManagerUser, Refusal, Resend, UsmManager
from hotspotctl.errors import PollErrorKind

log = logging.getLogger(__name__)


Address = tuple  # (ip, port) for IPv4; (ip, port, flowinfo, scope_id) for IPv6, as recvfrom gives them

SO_MEMINFO = getattr(socket, "SO_MEMINFO", 55)  # <asm-generic/socket.h>; Linux 3.6+
# SO_RCVBUFFORCE, SO_SNDBUFFORCE (<asm-generic/socket.h>): Python's socket module does not export them,
# so before issue 15 the privileged path was never taken and root got net.core.rmem_max too.
_LINUX_FORCE = (33, 32) if sys.platform.startswith("linux") else (None, None)
_MEMINFO = struct.Struct("9I")  # rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc, wmem_queued, optmem, backlog, drops
DEFAULT_TRUESIZE = 1280  # what the kernel charges a datagram of up to ~500 bytes on loopback (measured)
_CLOCK_GRANULARITY_S = 0.01  # RFC 6298's G: the loop's timer and our own latency
# What is kept per agent address (RTT estimates, parsed literals, names looked up) is kept for this many addresses
# before starting over: ten cities (353,500 APs) in one process fit (at 1 << 17 their estimates were dropped
# several times a cycle, so every AP was back to the initial timeout); an inventory churning through more
# addresses than this starts over rather than grows.
ADDRESSES_MAX = 1 << 20


@dataclass(slots=True)
class TransportStats:
    """What arrived and what was refused on the transport's sockets, for polls and discovery together."""

    received: int = 0  # datagrams read
    dropped_malformed: int = 0  # not a decodable SNMPv2c message
    dropped_unknown_id: int = 0  # a request-id nobody waits for (a late duplicate, forged, or given up)
    dropped_wrong_source: int = 0  # right request-id, wrong sender address or port
    dropped_wrong_community: int = 0
    dropped_not_response: int = 0  # a PDU other than Response
    dropped_unauthentic: int = 0  # SNMPv3: not an authentic answer for the request's user (digest, engine, level)
    kernel_drops: int = 0  # datagrams the kernel dropped on a full receive buffer (SO_MEMINFO), since opened
    receive_buffer_bytes: int = 0  # the receive buffer the kernel gave (read back), per socket
    in_flight_limit: int = 0  # requests in flight allowed now: max_in_flight, or what the buffer holds
    in_flight: int = 0  # requests holding a slot now
    max_in_flight: int = 0  # the most that ever held one at once

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def dropped(self) -> int:
        return (self.dropped_malformed + self.dropped_unknown_id + self.dropped_wrong_source
                + self.dropped_wrong_community + self.dropped_not_response + self.dropped_unauthentic)


class Request:
    """One request until it is answered or given up; owners subclass it (slots only)."""

    __slots__ = ("address", "attempt", "community", "deadline", "done", "holds_slot", "owner", "resends", "retries",
                 "rids", "sends", "usm")

    def __init__(self, owner: Owner[Any], address: Address, community: bytes, retries: int,
                 usm: ManagerUser | None = None) -> None:
        self.owner = owner
        self.address = address
        self.community = community
        self.usm = usm  # SNMPv3: the user the request goes out as (``community`` is then empty)
        self.resends = 0  # SNMPv3: sent again after a Report (discovery, time window), at most RESENDS_MAX
        self.retries = retries
        self.attempt = 0
        self.rids: list[int] = []  # one per attempt sent; an answer to any of them completes the request
        self.sends: list[float] = []  # monotonic time each attempt was sent
        self.deadline = 0.0  # monotonic; no attempt is waited for past it
        self.done = False
        self.holds_slot = False


_R_contra = TypeVar("_R_contra", bound=Request, contravariant=True)


class Owner(Protocol[_R_contra]):
    """What the transport calls back; each owner is handed back its own kind of Request."""

    def answered(self, request: _R_contra, response: Response, rtt: float) -> None:
        """An answer passed the checks; the transport has finished the request (ids forgotten, slot freed)."""

    def expired(self, request: _R_contra, now: float) -> None: ...

    def resend(self, request: _R_contra) -> None:
        """SNMPv3: send the request again now (it keeps its slot and attempt): a Report taught its agent's engine."""

    def refused(self, request: _R_contra, kind: PollErrorKind, message: str) -> None:
        """SNMPv3: the agent's Report says the credentials are wrong: fail the request (finishing it, as ``expired``
        does when it gives up)."""

    def pump(self) -> None: ...

    def forget(self) -> None: ...


class RttEstimator:
    """Per agent address, RFC 6298: SRTT and RTTVAR from unambiguous samples (each attempt has its own
    request-id, so Karn's problem does not arise); RTO = SRTT + max(G, 4 RTTVAR), clamped.

    Kept in columns: ``slots`` gives an address its slot, ``srtt``, ``rttvar`` and ``rto`` hold the slot's
    figures as C doubles. A list of three floats an address made three new float objects an AP every cycle,
    each kept until the next: long-lived allocations among the cycle's short-lived ones, which left the
    allocator's arenas fragmented (and 160 bytes an address against about 90 here)."""

    __slots__ = ("ceiling", "floor", "initial", "max_entries", "rto", "rttvar", "slots", "srtt")

    def __init__(self, initial_s: float, floor_s: float, ceiling_s: float, max_entries: int = ADDRESSES_MAX) -> None:
        self.initial = initial_s
        self.floor = min(floor_s, ceiling_s)
        self.ceiling = ceiling_s
        self.max_entries = max_entries
        self.slots: dict[Address, int] = {}
        self.srtt = array("d")
        self.rttvar = array("d")
        self.rto = array("d")

    def timeout(self, address: Address) -> float:
        slot = self.slots.get(address)
        return self.initial if slot is None else self.rto[slot]

    def sample(self, address: Address, rtt: float) -> None:
        slot = self.slots.get(address)
        srtt, rttvar = self.srtt, self.rttvar
        if slot is None:
            if len(self.slots) >= self.max_entries:
                self.forget()  # an inventory that churns through addresses: start over, not grow
            slot = self.slots[address] = len(srtt)
            srtt.append(rtt)
            rttvar.append(rtt / 2.0)
            self.rto.append(0.0)
        else:
            rttvar[slot] = 0.75 * rttvar[slot] + 0.25 * abs(srtt[slot] - rtt)
            srtt[slot] = 0.875 * srtt[slot] + 0.125 * rtt
        rto = srtt[slot] + max(_CLOCK_GRANULARITY_S, 4.0 * rttvar[slot])
        self.rto[slot] = self.floor if rto < self.floor else self.ceiling if rto > self.ceiling else rto

    def smoothed(self, address: Address) -> float | None:
        slot = self.slots.get(address)
        return None if slot is None else self.srtt[slot]

    def forget(self) -> None:
        """Every estimate, in place (``UdpTransport`` reads the same dict and array)."""
        self.slots.clear()
        del self.srtt[:], self.rttvar[:], self.rto[:]


def rcvbuf_fix(requested: int) -> str:
    return (f"sysctl -w net.core.rmem_max={requested} (and put net.core.rmem_max = {requested} in "
            "/etc/sysctl.d/hotspotctl.conf to keep it), or run with CAP_NET_ADMIN")


class UdpTransport:
    """Sockets, request-ids, the in-flight cap, timers and answers for every SNMP owner of a process.

    Use it from one event loop at a time (it re-attaches, forgetting what was pending, if a later
    ``asyncio.run`` uses it). Close it when done.
    """

    def __init__(self, *, receive_buffer_bytes: int = 8 << 20, max_in_flight: int = 2000, timeout_s: float = 1.0,
                 min_timeout_s: float = 0.5, max_timeout_s: float = 6.0,
                 bind: tuple[str, int] = ("0.0.0.0", 0), bind6: tuple[str, int] = ("::", 0)) -> None:
        if max_in_flight < 1 or timeout_s <= 0 or receive_buffer_bytes < 1:
            raise ValueError("max_in_flight and receive_buffer_bytes must be at least 1 and timeout_s more than 0")
        self.receive_buffer_bytes = receive_buffer_bytes
        self.max_in_flight = max_in_flight
        self.rtt = RttEstimator(timeout_s, min_timeout_s, max_timeout_s)
        self._initial = timeout_s
        self._rtt_slots, self._rto = self.rtt.slots, self.rtt.rto  # read on every send: no call for a new agent
        self.stats = TransportStats()
        self.pending: dict[int, Request] = {}
        self.usm = UsmManager()  # SNMPv3: the agents' engines and every v3 user's keys
        self.truesize = DEFAULT_TRUESIZE
        self.limit = max_in_flight
        self._bind6 = bind6
        self._warned = False
        self._rids = itertools.count(random.randrange(REQUEST_ID_MIN, REQUEST_ID_MAX - (1 << 24)))
        self._heap: list[tuple[float, int]] = []  # (expiry, request-id of that attempt)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._owners: list[Owner[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: set[int] = set()  # fds with a writer registered
        self._closed = False
        self._socks: list[socket.socket] = []
        self.sock = self._open(socket.AF_INET, bind)
        self.sock6: socket.socket | None = None

    # -- sockets and the receive buffer ------------------------------------------------------

    def _open(self, family: int, bind: tuple[str, int]) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            capped = size_buffers(sock, self.receive_buffer_bytes)
            sock.bind(bind)
        except OSError:
            sock.close()
            raise
        if capped is not None and not self._warned:
            self._warned = True
            log.warning("the UDP receive buffer is %s bytes, not the %s asked for (snmp.receive_buffer_bytes): the "
                        "kernel caps it at net.core.rmem_max for a process without CAP_NET_ADMIN; requests in "
                        "flight are held to what it holds. To fix: %s", f"{capped:,}",
                        f"{self.receive_buffer_bytes:,}", rcvbuf_fix(self.receive_buffer_bytes))
        self._socks.append(sock)
        self.stats.receive_buffer_bytes = min(s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) for s in self._socks)
        self._set_limit()
        if self._loop is not None:
            self._loop.add_reader(sock.fileno(), self._on_readable, sock)
        return sock

    def _set_limit(self) -> None:
        held = max(1, self.stats.receive_buffer_bytes // self.truesize)
        self.limit = min(self.max_in_flight, held)
        self.stats.in_flight_limit = self.limit

    def kernel_drops(self) -> int:
        """Datagrams the kernel dropped on these sockets since they were opened (full receive buffer)."""
        total = 0
        for sock in self._socks:
            info = _meminfo(sock)
            if info is not None:
                total += info[8]
        self.stats.kernel_drops = total
        return total

    def socket_for(self, address: Address) -> socket.socket:
        if len(address) == 2:
            return self.sock
        if self.sock6 is None:
            self.sock6 = self._open(socket.AF_INET6, self._bind6)
        return self.sock6

    # -- owners and the loop ---------------------------------------------------------------------

    @classmethod
    def serving(cls, owner: Owner[Any], shared: UdpTransport | None, *, receive_buffer_bytes: int, max_in_flight: int,
                timeout_s: float, min_timeout_s: float, deadline_s: float,
                bind: tuple[str, int]) -> tuple[UdpTransport, bool]:
        """The transport an owner (the engine, the walker) sends through, with the owner registered:
        ``shared`` when given, else one of its own; and whether it is the owner's own (to close)."""
        transport = shared if shared is not None else cls(
            receive_buffer_bytes=receive_buffer_bytes, max_in_flight=max_in_flight, timeout_s=timeout_s,
            min_timeout_s=min(min_timeout_s, timeout_s), max_timeout_s=deadline_s, bind=bind)
        transport.register(owner)
        return transport, shared is None

    def register(self, owner: Owner[Any]) -> None:
        self._owners.append(owner)

    def attach(self) -> asyncio.AbstractEventLoop:
        """The running loop, with the sockets' readers on it (moved there if a previous loop had them)."""
        if self._closed:
            raise RuntimeError("this SNMP transport is closed")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            old = self._loop
            if old is not None and not old.is_closed():
                for sock in self._socks:
                    old.remove_reader(sock.fileno())
                for fd in self._writer:
                    old.remove_writer(fd)
                if self._timer is not None:
                    self._timer.cancel()
            # whatever was pending belonged to the old loop, which can wake no one now
            self.pending.clear()
            self._heap.clear()
            self._timer = None
            self._writer.clear()
            self.stats.in_flight = 0
            for owner in self._owners:
                owner.forget()
            self._loop = loop
            for sock in self._socks:
                loop.add_reader(sock.fileno(), self._on_readable, sock)
        return loop

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            for sock in self._socks:
                loop.remove_reader(sock.fileno())
            for fd in self._writer:
                loop.remove_writer(fd)
            if self._timer is not None:
                self._timer.cancel()
        self.pending.clear()
        self._heap.clear()
        for sock in self._socks:
            sock.close()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- slots ---------------------------------------------------------------------------------

    def take_slot(self, request: Request) -> bool:
        stats = self.stats
        if stats.in_flight >= self.limit:
            return False
        request.holds_slot = True
        stats.in_flight += 1
        if stats.in_flight > stats.max_in_flight:
            stats.max_in_flight = stats.in_flight
        return True

    def finish(self, request: Request) -> None:
        """The request is over (answered, failed, given up): forget its request-ids, free its slot."""
        request.done = True
        pending = self.pending
        for rid in request.rids:
            pending.pop(rid, None)
        if request.holds_slot:
            request.holds_slot = False
            self.stats.in_flight -= 1

    # -- sending -----------------------------------------------------------------------------

    def next_rid(self) -> int:
        rid = next(self._rids)
        if rid >= REQUEST_ID_MAX:
            self._rids = itertools.count(REQUEST_ID_MIN)
            rid = next(self._rids)
        return rid

    def transmit(self, request: Request, encode: Callable[[int], bytes], now: float) -> bool:
        """Send the request's current attempt; False if the socket's send buffer is full (the owner
        keeps it queued and is pumped when the socket is writable). OSError (no route...) propagates.

        The attempt expires after the address's timeout doubled per retry, or at the deadline.
        """
        rid = self.next_rid()
        address = request.address
        sock = self.sock if len(address) == 2 else self.socket_for(address)
        data = encode(rid)
        if request.usm is not None:
            data = request.usm.wrap(address, data, rid)
        try:
            sock.sendto(data, address)
        except BlockingIOError:
            self._wait_writable(sock)
            return False
        self.pending[rid] = request
        request.rids.append(rid)
        request.sends.append(now)
        slot = self._rtt_slots.get(address)
        expiry = now + (self._initial if slot is None else self._rto[slot]) * (1 << request.attempt)
        if expiry > request.deadline:
            expiry = request.deadline
        heapq.heappush(self._heap, (expiry, rid))
        if self._timer is None or expiry < self._timer_at:
            self._arm(expiry)
        return True

    def _wait_writable(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        if fd not in self._writer and self._loop is not None:
            self._writer.add(fd)
            self._loop.add_writer(fd, self._on_writable, fd)

    def _on_writable(self, fd: int) -> None:
        if self._loop is not None:
            self._loop.remove_writer(fd)
        self._writer.discard(fd)
        self._wake()

    def _wake(self) -> None:
        """Let every owner send what it has queued, while there are slots (the first in turn goes first)."""
        owners = self._owners
        if len(owners) > 1:
            owners.append(owners.pop(0))
        for owner in owners:
            owner.pump()

    # -- timers --------------------------------------------------------------------------------

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = self._loop
        assert loop is not None  # attach() comes first
        self._timer_at = at
        self._timer = loop.call_at(loop.time() + max(0.0, at - time.monotonic()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = time.monotonic()
        heap, pending = self._heap, self.pending
        while heap and heap[0][0] <= now:
            _, rid = heapq.heappop(heap)
            request = pending.get(rid)
            # None: answered or given up. Not its last request-id: a retry went out (cannot happen
            # before this expiry, but a stale entry must never retry twice).
            if request is None or request.done or request.rids[-1] != rid:
                continue
            request.owner.expired(request, now)
        if heap and (self._timer is None or heap[0][0] < self._timer_at):
            self._arm(heap[0][0])
        self._wake()

    # -- receiving -----------------------------------------------------------------------------

    def _on_readable(self, sock: socket.socket) -> None:
        stats = self.stats
        pending = self.pending
        info = _meminfo(sock)
        queued = info[0] if info is not None else 0
        recv = sock.recvfrom
        count = 0
        now = 0.0
        sample = self.rtt.sample
        request: Request | None
        while True:
            try:
                data, source = recv(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # an ICMP error queued on the socket; the request will time out
            count += 1
            try:
                response = decode_response(data)
            except CodecError:
                found = self._v3(data, source)
                if found is None:
                    continue
                response, request = found
            else:
                request = pending.get(response.request_id)
                if request is None:
                    stats.dropped_unknown_id += 1
                    continue
                address = request.address
                if source[0] != address[0] or source[1] != address[1]:
                    stats.dropped_wrong_source += 1
                    continue
                if response.community != request.community or request.usm is not None:
                    stats.dropped_wrong_community += 1
                    continue
            address = request.address
            if response.pdu_type != RESPONSE:
                stats.dropped_not_response += 1
                continue
            now = time.monotonic()
            rids = request.rids
            rtt = now - request.sends[0 if rids[0] == response.request_id else rids.index(response.request_id)]
            sample(address, rtt)
            # finish(request), inline: this is the hot path
            request.done = True
            for rid in rids:
                pending.pop(rid, None)
            if request.holds_slot:
                request.holds_slot = False
                stats.in_flight -= 1
            request.owner.answered(request, response, rtt)
        stats.received += count
        if count and queued:
            # What the kernel charged per datagram waiting when we looked (more may have come since,
            # so this can only be low): the largest seen is the truesize the cap is derived from.
            per = queued // count
            if per > self.truesize:
                self.truesize = per
                self._set_limit()
        if count:
            self._wake()

    def _v3(self, data: bytes, source: Address) -> tuple[Response, Request] | None:
        """An SNMPv3 datagram: its Response and the request it answers, or None when it was dealt with here
        (dropped and counted; or a Report: the request sent again, or refused)."""
        stats = self.stats
        try:
            message = parse_message(data)
        except (Malformed, IndexError):
            message = None
        if message is None:
            stats.dropped_malformed += 1
            return None
        request = self.pending.get(message.msg_id)
        if request is None:
            stats.dropped_unknown_id += 1
            return None
        address = request.address
        if source[0] != address[0] or source[1] != address[1]:
            stats.dropped_wrong_source += 1
            return None
        usm = request.usm
        if usm is None:  # a v2c request answered in v3
            stats.dropped_wrong_community += 1
            return None
        outcome = usm.unwrap(address, data, message)
        if outcome is None:
            stats.dropped_unauthentic += 1
            return None
        if isinstance(outcome, Response):
            return outcome, request
        self.pending.pop(message.msg_id, None)  # that attempt is answered: a Report comes once
        if isinstance(outcome, Resend):
            if request.resends < RESENDS_MAX:
                request.resends += 1
                request.owner.resend(request)
                return None
            outcome = Refusal(PollErrorKind.PROTOCOL, f"the agent sent {request.resends + 1} Reports that asked for "
                                                      f"the request again (engine discovery, time window); "
                                                      f"{usm.label()}")
        request.owner.refused(request, outcome.kind, f"{format_address(address)}: {outcome.message}")
        return None


def _meminfo(sock: socket.socket) -> tuple[int, ...] | None:
    try:
        return _MEMINFO.unpack(sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, _MEMINFO.size))
    except (OSError, struct.error):
        return None


def size_buffers(sock: socket.socket, receive_bytes: int) -> int | None:
    """Grow the receive buffer to ``receive_bytes`` and the send buffer to as much, at most 4 MiB (``grow_buffer``);
    the receive buffer the kernel gave when it capped it, else None.

    Linux doubles what it is asked for (bookkeeping overhead): less than asked, and it was capped.
    """
    forced = grow_buffer(sock, socket.SO_RCVBUF, receive_bytes)
    grow_buffer(sock, socket.SO_SNDBUF, min(receive_bytes, 4 << 20))
    effective: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return effective if not forced and effective < receive_bytes else None


def grow_buffer(sock: socket.socket, option: int, size: int) -> bool:
    """Ask for ``size``; as root, past net.core.rmem_max (SO_RCVBUFFORCE); else what the kernel allows.

    True if the privileged option took it (the kernel then gives all of it).
    """
    force = {socket.SO_RCVBUF: getattr(socket, "SO_RCVBUFFORCE", _LINUX_FORCE[0]),
             socket.SO_SNDBUF: getattr(socket, "SO_SNDBUFFORCE", _LINUX_FORCE[1])}[option]
    if force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)
            return True
        except OSError:
            pass
    sock.setsockopt(socket.SOL_SOCKET, option, size)
    return False


def format_address(address: Address) -> str:
    return f"[{address[0]}]:{address[1]}" if len(address) == 4 else f"{address[0]}:{address[1]}"


def numeric_address(host: str, port: int) -> Address | None:
    """The socket address of an IP literal (v4, or v6 with or without brackets and a %scope), else None."""
    try:  # a fleet's common case, in C: four decimal octets without leading zeros, which is an address's own text
        inet_pton(AF_INET, host)  # (ipaddress takes 2.5 µs: a cycle's pinger parses every AP's address)
    except (OSError, ValueError):  # not such an address (ValueError: a NUL or a character that is not ASCII)
        pass
    else:
        return (host, port)
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    name, _, scope = text.partition("%")
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return None
    if ip.version == 4:
        text = str(ip)
        return (name if text == name else text, port)  # the caller's string when it is the canonical form: one copy
    if ip.ipv4_mapped is not None:
        return (str(ip.ipv4_mapped), port)
    scope_id = 0
    if scope:
        try:
            scope_id = int(scope) if scope.isdigit() else socket.if_nametoindex(scope)
        except OSError:
            return None
    return (str(ip), port, 0, scope_id)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Why a management address has no socket address now (kind ``no_address``)."""

    reason: str


class Resolver:
    """Management addresses to socket addresses, never blocking the event loop.

    IP literals are parsed at once (and kept). Names go to ``getaddrinfo`` in a small thread pool
    (``threads`` at most; lookups of one name at once share one), each waited for at most
    ``timeout_s``. A name that resolves is kept ``ttl_s`` seconds, then looked up again (an AP
    given a new address is followed); a name that does not is not kept: the next call tries
    again. Like net-snmp, a name is used over IPv4 when it has an IPv4 address, else over IPv6.
    """

    def __init__(self, *, ttl_s: float = 300.0, threads: int = 4,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.threads = threads
        self.clock = clock
        self.lookups = 0  # getaddrinfo calls made
        self._literals: dict[tuple[str, int], Address | None] = {}
        self._names: dict[tuple[str, int], tuple[float, Address]] = {}  # -> (expires, address)
        self._running: dict[tuple[str, int], asyncio.Future[Address | Unresolved]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def literal(self, host: str, port: int) -> Address | None:
        """The address of an IP literal, without any lookup; None for a name."""
        key = (host, port)
        try:
            return self._literals[key]
        except KeyError:
            pass
        if len(self._literals) >= ADDRESSES_MAX:
            self._literals.clear()
        address = self._literals[key] = numeric_address(host, port)
        return address

    def cached(self, host: str, port: int) -> Address | None:
        """A literal's address, or a name's while it is fresh; None if a lookup is needed."""
        address = self.literal(host, port)
        if address is not None:
            return address
        entry = self._names.get((host, port))
        if entry is not None and entry[0] > self.clock():
            return entry[1]
        return None

    async def resolve(self, host: str, port: int, timeout_s: float) -> Address | Unresolved:
        address = self.cached(host, port)
        if address is not None:
            return address
        key = (host, port)
        future = self._running.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="hotspotctl-resolve")
            self.lookups += 1
            future = self._running[key] = asyncio.ensure_future(self._lookup(loop, host, port))
            future.add_done_callback(lambda _: self._running.pop(key, None))
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return Unresolved(f"cannot resolve {host!r}: no answer from the resolver within {timeout_s:g} s")

    async def _lookup(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> Address | Unresolved:
        try:
            infos = await loop.run_in_executor(self._pool, _getaddrinfo, host, port)
        except (OSError, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            return Unresolved(f"cannot resolve {host!r}: {reason}")
        address = _pick(infos)
        if address is None:
            return Unresolved(f"cannot resolve {host!r}: no IPv4 or IPv6 address")
        if len(self._names) >= ADDRESSES_MAX:
            self._names.clear()
        self._names[(host, port)] = (self.clock() + self.ttl_s, address)
        return address

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _getaddrinfo(host: str, port: int) -> list[tuple]:
    return socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_DGRAM)


def _pick(infos: Sequence[tuple]) -> Address | None:
    v6 = None
    for family, _, _, _, sockaddr in infos:
        if family == socket.AF_INET:
            return (sockaddr[0], sockaddr[1])
        if family == socket.AF_INET6 and v6 is None:
            v6 = (sockaddr[0], sockaddr[1], 0, sockaddr[3])
    return v6

