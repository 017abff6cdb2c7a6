"""Radio figures against LibreNMS's for the same recordings (SPEC §5 of issue 17).

Every case folder in tests/fixtures/devices whose case.yaml has ``librenms_radios`` lists each LibreNMS
wireless sensor of the radio classes (frequency, noise-floor, power, utilization, ap-count, and a
clients-class sensor that counts APs, such as pepwave's 'Online APs') kept in its librenms.json, keyed
``<class>/<sensor_index>`` (``<class>/<sensor_type>/<sensor_index>`` where several sensors share class
and index), as either ``{radio: <Radio.name>, field: <Radio field>}``
(with ``ap: <ManagedAp name or key>`` for a radio a controller reports for one of its APs),
``{field: ap_count}``, or ``{not_ours: "<why>"}``. The recording is discovered with the shipped
profiles, its radios read (read_device_radios; read_controller for a controller profile), and every
mapped figure must equal LibreNMS's sensor_current exactly.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotspotctl.collectors.discovery import discover, read_interfaces
from hotspotctl.collectors.profiles import ProfileSet, load_profiles
from hotspotctl.collectors.tables import read_controller, read_device_radios
from hotspotctl.models.radios import ControllerReading, Radio
from tests.collectors.fakes import RecordedDevice
from tests.collectors.test_discovery import AP_COUNT_NAMES

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"
TEST_PROFILES = Path(__file__).resolve().parents[1] / "fixtures" / "profiles-radios"
RADIO_CLASSES = ("frequency", "noise-floor", "power", "utilization", "ap-count")
RADIO_FIELDS = tuple(f.name for f in fields(Radio) if f.name not in ("name", "if_index", "band", "oper_up"))


def case_spec(case: str) -> dict[str, Any]:
    return yaml.safe_load((DEVICES / case / "case.yaml").read_text(encoding="utf-8")) or {}


CASES = sorted(p.name for p in DEVICES.iterdir() if (p / "case.yaml").is_file())
RADIO_CASES = [case for case in CASES if "librenms_radios" in case_spec(case)]


@functools.cache
def shipped() -> ProfileSet:
    return load_profiles()


def radio_sensors(case: str) -> dict[str, dict[str, Any]]:
    """LibreNMS's sensors of the radio classes for this recording, by ``<class>/<sensor_index>``, or
    ``<class>/<sensor_type>/<sensor_index>`` for sensors that share class and index."""
    document = json.loads((DEVICES / case / "librenms.json").read_text(encoding="utf-8"))
    wireless = document.get("wireless") or {}
    sensors: list[dict[str, Any]] = []
    for phase in ("poller", "discovery"):
        part = wireless.get(phase)
        if isinstance(part, dict) and "wireless_sensors" in part:
            sensors = part["wireless_sensors"]
            break
    # and the clients-class sensors that count APs (pepwave's 'Online APs'): {field: ap_count} for them
    radio = [s for s in sensors if s["sensor_class"] in RADIO_CLASSES
             or (s["sensor_class"] == "clients" and s["sensor_descr"].strip().lower() in AP_COUNT_NAMES)]
    shared = Counter((s["sensor_class"], str(s["sensor_index"])) for s in radio)
    # LibreNMS tells its sensors apart by class, type and index: where two share class and index (UniFi's
    # four utilisation sensors of one radio, airOS's Tx Power and Signal Level), each is keyed with its type.
    found = {(f"{s['sensor_class']}/{s['sensor_index']}" if shared[(s["sensor_class"], str(s["sensor_index"]))] == 1
              else f"{s['sensor_class']}/{s['sensor_type']}/{s['sensor_index']}"): s for s in radio}
    assert len(found) == len(radio), "duplicate sensor keys"
    return found


@dataclass(frozen=True)
class Read:
    profile: str
    radios: tuple[Radio, ...]
    controller: ControllerReading | None


def read_case(case: str, profiles: ProfileSet) -> Read:
    async def run() -> Read:
        device = RecordedDevice.from_file(DEVICES / case / f"{case}.snmprec")
        found = await discover(device, profiles)
        profile = profiles.get(found.profile)
        if_names = {row.interface.if_index: row.interface.name for row in await read_interfaces(device, profile)}
        radios = await read_device_radios(device, profile, if_names, interfaces=found.radios)
        controller = await read_controller(device, profile) if profile.controller is not None else None
        return Read(found.profile, radios, controller)

    return asyncio.run(run())


def figure(entry: dict[str, Any], read: Read) -> object:
    """Our figure a mapped entry names."""
    if entry["field"] == "ap_count":
        assert read.controller is not None, "ap_count needs a profile with a controller section"
        return read.controller.ap_count
    radios = read.radios
    if "ap" in entry:
        assert read.controller is not None, "ap: names an AP of a controller; the profile has no controller section"
        aps = [ap for ap in read.controller.aps if entry["ap"] in (ap.name, ap.key, ap.mac)]
        assert len(aps) == 1, f"ap {entry['ap']!r}: {len(aps)} APs match (names: {[a.name for a in read.controller.aps]})"
        radios = aps[0].radios
    named = [radio for radio in radios if radio.name == entry["radio"]]
    assert len(named) == 1, f"radio {entry['radio']!r} not read (we read {[r.name for r in radios]})"
    return getattr(named[0], entry["field"])


def check_parity(case: str, mapping: dict[str, Any], read: Read) -> None:
    sensors = radio_sensors(case)
    missing = sorted(set(sensors) - set(mapping))
    assert not missing, f"{case}: LibreNMS sensors not in librenms_radios: {missing}"
    stale = sorted(set(mapping) - set(sensors))
    assert not stale, f"{case}: librenms_radios names sensors librenms.json lacks: {stale}"
    for key, entry in mapping.items():
        assert isinstance(entry, dict), f"{case}: {key}: expected a mapping, got {entry!r}"
        if "not_ours" in entry:
            assert set(entry) == {"not_ours"}, f"{case}: {key}: not_ours stands alone"
            assert isinstance(entry["not_ours"], str) and entry["not_ours"].strip(), \
                f"{case}: {key}: say why this sensor is not a figure we model"
            continue
        if entry.get("field") == "ap_count":
            assert set(entry) == {"field"}, f"{case}: {key}: {{field: ap_count}} stands alone"
        else:
            assert set(entry) in ({"radio", "field"}, {"ap", "radio", "field"}), f"{case}: {key}: {entry!r}"
            assert entry["field"] in RADIO_FIELDS, f"{case}: {key}: field {entry['field']!r} not in {RADIO_FIELDS}"
        got = figure(entry, read)
        expected = sensors[key]["sensor_current"]
        assert got is not None and not isinstance(got, bool), f"{case}: {key}: we read nothing for {entry}"
        assert got == expected, f"{case}: {key}: we read {got!r}, LibreNMS {expected!r} ({entry})"


@pytest.mark.parametrize("case", RADIO_CASES)
def test_radio_figures_match_librenms(case: str) -> None:
    check_parity(case, case_spec(case)["librenms_radios"], read_case(case, shipped()))


def test_harness_on_a_test_profile() -> None:
    """The harness itself, on hiveos-wireless read with a test-only profile that has a radios section."""
    profiles = load_profiles([TEST_PROFILES / "profiles"])
    assert profiles.get("aerohive_hiveos").radios is not None
    read = read_case("hiveos-wireless", profiles)
    assert read.profile == "aerohive_hiveos"
    assert [r.to_json() for r in read.radios] == [
        {"name": "wifi0", "if_index": 7, "band": "2.4GHz", "channel": 6, "frequency_mhz": 2437, "clients": None,
         "utilization_pct": None, "noise_floor_dbm": -95.0, "tx_power_dbm": 5.0, "oper_up": None},
        {"name": "wifi1", "if_index": 8, "band": "5GHz", "channel": 165, "frequency_mhz": 5825, "clients": None,
         "utilization_pct": None, "noise_floor_dbm": -95.0, "tx_power_dbm": 19.0, "oper_up": None},
    ]
    mapping = yaml.safe_load((TEST_PROFILES / "hiveos-wireless.yaml").read_text(encoding="utf-8"))["librenms_radios"]
    check_parity("hiveos-wireless", mapping, read)


def test_harness_refuses_a_wrong_or_incomplete_mapping() -> None:
    profiles = load_profiles([TEST_PROFILES / "profiles"])
    read = read_case("hiveos-wireless", profiles)
    mapping = yaml.safe_load((TEST_PROFILES / "hiveos-wireless.yaml").read_text(encoding="utf-8"))["librenms_radios"]
    wrong = {**mapping, "power/7": {"radio": "wifi1", "field": "tx_power_dbm"}}
    with pytest.raises(AssertionError, match=r"power/7: we read 19.0, LibreNMS 5"):
        check_parity("hiveos-wireless", wrong, read)
    with pytest.raises(AssertionError, match=r"not in librenms_radios: \['frequency/8'\]"):
        check_parity("hiveos-wireless", {k: v for k, v in mapping.items() if k != "frequency/8"}, read)
    with pytest.raises(AssertionError, match="say why"):
        check_parity("hiveos-wireless", {**mapping, "frequency/8": {"not_ours": " "}}, read)
    # With the shipped profile (no radios section yet) nothing is read, and a mapped sensor fails.
    with pytest.raises(AssertionError, match="not read"):
        check_parity("hiveos-wireless", mapping, Read("aerohive_hiveos", (), None))
