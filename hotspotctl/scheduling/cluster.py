"""Many pollers: Celery on Redis, PostgreSQL the shared state (docs/decisions/scale-out-on-celery.md).

The one module that imports celery and redis; nothing imports it unless ``hotspotctl worker``,
``hotspotctl run --distributed`` or ``hotspotctl cluster status`` runs, so one box needs neither.

- **Worker** (``run_worker``): a Celery worker on a threads pool consuming ``poll.<name>``,
  ``discovery.<name>`` and ``delivery``. One asyncio loop, in its own thread, owns the Poller and the
  ShardPoller (``scheduling/shardrun.py``); a task hands its coroutine to that loop and waits for it. A
  heartbeat thread writes ``hotspotctl:worker:<name>`` (JSON, TTL ``cluster.heartbeat_ttl_s``); a flush
  thread replays the worker's own spool (``<spool>/<name>``) to InfluxDB.
- **Leader** (``Leader``, run by ``hotspotctl run --distributed``): every such process contends for one
  redis-py Lock (``hotspotctl:leader``, timeout ``cluster.leader_ttl_s``, renewed every third of it); the
  holder dispatches each slot's poll tasks to the shards' owners (rendezvous hashing over the live
  workers, ``assign_shards``) with ``expires`` at the slot's end, records the slot in ``hotspotctl:slot`` so
  that a new leader never dispatches one twice (and, while sending, the shards sent in ``hotspotctl:sent``, so
  that a new leader sends the rest of a slot its predecessor died sending), concludes each slot
  (``conclude_slot``) once every shard reported or the slot ended, and sends the NOC's notices, rediscovery
  and the crew lists as tasks.
- **Redis lost**: worker and leader log an error at once, count the failures, keep trying, and stop with a
  ClusterError (exit 1) once Redis has been away for ``cluster.redis_lost_exit_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import redis
from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import LockError, RedisError

from hotspotctl.errors import ConfigError, ExitCode, HotspotError
from hotspotctl.scheduling.service import NOC_SPOOL_HISTORY, settle_heap
from hotspotctl.settings import Settings, mask_url
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.outage_counts import OutageCounts
from hotspotctl.sinks.spool import Spool
from hotspotctl.store import Store
from hotspotctl.store.engine import private_folder

log = logging.getLogger("hotspotctl.cluster")

PREFIX = "hotspotctl"
LEADER_KEY = f"{PREFIX}:leader"  # the leader's lock; its value names the holder (name:pid:random)
SLOT_KEY = f"{PREFIX}:slot"  # the last slot a leader dispatched
CONCLUDED_KEY = f"{PREFIX}:concluded"  # the last slot a leader concluded
SENDING_KEY = f"{PREFIX}:sending"  # the slot whose poll tasks are being sent; gone once the last one is
SENT_KEY = f"{PREFIX}:sent"  # the shards of the SENDING_KEY slot sent so far (a set)
WORKER_KEY = f"{PREFIX}:worker:"  # + name: a live worker's heartbeat (JSON), with a TTL

POLL_TASK = "hotspotctl.poll_shard"
DISCOVER_TASK = "hotspotctl.discover_shard"
NOC_TASK = "hotspotctl.send_noc"
CREWS_TASK = "hotspotctl.send_crews"
DELIVERY_QUEUE = "delivery"

# what a lost Redis raises: redis-py's own errors, kombu's (publishing), and the sockets' underneath
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisError, OperationalError, OSError)

T = TypeVar("T")


class ClusterError(HotspotError):
    """The cluster cannot go on (Redis away past cluster.redis_lost_exit_s): exit 1, so systemd restarts it."""

    exit_code = ExitCode.INTERNAL


def poll_queue(worker: str) -> str:
    return f"poll.{worker}"


def discovery_queue(worker: str) -> str:
    return f"discovery.{worker}"


def worker_name(settings: Settings, given: str | None = None) -> str:
    """This worker's name: --name, else cluster.worker, else the host name (made safe for queue names)."""
    name = given or settings.cluster.worker or socket.gethostname()
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)[:100] or "worker"


def leader_ttl(settings: Settings) -> float:
    return settings.cluster.leader_ttl_s or settings.schedule.interval_s / 2


def redis_lost_after(settings: Settings) -> float:
    return settings.cluster.redis_lost_exit_s or 3 * settings.schedule.interval_s


def require_cluster(settings: Settings, store: Store | None = None) -> None:
    """ConfigError (exit 3) when distributed mode cannot run: no Redis configured, or a SQLite store."""
    if not settings.cluster.redis_url:
        raise ConfigError("cluster.redis_url is not set: the workers and the leader meet in Redis; set "
                          "HOTSPOTCTL_CLUSTER_REDIS_URL=redis://host:6379/0 (or redis_url in [cluster] of the config "
                          "file)")
    dialect = store.dialect if store is not None else (
        "postgresql" if settings.store_url.startswith(("postgresql", "postgres")) else "sqlite")
    if dialect != "postgresql":
        raise ConfigError(f"distributed mode needs a PostgreSQL store that every worker shares, not "
                          f"{mask_url(settings.store_url)}: set database_url = postgresql://user:password@host/db "
                          "(HOTSPOTCTL_DATABASE_URL) on every worker and leader, and import the inventory into it; "
                          "or run `hotspotctl run` (one box, SQLite is fine there)")


def redis_client(settings: Settings) -> redis.Redis:
    """A client whose calls fail fast (a few seconds) when Redis is away, rather than hang."""
    return redis.Redis.from_url(settings.cluster.redis_url, socket_timeout=5, socket_connect_timeout=3,
                                health_check_interval=30, decode_responses=True)


def celery_app(settings: Settings) -> Celery:
    """The cluster's Celery app: Redis the broker, no result backend, tasks acknowledged when received (a poll
    task lost with its worker is not run again: that shard misses that slot, its claim in shard_cycles says so)."""
    app = Celery("hotspotctl", broker=settings.cluster.redis_url, set_as_current=False)
    app.conf.update(
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=False,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=DELIVERY_QUEUE,
        task_create_missing_queues=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        worker_enable_remote_control=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # our own bound (cluster.redis_lost_exit_s) decides when to give up
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5,
                                   "interval_max": 1.0},
        broker_transport_options={"socket_timeout": 5, "socket_connect_timeout": 3},
        enable_utc=True,
    )
    return app


