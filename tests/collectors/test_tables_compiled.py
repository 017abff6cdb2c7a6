"""The controller path's fast code gives what the plain code gives.

read_managed / read_radios compile each FIELD once (``compile_convert``, ``compile_field``, column by
column) instead of asking ``Row.value`` per cell; the walker looks a row's index up by its BER octets
instead of decoding every arc each time. Each is held equal to the plain code it replaces: the FIELD
transforms on generated specs and values, read_managed/read_radios on every recording a shipped profile
with a radios or controller section matches and on generated controller tables, and the walker's rows on
generated OIDs (its cache cold and warm).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspotctl.collectors import tables
from hotspotctl.collectors.codec import END_OF_MIB_VIEW_TAG, Response
from hotspotctl.collectors.discovery import discover, read_interfaces
from hotspotctl.collectors.model import NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Value
from hotspotctl.collectors.oids import Oid, decode_oid, encode_oid
from hotspotctl.collectors.poller import plan_poll
from hotspotctl.collectors.profiles import (
    FIELD_KINDS,
    ApLink,
    ApTable,
    ControllerSpec,
    FieldSpec,
    Join,
    RadioTable,
    load_profile,
    load_profiles,
)
from hotspotctl.collectors.tables import (
    Columns,
    Row,
    _unique,
    compile_cell_radios,
    compile_convert,
    compile_field,
    controller_columns,
    convert,
    dotted,
    index_rows,
    radios_from_cells,
    read_managed,
    read_radio,
    read_radios,
    row_keys,
    table_columns,
    walk_columns,
)
from hotspotctl.collectors.walker import WalkerClient, _Column
from hotspotctl.errors import CollectError
from hotspotctl.models.radios import ManagedAp, Radio
from tests.collectors.fakes import RecordedDevice
from tests.collectors.test_walker import COMMUNITY

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"
SIM_PROFILES = Path(__file__).resolve().parents[1] / "simulate" / "profiles"
TEST_PROFILES = Path(__file__).resolve().parents[1] / "fixtures" / "profiles-radios" / "profiles"
CASES = sorted(p.name for p in DEVICES.iterdir() if (p / "case.yaml").is_file())
T = (1, 3, 6, 1, 4, 1, 99, 1)  # a made-up table: columns T.1 .. T.9


# --- the plain code, as it was before compiling: the reference ---------------------------------------


def reference_read_radios(table: RadioTable, columns: Columns, if_names: dict[int, str] | None = None,
                          keys: Sequence[Oid] | None = None) -> tuple[Radio, ...]:
    keys = sorted(keys) if keys is not None else row_keys(table, columns)
    radios = [read_radio(table, Row(key, columns, if_names), f"radio {dotted(key)}") for key in keys]
    return _unique(radios, keys)


def reference_read_managed(spec: ControllerSpec, columns: Columns) -> tuple[ManagedAp, ...]:
    aps = spec.aps
    if aps is None:  # a count-only controller (no per-AP table) lists no AP
        return ()
    keys = row_keys(aps, columns)
    radios: dict[Oid, list[tuple[Oid, Radio]]] = {key: [] for key in keys}
    if spec.radios is not None and spec.radios.ap is not None:  # each radio row names its AP in a column
        link = spec.radios.ap
        said: dict[Oid, object] = {}
        for ap_key in keys:
            row = Row(ap_key, columns)
            said[ap_key] = dotted(ap_key) if link.on == "key" else row.value(
                aps.name if link.on == "name" else aps.mac, link.on)
        for key in row_keys(spec.radios, columns):
            tie = columns.get(link.column, {}).get(key)
            if tie is None:
                continue
            value = convert(FieldSpec(), "mac", tie) if link.on == "mac" else convert(FieldSpec(), "text", tie)
            owners = [ap for ap in keys if value and said[ap] == value]
            if owners:
                radios[owners[0]].append((key, read_radio(spec.radios, Row(key, columns), f"radio {dotted(key)}")))
    elif spec.radios is not None:
        for key in row_keys(spec.radios, columns):
            owners = [ap for ap in keys if len(ap) < len(key) and key[:len(ap)] == ap]
            if owners:
                owner = max(owners, key=len)
                radios[owner].append((key, read_radio(spec.radios, Row(key, columns),
                                                      f"radio {dotted(key[len(owner):])}")))
    found = []
    for key in keys:
        row = Row(key, columns)
        name = row.value(aps.name, "name")
        name = name if isinstance(name, str) and name else None
        row.name = name
        joined = row.value(aps.joined, "joined")

        def typed(value: object, kind: type) -> object:
            if kind is int:
                return value if isinstance(value, int) and not isinstance(value, bool) else None
            if kind is float:
                return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            return value if isinstance(value, str) and value else None

        mine = radios[key]
        clients = typed(row.value(aps.clients, "clients"), int)
        counts = [r.clients for _k, r in mine if r.clients is not None]
        if clients is None and counts and spec.radios is not None and spec.radios.clients is not None:
            clients = sum(counts)  # no per-AP client figure: the AP's radios'
        found.append(ManagedAp(
            key=dotted(key), name=name, mac=typed(row.value(aps.mac, "mac"), str),  # type: ignore[arg-type]
            joined=joined if isinstance(joined, bool) else None,
            reason=typed(row.value(aps.reason, "reason"), str),  # type: ignore[arg-type]
            uptime_s=typed(row.value(aps.uptime_s, "uptime_s"), float),  # type: ignore[arg-type]
            clients=clients,  # type: ignore[arg-type]
            in_octets=typed(row.value(aps.in_octets, "in_octets"), int),  # type: ignore[arg-type]
            out_octets=typed(row.value(aps.out_octets, "out_octets"), int),  # type: ignore[arg-type]
            counter_bits=aps.counter_bits, radios=_unique([r for _k, r in mine], [k for k, _r in mine])))
    return tuple(found)


# --- FIELD transforms ---------------------------------------------------------------------------------

raw_numbers = st.one_of(st.integers(-5, 300), st.sampled_from([0, 1, 2, 3, 4, 8, 2412, 5180, 2**32 - 1]))
texts = st.sampled_from(["", " ", "5GHz", "2.4 GHz", "6", "-95 dBm", "1", "2", "12.5", "Connect", "00:0b:86:01:02:03",
                         "000b.8601.0203", "wifi0", "a\x00b", " 7 "])
values = st.one_of(st.none(), raw_numbers, st.booleans(), texts.map(lambda t: t.encode()),
                   st.binary(max_size=8), texts, st.tuples(st.integers(0, 5), st.integers(0, 300)))
keys_and_results = st.tuples(st.one_of(raw_numbers, texts), st.one_of(st.booleans(), texts, raw_numbers))
specs = st.builds(
    lambda oid, scale, offset, mapping, parse, ignore: FieldSpec(
        oid=oid, scale=scale, offset=offset, mapping=tuple(mapping) if mapping is not None else None,
        parse=re.compile(parse) if parse else None, ignore=tuple(ignore)),
    st.just((*T, 2)), st.one_of(st.none(), st.sampled_from([0.01, 0.1, -1, 2, 0.5, 1e-3])),
    st.one_of(st.none(), st.sampled_from([-95, 0.5, 10])),
    st.one_of(st.none(), st.lists(keys_and_results, max_size=4)),
    st.one_of(st.none(), st.sampled_from([r"(-?\d+)", r"(\d+)\s*dBm", r"^(x)?$"])),
    st.lists(st.one_of(raw_numbers, texts, st.just(0.0)), max_size=3))


@settings(max_examples=400, deadline=None)
@given(spec=specs, kind=st.sampled_from(sorted(set(FIELD_KINDS.values()))), value=values)
def test_a_compiled_convert_equals_convert(spec: FieldSpec, kind: str, value: Value) -> None:
    expected = convert(spec, kind, value)
    got = compile_convert(spec, kind)(value)
    assert got == expected and type(got) is type(expected)


def generated_table() -> st.SearchStrategy[tuple[ControllerSpec, dict[Oid, dict[Oid, Value]]]]:
    """A controller spec over columns T.1..T.11 and cells for it: AP keys of one or two sub-ids, radio rows
    under them (and some under no AP), joins on key, last, name, prefix and channel, templates naming the name."""
    ap_keys = st.lists(st.one_of(st.tuples(st.integers(1, 40)), st.tuples(st.integers(1, 3), st.integers(1, 200))),
                       max_size=8, unique=True)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[ControllerSpec, dict[Oid, dict[Oid, Value]]]:
        aps = draw(ap_keys)
        radios = [(*ap, slot) for ap in aps for slot in draw(st.lists(st.integers(0, 3), max_size=3, unique=True))]
        radios += draw(st.lists(st.tuples(st.integers(41, 45), st.integers(0, 2)), max_size=2, unique=True))
        columns: dict[Oid, dict[Oid, Value]] = {(*T, n): {} for n in range(1, 12)}
        for key in aps:
            columns[(*T, 1)][key] = draw(values.filter(lambda v: v is not None)) if draw(st.booleans()) else \
                draw(st.sampled_from([b"ap", b"00:0c:e6:05:00:07"]))  # a name twice; a MAC (ap: on mac)
            for n in (2, 3):
                if draw(st.booleans()):
                    columns[(*T, n)][key] = draw(values.filter(lambda v: v is not None))
        for key in radios:
            columns[(*T, 4)][key] = draw(st.sampled_from([1, 2, 3, b"5GHz"]))
            for vap in draw(st.lists(st.integers(0, 3), max_size=2, unique=True)):  # rows indexed radio.VAP
                columns[(*T, 9)][(*key, vap)] = draw(raw_numbers)
            for n in (5, 6, 7):
                if draw(st.booleans()):
                    columns[(*T, n)][key] = draw(values.filter(lambda v: v is not None))
            # a per-channel table (index radio KEY + channel, read on: channel): rows at some channels, often
            # at the radio's own (its T.5 value)
            channels = draw(st.lists(st.sampled_from([0, 1, 6, 11, 36, 149]), max_size=3, unique=True))
            own = columns[(*T, 5)].get(key)
            if isinstance(own, int) and not isinstance(own, bool) and own >= 0 and draw(st.booleans()):
                channels.append(own)
            for channel in channels:
                columns[(*T, 10)][(*key, channel)] = draw(st.one_of(raw_numbers, values.filter(lambda v: v is not None)))
        for index in draw(st.lists(st.tuples(st.integers(1, 30)), max_size=6, unique=True)):  # VAP rows: join
            columns[(*T, 8)][index] = draw(st.sampled_from([b"slot 1", b"radio 0", b"1", b"2", b"1.2.1"]))
            columns[(*T, 9)][index] = draw(raw_numbers)
        for key in radios:  # controller.radios.ap: the column naming a radio row's AP (name, KEY or MAC)
            if draw(st.booleans()):
                columns[(*T, 11)][key] = draw(st.sampled_from(
                    [b"ap", b"nobody", b"00:0c:e6:05:00:07", b"000C.E605.0007",
                     *(f"AP {dotted(ap)}".encode() for ap in aps), *(dotted(ap).encode() for ap in aps),
                     *(ap[0] for ap in aps if len(ap) == 1)]))
        field = draw(specs)
        join_on = draw(st.sampled_from(["key", "last", "name", "prefix"]))
        join_column = None if join_on == "prefix" else (*T, 8)
        aggregate = draw(st.sampled_from(["first", "sum", "max", "min", "count"]))
        oper_up = draw(st.sampled_from([  # a radio's state from its own row, or from its VAPs' (any, all)
            FieldSpec(oid=(*T, 6), mapping=((1, True), (2, False))),
            *(FieldSpec(oid=(*T, 9), mapping=((1, True), (2, False)), join=Join(column=join_column, on=join_on),
                        aggregate=how) for how in ("any", "all", "first"))]))
        name = draw(st.sampled_from([
            FieldSpec(template="slot {last}"), FieldSpec(template="{key}"), None,
            FieldSpec(oid=(*T, 5)), FieldSpec(source="last")]))
        radio_table = RadioTable(
            rows=(*T, 4), name=name, band=FieldSpec(oid=(*T, 4), mapping=((1, "2.4GHz"), (2, "5GHz"))),
            channel=FieldSpec(oid=(*T, 5)), frequency_mhz=draw(st.sampled_from([FieldSpec(source="channel"), None])),
            clients=FieldSpec(oid=(*T, 9), join=Join(column=join_column, on=join_on), aggregate=aggregate),
            utilization_pct=FieldSpec(oid=(*T, 6), scale=field.scale, offset=field.offset, ignore=field.ignore),
            noise_floor_dbm=draw(st.sampled_from([  # its own row, or the row at its channel (on: channel)
                FieldSpec(oid=(*T, 7), parse=field.parse, mapping=field.mapping),
                FieldSpec(oid=(*T, 10), parse=field.parse, mapping=field.mapping, scale=field.scale,
                          join=Join(column=(*T, 5), on="channel"), aggregate=draw(st.sampled_from(["first", "max"])))])),
            tx_power_dbm=FieldSpec(template="{name}"), oper_up=oper_up,
            ap=draw(st.sampled_from([None, *(ApLink((*T, 11), on) for on in ("name", "key", "mac"))])))
        ap_table = ApTable(
            rows=(*T, 1), name=draw(st.sampled_from([FieldSpec(oid=(*T, 1)), FieldSpec(template="AP {key}")])),
            mac=draw(st.sampled_from([FieldSpec(source="key"), FieldSpec(oid=(*T, 1))])),
            joined=FieldSpec(oid=(*T, 2), mapping=((1, True), (2, False), ("Connect", True))),
            reason=FieldSpec(oid=(*T, 3)), uptime_s=FieldSpec(oid=(*T, 2), scale=0.01),
            clients=FieldSpec(oid=(*T, 9), join=Join(column=(*T, 8), on=draw(st.sampled_from(["key", "last", "name"])))),
            in_octets=field.__class__(oid=(*T, 3), mapping=field.mapping, ignore=field.ignore),
            out_octets=FieldSpec(source="key"))
        return ControllerSpec(aps=ap_table, radios=radio_table if draw(st.booleans()) else None), columns

    return build()


@settings(max_examples=300, deadline=None)
@given(case=generated_table())
def test_compiled_read_managed_equals_the_plain_reading_on_generated_tables(
        case: tuple[ControllerSpec, dict[Oid, dict[Oid, Value]]]) -> None:
    spec, columns = case
    assert read_managed(spec, columns) == reference_read_managed(spec, columns)
    if spec.radios is not None:
        assert read_radios(spec.radios, columns) == reference_read_radios(spec.radios, columns)
        for field in ("name", "channel", "clients", "noise_floor_dbm", "tx_power_dbm", "oper_up"):
            spec_of = getattr(spec.radios, field)
            compiled = compile_field(spec_of, field, columns)
            for key in row_keys(spec.radios, columns):
                row = Row(key, columns)
                row.name = "slot 1"
                assert compiled(key, "slot 1") == row.value(spec_of, field)


def _recorded(case: str) -> tuple[str, object, Columns, dict[int, str]] | None:
    async def run() -> tuple[str, object, Columns, dict[int, str]] | None:
        device = RecordedDevice.from_file(DEVICES / case / f"{case}.snmprec")
        profiles = load_profiles([TEST_PROFILES])  # the shipped ones, and a test one with a radios section
        found = await discover(device, profiles)
        profile = profiles.get(found.profile)
        if profile.controller is None and profile.radios is None:
            return None
        wanted: dict[Oid, None] = {}
        if profile.controller is not None:
            wanted.update(dict.fromkeys(controller_columns(profile.controller)))
        if profile.radios is not None:
            wanted.update(dict.fromkeys(table_columns(profile.radios)))
        if_names = {row.interface.if_index: row.interface.name for row in await read_interfaces(device, profile)}
        return profile.name, profile, await walk_columns(device, tuple(wanted)), if_names
    return asyncio.run(run())


@pytest.mark.parametrize("case", CASES)
def test_compiled_reading_equals_the_plain_reading_on_the_recordings(case: str) -> None:
    recorded = _recorded(case)
    if recorded is None:
        return  # no radios or controller section matches this device: nothing compiled to compare
    _name, profile, columns, if_names = recorded
    if profile.controller is not None:  # type: ignore[attr-defined]
        spec = profile.controller  # type: ignore[attr-defined]
        assert read_managed(spec, columns) == reference_read_managed(spec, columns)
    if profile.radios is not None:  # type: ignore[attr-defined]
        table = profile.radios  # type: ignore[attr-defined]
        assert read_radios(table, columns, if_names) == reference_read_radios(table, columns, if_names)


def test_the_recordings_exercise_the_comparison() -> None:
    """The parametrized comparison above is not vacuous: some recording is read with a radios section (every
    recording a shipped controller profile matches is compared too, as such profiles come)."""
    read = [r for r in map(_recorded, CASES) if r is not None]
    assert any(r[1].radios is not None for r in read)  # type: ignore[attr-defined]


@pytest.mark.parametrize("vendor", ["cisco_aireos", "aruba_mc", "ruckus_sz", "huawei_ac"])
def test_the_simulated_controller_profiles_read_alike(vendor: str) -> None:
    """The test-only controller profiles (every FIELD form they use) on cells shaped like their tables."""
    spec = load_profile(SIM_PROFILES / f"sim_{vendor}.yaml").controller
    assert spec is not None
    columns: dict[Oid, dict[Oid, Value]] = {column: {} for column in controller_columns(spec)}
    for n in range(30):
        key = (0, 11, 134, 1, n // 10, n)
        for i, column in enumerate(table_columns(spec.aps)):
            columns[column][key] = [b"AP-%d" % n, n % 3, b"Connect" if n % 4 else b"Disconnect", 123456 + n][i % 4]
        if spec.radios is not None:
            for slot in (0, 1):
                for i, column in enumerate(table_columns(spec.radios)):
                    columns[column][(*key, slot)] = [slot + 1, 36 + n, n % 2 + 1, 55, b"x"][i % 5]
    assert read_managed(spec, columns) == reference_read_managed(spec, columns)


# --- a poll's radios from the instances discovery fixed (CellRadios) -----------------------------------


def generated_poll() -> st.SearchStrategy[tuple[RadioTable, list[tuple[Oid, Oid]], list[Value], list[Oid],
                                                  dict[int, str]]]:
    """A radio table over columns T.1..T.9 with every FIELD form (a cell's value with any transform, a template,
    one naming the name, from key / last / if_name / channel, none, rows of T.9 joined on T.8 by key, last or
    name with each aggregate), the instances a poll GETs (the radios' and some joined rows', some left out, in
    any order) and their values (some absent or None), the radios' KEYs and some IF-MIB names."""
    ties = st.one_of(st.sampled_from([b"1", b"2", b"radio 1", b"wlan0", b"slot 1"]),  # names, keys, last sub-ids
                     st.sampled_from([b"ath1", b"radio 2", b"radio 2.0", b"0", b"1.2", b"w", 1, 2, b""]))
    joined_values = st.one_of(st.integers(-5, 300), st.integers(0, 50), values)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[RadioTable, list[tuple[Oid, Oid]], list[Value], list[Oid], dict[int, str]]:
        def field(n: int, named: bool = True) -> FieldSpec | None:
            forms = ["cell", "cell", "none", "template", "key", "last", "if_name"]
            form = draw(st.sampled_from(forms + (["join", "join", "template_name"] if named else [])))
            spec = draw(specs)  # oid T.2, any transform: re-pointed at column n
            if form == "cell":
                return FieldSpec(oid=(*T, n), scale=spec.scale, offset=spec.offset, mapping=spec.mapping,
                                 parse=spec.parse, ignore=spec.ignore)
            if form == "join":
                on = draw(st.sampled_from(["key", "last", "name", "prefix"]))
                return FieldSpec(oid=(*T, 9), join=Join(column=None if on == "prefix" else (*T, 8), on=on),
                                 aggregate=draw(st.sampled_from(["first", "sum", "max", "min", "any", "all", "count"])),
                                 scale=spec.scale,
                                 mapping=spec.mapping if draw(st.integers(0, 3)) == 0 else None, ignore=spec.ignore)
            if form == "template":
                return FieldSpec(template=draw(st.sampled_from(["slot {last}", "{key}", "Radio {last} ({key})", "w"])))
            if form == "template_name":
                return FieldSpec(template=draw(st.sampled_from(["{name}", "{name} {last}"])))
            return None if form == "none" else FieldSpec(source=form)

        table = RadioTable(
            rows=(*T, 1), name=field(2, named=False), if_index=field(3), band=field(4), channel=field(5),
            frequency_mhz=draw(st.sampled_from([FieldSpec(source="channel"), None])) or field(6),
            clients=field(7), utilization_pct=field(8), noise_floor_dbm=field(9), tx_power_dbm=field(6),
            oper_up=draw(st.sampled_from([FieldSpec(oid=(*T, 7), mapping=((1, True), (2, False))), None])))
        keys = draw(st.lists(st.one_of(st.tuples(st.integers(1, 3)), st.tuples(st.integers(1, 12)),
                                       st.tuples(st.integers(1, 3), st.integers(0, 3))),
                             min_size=1, max_size=4, unique=True))
        joined = draw(st.lists(st.tuples(st.integers(20, 40)), max_size=10, unique=True))  # joined (VAP) rows
        # and rows under a radio's KEY, which a join on: prefix gives that radio
        under = [(*key, n) for key in keys for n in (0, 1, 5) if (*key, n) not in keys]
        joined += draw(st.lists(st.sampled_from(under), max_size=6, unique=True)) if under else []
        columns = [c for c in table_columns(table) if c != table.rows]
        cells = [(column, index) for column in columns for index in keys + joined if draw(st.integers(0, 9)) > 0]
        cells = draw(st.permutations(cells))
        absent = st.sampled_from([NO_SUCH_INSTANCE, NO_SUCH_OBJECT])
        found = [draw(st.one_of(ties, ties, ties, absent) if column == (*T, 8) else
                      st.one_of(joined_values, joined_values, joined_values, absent) if column == (*T, 9) else
                      st.one_of(values, values, absent)) for column, _index in cells]
        if_names = dict(draw(st.lists(st.tuples(st.integers(1, 12), st.sampled_from(["wlan0", "ath1", ""])),
                                      max_size=4)))
        return table, cells, found, keys, if_names

    return build()


