"""Discovery alongside the polls: dead APs never discovered do not hold up the known APs' GETs, and an
AP whose discovery failed gets its full retries again (after the others), then backs off like a down AP."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, replace

import pytest

from hotspotctl.collectors.model import PollError
from hotspotctl.collectors.poller import Poller, Target
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.scheduling.cycle import ApOutcome, CycleMemory, CycleReport, discover_aps, run_cycle
from hotspotctl.settings import SIM_V3_AUTH_ENV, SIM_V3_PRIV_ENV, SnmpSettings
from tests.city import City
from tests.waiting import counted

KNOWN = [f"SCH-{i:03d}" for i in range(20)]  # discovered before the cycles
FRESH = [f"SCH-{i:03d}" for i in range(20, 30)]  # alive, never discovered
DEAD = [f"SCH-{i:03d}" for i in range(30, 40)]  # down from the start, never discovered
TIMEOUT_S = 0.5
RETRIES = 2
DEAD_BUDGET_S = TIMEOUT_S * (1 + 2 + 4)  # a dead AP's first discovery: 3 tries, the wait doubling: 3.5 s


def _settled(city: City, poller: Poller) -> dict[str, float]:
    """The simulator's counters once it has counted every datagram this poller sent it (discovery's
    and the polls'): the only traffic it gets in this test."""
    return counted(city.simulator, poller.walker.stats.sent + poller.engine.stats.sent)


@dataclass
class Cycle:
    report: CycleReport
    walker: dict[str, int]  # the walker's counters during the cycle
    dead_requests: int  # datagrams the simulator received for the dead APs during the cycle
    progress: dict[str, tuple[int, set[int]]]  # phase -> (advances summed, totals given)


