"""Issue 17's causes through the real Evaluator, store and ledger, fed cycle outcomes as the cycle builds them.

A controller that does not answer is one outage (controller_unreachable) and one stop in the NOC's list,
while its APs are unknown: no AP outage, no site_offline, not in availability. A radio down on an AP that
answers is a crew's cause; a shortfall in busy air is rf_limited, a capacity finding and no outage.
"""

from __future__ import annotations

import pytest

from hotspotctl.collectors.model import PollError
from hotspotctl.evaluate.rates import RateSample
from hotspotctl.evaluate.status import Limits
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.inventory.zones import known_zones, resolve_zones
from hotspotctl.models.radios import Radio
from hotspotctl.reports.availability import capacity_rows
from hotspotctl.reports.crews import crew_lists_from_store
from hotspotctl.reports.outages import find_outages
from hotspotctl.scheduling.cycle import ApOutcome
from hotspotctl.scheduling.evaluation import Evaluator
from hotspotctl.settings import CrewZoneSettings, EvaluateSettings, Settings
from hotspotctl.store.outages import list_outages, load_availability, load_health
from tests.conftest import write

T0 = 1_795_330_800.0  # 2026-11-22T07:00:00Z, the top of an hour
STEP = 60.0
INVENTORY = """id,role,lat,lon,alcaldia,programa,site,controller
WLC-1,controller,,,,,,
PLAZA-1,,19.38,-99.10,Iztapalapa,Pilares,PLAZA,WLC-1
PLAZA-2,,19.38,-99.10,Iztapalapa,Pilares,PLAZA,WLC-1
PLAZA-3,,19.38,-99.10,Iztapalapa,Pilares,PLAZA,WLC-1
SOLO-1,,19.41,-99.10,Iztapalapa,Escuelas,SOLO,
"""
PLAZA = ("PLAZA-1", "PLAZA-2", "PLAZA-3")
BOTH_UP = (Radio("wifi0", band="2.4GHz", oper_up=True), Radio("wifi1", band="5GHz", oper_up=True))

ENGLISH = Settings(crew_zones=CrewZoneSettings(language="en"))  # the actions' English words below


@pytest.fixture
def fleet(store, rules, tmp_path) -> Fleet:
    import_inventory(store, write(tmp_path / "aps.csv", INVENTORY), rules)
    return Fleet.load(store, CrewZones({}, {}))


def answered(fleet: Fleet, ap_id: str, at: float, *, clients: int = 4, radios: tuple[Radio, ...] = BOTH_UP
             ) -> ApOutcome:
    """A gigabit link; 4 clients meet the 200 Mb/s target, 20 do not."""
    rate = RateSample(ap=ap_id, at=at, interval_s=STEP, uptime_s=1000.0, in_bps=1e6, out_bps=2e6, clients=clients,
                      link_mbps=1000.0, capacity_mbps=1000.0, per_user_mbps=1000.0 / clients,
                      delivered_per_user_mbps=0.4, rebooted=False, events=())
    return ApOutcome(fleet.aps[ap_id], "generic", rate, None, 3.0, radios=radios)


def failed(fleet: Fleet, ap_id: str, at: float, kind: str, message: str = "") -> ApOutcome:
    return ApOutcome(fleet.aps[ap_id], "generic", None, PollError(ap_id, at, kind, message or f"{ap_id}: {kind}"))


def evaluator(store, fleet: Fleet, **rules) -> Evaluator:
    return Evaluator(store, EvaluateSettings(**rules), sorted(fleet.aps.values(), key=lambda ap: ap.id), fleet.zones)


def cycle(fleet: Fleet, at: float, *, controller: str | None = None, plaza: str | None = None,
          **special: ApOutcome) -> list[ApOutcome]:
    """One cycle's outcomes: every device answers unless ``controller`` / ``plaza`` give a failure kind."""
    out = [failed(fleet, "WLC-1", at, controller) if controller else answered(fleet, "WLC-1", at, radios=())]
    for ap_id in PLAZA:
        if ap_id in special:
            out.append(special[ap_id])
        elif plaza:
            out.append(failed(fleet, ap_id, at, plaza, "controller WLC-1 did not answer"))
        else:
            out.append(answered(fleet, ap_id, at))
    out.append(answered(fleet, "SOLO-1", at, clients=3, radios=()))
    return out