@settings(max_examples=500, deadline=None)
@given(case=generated_poll())
def test_cell_radios_equal_radios_from_cells_on_generated_polls(
        case: tuple[RadioTable, list[tuple[Oid, Oid]], list[Value], list[Oid], dict[int, str]]) -> None:
    table, cells, found, keys, if_names = case
    reader = compile_cell_radios(table, cells, keys, if_names)
    assert reader is not None
    assert reader(found) == radios_from_cells(table, cells, found, keys, if_names)
    assert reader(found) == reader(found)  # compiled once, applied to every poll alike


@pytest.mark.parametrize("aggregate", ["first", "sum", "max", "min"])
@pytest.mark.parametrize("on", ["key", "last", "name"])
def test_cell_radios_join_rows_as_the_generic_reader(aggregate: str, on: str) -> None:
    """UniFi-like: radios 1 and 2 (named ng, na); VAP rows 10..14 name their radio (by name, key or last sub-id)
    and carry clients; a figure over several rows is their aggregate; a template names the radio's name."""
    tie = {"name": [b"ng", b"na", b"ng", b"ng", b"xx"], "key": [b"1", b"2", b"1", b"1", b"9"],
           "last": [b"1", b"2", b"1", b"1", b"9"]}[on]
    table = RadioTable(rows=(*T, 1), name=FieldSpec(oid=(*T, 2)),
                       clients=FieldSpec(oid=(*T, 9), join=Join(column=(*T, 8), on=on), aggregate=aggregate),
                       tx_power_dbm=FieldSpec(template="{name}"))
    cells = [((*T, 2), (1,)), ((*T, 2), (2,))] + [((*T, n), (vap,)) for vap in range(10, 15) for n in (8, 9)]
    found: list[Value] = [b"ng", b"na"]
    for i, clients in enumerate([3, 7, 4, 11, 100]):
        found += [tie[i], clients]
    reader = compile_cell_radios(table, cells, [(2,), (1,)], {})
    assert reader is not None
    expected, gone = radios_from_cells(table, cells, found, [(2,), (1,)], {})
    assert reader(found) == (expected, gone)
    assert [r.clients for r in expected] == {"first": [3, 7], "sum": [18, 7], "max": [11, 7], "min": [3, 7]}[aggregate]


