"""Polling state round-trips through the store on both backends, Counter64 values above 2^63 too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from hotspotctl.collectors.model import Discovery, Interface, Sample
from hotspotctl.evaluate.rates import CounterState, compute_rates
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.scheduling.cycle import CycleWrites
from hotspotctl.store import Store, migrations
from hotspotctl.store.inventory import inventory_version
from hotspotctl.store.polling import (
    _STATE_KEYS,
    ApState,
    StoredDiscovery,
    _state_row,
    load_discoveries,
    load_states,
    save_discoveries,
    save_states,
)
from hotspotctl.store.schema import ap_state
from tests.conftest import write

BOOT_ID = "3b479c0c-e827-487e-9200-d04e1f29b71d/4026531834"  # as collectors.clock names a monotonic clock


def test_discoveries_and_states_round_trip(store, rules, tmp_path):
    import_inventory(store, write(tmp_path / "a.csv", "id,lat,lon\nA-1,19.43,-99.13\nA-2,19.44,-99.13\n"), rules)
    layout = Discovery(profile="mikrotik_routeros", sys_descr="router", sys_object_id="1.3.6.1.4.1.14988.1",
                       uptime_sources=("sys_uptime", "hr_system_uptime"),
                       uplink=Interface(3, "WAN", 6, True, 100.0, True, False),
                       radios=(Interface(1, "wlan1", 71, True, 50.0, True, True),), counter_bits=64,
                       link_source="if_high_speed", link_scale=1.0, clients_kind="sum",
                       clients_oids=("1.3.6.1.4.1.14988.1.1.1.3.1.6.1",))
    at = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    counters = CounterState(at=1795330000.25, sys_uptime=2**32 - 1, hr_uptime=None, engine_time=5,
                            in_octets=2**64 - 1, out_octets=2**63, counter_bits=64, uptime_wraps=2)
    states = {"A-1": ApState(counters, 0, 1795330000.25, 0.0, None, False),
              "A-2": ApState(None, 3, 1795330001.0, 1795330181.0, "no answer", True)}
    with store.write() as conn:
        save_discoveries(conn, {"A-1": StoredDiscovery("10.0.0.1:161", layout, at)})
        save_states(conn, states)
    with store.read() as conn:
        assert load_discoveries(conn, ["A-1", "A-2"]) == {"A-1": StoredDiscovery("10.0.0.1:161", layout, at)}
        assert load_states(conn, ["A-1", "A-2"]) == states
    with store.write() as conn:  # saving again replaces, it does not duplicate
        save_states(conn, {"A-1": ApState(None, 1, 2.0, 3.0, "timeout", False)})
    with store.read() as conn:
        assert load_states(conn, ["A-1"]) == {"A-1": ApState(None, 1, 2.0, 3.0, "timeout", False)}


@pytest.mark.parametrize("uplink", ["ifIndex.2147483647", "GigabitEthernet0/0/0.100 " + "x" * 300 + " \n\t\"é"])
def test_the_monotonic_reading_its_clock_and_the_uplink_round_trip(store, rules, tmp_path, uplink):
    # the counters' place on the monotonic clock (to the float's last bit), which clock (the boot id),
    # and which interface, an SNMP ifIndex or whatever name an SSH device gives, however long or odd
    import_inventory(store, write(tmp_path / "a.csv", "id,lat,lon\nA-1,19.43,-99.13\n"), rules)
    counters = CounterState(at=1795330000.25, sys_uptime=None, hr_uptime=1_000, engine_time=None, in_octets=7,
                            out_octets=9, counter_bits=32, mono=1_234_567.891_234_567_9, clock=BOOT_ID, uplink=uplink)
    with store.write() as conn:
        save_states(conn, {"A-1": ApState(counters)})
    with store.read() as conn:
        loaded = load_states(conn, ["A-1"])["A-1"].counters
    assert loaded == counters
    assert (loaded.mono, loaded.clock, loaded.uplink) == (1_234_567.891_234_567_9, BOOT_ID, uplink)


def test_state_from_before_migration_7_gives_a_wall_clock_rate_then_monotonic_ones(
        store_url, rules, tmp_path, monkeypatch):
    """A store written by the previous hotspotctl: its counter states have no monotonic reading, clock or
    uplink. After the migration they load with None, and the next rate is taken on the wall clock."""
    with monkeypatch.context() as old:
        old.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:6])
        old.setattr(migrations, "LATEST", 6)
        with Store.open(store_url) as store, store.write() as conn:  # the rows as the previous version wrote them
            conn.execute(sa.text("INSERT INTO sites (id, name, lat, lon, explicit) "
                                 "VALUES ('9g3w81t7ck9', 'A-1', 19.43, -99.13, :false)"), {"false": False})
            conn.execute(sa.text("INSERT INTO access_points (id, lat, lon, site_id, updated_at) "
                                 "VALUES ('A-1', 19.43, -99.13, '9g3w81t7ck9', :at)"),
                         {"at": datetime(2026, 11, 22)})
            conn.execute(sa.text(
                "INSERT INTO ap_state (ap_id, at, sys_uptime, hr_uptime, engine_time, in_octets, out_octets,"
                " counter_bits, uptime_wraps, failures, last_attempt_at, next_attempt_at, last_error,"
                " needs_discovery) VALUES ('A-1', 1795330000.0, 500000, NULL, NULL, 1000, 2000, 64, 0, 0,"
                " 1795330000.0, 0.0, NULL, :false)"), {"false": False})
    with Store.open(store_url) as store, store.read() as conn:
        assert migrations.current_version(conn) == migrations.LATEST
        state = load_states(conn, ["A-1"])["A-1"]
    assert state.counters == CounterState(at=1795330000.0, sys_uptime=500000, hr_uptime=None, engine_time=None,
                                          in_octets=1000, out_octets=2000, counter_bits=64)
    assert (state.counters.mono, state.counters.clock, state.counters.uplink) == (None, None, None)
    sample = Sample("A-1", 1795330060.0, 3.0, sys_uptime=506000, in_octets=1000 + 750_000, out_octets=2000,
                    mono=77.5, clock=BOOT_ID, uplink="ifIndex.2")
    rate, counters = compute_rates(sample, state.counters)
    assert (rate.interval_s, rate.in_bps, rate.out_bps, rate.events) == (60.0, 100_000.0, 0.0, ())
    assert (counters.mono, counters.clock, counters.uplink) == (77.5, BOOT_ID, "ifIndex.2")
    # the wall clock is then stepped back an hour: the next interval is the monotonic clock's
    later = Sample("A-1", 1795330120.0 - 3_600, 3.0, sys_uptime=512000, in_octets=1000 + 1_500_000, out_octets=2000,
                   mono=137.5, clock=BOOT_ID, uplink="ifIndex.2")
    rate, _ = compute_rates(later, counters)
    assert (rate.interval_s, rate.in_bps, rate.events) == (60.0, 100_000.0, ())


def test_many_discoveries_and_states_saved_in_chunks_round_trip(store, rules, tmp_path):
    """More rows than one chunk (500) and one executemany batch (2,000), two layouts each turned to JSON once
    per chunk: every AP's own rows, once."""
    ids = [f"A-{n}" for n in range(4001)]
    import_inventory(store, write(tmp_path / "a.csv", "id,lat,lon\n" + "".join(f"{i},19.43,-99.13\n" for i in ids)),
                     rules)
    plain = Discovery(profile="generic", sys_descr="ap", sys_object_id="1.3.6.1.4.1.8072", uptime_sources=(),
                      uplink=None, radios=(), counter_bits=None, link_source=None, link_scale=1.0,
                      clients_kind=None, clients_oids=())
    radios = Discovery(profile="aerohive_hiveos", sys_descr="HiveOS", sys_object_id="1.3.6.1.4.1.26928.1",
                       uptime_sources=("sys_uptime",), uplink=None, radios=(), counter_bits=None, link_source=None,
                       link_scale=1.0, clients_kind=None, clients_oids=(), radio_keys=("7", "8"),
                       radio_cells=(("1.3.6.1.4.1.26928.1.1.1.2.1.1.1.1", ("7", "8")),),
                       radio_if_names=((7, "wifi0"),))
    at = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    rows = {ap_id: StoredDiscovery(f"10.0.{n // 250}.{n % 250}:161", radios if n % 3 else plain, at)
            for n, ap_id in enumerate(ids)}
    states = {ap_id: ApState(CounterState(at=1795330000.0 + n, sys_uptime=n, hr_uptime=None, engine_time=None,
                                          in_octets=2**64 - 1 - n, out_octets=n, counter_bits=64), n % 4, float(n),
                             float(n + 1), f"error {n}" if n % 2 else None, n % 5 == 0)
              for n, ap_id in enumerate(ids)}
    with store.write() as conn:
        save_discoveries(conn, rows)
        save_states(conn, states)
    with store.read() as conn:
        loaded = load_discoveries(conn, ids)
        assert conn.execute(sa.text("SELECT count(*) FROM ap_discovery")).scalar() == 4001
        assert conn.execute(sa.text("SELECT count(*) FROM ap_state")).scalar() == 4001
        assert load_states(conn, ids) == states
    assert loaded == rows
    assert loaded["A-1"].discovery is loaded["A-3997"].discovery  # equal layouts load as one object


