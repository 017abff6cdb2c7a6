"""The dashboards follow the settings' per-user target: thresholds, titles, the histogram, programme lines.

Issue 15: the dashboards hard-coded 200 Mbps even when evaluate.target_mbps (or a programme's
target) said otherwise. `grafana export` draws them for the settings; the target lines it adds per
programme are real InfluxQL, run here against InfluxDB 1.x after a simulated run.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from hotspotctl.grafana.dashboards import Dashboard, check, load_dashboards
from hotspotctl.grafana.targets import SHIPPED_TARGET_MBPS, Targets, apply_targets
from hotspotctl.grafana.templating import TimeRange, expand, usages
from hotspotctl.names import name_key
from hotspotctl.settings import EvaluateSettings
from tests.grafana.conftest import SimulatedInflux

PER_USER_PANELS = {  # (file, panel id): the per-user panels, each with a threshold at the target
    ("district.json", 8), ("fleet.json", 6), ("hotspot.json", 4), ("hotspot.json", 7)}


def _thresholds(model: dict[str, Any]) -> dict[int, list[float]]:
    found = {}
    for panel in model["panels"]:
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        steps = defaults.get("thresholds", {}).get("steps", [])
        if defaults.get("unit") == "Mbits" and steps:
            found[panel["id"]] = [step["value"] for step in steps if step["value"] is not None]
    return found


def _texts(model: dict[str, Any]) -> str:
    return json.dumps([model.get("title"), model.get("description")]
                      + [(p.get("title"), p.get("description")) for p in model["panels"]], ensure_ascii=False)


def test_the_shipped_dashboards_are_drawn_for_the_default_target() -> None:
    assert EvaluateSettings().target_mbps == SHIPPED_TARGET_MBPS
    for dashboard in load_dashboards():
        assert apply_targets(dashboard.model, Targets()) == dashboard.model, dashboard.file
    shipped = {(d.file, pid): values for d in load_dashboards() for pid, values in _thresholds(d.model).items()}
    assert shipped == {key: [200] for key in PER_USER_PANELS}


def test_export_with_another_target_moves_every_threshold_title_and_bucket_edge(cli, monkeypatch) -> None:
    monkeypatch.setenv("HOTSPOTCTL_EVALUATE_TARGET_MBPS", "160")
    result = cli("grafana", "export", "out")
    assert result.code == 0, result.err
    folder = cli.workdir / "out" / "dashboards"
    models = {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
    drawn = {(name, pid): values for name, model in models.items() for pid, values in _thresholds(model).items()}
    assert drawn == {key: [160] for key in PER_USER_PANELS}
    for name, model in models.items():
        assert "200 Mbps" not in _texts(model) and "at 200" not in _texts(model), name
    fleet = {p["id"]: p for p in models["fleet.json"]["panels"]}
    assert fleet[6]["title"] == "Per-user bandwidth against the 160 Mbps target"
    assert fleet[8]["options"]["bucketOffset"] == 10  # 25 Mbps buckets: an edge at 160
    assert "one edge at 160" in fleet[8]["description"]
    assert models["fleet.json"]["description"].endswith("per-user bandwidth against the 160 Mbps target.")
    assert check([Dashboard(folder / name, model) for name, model in models.items()]) == []


def _target_queries(dashboard: Dashboard) -> list[Any]:
    return [q for q in dashboard.queries() if q.columns and q.columns[0].startswith("target ")]


def test_a_programmes_own_target_is_a_line_where_the_selection_has_it(simulated_influx: SimulatedInflux,
                                                                       tmp_path: Path) -> None:
    run = simulated_influx
    program = run.program  # the picked programme: one with regex characters in its name when there is one
    targets = Targets(160.0, {program.upper(): 100.0, "Programa Fantasma": 50.0})  # settings spell names freely
    spelt = {name_key(program): program}  # as `grafana export` reads the inventory's spelling from the store
    dashboards = [Dashboard(d.path, apply_targets(d.model, targets, programs=spelt)) for d in load_dashboards()]
    assert check(dashboards) == []
    by_file = {d.file: d for d in dashboards}
    assert _target_queries(by_file["fleet.json"]) == [] and _target_queries(by_file["poller.json"]) == []
    window = TimeRange(run.started - timedelta(minutes=1), run.ended + timedelta(minutes=1))
    for file, values in (("district.json", {"district": [run.district], "program": [program]}),
                         ("hotspot.json", {"district": [run.district], "program": [program], "ap": run.ap})):
        dashboard = by_file[file]
        queries = {q.columns[0]: q for q in _target_queries(dashboard)}
        assert set(queries) == {f"target {program}", "target Programa Fantasma"}
        panel = next(p for _, p in dashboard.panels() if p["id"] == queries[f"target {program}"].panel_id)
        assert f"{program} 100 Mbps" in panel["description"] and "160 Mbps target" in panel["title"]
        for name, query in queries.items():
            text = expand(query.text, values, variables=dashboard.variables(), time_range=window,
                          interval=timedelta(seconds=10))
            assert usages(text) == []
            series = run.query(text)
            points = [row[1] for s in series for row in s["values"] if row[1] is not None]
            if name == f"target {program}":  # the selection has the programme: a flat line at its target
                assert points and set(points) == {100.0}, (file, text, series)
            else:  # no AP of it in the selection: no line
                assert points == [], (file, text)
