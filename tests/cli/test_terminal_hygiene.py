"""Issue 15: text from files and devices cannot drive a terminal or forge a log line.

The store here is given hostile names directly (a store filled before imports checked them, or a device's
string): the import itself now refuses them (tests/inventory/test_import_hygiene.py).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotspotctl.cli import output
from hotspotctl.cli.logs import LogFormat, configure
from hotspotctl.inventory.sites import derive_sites, site_id_for
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.store import Store
from hotspotctl.store import inventory as queries

TITLE = "\x1b]0;pwned\x07"  # OSC 0: sets the terminal window's title
CLEAR = "\x1b[2J"  # CSI 2 J: clears the screen
HOSTILE_ID = f"AP-1{TITLE}"
HOSTILE_DISTRICT = f"Tlalpan{CLEAR}"
HOSTILE_PROGRAM = "Escuelas\r\x9b31mFORGED\nrow"


def _hostile_store(data_dir: Path) -> None:
    aps = []
    for ap_id, district, program in ((HOSTILE_ID, HOSTILE_DISTRICT, HOSTILE_PROGRAM), ("AP-2", "Coyoacan", "X")):
        ap = AccessPoint(ap_id, 19.4, -99.1 if ap_id == "AP-2" else -99.2, program=program, district=district)
        aps.append(AccessPoint(**{**ap.values(), "site_id": site_id_for(None, ap.lat, ap.lon)}))
    with Store.open(f"sqlite:///{data_dir / 'hotspotctl.db'}") as store, store.write() as conn:
        queries.save_sites(conn, derive_sites(aps), {})
        queries.insert_access_points(conn, aps, datetime.now(UTC))


def _in_a_pty(args: list[str], cwd: Path) -> bytes:
    """hotspotctl's whole output (stdout and stderr) as a terminal receives it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTCTL_")} | {"TERM": "xterm-256color"}
    # The terminal's own size, not the environment's: pytest-xdist's workers run with COLUMNS=80 and LINES=24,
    # and rich prefers those to the pty's 200 columns (the rows then wrapped, the names split across lines).
    for name in ("NO_COLOR", "COLUMNS", "LINES"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "hotspotctl", *args], stdin=slave, stdout=slave, stderr=slave,
                            cwd=cwd, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        proc.wait(timeout=300)
    return b"".join(chunks)


@pytest.mark.parametrize("args", [["inventory", "list"], ["inventory", "stats"], ["inventory", "list", "-f", "csv"]])
def test_hostile_names_reach_a_real_terminal_as_visible_escapes(tmp_path: Path, args: list[str]):
    """On 3854a6b the raw ESC]0; (window title) and ESC[2J (clear screen) reached the terminal."""
    _hostile_store(tmp_path / "var")
    shown = _in_a_pty(["--data-dir", str(tmp_path / "var"), *args], tmp_path)
    assert b"\x1b]0;" not in shown and b"\x1b[2J" not in shown and b"\x07" not in shown
    assert b"\r\xc2\x9b" not in shown and b"\xc2\x9b" not in shown  # CR and 8-bit CSI (UTF-8 encoded)
    text = shown.decode()
    if args[1] == "list":
        assert "AP-1\\x1b]0;pwned\\x07" in text
        assert "Tlalpan\\x1b[2J" in text
    else:
        assert "Tlalpan\\x1b[2J" in text


def test_a_table_cell_with_a_line_break_stays_on_its_row(capsys: pytest.CaptureFixture[str]):
    output.print_table(("id", "program"), [("AP-1", HOSTILE_PROGRAM), ("AP-2", "X")])
    lines = capsys.readouterr().out.splitlines()
    (row,) = [line for line in lines if "AP-1" in line]
    assert "Escuelas\\r\\x9b31mFORGED\\nrow" in row
    assert not any(line.lstrip("│ ").startswith("row") for line in lines)


def test_messages_keep_their_lines_but_not_escape_sequences(capsys: pytest.CaptureFixture[str]):
    output.message(f"skipped {HOSTILE_ID}: no profile\nsecond line")
    err = capsys.readouterr().err
    assert err == "skipped AP-1\\x1b]0;pwned\\x07: no profile\nsecond line\n"


def test_json_output_escapes_c1_and_del_too(capsys: pytest.CaptureFixture[str]):
    output.print_json({"program": HOSTILE_PROGRAM + "\x7f", "id": HOSTILE_ID})
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and "\x7f" not in out and "\r" not in out
    assert "\\u009b" in out and "\\u007f" in out and "\\u001b" in out
    assert json.loads(out) == {"program": HOSTILE_PROGRAM + "\x7f", "id": HOSTILE_ID}  # the same values


class _Captured:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def getvalue(self) -> str:
        return self.capsys.readouterr().err


@pytest.fixture
def log_stream(capsys: pytest.CaptureFixture[str]) -> Iterator[_Captured]:
    """What configure()'s handler writes to stderr (pytest's capture, set before the handler is made)."""
    yield _Captured(capsys)
    for handler in list(logging.getLogger().handlers):
        logging.getLogger().removeHandler(handler)


def test_a_zone_name_with_a_line_break_cannot_forge_a_text_log_line(log_stream: _Captured):
    """On 3854a6b the zone's line break started a second, forged log line."""
    configure(LogFormat.TEXT, "info")
    zone = "Sur\n2026-03-01 07:00:00 INFO    crew list sent to every zone"
    logging.getLogger("hotspotctl.test").info("zone %s: site %s offline", zone, f"S1{CLEAR}")
    lines = log_stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("zone Sur\\n2026-03-01 07:00:00 INFO    crew list sent to every zone: site "
                             "S1\\x1b[2J offline")


def test_a_traceback_in_a_text_log_keeps_its_lines_but_not_escapes(log_stream: _Captured):
    configure(LogFormat.TEXT, "info")
    try:
        raise ValueError(f"device said {TITLE}")
    except ValueError:
        logging.getLogger("hotspotctl.test").exception("poll failed")
    text = log_stream.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert "Traceback (most recent call last):\n" in text
    assert "ValueError: device said \\x1b]0;pwned\\x07" in text


def test_json_logs_are_one_line_with_c1_escaped(log_stream: _Captured):
    configure(LogFormat.JSON, "info")
    logging.getLogger("hotspotctl.test").info("zone %s", "Sur\n\x9bX")
    (line,) = log_stream.getvalue().splitlines()
    assert "\\u009b" in line and json.loads(line)["message"] == "zone Sur\n\x9bX"
