"""Turning one file row into AccessPoint values, or a reason to reject it.

Unambiguous defects are repaired and reported as warnings: whitespace around a
value, a trailing separator after a number ('19.56244779963221, '), the case
or accents of a known district or programme ('IZTAPALAPA' is 'Iztapalapa'), a
point just outside the city bounds. Anything that needs a guess is rejected with
the row, column, value and reason: a coordinate that is not a number or is out
of range, a point far outside the city, a bad address, a duplicate id, a control
character (line break, tab, escape sequence: C0, DEL, C1) inside any text, a
value longer than its column (``MAX_LENGTH``: the same limits on SQLite and PostgreSQL).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from hotspotctl.csvsafe import unneutralise
from hotspotctl.inventory.columns import ColumnMap
from hotspotctl.inventory.readers import NotAPoint, Table
from hotspotctl.models.access_points import COLLECTORS, ROLE_AP, ROLE_CONTROLLER, ROLES
from hotspotctl.models.radios import normal_mac
from hotspotctl.names import NameCatalog, name_key
from hotspotctl.settings import InventorySettings
from hotspotctl.store.schema import access_points, availability_hourly, outages, sites

KM_PER_DEGREE = 111.32
_TRAILING_SEPARATORS = ",;"
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")

NAME_FIELDS = ("profile", "snmp_auth", "ssh_auth")
MBPS_FIELDS = ("backhaul_mbps", "target_mbps")


def _length(column: sa.Column[Any]) -> int:
    """The size of a String column of the store."""
    if not isinstance(column.type, sa.String) or column.type.length is None:
        raise TypeError(f"{column} is not a String column with a length")
    return column.type.length


# Control characters (C0, DEL, C1) are refused in every text column: a line break or an escape sequence in an id
# or a name would reach terminals, logs and line protocol. Surrounding whitespace (a tab, a line break) is only
# trimmed, with a warning, as before.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The longest value each text column takes, the same on SQLite (which would store any length) and PostgreSQL
# (which refuses more than the column holds): the store's column sizes, narrowed where a value is copied into a
# smaller column elsewhere.


MAX_LENGTH = {
    # a site's name is an id, or "<first id> +<count>" (sites.name); the airport's longest id is 65
    "id": _length(sites.c.name) - len(" +99999999"),
    "program": min(_length(access_points.c.program), _length(availability_hourly.c.program)),
    "district": min(_length(access_points.c.district), _length(sites.c.district),
                    _length(outages.c.zone)),  # a district is a crew zone when settings give it none
    "neighborhood": _length(access_points.c.neighborhood),
    "site": min(_length(access_points.c.site), _length(sites.c.id), _length(outages.c.site_id)),
    "mgmt_address": _length(access_points.c.mgmt_address),
    "profile": _length(access_points.c.profile),
    "collector": _length(access_points.c.collector),
    "snmp_auth": _length(access_points.c.snmp_auth),
    "ssh_auth": _length(access_points.c.ssh_auth),
    "crew_zone": min(_length(access_points.c.crew_zone), _length(outages.c.zone)),
    "role": _length(access_points.c.role),
    "controller": min(_length(access_points.c.controller), _length(sites.c.name) - len(" +99999999")),  # an id
    "ap_name": _length(access_points.c.ap_name),
    "ap_mac": _length(access_points.c.ap_mac),
}
_SHOWN = 80  # characters of an over-long value shown in a rejection


@dataclass(frozen=True)
class RowIssue:
    row: int
    column: str
    value: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass(frozen=True)
class ParsedRow:
    row: int
    values: dict[str, Any]  # only the fields the file has columns for


@dataclass
class ParseResult:
    rows: list[ParsedRow] = field(default_factory=list)
    rejected: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)  # every id in the file, rejected rows too


class _Reject(Exception):
    def __init__(self, column: str, reason: str, value: Any = None) -> None:
        super().__init__(reason)
        self.column, self.reason, self.value = column, reason, value


def split_address(text: str) -> tuple[str, int | None]:
    """'10.0.0.1:1161' -> ('10.0.0.1', 1161); '[fe80::1]:161', 'ap1.example', '::1' too."""
    if text.startswith("["):
        match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", text)
        if not match:
            raise ValueError("expected [IPv6]:port")
        host, port = match.group(1), match.group(2)
        ipaddress.IPv6Address(host)
    elif text.count(":") > 1:
        host, port = text, None
        ipaddress.IPv6Address(host)
    else:
        host, _, port = text.partition(":")
        if not port and text.endswith(":"):
            raise ValueError("empty port")
        port = port or None
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
                raise ValueError("not an IP address or host name") from None
    if port is None:
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"port {port!r} is not 1-65535")
    return host, int(port)


def join_address(host: str, port: int | None) -> str:
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def cell_text(raw: Any) -> str:
    """How a cell reads, for messages and text fields: 20001.0 from Excel is '20001'."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, (datetime, date)):
        return raw.isoformat()
    return str(raw)