def own_sink(settings: Settings, name: str) -> InfluxSink:
    """A process's own spool (``<spool>/<name>``) in front of InfluxDB: two workers never share one."""
    if not settings.spool.dir:
        private_folder(settings.data_dir, what="data_dir")
    directory = settings.spool_dir / name
    spool = Spool(directory, max_bytes=int(settings.spool.max_mb * 1e6),
                  limit_name="spool.max_mb (HOTSPOTCTL_SPOOL_MAX_MB)")
    return InfluxSink(settings.influx, spool)


class RedisWatch:
    """Redis's reachability as one process sees it: the first failure logged as an error at once, every
    failure counted, and ``lost_for`` since the first of a run of failures (0 while Redis answers)."""

    def __init__(self, settings: Settings, what: str) -> None:
        self.url = mask_url(settings.cluster.redis_url)
        self.bound_s = redis_lost_after(settings)
        self.what = what
        self.failures = 0
        self.down_since: float | None = None

    def ok(self) -> None:
        if self.down_since is not None:
            log.warning("Redis %s is back after %.1f s; the %s goes on", self.url, time.monotonic() - self.down_since,
                        self.what)
        self.down_since = None

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.error("Redis %s is unreachable: %s; the %s keeps trying and stops after %g s "
                      "(cluster.redis_lost_exit_s)", self.url, exc, self.what, self.bound_s)

    @property
    def lost_for(self) -> float:
        return 0.0 if self.down_since is None else time.monotonic() - self.down_since

    @property
    def lost(self) -> bool:
        return self.down_since is not None and self.lost_for >= self.bound_s

    def error(self) -> ClusterError:
        return ClusterError(f"Redis {self.url} was unreachable for {self.lost_for:.0f} s (cluster.redis_lost_exit_s "
                            f"{self.bound_s:g} s; {self.failures} failed calls): the {self.what} stopped. Start Redis "
                            "again (or fix cluster.redis_url); systemd restarts this process")


# --- the worker ---------------------------------------------------------------------------------------------------


class LoopThread:
    """One asyncio loop in its own thread; ``run(coro)`` from any other thread waits for its result."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise TimeoutError(f"still running after {timeout:g} s: stopped") from None

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the loop's thread (objects that must be made there: the Poller)."""

        async def call() -> T:
            return fn()

        return self.run(call())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


class FlushThread:
    """Replays a sink's spool to InfluxDB every influx.flush_interval_s (and when asked), off the poll's threads."""

    def __init__(self, sink: InfluxSink, name: str) -> None:
        self.sink = sink
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self.flushed_points = 0
        self.last_error: str | None = None
        self.closed = False
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        if sink.configured:
            self.thread.start()

    def _serve(self) -> None:
        every = self.sink.settings.flush_interval_s
        while not self.stop_event.is_set():
            self.wake.wait(every)
            self.wake.clear()
            if self.stop_event.is_set() or not self.sink.due():
                continue
            self.flush()

    def flush(self) -> None:
        try:
            result = self.sink.flush()
        except Exception as exc:  # the data stays in the spool; the next turn tries again
            self.last_error = str(exc)
            log.error("flush to %s failed: %s; the data stays in the spool", self.sink.destination, exc)
            return
        self.flushed_points += result.points
        self.last_error = result.error
        if not result.ok:
            log.warning("%s; the points wait in the spool %s", result.error, self.sink.spool.directory)

    def soon(self) -> None:
        self.wake.set()

    def close(self, budget_s: float) -> None:
        """Stop the loop, and try one last flush within ``budget_s`` (once: closing again does nothing)."""
        if self.closed:
            return
        self.closed = True
        self.stop_event.set()
        self.wake.set()
        if self.thread.is_alive():
            self.thread.join(timeout=budget_s)
        if self.sink.configured and self.sink.spool.status().batches:
            last = threading.Thread(target=self.flush, name="last-flush", daemon=True)
            last.start()
            last.join(timeout=budget_s)
            if last.is_alive():
                self.sink.stop_event.set()


