"""InfluxDB line protocol for a cycle's figures, cheap enough for 35,000 APs a minute.

One line per AP per measurement, built with f-strings (influxdb-client's ``Point`` costs ~10 µs
a point here; a line ~1.5 µs). An AP's tag set is escaped once and cached, since the same APs
come back every cycle. Names follow GUIDE section 6: snake_case measurements, bounded tags,
units in field names, one type per field forever (integers carry the ``i`` suffix).

============== ================================  ===============================================
measurement    tags                              fields
============== ================================  ===============================================
ap_status      ap, site, district, program,      up (0/1); when up: uptime_s, rtt_ms, clients,
               crew_zone, geohash, profile       per_user_mbps, below_target (0/1), rebooted (0/1);
               (once discovered)                 when down: error_kind (timeout, auth, ...)
ap_traffic     (as ap_status)                    in_bps, out_bps, link_mbps, capacity_mbps,
                                                 delivered_per_user_mbps
ap_radio       (as ap_status), radio, band       channel, frequency_mhz, clients (integers);
               (when known)                      utilization_pct, noise_floor_dbm, tx_power_dbm; up (0/1)
ap_ping        (as ap_status)                    sent, received (integers); loss_pct, rtt_min_ms,
                                                 rtt_avg_ms, rtt_max_ms, jitter_ms (None: left out)
fleet_rollup   district                          aps, up, down, below_target, clients, in_bps,
                                                 out_bps
poller_cycle   (none); in a cluster: host        duration_s, lag_s, missed, aps, ok, timed_out,
               (the worker) and shard, one       failed, skipped, cpu_s, points, spool_batches,
               line per shard's cycle            spool_points, spool_bytes
poller_cluster host (the leader)                 shards, shards_reported, shards_missing, aps, ok,
                                                 ..., workers_cpu_s: one line per slot
============== ================================  ===============================================

docs/metrics.md lists every measurement, tag and field; this table is a cycle's.

Where an AP is travels as the ``geohash`` tag (9 characters, ~5 m; Grafana's geomap reads it),
not as lat/lon fields: a tag is part of the series key, stored once per series, while two
float fields would be 70,000 more values for InfluxDB to ingest every cycle (measured: about a
fifth of the write time). It adds no series: one AP, one place.

A field is left out when its value is unknown (a first sample has no rate), never written as 0.

Figures we compute are written in fixed point at their resolution, not with the 17 significant digits of a
float's shortest round trip (``repr``): the uplink's rates to the bit per second (octets counted over an interval
the poller timed to about a millisecond, which alone moves a 20 Mb/s rate by some 300 b/s a minute), the per-user
Mbps figures to six decimals (a bit per second), the SNMP round trip to three decimals of a millisecond. They stay
float fields: line protocol reads a number without ``i`` as a float. The digits left out were noise, which gzip
cannot shrink: a city's cycle spools 14 % fewer bytes (docs/decisions/figures-at-their-resolution.md). What a
device states (a radio's utilisation, its noise floor) and what the pinger rounded are written as given.

Strings from the inventory and from devices are inert here: whatever they hold, a point stays one line
and the batch stays valid (see "What line protocol cannot carry" below for the few mapped characters).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from hotspotctl.inventory.sites import geohash

GEOHASH_CHARS = 9  # a cell of about 5 x 5 m: finer than an AP's placement is known
RADIO_TEXTS = 4096  # radio bands and names kept escaped by an ApLines (a fleet has a handful)

# What line protocol cannot carry, and what it becomes (docs/metrics.md says the same; the
# round trip through the real InfluxDB 1.x and VictoriaMetrics in tests/sinks/test_lineproto.py proves it):
# - text that is not valid UTF-8 (a device's bytes, decoded with surrogateescape, or bytes) gets U+FFFD for
#   each bad byte: a body InfluxDB cannot decode would refuse the whole batch;
# - ASCII control characters become spaces: InfluxDB documents that line protocol does not support a line
#   break in tag or field values (an unescaped one ends the point and breaks the rest of the line), and
#   parsers disagree on tabs and the others;
# - in a tag key or value (and a measurement), a backslash that line protocol would read as an escape (before
#   a space, comma, equals sign or another backslash, or at the end) becomes U+FF3C FULLWIDTH REVERSE SOLIDUS:
#   InfluxDB 1.x cannot store it there at all (``\\`` is kept doubled, ``\,`` breaks the tag set) while
#   VictoriaMetrics reads ``\\`` as one backslash. Any other backslash is written, and read back, as
#   is. String field values escape ``\`` and ``"`` as line protocol says, so their backslashes survive.
_CONTROLS = {c: " " for c in (*range(0x20), 0x7F)}
_TAG_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ "})
_FIELD_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})
_TAG_PLAIN = re.compile(r"[^\x00-\x1f\x7f ,=\\\ud800-\udfff]*\Z")  # nothing to escape or map: the common case
_FIELD_PLAIN = re.compile(r'[^\x00-\x1f\x7f"\\\ud800-\udfff]*\Z')
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_ESCAPING_BACKSLASH = re.compile(r"\\(?=[\\ ,=]|\Z)")
FULLWIDTH_BACKSLASH = "\uff3c"


def clean_text(value: str | bytes | bytearray | memoryview) -> str:
    """Valid Unicode without control characters: bad bytes become U+FFFD, control characters spaces."""
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("utf-8", "replace")
    return _SURROGATES.sub("\ufffd", value).translate(_CONTROLS)


def escape_tag(value: str | bytes) -> str:
    """A tag key or value: commas, equals signs and spaces escaped; see above for what is mapped."""
    if isinstance(value, str) and _TAG_PLAIN.match(value):
        return value
    return _ESCAPING_BACKSLASH.sub(FULLWIDTH_BACKSLASH, clean_text(value)).translate(_TAG_ESCAPES)


def escape_measurement(value: str) -> str:
    """A measurement name: commas and spaces escaped, mapped like a tag."""
    if _TAG_PLAIN.match(value):
        return value
    return _ESCAPING_BACKSLASH.sub(FULLWIDTH_BACKSLASH, clean_text(value)).translate(_MEASUREMENT_ESCAPES)


def escape_string_field(value: str | bytes | bytearray | memoryview) -> str:
    """A string field's contents (without the quotes): backslashes and double quotes escaped."""
    if isinstance(value, str) and _FIELD_PLAIN.match(value):
        return value
    return clean_text(value).translate(_FIELD_ESCAPES)


