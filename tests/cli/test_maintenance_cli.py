"""hotspotctl maintenance add/list/remove over a real store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hotspotctl import clock
from hotspotctl.store import Store
from hotspotctl.store.outages import add_maintenance
from tests.cli.test_status_cli import DAY, NOW, import_inventory, store_url


@pytest.fixture
def city(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return import_inventory(cli, tmp_path)


def _list(cli, *args: str) -> list[dict]:
    result = cli("maintenance", "list", *args, "-f", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_add_list_remove_round_trip(cli, city):
    added = cli("maintenance", "add", "--site", "esc-1", "--until", "+2h", "--reason", "switch  replacement")
    assert (added.code, added.out) == (0, "1\n")
    # times people read are the city's (UTC-6); JSON keeps UTC
    assert added.err == (f"maintenance window 1: site {city['ESC-1_AP_01']} (ESC-1), 3 APs, 2026-03-04 04:30 CST to "
                         "2026-03-04 06:30 CST; no new outages open for them meanwhile\n")
    assert cli("maintenance", "add", "--district", "TLÁHUAC", "--from", "+1d", "--until", "+1d2h",
               "--reason", "CFE works").out == "2\n"
    assert cli("maintenance", "add", "--ap", "CALLE-7", "--from", "2026-03-01", "--until", "2026-03-05T00:00Z",
               "--reason", "mast repair").out == "3\n"
    windows = _list(cli)
    assert [(w["id"], w["scope"], w["target"], w["name"], w["aps"], w["state"]) for w in windows] == [
        (3, "ap", "CALLE-7", "", 1, "active"),
        (1, "site", city["ESC-1_AP_01"], "ESC-1", 3, "active"),
        (2, "district", "Tlahuac", "", 2, "future"),
    ]
    assert windows[1] == {"id": 1, "scope": "site", "target": city["ESC-1_AP_01"], "starts_at": NOW,
                          "ends_at": NOW + 7200, "reason": "switch replacement", "created_at": NOW, "name": "ESC-1",
                          "aps": 3, "starts": "2026-03-04T10:30:00Z", "ends": "2026-03-04T12:30:00Z",
                          "state": "active"}
    assert windows[2]["starts"] == "2026-03-05T10:30:00Z" and windows[2]["ends"] == "2026-03-05T12:30:00Z"
    removed = cli("maintenance", "remove", "1")
    assert (removed.code, removed.out, removed.err) == (0, "", "removed maintenance window 1\n")
    assert [w["id"] for w in _list(cli)] == [3, 2]
    again = cli("maintenance", "remove", "1")
    assert again.code == 3
    assert again.err == "error: no maintenance window 1; `hotspotctl maintenance list --all` shows their ids\n"
    assert cli("maintenance", "remove", "one").code == 2


def test_past_windows_only_with_all(cli, city):
    with Store.open(store_url(cli)) as store, store.write() as conn:
        add_maintenance(conn, "ap", "CALLE-8", NOW - 2 * DAY, NOW - DAY, "done last week", NOW - 3 * DAY)
    assert cli("maintenance", "add", "--ap", "CALLE-8", "--until", "+1h", "--reason", "x").out == "2\n"
    assert [w["id"] for w in _list(cli)] == [2]
    assert [(w["id"], w["state"]) for w in _list(cli, "--all")] == [(1, "past"), (2, "active")]
    rows = list(csv.reader(io.StringIO(cli("maintenance", "list", "--all", "-f", "csv").out)))
    assert rows[0] == ["id", "scope", "target", "name", "aps", "starts", "ends", "state", "reason"]
    assert rows[1] == ["1", "ap", "CALLE-8", "", "1", "2026-03-02T04:30:00-06:00", "2026-03-03T04:30:00-06:00",
                       "past", "done last week"]
    table = cli("maintenance", "list")
    assert table.code == 0 and "CALLE-8" in table.out and "done last week" not in table.out


def test_nothing_listed(cli, city):
    result = cli("maintenance", "list")
    assert (result.code, result.out) == (0, "")
    assert result.err == "no maintenance windows active or ahead; --all shows past ones too\n"


@pytest.mark.parametrize(("args", "code", "message"), [
    ((), 2, "give exactly one of --site, --ap and --district"),
    (("--site", "ESC-1", "--ap", "CALLE-7"), 2, "give exactly one of --site, --ap and --district"),
    (("--site", "ESC-2"), 3, "error: --site 'ESC-2': no such site in the inventory (a site id or name); "
                             "did you mean 'ESC-1'?"),
    (("--site", "CALLE-*"), 3, "--site 'CALLE-*' matches 2 sites"),
    (("--ap", "CALLE-77"), 3, "error: no AP 'CALLE-77' in the inventory; did you mean CALLE-7"),
    (("--district", "tla"), 3, "error: --district 'tla' matches 2 districts: Tlahuac, Tlalpan; be more specific"),
    (("--district", "Tlalpam"), 3, "did you mean 'Tlalpan'"),
    (("--ap", "CALLE-7", "--from", "+3h"), 3, "error: --until '+2h' (2026-03-04 06:30 CST) is not after --from "
                                              "'+3h' (2026-03-04 07:30 CST)"),
    (("--ap", "CALLE-7", "--from", "soon"), 3, "error: --from 'soon': not a time"),
], ids=["no-target", "two-targets", "unknown-site", "several-sites", "unknown-ap", "ambiguous-district",
        "misspelt-district", "ends-before-start", "bad-from"])
def test_add_refuses_bad_input_and_writes_nothing(cli, city, args, code, message):
    result = cli("maintenance", "add", *args, "--until", "+2h", "--reason", "work")
    assert result.code == code
    assert message in result.err
    assert _list(cli, "--all") == []


def test_add_refuses_past_ends_empty_reasons_and_missing_options(cli, city):
    past = cli("maintenance", "add", "--ap", "CALLE-7", "--from", "3h", "--until", "2h", "--reason", "x")
    assert past.code == 3 and "is already past" in past.err
    ahead = cli("maintenance", "add", "--ap", "CALLE-7", "--until", "2h", "--reason", "x")
    assert ahead.code == 3 and "write +2h, not 2h" in ahead.err
    empty = cli("maintenance", "add", "--ap", "CALLE-7", "--until", "+2h", "--reason", " ")
    assert empty.code == 3 and "--reason is empty" in empty.err
    assert cli("maintenance", "add", "--ap", "CALLE-7", "--until", "+2h").code == 2  # --reason is required
    assert cli("maintenance", "add", "--ap", "CALLE-7", "--reason", "x").code == 2  # so is --until
    assert _list(cli, "--all") == []
    assert "Examples:" in cli("maintenance", "add", "--help").out
