"""The scheduler (hotspotctl run) against the simulator: on time, never stacked, and a clean SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.collectors.model import Discovery, PollError
from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.scheduling import service as service_module
from hotspotctl.scheduling.cycle import discover_aps
from hotspotctl.scheduling.service import CycleRecord, Service, collect_between_cycles, one_collection_per_cycle
from hotspotctl.settings import SnmpSettings
from hotspotctl.simulate.simulator import Simulator
from hotspotctl.store import Store
from hotspotctl.store.polling import recent_cycles
from tests.city import APS, City
from tests.spooled import cycle_batches, spooled_batches
from tests.waiting import read_until


def _spooled_cycles(spool_dir: Path) -> list[dict[str, int]]:
    """Per cycle's batch (``cycle_batches``): how many lines of each measurement it holds."""
    cycles = []
    for batch in cycle_batches(spool_dir):
        counts: dict[str, int] = {}
        for line in batch:
            measurement = line.split(",", 1)[0].split(" ", 1)[0]
            counts[measurement] = counts.get(measurement, 0) + 1
            if measurement == "ap_traffic" and "in_bps=" in line:
                counts["rates"] = counts.get("rates", 0) + 1
        cycles.append(counts)
    return cycles


def _discover_at_full_speed(city: City, snmp: SnmpSettings) -> None:
    """Discover (and store) the city's APs with the scenario's latency left out, then serve it again.

    A latency scenario is about the cycles' GETs; discovery's walks, one after the other, would each
    wait for it too: seconds no assertion is about."""
    async def discover() -> dict[str, Discovery | PollError]:
        with Poller(snmp, load_profiles([])) as poller:
            return await discover_aps(city.store, city.aps, snmp, load_profiles([]), poller)

    city.simulator.stop()
    with Simulator([replace(ap, latency_ms=None) for ap in city.plan.fleet], city.plan.clock, port=city.port,
                   processes=1):
        found = asyncio.run(discover())
    assert sum(1 for r in found.values() if isinstance(r, Discovery)) == APS
    city.simulator = Simulator(city.plan.fleet, city.plan.clock, port=city.port, processes=1).start()


def test_cycles_run_on_time_and_record_their_cost(city: City) -> None:
    async def scenario() -> Service:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            service = Service(city.runner(poller), interval_s=1.0, max_cycles=4)
            await service.run()
            return service

    service = asyncio.run(scenario())
    records = service.records
    assert len(records) == 4
    # due exactly one interval apart (on a loaded machine a cycle may overrun: then whole intervals
    # apart, each one missed counted), never back to back, and each started when due (plus its lag)
    for before, after in itertools.pairwise(records):
        assert after.scheduled_at - before.scheduled_at == pytest.approx(1.0 * (1 + after.missed), abs=0.01)
        assert after.started_at >= before.started_at + before.duration_s - 0.01
    for r in records:
        # the record's lag is its start minus when it was due: the wall-clock start is read a little
        # after the loop's (the log line, the call), a while that a loaded machine stretches; a lag
        # counted from the wrong due time would be off by a whole interval (1 s)
        assert r.lag_s - 0.001 <= r.started_at - r.scheduled_at < r.lag_s + 0.5 or r.missed
        # woken when due: lag is the loop's latency, not a tick missed (that is an interval)
        assert r.lag_s < 1.0 or r.missed, records
    assert [r.aps for r in records] == [APS] * 4
    assert [r.ok for r in records] == [APS] * 4
    assert records[0].discovered == APS and all(r.discovered == 0 for r in records[1:])
    assert all(r.duration_s > 0 and r.cpu_s > 0 for r in records)
    # the store keeps each cycle's cost, the spool its points: ap_status for every AP every cycle,
    # ap_traffic once rates exist (from the 2nd cycle), a rollup per district, one poller_cycle
    with city.store.read() as conn:
        stored = recent_cycles(conn, 10)
    assert [(row["aps"], row["ok"], row["points"]) for row in stored] == [(r.aps, r.ok, r.points) for r in records]
    batches = _spooled_cycles(city.settings.spool_dir)
    assert [b["ap_status"] for b in batches] == [APS] * 4
    assert [b["ap_traffic"] for b in batches] == [APS] * 4  # link speed from the first sample
    assert [b.get("rates", 0) for b in batches] == [0, APS, APS, APS]
    assert all(b["fleet_rollup"] == 2 and b["poller_cycle"] == 1 for b in batches)
    assert [sum(b.values()) - b.get("rates", 0) for b in batches] == [r.points for r in records]