def test_a_controller_down_is_one_outage_one_noc_stop_and_its_aps_unknown_not_down(store, fleet):
    ev = evaluator(store, fleet)
    at, results = T0, []
    for n in range(8):  # up twice, unreachable four cycles (timeout, timeout, backoff, backoff), back twice
        kind = ("timeout", "timeout", "backoff", "backoff")[n - 2] if 2 <= n < 6 else None
        results.append(ev.evaluate(cycle(fleet, at, controller=kind, plaza="controller" if kind else None), at))
        at += STEP
    assert [r.controllers for r in results] == [{"up": 1}] * 3 + [{"down": 1}] * 4 + [{"up": 1}]
    for r in results[2:6]:
        assert r.states == {"unknown": 3, "up": 1} and r.reasons == {"controller": 3} and r.causes == {}
    assert [r.states for r in results[6:]] == [{"up": 4}] * 2

    [opened] = results[3].ledger.opened
    assert (opened.site, opened.zone, opened.cause, opened.causes, opened.aps, opened.opened_at) == (
        "controller:WLC-1", "NOC", "controller_unreachable", ("controller_unreachable",), ("WLC-1",), T0 + 2 * STEP)
    assert [bool(r.ledger) for r in results] == [False, False, False, True, False, False, False, True]
    [closed] = results[7].ledger.closed
    assert (closed.id, closed.closed_at) == (opened.id, T0 + 6 * STEP)  # as of its first answer again
    with store.read() as conn:
        assert [(o.site, o.cause, o.aps) for o in list_outages(conn)] == [
            ("controller:WLC-1", "controller_unreachable", ("WLC-1",))]  # no AP outage, no site_offline
        rows = load_availability(conn, T0)
        healths = load_health(conn)
    # availability: the PLAZA APs only while known (2 cycles before, 2 after); the controller never
    assert sorted((r["program"], r["samples"], r["up"]) for r in rows) == [("Escuelas", 8, 8), ("Pilares", 12, 12)]
    assert healths["WLC-1"].state == "up" and healths["PLAZA-1"].state == "up"


def test_the_noc_list_has_the_controllers_one_stop_and_no_crew_is_sent_to_its_aps(store, fleet):
    ev = evaluator(store, fleet)
    for n in range(4):
        at = T0 + n * STEP
        result = ev.evaluate(cycle(fleet, at, controller="timeout" if n >= 1 else None,
                                   plaza="controller" if n >= 1 else None), at)
    assert result.open_outages == 1
    lists = crew_lists_from_store(store, Fleet.load(store, fleet.zones), ENGLISH, result.at)
    assert [(z.zone, [(s.site, s.name, s.cause, s.aps) for s in z.stops]) for z in lists] == [
        ("NOC", [("controller:WLC-1", "WLC-1", "controller_unreachable", ("WLC-1",))])]
    [stop] = lists[0].stops
    assert stop.action.startswith("Controller WLC-1 unreachable: its 3 APs show as unknown (not down)")
    # the NOC is a zone like the others for the commands: crews list --zone noc, outages list --zone NOC
    loaded = Fleet.load(store, fleet.zones)
    zones = resolve_zones(["noc"], known_zones(loaded, Settings().crew_zones))
    assert zones == ["NOC"]
    assert [z.zone for z in crew_lists_from_store(store, loaded, Settings(), result.at, zones=zones)] == ["NOC"]
    assert [o.cause for o in find_outages(store, loaded, open_only=True, zones=["NOC"])] == ["controller_unreachable"]
    assert find_outages(store, loaded, open_only=True, zones=["Iztapalapa"]) == []
    assert (stop.lat, stop.lon) == pytest.approx((19.38, -99.10), abs=1e-9)  # no coordinates of its own: where its APs are
    # the people a dead controller cuts off are its 3 APs' (Pilares, Iztapalapa: 4 clients each at this hour in the
    # history the first cycle wrote), not its own row's default usual_clients (10)
    assert stop.people == 12


