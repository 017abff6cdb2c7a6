"""Replace, --merge, --prune, --strict, --dry-run: what is written, what is not, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotspotctl.errors import ConflictError
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.settings import InventorySettings
from hotspotctl.store import Store
from tests.conftest import REPO, write

BASE = """id,programa,latitud,longitud,alcaldia,colonia
AP-1,Escuelas,19.40000,-99.10000,Iztapalapa,Centro
AP-2,Escuelas,19.40000,-99.10000,Iztapalapa,Centro
AP-3,MiCalle,19.41000,-99.11000,Coyoacan,Del Carmen
"""


def fleet(store: Store) -> Fleet:
    return Fleet.load(store, CrewZones({}, {}))


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path / "base.csv", BASE)


def test_merge_adds_management_addresses_keyed_by_id(store: Store, rules: InventorySettings, base: Path,
                                                     tmp_path: Path):
    import_inventory(store, base, rules)
    ipam = write(tmp_path / "ipam.csv", "ID,mgmt_address,snmp_auth\nAP-1,10.0.0.1,city\nAP-3,[2001:db8::3]:1161,\n")
    report = import_inventory(store, ipam, rules, merge=True)
    assert (report.added, sorted(report.updated), report.unchanged) == ([], ["AP-1", "AP-3"], 0)
    assert report.updated["AP-1"] == {"mgmt_address": [None, "10.0.0.1"], "snmp_auth": [None, "city"]}
    aps = fleet(store).aps
    assert aps["AP-1"].mgmt_address == "10.0.0.1" and aps["AP-1"].snmp_auth == "city"
    assert aps["AP-3"].mgmt_address == "[2001:db8::3]:1161" and aps["AP-3"].snmp_auth is None
    assert aps["AP-1"].program == "Escuelas" and aps["AP-1"].neighborhood == "Centro"  # untouched
    assert aps["AP-2"].mgmt_address is None
    # The same file again: nothing to do.
    again = import_inventory(store, ipam, rules, merge=True)
    assert (again.added, again.updated, again.unchanged) == ([], {}, 2)


def test_merge_adds_a_new_ap_only_when_its_row_has_coordinates(store: Store, rules: InventorySettings,
                                                               base: Path, tmp_path: Path):
    import_inventory(store, base, rules)
    ipam = write(tmp_path / "ipam.csv", "id,mgmt_address\nAP-9,10.0.0.9\n")
    report = import_inventory(store, ipam, rules, merge=True)
    assert [i.to_json() for i in report.rejected] == [{
        "row": 2, "column": "id", "value": "AP-9",
        "reason": "not in the inventory, and the file has no coordinates to add it with"}]
    assert report.exit_code == 4 and "AP-9" not in fleet(store).aps
    with_coordinates = write(tmp_path / "new.csv", "id,lat,lon,mgmt_address\nAP-9,19.42,-99.12,10.0.0.9\n")
    assert import_inventory(store, with_coordinates, rules, merge=True).added == ["AP-9"]


def test_replace_clears_the_columns_the_file_lacks(store: Store, rules: InventorySettings, base: Path,
                                                  tmp_path: Path):
    import_inventory(store, base, rules)
    import_inventory(store, write(tmp_path / "m.csv", "id,mgmt_address\nAP-1,10.0.0.1\n"), rules, merge=True)
    report = import_inventory(store, base, rules)
    assert report.updated == {"AP-1": {"mgmt_address": ["10.0.0.1", None]}}


def test_prune_removes_absent_aps_but_never_one_whose_row_was_rejected(store: Store, rules: InventorySettings,
                                                                       base: Path, tmp_path: Path):
    import_inventory(store, base, rules)
    smaller = write(tmp_path / "smaller.csv",
                    "id,programa,latitud,longitud,alcaldia,colonia\n"
                    "AP-1,Escuelas,19.40000,-99.10000,Iztapalapa,Centro\n"
                    "AP-2,Escuelas,not-a-number,-99.10000,Iztapalapa,Centro\n")
    report = import_inventory(store, smaller, rules, prune=True)
    assert report.removed == ["AP-3"]
    assert [(i.row, i.value) for i in report.rejected] == [(3, "not-a-number")]
    assert sorted(fleet(store).aps) == ["AP-1", "AP-2"]  # AP-2 kept as it was
    assert len(fleet(store).sites) == 1  # AP-3's site went with it


def test_prune_refuses_when_the_store_changed_since_the_user_confirmed(store: Store, rules: InventorySettings,
                                                                       base: Path, tmp_path: Path):
    import_inventory(store, base, rules)
    only_one = write(tmp_path / "one.csv", "id,lat,lon\nAP-1,19.4,-99.1\n")
    plan = import_inventory(store, only_one, rules, prune=True, dry_run=True)
    assert plan.removed == ["AP-2", "AP-3"]
    import_inventory(store, write(tmp_path / "extra.csv", "id,lat,lon\nAP-4,19.4,-99.1\n"), rules, merge=True)
    with pytest.raises(ConflictError, match="changed since you confirmed removing 2 APs"):
        import_inventory(store, only_one, rules, prune=True, expect_removed=set(plan.removed))
    assert sorted(fleet(store).aps) == ["AP-1", "AP-2", "AP-3", "AP-4"]


def test_strict_writes_nothing_when_a_row_is_rejected(store: Store, rules: InventorySettings, tmp_path: Path):
    bad = write(tmp_path / "bad.csv", "id,lat,lon\nAP-1,19.4,-99.1\nAP-2,x,-99.1\n")
    report = import_inventory(store, bad, rules, strict=True)
    assert report.exit_code == 3 and not report.written
    assert fleet(store).aps == {}
    lenient = import_inventory(store, bad, rules)
    assert lenient.exit_code == 4 and lenient.written and list(fleet(store).aps) == ["AP-1"]


def test_dry_run_writes_nothing_and_lists_the_changes(cli, base: Path):
    result = cli("inventory", "import", base, "--dry-run", "--format", "json")
    assert result.code == 0
    report = json.loads(result.out)
    assert report["dry_run"] is True and report["written"] is False
    assert report["changes"] == {"added": ["AP-1", "AP-2", "AP-3"], "updated": {}, "removed": []}
    assert json.loads(cli("inventory", "stats", "-f", "json").out)["aps"] == 0


def test_exit_codes_and_what_the_table_says(cli, base: Path, tmp_path: Path):
    first = cli("inventory", "import", base)
    assert first.code == 0
    assert first.out.startswith(f"Imported {base} (csv, 3 rows): 3 added, 0 updated, 0 unchanged, 0 removed, "
                                "0 rejected, 0 warnings; 2 sites")
    partial = write(tmp_path / "partial.csv", "id,lat,lon\nAP-1,19.4,-99.1\nAP-7,19.4,\n")
    result = cli("inventory", "import", partial, "--merge")
    assert result.code == 4
    assert "Rejected rows (1): not imported" in result.out
    assert "empty; give both latitude and longitude" in result.out
    assert cli("inventory", "import", partial, "--merge", "--strict").code == 3
    assert cli("inventory", "import", tmp_path / "missing.csv").code == 3
    assert cli("inventory", "import", base, "--format", "csv").code == 2


def test_prune_asks_on_a_terminal_and_needs_yes_otherwise(cli, base: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    cli("inventory", "import", base)
    one = write(tmp_path / "one.csv", "id,lat,lon\nAP-1,19.4,-99.1\n")
    refused = cli("inventory", "import", one, "--prune")  # stdin is not a terminal under pytest
    assert refused.code == 2 and "would remove 2 APs" in refused.err and "--yes" in refused.err
    assert json.loads(cli("inventory", "stats", "-f", "json").out)["aps"] == 3

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("typer.confirm", lambda *a, **k: False)
    declined = cli("inventory", "import", one, "--prune")
    assert declined.code == 1 and "nothing written" in declined.err
    assert json.loads(cli("inventory", "stats", "-f", "json").out)["aps"] == 3

    monkeypatch.setattr("typer.confirm", lambda *a, **k: True)
    assert cli("inventory", "import", one, "--prune").code == 0
    assert json.loads(cli("inventory", "stats", "-f", "json").out)["aps"] == 1
    assert cli("inventory", "import", base, "--prune", "--yes").code == 0


def test_the_ipam_example_in_the_readme_merges_onto_the_city_inventory(cli):
    assert cli("inventory", "import", REPO / "inventory" / "wifi_cdmx_2025.xlsx").code == 0
    result = cli("inventory", "import", REPO / "inventory" / "examples" / "ipam_aicm_t1.csv", "--merge", "-f", "json")
    assert result.code == 0
    report = json.loads(result.out)
    assert (report["added"], report["updated"], report["rejected"]) == (0, 12, [])
    shown = json.loads(cli("inventory", "show", "MEX-AIM-AER-AICMT1-M-GW001", "-f", "json").out)
    assert (shown["mgmt_address"], shown["profile"], shown["snmp_auth"]) == ("10.20.1.11", "ubiquiti_unifi", "aicm")
    assert shown["program"] == "Aeropuerto" and shown["site_detail"]["aps"] == 147
