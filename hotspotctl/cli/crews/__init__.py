"""hotspotctl crews: the lists field crews work from, and sending them where crews are."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import IO, Annotated

import typer
from rich.console import Console

from hotspotctl import clock
from hotspotctl.cli import output
from hotspotctl.cli.crews.done import done, receive
from hotspotctl.cli.crews.send import send
from hotspotctl.cli.runtime import ZoneOption, runtime
from hotspotctl.errors import ExitCode
from hotspotctl.inventory.zones import known_zones, resolve_zones
from hotspotctl.reports.crews import ZoneList, crew_lists_from_store
from hotspotctl.reports.files import atomic_output
from hotspotctl.reports.render import (
    TABLE_COLUMNS,
    crew_table_rows,
    write_crews_csv,
    write_crews_geojson,
    write_crews_html,
    write_crews_json,
    zone_summary,
)

app = typer.Typer(help="Crew lists: one stop per site with an open outage, ordered as a route.",
                  no_args_is_help=True)
app.command("send")(send)
app.command("done")(done)
app.command("receive")(receive)


class CrewFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    GEOJSON = "geojson"
    HTML = "html"


def _write_table(fh: IO[str], lists: list[ZoneList]) -> None:
    console = output.stdout() if fh is sys.stdout else Console(file=fh, soft_wrap=False, width=200,
                                                               color_system=None)
    for zone in lists:
        console.print(output.table(TABLE_COLUMNS, crew_table_rows([zone]), title=f"{zone.zone}: {zone_summary(zone)}",
                                   numeric=("order", "priority", "people", "clients")))


@app.command("list")
def list_(
    ctx: typer.Context,
    zone: ZoneOption = None,
    fmt: Annotated[CrewFormat, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="table on a terminal; json or csv for scripts; geojson for a map; html for a printable page")
    ] = CrewFormat.TABLE,
    output_path: Annotated[str, typer.Option(
        "--output", "-o", help="write here instead of stdout; the file appears whole or not at all",
        show_default=False)] = "-",
    max_stops: Annotated[int | None, typer.Option(
        "--max-stops", min=0, show_default=False,
        help="stops per zone, the most urgent first; 0 = all (default: crews.max_stops, 25)")] = None,
) -> ExitCode:
    """Each crew zone's list of stops for today, in route order.

    A stop is a site with an open outage in the ledger (one per site): what is wrong there (the
    cause, the APs affected, since when, how many people it cut off), what to do about it (each
    cause with its exact count of APs, named), where it is (with a map link) and which devices are
    there. Priority 1 is the zone's most urgent stop: the most people affected as the history knows
    them (the clients the APs' district and programme usually have at this hour over the last 7
    days, else crews.usual_clients_by_program or crews.usual_clients per AP; never fewer than the
    outage saw), then the most APs affected, then the longest open. Only the --max-stops most
    urgent stops make the list; the rest wait for the next one. Times are the city's (the timezone
    setting); json and geojson keep UTC.

    The route starts at the zone's depot (crew_zones.depots) or, without one, at the centroid of
    its stops: nearest neighbour first, then improved with 2-opt until no reversal of a stretch
    makes it shorter. Distances are straight lines (haversine km).

    Examples:

      hotspotctl crews list

      hotspotctl crews list --zone Tlalpan -f html -o tlalpan.html

      hotspotctl crews list -f geojson -o crews.geojson --max-stops 0

      hotspotctl crews list -f json | jq '.[].stops[].site'
    """
    rt = runtime(ctx)
    fleet = rt.load_fleet()
    zones = resolve_zones(zone or (), known_zones(fleet, rt.settings.crew_zones)) if zone else []
    now = clock.now()
    with rt.open_store() as store:
        lists = crew_lists_from_store(store, fleet, rt.settings, now, zones=zones, max_stops=max_stops)
    with atomic_output(output_path) as fh:
        if fmt == CrewFormat.JSON:
            write_crews_json(fh, lists)
        elif fmt == CrewFormat.CSV:
            write_crews_csv(fh, lists)
        elif fmt == CrewFormat.GEOJSON:
            write_crews_geojson(fh, lists)
        elif fmt == CrewFormat.HTML:
            write_crews_html(fh, lists, generated_at=now, tz=rt.settings.tzinfo,
                             language=rt.settings.crew_zones.language)
        else:
            _write_table(fh, lists)
    if not rt.quiet:
        stops = sum(len(z.stops) for z in lists)
        if not lists:
            where = f" in zone {', '.join(zones)}" if zones else ""
            output.message(f"no open outages{where}: nothing for the crews to do")
        if output_path != "-":
            output.message(f"wrote {stops:,} stops in {len(lists)} zones to {output_path} ({fmt.value})")
    return ExitCode.OK
