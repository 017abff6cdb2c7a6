"""hotspotctl status: the fleet now, by district and by programme."""

from __future__ import annotations

from typing import Any

import typer

from hotspotctl import clock
from hotspotctl.cli import output
from hotspotctl.cli.output import Format, ReportFormat
from hotspotctl.cli.runtime import DistrictOption, ReportFormatOption, runtime
from hotspotctl.errors import ExitCode
from hotspotctl.inventory.fleet import Fleet, Selection
from hotspotctl.reports.availability import StatusTally
from hotspotctl.reports.crews import iso, local_time
from hotspotctl.reports.status import read_fleet_status

COLUMNS = ("aps", "up", "degraded", "down", "unknown", "unmonitored", "misconfigured", "below target",
           "avail 24h %", "meeting target 24h %", "open outages")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _row(name: str, t: StatusTally) -> tuple[Any, ...]:
    return (name, t.aps, t.up, t.degraded, t.down, t.unknown, t.unmonitored, t.misconfigured, t.below_target,
            _pct(t.availability_pct), _pct(t.meeting_target_pct), t.open_outages)


def status(ctx: typer.Context, district: DistrictOption = None,
           fmt: ReportFormatOption = ReportFormat.TABLE) -> ExitCode:
    """The fleet now: APs up, degraded, down and unknown, below the per-user target, availability and
    the share meeting the target over the last 24 hours, and open outages; by district and by programme.

    States and causes are those `hotspotctl run` keeps after every poll cycle (an AP it has not
    evaluated yet is unknown). An AP that cannot be read for a reason no crew can fix is not down:
    it is unmonitored (no management address, a name that does not resolve, no profile or
    credential set) or misconfigured (wrong community or SNMPv3 keys, a changed host key, the
    agent's own error), listed by reason with the first APs and the error. They are neither up nor
    down in availability and never crew stops. Times are the city's (the timezone setting); JSON
    keeps UTC. "below target" counts the APs whose clients get less than the
    per-user target (causes below_target or congested). Availability is the share of evaluated
    AP-cycles not down, and meeting target the share of per-user readings at or above the target,
    over the 24 UTC hours up to now, leaving out APs under maintenance. An open outage counts in
    every district and programme its APs belong to.

    Examples:

      hotspotctl status

      hotspotctl status --district iztapalapa --district tlalpan

      hotspotctl status --format json | jq '.fleet.availability_pct'
    """
    now = clock.now()
    rt = runtime(ctx)
    with rt.open_store(create=False) as store:
        fleet = Fleet.load(store, rt.zones())
        picked = fleet.select(Selection(districts=tuple(district or ())))
        districts = {ap.district for ap in picked} if district else None
        result = read_fleet_status(store, picked, now, districts=districts)
    if not fleet.aps and not rt.quiet:
        output.message(f"the inventory is empty in {rt.where_state_is()}: `hotspotctl inventory import FILE` first, "
                       "then `hotspotctl run`")
    elif not result.evaluated and not rt.quiet:
        output.message("nothing evaluated yet: `hotspotctl run` polls the fleet and keeps each AP's state "
                       "(or `hotspotctl demo`, on a simulated city)")
    if fmt == Format.JSON:
        output.print_json({**result.to_json(), "as_of": iso(now)})
        return ExitCode.OK
    if not result.evaluated:
        return ExitCode.OK
    f = result.fleet
    console = output.stdout()
    console.print(
        f"{f.aps:,} APs: {f.up:,} up, {f.degraded:,} degraded, {f.down:,} down, {f.unknown:,} unknown, "
        f"{f.unmonitored:,} unmonitored, {f.misconfigured:,} misconfigured; "
        f"{f.below_target:,} below target; availability 24h {_pct(f.availability_pct)}%, meeting target 24h "
        f"{_pct(f.meeting_target_pct)}%; {f.open_outages:,} open outages (as of {local_time(now, rt.settings.tzinfo)})",
        markup=False, highlight=False, soft_wrap=True)  # one line, however long: scripts take it with head -1
    for which, title in (("district", "By district"), ("program", "By programme")):
        console.print(output.table((which, *COLUMNS), [_row(name, t) for name, t in result.ordered(which)],
                                   title=title, numeric=COLUMNS))
    reasons = result.ordered_reasons()
    if reasons:
        console.print(output.table(
            ("state", "kind", "aps", "first APs", "error (of the first)"),
            [(r.state, r.kind, r.aps, " ".join(r.examples) + (" ..." if r.aps > len(r.examples) else ""), r.message)
             for r in reasons],
            title="Not monitored: fix the inventory or settings (not a crew's work)", numeric=("aps",)))
    return ExitCode.OK
