"""Issue 17's causes, one cycle at a time through evaluate_ap: radio_down, rf_limited, controller_unreachable,
and an AP held UNKNOWN while its controller cannot be read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hotspotctl.errors import PollErrorKind
from hotspotctl.evaluate.rates import RateSample
from hotspotctl.evaluate.status import (
    DEGRADED,
    DOWN,
    UNKNOWN,
    UP,
    ApHealth,
    ApLimits,
    Cause,
    RadioMemory,
    evaluate_ap,
    held_health,
)
from hotspotctl.models.radios import Radio
from hotspotctl.settings import EvaluateSettings

RULES = EvaluateSettings()  # down_after 2, up_after 2, below 3 of 4, rf_busy_pct 70
LIMITS = ApLimits(target_mbps=200.0, expected_link_mbps=1000.0)
STEP = 60.0
T0 = 1000.0


def rate(at: float = 0.0, *, clients: int = 2, link: float = 1000.0) -> RateSample:
    """An answer: per-user = link / clients (2 clients on a gigabit: 500 Mb/s, on target)."""
    return RateSample("ap", at, STEP, 1000.0, 1e6, 2e5, clients, link, link, link / max(clients, 1), None, False, ())


def radios(**states: bool | None) -> tuple[Radio, ...]:
    """Radios by name: True up, False down, None not said."""
    return tuple(Radio(name, oper_up=up) for name, up in states.items())


def busy(pct: float | None, other: float | None = 10.0) -> tuple[Radio, ...]:
    return (Radio("wifi0", band="2.4GHz", oper_up=True, utilization_pct=other),
            Radio("wifi1", band="5GHz", oper_up=True, utilization_pct=pct))


def feed(cycles: list, *, start: ApHealth | None = None, rules: EvaluateSettings = RULES,
         limits: ApLimits = LIMITS, controller: bool = False) -> list[ApHealth]:
    """Each cycle: None = missed, a tuple of radios = a healthy answer with them, (RateSample, radios) = that."""
    health, seen = start, []
    for i, cycle in enumerate(cycles):
        at = T0 + i * STEP
        if cycle is None:
            health = evaluate_ap(health, False, None, at, limits, rules, controller=controller)
        else:
            sample, said = cycle if isinstance(cycle, list) else (rate(at), cycle)
            health = evaluate_ap(health, True, sample, at, limits, rules, said, controller=controller)
        seen.append(health)
    return seen


# -- radio_down -----------------------------------------------------------------------------------------------

def test_the_radios_memory_is_kept_as_it_is_while_nothing_about_the_radios_moves():
    """An AP under its target is evaluated afresh every cycle (not steady); its radios, read up every time, keep
    the very memory they had (no new tuple or RadioMemory an AP a cycle: long-lived objects made every cycle
    fragmented the poller's heap), and a radio read down gets a new one."""
    both, one_down = radios(wifi0=True, wifi1=True), radios(wifi0=True, wifi1=False)
    crowded = [rate(T0 + i * STEP, clients=10) for i in range(6)]  # 100 Mb/s a user: below the target
    seen = feed([[crowded[0], both], [crowded[1], both], [crowded[2], both], [crowded[3], one_down],
                 [crowded[4], one_down]])
    assert [h.state for h in seen] == [UP, UP, DEGRADED, DEGRADED, DEGRADED]
    assert [h.radios for h in seen[:3]] == [(RadioMemory("wifi0", 0, False), RadioMemory("wifi1", 0, False))] * 3
    assert seen[1] is not seen[0] and seen[2] is not seen[1]  # new health: the per-user readings move
    assert seen[1].radios is seen[0].radios and seen[2].radios is seen[0].radios
    assert seen[3].radios == (RadioMemory("wifi0", 0, False), RadioMemory("wifi1", 1, False))
    assert seen[3].radios[0] is seen[2].radios[0]  # wifi0 as it was
    assert seen[4].radios == (RadioMemory("wifi0", 0, False), RadioMemory("wifi1", 3, True))


def test_a_radio_seen_up_then_down_is_radio_down_after_down_after_readings_and_clears_after_up_after():
    both, five_down = radios(wifi0=True, wifi1=True), radios(wifi0=True, wifi1=False)
    seen = feed([both, both, both, five_down, five_down, five_down, both, both, both])
    assert [h.causes for h in seen] == [(), (), (), (), ("radio_down",), ("radio_down",), ("radio_down",), (), ()]
    assert [h.state for h in seen] == [UP, UP, UP, UP, DEGRADED, DEGRADED, DEGRADED, UP, UP]
    assert seen[4].crew_cause == "radio_down" and seen[4].stop_cause == "radio_down"
    assert seen[4].radios_down == ("wifi1",) and seen[4].to_json()["radios_down"] == ["wifi1"]
    assert seen[4].radios == (RadioMemory("wifi0", 0, False), RadioMemory("wifi1", 0b11, True))
    assert seen[4].trouble_since == T0 + 4 * STEP  # the cycle it became a cause
    # one reading up: still down (up_after 2), back since this cycle
    assert seen[6].radios[1] == RadioMemory("wifi1", 0b10, True, T0 + 6 * STEP)
    assert seen[7].radios == (RadioMemory("wifi0", 0, False), RadioMemory("wifi1", 0, False))


def test_a_radio_never_seen_up_is_disabled_by_design_and_ignored():
    half = radios(wifi0=True, wifi1=False)  # the 2.4 GHz radio switched off on purpose
    seen = feed([half] * 6)
    assert {h.causes for h in seen} == {()} and seen[-1].state == UP
    assert seen[-1].radios == (RadioMemory("wifi0", 0, False),)  # only what was seen up is remembered
    # the steady path: the same healthy answer gives the same health back
    assert seen[-1] is seen[-2]


def test_the_thresholds_are_down_after_and_up_after():
    rules = replace(RULES, down_after=3, up_after=1, flap_changes=100)
    up, down = radios(r=True), radios(r=False)
    seen = feed([up, down, down, down, up], rules=rules)
    assert [h.causes for h in seen] == [(), (), (), ("radio_down",), ()]


def test_a_radio_down_needs_its_ap_to_answer_and_a_down_ap_is_offline_only():
    up, down = radios(r=True), radios(r=False)
    seen = feed([up, down, down, None, None])
    assert [h.causes for h in seen] == [(), (), ("radio_down",), ("radio_down",), ("offline",)]
    assert seen[4].state == DOWN and seen[4].radios == seen[2].radios  # a miss says nothing about the radios


def test_a_radio_not_said_keeps_its_readings_and_one_gone_is_forgotten_once_nothing_is_against_it():
    seen = feed([radios(a=True, b=True), radios(a=True, b=None), radios(a=True, b=False), radios(a=True),
                 radios(a=True), radios(a=True)])
    assert [h.radios for h in seen][1:] == [
        (RadioMemory("a", 0, False), RadioMemory("b", 0, False)),  # not said: as it was
        (RadioMemory("a", 0, False), RadioMemory("b", 0b1, False)),
        (RadioMemory("a", 0, False), RadioMemory("b", 0b10, False)),  # gone: reads as not down
        (RadioMemory("a", 0, False),),  # nothing against it any more: forgotten
        (RadioMemory("a", 0, False),)]
    # an answer that reports no radios at all says nothing about them
    kept = evaluate_ap(seen[2], True, rate(), T0 + 10 * STEP, LIMITS, RULES, ())
    assert kept.radios == seen[2].radios


def test_a_radio_down_that_leaves_the_table_clears_after_up_after_readings():
    seen = feed([radios(a=True, b=True), radios(a=True, b=False), radios(a=True, b=False), radios(a=True),
                 radios(a=True)])
    assert [h.causes for h in seen] == [(), (), ("radio_down",), ("radio_down",), ()]
    assert seen[-1].radios == (RadioMemory("a", 0, False),)


def test_radio_down_ranks_after_offline_and_before_a_slow_uplink():
    slow = rate(clients=1, link=100.0)
    down = radios(r=False)
    seen = feed([radios(r=True), [slow, down], [slow, down]])
    assert seen[-1].causes == ("radio_down", "uplink_degraded") and seen[-1].cause == "radio_down"


# -- rf_limited -----------------------------------------------------------------------------------------------

def test_rf_limited_below_target_with_busy_air_in_three_of_the_last_four_readings_instead_of_congested():
    crowded = rate(clients=20)  # 50 Mb/s per user on a healthy gigabit link: congested, unless the air is full
    seen = feed([[crowded, busy(85.0)], [crowded, busy(85.0)], [crowded, busy(40.0)], [crowded, busy(75.0)]])
    assert [h.causes for h in seen] == [(), (), ("congested",), ("rf_limited",)]
    assert seen[3].busy == 0b1101 and seen[3].below == 0b1111  # newest in bit 0: 75, 40, 85, 85
    assert seen[3].crew_cause is None and seen[3].stop_cause is None  # capacity, never a crew's
    assert seen[3].below_target and seen[3].state == DEGRADED


def test_rf_limited_takes_precedence_over_below_target_on_a_thin_backhaul_too():
    thin = rate(clients=1, link=100.0)
    limits = ApLimits(200.0, 100.0)  # provisioned for 100: not a degraded uplink, a thin one
    seen = feed([[thin, busy(90.0)]] * 3, limits=limits)
    assert seen[-1].causes == ("rf_limited",)
    seen = feed([[thin, busy(50.0)]] * 3, limits=limits)
    assert seen[-1].causes == ("below_target",)


def test_busy_air_on_target_is_no_finding_and_only_readings_under_the_target_count():
    fine, crowded = rate(clients=2), rate(clients=20)
    seen = feed([[fine, busy(95.0)], [fine, busy(95.0)], [crowded, busy(95.0)], [crowded, busy(95.0)],
                 [crowded, busy(10.0)]])
    assert [h.causes for h in seen] == [(), (), (), (), ("congested",)]
    assert seen[3].busy == 0b11 and seen[4].busy == 0b110


def test_rf_limited_reads_the_busiest_radio_and_the_setting():
    crowded = rate(clients=20)
    one_busy = (Radio("a", oper_up=True, utilization_pct=71.0), Radio("b", oper_up=True, utilization_pct=None))
    assert feed([[crowded, one_busy]] * 3)[-1].causes == ("rf_limited",)
    calm = (Radio("a", oper_up=True, utilization_pct=55.0), Radio("b", oper_up=True, utilization_pct=5.0))
    assert feed([[crowded, calm]] * 3)[-1].causes == ("congested",)
    assert feed([[crowded, calm]] * 3, rules=replace(RULES, rf_busy_pct=50.0))[-1].causes == ("rf_limited",)
    no_figure = radios(a=True, b=True)  # no utilisation said: it cannot be RF-limited
    assert feed([[crowded, no_figure]] * 3)[-1].causes == ("congested",)


def test_a_degraded_uplink_explains_a_shortfall_before_the_air_does():
    slow = rate(clients=20, link=100.0)
    assert feed([[slow, busy(90.0)]] * 3)[-1].causes == ("uplink_degraded",)


# -- controllers and the APs behind them -------------------------------------------------------------------------

def test_a_controller_is_unreachable_after_down_after_misses_and_has_no_other_cause():
    seen = feed([(), None, None, None, (), ()], controller=True)
    assert [h.state for h in seen] == [UP, UP, DOWN, DOWN, DOWN, UP]
    assert [h.causes for h in seen] == [(), (), ("controller_unreachable",), ("controller_unreachable",),
                                        ("controller_unreachable",), ()]
    assert seen[2].crew_cause is None and seen[2].stop_cause == "controller_unreachable"
    assert seen[2].since == T0 + STEP  # its first missed cycle
    crowded = [rate(clients=500), ()]  # a controller's own figures are no capacity finding
    assert feed([crowded] * 4, controller=True)[-1].causes == ()


def _held(health: ApHealth, n: int, at: float) -> ApHealth:
    for i in range(n):
        health = held_health(health, PollErrorKind.CONTROLLER, "controller WLC-1: timeout", at + i * STEP)
    return health


def test_an_ap_held_while_its_controller_is_unread_is_unknown_with_no_cause_and_keeps_its_memory():
    seen = feed([radios(r=True), radios(r=True), radios(r=False), radios(r=False)])
    before = seen[-1]
    assert before.causes == ("radio_down",)
    held = _held(before, 3, T0 + 10 * STEP)
    assert (held.state, held.causes, held.reason_kind, held.reason) == (
        UNKNOWN, (), "controller", "controller WLC-1: timeout")
    assert held.since == T0 + 10 * STEP  # when the hold began, not moved by the next cycles of it
    assert (held.misses, held.goods, held.answered, held.radios, held.below, held.changes) == (
        before.misses, before.goods, before.answered, before.radios, before.below, before.changes)
    assert held.crew_cause is None and held.stop_cause is None
    # the controller answers again: the AP goes on from its memory (the radio still down: a cause at once)
    after = evaluate_ap(held, True, rate(), T0 + 20 * STEP, LIMITS, RULES, radios(r=False))
    assert (after.state, after.causes, after.reason_kind) == (DEGRADED, ("radio_down",), None)
    assert after.changes == ()  # the hold was no answered/missed change


def test_an_ap_down_before_its_controller_went_away_is_down_again_at_its_first_miss_since_its_first_miss():
    seen = feed([(), None, None])
    assert seen[-1].state == DOWN and seen[-1].missing_since == T0 + STEP
    held = _held(seen[-1], 2, T0 + 10 * STEP)
    missed = evaluate_ap(held, False, None, T0 + 20 * STEP, LIMITS, RULES)
    assert (missed.state, missed.causes, missed.since, missed.misses) == (DOWN, ("offline",), T0 + STEP, 3)
    # ... and one that answers is up at once: nobody knew it as down meanwhile, no outage opens for a cycle
    answered = evaluate_ap(held, True, rate(), T0 + 20 * STEP, LIMITS, RULES)
    assert (answered.state, answered.causes, answered.misses) == (UP, (), 0)


def test_an_up_ap_that_had_missed_once_before_the_hold_is_down_at_its_next_miss():
    seen = feed([(), (), None])
    held = _held(seen[-1], 5, T0 + 10 * STEP)
    assert held.state == UNKNOWN and held.misses == 1
    again = evaluate_ap(held, False, None, T0 + 20 * STEP, LIMITS, RULES)
    assert (again.state, again.since) == (DOWN, T0 + 2 * STEP)


def test_an_unusable_ap_starts_afresh_but_remembers_the_radios_it_had_seen_up():
    from hotspotctl.evaluate.status import MISCONFIGURED, unusable_health

    seen = feed([radios(a=True, b=True), radios(a=True, b=False)])
    bad = unusable_health(seen[-1], MISCONFIGURED, PollErrorKind.AUTH, "wrong keys", T0 + 5 * STEP)
    back = evaluate_ap(bad, True, rate(), T0 + 6 * STEP, LIMITS, RULES, radios(a=True, b=False))
    assert back.radios == (RadioMemory("a", 0, False), RadioMemory("b", 0b1, False))


# -- the store ------------------------------------------------------------------------------------------------

def test_radio_memory_and_busy_readings_round_trip_and_rows_from_before_still_load(store, tmp_path):
    from hotspotctl.inventory.importer import import_inventory
    from hotspotctl.settings import InventorySettings
    from hotspotctl.store.outages import load_health, save_health
    from hotspotctl.store.schema import ap_health

    csv = tmp_path / "a.csv"
    csv.write_text("id,lat,lon\nRF-1,19.43,-99.13\nOLD-1,19.44,-99.13\n")
    import_inventory(store, csv, InventorySettings())
    crowded = rate(clients=20)
    name = 'Radio "5 GHz", 1/0:ñ'  # any text a device names its radio
    said = (Radio(name, oper_up=True, utilization_pct=90.0), Radio("off", oper_up=False))
    health = feed([[crowded, said]] * 3 + [[crowded, (Radio(name, oper_up=False, utilization_pct=90.0),)]])[-1]
    assert health.causes == ("rf_limited",) and health.busy == 0b1111
    assert health.radios == (RadioMemory(name, 0b1, False),)
    with store.write() as conn:
        save_health(conn, {"RF-1": health})
        # a row as hotspotctl wrote it before issue 17: no busy, no radios
        conn.execute(ap_health.insert().values(
            ap_id="OLD-1", state="up", since=1.0, misses=0, goods=2, answered=True, below=0, slow=0,
            uplink_degraded=False, trouble_since=0.0, changes="", reboots="", causes=""))
    with store.read() as conn:
        loaded = load_health(conn)
        raw = conn.execute(sa.select(ap_health.c.busy, ap_health.c.radios).where(
            ap_health.c.ap_id == "OLD-1")).one()
    assert loaded["RF-1"] == health
    assert (raw.busy, raw.radios) == (0, None)
    assert (loaded["OLD-1"].busy, loaded["OLD-1"].radios, loaded["OLD-1"].state) == (0, (), UP)
    assert Cause.RF_LIMITED in loaded["RF-1"].causes


def test_a_store_from_before_radio_health_upgrades_and_its_health_rows_load(store_url, tmp_path, monkeypatch):
    """A store at schema 9: migration 10 adds ap_health.busy (0) and .radios (NULL); the rows load as before."""
    from hotspotctl.store import Store, migrations

    with monkeypatch.context() as old:
        old.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:9])
        old.setattr(migrations, "LATEST", 9)
        with Store.open(store_url) as store, store.write() as conn:
            conn.execute(sa.text("INSERT INTO sites (id, name, lat, lon, explicit) "
                                 "VALUES ('s1', 'S1', 19.43, -99.13, :false)"), {"false": False})
            conn.execute(sa.text("INSERT INTO access_points (id, lat, lon, site_id, updated_at) "
                                 "VALUES ('OLD-1', 19.43, -99.13, 's1', :at)"), {"at": "2026-11-22 00:00:00"})
            conn.execute(sa.text(
                "INSERT INTO ap_health (ap_id, state, since, misses, goods, answered, below, slow, uplink_degraded, "
                "trouble_since, changes, reboots, causes) VALUES ('OLD-1', 'degraded', 5.0, 0, 2, :true, 7, 0, "
                ":false, 4.0, '', '', 'congested')"), {"true": True, "false": False})
    from hotspotctl.store.outages import load_health

    with Store.open(store_url) as store, store.read() as conn:
        assert migrations.current_version(conn) == migrations.LATEST  # through 10 and on
        health = load_health(conn)["OLD-1"]
    assert (health.state, health.causes, health.below, health.busy, health.radios) == (
        DEGRADED, ("congested",), 7, 0, ())


