"""Radios on the standalone poll path: discovery fixes a radio table's instances, every poll GETs exactly
them in the AP's one GET, an instance gone means rediscovery; profiles without a radio table give the
IF-MIB radio interfaces. Then end to end over UDP (snmpsim): `poll --once` and `ap probe` in JSON."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest

from hotspotctl.collectors.discovery import discover, read_interfaces, share_layout
from hotspotctl.collectors.model import NO_SUCH_INSTANCE, Discovery, Sample
from hotspotctl.collectors.oids import parse_oid
from hotspotctl.collectors.poller import _probe, build_sample, plan_poll
from hotspotctl.collectors.profiles import ProfileSet, load_profiles
from hotspotctl.collectors.tables import read_device_radios
from hotspotctl.models.radios import Radio
from hotspotctl.simulate.snmprec import Record, Recording
from hotspotctl.store.polling import discovery_from_json, discovery_to_json
from tests.collectors.fakes import RecordedDevice
from tests.conftest import write

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"
TEST_PROFILES = Path(__file__).resolve().parents[1] / "fixtures" / "profiles-radios" / "profiles"
AH = "1.3.6.1.4.1.26928.1.1.1.2.1"
WIFI0 = Radio("wifi0", if_index=7, band="2.4GHz", channel=6, frequency_mhz=2437, noise_floor_dbm=-95.0,
              tx_power_dbm=5.0)
WIFI1 = Radio("wifi1", if_index=8, band="5GHz", channel=165, frequency_mhz=5825, noise_floor_dbm=-95.0,
              tx_power_dbm=19.0)


def hiveos() -> RecordedDevice:
    return RecordedDevice.from_file(DEVICES / "hiveos-wireless" / "hiveos-wireless.snmprec")


def with_radios() -> ProfileSet:
    return load_profiles([TEST_PROFILES])


def sample_of(device: RecordedDevice, discovery: Discovery, profiles: ProfileSet) -> tuple[Sample, bool]:
    plan = plan_poll(discovery)
    return build_sample("AP-1", plan, device.values(plan.oids), 1.0, 2.0,
                        radio_table=profiles.get(discovery.profile).radios)


def test_discovery_fixes_the_radio_instances_once() -> None:
    device = hiveos()
    found = asyncio.run(discover(device, with_radios()))
    assert found.profile == "aerohive_hiveos"
    assert found.radio_keys == ("7", "8")
    assert found.radio_cells == (  # name, channel, noise floor, tx power (the radios keys' order)
        (f"{AH}.1.1.1", ("7", "8")), (f"{AH}.5.1.1", ("7", "8")), (f"{AH}.5.1.3", ("7", "8")),
        (f"{AH}.5.1.2", ("7", "8")))
    assert found.radio_if_names == ()  # no IF-MIB in this recording; names come from ahIfName
    # one walk of the four radio columns, and no other walk of them
    walked = [oids[0] for kind, oids in device.asked if kind == "walk"]
    assert sorted(o for o in walked if o[:len(parse_oid(AH))] == parse_oid(AH)) == sorted(
        parse_oid(f"{AH}.{c}") for c in ("5.1.1", "1.1.1", "5.1.3", "5.1.2"))


def test_every_poll_gets_exactly_those_instances_in_the_one_get() -> None:
    device, profiles = hiveos(), with_radios()
    found = asyncio.run(discover(device, profiles))
    plan = plan_poll(found)
    radio_oids = [parse_oid(f"{column}.{row}") for column, rows in found.radio_cells for row in rows]
    assert plan.radio_slice is not None and list(plan.oids[plan.radio_slice]) == radio_oids
    assert plan.oids[:plan.radio_slice.start] == plan_poll(dataclasses.replace(found, radio_keys=(),
                                                                               radio_cells=())).oids
    sample, gone = sample_of(device, found, profiles)
    assert not gone
    assert sample.radios == (WIFI0, WIFI1)
    # the same figures a walk of the table gives
    assert sample.radios == asyncio.run(read_device_radios(device, profiles.get("aerohive_hiveos"), {}))
    assert sample.clients == 0


def test_a_radio_instance_gone_means_rediscover() -> None:
    device, profiles = hiveos(), with_radios()
    found = asyncio.run(discover(device, profiles))
    plan = plan_poll(found)
    values = device.values(plan.oids)
    gone_at = plan.oids.index(parse_oid(f"{AH}.5.1.2.8"))  # wifi1's tx power
    values[gone_at] = NO_SUCH_INSTANCE
    sample, gone = build_sample("AP-1", plan, values, 1.0, 2.0, radio_table=profiles.get("aerohive_hiveos").radios)
    assert gone
    assert sample.radios == (WIFI0, dataclasses.replace(WIFI1, tx_power_dbm=None))


def test_a_profile_without_a_radio_table_gives_the_if_mib_radios() -> None:
    # Meraki: no row of its MIB says which radio it belongs to (collectors/meraki_mr.yaml), so no radio table
    device, profiles = RecordedDevice.from_file(DEVICES / "merakimr_cw9176" / "merakimr_cw9176.snmprec"), load_profiles()
    found = asyncio.run(discover(device, profiles))
    assert profiles.get(found.profile).radios is None and found.radio_keys == ()
    assert [r.if_index for r in found.radios] == [2, 3, 4]  # the IF-MIB radio interfaces discovery chose
    plan = plan_poll(found)
    assert plan.radio_slice is None
    assert plan.oids == plan_poll(dataclasses.replace(found, radios=())).oids  # no extra object in the GET
    sample, gone = sample_of(device, found, profiles)
    assert not gone
    assert sample.radios == tuple(Radio(i.name, if_index=i.if_index, oper_up=i.oper_up) for i in found.radios)
    assert all(r.channel is None and r.band is None for r in sample.radios)


def test_a_plan_with_radio_keys_but_no_profile_table_gives_no_radios() -> None:
    device, profiles = hiveos(), with_radios()
    found = asyncio.run(discover(device, profiles))
    plan = plan_poll(found)
    sample, gone = build_sample("AP-1", plan, device.values(plan.oids), 1.0, 2.0)
    assert sample.radios == () and not gone


def test_discovery_with_radios_is_storable_and_old_layouts_load() -> None:
    found = asyncio.run(discover(hiveos(), with_radios()))
    stored = json.loads(json.dumps(discovery_to_json(found)))
    assert stored["radio_keys"] == ["7", "8"] and stored["radio_cells"][0] == [f"{AH}.1.1.1", ["7", "8"]]
    assert discovery_from_json(stored) == found
    named = dataclasses.replace(found, radio_if_names=((7, "wifi0"),))
    assert discovery_from_json(json.loads(json.dumps(discovery_to_json(named)))) == named
    old = {k: v for k, v in stored.items() if not k.startswith("radio_")}
    old["radios"] = []
    loaded = discovery_from_json(old)
    assert (loaded.radio_keys, loaded.radio_cells, loaded.radio_if_names) == ((), (), ())
    assert plan_poll(loaded).fixed_radios == ()


def test_if_names_name_radios_keyed_by_ifindex(tmp_path: Path) -> None:
    """A radio table indexed by ifIndex with no name of its own takes the IF-MIB name, kept in the Discovery."""
    write(tmp_path / "mikrotik_routeros.yaml", (DEVICES.parents[2] / "collectors" / "mikrotik_routeros.yaml")
          .read_text(encoding="utf-8") + "radios:\n  rows: 1.3.6.1.4.1.14988.1.1.1.3.1.7\n"
          "  frequency_mhz: {oid: 1.3.6.1.4.1.14988.1.1.1.3.1.7, ignore: [0]}\n  if_index: {from: key}\n")
    profiles = load_profiles([tmp_path])
    device = RecordedDevice.from_file(DEVICES / "routeros" / "routeros.snmprec")
    found = asyncio.run(discover(device, profiles))
    assert found.profile == "mikrotik_routeros" and found.radio_keys
    names = {r.interface.if_index: r.interface.name
             for r in asyncio.run(read_interfaces(device, profiles.get("mikrotik_routeros")))}
    assert found.radio_if_names == tuple((int(k), names[int(k)]) for k in found.radio_keys)
    sample, gone = sample_of(device, found, profiles)
    assert not gone
    assert [(r.name, r.if_index) for r in sample.radios] == [(names[int(k)], int(k)) for k in found.radio_keys]
    assert [(r.name, r.frequency_mhz, r.band) for r in sample.radios] == [
        ("wlan1", 2412, "2.4GHz"), ("wlan2", 5805, "5GHz"), ("wlan3", None, None), ("wlan4", None, None)]


# --- ap probe ----------------------------------------------------------------------------------------------


def test_probe_says_what_was_read_and_what_was_not(tmp_path: Path) -> None:
    profile = (TEST_PROFILES / "aerohive_hiveos.yaml").read_text(encoding="utf-8")
    write(tmp_path / "aerohive_hiveos.yaml",
          profile + f"  utilization_pct: {AH}.5.1.9\n  clients: {{oid: {AH}.5.1.8, join: {{column: {AH}.5.1.7, on: key}}}}\n")
    profiles = load_profiles([tmp_path])
    result = asyncio.run(_probe(hiveos(), "10.0.0.1", 161, profiles, None))  # type: ignore[arg-type]
    data = result.to_json()
    assert data["profile"] == "aerohive_hiveos" and data["profile_matched"] is True
    assert data["radios"] == [WIFI0.to_json(), WIFI1.to_json()]
    assert data["unread"] == ["radios.clients", "radios.utilization_pct"]
    assert "aps" not in data and "ap_count" not in data
    exact = asyncio.run(_probe(hiveos(), "10.0.0.1", 161, with_radios(), None))  # type: ignore[arg-type]
    assert exact.to_json()["unread"] == []
    # the shipped profile: no radio table, so the (absent) IF-MIB radios; a generic match says so
    generic = asyncio.run(_probe(hiveos(), "10.0.0.1", 161, load_profiles(), "generic"))  # type: ignore[arg-type]
    assert generic.to_json()["profile_matched"] is False and generic.to_json()["radios"] == []


CONTROLLER = """\
# Test-only: a made-up controller, to prove `ap probe` on a controller section.
name: test_controller
detect:
  sys_object_id: [1.3.6.1.4.1.99]
