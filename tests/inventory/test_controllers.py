"""Controllers in the inventory: the role, controller, ap_name and ap_mac columns, what the import refuses,
the store's migration from a store written before them, and that a controller is in no site."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from hotspotctl.collectors.model import PollError, PollErrorKind
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.inventory.reconcile import compare
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.models.radios import ControllerReading, ManagedAp
from hotspotctl.reports.inventory import EXPORT_COLUMNS, write_inventory_csv, write_inventory_geojson
from hotspotctl.settings import InventorySettings
from hotspotctl.store import Store, migrations
from hotspotctl.store.schema import access_points
from tests.conftest import write

CITY = """id,role,lat,lon,alcaldia,mgmt_address,controller,ap_name,ap_mac
WLC-1,controller,,,,10.0.0.1,,,
AP-1,,19.40000,-99.10000,Iztapalapa,,WLC-1,,
AP-2,ap,19.40000,-99.10000,Iztapalapa,,WLC-1,pole-2,
AP-3,,19.41000,-99.11000,Coyoacan,,WLC-1,,000B.8601.0203
AP-4,,19.42000,-99.12000,Coyoacan,10.0.0.4,,,
"""


def fleet(store: Store) -> Fleet:
    return Fleet.load(store, CrewZones({}, {}))


def test_a_controller_row_needs_no_coordinates_and_is_in_no_site(store: Store, rules: InventorySettings,
                                                                  tmp_path: Path):
    report = import_inventory(store, write(tmp_path / "city.csv", CITY), rules)
    assert (report.added, report.rejected, report.exit_code) == (["WLC-1", "AP-1", "AP-2", "AP-3", "AP-4"], [], 0)
    assert report.sites == 3  # AP-1 and AP-2 share a point; the controller is in none
    loaded = fleet(store)
    wlc, ap1, ap2, ap3, ap4 = (loaded.aps[i] for i in ("WLC-1", "AP-1", "AP-2", "AP-3", "AP-4"))
    assert (wlc.role, wlc.lat, wlc.lon, wlc.site_id, wlc.is_controller, wlc.managed) == (
        "controller", None, None, "", True, False)
    assert (ap1.role, ap1.controller, ap1.name_on_controller, ap1.ap_mac, ap1.managed) == (
        "ap", "WLC-1", "AP-1", None, True)
    assert (ap2.name_on_controller, ap3.ap_mac, ap4.controller, ap4.managed) == ("pole-2", "00:0b:86:01:02:03",
                                                                                 None, False)
    assert sorted(site.name for site in loaded.sites.values()) == ["AP-1 +1", "AP-3", "AP-4"]
    assert not any(site_id == "" for site_id in loaded.sites)
    stats = loaded.stats()
    assert (stats["aps"], stats["controllers"], stats["managed_aps"], stats["sites"]) == (4, 1, 3, 3)
    assert [ap.id for ap in loaded.hotspots] == ["AP-1", "AP-2", "AP-3", "AP-4"]
    with store.read() as conn:  # in the store: no site (NULL, no foreign key to follow) and no coordinates
        row = conn.execute(sa.select(access_points.c.site_id, access_points.c.lat, access_points.c.role)
                           .where(access_points.c.id == "WLC-1")).one()
    assert tuple(row) == (None, None, "controller")
    # the same file again changes nothing
    again = import_inventory(store, write(tmp_path / "city.csv", CITY), rules)
    assert (again.added, again.updated, again.unchanged) == ([], {}, 5)


def test_the_import_refuses_what_it_cannot_read_through_a_controller(store: Store, rules: InventorySettings,
                                                                      tmp_path: Path):
    bad = write(tmp_path / "bad.csv", """id,role,lat,lon,controller,ap_name,ap_mac,collector
