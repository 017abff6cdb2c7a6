"""hotspotctl poll --once and hotspotctl discover: SNMP over a selection of the fleet."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import Annotated, Any

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import Format, PhaseProgress
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
from hotspotctl.collectors.model import Discovery, PollError
from hotspotctl.collectors.poller import Poller
from hotspotctl.errors import ExitCode
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.scheduling.cycle import CycleReport, discover_aps, pinger_for, run_cycle
from hotspotctl.scheduling.service import CycleRunner
from hotspotctl.store.lock import ServiceLock, describe_holder

POLL_COLUMNS = ("ap", "status", "error", "profile", "uptime_s", "clients", "link_mbps", "in_bps", "out_bps",
                "capacity_mbps", "per_user_mbps", "delivered_per_user_mbps", "rtt_ms")


def poll(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="one cycle now, then exit")] = False,
    ap: ApOption = None, site: SiteOption = None, district: DistrictOption = None,
    program: ProgramOption = None, zone: ZoneOption = None,
    no_backoff: Annotated[bool, typer.Option(
        "--no-backoff", help="also try APs that are down and waiting out their back-off")] = False,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Poll the selected APs once: uptime, uplink traffic, link speed, clients.

    APs never discovered (or moved, or whose layout changed) are discovered while the
    others are polled, then polled too. Rates come from the counters the store keeps: the
    first poll of an AP has no in_bps/out_bps/per_user_mbps yet.

    With no `hotspotctl run` on this store, the poll is one cycle of the service's, recorded
    the same way: its points go to the spool (then InfluxDB, via `spool flush` or the next
    `run`), and the counters, health and outages move on. While a `run` holds the store, the
    poll is a look: rates against the service's last counters, and nothing is written, so the
    service's intervals and failure counts stay its own.

    Exit 0 when every AP answered; 4 when some did not (the output says which).

    Examples:

      hotspotctl poll --once --site AICM

      hotspotctl poll --once --district Iztapalapa --format json | jq '.[] | select(.ok | not)'
    """
    if not once:
        raise typer.BadParameter("give --once; polling on a schedule is `hotspotctl run`", param_hint="--once")
    rt = runtime(ctx)
    chosen = selection(ap, site, district, program, zone)
    aps = rt.poll_selection(chosen)
    profiles = rt.profiles()
    recorded = 0
    with rt.open_store() as store:
        lock, holder = ServiceLock.try_acquire(store, "hotspotctl poll --once")
        if lock is None and not rt.quiet:
            output.message(f"{describe_holder(holder)} holds this store: this poll is a look, and records "
                           "nothing (no points, counters or outages)")
        with PhaseProgress(not rt.quiet) as progress:
            async def look() -> CycleReport:
                with Poller.from_settings(rt.settings, profiles) as poller:
                    return await run_cycle(store, aps, rt.settings.snmp, profiles, poller,
                                           interval_s=rt.settings.schedule.interval_s, use_backoff=not no_backoff,
                                           progress=progress, save=False, pinger=pinger_for(rt.settings.ping))

            async def cycle() -> CycleReport:
                sink = rt.sink()
                try:
                    with Poller.from_settings(rt.settings, profiles) as poller:
                        runner = CycleRunner(store, rt.settings, profiles, aps, rt.zones(), sink, poller,
                                             use_backoff=not no_backoff)
                        record = await runner.cycle(progress=progress)
                finally:
                    sink.close()
                assert runner.last_report is not None
                nonlocal recorded
                recorded = record.points
                return runner.last_report

            if lock is None:
                report = asyncio.run(look())
            else:
                with lock:
                    report = asyncio.run(cycle())
    if fmt == Format.JSON:  # a row at a time, as discover's: not every outcome as a dict and as text at once
        output.print_json_rows(o.to_json() for o in report.outcomes)
    else:
        rows = [o.to_json() for o in report.outcomes]
        for row in rows:
            row["status"] = "ok" if row["ok"] else row["error_kind"]
        output.emit(fmt, POLL_COLUMNS, [[row[c] for c in POLL_COLUMNS] for row in rows],
                    numeric=POLL_COLUMNS[4:])
    if not rt.quiet:
        output.message(_summary(report))
        if recorded:
            output.message(f"recorded: {recorded:,} points in the spool {rt.settings.spool_dir} (`hotspotctl spool "
                           "flush`, or a running `hotspotctl run`, sends them to InfluxDB when influx.url is set)")
    return ExitCode.OK if report.ok == len(report.outcomes) else ExitCode.PARTIAL


