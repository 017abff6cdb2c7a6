"""The audit log in the store, on SQLite and PostgreSQL: begin, finish, list and get."""

from __future__ import annotations

import os
import pwd

import pytest

from hotspotctl.store import Store
from hotspotctl.store.audit import OUTPUT_LIMIT, audit_user, begin_action, finish_action, get_action, list_actions

T0 = 1_790_000_000.0


def _begin(store: Store, action: str, targets: list[str], at: float, command: str = "show version") -> int:
    with store.write() as conn:
        return begin_action(conn, user="alice", action=action, command=command, selection={"site": ["S-1"]},
                            targets=targets, now=at)


def test_an_action_is_running_until_finished_then_keeps_each_result(store):
    entry_id = _begin(store, "exec", ["AP_1", "AP-2"], T0)
    with store.read() as conn:
        running = get_action(conn, entry_id)
    assert running is not None
    assert (running.status, running.finished_at, running.targets, running.results) == (
        "running", None, ("AP_1", "AP-2"), ())
    assert running.selection == {"site": ["S-1"]} and running.user == "alice" and running.command == "show version"
    long = "x" * (OUTPUT_LIMIT + 500)
    with store.write() as conn:
        finish_action(conn, entry_id, status="partial", now=T0 + 3, results=[
            {"ap": "AP_1", "ok": True, "kind": None, "error": None, "duration_s": 1.25, "output": long},
            {"ap": "AP-2", "ok": False, "kind": "auth", "error": "authentication failed", "duration_s": 0.5,
             "output": ""}])
    with store.read() as conn:
        entry = get_action(conn, entry_id)
        assert get_action(conn, entry_id + 1) is None
    assert entry is not None and (entry.status, entry.finished_at) == ("partial", T0 + 3)
    first, second = entry.results
    assert first["output"] == "x" * OUTPUT_LIMIT and first["output_chars"] == OUTPUT_LIMIT + 500
    assert second == {"ap": "AP-2", "ok": False, "kind": "auth", "error": "authentication failed",
                      "duration_s": 0.5, "output": ""}
    assert (entry.ok_count, entry.failed_count) == (1, 1)
    data = entry.to_json()
    assert data["targets"] == ["AP_1", "AP-2"] and data["ok"] == 1 and len(data["results"]) == 2
    assert "results" not in entry.to_json(results=False)


def test_list_is_newest_first_and_filters_by_time_action_and_ap(store):
    ids = [_begin(store, "exec", ["AP_1", "AP-2"], T0),
           _begin(store, "reboot", ["AP-2"], T0 + 10, command="reboot"),
           _begin(store, "ssh", ["AP_10"], T0 + 20),
           _begin(store, "exec", ["ap_1"], T0 + 30)]
    with store.read() as conn:
        assert [e.id for e in list_actions(conn)] == ids[::-1]
        assert [e.id for e in list_actions(conn, limit=2)] == [ids[3], ids[2]]
        assert [e.id for e in list_actions(conn, since=T0 + 10)] == [ids[3], ids[2], ids[1]]
        assert [e.id for e in list_actions(conn, action="exec")] == [ids[3], ids[0]]
        # exact ids: not AP_10 (a longer id), not ap_1 (another case), and '_' is no wildcard (APx1 is not AP_1)
        assert [e.id for e in list_actions(conn, ap="AP_1")] == [ids[0]]
        assert [e.id for e in list_actions(conn, ap="AP-2")] == [ids[1], ids[0]]
        assert [e.id for e in list_actions(conn, ap="AP-2", limit=1)] == [ids[1]]
        assert list_actions(conn, ap="APx1") == []
        assert [e.id for e in list_actions(conn, ap="AP-2", action="reboot", since=T0 + 5)] == [ids[1]]


def test_unknown_actions_and_statuses_are_refused(store):
    with store.write() as conn, pytest.raises(ValueError, match="action must be one of"):
        begin_action(conn, user="u", action="rm", command="x", selection={}, targets=[], now=T0)
    entry_id = _begin(store, "ssh", ["A"], T0)
    with store.write() as conn, pytest.raises(ValueError, match="status must be one of"):
        finish_action(conn, entry_id, status="running", results=[], now=T0)


def test_the_user_is_the_os_user_with_the_one_behind_sudo(monkeypatch):
    monkeypatch.setenv("USER", "someone-else")  # the environment does not choose who is recorded
    monkeypatch.setenv("LOGNAME", "someone-else")
    me = pwd.getpwuid(os.getuid()).pw_name
    assert audit_user({}) == me
    assert audit_user({"SUDO_USER": "alice"}) == f"{me} (sudo: alice)"
    assert audit_user({"SUDO_USER": me}) == me
