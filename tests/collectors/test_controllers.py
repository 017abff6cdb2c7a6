"""Wireless controllers read from their recordings (issue 17): the `controller` sections of the shipped
profiles, through discovery and one read_controller walk, per recorded device.

LibreNMS's recordings (arubaos, aruba-instant, ciscowlc_cbw240ac, iosxe_ct5760, ewc, the FortiGates)
are real devices; the synthetic_* folders are built from the vendor MIBs' structure (their case.yaml
says so) for the controllers no shared recording covers. Each test names the figures the recording
holds: the AP list, one AP's MAC, joined state, clients and uptime, one radio's band, channel,
frequency and utilisation, and the controller's own AP count.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest
import yaml

from hotspotctl.collectors.discovery import discover
from hotspotctl.collectors.profiles import ProfileSet, load_profiles
from hotspotctl.collectors.tables import controller_columns, read_controller
from hotspotctl.models.radios import ControllerReading, ManagedAp, Radio
from tests.collectors.fakes import RecordedDevice

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"


@functools.cache
def shipped() -> ProfileSet:
    return load_profiles()


@functools.cache
def reading(case: str) -> tuple[str, ControllerReading]:
    """Discover the recording with the shipped profiles, then read its controller tables once."""
    async def run() -> tuple[str, ControllerReading]:
        device = RecordedDevice.from_file(DEVICES / case / f"{case}.snmprec")
        found = await discover(device, shipped())
        profile = shipped().get(found.profile)
        assert profile.controller is not None, f"{case}: {found.profile} has no controller section"
        return found.profile, await read_controller(device, profile)
    return asyncio.run(run())


def ap(case: str, name: str) -> ManagedAp:
    (found,) = [a for a in reading(case)[1].aps if a.name == name]
    return found


def radio(case: str, ap_name: str, radio_name: str) -> Radio:
    (found,) = [r for r in ap(case, ap_name).radios if r.name == radio_name]
    return found


def names(case: str) -> list[str | None]:
    return [a.name for a in reading(case)[1].aps]


# --- real recordings ------------------------------------------------------------------------------


def test_arubaos_counts_its_aps_but_the_recording_lists_none() -> None:
    """The recording holds wlsxWlanRadioTable but not wlsxWlanAPTable: no AP rows; the count is the
    controller's own wlsxSwitchTotalNumAccessPoints (LibreNMS 'AP Count' 1386)."""
    profile, got = reading("arubaos")
    assert profile == "aruba_controller"
    assert got.aps == ()
    assert got.ap_count == 1386


def test_aruba_instant_cluster() -> None:
    profile, got = reading("aruba-instant")
    assert profile == "aruba_instant"
    assert names("aruba-instant") == ["ECA-Ultimo-L11-AP06", "ECA-Ultimo-L11-AP14", "instant-ap-src-1"]
    assert got.ap_count == 3 and got.joined == 3
    first = ap("aruba-instant", "ECA-Ultimo-L11-AP06")
    assert (first.key, first.mac, first.joined, first.uptime_s) == (
        "104.40.207.199.233.192", "68:28:cf:c7:e9:c0", True, 1220178.0)
    assert [r.name for r in first.radios] == ["Radio 0", "Radio 1", "Radio 2"]
    assert radio("aruba-instant", "ECA-Ultimo-L11-AP06", "Radio 0") == Radio(
        name="Radio 0", band="5GHz", channel=161, frequency_mhz=5805, clients=0, utilization_pct=1.0,
        noise_floor_dbm=-94.0, tx_power_dbm=16.0, oper_up=True)
    # aiRadioStatus down(2): the radio is read, and said down.
    assert radio("aruba-instant", "ECA-Ultimo-L11-AP06", "Radio 1").oper_up is False
    # '116E' (an 80 MHz channel) is channel 116; '53S' is not read at all (band unknown).
    assert radio("aruba-instant", "instant-ap-src-1", "Radio 0").frequency_mhz == 5580
    third = radio("aruba-instant", "ECA-Ultimo-L11-AP06", "Radio 2")
    assert (third.channel, third.frequency_mhz, third.band, third.noise_floor_dbm) == (None, None, None, -90.0)
    assert radio("aruba-instant", "instant-ap-src-1", "Radio 1").utilization_pct == 11.0


