"""Grafana alert rules for the NOC (unified alerting, file provisioning): the poller's health and the fleet's.

``render_rules(interval_s)`` writes the provisioning file (``apiVersion: 1``, one rule group per concern,
folder ``hotspotctl``); ``grafana export`` puts it at ``DIR/provisioning/alerting/hotspotctl.yaml`` for the
poll interval of the settings, and the repository ships it for the default interval (60 s) at
``grafana/provisioning/alerting/hotspotctl.yaml`` (a test keeps the two equal:
``python -m hotspotctl.grafana.alerting > grafana/provisioning/alerting/hotspotctl.yaml`` after a change).

Every rule is the same three steps Grafana's rule editor makes: A, an InfluxQL query over the rule's own
time window (``relativeTimeRange``; ``$timeFilter`` in the query is that window); B, a reduction of each
series to one number (``reduce``, mode ``dropNN``: empty values are ignored); C, a threshold on B, the
condition. ``evaluate(rule, series)`` applies B and C to a query's result the way Grafana does, so that the
tests can run each rule's query against a real InfluxDB and say whether it fires.

One-box and cluster alike: ``hotspotctl run`` writes one ``poller_cycle`` line per cycle, with no tags; in a cluster
each shard's cycle writes one, tagged ``host`` (its worker) and ``shard``, all of a slot's stamped at the slot, and
each with its worker's spool as that shard's cycle ended (docs/metrics.md). So a rule about a cycle's figures
folds each second's lines first (``GROUP BY time(1s)``: a one-box cycle's one line, a slot's shards' lines), and a
rule about a spool groups by ``host`` (one spool per worker; the one-box line's empty host is one group). A one-box
line's spool is the spool as the cycle found it, before its own batches; a shard's line also counts the batches
of its worker's other shards of the slot not flushed yet, so a worker's least in a slot (its first shard's view)
is what the slot found waiting. Summing
shards' lines as if each were a cycle made the spool rules wrong in a cluster: a worker's whole spool over one
shard's points fired "InfluxDB away" on a healthy cluster (7 and 8 "cycles" in two runs of
tests/scheduling/test_cluster_e2e.py), and the least spool over every worker's lines hid a worker whose spool
never drained.

``check_rules(document)`` checks a provisioning document's structure (what Grafana would refuse, or
accept and then never fire on): each rule's uid, title, condition naming one of its refIds, data queries
with a datasource and a relative time range, ``for`` as a duration, noDataState and execErrState values.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotspotctl.bundled import bundled_path
from hotspotctl.errors import ConfigError
from hotspotctl.grafana.dashboards import DATASOURCE_TYPE, DATASOURCE_UID, Problem
from hotspotctl.grafana.live import InfluxQL, InfluxQLError
from hotspotctl.grafana.templating import TimeRange, expand
from hotspotctl.yamlfile import read_yaml

FOLDER = "hotspotctl"
EXPRESSION_UID = "__expr__"
NO_DATA_STATES = ("NoData", "Alerting", "OK")
EXEC_ERROR_STATES = ("Error", "Alerting", "OK")
REDUCERS = ("last", "max", "min", "mean", "sum", "count")
EVALUATORS = {"gt": lambda v, t: v > t, "lt": lambda v, t: v < t}
SHIPPED_INTERVAL_S = 60.0  # schedule.interval_s's default: the shipped file is written for it
_DURATION = re.compile(r"^\d+[smhd]$")
_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")  # what Grafana accepts as a rule uid

# the defaults the rules are written with (the same in every city: a change is a change of this file)
AVAILABILITY_PCT = 95.0  # fleet availability below this fires
OPEN_OUTAGES = 20  # open outages (each a site's trouble, ledger-wide) above this fires


@dataclass(frozen=True)
class AlertRule:
    """One rule: its query (A), how each series is reduced (B) and the threshold on that (C)."""

    uid: str
    group: str  # the rule group: "poller" (hotspotctl itself) or "fleet" (the hotspots)
    title: str
    query: str  # InfluxQL with $timeFilter (the rule's window)
    window_s: int  # relativeTimeRange.from: how far back the query reads
    reducer: str
    op: str  # gt | lt
    threshold: float
    pending: str  # ``for``: how long the condition holds before the rule fires
    summary: str
    description: str
    severity: str = "warning"
    no_data: str = "OK"  # what an empty result means (NoData, Alerting, OK)
    exec_error: str = "Error"  # what a failed query means
    dashboard: str = "hotspotctl-poller"
    panel: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


def rules(interval_s: float = SHIPPED_INTERVAL_S) -> list[AlertRule]:
    """The rules for a poll interval of ``interval_s`` seconds (``schedule.interval_s``)."""
    interval = _seconds(interval_s)
    missing_window = max(3 * interval, 60)
    return [
        AlertRule(
            "hotspotctl-cycle-lag", "poller", "Poll cycles start late",
            'SELECT max("lag_s") AS "lag_s" FROM "poller_cycle" WHERE $timeFilter', 900, "max", "gt", float(interval),
            "5m", "A poll cycle started more than one interval ({{ $values.B.Value }} s) after it was due",
            "Cycles are overrunning their interval: the one before was still running when the next was due. "
            "Check the poller dashboard's cycle time and CPU; raise schedule.interval_s or scale out.",
            panel=5),
        AlertRule(
            "hotspotctl-cycles-missed", "poller", "Poll runs missed",
            'SELECT sum("missed") AS "missed" FROM "poller_cycle" WHERE $timeFilter', 900, "last", "gt", 0.0,
            "0s", "{{ $values.B.Value }} scheduled runs were skipped in the last 15 minutes: cycles overran",
            "A run is skipped when the cycle before it is still running (cycles never stack). Some APs are "
            "polled less often than the interval says.", panel=7),
        AlertRule(
            "hotspotctl-cycles-missing", "poller", "No poll cycle recorded",
            'SELECT count("duration_s") AS "cycles" FROM "poller_cycle" WHERE $timeFilter', missing_window, "last",
            "lt", 1.0, "0s",
            f"No poll cycle reached InfluxDB in the last {missing_window} s (3 intervals)",
            "hotspotctl run is stopped, its cycles fail, or its points do not reach InfluxDB (then they wait in "
            "its spool: `hotspotctl spool status`). `journalctl -u hotspotctl` says which.",
            severity="critical", no_data="Alerting", exec_error="Alerting", panel=6),
        AlertRule(
            "hotspotctl-spool-growing", "poller", "Spool not draining",
            # each spool's least (a cluster's workers each have one: their shards' lines carry it), the most of those
            'SELECT max("spool_points") AS "spool_points" FROM (SELECT min("spool_points") AS "spool_points" FROM '
            '"poller_cycle" WHERE $timeFilter GROUP BY "host")', 600, "last", "gt",
            0.0, "5m", "The spool held points at every cycle for 10 minutes (at least {{ $values.B.Value }})",
            "Each cycle's points go to the spool first and the flush sends them to InfluxDB within seconds; a "
            "spool that is never empty is not being drained (InfluxDB slow, refusing or away). In a cluster, one "
            "worker's spool (the poller_cycle lines' host).", panel=9),
        AlertRule(
            "hotspotctl-influxdb-away", "poller", "InfluxDB away: cycles waiting in the spool",
            # cycles' worth of points, not batches: a cycle of the city is a dozen batches, a small fleet's two. Per
            # second and host (a worker's spool: the module's docstring), what the cycle found waiting over the points
            # it wrote; "* 1.0": InfluxDB 1.x divides integer fields as integers (2.9 cycles read as 2)
            'SELECT max("cycles") AS "cycles" FROM (SELECT min("spool_points") * 1.0 / sum("points") AS "cycles" '
            'FROM "poller_cycle" WHERE $timeFilter GROUP BY time(1s), "host" fill(none))', 900, "last", "gt", 2.0, "0s",
            "Up to {{ $values.B.Value }} cycles' points waited in the spool at once: flushes to InfluxDB failed for "
            "3 cycles or more",
            "hotspotctl could not write to InfluxDB for a while (it keeps everything in its spool and sends it "
            "when InfluxDB is back: these points arrived late). Check InfluxDB and `hotspotctl spool status`.",
            severity="critical", exec_error="Alerting", panel=4),
        AlertRule(
            "hotspotctl-shards-missed", "poller", "Shards missed a slot",
            # a cluster's: a shard's cycle missing from a slot is its APs unpolled for that slot, as a missed run is
            # one-box; a one-box run never writes poller_cluster (no data: quiet)
            'SELECT sum("shards_missing") AS "shards_missing" FROM "poller_cluster" WHERE $timeFilter', 900, "last",
            "gt", 0.0, "0s",
            "{{ $values.B.Value }} shards' cycles were missing from their slots in the last 15 minutes: their APs were "
            "not polled then",
            "In a cluster, a shard with APs that no worker finished in its slot (its worker died or lost Redis or the "
            "store, its cycle failed, or the leader could not dispatch the slot) leaves its APs unpolled for that "
            "slot. `hotspotctl cluster status` lists the shards behind and the live workers.", panel=7),
        AlertRule(
            "hotspotctl-fleet-availability", "fleet", f"Fleet availability below {AVAILABILITY_PCT:g} %",
            'SELECT sum("up") / (sum("up") + sum("down")) * 100 AS "availability_pct" FROM (SELECT last("up") AS '
            '"up", last("down") AS "down" FROM "fleet_rollup" WHERE $timeFilter GROUP BY "district")', 600, "last",
            "lt", AVAILABILITY_PCT, "10m",
            "{{ $values.B.Value }} % of the APs answered the last cycle (below " + f"{AVAILABILITY_PCT:g} %)",
            "APs answering over APs answering or silent, each district's last cycle, summed (unmonitored and "
            "misconfigured APs aside). See the fleet dashboard's map and `hotspotctl outages list`.",
            severity="critical", dashboard="hotspotctl-fleet", panel=5),
        AlertRule(
            "hotspotctl-open-outages", "fleet", f"More than {OPEN_OUTAGES} outages open",
            'SELECT sum("open") AS "open" FROM (SELECT last("open") AS "open" FROM "outages" WHERE $timeFilter '
            'GROUP BY "cause", "district", "zone")', 900, "last", "gt", float(OPEN_OUTAGES), "5m",
            "{{ $values.B.Value }} outages are open (more than " + f"{OPEN_OUTAGES})",
            "Each outage is a site's trouble in the ledger (site offline, APs offline, uplinks degraded, ...). "
            "The fleet dashboard shows them by cause and district; `hotspotctl outages list` lists them.",
            dashboard="hotspotctl-fleet", panel=11),
    ]


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def rule_model(rule: AlertRule, *, datasource_uid: str = DATASOURCE_UID, interval_s: float = SHIPPED_INTERVAL_S
               ) -> dict[str, Any]:
    """The rule as Grafana's provisioning file holds it."""
    expr = {"type": EXPRESSION_UID, "uid": EXPRESSION_UID}
    model: dict[str, Any] = {
        "uid": rule.uid, "title": rule.title, "condition": "C",
        "data": [
            {"refId": "A", "relativeTimeRange": {"from": rule.window_s, "to": 0}, "datasourceUid": datasource_uid,
             "model": {"refId": "A", "datasource": {"type": DATASOURCE_TYPE, "uid": datasource_uid},
                       "rawQuery": True, "resultFormat": "time_series", "query": rule.query,
                       "intervalMs": _seconds(interval_s) * 1000, "maxDataPoints": 43200}},
            {"refId": "B", "relativeTimeRange": {"from": 0, "to": 0}, "datasourceUid": EXPRESSION_UID,
             "model": {"refId": "B", "datasource": expr, "type": "reduce", "expression": "A",
                       "reducer": rule.reducer, "settings": {"mode": "dropNN"}}},
            {"refId": "C", "relativeTimeRange": {"from": 0, "to": 0}, "datasourceUid": EXPRESSION_UID,
             "model": {"refId": "C", "datasource": expr, "type": "threshold", "expression": "B",
                       "conditions": [{"evaluator": {"type": rule.op, "params": [rule.threshold]}}]}},
        ],
        "dashboardUid": rule.dashboard,
        "noDataState": rule.no_data, "execErrState": rule.exec_error, "for": rule.pending,
        "annotations": {"summary": rule.summary, "description": rule.description},
        "labels": {"service": "hotspotctl", "severity": rule.severity, **rule.labels},
        "isPaused": False,
    }
    if rule.panel is not None:
        model["panelId"] = rule.panel
    else:
        del model["dashboardUid"]
    return model


