"""A durable, ordered, bounded on-disk spool of InfluxDB line-protocol batches.

The rule it serves: a sample is either in InfluxDB or in the spool, across a crash (kill -9) too. With no
InfluxDB configured the spool is where metrics go (the user loads them later); with InfluxDB down, batches
wait here and ``replay`` hands them back oldest first.

Directory layout (one spool = one directory)::

    000000000042_20250405T193438.123Z_70700p_s.lp.gz   a batch: seq, created (UTC), points, precision
    .append.lock    flock: append, sequence allocation, temp-file cleanup, the high-water mark
    .replay.lock    flock: one replay at a time (replay does not block appends)
    .last_seq       high-water mark, written when the newest batch leaves (acked or set aside), so seqs
                    never restart and never repeat
    .tmp-<pid>-<hex>   an append in flight, or the leftover of a crash: never read, removed on open
    rejected/       what InfluxDB refused for good (a partial write, bad data, a line too large alone), as
                    batch files under their own seq, each with a .reason file (the server's answer); kept,
                    counted against max_bytes, never replayed on their own: ``requeue_rejected()`` puts
                    them back

Private to the service's user: the directory and rejected/ are 0700, every file 0600, whatever the umask
(the batches are the fleet's inventory and figures).

Format choices, and why:

* The metadata lives in the file name, so ``status()`` is one directory listing (no file is opened) and
  the body is exactly what InfluxDB's write endpoint takes: ``zcat *.lp.gz | influx write`` loads it.
* A batch is written to a temp name, fsync'd, renamed into place and the directory fsync'd, all under
  ``.append.lock``: a batch name is either absent or names a whole, durable file, and sequence numbers
  are allocated and made visible in one critical section, so two appending processes never collide and
  a reader never sees seq N+1 without N (unless N was acked).
* Bodies are gzip'd (level 1) by default. Measured on a 70,700-line cycle (12.3 MB of text): gzip -1
  takes ~35 ms and stores 1.75 MB (7x), so the fsync moves 7x less and a 1 GiB spool holds ~600 cycles
  instead of ~85 (about two days at 5-minute polls instead of seven hours). InfluxDB accepts the gzip
  body as is (``Content-Encoding: gzip``); ``replay(..., gzip=True)`` hands it over without inflating.
* The deflating is ISA-L's (python-isal's ``isal_zlib``), not zlib's: the same gzip format, read back by any
  gzip reader (zcat, Python's gzip, InfluxDB's Go), at 3.3x zlib's speed at level 1 on a cycle's lines and
  about 5 % smaller (888 against 271 MB/s; docs/performance.md, issue 19).
* Points are counted once, at append (blank lines and ``#`` comments are not points). A replay checks that
  a small body holds points before sending it: an empty or emptied file is set aside as damaged, never
  counted as delivered (InfluxDB answers 204 to an empty body).
* One refused batch never stops the queue: ``deliver`` raises ``BatchRefused`` (with the refused lines
  only, when the rest was written) and the replay sets it aside in rejected/ and goes on.

Cost: appending a 70,700-line cycle takes ~85 ms with gzip and ~60-80 ms without (mostly fsync, and gzip).
A batch's name is parsed, and its size read, once (``Spool._look``): with 5,000 batches waiting (1 GiB of the
city's) an append and a ``status()`` cost one listing of the directory more, a few ms, and a replay acks each
batch without listing it again (``benchmarks/spool_bench.py``; docs/performance.md).
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import gzip as gziplib
import logging
import os
import re
import secrets
import stat
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

from isal import isal_zlib

from hotspotctl.errors import SinkError

log = logging.getLogger("hotspotctl.spool")

PRECISIONS = frozenset({"ns", "us", "ms", "s"})  # what InfluxDB 2.x/3.x write endpoints accept
GZIP_MAGIC = b"\x1f\x8b"
GZIP_LEVEL = 1  # ISA-L's levels run 0-3: its 1 stores a cycle's lines smaller than zlib's 1 did, 3.3x as fast
SEQ_DIGITS = 12

_APPEND_LOCK = ".append.lock"
_REPLAY_LOCK = ".replay.lock"
_LAST_SEQ = ".last_seq"
_TMP_PREFIX = ".tmp-"
REJECTED_DIR = "rejected"
_NAME = re.compile(
    r"^(?P<seq>\d{12,})_(?P<created>\d{8}T\d{6}\.\d{3})Z_(?P<points>\d+)p_(?P<precision>ns|us|ms|s)\.lp(?P<gz>\.gz)?$"
)
_TIME_FORMAT = "%Y%m%dT%H%M%S.%f"
DIR_MODE = 0o700  # the spool is private to the service's user, whatever the umask
FILE_MODE = 0o600
_CHUNK_LINES = 512  # lines joined and compressed at a time (``_gzip_lines``): about 140 KB of text
_IRREGULAR_STARTS = "\n# \t\r"  # a line starting so is blank, a comment, or not line protocol's own start
_EMPTY_CHECK_BYTES = 256  # a gzip body this small may hold no points: inflate it to check (bigger ones do)
_REASON_SUFFIX = ".reason"


class SpoolFullError(SinkError):
    """An append would take the spool over its size limit; nothing was written, nothing was deleted."""


class SpoolWriteError(SinkError, OSError):
    """A batch (or the spool's own bookkeeping) could not be written: a full disk, a read-only or vanished
    folder. Nothing was stored (no half batch is left). An OSError too, with the OS's ``errno``."""


class SpoolBusyError(SinkError):
    """Another process is replaying this spool; try again when it is done."""


class BatchRefused(SinkError):
    """The receiver refused a batch, or some of its lines, for good: retrying the same bytes cannot help.

    ``lines``: the refused lines (line protocol) when the rest of the batch was written (``delivered``
    points); None when the whole batch is refused. ``status``: the HTTP status, when there was one.
    """

    def __init__(self, message: str, *, lines: bytes | None = None, delivered: int = 0,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.lines = lines
        self.delivered = delivered
        self.status = status


def is_gzip(body: bytes) -> bool:
    """Whether a body handed out by ``replay(..., gzip=True)`` must be sent with Content-Encoding: gzip."""
    return body[:2] == GZIP_MAGIC


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """What ``append`` wrote: enough for the caller to log it and for tests to check it is there."""

    seq: int
    name: str
    points: int
    bytes: int  # on disk (compressed when gzip'd): what counts against max_bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch as a reader sees it; the body is read only when asked for."""

    seq: int
    path: Path
    points: int
    bytes: int
    created_at: datetime
    precision: str

    @property
    def gzipped(self) -> bool:
        return self.path.name.endswith(".gz")

    def read_raw(self) -> builtins.bytes:  # the field ``bytes`` shadows the builtin in this class
        """The stored body: gzip when ``gzipped``, else line protocol."""
        return self.path.read_bytes()

    def read(self) -> builtins.bytes:
        """The line protocol (inflated if stored gzip'd; gzip's CRC catches a corrupted file)."""
        raw = self.read_raw()
        return gziplib.decompress(raw) if self.gzipped else raw


@dataclass(frozen=True, slots=True)
class Refusal:
    """A batch (or the lines of it) set aside in rejected/: which, how many points, why, and where it is."""

    seq: int
    points: int
    reason: str
    path: Path

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "points": self.points, "reason": self.reason, "path": str(self.path)}


def spools_within(directory: Path) -> list[Path]:
    """The spools in ``directory``'s subfolders, by name: other processes' own (a cluster worker's
    ``<spool>/<name>``, a leader's ``<spool>/leader.<name>``), each a folder with the append lock a ``Spool``
    makes when it opens. Its rejected/ folder is not one; nor is a symbolic link."""
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [Path(entry.path) for entry in entries if entry.name != REJECTED_DIR
            and entry.is_dir(follow_symlinks=False) and os.path.isfile(os.path.join(entry.path, _APPEND_LOCK))]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """How far a replay got; ``error`` is the delivery failure it stopped at (that batch stays spooled).

    ``batches``/``points``: delivered (a partly refused batch's written points count; the batch does
    not); ``refusals``: what was set aside in rejected/ on the way, which did not stop the replay.
    """

    batches: int
    points: int
    error: Exception | None = None
    failed: Batch | None = None
    refusals: tuple[Refusal, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rejected(self) -> int:
        return len(self.refusals)

    @property
    def rejected_points(self) -> int:
        return sum(r.points for r in self.refusals)

    def to_json(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "points": self.points,
            "ok": self.ok,
            "error": None if self.error is None else f"{type(self.error).__name__}: {self.error}",
            "failed_seq": None if self.failed is None else self.failed.seq,
            "rejected": self.rejected,
            "rejected_points": self.rejected_points,
            "refusals": [r.to_json() for r in self.refusals],
        }


@dataclass(frozen=True, slots=True)
class SpoolStatus:
    """How much is waiting, since when, and how close the spool is to refusing new batches."""

    directory: Path
    batches: int
    points: int
    bytes: int
    oldest: datetime | None
    newest: datetime | None
    max_bytes: int
    fraction: float  # of max_bytes in use: waiting batches and rejected/ together
    rejected: int = 0  # batches InfluxDB refused for good, kept in rejected/
    rejected_points: int = 0
    rejected_bytes: int = 0  # rejected/ on disk (batches and their .reason files): counts against max_bytes

    @property
    def used_bytes(self) -> int:
        """What counts against max_bytes: the waiting batches and rejected/."""
        return self.bytes + self.rejected_bytes

    @property
    def rejected_directory(self) -> Path:
        return self.directory / REJECTED_DIR

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "rejected": self.rejected,
            "rejected_points": self.rejected_points,
            "rejected_bytes": self.rejected_bytes,
            "rejected_directory": str(self.rejected_directory),
            "batches": self.batches,
            "points": self.points,
            "bytes": self.bytes,
            "used_bytes": self.used_bytes,
            "oldest": None if self.oldest is None else self.oldest.isoformat(),
            "newest": None if self.newest is None else self.newest.isoformat(),
            "max_bytes": self.max_bytes,
            "fraction": round(self.fraction, 4),
        }


_BY_SEQ = attrgetter("seq")


@dataclass(slots=True)
class _Listing:
    """One folder's batches as ``Spool._look`` last listed them, by file name, with their totals."""

    batches: dict[str, Batch] = field(default_factory=dict)
    others: set[str] = field(default_factory=set)  # names in the folder that are no batch's
    top: int = 0  # the highest seq seen in the folder, gone or not: the next append's is above it
    points: int = 0
    bytes: int = 0

    def oldest_first(self) -> list[Batch]:
        return sorted(self.batches.values(), key=_BY_SEQ)

    def newest_seq(self) -> int:
        """The highest seq still in the folder (0 when it holds none)."""
        return max(map(_BY_SEQ, self.batches.values()), default=0)

    def ends(self) -> tuple[Batch, Batch] | None:
        """The oldest batch and the newest, or None when there is none."""
        if not self.batches:
            return None
        values = self.batches.values()
        return min(values, key=_BY_SEQ), max(values, key=_BY_SEQ)


class Spool:
    """The spool in one directory. Safe to use from several processes (one appender is the rule)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 1 << 30,
        warn_fraction: float = 0.8,
        compress: bool = True,
        limit_name: str = "the spool's max_bytes",
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        if not 0 < warn_fraction <= 1:
            raise ValueError(f"warn_fraction must be in (0, 1], not {warn_fraction}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.warn_fraction = warn_fraction
        self.compress = compress
        self.limit_name = limit_name  # how the user raises the limit, e.g. an env var name, for the advice
        # each folder's batches as last listed (``_look``): the spool's own and rejected/'s
        self._listings: dict[Path, _Listing] = {}
        self._looking = threading.Lock()  # a heartbeat's status() may look while the cycle appends
        self._open_directory()

    # -- writing ---------------------------------------------------------------------------------------

    def append(self, lines: Sequence[str] | bytes | str, *, precision: str = "s") -> BatchInfo:
        """Store one batch durably; when this returns, the batch survives kill -9 and power loss."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {precision!r}")
        gzipped = _gzip_lines(lines) if self.compress and isinstance(lines, list | tuple) else None
        if gzipped is not None:
            body, points = gzipped, len(lines)
        else:
            text = _to_bytes(lines)
            points = _count_points(text, lines if isinstance(lines, list | tuple) else None)
            if points == 0:
                raise ValueError("an empty batch (no points) is not spooled; skip the append instead")
            body = gzip_compress(text) if self.compress else text
        size = len(body)
        with self._lock(_APPEND_LOCK):
            queued = self._look(self.directory)
            rejected = self._look(self.directory / REJECTED_DIR)
            set_aside = self._rejected_bytes(rejected)
            used = queued.bytes + set_aside
            if used + size > self.max_bytes:
                aside = (f" ({_human(set_aside)} of it refused by InfluxDB, in {self.directory / REJECTED_DIR}: "
                         "read the .reason files, then `hotspotctl spool flush --requeue` once the cause is fixed, "
                         "or delete them)") if set_aside else ""
                raise SpoolFullError(
                    f"spool {self.directory} is full: {_human(used)} of {_human(self.max_bytes)} used{aside}, no room "
                    f"for this batch of {points} points ({_human(size)}), which was NOT stored. {self._advice()}"
                )
            seq = max(self._last_seq(), queued.top, rejected.top) + 1  # above every seq used (the high-water mark)
            created = datetime.now(UTC)
            name = _batch_name(seq, created, points, precision, gz=self.compress)
            self._write_durably(name, body)
        fraction = (used + size) / self.max_bytes
        if fraction >= self.warn_fraction:
            log.warning(
                "spool %s is %.0f%% full (%s of %s): metrics are piling up on disk instead of reaching "
                "InfluxDB, and new batches will be refused at 100%%. %s",
                self.directory,
                fraction * 100,
                _human(used + size),
                _human(self.max_bytes),
                self._advice(),
            )
        return BatchInfo(seq=seq, name=name, points=points, bytes=size, created_at=_ms(created))

    def ack(self, batch: Batch | BatchInfo) -> None:
        """The batch is in InfluxDB: delete it for good. Acking a batch that is already gone is a no-op."""
        name = batch.path.name if isinstance(batch, Batch) else batch.name
        seen = self._listings.get(self.directory)
        # A higher seq was used: it is still queued, or it left, and the last to leave of those above this one was
        # the newest then and raised the high-water mark above this seq. So there is no need to list the
        # directory for each batch a replay acks (oldest first: all but the last), only for the newest it has seen.
        if (seen is not None and seen.top > batch.seq) or self._look(self.directory).newest_seq() > batch.seq:
            self._remove_durably(name)  # appends only add higher seqs, so the high-water mark is safe
            return
        with self._lock(_APPEND_LOCK):  # it may be the newest: remember its seq so seqs never restart
            self._raise_high_water(batch.seq)
            self._remove_durably(name)

    def _raise_high_water(self, seq: int) -> None:
        """Before the newest batch leaves the directory, remember its seq (under the append lock)."""
        if self._look(self.directory).newest_seq() <= seq and seq > self._last_seq():
            self._write_durably(_LAST_SEQ, f"{seq}\n".encode())

    # -- reading ---------------------------------------------------------------------------------------

    def batches(self) -> Iterator[Batch]:
        """Oldest first, from one listing of the directory; a batch acked meanwhile is skipped on read."""
        yield from self._look(self.directory).oldest_first()

    def replay(
        self, deliver: Callable[[bytes, str], None], *, limit: int | None = None, gzip: bool = False
    ) -> ReplayResult:
        """Deliver batches in order, acking each after ``deliver`` returns; stop at the first failure.

        ``deliver(body, precision)`` gets line protocol, or with ``gzip=True`` the stored body as is
        (``is_gzip(body)`` says which). A failed batch is not acked and is the first one next time.
        Raises SpoolBusyError when another process is replaying.
        """
        done = points = 0
        refusals: list[Refusal] = []
        with self._lock(_REPLAY_LOCK, blocking=False):
            for batch in self.batches():
                if limit is not None and done + len(refusals) >= limit:
                    break
                try:
                    body = batch.read_raw() if gzip else batch.read()
                except FileNotFoundError:
                    continue  # acked by someone else after our listing: delivered, not skipped
                except (OSError, EOFError, zlib.error) as exc:  # inflating a damaged file
                    refusals.append(self.reject(batch, f"damaged: the file cannot be read as gzip ({exc}); "
                                                       f"the {batch.points} points its name counts are lost"))
                    continue
                if _holds_no_points(body):
                    refusals.append(self.reject(batch, f"damaged: the file holds no points although its name "
                                                       f"counts {batch.points}; they are lost (a truncated or "
                                                       "emptied file), nothing was sent"))
                    continue
                try:
                    deliver(body, batch.precision)
                except BatchRefused as exc:  # for good: set it aside, with why, and go on with the next
                    refusals.append(self.reject(batch, str(exc), lines=exc.lines))
                    points += exc.delivered if exc.lines is not None else 0
                    continue
                except Exception as exc:  # any other delivery failure stops the replay; the batch stays
                    return ReplayResult(batches=done, points=points, error=exc, failed=batch,
                                        refusals=tuple(refusals))
                self.ack(batch)
                done += 1
                points += batch.points
        return ReplayResult(batches=done, points=points, refusals=tuple(refusals))

    def reject(self, batch: Batch, reason: str, *, lines: bytes | None = None) -> Refusal:
        """Set a batch InfluxDB refused for good aside in rejected/, with why, out of the replay's way.

        ``lines``: only these lines were refused (InfluxDB wrote the rest): they are kept, under the batch's
        seq, and the rest of the batch is gone. Nothing refused is deleted: a batch that can never be written
        must not block the ones behind it, and an operator can read the reason, fix the cause and put it
        back with ``requeue_rejected()``. Crash-safe: the refused data is durable in rejected/ before the
        batch leaves the queue (a crash between the two sends the batch again, and sets it aside again
        under the same name). The seq is remembered, so a new batch never takes it.
        """
        folder = self._rejected_directory()
        points = batch.points
        if lines is not None:
            points = _count_points(lines)
            if not lines.endswith(b"\n"):
                lines += b"\n"
        name = batch.path.name if lines is None else _batch_name_like(batch, points)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        kept = "all of it" if lines is None else f"the {points} refused of its {batch.points} points"
        text = f"{stamp}: batch {batch.seq} ({batch.points} points, {batch.path.name}), {kept}: {reason.rstrip()}\n"
        with self._lock(_APPEND_LOCK):
            for old, earlier in self._look(folder).batches.items():  # an earlier try (a crash before it left)
                if earlier.seq == batch.seq and old != name:
                    _unlink_quietly(folder / old)
                    _unlink_quietly(folder / (old + _REASON_SUFFIX))
            self._write_durably(name + _REASON_SUFFIX, text.encode("utf-8", "replace"), folder)
            if lines is None:
                try:
                    os.replace(batch.path, folder / name)
                except FileNotFoundError:  # acked meanwhile by another replay: nothing to set aside
                    _unlink_quietly(folder / (name + _REASON_SUFFIX))
                    return Refusal(batch.seq, 0, reason, folder / name)
                _fsync_dir(folder)
            else:
                body = gzip_compress(lines) if batch.gzipped else lines
                self._write_durably(name, body, folder)
            self._raise_high_water(batch.seq)
            if lines is not None:
                self._remove_durably(batch.path.name)
            else:
                _fsync_dir(self.directory)
        log.warning("spool %s: InfluxDB refused batch %d (%s) for good; kept in %s: %s", self.directory, batch.seq,
                  f"{points} points" if lines is None else f"{points} of its {batch.points} points", folder / name,
                  reason)
        return Refusal(batch.seq, points, reason, folder / name)

    def rejected(self) -> list[Batch]:
        """The batches InfluxDB refused, oldest first."""
        return self._look(self.directory / REJECTED_DIR).oldest_first()

    def requeue_rejected(self) -> int:
        """Put rejected batches back in the queue, in their original order; how many were moved.

        Each keeps its seq (lower than anything appended since, so it goes first), its body and its
        compression; its .reason file is removed. One whose name is taken in the queue (it cannot be,
        seqs never repeat) is left where it is.
        """
        moved = 0
        folder = self.directory / REJECTED_DIR
        with self._lock(_APPEND_LOCK):
            queued = {b.seq for b in self._look(self.directory).batches.values()}
            for batch in self.rejected():
                if batch.seq in queued:
                    log.error("spool %s: not requeueing %s: batch %d is already queued", self.directory,
                              batch.path, batch.seq)
                    continue
                os.replace(batch.path, self.directory / batch.path.name)
                _unlink_quietly(batch.path.with_name(batch.path.name + _REASON_SUFFIX))
                moved += 1
            if moved:
                _fsync_dir(folder)
                _fsync_dir(self.directory)
        return moved

    def status(self) -> SpoolStatus:
        """What is waiting, from one listing of the directory (and of rejected/): a batch's name is parsed, and
        its file's size read, once (``_look``), so this costs the listing, not a parse and a stat per batch."""
        queued = self._look(self.directory)
        rejected = self._look(self.directory / REJECTED_DIR)
        rejected_bytes = self._rejected_bytes(rejected)
        ends = queued.ends()
        return SpoolStatus(
            directory=self.directory,
            batches=len(queued.batches),
            points=queued.points,
            bytes=queued.bytes,
            oldest=ends[0].created_at if ends else None,
            newest=ends[1].created_at if ends else None,
            max_bytes=self.max_bytes,
            fraction=(queued.bytes + rejected_bytes) / self.max_bytes,
            rejected=len(rejected.batches),
            rejected_points=rejected.points,
            rejected_bytes=rejected_bytes,
        )

    # -- internals -------------------------------------------------------------------------------------

    def _advice(self) -> str:
        return (
            "To empty it: start InfluxDB or fix its settings (URL, token, bucket) so the backlog is replayed, "
            "or load it now with `hotspotctl spool flush`; or raise the limit "
            f"({self.limit_name}, now {self.max_bytes} bytes) if the disk has room."
        )

    def _open_directory(self) -> None:
        """Create the directory (private) if needed and remove temp files left by a crash mid-append."""
        if not self.directory.is_dir():
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            self.directory.mkdir(mode=DIR_MODE, exist_ok=True)
            _fsync_dir(self.directory.parent)
        _make_private(self.directory)
        if (self.directory / REJECTED_DIR).is_dir():
            _make_private(self.directory / REJECTED_DIR)
        try:
            with self._lock(_APPEND_LOCK, blocking=False):  # held = an append is in flight: its temp is live
                removed = 0
                for folder in (self.directory, self.directory / REJECTED_DIR):  # rejected/ is written under it too
                    with contextlib.suppress(FileNotFoundError):
                        leftovers = [n for n in os.listdir(folder) if n.startswith(_TMP_PREFIX)]
                        for name in leftovers:
                            _unlink_quietly(folder / name)
                        if leftovers:
                            _fsync_dir(folder)
                        removed += len(leftovers)
                if removed:
                    log.info("spool %s: removed %d unfinished write(s) left by a crash", self.directory, removed)
        except SpoolBusyError:
            pass  # the appender's own next open cleans up

    @contextlib.contextmanager
    def _lock(self, name: str, *, blocking: bool = True) -> Iterator[None]:
        """flock on a fresh descriptor each time, so threads of one process exclude each other too."""
        fd = os.open(self.directory / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)  # whatever the umask, or an older version, made of it
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError as exc:
                doing = "replaying it (`hotspotctl spool flush`?)" if name == _REPLAY_LOCK else "writing to it"
                raise SpoolBusyError(
                    f"spool {self.directory}: another process is {doing}; try again when it is done"
                ) from exc
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _rejected_directory(self) -> Path:
        """rejected/, created private on first use."""
        folder = self.directory / REJECTED_DIR
        if not folder.is_dir():
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
            _make_private(folder)
            _fsync_dir(self.directory)
        return folder

    def _rejected_bytes(self, rejected: _Listing) -> int:
        """rejected/ on disk: its batches (their sizes as listed) and their .reason files (read on each call:
        a batch refused again after a crash gets its reason rewritten under the same name)."""
        folder = self.directory / REJECTED_DIR
        total = rejected.bytes
        for name in rejected.batches:
            with contextlib.suppress(FileNotFoundError):
                total += (folder / (name + _REASON_SUFFIX)).stat().st_size
        return total

    def _look(self, folder: Path) -> _Listing:
        """``folder``'s batches now: listed again (what other processes appended, acked, set aside or requeued
        shows at once), each name's fields and file size read the first time it is seen only.

        A batch file never changes once its name is there (written under a temp name, renamed into place; a
        requeue moves it back whole), so a look costs the listing and two set differences, not a parse and a
        stat per batch: with InfluxDB away the backlog grows to thousands of batches, and every append and
        ``status()`` of every cycle looks (docs/performance.md: with 5,000 batches waiting an append cost 7.9x
        one into an empty spool, 3.0x now). The listing returned is never changed afterwards (a new one
        replaces it)."""
        with self._looking:
            try:
                names = set(os.listdir(folder))
            except FileNotFoundError:  # rejected/, before anything was set aside
                names = set()
            last = self._listings.get(folder) or _Listing()
            gone = last.batches.keys() - names
            new = names.difference(last.batches, last.others)
            if not gone and not new:
                return last
            batches = dict(last.batches)
            listing = _Listing(batches, last.others & names, last.top, last.points, last.bytes)
            for name in gone:
                batch = batches.pop(name)
                listing.points -= batch.points
                listing.bytes -= batch.bytes
            for name in new:
                match = _NAME.match(name)
                if match is None:  # the locks, the high-water mark, a temp file, a .reason file
                    listing.others.add(name)
                    continue
                path = folder / name
                try:
                    size = path.stat().st_size
                except FileNotFoundError:
                    continue  # acked between the listing and now
                batch = batches[name] = Batch(
                    seq=int(match["seq"]),
                    path=path,
                    points=int(match["points"]),
                    bytes=size,
                    created_at=datetime.strptime(match["created"], _TIME_FORMAT).replace(tzinfo=UTC),
                    precision=match["precision"],
                )
                listing.points += batch.points
                listing.bytes += size
                listing.top = max(listing.top, batch.seq)
            self._listings[folder] = listing
            return listing

    def _last_seq(self) -> int:
        try:
            return int((self.directory / _LAST_SEQ).read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def _write_durably(self, name: str, body: bytes, directory: Path | None = None) -> None:
        """Temp file (0600), fsync, rename, fsync the directory: the name shows a whole file or nothing."""
        folder = self.directory if directory is None else directory
        tmp = folder / f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        final = folder / name
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
            try:
                os.fchmod(fd, FILE_MODE)  # exactly 0600, whatever the umask
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
            _fsync_dir(folder)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            error = SpoolWriteError(
                f"could not write {final} ({exc.strerror or exc}); nothing was stored. "
                "Check that the spool directory is writable and the disk has free space."
            )
            error.errno = exc.errno  # str() stays the message (CPython formats it when strerror is set too)
            raise error from exc

    def _remove_durably(self, name: str) -> None:
        try:
            os.unlink(self.directory / name)
        except FileNotFoundError:
            return
        _fsync_dir(self.directory)


def gzip_compress(data: bytes) -> bytes:
    """One gzip member of ``data`` (mtime 0), as the spool stores a batch: ISA-L's deflate at GZIP_LEVEL."""
    return isal_zlib.compress(data, GZIP_LEVEL, 31)


def _gzip_lines(lines: Sequence[str]) -> bytes | None:
    """The gzip body of ``lines`` (one point each), joined, encoded and compressed ``_CHUNK_LINES`` at a time;
    None when a string is not one regular line (empty, a blank or comment start, a line break inside it),
    for ``_to_bytes`` and ``_count_points`` to sort out.

    What ``gzip_compress`` of the whole text inflates to, as long, without the text (ISA-L's bytes for a line fed
    in two pieces are not always its one-shot bytes, so the stream itself may differ): a batch of 10,000 lines held
    its str, its bytes and a copy with the last newline, about 8 MB at once at the cycle's peak, for a body
    of about 0.4 MB."""
    if not lines:
        return None
    packer = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 31)  # wbits 31: one gzip member, mtime 0
    parts = []
    for start in range(0, len(lines), _CHUNK_LINES):
        chunk = lines[start:start + _CHUNK_LINES]
        text = "\n".join(chunk).encode()
        if (text.count(b"\n") != len(chunk) - 1 or b"\r" in text
                or not all(line and line[0] not in _IRREGULAR_STARTS for line in chunk)):
            return None
        parts.append(packer.compress(text))
        parts.append(packer.compress(b"\n"))
    parts.append(packer.flush())
    return b"".join(parts)


