"""Radio and controller tables: a profile's `radios` / `controller` sections read from walked columns.

The pure part turns columns (``{column OID: {row index: value}}``, from a walk or a GET of fixed
instances) into records (models/radios.py) by the FIELD grammar (collectors/README.md): a value at
the row's KEY, or joined rows aggregated; ``from`` the key, its last sub-id, the IF-MIB name or the
channel; a template; then parse, ignore, map, scale and offset. The async part walks every column
a table needs at once (``asyncio.gather`` of ``device.walk``: WalkerDevice shares GETBULKs among walks
started together), so a controller costs one bulk walk per cycle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, Any, cast

from hotspotctl.collectors.model import Absent, Interface, Value
from hotspotctl.collectors.oids import Oid, format_oid
from hotspotctl.collectors.profiles import (
    FIELD_KINDS,
    ApLink,
    ApTable,
    ClientSource,
    ControllerSpec,
    FieldSpec,
    Profile,
    RadioTable,
)
from hotspotctl.collectors.walker import fewer_collections
from hotspotctl.models.radios import (
    ControllerReading,
    ManagedAp,
    Radio,
    band_for,
    channel_to_mhz,
    format_mac,
    normal_mac,
)

if TYPE_CHECKING:
    from hotspotctl.collectors.discovery import Device

# {column: {row index (the sub-ids after the column): value}}; absent values are left out.
Columns = Mapping[Oid, Mapping[Oid, Value]]
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_BAND = re.compile(r"(\d+(?:\.\d+)?)\s*g(?:hz)?\b", re.IGNORECASE)


def table_columns(table: RadioTable | ApTable) -> tuple[Oid, ...]:
    """Every column a table reads (its rows column first), each once."""
    found: dict[Oid, None] = {table.rows: None}
    for _key, spec in table.fields():
        if spec.oid is not None:
            found[spec.oid] = None
        if spec.join is not None and spec.join.column is not None:
            found[spec.join.column] = None
    if isinstance(table, RadioTable) and table.ap is not None:
        found[table.ap.column] = None
    return tuple(found)


def controller_columns(spec: ControllerSpec) -> tuple[Oid, ...]:
    """The columns of a controller's per-AP tables (none for a count-only controller)."""
    found = dict.fromkeys(table_columns(spec.aps)) if spec.aps is not None else {}
    if spec.radios is not None:
        found.update(dict.fromkeys(table_columns(spec.radios)))
    return tuple(found)


def index_rows(column: Oid, rows: Iterable[tuple[Oid, Value]]) -> dict[Oid, Value]:
    """A walked column as ``{row index: value}`` (absent values and rows outside the column left out)."""
    size = len(column)
    return {oid[size:]: value for oid, value in rows
            if len(oid) > size and oid[:size] == column and not isinstance(value, Absent) and value is not None}


def columns_from_instances(columns: Iterable[Oid], values: Mapping[Oid, Value]) -> dict[Oid, dict[Oid, Value]]:
    """GET answers (``{instance: value}``) sorted into ``columns`` by prefix, as a walk would give them."""
    found: dict[Oid, dict[Oid, Value]] = {column: {} for column in columns}
    for column, rows in found.items():
        size = len(column)
        for oid, value in values.items():
            if len(oid) > size and oid[:size] == column and not isinstance(value, Absent) and value is not None:
                rows[oid[size:]] = value
    return found


def dotted(key: Oid) -> str:
    return format_oid(key) if key else ""


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").replace("\x00", "").strip()
    if isinstance(value, tuple):
        return format_oid(value)
    return str(value).replace("\x00", "").strip()


def _raw(value: Value) -> int | str | None:
    """A value as the transforms see it: an integer, or text (OCTET STRING decoded, an OID dotted)."""
    if value is None or isinstance(value, Absent):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    return _text(value)


def _number(raw: int | float | str) -> int | float | None:
    if isinstance(raw, (int, float)):
        return raw
    text = raw.strip()
    if not _NUMBER.fullmatch(text):
        return None
    return float(text) if "." in text else int(text)


def _same(a: int | float | str, b: int | float | str) -> bool:
    """A raw value equals a YAML value: numbers by value (decimal text counts), text as text."""
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    na, nb = _number(a), _number(b)
    return na is not None and nb is not None and na == nb


def _scaled(number: int | float, scale: float) -> int | float:
    """``number * scale``, dividing by the reciprocal when it is a whole number (0.01 -> /100), so
    4523 * 0.01 gives 45.23 exactly as a divisor does (LibreNMS's figures compare equal)."""
    inverse = 1 / scale
    whole = round(inverse)
    if whole not in (0, 1, -1) and abs(inverse - whole) < 1e-9:
        return number / whole
    return number * scale


def _cast(kind: str, number: int | float) -> int | float:
    if kind == "int":
        return int(number) if isinstance(number, int) or float(number).is_integer() else round(number)
    return float(number)


def _band(raw: int | float | str) -> str | None:
    """A band from what a device says: "5GHz", "2.4 GHz", "5G"; a number of GHz; a frequency in MHz."""
    if isinstance(raw, str):
        match = _BAND.search(raw)
        if match:
            return f"{float(match.group(1)):g}GHz"
        number = _number(raw)
        if number is None:
            return None
        raw = number
    if raw > 1000:
        return band_for(raw)
    return f"{raw:g}GHz" if raw in (2.4, 5, 6, 60) else None


def convert(spec: FieldSpec, kind: str, value: Value | int | str) -> object:
    """One raw value through the FIELD's transforms: parse (text), ignore, map (final: an unmapped value
    is None), else the kind's reading (a number scaled then offset, text, a band, a MAC)."""
    if kind == "mac" and spec.mapping is None and isinstance(value, bytes) and len(value) == 6:
        return format_mac(value)
    raw = _raw(value)
    if raw is None:
        return None
    if spec.parse is not None and isinstance(raw, str):
        match = spec.parse.search(raw)
        if match is None or match.group(1) is None:
            return None
        raw = match.group(1).strip()
    if any(_same(raw, ignored) for ignored in spec.ignore):
        return None
    if spec.mapping is not None:
        return next((result for key, result in spec.mapping if _same(raw, key)), None)
    if kind == "text":
        return _text(raw) or None
    if kind == "band":
        return _band(raw)
    if kind == "mac":
        return normal_mac(_text(raw))
    if kind == "bool":
        return None  # the loader requires a map for these
    number = _number(raw)
    if number is None:
        return None
    if spec.scale is not None:
        number = _scaled(number, spec.scale)
    if spec.offset is not None:
        number = number + spec.offset
    return _cast(kind, number)


