"""hotspotctl config: the effective settings, with every secret masked; an example file to start from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hotspotctl import docs_gen
from hotspotctl.cli import output
from hotspotctl.cli.output import Format
from hotspotctl.cli.runtime import FormatOption, runtime
from hotspotctl.errors import ExitCode
from hotspotctl.settings import DEFAULT_CONFIG_NAME, describe, mask_url

app = typer.Typer(help="Show the effective configuration, or write an example file to start from.",
                  no_args_is_help=True)


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


@app.command("init")
def init(
    path: Annotated[Path, typer.Argument(help="where to write it", show_default=True)] = Path(DEFAULT_CONFIG_NAME),
    force: Annotated[bool, typer.Option("--force", help="replace the file if it exists")] = False,
) -> ExitCode:
    """Write a commented example configuration: every section and setting, the defaults commented out.

    Secrets appear only as the names of the environment variables that hold them. An existing
    file is left alone (exit 3) unless --force is given.

    Examples:

      hotspotctl config init

      hotspotctl config init /etc/hotspotctl/hotspotctl.toml --force
    """
    written = docs_gen.write_example_config(path, force=force)
    output.message(f"wrote {written}: every setting at its default, commented out; uncomment and edit what you "
                   "change (`hotspotctl config show` prints the effective values)")
    return ExitCode.OK
