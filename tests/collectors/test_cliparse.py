"""Command output to figures: durations, speeds, counters, and the readings of the shipped SSH profiles."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotspotctl.collectors.cliparse import ParseError, Reading, integer, mbps, ntc_template, seconds
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.collectors.ssh import fill


@pytest.mark.parametrize(("text", "expected"), [
    ("350735.47", 350735.47),
    ("2w3d4h5m6s", 2 * 604800 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6),
    ("4h5m", 4 * 3600 + 5 * 60),
    ("1d04:03:02", 86400 + 4 * 3600 + 3 * 60 + 2),
    ("04:03:02", 4 * 3600 + 3 * 60 + 2),
    ("1 week, 2 days, 3 hours, 4 minutes", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60),
    ("1 year, 1 week, 1 day, 1 hour, 1 minute", 31536000 + 604800 + 86400 + 3600 + 60),
    ("5 minutes", 300),
])
def test_uptimes_in_every_vendor_form(text: str, expected: float) -> None:
    assert seconds(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "soon", "3 fortnights", "12 apples"])
def test_not_a_duration_is_an_error_not_zero(text: str) -> None:
    with pytest.raises(ParseError, match="not a duration"):
        seconds(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("1000", 1000.0), ("1Gbps", 1000.0), ("100Mbps", 100.0), ("1000Mb/s", 1000.0),
    ("1000000 Kbit", 1000.0), ("10Gbps", 10000.0), ("2.5Gbps", 2500.0), ("-1", None), ("unknown", None),
])
def test_link_speeds_with_their_units(text: str, expected: float | None) -> None:
    assert mbps(text) == expected


def test_a_speed_that_is_not_one_is_an_error() -> None:
    with pytest.raises(ParseError, match="not a link speed"):
        mbps("fast")


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_counters_with_any_grouping(value: int) -> None:
    plain = str(value)
    spaced = f"{value:,}".replace(",", " ")  # RouterOS groups digits with spaces
    assert integer(plain) == integer(spaced) == integer(f"{value:,}") == value


def test_a_counter_that_is_not_a_number_is_an_error() -> None:
    with pytest.raises(ParseError):
        integer("12a4")


def test_fill_replaces_only_our_placeholders() -> None:
    script = ':foreach i in=[/interface find] do={:put [/interface get $i name]} {uplink}'
    assert fill(script, uplink="ether1") == ':foreach i in=[/interface find] do={:put [/interface get $i name]} ether1'
    assert fill("iw dev {radio} station dump", radio="wlan0") == "iw dev wlan0 station dump"


def test_count_and_value_readings() -> None:
    count = Reading("x", count=re.compile(r"^Station ", re.MULTILINE))
    assert count.value("Station aa\n\tfoo\nStation bb\n") == "2"
    assert count.value("") == "0"
    value = Reading("x", regex=re.compile(r"^(?P<value>\d+)$", re.MULTILINE))
    assert value.value("junk\n42\n") == "42"
    with pytest.raises(ParseError, match="no value in its output: 'nothing here'"):
        value.value("nothing here")


def test_ntc_templates_are_found_by_name() -> None:
    assert ntc_template("cisco_ios_show_version") is not None
    assert ntc_template("no_such_template") is None


PROC_NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1234567     100    0    0    0     0          0         0  1234567     100    0    0    0     0       0          0
  eth0:18446744073709551615 9 0 0 0 0 0 0 42 7 0 0 0 0 0 0
"""


def test_the_linux_profile_reads_proc_net_dev_including_a_full_64_bit_counter() -> None:
    ssh = load_profiles().get("linux").ssh
    assert ssh is not None
    rows = {row["name"]: row for row in ssh.interfaces.rows(PROC_NET_DEV)}
    assert rows["lo"]["in_octets"] == "1234567" and rows["lo"]["out_octets"] == "1234567"
    assert integer(rows["eth0"]["in_octets"]) == 2**64 - 1 and rows["eth0"]["out_octets"] == "42"
    assert set(rows) == {"lo", "eth0"}
