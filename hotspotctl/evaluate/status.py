"""Per-AP statuses with hysteresis, and the causes behind them. Pure: the cycle's figures in, health out.

``evaluate_ap(previous, answered, rate, at, limits, rules)`` runs once per AP per cycle and returns
the AP's new ``ApHealth`` (kept in the store between cycles):

- **State** (``UP``, ``DOWN``, ``DEGRADED``, ``UNKNOWN``) with hysteresis: DOWN after
  ``down_after`` missed cycles in a row (one lost packet is not an outage), UP again only after
  ``up_after`` answered cycles in a row. UNKNOWN until the AP has answered once or been missed
  ``down_after`` times. DEGRADED is up with a cause.
- **Not answering is not the only failure.** Only silence (a PollError of a silent kind: timeout,
  send, backoff; ``collectors.model.failure_class``) is a miss that may lead to DOWN. An AP we
  cannot read for a reason no crew can fix is ``UNMONITORED`` (no usable address, profile or
  credential set: the inventory or settings must change) or ``MISCONFIGURED`` (it answered, but
  not usefully: wrong community or v3 keys, a changed host key, the agent's own error), with the
  PollError's kind and message as the reason. Such an AP has no cause, so it never opens or
  extends an outage and never counts in availability; an AP that was DOWN and becomes
  misconfigured leaves its outage. When it answers again it starts afresh (UNKNOWN, then UP); a
  back-off skip keeps it as it was when last tried.
- **Causes**, in this order of precedence (the first is the AP's ``cause``):
  ``reboot_loop`` (>= ``reboot_loop_count`` reboots within ``reboot_loop_hours``),
  ``flapping`` (>= ``flap_changes`` answered/missed changes within ``flap_minutes``),
  ``offline`` (DOWN), ``uplink_degraded`` (the link negotiated below the AP's expected speed in the
  last ``down_after`` readings; it clears after ``up_after`` readings at speed),
  ``below_target`` (per_user_mbps under the target in >= ``below_cycles`` of the last
  ``below_window`` readings, and the AP's capacity itself is under the target: a thin backhaul),
  ``congested`` (the same, but the capacity would meet the target: too many clients on a healthy
  link; a planning matter, not a crew's).
  A DOWN AP keeps only reboot_loop, flapping and offline: its last figures are stale.

Skipped APs (waiting out their back-off) count as missed: they were down when last tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from hotspotctl.evaluate.rates import RateSample
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.names import name_key
from hotspotctl.settings import EvaluateSettings

UP, DOWN, DEGRADED, UNKNOWN = "up", "down", "degraded", "unknown"
UNMONITORED, MISCONFIGURED = "unmonitored", "misconfigured"
STATES = (UP, DEGRADED, DOWN, UNKNOWN, UNMONITORED, MISCONFIGURED)
HISTORY_MAX = 100  # changes and reboots an ApHealth keeps: 100 x 15 characters fit ap_health's 2,000
UNUSABLE = frozenset({UNMONITORED, MISCONFIGURED})  # states of APs we cannot read: never a crew matter
REASON_MAX = 500  # characters of a PollError's message kept as the reason
CAUSES = ("reboot_loop", "flapping", "offline", "uplink_degraded", "below_target", "congested")
CREW_CAUSES = frozenset({"reboot_loop", "flapping", "offline", "uplink_degraded"})


@dataclass(frozen=True, slots=True)
class ApLimits:
    """What an AP is held to: its per-user target and the uplink speed it should negotiate."""

    target_mbps: float
    expected_link_mbps: float


class Limits:
    """Each AP's limits from settings: its own target_mbps, else its programme's, else the fleet's."""

    def __init__(self, rules: EvaluateSettings) -> None:
        self.rules = rules
        self._target = {name_key(p): v for p, v in rules.target_by_program.items()}
        self._link = {name_key(p): v for p, v in rules.expected_link_by_program.items()}
        self._shared: dict[tuple[float, float], ApLimits] = {}

    def for_ap(self, ap: AccessPoint) -> ApLimits:
        program = name_key(ap.program or "")
        target = ap.target_mbps or self._target.get(program, self.rules.target_mbps)
        link = self._link.get(program, self.rules.expected_link_mbps)
        if ap.backhaul_mbps:
            link = min(link, ap.backhaul_mbps)  # provisioned for less: that is what to expect
        key = (target, link)
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = ApLimits(target, link)
        return found


