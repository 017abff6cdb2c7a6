"""availability_by_group: a window's availability from the outage ledger, weighted by AP-hours (issue 18)."""

from __future__ import annotations

import pytest

from hotspotctl.evaluate.outages import Outage
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.reports.availability import TOTAL, availability_by_group

H = 3600.0
SINCE, UNTIL = 1_000_000.0, 1_000_000.0 + 100 * H  # a window of 100 hours


def _ap(ap_id: str, site: str, district: str, program: str = "Escuelas") -> AccessPoint:
    return AccessPoint(id=ap_id, lat=19.3, lon=-99.1, site_id=site, district=district, program=program)


def _outage(aps: tuple[str, ...], cause: str, opened: float, closed: float | None, causes: tuple[str, ...] = ()
            ) -> Outage:
    return Outage(id=None, site=aps[0], zone="sur", cause=cause, causes=causes or (cause,), aps=aps,  # type: ignore[arg-type]
                  aps_now=aps if closed is None else (), opened_at=opened, updated_at=opened, closed_at=closed)


# one big district of 99 APs never down, one small one of 1 AP down half the window
APS = [_ap(f"BIG-{n:02d}", f"S{n}", "Big") for n in range(99)] + [_ap("SMALL-1", "T1", "Small")]


def test_the_total_is_weighted_by_ap_hours_not_a_mean_of_percentages() -> None:
    rows, total = availability_by_group(APS, [_outage(("SMALL-1",), "offline", SINCE + 10 * H, SINCE + 60 * H)],
                                        "district", SINCE, UNTIL)
    assert [(r.group, r.aps, r.ap_hours, r.minutes_down, r.availability_pct) for r in rows] == [
        ("Small", 1, 100.0, 3000.0, 50.0), ("Big", 99, 9900.0, 0.0, 100.0)]
    assert (total.group, total.aps, total.ap_hours, total.minutes_down, total.availability_pct) == (
        TOTAL, 100, 10000.0, 3000.0, 99.5)  # 50 down AP-hours in 10,000; the mean of 50 and 100 would be 75


def test_spans_are_clipped_to_the_window_and_overlaps_count_once() -> None:
    outages = [
        _outage(("SMALL-1",), "offline", SINCE - 20 * H, SINCE + 5 * H),  # began before the window: 5 h in it
        _outage(("SMALL-1",), "site_offline", SINCE + 4 * H, SINCE + 8 * H),  # overlaps the first by 1 h: 3 h more
        _outage(("SMALL-1",), "offline", UNTIL - 2 * H, None),  # still open: to the window's end, 2 h
        _outage(("SMALL-1",), "offline", UNTIL + H, None),  # after the window: nothing
    ]
    rows, total = availability_by_group(APS, outages, "ap", SINCE, UNTIL)
    small = next(r for r in rows if r.group == "SMALL-1")
    assert (small.minutes_down, small.availability_pct, small.outages) == (600.0, 90.0, 3)
    assert rows[0] is small and total.outages == 3 and total.minutes_down == 600.0


def test_only_outages_with_a_down_cause_count() -> None:
    outages = [
        _outage(("BIG-00",), "uplink_degraded", SINCE, SINCE + 50 * H),  # slow, not down
        _outage(("BIG-01",), "radio_down", SINCE, SINCE + 50 * H),
        _outage(("BIG-02",), "flapping", SINCE, SINCE + 10 * H, causes=("offline", "flapping")),  # was offline
    ]
    rows, total = availability_by_group(APS, outages, "ap", SINCE, UNTIL)
    assert [(r.group, r.minutes_down) for r in rows if r.minutes_down] == [("BIG-02", 600.0)]
    assert total.outages == 1


def test_by_site_zone_and_program_and_controllers_in_no_group() -> None:
    controller = AccessPoint(id="WLC-1", lat=None, lon=None, district="Big", program="Escuelas", role="controller")
    assert controller.is_controller
    aps = [*APS[:3], APS[-1], _ap("BIG-00b", "S0", "Big", "MiCalle"), controller]
    outages = [_outage(("BIG-00", "BIG-00b"), "site_offline", SINCE, SINCE + 10 * H)]
    rows, total = availability_by_group(aps, outages, "site", SINCE, UNTIL)
    assert [(r.group, r.aps, r.minutes_down, r.outages) for r in rows] == [
        ("S0", 2, 1200.0, 1), ("S1", 1, 0.0, 0), ("S2", 1, 0.0, 0), ("T1", 1, 0.0, 0)]
    assert total.aps == 5  # not the controller
    zones = {"SMALL-1": "sur"}
    rows, _ = availability_by_group(aps, outages, "zone", SINCE, UNTIL, zone_of=lambda ap: zones.get(ap.id, "norte"))
    assert [(r.group, r.aps, r.availability_pct) for r in rows] == [("norte", 4, 95.0), ("sur", 1, 100.0)]
    rows, _ = availability_by_group(aps, outages, "program", SINCE, UNTIL)
    assert [(r.group, r.aps, r.availability_pct) for r in rows] == [("MiCalle", 1, 90.0), ("Escuelas", 4, 97.5)]
    with pytest.raises(ValueError, match="zone_of"):
        availability_by_group(aps, outages, "zone", SINCE, UNTIL)
    with pytest.raises(ValueError, match="by must be one of"):
        availability_by_group(aps, outages, "city", SINCE, UNTIL)
