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
    assert cli("report", "availability", "--by", "zone").code == 2
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
