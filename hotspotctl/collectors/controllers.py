"""APs read through their wireless controller: one walk of each controller's per-AP tables per cycle, and
each managed AP's Sample (or PollError) from what its controller said.

``read_controllers`` walks every controller at once: v2c controllers through the poller's walker (our own
codec, GETBULK; the columns of one controller share their GETBULKs, see ``WalkerDevice.walk``), v3 through
pysnmp's device walk. ``results_for`` then gives each AP the inventory says the controller manages the same
Sample a polled AP gets (so rates, statuses, outages and dashboards need no special case), or a PollError
whose kind says what the controller's word means for it (``model.failure_class``):

- listed and joined (or listed, by a controller that does not say): a Sample;
- listed but not joined, or no longer listed though it answered before: ``not_joined`` (silent: an AP
  that is offline, a crew's matter), with the controller's reason where it gives one;
- never listed: ``not_listed`` (unmonitored: the inventory's ap_name / ap_mac or controller is wrong;
  ``hotspotctl inventory reconcile`` shows the drift);
- the controller could not be read, or answered with no AP at all: ``controller`` (unknown: not down, not a
  miss, not for crews; the controller's own failed poll is the one outage);
- the controller's profile has no per-AP table (a count-only controller: ZYXEL-ES-CAPWAP, PEPLINK-WLC give
  their own totals only): ``config`` (unmonitored, never a crew's): the AP must be polled directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hotspotctl.collectors.clock import monotonic_clock
from hotspotctl.collectors.model import PollError, PollErrorKind, PollResult, Sample
from hotspotctl.collectors.profiles import Profile
from hotspotctl.collectors.tables import read_controller
from hotspotctl.errors import CollectError, ConfigError
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.models.radios import ControllerReading, ManagedAp

if TYPE_CHECKING:
    from hotspotctl.collectors.poller import Poller, Target

ControllerResult = ControllerReading | PollError


def uplink_of(controller: str, mac: str | None = None) -> str:
    """``Sample.uplink`` of an AP read through this controller, with the MAC the controller gave the AP's row
    (``controller:WLC-1/00:0b:86:01:02:03``; without one when the controller gives no MACs). Its rates are
    only ever taken between two readings of the same controller and the same AP there (a move to another
    controller or to direct polling, or another AP under the same name, starts afresh); and the MAC kept with
    its counter state is what ``inventory reconcile`` knows the AP by once the controller renames it."""
    return f"controller:{controller}/{mac}" if mac else f"controller:{controller}"


def reported_mac(uplink: str | None, controller: str) -> str | None:
    """The MAC in an ``uplink_of(controller, mac)``: what the controller reported for the AP when last read
    through it; None for another controller's, a direct poll's, or one without a MAC."""
    prefix = f"controller:{controller}/"
    if uplink is None or not uplink.startswith(prefix):
        return None
    return uplink[len(prefix):] or None


async def read_controllers(poller: Poller, work: Sequence[tuple[Target, Profile]]) -> dict[str, ControllerResult]:
    """Each (controller's target, its profile with a ``controller`` section) walked once, all at once; by
    the controller's id. A failure is a value (PollError of the controller), never an exception."""

    async def one(target: Target, profile: Profile) -> ControllerResult:
        try:
            device = await poller.reach(target)  # the address and credentials, as discovery resolves them
            if isinstance(device, PollError):
                return device
            return await read_controller(device, profile)
        except CollectError as exc:
            return PollError(target.ap, time.time(), exc.kind, str(exc))
        except ConfigError as exc:
            return PollError(target.ap, time.time(), PollErrorKind.CONFIG, str(exc))

    found = await asyncio.gather(*(one(target, profile) for target, profile in work))
    return {target.ap: result for (target, _), result in zip(work, found, strict=True)}


@dataclass(frozen=True, slots=True)
class ApIndex:
    """A controller's reading, looked up the way the inventory names its APs: by MAC, else by name."""

    by_name: Mapping[str, ManagedAp]
    by_mac: Mapping[str, ManagedAp]

    @classmethod
    def of(cls, reading: ControllerReading) -> ApIndex:
        by_name: dict[str, ManagedAp] = {}
        by_mac: dict[str, ManagedAp] = {}
        for managed in reading.aps:
            if managed.name is not None:
                by_name.setdefault(managed.name, managed)
            if managed.mac is not None:
                by_mac.setdefault(managed.mac, managed)
        return cls(by_name, by_mac)

    def find(self, ap: AccessPoint) -> ManagedAp | None:
        if ap.ap_mac:
            return self.by_mac.get(ap.ap_mac)
        return self.by_name.get(ap.name_on_controller)


def how_known(ap: AccessPoint) -> str:
    return f"MAC {ap.ap_mac}" if ap.ap_mac else f"name {ap.name_on_controller!r}"


def sample_of(ap: AccessPoint, managed: ManagedAp, reading: ControllerReading) -> Sample:
    """A joined AP's Sample: at/mono from the walk; uptime in ``engine_time`` (seconds, like the controller's
    figure, and no 32-bit wrap to guess); rtt_ms is the walk's duration (the AP itself was not asked)."""
    return Sample(
        ap=ap.id, at=reading.at, rtt_ms=reading.walk_ms,
        engine_time=None if managed.uptime_s is None else int(managed.uptime_s),
        in_octets=managed.in_octets, out_octets=managed.out_octets, counter_bits=managed.counter_bits,
        clients=managed.clients, mono=reading.mono, clock=monotonic_clock(),
        uplink=uplink_of(ap.controller or "", managed.mac),
        radios=managed.radios)


def no_ap_table(profile: str | None) -> str:
    """Why an AP behind a count-only controller is not monitored, and the fix (after "controller <id> ")."""
    named = f"(profile {profile}) " if profile else ""
    return f"{named}gives no per-AP table; poll this AP directly: clear its controller column"


def results_for(controller: str, aps: Iterable[AccessPoint], reading: ControllerResult,
                answered_before: Collection[str], *, profile: str | None = None) -> dict[str, PollResult]:
    """The Sample or PollError of each AP managed by ``controller``, from the controller's reading (or the
    PollError it gave). ``answered_before``: ids of the APs that have answered in an earlier cycle (they have
    counters): one no longer listed has left its controller (``not_joined``), not been mistyped. ``profile``:
    the controller's profile name, for the message of a count-only controller's APs."""
    results: dict[str, PollResult] = {}
    if isinstance(reading, ControllerReading) and not reading.lists_aps:
        # A count-only controller says nothing of any one AP: neither listed nor gone, and never a crew's.
        return unread(controller, aps, reading.at, PollErrorKind.CONFIG, no_ap_table(profile))
    if isinstance(reading, PollError):
        for ap in aps:
            results[ap.id] = PollError(ap.id, reading.at, PollErrorKind.CONTROLLER,
                                       f"controller {controller} could not be read ({reading.kind}: "
                                       f"{reading.message}); nothing is known of this AP")
        return results
    if not reading.aps:
        # An answer with no AP at all is the controller's trouble (an AP table outside its SNMP view, a
        # controller restarting or failing over), not every AP leaving at once: nothing is known of them.
        for ap in aps:
            results[ap.id] = PollError(ap.id, reading.at, PollErrorKind.CONTROLLER,
                                       f"controller {controller} answered but lists no AP at all (its AP table "
                                       "is empty or outside its SNMP view); nothing is known of this AP")
        return results
    index = ApIndex.of(reading)
    for ap in aps:
        managed = index.find(ap)
        if managed is None:
            if ap.id in answered_before:
                results[ap.id] = PollError(ap.id, reading.at, PollErrorKind.NOT_JOINED,
                                           f"controller {controller} no longer lists the AP with {how_known(ap)}: "
                                           "it has left its controller, or was renamed there (`hotspotctl "
                                           f"inventory reconcile --controller {controller}` tells which)")
            else:
                results[ap.id] = PollError(ap.id, reading.at, PollErrorKind.NOT_LISTED,
                                           f"controller {controller} lists no AP with {how_known(ap)}: correct the "
                                           "inventory's controller, ap_name or ap_mac (`hotspotctl inventory "
                                           f"reconcile --controller {controller}` lists what it reports)")
        elif managed.joined is False:
            said = f": {managed.reason}" if managed.reason else ""
            results[ap.id] = PollError(ap.id, reading.at, PollErrorKind.NOT_JOINED,
                                       f"controller {controller} lists the AP, not joined{said}")
        else:
            results[ap.id] = sample_of(ap, managed, reading)
    return results


def unread(controller: str, aps: Iterable[AccessPoint], at: float, kind: PollErrorKind,
           why: str) -> dict[str, PollResult]:
    """The managed APs of a controller that was not read this cycle (waiting out its back-off, discovery
    failed, no controller section in its profile, no per-AP table in it): each a PollError of ``kind``
    saying why."""
    return {ap.id: PollError(ap.id, at, kind, f"controller {controller} {why}") for ap in aps}
