#!/usr/bin/env python3
"""A whole poll cycle of the city: 35,350 APs against the simulator, on this machine.

What one scheduled cycle of ``hotspotctl run`` does, timed: poll every AP (SNMPv2c, and SNMPv3 for the
simulator's 1 %, on our engine), compute rates, evaluate (the rollup by district
and site), encode every figure as line protocol, append it to the spool and write the counter
states to the store. Discovery is done first and not timed.

Two scenarios, in this order, against ``hotspotctl simulate`` running as its own process
(so the poller's RSS and CPU below are the poller's alone):

  healthy   every AP answers (scenario none); snmp defaults (timeout 1 s, 2 retries)
  degraded  5 % of the APs dead, 20-80 ms latency on every other one; timeout 1 s, 1 retry.
            The simulator is restarted with this scenario after discovery, so the dead APs
            are APs the poller knew and expects: the first cycle tries each with its full
            retries (the bound the issue sets: timeout x (retries + 1) + 5 s); later cycles
            try them again with the same retries (issue 15), then back off, as in production.

Cycle 1 of each scenario gives no rates (first sample), so figures are from cycles 2..N for
healthy and from the cycle right after the faults start (and after it) for degraded.

Ping (issue 18): every cycle pings every AP's address alongside the poll (``ping`` settings, their
defaults: 3 echoes 500 ms apart, 4,000 APs in flight; the simulator's addresses are loopback's, so
the kernel answers). The healthy scenario runs ``--cycles`` cycles with ping, more until ``--settle``
cycles (6) have run, then ``--cycles`` pairs alternating without and with it (the same runner, only
``ping.enabled`` toggled): the poller's CPU per AP with and without ping, and its ratio, come from those
alternating cycles of the same run. They start in a service's steady state, as cycle_phases.py's phases do:
while the simulated city's verdicts settle, cycles 1-5 write 16,000-35,000 of them (when the pairs started after
4 cycles, the first without ping wrote 19,175); ``health_rows_with`` and ``health_rows_without`` in the JSON say
what each alternating cycle wrote.

Against the bare exchange (issue 19's target: a whole cycle <= 1.5x its CPU per AP): alternating with
those cycles, the same APs polled alone (``poller.poll`` of every AP with a layout: SNMP only, no rates,
evaluation, encoding or writes) and their hosts pinged alone (the cycle's pinger); ``ratio`` in the JSON
compares this process's CPU over the whole ``runner.cycle()`` (spool write and commit included) with them,
medians of the alternating runs.

Baseline, in this process: the same GETs to --baseline-aps of the same simulated APs through
pysnmp 7 (our PysnmpDevice, 64 at a time), poller CPU per AP, against ours for the same APs.

Poller CPU is time.process_time() of this process around each cycle; RSS is this process's
peak (ru_maxrss); the simulator's CPU per answered GET is read from /proc for its processes.
Prints figures; asserts nothing about time.

--scale K polls K copies of the city (``hotspotctl simulate --scale K``: --aps per copy, so K=10 is
353,500 APs); --healthy-only stops after the healthy cycles (no ping comparison, baseline or degraded
scenario), which is what a K=10 run can afford. With --linearity, the city (copy 1) and the K copies are
polled by two runners in this one process, their cycles alternating: the K cities' CPU against the city's
(issue 19's target: at most K times), a ratio from one run (``linearity``).

The simulator's day starts at 19:00 local time whenever the benchmark runs (``--start-hour``, SIM_START_HOUR below):
the city's load follows the hour, and the cycle's own work with it.

    .venv/bin/python benchmarks/cycle_bench.py [--aps 35350] [--cycles 4] [--scale 1] [--start-hour 19] [--format json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotctl.bundled import CDMX_INVENTORY, bundled_path  # noqa: E402

DEGRADED = """\
name: bench-degraded
description: 5 % of the APs dead, 20-80 ms of latency on all the others
faults:
  - kind: down
    select: {fraction: 0.05}
  - kind: latency
    ms: [20, 80]
"""


def hotspotctl(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "hotspotctl", "--data-dir", str(data_dir), *args]


def proc_cpu(root_pid: int) -> float:
    """utime + stime (seconds) of a process and its children, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root_pid or ppid == root_pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# The simulated day's hour every run starts at (``hotspotctl simulate --start-hour``; by default it is the hour the
