"""Many rows, one statement, straight to the driver's executemany.

SQLAlchemy's own executemany processes every parameter set in Python (about 15 us a row
here), which is most of an inventory import's time and would be most of a poll cycle's
state write. This compiles the statement once for the connection's dialect, applies each
column's bind processor (so types such as UtcDateTime behave exactly as through
SQLAlchemy), and hands the driver plain rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

_BATCH = 2000  # rows handed to the driver at once: a city's 35,000 rows of parameters are not all alive together
_IN_LIST = 500  # ids per IN (...) list on SQLite: under its parameter limit
YIELD_PER = {"yield_per": _BATCH}  # execution options: a large read fetched a batch at a time (PostgreSQL: a cursor)


def where_in(conn: sa.Connection, column: sa.ColumnElement[Any], ids: Sequence[Any]) -> list[sa.ColumnElement[bool]]:
    """WHERE clauses that together match ``ids`` in ``column``: one statement each.

    On PostgreSQL one clause, ``column = ANY(:ids)`` with the ids as one array parameter. A statement per 500
    ids, as before, let the planner scan the whole table for each list: on a table of some thousand rows one
    sequential scan is the cheaper plan for 500 keys, and it stays the plan until the table is analysed again.
    Reading or replacing every AP's row then cost one pass over the table per 500 APs, 71 passes at the city
    (a 20 s commit on a fresh store) and 707 at ten cities. One statement passes over it once at most.
    Elsewhere (SQLite) an IN list per 500 ids, under its parameter limit; SQLite looks each one up by key."""
    if not ids:
        return []
    if conn.dialect.name == "postgresql":
        return [column == sa.any_(sa.bindparam(None, list(ids), type_=postgresql.ARRAY(column.type)))]
    return [column.in_(ids[start:start + _IN_LIST]) for start in range(0, len(ids), _IN_LIST)]


def executemany(conn: sa.Connection, statement: sa.Insert | sa.Update, rows: Iterable[dict[str, Any]]) -> None:
    """Run ``statement`` once per row; every row must have the same keys. ``rows`` may be a generator: it is
    read, processed and sent ``_BATCH`` rows at a time, so only a batch's parameters exist at once."""
    batches = iter(rows)
    first = list(itertools.islice(batches, _BATCH))
    if not first:
        return
    keys = list(first[0])
    compiled = statement.compile(dialect=conn.dialect, column_keys=keys)
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    bound = ((i, name, compiled.binds[name].type.bind_processor(conn.dialect)) for i, name in enumerate(names))
    processors = [(i, name, process) for i, name, process in bound if process is not None]
    sql = str(compiled)
    batch = first
    while batch:
        params: list[Any] = []
        if compiled.positional:
            for row in batch:
                values = [row[name] for name in names]
                for i, _, process in processors:
                    values[i] = process(values[i])
                params.append(tuple(values))
        else:
            for row in batch:
                named = {name: row[name] for name in names}
                for _, name, process in processors:
                    named[name] = process(named[name])
                params.append(named)
        conn.exec_driver_sql(sql, params)
        batch = list(itertools.islice(batches, _BATCH))


def executemany_rows(conn: sa.Connection, statement: sa.Insert | sa.Update, keys: Sequence[str],
                     rows: Iterable[tuple[Any, ...]], *, bound: bool = False) -> None:
    """``executemany`` for rows given as tuples of ``keys``' values, in that order: no dict per row. With a
    positional driver (sqlite3) the tuples go to it as they are when no column needs a bind processor (or the
    rows are ``bound``) and the statement binds ``keys`` in their order; else the few processed values are
    replaced in a copy.

    ``bound``: each value is already what its column's bind processor makes of it (``replace_rows``)."""
    batches = iter(rows)
    first = list(itertools.islice(batches, _BATCH))
    if not first:
        return
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(keys))
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    where = {key: i for i, key in enumerate(keys)}
    order = [where[name] for name in names]
    processors = [] if bound else [
        (i, process) for i, name in enumerate(names)
        if (process := compiled.binds[name].type.bind_processor(conn.dialect)) is not None]
    sql = str(compiled)
    as_given = compiled.positional and order == list(range(len(keys)))
    batch = first
    while batch:
        params: list[Any]
        if compiled.positional:
            if as_given and not processors:
                params = batch
            else:
                params = []
                for row in batch:
                    values = [row[i] for i in order]
                    for i, process in processors:
                        values[i] = process(values[i])
                    params.append(tuple(values))
        else:
            params = []
            for row in batch:
                named = {name: row[i] for name, i in zip(names, order, strict=True)}
                for i, process in processors:
                    named[names[i]] = process(named[names[i]])
                params.append(named)
        conn.exec_driver_sql(sql, params)
        batch = list(itertools.islice(batches, _BATCH))


def insert_rows(conn: sa.Connection, table: sa.Table, keys: Sequence[str], rows: Iterable[tuple[Any, ...]], *,
                bound: bool = False) -> None:
    """INSERT ``rows`` (tuples of ``keys``' values, in that order) into ``table``, each column's bind processor
    applied (none: the rows are ``bound``, as ``executemany_rows`` says). On PostgreSQL one ``COPY ... FROM
    STDIN`` in the caller's transaction: the driver writes each row in C, where its pipelined executemany spends
    ~20 us a row in Python (a cluster worker pays that for every AP's state, in its 64 shards' commits a slot).
    Elsewhere ``executemany_rows``."""
    if conn.dialect.name != "postgresql":
        executemany_rows(conn, table.insert(), keys, rows, bound=bound)
        return
    columns = [table.c[key] for key in keys]
    processors = [] if bound else [(i, process) for i, column in enumerate(columns)
                                   if (process := column.type.bind_processor(conn.dialect)) is not None]
    quote = conn.dialect.identifier_preparer
    sql = f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c.name) for c in columns)}) FROM STDIN"
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            if processors:
                values = list(row)
                for i, process in processors:
                    values[i] = process(values[i])
                copy.write_row(values)
            else:
                copy.write_row(row)


def replace_rows(conn: sa.Connection, table: sa.Table, keys: Sequence[str], rows: Iterable[tuple[Any, ...]],
                 ids: Sequence[Any], *, bound: bool = False) -> None:
    """Replace the rows of ``ids`` (the values of ``table``'s one-column primary key, which is ``keys[0]``) with
    ``rows`` (tuples of ``keys``' values, in that order; a row for every id, none for another).

    On PostgreSQL one DELETE (``where_in``) and one COPY (``insert_rows``). Elsewhere (SQLite) one
    ``INSERT ... ON CONFLICT (key) DO UPDATE`` per row (``executemany_rows``): SQLite then updates the row where it
    is, with no DELETE beforehand: about 30 % less than a DELETE and an INSERT a row (docs/performance.md,
    issue 19).

    ``bound``: each value is already what its column's bind processor makes of it, so none is applied: the
    caller has applied the ones that change anything (``polling._state_row``: every AP's state, every cycle;
    a test holds its rows to the processors' output)."""
    (key,) = table.primary_key.columns
    if key.name != keys[0]:
        raise ValueError(f"replace_rows: {table.name}'s rows must start with its key {key.name!r}")
    if conn.dialect.name == "postgresql":
        for where in where_in(conn, key, ids):
            conn.execute(table.delete().where(where))
        insert_rows(conn, table, keys, rows, bound=bound)
        return
    statement = sqlite.insert(table)
    statement = statement.on_conflict_do_update(index_elements=[key],
                                                set_={name: statement.excluded[name] for name in keys[1:]})
    executemany_rows(conn, statement, keys, rows, bound=bound)
