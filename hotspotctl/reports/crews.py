"""Crew lists: per crew zone, one stop per site with an open outage, ordered as a day's route.

``build_crew_list`` is pure (outages, fleet and figures in, lists out; ``now`` passed in);
``crew_lists_from_store`` reads what it needs in one read transaction and calls it.

- **A stop** is one open outage of the ledger, which keeps at most one open outage per site: so one
  stop per site. Its zone is the outage's zone; its place, name and district are the site's. A site
  gone from the inventory since the outage opened is placed at the mean of its APs' coordinates (named
  by its id); if none of its APs is left either, the stop is skipped with a warning in the log
  (``hotspotctl.crews``), because a crew cannot be sent nowhere.
- **Priority** within a zone, 1 first: most people affected, then most APs affected, then the longest
  open, then the site id. The people affected are what the history knows: for each AP affected, the
  clients one AP of its district and programme usually has at this local hour (the hourly rows of the
  last days, ``reports.availability.usual_clients``), else its programme's default
  (``crews.usual_clients_by_program``, then ``crews.usual_clients``); and never fewer than the outage
  saw at its peak. So a site that went dark before its first poll (0 clients seen) still counts its
  people. With ``max_stops`` > 0 only that many of the most urgent stops make the list; ``more`` says
  how many wait for the next one.
- **Route**: the stops kept are ordered from the zone's depot (``crew_zones.depots``), or without one
  from the centroid of those stops: first nearest neighbour (each next stop the closest one not yet
  visited; ties to the more urgent), then 2-opt on the open path with the start fixed (reverse any
  stretch of the route that makes it shorter, until no reversal does). Distances are great-circle
  (haversine) kilometres as the crow flies; streets are longer, but the order is what matters. Routes
  of more than ``TWO_OPT_MAX_STOPS`` stops keep the nearest-neighbour order (2-opt is quadratic per
  pass; such a list is more than a day's work anyway).
- **Action**: what to do, by cause, with the exact count of APs of each cause and their ids, and the
  figures the health store holds (how many APs are down of how many, the speed each uplink negotiated
  and the one it should, reboots and up/down changes counted).
- **The NOC's list**: a wireless controller that does not answer is one outage in the zone
  ``NOC`` (``evaluate.outages.NOC_ZONE``), so it is one stop in a list of its own, never a field
  crew's: placed at the controller's coordinates when the inventory gives them, else at the mean of
  the APs it manages; its action names the controller and how many APs are unknown behind it.
- **Times** people read (tables, CSV, the printable page, emails) are in the city's zone (the
  ``timezone`` setting, carried by each ZoneList); JSON keeps UTC (``iso``).
- **Words**: a zone's causes and actions are in its crew's language (``crew_zones.language``, Spanish by
  default, or ``crew_zones.languages[zone]``; ``language_for``), from the catalogues in hotspotctl/messages;
  the list carries it (``ZoneList.language``) for the page and the email. A stop's ``neighborhood`` is the
  colonia most of its site's APs name, when the inventory has one (the city's own file does not).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from itertools import pairwise
from statistics import fmean
from typing import Any

from hotspotctl.evaluate.outages import CONTROLLER_PREFIX, SITE_OFFLINE, Outage, controller_site, is_controller_site
from hotspotctl.evaluate.status import DOWN, ApHealth, Cause, Limits
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.messages import SOURCE_LANGUAGE, Catalogue, catalogue
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.names import name_key
from hotspotctl.reports.availability import NONE, usual_clients, usual_since
from hotspotctl.reports.done import with_done_links
from hotspotctl.settings import CrewSettings, CrewZoneSettings, Settings
from hotspotctl.store import Store
from hotspotctl.store.outages import list_outages, load_availability, load_health
from hotspotctl.store.polling import load_discoveries

log = logging.getLogger("hotspotctl.crews")
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
TWO_OPT_MAX_STOPS = 1000  # about 1 s here; a whole-city list (max_stops 0) of more keeps the NN order


def iso(epoch_s: float) -> str:
    """Epoch seconds as ISO 8601 UTC to the second: 2026-11-22T07:00:00Z (for JSON and machines)."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_time(epoch_s: float, tz: tzinfo) -> str:
    """Epoch seconds as people in the city read them: 2026-11-22 01:00 CST (``tz``'s abbreviation)."""
    moment = datetime.fromtimestamp(epoch_s, tz)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or moment.strftime('%z')}"


