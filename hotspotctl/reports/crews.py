"""Crew lists: per crew zone, one stop per site with an open outage, ordered as a day's route.

``build_crew_list`` is pure (outages, fleet and figures in, lists out; ``now`` passed in);
``crew_lists_from_store`` reads what it needs in one read transaction and calls it.

- **A stop** is one open outage of the ledger, which keeps at most one open outage per site: so one
  stop per site. Its zone is the outage's zone; its place, name and district are the site's. A site
  gone from the inventory since the outage opened is placed at the mean of its APs' coordinates (named
  by its id); if none of its APs is left either, the stop is skipped with a warning in the log
  (``hotspotctl.crews``), because a crew cannot be sent nowhere.
- **Priority** within a zone, 1 first: most people affected (the outage's peak clients), then the
  longest open, then the site id. With ``max_stops`` > 0 only that many of the most urgent stops make
  the list; ``more`` says how many wait for the next one.
- **Route**: the stops kept are ordered from the zone's depot (``crew_zones.depots``), or without one
  from the centroid of those stops: first nearest neighbour (each next stop the closest one not yet
  visited; ties to the more urgent), then 2-opt on the open path with the start fixed (reverse any
  stretch of the route that makes it shorter, until no reversal does). Distances are great-circle
  (haversine) kilometres as the crow flies; streets are longer, but the order is what matters. Routes
  of more than ``TWO_OPT_MAX_STOPS`` stops keep the nearest-neighbour order (2-opt is quadratic per
  pass; such a list is more than a day's work anyway).
- **Action**: what to do, by cause, with the figures the health store holds (how many APs are down of
  how many, the speed an uplink negotiated and the one it should, reboots and up/down changes counted).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from statistics import fmean
from typing import Any

from hotspotctl.evaluate.outages import SITE_OFFLINE, Outage
from hotspotctl.evaluate.status import DOWN, ApHealth, Limits
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.settings import Settings
from hotspotctl.store import Store
from hotspotctl.store.outages import list_outages, load_health
from hotspotctl.store.polling import load_discoveries

log = logging.getLogger("hotspotctl.crews")
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
TWO_OPT_MAX_STOPS = 1000  # about 1 s here; a whole-city list (max_stops 0) of more keeps the NN order


def iso(epoch_s: float) -> str:
    """Epoch seconds as ISO 8601 UTC to the second: 2026-11-22T07:00:00Z."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Stop:
    """One site a crew visits: what is wrong there, how urgent, where, and what to do."""

    order: int  # position on the route, 1 first
    site: str  # site id
    name: str  # site name
    district: str | None
    cause: str  # site_offline | offline | reboot_loop | flapping | uplink_degraded
    causes: tuple[str, ...]
    aps_affected: int
    aps: tuple[str, ...]  # AP ids affected now, sorted
    since: float  # epoch seconds: when the trouble started
    priority: int  # 1 = most urgent in the zone: most people affected, then longest
    clients: int  # people affected (the most at once)
    lat: float
    lon: float
    map_url: str
    action: str  # what to do, by cause
    outages: tuple[int, ...]  # ledger ids behind this stop
    open311: str | None = None  # the service request id (or token) once filed
    devices: tuple[str, ...] = ()  # distinct first lines of the affected APs' sysDescr (stored discovery)

    def to_json(self) -> dict[str, Any]:
        return {"order": self.order, "site": self.site, "name": self.name, "district": self.district,
                "cause": self.cause, "causes": list(self.causes), "aps_affected": self.aps_affected,
                "since": iso(self.since), "priority": self.priority, "clients": self.clients,
                "lat": self.lat, "lon": self.lon, "map_url": self.map_url, "action": self.action,
                "aps": list(self.aps), "outages": list(self.outages), "open311": self.open311,
                "devices": list(self.devices)}


@dataclass(frozen=True, slots=True)
class ZoneList:
    """A crew zone's list for one day: stops in route order."""

    zone: str
    generated_at: float
    start: tuple[float, float]  # (lat, lon) the route starts from
    start_kind: str  # "depot" (crew_zones.depots) or "centroid" (of the zone's stops)
    stops: tuple[Stop, ...]
    more: int  # stops left off beyond crews.max_stops (the least urgent), for the next list
    distance_km: float  # the route's length, start to last stop, as the crow flies

    def to_json(self) -> dict[str, Any]:
        return {"zone": self.zone, "generated_at": iso(self.generated_at),
                "start": {"lat": self.start[0], "lon": self.start[1], "kind": self.start_kind},
                "distance_km": round(self.distance_km, 2), "more": self.more,
                "stops": [stop.to_json() for stop in self.stops]}