@dataclass
class WorkerFigures:
    """What a worker's heartbeat says about it."""

    name: str
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.time)
    threads: int = 0
    polled: int = 0  # shard cycles run (claimed and polled)
    skipped: int = 0  # poll tasks that found their (shard, slot) claimed already
    failed: int = 0  # poll tasks that raised
    discovered: int = 0
    deliveries: int = 0
    last_slot: float | None = None
    last_shards: list[int] = field(default_factory=list)  # the shards polled in last_slot
    redis_failures: int = 0
    spool_batches: int = 0
    spool_points: int = 0
    flushed_points: int = 0
    cpu_s: float = 0.0  # the process's CPU seconds so far (time.process_time()) at the beat: shardrun.workers_cpu_since

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ClusterWorker:
    """A worker's parts (loop thread, ShardPoller, heartbeat, flush), and the tasks' bodies.

    ``start`` makes them; the Celery worker then calls ``poll_shard`` and the others from its threads.
    """

    def __init__(self, settings: Settings, name: str, *, threads: int | None = None, settle_heap: bool = False) -> None:
        self.settings = settings
        # the process is the worker's (run_worker): its long-lived objects frozen out of the cyclic collector's
        # sight once started and as each shard is loaded, and GC_THRESHOLDS (service.settle_heap), as `run` does
        self.settle_heap = settle_heap
        self.name = name
        self.threads = threads or settings.cluster.threads
        self.figures = WorkerFigures(name=name, threads=self.threads)
        self.watch = RedisWatch(settings, f"worker {name}")
        self.stop_event = threading.Event()
        self.lost = False  # Redis away past the bound: the worker is stopping with a ClusterError
        self.lock = threading.Lock()
        self.store: Store | None = None
        self.loop: LoopThread | None = None
        self.shards: Any = None  # the ShardPoller, made on the loop's thread
        self.poller: Any = None
        self.sink: InfluxSink | None = None
        self.flusher: FlushThread | None = None
        self.heart: threading.Thread | None = None
        self.client = redis_client(settings)
        self.on_lost: Callable[[], None] = lambda: None
        self.on_slot: Callable[[float], None] = lambda slot: None  # the first cycle of a new slot done here
        self.registered = False

    def start(self) -> None:
        from hotspotctl.collectors.poller import Poller
        from hotspotctl.collectors.profiles import load_profiles
        from hotspotctl.inventory.fleet import CrewZones
        from hotspotctl.scheduling.shardrun import ShardPoller

        settings = self.settings
        self.store = Store.open(settings.store_url)
        require_cluster(settings, self.store)
        extra = settings.snmp.profiles_dir
        profiles = load_profiles([Path(extra)] if extra else [])
        zones = CrewZones.from_settings(settings.crew_zones)
        self.sink = own_sink(settings, self.name)
        self.flusher = FlushThread(self.sink, f"flush-{self.name}")
        self.loop = LoopThread(f"loop-{self.name}")
        store, sink = self.store, self.sink

        settle = settle_heap if self.settle_heap else None

        def make() -> Any:
            self.poller = Poller.from_settings(settings, profiles)
            return ShardPoller(store, settings, profiles, zones, sink, self.poller, worker=self.name, on_loaded=settle)

        self.shards = self.loop.call(make)
        if settle is not None:
            settle()
        self.wait_for_namesake()
        self.registered = True  # the heartbeat key is this process's from now on (close deletes it)
        self.beat()  # live before the first task can come
        self.heart = threading.Thread(target=self._heartbeats, name=f"heartbeat-{self.name}", daemon=True)
        self.heart.start()

    # the tasks' bodies (Celery threads)

    def poll_shard(self, shard: int, slot: float) -> dict[str, Any]:
        assert self.loop is not None and self.shards is not None
        try:
            # bounded: a poll still running a whole interval after its slot ended is stopped (its row stays running)
            cycle = self.loop.run(self.shards.poll_shard(int(shard), float(slot)),
                                  timeout=2 * self.settings.schedule.interval_s + self.settings.schedule.grace_s)
        except Exception as exc:
            with self.lock:
                self.figures.failed += 1
            log.error("shard %d, slot %s: the poll failed: %s", shard, _clock(slot), exc,
                      exc_info=not isinstance(exc, HotspotError))
            raise
        with self.lock:
            if cycle.state == "skipped":
                self.figures.skipped += 1
            elif cycle.state == "failed":
                self.figures.failed += 1
            else:
                self.figures.polled += 1
                if self.figures.last_slot != cycle.slot:
                    self.figures.last_slot, self.figures.last_shards = cycle.slot, []
                    self.on_slot(cycle.slot)
                self.figures.last_shards.append(cycle.shard)
        if cycle.state == "skipped":
            log.info("shard %d, slot %s: claimed already (or its last slot's cycle still runs here); nothing done",
                     shard, _clock(slot))
        elif cycle.state == "failed":
            log.error("shard %d, slot %s: the cycle failed: %s", shard, _clock(slot), cycle.error,
                      extra={"shard_cycle": cycle.to_json()})
        else:
            log.info("shard %d, slot %s: %s, %d APs, %d ok, %d failed, %d timed out; %.2f s, CPU %.2f s; %d points%s",
                     cycle.shard, _clock(cycle.slot), cycle.state, cycle.aps, cycle.ok, cycle.failed,
                     cycle.timed_out, cycle.duration_s, cycle.cpu_s, cycle.points,
                     "; state loaded again from the store" if cycle.reloaded else "",
                     extra={"shard_cycle": cycle.to_json()})
        if self.flusher is not None:
            self.flusher.soon()
        return dict(cycle.to_json())

    def discover_shard(self, shard: int) -> int:
        assert self.loop is not None and self.shards is not None
        walked = int(self.loop.run(self.shards.discover_shard(int(shard))))
        with self.lock:
            self.figures.discovered += walked
        log.info("shard %d: rediscovery walked %d APs", shard, walked)
        return walked

    def send_noc(self, poller: Mapping[str, Any] | None, now: float) -> dict[str, Any]:
        report = send_noc(self.settings, self._store(), poller, now,
                          stop=self.sink.stop_event if self.sink is not None else None)
        with self.lock:
            self.figures.deliveries += 1
        if report is None:
            return {}
        if report.sent:
            log.info("NOC notices: %d firing; %s", report.firing,
                     ", ".join(f"{s.channel} {s.action} {s.alertname}{'' if s.ok else ' FAILED'}" for s in report.sent),
                     extra={"noc": report.to_json()})
        return dict(report.to_json())

    def send_crews(self, zones: Sequence[str] | None, now: float) -> dict[str, Any]:
        report = send_crews(self.settings, self._store(), zones, now)
        with self.lock:
            self.figures.deliveries += 1
        return dict(report.to_json())

    def _store(self) -> Store:
        assert self.store is not None
        return self.store

    # liveness

    def beat(self) -> None:
        """Write the heartbeat once (TTL cluster.heartbeat_ttl_s); a failure is counted, never raised."""
        with self.lock:
            if self.sink is not None:
                waiting = self.sink.spool.status()
                self.figures.spool_batches, self.figures.spool_points = waiting.batches, waiting.points
            if self.flusher is not None:
                self.figures.flushed_points = self.flusher.flushed_points
            self.figures.redis_failures = self.watch.failures
            self.figures.cpu_s = round(time.process_time(), 3)
            body = json.dumps({**self.figures.to_json(), "seen": time.time()})
        try:
            self.client.set(WORKER_KEY + self.name, body, px=int(self.settings.cluster.heartbeat_ttl_s * 1000))
        except REDIS_DOWN as exc:
            self.watch.failed(exc)
        else:
            self.watch.ok()

    def wait_for_namesake(self) -> None:
        """Another live worker with this name (its heartbeat fresh, not this host's dead process) would share
        this one's queues and spool: wait for its heartbeat to lapse, and refuse (ConfigError) if it does not."""
        deadline = time.monotonic() + self.settings.cluster.heartbeat_ttl_s + self.settings.cluster.heartbeat_s
        while True:
            try:
                body = self.client.get(WORKER_KEY + self.name)
            except REDIS_DOWN as exc:  # counted; the heartbeat thread's bound decides
                self.watch.failed(exc)
                return
            if body is None:
                return
            try:
                other = json.loads(str(body))
            except ValueError:
                return
            host, pid = other.get("host"), other.get("pid")
            if host == self.figures.host and (pid == self.figures.pid or not _alive(pid)):
                return  # this host's, and its process is gone (killed): its heartbeat is a leftover
            if time.monotonic() >= deadline:
                raise ConfigError(f"a worker named {self.name!r} is alive on {host} (pid {pid}): two workers with one "
                                  "name would share its queues and spool; give this one another --name (or "
                                  "cluster.worker)")
            time.sleep(min(0.5, self.settings.cluster.heartbeat_s))

    def _heartbeats(self) -> None:
        every = self.settings.cluster.heartbeat_s
        while not self.stop_event.wait(every):
            self.beat()
            if self.watch.lost and not self.lost:
                self.lost = True
                log.error("%s", self.watch.error())
                self.on_lost()

    def close(self) -> None:
        self.stop_event.set()
        if self.heart is not None:
            self.heart.join(timeout=10)
        if self.registered:  # never a namesake's (a refused second worker of the same name)
            with contextlib.suppress(*REDIS_DOWN):
                self.client.delete(WORKER_KEY + self.name)  # gone at once, not after the TTL
        if self.loop is not None:
            if self.poller is not None:
                with contextlib.suppress(Exception):
                    self.loop.call(self.poller.close)
            self.loop.close()
        if self.flusher is not None:
            self.flusher.close(self.settings.schedule.grace_s)
        if self.sink is not None:
            self.sink.close()
        if self.store is not None:
            self.store.close()
        with contextlib.suppress(Exception):
            self.client.close()


