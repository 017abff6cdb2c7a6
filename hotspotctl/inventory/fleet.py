"""The inventory as loaded from the store: selections, crew zones and statistics.

Selections are the same everywhere (--ap, --site, --district, --program,
--zone): terms of one kind are OR-ed, kinds are AND-ed. AP and site terms may be
globs ('PILARES-*'). A site term that is not a glob is a site id, else a site's
name; a name that several sites share is an error listing their ids. District, programme and zone terms match case- and
accent-insensitively, whole or by a unique prefix ('gustavo' is 'Gustavo A.
Madero'); a term that matches nothing known, or more than one name, is an error
that lists the candidates, so a bulk action never runs on a guess.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from hotspotctl.errors import InputError, NotFoundError
from hotspotctl.models.access_points import AccessPoint, Site
from hotspotctl.names import name_key
from hotspotctl.settings import CrewZoneSettings
from hotspotctl.store import Store
from hotspotctl.store import inventory as queries

UNASSIGNED_ZONE = "unassigned"
_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class CrewZones:
    """Which crew zone an AP belongs to: its own crew_zone column, else its site's zone from
    settings, else its district's zone from settings, else its district."""

    by_district: dict[str, str]  # name_key(district) -> zone
    by_site: dict[str, str]

    @classmethod
    def from_settings(cls, settings: CrewZoneSettings) -> CrewZones:
        return cls({name_key(d): z for d, z in settings.districts.items()}, dict(settings.sites))

    def zone_for(self, ap: AccessPoint) -> str:
        if ap.crew_zone:
            return ap.crew_zone
        if ap.site_id in self.by_site:
            return self.by_site[ap.site_id]
        if ap.district:
            return self.by_district.get(name_key(ap.district), ap.district)
        return UNASSIGNED_ZONE


@dataclass(frozen=True)
class Selection:
    aps: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any((self.aps, self.sites, self.districts, self.programs, self.zones))


def _matches_pattern(patterns: tuple[str, ...], *values: str) -> bool:
    for pattern in patterns:
        if _GLOB.intersection(pattern):
            if any(fnmatch.fnmatchcase(value, pattern) for value in values):
                return True
        elif pattern in values:
            return True
    return False


def _resolve_names(kind: str, flag: str, terms: tuple[str, ...], known: Iterable[str]) -> set[str]:
    """Each term to exactly one known name (whole key, else unique key prefix)."""
    by_key: dict[str, str] = {name_key(name): name for name in known}
    chosen = set()
    for term in terms:
        key = name_key(term)
        if key in by_key:
            chosen.add(by_key[key])
            continue
        candidates = sorted(name for k, name in by_key.items() if k.startswith(key)) if key else []
        if len(candidates) == 1:
            chosen.add(candidates[0])
            continue
        if candidates:
            raise InputError(f"{flag} {term!r} matches {len(candidates)} {kind}s: "
                             f"{', '.join(candidates)}; be more specific")
        close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(by_key[k]) for k in close)}?" if close else \
            f"; known: {', '.join(sorted(by_key.values())[:20])}"
        raise InputError(f"{flag} {term!r}: no such {kind} in the inventory{hint}")
    return chosen


@dataclass
class Fleet:
    """Every AP and site in the store, with the zones settings give them."""

    aps: dict[str, AccessPoint]
    sites: dict[str, Site]
    zones: CrewZones

    @classmethod
    def load(cls, store: Store, zones: CrewZones) -> Fleet:
        with store.read() as conn:
            return cls(queries.load_access_points(conn), queries.load_sites(conn), zones)

    def get(self, ap_id: str) -> AccessPoint:
        if ap_id in self.aps:
            return self.aps[ap_id]
        close = difflib.get_close_matches(ap_id, list(self.aps), n=3, cutoff=0.75)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise NotFoundError(f"no AP {ap_id!r} in the inventory{hint}")

    def select(self, selection: Selection) -> list[AccessPoint]:
        """The APs the selection picks, by id; an InputError for a term that names nothing."""
        if not selection:
            return list(self.aps.values())
        districts = _resolve_names("district", "--district", selection.districts,
                                   {ap.district for ap in self.aps.values() if ap.district})
        programs = _resolve_names("programme", "--program", selection.programs,
                                  {ap.program for ap in self.aps.values() if ap.program})
        zones = _resolve_names("crew zone", "--zone", selection.zones,
                               {self.zones.zone_for(ap) for ap in self.aps.values()})
        site_ids, site_globs = self._site_terms(selection.sites)
        picked = []
        for ap in self.aps.values():
            if selection.aps and not _matches_pattern(selection.aps, ap.id):
                continue
            if selection.sites and ap.site_id not in site_ids and (not ap.site_id or not _matches_pattern(
                    site_globs, ap.site_id, self.sites[ap.site_id].name)):
                continue  # (a controller is in no site)
            if districts and ap.district not in districts:
                continue
            if programs and ap.program not in programs:
                continue
            if zones and self.zones.zone_for(ap) not in zones:
                continue
            picked.append(ap)
        return picked

    def _site_terms(self, terms: tuple[str, ...]) -> tuple[set[str], tuple[str, ...]]:
        """--site terms as (site ids, globs). A site id is that site; a name must be one site's: several sites
        sharing it is an InputError listing their ids, so an action never runs on the wrong one by accident."""
        ids: set[str] = set()
        globs = []
        for term in terms:
            if _GLOB.intersection(term):
                globs.append(term)
            elif term in self.sites:
                ids.add(term)
            else:
                named = sorted(site_id for site_id, site in self.sites.items() if site.name == term)
                if len(named) > 1:
                    listed = ", ".join(named[:10]) + (f" and {len(named) - 10} more" if len(named) > 10 else "")
                    raise InputError(f"--site {term!r} matches {len(named)} sites of that name: {listed}; give the "
                                     "site id of the one you mean (`hotspotctl inventory list --site ID` shows it)")
                ids.update(named)
        return ids, tuple(globs)

    @property
    def hotspots(self) -> list[AccessPoint]:
        """The APs that are hotspots: every row but the controllers."""
        return [ap for ap in self.aps.values() if not ap.is_controller]

    @property
    def controllers(self) -> dict[str, AccessPoint]:
        return {ap_id: ap for ap_id, ap in self.aps.items() if ap.is_controller}

    def site_sizes(self) -> Counter[str]:
        return Counter(ap.site_id for ap in self.aps.values() if ap.site_id)

    def stats(self, largest: int = 10) -> dict[str, object]:
        aps = self.hotspots
        sizes = self.site_sizes()
        top = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:largest]

        def tally(values: Iterable[str | None]) -> dict[str, int]:
            counts = Counter(value or "(none)" for value in values)
            return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

        return {
            "aps": len(aps),
            "controllers": len(self.aps) - len(aps),
            "managed_aps": sum(1 for ap in aps if ap.managed),
            "sites": len(self.sites),
            "districts": tally(ap.district for ap in aps),
            "programs": tally(ap.program for ap in aps),
            "zones": tally(self.zones.zone_for(ap) for ap in aps),
            "largest_sites": [{"site": site_id, "name": self.sites[site_id].name, "aps": count,
                               "lat": self.sites[site_id].lat, "lon": self.sites[site_id].lon}
                              for site_id, count in top],
            "single_ap_sites": sum(1 for count in sizes.values() if count == 1),
            "with_mgmt_address": sum(1 for ap in aps if ap.mgmt_address),
        }
