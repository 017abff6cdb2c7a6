"""Probe one device now, by address, without the inventory."""

from __future__ import annotations

import asyncio
import os

from hotspotctl.collectors.auth import Credentials, resolve
from hotspotctl.collectors.poller import ProbeResult, probe, split_address
from hotspotctl.collectors.profiles import ProfileSet
from hotspotctl.errors import InputError
from hotspotctl.settings import SnmpSettings


def probe_address(address: str, profiles: ProfileSet, snmp: SnmpSettings, *, community: str | None = None,
                  auth: str | None = None, pinned: str | None = None) -> ProbeResult:
    """Discover the device at ``address`` (HOST, HOST:PORT or [IPv6]:PORT) and read its figures once.

    With a v2c ``community`` (named ``--community`` in messages), or the credential set ``auth`` from settings.
    InputError for an address that cannot be read; CollectError when the device does not answer.
    """
    try:
        host, port = split_address(address, snmp.port)
    except ValueError as exc:
        raise InputError(f"address {exc}") from None
    credentials = (Credentials("--community", "2c", community=community.encode())
                   if community is not None else resolve(auth or "", snmp.auth, os.environ))
    return asyncio.run(probe(host, port, credentials, profiles, snmp, pinned=pinned))
