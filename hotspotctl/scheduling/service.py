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

- **NOC notices** after every cycle (and every failed one) when ``noc.email_to`` or ``noc.webhook_url`` is
  set: site outages, controllers unreachable, misconfigured APs and the poller's own health (cycles overrunning,
  the spool growing, InfluxDB away, cycles failing), fired, repeated and resolved by ``delivery/noc.py`` in a
  worker thread, one send at a time: a slow receiver never delays a poll.
- **traps** with ``traps.enabled``: the listener is bound before the first cycle; a trap about a
  known AP polls it at once and a confirmed failure opens its outage between cycles
  (``scheduling/traps.py``); each cycle writes the trap counts as a ``poller_traps`` point.

Every batch goes to the spool first (fsync), then to InfluxDB: see ``sinks/influx.py``.

Every cycle writes its cost (duration, APs ok/timed out/failed/skipped, lag, missed runs, CPU,
points) to the store's ``poll_cycles`` and as a ``poller_cycle`` point. On SIGTERM or SIGINT no
new cycle starts; the running one finishes its writes (states in the store, points in the spool)
within ``schedule.grace_s``, one last flush is tried in what is left of it, and the process exits
0: whatever InfluxDB did not take is in the spool.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import zlib
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, JobEvent, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from hotspotctl.collectors.auth import require_secrets
from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import ProfileSet
from hotspotctl.collectors.walker import freeze_heap
from hotspotctl.errors import HotspotError, StoreError
from hotspotctl.evaluate.rollup import Rollup, rollup
from hotspotctl.evaluate.status import MISCONFIGURED, UNMONITORED, UNUSABLE
from hotspotctl.inventory.fleet import CrewZones, Fleet, Selection
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.scheduling.cycle import CycleMemory, CycleReport, CycleWrites, discover_aps, pinger_for, run_cycle
from hotspotctl.scheduling.evaluation import CycleEvaluation, Evaluator
from hotspotctl.scheduling.traps import TrapReactor, listen_for_traps, strip_restarted
from hotspotctl.settings import Settings
from hotspotctl.sinks.influx import FlushResult, InfluxSink
from hotspotctl.sinks.lineproto import ApLines, line
from hotspotctl.sinks.outage_counts import OutageCounts, open_after
from hotspotctl.sinks.spool import SpoolStatus
from hotspotctl.store import Store
from hotspotctl.store.inventory import inventory_version
from hotspotctl.store.outages import close_outages_of_removed_sites
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
    """One cycle end to end: poll, rates, evaluation, line protocol, spool, then the state, cost recorded.

    The fleet follows the inventory: each cycle starts by comparing the store's inventory version
    with the one the runner loaded, and on a change (an import added, removed, readdressed or
    re-zoned APs) it loads the fleet, its layouts, counter states and health again, as a restart
    would. ``selection`` is what `run --site/--district ...` chose (None: the APs given, as the
    inventory now has them, none added).

    Write ahead: a cycle's points are appended to the spool (fsync'd) before the counter states,
    the health and the ledger that depend on them are committed. A spool write that fails leaves
    the store as it was (the next cycle's rates span both intervals); a commit that fails leaves
    the points in the spool. Either way the memory kept between cycles is dropped and loaded again
    from the store, which stays the truth.

    Checkpoints (``checkpointing``, `run`'s service): an AP that answers as it did last cycle has only its
    counters moved (not in ``CycleWrites.changed``); its state is then written on its turn, once every
    ``schedule.checkpoint_cycles`` cycles (a stable share of the fleet each cycle). Any other change (a miss, a
    recovery, a back-off, a discovery flag) is written in its own cycle, and every state on a clean stop and
    before the fleet is loaded again for a new inventory (by a commit that finds the inventory changed, or by
    ``refresh``). A state in the store is always one the AP had: after a crash its next rate spans from that
    sample, the average over the longer interval.
    """

    def __init__(self, store: Store, settings: Settings, profiles: ProfileSet, aps: Sequence[AccessPoint],
                 zones: CrewZones, sink: InfluxSink, poller: Poller, *, selection: Selection | None = None,
                 use_backoff: bool = True) -> None:
        self.store = store
        self.settings = settings
        self.profiles = profiles
        self.crew_zones = zones
        self.sink = sink
        self.spool = sink.spool
        self.poller = poller
        self.selection = selection
        self.use_backoff = use_backoff
        # the last cycle's, once it completed (None while a cycle runs, and after one that failed)
        self.last_report: CycleReport | None = None
        self.last_rollup: Rollup | None = None
        self.last_evaluation: CycleEvaluation | None = None
        self.last_spool: SpoolStatus | None = None  # the spool as the last cycle found it (the NOC's spool_growing)
        self.cycles = 0
        self.outage_counts = OutageCounts()  # the `outages` groups written last cycle (their zeros come next)
        # traps (scheduling/traps.py): the reactor when `run` listens, the APs whose agent restarted since
        # (wall-clock time of the trap), and the lock a reaction's evaluation shares with the cycle's
        self.traps: TrapReactor | None = None
        self.restarts: dict[str, float] = {}
        self.evaluating = asyncio.Lock()
        self.checkpoint_cycles = 1  # every AP's state every cycle, until ``checkpointing`` says otherwise
        self._turns: list[frozenset[str]] = []  # the APs whose turn each checkpoint is (``_due``)
        self._turn = 0
        self._deferred = False  # a commit left routine states for their turn: memory is ahead of the store
        with store.read() as conn:
            self.inventory_seen = inventory_version(conn)
        self._load(aps)
        self.outage_counts.remember(self.evaluator.open.values(),  # open at start: a zero when they close
                                    self.outage_counts.district_of_site(self.aps, self.evaluator.site_of))

    def _load(self, aps: Sequence[AccessPoint]) -> None:
        """Take this fleet, and what the store remembers of it, as the memory kept between cycles."""
        self.aps = list(aps)
        self.zones = {ap.id: self.crew_zones.zone_for(ap) for ap in self.aps}
        self.memory = CycleMemory.load(self.store, self.aps)
        self.evaluator = Evaluator(self.store, self.settings.evaluate, self.aps, self.crew_zones)
        self.targets = {ap_id: limits.target_mbps for ap_id, limits in self.evaluator.limits.items()}
        self.lines = ApLines()  # its tag sets follow the inventory: a re-zoned AP gets new ones
        self._turns = checkpoint_turns(self.aps, self.checkpoint_cycles)
        self._stale = self._deferred = False

    @contextlib.contextmanager
    def checkpointing(self, cycles: int) -> Iterator[None]:
        """While it lasts, an AP's routine state is written once every ``cycles`` cycles (see the class); on the
        way out every AP's state in memory is written (``save_memory``), unless the memory is stale."""
        self.checkpoint_cycles = cycles
        self._turns = checkpoint_turns(self.aps, cycles)
        try:
            yield
        finally:
            self.checkpoint_cycles, self._turns = 1, []
            self.save_memory("the service stops")

    def save_memory(self, why: str) -> int:
        """Write every AP's counter state in memory, once a commit has left routine ones for their turn; how many.
        Not when the memory is stale (a cycle failed): the store is the truth then. A failure is logged, not
        raised: the store keeps the last checkpoint's states, and the next rates span from them."""
        if self._stale or not self._deferred:
            return 0
        try:
            with self.store.write() as conn:  # the memory's own dict (the fleet's states): no copy of 35,000
                written = CycleWrites(self.memory.states).save(conn, self.inventory_seen)
        except HotspotError as exc:
            log.error("%s: the counter states since the last checkpoint were not written (the next rates span "
                      "from it): %s", why, exc)
            return 0
        self._deferred = False
        log.info("%s: %d counter states written", why, written)
        return written

    def _due(self) -> frozenset[str] | None:
        """The APs whose routine state this commit writes (None: every AP's); the turn moves on each call."""
        if not self._turns:
            return None
        due = self._turns[self._turn % len(self._turns)]
        self._turn += 1
        return due

    def mark_stale(self) -> None:
        """Memory and store may differ (a write failed): the next cycle loads the fleet's state again."""
        self._stale = True

    def refresh(self) -> bool:
        """Follow the inventory, and reload the memory after a failed cycle; True when anything was loaded."""
        with self.store.read() as conn:
            version = inventory_version(conn)
        if version == self.inventory_seen and not self._stale:
            return False
        before = {ap.id: ap for ap in self.aps}
        if version != self.inventory_seen:
            fleet = Fleet.load(self.store, self.crew_zones)
            if self.selection is not None:
                aps = fleet.select(self.selection)
            else:
                aps = [fleet.aps[ap_id] for ap_id in before if ap_id in fleet.aps]
            # an AP the import added may use a credential set whose secret is missing: a config error, not an outage
            require_secrets(aps, self.settings.snmp.auth, self.settings.ssh.auth)
            added = sum(1 for ap in aps if ap.id not in before)
            changed = sum(1 for ap in aps if ap.id in before and before[ap.id] != ap)
            removed = len(before) - (len(aps) - added)
            # the fleet is loaded again from the store below: the states not written yet first
            self.save_memory("the inventory changed")
            with self.store.write() as conn:
                closed = close_outages_of_removed_sites(conn, time.time())
            log.info("the inventory changed: %d APs added, %d changed, %d removed; polling %d APs%s", added, changed,
                     removed, len(aps), f"; {len(closed)} outages of sites no longer in it closed" if closed else "")
            self.inventory_seen = version
        else:
            aps = self.aps
            log.info("loading the fleet's state again from the store after a failed cycle")
        self._load(aps)
        return True

    async def cycle(self, *, scheduled_at: float | None = None, missed: int = 0, lag_s: float | None = None,
                    progress: Any = None) -> CycleRecord:
        started = time.time()  # wall clock: the cycle's points and record
        clock = time.monotonic()
        cpu_started = time.process_time()
        # the previous cycle's report, rollup and evaluation (every AP's outcome, sample and radios; the health
        # verdicts it wrote, which the evaluator has since replaced) are let go before this cycle builds its own:
        # held through it, they made the cycle's peak two cycles' worth of them
        self.last_report = self.last_rollup = self.last_evaluation = None
        collect_between_cycles()  # `run`'s service: the collector's one run a cycle, now that they are let go
        try:
            self.refresh()
            report = await run_cycle(self.store, self.aps, self.settings.snmp, self.profiles, self.poller,
                                     interval_s=self.settings.schedule.interval_s, progress=progress,
                                     memory=self.memory, save=False, use_backoff=self.use_backoff,
                                     pinger=pinger_for(self.settings.ping))
        except BaseException:
            self._stale = True  # the memory may have moved on: load it again from the store
            raise
        # a trap's reaction (scheduling/traps.py) evaluates and saves between the cycles' evaluations, never within
        async with self.evaluating:
            return self._conclude(report, started, clock, cpu_started, scheduled_at, missed, lag_s)

    def _conclude(self, report: CycleReport, started: float, clock: float, cpu_started: float,
                  scheduled_at: float | None, missed: int, lag_s: float | None) -> CycleRecord:
        """The cycle after its polls: evaluation, line protocol, spool, then the state, cost recorded."""
        try:
            strip_restarted(report, self.restarts)  # coldStart/warmStart traps: no rate across the restart
            # the new counter states replace the old in memory now, not after the commit: the old (every AP's
            # state, its counters' values) went on through evaluation, encoding and the spool, about 13 MB of
            # the city's peak. Should anything below fail, the memory is marked stale and loaded again from
            # the store, which still holds the old states (the next cycle's rates then span both intervals).
            report.writes.apply(self.memory)
            evaluation = self.evaluator.evaluate(report.outcomes, report.started_at, save=False)
            evaluated = rollup(report.outcomes, targets=self.targets, healths=self.evaluator.healths, sites=False)
            # the spool as this cycle found it, before its own batches (the NOC's spool_growing, poller_cycle)
            waiting = self.last_spool = self.spool.status()
            # the AP lines go to the spool in whole batches as they are made (SpoolStream): never all of them at once
            stream = SpoolStream(self.sink)
            lines = self.encode(report, evaluated, stream)
            lines += self.outage_counts.lines(open_after(self.evaluator.open, evaluation.ledger),
                                              self.outage_counts.district_of_site(self.aps, self.evaluator.site_of),
                                              int(report.started_at))
            scheduled = started if scheduled_at is None else scheduled_at
            record = CycleRecord(
                scheduled_at=scheduled, started_at=started, duration_s=0.0,
                lag_s=max(0.0, started - scheduled) if lag_s is None else lag_s, missed=missed,
                aps=len(report.outcomes), ok=report.ok, timed_out=report.timed_out, failed=report.failed,
                skipped=report.skipped, discovered=report.discovered, cpu_s=0.0, points=0,
                sink="influx" if self.sink.configured else "spool")
            if self.traps is not None:  # the traps since the last cycle, and what they did
                lines.append(line("poller_traps", {}, self.traps.figures(), int(started)))
            self.sink.submit(lines)  # durable before anything that depends on it is committed
        except BaseException:
            self._stale = True  # the memory may have moved on: load it again from the store
            raise
        points = stream.points + len(lines) + 1  # and the cycle's own line, below
        del lines  # the last batch's, spooled
        try:
            with self.store.write() as conn:
                self._commit(conn, report, evaluation)
        except BaseException as exc:
            self._stale = True
            if isinstance(exc, HotspotError):
                raise StoreError(f"{exc}; the cycle's {points - 1:,} points are in the spool, but its counter "
                                 "states and evaluation were not saved (the next cycle's rates span both "
                                 "intervals)") from exc
            raise
        self.evaluator.apply(evaluation)
        self.last_report, self.last_rollup, self.last_evaluation = report, evaluated, evaluation
        self.cycles += 1
        # The cycle's cost, from its start to its commit: the spool writes and the commit included, only the
        # writing of these figures not. So they come after the commit, in a batch and a row of their own.
        record = replace(record, duration_s=time.monotonic() - clock, cpu_s=time.process_time() - cpu_started,
                         points=points)
        try:
            self.sink.submit([line("poller_cycle", {}, cycle_figures(
                report, evaluation, waiting, duration_s=record.duration_s, cpu_s=record.cpu_s, lag_s=record.lag_s,
                missed=missed, points=points), int(started))])
            with self.store.write() as conn:
                record_cycle(conn, **record.to_json())
        except HotspotError as exc:  # the cycle itself is saved: only its own figures are missing
            log.error("cycle at %s: its figures (poller_cycle, poll_cycles) were not written: %s",
                      datetime.fromtimestamp(started).strftime("%H:%M:%S"), exc)
        return record

    def _commit(self, conn: sa.Connection, report: CycleReport, evaluation: CycleEvaluation) -> None:
        """The cycle's counter states and evaluation, in the caller's write transaction (``conn``), after its lines
        are spooled; the caller writes its own row (the cycle's, a shard's) after them in the same transaction.

        An inventory changed since the cycle read it marks the evaluation and the runner stale."""
        version = inventory_version(conn)  # once: the writes' own check takes it (a shard's commit, 64 a slot)
        due = self._due()
        if version != report.inventory_seen:
            evaluation.inventory_changed = True
            self._stale = True
            due = None  # the next cycle loads the fleet's states from the store: every one of them now
        report.writes.save(conn, report.inventory_seen, version=version, due=due)
        if due is not None:
            self._deferred = True  # routine states of the other turns wait in memory
        self.evaluator.save(conn, evaluation)

    def encode(self, report: CycleReport, evaluated: Rollup, stream: SpoolStream | None = None) -> list[str]:
        """The cycle's lines; with ``stream``, whole batches of them are spooled as they are made and the lines
        not spooled yet are returned."""
        return encode_cycle(self.lines, report.outcomes, report.started_at, evaluated, self.zones, self.targets,
                            self.evaluator.healths, stream=stream)

    def send_crew_lists(self, zones: set[str] | None, *, now: float | None = None) -> Any:
        """Build the crew lists (of these zones, or every zone) and send them through crews.send_via."""
        from hotspotctl.delivery.dispatch import dispatch
        from hotspotctl.reports.crews import crew_lists_from_store

        now = time.time() if now is None else now
        fleet = Fleet.load(self.store, self.crew_zones)
        lists = crew_lists_from_store(self.store, fleet, self.settings, now, zones=sorted(zones or ()))
        return dispatch(self.store, lists, self.settings, self.settings.crews.send_via, now)

    def send_noc(self, misconfigured: Mapping[str, Any], poller: Any, now: float) -> Any:
        """Evaluate the NOC's notices (the open outages fresh from the store, acknowledgements included) and send
        what is due through noc's channels (``delivery/noc.py``); the NocReport."""
        from hotspotctl.delivery.noc import evaluate_notices, load_view, send_notices

        view = load_view(self.store, misconfigured=misconfigured, poller=poller)
        notices = evaluate_notices(view, self.settings, now)
        return send_notices(self.store, self.settings, notices, now, stop=self.sink.stop_event)

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


