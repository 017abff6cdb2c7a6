"""The NOC's hand actions on a real store (SQLite and PostgreSQL): outages ack / assign / note / close and
crews done, with who and when, all or nothing, and each written to the audit log."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hotspotctl import clock
from hotspotctl.evaluate.outages import LedgerUpdate
from hotspotctl.reports.done import done_link
from hotspotctl.settings import CrewSettings
from hotspotctl.store import Store
from hotspotctl.store.audit import audit_user, list_actions
from hotspotctl.store.inventory import load_access_points
from hotspotctl.store.outages import list_outages, save_ledger
from tests.cli.test_status_cli import INVENTORY, NOW, outages
from tests.conftest import write


@pytest.fixture
def ledger(cli, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The small city's ledger: 1 (PIL-1, open), 2 (CALLE-7, closed), 3 (ESC-1, open); the store on each backend."""
    monkeypatch.setenv("HOTSPOTCTL_DATABASE_URL", store_url)
    monkeypatch.setenv("HOTSPOTCTL_USER", "ana")
    monkeypatch.setattr(clock, "now", lambda: NOW)
    assert cli("inventory", "import", write(tmp_path / "city.csv", INVENTORY)).code == 0
    with Store.open(store_url) as store, store.write() as conn:
        site_of = {ap_id: ap.site_id for ap_id, ap in load_access_points(conn).items()}
        save_ledger(conn, LedgerUpdate(opened=outages(site_of), changed=[], closed=[]))
    return site_of


