"""What a simulated AP answers: the object tree of four device families.

Each family is modelled on a LibreNMS recording in tests/fixtures/devices (the system
group, the shape of the interface table, the vendor's client-count objects and their
types), so hotspotctl's own discovery picks the same profile it picks for the real device:

==============  =====================  ========================================================
family          profile                modelled on
==============  =====================  ========================================================
unifi           ubiquiti_unifi         unifi_nanohd: lo, eth0, ra0/rai0 VAPs, UBNT-UniFi-MIB
                                       radio and VAP tables (unifiVapNumStations, INTEGER)
mikrotik        mikrotik_routeros      routeros: ether1, wlan1/2 (ieee80211), bridge,
                                       mtxrWlApClientCount (Counter32)
aruba_instant   aruba_instant          aruba-instant: eth0/eth1, radio*_ssid_id0 (188), br0,
                                       aiSSIDClientNum (INTEGER), sysUpTime only
generic         generic                a Linux net-snmp agent with IF-MIB and nothing else
==============  =====================  ========================================================

An object is static (tag and value fixed for the family), per AP (sysName, link speed) or
live (uptime, counters, clients): ``Obj.kind`` names what ``simulate.agent`` computes at
answer time. The ``wrap32`` variant of a family has no ifXTable octet counters, so the
poller falls back to 32-bit ifIn/OutOctets.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from hotspotctl.collectors.codec import (
    COUNTER32,
    COUNTER64,
    GAUGE32,
    INTEGER,
    OBJECT_IDENTIFIER,
    OCTET_STRING,
    TIME_TICKS,
)
from hotspotctl.collectors.model import Value
from hotspotctl.collectors.oids import Oid, parse_oid

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
HR_SYSTEM_UPTIME = (1, 3, 6, 1, 2, 1, 25, 1, 1, 0)
SNMP_ENGINE = (1, 3, 6, 1, 6, 3, 10, 2, 1)
SSID = b"CDMX Internet para Todos"  # what the simulated APs broadcast


@dataclass(frozen=True, slots=True)
class Obj:
    oid: Oid
    tag: int
    value: Value = None  # static value, when kind is ""
    kind: str = ""  # computed per AP at answer time (see agent.LIVE_KINDS)


@dataclass(frozen=True, slots=True)
class Port:
    """One ifTable row: the uplink carries the AP's traffic, radios a share of it."""

    index: int
    name: str
    if_type: int
    role: str  # uplink | radio | other
    share: float = 0.0  # radios: share of the AP's traffic and clients
    up: bool = True


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    profile: str  # the profile hotspotctl's discovery must choose
    sys_descr: bytes
    sys_object_id: Oid
    ports: tuple[Port, ...]
    hr_uptime: bool
    extra: tuple[Obj, ...]  # vendor objects, clients among them


class ObjectTree:
    """A family's objects in OID order, for GET (dict) and GETNEXT/GETBULK (bisect)."""

    __slots__ = ("by_oid", "family", "objects", "oids")

    def __init__(self, family: Family, objects: list[Obj]) -> None:
        self.family = family
        self.objects = tuple(sorted(objects, key=lambda o: o.oid))
        self.oids = [o.oid for o in self.objects]
        self.by_oid = {o.oid: o for o in self.objects}
        if len(self.by_oid) != len(self.objects):
            raise ValueError(f"{family.name}: duplicate OIDs in the simulated object tree")

    def next_after(self, oid: Oid) -> Obj | None:
        i = bisect.bisect_right(self.oids, oid)
        return self.objects[i] if i < len(self.objects) else None


def _clients_obj(oid: str, tag: int, share_index: int) -> Obj:
    return Obj(parse_oid(oid), tag, kind=f"clients:{share_index}")