def register_tasks(app: Celery, worker: ClusterWorker) -> None:
    """The four tasks, bound to this process's worker (the leader only sends them, by name)."""
    app.task(name=POLL_TASK, ignore_result=True)(worker.poll_shard)
    app.task(name=DISCOVER_TASK, ignore_result=True)(worker.discover_shard)
    app.task(name=NOC_TASK, ignore_result=True)(worker.send_noc)
    app.task(name=CREWS_TASK, ignore_result=True)(worker.send_crews)


class BenchProfile:
    """For benchmarks/scale_bench.py only: the worker's CPU by function (yappi, every thread), when
    HOTSPOTCTL_BENCH_PROFILE names the pstats file to write at exit. The figures of the first
    HOTSPOTCTL_BENCH_PROFILE_SKIP slots (default 2: discovery, and the first full slot) are dropped."""

    def __init__(self, path: str, skip: int) -> None:
        self.path, self.skip, self.slots = path, skip, 0

    @classmethod
    def from_env(cls) -> BenchProfile | None:
        path = os.environ.get("HOTSPOTCTL_BENCH_PROFILE")
        return cls(path, int(os.environ.get("HOTSPOTCTL_BENCH_PROFILE_SKIP", "2"))) if path else None

    def start(self) -> None:
        yappi = self.yappi()
        yappi.set_clock_type("cpu")
        yappi.start(builtins=True, profile_threads=True)

    @staticmethod
    def yappi() -> Any:
        import importlib

        return importlib.import_module("yappi")  # a benchmark's tool (pip install yappi): not a dependency

    def slot(self, slot: float) -> None:
        yappi = self.yappi()
        self.slots += 1
        if self.slots == self.skip + 1:  # the first shard of the first measured slot is done already: close enough
            yappi.clear_stats()
            log.warning("bench profile: measuring from slot %s", _clock(slot))

    def stop(self) -> None:
        yappi = self.yappi()
        yappi.stop()
        yappi.get_func_stats().save(self.path, type="pstat")
        with open(self.path + ".threads", "w", encoding="utf-8") as fh:
            yappi.get_thread_stats().print_all(out=fh)


def run_worker(settings: Settings, name: str, *, threads: int | None = None, loglevel: str = "WARNING") -> int:
    """Run a Celery worker until SIGTERM/SIGINT (exit 0), or until Redis has been away for
    cluster.redis_lost_exit_s (ClusterError, exit 1)."""
    require_cluster(settings)
    app = celery_app(settings)
    worker = ClusterWorker(settings, name, threads=threads, settle_heap=True)
    queues = [poll_queue(name), discovery_queue(name), DELIVERY_QUEUE]
    done = threading.Event()

    def lost() -> None:
        # a warm shutdown of the Celery worker, from the main thread's signal handler; a worker stuck
        # reconnecting past the grace period is ended hard, with the same message logged first
        os.kill(os.getpid(), signal.SIGTERM)

        def hard() -> None:
            if not done.wait(settings.schedule.grace_s + 5):
                log.error("the worker did not stop within the grace period: exiting now")
                logging.shutdown()
                os._exit(ExitCode.INTERNAL)

        threading.Thread(target=hard, name="hard-exit", daemon=True).start()

    worker.on_lost = lost
    profile = BenchProfile.from_env()
    try:
        if profile is not None:
            profile.start()
            worker.on_slot = profile.slot
        worker.start()
        register_tasks(app, worker)
        log.info("worker %s: consuming %s on %d threads; Redis %s, store %s, spool %s", name, ", ".join(queues),
                 worker.threads, mask_url(settings.cluster.redis_url), mask_url(settings.store_url),
                 worker.sink.spool.directory if worker.sink is not None else "-")
        controller = app.Worker(
            hostname=f"{name}@{socket.gethostname()}", pool="threads", concurrency=worker.threads, queues=queues,
            loglevel=loglevel, quiet=True, no_color=True, without_heartbeat=True, without_mingle=True,
            without_gossip=True, optimization="fair")
        controller.start()
        code = controller.exitcode or 0
    finally:
        done.set()
        worker.close()
        if profile is not None:
            profile.stop()
    if worker.lost:
        raise worker.watch.error()
    return int(code)


# --- deliveries (the tasks on the shared `delivery` queue) ---------------------------------------------------------


def send_noc(settings: Settings, store: Store, poller: Mapping[str, Any] | None, now: float,
             stop: threading.Event | None = None) -> Any:
    """The NOC's notices after a slot (``shardrun.send_slot_noc``), with the cluster's own health (``poller``:
    PollerHealth's fields, as the leader tracks them) when the leader gave it; the NocReport, or None."""
    from hotspotctl.delivery.noc import PollerHealth
    from hotspotctl.scheduling.shardrun import send_slot_noc

    health = None
    if poller:
        fields = dict(poller)
        fields["spool_batches"] = tuple(fields.get("spool_batches", ()))
        health = PollerHealth(**fields)
    return send_slot_noc(store, settings, now, poller=health, stop=stop)


def send_crews(settings: Settings, store: Store, zones: Sequence[str] | None, now: float) -> Any:
    """Every zone's crew list (or these zones'), through crews.send_via."""
    from hotspotctl.delivery.dispatch import dispatch
    from hotspotctl.inventory.fleet import CrewZones, Fleet
    from hotspotctl.reports.crews import crew_lists_from_store

    fleet = Fleet.load(store, CrewZones.from_settings(settings.crew_zones))
    lists = crew_lists_from_store(store, fleet, settings, now, zones=sorted(zones or ()))
    return dispatch(store, lists, settings, settings.crews.send_via, now)


