"""What Grafana does to an InfluxQL query before it sends it, so the tests and ``grafana check --live`` run it too.

Grafana 10/11, InfluxDB data source, InfluxQL (``datasource.ts``'s ``interpolateQueryExpr`` and the
backend's ``models/query.go``):

=====================  =========================================================================================
``$timeFilter``        ``time >= now() - 6h and time <= now()`` for a relative range (``now-6h`` .. ``now``),
                       ``time >= 1700000000000ms and time <= 1700021600000ms`` for an absolute one (the
                       data source's form; its backend sends panels the range in ms: the same points)
``$__interval``        the panel's interval as the backend formats it: the largest whole unit (y, d, h, m, s,
``$interval``          ms), truncated: 90 s is ``1m``, 10 s is ``10s``
``$__interval_ms``     the interval in milliseconds
``$__from $__to``      the range's ends, epoch milliseconds
``$name ${name}``      a template variable. No format given: a value that starts like a number (JavaScript's
``[[name]]``           parseFloat) stays as is; a multi-value variable is regex-escaped, and a list of values
                       becomes ``(a|b)`` (parentheses even around one); a single-value variable is escaped
                       only if the query uses it inside a ``=~ /.../`` or ``!~ /.../`` literal. The All value
                       is the variable's custom ``allValue`` as written (``.*``), else every option, as a list.
``${name:fmt}``        an explicit format: regex, raw, pipe, csv, singlequote, doublequote
=====================  =========================================================================================

So a tag is matched as ``"district" =~ /^$district$/``: ``Gustavo A. Madero`` arrives as
``/^Gustavo A\\. Madero$/``, and ``"district" = '$district'`` would compare with the escaped text and match
nothing (``grafana check`` reports it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hotspotctl.grafana.influxql import escape_regex, regex_literals

ALL = "$__all"  # the value Grafana stores when "All" is selected
BUILTINS = ("timeFilter", "__interval", "interval", "__interval_ms", "__from", "__to")
FORMATS = ("regex", "raw", "pipe", "csv", "singlequote", "doublequote")
# Grafana's variableRegex: $name | [[name]] | [[name:format]] | ${name} | ${name.path} | ${name:format}
VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}", re.ASCII)
_NUMBER_START = re.compile(r"\s*[+-]?(?:Infinity|\d|\.\d)")  # JavaScript: !isNaN(parseFloat(value))
_RELATIVE = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class Variable:
    """A dashboard's template variable, as far as expanding a query needs it (and ``check`` reads it)."""

    name: str
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None  # Grafana's "Custom all value"; None: All means every option
    query: str = ""
    label: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    """One variable reference in a query: ``$district``, ``${program:csv}``, ``[[ap]]``."""

    name: str
    format: str | None
    text: str
    start: int


@dataclass(frozen=True, slots=True)
class TimeRange:
    """The dashboard's time picker: ``now``, ``now-6h`` (``s m h d w``), or an aware datetime at either end."""

    start: str | datetime = "now-6h"
    end: str | datetime = "now"

    @classmethod
    def last(cls, duration: str) -> TimeRange:
        """``TimeRange.last("6h")``: from six hours ago to now."""
        return cls(f"now-{duration}", "now")

    def __post_init__(self) -> None:
        for end in (self.start, self.end):
            if isinstance(end, datetime):
                if end.tzinfo is None:
                    raise ValueError(f"{end!r}: give an aware datetime (UTC), not a naive one")
            elif not _RELATIVE.match(end):
                raise ValueError(f"{end!r}: a time range end is 'now', 'now-<n><s|m|h|d|w>' or a datetime")

    def epoch_ms(self, end: str | datetime, now: datetime) -> int:
        if isinstance(end, datetime):
            return int(end.timestamp() * 1000)
        match = _RELATIVE.match(end)
        assert match is not None  # checked in __post_init__
        back = int(match.group(1)) * _UNIT_S[match.group(2)] if match.group(1) else 0
        return int((now.timestamp() - back) * 1000)

    def influx_time(self, end: str | datetime, now: datetime) -> str:
        """``now()``, ``now() - 6h``, or ``<epoch>ms`` as the data source writes them (``getInfluxTime``)."""
        if isinstance(end, str):
            match = _RELATIVE.match(end)
            if match and not match.group(1):
                return "now()"
            if match and match.group(2) != "w":
                return f"now() - {match.group(1)}{match.group(2)}"
        return f"{self.epoch_ms(end, now)}ms"

    def time_filter(self, now: datetime) -> str:
        return f"time >= {self.influx_time(self.start, now)} and time <= {self.influx_time(self.end, now)}"


