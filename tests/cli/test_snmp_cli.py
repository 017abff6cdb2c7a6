"""The SNMP commands' surface: profiles list/show/check, poll and probe arguments, errors."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES, write


def test_profiles_list_shows_every_shipped_profile(cli):
    result = cli("profiles", "list", "--format", "json")
    assert result.code == 0
    names = [p["name"] for p in json.loads(result.out)]
    for required in ("generic", "ubiquiti_unifi", "ubiquiti_airos", "mikrotik_routeros", "aruba_instant",
                     "aruba_controller", "cisco_wlc", "aerohive_hiveos", "cambium_epmp", "zyxel_nwa", "zyxel_nxc",
                     "lancom_lcos", "lancom_lcoslx", "openwrt", "meraki_mr", "ale_stellar", "altalabs"):
        assert required in names


def test_profiles_show_fills_defaults(cli):
    result = cli("profiles", "show", "mikrotik_routeros", "--format", "json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["clients"] == [{"sum": "1.3.6.1.4.1.14988.1.1.1.3.1.6"}]
    assert data["counters"] == ["hc", "32"]
    missing = cli("profiles", "show", "mikrotik_routerso")
    assert missing.code == 3
    assert "did you mean 'mikrotik_routeros'?" in missing.err


def test_profiles_check_names_file_and_key(cli, tmp_path):
    assert cli("profiles", "check").code == 0
    assert cli("profiles", "check", FIXTURES / "profiles").code == 0
    folder = tmp_path / "mine"
    write(folder / "acme_ap.yaml", "name: acme_ap\ndetect:\n  sys_object_id: [1.3.6.1.4.1.99999]\n"
                                   "clients:\n  - sum: 1.3.x.1\n")
    result = cli("profiles", "check", folder)
    assert result.code == 3
    assert result.err.startswith("error: acme_ap.yaml: clients[0].sum: not a numeric OID")


def test_a_user_profile_replaces_the_shipped_one_of_the_same_name(cli, tmp_path):
    folder = tmp_path / "mine"
    write(folder / "openwrt.yaml", "name: openwrt\nvendor: ours\ndetect:\n  sys_descr: OpenWrt\n")
    write(cli.workdir / "hotspotctl.toml", f'[snmp]\nprofiles_dir = "{folder}"\n')
    rows = {p["name"]: p for p in json.loads(cli("profiles", "list", "--format", "json").out)}
    assert rows["openwrt"]["vendor"] == "ours"
    table = cli("profiles", "list", "--format", "csv").out
    assert "(replaces shipped)" in table


def test_poll_needs_once_and_probe_needs_credentials(cli):
    result = cli("poll")
    assert result.code == 2 and "--once" in result.err
    result = cli("ap", "probe", "127.0.0.1")
    assert result.code == 2 and "--community" in result.err
    result = cli("ap", "probe", "127.0.0.1:99999", "--community", "x")
    assert result.code == 3 and "port must be 1-65535" in result.err
    result = cli("ap", "probe", "127.0.0.1", "--auth", "nope")
    assert result.code == 3 and "snmp.auth.nope: no such credential set (defined: default, sim-v3)" in result.err


def test_poll_explains_bad_selections_and_missing_addresses(cli):
    write(cli.workdir / "aps.csv", "id,lat,lon,district\nA-1,19.43,-99.13,Cuauhtemoc\n")
    assert cli("inventory", "import", "aps.csv").code == 0
    result = cli("poll", "--once", "--district", "Tlalpan")
    assert result.code == 3 and "no such district in the inventory; known: Cuauhtemoc" in result.err
    result = cli("poll", "--once", "--format", "json")
    assert result.code == 4
    (row,) = json.loads(result.out)
    assert row["error_kind"] == "no_address" and "mgmt_address" in result.err
