"""APs that cannot be read are not offline: the city's own file (no addresses), a wrong SNMPv3 password.

Issue 15: importing the city's file and running the cycles gave 35,350 APs down and 27,484 outages,
each a crew stop telling someone to check a PoE port. Such APs are unmonitored or misconfigured, with
the reason; they show in `status`, and never become outages or crew stops.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.evaluate.rollup import rollup
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.reports.crews import crew_lists_from_store
from hotspotctl.scheduling.cycle import CycleMemory, run_cycle
from hotspotctl.scheduling.evaluation import Evaluator
from hotspotctl.settings import SIM_V3_AUTH, SIM_V3_AUTH_ENV, SIM_V3_PRIV_ENV, SnmpAuth, load_settings
from hotspotctl.simulate.scenario import load_scenario
from hotspotctl.simulate.simulator import Simulator, assign_addresses, plan_simulation
from hotspotctl.simulate.usm import usm_for
from hotspotctl.store import Store
from hotspotctl.store.inventory import update_access_points
from hotspotctl.store.outages import list_outages, load_availability, load_health
from tests.cli.test_status_cli import store_url
from tests.conftest import CDMX_XLSX, write
from tests.servers import free_udp_port

N_CDMX = 35_350


def _cycles(store, settings, aps, n: int) -> tuple[list, Evaluator]:
    """n cycles of the real cycle and evaluation: (report, evaluation) per cycle, and the evaluator."""
    zones = CrewZones.from_settings(settings.crew_zones)
    evaluator = Evaluator(store, settings.evaluate, aps, zones)
    profiles = load_profiles([])

    async def go() -> list:
        memory = CycleMemory.load(store, aps)
        done = []
        with Poller(settings.snmp, profiles) as poller:
            for _ in range(n):
                report = await run_cycle(store, aps, settings.snmp, profiles, poller, memory=memory)
                done.append((report, evaluator.evaluate(report.outcomes, report.started_at)))
        return done

    return asyncio.run(go()), evaluator


def test_the_citys_own_file_is_unmonitored_not_35350_aps_down(cli):
    assert cli("inventory", "import", CDMX_XLSX).code == 0
    settings = load_settings(flags={"data_dir": ("--data-dir", str(cli.workdir / "var"))}, env={}).settings
    with Store.open(store_url(cli)) as store:
        fleet = Fleet.load(store, CrewZones.from_settings(settings.crew_zones))
        aps = sorted(fleet.aps.values(), key=lambda ap: ap.id)
        assert len(aps) == N_CDMX and not any(ap.mgmt_address for ap in aps)  # the city's file has none
        cycles, evaluator = _cycles(store, settings, aps, settings.evaluate.down_after + 2)
        for _report, evaluation in cycles:
            assert evaluation.states == {"unmonitored": N_CDMX}
            assert evaluation.reasons == {"no_address": N_CDMX}
            assert not evaluation.ledger and evaluation.open_outages == 0
        first, last = cycles[0][0], cycles[-1][0]
        assert {o.error.kind for o in first.outcomes} == {"no_address"}
        # nothing is sent to an AP with no address, so it backs off from nothing: unmonitored every cycle
        assert {o.error.kind for o in last.outcomes} == {"no_address"}
        for report in (first, last):
            tally = rollup(report.outcomes, healths=evaluator.healths).fleet
            assert (tally.aps, tally.up, tally.down, tally.unmonitored, tally.misconfigured) == (
                N_CDMX, 0, 0, N_CDMX, 0)
        with store.read() as conn:
            assert list_outages(conn) == []
            assert load_availability(conn, 0) == []  # neither up nor down: not in availability
            healths = load_health(conn)
        assert {h.state for h in healths.values()} == {"unmonitored"} and len(healths) == N_CDMX
        assert healths[aps[0].id].reason_kind == "no_address"

    document = json.loads(cli("status", "--format", "json").out)
    assert {k: document["fleet"][k] for k in ("aps", "up", "down", "unknown", "unmonitored", "misconfigured")} == {
        "aps": N_CDMX, "up": 0, "down": 0, "unknown": 0, "unmonitored": N_CDMX, "misconfigured": 0}
    assert document["fleet"]["samples_24h"] == 0 and document["open_outages"] == 0
    [reason] = document["not_monitored"]
    assert {k: reason[k] for k in ("state", "kind", "aps", "examples")} == {
        "state": "unmonitored", "kind": "no_address", "aps": N_CDMX, "examples": [ap.id for ap in aps[:5]]}
    assert reason["message"] == healths[aps[0].id].reason and reason["message"]
    table = cli("status")
    assert f"0 down, 0 unknown, {N_CDMX:,} unmonitored, 0 misconfigured" in table.out
    assert "Not monitored: fix the inventory or settings" in table.out and "no_address" in table.out
    crews = cli("crews", "list", "--format", "json")
    assert (crews.code, json.loads(crews.out)) == (0, [])


INVENTORY = """id,lat,lon,site,alcaldia,programa
DARK-1,19.35,-99.08,SITE-DARK,Iztapalapa,Pilares
DARK-2,19.35,-99.08,SITE-DARK,Iztapalapa,Pilares
DARK-3,19.35,-99.08,SITE-DARK,Iztapalapa,Pilares
PLAZA-1,19.36,-99.07,SITE-PLAZA,Iztapalapa,Escuelas
PLAZA-2,19.36,-99.07,SITE-PLAZA,Iztapalapa,Escuelas
PLAZA-3,19.36,-99.07,SITE-PLAZA,Iztapalapa,Escuelas
"""


def test_a_wrong_snmpv3_password_is_misconfigured_and_never_on_a_crew_list(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch):
    """Every AP speaks SNMPv3 to the simulator; PLAZA-3's credential set has the wrong passwords. SITE-DARK
    loses power: that is the crews' work, and the only stop."""
    monkeypatch.setenv(SIM_V3_AUTH_ENV, "the-right-auth-passphrase")
    monkeypatch.setenv(SIM_V3_PRIV_ENV, "the-right-priv-passphrase")
    settings = load_settings(flags={"data_dir": ("--data-dir", str(tmp_path / "var"))}, env={}).settings
    wrong = SnmpAuth(version="3", user="hotspotctl-sim", auth_protocol="sha256", auth_password="not-the-password",
                     priv_protocol="aes", priv_password="not-the-priv-password")
    settings = replace(settings, snmp=replace(settings.snmp, timeout_s=0.5, retries=1, deadline_s=3.0,
                                              auth={**settings.snmp.auth, "wrong-v3": wrong}),
                       evaluate=replace(settings.evaluate, target_mbps=1.0))  # the simulated crowd is no matter here

    store = Store.open(settings.store_url)
    try:
        import_inventory(store, write(tmp_path / "aps.csv", INVENTORY), settings.inventory)
        zones = CrewZones.from_settings(settings.crew_zones)
        fleet = Fleet.load(store, zones)
        write(tmp_path / "scenario.yaml", yaml.safe_dump(
            {"name": "dark", "faults": [{"kind": "power", "select": {"site": ["SITE-DARK"]}}]}))
        port = free_udp_port()
        plan = plan_simulation(fleet, sorted(fleet.aps.values(), key=lambda ap: ap.id), seed=5,
                               scenario=load_scenario(tmp_path / "scenario.yaml"), community=b"public",
                               v3_fraction=1.0, port=port)
        assert assign_addresses(store, plan, v2c_auth="default", v3_auth=SIM_V3_AUTH) == 6
        misconfigured = replace(next(ap for ap in plan.aps if ap.id == "PLAZA-3"), snmp_auth="wrong-v3")
        with store.write() as conn:
            update_access_points(conn, [misconfigured], datetime.now(UTC))
        aps = [misconfigured if ap.id == "PLAZA-3" else ap for ap in plan.aps]
        with Simulator(plan.fleet, plan.clock, port=port, processes=1, usm=usm_for(settings, SIM_V3_AUTH)):
            cycles, evaluator = _cycles(store, settings, aps, settings.evaluate.down_after + 2)
        report, evaluation = cycles[-1]
        kinds = {o.ap.id: o.error.kind if o.error else None for o in cycles[0][0].outcomes}
        assert kinds == {"DARK-1": "timeout", "DARK-2": "timeout", "DARK-3": "timeout", "PLAZA-1": None,
                         "PLAZA-2": None, "PLAZA-3": "auth"}
        assert evaluation.states == {"down": 3, "up": 2, "misconfigured": 1}
        assert evaluation.reasons == {"auth": 1}
        assert {o.ap.id: o.error.kind for o in report.outcomes if o.error} == {
            "DARK-1": "backoff", "DARK-2": "backoff", "DARK-3": "backoff", "PLAZA-3": "backoff"}
        tally = rollup(report.outcomes, healths=evaluator.healths).fleet
        assert (tally.aps, tally.up, tally.down, tally.misconfigured, tally.unmonitored) == (6, 2, 3, 1, 0)
        with store.read() as conn:
            outages = list_outages(conn)
            health = load_health(conn)["PLAZA-3"]
        assert [(o.site, o.cause, o.aps) for o in outages] == [
            ("SITE-DARK", "site_offline", ("DARK-1", "DARK-2", "DARK-3"))]
        assert (health.state, health.reason_kind, health.causes) == ("misconfigured", "auth", ())
        assert "wrong-v3" in (health.reason or "")
        lists = crew_lists_from_store(store, Fleet.load(store, zones), settings, evaluation.at)
        assert [(z.zone, [s.site for s in z.stops]) for z in lists] == [("Iztapalapa", ["SITE-DARK"])]
        assert not any("PLAZA-3" in s.aps or "PLAZA-3" in s.action for z in lists for s in z.stops)
    finally:
        store.close()
