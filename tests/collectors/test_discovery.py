"""Discovery over recorded devices (GUIDE §8 golden cases) and its pure parts.

Every folder in tests/fixtures/devices/ with a case.yaml is one case: its recording is served by
a fake Device, and discovery must find case.yaml's profile, uplink, radios and counters, and a
client count equal to LibreNMS's total for the same recording (librenms.json, see SOURCE.md there).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from hotspotctl.collectors.discovery import as_count, client_count, discover
from hotspotctl.collectors.model import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Discovery
from hotspotctl.collectors.oids import (
    IF_DESCR,
    IF_HC_IN_OCTETS,
    IF_HC_OUT_OCTETS,
    IF_IN_OCTETS,
    IF_OPER_STATUS,
    IF_OUT_OCTETS,
    IF_TYPE,
    SYS_DESCR,
    SYS_OBJECT_ID,
    UPTIME_SOURCES,
    parse_oid,
)
from hotspotctl.collectors.profiles import ProfileSet, load_profiles
from hotspotctl.errors import CollectError, ConfigError
from hotspotctl.simulate.snmprec import Record, Recording
from tests.collectors.fakes import RecordedDevice, SilentDevice

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"
CASES = sorted(p.name for p in DEVICES.iterdir() if p.is_dir())

# INDEX.md's bold totals (shared corpus): LibreNMS's client total for each recording that has one.
INDEX_TOTALS = {
    "unifi": 4, "unifi_nanohd": 18, "airos": 22, "routeros": 11, "routeros_ltap-mini": 0,
    "aruba-instant": 0, "arubaos": 2654, "ciscowlc_cbw240ac": 23, "hiveos-wireless": 0,
    "hiveos-wireless_ap130": 0, "ewc": 10, "epmp": 1, "pmp_450": 24, "pmp_450i": 34, "zyxelnwa": 65,
    "zyxelwlc_nxc2500": 45, "openwrt": 3, "ligoos_dlb15ac": 1, "stellar_oaw-ap1321": 2,
    "asuswrt-merlin": 5, "wis-bridge": 0, "tachyon": 2, "albentiaaos": 42, "albentiaaos_axs-bs-452-n": 6,
    "pmp": 34, "pmp_450m": 34, "teldat_tv-base-vdsl2-adsl": 4, "vrp_ac6605-26": 7,
    "fortigate_1500d": 0, "fortigate_500d": 0, "fortigate_60f": 0, "fortigate_60f3g4g": 0,
    "fortigate_cluster-60f": 0, "fortigate_vm01": 0, "fortigate_webfilter": 0,
}
# Sensor names (or indexes) LibreNMS gives a device-wide total.
TOTAL_NAMES = {"total", "total-clients", "total clients", "system total", "wlan", "connected clients",
               "clients: total", "client count"}
PER_RADIO = re.compile(r"Clients \(.+\)")
# Clients-class sensors that count APs, not clients (INDEX.md: pepwave's 'Online APs' is not scored): our
# controller's ap_count is compared with them instead (test_radio_parity.py).
AP_COUNT_NAMES = {"online aps"}


@functools.cache
def shipped() -> ProfileSet:
    return load_profiles()


def case_spec(case: str) -> dict[str, Any]:
    return yaml.safe_load((DEVICES / case / "case.yaml").read_text(encoding="utf-8"))


def librenms(case: str) -> dict[str, Any] | None:
    path = DEVICES / case / "librenms.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _rows(module: dict[str, Any] | None, key: str) -> list[dict[str, Any]]:
    for phase in ("poller", "discovery"):
        part = (module or {}).get(phase)
        if isinstance(part, dict) and key in part:
            return part[key]
    return []


def librenms_total(expected: dict[str, Any] | None) -> int | None:
    """LibreNMS's client total, by INDEX.md's rule: a device-wide sensor if there is one, else the
    only sensor, else the sum of the per-radio sensors (which must not share an OID)."""
    sensors = [s for s in _rows((expected or {}).get("wireless"), "wireless_sensors")
               if s["sensor_class"] == "clients" and s["sensor_descr"].strip().lower() not in AP_COUNT_NAMES]
    if not sensors:
        return None
    named = [s for s in sensors
             if s["sensor_descr"].strip().lower() in TOTAL_NAMES or str(s["sensor_index"]).lower() in TOTAL_NAMES]
    if named:
        assert len(named) == 1, f"several total sensors: {named}"
        return named[0]["sensor_current"]
    if len(sensors) == 1:
        return sensors[0]["sensor_current"]
    per_radio = [s for s in sensors if PER_RADIO.fullmatch(s["sensor_descr"])] or sensors
    oids = [oid for s in per_radio for oid in json.loads(s["sensor_oids"])]
    assert len(oids) == len(set(oids)), f"per-radio sensors overlap: {per_radio}"
    return sum(s["sensor_current"] for s in per_radio)


def librenms_port(expected: dict[str, Any] | None, if_index: int) -> dict[str, Any] | None:
    ports = [p for p in _rows((expected or {}).get("ports"), "ports") if p["ifIndex"] == if_index]
    return ports[0] if ports else None


@dataclass(frozen=True)
class Outcome:
    discovery: Discovery
    device: RecordedDevice
    clients: int | None
    in_octets: int | None
    out_octets: int | None


@functools.cache
def outcome(case: str) -> Outcome:
    """Discover a recorded device, then read what a poll would: the client figure and the uplink counters."""
    device = RecordedDevice.from_file(DEVICES / case / f"{case}.snmprec")
    found = asyncio.run(discover(device, shipped()))
    if found.clients_kind == "count":
        values = [value for _, value in asyncio.run(device.walk(parse_oid(found.clients_oids[0])))]
    else:
        values = device.values(found.clients_oids)
    in_octets = out_octets = None
    columns = {64: (IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS), 32: (IF_IN_OCTETS, IF_OUT_OCTETS)}.get(found.counter_bits)
    if found.uplink is not None and columns:
        in_octets, out_octets = device.values([(*column, found.uplink.if_index) for column in columns])
    return Outcome(found, device, client_count(found.clients_kind, values), in_octets, out_octets)


# --- the golden cases -------------------------------------------------------------------------


def test_every_case_folder_is_complete() -> None:
    assert len(CASES) >= 38
    for case in CASES:
        assert (DEVICES / case / f"{case}.snmprec").is_file(), case
        assert (DEVICES / case / "case.yaml").is_file(), f"{case}: add a case.yaml (see SOURCE.md)"


def test_librenms_totals_follow_index_md() -> None:
    """The rule in librenms_total() gives INDEX.md's bold numbers, and no other case has a total."""
    totals = {case: librenms_total(librenms(case)) for case in CASES}
    assert {case: total for case, total in totals.items() if total is not None} == INDEX_TOTALS