def rules_document(interval_s: float = SHIPPED_INTERVAL_S, *, datasource_uid: str = DATASOURCE_UID
                   ) -> dict[str, Any]:
    """The provisioning document: one group per concern, evaluated every poll interval (1 minute at least)."""
    every = _duration(max(60, _seconds(interval_s)))
    groups: dict[str, list[dict[str, Any]]] = {}
    for rule in rules(interval_s):
        groups.setdefault(rule.group, []).append(rule_model(rule, datasource_uid=datasource_uid,
                                                            interval_s=interval_s))
    return {"apiVersion": 1, "groups": [
        {"orgId": 1, "name": f"hotspotctl {name}", "folder": FOLDER, "interval": every, "rules": found}
        for name, found in groups.items()]}


HEADER = """\
# hotspotctl's alert rules for Grafana (unified alerting, file provisioning): the poller's health (cycles late,
# missed or missing, the spool not draining, InfluxDB away) and the fleet's (availability, open outages).
# Written by hotspotctl for a poll interval of {interval} s: `hotspotctl grafana export DIR` writes it for yours.
# Each rule: A an InfluxQL query over the rule's window, B reduces each series to a number, C the threshold.
# Route them with your contact points and notification policies (label service=hotspotctl).
"""


def render_rules(interval_s: float = SHIPPED_INTERVAL_S, *, datasource_uid: str = DATASOURCE_UID) -> str:
    """The provisioning file's text: block YAML, every scalar a JSON value (which YAML reads as the same)."""
    return HEADER.format(interval=f"{interval_s:g}") + _yaml(rules_document(interval_s,
                                                                             datasource_uid=datasource_uid), 0)


