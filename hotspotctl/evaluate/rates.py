"""Interface counters to rates, correct on what real access points do.

One call per AP per poll cycle: ``compute_rates(sample, previous)`` turns the raw octet counters of
the uplink into bits per second over the interval since the last good sample, and returns the
``CounterState`` to remember (in the database) for the next cycle.

What real devices do, and how it is handled:

* The interval is always the poller's clock (``Sample.at``), never the device's uptime: agents
  answer late, uptimes roll over and restart, device clocks drift.
* Uptime sources are compared only when present in both samples. ``hrSystemUptime`` (host uptime)
  is the primary; ``sysUpTime`` is the SNMP agent's uptime and restarts with the agent;
  ``snmpEngineTime`` (seconds) is a cross-check. TimeTicks are 32-bit and roll over after ~497 days:
  a source that went back by what the elapsed time predicts for a rollover is a rollover, not a
  reboot.
* A reboot gives no rate for its interval (the counters restarted from an unknown point).
* Counter32 wraps at 2^32 (under a minute at 1 Gb/s): one wrap per interval is undone when the
  implied rate is plausible. A Counter64 going back is a discontinuity, never a wrap.
* A rate above ``MAX_RATE_FACTOR`` times the link speed is a glitch and is discarded.

Pure functions: no I/O, no clock; time comes from ``Sample.at``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotspotctl.collectors.model import Sample

TICKS_WRAP = 2**32  # sysUpTime / hrSystemUptime are 32-bit TimeTicks (1/100 s): roll over after ~497 days
COUNTER32_WRAP = 2**32
TICKS_PER_S = 100
MAX_RATE_FACTOR = 1.1
ROLLOVER_TOLERANCE = 0.10  # of the ticks the elapsed time predicts...
ROLLOVER_TOLERANCE_MIN_TICKS = 1000  # ...but never less than 10 s

EVENTS = (
    "first_sample",
    "reboot",
    "uptime_rollover",
    "agent_restart",
    "wrap_in",
    "wrap_out",
    "discontinuity",
    "over_speed",
    "counter_width_changed",
    "clock_skew",
)

_ADVANCED = "advanced"
_ROLLOVER = "rollover"
_BACK = "back"


@dataclass(frozen=True, slots=True)
class CounterState:
    """What must be remembered about an AP between cycles (it is stored in the database)."""

    at: float  # Sample.at of the last good sample
    sys_uptime: int | None
    hr_uptime: int | None
    engine_time: int | None
    in_octets: int | None
    out_octets: int | None
    counter_bits: int
    uptime_wraps: int = 0  # 2^32 rollovers of the primary ticks source seen, so uptime_s keeps growing


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
    cycle. The one exception is clock skew (``sample.at`` not after ``previous.at``): the sample
    cannot be placed in time, so ``previous`` is returned unchanged and the next good sample is
    computed against it.
    """
    capacity = _capacity(sample.link_mbps, backhaul_mbps)
    if previous is None:
        uptime = _uptime_s(sample, 0)
        return _result(sample, None, uptime, None, None, capacity, False, {"first_sample"}), _state(sample, 0)

    elapsed = sample.at - previous.at
    if not elapsed > 0:  # also catches NaN
        wraps = previous.uptime_wraps if _uptime_source(previous) == _uptime_source(sample) else 0
        uptime = _uptime_s(sample, wraps)
        return _result(sample, None, uptime, None, None, capacity, False, {"clock_skew"}), previous

    events: set[str] = set()
    rebooted, wraps = _check_uptime(sample, previous, elapsed, events)
    in_bps: float | None = None
    out_bps: float | None = None
    if rebooted:
        events.add("reboot")
    elif _width_changed(sample, previous):
        events.add("counter_width_changed")
    else:
        limit_bps = _limit_bps(sample.link_mbps)
        bits = sample.counter_bits
        in_bps = _direction_rate(previous.in_octets, sample.in_octets, bits, elapsed, limit_bps, "wrap_in", events)
        out_bps = _direction_rate(previous.out_octets, sample.out_octets, bits, elapsed, limit_bps, "wrap_out", events)

    result = _result(sample, elapsed, _uptime_s(sample, wraps), in_bps, out_bps, capacity, rebooted, events)
    return result, _state(sample, wraps)


def _ticks_change(old: int, new: int, elapsed: float) -> str:
    """How a 32-bit TimeTicks source moved: advanced, rolled over at 2^32, or went back.

    A rollover is a step back whose forward distance modulo 2^32 matches the ticks the elapsed time
    predicts, within max(10 %, 1000 ticks). (Stated symmetrically, so a device clock slightly ahead
    of the poller at the boundary still reads as a rollover.)
    """
    if new >= old:
        return _ADVANCED
    expected = elapsed * TICKS_PER_S
    tolerance = max(ROLLOVER_TOLERANCE * expected, ROLLOVER_TOLERANCE_MIN_TICKS)
    advanced = new - old + TICKS_WRAP
    return _ROLLOVER if abs(advanced - expected) <= tolerance else _BACK


