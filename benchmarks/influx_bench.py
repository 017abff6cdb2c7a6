#!/usr/bin/env python3
"""One 35,350-AP cycle's points: encoded as line protocol, and written to a local InfluxDB 1.x.

encode   the lines of one cycle (ap_status for every AP, ap_traffic for the ones up, a
         fleet_rollup per district), as ``hotspotctl run`` builds them (``encode_cycle``):
         the first cycle (tag sets built and cached) and the later ones (cached).
         Baseline, same process, same points: influxdb-client's ``Point`` (tag, field, time,
         to_line_protocol), the way its documentation builds points.
write    those lines the way the scheduler sends them: ``InfluxSink.submit`` (spool batches of
         influx.batch_points: gzip, fsync, rename) then ``InfluxSink.flush`` (each stored gzip
         body POSTed to /write as is, deleted once InfluxDB answers 204), to Debian's influxd
         started here on a free loopback port with its data in a temporary folder. Each cycle has
         new timestamps (60 s apart), so every write adds points, as in production; ``--gap``
         seconds pass between two cycles' writes (production: the 60 s interval; back to back,
         each write also pays for the previous one's cache snapshot).
         Baseline, same process, same server: the next cycle's batches POSTed uncompressed,
         straight from memory (no spool).

The cycle's figures are synthetic but shaped like the city's (95 % up, 0-60 clients, rates in
the Mb/s), on the bundled inventory's real APs, ids, sites and districts.
Prints figures; asserts nothing about time.

``--encoder-baseline REV`` (e.g. 3854a6b) instead times our line protocol encoder against the one
of a git revision, in the same process, rounds interleaved (machines here vary 3x: the ratio is
the figure): a first cycle, a later (cached) one, and every AP's tag set built from scratch (the
escaping). No server is started.

    .venv/bin/python benchmarks/influx_bench.py [--aps 35350] [--cycles 3] [--format json]
    .venv/bin/python benchmarks/influx_bench.py --encoder-baseline 3854a6b
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotctl.bundled import CDMX_INVENTORY, bundled_path  # noqa: E402
from hotspotctl.collectors.model import PollError  # noqa: E402
from hotspotctl.evaluate.rates import RateSample  # noqa: E402
from hotspotctl.evaluate.rollup import rollup  # noqa: E402
from hotspotctl.inventory.fleet import CrewZones, Fleet  # noqa: E402
from hotspotctl.inventory.importer import import_inventory  # noqa: E402
from hotspotctl.scheduling.cycle import ApOutcome  # noqa: E402
from hotspotctl.scheduling.service import encode_cycle  # noqa: E402
from hotspotctl.settings import InfluxSettings, load_settings  # noqa: E402
from hotspotctl.simulate.simulator import spread  # noqa: E402
from hotspotctl.sinks.influx import InfluxSink  # noqa: E402
from hotspotctl.sinks.lineproto import ApLines  # noqa: E402
from hotspotctl.sinks.spool import Spool  # noqa: E402
from hotspotctl.store import Store  # noqa: E402

T0 = 1_790_000_000  # 2026-09-21: inside any retention policy, clear of the present


def fleet(data_dir: Path, count: int) -> tuple[list[Any], dict[str, str]]:
    settings = load_settings(flags={"data_dir": ("--data-dir", str(data_dir))}).settings
    with Store.open(settings.store_url) as store:
        import_inventory(store, bundled_path(*CDMX_INVENTORY), settings.inventory)
        zones = CrewZones.from_settings(settings.crew_zones)
        aps = spread(list(Fleet.load(store, zones).aps.values()), count)
    return aps, {ap.id: zones.zone_for(ap) for ap in aps}


def outcomes(aps: list[Any], at: float, rng: random.Random) -> list[ApOutcome]:
    result = []
    for ap in aps:
        if rng.random() < 0.05:
            result.append(ApOutcome(ap, "ubiquiti_unifi", None, PollError(ap.id, at, "timeout", "no answer")))
            continue
        clients = rng.randint(0, 60)
        link = 1000.0 if rng.random() < 0.9 else 100.0
        in_bps, out_bps = rng.uniform(1e5, 8e7), rng.uniform(1e5, 2e7)
        rate = RateSample(ap.id, at + rng.random(), 60.0, rng.uniform(1e3, 3e6), in_bps, out_bps, clients, link,
                          link, link / max(clients, 1), (in_bps + out_bps) / clients / 1e6 if clients else None,
                          False, ())
        result.append(ApOutcome(ap, "ubiquiti_unifi", rate, None, rng.uniform(0.5, 40.0)))
    return result


def point_baseline(done: list[ApOutcome], zones: dict[str, str], at_s: int) -> float:
    """The same ap_status/ap_traffic points through influxdb-client's Point; seconds."""
    from influxdb_client import Point, WritePrecision

    started = time.perf_counter()
    out = []
    for o in done:
        ap, r = o.ap, o.rate
        tags = {"ap": ap.id, "site": ap.site_id, "district": ap.district, "program": ap.program,
                "crew_zone": zones[ap.id], "profile": o.profile}
        p = Point("ap_status")
        for k, v in tags.items():
            if v:
                p.tag(k, v)
        p.field("up", 1 if r else 0).field("lat", float(ap.lat)).field("lon", float(ap.lon)).field("target_mbps", 200.0)
        if r is None:
            p.field("error_kind", "timeout")
            out.append(p.time(at_s, WritePrecision.S).to_line_protocol())
            continue
        p.field("rebooted", 0).field("uptime_s", int(r.uptime_s)).field("rtt_ms", round(o.rtt_ms, 3))
        p.field("clients", r.clients).field("per_user_mbps", r.per_user_mbps)
        p.field("below_target", 1 if r.per_user_mbps < 200 else 0)
        out.append(p.time(at_s, WritePrecision.S).to_line_protocol())
        t = Point("ap_traffic")
        for k, v in tags.items():
            if v:
                t.tag(k, v)
        t.field("in_bps", r.in_bps).field("out_bps", r.out_bps).field("link_mbps", r.link_mbps)
        t.field("capacity_mbps", r.capacity_mbps)
        if r.delivered_per_user_mbps is not None:
            t.field("delivered_per_user_mbps", r.delivered_per_user_mbps)
        out.append(t.time(at_s, WritePrecision.S).to_line_protocol())
    return time.perf_counter() - started


