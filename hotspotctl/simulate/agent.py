"""The simulator's SNMP agent: thousands of APs answered from one UDP socket per process.

Every AP has its own loopback address (127.16.0.1 + its index). A process binds one socket to
the simulator's port on every address of the loopback interface (``SO_BINDTODEVICE lo``: nothing
off this machine can reach it), learns which address a request was sent to from ``IP_PKTINFO``
and answers *from* that address, so to a poller each AP is a separate agent. Several processes
share the port with ``SO_REUSEPORT``; the kernel spreads requests over them by source and
destination, and since every answer is a pure function of the AP and the time (see
``traffic``), any process can answer for any AP.

The hot path is a v2c GET from the poller: its bytes are the same every cycle but for the
request-id, so the parsed request is cached by its bytes without the request-id, and the
answer's varbinds come from a per-(family, request) plan of pre-encoded OIDs and static values
plus a few live values (uptime, counters, clients) computed once per request.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotspotctl.collectors.codec import (
    COUNTER32,
    COUNTER64,
    GAUGE32,
    GET,
    GET_BULK,
    GET_NEXT,
    INTEGER,
    OCTET_STRING,
    TIME_TICKS,
    encode_value,
)
from hotspotctl.collectors.oids import Oid, decode_oid, encode_oid
from hotspotctl.simulate.devices import Obj, ObjectTree, Port
from hotspotctl.simulate.traffic import Clock, TrafficModel

IP_PKTINFO = 8  # <linux/in.h>; not exported by Python's socket module
BASE_ADDRESS = "127.16.0.1"
MAX_RESPONSE_BYTES = 1472  # GETBULK answers stop growing here, one Ethernet frame (RFC 3416 4.2.3: fewer varbinds)
_M32, _M64 = (1 << 32) - 1, (1 << 64) - 1
_NO_SUCH_OBJECT, _NO_SUCH_INSTANCE, _END_OF_MIB = b"\x80\x00", b"\x81\x00", b"\x82\x00"
_RESPONSE = 0xA2


def address_of(index: int, base: str = BASE_ADDRESS) -> str:
    return socket.inet_ntoa((int.from_bytes(socket.inet_aton(base), "big") + index).to_bytes(4, "big"))


@dataclass(slots=True)
class SimAp:
    """One simulated AP: who it is, what it runs, how busy it is, and what goes wrong with it."""

    index: int
    id: str
    tree: ObjectTree
    traffic: TrafficModel
    link_mbps: int
    boot_phase: float  # epoch seconds of one of the AP's boots; it reboots every boot_period_s from there
    boot_period_s: float
    base_in: int  # counter values at boot (0, or just below 2^32 for an AP whose 32-bit counters wrap)
    base_out: int
    community: bytes | None  # v2c community; None for a v3-only AP
    v3: bool
    engine_id: bytes
    location: bytes
    faults: Any = None  # scenario.ApFaults, or None
    clients_factor: float = 1.0
    latency_ms: tuple[float, float] | None = None
    loss: float = 0.0
    lose: frozenset[int] = frozenset()  # these requests to the AP are lost: 1 = the first a serving process gets
    controller: Any = None  # controllers.SimController: this address is a wireless controller's
    direct: bool = True  # False: a lightweight AP behind a controller, silent at its own address
    max_response: int = MAX_RESPONSE_BYTES  # a GETBULK answer stops growing here

    @property
    def family(self) -> str:
        return self.tree.family.name


@dataclass(slots=True)
class Live:
    """An AP's live figures at one instant."""

    ticks: int  # sysUpTime, hundredths of a second since boot
    up_s: int
    boots: int
    in_octets: int  # uplink, since boot
    out_octets: int
    clients: int


