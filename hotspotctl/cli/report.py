"""hotspotctl report: availability over time and by group, and where the per-user target is missed for lack of
capacity."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from hotspotctl import clock
from hotspotctl.cli import output
from hotspotctl.cli.output import Format
from hotspotctl.cli.runtime import DistrictOption, FormatOption, parse_when, runtime
from hotspotctl.errors import ExitCode
from hotspotctl.evaluate.status import Limits
from hotspotctl.inventory.fleet import Fleet, Selection
from hotspotctl.reports.availability import (
    CAPACITY_COLUMNS,
    WindowRow,
    availability_by_period,
    availability_window,
    day_label,
    default_since,
    period_columns,
    period_start,
    window_columns,
)
from hotspotctl.reports.status import read_availability, read_capacity

app = typer.Typer(help="Reports for planning: availability over time, capacity shortfalls.", no_args_is_help=True)

_TABLE_LIMIT = 50


class By(StrEnum):
    DISTRICT = "district"
    PROGRAM = "program"
    SITE = "site"
    AP = "ap"
    ZONE = "zone"


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    ALL = "all"


_PERIODIC = (By.DISTRICT, By.PROGRAM)  # the hourly tallies are kept by district and programme


def _pct_cell(value: float | None, fmt: Format) -> Any:
    if fmt != Format.TABLE:
        return value
    return "-" if value is None else f"{value:.2f}"


@app.command("availability")
def availability(
    ctx: typer.Context,
    by: Annotated[By, typer.Option("--by", case_sensitive=False,
                                   help="one row per district, programme, site, AP or crew zone")] = By.DISTRICT,
    period: Annotated[Period | None, typer.Option(
        "--period", case_sensitive=False, show_default=False,
        help="days (from 00:00) or weeks (from Monday 00:00), in the city's time, or all: one row per group over "
             "the whole window, with the fleet's TOTAL [default: day by district or programme, all by site, AP "
             "or zone]")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", show_default=False,
        help="from the period that holds WHEN (with --period all: from WHEN): an ISO date or time (the city's "
             "time unless it says), or a span back from now (3d, 1w) [default: the last 7 days (all, or by day), "
             "the last 8 weeks by week, the current one included]")] = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Availability per day or week and district or programme, or over a window by site, AP or zone too.

    By day or week (district, programme): from the hourly tallies `hotspotctl run` keeps after
    every cycle: samples are AP-cycles evaluated (not under maintenance, state known);
    availability is the share of them not down; meeting target the share of per-user readings
    at or above the target. The city's days start at 00:00 and its weeks on Monday at 00:00
    (the timezone setting); the current period is partial.

    Over the window (--period all, the only one by site, AP or crew zone): from the outage
    ledger, one row per group, the least available first, then the fleet's TOTAL. Every AP
    counts the window's length in AP-hours, and is down while an outage whose causes include
    offline or site_offline has it among its APs (from the outage's opening to its close).
    availability_pct is 100 x (1 - down AP-hours / AP-hours), for a group and for the TOTAL
    alike: weighted by AP-hours, not a mean of the groups' percentages. json: {"rows": [...],
    "total": {...}, "since", "until"}.

    Examples:

      hotspotctl report availability

      hotspotctl report availability --by program --period week

      hotspotctl report availability --by site --since 30d

      hotspotctl report availability --by zone --period all --format json

      hotspotctl report availability --since 2026-03-01 --format csv > march.csv
    """
    now = clock.now()
    rt = runtime(ctx)
    tz = rt.settings.tzinfo
    if period is None:
        period = Period.DAY if by in _PERIODIC else Period.ALL
    if period != Period.ALL and by not in _PERIODIC:
        raise typer.BadParameter(f"--by {by.value} is over a window only (from the outage ledger): leave --period "
                                 "out or give --period all; days and weeks are kept by district and programme",
                                 param_hint="--period")
    if period == Period.ALL:
        start = parse_when(since, now, flag="--since", tz=tz) if since is not None else default_since(now, "day", tz)
        return _availability_window(rt, by.value, start, now, fmt)
    start = (period_start(parse_when(since, now, flag="--since", tz=tz), period, tz) if since is not None
             else default_since(now, period, tz))
    with rt.open_store() as store:
        hours = read_availability(store, start)
    rows = availability_by_period(hours, by.value, period.value, tz)
    columns = period_columns(by.value)
    if fmt == Format.JSON:
        output.print_json([{**dict(zip(columns, r.values(), strict=True)), "period": period.value} for r in rows])
    else:
        values = [(*r.values()[:4], _pct_cell(r.availability_pct, fmt), r.measured, r.meeting,
                   _pct_cell(r.meeting_target_pct, fmt)) for r in rows]
        if values or fmt == Format.CSV:
            output.emit(fmt, columns, values, numeric=columns[2:])
    if not rows and not rt.quiet:
        output.message(f"no availability recorded since {day_label(start, tz)}; `hotspotctl run` records it "
                       "after every cycle")
    return ExitCode.OK


