"""Reading the audit log of actions on devices."""

from __future__ import annotations

from hotspotctl.store import Store
from hotspotctl.store.audit import AuditEntry, get_action, list_actions


def audit_entries(store: Store, *, since: float | None = None, action: str | None = None, ap: str | None = None,
                  limit: int | None = 50) -> list[AuditEntry]:
    """The entries that match, newest first (as ``list_actions``)."""
    with store.read() as conn:
        return list_actions(conn, since=since, action=action, ap=ap, limit=limit)


def audit_entry(store: Store, entry_id: int) -> AuditEntry | None:
    with store.read() as conn:
        return get_action(conn, entry_id)
