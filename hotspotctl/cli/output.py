"""How commands print: data to stdout (table, json or csv), messages to stderr.

Device- and file-supplied strings are never read as rich markup: every table
cell is a ``Text`` and messages print with markup off.
"""

from __future__ import annotations

import json
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


def stdout() -> Console:
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True)


def message(text: str, *, style: str | None = None) -> None:
    stderr().print(text, style=style, markup=False, highlight=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    sys.stdout.write("\n")


def print_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
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
    return Text(str(value))


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


def emit(fmt: Format, columns: Sequence[str], rows: list[Sequence[Any]], *, json_rows: Any = None,
         **table_kwargs: Any) -> None:
    """Print rows as the user asked: json (``json_rows`` if given), csv, or a table."""
    if fmt == Format.JSON:
        print_json(json_rows if json_rows is not None else [dict(zip(columns, row, strict=True)) for row in rows])
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