_SAID = st.sampled_from([True, True, True, True, False, None, "absent"])  # mostly up: steady runs happen
_ANSWER = st.tuples(_SAID, _SAID, st.sampled_from([2, 2, 20]), st.sampled_from([None, 30.0, 90.0]))


@settings(max_examples=300, deadline=None)
@example(cycles=[(True, True, 2, 30.0)] * 5 + [(True, False, 2, 30.0)] * 3 + [(True, True, 2, 90.0)] * 4
         + [(True, "absent", 2, None)] * 4 + [(True, None, 2, None)] * 3)
@given(cycles=st.lists(st.one_of(st.none(), _ANSWER, _ANSWER, _ANSWER, _ANSWER, _ANSWER), max_size=25))
def test_the_steady_shortcut_gives_what_the_full_evaluation_would(cycles):
    """evaluate_ap returns the previous health for a steady AP; the full rules, run every time, agree."""
    from unittest import mock

    from hotspotctl.evaluate import status

    def run(shortcut: bool) -> list[ApHealth]:
        health, seen = None, []
        with mock.patch.object(status, "_still_steady", status._still_steady if shortcut else lambda *a: False):
            for i, cycle in enumerate(cycles):
                at = T0 + i * STEP
                if cycle is None:
                    health = evaluate_ap(health, False, None, at, LIMITS, RULES)
                else:
                    a, b, clients, pct = cycle
                    said = tuple(Radio(name, oper_up=up, utilization_pct=pct)
                                 for name, up in (("a", a), ("b", b)) if up != "absent")
                    health = evaluate_ap(health, True, rate(at, clients=clients), at, LIMITS, RULES, said)
                seen.append(health)
        return seen

    assert run(True) == run(False)


