"""hotspotctl crews send: crew lists by email, webhook or Open311."""

from __future__ import annotations

import typer

from hotspotctl.errors import ExitCode


def send(ctx: typer.Context) -> ExitCode:
    """Send each zone's crew list (not written yet)."""
    return ExitCode.INTERNAL
