"""hotspotctl grafana: provisioning for a Grafana install, and checks of the NOC's dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import ReportFormat
from hotspotctl.cli.runtime import ReportFormatOption, runtime
from hotspotctl.errors import ExitCode
from hotspotctl.grafana.alerting import check_rules_file, rules, run_rules, shipped_rules_file
from hotspotctl.grafana.dashboards import Dashboard, Problem, check_folder, shipped_dashboards_dir
from hotspotctl.grafana.live import InfluxQL, LiveCheck, check_live
from hotspotctl.grafana.provisioning import DASHBOARDS_DIR, export
from hotspotctl.grafana.targets import Targets
from hotspotctl.grafana.templating import TimeRange, format_interval

app = typer.Typer(help="The NOC's Grafana dashboards: provisioning for a Grafana install, and checks.",
                  no_args_is_help=True)

@app.command("export")
def export_(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="folder to write (new, empty, or a previous export with --force)",
                                              show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="replace a previous export in DIRECTORY")] = False,
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """Write Grafana provisioning into DIRECTORY: the InfluxDB datasource, the dashboards, the alert rules.

    DIRECTORY/provisioning/datasources/hotspotctl.yaml is filled from the influx.* settings: URL,
    database (for InfluxDB 2.x and 3.x, the name of the DBRP mapping), and for influx.api v1 the
    user. The password or token is never written: the file says $HOTSPOTCTL_INFLUX_PASSWORD or
    Token $HOTSPOTCTL_INFLUX_TOKEN, which Grafana fills from its own environment when it starts.
    DIRECTORY/provisioning/dashboards/hotspotctl.yaml loads DIRECTORY/dashboards/*.json (checked
    first) into the folder "hotspotctl". The dashboards are drawn for the per-user target of the
    settings: evaluate.target_mbps is every per-user panel's threshold, and each programme of
    evaluate.target_by_program gets its own target line where a selection has that programme.
    DIRECTORY/provisioning/alerting/hotspotctl.yaml holds the NOC's alert rules (unified
    alerting): cycles late, missed or missing (3 intervals of schedule.interval_s), the spool
    not draining, InfluxDB away, a cluster's shards missing from a slot, fleet availability
    below 95 %, more than 20 outages open.
    All files appear together or none do.

    Then point Grafana at DIRECTORY/provisioning ([paths] provisioning in grafana.ini, or
    GF_PATHS_PROVISIONING), or copy the three YAML files into /etc/grafana/provisioning/.

    Examples:

      hotspotctl grafana export /etc/hotspotctl/grafana

      HOTSPOTCTL_INFLUX_API=v1 HOTSPOTCTL_INFLUX_URL=http://influx.noc:8086 hotspotctl grafana export ./grafana --force
    """
    rt = runtime(ctx)
    settings = rt.settings
    targets = Targets(settings.evaluate.target_mbps, dict(settings.evaluate.target_by_program))
    report = export(directory, settings.influx, min_interval_s=settings.schedule.interval_s, force=force,
                    targets=targets, programs=_programs(rt) if targets.by_program else None)
    if fmt == ReportFormat.JSON:
        output.print_json(report.to_json())
        return ExitCode.OK
    if rt.quiet:
        return ExitCode.OK
    dashboards = sum(1 for f in report.files if f.startswith(str(DASHBOARDS_DIR)))
    output.message(f"wrote {len(report.files)} files to {report.directory}"
                   f"{' (replacing the previous export)' if report.replaced else ''}: the datasource, the dashboards "
                   f"provider, {dashboards} dashboards and the alert rules")
    output.message(f"datasource hotspotctl-influxdb: InfluxQL at {report.url}, database {report.database}; "
                   f"auth: {report.auth}")
    if report.environment:
        names = ", ".join(report.environment)
        output.message(f"secrets: none in these files. grafana-server must have {names} in its environment "
                       f"(e.g. `systemctl edit grafana-server`: [Service] Environment={report.environment[0]}=...)")
    output.message(f"next: point Grafana's [paths] provisioning (GF_PATHS_PROVISIONING) at "
                   f"{report.directory / 'provisioning'}, or copy its three hotspotctl.yaml files into "
                   "/etc/grafana/provisioning/, and restart Grafana")
    for note in report.notes:
        output.message(f"note: {note}")
    return ExitCode.OK


def _programs(rt: Any) -> dict[str, str]:
    """name_key -> the inventory's spelling of each programme, when there is a store to read; else nothing."""
    from hotspotctl.errors import HotspotError
    from hotspotctl.inventory.fleet import Fleet
    from hotspotctl.names import name_key
    from hotspotctl.settings import DATABASE_FILE

    if not rt.settings.database_url and not (rt.settings.data_dir / DATABASE_FILE).exists():
        return {}  # no store yet: the programmes as the settings write them
    try:
        with rt.open_store() as store:
            fleet = Fleet.load(store, rt.zones())
    except HotspotError:
        return {}
    return {name_key(ap.program): ap.program for ap in fleet.aps.values() if ap.program}


def _parse_vars(pairs: list[str] | None) -> dict[str, list[str]]:
    given: dict[str, list[str]] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{pair!r}: write NAME=VALUE, e.g. district=Tlalpan", param_hint="--var")
        given.setdefault(name.strip(), []).append(value)
    return given


def _time_range(text: str) -> TimeRange:
    try:
        return TimeRange.last(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: a duration like 30m, 6h, 2d or 1w", param_hint="--range") from None


def _summary(dashboards: list[Dashboard]) -> list[dict[str, Any]]:
    out = []
    for d in dashboards:
        queries = d.queries()
        out.append({"file": d.file, "uid": d.uid, "title": d.title,
                    "panels": sum(1 for _ in d.panels()), "variables": [v.name for v in d.variables()],
                    "queries": len(queries)})
    return out


def _values_text(check: LiveCheck) -> str:
    parts = []
    for name, value in check.values.items():
        shown = "All" if value == "$__all" else (value if isinstance(value, str) else " + ".join(value))
        parts.append(f"{name}={shown}")
    return ", ".join(parts) or "no variables"


@app.command("check")
def check_(
    ctx: typer.Context,
    folder: Annotated[Path | None, typer.Argument(help="a folder of dashboard JSON (default: the shipped ones)",
                                                  show_default=False)] = None,
    live: Annotated[bool, typer.Option(
        "--live", help="also run every variable and panel query, expanded as Grafana would, against the configured "
                       "InfluxDB")] = False,
    range_: Annotated[str, typer.Option("--range", help="--live: the time range, as the dashboard's 'last ...'")
                      ] = "6h",
    var: Annotated[list[str] | None, typer.Option(
        "--var", help="--live: NAME=VALUE for a variable (repeat for several values); default All, or the first "
                      "option", show_default=False)] = None,
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """Check the dashboards: valid JSON, unique uids and panel ids, datasource references, variables, queries.

    Every problem names the file and the key path (panels[6].targets[0].query) and says what
    to change; exit 3 when there is any. Without FOLDER, the shipped alert rules
    (grafana/provisioning/alerting/hotspotctl.yaml) are checked too, and with --live each rule's
    query runs over its own window and the report says what Grafana would make of it now
    (Normal, Alerting). With --live, each variable query and each panel query
    then runs against InfluxDB (influx.* settings: v1 database and user, or v2/3.x token and
    DBRP database), with $timeFilter, $__interval and the variables expanded as Grafana expands
    them, and the report says per panel how many series and rows came back and which of the
    columns the panel shows came back empty. Exit 4 when a query fails (InfluxDB refuses it, or
    it names a field or tag the data does not have) or no panel gets any data; 5 when InfluxDB
    cannot be reached. A panel with no data for the chosen values alone is reported, not a failure.

    Examples:

      hotspotctl grafana check

      hotspotctl grafana check --live --range 1h

      hotspotctl grafana check --live --var district=Tlalpan --var "district=Milpa Alta" --format json
    """
    given = _parse_vars(var)
    time_range = _time_range(range_)
    rt = runtime(ctx)
    dashboards, problems = check_folder(folder)
    where = str(folder) if folder is not None else f"{shipped_dashboards_dir()} (shipped)"
    rule_uids: list[str] = []
    if folder is None:  # the shipped alert rules beside the shipped dashboards
        rule_uids, rule_problems = check_rules_file()
        problems = problems + rule_problems
    document: dict[str, Any] = {"folder": where, "ok": not problems, "dashboards": _summary(dashboards),
                                "problems": [p.to_json() for p in problems]}
    if folder is None:
        document["alert_rules"] = {"file": str(shipped_rules_file()), "rules": rule_uids}
    if problems:
        _report_problems(fmt, document, problems)
        return ExitCode.INVALID
    if not live:
        if fmt == ReportFormat.JSON:
            output.print_json(document)
        else:
            panels = sum(d["panels"] for d in document["dashboards"])
            queries = sum(d["queries"] for d in document["dashboards"])
            output.message(f"{len(dashboards)} dashboards OK in {where}: {panels} panels, {queries} queries "
                           f"({', '.join(d.uid for d in dashboards)})")
            if folder is None:
                output.message(f"{len(rule_uids)} alert rules OK in {shipped_rules_file()}")
        return ExitCode.OK

    live_report = check_live(dashboards, rt.settings.influx, time_range=time_range, given=given,
                             min_interval_s=rt.settings.schedule.interval_s)
    checks, outcomes = live_report.checks, live_report.outcomes
    errors, empty, nothing = live_report.errors, live_report.empty, live_report.nothing
    interval = live_report.interval
    rule_runs = run_rules(InfluxQL(rt.settings.influx), rules(rt.settings.schedule.interval_s)) \
        if folder is None else []
    rule_errors = [r for r in rule_runs if r.error is not None]
    document["ok"] = live_report.ok and not rule_errors
    document["live"] = live_report.to_json(f"last {range_}")
    if folder is None:
        document["live"]["alert_rules"] = [r.to_json() for r in rule_runs]
    if fmt == ReportFormat.JSON:
        output.print_json(document)
    else:
        rows = [(c.dashboard.uid, o.query.title, o.query.ref, o.series, o.rows, o.status)
                for c in checks for o in c.outcomes]
        output.print_table(("dashboard", "panel", "ref", "series", "rows", "status"), rows,
                           numeric=("series", "rows"))
        output.message(f"ran against {live_report.where}, last {range_}, $__interval {format_interval(interval)}")
        for c in checks:
            output.message(f"{c.dashboard.uid}: {_values_text(c)}")
        for o in errors + empty:
            label = "error" if o.status == "error" else "no data"
            output.message(f"{label}: {o.query.file}: {o.query.path} ({o.query.title!r}, {o.query.ref}): {o.detail}; "
                           f"ran: {o.expanded}")
        output.message(f"{len(outcomes) - len(errors) - len(empty)} of {len(outcomes)} queries returned what their "
                       f"panels show; {len(empty)} had no data for the values chosen, {len(errors)} failed")
        if nothing:
            output.message("error: no panel got any data: is influx.database (for 2.x/3.x, its DBRP mapping) the one "
                           "hotspotctl writes to, and has `hotspotctl run` written within --range?")
        elif empty and not errors:
            output.message("no data is not a fault by itself (an AP without clients has no delivered per-user "
                           "figure); --var picks other values")
        for run in rule_runs:
            shown = ", ".join(f"{v:g}" for v in run.verdict.values) if run.verdict and run.verdict.values else "-"
            output.message(f"alert rule {run.rule.uid}: {run.state} now (B = {shown})"
                           + (f": {run.error}" if run.error else ""))
    return ExitCode.PARTIAL if errors or nothing or rule_errors else ExitCode.OK


def _report_problems(fmt: ReportFormat, document: dict[str, Any], problems: list[Problem]) -> None:
    if fmt == ReportFormat.JSON:
        output.print_json(document)
        return
    output.print_table(("file", "where", "problem"), [(p.file, p.path, p.message) for p in problems])
    files = len({p.file for p in problems})
    output.message(f"error: {_count(len(problems), 'problem')} in {_count(files, 'dashboard file')} "
                   f"({document['folder']})")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"