# -- a radio_down outage ends as of the radio's return ---------------------------------------------------------

def _ledger_run(seen: list[ApHealth], rules: EvaluateSettings = RULES) -> list:
    """The ledger over consecutive evaluations of one AP (site S), as the evaluator runs it: each cycle's
    findings, and a closing outage's end from the AP's health before and after (``returned_at``)."""
    from hotspotctl.evaluate.outages import returned_at, site_findings, update_ledger

    open_outages: dict = {}
    updates = []
    before: ApHealth | None = None
    for i, health in enumerate(seen):
        at = T0 + i * STEP
        troubled = {"ap": health} if health.stop_cause is not None else {}
        findings = site_findings(troubled, {"ap": "S"}, {"S": 1}, rules)
        was = before

        def closed_at(outage, was=was, health=health, at=at):
            return returned_at(outage, {"ap": was} if was is not None else {}, {"ap": health}, at)

        update = update_ledger(open_outages, findings, at, zone_of_site=lambda site: "Z", closed_at=closed_at)
        for outage in update.opened:
            open_outages[outage.site] = outage
        for outage in update.closed:
            del open_outages[outage.site]
        updates.append(update)
        before = health
    return updates


def test_a_radio_down_outage_closes_as_of_the_radios_first_reading_up_again():
    both, five_down = radios(wifi0=True, wifi1=True), radios(wifi0=True, wifi1=False)
    # up, up, down, down (radio_down from here), up (back), up (cleared: up_after 2), up
    seen = feed([both, both, five_down, five_down, both, both, both])
    assert [h.causes for h in seen] == [(), (), (), ("radio_down",), ("radio_down",), (), ()]
    assert seen[4].radios[1] == RadioMemory("wifi1", 0b10, True, T0 + 4 * STEP)  # held down, back since then
    updates = _ledger_run(seen)
    [opened] = updates[3].opened
    assert opened.opened_at == T0 + 3 * STEP
    [closed] = updates[5].closed
    assert closed.closed_at == T0 + 4 * STEP  # its first reading up, not the cycle that confirmed it