UNIFI = Family(
    "unifi", "ubiquiti_unifi", b"UAP-AC-M-PRO 6.6.55.15189", (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10),
    (Port(1, "lo", 24, "other"), Port(2, "eth0", 6, "uplink"), Port(3, "ra0", 6, "radio", 0.35),
     Port(4, "rai0", 6, "radio", 0.65), Port(5, "br0", 209, "other")),
    hr_uptime=True,
    extra=(
        # UBNT-UniFi-MIB unifiRadioTable: name and radio type per radio
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.1.1.2.1"), OCTET_STRING, b"wifi0"),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.1.1.2.2"), OCTET_STRING, b"wifi1"),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.1.1.3.1"), OCTET_STRING, b"ng"),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.1.1.3.2"), OCTET_STRING, b"na"),
        # unifiVapTable: ESSID, radio and associated stations per VAP
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.6.1"), OCTET_STRING, SSID),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.6.2"), OCTET_STRING, SSID),
        _clients_obj("1.3.6.1.4.1.41112.1.6.1.2.1.8.1", INTEGER, 0),
        _clients_obj("1.3.6.1.4.1.41112.1.6.1.2.1.8.2", INTEGER, 1),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.9.1"), OCTET_STRING, b"ng"),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.9.2"), OCTET_STRING, b"na"),
    ),
)

MIKROTIK = Family(
    "mikrotik", "mikrotik_routeros", b"RouterOS cAP ac", (1, 3, 6, 1, 4, 1, 14988, 1),
    (Port(1, "ether1", 6, "uplink"), Port(2, "wlan1", 71, "radio", 0.4), Port(3, "wlan2", 71, "radio", 0.6),
     Port(4, "bridge", 209, "other")),
    hr_uptime=True,
    extra=(
        # MIKROTIK-MIB mtxrWlApTable: SSID and client count per wireless interface
        Obj(parse_oid("1.3.6.1.4.1.14988.1.1.1.3.1.4.2"), OCTET_STRING, SSID),
        Obj(parse_oid("1.3.6.1.4.1.14988.1.1.1.3.1.4.3"), OCTET_STRING, SSID),
        _clients_obj("1.3.6.1.4.1.14988.1.1.1.3.1.6.2", COUNTER32, 0),
        _clients_obj("1.3.6.1.4.1.14988.1.1.1.3.1.6.3", COUNTER32, 1),
        Obj(parse_oid("1.3.6.1.4.1.14988.1.1.4.4.0"), OCTET_STRING, b"7.15.3"),
    ),
)

ARUBA_INSTANT = Family(
    "aruba_instant", "aruba_instant", b"ArubaOS (MODEL: 515), Version 8.10.0.7-8.10.0.7",
    (1, 3, 6, 1, 4, 1, 14823, 1, 2, 111),
    (Port(1, "eth0", 62, "uplink"), Port(2, "eth1", 62, "other", up=False),
     Port(50, "radio0_ssid_id0", 188, "radio", 0.3), Port(70, "radio1_ssid_id0", 188, "radio", 0.7),
     Port(500, "br0", 1, "other")),
    hr_uptime=False,
    extra=(
        # AI-AP-MIB aiWlanSSIDTable: ESSID and client count per SSID
        Obj(parse_oid("1.3.6.1.4.1.14823.2.3.3.1.1.7.1.2.0"), OCTET_STRING, SSID),
        Obj(parse_oid("1.3.6.1.4.1.14823.2.3.3.1.1.7.1.2.1"), OCTET_STRING, b"CDMX-Staff"),
        _clients_obj("1.3.6.1.4.1.14823.2.3.3.1.1.7.1.4.0", INTEGER, 0),
        _clients_obj("1.3.6.1.4.1.14823.2.3.3.1.1.7.1.4.1", INTEGER, 1),
    ),
)

GENERIC = Family(
    "generic", "generic", b"Linux ap 5.15.150 #0 SMP armv7l", (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10),
    (Port(1, "lo", 24, "other"), Port(2, "eth0", 6, "uplink"), Port(3, "wlan0", 71, "radio", 0.4),
     Port(4, "wlan1", 71, "radio", 0.6)),
    hr_uptime=True,
    extra=(),
)

