"""hotspotctl status: the fleet now, from a real store filled the way the scheduler fills it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotspotctl import clock
from hotspotctl.evaluate.outages import LedgerUpdate, Outage
from hotspotctl.evaluate.status import ApHealth
from hotspotctl.store import Store
from hotspotctl.store.inventory import load_access_points
from hotspotctl.store.outages import add_availability, save_health, save_ledger
from tests.conftest import write

INVENTORY = """id,programa,latitud,longitud,alcaldia
ESC-1_AP_01,Escuelas,19.30000,-99.10000,Tlalpan
ESC-1_AP_02,Escuelas,19.30000,-99.10000,Tlalpan
ESC-1_AP_03,Escuelas,19.30000,-99.10000,Tlalpan
CALLE-7,MiCalle,19.31000,-99.11000,Tlahuac
CALLE-8,MiCalle,19.31500,-99.11500,Tlahuac
PIL-1_AP_01,Pilares,19.32000,-99.12000,Tlalpan
"""

NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC).timestamp()  # a Wednesday
HOUR = NOW - NOW % 3600  # 10:00 UTC
DAY = 86400.0

HEALTHS = {  # CALLE-8 has none: unknown
    "ESC-1_AP_01": ApHealth(state="up", since=NOW - 7200, clients=3, per_user_mbps=250.0),
    "ESC-1_AP_02": ApHealth(state="degraded", since=NOW - 600, causes=("congested",), clients=40,
                            per_user_mbps=5.0, capacity_mbps=400.0, link_mbps=1000.0),
    "ESC-1_AP_03": ApHealth(state="down", since=NOW - 4980, causes=("offline",), clients=12),
    "CALLE-7": ApHealth(state="degraded", since=NOW - 900, causes=("below_target",), clients=10, per_user_mbps=8.0,
                        capacity_mbps=80.0, link_mbps=100.0),
    "PIL-1_AP_01": ApHealth(state="degraded", since=NOW - 3600, causes=("uplink_degraded",), clients=2,
                            per_user_mbps=50.0, capacity_mbps=100.0, link_mbps=100.0),
}

# (hour, district, programme) -> (samples, up, measured, meeting)
HOURS = {
    (HOUR, "Tlalpan", "Escuelas"): (100, 90, 80, 60),
    (HOUR - 3600, "Tlalpan", "Pilares"): (40, 25, 0, 0),
    (HOUR - 23 * 3600, "Tlahuac", "MiCalle"): (50, 50, 40, 10),  # the first hour of the 24
    (HOUR - 24 * 3600, "Tlalpan", "Escuelas"): (1000, 0, 1000, 0),  # just before them
    (datetime(2026, 2, 26, tzinfo=UTC).timestamp(), "Tlahuac", "MiCalle"): (10, 9, 10, 10),
    (datetime(2026, 2, 25, 23, tzinfo=UTC).timestamp(), "Tlahuac", "MiCalle"): (7, 7, 7, 7),
}


def store_url(cli) -> str:
    return f"sqlite:///{cli.workdir / 'var' / 'hotspotctl.db'}"


def import_inventory(cli, tmp_path: Path) -> dict[str, str]:
    """Import the small city; return each AP's site id."""
    assert cli("inventory", "import", write(tmp_path / "city.csv", INVENTORY)).code == 0
    with Store.open(store_url(cli)) as store, store.read() as conn:
        return {ap_id: ap.site_id for ap_id, ap in load_access_points(conn).items()}


def outages(site_of: dict[str, str]) -> list[Outage]:
    """Stored in this order, so ids are 1 (PIL-1, open), 2 (CALLE-7, closed), 3 (ESC-1, open)."""
    return [
        Outage(id=None, site=site_of["PIL-1_AP_01"], zone="Tlalpan", cause="uplink_degraded",
               causes=("uplink_degraded",), aps=("PIL-1_AP_01",), aps_now=("PIL-1_AP_01",), opened_at=NOW - 10 * DAY,
               updated_at=NOW - 60, peak_aps=1, peak_clients=2, clients_now=2),
        Outage(id=None, site=site_of["CALLE-7"], zone="Tlahuac", cause="offline", causes=("offline", "flapping"),
               aps=("CALLE-7",), aps_now=(), opened_at=NOW - 2 * DAY, updated_at=NOW - 2 * DAY + 7200,
               closed_at=NOW - 2 * DAY + 7200, peak_aps=1, peak_clients=9, clients_now=0),
        Outage(id=None, site=site_of["ESC-1_AP_03"], zone="Tlalpan", cause="offline", causes=("offline",),
               aps=("ESC-1_AP_03",), aps_now=("ESC-1_AP_03",), opened_at=NOW - 4980, updated_at=NOW - 60,
               peak_aps=1, peak_clients=12, clients_now=12,
               delivery={"email": {"to": "crew-sur@example.org"}, "open311": {"id": "SR-981"}}),
    ]


