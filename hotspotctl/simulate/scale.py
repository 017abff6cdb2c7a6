"""K copies of a city: the fleet ``hotspotctl simulate --scale K`` serves (and, with --assign, stores).

Copy 1 is the inventory as it is. Copy k (2..K) is every AP again, id ``<id>.k<k>``, its explicit
site ``<site>.k<k>`` and its controller ``<controller>.k<k>`` (the same suffix on the controller rows),
placed on a ring of cells around the city: the cells of the 3x3 grid around it (copies 2..9), then of
the 5x5 grid (10..25), and so on, each cell one city box plus a gap away, so no two copies overlap and
every copy has as many sites as the city (a derived site is the geohash of its point: a shift by a
whole number of 1e-5 degrees keeps the APs of one point together and apart from every other).

The suffix ``.k<k>`` is one the inventory accepts everywhere an id goes: in ``id`` (any printable
text) and in ``controller`` (a name: letters, digits, '_', '.', '-'), so a copy's rows go through
``inventory import`` like any file's. Districts, programmes and crew zones are the city's own: the
copies' tags stay the bounded sets InfluxDB and the crew zones already know, and every zone resolves
without new settings (a copy is told apart by its ids and sites, not by its district).

Pure: no I/O, no randomness; the same APs and K give the same copies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from hotspotctl.inventory.sites import SITE_DECIMALS, site_id_for
from hotspotctl.models.access_points import AccessPoint

COPY_SUFFIX = ".k"
_COPY = re.compile(r"^(.+)\.k([0-9]+)$")
GAP_DEGREES = 0.2  # between two copies' boxes: more than the import's margin (10 km) on each side
_GRID = 10 ** SITE_DECIMALS


def copy_id(ap_id: str, copy: int) -> str:
    """The id of an AP (or controller) in copy ``copy`` (1: the city's own)."""
    return ap_id if copy == 1 else f"{ap_id}{COPY_SUFFIX}{copy}"


def split_copy(ap_id: str, known: set[str] | frozenset[str]) -> tuple[str, int]:
    """(the original id, the copy) of an id: ``X.k3`` is copy 3 of ``X`` when ``X`` is in ``known``."""
    match = _COPY.match(ap_id)
    if match is not None and int(match.group(2)) >= 2 and match.group(1) in known:
        return match.group(1), int(match.group(2))
    return ap_id, 1


def originals(aps: Sequence[AccessPoint]) -> list[AccessPoint]:
    """The APs (and controller rows) that are not a copy of another one: copy 1, whatever the store holds."""
    ids = frozenset(ap.id for ap in aps)
    return [ap for ap in aps if split_copy(ap.id, ids)[1] == 1]


def ring_cell(copy: int) -> tuple[int, int]:
    """(rows north, columns east) of copy ``copy``'s cell: 1 is (0, 0); 2..9 the ring around it from the
    north-west cell clockwise; 10..25 the next ring; and so on."""
    if copy < 1:
        raise ValueError(f"copy {copy}: copies count from 1")
    if copy == 1:
        return 0, 0
    ring, first = 1, 2
    while copy >= first + 8 * ring:
        first += 8 * ring
        ring += 1
    step = copy - first  # 0 .. 8 * ring - 1, clockwise from the north-west corner
    side, along = divmod(step, 2 * ring)
    if side == 0:  # the north edge, west to east
        return ring, -ring + along
    if side == 1:  # the east edge, north to south
        return ring - along, ring
    if side == 2:  # the south edge, east to west
        return -ring, ring - along
    return -ring + along, -ring  # the west edge, south to north


def copy_offset(copy: int, bounds: Sequence[float]) -> tuple[float, float]:
    """(degrees north, degrees east) copy ``copy`` is moved by: its cell times the city's box plus a gap,
    a whole number of 1e-5 degrees (so a derived site keeps its APs together)."""
    min_lat, min_lon, max_lat, max_lon = bounds
    rows, columns = ring_cell(copy)
    lat_units = round((max_lat - min_lat + GAP_DEGREES) * _GRID)
    lon_units = round((max_lon - min_lon + GAP_DEGREES) * _GRID)
    return rows * lat_units / _GRID, columns * lon_units / _GRID


def scaled_bounds(bounds: Sequence[float], scale: int) -> tuple[float, float, float, float]:
    """The box holding every copy's box, for importing the copies (``inventory.bounds`` of the K cities)."""
    min_lat, min_lon, max_lat, max_lon = bounds
    corners = [copy_offset(copy, bounds) for copy in range(1, scale + 1)]
    return (min_lat + min(lat for lat, _ in corners), min_lon + min(lon for _, lon in corners),
            max_lat + max(lat for lat, _ in corners), max_lon + max(lon for _, lon in corners))


def _moved(value: float | None, by: float) -> float | None:
    if value is None:
        return None
    return round(round(value, SITE_DECIMALS) + by, SITE_DECIMALS)


def copy_ap(ap: AccessPoint, copy: int, bounds: Sequence[float]) -> AccessPoint:
    """``ap`` in copy ``copy``: its id, explicit site and controller suffixed, its point moved to the copy's
    cell; no management address (a copy is a simulated device, never the original's real one)."""
    if copy == 1:
        return ap
    dlat, dlon = copy_offset(copy, bounds)
    lat, lon = _moved(ap.lat, dlat), _moved(ap.lon, dlon)
    site = copy_id(ap.site, copy) if ap.site else None
    return replace(ap, id=copy_id(ap.id, copy), lat=lat, lon=lon, site=site, mgmt_address=None,
                   controller=copy_id(ap.controller, copy) if ap.controller else None,
                   site_id=site_id_for(site, lat, lon, ap.role))


def scale_fleet(aps: Sequence[AccessPoint], scale: int, bounds: Sequence[float]) -> list[AccessPoint]:
    """``scale`` copies of ``aps``, copy after copy (copy 1 first, as given), each in the given order."""
    if scale < 1:
        raise ValueError(f"scale {scale}: at least 1")
    return [copy_ap(ap, copy, bounds) for copy in range(1, scale + 1) for ap in aps]
