"""The outage ledger's records: one outage per site's trouble, and a cycle's changes to the ledger.

The rules that open, follow and close them are ``hotspotctl.evaluate.outages``; the store keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hotspotctl.models.health import Cause


@dataclass(frozen=True, slots=True)
class Outage:
    """One record of the ledger: a site's trouble from the cycle it was found to the one it cleared."""

    id: int | None  # None until stored
    site: str
    zone: str
    cause: Cause  # the cause now (the last one while open)
    causes: tuple[Cause, ...]  # every cause seen while open, in STOP_CAUSES order (evaluate/outages.py)
    aps: tuple[str, ...]  # every AP affected while open, sorted
    aps_now: tuple[str, ...]  # the APs affected at the last cycle (empty once closed)
    opened_at: float  # epoch seconds: when the trouble started (the first missed cycle for APs down)
    updated_at: float
    closed_at: float | None = None
    peak_aps: int = 0
    peak_clients: int = 0  # the most clients affected at once
    clients_now: int = 0
    delivery: Mapping[str, Any] = field(default_factory=dict)  # channel -> reference (open311: the request id)
    notes: str = ""  # free text; an annotation appends a line "YYYY-mm-dd HH:MM who: text" (the city's time)
    # the NOC's hand actions (migration 11): kept by the run's saves of an open outage
    acked_at: float | None = None  # acknowledged: notices about it stop repeating
    acked_by: str | None = None
    assigned_to: str | None = None
    assigned_at: float | None = None
    closed_by: str | None = None  # who closed it by hand; None when the run closed it (or it is open)
    visits: tuple[dict[str, Any], ...] = ()  # crews' reports: {"at", "by", "note", "via": "cli" | "link", ...}

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def duration_s(self, now: float) -> float:
        return (self.closed_at if self.closed_at is not None else now) - self.opened_at

    def to_json(self, now: float) -> dict[str, Any]:
        return {"id": self.id, "site": self.site, "zone": self.zone, "cause": self.cause,
                "causes": list(self.causes), "aps": list(self.aps), "aps_now": list(self.aps_now),
                "opened_at": self.opened_at, "closed_at": self.closed_at,
                "duration_s": round(self.duration_s(now), 1), "peak_aps": self.peak_aps,
                "peak_clients": self.peak_clients, "clients_now": self.clients_now,
                "delivery": dict(self.delivery), "notes": self.notes, "acked_at": self.acked_at,
                "acked_by": self.acked_by, "assigned_to": self.assigned_to, "assigned_at": self.assigned_at,
                "closed_by": self.closed_by, "visits": [dict(v) for v in self.visits]}


@dataclass(frozen=True, slots=True)
class LedgerUpdate:
    opened: list[Outage]
    changed: list[Outage]  # open outages whose APs, cause or peaks moved
    closed: list[Outage]

    def __bool__(self) -> bool:
        return bool(self.opened or self.changed or self.closed)