def _yaml(value: Any, indent: int) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                out.append(f"{pad}{key}:\n{_yaml(item, indent + 2)}")
            else:
                out.append(f"{pad}{key}: {_scalar(item)}\n")
        return "".join(out)
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict | list) and item:
                text = _yaml(item, indent + 2)
                out.append(f"{pad}- {text[indent + 2:]}")
            else:
                out.append(f"{pad}- {_scalar(item)}\n")
        return "".join(out)
    return f"{pad}{_scalar(value)}\n"


def _scalar(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False)


# -- checking a provisioning document ------------------------------------------------------------------------------


def check_rules(document: Any, file: str = "hotspotctl.yaml", *, datasource_uid: str = DATASOURCE_UID
                ) -> list[Problem]:
    """What Grafana would refuse in an alert rules document, or accept and then never fire on."""
    problems: list[Problem] = []

    def add(path: str, message: str) -> None:
        problems.append(Problem(file, path, message))

    if not isinstance(document, dict):
        return [Problem(file, "", "not a provisioning document: expected a mapping with apiVersion and groups")]
    if document.get("apiVersion") != 1:
        add("apiVersion", f"{document.get('apiVersion')!r}: expected 1")
    groups = document.get("groups")
    if not isinstance(groups, list) or not groups:
        add("groups", "expected a list of rule groups")
        return problems
    uids: dict[str, str] = {}
    for g, group in enumerate(groups):
        where = f"groups[{g}]"
        if not isinstance(group, dict):
            add(where, "expected a rule group (name, folder, interval, rules)")
            continue
        for key in ("name", "folder"):
            if not isinstance(group.get(key), str) or not group[key]:
                add(f"{where}.{key}", "missing: every rule group needs one")
        if not isinstance(group.get("interval"), str) or not _DURATION.match(group["interval"]):
            add(f"{where}.interval", f"{group.get('interval')!r}: expected a duration such as 1m")
        found = group.get("rules")
        if not isinstance(found, list) or not found:
            add(f"{where}.rules", "a rule group needs at least one rule")
            continue
        for r, rule in enumerate(found):
            problems.extend(_check_rule(rule, f"{where}.rules[{r}]", file, uids, datasource_uid))
    return problems


