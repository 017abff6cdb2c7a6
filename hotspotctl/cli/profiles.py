"""hotspotctl profiles: the device profiles the poller knows (collectors/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import Format, ReportFormat
from hotspotctl.cli.runtime import FormatOption, ReportFormatOption, runtime
from hotspotctl.collectors.oids import format_oid
from hotspotctl.collectors.profiles import describe_profile, load_profiles, shipped_dir
from hotspotctl.errors import ExitCode

app = typer.Typer(help="List, show and check device profiles (collectors/*.yaml).", no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> ExitCode:
    """Every profile: how it detects a device, and where its client count comes from.

    Shipped profiles come first; a file of the same name in snmp.profiles_dir replaces one.

    Examples:

      hotspotctl profiles list

      HOTSPOTCTL_SNMP_PROFILES_DIR=./my-profiles hotspotctl profiles list --format json
    """
    profiles = runtime(ctx).profiles()
    columns = ("name", "vendor", "sys_object_id", "sys_descr", "has_oid", "clients", "source")
    rows = []
    for p in profiles:
        source = "shipped" if p.source.parent.resolve() == shipped_dir().resolve() else str(p.source)
        if p.name in profiles.shadowed:
            source += " (replaces shipped)"
        rows.append((p.name, p.vendor, ", ".join(format_oid(o) for o in p.detect.sys_object_id),
                     p.detect.sys_descr.pattern if p.detect.sys_descr else "",
                     ", ".join(format_oid(o) for o in p.detect.has_oid),
                     ", ".join(f"{c.kind} {format_oid(c.oid)}" for c in p.clients) or "none", source))
    output.emit(fmt, columns, rows, json_rows=[describe_profile(p) for p in profiles])
    return ExitCode.OK


@app.command("show")
def show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="profile name", show_default=False)],
         fmt: ReportFormatOption = ReportFormat.TABLE) -> ExitCode:
    """One profile in full, with every default filled in.

    Examples:

      hotspotctl profiles show ubiquiti_unifi

      hotspotctl profiles show mikrotik_routeros --format json
    """
    profile = runtime(ctx).profiles().get(name)
    data = describe_profile(profile)
    if fmt == ReportFormat.JSON:
        output.print_json(data)
        return ExitCode.OK
    rows = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                walk(f"{prefix}[{i}]", item)
        else:
            rows.append((prefix, ", ".join(map(str, value)) if isinstance(value, list) else value))

    walk("", data)
    output.print_table(("key", "value"), rows)
    return ExitCode.OK


@app.command("check")
def check(ctx: typer.Context, folder: Annotated[Path | None, typer.Argument(
        help="a folder of *.yaml profiles (default: the shipped ones and snmp.profiles_dir)",
        show_default=False)] = None) -> ExitCode:
    """Load profiles strictly and report the first problem, with file and key path (exit 3).

    Examples:

      hotspotctl profiles check

      hotspotctl profiles check ./my-profiles
    """
    profiles = load_profiles([folder]) if folder is not None else runtime(ctx).profiles()
    where = f"{folder} (with the shipped profiles)" if folder is not None else "shipped and configured folders"
    output.message(f"{len(profiles)} profiles OK in {where}")
    return ExitCode.OK
