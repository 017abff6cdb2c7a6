"""Crew priority on the demo's own scenario: the site that went dark before its first poll is on the list.

Issue 15: stops were ranked by clients last seen, so the scenario's headline site without power
(PILARES_REPÚBLICA, 12 of 12 APs down, 0 clients ever seen) sank below single-AP cable jobs and
was not on Iztapalapa's list. Stops rank by the people affected as the history knows them (the
clients the APs' district and programme usually have at that hour, from the hourly rows), then by
the APs affected.

The shipped scenario (scenarios/cdmx.yaml, as `hotspotctl demo` plays it) on the Iztapalapa crew
zone of the bundled inventory (4,989 APs), with the simulator's clock two minutes in: the power cut
(from 1 minute in) is on before the first poll.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.reports.crews import crew_lists_from_store
from hotspotctl.scheduling.cycle import CycleMemory, run_cycle
from hotspotctl.scheduling.evaluation import Evaluator
from hotspotctl.settings import load_settings
from hotspotctl.simulate.scenario import load_scenario
from hotspotctl.simulate.simulator import Simulator, assign_addresses, plan_simulation
from hotspotctl.store import Store
from hotspotctl.store.outages import list_outages, load_availability
from tests.conftest import CDMX_XLSX, REPO
from tests.servers import free_udp_port

HEADLINE = "PILARES_REPÚBLICA"
ZONE = "Iztapalapa"


def test_the_demo_scenarios_dark_site_is_on_its_zones_list_ranked_by_the_people_it_usually_serves(tmp_path: Path):
    settings = load_settings(flags={"data_dir": ("--data-dir", str(tmp_path / "var"))}, env={}).settings
    settings = replace(settings, snmp=replace(settings.snmp, timeout_s=0.5, retries=1, deadline_s=3.0),
                       crew_zones=replace(settings.crew_zones, language="en"))  # the action's English words below
    store = Store.open(settings.store_url)
    try:
        import_inventory(store, CDMX_XLSX, settings.inventory)
        zones = CrewZones.from_settings(settings.crew_zones)
        fleet = Fleet.load(store, zones)
        chosen = sorted((ap for ap in fleet.aps.values() if zones.zone_for(ap) == ZONE), key=lambda ap: ap.id)
        [site] = [s for s in fleet.sites.values() if s.name == HEADLINE]
        dark = sorted(ap.id for ap in chosen if ap.site_id == site.id)
        assert len(chosen) == 4989 and len(dark) == 12
        port = free_udp_port()
        plan = plan_simulation(fleet, chosen, seed=1, scenario=load_scenario(REPO / "scenarios" / "cdmx.yaml"),
                               community=b"public", v3_fraction=0.0, port=port, start_hour=12.0,
                               now=time.time() - 120)
        # the scenario's second power cut is in Gustavo A. Madero: only the headline's hits this zone
        assert [sorted(h.aps) for h in plan.faults.hits if h.kind == "power" and h.aps] == [dark]
        assign_addresses(store, plan, v2c_auth="default", v3_auth="sim-v3")
        evaluator = Evaluator(store, settings.evaluate, plan.aps, zones)
        profiles = load_profiles([])

        async def cycles() -> float:
            memory = CycleMemory.load(store, plan.aps)
            with Poller(settings.snmp, profiles) as poller:
                for _ in range(settings.evaluate.down_after + 1):
                    report = await run_cycle(store, plan.aps, settings.snmp, profiles, poller, memory=memory)
                    evaluation = evaluator.evaluate(report.outcomes, report.started_at)
            return evaluation.at

        with Simulator(plan.fleet, plan.clock, port=port, processes=1):
            at = asyncio.run(cycles())

        with store.read() as conn:
            [headline] = [o for o in list_outages(conn, open_only=True) if o.site == site.id]
            rows = load_availability(conn, at - 3600 * 24 * 8)
        assert (headline.cause, headline.aps, headline.peak_clients) == ("site_offline", tuple(dark), 0)  # never seen

        # the rule, computed here from the hourly rows: the clients a Pilares AP of Iztapalapa had at this
        # hour, per AP-cycle, for each of the 12
        hour = datetime.fromtimestamp(at, settings.tzinfo).hour
        group = [r for r in rows if (r["district"], r["program"]) == (ZONE, "Pilares")
                 and datetime.fromtimestamp(r["hour"], settings.tzinfo).hour == hour]
        clients, counted = sum(r["clients"] for r in group), sum(r["counted"] for r in group)
        assert counted > 100 and clients > 0  # the other 191 Pilares APs of Iztapalapa answered with clients
        expected = round(12 * clients / counted)

        [iztapalapa] = crew_lists_from_store(store, Fleet.load(store, zones), settings, at, zones=[ZONE])
        by_site = {stop.site: stop for stop in iztapalapa.stops}
        assert site.id in by_site, f"{HEADLINE} is not on {ZONE}'s list"
        stop = by_site[site.id]
        assert (stop.cause, stop.aps, stop.aps_affected, stop.clients, stop.people) == (
            "site_offline", tuple(dark), 12, 0, expected)
        assert stop.action == (f"12 of 12 APs down together ({', '.join(dark)}): check the site's power (breaker, "
                               "UPS, supply), then its switch and fibre.")
        ranked = sorted(iztapalapa.stops, key=lambda s: s.priority)
        assert [s.priority for s in ranked] == list(range(1, len(ranked) + 1))
        keys = [(-s.people, -s.aps_affected, s.since, s.site) for s in ranked]
        assert keys == sorted(keys)  # most people first, then most APs, then longest open
        assert stop.priority == 1 + sum(1 for s in ranked if (s.people, s.aps_affected) > (stop.people, 12))
        assert iztapalapa.more > 0 and len(ranked) == settings.crews.max_stops  # a full list, and it made it
    finally:
        store.close()