class Influxd:
    """Debian's influxd on a free loopback port, data in a temporary folder."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("influxd") or "/usr/bin/influxd"
        if not Path(binary).exists():
            raise SystemExit("influxd not found: `make servers` installs Debian's influxdb")
        root.mkdir(parents=True, exist_ok=True)
        self.port, rpc = free_port(), free_port()
        conf = root / "influxdb.conf"
        conf.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc}"\n'
            f'[meta]\n  dir = "{root}/meta"\n  logging-enabled = false\n'
            f'[data]\n  dir = "{root}/data"\n  wal-dir = "{root}/wal"\n  query-log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n  unix-socket-enabled = false\n'
            '[logging]\n  level = "warn"\n')
        self.process = subprocess.Popen([binary, "-config", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/ping", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("influxd did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, database: str, measurement: str) -> int:
        q = urllib.parse.urlencode({"db": database, "q": f'SELECT count("up") FROM "{measurement}"'})
        with urllib.request.urlopen(f"{self.url}/query?{q}", timeout=60) as answer:
            series = json.load(answer)["results"][0].get("series", [])
        return int(series[0]["values"][0][1]) if series else 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--aps", type=int, default=35_350)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--gap", type=float, default=5.0,
                        help="seconds between two cycles' writes (in production: the interval, 60 s)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--encoder-baseline", metavar="REV",
                        help="time the encoder against sinks/lineproto.py at this git revision instead")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hotspotctl-influx-bench-"))
    try:
        if args.encoder_baseline:
            compared = compare_encoders(root, args)
            print(json.dumps(compared, indent=2) if args.format == "json" else "\n".join([
                f"{compared['aps']} APs, medians of {compared['rounds']} interleaved rounds; the same lines from "
                f"both: {compared['same_lines']}", *(
                    f"{k}: {v['baseline_s']:.4f} s at {args.encoder_baseline}, {v['ours_s']:.4f} s ours: "
                    f"ours/baseline {v['ratio']:.3f}" for k, v in compared["medians"].items())]))
            return
        results = run(root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.format == "json":
        print(json.dumps(results, indent=2))
        return
    e, w = results["encode"], results["write"]
    print(f"{results['aps']} APs, {results['points']} points per cycle")
    print(f"encode: first cycle {e['first_s']:.3f} s, later cycles {e['cached_s']:.3f} s "
          f"({e['us_per_point']:.2f} µs/point); influxdb-client Point {e['point_s']:.3f} s "
          f"({e['point_ratio']:.1f}x ours)")
    print(f"write to InfluxDB {w['server']}: spool {w['spool_s']:.3f} s + flush {w['flush_s']:.3f} s = "
          f"{w['total_s']:.3f} s per cycle, median (each: {w['per_cycle_s']}; the first creates the series); "
          f"uncompressed POSTs from memory {w['plain_s']:.3f} s; all {w['stored']} ap_status points read back")
    print(f"peak RSS {results['rss_mb']:.0f} MB")


def compare_encoders(root: Path, args: argparse.Namespace, rounds: int = 6) -> dict[str, Any]:
    """Our encoder against a revision's lineproto.py, same fleet and cycles, rounds interleaved; medians."""
    import types

    source = subprocess.check_output(["git", "-C", str(ROOT), "show",
                                      f"{args.encoder_baseline}:hotspotctl/sinks/lineproto.py"], text=True)
    baseline = types.ModuleType("lineproto_baseline")
    exec(compile(source, "lineproto_baseline", "exec"), baseline.__dict__)
    import hotspotctl.sinks.lineproto as ours

    aps, zones = fleet(root / "store", args.aps)
    rng = random.Random(7)
    cycles = [outcomes(aps, T0 + 60 * n, rng) for n in range(2)]
    targets = {ap.id: ap.target_mbps or 200.0 for ap in aps}
    evaluated = [rollup(done, default_target_mbps=200.0) for done in cycles]
    gc.collect()
    gc.freeze()

    def encode(module: Any, lines: Any, n: int) -> list[str]:
        out: list[str] = []
        for o in cycles[n]:
            at = int(o.rate.at if o.rate is not None else o.error.at)
            lines.encode(out, o.ap, zones[o.ap.id], o.profile, o.rate, o.error.kind if o.error else None, o.rtt_ms,
                         at, targets[o.ap.id])
        for district, t in evaluated[n].districts.items():
            out.append(module.line("fleet_rollup", {"district": district}, {
                "aps": t.aps, "up": t.up, "down": t.down, "below_target": t.below_target, "clients": t.clients,
                "in_bps": float(t.in_bps), "out_bps": float(t.out_bps)}, T0 + 60 * n))
        return out

    times: dict[str, dict[str, list[float]]] = {name: {"first": [], "cached": [], "tag_sets": []}
                                                for name in ("baseline", "ours")}
    same = True
    for n in range(rounds):
        order = [("baseline", baseline), ("ours", ours)]
        for name, module in order if n % 2 else order[::-1]:
            lines = module.ApLines()
            started = time.perf_counter()
            first = encode(module, lines, 0)
            times[name]["first"].append(time.perf_counter() - started)
            started = time.perf_counter()
            encode(module, lines, 1)
            times[name]["cached"].append(time.perf_counter() - started)
            fresh = module.ApLines()
            started = time.perf_counter()
            for ap in aps:
                fresh.tags(ap, zones[ap.id], "ubiquiti_unifi")
            times[name]["tag_sets"].append(time.perf_counter() - started)
            if name == "ours":
                ours_lines = first
            else:
                baseline_lines = first
        same = same and ours_lines == baseline_lines
    medians = {k: {"baseline_s": round(statistics.median(times["baseline"][k]), 4),
                   "ours_s": round(statistics.median(times["ours"][k]), 4),
                   "ratio": round(statistics.median(times["ours"][k]) / statistics.median(times["baseline"][k]), 3)}
               for k in ("first", "cached", "tag_sets")}
    return {"aps": len(aps), "rounds": rounds, "same_lines": same, "medians": medians}