def test_a_cycles_recorded_cost_runs_to_the_end_of_its_commit(city: City) -> None:
    """A cycle's cpu_s and duration_s (its record, its poll_cycles row, its poller_cycle line) run from its start to
    the end of its commit: the counter states and the evaluation written are the cycle's cost too. Before, the
    figures were taken before the commit and left it out (the city's commit on PostgreSQL: a COPY of 35,350 rows).

    The commit here is the real one, then ``burn_s`` of CPU in it, so that a figure without the commit falls that
    far short of what the cycle spent up to the commit's end. The margins below are a quarter and a half of it:
    the call's start is read a little before the cycle's own (a loaded machine may stretch that while, on the
    wall clock)."""
    burn_s = 0.2
    ends: list[tuple[float, float]] = []  # (CPU, monotonic) at each commit's end

    async def scenario() -> list[tuple[float, float, float, float, CycleRecord]]:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = city.runner(poller)
            commit = runner._commit

            def commit_then_burn(conn: object, report: object, evaluation: object) -> None:
                commit(conn, report, evaluation)  # type: ignore[arg-type]
                started = time.process_time()
                while time.process_time() - started < burn_s:
                    pass
                ends.append((time.process_time(), time.monotonic()))

            runner._commit = commit_then_burn  # type: ignore[method-assign]
            cycles = []
            for _ in range(2):
                cpu, clock = time.process_time(), time.monotonic()
                record = await runner.cycle()
                cycles.append((cpu, clock, time.process_time(), time.monotonic(), record))
            return cycles

    cycles = asyncio.run(scenario())
    for (cpu, clock, cpu_after, clock_after, record), (commit_cpu, commit_clock) in zip(cycles, ends, strict=True):
        # from (just after) the call's start to (just after) the commit's end, and within the call
        assert commit_cpu - cpu - burn_s / 4 <= record.cpu_s <= cpu_after - cpu
        assert commit_clock - clock - burn_s / 2 <= record.duration_s <= clock_after - clock
    records = [c[-1] for c in cycles]
    with city.store.read() as conn:
        stored = recent_cycles(conn, 10)
    assert [(row["cpu_s"], row["duration_s"], row["points"]) for row in stored] == [
        (r.cpu_s, r.duration_s, r.points) for r in records]
    figures = [batch for batch in spooled_batches(city.settings.spool_dir) if batch[0].startswith("poller_cycle ")]
    assert [len(batch) for batch in figures] == [1, 1]  # each in a batch of its own, after its cycle's commit
    figures = [batch[0] for batch in figures]
    for text, record in zip(figures, records, strict=True):
        fields = dict(pair.split("=", 1) for pair in text.split(" ")[1].split(","))
        assert (fields["cpu_s"], fields["duration_s"]) == (repr(round(record.cpu_s, 3)),
                                                           repr(round(record.duration_s, 3)))
        assert fields["points"] == f"{record.points}i"


