"""hotspotctl audit: who did what to which APs over SSH (ap ssh, ap exec, ap reboot), and what they answered."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.text import Text

from hotspotctl import clock
from hotspotctl.actions.audit import audit_entries, audit_entry
from hotspotctl.actions.redact import clean
from hotspotctl.cli import output
from hotspotctl.cli.output import Format, ReportFormat
from hotspotctl.cli.runtime import FormatOption, ReportFormatOption, human_duration, parse_when, runtime
from hotspotctl.errors import ExitCode, NotFoundError
from hotspotctl.reports.crews import iso, local_iso, local_time
from hotspotctl.store.audit import AuditEntry

app = typer.Typer(help="The audit log of actions on devices (ap ssh, ap exec, ap reboot) and on outages by hand "
                       "(outages ack|assign|note|close, crews done).", no_args_is_help=True)

LIST_COLUMNS = ("id", "started", "took", "user", "action", "command", "aps", "ok", "failed", "status")
RESULT_COLUMNS = ("ap", "ok", "duration_s", "error_kind", "error")


class Action(StrEnum):
    SSH = "ssh"
    EXEC = "exec"
    REBOOT = "reboot"
    ACK = "ack"  # the outages' hand actions (outages ack|assign|note|close, crews done): targets outage:<id>
    ASSIGN = "assign"
    NOTE = "note"
    CLOSE = "close"
    DONE = "done"


def _took(entry: AuditEntry) -> str:
    return human_duration(entry.finished_at - entry.started_at) if entry.finished_at is not None else ""


def _times(entry: AuditEntry) -> dict[str, Any]:
    return {"started": iso(entry.started_at),
            "finished": iso(entry.finished_at) if entry.finished_at is not None else None}


@app.command("list")
def list_(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", show_default=False,
        help="only actions started since: a span back from now (24h, 7d) or an ISO date or time (the city's time "
             "unless it says)")] = None,
    action: Annotated[Action | None, typer.Option(
        "--action", case_sensitive=False, show_default=False, help="only this action")] = None,
    ap: Annotated[str | None, typer.Option(
        "--ap", show_default=False, help="only actions that targeted this AP (its exact id)")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="at most this many, newest first")] = 50,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Actions taken on devices, newest first: when, who, what, on how many APs, how it ended.

    status is running (still going, or the process died), ok, partial (some APs failed),
    failed (none answered) or interrupted. user is the OS user, with the one behind sudo.
    `hotspotctl audit show ID` gives each AP's result and output.

    Examples:

      hotspotctl audit list

      hotspotctl audit list --since 24h --action reboot

      hotspotctl audit list --ap PILARES-X_AP_01 --since 2026-11-20 -f json
    """
    rt = runtime(ctx)
    tz = rt.settings.tzinfo
    since_at = parse_when(since, clock.now(), flag="--since", tz=tz) if since is not None else None
    with rt.open_store() as store:
        entries = audit_entries(store, since=since_at, action=action.value if action else None, ap=ap, limit=limit)
    if fmt == Format.JSON:
        output.print_json([{**e.to_json(results=False), **_times(e)} for e in entries])
        return ExitCode.OK
    when = (lambda at: local_iso(at, tz)) if fmt == Format.CSV else (lambda at: local_time(at, tz))
    rows = [(e.id, when(e.started_at), _took(e), e.user, e.action, clean(e.command), len(e.targets), e.ok_count,
             e.failed_count, e.status) for e in entries]
    if rows or fmt == Format.CSV:
        output.emit(fmt, LIST_COLUMNS, rows, numeric=("id", "aps", "ok", "failed"))
    if not entries and not rt.quiet:
        output.message("no actions in the audit log" + (" that match" if since or action or ap else ""))
    return ExitCode.OK


@app.command("show")
def show(
    ctx: typer.Context,
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="the entry's id (see `audit list`)",
                                            show_default=False)],
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """One action in full: who, when, the command, the selection, and every AP's result and output.

    Outputs are kept to their first 2,000 characters (output_chars gives the full length when cut).

    Exit 3 when there is no entry with that id.

    Examples:

      hotspotctl audit show 12

      hotspotctl audit show 12 -f json | jq -r '.results[] | select(.ok | not) | .ap'
    """
    rt = runtime(ctx)
    with rt.open_store() as store:
        entry = audit_entry(store, entry_id)
    if entry is None:
        raise NotFoundError(f"no audit entry {entry_id}; `hotspotctl audit list` shows their ids")
    if fmt == ReportFormat.JSON:
        output.print_json({**entry.to_json(), **_times(entry)})
        return ExitCode.OK
    selection = " ".join(f"--{flag} {value}" for flag, values in entry.selection.items() for value in values)
    tz = rt.settings.tzinfo
    finished = local_time(entry.finished_at, tz) if entry.finished_at is not None else "(not finished)"
    output.print_table(("field", "value"), [
        ("id", entry.id), ("started", local_time(entry.started_at, tz)), ("finished", finished),
        ("user", entry.user), ("action", entry.action), ("command", clean(entry.command)),
        ("selection", selection), ("targets", ", ".join(entry.targets)), ("status", entry.status),
        ("result", f"{entry.ok_count:,} ok, {entry.failed_count:,} failed of {len(entry.targets):,} APs")])
    if not entry.results:
        return ExitCode.OK
    output.print_table(RESULT_COLUMNS, [(r.get("ap"), r.get("ok"), r.get("duration_s"), r.get("kind"),
                                         clean(str(r.get("error") or ""))) for r in entry.results],
                       title="Results", numeric=("duration_s",))
    console = output.stdout()
    for r in entry.results:
        text = clean(str(r.get("output") or ""))
        if not text.strip():
            continue
        cut = f" (first {len(text):,} of {r['output_chars']:,} characters)" if r.get("output_chars") else ""
        console.rule(Text(f"{r.get('ap')}{cut}"), align="left")
        console.print(Text(text.rstrip("\n")))
    return ExitCode.OK
