"""Opening the state store: SQLite by default, PostgreSQL by URL, migrated on open.

``Store.write()`` is a transaction that holds the store's write lock from its
first statement (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped
advisory lock), so a plan read inside it is still true when it is written.
``Store.read()`` is a plain transaction.

An SQLite store is private to the user that runs hotspotctl, whatever the umask: its folder is
created 0700, the database and its -wal, -shm and -journal files are 0600 (SQLite gives its
side files the database's mode). It commits with ``synchronous = FULL``: a commit (a delivery
record, an Open311 id) has reached the disk when it returns, so a power cut cannot undo it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hotspotctl.errors import ConfigError, StoreError
from hotspotctl.settings import mask_url
from hotspotctl.store import migrations

_PG_LOCK_KEY = 0x686F7473706F7463  # "hotspotc": one lock for every hotspotctl writer
_SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite's page cache per connection, KiB (its default is 2,000): a cycle rewrites every AP's ap_state row, about
# 7 MB with its key for the city, and with the default cache each cycle read those pages back from the OS.
# 8 MiB holds them (16 MiB added 15 MB to the city's peak RSS, for no more speed); pages are held once read.
# Raw upsert of 35,350 rows: 3.9 -> 3.45 us a row.
SQLITE_CACHE_KIB = 8_192
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_folder(path: Path, *, what: str) -> Path:
    """The folder ``path``, created 0700 when missing (its parent must exist: a typo is not a new tree).

    An existing folder is left as it is (it may be shared, /tmp say); what hotspotctl writes in it is
    private by its own mode. ConfigError, saying what to do, for a file in the way, a missing parent, or a
    folder this user cannot write.
    """
    user = _user()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path}: is a file, not a folder; give a folder (created when missing) or move "
                          "the file away")
    if not path.exists():
        parent = path.parent
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{what} {path}: {parent} is a file, not a folder; give another folder")
        if not parent.is_dir():
            raise ConfigError(f"{what} {path}: its parent {parent} does not exist; create the parent first "
                              f"(mkdir -p {parent}) or give another folder")
        try:
            path.mkdir(mode=PRIVATE_DIR_MODE)
            os.chmod(path, PRIVATE_DIR_MODE)  # whatever the umask
        except FileExistsError:
            pass  # another process made it just now
        except OSError as exc:
            raise ConfigError(f"{what} {path}: cannot create it ({exc.strerror}); give a folder {user} can write "
                              f"to, or create it for {user} (mkdir -m 700 {path})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path}: {user} cannot write to it; give a folder {user} can write to, or make "
                          "this one writable by it")
    return path


def _user() -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(os.geteuid()).pw_name}"
    except (ImportError, KeyError):
        return "this user"


def _private_database(database: Path) -> None:
    """The database file exists with mode 0600 before SQLite opens it (SQLite creates its -wal, -shm and
    -journal files with the same mode); a store made by an older hotspotctl (0644) is tightened."""
    folder = database.parent
    if not folder.is_dir():
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
            os.chmod(folder, PRIVATE_DIR_MODE)
        except OSError as exc:
            raise ConfigError(f"database_url: cannot create the store's folder {folder} ({exc.strerror}); create "
                              "it, or give another path") from None
    try:
        fd = os.open(database, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    except OSError as exc:
        raise ConfigError(f"database_url: cannot open the store {database} ({exc.strerror}); check its folder's "
                          "owner and mode, or give another path") from None
    try:
        _tighten(fd)
    finally:
        os.close(fd)
    for suffix in _SQLITE_SIDE_FILES:
        try:
            fd = os.open(f"{database}{suffix}", os.O_RDONLY)
        except OSError:
            continue  # not there (or not ours to open): SQLite makes it with the database's mode
        try:
            _tighten(fd)
        finally:
            os.close(fd)


def _tighten(fd: int) -> None:
    info = os.fstat(fd)
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & ~PRIVATE_FILE_MODE:
        os.fchmod(fd, PRIVATE_FILE_MODE)


def _engine_url(url: str) -> sa.URL:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"database_url: {mask_url(url)!r} is not a database URL; use "
                          "sqlite:///path/to/file.db or postgresql://user:password@host/db") from None
    if parsed.drivername in ("postgresql", "postgres"):
        # SQLAlchemy's default PostgreSQL driver is psycopg2; hotspotctl ships psycopg 3.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"database_url: {parsed.get_backend_name()!r} is not supported; "
                          "use sqlite:/// or postgresql://")
    return parsed


class Store:
    """The state database. Create with ``Store.open(url)``; close with ``close()``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._identity: tuple[int, int] | None = None  # the SQLite file's (device, inode), once it exists

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, for a SQLite store on disk."""
        database = self.engine.url.database if self.dialect == "sqlite" else None
        return None if database in (None, "", ":memory:") else Path(database)

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        parsed = _engine_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            _private_database(Path(parsed.database))
        try:
            engine = sa.create_engine(parsed)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"database_url: the driver for {parsed.get_backend_name()} is not "
                              f"installed ({exc.name}); pip install 'hotspotctl[postgres]'") from None
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    def migrate(self) -> list[int]:
        with self.write() as conn:
            return migrations.migrate(conn)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except sa.exc.DatabaseError as exc:
            raise self._error(exc) from None

    @contextmanager
    def write(self, *, serialised: bool = True) -> Iterator[sa.Connection]:
        """A writing transaction. On PostgreSQL it takes the store's advisory lock (writers one at a time, as
        on SQLite) unless ``serialised`` is False: for a write that is atomic on its own and reads nothing it
        depends on (an INSERT ... ON CONFLICT DO NOTHING claim), so it never waits for other writers' commits.
        SQLite serialises every writer whatever ``serialised`` says."""
        self.check_file()
        try:
            with self.engine.connect() as conn:
                conn.execution_options(hotspotctl_write=True)
                with conn.begin():
                    if self.dialect == "postgresql":
                        # wait for the write lock as long as SQLite would, then fail rather than hang
                        conn.execute(sa.text(f"SET LOCAL lock_timeout = '{_lock_timeout_ms()}ms'"))
                        if serialised:
                            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
                    yield conn
        except sa.exc.DatabaseError as exc:
            raise self._error(exc) from None

    def check_file(self) -> None:
        """A SQLite store deleted or replaced under a running process is an error, not a silent unlinked file."""
        path = self.sqlite_path
        if path is None:
            return
        now = _identity(path)
        if self._identity is None:
            self._identity = now
        elif now != self._identity:
            what = "deleted" if now is None else "replaced by another file"
            raise StoreError(f"the state store {path} was {what} while this process was using it; nothing more is "
                             "written to it. Restore it from a backup (or import the inventory into a new one), "
                             "then start hotspotctl again")

    def _error(self, exc: sa.exc.DatabaseError) -> StoreError:
        reason = _reason(exc)
        if _is_corrupt(reason):
            return StoreError(f"the state store {self.describe()} is corrupt ({reason}). Restore it from a backup, "
                              "or move it aside and start a new one (`hotspotctl inventory import` fills it again; "
                              "the history of outages and counters starts afresh)")
        return StoreError(f"state store {self.describe()}: {reason}")

    def describe(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


_CORRUPT = ("file is not a database", "database disk image is malformed", "file is encrypted or is not a database")


def _is_corrupt(reason: str) -> bool:
    return any(marker in reason for marker in _CORRUPT)


def _lock_timeout_ms() -> int:
    return _SQLITE_BUSY_TIMEOUT_MS


def _reason(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The primary key of the one row an INSERT just added."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - only an executemany has none
        raise StoreError("the store did not say which row it inserted")
    return int(key[0])


def _configure_sqlite(engine: sa.Engine) -> None:
    # pysqlite opens transactions lazily and on its own terms; take them over so
    # BEGIN (IMMEDIATE for writers) is issued when SQLAlchemy begins.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_lock_timeout_ms()}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")  # a commit survives a power cut (WAL + NORMAL may not)
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("hotspotctl_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
