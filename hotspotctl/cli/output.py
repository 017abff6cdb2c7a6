"""How commands print: data to stdout (table, json or csv), messages to stderr.

Device- and file-supplied strings are never read as rich markup: every table
cell is a ``Text`` and messages print with markup off. Nor can they drive the
terminal: every console made here shows control characters (C0 but newline and
tab in messages, DEL, C1, the Unicode line separators) as visible escapes, so
``ESC]0;`` cannot set the window title, ``ESC[2J`` cannot clear the screen and a
carriage return cannot hide what came before it; in a table cell a line break is
shown as ``\\n`` too, so a value cannot forge a row. JSON escapes them as
``\\uXXXX``: the same value, inert.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hotspotctl.reports.files import write_csv


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class ReportFormat(StrEnum):
    """For output that is one document, not rows: no csv."""

    TABLE = "table"
    JSON = "json"


_LINE_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # one line: every control character
_TEXT_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # lines: newline and tab stay
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")  # json.dumps escapes C0 itself, not these
_SHOWN = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHOWN.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def inert(text: str, *, multiline: bool = False) -> str:
    """``text`` with its control characters shown as escapes (``\\x1b``, ``\\n``): safe for a terminal or a
    text log line. ``multiline`` keeps newlines and tabs (messages, device output)."""
    return (_TEXT_UNSAFE if multiline else _LINE_UNSAFE).sub(_escape, text)


def json_text(data: Any, **kwargs: Any) -> str:
    """json.dumps, with DEL, C1 and the Unicode line separators escaped too (the same value, inert)."""
    text = json.dumps(data, ensure_ascii=False, default=str, **kwargs)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _InertConsole(Console):
    """A rich Console whose strings and plain Texts cannot carry control sequences to the terminal.

    Its own styles (colour, bold) are rich's, emitted after this; only the text given to it is escaped.
    """

    def render_str(self, text: str, **kwargs: Any) -> Text:  # every str printed, and tables' titles
        return super().render_str(inert(text, multiline=True), **kwargs)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(_inert_text(o) if isinstance(o, Text) else o for o in objects), **kwargs)


def _inert_text(text: Text) -> Text:
    if not _TEXT_UNSAFE.search(text.plain):
        return text
    return Text(inert(text.plain, multiline=True), style=text.style, justify=text.justify, end=text.end)


def stdout() -> Console:
    return _InertConsole(soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def stderr() -> Console:
    return _InertConsole(stderr=True, soft_wrap=True)


def message(text: str, *, style: str | None = None) -> None:
    stderr().print(text, style=style, markup=False, highlight=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json_text(data, indent=2))
    sys.stdout.write("\n")


def print_json_rows(rows: Iterable[Any]) -> None:
    """A JSON array of ``rows`` written one row at a time: what ``print_json(list(rows))`` writes, byte for byte,
    without the whole array (and its text) in memory. For a fleet's rows: ten cities' layouts as one string
    were gigabytes."""
    write = sys.stdout.write
    first = True
    for row in rows:
        write("[\n  " if first else ",\n  ")
        write(json_text(row, indent=2).replace("\n", "\n  "))
        first = False
    write("[]\n" if first else "\n]\n")


def print_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    if sys.stdout.isatty():  # for a person: control characters shown, not obeyed; a file or a pipe gets the data
        rows = ([inert(v, multiline=True) if isinstance(v, str) else v for v in row] for row in rows)
    write_csv(sys.stdout, header, rows)


def cell(value: Any) -> Text:
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, float):
        return Text(f"{value:.6f}".rstrip("0").rstrip("."))
    if isinstance(value, int):
        return Text(f"{value:,}")
    return Text(inert(str(value)))


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None,
          numeric: Iterable[str] = ()) -> Table:
    numeric = set(numeric)
    result = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        result.add_column(column, justify="right" if column in numeric else "left", overflow="fold")
    for row in rows:
        result.add_row(*(cell(value) for value in row))
    return result


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], **kwargs: Any) -> None:
    stdout().print(table(columns, rows, **kwargs))


def emit(fmt: Format, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, json_rows: Any = None,
         **table_kwargs: Any) -> None:
    """Print rows as the user asked: a JSON array (of ``json_rows``, a list, if given), csv, or a table."""
    if fmt == Format.JSON:  # a row at a time (print_json_rows): a fleet's rows as one text were its largest part
        print_json_rows(json_rows if json_rows is not None else (dict(zip(columns, row, strict=True)) for row in rows))
    elif fmt == Format.CSV:
        print_csv(columns, rows)
    else:
        print_table(columns, rows, **table_kwargs)


class PhaseProgress:
    """A rich progress bar on stderr, one task per phase (discover, poll); silent off a terminal.

    Call it as ``progress(phase, advance, total)``; use as a context manager.
    """

    def __init__(self, enabled: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.enabled = enabled and sys.stderr.isatty()
        self._bar = Progress(TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=stderr(), transient=True) if self.enabled else None
        self._tasks: dict[str, Any] = {}

    def __call__(self, phase: str, advance: int, total: int) -> None:
        if self._bar is None:
            return
        task = self._tasks.get(phase)
        if task is None:
            task = self._tasks[phase] = self._bar.add_task(phase, total=total)
        self._bar.advance(task, advance)

    def __enter__(self) -> PhaseProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
