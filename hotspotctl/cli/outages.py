"""hotspotctl outages: the ledger of site outages (list, show), the NOC's hand actions on it (ack, assign, note,
close), and reading WHEN arguments."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer

from hotspotctl import clock
from hotspotctl.cli import output
from hotspotctl.cli.output import Format, ReportFormat
from hotspotctl.cli.runtime import (
    FormatOption,
    ReportFormatOption,
    SiteOption,
    ZoneOption,
    human_duration,
    parse_when,
    runtime,
)
from hotspotctl.errors import ExitCode
from hotspotctl.evaluate.outages import Outage
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.reports.crews import iso, local_iso, local_time
from hotspotctl.reports.outages import (
    NOTE_LIMIT,
    HandResult,
    acknowledge_outages,
    acting_user,
    ap_healths,
    assign_outage,
    close_outage,
    find_outages,
    load_outage,
    note_outage,
    one_line,
    site_place,
)

app = typer.Typer(help="The outage ledger: one record per site with trouble a crew can fix, opened and closed "
                       "by `hotspotctl run`.", no_args_is_help=True)

_TABLE_LIMIT = 100
def open311_reference(delivery: Mapping[str, Any]) -> str | None:
    """The Open311 service request id (or token) an outage was filed under."""
    reference = delivery.get("open311")
    if not isinstance(reference, Mapping):
        return None
    value = reference.get("id") or reference.get("token")
    return str(value) if value else None


def _delivered(outage: Outage) -> str:
    channels = sorted(outage.delivery)
    ticket = open311_reference(outage.delivery)
    return ", ".join(f"open311 {ticket}" if c == "open311" and ticket else c for c in channels)


LIST_COLUMNS = ("id", "site", "site_name", "zone", "cause", "aps_now", "peak_aps", "opened", "closed",
                "duration", "peak_clients", "delivered", "acked_by", "acked", "assigned_to", "closed_by", "visits")


def _acked(outage: Outage) -> str:
    return outage.acked_by or ("yes" if outage.acked_at is not None else "")


@app.command("list")
def list_(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="only the outages still open")] = False,
    unacked: Annotated[bool, typer.Option(
        "--unacked", help="only the open outages nobody has acknowledged yet (implies --open)")] = False,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", show_default=False,
        help="outages open at any time since WHEN: an ISO date or time (the city's time unless it says), or a "
             "span back from now (2h, 3d, 1w)")] = None,
    zone: ZoneOption = None,
    site: SiteOption = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=0, show_default=False,
        help=f"at most this many, newest first (default: {_TABLE_LIMIT} in a table, all in json/csv; 0 = all)")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """The outage ledger, newest first: site, cause, APs affected now and at the peak, how long, who was told,
    who acknowledged it, who it is assigned to, and the crews' visits.

    `hotspotctl run` opens one outage per site when its APs have trouble a crew can fix
    (site_offline, offline, reboot_loop, flapping, uplink_degraded) and closes it as of their
    return once they have been healthy for evaluate.up_after cycles. Times are the city's (the
    timezone setting; CSV with the UTC offset); JSON keeps UTC.

    Examples:

      hotspotctl outages list --open

      hotspotctl outages list --unacked

      hotspotctl outages list --since 3d --zone iztapalapa

      hotspotctl outages list --since 2026-03-01 --format csv > march.csv
    """
    now = clock.now()
    rt = runtime(ctx)
    start = parse_when(since, now, flag="--since", tz=rt.settings.tzinfo) if since is not None else None
    with rt.open_store(create=False) as store:
        fleet = Fleet.load(store, rt.zones())
        found = find_outages(store, fleet, open_only=open_only or unacked, since=start, zones=zone, sites=site)
    if unacked:
        found = [o for o in found if o.acked_at is None]
        open_only = True
    if rt.store_missing and not rt.quiet:
        output.message(f"no outages: nothing is stored in {rt.where_state_is()}")
    cap = limit if limit is not None else (_TABLE_LIMIT if fmt == Format.TABLE else 0)
    shown = found[:cap] if cap else found
    tz = rt.settings.tzinfo
    when = (lambda at: local_iso(at, tz)) if fmt == Format.CSV else (lambda at: local_time(at, tz))
    if fmt == Format.JSON:
        output.print_json([_outage_json(o, fleet, now) for o in shown])
    else:
        rows = [(o.id, o.site, site_place(fleet, o.site)[0], o.zone, o.cause, len(o.aps_now), o.peak_aps,
                 when(o.opened_at), when(o.closed_at) if o.closed_at is not None else "",
                 human_duration(o.duration_s(now)), o.peak_clients, _delivered(o)) for o in shown]
        if fmt == Format.CSV:
            output.print_csv(LIST_COLUMNS, [(*row, o.acked_by or "", when(o.acked_at) if o.acked_at else "",
                                             o.assigned_to or "", o.closed_by or "", len(o.visits))
                                            for row, o in zip(rows, shown, strict=True)])
        elif rows:
            output.print_table(("id", "site", "name", "zone", "cause", "aps now", "peak aps", "opened", "closed",
                                "duration", "peak clients", "delivered", "acked", "assigned", "visits"),
                               [(*row, _acked(o), o.assigned_to or "", len(o.visits) or "")
                                for row, o in zip(rows, shown, strict=True)],
                               numeric=("id", "aps now", "peak aps", "peak clients", "visits"))
    if fmt == Format.TABLE and not rt.quiet:
        if not found:
            since_text = f" since {local_time(start, tz)}" if start is not None else ""
            output.message(f"no {'unacknowledged ' if unacked else ''}{'open ' if open_only else ''}outages"
                           f"{' there' if zone or site else ''}{since_text}")
        elif len(shown) < len(found):
            output.message(f"showing {len(shown):,} of {len(found):,} outages; --limit 0 for all, or --format csv")
    return ExitCode.OK


def _outage_json(outage: Outage, fleet: Fleet, now: float) -> dict[str, Any]:
    name, district = site_place(fleet, outage.site)
    return {**outage.to_json(now), "site_name": name, "district": district,
            "opened": iso(outage.opened_at), "updated": iso(outage.updated_at),
            "closed": iso(outage.closed_at) if outage.closed_at is not None else None,
            "duration": human_duration(outage.duration_s(now)), "open": outage.open,
            "delivered": sorted(outage.delivery), "open311": open311_reference(outage.delivery)}


IdArgument = Annotated[int, typer.Argument(metavar="ID", help="the outage's id (see `outages list`)",
                                           show_default=False)]


@app.command("show")
def show(ctx: typer.Context, outage_id: IdArgument, fmt: ReportFormatOption = ReportFormat.TABLE) -> ExitCode:
    """Everything about one outage: where, causes, every AP and its health now, delivery references, notes.

    Times are the city's (the timezone setting); JSON keeps UTC. Exit 3 when there is no outage with that id.

    Examples:

      hotspotctl outages show 42

      hotspotctl outages show 42 --format json | jq .delivery
    """
    now = clock.now()
    rt = runtime(ctx)
    with rt.open_store() as store:
        outage = load_outage(store, outage_id)
        fleet = Fleet.load(store, rt.zones())
        healths = ap_healths(store, list(outage.aps))
    now_set = set(outage.aps_now)
    aps: list[dict[str, Any]] = []
    for ap_id in outage.aps:
        ap, health = fleet.aps.get(ap_id), healths.get(ap_id)
        aps.append({"ap": ap_id, "affected_now": ap_id in now_set, "program": ap.program if ap else None,
                    "state": health.state if health else "unknown",
                    "causes": list(health.causes) if health else [],
                    "reason": f"{health.reason_kind}: {health.reason}" if health and health.reason_kind else None,
                    "clients": health.clients if health else None,
                    "per_user_mbps": health.per_user_mbps if health else None,
                    "in_inventory": ap is not None})
    document = {**_outage_json(outage, fleet, now), "ap_detail": aps}
    if fmt == Format.JSON:
        output.print_json(document)
        return ExitCode.OK
    console = output.stdout()
    tz = rt.settings.tzinfo
    rows: list[tuple[str, Any]] = [
        ("id", outage.id), ("state", "open" if outage.open else "closed"), ("site", outage.site),
        ("site name", document["site_name"]), ("district", document["district"]), ("zone", outage.zone),
        ("cause", outage.cause), ("causes", ", ".join(outage.causes)), ("opened", local_time(outage.opened_at, tz)),
        ("updated", local_time(outage.updated_at, tz)),
        ("closed", local_time(outage.closed_at, tz) if outage.closed_at is not None else ""),
        ("duration", document["duration"]),
        ("aps now", len(outage.aps_now)), ("peak aps", outage.peak_aps), ("clients now", outage.clients_now),
        ("peak clients", outage.peak_clients),
        ("acknowledged", f"{outage.acked_by} at {local_time(outage.acked_at, tz)}" if outage.acked_at is not None
         else "no"),
        ("assigned to", f"{outage.assigned_to} since {local_time(outage.assigned_at, tz)}"
         if outage.assigned_to and outage.assigned_at is not None else outage.assigned_to or ""),
        ("closed by", outage.closed_by or ("the run" if not outage.open else ""))]
    if outage.delivery:
        for channel, reference in sorted(outage.delivery.items()):
            rows.append((f"delivered: {channel}", _reference_text(reference)))
    else:
        rows.append(("delivered", "not yet"))
    console.print(output.table(("field", "value"), rows))
    console.print(output.table(
        ("ap", "program", "affected now", "state", "causes", "clients", "per-user Mb/s"),
        [(a["ap"], a["program"], a["affected_now"], a["state"], a["reason"] or ", ".join(a["causes"]), a["clients"],
          None if a["per_user_mbps"] is None else round(a["per_user_mbps"], 1)) for a in aps],
        title=f"APs ({len(aps)}; health as of the last cycle)", numeric=("clients", "per-user Mb/s")))
    if outage.visits:
        console.print(output.table(
            ("at", "by", "via", "fixed", "note"),
            [(local_time(v["at"], tz) if isinstance(v.get("at"), int | float) else "", v.get("by"), v.get("via"),
              _fixed_text(v.get("fixed")), v.get("note")) for v in outage.visits],
            title=f"visits ({len(outage.visits)})"))
    if outage.notes:
        console.print(output.table(("notes",), [(line,) for line in outage.notes.splitlines()]))
    return ExitCode.OK


def _fixed_text(fixed: Any) -> str:
    return "yes" if fixed is True else "no" if fixed is False else ""


def _reference_text(reference: Any) -> str:
    if isinstance(reference, Mapping):
        return ", ".join(f"{key}={value}" for key, value in reference.items())
    return str(reference)


ByOption = Annotated[str | None, typer.Option(
    "--by", metavar="WHO", show_default=False,
    help="who acts, as the ledger and the audit log keep it (default: $HOTSPOTCTL_USER, else your login name)")]
NoteOption = Annotated[str | None, typer.Option(
    "--note", metavar="TEXT", show_default=False, help="a note to add with it (one line)")]
IdsArgument = Annotated[list[int], typer.Argument(metavar="ID...", help="the outages' ids (see `outages list`)",
                                                  show_default=False)]


def _command(*parts: Any) -> str:
    """The command as the audit log keeps it."""
    return shlex.join(["hotspotctl", "outages", *(str(p) for p in parts if p is not None)])


def _say(rt: Any, results: Sequence[HandResult], by: str) -> None:
    if rt.quiet:
        return
    for r in results:
        output.message(f"outage {r.outage.id} ({r.outage.site}): {r.done}" + (f" by {by}" if r.changed else ""))


@app.command("ack")
def ack(ctx: typer.Context, outage_ids: IdsArgument, by: ByOption = None, note: NoteOption = None) -> ExitCode:
    """Acknowledge open outages: the NOC has seen them, and its notices about them stop repeating.

    Who and when are kept (`outages show`, `outages list`, JSON acked_by / acked_at) and written to the
    audit log. An outage already acknowledged keeps its first acknowledgement. All or nothing: an id that
    is unknown or an outage already closed stops the command with exit 3 and nothing written.

    Examples:

      hotspotctl outages ack 42

      hotspotctl outages ack 42 43 --by "ana (NOC)" --note "CFE reports a power cut in the area"
    """
    rt = runtime(ctx)
    who = acting_user(by)
    text = one_line(note, "the note") if note is not None else None
    with rt.open_store() as store:
        results = acknowledge_outages(store, outage_ids, by=who, at=clock.now(), tz=rt.settings.tzinfo, note=text,
                                      command=_command("ack", *outage_ids))
    _say(rt, results, who)
    return ExitCode.OK


@app.command("assign")
def assign(
    ctx: typer.Context,
    outage_id: IdArgument,
    to: Annotated[str, typer.Option("--to", metavar="WHO", show_default=False,
                                    help="the crew or person who takes it (required)")],
    by: ByOption = None,
) -> ExitCode:
    """Assign an open outage to a crew or a person; assigning again hands it over (the notes keep the history).

    Exit 3 when there is no outage with that id or it is closed (nothing written).

    Examples:

      hotspotctl outages assign 42 --to "cuadrilla sur 3"
    """
    rt = runtime(ctx)
    who, target = acting_user(by), one_line(to, "--to", 200)
    with rt.open_store() as store:
        result = assign_outage(store, outage_id, to=target, by=who, at=clock.now(), tz=rt.settings.tzinfo,
                               command=_command("assign", outage_id, "--to", target))
    _say(rt, [result], who)
    return ExitCode.OK


@app.command("note")
def note(
    ctx: typer.Context,
    outage_id: IdArgument,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="the note (quote it)", show_default=False)],
    by: ByOption = None,
) -> ExitCode:
    """Add a note to an outage, open or closed: what a crew found, a ticket number, a call made.

    The notes get a line "YYYY-mm-dd HH:MM who: text" in the city's time. Exit 3 when there is no outage
    with that id.

    Examples:

      hotspotctl outages note 42 "CFE confirms a power cut on the block; back by 18:00"

      hotspotctl outages note 42 "crew 3 replaced the PoE injector" --by "cuadrilla 3"
    """
    line = one_line(text, "the note", NOTE_LIMIT)
    rt = runtime(ctx)
    who = acting_user(by)
    with rt.open_store() as store:
        result = note_outage(store, outage_id, line, by=who, at=clock.now(), tz=rt.settings.tzinfo,
                             command=_command("note", outage_id))
    if not rt.quiet:
        output.message(f"outage {outage_id}: noted {result.done!r}")
    return ExitCode.OK


@app.command("close")
def close(ctx: typer.Context, outage_id: IdArgument, by: ByOption = None, note: NoteOption = None) -> ExitCode:
    """Close an open outage by hand, now: it leaves the crew lists and the NOC's notices.

    closed_by keeps who (the run's own closes leave it empty). A hand close says "handled", it does not
    hide a fault: if the site's APs are still in trouble, the next cycle of `hotspotctl run` opens a new
    outage for the site. Exit 3 when there is no outage with that id or it is already closed.

    Examples:

      hotspotctl outages close 42 --note "site closed for works until Monday"
    """
    rt = runtime(ctx)
    who = acting_user(by)
    text = one_line(note, "the note") if note is not None else None
    with rt.open_store() as store:
        result = close_outage(store, outage_id, by=who, at=clock.now(), tz=rt.settings.tzinfo, note=text,
                              command=_command("close", outage_id))
    _say(rt, [result], who)
    return ExitCode.OK
