"""One service per store: the lock a `hotspotctl run` (or a recording `poll --once`) holds while it runs.

Two services on one store would each keep their own memory of the fleet, open two outages per site
and file every ticket twice. The second one refuses to start and names the first.

- SQLite: an exclusive ``flock`` on ``<store>.lock`` beside the database file, which holds who took
  it (pid, host, command, since). The kernel drops the lock when the holder dies, kill -9 included,
  so a stale file never blocks anyone.
- PostgreSQL: a session advisory lock on a connection kept open for the service's life, whose
  ``application_name`` says who holds it; PostgreSQL drops it when that session ends. Pollers on
  several machines sharing one database are therefore refused too.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hotspotctl.errors import StoreError
from hotspotctl.store.engine import Store

_PG_SERVICE_KEY = 0x686F747370727563  # "hotsprun": one service per database (not the write lock's key)
_APP_NAME = re.compile(r"^(?P<command>.*) pid=(?P<pid>\d+) host=(?P<host>\S+)$")


class StoreBusyError(StoreError):
    """Another hotspotctl service holds this store."""


def _holder(what: str) -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": what, "since": time.time()}


def describe_holder(info: dict[str, Any] | None) -> str:
    """'pid 1234 on host noc-1 (hotspotctl run, since 2026-12-04 14:02:11)', or what little is known."""
    if not info:
        return "another process (it did not say which)"
    since = info.get("since")
    when = f", since {datetime.fromtimestamp(since).strftime('%Y-%m-%d %H:%M:%S')}" if isinstance(
        since, (int, float)) else ""
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')} ({info.get('command', '?')}{when})"


class ServiceLock:
    """Held while a service runs; ``release()`` (or the end of a ``with``) gives it back."""

    def __init__(self, store: Store, what: str) -> None:
        self.store = store
        self.what = what
        self._fd: int | None = None
        self._conn: sa.Connection | None = None

    @classmethod
    def acquire(cls, store: Store, what: str) -> ServiceLock:
        """Take the store's service lock, or raise StoreBusyError naming the process that holds it."""
        lock = cls(store, what)
        holder = lock._take()
        if holder is not None:
            raise StoreBusyError(
                f"the state store {store.describe()} is in use by {describe_holder(holder)}: one `hotspotctl run` "
                "per store; stop that one first (systemctl stop hotspotctl, or Ctrl-C where it runs), or give this "
                "one another store (--data-dir, or HOTSPOTCTL_DATABASE_URL)")
        return lock

    @classmethod
    def try_acquire(cls, store: Store, what: str) -> tuple[ServiceLock | None, dict[str, Any] | None]:
        """(the lock, None), or (None, who holds it)."""
        lock = cls(store, what)
        holder = lock._take()
        return (None, holder) if holder is not None else (lock, None)

    def _take(self) -> dict[str, Any] | None:
        """Take the lock; None when taken, else what is known of its holder."""
        if self.store.dialect == "postgresql":
            return self._take_pg()
        path = self.store.sqlite_path
        if path is None:  # an in-memory database is private to this process
            return None
        lock_path = path.with_name(path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return _read_holder(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot lock {lock_path}: {exc.strerror or exc}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder(self.what)).encode(), 0)
        self._fd = fd
        return None

    def _take_pg(self) -> dict[str, Any] | None:
        conn = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(_PG_SERVICE_KEY))).scalar()
            if not got:
                return _pg_holder(conn)
            info = _holder(self.what)
            name = f"{info['command']} pid={info['pid']} host={info['host']}"[:63]
            conn.execute(sa.text("SELECT set_config('application_name', :name, false)"), {"name": name})
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return None

    def release(self) -> None:
        if self._fd is not None:
            with suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None
        if self._conn is not None:
            with suppress(sa.exc.SQLAlchemyError):
                self._conn.execute(sa.select(sa.func.pg_advisory_unlock(_PG_SERVICE_KEY)))
            self._conn.close()
            self._conn = None

    def __enter__(self) -> ServiceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, Any] | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _pg_holder(conn: sa.Connection) -> dict[str, Any] | None:
    """Who holds the service lock, from pg_locks and pg_stat_activity (application_name says it)."""
    row = conn.execute(sa.text(
        "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.classid = :high AND l.objid = :low AND l.objsubid = 1"),
        {"high": _PG_SERVICE_KEY >> 32, "low": _PG_SERVICE_KEY & 0xFFFFFFFF}).first()
    if row is None:
        return None
    name = row.application_name or ""
    found = _APP_NAME.match(name)
    started = row.backend_start.timestamp() if row.backend_start is not None else None
    if found is None:  # not one of ours, or a name cut short
        return {"pid": "?", "host": str(row.client_addr or "?"), "command": name or "unnamed session",
                "since": started}
    return {"pid": found["pid"], "host": found["host"], "command": found["command"], "since": started}


def lock_path_of(store: Store) -> Path | None:
    path = store.sqlite_path
    return None if path is None else path.with_name(path.name + ".lock")
