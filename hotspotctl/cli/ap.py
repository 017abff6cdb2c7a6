"""hotspotctl ap: look at one access point, or act on APs over SSH (audited)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from hotspotctl.actions.plan import ActionPlan, plan_actions, selection_flags, ssh_collector
from hotspotctl.actions.probe import probe_address
from hotspotctl.actions.redact import CONTROL, clean
from hotspotctl.actions.run import run_audited
from hotspotctl.cli import output
from hotspotctl.cli.output import Format, PhaseProgress, ReportFormat
from hotspotctl.cli.runtime import (
    ApOption,
    DistrictOption,
    FormatOption,
    ProgramOption,
    ReportFormatOption,
    Runtime,
    SiteOption,
    ZoneOption,
    runtime,
    selection,
)
from hotspotctl.collectors.ping import SOCKET_KINDS, SocketKind, ping_hosts
from hotspotctl.collectors.ssh import CommandResult, SshCollector
from hotspotctl.errors import ExitCode, InputError
from hotspotctl.inventory.fleet import Fleet, Selection
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.store import Store

app = typer.Typer(help="Look at one access point, or act on APs over SSH (every action is audited).",
                  no_args_is_help=True)


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

    Says which profile matched (or that none did), and what the profile names that the device did not
    answer ("unread"); for a wireless controller, the APs it reports.

    Exit 4 when the device does not answer (timeout, wrong credentials).

    Examples:

      hotspotctl ap probe 10.20.0.15 --auth default

      HOTSPOTCTL_PROBE_COMMUNITY=s3cret hotspotctl ap probe 10.20.0.15:1161 --format json

      hotspotctl ap probe ap-aicm-t1-01.example.net --auth campus-v3 --profile ubiquiti_unifi

      hotspotctl ap probe wlc-norte.example.net --auth wlc --format json | jq '.aps[] | select(.joined | not)'
    """
    if (community is None) == (auth is None):
        raise typer.BadParameter(f"give one of --community (or {COMMUNITY_ENV}) and --auth",
                                 param_hint="--community/--auth")
    rt = runtime(ctx)
    result = probe_address(address, rt.profiles(), rt.settings.snmp, community=community, auth=auth, pinned=profile)
    data: dict[str, Any] = dict(result.to_json())
    if fmt == ReportFormat.JSON:
        output.print_json(data)
        return ExitCode.OK
    uplink = data["uplink"]
    if data["profile_matched"]:
        matched = f"{data['profile']} ({'pinned' if profile else 'matched'})"
    elif profile:
        matched = f"{data['profile']} (pinned)"
    else:
        matched = f"no vendor profile matched; {data['profile']} (IF-MIB figures only)"
    rows = [("address", data["address"]), ("profile", matched), ("sys_descr", data["sys_descr"]),
            ("sys_object_id", data["sys_object_id"]), ("uptime_s", data["uptime_s"]),
            ("clients", data["clients"]), ("clients_source", data["clients_source"]), ("rtt_ms", data["rtt_ms"])]
    if isinstance(uplink, dict):
        rows += [(f"uplink.{key}", value) for key, value in uplink.items()]
    else:
        rows.append(("uplink", "none found"))
    if "ap_count" in data:
        rows.append(("ap_count", data["ap_count"]))
        listed = data["aps"]
        if listed is None:  # a count-only controller section: the MIB has no per-AP table
            rows.append(("aps", "not listed: the profile's MIB gives the controller's totals only"))
        else:
            joined = sum(1 for ap in listed if ap["joined"])
            rows.append(("aps", f"{len(listed):,} listed, {joined:,} joined" if listed else
                         "none listed (see unread)" if "controller.aps.rows" in data["unread"] else "none listed"))
    rows.append(("unread", ", ".join(data["unread"]) or "none: the device answered every figure the profile names"))
    output.print_table(("field", "value"), rows)
    radios = data["radios"]
    if radios:
        columns = ("name", "if_index", "band", "channel", "frequency_mhz", "clients", "utilization_pct",
                   "noise_floor_dbm", "tx_power_dbm", "oper_up")
        output.print_table(columns, [[r[c] for c in columns] for r in radios], title="Radios")
    if data.get("aps"):
        ap_columns = ("name", "mac", "joined", "reason", "clients", "uptime_s")
        output.print_table((*ap_columns, "radios"),
                           [[ap[c] for c in ap_columns] + [_radios_text(ap["radios"])] for ap in data["aps"]],
                           title="APs (the controller's)", numeric=("clients", "uptime_s"))
    return ExitCode.OK


