"""Crew zones by name: the zones there are, and a typed zone matched to one of them."""

from __future__ import annotations

from collections.abc import Iterable

from hotspotctl.errors import InputError
from hotspotctl.inventory.fleet import Fleet
from hotspotctl.names import name_key
from hotspotctl.settings import CrewZoneSettings


def known_zones(fleet: Fleet, settings: CrewZoneSettings) -> set[str]:
    """Every crew zone: the fleet's APs' zones, and those the settings name (depots, districts, sites)."""
    zones = {fleet.zones.zone_for(ap) for ap in fleet.aps.values()}
    return zones | set(settings.depots) | set(settings.districts.values()) | set(settings.sites.values())


def resolve_zones(terms: Iterable[str], known: set[str]) -> list[str]:
    """Each --zone to a known zone: its exact name, else the one whose name matches ignoring case and accents."""
    by_key: dict[str, list[str]] = {}
    for name in known:
        by_key.setdefault(name_key(name), []).append(name)
    chosen = []
    for term in terms:
        if term in known:
            chosen.append(term)
        elif len(by_key.get(name_key(term), [])) == 1:
            chosen.append(by_key[name_key(term)][0])
        else:
            listed = ", ".join(sorted(known)) if known else "none (the inventory is empty)"
            raise InputError(f"--zone {term!r}: no such crew zone; known zones: {listed}")
    return sorted(set(chosen))
