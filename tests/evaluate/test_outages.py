"""Site findings and the ledger: one outage per site, opened, followed and closed."""

from __future__ import annotations

from hotspotctl.evaluate.outages import Outage, site_findings, update_ledger
from hotspotctl.evaluate.status import DEGRADED, DOWN, ApHealth
from hotspotctl.settings import EvaluateSettings

RULES = EvaluateSettings()


def down(since: float = 100.0, clients: int = 3) -> ApHealth:
    return ApHealth(state=DOWN, since=since, causes=("offline",), clients=clients, trouble_since=since)


def slow() -> ApHealth:
    return ApHealth(state=DEGRADED, since=50.0, causes=("uplink_degraded",), clients=4, trouble_since=50.0)


SITES = {f"P-{i:02d}": "PILARES" for i in range(30)} | {"S-1": "STREET-1", "S-2": "STREET-2", "M-1": "METRO",
                                                       "M-2": "METRO", "M-3": "METRO"}
SIZES = {"PILARES": 30, "STREET-1": 1, "STREET-2": 1, "METRO": 3}


def test_a_site_mostly_down_is_one_site_outage_and_lone_aps_are_their_own():
    troubled = {f"P-{i:02d}": down(100.0 + i) for i in range(25)} | {"S-1": down(), "M-1": slow()}
    findings = site_findings(troubled, SITES, SIZES, RULES)
    assert set(findings) == {"PILARES", "STREET-1", "METRO"}
    pilares = findings["PILARES"]
    assert pilares.cause == "site_offline" and pilares.causes == ("site_offline", "offline")
    assert len(pilares.aps) == 25 and pilares.down == 25 and pilares.site_aps == 30
    assert pilares.clients == 75 and pilares.since == 100.0
    assert findings["STREET-1"].cause == "offline"  # a lone AP down is not a site outage
    assert findings["METRO"].cause == "uplink_degraded" and findings["METRO"].aps == ("M-1",)


def test_under_the_share_a_site_is_offline_aps_not_a_site_outage():
    troubled = {f"P-{i:02d}": down() for i in range(23)}  # 23 of 30 < 80 %
    assert site_findings(troubled, SITES, SIZES, RULES)["PILARES"].cause == "offline"


def test_healthy_and_congested_aps_make_no_finding():
    congested = ApHealth(state=DEGRADED, causes=("congested",), clients=40)
    assert site_findings({"M-1": congested}, SITES, SIZES, RULES) == {}


def ledger_cycle(open_outages, troubled, now, **kwargs):
    findings = site_findings(troubled, SITES, SIZES, RULES)
    return update_ledger(open_outages, findings, now, zone_of_site=lambda site: f"zone-{site}", **kwargs)


def test_ledger_opens_follows_and_closes_one_outage_per_site():
    first = ledger_cycle({}, {"M-1": down(90.0, 5)}, 200.0)
    assert [(o.site, o.cause, o.aps, o.opened_at, o.zone) for o in first.opened] == [
        ("METRO", "offline", ("M-1",), 90.0, "zone-METRO")]
    opened = {"METRO": first.opened[0]}
    # the site goes dark: the same outage escalates, it is not a second one
    second = ledger_cycle(opened, {"M-1": down(90.0, 5), "M-2": down(250.0, 7), "M-3": down(250.0, 1)}, 300.0)
    assert second.opened == [] and len(second.changed) == 1
    escalated = second.changed[0]
    assert escalated.cause == "site_offline" and escalated.causes == ("site_offline", "offline")
    assert escalated.aps == ("M-1", "M-2", "M-3") and escalated.peak_aps == 3 and escalated.peak_clients == 13
    assert escalated.opened_at == 90.0 and escalated.updated_at == 300.0
    # nothing changed: nothing to write
    assert not ledger_cycle({"METRO": escalated},
                            {"M-1": down(90.0, 5), "M-2": down(250.0, 7), "M-3": down(250.0, 1)}, 360.0)
    # all healthy again: closed, with the peaks kept
    closed = ledger_cycle({"METRO": escalated}, {}, 600.0).closed
    assert [(o.closed_at, o.aps_now, o.peak_clients, o.duration_s(0)) for o in closed] == [(600.0, (), 13, 510.0)]


def test_maintenance_suppresses_new_outages_only():
    troubled = {"M-1": down(), "S-1": down()}
    update = ledger_cycle({}, troubled, 200.0, in_maintenance=lambda ap_id: ap_id == "M-1")
    assert [o.site for o in update.opened] == ["STREET-1"]
    existing = Outage(id=7, site="METRO", zone="z", cause="offline", causes=("offline",), aps=("M-1",),
                      aps_now=("M-1",), opened_at=100.0, updated_at=150.0, peak_aps=1, peak_clients=3, clients_now=3)
    update = ledger_cycle({"METRO": existing}, troubled, 200.0, in_maintenance=lambda ap_id: True)
    assert update.opened == [] and update.changed == [] and update.closed == []  # already open: followed