def _aggregate(how: str, values: list[object]) -> object:
    if not values:
        return None
    if how == "first":
        return values[0]
    if how == "count":
        return len(values)
    if how in ("any", "all"):
        states = [v for v in values if isinstance(v, bool)]
        if not states:
            return None
        return any(states) if how == "any" else all(states)
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not numbers:
        return None
    if how == "sum":
        return sum(numbers)
    return max(numbers) if how == "max" else min(numbers)

Convert = Callable[[object], object]


def _ignored(spec: FieldSpec) -> frozenset[int | float]:
    """The FIELD's ignore values an INTEGER equals (``_same(int, x)`` compares by number)."""
    return frozenset(n for n in map(_number, spec.ignore) if n is not None)


def _map_numbers(mapping: tuple[tuple[int | str, object], ...]) -> dict[int | float, object]:
    """A FIELD's map for INTEGER values: {number: result}, the first key that matches winning, as in convert."""
    results: dict[int | float, object] = {}
    for key, result in mapping:
        number = _number(key)
        if number is not None:
            results.setdefault(number, result)
    return results


def _mac_of_key(key: Oid) -> str | None:
    """``format_mac(key[-6:])`` for a KEY of sub-ids (the AP's MAC as its last six)."""
    six = key[-6:]
    if len(six) == 6 and min(six) >= 0 and max(six) <= 255:
        return "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}".format(*six)
    return None


RADIO_NAMES = 4096  # radio names a compiled radio table keeps, by the raw value read (``CellRadios.names``)
_UNREAD = object()
_KEY_TEXT_MAX = 1 << 17  # a controller's AP KEYs come back every cycle: each is written out once (bounded)
_key_texts: dict[tuple[str, Oid], str | None] = {}


def _key_text(how: str, key: Oid) -> str | None:
    """``dotted(key)`` (how "dotted") or ``_mac_of_key(key)`` (how "mac"), remembered across cycles."""
    found = _key_texts.get((how, key), ...)
    if found is ...:
        if len(_key_texts) >= _KEY_TEXT_MAX:
            _key_texts.clear()
        found = _key_texts[(how, key)] = dotted(key) if how == "dotted" else _mac_of_key(key)
    return found


def compile_convert(spec: FieldSpec, kind: str) -> Convert:
    """``convert(spec, kind, ·)`` with the FIELD's rules worked out once, for a table's thousands of cells:
    an INTEGER (most cells) goes through a set (ignore), a dict (map) or the scale and offset; text
    with no parse, ignore or map is decoded once; every other value takes ``convert`` itself. The results
    are ``convert``'s (tests/collectors/test_tables.py holds them equal)."""

    def slow(value: object) -> object:
        return convert(spec, kind, value)  # type: ignore[arg-type]

    ignored = _ignored(spec)
    if spec.mapping is not None:
        results = _map_numbers(spec.mapping)

        def mapped(value: object) -> object:
            if type(value) is int:
                return None if value in ignored else results.get(value)
            return None if value is None else slow(value)
        return mapped
    if kind in ("mac", "bool"):
        return slow
    if kind == "text":
        plain = spec.parse is None and not spec.ignore

        def text(value: object) -> object:
            if type(value) is int:
                return None if value in ignored else str(value)
            if plain and type(value) is bytes:
                return _text(value) or None
            return None if value is None else slow(value)
        return text
    if kind == "band":
        def band(value: object) -> object:
            if type(value) is int:
                return None if value in ignored else _band(value)
            return None if value is None else slow(value)
        return band
    scale, offset = spec.scale, spec.offset
    if scale is None and offset is None and not ignored:
        if kind == "int":
            def whole(value: object) -> object:
                if type(value) is int:
                    return value
                return None if value is None else slow(value)
            return whole

        def real(value: object) -> object:
            if type(value) is int:
                return float(value)
            return None if value is None else slow(value)
        return real

    def numeric(value: object) -> object:
        if type(value) is int:
            if value in ignored:
                return None
            figure: int | float = value
            if scale is not None:
                figure = _scaled(figure, scale)
            if offset is not None:
                figure = figure + offset
            return _cast(kind, figure)
        return None if value is None else slow(value)
    return numeric


# (key, the row's name so far) -> the FIELD's figure; Row.value compiled for one table's columns
Field = Callable[[Oid, "str | None"], object]


def _nothing(key: Oid, name: str | None) -> object:
    return None


def compile_field(spec: FieldSpec | None, field: str, columns: Columns,
                  if_names: Mapping[int, str] | None = None) -> Field:
    """``Row(key, columns, if_names).value(spec, field)`` (with the row's name so far) as one function,
    its column looked up and its transforms compiled once; a joined field's rows grouped by their join
    value in one pass over the column, not one per row. Same figures as Row.value (tests)."""
    if spec is None:
        return _nothing
    kind = FIELD_KINDS[field]
    names = if_names or {}
    if spec.oid is not None:
        conv = compile_convert(spec, kind)
        if spec.join is None:
            get = columns.get(spec.oid, {}).get

            def cell(key: Oid, name: str | None) -> object:
                return conv(get(key))
            return cell
        on, how = spec.join.on, spec.aggregate
        if spec.join.column is None:  # on: prefix
            return _prefix_joined(spec.oid, conv, how, columns)
        if on == "channel":
            return _channel_joined(spec.oid, spec.join.column, conv, how, columns)
        by = columns.get(spec.join.column, {})
        groups: dict[str, list[object]] = {}
        for index, value in columns.get(spec.oid, {}).items():
            tie = by.get(index)
            if tie is not None:
                converted = conv(value)
                if converted is not None:
                    groups.setdefault(_text(tie), []).append(converted)

        def joined(key: Oid, name: str | None) -> object:
            target = dotted(key) if on == "key" else (str(key[-1]) if on == "last" and key else name)
            return None if target is None else _aggregate(how, groups.get(target, []))
        return joined
    if spec.template is not None:
        template = spec.template

        if "{key}" not in template and "{name}" not in template:  # "slot {last}": a radio's usual name
            return lambda key, name: template.replace("{last}", str(key[-1]) if key else "")

        def templated(key: Oid, name: str | None) -> object:
            last = str(key[-1]) if key else ""
            return template.replace("{key}", dotted(key)).replace("{last}", last).replace("{name}", name or "")
        return templated
    source = spec.source
    if source == "if_name":
        return lambda key, name: names.get(key[0]) if len(key) == 1 else None
    if source == "last":
        return lambda key, name: convert(spec, kind, key[-1]) if key else None
    if source == "key":
        if kind == "mac":
            return lambda key, name: _key_text("mac", key) if len(key) >= 6 else None

        def keyed(key: Oid, name: str | None) -> object:
            if len(key) == 1:
                return convert(spec, kind, key[0])
            return convert(spec, kind, dotted(key)) if kind == "text" else None
        return keyed
    return _nothing