def test_cell_radios_share_their_names_between_polls_and_keep_a_bounded_number(monkeypatch) -> None:
    """Each poll's reply holds the names as new bytes; the radios of every poll share one string per name (a cycle
    of the city read 56,000 new ones, kept in its outcomes and health until the next), as the generic reader
    would name them, and the reader keeps at most RADIO_NAMES of them."""
    table = RadioTable(rows=(*T, 1), name=FieldSpec(oid=(*T, 2)), clients=FieldSpec(oid=(*T, 9)))
    cells = [((*T, n), (key,)) for key in (1, 2) for n in (2, 9)]

    def poll(first: str, second: str) -> list[Value]:
        return [bytes(first, "ascii"), 4, bytes(second, "ascii"), 9]  # new objects, as each reply decodes

    reader = compile_cell_radios(table, cells, [(1,), (2,)], {})
    assert reader is not None
    once, _ = reader(poll("ng\x00", "na"))
    again, _ = reader(poll("ng\x00", "na"))
    assert [r.name for r in once] == [r.name for r in again] == ["ng", "na"]
    assert [r.name for r in once] == [r.name for r in radios_from_cells(table, cells, poll("ng\x00", "na"),
                                                                         [(1,), (2,)], {})[0]]
    assert all(a.name is b.name for a, b in zip(once, again, strict=True))
    assert [r.clients for r in again] == [4, 9]
    monkeypatch.setattr(tables, "RADIO_NAMES", 3)
    bounded = compile_cell_radios(table, cells, [(1,), (2,)], {})
    assert bounded is not None
    for n in range(5):
        radios, _ = bounded(poll(f"r{n}a", f"r{n}b"))
        assert [r.name for r in radios] == [f"r{n}a", f"r{n}b"]
    assert len(bounded.names) == 3


