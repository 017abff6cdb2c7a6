"""Mexico City's real inventory (the bundled copy of the city's open data), imported for real."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.settings import InventorySettings
from hotspotctl.store import Store
from hotspotctl.store.schema import access_points, inventory_imports, sites
from tests.conftest import CDMX_XLSX, REPO

AIRPORT_SITE_CSV = REPO / "inventory" / "examples" / "aicm_site.csv"
T1, T2 = "9g3w91x5xxe", "9g3w3rt9dtf"  # geohash-11 of the two terminals' points


def snapshot(store: Store) -> tuple[list, list]:
    with store.read() as conn:
        return (conn.execute(sa.select(access_points).order_by(access_points.c.id)).all(),
                conn.execute(sa.select(sites).order_by(sites.c.id)).all())


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    """The real file imported once into SQLite, for the read-only checks below."""
    path = tmp_path_factory.mktemp("real") / "hotspotctl.db"
    store = Store.open(f"sqlite:///{path}")
    report = import_inventory(store, CDMX_XLSX, InventorySettings(),
                              now=datetime(2026, 11, 22, 6, 0, tzinfo=UTC))
    fleet = Fleet.load(store, CrewZones({}, {}))
    yield store, report, fleet
    store.close()


def test_every_row_imports_and_the_defects_are_repaired_as_warnings(imported):
    _, report, fleet = imported
    assert (len(report.added), len(report.updated), report.unchanged) == (35_350, 0, 0)
    assert report.rejected == []
    assert len(fleet.aps) == 35_350
    by_reason = Counter((w.column, w.reason) for w in report.warnings)
    assert by_reason == {
        ("id", "surrounding whitespace removed"): 33,
        ("latitud", "trailing separator removed"): 6,
        ("longitud", "surrounding whitespace removed"): 1,
        ("alcaldia", "written 'IZTAPALAPA'; stored as 'Iztapalapa'"): 1,
        ("latitud,longitud", "6.3 km outside the city bounds (inventory.bounds); kept"): 2,
    }
    trailing = [w for w in report.warnings if w.reason == "trailing separator removed"]
    assert [w.row for w in trailing] == list(range(14977, 14983))
    assert {w.value for w in trailing} == {"19.56244779963221, "}
    assert fleet.aps["PILARES-EL VIVERO_AP_01"].lat == 19.56244779963221
    assert fleet.aps["PILARES-ISIDRO_FABELA_AP_01"].lon == -99.2088389  # was '\n-99.2088389'
    assert "MC03436" in fleet.aps  # was 'MC03436 '
    assert "20001" in fleet.aps  # a numeric cell in the sheet, not '20001.0'


def test_sixteen_districts_and_eleven_programmes(imported):
    _, _, fleet = imported
    stats = fleet.stats()
    assert len(stats["districts"]) == 16
    assert stats["districts"]["Iztapalapa"] == 4_989  # 4,988 + the row written 'IZTAPALAPA'
    assert "IZTAPALAPA" not in stats["districts"]
    assert stats["districts"]["Milpa Alta"] == 349
    assert len(stats["programs"]) == 11
    assert stats["programs"]["Poste C5"] == 13_714
    assert stats["programs"]["Aeropuerto"] == 269
    assert sum(stats["programs"].values()) == 35_350


def test_sites_group_aps_at_one_point(imported):
    _, report, fleet = imported
    sizes = fleet.site_sizes()
    assert report.sites == len(fleet.sites) == len(sizes) == 27_484
    assert sum(1 for n in sizes.values() if n == 1) == 22_560
    # The airport's 269 APs stand at two points 1.5 km apart: Terminal 1 and Terminal 2.
    airport = [ap for ap in fleet.aps.values() if ap.program == "Aeropuerto"]
    assert Counter(ap.site_id for ap in airport) == {T1: 147, T2: 122}
    assert sizes[T1] == 147 and sizes[T2] == 122  # nothing else shares their points
    assert fleet.sites[T1].name == "MEX-AIM-AER-AICMT1-M"
    assert fleet.sites[T2].name == "MEX-AIM-AER-AICMT2-M"
    assert (fleet.sites[T1].lat, fleet.sites[T1].lon) == (19.432707, -99.086743)
    # The largest point: 365 transport APs with numeric ids.
    largest = fleet.stats(1)["largest_sites"][0]
    assert (largest["aps"], largest["name"]) == (365, "20001 +364")


def test_an_explicit_site_column_makes_the_airport_one_site(store: Store, rules: InventorySettings):
    import_inventory(store, CDMX_XLSX, rules)
    report = import_inventory(store, AIRPORT_SITE_CSV, rules, merge=True)
    assert (len(report.added), len(report.updated), report.rejected) == (0, 269, [])
    assert report.sites == 27_484 - 1  # T1 and T2 became one site
    fleet = Fleet.load(store, CrewZones({}, {}))
    assert fleet.site_sizes()["AICM"] == 269
    assert T1 not in fleet.sites and T2 not in fleet.sites
    aicm = fleet.sites["AICM"]
    assert aicm.explicit and aicm.name == "AICM" and aicm.district == "Venustiano Carranza"
    assert 19.4213 < aicm.lat < 19.4328  # the centroid lies between the terminals
    # Re-importing the city's file with --merge keeps the operator's site; without it the
    # file's rows replace the APs and the airport is two sites again.
    again = import_inventory(store, CDMX_XLSX, rules, merge=True)
    assert (len(again.added), len(again.updated)) == (0, 0)
    replaced = import_inventory(store, CDMX_XLSX, rules)
    assert len(replaced.updated) == 269 and replaced.sites == 27_484


def test_reimporting_the_same_file_changes_nothing(store: Store, rules: InventorySettings):
    first = import_inventory(store, CDMX_XLSX, rules, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert len(first.added) == 35_350
    before = snapshot(store)
    second = import_inventory(store, CDMX_XLSX, rules, now=datetime(2026, 2, 1, tzinfo=UTC))
    assert (len(second.added), len(second.updated), second.unchanged, len(second.removed)) == (0, 0, 35_350, 0)
    assert snapshot(store) == before  # not one AP or site row rewritten (updated_at included)
    with store.read() as conn:
        log = conn.execute(sa.select(inventory_imports.c.added, inventory_imports.c.unchanged)
                           .order_by(inventory_imports.c.id)).all()
    assert log == [(35_350, 0), (0, 35_350)]


def test_a_truncated_workbook_is_refused_and_the_store_is_unchanged(cli, tmp_path: Path):
    assert cli("inventory", "import", CDMX_XLSX).code == 0
    database = cli.workdir / "var" / "hotspotctl.db"
    with Store.open(f"sqlite:///{database}") as store:
        before = snapshot(store)
    half = tmp_path / "half.xlsx"
    data = CDMX_XLSX.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    result = cli("inventory", "import", half)
    assert result.code == 3
    assert result.out == ""
    assert result.err.count("\n") == 1  # one line
    assert result.err.startswith(f"error: {half}: not a readable spreadsheet (corrupt or truncated?)")
    with Store.open(f"sqlite:///{database}") as store:
        assert snapshot(store) == before


def test_import_and_stats_as_json(cli):
    result = cli("inventory", "import", CDMX_XLSX, "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["added"], report["updated"], report["unchanged"], report["rejected"]) == (35_350, 0, 0, [])
    assert len(report["warnings"]) == 43
    assert report["warnings"][0] == {"row": 10444, "column": "id", "value": "MC03436 ",
                                     "reason": "surrounding whitespace removed"}
    again = json.loads(cli("inventory", "import", CDMX_XLSX, "-f", "json").out)
    assert (again["added"], again["updated"]) == (0, 0)

    stats = json.loads(cli("inventory", "stats", "--format", "json").out)
    assert stats["aps"] == 35_350 and stats["sites"] == 27_484
    assert len(stats["districts"]) == 16 and len(stats["programs"]) == 11
    assert [s["aps"] for s in stats["largest_sites"][:4]] == [365, 147, 131, 122]
    assert stats["largest_sites"][1] == {"site": T1, "name": "MEX-AIM-AER-AICMT1-M", "aps": 147,
                                         "lat": 19.432707, "lon": -99.086743}
    assert stats["last_import"]["source"] == "wifi_cdmx_2025.xlsx"
