"""hotspotctl cluster status: the workers, the leader and every shard's last cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import ReportFormat
from hotspotctl.cli.runtime import ReportFormatOption, human_duration, runtime
from hotspotctl.errors import ExitCode

app = typer.Typer(help="Many pollers: the workers, the leader and the shards (Celery on Redis).",
                  no_args_is_help=True, rich_markup_mode=None)


def _at(value: float | None) -> str:
    return "-" if value is None else datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _num(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@app.command("status")
def status(ctx: typer.Context, fmt: ReportFormatOption = ReportFormat.TABLE) -> ExitCode:
    """The cluster now: live workers (host, pid, last seen, shards polled, last slot, spool), the leader, and
    each shard's last cycle (slot, worker, state, duration, lag behind the last ended slot).

    Exit 4 when shards missed the last ended slot (the output lists them); 3 without cluster.redis_url or
    with a SQLite store; 1 when Redis cannot be reached.

    Examples:

      hotspotctl cluster status

      hotspotctl cluster status --format json | jq '.missed'
    """
    from hotspotctl.scheduling.cluster import cluster_status, require_cluster

    rt = runtime(ctx)
    require_cluster(rt.settings)
    with rt.open_store(create=False) as store:
        found = cluster_status(rt.settings, store)
    missed = found.missed
    with_aps = sum(1 for s in found.shards if s.has_aps)
    if fmt == ReportFormat.JSON:
        output.print_json(found.to_json())
    else:
        console = output.stdout()
        console.print(f"Redis {found.redis}; leader {found.leader or 'none'}; last slot dispatched "
                      f"{_at(found.last_dispatched)}, concluded {_at(found.last_concluded)}; "
                      f"{len(found.workers)} live workers; {with_aps - len(missed)} of the {with_aps} shards "
                      f"with APs finished the slot of {_at(found.last_ended)}",
                      markup=False, highlight=False, soft_wrap=True)
        console.print(output.table(
            ("worker", "host", "pid", "up", "last seen", "polled", "skipped", "failed", "last slot", "shards",
             "spool batches", "spool points"),
            [(name, w.get("host", "-"), w.get("pid", "-"),
              human_duration(found.now - w["started"]) if isinstance(w.get("started"), float | int) else "-",
              f"{found.now - w['seen']:.1f} s ago" if isinstance(w.get("seen"), float | int) else "-",
              w.get("polled", 0), w.get("skipped", 0), w.get("failed", 0), _at(w.get("last_slot")),
              len(w.get("last_shards") or ()), w.get("spool_batches", 0), w.get("spool_points", 0))
             for name, w in sorted(found.workers.items())],
            title="Workers", numeric=("pid", "polled", "skipped", "failed", "shards", "spool batches",
                                      "spool points")))
        console.print(output.table(
            ("shard", "last slot", "worker", "state", "duration s", "lag s", "missed"),
            [(s.shard, _at(s.slot), s.worker or "-", s.state or ("-" if s.has_aps else "no APs"), _num(s.duration_s),
              _num(s.lag_s, 0), "yes" if s.missed else "")
             for s in found.shards],
            title="Shards", numeric=("shard", "duration s", "lag s")))
    if missed:
        if not rt.quiet:
            output.message(f"{len(missed)} shards did not finish the slot of {_at(found.last_ended)}: "
                           f"{', '.join(map(str, missed[:20]))}{' ...' if len(missed) > 20 else ''}")
        return ExitCode.PARTIAL
    return ExitCode.OK
