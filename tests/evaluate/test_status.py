"""Statuses with hysteresis and their causes: evaluate_ap, one cycle at a time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hotspotctl.evaluate.rates import RateSample
from hotspotctl.evaluate.status import (
    DEGRADED,
    DOWN,
    HISTORY_MAX,
    UNKNOWN,
    UP,
    ApHealth,
    ApLimits,
    Limits,
    evaluate_ap,
)
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.settings import EvaluateSettings

RULES = EvaluateSettings()
LIMITS = ApLimits(target_mbps=200.0, expected_link_mbps=1000.0)
STEP = 60.0


def rate(at: float, *, clients: int = 2, link: float = 1000.0, rebooted: bool = False,
         per_user: float | None = ...) -> RateSample:  # type: ignore[assignment]
    capacity = link
    if per_user is ...:
        per_user = capacity / max(clients, 1)
    return RateSample("ap", at, STEP, 1000.0, 1e6, 2e5, clients, link, capacity, per_user, None, rebooted, ())


def run(answers: list[bool | RateSample], *, start: ApHealth | None = None, rules: EvaluateSettings = RULES,
        limits: ApLimits = LIMITS) -> list[ApHealth]:
    """Feed cycles (False = missed, True = a healthy answer, or a RateSample) and return every health."""
    health = start
    seen = []
    for i, answer in enumerate(answers):
        at = 1000.0 + i * STEP
        sample = rate(at) if answer is True else (answer if isinstance(answer, RateSample) else None)
        health = evaluate_ap(health, sample is not None, sample, at, limits, rules)
        seen.append(health)
    return seen


def states(healths: list[ApHealth]) -> list[str]:
    return [h.state for h in healths]


def test_one_missed_cycle_is_not_an_outage_two_are_and_two_answers_end_it():
    rules = replace(RULES, flap_changes=10)  # four changes within the hour would be flapping (tested below)
    seen = run([True, False, True, False, False, True, True, True], rules=rules)
    assert states(seen) == [UP, UP, UP, UP, DOWN, DOWN, UP, UP]
    down = seen[4]
    assert down.causes == ("offline",) and down.crew_cause == "offline"
    assert down.since == 1000.0 + 3 * STEP  # the first missed cycle, not the one that crossed the threshold
    assert down.trouble_since == down.since
    assert seen[6].since == 1000.0 + 6 * STEP and seen[6].causes == ()


def test_never_answered_is_unknown_then_down():
    seen = run([False, False, False])
    assert states(seen) == [UNKNOWN, DOWN, DOWN]
    assert seen[1].since == 1000.0 and seen[2].misses == 3


def test_thresholds_come_from_settings():
    rules = replace(RULES, down_after=3, up_after=1)
    assert states(run([True, False, False, False, True], rules=rules)) == [UP, UP, UP, DOWN, UP]


def test_below_target_needs_three_of_the_last_four_readings_and_is_congestion_on_a_good_link():
    crowded, fine = rate(0, clients=20), rate(0, clients=2)  # 50 and 500 Mb/s per user on 1 Gb/s
    seen = run([crowded, crowded, fine, crowded, fine, fine])
    assert [h.causes for h in seen] == [(), (), (), ("congested",), (), ()]
    assert seen[3].state == DEGRADED and seen[3].below_target and seen[3].crew_cause is None
    assert seen[3].below == 0b1101


def test_below_target_on_a_thin_backhaul_is_not_congestion():
    thin = rate(0, clients=1, link=100.0)  # the capacity itself is under the target
    limits = ApLimits(200.0, 100.0)  # provisioned for 100: the link is not degraded
    seen = run([thin, thin, thin], limits=limits)
    assert seen[-1].causes == ("below_target",)


def test_a_slow_uplink_is_degraded_after_two_readings_and_clears_after_two_good_ones():
    slow, fast = rate(0, clients=1, link=100.0), rate(0, clients=1)
    seen = run([slow, slow, slow, fast, slow, fast, fast])
    assert [h.uplink_degraded for h in seen] == [False, True, True, True, True, True, False]
    assert seen[2].causes == ("uplink_degraded",)  # below target too, but that is the uplink's doing
    assert seen[2].crew_cause == "uplink_degraded" and seen[2].state == DEGRADED
    assert seen[-1].causes == () and seen[-1].state == UP


def test_reboot_loop_three_reboots_within_a_day():
    rebooting = rate(0, rebooted=True)
    seen = run([True, rebooting, True, rebooting, True, rebooting, True])
    assert [h.crew_cause for h in seen] == [None, None, None, None, None, "reboot_loop", "reboot_loop"]
    assert len(seen[-1].reboots) == 3
    # a day later the reboots have aged out
    later = evaluate_ap(seen[-1], True, rate(0), 1000.0 + 5 * STEP + 24 * 3600 + 1, LIMITS, RULES)
    assert later.reboots == () and later.causes == ()


def test_flapping_four_changes_within_an_hour_even_when_never_down_long_enough():
    seen = run([True, False, True, False, True, False, True])
    assert DOWN not in states(seen)  # one miss at a time: hysteresis keeps it up
    assert [len(h.changes) for h in seen] == [0, 1, 2, 3, 4, 5, 6]
    assert seen[4].causes == ("flapping",) and seen[4].state == DEGRADED
    assert seen[5].crew_cause == "flapping"


def test_a_down_ap_keeps_no_stale_figures_as_causes():
    crowded = rate(0, clients=20)
    seen = run([crowded, crowded, crowded, False, False])
    assert seen[2].causes == ("congested",)
    assert seen[4].causes == ("offline",) and seen[4].clients == 20  # the people it served when last seen


def test_an_unchanged_healthy_ap_gives_an_equal_health():
    seen = run([True, True, True, True, True])
    assert seen[3] == seen[4]  # the evaluator writes only what changed


@pytest.mark.parametrize(("ap", "target", "link"), [
    (AccessPoint("a", 19.4, -99.1, program="Escuelas"), 100.0, 1000.0),
    (AccessPoint("b", 19.4, -99.1, program="ESCUELAS", target_mbps=50.0), 50.0, 1000.0),
    (AccessPoint("c", 19.4, -99.1, program="MiCalle", backhaul_mbps=300.0), 200.0, 300.0),
    (AccessPoint("d", 19.4, -99.1, program="Transporte"), 200.0, 100.0),
])
def test_limits_per_programme_and_per_ap(ap, target, link):
    rules = replace(RULES, target_by_program={"Escuelas": 100.0}, expected_link_by_program={"transporte": 100.0})
    limits = Limits(rules).for_ap(ap)
    assert (limits.target_mbps, limits.expected_link_mbps) == (target, link)


def test_an_ap_flapping_every_cycle_keeps_a_history_the_store_can_hold(store):
    """Before: every change within flap_minutes was kept, so an AP flapping each cycle of a 5 s interval
    built a history of 700+ times: PostgreSQL refused it (ap_health.changes is 2,000 characters) and
    with it the whole cycle's commit."""
    from hotspotctl.inventory.importer import import_inventory
    from hotspotctl.settings import InventorySettings
    from hotspotctl.store.outages import load_health, save_health

    health = None
    at = 1_795_330_000.123
    for n in range(800):  # 800 cycles 5 s apart, answered one, missed the next
        answered = n % 2 == 0
        health = evaluate_ap(health, answered, rate(at, rebooted=n % 4 == 0) if answered else None, at, LIMITS, RULES)
        at += 5.0
    assert health is not None and health.causes[0] == "reboot_loop" and "flapping" in health.causes
    assert len(health.changes) == len(health.reboots) == HISTORY_MAX  # the newest: 100 x 15 characters fit
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "a.csv"
        csv.write_text("id,lat,lon\nFLAP-1,19.43,-99.13\n")
        import_inventory(store, csv, InventorySettings())
    with store.write() as conn:
        save_health(conn, {"FLAP-1": health})
    with store.read() as conn:
        assert load_health(conn, ["FLAP-1"])["FLAP-1"].changes == health.changes