def test_a_service_runs_the_collector_once_a_cycle_at_its_start(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run`'s service collects only at each cycle's start (one_collection_per_cycle), once the last cycle's report is
    let go: never during a cycle, when every AP's sample, rates and outcome are alive, nor between cycles. Garbage
    with a reference cycle made during a cycle is still there when the cycle ends and gone when the next starts.
    The collector is on again once ``run`` returns."""
    events: list[tuple[str, int]] = []
    garbage: list[weakref.ref[object]] = []
    alive_at_collections: list[bool] = []  # the garbage made in cycle 1, as each later collection starts
    freed_by_cycle_2: list[bool] = []
    collector_on: list[bool] = []  # in each cycle, after its poll

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            events.append(("collect", info["generation"]))
            if garbage:
                alive_at_collections.append(garbage[0]() is not None)

    real_run_cycle = service_module.run_cycle

    async def observed(*args: Any, **kwargs: Any) -> Any:
        n = sum(1 for event, _ in events if event == "poll") + 1
        events.append(("poll", n))
        if n == 2:
            freed_by_cycle_2.append(garbage[0]() is None)  # collected at this cycle's start
        report = await real_run_cycle(*args, **kwargs)
        if n == 1:
            node: dict[str, object] = {}
            node["self"] = node  # a reference cycle: only the collector frees it
            holder = _Node(node)
            garbage.append(weakref.ref(holder))
            del node, holder
        collector_on.append(gc.isenabled())
        return report

    async def scenario() -> None:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            service = Service(city.runner(poller), interval_s=0.3, max_cycles=3)
            monkeypatch.setattr(service_module, "run_cycle", observed)
            gc.callbacks.append(watch)
            try:
                await service.run()
            finally:
                gc.callbacks.remove(watch)

    assert gc.isenabled()
    asyncio.run(scenario())
    assert gc.isenabled()
    assert events == [("collect", 2),  # settle_heap's, before the cycles
                      ("collect", 0), ("poll", 1), ("collect", 0), ("poll", 2), ("collect", 0), ("poll", 3)]
    # kept through the rest of cycle 1 and the wait after it, freed by the collection at cycle 2's start
    assert alive_at_collections == [True, False] and freed_by_cycle_2 == [True]
    assert collector_on == [False, False, False]


class _Node:
    def __init__(self, ring: dict[str, object]) -> None:
        self.ring = ring
        ring["holder"] = self


def test_between_cycles_the_older_generations_are_collected_by_cpythons_rule() -> None:
    """collect_between_cycles collects the young generation, the middle one once its count of young collections
    passes its threshold, the oldest once the middle one's count passes its own (as CPython's own collector picks);
    outside one_collection_per_cycle it does nothing. The thresholds here (the conftest puts the suite's back): past 2
    young collections the next is a middle one, past 2 middle ones the next is the oldest."""
    seen: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.set_threshold(100_000, 2, 2)
    gc.collect()
    gc.callbacks.append(watch)
    try:
        with one_collection_per_cycle():
            assert not gc.isenabled()
            for _ in range(16):
                collect_between_cycles()
        assert gc.isenabled()
        collect_between_cycles()
    finally:
        gc.callbacks.remove(watch)
    assert seen == [0, 0, 0, 1] * 3 + [2, 0, 0, 0]


@pytest.mark.scenario({"name": "slow", "faults": [{"kind": "latency", "ms": [1500, 1600]}]})
def test_a_slow_cycle_never_stacks_and_is_recorded_as_lag(city: City, caplog: pytest.LogCaptureFixture) -> None:
    snmp = replace(city.settings.snmp, timeout_s=3.0, retries=0, deadline_s=10.0)
    city.settings = replace(city.settings, snmp=snmp)
    caplog.set_level(logging.INFO, logger="hotspotctl")
    # discovery first (its walks would wait 1.5 s each, one after the other: 9 s this test is not about)
    _discover_at_full_speed(city, snmp)

    async def scenario() -> Service:
        with Poller(snmp, load_profiles([])) as poller:
            runner = city.runner(poller)
            runner.memory = type(runner.memory).load(city.store, city.aps)
            service = Service(runner, interval_s=1.0, max_cycles=3)
            await service.run()
            return service

    service = asyncio.run(scenario())
    records = service.records
    assert len(records) == 3
    for before, after in itertools.pairwise(records):
        # never two at once: each cycle starts after the previous one has finished
        assert after.started_at >= before.started_at + before.duration_s - 0.01
    # every cycle takes > 1 interval (its GETs wait 1.5 s), so the runs due in the meantime are
    # skipped, counted and turned into lag
    assert all(r.duration_s > 1.5 for r in records)
    assert all(r.missed >= 1 for r in records[1:]), records
    assert all(r.lag_s >= 1.0 for r in records[1:]), records
    assert all(r.ok == APS for r in records)
    assert "overran" in caplog.text and "recorded as lag" in caplog.text
    with city.store.read() as conn:
        stored = recent_cycles(conn, 10)
    assert [(round(row["lag_s"], 3), row["missed"]) for row in stored] == [
        (round(r.lag_s, 3), r.missed) for r in records]


@pytest.mark.scenario({"name": "slowish", "faults": [{"kind": "latency", "ms": [700, 800]}]})
def test_sigterm_mid_cycle_finishes_the_writes_and_exits_0(city: City) -> None:
    _discover_at_full_speed(city, city.settings.snmp)
    env = {**os.environ, "HOTSPOTCTL_SNMP_TIMEOUT_S": "2", "HOTSPOTCTL_SNMP_RETRIES": "0"}
    command = [sys.executable, "-m", "hotspotctl", "--data-dir", str(city.data_dir), "run", "--interval", "1",
               "--log-level", "debug", "--log-format", "json"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=city.data_dir)
    lines: list[str] = []
    try:
        lines += read_until(process.stderr, '"cycle 2 started', "no second cycle started")
        process.send_signal(signal.SIGTERM)  # mid-cycle: its GETs' answers are 0.7 s away
        _, rest = process.communicate(timeout=30)
        lines.append(rest)
    finally:
        if process.poll() is None:
            process.kill()
    log = "".join(lines)
    assert process.returncode == 0, log
    # the signal came mid-cycle (however late a loaded machine delivered it): cycle 2 ended after it
    events = log.splitlines()
    stopping = next(i for i, line in enumerate(events) if '"stopping' in line)
    assert stopping < next(i for i, line in enumerate(events) if '"cycle 2: ' in line), log
    # cycle 2 finished its writes: two cycles in the store, two whole batches in the spool
    store = Store.open(city.settings.store_url)
    with store.read() as conn:
        stored = recent_cycles(conn, 10)
    store.close()
    assert [row["ok"] for row in stored] == [APS, APS]
    batches = _spooled_cycles(city.settings.spool_dir)
    assert [b["ap_status"] for b in batches] == [APS, APS]
    assert [b.get("rates", 0) for b in batches] == [0, APS]
    assert [sum(b.values()) - b.get("rates", 0) for b in batches] == [row["points"] for row in stored]
    assert '"cycle 3 started' not in log
