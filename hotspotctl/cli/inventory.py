"""hotspotctl inventory: import, list, show, stats, export."""

from __future__ import annotations

import asyncio
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import Format, ReportFormat
from hotspotctl.cli.render import render_import
from hotspotctl.cli.runtime import (
    ApOption,
    DistrictOption,
    FormatOption,
    ProgramOption,
    ReportFormatOption,
    SiteOption,
    ZoneOption,
    runtime,
    selection,
)
from hotspotctl.collectors.poller import Poller
from hotspotctl.errors import ExitCode, InputError
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.inventory.readers import FORMATS
from hotspotctl.inventory.reconcile import COLUMNS as RECONCILE_COLUMNS
from hotspotctl.inventory.reconcile import ReconcileReport, reconcile
from hotspotctl.reports.files import atomic_output
from hotspotctl.reports.inventory import (
    EXPORT_COLUMNS,
    export_row,
    inventory_stats,
    write_inventory_csv,
    write_inventory_geojson,
)

app = typer.Typer(help="Import and query the access-point inventory.", no_args_is_help=True)

_TABLE_LIMIT = 100


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help=".xlsx/.xls/.ods, .csv or .geojson", show_default=False)],
    merge: Annotated[bool, typer.Option("--merge", help="change only the columns the file has (e.g. add "
                                        "mgmt_address from an IPAM export keyed by id)")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="remove APs that are not in the file (asks first)")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask before --prune removes APs")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="write nothing if any row is rejected (exit 3)")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report what would change; write nothing")] = False,
    sheet: Annotated[str | None, typer.Option(help="spreadsheet sheet (default: the first visible)")] = None,
    input_format: Annotated[str | None, typer.Option(
        help=f"file format when the extension does not say: {', '.join(FORMATS)}")] = None,
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """Import an inventory file into the store: atomic, and idempotent.

    Columns match by name in Spanish or English, in any case, with or without
    accents: id, programa/program, latitud/lat, longitud/lon,
    alcaldia/district, colonia/neighborhood, plus the operator's mgmt_address,
    profile, snmp_auth, ssh_auth, crew_zone, site, backhaul_mbps and target_mbps,
    and for controller-managed fleets role (ap or controller), controller, ap_name
    and ap_mac (docs/inventory.md).

    Exit 0 when every row was imported (warnings allowed), 4 when some rows were
    rejected and the rest imported, 3 when nothing was written.

    Examples:

      hotspotctl inventory import inventory/wifi_cdmx_2025.xlsx

      hotspotctl inventory import ipam.csv --merge --dry-run

      hotspotctl inventory import city-2026.xlsx --merge --prune --yes
    """
    rt = runtime(ctx)
    with rt.open_store() as store:
        rules = rt.settings.inventory
        expect_removed = None
        if prune and not dry_run and not yes:
            plan = import_inventory(store, file, rules, merge=merge, strict=strict, fmt=input_format, sheet=sheet,
                                    prune=True, dry_run=True)
            if plan.removed:
                _confirm_prune(file, plan.removed)
                expect_removed = set(plan.removed)
        show_status = sys.stderr.isatty() and not rt.quiet and fmt == Format.TABLE
        with output.stderr().status(f"importing {file} ...") if show_status else nullcontext():
            report = import_inventory(store, file, rules, merge=merge, strict=strict, fmt=input_format, sheet=sheet,
                                      prune=prune, dry_run=dry_run, expect_removed=expect_removed)
    if fmt == Format.JSON:
        output.print_json(report.to_json(changes=dry_run))
    else:
        render_import(report)
    return report.exit_code


def _confirm_prune(file: Path, removed: list[str]) -> None:
    if not sys.stdin.isatty():
        raise typer.BadParameter(f"would remove {len(removed)} APs that are not in {file}; "
                                 "add --yes to confirm when not on a terminal", param_hint="--prune")
    sample = ", ".join(removed[:5]) + (" ..." if len(removed) > 5 else "")
    if not typer.confirm(f"Remove {len(removed)} APs that are not in {file} ({sample})?", default=False):
        output.message("nothing written")
        raise typer.Exit(ExitCode.INTERNAL)


