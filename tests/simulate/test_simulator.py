"""The simulator against our own poller, over real sockets on loopback.

A module-wide city of 240 APs (four device families, SNMPv3 for some, static faults for a few)
is served by two forked processes; tests that need a clock of their own (power cut, reboot loop,
a 32-bit wrap at a chosen moment, exact answer counts) start small simulators of their own.
Every figure read back is checked against ``agent.live`` / ``TrafficModel`` for the same instants.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.collectors.codec import (
    COUNTER32,
    COUNTER64,
    GET,
    GET_BULK,
    GET_NEXT,
    INTEGER,
    NULL,
    TIME_TICKS,
    Response,
    decode_response,
    encode_response,
)
from hotspotctl.collectors.model import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Discovery, PollError, Sample
from hotspotctl.collectors.oids import Oid, decode_oid, format_oid, parse_oid
from hotspotctl.collectors.poller import Poller, Target
from hotspotctl.collectors.profiles import ProfileSet, load_profiles
from hotspotctl.evaluate.rates import compute_rates
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.models.access_points import AccessPoint, Site
from hotspotctl.settings import SIM_V3_AUTH_ENV, SIM_V3_PRIV_ENV, Settings, SnmpSettings
from hotspotctl.simulate.agent import PER_CLIENT_UTIL, Live, SimAp, address_of, live, open_socket
from hotspotctl.simulate.devices import FAMILIES, IF_ENTRY, IFX_ENTRY, SYSTEM
from hotspotctl.simulate.scenario import ApFaults, Window, load_scenario
from hotspotctl.simulate.simulator import Simulator, build_fleet, plan_simulation, spread
from hotspotctl.simulate.traffic import Clock
from hotspotctl.simulate.usm import usm_for
from tests.conftest import write
from tests.servers import free_udp_port
from tests.waiting import eventually

RADIO_AIRTIME = ("util", "other", "self_rx", "self_tx")  # radio objects that follow the clients' airtime

TRANSPORTE = "Transporte (Metrobus, Cablebus, Tren Ligero, Trolebus, etc.)"
PROGRAMS = (TRANSPORTE, "Escuelas", "Pilares", "Poste C5", "MiCalle", "Unidades Habitacionales", "Clinicas",
            "Aeropuerto")
DISTRICTS = ("Cuauhtémoc", "Iztapalapa", "Gustavo A. Madero", "Milpa Alta", "Coyoacán", "Tlalpan")
SEED = 2026
COMMUNITY = b"public"
V3_PASSWORDS = {SIM_V3_AUTH_ENV: "sim-auth-passphrase", SIM_V3_PRIV_ENV: "sim-priv-passphrase"}
M32 = 1 << 32
TRICKLE = 97  # octets per second on idle ports (agent._port_counter)

# What our discovery must find for each family (devices.py, modelled on the LibreNMS recordings).
EXPECTED = {
    "unifi": ("ubiquiti_unifi", 2, "eth0", ("ra0", "rai0"), "sum",
              ("1.3.6.1.4.1.41112.1.6.1.2.1.8.1", "1.3.6.1.4.1.41112.1.6.1.2.1.8.2")),
    "mikrotik": ("mikrotik_routeros", 1, "ether1", ("wlan1", "wlan2"), "sum",
                 ("1.3.6.1.4.1.14988.1.1.1.3.1.6.2", "1.3.6.1.4.1.14988.1.1.1.3.1.6.3")),
    "aruba_instant": ("aruba_instant", 1, "eth0", ("radio0_ssid_id0", "radio1_ssid_id0"), "sum",
                      ("1.3.6.1.4.1.14823.2.3.3.1.1.7.1.4.0", "1.3.6.1.4.1.14823.2.3.3.1.1.7.1.4.1")),
    "generic": ("generic", 2, "eth0", ("wlan0", "wlan1"), None, ()),
}
SYS_UPTIME = (*SYSTEM, 3, 0)
IF_IN_OCTETS, IF_OUT_OCTETS = (*IF_ENTRY, 10), (*IF_ENTRY, 16)
IF_HC_IN, IF_HC_OUT = (*IFX_ENTRY, 6), (*IFX_ENTRY, 10)


# --- inventory, serving, polling -------------------------------------------------------------------


def make_inventory(count: int = 240) -> Fleet:
    """``count`` APs at sites of 1 to 6 APs, over several programmes and districts."""
    aps: dict[str, AccessPoint] = {}
    sites: dict[str, Site] = {}
    k = 0
    while len(aps) < count:
        program, district = PROGRAMS[k % len(PROGRAMS)], DISTRICTS[k % len(DISTRICTS)]
        site_id = f"s{k:03d}"
        lat, lon = 19.2 + k * 1e-3, -99.3 + (k % 17) * 1e-2
        sites[site_id] = Site(site_id, f"SITIO_{k:03d}", lat, lon, district, False)
        for j in range(min(k % 6 + 1, count - len(aps))):
            ap_id = f"{program[:3].upper()}-{k:03d}-{j}"
            aps[ap_id] = AccessPoint(ap_id, lat, lon, program=program, district=district, site_id=site_id)
        k += 1
    return Fleet(aps, sites, CrewZones({}, {}))


def quick(timeout_s: float = 0.5, retries: int = 2, deadline_s: float = 2.0) -> SnmpSettings:
    return dataclasses.replace(Settings().snmp, timeout_s=timeout_s, retries=retries, deadline_s=deadline_s)


@dataclass
class Served:
    fleet: list[SimAp]
    clock: Clock
    sim: Simulator
    port: int
    by_id: dict[str, SimAp] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {ap.id: ap for ap in self.fleet}

    def address(self, ap_id: str) -> tuple[str, int]:
        return address_of(self.by_id[ap_id].index), self.port

    def target(self, ap_id: str, auth: str | None = None) -> Target:
        ap = self.by_id[ap_id]
        return Target(ap_id, f"{address_of(ap.index)}:{self.port}", auth or ("sim-v3" if ap.v3 else "default"))

    def live(self, ap_id: str, t: float) -> Live:
        return live(self.by_id[ap_id], self.clock, t)


@contextlib.contextmanager
def serving(fleet: list[SimAp], clock: Clock, *, processes: int = 1, usm: Any = None) -> Iterator[Served]:
    port = free_udp_port()
    with Simulator(fleet, clock, port=port, processes=processes, usm=usm, seed=SEED) as sim:
        assert sim.alive()
        yield Served(fleet, clock, sim, port)


def discover(served: Served, ids: Sequence[str], settings: SnmpSettings, profiles: ProfileSet,
             env: dict[str, str] | None = None) -> dict[str, Discovery | PollError]:
    async def run() -> dict[str, Discovery | PollError]:
        with Poller(settings, profiles, env=env) as poller:
            return await poller.discover([served.target(i) for i in ids])

    return asyncio.run(run())


@dataclass
class Polled:
    results: dict[str, Sample | PollError]
    sent: float  # time.time() before the poll started
    received: float  # ... and after it ended
    poller: Poller


def poll(served: Served, work: Sequence[tuple[Target, Discovery]], settings: SnmpSettings,
         env: dict[str, str] | None = None) -> Polled:
    async def run() -> Polled:
        with Poller(settings, PROFILES, env=env) as poller:
            sent = time.time()
            results, _ = await poller.poll([(target, discovery, False) for target, discovery in work])
            received = time.time()
            return Polled({r.ap: r for r in results}, sent, received, poller)

    return asyncio.run(run())


PROFILES = load_profiles([])


# --- raw SNMP over a plain socket ------------------------------------------------------------------


@dataclass
class Reply:
    response: Response | None
    source: tuple[str, int] | None
    sent: float
    received: float

    def values(self) -> list[tuple[Oid, int, Any]]:
        assert self.response is not None, "no answer"
        return [(decode_oid(raw), tag, value) for raw, tag, value in self.response.varbinds]


_rids = iter(range(1000, 1 << 30))


def request(sock: socket.socket, address: tuple[str, int], pdu_type: int, oids: Sequence[Oid], *,
            community: bytes = COMMUNITY, non_repeaters: int = 0, max_repetitions: int = 0,
            timeout: float = 1.0) -> Reply:
    rid = next(_rids)
    message = encode_response(community, rid, [(oid, NULL, None) for oid in oids], pdu_type=pdu_type,
                              error_status=non_repeaters, error_index=max_repetitions)
    sock.settimeout(timeout)
    sent = time.time()
    sock.sendto(message, address)
    deadline = sent + timeout
    while True:
        try:
            data, source = sock.recvfrom(65535)
        except TimeoutError:
            return Reply(None, None, sent, time.time())
        response = decode_response(data)
        if response.request_id == rid:
            return Reply(response, source, sent, time.time())
        sock.settimeout(max(0.01, deadline - time.time()))  # a late answer to an earlier request


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


# --- the module's city -------------------------------------------------------------------------------


@dataclass
class City:
    inventory: Fleet
    served: Served
    settings: SnmpSettings
    discovered: dict[str, Discovery]
    healthy: list[str]  # v2c, no faults
    v3: list[str]  # SNMPv3, no faults
    wrap32: dict[str, str]  # family -> AP
    slow: str
    down: str
    neighbours: list[str]  # the down AP's site mates
    latency: list[str]
    lost: list[str]  # loss 1.0
    lossy: list[str]  # loss 0.3

    def first(self, family: str, ids: Sequence[str] | None = None) -> str:
        return next(i for i in (ids or self.healthy) if self.served.by_id[i].family == family)


@pytest.fixture(scope="module")
def city() -> Iterator[City]:
    inventory = make_inventory()
    aps = list(inventory.aps.values())
    clock = Clock.starting(time.time(), start_hour=18.0)  # rush hour: busy transport, schools emptying
    plain = build_fleet(aps, clock, seed=SEED, community=COMMUNITY, v3_fraction=0.15)
    v2c = [ap for ap in plain if not ap.v3]
    by_site: dict[str, list[str]] = {}
    for ap in v2c:
        by_site.setdefault(inventory.aps[ap.id].site_id, []).append(ap.id)
    site_mates = next(ids for ids in by_site.values() if len(ids) >= 4)
    pool = [ap.id for ap in v2c if ap.id not in site_mates]
    wrap32 = {family: next(ap.id for ap in v2c if ap.family == family and ap.id in pool) for family in FAMILIES}
    pool = [i for i in pool if i not in wrap32.values()]
    slow, latency, lost, lossy, pool = pool[0], pool[1:4], pool[4:6], pool[6:26], pool[26:]
    faults = {ap_id: ApFaults(wrap32=True) for ap_id in wrap32.values()}
    faults[slow] = ApFaults(link_mbps=100)
    faults[site_mates[0]] = ApFaults(down=(Window(0.0, math.inf),))
    faults.update({ap_id: ApFaults(latency_ms=(200.0, 250.0)) for ap_id in latency})
    faults.update({ap_id: ApFaults(loss=1.0) for ap_id in lost})
    faults.update({ap_id: ApFaults(loss=0.3) for ap_id in lossy})
    fleet = build_fleet(aps, clock, seed=SEED, community=COMMUNITY, v3_fraction=0.15, faults=faults)
    assert [ap.v3 for ap in fleet] == [ap.v3 for ap in plain]  # faults never change who speaks v3
    with pytest.MonkeyPatch.context() as mp:
        for name, value in V3_PASSWORDS.items():
            mp.setenv(name, value)
        usm = usm_for(Settings(), "sim-v3")
    settings = quick()
    with serving(fleet, clock, processes=2, usm=usm) as served:
        answering = [ap.id for ap in fleet if ap.id not in (site_mates[0], *lost, *lossy)]
        # patient: ~35 concurrent pysnmp v3 walks overflow pysnmp's socket buffer (8 KB GETBULK answers)
        # and retry; every AP here answers in the end
        found = discover(served, answering, quick(timeout_s=1.0, retries=3, deadline_s=10.0), PROFILES,
                         env=V3_PASSWORDS)
        failed = {i: r for i, r in found.items() if not isinstance(r, Discovery)}
        assert not failed
        discovered: dict[str, Discovery] = dict(found)  # type: ignore[arg-type]
        healthy = [ap.id for ap in fleet if ap.id in pool + site_mates[1:] and not ap.v3]
        for ap_id in (site_mates[0], *lost, *lossy):  # same family, same layout: what discovery would find
            twin = next(i for i in healthy if served.by_id[i].family == served.by_id[ap_id].family)
            discovered[ap_id] = discovered[twin]
        yield City(inventory, served, settings, discovered, healthy,
                   [ap.id for ap in fleet if ap.v3 and ap.id not in faults], wrap32, slow, site_mates[0],
                   site_mates[1:], latency, lost, lossy)


# --- discovery ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_discovery_picks_the_familys_profile_uplink_and_clients(city: City, family: str) -> None:
    profile, if_index, if_name, radios, clients_kind, clients_oids = EXPECTED[family]
    served = city.served
    members = [i for i in city.healthy if served.by_id[i].family == family]
    assert len(members) >= 5
    for ap_id in members:  # every v2c AP of the family, through our own walker
        d = city.discovered[ap_id]
        assert d.profile == profile == FAMILIES[family].profile
        assert (d.uplink.if_index, d.uplink.name, d.uplink.oper_up) == (if_index, if_name, True)
        assert d.uplink.speed_mbps == 1000.0 and d.link_source == "if_high_speed"
        assert d.counter_bits == 64 and d.uplink.has_hc
        assert tuple(r.name for r in d.radios) == radios
        assert (d.clients_kind, d.clients_oids) == (clients_kind, clients_oids)
        assert d.sys_descr == FAMILIES[family].sys_descr.decode()
        assert d.sys_object_id == format_oid(FAMILIES[family].sys_object_id)
        assert ("hr_system_uptime" in d.uptime_sources) == FAMILIES[family].hr_uptime
    # SNMPv3 APs of the family (pysnmp) are found the same
    for ap_id in (i for i in city.v3 if served.by_id[i].family == family):
        assert city.discovered[ap_id] == city.discovered[members[0]]
    # the wrap32 variant has no ifHC counters: the poller falls back to 32 bits
    wrapped = city.discovered[city.wrap32[family]]
    assert (wrapped.profile, wrapped.uplink.if_index, wrapped.counter_bits) == (profile, if_index, 32)
    assert not wrapped.uplink.has_hc and wrapped.uplink.has_32
    assert tuple(r.name for r in wrapped.radios) == radios and not any(r.has_hc for r in wrapped.radios)
    assert (wrapped.clients_kind, wrapped.clients_oids) == (clients_kind, clients_oids)


def test_a_slow_uplink_is_found_at_100_mbps(city: City) -> None:
    d = city.discovered[city.slow]
    assert d.uplink.speed_mbps == 100.0
    polled = poll(city.served, [(city.served.target(city.slow), d)], city.settings)
    sample = polled.results[city.slow]
    assert isinstance(sample, Sample) and sample.link_mbps == 100.0
    model = city.served.by_id[city.slow].traffic
    assert model.bytes_per_s_at_peak * 8 <= 0.9 * 100e6 * (1 + 1e-12)


# --- what one answer says, three ways --------------------------------------------------------------


def _walk(sock: socket.socket, address: tuple[str, int], pdu_type: int,
          ) -> tuple[dict[Oid, tuple[int, Any]], Reply, Reply]:
    """Every object from the top, by GETNEXT or GETBULK: {oid: (tag, value)}, the first and last reply."""
    got: dict[Oid, tuple[int, Any]] = {}
    cursor: Oid = (1, 3, 6, 1)
    first = last = None
    while True:
        reply = request(sock, address, pdu_type, [cursor], max_repetitions=20 if pdu_type == GET_BULK else 0)
        first = first or reply
        last = reply
        for oid, tag, value in reply.values():
            if value is END_OF_MIB_VIEW:
                return got, first, last
            assert oid > cursor, f"{format_oid(oid)} does not follow {format_oid(cursor)}"
            got[oid] = (tag, value)
            cursor = oid


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_get_getnext_and_getbulk_agree(city: City, family: str, udp: socket.socket) -> None:
    served = city.served
    ap_id = city.first(family)
    ap = served.by_id[ap_id]
    address = served.address(ap_id)
    bulk, bulk_first, bulk_last = _walk(udp, address, GET_BULK)
    nexts, next_first, _ = _walk(udp, address, GET_NEXT)
    oids = list(bulk)
    gets: dict[Oid, tuple[int, Any]] = {}
    get_replies = []
    for i in range(0, len(oids), 40):
        reply = request(udp, address, GET, oids[i:i + 40])
        get_replies.append(reply)
        gets.update({oid: (tag, value) for oid, tag, value in reply.values()})
    start, end = bulk_first.sent, get_replies[-1].received
    assert next_first.sent >= bulk_last.received
    # the same objects, in the tree's order, with the same types
    assert oids == list(nexts) == list(gets) == ap.tree.oids
    for obj in ap.tree.objects:
        tags = {bulk[obj.oid][0], nexts[obj.oid][0], gets[obj.oid][0]}
        assert tags == {obj.tag}, format_oid(obj.oid)
    # static and per-AP objects: exactly equal
    constant = [o for o in ap.tree.objects if not o.kind or o.kind.split(":")[0] in (
        "sys_name", "sys_location", "engine_id", "engine_boots", "if_speed", "high_speed", "serial", "oper")
        or (o.kind.startswith("radio:") and o.kind.split(":")[1] not in ("clients", *RADIO_AIRTIME))]
    for obj in constant:
        assert bulk[obj.oid][1] == nexts[obj.oid][1] == gets[obj.oid][1], format_oid(obj.oid)
        if not obj.kind:
            assert gets[obj.oid][1] == obj.value
    assert gets[(*SYSTEM, 5, 0)][1] == ap_id.encode()
    # live objects: within what can change in the time the three took
    moved = served.live(ap_id, end).in_octets + served.live(ap_id, end).out_octets \
        - served.live(ap_id, start).in_octets - served.live(ap_id, start).out_octets
    allowance = {COUNTER64: moved + TRICKLE * (end - start + 1), TIME_TICKS: (end - start) * 100 + 1,
                 INTEGER: end - start + 1}  # snmpEngineTime, seconds
    allowance[COUNTER32] = allowance[COUNTER64]
    clients = {served.live(ap_id, t).clients for t in (start, end)}
    for obj in ap.tree.objects:
        if obj in constant:
            continue
        values = [bulk[obj.oid][1], nexts[obj.oid][1], gets[obj.oid][1]]
        if obj.kind.startswith(("clients", "radio:clients")):
            assert max(values) - min(values) <= max(clients) - min(clients), format_oid(obj.oid)
            continue
        if obj.kind.split(":")[:2][-1] in RADIO_AIRTIME:  # utilisation: per client, the traffic (slow), rounding
            most = max(PER_CLIENT_UTIL.values()) * (max(clients) - min(clients)) + 2
            assert max(values) - min(values) <= most, format_oid(obj.oid)
            continue
        modulus = M32 if obj.tag in (COUNTER32, TIME_TICKS) else 1 << 64  # 32-bit values may have wrapped
        ahead = max(min((b - a) % modulus, (a - b) % modulus) for a in values for b in values)
        assert ahead <= allowance[obj.tag], format_oid(obj.oid)
    # the uplink counters and the uptime are the model's, between the instants of the request
    uplink = next(p.index for p in FAMILIES[family].ports if p.role == "uplink")
    reply = request(udp, address, GET, [SYS_UPTIME, (*IF_HC_IN, uplink), (*IF_HC_OUT, uplink),
                                        (*IF_IN_OCTETS, uplink)])
    before, after = served.live(ap_id, reply.sent), served.live(ap_id, reply.received)
    ticks, hc_in, hc_out, in32 = (v for _, _, v in reply.values())
    assert before.ticks <= ticks <= after.ticks
    assert before.in_octets <= hc_in <= after.in_octets and before.out_octets <= hc_out <= after.out_octets
    assert in32 == hc_in % M32
    # the clients a poll sums are live().clients at that moment
    d = city.discovered[ap_id]
    if d.clients_oids:
        reply = request(udp, address, GET, [parse_oid(o) for o in d.clients_oids])
        total = sum(v for _, _, v in reply.values())
        window = [served.live(ap_id, t).clients for t in (reply.sent, reply.received)]
        assert min(window) <= total <= max(window)
        assert total > 0 or max(window) == 0


def test_absent_objects_answer_no_such(city: City, udp: socket.socket) -> None:
    served = city.served
    wrapped = city.wrap32["unifi"]
    reply = request(udp, served.address(wrapped), GET, [(*IF_HC_IN, 2), (*IF_IN_OCTETS, 2), (*IF_IN_OCTETS, 99),
                                                         (1, 3, 6, 1, 4, 1, 9, 9, 9, 0)])
    values = [v for _, _, v in reply.values()]
    assert values[0] is NO_SUCH_OBJECT  # no ifHCInOctets column at all on a 32-bit agent
    assert isinstance(values[1], int)
    assert values[2] is NO_SUCH_INSTANCE and values[3] is NO_SUCH_OBJECT
    reply = request(udp, served.address(wrapped), GET_NEXT, [(2, 99)])
    assert reply.values()[0][2] is END_OF_MIB_VIEW


# --- polling ------------------------------------------------------------------------------------------


def test_two_polls_measure_the_traffic_model(city: City) -> None:
    served = city.served
    ids = [city.first(f) for f in FAMILIES] + [i for i in city.healthy if "TRA" in i][:3]
    work = [(served.target(i), city.discovered[i]) for i in ids]
    one = poll(served, work, city.settings)
    time.sleep(2.0)
    two = poll(served, work, city.settings)
    for ap_id in ids:
        a, b = one.results[ap_id], two.results[ap_id]
        assert isinstance(a, Sample) and isinstance(b, Sample), (a, b)
        # A sample is stamped when its answer arrived, within its own poll; the agent read its counters
        # between the poll's start and that stamp. (A loaded machine widens that window, never moves
        # a value out of it: the model's value at the stamp itself is only right on an idle machine.)
        assert one.sent <= a.at <= one.received and two.sent <= b.at <= two.received
        assert b.at - a.at >= 2.0
        # the counters and the uptime are the model's, each at an instant of its window...
        for sample, earliest in ((a, one.sent), (b, two.sent)):
            before, after = served.live(ap_id, earliest), served.live(ap_id, sample.at)
            assert before.in_octets <= sample.in_octets <= after.in_octets
            assert before.out_octets <= sample.out_octets <= after.out_octets
            assert before.ticks <= sample.sys_uptime <= after.ticks
        # ... so they moved by what the model carried between the two answers
        lo_in = served.live(ap_id, two.sent).in_octets - served.live(ap_id, a.at).in_octets
        hi_in = served.live(ap_id, b.at).in_octets - served.live(ap_id, one.sent).in_octets
        lo_out = served.live(ap_id, two.sent).out_octets - served.live(ap_id, a.at).out_octets
        hi_out = served.live(ap_id, b.at).out_octets - served.live(ap_id, one.sent).out_octets
        assert lo_in <= b.in_octets - a.in_octets <= hi_in and lo_out <= b.out_octets - a.out_octets <= hi_out
        # ... and compute_rates gives the model's rate: what it carried over the interval between the samples
        _, state = compute_rates(a, None)
        rate, _ = compute_rates(b, state)
        # the interval is on the poller's monotonic clock (issue 15)
        assert a.mono is not None and b.mono is not None
        interval = b.mono - a.mono
        assert rate.events == () and not rate.rebooted and rate.interval_s == interval
        assert rate.in_bps == pytest.approx((b.in_octets - a.in_octets) * 8 / interval, rel=1e-12)
        assert rate.out_bps == pytest.approx((b.out_octets - a.out_octets) * 8 / interval, rel=1e-12)
        assert lo_in * 8 / interval <= rate.in_bps <= hi_in * 8 / interval
        assert lo_out * 8 / interval <= rate.out_bps <= hi_out * 8 / interval
        assert rate.in_bps > 1e5  # rush hour: real traffic, not a trickle
        assert rate.link_mbps == 1000.0 and rate.capacity_mbps == 1000.0
        # uptime advanced by the time between the two readings (ticks are 1/100 s)
        first, _ = compute_rates(a, None)
        assert two.sent - a.at - 0.01 <= rate.uptime_s - first.uptime_s <= b.at - one.sent + 0.01
        if city.discovered[ap_id].clients_kind:
            window = [served.live(ap_id, t).clients for t in (two.sent, two.received)]
            assert min(window) <= b.clients <= max(window)
        else:
            assert b.clients is None
    assert two.poller.transport.stats.dropped_wrong_source == 0


def test_two_processes_never_disagree(city: City) -> None:
    """Many GETs of the same APs from 16 source ports: the kernel spreads them over both processes,
    and every answer is the model's value at its instant, so counters never go back."""
    served = city.served
    ids = [city.first(f) for f in FAMILIES]
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(16)]
    stats = served.sim._stats  # per process: the Simulator only publishes the sum
    width = len(stats) // served.sim.processes
    answered_before = [stats[w * width + 1] for w in range(served.sim.processes)]
    seen: dict[str, list[tuple[int, int, int]]] = {i: [] for i in ids}
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        for _ in range(6):
            for sock in sockets:
                for ap_id in ids:
                    uplink = city.discovered[ap_id].uplink.if_index
                    reply = request(sock, served.address(ap_id), GET,
                                    [SYS_UPTIME, (*IF_HC_IN, uplink), (*IF_HC_OUT, uplink)])
                    ticks, hc_in, hc_out = (v for _, _, v in reply.values())
                    before, after = served.live(ap_id, reply.sent), served.live(ap_id, reply.received)
                    assert before.in_octets <= hc_in <= after.in_octets
                    assert before.out_octets <= hc_out <= after.out_octets
                    assert before.ticks <= ticks <= after.ticks
                    seen[ap_id].append((ticks, hc_in, hc_out))
    finally:
        for sock in sockets:
            sock.close()
    for ap_id, values in seen.items():
        assert len(values) == 96
        for column in range(3):
            series = [v[column] for v in values]
            assert series == sorted(series), ap_id

    def answered() -> list[float]:  # per process, as published (every 0.25 s, when the process gets to it)
        return [stats[w * width + 1] - answered_before[w] for w in range(served.sim.processes)]

    eventually(lambda: sum(answered()) >= 16 * 6 * len(ids) and min(answered()) > 0)
    assert sum(answered()) >= 16 * 6 * len(ids) and min(answered()) > 0, answered()