def local_iso(epoch_s: float, tz: tzinfo) -> str:
    """Epoch seconds as ISO 8601 in ``tz`` with its offset: 2026-11-22T01:00:00-06:00 (CSV cells)."""
    return datetime.fromtimestamp(epoch_s, tz).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Stop:
    """One site a crew visits: what is wrong there, how urgent, where, and what to do."""

    order: int  # position on the route, 1 first
    site: str  # site id
    name: str  # site name
    district: str | None
    cause: str  # one of evaluate.outages.STOP_CAUSES (controller_unreachable: the NOC's list only)
    causes: tuple[str, ...]
    aps_affected: int
    aps: tuple[str, ...]  # AP ids affected now, sorted
    since: float  # epoch seconds: when the trouble started
    priority: int  # 1 = most urgent in the zone: most people affected, then most APs, then longest
    clients: int  # clients seen on the APs affected (the most at once)
    lat: float
    lon: float
    map_url: str
    action: str  # what to do, by cause
    outages: tuple[int, ...]  # ledger ids behind this stop
    open311: str | None = None  # the service request id (or token) once filed
    devices: tuple[str, ...] = ()  # distinct first lines of the affected APs' sysDescr (stored discovery)
    people: int = 0  # people affected as the history knows them (what the priority ranks by)
    neighborhood: str | None = None  # the colonia of the site's APs (inventory column neighborhood), when known
    done_link: str | None = None  # the signed link that records the crew's visit (reports.done; crews.done_url)

    def to_json(self) -> dict[str, Any]:
        return {"order": self.order, "site": self.site, "name": self.name, "district": self.district,
                "cause": self.cause, "causes": list(self.causes), "aps_affected": self.aps_affected,
                "since": iso(self.since), "priority": self.priority, "people": self.people, "clients": self.clients,
                "lat": self.lat, "lon": self.lon, "map_url": self.map_url, "action": self.action,
                "aps": list(self.aps), "outages": list(self.outages), "open311": self.open311,
                "devices": list(self.devices), "neighborhood": self.neighborhood, "done_link": self.done_link}


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
    tz: tzinfo = UTC  # the city's zone, for the times people read (settings.timezone)
    language: str = SOURCE_LANGUAGE  # the catalogue its crew reads (crew_zones.language / languages)

    def local(self, epoch_s: float) -> str:
        """A time of this list as people read it (tables, the page, emails)."""
        return local_time(epoch_s, self.tz)

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


def _names(aps: Sequence[str]) -> str:
    return ", ".join(aps)


def cause_label(cause: str, language: str = SOURCE_LANGUAGE) -> str:
    """What a cause is called where a crew reads it: 'site_offline' -> 'sitio sin servicio' (es)."""
    text = catalogue(language)
    return text(f"cause.{cause}") if text.has(f"cause.{cause}") else text("cause.other", cause=cause.replace("_", " "))


def short_action(cause: str, language: str = SOURCE_LANGUAGE) -> str:
    """The one-line action of the printable list, by cause, without figures."""
    text = catalogue(language)
    return text(f"short.{cause}") if text.has(f"short.{cause}") else text("short.other")


def _having(aps: Sequence[str], healths: Mapping[str, ApHealth], cause: str) -> list[str]:
    """The affected APs whose health has ``cause`` (for offline: those DOWN); all of them when none says so."""
    if cause in (Cause.OFFLINE, SITE_OFFLINE):
        having = [ap for ap in aps if ap in healths and healths[ap].state == DOWN]
    else:
        having = [ap for ap in aps if ap in healths and cause in healths[ap].causes]
    return having or list(aps)