@app.command("list")
def list_(
    ctx: typer.Context,
    ap: ApOption = None, site: SiteOption = None, district: DistrictOption = None,
    program: ProgramOption = None, zone: ZoneOption = None,
    limit: Annotated[int | None, typer.Option(
        help=f"at most this many APs (default: {_TABLE_LIMIT} in a table, all in json/csv; 0 = all)",
        show_default=False)] = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """List APs, optionally a selection of them.

    Examples:

      hotspotctl inventory list --district iztapalapa --program escuelas

      hotspotctl inventory list --site 'MEX-AIM-*' --format csv > airport.csv
    """
    rt = runtime(ctx)
    fleet = rt.load_fleet()  # the store is made here, as tests/store/test_files_at_rest.py expects
    if not fleet.aps and not rt.quiet:
        output.message(f"the inventory is empty in {rt.where_state_is()}")
    picked = fleet.select(selection(ap, site, district, program, zone))
    cap = limit if limit is not None else (_TABLE_LIMIT if fmt == Format.TABLE else 0)
    shown = picked[:cap] if cap else picked
    if fmt == Format.TABLE:
        columns = ("id", "role", "controller", "program", "district", "site", "zone", "lat", "lon", "mgmt_address")
        rows = [(a.id, a.role, a.controller, a.program, a.district,
                 fleet.sites[a.site_id].name if a.site_id else None, fleet.zones.zone_for(a), a.lat, a.lon,
                 a.mgmt_address) for a in shown]
        output.print_table(columns, rows)
        if len(shown) < len(picked):
            output.message(f"showing {len(shown):,} of {len(picked):,} APs; --limit 0 for all, or --format csv")
    else:
        output.emit(fmt, EXPORT_COLUMNS, [[export_row(fleet, a)[name] for name in EXPORT_COLUMNS] for a in shown])
    return ExitCode.OK


@app.command("show")
def show(ctx: typer.Context, ap_id: Annotated[str, typer.Argument(metavar="ID", help="the AP's id")],
         fmt: ReportFormatOption = ReportFormat.TABLE) -> ExitCode:
    """Everything the inventory knows about one AP, and its site.

    Example:

      hotspotctl inventory show MEX-AIM-AER-AICMT1-M-GW001
    """
    fleet = runtime(ctx).load_fleet()
    ap = fleet.get(ap_id)
    site = fleet.sites.get(ap.site_id)  # None for a controller: in no site
    site_aps = sorted(a.id for a in fleet.aps.values() if a.site_id == ap.site_id) if site else []
    managed = sorted(a.id for a in fleet.aps.values() if a.controller == ap.id) if ap.is_controller else []
    document = {**export_row(fleet, ap),
                "site_detail": None if site is None else {
                    "id": site.id, "name": site.name, "lat": site.lat, "lon": site.lon,
                    "district": site.district, "explicit": site.explicit, "aps": len(site_aps)},
                "map": None if ap.lat is None else
                f"https://www.openstreetmap.org/?mlat={ap.lat}&mlon={ap.lon}#map=19/{ap.lat}/{ap.lon}"}
    if ap.is_controller:
        document["managed_aps"] = len(managed)
    if fmt == Format.JSON:
        output.print_json(document)
        return ExitCode.OK
    rows = [(key, value) for key, value in document.items() if key != "site_detail"]
    if site is not None:
        rows += [("site APs", f"{len(site_aps)}: {', '.join(site_aps[:8])}{' ...' if len(site_aps) > 8 else ''}")]
    if managed:
        rows += [("managed APs", f"{len(managed)}: {', '.join(managed[:8])}{' ...' if len(managed) > 8 else ''}")]
    output.print_table(("field", "value"), rows)
    return ExitCode.OK


@app.command("stats")
def stats(ctx: typer.Context,
          largest: Annotated[int, typer.Option(help="how many of the largest sites to list")] = 10,
          fmt: ReportFormatOption = ReportFormat.TABLE) -> ExitCode:
    """Counts by district, programme and crew zone, and the largest sites.

    Example:

      hotspotctl inventory stats --format json
    """
    rt = runtime(ctx)
    with rt.open_store() as store:
        fleet = Fleet.load(store, rt.zones())
        document = inventory_stats(store, fleet, largest)
    if fmt == Format.JSON:
        output.print_json(document)
        return ExitCode.OK
    render_stats(document)
    return ExitCode.OK


def render_stats(document: dict) -> None:
    console = output.stdout()
    console.print(f"{document['aps']:,} APs at {document['sites']:,} sites "
                  f"({document['single_ap_sites']:,} with a single AP); {len(document['districts'])} districts, "
                  f"{len(document['programs'])} programmes, {len(document['zones'])} crew zones; "
                  f"{document['with_mgmt_address']:,} with a management address"
                  + (f"; {document['controllers']:,} controllers managing {document['managed_aps']:,} of the APs"
                     if document.get("controllers") else ""), markup=False, highlight=False)
    console.print(output.table(("district", "APs"), document["districts"].items(), title="By district",
                               numeric=("APs",)))
    console.print(output.table(("programme", "APs"), document["programs"].items(), title="By programme",
                               numeric=("APs",)))
    console.print(output.table(("site", "name", "APs", "lat", "lon"),
                               [(s["site"], s["name"], s["aps"], s["lat"], s["lon"])
                                for s in document["largest_sites"]],
                               title="Largest sites", numeric=("APs",)))
    last = document.get("last_import")
    if last:
        console.print(f"last import: {last['source']} at {last['at']} ({last['added']:,} added, "
                      f"{last['updated']:,} updated, {last['removed']:,} removed, {last['rejected']:,} rejected)",
                      markup=False, highlight=False)


@app.command("export")
def export(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="output path, or - for stdout", show_default=False)],
    ap: ApOption = None, site: SiteOption = None, district: DistrictOption = None,
    program: ProgramOption = None, zone: ZoneOption = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="csv or geojson (default: from FILE's "
                                            "extension)", show_default=False)] = None,
) -> ExitCode:
    """Write the inventory (or a selection) as CSV or GeoJSON; the file appears whole or not at all.

    The CSV re-imports to the same inventory. Text that a spreadsheet would run
    as a formula (=, +, -, @) is written with a leading apostrophe.

    Examples:

      hotspotctl inventory export fleet.csv

      hotspotctl inventory export --district tlalpan tlalpan.geojson
    """
    kind = (fmt or Path(file).suffix.lstrip(".")).lower()
    if kind == "json":
        kind = "geojson"
    if kind not in ("csv", "geojson"):
        raise typer.BadParameter("say csv or geojson (or give FILE a .csv or .geojson extension)",
                                 param_hint="--format")
    rt = runtime(ctx)
    fleet = rt.load_fleet()
    picked = fleet.select(selection(ap, site, district, program, zone))
    if not picked:
        raise InputError("the selection matches no AP; nothing written")
    writer = write_inventory_csv if kind == "csv" else write_inventory_geojson
    with atomic_output(file) as fh:
        writer(fh, fleet, picked)
    if file != "-" and not rt.quiet:
        output.message(f"wrote {len(picked):,} APs to {file} ({kind})")
    return ExitCode.OK