def distance_outside_km(lat: float, lon: float, bounds: tuple[float, ...]) -> float:
    """How far (km, flat-earth) a point lies outside [min_lat, min_lon, max_lat, max_lon]; 0 inside."""
    min_lat, min_lon, max_lat, max_lon = bounds
    dlat = max(min_lat - lat, 0.0, lat - max_lat)
    dlon = max(min_lon - lon, 0.0, lon - max_lon)
    return math.hypot(dlat * KM_PER_DEGREE, dlon * KM_PER_DEGREE * math.cos(math.radians(lat)))


def _clean_text(raw: Any) -> tuple[str | None, bool]:
    """(text without surrounding whitespace or None when blank, whether whitespace was removed)."""
    text = unneutralise(cell_text(raw))  # our CSV exports mark formula-like text; undo it
    stripped = text.strip()
    return stripped or None, bool(stripped) and stripped != text


_Handler = Callable[[str, Any], Any]
_CONTROL_NAMES = {"\t": "tab", "\n": "line feed", "\r": "carriage return", "\x1b": "escape", "\x00": "NUL",
                  "\x7f": "delete", "\x9b": "CSI", "\x85": "next line"}


class RowParser:
    """Parses the rows of one file; keeps the name catalogs that learn spellings as it goes.

    Each column gets its handler once per file, so a row is one pass over (field, cell, handler).
    """

    def __init__(self, columns: ColumnMap, rules: InventorySettings, known_programs: list[str]) -> None:
        self.columns = columns
        self.rules = rules
        self._configured_districts = {name_key(d) for d in rules.districts}
        self._catalogs = {"district": NameCatalog(rules.districts), "program": NameCatalog(known_programs)}
        self._row = 0
        self._warnings: list[RowIssue] = []  # the current row's

    def _handler(self, name: str) -> _Handler:
        if name in ("lat", "lon"):
            return self._number
        if name in MBPS_FIELDS:
            return self._mbps
        if name == "id":
            return self._id
        if name in self._catalogs:
            return self._catalog_name
        if name == "mgmt_address":
            return self._address
        if name in NAME_FIELDS:
            return self._name
        if name == "collector":
            return self._collector
        if name == "role":
            return self._role
        if name == "controller":
            return self._name
        if name == "ap_mac":
            return self._mac
        return self._text

    def parse(self, table: Table) -> ParseResult:
        result = ParseResult()
        first_row_of: dict[str, int] = {}
        duplicates: dict[str, list[int]] = defaultdict(list)
        handlers = [(name, position, self._handler(name)) for name, position in self.columns.index.items()]
        has_point = "lat" in self.columns
        for number, cells in table.rows:
            self._row, self._warnings = number, []
            size = len(cells)
            try:
                values = {name: handle(name, cells[position] if position < size else None)
                          for name, position, handle in handlers}
                if has_point:
                    self._check_point(values)
                self._check_role(values)
            except _Reject as reject:
                result.rejected.append(RowIssue(number, self._header(reject.column),
                                                cell_text(reject.value), reject.reason))
                position = self.columns.index["id"]
                ap_id = _clean_text(cells[position] if position < size else None)[0]
                if ap_id:
                    result.seen_ids.add(ap_id)
                continue
            result.warnings.extend(self._warnings)
            ap_id = values["id"]
            result.seen_ids.add(ap_id)
            if ap_id in first_row_of:
                duplicates[ap_id].append(number)
                continue
            first_row_of[ap_id] = number
            result.rows.append(ParsedRow(number, values))
        if duplicates:
            result.rows = [r for r in result.rows if r.values["id"] not in duplicates]
            for ap_id, later in duplicates.items():
                all_rows = [first_row_of[ap_id], *later]
                for number in all_rows:
                    others = ", ".join(str(n) for n in all_rows if n != number)
                    result.rejected.append(RowIssue(
                        number, self._header("id"), ap_id,
                        f"duplicate id: also at {table.row_label} {others}; keep one and import again"))
            result.rejected.sort(key=lambda issue: issue.row)
        return result

    def _header(self, name: str) -> str:
        if name == "coordinates":
            return f"{self.columns.headers['lat']},{self.columns.headers['lon']}"
        return self.columns.headers.get(name, name)

    def _warn(self, name: str, raw: Any, reason: str) -> None:
        self._warnings.append(RowIssue(self._row, self._header(name), cell_text(raw), reason))

    def _text(self, name: str, raw: Any) -> str | None:
        text: str | None
        if type(raw) is str and raw and not raw[0].isspace() and not raw[-1].isspace() and raw[0] != "'":
            text = raw  # the common case: nothing to trim or unmark
        else:
            text, padded = _clean_text(raw)
            if padded:
                self._warn(name, raw, "surrounding whitespace removed")
            if text is None:
                return None
        if len(text) > MAX_LENGTH[name]:
            shown = f"{text[:_SHOWN]}... ({len(text):,} characters)"
            raise _Reject(name, f"too long: {len(text):,} characters, at most {MAX_LENGTH[name]} in this column", shown)
        control = _CONTROL.search(text)
        if control:
            char = control.group()
            raise _Reject(name, f"control character U+{ord(char):04X} ({_CONTROL_NAMES.get(char, 'control')}) at "
                                f"position {control.start() + 1}: ids and names are one line of printable text; "
                                "remove it", text)
        return text

    def _id(self, name: str, raw: Any) -> str:
        text = self._text(name, raw)
        if text is None:
            raise _Reject("id", "empty id; every AP needs one", raw)
        return text

    def _catalog_name(self, name: str, raw: Any) -> str | None:
        written = self._text(name, raw)
        if written is None:
            return None
        text, changed = self._catalogs[name].canonical(written)
        if changed:
            self._warn(name, raw, f"written {written!r}; stored as {text!r}")
        if (name == "district" and self._configured_districts
                and name_key(text) not in self._configured_districts):
            self._warn(name, raw, "not one of the configured districts (inventory.districts); kept")
        return text

    def _address(self, name: str, raw: Any) -> str | None:
        text = self._text(name, raw)
        if text is None:
            return None
        try:
            return join_address(*split_address(text))
        except ValueError as exc:
            raise _Reject(name, f"not a host or host:port: {exc}", raw) from None

    def _name(self, name: str, raw: Any) -> str | None:
        text = self._text(name, raw)
        if text is not None and not _NAME.match(text):
            raise _Reject(name, "not a name: use letters, digits, '_', '.' and '-'", raw)
        return text

    def _collector(self, name: str, raw: Any) -> str | None:
        text = self._text(name, raw)
        if text is None:
            return None
        value = text.lower()
        if value not in COLLECTORS:
            raise _Reject(name, f"not a collector: expected {' or '.join(COLLECTORS)} (empty means snmp)", raw)
        return value

    def _role(self, name: str, raw: Any) -> str:
        text = self._text(name, raw)
        if text is None:
            return ROLE_AP
        value = text.lower()
        if value not in ROLES:
            raise _Reject(name, f"not a role: expected {' or '.join(ROLES)} (empty means {ROLE_AP})", raw)
        return value

    def _mac(self, name: str, raw: Any) -> str | None:
        text = self._text(name, raw)
        if text is None:
            return None
        mac = normal_mac(text)
        if mac is None:
            raise _Reject(name, "not a MAC address: six octets in hex, e.g. 00:0b:86:01:02:03 or 000b.8601.0203", raw)
        return mac  # any usual spelling is one MAC: stored as format_mac writes it, no warning

    def _number(self, name: str, raw: Any) -> float | None:
        if type(raw) is float:
            number = raw
        elif isinstance(raw, NotAPoint):
            raise _Reject(name, str(raw), "")
        elif raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        elif isinstance(raw, bool):
            raise _Reject(name, "not a number", raw)
        elif isinstance(raw, (int, float)):
            number = float(raw)
        else:
            text = str(raw).strip()
            repaired = text.rstrip(_TRAILING_SEPARATORS).rstrip()
            if repaired != text:
                self._warn(name, raw, "trailing separator removed")
            elif text != str(raw):
                self._warn(name, raw, "surrounding whitespace removed")
            if _DECIMAL_COMMA.match(repaired):
                raise _Reject(name, "decimal comma: write the number with a decimal point", raw)
            try:
                number = float(repaired)
            except ValueError:
                raise _Reject(name, "not a number", raw) from None
        if not math.isfinite(number):
            raise _Reject(name, "not a finite number", raw)
        return number

    def _mbps(self, name: str, raw: Any) -> float | None:
        number = self._number(name, raw)
        if number is not None and number <= 0:
            raise _Reject(name, "must be more than 0 Mbps", raw)
        return number

    def _check_role(self, values: dict[str, Any]) -> None:
        """A controller is managed by no controller and read over SNMP; ap_name/ap_mac belong to managed APs."""
        if values.get("role") != ROLE_CONTROLLER:
            return
        if values.get("controller"):
            raise _Reject("controller", "a controller row names a controller; only an AP is managed by one: "
                          "empty this cell, or set role to ap", values["controller"])
        if values.get("collector") == "ssh":
            raise _Reject("collector", "a controller is read over SNMP; empty this cell or write snmp", "ssh")

    def _check_point(self, values: dict[str, Any]) -> None:
        lat, lon = values["lat"], values["lon"]
        if lat is None or lon is None:
            if lat is None and lon is None:
                return  # merge rows may leave coordinates out; the importer decides
            raise _Reject("lat" if lat is None else "lon", "empty; give both latitude and longitude", "")
        shown = f"{lat}, {lon}"
        if not -90 <= lat <= 90:
            hint = "; latitude and longitude look swapped" if -90 <= lon <= 90 else ""
            raise _Reject("lat", f"latitude out of range -90..90{hint}", lat)
        if not -180 <= lon <= 180:
            raise _Reject("lon", "longitude out of range -180..180", lon)
        outside = distance_outside_km(lat, lon, self.rules.bounds)
        if outside == 0:
            return
        if outside <= self.rules.bounds_margin_km:
            self._warn("coordinates", shown, f"{outside:.1f} km outside the city bounds (inventory.bounds); kept")
            return
        hint = ""
        if distance_outside_km(lon, lat, self.rules.bounds) == 0:
            hint = "; latitude and longitude look swapped"
        elif distance_outside_km(lat, -lon, self.rules.bounds) == 0:
            hint = "; the longitude's sign looks wrong"
        elif distance_outside_km(-lat, lon, self.rules.bounds) == 0:
            hint = "; the latitude's sign looks wrong"
        far = f"{outside:.0f} km" if outside < 1000 else "over 1,000 km"
        raise _Reject("coordinates", f"{far} outside the city bounds (inventory.bounds, "
                      f"margin {self.rules.bounds_margin_km:g} km){hint}", shown)
