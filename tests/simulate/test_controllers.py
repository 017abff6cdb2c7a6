"""Simulated wireless controllers, walked by our own walker (GETBULK on our codec) over UDP on loopback.

Five controllers are served by one simulator process: one per vendor (Cisco AireOS, Aruba Mobility
Controller, Ruckus SmartZone, Huawei AC) with the same 40 APs' plans each, plus a Cisco controller
that is down. Faults are fixed from the start: one AP has left its controller, one has its 5 GHz
radio down, one suffers interference. Every value read back is checked against the MIB's encoding
and the AP's own state (``agent.live``, the radio plan) at the instants around the walk.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.collectors.codec import GET_BULK, NULL, decode_response, encode_response
from hotspotctl.collectors.controllers import read_controllers, results_for
from hotspotctl.collectors.model import Discovery, Sample
from hotspotctl.collectors.oids import Oid, decode_oid
from hotspotctl.collectors.poller import Poller, Target
from hotspotctl.collectors.profiles import load_profile, load_profiles, shipped_dir
from hotspotctl.collectors.tables import read_controller
from hotspotctl.collectors.walker import WalkerClient
from hotspotctl.errors import CollectError, PollErrorKind
from hotspotctl.evaluate.rates import compute_rates
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.models.radios import BAND_2_4, BAND_5, ControllerReading, format_mac
from hotspotctl.settings import SnmpSettings
from hotspotctl.simulate import controllers as ctl
from hotspotctl.simulate.agent import SimAp, address_of, live
from hotspotctl.simulate.scenario import ApFaults, Window
from hotspotctl.simulate.simulator import Simulator, build_fleet
from hotspotctl.simulate.snmprec import read_snmprec
from hotspotctl.simulate.traffic import Clock
from tests.servers import free_udp_port

COMMUNITY = b"public"
SEED = 17
N = 40
PROGRAMS = ("Escuelas", "Pilares", "MiCalle", "Transporte (Metrobus, Cablebus, Tren Ligero, Trolebus, etc.)")
LEFT, RADIO_DOWN, NOISY = "AP-0003", "AP-0011", "AP-0020"
INTERFERENCE = (40.0, 15.0)  # utilisation points, noise dB
FOREVER = Window(0.0, math.inf)


def inventory(count: int, prefix: str = "AP") -> list[AccessPoint]:
    return [AccessPoint(f"{prefix}-{i:04d}", 19.4 + i * 1e-4, -99.1, program=PROGRAMS[i % len(PROGRAMS)],
                        district="Cuauhtémoc") for i in range(count)]


FAULTS = {
    LEFT: ApFaults(left=(FOREVER,)),
    RADIO_DOWN: ApFaults(radio_down=((BAND_5, FOREVER),)),
    NOISY: ApFaults(interference=((FOREVER, *INTERFERENCE),)),
}


@dataclass
class City:
    clock: Clock
    port: int
    controllers: dict[str, ctl.SimController]  # by vendor, and "dead"
    agents: dict[str, SimAp]

    def address(self, which: str) -> str:
        return address_of(self.agents[which].index)


def build_city(clock: Clock, count: int = N) -> tuple[list[SimAp], dict[str, ctl.SimController], dict[str, SimAp]]:
    fleet: list[SimAp] = []
    controllers: dict[str, ctl.SimController] = {}
    agents: dict[str, SimAp] = {}
    for number, which in enumerate((*ctl.VENDOR_ORDER, "dead")):
        vendor = "cisco_aireos" if which == "dead" else which
        sims = build_fleet(inventory(count), clock, seed=SEED, community=None, faults=FAULTS)
        for sim in sims:
            sim.direct = False
        controller = ctl.SimController(f"WLC-{which}", vendor, ctl.managed_aps(sims, controller_index=number,
                                                                                seed=SEED), index=number)
        controllers[which] = controller
        agents[which] = ctl.controller_agent(controller, clock, index=number, community=COMMUNITY,
                                             faults=ApFaults(down=(FOREVER,)) if which == "dead" else None)
        fleet.append(agents[which])
    return fleet, controllers, agents


@pytest.fixture(scope="module")
def city() -> Iterator[City]:
    clock = Clock.starting(time.time(), start_hour=18.0)  # evening: every programme has clients
    fleet, controllers, agents = build_city(clock)
    port = free_udp_port()
    with Simulator(fleet, clock, port=port, processes=1, seed=SEED) as sim:
        assert sim.alive()
        yield City(clock, port, controllers, agents)


def walk(city: City, which: str, columns: Sequence[Oid], **client: Any) -> tuple[dict[Oid, list[tuple[Oid, Any]]],
                                                                                   float, float]:
    """Every column walked together (GETBULKs shared, as read_controller walks), and the instants around it."""
    async def run() -> dict[Oid, list[tuple[Oid, Any]]]:
        with WalkerClient(timeout_s=0.5, retries=1, deadline_s=3.0, **client) as walker:
            device = walker.device(city.address(which), city.port, COMMUNITY)
            rows = await asyncio.gather(*(device.walk(column) for column in columns))
            return dict(zip(columns, rows, strict=True))

    before = time.time()
    result = asyncio.run(run())
    return result, before, time.time()


def by_key(rows: list[tuple[Oid, Any]], column: Oid) -> dict[tuple[int, ...], Any]:
    return {oid[len(column):]: value for oid, value in rows}


def ap_of(city: City, which: str, name: str) -> ctl.ControllerAp:
    return city.controllers[which].by_name[name]


def between(value: int, low: int, high: int) -> bool:
    return low <= value <= high


# --- Cisco AireOS -----------------------------------------------------------------------------------

NAME, MAC, STATUS = (*ctl.BSN_AP, 3), (*ctl.BSN_AP, 1), (*ctl.BSN_AP, 6)
UPTIME = (*ctl.CLAP, 6)
IF_TYPE, CHANNEL, POWER_LEVEL, IF_OPER, USERS = ((*ctl.BSN_AP_IF, c) for c in (2, 4, 6, 12, 15))
UTIL, NOISE = (*ctl.BSN_AP_IF_LOAD, 3), (*ctl.BSN_AP_IF_NOISE, 21)


def test_cisco_lists_its_joined_aps_by_mac_with_their_radios(city: City) -> None:
    columns = (NAME, MAC, STATUS, UPTIME, IF_TYPE, CHANNEL, POWER_LEVEL, IF_OPER, USERS, UTIL, NOISE)
    rows, before, after = walk(city, "cisco_aireos", columns)
    names = by_key(rows[NAME], NAME)
    assert len(names) == N - 1  # AireOS forgets an AP that left: it is not in bsnAPTable any more
    assert LEFT.encode() not in names.values()
    ap = ap_of(city, "cisco_aireos", "AP-0007")
    assert names[ap.key] == b"AP-0007"
    assert ap.key == (0x02, 0x16, 0, 0, 0, 7)
    assert by_key(rows[MAC], MAC)[ap.key] == bytes((0x02, 0x16, 0, 0, 0, 7))
    assert format_mac(ap.key) == "02:16:00:00:00:07"
    assert set(by_key(rows[STATUS], STATUS).values()) == {1}  # associated(1)
    ticks = by_key(rows[UPTIME], UPTIME)[ap.key]
    assert between(ticks, live(ap.sim, city.clock, before).ticks, live(ap.sim, city.clock, after).ticks)
    # two radios per joined AP, indexed MAC.slot: 2.4 GHz in slot 0 (dot11b), 5 GHz in slot 1 (dot11a)
    types = by_key(rows[IF_TYPE], IF_TYPE)
    assert len(types) == 2 * (N - 1)
    assert types[(*ap.key, 0)] == 1 and types[(*ap.key, 1)] == 2
    channels = by_key(rows[CHANNEL], CHANNEL)
    two, five = ap.radios
    assert (two.band, five.band) == (BAND_2_4, BAND_5)
    assert channels[(*ap.key, 0)] == two.channel and two.channel in ctl.CHANNELS_2_4
    assert channels[(*ap.key, 1)] == five.channel and five.channel in ctl.CHANNELS_5
    level = by_key(rows[POWER_LEVEL], POWER_LEVEL)[(*ap.key, 1)]
    assert ctl.CISCO_POWER_LISTS[BAND_5][level - 1] == min(ctl.CISCO_POWER_LISTS[BAND_5],
                                                           key=lambda dbm: abs(dbm - five.tx_power_dbm))
    # clients: the AP's (traffic model) split 35/65 over its radios, as Counter32
    users = by_key(rows[USERS], USERS)
    total = users[(*ap.key, 0)] + users[(*ap.key, 1)]
    low, high = sorted((live(ap.sim, city.clock, before).clients, live(ap.sim, city.clock, after).clients))
    assert between(total, low, high)
    assert total > 0
    # noise rows are indexed MAC.slot.channel: one per scanned channel
    noise = by_key(rows[NOISE], NOISE)
    assert {k[-1] for k in noise if k[:7] == (*ap.key, 1)} == {*ctl.NOISE_CHANNELS[BAND_5], five.channel}
    assert noise[(*ap.key, 1, five.channel)] == five.noise_dbm
    assert noise[(*ap.key, 0, two.channel)] == two.noise_dbm
    other = next(c for c in ctl.NOISE_CHANNELS[BAND_2_4] if c != two.channel)
    assert noise[(*ap.key, 0, other)] == two.noise_dbm - 2


def test_cisco_radio_down_and_interference(city: City) -> None:
    rows, _, _ = walk(city, "cisco_aireos", (IF_OPER, USERS, UTIL, NOISE, CHANNEL))
    down = ap_of(city, "cisco_aireos", RADIO_DOWN)
    oper = by_key(rows[IF_OPER], IF_OPER)
    assert oper[(*down.key, 0)] == 2 and oper[(*down.key, 1)] == 1  # up(2), down(1)
    assert by_key(rows[USERS], USERS)[(*down.key, 1)] == 0
    assert by_key(rows[UTIL], UTIL)[(*down.key, 1)] == 0
    noisy = ap_of(city, "cisco_aireos", NOISY)
    util = by_key(rows[UTIL], UTIL)
    users = by_key(rows[USERS], USERS)
    for slot, radio in enumerate(noisy.radios):
        # the two columns may come in answers a few ms apart: a client more or less between them at most
        per_client = ctl.PER_CLIENT_UTIL[radio.band]
        quiet = radio.base_util_pct + users[(*noisy.key, slot)] * per_client
        assert util[(*noisy.key, slot)] == pytest.approx(min(100, round(quiet + INTERFERENCE[0])), abs=per_client + 1)
        assert util[(*noisy.key, slot)] >= 40
    noise = by_key(rows[NOISE], NOISE)
    two = noisy.radios[0]
    assert noise[(*noisy.key, 0, two.channel)] == two.noise_dbm + INTERFERENCE[1]
    calm = ap_of(city, "cisco_aireos", "AP-0007")
    assert util[(*calm.key, 1)] < 60


def test_cisco_ap_count_wlan_and_per_ap_clients(city: City) -> None:
    per_ap, ssid, stations = (*ctl.CLAP, 54), (*ctl.BSN_DOT11_ESS, 2), (*ctl.BSN_DOT11_ESS, 38)
    rows, _, _ = walk(city, "cisco_aireos", (ctl.CLS_SYS_AP_CONNECT_COUNT, per_ap, USERS, ssid, stations))
    assert rows[ctl.CLS_SYS_AP_CONNECT_COUNT] == [((*ctl.CLS_SYS_AP_CONNECT_COUNT, 0), N - 1)]
    assert rows[ssid] == [((*ssid, 1), b"CDMX Internet para Todos")]
    users = by_key(rows[USERS], USERS)
    clients = by_key(rows[per_ap], per_ap)
    assert len(clients) == N - 1
    # one walk, one instant per request: the AP's count is its radios' sum when both rows came in one answer
    assert sum(clients.values()) == pytest.approx(sum(users.values()), abs=N)
    assert [value for _, value in rows[stations]] == [pytest.approx(sum(clients.values()), abs=N)]


# --- Aruba, Ruckus, Huawei --------------------------------------------------------------------------


def test_aruba_lists_every_ap_with_status_and_radios(city: City) -> None:
    status, name, uptime = (*ctl.WLSX_AP, 19), (*ctl.WLSX_AP, 3), (*ctl.WLSX_AP, 12)
    rtype, channel, power, util, clients = ((*ctl.WLSX_RADIO, c) for c in (2, 3, 4, 6, 7))
    rows, before, after = walk(city, "aruba_mc", (status, name, uptime, rtype, channel, power, util, clients))
    states = by_key(rows[status], status)
    assert len(states) == N
    left = ap_of(city, "aruba_mc", LEFT)
    assert states[left.key] == 2  # down(2): Aruba keeps the AP that left, down
    assert sum(1 for v in states.values() if v == 1) == N - 1
    assert by_key(rows[uptime], uptime)[left.key] == 0
    assert by_key(rows[name], name)[left.key] == LEFT.encode()
    ap = ap_of(city, "aruba_mc", "AP-0012")
    types = by_key(rows[rtype], rtype)
    assert types[(*ap.key, 2)] == 3 and types[(*ap.key, 1)] == 1  # radio 2 dot11g, radio 1 dot11a (the recording's)
    assert by_key(rows[channel], channel)[(*ap.key, 2)] == ap.radios[0].channel  # the 2.4 GHz plan
    assert by_key(rows[channel], channel)[(*ap.key, 1)] == ap.radios[1].channel
    assert by_key(rows[power], power)[(*ap.key, 1)] == ap.radios[1].tx_power_dbm * 2
    assert len(by_key(rows[clients], clients)) == 2 * N
    totals, _, _ = walk(city, "aruba_mc", (ctl.WLSX_TOTAL_APS,))
    assert totals[ctl.WLSX_TOTAL_APS] == [((*ctl.WLSX_TOTAL_APS, 0), N - 1)]
    assert by_key(rows[clients], clients)[(*left.key, 2)] == 0
    ticks = by_key(rows[uptime], uptime)[ap.key]
    assert between(ticks, live(ap.sim, city.clock, before).ticks, live(ap.sim, city.clock, after).ticks)


def test_ruckus_counters_move_with_the_traffic_model(city: City) -> None:
    mac, name, conn, rx, tx = ((*ctl.RUCKUS_SZ_AP, c) for c in (1, 5, 16, 30, 31))
    first, before1, after1 = walk(city, "ruckus_sz", (mac, name, conn, rx, tx))
    time.sleep(1.0)
    second, before2, after2 = walk(city, "ruckus_sz", (rx, tx))
    ap = ap_of(city, "ruckus_sz", "AP-0001")
    assert by_key(first[mac], mac)[ap.key] == ap.mac
    counts, _, _ = walk(city, "ruckus_sz", (ctl.RUCKUS_SZ_NUM_AP,))
    assert counts[ctl.RUCKUS_SZ_NUM_AP] == [((*ctl.RUCKUS_SZ_NUM_AP, 0), N - 1)]
    assert by_key(first[conn], conn)[ap.key] == b"Connect"
    assert by_key(first[conn], conn)[ap_of(city, "ruckus_sz", LEFT).key] == b"Disconnect"
    lows = live(ap.sim, city.clock, before1), live(ap.sim, city.clock, after1)
    assert between(by_key(first[tx], tx)[ap.key], lows[0].in_octets, lows[1].in_octets)
    assert between(by_key(first[rx], rx)[ap.key], lows[0].out_octets, lows[1].out_octets)
    grown = by_key(second[tx], tx)[ap.key] - by_key(first[tx], tx)[ap.key]
    expected_low = live(ap.sim, city.clock, before2).in_octets - live(ap.sim, city.clock, after1).in_octets
    expected_high = live(ap.sim, city.clock, after2).in_octets - live(ap.sim, city.clock, before1).in_octets
    assert 0 < expected_low <= grown <= expected_high  # the AP's download over the second between the walks


def test_huawei_radio_states_noise_and_counts(city: City) -> None:
    run_state, run_time = (*ctl.HW_AP, 6), (*ctl.HW_AP, 18)
    freq, rstate, channel, noise, util, stations = ((*ctl.HW_RADIO, c) for c in (5, 6, 7, 24, 25, 40))
    rows, _, _ = walk(city, "huawei_ac", (run_state, run_time, freq, rstate, channel, noise, util, stations,
                                          ctl.HW_AP_COUNT))
    states = by_key(rows[run_state], run_state)
    assert states[ap_of(city, "huawei_ac", LEFT).key] == ctl.HW_FAULT
    assert sum(1 for v in states.values() if v == ctl.HW_NORMAL) == N - 1
    down = ap_of(city, "huawei_ac", RADIO_DOWN)
    radio_states = by_key(rows[rstate], rstate)
    assert radio_states[(*down.key, 0)] == 1 and radio_states[(*down.key, 1)] == 2
    assert by_key(rows[noise], noise)[(*down.key, 1)] == 0  # "invalid" while down
    assert by_key(rows[freq], freq)[(*down.key, 0)] == 1 and by_key(rows[freq], freq)[(*down.key, 1)] == 2
    noisy = ap_of(city, "huawei_ac", NOISY)
    assert by_key(rows[noise], noise)[(*noisy.key, 1)] == noisy.radios[1].noise_dbm + INTERFERENCE[1]
    assert by_key(rows[channel], channel)[(*noisy.key, 0)] == noisy.radios[0].channel
    assert rows[ctl.HW_AP_COUNT] == [((*ctl.HW_AP_COUNT, 0), N - 1)]


def test_controller_own_system_group_names_its_vendor(city: City) -> None:
    sys_object_id = (1, 3, 6, 1, 2, 1, 1, 2)
    for which, expected in (("cisco_aireos", (1, 3, 6, 1, 4, 1, 9, 1, 1069)),
                            ("aruba_mc", (1, 3, 6, 1, 4, 1, 14823, 1, 1, 9999)),
                            ("ruckus_sz", (1, 3, 6, 1, 4, 1, 25053, 3, 1, 11, 1)),
                            ("huawei_ac", (1, 3, 6, 1, 4, 1, 2011, 2, 240, 6))):
        rows, _, _ = walk(city, which, (sys_object_id,))
        assert rows[sys_object_id] == [((*sys_object_id, 0), expected)]


def test_a_dead_controller_does_not_answer(city: City) -> None:
    with pytest.raises(CollectError) as caught:
        walk(city, "dead", (NAME,))
    assert caught.value.kind == PollErrorKind.TIMEOUT


def test_managed_aps_are_silent_at_their_own_address() -> None:
    # an AP behind a controller has no agent of its own: only its controller answers for it
    clock = Clock.starting(time.time())
    sims = build_fleet(inventory(2), clock, seed=SEED, community=COMMUNITY)
    sims[0].direct = False
    port = free_udp_port()
    sys_name = (1, 3, 6, 1, 2, 1, 1, 5)
    with Simulator(sims, clock, port=port, processes=1, seed=SEED) as sim:
        served = City(clock, port, {}, {"managed": sims[0], "direct": sims[1]})
        rows, _, _ = walk(served, "direct", (sys_name,))
        assert rows[sys_name] == [((*sys_name, 0), b"AP-0001")]
        with pytest.raises(CollectError) as caught:
            walk(served, "managed", (sys_name,))
        assert caught.value.kind == PollErrorKind.TIMEOUT
        assert sim.stats()["dropped_unknown_address"] >= 1


# --- 10,000 APs: GETBULK paging ---------------------------------------------------------------------


@contextlib.contextmanager
def big_controller(count: int, vendor: str = "cisco_aireos") -> Iterator[tuple[City, ctl.SimController]]:
    clock = Clock.starting(time.time(), start_hour=12.0)
    sims = build_fleet(inventory(count, "BIG"), clock, seed=SEED, community=None)
    controller = ctl.SimController("WLC-BIG", vendor, ctl.managed_aps(sims, controller_index=9, seed=SEED))
    agent = ctl.controller_agent(controller, clock, index=0, community=COMMUNITY)
    port = free_udp_port()
    with Simulator([agent], clock, port=port, processes=1, seed=SEED) as sim:
        assert sim.alive()
        yield City(clock, port, {"big": controller}, {"big": agent}), controller


def test_getbulk_paging_over_10000_aps_returns_every_row_once() -> None:
    with big_controller(10_000) as (city, controller):
        rows, _, _ = walk(city, "big", (NAME, CHANNEL, UTIL), max_rows=30_000, max_repetitions=60)
    names = rows[NAME]
    assert len(names) == 10_000
    keys = [oid[len(NAME):] for oid, _ in names]
    assert keys == sorted(set(keys))  # each row once, in order
    assert {value for _, value in names} == {ap.name.encode() for ap in controller.aps}
    channels = by_key(rows[CHANNEL], CHANNEL)
    assert len(channels) == 20_000
    for ap in (controller.aps[0], controller.aps[4_321], controller.aps[-1]):
        assert channels[(*ap.key, 0)] == ap.radios[0].channel
        assert channels[(*ap.key, 1)] == ap.radios[1].channel
    assert len(rows[UTIL]) == 20_000


def test_getbulk_answers_stop_at_the_controllers_size_limit() -> None:
    # one GETBULK asking for far more rows than fit: the answer stops below the limit, rows in order
    column = (*ctl.HW_RADIO, 3)
    with big_controller(600, "huawei_ac") as (city, controller), \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        message = encode_response(COMMUNITY, 4242, [(column, NULL, None)], pdu_type=GET_BULK, error_status=0,
                                  error_index=5_000)
        sock.settimeout(2.0)
        sock.sendto(message, (city.address("big"), city.port))
        data, _ = sock.recvfrom(65535)
        rows, _, _ = walk(city, "big", (column,), max_repetitions=5_000)
    assert len(data) <= ctl.CONTROLLER_MAX_RESPONSE
    answer = decode_response(data)
    got = [decode_oid(raw) for raw, _, _ in answer.varbinds]
    assert 100 < len(got) < 1_200
    expected = sorted((*ap.key, slot) for ap in controller.aps for slot in (0, 1))
    assert [oid[len(column):] for oid in got] == expected[:len(got)]
    assert [oid[len(column):] for oid, _ in rows[column]] == expected  # and the walk pages through all 1,200


# --- read_controller (collectors/tables.py) on the simulated controllers ------------------------------

SIM_PROFILES = Path(__file__).resolve().parent / "profiles"


def read(city: City, which: str, path: Path | None = None) -> tuple[ControllerReading, float, float]:
    """The simulated ``which`` controller read with a profile (default: tests/simulate/profiles/sim_<which>),
    with the wall clock before and after."""
    profile = load_profile(path or SIM_PROFILES / f"sim_{which}.yaml")

    async def run() -> ControllerReading:
        with WalkerClient(timeout_s=0.5, retries=1, deadline_s=3.0) as walker:
            return await read_controller(walker.device(city.address(which), city.port, COMMUNITY), profile)

    before = time.time()
    reading = asyncio.run(run())
    return reading, before, time.time()


def test_read_controller_cisco(city: City) -> None:
    reading, before, after = read(city, "cisco_aireos")
    assert len(reading.aps) == N - 1 and reading.ap_count == N - 1 and reading.joined == N - 1
    by_name = {ap.name: ap for ap in reading.aps}
    assert LEFT not in by_name
    ap = by_name["AP-0007"]
    sim = ap_of(city, "cisco_aireos", "AP-0007")
    assert ap.mac == "02:16:00:00:00:07" and ap.joined is True
    assert live(sim.sim, city.clock, before).up_s - 1 <= ap.uptime_s <= live(sim.sim, city.clock, after).up_s + 1
    two, five = ap.radios
    assert (two.name, two.band, two.channel, two.frequency_mhz) == ("slot 0", "2.4GHz", sim.radios[0].channel,
                                                                    2407 + 5 * sim.radios[0].channel)
    assert (five.band, five.channel, five.oper_up) == ("5GHz", sim.radios[1].channel, True)
    assert ap.clients == pytest.approx((two.clients or 0) + (five.clients or 0), abs=1)
    down = by_name[RADIO_DOWN].radios[1]
    assert (down.oper_up, down.clients, down.utilization_pct) == (False, 0, 0)
    noisy = by_name[NOISY].radios[0]
    assert noisy.utilization_pct is not None and noisy.utilization_pct >= INTERFERENCE[0]


def test_read_controller_aruba_ruckus_huawei(city: City) -> None:
    aruba, _, _ = read(city, "aruba_mc")
    left = next(ap for ap in aruba.aps if ap.name == LEFT)
    assert (left.joined, left.reason, left.uptime_s) == (False, "down", 0)
    assert aruba.ap_count == N - 1 and len(aruba.aps) == N
    radio = next(ap for ap in aruba.aps if ap.name == "AP-0012").radios
    sim = ap_of(city, "aruba_mc", "AP-0012")
    assert [(r.name, r.band, r.channel, r.tx_power_dbm) for r in radio] == [  # radio 1 first, as the index orders
        ("radio 1", BAND_5, sim.radios[1].channel, sim.radios[1].tx_power_dbm),
        ("radio 2", BAND_2_4, sim.radios[0].channel, sim.radios[0].tx_power_dbm)]

    ruckus, before, after = read(city, "ruckus_sz")
    ap = next(ap for ap in ruckus.aps if ap.name == "AP-0001")
    sim = ap_of(city, "ruckus_sz", "AP-0001")
    assert ap.mac == format_mac(sim.mac) and ap.counter_bits == 64
    assert live(sim.sim, city.clock, before).in_octets <= ap.in_octets <= live(sim.sim, city.clock, after).in_octets
    assert live(sim.sim, city.clock, before).out_octets <= ap.out_octets <= live(sim.sim, city.clock, after).out_octets
    assert next(a for a in ruckus.aps if a.name == LEFT).reason == "disconnected"
    assert ruckus.ap_count == N - 1

    huawei, _, _ = read(city, "huawei_ac")
    assert next(a for a in huawei.aps if a.name == LEFT).reason == "fault"
    down = next(a for a in huawei.aps if a.name == RADIO_DOWN).radios
    assert [(r.name, r.oper_up) for r in down] == [("Radio 0", True), ("Radio 1", False)]
    assert down[1].noise_floor_dbm is None  # 0 is the MIB's "invalid"
    noisy = next(a for a in huawei.aps if a.name == NOISY).radios[1]
    assert noisy.noise_floor_dbm == ap_of(city, "huawei_ac", NOISY).radios[1].noise_dbm + INTERFERENCE[1]
    assert huawei.ap_count == N - 1


def test_an_ap_the_scenario_takes_down_leaves_its_controller_for_that_window() -> None:
    clock = Clock.starting(time.time() - 100, start_hour=18.0)  # the simulator started 100 s ago
    faults = {"AP-0001": ApFaults(down=(Window(50, math.inf),)),  # dead since 50 s in
              "AP-0002": ApFaults(down=(Window(500, 600),))}  # not yet
    sims = build_fleet(inventory(4), clock, seed=SEED, community=None, faults=faults)
    controller = ctl.SimController("WLC-X", "aruba_mc", ctl.managed_aps(sims, controller_index=3, seed=SEED))
    agent = ctl.controller_agent(controller, clock, index=0, community=COMMUNITY)
    status = (*ctl.WLSX_AP, 19)
    port = free_udp_port()
    with Simulator([agent], clock, port=port, processes=1, seed=SEED):
        rows, _, _ = walk(City(clock, port, {"x": controller}, {"x": agent}), "x", (status,))
    states = {controller.by_name[f"AP-{i:04d}"].key: i for i in range(4)}
    assert {states[oid[len(status):]]: value for oid, value in rows[status]} == {0: 1, 1: 2, 2: 1, 3: 1}


# --- the shipped profiles on the simulated controllers: what hotspotctl measures is the simulator's truth ------


def read_shipped(city: City, which: str, profile: str) -> tuple[ControllerReading, float, float]:
    return read(city, which, shipped_dir() / f"{profile}.yaml")


def test_cisco_wlc_reads_each_radios_noise_floor_at_its_own_channel(city: City) -> None:
    """collectors/cisco_wlc.yaml on the simulated AireOS: bsnAPIfDBNoisePower has a row per scanned channel (the
    others 2 dB quieter); each radio's noise floor is the row at its own channel, interference included."""
    reading, _, _ = read_shipped(city, "cisco_aireos", "cisco_wlc")
    by_name = {ap.name: ap for ap in reading.aps}
    for name in ("AP-0007", NOISY, RADIO_DOWN):
        sim = ap_of(city, "cisco_aireos", name)
        for radio, planned in zip(by_name[name].radios, sim.radios, strict=True):
            extra = INTERFERENCE[1] if name == NOISY else 0
            assert (radio.channel, radio.noise_floor_dbm) == (planned.channel, planned.noise_dbm + extra), (name, radio)


