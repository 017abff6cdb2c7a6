"""SNMPv3 security for the fleet simulator: the agent-side USM serving a credential set of the settings.

The USM itself (``UsmAgent``: unwrap requests, wrap responses, Reports) is ``collectors.usmagent``, shared
with the trap receiver, which is the authoritative engine for v3 informs; its names stay importable here.
"""

from __future__ import annotations

from hotspotctl.collectors.auth import resolve
from hotspotctl.collectors.usmagent import AUTH_NO_PRIV as AUTH_NO_PRIV
from hotspotctl.collectors.usmagent import AUTH_PRIV as AUTH_PRIV
from hotspotctl.collectors.usmagent import AUTH_PROTOCOLS as AUTH_PROTOCOLS
from hotspotctl.collectors.usmagent import NO_AUTH_NO_PRIV as NO_AUTH_NO_PRIV
from hotspotctl.collectors.usmagent import PRIV_PROTOCOLS as PRIV_PROTOCOLS
from hotspotctl.collectors.usmagent import TIME_WINDOW_S as TIME_WINDOW_S
from hotspotctl.collectors.usmagent import USM_STATS_OID as USM_STATS_OID
from hotspotctl.collectors.usmagent import Incoming as Incoming
from hotspotctl.collectors.usmagent import UsmAgent as UsmAgent
from hotspotctl.collectors.usmagent import UsmStats as UsmStats
from hotspotctl.collectors.usmagent import UsmUser as UsmUser
from hotspotctl.collectors.usmagent import localize_key as localize_key
from hotspotctl.collectors.usmagent import password_to_key as password_to_key
from hotspotctl.errors import ConfigError
from hotspotctl.settings import Settings


def usm_for(settings: Settings, auth: str) -> UsmAgent:
    """The simulator's SNMPv3 security, serving the user of credential set ``auth``."""
    credentials = resolve(auth, settings.snmp.auth)
    if credentials.version != "3":
        raise ConfigError(f"snmp.auth.{auth}: the simulator's v3 set must be version \"3\"")
    return UsmAgent([UsmUser(credentials.user.encode(), credentials.auth_protocol or None,
                             credentials.auth_password.encode() or None, credentials.priv_protocol or None,
                             credentials.priv_password.encode() or None)])