# run starts). The city's clients follow the hour, and with them how many APs are under their per-user target: the
# cycle's own work with them (a degraded AP's verdict costs more than a steady one's). Pinned, runs made at any time
# of day compare. 19:00: the evening peak of most programmes' curves (simulate/traffic.py).
SIM_START_HOUR = 19.0


class SimProcess:
    """``hotspotctl simulate`` in the background, its day starting at ``start_hour``; its JSON summary read from
    stdout."""

    def __init__(self, data_dir: Path, env: dict[str, str], *args: str, start_hour: float = SIM_START_HOUR) -> None:
        command = hotspotctl(data_dir, "simulate", "--assign", "--format", "json", "--start-hour", str(start_hour),
                             *args)
        self.start_hour, self.started = start_hour, time.time()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        self.summary = self._read_json()

    def _read_json(self) -> dict[str, Any]:
        decoder = json.JSONDecoder()
        text = ""
        assert self.process.stdout is not None
        while True:
            chunk = self.process.stdout.readline()
            if not chunk:
                raise RuntimeError(f"simulator exited: {self.process.stderr.read() if self.process.stderr else ''}")
            text += chunk
            with contextlib.suppress(json.JSONDecodeError):
                value, _ = decoder.raw_decode(text.strip())
                return value

    def cpu(self) -> float:
        return proc_cpu(self.process.pid)

    def hour_now(self) -> float:
        """The simulated local hour now, for a simulator that carries on this one's day. Taken from this process's
        clock, not the simulator's: off by the difference of the two start-ups (3.2-3.6 s from launch to serving
        for the city, four launches), which moves an AP's counters by under a second's traffic, not by the
        minutes the day had run."""
        return (self.start_hour + (time.time() - self.started) / 3600) % 24

    def stop(self) -> dict[str, Any]:
        self.process.send_signal(signal.SIGTERM)
        final = self._read_json()
        self.process.wait(30)
        return final["stats"]