def _imported(store, rules, tmp_path, count: int) -> list[str]:
    """``count`` APs A-0, A-1, ... imported into ``store``; their ids."""
    ids = [f"A-{n}" for n in range(count)]
    import_inventory(store, write(tmp_path / "a.csv", "id,lat,lon\n" + "".join(f"{i},19.43,-99.13\n" for i in ids)),
                     rules)
    return ids


def _inserts_into(store, table: str, save) -> int:
    """The INSERT statements into ``table`` that ``save(conn)`` sends, in a write transaction that commits."""
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    with store.write() as conn:
        sa.event.listen(conn, "before_cursor_execute", seen)
        save(conn)
    return sum(1 for s in statements if s.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"))


def test_states_go_to_postgresql_in_one_copy_and_roll_back_with_their_transaction(store, rules, tmp_path):
    """On PostgreSQL the states are one COPY in the caller's transaction (bulk.insert_rows: no INSERT per row,
    whose Python cost a worker paid for every AP in its 64 shard commits a slot); on SQLite an executemany. A
    transaction that fails afterwards leaves neither the new states nor the DELETE of the old ones."""
    ids = _imported(store, rules, tmp_path, 600)
    first = {ap_id: ApState(None, 1, float(n), float(n + 1), "timeout\\t\t\n", False) for n, ap_id in enumerate(ids)}
    assert _inserts_into(store, "ap_state", lambda conn: save_states(conn, first)) == (
        0 if store.dialect == "postgresql" else 1)
    second = {ap_id: ApState(None, 2, 9.0, 10.0, None, True) for ap_id in ids}
    with pytest.raises(RuntimeError), store.write() as conn:
        save_states(conn, second)
        raise RuntimeError("the commit fails after the states")
    with store.read() as conn:
        assert load_states(conn, ids) == first


def test_healths_go_to_postgresql_in_one_copy_and_round_trip(store, rules, tmp_path):
    """save_health as save_states: one COPY on PostgreSQL (an executemany on SQLite); every field back as saved,
    the state and causes (StrEnums) by their values, texts with tabs, newlines and backslashes intact."""
    from hotspotctl.errors import PollErrorKind
    from hotspotctl.models.health import ApHealth, Cause, HealthState, RadioMemory
    from hotspotctl.store.outages import load_health, save_health

    ids = _imported(store, rules, tmp_path, 300)
    healths = {ap_id: ApHealth(state=HealthState.DOWN if n % 2 else HealthState.UP, since=float(n), misses=n % 3,
                               answered=bool(n % 2), causes=(Cause.BELOW_TARGET,) if n % 5 == 0 else (),
                               reason_kind=PollErrorKind.CONFIG if n % 7 == 0 else None,
                               reason="bad\tcommunity\n\\x" if n % 7 == 0 else None, changes=(1.5, 2.25),
                               radios=(RadioMemory("wlan0 é", 3, True, 4.5),) if n % 4 == 0 else (),
                               per_user_mbps=None if n % 3 else 2.5)
                for n, ap_id in enumerate(ids)}
    assert _inserts_into(store, "ap_health", lambda conn: save_health(conn, healths)) == (
        0 if store.dialect == "postgresql" else 1)
    with store.read() as conn:
        assert load_health(conn) == healths


# -- PostgreSQL: reading or replacing every AP's row passes over the table once, not once per 500 APs ------------

on_postgresql = pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)  # conftest's store, PG only