# --- faults -------------------------------------------------------------------------------------------


def test_a_down_ap_times_out_while_its_site_answers(city: City) -> None:
    served = city.served
    ids = [city.down, *city.neighbours]
    assert len({city.inventory.aps[i].site_id for i in ids}) == 1
    polled = poll(served, [(served.target(i), city.discovered[i]) for i in ids], city.settings)
    error = polled.results[city.down]
    assert isinstance(error, PollError) and error.kind == "timeout"
    # given up at the deadline (2 s), not after every retry's wait (0.5 + 1 + 2 s): the bound lies between
    retries_wait = sum(city.settings.timeout_s * 2**n for n in range(city.settings.retries + 1))
    assert city.settings.deadline_s < retries_wait
    assert error.at - polled.sent < retries_wait
    for ap_id in city.neighbours:
        sample = polled.results[ap_id]
        assert isinstance(sample, Sample) and sample.oper_up and sample.link_mbps == 1000.0
    found = discover(served, [city.down], quick(timeout_s=0.25, retries=1), PROFILES)
    assert isinstance(found[city.down], PollError) and found[city.down].kind == "timeout"


def test_latency_shows_in_rtt(city: City) -> None:
    served = city.served
    polled = poll(served, [(served.target(i), city.discovered[i]) for i in city.latency], city.settings)
    for ap_id in city.latency:
        sample = polled.results[ap_id]
        assert isinstance(sample, Sample), sample
        # at least the agent's delay (200-250 ms), in milliseconds, and at most the whole poll (a loaded
        # machine adds its own delay on top: not a fixed 50 ms)
        assert 200.0 <= sample.rtt_ms <= (polled.received - polled.sent) * 1000.0, sample.rtt_ms
    assert polled.poller.engine.stats.retries == 0


