"""hotspotctl ap: look at one access point, or act on APs over SSH (audited)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer

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
from hotspotctl.collectors.auth import DEFAULT_AUTH, Credentials, MissingSecret, for_writing, resolve
from hotspotctl.collectors.oids import format_oid
from hotspotctl.collectors.poller import probe, reboot_over_snmp, split_address
from hotspotctl.collectors.profiles import Profile, ProfileSet
from hotspotctl.collectors.ssh import DEFAULT_SSH_AUTH, CommandResult, SshCollector, SshTarget
from hotspotctl.errors import ConfigError, ExitCode, InputError
from hotspotctl.inventory.fleet import Fleet, Selection
from hotspotctl.inventory.model import AccessPoint
from hotspotctl.settings import SnmpSettings
from hotspotctl.store import Store
from hotspotctl.store.audit import audit_user, begin_action, finish_action
from hotspotctl.store.polling import load_discoveries

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

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Device output made safe for a terminal: escape sequences and control characters other than newline
    and tab removed (carriage returns too: a line that rewinds could hide what came before it)."""
    return _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n")))


def _command_line(words: Sequence[str]) -> str:
    command = " ".join(words).strip()
    if not command:
        raise typer.BadParameter("give the command after --, like: -- show version", param_hint="COMMAND")
    if _CONTROL.search(command) or "\n" in command:
        raise typer.BadParameter("the command must be one line, without control characters", param_hint="COMMAND")
    return command


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


@dataclass(frozen=True, slots=True)
class _Target:
    ap: AccessPoint
    target: SshTarget
    profile: Profile
    snmp: Credentials | None = None  # set: a reboot through the profile's SNMP SET, with these credentials

    @property
    def device_type(self) -> str:
        if self.snmp is not None:
            return "snmp"
        assert self.profile.ssh is not None
        return self.profile.ssh.device_type

    @property
    def reboot_command(self) -> str:
        if self.snmp is not None and self.profile.reboot is not None:
            oid, value = self.profile.reboot
            return f"SNMP SET {format_oid(oid)} = {value!r}"
        return self.profile.ssh.reboot if self.profile.ssh else ""


@dataclass
class _Plan:
    """The selected APs that can be acted on (over SSH, or SNMP for a reboot), and why each other one cannot."""

    targets: list[_Target]
    skipped: dict[str, str]  # AP id -> reason
    order: list[AccessPoint]  # every selected AP, in order
    profiles: dict[str, tuple[str | None, str | None]]  # AP id -> (profile, device type), skipped APs too

    @property
    def sites(self) -> int:
        return len({t.ap.site_id for t in self.targets})


def _snmp_reboot(ap: AccessPoint, profile: Profile, snmp: SnmpSettings) -> Credentials | None:
    """The credentials to reboot ``ap`` over SNMP with, when that is the way: its profile has a reboot SET and
    the AP is polled over SNMP (or its profile has no SSH reboot). ConfigError when the set cannot write."""
    has_ssh_reboot = profile.ssh is not None and bool(profile.ssh.reboot)
    if profile.reboot is None or (ap.collector == "ssh" and has_ssh_reboot):
        return None
    credentials = resolve(ap.snmp_auth or DEFAULT_AUTH, snmp.auth, os.environ)
    for_writing(credentials)  # a v2c set without a write community: say so now, run nothing
    return credentials


