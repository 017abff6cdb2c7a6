#!/usr/bin/env python3
"""Poller cost against fleet size and number of workers: the city, and K copies of it.

For each --scale K (``hotspotctl simulate --scale K --count --aps``: K x --aps APs, K=10 is 353,500), one
fleet: a PostgreSQL store (tests/servers.py's own class), the fleet imported, ``hotspotctl simulate`` in its
own process, and ``hotspotctl discover`` once over every AP (timed: discover_s, discover_cpu_s,
discover_rss_mb). Then, for each --workers W in turn, on that same store and simulator, the path a
deployment runs, every part in its own process:

  workers 0  the one-process path: ``hotspotctl run --cycles N`` (CycleRunner, as a service runs it).
  workers W  the Celery path: W ``hotspotctl worker`` processes and ``hotspotctl run --distributed
             --cycles N`` (the leader), a Redis of its own (needs the ``cluster`` extra and redis-server);
             figures from shard_cycles and the workers' /proc.

Every run starts with every layout stored, so each measures polling alone; discovery is its own figure.
Figures per run (one JSON object each, ``--format json`` prints the list):

  aps                the APs polled (K x --aps)
  workers            0 for the one-process path
  cycle_s            median duration of the cycles after the first (the first loads the state)
  poller_cpu_s       median CPU of those cycles, from /proc: the process's between a cycle's start and the
                     next's (workers 0), the workers' processes between a slot's start and the next's
                     (workers W); each includes the commit and the spool writes
  cpu_us_per_ap      poller_cpu_s / aps, in microseconds
  rss_mb_per_worker  peak RSS of a poller process over its run (wait4's ru_maxrss)
  missed_aps         APs not polled ok: the last cycle (workers 0), the worst measured slot (workers W)

The simulator gets the rest of the machine; on a small box it competes with the poller for the CPU,
so compare cpu_us_per_ap across sizes, not cycle_s across machines. The simulated day starts at 19:00 local time
whenever it runs (SIM_START_HOUR: the city's load, and the cycle's work, follow the hour). Prints figures, asserts
nothing.

    .venv/bin/python benchmarks/scale_bench.py --scale 1,10 --workers 0,1,2 --format json
    .venv/bin/python benchmarks/scale_bench.py --scale 1,2 --aps 2000 --cycles 3   # a quick look

Profile a worker: ``pip install yappi`` in the venv, then ``HOTSPOTCTL_BENCH_PROFILE=/tmp/w.pstat`` (each
worker of the run writes it at exit, every thread, CPU clock; ``HOTSPOTCTL_BENCH_PROFILE_SKIP``, default 2,
slots dropped first) with ``--workers 1``; read it with ``pstats.Stats("/tmp/w.pstat")``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cycle_bench import SIM_START_HOUR  # noqa: E402  (the simulated day's start: one hour for every benchmark)

from hotspotctl.bundled import CDMX_INVENTORY, bundled_path  # noqa: E402


@dataclass(frozen=True)
class Run:
    scale: int
    aps_per_copy: int
    workers: int
    cycles: int
    interval_s: float
    sim_processes: int


def free_udp_port() -> int:
    """A UDP port free on loopback now: the simulator's own (SO_REUSEPORT would share a busy one, such as the
    default 16161 of a simulator someone else runs, and that one answers with another fleet)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hotspotctl(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "hotspotctl", "--data-dir", str(data_dir), *args]


def bench_env() -> dict[str, str]:
    """The simulator's SNMPv3 user, made up for this run (the poller reads the same variables)."""
    return {**os.environ, "HOTSPOTCTL_SIM_V3_AUTH_PASSWORD": "bench-auth-" + os.urandom(6).hex(),
            "HOTSPOTCTL_SIM_V3_PRIV_PASSWORD": "bench-priv-" + os.urandom(6).hex()}


@contextlib.contextmanager
def simulator(data_dir: Path, env: dict[str, str], run: Run) -> Any:
    """``hotspotctl simulate --scale K --assign`` in the background, serving once its summary is printed."""
    command = hotspotctl(data_dir, "simulate", "--assign", "--format", "json", "--scenario", "none",
                         "--start-hour", str(SIM_START_HOUR), "--seed", "1", "--count", str(run.aps_per_copy),
                         "--scale", str(run.scale),
                         "--processes", str(run.sim_processes), "--port", str(free_udp_port()))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        assert process.stdout is not None
        decoder = json.JSONDecoder()
        text = ""
        while True:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"simulator exited: {process.stderr.read() if process.stderr else ''}")
            text += line
            with contextlib.suppress(json.JSONDecodeError):
                summary, _ = decoder.raw_decode(text.strip())
                break
        yield summary
    finally:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=60)
        if process.poll() is None:
            process.kill()
            process.wait()


