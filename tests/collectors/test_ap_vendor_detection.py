"""The AP profiles of vendors that also make switches (TP-Link, D-Link) claim only their APs.

TP-Link's EAPs and its JetStream switches share the enterprise arc 1.3.6.1.4.1.11863, D-Link's DAP
access points and its DGS/DES switches share 1.3.6.1.4.1.171: a switch must fall to generic (or to
another switch profile), never to an AP profile. The AP side is covered by the synthetic cases in
tests/fixtures/devices (synthetic_tplink_eap, synthetic_dlink_dap, synthetic_engenius_ap), which test_discovery.py runs whole.
"""

from __future__ import annotations

import pytest

from hotspotctl.collectors.oids import parse_oid
from hotspotctl.collectors.profiles import load_profiles

AP_PROFILES = {"tplink_eap", "dlink_dap", "engenius_ap"}

SWITCHES = [
    # TPLINK-PRODUCTS-MIB tplink-t2600g-28ts
    ("1.3.6.1.4.1.11863.5.33", "JetStream 24-Port Gigabit L2 Managed Switch with 4 SFP Slots"),
    # TPLINK-PRODUCTS-MIB tplink-tlsg3424
    ("1.3.6.1.4.1.11863.5.3", "TL-SG3424"),
    # a D-Link managed switch, under 171.10 but outside the DAP family arc 171.10.37
    ("1.3.6.1.4.1.171.10.76.28.1", "DGS-1210-28 Gigabit Ethernet Switch"),
    ("1.3.6.1.4.1.171.10.63.6", "D-Link DES-3028 Fast Ethernet Switch"),
    # a sysDescr with "AP" in it does not make a switch an AP: the DAP arc is required too
    ("1.3.6.1.4.1.171.10.113.1.5", "D-Link DGS-3120 Gigabit Switch with AP management"),
]


@pytest.mark.parametrize(("sys_object_id", "sys_descr"), SWITCHES)
def test_a_switch_is_not_claimed_by_an_ap_profile(sys_object_id: str, sys_descr: str) -> None:
    names = {p.name for p in load_profiles().candidates(parse_oid(sys_object_id), sys_descr)}
    assert not names & AP_PROFILES


@pytest.mark.parametrize(("sys_object_id", "sys_descr", "profile"), [
    ("1.3.6.1.4.1.11863.3.2.10", "EAP245(EU) 3.0", "tplink_eap"),
    ("1.3.6.1.4.1.171.10.37.56", "D-Link DAP-2230", "dlink_dap"),     # LibreNMS's dlinkap recording
    ("1.3.6.1.4.1.171.10.37.37", "D-Link Access Point", "dlink_dap"),
    ("1.3.6.1.4.1.14125.100.1.3", "Wireless Access Point", "engenius_ap"),
    ("1.3.6.1.4.1.14125.101.1.3", "Wireless Access Point", "engenius_ap"),
])
def test_the_ap_is_the_first_candidate(sys_object_id: str, sys_descr: str, profile: str) -> None:
    assert load_profiles().candidates(parse_oid(sys_object_id), sys_descr)[0].name == profile
