"""What evaluation keeps: each AP's health, the outage ledger, maintenance windows, hourly availability."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from hotspotctl.errors import PollErrorKind
from hotspotctl.models.health import ApHealth, Cause, HealthState, RadioMemory
from hotspotctl.models.outages import LedgerUpdate, Outage
from hotspotctl.store.bulk import YIELD_PER, executemany, replace_rows, where_in
from hotspotctl.store.engine import inserted_id
from hotspotctl.store.schema import ap_health, availability_hourly, maintenance, outages
from hotspotctl.store.schema import sites as site_table

MAINTENANCE_SCOPES = ("ap", "site", "district")


def _times(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split()) if text else ()


def _text(times: tuple[float, ...]) -> str:
    return " ".join(f"{t:.3f}".rstrip("0").rstrip(".") for t in times)


def _health_row(ap_id: str, h: ApHealth) -> dict[str, Any]:
    return {"ap_id": ap_id, "state": h.state, "since": h.since, "misses": h.misses, "goods": h.goods,
            "answered": h.answered, "missing_since": h.missing_since, "below": h.below,
            "slow": h.slow, "uplink_degraded": h.uplink_degraded,
            "trouble_since": h.trouble_since, "changes": _text(h.changes), "reboots": _text(h.reboots),
            "clients": h.clients, "link_mbps": h.link_mbps, "capacity_mbps": h.capacity_mbps,
            "per_user_mbps": h.per_user_mbps, "causes": ",".join(h.causes), "ok_since": h.ok_since,
            "reason_kind": h.reason_kind, "reason": h.reason, "busy": h.busy, "radios": _radios_text(h.radios),
            "ping": _ping_text(h)}


def _ping_text(h: ApHealth) -> str | None:
    if not h.ping_bad and not h.backhaul_degraded and h.ping_loss_pct is None and h.ping_rtt_ms is None:
        return None
    rtt = None if h.ping_rtt_ms is None else round(h.ping_rtt_ms, 3)
    return json.dumps([h.ping_bad, int(h.backhaul_degraded), h.ping_loss_pct, rtt], separators=(",", ":"))


def _ping(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    bits, degraded, loss, rtt = json.loads(text)
    return {"ping_bad": int(bits), "backhaul_degraded": bool(degraded),
            "ping_loss_pct": None if loss is None else float(loss), "ping_rtt_ms": None if rtt is None else float(rtt)}


def _radios_text(radios: tuple[RadioMemory, ...]) -> str | None:
    if not radios:
        return None
    return json.dumps([[r.name, r.down_bits, int(r.down)] + ([] if r.up_since is None else [r.up_since])
                       for r in radios], ensure_ascii=False, separators=(",", ":"))


def _radios(text: str | None) -> tuple[RadioMemory, ...]:
    if not text:
        return ()
    return tuple(RadioMemory(str(name), int(bits), bool(down), float(rest[0]) if rest else None)
                 for name, bits, down, *rest in json.loads(text))  # up_since: written since issue 17


def _health(row: Any) -> ApHealth:
    return ApHealth(
        state=HealthState(row.state), since=row.since, misses=row.misses, goods=row.goods,
        answered=None if row.answered is None else bool(row.answered), missing_since=row.missing_since,
        below=row.below, slow=row.slow,
        uplink_degraded=bool(row.uplink_degraded), trouble_since=row.trouble_since,
        changes=_times(row.changes), reboots=_times(row.reboots), clients=row.clients, link_mbps=row.link_mbps,
        capacity_mbps=row.capacity_mbps, per_user_mbps=row.per_user_mbps,
        causes=_causes(row.causes), ok_since=row.ok_since,
        reason_kind=None if row.reason_kind is None else PollErrorKind(row.reason_kind), reason=row.reason,
        busy=row.busy or 0, radios=_radios(row.radios), **_ping(row.ping))


def _causes(text: str | None) -> tuple[Cause, ...]:
    return tuple(Cause(cause) for cause in text.split(",")) if text else ()


def load_health(conn: sa.Connection, ap_ids: Sequence[str] | None = None) -> dict[str, ApHealth]:
    """Stored health by AP: of these APs, or of every AP."""
    if ap_ids is None:
        return {row.ap_id: _health(row) for row in conn.execute(sa.select(ap_health))}
    found: dict[str, ApHealth] = {}
    for where in where_in(conn, ap_health.c.ap_id, ap_ids):
        for row in conn.execute(sa.select(ap_health).where(where), execution_options=YIELD_PER):
            found[row.ap_id] = _health(row)
    return found


_HEALTH_KEYS = tuple(_health_row("", ApHealth()))  # the columns in _health_row's order


def save_health(conn: sa.Connection, healths: Mapping[str, ApHealth]) -> None:
    """Replace the stored health of these APs (``bulk.replace_rows``)."""
    replace_rows(conn, ap_health, _HEALTH_KEYS,
                 (tuple(_health_row(ap_id, h).values()) for ap_id, h in healths.items()), list(healths))


# -- the outage ledger ------------------------------------------------------------------------------------------

def _outage(row: Any) -> Outage:
    return Outage(
        id=row.id, site=row.site_id, zone=row.zone, cause=Cause(row.cause), causes=_causes(row.causes),
        aps=tuple(row.aps), aps_now=tuple(row.aps_now),
        opened_at=row.opened_at, updated_at=row.updated_at, closed_at=row.closed_at, peak_aps=row.peak_aps,
        peak_clients=row.peak_clients, clients_now=row.clients_now, delivery=dict(row.delivery or {}),
        notes=row.notes, acked_at=row.acked_at, acked_by=row.acked_by, assigned_to=row.assigned_to,
        assigned_at=row.assigned_at, closed_by=row.closed_by, visits=tuple(dict(v) for v in row.visits or ()))


HAND_FIELDS = ("delivery", "notes", "acked_at", "acked_by", "assigned_to", "assigned_at", "closed_by", "visits")
"""Written by hand (the CLI, the crews' link) or by delivery, never by a cycle's save: a cycle's copy of an open
outage may be older than them."""


def _outage_values(outage: Outage) -> dict[str, Any]:
    return {"site_id": outage.site, "zone": outage.zone, "cause": outage.cause, "causes": ",".join(outage.causes),
            "aps": list(outage.aps), "aps_now": list(outage.aps_now), "opened_at": outage.opened_at,
            "updated_at": outage.updated_at, "closed_at": outage.closed_at, "peak_aps": outage.peak_aps,
            "peak_clients": outage.peak_clients, "clients_now": outage.clients_now,
            "delivery": dict(outage.delivery), "notes": outage.notes, "acked_at": outage.acked_at,
            "acked_by": outage.acked_by, "assigned_to": outage.assigned_to, "assigned_at": outage.assigned_at,
            "closed_by": outage.closed_by, "visits": [dict(v) for v in outage.visits]}


def load_open_outages(conn: sa.Connection, sites: Collection[str] | None = None) -> dict[str, Outage]:
    """The open outages by site (one per site at most); only those of ``sites`` when given (a shard's evaluation:
    its own sites' outages, not the whole city's read and parsed 64 times a slot)."""
    query = sa.select(outages).where(outages.c.closed_at.is_(None)).order_by(outages.c.id)
    if sites is None:
        return {o.site: o for o in map(_outage, conn.execute(query))}
    wanted = sorted(set(sites))
    found: dict[str, Outage] = {}
    for where in where_in(conn, outages.c.site_id, wanted):
        found.update((o.site, o) for o in map(_outage, conn.execute(query.where(where))))
    return found


def save_ledger(conn: sa.Connection, update: LedgerUpdate) -> LedgerUpdate:
    """Store a cycle's ledger changes; the outages opened come back with their ids."""
    opened = []
    for outage in update.opened:
        new_id = inserted_id(conn.execute(outages.insert().values(**_outage_values(outage))))
        opened.append(replace(outage, id=new_id))
    changed: list[Outage] = []
    closed: list[Outage] = []
    for outage in (*update.changed, *update.closed):
        values = _outage_values(outage)
        for name in HAND_FIELDS:  # written by hand or by delivery, which may have run since this was loaded
            del values[name]
        # an outage closed by hand since the cycle loaded it stays closed (the next cycle opens a new one)
        found = conn.execute(outages.update().where(outages.c.id == outage.id, outages.c.closed_at.is_(None))
                             .values(**values).returning(*(outages.c[name] for name in HAND_FIELDS))).first()
        if found is None:
            continue
        kept = replace(outage, delivery=dict(found.delivery or {}), notes=found.notes, acked_at=found.acked_at,
                       acked_by=found.acked_by, assigned_to=found.assigned_to, assigned_at=found.assigned_at,
                       closed_by=found.closed_by, visits=tuple(dict(v) for v in found.visits or ()))
        (closed if outage.closed_at is not None else changed).append(kept)
    return LedgerUpdate(opened, changed, closed)


def list_outages(conn: sa.Connection, *, open_only: bool = False, since: float | None = None,
                 zones: Iterable[str] = (), sites: Iterable[str] = (), limit: int | None = None) -> list[Outage]:
    """Outages newest first: open ones only, or those open at any time since ``since``."""
    query = sa.select(outages).order_by(outages.c.opened_at.desc(), outages.c.id.desc())
    if open_only:
        query = query.where(outages.c.closed_at.is_(None))
    if since is not None:
        query = query.where(sa.or_(outages.c.closed_at.is_(None), outages.c.closed_at >= since))
    zones, sites = list(zones), list(sites)
    if zones:
        query = query.where(outages.c.zone.in_(zones))
    if sites:
        query = query.where(outages.c.site_id.in_(sites))
    if limit is not None:
        query = query.limit(limit)
    return [_outage(row) for row in conn.execute(query)]


def get_outage(conn: sa.Connection, outage_id: int) -> Outage | None:
    row = conn.execute(sa.select(outages).where(outages.c.id == outage_id)).first()
    return _outage(row) if row is not None else None


def record_delivery(conn: sa.Connection, outage_ids: Iterable[int], channel: str, reference: Mapping[str, Any]
                    ) -> None:
    """Remember that these outages went out through ``channel`` (open311: the service request id)."""
    for outage_id in outage_ids:
        row = conn.execute(sa.select(outages.c.delivery).where(outages.c.id == outage_id)).first()
        if row is None:
            continue
        delivery = dict(row.delivery or {})
        delivery[channel] = dict(reference)
        conn.execute(outages.update().where(outages.c.id == outage_id).values(delivery=delivery))


def forget_delivery(conn: sa.Connection, outage_ids: Iterable[int], channel: str, reference: Mapping[str, Any]
                    ) -> None:
    """Drop ``channel``'s record from these outages where it is still ``reference`` (a claim given back)."""
    for outage_id in outage_ids:
        row = conn.execute(sa.select(outages.c.delivery).where(outages.c.id == outage_id)).first()
        if row is None or (row.delivery or {}).get(channel) != dict(reference):
            continue
        delivery = dict(row.delivery)
        del delivery[channel]
        conn.execute(outages.update().where(outages.c.id == outage_id).values(delivery=delivery))


def close_outages_of_removed_sites(conn: sa.Connection, at: float) -> list[int]:
    """Close the open outages whose site has left the inventory (an import removed it): no crew is sent to a
    site that is not there any more. The ids closed."""
    orphans = conn.execute(sa.select(outages.c.id).where(
        outages.c.closed_at.is_(None), outages.c.site_id.not_in(sa.select(site_table.c.id)))).scalars().all()
    for outage_id in orphans:
        conn.execute(outages.update().where(outages.c.id == outage_id).values(closed_at=at, updated_at=at))
        add_note(conn, outage_id, f"{_stamp(at)} closed: the site left the inventory")
    return list(orphans)


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_note(conn: sa.Connection, outage_id: int, note: str) -> bool:
    row = conn.execute(sa.select(outages.c.notes).where(outages.c.id == outage_id)).first()
    if row is None:
        return False
    notes = f"{row.notes}\n{note}" if row.notes else note
    conn.execute(outages.update().where(outages.c.id == outage_id).values(notes=notes))
    return True


def update_outage(conn: sa.Connection, outage_id: int, **values: Any) -> None:
    """Write these columns of one outage (a hand action: ack, assign, close)."""
    conn.execute(outages.update().where(outages.c.id == outage_id).values(**values))


def add_visit(conn: sa.Connection, outage_id: int, visit: Mapping[str, Any]) -> bool:
    """Append a crew's visit to an outage's visits; False when there is no such outage."""
    row = conn.execute(sa.select(outages.c.visits).where(outages.c.id == outage_id)).first()
    if row is None:
        return False
    visits = [*(row.visits or ()), dict(visit)]
    conn.execute(outages.update().where(outages.c.id == outage_id).values(visits=visits))
    return True


# -- maintenance windows ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    id: int
    scope: str  # ap | site | district
    target: str  # the AP id, site id or district name
    starts_at: float
    ends_at: float
    reason: str
    created_at: float

    def active(self, at: float) -> bool:
        return self.starts_at <= at < self.ends_at

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "scope": self.scope, "target": self.target, "starts_at": self.starts_at,
                "ends_at": self.ends_at, "reason": self.reason, "created_at": self.created_at}


