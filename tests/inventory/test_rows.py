"""The row parser on its own: every repair and every rejection, with row, column, value and reason."""

from __future__ import annotations

from typing import Any

import pytest

from hotspotctl.inventory.columns import map_columns
from hotspotctl.inventory.readers import NotAPoint, Table
from hotspotctl.inventory.rows import RowIssue, RowParser, distance_outside_km, join_address, split_address
from hotspotctl.settings import InventorySettings

HEADERS = ["ID", "Programa", "Latitud", "Longitud", "Alcaldía", "mgmt_address", "profile", "backhaul_mbps"]


def parse(*rows: list[Any], headers: list[str] = HEADERS, known_programs: list[str] = (),
          rules: InventorySettings | None = None):
    columns = map_columns(headers, "f.csv", merge=False)
    table = Table("csv", headers, iter((number, row) for number, row in enumerate(rows, start=2)))
    return RowParser(columns, rules or InventorySettings(), list(known_programs)).parse(table)


def row(ap_id: Any = "AP1", program: Any = "Escuelas", lat: Any = 19.43, lon: Any = -99.13,
        district: Any = "Cuauhtemoc", mgmt: Any = None, profile: Any = None, mbps: Any = None) -> list[Any]:
    return [ap_id, program, lat, lon, district, mgmt, profile, mbps]


def test_a_clean_row_gives_its_values():
    result = parse(row(mgmt="10.0.0.1:1161", profile="ubiquiti_unifi", mbps="1000"))
    assert result.rejected == [] and result.warnings == []
    assert result.rows[0].row == 2
    assert result.rows[0].values == {
        "id": "AP1", "program": "Escuelas", "lat": 19.43, "lon": -99.13, "district": "Cuauhtemoc",
        "mgmt_address": "10.0.0.1:1161", "profile": "ubiquiti_unifi", "backhaul_mbps": 1000.0}


@pytest.mark.parametrize(("cells", "column", "value", "reason", "stored"), [
    (row(ap_id=" MC03436 "), "ID", " MC03436 ", "surrounding whitespace removed", ("id", "MC03436")),
    (row(ap_id="\tSitio_AP_01"), "ID", "\tSitio_AP_01", "surrounding whitespace removed", ("id", "Sitio_AP_01")),
    (row(lat="19.56244779963221, "), "Latitud", "19.56244779963221, ", "trailing separator removed",
     ("lat", 19.56244779963221)),
    (row(lat="19.4;"), "Latitud", "19.4;", "trailing separator removed", ("lat", 19.4)),
    (row(lon="\n-99.2088389"), "Longitud", "\n-99.2088389", "surrounding whitespace removed", ("lon", -99.2088389)),
    (row(district="IZTAPALAPA"), "Alcaldía", "IZTAPALAPA", "written 'IZTAPALAPA'; stored as 'Iztapalapa'",
     ("district", "Iztapalapa")),
    (row(district="Cuauhtémoc"), "Alcaldía", "Cuauhtémoc", "written 'Cuauhtémoc'; stored as 'Cuauhtemoc'",
     ("district", "Cuauhtemoc")),
    (row(program="ESCUELAS"), "Programa", "ESCUELAS", "written 'ESCUELAS'; stored as 'Escuelas'",
     ("program", "Escuelas")),
    (row(district="Ecatepec"), "Alcaldía", "Ecatepec",
     "not one of the configured districts (inventory.districts); kept", ("district", "Ecatepec")),
    (row(lat=19.3997, lon=-98.8803), "Latitud,Longitud", "19.3997, -98.8803",
     "6.3 km outside the city bounds (inventory.bounds); kept", ("lon", -98.8803)),
])
def test_unambiguous_defects_are_repaired_with_a_warning(cells, column, value, reason, stored):
    result = parse(cells, known_programs=["Escuelas"])
    assert result.rejected == []
    assert result.warnings == [RowIssue(2, column, value, reason)]
    name, expected = stored
    assert result.rows[0].values[name] == expected


def test_numeric_cells_become_text_where_text_is_expected():
    result = parse(row(ap_id=20001.0, program=5.0))
    assert result.rows[0].values["id"] == "20001"
    assert result.rows[0].values["program"] == "5"


def test_programmes_keep_the_first_spelling_seen_in_the_file():
    result = parse(row(ap_id="A", program="Poste C5"), row(ap_id="B", program="POSTE c5"))
    assert [r.values["program"] for r in result.rows] == ["Poste C5", "Poste C5"]
    assert result.warnings[0].reason == "written 'POSTE c5'; stored as 'Poste C5'"