def _check_rule(rule: Any, where: str, file: str, uids: dict[str, str], datasource_uid: str) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: str, message: str) -> None:
        problems.append(Problem(file, f"{where}{path}", message))

    if not isinstance(rule, dict):
        return [Problem(file, where, "expected a rule")]
    uid = rule.get("uid")
    if not isinstance(uid, str) or not _UID.match(uid):
        add(".uid", f"{uid!r}: 1-40 letters, digits, '-' or '_'")
    elif uid in uids:
        add(".uid", f"{uid!r} is also the uid of {uids[uid]}")
    else:
        uids[uid] = where
    if not isinstance(rule.get("title"), str) or not rule["title"].strip():
        add(".title", "missing")
    for key, allowed in (("noDataState", NO_DATA_STATES), ("execErrState", EXEC_ERROR_STATES)):
        if rule.get(key) not in allowed:
            add(f".{key}", f"{rule.get(key)!r}: one of {', '.join(allowed)}")
    if not isinstance(rule.get("for"), str) or not _DURATION.match(rule["for"]):
        add(".for", f"{rule.get('for')!r}: expected a duration such as 5m (0s: at once)")
    annotations = rule.get("annotations")
    if not isinstance(annotations, dict) or not annotations.get("summary"):
        add(".annotations.summary", "missing: the notification's one line")
    labels = rule.get("labels")
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        add(".labels", "expected a mapping of names to text")
    data = rule.get("data")
    if not isinstance(data, list) or not data:
        add(".data", "no queries")
        return problems
    refs: dict[str, dict[str, Any]] = {}
    for d, item in enumerate(data):
        at = f".data[{d}]"
        if not isinstance(item, dict) or not isinstance(item.get("model"), dict):
            add(at, "expected refId, datasourceUid, relativeTimeRange and model")
            continue
        ref = item.get("refId")
        if not isinstance(ref, str) or not ref or ref in refs:
            add(f"{at}.refId", f"{ref!r}: each query needs its own refId")
            continue
        refs[ref] = item
        if item["model"].get("refId") != ref:
            add(f"{at}.model.refId", f"{item['model'].get('refId')!r}: must be {ref!r}, the query's refId")
        source = item.get("datasourceUid")
        window = item.get("relativeTimeRange")
        if source == EXPRESSION_UID:
            kind = item["model"].get("type")
            if kind not in ("reduce", "threshold", "math"):
                add(f"{at}.model.type", f"{kind!r}: an expression is reduce, threshold or math")
            expression = item["model"].get("expression")
            if kind in ("reduce", "threshold") and expression not in refs:
                add(f"{at}.model.expression", f"{expression!r} is not a refId before this one")
            if kind == "reduce" and item["model"].get("reducer") not in REDUCERS:
                add(f"{at}.model.reducer", f"{item['model'].get('reducer')!r}: one of {', '.join(REDUCERS)}")
            if kind == "threshold":
                conditions = item["model"].get("conditions")
                evaluator = (conditions[0].get("evaluator") if isinstance(conditions, list) and conditions
                             and isinstance(conditions[0], dict) else None)
                if (not isinstance(evaluator, dict) or evaluator.get("type") not in EVALUATORS
                        or not isinstance(evaluator.get("params"), list) or not evaluator["params"]):
                    add(f"{at}.model.conditions", f"expected [{{evaluator: {{type: {' or '.join(EVALUATORS)}, "
                                                  "params: [number]}}]")
            continue
        if source != datasource_uid:
            add(f"{at}.datasourceUid", f"{source!r} is not the provisioned datasource {datasource_uid!r}")
        if (not isinstance(window, dict) or not isinstance(window.get("from"), int) or window["from"] <= 0
                or window.get("to") != 0):
            add(f"{at}.relativeTimeRange", f"{window!r}: expected {{from: SECONDS, to: 0}}")
        query = item["model"].get("query")
        if not isinstance(query, str) or "$timeFilter" not in query or item["model"].get("rawQuery") is not True:
            add(f"{at}.model.query", "expected an InfluxQL query (rawQuery: true) with $timeFilter: the rule's window")
    if rule.get("condition") not in refs:
        add(".condition", f"{rule.get('condition')!r} is not one of the rule's refIds ({', '.join(refs) or 'none'})")
    return problems


