"""The run and the NOC's hand actions: a cycle never undoes an acknowledgement, and an outage closed by hand
while its trouble persists is followed by a new one at the next cycle (not reopened)."""

from __future__ import annotations

from hotspotctl.store.outages import list_outages, update_outage
from tests.scheduling.test_evaluation import STEP, T0, answered, evaluator, failed
from tests.scheduling.test_evaluation import fleet as fleet


def test_an_ack_survives_a_cycle_that_changes_the_outages_aps(store, fleet):
    plaza = [fleet.aps[f"PLAZA-{i}"] for i in (1, 2, 3)]
    solo = fleet.aps["SOLO-1"]
    ev = evaluator(store, fleet)
    at = T0
    for _ in range(2):  # down_after = 2: PLAZA-1 is down, an outage opens
        ev.evaluate([failed(plaza[0], at, "timeout"), answered(plaza[1], at), answered(plaza[2], at),
                     answered(solo, at)], at)
        at += STEP
    with store.read() as conn:
        (outage,) = list_outages(conn, open_only=True)
    assert outage.aps_now == ("PLAZA-1",) and outage.id is not None
    with store.write() as conn:  # `outages ack` and `outages assign` while the run goes on
        update_outage(conn, outage.id, acked_at=at - 1, acked_by="ana", assigned_to="cuadrilla 3",
                      assigned_at=at - 1)
    for _ in range(2):  # PLAZA-2 goes down too: the outage's APs change
        result = ev.evaluate([failed(plaza[0], at, "timeout"), failed(plaza[1], at, "timeout"),
                              answered(plaza[2], at), answered(solo, at)], at)
        at += STEP
    assert [o.aps_now for o in result.ledger.changed] == [("PLAZA-1", "PLAZA-2")]
    assert [(o.acked_by, o.assigned_to) for o in result.ledger.changed] == [("ana", "cuadrilla 3")]
    with store.read() as conn:
        (stored,) = list_outages(conn, open_only=True)
    assert (stored.id, stored.aps_now, stored.aps) == (outage.id, ("PLAZA-1", "PLAZA-2"), ("PLAZA-1", "PLAZA-2"))
    assert (stored.acked_at, stored.acked_by, stored.assigned_to, stored.assigned_at) == (
        T0 + 2 * STEP - 1, "ana", "cuadrilla 3", T0 + 2 * STEP - 1)


def test_a_hand_close_while_the_ap_is_still_down_is_followed_by_a_new_outage(store, fleet):
    solo = fleet.aps["SOLO-1"]
    others = [fleet.aps[f"PLAZA-{i}"] for i in (1, 2, 3)]
    ev = evaluator(store, fleet)
    at = T0
    for _ in range(2):
        ev.evaluate([failed(solo, at, "timeout"), *(answered(ap, at) for ap in others)], at)
        at += STEP
    with store.read() as conn:
        (first,) = list_outages(conn, open_only=True)
    assert first.id is not None
    with store.write() as conn:  # `outages close` by hand; SOLO-1 still does not answer
        update_outage(conn, first.id, closed_at=at - 1, updated_at=at - 1, closed_by="ana", aps_now=[],
                      clients_now=0)
    result = ev.evaluate([failed(solo, at, "timeout"), *(answered(ap, at) for ap in others)], at)
    assert [o.aps_now for o in result.ledger.opened] == [("SOLO-1",)]
    assert result.ledger.changed == [] and result.ledger.closed == []
    with store.read() as conn:
        newest, closed = list_outages(conn)
    assert (closed.id, closed.closed_at, closed.closed_by) == (first.id, T0 + 2 * STEP - 1, "ana")
    assert newest.open and newest.id != first.id and newest.closed_by is None and newest.acked_at is None
