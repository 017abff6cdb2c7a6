"""hotspotctl demo: the main job on embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hotspotctl.bundled import CDMX_INVENTORY, bundled_path
from hotspotctl.cli import output
from hotspotctl.cli.inventory import render_import, render_stats
from hotspotctl.cli.runtime import runtime
from hotspotctl.errors import ExitCode
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.inventory.queries import last_import


def demo(
    ctx: typer.Context,
    inventory: Annotated[Path | None, typer.Option(
        help="inventory file to use instead of the bundled Mexico City one", show_default=False)] = None,
) -> ExitCode:
    """Import Mexico City's 35,350 public hotspots into the store and show the fleet.

    Uses the data directory (./var unless configured); run it again and it reuses
    the store, importing nothing new.

    Example:

      hotspotctl demo
    """
    rt = runtime(ctx)
    source = inventory or bundled_path(*CDMX_INVENTORY)
    with rt.open_store() as store:
        output.message(f"store: {store.describe()}")
        report = import_inventory(store, source, rt.settings.inventory)
        render_import(report)
        stats = Fleet.load(store, rt.zones()).stats()
        with store.read() as conn:
            render_stats({**stats, "last_import": last_import(conn)})
    biggest = stats["largest_sites"][0]
    output.message(
        "next:\n"
        "  hotspotctl inventory list --district iztapalapa --program escuelas\n"
        f"  hotspotctl inventory list --site {biggest['site']}\n"
        "  hotspotctl inventory show MEX-AIM-AER-AICMT1-M-GW001\n"
        "  hotspotctl inventory export --format geojson fleet.geojson\n"
        "  hotspotctl profiles list\n"
        "  hotspotctl ap probe HOST --community COMMUNITY   # look at one real AP over SNMP")
    return report.exit_code