async def measure(args: argparse.Namespace, data_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    from hotspotctl.collectors.poller import Poller
    from hotspotctl.collectors.profiles import load_profiles
    from hotspotctl.inventory.fleet import CrewZones, Fleet
    from hotspotctl.scheduling.cycle import discover_aps
    from hotspotctl.scheduling.service import CycleRunner, one_collection_per_cycle, settle_heap
    from hotspotctl.settings import load_settings
    from hotspotctl.sinks.influx import InfluxSink
    from hotspotctl.sinks.spool import Spool
    from hotspotctl.store import Store

    os.environ.update(env)
    settings = load_settings(flags={"data_dir": ("--data-dir", str(data_dir))}).settings
    # the poller settings for the dead-AP bound, for both scenarios (one poller throughout,
    # as in production: APs die under a running poller, which does not start afresh)
    settings = replace(settings, snmp=replace(settings.snmp, timeout_s=1.0, retries=1))
    # a port of its own: on the default one (16161) SO_REUSEPORT would share any other simulator's datagrams
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    common = ("--count", str(args.aps), "--seed", "1", "--processes", str(args.processes), "--scale", str(args.scale),
              "--port", str(port))
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}

    profiles = load_profiles([])
    spool = Spool(data_dir / "spool", max_bytes=8 << 30)
    degraded_file = data_dir / "bench-degraded.yaml"
    degraded_file.write_text(DEGRADED)
    with Poller.from_settings(settings, profiles) as poller:
        # --assign: addresses in the store
        sim = SimProcess(data_dir, env, "--scenario", "none", *common, start_hour=args.start_hour)
        try:
            store = Store.open(settings.store_url)
            zones = CrewZones.from_settings(settings.crew_zones)
            aps = simulated_aps(Fleet.load(store, zones), args.aps, args.scale)
            if sum(1 for ap in aps if ap.mgmt_address) != len(aps):
                raise RuntimeError("the simulator did not assign addresses to every AP")
            started = time.perf_counter()
            cpu = time.process_time()
            found = await discover_aps(store, aps, settings.snmp, profiles, poller)
            results["discovery"] = {
                "aps": len(aps), "discovered": sum(1 for r in found.values() if not hasattr(r, "kind")),
                "wall_s": round(time.perf_counter() - started, 2), "cpu_s": round(time.process_time() - cpu, 2)}
            del found
            if args.linearity:
                results["linearity"] = await linearity(args, aps, store, settings, profiles, zones, spool, poller, sim)
                results["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # both fleets
                return results
            runner = CycleRunner(store, settings, profiles, aps, zones, InfluxSink(settings.influx, spool), poller)
            settle_heap()  # as Service.run: the fleet frozen, and the collector run once a cycle, at its start
            # and its counter states checkpointed (schedule.checkpoint_cycles), as Service.run does
            with one_collection_per_cycle(), runner.checkpointing(settings.schedule.checkpoint_cycles):
                healthy = [await timed(runner, sim) for _ in range(args.cycles)]
                if not args.healthy_only:
                    for _ in range(args.settle - args.cycles):  # a steady state first (``--settle``)
                        await runner.cycle()
                    with_ping, without_ping, bare = [], [], []
                    for _ in range(args.cycles):
                        runner.settings = replace(settings, ping=replace(settings.ping, enabled=False))
                        without_ping.append(await timed(runner, sim))
                        runner.settings = settings
                        with_ping.append(await timed(runner, sim))
                        # alternating: the same machine speed; the collector as in the cycles (off but at their starts)
                        bare.append(await bare_exchange(runner, poller, settings))
                    results["ping"] = ping_figures(settings, with_ping, without_ping, healthy)
                    results["ratio"] = ratio_figures(with_ping, without_ping, bare)
                    if args.profile:  # one more healthy cycle, with ping, under cProfile
                        import cProfile

                        profiler = cProfile.Profile()
                        profiler.enable()
                        await runner.cycle()
                        profiler.disable()
                        profiler.dump_stats(args.profile)
                    # the same GETs through pysnmp, for a ratio measured here and now
                    results["baseline"] = await baseline(runner, poller, args.baseline_aps)
        finally:
            sim_stats = sim.stop()
        results["healthy"] = summarize("healthy", healthy[1:], sim_stats)
        if args.degraded and not args.healthy_only:
            # the day goes on where the first simulator's had reached: an AP's counters are the traffic of its
            # simulated day since its boot, so a day started again at --start-hour would move them back
            sim = SimProcess(data_dir, env, "--scenario", str(degraded_file), *common,
                             start_hour=sim.hour_now())
            try:
                degraded = [await timed(runner, sim) for _ in range(args.cycles)]
            finally:
                sim_stats = sim.stop()
            results["degraded"] = summarize("degraded", degraded, sim_stats)
            results["degraded"]["bound_s"] = settings.snmp.timeout_s * (settings.snmp.retries + 1) + 5
    results["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return results


async def linearity(args: argparse.Namespace, aps: list[Any], store: Any, settings: Any, profiles: Any, zones: Any,
                    spool: Any, poller: Any, sim: SimProcess) -> dict[str, Any]:
    """The city's cycles and the K cities' alternating in this one process (issue 19: the K cities' CPU at most K
    times the city's): two runners on one simulator and one store, one for copy 1 (the city's own APs, the first
    of ``aps``), one for all K copies, each with its own poller (the engine's memory of each address), caches
    and evaluator, as two services would have (the K cities' runner has discovery's poller). Alternating
    cancels what the machine's speed does between them; each runner first runs ``--warmup`` cycles, until its
    counters, health windows and caches are steady (a cycle then writes no health row but the changes). Each
    pair of the default cycles (ping on) is followed by a pair without ping (``cpu_ratio_no_ping``).

    One thing two services would not share is the collector: a runner's cycle starts with a collection
    (``collect_between_cycles``), which here would also walk what the other runner's last cycle left alive. So
    after every cycle, untimed, a full collection moves what is alive out of the young generations: each timed
    cycle's own collection then finds little, on both sides (at the start of a cycle the collector costs about
    the same per AP at both sizes: docs/performance.md). Without it the ten cities' objects made the city's
    cycles here 5.6 CPU s instead of 4.5, and the ratio 8.3x instead of 10.0x. ``gc_in_cycles_s``: the
    collector's CPU inside the timed cycles (``gc.callbacks``), per fleet; ``gc_between_s``: the untimed
    collections'."""
    from hotspotctl.collectors.poller import Poller
    from hotspotctl.scheduling.service import CycleRunner
    from hotspotctl.sinks.influx import InfluxSink

    city = aps[:len(aps) // args.scale]
    with Poller.from_settings(settings, profiles) as city_poller:  # its own: one engine's memory per fleet
        runners = {name: CycleRunner(store, settings, profiles, fleet, zones, InfluxSink(settings.influx, spool), by)
                   for name, fleet, by in (("city", city, city_poller), ("all", aps, poller))}
        return await alternate(args, runners, settings, sim)


async def alternate(args: argparse.Namespace, runners: dict[str, Any], settings: Any,
                    sim: SimProcess) -> dict[str, Any]:
    """``linearity``'s cycles: the warm-up of each runner, then the pairs, alternating (see there)."""
    import gc

    from hotspotctl.scheduling.service import one_collection_per_cycle, settle_heap

    city, aps = runners["city"].aps, runners["all"].aps
    settle_heap()
    cpu: dict[str, list[float]] = {"city": [], "all": [], "city_no_ping": [], "all_no_ping": []}
    ok: dict[str, list[int]] = {"city": [], "all": []}
    collector = {"city": 0.0, "all": 0.0, "between": 0.0}
    started: list[float] = []
    counting = ["between"]

    def count_collections(phase: str, info: dict[str, Any]) -> None:  # the collector's CPU, by whose it is
        if phase == "start":
            started.append(time.process_time())
        elif started:
            collector[counting[0]] += time.process_time() - started.pop()

    def settle() -> None:  # untimed: what is alive leaves the young generations (see above)
        counting[0] = "between"
        gc.collect()

    gc.callbacks.append(count_collections)
    try:
        with one_collection_per_cycle(), contextlib.ExitStack() as checkpoints:
            for runner in runners.values():  # as Service.run
                checkpoints.enter_context(runner.checkpointing(settings.schedule.checkpoint_cycles))
            for name in ("city", "all"):
                for _ in range(args.warmup):
                    await timed(runners[name], sim)
                    settle()
            collector.update(city=0.0, all=0.0, between=0.0)
            without_ping = replace(settings, ping=replace(settings.ping, enabled=False))
            for _ in range(args.cycles):
                for pinging in (True, False):  # the default cycle, then the same without ping
                    for name in ("city", "all"):
                        runners[name].settings = settings if pinging else without_ping
                        counting[0] = name
                        record, _, _, _, whole_cpu, _ = await timed(runners[name], sim)
                        settle()
                        cpu[name if pinging else f"{name}_no_ping"].append(whole_cpu)
                        ok[name].append(record.ok)
    finally:
        gc.callbacks.remove(count_collections)
    pairs = [a / c for c, a in zip(cpu["city"], cpu["all"], strict=True)]
    pairs_no_ping = [a / c for c, a in zip(cpu["city_no_ping"], cpu["all_no_ping"], strict=True)]
    return {"city_aps": len(city), "all_aps": len(aps), "scale": args.scale, "warmup_cycles": args.warmup,
            "city_cpu_s": [round(c, 3) for c in cpu["city"]], "all_cpu_s": [round(c, 3) for c in cpu["all"]],
            "city_ok": ok["city"], "all_ok": ok["all"],
            "gc_in_cycles_s": {"city": round(collector["city"], 3), "all": round(collector["all"], 3)},
            "gc_between_s": round(collector["between"], 3),
            "city_us_per_ap": round(statistics.median(cpu["city"]) / len(city) * 1e6, 1),
            "all_us_per_ap": round(statistics.median(cpu["all"]) / len(aps) * 1e6, 1),
            "cpu_ratio_by_pair": [round(r, 2) for r in pairs], "cpu_ratio": round(statistics.median(pairs), 2),
            "city_no_ping_cpu_s": [round(c, 3) for c in cpu["city_no_ping"]],
            "all_no_ping_cpu_s": [round(c, 3) for c in cpu["all_no_ping"]],
            "cpu_ratio_no_ping_by_pair": [round(r, 2) for r in pairs_no_ping],
            "cpu_ratio_no_ping": round(statistics.median(pairs_no_ping), 2), "target": args.scale}


def simulated_aps(fleet: Any, count: int, scale: int) -> list[Any]:
    """The APs ``simulate --count count --scale scale`` serves, from the store, in its order."""
    from hotspotctl.simulate.scale import copy_id, originals
    from hotspotctl.simulate.simulator import spread

    if scale == 1:
        return spread(list(fleet.aps.values()), count)
    city = spread([ap for ap in originals(list(fleet.aps.values())) if not ap.is_controller], count)
    return [fleet.aps[copy_id(ap.id, copy)] for copy in range(1, scale + 1) for ap in city]


Cycle = tuple[Any, float, int, int, float, int]


async def timed(runner: Any, sim: SimProcess) -> Cycle:
    """One cycle, the simulator's CPU seconds over it, the APs pinged and answering ping in it, and this
    process's CPU over the whole ``runner.cycle()`` (the record's ``cpu_s`` stops before the spool write
    and the store's commit, which are the cycle's too: the ratio to the bare exchange counts them)."""
    before = sim.cpu()
    cpu = time.process_time()
    record = await runner.cycle()
    whole_cpu = time.process_time() - cpu
    spent = sim.cpu() - before
    outcomes = runner.last_report.outcomes if runner.last_report is not None else []
    pinged = sum(1 for o in outcomes if o.ping is not None and o.ping.sent)
    answered = sum(1 for o in outcomes if o.ping is not None and o.ping.answered)
    evaluation = runner.last_evaluation
    return record, spent, pinged, answered, whole_cpu, evaluation.health_written if evaluation is not None else 0


def ping_figures(settings: Any, with_ping: list[Cycle],
                 without_ping: list[Cycle],
                 healthy: list[Cycle]) -> dict[str, Any]:
    """The poller's CPU per AP with and without ping, from the alternating cycles, and what was pinged."""
    def per_ap(cycles: list[Cycle]) -> float:
        return statistics.median(r.cpu_s / max(r.aps - r.skipped, 1) for r, *_ in cycles) * 1e6

    on, off = per_ap(with_ping), per_ap(without_ping)
    return {"count": settings.ping.count, "interval_ms": settings.ping.interval_ms,
            "max_in_flight": settings.ping.max_in_flight,
            "pinged": [c[2] for c in healthy + with_ping], "answered": [c[3] for c in healthy + with_ping],
            "cycles_s_with": [round(r.duration_s, 3) for r, *_ in with_ping],
            "cycles_s_without": [round(r.duration_s, 3) for r, *_ in without_ping],
            "cycles_cpu_s_with": [round(r.cpu_s, 3) for r, *_ in with_ping],
            "cycles_cpu_s_without": [round(r.cpu_s, 3) for r, *_ in without_ping],
            "poller_us_per_ap_with": round(on, 1), "poller_us_per_ap_without": round(off, 1),
            "ping_us_per_ap": round(on - off, 1), "cpu_ratio": round(on / off, 3) if off else None}


async def bare_exchange(runner: Any, poller: Any, settings: Any) -> dict[str, Any]:
    """The bare exchange with the cycle's APs, CPU per AP: (a) ``poller.poll`` of every AP the cycle polls
    with a stored layout (SNMP alone: no rates, evaluation, encoding or writes); (b) their hosts pinged
    alone with the cycle's ping settings (``ping_hosts``, as the cycle's pinger)."""
    from hotspotctl.scheduling.cycle import over_ssh, ping_targets, pinger_for

    stored = runner.memory.discoveries
    polled = [ap for ap in runner.aps if not ap.managed and not over_ssh(ap) and ap.id in stored]
    # v2c and the rest (SNMPv3: the simulator's 1 %; through pysnmp until 2026-12, about as much CPU as all the
    # v2c APs) polled one after the other on our engine, so the JSON shows both
    v2c = [(runner.memory.target(ap), stored[ap.id].discovery, False) for ap in polled
           if ap.snmp_auth in (None, "default")]
    v3 = [(runner.memory.target(ap), stored[ap.id].discovery, False) for ap in polled
          if ap.snmp_auth not in (None, "default")]
    ok, spent = 0, []
    for work in (v2c, v3):
        cpu = time.process_time()
        results, _ = await poller.poll(work)
        spent.append(time.process_time() - cpu)
        ok += sum(1 for r in results if hasattr(r, "in_octets"))
        del results
    snmp_cpu = sum(spent)
    hosts = list(ping_targets(runner.aps))
    pinger = pinger_for(settings.ping)
    assert pinger is not None, "ping.enabled is off: no bare ping to measure"
    cpu = time.process_time()
    pinged = await pinger(hosts)
    ping_cpu = time.process_time() - cpu
    answered = sum(1 for r in pinged.values() if r.answered)
    return {"snmp_aps": len(polled), "snmp_ok": ok, "snmp_cpu_s": snmp_cpu, "v2c_aps": len(v2c),
            "v2c_cpu_s": spent[0], "v3_aps": len(v3), "v3_cpu_s": spent[1],
            "ping_hosts": len(hosts), "ping_answered": answered, "ping_cpu_s": ping_cpu}


def ratio_figures(with_ping: list[Cycle], without_ping: list[Cycle],
                  bare: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole cycle's poller CPU per AP against the bare exchange's, medians of the alternating runs."""
    def per_ap(cycles: list[Cycle]) -> float:  # the whole cycle's CPU
        return statistics.median(c[4] / max(c[0].aps - c[0].skipped, 1) for c in cycles) * 1e6

    snmp = statistics.median(b["snmp_cpu_s"] / max(b["snmp_aps"], 1) for b in bare) * 1e6
    ping = statistics.median(b["ping_cpu_s"] / max(b["ping_hosts"], 1) for b in bare) * 1e6
    cycle, cycle_without = per_ap(with_ping), per_ap(without_ping)
    return {"bare_snmp_us_per_ap": round(snmp, 1), "bare_ping_us_per_ap": round(ping, 1),
            "bare_us_per_ap": round(snmp + ping, 1), "cycle_us_per_ap": round(cycle, 1),
            "cycle_ratio": round(cycle / (snmp + ping), 3),
            "cycle_us_per_ap_without_ping": round(cycle_without, 1),
            "cycle_ratio_without_ping": round(cycle_without / snmp, 3), "target": 1.5,
            "bare_snmp_aps": bare[0]["snmp_aps"], "bare_snmp_ok": [b["snmp_ok"] for b in bare],
            "bare_snmp_v3_aps": bare[0]["v3_aps"],
            "bare_snmp_v2c_us_per_ap": round(statistics.median(b["v2c_cpu_s"] / max(b["v2c_aps"], 1)
                                                               for b in bare) * 1e6, 1),
            "bare_snmp_v3_us_per_ap": round(statistics.median(b["v3_cpu_s"] / b["v3_aps"] for b in bare) * 1e6, 1)
            if all(b["v3_aps"] for b in bare) else None,
            "bare_ping_hosts": bare[0]["ping_hosts"], "bare_ping_answered": [b["ping_answered"] for b in bare],
            "cycles_cpu_s_with": [round(c[4], 3) for c in with_ping],
            "cycles_cpu_s_without": [round(c[4], 3) for c in without_ping],
            # health verdicts each of those cycles wrote: a few dozen in a service's steady state
            "health_rows_with": [c[5] for c in with_ping], "health_rows_without": [c[5] for c in without_ping],
            "bare_snmp_cpu_s": [round(b["snmp_cpu_s"], 3) for b in bare],
            "bare_ping_cpu_s": [round(b["ping_cpu_s"], 3) for b in bare]}


def summarize(name: str, cycles: list[Cycle], sim_stats: dict[str, Any]) -> dict[str, Any]:
    first = cycles[0][0]
    answered = sum(r.ok for r, *_ in cycles)
    sim_cpu = sum(c for _, c, *_ in cycles)
    return {
        "scenario": name, "aps": first.aps, "aps_ok": first.ok, "timed_out": first.timed_out,
        "cycle_s": round(first.duration_s, 3), "poller_cpu_s": round(first.cpu_s, 3),
        "cycles_s": [round(r.duration_s, 3) for r, *_ in cycles],
        "cycles_cpu_s": [round(r.cpu_s, 3) for r, *_ in cycles],
        "median_cycle_s": round(statistics.median(r.duration_s for r, *_ in cycles), 3),
        "poller_us_per_ap": round(statistics.median(r.cpu_s / max(r.aps - r.skipped, 1) for r, *_ in cycles) * 1e6,
                                  1),
        "simulator_us_per_answer": round(sim_cpu / answered * 1e6, 1) if answered else None,
        "simulator_answered": sim_stats.get("answered"),
    }


async def baseline(runner: Any, poller: Any, count: int) -> dict[str, Any]:
    """CPU per AP for the same GETs through pysnmp (PysnmpDevice), 64 at a time, vs our engine."""
    from hotspotctl.collectors.poller import plan_poll
    from hotspotctl.errors import CollectError
    from hotspotctl.scheduling.cycle import target_for

    work = []
    for ap in runner.aps:
        stored = runner.memory.discoveries.get(ap.id)
        if stored is not None and ap.snmp_auth in (None, "default"):
            work.append((target_for(ap), stored.discovery))
        if len(work) == count:
            break
    gate = asyncio.Semaphore(64)

    async def one(target: Any, discovery: Any) -> bool:
        plan = plan_poll(discovery)
        async with gate:
            address = await poller.address(target)
            try:
                got = await poller.device(target, address).get(plan.oids)
            except CollectError:
                return False
        return len(got) == len(plan.oids)

    cpu = time.process_time()
    wall = time.perf_counter()
    ok = sum(await asyncio.gather(*(one(t, d) for t, d in work)))
    pysnmp_cpu, pysnmp_wall = time.process_time() - cpu, time.perf_counter() - wall
    cpu = time.process_time()
    wall = time.perf_counter()
    results, _ = await poller.poll([(t, d, False) for t, d in work])
    ours_cpu, ours_wall = time.process_time() - cpu, time.perf_counter() - wall
    ours_ok = sum(1 for r in results if hasattr(r, "in_octets"))
    return {"aps": len(work), "pysnmp_ok": ok, "ours_ok": ours_ok,
            "pysnmp_us_per_ap": round(pysnmp_cpu / len(work) * 1e6, 1),
            "ours_us_per_ap": round(ours_cpu / len(work) * 1e6, 1),
            "cpu_ratio": round(pysnmp_cpu / ours_cpu, 1) if ours_cpu else None,
            "pysnmp_wall_s": round(pysnmp_wall, 3), "ours_wall_s": round(ours_wall, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aps", type=int, default=35_350, help="APs to simulate and poll (spread over the city)")
    parser.add_argument("--cycles", type=int, default=4, help="cycles per scenario")
    parser.add_argument("--start-hour", type=float, default=SIM_START_HOUR,
                        help="the simulated day's local hour the simulator starts at (the city's load follows it)")
    parser.add_argument("--settle", type=int, default=6,
                        help="cycles run (with ping) before the alternating ones, --cycles included: the health "
                             "verdicts' steady state")
    parser.add_argument("--processes", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help="simulator processes")
    parser.add_argument("--scale", type=int, default=1, help="copies of the city (--aps APs each)")
    parser.add_argument("--healthy-only", action="store_true", help="only the healthy cycles (for large --scale)")
    parser.add_argument("--baseline-aps", type=int, default=2000, help="APs in the pysnmp comparison")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--no-degraded", dest="degraded", action="store_false",
                        help="the healthy scenario only (no degraded cycles)")
    parser.add_argument("--profile", metavar="FILE", help="cProfile one more healthy cycle (with ping) into FILE")
    parser.add_argument("--linearity", action="store_true",
                        help="with --scale K: the city's cycles (copy 1) and the K cities' alternating, one process; "
                             "--cycles pairs with ping and as many without, after --warmup cycles of each: the CPU "
                             "ratio (target <= K)")
    parser.add_argument("--warmup", type=int, default=6, help="--linearity: unmeasured cycles of each fleet first")
    args = parser.parse_args()
    if args.linearity and args.scale < 2:
        parser.error("--linearity compares the city with --scale K copies of it: give --scale 2 or more")
    env = {**os.environ, "HOTSPOTCTL_SIM_V3_AUTH_PASSWORD": "bench-auth-" + os.urandom(6).hex(),
           "HOTSPOTCTL_SIM_V3_PRIV_PASSWORD": "bench-priv-" + os.urandom(6).hex()}
    with tempfile.TemporaryDirectory(prefix="hotspotctl-cycle-bench-") as tmp:
        data_dir = Path(tmp)
        subprocess.run(hotspotctl(data_dir, "--quiet", "inventory", "import", str(bundled_path(*CDMX_INVENTORY))),
                       check=True, env=env, stdout=subprocess.DEVNULL)
        results = asyncio.run(measure(args, data_dir, env))
    if args.linearity:
        lin = {**results["linearity"], "discovery": results["discovery"], "rss_mb": results["rss_mb"],
               "machine": results["machine"]}
        if args.format == "json":
            print(json.dumps(lin, indent=2))
        else:
            print(f"discovery (not timed in cycles): {results['discovery']}")
            print(f"the city ({lin['city_aps']} APs) and {args.scale} cities ({lin['all_aps']} APs), alternating, "
                  f"{args.cycles} pairs after {args.warmup} cycles each: CPU s city {lin['city_cpu_s']}, "
                  f"{args.scale} cities {lin['all_cpu_s']}; {lin['city_us_per_ap']} vs {lin['all_us_per_ap']} µs/AP; "
                  f"ratio by pair {lin['cpu_ratio_by_pair']}, median {lin['cpu_ratio']}x (target <= {args.scale}x); "
                  f"without ping: CPU s city {lin['city_no_ping_cpu_s']}, {args.scale} cities "
                  f"{lin['all_no_ping_cpu_s']}, ratio by pair {lin['cpu_ratio_no_ping_by_pair']}, median "
                  f"{lin['cpu_ratio_no_ping']}x")
        return 0
    if args.format == "json":
        healthy = results["healthy"]
        print(json.dumps({"aps": healthy["aps"], "aps_ok": healthy["aps_ok"], "cycle_s": healthy["cycle_s"],
                          "poller_cpu_s": healthy["poller_cpu_s"], "poller_us_per_ap": healthy["poller_us_per_ap"],
                          "rss_mb": results["rss_mb"], "scale": args.scale, "scenario": "healthy",
                          "scenarios": [results[s] for s in ("healthy", "degraded") if s in results],
                          "discovery": results["discovery"], "baseline": results.get("baseline"),
                          "ping": results.get("ping"), "ratio": results.get("ratio"),
                          "machine": results["machine"]}, indent=2))
        return 0
    if args.healthy_only:
        h = results["healthy"]
        print(f"discovery (not timed in cycles): {results['discovery']}")
        print(f"healthy, scale {args.scale}: {h['aps']} APs, {h['aps_ok']} ok: cycle {h['cycle_s']} s (cycles "
              f"{h['cycles_s']}), poller CPU {h['poller_cpu_s']} s ({h['poller_us_per_ap']} µs/AP); "
              f"poller peak RSS {results['rss_mb']} MB")
        return 0
    b = results["baseline"]
    print(f"discovery (not timed in cycles): {results['discovery']}")
    for s in (results[name] for name in ("healthy", "degraded") if name in results):
        print(f"{s['scenario']:<9} {s['aps']} APs, {s['aps_ok']} ok, {s['timed_out']} timed out: cycle "
              f"{s['cycle_s']} s (cycles {s['cycles_s']}), poller CPU {s['poller_cpu_s']} s "
              f"({s['poller_us_per_ap']} µs/AP), simulator {s['simulator_us_per_answer']} µs/answer")
    if "degraded" in results:
        print(f"degraded bound: timeout x (retries + 1) + 5 s = {results['degraded']['bound_s']} s")
    p = results["ping"]
    print(f"ping ({p['count']} echoes, {p['interval_ms']:g} ms apart, {p['max_in_flight']} in flight): pinged "
          f"{p['pinged']}, answered {p['answered']}; poller CPU {p['poller_us_per_ap_with']} µs/AP with ping vs "
          f"{p['poller_us_per_ap_without']} without ({p['cpu_ratio']}x, {p['ping_us_per_ap']} µs/AP for the ping); "
          f"cycles with {p['cycles_s_with']} s, without {p['cycles_s_without']} s")
    r = results["ratio"]
    print(f"against the bare exchange ({r['bare_snmp_aps']} APs polled alone, {r['bare_ping_hosts']} hosts "
          f"pinged alone): "
          f"cycle {r['cycle_us_per_ap']} µs/AP vs bare {r['bare_us_per_ap']} (SNMP {r['bare_snmp_us_per_ap']} + ping "
          f"{r['bare_ping_us_per_ap']}): {r['cycle_ratio']}x; without ping {r['cycle_us_per_ap_without_ping']} vs "
          f"{r['bare_snmp_us_per_ap']}: {r['cycle_ratio_without_ping']}x (target {r['target']}x)")
    print(f"poller peak RSS {results['rss_mb']} MB")
    print(f"baseline, {b['aps']} APs ({b['pysnmp_ok']} answered pysnmp, {b['ours_ok']} ours): "
          f"pysnmp {b['pysnmp_us_per_ap']} µs/AP vs ours {b['ours_us_per_ap']} µs/AP ({b['cpu_ratio']}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
