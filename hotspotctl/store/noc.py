"""What was sent to the NOC and when: one row per notice (its fingerprint) and channel (email, webhook).

``delivery/noc.py`` decides from these rows, across restarts, whether a notice firing now is new, due for
a repeat (``noc.repeat_interval_s`` after its last send) or resolved (firing before, not now). A row is
written only after its channel accepted the message, so a notice whose send failed stays due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hotspotctl.store.schema import noc_notices, sites


@dataclass(frozen=True, slots=True)
class SentNotice:
    """What a channel last received of one notice."""

    fingerprint: str
    channel: str  # email | webhook
    kind: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: float
    first_sent_at: float
    last_sent_at: float
    sends: int  # firing messages: the first and its repeats
    resolved_at: float | None = None

    @property
    def firing(self) -> bool:
        return self.resolved_at is None

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "channel": self.channel, "kind": self.kind,
                "labels": dict(self.labels), "annotations": dict(self.annotations), "starts_at": self.starts_at,
                "first_sent_at": self.first_sent_at, "last_sent_at": self.last_sent_at, "sends": self.sends,
                "resolved_at": self.resolved_at}


def _row(row: Any) -> SentNotice:
    return SentNotice(fingerprint=row.fingerprint, channel=row.channel, kind=row.kind, labels=dict(row.labels),
                      annotations=dict(row.annotations), starts_at=row.starts_at, first_sent_at=row.first_sent_at,
                      last_sent_at=row.last_sent_at, sends=row.sends, resolved_at=row.resolved_at)


def load_sent(conn: sa.Connection, *, firing_only: bool = False) -> dict[tuple[str, str], SentNotice]:
    """(fingerprint, channel) -> what was sent; only those still firing with ``firing_only``."""
    query = sa.select(noc_notices)
    if firing_only:
        query = query.where(noc_notices.c.resolved_at.is_(None))
    return {(r.fingerprint, r.channel): _row(r) for r in conn.execute(query)}


def record_firing(conn: sa.Connection, channel: str, fingerprint: str, kind: str, labels: Mapping[str, str],
                  annotations: Mapping[str, str], starts_at: float, now: float) -> None:
    """A firing message (new or a repeat) went out on ``channel`` at ``now``.

    A notice that was resolved before and fires again (the same fingerprint) starts over: sends 1.
    """
    key = (noc_notices.c.fingerprint == fingerprint) & (noc_notices.c.channel == channel)
    found = conn.execute(sa.select(noc_notices.c.sends, noc_notices.c.resolved_at).where(key)).first()
    if found is None:
        conn.execute(noc_notices.insert().values(
            fingerprint=fingerprint, channel=channel, kind=kind, labels=dict(labels), annotations=dict(annotations),
            starts_at=starts_at, first_sent_at=now, last_sent_at=now, sends=1, resolved_at=None))
    elif found.resolved_at is not None:
        conn.execute(noc_notices.update().where(key).values(
            kind=kind, labels=dict(labels), annotations=dict(annotations), starts_at=starts_at, first_sent_at=now,
            last_sent_at=now, sends=1, resolved_at=None))
    else:
        conn.execute(noc_notices.update().where(key).values(
            annotations=dict(annotations), last_sent_at=now, sends=found.sends + 1))


def record_resolved(conn: sa.Connection, channel: str, fingerprint: str, now: float) -> None:
    """The resolve message of a firing notice went out on ``channel`` at ``now``."""
    conn.execute(noc_notices.update().where(
        (noc_notices.c.fingerprint == fingerprint) & (noc_notices.c.channel == channel)
        & noc_notices.c.resolved_at.is_(None)).values(resolved_at=now))


def prune_resolved(conn: sa.Connection, before: float) -> int:
    """Forget notices resolved before ``before``; how many rows went."""
    result = conn.execute(noc_notices.delete().where(noc_notices.c.resolved_at < before))
    return int(result.rowcount or 0)


def site_names(conn: sa.Connection, site_ids: Sequence[str]) -> dict[str, str]:
    """site id -> its name, for the sites among ``site_ids`` the inventory has."""
    wanted = sorted(set(site_ids))
    out: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        query = sa.select(sites.c.id, sites.c.name).where(sites.c.id.in_(wanted[start:start + 500]))
        out.update({row.id: row.name for row in conn.execute(query)})
    return out
