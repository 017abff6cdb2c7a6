"""hotspotctl report availability/capacity over a real store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hotspotctl import clock
from tests.cli.test_status_cli import NOW, seed
from tests.conftest import write


@pytest.fixture
def seeded(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # these tests cut days at UTC midnight (timezone = UTC); test_availability_days_are_the_citys the city's
    monkeypatch.setenv("HOTSPOTCTL_TIMEZONE", "UTC")
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return seed(cli, tmp_path)


def _rows(cli, *args: str) -> list[tuple]:
    result = cli("report", "availability", *args, "-f", "json")
    assert result.code == 0, result.err
    return [(r["period_start"], r.get("district", r.get("program")), r["samples"], r["up"], r["availability_pct"],
             r["measured"], r["meeting"], r["meeting_target_pct"]) for r in json.loads(result.out)]


def test_availability_by_district_and_day(cli, seeded):
    # the default: the last 7 UTC days, today (Wednesday 2026-03-04) included, so from Thursday 2026-02-26
    assert _rows(cli) == [
        ("2026-02-26", "Tlahuac", 10, 9, 90.0, 10, 10, 100.0),
        ("2026-03-03", "Tlahuac", 50, 50, 100.0, 40, 10, 25.0),
        ("2026-03-03", "Tlalpan", 1000, 0, 0.0, 1000, 0, 0.0),
        ("2026-03-04", "Tlalpan", 140, 115, 82.14, 80, 60, 75.0),
    ]
    # --since snaps back to the start of its day
    assert [r[0] for r in _rows(cli, "--since", "2026-03-03T15:00")] == ["2026-03-03", "2026-03-03", "2026-03-04"]
    assert [r[0] for r in _rows(cli, "--since", "1d")] == ["2026-03-03", "2026-03-03", "2026-03-04"]
    assert _rows(cli, "--since", "2026-03-05") == []


def test_availability_by_program_and_week(cli, seeded):
    # weeks start on Monday 00:00 UTC: 2026-02-23 and 2026-03-02; the default reaches back 8 weeks
    assert _rows(cli, "--by", "program", "--period", "week") == [
        ("2026-02-23", "MiCalle", 17, 16, 94.12, 17, 17, 100.0),
        ("2026-03-02", "Escuelas", 1100, 90, 8.18, 1080, 60, 5.56),
        ("2026-03-02", "MiCalle", 50, 50, 100.0, 40, 10, 25.0),
        ("2026-03-02", "Pilares", 40, 25, 62.5, 0, 0, None),
    ]
    first = json.loads(cli("report", "availability", "--by", "PROGRAM", "--period", "week", "-f", "json").out)[0]
    assert first == {"period_start": "2026-02-23", "program": "MiCalle", "samples": 17, "up": 16,
                     "availability_pct": 94.12, "measured": 17, "meeting": 17, "meeting_target_pct": 100.0,
                     "period": "week"}


def test_availability_csv_and_table(cli, seeded):
    result = cli("report", "availability", "--by", "program", "--period", "week", "--since", "2026-03-04",
                 "--format", "csv")
    assert result.code == 0
    assert list(csv.reader(io.StringIO(result.out))) == [
        ["period_start", "program", "samples", "up", "availability_pct", "measured", "meeting", "meeting_target_pct"],
        ["2026-03-02", "Escuelas", "1100", "90", "8.18", "1080", "60", "5.56"],
        ["2026-03-02", "MiCalle", "50", "50", "100.0", "40", "10", "25.0"],
        ["2026-03-02", "Pilares", "40", "25", "62.5", "0", "0", ""],
    ]
    table = cli("report", "availability", "--by", "program", "--period", "week")
    pilares = next(line for line in table.out.splitlines() if "Pilares" in line)
    assert [cell.strip() for cell in pilares.strip("│").split("│")] == [
        "2026-03-02", "Pilares", "40", "25", "62.50", "0", "0", "-"]
    empty = cli("report", "availability", "--since", "2026-03-05")
    assert (empty.code, empty.out) == (0, "")
    assert empty.err == ("no availability recorded since 2026-03-05; `hotspotctl run` records it after "
                         "every cycle\n")


def test_availability_bad_input(cli, seeded):
    assert cli("report", "availability", "--by", "zone", "--period", "week").code == 2  # zones: a window only
    assert cli("report", "availability", "--period", "month").code == 2
    bad = cli("report", "availability", "--since", "last tuesday")
    assert bad.code == 3 and bad.err.startswith("error: --since 'last tuesday': not a time")
    help_text = cli("report", "availability", "--help").out
    assert "weeks on Monday at 00:00" in help_text and "the city's" in help_text and "Examples:" in help_text


def test_availability_days_are_the_citys(cli, seeded, monkeypatch):
    """Days start at midnight in the city (the timezone setting), not at midnight UTC: the hours
    before 06:00 UTC belong to the city's previous day (before: every day was a UTC day)."""
    monkeypatch.setenv("HOTSPOTCTL_TIMEZONE", "America/Mexico_City")
    utc_days = {(r[0], r[1]): r[2] for r in _rows_in(cli, "UTC")}
    city_days = {(r[0], r[1]): r[2] for r in _rows(cli, "--since", "2026-02-25")}
    assert sum(utc_days.values()) == sum(city_days.values())  # the same hours, cut elsewhere
    assert city_days != utc_days
    # the city's 2026-03-04 started at 06:00 UTC: the help says so, and --since reads the city's time
    assert [r[0] for r in _rows(cli, "--since", "2026-03-04T00:30")] == sorted(
        {day for day, _ in city_days if day >= "2026-03-04"})


