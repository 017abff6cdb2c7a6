"""The simulated standalone APs' radio tables, walked by our own walker over UDP on loopback.

One simulator process serves 72 APs (every family). Per family, three APs are picked: a healthy one,
one with its 5 GHz radio down and one suffering interference (the scenario's radio_down and
interference faults, fixed from the start), plus a crowded AP (four times its usual clients). Every
radio object is checked against the MIB's type and the AP's own plan and clients at the instants
around the walk (``agent.radio_plans``, ``agent.live``); then our discovery and ``read_device_radios``
read them through the profiles' radios sections (TEST-ONLY copies in tests/fixtures/profiles-simradios
of what the vendor profiles read).
"""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.collectors.codec import COUNTER32, GET, INTEGER, NULL, OCTET_STRING, decode_response, encode_response
from hotspotctl.collectors.model import Discovery, Sample
from hotspotctl.collectors.oids import Oid, decode_oid, format_oid, parse_oid
from hotspotctl.collectors.poller import Poller, Target
from hotspotctl.collectors.profiles import ProfileSet, load_profiles
from hotspotctl.collectors.tables import read_controller, read_device_radios
from hotspotctl.collectors.walker import WalkerClient
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.models.access_points import AccessPoint, Site
from hotspotctl.models.radios import BAND_2_4, BAND_5, ControllerReading, Radio, format_mac
from hotspotctl.settings import Settings
from hotspotctl.simulate.agent import (
    CHANNELS_2_4,
    CHANNELS_5,
    Live,
    RadioPlan,
    SimAp,
    address_of,
    live,
    radio_plans,
    radio_utilization,
    traffic_mbps,
)
from hotspotctl.simulate.devices import (
    AI_AP,
    AI_AP_MAC,
    AI_RADIO,
    FAMILIES,
    IF_ENTRY,
    MTXR_WL_AP,
    UNIFI_RADIO,
    UNIFI_VAP,
)
from hotspotctl.simulate.scenario import ApFaults, Window, load_scenario, resolve
from hotspotctl.simulate.simulator import Simulator, build_fleet
from hotspotctl.simulate.traffic import Clock
from tests.conftest import write
from tests.servers import free_udp_port

SEED = 1717
COMMUNITY = b"public"
TRANSPORTE = "Transporte (Metrobus, Cablebus, Tren Ligero, Trolebus, etc.)"
PROGRAMS = (TRANSPORTE, "Unidades Habitacionales", "Poste C5")
FOREVER = Window(0.0, math.inf)
INTERFERENCE = (45.0, 12.0)  # utilisation points, noise dB
TEST_PROFILES = Path(__file__).resolve().parents[1] / "fixtures" / "profiles-simradios"
PROFILES = load_profiles([TEST_PROFILES])
RADIO_FAMILIES = ("unifi", "mikrotik", "aruba_instant")
IF_OPER = (*IF_ENTRY, 8)
AI_KEY = tuple(AI_AP_MAC)


def inventory(count: int) -> list[AccessPoint]:
    return [AccessPoint(f"AP-{i:03d}", 19.4 + i * 1e-4, -99.1, program=PROGRAMS[i % len(PROGRAMS)],
                        district="Cuauhtémoc", site_id=f"s{i:03d}") for i in range(count)]


@dataclass
class City:
    clock: Clock
    port: int
    by_id: dict[str, SimAp]
    picks: dict[str, dict[str, str]]  # family -> role (healthy, down, noisy, crowded) -> AP id

    def address(self, ap_id: str) -> str:
        return address_of(self.by_id[ap_id].index)

    def live(self, ap_id: str, t: float) -> Live:
        return live(self.by_id[ap_id], self.clock, t)