def cycles_of(data_dir: Path, env: dict[str, str], since: float) -> list[dict[str, Any]]:
    """The poll_cycles rows started at or after ``since``, oldest first (the store the run wrote)."""
    os.environ.update(env)
    from hotspotctl.settings import load_settings
    from hotspotctl.store import Store
    from hotspotctl.store.polling import recent_cycles

    settings = load_settings(flags={"data_dir": ("--data-dir", str(data_dir))}).settings
    store = Store.open(settings.store_url)
    try:
        with store.read() as conn:
            return [c for c in recent_cycles(conn, limit=10_000) if c["started_at"] >= since]
    finally:
        store.close()


CYCLE_FIELDS = ("duration_s", "cpu_s", "aps", "ok", "timed_out", "failed", "skipped", "discovered", "lag_s",
                "missed")


def figures(aps: int, workers: int, cycles: list[dict[str, Any]], cpus: list[float], rss_kb: float) -> dict[str, Any]:
    """The run's figures over the cycles after the first; ``cpus``: each cycle's CPU (the process's, /proc)."""
    measured = cycles[1:] or cycles  # the first cycle discovers every AP
    cpu = statistics.median(cpus[1:] or cpus)
    return {"aps": aps, "workers": workers,
            "cycle_s": round(statistics.median(c["duration_s"] for c in measured), 3),
            "poller_cpu_s": round(cpu, 3), "cpu_us_per_ap": round(cpu / aps * 1e6, 1),
            "rss_mb_per_worker": round(rss_kb / 1024, 1), "missed_aps": aps - cycles[-1]["ok"],
            # what the cycles record of themselves (poll_cycles.cpu_s, to the end of each one's commit)
            "recorded_cpu_s": round(statistics.median(c["cpu_s"] for c in measured), 3),
            "cycles": [{**{k: round(c[k], 3) if isinstance(c[k], float) else c[k] for k in CYCLE_FIELDS},
                        "process_cpu_s": round(spent, 3)} for c, spent in zip(cycles, cpus, strict=True)]}


def run_one_process(run: Run, data_dir: Path, env: dict[str, str], aps: int) -> dict[str, Any]:
    """workers 0: ``hotspotctl run --cycles N`` in its own process, as a service runs it. A cycle's CPU is the
    process's from /proc between the cycle's start and the next one's (the last: to its end), as the
    workers' is between slots: everything the process did, the flushes between cycles too. ``recorded_cpu_s``
    is what the cycles record of themselves (poll_cycles.cpu_s, to the end of each one's commit; before c4ab3e8
    it stopped before the commit, and this benchmark reported it)."""
    command = hotspotctl(data_dir, "run", "--cycles", str(run.cycles), "--interval", str(run.interval_s),
                         "--log-level", "warning")
    since, started = time.time(), time.perf_counter()
    log_path = data_dir / "run.log"
    with log_path.open("w") as log_file:
        poller = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log_file, text=True)
    samples: list[tuple[float, float]] = []  # (wall clock, the process's CPU s), every 0.1 s while it runs
    while True:
        pid, status, usage = os.wait4(poller.pid, os.WNOHANG)
        if pid:
            break
        samples.append((time.time(), proc_cpu_s(poller.pid)))
        time.sleep(0.1)
    total_cpu = usage.ru_utime + usage.ru_stime
    poller.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if poller.returncode != 0:
        raise RuntimeError(f"hotspotctl run exited {poller.returncode}: {log_path.read_text()[-2000:]}")
    cycles = cycles_of(data_dir, env, since)

    def cpu_before(when: float) -> float:  # the last sample at or before ``when`` (0.1 s at most before it)
        before = [cpu for at, cpu in samples if at <= when]
        return before[-1] if before else 0.0

    def cpu_after(when: float) -> float:  # the first sample at or after ``when``, else the process's total
        return next((cpu for at, cpu in samples if at >= when), total_cpu)

    starts = [c["started_at"] for c in cycles]
    cpus = [cpu_before(end) - cpu_before(start) for start, end in itertools.pairwise(starts)]
    last = cycles[-1]  # to its end (its record's duration runs to its commit's end), not the process's exit
    cpus.append(cpu_after(last["started_at"] + last["duration_s"]) - cpu_before(last["started_at"]))
    result = figures(aps, 0, cycles, cpus, usage.ru_maxrss)
    result["wall_s"] = round(wall, 1)
    result["run_cpu_s"] = round(total_cpu, 1)  # the whole process, start-up too
    return result


