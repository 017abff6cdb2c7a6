"""One shard's cycle in one slot, on whichever worker the task reached; and the slot's conclusion.

Scale-out (issue 19: docs/decisions/scale-out-on-celery.md). A worker process holds one ``ShardPoller``;
the Celery tasks (``scheduling/cluster.py``) call ``poll_shard(shard, slot)`` and ``discover_shard(shard)``,
and the leader calls ``conclude_slot`` once per slot. Nothing here imports Celery or Redis.

``poll_shard``:

1. **Claim** ``(shard, slot)`` in ``shard_cycles`` (``store/cluster.py``). A refused claim (the shard was
   polled in this slot already, by this or another worker) does nothing and writes nothing: the
   ``ShardCycle`` returned is ``skipped`` and ``refused`` counts it.
2. **The shard's APs**: ``split_fleet`` of the whole fleet, loaded again whenever the store's inventory
   version moves (the shard's APs change; outages of sites no longer in it are closed).
3. **Staleness**: the worker keeps one ``ShardRunner`` (a ``CycleRunner`` over the shard's APs: layouts,
   counter states, health, open outages) per shard it has polled, and remembers the slot it last
   committed. When the shard's newest ``done`` row before this slot is not that one (another worker
   polled the shard since), the runner is loaded again from the store (``reloaded``): PostgreSQL is the
   truth, so rates stay right across a takeover (the counters and their sample times come from the store;
   a rate spans the two samples, never the slots).
4. **The cycle**, as ``CycleRunner`` runs it (write ahead: the spool's fsync first, then the counter
   states, health, ledger and availability in one transaction), except that every point is stamped at
   the slot (``encode_cycle(stamp=)``): a shard polled twice in one slot (a claim lost, a task retried)
   writes the same series at the same timestamp and InfluxDB keeps one. ``poller_cycle`` carries the tags
   ``host`` (the worker) and ``shard``. No ``fleet_rollup`` nor ``outages`` lines: they are the fleet's,
   written by the conclusion. The shard's district tallies go into its row, and the row is finished
   (``done``) in the same transaction as the states, so a ``done`` row means its state is in the store.
   A cycle that fails finishes its row ``failed`` (with why) and its runner is loaded again next time.

   The claim and the commit run in a thread (on PostgreSQL they wait for the store's write lock, held by
   other workers' commits), so the worker's loop polls its other shards meanwhile. A shard whose previous
   slot's cycle still runs in this worker is not claimed again (``skipped``, counted in ``overlapped``),
   as a one-box cycle that overruns makes the next run a missed one.

``conclude_slot`` (the leader, once per slot): ``fleet_rollup`` by district summed over the shards' rows of
the slot, the ``outages`` measurement from the store's open outages, and one ``poller_cluster`` point
(shards reported and missing, APs, ok, failed, workers, lag), all stamped at the slot; in the first slot of
each hour it prunes ``shard_cycles`` older than a day. ``send_slot_noc`` is the NOC's notices after a slot,
from the store (the delivery task's body).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import ProfileSet
from hotspotctl.errors import HotspotError, StoreError
from hotspotctl.evaluate.outages import controller_site
from hotspotctl.evaluate.rollup import Rollup, Tally, rollup
from hotspotctl.evaluate.status import MISCONFIGURED
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.scheduling.cycle import CycleReport, pinger_for, run_cycle
from hotspotctl.scheduling.service import CycleRunner, cycle_figures, encode_cycle
from hotspotctl.scheduling.shards import DEFAULT_SHARDS, split_fleet
from hotspotctl.settings import Settings
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.lineproto import line
from hotspotctl.sinks.outage_counts import OutageCounts
from hotspotctl.store import Store
from hotspotctl.store.cluster import (
    DONE,
    FAILED,
    SKIPPED,
    ShardCycle,
    claim_shard,
    district_sums,
    finish_shard,
    last_shard_cycles,
    prune_shard_cycles,
    shard_cycles_of_slot,
)
from hotspotctl.store.inventory import inventory_version, load_access_points
from hotspotctl.store.outages import close_outages_of_removed_sites, load_health, load_open_outages

__all__ = ["ShardCycle", "ShardPoller", "ShardRunner", "SlotSummary", "conclude_slot", "send_slot_noc", "shard_count",
           "workers_cpu_since"]

log = logging.getLogger("hotspotctl.shards")
TALLY_FIGURES = tuple(f.name for f in fields(Tally))
SHARD_CYCLES_KEPT_S = 86_400.0  # a day of shard_cycles rows (64 shards a minute: 92,160 rows)
HOUR_S = 3600.0


def shard_count(settings: Any) -> int:
    """``cluster.shards`` when the settings have the section, else the default (64)."""
    cluster = getattr(settings, "cluster", None)
    return int(getattr(cluster, "shards", DEFAULT_SHARDS) or DEFAULT_SHARDS)


def district_tallies(evaluated: Rollup) -> dict[str, dict[str, float]]:
    """A rollup's districts as the figures a shard's row keeps (unrounded: the conclusion sums them)."""
    return {district: {name: getattr(tally, name) for name in TALLY_FIGURES}
            for district, tally in evaluated.districts.items()}


class ShardRunner(CycleRunner):
    """A ``CycleRunner`` over one shard's APs whose cycle belongs to a slot (see the module's docstring)."""

    def __init__(self, store: Store, settings: Settings, profiles: ProfileSet, aps: Sequence[AccessPoint],
                 zones: CrewZones, sink: InfluxSink, poller: Poller, *, shard: int, worker: str) -> None:
        super().__init__(store, settings, profiles, aps, zones, sink, poller)
        self.shard = shard
        self.worker = worker
        self.committed: tuple[str, float] | None = None  # (worker, slot) of the last cycle this runner saved

    async def poll(self, slot: float, *, reloaded: bool) -> ShardCycle:
        """Poll the shard once for ``slot`` (claimed by the caller) and commit it; its finished row."""
        started = time.time()
        clock = time.monotonic()
        cpu_started = time.process_time()
        self.last_report = self.last_rollup = None
        try:
            report = await run_cycle(self.store, self.aps, self.settings.snmp, self.profiles, self.poller,
                                     interval_s=self.settings.schedule.interval_s, memory=self.memory, save=False,
                                     use_backoff=self.use_backoff, pinger=pinger_for(self.settings.ping))
        except BaseException:
            self._stale = True
            raise
        return await self._conclude_slot(report, slot, started, clock, cpu_started, reloaded)

    async def _conclude_slot(self, report: CycleReport, slot: float, started: float, clock: float,
                             cpu_started: float, reloaded: bool) -> ShardCycle:
        """Evaluation, line protocol stamped at the slot, spool; then states, evaluation and the row in one
        transaction (``CycleRunner._conclude`` less the fleet's lines, plus the shard's row).

        The commit runs in a thread: on PostgreSQL it waits for the store's write lock, which other workers'
        commits hold, and the worker's loop polls its other shards meanwhile."""
        stamp = int(slot)
        try:
            evaluation = self.evaluator.evaluate(report.outcomes, report.started_at, save=False)
            evaluated = rollup(report.outcomes, targets=self.targets, healths=self.evaluator.healths, sites=False)
            lines = encode_cycle(self.lines, report.outcomes, report.started_at, evaluated, self.zones, self.targets,
                                 self.evaluator.healths, stamp=stamp, fleet_lines=False)
            waiting = self.last_spool = self.spool.status()
            duration = time.monotonic() - clock
            cpu = time.process_time() - cpu_started
            lines.append(line("poller_cycle", {"host": self.worker, "shard": str(self.shard)}, cycle_figures(
                report, evaluation, waiting, duration_s=duration, cpu_s=cpu, lag_s=max(0.0, started - slot),
                missed=0, points=len(lines) + 1), stamp))
            self.sink.submit(lines)  # durable before anything that depends on it is committed
        except BaseException:
            self._stale = True
            raise
        cycle = ShardCycle(
            shard=self.shard, slot=slot, worker=self.worker, state=DONE, started_at=started,
            duration_s=time.monotonic() - clock, cpu_s=time.process_time() - cpu_started,
            aps=len(report.outcomes), ok=report.ok, failed=report.failed, timed_out=report.timed_out,
            skipped=report.skipped, points=len(lines), reloaded=reloaded, districts=district_tallies(evaluated),
            finished_at=time.time())
        def commit() -> None:
            with self.store.write() as conn:
                self._commit(conn, report, evaluation)
                finish_shard(conn, cycle)

        try:
            await asyncio.to_thread(commit)
        except BaseException as exc:
            self._stale = True
            if isinstance(exc, HotspotError):
                raise StoreError(f"{exc}; shard {self.shard}'s {len(lines):,} points of slot {stamp} are in the "
                                 "spool, but its counter states and evaluation were not saved") from exc
            raise
        report.writes.apply(self.memory)
        self.evaluator.apply(evaluation)
        self.last_report, self.last_rollup, self.last_evaluation = report, evaluated, evaluation
        self.committed = (self.worker, slot)
        self.cycles += 1
        return cycle


