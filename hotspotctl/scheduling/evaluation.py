"""After every cycle: each AP's health, the site findings, the outage ledger and the hourly availability.

``Evaluator`` keeps the fleet's health and the open outages in memory between cycles (the store
stays the truth: it is loaded once, and every change is written in the cycle's one transaction).
An AP's health is written when its verdict changes (state, causes, histories); the last-seen
figures of an AP with a cause are refreshed in the store at most every ``FIGURES_REFRESH_S``, and
a healthy AP's not at all (InfluxDB has every figure). So a quiet fleet costs a few rows a cycle.
The decisions themselves are the pure functions of ``evaluate/status.py`` and ``evaluate/outages.py``.

What a failed poll means is its PollError's kind (``collectors.model.failure_class``): only a silent
one (timeout, send, backoff) is a miss that may make the AP DOWN; an unmonitored or misconfigured
one gives the AP that state with the error's message as the reason: no outage, no crew stop, not in
availability. A back-off skip of an AP that was unmonitored or misconfigured when last tried keeps it so.
An AP whose controller could not be read (kind ``controller``, failure class unknown) is held UNKNOWN
(``evaluate.status.held_health``): not a miss, no outage, not in availability, its memory kept.
An AP whose SNMP was silent (not skipped) while it answered the cycle's ping (``ApOutcome.ping``) within
``evaluate.ping_loss_pct``, ``down_after`` cycles in a row, is MISCONFIGURED, kind ``agent_silent``
(``evaluate.status.agent_silent_reason``, ``agent_silent_now``): never DOWN, no outage (before that, a
miss); the ping of an AP that answered is its backhaul reading (``backhaul_degraded``).

A wireless controller (an inventory row of role ``controller``) is evaluated like an AP but is no
hotspot: not in any site's size, not in availability; when it is DOWN it is one outage of its own,
cause ``controller_unreachable``, in the NOC's zone (``evaluate/outages.py``). The radios an AP
reported reach ``evaluate_ap`` from its outcome (``ApOutcome.radios``).

The hourly availability rows also add up the clients the APs reported (``clients``, over ``counted``
AP-cycles), so the crew lists can rank a stop by the people its district and programme usually have
at that hour, even for a site that went dark before it was ever polled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hotspotctl.collectors.model import FailureClass, PollErrorKind, failure_class
from hotspotctl.evaluate.outages import (
    SITE_OFFLINE,
    LedgerUpdate,
    Outage,
    controller_site,
    returned_at,
    site_findings,
    update_ledger,
)
from hotspotctl.evaluate.status import (
    DOWN,
    MISCONFIGURED,
    UNKNOWN,
    UNMONITORED,
    UNUSABLE,
    ApHealth,
    HealthState,
    Limits,
    agent_silent_now,
    agent_silent_reason,
    evaluate_ap,
    held_health,
    unusable_health,
)
from hotspotctl.inventory.fleet import CrewZones
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.names import name_key
from hotspotctl.scheduling.cycle import ApOutcome
from hotspotctl.settings import EvaluateSettings
from hotspotctl.store import Store
from hotspotctl.store.inventory import existing_ap_ids
from hotspotctl.store.outages import (
    MaintenanceWindow,
    add_availability,
    list_maintenance,
    load_health,
    load_open_outages,
    save_health,
    save_ledger,
)

HOUR_S = 3600.0
FIGURES_REFRESH_S = 900.0
SITES_FILTERED_MAX = 2000  # up to this many sites, an evaluator reads only its own sites' open outages
# the state of an AP whose poll failed for a reason no crew can fix
_UNUSABLE_STATE: dict[FailureClass, HealthState] = {FailureClass.UNMONITORED: UNMONITORED,
                                                    FailureClass.MISCONFIGURED: MISCONFIGURED}


@dataclass
class CycleEvaluation:
    """What one cycle's evaluation changed."""

    at: float
    states: Counter[str] = field(default_factory=Counter)  # APs by state: up ... unmonitored, misconfigured
    causes: Counter[str] = field(default_factory=Counter)  # APs by primary cause
    reasons: Counter[str] = field(default_factory=Counter)  # unmonitored, misconfigured, held APs by error kind
    controllers: Counter[str] = field(default_factory=Counter)  # controllers by state (not in ``states``)
    health_written: int = 0
    ledger: LedgerUpdate = field(default_factory=lambda: LedgerUpdate([], [], []))
    open_outages: int = 0
    in_maintenance: int = 0
    new_site_outages: list[Outage] = field(default_factory=list)  # opened as, or escalated to, site_offline
    health: dict[str, ApHealth] = field(default_factory=dict)  # verdicts to write
    tallies: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # the hour's availability counts
    inventory_changed: bool = False  # set by the caller when APs may have been removed since the cycle began

    def summary(self) -> dict[str, Any]:
        return {"states": dict(self.states), "causes": dict(self.causes), "reasons": dict(self.reasons),
                "controllers": dict(self.controllers), "opened": len(self.ledger.opened),
                "closed": len(self.ledger.closed), "open_outages": self.open_outages,
                "in_maintenance": self.in_maintenance}


