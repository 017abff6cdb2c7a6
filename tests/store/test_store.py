"""The state store on SQLite and PostgreSQL: migrations, the write lock, clear errors."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from hotspotctl.errors import ConfigError, StoreError
from hotspotctl.store import Store, migrations
from hotspotctl.store.schema import inventory_imports, metadata, schema_version


def _shape(engine: sa.Engine) -> dict:
    inspector = sa.inspect(engine)
    shape = {}
    for table in inspector.get_table_names():
        columns = {c["name"]: (c["nullable"], type(c["type"]).__mro__[0].__visit_name__)
                   for c in inspector.get_columns(table)}
        shape[table] = {"columns": columns, "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                        "fks": sorted((tuple(fk["constrained_columns"]), fk["referred_table"])
                                      for fk in inspector.get_foreign_keys(table)),
                        "indexes": sorted(tuple(i["column_names"]) for i in inspector.get_indexes(table))}
    return shape


def test_migrating_an_empty_store_ends_exactly_at_the_declared_schema(store_url: str, tmp_path: Path):
    with Store.open(store_url) as store:
        migrated = _shape(store.engine)
        with store.read() as conn:
            assert migrations.current_version(conn) == migrations.LATEST
            assert conn.execute(sa.select(schema_version.c.version)).scalars().all() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    declared_engine = sa.create_engine(f"sqlite:///{tmp_path / 'declared.db'}")
    metadata.create_all(declared_engine)
    declared = _shape(declared_engine)
    if store_url.startswith("sqlite"):
        assert migrated == declared
    else:  # type names differ by dialect; the rest must agree
        strip = {t: {**v, "columns": {c: n for c, (n, _) in v["columns"].items()}} for t, v in declared.items()}
        assert {t: {**v, "columns": {c: n for c, (n, _) in v["columns"].items()}} for t, v in migrated.items()} == strip


def test_opening_again_applies_nothing(store: Store):
    assert store.migrate() == []


def test_a_store_from_a_newer_hotspotctl_is_refused(store: Store, store_url: str):
    with store.write() as conn:
        conn.execute(schema_version.insert().values(version=99, description="future",
                                                    applied_at=datetime.now(UTC)))
    with pytest.raises(StoreError, match="schema version 99, newer than this hotspotctl knows"):
        Store.open(store_url)


def test_times_come_back_as_aware_utc(store: Store):
    moment = datetime(2026, 11, 22, 1, 2, 3, tzinfo=timezone(timedelta(hours=-6)))  # Mexico City
    with store.write() as conn:
        conn.execute(inventory_imports.insert().values(
            at=moment, source="f", sha256="0" * 64, mode="replace", added=0, updated=0, unchanged=0,
            removed=0, rejected=0, warnings=0))
    with store.read() as conn:
        stored = conn.execute(sa.select(inventory_imports.c.at)).scalar_one()
    assert stored == moment and stored.tzinfo == UTC and stored.hour == 7


def test_writers_take_turns(store: Store):
    """A second writer waits for the first to commit, so a plan read inside a write holds."""
    events: list[str] = []
    first_inside = threading.Event()

    def first() -> None:
        with store.write():
            events.append("first begins")
            first_inside.set()
            time.sleep(0.5)
            events.append("first commits")

    thread = threading.Thread(target=first)
    thread.start()
    first_inside.wait(5)
    with store.write():
        events.append("second begins")
    thread.join()
    assert events == ["first begins", "first commits", "second begins"]


def test_bad_urls_are_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="is not a database URL"):
        Store.open("not a url")
    with pytest.raises(ConfigError, match="'mysql' is not supported"):
        Store.open("mysql://u:p@h/db")


def test_an_unreachable_postgresql_is_a_store_error_without_the_password():
    from tests.servers import free_port

    url = f"postgresql://noc:hunter2@127.0.0.1:{free_port()}/x?connect_timeout=2"
    with pytest.raises(StoreError) as caught:
        Store.open(url)
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("state store postgresql+psycopg://noc:***@127.0.0.1:")


def test_bulk_executemany_stores_what_sqlalchemy_would(store: Store):
    from hotspotctl.store.bulk import executemany
    from hotspotctl.store.schema import sites

    moment = datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=timezone(timedelta(hours=-6)))
    row = dict(source="f", sha256="0" * 64, mode="replace", added=1, updated=2, unchanged=3, removed=4,
               rejected=5, warnings=6)
    with store.write() as conn:
        conn.execute(inventory_imports.insert(), [{**row, "at": moment, "source": "core"}])
        executemany(conn, inventory_imports.insert(), [{**row, "at": moment, "source": "bulk"}])
        executemany(conn, sites.insert(), [dict(id="s1", name="A", lat=19.1, lon=-99.1, district=None,
                                                explicit=True)])
        executemany(conn, sites.update().where(sites.c.id == sa.bindparam("key")),
                    [dict(key="s1", name="B", lat=19.2, lon=-99.2, district="Tlalpan", explicit=False)])
    with store.read() as conn:
        got = conn.execute(sa.select(inventory_imports).order_by(inventory_imports.c.id)).all()
        site = conn.execute(sa.select(sites)).one()
    assert [r.source for r in got] == ["core", "bulk"]
    core, bulk = (r._asdict() for r in got)
    assert {**core, "id": 0, "source": ""} == {**bulk, "id": 0, "source": ""}
    assert bulk["at"] == moment and bulk["at"].tzinfo == UTC
    assert tuple(site) == ("s1", "B", 19.2, -99.2, "Tlalpan", False)


def test_loaded_aps_share_their_repeated_strings_and_equal_what_was_written(store: Store):
    from hotspotctl.models.access_points import AccessPoint, Site
    from hotspotctl.store import inventory as queries

    site = Site("s-1", "Site 1", 19.4, -99.1, "Iztapalapa", True)
    written = [AccessPoint(f"ap-{i}", 19.4, -99.1, program="Mi Ciudad Conectada", district="Iztapalapa",
                           neighborhood="Centro", site="Site 1", mgmt_address=f"10.0.0.{i}", profile="ruckus",
                           snmp_auth="default", crew_zone="oriente", backhaul_mbps=100.0, site_id="s-1")
               for i in range(1, 4)]
    written.append(AccessPoint("ctl-1", None, None, district="Iztapalapa", role="controller"))
    with store.write() as conn:
        queries.save_sites(conn, {site.id: site}, {})
        queries.insert_access_points(conn, written, datetime.now(UTC))
    for ids in (None, ["ap-1", "ap-2", "ap-3", "ctl-1"]):
        with store.read() as conn:
            loaded = queries.load_access_points(conn, ids)
        assert sorted(loaded.values(), key=lambda ap: ap.id) == sorted(written, key=lambda ap: ap.id)
        first, second = loaded["ap-1"], loaded["ap-2"]
        for name in ("program", "district", "neighborhood", "site", "profile", "snmp_auth", "crew_zone", "role",
                     "site_id"):
            assert getattr(first, name) is getattr(second, name), name
        assert loaded["ctl-1"].district is first.district
        assert first.mgmt_address != second.mgmt_address
