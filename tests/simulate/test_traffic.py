"""The simulated city's traffic: daily curves, the closed-form integral, and counters that add up."""

from __future__ import annotations

import math
import random

import pytest

from hotspotctl.simulate.traffic import (
    CURVES,
    DAY_S,
    DOWNSTREAM_SHARE,
    HOUR_S,
    PEAK_LINK_SHARE,
    Clock,
    TrafficModel,
    integral,
    level,
    programme_kind,
    traffic_model,
)

T0 = 1_795_300_000.0  # a real epoch second in late 2026; the tests never read the clock
TRANSPORTE = "Transporte (Metrobus, Cablebus, Tren Ligero, Trolebus, etc.)"
DRAWS = [(0.0, 0.0, 0.0), (0.5, 0.5, 0.25), (0.999, 0.999, 0.999), (0.31, 0.77, 0.62)]


STEP = 7.3  # seconds, a grid that never lands on the hourly corners


def numeric_integral(curve: str, a: float, b: float, step: float) -> float:
    """Midpoint rule."""
    n = max(1, math.ceil((b - a) / step))
    h = (b - a) / n
    return sum(level(curve, a + (i + 0.5) * h) for i in range(n)) * h


def test_level_is_the_hourly_table_and_linear_between_hours() -> None:
    for name, levels in CURVES.items():
        for hour in range(24):
            assert level(name, hour * HOUR_S) == levels[hour]
            assert level(name, 3 * DAY_S + hour * HOUR_S) == levels[hour]  # any day
            halfway = (levels[hour] + levels[(hour + 1) % 24]) / 2
            assert level(name, hour * HOUR_S + HOUR_S / 2) == pytest.approx(halfway, abs=1e-12)


@pytest.mark.parametrize("curve", sorted(CURVES))
def test_integral_matches_a_numerical_integral_over_days_and_across_midnight(curve: str) -> None:
    spans = [
        (0.0, DAY_S),  # one whole day
        (22.5 * HOUR_S, DAY_S + 2.25 * HOUR_S),  # across midnight
        (5 * DAY_S + 23.9 * HOUR_S, 6 * DAY_S + 0.1 * HOUR_S),  # twelve minutes around midnight
        (20_000 * DAY_S + 13.3 * HOUR_S, 20_003 * DAY_S + 7.7 * HOUR_S),  # several days, at today's epoch
    ]
    for a, b in spans:
        exact = integral(curve, b) - integral(curve, a)
        # The midpoint rule is exact on straight pieces and errs by at most step^2/8 x the slope's
        # change in a cell holding an hourly corner; a slope changes by at most one level per hour.
        corners = math.ceil((b - a) / HOUR_S) + 1
        assert abs(exact - numeric_integral(curve, a, b, STEP)) <= corners * STEP**2 / 8 / HOUR_S
    # a whole day is the same area whichever day, and the mean level times a day
    per_day = integral(curve, DAY_S) - integral(curve, 0.0)
    assert integral(curve, 17 * DAY_S) == pytest.approx(17 * per_day, rel=1e-12)
    levels = CURVES[curve]
    assert per_day == pytest.approx(sum(levels) / 24 * DAY_S, rel=1e-12)  # trapezoids of a closed curve


@pytest.mark.parametrize("speed", [1.0, 60.0])
def test_octets_add_up_to_the_byte(speed: float) -> None:
    rng = random.Random(5)
    for program in (TRANSPORTE, "Escuelas", "Pilares", "Aeropuerto", "Poste C5"):
        for draw in DRAWS:
            model = traffic_model(program, 1000, draw, clients_factor=4.0)
            clock = Clock.starting(T0, speed=speed, start_hour=rng.uniform(0, 24))
            for _ in range(300):
                a = T0 - rng.uniform(0, 60 * DAY_S)  # from weeks ago (an AP's boot) ...
                b = a + rng.uniform(0, 3 * HOUR_S)
                c = b + rng.uniform(0, 2 * DAY_S)  # ... across midnights
                first, second, whole = model.octets(clock, a, b), model.octets(clock, b, c), model.octets(clock, a, c)
                for direction in (0, 1):  # each part is truncated to whole bytes: at most a byte each
                    assert abs(first[direction] + second[direction] - whole[direction]) <= 2
            assert model.octets(clock, T0, T0) == (0, 0)
            assert model.octets(clock, T0 + 5, T0) == (0, 0)  # backwards in time: nothing


def test_octets_are_the_model_rate_times_the_curve_area() -> None:
    model = traffic_model(TRANSPORTE, 1000, (0.4, 0.6, 0.1))
    clock = Clock.starting(T0, start_hour=7.0)  # 07:00 (level 1.0) to 07:10
    down, up = model.octets(clock, T0, T0 + 600)
    area = integral("transport", clock.local(T0 + 600)) - integral("transport", clock.local(T0))
    total = model.bytes_per_s_at_peak * area
    assert (down, up) == (int(total * DOWNSTREAM_SHARE), int(total * (1 - DOWNSTREAM_SHARE)))
    assert down / up == pytest.approx(DOWNSTREAM_SHARE / (1 - DOWNSTREAM_SHARE), rel=1e-6)
    # 1.0 -> 0.9 over the hour: at 07:10 the level is 1 - 0.1/6, the area a trapezoid
    assert area == pytest.approx(600 * (1.0 + (1.0 - 0.1 / 6)) / 2, rel=1e-9)