def _rows_in(cli, zone: str) -> list[tuple]:
    import os

    before = os.environ.get("HOTSPOTCTL_TIMEZONE")
    os.environ["HOTSPOTCTL_TIMEZONE"] = zone
    try:
        return _rows(cli, "--since", "2026-02-25")
    finally:
        os.environ["HOTSPOTCTL_TIMEZONE"] = before or ""


def test_capacity_ordered_by_shortfall(cli, seeded):
    result = cli("report", "capacity", "-f", "json")
    assert result.code == 0
    rows = json.loads(result.out)
    assert rows == [
        {"ap": "ESC-1_AP_02", "site_id": seeded["ESC-1_AP_02"], "site": "ESC-1", "district": "Tlalpan",
         "program": "Escuelas", "clients": 40, "per_user_mbps": 5.0, "target_mbps": 200.0, "capacity_mbps": 400.0,
         "link_mbps": 1000.0, "shortfall_mbps": 7800.0, "cause": "congested"},
        {"ap": "CALLE-7", "site_id": seeded["CALLE-7"], "site": "CALLE-7", "district": "Tlahuac",
         "program": "MiCalle", "clients": 10, "per_user_mbps": 8.0, "target_mbps": 200.0, "capacity_mbps": 80.0,
         "link_mbps": 100.0, "shortfall_mbps": 1920.0, "cause": "below_target"},
    ]
    assert [r["ap"] for r in json.loads(cli("report", "capacity", "--district", "tlahuac", "-f", "json").out)] == [
        "CALLE-7"]
    rows = list(csv.reader(io.StringIO(cli("report", "capacity", "--limit", "1", "-f", "csv").out)))
    assert rows[0][:3] == ["ap", "site_id", "site"] and [r[0] for r in rows[1:]] == ["ESC-1_AP_02"]


def test_capacity_table_sums_on_stderr(cli, seeded):
    result = cli("report", "capacity")
    assert result.code == 0 and "ESC-1_AP_02" in result.out and "congested" in result.out
    assert result.err == "2 APs below the per-user target (1 congested, 1 below target), 50 clients on them\n"
    limited = cli("report", "capacity", "--limit", "1")
    assert "CALLE-7" not in limited.out
    assert limited.err == ("2 APs below the per-user target (1 congested, 1 below target), 50 clients on them; "
                           "showing 1, --limit 0 for all\n")
    assert cli("report", "capacity", "--district", "atlantis").code == 3


def test_capacity_uses_each_programmes_target(cli, seeded, tmp_path: Path):
    config = write(tmp_path / "t.toml", "[evaluate.target_by_program]\nMiCalle = 10.0\n")
    rows = json.loads(cli("--config", config, "report", "capacity", "-f", "json").out)
    calle = next(r for r in rows if r["ap"] == "CALLE-7")
    assert (calle["target_mbps"], calle["shortfall_mbps"]) == (10.0, 20.0)


# --- availability over a window, by site, AP, zone, district or programme, with the fleet's TOTAL (issue 18) --

# The default window: the last 7 UTC days, 2026-02-26 00:00 to now (2026-03-04 10:30), 154.5 hours. From the
# ledger: CALLE-7 was offline 2 hours (closed), ESC-1_AP_03 is offline for 83 minutes now; PIL-1's outage is an
# uplink degraded: not down.
WINDOW_H = 154.5