@pytest.fixture(scope="module")
def city() -> Iterator[City]:
    clock = Clock.starting(time.time(), start_hour=18.5)  # evening: transport and housing busy
    aps = inventory(72)
    plain = build_fleet(aps, clock, seed=SEED, community=COMMUNITY)
    picks: dict[str, dict[str, str]] = {}
    faults: dict[str, ApFaults] = {}
    for family in FAMILIES:
        members = [ap.id for ap in plain if ap.family == family and
                   next(a for a in aps if a.id == ap.id).program == TRANSPORTE]
        assert len(members) >= 4, family
        healthy, down, noisy, crowded = members[:4]
        quiet = next(ap.id for ap, a in zip(plain, aps, strict=True) if ap.family == family and a.program == "Poste C5")
        picks[family] = {"healthy": healthy, "down": down, "noisy": noisy, "crowded": crowded, "quiet": quiet}
        faults[down] = ApFaults(radio_down=((BAND_5, FOREVER),))
        faults[noisy] = ApFaults(interference=((FOREVER, *INTERFERENCE),))
        faults[crowded] = ApFaults(clients_factor=4.0)
    fleet = build_fleet(aps, clock, seed=SEED, community=COMMUNITY, faults=faults)
    assert [ap.family for ap in fleet] == [ap.family for ap in plain]
    port = free_udp_port()
    with Simulator(fleet, clock, port=port, processes=1, seed=SEED) as sim:
        assert sim.alive()
        yield City(clock, port, {ap.id: ap for ap in fleet}, picks)


# --- reading ------------------------------------------------------------------------------------


def walk(city: City, ap_id: str, columns: Sequence[Oid]) -> tuple[dict[Oid, Any], float, float]:
    """Every column walked together with our walker (GETBULKs shared); OID -> value, and the instants around."""
    async def run() -> list[list[tuple[Oid, Any]]]:
        with WalkerClient(timeout_s=0.5, retries=1, deadline_s=3.0) as walker:
            device = walker.device(city.address(ap_id), city.port, COMMUNITY)
            return list(await asyncio.gather(*(device.walk(column) for column in columns)))

    before = time.time()
    rows = asyncio.run(run())
    return {oid: value for column in rows for oid, value in column}, before, time.time()


