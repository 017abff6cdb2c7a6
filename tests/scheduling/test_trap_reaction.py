"""What `hotspotctl run` does with a trap (scheduling/traps.py), against the simulator over UDP.

The city (tests/city.py: 40 simulated APs, one a site) is polled by real cycles until its APs are UP with
counters; then the simulator is restarted with one AP silent (a down fault from the start, same seed
and clock: the others' counters go on) and TrapEvents, as the listener hands them on, go to the
reactor. A linkDown for the silent AP opens its outage well within the issue's 5 s, measured from the
moment the trap is handed on; the same trap for an AP that answers opens nothing; the rest as named.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.errors import ConfigError
from hotspotctl.evaluate.status import DOWN, UP
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.models.traps import TrapEvent, TrapKind
from hotspotctl.scheduling.service import CycleRunner, Service
from hotspotctl.scheduling.traps import TrapLimits, TrapReactor, listen_for_traps
from hotspotctl.settings import InventorySettings, load_settings
from hotspotctl.simulate.scenario import ApFaults, Window
from hotspotctl.simulate.simulator import Simulator
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.spool import Spool
from hotspotctl.store.outages import list_outages, load_health
from tests.city import City
from tests.scheduling.test_controller_cycle import FIXTURES as CONTROLLER_FIXTURES
from tests.scheduling.test_controller_cycle import SETTINGS as CONTROLLER_SNMP
from tests.scheduling.test_controller_cycle import city as controller_city
from tests.scheduling.test_service import _spooled_cycles
from tests.servers import SnmpsimServer, free_udp_port
from tests.spooled import spooled_batches

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"
COLD_START = "1.3.6.1.6.3.1.1.5.1"
SILENT = "SCH-007"  # goes silent once the city is up
ANSWERS = "SCH-011"  # answers throughout
RESTARTS = "SCH-013"  # sends a coldStart


def _host(city: City, ap_id: str) -> str:
    address = next(ap.mgmt_address for ap in city.aps if ap.id == ap_id)
    assert address is not None
    return address.rsplit(":", 1)[0]


def _trap(city: City, ap_id: str, kind: TrapKind, oid: str, *, if_index: int | None = 1,
          admin_up: bool | None = True, source: str | None = None) -> TrapEvent:
    return TrapEvent(received_at=time.time(), source=source or _host(city, ap_id), version="2c", security="default",
                     trap_oid=oid, kind=kind, uptime_ticks=12345, if_index=if_index, admin_up=admin_up)


def _silence(city: City, ap_id: str) -> None:
    """Serve the same city (seed, clock) again with ``ap_id`` answering nothing from now on."""
    city.simulator.stop()
    fleet = [replace(ap, faults=ApFaults(down=(Window(0.0, math.inf),))) if ap.id == ap_id else ap
             for ap in city.plan.fleet]
    city.simulator = Simulator(fleet, city.plan.clock, port=city.port, processes=1).start()


def _open_outages(city: City) -> list:
    with city.store.read() as conn:
        return list_outages(conn, open_only=True)


def _health(city: City, ap_id: str):
    with city.store.read() as conn:
        return load_health(conn, [ap_id]).get(ap_id)


async def _wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def _settled(reactor: TrapReactor, timeout_s: float = 20.0) -> None:
    """Every reaction started has finished."""
    assert await _wait_for(lambda: not reactor._tasks, timeout_s)


async def _up_city(city: City, runner: CycleRunner) -> None:
    """Cycles until every AP is UP and has counters (a rate on the next cycle)."""
    for _ in range(2):
        await runner.cycle()
    healths = runner.evaluator.healths
    assert sum(1 for h in healths.values() if h.state == UP) == len(city.aps)
    assert _open_outages(city) == []


def _setup(city: City, tmp_path: Path) -> tuple[Poller, CycleRunner, TrapReactor]:
    settings = replace(city.settings.snmp, timeout_s=0.5, min_timeout_s=0.2, retries=1, deadline_s=2.0)
    city.settings = replace(city.settings, snmp=settings)
    poller = Poller(settings, _profiles())
    runner = city.runner(poller)
    reactor = runner.traps = TrapReactor(runner)
    return poller, runner, reactor


def _profiles():
    return load_profiles([])


def test_a_link_down_for_a_silent_ap_opens_its_outage_within_5_s_and_one_that_answers_opens_nothing(
        city: City, tmp_path: Path) -> None:
    poller, runner, reactor = _setup(city, tmp_path)

    async def scenario() -> float:
        await _up_city(city, runner)
        _silence(city, SILENT)
        sent = time.monotonic()
        reactor.submit(_trap(city, SILENT, TrapKind.LINK_DOWN, LINK_DOWN))
        reactor.submit(_trap(city, ANSWERS, TrapKind.LINK_DOWN, LINK_DOWN))
        assert await _wait_for(lambda: any(o.site for o in _open_outages(city)), 10.0)
        took = time.monotonic() - sent
        await _settled(reactor)
        return took

    with poller:
        took = asyncio.run(scenario())
    print(f"outage opened {took:.2f} s after the trap")
    assert took < 5.0, f"the outage opened {took:.2f} s after the trap"
    [outage] = _open_outages(city)
    silent_ap = next(ap for ap in city.aps if ap.id == SILENT)
    assert outage.site == silent_ap.site_id and outage.aps == (SILENT,) and outage.cause == "offline"
    health = _health(city, SILENT)
    assert health is not None and health.state == DOWN and health.misses == city.settings.evaluate.down_after
    answers = _health(city, ANSWERS)
    assert answers is not None and answers.state == UP
    # the silent AP was polled confirm_tries times, the other once
    assert reactor.counts["polled"] == reactor.limits.confirm_tries + 1
    assert reactor.counts["answered"] == 1 and reactor.counts["confirmed_down"] == 1
    assert reactor.counts["outages_opened"] == 1
    [silent_reaction] = [r for r in reactor.reactions if r.ap == SILENT]
    assert silent_reaction.confirmed_down and not silent_reaction.answered
    assert [r.to_json()["opened"] for r in reactor.reactions if r.ap == ANSWERS] == [[]]


def test_the_next_cycle_keeps_the_outage_the_trap_opened_and_counts_the_traps(city: City, tmp_path: Path) -> None:
    poller, runner, reactor = _setup(city, tmp_path)

    async def scenario() -> None:
        await _up_city(city, runner)
        _silence(city, SILENT)
        reactor.submit(_trap(city, SILENT, TrapKind.LINK_DOWN, LINK_DOWN))
        # a cycle runs while the reaction confirms: the ledger must come out of both with one outage
        cycle = asyncio.ensure_future(runner.cycle())
        await _settled(reactor)
        await cycle
        await runner.cycle()

    with poller:
        asyncio.run(scenario())
    [outage] = _open_outages(city)
    assert outage.aps == (SILENT,) and outage.cause == "offline"
    with city.store.read() as conn:
        assert len(list_outages(conn)) == 1  # never closed and opened again
    health = _health(city, SILENT)
    assert health is not None and health.state == DOWN
    # every cycle wrote a poller_traps point: the traps since the cycle before (the first two had none)
    traps_points = [batch.get("poller_traps", 0) for batch in _spooled_cycles(city.settings.spool_dir)]
    assert traps_points == [1, 1, 1, 1]


def test_unknown_sources_are_dropped_and_counted_and_a_duplicate_polls_once(city: City, tmp_path: Path) -> None:
    poller, runner, reactor = _setup(city, tmp_path)

    async def scenario() -> None:
        await _up_city(city, runner)
        reactor.submit(_trap(city, ANSWERS, TrapKind.LINK_DOWN, LINK_DOWN, source="192.0.2.77"))
        first = _trap(city, ANSWERS, TrapKind.LINK_DOWN, LINK_DOWN)
        reactor.submit(first)
        reactor.submit(replace(first, received_at=first.received_at + 0.5))  # the agent sent it twice
        await _settled(reactor)

    with poller:
        asyncio.run(scenario())
    counts = reactor.counts
    assert counts["received"] == 3 and counts["unknown_source"] == 1 and counts["duplicate"] == 1
    assert counts["polled"] == 1 and counts["answered"] == 1
    assert _open_outages(city) == []


def test_a_link_down_of_an_admin_down_interface_opens_nothing(city: City, tmp_path: Path) -> None:
    poller, runner, reactor = _setup(city, tmp_path)

    async def scenario() -> None:
        await _up_city(city, runner)
        _silence(city, SILENT)
        reactor.submit(_trap(city, SILENT, TrapKind.LINK_DOWN, LINK_DOWN, admin_up=False))
        await asyncio.sleep(3.0)  # longer than a confirmation takes: nothing may have started
        await _settled(reactor)

    with poller:
        asyncio.run(scenario())
    assert reactor.counts["admin_down"] == 1 and reactor.counts["polled"] == 0
    assert _open_outages(city) == []
    health = _health(city, SILENT)
    assert health is not None and health.state == UP


def test_a_cold_start_makes_the_next_cycle_skip_the_rate_across_the_restart(city: City, tmp_path: Path) -> None:
    poller, runner, reactor = _setup(city, tmp_path)
    rates: list[dict[str, tuple[float | None, tuple[str, ...]]]] = []

    async def scenario() -> None:
        await _up_city(city, runner)
        reactor.submit(_trap(city, RESTARTS, TrapKind.COLD_START, COLD_START, if_index=None, admin_up=None))
        await _settled(reactor)
        for _ in range(2):
            await runner.cycle()
            assert runner.last_report is not None
            rates.append({o.ap.id: (o.rate.in_bps, o.rate.events) for o in runner.last_report.outcomes
                          if o.rate is not None})

    with poller:
        asyncio.run(scenario())
    assert reactor.counts["restart"] == 1 and reactor.counts["polled"] == 1
    after, next_one = rates
    # the cycle after the trap: no rate for the AP that restarted (a new baseline), rates for the others
    assert after[RESTARTS] == (None, ("discontinuity",))
    assert after[ANSWERS][0] is not None and after[ANSWERS][0] > 0
    assert sum(1 for in_bps, _ in after.values() if in_bps is not None) == len(city.aps) - 1
    # the cycle after that: its rate again, from the new baseline
    assert next_one[RESTARTS][0] is not None and next_one[RESTARTS][0] > 0
    assert "discontinuity" not in next_one[RESTARTS][1]
    assert runner.restarts == {}


# -- real traps: net-snmp's snmptrap to the listener `run` binds (collectors/traps.py) ---------------------

def _net_snmp_env(tmp_path: Path) -> dict[str, str]:
    persistent = tmp_path / "net-snmp"
    persistent.mkdir(exist_ok=True)
    return {**os.environ, "MIBS": "", "MIBDIRS": str(tmp_path), "SNMP_PERSISTENT_DIR": str(persistent),
            "SNMPCONFPATH": str(persistent), "HOME": str(tmp_path)}


async def _snmptrap(argv: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()


def _link_down_v2c(port: int, source: str, community: str = "public", admin: int = 1) -> list[str]:
    """linkDown of ifIndex 1 as an AP sends it: ifIndex, ifAdminStatus, ifOperStatus (down), from ``source``."""
    return ["snmptrap", "-v", "2c", "-c", community, f"--clientaddr={source}", f"127.0.0.1:{port}", "",
            LINK_DOWN, "1.3.6.1.2.1.2.2.1.1.1", "i", "1", "1.3.6.1.2.1.2.2.1.7.1", "i", str(admin),
            "1.3.6.1.2.1.2.2.1.8.1", "i", "2"]




@pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp's snmptrap is not installed")
def test_snmptrap_link_down_from_a_silent_ap_opens_its_outage_within_5_s(city: City, tmp_path: Path) -> None:
    city.settings = replace(city.settings, traps=replace(city.settings.traps, enabled=True, bind="127.0.0.1", port=0))
    poller, runner, _ = _setup(city, tmp_path)
    runner.traps = None
    env = _net_snmp_env(tmp_path)

    async def scenario() -> float:
        transport = await listen_for_traps(runner)
        port = transport.get_extra_info("sockname")[1]
        reactor = runner.traps
        assert reactor is not None
        try:
            await _up_city(city, runner)
            _silence(city, SILENT)
            # first the ones that must open nothing: an unknown source, a wrong community, an admin-down port
            await _snmptrap(_link_down_v2c(port, "127.0.0.3"), env)
            await _snmptrap(_link_down_v2c(port, _host(city, SILENT), community="wrong"), env)
            await _snmptrap(_link_down_v2c(port, _host(city, ANSWERS), admin=2), env)
            await _snmptrap(_link_down_v2c(port, _host(city, ANSWERS)), env)
            await _settled(reactor)
            assert _open_outages(city) == []
            sent = time.monotonic()
            await _snmptrap(_link_down_v2c(port, _host(city, SILENT)), env)
            assert await _wait_for(lambda: bool(_open_outages(city)), 10.0)
            took = time.monotonic() - sent
            await _settled(reactor)
            await runner.cycle()  # its poller_traps point: what the listener and the reactor counted
            return took
        finally:
            transport.close()

    with poller:
        took = asyncio.run(scenario())
    print(f"outage opened {took:.2f} s after snmptrap started")
    assert took < 5.0, f"the outage opened {took:.2f} s after snmptrap started"
    [outage] = _open_outages(city)
    assert outage.aps == (SILENT,) and outage.cause == "offline"
    reactor = runner.traps
    assert reactor is not None and reactor.listener is not None
    dropped = reactor.listener.receiver.dropped
    assert dropped["unknown_source"] == 1 and dropped["bad_community"] == 1
    counts = reactor.counts
    assert counts["received"] == 3 and counts["admin_down"] == 1 and counts["polled"] == 1 + reactor.limits.confirm_tries
    assert counts["confirmed_down"] == 1 and counts["outages_opened"] == 1
    last = _spooled_lines(city.settings.spool_dir, "poller_traps")[-1]
    assert "traps_received=5i" in last and "traps_accepted=3i" in last
    assert "traps_dropped_unknown_source=1i" in last and "traps_dropped_bad_community=1i" in last
    assert "received=3i" in last and "confirmed_down=1i" in last and "admin_down=1i" in last


def _spooled_lines(spool_dir: Path, measurement: str) -> list[str]:
    return [line for batch in spooled_batches(spool_dir) for line in batch if line.startswith(measurement + " ")]


# -- a controller's AP leave/join: the controller's address, the AP by name or MAC -----------------------------

@pytest.fixture(scope="module")
def controller() -> Iterator[SnmpsimServer]:
    server = SnmpsimServer([CONTROLLER_FIXTURES / "wlc.snmprec"]).start()  # community: "wlc"
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dead_address() -> Iterator[str]:
    """A real UDP address where nobody answers: a dead controller."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()
        yield f"{host}:{port}"