def test_a_radio_down_outage_closes_as_of_the_radios_return_whatever_up_after_is():
    rules = replace(RULES, down_after=2, up_after=3, flap_changes=100)
    up, down = radios(r=True), radios(r=False)
    seen = feed([up, down, down, up, down, up, up, up, up], rules=rules)  # back at 3, down again at 4, back at 5
    assert [h.causes for h in seen] == [(), (), ("radio_down",)] + [("radio_down",)] * 4 + [(), ()]
    assert [h.radios[0].up_since for h in seen] == [None, None, None, T0 + 3 * STEP, None, T0 + 5 * STEP,
                                                    T0 + 5 * STEP, None, None]
    [closed] = _ledger_run(seen, rules)[7].closed
    assert closed.closed_at == T0 + 5 * STEP
    # up_after 1: the cycle that sees it up is its return
    quick = replace(rules, up_after=1)
    seen = feed([up, down, down, up, up], rules=quick)
    assert [h.causes for h in seen] == [(), (), ("radio_down",), (), ()]
    [closed] = _ledger_run(seen, quick)[3].closed
    assert closed.closed_at == T0 + 3 * STEP


def test_a_radio_and_a_slow_uplink_on_one_ap_close_as_of_the_later_return():
    up, down, unsaid = radios(r=True), radios(r=False), radios(r=None)
    slow = rate(clients=1, link=100.0)

    def no_link(i: int) -> RateSample:  # an answer with no link figure: the link's readings stay as they were
        return RateSample("ap", T0 + i * STEP, STEP, 1000.0, 1e6, 2e5, 2, None, None, None, None, False, ())

    # the link at speed from 4 on; the radio up at 3, not said at 4, up at 5: both clear at 5
    seen = feed([up, [slow, down], [slow, down], [slow, up], [rate(), unsaid], [rate(), up], [rate(), up]])
    assert [h.causes for h in seen][1:] == [(), *[("radio_down", "uplink_degraded")] * 3, (), ()]
    [closed] = _ledger_run(seen)[5].closed
    assert closed.closed_at == T0 + 4 * STEP  # the radio up since 3, the link at speed since 4
    # the link at speed from 3, no link figure at 4; the radio up from 4: both clear at 5
    seen = feed([up, [slow, down], [slow, down], [rate(), down], [no_link(4), up], [rate(), up], [rate(), up]])
    assert [h.causes for h in seen][1:] == [(), *[("radio_down", "uplink_degraded")] * 3, (), ()]
    [closed] = _ledger_run(seen)[5].closed
    assert closed.closed_at == T0 + 4 * STEP  # the link at speed since 3, the radio up since 4


