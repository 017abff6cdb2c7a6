"""Radio and controller tables: the FIELD grammar, evaluated on columns, and the loader's refusals."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from hotspotctl.collectors.model import NO_SUCH_OBJECT, Value
from hotspotctl.collectors.oids import Oid, parse_oid
from hotspotctl.collectors.profiles import (
    ApTable,
    ClientSource,
    ControllerSpec,
    FieldSpec,
    Join,
    Profile,
    RadioTable,
    describe_profile,
    load_profile,
)
from hotspotctl.collectors.tables import (
    ap_count_of,
    columns_from_instances,
    compile_cell_radios,
    compile_field,
    controller_columns,
    convert,
    index_rows,
    instances_of,
    radios_from_cells,
    read_controller,
    read_device_radios,
    read_managed,
    read_radios,
    table_columns,
    unread_fields,
)
from hotspotctl.errors import ConfigError
from hotspotctl.models.radios import Radio
from hotspotctl.simulate.snmprec import Record, Recording
from tests.collectors.fakes import RecordedDevice

BASE = "name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\n"
T = "1.3.6.1.4.1.99.1"  # a made-up table: columns T.1 .. T.9


def col(n: int) -> Oid:
    return parse_oid(f"{T}.{n}")


def write(folder: Path, text: str) -> Path:
    path = folder / "x.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def profile(tmp_path: Path, section: str) -> Profile:
    return load_profile(write(tmp_path, BASE + section))


def columns(cells: dict[tuple[int, ...], Value]) -> dict[Oid, dict[Oid, Value]]:
    """{(column n, *index): value} -> {column: {index: value}}."""
    found: dict[Oid, dict[Oid, Value]] = {}
    for (n, *index), value in cells.items():
        found.setdefault(col(n), {})[tuple(index)] = value
    return found


# --- the loader --------------------------------------------------------------------------------------


def test_a_full_radios_section_loads_and_is_described(tmp_path: Path) -> None:
    loaded = profile(tmp_path, f"""
radios:
  rows: {T}.1
  name: {{oid: {T}.2, parse: '^(\\S+)'}}
  if_index: {{from: key}}
  band: {{oid: {T}.3, map: {{1: 2.4GHz, 2: 5GHz}}}}
  channel: {T}.4
  frequency_mhz: {{from: channel}}
  clients: {{oid: {T}.5, join: {{column: {T}.6, on: name}}}}
  utilization_pct: {{oid: {T}.7, scale: 0.01}}
  noise_floor_dbm: {{oid: {T}.8, offset: -256, ignore: [0]}}
  tx_power_dbm: {{oid: {T}.9, join: {{column: {T}.6, on: key}}, aggregate: max}}
  oper_up: {{oid: {T}.10, map: {{1: true, 2: false}}}}
""")
    table = loaded.radios
    assert table is not None and loaded.controller is None
    assert table.rows == col(1)
    assert table.if_index == FieldSpec(source="key")
    assert table.band is not None and table.band.mapping == ((1, "2.4GHz"), (2, "5GHz"))
    assert table.clients is not None and table.clients.join == Join(col(6), "name")
    assert table.clients.aggregate == "sum"  # clients default to a sum
    assert table.tx_power_dbm is not None and table.tx_power_dbm.aggregate == "max"
    assert table.noise_floor_dbm == FieldSpec(oid=col(8), offset=-256.0, ignore=(0,))
    assert table_columns(table) == tuple(col(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
    described = describe_profile(loaded)
    assert described["radios"]["rows"] == f"{T}.1"
    assert described["radios"]["clients"] == {"oid": f"{T}.5", "join": {"column": f"{T}.6", "on": "name"},
                                              "aggregate": "sum"}
    assert described["radios"]["band"] == {"oid": f"{T}.3", "map": {"1": "2.4GHz", "2": "5GHz"}}
    assert described["controller"] is None


def test_a_controller_section_loads_and_is_described(tmp_path: Path) -> None:
    loaded = profile(tmp_path, f"""
controller:
  aps:
    rows: {T}.1
    name: {T}.2
    mac: {{from: key}}
    joined: {{oid: {T}.3, map: {{1: true, 2: false}}}}
    reason: {{oid: {T}.3, map: {{2: downloading, 3: disassociated}}}}
    uptime_s: {{oid: {T}.4, scale: 0.01}}
    counter_bits: 32
  radios:
    rows: {T}.5
    channel: {T}.6
  ap_count:
    - scalar: {T}.9.0
    - count: {T}.1
""")
    spec = loaded.controller
    assert spec is not None and loaded.radios is None
    assert spec.aps.counter_bits == 32 and spec.aps.mac == FieldSpec(source="key")
    assert spec.ap_count == (ClientSource("scalar", parse_oid(f"{T}.9.0")), ClientSource("count", col(1)))
    assert controller_columns(spec) == (col(1), col(2), col(3), col(4), col(5), col(6))
    described = describe_profile(loaded)["controller"]
    assert described["aps"]["counter_bits"] == 32
    assert described["aps"]["mac"] == {"from": "key"}
    assert described["radios"] == {"rows": f"{T}.5", "channel": {"oid": f"{T}.6"}}
    assert described["ap_count"] == [{"scalar": f"{T}.9.0"}, {"count": f"{T}.1"}]


def test_a_join_on_channel_loads_as_the_channel_column_and_reads_the_row_at_key_and_channel(tmp_path: Path) -> None:
    loaded = profile(tmp_path, f"""
controller:
  aps: {{rows: {T}.1}}
  radios:
    rows: {T}.5
    channel: {T}.6
    noise_floor_dbm: {{oid: {T}.7, join: {{on: channel}}}}
