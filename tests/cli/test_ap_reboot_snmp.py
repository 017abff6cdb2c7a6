"""`hotspotctl ap reboot` through a profile's SNMP SET, against net-snmp's snmpd with a write community.

snmpd has no reboot object, so the test profile's "reboot" SETs sysContact.0 (writable in snmpd when
the configuration does not fix it): net-snmp's own snmpget then shows the value arrived. The shipped
profiles' real reboot objects (MikroTik's mtxrSystemReboot) take the same path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotspotctl.store import Store
from hotspotctl.store.audit import list_actions
from tests.conftest import write
from tests.servers import SnmpdServer

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
WRITE_COMMUNITY = "hotspot-write-789"
PROFILE = """name: netsnmp_lab
vendor: net-snmp
description: net-snmp's snmpd, with sysContact.0 standing in for a reboot object
detect:
  sys_object_id: [1.3.6.1.4.1.8072.3.2.10]
  sys_descr: 'hotspotctl-lab'
reboot:
  oid: 1.3.6.1.2.1.1.4.0
  value: rebooted-by-hotspotctl
"""


@pytest.fixture
def writable_snmpd():
    server = SnmpdServer()
    server.extra_conf = f"rwcommunity {WRITE_COMMUNITY} 127.0.0.1\n"
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def snmp_lab(cli, writable_snmpd: SnmpdServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    profiles = tmp_path / "profiles"
    write(profiles / "netsnmp_lab.yaml", PROFILE)
    write(cli.workdir / "hotspotctl.toml",
          f'[snmp]\nprofiles_dir = "{profiles}"\n\n'
          f'[snmp.auth.lab]\nversion = "2c"\ncommunity_env = "LAB_COMMUNITY"\nwrite_community_env = "LAB_WRITE"\n\n'
          f'[snmp.auth.readonly]\nversion = "2c"\ncommunity_env = "LAB_COMMUNITY"\nwrite_community_env = "LAB_COMMUNITY"\n\n'
          f'[snmp.auth.nowrite]\nversion = "2c"\ncommunity_env = "LAB_COMMUNITY"\n')
    monkeypatch.setenv("LAB_COMMUNITY", SnmpdServer.COMMUNITY)
    monkeypatch.setenv("LAB_WRITE", WRITE_COMMUNITY)
    rows = ["id,lat,lon,alcaldia,site,mgmt_address,profile,snmp_auth",
            f"LAB-RW,19.43,-99.13,Cuauhtemoc,LAB,{writable_snmpd.address},netsnmp_lab,lab",
            f"LAB-RO,19.43,-99.13,Cuauhtemoc,LAB,{writable_snmpd.address},netsnmp_lab,readonly",
            f"LAB-NOWRITE,19.43,-99.13,Cuauhtemoc,LAB,{writable_snmpd.address},netsnmp_lab,nowrite",
            f"LAB-GENERIC,19.43,-99.13,Cuauhtemoc,LAB,{writable_snmpd.address},generic,lab"]
    assert cli("inventory", "import", write(tmp_path / "aps.csv", "\n".join(rows) + "\n")).code == 0
    return cli


def _audit(cli) -> list:
    with Store.open(f"sqlite:///{cli.workdir / 'var' / 'hotspotctl.db'}") as store, store.read() as conn:
        return list_actions(conn)


def test_a_reboot_set_reaches_the_agent_and_is_audited(snmp_lab, writable_snmpd: SnmpdServer) -> None:
    before = writable_snmpd.snmpget(SYS_CONTACT)[SYS_CONTACT]
    assert before != "rebooted-by-hotspotctl"
    dry = snmp_lab("ap", "reboot", "--site", "LAB", "--dry-run", "--format", "json")
    assert dry.code == 0
    plan = {row["ap"]: (row["device_type"], row["skipped"]) for row in json.loads(dry.out)}
    assert plan["LAB-RW"] == ("snmp", None) and plan["LAB-RO"] == ("snmp", None)
    assert plan["LAB-GENERIC"][1] == "profile generic has neither an ssh reboot command nor an SNMP reboot"
    assert plan["LAB-NOWRITE"][1].startswith("snmp.auth.nowrite: an SNMP reboot is a SET, which needs "
                                             "write_community_env")
    assert writable_snmpd.snmpget(SYS_CONTACT)[SYS_CONTACT] == before  # the dry run sent nothing

    result = snmp_lab("ap", "reboot", "--ap", "LAB-RW", "--yes", "--format", "json")
    assert result.code == 0, result.err
    (row,) = json.loads(result.out)
    assert row["ok"] and row["output"] == (f"SET {SYS_CONTACT} = 'rebooted-by-hotspotctl': the agent answered "
                                           "'rebooted-by-hotspotctl'")
    assert writable_snmpd.snmpget(SYS_CONTACT)[SYS_CONTACT] == "rebooted-by-hotspotctl"
    (entry,) = _audit(snmp_lab)
    assert (entry.action, entry.command, entry.status, entry.targets) == (
        "reboot", f"SNMP SET {SYS_CONTACT} = 'rebooted-by-hotspotctl'", "ok", ("LAB-RW",))
    everything = result.out + result.err + json.dumps(entry.to_json())
    assert WRITE_COMMUNITY not in everything and SnmpdServer.COMMUNITY not in everything


def test_a_set_the_agent_refuses_is_a_failure_naming_the_auth_set(snmp_lab, writable_snmpd: SnmpdServer) -> None:
    result = snmp_lab("ap", "reboot", "--ap", "LAB-RO", "--yes", "--format", "json")
    assert result.code == 4
    (row,) = json.loads(result.out)
    assert (row["ok"], row["error_kind"]) == (False, "agent")  # the agent's own error-status (issue 15: kind "agent")
    assert f"the agent refused the SET of {SYS_CONTACT}" in row["error"]
    assert "does auth set 'readonly' have write access?" in row["error"]
    (entry,) = _audit(snmp_lab)
    assert entry.status == "failed"
