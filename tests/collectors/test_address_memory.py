"""Per-address memory is sized for ten cities in one process (issue 19: memory linear in APs up to 353,500)."""

from __future__ import annotations

from hotspotctl.collectors.udp import ADDRESSES_MAX, Resolver, RttEstimator

TEN_CITIES = 10 * 35_350


def test_rtt_estimates_of_ten_cities_are_kept_not_dropped_within_a_cycle() -> None:
    """Before: the estimator (and the parsed addresses, the literals) started over at 131,072 addresses, so at
    353,500 APs every AP's estimate was dropped several times a cycle and each was tried at the initial timeout."""
    assert ADDRESSES_MAX >= 2 * TEN_CITIES
    estimator = RttEstimator(1.0, 0.1, 5.0)
    assert estimator.max_entries == ADDRESSES_MAX
    estimator.sample(("10.0.0.1", 161), 0.02)
    assert estimator.timeout(("10.0.0.1", 161)) < 1.0  # measured, not the initial 1 s


def test_an_inventory_churning_past_the_cap_starts_over_rather_than_grows() -> None:
    estimator = RttEstimator(1.0, 0.1, 5.0, max_entries=3)
    for n in range(3):
        estimator.sample((f"10.0.0.{n}", 161), 0.02)
    assert estimator.smoothed(("10.0.0.0", 161)) == 0.02
    estimator.sample(("10.0.0.9", 161), 0.03)  # the fourth: start over
    assert estimator.smoothed(("10.0.0.0", 161)) is None and estimator.smoothed(("10.0.0.9", 161)) == 0.03
    resolver = Resolver()
    assert resolver.literal("10.0.0.1", 161) == ("10.0.0.1", 161)


def test_rtt_estimates_follow_rfc_6298_and_stay_within_their_bounds() -> None:
    """SRTT and RTTVAR as RFC 6298 section 2 sets them (alpha 1/8, beta 1/4), RTO = SRTT + max(G, 4 RTTVAR) clamped
    to [floor, ceiling]; each address alone, kept in the estimator's columns (no float objects per address)."""
    estimator = RttEstimator(1.0, 0.1, 0.5)
    a, b = ("10.0.0.1", 161), ("10.0.0.2", 161)
    assert estimator.timeout(a) == 1.0 and estimator.smoothed(a) is None  # never measured: the initial timeout
    estimator.sample(a, 0.04)  # first: SRTT = R, RTTVAR = R/2, RTO = 0.04 + 4 * 0.02 = 0.12
    assert estimator.smoothed(a) == 0.04 and abs(estimator.timeout(a) - 0.12) < 1e-12
    estimator.sample(a, 0.08)  # RTTVAR = 3/4 * 0.02 + 1/4 * |0.04 - 0.08| = 0.025; SRTT = 7/8 * 0.04 + 1/8 * 0.08
    assert abs(estimator.smoothed(a) - 0.045) < 1e-12
    assert abs(estimator.timeout(a) - (0.045 + 4 * 0.025)) < 1e-12
    estimator.sample(b, 0.001)  # 0.001 + 4 * 0.0005 = 0.003: the floor
    assert estimator.timeout(b) == 0.1 and abs(estimator.smoothed(a) - 0.045) < 1e-12
    estimator.sample(b, 2.0)  # the ceiling
    assert estimator.timeout(b) == 0.5
    assert estimator.slots == {a: 0, b: 1} and len(estimator.srtt) == len(estimator.rto) == 2
    slots, rto = estimator.slots, estimator.rto
    estimator.forget()  # in place: a transport holds the same dict and array
    assert slots == {} and len(rto) == 0 and estimator.timeout(a) == 1.0
