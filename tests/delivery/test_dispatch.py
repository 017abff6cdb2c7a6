"""`hotspotctl run` sends crew lists: at once when a site goes offline, and on its cron time."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.scheduling.service import CycleRunner, Service
from hotspotctl.settings import load_settings
from hotspotctl.simulate.scenario import load_scenario
from hotspotctl.simulate.simulator import Simulator, assign_addresses, plan_simulation
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.spool import Spool
from hotspotctl.store import Store
from hotspotctl.store.outages import list_outages
from tests.servers import ScriptedHttpServer, free_udp_port


def test_a_site_going_dark_sends_its_zone_list_by_webhook_once(tmp_path: Path) -> None:
    rows = ["id,lat,lon,district,program,site"]
    rows += [f"UTOPIA-{i},19.36000,-99.06000,Iztapalapa,Utopias,UTOPIA_TEOTONGO" for i in range(6)]
    rows += [f"POLE-{i},{19.28 + i * 0.01:.5f},-99.17000,Tlalpan,MiCalle," for i in range(6)]
    (tmp_path / "aps.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "scenario.yaml").write_text(
        "name: blackout\nfaults:\n  - kind: power\n    select: {site: [UTOPIA_TEOTONGO]}\n    at: 2s\n")
    hook = ScriptedHttpServer()
    settings = load_settings(flags={"data_dir": ("--data-dir", str(tmp_path / "var"))}).settings
    settings = replace(
        settings, snmp=replace(settings.snmp, timeout_s=0.3, retries=0, deadline_s=1.0, down_backoff_max_s=0.5),
        crews=replace(settings.crews, send_via=("webhook",),
                      webhook=replace(settings.crews.webhook, url=f"{hook.url}/crews", token="hook-secret")),
        schedule=replace(settings.schedule, crews_cron="0 7 * * *"),
        # the simulator's dark site is silent on SNMP only: its loopback addresses answer ping, and a pinged AP
        # silent on SNMP is agent_silent, not offline (tests/scheduling/test_ping_cycle.py): SNMP alone here
        ping=replace(settings.ping, enabled=False))
    store = Store.open(settings.store_url)
    import_inventory(store, tmp_path / "aps.csv", settings.inventory)
    zones = CrewZones.from_settings(settings.crew_zones)
    fleet = Fleet.load(store, zones)
    port = free_udp_port()
    plan = plan_simulation(fleet, sorted(fleet.aps.values(), key=lambda ap: ap.id), seed=2,
                           scenario=load_scenario(tmp_path / "scenario.yaml"), community=b"public",
                           v3_fraction=0.0, port=port)
    assign_addresses(store, plan, v2c_auth="default", v3_auth="sim-v3")
    sink = InfluxSink(settings.influx, Spool(settings.spool_dir))

    async def run() -> Service:
        with Poller(settings.snmp, load_profiles([])) as poller:
            runner = CycleRunner(store, settings, load_profiles([]), plan.aps, zones, sink, poller)
            service = Service(runner, interval_s=1.0, max_cycles=6, grace_s=10)
            task = asyncio.ensure_future(service.run())
            while service.scheduler is None or not service.scheduler.running:
                await asyncio.sleep(0.01)
            job = service.scheduler.get_job("crews")
            assert job is not None and str(job.trigger) == "cron[month='*', day='*', day_of_week='*', hour='7', minute='0']"
            await task
            return service

    try:
        with Simulator(plan.fleet, plan.clock, port=port, processes=1):
            started = time.time()
            service = asyncio.run(run())
    finally:
        hook.stop()
        sink.close()
    with store.read() as conn:
        [outage] = list_outages(conn, open_only=True)
    store.close()
    assert outage.cause == "site_offline" and len(outage.aps_now) == 6 and outage.zone == "Iztapalapa"
    # one POST: the zone of the site, sent after the cycle that found it, not again while it stays dark
    assert len(hook.requests) == 1, hook.requests
    request = hook.requests[0]
    assert request["path"] == "/crews" and request["headers"]["authorization"] == "Bearer hook-secret"
    body = json.loads(request["body"])
    assert body["zone"] == "Iztapalapa" and body["kind"] == "hotspotctl.crew_list"
    assert [(s["site"], s["cause"], s["aps_affected"]) for s in body["stops"]] == [
        ("UTOPIA_TEOTONGO", "site_offline", 6)]
    assert [report.ok for report in service.sends] == [True]
    assert service.records[-1].started_at > started
    assert outage.delivery["webhook"]["zone"] == "Iztapalapa"