# -- geometry and the route ---------------------------------------------------------------------------------------

def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in degrees, in km."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def path_km(start: tuple[float, float], points: Sequence[tuple[float, float]]) -> float:
    """The length of start -> points[0] -> ... -> points[-1]."""
    total, here = 0.0, start
    for point in points:
        total += haversine_km(here, point)
        here = point
    return total


def plan_route(start: tuple[float, float], points: Sequence[tuple[float, float]]) -> tuple[list[int], float]:
    """The order to visit ``points`` from ``start`` (indices into ``points``) and its length in km.

    Nearest neighbour (ties to the lower index: the more urgent stop), then 2-opt on the open path with
    the start fixed, until no reversal shortens it.
    """
    n = len(points)
    if n == 0:
        return [], 0.0
    nodes = [start, *points]  # node 0 is the start; node k is points[k - 1]
    dist = [[haversine_km(p, q) for q in nodes] for p in nodes]
    path, left, here = [0], set(range(1, n + 1)), 0
    while left:
        here = min(left, key=lambda k: (round(dist[here][k], 6), k))  # to the mm: equal is equal
        path.append(here)
        left.remove(here)
    if n <= TWO_OPT_MAX_STOPS:
        path = _two_opt(path, dist)
    order = [k - 1 for k in path[1:]]
    return order, sum(dist[a][b] for a, b in pairwise(path))


def _two_opt(path: list[int], dist: list[list[float]]) -> list[int]:
    """Reverse path[i..j] (i >= 1: the start stays first) while that shortens the open path."""
    last = len(path) - 1
    improved = True
    while improved:
        improved = False
        for i in range(1, last):
            a, b = path[i - 1], path[i]
            for j in range(i + 1, last + 1):
                c = path[j]
                delta = dist[a][c] - dist[a][b]
                if j < last:
                    d = path[j + 1]
                    delta += dist[b][d] - dist[c][d]
                if delta < -1e-9:
                    path[i:j + 1] = reversed(path[i:j + 1])
                    b = path[i]
                    improved = True
    return path


def map_url(lat: float, lon: float) -> str:
    """A link that opens the point in Google Maps (on a phone: the Maps app), to navigate there."""
    return f"https://www.google.com/maps/search/?api=1&query={lat:.6f}%2C{lon:.6f}"


# -- what to do -----------------------------------------------------------------------------------------------

def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _with_cause(aps: Sequence[str], healths: Mapping[str, ApHealth], cause: str) -> list[tuple[str, ApHealth]]:
    """The affected APs' healths, those with ``cause`` when any has it."""
    known = [(ap, healths[ap]) for ap in aps if ap in healths]
    having = [(ap, h) for ap, h in known if cause in h.causes]
    return having or known


def _site_offline_action(aps: Sequence[str], site_aps: int | None, healths: Mapping[str, ApHealth]) -> str:
    known = [healths[ap] for ap in aps if ap in healths]
    down = sum(1 for h in known if h.state == DOWN) if known else len(aps)
    total = max(site_aps or 0, len(aps))
    return (f"{down} of {total} APs down together: check the site's power (breaker, UPS, supply), "
            "then its switch and fibre.")


def _offline_action(aps: Sequence[str]) -> str:
    subject = f"{aps[0]} is down" if len(aps) == 1 else f"{len(aps)} APs are down"
    return (f"{subject}: check the PoE port and cable at the switch, power-cycle the AP, "
            "and replace it if it stays down.")


def _uplink_action(aps: Sequence[str], healths: Mapping[str, ApHealth], expected: Mapping[str, float]) -> str:
    fix = "reseat or replace the patch cable, and check the switch port (speed/duplex, errors)."
    slow = [(h.link_mbps, ap) for ap, h in _with_cause(aps, healths, "uplink_degraded") if h.link_mbps is not None]
    if not slow:
        return f"Uplink slower than it should negotiate: {fix}"
    link, ap = min(slow)
    should = expected.get(ap)
    instead = f" instead of {_num(should)} Mb/s" if should else ""
    if len(slow) == 1:
        return f"Uplink of {ap} negotiated {_num(link)} Mb/s{instead}: {fix}"
    return f"Uplinks of {len(slow)} APs negotiated as low as {_num(link)} Mb/s{instead}: {fix}"


