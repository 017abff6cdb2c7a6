"""grafana check: the shipped dashboards pass, and each kind of problem is found in a broken copy."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.errors import InputError
from hotspotctl.grafana.dashboards import (
    DATASOURCE_UID,
    Problem,
    check,
    check_folder,
    load_dashboards,
    read_dashboard,
    shipped_dashboards_dir,
)
from tests.conftest import REPO

UIDS = ["hotspotctl-district", "hotspotctl-fleet", "hotspotctl-hotspot", "hotspotctl-poller", "hotspotctl-rf"]


def test_the_shipped_dashboards_pass_every_check() -> None:
    assert shipped_dashboards_dir() == REPO / "grafana" / "dashboards"
    dashboards, problems = check_folder()
    assert problems == []
    assert [d.uid for d in dashboards] == UIDS
    assert [d.file for d in dashboards] == ["district.json", "fleet.json", "hotspot.json", "poller.json", "rf.json"]
    assert [[v.name for v in d.variables()] for d in dashboards] == [
        ["district", "program"], [], ["district", "program", "ap"], [], ["district", "program"]]
    program = dashboards[0].variables()[1]
    assert (program.label, program.multi, program.include_all, program.all_value) == ("Programme", True, True, ".*")
    ap = dashboards[2].variables()[2]
    assert (ap.multi, ap.include_all, ap.query) == (
        False, False, 'SHOW TAG VALUES FROM "ap_status" WITH KEY = "ap" WHERE "district" =~ /^$district$/ AND '
                      '"program" =~ /^$program$/')
    # hotspot: a row of 7 radio panels and a row of 4 ping panels; fleet: a row of 8 outage and ping panels
    assert [sum(1 for _ in d.panels()) for d in dashboards] == [10, 18, 23, 9, 10]
    assert [len(d.queries()) for d in dashboards] == [12, 18, 26, 12, 12]
    for dashboard in dashboards:
        for _, panel in dashboard.panels():
            if panel["type"] == "row":  # a heading: no query, no datasource
                assert "targets" not in panel and "datasource" not in panel
                continue
            assert panel["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
            assert all(t["rawQuery"] is True for t in panel["targets"])


def test_the_geomap_places_aps_by_their_geohash_tag_and_colours_them_by_up() -> None:
    fleet = read_dashboard(shipped_dashboards_dir() / "fleet.json")
    (geomap,) = [p for _, p in fleet.panels() if p["type"] == "geomap"]
    layer = geomap["options"]["layers"][0]
    assert layer["location"] == {"mode": "geohash", "geohash": "geohash"}
    assert layer["config"]["style"]["color"] == {"field": "up"}
    assert geomap["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "red", "value": None}, {"color": "green", "value": 1}]
    (query,) = [q for q in fleet.queries() if q.panel_id == geomap["id"]]
    assert (query.result_format, query.columns, query.tags) == (
        "table", ("up", "per_user_mbps"), ("ap", "site", "district", "program", "geohash"))


def test_the_per_user_panels_mark_the_200_mbps_target() -> None:
    fleet = read_dashboard(shipped_dashboards_dir() / "fleet.json")
    panels = {p["title"]: p for _, p in fleet.panels()}
    line = panels["Per-user bandwidth against the 200 Mbps target"]["fieldConfig"]["defaults"]
    assert line["thresholds"]["steps"] == [{"color": "red", "value": None}, {"color": "green", "value": 200}]
    assert line["custom"]["thresholdsStyle"] == {"mode": "line+area"}
    histogram = panels["Per-user bandwidth now, by AP"]
    assert histogram["type"] == "histogram"
    assert (histogram["options"]["bucketSize"], histogram["options"]["bucketOffset"]) == (25, 0)  # 200 is an edge
    assert [t["query"].rsplit("WHERE", 1)[1] for t in histogram["targets"]] == [
        ' "below_target" = 1', ' "below_target" = 0']


# --------------------------------------------------------------------------- broken copies, one problem each

Model = dict[str, Any]


def _panel(model: Model, title: str) -> Model:
    return next(p for p in model["panels"] if p["title"] == title)


def _set_uid(model: Model) -> None:
    model["uid"] = "hotspotctl-fleet"


def _bad_uid(model: Model) -> None:
    model["uid"] = "hotspot ctl/district"


def _same_title(model: Model) -> None:
    model["title"] = "hotspotctl · Fleet overview"


def _old_schema(model: Model) -> None:
    model["schemaVersion"] = 27


def _duplicate_panel_id(model: Model) -> None:
    _panel(model, "Traffic")["id"] = 2


def _datasource_by_name(model: Model) -> None:
    _panel(model, "Traffic")["datasource"] = "${DS_INFLUXDB}"


def _target_datasource_elsewhere(model: Model) -> None:
    _panel(model, "Traffic")["targets"][0]["datasource"] = {"type": "influxdb", "uid": "influxdb-prod"}


def _variable_datasource_elsewhere(model: Model) -> None:
    model["templating"]["list"][0]["datasource"] = {"type": "prometheus", "uid": DATASOURCE_UID}


def _undefined_variable(model: Model) -> None:
    target = _panel(model, "Traffic")["targets"][0]
    target["query"] = target["query"].replace("$program", "$programme")


def _multi_value_with_equals(model: Model) -> None:
    target = _panel(model, "Traffic")["targets"][0]
    target["query"] = target["query"].replace('"district" =~ /^$district$/', "\"district\" = '$district'")


def _unknown_format(model: Model) -> None:
    target = _panel(model, "Traffic")["targets"][0]
    target["query"] = target["query"].replace("/^$district$/", "/^${district:json}$/")


def _no_time_filter(model: Model) -> None:
    target = _panel(model, "APs up")["targets"][0]
    target["query"] = target["query"].replace("WHERE $timeFilter AND ", "WHERE ")


def _no_targets(model: Model) -> None:
    _panel(model, "Clients")["targets"] = []


def _builder_query(model: Model) -> None:
    target = _panel(model, "Clients")["targets"][0]
    target["rawQuery"] = False
    target["resultFormat"] = "logs"


def _not_a_select(model: Model) -> None:
    _panel(model, "Clients")["targets"][0]["query"] = 'SHOW FIELD KEYS FROM "ap_status"'


def _unnamed_column(model: Model) -> None:
    target = _panel(model, "Clients now")["targets"][0]
    target["query"] = target["query"].replace('SELECT sum("clients") AS "clients"', 'SELECT sum("clients") * 1')


def _geomap_field_missing(model: Model) -> None:
    target = _panel(model, "APs by status")["targets"][0]
    target["query"] = target["query"].replace(', "geohash"', "")


def _override_field_missing(model: Model) -> None:
    target = _panel(model, "Up and down")["targets"][0]
    target["query"] = target["query"].replace('AS "down"', 'AS "aps_down"')


def _variable_without_query(model: Model) -> None:
    model["templating"]["list"][1]["query"] = ""


def _variable_twice(model: Model) -> None:
    model["templating"]["list"].append(dict(model["templating"]["list"][0]))


CASES: list[tuple[str, Callable[[Model], None], str, str]] = [
    ("duplicate uid", _set_uid, "uid",  # reported on the second file of the two (fleet.json comes after)
     "'hotspotctl-fleet' is also the uid of district.json; provisioning would keep only one of them: give each its "
     "own"),
    ("bad uid", _bad_uid, "uid", "'hotspot ctl/district' is not a usable uid: 1-40 letters, digits, '-' or '_'; "
                                 "a stable uid keeps links and bookmarks working across imports"),
    ("duplicate title", _same_title, "title",
     "'hotspotctl · Fleet overview' is also the title of district.json; Grafana refuses two dashboards of one title "
     "in a folder"),
    ("old schema", _old_schema, "schemaVersion",
     "27: expected 36 or more (Grafana 9.1+); export the dashboard again from Grafana 10 or 11"),
    ("duplicate panel id", _duplicate_panel_id, "panels[5].id",
     "'Traffic': id 2 is also the id of panels[1] ('APs down'); panel ids must be unique within a dashboard"),
    ("datasource by placeholder", _datasource_by_name, "panels[5].datasource",
     "'${DS_INFLUXDB}' does not resolve to the provisioned datasource (an import placeholder: the dashboard was "
     "exported 'for sharing externally'); write {\"type\": \"influxdb\", \"uid\": \"hotspotctl-influxdb\"}"),
    ("target datasource elsewhere", _target_datasource_elsewhere, "panels[5].targets[0].datasource",
     '{"type": "influxdb", "uid": "influxdb-prod"} does not resolve to the provisioned datasource; write '
     '{"type": "influxdb", "uid": "hotspotctl-influxdb"}'),
    ("variable datasource elsewhere", _variable_datasource_elsewhere, "templating.list[0].datasource",
     '{"type": "prometheus", "uid": "hotspotctl-influxdb"} does not resolve to the provisioned datasource; write '
     '{"type": "influxdb", "uid": "hotspotctl-influxdb"}'),
    ("undefined variable", _undefined_variable, "panels[5].targets[0].query",
     "'Traffic', A: $programme is not a variable of this dashboard (defined: district, program; built-ins: "
     "$timeFilter, $__interval, $interval, $__interval_ms, $__from, $__to); Grafana would send it as written"),
    ("multi-value with =", _multi_value_with_equals, "panels[5].targets[0].query",
     "'Traffic', A: $district is a multi-value variable used outside a regex: Grafana sends it regex-escaped (or "
     "as (a|b)), so = or IN matches nothing; write \"district\" =~ /^$district$/"),
    ("unknown format", _unknown_format, "panels[5].targets[0].query",
     "'Traffic', A: ${district:json}: format 'json' is not one of regex, raw, pipe, csv, singlequote, doublequote"),
    ("no $timeFilter", _no_time_filter, "panels[0].targets[0].query",
     "'APs up', A: no $timeFilter: the query would read all of history on every refresh; add WHERE $timeFilter"),
    ("no targets", _no_targets, "panels[6].targets", "'Clients': no queries: the panel would show 'No data'"),
    ("not a SELECT", _not_a_select, "panels[6].targets[0].query", "'Clients', A: not a SELECT ... FROM query"),
    ("unnamed column", _unnamed_column, "panels[3].targets[0].query",
     "'Clients now', A: the SELECT names no column: alias each value with AS \"name\" so the panel's options (and "
     "the checks) can refer to it"),
    ("geomap field missing", _geomap_field_missing, "panels[8].options.layers[0].location.geohash",
     "'APs by status': field 'geohash' is not a column of the panel's queries (ap, per_user_mbps, program, site, up); "
     "the option would apply to nothing"),
    ("override field missing", _override_field_missing, "panels[4].fieldConfig.overrides[1].matcher.options",
     "'Up and down': field 'down' is not a column of the panel's queries (aps_down, up); the option would apply "
     "to nothing"),
    ("variable without query", _variable_without_query, "templating.list[1].query",
     "variable 'program' has no query: its options would be empty"),
    ("variable twice", _variable_twice, "templating.list[2].name",
     "'district' is defined twice; the second one hides the first"),
]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "dashboards"
    shutil.copytree(shipped_dashboards_dir(), folder)
    return folder


def _break(folder: Path, name: str, change: Callable[[Model], None]) -> None:
    path = folder / name
    model = json.loads(path.read_text())
    change(model)
    path.write_text(json.dumps(model, indent=2, ensure_ascii=False))


@pytest.mark.parametrize(("case", "change", "path", "message"), CASES, ids=[c[0] for c in CASES])
def test_each_problem_is_found_in_a_broken_copy(copy: Path, case: str, change: Callable[[Model], None], path: str,
                                                message: str) -> None:
    _break(copy, "district.json", change)
    _, problems = check_folder(copy)
    file = "fleet.json" if case.startswith("duplicate ") and path in ("uid", "title") else "district.json"
    assert problems == [Problem(file, path, message)], case


def test_a_builder_query_is_two_problems(copy: Path) -> None:
    _break(copy, "district.json", _builder_query)
    _, problems = check_folder(copy)
    assert [str(p) for p in problems] == [
        "district.json: panels[6].targets[0].rawQuery: 'Clients', A: must be true: the query text is what Grafana runs",
        "district.json: panels[6].targets[0].resultFormat: 'Clients', A: 'logs' is not one of time_series, table",
    ]


def test_unreadable_files_are_problems_and_the_rest_is_still_checked(copy: Path) -> None:
    (copy / "broken.json").write_text('{"uid": "x",\n  "title": }')
    (copy / "list.json").write_text("[]")
    dashboards, problems = check_folder(copy)
    assert [d.file for d in dashboards] == ["district.json", "fleet.json", "hotspot.json", "poller.json", "rf.json"]
    assert [str(p) for p in problems] == [
        "broken.json: not valid JSON (line 2, column 12): Expecting value",
        "list.json: not a dashboard: expected a JSON object, found list",
    ]
    with pytest.raises(InputError, match=r"^broken\.json: not valid JSON \(line 2, column 12\)"):
        load_dashboards(copy)


def test_an_empty_folder_and_a_missing_one(tmp_path: Path) -> None:
    assert check_folder(tmp_path) == ([], [Problem(str(tmp_path), "", "no *.json dashboards in this folder")])
    with pytest.raises(InputError, match="no such folder of dashboards"):
        check_folder(tmp_path / "nope")


def test_check_takes_dashboards_from_anywhere_and_another_datasource_uid(copy: Path) -> None:
    dashboards = load_dashboards(copy)
    problems = check(dashboards, datasource_uid="noc-influx")
    # every reference: 67 panels (the three rows aside), their 73 targets, 7 query variables
    assert len(problems) == 67 + 73 + 7
    assert {p.message.split(" does not resolve")[0] for p in problems} == {
        '{"type": "influxdb", "uid": "hotspotctl-influxdb"}'}
