"""Interface counters to rates, correct on what real access points do.

One call per AP per poll cycle: ``compute_rates(sample, previous)`` turns the raw octet counters of
the uplink into bits per second over the interval since the last good sample, and returns the
``CounterState`` to remember (in the database) for the next cycle.

What real devices (and hosts) do, and how it is handled:

* The interval is the poller's monotonic clock (``Sample.mono``), never the wall clock nor the
  device's uptime: NTP or an operator may step the wall clock, agents answer late, uptimes roll
  over and restart, device clocks drift. A monotonic reading is comparable with the stored one only
  on the same clock (``Sample.clock``: the kernel's boot id); when the stored reading is from
  another boot, or missing (state written before monotonic readings were kept), the interval is
  the wall-clock difference (``Sample.at``), taken only when it is positive and at most
  ``MAX_WALL_INTERVAL_S``. Points keep their wall-clock timestamps.
* Uptime sources are compared only when present in both samples. ``hrSystemUptime`` (host uptime)
  is the primary; ``sysUpTime`` is the SNMP agent's uptime and restarts with the agent;
  ``snmpEngineTime`` (seconds) is a cross-check. A source restarted when it advanced less than the
  interval (beyond a tolerance of max(10 %, 10 s)), whether its new value is lower or higher than
  the old one: an AP polled at uptime 1,000 s that has been up 1,500 s when polled 2,000 s later
  rebooted. TimeTicks are 32-bit and roll over after ~497 days: an advance that matches the
  interval modulo 2^32 is a rollover, not a restart.
* A reboot gives no rate for its interval (the counters restarted from an unknown point). When the
  only clocks that restarted are the agent's own (sysUpTime, and snmpEngineTime if present), the
  counters tell a reboot from an agent restart: counters that went on from where they were, by no
  more than the link carries in the interval, and that are higher than a counter restarted in the
  interval could be, are an agent restart, and the rate is computed.
* Counter32 wraps at 2^32 (under a minute at 1 Gb/s): one wrap per interval is undone when the
  implied rate is plausible. When the link could have carried another 2^32 octets in the interval
  (at 1.1 x its speed, or ``UNKNOWN_LINK_MBPS`` when the speed is not known), the delta is
  ambiguous: no rate, a ``wrap_ambiguous`` event. A Counter64 going back is a discontinuity.
* A rate above ``MAX_RATE_FACTOR`` times the link speed is a glitch and is discarded.
* The counters are those of one interface (``Sample.uplink``): a sample of another interface (a
  rediscovery picked another uplink) starts a new baseline, with no rate.

Pure functions: no I/O, no clock of their own; time comes from the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotspotctl.collectors.model import Sample
from hotspotctl.models.polling import CounterState as CounterState  # a record the store keeps: models/, named here too
from hotspotctl.models.records import fast_init

TICKS_WRAP = 2**32  # sysUpTime / hrSystemUptime are 32-bit TimeTicks (1/100 s): roll over after ~497 days
COUNTER32_WRAP = 2**32
TICKS_PER_S = 100
MAX_RATE_FACTOR = 1.1
ROLLOVER_TOLERANCE = 0.10  # of the ticks the interval predicts...
ROLLOVER_TOLERANCE_MIN_TICKS = 1000  # ...but never less than 10 s
# What a link whose speed the device does not give is taken to carry at most, by counter width:
# RFC 2863 (3.1.6) requires 64-bit octet counters on interfaces faster than 20 Mb/s, so a device
# with only Counter32s should run at most Fast Ethernet; Counter64 links, 10 Gb/s.
UNKNOWN_LINK_MBPS = {32: 100.0, 64: 10_000.0}
# The longest wall-clock difference taken as an interval (when no monotonic reading applies):
# longer is a clock that was wrong (a host that booted in 1970, before NTP), not a gap.
MAX_WALL_INTERVAL_S = 30 * 86_400.0

EVENTS = (
    "first_sample",
    "reboot",
    "uptime_rollover",
    "agent_restart",
    "uplink_changed",
    "wrap_in",
    "wrap_out",
    "wrap_ambiguous",
    "discontinuity",
    "over_speed",
    "counter_width_changed",
    "clock_skew",
)

_RESTARTED = -1  # a source's change: this, or the number of 2^32 rollovers (0 for a plain advance)
_HALF_WRAP_TICKS = TICKS_WRAP // 2


@fast_init
@dataclass(frozen=True, slots=True)
class RateSample:
    """One AP's rates over one interval, with what happened on the device during it."""

    ap: str
    at: float
    interval_s: float | None  # seconds since the previous good sample; None without one (first sample, clock skew)
    uptime_s: float | None  # hr_uptime if present, else sys_uptime, else engine_time; ticks/100 + wraps*2^32/100
    in_bps: float | None  # uplink, bits/s; None when no valid rate this interval
    out_bps: float | None
    clients: int | None
    link_mbps: float | None
    capacity_mbps: float | None  # min(link_mbps, backhaul_mbps) over those known
    per_user_mbps: float | None  # capacity_mbps / max(clients, 1), only in an interval with both rates
    delivered_per_user_mbps: float | None  # (in_bps + out_bps) / clients / 1e6 when clients > 0 and both rates
    rebooted: bool
    events: tuple[str, ...]  # from EVENTS, in EVENTS order