@pytest.mark.parametrize("case", CASES)
def test_detects_the_profile(case: str) -> None:
    assert outcome(case).discovery.profile == case_spec(case)["profile"]


@pytest.mark.parametrize("case", CASES)
def test_detection_does_not_hang_on_order(case: str) -> None:
    """Every other profile that would also fit this device is strictly less specific than the
    chosen one, so the choice never depends on the name tie-break."""
    recording = outcome(case).device.recording
    system = {oid: recording.get(oid) for oid in (SYS_DESCR, SYS_OBJECT_ID)}
    sys_object_id = system[SYS_OBJECT_ID].value if system[SYS_OBJECT_ID] else None
    sys_descr = outcome(case).discovery.sys_descr
    fitting = [p for p in shipped().candidates(sys_object_id, sys_descr) if not p.is_generic
               and all(recording.get(oid) or recording.walk(oid) for oid in p.detect.has_oid)]
    if len(fitting) > 1:
        first, *rest = fitting
        assert all(first.detect.specificity(sys_object_id) > p.detect.specificity(sys_object_id) for p in rest)


@pytest.mark.parametrize("case", CASES)
def test_client_count_matches_librenms(case: str) -> None:
    got = outcome(case).clients
    assert got == case_spec(case)["clients"]
    total = librenms_total(librenms(case))
    if total is not None:
        assert got == total, f"{case}: we count {got} clients, LibreNMS {total}"


