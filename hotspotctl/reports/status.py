"""What `status` and `report` read from the store: one transaction per call, the tallies from the pure builders."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from hotspotctl.models.access_points import AccessPoint
from hotspotctl.reports.availability import CapacityRow, FleetStatus, capacity_rows, fleet_status, status_since
from hotspotctl.store import Store
from hotspotctl.store.outages import list_outages, load_availability, load_health


def read_fleet_status(store: Store, aps: Sequence[AccessPoint], now: float, *,
                      districts: Collection[str | None] | None = None) -> FleetStatus:
    """The fleet now: stored healths, the last 24 hours of availability and the open outages, tallied."""
    with store.read() as conn:
        healths = load_health(conn)
        rows = load_availability(conn, status_since(now))
        outages = list_outages(conn, open_only=True)
    return fleet_status(aps, healths, rows, outages, districts=districts)


def read_availability(store: Store, since: float) -> list[dict[str, Any]]:
    """The hourly availability rows from ``since`` on."""
    with store.read() as conn:
        return load_availability(conn, since)


def read_capacity(store: Store, aps: Sequence[AccessPoint], target_of: Callable[[AccessPoint], float],
                  site_names: Mapping[str, str]) -> list[CapacityRow]:
    """The APs among ``aps`` short of the per-user target, largest shortfall first (``capacity_rows``)."""
    with store.read() as conn:
        healths = load_health(conn)
    return capacity_rows(aps, healths, target_of, site_names)