def _prefix_joined(column: Oid, conv: Convert, how: str, columns: Columns) -> Field:
    """A field joined ``on: prefix``: the rows of ``column`` whose index starts with the KEY (and is longer),
    grouped by their first len(KEY) sub-ids once per KEY length met."""
    rows = columns.get(column, {})
    by_size: dict[int, dict[Oid, list[object]]] = {}

    def joined(key: Oid, name: str | None) -> object:
        size = len(key)
        groups = by_size.get(size)
        if groups is None:
            groups = by_size[size] = {}
            for index, value in rows.items():
                if len(index) > size:
                    converted = conv(value)
                    if converted is not None:
                        groups.setdefault(index[:size], []).append(converted)
        return _aggregate(how, groups.get(key, []))
    return joined


def channel_row(key: Oid, channel: Value | None) -> Oid | None:
    """The index of a radio's row in a per-channel table (``on: channel``): its KEY followed by its channel
    column's raw value, when that is a whole number (None: no channel said, so no row)."""
    raw = _raw(channel) if channel is not None else None
    number = _number(raw) if raw is not None else None
    return (*key, number) if isinstance(number, int) and number >= 0 else None


def _channel_joined(column: Oid, channels: Oid, conv: Convert, how: str, columns: Columns) -> Field:
    """A field joined ``on: channel``: the row of ``column`` at the KEY followed by the radio's channel."""
    get, channel_of = columns.get(column, {}).get, columns.get(channels, {}).get

    def joined(key: Oid, name: str | None) -> object:
        index = channel_row(key, channel_of(key))
        converted = None if index is None else conv(get(index))
        return _aggregate(how, [] if converted is None else [converted])
    return joined


def _by_name(spec: FieldSpec | None) -> bool:
    """Whether a FIELD's figure depends on the row's name (a template naming it, a join on it)."""
    if spec is None:
        return False
    if spec.template is not None:
        return "{name}" in spec.template
    return spec.join is not None and spec.join.on in ("name", "last")  # "last" of an empty KEY falls back on the name


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


class _Column:
    """A compiled FIELD for a read of many rows, its figures checked by ``check`` (_int, _str, ...):
    ``cells`` (every row's figure, computed column by column) when it does not depend on the row's name,
    else None and ``value`` works row by row."""

    __slots__ = ("cells", "check", "field")

    def __init__(self, spec: FieldSpec | None, field: str, columns: Columns, if_names: Mapping[int, str] | None,
                 keys: Sequence[Oid], check: Callable[[object], object]) -> None:
        self.field = compile_field(spec, field, columns, if_names)
        self.check = check
        self.cells: dict[Oid, object] | None
        if spec is None:
            self.cells = {}
        elif spec.oid is not None and spec.join is None:
            conv = compile_convert(spec, FIELD_KINDS[field])  # a KEY the column lacks: check(conv(None)), None
            column = columns.get(spec.oid, {})
            values = column.values()
            ints = set(map(type, values)) <= {int}  # the usual column: every cell an INTEGER (C-speed paths)
            if spec.mapping is not None:  # a map's results are the YAML's: checked (once per result for INTEGERs)
                results = {number: check(result) for number, result in _map_numbers(spec.mapping).items()}
                ignored = _ignored(spec)
                if ints and not ignored:
                    self.cells = dict(zip(column, map(results.get, cast("Iterable[int]", values)), strict=True))
                else:
                    self.cells = {key: (None if value in ignored else results.get(value)) if type(value) is int
                                  else check(conv(value)) for key, value in column.items()}
            elif conv.__name__ == "whole":  # a plain INTEGER column: its ints as they are
                self.cells = dict(column) if ints else {key: value if type(value) is int else conv(value)
                                                        for key, value in column.items()}
            elif conv.__name__ == "real":
                self.cells = (dict(zip(column, map(float, cast("Iterable[int]", values)), strict=True)) if ints else
                              {key: float(value) if type(value) is int else conv(value)
                               for key, value in column.items()})
            elif ints and conv.__name__ == "numeric" and spec.scale is None and spec.offset is None:  # ignore only
                ignored = _ignored(spec)
                if FIELD_KINDS[field] == "int":
                    self.cells = {key: None if value in ignored else value for key, value in column.items()}
                else:
                    self.cells = {key: None if value in ignored else float(value)  # type: ignore[arg-type]
                                  for key, value in column.items()}
            else:  # with no map a FIELD's figure is already of its kind (int, float, text, band, MAC) or None
                self.cells = dict(zip(column, map(conv, values), strict=True))
        elif _by_name(spec):
            self.cells = None
        else:
            field_of = self.field
            template = spec.template
            if template is not None and "{key}" not in template and all(keys):  # "slot {last}": one per slot
                named = {last: check(field_of((last,), None)) for last in {key[-1] for key in keys}}
                self.cells = {key: named[key[-1]] for key in keys}
            else:
                self.cells = {key: check(field_of(key, None)) for key in keys}

    def value(self, key: Oid, name: str | None) -> object:
        cells = self.cells
        return cells.get(key) if cells is not None else self.check(self.field(key, name))