def test_at_speed_60_counters_advance_at_the_simulated_hours_level_per_real_second() -> None:
    model = traffic_model(TRANSPORTE, 1000, (0.5, 0.5, 0.0))
    fast = Clock.starting(T0, speed=60.0, start_hour=14.0)
    assert fast.hour(T0) == pytest.approx(14.0)
    assert fast.hour(T0 + 60) == pytest.approx(15.0)  # one real minute is one simulated hour
    assert fast.hour(T0 + 600) == pytest.approx(24.0 % 24 or 0.0, abs=1e-9)  # ten minutes: midnight
    for real_s in (0.0, 15.0, 30.0, 45.0, 240.0, 300.0):
        t = T0 + real_s
        down, up = model.octets(fast, t, t + 1.0)
        # one real second covers 60 simulated seconds: the rate is their mean level, not 60 times it
        mean_level = (integral("transport", fast.local(t + 1)) - integral("transport", fast.local(t))) / 60
        assert mean_level == pytest.approx(level("transport", fast.local(t) + 30), rel=1e-6)
        assert down + up == pytest.approx(model.bytes_per_s_at_peak * mean_level, abs=2)
        assert (down + up) * 8 <= model.bytes_per_s_at_peak * 8 * 1.000001  # never above the AP's peak
    # a real minute at speed 60 carries that simulated hour's mean rate for 60 s; at speed 1 an hour
    slow = Clock.starting(T0, speed=1.0, start_hour=14.0)
    minute_fast = sum(model.octets(fast, T0, T0 + 60))
    hour_slow = sum(model.octets(slow, T0, T0 + HOUR_S))
    assert minute_fast * 60 == pytest.approx(hour_slow, rel=1e-6)
    # 14:00-15:00 runs straight from one hourly level to the next: their mean
    hour_mean = (CURVES["transport"][14] + CURVES["transport"][15]) / 2
    assert minute_fast == pytest.approx(model.bytes_per_s_at_peak * hour_mean * 60, rel=1e-6)


def test_clients_follow_the_programmes_curve() -> None:
    assert programme_kind(TRANSPORTE) == ("transport", (10, 50))
    assert programme_kind("Escuelas de Educación Básica")[0] == "school"
    assert programme_kind("unknown programme") == ("street", (2, 12))
    assert programme_kind(None) == ("street", (2, 12))
    rng = random.Random(11)
    for _ in range(200):
        draw = (rng.random(), rng.random(), rng.random())
        transport = traffic_model(TRANSPORTE, 1000, draw)
        school = traffic_model("Escuelas", 1000, draw)

        def clients(model: TrafficModel, hour: float, offset: float = 0.0) -> int:
            return model.clients(Clock.starting(T0, start_hour=hour), T0 + offset)

        for offset in (0.0, 500.0, 1_700.0):  # the wobble moves, the ordering holds
            rush = min(clients(transport, 8.0, offset), clients(transport, 18.0, offset))
            quiet = max(clients(transport, 14.0, offset), clients(transport, 3.0, offset))
            assert rush > quiet
            assert clients(school, 2.0, offset) == 0
            # 10:00-10:28 is 1.0 -> 0.95 times the wobble's worst 0.9
            assert clients(school, 10.0, offset) >= math.floor(school.peak_clients * 0.95 * 0.9)
        low, high = 10, 50
        assert low <= transport.peak_clients <= high
        # at the peak hour the count is the AP's peak within the +-10 % wobble
        at_peak = clients(transport, 18.0)
        assert round(transport.peak_clients * 0.9) <= at_peak <= round(transport.peak_clients * 1.1)
    crowded = traffic_model(TRANSPORTE, 1000, (0.5, 0.5, 0.0), clients_factor=4.0)
    normal = traffic_model(TRANSPORTE, 1000, (0.5, 0.5, 0.0))
    clock = Clock.starting(T0, start_hour=18.0)
    assert crowded.clients(clock, T0, 4.0) == pytest.approx(4 * normal.clients(clock, T0), abs=2)


@pytest.mark.parametrize("link_mbps", [10, 100, 1000])
def test_peak_traffic_never_exceeds_90_percent_of_the_link(link_mbps: int) -> None:
    capped = 0
    for program in (TRANSPORTE, "Escuelas", "Aeropuerto", "Pilares", "Unidades Habitacionales", "Poste C5"):
        for draw in DRAWS:
            for factor in (1.0, 4.0):
                model = traffic_model(program, link_mbps, draw, clients_factor=factor)
                limit = PEAK_LINK_SHARE * link_mbps * 1e6
                assert model.bytes_per_s_at_peak * 8 <= limit * (1 + 1e-12)
                capped += model.bytes_per_s_at_peak * 8 == pytest.approx(limit)
                clock = Clock.starting(T0, start_hour=0.0)
                busiest = max(sum(model.octets(clock, T0 + s, T0 + s + 1)) * 8 for s in range(0, 86_400, 450))
                assert busiest <= limit + 16  # bits of integer rounding
    if link_mbps <= 100:
        assert capped > 0  # the cap is what limits busy APs on a slow uplink
