"""hotspotctl traps: watch SNMP notifications arrive, for engineers setting devices up."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import ReportFormat
from hotspotctl.cli.runtime import ReportFormatOption, runtime
from hotspotctl.collectors.traps import listen, receiver_from_settings, source_addresses
from hotspotctl.errors import ConfigError, ExitCode
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.models.traps import TrapEvent

app = typer.Typer(help="SNMP traps and informs: watch them arrive.", no_args_is_help=True)


def _line(event: TrapEvent, ap: str | None) -> str:
    when = datetime.fromtimestamp(event.received_at, UTC).strftime("%H:%M:%S")
    who = f"{event.source} ({ap})" if ap else f"{event.source} (not in the inventory)"
    detail = []
    if event.if_index is not None:
        detail.append(f"ifIndex {event.if_index}")
    if event.admin_up is not None:
        detail.append("admin up" if event.admin_up else "admin down")
    if event.ap_name:
        detail.append(f"AP {event.ap_name}")
    if event.ap_mac:
        detail.append(f"MAC {event.ap_mac}")
    more = f" {', '.join(detail)}" if detail else ""
    return (f"{when} {who} v{event.version} {event.security}: {event.kind.value} {event.trap_oid}{more} "
            f"[{len(event.varbinds)} varbinds]")


@app.command("listen")
def listen_command(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option("--port", "-p", min=0, max=65535, show_default=False,
                                             help="UDP port (default traps.port, 162; 0 = any free port)")] = None,
    bind: Annotated[str | None, typer.Option("--bind", show_default=False,
                                             help="address to bind (default traps.bind, 0.0.0.0)")] = None,
    known_only: Annotated[bool, typer.Option(
        "--known-only", help="drop traps from sources that are not in the inventory, as `run` does")] = False,
    count: Annotated[int | None, typer.Option("--count", min=1, show_default=False,
                                              help="stop after this many traps")] = None,
    seconds: Annotated[float | None, typer.Option("--seconds", min=0.1, show_default=False,
                                                  help="stop after this many seconds")] = None,
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """Print SNMP traps and informs as they arrive, until Ctrl-C; the counters go to stderr at the end.

    Each notification is checked as `hotspotctl run` checks it: a v1/v2c community or v3 user of
    snmp.auth (traps.credential_sets), repeats within traps.dedupe_s suppressed. A source that is not an
    AP's mgmt_address in the inventory is shown and marked, not dropped (unless --known-only): no
    inventory is needed. Informs are answered. Drops (wrong community, failed v3 authentication, not
    decryptable, malformed...) are only counted: see the counters at the end.

    --format json prints one TrapEvent per line (received_at, source, version, security, trap_oid,
    kind, uptime_ticks, if_index, admin_up, ap_name, ap_mac, varbinds) plus "known".

    Port 162 needs root (or CAP_NET_BIND_SERVICE); any port works for a try.

    Examples:

      hotspotctl traps listen --port 1162

      snmptrap -v 2c -c public 127.0.0.1:1162 '' 1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.7 i 7 1.3.6.1.2.1.2.2.1.7.7 i 2

      snmptrap -v 3 -e 0x8000000001020304 -u USER -l authPriv -a SHA -A AUTH -x AES -X PRIV 127.0.0.1:1162 ''
      1.3.6.1.6.3.1.1.5.1  (USER, AUTH, PRIV: a v3 set of snmp.auth)

      hotspotctl traps listen --port 1162 --format json --count 1 | jq .kind
    """
    rt = runtime(ctx)
    settings = rt.settings
    with rt.open_store(create=False) as store:
        addresses = source_addresses(Fleet.load(store, rt.zones()).aps.values())
    known = addresses.__contains__ if known_only else None
    receiver, skipped = receiver_from_settings(settings, known=known)
    if skipped and settings.traps.credential_sets:  # sets the user chose for traps: each one matters
        for problem in skipped:
            output.message(f"warning: credential set left out, it cannot authenticate traps: {problem}",
                           style="yellow")
    elif skipped:
        output.message("left out (secret not set): " + ", ".join(problem.partition(":")[0] for problem in skipped))
    if not receiver.communities and not receiver.users:
        raise ConfigError("no credential set in snmp.auth (traps.credential_sets) can authenticate traps")
    host = bind or settings.traps.bind
    udp_port = settings.traps.port if port is None else port
    as_json = fmt == ReportFormat.JSON
    shown = 0

    async def main() -> None:
        nonlocal shown
        stop = asyncio.Event()

        def show(event: TrapEvent) -> None:
            nonlocal shown
            ap = addresses.get(event.source)
            if as_json:
                sys.stdout.write(output.json_text({**event.to_json(), "known": ap is not None, "ap": ap}) + "\n")
            else:
                sys.stdout.write(output.inert(_line(event, ap)) + "\n")
            sys.stdout.flush()
            shown += 1
            if count is not None and shown >= count:
                stop.set()

        loop = asyncio.get_running_loop()
        try:
            transport, _protocol = await listen(receiver, show, host, udp_port)
        except OSError as exc:
            hint = "; ports below 1024 need root: try --port 1162" if 0 < udp_port < 1024 else ""
            raise ConfigError(f"cannot listen on {host}:{udp_port}: {exc.strerror or exc}{hint}") from None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        bound = transport.get_extra_info("sockname")
        output.message(f"listening for traps on {bound[0]}:{bound[1]} (Ctrl-C stops)")
        started = time.monotonic()
        try:
            if seconds is None:
                await stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.0, seconds - (time.monotonic() - started)))
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            transport.close()

    asyncio.run(main())
    counters = receiver.counters()
    dropped = {reason: n for reason, n in counters["dropped"].items() if n}
    output.message(f"{counters['received']} received, {counters['accepted']} shown, "
                   f"{counters['informs_answered']} informs answered; dropped: "
                   + (", ".join(f"{reason} {n}" for reason, n in dropped.items()) or "none"))
    if counters["other_oids"]:
        output.message("not understood (kind other): " + ", ".join(f"{oid} x{n}" for oid, n
                                                                    in counters["other_oids"].items()))
    return ExitCode.OK