def _show(cli, outage_id: int) -> dict:
    result = cli("outages", "show", str(outage_id), "-f", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def _audit(store_url: str) -> list[tuple[str, str, str, list[str], str]]:
    with Store.open(store_url) as store, store.read() as conn:
        return [(e.user, e.action, e.command, list(e.targets), e.status)
                for e in reversed(list_actions(conn, limit=None))]


def test_ack_assign_note_close_keep_who_and_when(cli, ledger, store_url, monkeypatch):
    assert [o["id"] for o in json.loads(cli("outages", "list", "--unacked", "-f", "json").out)] == [3, 1]
    acked = cli("outages", "ack", "3", "1", "--note", "CFE reports a power cut")
    assert (acked.code, acked.out) == (0, "")
    assert acked.err == (f"outage 3 ({ledger['ESC-1_AP_03']}): acknowledged by ana\n"
                         f"outage 1 ({ledger['PIL-1_AP_01']}): acknowledged by ana\n")
    three = _show(cli, 3)
    assert (three["acked_at"], three["acked_by"], three["assigned_to"], three["closed_by"]) == (NOW, "ana", None, None)
    assert three["notes"] == "2026-03-04 04:30 ana: acknowledged: CFE reports a power cut"  # the city's time
    assert json.loads(cli("outages", "list", "--unacked", "-f", "json").out) == []
    assert cli("outages", "list", "--unacked").err == "no unacknowledged open outages\n"

    monkeypatch.setattr(clock, "now", lambda: NOW + 60)
    again = cli("outages", "ack", "3", "--by", "bob")  # the first acknowledgement stands
    assert (again.code, again.err) == (0, f"outage 3 ({ledger['ESC-1_AP_03']}): already acknowledged by ana\n")
    assert (_show(cli, 3)["acked_by"], _show(cli, 3)["acked_at"]) == ("ana", NOW)

    assigned = cli("outages", "assign", "3", "--to", "cuadrilla sur 3", "--by", "bob")
    assert assigned.code == 0 and "assigned to cuadrilla sur 3 by bob" in assigned.err
    monkeypatch.setattr(clock, "now", lambda: NOW + 120)
    assert cli("outages", "assign", "3", "--to", "cuadrilla sur 1").code == 0
    assert cli("outages", "note", "3", "the school\nis closed", "--by", "luis").code == 0
    three = _show(cli, 3)
    assert (three["assigned_to"], three["assigned_at"]) == ("cuadrilla sur 1", NOW + 120)
    assert three["notes"].splitlines()[1:] == [
        "2026-03-04 04:31 bob: assigned to cuadrilla sur 3",
        "2026-03-04 04:32 ana: assigned to cuadrilla sur 1 (was cuadrilla sur 3)",
        "2026-03-04 04:32 luis: the school is closed"]

    monkeypatch.setattr(clock, "now", lambda: NOW + 600)
    closed = cli("outages", "close", "3", "--note", "site closed for works")
    assert (closed.code, closed.err) == (0, f"outage 3 ({ledger['ESC-1_AP_03']}): closed by hand by ana\n")
    three = _show(cli, 3)
    assert (three["open"], three["closed_at"], three["closed_by"], three["aps_now"], three["clients_now"]) == (
        False, NOW + 600, "ana", [], 0)
    assert (three["aps"], three["acked_by"], three["assigned_to"]) == (["ESC-1_AP_03"], "ana", "cuadrilla sur 1")
    assert three["notes"].splitlines()[-1] == "2026-03-04 04:40 ana: closed by hand: site closed for works"
    assert [o["id"] for o in json.loads(cli("outages", "list", "--open", "-f", "json").out)] == [1]

    me = audit_user()  # the audit log's user is the OS user; --by is what the ledger says
    assert _audit(store_url) == [
        (me, "ack", "hotspotctl outages ack 3 1", ["outage:3", "outage:1"], "ok"),
        (me, "ack", "hotspotctl outages ack 3", ["outage:3"], "ok"),
        (me, "assign", "hotspotctl outages assign 3 --to 'cuadrilla sur 3'", ["outage:3"], "ok"),
        (me, "assign", "hotspotctl outages assign 3 --to 'cuadrilla sur 1'", ["outage:3"], "ok"),
        (me, "note", "hotspotctl outages note 3", ["outage:3"], "ok"),
        (me, "close", "hotspotctl outages close 3", ["outage:3"], "ok")]
    shown = cli("audit", "list", "--action", "close", "-f", "json")
    assert shown.code == 0 and [e["action"] for e in json.loads(shown.out)] == ["close"]


def test_unknown_or_closed_outages_are_refused_and_nothing_is_written(cli, ledger, store_url):
    unknown = cli("outages", "ack", "3", "99")
    assert unknown.code == 3
    assert unknown.err == ("error: no outage 99 in the ledger; `hotspotctl outages list` shows their ids; "
                           "nothing written\n")
    closed = cli("outages", "ack", "3", "2")
    assert closed.code == 3
    calle = ledger["CALLE-7"]
    assert closed.err == f"error: outage 2 ({calle}) is already closed: nothing to ack; nothing written\n"
    assert _show(cli, 3)["acked_at"] is None and _show(cli, 3)["notes"] == ""  # 3 was first: still not acked
    for args in (("assign", "2", "--to", "x"), ("close", "2"), ("close", "99"), ("assign", "99", "--to", "x")):
        refused = cli("outages", *args)
        assert refused.code == 3, args
        assert "nothing written" in refused.err
    assert cli("outages", "assign", "3", "--to", "   ").code == 3  # an empty who
    assert cli("outages", "ack", "3", "--by", "").code == 3
    assert cli("outages", "ack", "3", "--note", "x" * 1001).code == 3
    assert cli("outages", "ack").code == 2
    assert _audit(store_url) == []
    assert cli("outages", "note", "2", "post-mortem: the breaker").code == 0  # a closed one takes notes
    assert _show(cli, 2)["notes"] == "2026-03-04 04:30 ana: post-mortem: the breaker"


def test_who_defaults_to_the_login_name(cli, ledger, monkeypatch):
    monkeypatch.delenv("HOTSPOTCTL_USER")
    assert cli("outages", "ack", "1").code == 0
    assert _show(cli, 1)["acked_by"] == audit_user()


def test_list_and_show_carry_ack_assignee_and_visits(cli, ledger):
    assert cli("outages", "ack", "3").code == 0
    assert cli("outages", "assign", "3", "--to", "cuadrilla 3").code == 0
    assert cli("crews", "done", "3", "--by", "cuadrilla 3", "--fixed", "--note", "PoE cambiado").code == 0
    rows = list(csv.reader(io.StringIO(cli("outages", "list", "--format", "csv").out)))
    assert rows[0][-5:] == ["acked_by", "acked", "assigned_to", "closed_by", "visits"]
    assert [r[-5:] for r in rows[1:]] == [["ana", "2026-03-04T04:30:00-06:00", "cuadrilla 3", "", "1"],
                                          ["", "", "", "", "0"], ["", "", "", "", "0"]]
    table = cli("outages", "list").out
    assert "acked" in table and "cuadrilla 3" in table
    shown = cli("outages", "show", "3").out
    for text in ("ana at 2026-03-04 04:30 CST", "cuadrilla 3 since 2026-03-04 04:30 CST", "visits (1)",
                 "PoE cambiado"):
        assert text in shown
    document = _show(cli, 3)
    assert document["visits"] == [{"at": NOW, "by": "cuadrilla 3", "note": "PoE cambiado", "via": "cli",
                                   "fixed": True}]


def test_crews_done_by_site_id_name_or_outage_id(cli, ledger, store_url, monkeypatch):
    esc = ledger["ESC-1_AP_03"]
    result = cli("crews", "done", esc, "--note", "sin acceso")
    assert (result.code, result.err) == (0, f"outage 3 ({esc}): visited (cli) by ana\n")
    assert cli("crews", "done", "esc-1", "--by", "cuadrilla 3", "--not-fixed").code == 0  # the name, as listed
    # CALLE-7's outage closed 46 h ago: too old for a visit by site; by its id it still takes one
    old = cli("crews", "done", "CALLE-7")
    assert old.code == 3 and "no outage 'CALLE-7'" in old.err and "nothing written" in old.err
    assert cli("crews", "done", "2", "--note", "late report").code == 0
    assert cli("crews", "done", "nowhere").code == 3
    visits = _show(cli, 3)["visits"]
    assert visits == [{"at": NOW, "by": "ana", "note": "sin acceso", "via": "cli", "fixed": None},
                      {"at": NOW, "by": "cuadrilla 3", "note": "", "via": "cli", "fixed": False}]
    assert _show(cli, 3)["notes"].splitlines() == ["2026-03-04 04:30 ana: visited (cli): sin acceso",
                                                   "2026-03-04 04:30 cuadrilla 3: visited (cli), not fixed"]
    assert [v["note"] for v in _show(cli, 2)["visits"]] == ["late report"]
    # the run closed ESC-1's outage an hour after the crew's work: the crew's report still lands on it
    assert cli("outages", "close", "3").code == 0
    monkeypatch.setattr(clock, "now", lambda: NOW + 3600)
    assert cli("crews", "done", esc, "--fixed").code == 0
    assert [v["fixed"] for v in _show(cli, 3)["visits"]] == [None, False, True]
    assert [a[1] for a in _audit(store_url)] == ["done", "done", "done", "close", "done"]


DONE_SECRET = "crews-done-secret-0123456789abcdef"


def test_the_crew_list_carries_each_stops_signed_done_link(cli, ledger, monkeypatch):
    plain = json.loads(cli("crews", "list", "--format", "json").out)
    assert [s["done_link"] for z in plain for s in z["stops"]] == [None, None]
    assert 'class="done"' not in cli("crews", "list", "--format", "html").out  # no link without the settings
    monkeypatch.setenv("HOTSPOTCTL_CREWS_DONE_URL", "https://noc.example.org/done")
    monkeypatch.setenv("HOTSPOTCTL_CREWS_DONE_SECRET", DONE_SECRET)
    lists = json.loads(cli("crews", "list", "--format", "json").out)
    links = {s["outages"][0]: s["done_link"] for z in lists for s in z["stops"]}
    settings = CrewSettings(done_url="https://noc.example.org/done", done_secret=DONE_SECRET)
    assert links == {3: done_link([3], settings), 1: done_link([1], settings)}
    assert links[3].startswith("https://noc.example.org/done?stop=3&sig=")
    page = cli("crews", "list", "--format", "html").out
    assert f'<a class="done" href="{html.escape(links[3])}">Reportar la visita</a>' in page  # the zone's language
    for shown in (page, cli("config", "show").out, cli("config", "show", "-f", "json").out):
        assert DONE_SECRET not in shown


def test_crews_receive_records_a_visit_from_its_link(ledger, store_url, tmp_path):
    """The command as an operator starts it, in its own process, on a free loopback port."""
    env = {**os.environ, "HOTSPOTCTL_DATABASE_URL": store_url, "HOTSPOTCTL_CREWS_DONE_SECRET": DONE_SECRET,
           "HOTSPOTCTL_CONFIG": str(write(tmp_path / "none.toml", ""))}
    process = subprocess.Popen([sys.executable, "-m", "hotspotctl", "crews", "receive", "--port", "0"], env=env,
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.fullmatch(r"receiving crews' done links on http://127\.0\.0\.1:(\d+)/ \(Ctrl-C stops\)\n", line)
        assert found, line
        base = f"http://127.0.0.1:{found.group(1)}/done"
        link = done_link([1], CrewSettings(done_url=base, done_secret=DONE_SECRET))
        assert link is not None
        forged = urllib.request.Request(f"{base}?stop=1&sig={'f' * 64}", data=b"by=x")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=10)
        assert refused.value.code == 403
        with urllib.request.urlopen(urllib.request.Request(link, data=b"by=cuadrilla+1&fixed=1"),
                                    timeout=10) as answer:
            assert answer.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0
    with Store.open(store_url) as store, store.read() as conn:
        (visit,) = [v for o in list_outages(conn) for v in o.visits]
    assert (visit["by"], visit["via"], visit["fixed"]) == ("cuadrilla 1", "link", True)
