"""Every recorded device, served by snmpsim on loopback, discovered and polled for real.

Discovery walks go through pysnmp, the poll through our own engine and codec; the
figures must be those of the recording and, where LibreNMS has a clients sensor, the
client count must equal LibreNMS's expected total (tests/fixtures/devices/*/librenms.json).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3

import pytest

from hotspotctl.cli import main
from tests.collectors.test_discovery import CASES, case_spec, librenms, librenms_port, librenms_total
from tests.conftest import write


@pytest.fixture(scope="module")
def polled(tmp_path_factory, snmpsim):
    """One inventory with an AP per recording, each with its own credential set; two polls."""
    workdir = tmp_path_factory.mktemp("snmpsim")
    config = ["[snmp]", "timeout_s = 2.0", "retries = 2", "deadline_s = 20.0"]
    rows = ["id,lat,lon,district,mgmt_address,snmp_auth"]
    for i, case in enumerate(CASES):
        config += [f'[snmp.auth."{case}"]', f'community = "{case}"']
        rows.append(f"DEV-{case},19.4{i:02d},-99.13,Cuauhtemoc,{snmpsim.address},{case}")
    write(workdir / "hotspotctl.toml", "\n".join(config) + "\n")
    write(workdir / "devices.csv", "\n".join(rows) + "\n")
    results = []
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("HOTSPOTCTL_")]:
            mp.delenv(name)
        mp.chdir(workdir)
        assert main(["-q", "inventory", "import", "devices.csv"]) == 0
        for _ in range(2):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(["-q", "poll", "--once", "--format", "json"])
            results.append((code, {row["ap"].removeprefix("DEV-"): row for row in json.loads(out.getvalue())}))
    return workdir, results


@pytest.mark.parametrize("case", CASES)
def test_recorded_device_polls_like_the_recording(polled, case):
    _, ((code1, first), (code2, second)) = polled
    assert code1 == code2 == 0
    row = first[case]
    spec = case_spec(case)
    assert row["ok"], row["error"]
    assert row["profile"] == spec["profile"]
    assert row["clients"] == spec["clients"]
    expected_total = librenms_total(librenms(case))
    if expected_total is not None:
        assert row["clients"] == expected_total
    # snmpsim serves fixed values: the second cycle has a rate, and it is zero.
    again = second[case]
    assert again["ok"]
    if spec["uplink"] and spec["counter_bits"]:
        assert again["in_bps"] == 0.0 and again["out_bps"] == 0.0
    else:
        assert again["in_bps"] is None


@pytest.mark.parametrize("case", [c for c in CASES if case_spec(c)["uplink"] and case_spec(c)["counter_bits"]])
def test_uplink_counters_are_the_recorded_ones(polled, case):
    spec = case_spec(case)
    db = polled[0] / "var" / "hotspotctl.db"
    in_octets, out_octets, bits = sqlite3.connect(db).execute(
        "select in_octets, out_octets, counter_bits from ap_state where ap_id = ?", (f"DEV-{case}",)).fetchone()
    assert (in_octets, out_octets) == (spec["uplink"]["in_octets"], spec["uplink"]["out_octets"])
    assert bits == spec["counter_bits"]
    port = librenms_port(librenms(case), spec["uplink"]["if_index"])
    if port is not None and port.get("ifInOctets") is not None:
        assert in_octets == port["ifInOctets"]
