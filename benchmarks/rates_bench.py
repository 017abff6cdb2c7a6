#!/usr/bin/env python3
"""compute_rates over a city's worth of APs, against an earlier version of it, in this process.

A cycle calls ``compute_rates`` once per AP that answered (35,350 in the city). This times that
call alone, for a fleet shaped like the simulator's: hrSystemUptime, sysUpTime and
snmpEngineTime; 99 % Counter64 and 1 % Counter32 uplinks at 1 Gb/s, 60 s apart, with a link
speed, clients and the monotonic reading and uplink identity a poller gives. The baseline is the
module as it was at ``--baseline`` (a git revision; its source is read with ``git show``) run on
the same samples, interleaved round by round, so the ratio holds on a loaded machine where a lone
time would not. Prints figures; asserts nothing about time.

    .venv/bin/python benchmarks/rates_bench.py [--aps 35350] [--rounds 7] [--baseline 3854a6b]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotctl.collectors.model import Sample  # noqa: E402
from hotspotctl.evaluate import rates  # noqa: E402

MODULE = "hotspotctl/evaluate/rates.py"


def baseline(revision: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{revision}:{MODULE}"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout
    module = types.ModuleType(f"rates_at_{revision}")
    module.__dict__["__name__"] = module.__name__
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:{MODULE}", "exec"), module.__dict__)
    return module


def fleet(aps: int, seed: int = 15) -> tuple[list[Sample], list[Sample]]:
    """Two consecutive samples per AP, 60 s apart."""
    rng = random.Random(seed)
    before, after = [], []
    for i in range(aps):
        bits = 32 if i % 100 == 0 else 64
        top = 2**bits
        up = rng.randrange(100_000, 2**31)
        in0, out0 = rng.randrange(top), rng.randrange(top)
        din, dout = rng.randrange(1, 400_000_000), rng.randrange(1, 60_000_000)
        at, mono = 1_795_330_000.0 + rng.random(), 86_400.0 + rng.random()
        common = dict(ap=f"AP-{i:05d}", rtt_ms=3.0, counter_bits=bits, link_mbps=1000.0, oper_up=True,
                      clients=rng.randrange(40), clock="3b479c0c-e827-487e-9200-d04e1f29b71d",
                      uplink="ifIndex.2")
        before.append(Sample(at=at, mono=mono, sys_uptime=up - 57, hr_uptime=up, engine_time=up // 100,
                             in_octets=in0, out_octets=out0, **common))
        after.append(Sample(at=at + 60.0, mono=mono + 60.0, sys_uptime=up + 6_000 - 57, hr_uptime=up + 6_000,
                            engine_time=up // 100 + 60, in_octets=(in0 + din) % top, out_octets=(out0 + dout) % top,
                            **common))
    return before, after


def time_module(module: types.ModuleType, before: list[Sample], after: list[Sample]) -> float:
    """Seconds for one cycle's calls (the states of the first samples are made outside the timing)."""
    compute = module.compute_rates
    states = [compute(sample, None)[1] for sample in before]
    gc.collect()
    started = time.perf_counter()
    for sample, state in zip(after, states, strict=True):
        compute(sample, state, backhaul_mbps=None)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=35_350)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", default="3854a6b", help="git revision of the baseline rates.py")
    args = parser.parse_args()
    before, after = fleet(args.aps)
    old = baseline(args.baseline)
    times: dict[str, list[float]] = {"baseline": [], "current": []}
    for _ in range(args.rounds):
        times["baseline"].append(time_module(old, before, after))
        times["current"].append(time_module(rates, before, after))
    base, current = statistics.median(times["baseline"]), statistics.median(times["current"])
    ratios = [c / b for b, c in zip(times["baseline"], times["current"], strict=True)]
    print(f"compute_rates, {args.aps:,} APs, median of {args.rounds} rounds (interleaved)")
    print(f"  baseline {args.baseline}: {base * 1e3:8.1f} ms per cycle, {base / args.aps * 1e6:6.2f} us per AP")
    print(f"  current:          {current * 1e3:8.1f} ms per cycle, {current / args.aps * 1e6:6.2f} us per AP")
    print(f"  ratio current/baseline: median {statistics.median(ratios):.2f} "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