def test_loss(city: City) -> None:
    served = city.served
    stats = served.sim.stats()
    ids = city.lost + city.lossy
    polled = poll(served, [(served.target(i), city.discovered[i]) for i in ids], city.settings)
    for ap_id in city.lost:  # loss 1.0: never an answer, whatever the retries
        assert isinstance(polled.results[ap_id], PollError) and polled.results[ap_id].kind == "timeout"
    answered = [i for i in city.lossy if isinstance(polled.results[i], Sample)]
    # loss 0.3 with two retries: an AP is lost only when all three tries are (2.7 %)
    assert len(answered) >= len(city.lossy) - 4
    assert all(polled.results[i].kind == "timeout" for i in city.lossy if i not in answered)
    assert polled.poller.engine.stats.retries >= 1

    def dropped() -> float:  # as the simulator's processes publish it (every 0.25 s, when they get to it)
        return served.sim.stats()["dropped_loss"] - stats["dropped_loss"]

    # every try at the 1.0 APs (3 each), and roughly 30 % of the others
    eventually(lambda: dropped() >= 3 * len(city.lost) + 1)
    assert dropped() >= 3 * len(city.lost) + 1, dropped()


def test_wrap32_counters_wrap_between_two_polls() -> None:
    """A 32-bit AP whose counters cross 2^32 one second after the first poll: the rate is the model's."""
    inventory = make_inventory(8)
    aps = list(inventory.aps.values())[:4]
    clock = Clock.starting(time.time(), start_hour=18.0)
    faults = {ap.id: ApFaults(wrap32=True) for ap in aps}
    fleet = build_fleet(aps, clock, seed=SEED, community=COMMUNITY, faults=faults)
    settings = quick()
    ids = [ap.id for ap in fleet]
    with serving(fleet, clock) as served:  # discovery first: the layout does not depend on the counters
        found = discover(served, ids, settings, PROFILES)
    assert {found[i].counter_bits for i in ids} == {32}
    # the crossing comes after discovery, however long a loaded machine took for it
    crossing = time.time() + 1.5
    for i, ap in enumerate(fleet):  # set the counters at boot so both cross 2^32 at ``crossing``
        now = live(ap, clock, crossing)
        fleet[i] = dataclasses.replace(ap, base_in=(ap.base_in - now.in_octets) % M32,
                                       base_out=(ap.base_out - now.out_octets) % M32)
    with serving(fleet, clock) as served:
        work = [(served.target(i), found[i]) for i in ids]
        one = poll(served, work, settings)
        time.sleep(max(0.0, crossing + 1.0 - time.time()))
        two = poll(served, work, settings)
    assert one.received < crossing < two.sent
    for ap in fleet:
        a, b = one.results[ap.id], two.results[ap.id]
        assert isinstance(a, Sample) and isinstance(b, Sample)
        assert a.counter_bits == b.counter_bits == 32
        assert b.in_octets < a.in_octets and b.out_octets < a.out_octets  # went round
        assert a.in_octets > M32 - 2e8 and b.in_octets < 2e8
        _, state = compute_rates(a, None)
        rate, _ = compute_rates(b, state)
        assert {"wrap_in", "wrap_out"} <= set(rate.events) and not rate.rebooted
        # the rate is what went round, over the monotonic interval...
        carried_in, carried_out = (b.in_octets - a.in_octets) % M32, (b.out_octets - a.out_octets) % M32
        interval = b.mono - a.mono
        assert rate.in_bps == pytest.approx(carried_in * 8 / interval, rel=1e-12)
        assert rate.out_bps == pytest.approx(carried_out * 8 / interval, rel=1e-12)
        # ... and that is the model's traffic between the two readings (each read between its poll's
        # start and its answer's arrival: a window a loaded machine widens, not the instant ``at``)
        (lo_in, lo_out), (hi_in, hi_out) = (ap.traffic.octets(clock, *span)
                                            for span in ((a.at, two.sent), (one.sent, b.at)))
        assert lo_in <= carried_in <= hi_in and lo_out <= carried_out <= hi_out


