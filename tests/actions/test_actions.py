"""The pure parts of actions/: redaction, what the audit log records, the run's status. The planning and the
audited runs themselves are exercised end to end against SSH servers in tests/cli/test_ap_actions.py."""

from __future__ import annotations

from hotspotctl import clock
from hotspotctl.actions.plan import selection_flags
from hotspotctl.actions.redact import MASK, clean, redact
from hotspotctl.actions.run import audit_record, run_status
from hotspotctl.collectors.ssh import CommandResult
from hotspotctl.inventory.fleet import Selection


def test_clean_leaves_text_newlines_and_tabs_and_removes_what_drives_a_terminal():
    assert clean("uptime\t3d\r\n\x1b[31mred\x1b[0m\x1b]0;title\x07 ok\rhidden\x00") == "uptime\t3d\nred okhidden"


def test_redact_masks_every_secret_in_output_and_error_and_nothing_else():
    result = CommandResult("AP-1", False, "login pw s3cret-pw and key abcd", 1.25, "auth", "s3cret-pw refused")
    masked = redact(result, ["s3cret-pw", "abcd"])
    assert masked.output == f"login pw {MASK} and key {MASK}" and masked.error == f"{MASK} refused"
    assert (masked.ap, masked.ok, masked.duration_s, masked.kind) == ("AP-1", False, 1.25, "auth")
    assert redact(CommandResult("AP-2", True, "fine", 0.1), ["abcd"]).error is None


def test_run_status_and_the_audit_record():
    ok = CommandResult("A", True, "out", 0.12345)
    bad = CommandResult("B", False, "", 2.0, "timeout", "no answer")
    assert [run_status(r) for r in ([ok], [bad], [ok, bad])] == ["ok", "failed", "partial"]
    assert audit_record(ok) == {"ap": "A", "ok": True, "kind": None, "error": None, "duration_s": 0.123,
                                "output": "out"}


def test_the_audit_log_keeps_only_the_flags_given():
    chosen = Selection(aps=("AICM-*",), districts=("Tlalpan", "Coyoacán"))
    assert selection_flags(chosen) == {"ap": ["AICM-*"], "district": ["Tlalpan", "Coyoacán"]}


def test_one_clock_for_the_commands(monkeypatch):
    before = clock.now()
    assert before > 1.7e9
    monkeypatch.setattr(clock, "now", lambda: 42.0)
    assert clock.now() == 42.0
