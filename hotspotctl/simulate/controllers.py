"""Simulated wireless controllers: one agent answering, for N lightweight APs, the vendor's per-AP tables.

A city's APs are mostly joined to a few controllers, and the controller is where each AP's state,
clients and radios are read. ``SimController`` is one such controller at its own loopback address,
served by the simulator's agent (``agent.Responder`` hands it every request for its address). Its
own system group and interface table are an ordinary ``devices`` object tree; its per-AP tables are
*virtual*: rows are computed at answer time from each managed AP's state, so a controller of 10,000
APs costs a few hundred bytes per AP, not an object per cell.

Each vendor serves the tables its MIB defines, with the MIB's OIDs, indexes and value types (the
sources are named per vendor below; the recordings in the shared LibreNMS corpus fixed the encodings
where they have the table). Only what the MIB defines is served: a vendor without a per-AP noise or
traffic column in the tables modelled here has none.

===============  ================================================================================
vendor           tables (index)
===============  ================================================================================
cisco_aireos     AIRESPACE-WIRELESS-MIB bsnAPTable (AP MAC), bsnAPIfTable (MAC.slot),
                 bsnAPIfLoadParametersTable (MAC.slot), bsnAPIfChannelNoiseInfoTable (MAC.slot.channel);
                 CISCO-LWAPP-AP-MIB cLApTable (MAC); CISCO-LWAPP-SYS-MIB clsSysApConnectCount.0
aruba_mc         WLSX-WLAN-MIB wlsxWlanAPTable (MAC), wlsxWlanRadioTable (MAC.radio);
                 WLSX-SWITCH-MIB wlsxSwitchTotalNumStationsAssociated.0
ruckus_sz        RUCKUS-SZ-WLAN-MIB ruckusSZAPTable (MAC), with the AP's own RX/TX byte counters
huawei_ac        HUAWEI-WLAN-AP-MIB hwWlanApTable (MAC), with the upstream port's byte counters;
                 HUAWEI-WLAN-AP-RADIO-MIB hwWlanRadioInfoTable (MAC.radio), with per-radio byte
                 counters; the AC's AP count scalar
===============  ================================================================================

Every AP has two radios (2.4 and 5 GHz). Clients follow the AP's traffic model (``traffic``), split
between its radios; utilisation grows with the radio's clients from a quiet-air floor; counters are
the AP's traffic since its boot, so rates taken from them are the AP's real rates. Faults
(``scenario``): an AP that leaves its controller (Cisco forgets it; Aruba, Huawei and Ruckus list
it as down), as does an AP the scenario takes down, cuts the power of or reboots; a radio that goes
down (status down, no clients); interference (utilisation and noise floor up); and the controller
dying (an ordinary ``down`` window on the controller's own address).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotspotctl.collectors.codec import (
    COUNTER32,
    COUNTER64,
    GAUGE32,
    INTEGER,
    OCTET_STRING,
    TIME_TICKS,
)
from hotspotctl.collectors.oids import Oid, encode_arcs, encode_oid
from hotspotctl.models.radios import BAND_2_4, BAND_5, channel_to_mhz
from hotspotctl.simulate.agent import _len, _uint  # the agent's BER pieces: one encoder for both
from hotspotctl.simulate.devices import Family, ObjectTree, Port, build_tree

_M32, _M64 = (1 << 32) - 1, (1 << 64) - 1

# -- BER helpers (the agent's hot path: no checks, the values are ours) ----------------------------


def _int(value: int) -> bytes:
    contents = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    return bytes((INTEGER, len(contents))) + contents


def _text(value: bytes) -> bytes:
    return bytes((OCTET_STRING,)) + _len(len(value)) + value


# -- the managed APs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimRadio:
    """One radio's fixed plan: its slot in the vendor's table, band, channel and RF environment."""

    slot: int
    band: str  # BAND_2_4 or BAND_5
    channel: int
    tx_power_dbm: int
    noise_dbm: int  # the noise floor in quiet air
    base_util_pct: float  # channel utilisation with no clients of its own (neighbours, beacons)
    share: float  # of the AP's clients


@dataclass(slots=True)
class ControllerAp:
    """An AP behind a controller: its traffic and faults are a ``SimAp`` (never served on its own address)."""

    sim: Any  # agent.SimAp
    name: str
    mac: bytes
    radios: tuple[SimRadio, ...]
    key: tuple[int, ...] = ()  # the MAC as six sub-identifiers: the row index in every vendor table

    def __post_init__(self) -> None:
        self.key = tuple(self.mac)


CHANNELS_2_4 = (1, 6, 11)
CHANNELS_5 = (36, 40, 44, 48, 149, 153, 157, 161)


def plan_radios(rng: random.Random) -> tuple[SimRadio, SimRadio]:
    """Two radios: 2.4 GHz on a non-overlapping channel, 5 GHz on a UNII-1/3 channel; a third of the clients
    on 2.4 GHz, the rest on 5 GHz (the band steering every vendor does)."""
    two = SimRadio(0, BAND_2_4, rng.choice(CHANNELS_2_4), 14 + rng.randrange(0, 7, 3), -95 + rng.randrange(0, 6),
                   8.0 + 10 * rng.random(), 0.35)
    five = SimRadio(1, BAND_5, rng.choice(CHANNELS_5), 17 + rng.randrange(0, 7, 3), -98 + rng.randrange(0, 5),
                    3.0 + 5 * rng.random(), 0.65)
    return two, five


def mac_for(controller_index: int, position: int) -> bytes:
    """A locally administered MAC, unique per (controller, AP): 02:16:<controller, 2 octets>:<position, 2 octets>."""
    if not 0 <= position < 1 << 16 or not 0 <= controller_index < 1 << 16:
        raise ValueError("a simulated controller manages at most 65,536 APs, and there are at most 65,536 of them")
    return bytes((0x02, 0x16, controller_index >> 8, controller_index & 0xFF, position >> 8, position & 0xFF))


@dataclass(frozen=True, slots=True)
class RadioNow:
    up: bool
    clients: int
    utilization_pct: int
    noise_dbm: int


PER_CLIENT_UTIL = {BAND_2_4: 2.5, BAND_5: 1.2}  # utilisation points per associated client


class Context:
    """One request's instant, and the per-AP figures computed once for it (a GETBULK reads each AP's row
    in several columns)."""

    __slots__ = ("_live", "_radios", "clock", "now", "rel")

    def __init__(self, clock: Any, now: float) -> None:
        self.clock = clock
        self.now = now
        self.rel = now - clock.t0
        self._live: dict[int, Any] = {}
        self._radios: dict[int, tuple[RadioNow, ...]] = {}

    def live(self, ap: ControllerAp) -> Any:
        key = id(ap)
        lv = self._live.get(key)
        if lv is None:
            from hotspotctl.simulate.agent import live

            lv = self._live[key] = live(ap.sim, self.clock, self.now)
        return lv

    def joined(self, ap: ControllerAp) -> bool:
        """Joined now: not left (ap_leave), and up (an AP that is down, without power, rebooting or flapping
        off has lost its controller too)."""
        faults = ap.sim.faults
        return faults is None or (faults.joined(self.rel) and faults.answering(self.rel))

    def radios(self, ap: ControllerAp) -> tuple[RadioNow, ...]:
        key = id(ap)
        figures = self._radios.get(key)
        if figures is not None:
            return figures
        faults = ap.sim.faults
        joined = self.joined(ap)
        total = self.live(ap).clients if joined else 0
        util_add, noise_add = faults.interfered(self.rel) if faults is not None else (0.0, 0.0)
        out = []
        given = 0
        for i, radio in enumerate(ap.radios):
            up = joined and (faults is None or faults.radio_up(radio.band, self.rel))
            clients = round(total * radio.share) if i < len(ap.radios) - 1 else total - given
            given += clients
            if not up:
                clients = 0
            util = radio.base_util_pct + clients * PER_CLIENT_UTIL.get(radio.band, 1.5) + util_add if up else 0.0
            out.append(RadioNow(up, clients, min(100, round(util)), round(radio.noise_dbm + noise_add)))
        figures = self._radios[key] = tuple(out)
        return figures

    def clients(self, ap: ControllerAp) -> int:
        return sum(radio.clients for radio in self.radios(ap))


# -- virtual tables -----------------------------------------------------------------------------

Value = Callable[[Any, Context], bytes | None]  # (row, context) -> value TLV, or None: no such row now


@dataclass(slots=True)
class Table:
    """Rows in index order; each row is an object the columns' value functions read."""

    keys: list[tuple[int, ...]]
    rows: list[Any]
    raws: list[bytes] = field(default_factory=list)
    by_key: dict[tuple[int, ...], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        order = sorted(range(len(self.keys)), key=self.keys.__getitem__)
        self.keys = [self.keys[i] for i in order]
        self.rows = [self.rows[i] for i in order]
        self.raws = [encode_arcs(key) for key in self.keys]
        self.by_key = dict(zip(self.keys, self.rows, strict=True))


@dataclass(slots=True)
class Column:
    oid: Oid
    table: Table
    value: Value
    raw: bytes = b""

    def __post_init__(self) -> None:
        self.raw = encode_oid(self.oid)


class VirtualMib:
    """Columns of virtual tables in OID order: GET and GETNEXT over rows computed at answer time."""

    def __init__(self, columns: list[Column]) -> None:
        self.columns = sorted(columns, key=lambda c: c.oid)
        self.oids = [c.oid for c in self.columns]
        if len(set(self.oids)) != len(self.oids):
            raise ValueError("duplicate columns in a simulated controller")

    def get(self, oid: Oid, ctx: Context) -> tuple[bool, bytes | None]:
        """(known column, value TLV or None)."""
        i = bisect.bisect_right(self.oids, oid) - 1
        if i < 0:
            return False, None
        column = self.columns[i]
        size = len(column.oid)
        if oid[:size] != column.oid:
            return False, None
        row = column.table.by_key.get(oid[size:])
        return True, (None if row is None else column.value(row, ctx))

    def next_after(self, oid: Oid, ctx: Context) -> tuple[Oid, bytes, bytes] | None:
        """The first (OID, raw OID contents, value TLV) after ``oid``, or None past the last column."""
        columns = self.columns
        i = bisect.bisect_right(self.oids, oid) - 1
        suffix: tuple[int, ...] | None = None
        if i >= 0 and oid[:len(columns[i].oid)] == columns[i].oid:
            suffix = oid[len(columns[i].oid):]
        else:
            i += 1
        while i < len(columns):
            column = columns[i]
            table = column.table
            keys, rows, value = table.keys, table.rows, column.value
            j = 0 if suffix is None else bisect.bisect_right(keys, suffix)
            while j < len(keys):
                tlv = value(rows[j], ctx)
                if tlv is not None:
                    return column.oid + keys[j], column.raw + table.raws[j], tlv
                j += 1
            i += 1
            suffix = None
        return None


# -- vendors ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vendor:
    name: str
    label: str
    family: Family  # the controller's own system group and ports
    build: Callable[[SimController], list[Column]]


def _ports(name: str) -> tuple[Port, ...]:
    return (Port(1, name, 6, "uplink"), Port(2, "mgmt0", 6, "other"))


def _radio_rows(controller: SimController, number: Callable[[SimRadio], int] = lambda radio: radio.slot) -> Table:
    """One row per radio, index AP MAC + the radio's number in the vendor's table (its slot unless ``number``
    says otherwise)."""
    keys, rows = [], []
    for ap in controller.aps:
        for i, radio in enumerate(ap.radios):
            keys.append((*ap.key, number(radio)))
            rows.append((ap, radio, i))
    return Table(keys, rows)


def _ap_rows(controller: SimController) -> Table:
    return Table([ap.key for ap in controller.aps], list(controller.aps))


def _scalar(row: Any) -> Table:
    return Table([(0,)], [row])


# Cisco AireOS (AIRESPACE-WIRELESS-MIB, CISCO-LWAPP-AP-MIB, CISCO-LWAPP-SYS-MIB). Sources: the MIBs in
# librenms/mibs/cisco, LibreNMS OS/Ciscowlc.php, Datadog's _cisco-wlc profile, and the CBW240AC recording
# (bsnAPIfSlotId Gauge32, bsnAPIfType/ChannelNumber/TxPowerLevel/OperStatus INTEGER, bsnApIfNoOfUsers
# Counter32, the power list text at .22, bsnAPIfLoadChannelUtilization INTEGER).
BSN_AP = (1, 3, 6, 1, 4, 1, 14179, 2, 2, 1, 1)
BSN_AP_IF = (1, 3, 6, 1, 4, 1, 14179, 2, 2, 2, 1)
BSN_AP_IF_LOAD = (1, 3, 6, 1, 4, 1, 14179, 2, 2, 13, 1)
BSN_AP_IF_NOISE = (1, 3, 6, 1, 4, 1, 14179, 2, 2, 15, 1)
CLAP = (1, 3, 6, 1, 4, 1, 9, 9, 513, 1, 1, 1, 1)
CLS_SYS_AP_CONNECT_COUNT = (1, 3, 6, 1, 4, 1, 9, 9, 618, 1, 8, 4)
BSN_DOT11_ESS = (1, 3, 6, 1, 4, 1, 14179, 2, 1, 1, 1)  # bsnDot11EssTable, index bsnDot11EssIndex
SSID = b"CDMX Internet para Todos"  # the one WLAN the simulated controllers serve (devices.SSID)
CISCO_POWER_LISTS = {BAND_2_4: (20, 17, 14, 11, 8, 5, 2), BAND_5: (23, 20, 17, 14, 11, 8, 5)}
NOISE_CHANNELS = {BAND_2_4: CHANNELS_2_4, BAND_5: (36, 40, 44, 48)}  # what RRM scans (and the radio's own channel)


def _cisco_level(radio: SimRadio) -> int:
    levels = CISCO_POWER_LISTS[radio.band]
    return min(range(len(levels)), key=lambda i: abs(levels[i] - radio.tx_power_dbm)) + 1


def _cisco(controller: SimController) -> list[Column]:
    # AireOS lists the APs joined now; an AP that left is no longer in bsnAPTable (nor in its radio tables).
    aps = _ap_rows(controller)
    radios = _radio_rows(controller)
    noise_keys, noise_rows = [], []
    for ap in controller.aps:
        for i, radio in enumerate(ap.radios):
            for channel in sorted({*NOISE_CHANNELS[radio.band], radio.channel}):
                noise_keys.append((*ap.key, radio.slot, channel))
                noise_rows.append((ap, radio, i, channel))
    noise = Table(noise_keys, noise_rows)

    def joined_ap(fn: Callable[[ControllerAp, Context], bytes]) -> Value:
        return lambda ap, ctx: fn(ap, ctx) if ctx.joined(ap) else None

    def joined_radio(fn: Callable[[ControllerAp, SimRadio, RadioNow, Context], bytes]) -> Value:
        def value(row: Any, ctx: Context) -> bytes | None:
            ap, radio, i = row[0], row[1], row[2]
            return fn(ap, radio, ctx.radios(ap)[i], ctx) if ctx.joined(ap) else None
        return value

    def noise_value(row: Any, ctx: Context) -> bytes | None:
        ap, radio, i, channel = row
        if not ctx.joined(ap):
            return None
        now = ctx.radios(ap)[i]
        # the radio's own channel carries its noise (and any interference); the others a quieter floor
        return _int(now.noise_dbm if channel == radio.channel else radio.noise_dbm - 2)

    def connected(row: Any, ctx: Context) -> bytes:
        return _uint(GAUGE32, sum(1 for ap in controller.aps if ctx.joined(ap)))

    wlan = Table([(1,)], [controller])

    return [
        Column((*BSN_AP, 1), aps, joined_ap(lambda ap, ctx: _text(ap.mac))),  # bsnAPDot3MacAddress
        Column((*BSN_AP, 3), aps, joined_ap(lambda ap, ctx: _text(ap.name.encode()))),  # bsnAPName
        Column((*BSN_AP, 6), aps, joined_ap(lambda ap, ctx: _int(1))),  # bsnAPOperationStatus associated(1)
        Column((*CLAP, 5), aps, joined_ap(lambda ap, ctx: _text(ap.name.encode()))),  # cLApName
        Column((*CLAP, 6), aps, joined_ap(lambda ap, ctx: _uint(TIME_TICKS, ctx.live(ap).ticks))),  # cLApUpTime
        # cLApAssociatedClientCount (Unsigned32)
        Column((*CLAP, 54), aps, joined_ap(lambda ap, ctx: _uint(GAUGE32, ctx.clients(ap)))),
        # bsnDot11EssTable: the WLAN's SSID and its clients on every AP (Counter32, as the CBW240AC answers)
        Column((*BSN_DOT11_ESS, 2), wlan, lambda row, ctx: _text(SSID)),
        Column((*BSN_DOT11_ESS, 38), wlan, lambda row, ctx: _uint(
            COUNTER32, sum(ctx.clients(ap) for ap in controller.aps if ctx.joined(ap)))),
        Column((*BSN_AP_IF, 1), radios, joined_radio(lambda ap, r, now, ctx: _uint(GAUGE32, r.slot))),
        # bsnAPIfType: dot11b(1) is the 2.4 GHz radio, dot11a(2) the 5 GHz one
        Column((*BSN_AP_IF, 2), radios, joined_radio(lambda ap, r, now, ctx: _int(1 if r.band == BAND_2_4 else 2))),
        Column((*BSN_AP_IF, 4), radios, joined_radio(lambda ap, r, now, ctx: _int(r.channel))),  # ChannelNumber
        Column((*BSN_AP_IF, 6), radios, joined_radio(lambda ap, r, now, ctx: _int(_cisco_level(r)))),  # TxPowerLevel
        # bsnAPIfOperStatus: down(1), up(2)
        Column((*BSN_AP_IF, 12), radios, joined_radio(lambda ap, r, now, ctx: _int(2 if now.up else 1))),
        Column((*BSN_AP_IF, 15), radios, joined_radio(lambda ap, r, now, ctx: _uint(COUNTER32, now.clients))),
        # the radio's power levels in dBm, level 1 first (the CBW240AC answers "16,13,10,7,4,1,-1" here)
        Column((*BSN_AP_IF, 22), radios, joined_radio(
            lambda ap, r, now, ctx: _text(",".join(map(str, CISCO_POWER_LISTS[r.band])).encode()))),
        Column((*BSN_AP_IF_LOAD, 3), radios, joined_radio(lambda ap, r, now, ctx: _int(now.utilization_pct))),
        Column((*BSN_AP_IF_NOISE, 21), noise, noise_value),  # bsnAPIfDBNoisePower, per scanned channel
        Column(CLS_SYS_AP_CONNECT_COUNT, _scalar(controller), connected),
    ]


# Aruba Mobility Controller (WLSX-WLAN-MIB, WLSX-SWITCH-MIB; librenms/mibs/arubaos, and the arubaos
# recording for the radio table's INTEGER columns). wlanAPStatus and ArubaPhyType are ARUBA-TC enums.
WLSX_AP = (1, 3, 6, 1, 4, 1, 14823, 2, 2, 1, 5, 2, 1, 4, 1)
WLSX_RADIO = (1, 3, 6, 1, 4, 1, 14823, 2, 2, 1, 5, 2, 1, 5, 1)
WLSX_TOTAL_APS = (1, 3, 6, 1, 4, 1, 14823, 2, 2, 1, 1, 3, 1)  # wlsxSwitchTotalNumAccessPoints (Gauge32 recorded)
WLSX_TOTAL_STATIONS = (1, 3, 6, 1, 4, 1, 14823, 2, 2, 1, 1, 3, 2)
# wlsxWlanRadioTable's radio numbers, as the arubaos recording has them on all its 690 APs: radio 1 is the
# dot11a (5 GHz) one, radio 2 the dot11g (2.4 GHz) one; there is no radio 0.
ARUBA_RADIO_NUMBER = {BAND_5: 1, BAND_2_4: 2}


def _aruba(controller: SimController) -> list[Column]:
    aps = _ap_rows(controller)
    radios = _radio_rows(controller, lambda radio: ARUBA_RADIO_NUMBER[radio.band])

    def radio(fn: Callable[[ControllerAp, SimRadio, RadioNow, Context], bytes]) -> Value:
        return lambda row, ctx: fn(row[0], row[1], ctx.radios(row[0])[row[2]], ctx)

    def uptime(ap: ControllerAp, ctx: Context) -> bytes:  # since it bootstrapped with the controller; 0 while down
        return _uint(TIME_TICKS, ctx.live(ap).ticks if ctx.joined(ap) else 0)

    return [
        Column((*WLSX_AP, 3), aps, lambda ap, ctx: _text(ap.name.encode())),  # wlanAPName
        Column((*WLSX_AP, 12), aps, uptime),  # wlanAPUpTime
        Column((*WLSX_AP, 19), aps, lambda ap, ctx: _int(1 if ctx.joined(ap) else 2)),  # wlanAPStatus up(1) down(2)
        # wlanAPRadioType (ArubaPhyType): dot11a(1) for 5 GHz, dot11g(3) for 2.4 GHz
        Column((*WLSX_RADIO, 2), radios, radio(lambda ap, r, now, ctx: _int(1 if r.band == BAND_5 else 3))),
        Column((*WLSX_RADIO, 3), radios, radio(lambda ap, r, now, ctx: _int(r.channel))),
        Column((*WLSX_RADIO, 4), radios, radio(lambda ap, r, now, ctx: _int(r.tx_power_dbm * 2))),  # txpwr*2
        Column((*WLSX_RADIO, 6), radios, radio(lambda ap, r, now, ctx: _int(now.utilization_pct))),
        Column((*WLSX_RADIO, 7), radios, radio(lambda ap, r, now, ctx: _int(now.clients))),
        Column((*WLSX_RADIO, 16), radios, radio(lambda ap, r, now, ctx: _text(ap.name.encode()))),
        Column((*WLSX_RADIO, 17), radios, radio(lambda ap, r, now, ctx: _int(r.tx_power_dbm * 10))),  # txpwr*10
        Column(WLSX_TOTAL_STATIONS, _scalar(controller),
               lambda row, ctx: _uint(GAUGE32, sum(ctx.clients(ap) for ap in controller.aps))),
        Column(WLSX_TOTAL_APS, _scalar(controller),  # the APs up on the controller
               lambda row, ctx: _uint(GAUGE32, sum(1 for ap in controller.aps if ctx.joined(ap)))),
    ]


# Ruckus SmartZone (RUCKUS-SZ-WLAN-MIB ruckusSZAPTable; its MIB as compiled for pysnmp): no radio table.
RUCKUS_SZ_AP = (1, 3, 6, 1, 4, 1, 25053, 1, 4, 2, 1, 1, 2, 2, 1)
# RUCKUS-SZ-SYSTEM-MIB ruckusSZSystemStats (Unsigned32 scalars): NumAP, NumSta
RUCKUS_SZ_NUM_AP = (1, 3, 6, 1, 4, 1, 25053, 1, 4, 1, 1, 1, 15, 1)
RUCKUS_SZ_NUM_STA = (1, 3, 6, 1, 4, 1, 25053, 1, 4, 1, 1, 1, 15, 2)


def _ruckus(controller: SimController) -> list[Column]:
    aps = _ap_rows(controller)
    return [
        Column((*RUCKUS_SZ_AP, 1), aps, lambda ap, ctx: _text(ap.mac)),  # ruckusSZAPMac
        Column((*RUCKUS_SZ_AP, 5), aps, lambda ap, ctx: _text(ap.name.encode())),  # ruckusSZAPName
        Column((*RUCKUS_SZ_AP, 6), aps,
               lambda ap, ctx: _uint(TIME_TICKS, ctx.live(ap).ticks if ctx.joined(ap) else 0)),  # ruckusSZAPUptime
        Column((*RUCKUS_SZ_AP, 15), aps, lambda ap, ctx: _uint(GAUGE32, ctx.clients(ap))),  # ruckusSZAPNumSta
        # ruckusSZAPConnStatus (DisplayString): SmartZone's words
        Column((*RUCKUS_SZ_AP, 16), aps, lambda ap, ctx: _text(b"Connect" if ctx.joined(ap) else b"Disconnect")),
        # ruckusSZAPRXBytes / TXBytes (Counter64): what the AP received from its users (their upload) and
        # sent them (their download); the uplink's out and in
        Column((*RUCKUS_SZ_AP, 30), aps, lambda ap, ctx: _uint(COUNTER64, ctx.live(ap).out_octets & _M64)),
        Column((*RUCKUS_SZ_AP, 31), aps, lambda ap, ctx: _uint(COUNTER64, ctx.live(ap).in_octets & _M64)),
        Column(RUCKUS_SZ_NUM_AP, _scalar(controller),  # the APs connected now
               lambda row, ctx: _uint(GAUGE32, sum(1 for ap in controller.aps if ctx.joined(ap)))),
        Column(RUCKUS_SZ_NUM_STA, _scalar(controller),
               lambda row, ctx: _uint(GAUGE32, sum(ctx.clients(ap) for ap in controller.aps))),
    ]


# Huawei AC (HUAWEI-WLAN-AP-MIB hwWlanApTable, HUAWEI-WLAN-AP-RADIO-MIB hwWlanRadioInfoTable; librenms/mibs/huawei,
# and the AC6605 recording: radio 0 is 2.4 GHz, 1 is 5 GHz; WorkingChannel, ChUtilizationRate, ActualEIRP Gauge32).
HW_AP = (1, 3, 6, 1, 4, 1, 2011, 6, 139, 13, 3, 3, 1)
HW_RADIO = (1, 3, 6, 1, 4, 1, 2011, 6, 139, 16, 1, 2, 1)
HW_AP_COUNT = (1, 3, 6, 1, 4, 1, 2011, 6, 139, 12, 1, 2, 1)
HW_NORMAL, HW_FAULT = 8, 4  # hwWlanApRunState normal(8), fault(4)


def _huawei(controller: SimController) -> list[Column]:
    aps = _ap_rows(controller)
    radios = _radio_rows(controller)

    def radio(fn: Callable[[ControllerAp, SimRadio, RadioNow, Context], bytes]) -> Value:
        return lambda row, ctx: fn(row[0], row[1], ctx.radios(row[0])[row[2]], ctx)

    def share(ap: ControllerAp, r: SimRadio, octets: int) -> int:
        return int(octets * r.share) & _M64

    return [
        Column((*HW_AP, 4), aps, lambda ap, ctx: _text(ap.name.encode())),  # hwWlanApName
        Column((*HW_AP, 6), aps, lambda ap, ctx: _int(HW_NORMAL if ctx.joined(ap) else HW_FAULT)),  # RunState
        # hwWlanApRunTime (Unsigned32): "the running time of an AP. Unit: tick", hundredths of a second as
        # TimeTicks count them (0 while the AP is off the AC)
        Column((*HW_AP, 18), aps, lambda ap, ctx: _uint(GAUGE32, ctx.live(ap).ticks if ctx.joined(ap) else 0)),
        Column((*HW_AP, 44), aps, lambda ap, ctx: _uint(GAUGE32, ctx.clients(ap))),  # hwWlanApOnlineUserNum
        # hwWlanApUpPortRecvBytes / SendBytes (Counter64): the AP's upstream port, received (the users' download,
        # the uplink's in) and sent (their upload)
        Column((*HW_AP, 65), aps, lambda ap, ctx: _uint(COUNTER64, ctx.live(ap).in_octets & _M64)),
        Column((*HW_AP, 66), aps, lambda ap, ctx: _uint(COUNTER64, ctx.live(ap).out_octets & _M64)),
        Column((*HW_RADIO, 3), radios, radio(lambda ap, r, now, ctx: _text(ap.name.encode()))),  # InfoApName
        # hwWlanRadioFreqType: frequency2G(1), frequency5G(2)
        Column((*HW_RADIO, 5), radios, radio(lambda ap, r, now, ctx: _int(1 if r.band == BAND_2_4 else 2))),
        # hwWlanRadioRunState: up(1), down(2)
        Column((*HW_RADIO, 6), radios, radio(lambda ap, r, now, ctx: _int(1 if now.up else 2))),
        Column((*HW_RADIO, 7), radios, radio(lambda ap, r, now, ctx: _uint(GAUGE32, r.channel))),  # WorkingChannel
        Column((*HW_RADIO, 9), radios, radio(lambda ap, r, now, ctx: _uint(GAUGE32, r.tx_power_dbm))),  # WorkingPower
        # hwWlanRadioNoise (dBm; 0 is "invalid", what a radio that is down reports)
        Column((*HW_RADIO, 24), radios, radio(lambda ap, r, now, ctx: _int(now.noise_dbm if now.up else 0))),
        Column((*HW_RADIO, 25), radios, radio(lambda ap, r, now, ctx: _uint(GAUGE32, now.utilization_pct))),
        Column((*HW_RADIO, 31), radios, radio(  # hwWlanRadioRcvBytes: the users' upload on this radio
            lambda ap, r, now, ctx: _uint(COUNTER64, share(ap, r, ctx.live(ap).out_octets)))),
        Column((*HW_RADIO, 36), radios, radio(  # hwWlanRadioSendBytes: their download
            lambda ap, r, now, ctx: _uint(COUNTER64, share(ap, r, ctx.live(ap).in_octets)))),
        Column((*HW_RADIO, 40), radios, radio(lambda ap, r, now, ctx: _uint(GAUGE32, now.clients))),  # OnlineStaCnt
        Column((*HW_RADIO, 45), radios, radio(lambda ap, r, now, ctx: _uint(GAUGE32, r.tx_power_dbm + 3))),  # EIRP
        Column(HW_AP_COUNT, _scalar(controller),
               lambda row, ctx: _int(sum(1 for ap in controller.aps if ctx.joined(ap)))),
    ]


def _family(name: str, descr: bytes, sys_object_id: Oid, port: str) -> Family:
    return Family(name, name, descr, sys_object_id, _ports(port), hr_uptime=False, extra=())


VENDORS: dict[str, Vendor] = {v.name: v for v in (
    Vendor("cisco_aireos", "Cisco AireOS WLC",
           _family("cisco_aireos", b"Cisco Controller", (1, 3, 6, 1, 4, 1, 9, 1, 1069), "Gigabit Ethernet 1"),
           _cisco),
    Vendor("aruba_mc", "Aruba Mobility Controller",
           _family("aruba_mc", b"ArubaOS (MODEL: Aruba7210), Version 8.10.0.7",
                   (1, 3, 6, 1, 4, 1, 14823, 1, 1, 9999), "GE0/0/0"),
           _aruba),
    Vendor("ruckus_sz", "Ruckus SmartZone",
           _family("ruckus_sz", b"SmartZone 100", (1, 3, 6, 1, 4, 1, 25053, 3, 1, 11, 1), "Port1"),
           _ruckus),
    Vendor("huawei_ac", "Huawei AC",
           _family("huawei_ac", b"Huawei AC6605-26-PWR Huawei Versatile Routing Platform Software VRP (R) software,"
                                b"Version 5.170 (AC6605-26-PWR V200R019C10SPC300)",
                   (1, 3, 6, 1, 4, 1, 2011, 2, 240, 6), "GigabitEthernet0/0/1"),
           _huawei),
)}
# Cisco's slots and Huawei's radio ids number the 2.4 GHz radio 0 and the 5 GHz one 1 (SimRadio.slot); Aruba's
# radio numbers are 1 (5 GHz) and 2 (2.4 GHz), as the arubaos recording numbers them (ARUBA_RADIO_NUMBER).
_TREES: dict[str, ObjectTree] = {}


class SimController:
    """One controller: its vendor, its managed APs, and the MIB it answers (its own tree + virtual tables)."""

    def __init__(self, controller_id: str, vendor: str, aps: Sequence[ControllerAp], *, index: int = 0) -> None:
        if vendor not in VENDORS:
            raise ValueError(f"unknown controller vendor {vendor!r}; one of {', '.join(VENDORS)}")
        self.id = controller_id
        self.vendor = VENDORS[vendor]
        self.index = index
        self.aps = list(aps)
        keys = [ap.key for ap in self.aps]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{controller_id}: two managed APs share a MAC")
        self.mib = VirtualMib(self.vendor.build(self))
        if vendor not in _TREES:
            _TREES[vendor] = build_tree(self.vendor.family)
        self.tree = _TREES[vendor]
        self.by_name = {ap.name: ap for ap in self.aps}

    def radio_frequency(self, radio: SimRadio) -> int | None:
        return channel_to_mhz(radio.channel, radio.band)


# -- building controllers -------------------------------------------------------------------------

VENDOR_ORDER = ("cisco_aireos", "aruba_mc", "ruckus_sz", "huawei_ac")  # a city's mix, in the order handed out
CONTROLLER_MAX_RESPONSE = 16_384  # GETBULK answers of a controller stop growing here (the requester's
# max-repetitions usually stops them first); an AP's own agent stops at one Ethernet frame
CONTROLLER_LINK_MBPS = 10_000


def managed_aps(sims: Sequence[Any], *, controller_index: int, seed: int,
                names: Sequence[str] | None = None) -> list[ControllerAp]:
    """The ``SimAp``s (traffic, boots, faults) as the APs of one controller: a MAC each, two radios each,
    named as the inventory names them (their ids) unless ``names`` says otherwise."""
    out = []
    for position, sim in enumerate(sims):
        rng = random.Random(f"{seed}:radios:{sim.id}")
        name = names[position] if names is not None else sim.id
        out.append(ControllerAp(sim, name, mac_for(controller_index, position), plan_radios(rng)))
    return out


def controller_agent(controller: SimController, clock: Any, *, index: int, community: bytes | None,
                     faults: Any = None) -> Any:
    """The ``SimAp`` that serves ``controller`` at ``address_of(index)``: its own uptime and uplink counters
    (a 10 Gb/s trunk carrying a city district), and the controller's tables."""
    from hotspotctl.simulate.agent import SimAp, engine_id_for
    from hotspotctl.simulate.simulator import EPOCH
    from hotspotctl.simulate.traffic import traffic_model

    rng = random.Random(f"controller:{controller.id}")
    model = traffic_model(None, CONTROLLER_LINK_MBPS, (rng.random(), rng.random(), rng.random()),
                          clients_factor=max(1.0, len(controller.aps) / 4))
    period = 400 * 86_400.0  # controllers reboot rarely
    return SimAp(index=index, id=controller.id, tree=controller.tree, traffic=model, link_mbps=CONTROLLER_LINK_MBPS,
                 boot_phase=EPOCH + rng.random() * period, boot_period_s=period, base_in=0, base_out=0,
                 community=community, v3=False, engine_id=engine_id_for(index), location=b"",
                 faults=faults, controller=controller, max_response=CONTROLLER_MAX_RESPONSE)