def _site_offline_action(t: Catalogue, aps: Sequence[str], site_aps: int | None,
                         healths: Mapping[str, ApHealth]) -> str:
    down = _having(aps, healths, SITE_OFFLINE)
    return t("action.site_offline", down=len(down), total=max(site_aps or 0, len(aps)), names=_names(down))


def _offline_action(t: Catalogue, aps: Sequence[str], healths: Mapping[str, ApHealth]) -> str:
    down = _having(aps, healths, Cause.OFFLINE)
    return t.plural("action.offline", len(down), aps=t.plural("count.aps", len(down)), names=_names(down))


def _uplink_action(t: Catalogue, aps: Sequence[str], healths: Mapping[str, ApHealth],
                   expected: Mapping[str, float]) -> str:
    slow = _having(aps, healths, Cause.UPLINK_DEGRADED)
    parts = []
    for ap in slow:
        link = healths[ap].link_mbps if ap in healths else None
        should = expected.get(ap)
        if link is None:
            parts.append(ap)
        elif should:
            parts.append(t("action.uplink_speed_expected", ap=ap, link=_num(link), should=_num(should)))
        else:
            parts.append(t("action.uplink_speed", ap=ap, link=_num(link)))
    return t("action.uplink_degraded", aps=t.plural("count.aps", len(slow)), parts="; ".join(parts))


def _window(t: Catalogue, minutes: float) -> str:
    if minutes == 60:
        return t("action.window_hour")
    if minutes % 60 == 0:
        return t("action.window_hours", hours=_num(minutes / 60))
    return t("action.window_minutes", minutes=_num(minutes))


def _counted(t: Catalogue, aps: Sequence[str], healths: Mapping[str, ApHealth], cause: str, count: str,
             unit: str) -> str:
    """'X: 5 reboots' for one AP, 'X: 5, Y: 3 reboots' for several; ids alone when there are no figures."""
    having = _having(aps, healths, cause)
    figures = [len(getattr(healths[ap], count)) if ap in healths else 0 for ap in having]
    counted = t.plural("count.aps", len(having))
    if not any(figures):
        return t("action.counted", aps=counted, names=_names(having))
    shown = ", ".join(f"{ap}: {n}" for ap, n in zip(having, figures, strict=True))
    return t("action.counted_figures", aps=counted, figures=shown, unit=unit)


def _radio_action(t: Catalogue, aps: Sequence[str], healths: Mapping[str, ApHealth]) -> str:
    having = _having(aps, healths, Cause.RADIO_DOWN)
    parts = []
    for ap in having:
        radios = healths[ap].radios_down if ap in healths else ()
        parts.append(f"{ap}: {', '.join(radios)}" if radios else ap)
    return t("action.radio_down", aps=t.plural("count.aps", len(having)), parts="; ".join(parts))


def _backhaul_action(t: Catalogue, aps: Sequence[str], healths: Mapping[str, ApHealth]) -> str:
    having = _having(aps, healths, Cause.BACKHAUL_DEGRADED)
    parts = []
    for ap in having:
        h = healths.get(ap)
        figures = []
        if h is not None and h.ping_loss_pct is not None:
            figures.append(t("action.backhaul_loss", loss=_num(h.ping_loss_pct)))
        if h is not None and h.ping_rtt_ms is not None:
            figures.append(t("action.backhaul_rtt", rtt=_num(h.ping_rtt_ms)))
        parts.append(f"{ap}: {', '.join(figures)}" if figures else ap)
    return t("action.backhaul_degraded", aps=t.plural("count.aps", len(having)), parts="; ".join(parts))


def _controller_action(t: Catalogue, controller: str, managed: int | None) -> str:
    behind = (t("action.controller_behind", aps=t.plural("count.aps", managed)) if managed
              else t("action.controller_behind_unknown"))
    return t("action.controller_unreachable", controller=controller, behind=behind)


