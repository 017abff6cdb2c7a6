"""Issue 18's evaluation with ping: agent_silent (answers ping, not SNMP) and backhaul_degraded (loss or rtt over
the thresholds), one cycle at a time through the pure functions of evaluate/status.py; their store round trip."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from hotspotctl.errors import PollErrorKind
from hotspotctl.evaluate.outages import STOP_CAUSES, returned_at, site_findings
from hotspotctl.evaluate.rates import RateSample
from hotspotctl.evaluate.status import (
    CAUSES,
    CREW_CAUSES,
    DEGRADED,
    DOWN,
    MISCONFIGURED,
    UP,
    ApHealth,
    ApLimits,
    Cause,
    agent_silent_reason,
    evaluate_ap,
    ping_reading,
    unusable_health,
)
from hotspotctl.models.ping import PingResult
from hotspotctl.settings import EvaluateSettings

RULES = EvaluateSettings()  # down_after 2, up_after 2, ping_loss_pct 50, ping_rtt_ms 150
LIMITS = ApLimits(target_mbps=200.0, expected_link_mbps=1000.0)
STEP = 60.0
T0 = 1000.0


def rate(at: float = 0.0) -> RateSample:
    return RateSample("ap", at, STEP, 1000.0, 1e6, 2e5, 2, 1000.0, 1000.0, 500.0, None, False, ())


def pong(received: int = 3, rtt: float = 2.0, *, sent: int = 3) -> PingResult:
    """A ping as the cycle's (ping.count 3)."""
    if received == 0:
        return PingResult("192.0.2.1", sent, 0)
    return PingResult("192.0.2.1", sent, received, rtt * 0.5, rtt, rtt * 1.5, 0.25)


GOOD, SLOW, LOSSY, LOST = pong(), pong(rtt=210.0), pong(received=1), pong(received=0)  # LOSSY: 66.7 % lost


def feed(cycles: list, *, start: ApHealth | None = None, rules: EvaluateSettings = RULES) -> list[ApHealth]:
    """Each cycle: a PingResult = SNMP answered with that ping; None = SNMP answered, not pinged; "miss" = SNMP silent."""
    health, seen = start, []
    for i, cycle in enumerate(cycles):
        at = T0 + i * STEP
        if cycle == "miss":
            health = evaluate_ap(health, False, None, at, LIMITS, rules)
        else:
            health = evaluate_ap(health, True, rate(at), at, LIMITS, rules, ping=cycle)
        seen.append(health)
    return seen


# -- the vocabulary --------------------------------------------------------------------------------------------

def test_backhaul_degraded_is_a_crew_cause_after_radio_down_and_agent_silent_a_misconfigured_kind():
    from hotspotctl.collectors.model import FailureClass, failure_class

    assert Cause.BACKHAUL_DEGRADED == "backhaul_degraded" and PollErrorKind.AGENT_SILENT == "agent_silent"
    assert CAUSES.index(Cause.BACKHAUL_DEGRADED) == CAUSES.index(Cause.RADIO_DOWN) + 1
    assert STOP_CAUSES.index(Cause.BACKHAUL_DEGRADED) == STOP_CAUSES.index(Cause.RADIO_DOWN) + 1
    assert Cause.BACKHAUL_DEGRADED in CREW_CAUSES
    assert failure_class(PollErrorKind.AGENT_SILENT) == FailureClass.MISCONFIGURED


# -- ping readings ---------------------------------------------------------------------------------------------

def test_a_ping_reading_is_bad_above_either_threshold_and_none_when_nothing_came_back():
    assert ping_reading(GOOD, RULES) is False
    assert ping_reading(pong(received=2), RULES) is False  # one echo of 3 lost: 33.3 %
    assert ping_reading(pong(received=1, sent=2), RULES) is False  # 50 % is not above 50 %
    assert ping_reading(pong(rtt=150.0), RULES) is False  # nor 150 ms above 150 ms
    assert ping_reading(LOSSY, RULES) is True  # 66.7 %
    assert ping_reading(pong(rtt=150.5), RULES) is True
    assert ping_reading(LOST, RULES) is None  # ICMP filtered while SNMP answers: no measure of the backhaul
    assert ping_reading(PingResult("192.0.2.1", 0, 0, error="no route"), RULES) is None
    assert ping_reading(None, RULES) is None
    strict = EvaluateSettings(ping_loss_pct=0.0, ping_rtt_ms=1.0)
    assert ping_reading(pong(received=2), strict) is True and ping_reading(pong(rtt=1.5), strict) is True


