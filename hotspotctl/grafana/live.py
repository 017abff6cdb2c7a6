"""Running a dashboard's queries against the configured InfluxDB, expanded as Grafana would expand them.

``grafana check --live`` uses it after an install: for every variable and every panel query it reports
how many series and rows came back and whether each column the panel shows is there with at least one
value. A query that InfluxDB refuses, or that comes back empty, or without a column the panel needs,
is a panel that would say "No data" on the NOC's wall.

InfluxQL goes to ``/query`` (InfluxDB 1.x, and 2.x/3.x's v1-compatible endpoint): for ``influx.api = "v1"``
the database and, when set, the user and password as HTTP basic auth; for ``"v2"`` the same database
name (the DBRP mapping) and ``Authorization: Token``. Variables are chosen the way a fresh dashboard
does: All for a multi-value variable, the first option otherwise, unless ``given``.
"""

from __future__ import annotations

import base64
import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hotspotctl.errors import ConfigError, SinkError
from hotspotctl.grafana.dashboards import Dashboard, Query
from hotspotctl.grafana.templating import ALL, TimeRange, expand, format_interval
from hotspotctl.settings import InfluxSettings, mask_url


class InfluxQLError(Exception):
    """InfluxDB answered, and refused the statement (``results[0].error``)."""


class InfluxQL:
    """A minimal InfluxQL client for ``/query``: statements in, series out."""

    def __init__(self, influx: InfluxSettings, *, timeout_s: float = 30.0) -> None:
        if not influx.url:
            raise ConfigError("no InfluxDB configured: set influx.url (HOTSPOTCTL_INFLUX_URL); for 1.x also "
                              "HOTSPOTCTL_INFLUX_API=v1, for 2.x/3.x HOTSPOTCTL_INFLUX_TOKEN")
        self.influx = influx
        self.timeout_s = timeout_s
        self.endpoint = influx.url.rstrip("/") + "/query"
        self.where = f"InfluxDB {mask_url(influx.url)} (database {influx.database})"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "hotspotctl"}
        if self.influx.api == "v1":
            if self.influx.username:
                pair = f"{self.influx.username}:{self.influx.password}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif self.influx.token:
            headers["Authorization"] = f"Token {self.influx.token}"
        return headers

    def query(self, statement: str) -> list[dict[str, Any]]:
        """The statement's series ([{name, tags, columns, values}]); InfluxQLError if InfluxDB refuses it."""
        form = {"q": statement, "db": self.influx.database, "epoch": "ms"}
        if self.influx.api == "v1" and self.influx.retention_policy:
            form["rp"] = self.influx.retention_policy
        request = urllib.request.Request(self.endpoint, data=urllib.parse.urlencode(form).encode(), method="POST",
                                         headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                document = json.load(answer)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            try:
                message = json.loads(body).get("error") or body
            except ValueError:
                message = body
            if exc.code in (401, 403):
                fix = ("influx.username and HOTSPOTCTL_INFLUX_PASSWORD" if self.influx.api == "v1"
                       else "HOTSPOTCTL_INFLUX_TOKEN (a token that may read the bucket)")
                raise SinkError(f"{self.where} refused the credentials (HTTP {exc.code}: {message.strip()}); "
                                f"check {fix}") from None
            if exc.code == 400:
                raise InfluxQLError(message.strip()) from None
            raise SinkError(f"{self.where} answered HTTP {exc.code}: {message.strip()[:300]}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SinkError(f"cannot reach {self.where}: {reason}; is it running, and is influx.url right?"
                            ) from None
        except ValueError as exc:
            raise SinkError(f"{self.where} did not answer with JSON ({exc}); is influx.url an InfluxDB?") from None
        results = document.get("results") or [{}]
        first = results[0]
        if "error" in first:
            if str(first["error"]).startswith("database not found"):
                fix = ("influx.database (HOTSPOTCTL_INFLUX_DATABASE)" if self.influx.api == "v1" else
                       f"the DBRP mapping: influx v1 dbrp create --db {self.influx.database} ... (grafana/README.md)")
                raise ConfigError(f"{self.where}: {first['error']}; the dashboards read this database: check {fix}")
            raise InfluxQLError(first["error"])
        if document.get("error"):
            raise InfluxQLError(document["error"])
        return list(first.get("series") or [])


@dataclass(frozen=True)
class Outcome:
    """One query run: what came back, and what the panel needs that did not.

    ``error``: InfluxDB refused the query, or it names a field or tag the measurement does not have (a
    dashboard bug). ``no data``: it ran, but this selection and time range hold nothing for it (an AP with no
    clients has no delivered per-user figure): not a fault unless nothing at all comes back.
    """

    query: Query
    expanded: str
    series: int
    rows: int
    columns: tuple[str, ...]  # the result's columns (time left out), all series together
    missing: tuple[str, ...]  # columns (or table tags) the panel uses that came back absent or without a value
    error: str | None = None
    note: str | None = None  # why there are no rows, when more is known than "nothing for this selection"

    @property
    def ok(self) -> bool:
        return self.error is None and self.rows > 0 and not self.missing

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        return "ok" if self.ok else "no data"

    @property
    def detail(self) -> str:
        if self.error is not None:
            return self.error
        if self.rows == 0:
            return self.note or "no rows for this selection and time range"
        return f"no value in {', '.join(self.missing)} for this selection and time range" if self.missing else ""

    def to_json(self) -> dict[str, Any]:
        return {"dashboard": self.query.dashboard, "panel_id": self.query.panel_id, "title": self.query.title,
                "ref": self.query.ref, "kind": self.query.kind, "status": self.status, "detail": self.detail,
                "series": self.series, "rows": self.rows, "columns": list(self.columns),
                "expected": list(self.query.columns), "missing": list(self.missing), "query": self.expanded}


def assess(query: Query, series: Sequence[Mapping[str, Any]], expanded: str = "") -> Outcome:
    """What the result holds against what the panel uses: each named column (with a value), each table tag."""
    columns: list[str] = []
    with_value: set[str] = set()
    tags: set[str] = set()
    rows = 0
    for one in series:
        names = list(one.get("columns") or [])
        values = list(one.get("values") or [])
        rows += len(values)
        tags.update((one.get("tags") or {}).keys())
        for i, name in enumerate(names):
            if name != "time" and name not in columns:
                columns.append(name)
            if any(row[i] is not None for row in values if i < len(row)):
                with_value.add(name)
    missing = [c for c in query.columns if c not in with_value]
    missing += [t for t in query.tags if t not in tags]
    return Outcome(query, expanded or query.text, len(series), rows, tuple(columns), tuple(missing))


def _value_column(series: Sequence[Mapping[str, Any]]) -> list[str]:
    """The options a variable query gives: its "value" column (SHOW TAG VALUES), else the first non-time one."""
    found: list[str] = []
    for one in series:
        names = list(one.get("columns") or [])
        index = names.index("value") if "value" in names else next(
            (i for i, n in enumerate(names) if n != "time"), None)
        if index is None:
            continue
        for row in one.get("values") or []:
            value = str(row[index])
            if value not in found:
                found.append(value)
    return found


@dataclass(frozen=True)
class LiveCheck:
    """A dashboard's queries run for real, and the variable values they were run with."""

    dashboard: Dashboard
    values: dict[str, str | list[str]]
    outcomes: list[Outcome]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "error"]

    @property
    def empty(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "no data"]