@dataclass
class Timed:
    served: Served
    power: list[str]
    others: list[str]
    rebooting: str
    polls: list[Polled]  # at 0.3 s, 1.6 s, 3.5 s after the start


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Timed]:
    """A power cut at one site from 1 s to 3 s (a scenario file) and an AP rebooting at 1.5 s, back at 3 s."""
    inventory = make_inventory(30)
    power_site = next(s for s in inventory.sites.values()
                      if sum(ap.site_id == s.id for ap in inventory.aps.values()) == 4)
    path = write(tmp_path_factory.mktemp("scenario") / "cut.yaml",
                 f"name: cut\nfaults:\n  - kind: power\n    select: {{site: [{power_site.name}]}}\n"
                 "    at: 1s\n    for: 2s\n")
    aps = list(inventory.aps.values())
    settings = quick(timeout_s=0.2, deadline_s=0.8)
    # Discovery first, on the same city without faults (same seed: same devices): the scenario's clock
    # starts after it, so a slow discovery on a loaded machine cannot push the first poll into the cut.
    plain = plan_simulation(inventory, aps, seed=SEED, community=COMMUNITY, v3_fraction=0.0, start_hour=18.0)
    with serving(plain.fleet, plain.clock) as served:
        ids = [ap.id for ap in plain.fleet]
        found = discover(served, ids, quick(timeout_s=1.0, retries=3, deadline_s=10.0), PROFILES)
    assert all(isinstance(r, Discovery) for r in found.values()), found
    plan = plan_simulation(inventory, aps, seed=SEED, scenario=load_scenario(path), community=COMMUNITY,
                           v3_fraction=0.0, port=free_udp_port(), start_hour=18.0)
    assert [(ap.id, ap.family) for ap in plan.fleet] == [(ap.id, ap.family) for ap in plain.fleet]
    power = sorted(plan.faults)
    assert power == sorted(ap.id for ap in aps if ap.site_id == power_site.id)
    rebooting = next(ap.id for ap in aps if ap.id not in power)
    fleet = [dataclasses.replace(ap, faults=ApFaults(reboot_every_s=100.0, reboot_down_s=1.5, reboot_phase_s=1.5))
             if ap.id == rebooting else ap for ap in plan.fleet]
    clock = plan.clock
    with serving(fleet, clock) as served:
        work = [(served.target(i), found[i]) for i in ids]
        polls = []
        for at in (0.3, 1.6, 3.5):
            time.sleep(max(0.0, clock.t0 + at - time.time()))
            polls.append(poll(served, work, settings))
        yield Timed(served, power, [i for i in ids if i not in power], rebooting, polls)