def test_smartzone_rates_are_the_simulated_aps_download_and_upload(city: City) -> None:
    """collectors/ruckus_smartzone.yaml on the simulated SmartZone: an AP's in_bps is its users' download (the
    traffic model's uplink in, ruckusSZAPTXBytes: what the AP sent them), out_bps their upload (RXBytes)."""
    name = "AP-0001"
    sim = ap_of(city, "ruckus_sz", name)
    ap = AccessPoint(name, 19.4, -99.1, controller="WLC-ruckus_sz", ap_mac=format_mac(sim.mac))
    first, before1, after1 = read_shipped(city, "ruckus_sz", "ruckus_smartzone")
    time.sleep(2.0)
    second, before2, after2 = read_shipped(city, "ruckus_sz", "ruckus_smartzone")
    a, b = (results_for("WLC-ruckus_sz", [ap], reading, ())[name] for reading in (first, second))
    assert isinstance(a, Sample) and isinstance(b, Sample), (a, b)
    truth = {t: live(sim.sim, city.clock, t) for t in (before1, after1, before2, after2)}
    # each counter is the model's at an instant of its walk ...
    assert truth[before1].in_octets <= a.in_octets <= truth[after1].in_octets
    assert truth[before1].out_octets <= a.out_octets <= truth[after1].out_octets
    # ... so the rates are what the model carried between the walks, each way
    _, state = compute_rates(a, None)
    rate, _ = compute_rates(b, state)
    assert rate.events == () and rate.interval_s is not None and rate.in_bps is not None and rate.out_bps is not None
    interval = rate.interval_s
    lo_in = (truth[before2].in_octets - truth[after1].in_octets) * 8 / interval
    hi_in = (truth[after2].in_octets - truth[before1].in_octets) * 8 / interval
    lo_out = (truth[before2].out_octets - truth[after1].out_octets) * 8 / interval
    hi_out = (truth[after2].out_octets - truth[before1].out_octets) * 8 / interval
    assert lo_in <= rate.in_bps <= hi_in
    assert lo_out <= rate.out_bps <= hi_out
    assert rate.in_bps > rate.out_bps  # evening in a public hotspot: the users download more than they upload