class Evaluator:
    """Health and outages for a fixed set of APs, cycle after cycle."""

    def __init__(self, store: Store, rules: EvaluateSettings, aps: Sequence[AccessPoint], zones: CrewZones) -> None:
        self.store = store
        self.rules = rules
        limits = Limits(rules)
        self.limits = {ap.id: limits.for_ap(ap) for ap in aps}
        self.controllers = frozenset(ap.id for ap in aps if ap.is_controller)
        self.site_of = {ap.id: controller_site(ap.id) if ap.id in self.controllers else ap.site_id for ap in aps}
        self.site_sizes = Counter(site for ap_id, site in self.site_of.items() if ap_id not in self.controllers)
        self.zone_of_site: dict[str, str] = {}
        for ap in aps:  # a controller's zone is the NOC's (CrewZones.zone_for)
            self.zone_of_site.setdefault(self.site_of[ap.id], zones.zone_for(ap))
        groups: dict[tuple[str, str], tuple[str, str]] = {}  # a few hundred (district, programme): one tuple each
        self.group_of: dict[str, tuple[str, str]] = {}
        for ap in aps:
            group = (ap.district or "(none)", ap.program or "(none)")
            self.group_of[ap.id] = groups.setdefault(group, group)
        self._aps = list(aps)
        with store.read() as conn:
            self.healths: dict[str, ApHealth] = load_health(conn, list(self.site_of))
            self.open: dict[str, Outage] = {site: o for site, o in load_open_outages(conn, self._sites()).items()
                                            if site in self.zone_of_site}  # the sites' and the controllers' own
        self.clients = {ap_id: h.clients for ap_id, h in self.healths.items() if h.clients is not None}
        self.written: dict[str, float] = {}  # when an AP's health was last written by this evaluator

    def _sites(self) -> Collection[str] | None:
        """The sites whose open outages to read: this evaluator's own when they are a few (a shard's), else None
        (the whole city's one-box: one scan of the open outages beats thousands of sites in IN lists)."""
        return self.zone_of_site if len(self.zone_of_site) <= SITES_FILTERED_MAX else None

    def covered(self, windows: Sequence[MaintenanceWindow], at: float) -> set[str]:
        """The AP ids under an active maintenance window."""
        covered: set[str] = set()
        for window in windows:
            if not window.active(at):
                continue
            if window.scope == "ap":
                covered.add(window.target)
            elif window.scope == "site":
                covered.update(ap.id for ap in self._aps if ap.site_id == window.target)
            else:
                key = name_key(window.target)
                covered.update(ap.id for ap in self._aps if name_key(ap.district or "") == key)
        return covered

    def evaluate(self, outcomes: Sequence[ApOutcome], at: float, *, save: bool = True) -> CycleEvaluation:
        """Evaluate a cycle's outcomes (.ap, .rate, .error a PollError or None, .radios, .ping) as of ``at``;
        write the changes (health, ledger, the hour's availability) in one transaction.

        With ``save=False`` nothing is written: the caller saves the result (``save``) in its own
        transaction once the cycle's points are durable, then ``apply``s it. The health histories in
        memory move on at once: a caller whose save fails must load a new Evaluator from the store.
        """
        rules, limits, healths, clients, written = self.rules, self.limits, self.healths, self.clients, self.written
        with self.store.read() as conn:
            maintenance = self.covered(list_maintenance(conn, ending_after=at), at)
            # the ledger as stored: an outage closed by hand since is gone (its trouble, if it persists, opens a
            # new one), and the hand actions (ack, assignment, visits) ride along with the changes
            self.open = {site: o for site, o in load_open_outages(conn, self._sites()).items()
                         if site in self.zone_of_site}
        result = CycleEvaluation(at, in_maintenance=len(maintenance))
        changed: dict[str, ApHealth] = {}
        troubled: dict[str, ApHealth] = {}
        before: dict[str, ApHealth] = {}  # the previous health of the APs that had a cause and changed
        tallies: dict[tuple[str, str], list[int]] = {}
        states, causes, reasons = result.states, result.causes, result.reasons
        controllers = self.controllers
        for outcome in outcomes:
            ap_id = outcome.ap.id
            previous = healths.get(ap_id)
            rate, error = outcome.rate, outcome.error
            answered = error is None and rate is not None
            reading = rate if error is None else None  # the figures of an answer
            controller = ap_id in controllers
            ping = outcome.ping
            if answered or error is None:
                health = evaluate_ap(previous, answered, rate, at, limits[ap_id], rules, outcome.radios,
                                     controller=controller, ping=ping)
            else:
                kind = failure_class(error.kind)
                silent = (agent_silent_reason(ping, rules) if kind == FailureClass.SILENT
                          and error.kind != PollErrorKind.BACKOFF and agent_silent_now(previous, rules) else None)
                if kind == FailureClass.UNKNOWN:
                    health = held_health(previous, error.kind, error.message, at)
                elif kind != FailureClass.SILENT:
                    health = unusable_health(previous, _UNUSABLE_STATE[kind], error.kind, error.message, at)
                elif silent is not None:  # it answers ping: its agent or our credentials, not a miss
                    health = unusable_health(previous, MISCONFIGURED, PollErrorKind.AGENT_SILENT, silent, at)
                elif error.kind == PollErrorKind.BACKOFF and previous is not None and previous.state in UNUSABLE:
                    health = previous  # skipped: it is what it was when last tried
                else:
                    health = evaluate_ap(previous, False, None, at, limits[ap_id], rules, controller=controller)
            if health is not previous:
                healths[ap_id] = health
                if previous is not None and previous.causes:
                    before[ap_id] = previous
                if (previous is None or not health.same_verdict(previous)
                        or (health.causes and at - written.get(ap_id, 0.0) >= FIGURES_REFRESH_S)):
                    changed[ap_id] = health
                    written[ap_id] = at
            state = health.state
            if controller:  # no hotspot: not in the APs' states nor availability; its own outage when down
                result.controllers[state] += 1
                if health.stop_cause is not None:
                    troubled[ap_id] = health
                continue
            states[state] += 1
            if state in UNUSABLE or health.reason_kind is not None:
                reasons[health.reason_kind or "unknown"] += 1
                continue  # neither up nor down: not in availability, never a crew stop
            if reading is not None and reading.clients is not None:
                clients[ap_id] = reading.clients
            if health.causes:
                causes[health.causes[0]] += 1
                if health.stop_cause is not None:
                    troubled[ap_id] = health
            if state == UNKNOWN or ap_id in maintenance:
                continue
            tally = tallies.get(self.group_of[ap_id])
            if tally is None:
                tally = tallies[self.group_of[ap_id]] = [0, 0, 0, 0, 0, 0]
            tally[0] += 1
            if state != DOWN:
                tally[1] += 1
                if reading is not None:
                    if reading.per_user_mbps is not None:
                        tally[2] += 1
                        if reading.per_user_mbps >= limits[ap_id].target_mbps:
                            tally[3] += 1
                    if reading.clients is not None:
                        tally[4] += 1
                        tally[5] += reading.clients
        findings = site_findings(troubled, self.site_of, self.site_sizes, rules, clients)

        def closed_at(outage: Outage) -> float:
            return returned_at(outage, {ap_id: before.get(ap_id) or healths[ap_id] for ap_id in outage.aps_now
                                        if ap_id in healths}, healths, at)

        ledger = update_ledger(self.open, findings, at, zone_of_site=self.zone_of_site.__getitem__,
                               in_maintenance=maintenance.__contains__, closed_at=closed_at)
        result.health = changed
        result.tallies = tallies
        result.ledger = ledger
        result.health_written = len(changed)
        result.new_site_outages = [o for o in ledger.opened if o.cause == SITE_OFFLINE] + [
            o for o in ledger.changed if o.cause == SITE_OFFLINE and self.open[o.site].cause != SITE_OFFLINE]
        result.open_outages = len(self.open) + len(ledger.opened) - sum(
            1 for o in ledger.closed if o.site in self.open)
        if save:
            with self.store.write() as conn:
                self.save(conn, result)
            self.apply(result)
        return result

    def save(self, conn: sa.Connection, result: CycleEvaluation) -> None:
        """Write a cycle's evaluation (health changes, the ledger, the hour's tallies) in the caller's transaction."""
        health = result.health
        if health and result.inventory_changed:  # an AP removed since the cycle began has no health to keep
            kept = existing_ap_ids(conn, health)
            health = {ap_id: h for ap_id, h in health.items() if ap_id in kept}
        if health:
            save_health(conn, health)
        if result.ledger:
            result.ledger = save_ledger(conn, result.ledger)  # new outages get their ids
        add_availability(conn, result.at - result.at % HOUR_S, result.tallies)

    def apply(self, result: CycleEvaluation) -> None:
        """Once saved: the open outages this evaluator keeps in memory follow the ledger."""
        ledger = result.ledger
        for outage in (*ledger.opened, *ledger.changed):
            self.open[outage.site] = outage
        for outage in ledger.closed:
            self.open.pop(outage.site, None)