PING_COLUMNS = ("host", "sent", "received", "loss_pct", "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "jitter_ms", "error")


@app.command("ping")
def ping(
    ctx: typer.Context,
    hosts: Annotated[list[str], typer.Argument(
        metavar="HOST...", show_default=False,
        help="addresses (IPv4, IPv6) or names; an inventory's host:port is taken as its host")],
    count: Annotated[int | None, typer.Option(
        "--count", "-c", min=1, max=100, show_default=False,
        help="echo requests per host (default ping.count)")] = None,
    interval: Annotated[float | None, typer.Option(
        "--interval", "-i", metavar="MS", min=1, max=60_000, show_default=False,
        help="milliseconds between one host's echoes (default ping.interval_ms)")] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", "-W", metavar="SECONDS", min=0.01, max=60, show_default=False,
        help="how long each echo is waited for (default ping.timeout_s)")] = None,
    sock: Annotated[str | None, typer.Option(
        "--socket", metavar="|".join(SOCKET_KINDS), show_default=False,
        help="the ICMP socket: datagram (unprivileged, where net.ipv4.ping_group_range allows), raw (root or "
             "CAP_NET_RAW) or auto (default ping.socket)")] = None,
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """Ping hosts now (ICMP echo), all at once from one socket: loss, round trip and jitter per host.

    Each host gets --count echoes --interval ms apart; each echo is waited for --timeout seconds, and a
    host is done when every echo is answered or --timeout after its last one. Names are resolved first;
    a name that does not resolve is reported (its result has "error") and not pinged.

    --format json prints a list with one object per HOST, in the order given: {"host", "sent",
    "received", "loss_pct", "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "jitter_ms"} (the "ping" object
    of `poll --once --format json`), plus "error" when nothing could be sent.

    Needs an ICMP socket: as root (or with CAP_NET_RAW) a raw one; otherwise an unprivileged datagram
    socket where net.ipv4.ping_group_range includes your group. Exit 3 says which fix applies.

    Exit 0 when every host answered; 4 when some did not (or did not resolve).

    Examples:

      hotspotctl ap ping 10.20.0.15

      hotspotctl ap ping 10.20.0.15 10.20.0.16 ap-aicm-t1-01.example.net --count 5 --interval 200

      hotspotctl ap ping 2001:db8::15 --timeout 2 --format json | jq '.[] | select(.loss_pct > 0)'
    """
    if sock is not None and sock not in SOCKET_KINDS:
        raise typer.BadParameter(f"{sock!r} is not one of {', '.join(SOCKET_KINDS)}", param_hint="--socket")
    rt = runtime(ctx)
    settings = rt.settings.ping
    kind: SocketKind = (sock or settings.socket)  # type: ignore[assignment]  # checked above and at load
    results = asyncio.run(ping_hosts(
        hosts, count=count or settings.count,
        interval_s=(interval if interval is not None else settings.interval_ms) / 1000.0,
        timeout_s=timeout if timeout is not None else settings.timeout_s, max_in_flight=settings.max_in_flight,
        kind=kind, receive_buffer_bytes=settings.receive_buffer_bytes, max_rate_pps=settings.max_rate_pps))
    ordered = [results[host] for host in hosts]
    for result in dict.fromkeys(ordered):
        if result.error is not None:
            output.message(f"error: {result.host}: {result.error}")
    if fmt == ReportFormat.JSON:
        output.print_json([{**r.to_json(), **({"error": r.error} if r.error is not None else {})} for r in ordered])
    else:
        columns = PING_COLUMNS if any(r.error for r in ordered) else PING_COLUMNS[:-1]  # "error" when there is one
        output.print_table(columns, [(r.host, r.sent, r.received, r.loss_pct, r.rtt_min_ms, r.rtt_avg_ms,
                                      r.rtt_max_ms, r.jitter_ms, r.error)[:len(columns)] for r in ordered],
                           numeric=PING_COLUMNS[1:-1])
    silent = [host for host, r in results.items() if not r.answered]
    if not rt.quiet:
        output.message(f"ping: {len(results) - len(silent):,} of {_plural(len(results), 'host')} answered"
                       + (f"; no answer from {', '.join(silent[:10])}{' ...' if len(silent) > 10 else ''}"
                          if silent else ""))
    return ExitCode.PARTIAL if silent else ExitCode.OK


