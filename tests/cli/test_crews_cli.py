"""hotspotctl crews list: open outages from the store as each zone's list, in every format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hotspotctl.evaluate.outages import LedgerUpdate, Outage
from hotspotctl.evaluate.status import DOWN, ApHealth
from hotspotctl.store import Store
from hotspotctl.store.outages import save_health, save_ledger
from tests.conftest import write

OPENED = 1_795_330_000.0  # 2026-11-22T06:46:40Z
INVENTORY = """id,lat,lon,site,alcaldia
U-1,19.41,-99.10,UTOPIA-1,Iztapalapa
U-2,19.41,-99.10,UTOPIA-1,Iztapalapa
P-1,19.38,-99.10,PILARES-2,Iztapalapa
T-1,19.30,-99.20,TLALPAN-3,Tlalpan
"""


def outage(site: str, zone: str, aps: tuple[str, ...], cause: str, clients: int, *, closed: float | None = None,
           causes: tuple[str, ...] | None = None) -> Outage:
    return Outage(id=None, site=site, zone=zone, cause=cause, causes=causes or (cause,), aps=aps,
                  aps_now=() if closed else aps, opened_at=OPENED, updated_at=OPENED + 60, closed_at=closed,
                  peak_aps=len(aps), peak_clients=clients, clients_now=clients)


@pytest.fixture
def fleet(cli, tmp_path: Path) -> Path:
    assert cli("inventory", "import", write(tmp_path / "inv.csv", INVENTORY)).code == 0
    return cli.workdir / "var" / "hotspotctl.db"


@pytest.fixture
def ledger(fleet: Path) -> Path:
    with Store.open(f"sqlite:///{fleet}") as store, store.write() as conn:
        save_ledger(conn, LedgerUpdate([
            outage("UTOPIA-1", "Iztapalapa", ("U-2", "U-1"), "site_offline", 40, causes=("site_offline", "offline")),
            outage("PILARES-2", "Iztapalapa", ("P-1",), "uplink_degraded", 12),
            outage("TLALPAN-3", "Tlalpan", ("T-1",), "offline", 3),
            outage("TLALPAN-3", "Tlalpan", ("T-1",), "offline", 99, closed=OPENED + 600),
        ], [], []))
        save_health(conn, {"U-1": ApHealth(state=DOWN, causes=("offline",)),
                           "U-2": ApHealth(state=DOWN, causes=("offline",)),
                           "P-1": ApHealth(state="degraded", causes=("uplink_degraded",), link_mbps=100.0)})
    return fleet


@pytest.fixture
def config(tmp_path: Path) -> Path:
    # Spanish is the default; Tlalpan's crew reads English
    return write(tmp_path / "crews.toml", "[crew_zones.depots]\nIztapalapa = [19.40, -99.10]\n"
                                          '[crew_zones.languages]\nTlalpan = "en"\n')


def test_json_gives_each_zones_stops_in_route_order(cli, ledger, config):
    result = cli("--config", config, "crews", "list", "--format", "json")
    assert result.code == 0 and result.err == ""
    document = json.loads(result.out)
    for zone in document:
        del zone["generated_at"]
    utopia = {"order": 1, "site": "UTOPIA-1", "name": "UTOPIA-1", "district": "Iztapalapa", "cause": "site_offline",
              "causes": ["site_offline", "offline"], "aps_affected": 2, "since": "2026-11-22T06:46:40Z",
              "priority": 1, "people": 40, "clients": 40, "lat": 19.41, "lon": -99.1,
              "map_url": "https://www.google.com/maps/search/?api=1&query=19.410000%2C-99.100000",
              "action": "2 de 2 AP caídos a la vez (U-1, U-2): revisa la energía del sitio (pastilla, UPS, fuente) "
                        "y después su switch y la fibra.", "aps": ["U-1", "U-2"], "outages": [1], "open311": None,
              "devices": [], "neighborhood": None, "done_link": None}
    pilares = {**utopia, "order": 2, "site": "PILARES-2", "name": "PILARES-2", "cause": "uplink_degraded",
               "causes": ["uplink_degraded"], "aps_affected": 1, "priority": 2, "people": 12, "clients": 12,
               "lat": 19.38, "map_url": "https://www.google.com/maps/search/?api=1&query=19.380000%2C-99.100000",
               "action": "Enlace lento en 1 AP (P-1: 100 Mb/s en vez de 1000 Mb/s): vuelve a conectar o cambia el "
                         "cable de parcheo, y revisa el puerto del switch (velocidad/dúplex, errores).", "aps": ["P-1"],
               "outages": [2]}
    # no history in the store: T-1 counts crews.usual_clients (10), more than the 3 clients seen
    tlalpan = {**utopia, "site": "TLALPAN-3", "name": "TLALPAN-3", "district": "Tlalpan", "cause": "offline",
               "causes": ["offline"], "aps_affected": 1, "people": 10, "clients": 3, "lat": 19.3, "lon": -99.2,
               "map_url": "https://www.google.com/maps/search/?api=1&query=19.300000%2C-99.200000",
               "action": "1 AP down (T-1): check the PoE port and cable at the switch, power-cycle it, and replace "
                         "it if it stays down.", "aps": ["T-1"], "outages": [3]}
    assert document == [
        {"zone": "Iztapalapa", "start": {"lat": 19.4, "lon": -99.1, "kind": "depot"}, "distance_km": 4.45,
         "more": 0, "stops": [utopia, pilares]},
        {"zone": "Tlalpan", "start": {"lat": 19.3, "lon": -99.2, "kind": "centroid"}, "distance_km": 0.0,
         "more": 0, "stops": [tlalpan]}]
    capped = json.loads(cli("--config", config, "crews", "list", "-f", "json", "--max-stops", "1").out)
    assert [(z["zone"], [s["site"] for s in z["stops"]], z["more"]) for z in capped] == [
        ("Iztapalapa", ["UTOPIA-1"], 1), ("Tlalpan", ["TLALPAN-3"], 0)]


def test_zone_filter_and_an_unknown_zone(cli, ledger):
    only = json.loads(cli("crews", "list", "--zone", "tlalpan", "-f", "json").out)
    assert [z["zone"] for z in only] == ["Tlalpan"]
    both = json.loads(cli("crews", "list", "--zone", "Tlalpan", "--zone", "Iztapalapa", "-f", "json").out)
    assert [z["zone"] for z in both] == ["Iztapalapa", "Tlalpan"]
    miss = cli("crews", "list", "--zone", "Coyoacan", "-f", "json")
    assert (miss.code, miss.out) == (3, "")
    assert miss.err == "error: --zone 'Coyoacan': no such crew zone; known zones: Iztapalapa, Tlalpan\n"


def test_html_csv_geojson_and_table(cli, ledger, config):
    page = cli.workdir / "crews.html"
    result = cli("crews", "list", "--format", "html", "--output", page)
    assert result.code == 0 and result.out == "" and result.err == f"wrote 3 stops in 2 zones to {page} (html)\n"
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and html.count('<section class="zone">') == 2
    assert "<h2>Iztapalapa</h2>" in html and "Enlace lento en 1 AP (P-1: 100 Mb/s en vez de 1000 Mb/s)" in html
    assert "2026-11-22 00:46 CST (abierta hace " in html  # opened 2026-11-22T06:46:40Z: the city's time
    assert '<html lang="es">' in html and "<th>Dónde</th>" in html  # Spanish by default, the printable sheet

    rows = list(csv.DictReader(io.StringIO(cli("-c", config, "crews", "list", "-f", "csv").out)))
    assert [(r["zone"], r["order"], r["priority"], r["site"], r["aps"], r["people"], r["clients"], r["since"])
            for r in rows] == [
        ("Iztapalapa", "1", "1", "UTOPIA-1", "U-1 U-2", "40", "40", "2026-11-22T00:46:40-06:00"),
        ("Iztapalapa", "2", "2", "PILARES-2", "P-1", "12", "12", "2026-11-22T00:46:40-06:00"),
        ("Tlalpan", "1", "1", "TLALPAN-3", "T-1", "10", "3", "2026-11-22T00:46:40-06:00")]

    target = cli.workdir / "crews.geojson"
    assert cli("-c", config, "crews", "list", "-f", "geojson", "-o", target).code == 0
    features = json.loads(target.read_text())["features"]
    assert [(f["geometry"]["type"], f["properties"].get("site")) for f in features] == [
        ("Point", "UTOPIA-1"), ("Point", "PILARES-2"), ("LineString", None), ("Point", "TLALPAN-3"),
        ("LineString", None)]
    assert features[0]["geometry"]["coordinates"] == [-99.1, 19.41]

    table = cli("crews", "list")
    assert table.code == 0 and "UTOPIA-1" in table.out and "TLALPAN-3" in table.out
    assert "Iztapalapa: 2 paradas" in table.out and "desde el centro de las paradas" in table.out
    assert [p.name for p in cli.workdir.iterdir() if p.name.endswith(".tmp")] == []


def test_no_open_outages_is_an_empty_result_and_a_note(cli, fleet):
    result = cli("crews", "list", "-f", "json")
    assert (result.code, result.out, result.err) == (0, "[]\n", "no open outages: nothing for the crews to do\n")
    result = cli("crews", "list", "-f", "csv", "--zone", "tlalpan")
    assert result.out.startswith("zone,order,priority,site,") and len(result.out.splitlines()) == 1
    assert result.err == "no open outages in zone Tlalpan: nothing for the crews to do\n"
    assert json.loads(cli("crews", "list", "-f", "geojson").out) == {"type": "FeatureCollection", "features": []}
    empty = cli("crews", "list", "-f", "html").out  # no list to take the language from: crew_zones.language's
    assert '<html lang="es">' in empty and "No hay fallas abiertas: las cuadrillas no tienen pendientes." in empty


def test_help_explains_stops_and_the_route(cli):
    result = cli("crews", "list", "--help")
    assert result.code == 0
    assert "A stop is a site with an open outage" in result.out and "2-opt" in result.out
    assert "Examples:" in result.out and "--max-stops" in result.out
