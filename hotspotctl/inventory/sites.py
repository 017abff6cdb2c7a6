"""Sites: the places a crew goes to. APs at one point form one site.

A site is either explicit (the inventory's ``site`` column: APs sharing a value
are one site, whose id is that value) or derived: APs whose coordinates round to
the same 1e-5 degrees (about 1.1 m) form one site whose id is the 11-character
geohash of that rounded point. A geohash-11 cell (~15 cm) is smaller than the
1e-5 grid, so two grid points never share an id; the id is stable for as long as
the coordinates are, and it decodes back to the place with any geohash tool.

A site's name is the part its APs' ids share ('MEX-AIM-AER-AICMT1-M' for the
airport's Terminal 1 gateways), else the first AP's id and how many more there are.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from statistics import fmean

from hotspotctl.models.access_points import ROLE_CONTROLLER, AccessPoint, Site

SITE_DECIMALS = 5
_GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
_TOKEN = re.compile(r"[^_\-\s.]+")
_DEVICE_TOKENS = frozenset({"ap", "gw", "wifi"})
_MIN_NAME_LENGTH = 3


def _spread(value: int) -> int:
    """The bits of a 32-bit integer with a zero between each (the Morton-code step)."""
    value = (value | (value << 16)) & 0x0000FFFF0000FFFF
    value = (value | (value << 8)) & 0x00FF00FF00FF00FF
    value = (value | (value << 4)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value << 2)) & 0x3333333333333333
    return (value | (value << 1)) & 0x5555555555555555


def geohash(lat: float, lon: float) -> str:
    """The 11-character geohash: 55 bits interleaved longitude first, 5 bits a character."""
    x = min(int((lon + 180.0) / 360.0 * (1 << 28)), (1 << 28) - 1)
    y = min(int((lat + 90.0) / 180.0 * (1 << 28)), (1 << 28) - 1)
    code = ((_spread(x) << 1) | _spread(y)) >> 1  # 56 bits, minus the last (a latitude bit)
    return "".join(_GEOHASH_ALPHABET[(code >> shift) & 31] for shift in range(50, -1, -5))


def site_id_for(site: str | None, lat: float | None, lon: float | None, role: str | None = None) -> str:
    """The site an inventory row belongs to; "" for a controller, which is in no site."""
    if role == ROLE_CONTROLLER:
        return ""
    if site:
        return site
    if lat is None or lon is None:
        raise ValueError("an AP with no site needs coordinates")
    return geohash(round(lat, SITE_DECIMALS), round(lon, SITE_DECIMALS))


def site_name(ap_ids: list[str]) -> str:
    """A readable name for a site from its APs' ids (sorted)."""
    first = ap_ids[0]
    if len(ap_ids) == 1:
        return first
    token_lists = [list(_TOKEN.finditer(ap_id)) for ap_id in ap_ids]
    shared = 0
    for column in zip(*token_lists, strict=False):
        if len({match.group() for match in column}) != 1:
            break
        shared += 1
    while shared and token_lists[0][shared - 1].group().casefold() in _DEVICE_TOKENS:
        shared -= 1
    prefix = first[: token_lists[0][shared - 1].end()] if shared else ""
    if len(prefix) >= _MIN_NAME_LENGTH:
        return prefix
    return f"{first} +{len(ap_ids) - 1}"


def derive_sites(aps: Iterable[AccessPoint]) -> dict[str, Site]:
    """Every site of the given APs (whose site_id is set), by id. Controllers are in no site."""
    members: dict[str, list[AccessPoint]] = defaultdict(list)
    for ap in aps:
        if ap.site_id:
            members[ap.site_id].append(ap)
    sites = {}
    for site_id, group in members.items():
        explicit = group[0].site is not None
        points = [(ap.lat, ap.lon) for ap in group if ap.lat is not None and ap.lon is not None]
        if len(group) == 1:  # four sites in five: no naming, averaging or counting to do
            ap = group[0]
            lat, lon = points[0]
            sites[site_id] = Site(site_id, site_id if explicit else ap.id, lat, lon, ap.district, explicit)
            continue
        group.sort(key=lambda ap: ap.id)
        districts = Counter(ap.district for ap in group if ap.district)
        sites[site_id] = Site(
            id=site_id,
            name=site_id if explicit else site_name([ap.id for ap in group]),
            lat=round(fmean(lat for lat, _ in points), 7),
            lon=round(fmean(lon for _, lon in points), 7),
            district=min(districts, key=lambda d: (-districts[d], d)) if districts else None,
            explicit=explicit,
        )
    return sites