def _rows_scanned(conn, table: str) -> int:
    """The rows PostgreSQL has read from ``table`` by sequential scans in this transaction so far."""
    return conn.execute(sa.text("SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = :t"),
                        {"t": table}).scalar() or 0


def _layout() -> Discovery:
    return Discovery(profile="generic", sys_descr="ap", sys_object_id="1.3.6.1.4.1.8072.3.2.10",
                     uptime_sources=("sys_uptime",), uplink=None, radios=(), counter_bits=64, link_source=None,
                     link_scale=1.0, clients_kind=None, clients_oids=())


def _savers(ids: list[str]):
    from hotspotctl.models.health import ApHealth, HealthState
    from hotspotctl.store.outages import save_health

    at = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
    return {
        "ap_state": lambda conn, n: save_states(conn, {i: ApState(None, n, float(n), float(n), None, False)
                                                       for i in ids}),
        "ap_health": lambda conn, n: save_health(conn, {i: ApHealth(state=HealthState.UP, since=float(n))
                                                        for i in ids}),
        "ap_discovery": lambda conn, n: save_discoveries(conn, {i: StoredDiscovery(f"10.0.{n}.1", _layout(), at)
                                                                for i in ids}),
    }


@on_postgresql
@pytest.mark.parametrize("table", ["ap_state", "ap_health", "ap_discovery"])
def test_replacing_every_aps_row_on_postgresql_passes_over_the_table_once_at_most(store, rules, tmp_path, table):
    """Failed on 1aebc51: every 500 ids were their own DELETE ... IN (...), and on a table of a few thousand
    rows the planner scans it whole for each (39,000 rows read to replace 6,000 states; 71 passes at the city,
    a 20 s commit in `hotspotctl run`'s second cycle on a fresh store, 707 at ten cities)."""
    ids = _imported(store, rules, tmp_path, 6000)
    save = _savers(ids)[table]
    for n in range(3):
        with store.write() as conn:
            before = _rows_scanned(conn, table)
            save(conn, n)
            assert _rows_scanned(conn, table) - before <= len(ids), f"save {n}"
    with store.read() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == len(ids)