def test_agent_silent_names_the_loss_and_the_rtt_and_needs_an_answer_within_the_loss_threshold():
    assert agent_silent_reason(pong(rtt=3.456), RULES) == (
        "answers ping (loss 0%, rtt 3.5 ms) but not SNMP: check its SNMP agent and credentials")
    assert agent_silent_reason(pong(received=2, rtt=12.0), RULES) == (
        "answers ping (loss 33.3%, rtt 12 ms) but not SNMP: check its SNMP agent and credentials")
    assert agent_silent_reason(LOSSY, RULES) is None  # 66.7 % lost: the loss may be what kept SNMP from answering
    assert agent_silent_reason(LOST, RULES) is None  # answers neither: a miss
    assert agent_silent_reason(None, RULES) is None  # not pinged: as before pings


def test_an_agent_silent_ap_is_misconfigured_at_once_never_down_and_answers_again_afresh():
    seen = feed([GOOD, GOOD, GOOD])
    reason = agent_silent_reason(GOOD, RULES)
    assert reason is not None
    silent = unusable_health(seen[-1], MISCONFIGURED, PollErrorKind.AGENT_SILENT, reason, T0 + 3 * STEP)
    again = unusable_health(silent, MISCONFIGURED, PollErrorKind.AGENT_SILENT, reason, T0 + 4 * STEP)
    assert (silent.state, silent.reason_kind, silent.reason, silent.causes, silent.misses) == (
        MISCONFIGURED, "agent_silent", "answers ping (loss 0%, rtt 2 ms) but not SNMP: check its SNMP agent and "
        "credentials", (), 0)
    assert again is silent and silent.since == T0 + 3 * STEP and silent.crew_cause is None
    back = evaluate_ap(again, True, rate(), T0 + 5 * STEP, LIMITS, RULES, ping=GOOD)
    assert (back.state, back.causes, back.reason_kind) == (UP, (), None)


# -- backhaul_degraded -----------------------------------------------------------------------------------------

def test_loss_over_the_threshold_down_after_cycles_in_a_row_is_backhaul_degraded_cleared_after_up_after_good():
    seen = feed([GOOD, GOOD, GOOD, LOSSY, LOSSY, LOSSY, GOOD, GOOD, GOOD])
    assert [h.causes for h in seen] == [(), (), (), (), ("backhaul_degraded",), ("backhaul_degraded",),
                                        ("backhaul_degraded",), (), ()]
    assert [h.state for h in seen] == [UP, UP, UP, UP, DEGRADED, DEGRADED, DEGRADED, UP, UP]
    assert [h.ping_bad for h in seen] == [0, 0, 0, 0b1, 0b11, 0b11, 0b10, 0, 0]
    assert seen[4].crew_cause == "backhaul_degraded" and seen[4].stop_cause == "backhaul_degraded"
    assert seen[4].trouble_since == T0 + 4 * STEP
    assert (seen[4].ping_loss_pct, seen[4].ping_rtt_ms) == (66.7, 2.0)
    assert (seen[8].ping_loss_pct, seen[8].ping_rtt_ms) == (0.0, 2.0)


def test_latency_over_the_threshold_is_backhaul_degraded_and_one_bad_reading_is_not():
    seen = feed([GOOD, GOOD, SLOW, GOOD, SLOW, SLOW, SLOW])
    assert [h.causes for h in seen] == [(), (), (), (), (), ("backhaul_degraded",), ("backhaul_degraded",)]
    assert (seen[5].ping_loss_pct, seen[5].ping_rtt_ms) == (0.0, 210.0)


