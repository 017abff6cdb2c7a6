"""Crew-list delivery fixtures: an SMTP server with STARTTLS and login, an outage ledger with stops to send."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotspotctl.evaluate.outages import LedgerUpdate, Outage
from hotspotctl.reports.crews import Stop, ZoneList, map_url
from hotspotctl.settings import Settings
from hotspotctl.store import Store
from hotspotctl.store.outages import save_ledger
from tests.servers import SmtpServer

NOW = 1_795_334_400.0  # 2026-11-22T08:00:00Z, 02:00 in Mexico City
CDMX = ZoneInfo("America/Mexico_City")
OPEN311_KEY = "o311-api-key-never-shown"
WEBHOOK_TOKEN = "wh-token-never-shown"


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path / "smtp").start()
    try:
        yield server
    finally:
        server.stop()


def with_crews(settings: Settings | None = None, **sections: dict[str, Any]) -> Settings:
    """Settings whose crews.<section> fields are replaced: with_crews(email={"host": ...})."""
    settings = settings or Settings()
    crews = settings.crews
    for name, values in sections.items():
        crews = dataclasses.replace(crews, **{name: dataclasses.replace(getattr(crews, name), **values)})
    return dataclasses.replace(settings, crews=crews)


def email_settings(server: SmtpServer, **extra: Any) -> Settings:
    values = {"host": "127.0.0.1", "port": server.port, "tls": "starttls", "ca_file": str(server.ca_file),
              "username": SmtpServer.USER, "password": SmtpServer.PASSWORD, "sender": "noc@wifi.cdmx.example",
              "zones": {"iztapalapa": "crew-izt@wifi.cdmx.example, jefe-izt@wifi.cdmx.example",
                        "Tlalpan": "crew-tlp@wifi.cdmx.example"}, "timeout_s": 10.0}
    return with_crews(email={**values, **extra})


@dataclass
class Ledger:
    """Open outages in a store and the crew lists that name them, built by hand (no fleet needed)."""

    store: Store

    def open(self, site: str, zone: str, aps: tuple[str, ...], *, cause: str = "site_offline",
             clients: int = 12, opened_at: float = NOW - 3600) -> int:
        outage = Outage(id=None, site=site, zone=zone, cause=cause, causes=(cause,), aps=aps, aps_now=aps,
                        opened_at=opened_at, updated_at=NOW, peak_aps=len(aps), peak_clients=clients,
                        clients_now=clients)
        with self.store.write() as conn:
            stored = save_ledger(conn, LedgerUpdate([outage], [], []))
        return int(stored.opened[0].id)

    def stop(self, order: int, site: str, name: str, district: str | None, lat: float, lon: float,
             aps: tuple[str, ...], outages: tuple[int, ...], *, cause: str = "site_offline", clients: int = 12,
             priority: int | None = None, action: str = "Check the site's power and switch.",
             open311: str | None = None) -> Stop:
        return Stop(order=order, site=site, name=name, district=district, cause=cause, causes=(cause,),
                    aps_affected=len(aps), aps=aps, since=NOW - 3600, priority=priority or order, clients=clients,
                    lat=lat, lon=lon, map_url=map_url(lat, lon), action=action, outages=outages, open311=open311)


def zone_list(zone: str, *stops: Stop, generated_at: float = NOW) -> ZoneList:
    start = (stops[0].lat, stops[0].lon) if stops else (19.4326, -99.1332)
    return ZoneList(zone=zone, generated_at=generated_at, start=start, start_kind="centroid", stops=tuple(stops),
                    more=0, distance_km=3.2 if stops else 0.0, tz=CDMX)


@dataclass
class CrewLists:
    """Three zones: Iztapalapa (2 stops, one of them two outages), Tlalpan (1), Xochimilco (none)."""

    ledger: Ledger
    lists: list[ZoneList]

    @property
    def stops(self) -> list[Stop]:
        return [stop for zl in self.lists for stop in zl.stops]

    def outage_ids(self, zone: str | None = None) -> list[int]:
        return [i for zl in self.lists if zone in (None, zl.zone) for stop in zl.stops for i in stop.outages]


TRICKY_NAME = 'Escuela "Niños Héroes" <Primaria> & Anexo'


@pytest.fixture
def crew_lists(sqlite_store: Store) -> CrewLists:
    ledger = Ledger(sqlite_store)
    a1 = ledger.open("9g3w-escuela", "Iztapalapa", ("ESC-NH_AP_01", "ESC-NH_AP_02"), clients=40)
    a2 = ledger.open("9g3w-pilares", "Iztapalapa", ("PILARES-SC_AP_01",), cause="offline", clients=9)
    a3 = ledger.open("9g3w-pilares", "Iztapalapa", ("PILARES-SC_AP_02",), cause="offline", clients=3,
                     opened_at=NOW - 7200)
    t1 = ledger.open("9g3q-mercado", "Tlalpan", ("MERCADO-TLP",), cause="reboot_loop", clients=5)
    lists = [
        zone_list("Iztapalapa",
                  ledger.stop(1, "9g3w-escuela", TRICKY_NAME, "Iztapalapa", 19.357123, -99.064456,
                              ("ESC-NH_AP_01", "ESC-NH_AP_02"), (a1,), clients=40),
                  ledger.stop(2, "9g3w-pilares", "PILARES Santa Cruz Meyehualco", "Iztapalapa", 19.347001, -99.048002,
                              ("PILARES-SC_AP_01", "PILARES-SC_AP_02"), (a2, a3), cause="offline", clients=12,
                              action="Power-cycle PILARES-SC_AP_01 and PILARES-SC_AP_02.")),
        zone_list("Tlalpan",
                  ledger.stop(1, "9g3q-mercado", "Mercado de Tlalpan", "Tlalpan", 19.288500, -99.167700,
                              ("MERCADO-TLP",), (t1,), cause="reboot_loop", clients=5,
                              action="Replace the AP's power supply.")),
        zone_list("Xochimilco"),
    ]
    return CrewLists(ledger, lists)
