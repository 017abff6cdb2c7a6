"""The hotspotctl command line: ``hotspotctl <noun> <verb>``.

Commands parse, call one domain function, render, and return an ExitCode;
``main`` is the only place that turns errors into exit codes and messages.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from hotspotctl import __version__
from hotspotctl.cli import ap as ap_cli
from hotspotctl.cli import audit as audit_cli
from hotspotctl.cli import cluster as cluster_cli
from hotspotctl.cli import config as config_cli
from hotspotctl.cli import crews as crews_cli
from hotspotctl.cli import grafana as grafana_cli
from hotspotctl.cli import inventory as inventory_cli
from hotspotctl.cli import maintenance as maintenance_cli
from hotspotctl.cli import noc as noc_cli
from hotspotctl.cli import outages as outages_cli
from hotspotctl.cli import poll as poll_cli
from hotspotctl.cli import profiles as profiles_cli
from hotspotctl.cli import report as report_cli
from hotspotctl.cli import run as run_cli
from hotspotctl.cli import simulate as simulate_cli
from hotspotctl.cli import spool as spool_cli
from hotspotctl.cli import status as status_cli
from hotspotctl.cli import traps as traps_cli
from hotspotctl.cli import worker as worker_cli
from hotspotctl.cli.demo import demo
from hotspotctl.cli.output import message
from hotspotctl.cli.runtime import Runtime
from hotspotctl.errors import ExitCode, HotspotError

app = typer.Typer(
    name="hotspotctl",
    help="Keep a city's public Wi-Fi working: inventory, polling, metrics and crew lists.\n\n"
         "Exit codes: 0 ok; 1 internal error or declined; 2 usage; 3 invalid input or config, "
         "nothing written; 4 partial (some rows or APs failed); 5 sink unavailable, data spooled.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(inventory_cli.app, name="inventory")
app.add_typer(ap_cli.app, name="ap")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(profiles_cli.app, name="profiles")
app.add_typer(config_cli.app, name="config")
app.add_typer(spool_cli.app, name="spool")
app.add_typer(grafana_cli.app, name="grafana")
app.add_typer(crews_cli.app, name="crews")
app.add_typer(outages_cli.app, name="outages")
app.add_typer(maintenance_cli.app, name="maintenance")
app.add_typer(noc_cli.app, name="noc")
app.add_typer(report_cli.app, name="report")
app.add_typer(traps_cli.app, name="traps")
app.add_typer(cluster_cli.app, name="cluster")
app.command("status")(status_cli.status)
app.command("discover")(poll_cli.discover)
app.command("poll")(poll_cli.poll)
app.command("run")(run_cli.run)
app.command("worker")(worker_cli.worker)
app.command("simulate")(simulate_cli.simulate)
app.command("demo")(demo)


def _version(value: bool) -> None:
    if value:
        print(f"hotspotctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", envvar="HOTSPOTCTL_CONFIG", show_default=False,
        help="settings file (TOML); default ./hotspotctl.toml when present")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", show_default=False,
        help="state directory (default ./var) [env: HOTSPOTCTL_DATA_DIR]")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress or notes on stderr")] = False,
    debug: Annotated[bool, typer.Option("--debug", envvar="HOTSPOTCTL_DEBUG",
                                        help="show the traceback of an internal error")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    flags = {"data_dir": ("--data-dir", str(data_dir))} if data_dir is not None else {}
    ctx.obj = Runtime(config=config, flags=flags, quiet=quiet)


def main(argv: list[str] | None = None) -> int:
    """Run hotspotctl; return the exit code (the console script exits with it)."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("HOTSPOTCTL_DEBUG", "").lower() in ("1", "true", "yes")
    try:
        result = app(args=args, prog_name="hotspotctl", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: bad flags, arguments, --format
        show = getattr(exc, "show", None)
        show() if show else message(f"error: {exc.format_message()}")
        return exc.exit_code
    except typer.Abort:
        message("aborted; nothing written")
        return ExitCode.INTERNAL
    except HotspotError as exc:
        message(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        message("interrupted")
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): not an error worth a message
        return ExitCode.OK
    except Exception as exc:  # the last resort: a bug; say so in one line, trace on request
        if debug:
            traceback.print_exc()
        message(f"internal error: {type(exc).__name__}: {exc} (a bug in hotspotctl; "
                "--debug shows the traceback)")
        return ExitCode.INTERNAL
    return int(result) if isinstance(result, int) else ExitCode.OK
