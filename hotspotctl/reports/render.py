"""Crew lists as files: JSON, CSV, GeoJSON, a printable HTML page, and rows for the terminal table.

Every string that came from a device or the inventory (AP ids, site names, sysDescr) is data, never
markup or a formula: CSV cells go through ``reports.files.write_csv`` (a cell starting with = + - @
gets a leading apostrophe), HTML through ``html.escape(..., quote=True)``, and the HTML page has no
JavaScript at all.

Times people read (the table, CSV, the page) are in the list's zone (``ZoneList.tz``, the ``timezone``
setting): CSV as ISO 8601 with the offset, 2026-11-22T01:00:00-06:00; JSON and GeoJSON keep UTC.

The words people read on the page (headings, labels, causes, the short actions) are the zone's language's
(``ZoneList.language``, from crew_zones.language / languages), from the catalogues in hotspotctl/messages;
the CSV's column names and JSON keys are an interface for scripts and stay as they are. The printed sheet
carries a QR code of each stop's map link (segno, inline SVG).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import UTC, tzinfo
from typing import IO, Any

import segno

from hotspotctl.messages import SOURCE_LANGUAGE, Catalogue, catalogue
from hotspotctl.reports.crews import Stop, ZoneList, cause_label, iso, local_iso, local_time, short_action
from hotspotctl.reports.files import write_csv

CSV_COLUMNS = ("zone", "order", "priority", "site", "name", "district", "cause", "causes", "aps_affected", "aps",
               "people", "clients", "since", "lat", "lon", "map_url", "action", "devices")
TABLE_COLUMNS = ("zone", "order", "priority", "site", "name", "district", "cause", "aps", "people", "clients", "since",
                 "action")


def zone_summary(zone: ZoneList) -> str:
    """One line: '3 stops, 12.4 km from the depot (19.400000, -99.100000); 2 more wait for the next list'
    (in the zone's language)."""
    t = catalogue(zone.language)
    text = t("page.summary", stops=t.plural("count.stops", len(zone.stops)), km=f"{zone.distance_km:.1f}",
             start=t(f"page.start_{'depot' if zone.start_kind == 'depot' else 'centroid'}"),
             lat=f"{zone.start[0]:.6f}", lon=f"{zone.start[1]:.6f}")
    return t("page.summary_more", summary=text, more=zone.more) if zone.more else text


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
#
# One page, two views of the same stops: on a screen (a phone) a card per stop with a big map button; in
# print a compact sheet, one line per stop with a box to tick, where it is (colonia and alcaldía), the cause
# and a short action, its APs, and a QR code of the map link (a printed button has no link). The sheet is
# hidden with an inline style, so a mail client that drops <style> still shows the cards alone.

_CSS = """\
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif;
font-size:16px;line-height:1.4;color:#111;background:#fff;margin:0 auto;max-width:48rem;padding:.5rem}
h1{font-size:1.3rem;margin:.3rem 0}h2{font-size:1.15rem;margin:1.4rem 0 .3rem;border-bottom:2px solid #111}
h3{font-size:1.05rem;margin:0 0 .3rem}.meta{color:#444;font-size:.9rem;margin:.2rem 0}
ol.stops{list-style:none;padding:0;margin:0}
li.stop{border:1px solid #999;border-radius:6px;padding:.6rem;margin:.7rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .6rem;margin:.3rem 0}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
.action{background:#fff3c4;border-left:4px solid #b88a00;padding:.4rem .5rem;margin:.4rem 0}
a.map{display:block;text-align:center;padding:.8rem;min-height:2.75rem;box-sizing:border-box;background:#0b57d0;
color:#fff;border-radius:6px;font-weight:bold;text-decoration:none;font-size:1.05rem}
table.sheet{border-collapse:collapse;width:100%;table-layout:fixed;font-size:7.5pt;line-height:1.15}
table.sheet th{text-align:left;border-bottom:1.5px solid #000;padding:.6mm .8mm;font-size:7pt}
table.sheet td{border-bottom:.5px solid #888;padding:.5mm .8mm;vertical-align:top;overflow-wrap:anywhere}
table.sheet tr{break-inside:avoid}col.box{width:10.5mm}col.n{width:7mm}col.prio{width:8mm}col.site{width:46mm}
col.where{width:34mm}col.what{width:auto}col.aps{width:25mm}col.qr{width:13.5mm}
td.box span{display:inline-block;width:4mm;height:4mm;border:1.2px solid #000;margin-top:.3mm}
td.n{font-weight:bold}td.qr{padding:.3mm}td.qr svg{width:12.5mm;height:12.5mm;display:block}
td.site b{font-size:8pt}.small{color:#333;font-size:6.5pt}.sign{font-size:8pt;margin:1mm 0 2mm}
@page{size:letter;margin:9mm 8mm}
@media print{body{max-width:none;font-size:9pt;padding:0}h2{margin:0 0 1mm;font-size:11pt}
section.zone{break-before:page}section.zone:first-of-type{break-before:auto}header .meta{font-size:8pt}
ol.stops{display:none}table.sheet{display:table!important}p.sign{display:block!important}}
"""


# Characters that are not text on a page: C0/C1 controls (a terminal's escapes, a bell) and the bidirectional
# overrides and isolates (U+202A..U+202E, U+2066..U+2069), which would print a name backwards or reorder
# the line around it. Right-to-left letters themselves stay: they are text.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _e(value: Any) -> str:
    """Data as HTML text: escaped (quotes too, for attributes), without controls or bidi overrides."""
    return html.escape(_NOT_TEXT.sub("", "" if value is None else str(value)), quote=True)


def _for_how_long(seconds: float, t: Catalogue) -> str:
    minutes = max(0, int(seconds // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return t("page.duration_days", days=days, hours=hours)
    return t("page.duration_hours", hours=hours, minutes=minutes) if hours else t("page.duration_minutes",
                                                                                     minutes=minutes)


def _stop_html(zone: ZoneList, stop: Stop, now: float) -> str:
    t = catalogue(zone.language)
    causes = ", ".join(cause_label(c, zone.language) for c in stop.causes) or cause_label(stop.cause, zone.language)
    rows = [(t("page.district"), _e(stop.district or "-"))]
    if stop.neighborhood:
        rows.append((t("page.neighborhood"), _e(stop.neighborhood)))
    rows += [(t("page.cause"), _e(causes)),
             (t("page.aps_affected", n=stop.aps_affected), _e(", ".join(stop.aps))),
             (t("page.since"), _e(t("page.open_for", since=zone.local(stop.since),
                                    duration=_for_how_long(now - stop.since, t)))),
             (t("page.priority"), _e(stop.priority)),
             (t("page.people"), _e(stop.people)),
             (t("page.clients"), _e(stop.clients)),
             (t("page.devices"), _e("; ".join(stop.devices) or "-")),
             (t("page.place"), f"{stop.lat:.6f}, {stop.lon:.6f}")]
    if stop.open311:
        rows.append((t("page.open311"), _e(stop.open311)))
    details = "".join(f"<dt>{_e(label)}</dt><dd>{value}</dd>" for label, value in rows)
    cause = _capital(cause_label(stop.cause, zone.language))
    return (f'<li class="stop" value="{stop.order}"><h3>{stop.order}. {_e(stop.name)} '
            f'<span class="meta">({_e(stop.site)})</span></h3>\n'
            f'<p class="action"><strong>{_e(cause)}:</strong> {_e(stop.action)}</p>\n'
            f"<dl>{details}</dl>\n"
            f'<a class="map" href="{_e(stop.map_url)}">{_e(t("page.map"))}</a>'
            + (f' <a class="done" href="{_e(stop.done_link)}">{_e(t("page.done"))}</a>' if stop.done_link else "")
            + "</li>\n")


def qr_svg(text: str) -> str:
    """``text`` as a QR code (error correction L, 2 modules of quiet zone), inline SVG sized by CSS."""
    code = segno.make(text, error="l", micro=False, boost_error=False)
    return str(code.svg_inline(border=2, omitsize=True, dark="#000"))


MAX_APS_SHOWN = 3  # AP ids on a printed line; the rest are counted


def where_text(stop: Stop, language: str) -> str:
    """The address a crew reads: 'Col. Santa Cruz Meyehualco, Iztapalapa', the alcaldía alone without a colonia."""
    t = catalogue(language)
    if stop.neighborhood and stop.district:
        return t("print.address", neighborhood=t("print.neighborhood", neighborhood=stop.neighborhood),
                 district=stop.district)
    if stop.neighborhood:
        return t("print.neighborhood", neighborhood=stop.neighborhood)
    return stop.district or ""


def _sheet_row(zone: ZoneList, stop: Stop) -> str:
    t, language = catalogue(zone.language), zone.language
    shown = ", ".join(stop.aps[:MAX_APS_SHOWN])
    if len(stop.aps) > MAX_APS_SHOWN:
        shown = t("print.more_aps", shown=shown, more=len(stop.aps) - MAX_APS_SHOWN)
    return (f'<tr><td class="box"><span></span></td><td class="n">{stop.order}</td><td>{_e(stop.priority)}</td>'
            f'<td class="site"><b>{_e(stop.name)}</b><br><span class="small">{_e(stop.site)} · {stop.lat:.5f}, '
            f'{stop.lon:.5f}</span></td><td>{_e(where_text(stop, language))}</td>'
            f'<td><b>{_e(_capital(cause_label(stop.cause, language)))}:</b> {_e(short_action(stop.cause, language))}'
            f'</td><td>{stop.aps_affected}<br><span class="small">{_e(shown)}</span></td>'
            f'<td class="qr" aria-label="{_e(t("print.qr_title", order=stop.order))}">{qr_svg(stop.map_url)}'
            "</td></tr>\n")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


SHEET_COLUMNS = (("box", "done"), ("n", "order"), ("prio", "priority"), ("site", "site"), ("where", "where"),
                 ("what", "what"), ("aps", "aps"), ("qr", "map"))  # (the column's class, its heading's key)


def _sheet(zone: ZoneList) -> str:
    t = catalogue(zone.language)
    cols = "".join(f'<col class="{name}">' for name, _ in SHEET_COLUMNS)
    heads = "".join(f"<th>{_e(t(f'print.{key}'))}</th>" for _, key in SHEET_COLUMNS)
    rows = "".join(_sheet_row(zone, stop) for stop in zone.stops)
    return (f'<table class="sheet" style="display:none"><colgroup>{cols}</colgroup><thead><tr>{heads}</tr></thead>\n'
            f'<tbody>\n{rows}'
            f'</tbody></table>\n<p class="sign" style="display:none">{_e(t("print.signature"))}</p>\n')


def write_crews_html(fh: IO[str], lists: Sequence[ZoneList], *, generated_at: float, tz: tzinfo | None = None,
                     language: str | None = None) -> None:
    """One self-contained page: a section per zone (its own page in print), no JavaScript.

    Times are in ``tz``, else the lists' own zone (UTC when there is no list). Each zone is in its own
    language (``ZoneList.language``); the page's heading in ``language``, else the first zone's.
    """
    zone_tz = tz if tz is not None else lists[0].tz if lists else UTC
    page_language = language or (lists[0].language if lists else SOURCE_LANGUAGE)
    t = catalogue(page_language)
    when = local_time(generated_at, zone_tz)
    total = sum(len(zone.stops) for zone in lists)
    generated = t("page.generated", when=when, stops=t.plural("count.stops", total),
                  zones=t.plural("count.zones", len(lists)))
    fh.write(f'<!DOCTYPE html>\n<html lang="{_e(page_language)}">\n<head>\n<meta charset="utf-8">\n'
             '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
             f"<title>{_e(t('page.title', when=when))}</title>\n<style>\n{_CSS}</style>\n</head>\n<body>\n"
             f'<header><h1>{_e(t("page.heading"))}</h1>\n<p class="meta">{_e(generated)}</p></header>\n')
    if not lists:
        fh.write(f"<p>{_e(t('page.empty'))}</p>\n")
    for zone in lists:
        fh.write(f'<section class="zone">\n<h2>{_e(zone.zone)}</h2>\n'
                 f'<p class="meta">{_e(zone_summary(zone))}</p>\n<ol class="stops">\n')
        for stop in zone.stops:
            fh.write(_stop_html(zone, stop, generated_at))
        fh.write("</ol>\n")
        fh.write(_sheet(zone))
        fh.write("</section>\n")
    fh.write("</body>\n</html>\n")