def test_a_radio_held_down_keeps_its_return_through_the_store(store, tmp_path):
    from hotspotctl.inventory.importer import import_inventory
    from hotspotctl.settings import InventorySettings
    from hotspotctl.store.outages import load_health, save_health

    csv = tmp_path / "a.csv"
    csv.write_text("id,lat,lon\nRF-1,19.43,-99.13\n")
    import_inventory(store, csv, InventorySettings())
    up, down = radios(a=True, b=True), radios(a=True, b=False)
    health = feed([up, down, down, up])[-1]
    assert health.radios == (RadioMemory("a", 0, False), RadioMemory("b", 0b10, True, T0 + 3 * STEP))
    with store.write() as conn:
        save_health(conn, {"RF-1": health})
    with store.read() as conn:
        assert load_health(conn)["RF-1"] == health


_LINK = st.sampled_from([1000.0, 1000.0, 1000.0, 100.0, None])  # mostly at speed; slow; not said
_PING = st.sampled_from(["none", "good", "good", "slower", "lossy", "silent"])  # lossy: over the backhaul's rules
# mostly a minute apart; now and then past flap_minutes (histories of flaps age out) or reboot_loop_hours
_GAP = st.sampled_from([STEP] * 6 + [2 * 3600.0, 25 * 3600.0])
_BACKHAUL = st.sampled_from([None, None, 100.0])  # 100: a capacity under the target whatever the link (below_target)
_TROUBLED = st.tuples(_SAID, _SAID, st.sampled_from([2, 20, 20, 20, None]), st.sampled_from([None, 30.0, 90.0]),
                      _LINK, st.sampled_from([False, False, False, False, True]), _PING, _BACKHAUL)


