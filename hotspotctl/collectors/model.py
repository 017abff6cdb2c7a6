"""What collecting produces: an AP's discovered layout, and one poll's Sample or PollError."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hotspotctl.collectors.oids import Oid
from hotspotctl.errors import PollErrorKind as PollErrorKind  # defined beside CollectError, which carries it
from hotspotctl.models.polling import Discovery as Discovery  # records the store keeps: models/, named here too
from hotspotctl.models.polling import Interface as Interface
from hotspotctl.models.radios import Radio
from hotspotctl.models.records import fast_init


class Absent:
    """An SNMP exception value: the agent answered, and the object is not there.

    noSuchObject, noSuchInstance and endOfMibView mean "absent", never "failed".
    """

    __slots__ = ("name", "tag")

    def __init__(self, name: str, tag: int) -> None:
        self.name = name
        self.tag = tag

    def __repr__(self) -> str:
        return self.name

    def __bool__(self) -> bool:
        return False


NO_SUCH_OBJECT = Absent("noSuchObject", 0x80)
NO_SUCH_INSTANCE = Absent("noSuchInstance", 0x81)
END_OF_MIB_VIEW = Absent("endOfMibView", 0x82)

# A decoded SNMP value, the same from our codec, pysnmp and the snmprec reader:
# INTEGER, Counter32, Gauge32, TimeTicks, Counter64 -> int; OCTET STRING, Opaque -> bytes;
# OBJECT IDENTIFIER -> Oid; IpAddress -> str ("10.0.0.1"); NULL -> None; exceptions -> Absent.
Value = int | bytes | Oid | str | None | Absent


@fast_init
@dataclass(frozen=True, slots=True)
class Sample:
    """One AP's answer in one cycle; counters raw, as the device gave them."""

    ap: str
    at: float  # the poller's wall clock (time.time()) when the answer arrived
    rtt_ms: float
    sys_uptime: int | None = None  # sysUpTime.0, TimeTicks (1/100 s), wraps at 2^32
    hr_uptime: int | None = None  # hrSystemUptime.0, TimeTicks, wraps at 2^32
    engine_time: int | None = None  # snmpEngineTime.0, seconds
    in_octets: int | None = None
    out_octets: int | None = None
    counter_bits: int = 64  # width of in/out_octets: 64 or 32
    link_mbps: float | None = None
    oper_up: bool | None = None  # the uplink's ifOperStatus == up
    clients: int | None = None
    # Intervals for rates are taken on a monotonic clock, never the wall clock (which NTP or an
    # operator may step): time.monotonic() when the answer arrived, and which clock that is
    # (collectors.clock.monotonic_clock(): the kernel's boot id). None: unknown, rates use ``at``.
    mono: float | None = None
    clock: str | None = None
    # Which interface in/out_octets are from: "ifIndex.N" over SNMP, the interface's name over SSH.
    # A rate is only ever taken between two samples of the same interface.
    uplink: str | None = None
    # The AP's radios this poll (the profile's radio table, else the IF-MIB radio interfaces discovery chose).
    radios: tuple[Radio, ...] = ()


# What a failed poll says about the AP, for evaluation and the crews. Only silence (no answer in
# time, or a send the network refused) may mean the AP is down; a crew may fix that at the pole.
# Every other kind is an AP we cannot read for a reason no crew can fix: it is never "offline".
SILENT_KINDS = frozenset({PollErrorKind.TIMEOUT, PollErrorKind.SEND, PollErrorKind.BACKOFF,
                          PollErrorKind.NOT_JOINED})
# No usable management address (none in the inventory, a name that does not resolve), no profile or
# credential set that applies: the AP is not monitored until the inventory or settings are fixed.
UNMONITORED_KINDS = frozenset({PollErrorKind.NO_ADDRESS, PollErrorKind.CONFIG, PollErrorKind.NOT_DISCOVERED,
                               PollErrorKind.NOT_LISTED})
# The AP's controller could not be read: nothing is known of the AP itself (not down, not a miss, not a
# crew's matter); the controller's own outage says what is wrong.
UNKNOWN_KINDS = frozenset({PollErrorKind.CONTROLLER})
# It answered, but not usefully: wrong community or v3 keys, a changed host key, the agent's own
# error, a garbled answer, a refused connection: the NOC's business (settings, the AP's config).
# agent_silent is evaluation's: SNMP timed out while the AP answered ping (evaluate/status.py, agent_silent)
MISCONFIGURED_KINDS = frozenset({PollErrorKind.AUTH, PollErrorKind.HOSTKEY, PollErrorKind.PROTOCOL,
                                 PollErrorKind.REFUSED, PollErrorKind.AGENT, PollErrorKind.COMMAND,
                                 PollErrorKind.REDISCOVER, PollErrorKind.AGENT_SILENT})


class FailureClass(StrEnum):
    """What a failed poll means for the AP (``failure_class``)."""

    SILENT = "silent"  # no answer: it may be down
    UNMONITORED = "unmonitored"  # nothing could be sent: the inventory or settings must change
    MISCONFIGURED = "misconfigured"  # it answered, but not usefully
    UNKNOWN = "unknown"  # read through a controller that could not be read: nothing is known of it


def failure_class(kind: str) -> FailureClass:
    """SILENT (may be down), UNMONITORED, MISCONFIGURED or UNKNOWN: what a PollError's kind means."""
    if kind in SILENT_KINDS:
        return FailureClass.SILENT
    if kind in UNMONITORED_KINDS:
        return FailureClass.UNMONITORED
    if kind in UNKNOWN_KINDS:
        return FailureClass.UNKNOWN
    return FailureClass.MISCONFIGURED


@fast_init
@dataclass(frozen=True, slots=True)
class PollError:
    """An AP that did not give a usable answer this cycle: a value, not an exception."""

    ap: str
    at: float
    kind: PollErrorKind  # what failure_class() makes of it: silent, unmonitored or misconfigured
    message: str


PollResult = Sample | PollError