def _summary(report: CycleReport) -> str:
    s = report.summary()
    text = (f"polled {s['aps']:,} APs in {s['duration_s']:.2f} s ({s['aps_per_s']:,.0f} APs/s, "
            f"{s['cpu_s']:.2f} CPU-s): {s['ok']:,} ok, {s['timed_out']:,} timed out, {s['errors']:,} errors")
    unusable = [f"{n:,} {name}" for name, n in (("unmonitored", report.unmonitored),
                                                 ("misconfigured", report.misconfigured)) if n]
    if unusable:
        text += f" ({', '.join(unusable)}: not crew work)"
    if s["skipped_down"]:
        text += f", {s['skipped_down']:,} failing and backing off"
    if s["discovered"] or s["discovery_failed"]:
        text += f"; discovered {s['discovered']:,}"
        if s["discovery_failed"]:
            text += f" ({s['discovery_failed']:,} could not be)"
    no_address = report.count("no_address")
    if no_address:
        text += (f"\n{no_address:,} APs have no mgmt_address: add them with "
                 "`hotspotctl inventory import ipam.csv --merge` (columns id, mgmt_address)")
    notable = {k: v for k, v in report.events().items() if k != "first_sample"}
    if notable:
        text += "\nevents: " + ", ".join(f"{k} {v:,}" for k, v in sorted(notable.items()))
        if "over_speed" in notable:
            text += " (over_speed: a rate above 1.1 x link speed, discarded)"
    engine = report.engine
    dropped = sum(v for k, v in engine.items() if k.startswith("dropped_"))
    if dropped:
        text += f"\n{dropped:,} stray answers dropped: " + ", ".join(
            f"{k.removeprefix('dropped_')} {v:,}" for k, v in engine.items() if k.startswith("dropped_") and v)
    return text


DISCOVER_COLUMNS = ("ap", "status", "profile", "uplink", "if_index", "counters", "link_mbps", "radios", "clients",
                    "error")


def discover(
    ctx: typer.Context,
    ap: ApOption = None, site: SiteOption = None, district: DistrictOption = None,
    program: ProgramOption = None, zone: ZoneOption = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Walk the selected APs now: detect the profile, pick uplink and radios, store the layout.

    The radios column counts the radios every poll will report: the rows of the profile's radio
    table when it has one the device answers, else the IF-MIB interfaces its radio rule accepts.

    The profile comes from the inventory's profile column when set, else from
    sysObjectID, sysDescr and the profiles' has_oid checks (`hotspotctl profiles list`).
    Polls rediscover on their own when an AP is new, moved, older than
    snmp.rediscover_hours, or when a stored interface has gone.

    Examples:

      hotspotctl discover --site AICM

      hotspotctl discover --ap 'AICM-T1-*' --format json
    """
    rt = runtime(ctx)
    aps = rt.poll_selection(selection(ap, site, district, program, zone))
    profiles = rt.profiles()
    with rt.open_store() as store, PhaseProgress(not rt.quiet) as progress:
        async def run() -> dict[str, Discovery | PollError]:
            with Poller.from_settings(rt.settings, profiles) as poller:
                return await discover_aps(store, aps, rt.settings.snmp, profiles, poller, progress=progress)

        found = asyncio.run(run())
    if fmt == Format.JSON:  # a row at a time, each layout made a dict as it is written (ten cities: gigabytes)
        output.print_json_rows({**row, "layout": asdict(row["layout"]) if row["layout"] else None}
                               for row in _discover_rows(aps, found))
    else:
        output.emit(fmt, DISCOVER_COLUMNS, [[row[c] for c in DISCOVER_COLUMNS] for row in _discover_rows(aps, found)],
                    numeric=("if_index", "link_mbps", "radios"))
    failed = sum(1 for item in aps if not isinstance(found[item.id], Discovery))
    if not rt.quiet:
        output.message(f"discovered {len(aps) - failed:,} of {len(aps):,} APs"
                       + (f"; {failed:,} failed" if failed else ""))
    return ExitCode.PARTIAL if failed else ExitCode.OK


def _discover_rows(aps: Sequence[AccessPoint], found: Mapping[str, Discovery | PollError]) -> Iterator[dict[str, Any]]:
    """``discover``'s row for each AP, in the selection's order, as it is asked for."""
    for item in aps:
        result = found[item.id]
        if isinstance(result, Discovery):
            up = result.uplink
            yield {"ap": item.id, "ok": True, "status": "ok", "profile": result.profile,
                   "uplink": up.name if up else None, "if_index": up.if_index if up else None,
                   "counters": f"{result.counter_bits}-bit" if result.counter_bits else None,
                   "link_mbps": up.speed_mbps if up else None, "radios": result.radio_count,
                   "clients": result.clients_kind, "error": None, "layout": result}
        else:
            yield {"ap": item.id, "ok": False, "status": result.kind, "profile": None, "uplink": None,
                   "if_index": None, "counters": None, "link_mbps": None, "radios": None, "clients": None,
                   "error": result.message, "layout": None}
