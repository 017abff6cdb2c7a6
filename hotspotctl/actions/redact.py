"""Device output made inert for terminals and free of the secrets the sessions logged in with."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from hotspotctl.collectors.ssh import CommandResult

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MASK = "********"


def clean(text: str) -> str:
    """Device output made safe for a terminal: escape sequences and control characters other than newline
    and tab removed (carriage returns too: a line that rewinds could hide what came before it)."""
    return CONTROL.sub("", ANSI.sub("", text.replace("\r\n", "\n")))


def redact(result: CommandResult, secrets: Sequence[str]) -> CommandResult:
    """The result with every secret in its output and error masked."""
    output, error = result.output, result.error
    for secret in secrets:
        output = output.replace(secret, MASK)
        error = error.replace(secret, MASK) if error else error
    return dataclasses.replace(result, output=output, error=error)
