"""Crew lists: one stop per open outage's site, priorities, the cut at max_stops, the route, the actions."""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hotspotctl.collectors.model import Discovery
from hotspotctl.evaluate.outages import LedgerUpdate, Outage
from hotspotctl.evaluate.status import DOWN, UP, ApHealth
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.models.access_points import AccessPoint, Site
from hotspotctl.reports.crews import (
    EARTH_RADIUS_KM,
    action_for,
    build_crew_list,
    crew_lists_from_store,
    haversine_km,
    language_for,
    map_url,
    neighborhoods,
    path_km,
    plan_route,
)
from hotspotctl.settings import CrewSettings, CrewZoneSettings, EvaluateSettings, Settings
from hotspotctl.store.outages import save_health, save_ledger
from hotspotctl.store.polling import StoredDiscovery, save_discoveries
from tests.conftest import write

NOW = 1_795_330_000.0
LON = -99.10
DEPOT = (19.40, LON)

# Norte lies on one meridian, so distances are exact arcs: R * (degrees of latitude in radians).
SITES = {
    "S-A": Site("S-A", "Escuela A", 19.41, LON, "Gustavo A. Madero", True),
    "S-B": Site("S-B", "Pilares B", 19.38, LON, "Gustavo A. Madero", True),
    "S-C": Site("S-C", "Metro C", 19.45, LON, "Azcapotzalco", True),
    "S-D": Site("S-D", "Clinica D", 19.30, -99.20, "Tlalpan", True),
    "S-E": Site("S-E", "Poste E", 19.33, -99.20, "Tlalpan", True),
    "S-G": Site("S-G", "Poste G", 19.31, -99.25, "Tlalpan", True),
}
APS = {
    "A-1": AccessPoint("A-1", 19.41, LON, site_id="S-A"),
    "A-2": AccessPoint("A-2", 19.41, LON, site_id="S-A"),
    "B-1": AccessPoint("B-1", 19.38, LON, site_id="S-B"),
    "C-1": AccessPoint("C-1", 19.45, LON, site_id="S-C"),
    "C-2": AccessPoint("C-2", 19.45, LON, site_id="S-C"),
    "C-3": AccessPoint("C-3", 19.45, LON, site_id="S-C"),
    "C-4": AccessPoint("C-4", 19.45, LON, site_id="S-C"),
    "D-1": AccessPoint("D-1", 19.30, -99.20, site_id="S-D"),
    "E-1": AccessPoint("E-1", 19.33, -99.20, site_id="S-E"),
    "G-1": AccessPoint("G-1", 19.31, -99.25, site_id="S-G"),
}


def arc_km(degrees: float) -> float:
    return EARTH_RADIUS_KM * math.radians(degrees)


def outage(id_: int, site: str, zone: str, aps: tuple[str, ...], *, cause: str = "offline",
           causes: tuple[str, ...] | None = None, clients: int = 0, opened: float = NOW - 3600,
           closed: float | None = None, delivery: dict | None = None) -> Outage:
    return Outage(id=id_, site=site, zone=zone, cause=cause, causes=causes or (cause,), aps=aps,
                  aps_now=() if closed else aps, opened_at=opened, updated_at=NOW - 60, closed_at=closed,
                  peak_aps=len(aps), peak_clients=clients, clients_now=clients, delivery=delivery or {})


@pytest.fixture
def fleet() -> Fleet:
    return Fleet(dict(APS), dict(SITES), CrewZones({}, {}))


@pytest.fixture
def outages() -> list[Outage]:
    return [
        outage(1, "S-A", "Norte", ("A-2", "A-1"), clients=5, opened=NOW - 7200),
        outage(2, "S-B", "Norte", ("B-1",), cause="uplink_degraded", clients=50, opened=NOW - 600,
               delivery={"open311": {"id": "SR-881"}}),
        outage(3, "S-C", "Norte", ("C-1", "C-2", "C-3"), cause="site_offline", causes=("site_offline", "offline"),
               clients=50, opened=NOW - 1800),
        outage(4, "S-D", "Sur", ("D-1",), clients=10, opened=NOW - 100),
        outage(5, "S-E", "Sur", ("E-1",), clients=10, opened=NOW - 50, delivery={"open311": {"token": "tok-9"}}),
        outage(6, "S-G", "Sur", ("G-1",), clients=1),
        outage(7, "S-G", "Sur", ("G-1",), clients=900, opened=NOW - 90000, closed=NOW - 80000),  # closed: not a stop
    ]


