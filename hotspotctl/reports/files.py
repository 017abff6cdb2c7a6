"""Writing output files whole or not at all, and CSV that spreadsheets cannot execute.

An output file gets the mode any file would (0666 less the umask; a replaced file keeps its mode):
exports are for sharing. Only the store, the spool and the data folder are private.
"""

from __future__ import annotations

import csv
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from hotspotctl.csvsafe import neutralise
from hotspotctl.errors import InputError


@contextmanager
def atomic_output(path: Path | str) -> Iterator[IO[str]]:
    """A text handle on ``path`` that replaces it only if the block finishes; '-' is stdout."""
    if str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"{target}: directory {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, _shared_mode(target))  # mkstemp makes 0600: an export is for sharing, like any file
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _shared_mode(target: Path) -> int:
    """The mode a file written in place would get: the replaced file's, else 0666 less the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (/proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (this is a command line, not a threaded server)
    os.umask(mask)
    return mask


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, float):
        return repr(value)  # full precision: an export re-imports to the same coordinates
    return value


def write_csv(fh: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