ARUBA_RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "devices" / "arubaos" / "arubaos.snmprec"


def test_aruba_radio_numbers_and_bands_are_the_recordings(city: City) -> None:
    """wlsxWlanRadioTable as the real controller (tests/fixtures/devices/arubaos, 690 APs) numbers it: index AP
    MAC + radio number 1 and 2, radio 1 dot11a(1) (5 GHz) and radio 2 dot11g(3) (2.4 GHz) on every AP; the
    simulated controller serves the same layout, so the shipped profile names the same radio the same way."""
    rtype = (*ctl.WLSX_RADIO, 2)
    recorded: dict[tuple[int, ...], dict[int, Any]] = {}
    for record in read_snmprec(ARUBA_RECORDING):
        if record.oid[:len(rtype)] == rtype:
            suffix = record.oid[len(rtype):]
            recorded.setdefault(suffix[:-1], {})[suffix[-1]] = record.value
    assert len(recorded) == 690 and {tuple(sorted(r.items())) for r in recorded.values()} == {((1, 1), (2, 3))}
    rows, _, _ = walk(city, "aruba_mc", (rtype,))
    served: dict[tuple[int, ...], dict[int, Any]] = {}
    for oid, value in rows[rtype]:
        suffix = oid[len(rtype):]
        served.setdefault(suffix[:-1], {})[suffix[-1]] = value
    assert len(served) == N and {tuple(sorted(r.items())) for r in served.values()} == {((1, 1), (2, 3))}
    # and the shipped profile reads them as the recording's: radio 1 the 5 GHz one, with its plan's channel
    reading, _, _ = read_shipped(city, "aruba_mc", "aruba_controller")
    sim = ap_of(city, "aruba_mc", "AP-0012")
    ap = next(a for a in reading.aps if a.name == "AP-0012")
    assert [(r.name, r.band, r.channel) for r in ap.radios] == [
        ("radio 1", BAND_5, sim.radios[1].channel), ("radio 2", BAND_2_4, sim.radios[0].channel)]