def test_one_stop_per_open_outage_by_zone_with_the_sites_details(fleet, outages):
    lists = build_crew_list(outages, fleet, NOW, depots={"Norte": DEPOT})
    assert [z.zone for z in lists] == ["Norte", "Sur"]
    norte, sur = lists
    assert sorted(s.site for s in norte.stops) == ["S-A", "S-B", "S-C"]
    assert sorted(s.site for s in sur.stops) == ["S-D", "S-E", "S-G"]  # the closed outage 7 is not a stop
    a = next(s for s in norte.stops if s.site == "S-A")
    assert (a.name, a.district, a.lat, a.lon) == ("Escuela A", "Gustavo A. Madero", 19.41, LON)
    assert (a.aps, a.aps_affected, a.clients, a.since, a.outages) == (("A-1", "A-2"), 2, 5, NOW - 7200, (1,))
    assert a.map_url == "https://www.google.com/maps/search/?api=1&query=19.410000%2C-99.100000"
    assert (a.cause, a.causes, a.open311) == ("offline", ("offline",), None)
    assert next(s for s in norte.stops if s.site == "S-B").open311 == "SR-881"
    assert next(s for s in sur.stops if s.site == "S-E").open311 == "tok-9"
    assert (norte.generated_at, norte.more) == (NOW, 0)
    document = norte.to_json()
    assert document["generated_at"] == datetime.fromtimestamp(NOW, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert document["stops"][0]["devices"] == []


def test_zone_filter_is_exact(fleet, outages):
    assert [z.zone for z in build_crew_list(outages, fleet, NOW, zones=["Sur"])] == ["Sur"]
    assert build_crew_list(outages, fleet, NOW, zones=["sur"]) == []
    assert build_crew_list([], fleet, NOW) == []


def test_priority_is_most_clients_then_longest_open_then_site(fleet, outages):
    norte, sur = build_crew_list(outages, fleet, NOW)
    by_priority = lambda zone: [s.site for s in sorted(zone.stops, key=lambda s: s.priority)]  # noqa: E731
    assert by_priority(norte) == ["S-C", "S-B", "S-A"]  # 50 clients (open 30 min), 50 (10 min), then 5
    assert by_priority(sur) == ["S-D", "S-E", "S-G"]  # 10 clients open longer, 10, then 1
    tied = [outage(1, "S-B", "Z", ("B-1",), opened=NOW - 10), outage(2, "S-A", "Z", ("A-1",), opened=NOW - 10)]
    assert by_priority(build_crew_list(tied, fleet, NOW)[0]) == ["S-A", "S-B"]


def test_max_stops_keeps_the_most_urgent_and_counts_the_rest(fleet, outages):
    norte, sur = build_crew_list(outages, fleet, NOW, max_stops=2)
    assert sorted((s.priority, s.site) for s in norte.stops) == [(1, "S-C"), (2, "S-B")]
    assert (norte.more, sur.more) == (1, 1)
    assert norte.to_json()["more"] == 1
    everything = build_crew_list(outages, fleet, NOW, max_stops=0)
    assert [len(z.stops) for z in everything] == [3, 3] and [z.more for z in everything] == [0, 0]


def test_the_route_from_the_depot_is_improved_by_two_opt(fleet, outages):
    # From the depot at 19.40: A is 0.01 deg north, B 0.02 south, C 0.05 north. Nearest neighbour goes
    # A, B, C (0.01 + 0.03 + 0.07 = 0.11 deg); 2-opt reverses A, B: B, A, C (0.02 + 0.03 + 0.04 = 0.09 deg).
    norte = build_crew_list(outages, fleet, NOW, depots={"Norte": DEPOT})[0]
    assert (norte.start, norte.start_kind) == (DEPOT, "depot")
    assert [(s.order, s.site, s.priority) for s in norte.stops] == [(1, "S-B", 2), (2, "S-A", 3), (3, "S-C", 1)]
    assert norte.distance_km == pytest.approx(arc_km(0.09), rel=1e-9)
    nearest_neighbour = [(19.41, LON), (19.38, LON), (19.45, LON)]
    assert path_km(DEPOT, nearest_neighbour) == pytest.approx(arc_km(0.11), rel=1e-9)
    assert norte.to_json()["distance_km"] == round(arc_km(0.09), 2) == 10.01
    assert plan_route(DEPOT, nearest_neighbour) == ([1, 0, 2], pytest.approx(arc_km(0.09), rel=1e-9))
    assert plan_route(DEPOT, []) == ([], 0.0)


def test_without_a_depot_the_route_starts_at_the_centroid_of_its_stops(fleet, outages):
    sur = build_crew_list(outages, fleet, NOW, depots={"Norte": DEPOT})[1]
    assert sur.start_kind == "centroid"
    assert sur.start == pytest.approx(((19.30 + 19.33 + 19.31) / 3, (-99.20 - 99.20 - 99.25) / 3))
    # Nearest neighbour goes D (nearest the centroid), E, G; 2-opt finds E, D, G shorter (D is nearer G).
    assert [s.site for s in sur.stops] == ["S-E", "S-D", "S-G"]
    two_opt = haversine_km(sur.start, (19.33, -99.20)) + arc_km(0.03) + haversine_km((19.30, -99.20), (19.31, -99.25))
    nearest = haversine_km(sur.start, (19.30, -99.20)) + arc_km(0.03) + haversine_km((19.33, -99.20), (19.31, -99.25))
    assert sur.distance_km == pytest.approx(two_opt, rel=1e-9) and two_opt < nearest
    assert sur.distance_km == pytest.approx(path_km(sur.start, [(s.lat, s.lon) for s in sur.stops]), rel=1e-12)
    kept = build_crew_list(outages, fleet, NOW, max_stops=1)[1]  # the centroid of the stops kept
    assert kept.start == (19.30, -99.20) and kept.distance_km == 0.0


def test_actions_carry_the_real_figures(fleet, outages):
    healths = {
        "B-1": ApHealth(state="degraded", causes=("uplink_degraded",), link_mbps=100.0),
        "C-1": ApHealth(state=DOWN, causes=("offline",)), "C-2": ApHealth(state=DOWN, causes=("offline",)),
        "C-3": ApHealth(state=DOWN, causes=("offline",)),
    }
    norte = build_crew_list(outages, fleet, NOW, healths=healths, expected_link={"B-1": 1000.0})[0]
    action = {s.site: s.action for s in norte.stops}
    assert action["S-B"] == ("Uplink slow on 1 AP (B-1: 100 Mb/s instead of 1000 Mb/s): reseat or replace the patch "
                             "cable, and check the switch port (speed/duplex, errors).")
    assert action["S-C"] == ("3 of 4 APs down together (C-1, C-2, C-3): check the site's power (breaker, UPS, "
                             "supply), then its switch and fibre.")  # C-4 is the fourth AP of the site, still up
    assert action["S-A"] == ("2 APs down (A-1, A-2): check the PoE port and cable at the switch, power-cycle each, "
                             "and replace any that stays down.")  # no health stored: the outage's APs
    reboots = {"X": ApHealth(state=UP, causes=("reboot_loop", "flapping"), reboots=(1.0, 2.0, 3.0, 4.0, 5.0),
                             changes=(1.0,) * 6)}
    text = action_for("reboot_loop", ("reboot_loop", "flapping"), aps=["X"], healths=reboots)
    assert text == ("Reboot loop on 1 AP (X: 5 reboots in 24 h): check the power supply, the switch's PoE budget and "
                    "the PoE injector. Also: flapping on 1 AP (X: 6 up/down changes in the last hour): check the "
                    "cable and its connectors, and the backhaul radio's alignment.")
    assert "(X: 5 reboots in 12 h)" in action_for("reboot_loop", aps=["X"], healths=reboots, reboot_hours=12)
    assert "(X: 6 up/down changes in the last 30 min)" in action_for("flapping", aps=["X"], healths=reboots,
                                                                      flap_minutes=30)
    several = {"P": ApHealth(causes=("uplink_degraded",), link_mbps=100.0),
               "Q": ApHealth(causes=("uplink_degraded",), link_mbps=10.0)}
    assert action_for("uplink_degraded", aps=["P", "Q"], healths=several, expected_link={"Q": 500.0}).startswith(
        "Uplink slow on 2 APs (P: 100 Mb/s; Q: 10 Mb/s instead of 500 Mb/s): ")
    assert action_for("uplink_degraded", aps=["P"]).startswith("Uplink slow on 1 AP (P): ")


def test_a_site_gone_from_the_inventory(fleet, outages, caplog):
    del fleet.sites["S-A"]
    moved = replace(fleet.aps["A-2"], lat=19.43)
    fleet.aps["A-2"] = moved
    norte = build_crew_list(outages, fleet, NOW)[0]
    a = next(s for s in norte.stops if s.site == "S-A")
    assert (a.name, a.lat, a.lon) == ("S-A", pytest.approx(19.42), LON)  # the mean of its APs
    del fleet.aps["A-1"], fleet.aps["A-2"]
    with caplog.at_level(logging.WARNING, logger="hotspotctl.crews"):
        norte = build_crew_list(outages, fleet, NOW)[0]
    assert [s.site for s in norte.stops if s.site == "S-A"] == []
    assert "outage 1 at site S-A left off" in caplog.text


def test_devices_are_the_distinct_first_lines_of_sysdescr(fleet, outages):
    devices = {"C-1": "UniFi UAP-AC-Pro 6.5.28\nLinux 3.3.8", "C-2": "UniFi UAP-AC-Pro 6.5.28",
               "C-3": "RouterOS RB951\r\nfirmware 6.49"}
    norte = build_crew_list(outages, fleet, NOW, devices=devices)[0]
    c = next(s for s in norte.stops if s.site == "S-C")
    assert c.devices == ("RouterOS RB951", "UniFi UAP-AC-Pro 6.5.28")
    assert c.to_json()["devices"] == ["RouterOS RB951", "UniFi UAP-AC-Pro 6.5.28"]


def test_map_url():
    assert map_url(19.4326077, -99.133208) == "https://www.google.com/maps/search/?api=1&query=19.432608%2C-99.133208"


INVENTORY = """id,lat,lon,site,alcaldia
U-1,19.41,-99.10,UTOPIA-1,Iztapalapa
U-2,19.41,-99.10,UTOPIA-1,Iztapalapa
P-1,19.38,-99.10,PILARES-2,Iztapalapa
T-1,19.30,-99.20,TLALPAN-3,Tlalpan
"""


def _layout(descr: str) -> Discovery:
    return Discovery(profile="generic", sys_descr=descr, sys_object_id="1.3.6.1.4.1.8072.3.2.10", uptime_sources=(),
                     uplink=None, radios=(), counter_bits=None, link_source=None, link_scale=1.0, clients_kind=None,
                     clients_oids=())


def test_from_the_store_with_settings(store, rules, tmp_path):
    import_inventory(store, write(tmp_path / "inv.csv", INVENTORY), rules)
    fleet = Fleet.load(store, CrewZones({}, {}))
    at = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    with store.write() as conn:
        save_ledger(conn, LedgerUpdate([
            outage(0, "UTOPIA-1", "Iztapalapa", ("U-1", "U-2"), cause="site_offline",
                   causes=("site_offline", "offline"), clients=40),
            outage(0, "PILARES-2", "Iztapalapa", ("P-1",), cause="uplink_degraded", clients=12),
            outage(0, "TLALPAN-3", "Tlalpan", ("T-1",), clients=3),
        ], [], []))
        save_health(conn, {"U-1": ApHealth(state=DOWN, causes=("offline",)),
                           "U-2": ApHealth(state=DOWN, causes=("offline",)),
                           "P-1": ApHealth(state="degraded", causes=("uplink_degraded",), link_mbps=100.0)})
        save_discoveries(conn, {"U-1": StoredDiscovery("10.0.0.1:161", _layout("Ubiquiti UAP\nrev 2"), at),
                                "P-1": StoredDiscovery("10.0.0.2:161", _layout("=cmd|calc"), at)})
    # Spanish by default (crew_zones.language); Tlalpan's crew reads English (named in another case)
    settings = Settings(crew_zones=CrewZoneSettings(depots={"Iztapalapa": (19.40, -99.10)}, languages={"TLALPAN": "en"}),
                        crews=CrewSettings(max_stops=1), evaluate=EvaluateSettings(expected_link_mbps=1000.0))
    lists = crew_lists_from_store(store, fleet, settings, NOW)
    assert [(z.zone, z.start_kind, len(z.stops), z.more, z.language) for z in lists] == [
        ("Iztapalapa", "depot", 1, 1, "es"), ("Tlalpan", "centroid", 1, 0, "en")]
    u = lists[0].stops[0]
    assert (u.site, u.aps, u.devices, u.clients) == ("UTOPIA-1", ("U-1", "U-2"), ("Ubiquiti UAP",), 40)
    assert u.action == ("2 de 2 AP caídos a la vez (U-1, U-2): revisa la energía del sitio (pastilla, UPS, fuente) "
                        "y después su switch y la fibra.")
    assert lists[1].stops[0].action.startswith("1 AP down (T-1): check the PoE port and cable at the switch")
    everything = crew_lists_from_store(store, fleet, settings, NOW, zones=["Iztapalapa"], max_stops=0)
    assert [z.zone for z in everything] == ["Iztapalapa"]
    p = next(s for s in everything[0].stops if s.site == "PILARES-2")
    assert p.devices == ("=cmd|calc",)
    assert p.action.startswith("Enlace lento en 1 AP (P-1: 100 Mb/s en vez de 1000 Mb/s): vuelve a conectar")
    assert [s.order for s in everything[0].stops] == [1, 2]
    assert [s.site for s in everything[0].stops] == ["UTOPIA-1", "PILARES-2"]  # 19.41 is nearer the depot


def test_equally_near_stops_go_in_priority_order(fleet):
    # No depot: the centroid of A (19.41) and B (19.38) is as near one as the other; the more urgent comes first.
    for urgent, other in (("S-A", "S-B"), ("S-B", "S-A")):
        found = [outage(1, urgent, "Z", (f"{urgent[-1]}-1",), clients=9), outage(2, other, "Z", (f"{other[-1]}-1",))]
        zone = build_crew_list(found, fleet, NOW)[0]
        assert [(s.site, s.priority) for s in zone.stops] == [(urgent, 1), (other, 2)]
        assert zone.distance_km == pytest.approx(arc_km(0.015) + arc_km(0.03), rel=1e-9)


def test_stops_rank_by_the_people_usually_served_then_the_aps_affected(fleet):
    """A site dark before its first poll (0 clients seen) is not ranked below single-AP cable jobs."""
    found = [outage(1, "S-C", "Norte", ("C-1", "C-2", "C-3", "C-4"), cause="site_offline",
                    causes=("site_offline", "offline"), clients=0),
             outage(2, "S-A", "Norte", ("A-1",), clients=25, opened=NOW - 90000),
             outage(3, "S-B", "Norte", ("B-1",), cause="uplink_degraded", clients=2)]
    by_clients_seen = build_crew_list(found, fleet, NOW)[0]  # no history given: the clients seen
    assert [(s.site, s.priority, s.people) for s in sorted(by_clients_seen.stops, key=lambda s: s.priority)] == [
        ("S-A", 1, 25), ("S-B", 2, 2), ("S-C", 3, 0)]
    usual = {"C-1": 9.0, "C-2": 9.0, "C-3": 9.0, "C-4": 9.4, "A-1": 12.0, "B-1": 40.0}
    norte = build_crew_list(found, fleet, NOW, people=usual, max_stops=2)[0]
    assert [(s.site, s.priority, s.people, s.clients) for s in sorted(norte.stops, key=lambda s: s.priority)] == [
        ("S-B", 1, 40, 2), ("S-C", 2, 36, 0)]  # 9 + 9 + 9 + 9.4 = 36.4; S-A's 25 seen beat its usual 12
    assert norte.more == 1
    tied = {"C-1": 1.0, "C-2": 1.0, "C-3": 1.0, "C-4": 2.0, "A-1": 0.0, "B-1": 0.0}
    found[1] = replace(found[1], peak_clients=5)
    norte = build_crew_list(found, fleet, NOW, people=tied, max_stops=0)[0]
    assert [(s.site, s.people, s.aps_affected) for s in sorted(norte.stops, key=lambda s: s.priority)] == [
        ("S-C", 5, 4), ("S-A", 5, 1), ("S-B", 2, 1)]  # equal people: the most APs first


def test_usual_people_from_the_hourly_rows_else_the_programmes_default_else_the_fleets(fleet):
    from zoneinfo import ZoneInfo

    from hotspotctl.reports.crews import usual_people

    cdmx = ZoneInfo("America/Mexico_City")
    at = datetime(2026, 11, 22, 15, 30, tzinfo=UTC).timestamp()  # 09:30 in the city
    aps = [replace(APS["A-1"], district="Tlalpan", program="Escuelas"),
           replace(APS["B-1"], district="Tlalpan", program="PILARES"),
           replace(APS["C-1"], district="Tlalpan", program="MiCalle"),
           replace(APS["D-1"], district=None, program=None)]

    def row(day: int, utc_hour: int, district, program, counted, clients):
        hour = datetime(2026, 11, day, utc_hour, tzinfo=UTC).timestamp()
        return {"hour": hour, "district": district, "program": program, "samples": counted, "up": counted,
                "measured": 0, "meeting": 0, "counted": counted, "clients": clients}

    rows = [row(22, 15, "Tlalpan", "Escuelas", 10, 300), row(21, 15, "Tlalpan", "Escuelas", 30, 300),  # 09:xx
            row(22, 14, "Tlalpan", "Escuelas", 10, 9000),  # 08:xx local: another hour
            row(22, 15, "Tlalpan", "MiCalle", 0, 0),  # nothing counted: no history
            row(22, 15, "(none)", "(none)", 4, 6)]
    crews = CrewSettings(usual_clients=7.0, usual_clients_by_program={"pilares": 20.0})
    assert usual_people(aps, rows, at, cdmx, crews) == {"A-1": 15.0, "B-1": 20.0, "C-1": 7.0, "D-1": 1.5}


def test_an_action_counts_and_names_the_aps_of_each_cause(fleet):
    healths = {"C-1": ApHealth(state=DOWN, causes=("offline",)), "C-2": ApHealth(state=DOWN, causes=("offline",)),
               "C-3": ApHealth(state=DOWN, causes=("reboot_loop", "offline"), reboots=(1.0, 2.0, 3.0)),
               "C-4": ApHealth(state="degraded", causes=("uplink_degraded",), link_mbps=100.0)}
    text = action_for("site_offline", ("site_offline", "offline", "reboot_loop", "uplink_degraded"),
                      aps=["C-1", "C-2", "C-3", "C-4"], site_aps=4, healths=healths,
                      expected_link={"C-4": 1000.0})
    assert text == ("3 of 4 APs down together (C-1, C-2, C-3): check the site's power (breaker, UPS, supply), then "
                    "its switch and fibre. Also: reboot loop on 1 AP (C-3: 3 reboots in 24 h): check the power "
                    "supply, the switch's PoE budget and the PoE injector. Also: uplink slow on 1 AP (C-4: 100 Mb/s "
                    "instead of 1000 Mb/s): reseat or replace the patch cable, and check the switch port "
                    "(speed/duplex, errors).")
    offline = action_for("offline", ("offline", "flapping"), aps=["C-1", "C-2"], healths={
        "C-1": ApHealth(state=DOWN, causes=("flapping", "offline"), changes=(1.0,) * 5),
        "C-2": ApHealth(state=DOWN, causes=("offline",))})
    assert offline == ("2 APs down (C-1, C-2): check the PoE port and cable at the switch, power-cycle each, and "
                       "replace any that stays down. Also: flapping on 1 AP (C-1: 5 up/down changes in the last "
                       "hour): check the cable and its connectors, and the backhaul radio's alignment.")


def test_a_zones_language_is_found_in_any_case_and_with_or_without_accents():
    zones = CrewZoneSettings(language="es", languages={"álvaro obregón": "en", "NOC": "en"})
    assert language_for("Alvaro Obregon", zones) == "en" and language_for("noc", zones) == "en"
    assert language_for("Iztapalapa", zones) == "es"
    assert language_for("Iztapalapa", CrewZoneSettings(language="en")) == "en"


def test_the_stops_colonia_is_the_one_most_of_its_aps_name(fleet):
    aps = {**fleet.aps}
    a1, a2 = aps["A-1"], aps["A-2"]
    aps["A-1"] = replace(a1, neighborhood="San Ángel")
    aps["A-2"] = replace(a2, neighborhood=" San Ángel ")
    named = Fleet(aps, fleet.sites, fleet.zones)
    assert neighborhoods(named) == {a1.site_id: "San Ángel"}
    [zone] = build_crew_list([outage(1, a1.site_id, "Norte", ("A-1", "A-2"))], named, NOW,
                             languages=CrewZoneSettings())
    assert zone.language == "es" and zone.stops[0].neighborhood == "San Ángel"
    assert zone.stops[0].to_json()["neighborhood"] == "San Ángel"