def format_interval(interval: timedelta) -> str:
    """An interval as Grafana's backend writes it (gtime.FormatInterval): 1y, 2d, 1h, 1m, 10s, 500ms."""
    ms = int(interval / timedelta(milliseconds=1))
    for unit, size in (("y", 365 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000),
                       ("s", 1000), ("ms", 1)):
        if ms >= size:
            return f"{ms // size}{unit}"
    return "1ms"


def usages(query: str) -> list[Usage]:
    """Every variable reference in the query, built-ins included, in order."""
    found = []
    for m in VARIABLE.finditer(query):
        name = m.group(1) or m.group(2) or m.group(4)
        found.append(Usage(name, m.group(3) or m.group(6), m.group(0), m.start()))
    return found


def _starts_like_number(value: str) -> bool:
    return _NUMBER_START.match(value) is not None


def _used_in_regex(query: str, name: str) -> bool:
    """Whether ``$name`` appears inside a =~ /.../ literal (the data source's test, ``${name}`` not counted)."""
    return any(f"${name}" in literal for literal in regex_literals(query))


def _influx_default(value: str | list[str], variable: Variable, query: str) -> str:
    """``interpolateQueryExpr``: the InfluxDB data source's formatting when the query names no format."""
    if isinstance(value, str) and _starts_like_number(value):
        return value
    if variable.multi or _used_in_regex(query, variable.name):
        if isinstance(value, str):
            return escape_regex(value)
        return "(" + "|".join(escape_regex(v) for v in value) + ")"
    return value if isinstance(value, str) else ",".join(value)


def _formatted(value: str | list[str], fmt: str) -> str:
    values = [value] if isinstance(value, str) else value
    if fmt == "regex":
        if isinstance(value, str) or len(value) == 1:
            return escape_regex(values[0])
        return "(" + "|".join(escape_regex(v) for v in values) + ")"
    if fmt == "raw":
        return ",".join(values)
    if fmt == "pipe":
        return "|".join(values)
    if fmt == "csv":
        return ",".join(values)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")


def expand(query: str, values: Mapping[str, str | Sequence[str]] | None = None, *,
           variables: Iterable[Variable] = (), options: Mapping[str, Sequence[str]] | None = None,
           time_range: TimeRange | None = None, interval: timedelta = timedelta(minutes=1),
           now: datetime | None = None) -> str:
    """The query as Grafana sends it to InfluxDB (see the module docstring for each macro and format).

    ``values`` maps a variable name to its selection: one value, a list (a multi-value selection), or
    ``ALL``. ``variables`` are the dashboard's definitions (multi, include_all, all_value); a name in
    ``values`` without one is a plain single-value variable. ``options`` lists a variable's values, which
    ``ALL`` stands for when the variable has no custom all value. A reference to anything unknown is left
    as written, as Grafana leaves it; ``usages`` finds what is left.
    """
    values = values or {}
    options = options or {}
    defined = {v.name: v for v in variables}
    time_range = time_range or TimeRange()
    now = now or datetime.now(UTC)
    interval_text = format_interval(interval)
    builtin = {
        "timeFilter": time_range.time_filter(now),
        "__interval": interval_text,
        "interval": interval_text,
        "__interval_ms": str(int(interval / timedelta(milliseconds=1))),
        "__from": str(time_range.epoch_ms(time_range.start, now)),
        "__to": str(time_range.epoch_ms(time_range.end, now)),
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if name in builtin and name not in values:
            return builtin[name] if fmt in (None, "raw") else match.group(0)
        if name not in values:
            return match.group(0)
        variable = defined.get(name, Variable(name))
        selected = values[name]
        if selected == ALL or (not isinstance(selected, str) and list(selected) == [ALL]):
            if variable.all_value is not None:
                return variable.all_value  # a custom all value is never formatted
            if name not in options:
                raise ValueError(f"${name} is All, with no custom all value: pass its options to expand")
            selected = list(options[name])
        value: str | list[str] = selected if isinstance(selected, str) else list(selected)
        if fmt is None:
            return _influx_default(value, variable, query)
        return _formatted(value, fmt)

    return VARIABLE.sub(replace, query)
