"""The printable crew list, printed for real: Debian's chromium (headless) turns the page into a PDF.

The list is the city's own: 338 sites of the bundled Mexico City inventory (every 104th row of the open
data, real ids, programmes, alcaldías and points; a colonia on every third, as an operator's merge adds
them), each with an open outage, in one zone in Spanish, ordered by build_crew_list. 338 is the issue's
figure: that many stops printed as 177 pages before the compact sheet.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pytest
from python_calamine import CalamineWorkbook

from hotspotctl.delivery.email import build_message
from hotspotctl.evaluate.outages import Outage
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.models.access_points import AccessPoint, Site
from hotspotctl.reports.crews import ZoneList, build_crew_list
from hotspotctl.reports.render import write_crews_csv, write_crews_html
from hotspotctl.settings import CrewZoneSettings, EmailSettings
from tests.conftest import CDMX_XLSX

NOW = 1_795_334_400.0  # 2026-11-22T08:00:00Z, 02:00 in Mexico City
CDMX = ZoneInfo("America/Mexico_City")
ZONE = "Ciudad de México"
CAUSES = ("site_offline", "offline", "uplink_degraded", "radio_down", "reboot_loop", "flapping")
COLONIAS = ("Santa Cruz Meyehualco", "San Ángel", "Doctores", "Peñón de los Baños", "Santa María la Ribera")
HOSTILE = {  # site names as an inventory file may carry them: data, never markup, formulas or layout
    3: "<script>alert(1)</script>",
    5: "=cmd|' /C calc'!A0",
    7: 'Escuela "Niños Héroes" <Primaria> & Anexo',
    9: "\u202eamrofni\u202c Mercado\x07\x1b[31m",
}
MAX_PAGES_338 = 22  # measured 20 (Letter, Debian's chromium 156, DejaVu fonts); 169 with the page before it
MAX_PAGES_DAY = 2  # a zone's day: crews.max_stops = 25 stops


def city_fleet_and_outages(count: int) -> tuple[Fleet, list[Outage]]:
    rows = CalamineWorkbook.from_path(str(CDMX_XLSX)).get_sheet_by_index(0).to_python()[1:]
    aps: dict[str, AccessPoint] = {}
    sites: dict[str, Site] = {}
    outages = []
    for n, row in enumerate(rows[::104][:count]):
        ap_id = str(row[0]).strip().removesuffix(".0")
        lat, lon = (float(str(value).strip(" ,\n")) for value in (row[2], row[3]))
        site_id = f"cdmx-{n:03d}"
        name = HOSTILE.get(n, f"{row[1]} {ap_id}")
        colonia = COLONIAS[n % len(COLONIAS)] if n % 3 == 0 else None
        aps[ap_id] = AccessPoint(ap_id, lat, lon, program=str(row[1]), district=str(row[4]), neighborhood=colonia,
                                 site_id=site_id)
        sites[site_id] = Site(site_id, name, lat, lon, str(row[4]), explicit=False)
        cause = CAUSES[n % len(CAUSES)]
        outages.append(Outage(id=n + 1, site=site_id, zone=ZONE, cause=cause, causes=(cause,), aps=(ap_id,),
                              aps_now=(ap_id,), opened_at=NOW - 600 * (n % 50 + 1), updated_at=NOW, peak_aps=1,
                              peak_clients=n % 40, clients_now=0))
    return Fleet(aps, sites, CrewZones({}, {})), outages


def spanish_list(count: int, max_stops: int) -> ZoneList:
    fleet, outages = city_fleet_and_outages(count)
    [zone] = build_crew_list(outages, fleet, NOW, max_stops=max_stops, tz=CDMX,
                             languages=CrewZoneSettings())  # the default: Spanish
    return zone


def print_to_pdf(page: str, tmp_path: Path) -> pypdf.PdfReader:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: run tests/install-servers.sh"
    source, target = tmp_path / "crews.html", tmp_path / "crews.pdf"
    source.write_text(page, encoding="utf-8")
    env = {**os.environ, "HOME": str(tmp_path)}  # its profile and caches in the test's folder
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={target}", source.as_uri()],
        capture_output=True, text=True, timeout=180, env=env, check=False)
    assert done.returncode == 0 and target.exists(), done.stderr[-2000:]
    return pypdf.PdfReader(io.BytesIO(target.read_bytes()))


def _html(zone: ZoneList) -> str:
    out = io.StringIO()
    write_crews_html(out, [zone], generated_at=NOW)
    return out.getvalue()


@pytest.fixture(scope="module")
def city() -> ZoneList:
    return spanish_list(338, max_stops=0)


def test_338_stops_of_the_city_print_in_spanish_on_a_few_pages(city, tmp_path):
    assert len(city.stops) == 338 and city.language == "es"
    page = _html(city)
    pdf = print_to_pdf(page, tmp_path)
    pages = len(pdf.pages)
    print(f"338 stops: {pages} pages")  # quoted in docs/outages.md
    assert 10 <= pages <= MAX_PAGES_338
    assert all(p.mediabox.width == 612 and p.mediabox.height == 792 for p in pdf.pages)  # Letter (carta)
    text = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())  # lines joined: words wrap
    for heading in ("Listas de cuadrillas", "338 paradas", "Hecho", "Prio.", "Sitio", "Dónde", "Causa y qué hacer",
                    "Mapa", "Cuadrilla:", "Vehículo:", "Firma:"):
        assert heading in text, heading
    for words in ("Sitio sin servicio", "AP caído", "Enlace lento", "Radio apagado", "Reinicios en ciclo",
                  "Intermitencia", "Col. Santa Cruz Meyehualco, ", "Col. Peñón de los Baños, "):
        assert words in text, words
    assert "Generada el 2026-11-22 02:00 CST" in text  # the city's time, not UTC's 08:00
    # every stop is printed (site ids are on their lines), none lost to the compact layout
    missing = [stop.site for stop in city.stops if stop.site not in text]
    assert missing == []
    # the phone view's cards and their map buttons are not printed: the QR codes carry the links
    assert "Abrir en el mapa" in page and "Abrir en el mapa" not in text
    assert page.count('<td class="qr"') == 338 and page.count("<svg") == 338


def test_a_zones_day_fits_on_two_pages(tmp_path):
    day = spanish_list(338, max_stops=25)
    assert len(day.stops) == 25 and day.more == 313
    pdf = print_to_pdf(_html(day), tmp_path)
    print(f"25 stops: {len(pdf.pages)} pages")
    assert len(pdf.pages) <= MAX_PAGES_DAY
    assert "313 más esperan a la siguiente lista" in " ".join(pdf.pages[0].extract_text().split())


def test_the_city_by_alcaldia_prints_each_zones_day_on_at_most_two_pages(tmp_path):
    """As the demo's list: a zone per alcaldía, each on its own pages, at most crews.max_stops (25) a zone."""
    fleet, outages = city_fleet_and_outages(338)
    by_district = [replace(o, zone=fleet.sites[o.site].district or ZONE) for o in outages]
    lists = build_crew_list(by_district, fleet, NOW, max_stops=25, tz=CDMX, languages=CrewZoneSettings())
    stops = sum(len(zone.stops) for zone in lists)
    assert len(lists) == 16 and stops > 250
    out = io.StringIO()
    write_crews_html(out, lists, generated_at=NOW)
    pdf = print_to_pdf(out.getvalue(), tmp_path)
    print(f"{stops} stops in {len(lists)} zones: {len(pdf.pages)} pages")
    texts = [" ".join(page.extract_text().split()) for page in pdf.pages]
    starts = [n for n, text in enumerate(texts) for zone in lists if f"{zone.zone} {len(zone.stops)} paradas" in text]
    assert len(starts) == 16 and len(set(starts)) == 16  # each zone heads a page of its own
    ends = [*starts[1:], len(pdf.pages)]
    assert max(end - start for start, end in zip(starts, ends, strict=True)) <= MAX_PAGES_DAY
    assert len(pdf.pages) <= MAX_PAGES_DAY * len(lists)


