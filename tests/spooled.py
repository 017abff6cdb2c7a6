"""What a test's spool holds: its batches' lines, oldest first."""

from __future__ import annotations

import gzip
from pathlib import Path


def spooled_batches(spool_dir: Path) -> list[list[str]]:
    """Every batch's lines (comments and blank lines left out), oldest batch first."""
    out = []
    for path in sorted(spool_dir.glob("*.lp*")):
        data = path.read_bytes()
        text = (gzip.decompress(data) if path.name.endswith(".gz") else data).decode()
        out.append([line for line in text.splitlines() if line and not line.startswith("#")])
    return out


def cycle_batches(spool_dir: Path) -> list[list[str]]:
    """The batches, each one-box cycle's ``poller_cycle`` line put back at the end of the batch before it.

    A one-box cycle spools its lines before its commit and its own figures (``poller_cycle``) in a batch of their
    own after it (service.CycleRunner._conclude); a cycle whose commit failed has no such batch. For a fleet whose
    lines fit one batch, this is one batch per cycle, as the spool held them before the figures moved."""
    out: list[list[str]] = []
    for batch in spooled_batches(spool_dir):
        if out and batch and all(line.startswith("poller_cycle ") for line in batch):
            out[-1] = out[-1] + batch
        else:
            out.append(batch)
    return out
