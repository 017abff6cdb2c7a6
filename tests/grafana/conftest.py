"""A simulated city's metrics in a real InfluxDB, once per session, for the dashboards' queries to run against.

300 APs spread over the bundled Mexico City inventory answer as simulated SNMP agents on loopback, with
faults (dead APs, slow uplinks, reboot loops, crowding); a CycleRunner polls them three times, two seconds
apart (rates need two samples), and its spool batches are loaded into a fresh InfluxDB database exactly
as they are stored (gzip bodies, ``precision=s``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import socket
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
import yaml

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.scheduling.cycle import ApOutcome
from hotspotctl.scheduling.service import CycleRunner
from hotspotctl.settings import load_settings
from hotspotctl.simulate.scenario import load_scenario
from hotspotctl.simulate.simulator import Simulator, assign_addresses, plan_simulation, spread
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.lineproto import says_something
from hotspotctl.sinks.spool import Spool, is_gzip
from hotspotctl.store import Store
from tests.conftest import CDMX_XLSX
from tests.servers import InfluxServer

APS = 300
CYCLES = 3
SCENARIO = {"name": "grafana-test", "faults": [
    {"kind": "down", "select": {"fraction": 0.05}},
    {"kind": "slow_uplink", "mbps": 100, "select": {"count": 20}},
    {"kind": "reboot_loop", "every": "3s", "down": "1s", "select": {"count": 5}},
    {"kind": "crowded", "factor": 4, "select": {"program": ["Transporte"], "count": 5}},
]}
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SimulatedInflux:
    """The loaded database, when the cycles ran, and values a NOC operator would pick, taken from the data."""

    server: InfluxServer
    database: str
    started: datetime  # before the first cycle
    ended: datetime  # after the last
    outcomes: list[ApOutcome]  # the last cycle's, one per AP
    points: int
    district: str  # has an AP down and an AP up with every rate, in `program`
    other_district: str
    program: str
    ap: str  # up, with rates, clients and latency, in `district` and `program`
    # one AP (up, with rates) per profile whose radios get ap_radio lines: no vendor MIB gives every radio
    # figure (UniFi's has no noise floor, MikroTik's no utilisation), so the radio panels are checked on each
    radio_aps: tuple[str, ...] = ()
    open_outages: int = 0  # the ledger's open outages after the last cycle (runner.last_evaluation)

    def query(self, statement: str) -> list[dict]:
        return self.server.query(statement, self.database, epoch="ms")

    def measurements(self) -> set[str]:
        series = self.query("SHOW MEASUREMENTS")
        return {row[0] for row in series[0]["values"]} if series else set()

    def field_keys(self, measurement: str) -> set[str]:
        series = self.query(f'SHOW FIELD KEYS FROM "{measurement}"')
        return {row[0] for row in series[0]["values"]} if series else set()


def _complete(o: ApOutcome) -> bool:
    r = o.rate
    return (r is not None and r.in_bps is not None and r.per_user_mbps is not None and r.uptime_s is not None
            and r.delivered_per_user_mbps is not None and bool(r.clients) and o.rtt_ms is not None)


def _pick(outcomes: list[ApOutcome]) -> tuple[str, str, str, str]:
    """A district and programme with an AP down and a complete one; names with regex characters first."""
    groups: dict[tuple[str, str], list[ApOutcome]] = {}
    for o in outcomes:
        groups.setdefault((o.ap.district, o.ap.program), []).append(o)
    usable = [(key, group) for key, group in groups.items()
              if any(o.rate is None for o in group) and any(_complete(o) for o in group)]
    if not usable:
        raise AssertionError("the simulated run has no district and programme with both a down AP and an AP with "
                             "every rate: the scenario or the poller changed; see tests/grafana/conftest.py")
    (district, program), group = max(usable, key=lambda item: (
        bool(_REGEX_SPECIAL.search(item[0][1])), bool(_REGEX_SPECIAL.search(item[0][0])), len(item[1]), item[0]))
    ap = max((o.ap.id for o in group if _complete(o)), key=lambda ap_id: (bool(_REGEX_SPECIAL.search(ap_id)), ap_id))
    others = sorted({o.ap.district for o in outcomes} - {district})
    other = "Gustavo A. Madero" if "Gustavo A. Madero" in others else others[0]
    return district, other, program, ap


@pytest.fixture(scope="session")
def simulated_influx(influxdb: InfluxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedInflux]:
    data_dir = tmp_path_factory.mktemp("grafana-city")
    settings = load_settings(flags={"data_dir": ("--data-dir", str(data_dir))}, env={}, cwd=data_dir).settings
    # the scenario's dead APs are silent on SNMP only: their loopback addresses answer ping, and a pinged AP
    # silent on SNMP is agent_silent, not down (tests/scheduling/test_ping_cycle.py): SNMP alone here
    settings = replace(settings, snmp=replace(settings.snmp, timeout_s=0.3, retries=0, deadline_s=1.0),
                       ping=replace(settings.ping, enabled=False))
    store = Store.open(settings.store_url)
    try:
        import_inventory(store, CDMX_XLSX, settings.inventory)
        zones = CrewZones.from_settings(settings.crew_zones)
        fleet = Fleet.load(store, zones)
        (data_dir / "scenario.yaml").write_text(yaml.safe_dump(SCENARIO))
        port = _free_udp_port()
        plan = plan_simulation(fleet, spread(list(fleet.aps.values()), APS), seed=3,
                               scenario=load_scenario(data_dir / "scenario.yaml"), community=b"public",
                               v3_fraction=0.0, port=port, start_hour=7.5)
        assign_addresses(store, plan, v2c_auth="default", v3_auth="sim-v3")
        spool = Spool(settings.spool_dir)
        started = datetime.now(UTC)

        async def cycles() -> CycleRunner:
            with Poller(settings.snmp, load_profiles([])) as poller:
                runner = CycleRunner(store, settings, load_profiles([]), plan.aps, zones,
                                     InfluxSink(settings.influx, spool), poller)
                for n in range(CYCLES):
                    if n:
                        await asyncio.sleep(2)
                    await runner.cycle()
                return runner

        with Simulator(plan.fleet, plan.clock, port=port, processes=1):
            runner = asyncio.run(cycles())
        time.sleep(1)  # the last points' second is over before any query's now()
        ended = datetime.now(UTC)
    finally:
        store.close()

    database = f"hotspotctl_grafana_{os.getpid()}"
    influxdb.query(f'CREATE DATABASE "{database}"')

    def deliver(body: bytes, precision: str) -> None:
        request = urllib.request.Request(f"{influxdb.url}/write?db={database}&precision={precision}", data=body,
                                         method="POST")
        if is_gzip(body):
            request.add_header("Content-Encoding", "gzip")
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 204, answer.read()

    loaded = spool.replay(deliver, gzip=True)
    assert loaded.ok and loaded.batches == 2 * CYCLES, loaded  # a cycle's lines, then its poller_cycle line
    assert runner.last_report is not None
    outcomes = list(runner.last_report.outcomes)
    district, other, program, ap = _pick(outcomes)
    radio_aps: dict[str, str] = {}
    for o in sorted(outcomes, key=lambda o: o.ap.id):
        if o.profile and _complete(o) and any(says_something(radio) for radio in o.radios):
            radio_aps.setdefault(o.profile, o.ap.id)
    assert runner.last_evaluation is not None
    yield SimulatedInflux(influxdb, database, started, ended, outcomes, loaded.points, district, other, program, ap,
                          tuple(radio_aps.values()), runner.last_evaluation.open_outages)
    influxdb.query(f'DROP DATABASE "{database}"')



# --- ap_radio: radios with known figures, written as literal line protocol (SPEC §2 of issue 17) -------------

TRANSPORT = "Transporte (Metrobus, Cablebus, Tren Ligero, Trolebus, etc.)"
RADIO_CYCLES = 3
RADIO_STEP_S = 60


@dataclass(frozen=True)
class RadioAp:
    ap: str
    site: str
    district: str
    program: str
    crew_zone: str
    geohash: str
    profile: str


BUSY_AP = RadioAp("PILARES-(RIO MIXCOAC) SANTA LUCIA II_AP_01", "PILARES-(RIO MIXCOAC) SANTA LUCIA II",
                  "Gustavo A. Madero", TRANSPORT, "norte", "9g3qxk7bc", "ruckus_unleashed")
NOISY_AP = RadioAp("GAM-ESC-002", "Escuela Primaria 2", "Gustavo A. Madero", "Escuelas", "norte", "9g3qz1m2d",
                   "cisco_aironet")
TLALPAN_AP = RadioAp("TLA-ESC-001", "Escuela Secundaria 1", "Tlalpan", "Escuelas", "sur", "9g3m5p8qr", "aruba_instant")
BARE_AP = RadioAp("TLA-ESC-002", "Escuela Secundaria 2", "Tlalpan", "Escuelas", "sur", "9g3m5p9xs", "mikrotik_routeros")

# Each radio's fields per cycle, oldest first; the last is "now". Ints as line protocol ints (i), the rest floats.
# The busiest radio now is BUSY_AP's wifi1 (88 %); NOISY_AP's wifi0 is the noisiest (-78 dBm) and was the
# busiest before (95 %): "now" panels must show its last reading; its wifi1 went down in the last cycle;
# TLALPAN_AP's radio1 moved from channel 40 to 44; BARE_AP's wlan0 is what an IF-MIB-only radio writes: up, no band.
_BASE = {
    (BUSY_AP, "wifi0", "2.4GHz"): dict(channel=6, frequency_mhz=2437, clients=12, utilization_pct=45.5,
                                       noise_floor_dbm=-92.0, tx_power_dbm=17.0, up=1),
    (BUSY_AP, "wifi1", "5GHz"): dict(channel=36, frequency_mhz=5180, clients=30, utilization_pct=88.0,
                                     noise_floor_dbm=-95.0, tx_power_dbm=20.0, up=1),
    (NOISY_AP, "wifi0", "2.4GHz"): dict(channel=1, frequency_mhz=2412, clients=5, utilization_pct=30.0,
                                        noise_floor_dbm=-78.0, tx_power_dbm=14.0, up=1),
    (NOISY_AP, "wifi1", "5GHz"): dict(channel=149, frequency_mhz=5745, clients=0, utilization_pct=5.0,
                                      noise_floor_dbm=-96.0, tx_power_dbm=20.0, up=0),
    (TLALPAN_AP, "radio0", "2.4GHz"): dict(channel=11, frequency_mhz=2462, clients=8, utilization_pct=60.0,
                                           noise_floor_dbm=-90.0, tx_power_dbm=16.0, up=1),
    (TLALPAN_AP, "radio1", "5GHz"): dict(channel=44, frequency_mhz=5220, clients=22, utilization_pct=70.0,
                                         noise_floor_dbm=-93.0, tx_power_dbm=23.0, up=1),
    (BARE_AP, "wlan0", None): dict(up=1),
}
_EARLIER = {  # cycle -> radio -> what differed then
    0: {(BUSY_AP, "wifi1"): dict(clients=26, utilization_pct=80.0),
        (NOISY_AP, "wifi0"): dict(utilization_pct=95.0, noise_floor_dbm=-80.0),
        (NOISY_AP, "wifi1"): dict(clients=3, up=1), (TLALPAN_AP, "radio1"): dict(channel=40, frequency_mhz=5200)},
    1: {(BUSY_AP, "wifi1"): dict(clients=28, utilization_pct=84.0),
        (NOISY_AP, "wifi0"): dict(utilization_pct=95.0, noise_floor_dbm=-80.0),
        (NOISY_AP, "wifi1"): dict(clients=2, up=1), (TLALPAN_AP, "radio1"): dict(channel=40, frequency_mhz=5200)},
}
INT_FIELDS = ("channel", "frequency_mhz", "clients", "up")


def radio_fields(ap: RadioAp, radio: str, cycle: int) -> dict[str, float | int]:
    """A radio's fields in ``cycle`` (0 .. RADIO_CYCLES - 1; the last is now)."""
    base = next(f for (a, r, _), f in _BASE.items() if a == ap and r == radio)
    return {**base, **_EARLIER.get(cycle, {}).get((ap, radio), {})}