FAMILIES: dict[str, Family] = {f.name: f for f in (UNIFI, MIKROTIK, ARUBA_INSTANT, GENERIC)}
# How the simulated fleet is made up (a city buys from a few vendors over the years).
FAMILY_MIX: tuple[tuple[str, float], ...] = (("unifi", 0.40), ("mikrotik", 0.25), ("aruba_instant", 0.25),
                                             ("generic", 0.10))
# For UniFi the ra*/rai* VAPs are radios: share clients 0 and 1 map to the first and second radio.


def build_tree(family: Family, *, wrap32: bool = False) -> ObjectTree:
    """Every object the family answers; ``wrap32`` leaves out the 64-bit octet counters."""
    objects = [
        Obj((*SYSTEM, 1, 0), OCTET_STRING, family.sys_descr),
        Obj((*SYSTEM, 2, 0), OBJECT_IDENTIFIER, family.sys_object_id),
        Obj((*SYSTEM, 3, 0), TIME_TICKS, kind="sys_uptime"),
        Obj((*SYSTEM, 4, 0), OCTET_STRING, b"noc@wifi.cdmx.example"),
        Obj((*SYSTEM, 5, 0), OCTET_STRING, kind="sys_name"),
        Obj((*SYSTEM, 6, 0), OCTET_STRING, kind="sys_location"),
        Obj((*SYSTEM, 7, 0), INTEGER, 78),
        Obj(IF_NUMBER, INTEGER, len(family.ports)),
        Obj((*SNMP_ENGINE, 1, 0), OCTET_STRING, kind="engine_id"),
        Obj((*SNMP_ENGINE, 2, 0), INTEGER, kind="engine_boots"),
        Obj((*SNMP_ENGINE, 3, 0), INTEGER, kind="engine_time"),
        Obj((*SNMP_ENGINE, 4, 0), INTEGER, 1500),
        *family.extra,
    ]
    if family.hr_uptime:
        objects.append(Obj(HR_SYSTEM_UPTIME, TIME_TICKS, kind="hr_uptime"))
    for port in family.ports:
        i = port.index
        mac = bytes((0x24, 0x5A, 0x4C, 0, i >> 8, i & 0xFF))
        objects += [
            Obj((*IF_ENTRY, 1, i), INTEGER, i),
            Obj((*IF_ENTRY, 2, i), OCTET_STRING, port.name.encode()),
            Obj((*IF_ENTRY, 3, i), INTEGER, port.if_type),
            Obj((*IF_ENTRY, 4, i), INTEGER, 65536 if port.if_type == 24 else 1500),
            Obj((*IF_ENTRY, 5, i), GAUGE32, kind=f"if_speed:{i}"),
            Obj((*IF_ENTRY, 6, i), OCTET_STRING, b"" if port.if_type == 24 else mac),
            Obj((*IF_ENTRY, 7, i), INTEGER, 1),
            Obj((*IF_ENTRY, 8, i), INTEGER, 1 if port.up else 2),
            Obj((*IF_ENTRY, 10, i), COUNTER32, kind=f"in32:{i}"),
            Obj((*IF_ENTRY, 16, i), COUNTER32, kind=f"out32:{i}"),
            Obj((*IFX_ENTRY, 1, i), OCTET_STRING, port.name.encode()),
            Obj((*IFX_ENTRY, 15, i), GAUGE32, kind=f"high_speed:{i}"),
            Obj((*IFX_ENTRY, 18, i), OCTET_STRING, b""),
        ]
        if not wrap32:
            objects += [Obj((*IFX_ENTRY, 6, i), COUNTER64, kind=f"in64:{i}"),
                        Obj((*IFX_ENTRY, 10, i), COUNTER64, kind=f"out64:{i}")]
    return ObjectTree(family, objects)


TREES: dict[tuple[str, bool], ObjectTree] = {
    (name, wrap32): build_tree(family, wrap32=wrap32) for name, family in FAMILIES.items() for wrap32 in (False, True)
}