class _RadioReader:
    """read_radio with a table's fields compiled once for the columns read (and the rows to read)."""

    __slots__ = ("explicit_name", "fields", "from_channel", "gets", "if_names", "name")

    def __init__(self, table: RadioTable, columns: Columns, if_names: Mapping[int, str] | None,
                 keys: Sequence[Oid]) -> None:
        self.if_names = if_names or {}
        self.explicit_name = table.name is not None
        self.name = _Column(table.name, "name", columns, if_names, keys, _str)  # read with no name yet: by key
        spec = table.frequency_mhz
        self.from_channel = spec is not None and spec.source == "channel"
        self.fields = fields = (
            _Column(table.if_index, "if_index", columns, if_names, keys, _int),
            _Column(table.band, "band", columns, if_names, keys, _str),
            _Column(table.channel, "channel", columns, if_names, keys, _int),
            _Column(None if self.from_channel else spec, "frequency_mhz", columns, if_names, keys, _int),
            _Column(table.clients, "clients", columns, if_names, keys, _int),
            _Column(table.utilization_pct, "utilization_pct", columns, if_names, keys, _float),
            _Column(table.noise_floor_dbm, "noise_floor_dbm", columns, if_names, keys, _float),
            _Column(table.tx_power_dbm, "tx_power_dbm", columns, if_names, keys, _float),
            _Column(table.oper_up, "oper_up", columns, if_names, keys, _bool))
        # every field column-wise (the usual case): a row is ten dict lookups
        self.gets = (tuple(f.cells.get for f in fields if f.cells is not None)
                     if all(f.cells is not None for f in fields) else None)

    def read_many(self, keys: Sequence[Oid], slots: Sequence[int] | None = None) -> list[Radio]:
        """``[read(key, slot) ...]`` for many rows; column by column (C-speed lookups) when no field
        depends on the row's name, the usual case."""
        if slots is None:
            slots = [0] * len(keys)
        gets, name = self.gets, self.name
        if gets is None or name.cells is None:
            return [self.read(key, slot) for key, slot in zip(keys, slots, strict=True)]
        names: list[str | None] = list(map(name.cells.get, keys))  # type: ignore[arg-type]
        if None in names:
            if_names, explicit = self.if_names, self.explicit_name
            for i, found in enumerate(names):
                if found is None:
                    key = keys[i]
                    if not explicit and len(key) == 1:
                        found = if_names.get(key[0])
                    names[i] = found or f"radio {dotted(key[slots[i]:])}"
        if_index, band, channel, frequency, clients, utilization, noise, tx_power, oper_up = (
            list(map(get, keys)) for get in gets)
        if self.from_channel:
            frequency = list(map(channel_to_mhz, channel, band))  # type: ignore[arg-type]
        if None in band:
            band = [b if b is not None else band_for(f) for b, f in zip(band, frequency, strict=True)]  # type: ignore[arg-type]
        return list(map(Radio, names, if_index, band, channel, frequency, clients,
                        utilization, noise, tx_power, oper_up))

    def read(self, key: Oid, slot: int = 0) -> Radio:
        """The radio of row ``key``; when the table names none, ``radio <the KEY from sub-id slot on>``
        (or its IF-MIB name)."""
        name: str | None = self.name.value(key, None)  # type: ignore[assignment]
        if name is None and not self.explicit_name and len(key) == 1:
            name = self.if_names.get(key[0])
        name = name or f"radio {dotted(key[slot:])}"
        if self.gets is not None:
            if_index, band, channel, frequency, clients, utilization, noise, tx_power, oper_up = self.gets
            values: tuple[object, ...] = (if_index(key), band(key), channel(key), frequency(key), clients(key),
                                          utilization(key), noise(key), tx_power(key), oper_up(key))
        else:
            values = tuple(f.value(key, name) for f in self.fields)
        if_index_v, band_v, channel_v, frequency_v, clients_v, utilization_v, noise_v, tx_v, oper_v = values
        if self.from_channel:
            frequency_v = channel_to_mhz(channel_v, band_v)  # type: ignore[arg-type]
        return Radio(name, if_index_v, band_v or band_for(frequency_v), channel_v,  # type: ignore[arg-type]
                     frequency_v, clients_v, utilization_v, noise_v, tx_v, oper_v)  # type: ignore[arg-type]


class Row:
    """One row of a table being read: its KEY, the columns, and what FIELDs may refer to."""

    __slots__ = ("columns", "if_names", "key", "name")

    def __init__(self, key: Oid, columns: Columns, if_names: Mapping[int, str] | None = None) -> None:
        self.key = key
        self.columns = columns
        self.if_names = if_names or {}
        self.name: str | None = None

    def value(self, spec: FieldSpec | None, field: str) -> object:
        """The FIELD's figure for this row (None: not said). ``from: channel`` is resolved by the caller."""
        if spec is None:
            return None
        kind = FIELD_KINDS[field]
        key = self.key
        if spec.oid is not None:
            if spec.join is not None:
                return self.joined(spec, kind)
            return convert(spec, kind, self.columns.get(spec.oid, {}).get(key))
        if spec.template is not None:
            last = str(key[-1]) if key else ""
            return (spec.template.replace("{key}", dotted(key)).replace("{last}", last)
                    .replace("{name}", self.name or ""))
        if spec.source == "if_name":
            return self.if_names.get(key[0]) if len(key) == 1 else None
        if spec.source == "last":
            return convert(spec, kind, key[-1]) if key else None
        if spec.source == "key":
            if kind == "mac":
                return format_mac(key[-6:]) if len(key) >= 6 else None
            if len(key) == 1:
                return convert(spec, kind, key[0])
            return convert(spec, kind, dotted(key)) if kind == "text" else None
        return None

    def joined(self, spec: FieldSpec, kind: str) -> object:
        assert spec.oid is not None and spec.join is not None
        on = spec.join.on
        if spec.join.column is None:  # on: prefix: the rows whose index starts with the KEY
            size = len(self.key)
            values = [converted for index, value in self.columns.get(spec.oid, {}).items()
                      if len(index) > size and index[:size] == self.key
                      and (converted := convert(spec, kind, value)) is not None]
            return _aggregate(spec.aggregate, values)
        if on == "channel":  # the row at the KEY followed by the radio's channel
            index = channel_row(self.key, self.columns.get(spec.join.column, {}).get(self.key))
            value = None if index is None else convert(spec, kind, self.columns.get(spec.oid, {}).get(index))
            return _aggregate(spec.aggregate, [] if value is None else [value])
        target = dotted(self.key) if on == "key" else (str(self.key[-1]) if on == "last" and self.key else self.name)
        if target is None:
            return None
        by = self.columns.get(spec.join.column, {})
        values = []
        for index, value in self.columns.get(spec.oid, {}).items():
            tie = by.get(index)
            if tie is not None and _text(tie) == target:
                converted = convert(spec, kind, value)
                if converted is not None:
                    values.append(converted)
        return _aggregate(spec.aggregate, values)


def row_keys(table: RadioTable | ApTable, columns: Columns) -> list[Oid]:
    return sorted(columns.get(table.rows, {}))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def read_radio(table: RadioTable, row: Row, default_name: str) -> Radio:
    """One radio from its row; ``default_name`` when the table names none (or the name is not said)."""
    name = _str(row.value(table.name, "name"))
    if name is None and table.name is None and len(row.key) == 1:
        name = row.if_names.get(row.key[0])
    row.name = name or default_name
    channel = _int(row.value(table.channel, "channel"))
    band = _str(row.value(table.band, "band"))
    spec = table.frequency_mhz
    if spec is not None and spec.source == "channel":
        frequency = channel_to_mhz(channel, band)
    else:
        frequency = _int(row.value(spec, "frequency_mhz"))
    oper = row.value(table.oper_up, "oper_up")
    return Radio(name=row.name, if_index=_int(row.value(table.if_index, "if_index")),
                 band=band or band_for(frequency), channel=channel, frequency_mhz=frequency,
                 clients=_int(row.value(table.clients, "clients")),
                 utilization_pct=_float(row.value(table.utilization_pct, "utilization_pct")),
                 noise_floor_dbm=_float(row.value(table.noise_floor_dbm, "noise_floor_dbm")),
                 tx_power_dbm=_float(row.value(table.tx_power_dbm, "tx_power_dbm")),
                 oper_up=oper if isinstance(oper, bool) else None)


