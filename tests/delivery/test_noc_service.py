"""`hotspotctl run` sends the NOC's notices after its cycles, in a worker thread: a slow receiver never delays a
cycle, and the poller's own health (cycles failing) becomes a notice."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any

import pytest

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.delivery.noc import Action, iso_ms
from hotspotctl.evaluate.outages import LedgerUpdate, Outage
from hotspotctl.scheduling.service import Service
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.spool import Spool
from hotspotctl.store.noc import load_sent
from hotspotctl.store.outages import save_ledger
from tests.city import City
from tests.servers import ScriptedHttpServer, free_port

NOBODY = free_port()  # an InfluxDB that is not there: connection refused


def _with_noc(city: City, url: str, **noc: Any) -> None:
    city.settings = replace(city.settings, noc=replace(city.settings.noc, webhook_url=url, **noc))


def _open_site_outage(city: City, site: str) -> Outage:
    now = time.time()
    outage = Outage(id=None, site=site, zone="Iztapalapa", cause="site_offline", causes=("site_offline",),
                    aps=("X-1", "X-2"), aps_now=("X-1", "X-2"), opened_at=now - 300, updated_at=now, peak_aps=2)
    with city.store.write() as conn:
        return save_ledger(conn, LedgerUpdate([outage], [], [])).opened[0]


def test_the_run_sends_a_site_outage_once_and_a_slow_receiver_never_delays_a_cycle(city: City) -> None:
    slow = 1.5  # each POST takes longer than the 0.5 s interval

    def respond(request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        time.sleep(slow)
        return 200, {}, b""

    hook = ScriptedHttpServer(respond=respond)
    try:
        _with_noc(city, hook.url + "/api/v2/alerts")
        # a site outside the polled fleet: the run's evaluation leaves its outage open
        outage = _open_site_outage(city, "9g3w-fuera")

        async def scenario() -> Service:
            with Poller(city.settings.snmp, load_profiles([])) as poller:
                service = Service(city.runner(poller), interval_s=0.5, max_cycles=5, grace_s=10.0)
                await service.run()
                return service

        service = asyncio.run(scenario())
    finally:
        hook.stop()
    records = service.records
    assert len(records) == 5
    # the first cycle takes the discovery walks; the later ones, on time however slow the receiver
    assert all(r.missed == 0 and r.lag_s < 0.5 for r in records[1:]), records
    assert len(hook.requests) == 1  # the firing one; nothing more is due within repeat_interval_s
    [alert] = json.loads(hook.requests[0]["body"])
    assert alert["labels"] == {"alertname": "HotspotSiteOutage", "severity": "critical", "site": "9g3w-fuera",
                               "zone": "Iztapalapa", "cause": "site_offline", "outage_id": str(outage.id),
                               "source": "hotspotctl"}
    assert [(s.channel, s.action, s.ok) for r in service.noc_reports for s in r.sent] == [
        ("webhook", Action.FIRING, True)]
    with city.store.read() as conn:
        assert [(ch, row.sends, row.resolved_at) for (_, ch), row in load_sent(conn).items()] == [("webhook", 1, None)]


def test_cycles_failing_become_a_notice(city: City) -> None:
    hook = ScriptedHttpServer(default=(200, {}, b""))
    try:
        _with_noc(city, hook.url + "/api/v2/alerts", failed_cycles=2)
        # a full spool: 1 MB allowed and a 1.1 MB batch waiting: every cycle fails to spool its points
        city.settings.spool_dir.mkdir(parents=True, exist_ok=True)
        (city.settings.spool_dir / "000000000001_20261204T000000.000Z_1p_s.lp").write_bytes(
            b"# " + b"x" * 1_100_000 + b"\nx v=1i 1\n")

        async def scenario() -> Service:
            with Poller(city.settings.snmp, load_profiles([])) as poller:
                sink = InfluxSink(city.settings.influx, Spool(city.settings.spool_dir, max_bytes=1 << 20))
                service = Service(city.runner(poller, sink), interval_s=0.2, max_cycles=3, max_failed_cycles=10,
                                  grace_s=10.0)
                await service.run()
                return service

        service = asyncio.run(scenario())
    finally:
        hook.stop()
    assert service.failed_in_a_row == 3
    alerts = [alert for request in hook.requests for alert in json.loads(request["body"])]
    assert [a["labels"] for a in alerts] == [{"alertname": "HotspotPollerCyclesFailing", "severity": "critical",
                                              "component": "poller", "source": "hotspotctl"}]
    assert alerts[0]["annotations"]["summary"] == "Poll cycles failing: 2 in a row"
    assert "the spool" in alerts[0]["annotations"]["description"]


@pytest.mark.influx(url=f"http://127.0.0.1:{NOBODY}", api="v1", database="hotspotctl", timeout_s=1.0, max_retries=0)
def test_influxdb_away_and_the_spool_growing_become_notices_and_without_influxdb_a_growing_spool_is_none(
        city: City) -> None:
    hook = ScriptedHttpServer(default=(200, {}, b""))
    try:
        _with_noc(city, hook.url + "/api/v2/alerts", spool_growing_cycles=3, influx_away_s=0.5)

        async def scenario() -> Service:
            with Poller(city.settings.snmp, load_profiles([])) as poller:
                service = Service(city.runner(poller), interval_s=0.3, max_cycles=8, grace_s=5.0)
                await service.run()
                return service

        service = asyncio.run(scenario())
    finally:
        hook.stop()
    assert len(service.records) == 8
    alerts = [alert for request in hook.requests for alert in json.loads(request["body"])]
    assert sorted(a["labels"]["alertname"] for a in alerts) == ["HotspotPollerInfluxAway", "HotspotPollerSpoolGrowing"]
    by_name = {a["labels"]["alertname"]: a for a in alerts}
    assert all("endsAt" not in a for a in alerts)
    assert by_name["HotspotPollerInfluxAway"]["annotations"]["description"].startswith(
        "Flushes to InfluxDB have failed since ")
    assert by_name["HotspotPollerSpoolGrowing"]["annotations"]["summary"].startswith("Spool growing: ")
    # the spool as each cycle found it before adding its own two batches (its lines, then its poller_cycle line
    # after its commit): nothing ever left it
    assert list(service.spool_batches) == list(range(0, 16, 2))

    # the same store run again with no InfluxDB configured: the spool is where metrics stay, no notice; the two
    # notices the first run left firing resolve (their state is in the store, across the restart)
    hook = ScriptedHttpServer(default=(200, {}, b""))
    try:
        city.settings = replace(city.settings, influx=replace(city.settings.influx, url=""))
        _with_noc(city, hook.url + "/api/v2/alerts", spool_growing_cycles=2, influx_away_s=0.5)
        service = asyncio.run(scenario())
    finally:
        hook.stop()
    assert len(service.records) == 8
    alerts = [alert for request in hook.requests for alert in json.loads(request["body"])]
    assert sorted(a["labels"]["alertname"] for a in alerts) == ["HotspotPollerInfluxAway", "HotspotPollerSpoolGrowing"]
    assert all(a["endsAt"] > a["startsAt"] for a in alerts)
    assert [a["startsAt"] for a in sorted(alerts, key=lambda a: a["labels"]["alertname"])] == [
        by_name[name]["startsAt"] for name in sorted(by_name)]


@pytest.mark.scenario({"name": "slow", "faults": [{"kind": "latency", "ms": [1500, 1600]}]})
def test_cycles_overrunning_become_a_notice(city: City) -> None:
    from tests.scheduling import test_service as service_tests  # its helper, not its tests

    snmp = replace(city.settings.snmp, timeout_s=3.0, retries=0, deadline_s=10.0)
    city.settings = replace(city.settings, snmp=snmp)
    service_tests._discover_at_full_speed(city, snmp)
    hook = ScriptedHttpServer(default=(200, {}, b""))
    try:
        _with_noc(city, hook.url + "/api/v2/alerts", overrun_cycles=2)

        async def scenario() -> Service:
            with Poller(snmp, load_profiles([])) as poller:
                runner = city.runner(poller)
                runner.memory = type(runner.memory).load(city.store, city.aps)
                service = Service(runner, interval_s=1.0, max_cycles=3, grace_s=10.0)
                await service.run()
                return service

        service = asyncio.run(scenario())
    finally:
        hook.stop()
    assert all(r.duration_s > 1.0 for r in service.records) and service.overruns == 3
    alerts = [alert for request in hook.requests for alert in json.loads(request["body"])]
    assert [a["labels"] for a in alerts] == [{"alertname": "HotspotPollerCyclesOverrunning", "severity": "warning",
                                              "component": "poller", "source": "hotspotctl"}]
    assert alerts[0]["annotations"]["summary"] == "Poll cycles overrunning: 2 in a row"
    assert alerts[0]["startsAt"] == iso_ms(service.records[0].started_at)