# -- evaluating a rule on a query's result, as Grafana does -------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What Grafana's evaluation makes of a result: the state, and each series' reduced value (B)."""

    state: str  # Alerting | Normal | NoData (before ``for``: a rule with pending time first goes Pending)
    values: tuple[float, ...]

    @property
    def firing(self) -> bool:
        return self.state == "Alerting"


def _reduce(reducer: str, values: Sequence[float]) -> float | None:
    if not values:
        return None
    if reducer == "last":
        return values[-1]
    if reducer == "max":
        return max(values)
    if reducer == "min":
        return min(values)
    if reducer == "mean":
        return sum(values) / len(values)
    if reducer == "sum":
        return sum(values)
    return float(len(values))


def evaluate(rule: AlertRule, series: Sequence[Mapping[str, Any]]) -> Verdict:
    """B and C on A's result (InfluxDB's series): each series' numbers (non-null, the ``dropNN`` mode) reduced,
    then the threshold. No series, or none with a number, is NoData, and the rule's ``no_data`` says what that
    means (Alerting, or OK: Normal)."""
    reduced: list[float] = []
    for one in series:
        columns = list(one.get("columns") or [])
        for i, name in enumerate(columns):
            if name == "time":
                continue
            numbers = [float(row[i]) for row in one.get("values") or [] if i < len(row) and row[i] is not None]
            value = _reduce(rule.reducer, numbers)
            if value is not None:
                reduced.append(value)
    if not reduced:
        state = {"Alerting": "Alerting", "OK": "Normal"}.get(rule.no_data, "NoData")
        return Verdict(state, ())
    test = EVALUATORS[rule.op]
    return Verdict("Alerting" if any(test(v, rule.threshold) for v in reduced) else "Normal", tuple(reduced))


