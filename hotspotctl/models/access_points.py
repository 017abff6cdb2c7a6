"""What the inventory holds: access points and the sites they form."""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

# Columns an inventory file may carry, in the order exports write them.
# Each is a field of AccessPoint with the same name.
FIELDS = ("id", "program", "lat", "lon", "district", "neighborhood", "site", "mgmt_address",
          "profile", "collector", "snmp_auth", "ssh_auth", "crew_zone", "backhaul_mbps", "target_mbps",
          "role", "controller", "ap_name", "ap_mac")
COLLECTORS = ("snmp", "ssh")  # how an AP is polled; empty means snmp
ROLE_AP, ROLE_CONTROLLER = "ap", "controller"
ROLES = (ROLE_AP, ROLE_CONTROLLER)  # what a row is; empty means ap


@dataclass(frozen=True, slots=True)
class AccessPoint:
    """One row of the inventory: a hotspot AP (``role`` ap), or a wireless controller (``role`` controller).

    A controller is a device the cycle polls and reads its APs from, not a hotspot: it has no site
    (``site_id`` is ""), may have no coordinates, and is in no crew list, availability or rollup count.
    An AP with ``controller`` set is read from that controller's tables, never polled directly; the
    controller knows it by ``ap_mac`` when given, else by ``ap_name`` (default: the AP's id).
    """

    id: str
    lat: float | None  # None only for a controller given no coordinates
    lon: float | None
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
    role: str = ROLE_AP  # one of ROLES
    controller: str | None = None  # the id of the controller row that manages this AP
    ap_name: str | None = None  # the AP's name on its controller, when not its id
    ap_mac: str | None = None  # the AP's MAC, "00:0b:86:01:02:03" (models.radios.normal_mac)
    site_id: str = ""  # derived: see inventory.sites.site_id_for ("" for a controller: in no site)

    @property
    def is_controller(self) -> bool:
        return self.role == ROLE_CONTROLLER

    @property
    def managed(self) -> bool:
        """Read through a controller, not polled directly."""
        return self.controller is not None and not self.is_controller

    @property
    def name_on_controller(self) -> str:
        return self.ap_name or self.id

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