def test_cell_radios_leave_a_self_naming_name_and_a_repeated_instance_to_the_generic_reader() -> None:
    keys, cells = [(1,)], [((*T, 2), (1,))]
    joined = RadioTable(rows=(*T, 1), clients=FieldSpec(oid=(*T, 9), join=Join(column=(*T, 8), on="name")))
    assert compile_cell_radios(joined, cells, keys, {}) is not None
    assert compile_cell_radios(RadioTable(rows=(*T, 1), name=FieldSpec(template="{name}")), cells, keys, {}) is None
    assert compile_cell_radios(RadioTable(rows=(*T, 1)), cells * 2, keys, {}) is None  # an instance twice


def _cell_radios_on(case: str) -> bool | None:
    """The poll's GET of discovery's radio instances on a recording, read by CellRadios and by the generic
    reader (asserted equal): True when CellRadios covered the layout, False when it left it to the generic
    reader, None when the device has no radio table to poll."""
    async def run() -> bool | None:
        device = RecordedDevice.from_file(DEVICES / case / f"{case}.snmprec")
        profiles = load_profiles([TEST_PROFILES])
        found = await discover(device, profiles)
        table = profiles.get(found.profile).radios
        if table is None or not found.radio_keys:
            return None
        plan = plan_poll(found)
        assert plan.radio_slice is not None
        got = device.values(plan.oids)[plan.radio_slice]
        reader = compile_cell_radios(table, plan.radio_cells, plan.radio_keys, plan.radio_if_names)
        if reader is None:
            return False
        assert reader(got) == radios_from_cells(table, plan.radio_cells, got, plan.radio_keys, plan.radio_if_names)
        return True
    return asyncio.run(run())


