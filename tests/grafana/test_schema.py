"""Every shipped dashboard against Grafana's published types (grafana-foundation-sdk's models), offline.

How the check works, and what it leaves open, is in tests/grafana/sdk_schema.py; the live checks of the
queries against a real InfluxDB are in test_queries_on_influxdb.py.
"""

from __future__ import annotations

import copy
import enum
import importlib
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.models import common, dashboard, geomap, stat, table, timeseries

from tests.conftest import REPO
from tests.grafana import sdk_schema
from tests.grafana.sdk_schema import CORRECTIONS, model_keys, panel_kinds, panels, problems

DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_a_shipped_dashboard_matches_the_published_types(path: Path) -> None:
    dashboard_json = _load(path)
    assert problems(dashboard_json) == []
    assert {panel["type"] for panel in panels(dashboard_json)} <= set(panel_kinds()) | {"row"}


def test_the_sdk_is_the_pinned_one() -> None:
    """pyproject pins the SDK: its models (and so the corrections) change from one release to the next."""
    from importlib.metadata import version

    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"grafana-foundation-sdk=={version("grafana-foundation-sdk")}"' in pyproject


# --- the models are read right ------------------------------------------------------------------------------


def _model_classes() -> list[type]:
    modules = [importlib.import_module(f"grafana_foundation_sdk.models.{name}") for name in (
        "dashboard", "common", "timeseries", "stat", "table", "histogram", "statetimeline", "geomap")]
    return [cls for module in modules for _, cls in inspect.getmembers(module, inspect.isclass)
            if cls.__module__ == module.__name__ and sdk_schema._is_model(cls)]


def test_every_model_a_dashboard_can_meet_is_read() -> None:
    """to_json's keys agree with from_json's for every class (model_keys raises where they do not)."""
    classes = _model_classes()
    assert len(classes) > 80
    for cls in classes:
        assert model_keys(cls), cls


def test_the_key_map_is_the_sdk_s_own() -> None:
    """Read, not guessed: the JSON keys and attributes, required and optional keys, constants, as the SDK has them."""
    view = model_keys(geomap.MapViewConfig)
    assert view["lat"].attribute == "lat" and view["minZoom"].attribute == "min_zoom" and view["id"].attribute == "id_val"
    assert view["id"].required is False and view["lat"].required is False  # the SDK defaults id to "zero"
    layer = model_keys(common.MapLayerOptions)
    assert layer["name"].required and layer["type"].required and not layer["opacity"].required
    assert model_keys(dashboard.Threshold)["value"].nullable and not model_keys(dashboard.Threshold)["color"].nullable
    assert model_keys(dashboard.RowPanel)["type"].constant == "row"
    # a panel's options and custom field config follow its kind, as the SDK registers it
    assert panel_kinds()["stat"] == (stat.Options, None)
    assert panel_kinds()["timeseries"][0] is timeseries.Options
    assert panel_kinds()["table"][0] is table.Options
    assert isinstance(model_keys(stat.Options)["colorMode"].annotation, type)
    assert issubclass(model_keys(stat.Options)["colorMode"].annotation, enum.StrEnum)


# --- the corrections ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("correction", CORRECTIONS, ids=[c.name for c in CORRECTIONS])
def test_a_correction_still_applies_to_the_model(correction: sdk_schema.Correction) -> None:
    """A correction the SDK has made unnecessary (lat typed as a number) fails here, to be dropped."""
    sdk_schema._corrected(correction.model, [correction])


@pytest.mark.parametrize("correction", CORRECTIONS, ids=[c.name for c in CORRECTIONS])
def test_every_correction_is_needed_by_a_shipped_dashboard(correction: sdk_schema.Correction) -> None:
    """Without any one correction some shipped dashboard fails: none is kept once nothing needs it."""
    without = [c for c in CORRECTIONS if c is not correction]
    assert any(problems(_load(path), without) for path in DASHBOARDS)  # with all of them, none has a problem


def test_every_correction_is_documented() -> None:
    text = (REPO / "docs" / "grafana.md").read_text(encoding="utf-8")
    for c in CORRECTIONS:
        assert f"`{c.name}`" in text, c.name


def test_the_geomap_centre_is_checked_as_a_number() -> None:
    """The lat/lon correction is not a skip: as published, 19.4 fails; corrected, a text still does."""
    maps = [panel for path in DASHBOARDS for panel in panels(_load(path)) if panel["type"] == "geomap"]
    assert maps and all(isinstance(panel["options"]["view"]["lat"], float) for panel in maps)
    uncorrected = [c for c in CORRECTIONS if c.model is not geomap.MapViewConfig]
    found = [p for path in DASHBOARDS for p in problems(_load(path), uncorrected)]
    assert any(p.endswith("options.view.lat: 19.4 is not int") for p in found), found


# --- broken copies fail -------------------------------------------------------------------------------------