def compute_rates(
    sample: Sample, previous: CounterState | None, *, backhaul_mbps: float | None = None
) -> tuple[RateSample, CounterState]:
    """The rates of ``sample`` against ``previous``, and the state to keep for the next cycle.

    The new state carries the sample's raw values, so any discontinuity resynchronises on the next
    cycle. The one exception is clock skew (the sample is not after ``previous`` on the clock
    they share): the sample cannot be placed in time, so ``previous`` is returned unchanged and the
    next good sample is computed against it. A sample that cannot be placed against a ``previous``
    on another clock, but has a monotonic reading of its own, starts a new baseline instead.
    """
    capacity = _capacity(sample.link_mbps, backhaul_mbps)
    if previous is None:
        uptime = _uptime_s(sample, 0)
        return _result(sample, None, uptime, None, None, capacity, False, {"first_sample"}), _state(sample, 0)

    mono, clock = sample.mono, sample.clock
    if mono is not None and clock is not None and previous.mono is not None and clock == previous.clock:
        elapsed = mono - previous.mono
        placed = elapsed > 0
        keep = True
    else:  # another boot, or no monotonic reading: the wall clock, guarded
        elapsed = sample.at - previous.at
        placed = 0 < elapsed <= MAX_WALL_INTERVAL_S  # also False for NaN
        keep = mono is None and not elapsed > 0
    if not placed:
        wraps = previous.uptime_wraps if _uptime_source(previous) == _uptime_source(sample) else 0
        uptime = _uptime_s(sample, wraps)
        result = _result(sample, None, uptime, None, None, capacity, False, {"clock_skew"})
        return result, previous if keep else _state(sample, wraps)

    events: set[str] = set()
    rebooted, wraps = _check_uptime(sample, previous, elapsed, events)
    in_bps: float | None = None
    out_bps: float | None = None
    if rebooted:
        events.add("reboot")
    elif _uplink_changed(sample, previous):
        events.add("uplink_changed")
    elif _width_changed(sample, previous):
        events.add("counter_width_changed")
    else:
        limit_bps = _limit_bps(sample.link_mbps)
        bits = sample.counter_bits
        most_32: float | None = None  # octets the link could carry in the interval, for Counter32s
        if bits == 32:
            most_32 = (limit_bps or MAX_RATE_FACTOR * UNKNOWN_LINK_MBPS[32] * 1e6) * elapsed / 8
        in_bps = _direction_rate(previous.in_octets, sample.in_octets, bits, elapsed, limit_bps, most_32,
                                 "wrap_in", events)
        out_bps = _direction_rate(previous.out_octets, sample.out_octets, bits, elapsed, limit_bps, most_32,
                                  "wrap_out", events)

    result = _result(sample, elapsed, _uptime_s(sample, wraps), in_bps, out_bps, capacity, rebooted, events)
    return result, _state(sample, wraps)


