"""hotspotctl crews send: crew lists by email, webhook or Open311."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from typing import Annotated

import typer

from hotspotctl import clock
from hotspotctl.cli import output
from hotspotctl.cli.output import ReportFormat
from hotspotctl.cli.runtime import ReportFormatOption, ZoneOption, runtime
from hotspotctl.delivery.dispatch import DeliveryStatus, DispatchReport, check_channels, dispatch
from hotspotctl.errors import ConfigError, ExitCode
from hotspotctl.inventory.zones import known_zones, resolve_zones
from hotspotctl.reports.crews import ZoneList, crew_lists_from_store


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    OPEN311 = "open311"


NO_CHANNEL = ("no channel to send crew lists through: pass --via email|webhook|open311, or set crews.send_via "
              "(HOTSPOTCTL_CREWS_SEND_VIA=email,webhook,open311) with the channel's own settings: crews.email.host "
              "(HOTSPOTCTL_CREWS_EMAIL_HOST) and recipients, crews.webhook.url (HOTSPOTCTL_CREWS_WEBHOOK_URL), "
              "crews.open311.url, api_key and service_code (HOTSPOTCTL_CREWS_OPEN311_*)")


def _show(report: DispatchReport) -> None:
    rows = []
    for d in report.deliveries:
        what = d.detail or ""
        if d.channel == "open311" and d.references:
            names = ", ".join(str(r.get("name") or r["site"]) if report.dry_run else
                              f"{r.get('name') or r['site']} #{r.get('id') or 'token ' + str(r.get('token'))}"
                              for r in d.references)
            what = f"{'would file' if report.dry_run else 'filed'}: {names}" + (f"; {what}" if what else "")
        rows.append((d.channel, d.zone, d.status, d.target, d.stops, d.sent, d.skipped, d.failed, what))
    title = "Crew lists that would go out (dry run: nothing sent, nothing recorded)" if report.dry_run else None
    output.print_table(("channel", "zone", "status", "to", "stops", "sent", "skipped", "failed", "detail"), rows,
                       title=title, numeric=("stops", "sent", "skipped", "failed"))


def send(
    ctx: typer.Context,
    zone: ZoneOption = None,
    via: Annotated[list[Channel] | None, typer.Option(
        "--via", case_sensitive=False, show_default=False,
        help="channel to send through; repeatable (default: crews.send_via)")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="show what would go out, to whom; send nothing, record nothing")] = False,
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """Send each crew zone's list where the crew is: by email, to a webhook, or to Open311.

    email: one message per zone to crews.email.zones[ZONE] and crews.email.to, the list as HTML
    with the CSV attached, over SMTP with STARTTLS and a login (HOTSPOTCTL_CREWS_EMAIL_PASSWORD).
    webhook: the zone's list as JSON, POSTed to crews.webhook.url.

    open311: one GeoReport v2 service request per new stop, POSTed to crews.open311.url; the
    request's id is kept in the outage ledger, so an outage is never filed twice.

    Failed requests are retried (429, 5xx, timeouts) with back-off. Exit 5 when a channel failed:
    nothing is recorded for what did not go, and the next send tries it again. Zones without stops
    are skipped (and said so). Exit 3 when a channel is not configured; --dry-run needs no server
    (it only shows what would go out, to whom) and says which settings a real send still needs.

    Examples:

      hotspotctl crews send --via email --dry-run

      HOTSPOTCTL_CREWS_WEBHOOK_URL=https://hooks.example.org/crews hotspotctl crews send --via webhook

      hotspotctl crews send --zone Iztapalapa --via open311 --format json
    """
    rt = runtime(ctx)
    settings = rt.settings
    channels = tuple(dict.fromkeys(c.value for c in via)) if via else settings.crews.send_via
    if not channels:
        raise ConfigError(NO_CHANNEL)
    check_channels(settings.crews, channels, dry_run=dry_run)
    fleet = rt.load_fleet()
    zones: list[str] = []
    if zone:
        zones = resolve_zones(zone, known_zones(fleet, settings.crew_zones))
    now = clock.now()
    with rt.open_store() as store:
        lists = crew_lists_from_store(store, fleet, settings, now, zones=zones)
        present = {zl.zone for zl in lists}
        lists += [ZoneList(name, now, (0.0, 0.0), "centroid", (), 0, 0.0) for name in zones if name not in present]
        report = dispatch(store, lists, settings, channels, now, dry_run=dry_run)
    if fmt == ReportFormat.JSON:
        output.print_json(report.to_json())
    else:
        _show(report)
    if not rt.quiet:
        if not lists:
            output.message("no open outages: nothing to send")
        elif report.dry_run:
            output.message("dry run: nothing was sent and nothing recorded")
        if report.needs:
            output.message("to send for real: " + "; ".join(report.needs))
    for d in report.deliveries:
        if d.status == DeliveryStatus.FAILED:
            output.message(f"error: {d.channel} {d.zone}: {d.detail}")
    if not report.ok:
        output.message("what did not go is not recorded as sent: the next `hotspotctl crews send` (or `hotspotctl "
                       "run`) tries it again")
        return ExitCode.SINK_UNAVAILABLE
    if not rt.quiet and not report.dry_run:
        counts = Counter(d.status for d in report.deliveries)
        sent, skipped = counts[DeliveryStatus.SENT], counts[DeliveryStatus.SKIPPED]
        output.message(f"{', '.join(channels)}: {sent} sent, {skipped} skipped (per channel and zone)")
    return ExitCode.OK
