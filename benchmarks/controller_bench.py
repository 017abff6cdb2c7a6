#!/usr/bin/env python3
"""A controller of 10,000 APs read in one walk, against the same APs polled one by one.

Starts the simulator (``hotspotctl.simulate``, forked serving processes on loopback) with --aps APs
that are both managed by one simulated --vendor controller and answering at their own addresses, then,
in this one process, one after the other:

  controller  ``read_controller`` (collectors/tables.py) with the vendor's controller profile
              (tests/simulate/profiles/sim_<vendor>.yaml): every column walked together
              (``WalkerDevice.walk`` shares each GETBULK among the columns, on our codec) and the rows
              turned into ``ManagedAp``/``Radio`` records; --walks times
  direct      one GET per AP at its own address through the poll engine (``SnmpGetEngine.get_many``):
              the eight-or-so OIDs of its family's poll (uptime, the uplink's octets, speed and status,
              the clients objects); the GET alone, no record built from it
  direct_radios  the same GET with six more OIDs per radio port (status, octets, speed): about as many
              values per AP as the controller's radio rows give
  poll        the same APs through the poller (``Poller.poll`` after ``Poller.discover``, not timed): one
              GET per AP and the ``Sample`` built from it, the direct path's equal of the walk's records

Poller CPU is ``time.process_time()`` of this process around each measured run (the simulator's
processes are others); the fleet built before is frozen out of the garbage collector first, as
``hotspotctl run`` freezes its inventory. Each run is checked: the walk must find every AP and both radios of each, and
every direct GET must be answered, so neither side can look fast by failing. Prints figures; asserts
nothing about time.

    .venv/bin/python benchmarks/controller_bench.py [--aps 10000] [--vendor cisco_aireos] [--walks 3]
    .venv/bin/python benchmarks/controller_bench.py --format json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotctl.collectors.engine import GetFailure, GetRequest, GetShape, SnmpGetEngine  # noqa: E402
from hotspotctl.collectors.profiles import load_profile  # noqa: E402
from hotspotctl.collectors.tables import read_controller  # noqa: E402
from hotspotctl.collectors.walker import WalkerClient  # noqa: E402
from hotspotctl.models.access_points import AccessPoint  # noqa: E402
from hotspotctl.simulate import controllers as ctl  # noqa: E402
from hotspotctl.simulate.agent import SimAp, address_of  # noqa: E402
from hotspotctl.simulate.devices import IF_ENTRY, IFX_ENTRY, SYSTEM  # noqa: E402
from hotspotctl.simulate.simulator import Simulator, build_fleet  # noqa: E402
from hotspotctl.simulate.traffic import Clock  # noqa: E402

COMMUNITY = b"public"  # the "default" credential set's, so the poller's Targets reach the APs
PROGRAMS = ("Escuelas", "Pilares", "MiCalle", "Poste C5", "Unidades Habitacionales",
            "Transporte (Metrobus, Cablebus, Tren Ligero, Trolebus, etc.)")
SIM_PROFILES = ROOT / "tests" / "simulate" / "profiles"  # controller sections written from the vendors' MIBs


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


def run_controller(address: str, port: int, vendor: str, aps: int, walks: int, repetitions: int) -> Run:
    profile = load_profile(SIM_PROFILES / f"sim_{vendor}.yaml")
    run = Run("controller")

    async def main() -> None:
        with WalkerClient(timeout_s=1.0, retries=2, deadline_s=10.0, max_rows=20 * aps,
                       max_repetitions=repetitions) as client:
            device = client.device(address, port, COMMUNITY)
            await read_controller(device, profile)  # warm-up
            for _ in range(walks):
                requests = client.stats.requests
                started, cpu = time.perf_counter(), time.process_time()
                reading = await read_controller(device, profile)
                run.cpu_s.append(time.process_time() - cpu)
                run.wall_s.append(time.perf_counter() - started)
                run.requests = client.stats.requests - requests
                run.aps = len(reading.aps)
                run.rows = sum(len(ap.radios) for ap in reading.aps)
                radios = 2 * aps if profile.controller is not None and profile.controller.radios is not None else 0
                if run.aps != aps or run.rows != radios or reading.joined != aps:
                    raise SystemExit(f"the walk found {run.aps} APs ({reading.joined} joined) and {run.rows} "
                                     f"radios, not {aps} and {radios}")

    asyncio.run(main())
    return run


def direct_shapes(fleet: list[SimAp], radios: bool = False) -> dict[str, GetShape]:
    """Per family, the OIDs of its poll; with ``radios``, six more per radio (ifOperStatus, the octet counters
    and speed of the radio ports): as many values per AP as a controller's two radio rows give."""
    shapes = {}
    for sim in fleet:
        family = sim.tree.family
        if family.name in shapes:
            continue
        uplink = next(p.index for p in family.ports if p.role == "uplink")
        clients = [o.oid for o in family.extra if o.kind.startswith("clients")]
        oids = [(*SYSTEM, 3, 0), (*IFX_ENTRY, 6, uplink), (*IFX_ENTRY, 10, uplink), (*IFX_ENTRY, 15, uplink),
                (*IF_ENTRY, 8, uplink), (*IF_ENTRY, 10, uplink), (*IF_ENTRY, 16, uplink), *clients]
        if radios:
            for port in (p.index for p in family.ports if p.role == "radio"):
                oids += [(*IF_ENTRY, 8, port), (*IF_ENTRY, 10, port), (*IF_ENTRY, 16, port), (*IFX_ENTRY, 6, port),
                         (*IFX_ENTRY, 10, port), (*IFX_ENTRY, 15, port)]
        shapes[family.name] = GetShape(COMMUNITY, oids)
    return shapes


