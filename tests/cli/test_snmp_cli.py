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


def _cells(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("│").split("│")] for line in text.splitlines() if line.startswith("│")]


def test_probe_a_controller_in_a_table_shows_its_aps_joined_clients_and_each_radio(cli, snmpsim):
    """synthetic_huawei_ac over UDP: ap_count, how many APs it lists and how many joined, and per AP its
    radios' bands and channels with the one down said (a count alone hid it)."""
    result = cli("ap", "probe", snmpsim.address, "--community", "synthetic_huawei_ac")
    assert result.code == 0, result.err
    cells = _cells(result.out)
    fields = {row[0]: row[1] for row in cells if len(row) == 2}
    assert (fields["profile"], fields["ap_count"], fields["aps"]) == (
        "huawei_ac (matched)", "2", "4 listed, 2 joined")
    assert [row for row in cells if len(row) == 7] == [
        ["reforma-01", "28:41:c6:04:00:01", "yes", "", "11", "", "2.4GHz ch 6, 5GHz ch 40"],
        ["reforma-02", "28:41:c6:04:00:02", "yes", "", "2", "", "2.4GHz ch 11, 5GHz ch 149 DOWN"],
        ["reforma-03", "28:41:c6:04:00:03", "no", "fault", "0", "", "none"],
        ["reforma-04", "28:41:c6:04:00:04", "no", "download", "0", "", "none"]]
    # a controller whose AP table did not answer says so next to its ap_count
    result = cli("ap", "probe", snmpsim.address, "--community", "arubaos")
    assert result.code == 0, result.err
    fields = {row[0]: row[1] for row in _cells(result.out) if len(row) == 2}
    assert (fields["ap_count"], fields["aps"], fields["unread"]) == (
        "1,386", "none listed (see unread)", "controller.aps.rows")