@app.command("reconcile")
def reconcile_(
    ctx: typer.Context,
    controller: Annotated[str | None, typer.Option(
        "--controller", help="read only this controller (its inventory id)", show_default=False)] = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Compare the inventory with what its wireless controllers report, to correct the city's file.

    Reads each controller now (one walk of its AP tables, as a poll cycle does) and
    lists the APs a controller reports that the inventory lacks (their name and MAC
    on the controller, ready for the file's ap_name / ap_mac), and the inventory's
    APs (rows with a controller) their controller does not report (and which other
    controller does, if one does: the AP moved). A controller that cannot be read is
    listed with why; its APs are in neither list. So are the APs of a controller that
    cannot list them (its profile gives its own totals only: no_ap_table); poll those
    APs directly.

    Exit 0 when every controller was read and nothing drifted; 4 when drift was
    found, a controller could not be read, or APs are behind a controller that cannot
    list them (the output says which).

    Examples:

      hotspotctl inventory reconcile

      hotspotctl inventory reconcile --controller WLC-NORTE --format csv > drift.csv

      hotspotctl inventory reconcile --format json | jq '.not_in_inventory[] | .name'
    """
    rt = runtime(ctx)
    profiles = rt.profiles()
    with rt.open_store() as store:
        fleet = Fleet.load(store, rt.zones())
        if not fleet.controllers:
            raise InputError("the inventory has no controller rows (role controller); nothing to reconcile")
        rt.require_secrets([c for c in fleet.controllers.values() if controller in (None, c.id)])

        async def run() -> ReconcileReport:
            with Poller.from_settings(rt.settings, profiles) as poller:
                return await reconcile(store, fleet.aps, poller, controller=controller)

        report = asyncio.run(run())
    if fmt == Format.JSON:
        output.print_json(report.to_json())
    else:
        output.emit(fmt, RECONCILE_COLUMNS, report.rows())
        if not rt.quiet and fmt == Format.TABLE:
            read = sum(1 for c in report.controllers if c.error is None)
            output.message(f"{read} of {len(report.controllers)} controllers read: "
                           f"{len(report.not_in_inventory)} APs not in the inventory, "
                           f"{len(report.not_on_controller)} inventory APs not on their controller")
    return report.exit_code
