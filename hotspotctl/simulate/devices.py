"""What a simulated AP answers: the object tree of four device families.

Each family is modelled on a LibreNMS recording in tests/fixtures/devices (the system
group, the shape of the interface table, the vendor's client-count objects and their
types), so hotspotctl's own discovery picks the same profile it picks for the real device:

==============  =====================  ========================================================
family          profile                modelled on
==============  =====================  ========================================================
unifi           ubiquiti_unifi         unifi_nanohd: lo, eth0, ra0/rai0 VAPs, UBNT-UniFi-MIB
                                       radio table (ng/na, unifiRadioCu*) and VAP table
                                       (channel, tx power, unifiVapNumStations INTEGER, unifiVapUp)
mikrotik        mikrotik_routeros      routeros: ether1, wlan1/2 (ieee80211), bridge, mtxrWlApTable
                                       (mtxrWlApClientCount Counter32, frequency, band, noise floor)
aruba_instant   aruba_instant          aruba-instant: eth0/eth1, radio*_ssid_id0 (188), br0,
                                       aiSSIDClientNum (INTEGER), sysUpTime only; its own aiAPTable
                                       row and aiRadioTable (channel, power, noise, utilisation ...)
generic         generic                a Linux net-snmp agent with IF-MIB and nothing else
==============  =====================  ========================================================

Each AP has a 2.4 GHz and a 5 GHz radio (``Port.band``); their figures are the ``radio:<field>:<n>``
live kinds (``agent.radios_now``), and a radio port's ifOperStatus follows the radio_down fault.

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
from hotspotctl.models.radios import BAND_2_4, BAND_5

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
    band: str = ""  # radios: 2.4GHz or 5GHz (the radio_down fault's band; the radio tables' channel)


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


def _radio(column: str, index: str, tag: int, field: str, radio: int) -> Obj:
    """A radio table's object computed at answer time: ``field`` of the family's ``radio``-th radio port
    (family order: the radio's share of the clients, see ``agent.radios_now``)."""
    return Obj(parse_oid(f"{column}.{index}"), tag, kind=f"radio:{field}:{radio}")


def _static(column: str, index: str, tag: int, value: Value) -> Obj:
    return Obj(parse_oid(f"{column}.{index}"), tag, value)


# UBNT-UniFi-MIB unifiRadioEntry and unifiVapEntry columns
UNIFI_RADIO = "1.3.6.1.4.1.41112.1.6.1.1.1"
UNIFI_VAP = "1.3.6.1.4.1.41112.1.6.1.2.1"
# MIKROTIK-MIB mtxrWlApEntry, indexed by the wireless interface's ifIndex
MTXR_WL_AP = "1.3.6.1.4.1.14988.1.1.1.3.1"
# AI-AP-MIB aiAPEntry (index: the AP's MAC) and aiRadioEntry (index: the AP's MAC, then the radio's number)
AI_AP = "1.3.6.1.4.1.14823.2.3.3.1.2.1.1"
AI_RADIO = "1.3.6.1.4.1.14823.2.3.3.1.2.2.1"
AI_AP_MAC = bytes((0x24, 0x5A, 0x4C, 0, 0, 1))  # eth0's ifPhysAddress: an Instant AP's MAC is its wired one
_AI_KEY = ".".join(str(b) for b in AI_AP_MAC)


def _mac(port: int, vap: int = 0) -> bytes:
    """A radio's BSSID: the port's MAC with a locally administered first octet per VAP."""
    return bytes((0x26 + 4 * vap, 0x5A, 0x4C, 0, port >> 8, port & 0xFF))


def _unifi_radios() -> tuple[Obj, ...]:
    objects: list[Obj] = []
    for row, (radio, port, vap_name) in enumerate(((0, 3, b"ra0"), (1, 4, b"rai0")), start=1):
        index = str(row)
        objects += [
            _radio(f"{UNIFI_RADIO}.6", index, INTEGER, "util", radio),  # unifiRadioCuTotal
            _radio(f"{UNIFI_RADIO}.7", index, INTEGER, "self_rx", radio),  # unifiRadioCuSelfRx
            _radio(f"{UNIFI_RADIO}.8", index, INTEGER, "self_tx", radio),  # unifiRadioCuSelfTx
            _radio(f"{UNIFI_RADIO}.9", index, INTEGER, "other", radio),  # unifiRadioOtherBss
            _static(f"{UNIFI_VAP}.2", index, OCTET_STRING, _mac(port)),  # unifiVapBssId
            _radio(f"{UNIFI_VAP}.4", index, INTEGER, "channel", radio),  # unifiVapChannel
            _static(f"{UNIFI_VAP}.7", index, OCTET_STRING, vap_name),  # unifiVapName
            _radio(f"{UNIFI_VAP}.8", index, INTEGER, "clients", radio),  # unifiVapNumStations
            _radio(f"{UNIFI_VAP}.21", index, INTEGER, "tx_power", radio),  # unifiVapTxPower
            _radio(f"{UNIFI_VAP}.22", index, INTEGER, "truth", radio),  # unifiVapUp (TruthValue)
        ]
    return tuple(objects)


def _mikrotik_radios() -> tuple[Obj, ...]:
    objects: list[Obj] = []
    for radio, port in ((0, 2), (1, 3)):
        index = str(port)
        objects += [
            _static(f"{MTXR_WL_AP}.5", index, OCTET_STRING, _mac(port)),  # mtxrWlApBssid
            _radio(f"{MTXR_WL_AP}.6", index, COUNTER32, "clients", radio),  # mtxrWlApClientCount
            _radio(f"{MTXR_WL_AP}.7", index, INTEGER, "frequency", radio),  # mtxrWlApFreq (MHz; 0: disabled)
            _radio(f"{MTXR_WL_AP}.8", index, OCTET_STRING, "band_text", radio),  # mtxrWlApBand
            _radio(f"{MTXR_WL_AP}.9", index, INTEGER, "noise", radio),  # mtxrWlApNoiseFloor (dBm; 0: disabled)
            _static(f"{MTXR_WL_AP}.10", index, COUNTER32, 88),  # mtxrWlApOverallTxCCQ (%)
            _radio(f"{MTXR_WL_AP}.11", index, COUNTER32, "clients", radio),  # mtxrWlApAuthClientCount
        ]
    return tuple(objects)


def _aruba_radios() -> tuple[Obj, ...]:
    objects: list[Obj] = [
        _static(f"{AI_AP}.1", _AI_KEY, OCTET_STRING, AI_AP_MAC),  # aiAPMACAddress
        Obj(parse_oid(f"{AI_AP}.2.{_AI_KEY}"), OCTET_STRING, kind="sys_name"),  # aiAPName
        Obj(parse_oid(f"{AI_AP}.4.{_AI_KEY}"), OCTET_STRING, kind="serial"),  # aiAPSerialNum
        _static(f"{AI_AP}.5", _AI_KEY, OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 14823, 1, 2, 111)),  # aiAPModel
        _static(f"{AI_AP}.6", _AI_KEY, OCTET_STRING, b"515"),  # aiAPModelName
        Obj(parse_oid(f"{AI_AP}.9.{_AI_KEY}"), TIME_TICKS, kind="sys_uptime"),  # aiAPUptime
        _static(f"{AI_AP}.11", _AI_KEY, INTEGER, 1),  # aiAPStatus up(1)
    ]
    # radio 0 is the 5 GHz radio (radio0_ssid_id0, ifIndex 50), radio 1 the 2.4 GHz one (ifIndex 70)
    for radio, port in ((0, 50), (1, 70)):
        index = f"{_AI_KEY}.{radio}"
        objects += [
            _static(f"{AI_RADIO}.1", index, OCTET_STRING, AI_AP_MAC),  # aiRadioAPMACAddress
            _static(f"{AI_RADIO}.2", index, INTEGER, radio),  # aiRadioIndex
            _static(f"{AI_RADIO}.3", index, OCTET_STRING, _mac(port)),  # aiRadioMACAddress
            _radio(f"{AI_RADIO}.4", index, OCTET_STRING, "channel_text", radio),  # aiRadioChannel ("36E", "6")
            _radio(f"{AI_RADIO}.5", index, INTEGER, "tx_power", radio),  # aiRadioTransmitPower (dBm)
            _radio(f"{AI_RADIO}.6", index, INTEGER, "noise_abs", radio),  # aiRadioNoiseFloor (93 for -93 dBm)
            _radio(f"{AI_RADIO}.7", index, INTEGER, "util", radio),  # aiRadioUtilization4
            _radio(f"{AI_RADIO}.8", index, INTEGER, "util", radio),  # aiRadioUtilization64
            _radio(f"{AI_RADIO}.20", index, INTEGER, "status", radio),  # aiRadioStatus up(1) down(2)
            _radio(f"{AI_RADIO}.21", index, INTEGER, "clients", radio),  # aiRadioClientNum
            _static(f"{AI_RADIO}.22", index, OCTET_STRING, b"access"),  # aiRadioMode
        ]
    return tuple(objects)


