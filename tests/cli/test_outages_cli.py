"""hotspotctl outages list/show/note over a real ledger, and how WHEN arguments read."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotspotctl import clock
from hotspotctl.cli.runtime import human_duration, parse_when
from hotspotctl.errors import InputError
from tests.cli.test_status_cli import NOW, seed
from tests.conftest import write


@pytest.fixture
def seeded(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return seed(cli, tmp_path)


def _ids(cli, *args: str) -> list[int]:
    result = cli("outages", "list", *args, "--format", "json")
    assert result.code == 0, result.err
    return [o["id"] for o in json.loads(result.out)]


def test_list_newest_first_with_filters(cli, seeded):
    assert _ids(cli) == [3, 2, 1]
    assert _ids(cli, "--open") == [3, 1]
    assert _ids(cli, "--since", "1d") == [3, 1]  # the closed one ended 46 h ago
    assert _ids(cli, "--since", "3d") == [3, 2, 1]
    assert _ids(cli, "--since", "2026-03-02") == [3, 2, 1]
    assert _ids(cli, "--since", "2026-03-03T00:00:00Z") == [3, 1]
    assert _ids(cli, "--zone", "TLÁHUAC") == [2]
    assert _ids(cli, "--site", "ESC-1") == [3]  # by the site's name
    assert _ids(cli, "--site", seeded["CALLE-7"], "--site", "PIL-*") == [2, 1]
    assert _ids(cli, "--site", "nothing-*") == []
    assert _ids(cli, "--limit", "1") == [3]
    assert _ids(cli, "--open", "--zone", "tlalpan", "--limit", "0") == [3, 1]


def test_list_json_fields(cli, seeded):
    first = json.loads(cli("outages", "list", "-f", "json", "--limit", "1").out)[0]
    assert first == {
        "id": 3, "site": seeded["ESC-1_AP_03"], "zone": "Tlalpan", "cause": "offline", "causes": ["offline"],
        "aps": ["ESC-1_AP_03"], "aps_now": ["ESC-1_AP_03"], "opened_at": NOW - 4980, "closed_at": None,
        "duration_s": 4980.0, "peak_aps": 1, "peak_clients": 12, "clients_now": 12,
        "delivery": {"email": {"to": "crew-sur@example.org"}, "open311": {"id": "SR-981"}}, "notes": "",
        "acked_at": None, "acked_by": None, "assigned_to": None, "assigned_at": None, "closed_by": None,
        "visits": [], "site_name": "ESC-1", "district": "Tlalpan", "opened": "2026-03-04T09:07:00Z",
        "updated": "2026-03-04T10:29:00Z",
        "closed": None, "duration": "1h 23m", "open": True, "delivered": ["email", "open311"], "open311": "SR-981"}


def test_list_csv_rows(cli, seeded):
    result = cli("outages", "list", "--format", "csv")
    assert result.code == 0
    rows = list(csv.reader(io.StringIO(result.out)))
    assert rows == [
        ["id", "site", "site_name", "zone", "cause", "aps_now", "peak_aps", "opened", "closed", "duration",
         "peak_clients", "delivered", "acked_by", "acked", "assigned_to", "closed_by", "visits"],
        # the city's time, with its offset (JSON keeps UTC: test_list_json_fields)
        ["3", seeded["ESC-1_AP_03"], "ESC-1", "Tlalpan", "offline", "1", "1", "2026-03-04T03:07:00-06:00", "",
         "1h 23m", "12", "email, open311 SR-981", "", "", "", "", "0"],
        ["2", seeded["CALLE-7"], "CALLE-7", "Tlahuac", "offline", "0", "1", "2026-03-02T04:30:00-06:00",
         "2026-03-02T06:30:00-06:00", "2h 0m", "9", "", "", "", "", "", "0"],
        ["1", seeded["PIL-1_AP_01"], "PIL-1_AP_01", "Tlalpan", "uplink_degraded", "1", "1",
         "2026-02-22T04:30:00-06:00", "", "10d 0h", "2", "", "", "", "", "", "0"],
    ]
    utc = list(csv.reader(io.StringIO(cli("-c", write(cli.workdir / "utc.toml", 'timezone = "UTC"\n'), "outages",
                                          "list", "--format", "csv").out)))
    assert utc[1][7] == "2026-03-04T09:07:00+00:00"  # the timezone setting


def test_list_table_and_its_notes(cli, seeded):
    result = cli("outages", "list", "--limit", "2")
    assert result.code == 0
    assert "1h 23m" in result.out and "email, open311 SR-981" in result.out and "PIL-1" not in result.out
    assert "2026-03-04 03:07 CST" in result.out and "09:07" not in result.out
    assert result.err == "showing 2 of 3 outages; --limit 0 for all, or --format csv\n"
    empty = cli("outages", "list", "--open", "--zone", "tlahuac")
    assert (empty.code, empty.out, empty.err) == (0, "", "no open outages there\n")


def test_list_bad_input(cli, seeded):
    bad = cli("outages", "list", "--since", "yesterday")
    assert bad.code == 3 and bad.err.startswith("error: --since 'yesterday': not a time; give an ISO date")
    unknown_zone = cli("outages", "list", "--zone", "atlantis")
    assert unknown_zone.code == 3 and "no such crew zone" in unknown_zone.err
    assert cli("outages", "list", "--limit", "many").code == 2
    assert cli("outages", "list", "--format", "xml").code == 2


def test_show_everything_about_one_outage(cli, seeded):
    document = json.loads(cli("outages", "show", "3", "-f", "json").out)
    assert document["id"] == 3 and document["site_name"] == "ESC-1" and document["open311"] == "SR-981"
    assert document["ap_detail"] == [{"ap": "ESC-1_AP_03", "affected_now": True, "program": "Escuelas",
                                      "state": "down", "causes": ["offline"], "reason": None, "clients": 12,
                                      "per_user_mbps": None, "in_inventory": True}]
    closed = json.loads(cli("outages", "show", "2", "-f", "json").out)
    assert closed["closed"] == "2026-03-02T12:30:00Z" and closed["open"] is False and closed["duration"] == "2h 0m"
    assert closed["ap_detail"][0]["affected_now"] is False and closed["ap_detail"][0]["state"] == "degraded"
    table = cli("outages", "show", "3")
    assert table.code == 0
    for text in ("delivered: open311", "id=SR-981", "to=crew-sur@example.org", "ESC-1_AP_03", "1h 23m", "down",
                 "2026-03-04 03:07 CST", "2026-03-04 04:29 CST"):  # opened, updated: the city's time
        assert text in table.out


def test_show_and_note_unknown_ids(cli, seeded):
    missing = cli("outages", "show", "99")
    assert missing.code == 3
    assert missing.err == "error: no outage 99 in the ledger; `hotspotctl outages list` shows their ids\n"
    assert cli("outages", "note", "99", "hello").code == 3
    assert cli("outages", "show", "three").code == 2


def test_notes_are_stamped_and_appended(cli, seeded, monkeypatch):
    monkeypatch.setenv("HOTSPOTCTL_USER", "ana")
    result = cli("outages", "note", "3", "CFE confirms a power cut")
    assert (result.code, result.out) == (0, "")
    assert result.err == "outage 3: noted '2026-03-04 04:30 ana: CFE confirms a power cut'\n"  # the city's time
    assert cli("outages", "note", "3", "crew 3\non site", "--by", "cuadrilla 3").code == 0
    notes = json.loads(cli("outages", "show", "3", "-f", "json").out)["notes"]
    assert notes == "2026-03-04 04:30 ana: CFE confirms a power cut\n2026-03-04 04:30 cuadrilla 3: crew 3 on site"
    assert "CFE confirms a power cut" in cli("outages", "show", "3").out
    empty = cli("outages", "note", "3", "   ")
    assert empty.code == 3 and "empty" in empty.err


def test_parse_when():
    now = NOW
    assert parse_when("now", now, flag="--x") == now
    assert parse_when("2h", now, flag="--x") == now - 7200
    assert parse_when("-2h", now, flag="--x") == now - 7200
    assert parse_when("+2h", now, flag="--x") == now + 7200
    assert parse_when("1d12h", now, flag="--x") == now - 129600
    assert parse_when("1w", now, flag="--x") == now - 604800
    assert parse_when("30m", now, flag="--x") == now - 1800
    assert parse_when("2026-03-01", now, flag="--x") == datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    assert parse_when("2026-03-01T08:30", now, flag="--x") == datetime(2026, 3, 1, 8, 30, tzinfo=UTC).timestamp()
    assert parse_when("2026-03-01 08:30Z", now, flag="--x") == datetime(2026, 3, 1, 8, 30, tzinfo=UTC).timestamp()
    assert parse_when("2026-03-01T08:30-06:00", now, flag="--x") == datetime(2026, 3, 1, 14, 30,
                                                                              tzinfo=UTC).timestamp()
    for bad in ("", "soon", "2h ago", "+2026-03-01", "3 months", "2026-13-01"):
        with pytest.raises(InputError, match="not a time"):
            parse_when(bad, now, flag="--x")
    with pytest.raises(InputError, match=r"\+2h"):
        parse_when("later", now, flag="--until", ahead=True)


def test_human_duration():
    assert [human_duration(s) for s in (0, 59, 60, 4980, 7200, 86400 * 10 + 3599, -5)] == \
        ["0s", "59s", "1m", "1h 23m", "2h 0m", "10d 0h", "0s"]


CONTROLLER_CITY = """id,role,lat,lon,alcaldia,programa,site,controller
WLC-1,controller,19.40000,-99.10000,Iztapalapa,,,
PLAZA-1,,19.38,-99.10,Iztapalapa,Pilares,PLAZA,WLC-1
PLAZA-2,,19.38,-99.10,Iztapalapa,Pilares,PLAZA,WLC-1
"""


@pytest.fixture
def controller_down(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A controller unreachable for 20 minutes: its own outage in the NOC's zone, keyed controller:WLC-1."""
    from hotspotctl.evaluate.outages import LedgerUpdate, Outage
    from hotspotctl.evaluate.status import ApHealth
    from hotspotctl.store import Store
    from hotspotctl.store.outages import save_health, save_ledger
    from tests.cli.test_status_cli import store_url

    monkeypatch.setattr(clock, "now", lambda: NOW)
    assert cli("inventory", "import", write(tmp_path / "city.csv", CONTROLLER_CITY)).code == 0
    with Store.open(store_url(cli)) as store, store.write() as conn:
        save_health(conn, {"WLC-1": ApHealth(state="down", since=NOW - 1200, causes=("controller_unreachable",))})
        save_ledger(conn, LedgerUpdate(opened=[Outage(
            id=None, site="controller:WLC-1", zone="NOC", cause="controller_unreachable",
            causes=("controller_unreachable",), aps=("WLC-1",), aps_now=("WLC-1",), opened_at=NOW - 1200,
            updated_at=NOW - 60, peak_aps=1, peak_clients=0, clients_now=0)], changed=[], closed=[]))