@on_postgresql
def test_loading_every_aps_rows_on_postgresql_passes_over_each_table_once_at_most(store, rules, tmp_path):
    """Failed on 1aebc51: the loads read 500 ids a statement, each a pass over the whole table (72,000 rows read
    to load 6,000 states), as a poller does for every AP as it starts and a worker for each shard it takes."""
    from hotspotctl.store.inventory import existing_ap_ids, load_access_points
    from hotspotctl.store.outages import load_health

    ids = _imported(store, rules, tmp_path, 6000)
    for n in range(2):
        with store.write() as conn:
            for save in _savers(ids).values():
                save(conn, n)
    loads = {"ap_state": lambda conn: load_states(conn, ids), "ap_health": lambda conn: load_health(conn, ids),
             "ap_discovery": lambda conn: load_discoveries(conn, ids),
             "access_points": lambda conn: load_access_points(conn, ids)}
    with store.read() as conn:
        for table, load in loads.items():
            before = _rows_scanned(conn, table)
            assert len(load(conn)) == len(ids), table
            assert _rows_scanned(conn, table) - before <= len(ids), table
        before = _rows_scanned(conn, "access_points")
        assert existing_ap_ids(conn, [*ids, "gone"]) == set(ids)
        assert _rows_scanned(conn, "access_points") - before <= len(ids) + 1