def test_cisco_business_wireless() -> None:
    profile, got = reading("ciscowlc_cbw240ac")
    assert profile == "cisco_wlc"
    assert names("ciscowlc_cbw240ac") == ["ap1", "ap2", "ap3", "ap4"]
    assert got.ap_count == 4  # clsSysApConnectCount, LibreNMS 'Connected APs'
    ap2 = ap("ciscowlc_cbw240ac", "ap2")
    # The recording holds bsnAPName only: no operation status, uptime or per-AP client count, so an AP's
    # clients are its radios' (bsnApIfNoOfUsers: 3 + 5).
    assert (ap2.mac, ap2.joined, ap2.uptime_s, ap2.clients) == ("a0:0f:37:1a:08:80", None, None, 8)
    assert [r.name for r in ap2.radios] == ["slot 0", "slot 1"]
    assert radio("ciscowlc_cbw240ac", "ap2", "slot 1") == Radio(
        name="slot 1", band="5GHz", channel=36, frequency_mhz=5180, clients=5, utilization_pct=7.0, oper_up=True)
    assert radio("ciscowlc_cbw240ac", "ap4", "slot 0").utilization_pct == 31.0
    # The radios' clients, and so the APs', add up to LibreNMS's 'Clients: Total' (23).
    assert sum(r.clients or 0 for a in got.aps for r in a.radios) == 23
    assert [a.clients for a in got.aps] == [1, 8, 9, 5]


def test_cisco_5760_counts_the_listed_aps() -> None:
    """No clsSysApConnectCount on the 5760: the count is the bsnAPTable rows."""
    profile, got = reading("iosxe_ct5760")
    assert profile == "cisco_wlc"
    assert names("iosxe_ct5760") == ["APC-013"] and got.ap_count == 1
    assert ap("iosxe_ct5760", "APC-013").mac == "b4:e9:b0:44:5d:00"
    assert radio("iosxe_ct5760", "APC-013", "slot 0").utilization_pct == 15.0


def test_extreme_ewc() -> None:
    profile, got = reading("ewc")
    assert profile == "extreme_ewc"
    assert got.ap_count == 1  # LibreNMS 'Connected APs'
    test_ap = ap("ewc", "TestAP")
    assert (test_ap.key, test_ap.clients, test_ap.mac, test_ap.joined) == ("1", 10, None, None)
    assert [(r.name, r.utilization_pct) for r in test_ap.radios] == [("radio 1", 3.0), ("radio 2", 2.0)]


@pytest.mark.parametrize("case", ["fortigate_1500d", "fortigate_500d", "fortigate_60f", "fortigate_60f3g4g",
                                  "fortigate_cluster-60f", "fortigate_vm01", "fortigate_webfilter"])
def test_fortigates_manage_no_ap(case: str) -> None:
    profile, got = reading(case)
    assert profile == "fortinet_fortigate"
    assert got.aps == () and got.ap_count == 0


@pytest.mark.parametrize(("case", "profile", "count"), [("zyxelwlc_nxc2500", "zyxel_nxc", 35), ("pepwave", "pepwave", 1)])
def test_count_only_controllers_state_their_ap_count_and_list_no_ap(case: str, profile: str, count: int) -> None:
    """ZYXEL-ES-CAPWAP capwapOnlineAP.0 and PEPLINK WLC wlcNumApOnline.0: the controller's own totals, no
    per-AP table; LibreNMS's 'Connected APs' / 'Online APs' (test_radio_parity.py checks the same figures)."""
    found, got = reading(case)
    assert found == profile
    assert shipped().get(profile).controller.aps is None
    assert (got.aps, got.ap_count, got.lists_aps) == ((), count, False)


# --- MIB-structure fixtures (no real device met) ---------------------------------------------------


@pytest.mark.parametrize("case", sorted(p.name for p in DEVICES.glob("synthetic_*")))
def test_synthetic_fixtures_say_so(case: str) -> None:
    spec = yaml.safe_load((DEVICES / case / "case.yaml").read_text(encoding="utf-8"))
    assert spec["synthetic"].startswith("built from ") and spec["synthetic"].endswith("no real device met")
    text = (DEVICES / case / "case.yaml").read_text(encoding="utf-8")
    assert "synthetic: built from" in text and "no real device met" in text
    profile = (Path(__file__).resolve().parents[2] / "collectors" / f"{spec['profile']}.yaml").read_text()
    # the profile says it has met no real device, or names the real recording it has met since
    real = [case for case in profile.split() if (DEVICES / case.strip(".,;:()")).is_dir()
            and not case.strip(".,;:()").startswith("synthetic_")]
    assert "no real device met" in profile.lower() or "have met no real device" in profile or real


