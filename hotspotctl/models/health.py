"""What evaluation concludes about an AP and the store keeps between cycles: its health, its state and causes.

The rules that decide them are ``hotspotctl.evaluate.status``; these are the records and their vocabulary, below
the store that persists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter
from typing import NamedTuple

from hotspotctl.errors import PollErrorKind
from hotspotctl.models.records import fast_init


class HealthState(StrEnum):
    """An AP's state after evaluation; the values are what the store, JSON and InfluxDB hold."""

    UP = "up"
    DEGRADED = "degraded"  # up, with a cause
    DOWN = "down"
    UNKNOWN = "unknown"  # not answered yet, nor missed down_after times; or its controller could not be read
    UNMONITORED = "unmonitored"  # nothing could be sent: the inventory or settings must change
    MISCONFIGURED = "misconfigured"  # it answered, but not usefully


class Cause(StrEnum):
    """Why an AP (or, for SITE_OFFLINE, a site) is in trouble; the values are what the store and JSON hold."""

    REBOOT_LOOP = "reboot_loop"
    FLAPPING = "flapping"
    OFFLINE = "offline"
    UPLINK_DEGRADED = "uplink_degraded"
    BELOW_TARGET = "below_target"
    CONGESTED = "congested"
    SITE_OFFLINE = "site_offline"  # a site's finding only (evaluate/outages.py): most of its APs down at once
    RADIO_DOWN = "radio_down"  # a radio seen up is down while its AP answers: a crew matter
    RF_LIMITED = "rf_limited"  # below target with the air busy (channel utilisation high): capacity, not crews
    CONTROLLER_UNREACHABLE = "controller_unreachable"  # a wireless controller's own finding: the NOC's
    BACKHAUL_DEGRADED = "backhaul_degraded"  # ping loss or latency over the thresholds while it answers: a crew's


UP, DOWN, DEGRADED, UNKNOWN = HealthState.UP, HealthState.DOWN, HealthState.DEGRADED, HealthState.UNKNOWN
UNMONITORED, MISCONFIGURED = HealthState.UNMONITORED, HealthState.MISCONFIGURED
STATES = (UP, DEGRADED, DOWN, UNKNOWN, UNMONITORED, MISCONFIGURED)
HISTORY_MAX = 100  # changes and reboots an ApHealth keeps: 100 x 15 characters fit ap_health's 2,000
UNUSABLE = frozenset({UNMONITORED, MISCONFIGURED})  # states of APs we cannot read: never a crew matter
REASON_MAX = 500  # characters of a PollError's message kept as the reason
# An AP's causes, in order of precedence (the first is the AP's ``cause``); docs/decisions/causes-precedence.md
# says why. A controller's only cause is controller_unreachable; no AP has it.
CAUSES = (Cause.CONTROLLER_UNREACHABLE, Cause.REBOOT_LOOP, Cause.FLAPPING, Cause.OFFLINE, Cause.RADIO_DOWN,
          Cause.BACKHAUL_DEGRADED, Cause.UPLINK_DEGRADED, Cause.RF_LIMITED, Cause.BELOW_TARGET, Cause.CONGESTED)
# What a field crew can fix at the pole.
CREW_CAUSES = frozenset({Cause.REBOOT_LOOP, Cause.FLAPPING, Cause.OFFLINE, Cause.RADIO_DOWN, Cause.BACKHAUL_DEGRADED,
                         Cause.UPLINK_DEGRADED})
# What the NOC fixes from its desk: an outage and a stop in the NOC's list, never a field crew's.
NOC_CAUSES = frozenset({Cause.CONTROLLER_UNREACHABLE})
STOP_CAUSE_SET = CREW_CAUSES | NOC_CAUSES  # the causes that open an outage
# Below the per-user target: capacity findings (report capacity), never a crew's.
BELOW_CAUSES = frozenset({Cause.RF_LIMITED, Cause.BELOW_TARGET, Cause.CONGESTED})


