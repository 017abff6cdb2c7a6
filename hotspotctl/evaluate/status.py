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
from typing import NamedTuple

from hotspotctl.errors import PollErrorKind
from hotspotctl.evaluate.rates import RateSample
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.models.health import CAUSES as CAUSES  # records the store keeps: models/, named here too
from hotspotctl.models.health import CREW_CAUSES as CREW_CAUSES
from hotspotctl.models.health import DEGRADED as DEGRADED
from hotspotctl.models.health import DOWN as DOWN
from hotspotctl.models.health import HISTORY_MAX as HISTORY_MAX
from hotspotctl.models.health import MISCONFIGURED as MISCONFIGURED
from hotspotctl.models.health import REASON_MAX as REASON_MAX
from hotspotctl.models.health import STATES as STATES
from hotspotctl.models.health import UNKNOWN as UNKNOWN
from hotspotctl.models.health import UNMONITORED as UNMONITORED
from hotspotctl.models.health import UNUSABLE as UNUSABLE
from hotspotctl.models.health import UP as UP
from hotspotctl.models.health import ApHealth as ApHealth
from hotspotctl.models.health import Cause as Cause
from hotspotctl.models.health import HealthState as HealthState
from hotspotctl.names import name_key
from hotspotctl.settings import EvaluateSettings


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


def _recent(times: tuple[float, ...], since: float) -> tuple[float, ...]:
    if times and times[0] <= since:
        return tuple(t for t in times if t > since)
    return times


def unusable_health(previous: ApHealth | None, state: HealthState, kind: PollErrorKind, message: str,
                    at: float) -> ApHealth:
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

    Each rule is its own pure function: ``_still_steady``, ``_flap_changes``, ``_reboots``,
    ``_readings``, ``_answered_again``, ``_missed_again``, ``_ok_since``, ``_causes``, ``_since`` and
    ``_trouble_since``.
    """
    reading = rate if answered else None  # what a miss says is only that it was missed
    if previous is not None and reading is not None and _still_steady(previous, reading, limits, rules):
        return previous
    prev = previous if previous is not None and previous.state not in UNUSABLE else ApHealth()
    changes = _flap_changes(prev, answered, at, rules)
    reboots = _reboots(prev, reading, at, rules)
    readings = _readings(prev, reading, limits, rules) if reading is not None else _Readings.of(prev)
    if answered:
        state, misses, goods, missing_since = _answered_again(prev, rules)
    else:
        state, misses, goods, missing_since = _missed_again(prev, at, rules)
    ok_since = _ok_since(prev, answered, reading, limits, at)
    causes = _causes(state, len(reboots), len(changes), readings, limits, rules)
    if causes and state not in (DOWN, UNKNOWN):
        state = DEGRADED
    return ApHealth(state, _since(prev, state, missing_since, at), misses, goods, answered, missing_since,
                    readings.below, readings.slow, readings.uplink_degraded,
                    _trouble_since(prev, causes, state, missing_since, at), changes, reboots, readings.clients,
                    readings.link_mbps, readings.capacity_mbps, readings.per_user_mbps, causes, ok_since)


def _still_steady(previous: ApHealth, rate: RateSample, limits: ApLimits, rules: EvaluateSettings) -> bool:
    """Up for a while with nothing moving, and this answer healthy too: nothing to evaluate.

    The AP: UP for up_after answers in a row, no cause, no history, no reading under the target or
    the speed. The answer: no reboot, the link at speed, the per-user figure on target (either may
    be missing). One function, not two: it runs for most of the fleet every cycle.
    """
    return (previous.state == UP and not previous.causes and previous.misses == 0
            and previous.goods >= rules.up_after and bool(previous.answered)
            and not previous.changes and not previous.reboots and not previous.below and not previous.slow
            and previous.ok_since is not None
            and not rate.rebooted
            and (rate.link_mbps is None or rate.link_mbps >= limits.expected_link_mbps)
            and (rate.per_user_mbps is None or rate.per_user_mbps >= limits.target_mbps))


def _flap_changes(prev: ApHealth, answered: bool, at: float, rules: EvaluateSettings) -> tuple[float, ...]:
    """The answered <-> missed changes within flap_minutes, this cycle's included (the newest HISTORY_MAX).

    flap_changes and reboot_loop_count (at most 100 each) decide from the newest ones, and the store
    keeps each history in 2,000 characters however fast an AP flaps.
    """
    changes = prev.changes
    if prev.answered is not None and prev.answered != answered:
        changes = (*changes, at)
    return _recent(changes, at - rules.flap_minutes * 60)[-HISTORY_MAX:]


def _reboots(prev: ApHealth, rate: RateSample | None, at: float, rules: EvaluateSettings) -> tuple[float, ...]:
    """The reboots within reboot_loop_hours, this cycle's included (``rate``: None unless it answered)."""
    reboots = prev.reboots
    if rate is not None and rate.rebooted:
        reboots = (*reboots, at)
    return _recent(reboots, at - rules.reboot_loop_hours * 3600)[-HISTORY_MAX:]