@pytest.mark.parametrize("case", CASES)
def test_uplink_and_counters(case: str) -> None:
    spec, result = case_spec(case), outcome(case)
    uplink = result.discovery.uplink
    if spec["uplink"] is None:
        assert uplink is None
        return
    assert uplink is not None
    assert (uplink.if_index, uplink.name) == (spec["uplink"]["if_index"], spec["uplink"]["name"])
    assert (result.in_octets, result.out_octets) == (spec["uplink"]["in_octets"], spec["uplink"]["out_octets"])
    port = librenms_port(librenms(case), uplink.if_index)
    if port is not None:
        if result.in_octets is None:  # LibreNMS stores a counter the device lacks as 0
            assert (port["ifInOctets"] or 0, port["ifOutOctets"] or 0) == (0, 0)
        else:
            assert (result.in_octets, result.out_octets) == (port["ifInOctets"], port["ifOutOctets"])


@pytest.mark.parametrize("case", CASES)
def test_radios_counter_width_and_link_speed(case: str) -> None:
    spec, found = case_spec(case), outcome(case).discovery
    assert [radio.if_index for radio in found.radios] == spec["radios"]
    assert found.counter_bits == spec["counter_bits"]
    link = found.uplink.speed_mbps if found.uplink else None
    assert link == (pytest.approx(spec["link_mbps"]) if spec["link_mbps"] is not None else None)
    port = librenms_port(librenms(case), found.uplink.if_index) if found.uplink else None
    if port is not None and port.get("ifSpeed") and link:
        # LibreNMS keeps bit/s (ifHighSpeed x 10^6); devices with a scale put bit/s in ifHighSpeed.
        assert link == pytest.approx(port["ifSpeed"] / 1e6 * found.link_scale)


@pytest.mark.parametrize("case", CASES)
def test_discovery_is_storable(case: str) -> None:
    """Discovery holds OIDs as dotted strings, and names only sources the device answered."""
    found = outcome(case).discovery
    assert all(isinstance(oid, str) and parse_oid(oid) for oid in found.clients_oids)
    assert isinstance(found.sys_object_id, str) and parse_oid(found.sys_object_id)
    assert (found.clients_kind is None) == (not found.clients_oids)
    profile = shipped().get(found.profile)
    assert set(found.uptime_sources) <= set(profile.uptime)
    system = {name: outcome(case).device.recording.get(oid) for name, oid in UPTIME_SOURCES.items()}
    assert set(found.uptime_sources) == {name for name, record in system.items() if record is not None}


# --- discovery's own behaviour ------------------------------------------------------------------


def test_first_request_is_one_get_of_the_system_group() -> None:
    device = RecordedDevice.from_file(DEVICES / "unifi_nanohd" / "unifi_nanohd.snmprec")
    asyncio.run(discover(device, shipped()))
    assert device.asked[0] == ("get", (SYS_DESCR, SYS_OBJECT_ID, *UPTIME_SOURCES.values()))


def test_a_device_that_answers_no_system_group_is_a_collect_error() -> None:
    with pytest.raises(CollectError, match=r"neither sysDescr\.0 nor sysObjectID\.0"):
        asyncio.run(discover(SilentDevice(), shipped()))


def test_pinned_profile_skips_detection() -> None:
    device = RecordedDevice.from_file(DEVICES / "unifi_nanohd" / "unifi_nanohd.snmprec")
    found = asyncio.run(discover(device, shipped(), pinned="generic"))
    assert found.profile == "generic"
    assert found.clients_kind is None and found.clients_oids == ()
    assert found.uplink is not None and found.uplink.name == "eth0"


def test_pinning_an_unknown_profile_suggests_the_nearest() -> None:
    device = RecordedDevice.from_file(DEVICES / "unifi" / "unifi.snmprec")
    with pytest.raises(ConfigError, match="did you mean 'ubiquiti_unifi'"):
        asyncio.run(discover(device, shipped(), pinned="ubiquiti_unify"))


def _without(case: str, prefix: str) -> RecordedDevice:
    cut = parse_oid(prefix)
    records = Recording.from_file(DEVICES / case / f"{case}.snmprec")
    return RecordedDevice(Recording(r for r in records if r.oid[: len(cut)] != cut))


def test_has_oid_is_checked_on_the_device() -> None:
    """Without the UniFi MIB a nanoHD is just a net-snmp agent: generic, not ubiquiti_unifi."""
    assert asyncio.run(discover(_without("unifi_nanohd", "1.3.6.1.4.1.41112"), shipped())).profile == "generic"
    # Asus needs extOutput.1 as well as the clients extend; without it the same device is OpenWrt-like.
    assert asyncio.run(discover(_without("asuswrt-merlin", "1.3.6.1.4.1.2021.7890"), shipped())).profile == "openwrt"


