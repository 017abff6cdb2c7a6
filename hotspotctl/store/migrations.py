"""Versioned schema migrations, run in one locked transaction when the store opens.

Each migration is a function of a Connection that takes the schema from version
N-1 to N using portable SQLAlchemy DDL, so the same steps run on SQLite and
PostgreSQL. A migration describes its tables as they were at that version
(never by importing ``schema``, which moves on); a test checks that migrating an
empty database ends exactly at ``schema.metadata``.

Why not Alembic: this store has a handful of tables, one writer at a time and
no branches; twenty lines here replace an ini file, an env.py and a script
directory, and the test above guards drift the way autogenerate would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from hotspotctl.errors import StoreError
from hotspotctl.store.schema import Unsigned64, UtcDateTime, schema_version


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sa.Connection], None]


def _v1_inventory(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "sites", md,
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("district", sa.String(100)),
        sa.Column("explicit", sa.Boolean, nullable=False),
    )
    sa.Table(
        "access_points", md,
        sa.Column("id", sa.String(200), primary_key=True),
        *(sa.Column(name, sa.String(200)) for name in ("program", "district", "neighborhood")),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("site", sa.String(100)),
        sa.Column("site_id", sa.String(100), sa.ForeignKey("sites.id"), nullable=False, index=True),
        sa.Column("mgmt_address", sa.String(300)),
        *(sa.Column(name, sa.String(100)) for name in ("profile", "snmp_auth", "ssh_auth", "crew_zone")),
        sa.Column("backhaul_mbps", sa.Float),
        sa.Column("target_mbps", sa.Float),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    sa.Table(
        "inventory_imports", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False)
          for name in ("added", "updated", "unchanged", "removed", "rejected", "warnings")),
    )
    md.create_all(conn)


def _v2_polling(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table("access_points", md, sa.Column("id", sa.String(200), primary_key=True))
    ap_fk = ("ap_id", sa.String(200))
    sa.Table(
        "ap_discovery", md,
        sa.Column(*ap_fk, sa.ForeignKey("access_points.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("profile", sa.String(100), nullable=False),
        sa.Column("layout", sa.JSON, nullable=False),
        sa.Column("discovered_at", UtcDateTime, nullable=False),
    )
    sa.Table(
        "ap_state", md,
        sa.Column(*ap_fk, sa.ForeignKey("access_points.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("at", sa.Float),
        *(sa.Column(name, sa.BigInteger) for name in ("sys_uptime", "hr_uptime", "engine_time")),
        *(sa.Column(name, Unsigned64) for name in ("in_octets", "out_octets")),
        sa.Column("counter_bits", sa.Integer),
        sa.Column("uptime_wraps", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_attempt_at", sa.Float, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("needs_discovery", sa.Boolean, nullable=False),
    )
    md.tables["ap_discovery"].create(conn)
    md.tables["ap_state"].create(conn)


def _v3_cycles(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "poll_cycles", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *(sa.Column(name, sa.Float, nullable=False) for name in ("scheduled_at", "started_at", "duration_s",
                                                                "lag_s")),
        *(sa.Column(name, sa.Integer, nullable=False) for name in ("missed", "aps", "ok", "timed_out", "failed",
                                                                  "skipped", "discovered")),
        sa.Column("cpu_s", sa.Float, nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("sink", sa.String(50), nullable=False),
    )
    md.tables["poll_cycles"].create(conn)


def _v4_outages(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table("access_points", md, sa.Column("id", sa.String(200), primary_key=True))
    sa.Table(
        "ap_health", md,
        sa.Column("ap_id", sa.String(200), sa.ForeignKey("access_points.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("since", sa.Float, nullable=False),
        sa.Column("misses", sa.Integer, nullable=False),
        sa.Column("goods", sa.Integer, nullable=False),
        sa.Column("answered", sa.Boolean),
        sa.Column("missing_since", sa.Float),
        *(sa.Column(name, sa.Integer, nullable=False) for name in ("below", "slow")),
        sa.Column("uplink_degraded", sa.Boolean, nullable=False),
        sa.Column("trouble_since", sa.Float, nullable=False),
        sa.Column("changes", sa.String(2000), nullable=False),
        sa.Column("reboots", sa.String(2000), nullable=False),
        sa.Column("clients", sa.Integer),
        *(sa.Column(name, sa.Float) for name in ("link_mbps", "capacity_mbps", "per_user_mbps")),
        sa.Column("causes", sa.String(200), nullable=False),
    )
    sa.Table(
        "outages", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(100), nullable=False, index=True),
        sa.Column("zone", sa.String(100), nullable=False),
        sa.Column("cause", sa.String(50), nullable=False),
        sa.Column("causes", sa.String(200), nullable=False),
        sa.Column("aps", sa.JSON, nullable=False),
        sa.Column("aps_now", sa.JSON, nullable=False),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("closed_at", sa.Float, index=True),
        *(sa.Column(name, sa.Integer, nullable=False) for name in ("peak_aps", "peak_clients", "clients_now")),
        sa.Column("delivery", sa.JSON, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
    )
    sa.Table(
        "maintenance", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("starts_at", sa.Float, nullable=False),
        sa.Column("ends_at", sa.Float, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    sa.Table(
        "availability_hourly", md,
        sa.Column("hour", sa.Float, primary_key=True, autoincrement=False),
        sa.Column("district", sa.String(100), primary_key=True),
        sa.Column("program", sa.String(200), primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False) for name in ("samples", "up", "measured", "meeting")),
    )
    for name in ("ap_health", "outages", "maintenance", "availability_hourly"):
        md.tables[name].create(conn)


def _v5_ssh(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE access_points ADD COLUMN collector VARCHAR(20)"))
    md = sa.MetaData()
    sa.Table(
        "audit_log", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.Float, nullable=False, index=True),
        sa.Column("finished_at", sa.Float),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("selection", sa.JSON, nullable=False),
        sa.Column("targets", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
    ).create(conn)


def _v6_meta(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "store_meta", md,
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    ).create(conn)


def _v7_rates(conn: sa.Connection) -> None:
    # Rows written before have NULLs: their next interval is the wall clock's, and any uplink matches.
    for column in ("mono FLOAT", "clock VARCHAR(64)", "uplink TEXT"):
        conn.execute(sa.text(f"ALTER TABLE ap_state ADD COLUMN {column}"))


def _v8_unusable_and_clients(conn: sa.Connection) -> None:
    for column in ("ok_since FLOAT", "reason_kind VARCHAR(20)", "reason VARCHAR(500)"):
        conn.execute(sa.text(f"ALTER TABLE ap_health ADD COLUMN {column}"))
    for column in ("counted", "clients"):
        conn.execute(sa.text(f"ALTER TABLE availability_hourly ADD COLUMN {column} INTEGER DEFAULT '0' NOT NULL"))


_V9_OPTIONAL = ("lat", "lon", "site_id")  # a controller row has no site, and may have no coordinates


def _v9_controllers(conn: sa.Connection) -> None:
    for column in ("role VARCHAR(20) DEFAULT 'ap' NOT NULL", "controller VARCHAR(200)", "ap_name VARCHAR(200)",
                   "ap_mac VARCHAR(17)"):
        conn.execute(sa.text(f"ALTER TABLE access_points ADD COLUMN {column}"))
    if conn.dialect.name != "sqlite":
        for name in _V9_OPTIONAL:
            conn.execute(sa.text(f"ALTER TABLE access_points ALTER COLUMN {name} DROP NOT NULL"))
        return
    # SQLite cannot ALTER a column's NOT NULL away. Its documented way of removing a NOT NULL constraint
    # (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes") is to edit the
    # table's CREATE statement in sqlite_schema and bump schema_version, in the migration's transaction.
    # The copy-and-rename way would mean dropping access_points, whose implicit DELETE would cascade to
    # every AP's state, layout and health (foreign_keys is on, and cannot be turned off in a transaction).
    created = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'access_points'"))
    sql = created.scalar_one()
    edited = sql
    for name in _V9_OPTIONAL:
        edited, found = re.subn(rf"(\b{name}\s+(?:FLOAT|VARCHAR\(\d+\)))\s+NOT NULL", r"\1", edited)
        if found != 1:
            raise StoreError(f"the store's access_points table is not as migration 8 left it (column {name}); "
                             "nothing changed")
    version = conn.execute(sa.text("PRAGMA schema_version")).scalar_one()
    conn.execute(sa.text("PRAGMA writable_schema = ON"))
    try:
        conn.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'access_points'"),
                     {"sql": edited})
        conn.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    finally:
        conn.execute(sa.text("PRAGMA writable_schema = OFF"))
    problems = conn.execute(sa.text("PRAGMA quick_check")).scalars().all()
    if problems != ["ok"]:
        raise StoreError(f"the store failed SQLite's check after migration 9: {'; '.join(problems[:3])}")


def _v10_radio_health(conn: sa.Connection) -> None:
    # Rows written before load as no busy readings and no radio seen up: the next answers fill them in.
    conn.execute(sa.text("ALTER TABLE ap_health ADD COLUMN busy INTEGER DEFAULT '0' NOT NULL"))
    conn.execute(sa.text("ALTER TABLE ap_health ADD COLUMN radios TEXT"))


def _v11_outage_workflow(conn: sa.Connection) -> None:
    # Outages stored before load as never acknowledged, assigned, closed by hand or visited.
    for column in ("acked_at FLOAT", "acked_by VARCHAR(200)", "assigned_to VARCHAR(200)", "assigned_at FLOAT",
                   "closed_by VARCHAR(200)", "visits JSON"):
        conn.execute(sa.text(f"ALTER TABLE outages ADD COLUMN {column}"))


def _v12_noc_notices(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "noc_notices", md,
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("annotations", sa.JSON, nullable=False),
        sa.Column("starts_at", sa.Float, nullable=False),
        sa.Column("first_sent_at", sa.Float, nullable=False),
        sa.Column("last_sent_at", sa.Float, nullable=False),
        sa.Column("sends", sa.Integer, nullable=False),
        sa.Column("resolved_at", sa.Float),
    ).create(conn)


def _v13_ping_health(conn: sa.Connection) -> None:
    # Rows written before load as no ping reading yet: the next cycles' pings fill it in.
    conn.execute(sa.text("ALTER TABLE ap_health ADD COLUMN ping VARCHAR(200)"))


def _v14_shard_cycles(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "shard_cycles", md,
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("slot", sa.Float, primary_key=True),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("cpu_s", sa.Float, nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False) for name in ("aps", "ok", "failed", "timed_out", "skipped",
                                                                  "points")),
        sa.Column("reloaded", sa.Boolean, nullable=False),
        sa.Column("districts", sa.Text, nullable=False),
        sa.Column("error", sa.String(500)),
        sa.Index("ix_shard_cycles_slot", "slot"),
    ).create(conn)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "inventory: access points, sites, import log", _v1_inventory),
    Migration(2, "polling: discovered layout and counter state per AP", _v2_polling),
    Migration(3, "scheduler: the cost of every poll cycle", _v3_cycles),
    Migration(4, "evaluation: AP health, the outage ledger, maintenance windows, hourly availability", _v4_outages),
    Migration(5, "ssh: the collector column, the audit log of actions on devices", _v5_ssh),
    Migration(6, "store_meta: the inventory version a running service watches", _v6_meta),
    Migration(7, "rates: the counters' monotonic time, its clock and the uplink they are from", _v7_rates),
    Migration(8, "evaluation: unmonitored and misconfigured APs' reason, when an AP came back, clients per hour",
              _v8_unusable_and_clients),
    Migration(9, "controllers: the role, controller, ap_name and ap_mac columns; a controller has no site or "
                 "coordinates", _v9_controllers),
    Migration(10, "evaluation: the radios seen up on each AP and its busy-air readings (radio_down, rf_limited)",
              _v10_radio_health),
    Migration(11, "outages: acknowledged, assigned and closed by hand (who and when), crews' visits",
              _v11_outage_workflow),
    Migration(12, "noc: the notices sent to the NOC, per channel, to repeat and resolve them across restarts",
              _v12_noc_notices),
    Migration(13, "evaluation: each AP's ping readings and last loss and rtt (agent_silent, backhaul_degraded)",
              _v13_ping_health),
    Migration(14, "cluster: one row per shard and slot polled (the claim, its cost, its district tallies)",
              _v14_shard_cycles),
)
LATEST = MIGRATIONS[-1].version


def current_version(conn: sa.Connection) -> int:
    if not sa.inspect(conn).has_table(schema_version.name):
        return 0
    return conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0


def migrate(conn: sa.Connection, *, now: datetime | None = None) -> list[int]:
    """Bring the schema to LATEST inside the caller's (locked) transaction; return versions applied."""
    version = current_version(conn)
    if version > LATEST:
        raise StoreError(f"the state store is at schema version {version}, newer than this "
                         f"hotspotctl knows ({LATEST}); upgrade hotspotctl or point it at another store")
    if version == 0:
        schema_version.create(conn)
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        migration.apply(conn)
        conn.execute(schema_version.insert().values(
            version=migration.version, description=migration.description,
            applied_at=now or datetime.now(UTC)))
        applied.append(migration.version)
    return applied
