"""ICMP echo ("ping") of many hosts from one socket per address family, on the event loop.

LibreNMS runs fping (one process) before every poll and Smokeping one fping per target group; here
no process and no thread is started per host: one ``IcmpProber`` owns one ICMP socket per family
(IPv4 opened at once, IPv6 on the first IPv6 host) and a timer heap, and pings hosts as a state
machine driven by the socket's readable callback and one timer:

- at most ``max_in_flight`` hosts are being pinged at once (and never more than the receive buffer
  holds replies for), and with ``max_rate_pps`` the echoes average at most that many per second, all
  hosts together (a host is admitted when the token bucket holds its ``count`` echoes); each sends
  ``count`` echo requests ``interval_s`` apart and is finished when every echo has been answered or
  ``timeout_s`` after its last echo was sent (its deadline);
- every echo carries a 32-bit number ``n``, unique in the prober: as identifier ``n >> 16`` and
  sequence ``n & 0xffff`` on a raw socket, and in the payload after the prober's random 8-byte token
  on every socket. Replies are matched by ``n`` in one dict (the kernel rewrites the identifier of a
  datagram socket's echoes, so the payload, not the identifier, carries ``n`` there); a reply without
  our token (another pinger's: a raw socket sees every ICMP packet of the host), from another address,
  or for an echo no longer waited for is dropped and counted, never trusted;
- rtt is the monotonic clock's time from sendto to the reply being read; a reply later than
  ``timeout_s`` is not counted. Jitter is the mean absolute difference of consecutive rtts (None with
  fewer than two replies).

Sockets (``kind``): ``datagram`` is the unprivileged ICMP socket (SOCK_DGRAM, IPPROTO_ICMP), allowed
when the process's group is inside ``net.ipv4.ping_group_range``; ``raw`` (SOCK_RAW) needs root or
CAP_NET_RAW and is filtered in the kernel to echo replies (ICMP_FILTER / ICMP6_FILTER) carrying our
token (a classic BPF program: ``attach_token_filter``); ``auto`` takes
the first that opens, datagram first. When neither opens, ``IcmpPermissionError`` names both fixes.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import heapq
import itertools
import logging
import math
import os
import random
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Literal

from hotspotctl.collectors.address import split_address
from hotspotctl.collectors.udp import Address, Resolver, Unresolved, _meminfo, rcvbuf_fix, size_buffers
from hotspotctl.errors import ConfigError
from hotspotctl.models.ping import PingResult
from hotspotctl.settings import PingSettings

log = logging.getLogger(__name__)

SocketKind = Literal["auto", "datagram", "raw"]
SOCKET_KINDS: tuple[str, ...] = ("auto", "datagram", "raw")

ECHO_REQUEST, ECHO_REPLY = 8, 0  # ICMP (RFC 792)
ECHO_REQUEST6, ECHO_REPLY6 = 128, 129  # ICMPv6 (RFC 4443)
SOL_RAW = 255
ICMP_FILTER = 1  # <linux/icmp.h>: a bit set = that type is dropped by the kernel before it reaches us
ICMP6_FILTER = 1  # <netinet/icmp6.h>: the same, 256 bits
_ECHO = struct.Struct("!BBHHH8sI")  # type, code, checksum, identifier, sequence, token, n
ECHO_BYTES = _ECHO.size  # 20: an echo request is 40 bytes on the wire over IPv4
DEFAULT_TRUESIZE = 832  # what the kernel charges one echo reply waiting in a receive buffer (loopback, raw and
# datagram sockets alike, measured with SO_MEMINFO); a NIC's driver may charge more: the largest seen is used
RATE_BURST_S = 0.02  # with a rate cap, at most this many seconds' worth of echoes leave at once
_SEND_RETRY_S = 0.002  # a full send buffer (EAGAIN, ENOBUFS): try again this much later


class IcmpPermissionError(ConfigError):
    """No ICMP socket could be opened: neither an unprivileged datagram socket nor a raw one."""


@dataclass(slots=True)
class PingStats:
    """What the prober's sockets saw, since it was made."""

    sent: int = 0  # echo requests sent
    received: int = 0  # packets read
    matched: int = 0  # replies counted for a host
    dropped_foreign: int = 0  # without our token: another pinger's replies (a raw socket sees them all)
    dropped_unknown: int = 0  # our token, but for an echo no longer waited for (a duplicate, or after the deadline)
    dropped_late: int = 0  # answered after timeout_s, while the host was still being pinged
    dropped_wrong_source: int = 0  # from another address than the echo went to
    dropped_malformed: int = 0  # too short, or not an echo reply
    send_errors: int = 0  # sendto refused (no route, blackhole, firewall)
    kernel_drops: int = 0  # packets the kernel dropped on a full receive buffer (SO_MEMINFO)
    receive_buffer_bytes: int = 0  # the receive buffer the kernel gave (read back; the smallest of the sockets)
    in_flight_limit: int = 0  # hosts allowed at once: max_in_flight, or what the receive buffer holds
    max_in_flight: int = 0  # the most hosts ever pinged at once

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def permission_message(family: int, kind: str = "auto", gid: int | None = None) -> str:
    """Why no ICMP socket of that kind opened, and the ways to fix it (both, for ``auto``)."""
    gid = os.getgid() if gid is None else gid
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as handle:
            allowed = " ".join(handle.read().split())
    except OSError:
        allowed = "unknown"
    what = "ICMPv6" if family == socket.AF_INET6 else "ICMP"
    datagram = (f"an unprivileged {what} datagram socket is refused: the process's group {gid} is outside "
                f"net.ipv4.ping_group_range (now {allowed!r})")
    raw = f"a raw {what} socket needs root or CAP_NET_RAW"
    allow = (f"allow the group: sysctl -w net.ipv4.ping_group_range=\"{gid} {gid}\" (and put it in "
             "/etc/sysctl.d/hotspotctl.conf to keep it)")
    privilege = ("run as root or give CAP_NET_RAW (systemd: AmbientCapabilities=CAP_NET_RAW; else setcap "
                 "cap_net_raw+ep on the python binary)")
    if kind == "datagram":
        return f"cannot ping: {datagram}. To fix: {allow}; or use ping.socket = \"raw\" (or auto) and {privilege}"
    if kind == "raw":
        return (f"cannot ping: {raw}. To fix: {privilege}; or use ping.socket = \"datagram\" (or auto) and "
                f"{allow}")
    return f"cannot ping: {datagram}, and {raw}. To fix, either {privilege}, or {allow}"


