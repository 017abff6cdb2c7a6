"""hotspotctl worker: one of many pollers (Celery on Redis, the store in PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer

from hotspotctl.cli.logs import LogFormat, configure
from hotspotctl.cli.runtime import runtime
from hotspotctl.errors import ExitCode

LogFormatOption = Annotated[LogFormat, typer.Option(
    "--log-format", envvar="HOTSPOTCTL_LOG_FORMAT", case_sensitive=False,
    help="text on a terminal; json for journald/Loki/ELK (one object per line)")]
LogLevelOption = Annotated[str, typer.Option("--log-level", envvar="HOTSPOTCTL_LOG_LEVEL",
                                             help="debug, info, warning or error")]


def worker(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(
        "--name", help="this worker's name: its queues poll.<name> and discovery.<name>, its spool "
                       "<spool>/<name>, its heartbeat (default: cluster.worker, else the host name)",
        show_default=False)] = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", min=2, max=256, help="task threads: polls, discoveries, deliveries (default: cluster.threads, 4)",
        show_default=False)] = None,
    log_format: LogFormatOption = LogFormat.TEXT,
    log_level: LogLevelOption = "info",
) -> ExitCode:
    """Poll the shards the leader gives this worker, until SIGTERM: one of many pollers.

    A worker takes poll tasks from its own queue (poll.<name>; the leader, `hotspotctl run --distributed`,
    gives each live worker its shards of whole sites by rendezvous hashing, so a worker keeps its shards
    while the set of workers stays the same), rediscovery from discovery.<name>, and the crew lists and NOC
    notices from the shared delivery queue. Each shard is claimed for its slot in the store first, so no
    shard is polled twice in one slot; its points go to this worker's own spool (<spool>/<name>) and on to
    InfluxDB, its states, outages and ledger to the shared PostgreSQL store. A heartbeat in Redis
    (hotspotctl:worker:<name>, every cluster.heartbeat_s) says it is alive: a worker silent for
    cluster.heartbeat_ttl_s is dead and its shards go to the others at the next slot.

    Needs cluster.redis_url and a PostgreSQL database_url (a SQLite store: exit 3, nothing started), and
    the `cluster` extra (pip install 'hotspotctl[cluster]'). SIGTERM or Ctrl-C: the running tasks finish,
    one last flush is tried, exit 0. Redis away for cluster.redis_lost_exit_s (default 3 intervals):
    exit 1 with the reason, so systemd restarts it.

    Examples:

      HOTSPOTCTL_CLUSTER_REDIS_URL=redis://10.0.0.5:6379/0 hotspotctl worker

      hotspotctl worker --name poller-2 --threads 8 --log-format json
    """
    from hotspotctl.scheduling.cluster import require_cluster, run_worker, worker_name

    rt = runtime(ctx)
    configure(log_format, log_level)
    settings = rt.settings
    require_cluster(settings)
    return ExitCode(run_worker(settings, worker_name(settings, name), threads=threads))
