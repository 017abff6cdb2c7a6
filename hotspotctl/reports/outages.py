"""The outage ledger and the APs' health as the commands show them: one store transaction per call."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from fnmatch import fnmatchcase
from typing import Any

import sqlalchemy as sa

from hotspotctl.errors import InputError, NotFoundError
from hotspotctl.evaluate.outages import CONTROLLER_PREFIX, Outage, controller_site, is_controller_site
from hotspotctl.evaluate.status import ApHealth
from hotspotctl.inventory.fleet import Fleet, Selection
from hotspotctl.store import Store
from hotspotctl.store.audit import audit_user, begin_action, finish_action
from hotspotctl.store.outages import add_note, add_visit, get_outage, list_outages, load_health, update_outage


def resolve_filters(fleet: Fleet, zone: Sequence[str] | None, site: Sequence[str] | None
                    ) -> tuple[list[str], list[str]]:
    """Zone terms to zone names and site terms to site ids, forgivingly, as selections do elsewhere."""
    zones: list[str] = []
    sites: list[str] = []
    if zone:
        picked = fleet.select(Selection(zones=tuple(zone)))
        zones = sorted({fleet.zones.zone_for(ap) for ap in picked})
    if site:
        picked = fleet.select(Selection(sites=tuple(site)))
        sites = sorted({ap.site_id for ap in picked if ap.site_id}
                       | {term for term in site if term not in fleet.sites and not any(ch in term for ch in "*?[")}
                       | {controller_site(ap.id) for ap in fleet.aps.values()  # a controller's own outage
                          if ap.is_controller and any(fnmatchcase(ap.id, term) for term in site)})
    return zones, sites


def site_place(fleet: Fleet, site_id: str) -> tuple[str, str | None]:
    """(name, district) of an outage's site as an operator reads it: the site's, or for a controller's own
    outage (``controller:<id>``) the controller's id and district; ("", None) for a site no longer known."""
    site = fleet.sites.get(site_id)
    if site is not None:
        return site.name, site.district
    if is_controller_site(site_id):
        controller_id = site_id.removeprefix(CONTROLLER_PREFIX)
        controller = fleet.aps.get(controller_id)
        return controller_id, controller.district if controller is not None else None
    return "", None


def find_outages(store: Store, fleet: Fleet, *, open_only: bool = False, since: float | None = None,
                 zones: Sequence[str] | None = None, sites: Sequence[str] | None = None) -> list[Outage]:
    """Outages newest first, of these zone and site terms (none when a term names nothing), open at any time
    since ``since``."""
    zone_names, site_ids = resolve_filters(fleet, zones, sites)
    if (zones and not zone_names) or (sites and not site_ids):
        return []
    with store.read() as conn:
        return list_outages(conn, open_only=open_only, since=since, zones=zone_names, sites=site_ids)


def open_outages(store: Store) -> list[Outage]:
    with store.read() as conn:
        return list_outages(conn, open_only=True)


def load_outage(store: Store, outage_id: int) -> Outage:
    """One outage; NotFoundError (exit 3) when the ledger has no such id."""
    with store.read() as conn:
        found = get_outage(conn, outage_id)
    if found is None:
        raise NotFoundError(f"no outage {outage_id} in the ledger; `hotspotctl outages list` shows their ids")
    return found


def ap_healths(store: Store, ap_ids: Sequence[str] | None = None) -> dict[str, ApHealth]:
    """The health the last cycle kept, of these APs or every AP."""
    with store.read() as conn:
        return load_health(conn, ap_ids)


# -- the NOC's hand actions: ack, assign, note, close, and the crews' visits ----------------------------------------

USER_ENV = "HOTSPOTCTL_USER"
NAME_LIMIT = 200  # characters of a who (the store's column)
NOTE_LIMIT = 1000  # characters of one note
VISIT_GRACE_S = 86_400.0  # a site's outage closed this recently still takes its crew's visit (fixed, then told)