def test_cisco_9800() -> None:
    profile, got = reading("synthetic_cisco9800")
    assert profile == "cisco_9800"
    assert names("synthetic_cisco9800") == ["mx-cdmx-ap-001", "mx-cdmx-ap-002", "mx-cdmx-ap-003", "mx-cdmx-ap-004"]
    assert got.ap_count == 3 and got.joined == 3
    first = ap("synthetic_cisco9800", "mx-cdmx-ap-001")
    assert (first.mac, first.joined, first.reason, first.uptime_s, first.clients) == (
        "00:3a:7d:10:00:01", True, None, 86400.0, 12)
    downloading = ap("synthetic_cisco9800", "mx-cdmx-ap-003")
    assert (downloading.joined, downloading.reason, downloading.radios) == (False, "downloading image", ())
    assert radio("synthetic_cisco9800", "mx-cdmx-ap-002", "slot 0") == Radio(
        name="slot 0", band="2.4GHz", channel=11, frequency_mhz=2462, clients=3, utilization_pct=71.0,
        noise_floor_dbm=-84.0, oper_up=True)
    assert radio("synthetic_cisco9800", "mx-cdmx-ap-002", "slot 1").oper_up is False


def test_cisco_noise_floor_is_the_bsnapifdbnoisetable_row_at_each_radios_channel() -> None:
    """bsnAPIfDBNoisePower has one row per channel a radio measured (index AP MAC + slot + channel): each radio
    gets the row at its own bsnAPIfPhyChannelNumber, not another channel's; none when its channel has no row."""
    got = {(a.name, r.name): (r.channel, r.noise_floor_dbm) for a in reading("synthetic_cisco9800")[1].aps
           for r in a.radios}
    assert got == {("mx-cdmx-ap-001", "slot 0"): (6, -87.0), ("mx-cdmx-ap-001", "slot 1"): (36, -95.0),
                   ("mx-cdmx-ap-002", "slot 0"): (11, -84.0), ("mx-cdmx-ap-002", "slot 1"): (149, -97.0),
                   ("mx-cdmx-ap-004", "slot 0"): (1, -88.0),
                   ("mx-cdmx-ap-004", "slot 1"): (44, None)}  # rows at 36 and 40 only: not its channel

    async def as_cisco_wlc() -> ControllerReading:  # the AireOS profile reads the same table the same way
        device = RecordedDevice.from_file(DEVICES / "synthetic_cisco9800" / "synthetic_cisco9800.snmprec")
        return await read_controller(device, shipped().get("cisco_wlc"))
    wlc = asyncio.run(as_cisco_wlc())
    assert {(a.name, r.name): (r.channel, r.noise_floor_dbm) for a in wlc.aps for r in a.radios} == got


def test_ruckus_smartzone() -> None:
    profile, got = reading("synthetic_ruckus_sz")
    assert profile == "ruckus_smartzone"
    assert names("synthetic_ruckus_sz") == ["zocalo-01", "zocalo-02", "alameda-01", "alameda-02"]
    assert got.ap_count == 4  # ruckusSZSystemStatsNumAP
    zocalo = ap("synthetic_ruckus_sz", "zocalo-01")
    assert (zocalo.mac, zocalo.joined, zocalo.clients, zocalo.uptime_s) == ("58:fb:96:01:00:01", True, 9, 43200.0)
    # in is ruckusSZAPTXBytes (.31, what the AP sent its users), out RXBytes (.30, what it received from them)
    assert (zocalo.in_octets, zocalo.out_octets, zocalo.counter_bits) == (222222222, 111111111, 64)
    assert zocalo.radios == ()  # RUCKUS-SZ-WLAN-MIB has no radio table
    gone = ap("synthetic_ruckus_sz", "alameda-01")
    assert (gone.joined, gone.reason) == (False, "disconnected")


def test_ruckus_zonedirector() -> None:
    profile, got = reading("synthetic_ruckus_zd")
    assert profile == "ruckus_zonedirector"
    assert got.ap_count == 4 and got.joined == 2
    first = ap("synthetic_ruckus_zd", "coyoacan-01")
    assert (first.mac, first.joined, first.clients, first.uptime_s) == ("2c:c5:d3:02:00:01", True, 6, 25920.0)
    assert (first.in_octets, first.counter_bits) == (4000000000, 32)
    assert radio("synthetic_ruckus_zd", "coyoacan-01", "radio 1") == Radio(
        name="radio 1", band="5GHz", channel=100, frequency_mhz=5500, clients=4, utilization_pct=15.0)
    assert [(a.name, a.joined, a.reason) for a in got.aps if not a.joined] == [
        ("tlalpan-01", False, "disconnected"), ("tlalpan-02", False, "provisioning")]


