#!/usr/bin/env python3
"""Where a cycle's own work goes: each phase after the poll, timed alone on one captured cycle of the city.

``cycle_bench.py`` gives the whole cycle against its bare exchange; this splits what the cycle adds to the
exchange (issue 19: that part must shrink for the 1.5x target without ping). It sets up as cycle_bench does
(the bundled inventory, ``hotspotctl simulate`` as its own process, discovery, a ``CycleRunner`` with the
heap settled as ``Service.run`` does), runs ``--warm`` cycles without ping, keeps the last cycle's inputs
(``fold``'s arguments, the report) and then times each phase alone ``--reps`` times, CPU time of this process.
The default of 6 warm cycles is a service's steady state: the simulated city's health verdicts settle by then
(each AP's first verdict, its first ``goods``, its ``below`` readings filling the window, the APs under target
turning degraded), so the commit writes a few dozen health rows, not the 16,000-35,000 of cycles 1-5
(``health_rows`` in the output):

  fold            rates and new states for every AP (``scheduling.cycle.fold``)
  evaluate        the health verdicts (``Evaluator.evaluate``, nothing saved)
  rollup          the fleet and district tallies (a scheduled cycle tallies no sites)
  encode          every AP's line protocol (``CycleRunner.encode``)
  spool           those lines appended to the spool in the sink's batches (gzip, fsync)
  commit_states   every AP's counter state written to the store, in a committed transaction
  commit          the cycle's whole commit (states and evaluation), counter states checkpointed as Service.run
                  does (``schedule.checkpoint_cycles``): a turn's routine states and every changed one

Each figure is µs of CPU per AP, the best and the median of the reps. The phases run on the same data each
time: the evaluator's memory has moved on by one cycle after the first rep, as it would have in production.
``--database-url`` runs the store phases on PostgreSQL instead of the data directory's SQLite (the server's
own CPU is not counted). Prints figures; asserts nothing about time.

``--scale K`` splits a cycle of K copies of the city (``hotspotctl simulate --scale K``): run it beside a run of
the city to see which phase costs more per AP in the larger fleet (issue 19's linear cost).

The simulated day starts at 19:00 (``--start-hour``, as cycle_bench.py); the JSON gives the verdicts of the last
warm cycle by state (``verdicts``): a degraded AP's verdict costs more than a steady one's.

    .venv/bin/python benchmarks/cycle_phases.py [--aps 35350] [--scale 1] [--warm 6] [--reps 5] [--start-hour 19]
                                                [--format json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cycle_bench  # noqa: E402

from hotspotctl.bundled import CDMX_INVENTORY, bundled_path  # noqa: E402


def timed(run: Callable[[], Any], reps: int) -> list[float]:
    spent = []
    for _ in range(reps):
        gc.collect()
        started = time.process_time()
        run()
        spent.append(time.process_time() - started)
    return spent


async def measure(args: argparse.Namespace, data_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    from hotspotctl.collectors.poller import Poller
    from hotspotctl.collectors.profiles import load_profiles
    from hotspotctl.evaluate.rollup import rollup
    from hotspotctl.inventory.fleet import CrewZones, Fleet
    from hotspotctl.scheduling import cycle
    from hotspotctl.scheduling.service import CycleRunner, settle_heap
    from hotspotctl.settings import load_settings
    from hotspotctl.sinks.influx import InfluxSink
    from hotspotctl.sinks.spool import Spool
    from hotspotctl.store import Store

    os.environ.update(env)
    settings = load_settings(flags={"data_dir": ("--data-dir", str(data_dir))}).settings
    if args.database_url:
        settings = replace(settings, database_url=args.database_url)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    profiles = load_profiles([])
    spool = Spool(data_dir / "spool", max_bytes=8 << 30)
    captured: dict[str, Any] = {}
    fold = cycle.fold

    def keep_fold(polled: Any, gathered: Any, memory: Any, **named: Any) -> Any:
        # run_cycle calls the module's fold: keep its arguments, the memory as it is now. The cycle moves the
        # memory's states on to this cycle's samples, and a fold of them against themselves is every AP's
        # clock_skew path, no rates computed (before: 6.0 µs per AP against 8.0 for the real fold, one captured cycle)
        captured["fold"] = ((polled, gathered, cycle.CycleMemory(dict(memory.discoveries), dict(memory.states),
                                                                 memory.layouts)), named)
        return fold(polled, gathered, memory, **named)

    cycle.fold = keep_fold
    checkpoints = contextlib.ExitStack()
    try:
        with Poller.from_settings(settings, profiles) as poller:
            sim = cycle_bench.SimProcess(data_dir, env, "--scenario", "none", "--count", str(args.aps), "--seed", "1",
                                         "--processes", str(args.processes), "--scale", str(args.scale),
                                         "--port", str(port), start_hour=args.start_hour)
            try:
                store = Store.open(settings.store_url)
                zones = CrewZones.from_settings(settings.crew_zones)
                aps = cycle_bench.simulated_aps(Fleet.load(store, zones), args.aps, args.scale)
                await cycle.discover_aps(store, aps, settings.snmp, profiles, poller)
                runner = CycleRunner(store, settings, profiles, aps, zones, InfluxSink(settings.influx, spool), poller)
                settle_heap()  # as Service.run, but the collector runs on its own here: the phases' collections count
                # the counter states checkpointed as Service.run does: ``commit`` writes a turn's routine states and
                # the others' changes; ``commit_states`` every AP's state, as every cycle did before
                checkpoints.enter_context(runner.checkpointing(settings.schedule.checkpoint_cycles))
                runner.settings = replace(settings, ping=replace(settings.ping, enabled=False))
                whole = []
                for _ in range(args.warm):
                    cpu = time.process_time()
                    await runner.cycle()
                    whole.append(time.process_time() - cpu)
            finally:
                sim.stop()
    finally:
        cycle.fold = fold
    report = runner.last_report
    assert report is not None
    given, named = captured["fold"]
    evaluation = runner.evaluator.evaluate(report.outcomes, report.started_at, save=False)
    evaluated = rollup(report.outcomes, targets=runner.targets, healths=runner.evaluator.healths, sites=False)
    lines = runner.encode(report, evaluated)
    size = runner.sink.settings.batch_points

    def spool_lines() -> None:
        for start in range(0, len(lines), size):
            runner.sink.submit(lines[start:start + size])

    def commit_states() -> None:
        with store.write() as conn:
            report.writes.save(conn, report.inventory_seen)

    def commit() -> None:
        with store.write() as conn:
            runner._commit(conn, report, evaluation)

    phases: dict[str, Callable[[], Any]] = {
        "fold": lambda: fold(*given, **named),
        "evaluate": lambda: runner.evaluator.evaluate(report.outcomes, report.started_at, save=False),
        "rollup": lambda: rollup(report.outcomes, targets=runner.targets, healths=runner.evaluator.healths,
                                 sites=False),
        "encode": lambda: runner.encode(report, evaluated),
        "spool": spool_lines, "commit_states": commit_states, "commit": commit}
    count = len(report.outcomes)
    figures = {}
    for name, run in phases.items():
        spent = timed(run, args.reps)
        figures[name] = {"best_us_per_ap": round(min(spent) / count * 1e6, 2),
                         "median_us_per_ap": round(statistics.median(spent) / count * 1e6, 2)}
    checkpoints.close()
    own = ("fold", "evaluate", "rollup", "encode", "spool", "commit")
    verdicts = Counter(health.state for health in runner.evaluator.healths.values())
    return {"aps": count, "scale": args.scale, "lines": len(lines), "health_rows": len(evaluation.health),
            "sim_start_hour": args.start_hour, "verdicts": dict(sorted(verdicts.items())),
            "store": store.dialect, "phases": figures,
            "phases_best_us_per_ap": round(sum(figures[name]["best_us_per_ap"] for name in own), 2),
            "warm_cycles_us_per_ap": [round(s / count * 1e6, 1) for s in whole],
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aps", type=int, default=35_350, help="APs to simulate and poll (spread over the city)")
    parser.add_argument("--warm", type=int, default=6,
                        help="cycles before the phases are timed (the last one's); 6: the verdicts have settled")
    parser.add_argument("--reps", type=int, default=5, help="times each phase runs")
    parser.add_argument("--start-hour", type=float, default=cycle_bench.SIM_START_HOUR,
                        help="the simulated day's local hour the simulator starts at (the city's load follows it)")
    parser.add_argument("--processes", type=int, default=1, help="simulator processes")
    parser.add_argument("--scale", type=int, default=1,
                        help="copies of the city (--aps APs each): 10 splits a cycle of 353,500 APs")
    parser.add_argument("--database-url", help="the store on this PostgreSQL database instead of SQLite")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    if args.warm < 2:
        parser.error("--warm must be at least 2: the first cycle has no rates")
    env = {**os.environ, "HOTSPOTCTL_SIM_V3_AUTH_PASSWORD": "bench-auth-" + os.urandom(6).hex(),
           "HOTSPOTCTL_SIM_V3_PRIV_PASSWORD": "bench-priv-" + os.urandom(6).hex()}
    with tempfile.TemporaryDirectory(prefix="hotspotctl-cycle-phases-") as tmp:
        data_dir = Path(tmp)
        subprocess.run(cycle_bench.hotspotctl(data_dir, "--quiet", "inventory", "import",
                                              str(bundled_path(*CDMX_INVENTORY))),
                       check=True, env=env, stdout=subprocess.DEVNULL)
        results = asyncio.run(measure(args, data_dir, env))
    if args.format == "json":
        print(json.dumps(results, indent=2))
        return 0
    print(f"{results['aps']:,} APs, {results['lines']:,} lines, {results['health_rows']:,} health rows, "
          f"store {results['store']}; "
          f"warm cycles {results['warm_cycles_us_per_ap']} µs/AP of CPU")
    for name, figure in results["phases"].items():
        print(f"  {name:14s} {figure['best_us_per_ap']:6.2f} µs/AP (median {figure['median_us_per_ap']:.2f})")
    print(f"  fold + evaluate + rollup + encode + spool + commit: {results['phases_best_us_per_ap']} µs/AP")
    return 0


if __name__ == "__main__":
    sys.exit(main())
