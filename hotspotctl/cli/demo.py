"""hotspotctl demo: the main job on embedded defaults, against a simulated city."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from hotspotctl import clock
from hotspotctl.bundled import CDMX_INVENTORY, bundled_path
from hotspotctl.cli import output
from hotspotctl.cli.logs import configure
from hotspotctl.cli.output import PhaseProgress
from hotspotctl.cli.render import render_import
from hotspotctl.cli.runtime import runtime
from hotspotctl.collectors.auth import DEFAULT_AUTH, resolve
from hotspotctl.collectors.model import Discovery
from hotspotctl.collectors.poller import Poller
from hotspotctl.errors import ExitCode, InputError
from hotspotctl.evaluate.rollup import rollup
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.reports.crews import crew_lists_from_store
from hotspotctl.reports.files import atomic_output
from hotspotctl.reports.outages import open_outages as find_open_outages
from hotspotctl.reports.render import write_crews_csv, write_crews_html, write_crews_json
from hotspotctl.scheduling.cycle import discover_aps
from hotspotctl.scheduling.service import CycleRunner, Service
from hotspotctl.settings import SIM_V3_AUTH, SIM_V3_AUTH_ENV, SIM_V3_PRIV_ENV
from hotspotctl.simulate.scenario import load_named_scenario
from hotspotctl.simulate.simulator import (
    DEFAULT_PORT,
    Simulator,
    assign_addresses,
    default_processes,
    plan_simulation,
    served_rows,
    spread,
)
from hotspotctl.simulate.usm import usm_for
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.store.lock import ServiceLock


def demo(
    ctx: typer.Context,
    inventory: Annotated[Path | None, typer.Option(
        help="inventory file to use instead of the bundled Mexico City one", show_default=False)] = None,
    count: Annotated[int | None, typer.Option(
        "--count", "-n", min=1, help="simulate N APs spread over the city (default: all 35,350)",
        show_default=False)] = None,
    cycles: Annotated[int, typer.Option("--cycles", min=1, help="poll cycles to run")] = 4,
    interval: Annotated[float, typer.Option("--interval", min=1, help="seconds between cycles")] = 20.0,
    scenario: Annotated[str, typer.Option("--scenario", help="faults to play: a shipped name, a file, or none")
                        ] = "cdmx",
    seed: Annotated[int, typer.Option("--seed", help="same seed, same simulated city")] = 1,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="UDP port of the simulated agents")
                    ] = DEFAULT_PORT,
    controllers: Annotated[int, typer.Option(
        "--controllers", min=0, help="put the APs of the K districts with the most APs behind K simulated wireless "
                                     "controllers (Cisco AireOS, Aruba, Ruckus SmartZone, Huawei in turn), read by "
                                     "one walk each per cycle; 0 polls every AP directly")] = 0,
) -> ExitCode:
    """The whole job on a simulated Mexico City: inventory, simulator, discovery, cycles, figures.

    1. imports the bundled inventory of 35,350 public hotspots into the store (./var) unless
       it is there already;
    2. points every AP at the simulator (127.16.0.1 + index) and starts it with the shipped
       fault scenario (sites without power, dead APs, reboot loops, flapping, 32-bit wraps,
       slow uplinks, latency, loss; SNMPv3 on 1 %);
    3. discovers what was never discovered, then runs a few scheduled poll cycles;
    4. prints the fleet by district, the worst sites, the poller's own figures and where the
       metrics went.

    Run it again and it reuses the store: no import, no discovery, straight to the cycles.
    Ctrl-C stops everything cleanly.

    Examples:

      hotspotctl demo

      hotspotctl demo --count 5000 --cycles 3 --interval 10

      hotspotctl demo --controllers 4      # four districts read through their controllers
    """
    rt = runtime(ctx)
    if controllers and importlib.util.find_spec("hotspotctl.collectors.controllers") is None:
        raise InputError("--controllers needs the cycle that reads wireless controllers (issue 17), which this "
                         "build does not have; run the demo without it")
    configure()
    # the simulated APs live on loopback, which answers every ping whatever the scenario: pinged, a power cut
    # would read as agents gone silent (agent_silent), not APs offline. The demo polls with SNMP alone.
    settings = replace(rt.settings, ping=replace(rt.settings.ping, enabled=False))
    for variable in (SIM_V3_AUTH_ENV, SIM_V3_PRIV_ENV):  # the simulator's v3 user: a fresh secret per run
        os.environ.setdefault(variable, secrets.token_urlsafe(18))
    with rt.open_store() as store, ServiceLock.acquire(store, "hotspotctl demo"):
        output.message(f"store: {store.describe()}")
        fleet = Fleet.load(store, rt.zones())
        if not fleet.aps:
            report = import_inventory(store, inventory or bundled_path(*CDMX_INVENTORY), settings.inventory)
            render_import(report)
            fleet = Fleet.load(store, rt.zones())
        else:
            output.message(f"inventory: {len(fleet.aps)} APs at {len(fleet.sites)} sites already in the store")
        chosen = spread([ap for ap in fleet.aps.values() if not ap.is_controller], count)
        community = resolve(DEFAULT_AUTH, settings.snmp.auth).community
        plan = plan_simulation(fleet, chosen, seed=seed, scenario=load_named_scenario(scenario),
                               community=community, v3_fraction=0.01, port=port, controllers=controllers)
        changed = assign_addresses(store, plan, v2c_auth=DEFAULT_AUTH, v3_auth=SIM_V3_AUTH)
        if changed:
            output.message(f"pointed {changed} APs at the simulator (mgmt_address, snmp_auth)")
        simulator = Simulator(plan.fleet, plan.clock, port=port, processes=default_processes(),
                              usm=usm_for(settings, SIM_V3_AUTH), seed=seed)
        profiles = rt.profiles()
        sink = rt.sink()
        with simulator:
            summary = served_rows(plan, simulator)
            output.message(f"simulator: {summary['aps']} APs at {summary['addresses']} port {port}, "
                           f"{summary['v3']} on SNMPv3, scenario {summary['scenario'] or 'none'} "
                           f"({sum(1 for _ in plan.faults)} APs with faults)")
            for row in summary["controllers"]:
                output.message(f"  controller {row['id']} ({row['vendor']}) at {row['address']}: {row['aps']} APs "
                               "read through it")
            polled = [*plan.aps, *plan.controller_rows]  # the controllers are polled (and read) too
            try:
                service = asyncio.run(_run(store, settings, profiles, polled, rt, sink, cycles, interval))
            finally:
                sink.close()
            sim_stats = simulator.stats()
    if service is None:
        return ExitCode.OK
    _report(service, sink, sim_stats, rt, fleet.sites)
    with rt.open_store() as store:
        _crew_lists(store, Fleet.load(store, rt.zones()), rt, service)
    return ExitCode.OK


async def _run(store: Any, settings: Any, profiles: Any, aps: list[Any], rt: Any, sink: InfluxSink, cycles: int,
               interval: float) -> Service | None:
    with Poller.from_settings(settings, profiles) as poller:
        runner = CycleRunner(store, settings, profiles, aps, rt.zones(), sink, poller)
        service = Service(runner, interval_s=interval, grace_s=settings.schedule.grace_s, max_cycles=cycles)
        loop = asyncio.get_running_loop()
        discovering: asyncio.Task[Any] | None = None

        def interrupt() -> None:
            service.stop()
            if discovering is not None and not discovering.done():
                discovering.cancel()  # a walk of the city can take minutes: Ctrl-C stops it now

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, interrupt)
        try:
            # never discovered and never tried (the cycles retry the ones that were down, with back-off)
            memory = runner.memory
            todo = [ap for ap in aps if ap.id not in memory.discoveries and ap.id not in memory.states]
            if todo and not service.stopping:
                started = time.monotonic()
                with PhaseProgress(not rt.quiet) as progress:
                    discovering = asyncio.ensure_future(discover_aps(
                        store, todo, settings.snmp, profiles, poller, progress=progress, memory=memory))
                    try:
                        found = await discovering
                    except asyncio.CancelledError:
                        if not service.stopping:
                            raise
                        output.message("stopped during discovery; what was found is not kept (run the demo "
                                       "again to discover afresh)")
                        return None
                ok = sum(1 for r in found.values() if isinstance(r, Discovery))
                behind = sum(1 for ap in todo if ap.managed)  # read through their controllers, not discovered
                direct = len(todo) - behind
                output.message(f"discovered {ok} of {direct} APs in {time.monotonic() - started:.1f} s "
                               f"({direct - ok} did not answer: down in the scenario)"
                               + (f"; {behind} more are read through their controllers" if behind else ""))
            if service.stopping:
                return None
            output.message(f"polling every {interval:g} s for {cycles} cycles; Ctrl-C stops cleanly")
            await service.run()
        except asyncio.CancelledError:
            return None
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return service


def _report(service: Service, sink: InfluxSink, sim_stats: dict[str, float], rt: Any, sites: dict[str, Any]) -> None:
    runner = service.runner
    evaluated, report = runner.last_rollup, runner.last_report
    if evaluated is None or report is None:
        output.message("no cycle completed")
        return
    rows = [[district, t.aps, t.up, t.down, t.below_target, t.meeting_target, t.clients,
             round((t.in_bps + t.out_bps) / 1e6, 1)]
            for district, t in sorted(evaluated.districts.items(), key=lambda kv: -kv[1].aps)]
    f = evaluated.fleet
    rows.append(["all", f.aps, f.up, f.down, f.below_target, f.meeting_target, f.clients,
                 round((f.in_bps + f.out_bps) / 1e6, 1)])
    target = rt.settings.evaluate.target_mbps
    output.print_table(["district", "aps", "up", "down", f"below {target:g} Mb/s", "meeting", "clients",
                        "traffic Mb/s"], rows, title="The fleet by district (last cycle)")
    worst = [[site, sites[site].name if site in sites else "", sites[site].district if site in sites else "",
              t.aps, t.down, t.below_target]
             for site, t in rollup(report.outcomes, targets=runner.targets,
                                   healths=runner.evaluator.healths).worst_sites(10)]  # the cycle's own has no sites
    output.print_table(["site", "name", "district", "aps", "down", "below target"], worst,
                       title="Worst sites (most APs down, then below target)")
    records = service.records
    figures = [[i + 1, r.aps, r.ok, r.timed_out, r.failed, r.skipped, round(r.duration_s, 2),
                round((r.aps - r.skipped) / r.duration_s) if r.duration_s else 0, round(r.cpu_s, 2),
                round(r.lag_s, 2), r.points] for i, r in enumerate(records)]
    output.print_table(["cycle", "aps", "ok", "timed out", "failed", "backing off", "seconds", "APs/s", "CPU s",
                        "lag s", "points"], figures, title="The poller's own figures")
    answered = sim_stats["answered"]
    if answered:
        output.message(f"simulator: {answered:.0f} answers, {sim_stats['cpu_s']:.2f} CPU s "
                       f"({sim_stats['cpu_s'] / answered * 1e6:.1f} µs per answer)")
    status = sink.spool.status()
    if sink.configured:
        sent = service.flushed_points
        where = (f"metrics: {sent} points written to {sink.destination}"
                 + (f"; {status.points} points in {status.batches} batches still wait in the spool {status.directory} "
                    "(`hotspotctl spool flush` sends them)" if status.batches else "; the spool is empty"))
    else:
        where = (f"metrics: no InfluxDB configured (influx.url), so every point went to the spool: {status.batches} "
                 f"batches, {status.points} points, {status.bytes / 1e6:.1f} MB in {status.directory}\n"
                 "  load them: HOTSPOTCTL_INFLUX_URL=http://localhost:8086 HOTSPOTCTL_INFLUX_API=v1 "
                 "hotspotctl spool flush   (or set the v2 URL, org, bucket and token)")
    output.message(
        f"{where}\n"
        "dashboards: grafana/ (`hotspotctl grafana export DIR` writes provisioning for your Grafana)\n"
        "next:\n"
        "  hotspotctl simulate --assign &        # keep the city running, then:\n"
        "  hotspotctl run                        # poll it every minute, as the service does\n"
        "  hotspotctl status                     # the fleet now, with 24 h availability\n"
        "  hotspotctl outages list --open\n"
        "  hotspotctl report capacity            # congested hotspots, for planning\n"
        "  hotspotctl poll --once --district Iztapalapa --format json\n"
        "  hotspotctl inventory list --district iztapalapa --program escuelas")


def _crew_lists(store: Any, fleet: Fleet, rt: Any, service: Service) -> None:
    """The outages the cycles found, and the crew lists written where a crew lead can open them."""
    evaluation = service.runner.last_evaluation
    if evaluation is None:
        return
    open_outages = find_open_outages(store)
    causes: dict[str, list[int]] = {}
    for outage in open_outages:
        tally = causes.setdefault(outage.cause, [0, 0])
        tally[0] += 1
        tally[1] += len(outage.aps_now)
    rows = [[cause, n, aps] for cause, (n, aps) in sorted(causes.items(), key=lambda kv: -kv[1][0])]
    output.print_table(["cause", "open outages (sites)", "aps"], rows, title="Open outages for crews")
    output.message(f"evaluation: {', '.join(f'{n} {state}' for state, n in evaluation.states.most_common())}; "
                   f"{evaluation.causes.get('congested', 0)} congested, {evaluation.causes.get('rf_limited', 0)} "
                   f"RF-limited (channel busy) and {evaluation.causes.get('below_target', 0)} "
                   "below target on a thin backhaul (`hotspotctl report capacity`; not crew work)")
    now = clock.now()
    lists = crew_lists_from_store(store, fleet, rt.settings, now)
    folder = rt.settings.data_dir / "crews"
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_output(folder / "crews.html") as fh:
        write_crews_html(fh, lists, generated_at=now)
    with atomic_output(folder / "crews.csv") as fh:
        write_crews_csv(fh, lists)
    with atomic_output(folder / "crews.json") as fh:
        write_crews_json(fh, lists)
    stops = sum(len(z.stops) for z in lists)
    waiting = sum(z.more for z in lists)
    output.message(f"crew lists: {stops} stops in {len(lists)} zones (the {rt.settings.crews.max_stops} most urgent "
                   f"per zone, in route order; {waiting} more wait for the next list): {folder}/crews.html "
                   "(printable), crews.csv, crews.json\n"
                   "  hotspotctl crews list --zone Iztapalapa     # one zone's list on the terminal\n"
                   "  HOTSPOTCTL_CREWS_EMAIL_TO=crews@example.org hotspotctl crews send --via email --dry-run\n"
                   "                                               # what would go out, to whom (docs/outages.md)")