def _to_bytes(lines: Sequence[str] | bytes | str) -> bytes:
    if isinstance(lines, bytes | bytearray | memoryview):
        text = bytes(lines)
    elif isinstance(lines, str):
        text = lines.encode()
    else:
        text = "\n".join(lines).encode()
    return text if not text or text.endswith(b"\n") else text + b"\n"


def _count_points(text: bytes, lines: Sequence[str] | None = None) -> int:
    """Lines that are points. Fast path (a cycle's 70,000 lines in ~4 ms) unless blank or comment lines exist.

    ``lines``: the strings ``text`` was joined from, when it was (``_to_bytes``). Then no scan for an
    irregular line is needed when the text has one newline per string (none inside one, bar the last's
    own) and no string starts like a blank or comment line: the strings are the points. A cycle's
    batches so cost a newline count and a look at each line's first character, not the five scans
    of the text below (5.1 -> 0.9 µs per AP at 10,000 APs).
    """
    if not text:
        return 0
    if (lines is not None and text.count(b"\n") == len(lines) and b"\r" not in text
            and all(line and line[0] not in _IRREGULAR_STARTS for line in lines)):
        return len(lines)
    irregular = (
        text[:1] in (b"\n", b"#", b" ", b"\t", b"\r")
        or b"\n\n" in text
        or b"\n#" in text
        or b"\n " in text
        or b"\n\t" in text
        or b"\r" in text
    )
    if not irregular:
        return text.count(b"\n")
    return sum(1 for line in text.split(b"\n") if line.strip() and not line.lstrip().startswith(b"#"))


