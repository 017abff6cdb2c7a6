#!/usr/bin/env python3
"""A controller of 10,000 APs read in one walk, against the same APs polled one by one.

Starts the simulator (``hotspotctl.simulate``, forked serving processes on loopback) with --aps APs
that are both managed by one simulated --vendor controller and answering at their own addresses, then,
in this one process, one after the other:

  controller  one walk of the controller's per-AP tables: every column a controller profile reads,
              walked together (``V2cDevice.walk`` shares each GETBULK among the columns, on our codec),
              then the rows assembled into ``ManagedAp``/``Radio`` records; --walks times
  direct      one GET per AP at its own address through the poll engine (``SnmpGetEngine.get_many``):
              the eight-or-so OIDs of its family's poll (uptime, the uplink's octets, speed and status,
              the clients objects); the GET alone, no record built from it
  poll        the same APs through the poller (``Poller.poll`` after ``Poller.discover``, not timed): one
              GET per AP and the ``Sample`` built from it, the direct path's equal of the walk's records

Poller CPU is ``time.process_time()`` of this process around each measured run (the simulator's
processes are others). Each run is checked: the walk must find every AP and both radios of each, and
every direct GET must be answered, so neither side can look fast by failing. Prints figures; asserts
nothing about time.

    .venv/bin/python benchmarks/controller_bench.py [--aps 10000] [--vendor cisco_aireos] [--walks 3]
    .venv/bin/python benchmarks/controller_bench.py --format json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotctl.collectors.engine import GetFailure, GetRequest, GetShape, SnmpGetEngine  # noqa: E402
from hotspotctl.collectors.oids import Oid  # noqa: E402
from hotspotctl.collectors.walker import V2cClient  # noqa: E402
from hotspotctl.models.access_points import AccessPoint  # noqa: E402
from hotspotctl.models.radios import ManagedAp, Radio, channel_to_mhz, format_mac  # noqa: E402
from hotspotctl.simulate import controllers as ctl  # noqa: E402
from hotspotctl.simulate.agent import SimAp, address_of  # noqa: E402
from hotspotctl.simulate.devices import IF_ENTRY, IFX_ENTRY, SYSTEM  # noqa: E402
from hotspotctl.simulate.simulator import Simulator, build_fleet  # noqa: E402
from hotspotctl.simulate.traffic import Clock  # noqa: E402

COMMUNITY = b"public"  # the "default" credential set's, so the poller's Targets reach the APs
PROGRAMS = ("Escuelas", "Pilares", "MiCalle", "Poste C5", "Unidades Habitacionales",
            "Transporte (Metrobus, Cablebus, Tren Ligero, Trolebus, etc.)")
BANDS = {1: "2.4GHz", 2: "5GHz"}  # bsnAPIfType dot11b(1), dot11a(2)


@dataclass(frozen=True)
class Layout:
    """What a controller profile walks for one vendor: AP columns, radio columns and how to read them."""

    ap_columns: dict[str, Oid]
    radio_columns: dict[str, Oid]
    noise: Oid | None = None  # a per-channel noise table (Cisco), joined to the radio's channel


LAYOUTS = {
    "cisco_aireos": Layout(
        {"name": (*ctl.BSN_AP, 3), "status": (*ctl.BSN_AP, 6), "uptime": (*ctl.CLAP, 6)},
        {"type": (*ctl.BSN_AP_IF, 2), "channel": (*ctl.BSN_AP_IF, 4), "power_level": (*ctl.BSN_AP_IF, 6),
         "oper": (*ctl.BSN_AP_IF, 12), "clients": (*ctl.BSN_AP_IF, 15), "util": (*ctl.BSN_AP_IF_LOAD, 3)},
        noise=(*ctl.BSN_AP_IF_NOISE, 21)),
    "aruba_mc": Layout(
        {"name": (*ctl.WLSX_AP, 3), "uptime": (*ctl.WLSX_AP, 12), "status": (*ctl.WLSX_AP, 19)},
        {"type": (*ctl.WLSX_RADIO, 2), "channel": (*ctl.WLSX_RADIO, 3), "power2": (*ctl.WLSX_RADIO, 4),
         "util": (*ctl.WLSX_RADIO, 6), "clients": (*ctl.WLSX_RADIO, 7)}),
    "ruckus_sz": Layout(
        {"name": (*ctl.RUCKUS_SZ_AP, 5), "uptime": (*ctl.RUCKUS_SZ_AP, 6), "clients": (*ctl.RUCKUS_SZ_AP, 15),
         "status": (*ctl.RUCKUS_SZ_AP, 16), "rx": (*ctl.RUCKUS_SZ_AP, 30), "tx": (*ctl.RUCKUS_SZ_AP, 31)}, {}),
    "huawei_ac": Layout(
        {"name": (*ctl.HW_AP, 4), "status": (*ctl.HW_AP, 6), "uptime": (*ctl.HW_AP, 18)},
        {"type": (*ctl.HW_RADIO, 5), "oper": (*ctl.HW_RADIO, 6), "channel": (*ctl.HW_RADIO, 7),
         "power": (*ctl.HW_RADIO, 9), "noise": (*ctl.HW_RADIO, 24), "util": (*ctl.HW_RADIO, 25),
         "clients": (*ctl.HW_RADIO, 40)}),
}


@dataclass
class Run:
    name: str
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    requests: int = 0
    aps: int = 0
    rows: int = 0

    def best(self) -> tuple[float, float]:
        i = min(range(len(self.cpu_s)), key=self.cpu_s.__getitem__)
        return self.wall_s[i], self.cpu_s[i]


def _index(rows: list[tuple[Oid, Any]], column: Oid) -> dict[tuple[int, ...], Any]:
    size = len(column)
    return {oid[size:]: value for oid, value in rows}


def assemble(vendor: str, walked: dict[str, list[tuple[Oid, Any]]], layout: Layout) -> list[ManagedAp]:
    """The walked rows as records, as a controller collector builds them (name, MAC, joined, uptime, radios)."""
    ap_cols = {name: _index(walked[name], oid) for name, oid in layout.ap_columns.items()}
    radio_cols = {name: _index(walked[name], oid) for name, oid in layout.radio_columns.items()}
    noise = _index(walked["noise"], layout.noise) if layout.noise is not None else {}
    radios_of: dict[tuple[int, ...], list[Radio]] = {}
    for key, channel in radio_cols.get("channel", {}).items():
        ap_key, slot = key[:-1], key[-1]
        band = ("2.4GHz" if radio_cols["type"][key] in (1, 3) else "5GHz") if vendor != "huawei_ac" else \
            ("2.4GHz" if radio_cols["type"][key] == 1 else "5GHz")
        if vendor == "cisco_aireos":
            levels = ctl.CISCO_POWER_LISTS[band]
            power: float | None = levels[radio_cols["power_level"][key] - 1]
            up: bool | None = radio_cols["oper"][key] == 2
            floor: float | None = noise.get((*key, channel))
        elif vendor == "aruba_mc":
            power, up, floor = radio_cols["power2"][key] / 2, None, None
        else:
            power, up = radio_cols["power"][key], radio_cols["oper"][key] == 1
            floor = radio_cols["noise"][key] or None
        radios_of.setdefault(ap_key, []).append(Radio(
            f"radio {slot}", band=band, channel=channel, frequency_mhz=channel_to_mhz(channel, band),
            clients=radio_cols["clients"][key], utilization_pct=float(radio_cols["util"][key]),
            noise_floor_dbm=floor, tx_power_dbm=power, oper_up=up))
    out = []
    for key, name in ap_cols["name"].items():
        status = ap_cols["status"].get(key)
        joined = {"cisco_aireos": status == 1, "aruba_mc": status == 1, "ruckus_sz": status == b"Connect",
                  "huawei_ac": status == ctl.HW_NORMAL}[vendor]
        uptime = ap_cols["uptime"].get(key)
        radios = tuple(radios_of.get(key, ()))
        clients = ap_cols["clients"][key] if "clients" in ap_cols else sum(r.clients or 0 for r in radios)
        out.append(ManagedAp(".".join(map(str, key)), name.decode(), format_mac(key), joined,
                             uptime_s=None if uptime is None else uptime * (1 if vendor == "huawei_ac" else 0.01),
                             clients=clients, in_octets=ap_cols["tx"][key] if "tx" in ap_cols else None,
                             out_octets=ap_cols["rx"][key] if "rx" in ap_cols else None, radios=radios))
    return out


def run_controller(address: str, port: int, vendor: str, aps: int, walks: int, repetitions: int) -> Run:
    layout = LAYOUTS[vendor]
    columns = {**layout.ap_columns, **layout.radio_columns, **({"noise": layout.noise} if layout.noise else {})}
    run = Run("controller")

    async def walk(client: V2cClient) -> dict[str, list[tuple[Oid, Any]]]:
        device = client.device(address, port, COMMUNITY)
        rows = await asyncio.gather(*(device.walk(oid) for oid in columns.values()))
        return dict(zip(columns, rows, strict=True))

    async def main() -> None:
        with V2cClient(timeout_s=1.0, retries=2, deadline_s=10.0, max_rows=20 * aps,
                       max_repetitions=repetitions) as client:
            await walk(client)  # warm-up
            for _ in range(walks):
                requests = client.stats.requests
                started, cpu = time.perf_counter(), time.process_time()
                records = assemble(vendor, await walk(client), layout)
                run.cpu_s.append(time.process_time() - cpu)
                run.wall_s.append(time.perf_counter() - started)
                run.requests = client.stats.requests - requests
                run.aps = len(records)
                run.rows = sum(len(r.radios) for r in records)
                if run.aps != aps or (layout.radio_columns and run.rows != 2 * aps):
                    raise SystemExit(f"the walk found {run.aps} APs and {run.rows} radios, not {aps} and {2 * aps}")

    asyncio.run(main())
    return run


def direct_shapes(fleet: list[SimAp]) -> dict[str, GetShape]:
    shapes = {}
    for sim in fleet:
        family = sim.tree.family
        if family.name in shapes:
            continue
        uplink = next(p.index for p in family.ports if p.role == "uplink")
        clients = [o.oid for o in family.extra if o.kind.startswith("clients")]
        oids = [(*SYSTEM, 3, 0), (*IFX_ENTRY, 6, uplink), (*IFX_ENTRY, 10, uplink), (*IFX_ENTRY, 15, uplink),
                (*IF_ENTRY, 8, uplink), (*IF_ENTRY, 10, uplink), (*IF_ENTRY, 16, uplink), *clients]
        shapes[family.name] = GetShape(COMMUNITY, oids)
    return shapes


def run_direct(fleet: list[SimAp], port: int, rounds: int) -> Run:
    shapes = direct_shapes(fleet)
    run = Run("direct")

    def requests() -> list[GetRequest]:
        return [GetRequest(i, (address_of(sim.index), port), shapes[sim.tree.family.name])
                for i, sim in enumerate(fleet)]

    async def main() -> None:
        with SnmpGetEngine(timeout_s=1.0, retries=2, deadline_s=10.0) as engine:
            await engine.get_many(requests())  # warm-up
            for _ in range(rounds):
                started, cpu = time.perf_counter(), time.process_time()
                results = await engine.get_many(requests())  # building the requests is counted too
                run.cpu_s.append(time.process_time() - cpu)
                run.wall_s.append(time.perf_counter() - started)
                failed = sum(1 for r in results if isinstance(r, GetFailure))
                if failed:
                    raise SystemExit(f"{failed} of {len(results)} direct GETs failed")
                run.requests = run.aps = len(results)

    asyncio.run(main())
    return run


def run_poll(fleet: list[SimAp], port: int, rounds: int) -> Run:
    import dataclasses

    from hotspotctl.collectors.model import Discovery, Sample
    from hotspotctl.collectors.poller import Poller, Target
    from hotspotctl.collectors.profiles import load_profiles
    from hotspotctl.settings import Settings

    settings = dataclasses.replace(Settings().snmp, timeout_s=1.0, retries=2, deadline_s=10.0)
    targets = [Target(sim.id, f"{address_of(sim.index)}:{port}", "default") for sim in fleet]
    run = Run("poll")

    async def main() -> None:
        with Poller(settings, load_profiles([])) as poller:
            found = await poller.discover(targets)
            work = [(t, d, False) for t, d in zip(targets, (found[t.ap] for t in targets), strict=True)
                    if isinstance(d, Discovery)]
            if len(work) != len(targets):
                raise SystemExit(f"discovered {len(work)} of {len(targets)} APs")
            await poller.poll(work)  # warm-up
            for _ in range(rounds):
                started, cpu = time.perf_counter(), time.process_time()
                results, _ = await poller.poll(work)
                run.cpu_s.append(time.process_time() - cpu)
                run.wall_s.append(time.perf_counter() - started)
                failed = sum(1 for r in results if not isinstance(r, Sample))
                if failed:
                    raise SystemExit(f"{failed} of {len(results)} polls failed")
                run.requests = run.aps = len(results)

    asyncio.run(main())
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aps", type=int, default=10_000)
    parser.add_argument("--vendor", choices=sorted(ctl.VENDORS), default="cisco_aireos")
    parser.add_argument("--walks", type=int, default=3, help="measured walks (and direct rounds); the best is shown")
    parser.add_argument("--repetitions", type=int, default=50,
                        help="the walker's max_repetitions: rows per GETBULK, shared by the columns")
    parser.add_argument("--processes", type=int, default=1, help="simulator serving processes")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()

    from tests.servers import free_udp_port  # a free port, as the tests pick one

    clock = Clock.starting(time.time(), start_hour=19.0)
    aps = [AccessPoint(f"BENCH-{i:05d}", 19.4, -99.1, program=PROGRAMS[i % len(PROGRAMS)], district="Cuauhtémoc")
           for i in range(args.aps)]
    fleet = build_fleet(aps, clock, seed=1, community=COMMUNITY)
    controller = ctl.SimController("WLC-BENCH", args.vendor, ctl.managed_aps(fleet, controller_index=1, seed=1))
    agent = ctl.controller_agent(controller, clock, index=len(fleet), community=COMMUNITY)
    port = free_udp_port()
    with Simulator([*fleet, agent], clock, port=port, processes=args.processes, seed=1):
        walk = run_controller(address_of(agent.index), port, args.vendor, args.aps, args.walks, args.repetitions)
        direct = run_direct(fleet, port, args.walks)
        poll = run_poll(fleet, port, args.walks)
    walk_wall, walk_cpu = walk.best()
    direct_wall, direct_cpu = direct.best()
    poll_wall, poll_cpu = poll.best()
    figures = {
        "aps": args.aps, "vendor": args.vendor, "repetitions": args.repetitions, "walks": args.walks,
        "controller": {"wall_s": round(walk_wall, 3), "cpu_s": round(walk_cpu, 3), "requests": walk.requests,
                       "radios": walk.rows, "cpu_us_per_ap": round(walk_cpu / args.aps * 1e6, 1)},
        "direct": {"wall_s": round(direct_wall, 3), "cpu_s": round(direct_cpu, 3), "requests": direct.requests,
                   "cpu_us_per_ap": round(direct_cpu / args.aps * 1e6, 1)},
        "poll": {"wall_s": round(poll_wall, 3), "cpu_s": round(poll_cpu, 3), "requests": poll.requests,
                 "cpu_us_per_ap": round(poll_cpu / args.aps * 1e6, 1)},
        "cpu_ratio_direct_over_controller": round(direct_cpu / walk_cpu, 2) if walk_cpu else None,
        "cpu_ratio_poll_over_controller": round(poll_cpu / walk_cpu, 2) if walk_cpu else None,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    if args.format == "json":
        print(json.dumps(figures, indent=2))
        return
    print(f"{args.aps} APs behind one simulated {args.vendor} controller; best of {args.walks}")
    print(f"{'':<12}{'wall s':>9}{'CPU s':>9}{'CPU µs/AP':>11}{'requests':>10}")
    for name in ("controller", "direct", "poll"):
        f = figures[name]
        print(f"{name:<12}{f['wall_s']:>9.3f}{f['cpu_s']:>9.3f}{f['cpu_us_per_ap']:>11.1f}{f['requests']:>10}")
    print(f"per AP, a direct GET costs {figures['cpu_ratio_direct_over_controller']}x and a direct poll (GET + "
          f"Sample) {figures['cpu_ratio_poll_over_controller']}x the poller CPU of the controller walk (+ records)")


if __name__ == "__main__":
    main()