def _by_catalogue(t: Catalogue, cause: str, aps: Sequence[str], healths: Mapping[str, ApHealth]) -> str:
    """A cause whose action is one message of the APs having it (backhaul_degraded), else the generic text."""
    if not t.has(f"action.{cause}"):
        return t("action.other", cause=cause.replace("_", " ").capitalize())
    having = _having(aps, healths, cause)
    return t(f"action.{cause}", aps=t.plural("count.aps", len(having)), names=_names(having))


def action_for(cause: str, causes: Sequence[str] = (), *, aps: Sequence[str] = (), site_aps: int | None = None,
               healths: Mapping[str, ApHealth] | None = None, expected_link: Mapping[str, float] | None = None,
               reboot_hours: float = 24.0, flap_minutes: float = 60.0, language: str = SOURCE_LANGUAGE) -> str:
    """What a crew should do at a stop, in plain words: the primary cause's action first, then the others'.

    Each cause's text counts its APs exactly and names them. ``aps`` are the APs affected now (for
    controller_unreachable: the controller), ``site_aps`` how many the site has (how many APs the
    controller manages), ``healths`` their stored health (which AP has which cause, and
    the figures), ``expected_link`` the uplink speed each AP should negotiate (Mb/s). The words are
    ``language``'s catalogue's (hotspotctl/messages).
    """
    t = catalogue(language)
    healths = healths or {}
    expected_link = expected_link or {}
    actions: list[str] = []
    for which in (cause, *(c for c in causes if c != cause)):
        if which == Cause.OFFLINE and SITE_OFFLINE in (cause, *causes):
            continue  # the site's power or switch first; the APs' own checks would repeat it
        if which == SITE_OFFLINE:
            text = _site_offline_action(t, aps, site_aps, healths)
        elif which == Cause.OFFLINE:
            text = _offline_action(t, aps, healths) if aps else t("action.offline_unknown")
        elif which == Cause.UPLINK_DEGRADED:
            text = _uplink_action(t, aps, healths, expected_link)
        elif which == Cause.RADIO_DOWN:
            text = _radio_action(t, aps, healths)
        elif which == Cause.BACKHAUL_DEGRADED:
            text = _backhaul_action(t, aps, healths)
        elif which == Cause.CONTROLLER_UNREACHABLE:
            text = _controller_action(t, ", ".join(aps) or "?", site_aps)
        elif which == Cause.REBOOT_LOOP:
            unit = t("action.reboot_unit", hours=_num(reboot_hours))
            text = t("action.reboot_loop", which=_counted(t, aps, healths, Cause.REBOOT_LOOP, "reboots", unit))
        elif which == Cause.FLAPPING:
            unit = t("action.flap_unit", window=_window(t, flap_minutes))
            text = t("action.flapping", which=_counted(t, aps, healths, Cause.FLAPPING, "changes", unit))
        else:
            text = _by_catalogue(t, which, aps, healths)
        actions.append(text if not actions else t("action.also", text=f"{text[0].lower()}{text[1:]}"))
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
    """(name, district, lat, lon) of the outage's site; its APs' mean point if the site is gone.

    A controller's outage: the controller's own point when the inventory gives one, else the mean
    point of the APs it manages.
    """
    site = fleet.sites.get(outage.site)
    if site is not None:
        return site.name, site.district, site.lat, site.lon
    members = [fleet.aps[ap] for ap in (*aps, *outage.aps) if ap in fleet.aps]
    name = outage.site
    if is_controller_site(outage.site):
        name = outage.site.removeprefix(CONTROLLER_PREFIX)
        members = [ap for ap in members if ap.lat is not None and ap.lon is not None] or [
            ap for ap in fleet.aps.values() if ap.controller == name]
    points = [(ap.lat, ap.lon) for ap in members if ap.lat is not None and ap.lon is not None]
    if not points:
        return None
    return name, members[0].district, fmean(lat for lat, _ in points), fmean(lon for _, lon in points)