UNIFI = Family(
    "unifi", "ubiquiti_unifi", b"UAP-AC-M-PRO 6.6.55.15189", (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10),
    (Port(1, "lo", 24, "other"), Port(2, "eth0", 6, "uplink"), Port(3, "ra0", 6, "radio", 0.35, band=BAND_2_4),
     Port(4, "rai0", 6, "radio", 0.65, band=BAND_5), Port(5, "br0", 209, "other")),
    hr_uptime=True,
    extra=(
        # UBNT-UniFi-MIB unifiRadioTable: name and radio type per radio
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.1.1.2.1"), OCTET_STRING, b"wifi0"),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.1.1.2.2"), OCTET_STRING, b"wifi1"),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.1.1.3.1"), OCTET_STRING, b"ng"),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.1.1.3.2"), OCTET_STRING, b"na"),
        # unifiVapTable: ESSID and radio per VAP (one VAP per radio); the live columns in _unifi_radios
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.6.1"), OCTET_STRING, SSID),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.6.2"), OCTET_STRING, SSID),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.9.1"), OCTET_STRING, b"ng"),
        Obj(parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.9.2"), OCTET_STRING, b"na"),
        *_unifi_radios(),
    ),
)

MIKROTIK = Family(
    "mikrotik", "mikrotik_routeros", b"RouterOS cAP ac", (1, 3, 6, 1, 4, 1, 14988, 1),
    (Port(1, "ether1", 6, "uplink"), Port(2, "wlan1", 71, "radio", 0.4, band=BAND_2_4),
     Port(3, "wlan2", 71, "radio", 0.6, band=BAND_5),
     Port(4, "bridge", 209, "other")),
    hr_uptime=True,
    extra=(
        # MIKROTIK-MIB mtxrWlApTable: SSID per wireless interface; client count, frequency, band, noise
        # floor in _mikrotik_radios
        Obj(parse_oid("1.3.6.1.4.1.14988.1.1.1.3.1.4.2"), OCTET_STRING, SSID),
        Obj(parse_oid("1.3.6.1.4.1.14988.1.1.1.3.1.4.3"), OCTET_STRING, SSID),
        *_mikrotik_radios(),
        Obj(parse_oid("1.3.6.1.4.1.14988.1.1.4.4.0"), OCTET_STRING, b"7.15.3"),
    ),
)