def _statements(store, save) -> list[str]:
    """The statements ``save(conn)`` sends, upper-cased, in a write transaction that commits."""
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lstrip().upper())

    with store.write() as conn:
        sa.event.listen(conn, "before_cursor_execute", seen)
        save(conn)
    return statements


def test_states_are_replaced_in_place_on_sqlite_and_by_delete_and_copy_on_postgresql(store, rules, tmp_path):
    """bulk.replace_rows, as save_states uses it: the rows saved replace those APs' rows in full (a value set
    back to None is NULL again), an AP with no row yet gets one, the other APs' rows stay. On SQLite one
    upsert (INSERT ... ON CONFLICT DO UPDATE) and no DELETE (issue 19: about 30 % of the states' write); on
    PostgreSQL a DELETE and a COPY, as before."""
    ids = _imported(store, rules, tmp_path, 40)
    counters = CounterState(at=100.0, sys_uptime=5, hr_uptime=None, engine_time=7, in_octets=(1 << 64) - 2,
                            out_octets=3, counter_bits=64, uptime_wraps=1, mono=9.5, clock="boot-a", uplink="ifIndex.2")
    first = {ap_id: ApState(counters, 0, 100.0, 0.0, None, False) for ap_id in ids[:30]}
    with store.write() as conn:
        save_states(conn, first)
    second = {ap_id: ApState(None, 3, 200.0, 260.0, "timeout", True) for ap_id in ids[20:40]}  # 10 new, 10 replaced
    statements = _statements(store, lambda conn: save_states(conn, second))
    if store.dialect == "postgresql":
        assert [s.split()[0] for s in statements] == ["DELETE"]  # then the COPY, on the driver's own cursor
    else:
        assert len(statements) == 1 and statements[0].startswith("INSERT INTO AP_STATE")
        assert "ON CONFLICT (AP_ID) DO UPDATE" in statements[0]
    with store.read() as conn:
        stored = load_states(conn, ids)
    assert len(stored) == 40
    assert all(stored[ap_id] == first[ap_id] for ap_id in ids[:20])
    assert all(stored[ap_id] == ApState(None, 3, 200.0, 260.0, "timeout", True) for ap_id in ids[20:40])