def _window(minutes: float) -> str:
    if minutes == 60:
        return "the last hour"
    if minutes % 60 == 0:
        return f"{_num(minutes / 60)} h"
    return f"the last {_num(minutes)} min"


def _reboot_action(aps: Sequence[str], healths: Mapping[str, ApHealth], hours: float) -> str:
    counts = [len(h.reboots) for _, h in _with_cause(aps, healths, "reboot_loop")]
    figure = f"{max(counts)} reboots in {_num(hours)} h" if counts and max(counts) else "rebooting over and over"
    return f"Reboot loop ({figure}): check the power supply, the switch's PoE budget and the PoE injector."


def _flap_action(aps: Sequence[str], healths: Mapping[str, ApHealth], minutes: float) -> str:
    counts = [len(h.changes) for _, h in _with_cause(aps, healths, "flapping")]
    figure = (f"{max(counts)} up/down changes in {_window(minutes)}" if counts and max(counts)
              else "going up and down")
    return (f"Flapping ({figure}): check the cable and its connectors, and the backhaul radio's "
            "alignment.")


def action_for(cause: str, causes: Sequence[str] = (), *, aps: Sequence[str] = (), site_aps: int | None = None,
               healths: Mapping[str, ApHealth] | None = None, expected_link: Mapping[str, float] | None = None,
               reboot_hours: float = 24.0, flap_minutes: float = 60.0) -> str:
    """What a crew should do at a stop, in plain words: the primary cause's action first, then the others'.

    ``aps`` are the APs affected now, ``site_aps`` how many the site has, ``healths`` their stored
    health (for the figures), ``expected_link`` the uplink speed each AP should negotiate (Mb/s).
    """
    healths = healths or {}
    expected_link = expected_link or {}
    actions = []
    for which in (cause, *(c for c in causes if c != cause)):
        if which == "offline" and SITE_OFFLINE in (cause, *causes):
            continue  # the site's power or switch first; the APs' own checks would repeat it
        if which == SITE_OFFLINE:
            text = _site_offline_action(aps, site_aps, healths)
        elif which == "offline":
            text = _offline_action(aps) if aps else "AP down: check its PoE port and cable, power-cycle it."
        elif which == "uplink_degraded":
            text = _uplink_action(aps, healths, expected_link)
        elif which == "reboot_loop":
            text = _reboot_action(aps, healths, reboot_hours)
        elif which == "flapping":
            text = _flap_action(aps, healths, flap_minutes)
        else:
            text = f"{which.replace('_', ' ').capitalize()}: check the APs on site."
        actions.append(text if not actions else f"Also: {text[0].lower()}{text[1:]}")
    return " ".join(actions)


# -- the lists ------------------------------------------------------------------------------------------------

def _open311(outage: Outage) -> str | None:
    reference = outage.delivery.get("open311")
    if not isinstance(reference, Mapping):
        return None
    value = reference.get("id") or reference.get("token")
    return str(value) if value else None


def _first_lines(aps: Iterable[str], devices: Mapping[str, str]) -> tuple[str, ...]:
    lines = set()
    for ap in aps:
        descr = devices.get(ap)
        if descr and descr.strip():
            lines.add(descr.strip().splitlines()[0].strip())
    return tuple(sorted(lines))


def _place(outage: Outage, aps: Sequence[str], fleet: Fleet) -> tuple[str, str | None, float, float] | None:
    """(name, district, lat, lon) of the outage's site; its APs' mean point if the site is gone."""
    site = fleet.sites.get(outage.site)
    if site is not None:
        return site.name, site.district, site.lat, site.lon
    members = [fleet.aps[ap] for ap in (*aps, *outage.aps) if ap in fleet.aps]
    if not members:
        return None
    return outage.site, members[0].district, fmean(ap.lat for ap in members), fmean(ap.lon for ap in members)


@dataclass(frozen=True, slots=True)
class _Candidate:
    outage: Outage
    aps: tuple[str, ...]
    place: tuple[str, str | None, float, float]