def live(ap: SimAp, clock: Clock, t: float) -> Live:
    """The AP's uptime, counters and clients at real time ``t``; a pure function of (ap, clock, t).

    Boots happen at fixed epoch times (every ``boot_period_s`` from ``boot_phase``: maintenance,
    power cuts), not relative to the simulator's start, so a restarted simulator carries on
    with the same uptimes and counters; a scenario's reboot loop adds boots of its own.
    """
    period = ap.boot_period_s
    cycles = (t - ap.boot_phase) // period
    boot = ap.boot_phase + cycles * period
    boots = 1 + int(cycles)
    faults = ap.faults
    if faults is not None and faults.reboot_every_s:
        last = faults.last_boot(t - clock.t0)
        if last is not None and last > 0 and clock.t0 + last > boot:
            boot = clock.t0 + last
            boots += 1 + int(last // faults.reboot_every_s)
    din, dout = ap.traffic.octets(clock, boot, t)
    up = max(t - boot, 0.0)
    return Live(int(up * 100) & _M32, int(up), boots, ap.base_in + din, ap.base_out + dout,
                ap.traffic.clients(clock, t, ap.clients_factor))


# -- encoding ---------------------------------------------------------------------------------


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    return bytes((0x82, n >> 8, n & 0xFF))


def _uint(tag: int, value: int) -> bytes:
    contents = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes((tag, len(contents))) + contents


def _octets(value: bytes) -> bytes:
    return b"\x04" + _len(len(value)) + value




Encoder = Callable[[SimAp, Live], bytes]


def _port_counter(port: Port, direction: str, tag: int, mask: int) -> Encoder:
    if port.role == "radio":  # a radio's input is the users' upload, i.e. the uplink's output
        share = port.share
        if direction == "in":
            return lambda ap, lv: _uint(tag, int(lv.out_octets * share) & mask)
        return lambda ap, lv: _uint(tag, int(lv.in_octets * share) & mask)
    if port.role == "uplink" or port.if_type == 209 or port.name.startswith("br"):
        if direction == "in":
            return lambda ap, lv: _uint(tag, lv.in_octets & mask)
        return lambda ap, lv: _uint(tag, lv.out_octets & mask)
    return lambda ap, lv: _uint(tag, (lv.up_s * 97) & mask)  # loopback / idle ports: a trickle


def _port_speed(port: Port, high: bool) -> Encoder:
    if port.role == "uplink":
        if high:
            return lambda ap, lv: _uint(GAUGE32, ap.link_mbps)
        return lambda ap, lv: _uint(GAUGE32, min(ap.link_mbps * 1_000_000, _M32))
    mbps = 867 if port.role == "radio" else 10 if port.if_type == 24 else 0  # radios: 802.11ac; lo; idle ports
    value = _uint(GAUGE32, mbps if high else min(mbps * 1_000_000, _M32))
    return lambda ap, lv: value


def _clients(tree: ObjectTree, which: int, tag: int) -> Encoder:
    shares = [p.share for p in tree.family.ports if p.role == "radio"]
    if which == len(shares) - 1:
        before = shares[:which]
        return lambda ap, lv: _uint(tag, lv.clients - sum(round(lv.clients * s) for s in before))
    share = shares[which]
    return lambda ap, lv: _uint(tag, round(lv.clients * share))


def compile_encoder(tree: ObjectTree, obj: Obj) -> bytes | Encoder:
    """A static object's value TLV, or a function computing a live one."""
    if not obj.kind:
        return encode_value(obj.tag, obj.value)  # the codec's own encoder, once per object
    kind, _, arg = obj.kind.partition(":")
    if kind == "sys_uptime":
        return lambda ap, lv: _uint(TIME_TICKS, lv.ticks)
    if kind == "hr_uptime":  # the kernel booted a little before the agent
        return lambda ap, lv: _uint(TIME_TICKS, (lv.ticks + 57) & _M32)
    if kind == "engine_time":
        return lambda ap, lv: _uint(INTEGER, min(lv.up_s, 0x7FFFFFFF))
    if kind == "engine_boots":
        return lambda ap, lv: _uint(INTEGER, lv.boots)
    if kind == "engine_id":
        return lambda ap, lv: _octets(ap.engine_id)
    if kind == "sys_name":
        return lambda ap, lv: _octets(ap.id.encode())
    if kind == "sys_location":
        return lambda ap, lv: _octets(ap.location)
    if kind == "clients":
        return _clients(tree, int(arg), obj.tag)
    port = next(p for p in tree.family.ports if p.index == int(arg))
    if kind in ("in64", "out64"):
        return _port_counter(port, kind[:-2], COUNTER64, _M64)
    if kind in ("in32", "out32"):
        return _port_counter(port, kind[:-2], COUNTER32, _M32)
    if kind in ("if_speed", "high_speed"):
        return _port_speed(port, kind == "high_speed")
    raise ValueError(f"unknown live object kind {obj.kind!r}")


class Plan:
    """A GET for one family: each varbind pre-encoded, or its OID prefix and a live encoder."""

    __slots__ = ("items", "live")

    def __init__(self, tree: ObjectTree, encoders: dict[Oid, bytes | Encoder], oids: Sequence[Oid],
                 oid_tlvs: Sequence[bytes]) -> None:
        items: list[bytes | tuple[bytes, Encoder]] = []
        for oid, oid_tlv in zip(oids, oid_tlvs, strict=True):
            obj = tree.by_oid.get(oid)
            if obj is None:
                column = tree.next_after(oid[:-1])  # is there any instance of this object type?
                known = column is not None and column.oid[:len(oid) - 1] == oid[:-1]
                absent = _NO_SUCH_INSTANCE if known else _NO_SUCH_OBJECT
                items.append(b"\x30" + _len(len(oid_tlv) + 2) + oid_tlv + absent)
                continue
            encoder = encoders[oid]
            if isinstance(encoder, bytes):
                items.append(b"\x30" + _len(len(oid_tlv) + len(encoder)) + oid_tlv + encoder)
            else:
                items.append((oid_tlv, encoder))
        self.items = tuple(items)
        self.live = any(not isinstance(item, bytes) for item in items)

    def varbinds(self, ap: SimAp, lv: Live | None) -> bytes:
        out = []
        for item in self.items:
            if isinstance(item, bytes):
                out.append(item)
            else:
                oid_tlv, encoder = item
                value = encoder(ap, lv)  # type: ignore[arg-type]
                out.append(b"\x30" + _len(len(oid_tlv) + len(value)) + oid_tlv + value)
        return b"".join(out)


# -- requests -----------------------------------------------------------------------------------


class RequestError(ValueError):
    pass


def _read_len(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if not 1 <= size <= 3:
        raise RequestError("bad length")
    return int.from_bytes(data[pos + 1:pos + 1 + size], "big"), pos + 1 + size


def _expect(data: bytes, pos: int, tag: int) -> tuple[int, int]:
    if data[pos] != tag:
        raise RequestError(f"expected tag 0x{tag:02x} at {pos}")
    length, start = _read_len(data, pos + 1)
    if start + length > len(data):
        raise RequestError("truncated")
    return start, start + length


def _small_int(data: bytes, start: int, end: int) -> int:
    if not 1 <= end - start <= 4:
        raise RequestError("bad INTEGER")
    return int.from_bytes(data[start:end], "big", signed=True)


@dataclass(slots=True)
class Shape:
    """A request with its request-id cut out: what is asked, parsed once."""

    version: int
    community: bytes
    pdu_type: int
    non_repeaters: int
    max_repetitions: int
    oids: tuple[Oid, ...]
    oid_tlvs: tuple[bytes, ...]
    plans: dict[int, Plan] = field(default_factory=dict)


def parse_pdu(data: bytes, pos: int) -> tuple[int, int, int, Shape]:
    """A PDU at ``pos``: (rid TLV start, rid TLV end, request-id, Shape without version/community)."""
    pdu_type = data[pos]
    if pdu_type not in (GET, GET_NEXT, GET_BULK):
        raise RequestError(f"unsupported PDU 0x{pdu_type:02x}")
    body, _ = _expect(data, pos, pdu_type)
    rid_start = body
    s, e = _expect(data, body, INTEGER)
    request_id = _small_int(data, s, e)
    rid_end = e
    s, e = _expect(data, e, INTEGER)
    second = _small_int(data, s, e)
    s, e = _expect(data, e, INTEGER)
    third = _small_int(data, s, e)
    vb_start, vb_end = _expect(data, e, 0x30)
    oids, tlvs = [], []
    p = vb_start
    while p < vb_end:
        s, vb_e = _expect(data, p, 0x30)
        os_, oe = _expect(data, s, 0x06)
        try:
            oids.append(decode_oid(data[os_:oe]))
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        tlvs.append(data[s:oe])
        p = vb_e
    if p != vb_end or len(oids) > 128:
        raise RequestError("bad varbind list")
    non_rep, max_rep = (max(second, 0), max(third, 0)) if pdu_type == GET_BULK else (0, 0)
    return rid_start, rid_end, request_id, Shape(0, b"", pdu_type, non_rep, max_rep, tuple(oids), tuple(tlvs))


@dataclass
class AgentStats:
    requests: int = 0
    answered: int = 0
    dropped_down: int = 0
    dropped_loss: int = 0
    dropped_bad_community: int = 0
    dropped_unknown_address: int = 0
    malformed: int = 0
    v3_reports: int = 0


class Responder:
    """Answers one datagram for the AP at ``index``; no I/O (the serve loop does that)."""

    def __init__(self, aps: Sequence[SimAp], clock: Clock, *, usm: Any = None, seed: int = 0) -> None:
        self.aps = aps
        self.clock = clock
        self.usm = usm
        self.stats = AgentStats()
        self.rng = random.Random(seed ^ os.getpid())
        self._shapes: dict[bytes, Shape] = {}
        self._encoders: dict[int, dict[Oid, bytes | Encoder]] = {}
        self._seen: dict[int, int] = {}  # requests received per AP index, for SimAp.lose

    def encoders(self, tree: ObjectTree) -> dict[Oid, bytes | Encoder]:
        key = id(tree)
        if key not in self._encoders:
            self._encoders[key] = {obj.oid: compile_encoder(tree, obj) for obj in tree.objects}
        return self._encoders[key]

    def delay_s(self, ap: SimAp) -> float:
        if ap.latency_ms is None:
            return 0.0
        low, high = ap.latency_ms
        return self.rng.uniform(low, high) / 1000.0

    def answer(self, data: bytes, index: int, now: float) -> bytes | None:
        """The reply datagram, or None to stay silent (down, lost, wrong community, garbage)."""
        self.stats.requests += 1
        if not 0 <= index < len(self.aps):
            self.stats.dropped_unknown_address += 1
            return None
        ap = self.aps[index]
        if not ap.direct:
            self.stats.dropped_unknown_address += 1
            return None
        faults = ap.faults
        if faults is not None and not faults.answering(now - self.clock.t0):
            self.stats.dropped_down += 1
            return None
        if ap.loss and self.rng.random() < ap.loss:
            self.stats.dropped_loss += 1
            return None
        if ap.lose:
            seen = self._seen[index] = self._seen.get(index, 0) + 1
            if seen in ap.lose:
                self.stats.dropped_loss += 1
                return None
        try:
            if data[0] != 0x30:
                raise RequestError("not a SEQUENCE")
            _, pos = _read_len(data, 1)
            v3 = data[pos:pos + 3] == b"\x02\x01\x03"
            reply = self._v3(data, ap, now) if v3 else self._v2c(data, ap, now, pos)
        except (RequestError, IndexError):
            self.stats.malformed += 1
            return None
        if reply is not None:
            self.stats.answered += 1
        return reply

    # -- v2c ---------------------------------------------------------------------------------

    def _v2c(self, data: bytes, ap: SimAp, now: float, pos: int) -> bytes | None:
        # SEQUENCE { version, community, PDU { request-id, ... } }; pos is where the version starts
        vs, ve = _expect(data, pos, INTEGER)
        cs, ce = _expect(data, ve, OCTET_STRING)
        pdu_pos = ce
        _, body = _read_len(data, pdu_pos + 1)
        _, rid_end = _expect(data, body, INTEGER)
        key = data[:body] + data[rid_end:]
        shape = self._shapes.get(key)
        if shape is None:
            version = _small_int(data, vs, ve)
            if version not in (0, 1):
                raise RequestError("not v1/v2c")
            _, rid_end, _, shape = parse_pdu(data, pdu_pos)
            shape.version = version
            shape.community = data[cs:ce]
            if len(self._shapes) > 4096:
                self._shapes.clear()
            self._shapes[key] = shape
        if ap.community is None or shape.community != ap.community:
            self.stats.dropped_bad_community += 1
            return None
        pdu = self._respond(shape, data[body:rid_end], ap, now)
        inner = b"\x02\x01" + bytes((shape.version,)) + _octets(shape.community) + pdu
        return b"\x30" + _len(len(inner)) + inner

    # -- v3 ----------------------------------------------------------------------------------

    def _v3(self, data: bytes, ap: SimAp, now: float) -> bytes | None:
        if not ap.v3 or self.usm is None:
            self.stats.dropped_bad_community += 1
            return None
        lv = live(ap, self.clock, now)
        incoming = self.usm.unwrap(data, ap.engine_id, lv.boots, lv.up_s)
        if incoming is None:
            raise RequestError("not a usable v3 message")
        if isinstance(incoming, bytes):
            self.stats.v3_reports += 1
            return incoming
        rid_start, rid_end, _, shape = parse_pdu(incoming.pdu, 0)
        pdu = self._respond(shape, incoming.pdu[rid_start:rid_end], ap, now, lv)
        return self.usm.wrap(incoming, pdu, ap.engine_id, lv.boots, lv.up_s)

    # -- PDUs --------------------------------------------------------------------------------

    def _respond(self, shape: Shape, rid_tlv: bytes, ap: SimAp, now: float, lv: Live | None = None) -> bytes:
        tree = ap.tree
        if ap.controller is not None:
            varbinds = self._controller(shape, ap, now, lv or live(ap, self.clock, now))
        elif shape.pdu_type == GET:
            plan = shape.plans.get(id(tree))
            if plan is None:
                plan = shape.plans[id(tree)] = Plan(tree, self.encoders(tree), shape.oids, shape.oid_tlvs)
            if plan.live and lv is None:
                lv = live(ap, self.clock, now)
            varbinds = plan.varbinds(ap, lv)
        else:
            varbinds = self._walk(shape, ap, lv or live(ap, self.clock, now))
        body = rid_tlv + b"\x02\x01\x00\x02\x01\x00\x30" + _len(len(varbinds)) + varbinds
        return bytes((_RESPONSE,)) + _len(len(body)) + body

    def _controller(self, shape: Shape, ap: SimAp, now: float, lv: Live) -> bytes:
        """A controller's answer: its own object tree, merged in OID order with its virtual per-AP tables."""
        from hotspotctl.simulate.controllers import Context

        controller = ap.controller
        mib, tree, encoders = controller.mib, ap.tree, self.encoders(ap.tree)
        ctx = Context(self.clock, now)
        out: list[bytes] = []
        if shape.pdu_type == GET:
            for oid, oid_tlv in zip(shape.oids, shape.oid_tlvs, strict=True):
                obj = tree.by_oid.get(oid)
                if obj is not None:
                    encoder = encoders[oid]
                    value = encoder if isinstance(encoder, bytes) else encoder(ap, lv)
                else:
                    known, found = mib.get(oid, ctx)
                    if found is None:
                        column = tree.next_after(oid[:-1])
                        known = known or (column is not None and column.oid[:len(oid) - 1] == oid[:-1])
                    value = found if found is not None else _NO_SUCH_INSTANCE if known else _NO_SUCH_OBJECT
                out.append(b"\x30" + _len(len(oid_tlv) + len(value)) + oid_tlv + value)
            return b"".join(out)

        def following(oid: Oid) -> tuple[Oid, bytes]:
            static = tree.next_after(oid)
            virtual = mib.next_after(oid, ctx)
            if static is not None and (virtual is None or static.oid < virtual[0]):
                return self._next_varbind(tree, encoders, oid, ap, lv)
            if virtual is None:
                return self._next_varbind(tree, encoders, oid, ap, lv)  # endOfMibView
            next_oid, raw, value = virtual
            oid_tlv = b"\x06" + _len(len(raw)) + raw
            return next_oid, b"\x30" + _len(len(oid_tlv) + len(value)) + oid_tlv + value

        if shape.pdu_type == GET_NEXT:
            return b"".join(following(oid)[1] for oid in shape.oids)
        non_rep = min(shape.non_repeaters, len(shape.oids))
        for oid in shape.oids[:non_rep]:
            out.append(following(oid)[1])
        cursors = list(shape.oids[non_rep:])
        size = sum(map(len, out))
        limit = ap.max_response - 32 - len(shape.community)  # the whole message fits: header, request-id, ...
        for _ in range(min(shape.max_repetitions, 1000) if cursors else 0):
            done = True
            for i, oid in enumerate(cursors):
                cursors[i], varbind = following(oid)
                size += len(varbind)
                if size > limit and out:
                    return b"".join(out)
                out.append(varbind)
                if not varbind.endswith(_END_OF_MIB):
                    done = False
            if done:
                break
        return b"".join(out)

    def _next_varbind(self, tree: ObjectTree, encoders: dict[Oid, bytes | Encoder], oid: Oid, ap: SimAp,
                      lv: Live) -> tuple[Oid, bytes]:
        obj = tree.next_after(oid)
        if obj is None:
            oid_tlv = b"\x06" + _len(len(raw := encode_oid(oid))) + raw
            return oid, b"\x30" + _len(len(oid_tlv) + 2) + oid_tlv + _END_OF_MIB
        raw = encode_oid(obj.oid)
        oid_tlv = b"\x06" + _len(len(raw)) + raw
        encoder = encoders[obj.oid]
        value = encoder if isinstance(encoder, bytes) else encoder(ap, lv)
        return obj.oid, b"\x30" + _len(len(oid_tlv) + len(value)) + oid_tlv + value

    def _walk(self, shape: Shape, ap: SimAp, lv: Live) -> bytes:
        tree, encoders = ap.tree, self.encoders(ap.tree)
        out: list[bytes] = []
        if shape.pdu_type == GET_NEXT:
            for oid in shape.oids:
                out.append(self._next_varbind(tree, encoders, oid, ap, lv)[1])
            return b"".join(out)
        non_rep = min(shape.non_repeaters, len(shape.oids))
        for oid in shape.oids[:non_rep]:
            out.append(self._next_varbind(tree, encoders, oid, ap, lv)[1])
        cursors = list(shape.oids[non_rep:])
        size = sum(map(len, out))
        for _ in range(min(shape.max_repetitions, 1000) if cursors else 0):
            done = True
            for i, oid in enumerate(cursors):
                cursors[i], varbind = self._next_varbind(tree, encoders, oid, ap, lv)
                size += len(varbind)
                if size > MAX_RESPONSE_BYTES and out:
                    return b"".join(out)
                out.append(varbind)
                if not varbind.endswith(_END_OF_MIB):
                    done = False
            if done:
                break
        return b"".join(out)


# -- serving ------------------------------------------------------------------------------------


def open_socket(port: int, *, receive_buffer: int = 8 << 20) -> socket.socket:
    """A UDP socket on ``port`` of every loopback address, shareable by several processes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    with contextlib.suppress(OSError):  # no CAP_NET_RAW on an old kernel: serve() checks the source anyway
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    for option, size in ((socket.SO_RCVBUF, receive_buffer), (socket.SO_SNDBUF, receive_buffer // 2)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, 33 if option == socket.SO_RCVBUF else 32, size)  # *BUFFORCE
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, option, size)
    sock.bind(("0.0.0.0", port))
    sock.setblocking(False)
    return sock


def serve(sock: socket.socket, responder: Responder, *, base: str = BASE_ADDRESS,
          should_stop: Callable[[], bool] = lambda: False, on_tick: Callable[[], None] | None = None,
          tick_s: float = 0.5) -> None:
    """Answer datagrams until ``should_stop()``; delayed answers wait in a heap, not a thread."""
    import heapq

    base_int = int.from_bytes(socket.inet_aton(base), "big")
    pending: list[tuple[float, int, bytes, list, tuple]] = []
    seq = 0
    recvmsg, sendmsg, answer = sock.recvmsg, sock.sendmsg, responder.answer
    pktinfo = struct.Struct("=I4s4s")
    next_tick = time.monotonic() + tick_s
    while not should_stop():
        wait = tick_s
        if pending:
            wait = max(0.0, min(wait, pending[0][0] - time.monotonic()))
        try:
            select.select([sock], [], [], wait)
        except InterruptedError:
            continue
        for _ in range(512):
            try:
                data, ancillary, _, source = recvmsg(4096, 64)
            except (BlockingIOError, InterruptedError):
                break
            now = time.time()  # per datagram: one read after a batch began must not get an older instant
            if not source[0].startswith("127.") or not ancillary:
                continue
            destination = pktinfo.unpack(ancillary[0][2])[2]
            reply = answer(data, int.from_bytes(destination, "big") - base_int, now)
            if reply is None:
                continue
            control = [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo.pack(0, destination, b"\0\0\0\0"))]
            delay = responder.delay_s(responder.aps[int.from_bytes(destination, "big") - base_int])
            if delay > 0:
                seq += 1
                heapq.heappush(pending, (time.monotonic() + delay, seq, reply, control, source))
                continue
            with contextlib.suppress(BlockingIOError, ConnectionRefusedError):  # like a lost packet
                sendmsg([reply], control, 0, source)
        clock = time.monotonic()
        while pending and pending[0][0] <= clock:
            _, _, reply, control, source = heapq.heappop(pending)
            with contextlib.suppress(BlockingIOError, ConnectionRefusedError):
                sendmsg([reply], control, 0, source)
        if on_tick is not None and clock >= next_tick:
            next_tick = clock + tick_s
            on_tick()


def engine_id_for(index: int) -> bytes:
    """An RFC 3411 engine ID per AP: enterprise 8072 (net-snmp) format 4 (text), 'hotspotctl' + index."""
    return b"\x80\x00\x1f\x88\x04" + b"hs-sim-" + str(index).encode()