@dataclass(frozen=True, slots=True)
class ApHealth:
    """What evaluation remembers about an AP between cycles, and what it concluded."""

    state: str = UNKNOWN
    since: float = 0.0  # when the AP entered this state (for DOWN: its first missed cycle)
    misses: int = 0  # cycles missed in a row
    goods: int = 0  # cycles answered in a row (counted up to up_after)
    answered: bool | None = None  # did it answer the last cycle
    missing_since: float | None = None  # the first cycle of the current run of misses
    below: int = 0  # the last below_window per-user readings, 1 = under the target, newest in bit 0
    slow: int = 0  # the last max(down_after, up_after) link readings, 1 = under the expected speed
    uplink_degraded: bool = False
    trouble_since: float = 0.0  # when the current cause (if any) began
    changes: tuple[float, ...] = ()  # answered <-> missed changes within flap_minutes (the newest HISTORY_MAX)
    reboots: tuple[float, ...] = ()  # reboots within reboot_loop_hours (the newest HISTORY_MAX)
    clients: int | None = None  # last seen
    link_mbps: float | None = None  # last seen
    capacity_mbps: float | None = None  # last seen
    per_user_mbps: float | None = None  # last seen
    causes: tuple[str, ...] = ()  # in CAUSES order
    ok_since: float | None = None  # the first cycle of the current run of answers with the uplink at speed
    reason_kind: str | None = None  # UNMONITORED, MISCONFIGURED: the PollError's kind (auth, no_address ...)
    reason: str | None = None  # ... and its message

    def same_verdict(self, other: ApHealth) -> bool:
        """Equal but for the last-seen figures (clients, link, capacity, per-user), which move every cycle."""
        return _verdict(self) == _verdict(other)

    @property
    def cause(self) -> str | None:
        return self.causes[0] if self.causes else None

    @property
    def crew_cause(self) -> str | None:
        """The first cause a crew can fix (not below_target or congested)."""
        for cause in self.causes:
            if cause in CREW_CAUSES:
                return cause
        return None

    @property
    def below_target(self) -> bool:
        return "below_target" in self.causes or "congested" in self.causes

    def to_json(self) -> dict[str, object]:
        return {"state": self.state, "since": self.since, "cause": self.cause, "causes": list(self.causes),
                "misses": self.misses, "clients": self.clients, "link_mbps": self.link_mbps,
                "per_user_mbps": self.per_user_mbps, "reboots": len(self.reboots),
                "changes": len(self.changes), "reason_kind": self.reason_kind, "reason": self.reason}


_FIGURES = frozenset({"clients", "link_mbps", "capacity_mbps", "per_user_mbps"})
_verdict = attrgetter(*(name for name in ApHealth.__slots__ if name not in _FIGURES))  # type: ignore[attr-defined]


def _recent(times: tuple[float, ...], since: float) -> tuple[float, ...]:
    if times and times[0] <= since:
        return tuple(t for t in times if t > since)
    return times


def unusable_health(previous: ApHealth | None, state: str, kind: str, message: str, at: float) -> ApHealth:
    """The health of an AP we could not read for a reason no crew can fix (``state`` UNMONITORED or MISCONFIGURED).

    No cause, no misses: its hysteresis and histories start afresh when it answers again. The last-seen
    figures are kept (they say what it was), the reason is the PollError's kind and message.
    """
    reason = message[:REASON_MAX]
    if previous is not None and previous.state == state and previous.reason_kind == kind and previous.reason == reason:
        return previous
    prev = previous if previous is not None else ApHealth()
    return ApHealth(state=state, since=prev.since if prev.state == state else at, clients=prev.clients,
                    link_mbps=prev.link_mbps, capacity_mbps=prev.capacity_mbps, per_user_mbps=prev.per_user_mbps,
                    reason_kind=kind, reason=reason)