def _troubled_run(cycles: list, *, shortcut: bool, gaps: Sequence[float] = ()) -> tuple[list[ApHealth], int]:
    """The healths after each cycle, and how many the troubled shortcut gave (0 with it off). Cycle i comes
    ``gaps[i]`` seconds after the one before (STEP when ``gaps`` is shorter)."""
    from unittest import mock

    from hotspotctl.evaluate import status
    from hotspotctl.models.ping import PingResult

    pings = {"none": None, "good": PingResult("h", 3, 3, 1.0, 2.0, 3.0, 0.5),
             "slower": PingResult("h", 3, 3, 2.0, 4.0, 6.0, 1.0),
             "lossy": PingResult("h", 3, 1, 1.0, 2.0, 3.0, 0.5), "silent": PingResult("h", 3, 0)}
    taken = 0

    def counted(*args: object) -> ApHealth | None:
        nonlocal taken
        held = real(*args)
        taken += held is not None
        return held

    real = status._still_troubled
    health, seen, at = None, [], T0
    with mock.patch.object(status, "_still_troubled", counted if shortcut else lambda *a: None):
        for i, cycle in enumerate(cycles):
            at += gaps[i] if i < len(gaps) else STEP
            if cycle is None:
                health = evaluate_ap(health, False, None, at, LIMITS, RULES)
            else:
                a, b, clients, pct, link, rebooted, ping, backhaul = cycle
                said = tuple(Radio(name, oper_up=up, utilization_pct=pct)
                             for name, up in (("a", a), ("b", b)) if up != "absent")
                capacity = backhaul if link is None else min(link, backhaul or link)
                per_user = None if clients is None or capacity is None else capacity / clients
                answer = RateSample("ap", at, STEP, 1000.0, 1e6, 2e5, clients, link, capacity, per_user, None,
                                    rebooted, ("reboot",) if rebooted else ())
                health = evaluate_ap(health, True, answer, at, LIMITS, RULES, said, ping=pings[ping])
            seen.append(health)
    return seen, taken


