"""Crew lists as files: JSON, CSV, GeoJSON, a printable HTML page, and rows for the terminal table.

Every string that came from a device or the inventory (AP ids, site names, sysDescr) is data, never
markup or a formula: CSV cells go through ``reports.files.write_csv`` (a cell starting with = + - @
gets a leading apostrophe), HTML through ``html.escape(..., quote=True)``, and the HTML page has no
JavaScript at all.

Times people read (the table, CSV, the page) are in the list's zone (``ZoneList.tz``, the ``timezone``
setting): CSV as ISO 8601 with the offset, 2026-11-22T01:00:00-06:00; JSON and GeoJSON keep UTC.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import UTC, tzinfo
from typing import IO, Any

from hotspotctl.reports.crews import Stop, ZoneList, iso, local_iso, local_time
from hotspotctl.reports.files import write_csv

CSV_COLUMNS = ("zone", "order", "priority", "site", "name", "district", "cause", "causes", "aps_affected", "aps",
               "people", "clients", "since", "lat", "lon", "map_url", "action", "devices")
TABLE_COLUMNS = ("zone", "order", "priority", "site", "name", "district", "cause", "aps", "people", "clients", "since",
                 "action")


def zone_summary(zone: ZoneList) -> str:
    """One line: '3 stops, 12.4 km from the depot (19.400000, -99.100000); 2 more wait for the next list'."""
    start = "the depot" if zone.start_kind == "depot" else "the centroid of the stops"
    text = (f"{len(zone.stops)} stop{'s' if len(zone.stops) != 1 else ''}, "
            f"{zone.distance_km:.1f} km from {start} ({zone.start[0]:.6f}, {zone.start[1]:.6f})")
    if zone.more:
        text += f"; {zone.more} more wait for the next list"
    return text


def crew_table_rows(lists: Sequence[ZoneList]) -> list[tuple[Any, ...]]:
    """Rows for the terminal table, one per stop (columns: TABLE_COLUMNS)."""
    return [(zone.zone, stop.order, stop.priority, stop.site, stop.name, stop.district, stop.cause,
             " ".join(stop.aps), stop.people, stop.clients, zone.local(stop.since), stop.action)
            for zone in lists for stop in zone.stops]


def write_crews_json(fh: IO[str], lists: Sequence[ZoneList]) -> None:
    json.dump([zone.to_json() for zone in lists], fh, ensure_ascii=False, indent=2)
    fh.write("\n")


def write_crews_csv(fh: IO[str], lists: Sequence[ZoneList]) -> None:
    """One row per stop (CSV_COLUMNS); AP ids space-separated, devices '; '-separated."""
    write_csv(fh, CSV_COLUMNS, (
        (zone.zone, stop.order, stop.priority, stop.site, stop.name, stop.district, stop.cause,
         " ".join(stop.causes), stop.aps_affected, " ".join(stop.aps), stop.people, stop.clients,
         local_iso(stop.since, zone.tz), stop.lat, stop.lon, stop.map_url, stop.action, "; ".join(stop.devices))
        for zone in lists for stop in zone.stops))


def _stop_properties(zone: ZoneList, stop: Stop) -> dict[str, Any]:
    properties = {"kind": "stop", "zone": zone.zone}
    properties.update(stop.to_json())
    del properties["lat"], properties["lon"]  # in the geometry
    return properties


def write_crews_geojson(fh: IO[str], lists: Sequence[ZoneList]) -> None:
    """An RFC 7946 FeatureCollection: a Point per stop, and a LineString per zone for its route.

    Positions are [lon, lat] (RFC 7946 order) to 6 decimals (about 10 cm).
    """
    features: list[dict[str, Any]] = []
    for zone in lists:
        for stop in zone.stops:
            features.append({"type": "Feature",
                             "geometry": {"type": "Point", "coordinates": [round(stop.lon, 6), round(stop.lat, 6)]},
                             "properties": _stop_properties(zone, stop)})
        line = [[round(zone.start[1], 6), round(zone.start[0], 6)]]
        line += [[round(stop.lon, 6), round(stop.lat, 6)] for stop in zone.stops]
        features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": line},
                         "properties": {"kind": "route", "zone": zone.zone, "start_kind": zone.start_kind,
                                        "stops": len(zone.stops), "more": zone.more,
                                        "distance_km": round(zone.distance_km, 2),
                                        "generated_at": iso(zone.generated_at)}})
    json.dump({"type": "FeatureCollection", "features": features}, fh, ensure_ascii=False)
    fh.write("\n")


# -- the printable page -----------------------------------------------------------------------------------------

_CSS = """\
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:16px;
line-height:1.4;color:#111;background:#fff;margin:0 auto;max-width:48rem;padding:.5rem}
h1{font-size:1.3rem;margin:.3rem 0}h2{font-size:1.15rem;margin:1.4rem 0 .3rem;border-bottom:2px solid #111}
h3{font-size:1.05rem;margin:0 0 .3rem}.meta{color:#444;font-size:.9rem;margin:.2rem 0}
ol.stops{list-style:none;padding:0;margin:0}
li.stop{border:1px solid #999;border-radius:6px;padding:.6rem;margin:.7rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .6rem;margin:.3rem 0}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
.action{background:#fff3c4;border-left:4px solid #b88a00;padding:.4rem .5rem;margin:.4rem 0}
a.map{display:block;text-align:center;padding:.8rem;min-height:2.75rem;box-sizing:border-box;background:#0b57d0;
color:#fff;border-radius:6px;font-weight:bold;text-decoration:none;font-size:1.05rem}
@media print{body{max-width:none;font-size:11pt}section.zone{break-before:page}
section.zone:first-of-type{break-before:auto}li.stop{break-inside:avoid}
a.map{background:none;color:#000;border:1px solid #000;padding:.2rem}}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _for_how_long(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _stop_html(zone: ZoneList, stop: Stop, now: float) -> str:
    rows = [("District", _e(stop.district or "-")),
            ("Cause", _e(", ".join(c.replace("_", " ") for c in stop.causes) or stop.cause.replace("_", " "))),
            (f"APs affected ({stop.aps_affected})", _e(", ".join(stop.aps))),
            ("Since", f"{_e(zone.local(stop.since))} (open {_e(_for_how_long(now - stop.since))})"),
            ("Priority", _e(stop.priority)),
            ("People affected", _e(stop.people)),
            ("Clients seen", _e(stop.clients)),
            ("Devices", _e("; ".join(stop.devices) or "-")),
            ("Place", f"{stop.lat:.6f}, {stop.lon:.6f}")]
    if stop.open311:
        rows.append(("Open311", _e(stop.open311)))
    details = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return (f'<li class="stop" value="{stop.order}"><h3>{stop.order}. {_e(stop.name)} '
            f'<span class="meta">({_e(stop.site)})</span></h3>\n'
            f'<p class="action"><strong>{_e(stop.cause.replace("_", " "))}:</strong> {_e(stop.action)}</p>\n'
            f"<dl>{details}</dl>\n"
            f'<a class="map" href="{_e(stop.map_url)}">Open in maps</a>'
            + (f' <a class="done" href="{_e(stop.done_link)}">Done / Hecho</a>' if stop.done_link else "")
            + "</li>\n")


def write_crews_html(fh: IO[str], lists: Sequence[ZoneList], *, generated_at: float, tz: tzinfo | None = None) -> None:
    """One self-contained printable page: a section per zone (its own page in print), no JavaScript.

    Times are in ``tz``, else the lists' own zone (UTC when there is no list).
    """
    zone_tz = tz if tz is not None else lists[0].tz if lists else UTC
    when = local_time(generated_at, zone_tz)
    total = sum(len(zone.stops) for zone in lists)
    fh.write('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
             '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
             f"<title>Crew lists {_e(when)}</title>\n<style>\n{_CSS}</style>\n</head>\n<body>\n"
             f"<header><h1>Crew lists</h1>\n<p class=\"meta\">Generated {_e(when)}: {total} "
             f"stop{'s' if total != 1 else ''} in {len(lists)} zone{'s' if len(lists) != 1 else ''}. "
             "Stops are in route order; priority 1 is the most urgent of the zone.</p></header>\n")
    if not lists:
        fh.write("<p>No open outages: nothing for the crews to do.</p>\n")
    for zone in lists:
        fh.write(f'<section class="zone">\n<h2>{_e(zone.zone)}</h2>\n<p class="meta">{_e(zone_summary(zone))}</p>\n'
                 '<ol class="stops">\n')
        for stop in zone.stops:
            fh.write(_stop_html(zone, stop, generated_at))
        fh.write("</ol>\n</section>\n")
    fh.write("</body>\n</html>\n")