class _Readings(NamedTuple):  # a tuple: built for every AP that changes, where a frozen dataclass costs 1 us
    """The last-seen figures, and the recent readings under the target or the expected link speed."""

    clients: int | None
    link_mbps: float | None
    capacity_mbps: float | None
    per_user_mbps: float | None
    below: int  # bits: per-user readings under the target, newest in bit 0
    slow: int  # bits: link readings under the expected speed, newest in bit 0
    uplink_degraded: bool

    @classmethod
    def of(cls, health: ApHealth) -> _Readings:
        """As they were: no new reading this cycle."""
        return cls(health.clients, health.link_mbps, health.capacity_mbps, health.per_user_mbps, health.below,
                   health.slow, health.uplink_degraded)


def _readings(prev: ApHealth, rate: RateSample, limits: ApLimits, rules: EvaluateSettings) -> _Readings:
    """The figures of an answer: a reading missing (no clients, no per-user figure) keeps the last one seen."""
    clients = rate.clients if rate.clients is not None else prev.clients
    per_user, below = prev.per_user_mbps, prev.below
    if rate.per_user_mbps is not None:
        per_user = rate.per_user_mbps
        below = _shift_in(below, per_user < limits.target_mbps, rules.below_window)
    slow, degraded = prev.slow, prev.uplink_degraded
    if rate.link_mbps is not None:
        keep = max(rules.down_after, rules.up_after)
        slow = _shift_in(slow, rate.link_mbps < limits.expected_link_mbps, keep)
        degraded = _uplink_degraded(slow, degraded, rules)
    return _Readings(clients, rate.link_mbps, rate.capacity_mbps, per_user, below, slow, degraded)


def _shift_in(bits: int, bit: bool, keep: int) -> int:
    """``bits`` with ``bit`` shifted in as the newest (bit 0), keeping the newest ``keep``."""
    return ((bits << 1) | bit) & ((1 << keep) - 1)


def _uplink_degraded(slow: int, was: bool, rules: EvaluateSettings) -> bool:
    """Degraded after down_after slow link readings in a row, clear after up_after at speed in a row."""
    on, off = (1 << rules.down_after) - 1, (1 << rules.up_after) - 1
    if slow & on == on:  # the bits were shifted in by readings: no count needed
        return True
    if slow & off == 0:
        return False
    return was


def _answered_again(prev: ApHealth, rules: EvaluateSettings) -> tuple[HealthState, int, int, float | None]:
    """(state, misses, goods, missing_since) after an answer: a DOWN AP is up again after up_after in a row."""
    goods = min(prev.goods + 1, rules.up_after)
    state = DOWN if prev.state == DOWN and goods < rules.up_after else UP
    return state, 0, goods, None


def _missed_again(prev: ApHealth, at: float,
                  rules: EvaluateSettings) -> tuple[HealthState, int, int, float | None]:
    """(state, misses, goods, missing_since) after a miss: DOWN after down_after in a row."""
    misses = prev.misses + 1
    missing_since = prev.missing_since if prev.missing_since is not None else at
    state = DOWN if misses >= rules.down_after else prev.state
    return state, misses, 0, missing_since


def _ok_since(prev: ApHealth, answered: bool, rate: RateSample | None, limits: ApLimits, at: float) -> float | None:
    """The first cycle of the current run of answers with the uplink at speed (no link figure counts as at speed)."""
    at_speed = rate is None or rate.link_mbps is None or rate.link_mbps >= limits.expected_link_mbps
    if not (answered and at_speed):
        return None
    return prev.ok_since if prev.ok_since is not None else at


def _causes(state: HealthState, reboots: int, changes: int, readings: _Readings, limits: ApLimits,
            rules: EvaluateSettings) -> tuple[Cause, ...]:
    """The AP's causes in CAUSES order; a DOWN AP keeps only reboot_loop, flapping and offline."""
    causes: list[Cause] = []
    if reboots >= rules.reboot_loop_count:
        causes.append(Cause.REBOOT_LOOP)
    if changes >= rules.flap_changes:
        causes.append(Cause.FLAPPING)
    if state == DOWN:
        causes.append(Cause.OFFLINE)
    elif state != UNKNOWN:
        if readings.uplink_degraded:
            causes.append(Cause.UPLINK_DEGRADED)
        elif readings.below.bit_count() >= rules.below_cycles:
            capacity = readings.capacity_mbps
            causes.append(Cause.CONGESTED if capacity is not None and capacity >= limits.target_mbps
                          else Cause.BELOW_TARGET)
    return tuple(causes)


def _since(prev: ApHealth, state: HealthState, missing_since: float | None, at: float) -> float:
    """When the AP entered ``state``: for DOWN, its first missed cycle."""
    if state == prev.state:
        return prev.since
    if state == DOWN:
        return missing_since if missing_since is not None else at
    return at


def _trouble_since(prev: ApHealth, causes: tuple[Cause, ...], state: HealthState, missing_since: float | None,
                   at: float) -> float:
    """When the current trouble began: kept while there is a cause; 0 without one."""
    if not causes:
        return 0.0
    if prev.causes and prev.trouble_since:
        return prev.trouble_since
    return missing_since if state == DOWN and missing_since is not None else at