def test_no_reading_keeps_the_readings_as_they_were():
    """Not pinged, or every echo lost while SNMP answers (ICMP filtered): neither good nor bad."""
    seen = feed([LOSSY, LOST, None, LOSSY, LOST, None, GOOD, LOST, GOOD])
    assert [h.ping_bad for h in seen] == [0b1, 0b1, 0b1, 0b11, 0b11, 0b11, 0b10, 0b10, 0]
    assert [bool(h.causes) for h in seen] == [False, False, False, True, True, True, True, True, False]


def test_a_down_ap_keeps_its_readings_but_only_offline_and_comes_back_degraded_if_still_bad():
    seen = feed([LOSSY, LOSSY, "miss", "miss", LOSSY, LOSSY])
    assert [h.causes for h in seen] == [(), ("backhaul_degraded",), ("backhaul_degraded",), ("offline",),
                                        ("offline",), ("backhaul_degraded",)]
    assert [h.state for h in seen] == [UP, DEGRADED, DEGRADED, DOWN, DOWN, DEGRADED]


def test_backhaul_degraded_comes_after_radio_down_and_before_uplink_degraded():
    from hotspotctl.models.radios import Radio

    slow_link = RateSample("ap", 0.0, STEP, 1000.0, 1e6, 2e5, 2, 100.0, 100.0, 50.0, None, False, ())
    health = None
    for i, radios in enumerate([(Radio("a", oper_up=True),), (Radio("a", oper_up=False),),
                                (Radio("a", oper_up=False),)]):
        health = evaluate_ap(health, True, slow_link, T0 + i * STEP, LIMITS, RULES, radios, ping=SLOW)
    assert health is not None
    assert health.causes == ("radio_down", "backhaul_degraded", "uplink_degraded")


def test_a_steady_ap_is_not_steady_with_a_bad_ping():
    steady = feed([GOOD, GOOD, GOOD])
    assert feed([GOOD], start=steady[-1])[0] is steady[-1]  # the shortcut: the same object
    moved = feed([LOSSY], start=steady[-1])[0]
    assert moved is not steady[-1] and moved.ping_bad == 0b1 and not moved.same_verdict(steady[-1])


def test_a_controller_has_no_backhaul_cause():
    health = None
    for i in range(4):
        health = evaluate_ap(health, True, rate(), T0 + i * STEP, LIMITS, RULES, controller=True, ping=LOSSY)
    assert health is not None and (health.state, health.causes, health.ping_bad) == (UP, (), 0)


def test_a_site_finding_and_its_return_for_backhaul_degraded():
    seen = feed([LOSSY, LOSSY, LOSSY, GOOD, GOOD])
    findings = site_findings({"AP-1": seen[1]}, {"AP-1": "S1"}, {"S1": 3}, RULES)
    assert (findings["S1"].cause, findings["S1"].causes, findings["S1"].aps, findings["S1"].down) == (
        "backhaul_degraded", ("backhaul_degraded",), ("AP-1",), 0)
    from hotspotctl.models.outages import Outage

    outage = Outage(id=1, site="S1", zone="z", cause=Cause.BACKHAUL_DEGRADED, causes=(Cause.BACKHAUL_DEGRADED,),
                    aps=("AP-1",), aps_now=("AP-1",), opened_at=T0 + STEP, updated_at=T0 + 3 * STEP)
    # cleared by the cycle of T0 + 4 steps: the outage ends then (no ok_since for ping readings)
    assert returned_at(outage, {"AP-1": seen[3]}, {"AP-1": seen[4]}, T0 + 4 * STEP) == T0 + 4 * STEP


# -- the crew action -----------------------------------------------------------------------------------------