def checkpoint_turns(aps: Sequence[AccessPoint], cycles: int) -> list[frozenset[str]]:
    """The fleet split into ``cycles`` turns by a stable hash of each AP's id (the same AP, the same turn, whatever
    the fleet around it); [] for 1 (every AP every cycle)."""
    if cycles <= 1:
        return []
    turns: list[set[str]] = [set() for _ in range(cycles)]
    for ap in aps:
        turns[zlib.crc32(ap.id.encode("utf-8", "surrogatepass")) % cycles].add(ap.id)
    return [frozenset(turn) for turn in turns]


class SpoolStream:
    """A cycle's lines into the spool in whole batches (``influx.batch_points``) while they are made.

    ``spill(lines)`` submits the whole batches ``lines`` holds and leaves the rest in it; so a cycle holds
    at most a batch of lines at a time rather than every line of the city (about 170,000, 55 MB). The
    batches are the ones one ``submit`` of all the lines would make. ``points``: the lines spooled.
    """

    __slots__ = ("points", "sink", "size")

    def __init__(self, sink: InfluxSink) -> None:
        self.sink = sink
        self.size = sink.settings.batch_points
        self.points = 0

    def spill(self, lines: list[str]) -> None:
        whole = len(lines) - len(lines) % self.size
        if not whole:
            return
        self.sink.submit(lines[:whole])
        del lines[:whole]
        self.points += whole


