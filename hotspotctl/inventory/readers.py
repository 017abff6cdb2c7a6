"""Reading inventory files into a header and numbered rows: spreadsheets, CSV, GeoJSON.

Row numbers are what the user sees: the spreadsheet row (the header is row 1 when
the sheet starts at A1), the CSV record (header = 1), or the GeoJSON feature
(first = 1). A file that cannot be read at all is an InputError with a one-line
reason; problems inside a row are left to the row parser.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import python_calamine

from hotspotctl.errors import InputError
from hotspotctl.inventory.columns import ALIASES, field_for_header
from hotspotctl.names import identifier_key

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
GEOJSON_SUFFIXES = (".geojson", ".json")
FORMATS = ("xlsx", "csv", "geojson")
GEOMETRY_LAT, GEOMETRY_LON = "geometry.lat", "geometry.lon"
_CSV_DELIMITERS = (",", ";", "\t", "|")
_HEADER_SEARCH_ROWS = 20


@dataclass
class Table:
    format: str
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]  # (row number, cells aligned with headers)
    row_label: str = "row"
    notes: list[str] = field(default_factory=list)  # file-level observations for the report


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in SPREADSHEET_SUFFIXES:
        return "xlsx"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in GEOJSON_SUFFIXES:
        return "geojson"
    raise InputError(f"{path}: unknown file format {suffix or '(no extension)'!r}; use "
                     f"{', '.join((*SPREADSHEET_SUFFIXES, '.csv', '.geojson'))}, or say --input-format")


def read_table(path: Path, *, fmt: str | None = None, sheet: str | None = None) -> Table:
    fmt = fmt or detect_format(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if fmt == "xlsx":
        return _read_spreadsheet(path, sheet)
    if fmt == "csv":
        return _read_csv(path)
    if fmt == "geojson":
        return _read_geojson(path)
    raise InputError(f"{path}: unknown --input-format {fmt!r}; use one of {', '.join(FORMATS)}")


def _read_spreadsheet(path: Path, sheet_name: str | None) -> Table:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        if sheet_name is not None:
            if sheet_name not in workbook.sheet_names:
                raise InputError(f"{path}: no sheet {sheet_name!r}; sheets: {', '.join(workbook.sheet_names)}")
            sheet = workbook.get_sheet_by_name(sheet_name)
        else:
            visible = [m.name for m in workbook.sheets_metadata
                       if m.typ == python_calamine.SheetTypeEnum.WorkSheet
                       and m.visible == python_calamine.SheetVisibleEnum.Visible]
            if not visible:
                raise InputError(f"{path}: the workbook has no visible worksheet")
            sheet = workbook.get_sheet_by_name(visible[0])
        cells = sheet.to_python(skip_empty_area=False)  # padded from A1: index + 1 is the row
    except python_calamine.PasswordError:
        raise InputError(f"{path}: the workbook is password-protected; save an unprotected copy") from None
    except python_calamine.CalamineError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable spreadsheet (corrupt or truncated?): {reason}") from None
    filled = [i for i, row in enumerate(cells) if any(_header_text(c).strip() for c in row)]
    if not filled:
        raise InputError(f"{path}: sheet {sheet.name!r} is empty; expected a header row")
    # Sheets often open with a title above the header: the header is the first row with an id
    # column among the first few, else simply the first row with anything in it.
    header_at = next((i for i in filled[:_HEADER_SEARCH_ROWS]
                      if any(field_for_header(_header_text(c)) == "id" for c in cells[i])), filled[0])
    headers = [_header_text(cell) for cell in cells[header_at]]
    rows = ((number, row) for number, row in enumerate(cells[header_at + 1:], start=header_at + 2)
            if any(cell not in (None, "") for cell in row))
    notes = [f"sheet {sheet.name!r}"] if len(workbook.sheet_names) > 1 else []
    if header_at != filled[0]:
        notes.append(f"header on row {header_at + 1}")
    return Table("xlsx", headers, rows, notes=notes)


def _header_text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "" if cell is None else str(cell)


def _read_csv(path: Path) -> Table:
    data = path.read_bytes()
    notes = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV") from None
        notes.append("not UTF-8: read as Windows-1252")
    if "\x00" in text:
        raise InputError(f"{path}: binary data in a .csv file; is it really CSV?")
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    if not header_line:
        raise InputError(f"{path}: empty file; expected a header row")
    delimiter = max(_CSV_DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except csv.Error as exc:
        raise InputError(f"{path}: the header row is not valid CSV: {exc}") from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 1
        try:
            for row in reader:
                number += 1
                if any(cell.strip() for cell in row):
                    yield number, row
        except csv.Error as exc:
            raise InputError(f"{path}: row {number + 1}: not valid CSV: {exc}") from None

    if delimiter != ",":
        notes.append(f"delimiter {delimiter!r}")
    return Table("csv", headers, rows(), notes=notes)


def _read_geojson(path: Path) -> Table:
    try:
        document = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; GeoJSON must be UTF-8") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise InputError(f"{path}: not a GeoJSON FeatureCollection (expected "
                         '{"type": "FeatureCollection", "features": [...]})')
    features = document["features"]
    keys: dict[str, None] = {}
    has_geometry = False
    for feature in features:
        if isinstance(feature, dict):
            has_geometry = has_geometry or feature.get("geometry") is not None
            if isinstance(feature.get("properties"), dict):
                keys.update(dict.fromkeys(feature["properties"]))
    notes = []
    if has_geometry:
        coordinate_keys = {identifier_key(a) for a in ALIASES["lat"] + ALIASES["lon"]}
        shadowed = [k for k in keys if identifier_key(k) in coordinate_keys]
        for k in shadowed:
            del keys[k]
        if shadowed:
            notes.append(f"coordinates come from each feature's geometry; ignored properties: "
                         f"{', '.join(shadowed)}")
    headers = list(keys) + ([GEOMETRY_LAT, GEOMETRY_LON] if has_geometry else [])

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, feature in enumerate(features, start=1):
            properties = feature.get("properties") if isinstance(feature, dict) else None
            properties = properties if isinstance(properties, dict) else {}
            cells: list[Any] = [properties.get(k) for k in keys]
            if has_geometry:
                cells.extend(_point(feature))
            yield number, cells

    return Table("geojson", headers, rows(), row_label="feature", notes=notes)


class NotAPoint(str):
    """A coordinate cell standing for a geometry that is not a Point; the parser rejects it."""


def _point(feature: Any) -> tuple[Any, Any]:
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    if geometry is None:
        return None, None
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if kind != "Point" or not isinstance(coordinates, list) or len(coordinates) < 2:
        marker = NotAPoint(f"geometry {kind or 'invalid'}; expected a Point")
        return marker, marker
    return coordinates[1], coordinates[0]