@dataclass(frozen=True, slots=True)
class Claim:
    """A claim's answer: whether ``(shard, slot)`` is this worker's, and (when it is) the shard's newest ``done``
    row before the slot and the inventory's version, read in the claim's transaction."""

    claimed: bool
    last: ShardCycle | None = None
    inventory: int | None = None


class ShardPoller:
    """The shards one worker process polls: a ``ShardRunner`` per shard it has polled, loaded on demand.

    Its coroutines run on one event loop (the ``poller``'s), one at a time per shard.
    """

    def __init__(self, store: Store, settings: Settings, profiles: ProfileSet, zones: CrewZones, sink: InfluxSink,
                 poller: Poller, *, worker: str, shards: int | None = None,
                 on_loaded: Callable[[], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.profiles = profiles
        self.zones = zones
        self.sink = sink
        self.poller = poller
        self.worker = worker
        self.shards = shards if shards is not None else shard_count(settings)
        self.runners: dict[int, ShardRunner] = {}
        self.inventory_seen: int | None = None
        self.fleet: dict[int, list[AccessPoint]] = {}
        self.refused = 0  # claims refused: the shard was polled in that slot already
        self.busy: dict[int, float] = {}  # shard -> the slot of its cycle running now
        self.overlapped = 0  # slots skipped because the shard's previous cycle still ran here
        self.failed = 0  # cycles that failed (their row says why)
        self.polled = 0  # cycles done
        # called once a shard's runner was (re)loaded from the store: a worker process freezes the state it loaded
        # out of the cyclic collector's sight (service.settle_heap), as `run` does its fleet's at start
        self.on_loaded = on_loaded

    def _follow_inventory(self, version: int | None = None) -> None:
        """Split the fleet again when the inventory changed (``version``: the store's, read by the caller; else
        read here); runners whose APs changed are dropped."""
        if version is None:
            with self.store.read() as conn:
                version = inventory_version(conn)
        if version == self.inventory_seen:
            return
        fleet = Fleet.load(self.store, self.zones)
        split = split_fleet(list(fleet.aps.values()), self.shards)
        if self.inventory_seen is not None:
            with self.store.write() as conn:
                closed = close_outages_of_removed_sites(conn, time.time())
            if closed:
                log.info("the inventory changed: %d outages of sites no longer in it closed", len(closed))
        for shard, runner in list(self.runners.items()):
            if split.get(shard) != runner.aps:
                del self.runners[shard]
        self.fleet, self.inventory_seen = split, version

    def aps_of(self, shard: int) -> list[AccessPoint]:
        """The shard's APs as the inventory has them now."""
        self._follow_inventory()
        return list(self.fleet.get(shard, ()))

    def _runner(self, shard: int, slot: float | None, claim: Claim | None = None) -> tuple[ShardRunner, bool]:
        """The shard's runner, and whether it was (re)loaded from the store: when new, after a failed cycle, or
        when the shard's newest ``done`` row (before ``slot``) is not the cycle this runner last committed or
        loaded (another worker polled the shard since). ``claim``: that row and the inventory's version as the
        claim's transaction read them (else they are read here)."""
        if claim is not None:
            self._follow_inventory(claim.inventory)
            last = claim.last
        else:
            self._follow_inventory()
            # the row first, then the state: a commit in between makes the next check reload again (never the
            # other way round: state loaded before a commit, marked with that commit, would be stale unnoticed)
            with self.store.read() as conn:
                last = last_shard_cycles(conn, states=(DONE,), before=slot, shards=[shard]).get(shard)
        mark = (last.worker, last.slot) if last is not None else None
        runner = self.runners.get(shard)
        if runner is not None and not runner._stale:
            if runner.committed == mark:
                return runner, False
            if last is not None:
                log.info("shard %d was polled by %s in slot %.0f since: loading its state from the store",
                         shard, last.worker, last.slot)
        runner = self.runners[shard] = ShardRunner(self.store, self.settings, self.profiles,
                                                   self.fleet.get(shard, []), self.zones, self.sink, self.poller,
                                                   shard=shard, worker=self.worker)
        runner.committed = mark
        if self.on_loaded is not None:
            self.on_loaded()
        return runner, True

    async def poll_shard(self, shard: int, slot: float) -> ShardCycle:
        """Claim ``(shard, slot)`` and poll the shard once; its row (``skipped`` when the claim was refused,
        ``failed`` with the error when the cycle failed)."""
        now = time.time()
        if shard in self.busy:  # its last slot's cycle still runs here: never two at once (one-box: a missed run)
            self.overlapped += 1
            log.warning("shard %d: its cycle of slot %.0f still runs; slot %.0f is skipped", shard, self.busy[shard],
                        slot)
            return ShardCycle(shard=shard, slot=slot, worker=self.worker, state=SKIPPED, started_at=now,
                              error=f"still polling slot {self.busy[shard]:.0f}")
        self.busy[shard] = slot
        try:
            # in a thread, as the commits are: the store's write lock may be held by another worker's commit
            claim = await asyncio.to_thread(self._claim, shard, slot, now)
            if not claim.claimed:
                self.refused += 1
                log.info("shard %d in slot %.0f was claimed already: not polled again", shard, slot)
                return ShardCycle(shard=shard, slot=slot, worker=self.worker, state=SKIPPED, started_at=now)
            return await self._poll_claimed(shard, slot, now, claim)
        finally:
            del self.busy[shard]

    def _claim(self, shard: int, slot: float, now: float) -> Claim:
        """The claim, with what the staleness check needs, in one transaction: the INSERT ... ON CONFLICT DO
        NOTHING is atomic on its own (the primary key decides), so it does not wait for the store's write lock
        (other workers' commits); the shard's newest ``done`` row before the slot and the inventory's version
        are read after it, in the same transaction (the row before the state, as ``_runner`` needs)."""
        with self.store.write(serialised=False) as conn:
            if not claim_shard(conn, shard, slot, self.worker, now):
                return Claim(False)
            last = last_shard_cycles(conn, states=(DONE,), before=slot, shards=[shard]).get(shard)
            return Claim(True, last, inventory_version(conn))

    async def _poll_claimed(self, shard: int, slot: float, now: float, claim: Claim | None = None) -> ShardCycle:
        try:
            runner, reloaded = self._runner(shard, slot, claim)
            cycle = await runner.poll(slot, reloaded=reloaded)
        except Exception as exc:  # the row says why; the task's caller logs it
            self.failed += 1
            self.runners.pop(shard, None)  # loaded again from the store next time
            failed = ShardCycle(shard=shard, slot=slot, worker=self.worker, state=FAILED, started_at=now,
                                duration_s=time.time() - now, error=f"{type(exc).__name__}: {exc}",
                                finished_at=time.time())
            def record() -> None:
                with self.store.write() as conn:
                    finish_shard(conn, failed)

            try:
                await asyncio.to_thread(record)
            except (HotspotError, ValueError) as again:
                log.error("shard %d in slot %.0f failed (%s), and so did recording it: %s", shard, slot, exc, again)
            log.error("shard %d in slot %.0f failed: %s", shard, slot, exc)
            return failed
        self.polled += 1
        return cycle

    async def discover_shard(self, shard: int) -> int:
        """Walk again the shard's APs whose layout is older than ``snmp.rediscover_hours``; how many."""
        runner, _ = self._runner(shard, None)
        return await runner.rediscover()


@dataclass(frozen=True, slots=True)
class SlotSummary:
    """What the slot's conclusion found and wrote."""

    slot: float
    leader: str
    shards_expected: int  # shards with APs
    shards_reported: int  # done rows
    shards_failed: int
    shards_missing: list[int]  # expected, and no done row (never claimed, still running, failed)
    aps: int
    ok: int
    failed: int
    timed_out: int
    skipped: int
    workers: int
    lag_s: float  # the last shard's end past the slot's start
    open_outages: int
    points: int
    districts: dict[str, dict[str, float]] = field(default_factory=dict)
    pruned: int = 0  # shard_cycles rows older than SHARD_CYCLES_KEPT_S deleted (in the first slot of each hour)
    redis_failures: int = 0  # the leader's failed Redis calls since its previous conclusion
    workers_redis_failures: int = 0  # the live workers' failed Redis calls (their heartbeats' counts, summed)
    # the workers' CPU seconds since the previous conclusion (``workers_cpu_since``); None: no worker to measure
    workers_cpu_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def workers_cpu_since(before: Mapping[str, tuple[Any, Any, float]], beats: Mapping[str, Mapping[str, Any]]
                      ) -> tuple[float | None, dict[str, tuple[Any, Any, float]]]:
    """The workers' CPU seconds since the leader's previous conclusion, and what to keep for the next one.

    A shard's ``cpu_s`` is its worker's process time while the shard ran, beside the worker's other shards and the
    engine they share, so shards' figures overlap and cannot be summed. A worker's heartbeat says its process's
    CPU seconds so far (``cpu_s``): each live worker that beat at both conclusions, as the same process (pid and
    start), spent the difference. Summed over those workers; None when none did (the first conclusion, a
    cluster of new workers). ``before``: what the previous call returned ({name: (pid, started, cpu_s)})."""
    now = {name: (beat.get("pid"), beat.get("started"), float(beat["cpu_s"])) for name, beat in beats.items()
           if isinstance(beat.get("cpu_s"), int | float) and not isinstance(beat.get("cpu_s"), bool)}
    spent = [cpu - before[name][2] for name, (pid, started, cpu) in now.items()
             if name in before and before[name][:2] == (pid, started)]
    return (round(sum(spent), 3) if spent else None), now


def expected_shards(store: Store, shards: int) -> set[int]:
    """The shards that have APs now (``split_fleet`` of the inventory)."""
    with store.read() as conn:
        aps = list(load_access_points(conn).values())
    return set(split_fleet(aps, shards))


def rollup_lines(districts: dict[str, dict[str, float]], at_s: int) -> list[str]:
    """The ``fleet_rollup`` points (as ``encode_cycle`` writes them one-box) of summed district tallies."""
    out = []
    for district in sorted(districts):
        tally = districts[district]
        out.append(line("fleet_rollup", {"district": district}, {
            **{name: int(tally.get(name, 0)) for name in ("aps", "up", "down", "unmonitored", "misconfigured",
                                                          "below_target", "clients")},
            "in_bps": float(tally.get("in_bps", 0.0)), "out_bps": float(tally.get("out_bps", 0.0))}, at_s))
    return out


def conclude_slot(store: Store, settings: Settings, sink: InfluxSink, slot: float, *, leader: str,
                  workers: Sequence[str], expected: Collection[int] | None = None,
                  outage_counts: OutageCounts | None = None, now: float | None = None,
                  keep_s: float = SHARD_CYCLES_KEPT_S, redis_failures: int = 0,
                  workers_redis_failures: int = 0, workers_cpu_s: float | None = None) -> SlotSummary:
    """The slot's fleet-wide points, written once by the leader: ``fleet_rollup`` by district (the shards'
    rows summed), the ``outages`` measurement (the store's open outages), one ``poller_cluster`` point.

    ``expected``: the shards with APs (default: from the inventory now). ``outage_counts``: the leader's,
    kept across slots so that a group whose last outage closed gets its zero. In the first slot of each UTC
    hour, the ``shard_cycles`` rows older than ``keep_s`` are deleted (each shard's newest ``done`` row stays).
    ``redis_failures`` (the leader's own since its previous conclusion) and ``workers_redis_failures`` (the
    live workers' heartbeats' counts, summed) go into ``poller_cluster`` as they are given, and so does
    ``workers_cpu_s`` (``workers_cpu_since``) when it is not None.
    """
    now = time.time() if now is None else now
    shards = shard_count(settings)
    expected = set(expected) if expected is not None else expected_shards(store, shards)
    with store.read() as conn:
        rows = shard_cycles_of_slot(conn, slot)
        open_outages = [o for o in load_open_outages(conn).values() if o.open]
        # the districts of the outages' sites: from their APs (a controller's outage: the controller's own)
        aps = list(load_access_points(conn, sorted({ap_id for o in open_outages for ap_id in o.aps})).values())
    pruned = 0
    if slot % HOUR_S < settings.schedule.interval_s:
        with store.write() as conn:
            pruned = prune_shard_cycles(conn, slot - keep_s)
    done = [c for c in rows if c.state == DONE]
    districts = district_sums(done)
    at_s = int(slot)
    lines = rollup_lines(districts, at_s)
    counts = outage_counts if outage_counts is not None else OutageCounts()
    site_of = {ap.id: controller_site(ap.id) if ap.is_controller else ap.site_id for ap in aps}
    lines += counts.lines(open_outages, counts.district_of_site(aps, site_of), at_s)
    reported = {c.shard for c in done}
    missing = sorted(expected - reported)
    finished = [c.finished_at for c in done if c.finished_at is not None]
    summary = SlotSummary(
        slot=slot, leader=leader, shards_expected=len(expected), shards_reported=len(reported),
        shards_failed=sum(1 for c in rows if c.state == FAILED), shards_missing=missing,
        aps=sum(c.aps for c in done), ok=sum(c.ok for c in done), failed=sum(c.failed for c in done),
        timed_out=sum(c.timed_out for c in done), skipped=sum(c.skipped for c in done),
        workers=len(set(workers)), lag_s=round(max(finished, default=now) - slot, 3),
        open_outages=len(open_outages), points=len(lines) + 1, districts=districts, pruned=pruned,
        redis_failures=redis_failures, workers_redis_failures=workers_redis_failures, workers_cpu_s=workers_cpu_s)
    cpu = {} if workers_cpu_s is None else {"workers_cpu_s": float(workers_cpu_s)}
    lines.append(line("poller_cluster", {"host": leader}, {
        "shards": len(expected), "shards_reported": summary.shards_reported, "shards_missing": len(missing),
        "shards_failed": summary.shards_failed, "aps": summary.aps, "ok": summary.ok, "failed": summary.failed,
        "timed_out": summary.timed_out, "skipped": summary.skipped, "workers": summary.workers,
        "lag_s": summary.lag_s,
        "outages_open": summary.open_outages, "points": summary.points, "redis_failures": redis_failures,
        "workers_redis_failures": workers_redis_failures, **cpu}, at_s))
    sink.submit(lines)
    return summary


def send_slot_noc(store: Store, settings: Settings, now: float, *, poller: Any = None,
                  stop: Any = None) -> Any:
    """The NOC's notices after a slot (the delivery task the leader queues once it concluded the slot): the open
    outages and the misconfigured APs of the whole fleet, fresh from the store (every shard's evaluation has
    saved its own), and ``poller`` (a ``delivery.noc.PollerHealth``, the leader's view of the cluster, or None),
    sent through noc's channels as ``CycleRunner.send_noc`` does one-box. The NocReport; None when no channel
    is configured."""
    from hotspotctl.delivery.noc import channels, evaluate_notices, load_view, send_notices

    if not channels(settings):
        return None
    with store.read() as conn:
        misconfigured = {ap_id: h for ap_id, h in load_health(conn).items() if h.state == MISCONFIGURED}
    view = load_view(store, misconfigured=misconfigured, poller=poller)
    return send_notices(store, settings, evaluate_notices(view, settings, now), now, stop=stop)
