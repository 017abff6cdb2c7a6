"""Which header of an inventory file gives which AccessPoint field.

Headers match case-, accent- and punctuation-insensitively against Spanish and
English aliases: 'Alcaldía', 'ALCALDIA' and 'district' all give ``district``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotspotctl.errors import InputError
from hotspotctl.names import identifier_key

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "ap_id", "access_point", "access_point_id", "identificador"),
    "program": ("programa", "program", "programme"),
    "lat": ("latitud", "lat", "latitude", "geometry_lat"),
    "lon": ("longitud", "lon", "lng", "long", "longitude", "geometry_lon"),
    "district": ("alcaldia", "district", "borough", "delegacion"),
    "neighborhood": ("colonia", "neighborhood", "neighbourhood"),
    "site": ("site", "sitio"),
    "mgmt_address": ("mgmt_address", "management_address", "mgmt_ip"),
    "profile": ("profile", "perfil"),
    "collector": ("collector", "colector"),
    "snmp_auth": ("snmp_auth",),
    "ssh_auth": ("ssh_auth",),
    "crew_zone": ("crew_zone", "zona_cuadrilla"),
    "backhaul_mbps": ("backhaul_mbps",),
    "target_mbps": ("target_mbps",),
    "role": ("role", "rol"),
    "controller": ("controller", "controlador", "wlc"),
    "ap_name": ("ap_name", "nombre_ap", "controller_ap_name"),
    "ap_mac": ("ap_mac", "mac", "mac_ap", "ap_mac_address"),
}
# Columns hotspotctl's own exports add, recomputed on import and so ignored silently.
DERIVED = frozenset({"site_id", "site_name", "effective_crew_zone"})

_BY_KEY = {identifier_key(alias): name for name, aliases in ALIASES.items() for alias in aliases}


def field_for_header(header: str) -> str | None:
    return _BY_KEY.get(identifier_key(header))


@dataclass(frozen=True)
class ColumnMap:
    index: dict[str, int]  # field -> position in the row
    headers: dict[str, str]  # field -> header as written in the file
    unknown: list[str] = field(default_factory=list)

    def __contains__(self, name: str) -> bool:
        return name in self.index


def map_columns(headers: list[str], source: str, *, merge: bool) -> ColumnMap:
    """Map headers to fields; an InputError when the file cannot be imported at all."""
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    for position, header in enumerate(headers):
        if not header.strip():
            continue
        name = field_for_header(header)
        if name is None:
            if identifier_key(header) not in DERIVED:
                unknown.append(header)
            continue
        if name in index:
            raise InputError(f"{source}: columns '{written[name]}' and '{header}' both give {name}; "
                             "remove or rename one of them")
        index[name] = position
        written[name] = header
    if "id" not in index:
        raise InputError(f"{source}: no id column (looked for {', '.join(ALIASES['id'][:3])}); "
                         f"headers found: {', '.join(h for h in headers if h.strip()) or 'none'}")
    has_lat, has_lon = "lat" in index, "lon" in index
    if has_lat != has_lon:
        missing = "longitude" if has_lat else "latitude"
        raise InputError(f"{source}: a {missing} column is missing (looked for "
                         f"{', '.join(ALIASES['lon' if has_lat else 'lat'][:3])})")
    if not merge and not has_lat:
        raise InputError(f"{source}: no coordinate columns (looked for latitud/lat/latitude and "
                         "longitud/lon/longitude); add them, or use --merge to update existing APs only")
    return ColumnMap(index, written, unknown)
