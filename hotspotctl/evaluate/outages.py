"""Site findings and the outage ledger: what a crew can fix, one record per site, opened and closed.

Pure: healths in, ledger changes out; ``now`` is passed in.

- ``site_findings`` groups the APs that have a crew cause (offline, reboot loop, flapping, radio
  down, backhaul degraded, uplink degraded) by site. When at least ``site_offline_share`` of a site's APs (and at least
  ``site_offline_min_aps`` of them) are DOWN together, the site is offline: one finding, whatever
  the number of APs, because a site goes dark from one cause (power, the site switch, its fibre).
- **A wireless controller** that does not answer (DOWN: ``down_after`` silent cycles) is one
  finding of its own, cause ``controller_unreachable``, under its own key (``controller_site``: a
  controller is no site) in the NOC's zone (``NOC_ZONE``): one outage and one stop for the NOC,
  whatever the number of its APs. Its APs are UNKNOWN meanwhile (``status.held_health``): no cause,
  so no AP outage and no site_offline.
- ``update_ledger`` keeps one open outage per site. A finding at a site with no open outage opens
  one (unless every AP of the finding is under maintenance); an open outage follows its site's
  finding (cause now, APs affected now, every AP and cause seen, peaks); an open outage whose site
  has no finding any more closes. Because an AP loses its cause only after ``up_after`` good cycles
  (or ``up_after`` good readings of its link), "no finding" means its APs stayed healthy that long.
- An outage closes as of the APs' return, not as of the cycle that confirmed it: ``returned_at``
  gives, for an AP that was offline or had a slow uplink, the first of its good cycles in a row
  (``ApHealth.ok_since``); for a radio down, the first reading up of the run that cleared it
  (``RadioMemory.up_since``); for a reboot loop or flapping, which clear when their window passes, the
  cycle itself; for a backhaul degraded (ping), the cycle that cleared it too. The outage's
  ``closed_at`` is the latest return among the APs it had, so its duration is not overstated by the
  ``up_after`` cycles the hysteresis waited (but for a backhaul degraded, by up to up_after - 1 cycles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from hotspotctl.evaluate.status import DOWN, UNKNOWN, UNUSABLE, ApHealth, Cause
from hotspotctl.models.outages import LedgerUpdate as LedgerUpdate  # records the store keeps: models/, named here too
from hotspotctl.models.outages import Outage as Outage
from hotspotctl.settings import EvaluateSettings

SITE_OFFLINE = Cause.SITE_OFFLINE
CONTROLLER_UNREACHABLE = Cause.CONTROLLER_UNREACHABLE
# A stop's cause is the first of these among its APs: the more of the site it takes away, the earlier
# (a radio down takes one band of one AP away; a slow uplink slows an AP that still serves).
# controller_unreachable is alone in its finding (a controller's own): first, so the order is total.
STOP_CAUSES = (CONTROLLER_UNREACHABLE, SITE_OFFLINE, Cause.OFFLINE, Cause.REBOOT_LOOP, Cause.FLAPPING,
               Cause.RADIO_DOWN, Cause.BACKHAUL_DEGRADED, Cause.UPLINK_DEGRADED)
NOC_ZONE = "NOC"  # the zone of the NOC's own stops (controllers): its own list, never a field crew's
CONTROLLER_PREFIX = "controller:"


def controller_site(controller_id: str) -> str:
    """The ledger's key for a controller's own outage: one per controller, apart from every site id."""
    return f"{CONTROLLER_PREFIX}{controller_id}"


def is_controller_site(site: str) -> bool:
    return site.startswith(CONTROLLER_PREFIX)


# Causes that end when the AP's answers are good again, as of ``ok_since``; radio_down ends as of the radios'
# return (``RadioMemory.up_since``); the others end when their time window passes, as of the cycle itself.
_RETURN_CAUSES = frozenset({Cause.OFFLINE, Cause.UPLINK_DEGRADED, CONTROLLER_UNREACHABLE})
_RETURNS = _RETURN_CAUSES | {Cause.RADIO_DOWN}


@dataclass(frozen=True, slots=True)
class SiteFinding:
    """What is wrong at one site now that a crew can fix."""

    site: str
    cause: Cause  # one of STOP_CAUSES
    causes: tuple[Cause, ...]  # every cause among its APs (and site_offline), in STOP_CAUSES order
    aps: tuple[str, ...]  # the APs with a crew cause, sorted
    down: int  # how many of them are DOWN
    site_aps: int  # how many APs the site has
    clients: int  # clients last seen on those APs: the people the fault takes the service from
    since: float  # the earliest start of their trouble


def _ordered(causes: Iterable[str]) -> tuple[Cause, ...]:
    present = set(causes)
    return tuple(cause for cause in STOP_CAUSES if cause in present)


def site_findings(troubled: Mapping[str, ApHealth], site_of: Mapping[str, str], site_sizes: Mapping[str, int],
                  rules: EvaluateSettings, clients: Mapping[str, int] | None = None) -> dict[str, SiteFinding]:
    """Findings by site, from the APs with a crew cause and the controllers unreachable (``troubled``: AP or
    controller id -> health; a controller's site is its ``controller_site``).

    ``clients`` (AP id -> clients last seen) wins over the healths' own last-seen figure.
    """
    by_site: dict[str, list[tuple[str, ApHealth]]] = {}
    for ap_id, health in troubled.items():
        if health.stop_cause is not None:
            by_site.setdefault(site_of[ap_id], []).append((ap_id, health))
    findings = {}
    for site, members in by_site.items():
        members.sort(key=lambda item: item[0])
        size = site_sizes.get(site, len(members))
        down = sum(1 for _, health in members if health.state == DOWN)
        causes = {health.stop_cause for _, health in members if health.stop_cause is not None}
        if (CONTROLLER_UNREACHABLE not in causes and size >= rules.site_offline_min_aps
                and down >= rules.site_offline_share * size):
            causes.add(SITE_OFFLINE)
        ordered = _ordered(causes)
        findings[site] = SiteFinding(
            site=site, cause=ordered[0], causes=ordered, aps=tuple(ap_id for ap_id, _ in members), down=down,
            site_aps=size, clients=sum((clients.get(ap_id) if clients is not None else None) or health.clients or 0
                                       for ap_id, health in members),
            since=min(health.trouble_since for _, health in members))
    return findings


def returned_at(outage: Outage, before: Mapping[str, ApHealth], after: Mapping[str, ApHealth], now: float) -> float:
    """When the trouble of ``outage`` (closing at ``now``) ended: the latest return among its APs.

    ``before`` and ``after`` are the APs' healths at the previous cycle and at this one. An AP that
    was offline or slow returned at its ``ok_since`` (its first good cycle in a row), one with a radio
    down when that radio read up again (its ``up_since`` before this cycle cleared it); one whose
    trouble was a reboot loop or flapping, at ``now``. An AP gone from the fleet or no longer
    readable (unmonitored, misconfigured) left the outage: it has no return. Never before the
    outage opened, never after ``now``. An AP now held UNKNOWN (its controller unread) has no return either.
    """
    latest: float | None = None
    for ap_id in outage.aps_now or outage.aps:
        was, now_health = before.get(ap_id), after.get(ap_id)
        if now_health is None or now_health.state in UNUSABLE or now_health.state == UNKNOWN:
            continue
        crew = {cause for cause in (was.causes if was is not None else ()) if cause in STOP_CAUSES}
        back = now
        if was is not None and crew and crew <= _RETURNS:
            backs = [now_health.ok_since if now_health.ok_since is not None else now] if crew & _RETURN_CAUSES else []
            if Cause.RADIO_DOWN in crew:
                backs.append(_radios_back(was, now))
            back = max(backs)
        latest = back if latest is None else max(latest, back)
    if latest is None:
        return now
    return min(now, max(outage.opened_at, latest))


def _radios_back(was: ApHealth, now: float) -> float:
    """When the radios ``was`` held down came back: the latest of their ``up_since``; a radio with none
    (its first reading up is this cycle's, or it was held down before up_since was kept) came back ``now``."""
    backs = [radio.up_since if radio.up_since is not None else now for radio in was.radios if radio.down]
    return max(backs) if backs else now


def update_ledger(open_outages: Mapping[str, Outage], findings: Mapping[str, SiteFinding], now: float, *,
                  zone_of_site: Callable[[str], str],
                  in_maintenance: Callable[[str], bool] = lambda ap_id: False,
                  closed_at: Callable[[Outage], float] | None = None) -> LedgerUpdate:
    """The ledger's changes for this cycle (``open_outages`` by site; nothing is modified in place).

    ``closed_at`` says when a closing outage's trouble ended (``returned_at``); without it, ``now``.
    """
    opened: list[Outage] = []
    changed: list[Outage] = []
    closed: list[Outage] = []
    for site, finding in findings.items():
        current = open_outages.get(site)
        if current is None:
            aps = tuple(ap_id for ap_id in finding.aps if not in_maintenance(ap_id))
            if not aps:
                continue  # maintenance: no new outage, the data is kept
            opened.append(Outage(
                id=None, site=site, zone=zone_of_site(site), cause=finding.cause, causes=finding.causes, aps=aps,
                aps_now=aps, opened_at=min(finding.since, now), updated_at=now, peak_aps=len(aps),
                peak_clients=finding.clients, clients_now=finding.clients))
            continue
        moved = replace(
            current, cause=finding.cause, causes=_ordered((*current.causes, *finding.causes)),
            aps=tuple(sorted({*current.aps, *finding.aps})), aps_now=finding.aps,
            peak_aps=max(current.peak_aps, len(finding.aps)), peak_clients=max(current.peak_clients, finding.clients),
            clients_now=finding.clients)
        if moved != current:
            changed.append(replace(moved, updated_at=now))
    for site, current in open_outages.items():
        if site not in findings:
            end = closed_at(current) if closed_at is not None else now
            closed.append(replace(current, closed_at=end, updated_at=now, aps_now=(), clients_now=0))
    return LedgerUpdate(opened, changed, closed)