def test_an_unusable_client_column_falls_through_to_the_next_source() -> None:
    """The 5760 answers bsnDot11EssNumberOfMobileStations with empty strings: bsnApIfNoOfUsers is used."""
    found = outcome("iosxe_ct5760").discovery
    assert found.clients_kind == "sum"
    assert all(oid.startswith("1.3.6.1.4.1.14179.2.2.2.1.15.") for oid in found.clients_oids)


def test_count_sources_name_the_column() -> None:
    found = outcome("stellar_oaw-ap1321").discovery
    assert (found.clients_kind, found.clients_oids) == ("count", ("1.3.6.1.4.1.6486.802.1.1.2.1.2.12.1.4.1.1.4",))


def _ifs(*rows: tuple[int, str, int, int, bool]) -> RecordedDevice:
    """A small agent: (ifIndex, ifDescr, ifType, ifOperStatus, has 32-bit counters) per row."""
    records = [Record(SYS_DESCR, 4, b"Linux test"), Record(SYS_OBJECT_ID, 6, parse_oid("1.3.6.1.4.1.99999"))]
    for index, descr, if_type, oper, counters in rows:
        records += [Record((*IF_DESCR, index), 4, descr.encode()), Record((*IF_TYPE, index), 2, if_type),
                    Record((*IF_OPER_STATUS, index), 2, oper)]
        if counters:
            records += [Record((*IF_IN_OCTETS, index), 65, 10 * index), Record((*IF_OUT_OCTETS, index), 65, 20 * index)]
    return RecordedDevice(Recording(records))


def test_uplink_prefers_up_then_counters_then_lowest_index() -> None:
    device = _ifs((1, "lo", 24, 1, True), (2, "eth0", 6, 2, True), (3, "eth1", 6, 1, False),
                  (4, "eth2", 6, 1, True), (5, "eth3", 6, 1, True), (6, "wlan0", 71, 1, True))
    found = asyncio.run(discover(device, shipped()))
    assert found.profile == "generic"
    assert found.uplink is not None and found.uplink.if_index == 4
    assert [r.if_index for r in found.radios] == [6]
    assert found.counter_bits == 32 and found.link_source is None


def test_names_and_descriptions_are_decoded_leniently() -> None:
    device = _ifs((7, "eth\x00", 6, 1, True))
    device.recording = Recording([*device.recording, Record((*IF_DESCR, 8), 4, b"\xffbad\x00"),
                                  Record((*IF_TYPE, 8), 2, 6), Record((*IF_OPER_STATUS, 8), 2, 2)])
    found = asyncio.run(discover(device, shipped()))
    assert found.uplink is not None and found.uplink.name == "eth"
    assert found.sys_descr == "Linux test" and found.sys_object_id == "1.3.6.1.4.1.99999"


# --- client_count ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "values", "expected"), [
    ("scalar", [5], 5),
    ("scalar", [b"5"], 5),                                # net-snmp extend output
    ("scalar", [b" 12\n"], 12),
    ("sum", [4, 0, 14, 0], 18),
    ("sum", [b"2", 1, NO_SUCH_INSTANCE], 3),
    ("sum", [b"", b""], None),                            # the 5760's empty strings
    ("sum", [NO_SUCH_OBJECT, END_OF_MIB_VIEW], None),
    ("sum", [], None),
    ("sum", [-1, 3], 3),                                  # a negative count is not a count
    ("scalar", [b"n/a"], None),
    ("count", [b"ssid", b"ssid"], 2),
    ("count", [], 0),                                     # an empty table is zero clients
    (None, [5], None),
])
def test_client_count(kind: str | None, values: list[Any], expected: int | None) -> None:
    assert client_count(kind, values) == expected


def test_client_count_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown client source kind"):
        client_count("average", [1])


@given(st.lists(st.integers(min_value=0, max_value=2**32 - 1), min_size=1))
def test_client_count_sums_ints_and_their_decimal_text_alike(numbers: list[int]) -> None:
    assert client_count("sum", numbers) == sum(numbers)
    assert client_count("sum", [str(n).encode() for n in numbers]) == sum(numbers)


def test_as_count_refuses_bools_and_oids() -> None:
    assert as_count(True) is None
    assert as_count((1, 3, 6)) is None
    assert as_count("10.0.0.1") is None
