"""Crew list renderers: CSV that parses back and stays inert, GeoJSON in RFC 7946 order, a safe HTML page."""

from __future__ import annotations

import csv
import io
import json
from zoneinfo import ZoneInfo

from hotspotctl.reports.crews import Stop, ZoneList, map_url
from hotspotctl.reports.render import (
    CSV_COLUMNS,
    crew_table_rows,
    write_crews_csv,
    write_crews_geojson,
    write_crews_html,
    write_crews_json,
    zone_summary,
)

NOW = 1_795_330_000.0  # 2026-11-22T06:46:40Z: in Mexico City (UTC-6) 2026-11-22 00:46, so NOW - 1 h is the 21st
CDMX = ZoneInfo("America/Mexico_City")
HOSTILE_AP = '=HYPERLINK("http://x")'
HOSTILE_NAME = '"><img src=x onerror=alert(1)>'
HOSTILE_DEVICE = "<script>alert(1)</script>"


def stop(order: int, site: str, name: str, lat: float, lon: float, **kw) -> Stop:
    values = dict(order=order, site=site, name=name, district="Iztapalapa", cause="offline", causes=("offline",),
                  aps_affected=1, aps=("AP-1",), since=NOW - 3600, priority=order, clients=7, lat=lat, lon=lon,
                  map_url=map_url(lat, lon), action="AP-1 is down: check the PoE port.", outages=(order,))
    values.update(kw)
    return Stop(**values)


def lists() -> list[ZoneList]:
    hostile = stop(1, "+1", HOSTILE_NAME, 19.41, -99.1, district="@SUM(A1)", aps=(HOSTILE_AP, "-2"),
                   aps_affected=2, devices=(HOSTILE_DEVICE, "UniFi UAP"), cause="site_offline",
                   causes=("site_offline", "offline"), action="2 of 2 APs down together: check the site's power.",
                   open311="SR-1", people=25)
    plain = stop(2, "S-2", "Escuela Benito Juárez", 19.38, -99.12, clients=3)
    return [ZoneList("Iztapalapa", NOW, (19.40, -99.10), "depot", (hostile, plain), 4, 7.5, CDMX),
            ZoneList("Tlalpan", NOW, (19.30, -99.20), "centroid",
                     (stop(1, "T-1", "Poste", 19.30, -99.20, cause="uplink_degraded", causes=("uplink_degraded",)),),
                     0, 0.0, CDMX)]


def test_csv_parses_back_and_formula_cells_are_neutralised():
    out = io.StringIO()
    write_crews_csv(out, lists())
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1] == ["Iztapalapa", "1", "1", "'+1", HOSTILE_NAME, "'@SUM(A1)", "site_offline",
                       "site_offline offline", "2", "'" + HOSTILE_AP + " -2", "25", "7", "2026-11-21T23:46:40-06:00",
                       "19.41",
                       "-99.1", "https://www.google.com/maps/search/?api=1&query=19.410000%2C-99.100000",
                       "2 of 2 APs down together: check the site's power.", HOSTILE_DEVICE + "; UniFi UAP"]
    assert rows[2][:6] == ["Iztapalapa", "2", "2", "S-2", "Escuela Benito Juárez", "Iztapalapa"]
    assert rows[3][:4] == ["Tlalpan", "1", "1", "T-1"] and len(rows) == 4
    empty = io.StringIO()
    write_crews_csv(empty, [])
    assert empty.getvalue() == ",".join(CSV_COLUMNS) + "\n"


def test_json_is_the_lists_to_json():
    out = io.StringIO()
    write_crews_json(out, lists())
    document = json.loads(out.getvalue())
    assert document == [zone.to_json() for zone in lists()]
    assert document[0]["stops"][0]["aps"] == [HOSTILE_AP, "-2"] and document[0]["more"] == 4
    # JSON keeps UTC, whatever the list's zone
    assert (document[0]["generated_at"], document[0]["stops"][0]["since"]) == ("2026-11-22T06:46:40Z",
                                                                              "2026-11-22T05:46:40Z")
    assert document[0]["stops"][0]["people"] == 25


