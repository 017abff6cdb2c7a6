"""A decoded SNMP notification (trap or inform), as the trap listener hands it on.

The decoder and listener are ``hotspotctl.collectors.traps``; the service turns a ``TrapEvent`` about
a known AP into an immediate poll of that AP. ``kind`` is what hotspotctl understood of it; a
notification it does not understand is ``OTHER`` and is only counted and logged by its OID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TrapKind(StrEnum):
    """What a notification means to hotspotctl; the values are what JSON output and logs carry."""

    LINK_DOWN = "link_down"
    LINK_UP = "link_up"
    COLD_START = "cold_start"  # the agent restarted: a counter discontinuity
    WARM_START = "warm_start"
    AUTH_FAILURE = "auth_failure"  # the device says someone used a wrong community: the NOC's concern
    AP_LEAVE = "ap_leave"  # a controller says one of its APs left (disassociated, lost its tunnel)
    AP_JOIN = "ap_join"  # a controller says one of its APs joined
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class TrapEvent:
    """One notification, decoded and authenticated (a trap that fails either never becomes one)."""

    received_at: float  # epoch seconds, when the datagram arrived
    source: str  # the sender's address (v1: the agent-addr field when it is set), without the port
    version: str  # "1" | "2c" | "3"
    security: str  # the credential set's name in settings (snmp.auth) that authenticated it
    trap_oid: str  # snmpTrapOID.0 (v1: converted as RFC 3584 section 3 says)
    kind: TrapKind
    uptime_ticks: int | None = None  # sysUpTime.0 as the agent sent it
    if_index: int | None = None  # link_down / link_up: the interface
    admin_up: bool | None = None  # link_down / link_up: ifAdminStatus when the trap carries it
    ap_name: str | None = None  # ap_leave / ap_join: the managed AP's name as the controller gives it
    ap_mac: str | None = None  # ... or its MAC, aa:bb:cc:dd:ee:ff
    varbinds: tuple[tuple[str, Any], ...] = field(default_factory=tuple)  # (numeric OID, value), as decoded

    def to_json(self) -> dict[str, Any]:
        return {"received_at": self.received_at, "source": self.source, "version": self.version,
                "security": self.security, "trap_oid": self.trap_oid, "kind": self.kind,
                "uptime_ticks": self.uptime_ticks, "if_index": self.if_index, "admin_up": self.admin_up,
                "ap_name": self.ap_name, "ap_mac": self.ap_mac,
                "varbinds": [[oid, value if isinstance(value, (int, float, str)) or value is None else str(value)]
                             for oid, value in self.varbinds]}