def test_huawei_ap_uptime_is_hwwlanapruntime_in_ticks(city: City) -> None:
    """HUAWEI-WLAN-AP-MIB hwWlanApRunTime (Unsigned32): "the running time of an AP. Unit: tick" (hundredths of a
    second, as TimeTicks). The simulated AC serves it so, and collectors/huawei_ac.yaml reads it into uptime_s:
    a managed AP's uptime is the AP's own, in seconds."""
    run_time = (*ctl.HW_AP, 18)
    sim = ap_of(city, "huawei_ac", "AP-0007")
    rows, before, after = walk(city, "huawei_ac", (run_time,))
    assert between(by_key(rows[run_time], run_time)[sim.key], live(sim.sim, city.clock, before).ticks,
                   live(sim.sim, city.clock, after).ticks)
    assert by_key(rows[run_time], run_time)[ap_of(city, "huawei_ac", LEFT).key] == 0  # off the AC
    reading, before, after = read_shipped(city, "huawei_ac", "huawei_ac")
    ap = next(a for a in reading.aps if a.name == "AP-0007")
    assert ap.uptime_s is not None
    assert live(sim.sim, city.clock, before).up_s <= ap.uptime_s <= live(sim.sim, city.clock, after).up_s + 1
    assert ap.uptime_s > 86_400  # days, not the hundredths of them a seconds reading of ticks would give