def test_a_power_cut_takes_its_site_down_only_inside_the_window(timed: Timed) -> None:
    t0 = timed.served.clock.t0
    before, during, after = timed.polls
    assert before.received < t0 + 1.0 and t0 + 1.0 < during.sent and during.received < t0 + 3.0 < after.sent
    neighbours = [i for i in timed.others if i != timed.rebooting]
    for ap_id in timed.power:
        assert isinstance(before.results[ap_id], Sample)
        assert isinstance(during.results[ap_id], PollError) and during.results[ap_id].kind == "timeout"
        assert isinstance(after.results[ap_id], Sample)
    for polled in timed.polls:
        assert all(isinstance(polled.results[i], Sample) for i in neighbours)


def test_a_reboot_loop_resets_uptime_and_counters(timed: Timed) -> None:
    served, ap_id = timed.served, timed.rebooting
    before, during, after = (p.results[ap_id] for p in timed.polls)
    assert isinstance(before, Sample) and isinstance(after, Sample)
    assert isinstance(during, PollError) and during.kind == "timeout"
    boot = served.clock.t0 + 3.0
    assert before.sys_uptime > 86_400 * 100  # the AP had been up for days before the loop began
    # The agent read its figures between the poll's start and the answer's arrival (``at``): the window,
    # not ``at`` itself, which a loaded machine moves away from the reading.
    earliest, latest = timed.polls[2].sent, after.at
    assert boot < earliest
    assert int((earliest - boot) * 100) <= after.sys_uptime <= int((latest - boot) * 100)
    assert int(earliest - boot) <= after.engine_time <= int(latest - boot)
    # counters restarted at the boot: they hold what was carried since
    traffic = served.by_id[ap_id].traffic
    (down_lo, up_lo), (down_hi, up_hi) = (traffic.octets(served.clock, boot, t) for t in (earliest, latest))
    assert down_lo <= after.in_octets <= down_hi and after.in_octets < before.in_octets
    assert up_lo <= after.out_octets <= up_hi
    _, state = compute_rates(before, None)
    rate, _ = compute_rates(after, state)
    assert rate.rebooted and "reboot" in rate.events and rate.in_bps is None and rate.out_bps is None
    # hrSystemUptime (the rates' primary source) is the kernel's: 0.57 s ahead of the agent's sysUpTime
    assert after.hr_uptime - after.sys_uptime == 57
    assert rate.uptime_s == after.hr_uptime / 100
    assert served.live(ap_id, after.at).boots == served.live(ap_id, before.at).boots + 1


