"""The NOC's Grafana alert rules (grafana/provisioning/alerting/hotspotctl.yaml): their structure, and each rule's
query run against Debian's InfluxDB 1.x on points that make it fire and points that do not.

Each case writes poller_cycle, fleet_rollup or outages points (line protocol, seconds before now) into a database
of its own, expands the rule's query as Grafana's alerting does (``$timeFilter`` = the rule's relativeTimeRange),
runs it, and applies the rule's reduce (B) and threshold (C) steps (``alerting.evaluate``): the value B comes to
and the state are asserted.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotspotctl.grafana.alerting import (
    AlertRule,
    check_rules,
    check_rules_file,
    evaluate,
    render_rules,
    rule_model,
    rules,
    rules_document,
    run_rules,
)
from hotspotctl.grafana.dashboards import load_dashboards, shipped_dir
from hotspotctl.grafana.templating import TimeRange, expand, usages
from tests.servers import InfluxServer

SHIPPED = shipped_dir() / "provisioning" / "alerting" / "hotspotctl.yaml"
RULES = {rule.uid: rule for rule in rules()}


def test_the_shipped_file_is_what_hotspotctl_writes_and_passes_the_checks() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert text == render_rules(60.0)  # python -m hotspotctl.grafana.alerting > ... after changing the rules
    document = yaml.safe_load(text)
    assert check_rules(document) == []
    assert document == rules_document(60.0)
    assert document["apiVersion"] == 1
    assert [(g["name"], g["folder"], g["interval"], [r["uid"] for r in g["rules"]]) for g in document["groups"]] == [
        ("hotspotctl poller", "hotspotctl", "1m", ["hotspotctl-cycle-lag", "hotspotctl-cycles-missed",
                                                   "hotspotctl-cycles-missing", "hotspotctl-spool-growing",
                                                   "hotspotctl-influxdb-away", "hotspotctl-shards-missed"]),
        ("hotspotctl fleet", "hotspotctl", "1m", ["hotspotctl-fleet-availability", "hotspotctl-open-outages"])]


def test_every_rule_is_a_query_a_reduction_and_a_threshold() -> None:
    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    dashboards = {d.uid: {p["id"] for _, p in d.panels()} for d in load_dashboards()}
    for rule in (r for g in document["groups"] for r in g["rules"]):
        a, b, c = rule["data"]
        assert rule["condition"] == "C" and [a["refId"], b["refId"], c["refId"]] == ["A", "B", "C"]
        assert a["datasourceUid"] == "hotspotctl-influxdb" and a["model"]["rawQuery"] is True
        assert a["relativeTimeRange"]["from"] > 0 and a["relativeTimeRange"]["to"] == 0
        assert "$timeFilter" in a["model"]["query"] and " FROM \"" in a["model"]["query"]
        assert (b["datasourceUid"], b["model"]["type"], b["model"]["expression"]) == ("__expr__", "reduce", "A")
        assert (c["datasourceUid"], c["model"]["type"], c["model"]["expression"]) == ("__expr__", "threshold", "B")
        (condition,) = c["model"]["conditions"]
        assert condition["evaluator"]["type"] in ("gt", "lt") and len(condition["evaluator"]["params"]) == 1
        assert rule["labels"]["service"] == "hotspotctl" and rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert rule["panelId"] in dashboards[rule["dashboardUid"]]  # the panel the notification links to
        assert rule["noDataState"] in ("OK", "Alerting", "NoData")
    # only a missing cycle is an alert when the query has nothing: the others read nothing as nothing wrong
    assert {r.uid for r in rules() if r.no_data == "Alerting"} == {"hotspotctl-cycles-missing"}


def test_the_rules_follow_the_poll_interval() -> None:
    five = {rule.uid: rule for rule in rules(300.0)}
    assert five["hotspotctl-cycles-missing"].window_s == 900  # 3 intervals
    assert five["hotspotctl-cycle-lag"].threshold == 300.0
    assert RULES["hotspotctl-cycles-missing"].window_s == 180
    document = rules_document(300.0)
    assert {g["interval"] for g in document["groups"]} == {"5m"}
    assert check_rules(document) == []


def _broken(change: Any) -> list[str]:
    document = rules_document()
    change(document["groups"][0]["rules"][0])
    return [f"{p.path}: {p.message}" for p in check_rules(document)]


@pytest.mark.parametrize(("change", "expected"), [
    (lambda r: r.update(condition="D"), "groups[0].rules[0].condition: 'D' is not one of the rule's refIds (A, B, C)"),
    (lambda r: r.update({"for": "five minutes"}),
     "groups[0].rules[0].for: 'five minutes': expected a duration such as 5m (0s: at once)"),
    (lambda r: r.update(noDataState="Firing"), "groups[0].rules[0].noDataState: 'Firing': one of NoData, Alerting, OK"),
    (lambda r: r["data"][0].update(datasourceUid="other"),
     "groups[0].rules[0].data[0].datasourceUid: 'other' is not the provisioned datasource 'hotspotctl-influxdb'"),
    (lambda r: r["data"][0]["model"].update(query='SELECT max("lag_s") FROM "poller_cycle"'),
     "groups[0].rules[0].data[0].model.query: expected an InfluxQL query (rawQuery: true) with $timeFilter: the "
     "rule's window"),
    (lambda r: r["data"][1]["model"].update(expression="Z"),
     "groups[0].rules[0].data[1].model.expression: 'Z' is not a refId before this one"),
    (lambda r: r["data"][2]["model"]["conditions"][0]["evaluator"].update(type="above"),
     "groups[0].rules[0].data[2].model.conditions: expected [{evaluator: {type: gt or lt, params: [number]}}]"),
], ids=["condition", "for", "no-data", "datasource", "time-filter", "expression", "evaluator"])
def test_each_mistake_is_found(change: Any, expected: str) -> None:
    assert _broken(change) == [expected]


def test_two_rules_of_one_uid() -> None:
    document = rules_document()
    document["groups"][1]["rules"][0]["uid"] = document["groups"][0]["rules"][0]["uid"]
    assert [f"{p.path}: {p.message}" for p in check_rules(document)] == [
        "groups[1].rules[0].uid: 'hotspotctl-cycle-lag' is also the uid of groups[0].rules[0]"]


def test_not_a_document() -> None:
    assert [str(p) for p in check_rules(["x"], "a.yaml")] == [
        "a.yaml: not a provisioning document: expected a mapping with apiVersion and groups"]
    assert [str(p) for p in check_rules({"apiVersion": 2, "groups": []}, "a.yaml")] == [
        "a.yaml: apiVersion: 2: expected 1", "a.yaml: groups: expected a list of rule groups"]


def test_a_rule_model_without_a_panel_links_no_dashboard() -> None:
    rule = RULES["hotspotctl-cycle-lag"]
    model = rule_model(AlertRule(**{**rule.__dict__, "panel": None}))
    assert "dashboardUid" not in model and "panelId" not in model


# --- each rule's query on the real InfluxDB -------------------------------------------------------------------


def _cycles(now: int, field: str, values: list[float | int], *, every: int = 60, also: str = "") -> list[str]:
    """poller_cycle points, the last ``every`` s before now, oldest first; ints as line protocol ints; ``also``:
    more fields of every point (``points=500i``)."""
    first = now - every * len(values)
    more = f"{also}," if also else ""
    return [f"poller_cycle {field}={v}i,{more}duration_s=1.5 {first + (i + 1) * every - 5}" if isinstance(v, int) else
            f"poller_cycle {field}={v!r},{more}duration_s=1.5 {first + (i + 1) * every - 5}"
            for i, v in enumerate(values)]


def _slots(now: int, missing: list[int], *, every: int = 60) -> list[str]:
    """A cluster leader's poller_cluster points (5 shards with APs), the last ``every`` s before now, oldest first:
    ``missing`` shards did not report each slot."""
    first = now - every * len(missing)
    return [f"poller_cluster,host=lead shards=5i,shards_reported={5 - n}i,shards_missing={n}i,points=200i "
            f"{first + (i + 1) * every - 5}" for i, n in enumerate(missing)]


def _verdict(influxdb: InfluxServer, database: str, rule: AlertRule) -> tuple[str, tuple[float, ...]]:
    text = expand(rule.query, {}, variables=[], time_range=TimeRange.last(f"{rule.window_s}s"))
    assert usages(text) == [], text
    found = evaluate(rule, influxdb.query(text, database))
    return found.state, found.values


# rule -> (points that keep it quiet, what B comes to), (points that make it fire, what B comes to)
def _cases(now: int) -> dict[str, tuple[tuple[list[str], tuple[float, ...]], tuple[list[str], tuple[float, ...]]]]:
    """The cases, their points stamped relative to ``now``: taken as each test runs (the points of a case
    stamped at collection would be minutes old by the time a long run reaches it)."""
    NOW = now
    return {
        # one cycle 20 minutes ago (outside the 15-minute window) was very late: it does not count
        "hotspotctl-cycle-lag": (
            ([*_cycles(NOW - 1200, "lag_s", [500.0]), *_cycles(NOW, "lag_s", [0.01, 0.2, 0.05])], (0.2,)),
            (_cycles(NOW, "lag_s", [0.01, 75.0, 0.3]), (75.0,))),
        "hotspotctl-cycles-missed": (
            (_cycles(NOW, "missed", [0, 0, 0]), (0.0,)),
            (_cycles(NOW, "missed", [0, 2, 0, 1]), (3.0,))),
        # a cycle 30 s ago; against the last one 10 minutes ago (the window is 3 intervals, 180 s): nothing, which
        # this rule (only) takes as firing
        "hotspotctl-cycles-missing": (
            (_cycles(NOW, "lag_s", [0.1, 0.1], every=30), (2.0,)),
            (_cycles(NOW - 600, "lag_s", [0.1, 0.1]), ())),
        "hotspotctl-spool-growing": (
            (_cycles(NOW, "spool_points", [0, 1200, 0, 0]), (0.0,)),
            (_cycles(NOW, "spool_points", [1200, 2400, 3600, 4800]), (1200.0,))),
        # cycles' worth of points waiting (spool_points over a cycle's points), whatever the batches: two cycles of
        # 500 points (a dozen batches of the city would be a cycle, two batches of a small fleet too) are quiet
        "hotspotctl-influxdb-away": (
            (_cycles(NOW, "spool_points", [0, 500, 0, 1000], also="points=500i,spool_batches=24i"), (2.0,)),
            (_cycles(NOW, "spool_points", [500, 1000, 1500, 2000, 0], also="points=500i"), (4.0,))),
        # a cluster's slots (the leader's poller_cluster): every shard reported, then a dead worker's 3 shards and a
        # slot the leader could not dispatch (its 5 shards) missing
        "hotspotctl-shards-missed": (
            (_slots(NOW, [0, 0, 0]), (0.0,)),
            (_slots(NOW, [0, 3, 0, 5, 0]), (8.0,))),
        # each district's last cycle: Tlalpan was at 50 % earlier (not its last) and Iztapalapa is at 95 %, so
        # 195 of 200 answer (97.5 %); then Iztapalapa at 80 %: 180 of 200 (90 %)
        "hotspotctl-fleet-availability": (
            ([f"fleet_rollup,district=Tlalpan aps=100i,up=50i,down=50i {NOW - 240}",
              f"fleet_rollup,district=Tlalpan aps=100i,up=100i,down=0i {NOW - 60}",
              f"fleet_rollup,district=Iztapalapa aps=100i,up=95i,down=5i {NOW - 60}"], (97.5,)),
            ([f"fleet_rollup,district=Tlalpan aps=100i,up=100i,down=0i {NOW - 60}",
              f"fleet_rollup,district=Iztapalapa aps=110i,up=80i,down=20i,unmonitored=10i {NOW - 60}"], (90.0,))),
        # 20 open is not more than 20 (a group that closed says 0 last); 21 is
        "hotspotctl-open-outages": (
            ([f"outages,cause=offline,district=Tlalpan,zone=sur open=12i {NOW - 60}",
              f"outages,cause=site_offline,district=Tlalpan,zone=sur open=8i {NOW - 60}",
              f"outages,cause=offline,district=Iztapalapa,zone=oriente open=30i {NOW - 180}",
              f"outages,cause=offline,district=Iztapalapa,zone=oriente open=0i {NOW - 120}"], (20.0,)),
            ([f"outages,cause=offline,district=Tlalpan,zone=sur open=12i {NOW - 60}",
              f"outages,cause=site_offline,district=Tlalpan,zone=sur open=8i {NOW - 60}",
              f"outages,cause=uplink_degraded,district=Iztapalapa,zone=oriente open=1i {NOW - 60}"], (21.0,))),
    }


CASES = _cases(0)  # the rules' ids, for parametrize; each test stamps its points as it runs


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("uid", sorted(CASES))
def test_the_rule_stays_quiet_on_a_healthy_run(influxdb: InfluxServer, database: str, uid: str) -> None:
    (lines, value), _ = _cases(int(time.time()))[uid]
    influxdb.write(database, lines)
    assert _verdict(influxdb, database, RULES[uid]) == ("Normal", value)


@pytest.mark.parametrize("uid", sorted(CASES))
def test_the_rule_fires_on_what_it_is_about(influxdb: InfluxServer, database: str, uid: str) -> None:
    _, (lines, value) = _cases(int(time.time()))[uid]
    influxdb.write(database, lines)
    assert _verdict(influxdb, database, RULES[uid]) == ("Alerting", value)


# --- a cluster's lines: one per shard's cycle, tagged host and shard, a slot's all at the slot -----------------


def _shards(now: int, slots: list[dict[str, list[tuple[int, int]]]], *, every: int = 60) -> list[str]:
    """A cluster's poller_cycle lines (``ShardRunner``'s): ``slots`` oldest first, each {worker: (points,
    spool_points) of its shards' cycles, in the order they ended}, every line of a slot stamped at the slot. A
    shard's spool_points is its worker's whole spool as its cycle ended, the other shards' batches not flushed yet
    included."""
    first = now - every * len(slots)
    lines = []
    for i, slot in enumerate(slots):
        shard = itertools.count()
        for host, cycles in slot.items():
            lines += [f"poller_cycle,host={host},shard={next(shard)} points={points}i,spool_points={waiting}i,"
                      f"duration_s=0.7,lag_s=0.1,missed=0i {first + (i + 1) * every - 5}" for points, waiting in cycles]
    return lines


# w1 polls a big shard and two small ones, w2 two; each shard's line sees the batches of its worker's shards that
# ended before it, not flushed yet (420 and 270 points a slot)
HEALTHY_SLOT = {"w1": [(300, 0), (60, 300), (60, 360)], "w2": [(130, 0), (140, 130)]}
CLUSTER_CASES = {
    # each slot finds nothing waiting: 0 cycles (one line's 360 points, w1's other shards' batches of the slot, over
    # its own 60 points was "6 cycles" and fired); w1's flushes failing from the second slot, its fourth slot finds
    # the three before it waiting, 1,260 points: 3 of its cycles (its third, 840: 2, not more than 2)
    "hotspotctl-influxdb-away": (
        (_shards, [HEALTHY_SLOT] * 3, (0.0,)),
        (_shards, [HEALTHY_SLOT, {**HEALTHY_SLOT, "w1": [(300, 420), (60, 720), (60, 780)]},
                   {**HEALTHY_SLOT, "w1": [(300, 840), (60, 1140), (60, 1200)]},
                   {**HEALTHY_SLOT, "w1": [(300, 1260), (60, 1560), (60, 1620)]}], (3.0,))),
    # w1's spool never empties (500 points always waiting) while w2's does: the least over every worker's lines was
    # w2's 0, and quiet
    "hotspotctl-spool-growing": (
        (_shards, [HEALTHY_SLOT] * 4, (0.0,)),
        (_shards, [{**HEALTHY_SLOT, "w1": [(300, 500), (60, 800), (60, 860)]}] * 4, (500.0,))),
}


@pytest.mark.parametrize("uid", sorted(CLUSTER_CASES))
def test_on_a_clusters_shard_lines_the_spool_rule_reads_each_workers_spool(influxdb: InfluxServer, database: str,
                                                                        uid: str) -> None:
    (make, quiet, quiet_value), (_, firing, firing_value) = CLUSTER_CASES[uid]
    influxdb.write(database, make(int(time.time()), quiet))
    assert _verdict(influxdb, database, RULES[uid]) == ("Normal", quiet_value)
    influxdb.query('DROP SERIES FROM "poller_cycle"', database)
    influxdb.write(database, make(int(time.time()), firing))
    assert _verdict(influxdb, database, RULES[uid]) == ("Alerting", firing_value)


def test_an_empty_database_fires_only_the_missing_cycles_rule(influxdb: InfluxServer, database: str) -> None:
    states = {uid: _verdict(influxdb, database, rule)[0] for uid, rule in RULES.items()}
    assert states == {uid: "Alerting" if uid == "hotspotctl-cycles-missing" else "Normal" for uid in RULES}


def test_the_shipped_path_is_in_the_repository() -> None:
    assert SHIPPED.is_file() and SHIPPED.relative_to(Path(shipped_dir())).parts == (
        "provisioning", "alerting", "hotspotctl.yaml")


# --- on the simulated run: what the run writes ---------------------------------------------------------------


def test_on_a_simulated_run_the_poller_rules_are_quiet_and_the_fleet_rules_say_what_the_run_saw(simulated_influx
                                                                                                 ) -> None:
    run = simulated_influx
    verdicts = {uid: evaluate(rule, run.query(expand(rule.query, {}, variables=[],
                                                     time_range=TimeRange.last(f"{rule.window_s}s"))))
                for uid, rule in RULES.items()}
    # three cycles two seconds apart, on time, the spool replayed at once
    for uid in ("hotspotctl-cycle-lag", "hotspotctl-cycles-missed", "hotspotctl-cycles-missing",
                "hotspotctl-spool-growing", "hotspotctl-influxdb-away", "hotspotctl-shards-missed"):
        assert verdicts[uid].state == "Normal", (uid, verdicts[uid])
    assert verdicts["hotspotctl-shards-missed"].values == ()  # one-box: no poller_cluster, nothing to say
    assert verdicts["hotspotctl-cycles-missing"].values == (3.0,)
    # the last cycle's APs: answering over answering or silent (the simulation's failures are all silent)
    answered = sum(1 for o in run.outcomes if o.error is None)
    assert all(o.error is None or o.error.kind in ("timeout", "backoff") for o in run.outcomes)
    (availability,) = verdicts["hotspotctl-fleet-availability"].values
    assert availability == pytest.approx(100.0 * answered / len(run.outcomes))
    assert verdicts["hotspotctl-fleet-availability"].state == ("Alerting" if availability < 95 else "Normal")
    # the outages the ledger has open after the last cycle, as the run wrote them
    assert run.open_outages > 0
    assert verdicts["hotspotctl-open-outages"].values == (float(run.open_outages),)
    assert verdicts["hotspotctl-open-outages"].state == ("Alerting" if run.open_outages > 20 else "Normal")


def test_a_rules_file_that_is_not_yaml_is_one_problem(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("apiVersion: 1\ngroups: [\n")
    uids, problems = check_rules_file(bad)
    assert uids == [] and len(problems) == 1
    assert problems[0].file == "rules.yaml" and problems[0].message.startswith("not valid YAML (line 3, column 1)")
    assert check_rules_file() == ([r.uid for r in rules()], [])


def test_run_rules_reports_a_refused_query_as_the_rules_error(influxdb: InfluxServer, database: str) -> None:
    from hotspotctl.grafana.live import InfluxQL
    from hotspotctl.settings import InfluxSettings

    client = InfluxQL(InfluxSettings(url=influxdb.url, api="v1", database=database))
    broken = AlertRule(**{**RULES["hotspotctl-cycle-lag"].__dict__, "query": 'SELECT max("lag_s" FROM "poller_cycle" '
                                                                              "WHERE $timeFilter"})
    influxdb.write(database, _cycles(int(time.time()), "lag_s", [0.5, 90.0]))
    runs = run_rules(client, [RULES["hotspotctl-cycle-lag"], broken])
    assert [(r.state, r.verdict.values if r.verdict else None) for r in runs] == [("Alerting", (90.0,)),
                                                                                   ("Error", None)]
    assert runs[1].error is not None and runs[1].error.startswith("InfluxDB refused it: ")
    assert runs[0].to_json()["values"] == [90.0] and "now() - 900s" in runs[0].query
