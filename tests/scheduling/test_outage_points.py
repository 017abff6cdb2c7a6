"""The run's ``outages`` measurement (issue 18, SPEC): open outages by cause, district and zone, every cycle.

A small city on the simulator: a site of 4 APs in Iztapalapa loses power (one site_offline outage) and 3
single-AP sites in Tlalpan go offline (three offline outages). Each cycle's spool batch must say so, as
line protocol; once the faults clear, the cycle that closes them writes open=0 for both groups, once, and
the next cycle writes no outages point at all.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.models.outages import LedgerUpdate, Outage
from hotspotctl.scheduling.service import CycleRunner
from hotspotctl.settings import load_settings
from hotspotctl.simulate.scenario import load_scenario
from hotspotctl.simulate.simulator import Simulator, assign_addresses, plan_simulation
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.outage_counts import OutageCounts, open_after
from hotspotctl.sinks.spool import Spool
from hotspotctl.store import Store
from hotspotctl.store.outages import list_outages
from tests.servers import free_udp_port
from tests.spooled import cycle_batches

DOWN = ["AP-00", "AP-02", "AP-04"]  # Tlalpan (even numbers)
SCENARIO = {"name": "outage-points", "faults": [
    {"kind": "power", "select": {"site": ["PILARES_NORTE"]}},
    {"kind": "down", "select": {"ap": DOWN}},
]}


def _inventory(path: Path) -> Path:
    rows = ["id,lat,lon,district,program,site"]
    rows += [f"PIL-{i},19.35000,-99.08000,Iztapalapa,PILARES,PILARES_NORTE" for i in range(4)]
    rows += [f"AP-{n:02d},{19.30 + n * 0.004:.5f},-99.15000,{'Iztapalapa' if n % 2 else 'Tlalpan'},MiCalle,"
             for n in range(12)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _outage_lines(spool_dir: Path) -> list[list[str]]:
    """Per cycle (``cycle_batches``: one batch each here, oldest first): its ``outages`` lines, sorted."""
    return [sorted(line.rsplit(" ", 1)[0] for line in batch if line.startswith("outages,"))
            for batch in cycle_batches(spool_dir)]


def test_each_cycle_writes_its_open_outages_by_cause_district_and_zone_then_zero_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    settings = load_settings(flags={"data_dir": ("--data-dir", str(data_dir))}, env={}, cwd=tmp_path).settings
    settings = replace(settings, snmp=replace(settings.snmp, timeout_s=0.3, retries=0, deadline_s=1.0,
                                              down_backoff_max_s=0.3),
                       ping=replace(settings.ping, enabled=False))  # loopback answers ping for a dead simulated AP
    store = Store.open(settings.store_url)
    import_inventory(store, _inventory(tmp_path / "aps.csv"), settings.inventory)
    zones = CrewZones.from_settings(settings.crew_zones)
    fleet = Fleet.load(store, zones)
    aps = sorted(fleet.aps.values(), key=lambda ap: ap.id)
    port = free_udp_port()
    t0 = time.time()

    def simulate(scenario: object) -> tuple[object, Simulator]:
        plan = plan_simulation(fleet, aps, seed=5, scenario=scenario, community=b"public", v3_fraction=0.0,
                               port=port, start_hour=10.0, now=t0)
        assign_addresses(store, plan, v2c_auth="default", v3_auth="sim-v3")
        return plan, Simulator(plan.fleet, plan.clock, port=port, processes=1)

    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(SCENARIO))
    plan, simulator = simulate(load_scenario(tmp_path / "scenario.yaml"))
    sink = InfluxSink(settings.influx, Spool(settings.spool_dir))
    assert settings.evaluate.down_after == 2
    with simulator, Poller(settings.snmp, load_profiles([])) as poller:
        runner = CycleRunner(store, settings, load_profiles([]), plan.aps, zones, sink, poller)

        async def cycles(n: int) -> None:
            for i in range(n):
                if i:
                    await asyncio.sleep(0.4)
                await runner.cycle()

        asyncio.run(cycles(3))
    with store.read() as conn:
        found = sorted((o.cause, o.aps, o.zone) for o in list_outages(conn, open_only=True))
    assert found == [("offline", ("AP-00",), "Tlalpan"), ("offline", ("AP-02",), "Tlalpan"),
                     ("offline", ("AP-04",), "Tlalpan"),
                     ("site_offline", ("PIL-0", "PIL-1", "PIL-2", "PIL-3"), "Iztapalapa")]
    open_now = ["outages,cause=offline,district=Tlalpan,zone=Tlalpan open=3i",
                "outages,cause=site_offline,district=Iztapalapa,zone=Iztapalapa open=1i"]
    # the first cycle misses them once (down after 2 missed cycles): no outage yet, nothing written
    assert _outage_lines(settings.spool_dir) == [[], open_now, open_now]

    plan, simulator = simulate(None)  # the faults clear: the same city without them
    with simulator, Poller(settings.snmp, load_profiles([])) as poller:
        runner = CycleRunner(store, settings, load_profiles([]), plan.aps, zones, sink, poller)

        async def until_closed() -> int:
            for n in range(1, 9):
                await runner.cycle()
                assert runner.last_evaluation is not None
                if runner.last_evaluation.open_outages == 0:
                    await asyncio.sleep(0.4)
                    await runner.cycle()  # and one more: nothing left to say
                    return n
                await asyncio.sleep(0.4)  # the back-off of the APs that were down runs out
            return 0

        closed_after = asyncio.run(until_closed())
    assert 2 <= closed_after <= 6
    batches = _outage_lines(settings.spool_dir)
    assert len(batches) == 3 + closed_after + 1
    assert batches[3:2 + closed_after] == [open_now] * (closed_after - 1)  # still open while they come back
    assert batches[2 + closed_after] == ["outages,cause=offline,district=Tlalpan,zone=Tlalpan open=0i",
                                         "outages,cause=site_offline,district=Iztapalapa,zone=Iztapalapa open=0i"]
    assert batches[-1] == []
    store.close()
    sink.close()


def _outage(site: str, cause: str, zone: str, *, closed_at: float | None = None) -> Outage:
    return Outage(id=None, site=site, zone=zone, cause=cause, causes=(cause,), aps=(site,), aps_now=(site,),  # type: ignore[arg-type]
                  opened_at=100.0, updated_at=100.0, closed_at=closed_at)


def test_open_after_applies_the_cycles_ledger_to_the_outages_open_before() -> None:
    a, b, c = _outage("A", "offline", "sur"), _outage("B", "offline", "sur"), _outage("C", "radio_down", "norte")
    b_now = replace(b, cause="site_offline")  # type: ignore[arg-type]
    after = open_after({"A": a, "B": b}, LedgerUpdate(opened=[c], changed=[b_now], closed=[replace(a, closed_at=200.0)]))
    assert sorted((o.site, o.cause) for o in after) == [("B", "site_offline"), ("C", "radio_down")]


@pytest.mark.parametrize("district", ["Gustavo A. Madero", "Álvaro Obregón", 'Distrito "x", y=z'])
def test_group_tags_are_escaped_and_a_site_with_no_known_district_is_none(district: str) -> None:
    counts = OutageCounts()
    lines = counts.lines([_outage("S1", "offline", "norte"), _outage("S2", "offline", "norte"),
                          _outage("S3", "offline", "norte")], {"S1": district, "S2": district}, 1700000000)
    escaped = district.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")
    assert lines == ["outages,cause=offline,district=(none),zone=norte open=1i 1700000000",
                     f"outages,cause=offline,district={escaped},zone=norte open=2i 1700000000"]


def test_a_run_started_with_outages_open_writes_their_zero_when_they_close() -> None:
    counts = OutageCounts()
    counts.remember([_outage("S1", "offline", "sur"), _outage("S2", "offline", "sur", closed_at=5.0)], {"S1": "Tlalpan"})
    assert counts.written == {("offline", "Tlalpan", "sur")}  # the closed one is no group
    assert counts.lines([], {"S1": "Tlalpan"}, 1700000060) == [
        "outages,cause=offline,district=Tlalpan,zone=sur open=0i 1700000060"]
    assert counts.lines([], {"S1": "Tlalpan"}, 1700000120) == []