# Measurements hotspotctl writes only for some APs: a database without one is not the wrong database, and a
# panel reading it has no data (reported as such), rather than a failing query.
OPTIONAL_MEASUREMENTS = {
    "ap_radio": "hotspotctl writes it only for APs whose radios it reads (a profile's radio table, a controller's "
                "radio table, or IF-MIB radio interfaces)",
    "ap_ping": "hotspotctl writes it for the APs it pings (ping.enabled, an AP with a management address)",
    "outages": "hotspotctl run writes it once an outage has been open (open outages by cause, district and zone)",
    "poller_cluster": "a cluster's leader (hotspotctl run --distributed) writes it, once per slot; hotspotctl run on "
                      "one box never does",
}
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)+)"')
_MEASUREMENT = re.compile(r'\bFROM\s+"((?:[^"\\]|\\.)+)"', re.IGNORECASE)
_ALIAS = re.compile(r'\bAS\s+"((?:[^"\\]|\\.)+)"', re.IGNORECASE)


class Schema:
    """Which fields and tags each measurement has (SHOW FIELD KEYS / SHOW TAG KEYS), asked once per measurement."""

    def __init__(self, client: InfluxQL) -> None:
        self.client = client
        self._names: dict[str, set[str] | None] = {}

    def names(self, measurement: str) -> set[str] | None:
        """Field and tag keys; an empty set when the measurement holds nothing; None when InfluxDB will not say."""
        if measurement not in self._names:
            quoted = '"' + measurement.replace('"', '\\"') + '"'
            try:
                fields = self.client.query(f"SHOW FIELD KEYS FROM {quoted}")
                tags = self.client.query(f"SHOW TAG KEYS FROM {quoted}")
            except InfluxQLError:
                self._names[measurement] = None
            else:
                self._names[measurement] = {row[0] for s in (*fields, *tags) for row in s.get("values") or []}
        return self._names[measurement]

    def absent_optional(self, text: str) -> str | None:
        """Why a query has no rows when it reads an optional measurement the database has no points of, else None."""
        for measurement in dict.fromkeys(_MEASUREMENT.findall(text)):
            if measurement in OPTIONAL_MEASUREMENTS and self.names(measurement) == set():
                return (f"no {measurement!r} points in database {self.client.influx.database!r}: "
                        f"{OPTIONAL_MEASUREMENTS[measurement]}")
        return None

    def unknown(self, text: str) -> str | None:
        """What a query names that its measurements lack: a misspelt field or tag, or a measurement with no data
        (but an optional one: ``absent_optional``)."""
        measurements = list(dict.fromkeys(_MEASUREMENT.findall(text)))
        known: set[str] = set(measurements) | set(_ALIAS.findall(text)) | {"time"}
        for measurement in measurements:
            names = self.names(measurement)
            if names is None or (not names and measurement in OPTIONAL_MEASUREMENTS):
                return None  # no schema to compare with (or nothing written yet where that is normal): say nothing
            if not names:
                return f"no measurement {measurement!r} in database {self.client.influx.database!r}: is it the " \
                       "database (or DBRP mapping) hotspotctl writes to?"
            known |= names
        strange = [name for name in dict.fromkeys(_QUOTED.findall(text)) if name not in known]
        if strange:
            where = ", ".join(repr(m) for m in measurements)
            return f"{', '.join(repr(n) for n in strange)}: not a field or tag of {where}"
        return None


