"""Polling net-snmp's snmpd, a live agent: v2c and SNMPv3 authPriv, checked against snmpget."""

from __future__ import annotations

import json
import socket
import sqlite3
import time

import pytest

from tests.conftest import snmpd_lab_settings, write

LO = 1  # ifIndex of the loopback interface, the test profile's "uplink"
OIDS = {"sys_uptime": "1.3.6.1.2.1.1.3.0", "hr_uptime": "1.3.6.1.2.1.25.1.1.0",
        "in": f"1.3.6.1.2.1.31.1.1.1.6.{LO}", "out": f"1.3.6.1.2.1.31.1.1.1.10.{LO}",
        "descr": "1.3.6.1.2.1.1.1.0"}


@pytest.fixture
def fleet(cli, snmpd, monkeypatch):
    """One AP on snmpd v2c and one on snmpd v3 authPriv (secrets from the environment)."""
    write(cli.workdir / "hotspotctl.toml", snmpd_lab_settings(snmpd, monkeypatch, timeout_s=0.5) + f"""
[snmp.auth.lab-v3-des]
version = "3"
user = "{snmpd.V3_USER}-md5-des"
auth_protocol = "md5"
auth_password_env = "TEST_V3_AUTH"
priv_protocol = "des"
priv_password_env = "TEST_V3_PRIV"

[snmp.auth.wrong-v3]
version = "3"
user = "{snmpd.V3_USER}"
auth_protocol = "sha256"
auth_password = "not-the-password"
priv_protocol = "aes"
priv_password = "not-the-password"
""")
    write(cli.workdir / "aps.csv", f"""id,lat,lon,district,mgmt_address,snmp_auth,backhaul_mbps
LAB-V2C,19.43,-99.13,Cuauhtemoc,{snmpd.address},lab,
LAB-V3,19.43,-99.14,Cuauhtemoc,{snmpd.address},lab-v3,
LAB-WRONG,19.43,-99.15,Cuauhtemoc,{snmpd.address},wrong-v3,
""")
    assert cli("inventory", "import", "aps.csv").code == 0
    return cli


def _poll(cli, *args):
    result = cli("poll", "--once", "--format", "json", *args)
    return result, {row["ap"]: row for row in json.loads(result.out)}


@pytest.mark.parametrize("ap, v3", [("LAB-V2C", False), ("LAB-V3", True)])
def test_poll_reads_what_snmpget_reads(fleet, snmpd, ap, v3):
    before = snmpd.snmpget(*OIDS.values(), v3=v3)
    result, rows = _poll(fleet, "--ap", ap)
    after = snmpd.snmpget(*OIDS.values(), v3=v3)
    assert result.code == 0, result.err
    row = rows[ap]
    assert row["ok"] and row["profile"] == "netsnmp_loopback"
    # Counters and uptime move while we look: ours must lie between two snmpget readings.
    state = sqlite3.connect(fleet.workdir / "var" / "hotspotctl.db").execute(
        "select in_octets, out_octets, hr_uptime, sys_uptime from ap_state where ap_id = ?", (ap,)).fetchone()
    in_octets, out_octets, hr_uptime, sys_uptime = state
    assert before[OIDS["in"]] <= in_octets <= after[OIDS["in"]]
    assert before[OIDS["out"]] <= out_octets <= after[OIDS["out"]]
    assert before[OIDS["hr_uptime"]] <= hr_uptime <= after[OIDS["hr_uptime"]]
    assert before[OIDS["sys_uptime"]] <= sys_uptime <= after[OIDS["sys_uptime"]]
    assert row["uptime_s"] == hr_uptime / 100
    assert row["in_bps"] is None and row["per_user_mbps"] is None  # the first poll has no rate yet


def _wait_for_counter_change(snmpd, seen: int) -> None:
    """snmpd caches the interface table for a few seconds: make traffic on lo until it shows."""
    deadline = time.monotonic() + 30
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        while snmpd.snmpget(OIDS["in"])[OIDS["in"]] == seen:
            assert time.monotonic() < deadline, "snmpd's lo counter did not move in 30 s"
            for _ in range(100):
                sock.sendto(b"x" * 1000, ("127.0.0.1", 9))
            time.sleep(0.5)


def test_the_second_cycle_gives_rates_from_the_stored_counters(fleet, snmpd):
    _poll(fleet, "--ap", "LAB-V2C")
    db = fleet.workdir / "var" / "hotspotctl.db"
    at1, in1, out1 = sqlite3.connect(db).execute(  # intervals are on the monotonic clock (issue 15)
        "select mono, in_octets, out_octets from ap_state where ap_id = 'LAB-V2C'").fetchone()
    _wait_for_counter_change(snmpd, in1)
    _, second = _poll(fleet, "--ap", "LAB-V2C")
    at2, in2, out2 = sqlite3.connect(db).execute(
        "select mono, in_octets, out_octets from ap_state where ap_id = 'LAB-V2C'").fetchone()
    row = second["LAB-V2C"]
    assert in2 > in1
    assert row["in_bps"] == pytest.approx((in2 - in1) * 8 / (at2 - at1), rel=1e-12)
    assert row["out_bps"] == pytest.approx((out2 - out1) * 8 / (at2 - at1), rel=1e-12)
    assert row["in_bps"] > 0
    # lo is taken as 100 Gb/s (tests/fixtures/profiles): at snmpd's 10 Mb/s any other loopback traffic on
    # the machine made the rate over_speed, and None
    assert row["link_mbps"] == 100_000.0


def test_wrong_v3_credentials_fail_that_ap_only(fleet):
    result, rows = _poll(fleet)
    assert result.code == 4
    assert rows["LAB-V2C"]["ok"] and rows["LAB-V3"]["ok"]
    wrong = rows["LAB-WRONG"]
    assert not wrong["ok"] and wrong["error_kind"] == "auth"
    assert "wrong-v3" in wrong["error"]
    assert "not-the-password" not in result.out + result.err  # secrets are never printed


@pytest.mark.parametrize("auth", ["lab-v3", "lab-v3-des"])
def test_probe_a_live_agent_with_v3(fleet, snmpd, auth):
    result = fleet("ap", "probe", snmpd.address, "--auth", auth, "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    descr = snmpd.snmpget(OIDS["descr"])[OIDS["descr"]]
    assert data["sys_descr"] == descr
    assert data["profile"] == "netsnmp_loopback"
    assert data["uplink"]["if_index"] == LO and data["uplink"]["name"] == "lo"
    assert data["uplink"]["counter_bits"] == 64