def open_icmp_socket(family: int, kind: SocketKind = "auto") -> tuple[socket.socket, str]:
    """A non-blocking ICMP (or ICMPv6) socket and which kind it is ("datagram" or "raw").

    ``auto`` tries the unprivileged datagram socket, then a raw one; ``IcmpPermissionError`` when the
    kind(s) asked for cannot be opened.
    """
    if kind not in SOCKET_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SOCKET_KINDS)}")
    proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    tried: list[str] = []
    for each, type_ in (("datagram", socket.SOCK_DGRAM), ("raw", socket.SOCK_RAW)):
        if kind not in ("auto", each):
            continue
        try:
            sock = socket.socket(family, type_, proto)
        except (PermissionError, OSError) as exc:
            tried.append(f"{each}: {exc.strerror or exc}")
            continue
        try:
            sock.setblocking(False)
            if each == "raw":
                if family == socket.AF_INET6:
                    words = [0xFFFFFFFF] * 8
                    words[ECHO_REPLY6 >> 5] &= ~(1 << (ECHO_REPLY6 & 31)) & 0xFFFFFFFF
                    sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("8I", *words))
                else:
                    sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ~(1 << ECHO_REPLY) & 0xFFFFFFFF))
        except OSError:
            sock.close()
            raise
        return sock, each
    raise IcmpPermissionError(f"{permission_message(family, kind)} ({'; '.join(tried)})")


SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)  # <asm-generic/socket.h>
_BPF = struct.Struct("HBBI")  # struct sock_filter: code, jt, jf, k
_BPF_LDX_B_MSH, _BPF_LD_W_IND, _BPF_LD_W_ABS, _BPF_JEQ_K, _BPF_RET_K = 0xB1, 0x40, 0x20, 0x15, 0x06


