"""Receive SNMP notifications: v1 Trap-PDU, v2c SNMPv2-Trap and InformRequest, v3 (USM authNoPriv/authPriv).

One ``TrapReceiver`` decodes and judges each datagram with our own codec (``codec.decode_response`` for
the PDU, ``usmcore`` for v3's USM); ``TrapListener`` is the asyncio DatagramProtocol that feeds it on the
event loop. No thread or process per trap: a v2c trap costs tens of microseconds, a v3 authPriv one an
HMAC and an AES block run more (the keys are localised once per sender engine ID and cached).

What is trusted: a trap from a source the caller does not know (``known(source)``), with a community no
v2c credential set has, or that fails USM (unknown user, wrong digest, does not decrypt, out of the time
window) is dropped and counted by reason; it never becomes a TrapEvent. Repeats (the same source, trap
OID and varbinds within ``dedupe_s``: a v2c retransmission, a retried inform) are counted and dropped;
an inform is still answered, since its sender retries until it hears a Response.

v1 (RFC 3584 section 3.1): generic-trap 0..5 becomes snmpTraps.(generic+1) (1.3.6.1.6.3.1.1.5.N);
enterpriseSpecific (6) becomes enterprise.0.specific; the source is agent-addr when it is not 0.0.0.0,
else the datagram's address; time-stamp becomes sysUpTime.0.

SNMPv3: for a trap the SENDER is the authoritative engine, so keys are localised with the engine ID the
message carries (msgAuthoritativeEngineID), per credential set and engine ID (a bounded cache). The time
window (RFC 3414 3.2 step 7b, as a non-authoritative receiver) is kept per engine ID: the first
authentic message sets it; a later one from an earlier boot, or more than 150 s behind the latest time
seen of the same boot, is dropped (not_in_time_window): a replay. v3 InformRequests need the receiver to
be authoritative (engine ID discovery by the sender): not supported, dropped as ``v3_inform``.

The notifications hotspotctl understands (``TrapKind``), with the MIB each comes from:

- coldStart, warmStart, linkDown, linkUp, authenticationFailure: SNMPv2-MIB / IF-MIB, 1.3.6.1.6.3.1.1.5.1-5;
  linkDown/linkUp carry ifIndex (1.3.6.1.2.1.2.2.1.1.N) and, often, ifAdminStatus (1.3.6.1.2.1.2.2.1.7.N).
- Cisco AIRESPACE-WIRELESS-MIB bsnAPDisassociated (1.3.6.1.4.1.14179.2.6.3.8) / bsnAPAssociated (.7), AP named
  by bsnAPName (1.3.6.1.4.1.14179.2.2.1.1.3.*) and bsnAPMacAddrTrapVariable (1.3.6.1.4.1.14179.2.6.2.20.0);
  CISCO-LWAPP-AP-MIB ciscoLwappApAssociated (1.3.6.1.4.1.9.9.513.0.4), cLApName (1.3.6.1.4.1.9.9.513.1.1.1.1.5.*).
- Aruba WLSX-TRAP-MIB wlsxNAccessPointIsDown (1.3.6.1.4.1.14823.2.3.1.11.1.2.1041) / IsUp (.1040), AP MAC in
  wlsxTrapAPMacAddress (1.3.6.1.4.1.14823.2.3.1.11.1.1.1).
- Ruckus RUCKUS-SZ-EVENT-MIB ruckusSZAPDisconnectedTrap (1.3.6.1.4.1.25053.2.11.1.23), ruckusSZAPLostHeartbeatTrap
  (.24) / ruckusSZAPConnectedTrap (.21), AP in ruckusSZEventAPName (1.3.6.1.4.1.25053.2.11.2.25) and
  ruckusSZEventAPMacAddr (.23, a text MAC).
- Huawei HUAWEI-WLAN-AP-MIB hwApColdBootTrap (1.3.6.1.4.1.2011.6.139.13.1.1.30) / hwApColdBootRestoreTrap (.31),
  AP MAC: the first varbind holding one (APMAC).
docs/traps.md has the same table with its sources.

Anything else is ``OTHER``: delivered, counted and logged by its OID (``counters()["other_oids"]``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hotspotctl.collectors.address import split_address
from hotspotctl.collectors.auth import MissingSecret, resolve
from hotspotctl.collectors.codec import INFORM, RESPONSE, TRAP_V2, CodecError, decode_response
from hotspotctl.collectors.model import Absent
from hotspotctl.collectors.oids import decode_oid
from hotspotctl.collectors.usmcore import (
    AUTH_PROTOCOLS,
    LEVELS,
    RANK,
    TIME_WINDOW_S,
    LocalKeys,
    Malformed,
    decrypt,
    element,
    local_keys,
    parse_message,
    parse_scoped,
    password_to_key,
)
from hotspotctl.models.traps import TrapEvent, TrapKind
from hotspotctl.settings import Settings, SnmpAuth

log = logging.getLogger(__name__)

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ENTERPRISE = "1.3.6.1.6.3.1.1.4.3.0"
SNMP_TRAPS = "1.3.6.1.6.3.1.1.5"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1."
IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7."

# trap OID -> kind (see the table in the module docstring for where each comes from)
KINDS: dict[str, TrapKind] = {
    f"{SNMP_TRAPS}.1": TrapKind.COLD_START,
    f"{SNMP_TRAPS}.2": TrapKind.WARM_START,
    f"{SNMP_TRAPS}.3": TrapKind.LINK_DOWN,
    f"{SNMP_TRAPS}.4": TrapKind.LINK_UP,
    f"{SNMP_TRAPS}.5": TrapKind.AUTH_FAILURE,
    # Cisco AIRESPACE-WIRELESS-MIB (bsnTraps 1.3.6.1.4.1.14179.2.6.3)
    "1.3.6.1.4.1.14179.2.6.3.8": TrapKind.AP_LEAVE,  # bsnAPDisassociated
    "1.3.6.1.4.1.14179.2.6.3.7": TrapKind.AP_JOIN,  # bsnAPAssociated
    # Cisco CISCO-LWAPP-AP-MIB
    "1.3.6.1.4.1.9.9.513.0.4": TrapKind.AP_JOIN,  # ciscoLwappApAssociated
    # Aruba WLSX-TRAP-MIB (wlsxTraps 1.3.6.1.4.1.14823.2.3.1.11.1.2)
    "1.3.6.1.4.1.14823.2.3.1.11.1.2.1041": TrapKind.AP_LEAVE,  # wlsxNAccessPointIsDown
    "1.3.6.1.4.1.14823.2.3.1.11.1.2.1040": TrapKind.AP_JOIN,  # wlsxNAccessPointIsUp
    # Ruckus RUCKUS-SZ-EVENT-MIB (ruckusSZEventTraps 1.3.6.1.4.1.25053.2.11.1)
    "1.3.6.1.4.1.25053.2.11.1.23": TrapKind.AP_LEAVE,  # ruckusSZAPDisconnectedTrap
    "1.3.6.1.4.1.25053.2.11.1.24": TrapKind.AP_LEAVE,  # ruckusSZAPLostHeartbeatTrap
    "1.3.6.1.4.1.25053.2.11.1.21": TrapKind.AP_JOIN,  # ruckusSZAPConnectedTrap
    # Huawei HUAWEI-WLAN-AP-MIB (hwWlanApTraps 1.3.6.1.4.1.2011.6.139.13.1.1)
    "1.3.6.1.4.1.2011.6.139.13.1.1.30": TrapKind.AP_LEAVE,  # hwApColdBootTrap: the AP lost power
    "1.3.6.1.4.1.2011.6.139.13.1.1.31": TrapKind.AP_JOIN,  # hwApColdBootRestoreTrap: back online
}
# varbind OID prefixes that carry the AP's name / MAC in the controller traps above
AP_NAME_PREFIXES = ("1.3.6.1.4.1.14179.2.2.1.1.3.", "1.3.6.1.4.1.9.9.513.1.1.1.1.5.", "1.3.6.1.4.1.25053.2.11.2.25")
AP_MAC_PREFIXES = ("1.3.6.1.4.1.14179.2.6.2.20", "1.3.6.1.4.1.14823.2.3.1.11.1.1.1", "1.3.6.1.4.1.25053.2.11.2.23",
                   "1.3.6.1.4.1.14179.2.2.1.1.1.")

# Why a datagram did not become a TrapEvent (the counters' names)
DROP_REASONS = ("malformed", "unknown_source", "bad_community", "unknown_user", "bad_auth", "unsupported_level",
                "decrypt", "not_in_time_window", "v3_inform", "not_a_notification", "rate_limited", "duplicate")


def _text(value: bytes) -> str:
    """An OCTET STRING as people read it: the text when it is printable UTF-8, else hex pairs with colons."""
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return value.hex(":")
    return text if text.isprintable() else value.hex(":")


def _plain(value: Any) -> Any:
    """A decoded varbind value as TrapEvent carries it: int, str (text, hex, dotted OID, a.b.c.d) or None."""
    if isinstance(value, bytes):
        return _text(value)
    if isinstance(value, tuple):
        return ".".join(map(str, value))
    if isinstance(value, Absent):
        return str(value)
    return value


def _mac(value: Any, raw: bytes | None) -> str | None:
    """aa:bb:cc:dd:ee:ff from a 6-octet MacAddress or a text MAC (aa:bb.., aa-bb.., aabb.cc..), else None."""
    if raw is not None and len(raw) == 6:
        return raw.hex(":")
    if isinstance(value, str):
        digits = "".join(ch for ch in value if ch not in ":-. ").lower()
        if len(digits) == 12 and all(ch in "0123456789abcdef" for ch in digits):
            return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    return None


def classify(source: str, version: str, security: str, received_at: float,
             varbinds: list[tuple[str, Any, bytes | None]]) -> TrapEvent:
    """A TrapEvent from v2-shaped varbinds (sysUpTime.0, snmpTrapOID.0, ...): (OID, plain value, raw octets)."""
    uptime = trap_oid = None
    if varbinds and varbinds[0][0] == SYS_UPTIME and isinstance(varbinds[0][1], int):
        uptime = varbinds[0][1]
    for oid, value, _raw in varbinds[:2]:
        if oid == SNMP_TRAP_OID and isinstance(value, str):
            trap_oid = value
    if trap_oid is None:
        raise CodecError("no snmpTrapOID.0 in the notification's first two varbinds")
    kind = KINDS.get(trap_oid, TrapKind.OTHER)
    if_index = admin_up = ap_name = ap_mac = None
    rest = varbinds[2:]
    if kind in (TrapKind.LINK_DOWN, TrapKind.LINK_UP):
        for oid, value, _raw in rest:
            if oid.startswith(IF_INDEX) and isinstance(value, int):
                if_index = value
            elif oid.startswith(IF_ADMIN_STATUS) and isinstance(value, int):
                admin_up = value == 1
                if if_index is None:
                    if_index = int(oid[len(IF_ADMIN_STATUS):].split(".")[0])
    elif kind in (TrapKind.AP_LEAVE, TrapKind.AP_JOIN):
        for oid, value, raw in rest:
            if ap_name is None and oid.startswith(AP_NAME_PREFIXES) and isinstance(value, str):
                ap_name = value
            elif ap_mac is None and oid.startswith(AP_MAC_PREFIXES):
                ap_mac = _mac(value, raw)
        if ap_mac is None:  # Huawei's APMAC, or a vendor variant: the first varbind that holds a MAC
            for oid, value, raw in rest:
                if oid != SNMP_TRAP_ENTERPRISE and (ap_mac := _mac(value, raw)) is not None:
                    break
    return TrapEvent(received_at=received_at, source=source, version=version, security=security,
                     trap_oid=trap_oid, kind=kind, uptime_ticks=uptime, if_index=if_index, admin_up=admin_up,
                     ap_name=ap_name, ap_mac=ap_mac, varbinds=tuple((oid, value) for oid, value, _raw in varbinds))


def _varbinds(decoded: list[tuple[bytes, int, Any]]) -> list[tuple[str, Any, bytes | None]]:
    return [(".".join(map(str, decode_oid(oid))), _plain(value), value if isinstance(value, bytes) else None)
            for oid, _tag, value in decoded]


# --- v1 --------------------------------------------------------------------------------------------


def _tlv_at(data: bytes, pos: int, limit: int, tag: int) -> tuple[int, int]:
    """(contents start, end) of the element at ``pos`` with ``tag``; CodecError otherwise."""
    try:
        got, start, end = element(data, pos, limit)
    except (Malformed, IndexError):
        raise CodecError("v1 trap: truncated element") from None
    if got != tag:
        raise CodecError(f"v1 trap: expected tag 0x{tag:02x}, got 0x{got:02x}")
    return start, end


def _uint(data: bytes, start: int, end: int, what: str) -> int:
    if not 1 <= end - start <= 5:
        raise CodecError(f"v1 trap: {what} of {end - start} octets")
    return int.from_bytes(data[start:end], "big", signed=False)


def decode_v1(data: bytes) -> tuple[bytes, str, list[tuple[str, Any, bytes | None]]]:
    """(community, agent-addr, v2-shaped varbinds) of a v1 Trap-PDU message (RFC 1157 4.1.6, RFC 3584 3.1)."""
    size = len(data)
    start, end = _tlv_at(data, 0, size, 0x30)
    if end != size:
        raise CodecError("message: trailing bytes after the message")
    s, pos = _tlv_at(data, start, end, 0x02)  # version 0
    s, pos = _tlv_at(data, pos, end, 0x04)
    community = data[s:pos]
    pdu_start, pdu_end = _tlv_at(data, pos, end, 0xA4)
    if pdu_end != end:
        raise CodecError("pdu: length does not match the message")
    s, pos = _tlv_at(data, pdu_start, pdu_end, 0x06)
    try:
        enterprise = ".".join(map(str, decode_oid(data[s:pos])))
    except ValueError as exc:
        raise CodecError(f"v1 trap: enterprise: {exc}") from None
    s, pos = _tlv_at(data, pos, pdu_end, 0x40)
    if pos - s != 4:
        raise CodecError("v1 trap: agent-addr is not 4 octets")
    agent = ".".join(str(octet) for octet in data[s:pos])
    s, pos = _tlv_at(data, pos, pdu_end, 0x02)
    generic = _uint(data, s, pos, "generic-trap")
    s, pos = _tlv_at(data, pos, pdu_end, 0x02)
    specific = int.from_bytes(data[s:pos], "big", signed=True) if pos > s else 0
    s, pos = _tlv_at(data, pos, pdu_end, 0x43)
    timestamp = _uint(data, s, pos, "time-stamp")
    _vb_start, vb_end = _tlv_at(data, pos, pdu_end, 0x30)
    if vb_end != pdu_end:
        raise CodecError("v1 trap: varbinds do not end the PDU")
    # The varbind list, wrapped as a v2c Response, goes through the codec's strict decoder.
    listing = data[pos:vb_end]
    body = b"\x02\x01\x00\x02\x01\x00\x02\x01\x00" + listing
    message_body = b"\x02\x01\x01\x04\x00" + bytes((RESPONSE,)) + _length(len(body)) + body
    decoded = decode_response(b"\x30" + _length(len(message_body)) + message_body).varbinds
    if generic > 6:
        raise CodecError(f"v1 trap: generic-trap {generic} is not 0..6")
    trap_oid = f"{enterprise}.0.{specific}" if generic == 6 else f"{SNMP_TRAPS}.{generic + 1}"
    varbinds: list[tuple[str, Any, bytes | None]] = [(SYS_UPTIME, timestamp, None), (SNMP_TRAP_OID, trap_oid, None)]
    varbinds += _varbinds(decoded)
    varbinds.append((SNMP_TRAP_ENTERPRISE, enterprise, None))  # RFC 3584 3.1 (4)
    return community, agent, varbinds


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


# --- the receiver ----------------------------------------------------------------------------------


@dataclass(slots=True)
class V3Set:
    """A v3 credential set as the receiver needs it: master keys computed once (a megabyte of hashing each)."""

    name: str
    user: bytes
    auth_protocol: str | None
    priv_protocol: str | None
    auth_master: bytes = field(repr=False, default=b"")
    priv_master: bytes = field(repr=False, default=b"")

    @property
    def rank(self) -> int:
        return 2 if self.priv_protocol else 1 if self.auth_protocol else 0


def v3_set(name: str, user: str, auth_protocol: str, auth_password: str, priv_protocol: str,
           priv_password: str) -> V3Set:
    hash_name = AUTH_PROTOCOLS[auth_protocol][0] if auth_protocol else ""
    return V3Set(name, user.encode(), auth_protocol or None, priv_protocol or None,
                 password_to_key(auth_password.encode(), hash_name) if auth_protocol else b"",
                 password_to_key(priv_password.encode(), hash_name) if priv_protocol else b"")


@dataclass(slots=True)
class _EngineClock:
    boots: int
    engine_time: int
    at: float  # our monotonic clock when engine_time was seen


class TrapReceiver:
    """Decode and judge one datagram at a time: ``receive`` gives (TrapEvent or None, reply or None).

    ``communities``: v2c credential set name -> community (v1 and v2c); ``v3``: the v3 sets. ``known``:
    is this source (an address, no port) one of ours? None accepts every source.
    """

    def __init__(self, communities: Mapping[str, bytes], v3: Iterable[V3Set] = (), *,
                 known: Callable[[str], bool] | None = None, dedupe_s: float = 5.0,
                 max_per_source_per_s: float = 0.0, max_keys: int = 65536,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.communities = {name: bytes(c) for name, c in communities.items() if c}
        self.users: dict[bytes, list[V3Set]] = {}
        for entry in v3:
            self.users.setdefault(entry.user, []).append(entry)
        self.known = known
        self.dedupe_s = dedupe_s
        self.max_per_source_per_s = max_per_source_per_s
        self.max_keys = max_keys
        self.clock = clock
        self.monotonic = monotonic
        self._keys: dict[tuple[str, bytes], LocalKeys] = {}  # (set name, engine id) -> keys
        self._engines: dict[bytes, _EngineClock] = {}
        self._recent: dict[tuple[Any, ...], float] = {}  # dedupe key -> monotonic time last seen
        self._next_purge = 0.0
        self._buckets: dict[str, tuple[float, float]] = {}  # source -> (tokens, monotonic time)
        self.received = 0
        self.accepted = 0
        self.informs_answered = 0
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.kinds: dict[str, int] = {kind.value: 0 for kind in TrapKind}
        self.versions: dict[str, int] = {"1": 0, "2c": 0, "3": 0}
        self.other_oids: dict[str, int] = {}

    def counters(self) -> dict[str, Any]:
        """Everything counted so far, for the run's self-metrics and ``traps listen``'s summary."""
        return {"received": self.received, "accepted": self.accepted, "informs_answered": self.informs_answered,
                "dropped": dict(self.dropped), "kinds": dict(self.kinds), "versions": dict(self.versions),
                "other_oids": dict(self.other_oids)}

    def flat_counters(self) -> dict[str, int]:
        """The counters as flat integer fields (``traps_received``, ``traps_dropped_bad_auth``, ``traps_kind_link_down``
        ...), for a self-metrics point."""
        fields = {"traps_received": self.received, "traps_accepted": self.accepted,
                  "traps_informs_answered": self.informs_answered}
        fields.update({f"traps_dropped_{reason}": n for reason, n in self.dropped.items()})
        fields.update({f"traps_kind_{kind}": n for kind, n in self.kinds.items()})
        fields.update({f"traps_v{version}": n for version, n in self.versions.items()})
        return fields

    def _drop(self, reason: str, address: str, detail: str = "") -> tuple[None, None]:
        self.dropped[reason] += 1
        log.debug("trap from %s dropped: %s%s", address, reason, f" ({detail})" if detail else "")
        return None, None

    def receive(self, data: bytes, address: str) -> tuple[TrapEvent | None, bytes | None]:
        """Judge one datagram from ``address``: the event to deliver (None: dropped) and a reply to send."""
        self.received += 1
        received_at = self.clock()
        if type(data) is not bytes:
            data = bytes(data)
        # The version decides the layout: SEQUENCE, then an INTEGER; read it without trusting anything else.
        try:
            if data[0] != 0x30:
                return self._drop("malformed", address, "not a SEQUENCE")
            pos = 2 + (data[1] & 0x7F if data[1] & 0x80 else 0)
            if data[pos] != 0x02 or data[pos + 1] != 1:
                return self._drop("malformed", address, "no version")
            version = data[pos + 2]
        except IndexError:
            return self._drop("malformed", address, "truncated")
        if version == 3:
            return self._receive_v3(data, address, received_at)
        if version not in (0, 1):
            return self._drop("malformed", address, f"version {version}")
        if self.known is not None and version == 1 and not self.known(address):
            return self._drop("unknown_source", address)
        reply = None
        try:
            if version == 0:
                community, agent, varbinds = decode_v1(data)
                source = agent if agent != "0.0.0.0" else address
                label = "1"
            else:
                message = decode_response(data)
                if message.pdu_type not in (TRAP_V2, INFORM):
                    return self._drop("not_a_notification", address, f"PDU 0x{message.pdu_type:02x}")
                community, source, label = message.community, address, "2c"
                varbinds = _varbinds(message.varbinds)
        except CodecError as exc:
            return self._drop("malformed", address, str(exc))
        if self.known is not None and version == 0 and not self.known(source):
            return self._drop("unknown_source", source)
        security = self._community(community)
        if security is None:
            return self._drop("bad_community", source)
        if version == 1 and message.pdu_type == INFORM:
            # RFC 3416 4.2.7: a Response with the same request-id and varbinds: the same bytes, another tag.
            at = element(data, pos + 3, len(data))[2]  # the community's end: the PDU's tag
            reply = data[:at] + bytes((RESPONSE,)) + data[at + 1:]
        return self._accept(source, label, security, received_at, varbinds, reply, address)

    def _community(self, community: bytes) -> str | None:
        found = None
        for name, expected in self.communities.items():
            if hmac.compare_digest(community, expected) and found is None:
                found = name
        return found

    def _accept(self, source: str, version: str, security: str, received_at: float,
                varbinds: list[tuple[str, Any, bytes | None]], reply: bytes | None,
                address: str) -> tuple[TrapEvent | None, bytes | None]:
        try:
            event = classify(source, version, security, received_at, varbinds)
        except CodecError as exc:  # an inform without snmpTrapOID.0 is not answered either
            return self._drop("malformed", address, str(exc))
        if reply is not None:
            self.informs_answered += 1
        now = self.monotonic()
        if self._duplicate(event, now):
            self.dropped["duplicate"] += 1
            return None, reply
        if self.max_per_source_per_s and not self._allowed(source, now):
            self.dropped["rate_limited"] += 1
            return None, reply
        self.accepted += 1
        self.kinds[event.kind.value] += 1
        self.versions[version] += 1
        if event.kind is TrapKind.OTHER:
            count = self.other_oids.get(event.trap_oid, 0) + 1
            if count == 1 and len(self.other_oids) >= 10_000:
                self.other_oids.clear()  # bounded: a device inventing OIDs does not grow memory
            self.other_oids[event.trap_oid] = count
            if count == 1:
                log.info("trap %s from %s: not one hotspotctl understands (counted as other)", event.trap_oid,
                         source)
        return event, reply

    def _duplicate(self, event: TrapEvent, now: float) -> bool:
        if self.dedupe_s <= 0:
            return False
        if now >= self._next_purge:
            horizon = now - self.dedupe_s
            self._recent = {key: seen for key, seen in self._recent.items() if seen > horizon}
            self._next_purge = now + self.dedupe_s
        # sysUpTime.0 is left out: a device repeating itself a second later sends a later uptime
        key = (event.source, event.trap_oid, tuple(vb for vb in event.varbinds[1:] if vb[0] != SYS_UPTIME))
        seen = self._recent.get(key)
        self._recent[key] = now
        return seen is not None and now - seen < self.dedupe_s

    def _allowed(self, source: str, now: float) -> bool:
        rate = self.max_per_source_per_s
        if len(self._buckets) >= 100_000 and source not in self._buckets:
            self._buckets.clear()  # bounded: a flood from spoofed sources does not grow memory
        tokens, at = self._buckets.get(source, (rate, now))
        tokens = min(rate, tokens + (now - at) * rate)
        if tokens < 1:
            self._buckets[source] = (tokens, now)
            return False
        self._buckets[source] = (tokens - 1, now)
        return True

    # --- v3 ---

    def _keys_for(self, entry: V3Set, engine_id: bytes) -> LocalKeys:
        cache_key = (entry.name, engine_id)
        keys = self._keys.get(cache_key)
        if keys is None:
            hash_name = AUTH_PROTOCOLS[entry.auth_protocol][0] if entry.auth_protocol else ""
            keys = local_keys(entry.auth_master, entry.priv_master, engine_id, hash_name, entry.priv_protocol)
            if len(self._keys) >= self.max_keys:
                del self._keys[next(iter(self._keys))]
            self._keys[cache_key] = keys
        return keys

    def _receive_v3(self, data: bytes, address: str, received_at: float) -> tuple[TrapEvent | None, bytes | None]:
        if self.known is not None and not self.known(address):
            return self._drop("unknown_source", address)
        try:
            message = parse_message(data)
            if message is None:
                return self._drop("malformed", address, "not v3")
        except (Malformed, IndexError):
            return self._drop("malformed", address, "v3 framing")
        if not message.engine_id:
            return self._drop("malformed", address, "empty msgAuthoritativeEngineID")
        candidates = self.users.get(message.user_name)
        if not candidates:
            return self._drop("unknown_user", address, repr(message.user_name))
        offered = RANK[LEVELS[message.flags & 3]]
        candidates = [entry for entry in candidates if entry.rank == offered]
        if not candidates:
            return self._drop("unsupported_level", address, LEVELS[message.flags & 3])
        if offered == 0:
            return self._drop("unsupported_level", address, "noAuthNoPriv is never trusted")
        entry = keys = None
        mac = data[message.auth_start:message.auth_end]
        for candidate in candidates:
            hash_name, mac_size = AUTH_PROTOCOLS[candidate.auth_protocol]  # type: ignore[index]
            if len(mac) != mac_size:
                continue
            candidate_keys = self._keys_for(candidate, message.engine_id)
            zeroed = data[:message.auth_start] + bytes(mac_size) + data[message.auth_end:]
            if hmac.compare_digest(hmac.digest(candidate_keys.auth_key, zeroed, hash_name)[:mac_size], mac):
                entry, keys = candidate, candidate_keys
                break
        if entry is None or keys is None:
            return self._drop("bad_auth", address)
        if not self._in_time(message.engine_id, message.boots, message.engine_time):
            return self._drop("not_in_time_window", address, f"engine {message.engine_id.hex()}")
        try:
            if message.flags & 2:
                plain = self._open(keys, entry.priv_protocol or "", message, data)
                if plain is None:
                    return self._drop("decrypt", address)
            else:
                plain = parse_scoped(data, message.data_start, message.data_end, True)
        except (Malformed, IndexError):
            return self._drop("malformed", address, "ScopedPDU")
        _context_engine, _context, pdu, pdu_type, _request_id = plain
        if pdu_type == INFORM:
            return self._drop("v3_inform", address)
        if pdu_type != TRAP_V2:
            return self._drop("not_a_notification", address, f"PDU 0x{pdu_type:02x}")
        try:
            body = b"\x02\x01\x01\x04\x00" + pdu
            varbinds = _varbinds(decode_response(b"\x30" + _length(len(body)) + body).varbinds)
        except CodecError as exc:
            return self._drop("malformed", address, str(exc))
        return self._accept(address, "3", entry.name, received_at, varbinds, None, address)

    def _open(self, keys: LocalKeys, protocol: str, message: Any,
              data: bytes) -> tuple[bytes, bytes, bytes, int, int] | None:
        ciphertext = data[message.data_start:message.data_end]
        candidate: LocalKeys | None = keys
        while candidate is not None:
            plaintext = decrypt(candidate, protocol, message.boots, message.engine_time, message.priv_params,
                                ciphertext)
            if plaintext is None:
                return None
            try:
                return parse_scoped(plaintext, 0, len(plaintext), protocol != "des")
            except (Malformed, IndexError):
                candidate = candidate.alternate
        return None

    def _in_time(self, engine_id: bytes, boots: int, engine_time: int) -> bool:
        """RFC 3414 3.2 step 7b for a non-authoritative receiver, per sender engine ID (after authentication)."""
        now = self.monotonic()
        clock = self._engines.get(engine_id)
        if clock is None or boots > clock.boots:
            if len(self._engines) >= self.max_keys:
                del self._engines[next(iter(self._engines))]
            self._engines[engine_id] = _EngineClock(boots, engine_time, now)
            return True
        if boots < clock.boots or boots == 2147483647:
            return False
        expected = clock.engine_time + (now - clock.at)
        if engine_time < expected - TIME_WINDOW_S:
            return False
        if engine_time > expected:
            self._engines[engine_id] = _EngineClock(boots, engine_time, now)
        return True


def receiver_for(auth: Mapping[str, SnmpAuth], *, known: Callable[[str], bool] | None = None,
                 dedupe_s: float = 5.0, max_per_source_per_s: float = 0.0, env: Mapping[str, str] | None = None,
                 sets: Iterable[str] | None = None) -> tuple[TrapReceiver, list[str]]:
    """A receiver trusting the credential sets of ``snmp.auth`` (all, or those named in ``sets``).

    A set whose secret is missing (its environment variable unset) cannot authenticate anything: it is
    left out and named in the second value, for the caller to warn about.
    """
    communities: dict[str, bytes] = {}
    users: list[V3Set] = []
    skipped: list[str] = []
    for name in sorted(auth if sets is None else sets):
        try:
            credentials = resolve(name, auth, env)
        except MissingSecret as exc:
            skipped.append(f"{name}: {exc}")
            continue
        if credentials.version == "2c":
            communities[name] = credentials.community
        else:
            users.append(v3_set(name, credentials.user, credentials.auth_protocol, credentials.auth_password,
                                credentials.priv_protocol, credentials.priv_password))
    return TrapReceiver(communities, users, known=known, dedupe_s=dedupe_s,
                        max_per_source_per_s=max_per_source_per_s), skipped


class TrapListener(asyncio.DatagramProtocol):
    """The receiver on the event loop: each datagram is judged, answered (informs) and handed to ``on_trap``."""

    def __init__(self, receiver: TrapReceiver, on_trap: Callable[[TrapEvent], None]) -> None:
        self.receiver = receiver
        self.on_trap = on_trap
        self.transport: asyncio.DatagramTransport | None = None
        self.handler_errors = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        event, reply = self.receiver.receive(data, addr[0])
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
        if event is not None:
            try:
                self.on_trap(event)
            except Exception:  # a handler's bug must not stop the listener
                self.handler_errors += 1
                log.exception("trap handler failed on %s from %s", event.trap_oid, event.source)

    def error_received(self, exc: Exception) -> None:
        log.debug("trap socket error: %s", exc)

    def counters(self) -> dict[str, Any]:
        return {**self.receiver.counters(), "handler_errors": self.handler_errors}


async def listen(receiver: TrapReceiver, on_trap: Callable[[TrapEvent], None], host: str = "0.0.0.0",
                 port: int = 162, receive_buffer_bytes: int = 4 << 20,
                 ) -> tuple[asyncio.DatagramTransport, TrapListener]:
    """Bind the listener on ``host``:``port`` (0: any free port; read it from the transport's sockname).

    The socket's receive buffer is raised (the kernel caps it at net.core.rmem_max) so that a burst (a
    controller announcing hundreds of APs at once) waits in the kernel instead of being dropped there.
    """
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: TrapListener(receiver, on_trap),
                                                              local_addr=(host, port))
    sock = transport.get_extra_info("socket")
    if sock is not None and receive_buffer_bytes:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
    return transport, protocol


def receiver_from_settings(settings: Settings, *, known: Callable[[str], bool] | None = None,
                           env: Mapping[str, str] | None = None) -> tuple[TrapReceiver, list[str]]:
    """The receiver ``traps`` settings describe: trusted sets (traps.credential_sets, else all of snmp.auth),
    repeat window, per-source rate. The second value names the sets left out for a missing secret."""
    traps = settings.traps
    return receiver_for(settings.snmp.auth, known=known, dedupe_s=traps.dedupe_s,
                        max_per_source_per_s=traps.max_per_source_per_s, env=env,
                        sets=traps.credential_sets or None)


def source_addresses(aps: Iterable[Any]) -> dict[str, str]:
    """Trap source address -> AP id, from the APs' mgmt_address (host part; a name is kept as written).

    ``known = source_addresses(aps).__contains__`` is the usual ``known`` callback.
    """
    found: dict[str, str] = {}
    for ap in aps:
        address = getattr(ap, "mgmt_address", None)
        if not address:
            continue
        try:
            host, _port = split_address(address, 161)
        except ValueError:
            continue
        found.setdefault(host, ap.id)
    return found