def encode_cycle(lines: ApLines, outcomes: Sequence[Any], started_at: float, evaluated: Rollup,
                 zones: dict[str, str], targets: Mapping[str, float],
                 healths: Mapping[str, Any] | None = None, *, stamp: int | None = None,
                 fleet_lines: bool = True, stream: SpoolStream | None = None) -> list[str]:
    """A cycle's line protocol: every AP's lines, and one fleet_rollup line per district.

    ``healths`` (the evaluator's, after this cycle): an AP it found unmonitored or misconfigured
    is written without ``up`` (see ``ApLines.encode``). An AP pinged gets an ap_ping line at the cycle's
    time (``ApLines.ping``). ``stamp`` (a shard's cycle: its slot) is every point's time instead of each
    AP's sample time; without ``fleet_lines`` (a shard's cycle) no fleet_rollup line is written. With
    ``stream``, whole batches are spooled as they are made (``SpoolStream``): what is returned is the lines
    not spooled yet."""
    out: list[str] = []
    encode, radios, ping = lines.encode, lines.radios, lines.ping
    healths = healths or {}
    every = stream.size if stream is not None else 0
    at_s = int(started_at)
    ping_at = at_s if stamp is None else stamp
    for o in outcomes:  # locals: every AP, every cycle
        ap, rate, error, profile = o.ap, o.rate, o.error, o.profile
        zone = zones[ap.id]
        at = stamp if stamp is not None else int(
            rate.at if rate is not None else (error.at if error is not None else started_at))
        unusable = error is not None and (h := healths.get(ap.id)) is not None and h.state in UNUSABLE
        encode(out, ap, zone, profile, rate, error.kind if error else None, o.rtt_ms, at, targets[ap.id], unusable)
        if o.radios:
            radios(out, ap, zone, profile, o.radios, at)
        if o.ping is not None:
            ping(out, ap, zone, profile, o.ping, ping_at)
        if stream is not None and len(out) >= every:
            stream.spill(out)
    if not fleet_lines:
        return out
    for district, tally in evaluated.districts.items():
        out.append(line("fleet_rollup", {"district": district}, {
            "aps": tally.aps, "up": tally.up, "down": tally.down, "unmonitored": tally.unmonitored,
            "misconfigured": tally.misconfigured, "below_target": tally.below_target,
            "clients": tally.clients, "in_bps": float(tally.in_bps), "out_bps": float(tally.out_bps)}, at_s))
    return out