def test_a_controllers_ap_leave_is_confirmed_from_its_ap_table(sqlite_store, controller: SnmpsimServer,
                                                               dead_address: str, tmp_path: Path) -> None:
    """snmpsim serves a Cisco-shaped controller (tests/fixtures/controllers/wlc.snmprec): pole-a joined, pole-b
    listed but not joined, AP-C known by its MAC. A leave for pole-b is confirmed by reading the controller's AP
    table (not joined) and makes it DOWN after one cycle instead of down_after; one for pole-a (joined) opens
    nothing; one naming an AP the inventory lacks is counted and dropped."""
    report = import_inventory(sqlite_store, controller_city(tmp_path, controller.address, dead_address), InventorySettings())
    assert report.rejected == []
    settings = load_settings(flags={"data_dir": ("--data-dir", str(tmp_path / "var"))}).settings
    settings = replace(settings, snmp=CONTROLLER_SNMP)
    profiles = load_profiles([CONTROLLER_FIXTURES / "profiles"])
    zones = CrewZones.from_settings(settings.crew_zones)
    aps = sorted(Fleet.load(sqlite_store, zones).aps.values(), key=lambda ap: ap.id)
    controller_host = controller.address.rsplit(":", 1)[0]

    def leave(name: str | None = None, mac: str | None = None, kind: TrapKind = TrapKind.AP_LEAVE) -> TrapEvent:
        return TrapEvent(received_at=time.time(), source=controller_host, version="2c", security="wlc",
                         trap_oid="1.3.6.1.4.1.14179.2.6.3.8", kind=kind, ap_name=name, ap_mac=mac)

    with Poller(settings.snmp, profiles) as poller:
        runner = CycleRunner(sqlite_store, settings, profiles, aps, zones,
                             InfluxSink(settings.influx, Spool(settings.spool_dir)), poller)
        reactor = runner.traps = TrapReactor(runner)

        async def scenario() -> None:
            await runner.cycle()
            assert runner.evaluator.healths["AP-B"].misses == 1 and runner.evaluator.healths["AP-B"].state != DOWN
            reactor.submit(leave("pole-b"))
            reactor.submit(leave("POLE-A"))  # the controller's names, whatever their case
            reactor.submit(leave("pole-zz"))
            reactor.submit(leave(mac="00:0B:86:00:00:03", kind=TrapKind.AP_JOIN))  # AP-C, by its MAC
            await _settled(reactor)

        asyncio.run(scenario())
    counts = reactor.counts
    assert counts["received"] == 4 and counts["unknown_source"] == 1
    assert counts["polled"] == reactor.limits.confirm_tries + 2 and counts["answered"] == 2
    assert counts["confirmed_down"] == 1 and counts["outages_opened"] == 1
    with sqlite_store.read() as conn:
        [outage] = list_outages(conn, open_only=True)
        health = load_health(conn, ["AP-A", "AP-B", "AP-C"])
    assert outage.aps == ("AP-B",) and outage.cause == "offline"
    assert health["AP-B"].state == DOWN and health["AP-A"].state == UP and health["AP-C"].state == UP


@pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp's snmptrap is not installed")
def test_the_service_listens_while_cycles_run_and_closes_the_listener_on_stop(city: City, tmp_path: Path) -> None:
    """`hotspotctl run`'s Service with traps.enabled: the listener is bound before the first cycle, a v1 linkDown
    (agent-addr: the AP) opens the silent AP's outage between cycles, and stop() closes the socket."""
    port = free_udp_port()
    city.settings = replace(city.settings, traps=replace(city.settings.traps, enabled=True, bind="127.0.0.1",
                                                         port=port))
    poller, runner, _ = _setup(city, tmp_path)
    runner.traps = None
    env = _net_snmp_env(tmp_path)

    async def scenario() -> tuple[float, Service]:
        service = Service(runner, interval_s=3600.0, grace_s=10.0)  # one cycle now, the next in an hour
        running = asyncio.ensure_future(service.run())
        try:
            assert await _wait_for(lambda: len(service.records) == 1, 30.0)
            assert runner.traps is not None and runner.traps.listener is not None
            _silence(city, SILENT)
            sent = time.monotonic()
            # v1: enterprise, agent-addr (the AP), generic-trap 2 (linkDown), specific 0, uptime; ifIndex.1
            await _snmptrap(["snmptrap", "-v", "1", "-c", "public", f"127.0.0.1:{port}", "1.3.6.1.4.1.8072.3.2.10",
                             _host(city, SILENT), "2", "0", "", "1.3.6.1.2.1.2.2.1.1.1", "i", "1"], env)
            assert await _wait_for(lambda: bool(_open_outages(city)), 10.0)
            took = time.monotonic() - sent
        finally:
            service.stop()
            assert await asyncio.wait_for(running, 30.0)
        return took, service

    with poller:
        took, service = asyncio.run(scenario())
    print(f"outage opened {took:.2f} s after snmptrap -v 1 started")
    assert took < 5.0, f"the outage opened {took:.2f} s after snmptrap started"
    assert len(service.records) == 1  # the trap's outage, not a cycle's
    [outage] = _open_outages(city)
    assert outage.aps == (SILENT,) and outage.cause == "offline"
    assert runner.traps is not None and runner.traps.counts["confirmed_down"] == 1
    # the listener's socket is closed (rebinding the port proves nothing: the kernel may have handed it to
    # another socket of this process as an ephemeral port meanwhile)
    transport = service._traps
    assert transport is not None and transport.is_closing()
    assert transport.get_extra_info("socket").fileno() == -1