ARUBA_INSTANT = Family(
    "aruba_instant", "aruba_instant", b"ArubaOS (MODEL: 515), Version 8.10.0.7-8.10.0.7",
    (1, 3, 6, 1, 4, 1, 14823, 1, 2, 111),
    (Port(1, "eth0", 62, "uplink"), Port(2, "eth1", 62, "other", up=False),
     Port(50, "radio0_ssid_id0", 188, "radio", 0.7, band=BAND_5),
     Port(70, "radio1_ssid_id0", 188, "radio", 0.3, band=BAND_2_4),
     Port(500, "br0", 1, "other")),
    hr_uptime=False,
    extra=(
        # AI-AP-MIB aiWlanSSIDTable: ESSID and client count per SSID
        Obj(parse_oid("1.3.6.1.4.1.14823.2.3.3.1.1.7.1.2.0"), OCTET_STRING, SSID),
        Obj(parse_oid("1.3.6.1.4.1.14823.2.3.3.1.1.7.1.2.1"), OCTET_STRING, b"CDMX-Staff"),
        _clients_obj("1.3.6.1.4.1.14823.2.3.3.1.1.7.1.4.0", INTEGER, 0),
        _clients_obj("1.3.6.1.4.1.14823.2.3.3.1.1.7.1.4.1", INTEGER, 1),
        *_aruba_radios(),  # the AP's own aiAPTable row and its aiRadioTable
    ),
)

GENERIC = Family(
    "generic", "generic", b"Linux ap 5.15.150 #0 SMP armv7l", (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10),
    (Port(1, "lo", 24, "other"), Port(2, "eth0", 6, "uplink"), Port(3, "wlan0", 71, "radio", 0.4, band=BAND_2_4),
     Port(4, "wlan1", 71, "radio", 0.6, band=BAND_5)),
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
            # a radio's ifOperStatus follows the radio_down fault; other ports are fixed
            Obj((*IF_ENTRY, 8, i), INTEGER, kind=f"oper:{i}") if port.role == "radio"
            else Obj((*IF_ENTRY, 8, i), INTEGER, 1 if port.up else 2),
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
