#!/usr/bin/env python3
"""CPU per ICMP echo of the prober (hotspotctl/collectors/ping.py), on loopback, against ping(8)'s way.

Pings --hosts loopback addresses (127.1.0.0/16 onwards: every 127/8 address answers on Linux) --count
times each, --interval apart, with --max-in-flight hosts at once, from one socket in this one
process, and prints the process's CPU (``time.process_time()``) per echo and per host, with the wall
time and what was lost. Each run is checked: every echo must be answered, so it cannot look cheap by
failing. For a baseline in the same machine, --baseline N also times N runs of the system's ping(8)
(one process per host, as a poller that spawns per host does) when it is installed, and --spawn N
times N fork+execs of /bin/true: the least any process per host costs, before it sends a packet.

Loopback is the kernel answering in the same machine, so the kernel's own work is in the figure too
(process_time counts the system time of this process's sendto/recvfrom, not the kernel's replies in
softirq). Prints figures; asserts nothing about time.

    .venv/bin/python benchmarks/ping_bench.py [--hosts 10000] [--count 3] [--interval 0.02] [--max-in-flight 4000]
    .venv/bin/python benchmarks/ping_bench.py --format json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotspotctl.collectors.ping import IcmpProber


def _hosts(n: int) -> list[str]:
    base = int(ipaddress.IPv4Address("127.1.0.1"))
    return [str(ipaddress.IPv4Address(base + i)) for i in range(n)]


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def run(hosts: int, count: int, interval: float, timeout: float, max_in_flight: int, kind: str,
        max_rate: float) -> dict[str, object]:
    targets = _hosts(hosts)
    with IcmpProber(kind=kind, max_in_flight=max_in_flight,  # type: ignore[arg-type]
                    max_rate_pps=max_rate) as prober:
        gc.collect()
        user0, sys0 = _cpu()
        wall0 = time.perf_counter()
        results = asyncio.run(prober.ping(targets, count=count, interval_s=interval, timeout_s=timeout))
        wall = time.perf_counter() - wall0
        user1, sys1 = _cpu()
        stats = prober.stats.as_dict()
        socket_kind = prober.socket_kind()
    sent = sum(r.sent for r in results.values())
    received = sum(r.received for r in results.values())
    cpu = (user1 - user0) + (sys1 - sys0)
    return {"socket": socket_kind, "hosts": hosts, "count": count, "interval_s": interval,
            "max_in_flight": max_in_flight, "max_rate_pps": max_rate,
            "sent": sent, "received": received, "lost": sent - received, "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3), "cpu_user_s": round(user1 - user0, 3), "cpu_sys_s": round(sys1 - sys0, 3),
            "cpu_us_per_echo": round(1e6 * cpu / max(sent, 1), 1),
            "cpu_ms_per_35000_hosts": round(1e3 * cpu / hosts * 35_000, 1),
            "kernel_drops": stats["kernel_drops"], "most_hosts_at_once": stats["max_in_flight"]}


def spawn_floor(n: int) -> dict[str, object] | None:
    """The least a process per host costs: fork+exec of /bin/true, nothing sent (a floor under fping per host)."""
    true = shutil.which("true")
    if true is None or n <= 0:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    own0 = _cpu()
    wall0 = time.perf_counter()
    for _ in range(n):
        subprocess.run([true], check=False)
    wall = time.perf_counter() - wall0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own1 = _cpu()
    cpu = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
           + (own1[0] - own0[0]) + (own1[1] - own0[1]))
    return {"processes": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "cpu_us_per_process": round(1e6 * cpu / n, 1)}


def baseline(n: int, count: int, interval: float) -> dict[str, object] | None:
    ping = shutil.which("ping")
    if ping is None or n <= 0:
        return None
    targets = _hosts(n)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0 = time.perf_counter()
    for host in targets:
        subprocess.run([ping, "-n", "-q", "-c", str(count), "-i", str(max(interval, 0.002)), "-W", "1", host],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - wall0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"hosts": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "cpu_us_per_echo": round(1e6 * cpu / (n * count), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--max-in-flight", type=int, default=4000)
    parser.add_argument("--max-rate", type=float, default=0.0, help="echoes per second, all hosts (0: no cap)")
    parser.add_argument("--socket", choices=("auto", "datagram", "raw"), default="auto")
    parser.add_argument("--baseline", type=int, default=0, help="also time ping(8) on this many hosts")
    parser.add_argument("--spawn", type=int, default=0,
                        help="also time this many fork+execs of /bin/true: the floor of a process per host")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    figures = {"prober": run(args.hosts, args.count, args.interval, args.timeout, args.max_in_flight, args.socket,
                           args.max_rate),
               "ping8": baseline(args.baseline, args.count, args.interval),
               "spawn_floor": spawn_floor(args.spawn)}
    if figures["prober"]["lost"]:
        print(f"warning: {figures['prober']['lost']} echoes lost: the figure is not a clean one", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(figures, indent=2))
        return
    for name, values in figures.items():
        if values is not None:
            print(name + ": " + ", ".join(f"{key}={value}" for key, value in values.items()))


if __name__ == "__main__":
    main()
