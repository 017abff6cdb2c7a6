"""Every radio a vendor profile reads from its recording, figure by figure.

test_radio_parity.py holds our figures against LibreNMS's sensors where LibreNMS has one; many
figures have none (a radio's state, its clients, a channel, a band). A case.yaml with
``expect_radios`` lists every Radio the recording gives, in the device's order, with each field
that is not null; the test reads the radio table after discovery (a table the device lists no row of:
the IF-MIB radio interfaces discovery chose) and compares the whole
Radio.to_json() of each, then polls the recording (discovery's fixed instances in the AP's one GET)
and requires the Sample's radios to be the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotspotctl.collectors.discovery import discover, read_interfaces
from hotspotctl.collectors.oids import parse_oid
from hotspotctl.collectors.poller import build_sample, plan_poll
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.collectors.tables import read_device_radios
from hotspotctl.models.radios import Radio
from hotspotctl.simulate.snmprec import Record, Recording
from tests.collectors.fakes import RecordedDevice

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"
NULLS = {field.name: None for field in dataclasses.fields(Radio)}


def case_spec(case: str) -> dict[str, Any]:
    return yaml.safe_load((DEVICES / case / "case.yaml").read_text(encoding="utf-8")) or {}


CASES = sorted(p.name for p in DEVICES.iterdir()
               if (p / "case.yaml").is_file() and "expect_radios" in case_spec(p.name))


def read_radios(case: str) -> tuple[str, tuple[Radio, ...], tuple[Radio, ...]]:
    """The profile, the radios a walk of the table gives, and the radios a poll's Sample carries."""
    async def run() -> tuple[str, tuple[Radio, ...], tuple[Radio, ...]]:
        profiles = load_profiles()
        device = RecordedDevice.from_file(DEVICES / case / f"{case}.snmprec")
        found = await discover(device, profiles)
        profile = profiles.get(found.profile)
        if_names = {row.interface.if_index: row.interface.name for row in await read_interfaces(device, profile)}
        walked = await read_device_radios(device, profile, if_names, interfaces=found.radios)
        plan = plan_poll(found)
        sample, gone = build_sample(case, plan, device.values(plan.oids), 1.0, 2.0, radio_table=profile.radios)
        assert not gone, f"{case}: a radio instance discovery fixed is gone from the same recording"
        return found.profile, walked, sample.radios

    return asyncio.run(run())


def test_the_vendor_cases_are_there() -> None:
    assert {"unifi", "unifi_nanohd", "airos", "routeros", "routeros_ltap-mini", "wis-bridge", "ligoos_dlb15ac",
            "mimosa_b5", "openwrt", "asuswrt-merlin", "tachyon", "albentiaaos",
            "albentiaaos_axs-bs-452-n"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_every_radio_and_figure(case: str) -> None:
    spec = case_spec(case)
    profile, walked, polled = read_radios(case)
    assert profile == spec["profile"]
    assert [radio.to_json() for radio in walked] == [{**NULLS, **expected} for expected in spec["expect_radios"]]
    assert polled == walked


def _huawei_ap_variant(sys_descr: bytes | None, radio_table: bool) -> str:
    """The profile discovery gives synthetic_huawei_ap's recording with another sysDescr, or with no radio table."""
    from hotspotctl.collectors.oids import parse_oid
    from hotspotctl.simulate.snmprec import Record, Recording

    radio_table_oid = parse_oid("1.3.6.1.4.1.2011.6.139.16.1.2.1")
    descr_oid = parse_oid("1.3.6.1.2.1.1.1.0")
    records = []
    for record in Recording.from_file(DEVICES / "synthetic_huawei_ap" / "synthetic_huawei_ap.snmprec"):
        if not radio_table and record.oid[:len(radio_table_oid)] == radio_table_oid:
            continue
        records.append(Record(descr_oid, 4, sys_descr) if record.oid == descr_oid and sys_descr else record)
    return asyncio.run(discover(RecordedDevice(Recording(records)), load_profiles())).profile


def test_huawei_fat_ap_detection_leaves_acs_and_switches_alone() -> None:
    assert _huawei_ap_variant(None, radio_table=True) == "huawei_ap"
    # An AC's sysDescr (the AC6605 recording's) names no AP model: not a fat AP, even with the radio table
    # (and with no hwWlanCurJointApNum.0, not huawei_ac either).
    ac = (DEVICES / "vrp_ac6605-26" / "vrp_ac6605-26.snmprec").read_bytes().split(b"\n")
    (ac_descr,) = [line.split(b"|", 2)[2] for line in ac if line.startswith(b"1.3.6.1.2.1.1.1.0|")]
    assert b"AC6605" in ac_descr
    assert _huawei_ap_variant(ac_descr, radio_table=True) == "generic"
    assert _huawei_ap_variant(b"Huawei S5735-L48T4S-A1 Huawei Versatile Routing Platform Software", True) == "generic"
    assert _huawei_ap_variant(b"Huawei AirEngine9700-M Huawei Versatile Routing Platform Software", True) == "generic"
    assert _huawei_ap_variant(b"Huawei AirEngine 5760-10 Huawei Versatile Routing Platform Software", True) == "huawei_ap"
    # An AP model with no radio table answered: nothing to read as a fat AP.
    assert _huawei_ap_variant(None, radio_table=False) == "generic"


def test_unifi_radio_state_is_any_of_its_vaps_up() -> None:
    """ubiquiti_unifi reads a radio's state from unifiVapUp (TruthValue, per VAP) joined on the radio's name,
    up when any of its VAPs is. LibreNMS's UniFi recordings keep no unifiVapUp column (so their expect_radios
    say no state); here unifi_nanohd is served with the column added: VAP 1 (ng) up, VAP 2 (ng) down, VAPs 3
    and 4 (na) down. The poll GETs the four instances discovery fixed and reads the same."""
    up = parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.22")
    recorded = Recording.from_file(DEVICES / "unifi_nanohd" / "unifi_nanohd.snmprec")
    assert not recorded.walk(up)  # the recording itself does not say
    device = RecordedDevice(Recording([*recorded, *(Record((*up, vap), 2, state)
                                                    for vap, state in ((1, 1), (2, 2), (3, 2), (4, 2)))]))

    async def run() -> tuple[tuple[Radio, ...], tuple[Radio, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
        profiles = load_profiles()
        found = await discover(device, profiles)
        profile = profiles.get(found.profile)
        assert profile.radios is not None and profile.radios.oper_up is not None
        assert profile.radios.oper_up.aggregate == "any"
        walked = await read_device_radios(device, profile, {})
        plan = plan_poll(found)
        sample, gone = build_sample("unifi", plan, device.values(plan.oids), 1.0, 2.0, radio_table=profile.radios)
        assert not gone
        return walked, sample.radios, found.radio_cells

    walked, polled, cells = asyncio.run(run())
    assert [(r.name, r.oper_up) for r in walked] == [("ng", True), ("na", False)]
    assert polled == walked
    assert ("1.3.6.1.4.1.41112.1.6.1.2.1.22", ("1", "2", "3", "4")) in cells
    # every VAP of ng down too: ng is down; a state the map does not know (3) is not said
    for states, expected in (((2, 2, 2, 2), [False, False]), ((3, 3, 1, 3), [None, True])):
        device = RecordedDevice(Recording([*recorded, *(Record((*up, vap), 2, state)
                                                        for vap, state in zip((1, 2, 3, 4), states, strict=True))]))
        radios = asyncio.run(read_device_radios(device, load_profiles().get("ubiquiti_unifi"), {}))
        assert [r.oper_up for r in radios] == expected