def test_replace_rows_refuses_rows_that_do_not_start_with_the_key(store):
    from hotspotctl.store.bulk import replace_rows
    from hotspotctl.store.schema import ap_state

    with pytest.raises(ValueError, match="must start with its key 'ap_id'"), store.write() as conn:
        replace_rows(conn, ap_state, ("at", "ap_id"), [(1.0, "A-0")], ["A-0"])


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_state_row_is_what_the_columns_bind_processors_make_of_the_state(dialect):
    # save_states hands its rows to the driver as they are (bound=True): each value must already be what the
    # column's own bind processor would make of it, for every kind of state a cycle keeps
    engine_dialect = (sqlite if dialect == "sqlite" else postgresql).dialect()
    processors = [ap_state.c[key].type.bind_processor(engine_dialect) for key in _STATE_KEYS]
    assert sum(p is not None for p in processors) == 7  # at, the octets, mono, the attempts, needs_discovery
    cases = {
        "top": ApState(CounterState(1795330000.25, 2**32 - 1, None, 5, 2**64 - 1, 2**63, 64, 2, 12.5, BOOT_ID,
                                    "ifIndex.2"), 0, 1795330000.25, 0.0, None, False),
        "edge": ApState(CounterState(1.0, None, 100, None, 2**63 - 1, 0, 64, 0, None, None, None), 0, 1.0, 1.0),
        "c32": ApState(CounterState(2.0, 7, None, None, 2**32 - 1, None, 32, 0), 2, 3.0, 4.0, "x" * 600, True),
        "none": ApState(None, 3, 1795330001.0, 1795330181.0, "no answer", True),
    }
    for ap_id, state in cases.items():
        c = state.counters
        given = {"ap_id": ap_id, "failures": state.failures, "last_attempt_at": state.last_attempt_at,
                 "next_attempt_at": state.next_attempt_at, "last_error": (state.last_error or "")[:500] or None,
                 "needs_discovery": state.needs_discovery, "uptime_wraps": c.uptime_wraps if c else 0,
                 **{key: getattr(c, key) if c else None for key in _STATE_KEYS[1:12] if key != "uptime_wraps"}}
        expected = tuple(given[key] if process is None else process(given[key])
                         for key, process in zip(_STATE_KEYS, processors, strict=True))
        row = _state_row(ap_id, state)
        assert row == expected, ap_id
        # the same types, but that SQLite's Boolean makes an int of the bool, which sqlite3 binds as that int
        assert [int if dialect == "sqlite" and type(v) is bool else type(v) for v in row] == [
            type(v) for v in expected], ap_id
    assert _state_row("top", cases["top"])[5:7] == (-1, -(2**63))  # two's complement, as Unsigned64 binds it


def test_a_checkpointed_commit_writes_the_turn_and_the_changes_on_both_backends(store, rules, tmp_path):
    """``CycleWrites.save`` with ``due`` (a checkpointing service's turn): a routine state (only its counters moved)
    of an AP whose turn it is not keeps its stored row; the turn's routine states and every other state are
    written. The same rows on SQLite's upsert and PostgreSQL's DELETE and COPY."""
    ids = _imported(store, rules, tmp_path, 12)
    old = CounterState(at=100.0, sys_uptime=5, hr_uptime=None, engine_time=None, in_octets=10, out_octets=20,
                       counter_bits=64, uptime_wraps=0, mono=9.5, clock="boot-a", uplink="ifIndex.2")
    new = replace(old, at=160.0, sys_uptime=6005, in_octets=1_000_010, out_octets=2_000_020, mono=69.5)
    first = {ap_id: ApState(old, 0, 100.0) for ap_id in ids}
    with store.write() as conn:
        save_states(conn, first)
    states = {ap_id: ApState(new, 0, 160.0) for ap_id in ids[:8]}
    states.update({ap_id: ApState(old, 1, 160.0, 160.0, "timeout") for ap_id in ids[8:]})  # missed: changed
    writes = CycleWrites(states, {}, changed=set(ids[8:]))
    with store.write() as conn:
        written = writes.save(conn, inventory_version(conn), due=frozenset(ids[:3]) | {ids[9]})
    assert written == 3 + 4
    with store.read() as conn:
        stored = load_states(conn, ids)
    assert {ap_id for ap_id in ids if stored[ap_id] == states[ap_id]} == set(ids[:3]) | set(ids[8:])
    assert all(stored[ap_id] == first[ap_id] for ap_id in ids[3:8])  # their turn is another cycle's
    with store.write() as conn:  # no turn given (poll --once, a cluster's worker): every state
        assert writes.save(conn, inventory_version(conn)) == 12
    with store.write() as conn:  # the changes not known (no ``changed``): every state, whatever the turn
        assert CycleWrites(states).save(conn, inventory_version(conn), due=frozenset()) == 12
    with store.read() as conn:
        assert load_states(conn, ids) == states