def test_fortigate_with_aps() -> None:
    profile, got = reading("synthetic_fortigate_aps")
    assert profile == "fortinet_fortigate"
    assert names("synthetic_fortigate_aps") == ["bellas-artes-1", "bellas-artes-2", "bellas-artes-3"]
    assert got.ap_count == 2  # 1.3.6.1.4.1.12356.101.14.2.5.0
    first = ap("synthetic_fortigate_aps", "bellas-artes-1")
    # KEY: vdom 1, then the WTP id as a length-prefixed string.
    assert first.key == "1.16." + ".".join(str(ord(c)) for c in "FP231FTF21000001")
    assert (first.mac, first.joined, first.clients, first.uptime_s) == ("04:d5:90:03:00:01", True, 7, 17280.0)
    assert (first.in_octets, first.out_octets) == (5000000000, 6000000000)
    assert radio("synthetic_fortigate_aps", "bellas-artes-1", "radio 2") == Radio(
        name="radio 2", band="5GHz", channel=52, frequency_mhz=5260, clients=4, oper_up=True)
    disabled = radio("synthetic_fortigate_aps", "bellas-artes-2", "radio 2")
    assert (disabled.oper_up, disabled.channel, disabled.frequency_mhz) == (False, None, None)
    offline = ap("synthetic_fortigate_aps", "bellas-artes-3")
    assert (offline.joined, offline.reason, offline.radios) == (False, "offline", ())


def test_huawei_ac() -> None:
    profile, got = reading("synthetic_huawei_ac")
    assert profile == "huawei_ac"
    assert got.ap_count == 2  # hwWlanCurJointApNum
    first = ap("synthetic_huawei_ac", "reforma-01")
    assert (first.mac, first.joined, first.clients, first.in_octets) == ("28:41:c6:04:00:01", True, 11, 9000000000)
    assert radio("synthetic_huawei_ac", "reforma-01", "Radio 1") == Radio(
        name="Radio 1", band="5GHz", channel=40, frequency_mhz=5200, clients=7, utilization_pct=18.0,
        noise_floor_dbm=-101.0, tx_power_dbm=23.0, oper_up=True)
    # A down radio's invalid readings (noise 0, EIRP 255) are not said.
    down = radio("synthetic_huawei_ac", "reforma-02", "Radio 1")
    assert (down.oper_up, down.noise_floor_dbm, down.tx_power_dbm) == (False, None, None)
    assert [(a.name, a.reason) for a in got.aps if a.joined is False] == [
        ("reforma-03", "fault"), ("reforma-04", "download")]


def test_h3c_wlan_ac() -> None:
    profile, got = reading("synthetic_h3c_ac")
    assert profile == "h3c_wlan_ac"
    assert names("synthetic_h3c_ac") == ["insurgentes-01", "insurgentes-02", "insurgentes-03", "insurgentes-04"]
    assert got.ap_count == 2 and got.joined == 2  # hh3cDot11APConnectCount
    first = ap("synthetic_h3c_ac", "insurgentes-01")
    # KEY: the AP ID (its serial number) as a length-prefixed OCTET STRING index.
    assert first.key == "20." + ".".join(str(ord(c)) for c in "219801A1NM8171Q00001")
    assert (first.mac, first.joined, first.reason, first.clients, first.uptime_s) == (
        "70:ba:ef:05:00:01", True, None, 9, None)
    assert radio("synthetic_h3c_ac", "insurgentes-01", "radio 2") == Radio(
        name="radio 2", band="5GHz", channel=44, frequency_mhz=5220, utilization_pct=12.0, tx_power_dbm=23.0,
        oper_up=True)
    # hh3cDot11AirPrimChnlBusy 255 is "not measured"; OperStatus false(2) is a down radio.
    assert radio("synthetic_h3c_ac", "insurgentes-02", "radio 1").utilization_pct is None
    down = radio("synthetic_h3c_ac", "insurgentes-02", "radio 2")
    assert (down.oper_up, down.channel, down.utilization_pct) == (False, 149, 0.0)
    assert [(a.name, a.joined, a.reason, a.radios) for a in got.aps if not a.joined] == [
        ("insurgentes-03", False, "downloading image", ()), ("insurgentes-04", False, "joining", ())]


