"""The test-side SSH servers (tests/sshservers.py) against netmiko's own device classes, unmodified.

netmiko's quirks that the expectations below follow:
* its mikrotik_routeros driver strips the whole output (RouterOS right-aligns keys, so the first line of a
  ``print`` loses its indentation): it returns ``recorded.strip()``; the other drivers return the recording as is.
* ``send_command`` without ``expect_string`` first sends an Enter to find the prompt: at a confirmation question
  that Enter would be the answer, so the answers below go with an ``expect_string``.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncssh
import pytest
import textfsm
from netmiko import ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout

from tests.conftest import REPO, SSH_RECORDINGS
from tests.sshservers import CliServer, load_device, load_device_outputs

FAST = {"conn_timeout": 5, "auth_timeout": 5, "banner_timeout": 5, "fast_cli": True}
# netmiko's own read_timeout (send_command, and its waits for a prompt): what a test's shorter
# read_timeout replaces, so a bound below it tells "ours was honoured" from "netmiko's ran out"
NETMIKO_READ_TIMEOUT_S = 10.0
# the silent wait netmiko falls back to when an output does not end at the prompt it expects
# (read_channel_timing's last_read; find_prompt doubles 0.25 s waits: 3.75 s by the fourth)
NETMIKO_LAST_READ_S = 2.0


def connect(server: CliServer, which: int | str, known_hosts: Path, **extra):
    return ConnectHandler(**server.netmiko_params(which, known_hosts, **{**FAST, **extra}))


def as_netmiko_returns(kind: str, recorded: str) -> str:
    return recorded.strip() if kind == "mikrotik_routeros" else recorded


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("name", SSH_RECORDINGS)
def test_netmiko_gets_every_recorded_output_back_exactly(ssh_cli, ssh_known_hosts, name):
    device = ssh_cli.device(name)
    with connect(ssh_cli, name, ssh_known_hosts) as conn:
        for command, recorded in device.outputs.items():
            started = time.monotonic()
            assert conn.send_command(command) == as_netmiko_returns(device.kind, recorded), command
            # each output ended at the prompt netmiko looks for, not by one of its silent fallback waits
            # (the login is left out: key exchange is CPU, and a loaded machine's to spend)
            assert time.monotonic() - started < NETMIKO_LAST_READ_S, command
    assert device.logins == 1
    assert [c for c in device.commands if c in device.outputs] == list(device.outputs)
    assert device.reboots == 0


def test_cisco_session_preparation_is_answered(ssh_cli, ssh_known_hosts):
    with connect(ssh_cli, "cisco_aironet", ssh_known_hosts) as conn:
        assert conn.base_prompt == "ap"
    assert ssh_cli.device("cisco_aironet").commands[:2] == ["terminal width 511", "terminal length 0"]


@pytest.mark.parametrize(("name", "prompt"), [("openwrt_ap", "root@OpenWrt:~#"),
                                              ("mikrotik_ap", "[admin@MikroTik] >"), ("cisco_aironet", "ap#")])
def test_prompts(ssh_cli, ssh_known_hosts, name, prompt):
    with connect(ssh_cli, name, ssh_known_hosts) as conn:
        assert conn.find_prompt() == prompt


@pytest.mark.parametrize(("name", "command", "error"), [
    ("openwrt_ap", "frobnicate --now", "-ash: frobnicate: not found"),
    ("mikrotik_ap", "frobnicate", "bad command name frobnicate (line 1 column 1)"),
    ("mikrotik_ap", "/system frobnicate", "bad command name frobnicate (line 1 column 9)"),
    ("cisco_aironet", "show frobnicate", " " * len("ap#show ") + "^\n% Invalid input detected at '^' marker.\n"),
])
def test_unknown_command_gets_the_vendor_error(ssh_cli, ssh_known_hosts, name, command, error):
    with connect(ssh_cli, name, ssh_known_hosts) as conn:
        assert conn.send_command(command) == error
        assert conn.send_command(next(iter(ssh_cli.device(name).outputs)))  # still usable afterwards


def test_cisco_reload_confirmed_with_enter_reboots_and_drops_the_session(ssh_cli, ssh_known_hosts):
    device = ssh_cli.device("cisco_aironet")
    conn = connect(ssh_cli, "cisco_aironet", ssh_known_hosts)
    try:
        assert conn.send_command("reload", expect_string=r"\[confirm\]") == "Proceed with reload? [confirm]"
        conn.write_channel(conn.RETURN)
        assert wait_for(lambda: device.reboots == 1)
        assert wait_for(lambda: not conn.is_alive())
    finally:
        conn.disconnect()


def test_cisco_reload_answered_otherwise_is_cancelled(ssh_cli, ssh_known_hosts):
    device = ssh_cli.device("cisco_aironet")
    with connect(ssh_cli, "cisco_aironet", ssh_known_hosts) as conn:
        conn.send_command("reload", expect_string=r"\[confirm\]")
        assert conn.send_command("n", expect_string=r"ap#") == ""
        assert conn.send_command("show dot11 associations").count("Assoc") == 6
    assert device.reboots == 0


def test_mikrotik_reboot_yes_reboots_and_drops_the_session(ssh_cli, ssh_known_hosts):
    device = ssh_cli.device("mikrotik_ap")
    conn = connect(ssh_cli, "mikrotik_ap", ssh_known_hosts)
    try:
        # with an expect_string netmiko leaves the question's trailing space
        assert conn.send_command("/system reboot", expect_string=r"\[y/N\]:") == "Reboot, yes? [y/N]: "
        conn.write_channel("y" + conn.RETURN)
        assert wait_for(lambda: device.reboots == 1)
        assert wait_for(lambda: not conn.is_alive())
    finally:
        conn.disconnect()


def test_mikrotik_reboot_no_is_cancelled(ssh_cli, ssh_known_hosts):
    device = ssh_cli.device("mikrotik_ap")
    with connect(ssh_cli, "mikrotik_ap", ssh_known_hosts) as conn:
        conn.send_command("/system reboot", expect_string=r"\[y/N\]:")
        assert conn.send_command("n", expect_string=r"\] > ") == "action cancelled"
        assert conn.send_command("/interface wireless registration-table print count-only") == "7"
    assert device.reboots == 0
    assert "n" in device.commands


def test_linux_reboot_drops_the_session(ssh_cli, ssh_known_hosts):
    device = ssh_cli.device("openwrt_ap")
    conn = connect(ssh_cli, "openwrt_ap", ssh_known_hosts)
    try:
        conn.write_channel(conn.normalize_cmd("reboot"))
        assert wait_for(lambda: device.reboots == 1)
        assert wait_for(lambda: not conn.is_alive())
    finally:
        conn.disconnect()


def test_a_command_that_hangs_times_out(ssh_cli, ssh_known_hosts):
    device = ssh_cli.device("openwrt_ap")
    device.hang_on.add("cat /proc/uptime")
    with connect(ssh_cli, "openwrt_ap", ssh_known_hosts) as conn:
        started = time.monotonic()
        with pytest.raises(ReadTimeout):
            conn.send_command("cat /proc/uptime", read_timeout=1)
        assert time.monotonic() - started < NETMIKO_READ_TIMEOUT_S  # our 1 s, not netmiko's own 10 s
    assert device.commands == ["cat /proc/uptime"]


@pytest.mark.parametrize("name", SSH_RECORDINGS)
def test_a_device_that_never_prompts_times_out(tmp_path, name):
    device = load_device(name, hang_before_prompt=True)
    with CliServer([device]) as server:
        known_hosts = server.write_known_hosts(tmp_path / "known_hosts")
        started = time.monotonic()
        # netmiko's own waits for the first prompt are 10-20 s: read_timeout_override bounds them
        with pytest.raises((ReadTimeout, NetmikoTimeoutException, ValueError)):
            connect(server, 0, known_hosts, read_timeout_override=1)
        assert time.monotonic() - started < NETMIKO_READ_TIMEOUT_S  # bounded by the override, not netmiko's
    assert device.logins == 1
    assert device.commands == []


@pytest.mark.parametrize("name", SSH_RECORDINGS)
def test_a_wrong_password_is_refused_fast(ssh_cli, ssh_known_hosts, name):
    started = time.monotonic()
    with pytest.raises(NetmikoAuthenticationException):
        connect(ssh_cli, name, ssh_known_hosts, password="not-the-password")
    assert time.monotonic() - started < FAST["auth_timeout"]  # refused, not left to the client's auth timeout
    assert ssh_cli.device(name).logins == 0


def test_a_wrong_user_is_refused(ssh_cli, ssh_known_hosts):
    with pytest.raises(NetmikoAuthenticationException):
        connect(ssh_cli, "mikrotik_ap", ssh_known_hosts, username="guest")


@pytest.mark.parametrize("entry", ["missing", "other key"])
def test_host_key_checking_refuses_an_unknown_key(ssh_cli, tmp_path, entry):
    known_hosts = tmp_path / "known_hosts"
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().split()[:2]
    known_hosts.write_text("" if entry == "missing" else f"[127.0.0.1]:{ssh_cli.port_of(0)} {' '.join(other)}\n")
    with pytest.raises(NetmikoTimeoutException, match=r"known_hosts|[Hh]ost key"):
        connect(ssh_cli, 0, known_hosts)
    assert ssh_cli.device(0).logins == 0


def test_known_hosts_lines(ssh_cli):
    lines = ssh_cli.known_hosts_lines()
    assert len(lines) == 3
    for line, port in zip(lines, ssh_cli.ports, strict=True):
        assert re.fullmatch(rf"\[127\.0\.0\.1\]:{port} ssh-ed25519 AAAA[A-Za-z0-9+/=]+", line)
    assert ssh_cli.address("cisco_aironet") == f"127.0.0.1:{ssh_cli.ports[2]}"


def test_a_public_key_login(tmp_path):
    key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp_path / "id_ed25519"
    key.write_private_key(str(key_file))
    device = load_device("openwrt_ap", public_key=key.export_public_key("openssh").decode())
    with CliServer([device]) as server:
        known_hosts = server.write_known_hosts(tmp_path / "known_hosts")
        with connect(server, 0, known_hosts, password=None, use_keys=True, key_file=str(key_file)) as conn:
            assert conn.send_command("cat /sys/class/net/eth0/speed") == "1000"
    assert device.logins == 1


def test_a_silent_port_fails_within_the_banner_timeout(silent_ssh):
    started = time.monotonic()
    with pytest.raises(NetmikoTimeoutException):
        ConnectHandler(device_type="linux", host="127.0.0.1", port=silent_ssh.port, username="root",
                       password="x", conn_timeout=2, banner_timeout=2, auth_timeout=2)
    # ended by the 2 s banner timeout: not by two timeouts in a row, nor netmiko's default 15 s banner timeout
    assert time.monotonic() - started < 2 * 2
    assert len(silent_ssh.accepted) == 1


def test_exec_requests_get_the_recorded_output(ssh_cli, ssh_known_hosts):
    device = ssh_cli.device("openwrt_ap")

    async def run() -> tuple[asyncssh.SSHCompletedProcess, asyncssh.SSHCompletedProcess]:
        async with asyncssh.connect("127.0.0.1", ssh_cli.port_of("openwrt_ap"), username=device.username,
                                    password=device.password, known_hosts=str(ssh_known_hosts),
                                    client_keys=None) as conn:
            return await conn.run("cat /proc/uptime"), await conn.run("frobnicate")

    good, bad = asyncio.run(run())
    assert (good.stdout, good.exit_status) == ("350735.47 1380032.12\n", 0)
    assert (bad.stderr, bad.exit_status) == ("sh: frobnicate: not found\n", 127)


def test_the_recordings_hold_the_documented_figures():
    """The figures tests/fixtures/ssh/README.md promises (the collectors' tests assert them)."""
    openwrt = load_device_outputs("openwrt_ap")
    assert float(openwrt["cat /proc/uptime"].split()[0]) == 350735.47
    eth0 = next(line for line in openwrt["cat /proc/net/dev"].splitlines() if line.strip().startswith("eth0:"))
    fields = eth0.split(":", 1)[1].split()
    assert (int(fields[0]), int(fields[8])) == (9876543210, 1234567890)
    assert openwrt["cat /sys/class/net/eth0/speed"] == "1000"
    assert openwrt["iw dev wlan0 station dump"].count("Station ") == 3
    assert openwrt["iw dev wlan1 station dump"].count("Station ") == 2

    mikrotik = load_device_outputs("mikrotik_ap")
    assert re.search(r"^\s+uptime: 2w3d4h5m6s$", mikrotik["/system resource print"], re.M)
    interface_bytes = next(v for k, v in mikrotik.items() if k.startswith(":foreach"))
    assert interface_bytes.splitlines()[0] == "ether1 123456789012 98765432101"
    assert re.search(r"^\s+rate: 1Gbps$", mikrotik["/interface ethernet monitor ether1 once"], re.M)
    assert mikrotik["/interface wireless registration-table print count-only"] == "7"

    cisco = load_device_outputs("cisco_aironet")
    assert "     9123456 packets input, 7890123456 bytes, 0 no buffer" in cisco["show interfaces GigabitEthernet0"]
    assert "     6234567 packets output, 2345678901 bytes, 0 underruns" in cisco["show interfaces GigabitEthernet0"]
    assert cisco["show interfaces"].startswith(cisco["show interfaces GigabitEthernet0"] + "\n")
    associations = cisco["show dot11 associations"]
    assert len(re.findall(r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4} ", associations, re.M)) == 6
    radio1 = associations.split("Dot11Radio1:")[1]
    assert len(re.findall(r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4} ", radio1, re.M)) == 2


@pytest.mark.filterwarnings("ignore:path is deprecated:DeprecationWarning")  # netmiko's own pkg_resources call
def test_ntc_templates_parse_the_cisco_recordings_through_netmiko(ssh_cli, ssh_known_hosts):
    with connect(ssh_cli, "cisco_aironet", ssh_known_hosts) as conn:
        version = conn.send_command("show version", use_textfsm=True, raise_parsing_error=True)
        gig0 = conn.send_command("show interfaces GigabitEthernet0", use_textfsm=True, raise_parsing_error=True)
        every = conn.send_command("show interfaces", use_textfsm=True, raise_parsing_error=True)
    assert version[0]["uptime"] == "1 week, 2 days, 3 hours, 4 minutes"
    assert (version[0]["hostname"], version[0]["hardware"]) == ("ap", ["AIR-CAP3702I-A-K9"])
    assert (gig0[0]["interface"], gig0[0]["speed"], gig0[0]["duplex"]) == ("GigabitEthernet0", "1000Mb/s",
                                                                            "Full-duplex")
    assert [row["interface"] for row in every] == ["GigabitEthernet0", "Dot11Radio0", "Dot11Radio1", "BVI1"]
    assert textfsm  # the parser netmiko used


def test_two_hundred_devices_and_twenty_at_once(tmp_path):
    devices = [load_device(SSH_RECORDINGS[i % 3]) for i in range(200)]
    started = time.monotonic()
    with CliServer(devices) as server:
        up = time.monotonic() - started
        assert len(set(server.ports)) == 200
        known_hosts = server.write_known_hosts(tmp_path / "known_hosts")

        def poll(i: int) -> bool:
            device = server.device(i)
            command = next(iter(device.outputs))
            with connect(server, i, known_hosts) as conn:
                return conn.send_command(command) == as_netmiko_returns(device.kind, device.outputs[command])

        with ThreadPoolExecutor(20) as pool:
            assert all(pool.map(poll, range(0, 200, 10)))
    # one host key for every device (ed25519): under a second on a loaded machine; a key per device
    # would cost 200 key generations (RSA: ~0.1 s each, 20 s in all)
    assert len({line.split()[-1] for line in server.known_hosts_lines()}) == 1
    assert up < 10
    assert sum(device.logins for device in devices) == 20


def test_a_fleet_from_the_command_line(tmp_path):
    ports_file = tmp_path / "ports.json"
    process = subprocess.Popen([sys.executable, "-m", "tests.sshservers", "--devices", "3", "--kind", "mixed",
                                "--ports-file", str(ports_file)], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: ports_file.exists() or process.poll() is not None, timeout=30)
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        fleet = json.loads(ports_file.read_text())
        assert [d["kind"] for d in fleet["devices"]] == ["cisco_ios", "mikrotik_routeros", "linux"]
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text("\n".join(fleet["known_hosts"]) + "\n")
        mikrotik = fleet["devices"][1]
        with ConnectHandler(device_type=mikrotik["kind"], host=fleet["host"], port=mikrotik["port"],
                            username=mikrotik["username"], password=mikrotik["password"], ssh_strict=True,
                            system_host_keys=False, alt_host_keys=True, alt_key_file=str(known_hosts),
                            **FAST) as conn:
            assert conn.send_command("/interface wireless registration-table print count-only") == "7"
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


def test_openssh_key_login_reads_the_local_uptime(sshd, tmp_path):
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    with ConnectHandler(device_type="linux", host=sshd.host, port=sshd.port, username=sshd.user,
                        use_keys=True, key_file=str(sshd.client_key), ssh_strict=True, system_host_keys=False,
                        alt_host_keys=True, alt_key_file=str(known_hosts), **FAST) as conn:
        remote = float(conn.send_command("cat /proc/uptime").split()[0])
    local = float(Path("/proc/uptime").read_text().split()[0])
    assert abs(local - remote) < 10
