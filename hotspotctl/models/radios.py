"""What a device says about its radios, and what a wireless controller says about the APs it manages.

These are the records every collector fills the same way: a standalone AP's own radio table (read with
its poll), and a controller's per-AP and per-radio tables (one bulk walk per cycle). A field is None
when the device does not say it; nothing is guessed but the band, which follows from the frequency or
the channel when the device gives no band of its own (``band_for``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hotspotctl.models.records import fast_init

# Bands as written in JSON, InfluxDB's ``band`` tag and the dashboards: a bounded set.
BAND_2_4, BAND_5, BAND_6, BAND_60 = "2.4GHz", "5GHz", "6GHz", "60GHz"
BANDS = (BAND_2_4, BAND_5, BAND_6, BAND_60)


def band_for(frequency_mhz: float | None) -> str | None:
    """The Wi-Fi band a centre frequency lies in (IEEE 802.11 channel plans), else None."""
    if frequency_mhz is None:
        return None
    if 2400 <= frequency_mhz <= 2500:
        return BAND_2_4
    if 4900 <= frequency_mhz < 5925:
        return BAND_5
    if 5925 <= frequency_mhz <= 7125:
        return BAND_6
    if 57000 <= frequency_mhz <= 71000:
        return BAND_60
    return None


def channel_to_mhz(channel: int | None, band: str | None = None) -> int | None:
    """A channel number's centre frequency (IEEE 802.11): 2.4 GHz 1-14, 5 GHz 32-177, 6 GHz 1-233 when
    ``band`` says 6GHz (its numbers overlap the other two), 60 GHz 1-6 when ``band`` says 60GHz."""
    if channel is None or channel <= 0:
        return None
    if band == BAND_6:
        return 5950 + 5 * channel if channel <= 233 else None
    if band == BAND_60:
        return 56160 + 2160 * channel if channel <= 6 else None
    if channel == 14:
        return 2484
    if channel <= 13:
        return 2407 + 5 * channel
    if 32 <= channel <= 177:
        return 5000 + 5 * channel
    return None


@fast_init
@dataclass(frozen=True, slots=True)
class Radio:
    """One radio as its AP or controller reports it in one poll."""

    name: str  # as the device names it (ifName, "wifi0", "Radio 1", "ng"); unique within the AP
    if_index: int | None = None  # the radio's IF-MIB interface, where the device ties it to one
    band: str | None = None  # one of BANDS (or another "<n>GHz" the device states), else None
    channel: int | None = None
    frequency_mhz: int | None = None
    clients: int | None = None
    utilization_pct: float | None = None  # channel utilisation (busy air time), 0-100
    noise_floor_dbm: float | None = None
    tx_power_dbm: float | None = None
    oper_up: bool | None = None

    def to_json(self) -> dict[str, object]:
        """The stable JSON object of ``ap probe`` and ``poll --once`` (null where the device does not say)."""
        return {"name": self.name, "if_index": self.if_index, "band": self.band, "channel": self.channel,
                "frequency_mhz": self.frequency_mhz, "clients": self.clients,
                "utilization_pct": self.utilization_pct, "noise_floor_dbm": self.noise_floor_dbm,
                "tx_power_dbm": self.tx_power_dbm, "oper_up": self.oper_up}


@dataclass(frozen=True, slots=True)
class ManagedAp:
    """One AP as its controller reports it in one walk of the controller's per-AP tables."""

    key: str  # the row's index in the controller's AP table, dotted ("0.11.134.1.2.3", "1", ...)
    name: str | None = None
    mac: str | None = None  # lower-case, colon-separated ("00:0b:86:01:02:03")
    joined: bool | None = None  # joined to (managed by, up on) the controller
    reason: str | None = None  # the controller's word on why it is not joined, where it gives one
    uptime_s: float | None = None  # the AP's uptime (or the time since it joined), seconds
    clients: int | None = None
    in_octets: int | None = None  # the AP's own traffic counters, where the controller exposes them
    out_octets: int | None = None
    counter_bits: int = 64  # width of in/out_octets: 64 or 32
    radios: tuple[Radio, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "mac": self.mac, "joined": self.joined, "reason": self.reason,
                "clients": self.clients, "uptime_s": self.uptime_s,
                "radios": [radio.to_json() for radio in self.radios]}


@dataclass(frozen=True, slots=True)
class ControllerReading:
    """What one bulk walk of a controller's per-AP tables found."""

    at: float  # wall clock when the walk finished (time.time())
    mono: float  # time.monotonic() then: the interval rates are taken on
    walk_ms: float  # how long the walk took
    aps: tuple[ManagedAp, ...]
    ap_count: int | None = None  # the controller's own count of its APs, where it states one
    lists_aps: bool = True  # False: a count-only controller (no per-AP table): ``aps`` is () and says nothing

    @property
    def joined(self) -> int:
        return sum(1 for ap in self.aps if ap.joined)


def format_mac(octets: bytes | tuple[int, ...]) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from six octets (an OCTET STRING, or six OID sub-identifiers), else None."""
    values = tuple(octets)
    if len(values) != 6 or any(not 0 <= v <= 255 for v in values):
        return None
    return ":".join(f"{v:02x}" for v in values)


def normal_mac(text: str) -> str | None:
    """A MAC address in any usual spelling (``00:0B:86:01:02:03``, ``000b.8601.0203``, ``00-0b-86-...``,
    ``000b86010203``) as ``format_mac`` writes it, else None."""
    digits = "".join(ch for ch in text.strip().lower() if ch not in ":-. ")
    if len(digits) != 12 or any(ch not in "0123456789abcdef" for ch in digits):
        return None
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
