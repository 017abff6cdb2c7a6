"""What polling remembers per AP: its discovered layout, its last counters, and its reachability."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hotspotctl.models.polling import CounterState, Discovery, Interface
from hotspotctl.models.records import fast_init
from hotspotctl.store.bulk import YIELD_PER, replace_rows, where_in
from hotspotctl.store.schema import ap_discovery, ap_state, poll_cycles, signed64

_CHUNK = 500  # rows per INSERT of layouts (their JSON made a chunk at a time)


@dataclass(frozen=True, slots=True)
class StoredDiscovery:
    address: str
    discovery: Discovery
    discovered_at: datetime


@fast_init
@dataclass(frozen=True, slots=True)
class ApState:
    """Between cycles: the counters of the last good sample, and how the AP has been answering."""

    counters: CounterState | None
    failures: int = 0  # consecutive cycles without an answer
    last_attempt_at: float = 0.0
    next_attempt_at: float = 0.0  # a down AP is not tried before this (back-off)
    last_error: str | None = None
    needs_discovery: bool = False


def discovery_to_json(discovery: Discovery) -> dict[str, Any]:
    return dataclasses.asdict(discovery)


def discovery_from_json(data: dict[str, Any]) -> Discovery:
    values = dict(data)
    uplink = values.get("uplink")
    values["uplink"] = Interface(**uplink) if uplink else None
    values["radios"] = tuple(Interface(**r) for r in values.get("radios", ()))
    values["uptime_sources"] = tuple(values.get("uptime_sources", ()))
    values["clients_oids"] = tuple(values.get("clients_oids", ()))
    values["radio_keys"] = tuple(values.get("radio_keys", ()))
    values["radio_cells"] = tuple((str(column), tuple(rows)) for column, rows in values.get("radio_cells", ()))
    values["radio_if_names"] = tuple((int(index), str(name)) for index, name in values.get("radio_if_names", ()))
    return Discovery(**values)


def load_discoveries(conn: sa.Connection, ap_ids: Sequence[str],
                     layouts: dict[Discovery, Discovery] | None = None) -> dict[str, StoredDiscovery]:
    """Stored layouts by AP. Equal layouts come back as one object (``layouts`` interns them): a
    city of 35,000 APs from a few models has a dozen distinct layouts, not 35,000."""
    layouts = {} if layouts is None else layouts
    found: dict[str, StoredDiscovery] = {}
    for where in where_in(conn, ap_discovery.c.ap_id, ap_ids):
        for row in conn.execute(sa.select(ap_discovery).where(where), execution_options=YIELD_PER):
            discovery = discovery_from_json(row.layout)
            discovery = layouts.setdefault(discovery, discovery)
            found[row.ap_id] = StoredDiscovery(row.address, discovery, row.discovered_at)
    return found


def save_discoveries(conn: sa.Connection, rows: dict[str, StoredDiscovery]) -> None:
    ids = list(rows)
    for where in where_in(conn, ap_discovery.c.ap_id, ids):
        conn.execute(ap_discovery.delete().where(where))
    # Through SQLAlchemy, not bulk.executemany: psycopg needs SQLAlchemy's JSON adaptation. A chunk at a time,
    # each distinct layout turned to JSON once: a city's 35,000 rows at once were 35,000 copies of a layout as
    # dicts and as JSON text alive together, the poller's peak memory.
    for start in range(0, len(ids), _CHUNK):
        as_json: dict[int, dict[str, Any]] = {}
        params = []
        for ap_id in ids[start:start + _CHUNK]:
            stored = rows[ap_id]
            layout = as_json.get(id(stored.discovery))
            if layout is None:
                layout = as_json[id(stored.discovery)] = discovery_to_json(stored.discovery)
            params.append({"ap_id": ap_id, "address": stored.address, "profile": stored.discovery.profile,
                           "layout": layout, "discovered_at": stored.discovered_at})
        conn.execute(ap_discovery.insert(), params)


def load_states(conn: sa.Connection, ap_ids: Sequence[str]) -> dict[str, ApState]:
    found: dict[str, ApState] = {}
    for where in where_in(conn, ap_state.c.ap_id, ap_ids):
        for row in conn.execute(sa.select(ap_state).where(where), execution_options=YIELD_PER):
            counters = None
            if row.at is not None:
                counters = CounterState(
                    at=row.at, sys_uptime=row.sys_uptime, hr_uptime=row.hr_uptime, engine_time=row.engine_time,
                    in_octets=row.in_octets, out_octets=row.out_octets, counter_bits=row.counter_bits or 64,
                    uptime_wraps=row.uptime_wraps, mono=row.mono, clock=row.clock, uplink=row.uplink)
            found[row.ap_id] = ApState(counters, row.failures, row.last_attempt_at, row.next_attempt_at,
                                       row.last_error, bool(row.needs_discovery))
    return found


_STATE_KEYS = ("ap_id", "at", "sys_uptime", "hr_uptime", "engine_time", "in_octets", "out_octets", "counter_bits",
               "uptime_wraps", "mono", "clock", "uplink", "failures", "last_attempt_at", "next_attempt_at",
               "last_error", "needs_discovery")


def save_states(conn: sa.Connection, states: dict[str, ApState]) -> None:
    """Replace the stored state of these APs (``bulk.replace_rows``: a DELETE and a COPY on PostgreSQL, an upsert
    a row on SQLite).

    Every AP's state, every cycle: each row is a tuple in ``_STATE_KEYS`` order (``_state_row``), not a dict,
    with its values as the columns' bind processors make them (``bound``: none applied a row)."""
    replace_rows(conn, ap_state, _STATE_KEYS, (_state_row(ap_id, state) for ap_id, state in states.items()),
                 list(states), bound=True)


def _state_row(ap_id: str, state: ApState) -> tuple[Any, ...]:
    """One ap_state row, in ``_STATE_KEYS`` order, bound: what the columns' bind processors would make of the
    state's values. Of those, only the octets' (``Unsigned64``: two's complement) changes a value a state holds;
    the others give the database the same value (a float stays that float; SQLite's Boolean makes an int of the
    bool, which sqlite3 binds as that int anyway). tests/store/test_polling_state.py holds these rows to the
    processors' output."""
    c = state.counters
    error = (state.last_error or "")[:500] or None
    if c is None:
        return (ap_id, None, None, None, None, None, None, None, 0, None, None, None, state.failures,
                state.last_attempt_at, state.next_attempt_at, error, state.needs_discovery)
    return (ap_id, c.at, c.sys_uptime, c.hr_uptime, c.engine_time, signed64(c.in_octets), signed64(c.out_octets),
            c.counter_bits, c.uptime_wraps, c.mono, c.clock, c.uplink, state.failures, state.last_attempt_at,
            state.next_attempt_at, error, state.needs_discovery)


def record_cycle(conn: sa.Connection, **values: Any) -> None:
    """One row of poll_cycles: what a scheduled cycle cost and how late it was."""
    conn.execute(poll_cycles.insert().values(**values))


def recent_cycles(conn: sa.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The last ``limit`` cycles, oldest first."""
    rows = conn.execute(sa.select(poll_cycles).order_by(poll_cycles.c.id.desc()).limit(limit)).mappings().all()
    return [dict(row) for row in reversed(rows)]
