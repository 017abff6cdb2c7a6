"""Issue 15: ids and names are one line of printable text that fits the store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.inventory.rows import MAX_LENGTH
from hotspotctl.settings import InventorySettings
from hotspotctl.store import Store

HEADER = ["id", "programa", "latitud", "longitud", "alcaldia", "colonia", "site", "crew_zone"]
GOOD = ["AP-1", "Escuelas", "19.40000", "-99.10000", "Iztapalapa", "Centro", "", ""]


def _file(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _row(**changes: str) -> list[str]:
    row = dict(zip(HEADER, GOOD, strict=True))
    row.update(changes)
    return list(row.values())


HOSTILE = [  # (row, what a defect looks like, the column, the start of the reason)
    (_row(id="AP-TITLE\x1b]0;pwned\x07"), "id", "control character U+001B (escape) at position 9"),
    (_row(id="AP-CLEAR\x1b[2J"), "id", "control character U+001B (escape) at position 9"),
    (_row(id="AP-LINE\nBREAK"), "id", "control character U+000A (line feed) at position 8"),
    (_row(id="AP-CR\rX"), "id", "control character U+000D (carriage return) at position 6"),
    (_row(id="AP-TAB\tX"), "id", "control character U+0009 (tab) at position 7"),
    (_row(id="AP-C1", colonia="Centro\x9b31m"), "colonia", "control character U+009B (CSI) at position 7"),
    (_row(id="AP-DEL", programa="Escu\x7felas"), "programa", "control character U+007F (delete) at position 5"),
    (_row(id="AP-US", crew_zone="Su\x1fr"), "crew_zone", "control character U+001F (control) at position 3"),
    (_row(id="X" * 70_000), "id", "too long: 70,000 characters, at most 190 in this column"),
    (_row(id="Y" * 201), "id", "too long: 201 characters, at most 190 in this column"),
    (_row(id="AP-DISTRICT", alcaldia="D" * 101), "alcaldia", "too long: 101 characters, at most 100 in this column"),
    (_row(id="AP-SITE", site="S" * 101), "site", "too long: 101 characters, at most 100 in this column"),
    (_row(id="AP-ZONE", crew_zone="Z" * 101), "crew_zone", "too long: 101 characters, at most 100 in this column"),
]


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    longest_ok = _row(id="L" * MAX_LENGTH["id"], alcaldia="D" * 100, site="S" * 100, crew_zone="Z" * 100,
                      colonia="N" * 200, programa="P" * 200)
    padded = _row(id="\tAP-PADDED\n")  # surrounding whitespace is trimmed (with a warning), as in the city's file
    return _file(tmp_path / "hostile.csv", [GOOD, longest_ok, padded, *(row for row, _, _ in HOSTILE)])


def test_control_characters_and_overlong_values_are_rejected_with_row_and_reason_on_both_backends(
        store: Store, rules: InventorySettings, hostile: Path):
    """3854a6b imported every one of these on SQLite (escape sequences, line breaks and a 70,000-character id
    included), and failed the whole import with an internal error (StringDataRightTruncation) on PostgreSQL."""
    report = import_inventory(store, hostile, rules)
    got = [(issue.row, issue.column, issue.reason.split(":")[0] if issue.reason.startswith("too long") else
            issue.reason.split(": ids")[0]) for issue in report.rejected]
    want = [(row, column, reason.split(":")[0] if reason.startswith("too long") else reason)
            for row, (_, column, reason) in enumerate(HOSTILE, start=5)]
    assert got == want
    assert [issue.reason for issue in report.rejected][8] == \
        "too long: 70,000 characters, at most 190 in this column"
    assert report.rejected[8].value == "X" * 80 + "... (70,000 characters)"  # not the whole value, in any report
    assert sorted(report.added) == sorted(["AP-1", "L" * 190, "AP-PADDED"])
    assert report.exit_code == 4 and report.written
    aps = Fleet.load(store, CrewZones({}, {})).aps
    assert sorted(aps) == sorted(["AP-1", "L" * 190, "AP-PADDED"])
    assert aps["L" * 190].crew_zone == "Z" * 100 and aps["L" * 190].district == "D" * 100


def test_strict_writes_nothing_when_one_row_has_a_control_character(store: Store, rules: InventorySettings,
                                                                     tmp_path: Path):
    path = _file(tmp_path / "one.csv", [GOOD, _row(id="AP-2\x1b[2J")])
    report = import_inventory(store, path, rules, strict=True)
    assert [(i.row, i.column) for i in report.rejected] == [(3, "id")]
    assert report.exit_code == 3 and not report.written
    assert Fleet.load(store, CrewZones({}, {})).aps == {}


def test_limits_are_the_stores_columns():
    """The limits follow the schema: a value that passes fits every column it is copied into on PostgreSQL."""
    assert MAX_LENGTH == {"id": 190, "program": 200, "district": 100, "neighborhood": 200, "site": 100,
                          "mgmt_address": 300, "profile": 100, "collector": 20, "snmp_auth": 100, "ssh_auth": 100,
                          "crew_zone": 100, "role": 20, "controller": 190, "ap_name": 200, "ap_mac": 17}


def test_a_geojson_property_with_a_nul_or_an_escape_is_rejected(store: Store, rules: InventorySettings,
                                                                 tmp_path: Path):
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-99.1, 19.4]},
                 "properties": {"id": ap_id, "alcaldia": district}}
                for ap_id, district in (("AP-1", "Tlalpan"), ("AP-\u0000", "Tlalpan"), ("AP-3", "Tlalpan\u001b[2J"))]
    path = tmp_path / "aps.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = import_inventory(store, path, rules)
    assert [(i.row, i.column, i.reason.split(": ids")[0]) for i in report.rejected] == [
        (2, "id", "control character U+0000 (NUL) at position 4"),
        (3, "alcaldia", "control character U+001B (escape) at position 8")]
    assert report.added == ["AP-1"]