def _first(document: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(panel for panel in panels(document) if panel["type"] == kind)


def _thresholds(document: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in panels(document) if "thresholds" in p["fieldConfig"].get("defaults", {})
                )["fieldConfig"]["defaults"]["thresholds"]


def _override(document: dict[str, Any], kind: str, property_id: str) -> dict[str, Any]:
    return next(prop for override in _first(document, kind)["fieldConfig"]["overrides"]
                for prop in override["properties"] if prop["id"] == property_id)


Breakage = Callable[[dict[str, Any]], object]
BREAKAGES: list[tuple[str, Breakage, str]] = [
    ("a schemaVersion that is text", lambda d: d.update(schemaVersion="39"), "schemaVersion: '39' is not int"),
    ("an unknown top-level key", lambda d: d.update(colour="red"), "colour: unknown key in Dashboard"),
    ("a graph tooltip mode Grafana does not have", lambda d: d.update(graphTooltip=7),
     "graphTooltip: 7 is not one of [0, 1, 2]"),
    ("a refresh that is true", lambda d: d.update(refresh=True), "refresh: True is not str"),
    ("a panel width that is text", lambda d: d["panels"][0]["gridPos"].update(w="wide"), "gridPos.w: 'wide' is not int"),
    ("a panel without a type", lambda d: d["panels"][0].pop("type"), "panels[0].type: required key missing in Panel"),
    ("a panel type the SDK does not know", lambda d: d["panels"][0].update(type="worldmap-panel"),
     "no model for panel type 'worldmap-panel'"),
    ("a stat colour mode Grafana does not have", lambda d: _first(d, "stat")["options"].update(colorMode="rainbow"),
     "options.colorMode: 'rainbow' is not one of"),
    ("a stat graph mode that is a number", lambda d: _first(d, "stat")["options"].update(graphMode=1),
     "options.graphMode: 1 is not one of"),
    ("a stat reducer list that is text", lambda d: _first(d, "stat")["options"]["reduceOptions"].update(calcs="last"),
     "reduceOptions.calcs: 'last' is not a list"),
    ("a geomap centre that is text", lambda d: _first(d, "geomap")["options"]["view"].update(lat="19.4"),
     "options.view.lat: '19.4' is not float"),
    ("a geomap layer without a name", lambda d: _first(d, "geomap")["options"]["layers"][0].pop("name"),
     "options.layers[0].name: required key missing in MapLayerOptions"),
    ("a geomap layer opacity that is text", lambda d: _first(d, "geomap")["options"]["layers"][0].update(opacity="½"),
     "options.layers[0].opacity: '½' is not"),
    ("a timeseries draw style Grafana does not have", lambda d: _first(d, "timeseries")["fieldConfig"]["defaults"]
     .setdefault("custom", {}).update(drawStyle="zigzag"), "custom.drawStyle: 'zigzag' is not one of"),
    ("a timeseries legend placement Grafana does not have",
     lambda d: _first(d, "timeseries")["options"]["legend"].update(placement="top"), "legend.placement: 'top' is not one of"),
    ("a table option that does not exist", lambda d: _first(d, "table")["options"].update(shwoHeader=True),
     "options.shwoHeader: unknown key in Options"),
    ("a table column alignment Grafana does not have",
     lambda d: _first(d, "table")["fieldConfig"]["defaults"]["custom"].update(align="middle"),
     "custom.align: 'middle' is not one of"),
    ("a table cell type Grafana does not have", lambda d: _override(d, "table", "custom.cellOptions")["value"].update(
        type="sparkles"), "value.type: 'sparkles' is not one of"),
    ("an override of a key no field config has", lambda d: _override(d, "table", "unit").update(id="unti"),
     "override of 'unti', a key FieldConfig does not have"),
    ("an override of a unit that is a number", lambda d: _override(d, "table", "unit").update(value=8),
     "value: 8 is not str"),
    ("a threshold that is text", lambda d: _thresholds(d)["steps"].append({"color": "red", "value": "ten"}),
     "value: 'ten' is not float"),
    ("a threshold without a colour", lambda d: _thresholds(d)["steps"].append({"value": 3}),
     "color: required key missing in Threshold"),
    ("a threshold mode Grafana does not have", lambda d: _thresholds(d).update(mode="relative"),
     "thresholds.mode: 'relative' is not one of"),
    ("a value mapping type Grafana does not have", lambda d: d["panels"][0]["fieldConfig"]["defaults"].update(
        mappings=[{"type": "ranges", "options": {}}]), "mappings[0].type: 'ranges' is not one of"),
    ("a variable type Grafana does not have", lambda d: d["templating"]["list"].append({"name": "x", "type": "bogus"}),
     "type: 'bogus' is not one of"),
    ("a query that is not an object", lambda d: _first(d, "timeseries").update(targets=["SELECT 1"]),
     "targets[0]: 'SELECT 1' is not an object"),
    ("a null where a value belongs", lambda d: d.update(title=None), "title: null where Dashboard wants"),
    ("a row's panel with a bad option", lambda d: d.update(panels=[{
        "type": "row", "id": 99, "collapsed": True, "title": "r", "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
        "panels": [{**_first(d, "stat"), "options": {"colorMode": "x"}}]}]), "panels[0].panels[0].options.colorMode"),
]


@pytest.mark.parametrize(("what", "breakage", "expected"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_a_broken_copy_of_a_shipped_dashboard_fails(what: str, breakage: Breakage, expected: str) -> None:
    original = next(d for d in map(_load, DASHBOARDS) if {"geomap", "stat", "table", "timeseries"} <= {
        panel["type"] for panel in panels(d)})
    broken = copy.deepcopy(original)
    breakage(broken)
    assert broken != original, what
    found = problems(broken)
    assert any(expected in problem for problem in found), found
    assert problems(original) == []  # the copy, not the original, was broken


def test_the_open_places_stay_open() -> None:
    """What the models leave open (a query's keys, a layer's config) is not reported: the check says so."""
    original = _load(next(p for p in DASHBOARDS if p.name == "fleet.json"))
    broken = copy.deepcopy(original)
    _first(broken, "timeseries")["targets"][0]["anything"] = 1
    _first(broken, "geomap")["options"]["layers"][0]["config"] = {"anything": 1}
    assert problems(broken) == []
