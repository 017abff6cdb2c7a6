"""The current shape of the state store's tables (SQLAlchemy Core).

Queries use these. ``migrations.py`` holds how each version of the schema came
to be; ``tests/store/test_migrations.py`` checks that migrating an empty
database gives exactly these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UtcDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)

sites = sa.Table(
    "sites", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("district", sa.String(100)),
    sa.Column("explicit", sa.Boolean, nullable=False),
)

access_points = sa.Table(
    "access_points", metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("program", sa.String(200)),
    sa.Column("district", sa.String(100)),
    sa.Column("neighborhood", sa.String(200)),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("site", sa.String(100)),
    sa.Column("site_id", sa.String(100), sa.ForeignKey("sites.id"), nullable=False, index=True),
    sa.Column("mgmt_address", sa.String(300)),
    sa.Column("profile", sa.String(100)),
    sa.Column("snmp_auth", sa.String(100)),
    sa.Column("ssh_auth", sa.String(100)),
    sa.Column("crew_zone", sa.String(100)),
    sa.Column("backhaul_mbps", sa.Float),
    sa.Column("target_mbps", sa.Float),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

inventory_imports = sa.Table(
    "inventory_imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("added", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
    sa.Column("removed", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("warnings", sa.Integer, nullable=False),
)