def test_the_crew_action_names_each_ap_with_its_loss_and_rtt():
    from hotspotctl.reports.crews import action_for

    lossy = feed([LOSSY, LOSSY])[-1]
    slow = feed([SLOW, pong(rtt=187.25)])[-1]
    text = action_for("backhaul_degraded", ("backhaul_degraded",), aps=("AP-1", "AP-2"),
                      healths={"AP-1": lossy, "AP-2": slow})
    assert text == ("Backhaul poor on 2 APs (AP-1: loss 66.7%, rtt 2 ms; AP-2: loss 0%, rtt 187.2 ms): check the "
                    "backhaul link (the radio link's alignment and signal, or the provider's line and modem) and "
                    "the site router; call the provider if it stays poor.")


# -- the store ------------------------------------------------------------------------------------------------

def test_ping_readings_round_trip_and_rows_without_them_load(store, tmp_path):
    from hotspotctl.inventory.importer import import_inventory
    from hotspotctl.settings import InventorySettings
    from hotspotctl.store.outages import load_health, save_health
    from hotspotctl.store.schema import ap_health

    csv = tmp_path / "a.csv"
    csv.write_text("id,lat,lon\nBH-1,19.43,-99.13\nOK-1,19.44,-99.13\nSIL-1,19.45,-99.13\n")
    import_inventory(store, csv, InventorySettings())
    degraded = feed([LOSSY, pong(received=1, rtt=187.123456)])[-1]
    plain = feed([None, None])[-1]  # never pinged
    reason = agent_silent_reason(GOOD, RULES)
    assert reason is not None
    silent = unusable_health(plain, MISCONFIGURED, PollErrorKind.AGENT_SILENT, reason, T0)
    with store.write() as conn:
        save_health(conn, {"BH-1": degraded, "OK-1": plain, "SIL-1": silent})
    with store.read() as conn:
        loaded = load_health(conn)
        raw = dict(conn.execute(sa.select(ap_health.c.ap_id, ap_health.c.ping)).all())
    assert raw == {"BH-1": "[3,1,66.7,187.123]", "OK-1": None, "SIL-1": None}
    assert loaded["BH-1"] == replace(degraded, ping_rtt_ms=187.123)
    assert loaded["OK-1"] == plain and loaded["SIL-1"] == silent
    assert loaded["SIL-1"].reason_kind == PollErrorKind.AGENT_SILENT


def test_a_store_from_before_ping_health_upgrades_and_its_health_rows_load(store_url, monkeypatch):
    """A store at schema 10: migration 13 adds ap_health.ping (NULL); the rows load with no ping readings."""
    from hotspotctl.store import Store, migrations

    with monkeypatch.context() as old:
        old.setattr(migrations, "MIGRATIONS", tuple(m for m in migrations.MIGRATIONS if m.version <= 10))
        old.setattr(migrations, "LATEST", 10)
        with Store.open(store_url) as store, store.write() as conn:
            conn.execute(sa.text("INSERT INTO sites (id, name, lat, lon, explicit) "
                                 "VALUES ('s1', 'S1', 19.43, -99.13, :false)"), {"false": False})
            conn.execute(sa.text("INSERT INTO access_points (id, lat, lon, site_id, updated_at) "
                                 "VALUES ('OLD-1', 19.43, -99.13, 's1', :at)"), {"at": "2026-12-05 00:00:00"})
            conn.execute(sa.text(
                "INSERT INTO ap_health (ap_id, state, since, misses, goods, answered, below, slow, uplink_degraded, "
                "trouble_since, changes, reboots, causes) VALUES ('OLD-1', 'degraded', 5.0, 0, 2, :true, 0, 0, "
                ":false, 4.0, '', '', 'radio_down')"), {"true": True, "false": False})
    from hotspotctl.store.outages import load_health

    with Store.open(store_url) as store, store.read() as conn:
        assert migrations.current_version(conn) == migrations.LATEST >= 13  # upgraded past ping health, to the newest
        health = load_health(conn)["OLD-1"]
    assert (health.state, health.causes, health.ping_bad, health.backhaul_degraded, health.ping_loss_pct,
            health.ping_rtt_ms) == (DEGRADED, ("radio_down",), 0, False, None, None)