def acting_user(by: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Who acts: ``by`` when given, else $HOTSPOTCTL_USER, else the login name (the audit log's user)."""
    env = os.environ if env is None else env
    for candidate, where in ((by, "--by"), (env.get(USER_ENV), USER_ENV)):
        if candidate is not None and (candidate.strip() or where == "--by"):
            return one_line(candidate, where, NAME_LIMIT)
    return audit_user(env)


def one_line(text: str, what: str, limit: int = NOTE_LIMIT) -> str:
    """Text a person typed, as the ledger keeps it: one line, its whitespace collapsed, control characters out;
    InputError (exit 3, nothing written) when empty or longer than ``limit``."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if not line:
        raise InputError(f"{what} is empty; nothing written")
    if len(line) > limit:
        raise InputError(f"{what} is {len(line):,} characters, more than {limit:,}; nothing written")
    return line


def note_line(at: float, by: str, text: str, tz: tzinfo) -> str:
    """An annotation as the notes keep it: "YYYY-mm-dd HH:MM who: text", in the city's time."""
    return f"{datetime.fromtimestamp(at, tz).strftime('%Y-%m-%d %H:%M')} {by}: {text}"


@dataclass(frozen=True, slots=True)
class HandResult:
    """What a hand action did to one outage: the outage after it, and a line saying what."""

    outage: Outage
    done: str  # "acknowledged", "already acknowledged by ana at ...", "assigned to ...", ...
    changed: bool = True


_Change = Callable[[sa.Connection, Outage], tuple[str, bool]]  # (what it did, whether anything changed)


def _no_outage(outage_id: int) -> NotFoundError:
    return NotFoundError(f"no outage {outage_id} in the ledger; `hotspotctl outages list` shows their ids; "
                         "nothing written")


def _act(store: Store, ids: Sequence[int], *, action: str, by: str, at: float, command: str, must_be_open: bool,
         change: _Change, selection: Mapping[str, Any] | None = None) -> list[HandResult]:
    """One hand action on these outages, all or nothing, written to the audit log in the same transaction."""
    ids = list(dict.fromkeys(ids))
    with store.write() as conn:
        found: list[Outage] = []
        for outage_id in ids:
            outage = get_outage(conn, outage_id)
            if outage is None:
                raise _no_outage(outage_id)
            found.append(outage)
        closed = [o for o in found if not o.open]
        if must_be_open and closed:
            raise InputError("; ".join(
                f"outage {o.id} ({o.site}) is already closed" + (f" (by {o.closed_by})" if o.closed_by else "")
                for o in closed) + f": nothing to {action}; nothing written")
        entry = begin_action(conn, user=audit_user(), action=action, command=command,
                             selection={"outages": ids, "by": by, **(selection or {})},
                             targets=[f"outage:{i}" for i in ids], now=at)
        results: list[HandResult] = []
        for outage in found:
            assert outage.id is not None
            done, changed = change(conn, outage)
            after = get_outage(conn, outage.id)
            assert after is not None
            results.append(HandResult(after, done, changed))
        finish_action(conn, entry, status="ok", now=at, results=[
            {"ap": f"outage:{r.outage.id}", "ok": True, "outage": r.outage.id, "site": r.outage.site,
             "changed": r.changed, "output": r.done} for r in results])
    return results


def acknowledge_outages(store: Store, ids: Sequence[int], *, by: str, at: float, tz: tzinfo, note: str | None = None,
                        command: str = "outages ack") -> list[HandResult]:
    """Acknowledge open outages (the NOC's notices about them stop repeating). An outage already acknowledged
    keeps its first ack (who and when); a note is added either way. A closed or unknown one: nothing written."""
    def change(conn: sa.Connection, outage: Outage) -> tuple[str, bool]:
        assert outage.id is not None
        if outage.acked_at is not None:
            done, changed = f"already acknowledged by {outage.acked_by}", False
        else:
            update_outage(conn, outage.id, acked_at=at, acked_by=by)
            done, changed = "acknowledged", True
        if changed or note:
            add_note(conn, outage.id, note_line(at, by, f"{done}: {note}" if note else done, tz))
        return done, changed or bool(note)

    return _act(store, ids, action="ack", by=by, at=at, command=command, must_be_open=True, change=change)


def assign_outage(store: Store, outage_id: int, *, to: str, by: str, at: float, tz: tzinfo,
                  command: str = "outages assign") -> HandResult:
    """Assign an open outage to someone (a crew, a person), or to someone else: the last assignment holds."""
    def change(conn: sa.Connection, outage: Outage) -> tuple[str, bool]:
        assert outage.id is not None
        update_outage(conn, outage.id, assigned_to=to, assigned_at=at)
        done = f"assigned to {to}" + (f" (was {outage.assigned_to})" if outage.assigned_to else "")
        add_note(conn, outage.id, note_line(at, by, done, tz))
        return done, True

    (result,) = _act(store, [outage_id], action="assign", by=by, at=at, command=command, must_be_open=True,
                     change=change, selection={"to": to})
    return result


def note_outage(store: Store, outage_id: int, text: str, *, by: str, at: float, tz: tzinfo,
                command: str = "outages note") -> HandResult:
    """Add a line "YYYY-mm-dd HH:MM who: text" to an outage's notes, open or closed."""
    def change(conn: sa.Connection, outage: Outage) -> tuple[str, bool]:
        assert outage.id is not None
        line = note_line(at, by, text, tz)
        add_note(conn, outage.id, line)
        return line, True

    (result,) = _act(store, [outage_id], action="note", by=by, at=at, command=command, must_be_open=False,
                     change=change)
    return result


def close_outage(store: Store, outage_id: int, *, by: str, at: float, tz: tzinfo, note: str | None = None,
                 command: str = "outages close") -> HandResult:
    """Close an open outage by hand, now (closed_by says who). If its trouble persists, the run's next cycle
    opens a new outage for the site: a hand close says "handled", it does not hide a fault."""
    def change(conn: sa.Connection, outage: Outage) -> tuple[str, bool]:
        assert outage.id is not None
        update_outage(conn, outage.id, closed_at=at, updated_at=at, closed_by=by, aps_now=[], clients_now=0)
        done = "closed by hand" + (f": {note}" if note else "")
        add_note(conn, outage.id, note_line(at, by, done, tz))
        return "closed by hand", True

    (result,) = _act(store, [outage_id], action="close", by=by, at=at, command=command, must_be_open=True,
                     change=change)
    return result


def record_visit(store: Store, ids: Sequence[int], *, by: str, at: float, tz: tzinfo, via: str,
                 note: str | None = None, fixed: bool | None = None, command: str = "crews done") -> list[HandResult]:
    """A crew's visit, on each of these outages: {"at", "by", "note", "via", "fixed"} in its visits, and a note."""
    visit = {"at": at, "by": by, "note": note or "", "via": via, "fixed": fixed}
    said = {True: "fixed", False: "not fixed", None: ""}[fixed]

    def change(conn: sa.Connection, outage: Outage) -> tuple[str, bool]:
        assert outage.id is not None
        add_visit(conn, outage.id, visit)
        done = f"visited ({via})" + (f", {said}" if said else "")
        add_note(conn, outage.id, note_line(at, by, f"{done}: {note}" if note else done, tz))
        return done, True

    return _act(store, ids, action="done", by=by, at=at, command=command, must_be_open=False, change=change,
                selection={"via": via})


def stop_outages(store: Store, fleet: Fleet, stop: str, now: float) -> list[Outage]:
    """The outages behind what a crew calls a stop: an outage id (as the list shows them), or a site (its id,
    or its name as the list shows it): the site's open outage, else its last one if closed within
    VISIT_GRACE_S (the crew fixed it and the run closed it before the crew reported). NotFoundError otherwise."""
    term = stop.strip()
    with store.read() as conn:
        if term.isascii() and term.isdigit():
            found = get_outage(conn, int(term))
            if found is not None:
                return [found]
        sites = {term} if term in fleet.sites or is_controller_site(term) else {
            site.id for site in fleet.sites.values() if site.name.casefold() == term.casefold()}
        if not sites:  # a site no longer in the inventory may still have its outages
            sites = {term}
        outages = list_outages(conn, sites=sorted(sites), limit=20)
    open_ones = [o for o in outages if o.open]
    if open_ones:
        return open_ones
    recent = [o for o in outages if o.closed_at is not None and now - o.closed_at <= VISIT_GRACE_S]
    if recent:
        return recent[:1]
    raise NotFoundError(f"no outage {term!r}: no outage with that id, and no site with that id or name has an "
                        f"outage open or closed in the last {VISIT_GRACE_S / 3600:.0f} h; the crew list shows "
                        "each stop's outages; nothing written")
