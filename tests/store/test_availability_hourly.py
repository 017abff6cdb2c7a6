"""The hourly availability counts: each cycle (a shard's, in scale-out) adds its own groups to its hour."""

from __future__ import annotations

from hotspotctl.store import Store
from hotspotctl.store.outages import add_availability, load_availability

HOUR = 1_796_454_000.0


def test_cycles_add_their_groups_to_their_hour_and_leave_the_others_as_they_are(store: Store) -> None:
    with store.write() as conn:
        add_availability(conn, HOUR - 3600, {("Coyoacán", "Parques"): [5, 5, 0, 0, 5, 50]})
        add_availability(conn, HOUR, {("Coyoacán", "Parques"): [10, 9, 4, 3, 9, 120],
                                      ("Tlalpan", "Escuelas"): [2, 1, 0, 0]})  # four counts: counted, clients 0
    with store.write() as conn:  # another shard's cycle: one group in common, one new
        add_availability(conn, HOUR, {("Tlalpan", "Escuelas"): [3, 3, 1, 1, 3, 7],
                                      ("Iztapalapa", "Mercados"): [1, 0, 0, 0, 0, 0]})
        add_availability(conn, HOUR, {})
    with store.read() as conn:
        rows = {(r["hour"], r["district"], r["program"]): tuple(r[k] for k in (
            "samples", "up", "measured", "meeting", "counted", "clients")) for r in load_availability(conn, 0)}
    assert rows == {
        (HOUR - 3600, "Coyoacán", "Parques"): (5, 5, 0, 0, 5, 50),
        (HOUR, "Coyoacán", "Parques"): (10, 9, 4, 3, 9, 120),
        (HOUR, "Tlalpan", "Escuelas"): (5, 4, 1, 1, 3, 7),
        (HOUR, "Iztapalapa", "Mercados"): (1, 0, 0, 0, 0, 0),
    }
