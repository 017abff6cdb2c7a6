"""`hotspotctl ap ping` against the real kernel: loopback, a silent address in a namespace, a name that
does not resolve, another pinger at the same time, and a user who may open no ICMP socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.netns import ROOT, namespace, run_in, silent_subnet

KEYS = ["host", "sent", "received", "loss_pct", "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "jitter_ms"]


def test_json_for_a_live_address(cli):
    result = cli("ap", "ping", "127.0.0.1", "--count", "3", "--interval", "20", "--timeout", "2", "--format", "json")
    assert result.code == 0, result.err
    (row,) = json.loads(result.out)
    assert list(row) == KEYS  # the object, nothing more when nothing went wrong
    assert (row["host"], row["sent"], row["received"], row["loss_pct"]) == ("127.0.0.1", 3, 3, 0.0)
    assert 0 < row["rtt_min_ms"] <= row["rtt_avg_ms"] <= row["rtt_max_ms"] < 2000
    assert row["jitter_ms"] >= 0
    assert "ping: 1 of 1 host answered" in result.err


def test_table_and_the_order_given(cli):
    result = cli("ap", "ping", "127.0.0.3", "localhost", "-c", "1", "-W", "2")
    assert result.code == 0, result.err
    lines = [line for line in result.out.splitlines() if "127.0.0.3" in line or "localhost" in line]
    assert [line.split()[1] for line in lines] == ["127.0.0.3", "localhost"]
    assert "loss_pct" in result.out and "rtt_avg_ms" in result.out
    assert "error" not in result.out  # no column for errors when there are none
    failed = cli("ap", "ping", "127.0.0.3", "nope.invalid", "-c", "1", "-W", "2")
    assert failed.code == 4 and "error" in failed.out.splitlines()[1]


def test_a_name_that_does_not_resolve_is_said_and_partial(cli):
    result = cli("ap", "ping", "127.0.0.1", "nope.invalid", "-c", "1", "-W", "2", "-f", "json")
    assert result.code == 4
    rows = json.loads(result.out)
    assert [r["host"] for r in rows] == ["127.0.0.1", "nope.invalid"]
    assert rows[0]["received"] == 1
    assert (rows[1]["sent"], rows[1]["received"], rows[1]["loss_pct"]) == (0, 0, 100.0)
    assert rows[1]["error"].startswith("cannot resolve 'nope.invalid'")
    assert "error: nope.invalid: cannot resolve 'nope.invalid'" in result.err
    assert "no answer from nope.invalid" in result.err


def test_bad_arguments_are_usage_errors(cli):
    assert cli("ap", "ping", "127.0.0.1", "--count", "0").code == 2
    assert cli("ap", "ping", "127.0.0.1", "--socket", "icmp").code == 2
    assert cli("ap", "ping").code == 2
    helped = cli("ap", "ping", "--help")
    assert helped.code == 0 and "Examples:" in helped.out and "ping_group_range" in helped.out


def test_a_silent_address_is_loss_100_within_the_deadline():
    with namespace(*silent_subnet("10.77.8.1/24")) as ns:
        started = time.monotonic()
        done = run_in(ns, "-m", "hotspotctl", "ap", "ping", "10.77.8.2", "--count", "2", "--interval", "100",
                      "--timeout", "1", "--format", "json", cwd=ROOT)
        wall = time.monotonic() - started
    assert done.returncode == 4, done.stderr
    (row,) = json.loads(done.stdout)
    assert row == {"host": "10.77.8.2", "sent": 2, "received": 0, "loss_pct": 100.0, "rtt_min_ms": None,
                   "rtt_avg_ms": None, "rtt_max_ms": None, "jitter_ms": None}
    assert "no answer from 10.77.8.2" in done.stderr
    assert wall < 0.1 + 1.0 + 15.0  # the deadline, plus generous room for starting python on a busy machine


def test_another_pinger_at_the_same_time_is_not_counted(cli):
    other = subprocess.Popen([sys.executable, "-m", "hotspotctl", "ap", "ping", "127.0.0.1", "-c", "40", "-i", "10",
                              "-W", "2", "-f", "json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        mine = cli("ap", "ping", "127.0.0.1", "-c", "40", "-i", "10", "-W", "2", "-f", "json")
        theirs_out, theirs_err = other.communicate(timeout=60)
    finally:
        other.kill()
    assert mine.code == 0 and other.returncode == 0, theirs_err
    assert (json.loads(mine.out)[0]["received"], json.loads(theirs_out)[0]["received"]) == (40, 40)


def _unprivileged(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`ap ping` as nobody. It keeps CAP_DAC_READ_SEARCH alone (reading files; never CAP_NET_RAW), so it can read
    a checkout and venv only root may enter (a CI's clone in a `mktemp -d` directory, mode 0700)."""
    return subprocess.run(["ip", "netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
                           sys.executable, "-m", "hotspotctl", "ap", "ping", *args], capture_output=True, text=True,
                          timeout=60, cwd="/", env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)


def test_a_user_without_an_icmp_socket_is_told_both_fixes():
    if subprocess.run(["which", "setpriv"], capture_output=True, check=False).returncode:
        pytest.skip("no setpriv here")
    with namespace(("sysctl", "-w", "net.ipv4.ping_group_range=1 0")) as ns:
        refused = _unprivileged(ns, "127.0.0.1", "-c", "1")
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.startswith("error: cannot ping: an unprivileged ICMP datagram socket is refused: the "
                                     "process's group 65534 is outside net.ipv4.ping_group_range (now '1 0'), and "
                                     "a raw ICMP socket needs root or CAP_NET_RAW. To fix, either run as root or "
                                     "give CAP_NET_RAW")
    assert 'sysctl -w net.ipv4.ping_group_range="65534 65534"' in refused.stderr


def test_a_user_in_ping_group_range_pings_without_privilege():
    if subprocess.run(["which", "setpriv"], capture_output=True, check=False).returncode:
        pytest.skip("no setpriv here")
    with namespace(("sysctl", "-w", "net.ipv4.ping_group_range=65534 65534")) as ns:
        allowed = _unprivileged(ns, "127.0.0.1", "-c", "2", "-i", "20", "-W", "2", "-f", "json")
    assert allowed.returncode == 0, allowed.stderr
    (row,) = json.loads(allowed.stdout)
    assert (row["sent"], row["received"]) == (2, 2) and row["rtt_min_ms"] > 0
