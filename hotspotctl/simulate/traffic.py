"""The simulated city's traffic: clients that follow a day by programme, and counters that add up.

Every figure is a pure function of the AP's parameters and the time, so several simulator
processes answer for the same AP without talking to each other, and a restart of the
simulator does not make counters jump back.

- **Clients** follow a 24-hour curve per programme (``CURVES``: transport peaks at rush
  hours, schools by day, streets, parks and housing in the evening), scaled by the AP's
  own peak, with a slow +-10 % wobble so APs of one programme do not move in lockstep.
- **Traffic** is demand per client times the same curve, integrated in closed form: the
  curve is piecewise linear between hourly levels, so the octets between two instants are
  an exact sum of trapezoids. The AP's peak traffic is capped below its link speed, so a
  rate never exceeds what the port can carry. Downstream (ifInOctets on the uplink) is 80 %.
- **Time**: the day's curve runs on a simulated clock, ``sim = sim_start + (t - t0) * speed``
  (Mexico City local time, UTC-6 all year since 2022); counters advance per *real* second
  at the simulated hour's level, so a poller measuring over real seconds sees plausible
  rates whatever ``--speed`` is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hotspotctl.city import CITY_FILE, bundled_city
from hotspotctl.errors import ConfigError
from hotspotctl.names import name_key

DAY_S = 86_400.0
HOUR_S = 3_600.0
CDMX_UTC_OFFSET_S = -6 * HOUR_S
DOWNSTREAM_SHARE = 0.8  # of an AP's traffic, internet -> users (ifInOctets of the uplink)
PEAK_LINK_SHARE = 0.9  # an AP's peak traffic stays under this share of its link


def _curve(levels: Sequence[float]) -> tuple[float, ...]:
    if len(levels) != 24:
        raise ValueError("a daily curve has 24 hourly levels")
    return tuple(levels)


# Share of the AP's peak clients at each local hour (0 = midnight), by kind of place.
CURVES: dict[str, tuple[float, ...]] = {
    # metro, Metrobús, Cablebús, trolleybus: two rush hours
    "transport": _curve([.02, .01, .01, .01, .05, .35, .85, 1.0, .90, .55, .40, .40,
                         .45, .45, .50, .55, .65, .85, 1.0, .90, .60, .35, .15, .05]),
    # schools: lessons by day, quiet at night
    "school": _curve([0, 0, 0, 0, 0, 0, .05, .45, .90, 1.0, 1.0, .95,
                      .85, .75, .55, .35, .25, .15, .10, .05, .02, 0, 0, 0]),
    # street poles (C5, MiCalle) and outlying neighbourhoods: people out in the evening
    "street": _curve([.20, .12, .08, .05, .05, .08, .18, .30, .35, .40, .45, .50,
                      .55, .58, .60, .62, .68, .78, .90, 1.0, .95, .80, .55, .35]),
    # housing estates: evenings and nights at home
    "housing": _curve([.45, .30, .18, .10, .08, .10, .20, .30, .30, .30, .32, .35,
                       .40, .42, .45, .50, .60, .72, .85, .95, 1.0, .95, .80, .60]),
    # clinics and hospitals: daytime, some at night
    "clinic": _curve([.10, .08, .08, .08, .10, .15, .35, .70, .95, 1.0, 1.0, .95,
                      .90, .85, .80, .70, .60, .50, .40, .30, .25, .20, .15, .12]),
    # libraries, museums, parks, community centres (Pilares, Utopías): afternoon and evening
    "public": _curve([.02, .01, .01, .01, .01, .02, .05, .15, .30, .45, .60, .70,
                      .80, .85, .90, .95, 1.0, 1.0, .90, .70, .45, .20, .08, .03]),
    # the airport: busy from early morning to late evening
    "airport": _curve([.35, .25, .20, .25, .45, .70, .85, .95, 1.0, .95, .90, .90,
                       .90, .95, .95, .95, 1.0, 1.0, .95, .90, .85, .75, .60, .45]),
}


def _programmes() -> tuple[tuple[str, str, tuple[int, int]], ...]:
    """(programme name key prefix, curve, (min, max) peak clients per AP): the city's data (city.py)."""
    city = bundled_city()
    for programme in city.programmes:
        if programme.place not in CURVES:
            raise ConfigError(f"{CITY_FILE[-1]}: programmes.{programme.prefix}.place: {programme.place!r} is not "
                              f"one of {', '.join(CURVES)}")
    return tuple((p.prefix, p.place, p.peak_clients) for p in city.programmes)


