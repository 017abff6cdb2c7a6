"""hotspotctl report: availability over time, and where the per-user target is missed for lack of capacity."""

from __future__ import annotations

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
    availability_by_period,
    day_label,
    default_since,
    period_columns,
    period_start,
)
from hotspotctl.reports.status import read_availability, read_capacity

app = typer.Typer(help="Reports for planning: availability over time, capacity shortfalls.", no_args_is_help=True)

_TABLE_LIMIT = 50


class By(StrEnum):
    DISTRICT = "district"
    PROGRAM = "program"


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"


def _pct_cell(value: float | None, fmt: Format) -> Any:
    if fmt != Format.TABLE:
        return value
    return "-" if value is None else f"{value:.2f}"


@app.command("availability")
def availability(
    ctx: typer.Context,
    by: Annotated[By, typer.Option("--by", case_sensitive=False, help="one row per district or per programme")
                  ] = By.DISTRICT,
    period: Annotated[Period, typer.Option("--period", case_sensitive=False,
                                           help="days (from 00:00) or weeks (from Monday 00:00), in the city's time")
                      ] = Period.DAY,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", show_default=False,
        help="from the period that holds WHEN: an ISO date or time (the city's time unless it says), or a span "
             "back from "
             "now (3d, 1w) [default: the last 7 days by day, the last 8 weeks by week, the current one "
             "included]")] = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Availability and the share meeting the per-user target, per day or week and district or programme.

    From the hourly tallies `hotspotctl run` keeps after every cycle: samples are AP-cycles
    evaluated (not under maintenance, state known); availability is the share of them not
    down; meeting target the share of per-user readings at or above the target. Periods are
    the city's (the timezone setting): days start at 00:00, weeks on Monday at 00:00. The
    current period is partial.

    Examples:

      hotspotctl report availability

      hotspotctl report availability --by program --period week

      hotspotctl report availability --since 2026-03-01 --format csv > march.csv
    """
    now = clock.now()
    rt = runtime(ctx)
    tz = rt.settings.tzinfo
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