def _holds_no_points(body: bytes) -> bool:
    """Whether a body read from a batch file has no point in it (an empty or emptied file).

    A gzip body is inflated only when small (bigger ones hold data); a damaged small one counts as empty.
    """
    if is_gzip(body):
        if len(body) > _EMPTY_CHECK_BYTES:
            return False
        try:
            body = gziplib.decompress(body)
        except (OSError, EOFError, zlib.error):
            return True
    return _count_points(body) == 0


def _batch_name_like(batch: Batch, points: int) -> str:
    """The name of a batch with ``batch``'s seq, time and precision, holding ``points``."""
    return _batch_name(batch.seq, batch.created_at, points, batch.precision, gz=batch.gzipped)


def _make_private(directory: Path) -> None:
    """0700 on a directory this spool owns; a shared one (sticky, like /tmp, or someone else's) is left alone."""
    try:
        info = directory.stat()
        if stat.S_IMODE(info.st_mode) == DIR_MODE or info.st_mode & stat.S_ISVTX or info.st_uid != os.geteuid():
            return
        os.chmod(directory, DIR_MODE)
    except OSError as exc:
        log.warning("spool %s: could not make it private to this user (chmod 700): %s", directory, exc)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _batch_name(seq: int, created: datetime, points: int, precision: str, *, gz: bool) -> str:
    stamp = created.strftime("%Y%m%dT%H%M%S") + f".{created.microsecond // 1000:03d}"
    return f"{seq:0{SEQ_DIGITS}d}_{stamp}Z_{points}p_{precision}.lp" + (".gz" if gz else "")


def _ms(moment: datetime) -> datetime:
    """The timestamp as the file name keeps it (milliseconds), so BatchInfo and Batch agree."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