def _unique(radios: list[Radio], keys: Sequence[Oid]) -> tuple[Radio, ...]:
    """Radio names are unique within an AP: a repeated one gets its key appended."""
    if len(radios) < 2 or len({radio.name for radio in radios}) == len(radios):
        return tuple(radios)
    seen: set[str] = set()
    out = []
    for radio, key in zip(radios, keys, strict=True):
        if radio.name in seen:
            radio = _renamed(radio, f"{radio.name} ({dotted(key)})")
        seen.add(radio.name)
        out.append(radio)
    return tuple(out)


def _renamed(radio: Radio, name: str) -> Radio:
    return Radio(name, radio.if_index, radio.band, radio.channel, radio.frequency_mhz, radio.clients,
                 radio.utilization_pct, radio.noise_floor_dbm, radio.tx_power_dbm, radio.oper_up)


def read_radios(table: RadioTable, columns: Columns, if_names: Mapping[int, str] | None = None,
                *, keys: Sequence[Oid] | None = None) -> tuple[Radio, ...]:
    """A device's own radios: one per row of ``table.rows`` (or per given KEY), by KEY.

    The default name is the interface's IF-MIB name when the KEY is one sub-id that ``if_names``
    knows, else ``radio <key>``."""
    keys = sorted(keys) if keys is not None else row_keys(table, columns)
    reader = _RadioReader(table, columns, if_names, keys)
    return _unique(reader.read_many(keys), keys)


def _ap_key(key: Oid, ap_keys: Sequence[Oid] | set[Oid], lengths: Sequence[int] | None = None) -> Oid | None:
    """The longest AP KEY that a controller radio row's index starts with: a set lookup per distinct KEY
    length (longest first), so a controller of 10,000 APs and 20,000 radios costs 20,000 lookups, not 2e8
    prefix comparisons."""
    known = ap_keys if isinstance(ap_keys, set) else set(ap_keys)
    for size in lengths if lengths is not None else sorted({len(ap) for ap in known}, reverse=True):
        if size < len(key) and key[:size] in known:
            return key[:size]
    return None


def _ap_tie(on: str, value: Value | None) -> str | None:
    """What a radio row's `ap` column says of its AP, as _ap_owners keys it: text (a name, a dotted KEY) or a
    MAC (6 octets, or text in any usual spelling); None when not said."""
    if value is None or isinstance(value, Absent):
        return None
    if on == "mac":
        found = convert(_PLAIN, "mac", value)
        return found if isinstance(found, str) else None
    return _text(value) or None


_PLAIN = FieldSpec()


def _ap_owners(link: ApLink, aps: ApTable, columns: Columns, keys: Sequence[Oid]) -> dict[str | None, Oid]:
    """The AP KEY each `ap` value names (on name / key / mac); two APs of one name or MAC: the first (KEY
    order) has the radios, as a controller listing one AP twice would be read ambiguously anyway."""
    found: dict[str | None, Oid] = {}
    if link.on == "key":
        values: Iterable[object] = map(dotted, keys)
    else:
        field = aps.name if link.on == "name" else aps.mac
        column = _Column(field, link.on, columns, None, keys, _str)
        values = [column.value(key, None) for key in keys]
    for key, value in zip(keys, values, strict=True):
        if isinstance(value, str) and value:
            found.setdefault(value, key)
    found.pop(None, None)
    return found


def read_managed(spec: ControllerSpec, columns: Columns) -> tuple[ManagedAp, ...]:
    """A controller's APs, each with the radio rows whose index starts with its KEY (default radio name:
    ``radio <slot>``, the rest of the index), or, with ``controller.radios.ap``, whose `ap` column names it
    (default radio name: ``radio <KEY>``, the row's own index).

    Each FIELD is compiled once for these columns (``_Column``: most are converted column by column) and the
    radio rows go to their APs in one pass: 10,000 APs and their radios are read in tens of milliseconds.
    A count-only controller (no per-AP table) lists none: ()."""
    aps = spec.aps
    if aps is None:
        return ()
    keys = row_keys(aps, columns)
    radios: dict[Oid, list[int]] = {}  # an AP's radios (their positions in radio_keys)
    radio_keys: list[Oid] = []
    read: list[Radio] = []
    if spec.radios is not None and spec.radios.ap is not None:  # each radio row names its AP in a column
        owners = _ap_owners(spec.radios.ap, aps, columns, keys)
        tie = columns.get(spec.radios.ap.column, {})
        for key in row_keys(spec.radios, columns):
            owner = owners.get(_ap_tie(spec.radios.ap.on, tie.get(key)))
            if owner is not None:
                radios.setdefault(owner, []).append(len(radio_keys))
                radio_keys.append(key)
        read = _RadioReader(spec.radios, columns, None, radio_keys).read_many(radio_keys)
    elif spec.radios is not None:
        known = set(keys)
        lengths = sorted({len(key) for key in known}, reverse=True)
        size = lengths[0] if len(lengths) == 1 else 0  # one KEY length (the usual): a slice and a set lookup
        slots = []
        for key in row_keys(spec.radios, columns):
            owner = (key[:size] if len(key) > size and key[:size] in known else None) if size else \
                _ap_key(key, known, lengths)
            if owner is not None:
                mine = radios.get(owner)
                if mine is None:
                    radios[owner] = [len(radio_keys)]
                else:
                    mine.append(len(radio_keys))
                radio_keys.append(key)
                slots.append(len(owner))
        read = _RadioReader(spec.radios, columns, None, radio_keys).read_many(radio_keys, slots)

    def own(key: Oid) -> tuple[Radio, ...]:
        mine = radios.get(key)
        if mine is None:
            return ()
        if len(mine) == 1:
            return (read[mine[0]],)
        found = [read[i] for i in mine]
        return tuple(found) if len({radio.name for radio in found}) == len(found) else \
            _unique(found, [radio_keys[i] for i in mine])

    names = _Column(aps.name, "name", columns, None, keys, _str)  # read with no name yet: by key
    fields = (_Column(aps.mac, "mac", columns, None, keys, _str),
              _Column(aps.joined, "joined", columns, None, keys, _bool),
              _Column(aps.reason, "reason", columns, None, keys, _str),
              _Column(aps.uptime_s, "uptime_s", columns, None, keys, _float),
              _Column(aps.clients, "clients", columns, None, keys, _int),
              _Column(aps.in_octets, "in_octets", columns, None, keys, _int),
              _Column(aps.out_octets, "out_octets", columns, None, keys, _int))
    name_list: list[str | None] = (list(map(names.cells.get, keys)) if names.cells is not None  # type: ignore[arg-type]
                                   else [names.value(key, None) for key in keys])  # type: ignore[misc]
    if all(f.cells is not None for f in fields):  # the usual case: column by column
        values = [list(map(f.cells.get, keys)) for f in fields if f.cells is not None]
    else:
        values = [[f.value(key, name) for key, name in zip(keys, name_list, strict=True)] for f in fields]
    found = tuple(map(ManagedAp, [_key_text("dotted", key) for key in keys], name_list, *values,
                      repeat(aps.counter_bits, len(keys)), map(own, keys)))
    if spec.radios is not None and spec.radios.clients is not None:
        # no per-AP client figure (Aruba's WLSX and Cisco's AIRESPACE have none): an AP's clients are its radios'
        found = tuple(map(_clients_from_radios, found))
    return found


