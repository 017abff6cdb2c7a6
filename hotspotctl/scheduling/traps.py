"""What ``hotspotctl run`` does with a trap: the AP it concerns is polled now, and a confirmed failure
opens its outage within seconds, not cycles.

The trap listener (``collectors/traps.py``) hands every decoded, authenticated notification to
``TrapReactor.submit`` on the event loop. The reactor:

- **maps** it to the AP(s) it concerns (``TrapIndex``): by its source address, the host of the AP's
  ``mgmt_address`` (several APs behind one address: all of them); a controller's AP leave/join by the
  controller's address and the trap's ``ap_mac`` (else ``ap_name``), as the inventory knows its APs.
  A source no inventory row has is counted (``unknown_source``) and dropped: never trusted.
- **filters**: authenticationFailure is counted (the NOC's concern); a linkDown/linkUp whose
  interface is admin-down is counted and nothing else (an operator did it); a kind not understood
  is counted. A duplicate (same source, OID, kind, interface and AP within ``TrapLimits.dedupe_s``:
  informs retransmitted, agents that send twice) is counted and dropped.
- **polls the AP now**, with the service's Poller, on the loop, while cycles continue: never two
  immediate polls of one AP at once (a trap about an AP being polled waits, the newest one only,
  and runs after), at most ``per_ap_burst`` per AP per ``per_ap_window_s``, and a global token bucket
  (``global_per_s``, ``global_burst``) plus ``max_in_flight`` reactions at once, so that a trap storm
  cannot starve the cycles. What the limits drop is counted (``rate_limited``): the next cycle
  polls those APs anyway.
- **confirms a failure**: a linkDown (interface not admin-down) or an AP leave whose AP does not answer
  ``confirm_tries`` quick polls (each within ``confirm_budget_s``, its retries included,
  ``confirm_spacing_s`` apart) is DOWN now: its health is evaluated as if this miss were the
  ``evaluate.down_after``-th in a row (the same rules, ``evaluate_ap``), and its site's outage is
  opened or extended in the ledger through the cycle's Evaluator and store (``react_now``). An AP that
  answers, or whose failure is not a silence (a wrong credential: misconfigured, the cycle says so),
  opens nothing. A poll that answers for an AP that is DOWN counts as one answer (recovery still
  takes ``evaluate.up_after`` answers).
- **marks a counter discontinuity** on coldStart/warmStart (``CycleRunner.restarts``): the next cycle's
  sample of that AP taken after the trap is a new baseline, with no rate across the restart (event
  ``discontinuity``), even when its uptime and counters would not show the restart.

The ledger stays consistent with a cycle running concurrently: the reactor's evaluation and save run
under the runner's ``evaluating`` lock, which the cycle holds around its own evaluation and save.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from hotspotctl.collectors.address import split_address
from hotspotctl.collectors.controllers import read_controllers, results_for
from hotspotctl.collectors.model import FailureClass, PollError, PollResult, Sample, failure_class
from hotspotctl.collectors.traps import TrapListener, listen, receiver_from_settings
from hotspotctl.errors import ConfigError, PollErrorKind
from hotspotctl.evaluate.outages import SITE_OFFLINE, returned_at, site_findings, update_ledger
from hotspotctl.evaluate.rates import EVENTS, RateSample
from hotspotctl.evaluate.status import DOWN, UNUSABLE, ApHealth, evaluate_ap
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.models.radios import normal_mac
from hotspotctl.models.traps import TrapEvent, TrapKind
from hotspotctl.scheduling.cycle import CycleReport, over_ssh, ssh_target_for
from hotspotctl.scheduling.evaluation import CycleEvaluation, Evaluator
from hotspotctl.store.outages import list_maintenance

if TYPE_CHECKING:
    from hotspotctl.scheduling.service import CycleRunner

log = logging.getLogger("hotspotctl.traps")

DOWN_KINDS = frozenset({TrapKind.LINK_DOWN, TrapKind.AP_LEAVE})
UP_KINDS = frozenset({TrapKind.LINK_UP, TrapKind.AP_JOIN})
RESTART_KINDS = frozenset({TrapKind.COLD_START, TrapKind.WARM_START})
POLLED_KINDS = DOWN_KINDS | UP_KINDS | RESTART_KINDS

# The counters, in the order the poller_traps point and the logs give them
COUNTERS = (
    "received",  # every TrapEvent handed to the reactor
    "unknown_source",  # no inventory row at its source (or no AP of that controller by that name/MAC): dropped
    "duplicate",  # the same trap again within dedupe_s: dropped
    "admin_down",  # linkDown/linkUp of an admin-down interface: an operator did it, no alarm
    "auth_failure",  # the device says someone used a wrong community
    "other",  # a notification not understood: counted, logged by OID
    "restart",  # coldStart/warmStart: the AP's next rate is a new baseline
    "rate_limited",  # an immediate poll the per-AP or global limits dropped (the next cycle polls it)
    "coalesced",  # arrived while its AP was being polled: replaced by the newest, polled after
    "polled",  # immediate polls done (an AP, or a managed AP through its controller)
    "answered",  # ... that the AP answered
    "confirmed_down",  # a down/leave trap whose AP failed every confirmation poll: DOWN now
    "outages_opened",  # site outages opened by a confirmed failure (extended ones are not counted)
)


@dataclass(frozen=True, slots=True)
class TrapLimits:
    """How hard the reactor may poll; the defaults suit a fleet of 35,000 APs polled every minute."""

    dedupe_s: float = 30.0
    per_ap_burst: int = 3
    per_ap_window_s: float = 60.0
    global_per_s: float = 20.0
    global_burst: int = 100
    max_in_flight: int = 64
    confirm_tries: int = 2
    confirm_budget_s: float = 1.0
    confirm_spacing_s: float = 0.5
    controller_budget_s: float = 4.0  # reading a controller's AP table for a leave/join


def host_of(address: str | None) -> str | None:
    """The host part of an AP's ``mgmt_address`` (lower case), or None."""
    if not address:
        return None
    try:
        host, _ = split_address(address, 161)
    except ValueError:
        return None
    return host.lower()


