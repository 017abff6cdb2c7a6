"""What the inventory holds: access points and the sites they form."""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

# Columns an inventory file may carry, in the order exports write them.
# Each is a field of AccessPoint with the same name.
FIELDS = ("id", "program", "lat", "lon", "district", "neighborhood", "site", "mgmt_address",
          "profile", "collector", "snmp_auth", "ssh_auth", "crew_zone", "backhaul_mbps", "target_mbps")
COLLECTORS = ("snmp", "ssh")  # how an AP is polled; empty means snmp


@dataclass(frozen=True, slots=True)
class AccessPoint:
    id: str
    lat: float
    lon: float
    program: str | None = None
    district: str | None = None
    neighborhood: str | None = None
    site: str | None = None  # the operator's explicit site, if the file gave one
    mgmt_address: str | None = None  # host or host:port
    profile: str | None = None
    collector: str | None = None  # "snmp" (None means snmp too) or "ssh"
    snmp_auth: str | None = None
    ssh_auth: str | None = None
    crew_zone: str | None = None  # the operator's explicit zone for this AP
    backhaul_mbps: float | None = None
    target_mbps: float | None = None
    site_id: str = ""  # derived: see inventory.sites.site_id_for

    def values(self) -> dict[str, object]:
        return dict(zip(AP_COLUMNS, _ap_values(self), strict=True))


@dataclass(frozen=True, slots=True)
class Site:
    """APs at one point (to 1e-5 degrees), or sharing an explicit site name."""

    id: str
    name: str
    lat: float
    lon: float
    district: str | None
    explicit: bool

    def values(self) -> dict[str, object]:
        return dict(zip(SITE_COLUMNS, _site_values(self), strict=True))


AP_COLUMNS = tuple(f.name for f in fields(AccessPoint))
SITE_COLUMNS = tuple(f.name for f in fields(Site))
_ap_values = attrgetter(*AP_COLUMNS)
_site_values = attrgetter(*SITE_COLUMNS)