def test_an_ap_offline_before_its_controller_died_leaves_its_outage_and_is_down_again_once_it_answers(
        store, fleet):
    ev = evaluator(store, fleet)
    at = T0
    first_miss = at
    for _ in range(2):  # PLAZA-2 leaves its controller: an offline AP, a crew's
        result = ev.evaluate(cycle(fleet, at, **{"PLAZA-2": failed(fleet, "PLAZA-2", at, "not_joined")}), at)
        at += STEP
    assert [(o.site, o.cause, o.aps) for o in result.ledger.opened] == [("PLAZA", "offline", ("PLAZA-2",))]
    # the controller stops answering: PLAZA-2 is unknown now, and leaves its outage (no crew for what nobody knows)
    result = ev.evaluate(cycle(fleet, at, controller="timeout", plaza="controller"), at)
    assert [(o.site, o.closed_at) for o in result.ledger.closed] == [("PLAZA", at)]
    held = ev.healths["PLAZA-2"]
    assert (held.state, held.causes, held.misses, held.missing_since) == ("unknown", (), 2, first_miss)
    at += STEP
    result = ev.evaluate(cycle(fleet, at, controller="timeout", plaza="controller"), at)
    assert [(o.site, o.cause) for o in result.ledger.opened] == [("controller:WLC-1", "controller_unreachable")]
    at += STEP
    # the controller answers; PLAZA-2 is still not joined: DOWN at once, since its first miss
    result = ev.evaluate(cycle(fleet, at, **{"PLAZA-2": failed(fleet, "PLAZA-2", at, "not_joined")}), at)
    assert result.states == {"down": 1, "up": 3}
    assert [(o.site, o.cause, o.aps, o.opened_at) for o in result.ledger.opened] == [
        ("PLAZA", "offline", ("PLAZA-2",), first_miss)]
    assert ev.healths["PLAZA-2"].since == first_miss


def test_a_radio_down_is_a_crew_stop_and_busy_air_an_rf_limited_capacity_finding(store, fleet):
    ev = evaluator(store, fleet)
    five_down = (Radio("wifi0", band="2.4GHz", oper_up=True), Radio("wifi1", band="5GHz", oper_up=False))
    never_up = (Radio("wifi0", band="2.4GHz", oper_up=False), Radio("wifi1", band="5GHz", oper_up=True))
    busy = (Radio("wifi0", band="2.4GHz", oper_up=True, utilization_pct=30.0),
            Radio("wifi1", band="5GHz", oper_up=True, utilization_pct=88.0))
    results = []
    for n in range(4):
        at = T0 + n * STEP
        results.append(ev.evaluate(cycle(fleet, at, **{
            "PLAZA-1": answered(fleet, "PLAZA-1", at, radios=BOTH_UP if n == 0 else five_down),
            "PLAZA-2": answered(fleet, "PLAZA-2", at, clients=20, radios=busy),
            "PLAZA-3": answered(fleet, "PLAZA-3", at, radios=never_up)}), at))
    assert [r.causes for r in results] == [{}, {}, {"radio_down": 1, "rf_limited": 1}, {"radio_down": 1,
                                                                                         "rf_limited": 1}]
    [opened] = results[2].ledger.opened
    assert (opened.site, opened.cause, opened.aps) == ("PLAZA", "radio_down", ("PLAZA-1",))  # PLAZA-2 and -3: none
    lists = crew_lists_from_store(store, Fleet.load(store, fleet.zones), ENGLISH, results[-1].at)
    [stop] = [s for z in lists for s in z.stops]
    assert (stop.site, stop.cause, stop.aps) == ("PLAZA", "radio_down", ("PLAZA-1",))
    assert stop.action.startswith("Radio down on 1 AP (PLAZA-1: wifi1): check the antenna cables")
    with store.read() as conn:
        healths = load_health(conn)
    assert healths["PLAZA-1"].radios_down == ("wifi1",) and healths["PLAZA-3"].radios_down == ()
    limits = Limits(EvaluateSettings())
    rows = capacity_rows(fleet.hotspots, healths, lambda ap: limits.for_ap(ap).target_mbps, {})
    assert [(r.ap, r.cause, r.clients, r.per_user_mbps) for r in rows] == [("PLAZA-2", "rf_limited", 20, 50.0)]
