"""ap ssh, ap exec, ap reboot and the audit log, against recorded vendor CLIs (tests/sshservers.py) on loopback.

Three APs at one site, each on its own emulated device: a Cisco Aironet (cisco_ios), a MikroTik (RouterOS)
and an OpenWrt AP (linux), logging in with password sets from the settings file (passwords from the
environment) and host keys checked against a known_hosts file written from the server's keys.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotspotctl.actions import redact as redaction
from hotspotctl.cli import ap as ap_cli
from hotspotctl.store import Store
from hotspotctl.store.audit import OUTPUT_LIMIT, audit_user, list_actions
from tests.cli.test_status_cli import store_url
from tests.conftest import write
from tests.sshservers import CliDevice, CliServer
from tests.waiting import eventually

RECORDINGS = {"AICM-CISCO": ("cisco_aironet", "cisco_aironet", "cisco"),
              "AICM-MT": ("mikrotik_ap", "mikrotik_routeros", "mikrotik"),
              "AICM-WRT": ("openwrt_ap", "openwrt", "openwrt")}  # AP -> (recording, profile, ssh.auth set)
PASSWORD_ENV = {"cisco": "HSTEST_SSH_CISCO_PASSWORD", "mikrotik": "HSTEST_SSH_MIKROTIK_PASSWORD",
                "openwrt": "HSTEST_SSH_OPENWRT_PASSWORD"}


@dataclass
class Lab:
    cli: object
    server: CliServer  # conftest's ssh_cli: fresh devices for each test
    known_hosts: Path
    devices: dict[str, CliDevice]  # by AP id
    url: str

    def configure(self, *, deadline_s: float = 10.0) -> None:
        settings = f'[ssh]\nknown_hosts = "{self.known_hosts}"\ndeadline_s = {deadline_s}\n'
        for ap_id, (_, _, auth) in RECORDINGS.items():
            settings += (f'[ssh.auth.{auth}]\nusername = "{self.devices[ap_id].username}"\n'
                         f'password_env = "{PASSWORD_ENV[auth]}"\n')
        write(self.cli.workdir / "hotspotctl.toml", settings)  # type: ignore[attr-defined]

    def untouched(self) -> bool:
        """No device saw a login or a command."""
        return all(d.logins == 0 and not d.commands for d in self.devices.values())

    def audit(self) -> list:
        with Store.open(self.url) as store, store.read() as conn:
            return list_actions(conn)


@pytest.fixture
def lab(cli, ssh_cli, ssh_known_hosts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal, whatever runs the tests
    devices = {ap_id: ssh_cli.device(recording) for ap_id, (recording, _, _) in RECORDINGS.items()}
    for ap_id, (_, _, auth) in RECORDINGS.items():
        monkeypatch.setenv(PASSWORD_ENV[auth], devices[ap_id].password)
    opened = Lab(cli, ssh_cli, ssh_known_hosts, devices, store_url(cli))
    opened.configure()
    rows = ["id,lat,lon,district,site,mgmt_address,profile,collector,ssh_auth"]
    for ap_id, (recording, profile, auth) in RECORDINGS.items():
        rows.append(f"{ap_id},19.4361,-99.0719,Venustiano Carranza,AICM,{ssh_cli.address(recording)},{profile},ssh,"
                    f"{auth}")
    rows.append("PIL-SNMP,19.30,-99.10,Tlalpan,PILARES,127.0.0.1:1161,generic,,")  # no ssh section
    rows.append("PIL-NOPROFILE,19.30,-99.10,Tlalpan,PILARES,127.0.0.1:1162,,,")  # never discovered
    imported = cli("inventory", "import", write(tmp_path / "aps.csv", "\n".join(rows) + "\n"))
    assert imported.code == 0, imported.err
    return opened


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# -- ap ssh ---------------------------------------------------------------------------------------------------------

def test_ssh_prints_the_recorded_output_exactly_and_audits_it(cli, lab):
    result = cli("ap", "ssh", "AICM-CISCO", "--", "show", "version")
    assert result.code == 0, result.err
    assert result.out == lab.devices["AICM-CISCO"].outputs["show version"] + "\n"
    assert "show version" in lab.devices["AICM-CISCO"].commands
    as_json = cli("ap", "ssh", "AICM-WRT", "--format", "json", "--", "cat /proc/uptime")
    assert as_json.code == 0, as_json.err
    data = json.loads(as_json.out)
    assert data["output"] == lab.devices["AICM-WRT"].outputs["cat /proc/uptime"]
    assert (data["ok"], data["error_kind"], data["profile"], data["site"]) == (True, None, "openwrt", "AICM")
    wrt, cisco = lab.audit()
    assert (wrt.action, wrt.command, wrt.targets, wrt.selection, wrt.status) == (
        "ssh", "cat /proc/uptime", ("AICM-WRT",), {"ap": ["AICM-WRT"]}, "ok")
    assert wrt.user == audit_user() and wrt.finished_at is not None and wrt.finished_at >= wrt.started_at
    assert wrt.results[0]["output"] == data["output"] and wrt.results[0]["ok"] is True
    assert (cisco.action, cisco.command, cisco.status) == ("ssh", "show version", "ok")


@pytest.mark.parametrize(("ap_id", "command", "said"), [
    ("AICM-WRT", "reboot", "is not a read-only command for AP AICM-WRT (profile openwrt, shell dialect): `reboot` is not a "
                           "command `ap ssh` runs here (it runs: cat, df, dmesg,"),
    ("AICM-CISCO", "configure terminal", "is not a read-only command for AP AICM-CISCO (profile cisco_aironet, "
                                         "ios dialect): `configure` is not read-only; nothing run"),
    ("AICM-WRT", "cat /proc/uptime; reboot", "(profile openwrt, shell dialect): `;` ends the command and starts another"),
    ("AICM-WRT", "cat $(reboot)", "(profile openwrt, shell dialect): `$` expands a variable or a command"),
    ("AICM-MT", "/interface print where name=[/system reboot]", "(profile mikrotik_routeros, routeros dialect): "
                                                                "`[ ]` runs a command inside this one; nothing run"),
    ("AICM-CISCO", "show running-config | redirect flash:x", "(profile cisco_aironet, ios dialect): `redirect` is not "
                                                             "read-only; nothing run"),
])
def test_ssh_refuses_what_is_not_read_only_and_nothing_reaches_the_device(cli, lab, ap_id, command, said):
    result = cli("ap", "ssh", ap_id, "--", command)
    assert result.code == 2
    assert said in result.err
    assert f"use `hotspotctl ap exec --ap {ap_id} -- {command}` (it asks for confirmation and is audited)" in result.err
    assert result.out == ""
    assert lab.untouched() and lab.audit() == []


# Issue 15: what the pattern guard of 3854a6b sent to the AP (checked there: exit 0 or 4, the command in the device's
# log), refused now by parsing the line as the device does, before any session opens. Each profile's whole table of
# bypass attempts is in tests/collectors/test_cliguard.py; these go through the CLI and the emulated devices.
@pytest.mark.parametrize(("ap_id", "command", "said"), [
    ("AICM-MT", '/user set admin password=" print "', "(profile mikrotik_routeros, routeros dialect): `set` is not "
                                                      "read-only"),
    ("AICM-MT", '/system scheduler add name=x on-event="/system reboot" comment=" print "', "`add` is not read-only"),
    ("AICM-MT", "/interface print fi=x", "`fi` (short for `file`) is not read-only"),
    ("AICM-MT", "/system script run print", "`script` is not a menu or read-only command in /system allowed here"),
    ("AICM-WRT", "logread -p /tmp/x", "(profile openwrt, shell dialect): `-p` is not an option `logread` allows here "
                                      "(allowed: -e, -l)"),
    ("AICM-WRT", "logread -F /tmp/x", "`-F` is not an option `logread` allows here (allowed: -e, -l)"),
    ("AICM-WRT", "logread -r 10.0.0.9 514", "`-r` is not an option `logread` allows here (allowed: -e, -l)"),
    ("AICM-LNX", "hostname evil", "(profile linux, shell dialect): `hostname` takes no operand here, got `evil`"),
    ("AICM-CISCO", "show ?", "(profile cisco_aironet, ios dialect): `?` is IOS's help key"),
])
def test_ssh_refuses_the_bypasses_of_the_pattern_guard_before_any_session(cli, lab, tmp_path, ap_id, command, said):
    if ap_id == "AICM-LNX":  # a Linux host: the linux profile on the emulated OpenWrt shell (which runs nothing)
        row = f"AICM-LNX,19.4361,-99.0719,Venustiano Carranza,AICM,{lab.server.address(lab.devices['AICM-WRT'])},linux,ssh,openwrt"
        header = "id,lat,lon,district,site,mgmt_address,profile,collector,ssh_auth\n"
        assert cli("inventory", "import", write(tmp_path / "lnx.csv", header + row + "\n")).code == 0
    result = cli("ap", "ssh", ap_id, "--", command)
    assert (result.code, result.out) == (2, ""), result.err
    assert f"error: `{command}` is not a read-only command for AP {ap_id} " in result.err
    assert said in result.err
    assert f"; nothing run. For anything else use `hotspotctl ap exec --ap {ap_id} -- {command}`" in result.err
    assert lab.untouched() and lab.audit() == []


@pytest.mark.parametrize(("ap_id", "command"), [
    ("AICM-MT", "/interface ethernet monitor ether1 once"),
    ("AICM-MT", "/interface wireless registration-table print count-only"),
    ("AICM-WRT", "iw dev wlan0 station dump"),
    ("AICM-CISCO", "show dot11 associations"),
])
def test_ssh_runs_the_profiles_own_read_only_commands(cli, lab, ap_id, command):
    result = cli("ap", "ssh", ap_id, "--", command)
    assert result.code == 0, result.err
    assert result.out == lab.devices[ap_id].outputs[command].lstrip() + "\n"  # netmiko strips the first indent
    (entry,) = lab.audit()
    assert (entry.action, entry.command, entry.status) == ("ssh", command, "ok")


def test_ssh_allows_a_filtered_show_on_ios(cli, lab):
    result = cli("ap", "ssh", "AICM-CISCO", "--", "show version | include uptime")
    # The emulator does not filter (it answers "% Invalid input"): what matters is that it was sent.
    assert result.code == 4 and "command: the AP refused or failed the command: % Invalid input" in result.err
    assert lab.devices["AICM-CISCO"].commands[-2:] == ["show version | include uptime", "exit"]


def test_ssh_failure_is_exit_4_with_the_kind_on_stderr(cli, lab, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV["openwrt"], "not-the-password")
    result = cli("ap", "ssh", "AICM-WRT", "--", "cat /proc/uptime")
    assert result.code == 4 and result.out == ""
    assert result.err.startswith("error: AP AICM-WRT: auth: root@127.0.0.1:")
    assert "authentication failed with ssh.auth.openwrt" in result.err and "not-the-password" not in result.err
    (entry,) = lab.audit()
    assert entry.status == "failed" and entry.results[0]["kind"] == "auth"


def test_ssh_needs_an_ap_with_an_ssh_profile(cli, lab):
    result = cli("ap", "ssh", "PIL-SNMP", "--", "show version")
    assert result.code == 3 and "AP PIL-SNMP: profile generic has no ssh section; nothing run" in result.err
    assert cli("ap", "ssh", "AICM-NOPE", "--", "show version").code == 3
    assert cli("ap", "ssh", "AICM-WRT").code == 2  # no command
    assert lab.untouched() and lab.audit() == []


# -- ap exec --------------------------------------------------------------------------------------------------------

def test_exec_on_a_site_answers_per_ap_and_writes_one_audit_entry(cli, lab):
    result = cli("ap", "exec", "--site", "AICM", "--yes", "--format", "json", "--", "show", "version")
    assert result.code == 4, result.err  # only IOS knows `show version`: the others say so, and that is a failure
    rows = json.loads(result.out)
    assert [(r["ap"], r["site"], r["ok"], r["error_kind"]) for r in rows] == [
        ("AICM-CISCO", "AICM", True, None), ("AICM-MT", "AICM", False, "command"),
        ("AICM-WRT", "AICM", False, "command")]
    outputs = {r["ap"]: r["output"] for r in rows}
    assert outputs["AICM-CISCO"] == lab.devices["AICM-CISCO"].outputs["show version"]
    assert outputs["AICM-MT"] == "bad command name show (line 1 column 1)"  # what RouterOS says to IOS words
    assert outputs["AICM-WRT"] == "-ash: show: not found"
    assert all("show version" in d.commands for d in lab.devices.values())
    assert result.err == "exec: 1 of 3 APs ok, failed: command 2\n"
    (entry,) = lab.audit()
    assert (entry.action, entry.command, entry.status, entry.selection) == ("exec", "show version", "partial",
                                                                             {"site": ["AICM"]})
    assert entry.targets == ("AICM-CISCO", "AICM-MT", "AICM-WRT")
    assert [(r["ap"], r["ok"], r["output"]) for r in entry.results] == [
        (ap, ap == "AICM-CISCO", outputs[ap][:OUTPUT_LIMIT]) for ap in outputs]
    cisco = outputs["AICM-CISCO"]
    assert len(cisco) > OUTPUT_LIMIT and entry.results[0]["output_chars"] == len(cisco)  # the log keeps the start


def test_a_wrong_password_makes_it_partial_and_no_password_is_shown_or_logged(cli, lab, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV["mikrotik"], "wrong-pass-123")
    result = cli("ap", "exec", "--site", "AICM", "--yes", "--format", "json", "--", "show version")
    assert result.code == 4
    rows = {r["ap"]: r for r in json.loads(result.out)}
    assert (rows["AICM-MT"]["ok"], rows["AICM-MT"]["error_kind"]) == (False, "auth")
    assert rows["AICM-CISCO"]["ok"] and rows["AICM-WRT"]["error_kind"] == "command"
    assert "exec: 1 of 3 APs ok, failed: auth 1, command 1" in result.err
    (entry,) = lab.audit()
    assert entry.status == "partial"
    assert {r["ap"]: r["kind"] for r in entry.results} == {"AICM-CISCO": None, "AICM-MT": "auth",
                                                           "AICM-WRT": "command"}
    shown = result.out + result.err + json.dumps(entry.to_json())
    for secret in ("wrong-pass-123", *(d.password for d in lab.devices.values())):
        assert secret not in shown


def test_exec_table_shows_the_first_lines_and_skipped_aps_count(cli, lab):
    result = cli("ap", "exec", "--ap", "AICM-CISCO", "--ap", "PIL-SNMP", "--", "show version")
    assert result.code == 4  # one AP ran it, one was skipped
    assert "Cisco IOS Software, C3700 Software" in result.out and "more lines; --format json" in result.out
    assert "skipped: profile generic has no ssh section" in result.out
    assert "skipped PIL-SNMP: profile generic has no ssh section" in result.err
    (entry,) = lab.audit()
    assert entry.targets == ("AICM-CISCO",) and entry.status == "ok"
    csv_out = cli("ap", "exec", "--ap", "AICM-WRT", "-f", "csv", "--", "cat /proc/uptime")
    assert csv_out.code == 0
    assert csv_out.out.splitlines()[0] == "ap,site,ok,duration_s,error_kind,error,output"
    assert csv_out.out.splitlines()[1].endswith(lab.devices["AICM-WRT"].outputs["cat /proc/uptime"])


def test_dry_run_lists_targets_and_skipped_and_runs_nothing(cli, lab):
    result = cli("ap", "exec", "--site", "AICM", "--site", "PILARES", "--dry-run", "-f", "json", "--", "show version")
    assert result.code == 0, result.err
    rows = {r["ap"]: r for r in json.loads(result.out)}
    assert rows["AICM-MT"] == {"ap": "AICM-MT", "site": "AICM", "address": lab.server.address(lab.devices["AICM-MT"]),
                               "profile": "mikrotik_routeros", "device_type": "mikrotik_routeros", "skipped": None}
    assert rows["PIL-SNMP"]["skipped"] == "profile generic has no ssh section"
    assert rows["PIL-NOPROFILE"]["skipped"].startswith("no profile: pin one with an ssh section")
    assert "dry run: would exec on 3 APs at 1 site; 2 skipped; nothing run" in result.err
    reboot = cli("ap", "reboot", "--ap", "AICM-*", "--dry-run", "-f", "csv")
    assert reboot.code == 0 and reboot.out.count("\n") == 4
    assert lab.untouched() and lab.audit() == []


def test_without_yes_off_a_terminal_nothing_runs(cli, lab):
    result = cli("ap", "exec", "--site", "AICM", "--", "show version")
    assert result.code == 2
    assert "Run 'show version' on 3 APs at 1 site: not on a terminal" in result.err and "add --yes" in result.err
    one = cli("ap", "reboot", "--ap", "AICM-WRT")  # a reboot asks even for one AP
    assert one.code == 2 and "Reboot 1 AP at 1 site (AICM-WRT)" in one.err
    nothing = cli("ap", "exec", "--", "show version")
    assert nothing.code == 2 and "choose the APs with --ap, --site" in nothing.err
    assert lab.untouched() and lab.audit() == []


def test_on_a_terminal_it_asks_and_a_no_runs_nothing(cli, lab, monkeypatch):
    asked: list[str] = []

    def answer(reply: bool):
        def confirm(text: str, default: bool = False, err: bool = False) -> bool:
            asked.append(text)
            assert err  # the question goes to stderr: stdout is for data
            return reply
        return confirm

    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(ap_cli.typer, "confirm", answer(False))
    declined = cli("ap", "exec", "--site", "AICM", "--", "show version")
    assert declined.code == 1 and "nothing run" in declined.err
    assert asked == ["Run 'show version' on 3 APs at 1 site?"]
    assert lab.untouched() and lab.audit() == []
    monkeypatch.setattr(ap_cli.typer, "confirm", answer(True))
    for ap_id in ("AICM-CISCO", "AICM-WRT"):
        lab.devices[ap_id].outputs["uname"] = "Linux"
    assert cli("ap", "exec", "--ap", "AICM-CISCO", "--ap", "AICM-WRT", "--", "uname").code == 0
    assert asked[-1] == "Run 'uname' on 2 APs at 1 site?"
    assert [e.status for e in lab.audit()] == ["ok"]


# -- ap reboot ------------------------------------------------------------------------------------------------------

def test_reboot_reboots_once_and_is_audited(cli, lab):
    result = cli("ap", "reboot", "--ap", "AICM-WRT", "--yes", "-f", "json")
    assert result.code == 0, result.err
    assert [d.reboots for d in lab.devices.values()] == [0, 0, 1]
    (row,) = json.loads(result.out)
    assert (row["ap"], row["ok"]) == ("AICM-WRT", True)
    (entry,) = lab.audit()
    assert (entry.action, entry.command, entry.status, entry.targets) == ("reboot", "reboot", "ok", ("AICM-WRT",))
    no_reboot = cli("ap", "reboot", "--ap", "PIL-SNMP", "--yes")
    assert no_reboot.code == 3
    assert "PIL-SNMP: profile generic has neither an ssh reboot command nor an SNMP reboot" in no_reboot.err


# -- the audit log --------------------------------------------------------------------------------------------------

def test_audit_list_and_show(cli, lab, monkeypatch):
    assert cli("ap", "ssh", "AICM-CISCO", "--", "show version").code == 0
    monkeypatch.setenv(PASSWORD_ENV["openwrt"], "nope-nope")
    assert cli("ap", "exec", "--ap", "AICM-WRT", "--ap", "AICM-MT", "--yes", "--", "/system resource print").code == 4
    listed = cli("audit", "list", "--format", "json")
    assert listed.code == 0, listed.err
    entries = json.loads(listed.out)
    assert [(e["id"], e["action"], e["status"], e["user"], e["ok"], e["failed"]) for e in entries] == [
        (2, "exec", "partial", audit_user(), 1, 1), (1, "ssh", "ok", audit_user(), 1, 0)]
    assert entries[0]["targets"] == ["AICM-MT", "AICM-WRT"] and "results" not in entries[0]
    assert entries[0]["started"].endswith("Z") and entries[0]["selection"] == {"ap": ["AICM-WRT", "AICM-MT"]}
    assert [e["id"] for e in json.loads(cli("audit", "list", "--action", "ssh", "-f", "json").out)] == [1]
    assert [e["id"] for e in json.loads(cli("audit", "list", "--ap", "AICM-MT", "-f", "json").out)] == [2]
    assert json.loads(cli("audit", "list", "--since", "2099-01-01", "-f", "json").out) == []
    assert [e["id"] for e in json.loads(cli("audit", "list", "--since", "1h", "-n", "1", "-f", "json").out)] == [2]
    table = cli("audit", "list")
    assert table.code == 0 and "/system resource print" in table.out and "partial" in table.out
    shown = json.loads(cli("audit", "show", "2", "-f", "json").out)
    results = {r["ap"]: r for r in shown["results"]}
    assert results["AICM-WRT"]["kind"] == "auth" and results["AICM-MT"]["ok"]
    assert results["AICM-MT"]["output"].startswith("uptime: 2w3d4h5m6s")
    text = cli("audit", "show", "1")
    assert text.code == 0 and "Cisco IOS Software" in text.out and "show version" in text.out
    missing = cli("audit", "show", "9")
    assert missing.code == 3 and "no audit entry 9" in missing.err
    assert cli("audit", "list", "--since", "yesterday").code == 3
    assert cli("audit", "list", "--action", "rm").code == 2


def test_the_entry_is_written_before_the_sessions_and_finished_when_interrupted(cli, lab, monkeypatch):
    """An AP that never answers: while it hangs the entry says running; Ctrl-C finishes it as interrupted."""
    lab.devices["AICM-WRT"].hang_on = {"uname -a"}
    lab.configure(deadline_s=3.0)  # what the hung session still costs once interrupted
    seen: dict[str, object] = {}
    kept = threading.Event()  # the answered AP's result is in: not "some time after its session ended"
    redact = redaction.redact

    def keep(result, secrets):  # the command's own step, with a note of when it has been taken
        redacted = redact(result, secrets)
        if result.ap == "AICM-CISCO":  # set on the loop's next turn: after the result went where it is kept
            asyncio.get_running_loop().call_soon(kept.set)
        return redacted

    monkeypatch.setattr(redaction, "redact", keep)

    def interrupt_when_hung() -> None:
        if kept.wait(15) and eventually(lambda: "uname -a" in lab.devices["AICM-WRT"].commands, 15):
            (entry,) = lab.audit()
            seen.update(status=entry.status, targets=entry.targets, results=entry.results)
            os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=interrupt_when_hung)
    watcher.start()
    try:
        result = cli("ap", "exec", "--ap", "AICM-CISCO", "--ap", "AICM-WRT", "--yes", "--", "uname -a")
    finally:
        watcher.join()
    assert seen == {"status": "running", "targets": ("AICM-CISCO", "AICM-WRT"), "results": ()}
    assert result.code == 130
    assert "interrupted: audit entry 1 records the 1 of 2 APs that had answered" in result.err
    (entry,) = lab.audit()
    assert entry.status == "interrupted" and entry.finished_at is not None
    cisco, wrt = entry.results
    assert (cisco["ok"], cisco["kind"]) == (False, "command") and "% Invalid input detected" in cisco["output"]
    assert (wrt["ok"], wrt["kind"]) == (False, "interrupted")


# -- a real OpenSSH server ------------------------------------------------------------------------------------------

def test_ssh_and_exec_on_a_real_openssh_server_with_a_key(cli, sshd, tmp_path):
    """Debian's sshd, public-key login, host key from known_hosts: a Linux AP (profile linux) as it is."""
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    write(cli.workdir / "hotspotctl.toml", f'[ssh]\nknown_hosts = "{known_hosts}"\ndeadline_s = 20\n'
                                           f'[ssh.auth.lab]\nusername = "{sshd.user}"\nkey_file = "{sshd.client_key}"\n')
    inventory = ("id,lat,lon,district,site,mgmt_address,profile,collector,ssh_auth\n"
                 f"LAB-1,19.43,-99.13,Cuauhtemoc,LAB,{sshd.address},linux,ssh,lab\n")
    assert cli("inventory", "import", write(tmp_path / "aps.csv", inventory)).code == 0
    result = cli("ap", "ssh", "LAB-1", "--", "uname", "-s")
    assert result.code == 0, result.err
    assert result.out.strip() == "Linux"  # netmiko's linux class leaves a newline before it on a real bash
    assert cli("ap", "ssh", "LAB-1", "--", "touch /tmp/x").code == 2
    shell = cli("ap", "exec", "--ap", "LAB-1", "-f", "json", "--", "echo hotspotctl-$((6*7))")
    assert shell.code == 0, shell.err
    assert json.loads(shell.out)[0]["output"].strip() == "hotspotctl-42"  # exec sends the line as given
    with Store.open(store_url(cli)) as store, store.read() as conn:
        entries = list_actions(conn)
    assert [(e.action, e.status, e.results[0]["output"].strip()) for e in entries] == [
        ("exec", "ok", "hotspotctl-42"), ("ssh", "ok", "Linux")]