def test_hostile_site_names_are_inert_in_the_page_and_the_print(city, tmp_path):
    page = _html(city)
    assert "<script" not in page.lower() and "<primaria>" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Escuela &quot;Niños Héroes&quot; &lt;Primaria&gt; &amp; Anexo" in page
    assert "\x07" not in page and "\x1b" not in page and "\u202e" not in page and "\u202c" not in page
    assert "amrofni Mercado[31m" in page  # the letters stay, the controls go: nothing reversed or coloured
    text = "".join(p.extract_text() for p in print_to_pdf(page, tmp_path).pages).replace("\n", "")
    assert "<script>alert(1)</script>" in text  # printed as the text it is
    assert "=cmd|' /C calc'!A0" in text.replace("’", "'")


def test_hostile_site_names_are_inert_in_the_csv_and_the_email(city):
    out = io.StringIO()
    write_crews_csv(out, [city])
    rows = {row["site"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows["cdmx-005"]["name"] == "'=cmd|' /C calc'!A0"  # a formula, written as text
    assert rows["cdmx-003"]["name"] == "<script>alert(1)</script>"  # CSV is not markup: kept as written
    message = build_message(city, EmailSettings(sender="noc@wifi.cdmx.example"), ("crew@wifi.cdmx.example",))
    assert message["Subject"] == "Lista de cuadrilla Ciudad de México: 338 paradas (2026-11-22)"
    plain = message.get_body(("plain",)).get_content()
    assert "\u202e" not in plain and "\x07" not in plain and "\x1b" not in plain
    assert " amrofni Mercado [31m (" in plain
    assert plain.startswith("Lista de cuadrilla Ciudad de México: 338 paradas (2026-11-22), generada el 2026-11-22 "
                            "02:00 CST\nRuta desde el centro de las paradas")
    html_part = message.get_body(("html",)).get_content()
    assert "<script" not in html_part and "&lt;script&gt;" in html_part and '<html lang="es">' in html_part