_CONGESTED = [(True, True, 20, 30.0, 1000.0, False, "good", None)] * 8  # 50 Mb/s a user on a gigabit, air not busy
_BELOW = [(True, True, 20, 30.0, 1000.0, False, "good", 100.0)] * 8  # a 100 Mb/s backhaul: below_target


@settings(max_examples=400, deadline=None)
@example(gaps=(), cycles=_CONGESTED + [(True, True, 25, 30.0, 1000.0, False, "good", None)] * 3 + [None] + _CONGESTED
         + [(True, True, 20, 90.0, 1000.0, False, "lossy", None)] * 4
         + [(True, True, 2, 30.0, 1000.0, False, "none", None)] * 5)
@example(gaps=(), cycles=_CONGESTED + [(True, False, 20, 30.0, 1000.0, False, "good", None)] * 3
         + [(True, True, 20, 30.0, 100.0, False, "good", None)] * 3
         + [(True, "absent", None, None, None, False, "none", None)] * 2
         + [(True, True, 20, 30.0, 1000.0, True, "good", None)] + _CONGESTED)
@example(gaps=(), cycles=_CONGESTED + [(True, True, 20, 30.0, 1000.0, False, "slower", None)] * 2)  # the ping's figures move
@example(gaps=(), cycles=_CONGESTED + [(True, True, 20, 90.0, 1000.0, False, "good", None)] * 5)  # busy fills under a full window
@example(gaps=(), cycles=[*_CONGESTED, (True, True, 20, 30.0, 1000.0, True, "good", None), *_CONGESTED])  # a reboot, then on
@example(gaps=(), cycles=[*_CONGESTED, (True, True, 20, 30.0, 1000.0, False, "lossy", None), *_CONGESTED])  # one bad ping
@example(gaps=(), cycles=[*_CONGESTED, *[(True, True, 2, 30.0, 1000.0, False, "good", None)] * 3])  # back on target: up
@example(gaps=(), cycles=[*_CONGESTED, *[(True, True, 20, 90.0, 1000.0, False, "good", None)] * 4, *_CONGESTED])  # cause moves
@example(gaps=(), cycles=[*_CONGESTED, (True, True, 20, 30.0, 100.0, False, "good", None), *_CONGESTED])  # one slow link reading
@example(gaps=(), cycles=_CONGESTED + [(True, False, 20, 30.0, 1000.0, False, "good", None)] * 3 + _CONGESTED)  # a radio down
@example(gaps=(), cycles=[*_BELOW, (True, True, 20, 30.0, 100.0, False, "slower", 100.0), *_BELOW])  # a slow link, same cause
@given(cycles=st.lists(st.one_of(st.none(), _TROUBLED, _TROUBLED, _TROUBLED, _TROUBLED, _TROUBLED), max_size=30),
       gaps=st.lists(_GAP, max_size=30))