ENGINE_FIGURES = ("kernel_drops", "retries", "receive_buffer_bytes", "in_flight_limit")


def cycle_figures(report: CycleReport, evaluation: CycleEvaluation, waiting: SpoolStatus, *, duration_s: float,
                  cpu_s: float, lag_s: float, missed: int, points: int) -> dict[str, Any]:
    """A cycle's ``poller_cycle`` fields (one box, or one shard's cycle in a cluster): its cost, its APs, the
    spool as it found it, its outages, and the transport's own figures."""
    return {
        "duration_s": round(duration_s, 3), "lag_s": round(lag_s, 3), "missed": missed,
        "aps": len(report.outcomes), "ok": report.ok, "timed_out": report.timed_out, "failed": report.failed,
        "unmonitored": evaluation.states.get(UNMONITORED, 0),
        "misconfigured": evaluation.states.get(MISCONFIGURED, 0),
        "skipped": report.skipped, "cpu_s": round(cpu_s, 3), "points": points,
        "spool_batches": waiting.batches, "spool_points": waiting.points, "spool_bytes": waiting.bytes,
        "spool_rejected": waiting.rejected, "spool_rejected_points": waiting.rejected_points,
        "outages_open": evaluation.open_outages, "outages_opened": len(evaluation.ledger.opened),
        "outages_closed": len(evaluation.ledger.closed),
        # the transport's own: answers the kernel dropped (a full receive buffer), and what it holds
        **{key: report.engine[key] for key in ENGINE_FIGURES if key in report.engine}}
