"""The Celery/Redis layer (scheduling/cluster.py) against a real redis-server and PostgreSQL: the leader's lock and
its takeover, Redis lost, one worker process polling a simulated city end to end, cluster status, and the
one-box default that never imports celery."""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hotspotctl.errors import ConfigError
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.settings import Settings, load_settings
from hotspotctl.simulate.simulator import Simulator, assign_addresses, plan_simulation
from hotspotctl.store import Store
from tests.city import APS, _free_udp_port, _inventory
from tests.conftest import REPO
from tests.servers import PostgresServer, RedisServer
from tests.spooled import spooled_batches
from tests.waiting import eventually

if TYPE_CHECKING:
    from hotspotctl.scheduling.cluster import Leader

_databases = iter(range(1, 1_000_000))


def _env(data_dir: Path, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTCTL_")}
    env.update({
        "HOTSPOTCTL_DATA_DIR": str(data_dir), "HOTSPOTCTL_DATABASE_URL": database_url,
        "HOTSPOTCTL_CLUSTER_REDIS_URL": redis_url, "HOTSPOTCTL_PING_ENABLED": "false",
        "PYTHONPATH": str(REPO),
    })
    env.update(extra)
    return env


def _settings(env: dict[str, str]) -> Settings:
    return load_settings(env={k: v for k, v in env.items() if k.startswith("HOTSPOTCTL_")}).settings


def _imported_env(data_dir: Path, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """``_env``, its store holding the city's APS APs (tests/city.py's inventory)."""
    env = _env(data_dir, database_url, redis_url, **extra)
    with Store.open(database_url) as store:
        import_inventory(store, _inventory(data_dir / "aps.csv"), _settings(env).inventory)
    return env


class PgCity:
    """APS APs in a PostgreSQL store, pointed at a simulator on a free port (tests/city.py's City, shared)."""

    def __init__(self, data_dir: Path, database_url: str, redis_url: str, **extra: str) -> None:
        self.data_dir = data_dir
        self.env = _env(data_dir, database_url, redis_url, **extra)
        self.settings = _settings(self.env)
        self.store = Store.open(database_url)
        import_inventory(self.store, _inventory(data_dir / "aps.csv"), self.settings.inventory)
        fleet = Fleet.load(self.store, CrewZones.from_settings(self.settings.crew_zones))
        self.port = _free_udp_port()
        self.plan = plan_simulation(fleet, sorted(fleet.aps.values(), key=lambda ap: ap.id), seed=3,
                                    community=b"public", v3_fraction=0.0, port=self.port)
        assign_addresses(self.store, self.plan, v2c_auth="default", v3_auth="sim-v3")
        self.simulator = Simulator(self.plan.fleet, self.plan.clock, port=self.port, processes=1)


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    return postgres.create_database(f"cluster_{os.getpid()}_{next(_databases)}")


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url


def _hotspotctl(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hotspotctl", *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=env["HOTSPOTCTL_DATA_DIR"])


def _finish(process: subprocess.Popen[str], sig: int | None = signal.SIGTERM, timeout: float = 60) -> tuple[int, str]:
    if sig is not None and process.poll() is None:
        process.send_signal(sig)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"hotspotctl did not stop within {timeout} s; its log:\n{err}") from None
    return process.returncode, err


def _poll_messages(redis_server: RedisServer, queue: str) -> list[tuple[int, float]]:
    """The (shard, slot) of every poll task waiting in a Celery queue (kombu's Redis list, protocol 2)."""
    out = []
    for raw in redis_server.command("LRANGE", queue, "0", "-1"):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        out.append((int(args[0]), float(args[1])))
    return out


def _alive(redis_server: RedisServer, process: subprocess.Popen[str], key: str) -> None:
    """Wait until a started hotspotctl process has set ``key`` in Redis (its heartbeat, its lock): still running
    (its log if it stopped)."""
    assert eventually(lambda: redis_server.command("EXISTS", key) == 1 or process.poll() is not None, timeout_s=60)
    assert process.poll() is None, _finish(process, None)[1]


def _heartbeat(redis_server: RedisServer, name: str, ttl_s: float = 600) -> None:
    redis_server.command("SET", f"hotspotctl:worker:{name}", json.dumps({"host": "test", "pid": 1}),
                         "PX", str(int(ttl_s * 1000)))


# --- the one-box default ----------------------------------------------------------------------------------------


def test_only_scheduling_cluster_imports_celery_redis_or_kombu() -> None:
    importers = []
    for path in sorted((REPO / "hotspotctl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            if any(name.split(".")[0] in ("celery", "redis", "kombu") for name in names):
                importers.append(str(path.relative_to(REPO)))
    assert sorted(set(importers)) == ["hotspotctl/scheduling/cluster.py"]


def test_the_command_line_and_run_never_import_celery_or_redis() -> None:
    code = ("import sys; from hotspotctl.cli import app; from hotspotctl.cli import run; "
            "import hotspotctl.scheduling.service; print(sorted(m for m in ('celery', 'redis', 'kombu') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


# --- settings and refusals -----------------------------------------------------------------------------------------


def test_cluster_settings_defaults_and_the_secret_url(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(env={"HOTSPOTCTL_CLUSTER_REDIS_URL": "redis://:s3cret@10.0.0.5:6379/0"}).settings
    c = settings.cluster
    assert (c.shards, c.worker, c.heartbeat_s, c.heartbeat_ttl_s, c.leader_ttl_s, c.redis_lost_exit_s, c.threads) == (
        64, "", 2.0, 6.0, 0.0, 0.0, 4)
    assert "s3cret" not in repr(settings)
    from hotspotctl.scheduling.cluster import leader_ttl, redis_lost_after

    assert leader_ttl(settings) == 30.0 and redis_lost_after(settings) == 180.0
    with pytest.raises(ConfigError, match=r"cluster\.redis_url.*not a redis://"):
        load_settings(env={"HOTSPOTCTL_CLUSTER_REDIS_URL": "http://10.0.0.5/"})
    monkeypatch.setenv("HOTSPOTCTL_CLUSTER_REDIS_URL", "redis://:s3cret@127.0.0.1:1/0")
    shown = cli("config", "show")
    assert "redis://:***@127.0.0.1:1/0" in shown.out and "s3cret" not in shown.out


@pytest.mark.parametrize("args", [("worker", "--name", "w1"), ("run", "--distributed"), ("cluster", "status")])
def test_a_sqlite_store_is_refused_with_the_fix(cli, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    monkeypatch.setenv("HOTSPOTCTL_CLUSTER_REDIS_URL", "redis://127.0.0.1:1/0")
    result = cli(*args)
    assert result.code == 3, result.err
    assert "needs a PostgreSQL store" in result.err and "database_url = postgresql://" in result.err


@pytest.mark.parametrize("args", [("worker",), ("run", "--distributed"), ("cluster", "status")])
def test_no_redis_url_is_refused_with_the_fix(cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.code == 3, result.err
    assert "cluster.redis_url is not set" in result.err and "HOTSPOTCTL_CLUSTER_REDIS_URL" in result.err


def test_cluster_status_without_redis_is_exit_1_naming_it(cli, database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.servers import free_port

    monkeypatch.setenv("HOTSPOTCTL_DATABASE_URL", database)
    monkeypatch.setenv("HOTSPOTCTL_CLUSTER_REDIS_URL", f"redis://:pw@127.0.0.1:{free_port()}/0")  # nobody listens
    result = cli("cluster", "status")
    assert result.code == 1, result.err
    assert "error: Redis redis://:***@127.0.0.1:" in result.err and "is unreachable" in result.err
    assert "pw@" not in result.err


# --- the leader's lock ---------------------------------------------------------------------------------------------


def test_one_leader_dispatches_and_a_standby_takes_over_within_ttl_plus_1s(
        tmp_path: Path, database: str, redis_server: RedisServer, redis_url: str) -> None:
    from hotspotctl.scheduling.cluster import LEADER_KEY, Leader, own_sink

    ttl = 1.5
    interval = 2.0
    env = _imported_env(tmp_path, database, redis_url, HOTSPOTCTL_CLUSTER_LEADER_TTL_S=str(ttl),
                        HOTSPOTCTL_SCHEDULE_INTERVAL_S=str(interval), HOTSPOTCTL_CLUSTER_SHARDS="8",
                        HOTSPOTCTL_CLUSTER_WORKER="leader-a",
                        HOTSPOTCTL_TRAPS_ENABLED="true")  # a setting for `run` alone: said once, not ignored
    settings = _settings(env)
    _heartbeat(redis_server, "w1")  # a live worker (no process consumes its queue: the tasks wait there)
    a = _hotspotctl(env, "run", "--distributed", "--log-level", "debug")
    b_settings = replace(settings, cluster=replace(settings.cluster, worker="leader-b"))
    with Store.open(database) as store:
        b = Leader(b_settings, store, name="leader-b", sink=own_sink(b_settings, "leader.leader-b"))
        thread = threading.Thread(target=b.run, daemon=True)
        try:
            assert eventually(lambda: str(redis_server.command("GET", LEADER_KEY) or "").startswith("leader-a:"),
                              timeout_s=30), "leader-a never took the lock"
            thread.start()
            # two slots with both contending: A dispatches them, B never takes the lock
            assert eventually(lambda: redis_server.command("GET", "hotspotctl:slot") is not None, timeout_s=30)
            first = float(redis_server.command("GET", "hotspotctl:slot"))
            assert eventually(lambda: float(redis_server.command("GET", "hotspotctl:slot")) >= first + 2 * interval,
                              timeout_s=30)
            assert b.acquired == [] and b.dispatched == []
            # A hangs (SIGSTOP: no renewal, no release): B takes over within the lock's ttl + 1 s
            a.send_signal(signal.SIGSTOP)
            stopped = time.time()
            assert eventually(lambda: bool(b.acquired), timeout_s=30), "leader-b never took over"
            assert b.acquired[0] - stopped <= ttl + 1.0
            assert eventually(lambda: len(b.dispatched) >= 2, timeout_s=30)
            # A wakes up: it finds the lock lost and stands by; it dispatches nothing B did
            a.send_signal(signal.SIGCONT)
            taken = len(b.dispatched)
            assert eventually(lambda: len(b.dispatched) >= taken + 2, timeout_s=30)
            # nobody polls: every slot B concluded had its shards missing, and its health for the NOC says so
            health = b.health(0.0)
            assert health["failed_in_a_row"] == len(b.concluded) >= 2
            assert "shards did not report" in health["last_failure"]
        finally:
            b.stop()
            thread.join(timeout=30)
            a.send_signal(signal.SIGCONT)
            code, err = _finish(a)
    assert code == 0, err
    assert "took the lock" in err and "was lost" in err and "standing by" in err
    assert err.count("traps.enabled is set, but a cluster does not listen for traps") == 1
    messages = _poll_messages(redis_server, "poll.w1")
    assert len(messages) == len(set(messages)), "a (shard, slot) was dispatched twice"
    slots = sorted({slot for _, slot in messages})
    expected = {shard for shard, _ in messages}
    assert all(sorted(s for s, slot_ in messages if slot_ == slot) == sorted(expected) for slot in slots)
    assert {d.slot for d in b.dispatched} <= set(slots)
    # a slot is concluded once: each leader's poller_cluster points, at distinct slots
    concluded = [_poller_cluster_slots(tmp_path / "spool" / f"leader.{name}") for name in ("leader-a", "leader-b")]
    assert concluded[0] and concluded[1]
    both = concluded[0] + concluded[1]
    assert len(both) == len(set(both))


def _poller_cluster_slots(spool_dir: Path) -> list[int]:
    return [int(line.rsplit(" ", 1)[1]) for batch in spooled_batches(spool_dir) for line in batch
            if line.startswith("poller_cluster,")]


# --- Redis lost ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("run", "--distributed"), ("worker", "--name", "w-lost")])
def test_redis_lost_stops_the_process_with_exit_1_after_the_bound(
        tmp_path: Path, database: str, command: tuple[str, ...]) -> None:
    own = RedisServer().start()
    try:
        env = _imported_env(tmp_path, database, own.url, HOTSPOTCTL_CLUSTER_REDIS_LOST_EXIT_S="3",
                            HOTSPOTCTL_SCHEDULE_INTERVAL_S="2", HOTSPOTCTL_CLUSTER_HEARTBEAT_S="0.5")
        process = _hotspotctl(env, *command)
        key = "hotspotctl:leader" if command[0] == "run" else "hotspotctl:worker:w-lost"
        _alive(own, process, key)
        own.halt()
        lost = time.monotonic()
        code, err = _finish(process, None, timeout=60)
        took = time.monotonic() - lost
    finally:
        own.stop()
    assert code == 1, err
    assert "is unreachable" in err  # said at once, as an error
    assert "was unreachable for" in err and "cluster.redis_lost_exit_s 3 s" in err
    assert 3 <= took <= 3 + 30  # the bound, then a warm stop within the grace period


# --- one worker, end to end ----------------------------------------------------------------------------------------


# 32 shards for the city's 40 sites: some shards have none (nothing to poll, never "missed")
CITY = {"HOTSPOTCTL_SCHEDULE_INTERVAL_S": "3", "HOTSPOTCTL_CLUSTER_SHARDS": "32", "HOTSPOTCTL_CLUSTER_HEARTBEAT_S": "0.5"}


@pytest.fixture
def pg_cities(tmp_path: Path, database: str, redis_url: str) -> Iterator[Callable[..., PgCity]]:
    """``PgCity(tmp_path, database, redis_url, **extra)``, its simulator started; after the test, every one made
    stopped and its store closed."""
    cities: list[PgCity] = []

    def start(**extra: str) -> PgCity:
        city = PgCity(tmp_path, database, redis_url, **extra)
        city.simulator.start()
        cities.append(city)
        return city

    try:
        yield start
    finally:
        for city in cities:
            city.simulator.stop()
            city.store.close()


def _leader_thread(city: PgCity, name: str = "lead", **kwargs: Any) -> tuple[Leader, threading.Thread]:
    """A ``Leader`` of the city's store (its own sink unless ``sink`` is given) and the thread to run it in."""
    from hotspotctl.scheduling.cluster import Leader, own_sink

    sink = kwargs.pop("sink", None) or own_sink(city.settings, f"leader.{name}")
    leader = Leader(city.settings, city.store, name=name, sink=sink, **kwargs)
    return leader, threading.Thread(target=leader.run, daemon=True)


def _stop_leader(leader: Leader, thread: threading.Thread) -> None:
    leader.stop()
    thread.join(timeout=30)


@pytest.fixture
def pg_city(pg_cities: Callable[..., PgCity]) -> PgCity:
    return pg_cities(**CITY)


def test_one_worker_polls_a_simulated_city_through_celery(pg_city: PgCity, redis_server: RedisServer,
                                                         cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotspotctl.scheduling.cluster import cluster_status
    from hotspotctl.store.cluster import shard_cycles_of_slot

    settings = pg_city.settings
    worker = _hotspotctl(pg_city.env, "worker", "--name", "w1", "--log-level", "info")
    leader, thread = _leader_thread(pg_city)
    try:
        _alive(redis_server, worker, "hotspotctl:worker:w1")
        # a second worker of the same name is refused while the first is alive (its queues, its spool)
        twin = _hotspotctl(pg_city.env, "worker", "--name", "w1")
        code, err = _finish(twin, None)
        assert code == 3, err
        assert "a worker named 'w1' is alive" in err and "another --name" in err
        alive = json.loads(redis_server.command("GET", "hotspotctl:worker:w1"))
        assert alive["pid"] == worker.pid  # the refused twin left the live worker's heartbeat alone
        thread.start()
        assert eventually(lambda: len(leader.concluded) >= 3, timeout_s=60), leader.concluded
        summaries = leader.concluded[:3]
        # the first slot may be partly over when the leader starts; the next ones are whole
        for summary in summaries[1:]:
            assert summary.shards_missing == [], summary
            assert summary.shards_reported == summary.shards_expected > 1
            assert (summary.aps, summary.ok, summary.failed) == (APS, APS, 0)
            assert summary.workers == 1
            assert sum(t["aps"] for t in summary.districts.values()) == APS
        assert leader.failed_in_a_row == 0 and leader.last_failure is None
        for summary in summaries:
            with pg_city.store.read() as conn:
                rows = shard_cycles_of_slot(conn, summary.slot)
            assert {r.worker for r in rows} <= {"w1"}
            assert len({r.shard for r in rows}) == len(rows)  # one claim per (shard, slot)
        last = summaries[-1].slot
        # the heartbeat (every 0.5 s) catches up with the polls: two whole slots at least
        assert eventually(lambda: json.loads(redis_server.command("GET", "hotspotctl:worker:w1"))["polled"]
                          >= 2 * summaries[-1].shards_expected, timeout_s=30)
        status = cluster_status(settings, pg_city.store, now=last + settings.schedule.interval_s + 0.5)
        assert list(status.workers) == ["w1"]
        assert status.leader == "lead"
        assert status.last_dispatched >= last and status.last_concluded >= last
        assert status.missed == []
        with_aps = [s for s in status.shards if s.has_aps]
        assert len(with_aps) == summaries[-1].shards_expected
        # each shard's newest row: the slot that ended (done), or the next one already (the leader goes on)
        assert all(s.worker == "w1" and s.lag_s == 0 and s.slot is not None for s in with_aps)
        assert all(s.state == "done" for s in with_aps if s.slot == last)
        without = [s for s in status.shards if not s.has_aps]
        assert without and all(s.slot is None and not s.missed for s in without)
        # through the command line, while the cluster runs: every shard with APs finished the last slot
        for name, value in pg_city.env.items():
            if name.startswith("HOTSPOTCTL_"):
                monkeypatch.setenv(name, value)
        shown = cli("cluster", "status", "--format", "json")
        assert shown.code == 0, shown.err
        data = json.loads(shown.out)
        assert list(data["workers"]) == ["w1"] and data["leader"] == "lead" and data["missed"] == []
        table = cli("cluster", "status")
        assert table.code == 0, table.err
        assert "w1" in table.out and "Shards behind" not in table.out and "no APs" not in table.out
        assert f"{len(with_aps)} of the {len(with_aps)} shards with APs finished" in table.out
        assert f"{len(without)} shards without APs; --shards lists every shard" in table.err
        every = cli("cluster", "status", "--shards")
        assert every.code == 0, every.err
        listed = [row for row in every.out.splitlines() if row.startswith("│")]
        assert len(listed) == 1 + len(status.shards) and "no APs" in every.out  # the worker, then every shard
    finally:
        _stop_leader(leader, thread)
        code, err = _finish(worker)
    assert code == 0, err
    assert "claimed already" not in err
    assert redis_server.command("EXISTS", "hotspotctl:worker:w1") == 0  # gone at once on a clean stop
    assert redis_server.command("EXISTS", "hotspotctl:leader") == 0  # released on the way out
    spooled = list((pg_city.data_dir / "spool" / "w1").glob("*.lp*"))
    assert spooled, "the worker spooled nothing of its own"
    # and with the workers gone, the shards with APs miss the next slots: exit 4, naming them
    after = cluster_status(settings, pg_city.store, now=time.time() + 2 * settings.schedule.interval_s)
    assert after.missed == [s.shard for s in with_aps] and not after.workers
    # and the command says so, exit 4 naming them, once a slot has ended with nobody polling (<= 2 intervals)
    shown = []
    assert eventually(lambda: shown.append(cli("cluster", "status")) or shown[-1].code == 4,
                      timeout_s=3 * settings.schedule.interval_s), shown[-1].err
    assert "shards did not finish the slot of" in shown[-1].err and "Shards behind" in shown[-1].out


def test_two_workers_split_the_shards_by_rendezvous_and_keep_them(pg_city: PgCity, redis_server: RedisServer) -> None:
    from hotspotctl.scheduling.shards import assign_shards
    from hotspotctl.store.cluster import shard_cycles_of_slot

    settings = pg_city.settings
    workers = [_hotspotctl(pg_city.env, "worker", "--name", name) for name in ("w1", "w2")]
    leader, thread = _leader_thread(pg_city)
    try:
        assert eventually(lambda: redis_server.command("EXISTS", "hotspotctl:worker:w1", "hotspotctl:worker:w2") == 2
                          or any(w.poll() is not None for w in workers), timeout_s=60)
        thread.start()
        assert eventually(lambda: len(leader.concluded) >= 4, timeout_s=90), leader.concluded
        owners = assign_shards(settings.cluster.shards, ["w1", "w2"])
        for summary in leader.concluded[1:4]:
            assert summary.shards_missing == [] and (summary.aps, summary.ok) == (APS, APS), summary
            assert summary.workers == 2
            with pg_city.store.read() as conn:
                rows = shard_cycles_of_slot(conn, summary.slot)
            assert {r.shard: r.worker for r in rows} == {s: owners[s] for s in {r.shard for r in rows}}
            assert {r.worker for r in rows} == {"w1", "w2"}  # both have shards of the city
        # slot after slot, a worker keeps its shards and their memory: no reload after the first
        with pg_city.store.read() as conn:
            later = [r for summary in leader.concluded[2:4] for r in shard_cycles_of_slot(conn, summary.slot)]
            first = [r for summary in leader.concluded[0:2] for r in shard_cycles_of_slot(conn, summary.slot)]
        assert later and not any(r.reloaded for r in later)
        assert any(r.reloaded for r in first)  # a worker's first cycle of a shard loads it from the store
    finally:
        _stop_leader(leader, thread)
        results = [_finish(w) for w in workers]
    for code, err in results:
        assert code == 0, err
        assert "claimed already" not in err


def test_shards_of_a_dead_worker_missing_slot_after_slot_reach_the_noc_through_the_delivery_queue(
        pg_cities: Callable[..., PgCity], redis_server: RedisServer) -> None:
    from tests.servers import ScriptedHttpServer

    hook = ScriptedHttpServer()
    city = pg_cities(**CITY, HOTSPOTCTL_NOC_WEBHOOK_URL=hook.url + "/api/v2/alerts")
    # "ghost" looks alive (its heartbeat is there) but takes no task: its shards miss every slot
    _heartbeat(redis_server, "ghost")
    worker = _hotspotctl(city.env, "worker", "--name", "w1")
    leader, thread = _leader_thread(city)
    try:
        _alive(redis_server, worker, "hotspotctl:worker:w1")
        thread.start()

        def failing_notice() -> bool:
            return any(b"did not report" in r["body"] for r in hook.requests)

        assert eventually(failing_notice, timeout_s=60), [r["body"][:300] for r in hook.requests]
        assert all(d.workers == ("ghost", "w1") for d in leader.dispatched)
        partial = [s for s in leader.concluded if s.shards_reported]
        assert partial and all(0 < s.shards_reported < s.shards_expected for s in partial)
        beat = json.loads(redis_server.command("GET", "hotspotctl:worker:w1"))
        assert beat["deliveries"] >= 1  # w1 took the send_noc task from the shared delivery queue
    finally:
        _stop_leader(leader, thread)
        code, err = _finish(worker)
        hook.stop()
    assert code == 0, err
    (notice,) = {r["path"] for r in hook.requests}
    assert notice == "/api/v2/alerts"


def test_the_worker_and_cluster_help_show_examples(cli) -> None:
    for args in (("worker", "--help"), ("cluster", "status", "--help"), ("run", "--help")):
        shown = cli(*args)
        assert shown.code == 0
        assert "Examples:" in shown.out
    assert "--distributed" in cli("run", "--help").out


@pytest.mark.parametrize(("unit", "command"), [("hotspotctl-worker.service", ["worker", "--log-format", "json"]),
                                               ("hotspotctl-leader.service",
                                                ["run", "--distributed", "--log-format", "json"])])
def test_the_cluster_units_run_their_command_restarted_on_failure(unit: str, command: list[str], cli) -> None:
    import configparser
    import shlex

    from hotspotctl.settings import ScheduleSettings

    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.read(REPO / "deploy" / unit)
    service = parsed["Service"]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "hotspotctl" and argv[1:] == command
    assert service["Restart"] == "on-failure"  # Redis lost: exit 1, started again
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) > ScheduleSettings().grace_s
    assert "EnvironmentFile" in service  # the store's and Redis's passwords from a file, not the unit
    assert cli(*command[:-2], "--help").code == 0


def test_the_leaders_crons_fire_once_per_fire_time() -> None:
    from hotspotctl.scheduling.cluster import _Crons

    settings = load_settings(env={"HOTSPOTCTL_SCHEDULE_DISCOVERY_CRON": "* * * * *"}).settings
    crons = _Crons(settings)
    assert crons.jobs == {"discovery": "* * * * *"}  # crews only when crews.send_via names channels
    minute = 60 * 29_000_000
    assert crons.due(minute + 10) == []
    assert crons.due(minute + 59.9) == []
    assert crons.due(minute + 60) == ["discovery"]
    assert crons.due(minute + 61) == []
    assert crons.due(minute + 119) == []
    assert crons.due(minute + 185) == ["discovery"]  # late: once, not once per fire time missed
    assert crons.due(minute + 200) == []
    assert crons.due(minute + 240) == ["discovery"]


# --- the leader's fixes (issue 19's e2e findings) ----------------------------------------------------------------


def _leader_env(tmp_path: Path, database: str, redis_url: str, interval: float, **extra: str) -> dict[str, str]:
    return _imported_env(tmp_path, database, redis_url, HOTSPOTCTL_SCHEDULE_INTERVAL_S=str(interval),
                         HOTSPOTCTL_CLUSTER_SHARDS="8", HOTSPOTCTL_CLUSTER_LEADER_TTL_S="30", **extra)


@contextlib.contextmanager
def _stepped_leader(tmp_path: Path, database: str, redis_server: RedisServer, name: str,
                    interval: float, **extra: str) -> Iterator[Leader]:
    """A ``Leader`` named ``name`` (its turns taken by the test: ``step``) of a store holding the city
    (``_leader_env``), with ``w1`` alive by its heartbeat; stopped, its lock released and its sink closed on the way
    out."""
    from hotspotctl.scheduling.cluster import Leader, own_sink

    settings = _settings(_leader_env(tmp_path, database, redis_server.url, interval, **extra))
    _heartbeat(redis_server, "w1")  # a live worker; its queue keeps the tasks the leader sends
    with Store.open(database) as store:
        sink = own_sink(settings, f"leader.{name}")
        leader = Leader(settings, store, name=name, sink=sink)
        try:
            yield leader
        finally:
            leader.stop()
            leader.release()
            sink.close()


def _into_slot(interval: float, low: float, high: float) -> float:
    """Sleep until ``low`` to ``high`` of a slot has gone; that slot's start."""
    while True:
        now = time.time()
        slot = now // interval * interval
        if low * interval <= now - slot <= high * interval:
            return slot
        time.sleep(0.02)


def test_a_leader_taking_the_lock_in_a_slots_second_half_waits_for_the_next_slot(
        tmp_path: Path, database: str, redis_server: RedisServer, redis_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    from hotspotctl.scheduling.cluster import SLOT_KEY

    interval = 4.0
    caplog.set_level("INFO", logger="hotspotctl.cluster")
    with _stepped_leader(tmp_path, database, redis_server, "late", interval) as leader:
        slot = _into_slot(interval, 0.6, 0.8)
        leader.step()  # takes the lock 60-80 % into the slot: nothing dispatched
        assert leader.leading and leader.acquired
        assert leader.dispatched == [] and redis_server.command("GET", SLOT_KEY) is None
        assert _poll_messages(redis_server, "poll.w1") == []
        leader.step()  # said once
        waiting = [r.getMessage() for r in caplog.records if "waiting for the next slot" in r.getMessage()]
        assert len(waiting) == 1 and caplog.records[-1].levelname == "INFO"
        time.sleep(max(0.0, slot + interval - time.time()) + 0.05)
        leader.step()  # the next slot, at its start
        assert [d.slot for d in leader.dispatched] == [slot + interval]
        assert float(redis_server.command("GET", SLOT_KEY)) == slot + interval
        messages = _poll_messages(redis_server, "poll.w1")
        assert messages and {s for _, s in messages} == {slot + interval}
        # the late slot was never dispatched, so there is nothing of it to conclude
        time.sleep(max(0.0, slot + 2 * interval - time.time()) + 0.05)
        leader.step()
        assert [s.slot for s in leader.concluded] == [slot + interval]


def test_a_slot_the_previous_leader_dispatched_is_concluded_not_dispatched_again_by_a_late_successor(
        tmp_path: Path, database: str, redis_server: RedisServer, redis_url: str) -> None:
    from hotspotctl.scheduling.cluster import CONCLUDED_KEY, SLOT_KEY

    interval = 4.0
    with _stepped_leader(tmp_path, database, redis_server, "heir", interval) as leader:
        slot = _into_slot(interval, 0.6, 0.8)
        # the previous leader dispatched this slot at its start, and died before concluding it
        redis_server.command("SET", SLOT_KEY, repr(slot))
        redis_server.command("SET", CONCLUDED_KEY, repr(slot - interval))
        leader.step()
        assert leader.dispatched == [] and _poll_messages(redis_server, "poll.w1") == []
        assert list(leader.pending) == [slot]
        time.sleep(max(0.0, slot + interval - time.time()) + 0.05)
        leader.step()  # the slot ended: concluded (its shards missing: nobody polled), the next dispatched
        assert [s.slot for s in leader.concluded] == [slot]
        assert leader.concluded[0].shards_missing and leader.concluded[0].shards_reported == 0
        assert float(redis_server.command("GET", CONCLUDED_KEY)) == slot
        assert [d.slot for d in leader.dispatched] == [slot + interval]


class _Died(BaseException):
    """A leader's process ending between two sends (as kill -9 does), raised by ``_dying_after``."""


def _dying_after(leader: Leader, sends: int) -> None:
    """Make ``leader`` die (``_Died``) when it is about to send its poll task number ``sends + 1``."""
    real, done = leader.app.send_task, []

    def send_task(*args: Any, **kwargs: Any) -> Any:
        if len(done) == sends:
            raise _Died
        done.append(args)
        return real(*args, **kwargs)

    leader.app.send_task = send_task  # type: ignore[method-assign]


@pytest.mark.parametrize(("into", "finished"), [((0.0, 0.4), True), ((0.55, 0.7), False)],
                         ids=["first-half", "second-half"])
def test_a_slot_its_leader_died_sending_is_finished_by_the_next_leader_in_its_first_half(
        tmp_path: Path, database: str, redis_server: RedisServer, redis_url: str,
        caplog: pytest.LogCaptureFixture, into: tuple[float, float], finished: bool) -> None:
    from hotspotctl.scheduling.cluster import LEADER_KEY, SENDING_KEY, SENT_KEY, SLOT_KEY, _clock

    interval = 10.0
    caplog.set_level("INFO", logger="hotspotctl.cluster")
    with _stepped_leader(tmp_path, database, redis_server, "first", interval) as first:
        expected = sorted(first._expected())
        assert len(expected) == 8
        _dying_after(first, 3)
        slot = _into_slot(interval, 0.0, 0.1)
        with pytest.raises(_Died):
            first.step()
        assert first.dispatched == []
        assert sorted(s for s, _ in _poll_messages(redis_server, "poll.w1")) == expected[:3]
        assert float(redis_server.command("GET", SENDING_KEY)) == slot
        assert sorted(map(int, redis_server.command("SMEMBERS", SENT_KEY))) == expected[:3]
        redis_server.command("DEL", LEADER_KEY)  # its lock lapses: it is dead
    with _stepped_leader(tmp_path, database, redis_server, "next", interval) as leader:
        _into_slot(interval, *into)
        leader.step()
        assert leader.leading
        assert float(redis_server.command("GET", SLOT_KEY)) == slot
        messages = _poll_messages(redis_server, "poll.w1")
        said = [r.getMessage() for r in caplog.records if "half-dispatched" in r.getMessage()]
        if finished:  # the other five sent, each once, for that slot
            assert sorted(messages) == [(shard, slot) for shard in expected]
            assert [(d.slot, d.tasks) for d in leader.dispatched] == [(slot, 5)]
            assert len(said) == 1 and re.fullmatch(
                rf"leader next: slot {re.escape(_clock(slot))} was left half-dispatched \(3 of 8 shards sent\): "
                r"the other 5 sent now, [0-4]\.\d s into the slot", said[0]), said
        else:  # too late: they miss this slot, said once
            assert sorted(messages) == [(shard, slot) for shard in expected[:3]] and leader.dispatched == []
            assert len(said) == 1 and "the other 5 miss this slot" in said[0]
        assert redis_server.command("EXISTS", SENDING_KEY) == 0 and redis_server.command("EXISTS", SENT_KEY) == 0
        leader.step()
        assert len(_poll_messages(redis_server, "poll.w1")) == len(messages)
        assert len([r for r in caplog.records if "half-dispatched" in r.getMessage()]) == 1
        # the slot is this leader's to conclude, with the shards sent: nobody polls them here, so at its end all miss
        time.sleep(max(0.0, slot + interval - time.time()) + 0.05)
        leader.step()
        assert [s.slot for s in leader.concluded][:1] == [slot]
        assert leader.concluded[0].shards_missing == expected


def test_a_leader_that_lost_redis_sending_a_slot_finishes_it_or_concludes_it_missing_with_its_last_one_pending(
        tmp_path: Path, database: str, redis_server: RedisServer, redis_url: str) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from hotspotctl.scheduling.cluster import SENDING_KEY

    interval = 6.0
    with _stepped_leader(tmp_path, database, redis_server, "blip", interval) as leader:
        expected = sorted(leader._expected())
        first = _into_slot(interval, 0.0, 0.2)
        leader.step()
        assert [d.slot for d in leader.dispatched] == [first] and list(leader.pending) == [first]
        # the next slot: Redis drops after three of its sends; the leader's turn says so and goes on
        time.sleep(max(0.0, first + interval - time.time()) + 0.05)
        real, sent = leader.app.send_task, []

        def send_task(*args: Any, **kwargs: Any) -> Any:
            if len(sent) == 3:
                raise RedisConnectionError("connection refused")
            sent.append(args)
            return real(*args, **kwargs)

        leader.app.send_task = send_task  # type: ignore[method-assign]
        leader.step()
        second = first + interval
        assert leader.watch.failures == 1 and [d.slot for d in leader.dispatched] == [first]
        assert float(redis_server.command("GET", SENDING_KEY)) == second
        leader.app.send_task = real  # type: ignore[method-assign]
        _into_slot(interval, 0.6, 0.8)  # back past the slot's half: the other five miss it
        leader.step()
        assert redis_server.command("EXISTS", SENDING_KEY) == 0
        assert sorted(s for s, at in _poll_messages(redis_server, "poll.w1") if at == second) == expected[:3]
        time.sleep(max(0.0, second + interval - time.time()) + 0.05)
        leader.step()
        # both slots concluded (the first with every shard missing: nobody polls w1's queue), the second too,
        # though the first was still pending when the second's dispatch failed
        assert [s.slot for s in leader.concluded][:2] == [first, second]
        assert leader.concluded[1].shards_missing == expected


def test_a_leader_that_led_since_before_a_slot_and_could_not_dispatch_it_in_time_records_it_missed(
        tmp_path: Path, database: str, redis_server: RedisServer, redis_url: str) -> None:
    from hotspotctl.scheduling.cluster import SLOT_KEY

    interval = 4.0
    with _stepped_leader(tmp_path, database, redis_server, "slow", interval) as leader:
        slot = _into_slot(interval, 0.0, 0.3)
        leader.step()
        assert [d.slot for d in leader.dispatched] == [slot]
        # no turn in the next slot's first half (a store that hung): that slot is missed, not dispatched late
        time.sleep(max(0.0, slot + interval * 1.6 - time.time()))
        leader.step()
        assert [d.slot for d in leader.dispatched] == [slot]
        assert float(redis_server.command("GET", SLOT_KEY)) == slot + interval
        assert {s for _, s in _poll_messages(redis_server, "poll.w1")} == {slot}
        time.sleep(max(0.0, slot + 2 * interval - time.time()) + 0.05)
        leader.step()
        missed = [s for s in leader.concluded if s.slot == slot + interval]
        assert len(missed) == 1 and missed[0].shards_reported == 0
        assert len(missed[0].shards_missing) == missed[0].shards_expected > 0
        assert "did not report" in (leader.last_failure or "")


def test_a_stopped_leader_concludes_its_last_dispatched_slot_flushes_and_releases_the_lock(
        pg_cities: Callable[..., PgCity], redis_server: RedisServer, influxdb, influx_database: str) -> None:
    from hotspotctl.scheduling.cluster import LEADER_KEY, FlushThread, own_sink

    influxdb.query(f'CREATE DATABASE "{influx_database}"')
    city = pg_cities(**{**CITY, "HOTSPOTCTL_SCHEDULE_INTERVAL_S": "4"}, HOTSPOTCTL_INFLUX_URL=influxdb.url,
                     HOTSPOTCTL_INFLUX_API="v1", HOTSPOTCTL_INFLUX_DATABASE=influx_database)
    settings = city.settings
    worker = _hotspotctl(city.env, "worker", "--name", "w1")
    sink = own_sink(settings, "leader.lead")
    flusher = FlushThread(sink, "flush-leader-lead")
    leader, thread = _leader_thread(city, sink=sink, flusher=flusher)
    try:
        _alive(redis_server, worker, "hotspotctl:worker:w1")
        thread.start()
        # stopped (as SIGTERM does) the moment it has dispatched a slot: its shards are still being polled
        assert eventually(lambda: bool(leader.dispatched), timeout_s=60, every_s=0.01)
        leader.stop()
        stopped = time.monotonic()
        last = leader.dispatched[-1].slot
        assert last not in {s.slot for s in leader.concluded}
        thread.join(timeout=settings.schedule.grace_s + 10)
        assert not thread.is_alive()
        took = time.monotonic() - stopped
    finally:
        _stop_leader(leader, thread)
        code, err = _finish(worker)
        sink.close()
    assert code == 0, err
    assert took < settings.schedule.grace_s
    # the slot concluded whole (every shard reported), before the lock was released
    assert [s.slot for s in leader.concluded][-1:] == [last]
    summary = leader.concluded[-1]
    assert summary.shards_missing == [], summary
    assert (summary.aps, summary.ok) == (APS, APS)
    assert redis_server.command("EXISTS", LEADER_KEY) == 0
    assert float(redis_server.command("GET", "hotspotctl:concluded")) == last
    # and its points are in InfluxDB: the spool was flushed on the way out
    found = influxdb.query(f'SELECT "shards_reported", "aps" FROM "poller_cluster" WHERE time = {int(last)}s '
                           'GROUP BY "host"', influx_database)
    assert [(s["tags"]["host"], s["values"][0][1:]) for s in found] == [("lead", [summary.shards_reported, APS])]
    assert sink.spool.status().batches == 0


def test_a_stopped_leader_whose_shards_do_not_report_concludes_at_the_grace_periods_end(
        tmp_path: Path, database: str, redis_server: RedisServer, redis_url: str) -> None:
    from hotspotctl.scheduling.cluster import LEADER_KEY, Leader, own_sink

    settings = _settings(_leader_env(tmp_path, database, redis_url, 8.0, HOTSPOTCTL_SCHEDULE_GRACE_S="1"))
    _heartbeat(redis_server, "ghost")  # alive, takes no task
    with Store.open(database) as store:
        leader = Leader(settings, store, name="lead", sink=own_sink(settings, "leader.lead"))
        thread = threading.Thread(target=leader.run, daemon=True)
        _into_slot(8.0, 0.0, 0.2)
        thread.start()
        assert eventually(lambda: bool(leader.dispatched), timeout_s=30, every_s=0.01)
        leader.stop()
        stopped = time.monotonic()
        thread.join(timeout=30)
        took = time.monotonic() - stopped
    assert 1.0 <= took < 3.0  # the grace period, not the slot's end
    assert [s.slot for s in leader.concluded] == [leader.dispatched[-1].slot]
    assert leader.concluded[0].shards_reported == 0 and leader.concluded[0].shards_missing
    assert redis_server.command("EXISTS", LEADER_KEY) == 0


def _poller_cluster_fields(spool_dir: Path) -> dict[int, dict[str, str]]:
    """slot -> the poller_cluster point's fields (as line protocol writes them) in a spool."""
    out = {}
    for text in (line for batch in spooled_batches(spool_dir) for line in batch):
        if text.startswith("poller_cluster,"):
            _, fields, stamp = text.rsplit(" ", 2)
            out[int(stamp)] = dict(f.split("=", 1) for f in fields.split(","))
    return out


def test_poller_cluster_counts_the_leaders_redis_failures_since_its_last_conclusion_and_the_workers(
        tmp_path: Path, database: str) -> None:
    interval = 4.0
    own = RedisServer().start()
    try:
        with _stepped_leader(tmp_path, database, own, "lead", interval) as leader:
            slot = _into_slot(interval, 0.0, 0.2)
            leader.step()
            assert [d.slot for d in leader.dispatched] == [slot]
            own.halt()  # Redis lost for two turns: each one fails, counted
            leader.step()
            leader.step()
            assert leader.watch.failures == 2
            own.start()  # back (empty): the workers' heartbeats say what they counted meanwhile
            for name, count in (("w1", 3), ("w2", 2), ("w3", 0)):
                own.command("SET", f"hotspotctl:worker:{name}",
                            json.dumps({"host": "test", "pid": 1, "redis_failures": count}), "PX", "600000")
            time.sleep(max(0.0, slot + interval - time.time()) + 0.05)
            leader.step()
            time.sleep(max(0.0, slot + 2 * interval - time.time()) + 0.05)
            leader.step()
    finally:
        own.stop()
    by_slot = {s.slot: s for s in leader.concluded}
    assert sorted(by_slot) == [slot, slot + interval]
    assert (by_slot[slot].redis_failures, by_slot[slot].workers_redis_failures) == (2, 5)
    assert (by_slot[slot + interval].redis_failures, by_slot[slot + interval].workers_redis_failures) == (0, 5)
    points = _poller_cluster_fields(tmp_path / "spool" / "leader.lead")
    assert [(points[int(s)]["redis_failures"], points[int(s)]["workers_redis_failures"])
            for s in (slot, slot + interval)] == [("2i", "5i"), ("0i", "5i")]


def test_poller_cluster_has_the_workers_cpu_since_the_last_conclusion_from_their_heartbeats(
        tmp_path: Path, database: str, redis_server: RedisServer) -> None:
    """A shard's cpu_s is its worker's process time beside its other shards: the slot's CPU is the workers'
    heartbeats' ``cpu_s`` (their process's CPU so far) less what they said at the previous conclusion, over the
    workers that beat both times as the same process."""
    interval = 4.0

    def beat(name: str, pid: int, started: float, cpu_s: float) -> None:
        redis_server.command("SET", f"hotspotctl:worker:{name}", json.dumps(
            {"host": "test", "pid": pid, "started": started, "cpu_s": cpu_s}), "PX", "600000")

    redis_server.flush()  # no other test's workers
    with _stepped_leader(tmp_path, database, redis_server, "lead", interval) as leader:
        slot = _into_slot(interval, 0.0, 0.2)
        leader.step()
        beat("w1", 11, 100.0, 10.0)
        beat("w2", 12, 100.0, 5.0)
        time.sleep(max(0.0, slot + interval - time.time()) + 0.05)
        leader.step()  # concludes the slot: no worker had beaten at a conclusion before
        beat("w1", 11, 100.0, 14.5)
        beat("w2", 13, 200.0, 1.0)  # restarted (another pid and start): measured from this beat on
        beat("w3", 14, 200.0, 2.0)  # new
        time.sleep(max(0.0, slot + 2 * interval - time.time()) + 0.05)
        leader.step()
        beat("w1", 11, 100.0, 16.0)
        beat("w2", 13, 200.0, 3.5)
        beat("w3", 14, 200.0, 2.75)
        redis_server.command("DEL", "hotspotctl:worker:w3")  # gone before the third conclusion: not counted
        time.sleep(max(0.0, slot + 3 * interval - time.time()) + 0.05)
        leader.step()
    by_slot = {s.slot: s.workers_cpu_s for s in leader.concluded}
    assert by_slot == {slot: None, slot + interval: 4.5, slot + 2 * interval: 1.5 + 2.5}
    points = _poller_cluster_fields(tmp_path / "spool" / "leader.lead")
    assert [points[int(s)].get("workers_cpu_s") for s in sorted(by_slot)] == [None, "4.5", "4.0"]


@pytest.mark.parametrize("settle", [True, False])
def test_a_worker_process_settles_its_heap_once_started_and_as_it_loads_shards(
        pg_city: PgCity, monkeypatch: pytest.MonkeyPatch, settle: bool) -> None:
    """`hotspotctl worker` (run_worker: settle_heap=True) freezes its long-lived objects once started and after each
    shard's state is loaded, as `run` freezes its fleet: an unsettled worker's collector rescanned them all. A
    ClusterWorker made in a library caller's process (settle_heap=False, the default) never touches the collector."""
    from hotspotctl.scheduling import cluster
    from hotspotctl.scheduling.cluster import ClusterWorker

    settled: list[str] = []
    monkeypatch.setattr(cluster, "settle_heap", lambda: settled.append(threading.current_thread().name))
    worker = ClusterWorker(pg_city.settings, f"gc-{settle}", settle_heap=settle)
    try:
        worker.start()
        assert settled == (["MainThread"] if settle else [])
        assert worker.shards.on_loaded is (cluster.settle_heap if settle else None)
        assert worker.loop is not None
        worker.loop.call(lambda: worker.shards._runner(1, None))  # the shard's state loaded (on the loop's thread)
        assert settled == (["MainThread", "loop-gc-True"] if settle else [])
    finally:
        worker.close()