""")
    spec = loaded.controller
    assert spec is not None and spec.radios is not None
    # the join's column is the table's channel column: walked with the rest, and its value picks the row
    assert spec.radios.noise_floor_dbm == FieldSpec(oid=col(7), join=Join(col(6), "channel"))
    assert controller_columns(spec) == (col(1), col(5), col(6), col(7))
    assert describe_profile(loaded)["controller"]["radios"]["noise_floor_dbm"] == {
        "oid": f"{T}.7", "join": {"on": "channel"}, "aggregate": "first"}
    columns = {col(1): {(9,): b"ap"}, col(5): {(9, 0): 1, (9, 1): 2, (9, 2): 1},
               col(6): {(9, 0): 6, (9, 1): 36, (9, 2): b"ch"},  # a channel that is no number: no row
               col(7): {(9, 0, 1): -90, (9, 0, 6): -87, (9, 0, 11): -92, (9, 1, 40): -95, (9, 2, 6): -80}}
    (ap,) = read_managed(spec, columns)
    # slot 0 on channel 6 gets the row at 6, not 1 or 11; slot 1 on 36 has only a row at 40: none
    assert [(r.channel, r.noise_floor_dbm) for r in ap.radios] == [(6, -87.0), (36, None), (None, None)]
    noise = compile_field(spec.radios.noise_floor_dbm, "noise_floor_dbm", columns)
    assert [noise(key, None) for key in ((9, 0), (9, 1), (9, 2))] == [-87.0, None, None]
    # the loader keeps it to controller.radios; should instances of it be fixed for a poll, they are every
    # channel's row of each radio (its channel may move) and its channel, read by the generic reader
    keys = [(9, 0), (9, 1), (9, 2)]
    fixed = instances_of(spec.radios, columns, keys, read_radios(spec.radios, columns))
    assert fixed[col(7)] == [(9, 0, 1), (9, 0, 6), (9, 0, 11), (9, 1, 40), (9, 2, 6)]
    assert fixed[col(6)] == keys
    cells = [(column, index) for column, rows in fixed.items() for index in rows]
    moved = {(col(6), (9, 0)): 11}  # slot 0 moved to channel 11 since discovery
    got = [moved.get(cell, columns[cell[0]][cell[1]]) for cell in cells]
    assert compile_cell_radios(spec.radios, cells, keys, {}) is None
    radios, gone = radios_from_cells(spec.radios, cells, got, keys, {})
    assert [(r.channel, r.noise_floor_dbm) for r in radios] == [(11, -92.0), (36, None), (None, None)] and not gone


def test_controller_radios_named_by_an_ap_column_load_and_attach(tmp_path: Path) -> None:
    """controller.radios.ap: a radio table indexed by its own row number, its AP only in a column (MERU-GLOBAL-
    STATISTICS-MIB mwIf80211StatsTable's mwIf80211StatsNodeName): each row goes to the AP that column names,
    by name, KEY or MAC; the radio's KEY stays its row index (default name "radio <KEY>")."""
    def section(on: str) -> str:
        return f"""
controller:
  aps:
    rows: {T}.1
    name: {T}.1
    mac: {T}.2
  radios:
    rows: {T}.5
    ap: {{oid: {T}.6, on: {on}}}
    channel: {T}.5
    frequency_mhz: {{from: channel}}
"""
    loaded = profile(tmp_path, section("name"))
    spec = loaded.controller
    assert spec is not None and spec.radios is not None
    assert spec.radios.ap is not None and (spec.radios.ap.column, spec.radios.ap.on) == (col(6), "name")
    assert controller_columns(spec) == (col(1), col(2), col(5), col(6))
    assert describe_profile(loaded)["controller"]["radios"] == {
        "rows": f"{T}.5", "channel": {"oid": f"{T}.5"}, "frequency_mhz": {"from": "channel"},
        "ap": {"oid": f"{T}.6", "on": "name"}}
    aps = {(1, 7): b"ap-a", (1, 9): b"ap-b", (2, 7): b"\x00\x0c\xe6\x05\x00\x07", (2, 9): b"00:0C:E6:05:00:09"}
    radio_rows = {(5, 1): 6, (5, 2): 36, (5, 3): 11, (5, 4): 149}
    by = {"name": {(6, 1): b"ap-a", (6, 2): b"ap-a", (6, 3): b"ap-b", (6, 4): b"nobody"},
          "key": {(6, 1): 7, (6, 2): b"7", (6, 3): 9, (6, 4): 8},
          "mac": {(6, 1): b"000c.e605.0007", (6, 2): b"\x00\x0c\xe6\x05\x00\x07",
                  (6, 3): b"\x00\x0c\xe6\x05\x00\x09", (6, 4): b"00:0c:e6:05:00:01"}}
    for on, ties in by.items():
        spec = profile(tmp_path, section(on)).controller
        assert spec is not None
        read = read_managed(spec, columns({**aps, **radio_rows, **ties}))
        assert [(ap.key, ap.name, [(r.name, r.channel, r.frequency_mhz, r.band) for r in ap.radios])
                for ap in read] == [
            ("7", "ap-a", [("radio 1", 6, 2437, "2.4GHz"), ("radio 2", 36, 5180, "5GHz")]),
            ("9", "ap-b", [("radio 3", 11, 2462, "2.4GHz")])], on  # row 4 names no AP: read for none
    spec = profile(tmp_path, section("name")).controller
    assert spec is not None and spec.radios is not None
    assert unread_fields("controller.radios", spec.radios, columns({**aps, **radio_rows})) == ["controller.radios.ap"]


def test_a_count_only_controller_section_loads(tmp_path: Path) -> None:
    """A controller whose MIB gives only its own totals (ZYXEL-ES-CAPWAP, PEPLINK-WLC): ap_count, no aps."""
    loaded = profile(tmp_path, f"""
controller:
  ap_count:
    - scalar: {T}.9.0
""")
    spec = loaded.controller
    assert spec is not None and spec.aps is None and spec.radios is None and spec.lists_aps is False
    assert spec.ap_count == (ClientSource("scalar", parse_oid(f"{T}.9.0")),)
    assert controller_columns(spec) == ()
    assert describe_profile(loaded)["controller"] == {"aps": None, "radios": None, "ap_count": [{"scalar": f"{T}.9.0"}]}


AP_TABLE = "controller: {aps: {rows: 1.3.6.1.4.1.99.1.1, name: 1.3.6.1.4.1.99.1.2}, radios: {rows: 1.3.6.1.4.1.99.2.1, "


@pytest.mark.parametrize(("section", "message"), [
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, chanel: 1.3.6.1.4.1.99.1.2}\n",
     "x.yaml: radios.chanel: unknown key; did you mean 'channel'?"),
    ("radios: {name: 1.3.6.1.4.1.99.1.2}\n",
     "x.yaml: radios.rows: required: the column whose rows list the radios"),
    ("radios: {rows: 1.3.6.1.x}\n",
     "x.yaml: radios.rows: not a numeric OID: '1.3.6.1.x'"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {oid: 1.3.6.1.4.1.99.1.2, scael: 2}}\n",
     "x.yaml: radios.channel.scael: unknown key; did you mean 'scale'?"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, noise_floor_dbm: {oid: 1.3.6.1.4.1.99.1.2, parse: '(-?\\d+'}}\n",
     "x.yaml: radios.noise_floor_dbm.parse: not a valid regular expression"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, noise_floor_dbm: {oid: 1.3.6.1.4.1.99.1.2, parse: '-?\\d+ dBm'}}\n",
     "x.yaml: radios.noise_floor_dbm.parse: needs exactly one group (the value), has 0"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, band: {oid: 1.3.6.1.4.1.99.1.2, map: {1: fast}}}\n",
     "x.yaml: radios.band.map.1: band maps to a band like 2.4GHz, 5GHz, 6GHz, got 'fast'"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, oper_up: {oid: 1.3.6.1.4.1.99.1.2, map: {1: up, 2: down}}}\n",
     "x.yaml: radios.oper_up.map.1: oper_up maps to true or false, got 'up'"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {oid: 1.3.6.1.4.1.99.1.2, map: {1: eleven}}}\n",
     "x.yaml: radios.channel.map.1: channel maps to a number, got 'eleven'"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {oid: 1.3.6.1.4.1.99.1.2, map: {[1]: 1}}}\n",
     "x.yaml: not valid YAML"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {oid: 1.3.6.1.4.1.99.1.2, map: [1, 6]}}\n",
     "x.yaml: radios.channel.map: expected a mapping {raw value: channel}, got [1, 6]"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, oper_up: 1.3.6.1.4.1.99.1.2}\n",
     "x.yaml: radios.oper_up: oper_up needs a map to true/false, like {oid: 1.3.6.1.4.1.99.1.2, map: {1: true, "
     "2: false}}"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, oper_up: {oid: 1.3.6.1.4.1.99.1.2}}\n",
     "x.yaml: radios.oper_up: oper_up needs a map to true/false, like {1: true, 2: false}"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {from: key}}\n",
     "x.yaml: radios.channel.from: 'key' is not allowed here (channel takes an oid)"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, frequency_mhz: {from: key}}\n",
     "x.yaml: radios.frequency_mhz.from: 'key' is not allowed here (allowed for frequency_mhz: channel)"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, name: {from: channel}}\n",
     "x.yaml: radios.name.from: 'channel' is not allowed here (allowed for name: key, last, if_name)"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, name: {from: ifname}}\n",
     "x.yaml: radios.name.from: 'ifname' is not one of key, last, if_name, channel"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, clients: {oid: 1.3.6.1.4.1.99.1.2, join: {column: 1.3.6.1.4.1.99.1.3, "
     "on: ssid}}}\n",
     "x.yaml: radios.clients.join.on: 'ssid' is not one of key, name, last"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, clients: {oid: 1.3.6.1.4.1.99.1.2, join: {colum: 1.3.6.1.4.1.99.1.3}}}\n",
     "x.yaml: radios.clients.join.colum: unknown key; did you mean 'column'?"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, clients: {oid: 1.3.6.1.4.1.99.1.2, join: {column: 1.3.6.1.4.1.99.1.3}}}\n",
     "x.yaml: radios.clients.join: give column (an OID) and on (key, name or last), or on: prefix alone (the rows "
     "whose index starts with the KEY)"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, clients: {oid: 1.3.6.1.4.1.99.1.2, join: {on: key}}}\n",
     "x.yaml: radios.clients.join: give column (an OID) and on (key, name or last), or on: prefix alone"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, clients: {oid: 1.3.6.1.4.1.99.1.2, join: {column: 1.3.6.1.4.1.99.1.3, "
     "on: prefix}}}\n",
     "x.yaml: radios.clients.join.column: on: prefix takes no column: the rows of oid whose index starts with the "
     "KEY are joined"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, name: {oid: 1.3.6.1.4.1.99.1.2, join: {column: 1.3.6.1.4.1.99.1.3, "
     "on: name}}}\n",
     "x.yaml: radios.name.join.on: the name cannot be joined on the name; use key or last"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, clients: {oid: 1.3.6.1.4.1.99.1.2, aggregate: sum}}\n",
     "x.yaml: radios.clients.aggregate: aggregate goes with join"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, clients: {oid: 1.3.6.1.4.1.99.1.2, join: {column: 1.3.6.1.4.1.99.1.3, "
     "on: key}, aggregate: average}}\n",
     "x.yaml: radios.clients.aggregate: 'average' is not one of sum, max, min, first, any, all, count"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {oid: 1.3.6.1.4.1.99.1.2, join: {column: 1.3.6.1.4.1.99.1.3, "
     "on: key}, aggregate: any}}\n",
     "x.yaml: radios.channel.aggregate: any needs true/false (a map); channel is int: use sum, max, min, first, "
     "count"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, oper_up: {oid: 1.3.6.1.4.1.99.1.2, map: {1: true, 2: false}, "
     "join: {column: 1.3.6.1.4.1.99.1.3, on: name}, aggregate: sum}}\n",
     "x.yaml: radios.oper_up.aggregate: sum needs numbers; oper_up is bool: use first, any, all"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, utilization_pct: {oid: 1.3.6.1.4.1.99.1.2, join: {column: "
     "1.3.6.1.4.1.99.1.3, on: key}, aggregate: count}}\n",
     "x.yaml: radios.utilization_pct.aggregate: count gives a count of rows; utilization_pct is float: use sum, max, "
     "min, first"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, oper_up: {oid: 1.3.6.1.4.1.99.1.2, map: {1: true, 2: false}, "
     "aggregate: any}}\n",
     "x.yaml: radios.oper_up.aggregate: aggregate goes with join"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, oper_up: {oid: 1.3.6.1.4.1.99.1.2, join: {column: 1.3.6.1.4.1.99.1.3, "
     "on: name}, aggregate: all}}\n",
     "x.yaml: radios.oper_up: oper_up needs a map to true/false, like {1: true, 2: false}"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, band: {oid: 1.3.6.1.4.1.99.1.2, join: {column: 1.3.6.1.4.1.99.1.3, "
     "on: key}, aggregate: sum}}\n",
     "x.yaml: radios.band.aggregate: sum needs numbers; band is band: use first"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, clients: {join: {column: 1.3.6.1.4.1.99.1.3, on: key}, from: key}}\n",
     "x.yaml: radios.clients.from: 'key' is not allowed here (clients takes an oid)"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, if_index: {from: key, join: {column: 1.3.6.1.4.1.99.1.3, on: key}}}\n",
     "x.yaml: radios.if_index.join: join goes with oid"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {oid: 1.3.6.1.4.1.99.1.2, from: key}}\n",
     "x.yaml: radios.channel: give exactly one of oid (a column), from (key, last, if_name, channel) or template"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {scale: 2}}\n",
     "x.yaml: radios.channel: give exactly one of oid"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {oid: 1.3.6.1.4.1.99.1.2, scale: 0}}\n",
     "x.yaml: radios.channel.scale: expected a non-zero number, got 0"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {oid: 1.3.6.1.4.1.99.1.2, offset: '-256'}}\n",
     "x.yaml: radios.channel.offset: expected a number, got '-256'"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, name: {oid: 1.3.6.1.4.1.99.1.2, scale: 2}}\n",
     "x.yaml: radios.name.scale: name is text, not a number; use map"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, name: {template: 'Radio {slot}'}}\n",
     "x.yaml: radios.name.template: unknown placeholder {slot} (allowed here: {key}, {last})"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, name: {template: 'Radio {name}'}}\n",
     "x.yaml: radios.name.template: unknown placeholder {name} (allowed here: {key}, {last})"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: {template: '{last}'}}\n",
     "x.yaml: radios.channel.template: a template gives text; channel is not text"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, name: {template: 'r{last}', map: {1: a}}}\n",
     "x.yaml: radios.name.map: applies to a column's values (oid) or the key"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, frequency_mhz: {from: channel, scale: 1000}}\n",
     "x.yaml: radios.frequency_mhz.scale: applies to a column's values (oid) or the key"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, noise_floor_dbm: {oid: 1.3.6.1.4.1.99.1.2, ignore: [true]}}\n",
     "x.yaml: radios.noise_floor_dbm.ignore: expected a list of numbers or texts, got [True]"),
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, channel: 1.3.6.1.4.1.99.1.2, noise_floor_dbm: {oid: 1.3.6.1.4.1.99.1.3, "
     "join: {on: channel}}}\n",
     "x.yaml: radios.noise_floor_dbm.join.on: on: channel is read only in controller.radios (a controller's "
     "per-channel tables, indexed AP + slot + channel); not here"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1, clients: {oid: 1.3.6.1.4.1.99.1.3, join: {on: channel}}}}\n",
     "x.yaml: controller.aps.clients.join.on: on: channel is read only in controller.radios"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1}, radios: {rows: 1.3.6.1.4.1.99.1.2, noise_floor_dbm: "
     "{oid: 1.3.6.1.4.1.99.1.3, join: {on: channel}}}}\n",
     "x.yaml: controller.radios.noise_floor_dbm.join.on: on: channel needs controller.radios.channel given as a "
     "column (an OID, not joined): its value at the KEY is the row's last sub-id"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1}, radios: {rows: 1.3.6.1.4.1.99.1.2, channel: {oid: "
     "1.3.6.1.4.1.99.1.4, join: {on: channel}}}}\n",
     "x.yaml: controller.radios.channel.join.on: on: channel needs controller.radios.channel given as a column"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1}, radios: {rows: 1.3.6.1.4.1.99.1.2, channel: 1.3.6.1.4.1.99.1.4, "
     "noise_floor_dbm: {oid: 1.3.6.1.4.1.99.1.3, join: {on: channel, column: 1.3.6.1.4.1.99.1.4}}}}\n",
     "x.yaml: controller.radios.noise_floor_dbm.join.column: on: channel takes no column: the row of oid at the KEY "
     "followed by the radio's channel (its `channel` column's value) is read"),
    ("controller: {}\n",
     "x.yaml: controller: give controller.aps (the per-AP table: rows, name, mac, joined, ...) or, for a "
     "controller whose MIB has only its own totals, controller.ap_count"),
    ("controller: {ap_count: [{scalar: 1.3.6.1.4.1.99.1.9.0}], radios: {rows: 1.3.6.1.4.1.99.1.1}}\n",
     "x.yaml: controller.aps: required: the controller's per-AP table (controller.radios rows start with"),
    ("controller: {radios: {rows: 1.3.6.1.4.1.99.1.1}}\n",
     "x.yaml: controller.aps: required: the controller's per-AP table"),
    ("controller: {aps: {name: 1.3.6.1.4.1.99.1.2}}\n",
     "x.yaml: controller.aps.rows: required: the column whose rows list the APs"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1, joined: {oid: 1.3.6.1.4.1.99.1.2, map: {1: associated}}}}\n",
     "x.yaml: controller.aps.joined.map.1: joined maps to true or false, got 'associated'"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1, counter_bits: 16}}\n",
     "x.yaml: controller.aps.counter_bits: expected 64 or 32, got 16"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1, mac: {from: last}}}\n",
     "x.yaml: controller.aps.mac.from: 'last' is not allowed here (allowed for mac: key)"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1, radios: {}}}\n",
     "x.yaml: controller.aps.radios: radios go beside aps, as controller.radios"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1, nmae: 1.3.6.1.4.1.99.1.2}}\n",
     "x.yaml: controller.aps.nmae: unknown key; did you mean 'name'?"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1}, ap_count: [{average: 1.3.6.1.4.1.99.1.1}]}\n",
     "x.yaml: controller.ap_count[0].average: unknown key"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1}, ap_cont: []}\n",
     "x.yaml: controller.ap_cont: unknown key; did you mean 'ap_count'?"),
    ("controller: {aps: {rows: 1.3.6.1.4.1.99.1.1}, radios: {rows: 1.3.6.1.4.1.99.1.2, utilisation_pct: 1.3.6.1.4.1.9}}\n",
     "x.yaml: controller.radios.utilisation_pct: unknown key; did you mean 'utilization_pct'?"),
    ("radio: {rows: 1.3.6.1.4.1.99.1.1}\n",
     "x.yaml: radio: unknown key; did you mean 'radios'?"),
    # controller.radios.ap: the column naming each radio row's AP (a table indexed by its own row number)
    ("radios: {rows: 1.3.6.1.4.1.99.1.1, ap: {oid: 1.3.6.1.4.1.99.1.2, on: name}}\n",
     "x.yaml: radios.ap: ap is for controller.radios (the column naming each radio row's AP); a device's own "
     "radios have no AP to name"),
    (AP_TABLE + "ap: 1.3.6.1.4.1.99.2.2}}\n",
     "x.yaml: controller.radios.ap: expected {oid: COLUMN, on: name | key | mac} (the column whose value names "
     "the row's AP), got '1.3.6.1.4.1.99.2.2'"),
    (AP_TABLE + "ap: {on: name}}}\n",
     "x.yaml: controller.radios.ap.oid: required: the column of the radio table whose value names the row's AP"),
    (AP_TABLE + "ap: {oid: 1.3.6.1.4.1.99.2.2}}}\n",
     "x.yaml: controller.radios.ap.on: required: what that column holds of the AP: name, key, mac"),
    (AP_TABLE + "ap: {oid: 1.3.6.1.4.1.99.2.2, on: last}}}\n",
     "x.yaml: controller.radios.ap.on: 'last' is not one of name, key, mac"),
    (AP_TABLE + "ap: {oid: 1.3.6.1.4.1.99.2.2, on: prefix}}}\n",
     "x.yaml: controller.radios.ap.on: 'prefix' is not one of name, key, mac"),
    (AP_TABLE + "ap: {oid: 1.3.6.1.4.99.2.x, on: name}}}\n",
     "x.yaml: controller.radios.ap.oid: not a numeric OID: '1.3.6.1.4.99.2.x'"),
    (AP_TABLE + "ap: {oid: 1.3.6.1.4.1.99.2.2, on: name, aggregate: sum}}}\n",
     "x.yaml: controller.radios.ap.aggregate: unknown key"),
    (AP_TABLE + "ap: {column: 1.3.6.1.4.1.99.2.2, on: name}}}\n",
     "x.yaml: controller.radios.ap.column: unknown key"),
])
def test_loader_refuses_mistakes_naming_file_and_key(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_profile(write(tmp_path, BASE + section))
    assert str(caught.value).startswith(message), str(caught.value)


# --- one value through a FIELD ------------------------------------------------------------------------


def test_convert_reads_each_kind() -> None:
    plain = FieldSpec(oid=col(1))
    assert convert(plain, "int", 11) == 11
    assert convert(plain, "int", b" 36 ") == 36  # a decimal OCTET STRING is a number
    assert convert(plain, "float", b"-95.5") == -95.5
    assert convert(plain, "int", b"n/a") is None
    assert convert(plain, "int", NO_SUCH_OBJECT) is None and convert(plain, "int", None) is None
    assert convert(plain, "text", b"wifi0\x00") == "wifi0"
    assert convert(plain, "text", b"") is None
    assert convert(plain, "text", 7) == "7"
    assert convert(plain, "mac", b"\x00\x0b\x86\x01\x02\x03") == "00:0b:86:01:02:03"
    assert convert(plain, "mac", b"000B.8601.0203") == "00:0b:86:01:02:03"
    assert convert(plain, "mac", b"garbage") is None
    assert convert(plain, "band", b"5GHz") == "5GHz"
    assert convert(plain, "band", b"2.4 GHz") == "2.4GHz"
    assert convert(plain, "band", b"802.11a/n 5G") == "5GHz"
    assert convert(plain, "band", 5180) == "5GHz"  # a frequency in MHz
    assert convert(plain, "band", 3) is None  # an enum needs a map
    assert convert(plain, "bool", 1) is None  # a bool needs a map (the loader insists)


def test_scale_then_offset_and_divisors_are_exact() -> None:
    assert convert(FieldSpec(oid=col(1), scale=0.01), "float", 4523) == 45.23  # not 45.230000000000004
    assert 4523 * 0.01 != 45.23
    assert convert(FieldSpec(oid=col(1), scale=0.1), "float", 157) == 15.7
    assert convert(FieldSpec(oid=col(1), scale=-1.0), "float", 95) == -95.0
    assert convert(FieldSpec(oid=col(1), scale=2.0, offset=-3.0), "float", 10) == 17.0
    assert convert(FieldSpec(oid=col(1), offset=-256.0), "float", 161) == -95.0
    assert convert(FieldSpec(oid=col(1), scale=0.001), "int", 5180000) == 5180
    assert convert(FieldSpec(oid=col(1), scale=0.5), "int", 5) == 2  # an int field rounds (half to even)
    assert convert(FieldSpec(oid=col(1), scale=0.01), "float", 12345678) == 123456.78


def test_map_parse_and_ignore() -> None:
    enum = FieldSpec(oid=col(1), mapping=((1, "2.4GHz"), (2, "5GHz"), ("six", "6GHz")))
    assert convert(enum, "band", 2) == "5GHz"
    assert convert(enum, "band", b"2") == "5GHz"  # decimal text matches a number key
    assert convert(enum, "band", b"six") == "6GHz"
    assert convert(enum, "band", 9) is None  # unmapped: not said
    up = FieldSpec(oid=col(1), mapping=((1, True), (2, False)))
    assert convert(up, "bool", 1) is True and convert(up, "bool", 2) is False and convert(up, "bool", 7) is None
    reasons = FieldSpec(oid=col(1), mapping=((2, "downloading"), (5, None)))
    assert convert(reasons, "text", 2) == "downloading" and convert(reasons, "text", 5) is None
    dbm = FieldSpec(oid=col(1), parse=re.compile(r"(-?\d+)\s*dBm", re.IGNORECASE))
    assert convert(dbm, "float", b"-95 dBm") == -95.0
    assert convert(dbm, "float", b"unknown") is None
    assert convert(dbm, "float", -90) == -90.0  # parse applies to text only
    ignored = FieldSpec(oid=col(1), ignore=(0, "N/A"))
    assert convert(ignored, "float", 0) is None and convert(ignored, "float", b"0") is None
    assert convert(ignored, "float", b"N/A") is None and convert(ignored, "float", -92) == -92.0
    both = FieldSpec(oid=col(1), parse=re.compile(r"ch(\d+)"), ignore=(0,), scale=1.0, offset=0.0)
    assert convert(both, "int", b"ch0") is None and convert(both, "int", b"ch36") == 36


# --- tables read from columns ---------------------------------------------------------------------------


def test_read_radios_by_key_with_every_field_source() -> None:
    table = RadioTable(
        rows=col(1), name=FieldSpec(oid=col(2)), if_index=FieldSpec(source="key"),
        band=FieldSpec(oid=col(3), mapping=((1, "2.4GHz"), (2, "5GHz"))), channel=FieldSpec(oid=col(4)),
        frequency_mhz=FieldSpec(source="channel"), utilization_pct=FieldSpec(oid=col(5), scale=0.01),
        noise_floor_dbm=FieldSpec(oid=col(6), offset=-256.0),
        oper_up=FieldSpec(oid=col(7), mapping=((1, True), (2, False))))
    cells = columns({(1, 8): 1, (1, 7): 1, (2, 7): b"wifi0", (2, 8): b"wifi1", (3, 7): 1, (3, 8): 2,
                     (4, 7): 6, (4, 8): 36, (5, 7): 4523, (6, 7): 161, (6, 8): 160, (7, 7): 1, (7, 8): 2})
    assert read_radios(table, cells) == (
        Radio("wifi0", if_index=7, band="2.4GHz", channel=6, frequency_mhz=2437, utilization_pct=45.23,
              noise_floor_dbm=-95.0, oper_up=True),
        Radio("wifi1", if_index=8, band="5GHz", channel=36, frequency_mhz=5180, noise_floor_dbm=-96.0,
              oper_up=False))


def test_band_from_the_frequency_when_the_device_gives_none_and_6ghz_channels() -> None:
    table = RadioTable(rows=col(1), frequency_mhz=FieldSpec(oid=col(2)), channel=FieldSpec(oid=col(3)))
    cells = columns({(1, 1): 1, (1, 2): 1, (2, 1): 2412, (2, 2): 5955, (3, 1): 1, (3, 2): 1})
    radios = read_radios(table, cells)
    assert [(r.name, r.band, r.frequency_mhz) for r in radios] == [("radio 1", "2.4GHz", 2412),
                                                                    ("radio 2", "6GHz", 5955)]
    six = RadioTable(rows=col(1), band=FieldSpec(oid=col(2), mapping=((3, "6GHz"),)), channel=FieldSpec(oid=col(3)),
                     frequency_mhz=FieldSpec(source="channel"))
    assert read_radios(six, columns({(1, 1): 1, (2, 1): 3, (3, 1): 1}))[0].frequency_mhz == 5955
    # no band, no frequency: the channel alone does not make one up
    bare = RadioTable(rows=col(1), channel=FieldSpec(oid=col(3)))
    assert read_radios(bare, columns({(1, 1): 1, (3, 1): 36}))[0].band is None


def test_names_if_name_template_last_and_defaults() -> None:
    cells = columns({(1, 5): 1, (1, 6): 1, (1, 9): 1})
    if_names = {5: "wlan0", 6: "wlan1"}
    assert [r.name for r in read_radios(RadioTable(rows=col(1)), cells, if_names)] == ["wlan0", "wlan1", "radio 9"]
    by_if = RadioTable(rows=col(1), name=FieldSpec(source="if_name"))
    assert [r.name for r in read_radios(by_if, cells, if_names)] == ["wlan0", "wlan1", "radio 9"]
    templated = RadioTable(rows=col(1), name=FieldSpec(template="Radio {last} ({key})"))
    assert [r.name for r in read_radios(templated, cells, if_names)] == ["Radio 5 (5)", "Radio 6 (6)", "Radio 9 (9)"]
    two = columns({(1, 3, 0): 1, (1, 3, 1): 1})
    assert [r.name for r in read_radios(RadioTable(rows=col(1)), two, if_names)] == ["radio 3.0", "radio 3.1"]
    last = RadioTable(rows=col(1), if_index=FieldSpec(source="last"), name=FieldSpec(source="key"))
    assert [(r.name, r.if_index) for r in read_radios(last, two)] == [("3.0", 0), ("3.1", 1)]
    # a name that repeats is made unique with the key
    same = RadioTable(rows=col(1), name=FieldSpec(template="wifi"))
    assert [r.name for r in read_radios(same, two)] == ["wifi", "wifi (3.1)"]
    # an if_index given by a column, and a key that is not one sub-id has no from: key if_index
    column = RadioTable(rows=col(1), if_index=FieldSpec(oid=col(2)))
    assert [r.if_index for r in read_radios(column, columns({(1, 3, 0): 1, (2, 3, 0): 12}))] == [12]
    assert read_radios(RadioTable(rows=col(1), if_index=FieldSpec(source="key")), two)[0].if_index is None


def test_join_on_name_key_and_last_with_aggregates() -> None:
    # UniFi-like: radio rows 1, 2 named ng / na; VAP rows 10..13 carry their radio's name and clients.
    cells = columns({(1, 1): 1, (1, 2): 1, (2, 1): b"ng", (2, 2): b"na",
                     (5, 10): b"ng", (5, 11): b"na", (5, 12): b"ng", (5, 13): b"xx",
                     (6, 10): 3, (6, 11): 7, (6, 12): 4, (6, 13): 100,
                     (7, 10): 0, (7, 11): -91, (7, 12): -93,
                     (8, 10): 1, (8, 11): 2, (8, 12): 1})
    join = Join(col(5), "name")
    table = RadioTable(rows=col(1), name=FieldSpec(oid=col(2)),
                       clients=FieldSpec(oid=col(6), join=join, aggregate="sum"),
                       noise_floor_dbm=FieldSpec(oid=col(7), join=join, aggregate="max", ignore=(0,)),
                       tx_power_dbm=FieldSpec(oid=col(7), join=join, aggregate="min", ignore=(0,)),
                       utilization_pct=FieldSpec(oid=col(6), join=join, aggregate="first"))
    ng, na = read_radios(table, cells)
    assert (ng.name, ng.clients, ng.noise_floor_dbm, ng.tx_power_dbm, ng.utilization_pct) == ("ng", 7, -93.0, -93.0, 3.0)
    assert (na.name, na.clients, na.noise_floor_dbm, na.tx_power_dbm, na.utilization_pct) == ("na", 7, -91.0, -91.0, 7.0)
    # on key: the join column holds the radio's KEY (an ifIndex, say)
    by_key = RadioTable(rows=col(1), clients=FieldSpec(oid=col(6), join=Join(col(8), "key"), aggregate="sum"))
    assert [r.clients for r in read_radios(by_key, cells)] == [7, 7]
    # on last: the join column holds the last sub-id of a two-part KEY
    two = columns({(1, 4, 1): 1, (1, 4, 2): 1, (8, 10): 1, (8, 11): 2, (8, 12): 1, (6, 10): 3, (6, 11): 7, (6, 12): 4})
    by_last = RadioTable(rows=col(1), clients=FieldSpec(oid=col(6), join=Join(col(8), "last"), aggregate="sum"))
    assert [r.clients for r in read_radios(by_last, two)] == [7, 7]
    # no joined row: not said (None), not zero
    empty = columns({(1, 1): 1})
    assert read_radios(by_key, empty)[0].clients is None


def test_join_any_all_and_count() -> None:
    # radio rows 1, 2, 3 named ng / na / 6e; VAP rows 10..15 carry their radio's name and a TruthValue state
    cells = columns({(1, 1): 1, (1, 2): 1, (1, 3): 1, (2, 1): b"ng", (2, 2): b"na", (2, 3): b"6e",
                     (5, 10): b"ng", (5, 11): b"ng", (5, 12): b"na", (5, 13): b"na", (5, 14): b"na", (5, 15): b"6e",
                     (6, 10): 1, (6, 11): 2, (6, 12): 2, (6, 13): 2, (6, 14): 9, (6, 15): 9})
    state = ((1, True), (2, False))
    join = Join(col(5), "name")

    def table(how: str, field: str = "oper_up") -> RadioTable:
        spec = FieldSpec(oid=col(6), join=join, aggregate=how, mapping=state if field == "oper_up" else None,
                         ignore=(9,) if field == "clients" else ())
        return RadioTable(rows=col(1), name=FieldSpec(oid=col(2)), **{field: spec})

    # any: up when one VAP is up; all: up only when every VAP is; an unmapped state (9) is not said and not
    # counted; a radio whose every VAP state is unsaid is not said either (None, never false)
    assert [r.oper_up for r in read_radios(table("any"), cells)] == [True, False, None]
    assert [r.oper_up for r in read_radios(table("all"), cells)] == [False, False, None]
    assert [r.oper_up for r in read_radios(table("first"), cells)] == [True, False, None]
    # count: the joined rows with a value said (ignore drops one)
    assert [r.clients for r in read_radios(table("count", "clients"), cells)] == [2, 2, None]
    # a radio with no VAP row at all: not said
    lone = columns({(1, 7): 1, (2, 7): b"ng5"})
    assert read_radios(table("any"), lone)[0].oper_up is None
    assert read_radios(table("count", "clients"), lone)[0].clients is None


def test_join_on_prefix_reads_rows_indexed_radio_then_vap(tmp_path: Path) -> None:
    # FortiAP-like: radios 0, 1, 2 (KEY one sub-id); the VAP column indexed radio.wlan; radio 2 has no VAP
    loaded = profile(tmp_path, f"radios: {{rows: {T}.1, clients: {{oid: {T}.6, join: {{on: prefix}}}}, "
                               f"oper_up: {{oid: {T}.7, map: {{1: true, 0: false}}, join: {{on: prefix}}, aggregate: any}}}}\n")
    table = loaded.radios
    assert table is not None and table.clients is not None and table.clients.join == Join(None, "prefix")
    assert table.clients.aggregate == "sum"
    assert describe_profile(loaded)["radios"]["clients"] == {"oid": f"{T}.6", "join": {"on": "prefix"},
                                                             "aggregate": "sum"}
    assert table_columns(table) == (col(1), col(6), col(7))  # no join column to walk
    cells = columns({(1, 0): 0, (1, 1): 0, (1, 2): 1, (6, 0, 0): 3, (6, 0, 1): 1, (6, 1, 0): 8, (6, 1, 1): 2,
                     (6, 10, 0): 50, (7, 0, 0): 0, (7, 0, 1): 1, (7, 1, 0): 0})
    assert [(r.clients, r.oper_up) for r in read_radios(table, cells)] == [(4, True), (10, False), (None, None)]
    # a row whose index is the KEY itself is not one of its rows; a longer KEY takes only its own rows
    two = columns({(1, 5, 1): 1, (1, 5, 2): 1, (6, 5, 1): 99, (6, 5, 1, 0): 2, (6, 5, 1, 1): 3, (6, 5, 2, 7): 4})
    assert [r.clients for r in read_radios(table, two)] == [5, 4]
    # the poll GETs exactly the joined rows, and reads the same from them
    keys = [(0,), (1,), (2,)]
    found = instances_of(table, cells, keys, read_radios(table, cells))
    assert found == {col(6): [(0, 0), (0, 1), (1, 0), (1, 1)], col(7): [(0, 0), (0, 1), (1, 0)]}
    assert unread_fields("radios", table, cells) == []


def test_read_managed_attaches_radios_to_the_ap_whose_key_starts_their_index() -> None:
    mac1, mac2 = (0, 11, 134, 1, 2, 3), (0, 11, 134, 1, 2, 4)
    spec = ControllerSpec(
        aps=ApTable(
            rows=col(1), name=FieldSpec(oid=col(2)), mac=FieldSpec(source="key"),
            joined=FieldSpec(oid=col(3), mapping=((1, True), (2, False))),
            reason=FieldSpec(oid=col(3), mapping=((2, "downloading"),)),
            uptime_s=FieldSpec(oid=col(4), scale=0.01), clients=FieldSpec(oid=col(5)),
            in_octets=FieldSpec(oid=col(6)), counter_bits=32),
        radios=RadioTable(rows=col(7), channel=FieldSpec(oid=col(7)), clients=FieldSpec(oid=col(8)),
                          name=FieldSpec(template="slot {last}")))
    cells = columns({(1, *mac1): 1, (1, *mac2): 1, (2, *mac1): b"AP-Zocalo-01", (2, *mac2): b"AP-Zocalo-02",
                     (3, *mac1): 1, (3, *mac2): 2, (4, *mac1): 123456, (5, *mac1): 9, (6, *mac1): 10 ** 9,
                     (7, *mac1, 0): 11, (7, *mac1, 1): 36, (8, *mac1, 0): 4, (8, *mac1, 1): 5,
                     (7, *mac2, 0): 1, (7, 9, 9, 9): 1})  # the last row belongs to no AP: dropped
    ap1, ap2 = read_managed(spec, cells)
    assert ap1.key == "0.11.134.1.2.3" and ap1.name == "AP-Zocalo-01" and ap1.mac == "00:0b:86:01:02:03"
    assert (ap1.joined, ap1.reason, ap1.uptime_s, ap1.clients, ap1.in_octets, ap1.out_octets) == \
        (True, None, 1234.56, 9, 10 ** 9, None)
    assert ap1.counter_bits == 32
    assert [(r.name, r.channel, r.clients, r.band) for r in ap1.radios] == [("slot 0", 11, 4, None),
                                                                            ("slot 1", 36, 5, None)]
    assert (ap2.joined, ap2.reason, ap2.uptime_s, ap2.clients) == (False, "downloading", None, None)
    assert [r.name for r in ap2.radios] == ["slot 0"]
    assert ap1.to_json()["radios"][1]["channel"] == 36
    # the default name of a controller radio is its slot (the index after the AP's KEY)
    plain = ControllerSpec(aps=spec.aps, radios=RadioTable(rows=col(7)))
    assert [r.name for r in read_managed(plain, cells)[0].radios] == ["radio 0", "radio 1"]


def test_ap_count_alternatives() -> None:
    scalar, summed, counted = parse_oid(f"{T}.9.0"), col(10), col(11)
    sources = (ClientSource("scalar", scalar), ClientSource("sum", summed), ClientSource("count", counted))
    assert ap_count_of(sources, {scalar: 12}, {}) == 12
    assert ap_count_of(sources, {scalar: NO_SUCH_OBJECT}, {summed: {(1,): 3, (2,): b"4"}}) == 7
    assert ap_count_of(sources, {}, {summed: {(1,): b"x"}, counted: {(1,): 1, (2,): 1}}) == 2
    assert ap_count_of(sources, {}, {}) is None
    assert ap_count_of((), {}, {}) is None


def test_instances_sort_into_columns_like_a_walk() -> None:
    rows = [((*col(1), 7), 1), ((*col(1), 8), NO_SUCH_OBJECT), ((*col(2), 7), 5), ((*col(1),), 9)]
    assert index_rows(col(1), rows) == {(7,): 1}
    answer = {(*col(1), 7): 1, (*col(1), 8): NO_SUCH_OBJECT, (*col(2), 7): b"x", (*col(3), 1): 2}
    assert columns_from_instances((col(1), col(2)), answer) == {col(1): {(7,): 1}, col(2): {(7,): b"x"}}


# --- over a device ---------------------------------------------------------------------------------------


class TogetherDevice(RecordedDevice):
    """A recorded device that notes how many walks were in flight at once."""

    def __init__(self, recording: Recording) -> None:
        super().__init__(recording)
        self.in_flight = 0
        self.most = 0

    async def walk(self, prefix: Oid) -> list[tuple[Oid, Value]]:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        rows = await super().walk(prefix)
        self.in_flight -= 1
        return rows

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        return await super().get(oids)


def _controller_recording() -> Recording:
    mac = (0, 11, 134, 1, 2, 3)
    return Recording([
        Record((*col(1), *mac), 2, 1), Record((*col(2), *mac), 4, b"AP-1"), Record((*col(3), *mac), 2, 1),
        Record((*col(7), *mac, 0), 2, 6), Record((*col(7), *mac, 1), 2, 149),
        Record(parse_oid(f"{T}.9.0"), 66, 40),
    ])


def test_read_controller_walks_every_column_at_once(tmp_path: Path) -> None:
    loaded = profile(tmp_path, f"""
controller:
  aps:
    rows: {T}.1
    name: {T}.2
    mac: {{from: key}}
    joined: {{oid: {T}.3, map: {{1: true, 2: false}}}}
  radios:
    rows: {T}.7
    channel: {T}.7
    frequency_mhz: {{from: channel}}
  ap_count:
    - scalar: {T}.9.0
""")
    device = TogetherDevice(_controller_recording())
    reading = asyncio.run(read_controller(device, loaded))
    assert device.most == 4  # T.1, T.2, T.3, T.7 walked together
    assert reading.ap_count == 40 and reading.joined == 1 and reading.walk_ms >= 0
    (ap,) = reading.aps
    assert (ap.name, ap.mac, ap.joined) == ("AP-1", "00:0b:86:01:02:03", True)
    assert [(r.name, r.channel, r.frequency_mhz, r.band) for r in ap.radios] == [
        ("radio 0", 6, 2437, "2.4GHz"), ("radio 1", 149, 5745, "5GHz")]
    # no ap_count alternative answered: the APs joined
    plain = profile(tmp_path, f"controller:\n  aps:\n    rows: {T}.1\n    joined: {{oid: {T}.3, map: {{1: true}}}}\n"
                              f"  ap_count: [{{count: {T}.50}}]\n")
    assert asyncio.run(read_controller(RecordedDevice(_controller_recording()), plain)).ap_count == 1
    with pytest.raises(ValueError, match="no controller section"):
        asyncio.run(read_controller(device, profile(tmp_path, "")))


def test_read_device_radios_walks_at_once_and_uses_if_names(tmp_path: Path) -> None:
    loaded = profile(tmp_path, f"radios:\n  rows: {T}.7\n  channel: {T}.7\n  clients: {T}.8\n")
    recording = Recording([Record((*col(7), 3), 2, 1), Record((*col(7), 4), 2, 44),
                           Record((*col(8), 3), 65, 2)])
    device = TogetherDevice(recording)
    radios = asyncio.run(read_device_radios(device, loaded, {3: "wlan0"}))
    assert device.most == 2
    assert [(r.name, r.channel, r.clients) for r in radios] == [("wlan0", 1, 2), ("radio 4", 44, None)]
    assert asyncio.run(read_device_radios(device, profile(tmp_path, ""), {})) == ()
