"""The per-user target in the dashboards, from the settings: ``apply_targets(model, targets)``.

The shipped dashboards are written for the default target (``SHIPPED_TARGET_MBPS``, 200 Mbps): the
threshold step of every per-user panel (unit ``Mbits``), the titles and descriptions that name it,
the histogram whose bucket edge falls on it. ``grafana export`` writes them for the city's own
settings instead:

- ``evaluate.target_mbps`` becomes the threshold (line, area and colour) of every per-user panel, the
  figure in their titles and descriptions, and an edge of the per-user histogram's buckets;
- each programme of ``evaluate.target_by_program`` gets its own dashed target line in the per-user
  panels that follow a selection (the district and hotspot dashboards): a query that draws the
  programme's target wherever the selection has data of that programme, so the line shows only when
  the programme (or the AP's programme) is chosen. Grafana's thresholds are one number per panel;
  the ``below_target`` field every AP reports (against its own target) stays the truth per AP.

Pure: a dashboard's JSON model in, a new one out.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hotspotctl.names import name_key

SHIPPED_TARGET_MBPS = 200.0  # the target the shipped dashboards are written for (EvaluateSettings' default)
PER_USER_UNIT = "Mbits"
_SHIPPED_TEXT = re.compile(r"\b200 Mbps\b")
_EDGE_TEXT = re.compile(r"one edge at 200\b")
_SELECTION = re.compile(r"\$timeFilter AND (?P<filter>.+?) GROUP BY", re.DOTALL)
_TARGET_LINE_COLOR = "orange"


@dataclass(frozen=True)
class Targets:
    """The fleet's per-user target and the programmes' own (evaluate.target_mbps, evaluate.target_by_program)."""

    mbps: float = SHIPPED_TARGET_MBPS
    by_program: Mapping[str, float] = field(default_factory=dict)

    @property
    def shipped(self) -> bool:
        return self.mbps == SHIPPED_TARGET_MBPS and not self.by_program


def _number(value: float) -> str:
    return f"{value:g}"


def _panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model.get("panels") or []:
        if isinstance(panel, dict):
            yield panel
            for inner in panel.get("panels") or []:
                if isinstance(inner, dict):
                    yield inner


def _defaults(panel: dict[str, Any]) -> dict[str, Any]:
    config = panel.get("fieldConfig")
    defaults = config.get("defaults") if isinstance(config, dict) else None
    return defaults if isinstance(defaults, dict) else {}


def _target_steps(panel: dict[str, Any]) -> list[dict[str, Any]]:
    """The threshold steps of a per-user panel that stand for the target (the shipped 200)."""
    defaults = _defaults(panel)
    if defaults.get("unit") != PER_USER_UNIT:
        return []
    thresholds = defaults.get("thresholds")
    steps = thresholds.get("steps") if isinstance(thresholds, dict) else None
    return [step for step in steps or [] if isinstance(step, dict) and step.get("value") == SHIPPED_TARGET_MBPS]


def _influx_string(text: str) -> str:
    """A single-quoted InfluxQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _influx_name(text: str) -> str:
    """A double-quoted InfluxQL identifier."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _program_names(program: str, known: Mapping[str, str]) -> str:
    """The programme as the data writes it: the inventory's spelling when known (``known``: name_key -> name)."""
    return known.get(name_key(program), program)


def _target_query(selection: str, program: str, mbps: float) -> str:
    """A line at ``mbps`` wherever the selection has per-user data of ``program``."""
    alias = f"target {program}"
    return (f"SELECT 0 * mean(\"per_user_mbps\") + {_number(mbps)} AS {_influx_name(alias)} FROM \"ap_status\" "
            f"WHERE $timeFilter AND {selection} AND \"program\" = {_influx_string(program)} "
            "GROUP BY time($__interval) fill(none)")


def _programme_note(targets: Targets, names: Mapping[str, str]) -> str:
    listed = ", ".join(f"{_program_names(p, names)} {_number(v)} Mbps" for p, v in sorted(targets.by_program.items()))
    return f" Programmes with their own target: {listed} (a dashed line where the selection has them)."


def apply_targets(model: dict[str, Any], targets: Targets, *, programs: Mapping[str, str] | None = None
                  ) -> dict[str, Any]:
    """The dashboard ``model`` drawn for ``targets``; ``programs`` (name_key -> the inventory's spelling) names the
    programmes of target_by_program as the metrics tag them."""
    out = copy.deepcopy(model)
    names = dict(programs or {})
    text = f"{_number(targets.mbps)} Mbps"
    for key in ("title", "description"):
        if isinstance(out.get(key), str):
            out[key] = _SHIPPED_TEXT.sub(text, out[key])
    for panel in _panels(out):
        steps = _target_steps(panel)
        for step in steps:
            step["value"] = targets.mbps
        for key in ("title", "description"):
            if isinstance(panel.get(key), str):
                panel[key] = _EDGE_TEXT.sub(f"one edge at {_number(targets.mbps)}", panel[key])
                panel[key] = _SHIPPED_TEXT.sub(text, panel[key])
        options = panel.get("options")
        if panel.get("type") == "histogram" and isinstance(options, dict) and options.get("bucketSize"):
            size = float(options["bucketSize"])
            offset = targets.mbps % size
            options["bucketOffset"] = int(offset) if offset.is_integer() else offset
        if not steps or not targets.by_program or panel.get("type") != "timeseries":
            continue
        queries = [t for t in panel.get("targets") or [] if isinstance(t, dict) and isinstance(t.get("query"), str)]
        selection = _SELECTION.search(queries[0]["query"]) if queries else None
        if selection is not None:
            refs = {str(t.get("refId")) for t in queries}
            overrides = panel.setdefault("fieldConfig", {}).setdefault("overrides", [])
            for n, (program, mbps) in enumerate(sorted(targets.by_program.items()), start=1):
                spelt = _program_names(program, names)
                ref = f"T{n}"
                while ref in refs:
                    ref += "_"
                refs.add(ref)
                panel["targets"].append({"refId": ref, "datasource": queries[0].get("datasource"), "rawQuery": True,
                                         "resultFormat": "time_series",
                                         "query": _target_query(selection.group("filter"), spelt, mbps)})
                overrides.append({"matcher": {"id": "byName", "options": f"target {spelt}"},
                                  "properties": [
                                      {"id": "color", "value": {"mode": "fixed", "fixedColor": _TARGET_LINE_COLOR}},
                                      {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                                      {"id": "custom.fillOpacity", "value": 0}]})
        described = panel.get("description")
        panel["description"] = ((described if isinstance(described, str) else "")
                                + _programme_note(targets, names)).strip()
    return out