def _ticks_change(old: int, new: int, expected: float, tolerance: float) -> int:
    """How a 32-bit TimeTicks source moved over an interval that predicts ``expected`` ticks.

    The number of 2^32 rollovers when its advance (modulo 2^32, plus whole rollovers) matches the
    prediction within ``tolerance``, or ``_RESTARTED``. An advance short of the prediction is a
    restart whatever the order of the values; one beyond it without a step back is taken (a device
    clock running fast, an answer that was late last time). Stated symmetrically around the
    prediction, so a device clock slightly ahead of the poller at the boundary still reads as a
    rollover.
    """
    forward = new - old
    if forward < 0:
        forward += TICKS_WRAP
    whole = 0
    if expected >= _HALF_WRAP_TICKS:  # an interval long enough for rollovers the values cannot show
        whole = max(0, round((expected - forward) / TICKS_WRAP))
    advance = forward + whole * TICKS_WRAP
    if advance < expected - tolerance:
        return _RESTARTED
    if advance > expected + tolerance and (new < old or whole):
        return _RESTARTED  # went back, by more than a rollover explains
    return whole + (new < old)


def _check_uptime(sample: Sample, previous: CounterState, elapsed: float, events: set[str]) -> tuple[bool, int]:
    """Whether the device rebooted, and the new rollover count; adds uptime events to ``events``.

    Only sources present in both samples are compared. The device rebooted when: hr_uptime is
    compared and restarted; else sys_uptime restarted, engine_time did not contradict it (absent,
    or also restarted) and the counters did not go on (``_counters_continued``); else engine_time,
    the only source, restarted. Without a reboot, a restart of sys_uptime or engine_time is an
    agent restart.
    """
    expected = elapsed * TICKS_PER_S
    tolerance = ROLLOVER_TOLERANCE * expected
    if tolerance < ROLLOVER_TOLERANCE_MIN_TICKS:
        tolerance = ROLLOVER_TOLERANCE_MIN_TICKS
    hr = sys = engine = None
    old, new = previous.hr_uptime, sample.hr_uptime
    if old is not None and new is not None:
        hr = _ticks_change(old, new, expected, tolerance)
    old, new = previous.sys_uptime, sample.sys_uptime
    if old is not None and new is not None:
        sys = _ticks_change(old, new, expected, tolerance)
    old, new = previous.engine_time, sample.engine_time
    if old is not None and new is not None:  # seconds since the agent's engine started: no rollover
        engine = _RESTARTED if new < old or (new - old) * TICKS_PER_S < expected - tolerance else 0

    if hr is not None:
        if hr == _RESTARTED:
            return True, 0
    elif sys is not None:
        if sys == _RESTARTED and engine in (None, _RESTARTED) and not _counters_continued(sample, previous, elapsed):
            return True, 0
    elif engine == _RESTARTED:
        return True, 0

    if (hr is not None and hr > 0) or (sys is not None and sys > 0):
        events.add("uptime_rollover")
    if sys == _RESTARTED or engine == _RESTARTED:
        events.add("agent_restart")

    source = _uptime_source(sample)
    if source == "hr_uptime":
        change = hr
    elif source == "sys_uptime":
        change = sys
    else:
        return False, 0  # seconds never roll over
    if change is None or source != _uptime_source(previous):
        return False, 0  # a new primary source starts its own count
    if change == _RESTARTED:
        return False, 0  # the agent's own uptime restarted: earlier rollovers no longer apply
    return False, previous.uptime_wraps + change


def _counters_continued(sample: Sample, previous: CounterState, elapsed: float) -> bool:
    """The uplink's counters went on from where they were: the device did not reboot.

    Every direction with a counter in both samples advanced, without a wrap, by no more than the
    link carries in the interval, and at least one is higher than a counter restarted within the
    interval could be (the same bound). At 1.1 x the link speed, or ``UNKNOWN_LINK_MBPS``.
    """
    bits = sample.counter_bits
    if bits != previous.counter_bits or _uplink_changed(sample, previous):
        return False
    link = sample.link_mbps
    if link is None or not link > 0:
        link = UNKNOWN_LINK_MBPS.get(bits, UNKNOWN_LINK_MBPS[64])
    most = MAX_RATE_FACTOR * link * 1e6 * elapsed / 8
    proven = False
    for old, new in ((previous.in_octets, sample.in_octets), (previous.out_octets, sample.out_octets)):
        if old is None or new is None:
            continue
        if new < old or new - old > most:
            return False
        proven = proven or new > most
    return proven


def _uptime_source(values: Sample | CounterState) -> str:
    if values.hr_uptime is not None:
        return "hr_uptime"
    if values.sys_uptime is not None:
        return "sys_uptime"
    if values.engine_time is not None:
        return "engine_time"
    return ""