# --- SNMPv3 -------------------------------------------------------------------------------------------


def test_snmpv3_answers_only_the_sim_v3_user(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in V3_PASSWORDS.items():
        monkeypatch.setenv(name, value)
    served = city.served
    v3 = [city.first(f, city.v3) for f in FAMILIES if any(served.by_id[i].family == f for i in city.v3)]
    assert len(v3) >= 3
    v2c = city.healthy[0]
    work = [(served.target(i), city.discovered[i]) for i in v3]
    work += [(served.target(v3[0], "default"), city.discovered[v3[0]]),  # v2c to a v3 AP
             (served.target(v2c, "sim-v3"), city.discovered[v2c])]  # v3 to a v2c AP
    # one result per work item, in order (two of them ask the same AP); env None: the poller
    # reads the passphrases set above, as it would in production
    async def run() -> list[Any]:
        with Poller(city.settings, PROFILES) as poller:
            sent = time.time()
            out, _ = await poller.poll([(t, d, False) for t, d in work])
            return [sent, time.time(), out]

    sent, received, out = asyncio.run(run())
    for ap_id, result in zip(v3, out[:len(v3)], strict=True):
        assert isinstance(result, Sample), result
        before, after = served.live(ap_id, sent), served.live(ap_id, received)
        assert before.in_octets <= result.in_octets <= after.in_octets
        assert before.ticks <= result.sys_uptime <= after.ticks
        assert result.link_mbps == 1000.0
    wrong_version, wrong_user = out[len(v3)], out[len(v3) + 1]
    assert isinstance(wrong_version, PollError) and wrong_version.kind == "timeout"
    assert isinstance(wrong_user, PollError) and wrong_user.kind == "timeout"


# --- security -----------------------------------------------------------------------------------------


def test_serving_sockets_are_bound_to_loopback_and_answer_from_the_aps_address(city: City, udp: socket.socket) -> None:
    served = city.served
    for ap_id in city.healthy[:10] + [city.first(f) for f in FAMILIES]:
        reply = request(udp, served.address(ap_id), GET, [SYS_UPTIME])
        assert reply.source == served.address(ap_id)  # not 127.0.0.1, not the first address
    # nobody answers for an address past the fleet
    silent = request(udp, (address_of(len(served.fleet) + 3), served.port), GET, [SYS_UPTIME], timeout=0.3)
    assert silent.response is None
    # the serving processes' sockets are bound to lo (ss shows 0.0.0.0%lo:port)
    if shutil.which("ss"):
        out = subprocess.run(["ss", "-Hlunp", f"sport = :{served.port}"], capture_output=True, text=True,
                             check=True).stdout
        pids = {p.pid for p in served.sim._workers}
        lines = [line for line in out.splitlines() if any(f"pid={pid}," in line for pid in pids)]
        assert len(lines) == len(pids) and all(f"0.0.0.0%lo:{served.port}" in line for line in lines), out
    sock = open_socket(free_udp_port())
    try:
        device = sock.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16)
    finally:
        sock.close()
    if not device:
        pytest.skip("the kernel refused SO_BINDTODEVICE")
    assert device.rstrip(b"\0") == b"lo"


