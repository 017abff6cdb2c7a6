"""`--format json` of a fleet's rows (`discover`, `poll --once`) is written a row at a time: the same bytes as one
json.dumps of the whole array, without the array and its text in memory (issue 19: `discover --format json` of
ten cities peaked at 6.3 GB, most of it the output)."""

from __future__ import annotations

import io
import json
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotspotctl.cli import main, output
from hotspotctl.cli.output import json_text
from tests.city import APS, City

ROWS = [
    {"ap": "AP-1", "ok": True, "layout": {"uplink": {"name": "eth0", "speed_mbps": 1000.0}, "radios": [1, 2]}},
    {"ap": "AP-\x1b]0;x\x07\x9b\u2028", "ok": False, "layout": None, "error": "line\nbreak \"quoted\""},
    {"ap": "AP-3", "nested": [[], {}, [{"a": [1.5, -0.0, 1e-07]}]], "n": 12345678901234567890},
]


class _Writes(io.StringIO):
    """stdout that remembers each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@pytest.mark.parametrize("rows", [[], ROWS[:1], ROWS], ids=["none", "one", "three"])
def test_the_rows_are_the_bytes_print_json_writes(rows: list[dict], monkeypatch: pytest.MonkeyPatch) -> None:
    whole, streamed = _Writes(), _Writes()
    monkeypatch.setattr(sys, "stdout", whole)
    output.print_json(rows)
    monkeypatch.setattr(sys, "stdout", streamed)
    output.print_json_rows(iter(rows))
    assert streamed.getvalue() == whole.getvalue()
    assert json.loads(streamed.getvalue()) == rows
    assert "\x1b" not in streamed.getvalue() and "\x9b" not in streamed.getvalue()  # inert, as print_json
    assert len(streamed.writes) == (1 if not rows else 2 * len(rows) + 1)


def test_each_row_is_written_before_the_next_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _Writes()
    monkeypatch.setattr(sys, "stdout", out)
    seen: list[str] = []

    def rows() -> Iterator[dict]:
        for i in range(3):
            seen.append(out.getvalue())
            yield {"i": i}

    output.print_json_rows(rows())
    assert seen[0] == "" and seen[1].endswith('"i": 0\n  }') and seen[2].endswith('"i": 1\n  }')


def test_its_memory_is_a_row_not_the_array(monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 rows of about 6 KB of JSON each: printed whole, the array's text (12 MB) is in memory at once;
    a row at a time, only a row's."""
    monkeypatch.setattr(sys, "stdout", _Counting())

    def rows() -> Iterator[dict]:
        for i in range(2000):
            yield {"ap": f"AP-{i}", "layout": {"radios": [{"name": f"wifi{j}", "cells": list(range(40))}
                                                         for j in range(8)]}}

    size = len(json_text(list(rows()), indent=2))
    assert size > 10_000_000
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        output.print_json_rows(rows())
        streamed = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        output.print_json(list(rows()))
        whole = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert streamed < 200_000, streamed
    assert whole > size, whole  # what the streaming saves: the text at least


class _Counting:
    """stdout that keeps nothing (a pipe)."""

    def write(self, text: str) -> int:
        return len(text)


def test_discover_and_poll_write_a_fleets_json_a_row_at_a_time(city: City, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOTSPOTCTL_PING_ENABLED", "false")  # as the city's own settings: loopback answers ping
    for command in (["discover"], ["poll", "--once"]):
        out = _Writes()
        monkeypatch.setattr(sys, "stdout", out)
        code = main(["--data-dir", str(city.data_dir), "--quiet", *command, "--format", "json"])
        text = out.getvalue()
        rows = json.loads(text)
        assert code == 0, command
        assert [row["ap"] for row in rows] == [ap.id for ap in city.aps] and len(rows) == APS
        assert all(row["ok"] for row in rows)
        if command == ["discover"]:
            assert {row["layout"]["profile"] for row in rows} <= {row["profile"] for row in rows}
            assert all(row["layout"]["uplink"]["if_index"] == row["if_index"] for row in rows)
        assert text == json_text(rows, indent=2) + "\n"  # what one json.dumps of the array writes
        assert len(out.writes) == 2 * APS + 1  # a row at a time: never the array whole