def _uptime_s(sample: Sample, wraps: int) -> float | None:
    if sample.hr_uptime is not None:
        return (sample.hr_uptime + wraps * TICKS_WRAP) / TICKS_PER_S
    if sample.sys_uptime is not None:
        return (sample.sys_uptime + wraps * TICKS_WRAP) / TICKS_PER_S
    if sample.engine_time is not None:
        return float(sample.engine_time)
    return None


def _uplink_changed(sample: Sample, previous: CounterState) -> bool:
    """The counters are another interface's. Unknown on either side (state from before the
    uplink was kept, a sample without counters) is not a change."""
    new, old = sample.uplink, previous.uplink
    return new is not None and old is not None and new != old


def _width_changed(sample: Sample, previous: CounterState) -> bool:
    """The counter width changed, where it matters: a direction with a counter in both samples."""
    if sample.counter_bits == previous.counter_bits:
        return False
    pairs = ((previous.in_octets, sample.in_octets), (previous.out_octets, sample.out_octets))
    return any(old is not None and new is not None for old, new in pairs)


def _limit_bps(link_mbps: float | None) -> float | None:
    if link_mbps is None or not link_mbps > 0:
        return None
    return MAX_RATE_FACTOR * link_mbps * 1e6


def _direction_rate(
    old: int | None, new: int | None, bits: int, elapsed: float, limit_bps: float | None, most_32: float | None,
    wrap_event: str, events: set[str],
) -> float | None:
    """One direction's rate in bits/s, or None; adds wrap / ambiguity / discontinuity / over_speed to ``events``.

    ``most_32``: for a Counter32, the octets the link could carry in the interval; when the delta
    plus another 2^32 still fits, the counter may have wrapped once more than it shows: no rate.
    """
    if old is None or new is None:
        return None
    delta = new - old
    wrapped = delta < 0
    if wrapped:
        delta += COUNTER32_WRAP
        if bits != 32 or delta < 0:
            events.add("discontinuity")
            return None
    rate = delta * 8 / elapsed
    if limit_bps is not None and rate > limit_bps:
        events.add("discontinuity" if wrapped else "over_speed")  # a wrap this fast is a reset or a glitch
        return None
    if most_32 is not None and delta + COUNTER32_WRAP <= most_32:
        events.add("wrap_ambiguous")
        return None
    if wrapped:
        events.add(wrap_event)
    return rate


def _capacity(link_mbps: float | None, backhaul_mbps: float | None) -> float | None:
    if link_mbps is None:
        return backhaul_mbps
    if backhaul_mbps is None:
        return link_mbps
    return min(link_mbps, backhaul_mbps)


def _state(sample: Sample, wraps: int) -> CounterState:
    # positional, in CounterState's field order (at, sys_uptime, hr_uptime, engine_time, in_octets, out_octets,
    # counter_bits, uptime_wraps, mono, clock, uplink): once per AP per cycle, keywords cost a third more
    return CounterState(sample.at, sample.sys_uptime, sample.hr_uptime, sample.engine_time, sample.in_octets,
                        sample.out_octets, sample.counter_bits, wraps, sample.mono, sample.clock, sample.uplink)


def _result(
    sample: Sample, interval_s: float | None, uptime_s: float | None, in_bps: float | None, out_bps: float | None,
    capacity_mbps: float | None, rebooted: bool, events: set[str],
) -> RateSample:
    clients = sample.clients
    per_user: float | None = None
    delivered: float | None = None
    if in_bps is not None and out_bps is not None and clients is not None:
        if capacity_mbps is not None:
            per_user = capacity_mbps / max(clients, 1)
        if clients > 0:
            delivered = (in_bps + out_bps) / clients / 1e6
    # positional, in RateSample's field order (ap, at, interval_s, uptime_s, in_bps, out_bps, clients, link_mbps,
    # capacity_mbps, per_user_mbps, delivered_per_user_mbps, rebooted, events), as in ``_state``
    return RateSample(sample.ap, sample.at, interval_s, uptime_s, in_bps, out_bps, clients, sample.link_mbps,
                      capacity_mbps, per_user, delivered, rebooted,
                      tuple(event for event in EVENTS if event in events) if events else ())