def test_a_trap_port_that_cannot_be_bound_stops_the_run_before_its_first_cycle(city: City, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        city.settings = replace(city.settings, traps=replace(city.settings.traps, enabled=True, bind="127.0.0.1",
                                                             port=port))
        poller, runner, _ = _setup(city, tmp_path)
        service = Service(runner, interval_s=3600.0, grace_s=10.0)
        with poller, pytest.raises(ConfigError) as failed:
            asyncio.run(service.run())
    assert str(failed.value).startswith(f"cannot listen for traps on 127.0.0.1:{port}: Address already in use; ")
    assert service.records == [] and service.tried == 0


def test_a_trap_storm_is_bounded_per_ap_and_in_all(city: City, tmp_path: Path) -> None:
    """One AP at a time (the newest trap waits for the running poll), 3 polls an AP a minute, and a global
    bucket: what they drop is counted; the cycle after the storm runs as usual."""
    poller, runner, reactor = _setup(city, tmp_path)
    runner.traps = reactor = TrapReactor(runner, TrapLimits(global_per_s=0.001, global_burst=10))
    others = [ap.id for ap in city.aps if ap.id != ANSWERS]

    async def scenario() -> None:
        await _up_city(city, runner)
        for if_index in range(10):  # one polled now; 9 wait, each replacing the one before: 1 polled after it
            reactor.submit(_trap(city, ANSWERS, TrapKind.LINK_UP, LINK_UP, if_index=if_index))
        await _settled(reactor)
        for if_index in range(10, 15):  # the 3rd poll of the minute; the newest of the 4 waiting is over the limit
            reactor.submit(_trap(city, ANSWERS, TrapKind.LINK_UP, LINK_UP, if_index=if_index))
        await _settled(reactor)
        for ap_id in others:  # 39 APs: 7 tokens left in the bucket of 10
            reactor.submit(_trap(city, ap_id, TrapKind.LINK_UP, LINK_UP))
        await _settled(reactor)
        record = await runner.cycle()
        assert record.ok == len(city.aps)

    with poller:
        asyncio.run(scenario())
    counts = reactor.counts
    assert counts["received"] == 15 + len(others)
    assert counts["coalesced"] == 8 + 3
    assert counts["polled"] == 3 + 7 and counts["answered"] == 3 + 7
    assert counts["rate_limited"] == 1 + len(others) - 7
    assert _open_outages(city) == []


def test_a_confirmation_poll_keeps_its_budget_over_snmpv3_too(tmp_path: Path) -> None:
    """The confirmation's budget (Poller.poll(budget_s=)) holds on both paths: the engine's GETs (v2c) and
    pysnmp's (v3, the slow path: its timeout and retries sized to the budget), where the AP's 3 s deadline
    with its retries would otherwise apply. (A service's poller has long set pysnmp up: so does the test.)"""
    from hotspotctl.collectors.model import Discovery, PollError
    from hotspotctl.collectors.poller import Target
    from hotspotctl.settings import SnmpAuth, SnmpSettings

    layout = Discovery(profile="generic", sys_descr="", sys_object_id="", uptime_sources=("sys_uptime",),
                       uplink=None, radios=(), counter_bits=None, link_source=None, link_scale=1.0,
                       clients_kind=None, clients_oids=())
    auth = {"default": SnmpAuth(community="public"),
            "v3": SnmpAuth(version="3", user="u", auth_protocol="sha", auth_password="auth-pass-1",
                           priv_protocol="aes", priv_password="priv-pass-1")}
    settings = SnmpSettings(timeout_s=1.0, min_timeout_s=1.0, retries=2, deadline_s=3.0, auth=auth)

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # bound, answering nobody
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"

        async def poll(auth_name: str) -> tuple[float, object]:
            work = [(Target("AP-1", address, auth_name), layout, False)]
            with Poller(settings, load_profiles([])) as poller:
                await poller.poll(work, budget_s=1.0)  # pysnmp's first request sets its engine up (seconds)
                started = time.monotonic()
                [result], _ = await poller.poll(work, budget_s=1.0)
                return time.monotonic() - started, result

        for auth_name in ("default", "v3"):
            took, result = asyncio.run(poll(auth_name))
            assert isinstance(result, PollError) and result.kind == "timeout", (auth_name, result)
            assert 0.9 <= took < 2.5, (auth_name, took)  # the 1 s budget, not the 3 s deadline


def test_a_confirmation_poll_keeps_a_budget_shorter_than_its_timeout_on_the_walkers_path_too() -> None:
    """A budget under snmp.timeout_s (3 s here, 0.5 s of budget) holds on both of the poll's paths: the engine's
    GETs, and the walker's (an AP whose clients are counted by a walk: its GET and its walk). The walker's
    device used to get only fewer retries, so its first try waited out the whole 3 s timeout; now no request of
    the device is waited for past the budget, all of them together (Poller.device(budget_s=), WalkerDevice.until)."""
    from hotspotctl.collectors.model import Discovery, PollError
    from hotspotctl.collectors.poller import Target
    from hotspotctl.settings import SnmpAuth, SnmpSettings

    def layout(clients_kind: str | None, clients_oids: tuple[str, ...]) -> Discovery:
        return Discovery(profile="generic", sys_descr="", sys_object_id="", uptime_sources=("sys_uptime",),
                         uplink=None, radios=(), counter_bits=None, link_source=None, link_scale=1.0,
                         clients_kind=clients_kind, clients_oids=clients_oids)

    settings = SnmpSettings(timeout_s=3.0, min_timeout_s=3.0, retries=2, deadline_s=6.0,
                            auth={"default": SnmpAuth(community="public")})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # bound, answering nobody
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"

        async def poll(discovery: Discovery) -> tuple[float, object]:
            with Poller(settings, load_profiles([])) as poller:
                started = time.monotonic()
                [result], _ = await poller.poll([(Target("AP-1", address, "default"), discovery, False)],
                                                budget_s=0.5)
                return time.monotonic() - started, result

        for path, discovery in (("engine", layout(None, ())), ("walker", layout("count", ("1.3.6.1.4.1.9.9.1",)))):
            took, result = asyncio.run(poll(discovery))
            assert isinstance(result, PollError) and result.kind == "timeout", (path, result)
            assert "within the poll's budget" in result.message or path == "engine", result.message
            assert 0.45 <= took < 2.0, (path, took)  # the 0.5 s budget, not the 3 s timeout