def _clients_from_radios(ap: ManagedAp) -> ManagedAp:
    if ap.clients is not None:
        return ap
    counts = [radio.clients for radio in ap.radios if radio.clients is not None]
    return dataclasses.replace(ap, clients=sum(counts)) if counts else ap


def _count(value: Value) -> int | None:
    raw = _raw(value)
    number = _number(raw) if raw is not None else None
    return number if isinstance(number, int) and number >= 0 else None


def ap_count_of(sources: Sequence[ClientSource], scalars: Mapping[Oid, Value],
                walks: Mapping[Oid, Mapping[Oid, Value]]) -> int | None:
    """The controller's own AP count: the first alternative the device answers (a scalar or a sum with a
    usable number, a count with rows), else None."""
    for source in sources:
        if source.kind == "scalar":
            number = _count(scalars.get(source.oid))
            if number is not None:
                return number
        elif source.kind == "sum":
            numbers = [n for column in source.oids for n in map(_count, walks.get(column, {}).values())
                       if n is not None]
            if numbers:
                return sum(numbers)
        elif walks.get(source.oid):
            return len(walks[source.oid])
    return None


async def walk_columns(device: Device, columns: Sequence[Oid]) -> dict[Oid, dict[Oid, Value]]:
    """Every column walked at once (started together, so a WalkerDevice shares GETBULKs among them)."""
    walks = await asyncio.gather(*(device.walk(column) for column in columns))
    return {column: index_rows(column, rows) for column, rows in zip(columns, walks, strict=True)}


def interface_radios(interfaces: Iterable[Interface]) -> tuple[Radio, ...]:
    """The radios of IF-MIB radio interfaces (the profile's `interfaces.radios` rule, as discovery chose them):
    a name, an ifIndex and the oper status discovery saw, nothing more."""
    return tuple([Radio(i.name, if_index=i.if_index, oper_up=i.oper_up) for i in interfaces])


async def read_device_radios(device: Device, profile: Profile, if_names: Mapping[int, str] | None = None,
                             *, interfaces: Sequence[Interface] = ()) -> tuple[Radio, ...]:
    """The device's own radio table (the profile's `radios`), walked now; () when the profile has none.

    A table the device lists no row of gives the IF-MIB radio ``interfaces`` discovery chose instead (the poll
    does the same: Discovery.radio_keys empty), so a device whose firmware lacks the table keeps its radios."""
    if profile.radios is None:
        return ()
    columns = await walk_columns(device, table_columns(profile.radios))
    return read_radios(profile.radios, columns, if_names) or interface_radios(interfaces)


@dataclass(frozen=True, slots=True)
class RadioInstances:
    """What discovery fixes of a device's radio table, for every poll to GET (models/polling.py Discovery)."""

    keys: tuple[str, ...]  # the radios' KEYs, dotted
    cells: tuple[tuple[str, tuple[str, ...]], ...]  # (column, (row index, ...)), dotted: the instances to GET
    if_names: tuple[tuple[int, str], ...]  # IF-MIB names of the KEYs that are ifIndexes
    radios: tuple[Radio, ...]  # as read at discovery


def instances_of(table: RadioTable, columns: Columns, keys: Sequence[Oid],
                 radios: Sequence[Radio]) -> dict[Oid, list[Oid]]:
    """The rows each column must give on every poll for these radios: a field's row at each KEY (where the
    device has it), and a joined field's rows whose join value names one of the radios (both columns)."""
    cells: dict[Oid, dict[Oid, None]] = {}
    for _name, spec in table.fields():
        if spec.oid is None:
            continue
        rows = columns.get(spec.oid, {})
        if spec.join is None:
            cells.setdefault(spec.oid, {}).update((key, None) for key in keys if key in rows)
            continue
        on = spec.join.on
        if spec.join.column is None:  # on: prefix
            sizes, known = {len(key) for key in keys}, set(keys)
            cells.setdefault(spec.oid, {}).update(
                (index, None) for index in rows if any(len(index) > n and index[:n] in known for n in sizes))
            continue
        if on == "channel":  # every channel's row of each radio (its channel may change), and its channel
            known = set(keys)
            cells.setdefault(spec.oid, {}).update((index, None) for index in rows if index[:-1] in known)
            channels = columns.get(spec.join.column, {})
            cells.setdefault(spec.join.column, {}).update((key, None) for key in keys if key in channels)
            continue
        targets = ({dotted(key) for key in keys} if on == "key" else
                   {str(key[-1]) for key in keys if key} if on == "last" else {radio.name for radio in radios})
        by = columns.get(spec.join.column, {})
        for index, tie in by.items():
            if _text(tie) in targets and index in rows:
                cells.setdefault(spec.join.column, {})[index] = None
                cells.setdefault(spec.oid, {})[index] = None
    return {column: sorted(rows) for column, rows in cells.items() if rows}


async def fix_radio_instances(device: Device, table: RadioTable, if_names: Mapping[int, str]) -> RadioInstances:
    """Discovery's one walk of the radio table (every column at once): the KEYs and the instances to poll."""
    columns = await walk_columns(device, table_columns(table))
    keys = row_keys(table, columns)
    radios = read_radios(table, columns, if_names, keys=keys)
    cells = instances_of(table, columns, keys, radios)
    return RadioInstances(
        keys=tuple(dotted(key) for key in keys),
        cells=tuple((format_oid(column), tuple(dotted(index) for index in rows)) for column, rows in cells.items()),
        if_names=tuple((key[0], if_names[key[0]]) for key in keys if len(key) == 1 and key[0] in if_names),
        radios=radios)


def unread_fields(prefix: str, table: RadioTable | ApTable, columns: Columns) -> list[str]:
    """The figures a table names that the device did not answer: ``<prefix>.rows`` when it lists no row,
    else each field whose column (or join column) has no row at all."""
    if not columns.get(table.rows):
        return [f"{prefix}.rows"]
    found = [f"{prefix}.{name}" for name, spec in table.fields()
             if (spec.oid is not None and not columns.get(spec.oid))
             or (spec.join is not None and spec.join.column is not None and not columns.get(spec.join.column))]
    if isinstance(table, RadioTable) and table.ap is not None and not columns.get(table.ap.column):
        found.append(f"{prefix}.ap")
    return found