def tag_set(tags: Mapping[str, str | None]) -> str:
    """``,k=v,...`` in key order (InfluxDB's preferred order), empty values left out."""
    return "".join(f",{escape_tag(k)}={escape_tag(v)}" for k, v in sorted(tags.items()) if v)


def field_set(fields: Mapping[str, Any]) -> str:
    """``k=v,...``: bool and int as integers (``1i``), floats as shortest round-trip, str quoted.

    None is skipped, and so is a float that is not finite: line protocol has no NaN or infinity, and one
    such value would get the whole line refused.
    """
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, int):  # bool too
            parts.append(f"{escape_tag(key)}={int(value)}i")
        elif isinstance(value, float):
            if math.isfinite(value):
                parts.append(f"{escape_tag(key)}={value!r}")
        elif isinstance(value, bytes | bytearray | memoryview | str):
            parts.append(f'{escape_tag(key)}="{escape_string_field(value)}"')
        else:
            parts.append(f'{escape_tag(key)}="{escape_string_field(str(value))}"')
    return ",".join(parts)


def says_something(radio: Any) -> bool:
    """Whether a radio has a figure of this cycle beyond its state, so that it gets an ap_radio line."""
    return not (radio.channel is None and radio.frequency_mhz is None and radio.clients is None
                and radio.utilization_pct is None and radio.noise_floor_dbm is None and radio.tx_power_dbm is None)


def line(measurement: str, tags: Mapping[str, str | None], fields: Mapping[str, Any], at_s: int) -> str:
    return f"{escape_measurement(measurement)}{tag_set(tags)} {field_set(fields)} {at_s}"