WLC-1,controller,,,,,,
WLC-2,controller,,,WLC-1,,,
WLC-3,controller,,,,,,ssh
AP-1,,19.4,-99.1,WLC-9,,,
AP-2,,19.4,-99.1,AP-5,,,
AP-3,,19.4,-99.1,WLC-1,,00:0b:86:zz:02:03,
AP-4,router,19.4,-99.1,,,,
AP-5,,19.4,-99.1,,,,
AP-6,,19.4,-99.1,WLC-1,pole,,
AP-7,,19.4,-99.1,WLC-1,pole,,
AP-8,,,,WLC-1,,,
""")
    report = import_inventory(store, bad, rules)
    by_row = {issue.row: issue for issue in report.rejected}
    assert sorted(by_row) == [3, 4, 5, 6, 7, 8, 11, 12]
    assert (by_row[3].column, by_row[3].reason) == (
        "controller", "a controller row names a controller; only an AP is managed by one: empty this cell, or "
                      "set role to ap")
    assert (by_row[4].column, by_row[4].value) == ("collector", "ssh")
    assert (by_row[5].column, by_row[5].value, by_row[5].reason) == (
        "controller", "WLC-9", "no controller row with id 'WLC-9' in this file or the inventory: add a row with "
                               "that id and role controller, or correct the id")
    assert by_row[6].reason == ("'AP-5' is an AP (role ap), not a controller: set its role to controller, or name "
                                "the AP's controller")
    assert (by_row[7].column, by_row[7].value) == ("ap_mac", "00:0b:86:zz:02:03")
    assert by_row[7].reason.startswith("not a MAC address")
    assert (by_row[8].column, by_row[8].reason) == ("role", "not a role: expected ap or controller (empty means ap)")
    assert by_row[11].reason == ("AP-6 is also known to controller 'WLC-1' by name 'pole': give each AP its own "
                                 "ap_name or ap_mac")
    assert by_row[12].reason == "empty coordinates; every AP needs a latitude and longitude"
    assert report.exit_code == 4
    assert sorted(fleet(store).aps) == ["AP-5", "AP-6", "WLC-1"]


def test_the_cli_names_the_file_and_row_of_an_unknown_controller(cli, tmp_path: Path):
    bad = write(tmp_path / "bad.csv", "id,lat,lon,controller\nAP-1,19.4,-99.1,WLC-9\n")
    result = cli("inventory", "import", str(bad), "--strict", "--format", "json")
    assert result.code == 3
    assert json.loads(result.out)["rejected"] == [
        {"row": 2, "column": "controller", "value": "WLC-9",
         "reason": "no controller row with id 'WLC-9' in this file or the inventory: add a row with that id and "
                   "role controller, or correct the id"}]


def test_exports_carry_the_columns_and_reimport_to_the_same_inventory(store: Store, rules: InventorySettings,
                                                                      tmp_path: Path):
    import_inventory(store, write(tmp_path / "city.csv", CITY), rules)
    loaded = fleet(store)
    out = io.StringIO()
    write_inventory_csv(out, loaded, list(loaded.aps.values()))
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert {"role", "controller", "ap_name", "ap_mac"} <= set(EXPORT_COLUMNS)
    assert (rows["WLC-1"]["role"], rows["WLC-1"]["lat"], rows["WLC-1"]["site_id"], rows["WLC-1"]["site_name"]) == (
        "controller", "", "", "")
    assert (rows["AP-3"]["controller"], rows["AP-3"]["ap_mac"], rows["AP-2"]["ap_name"]) == (
        "WLC-1", "00:0b:86:01:02:03", "pole-2")
    again = import_inventory(store, write(tmp_path / "export.csv", out.getvalue()), rules)
    assert (again.added, again.updated, again.unchanged, again.rejected) == ([], {}, 5, [])
    geo = io.StringIO()
    write_inventory_geojson(geo, loaded, list(loaded.aps.values()))
    features = {f["id"]: f for f in json.loads(geo.getvalue())["features"]}
    assert features["WLC-1"]["geometry"] is None and features["WLC-1"]["properties"]["role"] == "controller"
    assert features["AP-3"]["geometry"] == {"type": "Point", "coordinates": [-99.11, 19.41]}
    # the GeoJSON re-imports too: a feature with no geometry is a controller with no coordinates
    from_geojson = import_inventory(store, write(tmp_path / "export.geojson", geo.getvalue()), rules)
    assert (from_geojson.added, from_geojson.updated, from_geojson.unchanged, from_geojson.rejected) == (
        [], {}, 5, [])


def test_inventory_list_and_show_a_controller(cli, tmp_path: Path):
    city = write(tmp_path / "city.csv", CITY)
    assert cli("inventory", "import", str(city)).code == 0
    listed = cli("inventory", "list", "--format", "json")
    rows = {row["id"]: row for row in json.loads(listed.out)}
    assert (rows["WLC-1"]["role"], rows["AP-1"]["controller"], rows["AP-3"]["ap_mac"]) == (
        "controller", "WLC-1", "00:0b:86:01:02:03")
    table = cli("inventory", "list")
    assert table.code == 0 and "controller" in table.out and "WLC-1" in table.out
    shown = json.loads(cli("inventory", "show", "WLC-1", "--format", "json").out)
    assert (shown["site_detail"], shown["map"], shown["managed_aps"]) == (None, None, 3)


def test_a_store_from_before_controllers_upgrades_and_keeps_its_aps(store_url: str, rules: InventorySettings,
                                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A store at schema 8: its APs load as role ap after migration 9, with their site, and a controller
    row with no coordinates can then be imported (the NOT NULL on lat, lon and site_id is gone)."""
    with monkeypatch.context() as old:
        old.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:8])
        old.setattr(migrations, "LATEST", 8)
        with Store.open(store_url) as store, store.write() as conn:  # the rows as hotspotctl before 9 wrote them
            conn.execute(sa.text("INSERT INTO sites (id, name, lat, lon, explicit) "
                                 "VALUES ('9g3w81t7ck9', 'OLD-1', 19.43, -99.13, :false)"), {"false": False})
            conn.execute(sa.text("INSERT INTO access_points (id, lat, lon, site_id, updated_at) "
                                 "VALUES ('OLD-1', 19.43, -99.13, '9g3w81t7ck9', :at)"), {"at": "2026-11-22 00:00:00"})
            conn.execute(sa.text("INSERT INTO ap_state (ap_id, uptime_wraps, failures, last_attempt_at, "
                                 "next_attempt_at, needs_discovery) VALUES ('OLD-1', 0, 2, 1.0, 2.0, :false)"),
                         {"false": False})
    with Store.open(store_url) as store:
        with store.read() as conn:
            assert migrations.current_version(conn) == migrations.LATEST  # and on through 10 (ap_health: radios, busy) and after
            assert conn.execute(sa.text("SELECT failures FROM ap_state WHERE ap_id = 'OLD-1'")).scalar_one() == 2
        old_ap = fleet(store).aps["OLD-1"]
        assert (old_ap.role, old_ap.controller, old_ap.site_id, old_ap.lat) == ("ap", None, "9g3w81t7ck9", 19.43)
        report = import_inventory(store, write(tmp_path / "wlc.csv", "id,role,lat,lon\nWLC-1,controller,,\n"),
                                  rules, merge=True)
        assert (report.added, report.rejected) == (["WLC-1"], [])
        assert fleet(store).aps["WLC-1"].lat is None
        with store.read() as conn:  # the AP's state survived the table's change
            assert conn.execute(sa.text("SELECT failures FROM ap_state WHERE ap_id = 'OLD-1'")).scalar_one() == 2