# --- determinism --------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_fleet(tmp_path: Path) -> None:
    inventory = make_inventory()
    aps = spread(list(inventory.aps.values()), 200)
    assert len(aps) == 200 and aps == sorted(aps, key=lambda ap: ap.id)
    path = write(tmp_path / "mix.yaml", "name: mix\nfaults:\n  - kind: slow_uplink\n    mbps: 100\n"
                                        "    select: {fraction: 0.2}\n  - kind: wrap32\n    select: {fraction: 0.1}\n")
    scenario = load_scenario(path)

    def shape(seed: int, with_scenario: bool = True) -> list[tuple[str, int, bool, bool]]:
        plan = plan_simulation(inventory, aps, seed=seed, scenario=scenario if with_scenario else None,
                               community=COMMUNITY, v3_fraction=0.3, now=1_795_300_000.0)
        return [(ap.family, ap.link_mbps, ap.v3, ap.faults is not None and ap.faults.wrap32) for ap in plan.fleet]

    one, again, other = shape(1), shape(1), shape(2)
    assert one == again
    for column in range(4):
        assert [row[column] for row in one] != [row[column] for row in other]
    assert sum(row[1] == 100 for row in one) == 40 and sum(row[3] for row in one) == 20
    assert {row[0] for row in one} == set(FAMILIES)
    assert 0.15 < sum(row[2] for row in one) / len(one) < 0.45
    # the scenario changes faults, never the family or who speaks v3
    plain = shape(1, with_scenario=False)
    assert [(r[0], r[2]) for r in plain] == [(r[0], r[2]) for r in one]


