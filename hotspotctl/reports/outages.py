"""The outage ledger and the APs' health as the commands show them: one store transaction per call."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from hotspotctl.errors import NotFoundError
from hotspotctl.evaluate.outages import CONTROLLER_PREFIX, Outage, controller_site, is_controller_site
from hotspotctl.evaluate.status import ApHealth
from hotspotctl.inventory.fleet import Fleet, Selection
from hotspotctl.store import Store
from hotspotctl.store.outages import add_note, get_outage, list_outages, load_health


def resolve_filters(fleet: Fleet, zone: Sequence[str] | None, site: Sequence[str] | None
                    ) -> tuple[list[str], list[str]]:
    """Zone terms to zone names and site terms to site ids, forgivingly, as selections do elsewhere."""
    zones: list[str] = []
    sites: list[str] = []
    if zone:
        picked = fleet.select(Selection(zones=tuple(zone)))
        zones = sorted({fleet.zones.zone_for(ap) for ap in picked})
    if site:
        picked = fleet.select(Selection(sites=tuple(site)))
        sites = sorted({ap.site_id for ap in picked if ap.site_id}
                       | {term for term in site if term not in fleet.sites and not any(ch in term for ch in "*?[")}
                       | {controller_site(ap.id) for ap in fleet.aps.values()  # a controller's own outage
                          if ap.is_controller and any(fnmatchcase(ap.id, term) for term in site)})
    return zones, sites


def site_place(fleet: Fleet, site_id: str) -> tuple[str, str | None]:
    """(name, district) of an outage's site as an operator reads it: the site's, or for a controller's own
    outage (``controller:<id>``) the controller's id and district; ("", None) for a site no longer known."""
    site = fleet.sites.get(site_id)
    if site is not None:
        return site.name, site.district
    if is_controller_site(site_id):
        controller_id = site_id.removeprefix(CONTROLLER_PREFIX)
        controller = fleet.aps.get(controller_id)
        return controller_id, controller.district if controller is not None else None
    return "", None


def find_outages(store: Store, fleet: Fleet, *, open_only: bool = False, since: float | None = None,
                 zones: Sequence[str] | None = None, sites: Sequence[str] | None = None) -> list[Outage]:
    """Outages newest first, of these zone and site terms (none when a term names nothing), open at any time
    since ``since``."""
    zone_names, site_ids = resolve_filters(fleet, zones, sites)
    if (zones and not zone_names) or (sites and not site_ids):
        return []
    with store.read() as conn:
        return list_outages(conn, open_only=open_only, since=since, zones=zone_names, sites=site_ids)


def open_outages(store: Store) -> list[Outage]:
    with store.read() as conn:
        return list_outages(conn, open_only=True)


def load_outage(store: Store, outage_id: int) -> Outage:
    """One outage; NotFoundError (exit 3) when the ledger has no such id."""
    with store.read() as conn:
        found = get_outage(conn, outage_id)
    if found is None:
        raise NotFoundError(f"no outage {outage_id} in the ledger; `hotspotctl outages list` shows their ids")
    return found


def ap_healths(store: Store, ap_ids: Sequence[str] | None = None) -> dict[str, ApHealth]:
    """The health the last cycle kept, of these APs or every AP."""
    with store.read() as conn:
        return load_health(conn, ap_ids)


def note_outage(store: Store, outage_id: int, line: str) -> None:
    """Add a line to an outage's notes; NotFoundError (exit 3) when the ledger has no such id."""
    with store.write() as conn:
        if not add_note(conn, outage_id, line):
            raise NotFoundError(f"no outage {outage_id} in the ledger; `hotspotctl outages list` shows their ids")