@dataclass(frozen=True, slots=True)
class ControllerWalk:
    """read_controller's reading, with what it walked (for `ap probe`'s unread)."""

    reading: ControllerReading
    columns: Mapping[Oid, Mapping[Oid, Value]]
    ap_count_stated: bool  # an ap_count alternative answered (else the count is the APs joined)

    def unread(self, spec: ControllerSpec) -> list[str]:
        found = unread_fields("controller.aps", spec.aps, self.columns) if spec.aps is not None else []
        if spec.radios is not None:
            found += unread_fields("controller.radios", spec.radios, self.columns)
        if spec.ap_count and not self.ap_count_stated:
            found.append("controller.ap_count")
        return found


CONTROLLER_REPETITIONS = 1000  # rows per GETBULK (all columns) a controller read asks for: the agent stops its
# answer at its message size (RFC 3416 4.2.3) or says tooBig (the walk then asks for fewer); our socket takes
# any UDP datagram (65,507 octets); 25, the walker's default, split among 10-15 columns, made 5,000 requests
CONTROLLER_MAX_ROWS = 500_000  # rows per column: a controller's radio table of tens of thousands of radios


def _for_tables(device: Device) -> Device:
    """A device that walks wide when it can (WalkerDevice.with_limits; pysnmp's walks keep their own)."""
    with_limits = getattr(device, "with_limits", None)
    if with_limits is None:
        return device
    wide: Device = with_limits(max_repetitions=max(CONTROLLER_REPETITIONS, getattr(device, "max_repetitions", 0)),
                               max_rows=max(CONTROLLER_MAX_ROWS, getattr(device, "max_rows", 0)))
    return wide


async def read_controller(device: Device, profile: Profile) -> ControllerReading:
    """One bulk walk of a controller's per-AP tables (every column and the ap_count sources at once)."""
    return (await walk_controller(device, profile)).reading


async def walk_controller(device: Device, profile: Profile) -> ControllerWalk:
    """read_controller, keeping the walked columns."""
    spec = profile.controller
    if spec is None:
        raise ValueError(f"profile {profile.name!r} has no controller section")
    start = time.monotonic()
    device = _for_tables(device)
    columns = controller_columns(spec)
    scalars = tuple(s.oid for s in spec.ap_count if s.kind == "scalar")
    counted = tuple(dict.fromkeys(oid for s in spec.ap_count if s.kind != "scalar" for oid in s.oids
                                  if oid not in columns))
    walked_columns = (*columns, *counted)

    async def get() -> dict[Oid, Value]:
        return await device.get(scalars) if scalars else {}

    walk_cells = getattr(device, "walk_cells", None)  # WalkerDevice: each column as {index: value} already
    with fewer_collections():  # a burst of ~15 objects per row, as discovery's: the collector mostly out of the way
        if walk_cells is not None:
            answered, walked = await asyncio.gather(get(), asyncio.gather(*(walk_cells(c) for c in walked_columns)))
            rows = dict(zip(walked_columns, walked, strict=True))
        else:
            answered, walked = await asyncio.gather(get(), asyncio.gather(*(device.walk(c) for c in walked_columns)))
            rows = {column: index_rows(column, got) for column, got in zip(walked_columns, walked, strict=True)}
        aps = read_managed(spec, rows)
    stated = ap_count_of(spec.ap_count, answered, rows)
    mono = time.monotonic()
    count = stated
    if count is None and spec.lists_aps:
        count = sum(1 for ap in aps if ap.joined)  # no count of its own (or none answered): the APs joined
    reading = ControllerReading(at=time.time(), mono=mono, walk_ms=(mono - start) * 1000, aps=aps,
                                ap_count=count, lists_aps=spec.lists_aps)
    return ControllerWalk(reading, rows, stated is not None)


def radios_from_cells(table: RadioTable, cells: Sequence[tuple[Oid, Oid]], values: Sequence[Value],
                      keys: Sequence[Oid], if_names: Mapping[int, str]) -> tuple[tuple[Radio, ...], bool]:
    """The radios from a poll's GET of the instances discovery fixed (``cells[i]`` = (column, row index) of
    ``values[i]``), and whether one has gone (the device no longer has it: rediscover)."""
    columns: dict[Oid, dict[Oid, Value]] = {}
    gone = False
    for (column, index), value in zip(cells, values, strict=True):
        if isinstance(value, Absent) or value is None:
            gone = True
            continue
        rows = columns.get(column)
        if rows is None:
            rows = columns[column] = {}
        rows[index] = value
    return read_radios(table, columns, if_names, keys=keys), gone


# A poll's radio cells, read from its GET. A FIELD's source for one radio: (None, constant) the same every
# poll; (position, conversion) a value of the GET; (_NAMED, (field, check)) a template naming the radio's name;
# (_JOINED, (join number, on, aggregate, check)) an aggregate of joined rows; (_PREFIXED, (positions,
# conversion, aggregate, check)) an aggregate of the values whose index starts with the radio's KEY (on: prefix).
_NAMED, _JOINED, _PREFIXED = -1, -2, -3
_Source = tuple[int | None, Any]
_POLL_FIELDS = (("if_index", _int), ("band", _str), ("channel", _int), ("frequency_mhz", _int), ("clients", _int),
                ("utilization_pct", _float), ("noise_floor_dbm", _float), ("tx_power_dbm", _float),
                ("oper_up", _bool))