controller:
  aps:
    rows: 1.3.6.1.4.1.99.1.1
    name: 1.3.6.1.4.1.99.1.2
    mac: {from: key}
    joined: {oid: 1.3.6.1.4.1.99.1.3, map: {1: true, 2: false}}
    reason: {oid: 1.3.6.1.4.1.99.1.3, map: {2: downloading}}
    clients: 1.3.6.1.4.1.99.1.4
  radios:
    rows: 1.3.6.1.4.1.99.1.7
    channel: 1.3.6.1.4.1.99.1.7
    frequency_mhz: {from: channel}
  ap_count:
    - scalar: 1.3.6.1.4.1.99.1.9.0
"""


def controller_device() -> RecordedDevice:
    one, two = (0, 11, 134, 1, 2, 3), (0, 11, 134, 1, 2, 4)
    base = parse_oid("1.3.6.1.4.1.99.1")
    return RecordedDevice(Recording([
        Record(parse_oid("1.3.6.1.2.1.1.1.0"), 4, b"Test controller"),
        Record(parse_oid("1.3.6.1.2.1.1.2.0"), 6, parse_oid("1.3.6.1.4.1.99.5")),
        Record(parse_oid("1.3.6.1.2.1.1.3.0"), 67, 12345),
        Record((*base, 1, *one), 2, 1), Record((*base, 1, *two), 2, 1),
        Record((*base, 2, *one), 4, b"AP-Zocalo-01"), Record((*base, 2, *two), 4, b"AP-Zocalo-02"),
        Record((*base, 3, *one), 2, 1), Record((*base, 3, *two), 2, 2),
        Record((*base, 7, *one, 0), 2, 6), Record((*base, 7, *one, 1), 2, 36),
    ]))


def test_probe_a_controller_lists_its_aps(tmp_path: Path) -> None:
    write(tmp_path / "test_controller.yaml", CONTROLLER)
    result = asyncio.run(_probe(controller_device(), "10.0.0.2", 161, load_profiles([tmp_path]), None))  # type: ignore[arg-type]
    data = result.to_json()
    assert data["profile"] == "test_controller" and data["profile_matched"] is True
    assert data["ap_count"] == 1  # no ap_count object answered: the APs joined
    assert data["unread"] == ["controller.aps.clients", "controller.ap_count"]
    assert data["aps"] == [
        {"name": "AP-Zocalo-01", "mac": "00:0b:86:01:02:03", "joined": True, "reason": None, "clients": None,
         "uptime_s": None, "radios": [
             Radio("radio 0", band="2.4GHz", channel=6, frequency_mhz=2437).to_json(),
             Radio("radio 1", band="5GHz", channel=36, frequency_mhz=5180).to_json()]},
        {"name": "AP-Zocalo-02", "mac": "00:0b:86:01:02:04", "joined": False, "reason": "downloading",
         "clients": None, "uptime_s": None, "radios": []}]


# --- over UDP: snmpsim serving the recording, the CLI in JSON ------------------------------------------------


@pytest.fixture
def radio_fleet(tmp_path: Path, snmpsim, monkeypatch: pytest.MonkeyPatch):
    import os

    for name in [n for n in os.environ if n.startswith("HOTSPOTCTL_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "hotspotctl.toml", "[snmp]\ntimeout_s = 2.0\nretries = 2\ndeadline_s = 20.0\n"
          f'profiles_dir = "{TEST_PROFILES}"\n[snmp.auth.hive]\ncommunity = "hiveos-wireless"\n'
          '[snmp.auth.aruba]\ncommunity = "aruba-instant"\n')
    write(tmp_path / "devices.csv", "id,lat,lon,district,mgmt_address,snmp_auth\n"
          f"AP-HIVE,19.43,-99.13,Cuauhtemoc,{snmpsim.address},hive\n"
          f"AP-ARUBA,19.44,-99.13,Cuauhtemoc,{snmpsim.address},aruba\n")
    return snmpsim


def _run(*args: str) -> tuple[int, str]:
    import contextlib
    import io

    from hotspotctl.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["-q", *args])
    return int(code), out.getvalue()


def test_poll_once_json_has_each_aps_radios_over_udp(radio_fleet) -> None:
    assert _run("inventory", "import", "devices.csv")[0] == 0
    code, out = _run("poll", "--once", "--format", "json")
    assert code == 0, out
    rows = {row["ap"]: row for row in json.loads(out)}
    assert rows["AP-HIVE"]["radios"] == [WIFI0.to_json(), WIFI1.to_json()]
    aruba = rows["AP-ARUBA"]["radios"]  # aiRadioTable: the 3-AP cluster's 8 radios, as LibreNMS reads them
    assert len(aruba) == 8 and all(set(r) == set(WIFI0.to_json()) for r in aruba)
    assert aruba[0] == {"name": "Radio 0", "if_index": None, "band": "5GHz", "channel": 161, "frequency_mhz": 5805,
                        "clients": 0, "utilization_pct": 1.0, "noise_floor_dbm": -94.0, "tx_power_dbm": 16.0,
                        "oper_up": True}
    assert [r["frequency_mhz"] for r in aruba] == [5805, 2412, None, 5300, 2462, None, 5580, 2437]


def test_probe_json_over_udp(radio_fleet) -> None:
    code, out = _run("ap", "probe", radio_fleet.address, "--auth", "hive", "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["profile"] == "aerohive_hiveos" and data["profile_matched"] is True and data["unread"] == []
    assert data["radios"] == [WIFI0.to_json(), WIFI1.to_json()]
    code, out = _run("ap", "probe", radio_fleet.address, "--auth", "hive")
    assert code == 0
    assert "aerohive_hiveos (matched)" in out and "wifi1" in out and "5,825" in out
    code, out = _run("ap", "probe", radio_fleet.address, "--auth", "hive", "--profile", "generic")
    assert code == 0 and "generic (pinned)" in out


def test_discover_counts_the_radios_a_poll_gives_over_udp(radio_fleet) -> None:
    """`discover` says how many radios the profile's radio table read (the Radio records a poll gives), not
    how many IF-MIB interfaces look like radios: the same figure as `ap probe`'s radios."""
    assert _run("inventory", "import", "devices.csv")[0] == 0
    code, out = _run("discover", "--format", "json")
    assert code == 0, out
    rows = {row["ap"]: row for row in json.loads(out)}
    assert rows["AP-HIVE"]["radios"] == 2  # ahRadio's wifi0 and wifi1; the recording has no IF-MIB
    assert rows["AP-ARUBA"]["radios"] == 8  # aiRadioTable: the cluster's 8 radios
    code, out = _run("ap", "probe", radio_fleet.address, "--auth", "hive", "--format", "json")
    assert code == 0 and len(json.loads(out)["radios"]) == rows["AP-HIVE"]["radios"]
    code, out = _run("discover", "--format", "csv")
    assert code == 0
    csv_rows = {line.split(",")[0]: line.split(",") for line in out.splitlines()[1:]}
    radios_at = out.splitlines()[0].split(",").index("radios")
    assert csv_rows["AP-HIVE"][radios_at] == "2" and csv_rows["AP-ARUBA"][radios_at] == "8"