def _check_uptime(sample: Sample, previous: CounterState, elapsed: float, events: set[str]) -> tuple[bool, int]:
    """Whether the device rebooted, and the new rollover count; adds uptime events to ``events``.

    Only sources present in both samples are compared. The device rebooted when:
    hr_uptime is compared and went back; else sys_uptime went back and engine_time did not
    contradict it (absent, or also back); else engine_time, the only source, went back.
    Without a reboot, a step back of sys_uptime or engine_time is an agent restart.
    """
    changes: dict[str, str] = {}
    for name in ("hr_uptime", "sys_uptime"):
        old, new = getattr(previous, name), getattr(sample, name)
        if old is not None and new is not None:
            changes[name] = _ticks_change(old, new, elapsed)
    if previous.engine_time is not None and sample.engine_time is not None:
        changes["engine_time"] = _BACK if sample.engine_time < previous.engine_time else _ADVANCED

    hr, sys, engine = changes.get("hr_uptime"), changes.get("sys_uptime"), changes.get("engine_time")
    if hr is not None:
        rebooted = hr == _BACK
    elif sys is not None:
        rebooted = sys == _BACK and engine in (None, _BACK)
    else:
        rebooted = engine == _BACK
    if rebooted:
        return True, 0

    if _ROLLOVER in changes.values():
        events.add("uptime_rollover")
    if _BACK in (sys, engine):
        events.add("agent_restart")

    source = _uptime_source(sample)
    if source is None or source == "engine_time" or source != _uptime_source(previous):
        return False, 0  # seconds never roll over; a new primary source starts its own count
    change = changes[source]
    if change == _ROLLOVER:
        return False, previous.uptime_wraps + 1
    if change == _BACK:
        return False, 0  # the agent's own uptime restarted: earlier rollovers no longer apply
    return False, previous.uptime_wraps


def _uptime_source(values: Sample | CounterState) -> str | None:
    for name in ("hr_uptime", "sys_uptime", "engine_time"):
        if getattr(values, name) is not None:
            return name
    return None


def _uptime_s(sample: Sample, wraps: int) -> float | None:
    if sample.hr_uptime is not None:
        return (sample.hr_uptime + wraps * TICKS_WRAP) / TICKS_PER_S
    if sample.sys_uptime is not None:
        return (sample.sys_uptime + wraps * TICKS_WRAP) / TICKS_PER_S
    if sample.engine_time is not None:
        return float(sample.engine_time)
    return None


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
    old: int | None, new: int | None, bits: int, elapsed: float, limit_bps: float | None, wrap_event: str,
    events: set[str],
) -> float | None:
    """One direction's rate in bits/s, or None; adds wrap / discontinuity / over_speed to ``events``."""
    if old is None or new is None:
        return None
    delta = new - old
    if delta < 0:
        wrapped = delta + COUNTER32_WRAP
        if bits != 32 or wrapped < 0:
            events.add("discontinuity")
            return None
        rate = wrapped * 8 / elapsed
        if limit_bps is not None and rate > limit_bps:
            events.add("discontinuity")  # not a wrap: a reset or a glitch
            return None
        events.add(wrap_event)
        return rate
    rate = delta * 8 / elapsed
    if limit_bps is not None and rate > limit_bps:
        events.add("over_speed")
        return None
    return rate


def _capacity(link_mbps: float | None, backhaul_mbps: float | None) -> float | None:
    known = [value for value in (link_mbps, backhaul_mbps) if value is not None]
    return min(known) if known else None


def _state(sample: Sample, wraps: int) -> CounterState:
    return CounterState(
        at=sample.at,
        sys_uptime=sample.sys_uptime,
        hr_uptime=sample.hr_uptime,
        engine_time=sample.engine_time,
        in_octets=sample.in_octets,
        out_octets=sample.out_octets,
        counter_bits=sample.counter_bits,
        uptime_wraps=wraps,
    )


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
    return RateSample(
        ap=sample.ap,
        at=sample.at,
        interval_s=interval_s,
        uptime_s=uptime_s,
        in_bps=in_bps,
        out_bps=out_bps,
        clients=clients,
        link_mbps=sample.link_mbps,
        capacity_mbps=capacity_mbps,
        per_user_mbps=per_user,
        delivered_per_user_mbps=delivered,
        rebooted=rebooted,
        events=tuple(event for event in EVENTS if event in events),
    )