def seed(cli, tmp_path: Path) -> dict[str, str]:
    """The small city with health, the ledger and hourly availability as a scheduler would leave them."""
    site_of = import_inventory(cli, tmp_path)
    with Store.open(store_url(cli)) as store, store.write() as conn:
        save_health(conn, HEALTHS)
        save_ledger(conn, LedgerUpdate(opened=outages(site_of), changed=[], closed=[]))
        by_hour: dict[float, dict[tuple[str, str], tuple[int, int, int, int]]] = {}
        for (hour, district, program), values in HOURS.items():
            by_hour.setdefault(hour, {})[(district, program)] = values
        for hour, tallies in by_hour.items():
            add_availability(conn, hour, tallies)
    return site_of


@pytest.fixture
def seeded(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return seed(cli, tmp_path)


def _tally(aps, up, degraded, down, unknown, below, samples, avail, measured, meeting, open_, unmonitored=0,
           misconfigured=0):
    return {"aps": aps, "up": up, "degraded": degraded, "down": down, "unknown": unknown, "unmonitored": unmonitored,
            "misconfigured": misconfigured, "below_target": below,
            "samples_24h": samples, "availability_pct": avail, "measured_24h": measured,
            "meeting_target_pct": meeting, "open_outages": open_}


def test_status_json_counts_states_the_last_24_hours_and_open_outages(cli, seeded):
    result = cli("status", "--format", "json")
    assert (result.code, result.err) == (0, "")
    document = json.loads(result.out)
    assert document["as_of"] == "2026-03-04T10:30:00Z"
    assert document["open_outages"] == 2
    # 24 h: 100+40+50 samples, 90+25+50 up (86.84%); 80+0+40 measured, 60+0+10 meeting (58.33%)
    assert document["fleet"] == _tally(6, 1, 3, 1, 1, 2, 190, 86.84, 120, 58.33, 2)
    assert document["districts"] == [
        {"district": "Tlahuac", **_tally(2, 0, 1, 0, 1, 1, 50, 100.0, 40, 25.0, 0)},
        {"district": "Tlalpan", **_tally(4, 1, 2, 1, 0, 1, 140, 82.14, 80, 75.0, 2)},
    ]
    assert document["programs"] == [
        {"program": "Escuelas", **_tally(3, 1, 1, 1, 0, 1, 100, 90.0, 80, 75.0, 1)},
        {"program": "MiCalle", **_tally(2, 0, 1, 0, 1, 1, 50, 100.0, 40, 25.0, 0)},
        {"program": "Pilares", **_tally(1, 0, 1, 0, 0, 0, 40, 62.5, 0, None, 1)},
    ]


def test_status_table_has_a_fleet_line_and_two_tables(cli, seeded):
    result = cli("status")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == ("6 APs: 1 up, 3 degraded, 1 down, 1 unknown, 0 unmonitored, 0 misconfigured; 2 below target; "
                        "availability 24h 86.84%, meeting target 24h 58.33%; 2 open outages "
                        "(as of 2026-03-04 04:30 CST)")  # 10:30 UTC, the city's time
    assert lines[1].strip() == "By district"
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines if line.startswith("│")]
    assert rows == [
        ["Tlahuac", "2", "0", "1", "0", "1", "0", "0", "1", "100.00", "25.00", "0"],
        ["Tlalpan", "4", "1", "2", "1", "0", "0", "0", "1", "82.14", "75.00", "2"],
        ["Escuelas", "3", "1", "1", "1", "0", "0", "0", "1", "90.00", "75.00", "1"],
        ["MiCalle", "2", "0", "1", "0", "1", "0", "0", "1", "100.00", "25.00", "0"],
        ["Pilares", "1", "0", "1", "0", "0", "0", "0", "0", "62.50", "-", "1"],
    ]
    assert "By programme" in [line.strip() for line in lines]


def test_status_of_some_districts(cli, seeded):
    document = json.loads(cli("status", "--district", "TLÁHUAC", "-f", "json").out)
    assert document["fleet"] == _tally(2, 0, 1, 0, 1, 1, 50, 100.0, 40, 25.0, 0)
    assert [d["district"] for d in document["districts"]] == ["Tlahuac"]
    assert [p["program"] for p in document["programs"]] == ["MiCalle"]
    assert document["open_outages"] == 0
    both = json.loads(cli("status", "--district", "tlalpan", "--district", "tlah", "-f", "json").out)
    assert both["fleet"]["aps"] == 6 and both["open_outages"] == 2
    bad = cli("status", "--district", "tla")
    assert bad.code == 3
    assert bad.err == "error: --district 'tla' matches 2 districts: Tlahuac, Tlalpan; be more specific\n"
    assert cli("status", "--format", "csv").code == 2


def test_status_before_anything_was_evaluated_says_how_to_get_there(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    import_inventory(cli, tmp_path)
    result = cli("status")
    assert (result.code, result.out) == (0, "")
    assert "nothing evaluated yet" in result.err and "`hotspotctl run`" in result.err and "demo" in result.err
    document = json.loads(cli("status", "-f", "json").out)
    assert document["fleet"] == _tally(6, 0, 0, 0, 6, 0, 0, None, 0, None, 0)


def test_status_of_an_empty_inventory(cli):
    result = cli("status")
    assert (result.code, result.out) == (0, "")
    assert "inventory is empty" in result.err


def test_status_help_has_examples(cli):
    result = cli("status", "--help")
    assert result.code == 0 and "Examples:" in result.out and "--district" in result.out
