"""hotspotctl simulate: the inventory's APs as SNMP agents on loopback."""

from __future__ import annotations

import signal
import sys
from typing import Annotated, Any

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import Format
from hotspotctl.cli.runtime import (
    ApOption,
    DistrictOption,
    FormatOption,
    ProgramOption,
    SiteOption,
    ZoneOption,
    runtime,
    selection,
)
from hotspotctl.collectors.auth import DEFAULT_AUTH, resolve
from hotspotctl.errors import ExitCode, InputError
from hotspotctl.settings import SIM_V3_AUTH
from hotspotctl.simulate.scenario import load_named_scenario
from hotspotctl.simulate.simulator import (
    DEFAULT_PORT,
    Simulator,
    assign_addresses,
    default_processes,
    import_simulated,
    plan_simulation,
    scaled_city,
    served_rows,
    spread,
)
from hotspotctl.simulate.usm import usm_for

ScenarioOption = Annotated[str, typer.Option(
    "--scenario", help="a shipped scenario by name (cdmx), a YAML file, or 'none' for a healthy fleet")]
SeedOption = Annotated[int, typer.Option("--seed", help="same seed, same fleet and same faults")]


def simulate(
    ctx: typer.Context,
    count: Annotated[int | None, typer.Option(
        "--count", "-n", min=1, help="simulate N APs spread over the fleet (default: every selected AP)",
        show_default=False)] = None,
    ap: ApOption = None, site: SiteOption = None, district: DistrictOption = None,
    program: ProgramOption = None, zone: ZoneOption = None,
    assign: Annotated[bool, typer.Option(
        "--assign", help="write the simulated addresses into the inventory's mgmt_address and snmp_auth (and the "
                         "--controllers rows, with their APs' controller column)")] = False,
    controllers: Annotated[int, typer.Option(
        "--controllers", min=0, help="put the APs of the K districts with the most simulated APs behind K simulated "
                                     "wireless controllers (Cisco AireOS, Aruba, Ruckus SmartZone, Huawei in turn); "
                                     "the inventory's own controller rows are simulated anyway")] = 0,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="UDP port of every simulated agent")
                    ] = DEFAULT_PORT,
    scenario: ScenarioOption = "cdmx",
    seed: SeedOption = 1,
    speed: Annotated[float, typer.Option(
        "--speed", min=0.001, help="simulated seconds per real second for the daily curves (1440: a day in a "
                                   "minute)")] = 1.0,
    start_hour: Annotated[float | None, typer.Option(
        "--start-hour", min=0, max=24, help="local hour the simulated day starts at (default: now)",
        show_default=False)] = None,
    v3_fraction: Annotated[float, typer.Option(
        "--v3-fraction", min=0.0, max=1.0, help="share of APs that speak only SNMPv3 (user of --v3-auth)")] = 0.01,
    v3_auth: Annotated[str, typer.Option("--v3-auth", help="credential set whose v3 user the simulator serves")
                       ] = SIM_V3_AUTH,
    scale: Annotated[int, typer.Option(
        "--scale", min=1, help="serve K copies of the city: copy k (2..K) is every AP again, id '<id>.k<k>', moved "
                               "to a cell around the city (--count N: N APs per copy; --assign stores every copy)")
                     ] = 1,
    processes: Annotated[int, typer.Option("--processes", "-p", min=1, help="serving processes (SO_REUSEPORT)")
                         ] = default_processes(),
    duration: Annotated[float | None, typer.Option(
        "--duration", min=0.1, help="stop after this many seconds (default: until Ctrl-C or SIGTERM)",
        show_default=False)] = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Serve the inventory's APs as simulated SNMP agents on loopback, with traffic and faults.

    Each AP answers at its own address, 127.16.0.1 + its index, on --port: v2c with the
    "default" credential set's community, or SNMPv3 for a --v3-fraction subset. Families
    (UniFi, MikroTik, Aruba Instant, generic) answer discovery walks and polls like the
    recorded devices they are modelled on; clients follow daily curves by programme; the
    scenario (YAML, see scenarios/README.md) takes APs, sites and links down.

    Wireless controllers: the inventory's controller rows (role controller) are served too,
    answering their vendor's per-AP tables for the APs that name them; --controllers K adds K
    more, each taking one district's APs. An AP behind a controller is silent at its own
    address; its controller leaves, loses radios or dies as the scenario says (ap_leave,
    radio_down, interference, controller_down).

    Run it in one terminal, poll it from another (after --assign once):

      hotspotctl simulate --assign

      hotspotctl simulate --count 2000 --scenario none --speed 1440

      hotspotctl simulate --controllers 4 --assign

      hotspotctl poll --once --district Iztapalapa

    --scale K serves K copies of the city, for measuring ten cities' worth of APs on one
    box: copy 1 is the inventory, copy k is every AP again as '<id>.k<k>' (its explicit
    site and controller suffixed alike), moved by whole city boxes to a ring around the
    city, with the city's districts, programmes and zones; --count N takes N APs per copy
    (K x N in all); --assign writes every copy into the inventory through `inventory
    import`'s checks, in one transaction, and again changes nothing:

      hotspotctl simulate --scale 10 --assign

    v3 passphrases come from HOTSPOTCTL_SIM_V3_AUTH_PASSWORD and HOTSPOTCTL_SIM_V3_PRIV_PASSWORD
    (the "sim-v3" set); give both, or --v3-fraction 0.
    """
    rt = runtime(ctx)
    inventory = rt.load_fleet()
    if not inventory.aps:
        raise InputError("the inventory is empty; import one first (`hotspotctl inventory import FILE`, "
                         "or `hotspotctl demo` for Mexico City's)")
    picked = inventory.select(selection(ap, site, district, program, zone))
    if scale > 1:
        inventory, chosen = scaled_city(inventory, picked, scale=scale, count=count, controllers=controllers,
                                        bounds=rt.settings.inventory.bounds)
        controllers = 0  # made per copy by scaled_city: the copies' controller rows are the inventory's now
    else:
        chosen = spread(picked, count)
    if not chosen:
        raise InputError("the selection matches no AP; `hotspotctl inventory list` shows what is there")
    community = resolve(DEFAULT_AUTH, rt.settings.snmp.auth).community
    usm = usm_for(rt.settings, v3_auth) if v3_fraction > 0 else None
    plan = plan_simulation(inventory, chosen, seed=seed, scenario=load_named_scenario(scenario),
                           community=community, v3_fraction=v3_fraction, port=port, speed=speed,
                           start_hour=start_hour, controllers=controllers)
    if assign and scale > 1:
        with rt.open_store() as store:
            report = import_simulated(store, plan, rt.settings.inventory, scale=scale, v2c_auth=DEFAULT_AUTH,
                                      v3_auth=v3_auth)
        output.message(f"wrote {scale} copies of the city ({len(plan.aps):,} APs, {len(plan.controller_rows)} "
                       f"controllers) into the inventory: {len(report.added):,} added, {len(report.updated):,} "
                       f"updated, {report.unchanged:,} unchanged; {report.sites:,} sites")
    elif assign:
        with rt.open_store() as store:
            changed = assign_addresses(store, plan, v2c_auth=DEFAULT_AUTH, v3_auth=v3_auth)
        output.message(f"assigned simulated addresses to {changed} APs in the inventory")
    sim = Simulator(plan.fleet, plan.clock, port=port, processes=processes, usm=usm, seed=seed)
    stop = {"now": False}

    def on_signal(*_: object) -> None:
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        with sim:
            summary = served_rows(plan, sim)
            if fmt == Format.JSON:
                output.print_json(summary)
                sys.stdout.flush()
            elif not rt.quiet:
                _print_summary(summary)
            missing = plan.unassigned()
            if missing and not rt.quiet:
                output.message(f"note: {missing} of {len(plan.aps)} simulated APs are not at their simulated "
                               "address in the inventory; run once with --assign so polls reach them")
            stats = sim.serve(stop=lambda: stop["now"], duration=duration,
                              report=None if rt.quiet else _print_stats)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if fmt == Format.JSON:
        output.print_json({"stats": stats})
    elif not rt.quiet:
        _print_stats(stats, final=True)
    return ExitCode.OK


def _print_summary(summary: dict[str, Any]) -> None:
    families = ", ".join(f"{name} {n}" for name, n in summary["families"].items())
    output.message(f"simulating {summary['aps']} APs at {summary['addresses']} port {summary['port']} "
                   f"({summary['processes']} processes; {families}; {summary['v3']} on SNMPv3); "
                   f"local hour {summary['clock']['local_hour']}, speed x{summary['clock']['speed']:g}")
    if summary["scenario"]:
        output.message(f"scenario {summary['scenario']}:")
        for fault in summary["faults"]:
            parameters = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                                   for k, v in fault["parameters"].items() if v is not None)
            what = "controllers" if fault["kind"] == "controller_down" else "APs"
            output.message(f"  {fault['kind']:<15} {fault['aps']:>6} {what} at {fault['sites']:>5} sites "
                           f"({fault['select']}{'; ' + parameters if parameters else ''})")
    for controller in summary["controllers"]:
        output.message(f"controller {controller['id']} ({controller['vendor']}) at {controller['address']}: "
                       f"{controller['aps']} APs")
    output.message("serving; Ctrl-C stops")


def _print_stats(stats: dict[str, float], *, final: bool = False) -> None:
    dropped = stats["dropped_down"] + stats["dropped_loss"] + stats["dropped_bad_community"]
    answered = stats["answered"]
    per_get = stats["cpu_s"] / answered * 1e6 if answered else 0.0
    output.message(f"{'served' if final else 'serving'}: {stats['requests']:.0f} requests, {answered:.0f} answered, "
                   f"{dropped:.0f} unanswered by scenario or community, {stats['malformed']:.0f} malformed; "
                   f"CPU {stats['cpu_s']:.2f} s ({per_get:.1f} µs per answer)")