@pytest.mark.parametrize(("case", "indexes"), [("hiveos-wireless_320-n", (7, 8)), ("hiveos-wireless_ap305c-1", (12, 13))])
def test_a_radio_table_with_no_row_gives_the_if_mib_radios(case: str, indexes: tuple[int, int]) -> None:
    """HiveOS 6.x (320_n) and 10.x (AP305C) answer no ahRadioAttributeTable: aerohive_hiveos's radio table lists
    nothing there, so the radios are the IF-MIB wifiN the profile's interfaces.radios rule picks, as for a
    profile with no table, on the poll and on a walk of the table alike."""
    device, profiles = RecordedDevice.from_file(DEVICES / case / f"{case}.snmprec"), load_profiles()
    found = asyncio.run(discover(device, profiles))
    profile = profiles.get(found.profile)
    assert profile.name == "aerohive_hiveos" and profile.radios is not None
    assert not device.recording.walk(profile.radios.rows)
    assert (found.radio_keys, found.radio_cells) == ((), ())
    expected = (Radio("wifi0", if_index=indexes[0], oper_up=True), Radio("wifi1", if_index=indexes[1], oper_up=True))
    assert plan_poll(found).fixed_radios == expected
    sample, gone = sample_of(device, found, profiles)
    assert sample.radios == expected and not gone
    assert asyncio.run(read_device_radios(device, profile, {}, interfaces=found.radios)) == expected
    assert asyncio.run(read_device_radios(device, profile, {})) == ()  # no interfaces given: none to fall back on