def test_cell_radios_equal_the_generic_reader_on_the_recordings() -> None:
    """Every recording a profile with a radios section matches (joined FIELDs too: OpenWrt, UniFi, Tachyon),
    every one covered, so the comparison is not vacuous."""
    covered = {case: _cell_radios_on(case) for case in CASES}
    assert sum(1 for c in covered.values() if c) >= 30, covered
    assert False not in covered.values(), covered
    assert covered["unifi"] is True and covered["openwrt"] is True and covered["ruckus_ap"] is True


# --- the walker's rows: indexes looked up by their octets --------------------------------------------

index_arcs = st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 300), min_size=1, max_size=7).map(tuple)


@settings(max_examples=200, deadline=None)
@given(prefix=st.lists(st.integers(0, 2**20), min_size=1, max_size=10).map(lambda t: (1, 3, *t)),
       indexes=st.lists(index_arcs, min_size=1, max_size=30, unique=True), cut=st.integers(0, 30),
       kinds=st.lists(st.sampled_from(["int", "int", "null", "noSuchInstance"]), min_size=30, max_size=30))
def test_walk_rows_are_the_decoded_oids_with_the_cache_cold_and_warm(prefix: Oid, indexes: list[Oid],
                                                                    cut: int, kinds: list[str]) -> None:
    """_advance turns each answer's varbinds into (OID, value) rows exactly as decoding every OID would,
    the first time (indexes decoded) and the next (looked up); a row past the column ends it. walk_cells'
    column ({index: value}) is index_rows of those rows: exception values and NULLs left out."""
    indexes = sorted(indexes)
    values: dict[str, tuple[int, Value]] = {"int": (2, 7), "null": (0x05, None), "noSuchInstance": (0x81, NO_SUCH_INSTANCE)}
    varbinds = [(encode_oid(prefix + index), *values[kinds[i]]) for i, index in enumerate(indexes)]
    beyond = encode_oid((*prefix[:-1], prefix[-1] + 1, 1))
    expected = [(decode_oid(raw), value) for raw, _tag, value in varbinds]
    with WalkerClient(max_rows=1000) as client:
        device = client.device("127.0.0.1", 161, b"public")

        async def walk_once(cells: bool) -> object:
            loop = asyncio.get_running_loop()
            column = _Column(prefix, encode_oid(prefix), loop.create_future(), cells={} if cells else None)
            device._advance(column, varbinds[:cut])  # two answers, cut anywhere
            if not column.future.done():
                device._advance(column, [*varbinds[cut:], (beyond, 2, -1)])
            return await column.future

        for _ in range(2):
            assert asyncio.run(walk_once(False)) == expected
            assert asyncio.run(walk_once(True)) == index_rows(prefix, expected)