def _availability_window(rt: Any, by: str, start: float, now: float, fmt: Format) -> ExitCode:
    """``--period all``: one row per group over [start, now] from the outage ledger, and the fleet's TOTAL."""
    tz = rt.settings.tzinfo
    with rt.open_store() as store:
        zones = rt.zones()
        fleet = Fleet.load(store, zones)
        rows, total = availability_window(store, fleet.aps.values(), by, start, now, zone_of=zones.zone_for)
    columns = window_columns(by)
    if fmt == Format.JSON:
        def record(row: WindowRow) -> dict[str, Any]:
            return dict(zip(columns, row.values(), strict=True))

        output.print_json({"by": by, "since": datetime.fromtimestamp(start, tz).isoformat(timespec="seconds"),
                           "until": datetime.fromtimestamp(now, tz).isoformat(timespec="seconds"),
                           "rows": [record(r) for r in rows],
                           "total": {k: v for k, v in record(total).items() if k != by}})
        return ExitCode.OK
    values = [(*r.values()[:4], _pct_cell(r.availability_pct, fmt), r.outages) for r in (*rows, total)]
    if rows or fmt == Format.CSV:
        output.emit(fmt, columns, values, numeric=columns[1:])
    if not rt.quiet:
        if not rows:
            output.message("no APs in the inventory: `hotspotctl inventory import` first")
        else:
            output.message(f"{len(rows):,} {by} rows from {day_label(start, tz)} to now, from the outage ledger; "
                           f"TOTAL is weighted by AP-hours")
    return ExitCode.OK


@app.command("capacity")
def capacity(
    ctx: typer.Context,
    district: DistrictOption = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=0, show_default=False,
        help=f"at most this many, largest shortfall first (default: {_TABLE_LIMIT} in a table, all in "
             "json/csv; 0 = all)")] = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """The hotspots whose clients get less than the per-user target: a list for planning, not for crews.

    cause is rf_limited when the air itself is full (the busiest radio's channel utilisation at
    or above evaluate.rf_busy_pct while under the target: another channel, band or AP would
    help, not a faster link), congested when the link is healthy but has too many clients to
    share it (more APs, or a second radio, would help), below_target when the AP's capacity
    itself is under the target (a thin backhaul: a faster link would). Ordered by the shortfall,
    (target - per-user Mb/s) x clients: what it would take to bring everyone to the target,
    largest first. From the health `hotspotctl run` keeps; the figures are the last cycle's.

    Examples:

      hotspotctl report capacity

      hotspotctl report capacity --district iztapalapa --limit 20

      hotspotctl report capacity --format csv > capacity.csv
    """
    rt = runtime(ctx)
    limits = Limits(rt.settings.evaluate)
    with rt.open_store() as store:
        fleet = Fleet.load(store, rt.zones())
        picked = fleet.select(Selection(districts=tuple(district or ())))
        names = {site_id: site.name for site_id, site in fleet.sites.items()}
        found = read_capacity(store, picked, lambda ap: limits.for_ap(ap).target_mbps, names)
    cap = limit if limit is not None else (_TABLE_LIMIT if fmt == Format.TABLE else 0)
    shown = found[:cap] if cap else found
    if fmt == Format.TABLE:
        columns = ("ap", "site", "district", "program", "clients", "per-user Mb/s", "target", "capacity Mb/s",
                   "link Mb/s", "shortfall Mb/s", "cause")
        if shown:
            output.print_table(columns, [(r.ap, r.site_name, r.district, r.program, *r.values()[5:])
                                         for r in shown], numeric=columns[4:-1])
        if not rt.quiet:
            congested = sum(1 for r in found if r.cause == "congested")
            rf_limited = sum(1 for r in found if r.cause == "rf_limited")
            clients = sum(r.clients for r in found)
            more = f"; showing {len(shown):,}, --limit 0 for all" if len(shown) < len(found) else ""
            rf = f"{rf_limited:,} RF-limited, " if rf_limited else ""
            output.message(f"{len(found):,} APs below the per-user target ({rf}{congested:,} congested, "
                           f"{len(found) - congested - rf_limited:,} below target), {clients:,} clients on them{more}")
    else:
        output.emit(fmt, CAPACITY_COLUMNS, [r.values() for r in shown])
    return ExitCode.OK
