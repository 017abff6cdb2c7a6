"""The rollups behind `status` and `report`: tallies, periods and capacity shortfalls, with exact numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotspotctl.evaluate.outages import Outage
from hotspotctl.evaluate.status import ApHealth
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.reports.availability import (
    NONE,
    availability_by_period,
    capacity_rows,
    default_since,
    fleet_status,
    percent,
    period_start,
    status_since,
)


def at(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def ap(ap_id: str, district: str | None, program: str | None, site: str = "s1") -> AccessPoint:
    return AccessPoint(id=ap_id, lat=19.3, lon=-99.1, district=district, program=program, site_id=site)


APS = [ap("a1", "Tlalpan", "Escuelas"), ap("a2", "Tlalpan", "Escuelas"), ap("a3", "Tlahuac", "MiCalle", "s2"),
       ap("a4", None, None, "s3"), ap("a5", "Tlahuac", "Escuelas", "s2")]
HEALTHS = {
    "a1": ApHealth(state="up"),
    "a2": ApHealth(state="degraded", causes=("congested",), clients=30, per_user_mbps=20.0, capacity_mbps=600.0),
    "a3": ApHealth(state="down", causes=("offline",)),
    "a4": ApHealth(state="degraded", causes=("uplink_degraded", "below_target"), clients=5, per_user_mbps=10.0,
                   capacity_mbps=50.0),
    # a5: never evaluated
}


def outage(site: str, aps: tuple[str, ...], aps_now: tuple[str, ...] = ()) -> Outage:
    return Outage(id=1, site=site, zone="z", cause="offline", causes=("offline",), aps=aps, aps_now=aps_now,
                  opened_at=0.0, updated_at=0.0)


def hour_row(hour: float, district: str, program: str, samples: int, up: int, measured: int, meeting: int) -> dict:
    return {"hour": hour, "district": district, "program": program, "samples": samples, "up": up,
            "measured": measured, "meeting": meeting}


def test_percent():
    assert (percent(1, 3), percent(2, 3), percent(0, 5), percent(5, 5), percent(0, 0)) == (33.33, 66.67, 0.0, 100.0,
                                                                                           None)


def test_fleet_status_counts_states_hours_and_outages():
    rows = [hour_row(0, "Tlalpan", "Escuelas", 10, 9, 8, 4), hour_row(3600, "Tlalpan", "Escuelas", 10, 10, 8, 8),
            hour_row(0, "Tlahuac", "MiCalle", 6, 2, 0, 0), hour_row(0, NONE, NONE, 3, 3, 3, 0)]
    outages = [outage("s2", ("a3", "a5"), ("a3",)),  # counts where a3 is (aps_now), not a5
               outage("s3", ("a4",)),  # closed-looking aps_now: falls back to aps
               outage("gone", ("removed-ap",))]  # touches no AP of these: not counted
    result = fleet_status(APS, HEALTHS, rows, outages)
    f = result.fleet
    assert (f.aps, f.up, f.degraded, f.down, f.unknown, f.below_target, f.evaluated) == (5, 1, 2, 1, 1, 2, 4)
    assert (f.samples, f.available, f.measured, f.meeting, f.open_outages) == (29, 24, 19, 12, 2)
    assert (f.availability_pct, f.meeting_target_pct) == (82.76, 63.16)
    assert [name for name, _ in result.ordered("district")] == ["Tlahuac", "Tlalpan", NONE]
    assert [name for name, _ in result.ordered("program")] == ["Escuelas", "MiCalle", NONE]
    tlahuac, tlalpan, none = (t for _, t in result.ordered("district"))
    assert tlahuac.to_json() == {"aps": 2, "up": 0, "degraded": 0, "down": 1, "unknown": 1, "unmonitored": 0,
                                 "misconfigured": 0, "below_target": 0,
                                 "samples_24h": 6, "availability_pct": 33.33, "measured_24h": 0,
                                 "meeting_target_pct": None, "open_outages": 1}
    assert (tlalpan.aps, tlalpan.up, tlalpan.degraded, tlalpan.below_target, tlalpan.samples, tlalpan.available,
            tlalpan.availability_pct, tlalpan.meeting_target_pct, tlalpan.open_outages) == (
        2, 1, 1, 1, 20, 19, 95.0, 75.0, 0)
    assert (none.aps, none.degraded, none.below_target, none.availability_pct, none.meeting_target_pct,
            none.open_outages) == (1, 1, 1, 100.0, 0.0, 1)
    programs = dict(result.ordered("program"))
    assert (programs["Escuelas"].aps, programs["Escuelas"].unknown, programs["Escuelas"].open_outages) == (3, 1, 0)
    assert (programs["MiCalle"].down, programs["MiCalle"].open_outages) == (1, 1)
    assert result.evaluated
    document = result.to_json()
    assert document["open_outages"] == 2 and document["districts"][0]["district"] == "Tlahuac"


def test_fleet_status_of_some_districts_and_of_nothing_evaluated():
    rows = [hour_row(0, "Tlalpan", "Escuelas", 10, 9, 8, 4), hour_row(0, "Tlahuac", "MiCalle", 6, 2, 0, 0)]
    picked = [a for a in APS if a.district == "Tlahuac"]
    result = fleet_status(picked, HEALTHS, rows, [], districts={"Tlahuac"})
    assert (result.fleet.aps, result.fleet.samples, result.fleet.available) == (2, 6, 2)
    assert list(result.districts) == ["Tlahuac"] and set(result.programs) == {"MiCalle", "Escuelas"}
    nothing = fleet_status(APS, {}, [], [])
    assert not nothing.evaluated and nothing.fleet.unknown == 5 and nothing.fleet.availability_pct is None


def test_status_window_is_the_24_hours_up_to_the_current_one():
    assert status_since(at(2026, 3, 4, 10, 30)) == at(2026, 3, 3, 11)
    assert status_since(at(2026, 3, 4, 0, 0)) == at(2026, 3, 3, 1)


@pytest.mark.parametrize(("moment", "day", "week"), [
    ((2026, 3, 4, 10, 30), (2026, 3, 4), (2026, 3, 2)),  # Wednesday
    ((2026, 3, 2, 0, 0), (2026, 3, 2), (2026, 3, 2)),  # Monday, the first instant
    ((2026, 3, 8, 23, 59), (2026, 3, 8), (2026, 3, 2)),  # Sunday, the last minute
    ((2026, 3, 9, 0, 0), (2026, 3, 9), (2026, 3, 9)),
    ((2026, 1, 1, 12, 0), (2026, 1, 1), (2025, 12, 29)),  # a week across the new year
    ((1970, 1, 1, 0, 0), (1970, 1, 1), (1969, 12, 29)),
])
def test_period_start(moment, day, week):
    assert period_start(at(*moment), "day") == at(*day)
    assert period_start(at(*moment), "week") == at(*week)


def test_period_start_refuses_other_periods():
    with pytest.raises(ValueError, match="period"):
        period_start(0.0, "month")


def test_default_since():
    now = at(2026, 3, 4, 10, 30)
    assert default_since(now, "day") == at(2026, 2, 26)  # 7 days, today included
    assert default_since(now, "week") == at(2026, 1, 12)  # 8 weeks, this one included


def test_availability_by_period():
    rows = [hour_row(at(2026, 3, 1, 23), "Tlalpan", "Escuelas", 4, 3, 2, 1),  # Sunday: the week of Feb 23
            hour_row(at(2026, 3, 2, 0), "Tlalpan", "Escuelas", 6, 6, 6, 3),
            hour_row(at(2026, 3, 2, 5), "Tlalpan", "MiCalle", 10, 5, 0, 0),
            hour_row(at(2026, 3, 4, 12), "Tlahuac", "Escuelas", 3, 1, 3, 3),
            hour_row(at(2026, 3, 4, 13), "", "", 1, 1, 1, 1)]
    by_day = [r.values() for r in availability_by_period(rows, "district", "day")]
    assert by_day == [
        ("2026-03-01", "Tlalpan", 4, 3, 75.0, 2, 1, 50.0),
        ("2026-03-02", "Tlalpan", 16, 11, 68.75, 6, 3, 50.0),
        ("2026-03-04", "Tlahuac", 3, 1, 33.33, 3, 3, 100.0),
        ("2026-03-04", NONE, 1, 1, 100.0, 1, 1, 100.0),
    ]
    by_week = [r.values() for r in availability_by_period(rows, "program", "week")]
    assert by_week == [
        ("2026-02-23", "Escuelas", 4, 3, 75.0, 2, 1, 50.0),
        ("2026-03-02", "Escuelas", 9, 7, 77.78, 9, 6, 66.67),
        ("2026-03-02", "MiCalle", 10, 5, 50.0, 0, 0, None),
        ("2026-03-02", NONE, 1, 1, 100.0, 1, 1, 100.0),
    ]
    assert availability_by_period([], "district", "day") == []
    with pytest.raises(ValueError, match="by"):
        availability_by_period(rows, "zone", "day")


def test_capacity_rows_by_shortfall():
    healths = {
        **HEALTHS,
        "a1": ApHealth(state="degraded", causes=("congested",), clients=100, per_user_mbps=150.0,
                       capacity_mbps=15000.0, link_mbps=1000.0),  # (200 - 150) x 100 = 5000
        "a5": ApHealth(state="degraded", causes=("below_target",), clients=0, per_user_mbps=None),
    }
    targets = {"a4": 20.0}
    rows = capacity_rows(APS, healths, lambda a: targets.get(a.id, 200.0), {"s1": "Site one", "s2": "Site two"})
    assert [(r.ap, r.cause, r.shortfall_mbps, r.site_name) for r in rows] == [
        ("a2", "congested", 5400.0, "Site one"),  # (200 - 20) x 30
        ("a1", "congested", 5000.0, "Site one"),
        ("a4", "below_target", 50.0, ""),  # its own target: (20 - 10) x 5; uplink_degraded too
        ("a5", "below_target", 0.0, "Site two"),  # no reading: nothing to measure the shortfall by
    ]
    assert rows[0].values() == ("a2", "s1", "Site one", "Tlalpan", "Escuelas", 30, 20.0, 200.0, 600.0, None, 5400.0,
                                "congested")
    assert capacity_rows(APS, {}, lambda a: 200.0, {}) == []


def test_periods_are_cut_at_the_citys_midnight():
    """2026-03-02 is a Monday. 05:00 UTC that day is Sunday 23:00 in Mexico City (UTC-6): the city's
    day and week are the ones before, which a UTC cut would not say."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    city = ZoneInfo("America/Mexico_City")
    at = datetime(2026, 3, 2, 5, 0, tzinfo=UTC).timestamp()
    assert period_start(at, "day", city) == datetime(2026, 3, 1, 0, 0, tzinfo=city).timestamp()
    assert period_start(at, "week", city) == datetime(2026, 2, 23, 0, 0, tzinfo=city).timestamp()
    assert period_start(at, "day") == datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # UTC, the default
    rows = [{"hour": at, "district": "Tlalpan", "program": "Escuelas", "samples": 4, "up": 3, "measured": 2,
             "meeting": 1},
            {"hour": at + 3600, "district": "Tlalpan", "program": "Escuelas", "samples": 4, "up": 4, "measured": 2,
             "meeting": 2}]
    by_day = availability_by_period(rows, "district", "day", city)
    assert [(r.values()[0], r.samples, r.up) for r in by_day] == [("2026-03-01", 4, 3), ("2026-03-02", 4, 4)]
    assert default_since(at, "day", city) == datetime(2026, 2, 23, 0, 0, tzinfo=city).timestamp()
