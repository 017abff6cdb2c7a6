"""``hotspotctl run``: the fleet polled every interval, on APScheduler, until SIGTERM.

Jobs (AsyncIOScheduler, one asyncio loop shared with the poller):

- **poll** every ``schedule.interval_s``: one cycle (discovering alongside whatever needs it), then
  evaluation (the rollup by district and site), line protocol for every AP, and one spool batch.
  ``max_instances=1`` and ``coalesce=True``: a cycle that overruns its interval is never run twice
  at once; the runs it made the scheduler skip are logged and recorded as the next cycle's
  ``missed`` and ``lag_s`` (its start minus the time the oldest skipped run was due).
- **discover** at ``schedule.discovery_cron``: walks again the APs whose layout is older than
  ``snmp.rediscover_hours``, off the poll cycle's clock.
- **flush** every ``influx.flush_interval_s``, and right after each cycle, when InfluxDB is
  configured: replays the spool to InfluxDB oldest first, in a worker thread so that a slow
  InfluxDB never delays a poll. While InfluxDB stays away it backs off (to 5 minutes).

- **crews** at ``schedule.crews_cron`` when ``crews.send_via`` names channels: every zone's crew
  list goes out (email, webhook, Open311; Open311 files only stops not filed before). With
  ``crews.send_on_site_outage``, a cycle that finds a site offline sends that zone's list at once.
  Sending runs in a worker thread: a slow mail server never delays a poll.

Every batch goes to the spool first (fsync), then to InfluxDB: see ``sinks/influx.py``.

Every cycle writes its cost (duration, APs ok/timed out/failed/skipped, lag, missed runs, CPU,
points) to the store's ``poll_cycles`` and as a ``poller_cycle`` point. On SIGTERM or SIGINT no
new cycle starts; the running one finishes its writes (states in the store, points in the spool)
within ``schedule.grace_s``, one last flush is tried in what is left of it, and the process exits
0: whatever InfluxDB did not take is in the spool.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import ProfileSet
from hotspotctl.evaluate.rollup import Rollup, rollup
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.model import AccessPoint
from hotspotctl.scheduling.cycle import CycleMemory, CycleReport, discover_aps, run_cycle
from hotspotctl.scheduling.evaluation import CycleEvaluation, Evaluator
from hotspotctl.settings import Settings
from hotspotctl.sinks.influx import FlushResult, InfluxSink
from hotspotctl.sinks.lineproto import ApLines, line
from hotspotctl.store import Store
from hotspotctl.store.polling import record_cycle

log = logging.getLogger("hotspotctl.scheduler")


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """What one scheduled cycle cost, as stored in poll_cycles."""

    scheduled_at: float
    started_at: float
    duration_s: float
    lag_s: float
    missed: int
    aps: int
    ok: int
    timed_out: int
    failed: int
    skipped: int
    discovered: int
    cpu_s: float
    points: int
    sink: str

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class CycleRunner:
    """One cycle end to end: poll, rates, evaluation, line protocol, spool, cost recorded."""

    def __init__(self, store: Store, settings: Settings, profiles: ProfileSet, aps: Sequence[AccessPoint],
                 zones: CrewZones, sink: InfluxSink, poller: Poller) -> None:
        self.store = store
        self.settings = settings
        self.profiles = profiles
        self.aps = list(aps)
        self.zones = {ap.id: zones.zone_for(ap) for ap in self.aps}
        self.crew_zones = zones
        self.sink = sink
        self.spool = sink.spool
        self.poller = poller
        self.memory = CycleMemory.load(store, self.aps)
        self.evaluator = Evaluator(store, settings.evaluate, self.aps, zones)
        self.targets = {ap_id: limits.target_mbps for ap_id, limits in self.evaluator.limits.items()}
        self.lines = ApLines()
        self.last_report: CycleReport | None = None
        self.last_rollup: Rollup | None = None
        self.last_evaluation: CycleEvaluation | None = None
        self.cycles = 0

    async def cycle(self, *, scheduled_at: float | None = None, missed: int = 0, lag_s: float | None = None,
                    progress: Any = None) -> CycleRecord:
        started = time.time()
        cpu_started = time.process_time()
        report = await run_cycle(self.store, self.aps, self.settings.snmp, self.profiles, self.poller,
                                 interval_s=self.settings.schedule.interval_s, progress=progress,
                                 memory=self.memory)
        evaluation = self.evaluator.evaluate(report.outcomes, report.started_at)
        evaluated = rollup(report.outcomes, targets=self.targets)
        lines = self.encode(report, evaluated)
        scheduled = started if scheduled_at is None else scheduled_at
        record = CycleRecord(
            scheduled_at=scheduled, started_at=started, duration_s=0.0,
            lag_s=max(0.0, started - scheduled) if lag_s is None else lag_s, missed=missed,
            aps=len(report.outcomes), ok=report.ok, timed_out=report.timed_out, failed=report.failed,
            skipped=report.skipped, discovered=report.discovered, cpu_s=0.0, points=0,
            sink="influx" if self.sink.configured else "spool")
        # the cycle's own cost goes into the same batch: everything but the spool write itself
        waiting = self.spool.status()
        duration = time.time() - started
        cpu = time.process_time() - cpu_started
        lines.append(line("poller_cycle", {}, {
            "duration_s": round(duration, 3), "lag_s": round(record.lag_s, 3), "missed": missed,
            "aps": record.aps, "ok": record.ok, "timed_out": record.timed_out, "failed": record.failed,
            "skipped": record.skipped, "cpu_s": round(cpu, 3), "points": len(lines) + 1,
            "spool_batches": waiting.batches, "spool_points": waiting.points, "spool_bytes": waiting.bytes,
            "outages_open": evaluation.open_outages, "outages_opened": len(evaluation.ledger.opened),
            "outages_closed": len(evaluation.ledger.closed)},
            int(started)))
        self.sink.submit(lines)
        record = replace(record, duration_s=time.time() - started, cpu_s=cpu, points=len(lines))
        with self.store.write() as conn:
            record_cycle(conn, **record.to_json())
        self.last_report, self.last_rollup, self.last_evaluation = report, evaluated, evaluation
        self.cycles += 1
        return record

    def encode(self, report: CycleReport, evaluated: Rollup) -> list[str]:
        return encode_cycle(self.lines, report.outcomes, report.started_at, evaluated, self.zones, self.targets)

    def send_crew_lists(self, zones: set[str] | None, *, now: float | None = None) -> Any:
        """Build the crew lists (of these zones, or every zone) and send them through crews.send_via."""
        from hotspotctl.reports.crews import crew_lists_from_store
        from hotspotctl.reports.dispatch import dispatch

        now = time.time() if now is None else now
        fleet = Fleet.load(self.store, self.crew_zones)
        lists = crew_lists_from_store(self.store, fleet, self.settings, now, zones=sorted(zones or ()))
        return dispatch(self.store, lists, self.settings, self.settings.crews.send_via, now)

    async def rediscover(self) -> int:
        """Walk again every AP whose layout is older than snmp.rediscover_hours; how many were walked."""
        max_age = timedelta(hours=self.settings.snmp.rediscover_hours)
        now = datetime.now(UTC)
        stale = [ap for ap in self.aps
                 if (stored := self.memory.discoveries.get(ap.id)) is not None and now - stored.discovered_at > max_age]
        if not stale:
            return 0
        await discover_aps(self.store, stale, self.settings.snmp, self.profiles, self.poller, memory=self.memory)
        return len(stale)


def encode_cycle(lines: ApLines, outcomes: Sequence[Any], started_at: float, evaluated: Rollup,
                 zones: dict[str, str], targets: Mapping[str, float]) -> list[str]:
    """A cycle's line protocol: every AP's lines, and one fleet_rollup line per district."""
    out: list[str] = []
    encode = lines.encode
    for o in outcomes:
        at = int(o.rate.at if o.rate is not None else (o.error.at if o.error is not None else started_at))
        encode(out, o.ap, zones[o.ap.id], o.profile, o.rate, o.error.kind if o.error else None, o.rtt_ms, at,
               targets[o.ap.id])
    at_s = int(started_at)
    for district, tally in evaluated.districts.items():
        out.append(line("fleet_rollup", {"district": district}, {
            "aps": tally.aps, "up": tally.up, "down": tally.down, "below_target": tally.below_target,
            "clients": tally.clients, "in_bps": float(tally.in_bps), "out_bps": float(tally.out_bps)}, at_s))
    return out


class Service:
    """The scheduler around a CycleRunner; ``await service.run()`` until ``stop()``."""

    def __init__(self, runner: CycleRunner, *, interval_s: float, discovery_cron: str = "", grace_s: float = 30.0,
                 max_cycles: int | None = None) -> None:
        self.runner = runner
        self.interval_s = interval_s
        self.discovery_cron = discovery_cron
        self.grace_s = grace_s
        self.max_cycles = max_cycles
        self.records: list[CycleRecord] = []
        self._due: list[float] = []  # scheduled times of submitted poll runs, oldest first
        self._missed: list[float] = []  # scheduled times the scheduler skipped since the last run
        self._stop: asyncio.Event | None = None
        self._current: asyncio.Task[Any] | None = None
        self._flushing: asyncio.Task[FlushResult] | None = None
        self.flushes: list[FlushResult] = []
        self.scheduler: AsyncIOScheduler | None = None
        self.stopped_cleanly = True
        self._sending: set[asyncio.Future[Any]] = set()
        self.sends: list[Any] = []  # DispatchReports of this run

    def stop(self) -> None:
        if self._stop is not None and not self._stop.is_set():
            log.info("stopping: no new cycle will start; the running one finishes its writes")
            self._stop.set()

    async def run(self) -> bool:
        """Run the jobs until stop() (or max_cycles); True when the last cycle finished its writes."""
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # The fleet, its layouts and counter states live as long as the process: move them out of the
        # cyclic collector's sight, and collect less often, or every cycle pays for rescanning them.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        scheduler = self.scheduler = AsyncIOScheduler(event_loop=loop, timezone=_local_zone())
        scheduler.add_listener(self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED
                               | EVENT_JOB_ERROR)
        now = datetime.now(UTC)
        scheduler.add_job(self._poll_job, IntervalTrigger(seconds=self.interval_s, start_date=now), id="poll",
                          name="poll cycle", max_instances=1, coalesce=True, misfire_grace_time=None,
                          next_run_time=now)
        sink = self.runner.sink
        if sink.configured:
            scheduler.add_job(self._flush_job, IntervalTrigger(seconds=sink.settings.flush_interval_s), id="flush",
                              name="spool flush", max_instances=1, coalesce=True, misfire_grace_time=None)
        crews = self.runner.settings.crews
        if crews.send_via and self.runner.settings.schedule.crews_cron:
            scheduler.add_job(self._crews_job, CronTrigger.from_crontab(self.runner.settings.schedule.crews_cron),
                              id="crews", name="crew lists", max_instances=1, coalesce=True, misfire_grace_time=None)
        if self.discovery_cron:
            scheduler.add_job(self._discover_job, CronTrigger.from_crontab(self.discovery_cron), id="discover",
                              name="rediscovery", max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.start()
        log.info("scheduler started: %d APs every %g s%s; metrics to %s", len(self.runner.aps), self.interval_s,
                 f"; rediscovery at '{self.discovery_cron}'" if self.discovery_cron else "", sink.destination)
        try:
            await self._stop.wait()
        finally:
            # pause, not shut down: APScheduler's shutdown cancels a running coroutine job, and the
            # running cycle must finish its writes first
            stopping = time.monotonic()
            scheduler.pause()
            await self._finish_running()
            await self._finish_sending(self.grace_s - (time.monotonic() - stopping))
            await self._last_flush(self.grace_s - (time.monotonic() - stopping))
            scheduler.shutdown(wait=False)
        return self.stopped_cleanly

    async def _flush_job(self) -> None:
        task = self._start_flush()
        if task is not None:
            await task

    def _start_flush(self) -> asyncio.Task[FlushResult] | None:
        """Replay the spool to InfluxDB in a worker thread; one flush at a time, backing off while it is away."""
        sink = self.runner.sink
        if self._flushing is not None and not self._flushing.done():
            return None
        if not sink.due() or (self._stop is not None and self._stop.is_set()):
            return None
        task = self._flushing = asyncio.ensure_future(asyncio.to_thread(sink.flush))
        task.add_done_callback(self._flushed)
        return task

    def _flushed(self, task: asyncio.Task[FlushResult]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("flush to %s failed: %s; the data stays in the spool", self.runner.sink.destination,
                      task.exception())
            return
        result = task.result()
        self.flushes.append(result)
        if not result.ok and result.waiting is not None:
            stopping = self._stop is not None and self._stop.is_set()
            log.warning("%s; %d points in %d batches wait in the spool %s%s", result.error, result.waiting.points,
                        result.waiting.batches, result.waiting.directory,
                        "" if stopping else f"; next try in {self.runner.sink.next_try_in():.0f} s")

    async def _last_flush(self, budget_s: float) -> None:
        """On the way out: wait for a flush in progress, then try once more, both within the grace left."""
        sink = self.runner.sink
        if not sink.configured:
            return
        deadline = time.monotonic() + max(0.0, budget_s)
        try:
            if self._flushing is not None and not self._flushing.done():
                await asyncio.wait_for(asyncio.shield(self._flushing), max(0.0, deadline - time.monotonic()))
            if sink.spool.status().batches:
                result = await asyncio.wait_for(asyncio.to_thread(sink.flush),
                                                max(0.0, deadline - time.monotonic()))
                self.flushes.append(result)
                if not result.ok:
                    log.warning("last flush: %s", result.error)
        except TimeoutError:
            sink.stop_event.set()  # cut the writer's back-off short; unacked batches stay spooled
            log.warning("the last flush to %s did not finish within the grace period; what it did not write "
                        "stays in the spool", sink.destination)
        except Exception as exc:  # the data is in the spool either way: say why, and exit
            log.error("the last flush failed: %s; the data stays in the spool", exc)

    async def _finish_running(self) -> None:
        task = self._current
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), self.grace_s)
        except TimeoutError:
            self.stopped_cleanly = False
            log.error("the running cycle did not finish within the %g s grace period; stopping it: its samples "
                      "were not written (schedule.grace_s sets the grace period)", self.grace_s)
            task.cancel()
        except Exception:  # already logged by the job wrapper
            pass

    def _on_event(self, event: JobEvent) -> None:
        if event.job_id != "poll":
            if event.code == EVENT_JOB_ERROR and isinstance(event, JobExecutionEvent):
                log.error("job %s failed: %s", event.job_id, event.exception)
            return
        if event.code == EVENT_JOB_SUBMITTED and isinstance(event, JobSubmissionEvent):
            self._due.append(min(event.scheduled_run_times).timestamp())
        elif event.code in (EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED) and isinstance(event, JobSubmissionEvent):
            times = [t.timestamp() for t in event.scheduled_run_times]
            self._missed.extend(times)
            log.warning("poll cycle overran: the run due at %s was skipped (max_instances=1); "
                        "it is recorded as lag of the next cycle",
                        datetime.fromtimestamp(min(times)).strftime("%H:%M:%S"))
        elif event.code == EVENT_JOB_MISSED:
            self._missed.append(event.scheduled_run_time.timestamp())
        elif event.code == EVENT_JOB_ERROR and isinstance(event, JobExecutionEvent):
            log.error("poll cycle failed: %s: %s", type(event.exception).__name__, event.exception)

    async def _poll_job(self) -> None:
        if self._stop is not None and self._stop.is_set():
            return
        self._current = asyncio.current_task()
        started = time.time()
        scheduled = self._due.pop(0) if self._due else started
        oldest = min([scheduled, *self._missed])
        missed = len(self._missed)
        self._missed.clear()
        log.debug("cycle %d started, due at %s", self.runner.cycles + 1,
                  datetime.fromtimestamp(scheduled).strftime("%H:%M:%S.%f")[:-3])
        record = await self.runner.cycle(scheduled_at=scheduled, missed=missed, lag_s=max(0.0, started - oldest))
        self.records.append(record)
        log.info("cycle %d: %d APs, %d ok, %d timed out, %d failed, %d waiting out back-off; %.2f s, lag %.2f s, "
                 "CPU %.2f s; %d points spooled%s", self.runner.cycles, record.aps, record.ok, record.timed_out,
                 record.failed, record.skipped, record.duration_s, record.lag_s, record.cpu_s, record.points,
                 " for InfluxDB" if record.sink == "influx" else "", extra={"cycle": record.to_json()})
        if self.runner.sink.configured:
            self._start_flush()  # now, not at the next tick of the flush job
        evaluation = self.runner.last_evaluation
        crews = self.runner.settings.crews
        if evaluation is not None and evaluation.ledger:
            log.info("outages: %d opened, %d closed, %d open", len(evaluation.ledger.opened),
                     len(evaluation.ledger.closed), evaluation.open_outages,
                     extra={"outages": evaluation.summary()})
            new_sites = evaluation.new_site_outages
            if new_sites and crews.send_via and crews.send_on_site_outage:
                zones = {o.zone for o in new_sites}
                self._send_crews_soon(zones, f"{len(new_sites)} sites offline in {', '.join(sorted(zones))}")
        if record.duration_s > self.interval_s:
            log.warning("cycle %d took %.1f s, longer than the %g s interval: the next run is skipped and "
                        "recorded as lag", self.runner.cycles, record.duration_s, self.interval_s)
        if self.max_cycles is not None and len(self.records) >= self.max_cycles:
            self.stop()

    async def _crews_job(self) -> None:
        await self._send_crews(None, "scheduled")

    def _send_crews_soon(self, zones: set[str], why: str) -> None:
        task = asyncio.ensure_future(self._send_crews(zones, why))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_crews(self, zones: set[str] | None, why: str) -> None:
        """Send the crew lists (of these zones, or all) through crews.send_via, in a worker thread."""
        try:
            report = await asyncio.to_thread(self.runner.send_crew_lists, zones)
        except Exception as exc:  # the ledger is untouched: the next send tries again
            log.error("sending crew lists (%s) failed: %s", why, exc)
            return
        self.sends.append(report)
        counts: dict[str, int] = {}
        for delivery in report.deliveries:
            counts[delivery.status] = counts.get(delivery.status, 0) + 1
        log.info("crew lists (%s) through %s: %s", why, ", ".join(report.channels),
                 ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to send",
                 extra={"crews": report.to_json()})

    async def _finish_sending(self, budget_s: float) -> None:
        if not self._sending:
            return
        _done, pending = await asyncio.wait(set(self._sending), timeout=max(0.0, budget_s))
        if pending:
            log.warning("%d crew-list sends did not finish within the grace period; the next run sends again",
                        len(pending))

    async def _discover_job(self) -> None:
        walked = await self.runner.rediscover()
        log.info("rediscovery: %d APs with layouts older than %g h walked again", walked,
                 self.runner.settings.snmp.rediscover_hours)


def _local_zone() -> Any:
    """The machine's zone, so discovery_cron reads as local time (tzlocal comes with APScheduler)."""
    from tzlocal import get_localzone

    return get_localzone()