class TrapIndex:
    """Which AP(s) a trap concerns, from the fleet as the cycle polls it."""

    def __init__(self, aps: Sequence[AccessPoint]) -> None:
        self.aps = aps
        self.by_host: dict[str, list[AccessPoint]] = {}
        self.by_controller: dict[str, dict[str, AccessPoint]] = {}  # controller id -> key -> AP
        for ap in aps:
            host = host_of(ap.mgmt_address)
            if host is not None and not ap.managed:
                self.by_host.setdefault(host, []).append(ap)
            if ap.managed and ap.controller is not None:
                keys = self.by_controller.setdefault(ap.controller, {})
                mac = normal_mac(ap.ap_mac) if ap.ap_mac else None
                if mac is not None:
                    keys[f"mac:{mac}"] = ap
                keys[f"name:{ap.name_on_controller.casefold()}"] = ap

    def resolve(self, event: TrapEvent) -> list[AccessPoint]:
        """The APs this trap is about; [] for an unknown source (or an AP its controller names that we lack)."""
        senders = self.by_host.get(event.source.lower(), [])
        if event.kind in (TrapKind.AP_LEAVE, TrapKind.AP_JOIN):
            found: list[AccessPoint] = []
            for controller in senders:
                keys = self.by_controller.get(controller.id, {})
                mac = normal_mac(event.ap_mac) if event.ap_mac else None
                ap = keys.get(f"mac:{mac}") if mac else None
                if ap is None and event.ap_name:
                    ap = keys.get(f"name:{event.ap_name.casefold()}")
                if ap is not None:
                    found.append(ap)
            return found
        return list(senders)