_PROGRAMMES = _programmes()
_DEFAULT = ("street", (2, 12))


def programme_kind(program: str | None) -> tuple[str, tuple[int, int]]:
    """The curve and peak-client range for an inventory programme name (street poles if unknown)."""
    key = name_key(program or "")
    for prefix, curve, peak in _PROGRAMMES:
        if key.startswith(prefix):
            return curve, peak
    return _DEFAULT


def _cumulative(levels: tuple[float, ...]) -> tuple[tuple[float, ...], float]:
    """Integral (level x seconds) at the start of each hour, and over the whole day."""
    cum = [0.0]
    for hour in range(24):
        a, b = levels[hour], levels[(hour + 1) % 24]
        cum.append(cum[-1] + (a + b) / 2 * HOUR_S)
    return tuple(cum[:24]), cum[24]


_CUMULATIVE = {name: _cumulative(levels) for name, levels in CURVES.items()}


def level(curve: str, local_s: float) -> float:
    """The curve's level at a local time of day (seconds since local midnight, any day)."""
    levels = CURVES[curve]
    day_s = local_s % DAY_S
    hour = int(day_s // HOUR_S)
    frac = (day_s - hour * HOUR_S) / HOUR_S
    return levels[hour] + (levels[(hour + 1) % 24] - levels[hour]) * frac


def integral(curve: str, local_s: float) -> float:
    """Integral of the curve from local time 0 to ``local_s`` (level x seconds); exact."""
    levels = CURVES[curve]
    cum, per_day = _CUMULATIVE[curve]
    days, day_s = divmod(local_s, DAY_S)
    hour = int(day_s // HOUR_S)
    x = day_s - hour * HOUR_S
    a, b = levels[hour], levels[(hour + 1) % 24]
    return days * per_day + cum[hour] + a * x + (b - a) * x * x / (2 * HOUR_S)


@dataclass(frozen=True, slots=True)
class Clock:
    """Real time -> simulated local time of day; ``speed`` simulated seconds per real second."""

    t0: float  # real epoch seconds when the simulation started
    sim_start_local: float  # simulated local seconds (since local epoch) at t0
    speed: float = 1.0

    @classmethod
    def starting(cls, t0: float, *, speed: float = 1.0, start_hour: float | None = None) -> Clock:
        local = t0 + CDMX_UTC_OFFSET_S
        if start_hour is not None:
            local = (local // DAY_S) * DAY_S + start_hour * HOUR_S
        return cls(t0, local, speed)

    def local(self, t: float) -> float:
        return self.sim_start_local + (t - self.t0) * self.speed

    def hour(self, t: float) -> float:
        return (self.local(t) % DAY_S) / HOUR_S


@dataclass(frozen=True, slots=True)
class TrafficModel:
    """One AP's traffic parameters (see the module docstring)."""

    curve: str
    peak_clients: float
    bytes_per_s_at_peak: float  # both directions, at the curve's level 1.0
    wobble_phase: float

    def clients(self, clock: Clock, t: float, factor: float = 1.0) -> int:
        local = clock.local(t)
        wobble = 1.0 + 0.1 * math.sin(local / 900.0 + self.wobble_phase)
        return max(0, round(self.peak_clients * factor * level(self.curve, local) * wobble))

    def octets(self, clock: Clock, since: float, t: float) -> tuple[int, int]:
        """(downstream, upstream) octets carried from real time ``since`` to ``t``."""
        if t <= since:
            return 0, 0
        area = (integral(self.curve, clock.local(t)) - integral(self.curve, clock.local(since))) / clock.speed
        total = self.bytes_per_s_at_peak * area
        return int(total * DOWNSTREAM_SHARE), int(total * (1 - DOWNSTREAM_SHARE))


def traffic_model(program: str | None, link_mbps: float, draw: Sequence[float], *,
                  clients_factor: float = 1.0) -> TrafficModel:
    """An AP's model from its programme, link speed and three uniform draws in [0, 1).

    Demand per client is 0.6-2.5 Mb/s at peak (browsing, messaging, some video); the
    AP's peak is capped at ``PEAK_LINK_SHARE`` of its link.
    """
    curve, (low, high) = programme_kind(program)
    peak = low + (high - low) * draw[0]
    per_client_bps = (0.6 + 1.9 * draw[1]) * 1e6
    peak_bps = min(peak * clients_factor * per_client_bps, PEAK_LINK_SHARE * link_mbps * 1e6)
    return TrafficModel(curve, peak, peak_bps / 8, draw[2] * 2 * math.pi)
