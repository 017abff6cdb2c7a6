"""The SSH collector against protocol-true servers: netmiko, unmodified, logs in to recorded vendor CLIs
(tests/sshservers.py), reads the same Sample as SNMP, and turns every way a device can fail into a
per-AP error within the deadline while the other APs of the same poll are read normally."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from hotspotctl.collectors.model import PollError, Sample
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.collectors.ssh import SshCollector, SshTarget
from hotspotctl.settings import SshAuth, SshSettings
from tests.servers import free_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ssh"
CASES = sorted(p.parent.name for p in FIXTURES.glob("*/case.yaml"))
PROFILES = load_profiles()
DEADLINE_S = 4.0


def _case(name: str) -> dict:
    return yaml.safe_load((FIXTURES / name / "case.yaml").read_text(encoding="utf-8"))


def _settings(server, **changes) -> SshSettings:
    """One credential set per device of ``server``, named after its recording."""
    auth = {d.name: SshAuth(username=d.username, password_env=f"PW_{d.name.upper()}") for d in server.devices}
    return replace(SshSettings(auth=auth, deadline_s=DEADLINE_S, connect_timeout_s=2.0), **changes)


def _env(server) -> dict[str, str]:
    return {f"PW_{d.name.upper()}": d.password for d in server.devices}


def _target(server, name: str, ap: str | None = None, **changes) -> SshTarget:
    return replace(SshTarget(ap or name, server.address(name), name, _case(name)["profile"]), **changes)


def _poll(settings: SshSettings, known_hosts: Path, targets: list[SshTarget], env: dict[str, str]):
    with SshCollector(settings, PROFILES, known_hosts, env=env) as collector:
        started = time.monotonic()
        results = asyncio.run(collector.poll(targets))
        return results, time.monotonic() - started


def test_every_recording_has_a_case() -> None:
    assert CASES == ["cisco_aironet", "mikrotik_ap", "openwrt_ap"]


@pytest.mark.parametrize("name", CASES)
def test_a_recorded_device_gives_the_figures_its_case_expects(ssh_cli, ssh_known_hosts: Path, name: str) -> None:
    expected = _case(name)["expected"]
    before = time.time()
    (sample,), _ = _poll(_settings(ssh_cli), ssh_known_hosts, [_target(ssh_cli, name)], _env(ssh_cli))
    assert isinstance(sample, Sample), sample
    assert sample.ap == name and before <= sample.at <= time.time()
    assert sample.engine_time == expected["uptime_s"]
    assert (sample.in_octets, sample.out_octets) == (expected["in_octets"], expected["out_octets"])
    assert sample.counter_bits == 64
    assert sample.link_mbps == expected["link_mbps"]
    assert sample.clients == expected["clients"]
    device = ssh_cli.device(name)
    assert device.logins == 1
    profile = PROFILES.get(_case(name)["profile"]).ssh
    sent = {profile.interfaces.command, profile.uptime.command}
    assert sent <= set(device.commands)  # it asked the device, and nothing it was not meant to
    assert not any(c in ("reboot", "reload", "/system reboot") for c in device.commands)


def test_the_openwrt_radios_are_each_asked_for_their_stations(ssh_cli, ssh_known_hosts: Path) -> None:
    _poll(_settings(ssh_cli), ssh_known_hosts, [_target(ssh_cli, "openwrt_ap")], _env(ssh_cli))
    commands = ssh_cli.device("openwrt_ap").commands
    assert "iw dev wlan0 station dump" in commands and "iw dev wlan1 station dump" in commands
    assert "cat /sys/class/net/eth0/speed" in commands  # the uplink chosen by name: eth0, not br-lan or lo


def test_failures_are_per_ap_within_the_deadline_and_the_rest_is_read(tmp_path: Path, silent_ssh) -> None:
    from tests.sshservers import CliServer, load_device

    hung_prompt = load_device("cisco_aironet", hang_before_prompt=True)
    hung_command = load_device("cisco_aironet", hang_on={"show interfaces"})
    hung_prompt.name, hung_command.name = "hung_prompt", "hung_command"  # each its own credential set
    devices = [load_device("mikrotik_ap"), load_device("cisco_aironet"), load_device("openwrt_ap"),
               hung_prompt, hung_command]
    with CliServer(devices) as server:
        known = server.write_known_hosts(tmp_path / "known_hosts")
        settings = _settings(server)
        settings = replace(settings, auth={**settings.auth, "wrong": SshAuth(username="admin", password="nope")})
        env = _env(server)
        refused_port = free_port()  # nothing listens there
        targets = [
            _target(server, "mikrotik_ap", "ok-mikrotik"),
            _target(server, "mikrotik_ap", "wrong-password", auth="wrong"),
            _target(server, "cisco_aironet", "ok-cisco"),
            SshTarget("hung-prompt", server.address(3), "hung_prompt", "cisco_aironet"),
            SshTarget("hung-command", server.address(4), "hung_command", "cisco_aironet"),
            SshTarget("no-banner", silent_ssh.address, "mikrotik_ap", "mikrotik_routeros"),
            SshTarget("refused", f"127.0.0.1:{refused_port}", "mikrotik_ap", "mikrotik_routeros"),
            SshTarget("no-address", None, "mikrotik_ap", "mikrotik_routeros"),
            SshTarget("snmp-profile", server.address(0), "mikrotik_ap", "ubiquiti_unifi"),
            _target(server, "openwrt_ap", "ok-openwrt"),
        ]
        results, elapsed = _poll(settings, known, targets, env)
    by_ap = {r.ap: r for r in results}
    assert [r.ap for r in results] == [t.ap for t in targets]
    for ap in ("ok-mikrotik", "ok-cisco", "ok-openwrt"):
        assert isinstance(by_ap[ap], Sample), by_ap[ap]
    assert by_ap["ok-mikrotik"].clients == 7 and by_ap["ok-cisco"].clients == 6 and by_ap["ok-openwrt"].clients == 5
    kinds = {ap: (r.kind if isinstance(r, PollError) else "ok") for ap, r in by_ap.items()}
    assert kinds == {"ok-mikrotik": "ok", "ok-cisco": "ok", "ok-openwrt": "ok", "wrong-password": "auth",
                     "hung-prompt": "timeout", "hung-command": "timeout", "no-banner": "timeout",
                     "refused": "refused", "no-address": "no_address", "snmp-profile": "config"}
    assert "authentication failed with ssh.auth.wrong" in by_ap["wrong-password"].message
    assert "nope" not in by_ap["wrong-password"].message  # never the secret
    assert "while running `show interfaces`" in by_ap["hung-command"].message
    assert f"within the {DEADLINE_S:g} s deadline" in by_ap["hung-prompt"].message
    assert "profile ubiquiti_unifi has no ssh section" in by_ap["snmp-profile"].message
    assert "cisco_aironet" in by_ap["snmp-profile"].message  # ... and it names the ones that have one
    # Every session runs at once (the pool is larger than the list): the poll ends when the last deadline does.
    # The two hung sessions ran out their deadlines together (one after the other: DEADLINE_S apart), and
    # the poll ended before two deadlines had passed: what the hung ones alone would cost in turn, and
    # less than netmiko's own 10 s read timeout, had the deadline not cut it short.
    assert abs(by_ap["hung-prompt"].at - by_ap["hung-command"].at) < DEADLINE_S
    assert elapsed < 2 * DEADLINE_S


def test_an_unknown_host_key_is_refused_with_how_to_add_it(ssh_cli, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    (result,), _ = _poll(_settings(ssh_cli), empty, [_target(ssh_cli, "mikrotik_ap")], _env(ssh_cli))
    assert isinstance(result, PollError) and result.kind == "hostkey"
    port = ssh_cli.port_of("mikrotik_ap")
    assert f"unknown host key for [127.0.0.1]:{port} (ssh-ed25519 SHA256:" in result.message
    assert f"ssh-keyscan -p {port} 127.0.0.1 >> {empty}" in result.message
    assert ssh_cli.device("mikrotik_ap").logins == 0  # no password was sent to an unverified host
    assert not empty.exists()


def test_a_changed_host_key_is_refused_even_when_new_keys_are_accepted(ssh_cli, tmp_path: Path) -> None:
    import asyncssh

    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()[:2]
    port = ssh_cli.port_of("cisco_aironet")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {other[0]} {other[1]}\n")
    settings = _settings(ssh_cli, accept_new_host_keys=True)
    (result,), _ = _poll(settings, known, [_target(ssh_cli, "cisco_aironet")], _env(ssh_cli))
    assert isinstance(result, PollError) and result.kind == "hostkey"
    assert f"the host key of [127.0.0.1]:{port} CHANGED" in result.message
    assert f"ssh-keygen -R '[127.0.0.1]:{port}' -f {known}" in result.message
    assert ssh_cli.device("cisco_aironet").logins == 0
    assert known.read_text().count("\n") == 1  # left as it was


def test_accepting_new_host_keys_records_them_for_the_next_poll(ssh_cli, tmp_path: Path) -> None:
    known = tmp_path / "sub" / "known_hosts"
    names = ["openwrt_ap", "mikrotik_ap", "cisco_aironet"]
    results, _ = _poll(_settings(ssh_cli, accept_new_host_keys=True), known,
                       [_target(ssh_cli, n) for n in names], _env(ssh_cli))
    assert all(isinstance(r, Sample) for r in results), results
    lines = sorted(known.read_text().splitlines())
    assert lines == sorted(ssh_cli.known_hosts_lines())
    assert known.stat().st_mode & 0o077 == 0
    # A strict collector now trusts exactly those keys.
    results, _ = _poll(_settings(ssh_cli), known, [_target(ssh_cli, n) for n in names], _env(ssh_cli))
    assert all(isinstance(r, Sample) for r in results), results


def test_a_reboot_the_ap_does_not_go_through_with_is_a_failure(tmp_path: Path) -> None:
    from tests.sshservers import CliServer, load_device

    device = load_device("mikrotik_ap")
    with CliServer([device]) as server:
        known = server.write_known_hosts(tmp_path / "known_hosts")
        profiles = load_profiles()
        # A profile whose question pattern does not match: the answer is never sent, RouterOS cancels.
        text = (Path(PROFILES.get("mikrotik_routeros").source)).read_text(encoding="utf-8")
        mine = tmp_path / "mine"
        mine.mkdir()
        (mine / "mikrotik_routeros.yaml").write_text(text.replace("yes\\? \\[y/N\\]", "Really reboot\\?"))
        profiles = load_profiles([mine])
        settings = replace(_settings(server), deadline_s=3.0)
        with SshCollector(settings, profiles, known, env=_env(server)) as collector:
            started = time.monotonic()
            (result,) = asyncio.run(collector.run([_target(server, "mikrotik_ap")], None))
            elapsed = time.monotonic() - started
    assert not result.ok and result.kind == "protocol", result
    assert result.error.startswith("127.0.0.1:") and "the AP did not go down after `/system reboot`" in result.error
    # ended by its 3 s deadline (the wait for the AP to drop the session stops 0.5 s before it): that wait
    # has no end of its own, and netmiko's for the answer (send_command_timing) is 120 s
    assert device.reboots == 0 and elapsed < 2 * 3.0


def test_reboot_answers_each_vendors_question(ssh_cli, ssh_known_hosts: Path) -> None:
    names = ["openwrt_ap", "mikrotik_ap", "cisco_aironet"]
    with SshCollector(_settings(ssh_cli), PROFILES, ssh_known_hosts, env=_env(ssh_cli)) as collector:
        results = asyncio.run(collector.run([_target(ssh_cli, n) for n in names], None))
    assert [r.ok for r in results] == [True, True, True], results
    assert [ssh_cli.device(n).reboots for n in names] == [1, 1, 1]
    assert "Reboot, yes? [y/N]" in results[1].output
    assert "Proceed with reload? [confirm]" in results[2].output


def test_a_command_runs_and_its_output_comes_back(ssh_cli, ssh_known_hosts: Path) -> None:
    with SshCollector(_settings(ssh_cli), PROFILES, ssh_known_hosts, env=_env(ssh_cli)) as collector:
        (result,) = asyncio.run(collector.run([_target(ssh_cli, "cisco_aironet")], "show dot11 associations"))
        (bad,) = asyncio.run(collector.run([_target(ssh_cli, "cisco_aironet")], "show runnning-config"))
    assert result.ok and result.output.strip() == ssh_cli.device("cisco_aironet").outputs[
        "show dot11 associations"].strip()
    assert not bad.ok and bad.kind == "command"  # the device said no: a failure, with its own words kept
    assert bad.error == "the AP refused or failed the command: % Invalid input detected at '^' marker."
    assert "% Invalid input detected" in bad.output


def test_a_missing_credential_set_or_variable_is_a_config_error_naming_the_key(ssh_cli, ssh_known_hosts) -> None:
    settings = _settings(ssh_cli)
    (no_set, no_env), _ = _poll(settings, ssh_known_hosts,
                                [_target(ssh_cli, "mikrotik_ap", auth="nosuch"), _target(ssh_cli, "cisco_aironet")],
                                {})
    assert no_set.kind == "config" and no_set.message.startswith("ssh.auth.nosuch: no such credential set")
    assert no_env.kind == "config"
    assert no_env.message == "ssh.auth.cisco_aironet.password_env: environment variable PW_CISCO_AIRONET is not set"


def test_ssh_only_profiles_are_never_detected_over_snmp() -> None:
    from hotspotctl.collectors.oids import parse_oid

    names = {p.name for p in PROFILES.candidates(parse_oid("1.3.6.1.4.1.9.1.2240"), "Cisco IOS Software, AP3G2")}
    assert "cisco_aironet" not in names and "linux" not in names
    assert {p.name for p in PROFILES if p.ssh is not None} == {"cisco_aironet", "linux", "mikrotik_routeros",
                                                               "openwrt"}