def test_the_troubled_shortcut_gives_what_the_full_evaluation_would(cycles, gaps):
    """A DEGRADED AP whose answer moves only its figures, windows and causes gets its new health from
    _still_troubled; the full rules, run every time, give the same healths, figures included, whatever comes:
    misses, reboots, slow links, busy air (congested <-> rf_limited), radios down or gone, bad pings, readings back
    on target."""
    assert _troubled_run(cycles, shortcut=True, gaps=gaps)[0] == _troubled_run(cycles, shortcut=False, gaps=gaps)[0]


def test_a_congested_ap_held_cycle_after_cycle_takes_the_shortcut_with_its_figures_fresh():
    """Congested for good (below 3 of 4 readings: degraded from the third): from its next answer on, each answer
    goes through _still_troubled (the fourth one still filling the ``below`` window), and the health it gives
    carries this answer's clients, per-user figure and window, the verdict and its since unchanged."""
    cycles = _CONGESTED + [(True, True, 25, 30.0, 1000.0, False, "good", None)] * 3
    seen, taken = _troubled_run(cycles, shortcut=True)
    assert [h.state for h in seen] == [UP, UP] + [DEGRADED] * 9
    assert [h.below for h in seen[:5]] == [0b1, 0b11, 0b111, 0b1111, 0b1111]
    assert taken == 8  # every degraded cycle after the first: nothing moves but the figures and the window
    last = seen[-1]
    assert (last.causes, last.clients, last.per_user_mbps, last.since) == ((Cause.CONGESTED,), 25, 40.0, seen[2].since)
    assert seen == _troubled_run(cycles, shortcut=False)[0]