def test_ruijie_ac() -> None:
    profile, got = reading("synthetic_ruijie_ac")
    assert profile == "ruijie_ac"
    assert names("synthetic_ruijie_ac") == ["zocalo-norte-01", "zocalo-norte-02", "zocalo-sur-01"]
    assert got.ap_count == 2 and got.joined == 2  # ruijieAcApNum: the APs on line
    first = ap("synthetic_ruijie_ac", "zocalo-norte-01")
    # ruijieApUptimeMs is TimeTicks (hundredths): 4320000 is 12 hours.
    assert (first.key, first.mac, first.joined, first.clients, first.uptime_s) == (
        "88.105.108.10.0.1", "58:69:6c:0a:00:01", True, 12, 43200.0)
    assert (first.in_octets, first.out_octets) == (None, None)  # the MIB has rates, not octet counters
    # The radio table gives the channel only; band and frequency follow from it.
    assert [(r.name, r.band, r.channel, r.frequency_mhz) for r in first.radios] == [
        ("radio 1", "2.4GHz", 1, 2412), ("radio 2", "5GHz", 36, 5180)]
    assert radio("synthetic_ruijie_ac", "zocalo-norte-02", "radio 2") == Radio(
        name="radio 2", band="5GHz", channel=157, frequency_mhz=5785)
    # An AP the AC knows but that is off line: still listed (ruijieApGeneralCfgTable), with no uptime or radios.
    gone = ap("synthetic_ruijie_ac", "zocalo-sur-01")
    assert (gone.joined, gone.reason, gone.clients, gone.uptime_s, gone.radios) == (False, "offline", 0, None, ())


def test_a_controller_walk_reads_only_its_sections_columns() -> None:
    """One bulk walk per cycle: every column the section names, each once, and nothing else."""
    device = RecordedDevice.from_file(DEVICES / "synthetic_cisco9800" / "synthetic_cisco9800.snmprec")
    profile = shipped().get("cisco_9800")
    spec = profile.controller
    assert spec is not None
    asyncio.run(read_controller(device, profile))
    walked = [args[0] for kind, args in device.asked if kind == "walk"]
    assert sorted(walked) == sorted(controller_columns(spec))


def test_fortiwlc() -> None:
    profile, got = reading("synthetic_fortiwlc")
    assert profile == "fortinet_fortiwlc"
    assert names("synthetic_fortiwlc") == ["chapultepec-01", "chapultepec-02", "chapultepec-03", "chapultepec-04"]
    assert got.ap_count == 2 and got.joined == 2  # mwSystemGeneralTotalOnlineAps
    first = ap("synthetic_fortiwlc", "chapultepec-01")
    assert (first.key, first.mac, first.joined, first.reason, first.uptime_s) == (
        "1", "00:0c:e6:05:00:01", True, None, 86400.0)
    # An AP's clients: its two mwIf80211StatsTable rows (named by mwIf80211StatsNodeName), 5 + 9.
    assert (first.clients, ap("synthetic_fortiwlc", "chapultepec-02").clients) == (14, 2)
    # Those rows are the APs' radios: mwIf80211StatsTable is indexed by its own row number, each row attached
    # by its mwIf80211StatsNodeName (controller.radios.ap, on name) and named by its mwIf80211StatsIfIndex;
    # channel mwIf80211StatsChannel, frequency and band from it, clients mwIf80211StatsAssociatedStationCount,
    # noise floor mwIf80211StatsNoiseLevel; no utilisation (a Counter64 of no stated unit).
    assert first.radios == (
        Radio(name="2", band="2.4GHz", channel=6, frequency_mhz=2437, clients=5, noise_floor_dbm=-92.0),
        Radio(name="3", band="5GHz", channel=36, frequency_mhz=5180, clients=9, noise_floor_dbm=-97.0))
    assert ap("synthetic_fortiwlc", "chapultepec-02").radios == (
        Radio(name="2", band="2.4GHz", channel=11, frequency_mhz=2462, clients=2, noise_floor_dbm=-90.0),
        Radio(name="3", band="5GHz", channel=149, frequency_mhz=5745, clients=0, noise_floor_dbm=-99.0))
    assert [a.radios for a in got.aps if not a.joined] == [(), ()]  # the table has no row for them
    assert [(a.name, a.joined, a.reason, a.clients) for a in got.aps if not a.joined] == [
        ("chapultepec-03", False, "offline", None), ("chapultepec-04", False, "failed", None)]
