"""Command output to figures: what an SSH profile's readings mean, as pure functions.

A reading is a command and how to read its output: a regular expression with named groups,
a TextFSM template (ntc-templates' own, by name, or a file of ours) with the template's Values
mapped to our names, or a pattern whose matching lines are counted. The figures are then
converted the same way for every vendor: an uptime given in seconds or as a duration
("2w3d4h5m6s", "1 week, 2 days, 3 hours, 4 minutes"), a link speed with its unit ("1Gbps",
"1000Mb/s", "1000000 Kbit"), counters with or without thousands separators.

No I/O but reading a template file once; no clock. textfsm and ntc-templates are imported here only.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PLACEHOLDERS = ("uplink", "radio")  # what a command may name: {uplink}, {radio}


class ParseError(ValueError):
    """The output did not have what the reading expects."""


@dataclass(frozen=True)
class Reading:
    """One command and how to read what it prints."""

    command: str
    regex: re.Pattern[str] | None = None  # named groups; MULTILINE
    textfsm: Path | None = None  # a TextFSM template
    fields: Mapping[str, str] = field(default_factory=dict)  # our name -> the template's Value
    count: re.Pattern[str] | None = None  # count the lines this matches

    def placeholders(self) -> set[str]:
        return set(re.findall(r"\{(\w+)\}", self.command))

    def rows(self, output: str) -> list[dict[str, str]]:
        """Every match (regex) or record (TextFSM), as {our name: text}."""
        if self.regex is not None:
            return [{k: v for k, v in m.groupdict().items() if v is not None} for m in self.regex.finditer(output)]
        if self.textfsm is not None:
            header, records = _run_template(self.textfsm, output)
            index = {name: header.index(value) for name, value in self.fields.items()}
            rows = []
            for record in records:
                row = {}
                for name, position in index.items():
                    cell = record[position]
                    if isinstance(cell, list):
                        cell = " ".join(cell)
                    if cell not in ("", None):
                        row[name] = str(cell)
                rows.append(row)
            return rows
        raise ParseError("a count reading has no rows")

    def value(self, output: str) -> str:
        """The first row's ``value``, or (a count reading) how many lines match."""
        if self.count is not None:
            return str(len(self.count.findall(output)))
        for row in self.rows(output):
            if "value" in row:
                return row["value"]
        raise ParseError(f"no value in its output: {excerpt(output)!r}")


@functools.lru_cache(maxsize=64)
def _template_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _run_template(path: Path, output: str) -> tuple[list[str], list[list[object]]]:
    import textfsm

    try:
        machine = textfsm.TextFSM(io.StringIO(_template_text(path)))  # one per parse: it keeps state
        records = machine.ParseText(output)
    except textfsm.TextFSMError as exc:
        raise ParseError(f"{path.name}: {exc}") from None
    return list(machine.header), records


def check_template(path: Path, values: Mapping[str, str]) -> str | None:
    """What is wrong with a template and the Values a reading maps, or None."""
    import textfsm

    try:
        header = textfsm.TextFSM(io.StringIO(_template_text(path))).header
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except textfsm.TextFSMTemplateError as exc:
        return f"{path.name} is not a valid TextFSM template: {exc}"
    missing = [value for value in values.values() if value not in header]
    if missing:
        return f"{path.name} has no Value {', '.join(missing)} (it has {', '.join(header)})"
    return None


def ntc_template(name: str) -> Path | None:
    """ntc-templates' template called ``name`` (without .textfsm), if the package has it."""
    try:
        import ntc_templates
    except ImportError:
        return None
    path = Path(ntc_templates.__file__).parent / "templates" / f"{name}.textfsm"
    return path if path.is_file() else None


def excerpt(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_DURATION_UNITS = {
    "y": 31_536_000.0, "year": 31_536_000.0, "years": 31_536_000.0,
    "w": 604_800.0, "week": 604_800.0, "weeks": 604_800.0,
    "d": 86_400.0, "day": 86_400.0, "days": 86_400.0,
    "h": 3_600.0, "hour": 3_600.0, "hours": 3_600.0, "hr": 3_600.0, "hrs": 3_600.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"(\d+):(\d{2}):(\d{2})(?:\.\d+)?$")


def seconds(text: str) -> float:
    """An uptime as seconds: "350735.47", "2w3d4h5m6s", "1d04:03:02", "1 week, 2 days, 3 hours, 4 minutes"."""
    value = text.strip().lower()
    if _NUMBER.match(value):
        return float(value)
    total = 0.0
    clock = _CLOCK.search(value)
    if clock:
        hours, minutes, secs = (int(part) for part in clock.groups())
        total += hours * 3600 + minutes * 60 + secs
        value = value[:clock.start()]
    rest = value
    for number, unit in _DURATION_PART.findall(value):
        if unit not in _DURATION_UNITS:
            raise ParseError(f"not a duration: {text!r} (unknown unit {unit!r})")
        total += float(number) * _DURATION_UNITS[unit]
    rest = _DURATION_PART.sub("", rest).replace(",", " ").replace(" and ", " ").strip()
    if rest or (not clock and not _DURATION_PART.search(value)):
        raise ParseError(f"not a duration: {text!r}")
    return total


_SPEED = re.compile(r"^([\d.,]+)\s*([kmgt]?)(?:bps|b/s|bit/s|bits/s|bit|b)?$")
_SPEED_FACTOR = {"": 1.0, "k": 1e-3, "m": 1.0, "g": 1e3, "t": 1e6}


def mbps(text: str) -> float | None:
    """A link speed in Mb/s: "1000" (Mb/s), "1Gbps", "100Mbps", "1000Mb/s", "1000000 Kbit"; None for unknown (-1)."""
    value = text.strip().lower()
    if value in ("-1", "unknown", "auto", ""):
        return None
    match = _SPEED.match(value)
    if not match:
        raise ParseError(f"not a link speed: {text!r}")
    speed = float(match.group(1).replace(",", "")) * _SPEED_FACTOR[match.group(2)]
    return speed if speed > 0 else None


def integer(text: str) -> int:
    """A counter or a count, with or without thousands separators ("1 234 567", "1,234,567")."""
    value = re.sub(r"[\s,_]", "", text)
    if not value.isdigit():
        raise ParseError(f"not a whole number: {text!r}")
    return int(value)