def test_discovery_and_the_controllers_walk_reach_a_target_alike(city: City) -> None:
    """Poller.reach is the one preamble of discovery and of read_controllers: the same target gives the same
    failure (no address, a bad one, credentials not configured) in both, and a good one is read by both."""
    settings = replace(SnmpSettings(), port=city.port, timeout_s=0.3, min_timeout_s=0.1, retries=1, deadline_s=2.0)
    profiles = load_profiles()
    good = Target("WLC-ruckus_sz", city.address("ruckus_sz"), "default")
    bad = [Target("no-address", None, "default"), Target("bad-port", "127.0.0.1:notaport", "default"),
           Target("bad-auth", city.address("ruckus_sz"), "no-such-credentials")]

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        with Poller(settings, profiles, env={}) as poller:
            found = await poller.discover([good, *bad])
            read = await read_controllers(poller, [(t, profiles.get("ruckus_smartzone")) for t in [good, *bad]])
            return found, read

    found, read = asyncio.run(run())
    discovered = found[good.ap]
    assert isinstance(discovered, Discovery) and discovered.profile == "ruckus_smartzone"
    reading = read[good.ap]
    assert isinstance(reading, ControllerReading) and len(reading.aps) == N and reading.ap_count == N - 1
    failures = {t.ap: (found[t.ap].kind, found[t.ap].message) for t in bad}
    assert failures == {t.ap: (read[t.ap].kind, read[t.ap].message) for t in bad}
    assert [kind for kind, _ in failures.values()] == [PollErrorKind.NO_ADDRESS, PollErrorKind.NO_ADDRESS,
                                                       PollErrorKind.CONFIG]
    assert failures["no-address"][1] == "no mgmt_address in the inventory"