@pytest.mark.scenario({"name": "dead", "faults": [{"kind": "down", "select": {"ap": DEAD}}]})
def test_dead_aps_never_discovered_neither_delay_the_polls_nor_get_retried(city: City) -> None:
    city.settings = replace(city.settings, snmp=replace(city.settings.snmp, timeout_s=TIMEOUT_S, retries=RETRIES))
    profiles = load_profiles([])
    by_id = {ap.id: ap for ap in city.aps}
    assert sorted(by_id) == sorted(KNOWN + FRESH + DEAD)

    async def scenario() -> list[Cycle]:
        with Poller(city.settings.snmp, profiles) as poller:
            memory = CycleMemory.load(city.store, city.aps)
            found = await discover_aps(city.store, [by_id[i] for i in KNOWN], city.settings.snmp, profiles, poller,
                                       memory=memory)
            assert all(not isinstance(r, PollError) for r in found.values())
            cycles = []
            for _ in range(3):
                walker_before = poller.walker.stats.as_dict()
                dead_before = _settled(city, poller)["dropped_down"]
                progress: dict[str, tuple[int, set[int]]] = {}

                def tick(phase: str, n: int, total: int, progress: dict = progress) -> None:
                    done, totals = progress.get(phase, (0, set()))
                    progress[phase] = (done + n, totals | {total})

                report = await run_cycle(city.store, city.aps, city.settings.snmp, profiles, poller,
                                         interval_s=60.0, progress=tick, memory=memory)
                walker = {k: v - walker_before[k] for k, v in poller.walker.stats.as_dict().items()}
                cycles.append(Cycle(report, walker, int(_settled(city, poller)["dropped_down"] - dead_before),
                                    progress))
            return cycles

    first, second, third = asyncio.run(scenario())

    def figures(report: CycleReport) -> tuple[int, ...]:
        return (len(report.outcomes), report.ok, report.timed_out, report.failed, report.skipped,
                report.discovered, report.discovery_failed)

    def outcome(report: CycleReport, ap_id: str) -> ApOutcome:
        return next(o for o in report.outcomes if o.ap.id == ap_id)

    # cycle 1: the known APs are polled while the dead ones are being discovered; the fresh ones are
    # discovered and polled in the same cycle; the dead ones get their full discovery (3 tries each)
    assert figures(first.report) == (40, 30, 10, 0, 0, 10, 10)
    # (each known AP answered before any dead AP's discovery came to its verdict: before this change the
    # polls waited for it, 3.51 s; now they take milliseconds, however loaded the machine)
    known_done = max(outcome(first.report, i).rate.at for i in KNOWN)
    assert known_done < min(outcome(first.report, i).error.at for i in DEAD)
    assert all(outcome(first.report, i).ok and outcome(first.report, i).profile for i in FRESH)
    assert {outcome(first.report, i).error.kind for i in DEAD} == {"timeout"}
    assert "after 3 tries" in outcome(first.report, DEAD[0]).error.message
    assert first.dead_requests == 30
    assert (first.walker["timeouts"], first.walker["retries"]) == (10, 20)
    # the cycle still waits for the dead APs' verdict (measured 3.51 s): after their third try's wait,
    # not at the 6 s deadline (the bound separates the two; the datagrams counted above, any more tries)
    deadline_s = city.settings.snmp.deadline_s
    assert deadline_s > DEAD_BUDGET_S
    assert DEAD_BUDGET_S <= first.report.duration_s < deadline_s
    assert first.progress == {"discover": (20, {20}), "poll": (40, {40})}  # every bar ends full

    # cycle 2: the dead APs failed discovery once: believed down, they get the same retries and deadline
    # as any AP (issue 15: one short try never let a slow agent's answer arrive), after the others
    assert figures(second.report) == (40, 30, 10, 0, 0, 0, 10)
    assert "after 3 tries" in outcome(second.report, DEAD[0]).error.message
    assert second.dead_requests == 30
    assert (second.walker["sent"], second.walker["retries"], second.walker["timeouts"]) == (30, 20, 10)
    assert DEAD_BUDGET_S <= second.report.duration_s < deadline_s
    assert second.progress == {"discover": (10, {10}), "poll": (40, {40})}

    # cycle 3: two misses in a row: the dead APs wait out the back-off (one interval) untried
    assert figures(third.report) == (40, 30, 0, 0, 10, 0, 0)
    assert {outcome(third.report, i).error.kind for i in DEAD} == {"backoff"}
    assert third.dead_requests == 0 and third.walker["sent"] == 0
    assert third.progress == {"poll": (30, {30})}
    with city.store.read() as conn:
        failures = dict(conn.exec_driver_sql("select ap_id, failures from ap_state").fetchall())
    assert failures == {**dict.fromkeys(KNOWN + FRESH, 0), **dict.fromkeys(DEAD, 2)}


def _silent_agent() -> socket.socket:
    """A UDP port where nobody answers; what arrives there can be counted."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def _received(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            sock.recv(65535)
        except BlockingIOError:
            return count
        count += 1


@pytest.mark.parametrize("auth", ["default", "sim-v3"])  # the walker (v2c) and pysnmp (v3)
def test_discovery_of_an_ap_believed_down_gets_its_full_retries(auth: str) -> None:
    snmp = replace(SnmpSettings(), timeout_s=0.2, retries=2)
    agents = [_silent_agent(), _silent_agent()]
    try:
        targets = [Target(f"AP-{i}", "{}:{}".format(*sock.getsockname()), auth) for i, sock in enumerate(agents)]

        async def scenario() -> dict[str, object]:
            env = {SIM_V3_AUTH_ENV: "auth-passphrase", SIM_V3_PRIV_ENV: "priv-passphrase"}
            with Poller(snmp, load_profiles([]), env=env) as poller:
                return await poller.discover(targets, down={"AP-1"})

        found = asyncio.run(scenario())
        assert [found[t.ap].kind for t in targets] == ["timeout", "timeout"]  # type: ignore[union-attr]
        assert [_received(sock) for sock in agents] == [3, 3]  # retried twice, believed down or not
    finally:
        for sock in agents:
            sock.close()
