"""hotspotctl crews done / crews receive: a crew reports back, by the command or by the link on its list."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from hotspotctl import clock
from hotspotctl.cli import output
from hotspotctl.cli.runtime import runtime
from hotspotctl.delivery.done import DoneReceiver
from hotspotctl.errors import ExitCode
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.reports.outages import acting_user, one_line, record_visit, stop_outages


def done(
    ctx: typer.Context,
    stop: Annotated[str, typer.Argument(
        metavar="STOP", show_default=False,
        help="the stop as the crew list shows it: its site's id or name, or an outage id")],
    by: Annotated[str | None, typer.Option(
        "--by", metavar="WHO", show_default=False,
        help="who visited (default: $HOTSPOTCTL_USER, else your login name)")] = None,
    note: Annotated[str | None, typer.Option("--note", metavar="TEXT", show_default=False,
                                             help="what the crew found or did (one line)")] = None,
    fixed: Annotated[bool | None, typer.Option(
        "--fixed/--not-fixed", show_default=False, help="whether the crew fixed it (default: not said)")] = None,
) -> ExitCode:
    """Record a crew's visit to a stop: {"at", "by", "note", "via": "cli", "fixed"} on its outages.

    A site's stop is its open outage, or, when the run has already closed it (the APs came back after the
    crew's work), its outage closed in the last 24 hours. The visit does not close anything: the run closes
    an outage when its APs are healthy again (`outages close` closes by hand). Exit 3, nothing written, when
    no outage matches.

    Examples:

      hotspotctl crews done 9g3w81t7ck9 --by "cuadrilla sur 3" --fixed --note "PoE injector replaced"

      hotspotctl crews done 42 --not-fixed --note "no access: the school is closed"
    """
    rt = runtime(ctx)
    who = acting_user(by)
    text = one_line(note, "the note") if note is not None else None
    now = clock.now()
    with rt.open_store() as store:
        fleet = Fleet.load(store, rt.zones())
        outages = stop_outages(store, fleet, stop, now)
        results = record_visit(store, [o.id for o in outages if o.id is not None], by=who, at=now,
                               tz=rt.settings.tzinfo, via="cli", note=text, fixed=fixed,
                               command=shlex.join(["hotspotctl", "crews", "done", stop]))
    if not rt.quiet:
        for r in results:
            state = "" if r.outage.open else ", closed"
            output.message(f"outage {r.outage.id} ({r.outage.site}{state}): {r.done} by {who}")
    return ExitCode.OK


def receive(
    ctx: typer.Context,
    bind: Annotated[str, typer.Option("--bind", metavar="ADDRESS",
                                      help="the address to listen on (a reverse proxy with TLS in front of it)")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="the TCP port (0 = any free one)")] = 8765,
) -> ExitCode:
    """Serve the "done" links of the crew lists: a crew's phone opens its stop's link, and its visit is recorded.

    Each stop on a list (HTML, email) carries a link when crews.done_url and crews.done_secret are both set:
    crews.done_url?stop=<outage ids>&sig=<HMAC-SHA256 of the ids>. Opening it (GET) shows the stop and a short
    form, and writes nothing (mail scanners open links too); sending the form (POST) records the visit
    {"via": "link"} on the stop's outages. A link with a wrong signature gets 403 and nothing is written.
    Put it behind a TLS reverse proxy at crews.done_url; stop it with Ctrl-C.

    Examples:

      HOTSPOTCTL_CREWS_DONE_SECRET=... hotspotctl crews receive --port 8765
    """
    rt = runtime(ctx)
    settings = rt.settings
    with rt.open_store() as store, DoneReceiver(store, settings.crews.done_secret, settings.tzinfo, host=bind,
                                                port=port) as receiver:
        host, bound = receiver.address
        if not rt.quiet:
            output.message(f"receiving crews' done links on http://{host}:{bound}/ (Ctrl-C stops)")
        try:
            receiver.serve_forever()
        except KeyboardInterrupt:
            if not rt.quiet:
                output.message("stopped")
    return ExitCode.OK