def add_maintenance(conn: sa.Connection, scope: str, target: str, starts_at: float, ends_at: float, reason: str,
                    now: float) -> int:
    if scope not in MAINTENANCE_SCOPES:
        raise ValueError(f"scope must be one of {MAINTENANCE_SCOPES}")
    result = conn.execute(maintenance.insert().values(scope=scope, target=target, starts_at=starts_at,
                                                      ends_at=ends_at, reason=reason, created_at=now))
    return inserted_id(result)


def list_maintenance(conn: sa.Connection, *, ending_after: float | None = None) -> list[MaintenanceWindow]:
    """Windows by start; only those not over by ``ending_after`` when given."""
    query = sa.select(maintenance).order_by(maintenance.c.starts_at, maintenance.c.id)
    if ending_after is not None:
        query = query.where(maintenance.c.ends_at > ending_after)
    return [MaintenanceWindow(row.id, row.scope, row.target, row.starts_at, row.ends_at, row.reason,
                              row.created_at) for row in conn.execute(query)]


def remove_maintenance(conn: sa.Connection, window_id: int) -> bool:
    return conn.execute(maintenance.delete().where(maintenance.c.id == window_id)).rowcount > 0


# -- hourly availability ----------------------------------------------------------------------------------------

AVAILABILITY_COUNTS = ("samples", "up", "measured", "meeting", "counted", "clients")