def radios() -> list[tuple[RadioAp, str, str | None]]:
    return list(_BASE)


def _tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def radio_line(ap: RadioAp, radio: str, band: str | None, fields: dict[str, float | int], at_s: int) -> str:
    """One ap_radio point as SPEC §2 defines it, written out by hand (not by the sink's encoder)."""
    tags = {"ap": ap.ap, "crew_zone": ap.crew_zone, "district": ap.district, "geohash": ap.geohash,
            "profile": ap.profile, "program": ap.program, "site": ap.site, "radio": radio}
    if band is not None:
        tags["band"] = band
    tag_text = ",".join(f"{k}={_tag(v)}" for k, v in sorted(tags.items()))
    field_text = ",".join(f"{k}={v}i" if k in INT_FIELDS else f"{k}={float(v)!r}" for k, v in fields.items())
    return f"ap_radio,{tag_text} {field_text} {at_s}"


@dataclass
class RadioInflux:
    """ap_radio points with known figures in their own database (no other measurement), three cycles a minute apart."""

    server: InfluxServer
    database: str
    started: datetime  # a little before the first point
    ended: datetime  # a little after the last
    lines: list[str]

    def query(self, statement: str) -> list[dict]:
        return self.server.query(statement, self.database, epoch="ms")


@pytest.fixture(scope="session")
def radio_influx(influxdb: InfluxServer) -> Iterator[RadioInflux]:
    database = f"hotspotctl_grafana_radios_{os.getpid()}"
    influxdb.query(f'CREATE DATABASE "{database}"')
    now_s = int(time.time()) - 5  # the last point's second is over before any query's now()
    first_s = now_s - (RADIO_CYCLES - 1) * RADIO_STEP_S
    lines = [radio_line(ap, radio, band, radio_fields(ap, radio, cycle), first_s + cycle * RADIO_STEP_S)
             for cycle in range(RADIO_CYCLES) for ap, radio, band in radios()]
    influxdb.write(database, lines)
    assert influxdb.count("ap_radio", "up", database) == RADIO_CYCLES * len(_BASE)
    yield RadioInflux(influxdb, database, datetime.fromtimestamp(first_s - 30, UTC),
                      datetime.fromtimestamp(now_s + 30, UTC), lines)
    influxdb.query(f'DROP DATABASE "{database}"')


