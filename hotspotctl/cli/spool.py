"""hotspotctl spool: what waits on disk for InfluxDB, and sending it there."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import ReportFormat
from hotspotctl.cli.runtime import ReportFormatOption, runtime
from hotspotctl.errors import ConfigError, ExitCode
from hotspotctl.sinks.spool import REJECTED_DIR, Spool, SpoolStatus, spools_within

_SHOWN_REFUSALS = 10  # reasons printed by `spool flush`; all are in the .reason files and in --format json

app = typer.Typer(help="The on-disk spool of metrics waiting for InfluxDB.", no_args_is_help=True)


def _when(status: SpoolStatus, which: str) -> str:
    moment = getattr(status, which)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def _show(status: SpoolStatus, destination: str) -> None:
    rows = [("directory", str(status.directory)), ("InfluxDB", destination),
            ("batches", status.batches), ("points", status.points),
            ("size", f"{status.used_bytes / 1e6:.2f} MB of {status.max_bytes / 1e6:.0f} MB ({status.fraction:.1%})"
                     + (f", {status.rejected_bytes / 1e6:.2f} MB of it rejected" if status.rejected_bytes else "")),
            ("oldest", _when(status, "oldest")), ("newest", _when(status, "newest")),
            ("rejected", f"{status.rejected} batches ({status.rejected_points} points) in {status.rejected_directory}"
                         if status.rejected else "0")]
    output.print_table(("", "value"), rows)


def _show_others(directory: Path, others: list[SpoolStatus]) -> None:
    """Other processes' spools in the spool's subfolders: what each holds, and how to send one whose process is gone."""
    rows = [(s.directory.name, s.batches, s.points, f"{s.used_bytes / 1e6:.2f} MB", _when(s, "oldest"),
             _when(s, "newest"), f"{s.rejected} ({s.rejected_points} points)" if s.rejected else "0") for s in others]
    output.print_table(("spool", "batches", "points", "size", "oldest", "newest", "rejected"), rows,
                       title=f"other processes' spools in {directory} (cluster workers' and leaders')",
                       numeric=("batches", "points", "size"))
    waiting = [s for s in others if s.batches]
    if waiting:
        output.message(f"a running worker or leader flushes its own spool; one whose process is gone for good is sent "
                       f"with: hotspotctl spool flush --spool {waiting[0].directory.name}")


@app.command("status")
def status(ctx: typer.Context, fmt: ReportFormatOption = ReportFormat.TABLE) -> ExitCode:
    """How much waits in the spool: batches, points, size, oldest and newest, rejected.

    Other processes' spools kept in its subfolders (a cluster worker's <spool>/<name>, a leader's
    <spool>/leader.<name>) are listed after it, with what each holds: a worker or leader retired
    for good leaves its spool there, and `hotspotctl spool flush --spool <name>` sends it.

    Rejected batches are ones InfluxDB refused for good (a partial write: points beyond the
    retention period or a field type conflict; bad data; a line too large alone); they are kept
    in the spool's rejected/ folder with InfluxDB's reason beside each (.reason), count against
    the spool's size limit, and `spool flush --requeue` sends them again once the cause is fixed.

    Examples:

      hotspotctl spool status

      hotspotctl spool status --format json | jq .points
    """
    rt = runtime(ctx)
    sink = rt.sink()
    try:
        current = sink.spool.status()
        others = [Spool(path, max_bytes=sink.spool.max_bytes).status() for path in spools_within(sink.spool.directory)]
        if fmt == ReportFormat.JSON:
            output.print_json({**current.to_json(), "influxdb": sink.settings.target if sink.configured else None,
                               "others": [{"name": s.directory.name, **s.to_json()} for s in others]})
        else:
            _show(current, sink.settings.target if sink.configured else "none (influx.url is empty): metrics stay here")
            if others:
                _show_others(sink.spool.directory, others)
    finally:
        sink.close()
    return ExitCode.OK


@app.command("flush")
def flush(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option("--limit", min=1, show_default=False,
                                              help="send at most this many batches (default: all)")] = None,
    requeue: Annotated[bool, typer.Option("--requeue", help="first put rejected batches back in the queue")] = False,
    spool: Annotated[str | None, typer.Option(
        "--spool", metavar="NAME", show_default=False,
        help="send another process's spool instead, one `spool status` lists after its own (a cluster worker's "
             "<spool>/<name>, a leader's <spool>/leader.<name>)")] = None,
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """Send what waits in the spool to InfluxDB now, oldest first; each batch is deleted once written.

    Needs InfluxDB configured (HOTSPOTCTL_INFLUX_URL and the v2 or v1 settings). A running
    `hotspotctl run` flushes by itself every influx.flush_interval_s; this is for a spool left
    behind (InfluxDB was away, or none was configured when the metrics were collected), or
    for the spool a cluster worker or leader retired for good left in the spool's folder
    (--spool NAME). Exit 5 when InfluxDB is unreachable or refuses: the spool keeps everything. Exit 4 when
    InfluxDB refused batches for good: they were set aside in the spool's rejected/ folder
    (with the reasons) and the rest went through.

    Examples:

      HOTSPOTCTL_INFLUX_URL=http://127.0.0.1:8086 HOTSPOTCTL_INFLUX_API=v1 hotspotctl spool flush

      hotspotctl spool flush --limit 10 --format json

      hotspotctl spool flush --spool poller-2
    """
    rt = runtime(ctx)
    sink = rt.sink(spool)
    try:
        if not sink.configured:
            raise ConfigError("no InfluxDB configured, so there is nowhere to flush to: set influx.url "
                              "(HOTSPOTCTL_INFLUX_URL) and, for InfluxDB 2.x/3.x, HOTSPOTCTL_INFLUX_ORG, _BUCKET and "
                              "_TOKEN; for 1.x, HOTSPOTCTL_INFLUX_API=v1 and HOTSPOTCTL_INFLUX_DATABASE")
        requeued = sink.spool.requeue_rejected() if requeue else 0
        result = sink.flush(limit=limit)
    finally:
        sink.close()
    waiting = result.waiting
    rejected_dir = sink.spool.directory / REJECTED_DIR
    if fmt == ReportFormat.JSON:
        output.print_json({**result.to_json(), "requeued": requeued, "destination": sink.destination,
                           "rejected_directory": str(rejected_dir)})
    else:
        if requeued:
            output.message(f"put {requeued} rejected batches back in the queue")
        output.message(f"sent {result.batches} batches ({result.points} points) to {sink.destination} "
                       f"in {result.seconds:.2f} s")
        if result.rejected:
            output.message(f"{result.rejected} batches ({result.rejected_points} points) were refused for good and "
                           f"set aside in {rejected_dir} (the .reason files say why; `hotspotctl spool flush "
                           "--requeue` sends them again once the cause is fixed)")
            for refusal in result.refusals[:_SHOWN_REFUSALS]:
                output.message(f"  batch {refusal.seq} ({refusal.points} points): {refusal.reason}")
            if len(result.refusals) > _SHOWN_REFUSALS:
                output.message(f"  ... and {len(result.refusals) - _SHOWN_REFUSALS} more")
        if waiting is not None and waiting.batches:
            output.message(f"{waiting.batches} batches ({waiting.points} points) still wait in {waiting.directory}")
    if not result.ok:
        output.message(f"error: {result.error}")
        return ExitCode.SINK_UNAVAILABLE
    return ExitCode.PARTIAL if result.rejected else ExitCode.OK
