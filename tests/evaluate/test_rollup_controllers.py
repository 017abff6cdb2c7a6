"""The cycle's rollup: an AP behind an unreadable controller is unknown, never down; a controller is no hotspot."""

from __future__ import annotations

from hotspotctl.collectors.model import PollError
from hotspotctl.evaluate.rates import RateSample
from hotspotctl.evaluate.rollup import rollup
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.scheduling.cycle import ApOutcome

WLC = AccessPoint("WLC-1", None, None, role="controller")
APS = [AccessPoint(f"AP-{i}", 19.4, -99.1, district="Iztapalapa", controller="WLC-1", site_id="s1") for i in (1, 2)]
SOLO = AccessPoint("SOLO-1", 19.5, -99.1, district="Coyoacán", site_id="s2")


def _rate(ap: AccessPoint) -> RateSample:
    return RateSample(ap.id, 0.0, 60.0, 1000.0, 1e6, 2e6, 5, 1000.0, 1000.0, 200.0, 0.4, False, ())


def test_aps_behind_an_unreadable_controller_are_unknown_and_the_controller_is_not_counted():
    outcomes = [ApOutcome(WLC, "test_wlc", None, PollError(WLC.id, 0.0, "timeout", "no answer")),
                *(ApOutcome(ap, "test_wlc", None, PollError(ap.id, 0.0, "controller", "controller WLC-1: timeout"))
                  for ap in APS),
                ApOutcome(SOLO, "generic", _rate(SOLO), None)]
    result = rollup(outcomes)
    fleet = result.fleet.to_json()
    assert {k: fleet[k] for k in ("aps", "up", "down", "unknown", "unmonitored", "misconfigured", "clients")} == {
        "aps": 3, "up": 1, "down": 0, "unknown": 2, "unmonitored": 0, "misconfigured": 0, "clients": 5}
    assert {d: (t.aps, t.unknown, t.down) for d, t in result.districts.items()} == {
        "Iztapalapa": (2, 2, 0), "Coyoacán": (1, 0, 0)}
    assert result.worst_sites() == []  # nothing down, nothing below target
    assert set(result.sites) == {"s1", "s2"}  # the controller is in no site, and not counted in ""


def test_a_rollup_without_sites_tallies_the_fleet_and_districts_alike():
    """A scheduled cycle asks for no site tallies (it writes districts only); the rest is the same."""
    down = AccessPoint("AP-3", 19.4, -99.1, district="Iztapalapa", site_id="s3")
    outcomes = [ApOutcome(SOLO, "generic", _rate(SOLO), None), *(ApOutcome(ap, "generic", _rate(ap), None) for ap in APS),
                ApOutcome(down, "generic", None, PollError(down.id, 0.0, "timeout", "no answer"))]
    whole, lean = rollup(outcomes), rollup(outcomes, sites=False)
    assert lean.sites == {} and lean.worst_sites() == []
    assert {s: (t.aps, t.down) for s, t in whole.sites.items()} == {"s2": (1, 0), "s1": (2, 0), "s3": (1, 1)}
    assert lean.fleet == whole.fleet and lean.districts == whole.districts
    assert {d: (t.aps, t.up, t.down) for d, t in lean.districts.items()} == {"Coyoacán": (1, 1, 0),
                                                                              "Iztapalapa": (3, 2, 1)}
