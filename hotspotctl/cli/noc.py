"""hotspotctl noc: the notices `hotspotctl run` sends the NOC (docs/noc.md): what is firing, and a test send."""

from __future__ import annotations

import typer

from hotspotctl import clock
from hotspotctl.cli import output
from hotspotctl.cli.output import ReportFormat
from hotspotctl.cli.runtime import ReportFormatOption, human_duration, runtime
from hotspotctl.delivery.noc import firing_now, send_test
from hotspotctl.errors import ExitCode
from hotspotctl.reports.crews import iso, local_time

app = typer.Typer(help="Notices to the NOC: site outages, controllers, misconfigured APs, the poller's health.",
                  no_args_is_help=True)


@app.command("status")
def status(ctx: typer.Context, fmt: ReportFormatOption = ReportFormat.TABLE) -> ExitCode:
    """What the NOC was told is firing and has not been told is resolved, per channel.

    A notice repeats every noc.repeat_interval_s until it is resolved, or its outage acknowledged
    (`hotspotctl outages ack`).

    Examples:

      hotspotctl noc status

      hotspotctl noc status --format json | jq '.[].labels.alertname'
    """
    rt = runtime(ctx)
    now = clock.now()
    with rt.open_store(create=False) as store:
        rows = firing_now(store)
    if fmt == ReportFormat.JSON:
        output.print_json([{**row.to_json(), "starts_at": iso(row.starts_at), "first_sent_at": iso(row.first_sent_at),
                            "last_sent_at": iso(row.last_sent_at)} for row in rows])
        return ExitCode.OK
    tz = rt.settings.tzinfo
    output.print_table(
        ("notice", "about", "channel", "since", "sends", "last sent", "fingerprint"),
        [(row.labels.get("alertname", row.kind),
          " ".join(f"{k}={v}" for k, v in sorted(row.labels.items()) if k not in ("alertname", "severity", "source")),
          row.channel, local_time(row.starts_at, tz), row.sends,
          f"{human_duration(now - row.last_sent_at)} ago", row.fingerprint) for row in rows])
    if not rows:
        output.message("nothing firing")
    return ExitCode.OK


@app.command("test")
def test(ctx: typer.Context, fmt: ReportFormatOption = ReportFormat.TABLE) -> ExitCode:
    """Send one test notice through every configured channel (noc.email_to, noc.webhook_url); nothing is recorded.

    Exit 5 when a channel could not take it (the output says why).

    Examples:

      HOTSPOTCTL_NOC_WEBHOOK_URL=http://127.0.0.1:9093/api/v2/alerts hotspotctl noc test
    """
    rt = runtime(ctx)
    report = send_test(rt.settings, clock.now())
    if fmt == ReportFormat.JSON:
        output.print_json(report.to_json())
    else:
        output.print_table(("channel", "sent", "detail"),
                           [(s.channel, "yes" if s.ok else "no", s.detail or "") for s in report.sent])
    return ExitCode.OK if report.ok else ExitCode.SINK_UNAVAILABLE