def _window(cli, *args: str) -> dict:
    result = cli("report", "availability", *args, "-f", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_availability_by_district_over_the_window_totals_by_ap_hours(cli, seeded):
    document = _window(cli, "--period", "all")
    assert (document["by"], document["since"], document["until"]) == (
        "district", "2026-02-26T00:00:00+00:00", "2026-03-04T10:30:00+00:00")
    assert document["rows"] == [
        {"district": "Tlahuac", "aps": 2, "ap_hours": 2 * WINDOW_H, "minutes_down": 120.0, "availability_pct": 99.35,
         "outages": 1},
        {"district": "Tlalpan", "aps": 4, "ap_hours": 4 * WINDOW_H, "minutes_down": 83.0, "availability_pct": 99.78,
         "outages": 1},
    ]
    # 203 minutes down in 927 AP-hours: 99.64 %, not the mean of the districts' percentages (99.565)
    assert document["total"] == {"aps": 6, "ap_hours": 6 * WINDOW_H, "minutes_down": 203.0, "availability_pct": 99.64,
                                 "outages": 2}
    mean = sum(r["availability_pct"] for r in document["rows"]) / 2
    assert round(mean, 3) == 99.565 != document["total"]["availability_pct"]


def test_availability_by_ap_site_and_zone_default_to_the_window(cli, seeded):
    by_ap = _window(cli, "--by", "ap")
    assert [(r["ap"], r["minutes_down"], r["availability_pct"], r["outages"]) for r in by_ap["rows"]] == [
        ("CALLE-7", 120.0, 98.71, 1), ("ESC-1_AP_03", 83.0, 99.1, 1), ("CALLE-8", 0.0, 100.0, 0),
        ("ESC-1_AP_01", 0.0, 100.0, 0), ("ESC-1_AP_02", 0.0, 100.0, 0), ("PIL-1_AP_01", 0.0, 100.0, 0)]
    by_site = _window(cli, "--by", "SITE")
    esc = seeded["ESC-1_AP_01"]
    assert [(r["site"], r["aps"], r["minutes_down"]) for r in by_site["rows"]] == [
        (seeded["CALLE-7"], 1, 120.0), (esc, 3, 83.0),  # then the sites never down, by name
        *sorted([(seeded["CALLE-8"], 1, 0.0), (seeded["PIL-1_AP_01"], 1, 0.0)])]
    by_zone = _window(cli, "--by", "zone")
    assert [(r["zone"], r["aps"], r["availability_pct"]) for r in by_zone["rows"]] == [
        ("Tlahuac", 2, 99.35), ("Tlalpan", 4, 99.78)]
    # one TOTAL whatever the grouping
    assert by_ap["total"] == by_site["total"] == by_zone["total"] == _window(cli, "--period", "all")["total"]
    # --since starts the window at WHEN: a day back, CALLE-7's outage (closed two days ago) is not in it
    day = _window(cli, "--by", "ap", "--since", "1d")
    assert day["total"] == {"aps": 6, "ap_hours": 144.0, "minutes_down": 83.0, "availability_pct": 99.04, "outages": 1}


def test_availability_window_as_csv_and_table_ends_with_the_total(cli, seeded):
    result = cli("report", "availability", "--by", "district", "--period", "all", "--format", "csv")
    assert result.code == 0
    assert list(csv.reader(io.StringIO(result.out))) == [
        ["district", "aps", "ap_hours", "minutes_down", "availability_pct", "outages"],
        ["Tlahuac", "2", "309.0", "120.0", "99.35", "1"],
        ["Tlalpan", "4", "618.0", "83.0", "99.78", "1"],
        ["TOTAL", "6", "927.0", "203.0", "99.64", "2"],
    ]
    table = cli("report", "availability", "--by", "zone")
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in table.out.splitlines()
            if line.startswith("│")]
    assert rows[-1] == ["TOTAL", "6", "927", "203", "99.64", "2"]
    assert "2 zone rows from 2026-02-26 to now, from the outage ledger; TOTAL is weighted by AP-hours" in table.err


def test_availability_by_site_ap_or_zone_is_over_a_window_only(cli, seeded):
    wrong = cli("report", "availability", "--by", "site", "--period", "day")
    assert wrong.code == 2 and "--by site is over a window only" in wrong.err
    assert cli("report", "availability", "--by", "region").code == 2


def test_availability_window_csv_is_inert(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTSPOTCTL_TIMEZONE", "UTC")
    monkeypatch.setattr(clock, "now", lambda: NOW)
    hostile = "=SUM(1+1)"
    city = write(tmp_path / "city.csv", f"id,programa,latitud,longitud,alcaldia\n{hostile},Escuelas,19.3,-99.1,"
                                        "@SUM(2+2)\n")
    assert cli("inventory", "import", city).code == 0
    result = cli("report", "availability", "--by", "ap", "--format", "csv")
    assert result.code == 0
    rows = list(csv.reader(io.StringIO(result.out)))
    assert rows[1][0] != hostile and rows[1][0].endswith(hostile) and rows[1][0][0] not in "=+-@"
    by_district = list(csv.reader(io.StringIO(cli("report", "availability", "--by", "district", "--period", "all",
                                                  "--format", "csv").out)))
    assert by_district[1][0].endswith("@SUM(2+2)") and by_district[1][0][0] not in "=+-@"
