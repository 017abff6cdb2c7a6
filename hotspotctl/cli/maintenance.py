"""hotspotctl maintenance: planned work on an AP, a site or a district, during which no new outages open."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hotspotctl import clock
from hotspotctl.cli import output
from hotspotctl.cli.output import Format
from hotspotctl.cli.runtime import FormatOption, parse_when, runtime
from hotspotctl.errors import ExitCode, InputError
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.inventory.maintenance import (
    covered_aps,
    describe_target,
    maintenance_windows,
    plan_window,
    remove_window,
    window_state,
    window_target,
)
from hotspotctl.reports.crews import iso, local_iso, local_time

app = typer.Typer(help="Maintenance windows: planned work during which `hotspotctl run` opens no new outages "
                       "for the APs covered.", no_args_is_help=True)

_WHEN = "an ISO date or time (the city's time unless it says), now, a span ahead (+2h, +1d) or back (2h)"


@app.command("add")
def add(
    ctx: typer.Context,
    until: Annotated[str, typer.Option("--until", metavar="WHEN", show_default=False,
                                       help=f"when it ends: {_WHEN}")],
    reason: Annotated[str, typer.Option("--reason", show_default=False,
                                        help="what the work is (shown in `maintenance list`)")],
    site: Annotated[str | None, typer.Option("--site", show_default=False, help="a site, by id or name")] = None,
    ap: Annotated[str | None, typer.Option("--ap", show_default=False, help="one AP, by id")] = None,
    district: Annotated[str | None, typer.Option(
        "--district", show_default=False, help="a whole district, any case or accents, or a unique prefix")] = None,
    start: Annotated[str, typer.Option("--from", metavar="WHEN", help=f"when the work starts: {_WHEN}")] = "now",
) -> ExitCode:
    """Plan maintenance on one AP, site or district; print the new window's id.

    While a window is active, `hotspotctl run` keeps polling and recording the APs it covers
    but opens no new outage for them (an outage already open goes on). Give exactly one of
    --site, --ap and --district; it must be in the inventory. Times are the city's (the timezone
    setting) unless they carry an offset.

    Examples:

      hotspotctl maintenance add --site 'MEX-AIM-AER-AICMT1-M' --until +4h --reason "switch replacement"

      hotspotctl maintenance add --district tlalpan --from 2026-03-07T06:00 --until +1d --reason "CFE works"

      id=$(hotspotctl maintenance add --ap PILARES-X_AP_01 --until +1d --reason "mast repair")
    """
    if sum(value is not None for value in (site, ap, district)) != 1:
        raise typer.BadParameter("give exactly one of --site, --ap and --district", param_hint="--site/--ap/--district")
    now = clock.now()
    rt = runtime(ctx)
    tz = rt.settings.tzinfo
    starts_at = parse_when(start, now, flag="--from", ahead=True, tz=tz)
    ends_at = parse_when(until, now, flag="--until", ahead=True, tz=tz)
    if ends_at <= starts_at:
        raise InputError(f"--until {until!r} ({local_time(ends_at, tz)}) is not after --from {start!r} "
                         f"({local_time(starts_at, tz)}); for a time ahead of now write +2h, not 2h")
    if ends_at <= now:
        raise InputError(f"--until {until!r} ({local_time(ends_at, tz)}) is already past: a window must end "
                         "ahead of now")
    text = " ".join(reason.split())
    if not text:
        raise InputError("--reason is empty: say what the work is")
    with rt.open_store() as store:
        fleet = Fleet.load(store, rt.zones())
        scope, target = window_target(fleet, site, ap, district)
        window = plan_window(store, scope, target, starts_at, ends_at, text, now)
    print(window.id)
    if not rt.quiet:
        output.message(f"maintenance window {window.id}: {describe_target(fleet, scope, target)}, "
                       f"{covered_aps(fleet, window):,} APs, {local_time(starts_at, tz)} to {local_time(ends_at, tz)}; "
                       "no new outages open for them meanwhile")
    return ExitCode.OK


LIST_COLUMNS = ("id", "scope", "target", "name", "aps", "starts", "ends", "state", "reason")


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="past windows too")] = False,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Maintenance windows by start: active and future ones, or --all.

    aps is how many APs of the inventory the window covers now.

    Examples:

      hotspotctl maintenance list

      hotspotctl maintenance list --all --format json
    """
    now = clock.now()
    rt = runtime(ctx)
    with rt.open_store() as store:
        fleet = Fleet.load(store, rt.zones())
        windows = maintenance_windows(store, ending_after=None if all_ else now)
    tz = rt.settings.tzinfo
    when = (iso if fmt == Format.JSON else (lambda at: local_iso(at, tz)) if fmt == Format.CSV
            else (lambda at: local_time(at, tz)))
    rows: list[tuple[Any, ...]] = []
    for w in windows:
        name = fleet.sites[w.target].name if w.scope == "site" and w.target in fleet.sites else ""
        rows.append((w.id, w.scope, w.target, name, covered_aps(fleet, w), when(w.starts_at), when(w.ends_at),
                     window_state(w, now), w.reason))
    if fmt == Format.JSON:
        output.print_json([{**w.to_json(), "name": row[3], "aps": row[4], "starts": row[5], "ends": row[6],
                            "state": row[7]} for w, row in zip(windows, rows, strict=True)])
    elif rows or fmt == Format.CSV:
        output.emit(fmt, LIST_COLUMNS, rows, numeric=("id", "aps"))
    if not windows and fmt == Format.TABLE and not rt.quiet:
        output.message("no maintenance windows" + ("" if all_ else " active or ahead; --all shows past ones too"))
    return ExitCode.OK


@app.command("remove")
def remove(
    ctx: typer.Context,
    window_id: Annotated[int, typer.Argument(metavar="ID", help="the window's id (see `maintenance list`)",
                                             show_default=False)],
) -> ExitCode:
    """Remove a maintenance window (end it early, or cancel it); new outages open again for its APs.

    Exit 3 when there is no window with that id.

    Example:

      hotspotctl maintenance remove 7
    """
    rt = runtime(ctx)
    with rt.open_store() as store:
        remove_window(store, window_id)
    if not rt.quiet:
        output.message(f"removed maintenance window {window_id}")
    return ExitCode.OK