def test_a_device_whose_radio_table_empties_keeps_its_radios() -> None:
    """hiveos-wireless_2 lists its two radios in ahRadioAttributeTable; after a firmware that drops the table
    (the recording without those rows), the poll sees an instance gone, rediscovery finds no row, and the AP
    keeps wifi0 and wifi1 (its IF-MIB radio interfaces), never none."""
    case = "hiveos-wireless_2"
    recorded = Recording.from_file(DEVICES / case / f"{case}.snmprec")
    profiles = load_profiles()
    before = RecordedDevice(recorded)
    found = asyncio.run(discover(before, profiles))
    assert found.radio_keys == ("7", "8")
    table = parse_oid("1.3.6.1.4.1.26928.1.1.1.2.1.5")  # ahRadioAttributeTable
    after = RecordedDevice(Recording([r for r in recorded if r.oid[:len(table)] != table]))
    sample, gone = sample_of(after, found, profiles)
    assert gone  # the poll asks for rediscovery
    assert [r.name for r in sample.radios] == ["wifi0", "wifi1"]  # ahIfName still names them this cycle
    again = asyncio.run(discover(after, profiles))
    assert (again.radio_keys, again.radio_cells) == ((), ())
    sample, gone = sample_of(after, again, profiles)
    assert not gone
    assert sample.radios == (Radio("wifi0", if_index=7, oper_up=True), Radio("wifi1", if_index=8, oper_up=True))


