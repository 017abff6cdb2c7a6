"""Logging for long-running commands: readable lines on a terminal, JSON lines for a log shipper.

One record is one line in either format: in text, a record's message cannot break the line or drive
the terminal (a zone name or a device string with a line break or an escape sequence is shown
escaped, ``\\n``, ``\\x1b``); a traceback keeps its lines, its text escaped the same way. JSON
escapes them itself (and DEL, C1 and the Unicode line separators with them).
"""

from __future__ import annotations

import enum
import logging
import sys
from datetime import UTC, datetime

from hotspotctl.cli.output import inert, json_text


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json_text(entry)


class TextLines(logging.Formatter):
    """``time LEVEL message``, the message escaped to stay one line; tracebacks escaped but kept multi-line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return inert(super().formatMessage(record))

    def formatException(self, ei: object) -> str:
        return inert(super().formatException(ei), multiline=True)  # type: ignore[arg-type]

    def formatStack(self, stack_info: str) -> str:
        return inert(super().formatStack(stack_info), multiline=True)


def configure(fmt: LogFormat = LogFormat.TEXT, level: str = "INFO") -> None:
    """hotspotctl's loggers to stderr, in ``fmt``; third-party loggers only from WARNING up."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == LogFormat.JSON:
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(TextLines("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("hotspotctl").setLevel(level.upper())
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # its max_instances warning is ours, reworded
