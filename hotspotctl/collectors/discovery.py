"""Discovery: recognise a device, pick its profile, and find where its figures live.

Run once per AP (and again when a poll says the layout changed), never on the hot path.
It works from any :class:`Device` (the pysnmp-backed client, or the fake over a recording in
the tests) and returns a :class:`~hotspotctl.collectors.model.Discovery` that every poll reuses:

1. one GET for sysDescr.0, sysObjectID.0 and the three uptime objects;
2. the profile: the pinned one, else the first of ``ProfileSet.candidates()`` whose every
   ``detect.has_oid`` object exists on the device (GET answers it, or its subtree has rows;
   generic comes last);
3. a walk of ten IF-MIB columns, then the uplink and the radios by the profile's rules;
4. the first of the profile's client sources that the device answers with a usable number;
5. with a radio table (the profile's `radios`), one walk of its columns, all at once: the radios' KEYs and
   the instances every poll GETs (collectors/tables.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from hotspotctl.collectors.model import Absent, Discovery, Interface, Value
from hotspotctl.collectors.oids import (
    IF_DESCR,
    IF_HC_IN_OCTETS,
    IF_HC_OUT_OCTETS,
    IF_HIGH_SPEED,
    IF_IN_OCTETS,
    IF_NAME,
    IF_OPER_STATUS,
    IF_OUT_OCTETS,
    IF_SPEED,
    IF_TYPE,
    SYS_DESCR,
    SYS_OBJECT_ID,
    UPTIME_SOURCES,
    Oid,
    format_oid,
    parse_oid,
)
from hotspotctl.collectors.profiles import ClientSource, Profile, ProfileSet
from hotspotctl.collectors.tables import fix_radio_instances
from hotspotctl.errors import CollectError, PollErrorKind

# The IF-MIB columns discovery walks, by the name used below.
IF_COLUMNS: dict[str, Oid] = {
    "descr": IF_DESCR, "name": IF_NAME, "type": IF_TYPE, "oper": IF_OPER_STATUS,
    "speed": IF_SPEED, "high_speed": IF_HIGH_SPEED, "hc_in": IF_HC_IN_OCTETS,
    "hc_out": IF_HC_OUT_OCTETS, "in": IF_IN_OCTETS, "out": IF_OUT_OCTETS,
}
_OPER_UP = 1
_DECIMAL = re.compile(rb"[+-]?\d+")

# What discovery found, shared: equal layouts, and equal parts of layouts that differ elsewhere (a sysDescr
# with a serial number), are one object each. Every AP's walk builds its own strings and tuples; a fleet of
# 35,000 APs has a handful of layouts, and a radio table's parts (its KEYs, its (column, rows) cells, the
# IF-MIB names) are a few hundred objects per AP kept for as long as the poller runs. Bounded: a clear only
# costs sharing, never a result.
_SHARED_MAX = 1 << 16
_shared: dict[object, object] = {}
_T = TypeVar("_T")


def _share(value: _T) -> _T:
    if len(_shared) >= _SHARED_MAX:
        _shared.clear()
    return _shared.setdefault(value, value)  # type: ignore[return-value]


def share_layout(discovery: Discovery) -> Discovery:
    """``discovery``, or the equal layout found before it; its parts likewise shared with equal ones before."""
    found = _shared.get(discovery)
    if found is not None:
        return found  # type: ignore[return-value]
    d = discovery
    return _share(replace(
        d, profile=_share(d.profile), sys_descr=_share(d.sys_descr), sys_object_id=_share(d.sys_object_id),
        uptime_sources=_share(d.uptime_sources), uplink=None if d.uplink is None else _share(d.uplink),
        radios=_share(d.radios), clients_oids=_share(d.clients_oids), radio_keys=_share(d.radio_keys),
        radio_cells=_share(tuple(_share((_share(column), _share(rows))) for column, rows in d.radio_cells)),
        radio_if_names=_share(d.radio_if_names)))


class Device(Protocol):
    """An SNMP agent as discovery sees it. Absent objects are values (model.Absent), not errors."""

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        """Every requested OID is a key; absent ones map to NO_SUCH_OBJECT / NO_SUCH_INSTANCE."""
        ...

    async def walk(self, prefix: Oid) -> list[tuple[Oid, Value]]:
        """Rows strictly under ``prefix``, in OID order; [] if there are none."""
        ...


def as_count(value: Value) -> int | None:
    """A non-negative integer from an SNMP value: INTEGER/Gauge32/Counter32, or a decimal
    OCTET STRING (net-snmp extend output, ``b"5"``). Anything else is not usable: None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, bytes):
        text = value.replace(b"\x00", b"").strip()
        if _DECIMAL.fullmatch(text):
            number = int(text)
            return number if number >= 0 else None
    return None