def test_a_prefix_join_is_polled_from_the_instances_discovery_fixed() -> None:
    """fortinet_fortiap's per-radio clients join fapVapStaInfoCount (indexed radio.wlan) on the index prefix
    (synthetic recording): discovery fixes the VAP rows under each radio, the poll GETs them and sums the same."""
    case = "fortinet_fortiap"
    device, profiles = RecordedDevice.from_file(DEVICES / case / f"{case}.snmprec"), load_profiles()
    found = asyncio.run(discover(device, profiles))
    assert found.profile == case and found.radio_keys == ("0", "1")
    assert ("1.3.6.1.4.1.12356.120.7.1.1.45", ("0.0", "0.1", "1.0", "1.1")) in found.radio_cells
    sample, gone = sample_of(device, found, profiles)
    assert not gone
    assert [(r.name, r.clients) for r in sample.radios] == [("Radio 0", 4), ("Radio 1", 10)]
    assert sample.radios == asyncio.run(read_device_radios(device, profiles.get(case), {}))
    assert sample.clients == 14 == sum(r.clients or 0 for r in sample.radios)


def test_aps_of_one_layout_share_it_and_its_parts() -> None:
    """Two APs discovered apart (each walk builds its own strings and tuples) keep one layout object; a layout
    that differs elsewhere (another sysDescr) still shares the radio table's parts with it."""
    profiles = with_radios()
    first, second = asyncio.run(discover(hiveos(), profiles)), asyncio.run(discover(hiveos(), profiles))
    assert first == second and first is second
    copy = discovery_from_json(json.loads(json.dumps(discovery_to_json(first))))  # equal, built afresh
    assert copy == first and copy.radio_cells is not first.radio_cells
    other = share_layout(dataclasses.replace(copy, sys_descr=first.sys_descr + " serial 42"))
    assert other != first and other.sys_descr.endswith("serial 42")
    assert other.radio_keys is first.radio_keys and other.radio_if_names is first.radio_if_names
    assert other.radio_cells is first.radio_cells and other.clients_oids is first.clients_oids
    assert other.uptime_sources is first.uptime_sources and other.radios is first.radios
    assert share_layout(copy) is first
    assert plan_poll(other).oids == plan_poll(first).oids
