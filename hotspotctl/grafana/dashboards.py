"""The shipped dashboards (grafana/dashboards/*.json): finding them, reading them, and checking them.

``check`` finds what would make a dashboard fail quietly in Grafana rather than loudly: two dashboards
with one uid (provisioning keeps one), a panel id used twice, a datasource reference that resolves to
nothing, a ``$variable`` that is not defined (Grafana sends it as written), a multi-value variable
compared with ``=`` (it arrives regex-escaped and matches nothing), a query with no ``$timeFilter`` (it
reads all of history), a value the panel shows that the query does not name. Each problem names the
file and the key path: ``fleet.json: panels[6].targets[0].query ('Every AP, by status', A): ...``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotspotctl.bundled import bundled_path
from hotspotctl.errors import InputError
from hotspotctl.grafana.influxql import field_list, group_by_tags, regex_literals, select_columns
from hotspotctl.grafana.templating import BUILTINS, FORMATS, Variable, usages

DATASOURCE_UID = "hotspotctl-influxdb"
DATASOURCE_TYPE = "influxdb"
DATASOURCE_NAME = "hotspotctl InfluxDB"
MIN_SCHEMA_VERSION = 36  # Grafana 9.1; the shipped dashboards are written for Grafana 10 and 11 (39)
RESULT_FORMATS = ("time_series", "table")
NO_QUERY_PANELS = frozenset({"row", "text", "news", "dashlist"})
# The fields a geomap layer's location mode reads (mode "auto" guesses from the column names).
_LOCATION_FIELDS = {"coords": ("latitude", "longitude"), "geohash": ("geohash",), "lookup": ("lookup",)}
_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")  # what Grafana accepts as a dashboard uid


def shipped_dir() -> Path:
    """grafana/ in a checkout, or its copy inside the installed wheel (hotspotctl/_bundled/grafana)."""
    return bundled_path("grafana")


def shipped_dashboards_dir() -> Path:
    return shipped_dir() / "dashboards"


@dataclass(frozen=True)
class Problem:
    """One thing wrong, where it is (file and key path), and what to do about it."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}" if self.path else f"{self.file}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "message": self.message}


@dataclass(frozen=True)
class Query:
    """One query a dashboard runs: a panel's target, or a variable's options query."""

    dashboard: str  # uid
    file: str
    panel_id: int | None  # None for a variable
    title: str  # the panel's title, or "variable <name>"
    ref: str  # the target's refId, or the variable's name
    path: str  # key path in the file
    text: str
    result_format: str
    columns: tuple[str, ...]  # what the result must hold: the SELECT's named columns, or "value" (SHOW TAG VALUES)
    tags: tuple[str, ...]  # GROUP BY tags: extra columns of a table

    @property
    def kind(self) -> str:
        return "variable" if self.panel_id is None else "panel"