def tags(city: City, ap_id: str, oids: Sequence[Oid]) -> dict[Oid, int]:
    """The ASN.1 tag of each object, from one raw GET on our codec."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.settimeout(2.0)
        sock.sendto(encode_response(COMMUNITY, 4242, [(oid, NULL, None) for oid in oids], pdu_type=GET),
                    (city.address(ap_id), city.port))
        response = decode_response(sock.recvfrom(65535)[0])
    finally:
        sock.close()
    return {decode_oid(raw): tag for raw, tag, _ in response.varbinds}


def read_radios(city: City, ap_id: str, profiles: ProfileSet = PROFILES
                ) -> tuple[Discovery, tuple[Radio, ...], int, float, float]:
    """Our discovery, one poll of the AP (its client total and radios, from the instances discovery fixed,
    in the AP's one GET), then read_device_radios (a walk of the radio table): the poll's radios must be
    the walk's."""
    settings = Settings().snmp
    target = Target(ap_id, f"{city.address(ap_id)}:{city.port}", "default")

    async def run() -> tuple[Discovery, tuple[Radio, ...], Sample]:
        with Poller(settings, profiles) as poller:
            found = (await poller.discover([target]))[ap_id]
            assert isinstance(found, Discovery), found
            results, _ = await poller.poll([(target, found, False)])
        sample = results[0]
        assert isinstance(sample, Sample), sample
        with WalkerClient(timeout_s=0.5, retries=1, deadline_s=3.0) as walker:
            device = walker.device(city.address(ap_id), city.port, COMMUNITY)
            names = {i.if_index: i.name for i in found.radios}
            radios = await read_device_radios(device, profiles.get(found.profile), names)
        return found, radios, sample

    before = time.time()
    found, radios, sample = asyncio.run(run())
    after = time.time()
    assert sample.clients is not None
    steady_clients(city, ap_id, before, after)  # so the poll and the walk saw the same instant's figures
    if profiles.get(found.profile).radios is None:  # no radio table: the IF-MIB radio interfaces
        assert radios == ()
        return found, sample.radios, sample.clients, before, after
    assert sample.radios == radios
    return found, radios, sample.clients, before, after


def steady_clients(city: City, ap_id: str, before: float, after: float) -> int:
    """The AP's clients over the window (the traffic model moves slowly: the same at both ends)."""
    first, last = city.live(ap_id, before).clients, city.live(ap_id, after).clients
    assert first == last, "the clients changed during the read: rerun"
    return first


def split(total: int, plans: Sequence[RadioPlan]) -> list[int]:
    """The clients of each radio: the ports' shares, rounded, the last radio taking the rest."""
    out = [round(total * p.share) for p in plans[:-1]]
    return [*out, total - sum(out)]


def utils(city: City, ap_id: str, before: float, after: float, plan: RadioPlan, clients: int,
          add: float = 0.0) -> set[int]:
    """The radio's utilisation by the model at both ends of the read (its traffic moves with the time of day,
    slowly: almost always one value; two only when the read straddles a rounding boundary)."""
    ap = city.by_id[ap_id]
    return {radio_utilization(plan, clients, traffic_mbps(ap, city.live(ap_id, t)), add) for t in (before, after)}


def util(city: City, ap_id: str, before: float, plan: RadioPlan, clients: int, add: float = 0.0) -> int:
    """The radio's utilisation by the model at the start of the read."""
    return radio_utilization(plan, clients, traffic_mbps(city.by_id[ap_id], city.live(ap_id, before)), add)


def settle(got: dict[Oid, Any], expected: dict[Oid, tuple[int, Any]], allowed: dict[Oid, set[int]]) -> None:
    """Take the served utilisation where it is one of the model's values over the read (see utils)."""
    for oid, values in allowed.items():
        if got.get(oid) in values:
            expected[oid] = (expected[oid][0], got[oid])


def check_plan(plans: Sequence[RadioPlan], bands: Sequence[str]) -> None:
    assert [p.band for p in plans] == list(bands)
    for plan in plans:
        assert plan.channel in (CHANNELS_2_4 if plan.band == BAND_2_4 else CHANNELS_5)
        assert -95 <= plan.noise_dbm <= -85
        assert (10 <= plan.tx_power_dbm <= 20) if plan.band == BAND_2_4 else (14 <= plan.tx_power_dbm <= 23)


def column(prefix: str, number: int) -> Oid:
    return (*parse_oid(prefix), number)


# --- the MIB objects, walked --------------------------------------------------------------------


def test_unifi_radio_and_vap_tables(city: City) -> None:
    ap_id = city.picks["unifi"]["healthy"]
    radio_columns = [column(UNIFI_RADIO, n) for n in (2, 3, 6, 7, 8, 9)]
    vap_columns = [column(UNIFI_VAP, n) for n in (2, 4, 6, 7, 8, 9, 21, 22)]
    got, before, after = walk(city, ap_id, radio_columns + vap_columns)
    plans = radio_plans(city.by_id[ap_id])
    check_plan(plans, (BAND_2_4, BAND_5))
    clients = split(steady_clients(city, ap_id, before, after), plans)
    expected: dict[Oid, tuple[int, Any]] = {}
    allowed_total: dict[Oid, set[int]] = {}
    for row, (plan, name, radio, vap) in enumerate(zip(plans, (b"wifi0", b"wifi1"), (b"ng", b"na"),
                                                       (b"ra0", b"rai0"), strict=True), start=1):
        total = util(city, ap_id, before, plan, clients[row - 1])
        allowed_total[(*column(UNIFI_RADIO, 6), row)] = utils(city, ap_id, before, after, plan, clients[row - 1])
        other = round(plan.base_util_pct)
        own = total - other
        expected |= {
            (*column(UNIFI_RADIO, 2), row): (OCTET_STRING, name),
            (*column(UNIFI_RADIO, 3), row): (OCTET_STRING, radio),
            (*column(UNIFI_RADIO, 6), row): (INTEGER, total),  # unifiRadioCuTotal
            (*column(UNIFI_RADIO, 7), row): (INTEGER, own * 2 // 5),  # CuSelfRx
            (*column(UNIFI_RADIO, 8), row): (INTEGER, own - own * 2 // 5),  # CuSelfTx
            (*column(UNIFI_RADIO, 9), row): (INTEGER, other),  # OtherBss
            (*column(UNIFI_VAP, 2), row): (OCTET_STRING, bytes((0x26, 0x5A, 0x4C, 0, 0, row + 2))),
            (*column(UNIFI_VAP, 4), row): (INTEGER, plan.channel),
            (*column(UNIFI_VAP, 6), row): (OCTET_STRING, b"CDMX Internet para Todos"),
            (*column(UNIFI_VAP, 7), row): (OCTET_STRING, vap),
            (*column(UNIFI_VAP, 8), row): (INTEGER, clients[row - 1]),  # unifiVapNumStations
            (*column(UNIFI_VAP, 9), row): (OCTET_STRING, radio),
            (*column(UNIFI_VAP, 21), row): (INTEGER, plan.tx_power_dbm),
            (*column(UNIFI_VAP, 22), row): (INTEGER, 1),  # unifiVapUp: true(1)
        }
    for oid, values in allowed_total.items():  # the parts follow the total the agent served
        row = oid[-1]
        if got.get(oid) in values:
            own = got[oid] - round(radio_plans(city.by_id[ap_id])[row - 1].base_util_pct)
            expected[oid] = (INTEGER, got[oid])
            expected[(*column(UNIFI_RADIO, 7), row)] = (INTEGER, own * 2 // 5)
            expected[(*column(UNIFI_RADIO, 8), row)] = (INTEGER, own - own * 2 // 5)
    assert got == {oid: value for oid, (_, value) in expected.items()}
    assert tags(city, ap_id, list(expected)) == {oid: tag for oid, (tag, _) in expected.items()}
    assert sum(clients) == city.live(ap_id, before).clients


def test_mikrotik_wireless_ap_table(city: City) -> None:
    ap_id = city.picks["mikrotik"]["healthy"]
    got, before, after = walk(city, ap_id, [column(MTXR_WL_AP, n) for n in range(4, 12)])
    plans = radio_plans(city.by_id[ap_id])
    check_plan(plans, (BAND_2_4, BAND_5))
    clients = split(steady_clients(city, ap_id, before, after), plans)
    expected: dict[Oid, tuple[int, Any]] = {}
    for if_index, plan, count in zip((2, 3), plans, clients, strict=True):
        mhz = 2407 + 5 * plan.channel if plan.band == BAND_2_4 else 5000 + 5 * plan.channel
        mode = "20-Ce/gn" if plan.band == BAND_2_4 else "20-Ceee/ac"
        expected |= {
            (*column(MTXR_WL_AP, 4), if_index): (OCTET_STRING, b"CDMX Internet para Todos"),
            (*column(MTXR_WL_AP, 5), if_index): (OCTET_STRING, bytes((0x26, 0x5A, 0x4C, 0, 0, if_index))),
            (*column(MTXR_WL_AP, 6), if_index): (COUNTER32, count),  # mtxrWlApClientCount
            (*column(MTXR_WL_AP, 7), if_index): (INTEGER, mhz),  # mtxrWlApFreq
            (*column(MTXR_WL_AP, 8), if_index): (OCTET_STRING, f"{mhz}/{mode}({plan.tx_power_dbm}dBm)".encode()),
            (*column(MTXR_WL_AP, 9), if_index): (INTEGER, plan.noise_dbm),  # mtxrWlApNoiseFloor
            (*column(MTXR_WL_AP, 10), if_index): (COUNTER32, 88),  # mtxrWlApOverallTxCCQ
            (*column(MTXR_WL_AP, 11), if_index): (COUNTER32, count),  # mtxrWlApAuthClientCount
        }
    assert got == {oid: value for oid, (_, value) in expected.items()}
    assert tags(city, ap_id, list(expected)) == {oid: tag for oid, (tag, _) in expected.items()}
    assert sum(clients) == city.live(ap_id, before).clients


def test_aruba_instant_ap_and_radio_tables(city: City) -> None:
    ap_id = city.picks["aruba_instant"]["healthy"]
    ap_columns = [column(AI_AP, n) for n in (1, 2, 4, 5, 6, 9, 11)]
    radio_columns = [column(AI_RADIO, n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 20, 21, 22)]
    got, before, after = walk(city, ap_id, ap_columns + radio_columns)
    plans = radio_plans(city.by_id[ap_id])
    check_plan(plans, (BAND_5, BAND_2_4))  # radio 0 is the 5 GHz radio
    clients = split(steady_clients(city, ap_id, before, after), plans)
    uptime = got.pop((*column(AI_AP, 9), *AI_KEY))  # aiAPUptime, TimeTicks
    assert city.live(ap_id, before).ticks <= uptime <= city.live(ap_id, after).ticks
    expected: dict[Oid, tuple[int, Any]] = {
        (*column(AI_AP, 1), *AI_KEY): (OCTET_STRING, AI_AP_MAC),
        (*column(AI_AP, 2), *AI_KEY): (OCTET_STRING, ap_id.encode()),  # aiAPName
        (*column(AI_AP, 4), *AI_KEY): (OCTET_STRING, f"CNSIM{city.by_id[ap_id].index:05d}".encode()),
        (*column(AI_AP, 5), *AI_KEY): (0x06, FAMILIES["aruba_instant"].sys_object_id),
        (*column(AI_AP, 6), *AI_KEY): (OCTET_STRING, b"515"),
        (*column(AI_AP, 11), *AI_KEY): (INTEGER, 1),  # aiAPStatus up(1)
    }
    allowed: dict[Oid, set[int]] = {}
    for number, (plan, count, port) in enumerate(zip(plans, clients, (50, 70), strict=True)):
        key = (*AI_KEY, number)
        channel = f"{plan.channel}{'E' if plan.band == BAND_5 and plan.channel != 165 else ''}".encode()
        expected |= {
            (*column(AI_RADIO, 1), *key): (OCTET_STRING, AI_AP_MAC),
            (*column(AI_RADIO, 2), *key): (INTEGER, number),
            (*column(AI_RADIO, 3), *key): (OCTET_STRING, bytes((0x26, 0x5A, 0x4C, 0, 0, port))),
            (*column(AI_RADIO, 4), *key): (OCTET_STRING, channel),  # aiRadioChannel, DisplayString
            (*column(AI_RADIO, 5), *key): (INTEGER, plan.tx_power_dbm),
            (*column(AI_RADIO, 6), *key): (INTEGER, -plan.noise_dbm),  # aiRadioNoiseFloor, without its sign
            (*column(AI_RADIO, 7), *key): (INTEGER, util(city, ap_id, before, plan, count)),
            (*column(AI_RADIO, 8), *key): (INTEGER, util(city, ap_id, before, plan, count)),  # aiRadioUtilization64
            (*column(AI_RADIO, 20), *key): (INTEGER, 1),  # aiRadioStatus up(1)
            (*column(AI_RADIO, 21), *key): (INTEGER, count),  # aiRadioClientNum
            (*column(AI_RADIO, 22), *key): (OCTET_STRING, b"access"),
        }
        allowed |= {(*column(AI_RADIO, n), *key): utils(city, ap_id, before, after, plan, count) for n in (7, 8)}
    settle(got, expected, allowed)
    assert got == {oid: value for oid, (_, value) in expected.items()}
    types = tags(city, ap_id, [*expected, (*column(AI_AP, 9), *AI_KEY)])
    assert types.pop((*column(AI_AP, 9), *AI_KEY)) == 0x43  # TimeTicks
    assert types == {oid: tag for oid, (tag, _) in expected.items()}
    assert sum(clients) == city.live(ap_id, before).clients


def test_generic_aps_have_no_vendor_radio_table(city: City) -> None:
    ap_id = city.picks["generic"]["healthy"]
    got, _, _ = walk(city, ap_id, [(1, 3, 6, 1, 4, 1), IF_OPER])
    assert got == {(*IF_OPER, i): 1 for i in (1, 2, 3, 4)}  # nothing under enterprises; every port up


# --- through the profiles -------------------------------------------------------------------------


@pytest.mark.parametrize("family", RADIO_FAMILIES)
def test_discovery_and_read_device_radios(city: City, family: str) -> None:
    ap_id = city.picks[family]["healthy"]
    found, radios, total, before, after = read_radios(city, ap_id)
    assert found.profile == FAMILIES[family].profile
    plans = radio_plans(city.by_id[ap_id])
    clients = split(steady_clients(city, ap_id, before, after), plans)
    assert total == sum(clients) == sum(r.clients or 0 for r in radios)  # the client total is unchanged
    assert len(radios) == 2
    by_band = {r.band: r for r in radios}
    assert set(by_band) == {BAND_2_4, BAND_5}
    for plan, count in zip(plans, clients, strict=True):
        radio = by_band[plan.band]
        assert radio.clients == count and radio.oper_up is True
        assert radio.frequency_mhz == (2407 if plan.band == BAND_2_4 else 5000) + 5 * plan.channel
        if family == "mikrotik":  # mtxrWlApTable has no channel or utilisation column
            assert (radio.name, radio.if_index, radio.channel, radio.utilization_pct) == (
                {BAND_2_4: "wlan1", BAND_5: "wlan2"}[plan.band], {BAND_2_4: 2, BAND_5: 3}[plan.band], None, None)
        else:
            assert radio.channel == plan.channel
            assert radio.utilization_pct in utils(city, ap_id, before, after, plan, count)
        if family == "unifi":  # UBNT-UniFi-MIB has no noise floor
            assert radio.name == {BAND_2_4: "ng", BAND_5: "na"}[plan.band] and radio.noise_floor_dbm is None
        else:
            assert radio.noise_floor_dbm == plan.noise_dbm
        if family == "aruba_instant":
            assert radio.name == {BAND_5: "Radio 0", BAND_2_4: "Radio 1"}[plan.band]
        assert radio.tx_power_dbm == plan.tx_power_dbm


@pytest.mark.parametrize("family", RADIO_FAMILIES)
def test_the_shipped_profiles_read_the_simulated_radios(city: City, family: str) -> None:
    """The profiles as shipped: with a radios section, two radios on their bands whose clients add up to
    the AP's total; without one, the IF-MIB radio interfaces discovery chose."""
    shipped = load_profiles([])
    ap_id = city.picks[family]["healthy"]
    found, radios, total, before, after = read_radios(city, ap_id, shipped)
    assert found.profile == FAMILIES[family].profile
    ports = [p for p in FAMILIES[family].ports if p.role == "radio"]
    if shipped.get(found.profile).radios is None:
        assert radios == tuple(Radio(p.name, if_index=p.index, oper_up=True) for p in ports)
        return
    plans = radio_plans(city.by_id[ap_id])
    clients = split(steady_clients(city, ap_id, before, after), plans)
    assert len(radios) == len(ports) == 2
    by_band = {r.band: r for r in radios}
    assert set(by_band) == {BAND_2_4, BAND_5}
    assert total == sum(clients) == sum(r.clients or 0 for r in radios)
    for plan, count in zip(plans, clients, strict=True):
        radio = by_band[plan.band]
        assert radio.clients == count
        assert radio.frequency_mhz == (2407 if plan.band == BAND_2_4 else 5000) + 5 * plan.channel
        assert radio.channel in (None, plan.channel)
        assert radio.utilization_pct is None or radio.utilization_pct in utils(city, ap_id, before, after, plan, count)
        assert radio.noise_floor_dbm in (None, plan.noise_dbm)
        assert radio.tx_power_dbm in (None, plan.tx_power_dbm)
        assert radio.oper_up is True  # unifi: any of its VAPs up (unifiVapUp); mikrotik, aruba: the radio's own


def test_an_instant_ap_is_a_one_ap_virtual_controller(city: City) -> None:
    """aruba_instant's controller section (aiAPTable, aiRadioTable) reads the simulated Instant AP as the
    only AP of its cluster, with the radios the standalone read gives."""
    ap_id = city.picks["aruba_instant"]["healthy"]

    async def run() -> ControllerReading:
        with WalkerClient(timeout_s=0.5, retries=1, deadline_s=3.0) as walker:
            device = walker.device(city.address(ap_id), city.port, COMMUNITY)
            return await read_controller(device, PROFILES.get("aruba_instant"))

    before = time.time()
    reading = asyncio.run(run())
    after = time.time()
    _, radios, _, _, _ = read_radios(city, ap_id)
    steady_clients(city, ap_id, before, time.time())
    assert reading.ap_count == 1 and len(reading.aps) == 1
    (ap,) = reading.aps
    assert (ap.name, ap.mac, ap.joined, ap.reason) == (ap_id, format_mac(AI_AP_MAC), True, None)
    assert ap.uptime_s is not None
    assert city.live(ap_id, before).ticks / 100 <= ap.uptime_s <= city.live(ap_id, after).ticks / 100
    assert ap.radios == radios


def test_busy_aps_run_their_radios_hot(city: City) -> None:
    """Utilisation follows the traffic: a crowded transport AP (four times its clients) is above 70 % on both
    radios, a street pole's well below, an ordinary transport AP at rush hour in between."""
    for family in ("unifi", "aruba_instant"):  # MIKROTIK-MIB has no utilisation column
        figures = {}
        for role in ("crowded", "healthy", "quiet"):
            radios = read_radios(city, city.picks[family][role])[1]
            figures[role] = {r.band: r.utilization_pct for r in radios}
        for band in (BAND_2_4, BAND_5):
            hot, busy, calm = (figures[role][band] for role in ("crowded", "healthy", "quiet"))
            assert hot is not None and busy is not None and calm is not None
            assert hot >= 70 > calm and hot >= busy > calm, (family, band, figures)


# --- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", RADIO_FAMILIES)
def test_radio_down(city: City, family: str) -> None:
    """The 5 GHz radio is down: no clients on it, no airtime, ifOperStatus down; 2.4 GHz as ever; the
    AP's client total is what the 2.4 GHz radio keeps."""
    ap_id = city.picks[family]["down"]
    found, radios, total, before, after = read_radios(city, ap_id)
    plans = radio_plans(city.by_id[ap_id])
    clients = dict(zip((p.band for p in plans), split(steady_clients(city, ap_id, before, after), plans),
                       strict=True))
    by_band = {r.band: r for r in radios if r.band is not None}
    two = by_band[BAND_2_4]
    assert two.oper_up is True and two.clients == clients[BAND_2_4] == total > 0
    five = next(r for r in radios if r is not two)
    assert five.oper_up is False and five.clients == 0
    if family != "mikrotik":
        assert five.utilization_pct == 0
    else:  # RouterOS leaves a disabled interface's frequency and noise floor at 0: not said
        assert (five.frequency_mhz, five.noise_floor_dbm, five.band) == (None, None, None)
    port = {"unifi": 4, "mikrotik": 3, "aruba_instant": 50}[family]
    got, _, _ = walk(city, ap_id, [IF_OPER])
    radio_ports = [p.index for p in FAMILIES[family].ports if p.role == "radio"]
    assert {i: got[(*IF_OPER, i)] for i in radio_ports} == {i: 2 if i == port else 1 for i in radio_ports}
    assert [r.name for r in found.radios] == [p.name for p in FAMILIES[family].ports if p.role == "radio"]


def test_radio_down_on_a_generic_ap_is_its_interface(city: City) -> None:
    generic = [ap for ap in city.by_id.values() if ap.family == "generic"]
    ap = generic[0]
    ap.faults = ApFaults(radio_down=((BAND_5, FOREVER),))  # in this process only: the agent's answer, no socket
    try:
        from hotspotctl.simulate.agent import Responder

        responder = Responder([ap], city.clock)
        query = encode_response(COMMUNITY, 7, [((*IF_OPER, i), NULL, None) for i in (3, 4)], pdu_type=GET)
        reply = responder.answer(query, 0, time.time())
        assert reply is not None
        assert [value for _, _, value in decode_response(reply).varbinds] == [1, 2]  # wlan0 up, wlan1 down
    finally:
        ap.faults = None


@pytest.mark.parametrize("family", RADIO_FAMILIES)
def test_interference(city: City, family: str) -> None:
    """Interference adds its utilisation points and raises the noise floor, on both radios."""
    ap_id = city.picks[family]["noisy"]
    _, radios, total, before, after = read_radios(city, ap_id)
    plans = radio_plans(city.by_id[ap_id])
    clients = split(steady_clients(city, ap_id, before, after), plans)
    assert total == sum(clients)
    by_band = {r.band: r for r in radios}
    util_add, noise_add = INTERFERENCE
    for plan, count in zip(plans, clients, strict=True):
        radio = by_band[plan.band]
        assert radio.oper_up is True and radio.clients == count
        if family != "mikrotik":
            assert radio.utilization_pct in utils(city, ap_id, before, after, plan, count, util_add)
            assert radio.utilization_pct >= min(100, min(utils(city, ap_id, before, after, plan, count)) + util_add - 1)
        if family != "unifi":
            assert radio.noise_floor_dbm == plan.noise_dbm + noise_add


def test_radio_faults_hit_standalone_aps(tmp_path: Path) -> None:
    """radio_down and interference pick among every simulated AP (not only those behind a controller);
    ap_leave still needs a controller."""
    aps = inventory(12)
    sites = {ap.site_id: Site(ap.site_id, f"S {ap.site_id}", ap.lat, ap.lon, ap.district, False) for ap in aps}
    fleet = Fleet({ap.id: ap for ap in aps}, sites, CrewZones({}, {}))
    path = write(tmp_path / "radios.yaml", """name: radios
faults:
  - {kind: radio_down, band: 5GHz, select: {count: 3}, at: 1m, for: 10m}
  - {kind: interference, utilization: 30, noise: 10, select: {ap: [AP-001, AP-002]}}
  - {kind: ap_leave, select: {ap: [AP-001]}}
""")
    resolved = resolve(load_scenario(path), fleet, list(fleet.aps), seed=3)
    down, noisy, left = resolved.hits
    assert len(down.aps) == 3 and noisy.aps == ("AP-001", "AP-002") and left.aps == ()
    plan = resolved[down.aps[0]]
    assert plan.radio_down == ((BAND_5, Window(60, 660)),)
    assert not plan.radio_up(BAND_5, 60) and plan.radio_up(BAND_5, 660) and plan.radio_up(BAND_2_4, 60)
    assert resolved["AP-002"].interfered(0) == (30, 10)


def test_the_radio_objects_are_in_the_trees(city: City) -> None:
    """The object trees hold every radio column once per radio (the families' layout, for the docs)."""
    counts = {}
    for family in RADIO_FAMILIES:
        tree = city.by_id[city.picks[family]["healthy"]].tree
        counts[family] = sum(1 for o in tree.objects if o.kind.startswith("radio:"))
    assert counts == {"unifi": 2 * 8, "mikrotik": 2 * 5, "aruba_instant": 2 * 7}
    assert format_oid(column(UNIFI_RADIO, 6)) == "1.3.6.1.4.1.41112.1.6.1.1.1.6"  # unifiRadioCuTotal