def evaluate_ap(previous: ApHealth | None, answered: bool, rate: RateSample | None, at: float,
                limits: ApLimits, rules: EvaluateSettings) -> ApHealth:
    """The AP's health after this cycle (``rate`` is None when it did not answer).

    ``answered`` False is a silent miss (no answer in time): see ``unusable_health`` for the other
    failures. An AP that was UNMONITORED or MISCONFIGURED starts afresh, as if never evaluated.

    A steady healthy AP (up for a while, no cause, nothing moving) that answers healthy again gets
    ``previous`` back, the same object: most of a fleet, most of the time, for a dict lookup and a
    few comparisons. Its last-seen figures then stay those of its last change; the caller keeps
    fresher ones if it needs them (the evaluator keeps the clients, for outages' people affected).
    """
    if (previous is not None and answered and rate is not None and previous.state == UP and not previous.causes
            and not rate.rebooted and previous.misses == 0 and previous.goods >= rules.up_after
            and previous.answered and not previous.changes and not previous.reboots
            and not previous.below and not previous.slow  # no reading under the target or the speed
            and previous.ok_since is not None
            and (rate.link_mbps is None or rate.link_mbps >= limits.expected_link_mbps)
            and (rate.per_user_mbps is None or rate.per_user_mbps >= limits.target_mbps)):
        return previous
    prev = previous if previous is not None and previous.state not in UNUSABLE else ApHealth()
    changes = prev.changes
    if prev.answered is not None and prev.answered != answered:
        changes = (*changes, at)
    # the newest HISTORY_MAX at most: flap_changes and reboot_loop_count (at most 100 each) decide from the
    # newest ones, and the store keeps each history in 2,000 characters however fast an AP flaps
    changes = _recent(changes, at - rules.flap_minutes * 60)[-HISTORY_MAX:]
    reboots = prev.reboots
    if answered and rate is not None and rate.rebooted:
        reboots = (*reboots, at)
    reboots = _recent(reboots, at - rules.reboot_loop_hours * 3600)[-HISTORY_MAX:]

    below, slow = prev.below, prev.slow
    degraded_link = prev.uplink_degraded
    ok_since = None
    clients, link, capacity, per_user = prev.clients, prev.link_mbps, prev.capacity_mbps, prev.per_user_mbps
    if answered:
        misses, goods, missing_since = 0, min(prev.goods + 1, rules.up_after), None
        if rate is not None:
            if rate.clients is not None:
                clients = rate.clients
            link, capacity = rate.link_mbps, rate.capacity_mbps
            if rate.per_user_mbps is not None:
                per_user = rate.per_user_mbps
                window = (1 << rules.below_window) - 1
                below = ((below << 1) | (per_user < limits.target_mbps)) & window
            if link is not None:
                keep = max(rules.down_after, rules.up_after)
                slow = ((slow << 1) | (link < limits.expected_link_mbps)) & ((1 << keep) - 1)
                on, off = (1 << rules.down_after) - 1, (1 << rules.up_after) - 1
                if slow & on == on:  # the bits were shifted in by readings: no count needed
                    degraded_link = True
                elif slow & off == 0:
                    degraded_link = False
        state = DOWN if prev.state == DOWN and goods < rules.up_after else UP
        if rate is None or rate.link_mbps is None or rate.link_mbps >= limits.expected_link_mbps:
            ok_since = prev.ok_since if prev.ok_since is not None else at
    else:
        misses, goods = prev.misses + 1, 0
        missing_since = prev.missing_since if prev.missing_since is not None else at
        state = DOWN if misses >= rules.down_after else prev.state

    causes: list[str] = []
    if len(reboots) >= rules.reboot_loop_count:
        causes.append("reboot_loop")
    if len(changes) >= rules.flap_changes:
        causes.append("flapping")
    if state == DOWN:
        causes.append("offline")
    elif state != UNKNOWN:
        if degraded_link:
            causes.append("uplink_degraded")
        if below.bit_count() >= rules.below_cycles and not degraded_link:
            causes.append("congested" if capacity is not None and capacity >= limits.target_mbps
                          else "below_target")
        if causes:
            state = DEGRADED
    found = tuple(causes)

    if state == prev.state:
        since = prev.since
    elif state == DOWN:
        since = missing_since if missing_since is not None else at
    else:
        since = at
    if not found:
        trouble = 0.0
    elif prev.causes and prev.trouble_since:
        trouble = prev.trouble_since
    else:
        trouble = missing_since if state == DOWN and missing_since is not None else at
    return ApHealth(state, since, misses, goods, answered, missing_since, below, slow,
                    degraded_link, trouble, changes, reboots, clients, link, capacity, per_user, found, ok_since)