def _zone_list(zone: str, found: list[_Candidate], fleet_sizes: Mapping[str, int], now: float,
               depot: Sequence[float] | None, max_stops: int, healths: Mapping[str, ApHealth],
               devices: Mapping[str, str], expected_link: Mapping[str, float], reboot_hours: float,
               flap_minutes: float) -> ZoneList:
    ranked = sorted(found, key=lambda c: (-c.outage.peak_clients, c.outage.opened_at, c.outage.site))
    kept = ranked[:max_stops] if max_stops > 0 else ranked
    points = [(c.place[2], c.place[3]) for c in kept]
    if depot is not None:
        start, kind = (float(depot[0]), float(depot[1])), "depot"
    else:
        start, kind = (fmean(p[0] for p in points), fmean(p[1] for p in points)), "centroid"
    order, distance = plan_route(start, points)
    stops = []
    for position, index in enumerate(order, start=1):
        c = kept[index]
        o = c.outage
        name, district, lat, lon = c.place
        action = action_for(o.cause, o.causes, aps=c.aps, site_aps=fleet_sizes.get(o.site), healths=healths,
                            expected_link=expected_link, reboot_hours=reboot_hours, flap_minutes=flap_minutes)
        stops.append(Stop(
            order=position, site=o.site, name=name, district=district, cause=o.cause, causes=tuple(o.causes),
            aps_affected=len(c.aps), aps=c.aps, since=o.opened_at, priority=index + 1, clients=o.peak_clients,
            lat=lat, lon=lon, map_url=map_url(lat, lon), action=action,
            outages=(o.id,) if o.id is not None else (), open311=_open311(o), devices=_first_lines(c.aps, devices)))
    return ZoneList(zone=zone, generated_at=now, start=start, start_kind=kind, stops=tuple(stops),
                    more=len(ranked) - len(kept), distance_km=distance)


def build_crew_list(outages: Iterable[Outage], fleet: Fleet, now: float, *, zones: Iterable[str] = (),
                    depots: Mapping[str, Sequence[float]] | None = None, max_stops: int = 25,
                    healths: Mapping[str, ApHealth] | None = None, devices: Mapping[str, str] | None = None,
                    expected_link: Mapping[str, float] | None = None, reboot_hours: float = 24.0,
                    flap_minutes: float = 60.0) -> list[ZoneList]:
    """Each zone's list (zones by name) from the open outages: one stop per site, in route order.

    ``zones`` keeps only those zones (exact names); ``depots`` is zone -> (lat, lon); ``max_stops`` 0
    keeps every stop. ``healths`` (AP id -> stored health), ``devices`` (AP id -> sysDescr) and
    ``expected_link`` (AP id -> Mb/s) give the actions their figures and the stops their devices.
    """
    wanted = set(zones)
    depots = depots or {}
    by_zone: dict[str, list[_Candidate]] = {}
    for outage in outages:
        if not outage.open or (wanted and outage.zone not in wanted):
            continue
        aps = tuple(sorted(outage.aps_now or outage.aps))
        place = _place(outage, aps, fleet)
        if place is None:
            log.warning("crew list: outage %s at site %s left off: the site and its APs (%s) are no longer "
                        "in the inventory", outage.id, outage.site, ", ".join(aps) or "none")
            continue
        by_zone.setdefault(outage.zone, []).append(_Candidate(outage, aps, place))
    sizes = fleet.site_sizes()
    return [_zone_list(zone, by_zone[zone], sizes, now, depots.get(zone), max_stops, healths or {}, devices or {},
                       expected_link or {}, reboot_hours, flap_minutes)
            for zone in sorted(by_zone)]


def crew_lists_from_store(store: Store, fleet: Fleet, settings: Settings, now: float, *, zones: Iterable[str] = (),
                          max_stops: int | None = None) -> list[ZoneList]:
    """The crew lists as of ``now`` from the ledger's open outages (one read transaction)."""
    zones = list(zones)
    with store.read() as conn:
        outages = list_outages(conn, open_only=True, zones=zones)
        ids = sorted({ap for outage in outages for ap in (outage.aps_now or outage.aps)})
        healths = load_health(conn, ids) if ids else {}
        discoveries = load_discoveries(conn, ids) if ids else {}
    limits = Limits(settings.evaluate)
    expected = {ap: limits.for_ap(fleet.aps[ap]).expected_link_mbps for ap in ids if ap in fleet.aps}
    devices = {ap: stored.discovery.sys_descr for ap, stored in discoveries.items()}
    return build_crew_list(
        outages, fleet, now, zones=zones, depots=settings.crew_zones.depots,
        max_stops=settings.crews.max_stops if max_stops is None else max_stops, healths=healths, devices=devices,
        expected_link=expected, reboot_hours=settings.evaluate.reboot_loop_hours,
        flap_minutes=settings.evaluate.flap_minutes)