# --- ap_ping and outages: issue 18's measurements (SPEC), written as literal line protocol ---------------------

PING_FIELDS_INT = ("sent", "received")
# Each AP's ping round per cycle, oldest first; the last is "now". Fields omitted are what the sink omits (None):
# an AP that answered nothing has no round trip. BUSY_AP loses 40 % now (it lost nothing before); TLALPAN_AP answers
# nothing now (it lost 20 % before); BARE_AP lost 20 % in the first cycle and nothing since; NOISY_AP never loses.
PING_ROUNDS: dict[RadioAp, list[dict[str, float | int]]] = {
    NOISY_AP: [dict(sent=5, received=5, loss_pct=0.0, rtt_min_ms=2.0, rtt_avg_ms=3.0, rtt_max_ms=5.0, jitter_ms=0.8)] * 3,
    BUSY_AP: [dict(sent=5, received=5, loss_pct=0.0, rtt_min_ms=18.0, rtt_avg_ms=25.0, rtt_max_ms=40.0, jitter_ms=6.0),
              dict(sent=5, received=5, loss_pct=0.0, rtt_min_ms=19.0, rtt_avg_ms=28.0, rtt_max_ms=45.0, jitter_ms=7.0),
              dict(sent=5, received=3, loss_pct=40.0, rtt_min_ms=20.0, rtt_avg_ms=35.0, rtt_max_ms=80.0,
                   jitter_ms=12.0)],
    TLALPAN_AP: [dict(sent=5, received=4, loss_pct=20.0, rtt_min_ms=30.0, rtt_avg_ms=50.0, rtt_max_ms=90.0,
                      jitter_ms=20.0),
                 dict(sent=5, received=4, loss_pct=20.0, rtt_min_ms=31.0, rtt_avg_ms=55.0, rtt_max_ms=95.0,
                      jitter_ms=21.0),
                 dict(sent=5, received=0, loss_pct=100.0)],
    BARE_AP: [dict(sent=5, received=4, loss_pct=20.0, rtt_min_ms=10.0, rtt_avg_ms=12.0, rtt_max_ms=15.0,
                   jitter_ms=1.5)] + [dict(sent=5, received=5, loss_pct=0.0, rtt_min_ms=10.0, rtt_avg_ms=12.0,
                                           rtt_max_ms=15.0, jitter_ms=1.5)] * 2,
}
# The run's outages points per cycle: (cause, district, zone) -> open. site_offline in Gustavo A. Madero closed in
# the last cycle (written once with 0); uplink_degraded opened in the second; offline in Gustavo A. Madero in the last.
OUTAGE_POINTS: list[dict[tuple[str, str, str], int]] = [
    {("offline", "Tlalpan", "sur"): 2, ("site_offline", "Gustavo A. Madero", "norte"): 1},
    {("offline", "Tlalpan", "sur"): 3, ("site_offline", "Gustavo A. Madero", "norte"): 1,
     ("uplink_degraded", "Gustavo A. Madero", "norte"): 2},
    {("offline", "Tlalpan", "sur"): 1, ("site_offline", "Gustavo A. Madero", "norte"): 0,
     ("uplink_degraded", "Gustavo A. Madero", "norte"): 2, ("offline", "Gustavo A. Madero", "norte"): 1},
]