def test_a_walk_ends_at_end_of_mib_view_and_refuses_decreasing_indexes_from_the_cache() -> None:
    prefix = (*T, 3)
    rows = [(encode_oid((*prefix, 0, 11, 134, 1, 2, n)), 2, n) for n in (200, 300)]
    with WalkerClient() as client:
        device = client.device("127.0.0.1", 161, b"public")

        async def run(varbinds: list) -> list:
            column = _Column(prefix, encode_oid(prefix), asyncio.get_running_loop().create_future())
            device._advance(column, varbinds)
            return await column.future

        assert asyncio.run(run([*rows, (b"", END_OF_MIB_VIEW_TAG, None)])) == [
            ((*prefix, 0, 11, 134, 1, 2, 200), 200), ((*prefix, 0, 11, 134, 1, 2, 300), 300)]
        with pytest.raises(Exception, match="not increasing"):
            asyncio.run(run([rows[1], rows[0]]))  # both indexes are in the cache now


def test_a_device_with_limits_asks_for_its_repetitions_and_caps_its_own_rows() -> None:
    """with_limits: the same agent, walks asking for more rows per GETBULK (tooBig still asks for fewer) and
    another max_rows; the device it came from keeps the client's."""
    from tests.collectors.test_walker import TABLE, Agent, _answer, _asked, _table_rows

    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        if request.error_index > 8:
            agent.sock.sendto(_answer(request, [(oid, 0x05, None) for oid in _asked(request)], error_status=1),
                              source)
            return
        agent.sock.sendto(_answer(request, _table_rows(_asked(request)[0], request.error_index, rows=40)), source)

    async def run(port: int) -> tuple[list, dict]:
        with WalkerClient(timeout_s=0.3, retries=0, max_repetitions=4, max_rows=1000) as walker:
            plain = walker.device("127.0.0.1", port, COMMUNITY)
            wide = plain.with_limits(max_repetitions=16)
            assert (wide.max_repetitions, wide.max_rows, plain.max_repetitions) == (16, 1000, 4)
            with pytest.raises(CollectError, match="more than 10 rows under"):
                await plain.with_limits(max_rows=10).walk(TABLE)
            return await plain.walk(TABLE), await wide.walk_cells(TABLE)

    with Agent(script) as agent:
        rows, cells = asyncio.run(run(agent.port))
        asked = [r.error_index for r in agent.requests]
    assert rows == [((*TABLE, i), i * 10) for i in range(1, 41)]
    assert cells == {(i,): i * 10 for i in range(1, 41)}
    assert asked[:3] == [4, 4, 4]  # the capped walk: the client's 4 a request; 12 rows are more than 10
    assert asked[3:14] == [4] * 11  # the plain walk: 40 rows 4 a request, then the request that meets the end
    assert asked[14:] == [16] + [8] * 6  # the wide one: tooBig at 16, then 8 a request (5 x 8 rows, the end)