# --- the leader -----------------------------------------------------------------------------------------------------


def live_workers(client: redis.Redis) -> dict[str, dict[str, Any]]:
    """The workers whose heartbeat key is present, by name, with what it says."""
    out: dict[str, dict[str, Any]] = {}
    keys = sorted(client.scan_iter(match=WORKER_KEY + "*", count=1000))
    if not keys:
        return out
    for key, body in zip(keys, client.mget(keys), strict=True):
        if body is None:  # expired between the scan and the read
            continue
        try:
            figures = json.loads(body)
        except ValueError:
            figures = {}
        out[str(key)[len(WORKER_KEY):]] = figures if isinstance(figures, dict) else {}
    return out


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One slot sent out by a leader."""

    slot: float
    workers: tuple[str, ...]
    tasks: int
    at: float


class Leader:
    """``hotspotctl run --distributed``: contend for the leader's lock; while holding it, dispatch and conclude slots.

    ``run()`` loops until ``stop()``: ``step()`` every ``tick_s`` (at most 1 s: a standby retries the lock every
    second, so a leader that died is replaced within cluster.leader_ttl_s + 1 s).
    """

    def __init__(self, settings: Settings, store: Store, *, name: str, sink: InfluxSink, app: Celery | None = None,
                 interval_s: float | None = None,
                 client: redis.Redis | None = None, max_slots: int | None = None,
                 flusher: FlushThread | None = None) -> None:
        self.settings = settings
        self.store = store
        self.name = name
        self.app = app if app is not None else celery_app(settings)
        self.sink = sink
        self.interval_s = interval_s or settings.schedule.interval_s
        self.ttl_s = leader_ttl(settings)
        self.client = client if client is not None else redis_client(settings)
        self.token = f"{name}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lock = self.client.lock(LEADER_KEY, timeout=self.ttl_s, blocking=False, thread_local=False)
        self.watch = RedisWatch(settings, f"leader {name}")
        self.tick_s = min(1.0, self.ttl_s / 3)
        self.max_slots = max_slots
        self.leading = False
        self.renewed_at = 0.0  # monotonic, the last acquire or renewal
        self.renewing = True  # False: the renewals stop (a hung leader, for the tests)
        self.acquired: list[float] = []  # wall-clock times this process took the lock
        self.dispatched: list[Dispatch] = []
        self.concluded: list[Any] = []  # the SlotSummaries of the slots this process concluded
        # dispatched, not concluded: slot -> (the workers it went to, the shards expected to report)
        self.pending: dict[float, tuple[tuple[str, ...], frozenset[int]]] = {}
        self.expected: frozenset[int] | None = None  # the shards with APs, as of inventory_seen
        self.inventory_seen: int | None = None
        self.outage_counts = OutageCounts()  # the `outages` groups written last slot (their zeros come next)
        self.flusher = flusher
        # the cluster's health for the NOC (PollerHealth's fields), slot after slot
        self.overruns = self.failed_in_a_row = 0
        self.overrun_since: float | None = None
        self.failing_since: float | None = None
        self.last_failure: str | None = None
        self.spool_batches: deque[int] = deque(maxlen=NOC_SPOOL_HISTORY)
        self.spool_points = 0
        self.influx_failing_since: float | None = None
        self.no_workers = 0  # slots not dispatched for want of a live worker
        self.failures_concluded = 0  # watch.failures as of the last conclusion (poller_cluster counts the rest)
        self.workers_cpu: dict[str, tuple[Any, Any, float]] = {}  # each worker's heartbeat CPU at the last conclusion
        self.waiting_for: float | None = None  # a slot begun before this leader took the lock: left alone
        self.store_failures = 0  # turns in a row the store failed
        self.stop_event = threading.Event()
        self.crons = _Crons(settings)

    # the lock

    def _hold(self) -> bool:
        """Take or keep the lock; whether this process leads now."""
        now = time.monotonic()
        if self.leading:
            if not self.renewing or now - self.renewed_at < self.ttl_s / 3:
                return True
            try:
                self.lock.reacquire()
            except LockError:
                self.leading = False
                log.warning("leader %s: the lock %s was lost (not renewed within %g s); standing by", self.name,
                            LEADER_KEY, self.ttl_s)
                return False
            self.renewed_at = now
            return True
        if self.lock.acquire(blocking=False, token=self.token):
            self.leading, self.renewed_at = True, now
            self.acquired.append(time.time())
            log.info("leader %s: took the lock %s (ttl %g s); dispatching each slot of %g s", self.name, LEADER_KEY,
                     self.ttl_s, self.interval_s)
        return self.leading

    def step(self, now: float | None = None) -> None:
        """One turn: the lock, then (leading) the slot's dispatch, the conclusions due, the crons due."""
        now = time.time() if now is None else now
        try:
            if not self._hold():
                self.watch.ok()
                return
            self._dispatch_due(now)
            self._conclude_due(now)
            self._crons_due(now)
            self.watch.ok()
            self.store_failures = 0
        except HotspotError as exc:  # the store (PostgreSQL away, a lock timeout): said, and tried again next turn
            self.store_failures += 1
            if self.store_failures == 1 or self.store_failures % 60 == 0:
                log.error("leader %s: %s (%d failed turns in a row); trying again", self.name, exc,
                          self.store_failures)
            return
        except REDIS_DOWN as exc:
            self.watch.failed(exc)
            if self.leading and time.monotonic() - self.renewed_at >= self.ttl_s:
                self.leading = False  # the lock has lapsed meanwhile: another may lead now
                log.warning("leader %s: the lock lapsed while Redis was away; standing by", self.name)

    def run(self) -> None:
        """Until stop(), max_slots dispatched, or Redis away past its bound (ClusterError)."""
        log.info("leader %s: contending for %s; Redis %s", self.name, LEADER_KEY,
                 mask_url(self.settings.cluster.redis_url))
        try:
            while not self.stop_event.is_set():
                self.step()
                if self.watch.lost:
                    raise self.watch.error()
                if self.max_slots is not None and len(self.concluded) >= self.max_slots:
                    break
                # the next tick, or the next slot's start if sooner (a slot is dispatched on time, not a tick late)
                now = time.time()
                boundary = (now // self.interval_s + 1) * self.interval_s - now + 0.001
                self.stop_event.wait(min(self.tick_s, boundary) if self.leading else self.tick_s)
            self.finish(self.settings.schedule.grace_s)
        finally:
            self.release()

    def finish(self, grace_s: float) -> None:
        """On the way out, still leading: wait (within ``grace_s``) for the dispatched slots' shards to report,
        conclude those slots (at the grace period's end with whatever reported), and flush the spool once; the
        lock is released after (``run``'s last step), so a successor never concludes them again."""
        deadline = time.monotonic() + grace_s
        waiting = sorted(self.pending)
        if waiting and self.leading:
            log.info("leader %s: stopping; concluding slot %s first (within %g s)", self.name,
                     ", ".join(map(_clock, waiting)), grace_s)
        while self.pending and self.leading:
            force = time.monotonic() >= deadline
            try:
                if not self._hold():
                    break
                self._conclude_due(time.time(), force=force)
                self.watch.ok()
            except HotspotError as exc:
                log.error("leader %s: %s; trying again until the grace period's end", self.name, exc)
            except REDIS_DOWN as exc:
                self.watch.failed(exc)
            if force:
                if self.pending:
                    log.error("leader %s: slot %s not concluded within the %g s grace period (schedule.grace_s)",
                              self.name, ", ".join(map(_clock, sorted(self.pending))), grace_s)
                break
            if self.pending:
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        if self.flusher is not None:
            self.flusher.close(max(1.0, deadline - time.monotonic()))

    def stop(self) -> None:
        self.stop_event.set()

    def release(self) -> None:
        if self.leading:
            with contextlib.suppress(*REDIS_DOWN, LockError):
                self.lock.release()
            self.leading = False

    # slots

    def _expected(self) -> frozenset[int]:
        """The shards that have APs, split again when the inventory changed."""
        from hotspotctl.scheduling.shardrun import expected_shards
        from hotspotctl.store.inventory import inventory_version

        with self.store.read() as conn:
            version = inventory_version(conn)
        if self.expected is None or version != self.inventory_seen:
            self.expected = frozenset(expected_shards(self.store, self.settings.cluster.shards))
            self.inventory_seen = version
            log.info("leader %s: %d of %d shards have APs", self.name, len(self.expected),
                     self.settings.cluster.shards)
        return self.expected

    def _dispatch_due(self, now: float) -> None:
        from hotspotctl.scheduling.shards import cycle_slot

        slot = cycle_slot(now, self.interval_s)
        last, sending = self.client.mget(SLOT_KEY, SENDING_KEY)  # one round trip a turn
        if last is not None and float(last) >= slot:
            if sending == last:  # a leader stopped half-way through sending it
                self._finish_sending(float(last), now)
            return
        if now - slot > self.interval_s / 2 and self._late(slot, now):
            return
        expected = self._expected()
        workers = live_workers(self.client)
        if not workers or not expected:
            self.no_workers += 1 if not workers else 0
            if not expected:
                log.warning("leader %s: the store's inventory is empty: slot %s has nothing to poll", self.name,
                            _clock(slot))
            elif self.no_workers == 1 or self.no_workers % 10 == 0:
                log.error("leader %s: no live worker (no %s* key in Redis): slot %s not dispatched (%d so far); "
                          "start `hotspotctl worker` on the polling hosts", self.name, WORKER_KEY, _clock(slot),
                          self.no_workers)
            self.client.set(SLOT_KEY, repr(slot))  # that slot is missed, not dispatched late
            self.pending[slot] = ((), expected)
            return
        names = tuple(sorted(workers))
        later = cycle_slot(time.time(), self.interval_s)
        if later > slot:  # the reads above took us into the next slot: dispatch that one, never an ended one
            slot = later
        owners = self._owners(names, expected)
        # the slot first, with the record of what is sent: a leader that dies half-way leaves the rest of the slot
        # to the next leader (_finish_sending), and no slot is dispatched twice
        with self.client.pipeline() as pipe:
            pipe.set(SLOT_KEY, repr(slot))
            pipe.set(SENDING_KEY, repr(slot))
            pipe.delete(SENT_KEY)
            pipe.execute()
        self._send(slot, owners)
        self.pending[slot] = (names, expected)
        self.dispatched.append(Dispatch(slot, names, len(owners), now))
        log.info("leader %s: slot %s dispatched: %d shards to %d workers (%s)", self.name, _clock(slot), len(owners),
                 len(names), ", ".join(names))

    def _owners(self, workers: tuple[str, ...], shards: frozenset[int]) -> dict[int, str]:
        """Each of ``shards`` to its owner among ``workers`` (``assign_shards``: rendezvous hashing)."""
        from hotspotctl.scheduling.shards import assign_shards

        return {shard: owner for shard, owner in assign_shards(self.settings.cluster.shards, workers).items()
                if shard in shards}

    def _send(self, slot: float, owners: Mapping[int, str]) -> None:
        """Send ``slot``'s poll tasks, each shard to its owner's queue, expiring at the slot's end; each shard is
        recorded in SENT_KEY once sent (a leader that dies between the two has it sent again by the next: the
        worker's claim on (shard, slot) makes the second one a no-op), and SENDING_KEY goes after the last."""
        expires = datetime.fromtimestamp(slot + self.interval_s, UTC)
        with self.app.producer_or_acquire() as producer:
            for shard, owner in sorted(owners.items()):
                self.app.send_task(POLL_TASK, args=(shard, slot), queue=poll_queue(owner), expires=expires,
                                   producer=producer)
                self.client.sadd(SENT_KEY, shard)
        self.client.delete(SENDING_KEY, SENT_KEY)

    def _finish_sending(self, slot: float, now: float) -> None:
        """``slot`` (the current one) was dispatched in part: a leader died, or lost Redis, while sending it.
        Its shards not sent yet are sent now, to their owners among the live workers, if half the slot is still
        to come (the rule of ``_late``); otherwise they miss this slot, said once."""
        expected = self._expected()
        sent = {int(shard) for shard in self.client.smembers(SENT_KEY)}
        missing = expected - sent
        workers = tuple(sorted(live_workers(self.client)))
        gone = now - slot
        # this leader concludes the slot, with whatever its shards report (a leader that lost Redis while sending
        # it had not recorded it yet)
        self.pending.setdefault(slot, (workers, expected))
        if missing and workers and gone <= self.interval_s / 2:
            owners = self._owners(workers, missing)
            self._send(slot, owners)
            self.dispatched.append(Dispatch(slot, workers, len(owners), now))
            log.warning("leader %s: slot %s was left half-dispatched (%d of %d shards sent): the other %d sent now, "
                        "%.1f s into the slot", self.name, _clock(slot), len(expected & sent), len(expected),
                        len(owners), gone)
            return
        self.client.delete(SENDING_KEY, SENT_KEY)
        if missing:
            log.warning("leader %s: slot %s was left half-dispatched (%d of %d shards sent): the other %d miss this "
                        "slot (%s)", self.name, _clock(slot), len(expected & sent), len(expected), len(missing),
                        "no live worker" if not workers else
                        f"{gone:.1f} s of {self.interval_s:g} s gone, past the half")

    def _late(self, slot: float, now: float) -> bool:
        """Whether ``slot``, undispatched with less than half of it left, is left alone: a shard still polling a
        slot dispatched that late when the next one starts would skip the next one (one cycle of a shard at a
        time), so a leader that took the lock in the slot waits for the next slot's start. A leader that held
        the lock when the slot started and could not dispatch it (the store or Redis away) records it missed."""
        if self.acquired and self.acquired[-1] > slot:
            if self.waiting_for != slot:
                self.waiting_for = slot
                log.info("leader %s: slot %s is %.1f s of %g s gone and was not dispatched: waiting for the next "
                         "slot (%s)", self.name, _clock(slot), now - slot, self.interval_s,
                         _clock(slot + self.interval_s))
            return True
        log.warning("leader %s: slot %s could not be dispatched in its first half (%.1f s of %g s gone): it is "
                    "missed", self.name, _clock(slot), now - slot, self.interval_s)
        self.client.set(SLOT_KEY, repr(slot))
        self.pending[slot] = ((), self._expected())
        return True

    def _conclude_due(self, now: float, *, force: bool = False) -> None:
        """Conclude each pending slot whose shards all reported, or that ended (``force``: every pending slot)."""
        from hotspotctl.scheduling.shardrun import conclude_slot, workers_cpu_since
        from hotspotctl.store.cluster import shard_cycles_of_slot

        if not self.pending:
            last = self.client.get(SLOT_KEY)
            done = self.client.get(CONCLUDED_KEY)
            if last is not None and (done is None or float(done) < float(last)):
                # a slot the previous leader dispatched and did not conclude: this one concludes it
                self.pending[float(last)] = (tuple(sorted(live_workers(self.client))), self._expected())
        for slot in sorted(self.pending):
            workers, expected = self.pending[slot]
            with self.store.read() as conn:
                rows = shard_cycles_of_slot(conn, slot)
            finished = {row.shard for row in rows if row.state != "running"}
            if not expected <= finished and now < slot + self.interval_s and not force:
                continue
            del self.pending[slot]
            done = self.client.get(CONCLUDED_KEY)
            if done is not None and float(done) >= slot:
                continue
            self.client.set(CONCLUDED_KEY, repr(slot))
            beats = live_workers(self.client)
            failures = self.watch.failures
            cpu, self.workers_cpu = workers_cpu_since(self.workers_cpu, beats)
            summary = conclude_slot(self.store, self.settings, self.sink, slot, leader=self.name, workers=workers,
                                    expected=expected, outage_counts=self.outage_counts, now=now,
                                    redis_failures=failures - self.failures_concluded,
                                    workers_redis_failures=sum(_count(b.get("redis_failures")) for b in beats.values()),
                                    workers_cpu_s=cpu)
            self.failures_concluded = failures
            self.concluded.append(summary)
            self._track(summary, now, beats)
            log.info("leader %s: slot %s concluded: %d of %d shards reported%s; %d APs, %d ok, %d failed, "
                     "%d timed out; lag %.2f s; %d open outages", self.name, _clock(slot), summary.shards_reported,
                     summary.shards_expected,
                     f" (missing: {', '.join(map(str, summary.shards_missing))})" if summary.shards_missing else "",
                     summary.aps, summary.ok, summary.failed, summary.timed_out, summary.lag_s, summary.open_outages,
                     extra={"slot": summary.to_json()})
            self._notify(slot, now)

    def _track(self, summary: Any, now: float, workers: Mapping[str, Mapping[str, Any]]) -> None:
        """The cluster's own health after a slot, as the NOC's poller notices read it (PollerHealth's fields):
        a slot whose last shard finished after the slot's end overran; one with shards missing or failed failed."""
        if summary.lag_s > self.interval_s:
            self.overruns += 1
            self.overrun_since = summary.slot if self.overrun_since is None else self.overrun_since
        else:
            self.overruns, self.overrun_since = 0, None
        if summary.shards_missing or summary.shards_failed:
            self.failed_in_a_row += 1
            self.failing_since = summary.slot if self.failing_since is None else self.failing_since
            self.last_failure = (f"slot {_clock(summary.slot)}: {len(summary.shards_missing)} of "
                                 f"{summary.shards_expected} shards did not report, {summary.shards_failed} failed")
        else:
            self.failed_in_a_row, self.failing_since, self.last_failure = 0, None, None
        own = self.sink.spool.status()
        self.spool_batches.append(own.batches + sum(int(w.get("spool_batches", 0)) for w in workers.values()))
        self.spool_points = own.points + sum(int(w.get("spool_points", 0)) for w in workers.values())
        if self.flusher is not None and self.flusher.last_error:
            self.influx_failing_since = now if self.influx_failing_since is None else self.influx_failing_since
        else:
            self.influx_failing_since = None

    def health(self, last_duration_s: float) -> dict[str, Any]:
        """PollerHealth's fields for the cluster now (the send_noc task's argument)."""
        configured = self.sink.configured
        return {"interval_s": self.interval_s, "overruns": self.overruns, "overrun_since": self.overrun_since,
                "last_duration_s": last_duration_s,
                "spool_batches": list(self.spool_batches) if configured else [],
                "spool_points": self.spool_points if configured else 0,
                "influx_failing_since": self.influx_failing_since,
                "influx_error": self.flusher.last_error if self.flusher is not None else None,
                "failed_in_a_row": self.failed_in_a_row, "failing_since": self.failing_since,
                "last_failure": self.last_failure}

    def _notify(self, slot: float, now: float) -> None:
        from hotspotctl.delivery.noc import channels

        if not channels(self.settings):
            return
        last = self.concluded[-1].lag_s if self.concluded else 0.0
        self.app.send_task(NOC_TASK, args=(self.health(last), now), queue=DELIVERY_QUEUE,
                           expires=datetime.fromtimestamp(slot + 2 * self.interval_s, UTC))

    def _crons_due(self, now: float) -> None:
        from hotspotctl.scheduling.shards import assign_shards

        for job in self.crons.due(now):
            if job == "crews":
                self.app.send_task(CREWS_TASK, args=(None, now), queue=DELIVERY_QUEUE)
                log.info("leader %s: the crew lists sent as a task on %s", self.name, DELIVERY_QUEUE)
            elif job == "discovery":
                workers = sorted(live_workers(self.client))
                if not workers:
                    continue
                for shard, owner in sorted(assign_shards(self.settings.cluster.shards, workers).items()):
                    self.app.send_task(DISCOVER_TASK, args=(shard,), queue=discovery_queue(owner))
                log.info("leader %s: rediscovery sent to %d workers", self.name, len(workers))


class _Crons:
    """The leader's two crons (schedule.discovery_cron, schedule.crews_cron when crews.send_via is set), each due
    once per fire time, through the scheduler's own cron reading (scheduling/service.py)."""

    def __init__(self, settings: Settings) -> None:
        from hotspotctl.scheduling.service import next_fire

        self.next_fire = next_fire
        self.jobs: dict[str, str] = {}
        if settings.schedule.discovery_cron:
            self.jobs["discovery"] = settings.schedule.discovery_cron
        if settings.crews.send_via and settings.schedule.crews_cron:
            self.jobs["crews"] = settings.schedule.crews_cron
        self.due_at: dict[str, float | None] = {}

    def due(self, now: float) -> list[str]:
        out = []
        for job, expression in self.jobs.items():
            if job not in self.due_at:
                self.due_at[job] = self.next_fire(expression, now)
            at = self.due_at[job]
            if at is not None and now >= at:
                out.append(job)
                self.due_at[job] = self.next_fire(expression, now)
        return out


TRAPS_NOT_IN_CLUSTER = (
    "traps.enabled is set, but a cluster does not listen for traps: its leader and workers only poll, so an AP "
    "that goes down is found at the next slot's poll, not at its trap. Set traps.enabled = false for the "
    "cluster's processes to silence this; `hotspotctl traps listen` shows the traps as they arrive")


def run_leader(settings: Settings, *, name: str, interval_s: float | None = None,
               max_slots: int | None = None) -> int:
    """``hotspotctl run --distributed``: a Leader until SIGTERM/SIGINT (0), or Redis lost (ClusterError)."""
    require_cluster(settings)
    with Store.open(settings.store_url) as store:
        require_cluster(settings, store)
        if settings.traps.enabled:  # `hotspotctl run` listens for traps; a cluster does not: said, not ignored
            log.warning(TRAPS_NOT_IN_CLUSTER)
        sink = own_sink(settings, f"leader.{name}")
        flusher = FlushThread(sink, f"flush-leader-{name}")
        leader = Leader(settings, store, name=name, sink=sink, interval_s=interval_s, max_slots=max_slots,
                        flusher=flusher)
        previous = {sig: signal.signal(sig, lambda *_: leader.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            leader.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            flusher.close(settings.schedule.grace_s)
            sink.close()
    return ExitCode.OK


# --- status -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShardState:
    shard: int
    slot: float | None
    worker: str | None
    state: str | None
    duration_s: float | None
    lag_s: float | None  # the last ended slot minus this shard's newest slot (0: it is up to date)
    missed: bool  # it has APs, and did not finish the last ended slot
    has_aps: bool = True  # False: no site of the inventory hashes to it (nothing to poll, never missed)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    now: float
    redis: str
    leader: str | None
    last_dispatched: float | None
    last_concluded: float | None
    last_ended: float  # the newest slot that has ended
    workers: dict[str, dict[str, Any]]  # name -> heartbeat (host, pid, started, seen, polled, last_slot, spool)
    shards: list[ShardState]

    @property
    def missed(self) -> list[int]:
        return [s.shard for s in self.shards if s.missed]

    def to_json(self) -> dict[str, Any]:
        return {"now": self.now, "redis": self.redis, "leader": self.leader, "last_dispatched": self.last_dispatched,
                "last_concluded": self.last_concluded, "last_ended": self.last_ended, "workers": self.workers,
                "shards": [s.to_json() for s in self.shards], "missed": self.missed}


def cluster_status(settings: Settings, store: Store, *, now: float | None = None) -> ClusterStatus:
    """The workers (their heartbeats), the leader, and each shard's last cycle and lag; a ClusterError when Redis
    cannot be reached."""
    from hotspotctl.scheduling.shardrun import expected_shards
    from hotspotctl.scheduling.shards import cycle_slot
    from hotspotctl.store.cluster import last_shard_cycles

    require_cluster(settings, store)
    now = time.time() if now is None else now
    interval = settings.schedule.interval_s
    client = redis_client(settings)
    try:
        workers = live_workers(client)
        holder = client.get(LEADER_KEY)
        dispatched = client.get(SLOT_KEY)
        concluded = client.get(CONCLUDED_KEY)
    except REDIS_DOWN as exc:
        raise ClusterError(f"Redis {mask_url(settings.cluster.redis_url)} is unreachable: {exc}") from None
    finally:
        with contextlib.suppress(Exception):
            client.close()
    with store.read() as conn:
        last = last_shard_cycles(conn)
    expected = expected_shards(store, settings.cluster.shards)
    ended = cycle_slot(now, interval) - interval
    shards = []
    for shard in range(settings.cluster.shards):
        row = last.get(shard)
        has_aps = shard in expected
        if row is None:
            shards.append(ShardState(shard, None, None, None, None, None, has_aps, has_aps))
            continue
        up_to_date = row.slot > ended or (row.slot == ended and row.state == "done")
        shards.append(ShardState(shard, row.slot, row.worker, row.state, row.duration_s,
                                 max(0.0, ended - row.slot), has_aps and not up_to_date, has_aps))
    return ClusterStatus(now, mask_url(settings.cluster.redis_url), str(holder).rsplit(":", 2)[0] if holder else None,
                         float(dispatched) if dispatched else None, float(concluded) if concluded else None, ended,
                         workers, shards)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _count(value: Any) -> int:
    """A heartbeat's count (anything else: 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _clock(slot: float) -> str:
    return datetime.fromtimestamp(slot, UTC).strftime("%H:%M:%SZ")