def ping_line(ap: RadioAp, fields: dict[str, float | int], at_s: int) -> str:
    """One ap_ping point as the SPEC defines it (ap_status's tags), written out by hand."""
    tags = {"ap": ap.ap, "crew_zone": ap.crew_zone, "district": ap.district, "program": ap.program, "site": ap.site,
            "vendor": ap.profile.split("_")[0]}
    tag_text = ",".join(f"{k}={_tag(v)}" for k, v in sorted(tags.items()))
    field_text = ",".join(f"{k}={v}i" if k in PING_FIELDS_INT else f"{k}={float(v)!r}" for k, v in fields.items())
    return f"ap_ping,{tag_text} {field_text} {at_s}"


def outage_line(cause: str, district: str, zone: str, open_: int, at_s: int) -> str:
    return f"outages,cause={_tag(cause)},district={_tag(district)},zone={_tag(zone)} open={open_}i {at_s}"


@pytest.fixture(scope="session")
def ping_influx(influxdb: InfluxServer) -> Iterator[RadioInflux]:
    """ap_ping and outages points with known figures in their own database, three cycles a minute apart (the APs,
    districts and programme of radio_influx, so that the same selections apply)."""
    database = f"hotspotctl_grafana_ping_{os.getpid()}"
    influxdb.query(f'CREATE DATABASE "{database}"')
    now_s = int(time.time()) - 5
    first_s = now_s - (RADIO_CYCLES - 1) * RADIO_STEP_S
    lines = [ping_line(ap, rounds[cycle], first_s + cycle * RADIO_STEP_S)
             for cycle in range(RADIO_CYCLES) for ap, rounds in PING_ROUNDS.items()]
    lines += [outage_line(*key, value, first_s + cycle * RADIO_STEP_S)
              for cycle, points in enumerate(OUTAGE_POINTS) for key, value in points.items()]
    influxdb.write(database, lines)
    assert influxdb.count("ap_ping", "sent", database) == RADIO_CYCLES * len(PING_ROUNDS)
    yield RadioInflux(influxdb, database, datetime.fromtimestamp(first_s - 30, UTC),
                      datetime.fromtimestamp(now_s + 30, UTC), lines)
    influxdb.query(f'DROP DATABASE "{database}"')