def language_for(zone: str, zones: CrewZoneSettings) -> str:
    """The language of ``zone``'s crew: crew_zones.languages (name in any case, with or without accents),
    else crew_zones.language."""
    key = name_key(zone)
    return next((language for name, language in zones.languages.items() if name_key(name) == key), zones.language)


def neighborhoods(fleet: Fleet) -> dict[str, str]:
    """Site id -> the colonia most of its APs name (inventory column neighborhood); sites without one left out."""
    counts: dict[str, dict[str, int]] = {}
    for ap in fleet.aps.values():
        if ap.site_id and ap.neighborhood and ap.neighborhood.strip():
            named = counts.setdefault(ap.site_id, {})
            named[ap.neighborhood.strip()] = named.get(ap.neighborhood.strip(), 0) + 1
    return {site: min(named, key=lambda n: (-named[n], n)) for site, named in counts.items()}


@dataclass(frozen=True, slots=True)
class _Candidate:
    outage: Outage
    aps: tuple[str, ...]
    place: tuple[str, str | None, float, float]
    people: int


def people_affected(outage: Outage, aps: Sequence[str], people: Mapping[str, float] | None) -> int:
    """The people a stop's trouble takes the service from: its APs' usual clients, at least the peak seen."""
    if people is None:
        return outage.peak_clients
    usual = sum(people.get(ap, 0.0) for ap in aps)
    return max(outage.peak_clients, round(usual))


def _zone_list(zone: str, found: list[_Candidate], fleet_sizes: Mapping[str, int], now: float,
               depot: Sequence[float] | None, max_stops: int, healths: Mapping[str, ApHealth],
               devices: Mapping[str, str], expected_link: Mapping[str, float], reboot_hours: float,
               flap_minutes: float, tz: tzinfo, language: str, colonias: Mapping[str, str]) -> ZoneList:
    ranked = sorted(found, key=lambda c: (-c.people, -len(c.aps), c.outage.opened_at, c.outage.site))
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
                            expected_link=expected_link, reboot_hours=reboot_hours, flap_minutes=flap_minutes,
                            language=language)
        stops.append(Stop(
            order=position, site=o.site, name=name, district=district, cause=o.cause, causes=tuple(o.causes),
            aps_affected=len(c.aps), aps=c.aps, since=o.opened_at, priority=index + 1, clients=o.peak_clients,
            lat=lat, lon=lon, map_url=map_url(lat, lon), action=action,
            outages=(o.id,) if o.id is not None else (), open311=_open311(o), devices=_first_lines(c.aps, devices),
            people=c.people, neighborhood=colonias.get(o.site)))
    return ZoneList(zone=zone, generated_at=now, start=start, start_kind=kind, stops=tuple(stops),
                    more=len(ranked) - len(kept), distance_km=distance, tz=tz, language=language)


