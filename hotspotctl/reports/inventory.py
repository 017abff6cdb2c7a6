"""The inventory as CSV (re-importable) or GeoJSON (RFC 7946, for maps and GIS), and its figures."""

from __future__ import annotations

import json
from typing import IO, Any

from hotspotctl.inventory.fleet import Fleet
from hotspotctl.models.access_points import FIELDS, AccessPoint
from hotspotctl.reports.files import write_csv
from hotspotctl.store import Store
from hotspotctl.store.inventory import last_import

EXPORT_COLUMNS = (*FIELDS, "site_id", "site_name", "effective_crew_zone")


def export_row(fleet: Fleet, ap: AccessPoint) -> dict[str, Any]:
    values = ap.values()
    row = {name: values[name] for name in FIELDS}
    row["site_id"] = ap.site_id
    site = fleet.sites.get(ap.site_id)  # a controller is in no site
    row["site_name"] = site.name if site is not None else None
    row["effective_crew_zone"] = fleet.zones.zone_for(ap)
    return row


def write_inventory_csv(fh: IO[str], fleet: Fleet, aps: list[AccessPoint]) -> None:
    write_csv(fh, EXPORT_COLUMNS, ([export_row(fleet, ap)[name] for name in EXPORT_COLUMNS] for ap in aps))


def write_inventory_geojson(fh: IO[str], fleet: Fleet, aps: list[AccessPoint]) -> None:
    features = []
    for ap in aps:
        properties = export_row(fleet, ap)
        lat, lon = properties.pop("lat"), properties.pop("lon")
        features.append({"type": "Feature", "id": ap.id,  # a controller may have no place (RFC 7946 3.2)
                         "geometry": {"type": "Point", "coordinates": [lon, lat]} if lat is not None else None,
                         "properties": properties})
    json.dump({"type": "FeatureCollection", "features": features}, fh, ensure_ascii=False)
    fh.write("\n")


def inventory_stats(store: Store, fleet: Fleet, largest: int) -> dict[str, Any]:
    """Counts by district, programme and crew zone, the ``largest`` sites, and the last import."""
    with store.read() as conn:
        return {**fleet.stats(largest), "last_import": last_import(conn)}