class RadioMemory(NamedTuple):
    """What evaluation remembers of one radio seen up on an AP (a radio never seen up is not remembered)."""

    name: str  # Radio.name
    down_bits: int  # the last max(down_after, up_after) readings, 1 = down, newest in bit 0
    down: bool  # down for down_after readings in a row, and not up for up_after since
    # While it is held down: the first of its current run of readings not down (None while the newest is
    # down). The outage it was in ends as of then, not as of the up_after-th reading that cleared it.
    up_since: float | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class ApHealth:
    """What evaluation remembers about an AP between cycles, and what it concluded."""

    state: HealthState = UNKNOWN
    since: float = 0.0  # when the AP entered this state (for DOWN: its first missed cycle)
    misses: int = 0  # cycles missed in a row
    goods: int = 0  # cycles answered in a row (counted up to up_after)
    answered: bool | None = None  # did it answer the last cycle
    missing_since: float | None = None  # the first cycle of the current run of misses
    below: int = 0  # the last below_window per-user readings, 1 = under the target, newest in bit 0
    slow: int = 0  # the last max(down_after, up_after) link readings, 1 = under the expected speed
    uplink_degraded: bool = False
    trouble_since: float = 0.0  # when the current cause (if any) began
    changes: tuple[float, ...] = ()  # answered <-> missed changes within flap_minutes (the newest HISTORY_MAX)
    reboots: tuple[float, ...] = ()  # reboots within reboot_loop_hours (the newest HISTORY_MAX)
    clients: int | None = None  # last seen
    link_mbps: float | None = None  # last seen
    capacity_mbps: float | None = None  # last seen
    per_user_mbps: float | None = None  # last seen
    causes: tuple[Cause, ...] = ()  # in CAUSES order
    ok_since: float | None = None  # the first cycle of the current run of answers with the uplink at speed
    reason_kind: PollErrorKind | None = None  # UNMONITORED, MISCONFIGURED: the PollError's kind (auth, no_address ...)
    reason: str | None = None  # ... and its message (kind controller: the AP is UNKNOWN while its controller is)
    busy: int = 0  # bits aligned with ``below``: 1 = under the target with the busiest radio >= rf_busy_pct
    radios: tuple[RadioMemory, ...] = ()  # the radios seen up, in the order first seen
    # ICMP (evaluate/status.py, backhaul_degraded): the last max(down_after, up_after) ping readings of the cycles
    # it answered SNMP, 1 = loss or rtt over the thresholds, newest in bit 0; held degraded as uplink_degraded is
    ping_bad: int = 0
    backhaul_degraded: bool = False
    ping_loss_pct: float | None = None  # last seen (of a ping that got an answer)
    ping_rtt_ms: float | None = None  # last seen: the average round trip

    def same_verdict(self, other: ApHealth) -> bool:
        """Equal but for the last-seen figures (clients, link, capacity, per-user, ping), which move every cycle."""
        return _verdict(self) == _verdict(other)

    @property
    def cause(self) -> Cause | None:
        return self.causes[0] if self.causes else None

    @property
    def crew_cause(self) -> Cause | None:
        """The first cause a field crew can fix (not the capacity findings, not controller_unreachable)."""
        for cause in self.causes:
            if cause in CREW_CAUSES:
                return cause
        return None

    @property
    def stop_cause(self) -> Cause | None:
        """The first cause that opens an outage: a crew's, or the NOC's (controller_unreachable)."""
        for cause in self.causes:
            if cause in STOP_CAUSE_SET:
                return cause
        return None

    @property
    def below_target(self) -> bool:
        """Below the per-user target: rf_limited, below_target or congested."""
        return any(cause in BELOW_CAUSES for cause in self.causes)

    @property
    def radios_down(self) -> tuple[str, ...]:
        """The names of the radios evaluation holds down (radio_down)."""
        return tuple(radio.name for radio in self.radios if radio.down)

    def to_json(self) -> dict[str, object]:
        return {"state": self.state, "since": self.since, "cause": self.cause, "causes": list(self.causes),
                "misses": self.misses, "clients": self.clients, "link_mbps": self.link_mbps,
                "per_user_mbps": self.per_user_mbps, "reboots": len(self.reboots),
                "changes": len(self.changes), "reason_kind": self.reason_kind, "reason": self.reason,
                "radios_down": list(self.radios_down), "ping_loss_pct": self.ping_loss_pct,
                "ping_rtt_ms": self.ping_rtt_ms}


_FIGURES = frozenset({"clients", "link_mbps", "capacity_mbps", "per_user_mbps", "ping_loss_pct", "ping_rtt_ms"})
_verdict = attrgetter(*(name for name in ApHealth.__slots__ if name not in _FIGURES))
