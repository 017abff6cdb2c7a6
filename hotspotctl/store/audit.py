"""The audit log: every action taken on devices (``ap ssh``, ``ap exec``, ``ap reboot``), who took it, on which
APs, and what each AP answered.

An entry is written before the first session starts (status ``running``) and finished after the last one
(``ok``, ``partial``, ``failed`` or ``interrupted``), so an action that crashed or was killed still shows, as
``running`` with no ``finished_at``. Outputs are kept to their first ``OUTPUT_LIMIT`` characters.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hotspotctl.store.engine import inserted_id
from hotspotctl.store.schema import audit_log

ACTIONS = ("ssh", "exec", "reboot", "ack", "assign", "note", "close", "done")  # the last: outages by hand
STATUSES = ("running", "ok", "partial", "failed", "interrupted")
OUTPUT_LIMIT = 2000  # characters of each AP's output the log keeps


def audit_user(env: Mapping[str, str] | None = None) -> str:
    """Who is acting: the OS user of this process, and the user behind sudo when there is one.

    The name comes from the process's uid (an environment variable such as USER can say anything);
    ``root (sudo: alice)`` when alice ran it through sudo.
    """
    env = os.environ if env is None else env
    try:
        import pwd  # POSIX only

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # no passwd entry for this uid (a container), or not POSIX
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    sudo = env.get("SUDO_USER", "").strip()
    return f"{user} (sudo: {sudo})" if sudo and sudo != user else user


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    started_at: float
    finished_at: float | None
    user: str
    action: str  # ssh | exec | reboot
    command: str  # as typed; for a reboot, the profile's reboot command or SNMP SET (per profile when they differ)
    selection: dict[str, Any]  # the flags that chose the targets: {"site": ["X"], ...}
    targets: tuple[str, ...]  # AP ids, in the order they were given
    status: str  # running | ok | partial | failed | interrupted
    results: tuple[dict[str, Any], ...] = field(default=())  # per AP: ap, ok, kind, error, duration_s, output

    @property
    def ok_count(self) -> int:
        return sum(1 for r in self.results if r.get("ok"))

    @property
    def failed_count(self) -> int:
        return sum(1 for r in self.results if not r.get("ok"))

    def to_json(self, *, results: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "started_at": self.started_at, "finished_at": self.finished_at, "user": self.user,
            "action": self.action, "command": self.command, "selection": self.selection,
            "targets": list(self.targets), "status": self.status, "ok": self.ok_count, "failed": self.failed_count}
        if results:
            data["results"] = [dict(r) for r in self.results]
        return data


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(id=int(row.id), started_at=row.started_at, finished_at=row.finished_at, user=row.user,
                      action=row.action, command=row.command, selection=dict(row.selection or {}),
                      targets=tuple(row.targets or ()), status=row.status,
                      results=tuple(dict(r) for r in row.results or ()))


def _bounded(result: Mapping[str, Any]) -> dict[str, Any]:
    """One AP's result as the log keeps it: its output cut to OUTPUT_LIMIT characters (and the full length)."""
    record = dict(result)
    output = record.get("output")
    if isinstance(output, str) and len(output) > OUTPUT_LIMIT:
        record["output"] = output[:OUTPUT_LIMIT]
        record["output_chars"] = len(output)
    return record


def begin_action(conn: sa.Connection, *, user: str, action: str, command: str, selection: Mapping[str, Any],
                 targets: Sequence[str], now: float) -> int:
    """Record an action about to start (status running); return its id, for ``finish_action``."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
    result = conn.execute(audit_log.insert().values(
        started_at=now, finished_at=None, user=user, action=action, command=command, selection=dict(selection),
        targets=list(targets), status="running", results=[]))
    return inserted_id(result)


def finish_action(conn: sa.Connection, entry_id: int, *, status: str, results: Sequence[Mapping[str, Any]],
                  now: float) -> None:
    """Record how the action ended and what each AP answered."""
    if status not in STATUSES or status == "running":
        raise ValueError(f"status must be one of {STATUSES[1:]}, not {status!r}")
    conn.execute(audit_log.update().where(audit_log.c.id == entry_id).values(
        status=status, finished_at=now, results=[_bounded(r) for r in results]))


def _target_patterns(ap: str) -> list[str]:
    """LIKE patterns finding ``"AP"`` in the targets' JSON text, as either JSON writer spells it."""
    spellings = {json.dumps(ap), json.dumps(ap, ensure_ascii=False)}
    escaped = [s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for s in spellings]
    return [f"%{s}%" for s in sorted(escaped)]


def _rows(conn: sa.Connection, query: sa.Select[Any]) -> Iterator[AuditEntry]:
    for row in conn.execute(query):
        yield _entry(row)


def list_actions(conn: sa.Connection, *, since: float | None = None, action: str | None = None,
                 ap: str | None = None, limit: int | None = 50) -> list[AuditEntry]:
    """Entries newest first: started at or after ``since``, of one action, on one AP (among its targets)."""
    query = sa.select(audit_log).order_by(audit_log.c.started_at.desc(), audit_log.c.id.desc())
    if since is not None:
        query = query.where(audit_log.c.started_at >= since)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if ap is None:
        if limit is not None:
            query = query.limit(limit)
        return list(_rows(conn, query))
    # A coarse filter in SQL (the id, quoted, in the JSON text: portable, but case-blind on SQLite), exact here.
    text = sa.cast(audit_log.c.targets, sa.Text)
    query = query.where(sa.or_(*(text.like(p, escape="\\") for p in _target_patterns(ap))))
    found: list[AuditEntry] = []
    for entry in _rows(conn, query):
        if ap in entry.targets:
            found.append(entry)
            if limit is not None and len(found) >= limit:
                break
    return found


def get_action(conn: sa.Connection, entry_id: int) -> AuditEntry | None:
    row = conn.execute(sa.select(audit_log).where(audit_log.c.id == entry_id)).first()
    return _entry(row) if row is not None else None