@dataclass(frozen=True)
class Dashboard:
    path: Path
    model: dict[str, Any]

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def uid(self) -> str:
        return str(self.model.get("uid", ""))

    @property
    def title(self) -> str:
        return str(self.model.get("title", ""))

    def panels(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(key path, panel) for every panel, those inside rows included."""
        for i, panel in enumerate(_list(self.model.get("panels"))):
            if not isinstance(panel, dict):
                continue
            yield f"panels[{i}]", panel
            for j, inner in enumerate(_list(panel.get("panels"))):
                if isinstance(inner, dict):
                    yield f"panels[{i}].panels[{j}]", inner

    def variable_models(self) -> list[dict[str, Any]]:
        templating = self.model.get("templating")
        found = templating.get("list") if isinstance(templating, dict) else None
        return [v for v in _list(found) if isinstance(v, dict)]

    def variables(self) -> list[Variable]:
        out = []
        for v in self.variable_models():
            out.append(Variable(name=str(v.get("name", "")), multi=bool(v.get("multi")),
                                include_all=bool(v.get("includeAll")),
                                all_value=v.get("allValue") if v.get("allValue") not in (None, "") else None,
                                query=_variable_query(v), label=str(v.get("label") or v.get("name", ""))))
        return out

    def queries(self) -> list[Query]:
        """Every panel target's and every query variable's InfluxQL, in the order Grafana shows them."""
        found: list[Query] = []
        for i, v in enumerate(self.variable_models()):
            if v.get("type") == "query" and _variable_query(v):
                found.append(Query(self.uid, self.file, None, f"variable {v.get('name')}", str(v.get("name")),
                                   f"templating.list[{i}].query", _variable_query(v), "table", ("value",), ()))
        for path, panel in self.panels():
            if panel.get("type") in NO_QUERY_PANELS:
                continue
            for j, target in enumerate(_list(panel.get("targets"))):
                if not isinstance(target, dict) or not isinstance(target.get("query"), str):
                    continue
                text = target["query"]
                fmt = str(target.get("resultFormat", "time_series"))
                found.append(Query(self.uid, self.file, panel.get("id"), str(panel.get("title", "")),
                                   str(target.get("refId", "")), f"{path}.targets[{j}].query", text, fmt,
                                   select_columns(text), group_by_tags(text) if fmt == "table" else ()))
        return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _variable_query(model: dict[str, Any]) -> str:
    query = model.get("query")
    if isinstance(query, dict):  # newer Grafana stores {"query": "...", "refId": ...}
        query = query.get("query")
    return query if isinstance(query, str) else ""


def read_dashboard(path: Path) -> Dashboard:
    """One dashboard file; InputError (with line and column) when it is not JSON or not an object."""
    try:
        model = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read dashboard: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{Path(path).name}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
                         ) from None
    except UnicodeDecodeError:
        raise InputError(f"{Path(path).name}: not UTF-8 text") from None
    if not isinstance(model, dict):
        raise InputError(f"{Path(path).name}: not a dashboard: expected a JSON object, found {type(model).__name__}")
    return Dashboard(Path(path), model)


def dashboard_files(folder: Path | None = None) -> list[Path]:
    folder = shipped_dashboards_dir() if folder is None else Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder of dashboards")
    return sorted(folder.glob("*.json"))


def load_dashboards(folder: Path | None = None) -> list[Dashboard]:
    """Every *.json in ``folder`` (default: the shipped ones), sorted by file name; InputError on a bad file."""
    return [read_dashboard(path) for path in dashboard_files(folder)]


def check_folder(folder: Path | None = None, *, datasource_uid: str = DATASOURCE_UID
                 ) -> tuple[list[Dashboard], list[Problem]]:
    """Read and check every dashboard in ``folder``: the readable ones, and every problem (unreadable files too)."""
    dashboards: list[Dashboard] = []
    problems: list[Problem] = []
    files = dashboard_files(folder)
    if not files:
        problems.append(Problem(str(folder or shipped_dashboards_dir()), "", "no *.json dashboards in this folder"))
    for path in files:
        try:
            dashboards.append(read_dashboard(path))
        except InputError as exc:
            name, _, message = str(exc).partition(": ")
            problems.append(Problem(name, "", message))
    return dashboards, problems + check(dashboards, datasource_uid=datasource_uid)


def check(dashboards: Sequence[Dashboard], *, datasource_uid: str = DATASOURCE_UID) -> list[Problem]:
    """Everything wrong with these dashboards together, in file order; an empty list when they are fine."""
    problems: list[Problem] = []
    uids: dict[str, str] = {}
    titles: dict[str, str] = {}
    for dashboard in dashboards:
        checker = _Checker(dashboard, datasource_uid)
        problems.extend(checker.run())
        uid, title = dashboard.uid, dashboard.title
        if uid and uid in uids:
            problems.append(Problem(dashboard.file, "uid", f"{uid!r} is also the uid of {uids[uid]}; provisioning "
                                                           "would keep only one of them: give each its own"))
        uids.setdefault(uid, dashboard.file)
        if title and title in titles:
            problems.append(Problem(dashboard.file, "title", f"{title!r} is also the title of {titles[title]}; "
                                                             "Grafana refuses two dashboards of one title in a folder"))
        titles.setdefault(title, dashboard.file)
    return problems


class _Checker:
    def __init__(self, dashboard: Dashboard, datasource_uid: str) -> None:
        self.d = dashboard
        self.datasource_uid = datasource_uid
        self.problems: list[Problem] = []
        self.variables = {v.name: v for v in dashboard.variables() if v.name}

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.d.file, path, message))

    def run(self) -> list[Problem]:
        model = self.d.model
        if not isinstance(model.get("uid"), str) or not _UID.match(model["uid"]):
            self.add("uid", f"{model.get('uid')!r} is not a usable uid: 1-40 letters, digits, '-' or '_'; a stable "
                            "uid keeps links and bookmarks working across imports")
        if not isinstance(model.get("title"), str) or not model["title"].strip():
            self.add("title", "missing: every dashboard needs a title")
        version = model.get("schemaVersion")
        if not isinstance(version, int) or version < MIN_SCHEMA_VERSION:
            self.add("schemaVersion", f"{version!r}: expected {MIN_SCHEMA_VERSION} or more (Grafana 9.1+); export "
                                      "the dashboard again from Grafana 10 or 11")
        if not isinstance(model.get("panels"), list):
            self.add("panels", "missing: expected a list of panels")
        templating = model.get("templating")
        if templating is not None and not (isinstance(templating, dict) and isinstance(templating.get("list"), list)):
            self.add("templating.list", "expected a list of variables")
        self.check_variables()
        self.check_panels()
        return self.problems

    def datasource(self, path: str, ref: Any, *, required: bool) -> None:
        if ref is None and not required:
            return
        want = f'{{"type": "{DATASOURCE_TYPE}", "uid": "{self.datasource_uid}"}}'
        if isinstance(ref, str):
            hint = " (an import placeholder: the dashboard was exported 'for sharing externally')" \
                if ref.startswith("${") else " (a name: Grafana resolves names only for the legacy form)"
            self.add(path, f"{ref!r} does not resolve to the provisioned datasource{hint}; write {want}")
        elif not isinstance(ref, dict) or ref.get("uid") != self.datasource_uid or ref.get("type") != DATASOURCE_TYPE:
            self.add(path, f"{json.dumps(ref)} does not resolve to the provisioned datasource; write {want}")

    def check_variables(self) -> None:
        seen: set[str] = set()
        for i, v in enumerate(self.d.variable_models()):
            path = f"templating.list[{i}]"
            name = v.get("name")
            if not isinstance(name, str) or not re.fullmatch(r"\w+", name, re.ASCII):
                self.add(f"{path}.name", f"{name!r}: a variable needs a name of letters, digits and '_'")
                continue
            if name in seen:
                self.add(f"{path}.name", f"{name!r} is defined twice; the second one hides the first")
            if name in BUILTINS:
                self.add(f"{path}.name", f"{name!r} is a Grafana built-in; name the variable something else")
            seen.add(name)
            if v.get("type") != "query":
                continue
            self.datasource(f"{path}.datasource", v.get("datasource"), required=True)
            query = _variable_query(v)
            if not query.strip():
                self.add(f"{path}.query", f"variable {name!r} has no query: its options would be empty")
                continue
            self.check_references(f"{path}.query", query, f"variable {name!r}")

    def check_references(self, path: str, text: str, what: str, *, query: bool = True) -> None:
        for use in usages(text):
            if use.name in BUILTINS and use.name not in self.variables:
                if use.format not in (None, "raw"):
                    self.add(path, f"{what}: {use.text}: Grafana does not format built-ins; write ${use.name}")
                continue
            if use.name not in self.variables:
                known = ", ".join(sorted(self.variables)) or "none"
                self.add(path, f"{what}: {use.text} is not a variable of this dashboard (defined: {known}; built-ins: "
                               f"{', '.join('$' + b for b in BUILTINS)}); Grafana would send it as written")
                continue
            if use.format is not None and use.format not in FORMATS:
                self.add(path, f"{what}: {use.text}: format {use.format!r} is not one of {', '.join(FORMATS)}")
            variable = self.variables[use.name]
            if query and use.format is None and (variable.multi or variable.include_all) and not any(
                    f"${use.name}" in literal for literal in regex_literals(text)):
                self.add(path, f"{what}: ${use.name} is a multi-value variable used outside a regex: Grafana sends it "
                               f"regex-escaped (or as (a|b)), so = or IN matches nothing; write "
                               f"\"{use.name}\" =~ /^${use.name}$/")

    def check_panels(self) -> None:
        ids: dict[int, str] = {}
        for path, panel in self.d.panels():
            kind = panel.get("type")
            title = panel.get("title", "")
            label = f"{title!r}" if title else "untitled panel"
            pid = panel.get("id")
            if not isinstance(pid, int) or isinstance(pid, bool):
                self.add(f"{path}.id", f"{label}: every panel needs a whole-number id (links and alerts use it)")
            elif pid in ids:
                self.add(f"{path}.id", f"{label}: id {pid} is also the id of {ids[pid]}; panel ids must be unique "
                                       "within a dashboard")
            else:
                ids[pid] = f"{path} ({label})"
            if not isinstance(kind, str) or not kind:
                self.add(f"{path}.type", f"{label}: missing: which visualization (stat, timeseries, table, ...)")
                continue
            grid = panel.get("gridPos")
            if not isinstance(grid, dict) or not all(isinstance(grid.get(k), int) for k in "xywh"):
                self.add(f"{path}.gridPos", f"{label}: expected {{\"x\", \"y\", \"w\", \"h\"}} as whole numbers")
            if isinstance(title, str):
                self.check_references(f"{path}.title", title, label, query=False)
            if kind in NO_QUERY_PANELS:
                continue
            self.datasource(f"{path}.datasource", panel.get("datasource"), required=True)
            targets = panel.get("targets")
            if not isinstance(targets, list) or not targets:
                self.add(f"{path}.targets", f"{label}: no queries: the panel would show 'No data'")
                continue
            self.check_targets(path, label, panel, targets)

    def check_targets(self, path: str, label: str, panel: dict[str, Any], targets: list[Any]) -> None:
        refs: set[str] = set()
        columns: set[str] = set()
        for j, target in enumerate(targets):
            where = f"{path}.targets[{j}]"
            if not isinstance(target, dict):
                self.add(where, f"{label}: expected a query object")
                continue
            ref = target.get("refId")
            what = f"{label}, {ref}" if ref else label
            if not isinstance(ref, str) or not ref:
                self.add(f"{where}.refId", f"{label}: every query needs a refId (A, B, ...)")
            elif ref in refs:
                self.add(f"{where}.refId", f"{label}: refId {ref!r} is used twice in this panel")
            refs.add(ref if isinstance(ref, str) else "")
            self.datasource(f"{where}.datasource", target.get("datasource"), required=False)
            query = target.get("query")
            if not isinstance(query, str) or not query.strip():
                self.add(f"{where}.query", f"{what}: no InfluxQL query (the visual query builder is not used here: "
                                           "write the query with rawQuery: true)")
                continue
            if target.get("rawQuery") is not True:
                self.add(f"{where}.rawQuery", f"{what}: must be true: the query text is what Grafana runs")
            fmt = target.get("resultFormat", "time_series")
            if fmt not in RESULT_FORMATS:
                self.add(f"{where}.resultFormat", f"{what}: {fmt!r} is not one of {', '.join(RESULT_FORMATS)}")
            if field_list(query) is None:
                self.add(f"{where}.query", f"{what}: not a SELECT ... FROM query")
                continue
            if "$timeFilter" not in query:
                self.add(f"{where}.query", f"{what}: no $timeFilter: the query would read all of history on every "
                                           "refresh; add WHERE $timeFilter")
            named = select_columns(query)
            if not named:
                self.add(f"{where}.query", f"{what}: the SELECT names no column: alias each value with AS \"name\" so "
                                           "the panel's options (and the checks) can refer to it")
            columns.update(named)
            if fmt == "table":
                columns.update(group_by_tags(query))
            self.check_references(f"{where}.query", query, what)
        self.check_fields(path, label, panel, columns)

    def check_fields(self, path: str, label: str, panel: dict[str, Any], columns: set[str]) -> None:
        """Field names the panel's options rely on must be columns its queries produce."""
        known = ", ".join(sorted(columns)) or "none"
        wanted: list[tuple[str, str]] = []
        overrides = panel.get("fieldConfig", {}).get("overrides", []) if isinstance(panel.get("fieldConfig"),
                                                                                    dict) else []
        for k, override in enumerate(_list(overrides)):
            matcher = override.get("matcher", {}) if isinstance(override, dict) else {}
            if matcher.get("id") == "byName":
                wanted.append((f"{path}.fieldConfig.overrides[{k}].matcher.options", str(matcher.get("options"))))
        if panel.get("type") == "geomap":
            layers = panel.get("options", {}).get("layers", []) if isinstance(panel.get("options"), dict) else []
            for k, layer in enumerate(_list(layers)):
                if not isinstance(layer, dict):
                    continue
                location = layer.get("location", {})
                mode = location.get("mode") if isinstance(location, dict) else None
                for key in _LOCATION_FIELDS.get(mode, ()) if isinstance(mode, str) else ():
                    wanted.append((f"{path}.options.layers[{k}].location.{key}", str(location.get(key))))
                color = layer.get("config", {}).get("style", {}).get("color", {})
                if isinstance(color, dict) and color.get("field"):
                    wanted.append((f"{path}.options.layers[{k}].config.style.color.field", str(color["field"])))
        for where, name in wanted:
            if name not in columns and name != "Time":
                self.add(where, f"{label}: field {name!r} is not a column of the panel's queries ({known}); the "
                                "option would apply to nothing")


