"""hotspotctl run: the scheduler, until SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from hotspotctl.cli.logs import LogFormat, configure
from hotspotctl.cli.output import message
from hotspotctl.cli.runtime import (
    ApOption,
    DistrictOption,
    ProgramOption,
    SiteOption,
    ZoneOption,
    runtime,
    selection,
)
from hotspotctl.collectors.poller import Poller
from hotspotctl.errors import ExitCode, HotspotError, InputError
from hotspotctl.scheduling.service import CycleRunner, Service
from hotspotctl.store.lock import ServiceLock

LogFormatOption = Annotated[LogFormat, typer.Option(
    "--log-format", envvar="HOTSPOTCTL_LOG_FORMAT", case_sensitive=False,
    help="text on a terminal; json for journald/Loki/ELK (one object per line)")]
LogLevelOption = Annotated[str, typer.Option("--log-level", envvar="HOTSPOTCTL_LOG_LEVEL",
                                             help="debug, info, warning or error")]


def run(
    ctx: typer.Context,
    ap: ApOption = None, site: SiteOption = None, district: DistrictOption = None,
    program: ProgramOption = None, zone: ZoneOption = None,
    interval: Annotated[float | None, typer.Option(
        "--interval", min=0.1, help="seconds between cycles (default: schedule.interval_s, 60)",
        show_default=False)] = None,
    cycles: Annotated[int | None, typer.Option(
        "--cycles", min=1, help="stop after this many cycles (default: run until SIGTERM or Ctrl-C)",
        show_default=False)] = None,
    log_format: LogFormatOption = LogFormat.TEXT,
    log_level: LogLevelOption = "info",
    distributed: Annotated[bool, typer.Option(
        "--distributed", help="lead a cluster of `hotspotctl worker`s instead of polling here (Celery on Redis, "
                              "a PostgreSQL store; see `hotspotctl worker --help`)")] = False,
) -> ExitCode:
    """Poll the fleet every interval, for as long as it runs: the job a service runs.

    Each cycle polls every selected AP (discovering alongside what needs it), computes rates and
    the rollup by district, and writes every figure as line protocol: to the spool first
    (<data_dir>/spool, fsync'd), then to InfluxDB when influx.url is set, oldest first; while
    InfluxDB is away the spool keeps everything and is replayed when it is back. A cycle that
    overruns its interval is not started twice: the skipped run is logged and recorded as lag.
    Each cycle's cost is kept in the store and as a poller_cycle point. Inventory changes (an
    import that adds, removes, readdresses or re-zones APs) are picked up by the next cycle.
    SIGTERM or Ctrl-C: the running cycle finishes its writes, one last flush is tried, then exit 0.
    After schedule.max_failed_cycles failed cycles in a row (a store that cannot be written, a
    spool that cannot take the points) it stops and exits non-zero, so systemd restarts it.

    With --cycles (a one-shot run), exit 5 if InfluxDB is configured but points were left in
    the spool, 4 if it refused some for good, and the failure's own code if the last cycle failed.
    One `run` per store: a second one refuses to start (exit 3) and names the process that holds it.
    With traps.enabled it listens for SNMP traps (traps.bind, traps.port) from the inventory's addresses:
    a trap about a known AP polls it at once, and a linkDown or AP leave it confirms (the AP does not
    answer) opens the AP's outage within seconds; a port it cannot bind is exit 3.

    Examples:

      hotspotctl run

      hotspotctl run --interval 300 --log-format json

      hotspotctl run --district Iztapalapa --cycles 3

      hotspotctl run --distributed

    With --distributed it polls nothing itself: it contends with the other `run --distributed` processes for
    the leader's lock in Redis (cluster.redis_url), and the holder splits the fleet into cluster.shards shards
    of whole sites, sends each slot's polls to the live workers (`hotspotctl worker`), concludes each slot
    (the rollup by district, the outages, a poller_cluster point), and sends rediscovery, the crew lists and
    the NOC's notices as tasks. A standby takes over within cluster.leader_ttl_s + 1 s of a leader's death.
    It needs a PostgreSQL store (SQLite: exit 3); --cycles counts slots concluded; --interval is the slot's
    length (give the workers the same schedule.interval_s); the selection options do not apply (every AP of
    the store is polled). Redis away for cluster.redis_lost_exit_s: exit 1. `hotspotctl cluster status`
    shows the cluster.
    """
    rt = runtime(ctx)
    configure(log_format, log_level)
    settings = rt.settings
    if distributed:
        if any((ap, site, district, program, zone)):
            raise InputError("--distributed polls the whole inventory of the store: --ap, --site, --district, "
                             "--program and --zone do not apply (import only the APs the cluster should poll)")
        from hotspotctl.scheduling.cluster import require_cluster, run_leader, worker_name

        require_cluster(settings)
        return ExitCode(run_leader(settings, name=worker_name(settings), interval_s=interval, max_slots=cycles))
    chosen = selection(ap, site, district, program, zone)
    aps = rt.poll_selection(chosen)
    profiles = rt.profiles()
    sink = rt.sink()
    every = interval or settings.schedule.interval_s

    services: list[Service] = []

    async def main() -> bool:
        with (rt.open_store() as store, ServiceLock.acquire(store, "hotspotctl run"),
              Poller.from_settings(settings, profiles) as poller):
            runner = CycleRunner(store, settings, profiles, aps, rt.zones(), sink, poller, selection=chosen)
            service = Service(runner, interval_s=every, discovery_cron=settings.schedule.discovery_cron,
                              grace_s=settings.schedule.grace_s, max_cycles=cycles)
            services.append(service)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, service.stop)
            try:
                return await service.run()
            finally:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)

    try:
        clean = asyncio.run(main())
    finally:
        sink.close()
    service = services[0] if services else None
    failure = service.last_failure if service is not None else None
    if failure is not None:
        if service is not None and service.failure is not None:
            message(f"error: `hotspotctl run` stopped after {service.failed_in_a_row} failed cycles in a row "
                    f"(schedule.max_failed_cycles); the last: {failure}")
        else:
            message(f"error: the last cycle failed: {failure}")
        return failure.exit_code if isinstance(failure, HotspotError) else ExitCode.INTERNAL
    if not clean:
        return ExitCode.INTERNAL
    waiting = sink.spool.status()
    if sink.configured and waiting.batches:
        # a one-shot run (--cycles) or a stop while InfluxDB was away: say so, and exit 5
        message(f"{sink.destination} did not take everything: {waiting.points} points in {waiting.batches} "
                f"batches wait in the spool {waiting.directory}; `hotspotctl spool flush` sends them when it "
                "is back (a running `hotspotctl run` does so by itself)")
        return ExitCode.SINK_UNAVAILABLE
    if service is not None and service.rejected_batches:
        message(f"{sink.destination} refused {service.rejected_batches} batches for good during this run; they are "
                f"kept with its reasons in {waiting.rejected_directory} (`hotspotctl spool status`)")
        return ExitCode.PARTIAL
    return ExitCode.OK