class CellRadios:
    """``radios_from_cells(table, cells, values, keys, if_names)`` for one layout (a table, the instances a
    poll GETs, the radios' KEYs), worked out once and applied to each poll's values.

    Every poll of an AP GETs the same instances, and a fleet repeats a few layouts: what the generic
    reader compiles per call (each FIELD's conversion, which value belongs to which radio, the names
    and figures that do not depend on the values, the rows a join groups) is done here once, so a poll
    costs about one conversion per value. Same radios as ``radios_from_cells``
    (tests/collectors/test_tables_compiled.py holds them equal)."""

    __slots__ = ("from_channel", "joins", "keys", "names", "row_wise", "rows")

    def __init__(self, keys: tuple[Oid, ...], rows: tuple[tuple[Oid, _Source, str, tuple[_Source, ...]], ...],
                 joins: tuple[tuple[tuple[tuple[int, int | None], ...], Convert], ...], from_channel: bool,
                 row_wise: bool) -> None:
        self.keys = keys
        # per radio (KEYs sorted): its KEY, its name's source, the name without one, its fields' sources
        self.rows = rows
        self.joins = joins  # per joined FIELD: its rows' (value position, join value position), the conversion
        self.from_channel = from_channel
        self.row_wise = row_wise  # a FIELD depends on the name: _RadioReader.read's rules, not read_many's
        # the names read, by raw value: a fleet's radios are named by a handful of values, and each cycle read
        # them as new strings (56,000 a cycle of the city, kept in its outcomes and health); at most RADIO_NAMES
        self.names: dict[object, str | None] = {}

    def __call__(self, values: Sequence[Value]) -> tuple[tuple[Radio, ...], bool]:
        gone = False
        for value in values:
            if value is None or isinstance(value, Absent):
                gone = True
                break
        groups = [self._groups(pairs, conv, values) for pairs, conv in self.joins] if self.joins else []
        row_wise, names = self.row_wise, self.names
        found: list[Radio] = []
        for key, (position, how), default_name, sources in self.rows:
            if position is None:
                name = how
            else:
                value = values[position]
                if value is None or isinstance(value, Absent):
                    name = None
                elif (name := names.get(value, _UNREAD)) is _UNREAD:
                    name = how(value)
                    if len(names) < RADIO_NAMES:
                        names[value] = name
            if name is None:
                name = default_name
            elif row_wise and not name:
                name = f"radio {dotted(key)}"
            figures: list[object] = []
            for position, how in sources:
                if position is None:
                    figures.append(how)
                elif position >= 0:
                    value = values[position]
                    figures.append(None if value is None or isinstance(value, Absent) else how(value))
                elif position == _NAMED:
                    field, check = how
                    figures.append(check(field(key, name)))
                elif position == _PREFIXED:
                    positions, conv, aggregate, check = how
                    joined = []
                    for at in positions:
                        value = values[at]
                        if value is not None and not isinstance(value, Absent):
                            converted = conv(value)
                            if converted is not None:
                                joined.append(converted)
                    figures.append(check(_aggregate(aggregate, joined)))
                else:
                    number, on, aggregate, check = how
                    target = dotted(key) if on == "key" else (str(key[-1]) if on == "last" and key else name)
                    figures.append(check(None if target is None else
                                         _aggregate(aggregate, groups[number].get(target, []))))
            if_index, band, channel, frequency, clients, utilization, noise, tx_power, oper_up = figures
            if self.from_channel:
                frequency = channel_to_mhz(channel, band)  # type: ignore[arg-type]
            if band is None or (row_wise and not band):
                band = band_for(frequency)  # type: ignore[arg-type]
            found.append(Radio(name, if_index, band, channel, frequency, clients,  # type: ignore[arg-type]
                               utilization, noise, tx_power, oper_up))  # type: ignore[arg-type]
        return _unique(found, self.keys), gone

    @staticmethod
    def _groups(pairs: tuple[tuple[int, int | None], ...], conv: Convert,
                values: Sequence[Value]) -> dict[str, list[object]]:
        """A joined FIELD's rows grouped by their join value, as compile_field groups a column."""
        groups: dict[str, list[object]] = {}
        for at, tie_at in pairs:
            value = values[at]
            if value is None or isinstance(value, Absent) or tie_at is None:
                continue
            tie = values[tie_at]
            if tie is None or isinstance(tie, Absent):
                continue
            converted = conv(value)
            if converted is not None:
                groups.setdefault(_text(tie), []).append(converted)
        return groups


def compile_cell_radios(table: RadioTable, cells: Sequence[tuple[Oid, Oid]], keys: Sequence[Oid],
                        if_names: Mapping[int, str]) -> CellRadios | None:
    """The CellRadios of a layout, or None for one it leaves to ``radios_from_cells`` (an instance GET twice,
    a name that depends on itself)."""
    position = {cell: i for i, cell in enumerate(cells)}
    if len(position) != len(cells) or _by_name(table.name) or (table.name is not None and table.name.join):
        return None
    if any(spec.join is not None and spec.join.on == "channel" for _field, spec in table.fields()):
        return None  # on: channel (controller.radios only, by the loader): the generic reader
    from_channel = table.frequency_mhz is not None and table.frequency_mhz.source == "channel"
    specs = [("name", table.name, _str)] + [
        (field, None if field == "frequency_mhz" and from_channel else getattr(table, field), check)
        for field, check in _POLL_FIELDS]
    ordered = tuple(sorted(keys))
    joins: list[tuple[tuple[tuple[int, int | None], ...], Convert]] = []
    row_wise = False
    columns: list[Callable[[Oid], _Source]] = []
    for field, spec, check in specs:
        if spec is not None and spec.oid is not None and spec.join is None:
            # a cell's value, converted (map results checked), as _Column
            conv = compile_convert(spec, FIELD_KINDS[field])
            how: Convert = conv if spec.mapping is None else \
                (lambda value, conv=conv, check=check: check(conv(value)))  # type: ignore[misc]

            def at(key: Oid, oid: Oid = spec.oid, how: Convert = how) -> _Source:
                found = position.get((oid, key))
                return (None, None) if found is None else (found, how)
            columns.append(at)
        elif spec is not None and spec.oid is not None and spec.join is not None and spec.join.column is None:
            # on: prefix: each radio's rows are the instances of the column whose index extends its KEY
            prefixed = (compile_convert(spec, FIELD_KINDS[field]), spec.aggregate, check)

            def under(key: Oid, oid: Oid = spec.oid, prefixed: tuple[Any, ...] = prefixed) -> _Source:
                size = len(key)
                positions = tuple(i for i, (column, index) in enumerate(cells)
                                  if column == oid and len(index) > size and index[:size] == key)
                return (_PREFIXED, (positions, *prefixed))
            columns.append(under)
        elif spec is not None and spec.oid is not None and spec.join is not None:  # rows grouped every poll
            number, tie = len(joins), spec.join.column
            assert tie is not None  # on: prefix is the branch above
            joins.append((tuple((i, position.get((tie, index)))
                                for i, (column, index) in enumerate(cells) if column == spec.oid),
                          compile_convert(spec, FIELD_KINDS[field])))
            row_wise = row_wise or _by_name(spec)
            joined = (_JOINED, (number, spec.join.on, spec.aggregate, check))
            columns.append(lambda key, joined=joined: joined)  # type: ignore[misc]
        elif _by_name(spec):  # a template naming the name
            row_wise = True
            named = (_NAMED, (compile_field(spec, field, {}, if_names), check))
            columns.append(lambda key, named=named: named)  # type: ignore[misc]
        else:  # no FIELD, a template, from key/last/if_name: the same every poll
            constants = _Column(spec, field, {}, if_names, ordered, check).cells
            assert constants is not None
            columns.append(lambda key, constants=constants: (None, constants.get(key)))  # type: ignore[misc]
    explicit = table.name is not None
    rows = []
    for key in ordered:
        default = if_names.get(key[0]) if not explicit and len(key) == 1 else None
        name_source, *sources = (column(key) for column in columns)
        rows.append((key, name_source, default or f"radio {dotted(key)}", tuple(sources)))
    return CellRadios(ordered, tuple(rows), tuple(joins), from_channel, row_wise)