NOC_SPOOL_HISTORY = 1001  # spool figures kept for noc.spool_growing_cycles (at most 1000)
# The cyclic collector's thresholds in a poller process. A cycle's objects (samples, rates, states, outcomes,
# every AP's) hold no reference cycles and live about one cycle: at (20,000, 20, 20) the collector traversed
# most of them once or twice before they died, 6-7 % of a cycle's CPU at 10,000 APs; at these, a third to a
# half of that (issue 19: docs/performance.md). `run`'s service goes further (one_collection_per_cycle): its
# young generation is collected once a cycle, the middle one about every 50 cycles, the oldest every 100 of those.
GC_THRESHOLDS = (100_000, 50, 100)


def settle_heap() -> None:
    """Once a poller process's long-lived objects exist (the fleet, its layouts and counter states, the imported
    modules): collect, freeze them out of the cyclic collector's sight (``gc.freeze``), and collect at
    GC_THRESHOLDS from now on, or every cycle pays for rescanning them. Process-wide: for a process's entry point
    (``run``'s service, a cluster worker), never a library caller's. Again later (a worker's shard loaded), it
    freezes what was added since: a collection never traverses what is frozen, so each call scans only that."""
    freeze_heap(GC_THRESHOLDS)


class _Collector:
    per_cycle = 0  # how many one_collection_per_cycle are in force (two services in one process: tests)