def _plan(store: Store, aps: Sequence[AccessPoint], profiles: ProfileSet, collector: SshCollector, *,
          reboot: bool, snmp: SnmpSettings | None = None) -> _Plan:
    """Each AP's profile (the inventory's, else the one discovery found), checked for what the action needs.

    A reboot goes through SSH (the profile's ssh.reboot) or, for an AP polled over SNMP whose profile has a
    reboot SET, through SNMP."""
    unpinned = [ap.id for ap in aps if not ap.profile]
    with store.read() as conn:
        discovered = {ap_id: stored.discovery.profile for ap_id, stored in load_discoveries(conn, unpinned).items()}
    targets: list[_Target] = []
    skipped: dict[str, str] = {}
    found: dict[str, tuple[str | None, str | None]] = {}
    for ap in aps:
        name = ap.profile or discovered.get(ap.id)
        found[ap.id] = (name, None)
        reason = None
        if not name:
            reason = ("no profile: pin one with an ssh section in the inventory's profile column, or let "
                      "`hotspotctl discover` find it")
        elif not ap.mgmt_address:
            reason = "no mgmt_address in the inventory"
        else:
            try:
                profile = profiles.get(name)
                found[ap.id] = (name, profile.ssh.device_type if profile.ssh else None)
                over_snmp = _snmp_reboot(ap, profile, snmp) if reboot and snmp is not None else None
                if over_snmp is not None:
                    found[ap.id] = (name, "snmp")
                    targets.append(_Target(ap, SshTarget(ap.id, ap.mgmt_address, "", name), profile, over_snmp))
                elif profile.ssh is None and reboot:
                    reason = f"profile {name} has neither an ssh reboot command nor an SNMP reboot"
                elif profile.ssh is None:
                    reason = f"profile {name} has no ssh section"
                elif reboot and not profile.ssh.reboot:
                    reason = f"profile {name} has neither an ssh reboot command nor an SNMP reboot"
                else:
                    auth = ap.ssh_auth or DEFAULT_SSH_AUTH
                    collector.credentials(auth)  # a missing set or password variable: say so now, run nothing
                    targets.append(_Target(ap, SshTarget(ap.id, ap.mgmt_address, auth, name), profile))
            except MissingSecret:
                raise  # the command's configuration, not this AP's: stop before anything runs (exit 3)
            except ConfigError as exc:
                reason = str(exc)
        if reason is not None:
            skipped[ap.id] = reason
    return _Plan(targets, skipped, list(aps), found)


def _collector(rt: Runtime, profiles: ProfileSet, parallel: int | None) -> SshCollector:
    settings = rt.settings.ssh
    if parallel is not None:
        settings = dataclasses.replace(settings, pool_size=parallel)
    return SshCollector(settings, profiles, rt.settings.known_hosts)


def _selection_flags(chosen: Selection) -> dict[str, list[str]]:
    flags = {"ap": chosen.aps, "site": chosen.sites, "district": chosen.districts, "program": chosen.programs,
             "zone": chosen.zones}
    return {name: list(values) for name, values in flags.items() if values}


def _secrets(collector: SshCollector, targets: Sequence[_Target]) -> list[str]:
    """The passwords and passphrases these sessions log in with: never printed, never logged."""
    found = set()
    for t in targets:
        if t.snmp is not None:
            found.update(s.decode("latin-1") for s in (t.snmp.community, t.snmp.write_community) if len(s) >= 4)
            continue
        credentials = collector.credentials(t.target.auth)
        found.update(s for s in (credentials.password, credentials.passphrase) if len(s) >= 4)
    return sorted(found, key=len, reverse=True)


def _redact(result: CommandResult, secrets: Sequence[str]) -> CommandResult:
    output, error = result.output, result.error
    for secret in secrets:
        output = output.replace(secret, "********")
        error = error.replace(secret, "********") if error else error
    return dataclasses.replace(result, output=output, error=error)


def _record(result: CommandResult) -> dict[str, Any]:
    return {"ap": result.ap, "ok": result.ok, "kind": result.kind, "error": result.error,
            "duration_s": round(result.duration_s, 3), "output": result.output}


def _status(results: Sequence[CommandResult]) -> str:
    ok = sum(1 for r in results if r.ok)
    return "ok" if ok == len(results) else "failed" if ok == 0 else "partial"


