"""The rules evaluate_ap applies, one pure helper each, and the kinds it speaks in (StrEnums)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from hotspotctl.evaluate import status
from hotspotctl.evaluate.outages import SITE_OFFLINE, STOP_CAUSES
from hotspotctl.evaluate.rates import RateSample
from hotspotctl.evaluate.status import (
    CAUSES,
    DOWN,
    UNKNOWN,
    UP,
    ApHealth,
    ApLimits,
    Cause,
    HealthState,
    _answered_again,
    _causes,
    _missed_again,
    _Readings,
    _shift_in,
    _uplink_degraded,
    evaluate_ap,
)
from hotspotctl.settings import EvaluateSettings

RULES = EvaluateSettings()
LIMITS = ApLimits(target_mbps=200.0, expected_link_mbps=1000.0)
CYCLES = st.integers(1, 8)


def test_the_kinds_are_the_strings_the_store_json_and_influxdb_have_always_held():
    assert [s.value for s in HealthState] == ["up", "degraded", "down", "unknown", "unmonitored", "misconfigured"]
    assert list(CAUSES) == ["controller_unreachable", "reboot_loop", "flapping", "offline", "radio_down",
                            "backhaul_degraded", "uplink_degraded", "rf_limited", "below_target", "congested"]
    assert SITE_OFFLINE == "site_offline" and STOP_CAUSES[:2] == (Cause.CONTROLLER_UNREACHABLE, Cause.SITE_OFFLINE)
    assert list(STOP_CAUSES) == ["controller_unreachable", "site_offline", "offline", "reboot_loop", "flapping",
                                 "radio_down", "backhaul_degraded", "uplink_degraded"]
    health = ApHealth(state=DOWN, causes=(Cause.OFFLINE,))
    text = json.dumps(health.to_json())
    assert '"state": "down"' in text and '"causes": ["offline"]' in text
    assert f"{UP}" == "up" and str(Cause.REBOOT_LOOP) == "reboot_loop" and type(str(UP)) is str


@given(bits=st.integers(0, (1 << 31) - 1), bit=st.booleans(), keep=st.integers(1, 31))
def test_a_reading_shifts_in_as_the_newest_bit_and_only_the_newest_keep_stay(bits, bit, keep):
    shifted = _shift_in(bits, bit, keep)
    assert shifted & 1 == bit
    assert shifted >> 1 == bits & ((1 << (keep - 1)) - 1)
    assert shifted < 1 << keep


@given(down_after=CYCLES, up_after=CYCLES, readings=st.lists(st.booleans(), max_size=40))
def test_the_uplink_is_degraded_after_down_after_slow_readings_and_clear_after_up_after_at_speed(
        down_after, up_after, readings):
    rules = EvaluateSettings(down_after=down_after, up_after=up_after)
    keep = max(down_after, up_after)
    slow, degraded = 0, False
    for i, is_slow in enumerate(readings):
        slow = _shift_in(slow, is_slow, keep)
        degraded = _uplink_degraded(slow, degraded, rules)
        recent = readings[max(0, i + 1 - keep):i + 1]
        if len(recent) >= down_after and all(recent[-down_after:]):
            assert degraded
        elif len(recent) >= up_after and not any(recent[-up_after:]):
            assert not degraded


@given(down_after=CYCLES, up_after=CYCLES, misses=st.integers(0, 10), goods=st.integers(0, 10))
def test_hysteresis_down_after_down_after_misses_up_after_up_after_answers(down_after, up_after, misses, goods):
    rules = EvaluateSettings(down_after=down_after, up_after=up_after)
    health = ApHealth(state=UNKNOWN)
    for _ in range(misses):
        state, missed, _, since = _missed_again(health, 0.0, rules)
        health = ApHealth(state=state, misses=missed, missing_since=since)
    assert (health.state == DOWN) == (misses >= down_after)
    for i in range(goods):
        state, _, good, since = _answered_again(health, rules)
        assert since is None
        health = ApHealth(state=state, goods=good)
        assert health.state == (DOWN if misses >= down_after and i + 1 < up_after else UP)


@given(state=st.sampled_from(list(HealthState)[:4]), reboots=st.integers(0, 5), changes=st.integers(0, 6),
       degraded=st.booleans(), below=st.integers(0, 15), capacity=st.sampled_from([None, 100.0, 1000.0]))
def test_causes_come_in_precedence_order_and_a_down_ap_keeps_only_the_three_that_stay_true(
        state, reboots, changes, degraded, below, capacity):
    readings = _Readings(None, None, capacity, None, below, 0, degraded)
    causes = _causes(state, reboots, changes, readings, LIMITS, RULES)
    assert list(causes) == sorted(causes, key=CAUSES.index)
    assert (Cause.REBOOT_LOOP in causes) == (reboots >= RULES.reboot_loop_count)
    assert (Cause.FLAPPING in causes) == (changes >= RULES.flap_changes)
    assert (Cause.OFFLINE in causes) == (state == DOWN)
    if state in (DOWN, UNKNOWN):
        assert set(causes) <= {Cause.REBOOT_LOOP, Cause.FLAPPING, Cause.OFFLINE}
    else:
        assert (Cause.UPLINK_DEGRADED in causes) == degraded
        below_target = not degraded and below.bit_count() >= RULES.below_cycles
        assert (Cause.BELOW_TARGET in causes or Cause.CONGESTED in causes) == below_target
        if below_target:
            assert (Cause.CONGESTED in causes) == (capacity is not None and capacity >= LIMITS.target_mbps)


def test_a_steady_healthy_ap_gets_its_previous_health_back_and_a_reboot_breaks_the_spell():
    at = 1000.0
    health = None
    for i in range(4):
        health = evaluate_ap(health, True, _rate(at + i * 60), at + i * 60, LIMITS, RULES)
    assert health is not None and health.state == UP
    again = evaluate_ap(health, True, _rate(at + 300), at + 300, LIMITS, RULES)
    assert again is health
    rebooted = evaluate_ap(health, True, _rate(at + 300, rebooted=True), at + 300, LIMITS, RULES)
    assert rebooted is not health and rebooted.reboots == (at + 300,)
    assert status._still_steady(health, _rate(at), LIMITS, RULES)
    assert not status._still_steady(health, _rate(at, link=100.0), LIMITS, RULES)


def _rate(at: float, *, link: float = 1000.0, rebooted: bool = False) -> RateSample:
    return RateSample("ap", at, 60.0, 1000.0, 1e6, 2e5, 2, link, link, link / 2, None, rebooted, ())