class _Bucket:
    """A token bucket on the monotonic clock."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, float(burst), float(burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(frozen=True, slots=True)
class Reaction:
    """What one immediate poll of one AP concluded (``TrapReactor.reactions`` keeps the newest)."""

    ap: str
    kind: TrapKind
    received_at: float
    answered: bool
    confirmed_down: bool
    evaluation: CycleEvaluation | None  # what was saved (None: nothing to change)
    done_at: float

    def to_json(self) -> dict[str, Any]:
        ev = self.evaluation
        return {"ap": self.ap, "kind": str(self.kind), "received_at": self.received_at, "answered": self.answered,
                "confirmed_down": self.confirmed_down, "done_at": self.done_at,
                "opened": [o.site for o in ev.ledger.opened] if ev else [],
                "changed": [o.site for o in ev.ledger.changed] if ev else []}


class TrapReactor:
    """Turns TrapEvents into immediate polls and fast outages for a CycleRunner's fleet; on the loop.

    ``submit`` is synchronous (the listener's datagram callback calls it); the work runs in tasks.
    ``on_evaluation`` is called with each evaluation a reaction saved (the service logs it and sends
    the crew lists of a new site outage, as after a cycle).
    """

    def __init__(self, runner: CycleRunner, limits: TrapLimits | None = None, *,
                 on_evaluation: Callable[[CycleEvaluation], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.runner = runner
        self.limits = limits or TrapLimits()
        self.on_evaluation = on_evaluation
        self.clock = clock
        self.counts: Counter[str] = Counter({name: 0 for name in COUNTERS})
        self.other_oids: Counter[str] = Counter()  # the OIDs of the notifications not understood
        self.reactions: deque[Reaction] = deque(maxlen=500)
        self._index: TrapIndex | None = None
        self._seen: dict[tuple[Any, ...], float] = {}  # dedupe key -> monotonic time last seen
        self._per_ap: dict[str, deque[float]] = {}
        self._global = _Bucket(self.limits.global_per_s, self.limits.global_burst, clock())
        self._busy: set[str] = set()
        self._pending: dict[str, TrapEvent] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.limits.max_in_flight)
        self._reported: dict[str, int] = {}  # the counts last handed to a cycle's point
        self.listener: TrapListener | None = None  # when `run` listens: its drops go into the same point

    # -- intake (synchronous: the listener's callback) ------------------------------------------

    @property
    def index(self) -> TrapIndex:
        aps = self.runner.aps
        if self._index is None or self._index.aps is not aps:  # the runner reloaded its fleet
            self._index = TrapIndex(aps)
        return self._index

    def knows(self, source: str) -> bool:
        """Whether an inventory row (an AP or a controller) has this address: the listener drops the rest."""
        return source.lower() in self.index.by_host

    def submit(self, event: TrapEvent) -> None:
        """Take one decoded trap: count it, map it, and start its reaction (or say why not, in the counts)."""
        counts = self.counts
        counts["received"] += 1
        kind = event.kind
        if kind == TrapKind.AUTH_FAILURE:
            counts["auth_failure"] += 1
            log.info("authenticationFailure from %s: someone used a wrong community or credential on it",
                     event.source)
            return
        if kind not in POLLED_KINDS:
            counts["other"] += 1
            self.other_oids[event.trap_oid] += 1
            log.debug("trap %s from %s not understood: counted", event.trap_oid, event.source)
            return
        aps = self.index.resolve(event)
        if not aps:
            counts["unknown_source"] += 1
            log.debug("trap %s (%s) from %s: no AP of the inventory there; dropped", event.trap_oid, kind,
                      event.source)
            return
        now = self.clock()
        key = (event.source, event.trap_oid, kind, event.if_index, event.admin_up, event.ap_mac, event.ap_name)
        last = self._seen.get(key)
        self._seen[key] = now
        if len(self._seen) > 50_000:  # forget the old ones: a service runs for months
            cutoff = now - self.limits.dedupe_s
            self._seen = {k: t for k, t in self._seen.items() if t >= cutoff}
        if last is not None and now - last < self.limits.dedupe_s:
            counts["duplicate"] += 1
            return
        if kind in (TrapKind.LINK_DOWN, TrapKind.LINK_UP) and event.admin_up is False:
            counts["admin_down"] += 1
            log.info("%s of interface %s on %s, which is admin-down: an operator did it; no alarm", kind,
                     event.if_index, ", ".join(ap.id for ap in aps))
            return
        if kind in RESTART_KINDS:
            counts["restart"] += 1
            for ap in aps:
                self.runner.restarts[ap.id] = event.received_at
        for ap in aps:
            self._start(ap, event, now)

    def _start(self, ap: AccessPoint, event: TrapEvent, now: float) -> None:
        if ap.id in self._busy:  # never two immediate polls of one AP: the newest trap waits for the running one
            if ap.id in self._pending:
                self.counts["coalesced"] += 1
            self._pending[ap.id] = event
            return
        recent = self._per_ap.setdefault(ap.id, deque())
        while recent and now - recent[0] >= self.limits.per_ap_window_s:
            recent.popleft()
        if len(recent) >= self.limits.per_ap_burst or not self._global.take(now):
            self.counts["rate_limited"] += 1
            return
        recent.append(now)
        if len(self._per_ap) > 50_000:
            self._per_ap = {k: v for k, v in self._per_ap.items() if v}
        self._busy.add(ap.id)
        task = asyncio.get_running_loop().create_task(self._react(ap, event), name=f"trap reaction {ap.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _react(self, ap: AccessPoint, event: TrapEvent) -> None:
        try:
            async with self._slots:
                reaction = await self.react(ap, event)
            if reaction is not None:
                self.reactions.append(reaction)
        except Exception as exc:  # a bug or a store failure: logged, the cycle goes on (and reloads if stale)
            log.error("reacting to %s about %s failed: %s: %s", event.kind, ap.id, type(exc).__name__, exc,
                      exc_info=not isinstance(exc, OSError))
        finally:
            self._busy.discard(ap.id)
            waiting = self._pending.pop(ap.id, None)
            if waiting is not None:
                self._start(ap, waiting, self.clock())

    # -- the reaction ---------------------------------------------------------------------------

    async def react(self, ap: AccessPoint, event: TrapEvent) -> Reaction | None:
        """Poll ``ap`` now (``confirm_tries`` times for a down/leave trap while it does not answer); evaluate."""
        down_kind = event.kind in DOWN_KINDS
        tries = self.limits.confirm_tries if down_kind else 1
        result: PollResult | None = None
        for attempt in range(tries):
            if attempt:
                await asyncio.sleep(self.limits.confirm_spacing_s)
            result = await self.poll_one(ap)
            self.counts["polled"] += 1
            if result is None or isinstance(result, Sample):
                break
            if failure_class(result.kind) != FailureClass.SILENT:
                break  # not a silence: misconfigured or unknown, the cycle says which; no retry helps
        if result is None:
            return None  # nothing could be asked (no layout yet, a controller without one): the cycle will
        answered = isinstance(result, Sample)
        if answered:
            self.counts["answered"] += 1
        confirmed = down_kind and isinstance(result, PollError) and failure_class(result.kind) == FailureClass.SILENT
        if not confirmed and not answered:
            return Reaction(ap.id, event.kind, event.received_at, False, False, None, time.time())
        async with self.runner.evaluating:
            evaluation = react_now(self.runner, ap, answered=answered, at=time.time())
        if confirmed:
            self.counts["confirmed_down"] += 1
        if evaluation is not None:
            self.counts["outages_opened"] += len(evaluation.ledger.opened)
            if evaluation.ledger:
                log.warning("trap %s about %s (%s) %s: %d outages opened, %d extended, %d closed", event.kind,
                            ap.id, event.source, "confirmed: it does not answer" if confirmed else "answered",
                            len(evaluation.ledger.opened), len(evaluation.ledger.changed),
                            len(evaluation.ledger.closed), extra={"outages": evaluation.summary()})
            if self.on_evaluation is not None:
                self.on_evaluation(evaluation)
        return Reaction(ap.id, event.kind, event.received_at, answered, confirmed, evaluation, time.time())

    async def poll_one(self, ap: AccessPoint) -> PollResult | None:
        """One quick poll of ``ap`` (a managed AP: its controller's AP table read), or None when nothing can be
        asked yet. Counter states are not touched: the cycle's rates go on from its own samples."""
        runner, limits = self.runner, self.limits
        poller, memory = runner.poller, runner.memory
        if ap.managed:
            controller = next((c for c in runner.aps if c.id == ap.controller), None)
            stored = memory.discoveries.get(ap.controller or "")
            if controller is None or stored is None:
                return None
            profile = poller.profiles.profiles.get(stored.discovery.profile)
            if profile is None or profile.controller is None or not profile.controller.lists_aps:
                return None
            try:
                readings = await asyncio.wait_for(read_controllers(poller, [(memory.target(controller), profile)]),
                                                  limits.controller_budget_s)
            except TimeoutError:
                return None  # the controller sent the trap but its table did not come in time: cannot confirm
            answered = {ap.id} if (state := memory.states.get(ap.id)) and state.counters is not None else set()
            return results_for(controller.id, [ap], readings[controller.id], answered).get(ap.id)
        if over_ssh(ap):
            try:
                results = await asyncio.wait_for(poller.poll_ssh([ssh_target_for(ap)]),
                                                 limits.confirm_budget_s * 2)
            except TimeoutError:
                return PollError(ap.id, time.time(), PollErrorKind.TIMEOUT,
                                 f"no answer over SSH within {limits.confirm_budget_s * 2:g} s")
            return results[0] if results else None
        stored = memory.discoveries.get(ap.id)
        if stored is None or stored.address != (ap.mgmt_address or ""):
            return None  # never discovered here (or moved): the cycle discovers it first
        results, _ = await poller.poll([(memory.target(ap), stored.discovery, False)],
                                       budget_s=limits.confirm_budget_s)
        return results[0]

    # -- reporting ------------------------------------------------------------------------------

    def figures(self) -> dict[str, int]:
        """The counts since the last call (each cycle's ``poller_traps`` point); with a listener, also its own
        (``TrapReceiver.flat_counters``: ``traps_received``, ``traps_dropped_<reason>``, ``traps_kind_<kind>`` ...)."""
        now = {name: self.counts[name] for name in COUNTERS}
        if self.listener is not None:
            now.update(self.listener.receiver.flat_counters())
        delta = {name: value - self._reported.get(name, 0) for name, value in now.items()}
        self._reported = now
        return delta

    async def close(self, timeout_s: float = 5.0) -> None:
        """Let the running reactions finish (within ``timeout_s``), then cancel what is left."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=max(0.0, timeout_s))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


def react_now(runner: CycleRunner, ap: AccessPoint, *, answered: bool, at: float) -> CycleEvaluation | None:
    """Evaluate ``ap`` now, apart from a cycle, and save what changes; the caller holds ``runner.evaluating``.

    Not answered (a confirmed failure): the AP's health as if this miss were the ``down_after``-th in a row.
    Answered: one answer (no figures: the cycle computes them), for an AP that was missing or DOWN only.
    Its site's finding is made again from the healths of the site's APs, and only that site's outage is
    opened, extended or closed: the other sites' are the cycle's. No availability is counted (that is
    per cycle). None when the AP's health does not change (an AP that answers and was up, an AP that
    cannot be read for a reason that is not silence).
    """
    evaluator = runner.evaluator
    rules = evaluator.rules
    previous = evaluator.healths.get(ap.id)
    if ap.id not in evaluator.limits:
        return None  # not in the evaluator's fleet (reloaded meanwhile)
    if previous is not None and previous.state in UNUSABLE:
        return None  # unmonitored or misconfigured: what the cycle found stands
    controller = ap.id in evaluator.controllers
    if answered:
        if previous is None or (previous.state != DOWN and previous.misses == 0):
            return None
        health = evaluate_ap(previous, True, None, at, evaluator.limits[ap.id], rules, controller=controller)
    else:
        if previous is not None and previous.state == DOWN:
            health = previous  # already down: its site's finding may still change (another AP of it)
        else:
            base = previous or ApHealth()
            health = evaluate_ap(replace(base, misses=max(base.misses, rules.down_after - 1)), False, None, at,
                                 evaluator.limits[ap.id], rules, controller=controller)
    return _save_site(runner, evaluator, ap.id, previous, health, at)


def _save_site(runner: CycleRunner, evaluator: Evaluator, ap_id: str, previous: ApHealth | None, health: ApHealth,
               at: float) -> CycleEvaluation | None:
    site = evaluator.site_of[ap_id]
    healths = dict(evaluator.healths)
    healths[ap_id] = health
    members = [other for other, other_site in evaluator.site_of.items() if other_site == site]
    troubled = {other: h for other in members if (h := healths.get(other)) is not None
                and h.state not in UNUSABLE and h.stop_cause is not None}
    with runner.store.read() as conn:
        maintenance = evaluator.covered(list_maintenance(conn, ending_after=at), at)
    findings = {s: f for s, f in site_findings(troubled, evaluator.site_of, evaluator.site_sizes, evaluator.rules,
                                               evaluator.clients).items() if s == site}
    open_here = {site: evaluator.open[site]} if site in evaluator.open else {}
    before = {ap_id: previous} if previous is not None and previous.causes else {}

    def closed_at(outage: Any) -> float:
        return returned_at(outage, {a: before.get(a) or healths[a] for a in outage.aps_now if a in healths},
                           healths, at)

    ledger = update_ledger(open_here, findings, at, zone_of_site=evaluator.zone_of_site.__getitem__,
                           in_maintenance=maintenance.__contains__, closed_at=closed_at)
    changed = health is not previous and (previous is None or not health.same_verdict(previous))
    if not changed and not ledger:
        return None
    result = CycleEvaluation(at)
    result.health = {ap_id: health} if changed else {}
    result.health_written = len(result.health)
    result.ledger = ledger
    result.in_maintenance = len(maintenance)
    result.new_site_outages = [o for o in ledger.opened if o.cause == SITE_OFFLINE] + [
        o for o in ledger.changed if o.cause == SITE_OFFLINE and evaluator.open[o.site].cause != SITE_OFFLINE]
    try:
        with runner.store.write() as conn:
            evaluator.save(conn, result)
    except BaseException:
        runner.mark_stale()  # memory and store may differ: the next cycle loads the store again
        raise
    if changed:
        evaluator.healths[ap_id] = health
        evaluator.written[ap_id] = at
    evaluator.apply(result)
    result.open_outages = len(evaluator.open)
    return result


def strip_restarted(report: CycleReport, restarts: dict[str, float]) -> int:
    """Drop the rate of each AP marked restarted (coldStart/warmStart) whose sample was taken after the trap.

    Its counter state (in ``report.writes``) stays that sample's: the new baseline. A sample taken before
    the trap (the cycle was under way) keeps its rate, and the mark waits for the next cycle. How many
    rates were dropped. Runs under the runner's ``evaluating`` lock, before the cycle's evaluation.
    """
    if not restarts:
        return 0
    dropped = 0
    outcomes = report.outcomes
    for i, outcome in enumerate(outcomes):
        marked = restarts.get(outcome.ap.id)
        if marked is None or outcome.rate is None:
            continue
        if outcome.rate.at < marked:
            continue
        outcomes[i] = replace(outcome, rate=without_rate(outcome.rate))
        del restarts[outcome.ap.id]
        dropped += 1
    return dropped


def without_rate(rate: RateSample) -> RateSample:
    """The sample's figures without its rates: a counter discontinuity (the agent restarted)."""
    events = tuple(sorted({*rate.events, "discontinuity"}, key=EVENTS.index))
    return replace(rate, in_bps=None, out_bps=None, per_user_mbps=None, delivered_per_user_mbps=None,
                   events=events)





async def listen_for_traps(runner: CycleRunner, *,
                           on_evaluation: Callable[[CycleEvaluation], None] | None = None) -> asyncio.DatagramTransport:
    """Bind the trap listener the settings section ``traps`` describes (bind, port; the credential sets,
    repeat window and per-source rate of ``collectors.traps.receiver_from_settings``) and hand what it
    accepts to a TrapReactor, which becomes ``runner.traps``.

    Only the inventory's addresses are trusted (the reactor's ``knows``); credential sets whose secret is
    missing are left out with a warning. A port that cannot be bound is a ConfigError that says why.
    """
    traps = runner.settings.traps
    reactor = TrapReactor(runner, on_evaluation=on_evaluation)
    receiver, skipped = receiver_from_settings(runner.settings, known=reactor.knows)
    for why in skipped:
        log.warning("traps: credential set left out, it cannot authenticate a trap: %s", why)
    try:
        transport, listener = await listen(receiver, reactor.submit, traps.bind, traps.port)
    except OSError as exc:
        raise ConfigError(f"cannot listen for traps on {traps.bind}:{traps.port}: {exc.strerror or exc}; "
                          "port 162 needs root or CAP_NET_BIND_SERVICE (or set traps.port), or turn "
                          "traps.enabled off") from exc
    reactor.listener = listener
    runner.traps = reactor
    host, port = transport.get_extra_info("sockname")[:2]
    log.info("listening for traps on %s:%d (%d credential sets)", host, port,
             len(receiver.communities) + sum(len(users) for users in receiver.users.values()))
    return transport