def test_huawei_ap_rates_are_the_simulated_aps_uplink(city: City) -> None:
    """collectors/huawei_ac.yaml reads hwWlanApUpPortRecvBytes / SendBytes (the AP's upstream port: received is
    the users' download, in; sent their upload, out); the simulated AC serves them from the traffic model."""
    name = "AP-0001"
    sim = ap_of(city, "huawei_ac", name)
    ap = AccessPoint(name, 19.4, -99.1, controller="WLC-huawei_ac", ap_mac=format_mac(sim.mac))
    first, before1, after1 = read_shipped(city, "huawei_ac", "huawei_ac")
    time.sleep(2.0)
    second, before2, after2 = read_shipped(city, "huawei_ac", "huawei_ac")
    a, b = (results_for("WLC-huawei_ac", [ap], reading, ())[name] for reading in (first, second))
    assert isinstance(a, Sample) and isinstance(b, Sample), (a, b)
    truth = {t: live(sim.sim, city.clock, t) for t in (before1, after1, before2, after2)}
    assert a.in_octets is not None and a.out_octets is not None and a.counter_bits == 64
    assert truth[before1].in_octets <= a.in_octets <= truth[after1].in_octets
    assert truth[before1].out_octets <= a.out_octets <= truth[after1].out_octets
    _, state = compute_rates(a, None)
    rate, _ = compute_rates(b, state)
    assert rate.events == () and rate.interval_s is not None and rate.in_bps is not None and rate.out_bps is not None
    interval = rate.interval_s
    assert (truth[before2].in_octets - truth[after1].in_octets) * 8 / interval <= rate.in_bps \
        <= (truth[after2].in_octets - truth[before1].in_octets) * 8 / interval
    assert (truth[before2].out_octets - truth[after1].out_octets) * 8 / interval <= rate.out_bps \
        <= (truth[after2].out_octets - truth[before1].out_octets) * 8 / interval
