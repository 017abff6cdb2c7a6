"""The cluster end to end: three `hotspotctl worker` processes and two `hotspotctl run --distributed`
schedulers against a simulated fleet, with real redis-server, PostgreSQL and InfluxDB.

What issue 19 must show, asserted on what an operator would look at (InfluxDB and ``shard_cycles``):

- every AP has exactly one point per slot in every cycle, stamped on the slot;
- a worker killed (SIGKILL) while it has a ``running`` row costs its shards that slot only: from the next
  slot on, the other workers poll them (no AP misses more than one slot), and its spool, replayed, adds
  nothing twice;
- the leading scheduler killed (SIGKILL), the standby dispatches the next slot (within a cycle);
- no point is duplicated (one ``poller_cycle`` per shard and slot, whatever the host; every timestamp on a
  slot) and rates stay right across the takeover: every AP's ``in_bps`` after its first sample is there (no
  ``discontinuity``, which leaves it out) and within 10 % of what the simulator's traffic model carried.

The simulator runs in this process (forked serving processes, real UDP on loopback) so that the test can
read each AP's traffic model; its answers wait 0.7 s (a latency scenario) so that a shard's cycle
lasts long enough to be killed in the middle. Everything waits on conditions (tests/waiting.py): the
deadlines are there for a defect, never for the machine's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotspotctl.collectors.auth import DEFAULT_AUTH, resolve
from hotspotctl.collectors.model import Discovery, PollError
from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.grafana.alerting import Verdict, evaluate, rules
from hotspotctl.grafana.dashboards import load_dashboards
from hotspotctl.grafana.templating import TimeRange, expand
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.scheduling.cycle import discover_aps
from hotspotctl.scheduling.shards import shard_keys, shard_of
from hotspotctl.settings import Settings, load_settings
from hotspotctl.simulate.scenario import load_scenario
from hotspotctl.simulate.simulator import SimulationPlan, Simulator, assign_addresses, plan_simulation
from hotspotctl.store import Store
from tests.servers import InfluxServer, PostgresServer, RedisServer
from tests.waiting import PATIENCE_S, eventually

INTERVAL_S = 8  # an integer: slots are whole seconds
SHARDS = 12
SITES = 20
APS_PER_SITE = 15  # 300 APs
WORKERS = ("w1", "w2", "w3")
SCHEDULERS = ("sched-a", "sched-b")
LATENCY_MS = 700  # fixed: a jitter would be a rate error of jitter / interval, and a slot dispatched late
# (a scheduler started, or a leader taking over, mid-slot) leaves a short interval to the next one
RATE_TOLERANCE = 0.10
PROGRAMS = ("Escuelas", "MiCalle", "Transporte (Metrobus)", "Poste C5")
LOG_TAIL = 60  # lines of each process's log shown when the test fails


# --- the fleet: an inventory in PostgreSQL, discovered, and the simulator serving it --------------------------


def _inventory(path: Path) -> Path:
    """SITES sites of APS_PER_SITE APs each (the APs of a site share its coordinates: one derived site)."""
    rows = ["id,lat,lon,district,program"]
    for site in range(SITES):
        lat, lon = 19.30 + site * 0.004, -99.10 - (site % 5) * 0.006
        for n in range(APS_PER_SITE):
            rows.append(f"E2E-{site:02d}-{n:02d},{lat:.5f},{lon:.5f},{'Iztapalapa' if site % 2 else 'Tlalpan'},"
                        f"{PROGRAMS[site % len(PROGRAMS)]}")
    path.write_text("\n".join(rows) + "\n")
    return path


@dataclass
class E2eFleet:
    data_dir: Path
    settings: Settings  # this process's view: the store and SNMP (the processes read hotspotctl.toml)
    plan: SimulationPlan
    port: int
    simulator: Simulator | None = None

    @property
    def aps(self) -> list[AccessPoint]:
        return self.plan.aps


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _build_fleet(data_dir: Path, store_url: str) -> E2eFleet:
    settings = load_settings(flags={"data_dir": ("--data-dir", str(data_dir))}).settings
    settings = replace(settings, database_url=store_url, ping=replace(settings.ping, enabled=False),
                       snmp=replace(settings.snmp, timeout_s=3.0, retries=1))
    scenario_file = data_dir / "scenario.yaml"
    scenario_file.write_text(yaml.safe_dump({"name": "slow answers", "faults": [
        {"kind": "latency", "ms": LATENCY_MS}]}))
    port = _free_udp_port()
    with Store.open(store_url) as store:
        import_inventory(store, _inventory(data_dir / "aps.csv"), settings.inventory)
        fleet = Fleet.load(store, CrewZones.from_settings(settings.crew_zones))
        community = resolve(DEFAULT_AUTH, settings.snmp.auth).community
        # noon: every programme's curve carries traffic (at night a school's is 0, and so is its rate)
        plan = plan_simulation(fleet, sorted(fleet.aps.values(), key=lambda ap: ap.id), seed=19,
                               scenario=load_scenario(scenario_file), community=community, v3_fraction=0.0,
                               port=port, start_hour=12.0)
        assign_addresses(store, plan, v2c_auth=DEFAULT_AUTH, v3_auth="sim-v3")

        # Discovery's walks, one request after the other, would each wait for the latency too: seconds that no
        # assertion is about. Discover at full speed first; the cycles' GETs then meet the latency.
        async def discover() -> dict[str, Discovery | PollError]:
            with Poller(settings.snmp, load_profiles([])) as poller:
                return await discover_aps(store, plan.aps, settings.snmp, load_profiles([]), poller)

        with Simulator([replace(ap, latency_ms=None) for ap in plan.fleet], plan.clock, port=port, processes=1):
            found = asyncio.run(discover())
    assert sum(1 for r in found.values() if isinstance(r, Discovery)) == SITES * APS_PER_SITE, found
    return E2eFleet(data_dir, settings, plan, port)


# --- the cluster's processes -------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    killed: bool = False


@dataclass
class Cluster:
    """The processes of one test's cluster, their logs, and what they wrote (shard_cycles, InfluxDB)."""

    data_dir: Path
    config: Path
    store_url: str
    redis_url: str
    influx: InfluxServer
    database: str
    processes: dict[str, Process] = field(default_factory=dict)
    shards: set[int] = field(default_factory=lambda: set(range(SHARDS)))  # the shards that hold APs

    # processes

    def env(self, name: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTCTL_")}
        env.update({"HOTSPOTCTL_CONFIG": str(self.config), "HOTSPOTCTL_DATA_DIR": str(self.data_dir),
                    "HOTSPOTCTL_CLUSTER_REDIS_URL": self.redis_url, "HOTSPOTCTL_CLUSTER_WORKER": name, **extra})
        return env

    def start(self, name: str, *args: str) -> Process:
        log = self.data_dir / "logs" / f"{name}.log"
        log.parent.mkdir(exist_ok=True)
        with log.open("ab") as out:
            popen = subprocess.Popen([sys.executable, "-m", "hotspotctl", *args], stdout=out, stderr=subprocess.STDOUT,
                                     env=self.env(name), cwd=self.data_dir)
        self.processes[name] = Process(name, popen, log)
        return self.processes[name]

    def start_worker(self, name: str) -> Process:
        return self.start(name, "worker")

    def start_scheduler(self, name: str) -> Process:
        return self.start(name, "run", "--distributed", "--log-format", "json")

    def kill(self, name: str) -> None:
        """SIGKILL: no handler runs, nothing is flushed or released (a power cut, the OOM killer)."""
        process = self.processes[name]
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(timeout=30)
        process.killed = True

    def replay(self, name: str) -> str:
        """`hotspotctl spool flush` on process ``name``'s own spool (a worker's <spool>/<name>, a leader's
        <spool>/leader.<name>): what it says it sent."""
        own = f"leader.{name}" if name in SCHEDULERS else name
        assert (self.data_dir / "spool" / own).is_dir(), sorted(p.name for p in (self.data_dir / "spool").iterdir())
        done = subprocess.run([sys.executable, "-m", "hotspotctl", "spool", "flush"], capture_output=True, text=True,
                              cwd=self.data_dir,
                              env=self.env(name, HOTSPOTCTL_SPOOL_DIR=str(self.data_dir / "spool" / own)))
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stderr.strip()

    def status(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`hotspotctl cluster status`, as an operator would run it on any of the cluster's machines."""
        return subprocess.run([sys.executable, "-m", "hotspotctl", "cluster", "status", *args], capture_output=True,
                              text=True, cwd=self.data_dir, env=self.env("operator"), timeout=60)

    def alive(self, name: str) -> bool:
        return self.processes[name].popen.poll() is None

    def stop(self, timeout_s: float = 30.0) -> dict[str, int | None]:
        """SIGTERM to every process still running, then wait (SIGKILL past ``timeout_s``): their exit codes."""
        for process in self.processes.values():
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()
        return {name: p.popen.returncode for name, p in self.processes.items()}

    def logs(self) -> str:
        parts = []
        for process in self.processes.values():
            lines = process.log.read_text(errors="replace").splitlines() if process.log.exists() else []
            state = "killed" if process.killed else f"exit {process.popen.poll()}"
            parts.append(f"--- {process.name} ({state}), last {LOG_TAIL} of {len(lines)} lines ---")
            parts.extend(lines[-LOG_TAIL:])
        return "\n".join(parts)

    @contextlib.contextmanager
    def explained(self) -> Iterator[None]:
        """A failure inside shows every process's log (pytest prints a failed test's captured output)."""
        try:
            yield
        except BaseException:
            print(self.logs())
            raise

    # Redis: the workers' heartbeats (SPEC: hotspotctl:worker:<name>, present while the worker lives)

    def heartbeats(self) -> set[str]:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            return {key.decode().rsplit(":", 1)[1] for key in client.scan_iter("hotspotctl:worker:*")}
        finally:
            client.close()

    # PostgreSQL: shard_cycles (migration 14)

    def rows(self, where: str = "TRUE", *params: Any) -> list[dict[str, Any]]:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.store_url, row_factory=dict_row) as conn:
            return list(conn.execute(
                f"SELECT shard, slot, worker, state, started_at FROM shard_cycles WHERE {where} ORDER BY slot, shard",
                params))

    def done(self, slot: float) -> dict[int, str]:
        """The shards done in ``slot``, with the worker that did each."""
        return {int(r["shard"]): r["worker"] for r in self.rows("slot = %s AND state = 'done'", slot)}

    def slots(self) -> list[float]:
        return sorted({float(r["slot"]) for r in self.rows()})

    def complete(self, slot: float) -> bool:
        """Whether every shard that holds APs is done in ``slot``."""
        return self.shards <= set(self.done(slot))

    # InfluxDB (1.x, InfluxQL, epoch seconds)

    def series(self, query: str) -> list[dict]:
        return self.influx.query(query, self.database)

    def points_by_ap(self, measurement: str, field_name: str, since: float, until: float) -> dict[str, dict[int, Any]]:
        """ap -> {timestamp (s): value} of ``field_name`` from ``since`` to ``until`` (both included)."""
        found: dict[str, dict[int, Any]] = {}
        for serie in self.series(f'SELECT "{field_name}" FROM "{measurement}" WHERE time >= {int(since)}s AND '
                                 f'time <= {int(until)}s GROUP BY "ap"'):
            found[serie["tags"]["ap"]] = {int(t): v for t, v in serie["values"] if v is not None}
        return found


def _config(path: Path, fleet: E2eFleet, influx: InfluxServer, database: str) -> Path:
    path.write_text(f"""
database_url = "{fleet.settings.database_url}"

[schedule]
interval_s = {INTERVAL_S}
discovery_cron = ""

[ping]
enabled = false

[snmp]
timeout_s = 3
retries = 1

[influx]
url = "{influx.url}"
api = "v1"
database = "{database}"

[cluster]
shards = {SHARDS}
heartbeat_s = 1
heartbeat_ttl_s = 3
threads = 4
""")  # heartbeat_ttl_s well under the interval: a worker killed early in a slot is gone before the next one
#      (leader_ttl_s is the default, half the interval: the takeover the operator gets)
    return path


# --- the test ------------------------------------------------------------------------------------------------


def _wait(condition: Any, what: str, cluster: Cluster, timeout_s: float = PATIENCE_S) -> None:
    if not eventually(condition, timeout_s, every_s=0.02):
        pytest.fail(f"{what} (waited {timeout_s:g} s)\n{cluster.logs()}", pytrace=False)


def _on_slots(points: dict[str, dict[int, Any]]) -> list[tuple[str, int]]:
    return [(ap, t) for ap, values in points.items() for t in values if t % INTERVAL_S]


def _expected_in_bps(fleet: E2eFleet, index: int, since: float, until: float) -> float:
    """The simulator's downstream rate (ifInOctets of the uplink) for AP ``index`` between two instants."""
    down, _ = fleet.plan.fleet[index].traffic.octets(fleet.plan.clock, since, until)
    return 8 * down / (until - since)


@pytest.fixture
def e2e(tmp_path: Path, postgres: PostgresServer, influxdb: InfluxServer, influx_database: str,
        redis_server: RedisServer) -> Iterator[tuple[E2eFleet, Cluster]]:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    store_url = postgres.create_database(f"e2e_{os.getpid()}_{tmp_path.name[-20:]}".replace("-", "_"))
    fleet = _build_fleet(data_dir, store_url)
    fleet.simulator = Simulator(fleet.plan.fleet, fleet.plan.clock, port=fleet.port, processes=1).start()
    influxdb.query(f'CREATE DATABASE "{influx_database}"')
    redis_server.flush()  # the session's Redis: no other test's last slot, leader or queued task
    cluster = Cluster(data_dir, _config(data_dir / "hotspotctl.toml", fleet, influxdb, influx_database), store_url,
                      redis_server.url, influxdb, influx_database)
    try:
        yield fleet, cluster
    finally:
        cluster.stop()
        fleet.simulator.stop()
        redis_server.flush()


def test_three_workers_survive_a_worker_and_a_scheduler_killed(e2e: tuple[E2eFleet, Cluster]) -> None:
    fleet, cluster = e2e
    aps = {ap.id: i for i, ap in enumerate(fleet.aps)}
    shard_by_ap = {ap_id: shard_of(site, SHARDS) for ap_id, site in shard_keys(fleet.aps).items()}
    assert set(shard_by_ap) == set(aps)
    cluster.shards = set(shard_by_ap.values())
    with cluster.explained():
        # three workers, live (their heartbeats in Redis) before anything is dispatched
        phases = {"start": time.monotonic()}
        for name in WORKERS:
            cluster.start_worker(name)
        _wait(lambda: cluster.heartbeats() >= set(WORKERS), "the three workers never all wrote their heartbeat",
              cluster)
        # the first scheduler leads (nobody else holds the lock); the second starts once it has dispatched.
        # A scheduler started in a slot's second half waits for the next slot (a slot dispatched that late would
        # make a shard still polling it skip the next one), so the slots checked start at the first dispatched.
        cluster.start_scheduler(SCHEDULERS[0])
        _wait(lambda: bool(cluster.slots()), "no slot was ever dispatched", cluster)
        first = cluster.slots()[0]
        _wait(lambda: cluster.complete(first), f"the first slot {first:.0f} never completed", cluster)
        phases["first slot"] = time.monotonic()
        cluster.start_scheduler(SCHEDULERS[1])

        # slot first + 1: rates (the first slot's samples had no predecessor)
        _wait(lambda: cluster.complete(first + INTERVAL_S), "the second slot never completed", cluster)

        # a worker killed while it polls a shard (a running row), from the third slot on
        def running() -> dict[str, Any] | None:
            rows = cluster.rows("slot >= %s AND state = 'running'", first + 2 * INTERVAL_S)
            return rows[0] if rows else None

        _wait(lambda: running() is not None, "no shard was ever seen running", cluster)
        caught = running()
        assert caught is not None
        victim, killed_slot = caught["worker"], float(caught["slot"])
        cluster.kill(victim)
        own = {shard for shard, worker in cluster.done(killed_slot - INTERVAL_S).items() if worker == victim}
        assert caught["shard"] in own, (caught, cluster.rows("slot = %s", killed_slot - INTERVAL_S))
        assert cluster.heartbeats() >= set(WORKERS) - {victim}

        # from the next slot on, the others poll its shards
        after = killed_slot + INTERVAL_S
        _wait(lambda: cluster.complete(after), f"slot {after:.0f} (after {victim} was killed) never completed",
              cluster, PATIENCE_S + 2 * INTERVAL_S)
        assert {cluster.done(after)[shard] for shard in own} <= set(WORKERS) - {victim}
        left = {int(r["shard"]): r["state"] for r in cluster.rows("slot = %s", killed_slot)}
        assert left[caught["shard"]] == "running", left  # killed mid-cycle: its row stays running
        assert victim not in cluster.heartbeats()

        # the leading scheduler killed right after it dispatched a slot: the standby dispatches the next one. After
        # the whole slot went out, every shard's row there: one row says only that its first message did, and the
        # others of a leader killed while it sends them reach workers only if the standby takes over in the slot's
        # first half (docs/cluster.md); on a loaded machine this test once lost the slot's last three shards so
        leader_slot = after + INTERVAL_S
        _wait(lambda: {int(r["shard"]) for r in cluster.rows("slot = %s", leader_slot)} >= cluster.shards,
              f"slot {leader_slot:.0f} was never wholly dispatched", cluster, PATIENCE_S + 2 * INTERVAL_S)
        cluster.kill(SCHEDULERS[0])
        leader_killed_at = time.time()
        taken_over = leader_slot + INTERVAL_S
        _wait(lambda: cluster.complete(taken_over), f"the standby never dispatched slot {taken_over:.0f}",
              cluster, PATIENCE_S + 2 * INTERVAL_S)
        # within a cycle: every shard of that slot started inside it
        started = [float(r["started_at"]) for r in cluster.rows("slot = %s", taken_over)]
        assert max(started) < taken_over + INTERVAL_S, (started, taken_over)
        assert cluster.alive(SCHEDULERS[1])

        # what `cluster status` says now: the new leader, the two live workers, no shard with APs behind
        shown = cluster.status("--format", "json")
        found = json.loads(shown.stdout)
        assert found["leader"] == SCHEDULERS[1], shown.stdout + shown.stderr
        assert set(found["workers"]) == set(WORKERS) - {victim}
        assert found["missed"] == [] and shown.returncode == 0, shown.stdout + shown.stderr
        table = cluster.status()

        # every slot up to the takeover's in InfluxDB (the live workers flush on their own)
        last = taken_over
        _wait(lambda: all(last in points for points in
                          cluster.points_by_ap("ap_status", "up", first, last).values())
              and len(cluster.points_by_ap("ap_status", "up", first, last)) == len(aps),
              f"InfluxDB never had every AP's point of slot {last:.0f}", cluster)
        _wait(lambda: bool(cluster.series(f'SELECT "aps" FROM "poller_cluster" WHERE time = {int(last)}s')),
              f"the new leader never concluded slot {last:.0f} (no poller_cluster point)", cluster)
        phases["takeover"] = time.monotonic()
        codes = cluster.stop()
        assert codes[SCHEDULERS[1]] == 0 and all(codes[w] == 0 for w in WORKERS if w != victim), codes

        # the dead processes' spools (durable, but nobody flushes them now), replayed as an operator would:
        # `hotspotctl spool flush` on each one's own directory
        replayed = {name: cluster.replay(name) for name in (victim, SCHEDULERS[0])}
        phases["stopped"] = time.monotonic()

        # shard_cycles: every slot complete but the killed one, where only the victim's shards may be missing
        slots = [float(s) for s in range(int(first), int(last) + 1, INTERVAL_S)]
        for slot in slots:
            done = cluster.done(slot)
            missing = cluster.shards - set(done)
            assert missing == set() if slot != killed_slot else missing <= own, (slot, done)
            assert slot <= killed_slot or victim not in done.values(), (slot, done)
        skipped = {int(r["shard"]) for r in cluster.rows("slot = %s AND state <> 'done'", killed_slot)}
        assert skipped <= own

        # InfluxDB: one ap_status per AP per slot, every timestamp on a slot
        status = cluster.points_by_ap("ap_status", "up", first, last)
        traffic = cluster.points_by_ap("ap_traffic", "in_bps", first, last)
        assert set(status) == set(aps)
        assert _on_slots(status) == [] and _on_slots(traffic) == []
        off_slots = {}  # every measurement the cluster wrote: each point on a slot
        for serie in cluster.series("SHOW MEASUREMENTS"):
            for (measurement,) in serie["values"]:
                times = {int(t) for found in cluster.series(f'SELECT * FROM "{measurement}" WHERE time >= '
                                                            f'{int(first)}s AND time <= {int(last)}s')
                         for t, *_ in found["values"]}
                off_slots[measurement] = sorted(t for t in times if t % INTERVAL_S)[:5]
        assert {"ap_status", "ap_traffic", "poller_cycle", "poller_cluster", "fleet_rollup"} <= set(off_slots)
        assert {m: times for m, times in off_slots.items() if times} == {}, off_slots
        for ap_id, points in status.items():
            expected = {int(s) for s in slots if s >= first}
            lost = expected - set(points)
            assert lost <= {int(killed_slot)}, (ap_id, sorted(lost))
            if lost:
                assert shard_by_ap[ap_id] in own and shard_by_ap[ap_id] not in cluster.done(killed_slot), ap_id
            assert set(points) - expected == set(), (ap_id, sorted(points))
            assert all(points[t] == 1 for t in points), (ap_id, points)

        # one poller_cycle per shard and slot, whichever host wrote it
        per_shard: dict[tuple[str, int], list[str]] = {}
        for serie in cluster.series(f'SELECT "aps" FROM "poller_cycle" WHERE time >= {int(first)}s AND time <= {int(last)}s '
                                    'GROUP BY "shard", "host"'):
            for t, _ in serie["values"]:
                per_shard.setdefault((serie["tags"]["shard"], int(t)), []).append(serie["tags"]["host"])
                assert int(t) % INTERVAL_S == 0, serie
        twice = {key: hosts for key, hosts in per_shard.items() if len(hosts) > 1}
        assert twice == {}
        assert set(per_shard) == {(str(shard), int(slot)) for slot in slots for shard in cluster.done(slot)}

        # what the NOC's Grafana makes of those lines. The spool rules read each worker's spool: on this healthy
        # cluster neither fires (a worker's whole spool over one shard's points once read as 7 or 8 cycles waiting, and
        # "InfluxDB away" fired). The poller dashboard's APs per cycle sums each slot's shards: every AP, in every
        # slot but the killed one, where the shards the victim never finished are missing
        noc = {rule.uid: rule for rule in rules(INTERVAL_S)}
        for uid in ("hotspotctl-influxdb-away", "hotspotctl-spool-growing"):
            rule = noc[uid]
            verdict = evaluate(rule, cluster.series(expand(rule.query, time_range=TimeRange.last(f"{rule.window_s}s"))))
            assert verdict.state == "Normal", (uid, verdict)
        # and "Shards missed a slot", over the slots checked: the victim's shards it never finished, that slot only
        rule = noc["hotspotctl-shards-missed"]
        checked = TimeRange(datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC))
        verdict = evaluate(rule, cluster.series(expand(rule.query, time_range=checked)))
        unfinished = len(own - set(cluster.done(killed_slot)))
        assert unfinished >= 1 and verdict == Verdict("Alerting", (float(unfinished),)), (verdict, unfinished)
        poller = next(d for d in load_dashboards() if d.uid == "hotspotctl-poller")
        (aps_per_cycle,) = [q for q in poller.queries() if q.title == "APs per cycle"]
        (shown,) = cluster.series(expand(aps_per_cycle.text, time_range=TimeRange.last("1h"),
                                         interval=timedelta(seconds=1)))
        per_slot = {int(row[0]): row[1:] for row in shown["values"] if first <= row[0] <= last}
        polled = {int(slot): sum(1 for shard in shard_by_ap.values() if shard in cluster.done(slot)) for slot in slots}
        assert per_slot == {slot: [polled[slot], 0, 0, 0] for slot in polled}, (per_slot, polled)
        assert {slot for slot, count in polled.items() if count != len(aps)} <= {int(killed_slot)}

        # one poller_cluster per slot (the leader's conclusion), none twice across the takeover
        concluded: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        for serie in cluster.series(f'SELECT * FROM "poller_cluster" WHERE time >= {int(first)}s AND '
                                    f'time <= {int(last)}s GROUP BY "host"'):
            for values in serie["values"]:
                row = dict(zip(serie["columns"], values, strict=True))
                concluded.setdefault(int(row["time"]), []).append((serie["tags"]["host"], row))
        assert sorted(concluded) == [int(s) for s in slots], concluded
        assert all(len(points) == 1 for points in concluded.values()), concluded
        assert concluded[int(first) + INTERVAL_S][0][0] == SCHEDULERS[0]
        assert concluded[int(taken_over)][0][0] == SCHEDULERS[1]
        # the workers' CPU per slot (their heartbeats' process CPU since the leader's previous conclusion): none at a
        # leader's first conclusion, then every slot's, more than nothing and less than this machine's cores can give
        by_leader: dict[str, list[Any]] = {}
        for stamp in sorted(concluded):
            host, row = concluded[stamp][0]
            by_leader.setdefault(host, []).append(row.get("workers_cpu_s"))
        assert set(by_leader) == set(SCHEDULERS), by_leader
        for spent in by_leader.values():
            assert spent[0] is None and all(s is not None and 0 < s < (os.cpu_count() or 1) * 2 * INTERVAL_S
                                            for s in spent[1:]), by_leader
        for slot in slots:
            _, row = concluded[int(slot)][0]
            lost_shards = own - set(cluster.done(killed_slot)) if slot == killed_slot else set()
            assert (row["shards_reported"], row["shards_missing"]) == (
                len(cluster.shards) - len(lost_shards), len(lost_shards)), (slot, row)

        # rates: after an AP's first sample, every sample has its in_bps (a discontinuity would leave it out),
        # and it is what the simulator carried, across the worker's death and the scheduler's
        wrong, errors = [], []
        for ap_id, points in status.items():
            times = sorted(points)
            for before, now in itertools.pairwise(times):
                rate = traffic.get(ap_id, {}).get(now)
                expected_bps = _expected_in_bps(fleet, aps[ap_id], before, now)
                if rate is None or abs(rate - expected_bps) > RATE_TOLERANCE * expected_bps:
                    wrong.append((ap_id, now, rate, round(expected_bps)))
                else:
                    errors.append(abs(rate - expected_bps) / expected_bps)
        assert wrong == [], f"{len(wrong)} rates off the model, e.g. {wrong[:10]}"
        moved = [ap_id for ap_id in aps if shard_by_ap[ap_id] in own]
        assert moved and all(int(after) in traffic[ap_id] for ap_id in moved)
        lost = [ap_id for ap_id, points in status.items() if int(killed_slot) not in points]
        print(f"slots {int(first)}..{int(last)} ({len(slots)}); {victim} killed in slot {int(killed_slot)} polling shard "
              f"{caught['shard']}; its shards {sorted(own)} ({len(moved)} APs) polled from slot {int(after)} by "
              f"{sorted({cluster.done(after)[s] for s in own})}; {len(lost)} APs without a point in slot "
              f"{int(killed_slot)}; {SCHEDULERS[0]} killed in slot {int(leader_slot)}, {SCHEDULERS[1]} dispatched "
              f"{int(taken_over)} (its last shard started {max(started) - taken_over:.2f} s in); {len(errors)} rates, "
              f"worst {max(errors):.1%} off the model; spools replayed: {replayed}; measurements, all on slots: "
              f"{sorted(off_slots)}")
        took = [json.loads(line) for line in cluster.processes[SCHEDULERS[1]].log.read_text().splitlines()
                if line.startswith("{") and "took the lock" in line]
        if took:
            print(f"{SCHEDULERS[1]} took the lock {datetime.fromisoformat(took[0]['ts']).timestamp() - leader_killed_at:.2f} s "
                  f"after {SCHEDULERS[0]} was killed (leader_ttl_s {INTERVAL_S / 2:g} s)")
        print("phases (s): " + ", ".join(f"{name} {at - phases['start']:.1f}" for name, at in phases.items()))
        print(f"cluster status (exit {table.returncode}):\n{table.stdout}{table.stderr}")

