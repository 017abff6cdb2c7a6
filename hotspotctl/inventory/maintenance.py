"""Maintenance windows on the inventory: the target (an AP, a site or a district) checked against the fleet, the
APs a window covers, and the windows kept in the store (one transaction per call)."""

from __future__ import annotations

import difflib

from hotspotctl.errors import InputError, NotFoundError
from hotspotctl.inventory.fleet import Fleet, Selection
from hotspotctl.names import name_key
from hotspotctl.store import Store
from hotspotctl.store.outages import MaintenanceWindow, add_maintenance, list_maintenance, remove_maintenance


def site_target(fleet: Fleet, term: str) -> str:
    """One site id from a site id, a name (any case) or a glob; a close-match hint when it names none, a list
    when several."""
    if term in fleet.sites:
        return term
    sites = sorted({ap.site_id for ap in fleet.select(Selection(sites=(term,)))})
    if not sites:  # a name in another case, or without its accents
        sites = sorted(site_id for site_id, site in fleet.sites.items() if name_key(site.name) == name_key(term))
    if len(sites) == 1:
        return sites[0]
    if sites:
        listed = ", ".join(f"{s} ({fleet.sites[s].name})" for s in sites[:5]) + (" ..." if len(sites) > 5 else "")
        raise InputError(f"--site {term!r} matches {len(sites)} sites: {listed}; give the site id")
    names = {site.name: site_id for site_id, site in fleet.sites.items()}
    close = difflib.get_close_matches(term, [*fleet.sites, *names], n=3, cutoff=0.75)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise NotFoundError(f"--site {term!r}: no such site in the inventory (a site id or name){hint}")


def window_target(fleet: Fleet, site: str | None, ap: str | None, district: str | None) -> tuple[str, str]:
    """(scope, target) from the one target given, checked against the inventory."""
    scope, term = next((scope, value) for scope, value in (("site", site), ("ap", ap), ("district", district))
                       if value is not None)
    if scope == "ap":
        return scope, fleet.get(term).id
    if scope == "site":
        return scope, site_target(fleet, term)
    picked = fleet.select(Selection(districts=(term,)))  # forgiving names; an error that lists candidates
    return scope, str(picked[0].district)


def covered_aps(fleet: Fleet, window: MaintenanceWindow) -> int:
    """How many APs of the inventory the window covers (as the scheduler matches them)."""
    if window.scope == "ap":
        return int(window.target in fleet.aps)
    if window.scope == "site":
        return sum(1 for ap in fleet.aps.values() if ap.site_id == window.target)
    key = name_key(window.target)
    return sum(1 for ap in fleet.aps.values() if name_key(ap.district or "") == key)


def window_state(window: MaintenanceWindow, now: float) -> str:
    """active, future or past."""
    if window.active(now):
        return "active"
    return "future" if window.starts_at > now else "past"


def describe_target(fleet: Fleet, scope: str, target: str) -> str:
    if scope == "site" and target in fleet.sites:
        return f"site {target} ({fleet.sites[target].name})"
    return f"{scope} {target}"


def plan_window(store: Store, scope: str, target: str, starts_at: float, ends_at: float, reason: str,
                now: float) -> MaintenanceWindow:
    """Keep a new window; it as kept (with its id)."""
    with store.write() as conn:
        window_id = add_maintenance(conn, scope, target, starts_at, ends_at, reason, now)
    return MaintenanceWindow(window_id, scope, target, starts_at, ends_at, reason, now)


def maintenance_windows(store: Store, *, ending_after: float | None = None) -> list[MaintenanceWindow]:
    """The windows by start: those ending after ``ending_after``, or all."""
    with store.read() as conn:
        return list_maintenance(conn, ending_after=ending_after)


def remove_window(store: Store, window_id: int) -> None:
    """End a window early or cancel it; NotFoundError (exit 3) when there is no such window."""
    with store.write() as conn:
        if not remove_maintenance(conn, window_id):
            raise NotFoundError(f"no maintenance window {window_id}; `hotspotctl maintenance list --all` shows "
                                "their ids")
