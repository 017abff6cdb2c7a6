"""hotspotctl config: the effective settings, with every secret masked."""

from __future__ import annotations

import typer

from hotspotctl.cli import output
from hotspotctl.cli.output import Format
from hotspotctl.cli.runtime import FormatOption, runtime
from hotspotctl.errors import ExitCode
from hotspotctl.settings import describe, mask_url

app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> ExitCode:
    """Every setting's effective value and where it came from (default, file, env or flag).

    Secrets are masked. Precedence, lowest first: defaults, the TOML file
    (--config, HOTSPOTCTL_CONFIG, ./hotspotctl.toml), HOTSPOTCTL_* variables, flags.

    Examples:

      hotspotctl config show

      HOTSPOTCTL_DATA_DIR=/srv/hotspotctl hotspotctl config show --format json
    """
    loaded = runtime(ctx).loaded
    rows = describe(loaded)
    store = mask_url(loaded.settings.store_url)
    config_file = str(loaded.config_file) if loaded.config_file else None
    if fmt == Format.JSON:
        output.print_json({"config_file": config_file, "store": store,
                           "settings": {row["key"]: row["value"] for row in rows},
                           "sources": {row["key"]: row["source"] for row in rows},
                           "env": {row["key"]: row["env"] for row in rows if row["env"]}})
        return ExitCode.OK
    output.emit(fmt, ("key", "value", "source", "env"),
                [(r["key"], _show(r["value"]), r["source"], r["env"] or "") for r in rows])
    if fmt == Format.TABLE:
        output.message(f"config file: {config_file or 'none'}; store: {store}")
    return ExitCode.OK


def _show(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} = {v}" for k, v in value.items()) or "{}"
    return str(value)