def shipped_rules_file() -> Path:
    """grafana/provisioning/alerting/hotspotctl.yaml, in a checkout or the installed wheel."""
    return bundled_path("grafana") / "provisioning" / "alerting" / "hotspotctl.yaml"


def check_rules_file(path: Path | None = None) -> tuple[list[str], list[Problem]]:
    """The rule uids of a provisioning file (default: the shipped one), and its problems."""
    path = shipped_rules_file() if path is None else Path(path)
    try:
        document = read_yaml(path, "alert rules")
    except ConfigError as exc:
        return [], [Problem(path.name, "", str(exc).removeprefix(f"{path.name}: "))]
    problems = check_rules(document, path.name)
    uids = [str(r.get("uid")) for g in document.get("groups") or [] if isinstance(g, dict)
            for r in g.get("rules") or [] if isinstance(r, dict)] if isinstance(document, dict) else []
    return uids, problems


@dataclass(frozen=True)
class RuleRun:
    """One rule's query run against InfluxDB now, and what Grafana would make of it."""

    rule: AlertRule
    query: str  # as run
    verdict: Verdict | None
    error: str | None = None

    @property
    def state(self) -> str:
        return "Error" if self.verdict is None else self.verdict.state

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.rule.uid, "title": self.rule.title, "state": self.state,
                "values": list(self.verdict.values) if self.verdict else [], "error": self.error,
                "query": self.query}


def run_rules(client: InfluxQL, found: Sequence[AlertRule], *, now: Any = None) -> list[RuleRun]:
    """Each rule's query over its own window, evaluated; a refused query is the rule's Error."""
    runs = []
    for rule in found:
        text = expand(rule.query, {}, variables=[], time_range=TimeRange.last(f"{rule.window_s}s"),
                      **({"now": now} if now is not None else {}))
        try:
            series = client.query(text)
        except InfluxQLError as exc:
            runs.append(RuleRun(rule, text, None, f"InfluxDB refused it: {exc}"))
            continue
        runs.append(RuleRun(rule, text, evaluate(rule, series)))
    return runs


if __name__ == "__main__":  # python -m hotspotctl.grafana.alerting > grafana/provisioning/alerting/hotspotctl.yaml
    sys.stdout.write(render_rules())