def attach_token_filter(sock: socket.socket, family: int, token: bytes) -> bool:
    """A classic BPF program on a raw socket: only echoes carrying ``token`` are queued, so other pingers' replies
    (a raw socket sees the host's every one) never fill our receive buffer nor cost us a read. False if the
    kernel refused it (the same check is made on every reply read anyway).

    The program filters from the moment it is attached; what the socket queued since it was opened (another
    pinger's replies, on a host that pings a lot) is read away here, as libpcap does when it sets a filter.
    None of it is ours: the socket has sent nothing yet."""
    first, second = int.from_bytes(token[:4], "big"), int.from_bytes(token[4:8], "big")
    if family == socket.AF_INET:  # the packet starts at the IP header: X = its length, the token at X + 8
        program = [(_BPF_LDX_B_MSH, 0, 0, 0), (_BPF_LD_W_IND, 0, 0, 8), (_BPF_JEQ_K, 0, 3, first),
                   (_BPF_LD_W_IND, 0, 0, 12), (_BPF_JEQ_K, 0, 1, second)]
    else:  # ICMPv6: the packet starts at the ICMPv6 header
        program = [(_BPF_LD_W_ABS, 0, 0, 8), (_BPF_JEQ_K, 0, 3, first), (_BPF_LD_W_ABS, 0, 0, 12),
                   (_BPF_JEQ_K, 0, 1, second)]
    program += [(_BPF_RET_K, 0, 0, 0xFFFF), (_BPF_RET_K, 0, 0, 0)]
    code = ctypes.create_string_buffer(b"".join(_BPF.pack(*insn) for insn in program))
    fprog = struct.pack("HL", len(program), ctypes.addressof(code))  # struct sock_fprog {len; *filter}, native
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError:
        return False
    while True:  # only echoes with our token get in now, and we have sent none: this ends with the queue
        try:
            sock.recv(65_535, socket.MSG_DONTWAIT)
        except OSError:  # empty (EAGAIN); anything else left is refused on read like any foreign reply
            return True


class _Target:
    """One host being pinged: what was sent, what came back.

    Memory (a cycle pings the whole city, 35,350 hosts): the lists of echoes waited for and of round trips are
    made at the first echo and reply, and let go when the host is done (``final``, its result, is kept): only the
    hosts in flight hold them, not every host of the call until its end (about 13 MB less at the city's peak).
    """

    __slots__ = ("address", "done", "error", "family", "final", "host", "last_send", "rtts", "sent", "start",
                 "waiting")

    def __init__(self, host: str, address: Address) -> None:
        self.host = host
        self.address = address
        self.family = socket.AF_INET6 if len(address) == 4 else socket.AF_INET
        self.sent = 0
        self.rtts: list[tuple[int, float]] | tuple[()] = ()  # (echo index, rtt in seconds), as they came
        self.waiting: list[int] | tuple[()] = ()  # numbers of the echoes sent and still waited for
        self.start = 0.0
        self.last_send = 0.0
        self.error: str | None = None
        self.done = False
        self.final: PingResult | None = None  # the result, once done

    def result(self) -> PingResult:
        if not self.rtts:
            return PingResult(self.host, self.sent, 0, error=self.error)
        ordered = [rtt * 1000.0 for _, rtt in sorted(self.rtts)]
        jitter = (sum(abs(b - a) for a, b in itertools.pairwise(ordered)) / (len(ordered) - 1)
                  if len(ordered) > 1 else None)
        return PingResult(self.host, self.sent, len(ordered), rtt_min_ms=round(min(ordered), 3),
                          rtt_avg_ms=round(sum(ordered) / len(ordered), 3), rtt_max_ms=round(max(ordered), 3),
                          jitter_ms=None if jitter is None else round(jitter, 3), error=self.error)


