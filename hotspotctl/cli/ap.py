"""hotspotctl ap: look at one access point."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import ReportFormat
from hotspotctl.cli.runtime import ReportFormatOption, runtime
from hotspotctl.collectors.auth import Credentials, resolve
from hotspotctl.collectors.poller import probe, split_address
from hotspotctl.errors import ExitCode, InputError

app = typer.Typer(help="Look at one access point.", no_args_is_help=True)

COMMUNITY_ENV = "HOTSPOTCTL_PROBE_COMMUNITY"


@app.command("probe")
def probe_(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="HOST, HOST:PORT or [IPv6]:PORT", show_default=False)],
    community: Annotated[str | None, typer.Option(
        "--community", envvar=COMMUNITY_ENV, show_default=False,
        help=f"v2c community (prefer {COMMUNITY_ENV}: a flag shows in `ps`)")] = None,
    auth: Annotated[str | None, typer.Option(
        "--auth", show_default=False, help="a credential set from settings, [snmp.auth.NAME] (v2c or v3)")] = None,
    profile: Annotated[str | None, typer.Option(
        "--profile", show_default=False, help="use this profile instead of detecting one")] = None,
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """Probe one device now, without the inventory: profile, sysDescr, uptime, uplink, radios, clients.

    Exit 4 when the device does not answer (timeout, wrong credentials).

    Examples:

      hotspotctl ap probe 10.20.0.15 --auth default

      HOTSPOTCTL_PROBE_COMMUNITY=s3cret hotspotctl ap probe 10.20.0.15:1161 --format json

      hotspotctl ap probe ap-aicm-t1-01.example.net --auth campus-v3 --profile ubiquiti_unifi
    """
    if (community is None) == (auth is None):
        raise typer.BadParameter(f"give one of --community (or {COMMUNITY_ENV}) and --auth",
                                 param_hint="--community/--auth")
    rt = runtime(ctx)
    settings = rt.settings.snmp
    try:
        host, port = split_address(address, settings.port)
    except ValueError as exc:
        raise InputError(f"address {exc}") from None
    credentials = (Credentials("--community", "2c", community=community.encode())
                   if community is not None else resolve(auth or "", settings.auth, os.environ))
    result = asyncio.run(probe(host, port, credentials, rt.profiles(), settings, pinned=profile))
    data = result.to_json()
    if fmt == ReportFormat.JSON:
        output.print_json(data)
        return ExitCode.OK
    uplink = data["uplink"]
    rows = [("address", data["address"]), ("profile", data["profile"]), ("sys_descr", data["sys_descr"]),
            ("sys_object_id", data["sys_object_id"]), ("uptime_s", data["uptime_s"]),
            ("clients", data["clients"]), ("clients_source", data["clients_source"]), ("rtt_ms", data["rtt_ms"])]
    if isinstance(uplink, dict):
        rows += [(f"uplink.{key}", value) for key, value in uplink.items()]
    else:
        rows.append(("uplink", "none found"))
    output.print_table(("field", "value"), rows)
    radios = data["radios"]
    if radios:
        columns = ("if_index", "name", "if_type", "oper_up", "speed_mbps")
        output.print_table(columns, [[r[c] for c in columns] for r in radios], title="Radios")  # type: ignore[index]
    return ExitCode.OK