def _execute(rt: Runtime, store: Store, collector: SshCollector, *, action: str, command: str | None,
             audit_command: str, flags: dict[str, list[str]], targets: Sequence[_Target]) -> list[CommandResult]:
    """Run ``command`` (None: each profile's reboot) on the targets, between two audit log writes.

    The entry is written (running) before the first session starts, and finished after the last one,
    also when interrupted (then the APs that had not answered say so) or when something failed here.
    """
    secrets = _secrets(collector, targets)
    with store.write() as conn:
        entry_id = begin_action(conn, user=audit_user(), action=action, command=audit_command, selection=flags,
                                targets=[t.ap.id for t in targets], now=time.time())
    done: dict[str, CommandResult] = {}
    try:
        with PhaseProgress(not rt.quiet and len(targets) > 1) as progress:
            def tick(n: int) -> None:
                progress(action, n, len(targets))

            gate = asyncio.Semaphore(collector.settings.pool_size)  # SNMP reboots, as many at once as sessions

            async def one(t: _Target) -> None:
                if t.snmp is not None:
                    async with gate:
                        result = await reboot_over_snmp(t.ap.id, t.ap.mgmt_address or "", t.snmp, t.profile,
                                                        rt.settings.snmp)
                    tick(1)
                else:
                    (result,) = await collector.run([t.target], command, progress=tick)
                done[t.ap.id] = _redact(result, secrets)

            async def run_all() -> None:
                await asyncio.gather(*(one(t) for t in targets))

            asyncio.run(run_all())
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        why = ("interrupted before it answered (the command may have run)" if interrupted
               else f"hotspotctl stopped before it answered: {type(exc).__name__}")
        results = [_record(done[t.ap.id]) if t.ap.id in done else
                   {"ap": t.ap.id, "ok": False, "kind": "interrupted" if interrupted else "internal", "error": why,
                    "duration_s": None, "output": ""} for t in targets]
        with store.write() as conn:
            finish_action(conn, entry_id, status="interrupted" if interrupted else "failed", results=results,
                          now=time.time())
        if interrupted and not rt.quiet:
            output.message(f"interrupted: audit entry {entry_id} records the {len(done)} of {len(targets)} APs "
                           "that had answered")
        raise
    results = [done[t.ap.id] for t in targets]
    with store.write() as conn:
        finish_action(conn, entry_id, status=_status(results), results=[_record(r) for r in results],
                      now=time.time())
    return results


def _excerpt(result: CommandResult) -> str:
    if not result.ok:
        return clean(f"{result.kind}: {result.error}")
    lines = clean(result.output).strip("\n").split("\n")
    shown = "\n".join(line[:200] for line in lines[:TABLE_LINES])
    if len(lines) > TABLE_LINES:
        more = len(lines) - TABLE_LINES
        shown += f"\n... ({more:,} more line{'s' if more > 1 else ''}; --format json shows them all)"
    return shown


def _render(fmt: Format, plan: _Plan, results: Sequence[CommandResult]) -> None:
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


def _render_plan(fmt: Format, plan: _Plan) -> None:
    rows = [(ap.id, ap.site_id, ap.mgmt_address, *plan.profiles[ap.id], plan.skipped.get(ap.id))
            for ap in plan.order]
    output.emit(fmt, PLAN_COLUMNS, rows)


def _summary(action: str, results: Sequence[CommandResult], plan: _Plan) -> str:
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
         parallel: int | None, fmt: Format, question: Callable[[_Plan], str], always_ask: bool) -> ExitCode:
    """ap exec and ap reboot: plan, show or confirm, run (audited), render."""
    rt = runtime(ctx)
    _, aps = _select(rt, chosen)
    profiles = rt.profiles()
    with rt.open_store() as store, _collector(rt, profiles, parallel) as collector:
        plan = _plan(store, aps, profiles, collector, reboot=command is None, snmp=rt.settings.snmp)
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
        if command is None:
            by_profile = {t.profile.name: t.reboot_command for t in plan.targets}
            audit_command = next(iter(by_profile.values())) if len(set(by_profile.values())) == 1 else \
                "; ".join(f"{cmd} ({name})" for name, cmd in sorted(by_profile.items()))
        else:
            audit_command = command
        results = _execute(rt, store, collector, action=action, command=command, audit_command=audit_command,
                           flags=_selection_flags(chosen), targets=plan.targets)
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
    with rt.open_store() as store, _collector(rt, profiles, 1) as collector:
        plan = _plan(store, [ap], profiles, collector, reboot=False)
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
                             flags={"ap": [ap.id]}, targets=plan.targets)
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