def run(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    aps, zones = fleet(root / "store", args.aps)
    rng = random.Random(7)
    # one more cycle than measured: the baseline writes it, uncompressed, after the measured ones
    cycles = [outcomes(aps, T0 + 60 * n, rng) for n in range(args.cycles + 1)]
    gc.collect()
    gc.freeze()

    targets = {ap.id: ap.target_mbps or 200.0 for ap in aps}
    lines = ApLines()
    encoded: list[list[str]] = []
    times = []
    for n, done in enumerate(cycles):
        evaluated = rollup(done, default_target_mbps=200.0)
        started = time.perf_counter()
        encoded.append(encode_cycle(lines, done, T0 + 60 * n, evaluated, zones, targets))
        times.append(time.perf_counter() - started)
    points = len(encoded[0])
    point_s = point_baseline(cycles[-1], zones, T0)
    cached = statistics.median(times[1:]) if len(times) > 1 else times[0]
    encode = {"first_s": round(times[0], 4), "cached_s": round(cached, 4),
              "us_per_point": round(cached / points * 1e6, 3), "point_s": round(point_s, 4),
              "point_ratio": round(point_s / cached, 2)}

    server = Influxd(root / "influx")
    try:
        settings = InfluxSettings(url=server.url, api="v1", database="bench")
        sink = InfluxSink(settings, Spool(root / "spool", max_bytes=8 << 30))
        spool_s, flush_s = [], []
        for n, batch in enumerate(encoded[:-1]):
            if n:
                time.sleep(args.gap)  # the server's own background work (cache snapshots) between cycles
            started = time.perf_counter()
            sink.submit(batch)
            spool_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = sink.flush()
            flush_s.append(time.perf_counter() - started)
            if not result.ok:
                raise SystemExit(f"flush failed: {result.error}")
        sink.close()
        # baseline: the next cycle's batches, uncompressed, one POST each, straight to /write
        import urllib3

        http = urllib3.PoolManager(retries=False)
        size = settings.batch_points
        time.sleep(args.gap)
        started = time.perf_counter()
        for start in range(0, points, size):
            body = ("\n".join(encoded[-1][start:start + size]) + "\n").encode()
            answer = http.request("POST", f"{server.url}/write?db=bench&precision=s", body=body)
            if answer.status != 204:
                raise SystemExit(f"baseline write failed: {answer.status} {answer.data[:200]!r}")
        plain_s = time.perf_counter() - started
        stored = server.count("bench", "ap_status")
        expected = sum(1 for batch in encoded for text in batch if text.startswith("ap_status"))
        if stored != expected:
            raise SystemExit(f"InfluxDB holds {stored} ap_status points, expected {expected}")
    finally:
        server.stop()
    total = [a + b for a, b in zip(spool_s, flush_s, strict=True)]
    write = {"server": "1.6 (Debian influxdb)", "spool_s": round(statistics.median(spool_s), 4),
             "flush_s": round(statistics.median(flush_s), 4), "total_s": round(statistics.median(total), 4),
             "points_per_s": round(points / statistics.median(flush_s)), "plain_s": round(plain_s, 4),
             "stored": stored, "per_cycle_s": [round(t, 3) for t in total], "gap_s": args.gap}
    return {"aps": len(aps), "points": points, "encode": encode, "write": write,
            "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


if __name__ == "__main__":
    main()
