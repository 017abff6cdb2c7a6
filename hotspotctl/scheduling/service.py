"""``hotspotctl run``: the fleet polled every interval, on APScheduler, until SIGTERM.

Jobs (AsyncIOScheduler, one asyncio loop shared with the poller):

- **poll** every ``schedule.interval_s``: one cycle (discovering first whatever needs it), then
  evaluation (the rollup by district and site), line protocol for every AP, and one spool batch.
  ``max_instances=1`` and ``coalesce=True``: a cycle that overruns its interval is never run twice
  at once; the runs it made the scheduler skip are logged and recorded as the next cycle's
  ``missed`` and ``lag_s`` (its start minus the time the oldest skipped run was due).
- **discover** at ``schedule.discovery_cron``: walks again the APs whose layout is older than
  ``snmp.rediscover_hours``, off the poll cycle's clock.

Every cycle writes its cost (duration, APs ok/timed out/failed/skipped, lag, missed runs, CPU,
points) to the store's ``poll_cycles`` and as a ``poller_cycle`` point. On SIGTERM or SIGINT no
new cycle starts; the running one finishes its writes (states in the store, points in the spool)
within ``schedule.grace_s`` and the process exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Sequence
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
from hotspotctl.inventory.fleet import CrewZones
from hotspotctl.inventory.model import AccessPoint
from hotspotctl.scheduling.cycle import CycleMemory, CycleReport, discover_aps, run_cycle
from hotspotctl.settings import Settings
from hotspotctl.sinks.lineproto import ApLines, line
from hotspotctl.sinks.spool import Spool
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
                 zones: CrewZones, spool: Spool, poller: Poller) -> None:
        self.store = store
        self.settings = settings
        self.profiles = profiles
        self.aps = list(aps)
        self.zones = {ap.id: zones.zone_for(ap) for ap in self.aps}
        self.spool = spool
        self.poller = poller
        self.memory = CycleMemory.load(store, self.aps)
        self.lines = ApLines()
        self.last_report: CycleReport | None = None
        self.last_rollup: Rollup | None = None
        self.cycles = 0

    async def cycle(self, *, scheduled_at: float | None = None, missed: int = 0, lag_s: float | None = None,
                    progress: Any = None) -> CycleRecord:
        started = time.time()
        cpu_started = time.process_time()
        report = await run_cycle(self.store, self.aps, self.settings.snmp, self.profiles, self.poller,
                                 interval_s=self.settings.schedule.interval_s, progress=progress,
                                 memory=self.memory)
        evaluated = rollup(report.outcomes, default_target_mbps=self.settings.schedule.target_mbps)
        lines = self.encode(report, evaluated)
        scheduled = started if scheduled_at is None else scheduled_at
        record = CycleRecord(
            scheduled_at=scheduled, started_at=started, duration_s=0.0,
            lag_s=max(0.0, started - scheduled) if lag_s is None else lag_s, missed=missed,
            aps=len(report.outcomes), ok=report.ok, timed_out=report.timed_out, failed=report.failed,
            skipped=report.skipped, discovered=report.discovered, cpu_s=0.0, points=0, sink="spool")
        # the cycle's own cost goes into the same batch: everything but the spool write itself
        duration = time.time() - started
        cpu = time.process_time() - cpu_started
        lines.append(line("poller_cycle", {}, {
            "duration_s": round(duration, 3), "lag_s": round(record.lag_s, 3), "missed": missed,
            "aps": record.aps, "ok": record.ok, "timed_out": record.timed_out, "failed": record.failed,
            "skipped": record.skipped, "cpu_s": round(cpu, 3)}, int(started)))
        self.spool.append(lines)
        record = replace(record, duration_s=time.time() - started, cpu_s=cpu, points=len(lines))
        with self.store.write() as conn:
            record_cycle(conn, **record.to_json())
        self.last_report, self.last_rollup = report, evaluated
        self.cycles += 1
        return record

    def encode(self, report: CycleReport, evaluated: Rollup) -> list[str]:
        """Every AP's lines, and one fleet_rollup line per district."""
        out: list[str] = []
        encode, zones = self.lines.encode, self.zones
        target = self.settings.schedule.target_mbps
        for o in report.outcomes:
            at = int(o.rate.at if o.rate is not None else (o.error.at if o.error is not None else report.started_at))
            encode(out, o.ap, zones[o.ap.id], o.profile, o.rate, o.error.kind if o.error else None, o.rtt_ms, at,
                   o.ap.target_mbps or target)
        at_s = int(report.started_at)
        for district, tally in evaluated.districts.items():
            out.append(line("fleet_rollup", {"district": district}, {
                "aps": tally.aps, "up": tally.up, "down": tally.down, "below_target": tally.below_target,
                "clients": tally.clients, "in_bps": float(tally.in_bps), "out_bps": float(tally.out_bps)}, at_s))
        return out

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
        self.scheduler: AsyncIOScheduler | None = None
        self.stopped_cleanly = True

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
        if self.discovery_cron:
            scheduler.add_job(self._discover_job, CronTrigger.from_crontab(self.discovery_cron), id="discover",
                              name="rediscovery", max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.start()
        log.info("scheduler started: %d APs every %g s%s", len(self.runner.aps), self.interval_s,
                 f"; rediscovery at '{self.discovery_cron}'" if self.discovery_cron else "")
        try:
            await self._stop.wait()
        finally:
            # pause, not shut down: APScheduler's shutdown cancels a running coroutine job, and the
            # running cycle must finish its writes first
            scheduler.pause()
            await self._finish_running()
            scheduler.shutdown(wait=False)
        return self.stopped_cleanly

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
                 "CPU %.2f s; %d points to the %s", self.runner.cycles, record.aps, record.ok, record.timed_out,
                 record.failed, record.skipped, record.duration_s, record.lag_s, record.cpu_s, record.points,
                 record.sink, extra={"cycle": record.to_json()})
        if record.duration_s > self.interval_s:
            log.warning("cycle %d took %.1f s, longer than the %g s interval: the next run is skipped and "
                        "recorded as lag", self.runner.cycles, record.duration_s, self.interval_s)
        if self.max_cycles is not None and len(self.records) >= self.max_cycles:
            self.stop()

    async def _discover_job(self) -> None:
        walked = await self.runner.rediscover()
        log.info("rediscovery: %d APs with layouts older than %g h walked again", walked,
                 self.runner.settings.snmp.rediscover_hours)


def _local_zone() -> Any:
    """The machine's zone, so discovery_cron reads as local time (tzlocal comes with APScheduler)."""
    from tzlocal import get_localzone

    return get_localzone()
