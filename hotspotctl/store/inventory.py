"""Reading and writing inventory rows in the state store."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa

from hotspotctl.models.access_points import AP_COLUMNS, SITE_COLUMNS, AccessPoint, Site
from hotspotctl.store.bulk import YIELD_PER, executemany, where_in
from hotspotctl.store.schema import access_points, inventory_imports, sites, store_meta

# A controller's site_id is "" in AccessPoint and NULL in the store (it is in no site: no foreign key to follow).
_AP_COLUMNS = [sa.func.coalesce(access_points.c.site_id, "").label("site_id") if name == "site_id"
               else access_points.c[name] for name in AP_COLUMNS]
_SITE_COLUMNS = [sites.c[name] for name in SITE_COLUMNS]


INVENTORY_VERSION = "inventory_version"


def inventory_version(conn: sa.Connection) -> int:
    """A number every write to the APs or sites changes: a running service compares it each cycle."""
    found = conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == INVENTORY_VERSION)).scalar()
    return found or 0


def _changed(conn: sa.Connection) -> None:
    """Bump the inventory version, in the writer's transaction (so it commits with the change)."""
    updated = conn.execute(store_meta.update().where(store_meta.c.key == INVENTORY_VERSION)
                           .values(value=store_meta.c.value + 1))
    if updated.rowcount == 0:
        conn.execute(store_meta.insert().values(key=INVENTORY_VERSION, value=1))


def existing_ap_ids(conn: sa.Connection, ids: Iterable[str]) -> set[str]:
    """Which of these AP ids are still in the inventory."""
    found: set[str] = set()
    wanted = sorted(set(ids))
    for where in where_in(conn, access_points.c.id, wanted):
        found.update(conn.execute(sa.select(access_points.c.id).where(where)).scalars())
    return found


# Columns whose values repeat across the fleet (a district, a programme, a profile, a site's APs): the
# driver gives each row its own copy of the string, so a load keeps one of each value instead (35,350 APs
# hold a few hundred distinct ones).
_SHARED = tuple(i for i, name in enumerate(AP_COLUMNS)
                if name in {"program", "district", "neighborhood", "site", "profile", "collector", "snmp_auth",
                            "ssh_auth", "crew_zone", "role", "controller", "site_id"})


def _ap_maker() -> Callable[[Sequence[object]], AccessPoint]:
    """An AccessPoint from a row (columns in field order), its repeated strings shared within one load."""
    seen: dict[object, object] = {}
    shared = seen.setdefault

    def make(row: Sequence[object]) -> AccessPoint:
        values = list(row)
        for i in _SHARED:
            value = values[i]
            if value is not None:
                values[i] = shared(value, value)
        return AccessPoint(*values)  # type: ignore[arg-type]

    return make


def load_access_points(conn: sa.Connection, ids: Sequence[str] | None = None) -> dict[str, AccessPoint]:
    """Every AP (controllers too), or those of ``ids`` that exist."""
    make = _ap_maker()
    if ids is not None:
        found: dict[str, AccessPoint] = {}
        for where in where_in(conn, access_points.c.id, sorted(set(ids))):
            rows = conn.execute(sa.select(*_AP_COLUMNS).where(where), execution_options=YIELD_PER)
            found.update((row[0], make(row)) for row in rows)
        return found
    rows = conn.execute(sa.select(*_AP_COLUMNS).order_by(access_points.c.id))
    return {row[0]: make(row) for row in rows}


def load_sites(conn: sa.Connection) -> dict[str, Site]:
    rows = conn.execute(sa.select(*_SITE_COLUMNS).order_by(sites.c.id))
    return {row[0]: Site(*row) for row in rows}


def count_sites(conn: sa.Connection) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(sites)).scalar_one()


def known_programs(conn: sa.Connection) -> list[str]:
    query = sa.select(access_points.c.program).where(access_points.c.program.is_not(None)).distinct()
    return sorted(conn.execute(query).scalars())


def last_import(conn: sa.Connection) -> dict[str, object] | None:
    row = conn.execute(sa.select(inventory_imports).order_by(inventory_imports.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return {**row._mapping, "at": row.at.isoformat(timespec="seconds")}


def save_sites(conn: sa.Connection, wanted: dict[str, Site], current: dict[str, Site]) -> None:
    """Insert and update sites so the table holds ``wanted`` (deletions: ``delete_sites``)."""
    added = [site for key, site in wanted.items() if key not in current]
    changed = [site for key, site in wanted.items() if key in current and current[key] != site]
    if added or changed:
        _changed(conn)
    if added:
        executemany(conn, sites.insert(), [site.values() for site in added])
    if changed:
        executemany(conn, sites.update().where(sites.c.id == sa.bindparam("key")),
                    [{**site.values(), "key": site.id} for site in changed])


def delete_sites(conn: sa.Connection, ids: list[str]) -> None:
    if ids:
        _changed(conn)
    for where in where_in(conn, sites.c.id, sorted(ids)):
        conn.execute(sites.delete().where(where))


def _row(ap: AccessPoint) -> dict[str, object]:
    values = ap.values()
    values["site_id"] = ap.site_id or None
    return values


def insert_access_points(conn: sa.Connection, aps: list[AccessPoint], now: datetime) -> None:
    if aps:
        _changed(conn)
    executemany(conn, access_points.insert(), [{**_row(ap), "updated_at": now} for ap in aps])


def update_access_points(conn: sa.Connection, aps: list[AccessPoint], now: datetime) -> None:
    if aps:
        _changed(conn)
    statement = access_points.update().where(access_points.c.id == sa.bindparam("key"))
    executemany(conn, statement, [{**_row(ap), "key": ap.id, "updated_at": now} for ap in aps])


def delete_access_points(conn: sa.Connection, ids: list[str]) -> None:
    if ids:
        _changed(conn)
    for where in where_in(conn, access_points.c.id, sorted(ids)):
        conn.execute(access_points.delete().where(where))


def record_import(conn: sa.Connection, **values: object) -> None:
    conn.execute(inventory_imports.insert().values(**values))
