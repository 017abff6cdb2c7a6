"""What a test's spool holds: its batches' lines, oldest first."""

from __future__ import annotations

from pathlib import Path

from hotspotctl.sinks.spool import Spool


def spooled_batches(spool_dir: Path) -> list[list[str]]:
    """Every batch's lines (comments and blank lines left out), oldest batch first (``Spool.batches``)."""
    return [[line for line in batch.read().decode().splitlines() if line and not line.startswith("#")]
            for batch in Spool(spool_dir).batches()]


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