def client_count(kind: str | None, values: Iterable[Value]) -> int | None:
    """The associated-client figure from what a poll fetched for ``Discovery.clients_oids``.

    scalar / sum: the sum of the usable values (None if none is usable);
    count: the number of rows the column walk returned (0 is a real answer);
    None kind (the profile has no client source): None.
    """
    if kind is None:
        return None
    if kind == "count":
        return sum(1 for value in values if not isinstance(value, Absent))
    if kind in ("scalar", "sum"):
        numbers = [n for n in map(as_count, values) if n is not None]
        return sum(numbers) if numbers else None
    raise ValueError(f"unknown client source kind {kind!r}; expected scalar, sum or count")


def decode_text(value: Value) -> str:
    """Display text from an OCTET STRING: UTF-8 (bad bytes replaced), NULs removed."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").replace("\x00", "").strip()
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    return ""


def _object_id(value: Value) -> Oid | None:
    if isinstance(value, tuple):
        return value
    if isinstance(value, (str, bytes)):
        try:
            return parse_oid(value.decode("ascii", "replace") if isinstance(value, bytes) else value)
        except ValueError:
            return None
    return None


def _int(value: Value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Probe:
    """Answers "does the device have this object?" once per OID: an instance that a GET answers
    (a scalar like ``extOutput.1``), or a subtree with at least one row (a table or column)."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.known: dict[Oid, bool] = {}

    async def exists(self, oid: Oid) -> bool:
        if oid not in self.known:
            answer = await self.device.get([oid])
            answered = oid in answer and not isinstance(answer[oid], Absent)
            self.known[oid] = answered or bool(await self.device.walk(oid))
        return self.known[oid]


async def choose_profile(device: Device, profiles: ProfileSet, sys_object_id: Oid | None, sys_descr: str,
                         *, pinned: str | None = None) -> Profile:
    """The pinned profile, else the first candidate whose ``has_oid`` objects all exist."""
    if pinned:
        return profiles.get(pinned)
    probe = _Probe(device)
    for candidate in profiles.candidates(sys_object_id, sys_descr):
        for prefix in candidate.detect.has_oid:
            if not await probe.exists(prefix):
                break
        else:
            return candidate
    raise CollectError(f"no profile matches sysObjectID {format_oid(sys_object_id) if sys_object_id else '-'} "
                       f"and sysDescr {sys_descr!r}, and there is no generic profile; restore "
                       "collectors/generic.yaml or pin a profile for this AP", kind=PollErrorKind.CONFIG)  # unmonitored


@dataclass(frozen=True, slots=True)
class IfRow:
    """One IF-MIB row as walked: the Interface, plus what the rules and the link speed need."""

    interface: Interface
    descr: str
    high_speed: int | None
    speed: int | None


async def read_interfaces(device: Device, profile: Profile) -> list[IfRow]:
    """Every interface the IF-MIB lists (indexes from ifDescr, ifName or ifType), by ifIndex."""
    walks = await asyncio.gather(*(device.walk(column) for column in IF_COLUMNS.values()))
    columns: dict[str, dict[int, Value]] = {}
    for key, column, walked in zip(IF_COLUMNS, IF_COLUMNS.values(), walks, strict=True):
        columns[key] = {oid[-1]: value for oid, value in walked
                        if len(oid) == len(column) + 1 and not isinstance(value, Absent)}
    indexes = sorted(set(columns["descr"]) | set(columns["name"]) | set(columns["type"]))
    rows: list[IfRow] = []
    for index in indexes:
        def cell(key: str, index: int = index) -> int | None:
            return _int(columns[key].get(index))

        descr = decode_text(columns["descr"].get(index))
        high_speed, speed = cell("high_speed"), cell("speed")
        interface = Interface(
            if_index=index, name=decode_text(columns["name"].get(index)) or descr, if_type=cell("type"),
            oper_up=cell("oper") == _OPER_UP, speed_mbps=_speed(profile, high_speed, speed),
            has_hc=cell("hc_in") is not None and cell("hc_out") is not None,
            has_32=cell("in") is not None and cell("out") is not None)
        rows.append(IfRow(interface, descr, high_speed, speed))
    return rows


def _link_source(profile: Profile, high_speed: int | None, speed: int | None) -> str | None:
    """Which column gives the link speed: ifHighSpeed when it is there and > 0, else ifSpeed."""
    if profile.link_speed == "none":
        return None
    if profile.link_speed == "if_high_speed":
        return "if_high_speed" if high_speed is not None else None
    if profile.link_speed == "if_speed":
        return "if_speed" if speed is not None else None
    if high_speed:
        return "if_high_speed"
    if speed is not None:
        return "if_speed"
    return "if_high_speed" if high_speed is not None else None


