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