def run_direct(fleet: list[SimAp], port: int, rounds: int, radios: bool = False) -> Run:
    shapes = direct_shapes(fleet, radios)
    run = Run("direct_radios" if radios else "direct")

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
    parser.add_argument("--repetitions", type=int, default=25,
                        help="the client's max_repetitions (WalkerClient's default): rows per GETBULK, all columns; "
                             "read_controller asks for at least tables.CONTROLLER_REPETITIONS (the agent's answer "
                             "size stops it first)")
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
    # As `hotspotctl run` does (docs/decisions/gc-freeze.md): the long-lived objects (here the simulated fleet)
    # out of the collector, so no phase pays for full collections of a heap another phase left unscanned.
    gc.collect()
    gc.freeze()
    with Simulator([*fleet, agent], clock, port=port, processes=args.processes, seed=1) as sim:
        before = sim.stats()
        walk = run_controller(address_of(agent.index), port, args.vendor, args.aps, args.walks, args.repetitions)
        time.sleep(0.3)  # the serving processes publish their counters every 0.25 s
        after = sim.stats()
        served_cpu = after["cpu_s"] - before["cpu_s"]  # the warm-up walk and the measured ones
        served_walks = args.walks + 1
        direct = run_direct(fleet, port, args.walks)
        direct_radios = run_direct(fleet, port, args.walks, radios=True)
        poll = run_poll(fleet, port, args.walks)
    walk_wall, walk_cpu = walk.best()
    direct_wall, direct_cpu = direct.best()
    poll_wall, poll_cpu = poll.best()
    figures = {
        "aps": args.aps, "vendor": args.vendor, "repetitions": args.repetitions, "walks": args.walks,
        "controller": {"wall_s": round(walk_wall, 3), "cpu_s": round(walk_cpu, 3), "requests": walk.requests,
                       "radios": walk.rows, "cpu_us_per_ap": round(walk_cpu / args.aps * 1e6, 1),
                       "simulator_cpu_s_per_walk": round(served_cpu / served_walks, 3)},
        "direct": {"wall_s": round(direct_wall, 3), "cpu_s": round(direct_cpu, 3), "requests": direct.requests,
                   "cpu_us_per_ap": round(direct_cpu / args.aps * 1e6, 1)},
        "direct_radios": {"wall_s": round(direct_radios.best()[0], 3), "cpu_s": round(direct_radios.best()[1], 3),
                          "requests": direct_radios.requests,
                          "cpu_us_per_ap": round(direct_radios.best()[1] / args.aps * 1e6, 1)},
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
    print(f"{'':<14}{'wall s':>9}{'CPU s':>9}{'CPU µs/AP':>11}{'requests':>10}")
    for name in ("controller", "direct", "direct_radios", "poll"):
        f = figures[name]
        print(f"{name:<14}{f['wall_s']:>9.3f}{f['cpu_s']:>9.3f}{f['cpu_us_per_ap']:>11.1f}{f['requests']:>10}")
    print(f"the simulated controller spent {figures['controller']['simulator_cpu_s_per_walk']:.3f} s of CPU per walk "
          f"answering it")
    print(f"per AP, a direct GET costs {figures['cpu_ratio_direct_over_controller']}x and a direct poll (GET + "
          f"Sample) {figures['cpu_ratio_poll_over_controller']}x the poller CPU of the controller walk (+ records)")


if __name__ == "__main__":
    main()
