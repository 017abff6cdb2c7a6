"""simulate --scale: K copies of the city, pure (ids, cells, sites) and served over loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotspotctl.collectors.codec import GET
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.sites import derive_sites, site_id_for
from hotspotctl.models.access_points import ROLE_CONTROLLER, AccessPoint
from hotspotctl.settings import CDMX_BOUNDS
from hotspotctl.simulate.agent import address_of
from hotspotctl.simulate.devices import SYSTEM
from hotspotctl.simulate.scale import (
    copy_id,
    copy_offset,
    originals,
    ring_cell,
    scale_fleet,
    scaled_bounds,
    split_copy,
)
from hotspotctl.simulate.simulator import Simulator, plan_simulation, scaled_city
from tests.servers import free_udp_port
from tests.simulate.test_simulator import request


def _ap(ap_id: str, lat: float, lon: float, **more: object) -> AccessPoint:
    site = more.get("site")
    return AccessPoint(ap_id, lat, lon, district="Iztapalapa", program="Utopias",
                       site_id=site_id_for(site, lat, lon), **more)  # type: ignore[arg-type]


CITY = [
    _ap("A-1", 19.360001, -99.06), _ap("A-2", 19.3600049, -99.06),  # one point to 1e-5: one derived site
    _ap("A-3", 19.37, -99.07), _ap("B-1", 19.30, -99.17, site="PARQUE"), _ap("B-2", 19.31, -99.18, site="PARQUE"),
]


def test_ring_cells_go_round_the_city_once_each_without_repeating() -> None:
    assert [ring_cell(k) for k in range(1, 11)] == [
        (0, 0), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (2, -2)]
    cells = [ring_cell(k) for k in range(1, 50)]
    assert len(set(cells)) == 49 and max(max(abs(r), abs(c)) for r, c in cells) == 3  # 7x7 = 49 cells
    with pytest.raises(ValueError):
        ring_cell(0)


def test_a_copy_suffixes_ids_sites_and_controllers_and_moves_by_whole_grid_steps() -> None:
    managed = AccessPoint("C-1", 19.4, -99.1, controller="WLC-01", site_id=site_id_for(None, 19.4, -99.1))
    controller = AccessPoint("WLC-01", None, None, role=ROLE_CONTROLLER, mgmt_address="10.0.0.1")
    copies = scale_fleet([*CITY, managed, controller], 3, CDMX_BOUNDS)
    assert len(copies) == 3 * 7 and copies[:7] == [*CITY, managed, controller]  # copy 1 as it is, first
    by_id = {ap.id: ap for ap in copies}
    dlat, dlon = copy_offset(3, CDMX_BOUNDS)  # copy 3: the cell north of the city
    assert (dlon, round(dlat, 5)) == (0.0, round(CDMX_BOUNDS[2] - CDMX_BOUNDS[0] + 0.2, 5))
    a1 = by_id["A-1.k3"]
    assert (a1.lat, a1.lon) == (round(19.36 + dlat, 5), -99.06)
    assert (a1.district, a1.program, a1.mgmt_address) == ("Iztapalapa", "Utopias", None)
    assert by_id["B-1.k2"].site == "PARQUE.k2" and by_id["B-1.k2"].site_id == "PARQUE.k2"
    assert by_id["C-1.k2"].controller == "WLC-01.k2"
    assert by_id["WLC-01.k2"].is_controller and by_id["WLC-01.k2"].lat is None
    assert by_id["WLC-01.k2"].mgmt_address is None  # a copy never points at the original's real device
    # every copy has the city's sites, no two copies share one: the two APs at one point stay one site
    sites = derive_sites(copies)
    assert len(derive_sites(CITY)) == 3 and len(sites) == 3 * 4
    assert by_id["A-1.k2"].site_id == by_id["A-2.k2"].site_id != by_id["A-1"].site_id


def test_copies_are_told_from_originals_and_fit_the_widened_bounds() -> None:
    copies = scale_fleet(CITY, 10, CDMX_BOUNDS)
    ids = frozenset(ap.id for ap in copies)
    assert split_copy("A-1.k10", ids) == ("A-1", 10) and split_copy("A-1", ids) == ("A-1", 1)
    assert split_copy("Z.k2", ids) == ("Z.k2", 1)  # no Z in the inventory: an id of its own, not a copy
    assert originals(copies) == CITY
    min_lat, min_lon, max_lat, max_lon = scaled_bounds(CDMX_BOUNDS, 10)
    assert all(min_lat <= ap.lat <= max_lat and min_lon <= ap.lon <= max_lon for ap in copies)  # type: ignore[operator]
    assert copy_id("A-1", 1) == "A-1" and copy_id("A-1", 7) == "A-1.k7"


def test_the_same_city_and_k_give_the_same_copies() -> None:
    assert scale_fleet(CITY, 4, CDMX_BOUNDS) == scale_fleet(list(CITY), 4, CDMX_BOUNDS)


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def test_the_simulator_answers_for_the_last_copys_ap_at_its_address(udp: socket.socket) -> None:
    inventory = Fleet({ap.id: ap for ap in CITY}, derive_sites(CITY), CrewZones({}, {}))
    fleet, chosen = scaled_city(inventory, CITY, scale=4, count=None, controllers=0, bounds=CDMX_BOUNDS)
    assert [ap.id for ap in chosen[-5:]] == ["A-1.k4", "A-2.k4", "A-3.k4", "B-1.k4", "B-2.k4"]
    plan = plan_simulation(fleet, chosen, seed=3, community=b"public", v3_fraction=0.0)
    port = free_udp_port()
    index = next(i for i, ap in enumerate(plan.aps) if ap.id == "B-2.k4")
    assert index == 19
    b2 = plan.aps[index]
    with Simulator(plan.fleet, plan.clock, port=port, processes=1, seed=3):
        reply = request(udp, (address_of(index), port), GET, [(*SYSTEM, 5, 0), (*SYSTEM, 6, 0)],
                        community=b"public")
    assert reply.source == (address_of(index), port) == ("127.16.0.20", port)
    (_, _, name), (_, _, location) = reply.values()
    assert name == b"B-2.k4"
    assert location == f"{b2.lat:.5f},{b2.lon:.5f} Iztapalapa".encode()
    assert (b2.lat, b2.lon) == (round(19.31 + copy_offset(4, CDMX_BOUNDS)[0], 5),
                                round(-99.18 + copy_offset(4, CDMX_BOUNDS)[1], 5))
    assert ring_cell(4) == (1, 1) and b2.lat > 19.9 and b2.lon > -98.6  # type: ignore[operator]  # north-east


def test_a_scenario_naming_a_site_takes_the_citys_own_not_its_copies(tmp_path: Path) -> None:
    from hotspotctl.simulate.scenario import load_scenario

    inventory = Fleet({ap.id: ap for ap in CITY}, derive_sites(CITY), CrewZones({}, {}))
    fleet, chosen = scaled_city(inventory, CITY, scale=3, count=None, controllers=0, bounds=CDMX_BOUNDS)
    names = sorted(site.name for site in fleet.sites.values() if site.name.startswith("PARQUE"))
    assert names == ["PARQUE", "PARQUE.k2", "PARQUE.k3"]
    path = tmp_path / "t.yaml"
    path.write_text("name: t\nfaults:\n  - kind: down\n    select: {site: PARQUE}\n")
    scenario = load_scenario(path)
    plan = plan_simulation(fleet, chosen, seed=1, scenario=scenario, community=b"public", v3_fraction=0.0)
    assert sorted(plan.faults) == ["B-1", "B-2"]