@pytest.mark.parametrize(("cells", "column", "value", "reason"), [
    (row(ap_id=None), "ID", "", "empty id; every AP needs one"),
    (row(ap_id="   "), "ID", "   ", "empty id; every AP needs one"),
    (row(lat="abc"), "Latitud", "abc", "not a number"),
    (row(lat="19,43"), "Latitud", "19,43", "decimal comma: write the number with a decimal point"),
    (row(lat="nan"), "Latitud", "nan", "not a finite number"),
    (row(lat=True), "Latitud", "True", "not a number"),
    (row(lat=None), "Latitud", "", "empty; give both latitude and longitude"),
    (row(lat=-99.13, lon=19.43), "Latitud", "-99.13", "latitude out of range -90..90; latitude and longitude look swapped"),
    (row(lat=95, lon=-99.1), "Latitud", "95", "latitude out of range -90..90"),
    (row(lon=-200), "Longitud", "-200", "longitude out of range -180..180"),
    (row(lat=19.43, lon=99.13), "Latitud,Longitud", "19.43, 99.13",
     "over 1,000 km outside the city bounds (inventory.bounds, margin 10 km); the longitude's sign looks wrong"),
    (row(lat=-19.43, lon=-99.13), "Latitud,Longitud", "-19.43, -99.13",
     "over 1,000 km outside the city bounds (inventory.bounds, margin 10 km); the latitude's sign looks wrong"),
    (row(lat=19.7, lon=-99.13), "Latitud,Longitud", "19.7, -99.13",
     "11 km outside the city bounds (inventory.bounds, margin 10 km)"),
    (row(mgmt="10.0.0.300"), "mgmt_address", "10.0.0.300", "not a host or host:port: not an IP address or host name"),
    (row(mgmt="10.0.0.1:70000"), "mgmt_address", "10.0.0.1:70000", "not a host or host:port: port '70000' is not 1-65535"),
    (row(mgmt="ap 1.example"), "mgmt_address", "ap 1.example", "not a host or host:port: not an IP address or host name"),
    (row(profile="ubiquiti unifi"), "profile", "ubiquiti unifi", "not a name: use letters, digits, '_', '.' and '-'"),
    (row(mbps="0"), "backhaul_mbps", "0", "must be more than 0 Mbps"),
    (row(mbps="fast"), "backhaul_mbps", "fast", "not a number"),
])
def test_rows_that_need_a_guess_are_rejected_with_the_reason(cells, column, value, reason):
    result = parse(cells, row(ap_id="OK1"))
    assert result.rejected == [RowIssue(2, column, value, reason)]
    assert [r.values["id"] for r in result.rows] == ["OK1"]


def test_swapped_coordinates_inside_the_range_are_caught_by_the_city_bounds():
    rules = InventorySettings(bounds=(19.04, -99.37, 19.60, -98.94))
    result = parse(row(lat=-99.13, lon=19.43), rules=rules)
    assert "look swapped" in result.rejected[0].reason
    # A city whose box lies inside +-90 in both axes: swapped still detected via the bounds.
    rules = InventorySettings(bounds=(40.3, -3.9, 40.6, -3.5))  # Madrid
    result = parse(row(lat=-3.7, lon=40.4, district=None), rules=rules)
    assert result.rejected[0].reason.endswith("latitude and longitude look swapped")


def test_a_duplicate_id_rejects_every_row_that_carries_it():
    result = parse(row(ap_id="A"), row(ap_id="B"), row(ap_id="A", lat=19.44), row(ap_id=" A"))
    assert [r.values["id"] for r in result.rows] == ["B"]
    assert [(i.row, i.column, i.value, i.reason) for i in result.rejected] == [
        (2, "ID", "A", "duplicate id: also at row 4, 5; keep one and import again"),
        (4, "ID", "A", "duplicate id: also at row 2, 5; keep one and import again"),
        (5, "ID", "A", "duplicate id: also at row 2, 4; keep one and import again"),
    ]
    assert result.seen_ids == {"A", "B"}


def test_the_ids_of_rejected_rows_still_count_as_seen():
    result = parse(row(ap_id="X", lat="bad"))
    assert result.rows == [] and result.seen_ids == {"X"}


def test_our_own_csv_formula_mark_is_removed_on_import():
    result = parse(row(ap_id="'=HYPERLINK(1)", program="'+Escuelas", district="'Cuauhtemoc"))
    values = result.rows[0].values
    assert values["id"] == "=HYPERLINK(1)" and values["program"] == "+Escuelas"
    assert values["district"] == "'Cuauhtemoc"  # an apostrophe before a letter is data: kept
    assert [w.reason for w in result.warnings] == [
        "not one of the configured districts (inventory.districts); kept"]


def test_a_geometry_that_is_not_a_point_is_rejected():
    marker = NotAPoint("geometry Polygon; expected a Point")
    result = parse(row(lat=marker, lon=marker))
    assert result.rejected == [RowIssue(2, "Latitud", "", "geometry Polygon; expected a Point")]


@pytest.mark.parametrize(("text", "expected"), [
    ("10.0.0.1", ("10.0.0.1", None)),
    ("10.0.0.1:1161", ("10.0.0.1", 1161)),
    ("ap-17.mgmt.example.org", ("ap-17.mgmt.example.org", None)),
    ("ap-17:161", ("ap-17", 161)),
    ("::1", ("::1", None)),
    ("[fe80::1]:16100", ("fe80::1", 16100)),
])
def test_management_addresses(text, expected):
    assert split_address(text) == expected
    assert join_address(*expected) == text


@pytest.mark.parametrize("text", ["10.0.0.1:", "[::1", "[zz::1]:1", "1.2.3", "host:0", "host:-1", "a..b"])
def test_bad_management_addresses(text):
    with pytest.raises(ValueError):
        split_address(text)


def test_distance_outside_the_bounds():
    bounds = (19.0, -99.4, 19.6, -98.9)
    assert distance_outside_km(19.3, -99.1, bounds) == 0
    assert distance_outside_km(19.7, -99.1, bounds) == pytest.approx(11.13, abs=0.01)


def test_the_collector_column_takes_snmp_or_ssh_in_any_case_and_rejects_the_rest():
    headers = [*HEADERS, "collector"]
    result = parse([*row("AP1"), "SSH"], [*row("AP2"), ""], [*row("AP3"), "snmp"], [*row("AP4"), "telnet"],
                   headers=headers)
    assert [r.values["collector"] for r in result.rows] == ["ssh", None, "snmp"]
    assert result.rejected == [RowIssue(5, "collector", "telnet",
                                        "not a collector: expected snmp or ssh (empty means snmp)")]