def build_crew_list(outages: Iterable[Outage], fleet: Fleet, now: float, *, zones: Iterable[str] = (),
                    depots: Mapping[str, Sequence[float]] | None = None, max_stops: int = 25,
                    healths: Mapping[str, ApHealth] | None = None, devices: Mapping[str, str] | None = None,
                    expected_link: Mapping[str, float] | None = None, reboot_hours: float = 24.0,
                    flap_minutes: float = 60.0, people: Mapping[str, float] | None = None,
                    tz: tzinfo = UTC, languages: CrewZoneSettings | None = None) -> list[ZoneList]:
    """Each zone's list (zones by name) from the open outages: one stop per site, in route order.

    ``zones`` keeps only those zones (exact names); ``depots`` is zone -> (lat, lon); ``max_stops`` 0
    keeps every stop. ``healths`` (AP id -> stored health), ``devices`` (AP id -> sysDescr) and
    ``expected_link`` (AP id -> Mb/s) give the actions their figures and the stops their devices.
    ``people`` (AP id -> the clients it usually has now, ``usual_people``) ranks the stops; without it,
    the outages' peak clients do. ``tz`` is the city's zone, for the times people read. ``languages``
    (crew_zones: ``language`` and ``languages``) chooses each zone's words; without it, English.
    """
    wanted = set(zones)
    depots = depots or {}
    managed: dict[str, list[str]] = {}  # a controller's own outage key -> the APs it manages
    for ap in fleet.aps.values():
        if ap.controller and not ap.is_controller:
            managed.setdefault(controller_site(ap.controller), []).append(ap.id)
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
        # a controller down takes the service from the people of the APs it manages, not of its own row
        served = managed.get(outage.site, aps)
        by_zone.setdefault(outage.zone, []).append(
            _Candidate(outage, aps, place, people_affected(outage, served, people)))
    sizes = dict(fleet.site_sizes())
    for key, members in managed.items():  # a controller's "size": the APs it manages
        sizes[key] = sizes.get(key, 0) + len(members)
    colonias = neighborhoods(fleet)
    return [_zone_list(zone, by_zone[zone], sizes, now, depots.get(zone), max_stops, healths or {}, devices or {},
                       expected_link or {}, reboot_hours, flap_minutes, tz,
                       language_for(zone, languages) if languages is not None else SOURCE_LANGUAGE, colonias)
            for zone in sorted(by_zone)]


def usual_people(aps: Iterable[AccessPoint], rows: Iterable[Mapping[str, Any]], now: float, tz: tzinfo,
                 crews: CrewSettings) -> dict[str, float]:
    """AP id -> the clients it usually has at ``now``'s local hour: its (district, programme)'s history in
    the hourly rows, else its programme's default (crews.usual_clients_by_program), else crews.usual_clients."""
    usual = usual_clients(rows, datetime.fromtimestamp(now, tz).hour, tz)
    defaults = {name_key(program): value for program, value in crews.usual_clients_by_program.items()}
    found = {}
    for ap in aps:
        known = usual.get((ap.district or NONE, ap.program or NONE))
        found[ap.id] = known if known is not None else defaults.get(name_key(ap.program or ""), crews.usual_clients)
    return found


def crew_lists_from_store(store: Store, fleet: Fleet, settings: Settings, now: float, *, zones: Iterable[str] = (),
                          max_stops: int | None = None) -> list[ZoneList]:
    """The crew lists as of ``now`` from the ledger's open outages (one read transaction)."""
    zones = list(zones)
    with store.read() as conn:
        outages = list_outages(conn, open_only=True, zones=zones)
        ids = sorted({ap for outage in outages for ap in (outage.aps_now or outage.aps)})
        healths = load_health(conn, ids) if ids else {}
        discoveries = load_discoveries(conn, ids) if ids else {}
        rows = load_availability(conn, usual_since(now)) if ids else []
    limits = Limits(settings.evaluate)
    expected = {ap: limits.for_ap(fleet.aps[ap]).expected_link_mbps for ap in ids if ap in fleet.aps}
    devices = {ap: stored.discovery.sys_descr for ap, stored in discoveries.items()}
    tz = settings.tzinfo
    down = {outage.site for outage in outages if is_controller_site(outage.site)}
    served = [ap for ap in fleet.aps.values()  # the APs behind a controller that is down: its stop's people
              if ap.controller and not ap.is_controller and controller_site(ap.controller) in down]
    people = usual_people([*(fleet.aps[ap] for ap in ids if ap in fleet.aps), *served], rows, now, tz, settings.crews)
    return with_done_links(build_crew_list(
        outages, fleet, now, zones=zones, depots=settings.crew_zones.depots,
        max_stops=settings.crews.max_stops if max_stops is None else max_stops, healths=healths, devices=devices,
        expected_link=expected, reboot_hours=settings.evaluate.reboot_loop_hours,
        flap_minutes=settings.evaluate.flap_minutes, people=people, tz=tz, languages=settings.crew_zones),
        settings.crews)