def test_reconcile_names_the_controller_an_ap_moved_to():
    """An AP the file puts under WLC-1 that WLC-2 reports: listed once, as moved (not also as unknown)."""
    wlc1 = AccessPoint("WLC-1", None, None, role="controller")
    wlc2 = AccessPoint("WLC-2", None, None, role="controller")
    wlc3 = AccessPoint("WLC-3", None, None, role="controller")
    managed = [AccessPoint("AP-1", 19.4, -99.1, controller="WLC-1"),
               AccessPoint("AP-2", 19.4, -99.1, controller="WLC-1", ap_mac="00:0b:86:00:00:02"),
               AccessPoint("AP-3", 19.4, -99.1, controller="WLC-3")]
    readings = {
        "WLC-1": ControllerReading(1.0, 1.0, 5.0, (ManagedAp("1", name="AP-1", joined=True),)),
        "WLC-2": ControllerReading(1.0, 1.0, 5.0, (ManagedAp("9", name="ap-two", mac="00:0b:86:00:00:02", joined=True),
                                                   ManagedAp("8", name="new-one", mac=None, joined=False))),
        "WLC-3": PollError("WLC-3", 1.0, PollErrorKind.TIMEOUT, "no answer from 10.0.0.3:161"),
    }
    report = compare({"WLC-1": wlc1, "WLC-2": wlc2, "WLC-3": wlc3}, managed, readings,
                     {"WLC-1": "cisco_wlc", "WLC-2": "cisco_wlc"})
    assert [m.to_json() for m in report.not_on_controller] == [
        {"ap": "AP-2", "controller": "WLC-1", "ap_name": "AP-2", "ap_mac": "00:0b:86:00:00:02",
         "reported_by": "WLC-2", "mac_on_controller": None, "renamed_to": None}]
    assert [u.to_json() for u in report.not_in_inventory] == [
        {"controller": "WLC-2", "name": "new-one", "mac": None, "joined": False}]
    assert [(c.id, c.aps_reported, c.aps_in_inventory, c.error) for c in report.controllers] == [
        ("WLC-1", 1, 2, None), ("WLC-2", 2, 0, None), ("WLC-3", None, 1, "no answer from 10.0.0.3:161")]
    assert report.exit_code == 4
    assert report.rows()[-1] == ("unreadable", "WLC-3", None, None, None, None, "no answer from 10.0.0.3:161")
    clean = compare({"WLC-1": wlc1}, managed[:1], {"WLC-1": readings["WLC-1"]}, {})
    assert (clean.not_in_inventory, clean.not_on_controller, clean.exit_code) == ([], [], 0)