class IcmpProber:
    """One ICMP socket per family, reused from cycle to cycle; ``ping`` pings a list of hosts.

    One ``ping`` at a time, from one event loop at a time; close it when done.
    """

    def __init__(self, *, kind: SocketKind = "auto", max_in_flight: int = 4000, receive_buffer_bytes: int = 8 << 20,
                 max_rate_pps: float = 0.0, resolver: Resolver | None = None, kernel_filter: bool = True) -> None:
        if max_in_flight < 1 or receive_buffer_bytes < 1 or max_rate_pps < 0:
            raise ValueError("max_in_flight and receive_buffer_bytes must be at least 1, max_rate_pps 0 or more")
        self.kind: SocketKind = kind
        self.max_in_flight = max_in_flight
        self.max_rate_pps = max_rate_pps  # echoes per second on average, all hosts together; 0 = no cap
        self.receive_buffer_bytes = receive_buffer_bytes
        self.stats = PingStats()
        self.token = random.getrandbits(64).to_bytes(8, "big")
        self._numbers = itertools.count(random.getrandbits(32))
        self._resolver = resolver
        self._own_resolver = resolver is None
        self._socks: dict[int, tuple[socket.socket, str]] = {}
        self._warned = False
        self._closed = False
        self._busy = False
        self.truesize = DEFAULT_TRUESIZE
        # raw sockets drop other tokens' replies in the kernel (a BPF program); True while every one does
        self.kernel_filter = kernel_filter
        self._loop: asyncio.AbstractEventLoop | None = None
        # the checksum of an IPv4 echo is the constant part (type, token) plus n's halves twice (id=hi, seq=lo)
        words = struct.unpack("!4H", self.token)
        self._sum = (ECHO_REQUEST << 8) + sum(words)
        self._sockets_for(socket.AF_INET)

    @classmethod
    def from_settings(cls, settings: PingSettings, *, kind: SocketKind | None = None) -> IcmpProber:
        """A prober as ``[ping]`` says (socket, max_in_flight, max_rate_pps, receive_buffer_bytes); ping with
        ``prober.ping(hosts, count=settings.count, interval_s=settings.interval_s, timeout_s=settings.timeout_s)``.
        ``IcmpPermissionError`` (a ConfigError) when no ICMP socket opens: check it at startup."""
        return cls(kind=kind or settings.socket,  # type: ignore[arg-type]  # checked at load: one of SOCKET_KINDS
                   max_in_flight=settings.max_in_flight, receive_buffer_bytes=settings.receive_buffer_bytes,
                   max_rate_pps=settings.max_rate_pps)

    # -- sockets ---------------------------------------------------------------------------------

    def _sockets_for(self, family: int) -> tuple[socket.socket, str]:
        found = self._socks.get(family)
        if found is not None:
            return found
        if self._closed:
            raise RuntimeError("this ICMP prober is closed")
        sock, kind = open_icmp_socket(family, self.kind)
        try:
            if kind == "raw" and self.kernel_filter:
                self.kernel_filter = attach_token_filter(sock, family, self.token)
            capped = size_buffers(sock, self.receive_buffer_bytes)
        except OSError:
            sock.close()
            raise
        if capped is not None and not self._warned:
            self._warned = True
            log.warning("the ICMP receive buffer is %s bytes, not the %s asked for (ping.receive_buffer_bytes): "
                        "hosts pinged at once are held to what it holds. To fix: %s", f"{capped:,}",
                        f"{self.receive_buffer_bytes:,}", rcvbuf_fix(self.receive_buffer_bytes))
        self._socks[family] = (sock, kind)
        self.stats.receive_buffer_bytes = min(s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                                              for s, _ in self._socks.values())
        self.stats.in_flight_limit = self._limit()
        return sock, kind

    def socket_kind(self, family: int = socket.AF_INET) -> str:
        """"datagram" or "raw": the kind of socket this prober pings with over that family."""
        return self._sockets_for(family)[1]

    def _limit(self) -> int:
        return max(1, min(self.max_in_flight, self.stats.receive_buffer_bytes // self.truesize))

    def kernel_drops(self) -> int:
        total = 0
        for sock, _ in self._socks.values():
            info = _meminfo(sock)
            if info is not None:
                total += info[8]
        self.stats.kernel_drops = total
        return total

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for sock, _ in self._socks.values():
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._socks.clear()
        if self._own_resolver and self._resolver is not None:
            self._resolver.close()

    def __enter__(self) -> IcmpProber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pinging ---------------------------------------------------------------------------------

    async def ping(self, hosts: Sequence[str], *, count: int, interval_s: float, timeout_s: float,
                   resolve_timeout_s: float = 5.0) -> dict[str, PingResult]:
        """Every host's result (keyed by the host as given; a host given twice is pinged once).

        A host is an address (IPv4, IPv6 with or without brackets and %scope) or a name, and may be an
        inventory's ``mgmt_address`` as it is (``host:port``, ``[v6]:port``: the port is ignored).
        """
        if count < 1 or interval_s < 0 or timeout_s <= 0:
            raise ValueError("count must be at least 1, interval_s 0 or more and timeout_s more than 0")
        if self._closed:
            raise RuntimeError("this ICMP prober is closed")
        if self._busy:
            raise RuntimeError("this ICMP prober is already pinging: one ping() at a time (or one prober each)")
        loop = asyncio.get_running_loop()
        unique = list(dict.fromkeys(hosts))
        results: dict[str, PingResult] = {}
        self._busy = True
        try:
            targets = await self._resolve(unique, resolve_timeout_s, results)
            if targets:
                for family in {t.family for t in targets}:
                    self._sockets_for(family)
                await _Run(self, loop, targets, count, interval_s, timeout_s).wait()
                for target in targets:
                    results[target.host] = target.final if target.final is not None else target.result()
        finally:
            self._busy = False
        self.kernel_drops()
        return {host: results[host] for host in unique}

    async def _resolve(self, hosts: Sequence[str], timeout_s: float,
                       results: dict[str, PingResult]) -> list[_Target]:
        if self._resolver is None:
            self._resolver = Resolver()
        resolver = self._resolver
        targets: list[_Target] = []
        names: list[tuple[str, str]] = []  # (the host as given, the name in it)
        for host in hosts:
            try:  # an inventory's mgmt_address may carry the SNMP port: host:port, [v6]:port (ignored here)
                name = split_address(host, 0)[0] if ":" in host else host
            except ValueError as exc:
                results[host] = PingResult(host, 0, 0, error=str(exc))
                continue
            address = resolver.cached(name, 0)
            if address is None:
                names.append((host, name))
            else:
                targets.append(_Target(host, address))
        if names:
            found = await asyncio.gather(*(resolver.resolve(name, 0, timeout_s) for _, name in names))
            for (host, _), answer in zip(names, found, strict=True):
                if isinstance(answer, Unresolved):
                    results[host] = PingResult(host, 0, 0, error=answer.reason)
                else:
                    targets.append(_Target(host, answer))
        return targets

    def _packet(self, n: int, raw_v4: bool) -> bytes:
        hi, lo = n >> 16, n & 0xFFFF
        if not raw_v4:  # the kernel fills in the checksum (datagram sockets, and ICMPv6 raw sockets)
            return _ECHO.pack(ECHO_REQUEST, 0, 0, hi, lo, self.token, n)
        total = self._sum + 2 * (hi + lo)
        total = (total & 0xFFFF) + (total >> 16)
        total = (total & 0xFFFF) + (total >> 16)
        return _ECHO.pack(ECHO_REQUEST, 0, ~total & 0xFFFF, hi, lo, self.token, n)

    def _packet6(self, n: int) -> bytes:
        return _ECHO.pack(ECHO_REQUEST6, 0, 0, n >> 16, n & 0xFFFF, self.token, n)


class _Run:
    """One ``ping`` call: the hosts waiting, the hosts in flight, the echoes waited for, one timer."""

    def __init__(self, prober: IcmpProber, loop: asyncio.AbstractEventLoop, targets: list[_Target], count: int,
                 interval_s: float, timeout_s: float) -> None:
        self.prober = prober
        self.loop = loop
        self.queue = list(reversed(targets))  # popped from the end: in the order given
        self.count = count
        self.interval = interval_s
        self.timeout = timeout_s
        self.limit = prober._limit()
        self.active = 0
        self.left = len(targets)
        self.pending: dict[int, tuple[_Target, int, float]] = {}  # n -> (target, echo index, sent at)
        self.heap: list[tuple[float, int, _Target]] = []  # (when, tie-break, target): its next send or its deadline
        self.order = itertools.count()
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf
        # The rate cap, a token bucket in echoes: a host pays for its count echoes when it is admitted (its later
        # echoes are spread by the interval), so the echoes sent per second average at most max_rate_pps,
        # in bursts of at most RATE_BURST_S of them.
        self.rate = prober.max_rate_pps
        self.burst = max(float(count), self.rate * RATE_BURST_S)
        self.tokens = self.burst
        self.filled_at = time.monotonic()
        self.admit_timer: asyncio.TimerHandle | None = None
        self.finished: asyncio.Future[None] = loop.create_future()
        prober._loop = loop
        self.readers: list[int] = []
        for family, (sock, kind) in prober._socks.items():
            header = kind == "raw" and family == socket.AF_INET  # a raw IPv4 socket gives the IP header too
            loop.add_reader(sock.fileno(), self.on_readable, sock, header, kind == "raw")
            self.readers.append(sock.fileno())
        prober.stats.in_flight_limit = self.limit

    async def wait(self) -> None:
        try:
            self.admit(time.monotonic())
            await self.finished
        finally:
            if self.timer is not None:
                self.timer.cancel()
            if self.admit_timer is not None:
                self.admit_timer.cancel()
            if not self.loop.is_closed():
                for fd in self.readers:
                    self.loop.remove_reader(fd)
            for target in self.queue:  # cancelled: what was never started is reported as not sent
                target.done = True

    # -- hosts in and out ------------------------------------------------------------------------

    def admit(self, now: float) -> None:
        stats = self.prober.stats
        rate = self.rate
        if rate:
            self.tokens = min(self.burst, self.tokens + (now - self.filled_at) * rate)
            self.filled_at = now
        while self.queue and self.active < self.limit:
            if rate:
                if self.tokens < self.count:
                    if self.admit_timer is None:  # wait for a few hosts' worth, not one: fewer wake-ups
                        wanted = min(self.burst, max(self.count, self.burst / 4))
                        self.admit_timer = self.loop.call_at(now + (wanted - self.tokens) / rate, self.on_admit_timer)
                    break
                self.tokens -= self.count
            target = self.queue.pop()
            target.start = now
            self.active += 1
            self.send(target, now)
        stats.max_in_flight = max(stats.max_in_flight, self.active)
        self.arm()
        if self.left == 0 and not self.finished.done():
            self.finished.set_result(None)

    def on_admit_timer(self) -> None:
        self.admit_timer = None
        self.admit(time.monotonic())

    def finish(self, target: _Target) -> None:
        if target.done:
            return
        target.done = True
        pending = self.pending
        for n in target.waiting:
            pending.pop(n, None)
        target.final = target.result()
        target.waiting = target.rtts = ()
        self.active -= 1
        self.left -= 1

    # -- sending and the timer -------------------------------------------------------------------

    def send(self, target: _Target, now: float) -> None:
        """Send the target's next echo, then schedule the one after it (or its deadline)."""
        prober = self.prober
        sock, kind = prober._socks[target.family]
        n = next(prober._numbers) & 0xFFFFFFFF
        v6 = target.family == socket.AF_INET6
        packet = prober._packet6(n) if v6 else prober._packet(n, kind == "raw")
        sent_at = time.monotonic()  # before sendto, as ping(8) stamps its payload: the rtt includes the send
        try:
            sock.sendto(packet, (target.address[0], 0, 0, target.address[3]) if v6 else (target.address[0], 0))
        except OSError as exc:
            if isinstance(exc, (BlockingIOError, InterruptedError)) or exc.errno == errno.ENOBUFS:
                # the send buffer (or the device queue) is full: again a little later, within the host's deadline
                heapq.heappush(self.heap, (now + _SEND_RETRY_S, next(self.order), target))
                if now + _SEND_RETRY_S > target.start + self.timeout + self.interval * (self.count - 1):
                    target.error = "cannot send: the socket's send buffer stayed full"
                    self.finish(target)
                return
            prober.stats.send_errors += 1
            target.error = f"cannot send to {target.address[0]}: {exc.strerror or exc}"
            self.finish(target)
            return
        self.pending[n] = (target, target.sent, sent_at)
        if target.waiting:
            target.waiting.append(n)  # a non-empty one is a list
        else:
            target.waiting = [n]
        target.sent += 1
        target.last_send = sent_at
        prober.stats.sent += 1
        if target.sent < self.count:
            heapq.heappush(self.heap, (sent_at + self.interval, next(self.order), target))
        else:
            heapq.heappush(self.heap, (sent_at + self.timeout, next(self.order), target))

    def arm(self) -> None:
        heap = self.heap
        while heap and heap[0][2].done:
            heapq.heappop(heap)
        if not heap:
            return
        at = heap[0][0]
        if self.timer is None or at < self.timer_at:
            if self.timer is not None:
                self.timer.cancel()
            self.timer_at = at
            self.timer = self.loop.call_at(at, self.on_timer)

    def on_timer(self) -> None:
        self.timer = None
        self.timer_at = math.inf
        now = time.monotonic()
        heap = self.heap
        while heap and heap[0][0] <= now:
            _, _, target = heapq.heappop(heap)
            if target.done:
                continue
            if target.sent < self.count:
                self.send(target, now)
            else:
                self.finish(target)  # its last echo's wait is over
            now = time.monotonic()
        self.admit(now)

    # -- receiving -------------------------------------------------------------------------------

    def on_readable(self, sock: socket.socket, header: bool, raw: bool) -> None:
        stats = self.prober.stats
        token = self.prober.token
        pending = self.pending
        timeout = self.timeout
        recv = sock.recvfrom
        finished = False
        count = errors = 0
        info = _meminfo(sock)
        queued = info[0] if info is not None else 0
        while True:
            try:
                data, source = recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # an error the kernel queued on the socket (reported once); the echo will time out
                errors += 1
                if errors > 64:
                    break
                continue
            now = time.monotonic()
            count += 1
            at = ((data[0] & 0x0F) << 2) if header else 0
            if len(data) < at + ECHO_BYTES:
                stats.dropped_malformed += 1
                continue
            if data[at + 8:at + 16] != token:
                stats.dropped_foreign += 1
                continue
            kind, _, _, ident, seq, _, n = _ECHO.unpack_from(data, at)
            if kind not in (ECHO_REPLY, ECHO_REPLY6) or seq != n & 0xFFFF or (raw and ident != n >> 16):
                stats.dropped_malformed += 1
                continue
            entry = pending.get(n)
            if entry is None:
                stats.dropped_unknown += 1
                continue
            target, index, sent_at = entry
            if source[0] != target.address[0]:  # (an IPv6 scope comes back in source[3], not in the text)
                stats.dropped_wrong_source += 1
                continue
            del pending[n]
            rtt = now - sent_at
            if rtt > timeout:
                stats.dropped_late += 1
                continue
            stats.matched += 1
            if target.rtts:
                target.rtts.append((index, rtt))  # a non-empty one is a list
            else:
                target.rtts = [(index, rtt)]
            if target.sent == self.count and len(target.rtts) == self.count:
                self.finish(target)
                finished = True
        stats.received += count
        if count and queued:
            # What the kernel charged per reply waiting when we looked (more may have come since, so this can
            # only be low): the largest seen bounds the hosts pinged at once, so a burst of replies fits.
            per = queued // count
            if per > self.prober.truesize:
                self.prober.truesize = per
                self.limit = self.prober._limit()
                stats.in_flight_limit = self.limit
        if finished:
            self.admit(time.monotonic())


async def ping_hosts(hosts: Sequence[str], *, count: int, interval_s: float, timeout_s: float, max_in_flight: int,
                     kind: SocketKind = "auto", receive_buffer_bytes: int = 8 << 20, max_rate_pps: float = 0.0,
                     prober: IcmpProber | None = None) -> dict[str, PingResult]:
    """Ping every host ``count`` times, ``interval_s`` apart, each echo waited for ``timeout_s``.

    Results are keyed by the host as given, in the order given. With ``prober`` (kept from cycle to
    cycle), its sockets are used and it stays open (``max_in_flight``, ``kind``, ``max_rate_pps`` are its own then);
    else one is made for this call and closed. ``IcmpPermissionError`` when no ICMP socket can be opened.
    """
    own = prober is None
    if prober is None:
        prober = IcmpProber(kind=kind, max_in_flight=max_in_flight, receive_buffer_bytes=receive_buffer_bytes,
                            max_rate_pps=max_rate_pps)
    try:
        return await prober.ping(hosts, count=count, interval_s=interval_s, timeout_s=timeout_s)
    finally:
        if own:
            prober.close()
