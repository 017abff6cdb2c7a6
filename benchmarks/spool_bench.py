#!/usr/bin/env python3
"""The spool with a backlog: what an append, a status() and a replay cost as batches pile up.

With InfluxDB away (or no InfluxDB: the spool is the sink), every cycle appends its batches
(influx.batch_points lines each: 17 a cycle for the city, 170 for ten cities) and asks status()
once, while the backlog grows towards spool.max_mb (1 GiB holds about 5,000 of the city's batches).
When InfluxDB is back, the replay acks the backlog oldest first.

For each backlog (``--backlogs``: batches waiting, filled with one-line batches, which cost the same
to list as a cycle's), in this one process:

  append   one batch of ``--lines`` line-protocol lines shaped like a cycle's (gzip, fsync, rename),
           the median of ``--appends``; its ratio to the same append into an empty spool
  status   ``Spool.status()``, the median of as many
  replay   every batch of the backlog delivered (to a function that takes the body) and acked:
           CPU seconds, and per batch

``--baseline REV`` loads hotspotctl/sinks/spool.py of that git revision beside ours and runs every
measurement on both, interleaved (machines here vary 3x: the ratios are the figures).
Prints figures; asserts nothing about time. Spools are made in a temporary directory (``--dir`` to
put them on another disk: fsync costs what the disk makes it cost).

    .venv/bin/python benchmarks/spool_bench.py [--backlogs 0,1000,5000] [--baseline 06f5c1d] [--format json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cycle_lines(count: int) -> list[str]:
    """``count`` ap_status lines with the city's tag set shape."""
    return [f"ap_status,ap=CDMX-{i:05d},crew_zone=centro,district=CUAUHTEMOC,geohash=9g3w81t7k,profile=generic,"
            f"program=ESCUELAS,site=S{i % 5000:05d} up=1i,rebooted=0i,uptime_s={86_400 + i}i,clients={i % 60}i,"
            f"per_user_mbps={(i % 997) / 7:.3f},below_target=1i 1765000000" for i in range(count)]


def measure(spool_class: Any, folder: Path, backlog: int, lines: list[str], appends: int) -> dict[str, Any]:
    spool = spool_class(folder, max_bytes=64 << 30)
    for n in range(backlog):
        spool.append([f"m v={n} {n}"])
    spool.status()  # as a running service would have: every batch seen once
    append_s, status_s = [], []
    for _ in range(appends):
        started = time.process_time()
        spool.append(lines)
        append_s.append(time.process_time() - started)
        started = time.process_time()
        spool.status()
        status_s.append(time.process_time() - started)
    waiting = spool.status().batches
    started = time.process_time()
    result = spool.replay(lambda body, precision: None, gzip=True)
    replay_s = time.process_time() - started
    assert result.batches == waiting and spool.status().batches == 0, "the replay left batches behind"
    return {"append_ms": statistics.median(append_s) * 1e3, "status_ms": statistics.median(status_s) * 1e3,
            "replayed": result.batches, "replay_cpu_s": replay_s,
            "replay_us_per_batch": replay_s / max(result.batches, 1) * 1e6}


def baseline_module(revision: str) -> Any:
    source = subprocess.check_output(["git", "-C", str(ROOT), "show", f"{revision}:hotspotctl/sinks/spool.py"],
                                     text=True)
    module = types.ModuleType("spool_baseline")
    module.__dict__["__name__"] = "spool_baseline"
    sys.modules["spool_baseline"] = module  # its dataclasses look their module up
    exec(compile(source, "spool_baseline", "exec"), module.__dict__)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlogs", default="0,1000,5000",
                        help="batches waiting, comma-separated (default %(default)s)")
    parser.add_argument("--lines", type=int, default=10_000, help="lines in each appended batch (influx.batch_points)")
    parser.add_argument("--appends", type=int, default=17, help="appends timed at each backlog (a city's cycle: 17)")
    parser.add_argument("--baseline", metavar="REV", help="also time hotspotctl/sinks/spool.py at this git revision")
    parser.add_argument("--dir", type=Path, help="where to make the spools (default: a temporary directory)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    from hotspotctl.sinks import spool as ours

    codes: dict[str, Any] = {"ours": ours.Spool}
    if args.baseline:
        codes[args.baseline] = baseline_module(args.baseline).Spool
    lines = cycle_lines(args.lines)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for backlog in (int(b) for b in args.backlogs.split(",")):
            for name, spool_class in codes.items():  # interleaved: the same machine speed for both
                folder = Path(tmp) / f"{name}-{backlog}"
                rows.append({"code": name, "backlog": backlog,
                             **measure(spool_class, folder, backlog, lines, args.appends)})
    for row in rows:
        empty = next(r for r in rows if r["code"] == row["code"] and r["backlog"] == rows[0]["backlog"])
        row["append_vs_first_backlog"] = row["append_ms"] / empty["append_ms"]
    if args.format == "json":
        print(json.dumps([{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
                         indent=2))
        return
    print(f"{'code':>10} {'backlog':>8} {'append ms':>10} {'x first':>8} {'status ms':>10} {'replay s':>9} "
          f"{'µs/batch':>9}")
    for r in rows:
        print(f"{r['code']:>10} {r['backlog']:>8} {r['append_ms']:>10.2f} {r['append_vs_first_backlog']:>8.2f} "
              f"{r['status_ms']:>10.2f} {r['replay_cpu_s']:>9.2f} {r['replay_us_per_batch']:>9.0f}")


if __name__ == "__main__":
    main()
