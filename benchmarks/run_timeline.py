#!/usr/bin/env python3
"""`hotspotctl run` on the city over time: its RSS every 50 ms, its log, and PostgreSQL's slow statements.

A fresh PostgreSQL store (tests/servers.PostgresServer) with the bundled inventory, the simulator serving it
(``hotspotctl simulate --assign``), one ``hotspotctl discover``, then ``hotspotctl run --cycles N`` in its own
process, as scale_bench.py's one-process run. Printed: the run's peak RSS (VmHWM) and when it was reached, its RSS
once a second, its log lines with the second they arrived, and every statement PostgreSQL logged as slower than
``--slow-ms`` (``log_min_duration_statement`` on the bench's database). A cycle's record (its "s" in the log)
stops before its commit; the gap to the next log line, and the statements here, show what a commit cost.

    .venv/bin/python benchmarks/run_timeline.py [--aps 35350] [--cycles 5] [--interval 30] [--slow-ms 200]
        [--env NAME=VALUE] [--influx]

``--influx`` starts Debian's InfluxDB 1.x (tests/servers.InfluxServer) and points the run at it, so its spool
drains every cycle as a service's does; without it the run has no InfluxDB and its spool only grows.

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale_bench  # noqa: E402


def memory_kb(pid: int) -> tuple[int, int]:
    """VmRSS and VmHWM of ``pid`` (kB); zeros once it has exited."""
    figures = {"VmRSS:": 0, "VmHWM:": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition("\t")
            if name in figures:
                figures[name] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return figures["VmRSS:"], figures["VmHWM:"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aps", type=int, default=35_350, help="APs (spread over the city)")
    parser.add_argument("--cycles", type=int, default=5, help="cycles of the run")
    parser.add_argument("--interval", type=float, default=30, help="seconds between cycles")
    parser.add_argument("--sim-processes", type=int, default=2, help="simulator processes")
    parser.add_argument("--slow-ms", type=int, default=200, help="PostgreSQL logs statements slower than this")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the run only (repeatable), e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument("--influx", action="store_true",
                        help="write to a real InfluxDB 1.x started for the run (default: none, the spool only grows)")
    args = parser.parse_args()
    import psycopg

    from hotspotctl.sinks.spool import Spool
    from tests.servers import InfluxServer, PostgresServer

    postgres = PostgresServer().start()
    influx = InfluxServer().start() if args.influx else None
    try:
        with tempfile.TemporaryDirectory(prefix="hotspotctl-run-timeline-") as tmp:
            data_dir = Path(tmp)
            env = {**scale_bench.bench_env(), "HOTSPOTCTL_DATABASE_URL": postgres.create_database("run_timeline")}
            if influx is not None:
                env.update(HOTSPOTCTL_INFLUX_URL=influx.url, HOTSPOTCTL_INFLUX_API="v1")
            with psycopg.connect(postgres.url(), autocommit=True) as conn:
                conn.execute(f"ALTER DATABASE run_timeline SET log_min_duration_statement = {int(args.slow_ms)}")
            scale_bench.import_city(data_dir, env, args.aps)
            fleet = scale_bench.Run(1, args.aps, 0, args.cycles, args.interval, args.sim_processes)
            with scale_bench.simulator(data_dir, env, fleet):
                print(json.dumps(scale_bench.discover_all(data_dir, env)), flush=True)
                log_start = (postgres.root / "log").stat().st_size
                command = scale_bench.hotspotctl(data_dir, "run", "--cycles", str(args.cycles), "--interval",
                                                 str(args.interval), "--log-level", "info")
                started = time.perf_counter()
                extra = dict(item.split("=", 1) for item in args.env)
                run = subprocess.Popen(command, env={**env, **extra}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True)
                lines: list[tuple[float, str]] = []

                def read_log() -> None:
                    assert run.stderr is not None
                    for line in run.stderr:
                        lines.append((time.perf_counter() - started, line.rstrip()))

                reader = threading.Thread(target=read_log, daemon=True)
                reader.start()
                samples: list[tuple[float, int]] = []
                peak = 0
                while run.poll() is None:
                    rss, hwm = memory_kb(run.pid)
                    if rss:
                        samples.append((time.perf_counter() - started, rss))
                        peak = max(peak, hwm)
                    time.sleep(0.05)
                reader.join(5)
                at = max(samples, key=lambda s: s[1])[0] if samples else 0.0
                left = Spool(data_dir / "spool").status()  # what no flush delivered (batches, not its lock files)
                print(json.dumps({"exit": run.returncode, "env": extra, "influx": influx is not None,
                                  "peak_rss_mb": round(peak / 1024, 1), "peak_at_s": round(at, 1),
                                  "spool_batches_left": left.batches, "spool_points_left": left.points}))
                second = -1
                for t, rss in samples:
                    if int(t) != second:
                        second = int(t)
                        print(f"t={t:7.1f} s  rss {rss / 1024:7.1f} MB")
                for t, line in lines:
                    print(f"t={t:7.1f} s  {line}")
                with (postgres.root / "log").open(encoding="utf-8", errors="replace") as log:
                    log.seek(log_start)
                    for line in log:
                        if "duration:" in line:
                            print("postgresql:", line.rstrip()[:300])
            return 0 if run.returncode == 0 else 1
    finally:
        if influx is not None:
            influx.stop()
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