class ApLines:
    """The lines per AP per cycle (ap_status, ap_traffic, ap_radio); an AP's tag set is built once and cached."""

    __slots__ = ("_cuts", "_escaped", "_radio_texts", "_tags")

    def __init__(self) -> None:
        self._tags: dict[str | None, dict[str, str]] = {}  # profile -> AP id -> its tag set (no key tuple per AP)
        # where ``band`` and ``radio`` go in an AP's tag set (the offsets of the first tag after each, in key
        # order, as band_at << 16 | radio_at: one int, not a tuple of two, for 30,000 APs), for the APs with
        # ap_radio lines only; keyed by the tag set itself (the cached string: no key tuple of its own)
        self._cuts: dict[str, int] = {}
        self._escaped: dict[str, str] = {}  # districts, programmes, zones, profiles repeat: escape each once
        self._radio_texts: dict[str, str] = {}  # radio bands and names, escaped (``_radio_text``)

    def tags(self, ap: Any, zone: str, profile: str | None) -> str:
        of_profile = self._tags.get(profile)
        if of_profile is None:
            of_profile = self._tags[profile] = {}
        cached = of_profile.get(ap.id)
        if cached is None:
            cached = of_profile[ap.id] = "".join(f",{k}={v}" for k, v in self._tag_pairs(ap, zone, profile))
        return cached

    def radios(self, out: list[str], ap: Any, zone: str, profile: str | None, radios: Any, at_s: int) -> None:
        """Append one ap_radio line per radio that says something this cycle (docs/metrics.md): the AP's
        tags plus ``radio`` (its name, device text: escaped) and ``band`` when known, in key order.

        A radio with no figure but its state (the IF-MIB radio interfaces of a profile without a radio
        table, whose state is discovery's, not this cycle's) is not written (``says_something``)."""
        tags: str | None = None
        band_at = radio_at = 0
        isfinite = math.isfinite
        for radio in radios:  # a loop over locals: about 16,000 radios a cycle
            fields = []
            value = radio.channel
            if value is not None:
                fields.append(f"channel={int(value)}i")
            value = radio.frequency_mhz
            if value is not None:
                fields.append(f"frequency_mhz={int(value)}i")
            value = radio.clients
            if value is not None:
                fields.append(f"clients={int(value)}i")
            value = radio.utilization_pct
            if value is not None and isfinite(value):
                fields.append(f"utilization_pct={float(value)!r}")
            value = radio.noise_floor_dbm
            if value is not None and isfinite(value):
                fields.append(f"noise_floor_dbm={float(value)!r}")
            value = radio.tx_power_dbm
            if value is not None and isfinite(value):
                fields.append(f"tx_power_dbm={float(value)!r}")
            if not fields:
                continue  # nothing but its state (a profile without a radio table), or no finite figure
            if radio.oper_up is not None:
                fields.append("up=1i" if radio.oper_up else "up=0i")
            if tags is None:
                tags = self.tags(ap, zone, profile)
                band_at, radio_at = self._cut(tags, ap, zone, profile)
            band = f",band={self._radio_text(radio.band)}" if radio.band else ""
            name = self._radio_text(radio.name or f"radio {radio.if_index}")
            out.append(f"ap_radio{tags[:band_at]}{band}{tags[band_at:radio_at]},radio={name}{tags[radio_at:]} "
                       f"{','.join(fields)} {at_s}")

    def _radio_text(self, value: str) -> str:
        """A radio's band or name as a tag value (``escape_tag``), escaped once: the same few come back every
        cycle. At most RADIO_TEXTS are kept (device text: a fleet whose radio names are all different)."""
        found = self._radio_texts.get(value)
        if found is None:
            found = escape_tag(value)
            if len(self._radio_texts) < RADIO_TEXTS:
                self._radio_texts[value] = found
        return found

    def _cut(self, tags: str, ap: Any, zone: str, profile: str | None) -> tuple[int, int]:
        """The offsets in the AP's tag set (``tags``) where ``,band=`` and ``,radio=`` go to keep key order (its
        tags sorted with those two, as ``tag_set`` writes them)."""
        cut = self._cuts.get(tags)
        if cut is None:
            band_at = radio_at = 0
            for k, v in self._tag_pairs(ap, zone, profile):
                width = len(k) + len(v) + 2
                if k < "band":
                    band_at += width
                if k < "radio":
                    radio_at += width
            cut = self._cuts[tags] = band_at << 16 | radio_at  # a tag set is far shorter than 65,536 characters
        return cut >> 16, cut & 0xFFFF

    def _tag_pairs(self, ap: Any, zone: str, profile: str | None) -> tuple[tuple[str, str], ...]:
        """The AP's tags, escaped, in key order (InfluxDB's): the first cycle builds 35,000."""
        escaped = self._escaped

        def shared(value: str | None) -> str | None:
            if not value:
                return None
            found = escaped.get(value)
            if found is None:
                found = escaped[value] = escape_tag(value)
            return found

        place = geohash(ap.lat, ap.lon)[:GEOHASH_CHARS] if ap.lat is not None else None  # a controller may have none
        pairs = (("ap", escape_tag(ap.id)), ("crew_zone", shared(zone)), ("district", shared(ap.district)),
                 ("geohash", place), ("profile", shared(profile)),
                 ("program", shared(ap.program)), ("site", escape_tag(ap.site_id) if ap.site_id else None))
        return tuple((k, v) for k, v in pairs if v)

    def ping(self, out: list[str], ap: Any, zone: str, profile: str | None, ping: Any, at_s: int) -> None:
        """Append the AP's ap_ping line (a PingResult that sent something; nothing sent: no line)."""
        if not ping.sent:
            return
        fields = f"sent={int(ping.sent)}i,received={int(ping.received)}i,loss_pct={float(ping.loss_pct)!r}"
        isfinite = math.isfinite
        for name, value in (("rtt_min_ms", ping.rtt_min_ms), ("rtt_avg_ms", ping.rtt_avg_ms),
                            ("rtt_max_ms", ping.rtt_max_ms), ("jitter_ms", ping.jitter_ms)):
            if value is not None and isfinite(value):
                fields += f",{name}={float(value)!r}"
        out.append(f"ap_ping{self.tags(ap, zone, profile)} {fields} {at_s}")

    def encode(self, out: list[str], ap: Any, zone: str, profile: str | None, rate: Any, error_kind: str | None,
               rtt_ms: float | None, at_s: int, target_mbps: float, unusable: bool = False) -> None:
        """Append this AP's ap_status (and, with rates, ap_traffic) line to ``out``.

        ``up`` is 1 or 0 only for an AP that can be judged: one the evaluation found unmonitored or
        misconfigured (``unusable``: no address, wrong credentials ...) has no ``up`` but
        ``monitored=0i``, so "down" counts on the dashboards never include it.
        """
        tags = self.tags(ap, zone, profile)
        if rate is None:
            kind = escape_string_field(error_kind or "unknown")
            if unusable:
                out.append(f'ap_status{tags} monitored=0i,error_kind="{kind}" {at_s}')
            else:
                out.append(f'ap_status{tags} up=0i,error_kind="{kind}" {at_s}')
            return
        status = ["up=1i", "rebooted=1i" if rate.rebooted else "rebooted=0i"]
        if rate.uptime_s is not None:
            status.append(f"uptime_s={int(rate.uptime_s)}i")
        # what we compute, in fixed point at its resolution (the module's docstring)
        if rtt_ms is not None:
            status.append(f"rtt_ms={rtt_ms:.3f}")
        if rate.clients is not None:
            status.append(f"clients={rate.clients}i")
        per_user = rate.per_user_mbps
        if per_user is not None:
            status.append(f"per_user_mbps={per_user:.6f},below_target={1 if per_user < target_mbps else 0}i")
        out.append(f"ap_status{tags} {','.join(status)} {at_s}")
        traffic = []
        if rate.in_bps is not None:
            traffic.append(f"in_bps={rate.in_bps:.0f}")
        if rate.out_bps is not None:
            traffic.append(f"out_bps={rate.out_bps:.0f}")
        if rate.link_mbps is not None:
            traffic.append(f"link_mbps={float(rate.link_mbps)!r}")
        if rate.capacity_mbps is not None:
            traffic.append(f"capacity_mbps={float(rate.capacity_mbps)!r}")
        if rate.delivered_per_user_mbps is not None:
            traffic.append(f"delivered_per_user_mbps={rate.delivered_per_user_mbps:.6f}")
        if traffic:
            out.append(f"ap_traffic{tags} {','.join(traffic)} {at_s}")