def add_availability(conn: sa.Connection, hour: float, tallies: Mapping[tuple[str, str], Sequence[int]]) -> None:
    """Add one cycle's (samples, up, measured, meeting, counted, clients) per (district, program) to its UTC hour.

    One upsert of the cycle's own groups (INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n): the hour's
    other rows are neither read nor written, so a shard's cycle (scale-out: 64 of them a slot, each with a few
    of the city's groups) costs its groups, not the hour's whole table, and two writers add up right without
    reading first."""
    if not tallies:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    upsert = insert(availability_hourly)
    upsert = upsert.on_conflict_do_update(
        index_elements=["hour", "district", "program"],
        set_={name: availability_hourly.c[name] + upsert.excluded[name] for name in AVAILABILITY_COUNTS})
    executemany(conn, upsert, (
        {"hour": hour, "district": district, "program": program,
         **dict(zip(AVAILABILITY_COUNTS, (*values, *(0,) * (len(AVAILABILITY_COUNTS) - len(values))), strict=True))}
        for (district, program), values in tallies.items()))


def load_availability(conn: sa.Connection, since: float, until: float | None = None) -> list[dict[str, Any]]:
    query = sa.select(availability_hourly).where(availability_hourly.c.hour >= since)
    if until is not None:
        query = query.where(availability_hourly.c.hour < until)
    return [dict(row) for row in conn.execute(query.order_by(availability_hourly.c.hour)).mappings()]