def _speed(profile: Profile, high_speed: int | None, speed: int | None) -> float | None:
    source = _link_source(profile, high_speed, speed)
    if source == "if_high_speed" and high_speed is not None:
        return high_speed * profile.link_speed_scale
    if source == "if_speed" and speed is not None:
        return speed / 1e6 * profile.link_speed_scale
    return None


def choose_uplink(profile: Profile, rows: Sequence[IfRow]) -> IfRow | None:
    """The best-ranked qualifying interface; ties go to the one up, with counters, lowest ifIndex."""
    ranked = []
    for row in rows:
        interface = row.interface
        rank = profile.uplink.rank(interface.if_type, interface.name, row.descr)
        if rank is not None:
            no_counters = not (interface.has_hc or interface.has_32)
            ranked.append(((rank, not interface.oper_up, no_counters, interface.if_index), row))
    return min(ranked, key=lambda pair: pair[0])[1] if ranked else None


def choose_radios(profile: Profile, rows: Sequence[IfRow], uplink: IfRow | None) -> tuple[Interface, ...]:
    """Every other interface the profile's radio rule accepts, by ifIndex."""
    return tuple(row.interface for row in rows if row is not uplink
                 and profile.radio_interfaces.rank(row.interface.if_type, row.interface.name, row.descr) is not None)


def counter_bits(profile: Profile, uplink: Interface | None) -> int | None:
    if uplink is None:
        return None
    for kind in profile.counters:
        if kind == "hc" and uplink.has_hc:
            return 64
        if kind == "32" and uplink.has_32:
            return 32
    return None


async def choose_clients(device: Device, sources: Sequence[ClientSource]) -> tuple[str | None, tuple[str, ...]]:
    """The first source the device answers with a usable number (a count is always usable)."""
    for source in sources:
        if source.kind == "scalar":
            value = (await device.get([source.oid])).get(source.oid)
            if as_count(value) is not None:
                return "scalar", (format_oid(source.oid),)
        elif source.kind == "sum":
            walked = await asyncio.gather(*(device.walk(column) for column in source.oids))
            found = tuple(format_oid(oid) for rows in walked for oid, value in rows if as_count(value) is not None)
            if found:
                return "sum", found
        elif source.kind == "count":
            return "count", (format_oid(source.oid),)
    return None, ()


async def discover(device: Device, profiles: ProfileSet, *, pinned: str | None = None) -> Discovery:
    """Identify ``device``, choose its profile and interfaces, and say where each figure lives."""
    system = await device.get([SYS_DESCR, SYS_OBJECT_ID, *UPTIME_SOURCES.values()])
    descr_value, oid_value = system.get(SYS_DESCR), system.get(SYS_OBJECT_ID)
    if (descr_value is None or isinstance(descr_value, Absent)) and (
            oid_value is None or isinstance(oid_value, Absent)):
        raise CollectError("the device answered neither sysDescr.0 nor sysObjectID.0, so it cannot be "
                           "identified; check that its SNMP view includes the system group (1.3.6.1.2.1.1)")
    sys_descr = decode_text(descr_value)
    sys_object_id = _object_id(oid_value)
    profile = await choose_profile(device, profiles, sys_object_id, sys_descr, pinned=pinned)
    rows = await read_interfaces(device, profile)
    uplink_row = choose_uplink(profile, rows)
    uplink = uplink_row.interface if uplink_row else None
    radios = choose_radios(profile, rows, uplink_row)
    link_source = _link_source(profile, uplink_row.high_speed, uplink_row.speed) if uplink_row else None
    kind, client_oids = await choose_clients(device, profile.clients)
    uptime = tuple(name for name in profile.uptime if _int(system.get(UPTIME_SOURCES[name])) is not None)
    radio_table = None
    if profile.radios is not None:
        radio_table = await fix_radio_instances(device, profile.radios,
                                                {row.interface.if_index: row.interface.name for row in rows})
    return share_layout(Discovery(
        profile=profile.name, sys_descr=sys_descr,
        sys_object_id=format_oid(sys_object_id) if sys_object_id else "",
        uptime_sources=uptime, uplink=uplink, radios=radios, counter_bits=counter_bits(profile, uplink),
        link_source=link_source, link_scale=profile.link_speed_scale,
        clients_kind=kind, clients_oids=client_oids,
        radio_keys=radio_table.keys if radio_table else (), radio_cells=radio_table.cells if radio_table else (),
        radio_if_names=radio_table.if_names if radio_table else ()))