def _radios_text(radios: Sequence[dict[str, Any]]) -> str:
    """A controller's AP's radios in a cell: band and channel (else the name), and which are down."""
    parts = []
    for radio in radios:
        said = " ".join(part for part in (radio["band"], f"ch {radio['channel']}" if radio["channel"] is not None
                                          else None) if part) or radio["name"]
        parts.append(f"{said} DOWN" if radio["oper_up"] is False else said)
    return ", ".join(parts) or "none"


# -- actions over SSH: ap ssh, ap exec, ap reboot ------------------------------------------------------------------

CommandArgument = Annotated[list[str], typer.Argument(
    metavar="COMMAND", show_default=False,
    help="the command line, after `--` (its words are joined with spaces; quote it to keep its own spacing)")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation (needed off a terminal)")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="list the targets (and the APs skipped); run nothing")]
ParallelOption = Annotated[int | None, typer.Option(
    "--parallel", min=1, show_default=False, help="SSH sessions at once (default: ssh.pool_size)")]

TABLE_LINES = 3  # lines of each AP's output a results table shows
RESULT_COLUMNS = ("ap", "site", "ok", "duration_s", "output")
CSV_COLUMNS = ("ap", "site", "ok", "duration_s", "error_kind", "error", "output")
PLAN_COLUMNS = ("ap", "site", "address", "profile", "device_type", "skipped")

def _command_line(words: Sequence[str]) -> str:
    command = " ".join(words).strip()
    if not command:
        raise typer.BadParameter("give the command after --, like: -- show version", param_hint="COMMAND")
    if CONTROL.search(command) or "\n" in command:
        raise typer.BadParameter("the command must be one line, without control characters", param_hint="COMMAND")
    return command


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _execute(rt: Runtime, store: Store, collector: SshCollector, *, action: str, command: str | None,
             audit_command: str, flags: dict[str, list[str]], plan: ActionPlan) -> list[CommandResult]:
    """The audited run, with a progress bar on a terminal and a word on stderr when interrupted."""
    targets = plan.targets
    stopped: list[tuple[int, int, int]] = []
    try:
        with PhaseProgress(not rt.quiet and len(targets) > 1) as progress:
            return run_audited(store, collector, targets, action=action, command=command,
                               audit_command=audit_command, selection=flags, snmp=rt.settings.snmp,
                               progress=lambda n: progress(action, n, len(targets)),
                               interrupted=lambda *counts: stopped.append(counts))
    finally:
        if stopped and not rt.quiet:
            entry_id, answered, total = stopped[0]
            output.message(f"interrupted: audit entry {entry_id} records the {answered} of {total} APs "
                           "that had answered")


def _excerpt(result: CommandResult) -> str:
    if not result.ok:
        return clean(f"{result.kind}: {result.error}")
    lines = clean(result.output).strip("\n").split("\n")
    shown = "\n".join(line[:200] for line in lines[:TABLE_LINES])
    if len(lines) > TABLE_LINES:
        more = len(lines) - TABLE_LINES
        shown += f"\n... ({more:,} more line{'s' if more > 1 else ''}; --format json shows them all)"
    return shown


def _render(fmt: Format, plan: ActionPlan, results: Sequence[CommandResult]) -> None:
    by_ap = {r.ap: r for r in results}
    sites = {ap.id: ap.site_id for ap in plan.order}
    skipped = [CommandResult(ap.id, False, "", 0.0, "skipped", plan.skipped[ap.id])
               for ap in plan.order if ap.id in plan.skipped]
    ordered = [by_ap[ap.id] for ap in plan.order if ap.id in by_ap] + skipped
    if fmt == Format.JSON:
        output.print_json([{**r.to_json(), "site": sites[r.ap]} for r in ordered])
    elif fmt == Format.CSV:
        output.print_csv(CSV_COLUMNS, [(r.ap, sites[r.ap], r.ok, round(r.duration_s, 3), r.kind,
                                        clean(r.error or ""), clean(r.output)) for r in ordered])
    else:
        output.print_table(RESULT_COLUMNS, [(r.ap, sites[r.ap], r.ok, round(r.duration_s, 2), _excerpt(r))
                                            for r in ordered], numeric=("duration_s",))


def _render_plan(fmt: Format, plan: ActionPlan) -> None:
    rows = [(ap.id, ap.site_id, ap.mgmt_address, *plan.profiles[ap.id], plan.skipped.get(ap.id))
            for ap in plan.order]
    output.emit(fmt, PLAN_COLUMNS, rows)


def _summary(action: str, results: Sequence[CommandResult], plan: ActionPlan) -> str:
    ok = sum(1 for r in results if r.ok)
    text = f"{action}: {ok:,} of {_plural(len(results), 'AP')} ok"
    failed = [r for r in results if not r.ok]
    if failed:
        kinds: dict[str, int] = {}
        for r in failed:
            kinds[r.kind or "error"] = kinds.get(r.kind or "error", 0) + 1
        text += ", failed: " + ", ".join(f"{kind} {n:,}" for kind, n in sorted(kinds.items()))
    if plan.skipped:
        text += f"; {_plural(len(plan.skipped), 'AP')} skipped (not reachable over SSH as configured)"
    return text


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise typer.BadParameter(f"{question.rstrip('?')}: not on a terminal, so nothing asked and nothing run; "
                                 "add --yes to confirm", param_hint="--yes")
    if not typer.confirm(question, default=False, err=True):
        output.message("nothing run")
        raise typer.Exit(ExitCode.INTERNAL)


def _select(rt: Runtime, chosen: Selection) -> tuple[Fleet, list[AccessPoint]]:
    if not chosen:
        raise typer.BadParameter("choose the APs with --ap, --site, --district, --program or --zone (there is no "
                                 "default: never the whole fleet by accident)", param_hint="--ap/--site/...")
    fleet = rt.load_fleet()
    aps = fleet.select(chosen)
    if not aps:
        raise InputError("the selection matches no AP; `hotspotctl inventory list` shows what is there")
    return fleet, aps


def _act(ctx: typer.Context, *, action: str, command: str | None, chosen: Selection, dry_run: bool, yes: bool,
         parallel: int | None, fmt: Format, question: Callable[[ActionPlan], str], always_ask: bool) -> ExitCode:
    """ap exec and ap reboot: plan, show or confirm, run (audited), render."""
    rt = runtime(ctx)
    _, aps = _select(rt, chosen)
    profiles = rt.profiles()
    with rt.open_store() as store, ssh_collector(rt.settings, profiles, parallel) as collector:
        plan = plan_actions(store, aps, profiles, collector, reboot=command is None, snmp=rt.settings.snmp)
        if dry_run:
            _render_plan(fmt, plan)
            if not rt.quiet:
                output.message(f"dry run: would {action} on {_plural(len(plan.targets), 'AP')} at "
                               f"{_plural(plan.sites, 'site')}; {len(plan.skipped):,} skipped; nothing run")
            return ExitCode.OK
        if not plan.targets:
            reasons = "; ".join(f"{ap}: {why}" for ap, why in list(plan.skipped.items())[:5])
            raise InputError(f"none of the {_plural(len(aps), 'selected AP')} can be acted on: {reasons}"
                             + (" ..." if len(plan.skipped) > 5 else ""))
        if plan.skipped and not rt.quiet:
            for ap_id, why in plan.skipped.items():
                output.message(f"skipped {ap_id}: {why}")
        if always_ask or len(plan.targets) > 1:
            _confirm(question(plan), yes)
        audit_command = plan.reboot_command() if command is None else command
        results = _execute(rt, store, collector, action=action, command=command, audit_command=audit_command,
                           flags=selection_flags(chosen), plan=plan)
    _render(fmt, plan, results)
    if not rt.quiet:
        output.message(_summary(action, results, plan))
    return ExitCode.OK if all(r.ok for r in results) and not plan.skipped else ExitCode.PARTIAL


@app.command("ssh")
def ssh(
    ctx: typer.Context,
    ap_id: Annotated[str, typer.Argument(metavar="ID", help="the AP's id", show_default=False)],
    command: CommandArgument,
    fmt: ReportFormatOption = ReportFormat.TABLE,
) -> ExitCode:
    """Run one read-only command on one AP over SSH and print its output.

    Only commands the AP's profile lists as read-only (ssh.read_only in `hotspotctl profiles
    show NAME`) run here: the line is parsed as the device parses it (quotes, abbreviations,
    operators), and a command, option or argument not on that list, or anything the parser is
    unsure of, is refused (exit 2) and goes through `hotspotctl ap exec`, which asks first.
    The profile is the inventory's, else the one discovery found. The login is the AP's
    ssh_auth set ([ssh.auth.NAME], "default" when empty); host keys are checked against
    ssh.known_hosts. The action goes in the audit log (`hotspotctl audit list`).

    The output is printed as the device sent it (control characters removed on a terminal);
    --format json gives the output, duration and error as one object.

    Exit 4 when the AP failed (timeout, refused, auth, hostkey, protocol): the error is on stderr.

    Examples:

      hotspotctl ap ssh AICM-T1-AP-01 -- show version

      hotspotctl ap ssh PILARES-X_AP_01 -- 'cat /proc/net/dev'

      hotspotctl ap ssh MT-07 --format json -- /interface print | jq -r .output
    """
    text = _command_line(command)
    rt = runtime(ctx)
    ap = rt.load_fleet().get(ap_id)
    profiles = rt.profiles()
    with rt.open_store() as store, ssh_collector(rt.settings, profiles, 1) as collector:
        plan = plan_actions(store, [ap], profiles, collector, reboot=False)
        if ap.id in plan.skipped:
            raise InputError(f"AP {ap.id}: {plan.skipped[ap.id]}; nothing run")
        (target,) = plan.targets
        ssh_profile = target.profile.ssh
        assert ssh_profile is not None
        problem = ssh_profile.refusal(text)
        if problem is not None:
            how = f"{ssh_profile.read_only.dialect} dialect" if ssh_profile.read_only else target.device_type
            problem = (f"`{text}` is not a read-only command for AP {ap.id} (profile {target.profile.name}, "
                       f"{how}): {problem}")
        if problem is not None:
            output.message(f"error: {problem}; nothing run. For anything else use "
                           f"`hotspotctl ap exec --ap {ap.id} -- {text}` (it asks for confirmation and is audited)")
            return ExitCode.USAGE
        (result,) = _execute(rt, store, collector, action="ssh", command=text, audit_command=text,
                             flags={"ap": [ap.id]}, plan=plan)
    if fmt == ReportFormat.JSON:
        output.print_json({**result.to_json(), "site": ap.site_id, "profile": target.profile.name,
                           "command": text})
    elif result.ok:
        shown = clean(result.output) if sys.stdout.isatty() else result.output
        sys.stdout.write(shown if shown.endswith("\n") or not shown else shown + "\n")
    if not result.ok:
        output.message(f"error: AP {ap.id}: {result.kind}: {result.error}")
        return ExitCode.PARTIAL
    return ExitCode.OK


@app.command("exec")
def exec_(
    ctx: typer.Context,
    command: CommandArgument,
    ap: ApOption = None, site: SiteOption = None, district: DistrictOption = None,
    program: ProgramOption = None, zone: ZoneOption = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    parallel: ParallelOption = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Run a command on the selected APs over SSH, any command, after asking.

    Targets are the selected APs whose profile (the inventory's, else the discovered one) has an
    ssh section, a mgmt_address and a usable ssh_auth set; the others are listed as skipped with
    the reason. A selection is required: there is no "whole fleet" default. On more than one
    AP it asks "Run 'COMMAND' on N APs at M sites?" first; off a terminal it needs --yes.
    --dry-run lists the targets and runs nothing.

    The action is written to the audit log before the first session starts and completed with
    every AP's result after the last (`hotspotctl audit show ID`). The table shows the first
    lines of each output; --format json gives every field and the whole outputs.

    Exit 0 when every selected AP ran it; 4 when some failed or were skipped (the output says
    which); 2 when confirmation was needed and not given; 1 when declined.

    Examples:

      hotspotctl ap exec --site AICM --dry-run -- show dot11 associations

      hotspotctl ap exec --site AICM -- show dot11 associations

      hotspotctl ap exec --district Tlalpan --program Pilares --yes --parallel 8 -f json -- 'uci show wireless'
    """
    text = _command_line(command)
    chosen = selection(ap, site, district, program, zone)
    return _act(ctx, action="exec", command=text, chosen=chosen, dry_run=dry_run, yes=yes, parallel=parallel,
                fmt=fmt, always_ask=False,
                question=lambda plan: f"Run '{text}' on {_plural(len(plan.targets), 'AP')} at "
                                      f"{_plural(plan.sites, 'site')}?")


@app.command("reboot")
def reboot(
    ctx: typer.Context,
    ap: ApOption = None, site: SiteOption = None, district: DistrictOption = None,
    program: ProgramOption = None, zone: ZoneOption = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    parallel: ParallelOption = None,
    fmt: FormatOption = Format.TABLE,
) -> ExitCode:
    """Reboot the selected APs with their profile's reboot, over SSH or SNMP, after asking.

    An AP polled over SSH gets its profile's ssh.reboot command, the device's confirmation
    questions answered as the profile says; the AP dropping the session is success. An AP polled
    over SNMP whose profile has a reboot SET (`reboot: {oid, value}`) gets that SET, sent with
    its snmp_auth set's write community (v2c: write_community_env) or its v3 user; the agent
    answering is success. APs with neither are skipped with the reason. A reboot drops everyone
    connected, so it asks even for one AP; off a terminal it needs --yes. --dry-run lists the
    targets and reboots nothing. Audited like `ap exec`.

    Exit 0 when every selected AP took the command; 4 when some failed or were skipped; 2 when
    confirmation was needed and not given; 1 when declined.

    Examples:

      hotspotctl ap reboot --ap PILARES-X_AP_01

      hotspotctl ap reboot --site AICM --dry-run

      hotspotctl ap reboot --ap 'CALLE-7*' --yes --format json
    """
    chosen = selection(ap, site, district, program, zone)
    return _act(ctx, action="reboot", command=None, chosen=chosen, dry_run=dry_run, yes=yes, parallel=parallel,
                fmt=fmt, always_ask=True,
                question=lambda plan: f"Reboot {_plural(len(plan.targets), 'AP')} at {_plural(plan.sites, 'site')} "
                                      f"({', '.join(t.ap.id for t in plan.targets[:3])}"
                                      f"{' ...' if len(plan.targets) > 3 else ''})? Everyone connected is dropped")
