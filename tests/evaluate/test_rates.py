"""Counters to rates: examples with exact numbers for every rule, and properties over real-device behaviour."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspotctl.collectors.model import Sample
from hotspotctl.evaluate.rates import (
    EVENTS,
    MAX_RATE_FACTOR,
    TICKS_WRAP,
    CounterState,
    RateSample,
    compute_rates,
)

T0 = 1_700_000_000.0
GIGA = 1000.0


def sample(at: float = T0, **fields) -> Sample:
    fields.setdefault("rtt_ms", 4.0)
    return Sample(ap="cdmx-0001", at=at, **fields)


def state(at: float = T0, **fields) -> CounterState:
    defaults = dict(sys_uptime=None, hr_uptime=None, engine_time=None, in_octets=None, out_octets=None, counter_bits=64)
    return CounterState(at=at, **{**defaults, **fields})


def pair(old: Sample, new: Sample, **kwargs) -> tuple[RateSample, CounterState]:
    """Feed ``old`` then ``new``; the result and state of ``new``."""
    _, first_state = compute_rates(old, None, **kwargs)
    return compute_rates(new, first_state, **kwargs)


# -- rule 1: first sample ---------------------------------------------------------------------------------------------


def test_first_sample_has_no_rates_and_starts_the_state() -> None:
    new = sample(sys_uptime=500_000, in_octets=10, out_octets=20, counter_bits=32, link_mbps=100.0, clients=3)
    result, new_state = compute_rates(new, None)
    assert result.events == ("first_sample",)
    assert (result.in_bps, result.out_bps, result.interval_s) == (None, None, None)
    assert result.per_user_mbps is None and result.delivered_per_user_mbps is None
    assert result.uptime_s == 5_000.0
    assert result.rebooted is False
    assert result.capacity_mbps == 100.0 and result.clients == 3
    assert new_state == state(sys_uptime=500_000, in_octets=10, out_octets=20, counter_bits=32, uptime_wraps=0)


# -- the basic rate ---------------------------------------------------------------------------------------------------


def test_rate_is_octets_times_eight_over_the_pollers_interval() -> None:
    old = sample(T0, sys_uptime=1_000_000, in_octets=1_000, out_octets=5_000)
    # the device's uptime says 61.5 s passed; the poller's clock (60 s) is what counts
    new = sample(T0 + 60, sys_uptime=1_006_150, in_octets=1_000 + 450_000_000, out_octets=5_000 + 75_000_000)
    result, new_state = pair(old, new)
    assert result.interval_s == 60.0
    assert result.in_bps == 60_000_000.0
    assert result.out_bps == 10_000_000.0
    assert result.events == ()
    assert result.rebooted is False
    assert new_state == state(T0 + 60, sys_uptime=1_006_150, in_octets=450_001_000, out_octets=75_005_000)


def test_zero_traffic_is_a_zero_rate() -> None:
    result, _ = pair(sample(T0, in_octets=7, out_octets=7), sample(T0 + 30, in_octets=7, out_octets=7))
    assert (result.in_bps, result.out_bps) == (0.0, 0.0)


# -- rule 2: clock skew -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delta_s", [0.0, -5.0])
def test_clock_skew_keeps_the_previous_state_for_the_next_good_sample(delta_s: float) -> None:
    previous = state(T0, sys_uptime=100_000, in_octets=0, out_octets=0)
    skewed = sample(T0 + delta_s, sys_uptime=100_500, in_octets=999_999, out_octets=999_999, link_mbps=GIGA)
    result, kept = compute_rates(skewed, previous)
    assert result.events == ("clock_skew",)
    assert (result.in_bps, result.out_bps, result.interval_s) == (None, None, None)
    assert result.per_user_mbps is None
    assert kept is previous
    good = sample(T0 + 10, sys_uptime=101_000, in_octets=1_250_000, out_octets=0)
    result, _ = compute_rates(good, kept)
    assert result.interval_s == 10.0
    assert result.in_bps == 1_000_000.0
    assert result.events == ()


# -- rule 3: reboots, rollovers, agent restarts -----------------------------------------------------------------------


def test_reboot_gives_no_rate_and_resets_the_state() -> None:
    old = state(T0, sys_uptime=500_000, in_octets=9_000_000, out_octets=8_000_000, uptime_wraps=2)
    new = sample(T0 + 60, sys_uptime=3_000, in_octets=4_000, out_octets=2_000, link_mbps=GIGA, clients=4)
    result, new_state = compute_rates(new, old)
    assert result.rebooted is True
    assert result.events == ("reboot",)
    assert (result.in_bps, result.out_bps) == (None, None)
    assert result.per_user_mbps is None and result.delivered_per_user_mbps is None
    assert result.uptime_s == 30.0
    assert result.interval_s == 60.0
    assert new_state == state(T0 + 60, sys_uptime=3_000, in_octets=4_000, out_octets=2_000, uptime_wraps=0)


def test_reboot_even_when_the_counters_happen_to_grow() -> None:
    old = state(T0, hr_uptime=500_000, in_octets=100, out_octets=100)
    new = sample(T0 + 60, hr_uptime=3_000, in_octets=5_000, out_octets=5_000)
    result, _ = compute_rates(new, old)
    assert result.rebooted is True
    assert (result.in_bps, result.out_bps) == (None, None)


def test_host_uptime_going_back_is_a_reboot_whatever_sys_uptime_says() -> None:
    old = state(T0, hr_uptime=900_000, sys_uptime=400_000, in_octets=0, out_octets=0)
    new = sample(T0 + 60, hr_uptime=2_000, sys_uptime=406_000, in_octets=10, out_octets=10)
    result, _ = compute_rates(new, old)
    assert result.rebooted is True
    assert result.events == ("reboot",)


def test_sys_uptime_and_engine_time_both_going_back_is_a_reboot() -> None:
    old = state(T0, sys_uptime=900_000, engine_time=9_000, in_octets=0, out_octets=0)
    new = sample(T0 + 60, sys_uptime=2_000, engine_time=20, in_octets=10, out_octets=10)
    result, _ = compute_rates(new, old)
    assert result.rebooted is True


def test_engine_time_alone_going_back_is_a_reboot() -> None:
    old = state(T0, engine_time=86_400, in_octets=0, out_octets=0)
    new = sample(T0 + 60, engine_time=15, in_octets=10, out_octets=10)
    result, new_state = compute_rates(new, old)
    assert result.rebooted is True
    assert result.events == ("reboot",)
    assert result.uptime_s == 15.0
    assert new_state.engine_time == 15


def test_sys_uptime_rollover_is_not_a_reboot_and_uptime_keeps_growing() -> None:
    # 497 days in: sysUpTime is 3,000 ticks short of 2^32; 60 s later it reads 3,000
    old = sample(T0, sys_uptime=TICKS_WRAP - 3_000, in_octets=0, out_octets=0, link_mbps=GIGA)
    new = sample(T0 + 60, sys_uptime=3_000, in_octets=75_000_000, out_octets=7_500_000, link_mbps=GIGA)
    first, first_state = compute_rates(old, None)
    result, new_state = compute_rates(new, first_state)
    assert result.rebooted is False
    assert result.events == ("uptime_rollover",)
    assert result.in_bps == 10_000_000.0 and result.out_bps == 1_000_000.0
    assert first.uptime_s == (TICKS_WRAP - 3_000) / 100
    assert result.uptime_s == (TICKS_WRAP + 3_000) / 100 > TICKS_WRAP / 100
    assert new_state.uptime_wraps == 1
    later, later_state = compute_rates(sample(T0 + 120, sys_uptime=9_000, in_octets=0, out_octets=0), new_state)
    assert later.uptime_s == (TICKS_WRAP + 9_000) / 100
    assert later_state.uptime_wraps == 1


def test_second_rollover_counts_on() -> None:
    old = state(T0, hr_uptime=TICKS_WRAP - 100, uptime_wraps=1)
    result, new_state = compute_rates(sample(T0 + 60, hr_uptime=5_900), old)
    assert result.events == ("uptime_rollover",)
    assert new_state.uptime_wraps == 2
    assert result.uptime_s == (2 * TICKS_WRAP + 5_900) / 100


@pytest.mark.parametrize(
    ("new_ticks", "rolled_over"),
    [
        (3_000, True),  # exactly what 60 s predicts
        (3_000 + 1_000, True),  # 10 % of 6,000 ticks is 600: the 1,000-tick floor applies
        (3_000 - 1_000, True),
        (3_000 + 1_001, False),
        (3_000 - 1_001, False),
        (500_000, False),  # far off: the device restarted
    ],
)
def test_rollover_tolerance(new_ticks: int, rolled_over: bool) -> None:
    old = state(T0, sys_uptime=TICKS_WRAP - 3_000, in_octets=0, out_octets=0)
    result, _ = compute_rates(sample(T0 + 60, sys_uptime=new_ticks, in_octets=1, out_octets=1), old)
    assert result.rebooted is not rolled_over
    assert ("uptime_rollover" in result.events) is rolled_over


def test_rollover_tolerance_scales_with_long_intervals() -> None:
    # an hour is 360,000 ticks; 10 % is 36,000
    old = state(T0, sys_uptime=TICKS_WRAP - 60_000)
    close, _ = compute_rates(sample(T0 + 3_600, sys_uptime=300_000 + 35_000), old)
    far, _ = compute_rates(sample(T0 + 3_600, sys_uptime=300_000 + 37_000), old)
    assert close.events == ("uptime_rollover",)
    assert far.rebooted is True


def test_rollover_when_the_device_clock_runs_just_ahead_of_the_poller() -> None:
    # the poller's 60 s predict 6,000 ticks -> 500 short of 2^32; the device already wrapped to 200
    old = state(T0, sys_uptime=TICKS_WRAP - 6_500)
    result, new_state = compute_rates(sample(T0 + 60, sys_uptime=200), old)
    assert result.events == ("uptime_rollover",)
    assert new_state.uptime_wraps == 1


def test_sys_uptime_back_while_host_uptime_advances_is_an_agent_restart() -> None:
    old = state(T0, hr_uptime=8_000_000, sys_uptime=7_000_000, in_octets=1_000, out_octets=2_000, uptime_wraps=1)
    new = sample(T0 + 60, hr_uptime=8_006_000, sys_uptime=1_500, in_octets=1_000 + 7_500_000,
                 out_octets=2_000 + 750_000)
    result, new_state = compute_rates(new, old)
    assert result.rebooted is False
    assert result.events == ("agent_restart",)
    assert result.in_bps == 1_000_000.0 and result.out_bps == 100_000.0
    assert result.uptime_s == (TICKS_WRAP + 8_006_000) / 100  # host uptime, its rollovers kept
    assert new_state.uptime_wraps == 1
    assert new_state.sys_uptime == 1_500


def test_sys_uptime_back_while_engine_time_advances_is_an_agent_restart() -> None:
    old = state(T0, sys_uptime=7_000_000, engine_time=70_000, in_octets=0, out_octets=0, uptime_wraps=1)
    new = sample(T0 + 60, sys_uptime=1_500, engine_time=70_060, in_octets=750_000, out_octets=0)
    result, new_state = compute_rates(new, old)
    assert result.rebooted is False
    assert result.events == ("agent_restart",)
    assert result.in_bps == 100_000.0 and result.out_bps == 0.0
    # sysUpTime is the best source left and it restarted: its rollovers no longer apply
    assert result.uptime_s == 15.0
    assert new_state.uptime_wraps == 0


def test_sys_uptime_rollover_under_host_uptime_does_not_count_as_a_host_wrap() -> None:
    old = state(T0, hr_uptime=9_000_000, sys_uptime=TICKS_WRAP - 1_000, uptime_wraps=0)
    result, new_state = compute_rates(sample(T0 + 60, hr_uptime=9_006_000, sys_uptime=5_000), old)
    assert result.events == ("uptime_rollover",)
    assert result.rebooted is False
    assert new_state.uptime_wraps == 0
    assert result.uptime_s == 90_060.0


def test_sys_uptime_rollover_with_engine_time_advancing() -> None:
    old = state(T0, sys_uptime=TICKS_WRAP - 1_000, engine_time=42_949_662)
    result, new_state = compute_rates(sample(T0 + 60, sys_uptime=5_000, engine_time=42_949_722), old)
    assert result.events == ("uptime_rollover",)
    assert new_state.uptime_wraps == 1


def test_uptime_prefers_host_then_sys_then_engine_time() -> None:
    assert compute_rates(sample(hr_uptime=100, sys_uptime=200, engine_time=3), None)[0].uptime_s == 1.0
    assert compute_rates(sample(sys_uptime=200, engine_time=3), None)[0].uptime_s == 2.0
    assert compute_rates(sample(engine_time=3), None)[0].uptime_s == 3.0
    assert compute_rates(sample(), None)[0].uptime_s is None


def test_no_uptime_at_all_still_gives_rates() -> None:
    result, _ = pair(sample(T0, in_octets=0, out_octets=0), sample(T0 + 8, in_octets=1_000, out_octets=2_000))
    assert (result.in_bps, result.out_bps, result.rebooted) == (1_000.0, 2_000.0, False)


def test_a_new_primary_uptime_source_starts_its_own_rollover_count() -> None:
    old = state(T0, sys_uptime=5_000, uptime_wraps=3)
    result, new_state = compute_rates(sample(T0 + 60, sys_uptime=11_000, hr_uptime=77_000), old)
    assert new_state.uptime_wraps == 0
    assert result.uptime_s == 770.0


# -- rule 4: counters -------------------------------------------------------------------------------------------------


def test_counter32_wrap_gives_the_exact_rate() -> None:
    old = sample(T0, sys_uptime=100_000, in_octets=4_294_000_000, out_octets=4_000_000_000, counter_bits=32,
                 link_mbps=GIGA)
    new = sample(T0 + 60, sys_uptime=106_000, in_octets=1_000_000, out_octets=4_100_000_000, counter_bits=32,
                 link_mbps=GIGA)
    result, new_state = pair(old, new)
    assert result.in_bps == (2**32 - 4_294_000_000 + 1_000_000) * 8 / 60
    assert result.out_bps == 100_000_000 * 8 / 60
    assert result.events == ("wrap_in",)
    assert new_state.in_octets == 1_000_000


def test_counter32_wrap_on_both_directions() -> None:
    old = state(T0, in_octets=2**32 - 10, out_octets=2**32 - 20, counter_bits=32)
    new = sample(T0 + 1, in_octets=30, out_octets=60, counter_bits=32, link_mbps=100.0)
    result, _ = compute_rates(new, old)
    assert result.events == ("wrap_in", "wrap_out")
    assert (result.in_bps, result.out_bps) == (320.0, 640.0)


def test_counter32_wrap_with_unknown_link_speed_is_taken() -> None:
    old = state(T0, in_octets=4_000_000_000, out_octets=0, counter_bits=32)
    new = sample(T0 + 60, in_octets=3_000_000_000, out_octets=0, counter_bits=32)
    result, _ = compute_rates(new, old)
    assert result.events == ("wrap_in",)
    assert result.in_bps == (2**32 - 1_000_000_000) * 8 / 60


def test_counter32_going_back_faster_than_the_link_is_a_discontinuity() -> None:
    # a 10 Mb/s link cannot have moved 3.3 GB in 60 s: the counter was reset, not wrapped
    old = state(T0, in_octets=4_000_000_000, out_octets=500, counter_bits=32)
    new = sample(T0 + 60, in_octets=3_000_000_000, out_octets=800, counter_bits=32, link_mbps=10.0)
    result, new_state = compute_rates(new, old)
    assert result.events == ("discontinuity",)
    assert result.in_bps is None
    assert result.out_bps == 40.0  # the other direction keeps its rate
    assert new_state.in_octets == 3_000_000_000


def test_counter64_going_back_is_a_discontinuity_and_resynchronises() -> None:
    old = state(T0, in_octets=9_000_000_000_000, out_octets=1_000, counter_bits=64)
    new = sample(T0 + 60, in_octets=1_000, out_octets=1_000, counter_bits=64)
    result, new_state = compute_rates(new, old)
    assert result.events == ("discontinuity",)
    assert result.in_bps is None and result.out_bps == 0.0
    assert new_state.in_octets == 1_000
    result, _ = compute_rates(sample(T0 + 120, in_octets=751_000, out_octets=1_000), new_state)
    assert result.in_bps == 100_000.0
    assert result.events == ()


@pytest.mark.parametrize("link", [None, GIGA])
def test_counter64_stepping_back_a_little_is_not_a_wrap(link: float | None) -> None:
    # undone as a 32-bit wrap this would read as a plausible 558 Mb/s
    old = state(T0, in_octets=5_000_000, out_octets=0, counter_bits=64)
    result, _ = compute_rates(sample(T0 + 60, in_octets=4_000_000, out_octets=0, counter_bits=64, link_mbps=link), old)
    assert result.events == ("discontinuity",)
    assert result.in_bps is None


def test_counter64_near_its_top_going_back_is_still_a_discontinuity() -> None:
    old = state(T0, in_octets=2**64 - 10, out_octets=0, counter_bits=64)
    result, _ = compute_rates(sample(T0 + 60, in_octets=5, out_octets=0, counter_bits=64), old)
    assert result.events == ("discontinuity",)
    assert result.in_bps is None


def test_over_speed_is_discarded() -> None:
    old = state(T0, in_octets=0, out_octets=0)
    # 100 Mb/s link, 60 s: 825,000,000 octets is exactly 110 Mb/s (allowed); 900,000,000 is 120 Mb/s
    at_limit = sample(T0 + 60, in_octets=825_000_000, out_octets=900_000_000, link_mbps=100.0)
    result, new_state = compute_rates(at_limit, old)
    assert result.in_bps == 110_000_000.0
    assert result.out_bps is None
    assert result.events == ("over_speed",)
    assert new_state.out_octets == 900_000_000
    assert result.per_user_mbps is None


def test_over_speed_not_checked_without_a_link_speed() -> None:
    old = state(T0, in_octets=0, out_octets=0)
    for link in (None, 0.0):
        result, _ = compute_rates(sample(T0 + 1, in_octets=10**12, out_octets=0, link_mbps=link), old)
        assert result.in_bps == 8e12
        assert result.events == ()


def test_counter_width_change_gives_no_rate_and_resets() -> None:
    old = state(T0, sys_uptime=1_000, in_octets=4_000_000_000, out_octets=3_000, counter_bits=32)
    new = sample(T0 + 60, sys_uptime=7_000, in_octets=90_000_000_000, out_octets=3_000, counter_bits=64)
    result, new_state = compute_rates(new, old)
    assert result.events == ("counter_width_changed",)
    assert (result.in_bps, result.out_bps) == (None, None)
    assert new_state.counter_bits == 64 and new_state.in_octets == 90_000_000_000
    result, _ = compute_rates(sample(T0 + 120, sys_uptime=13_000, in_octets=90_000_075_000, out_octets=3_000,
                                     counter_bits=64), new_state)
    assert result.in_bps == 10_000.0


def test_width_of_missing_counters_does_not_matter() -> None:
    # a poll without counters (Sample.counter_bits defaults to 64) then one with Counter32s
    old = state(T0, in_octets=None, out_octets=None, counter_bits=64)
    result, _ = compute_rates(sample(T0 + 60, in_octets=5, out_octets=5, counter_bits=32), old)
    assert result.events == ()
    assert (result.in_bps, result.out_bps) == (None, None)


@pytest.mark.parametrize(
    ("old_in", "new_in"),
    [(None, 5_000), (5_000, None), (None, None)],
)
def test_missing_counter_gives_no_rate_for_that_direction_only(old_in: int | None, new_in: int | None) -> None:
    old = state(T0, in_octets=old_in, out_octets=0)
    new = sample(T0 + 60, in_octets=new_in, out_octets=750_000, link_mbps=GIGA, clients=5)
    result, new_state = compute_rates(new, old)
    assert result.events == ()
    assert result.in_bps is None
    assert result.out_bps == 100_000.0
    assert result.per_user_mbps is None and result.delivered_per_user_mbps is None
    assert new_state.in_octets == new_in


# -- rule 6: capacity and per user ------------------------------------------------------------------------------------


def _busy(link_mbps: float | None, clients: int | None, backhaul_mbps: float | None = None) -> RateSample:
    old = state(T0, in_octets=0, out_octets=0)
    new = sample(T0 + 60, in_octets=450_000_000, out_octets=75_000_000, link_mbps=link_mbps, clients=clients)
    return compute_rates(new, old, backhaul_mbps=backhaul_mbps)[0]


def test_per_user_share_of_the_link() -> None:
    result = _busy(GIGA, 25)
    assert result.capacity_mbps == 1000.0
    assert result.per_user_mbps == 40.0
    assert result.delivered_per_user_mbps == 2.8  # (60 + 10) Mb/s over 25 clients


def test_backhaul_caps_the_capacity() -> None:
    result = _busy(GIGA, 25, backhaul_mbps=500.0)
    assert result.capacity_mbps == 500.0
    assert result.per_user_mbps == 20.0


def test_capacity_from_whichever_is_known() -> None:
    assert _busy(None, 10, backhaul_mbps=200.0).capacity_mbps == 200.0
    assert _busy(None, 10, backhaul_mbps=200.0).per_user_mbps == 20.0
    assert _busy(GIGA, 10, backhaul_mbps=2_000.0).capacity_mbps == 1000.0
    nothing = _busy(None, 10)
    assert nothing.capacity_mbps is None and nothing.per_user_mbps is None
    assert nothing.delivered_per_user_mbps == 7.0


def test_no_clients_gives_the_whole_capacity_and_no_delivered_share() -> None:
    result = _busy(GIGA, 0)
    assert result.per_user_mbps == 1000.0
    assert result.delivered_per_user_mbps is None


def test_unknown_clients_gives_no_per_user_figures() -> None:
    result = _busy(GIGA, None)
    assert result.per_user_mbps is None and result.delivered_per_user_mbps is None
    assert result.capacity_mbps == 1000.0


def test_capacity_is_reported_even_without_a_rate() -> None:
    result, _ = compute_rates(sample(link_mbps=300.0, clients=3), None, backhaul_mbps=100.0)
    assert result.capacity_mbps == 100.0
    assert result.per_user_mbps is None


def test_events_come_in_a_stable_order() -> None:
    old = state(T0, hr_uptime=5_000_000, sys_uptime=TICKS_WRAP - 100, engine_time=90_000,
                in_octets=2**32 - 1, out_octets=2**32 - 1, counter_bits=32)
    new = sample(T0 + 60, hr_uptime=5_006_000, sys_uptime=5_900, engine_time=10, in_octets=0, out_octets=0,
                 counter_bits=32)
    result, _ = compute_rates(new, old)
    assert result.events == ("uptime_rollover", "agent_restart", "wrap_in", "wrap_out")


# -- properties -------------------------------------------------------------------------------------------------------

LINKS = st.sampled_from([1.0, 10.0, 54.0, 100.0, 300.0, 866.7, 1000.0, 2500.0, 10_000.0])
# quarter seconds, so that sums of intervals on the poller's clock are exact floats
INTERVALS = st.integers(4, 4 * 3_600).map(lambda quarters: quarters / 4)


def _limit(link_mbps: float | None) -> float:
    return math.inf if not link_mbps else MAX_RATE_FACTOR * link_mbps * 1e6


def _check_rates(result: RateSample) -> None:
    for rate in (result.in_bps, result.out_bps):
        if rate is not None:
            assert 0 <= rate <= _limit(result.link_mbps)
    assert result.events == tuple(event for event in EVENTS if event in result.events)


@pytest.mark.parametrize("bits", [32, 64])
@settings(max_examples=150, deadline=None)
@given(data=st.data(), link=LINKS, report_link=st.booleans())
def test_true_rates_are_recovered(bits: int, data: st.DataObject, link: float, report_link: bool) -> None:
    top = 2**bits - 1 if bits == 32 else 2**63
    counters = [data.draw(st.integers(0, top)), data.draw(st.integers(0, top))]
    ticks = data.draw(st.integers(0, TICKS_WRAP - 1))
    at = T0
    link_mbps = link if report_link else None
    current = sample(at, sys_uptime=ticks, in_octets=counters[0], out_octets=counters[1], counter_bits=bits,
                     link_mbps=link_mbps)
    _, kept = compute_rates(current, None)
    for _ in range(data.draw(st.integers(1, 25))):
        elapsed = data.draw(INTERVALS)
        most = int(link * 1e6 * elapsed / 8)  # octets the link can carry in this interval
        if bits == 32:
            most = min(most, 2**32 - 1)  # one wrap at most per interval: more cannot be told apart
        increments = [data.draw(st.integers(0, most)), data.draw(st.integers(0, most))]
        counters = [(value + inc) % 2**bits for value, inc in zip(counters, increments, strict=True)]
        ticks = (ticks + round(elapsed * 100)) % TICKS_WRAP
        at += elapsed
        current = sample(at, sys_uptime=ticks, in_octets=counters[0], out_octets=counters[1], counter_bits=bits,
                         link_mbps=link_mbps)
        result, kept = compute_rates(current, kept)
        assert result.rebooted is False
        assert result.in_bps == increments[0] * 8 / elapsed
        assert result.out_bps == increments[1] * 8 / elapsed
        assert not {"discontinuity", "over_speed", "reboot"} & set(result.events)
        _check_rates(result)


def _optional(strategy: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
    return st.none() | strategy


RAW = st.fixed_dictionaries({
    "sys_uptime": _optional(st.integers(0, TICKS_WRAP - 1)),
    "hr_uptime": _optional(st.integers(0, TICKS_WRAP - 1)),
    "engine_time": _optional(st.integers(0, 2**31 - 1)),
    "in_octets": _optional(st.integers(0, 2**64 - 1)),
    "out_octets": _optional(st.integers(0, 2**64 - 1)),
    "counter_bits": st.sampled_from([32, 64]),
})


@settings(max_examples=300, deadline=None)
@given(
    old=RAW, new=RAW, elapsed=st.floats(-100, 100_000, allow_nan=False), wraps=st.integers(0, 3),
    link=st.none() | st.just(0.0) | LINKS, clients=st.none() | st.integers(0, 200),
)
def test_rates_are_never_negative_nor_above_the_link(
    old: dict, new: dict, elapsed: float, wraps: int, link: float | None, clients: int | None
) -> None:
    for raw in (old, new):  # a 32-bit counter holds 32 bits
        if raw["counter_bits"] == 32:
            for key in ("in_octets", "out_octets"):
                if raw[key] is not None:
                    raw[key] %= 2**32
    previous = state(T0, uptime_wraps=wraps, **old)
    result, new_state = compute_rates(sample(T0 + elapsed, link_mbps=link, clients=clients, **new), previous)
    elapsed = (T0 + elapsed) - T0  # as the poller's clock has it
    _check_rates(result)
    if result.uptime_s is not None:
        assert result.uptime_s >= 0
    if result.per_user_mbps is not None:
        assert result.in_bps is not None and result.out_bps is not None
    if elapsed <= 0:
        assert new_state is previous
    else:
        assert new_state.in_octets == new["in_octets"] and new_state.at == T0 + elapsed
        assert result.interval_s == elapsed


@settings(max_examples=200, deadline=None)
@given(
    sources=st.sampled_from([("hr_uptime",), ("sys_uptime",), ("engine_time",), ("hr_uptime", "sys_uptime"),
                             ("sys_uptime", "engine_time"), ("hr_uptime", "sys_uptime", "engine_time")]),
    old_uptime_s=st.integers(1_000, 40_000_000), sub_ticks=st.integers(0, 99),
    elapsed=st.integers(4, 900 * 4).map(lambda quarters: quarters / 4), data=st.data(),
    bits=st.sampled_from([32, 64]), link=st.none() | LINKS, wraps=st.integers(0, 5),
)
def test_a_reboot_never_yields_a_rate(
    sources: tuple[str, ...], old_uptime_s: int, sub_ticks: int, elapsed: float, data: st.DataObject, bits: int,
    link: float | None, wraps: int,
) -> None:
    new_uptime_s = data.draw(st.integers(0, int(elapsed)))  # booted since the last poll
    before = {"hr_uptime": old_uptime_s * 100 + sub_ticks, "sys_uptime": old_uptime_s * 100 + sub_ticks,
              "engine_time": old_uptime_s}
    after = {"hr_uptime": new_uptime_s * 100, "sys_uptime": new_uptime_s * 100, "engine_time": new_uptime_s}
    top = 2**bits - 1
    previous = state(T0, in_octets=data.draw(st.integers(0, top)), out_octets=data.draw(st.integers(0, top)),
                     counter_bits=bits, uptime_wraps=wraps, **{name: before[name] for name in sources})
    new = sample(T0 + elapsed, in_octets=data.draw(st.integers(0, 10**6)), out_octets=data.draw(st.integers(0, 10**6)),
                 counter_bits=bits, link_mbps=link, **{name: after[name] for name in sources})
    result, new_state = compute_rates(new, previous)
    assert result.rebooted is True
    assert "reboot" in result.events
    assert (result.in_bps, result.out_bps, result.per_user_mbps, result.delivered_per_user_mbps) == (None,) * 4
    assert new_state.uptime_wraps == 0
    assert new_state.in_octets == new.in_octets


@settings(max_examples=200, deadline=None)
@given(
    sources=st.sampled_from([("hr_uptime",), ("sys_uptime",), ("hr_uptime", "sys_uptime"),
                             ("sys_uptime", "engine_time"), ("hr_uptime", "sys_uptime", "engine_time")]),
    starts=st.tuples(*[st.integers(TICKS_WRAP - 500_000, TICKS_WRAP - 1) | st.integers(0, TICKS_WRAP - 1)] * 2),
    steps=st.lists(
        st.tuples(
            # up to 300 days, so that several rollovers happen in one run
            st.integers(4, 4 * 86_400 * 300).map(lambda quarters: quarters / 4) | INTERVALS,
            st.floats(-0.05, 0.05),  # the device's clock against the poller's
            st.floats(-0.05, 0.05),
        ),
        min_size=1, max_size=30,
    ),
)
def test_uptime_never_decreases_across_rollovers(
    sources: tuple[str, ...], starts: tuple[int, int], steps: list[tuple[float, float, float]]
) -> None:
    totals = {"hr_uptime": starts[0], "sys_uptime": starts[1], "engine_time": 1_000}
    primary = sources[0]

    def current(at: float) -> Sample:
        raw = {name: total % TICKS_WRAP if name != "engine_time" else total for name, total in totals.items()}
        return sample(at, **{name: raw[name] for name in sources})

    at = T0
    result, kept = compute_rates(current(at), None)
    for elapsed, drift_hr, drift_sys in steps:
        totals["hr_uptime"] += max(1, round(elapsed * 100 * (1 + drift_hr)))
        totals["sys_uptime"] += max(1, round(elapsed * 100 * (1 + drift_sys)))
        totals["engine_time"] += round(elapsed)
        at += elapsed
        before = result.uptime_s
        assert before is not None
        result, kept = compute_rates(current(at), kept)
        assert result.rebooted is False
        assert "agent_restart" not in result.events
        assert result.uptime_s is not None and result.uptime_s >= before
        assert result.uptime_s == totals[primary] / 100  # exact: every rollover counted