CLUSTER_CPU_S = (3.25, 4.5, 4.0)  # the workers' CPU from one slot's conclusion to the next, the first three slots


@pytest.fixture(scope="session")
def cluster_influx(influxdb: InfluxServer) -> Iterator[RadioInflux]:
    """A cluster leader's poller_cluster points with known figures in their own database, three slots a minute
    apart (what a one-box run never writes: the queries that read them are run here)."""
    database = f"hotspotctl_grafana_cluster_{os.getpid()}"
    influxdb.query(f'CREATE DATABASE "{database}"')
    now_s = int(time.time()) - 5
    first_s = now_s - (RADIO_CYCLES - 1) * RADIO_STEP_S
    lines = [f"poller_cluster,host=lead shards=5i,shards_reported=5i,shards_missing=0i,shards_failed=0i,aps=700i,"
             f"ok=700i,failed=0i,timed_out=0i,skipped=0i,workers=2i,lag_s=1.5,outages_open=0i,points=2805i,"
             f"redis_failures=0i,workers_redis_failures=0i,workers_cpu_s={cpu!r} {first_s + i * RADIO_STEP_S}"
             for i, cpu in enumerate(CLUSTER_CPU_S)]
    influxdb.write(database, lines)
    assert influxdb.count("poller_cluster", "workers_cpu_s", database) == len(CLUSTER_CPU_S)
    yield RadioInflux(influxdb, database, datetime.fromtimestamp(first_s - 30, UTC),
                      datetime.fromtimestamp(now_s + 30, UTC), lines)
    influxdb.query(f'DROP DATABASE "{database}"')


_scratch = itertools.count()


@pytest.fixture
def database(influxdb: InfluxServer) -> Iterator[str]:
    """A database of the test's own on the session's InfluxDB, dropped afterwards (``InfluxServer.write`` fills it)."""
    name = f"hotspotctl_scratch_{os.getpid()}_{next(_scratch)}"
    influxdb.query(f'CREATE DATABASE "{name}"')
    yield name
    influxdb.query(f'DROP DATABASE "{name}"')