def run_dashboard(dashboard: Dashboard, client: InfluxQL, *, time_range: TimeRange | None = None,
                  interval: timedelta = timedelta(minutes=1), given: Mapping[str, str | Sequence[str]] | None = None,
                  now: datetime | None = None, schema: Schema | None = None) -> LiveCheck:
    """Every variable query (in order, each expanded with the choices before it), then every panel query."""
    time_range = time_range or TimeRange()
    now = now or datetime.now(UTC)
    given = given or {}
    schema = schema or Schema(client)
    variables = dashboard.variables()
    values: dict[str, str | list[str]] = {}
    options: dict[str, list[str]] = {}
    outcomes: list[Outcome] = []

    def run(query: Query) -> tuple[Outcome, list[dict[str, Any]]]:
        text = expand(query.text, values, variables=variables, options=options, time_range=time_range,
                      interval=interval, now=now)
        try:
            series = client.query(text)
        except InfluxQLError as exc:
            return Outcome(query, text, 0, 0, (), query.columns, error=f"InfluxDB refused it: {exc}"), []
        outcome = assess(query, series, text)
        if not outcome.ok:
            unknown = schema.unknown(text)
            if unknown is not None:
                outcome = replace(outcome, error=unknown)
            elif outcome.rows == 0:
                outcome = replace(outcome, note=schema.absent_optional(text))
        return outcome, series

    by_name = {v.name: v for v in variables}
    queries = dashboard.queries()
    for query in (q for q in queries if q.kind == "variable"):
        outcome, series = run(query)
        outcomes.append(outcome)
        variable = by_name[query.ref]
        options[variable.name] = _value_column(series)
        if variable.name in given:
            chosen = given[variable.name]
            picked = [chosen] if isinstance(chosen, str) else list(chosen)
            # a multi-value variable holds a list (even of one); a single-value one a text, as Grafana keeps them
            values[variable.name] = picked if variable.multi or len(picked) != 1 else picked[0]
        elif variable.multi or variable.include_all:
            values[variable.name] = ALL
        elif options[variable.name]:
            values[variable.name] = options[variable.name][0]
    for query in (q for q in queries if q.kind == "panel"):
        outcomes.append(run(query)[0])
    return LiveCheck(dashboard, values, outcomes)


MAX_DATA_POINTS = 1000  # what Grafana asks a panel for, about one point per pixel


@dataclass(frozen=True)
class LiveReport:
    """Every dashboard's queries run against one InfluxDB: ``grafana check --live``."""

    where: str  # the InfluxDB, no secrets
    interval: timedelta  # $__interval as Grafana would pick it for the range
    checks: list[LiveCheck]

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for c in self.checks for o in c.outcomes]

    @property
    def errors(self) -> list[Outcome]:
        return [o for c in self.checks for o in c.errors]

    @property
    def empty(self) -> list[Outcome]:
        return [o for c in self.checks for o in c.empty]

    @property
    def nothing(self) -> bool:
        """No panel got any data."""
        return not any(o.ok for o in self.outcomes if o.query.kind == "panel")

    @property
    def ok(self) -> bool:
        return not self.errors and not self.nothing

    def to_json(self, range_text: str) -> dict[str, Any]:
        return {"influxdb": self.where, "range": range_text, "interval": format_interval(self.interval),
                "dashboards": [{"uid": c.dashboard.uid, "values": c.values,
                                "queries": [o.to_json() for o in c.outcomes]} for c in self.checks]}


def check_live(dashboards: Sequence[Dashboard], settings: InfluxSettings, *, time_range: TimeRange,
               min_interval_s: float, given: Mapping[str, str | Sequence[str]] | None = None,
               now: datetime | None = None) -> LiveReport:
    """Run every dashboard's queries against the InfluxDB of ``settings``; $__interval is the range over
    ``MAX_DATA_POINTS``, never below ``min_interval_s`` (the poll interval: finer has no data)."""
    client = InfluxQL(settings)
    now = now or datetime.now(UTC)
    span_s = (now.timestamp() * 1000 - time_range.epoch_ms(time_range.start, now)) / 1000
    interval = timedelta(seconds=max(min_interval_s, math.ceil(span_s / MAX_DATA_POINTS)))
    schema = Schema(client)
    checks = [run_dashboard(d, client, time_range=time_range, interval=interval, given=given, now=now,
                            schema=schema) for d in dashboards]
    return LiveReport(client.where, interval, checks)
