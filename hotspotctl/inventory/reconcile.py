"""Drift between the inventory and the wireless controllers: ``hotspotctl inventory reconcile``.

Each controller is read now (one walk of its per-AP tables, as a cycle reads it), not from a stored
reading: a reconcile is run while the city's file is being corrected, so it must see what the controller
says after each fix, and it works on a store no service has polled. Two lists come out:

- ``not_in_inventory``: APs a controller reports that no inventory AP managed by it matches (by ap_mac when
  the inventory gives one, else by ap_name, default the AP's id); with the controller's name and MAC for
  them, ready to be added to the file;
- ``not_on_controller``: inventory APs managed by a controller that does not report them (``reported_by``
  names another controller that does, when one read now lists it: the AP moved; ``renamed_to`` the name the
  controller reports it under now, when the AP is known by name and the controller lists, under another name,
  the MAC it gave the AP when the cycle last read it: the AP was renamed on the controller, and is listed
  once, as such, not also as an AP the inventory lacks).

A controller that cannot be read is listed with its error, and its APs are in neither list (nothing is
known of them). So is a count-only controller (its profile has no per-AP table: it cannot list its APs),
with ``lists_aps`` false; the inventory's APs behind it are a drift of their own (``no_ap_table``): they
must be polled directly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from hotspotctl.collectors.controllers import ApIndex, ControllerResult, read_controllers, reported_mac
from hotspotctl.collectors.model import Discovery, PollError
from hotspotctl.collectors.poller import Poller, Target
from hotspotctl.errors import ExitCode, InputError, NotFoundError, PollErrorKind
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.models.radios import ControllerReading, ManagedAp
from hotspotctl.store import Store
from hotspotctl.store.polling import StoredDiscovery, load_discoveries, load_states, save_discoveries

COLUMNS = ("drift", "controller", "ap", "name", "mac", "joined", "detail")


@dataclass(frozen=True, slots=True)
class ControllerState:
    id: str
    profile: str | None
    aps_reported: int | None  # None: not read
    aps_in_inventory: int
    error: str | None = None
    lists_aps: bool = True  # False: a count-only controller (no per-AP table): it cannot list its APs

    def to_json(self) -> dict[str, object]:
        return {"controller": self.id, "profile": self.profile, "read": self.error is None,
                "lists_aps": self.lists_aps, "aps_reported": self.aps_reported,
                "aps_in_inventory": self.aps_in_inventory, "error": self.error}

    @property
    def unlisted(self) -> bool:
        """Read, but cannot list its APs while the inventory puts some behind it (they go unmonitored)."""
        return self.error is None and not self.lists_aps and self.aps_in_inventory > 0


@dataclass(frozen=True, slots=True)
class Unknown:
    """An AP a controller reports that the inventory lacks."""

    controller: str
    name: str | None
    mac: str | None
    joined: bool | None

    def to_json(self) -> dict[str, object]:
        return {"controller": self.controller, "name": self.name, "mac": self.mac, "joined": self.joined}


@dataclass(frozen=True, slots=True)
class Missing:
    """An inventory AP its controller does not report."""

    ap: str
    controller: str
    ap_name: str
    ap_mac: str | None
    reported_by: str | None = None  # another controller that lists it
    mac_on_controller: str | None = None  # the MAC its controller gave it when the cycle last read it
    renamed_to: str | None = None  # the name its controller lists that MAC under now (renamed there)
    joined: bool | None = None  # as the controller says under the new name

    def to_json(self) -> dict[str, object]:
        return {"ap": self.ap, "controller": self.controller, "ap_name": self.ap_name, "ap_mac": self.ap_mac,
                "reported_by": self.reported_by, "mac_on_controller": self.mac_on_controller,
                "renamed_to": self.renamed_to}


@dataclass
class ReconcileReport:
    controllers: list[ControllerState] = field(default_factory=list)
    not_in_inventory: list[Unknown] = field(default_factory=list)
    not_on_controller: list[Missing] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        """0: every controller read and no drift; 4 (partial): drift found, a controller not read, or inventory
        APs behind a controller that cannot list them."""
        unread = any(state.error is not None or state.unlisted for state in self.controllers)
        return ExitCode.PARTIAL if unread or self.not_in_inventory or self.not_on_controller else ExitCode.OK

    def to_json(self) -> dict[str, object]:
        return {"controllers": [c.to_json() for c in self.controllers],
                "not_in_inventory": [u.to_json() for u in self.not_in_inventory],
                "not_on_controller": [m.to_json() for m in self.not_on_controller]}

    def rows(self) -> list[tuple[object, ...]]:
        """One row per drift (COLUMNS), then one per controller not read, then one per controller that cannot
        list its APs."""
        rows: list[tuple[object, ...]] = [
            ("not_in_inventory", u.controller, None, u.name, u.mac, u.joined, "reported by the controller; "
             "not in the inventory") for u in self.not_in_inventory]
        rows += [("renamed", m.controller, m.ap, m.renamed_to, m.mac_on_controller, m.joined,
                  f"the controller lists {m.ap_name!r} as {m.renamed_to!r} now (same MAC): set its ap_name to "
                  f"{m.renamed_to!r}, or better its ap_mac to {m.mac_on_controller} (a MAC does not change)")
                 if m.renamed_to is not None else
                 ("not_on_controller", m.controller, m.ap, m.ap_name, m.ap_mac, None,
                  f"listed by {m.reported_by}" if m.reported_by else "the controller does not report it")
                 for m in self.not_on_controller]
        rows += [("unreadable", c.id, None, None, None, None, c.error) for c in self.controllers if c.error]
        rows += [("no_ap_table", c.id, None, None, None, None,
                  f"profile {c.profile} gives no per-AP table: the controller cannot list its APs"
                  + (f"; poll its {c.aps_in_inventory} inventory APs directly (clear their controller column)"
                     if c.aps_in_inventory else ""))
                 for c in self.controllers if c.error is None and not c.lists_aps]
        return rows


def compare(controllers: Mapping[str, AccessPoint], managed: Sequence[AccessPoint],
            readings: Mapping[str, ControllerResult], profiles: Mapping[str, str | None],
            last_macs: Mapping[str, str] | None = None) -> ReconcileReport:
    """The drift between the inventory's managed APs and what each controller read reports; pure.

    ``last_macs``: by AP id, the MAC its controller gave it when a cycle last read it (``reported_mac`` of its
    counter state). An AP known by name (no ap_mac) that its controller no longer lists by that name, while
    the controller lists that MAC under another name the inventory lacks, was renamed on the controller: one
    ``not_on_controller`` entry with ``renamed_to``, and the new name is not also listed as unknown."""
    last_macs = last_macs or {}
    report = ReconcileReport()
    by_controller: dict[str, list[AccessPoint]] = {c_id: [] for c_id in controllers}
    for ap in managed:
        if ap.controller in by_controller:
            by_controller[ap.controller].append(ap)
    indexes = {c_id: ApIndex.of(r) for c_id, r in readings.items() if isinstance(r, ControllerReading)}
    for c_id in sorted(controllers):
        reading = readings.get(c_id)
        aps = by_controller[c_id]
        if not isinstance(reading, ControllerReading):
            error = reading.message if isinstance(reading, PollError) else "not read"
            report.controllers.append(ControllerState(c_id, profiles.get(c_id), None, len(aps), error))
            continue
        if not reading.lists_aps:  # count-only: says nothing of any one AP, so no AP of it drifts either way
            report.controllers.append(ControllerState(c_id, profiles.get(c_id), None, len(aps), lists_aps=False))
            continue
        report.controllers.append(ControllerState(c_id, profiles.get(c_id), len(reading.aps), len(aps)))
        index = indexes[c_id]
        matched: set[int] = set()
        missing: list[Missing] = []
        for ap in sorted(aps, key=lambda a: a.id):
            found = index.find(ap)
            if found is not None:
                matched.add(id(found))
                continue
            elsewhere = next((other for other, idx in sorted(indexes.items()) if other != c_id and idx.find(ap)),
                             None)
            missing.append(Missing(ap.id, c_id, ap.name_on_controller, ap.ap_mac, elsewhere,
                                   None if ap.ap_mac else last_macs.get(ap.id)))
        claimed = _claimed_elsewhere(c_id, index, managed)
        strays = [listed for listed in reading.aps if id(listed) not in matched and id(listed) not in claimed]
        for entry in missing:
            renamed = None if entry.reported_by or entry.mac_on_controller is None else next(
                (listed for listed in strays if listed.mac == entry.mac_on_controller and listed.name), None)
            if renamed is not None:
                strays.remove(renamed)
                entry = replace(entry, renamed_to=renamed.name, joined=renamed.joined)
            report.not_on_controller.append(entry)
        for listed in strays:
            report.not_in_inventory.append(Unknown(c_id, listed.name, listed.mac, listed.joined))
    report.not_in_inventory.sort(key=lambda u: (u.controller, u.name or "", u.mac or ""))
    return report


def _claimed_elsewhere(c_id: str, index: ApIndex, managed: Sequence[AccessPoint]) -> set[int]:
    """The APs this controller lists that the inventory puts under another controller (they moved: reported
    once, as that inventory AP's ``reported_by``)."""
    claimed: set[int] = set()
    for ap in managed:
        if ap.controller != c_id:
            found: ManagedAp | None = index.find(ap)
            if found is not None:
                claimed.add(id(found))
    return claimed


async def reconcile(store: Store, aps: Mapping[str, AccessPoint], poller: Poller, *,
                    controller: str | None = None) -> ReconcileReport:
    """Read the inventory's controllers (or the one named) now and compare with its managed APs.

    A controller's profile is its stored layout's (what the last cycle discovered at its address), else it
    is discovered now (and the layout stored, as a cycle would)."""
    controllers = {ap.id: ap for ap in aps.values() if ap.is_controller}
    if controller is not None:
        if controller not in controllers:
            if controller in aps:
                raise InputError(f"--controller {controller!r} is an AP (role {aps[controller].role}), not a "
                                 "controller")
            known = ", ".join(sorted(controllers)[:10]) or "none in the inventory"
            raise NotFoundError(f"--controller {controller!r}: no such controller (known: {known})")
        controllers = {controller: controllers[controller]}
    managed = [ap for ap in aps.values() if ap.managed]
    with store.read() as conn:
        stored = load_discoveries(conn, list(controllers))
        states = load_states(conn, [ap.id for ap in managed if not ap.ap_mac])
    last_macs = {ap_id: mac for ap_id, state in states.items() if state.counters is not None
                 and (mac := reported_mac(state.counters.uplink, aps[ap_id].controller or "")) is not None}
    layouts: dict[str, Discovery] = {c_id: s.discovery for c_id, s in stored.items()
                                     if s.address == (controllers[c_id].mgmt_address or "")}
    readings: dict[str, ControllerResult] = {}
    fresh = [c for c_id, c in controllers.items() if c_id not in layouts]
    if fresh:
        found = await poller.discover([_target(c) for c in fresh])
        now = datetime.now(UTC)
        good = {c_id: StoredDiscovery(controllers[c_id].mgmt_address or "", layout, now)
                for c_id, layout in found.items() if isinstance(layout, Discovery)}
        if good:
            with store.write() as conn:
                save_discoveries(conn, good)
        for c_id, layout in found.items():
            if isinstance(layout, Discovery):
                layouts[c_id] = layout
            else:
                readings[c_id] = layout
    work = []
    for c_id, layout in layouts.items():
        profile = poller.profiles.profiles.get(layout.profile)
        if profile is None or profile.controller is None:
            readings[c_id] = PollError(c_id, time.time(), PollErrorKind.CONFIG,
                                       f"detected as {layout.profile}, whose profile has no controller section: "
                                       "pin a controller profile in its profile column")
        else:
            work.append((_target(controllers[c_id]), profile))
    readings.update(await read_controllers(poller, work))
    return compare(controllers, managed, readings, {c_id: layout.profile for c_id, layout in layouts.items()},
                   last_macs)


def _target(ap: AccessPoint) -> Target:
    return Target(ap.id, ap.mgmt_address, ap.snmp_auth or "default", ap.profile)