def test_a_controller_outage_is_named_by_its_controller_in_every_format(cli, controller_down):
    listed = json.loads(cli("outages", "list", "--format", "json").out)
    assert [(o["site"], o["site_name"], o["district"], o["zone"], o["cause"]) for o in listed] == [
        ("controller:WLC-1", "WLC-1", "Iztapalapa", "NOC", "controller_unreachable")]
    rows = list(csv.reader(io.StringIO(cli("outages", "list", "--format", "csv").out)))
    assert [row[:5] for row in rows[1:]] == [["1", "controller:WLC-1", "WLC-1", "NOC", "controller_unreachable"]]
    table = cli("outages", "list")
    cells = [[c.strip() for c in line.strip("│").split("│")] for line in table.out.splitlines()
             if line.startswith("│")]
    assert [row[:5] for row in cells] == [["1", "controller:WLC-1", "WLC-1", "NOC", "controller_unreachable"]]
    shown = json.loads(cli("outages", "show", "1", "-f", "json").out)
    assert (shown["site_name"], shown["district"]) == ("WLC-1", "Iztapalapa")
    # the controller's id finds its outage, as a site's name finds a site's
    assert _ids(cli, "--site", "WLC-1") == [1] and _ids(cli, "--site", "controller:WLC-1") == [1]
    # the NOC's list names the stop the same way
    noc = json.loads(cli("crews", "list", "--zone", "noc", "--format", "json").out)
    assert [(s["site"], s["name"]) for z in noc for s in z["stops"]] == [("controller:WLC-1", "WLC-1")]