def test_pruning_a_controller_its_aps_still_name_is_refused_for_those_aps(store: Store, rules: InventorySettings,
                                                                          tmp_path: Path):
    import_inventory(store, write(tmp_path / "city.csv", CITY), rules)
    without = write(tmp_path / "without.csv", "id,lat,lon,controller\nAP-1,19.40000,-99.10000,WLC-1\n"
                                              "AP-4,19.42000,-99.12000,\n")
    report = import_inventory(store, without, rules, prune=True)
    assert [(i.row, i.column, i.value) for i in report.rejected] == [(2, "controller", "WLC-1")]
    assert report.rejected[0].reason.startswith("no controller row with id 'WLC-1' in this file or the inventory")
    # the rejected row's id counts as present: AP-1 stays (as it was), and so does the controller it names
    assert sorted(fleet(store).aps) == ["AP-1", "AP-4", "WLC-1"]
    assert fleet(store).aps["AP-1"].controller == "WLC-1"
    assert report.removed == ["AP-2", "AP-3"]
    assert report.notes[-1] == "not removed: controller(s) WLC-1, which APs that stay still name"


def test_reconcile_pairs_a_rename_on_the_controller_by_the_mac_the_ap_had():
    """AP-1 and AP-2 are known by name; the controller lists neither name now, but lists AP-1's last MAC under
    'pole-1-new' (renamed on the controller) and an AP of its own. AP-1 is one entry, renamed_to 'pole-1-new';
    AP-2 (no MAC known, or not one the controller lists) and the other AP stay as they were. An AP known by
    ap_mac is never paired so: it is found by its MAC whatever its name."""
    wlc = AccessPoint("WLC-1", None, None, role="controller")
    managed = [AccessPoint("AP-1", 19.4, -99.1, controller="WLC-1"),
               AccessPoint("AP-2", 19.4, -99.1, controller="WLC-1", ap_name="pole-2"),
               AccessPoint("AP-3", 19.4, -99.1, controller="WLC-1", ap_name="pole-3")]
    reading = ControllerReading(1.0, 1.0, 5.0, (
        ManagedAp("1", name="pole-1-new", mac="00:0b:86:00:00:01", joined=True),
        ManagedAp("7", name="someone-else", mac="00:0b:86:00:00:07", joined=False),
        ManagedAp("3", name="pole-3", mac="00:0b:86:00:00:03", joined=True)))
    last = {"AP-1": "00:0b:86:00:00:01", "AP-2": "00:0b:86:00:00:02", "AP-3": "00:0b:86:00:00:03"}
    report = compare({"WLC-1": wlc}, managed, {"WLC-1": reading}, {"WLC-1": "cisco_wlc"}, last)
    assert [(m.ap, m.mac_on_controller, m.renamed_to, m.joined) for m in report.not_on_controller] == [
        ("AP-1", "00:0b:86:00:00:01", "pole-1-new", True), ("AP-2", "00:0b:86:00:00:02", None, None)]
    assert [u.name for u in report.not_in_inventory] == ["someone-else"]
    assert [row[0] for row in report.rows()] == ["not_in_inventory", "renamed", "not_on_controller"]
    assert report.exit_code == 4
    # without the last MACs (an AP never read through it) there is nothing to pair by: a gone AP and a stray
    blind = compare({"WLC-1": wlc}, managed, {"WLC-1": reading}, {"WLC-1": "cisco_wlc"})
    assert [(m.ap, m.renamed_to) for m in blind.not_on_controller] == [("AP-1", None), ("AP-2", None)]
    assert [u.name for u in blind.not_in_inventory] == ["pole-1-new", "someone-else"]
    # known by ap_mac: found by it, renamed or not
    by_mac = [AccessPoint("AP-1", 19.4, -99.1, controller="WLC-1", ap_mac="00:0b:86:00:00:01")]
    assert compare({"WLC-1": wlc}, by_mac, {"WLC-1": reading}, {}, last).not_on_controller == []