@contextlib.contextmanager
def one_collection_per_cycle() -> Iterator[None]:
    """While it lasts, the cyclic collector runs once a cycle, at the cycle's start (``collect_between_cycles``,
    called by ``CycleRunner.cycle``), and never on its own.

    The young collections CPython starts by itself (every GC_THRESHOLDS[0] objects) fell 3 or 4 times in a
    city's cycle, each walking every sample, rate, state and outcome the cycle held at that moment, only for
    nearly all of them to die by reference counting when the cycle ended. At a cycle's start, once the last
    cycle's report is let go, the young generation is little more than the counter states the last cycle
    kept. Measured (docs/performance.md, issue 19): the collector's CPU in a city's cycle 3.95 -> 0.61 µs per
    AP. A cycle leaves a few hundred objects of cyclic garbage (a first cycle's discovery of the city, 1,400),
    held at most one interval. For ``run``'s service, whose work is one cycle after another; process-wide while
    it lasts, and the collector is as it was afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    _Collector.per_cycle += 1
    try:
        yield
    finally:
        _Collector.per_cycle -= 1
        if enabled:
            gc.enable()


def collect_between_cycles() -> None:
    """Under ``one_collection_per_cycle``, the collection CPython's own rule picks at this point (the oldest
    generation whose count of collections of the one below has passed its threshold, GC_THRESHOLDS); else
    nothing: the collector runs on its own."""
    if not _Collector.per_cycle:
        return
    _, young_collections, middle_collections = gc.get_count()
    _, middle_every, oldest_every = gc.get_threshold()
    gc.collect(2 if middle_collections > oldest_every else 1 if young_collections > middle_every else 0)


KEPT = 500  # cycle records, flush results and crew-list sends a Service keeps in memory (the newest)


def _keep(history: list[Any], item: Any) -> None:
    """Append, keeping the newest KEPT: a service runs for months."""
    history.append(item)
    if len(history) > 2 * KEPT:
        del history[:-KEPT]


class Service:
    """The scheduler around a CycleRunner; ``await service.run()`` until ``stop()``.

    Poll cycles and flushes run on the event loop's monotonic clock (a wall clock that steps
    neither delays nor hurries them); crew lists and rediscovery follow cron expressions on
    APScheduler, in local time. ``max_cycles`` counts cycles tried, failed ones too; after
    ``max_failed_cycles`` failed cycles in a row the service stops and ``failure`` says why.
    """

    def __init__(self, runner: CycleRunner, *, interval_s: float, discovery_cron: str = "", grace_s: float = 30.0,
                 max_cycles: int | None = None, max_failed_cycles: int | None = None) -> None:
        self.runner = runner
        self.interval_s = interval_s
        self.discovery_cron = discovery_cron
        self.grace_s = grace_s
        self.max_cycles = max_cycles
        self.max_failed_cycles = (runner.settings.schedule.max_failed_cycles if max_failed_cycles is None
                                  else max_failed_cycles)
        self.records: list[CycleRecord] = []  # the newest KEPT or more
        self.tried = 0  # cycles started, failed ones too
        self.failed_in_a_row = 0
        self.failure: BaseException | None = None  # why the service gave up, if it did
        self.last_failure: BaseException | None = None  # why the last cycle failed, if it did
        self._stop = asyncio.Event()
        self._polling: asyncio.Task[None] | None = None
        self._flushing: asyncio.Task[FlushResult] | None = None
        self.flushes: list[FlushResult] = []  # the newest KEPT or more
        self.flushed_points = 0
        self.rejected_batches = 0  # batches (or parts) InfluxDB refused for good in this run, kept in rejected/
        self.scheduler: AsyncIOScheduler | None = None
        self.stopped_cleanly = True
        self._sending: set[asyncio.Future[Any]] = set()
        self.sends: list[Any] = []  # DispatchReports of this run, the newest KEPT or more
        # the NOC's notices (delivery/noc.py): the poller's own health as the cycles and flushes go
        self.noc_reports: list[Any] = []  # NocReports of this run, the newest KEPT or more
        self._noc: asyncio.Future[Any] | None = None
        self.overruns = 0  # cycles in a row that overran their interval
        self.overrun_since: float | None = None
        self.spool_batches: deque[int] = deque(maxlen=NOC_SPOOL_HISTORY)  # after each cycle, oldest first
        self.failing_since: float | None = None  # the first of the cycles failing in a row
        self.influx_failing_since: float | None = None  # the first failed flush since the last good one
        self.influx_error: str | None = None
        self._traps: asyncio.DatagramTransport | None = None  # the trap listener's socket, when traps.enabled

    def stop(self) -> None:
        """No new cycle starts; the running one finishes its writes. Safe before run() too."""
        if not self._stop.is_set():
            log.info("stopping: no new cycle will start; the running one finishes its writes")
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> bool:
        """Run the jobs until stop() (or max_cycles); True when the last cycle finished its writes."""
        # The fleet, its layouts and counter states live as long as the process: move them out of the
        # cyclic collector's sight, and collect once a cycle, at its start, or every cycle pays for rescanning them.
        settle_heap()
        with one_collection_per_cycle(), self.runner.checkpointing(self.runner.settings.schedule.checkpoint_cycles):
            return await self._run()

    async def _run(self) -> bool:
        sink = self.runner.sink
        crews = self.runner.settings.crews
        crews_cron = self.runner.settings.schedule.crews_cron if crews.send_via else ""
        if self.runner.settings.traps.enabled:  # first: a port that cannot be bound stops the run before it starts
            self._traps = await listen_for_traps(self.runner, on_evaluation=self._trap_evaluated)
        if crews_cron or self.discovery_cron:
            scheduler = self.scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(),
                                                          timezone=_local_zone())
            scheduler.add_listener(self._on_event, EVENT_JOB_ERROR)
            if crews_cron:
                scheduler.add_job(self._crews_job, CronTrigger.from_crontab(crews_cron), id="crews",
                                  name="crew lists", max_instances=1, coalesce=True, misfire_grace_time=None)
            if self.discovery_cron:
                scheduler.add_job(self._discover_job, CronTrigger.from_crontab(self.discovery_cron), id="discover",
                                  name="rediscovery", max_instances=1, coalesce=True, misfire_grace_time=None)
            scheduler.start()
        log.info("scheduler started: %d APs every %g s%s; metrics to %s", len(self.runner.aps), self.interval_s,
                 f"; rediscovery at '{self.discovery_cron}'" if self.discovery_cron else "", sink.destination)
        self._polling = asyncio.create_task(self._poll_loop(), name="poll cycles")
        flushing = asyncio.create_task(self._flush_loop(), name="spool flush") if sink.configured else None
        try:
            await self._stop.wait()
        finally:
            stopping = time.monotonic()
            if self.scheduler is not None:
                # pause, not shut down: a running crews or discovery job finishes on its own
                self.scheduler.pause()
            if flushing is not None:
                flushing.cancel()
            if self._traps is not None:  # no new trap; the reactions under way finish (or are cancelled)
                self._traps.close()
                if self.runner.traps is not None:
                    await self.runner.traps.close(min(5.0, self.grace_s))
            await self._finish_running()
            await self._finish_sending(self.grace_s - (time.monotonic() - stopping))
            await self._last_flush(self.grace_s - (time.monotonic() - stopping))
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=False)
        return self.stopped_cleanly

    async def _sleep_until(self, due: float) -> bool:
        """Wait for the loop's (monotonic) clock to reach ``due``; False when stop() came first."""
        wait = due - asyncio.get_running_loop().time()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
        return not self._stop.is_set()

    async def _poll_loop(self) -> None:
        """A cycle every interval on the monotonic clock, never two at once.

        A cycle that overruns makes the scheduled times that passed meanwhile missed: the next cycle
        starts at the next scheduled time, and records them as ``missed`` and ``lag_s`` (its start
        minus the oldest time missed).
        """
        loop = asyncio.get_running_loop()
        due = loop.time()
        missed: list[float] = []
        while await self._sleep_until(due):
            await self._poll_once(due, missed)
            ended = loop.time()
            due += self.interval_s
            missed = []
            while due <= ended:
                missed.append(due)
                due += self.interval_s
            if missed:
                log.warning("poll cycle overran: %d scheduled runs were skipped; they are recorded as lag of the "
                            "next cycle", len(missed))
            if self.max_cycles is not None and self.tried >= self.max_cycles:
                self.stop()

    async def _poll_once(self, due: float, missed: list[float]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        scheduled = time.time() - (started - due)  # the wall-clock time it was due, for the record
        lag = started - (missed[0] if missed else due)
        self.tried += 1
        log.debug("cycle %d started, due at %s", self.tried,
                  datetime.fromtimestamp(scheduled).strftime("%H:%M:%S.%f")[:-3])
        try:
            record = await self.runner.cycle(scheduled_at=scheduled, missed=len(missed), lag_s=max(0.0, lag))
        except Exception as exc:
            self._failed(exc)
            return
        self.failed_in_a_row = 0
        self.last_failure = None
        _keep(self.records, record)
        evaluation = self.runner.last_evaluation
        states = evaluation.states if evaluation is not None else {}
        unusable = ", ".join(f"{states[name]} {name}" for name in (UNMONITORED, MISCONFIGURED) if states.get(name))
        log.info("cycle %d: %d APs, %d ok, %d timed out, %d failed, %d waiting out back-off%s; %.2f s, lag %.2f s, "
                 "CPU %.2f s; %d points spooled%s", self.tried, record.aps, record.ok, record.timed_out,
                 record.failed, record.skipped, f" ({unusable}: not crew work)" if unusable else "",
                 record.duration_s, record.lag_s, record.cpu_s, record.points,
                 " for InfluxDB" if record.sink == "influx" else "", extra={"cycle": record.to_json()})
        if self.runner.sink.configured:
            self._start_flush()  # now, not at the next tick of the flush loop
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
                        "recorded as lag", self.tried, record.duration_s, self.interval_s)
        self.failing_since = None
        if record.duration_s > self.interval_s or record.missed:
            self.overruns += 1
            self.overrun_since = record.started_at if self.overrun_since is None else self.overrun_since
        else:
            self.overruns, self.overrun_since = 0, None
        if self.runner.last_spool is not None:
            self.spool_batches.append(self.runner.last_spool.batches)
        self._notify_noc(record.started_at + record.duration_s, record.duration_s)

    def _trap_evaluated(self, evaluation: CycleEvaluation) -> None:
        """A trap's reaction saved an evaluation: a new site outage sends its zone's crew list, as after a cycle."""
        crews = self.runner.settings.crews
        new_sites = evaluation.new_site_outages
        if new_sites and crews.send_via and crews.send_on_site_outage and not self._stop.is_set():
            zones = {o.zone for o in new_sites}
            self._send_crews_soon(zones, f"{len(new_sites)} sites offline in {', '.join(sorted(zones))} (a trap)")

    def _failed(self, exc: Exception) -> None:
        """A cycle that failed: say why in one line (a traceback only for a bug), and give up after a bound."""
        self.failed_in_a_row += 1
        self.last_failure = exc
        now = time.time()
        self.failing_since = now if self.failing_since is None else self.failing_since
        bound = self.max_failed_cycles
        left = (f"; {self.failed_in_a_row} of {bound} failed cycles in a row before the service stops "
                "(schedule.max_failed_cycles)") if bound else ""
        if isinstance(exc, HotspotError):
            log.error("cycle %d failed: %s%s", self.tried, exc, left)
        elif self.failed_in_a_row == 1:
            log.error("cycle %d failed: a bug in hotspotctl: %s: %s%s", self.tried, type(exc).__name__, exc, left,
                      exc_info=exc)
        else:
            log.error("cycle %d failed again: %s: %s%s", self.tried, type(exc).__name__, exc, left)
        if bound and self.failed_in_a_row >= bound:
            self.failure = exc
            log.error("stopping: %d cycles in a row failed; the last one: %s", self.failed_in_a_row, exc)
            self.stop()
        self._notify_noc(now, None)

    def poller_health(self, last_duration_s: float | None) -> Any:
        """The poller's own health now, for the NOC's notices."""
        from hotspotctl.delivery.noc import PollerHealth

        last = self.runner.last_spool
        # with no InfluxDB configured the spool is where the metrics stay: its growth is no trouble
        waiting = self.runner.sink.configured
        return PollerHealth(
            interval_s=self.interval_s, overruns=self.overruns, overrun_since=self.overrun_since,
            last_duration_s=last_duration_s or 0.0, spool_batches=tuple(self.spool_batches) if waiting else (),
            spool_points=last.points if last is not None and waiting else 0,
            influx_failing_since=self.influx_failing_since,
            influx_error=self.influx_error, failed_in_a_row=self.failed_in_a_row, failing_since=self.failing_since,
            last_failure=str(self.last_failure) if self.last_failure is not None else None)

    def _notify_noc(self, now: float, last_duration_s: float | None) -> None:
        """After a cycle: the NOC's notices evaluated and sent in a worker thread, never delaying the next cycle.

        One send at a time: while one runs, a cycle's turn is skipped (what it would send is still due next time).
        """
        from hotspotctl.delivery.noc import channels

        if not channels(self.runner.settings):
            return
        if self._noc is not None and not self._noc.done():
            log.info("NOC notices: the last send is still running; this cycle's are sent with the next")
            return
        misconfigured = {ap_id: h for ap_id, h in self.runner.evaluator.healths.items() if h.state == MISCONFIGURED}
        poller = self.poller_health(last_duration_s)
        task = self._noc = asyncio.ensure_future(self._send_noc(misconfigured, poller, now))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_noc(self, misconfigured: Mapping[str, Any], poller: Any, now: float) -> None:
        try:
            report = await asyncio.to_thread(self.runner.send_noc, misconfigured, poller, now)
        except Exception as exc:  # nothing was recorded as sent: the next cycle tries again
            log.error("NOC notices failed: %s; they are sent with the next cycle", exc)
            return
        _keep(self.noc_reports, report)
        if report.sent:
            log.info("NOC notices: %d firing; %s", report.firing,
                     ", ".join(f"{s.channel} {s.action} {s.alertname}{'' if s.ok else ' FAILED'}" for s in report.sent),
                     extra={"noc": report.to_json()})

    async def _flush_loop(self) -> None:
        """Replay the spool every influx.flush_interval_s (monotonic), besides the flush after each cycle."""
        loop = asyncio.get_running_loop()
        every = self.runner.sink.settings.flush_interval_s
        due = loop.time() + every
        while await self._sleep_until(due):
            task = self._start_flush()
            if task is not None:
                with contextlib.suppress(Exception):  # a failed flush is logged by _flushed
                    await asyncio.shield(task)
            due = max(due + every, loop.time())

    def _start_flush(self) -> asyncio.Task[FlushResult] | None:
        """Replay the spool to InfluxDB in a worker thread; one flush at a time, backing off while it is away."""
        sink = self.runner.sink
        if self._flushing is not None and not self._flushing.done():
            return None
        if not sink.due() or self._stop.is_set():
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
            self._influx_failed(str(task.exception()))
            return
        result = task.result()
        self._flushed_result(result)
        if not result.ok and result.waiting is not None:
            log.warning("%s; %d points in %d batches wait in the spool %s%s", result.error, result.waiting.points,
                        result.waiting.batches, result.waiting.directory,
                        "" if self._stop.is_set() else f"; next try in {self.runner.sink.next_try_in():.0f} s")

    def _influx_failed(self, error: str) -> None:
        self.influx_failing_since = time.time() if self.influx_failing_since is None else self.influx_failing_since
        self.influx_error = error

    def _flushed_result(self, result: FlushResult) -> None:
        _keep(self.flushes, result)
        if result.ok:
            self.influx_failing_since = self.influx_error = None
        else:
            self._influx_failed(result.error or "the flush failed")
        self.flushed_points += result.points
        if result.rejected:
            self.rejected_batches += result.rejected
            log.warning("%s refused %d batches for good; their %d points are kept with its reasons in %s "
                        "(`hotspotctl spool status`)", self.runner.sink.destination, result.rejected,
                        result.rejected_points, self.runner.sink.spool.status().rejected_directory)

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
                self._flushed_result(result)
                if not result.ok:
                    log.warning("last flush: %s", result.error)
        except TimeoutError:
            sink.stop_event.set()  # cut the writer's back-off short; unacked batches stay spooled
            log.warning("the last flush to %s did not finish within the grace period; what it did not write "
                        "stays in the spool", sink.destination)
        except Exception as exc:  # the data is in the spool either way: say why, and exit
            log.error("the last flush failed: %s; the data stays in the spool", exc)

    async def _finish_running(self) -> None:
        """Let the running cycle finish its writes within the grace period; stop it after that."""
        task = self._polling
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), self.grace_s)
        except TimeoutError:
            self.stopped_cleanly = False
            log.error("the running cycle did not finish within the %g s grace period; stopping it: its samples "
                      "were not written (schedule.grace_s sets the grace period)", self.grace_s)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except Exception:  # a bug in the loop itself: it is logged there
            pass

    def _on_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_ERROR and isinstance(event, JobExecutionEvent):
            log.error("job %s failed: %s", event.job_id, event.exception)

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
        _keep(self.sends, report)
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


def next_fire(expression: str, after: float) -> float | None:
    """When a crontab expression (local time, as the service reads it) next fires strictly after ``after``
    (epoch seconds); None if never. The distributed leader's crons (``scheduling/cluster.py``)."""
    trigger = CronTrigger.from_crontab(expression, timezone=_local_zone())
    fire = trigger.get_next_fire_time(None, datetime.fromtimestamp(after + 1, UTC))
    return None if fire is None else float(fire.timestamp())


def _local_zone() -> Any:
    """The machine's zone, so discovery_cron reads as local time (tzlocal comes with APScheduler)."""
    from tzlocal import get_localzone

    return get_localzone()
