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
  ``offline`` (DOWN),
  ``radio_down`` (a radio seen up on this AP reads down while the AP answers, ``down_after``
  readings in a row; it clears after ``up_after`` readings up: see ``_radio_memory``),
  ``backhaul_degraded`` (the cycle's ping, while the AP answers SNMP, lost more than ``ping_loss_pct``
  or averaged more than ``ping_rtt_ms``, ``down_after`` readings in a row; it clears after ``up_after``
  good readings: see ``ping_reading``),
  ``uplink_degraded`` (the link negotiated below the AP's expected speed in the
  last ``down_after`` readings; it clears after ``up_after`` readings at speed),
  ``rf_limited`` (per_user_mbps under the target with the busiest radio's channel utilisation at
  or above ``rf_busy_pct`` in >= ``below_cycles`` of the last ``below_window`` readings: the air is
  full, more backhaul would not help), else
  ``below_target`` (per_user_mbps under the target in >= ``below_cycles`` of the last
  ``below_window`` readings, and the AP's capacity itself is under the target: a thin backhaul),
  ``congested`` (the same, but the capacity would meet the target: too many clients on a healthy
  link; a planning matter, not a crew's). rf_limited, below_target and congested exclude each other.
  A DOWN AP keeps only reboot_loop, flapping and offline: its last figures are stale.
- **A wireless controller** (``controller=True``) is evaluated with the same hysteresis; its only
  cause is ``controller_unreachable``, when it is DOWN (the NOC's: ``evaluate/outages.py``).
- **An AP whose controller could not be read** (a PollError of kind ``controller``: failure class
  UNKNOWN) is neither missed nor answered: ``held_health`` makes it UNKNOWN with no cause (no
  outage, not in availability, never a crew's) and keeps every count and history of before, so
  when its controller answers again the AP goes on from them: an answer makes it UP, a miss counts
  on from the misses before (an AP that was down is DOWN again at once).

- **Ping beside SNMP** (the cycle pings every AP with an address when ``ping.enabled``): an AP that
  answers ping within ``ping_loss_pct`` but not SNMP for ``down_after`` cycles in a row is
  ``MISCONFIGURED`` with reason kind ``agent_silent`` (``agent_silent_reason``, ``agent_silent_now``): its
  agent or credentials are the NOC's to fix, never DOWN, never a crew's; before that each such cycle is a
  miss like any other (one lost exchange of a healthy AP leaves it UP). One that answers ping with more
  loss than that is a silent miss as before (the loss may be what kept SNMP from answering), and so is
  one that answers neither.

Skipped APs (waiting out their back-off) count as missed: they were down when last tried.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
from hotspotctl.models.health import RadioMemory as RadioMemory
from hotspotctl.models.ping import PingResult
from hotspotctl.models.radios import Radio
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
    figures are kept (they say what it was), and the radios seen up (the AP's, not its state: their
    readings start afresh too); the reason is the PollError's kind and message.
    """
    reason = message[:REASON_MAX]
    if previous is not None and previous.state == state and previous.reason_kind == kind and previous.reason == reason:
        return previous
    prev = previous if previous is not None else ApHealth()
    return ApHealth(state=state, since=prev.since if prev.state == state else at, clients=prev.clients,
                    link_mbps=prev.link_mbps, capacity_mbps=prev.capacity_mbps, per_user_mbps=prev.per_user_mbps,
                    reason_kind=kind, reason=reason, radios=prev.radios)


def held_health(previous: ApHealth | None, kind: PollErrorKind, message: str, at: float) -> ApHealth:
    """The health of an AP whose controller could not be read: UNKNOWN, no cause, the reason said.

    Not a miss and not an answer: every count, history and radio memory is kept as it was, so the
    AP's evaluation resumes from them when its controller answers again. It has no cause meanwhile,
    so it leaves any outage it was in (as an unusable AP does). Once its controller answers, an
    answer makes it UP (it was known to nobody as down meanwhile: no outage opens for one cycle);
    a miss (not joined) counts on from the misses before the hold, so an AP that was down is DOWN
    again at once, since its first missed cycle. ``since`` is when the hold began.
    """
    reason = message[:REASON_MAX]
    prev = previous if previous is not None and previous.state not in UNUSABLE else ApHealth()
    if prev.state == UNKNOWN and prev.reason_kind == kind and prev.reason == reason:
        return prev
    held = prev.state == UNKNOWN and prev.reason_kind == kind
    return replace(prev, state=UNKNOWN, since=prev.since if held else at, causes=(), trouble_since=0.0,
                   ok_since=None, reason_kind=kind, reason=reason)


def _figure(value: float) -> str:
    return f"{round(value, 1):g}"


def agent_silent_reason(ping: PingResult | None, rules: EvaluateSettings) -> str | None:
    """Why an AP whose SNMP was silent this cycle is MISCONFIGURED (kind agent_silent), or None: it is a miss.

    It answered the cycle's ping with no more loss than ``ping_loss_pct``: the device and its backhaul are
    there, its agent or our credentials are not. Not pinged, nothing back, or more loss than that: None
    (the loss may be what kept SNMP from answering; answering neither is a miss as it always was).
    """
    if ping is None or not ping.answered or ping.loss_pct > rules.ping_loss_pct:
        return None
    rtt = f", rtt {_figure(ping.rtt_avg_ms)} ms" if ping.rtt_avg_ms is not None else ""
    return (f"answers ping (loss {_figure(ping.loss_pct)}%{rtt}) but not SNMP: check its SNMP agent and "
            "credentials")


def agent_silent_now(previous: ApHealth | None, rules: EvaluateSettings) -> bool:
    """An AP whose SNMP was silent while it answered ping (``agent_silent_reason``): is it agent_silent now?

    Only once it has been so ``down_after`` cycles in a row (its misses before this one, plus this one), or it
    already is: until then the cycle is a miss like any other, so one lost exchange never takes a healthy AP
    out of availability, wipes its history or wakes the NOC. It never becomes DOWN this way: at the
    ``down_after``-th miss it is MISCONFIGURED instead (it answers ping: the device is there, its agent is not).
    """
    if previous is None:
        return False
    if previous.state == MISCONFIGURED and previous.reason_kind == PollErrorKind.AGENT_SILENT:
        return True
    return previous.state not in UNUSABLE and previous.misses + 1 >= rules.down_after


def ping_reading(ping: PingResult | None, rules: EvaluateSettings) -> bool | None:
    """An answered AP's ping as a backhaul reading: True over a threshold (loss above ``ping_loss_pct`` or
    average rtt above ``ping_rtt_ms``), False good, None no reading.

    No reading: not pinged (ping disabled, no address), nothing could be sent (``error``), or nothing came
    back while SNMP answered: ICMP filtered on the way is no measure of the backhaul.
    """
    if ping is None or ping.error is not None or not ping.answered:
        return None
    return ping.loss_pct > rules.ping_loss_pct or (ping.rtt_avg_ms is not None and ping.rtt_avg_ms > rules.ping_rtt_ms)


def evaluate_ap(previous: ApHealth | None, answered: bool, rate: RateSample | None, at: float,
                limits: ApLimits, rules: EvaluateSettings, radios: tuple[Radio, ...] = (), *,
                controller: bool = False, ping: PingResult | None = None) -> ApHealth:
    """The AP's health after this cycle (``rate`` is None when it did not answer).

    ``radios`` are the radios the AP's answer reported (none: nothing said about them). With
    ``controller`` the device is a wireless controller: its only cause is controller_unreachable.
    ``ping`` is the cycle's ping of the AP (None: not pinged); with an answer, a backhaul reading
    (``ping_reading``, ``_ping_memory``).

    ``answered`` False is a silent miss (no answer in time): see ``unusable_health`` for the other
    failures. An AP that was UNMONITORED or MISCONFIGURED starts afresh, as if never evaluated.

    A steady healthy AP (up for a while, no cause, nothing moving) that answers healthy again gets
    ``previous`` back, the same object: most of a fleet, most of the time, for a dict lookup and a
    few comparisons. Its last-seen figures then stay those of its last change; the caller keeps
    fresher ones if it needs them (the evaluator keeps the clients, for outages' people affected).

    Each rule is its own pure function: ``_still_steady``, ``_flap_changes``, ``_reboots``,
    ``_readings``, ``_radio_memory``, ``_answered_again``, ``_missed_again``, ``_ok_since``, ``_causes``,
    ``_since`` and ``_trouble_since``.
    """
    reading = rate if answered else None  # what a miss says is only that it was missed
    bad = ping_reading(ping, rules) if reading is not None and not controller else None
    if previous is not None and reading is not None and not controller and not bad:
        if _still_steady(previous, reading, limits, rules, radios):
            return previous
        if previous.state == DEGRADED:
            held = _still_troubled(previous, reading, limits, rules, radios, ping)
            if held is not None:
                return held
    if previous is None:
        prev = ApHealth()
    elif previous.state in UNUSABLE:  # afresh, but the radios seen up are the AP's, not its state
        prev = ApHealth(radios=tuple(RadioMemory(r.name, 0, False) for r in previous.radios))
    else:
        prev = previous
    changes = _flap_changes(prev, answered, at, rules)
    reboots = _reboots(prev, reading, at, rules)
    if reading is not None:
        readings = _readings(prev, reading, limits, rules, radios)
        memory = _radio_memory(prev.radios, radios, rules, at) if radios else prev.radios
    else:
        readings, memory = _Readings.of(prev), prev.radios
    ping_bad, backhaul = _ping_memory(prev, bad, rules)
    ping_loss, ping_rtt = prev.ping_loss_pct, prev.ping_rtt_ms
    if reading is not None and ping is not None and ping.answered:
        ping_loss, ping_rtt = ping.loss_pct, ping.rtt_avg_ms
    if answered:
        state, misses, goods, missing_since = _answered_again(prev, rules)
    else:
        state, misses, goods, missing_since = _missed_again(prev, at, rules)
    ok_since = _ok_since(prev, answered, reading, limits, at)
    if controller:
        causes: tuple[Cause, ...] = (Cause.CONTROLLER_UNREACHABLE,) if state == DOWN else ()
    else:
        causes = _causes(state, len(reboots), len(changes), readings, limits, rules,
                         any(radio.down for radio in memory), backhaul)
    if causes and state not in (DOWN, UNKNOWN):
        state = DEGRADED
    return ApHealth(state, _since(prev, state, missing_since, at), misses, goods, answered, missing_since,
                    readings.below, readings.slow, readings.uplink_degraded,
                    _trouble_since(prev, causes, state, missing_since, at), changes, reboots, readings.clients,
                    readings.link_mbps, readings.capacity_mbps, readings.per_user_mbps, causes, ok_since,
                    busy=readings.busy, radios=memory, ping_bad=ping_bad, backhaul_degraded=backhaul,
                    ping_loss_pct=ping_loss, ping_rtt_ms=ping_rtt)


def _ping_memory(prev: ApHealth, bad: bool | None, rules: EvaluateSettings) -> tuple[int, bool]:
    """(ping_bad, backhaul_degraded) after this cycle's reading (None: none, both kept): degraded after
    down_after bad readings in a row, clear after up_after good ones, as the uplink is (``_uplink_degraded``)."""
    if bad is None:
        return prev.ping_bad, prev.backhaul_degraded
    bits = _shift_in(prev.ping_bad, bad, max(rules.down_after, rules.up_after))
    return bits, _uplink_degraded(bits, prev.backhaul_degraded, rules)


def _still_steady(previous: ApHealth, rate: RateSample, limits: ApLimits, rules: EvaluateSettings,
                  radios: tuple[Radio, ...] = ()) -> bool:
    """Up for a while with nothing moving, and this answer healthy too: nothing to evaluate.

    The AP: UP for up_after answers in a row, no cause, no history, no reading under the target or
    the speed, no radio read down. The answer: no reboot, the link at speed, the per-user figure on
    target (either may be missing), and the radios it reports up being exactly those remembered
    (none reported: nothing said). One function, not two: it runs for most of the fleet every cycle.
    """
    return (previous.state == UP and not previous.causes and previous.misses == 0
            and not previous.ping_bad and not previous.backhaul_degraded
            and previous.goods >= rules.up_after and bool(previous.answered)
            and not previous.changes and not previous.reboots and not previous.below and not previous.slow
            and previous.ok_since is not None
            and not rate.rebooted
            and (rate.link_mbps is None or rate.link_mbps >= limits.expected_link_mbps)
            and (rate.per_user_mbps is None or rate.per_user_mbps >= limits.target_mbps)
            and (not radios or _radios_steady(previous.radios, radios)))


def _still_troubled(previous: ApHealth, rate: RateSample, limits: ApLimits, rules: EvaluateSettings,
                    radios: tuple[Radio, ...], ping: PingResult | None) -> ApHealth | None:
    """A DEGRADED AP that stays degraded with nothing moving but its figures, windows and causes: its new
    health, else None (evaluate in full).

    The AP: answering for up_after cycles in a row, no flap or reboot on record, the uplink and the backhaul
    clear (no slow link or bad ping reading kept), its radios as remembered, its trouble dated. The answer: no
    reboot, the link at speed, and its per-user reading (shifted into the ``below`` and ``busy`` windows, as
    the full rules do) still giving a cause. What the full rules would give then: the previous state, since and
    trouble_since with this answer's figures, windows and causes, built at once. A chronically congested AP (a
    site whose users outgrow it for weeks) is most of the troubled part of a fleet, every cycle: 8.8 us of CPU each in
    full, 5-6 this way (issue 19). A hypothesis test runs random sequences through both and compares every
    health, figures included (tests/evaluate/test_radio_health.py)."""
    if not (previous.misses == 0 and previous.goods == rules.up_after and previous.answered is True
            and previous.missing_since is None and not previous.changes and not previous.reboots
            and not previous.slow and not previous.uplink_degraded and not previous.ping_bad
            and not previous.backhaul_degraded and previous.ok_since is not None and previous.trouble_since
            and previous.reason_kind is None and previous.reason is None
            and not rate.rebooted and (rate.link_mbps is None or rate.link_mbps >= limits.expected_link_mbps)
            and (not radios or _radios_steady(previous.radios, radios))):
        return None
    per_user, below, busy = _per_user_reading(previous, rate, limits, rules, radios)  # the windows move on
    clients = rate.clients if rate.clients is not None else previous.clients
    readings = _Readings(clients, rate.link_mbps, rate.capacity_mbps, per_user, below, 0, False, busy)
    causes = _causes(UP, 0, 0, readings, limits, rules, any(radio.down for radio in previous.radios))
    if not causes:  # up again: its state and dates move (other causes keep both, as the full rules do)
        return None
    ping_loss, ping_rtt = previous.ping_loss_pct, previous.ping_rtt_ms
    if ping is not None and ping.answered:
        ping_loss, ping_rtt = ping.loss_pct, ping.rtt_avg_ms
    return ApHealth(DEGRADED, previous.since, 0, previous.goods, True, None, below, 0, False, previous.trouble_since,
                    (), (), clients, rate.link_mbps, rate.capacity_mbps, per_user, causes, previous.ok_since, None,
                    None, busy, previous.radios, 0, False, ping_loss, ping_rtt)


def _radios_steady(memory: tuple[RadioMemory, ...], radios: tuple[Radio, ...]) -> bool:
    """The radios reported up are the ones remembered, in the same order, none with a down reading kept."""
    count = len(memory)
    if count > len(radios):
        return False
    i = 0
    for radio in radios:  # a loop, not a comprehension: most of a fleet, every cycle
        if radio.oper_up:
            if i == count:
                return False
            kept = memory[i]
            if kept.name != radio.name or kept.down_bits:
                return False
            i += 1
    return i == count


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
    busy: int = 0  # bits aligned with below: under the target with the busiest radio at or above rf_busy_pct

    @classmethod
    def of(cls, health: ApHealth) -> _Readings:
        """As they were: no new reading this cycle."""
        return cls(health.clients, health.link_mbps, health.capacity_mbps, health.per_user_mbps, health.below,
                   health.slow, health.uplink_degraded, health.busy)


def busiest_pct(radios: tuple[Radio, ...]) -> float | None:
    """The highest channel utilisation among the radios that state one, else None."""
    said = [radio.utilization_pct for radio in radios if radio.utilization_pct is not None]
    return max(said) if said else None


def _readings(prev: ApHealth, rate: RateSample, limits: ApLimits, rules: EvaluateSettings,
              radios: tuple[Radio, ...] = ()) -> _Readings:
    """The figures of an answer: a reading missing (no clients, no per-user figure) keeps the last one seen.

    A per-user reading shifts in a ``below`` bit and, beside it, a ``busy`` bit: under the target
    while the busiest radio's utilisation is at least rf_busy_pct (no radio stating one: not busy).
    """
    clients = rate.clients if rate.clients is not None else prev.clients
    per_user, below, busy = _per_user_reading(prev, rate, limits, rules, radios)
    slow, degraded = prev.slow, prev.uplink_degraded
    if rate.link_mbps is not None:
        keep = max(rules.down_after, rules.up_after)
        slow = _shift_in(slow, rate.link_mbps < limits.expected_link_mbps, keep)
        degraded = _uplink_degraded(slow, degraded, rules)
    return _Readings(clients, rate.link_mbps, rate.capacity_mbps, per_user, below, slow, degraded, busy)


def _per_user_reading(prev: ApHealth, rate: RateSample, limits: ApLimits, rules: EvaluateSettings,
                      radios: tuple[Radio, ...]) -> tuple[float | None, int, int]:
    """(per_user_mbps, below, busy) after an answer: its per-user reading shifts in a ``below`` bit and, beside
    it, a ``busy`` bit; an answer without one keeps the last reading and both windows as they were."""
    if rate.per_user_mbps is None:
        return prev.per_user_mbps, prev.below, prev.busy
    per_user = rate.per_user_mbps
    under = per_user < limits.target_mbps
    below = _shift_in(prev.below, under, rules.below_window)
    if under:
        air = busiest_pct(radios)
        under = air is not None and air >= rules.rf_busy_pct
    return per_user, below, _shift_in(prev.busy, under, rules.below_window)


def _radio_memory(memory: tuple[RadioMemory, ...], radios: tuple[Radio, ...],
                  rules: EvaluateSettings, at: float) -> tuple[RadioMemory, ...]:
    """The radios remembered after the answer of ``at`` that reported ``radios`` (at least one).

    - A radio read up is remembered (from the first time it is seen up) and shifts in an up reading.
    - A remembered radio read down shifts in a down reading; a radio never seen up and read down
      is disabled by design (a band the operator switched off): ignored, never remembered.
    - A radio whose status is not said (oper_up None) keeps its readings as they were.
    - A remembered radio missing from the answer reads as not down, and is forgotten once it has no
      down reading left (the device no longer has it: nothing for a crew to fix).
    It is down (radio_down) after down_after down readings in a row, and up again after up_after up
    readings in a row, as the uplink is (``_uplink_degraded``). While it is held down, ``up_since`` is the
    first of its current run of readings not down: its return, which ends the outage (``returned_at``).
    """
    keep = max(rules.down_after, rules.up_after)
    by_name = {radio.name: radio for radio in radios}
    kept: list[RadioMemory] = []
    known = set()
    moved = False  # a radio forgotten, changed or new: else the memory is kept as it is
    for radio in memory:
        known.add(radio.name)
        said = by_name.get(radio.name)
        if said is not None and said.oper_up is None:
            kept.append(radio)
            continue
        read_down = said is not None and said.oper_up is False
        bits = _shift_in(radio.down_bits, read_down, keep)
        if said is None and not bits:
            moved = True
            continue  # gone, with nothing against it
        down = _uplink_degraded(bits, radio.down, rules)
        up_since = None if read_down or not down else radio.up_since if radio.up_since is not None else at
        if bits == radio.down_bits and down == radio.down and up_since == radio.up_since:
            kept.append(radio)  # as it was: the same memory, not a new one every AP every cycle
        else:
            moved = True
            kept.append(RadioMemory(radio.name, bits, down, up_since))
    for new in radios:
        if new.oper_up and new.name not in known:
            known.add(new.name)
            moved = True
            kept.append(RadioMemory(new.name, 0, False))
    # nothing moved: the same tuple (long-lived objects made every cycle fragmented the poller's heap)
    return tuple(kept) if moved else memory


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
            rules: EvaluateSettings, radio_down: bool = False, backhaul: bool = False) -> tuple[Cause, ...]:
    """The AP's causes in CAUSES order; a DOWN AP keeps only reboot_loop, flapping and offline.

    Below the target, one of three: rf_limited when the air was busy in below_cycles of the
    readings, else congested (the capacity would meet the target) or below_target; none of them
    when the uplink is degraded (that explains it).
    """
    causes: list[Cause] = []
    if reboots >= rules.reboot_loop_count:
        causes.append(Cause.REBOOT_LOOP)
    if changes >= rules.flap_changes:
        causes.append(Cause.FLAPPING)
    if state == DOWN:
        causes.append(Cause.OFFLINE)
    elif state != UNKNOWN:
        if radio_down:
            causes.append(Cause.RADIO_DOWN)
        if backhaul:
            causes.append(Cause.BACKHAUL_DEGRADED)
        if readings.uplink_degraded:
            causes.append(Cause.UPLINK_DEGRADED)
        elif readings.below.bit_count() >= rules.below_cycles:
            capacity = readings.capacity_mbps
            if readings.busy.bit_count() >= rules.below_cycles:
                causes.append(Cause.RF_LIMITED)
            else:
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
