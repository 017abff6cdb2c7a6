"""One poll cycle over a selection of the fleet: plan, discover and poll at once, compute rates, remember.

``run_cycle`` is what ``hotspotctl poll --once`` and the scheduler run every interval. It always
completes: every AP of the plan ends as a RateSample or a PollError. What the cycle changes (the
counter states and the layouts found) is gathered in ``CycleWrites``: ``run_cycle`` commits it in one
transaction at the end, or, with ``save=False``, hands it to the caller, which commits it only once
the cycle's points are durable in the spool (write ahead: see ``scheduling/service.py``).

With a ``pinger`` (``ping.enabled``: ``scheduling.service.pinger_for``), every AP with a management
address of its own is pinged while the cycle polls, on the same loop (``ping_targets``): the ping
adds nothing to the cycle's duration but the time its last host takes beyond the SNMP poll, and its
result rides with the AP's outcome (``ApOutcome.ping``) to evaluation, encoding and JSON.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from hotspotctl.collectors.address import split_address
from hotspotctl.collectors.controllers import ControllerResult, no_ap_table, read_controllers, results_for, unread
from hotspotctl.collectors.model import (
    Discovery,
    FailureClass,
    PollError,
    PollErrorKind,
    PollResult,
    Sample,
    failure_class,
)
from hotspotctl.collectors.ping import SocketKind, ping_hosts
from hotspotctl.collectors.poller import Poller, Target
from hotspotctl.collectors.profiles import ProfileSet
from hotspotctl.collectors.ssh import DEFAULT_SSH_AUTH, SshTarget
from hotspotctl.evaluate.rates import RateSample, compute_rates
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.models.ping import PingResult
from hotspotctl.models.radios import Radio
from hotspotctl.models.records import fast_init
from hotspotctl.settings import PingSettings, SnmpSettings
from hotspotctl.store import Store
from hotspotctl.store.inventory import existing_ap_ids, inventory_version, load_access_points
from hotspotctl.store.polling import (
    ApState,
    StoredDiscovery,
    load_discoveries,
    load_states,
    save_discoveries,
    save_states,
)

Progress = Callable[[str, int, int], None]  # (phase, advance, total)
# hosts -> their results by host as asked (collectors.ping.ping_hosts with the ping settings bound)
Pinger = Callable[[Sequence[str]], Awaitable[Mapping[str, PingResult]]]
log = logging.getLogger("hotspotctl.cycle")
_PING_FAILURES: set[str] = set()  # the prober failures logged (as errors) so far


@fast_init
@dataclass(frozen=True, slots=True)
class ApOutcome:
    ap: AccessPoint
    profile: str | None
    rate: RateSample | None  # None when the AP did not answer
    error: PollError | None
    rtt_ms: float | None = None
    radios: tuple[Radio, ...] = ()  # the AP's radios this cycle (Sample.radios); () when it did not answer
    ping: PingResult | None = None  # the cycle's ping of its address; None: not pinged (disabled, no address)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, object]:
        r = self.rate
        return {
            "ap": self.ap.id, "ok": self.ok, "error": self.error.message if self.error else None,
            "error_kind": self.error.kind if self.error else None, "profile": self.profile,
            "uptime_s": r.uptime_s if r else None, "clients": r.clients if r else None,
            "link_mbps": r.link_mbps if r else None, "in_bps": r.in_bps if r else None,
            "out_bps": r.out_bps if r else None, "capacity_mbps": r.capacity_mbps if r else None,
            "per_user_mbps": r.per_user_mbps if r else None,
            "delivered_per_user_mbps": r.delivered_per_user_mbps if r else None,
            "rtt_ms": round(self.rtt_ms, 3) if self.rtt_ms is not None else None,
            "events": list(r.events) if r else [],
            "radios": [radio.to_json() for radio in self.radios],
            "ping": self.ping.to_json() if self.ping is not None else None,
        }


@dataclass
class CycleWrites:
    """What a cycle changes in the store: committed together, and applied to memory only once committed.

    ``changed``: the APs of ``states`` whose state moved more than its counters and attempt time (a miss, a
    recovery, a back-off, an error, a discovery flag, a first answer); the others answered as they did last cycle,
    a routine state, which a service that checkpoints (``CycleRunner.checkpointing``) writes only on the AP's turn.
    None: not known, every state is a change. A set of the few, not of the many: in a steady city it is nearly
    empty, where the routine APs would be 35,000 ids held from ``fold`` to the commit."""

    states: dict[str, ApState] = field(default_factory=dict)
    discoveries: dict[str, StoredDiscovery] = field(default_factory=dict)
    changed: set[str] | None = None

    def without(self, gone: set[str]) -> CycleWrites:
        """These writes less the APs no longer in the inventory (removed while the cycle ran)."""
        if not gone:
            return self
        return CycleWrites({k: v for k, v in self.states.items() if k not in gone},
                           {k: v for k, v in self.discoveries.items() if k not in gone},
                           None if self.changed is None else self.changed - gone)

    def save(self, conn: Any, inventory_seen: int, *, version: int | None = None,
             due: Collection[str] | None = None) -> int:
        """Write these changes in the caller's transaction; the number of states written. ``inventory_seen``: the
        inventory version the cycle started from; when it has changed since, APs removed meanwhile are left out
        (their state would break the foreign key). ``version``: the store's version as the caller read it in this
        transaction (else read here: a statement per commit, 64 a slot for a worker's shards). ``due``: the APs
        whose turn it is (a checkpoint's, ``CycleRunner``): a routine state of another AP (not in ``changed``) is
        not written (None: every state is)."""
        writes = self
        if (inventory_version(conn) if version is None else version) != inventory_seen:
            ids = set(self.states) | set(self.discoveries)
            writes = self.without(ids - existing_ap_ids(conn, ids))
        if writes.discoveries:
            save_discoveries(conn, writes.discoveries)
        states = writes.states
        if due is not None and writes.changed is not None:
            every = states
            states = {ap_id: every[ap_id] for ap_id in writes.changed}  # the turn's and the changes: few of either
            states.update((ap_id, every[ap_id]) for ap_id in due if ap_id in every)
        if states:
            save_states(conn, states)
        return len(states)

    def apply(self, memory: CycleMemory) -> None:
        memory.discoveries.update(self.discoveries)
        memory.states.update(self.states)


@dataclass
class CycleReport:
    started_at: float
    duration_s: float = 0.0
    cpu_s: float = 0.0
    outcomes: list[ApOutcome] = field(default_factory=list)
    discovered: int = 0
    discovery_failed: int = 0
    engine: dict[str, int] = field(default_factory=dict)
    writes: CycleWrites = field(default_factory=CycleWrites)  # what the cycle changes (committed or pending)
    inventory_seen: int = 0  # the inventory version the cycle started from

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.error is not None and o.error.kind == kind)

    def count_class(self, name: str) -> int:
        """Failed APs by what their failure means: silent, unmonitored or misconfigured (collectors/model.py)."""
        return sum(1 for o in self.outcomes if o.error is not None and failure_class(o.error.kind) == name)

    @property
    def unmonitored(self) -> int:
        return self.count_class(FailureClass.UNMONITORED)

    @property
    def misconfigured(self) -> int:
        return self.count_class(FailureClass.MISCONFIGURED)

    @property
    def ok(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def timed_out(self) -> int:
        return self.count(PollErrorKind.TIMEOUT)

    @property
    def skipped(self) -> int:
        return self.count(PollErrorKind.BACKOFF)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.ok - self.timed_out - self.skipped

    @property
    def aps_per_s(self) -> float:
        polled = len(self.outcomes) - self.skipped
        return polled / self.duration_s if self.duration_s > 0 else 0.0

    def events(self) -> dict[str, int]:
        """How many APs had each rate event this cycle (reboot, over_speed, discontinuity, ...)."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            for event in outcome.rate.events if outcome.rate else ():
                counts[event] = counts.get(event, 0) + 1
        return counts

    def summary(self) -> dict[str, object]:
        return {"aps": len(self.outcomes), "ok": self.ok, "timed_out": self.timed_out, "errors": self.failed,
                "skipped_down": self.skipped, "discovered": self.discovered,
                "discovery_failed": self.discovery_failed, "duration_s": round(self.duration_s, 3),
                "aps_per_s": round(self.aps_per_s, 1), "cpu_s": round(self.cpu_s, 3), "events": self.events(),
                "engine": self.engine}


def target_for(ap: AccessPoint) -> Target:
    return Target(ap.id, ap.mgmt_address, ap.snmp_auth or "default", ap.profile)


def ssh_target_for(ap: AccessPoint) -> SshTarget:
    return SshTarget(ap.id, ap.mgmt_address, ap.ssh_auth or DEFAULT_SSH_AUTH, ap.profile)


def over_ssh(ap: AccessPoint) -> bool:
    return ap.collector == "ssh"


def _stale(stored: StoredDiscovery | None, ap: AccessPoint, state: ApState | None, max_age: timedelta,
           now: datetime) -> bool:
    if stored is None or (state is not None and state.needs_discovery):
        return True
    if stored.address != (ap.mgmt_address or "") or (ap.profile and ap.profile != stored.discovery.profile):
        return True
    return now - stored.discovered_at > max_age


def backoff_s(failures: int, interval_s: float, cap_s: float) -> float:
    """How long a down AP waits before its next try: 0 after one miss, then 1, 3, 7 ... intervals, capped."""
    if failures <= 1:
        return 0.0
    return min(interval_s * ((1 << min(failures - 1, 30)) - 1), cap_s)


@dataclass
class CycleMemory:
    """What a long-running scheduler keeps between cycles instead of reading it back from the store.

    The store stays what a restart loads (every cycle writes the states that changed; a checkpointing service,
    ``CycleRunner.checkpointing``, the routine ones on their turn); this saves reading 35,000 layouts and counter
    states back at the start of each cycle.
    """

    discoveries: dict[str, StoredDiscovery]
    states: dict[str, ApState]
    layouts: dict[Discovery, Discovery] = field(default_factory=dict)  # equal layouts share one object
    targets: dict[str, tuple[AccessPoint, Target]] = field(default_factory=dict)
    # the fleet ``ping_targets`` was last built for, and what it gave (``pinged``)
    pinged_for: tuple[AccessPoint, ...] = ()
    pinged: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def load(cls, store: Store, aps: Sequence[AccessPoint]) -> CycleMemory:
        ids = [ap.id for ap in aps]
        layouts: dict[Discovery, Discovery] = {}
        with store.read() as conn:
            return cls(load_discoveries(conn, ids, layouts), load_states(conn, ids), layouts)

    def intern(self, discovery: Discovery) -> Discovery:
        return self.layouts.setdefault(discovery, discovery)

    def target(self, ap: AccessPoint) -> Target:
        """The AP's Target, built once per AP record rather than once per AP per cycle."""
        cached = self.targets.get(ap.id)
        if cached is None or cached[0] is not ap:
            cached = self.targets[ap.id] = (ap, target_for(ap))
        return cached[1]

    def ping_targets(self, aps: Sequence[AccessPoint]) -> dict[str, tuple[str, ...]]:
        """``ping_targets(aps)``, built again only when the fleet changed: the same APs (the same records, or
        equal ones) in the same order come back every cycle. Read it, never change it."""
        fleet = tuple(aps)
        if self.pinged is None or fleet != self.pinged_for:  # identical records compare by identity: C speed
            self.pinged, self.pinged_for = ping_targets(fleet), fleet
        return self.pinged


async def discover_aps(store: Store, aps: Sequence[AccessPoint], settings: SnmpSettings, profiles: ProfileSet,
                       poller: Poller, *, progress: Progress | None = None,
                       memory: CycleMemory | None = None) -> dict[str, Discovery | PollError]:
    """Discover these APs now and store what was found (in ``memory`` too); failures are returned, not stored."""
    # an SSH AP has nothing to discover (its profile says it all), a managed AP neither (its controller is read)
    aps = [ap for ap in aps if not over_ssh(ap) and not ap.managed]
    tick = (lambda n: progress("discover", n, len(aps))) if progress else None
    found = await poller.discover([target_for(ap) for ap in aps], progress=tick)
    remember_discoveries(store, aps, found, memory)
    return found


def remember_discoveries(store: Store, aps: Sequence[AccessPoint], found: Mapping[str, Discovery | PollError],
                         memory: CycleMemory | None) -> None:
    """Store the layouts found (and clear their APs' rediscovery flag), in the store and in ``memory``."""
    now = datetime.now(UTC)
    by_id = {ap.id: ap for ap in aps}
    good = {ap_id: StoredDiscovery(by_id[ap_id].mgmt_address or "", memory.intern(result) if memory else result, now)
            for ap_id, result in found.items() if isinstance(result, Discovery)}
    if not good:
        return
    with store.write() as conn:
        save_discoveries(conn, good)
        states = load_states(conn, list(good)) if memory is None else {
            ap_id: memory.states[ap_id] for ap_id in good if ap_id in memory.states}
        cleared = {ap_id: replace(state, needs_discovery=False) for ap_id, state in states.items()
                   if state.needs_discovery}
        if cleared:
            save_states(conn, cleared)
    if memory is not None:
        memory.discoveries.update(good)
        memory.states.update(cleared)


@dataclass(frozen=True, slots=True)
class PollCycle:
    """What one cycle will do with each AP, decided before anything is sent (``plan_cycle``)."""

    aps: Sequence[AccessPoint]  # every AP of the cycle, in the order of its outcomes
    started: float  # wall clock when the cycle started: points and the stored retry times
    now: datetime  # when the plan was made: discovery ages, and the time stored with a layout found
    skipped: dict[str, PollError]  # waiting out their back-off: not tried, the outcome says why
    ssh: list[AccessPoint]  # polled over SSH (nothing to discover: the profile says it all)
    known: list[AccessPoint]  # with a usable layout: polled at once
    to_discover: list[AccessPoint]  # never discovered, moved, stale or flagged: discovered, then polled
    down: frozenset[str]  # missed the last cycle: tried after the others
    # APs read through a controller (never polled directly), by controller id; and the controllers to read:
    # those of the cycle, and any a managed AP of the cycle names that the cycle does not poll itself
    managed: dict[str, list[AccessPoint]] = field(default_factory=dict)
    controllers: dict[str, AccessPoint] = field(default_factory=dict)

    @property
    def tried(self) -> int:
        return len(self.known) + len(self.to_discover) + len(self.ssh) + sum(map(len, self.managed.values()))

    @property
    def polled(self) -> frozenset[str]:
        """The ids of the APs (controllers too) the cycle polls itself (and gives an outcome)."""
        return frozenset(ap.id for ap in self.aps) - frozenset(self.managed_ids)

    @property
    def managed_ids(self) -> list[str]:
        return [ap.id for aps in self.managed.values() for ap in aps]


@dataclass(frozen=True, slots=True)
class Gathered:
    """What the devices said in one cycle (``gather``): one result per AP tried, and the layouts found."""

    results: dict[str, PollResult]  # by AP id; an AP whose discovery failed has that failure
    rediscover: set[str]  # APs whose layout has gone: flagged for discovery next time
    discoveries: dict[str, StoredDiscovery]  # layouts found this cycle
    discovery_failed: int
    engine: dict[str, int]  # the engine's and the transport's counts for this cycle
    readings: dict[str, ControllerResult] = field(default_factory=dict)  # each controller's walk, by its id


def plan_cycle(aps: Sequence[AccessPoint], memory: CycleMemory, settings: SnmpSettings, *, started: float,
               now: datetime, use_backoff: bool = True,
               controllers: Mapping[str, AccessPoint] | None = None) -> PollCycle:
    """Which APs to skip (back-off), poll over SSH, poll at once, discover first, or read through their
    controller; pure. ``controllers``: controller rows outside ``aps`` that managed APs of ``aps`` name
    (read for them, not polled); a managed AP whose controller is in neither fails as misconfigured."""
    max_age = timedelta(hours=settings.rediscover_hours)
    cap_s = settings.down_backoff_max_s
    stored, states = memory.discoveries, memory.states
    skipped: dict[str, PollError] = {}
    by_ssh: list[AccessPoint] = []
    known: list[AccessPoint] = []
    to_discover: list[AccessPoint] = []
    down: set[str] = set()
    managed: dict[str, list[AccessPoint]] = {}
    readable = {ap.id: ap for ap in aps if ap.is_controller}
    for ap in aps:
        if ap.managed:  # never polled directly, never waiting out a back-off: reading its controller costs it nothing
            assert ap.controller is not None
            boss = readable.get(ap.controller) or (controllers or {}).get(ap.controller)
            if boss is None or not boss.is_controller:
                skipped[ap.id] = PollError(ap.id, started, PollErrorKind.CONFIG,
                                           f"its controller {ap.controller} is not a controller row of the inventory; "
                                           "correct the AP's controller column, or import the controller's row")
                continue
            readable.setdefault(boss.id, boss)
            managed.setdefault(boss.id, []).append(ap)
            continue
        state = states.get(ap.id)
        if state is not None and state.failures > 0:
            # a retry time further ahead than the cap can only come from a wall clock that stepped back
            if use_backoff and started < state.next_attempt_at <= started + cap_s:
                skipped[ap.id] = _backoff_error(ap, state, started)
                continue
            down.add(ap.id)
        if over_ssh(ap):
            by_ssh.append(ap)
        elif _stale(stored.get(ap.id), ap, state, max_age, now):
            to_discover.append(ap)
        else:
            known.append(ap)
    wanted = {controller_id: readable[controller_id] for controller_id in managed}
    return PollCycle(aps, started, now, skipped, by_ssh, known, to_discover, frozenset(down), managed, wanted)


def _backoff_error(ap: AccessPoint, state: ApState, started: float) -> PollError:
    next_try = datetime.fromtimestamp(state.next_attempt_at, UTC).strftime("%H:%M:%S")
    return PollError(ap.id, started, PollErrorKind.BACKOFF, f"failing for {state.failures} cycles "
                     f"({state.last_error}); next try at {next_try} UTC")


async def gather(cycle: PollCycle, poller: Poller, memory: CycleMemory, *,
                 progress: Progress | None = None) -> Gathered:
    """Discover, poll, poll over SSH and read the controllers at once, then poll the APs (and read the
    controllers) just discovered; last, each managed AP's result from its controller's reading.

    A layout found goes into ``memory.discoveries`` at once (the APs discovered are polled in this
    cycle); the layouts found are also in the result, for the cycle's writes.
    """
    tried = cycle.tried
    poll_tick = (lambda n: progress("poll", n, tried)) if progress else None
    discover_tick = (lambda n: progress("discover", n, len(cycle.to_discover))) if progress else None
    stored = memory.discoveries
    polled = {ap.id for ap in cycle.aps}
    known_ids = {ap.id for ap in cycle.known}
    # controllers the cycle does not poll itself (a selection of managed APs): read with the layout stored for
    # them when it is for their address, else discovered first (not polled: they have no outcome)
    extras = [c for c_id, c in cycle.controllers.items() if c_id not in polled]
    extras_to_discover = [c for c in extras
                          if c.id not in stored or stored[c.id].address != (c.mgmt_address or "")]
    read_first = [c for c_id, c in cycle.controllers.items()
                  if c_id in known_ids or (c_id not in polled and c not in extras_to_discover)]
    readings: dict[str, ControllerResult] = {}
    not_read: dict[str, tuple[PollErrorKind, str]] = {}

    async def discover() -> dict[str, Discovery | PollError]:
        if not cycle.to_discover:
            return {}
        return await poller.discover([memory.target(ap) for ap in cycle.to_discover], progress=discover_tick,
                                     down=cycle.down)

    async def discover_extras() -> dict[str, Discovery | PollError]:
        if not extras_to_discover:
            return {}
        return await poller.discover([memory.target(c) for c in extras_to_discover])

    async def read(controllers: Sequence[AccessPoint]) -> None:
        work = []
        for controller in controllers:
            name = stored[controller.id].discovery.profile
            profile = poller.profiles.profiles.get(name)
            if profile is None or profile.controller is None:
                not_read[controller.id] = (PollErrorKind.CONFIG, (
                    f"was detected as {name}, whose profile has no controller section: pin a controller profile "
                    "in its profile column (hotspotctl profiles list), or add the section"))
            elif not profile.controller.lists_aps:  # count-only: nothing it says is of one AP, so no walk
                not_read[controller.id] = (PollErrorKind.CONFIG, no_ap_table(name))
            else:
                work.append((memory.target(controller), profile))
        if work:
            readings.update(await read_controllers(poller, work))

    engine_before = poller.stats()
    try:  # a TaskGroup, so that a bug in one cancels the other rather than leave the engine busy
        async with asyncio.TaskGroup() as group:
            discovering = group.create_task(discover())
            discovering_extras = group.create_task(discover_extras())
            polling = group.create_task(poller.poll(
                [(memory.target(ap), stored[ap.id].discovery, ap.id in cycle.down) for ap in cycle.known],
                progress=poll_tick))
            ssh_polling = group.create_task(poller.poll_ssh([ssh_target_for(ap) for ap in cycle.ssh],
                                                            progress=poll_tick))
            group.create_task(read(read_first))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    found, (results, rediscover) = discovering.result(), polling.result()
    results += ssh_polling.result()
    discoveries, discovery_errors = _absorb(found, cycle, memory)
    extra_errors: dict[str, PollError] = {}
    for c_id, layout in discovering_extras.result().items():
        if isinstance(layout, Discovery):
            address = cycle.controllers[c_id].mgmt_address or ""
            memory.discoveries[c_id] = discoveries[c_id] = StoredDiscovery(address, memory.intern(layout), cycle.now)
        else:
            extra_errors[c_id] = layout
    if poll_tick is not None and discovery_errors:
        poll_tick(len(discovery_errors))  # done: their outcome is the discovery's failure
    fresh = [ap for ap in cycle.to_discover if ap.id not in discovery_errors]
    unreadable = {*cycle.skipped, *discovery_errors, *extra_errors}
    read_later = [c for c_id, c in cycle.controllers.items()
                  if c_id in stored and c_id not in unreadable and c not in read_first]

    async def poll_fresh() -> None:
        nonlocal rediscover
        if fresh:
            more, more_rediscover = await poller.poll([(memory.target(ap), stored[ap.id].discovery, False)
                                                       for ap in fresh], progress=poll_tick)
            results.extend(more)
            rediscover |= more_rediscover

    await asyncio.gather(poll_fresh(), read(read_later))
    by_ap: dict[str, PollResult] = {r.ap: r for r in results}
    by_ap.update(discovery_errors)
    # the managed APs: from their controller's reading, or why it was not read
    failures = {**discovery_errors, **extra_errors, **cycle.skipped}
    for c_id, aps in cycle.managed.items():
        if c_id in readings:
            answered = {ap.id for ap in aps if (state := memory.states.get(ap.id)) and state.counters is not None}
            by_ap.update(results_for(c_id, aps, readings[c_id], answered))
        elif c_id in not_read:
            by_ap.update(unread(c_id, aps, time.time(), *not_read[c_id]))
        else:
            error = failures.get(c_id)
            why = f"could not be read ({error.kind}: {error.message})" if error else "was not read"
            by_ap.update(unread(c_id, aps, error.at if error else time.time(), PollErrorKind.CONTROLLER,
                                f"{why}; nothing is known of this AP"))
        if poll_tick is not None:
            poll_tick(len(aps))
    # this cycle's counts (kernel_drops too), buffer levels
    return Gathered(by_ap, rediscover, discoveries, len(discovery_errors), poller.stats(since=engine_before), readings)


def _absorb(found: Mapping[str, Discovery | PollError], cycle: PollCycle,
            memory: CycleMemory) -> tuple[dict[str, StoredDiscovery], dict[str, PollError]]:
    """The layouts found (put in ``memory`` at once: their APs are polled in this cycle) and the failures."""
    by_id = {ap.id: ap for ap in cycle.to_discover}
    discoveries: dict[str, StoredDiscovery] = {}
    errors: dict[str, PollError] = {}
    for ap_id, layout in found.items():
        if isinstance(layout, Discovery):
            memory.discoveries[ap_id] = discoveries[ap_id] = StoredDiscovery(
                by_id[ap_id].mgmt_address or "", memory.intern(layout), cycle.now)
        else:
            errors[ap_id] = layout
    return discoveries, errors


def pinger_for(ping: PingSettings) -> Pinger | None:
    """The cycle's pinger with these settings (``collectors.ping.ping_hosts``), or None when ping is disabled."""
    if not ping.enabled:
        return None
    kind = cast(SocketKind, ping.socket)
    return functools.partial(ping_hosts, count=ping.count, interval_s=ping.interval_s, timeout_s=ping.timeout_s,
                             max_in_flight=ping.max_in_flight, kind=kind,
                             receive_buffer_bytes=ping.receive_buffer_bytes, max_rate_pps=ping.max_rate_pps)


def ping_targets(aps: Sequence[AccessPoint]) -> dict[str, tuple[str, ...]]:
    """The hosts to ping, each with the ids of its APs: every AP with a management address of its own (a
    managed AP without one is known through its controller only); the host of ``host:port``. Pure."""
    hosts: dict[str, list[str]] = {}
    for ap in aps:
        if not ap.mgmt_address:
            continue
        try:
            host = split_address(ap.mgmt_address, 161)[0]
        except ValueError:
            continue  # unusable: the poll says so (no_address)
        hosts.setdefault(host, []).append(ap.id)
    return {host: tuple(ids) for host, ids in hosts.items()}  # kept between cycles: a tuple is half a list


async def ping_aps(pinger: Pinger, aps: Sequence[AccessPoint],
                   memory: CycleMemory | None = None) -> dict[str, PingResult]:
    """Ping the APs' hosts once (``ping_targets``, kept in ``memory`` between cycles): each AP id -> its
    host's result.

    A prober that fails as a whole (no ICMP socket may be opened: its message says how to allow one) is
    logged (as an error the first time), and the cycle goes on without pings: SNMP alone decides, as it
    did before pings.
    """
    targets = memory.ping_targets(aps) if memory is not None else ping_targets(aps)
    if not targets:
        return {}
    try:
        found = await pinger(list(targets))
    except Exception as exc:  # the prober's own failure: never the cycle's
        text = str(exc)
        if text not in _PING_FAILURES:  # once per process: it would say the same every cycle
            _PING_FAILURES.add(text)
            log.error("no ping in the cycles (SNMP alone decides) until this is fixed: %s", text)
        else:
            log.debug("no ping this cycle: %s", text)
        return {}
    by_ap: dict[str, PingResult] = {}
    for host, ids in targets.items():
        result = found.get(host)
        if result is not None:
            for ap_id in ids:
                by_ap[ap_id] = result
    return by_ap


def fold(cycle: PollCycle, gathered: Gathered, memory: CycleMemory, *, interval_s: float,
         cap_s: float, pings: Mapping[str, PingResult] | None = None
         ) -> tuple[list[ApOutcome], dict[str, ApState], set[str]]:
    """Each AP's outcome (rates from its sample and last counters, and its ping from ``pings``, by AP id),
    its new state, and the APs whose new state moved more than its counters (``CycleWrites.changed``); pure.

    A failed AP's next try waits out its back-off (``backoff_s``), except one that was never
    tried (no address, no configuration: nothing sent), tried again next cycle.
    """
    states, stored = memory.states, memory.discoveries
    pinged = (pings or {}).get
    outcomes: list[ApOutcome] = []
    new_states: dict[str, ApState] = {}
    changed: set[str] = set()
    # locals, the lookups bound once: every AP, every cycle
    skipped_of, state_of, stored_of = cycle.skipped.get, states.get, stored.get
    results, rediscovered = gathered.results, gathered.rediscover
    for ap in cycle.aps:
        ap_id = ap.id
        if over_ssh(ap):
            profile = ap.profile
        else:
            found = stored_of(ap_id)
            profile = found.discovery.profile if found is not None else None
        managed = ap.managed
        if managed and ap.controller in stored:  # read with its controller's profile
            profile = stored[ap.controller].discovery.profile
        skipped = skipped_of(ap_id)
        if skipped is not None:
            outcomes.append(ApOutcome(ap, profile, None, skipped, ping=pinged(ap_id)))
            continue
        state = state_of(ap_id) or ApState(None)
        result = results[ap_id]
        if isinstance(result, Sample):
            previous = state.counters
            rate, counters = compute_rates(result, previous, backhaul_mbps=ap.backhaul_mbps)
            rediscover = ap_id in rediscovered
            new_states[ap_id] = ApState(counters, 0, result.at, 0.0, None, rediscover)
            if (previous is None or state.failures or state.last_error is not None
                    or state.next_attempt_at or state.needs_discovery != rediscover):
                changed.add(ap_id)  # else it answered again, as last time: only its counters (and attempt time) moved
            outcomes.append(ApOutcome(ap, profile, rate, None, result.rtt_ms, result.radios, pinged(ap_id)))
        else:
            failures = state.failures + 1
            unmonitored = failure_class(result.kind) == FailureClass.UNMONITORED
            # a managed AP is never waited for: it is read with its controller every cycle, at no cost of its own
            wait = 0.0 if unmonitored or managed else backoff_s(failures, interval_s, cap_s)
            needs_discovery = state.needs_discovery and ap_id not in gathered.discoveries and not managed
            new_states[ap_id] = ApState(state.counters, failures, result.at, result.at + wait, result.message,
                                        needs_discovery)
            changed.add(ap_id)
            outcomes.append(ApOutcome(ap, profile, None, result, ping=pinged(ap_id)))
    return outcomes, new_states, changed


def _outside_controllers(conn: Any, aps: Sequence[AccessPoint], memory: CycleMemory) -> dict[str, AccessPoint]:
    """The controller rows that managed APs of ``aps`` name but ``aps`` does not hold (a selection of managed
    APs), with their stored layouts put in ``memory``: they are read for their APs, not polled."""
    missing = {ap.controller for ap in aps if ap.managed} - {ap.id for ap in aps}
    if not missing:
        return {}
    found = load_access_points(conn, sorted(c for c in missing if c is not None))
    absent = [c_id for c_id in found if c_id not in memory.discoveries]
    if absent:
        memory.discoveries.update(load_discoveries(conn, absent, memory.layouts))
    return found


async def run_cycle(store: Store, aps: Sequence[AccessPoint], settings: SnmpSettings, profiles: ProfileSet,
                    poller: Poller, *, interval_s: float = 60.0, use_backoff: bool = True,
                    progress: Progress | None = None, memory: CycleMemory | None = None,
                    save: bool = True, pinger: Pinger | None = None) -> CycleReport:
    """Poll ``aps`` once, discovering those never discovered, moved, stale or flagged alongside the polls.

    ``plan_cycle`` decides, ``gather`` asks the devices, ``fold`` turns their answers into outcomes
    and states; this commits them.

    - An AP waiting out its back-off is not tried (outcome ``backoff``), unless ``use_backoff`` is False.
    - The APs with a usable layout are polled at once, while the APs that need one are discovered
      (the walker for v2c, pysnmp for v3; the walker shares the engine's transport). A dead AP's
      discovery timeouts therefore never delay the known APs' GETs. The APs discovered are then
      polled in this same cycle, once both are done (the engine runs one batch at a time); an AP
      whose discovery failed ends the cycle with that failure as its outcome.
    - An AP that missed the last cycle (``ApState.failures > 0``), whether its poll or its discovery
      failed, is believed down: it gets the same retries and deadline as any AP (an answer to any of
      its tries counts, so a slow agent is not mistaken for a dead one), sent after the others. A
      failed discovery is a miss like a failed poll, so from the second miss in a row the AP waits
      1, 3, 7 ... intervals, at most ``snmp.down_backoff_max_s`` (a minute by default), before its
      next try: a fixed AP is seen again within that.
    - The counter states and layouts go to ``report.writes``; with ``save`` (the default) they are
      committed here, else the caller commits them (``CycleWrites.save``) and applies them to
      ``memory`` (``CycleWrites.apply``) once it has made the cycle's points durable.
    - With a ``pinger``, the APs' hosts are pinged at the same time as all of that (``ping_aps``), every
      AP with an address, whether polled, skipped or read through its controller.
    """
    started = time.time()  # wall clock: points and the stored retry times
    clock = time.monotonic()  # durations
    cpu = time.process_time()
    if memory is None:
        memory = CycleMemory.load(store, aps)
    with store.read() as conn:
        inventory_seen = inventory_version(conn)
        controllers = _outside_controllers(conn, aps, memory)
    cycle = plan_cycle(aps, memory, settings, started=started, now=datetime.now(UTC), use_backoff=use_backoff,
                       controllers=controllers)
    pinging = asyncio.create_task(ping_aps(pinger, aps, memory)) if pinger is not None else None
    try:
        gathered = await gather(cycle, poller, memory, progress=progress)
        pings = await pinging if pinging is not None else {}
    finally:
        if pinging is not None and not pinging.done():  # the poll failed: the pings go with it
            pinging.cancel()
            await asyncio.wait([pinging])
    outcomes, states, changed = fold(cycle, gathered, memory, interval_s=interval_s,
                                     cap_s=settings.down_backoff_max_s, pings=pings)
    writes = CycleWrites(states, gathered.discoveries, changed)
    if save:
        with store.write() as conn:
            writes.save(conn, inventory_seen)
        writes.apply(memory)
    return CycleReport(started_at=started, duration_s=time.monotonic() - clock, cpu_s=time.process_time() - cpu,
                       outcomes=outcomes, discovered=len(gathered.discoveries),
                       discovery_failed=gathered.discovery_failed, engine=gathered.engine, writes=writes,
                       inventory_seen=inventory_seen)
