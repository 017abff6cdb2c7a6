"""SSH polling throughput: 200 devices polled over SSH with netmiko, the default pool, on loopback.

The devices are the protocol-true CLI server of the tests (``python -m tests.sshservers``: asyncssh,
recorded vendor output behind the real prompts), in a process of its own so that its CPU is not
ours. Each poll is a full session per AP, as in production: TCP connect, key exchange, host-key
check against known_hosts, password login, netmiko's session preparation, the profile's commands
(OpenWrt: uptime, /proc/net/dev, link speed, one station dump per radio), parsing, logout.

Baselines, run in the same process against the same devices: one session at a time (``pool_size``
1, what a plain netmiko loop does) and twice the default pool. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/ssh_bench.py [--devices 200] [--kind linux|mikrotik_routeros|cisco_ios|mixed]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotctl.collectors.model import Sample  # noqa: E402
from hotspotctl.collectors.profiles import load_profiles  # noqa: E402
from hotspotctl.collectors.ssh import SshCollector, SshTarget  # noqa: E402
from hotspotctl.settings import SshAuth, SshSettings  # noqa: E402

PROFILE_OF_KIND = {"linux": "openwrt", "mikrotik_routeros": "mikrotik_routeros", "cisco_ios": "cisco_aironet"}


def serve(devices: int, kind: str, folder: Path) -> tuple[subprocess.Popen[bytes], dict]:
    ports_file = folder / "ports.json"
    process = subprocess.Popen([sys.executable, "-m", "tests.sshservers", "--devices", str(devices), "--kind", kind,
                                "--ports-file", str(ports_file)], cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not ports_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the SSH test server did not start (is asyncssh installed? pip install -e '.[bench]')")
        time.sleep(0.1)
    return process, json.loads(ports_file.read_text())


def poll(settings: SshSettings, known: Path, targets: list[SshTarget], env: dict[str, str]) -> dict[str, float]:
    profiles = load_profiles()
    with SshCollector(settings, profiles, known, env=env) as collector:
        cpu, started = time.process_time(), time.monotonic()
        results = asyncio.run(collector.poll(targets))
        wall, cpu = time.monotonic() - started, time.process_time() - cpu
    ok = [r for r in results if isinstance(r, Sample)]
    failed = [r for r in results if not isinstance(r, Sample)]
    if failed:
        print(f"  {len(failed)} failed, e.g. {failed[0]}", file=sys.stderr)
    rtts = sorted(r.rtt_ms for r in ok)
    return {"aps": len(targets), "ok": len(ok), "wall_s": round(wall, 2), "aps_per_s": round(len(ok) / wall, 1),
            "cpu_s": round(cpu, 2), "cpu_ms_per_ap": round(cpu * 1000 / max(len(ok), 1), 1),
            "session_ms_median": round(statistics.median(rtts), 1) if rtts else None,
            "session_ms_p95": round(rtts[int(len(rtts) * 0.95) - 1], 1) if rtts else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--kind", choices=[*PROFILE_OF_KIND, "mixed"], default="linux")
    parser.add_argument("--serial-sample", type=int, default=20,
                        help="devices the one-at-a-time baseline polls (it is slow)")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args()
    defaults = SshSettings()
    with tempfile.TemporaryDirectory(prefix="hotspotctl-sshbench-") as tmp:
        folder = Path(tmp)
        process, served = serve(args.devices, args.kind, folder)
        try:
            known = folder / "known_hosts"
            known.write_text("\n".join(served["known_hosts"]) + "\n")
            auth, env, targets = {}, {}, []
            for device in served["devices"]:
                name = f"d{device['index']}"
                auth[name] = SshAuth(username=device["username"], password_env=f"BENCH_PW_{device['index']}")
                env[f"BENCH_PW_{device['index']}"] = device["password"]
                targets.append(SshTarget(f"AP-{device['index']:03d}", f"{served['host']}:{device['port']}", name,
                                         PROFILE_OF_KIND[device["kind"]]))
            settings = replace(defaults, auth=auth)
            figures = {"devices": args.devices, "kind": args.kind, "cpus": os.cpu_count(),
                       "pool_default": defaults.pool_size}
            figures["default_pool"] = poll(settings, known, targets, env)
            figures["double_pool"] = poll(replace(settings, pool_size=defaults.pool_size * 2), known, targets, env)
            figures["one_at_a_time"] = poll(replace(settings, pool_size=1), known, targets[:args.serial_sample], env)
            figures["speedup_vs_one_at_a_time"] = round(
                figures["default_pool"]["aps_per_s"] / figures["one_at_a_time"]["aps_per_s"], 1)
            figures["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        finally:
            process.terminate()
            process.wait(timeout=30)
    if args.format == "json":
        print(json.dumps(figures, indent=1))
        return 0
    print(f"SSH polling, {args.devices} {args.kind} devices on loopback, {figures['cpus']} CPUs")
    for key, label in (("default_pool", f"default pool ({defaults.pool_size})"),
                       ("double_pool", f"pool {defaults.pool_size * 2}"),
                       ("one_at_a_time", f"one at a time ({args.serial_sample} APs)")):
        f = figures[key]
        print(f"  {label:<26} {f['ok']:>4}/{f['aps']} ok  {f['wall_s']:>7.2f} s  {f['aps_per_s']:>6.1f} APs/s  "
              f"CPU {f['cpu_ms_per_ap']:>5.1f} ms/AP  session median {f['session_ms_median']} ms, "
              f"p95 {f['session_ms_p95']} ms")
    print(f"  default pool vs one at a time: x{figures['speedup_vs_one_at_a_time']}; peak RSS {figures['rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
