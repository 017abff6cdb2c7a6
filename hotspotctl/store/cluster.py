"""The shards' cycles (``shard_cycles``): who polled which shard in which slot, what it cost, what it found.

Scale-out (issue 19, ``scheduling/shardrun.py``): a worker claims ``(shard, slot)`` by inserting the row
(state ``running``) before it polls; the primary key refuses a second claim of the same pair, so a shard
is polled at most once per slot whichever worker the task reached. The worker finishes the row
(``done``, with its figures and district tallies) in the same transaction as the shard's counter states
and evaluation, so a ``done`` row means the store holds that cycle's state: the next worker compares
the shard's newest ``done`` row with what it did last to know whether its memory is still the truth.
A worker killed mid-cycle leaves ``running``: that shard misses that slot only.

``ShardCycle`` lives here (the store may not import ``scheduling``); ``scheduling/shardrun.py``
re-exports it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from hotspotctl.store.schema import shard_cycles

RUNNING, DONE, FAILED, SKIPPED = "running", "done", "failed", "skipped"
STATES = (RUNNING, DONE, FAILED, SKIPPED)


@dataclass(frozen=True, slots=True)
class ShardCycle:
    """One shard's cycle in one slot: a row of ``shard_cycles`` once finished.

    ``state``: running | done | failed | skipped. ``skipped`` is never stored: it is what a task whose
    claim was refused (the shard was claimed in that slot already) returns. ``districts``: the shard's
    tallies by district (``evaluate.rollup.Tally.to_json`` figures), summed by the slot's conclusion.
    """

    shard: int
    slot: float
    worker: str
    state: str
    started_at: float
    duration_s: float = 0.0
    cpu_s: float = 0.0
    aps: int = 0
    ok: int = 0
    failed: int = 0
    timed_out: int = 0
    skipped: int = 0
    points: int = 0
    reloaded: bool = False
    districts: dict[str, dict[str, float]] = field(default_factory=dict)
    error: str | None = None
    finished_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"shard": self.shard, "slot": self.slot, "worker": self.worker, "state": self.state,
                "started_at": self.started_at, "finished_at": self.finished_at, "duration_s": self.duration_s,
                "cpu_s": self.cpu_s, "aps": self.aps, "ok": self.ok, "failed": self.failed,
                "timed_out": self.timed_out, "skipped": self.skipped, "points": self.points,
                "reloaded": self.reloaded, "districts": {d: dict(t) for d, t in self.districts.items()},
                "error": self.error}


def _cycle(row: Any) -> ShardCycle:
    return ShardCycle(shard=row.shard, slot=row.slot, worker=row.worker, state=row.state, started_at=row.started_at,
                      duration_s=row.duration_s, cpu_s=row.cpu_s, aps=row.aps, ok=row.ok, failed=row.failed,
                      timed_out=row.timed_out, skipped=row.skipped, points=row.points, reloaded=bool(row.reloaded),
                      districts=json.loads(row.districts), error=row.error, finished_at=row.finished_at)


def claim_shard(conn: sa.Connection, shard: int, slot: float, worker: str, now: float) -> bool:
    """Claim ``(shard, slot)`` for ``worker`` (a ``running`` row); False when it was claimed already.

    INSERT ... ON CONFLICT DO NOTHING: a refused claim neither raises nor spoils the caller's transaction
    (on PostgreSQL a failed INSERT would abort it).
    """
    values = {"shard": shard, "slot": float(slot), "worker": worker, "state": RUNNING, "started_at": now,
              "finished_at": None, "duration_s": 0.0, "cpu_s": 0.0, "aps": 0, "ok": 0, "failed": 0,
              "timed_out": 0, "skipped": 0, "points": 0, "reloaded": False, "districts": "{}", "error": None}
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    result = conn.execute(insert(shard_cycles).values(**values).on_conflict_do_nothing(
        index_elements=["shard", "slot"]).returning(shard_cycles.c.shard))
    return result.first() is not None


def finish_shard(conn: sa.Connection, cycle: ShardCycle) -> None:
    """Write a claimed cycle's outcome (``done`` or ``failed``, its figures) into its row.

    The row must be the caller's own claim: a row claimed by another worker is left alone (ValueError).
    """
    if cycle.state not in (DONE, FAILED):
        raise ValueError(f"a shard cycle finishes done or failed, not {cycle.state!r}")
    result = conn.execute(shard_cycles.update().where(
        shard_cycles.c.shard == cycle.shard, shard_cycles.c.slot == float(cycle.slot),
        shard_cycles.c.worker == cycle.worker).values(
        state=cycle.state, started_at=cycle.started_at,
        finished_at=cycle.finished_at if cycle.finished_at is not None else cycle.started_at + cycle.duration_s,
        duration_s=cycle.duration_s, cpu_s=cycle.cpu_s, aps=cycle.aps, ok=cycle.ok, failed=cycle.failed,
        timed_out=cycle.timed_out, skipped=cycle.skipped, points=cycle.points, reloaded=cycle.reloaded,
        districts=json.dumps(cycle.districts, sort_keys=True), error=(cycle.error or None) and cycle.error[:500]))
    if result.rowcount != 1:
        raise ValueError(f"shard {cycle.shard} in slot {cycle.slot:.0f} is not claimed by {cycle.worker}")


def last_shard_cycles(conn: sa.Connection, *, states: Sequence[str] | None = None,
                      before: float | None = None, shards: Sequence[int] | None = None) -> dict[int, ShardCycle]:
    """Shard -> its newest row (the highest slot); only rows in ``states`` and of slots before ``before``
    when given, only these ``shards`` when given."""
    conditions: list[Any] = []
    if states is not None:
        conditions.append(shard_cycles.c.state.in_(list(states)))
    if before is not None:
        conditions.append(shard_cycles.c.slot < float(before))
    if shards is not None:
        conditions.append(shard_cycles.c.shard.in_(list(shards)))
    newest = (sa.select(shard_cycles.c.shard, sa.func.max(shard_cycles.c.slot).label("slot"))
              .where(*conditions).group_by(shard_cycles.c.shard).subquery())
    query = sa.select(shard_cycles).join(newest, sa.and_(shard_cycles.c.shard == newest.c.shard,
                                                         shard_cycles.c.slot == newest.c.slot))
    return {row.shard: _cycle(row) for row in conn.execute(query)}


def shard_cycles_of_slot(conn: sa.Connection, slot: float) -> list[ShardCycle]:
    """Every row of one slot, by shard."""
    query = sa.select(shard_cycles).where(shard_cycles.c.slot == float(slot)).order_by(shard_cycles.c.shard)
    return [_cycle(row) for row in conn.execute(query)]


def prune_shard_cycles(conn: sa.Connection, before: float) -> int:
    """Delete the rows of slots before ``before``; how many. The newest row of each shard is always kept
    (the next worker's staleness check needs it, however old)."""
    keep = {c.shard: c.slot for c in last_shard_cycles(conn, states=(DONE,)).values()}
    old = shard_cycles.c.slot < float(before)
    deleted = conn.execute(shard_cycles.delete().where(old, shard_cycles.c.shard.not_in(list(keep)))).rowcount
    for shard, slot in keep.items():
        deleted += conn.execute(shard_cycles.delete().where(old, shard_cycles.c.shard == shard,
                                                            shard_cycles.c.slot != slot)).rowcount
    return deleted


def district_sums(cycles: Sequence[ShardCycle]) -> dict[str, dict[str, float]]:
    """The shards' district tallies added up: district -> figure -> sum."""
    out: dict[str, dict[str, float]] = {}
    for cycle in cycles:
        for district, tally in cycle.districts.items():
            into = out.setdefault(district, {})
            for name, value in tally.items():
                into[name] = into.get(name, 0) + value
    return out


def tally_json(tallies: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """District -> Tally (``evaluate.rollup``) as the plain figures a row keeps."""
    return {district: {k: v for k, v in tally.to_json().items()} for district, tally in tallies.items()}
