"""Running an action on its planned targets between two audit log writes.

The entry is written (running) before the first session starts, and finished after the last one, also when
interrupted (then the APs that had not answered say so) or when something failed here. Device output comes
back with the sessions' own passwords, passphrases and communities masked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from hotspotctl import clock
from hotspotctl.actions import redact as redaction
from hotspotctl.actions.plan import ActionTarget
from hotspotctl.collectors.poller import reboot_over_snmp
from hotspotctl.collectors.ssh import CommandResult, SshCollector
from hotspotctl.settings import SnmpSettings
from hotspotctl.store import Store
from hotspotctl.store.audit import audit_user, begin_action, finish_action


def secrets_of(collector: SshCollector, targets: Sequence[ActionTarget]) -> list[str]:
    """The passwords and passphrases these sessions log in with: never printed, never logged."""
    found: set[str] = set()
    for t in targets:
        if t.snmp is not None:
            found.update(s.decode("latin-1") for s in (t.snmp.community, t.snmp.write_community) if len(s) >= 4)
            continue
        credentials = collector.credentials(t.target.auth)
        found.update(s for s in (credentials.password, credentials.passphrase) if len(s) >= 4)
    return sorted(found, key=len, reverse=True)


def audit_record(result: CommandResult) -> dict[str, Any]:
    """One AP's result as the audit log keeps it."""
    return {"ap": result.ap, "ok": result.ok, "kind": result.kind, "error": result.error,
            "duration_s": round(result.duration_s, 3), "output": result.output}


def run_status(results: Sequence[CommandResult]) -> str:
    """ok (every AP), failed (none) or partial."""
    ok = sum(1 for r in results if r.ok)
    return "ok" if ok == len(results) else "failed" if ok == 0 else "partial"


def run_audited(store: Store, collector: SshCollector, targets: Sequence[ActionTarget], *, action: str,
                command: str | None, audit_command: str, selection: dict[str, list[str]], snmp: SnmpSettings,
                progress: Callable[[int], None] | None = None,
                interrupted: Callable[[int, int, int], None] | None = None) -> list[CommandResult]:
    """Run ``command`` (None: each profile's reboot) on the targets, between two audit log writes.

    ``progress(n)`` is told each time n more APs have answered. When the run is interrupted (Ctrl-C), the
    entry is finished as such and ``interrupted(entry_id, answered, targets)`` is told before the
    KeyboardInterrupt goes on.
    """
    secrets = secrets_of(collector, targets)
    with store.write() as conn:
        entry_id = begin_action(conn, user=audit_user(), action=action, command=audit_command, selection=selection,
                                targets=[t.ap.id for t in targets], now=clock.now())
    done: dict[str, CommandResult] = {}

    def tick(n: int) -> None:
        if progress is not None:
            progress(n)

    try:
        gate = asyncio.Semaphore(collector.settings.pool_size)  # SNMP reboots, as many at once as sessions

        async def one(t: ActionTarget) -> None:
            if t.snmp is not None:
                async with gate:
                    result = await reboot_over_snmp(t.ap.id, t.ap.mgmt_address or "", t.snmp, t.profile, snmp)
                tick(1)
            else:
                (result,) = await collector.run([t.target], command, progress=tick)
            done[t.ap.id] = redaction.redact(result, secrets)

        async def run_all() -> None:
            await asyncio.gather(*(one(t) for t in targets))

        asyncio.run(run_all())
    except BaseException as exc:
        stopped = isinstance(exc, KeyboardInterrupt)
        why = ("interrupted before it answered (the command may have run)" if stopped
               else f"hotspotctl stopped before it answered: {type(exc).__name__}")
        records = [audit_record(done[t.ap.id]) if t.ap.id in done else
                   {"ap": t.ap.id, "ok": False, "kind": "interrupted" if stopped else "internal", "error": why,
                    "duration_s": None, "output": ""} for t in targets]
        with store.write() as conn:
            finish_action(conn, entry_id, status="interrupted" if stopped else "failed", results=records,
                          now=clock.now())
        if stopped and interrupted is not None:
            interrupted(entry_id, len(done), len(targets))
        raise
    results = [done[t.ap.id] for t in targets]
    with store.write() as conn:
        finish_action(conn, entry_id, status=run_status(results), results=[audit_record(r) for r in results],
                      now=clock.now())
    return results
