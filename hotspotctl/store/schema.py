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


def signed64(value: int | None) -> int | None:
    """An unsigned 64-bit value as the signed BIGINT that stores it (two's complement): ``Unsigned64``'s bind."""
    if value is None:
        return None
    return value - (1 << 64) if value >= 1 << 63 else value


class Unsigned64(sa.types.TypeDecorator):
    """An unsigned 64-bit counter (Counter64) in a signed BIGINT column, two's complement.

    SQLite's INTEGER and PostgreSQL's BIGINT stop at 2^63-1; a Counter64 goes to 2^64-1.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: sa.Dialect) -> int | None:
        return signed64(value)

    def process_result_value(self, value: int | None, dialect: sa.Dialect) -> int | None:
        if value is None:
            return None
        return value + (1 << 64) if value < 0 else value


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
    sa.Column("lat", sa.Float),  # NULL only for a controller given no coordinates
    sa.Column("lon", sa.Float),
    sa.Column("site", sa.String(100)),
    sa.Column("site_id", sa.String(100), sa.ForeignKey("sites.id"), index=True),  # NULL for a controller
    sa.Column("mgmt_address", sa.String(300)),
    sa.Column("profile", sa.String(100)),
    sa.Column("collector", sa.String(20)),
    sa.Column("snmp_auth", sa.String(100)),
    sa.Column("ssh_auth", sa.String(100)),
    sa.Column("crew_zone", sa.String(100)),
    sa.Column("backhaul_mbps", sa.Float),
    sa.Column("target_mbps", sa.Float),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("role", sa.String(20), nullable=False, server_default="ap"),  # ap | controller
    sa.Column("controller", sa.String(200)),  # the controller row managing this AP
    sa.Column("ap_name", sa.String(200)),  # its name on that controller, when not its id
    sa.Column("ap_mac", sa.String(17)),  # or its MAC there, aa:bb:cc:dd:ee:ff
)

store_meta = sa.Table(
    "store_meta", metadata,  # small counters the store keeps about itself
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),  # inventory_version: bumped by every inventory write
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

ap_discovery = sa.Table(
    "ap_discovery", metadata,
    sa.Column("ap_id", sa.String(200), sa.ForeignKey("access_points.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("address", sa.String(300), nullable=False),  # where it was discovered; a new address rediscovers
    sa.Column("profile", sa.String(100), nullable=False),
    sa.Column("layout", sa.JSON, nullable=False),  # collectors.model.Discovery as JSON
    sa.Column("discovered_at", UtcDateTime, nullable=False),
)

ap_state = sa.Table(
    "ap_state", metadata,
    sa.Column("ap_id", sa.String(200), sa.ForeignKey("access_points.id", ondelete="CASCADE"), primary_key=True),
    # evaluate.rates.CounterState of the last good sample
    sa.Column("at", sa.Float),
    sa.Column("sys_uptime", sa.BigInteger),
    sa.Column("hr_uptime", sa.BigInteger),
    sa.Column("engine_time", sa.BigInteger),
    sa.Column("in_octets", Unsigned64),
    sa.Column("out_octets", Unsigned64),
    sa.Column("counter_bits", sa.Integer),
    sa.Column("uptime_wraps", sa.Integer, nullable=False),
    sa.Column("mono", sa.Float),  # time.monotonic() of that sample, on the clock...
    sa.Column("clock", sa.String(64)),  # ...the kernel's boot id names (collectors.clock)
    sa.Column("uplink", sa.Text),  # the interface the counters are from ("ifIndex.N", or a name over SSH)
    # reachability, for back-off of down APs
    sa.Column("failures", sa.Integer, nullable=False),  # consecutive failed cycles
    sa.Column("last_attempt_at", sa.Float, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("last_error", sa.String(500)),
    sa.Column("needs_discovery", sa.Boolean, nullable=False),
)

poll_cycles = sa.Table(
    "poll_cycles", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scheduled_at", sa.Float, nullable=False),  # when the scheduler meant it to start
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("lag_s", sa.Float, nullable=False),  # started_at - scheduled_at of the oldest run it stands for
    sa.Column("missed", sa.Integer, nullable=False),  # runs skipped because the one before overran
    sa.Column("aps", sa.Integer, nullable=False),
    sa.Column("ok", sa.Integer, nullable=False),
    sa.Column("timed_out", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),  # down APs waiting out their back-off
    sa.Column("discovered", sa.Integer, nullable=False),
    sa.Column("cpu_s", sa.Float, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),  # metrics written or spooled
    sa.Column("sink", sa.String(50), nullable=False),  # where they went: spool | influx
)

ap_health = sa.Table(
    "ap_health", metadata,
    sa.Column("ap_id", sa.String(200), sa.ForeignKey("access_points.id", ondelete="CASCADE"), primary_key=True),
    # evaluate.status.ApHealth
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("since", sa.Float, nullable=False),
    sa.Column("misses", sa.Integer, nullable=False),
    sa.Column("goods", sa.Integer, nullable=False),
    sa.Column("answered", sa.Boolean),
    sa.Column("missing_since", sa.Float),
    sa.Column("below", sa.Integer, nullable=False),
    sa.Column("slow", sa.Integer, nullable=False),
    sa.Column("uplink_degraded", sa.Boolean, nullable=False),
    sa.Column("trouble_since", sa.Float, nullable=False),
    sa.Column("changes", sa.String(2000), nullable=False),  # epoch seconds, space-separated
    sa.Column("reboots", sa.String(2000), nullable=False),
    sa.Column("clients", sa.Integer),
    sa.Column("link_mbps", sa.Float),
    sa.Column("capacity_mbps", sa.Float),
    sa.Column("per_user_mbps", sa.Float),
    sa.Column("causes", sa.String(200), nullable=False),  # comma-separated, in CAUSES order
    sa.Column("ok_since", sa.Float),  # the first of the good cycles in a row (outages close as of it)
    sa.Column("reason_kind", sa.String(20)),  # unmonitored / misconfigured: the PollError's kind ...
    sa.Column("reason", sa.String(500)),  # ... and its message
    sa.Column("busy", sa.Integer, nullable=False, server_default="0"),  # bits beside below: the air busy too
    sa.Column("radios", sa.Text),  # the radios seen up: JSON [[name, down bits, down 0/1], ...]; NULL = none
    # ping (backhaul_degraded): JSON [bad bits, degraded 0/1, loss % last seen, rtt ms last seen]; NULL = nothing yet
    sa.Column("ping", sa.String(200)),
)

outages = sa.Table(
    "outages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site_id", sa.String(100), nullable=False, index=True),  # no foreign key: the ledger outlives sites
    sa.Column("zone", sa.String(100), nullable=False),
    sa.Column("cause", sa.String(50), nullable=False),
    sa.Column("causes", sa.String(200), nullable=False),
    sa.Column("aps", sa.JSON, nullable=False),
    sa.Column("aps_now", sa.JSON, nullable=False),
    sa.Column("opened_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("closed_at", sa.Float, index=True),
    sa.Column("peak_aps", sa.Integer, nullable=False),
    sa.Column("peak_clients", sa.Integer, nullable=False),
    sa.Column("clients_now", sa.Integer, nullable=False),
    sa.Column("delivery", sa.JSON, nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("acked_at", sa.Float),  # the NOC's hand actions (migration 11); NULL = not done
    sa.Column("acked_by", sa.String(200)),
    sa.Column("assigned_to", sa.String(200)),
    sa.Column("assigned_at", sa.Float),
    sa.Column("closed_by", sa.String(200)),  # NULL when the run closed it
    sa.Column("visits", sa.JSON),  # crews' reports: [{"at", "by", "note", "via"}, ...]; NULL = none
)

maintenance = sa.Table(
    "maintenance", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scope", sa.String(20), nullable=False),  # ap | site | district
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("starts_at", sa.Float, nullable=False),
    sa.Column("ends_at", sa.Float, nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

availability_hourly = sa.Table(
    "availability_hourly", metadata,
    sa.Column("hour", sa.Float, primary_key=True, autoincrement=False),  # epoch seconds of the UTC hour
    sa.Column("district", sa.String(100), primary_key=True),
    sa.Column("program", sa.String(200), primary_key=True),
    sa.Column("samples", sa.Integer, nullable=False),  # AP-cycles evaluated (not in maintenance, state known)
    sa.Column("up", sa.Integer, nullable=False),  # ... of which not DOWN
    sa.Column("measured", sa.Integer, nullable=False),  # ... with a per-user figure
    sa.Column("meeting", sa.Integer, nullable=False),  # ... meeting the target
    sa.Column("counted", sa.Integer, nullable=False, server_default="0"),  # ... up, with a client count
    sa.Column("clients", sa.Integer, nullable=False, server_default="0"),  # ... the clients they counted
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.Float, nullable=False, index=True),
    sa.Column("finished_at", sa.Float),  # None while it runs, or when it never finished (a crash)
    sa.Column("user", sa.String(200), nullable=False),  # who: the OS user (and the sudo user behind it)
    sa.Column("action", sa.String(20), nullable=False),  # ssh | exec | reboot
    sa.Column("command", sa.Text, nullable=False),
    sa.Column("selection", sa.JSON, nullable=False),  # the flags that chose the targets
    sa.Column("targets", sa.JSON, nullable=False),  # AP ids
    sa.Column("status", sa.String(20), nullable=False),  # running | ok | partial | failed | interrupted
    sa.Column("results", sa.JSON, nullable=False),  # per AP: ok, error, exit, output excerpt
)

noc_notices = sa.Table(
    "noc_notices", metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),  # delivery.noc.Notice.fingerprint
    sa.Column("channel", sa.String(20), primary_key=True),  # email | webhook
    sa.Column("kind", sa.String(40), nullable=False),  # settings.NOC_KINDS
    sa.Column("labels", sa.JSON, nullable=False),  # as first sent: the resolve carries the same
    sa.Column("annotations", sa.JSON, nullable=False),  # as last sent
    sa.Column("starts_at", sa.Float, nullable=False),  # when the trouble began
    sa.Column("first_sent_at", sa.Float, nullable=False),
    sa.Column("last_sent_at", sa.Float, nullable=False),  # the last firing (or repeat) that went out
    sa.Column("sends", sa.Integer, nullable=False),  # firing messages sent: the first and its repeats
    sa.Column("resolved_at", sa.Float),  # when its resolve went out; NULL while firing
)

shard_cycles = sa.Table(
    "shard_cycles", metadata,
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("slot", sa.Float, primary_key=True),  # epoch seconds: scheduling.shards.cycle_slot
    sa.Column("worker", sa.String(200), nullable=False),  # who claimed it (cluster.worker)
    sa.Column("state", sa.String(20), nullable=False),  # running | done | failed
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),  # NULL while running (or its worker died)
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("cpu_s", sa.Float, nullable=False),
    *(sa.Column(name, sa.Integer, nullable=False) for name in ("aps", "ok", "failed", "timed_out", "skipped",
                                                              "points")),
    sa.Column("reloaded", sa.Boolean, nullable=False),  # the worker loaded the shard's state from the store first
    sa.Column("districts", sa.Text, nullable=False),  # JSON {district: {aps, up, down, ...}}: the slot's rollup
    sa.Column("error", sa.String(500)),  # why it failed
    sa.Index("ix_shard_cycles_slot", "slot"),
)