# --- cost ---------------------------------------------------------------------------------------------


def test_stats_count_every_answer(capsys: pytest.CaptureFixture[str]) -> None:
    inventory = make_inventory(20)
    aps = list(inventory.aps.values())
    clock = Clock.starting(time.time(), start_hour=12.0)
    fleet = build_fleet(aps, clock, seed=SEED, community=COMMUNITY)
    n = 400
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
    with serving(fleet, clock, processes=2) as served:
        try:
            for i in range(n):
                ap = fleet[i % len(fleet)]
                uplink = next(p.index for p in ap.tree.family.ports if p.role == "uplink")
                reply = request(sockets[i % 8], served.address(ap.id), GET,
                                [SYS_UPTIME, (*IF_HC_IN, uplink), (*IF_HC_OUT, uplink)])
                assert reply.response is not None and len(reply.values()) == 3
        finally:
            for sock in sockets:
                sock.close()
        served.sim.stop()
        stats = served.sim.stats()
    assert stats["requests"] == stats["answered"] == n
    assert sum(v for k, v in stats.items() if k.startswith("dropped") or k == "malformed") == 0
    assert stats["cpu_s"] > 0
    with capsys.disabled():
        print(f"\nsimulator: {n} answers, {stats['cpu_s'] * 1e6 / n:.0f} µs CPU per answer "
              "(process total over 2 processes, startup and idle wake-ups included)")