def test_geojson_points_and_routes_in_lon_lat_order():
    out = io.StringIO()
    write_crews_geojson(out, lists())
    document = json.loads(out.getvalue())
    assert document["type"] == "FeatureCollection"
    kinds = [(f["geometry"]["type"], f["properties"]["kind"], f["properties"]["zone"]) for f in document["features"]]
    assert kinds == [("Point", "stop", "Iztapalapa"), ("Point", "stop", "Iztapalapa"),
                     ("LineString", "route", "Iztapalapa"), ("Point", "stop", "Tlalpan"),
                     ("LineString", "route", "Tlalpan")]
    first = document["features"][0]
    assert first["geometry"]["coordinates"] == [-99.1, 19.41]
    assert {k: first["properties"][k] for k in ("order", "priority", "cause", "site", "aps", "devices")} == {
        "order": 1, "priority": 1, "cause": "site_offline", "site": "+1", "aps": [HOSTILE_AP, "-2"],
        "devices": [HOSTILE_DEVICE, "UniFi UAP"]}
    route = document["features"][2]
    assert route["geometry"]["coordinates"] == [[-99.1, 19.4], [-99.1, 19.41], [-99.12, 19.38]]
    assert route["properties"] == {"kind": "route", "zone": "Iztapalapa", "start_kind": "depot", "stops": 2,
                                   "more": 4, "distance_km": 7.5, "generated_at": "2026-11-22T06:46:40Z"}
    assert document["features"][4]["geometry"]["coordinates"] == [[-99.2, 19.3], [-99.2, 19.3]]


def test_html_is_one_inert_printable_page():
    out = io.StringIO()
    write_crews_html(out, lists(), generated_at=NOW)
    page = out.getvalue()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<script" not in page.lower() and "<img" not in page.lower() and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "=HYPERLINK(&quot;http://x&quot;)" in page
    assert '<a class="map" href="https://www.google.com/maps/search/?api=1&amp;query=19.410000%2C-99.100000">' in page
    assert page.count('<section class="zone">') == 2 and "@media print" in page and "break-before:page" in page
    assert "<h2>Iztapalapa</h2>" in page and "2 stops, 7.5 km from the depot (19.400000, -99.100000)" in page
    assert "4 more wait for the next list" in page
    assert "1 stop, 0.0 km from the centroid of the stops" in page
    # local time: the instant is 2026-11-22T05:46:40Z, the 21st in the city
    assert "2026-11-21 23:46 CST (open 1 h 0 min)" in page and "SR-1" in page
    assert "Generated 2026-11-22 00:46 CST: 3 stops in 2 zones" in page
    assert "<dt>People affected</dt><dd>25</dd><dt>Clients seen</dt><dd>7</dd>" in page
    assert "Escuela Benito Juárez" in page
    assert page.count("href=") == page.count('href="https://www.google.com/maps/search/?api=1&amp;query=') == 3
    empty = io.StringIO()
    write_crews_html(empty, [], generated_at=NOW, tz=CDMX)
    assert "No open outages" in empty.getvalue() and "<section" not in empty.getvalue()
    assert "Generated 2026-11-22 00:46 CST: 0 stops" in empty.getvalue()


def test_table_rows_and_summary():
    rows = crew_table_rows(lists())
    assert rows[0] == ("Iztapalapa", 1, 1, "+1", HOSTILE_NAME, "@SUM(A1)", "site_offline", f"{HOSTILE_AP} -2", 25, 7,
                       "2026-11-21 23:46 CST", "2 of 2 APs down together: check the site's power.")
    assert [r[:2] for r in rows] == [("Iztapalapa", 1), ("Iztapalapa", 2), ("Tlalpan", 1)]
    assert zone_summary(lists()[1]) == "1 stop, 0.0 km from the centroid of the stops (19.300000, -99.200000)"
