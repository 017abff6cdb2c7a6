"""InfluxDB line protocol for a cycle's figures, cheap enough for 35,000 APs a minute.

One line per AP per measurement, built with f-strings (influxdb-client's ``Point`` costs ~10 µs
a point here; a line ~1.5 µs). An AP's tag set is escaped once and cached, since the same APs
come back every cycle. Names follow GUIDE section 6: snake_case measurements, bounded tags,
units in field names, one type per field forever (integers carry the ``i`` suffix).

=============  ================================  ===============================================
measurement    tags                              fields
=============  ================================  ===============================================
ap_status      ap, site, district, program,      up (0/1); when up: uptime_s, rtt_ms, clients,
               crew_zone, geohash, profile       per_user_mbps, below_target (0/1), rebooted (0/1);
               (once discovered)                 when down: error_kind (timeout, auth, ...)
ap_traffic     (as ap_status)                    in_bps, out_bps, link_mbps, capacity_mbps,
                                                 delivered_per_user_mbps
fleet_rollup   district                          aps, up, down, below_target, clients, in_bps,
                                                 out_bps
poller_cycle   (none)                            duration_s, lag_s, missed, aps, ok, timed_out,
                                                 failed, skipped, cpu_s, points, spool_batches,
                                                 spool_points, spool_bytes
=============  ================================  ===============================================

Where an AP is travels as the ``geohash`` tag (9 characters, ~5 m; Grafana's geomap reads it),
not as lat/lon fields: a tag is part of the series key, stored once per series, while two
float fields would be 70,000 more values for InfluxDB to ingest every cycle (measured: about a
fifth of the write time). It adds no series: one AP, one place.

A field is left out when its value is unknown (a first sample has no rate), never written as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotspotctl.inventory.sites import geohash

GEOHASH_CHARS = 9  # a cell of about 5 x 5 m: finer than an AP's placement is known

_TAG_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\n": " ", "\r": " ", "\\": "\\\\"})


def escape_tag(value: str) -> str:
    """A tag key or value: commas, equals signs and spaces escaped; line breaks flattened."""
    return value.translate(_TAG_ESCAPES)


def escape_string_field(value: str) -> str:
    """A string field's contents (without the quotes)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def tag_set(tags: Mapping[str, str | None]) -> str:
    """``,k=v,...`` in key order (InfluxDB's preferred order), empty values left out."""
    return "".join(f",{escape_tag(k)}={escape_tag(v)}" for k, v in sorted(tags.items()) if v)


def field_set(fields: Mapping[str, Any]) -> str:
    """``k=v,...``: bool and int as integers (``1i``), floats as shortest round-trip, str quoted; None skipped."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, int):  # bool too
            parts.append(f"{key}={int(value)}i")
        elif isinstance(value, float):
            parts.append(f"{key}={value!r}")
        else:
            parts.append(f'{key}="{escape_string_field(str(value))}"')
    return ",".join(parts)


def line(measurement: str, tags: Mapping[str, str | None], fields: Mapping[str, Any], at_s: int) -> str:
    return f"{measurement}{tag_set(tags)} {field_set(fields)} {at_s}"


class ApLines:
    """The two lines per AP per cycle; an AP's tag set is built once and cached."""

    __slots__ = ("_escaped", "_tags")

    def __init__(self) -> None:
        self._tags: dict[tuple[str, str | None], str] = {}
        self._escaped: dict[str, str] = {}  # districts, programmes, zones, profiles repeat: escape each once

    def tags(self, ap: Any, zone: str, profile: str | None) -> str:
        key = (ap.id, profile)
        cached = self._tags.get(key)
        if cached is None:
            cached = self._tags[key] = self._tag_set(ap, zone, profile)
        return cached

    def _tag_set(self, ap: Any, zone: str, profile: str | None) -> str:
        """``tag_set`` of the AP's tags, written out in key order (InfluxDB's): the first cycle builds 35,000."""
        escaped = self._escaped

        def shared(value: str | None) -> str | None:
            if not value:
                return None
            found = escaped.get(value)
            if found is None:
                found = escaped[value] = escape_tag(value)
            return found

        pairs = (("ap", escape_tag(ap.id)), ("crew_zone", shared(zone)), ("district", shared(ap.district)),
                 ("geohash", geohash(ap.lat, ap.lon)[:GEOHASH_CHARS]), ("profile", shared(profile)),
                 ("program", shared(ap.program)), ("site", escape_tag(ap.site_id) if ap.site_id else None))
        return "".join(f",{k}={v}" for k, v in pairs if v)

    def encode(self, out: list[str], ap: Any, zone: str, profile: str | None, rate: Any, error_kind: str | None,
               rtt_ms: float | None, at_s: int, target_mbps: float) -> None:
        """Append this AP's ap_status (and, with rates, ap_traffic) line to ``out``."""
        tags = self.tags(ap, zone, profile)
        if rate is None:
            out.append(f'ap_status{tags} up=0i,error_kind="{escape_string_field(error_kind or "unknown")}" {at_s}')
            return
        status = ["up=1i", "rebooted=1i" if rate.rebooted else "rebooted=0i"]
        if rate.uptime_s is not None:
            status.append(f"uptime_s={int(rate.uptime_s)}i")
        if rtt_ms is not None:
            status.append(f"rtt_ms={round(rtt_ms, 3)!r}")
        if rate.clients is not None:
            status.append(f"clients={rate.clients}i")
        per_user = rate.per_user_mbps
        if per_user is not None:
            status.append(f"per_user_mbps={float(per_user)!r},below_target={1 if per_user < target_mbps else 0}i")
        out.append(f"ap_status{tags} {','.join(status)} {at_s}")
        traffic = []
        if rate.in_bps is not None:
            traffic.append(f"in_bps={float(rate.in_bps)!r}")
        if rate.out_bps is not None:
            traffic.append(f"out_bps={float(rate.out_bps)!r}")
        if rate.link_mbps is not None:
            traffic.append(f"link_mbps={float(rate.link_mbps)!r}")
        if rate.capacity_mbps is not None:
            traffic.append(f"capacity_mbps={float(rate.capacity_mbps)!r}")
        if rate.delivered_per_user_mbps is not None:
            traffic.append(f"delivered_per_user_mbps={float(rate.delivered_per_user_mbps)!r}")
        if traffic:
            out.append(f"ap_traffic{tags} {','.join(traffic)} {at_s}")