def proc_cpu_s(pid: int) -> float:
    """utime + stime of one process so far, from /proc (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slots_of(url: str, since: float) -> list[dict[str, Any]]:
    """Per slot from ``since`` on, the shards' rows summed: shards done, APs, ok, the CPU they record and the
    slot's span."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT slot, count(*) AS shards, sum(aps) AS aps, sum(ok) AS ok, sum(cpu_s) AS cpu_s, "
                "min(started_at) AS first, max(finished_at) AS last, max(duration_s) AS longest "
                "FROM shard_cycles WHERE state = 'done' AND slot > :since GROUP BY slot ORDER BY slot"),
                {"since": since}).mappings().all()
    finally:
        engine.dispose()
    return [dict(row) for row in rows]


def run_cluster(run: Run, data_dir: Path, env: dict[str, str], aps: int) -> dict[str, Any]:
    """workers W >= 1: W ``hotspotctl worker`` processes and ``hotspotctl run --distributed --cycles N`` (the
    leader) on the fleet's PostgreSQL store, with a Redis started here by tests/servers.py's own class. Per
    slot after the first (which loads the shards' state): the span from its first shard's start to its last
    shard's end (cycle_s), the workers' CPU from /proc between the slot's start and the next's (poller_cpu_s;
    the shards' own cpu_s is process time of threads running side by side, so it overlaps), the APs not
    polled ok (missed_aps, the worst slot); each worker's peak RSS from wait4."""
    from tests.servers import RedisServer

    redis = RedisServer().start()
    workers: list[subprocess.Popen[str]] = []
    url = env["HOTSPOTCTL_DATABASE_URL"]
    since = time.time()
    try:
        env = {**env, "HOTSPOTCTL_CLUSTER_REDIS_URL": redis.url}
        logs = [data_dir / f"worker-{n}.log" for n in range(run.workers)]
        for n, log in enumerate(logs):
            with log.open("w") as fh:
                workers.append(subprocess.Popen(
                    hotspotctl(data_dir, "worker", "--name", f"bench-{n}", "--log-level", "warning"),
                    env=env, stdout=fh, stderr=subprocess.STDOUT, text=True))
        leader = subprocess.Popen(hotspotctl(data_dir, "run", "--distributed", "--cycles", str(run.cycles),
                                             "--interval", str(run.interval_s), "--log-level", "warning"),
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started = time.perf_counter()
        cpu_at: dict[float, float] = {}  # the workers' CPU when each slot began (sampled every 0.2 s)
        while leader.poll() is None:
            slot = (time.time() // run.interval_s) * run.interval_s
            if slot not in cpu_at:
                cpu_at[slot] = sum(proc_cpu_s(w.pid) for w in workers)
            time.sleep(0.2)
        wall = time.perf_counter() - started
        boundary = (time.time() // run.interval_s + 1) * run.interval_s  # the end of the last slot
        time.sleep(max(0.0, boundary - time.time()) + 0.05)
        cpu_at[boundary] = sum(proc_cpu_s(w.pid) for w in workers)
        leader_log = leader.stderr.read() if leader.stderr is not None else ""
        usages = []
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            _, status, usage = os.wait4(worker.pid, 0)
            worker.returncode = os.waitstatus_to_exitcode(status)
            usages.append(usage)
        if leader.returncode != 0:
            raise RuntimeError(f"hotspotctl run --distributed exited {leader.returncode}: {leader_log[-2000:]}")
        slots = slots_of(url, since - run.interval_s)  # a slot begun before the leader, none of the last run's
    finally:
        for worker in workers:
            if worker.poll() is None and worker.returncode is None:
                worker.kill()
        redis.stop()
    slots = slots[:run.cycles]  # the leader's slots; the one it left running when it stopped is not one
    measured = [s for s in slots[1:] if s["slot"] + run.interval_s in cpu_at] or slots  # the first loads state
    for s in slots:
        s["cpu"] = cpu_at.get(s["slot"] + run.interval_s, float("nan")) - cpu_at.get(s["slot"], float("nan"))
    cpu = statistics.median(s["cpu"] for s in measured)
    return {"aps": aps, "workers": run.workers,
            "cycle_s": round(statistics.median(s["last"] - s["first"] for s in measured), 3),
            "poller_cpu_s": round(cpu, 3), "cpu_us_per_ap": round(cpu / aps * 1e6, 1),
            "rss_mb_per_worker": round(max(u.ru_maxrss for u in usages) / 1024, 1),
            "missed_aps": max(aps - int(s["ok"]) for s in measured),
            "slots": [{"slot": s["slot"], "shards": s["shards"], "aps": int(s["aps"]), "ok": int(s["ok"]),
                       "span_s": round(s["last"] - s["first"], 3), "longest_shard_s": round(s["longest"], 3),
                       "workers_cpu_s": round(s["cpu"], 3)} for s in slots],
            "wall_s": round(wall, 1), "workers_cpu_s": [round(u.ru_utime + u.ru_stime, 1) for u in usages]}


def import_city(data_dir: Path, env: dict[str, str], aps: int) -> None:
    """The city into the bench's store; with fewer --aps than it has, only those the simulator picks (so the
    poller polls what is simulated, and nothing else)."""
    import csv

    from hotspotctl.simulate.simulator import spread

    def cli(*args: str) -> None:
        subprocess.run(hotspotctl(data_dir, "--quiet", *args), check=True, env=env, stdout=subprocess.DEVNULL)

    cli("inventory", "import", str(bundled_path(*CDMX_INVENTORY)))
    everything = data_dir / "city.csv"
    cli("inventory", "export", str(everything))
    with everything.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if aps >= len(rows):
        return

    @dataclass(frozen=True)
    class Row:
        id: str
        cells: tuple[str, ...]

    picked = spread([Row(row["id"], tuple(row.values())) for row in rows], aps)  # simulate's own choice
    subset = data_dir / "subset.csv"
    with subset.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(rows[0].keys())
        writer.writerows(row.cells for row in picked)
    cli("inventory", "import", str(subset), "--prune", "--yes")


def discover_all(data_dir: Path, env: dict[str, str]) -> dict[str, float]:
    """``hotspotctl discover`` over every AP, once per fleet, before the runs: its wall time, CPU and peak RSS."""
    started = time.perf_counter()
    walker = subprocess.Popen(hotspotctl(data_dir, "--quiet", "discover", "--format", "json"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert walker.stderr is not None
    log = walker.stderr.read()
    _, status, usage = os.wait4(walker.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 4):  # 4: some APs did not answer; the runs report them as missed
        raise RuntimeError(f"hotspotctl discover exited {code}: {log[-2000:]}")
    return {"discover_s": round(time.perf_counter() - started, 1),
            "discover_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "discover_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def measure(scale: int, workers: list[int], args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """One fleet of ``scale`` copies on one PostgreSQL store and simulator, discovered once; then one run per
    worker count, each polling the same stored layouts."""
    from tests.servers import PostgresServer

    postgres = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="hotspotctl-scale-bench-") as tmp:
            data_dir = Path(tmp)
            env = {**bench_env(), "HOTSPOTCTL_DATABASE_URL": postgres.create_database("scale_bench")}
            import_city(data_dir, env, args.aps)
            fleet = Run(scale, args.aps, 0, args.cycles, args.interval, args.sim_processes)
            with simulator(data_dir, env, fleet) as served:
                discovered = discover_all(data_dir, env)
                for count in workers:
                    mode = run_one_process if count == 0 else run_cluster
                    row = mode(dataclasses.replace(fleet, workers=count), data_dir, env, int(served["aps"]))
                    yield {**row, **discovered}
    finally:
        postgres.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1,10", help="copies of the city, comma-separated (default 1,10)")
    parser.add_argument("--aps", type=int, default=35_350, help="APs per copy (spread over the city)")
    parser.add_argument("--workers", default="0", help="worker counts, comma-separated (0: one process)")
    parser.add_argument("--cycles", type=int, default=4, help="cycles per run (the first loads the state)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between cycles")
    parser.add_argument("--sim-processes", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help="simulator processes")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    rows = []
    workers = [int(w) for w in args.workers.split(",")]
    for scale in (int(k) for k in args.scale.split(",")):
        for row in measure(scale, workers, args):
            rows.append(row)
            if args.format == "text":
                print(f"{row['aps']:>8} APs, {row['workers']} workers: cycle {row['cycle_s']} s, poller CPU "
                      f"{row['poller_cpu_s']} s ({row['cpu_us_per_ap']} µs/AP), peak RSS {row['rss_mb_per_worker']} "
                      f"MB per worker, {row['missed_aps']} APs missed", flush=True)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif len(rows) > 1:
        base = rows[0]
        for row in rows[1:]:
            print(f"x{row['aps'] / base['aps']:g} APs: CPU x{row['poller_cpu_s'] / base['poller_cpu_s']:.2f}, "
                  f"RSS x{row['rss_mb_per_worker'] / base['rss_mb_per_worker']:.2f}, cycle "
                  f"x{row['cycle_s'] / base['cycle_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
