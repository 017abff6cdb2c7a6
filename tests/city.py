"""A small simulated city for the tests: a store of APS APs pointed at a simulator on a free port.

Mark a test with ``@pytest.mark.scenario({...})`` to give the simulator a fault scenario, and
with ``@pytest.mark.influx(...)`` (keyword arguments of InfluxSettings) to give the runner an
InfluxDB to write to.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.scheduling.service import CycleRunner
from hotspotctl.settings import Settings, load_settings
from hotspotctl.simulate.scenario import load_scenario
from hotspotctl.simulate.simulator import Simulator, assign_addresses, plan_simulation
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.spool import Spool
from hotspotctl.store import Store

APS = 40
PROGRAMS = ("Escuelas", "MiCalle", "Transporte (Metrobus)", "Poste C5")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _inventory(path: Path) -> Path:
    rows = ["id,lat,lon,district,program"]
    for i in range(APS):
        rows.append(f"SCH-{i:03d},{19.30 + i * 0.001:.5f},{-99.10 - (i % 7) * 0.002:.5f},"
                    f"{'Iztapalapa' if i % 2 else 'Tlalpan'},{PROGRAMS[i % len(PROGRAMS)]}")
    path.write_text("\n".join(rows) + "\n")
    return path


class City:
    """A store with APS APs pointed at a simulator on a free port, serving a scenario."""

    def __init__(self, data_dir: Path, scenario: dict | None, influx: dict[str, Any] | None = None) -> None:
        self.data_dir = data_dir
        self.settings: Settings = load_settings(flags={"data_dir": ("--data-dir", str(data_dir))}).settings
        # the simulated APs live on loopback addresses, which the kernel answers ping for even when the scenario
        # has an AP dead: with ping on, a dead AP would be agent_silent, not down (tests of ping make namespaces)
        self.settings = replace(self.settings, ping=replace(self.settings.ping, enabled=False))
        if influx:
            self.settings = replace(self.settings, influx=replace(self.settings.influx, **influx))
        self.store = Store.open(self.settings.store_url)
        import_inventory(self.store, _inventory(data_dir / "aps.csv"), self.settings.inventory)
        self.zones = CrewZones.from_settings(self.settings.crew_zones)
        fleet = Fleet.load(self.store, self.zones)
        loaded = None
        if scenario is not None:
            (data_dir / "scenario.yaml").write_text(yaml.safe_dump(scenario))
            loaded = load_scenario(data_dir / "scenario.yaml")
        self.port = _free_udp_port()
        self.plan = plan_simulation(fleet, sorted(fleet.aps.values(), key=lambda ap: ap.id), seed=3,
                                    scenario=loaded, community=b"public", v3_fraction=0.0, port=self.port)
        assign_addresses(self.store, self.plan, v2c_auth="default", v3_auth="sim-v3")
        self.aps = self.plan.aps
        self.simulator = Simulator(self.plan.fleet, self.plan.clock, port=self.port, processes=1)

    def sink(self) -> InfluxSink:
        return InfluxSink(self.settings.influx, Spool(self.settings.spool_dir))

    def runner(self, poller: Poller, sink: InfluxSink | None = None) -> CycleRunner:
        return CycleRunner(self.store, self.settings, load_profiles([]), self.aps, self.zones,
                           sink or self.sink(), poller)


@pytest.fixture
def city(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[City]:
    marker = request.node.get_closest_marker("scenario")
    influx = request.node.get_closest_marker("influx")
    built = City(tmp_path, marker.args[0] if marker else None, influx.kwargs if influx else None)
    built.simulator.start()
    try:
        yield built
    finally:
        built.simulator.stop()  # the one running now: a test may have replaced the first (its processes
        built.store.close()  # otherwise served an idle port, waking every 0.25 s, for the rest of the run)


