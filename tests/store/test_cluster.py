"""shard_cycles (store/cluster.py): one claim per shard and slot, finished rows, the newest per shard; both backends."""

from __future__ import annotations

import pytest

from hotspotctl.store import Store
from hotspotctl.store.cluster import (
    DONE,
    FAILED,
    RUNNING,
    ShardCycle,
    claim_shard,
    district_sums,
    finish_shard,
    last_shard_cycles,
    prune_shard_cycles,
    shard_cycles_of_slot,
)

SLOT = 1_764_914_400.0


def done(shard: int, slot: float, worker: str, **values: object) -> ShardCycle:
    return ShardCycle(shard=shard, slot=slot, worker=worker, state=DONE, started_at=slot + 1, duration_s=2.5,
                      **values)  # type: ignore[arg-type]


def test_a_second_claim_of_a_shard_in_a_slot_is_refused_and_spoils_nothing(store: Store):
    with store.write() as conn:
        assert claim_shard(conn, 3, SLOT, "w1", SLOT + 0.5)
    with store.write() as conn:
        assert not claim_shard(conn, 3, SLOT, "w2", SLOT + 0.7)  # another worker: refused
        assert not claim_shard(conn, 3, SLOT, "w1", SLOT + 0.8)  # the same one again: refused too
        # the transaction is still usable after a refused claim (PostgreSQL aborts one on a failed INSERT)
        assert claim_shard(conn, 4, SLOT, "w2", SLOT + 0.9)
        assert claim_shard(conn, 3, SLOT + 60, "w2", SLOT + 60.2)
    with store.read() as conn:
        rows = shard_cycles_of_slot(conn, SLOT)
    assert [(c.shard, c.worker, c.state, c.started_at, c.finished_at) for c in rows] == [
        (3, "w1", RUNNING, SLOT + 0.5, None), (4, "w2", RUNNING, SLOT + 0.9, None)]


def test_a_finished_row_keeps_its_figures_and_tallies(store: Store):
    districts = {"Tlalpan": {"aps": 20, "up": 18, "down": 2, "in_bps": 1234.5},
                 "Iztapalapa": {"aps": 20, "up": 20, "down": 0, "in_bps": 0.25}}
    with store.write() as conn:
        assert claim_shard(conn, 7, SLOT, "w1", SLOT + 1)
        finish_shard(conn, done(7, SLOT, "w1", cpu_s=0.75, aps=40, ok=38, failed=0, timed_out=2, skipped=0,
                                points=123, reloaded=True, districts=districts))
    with store.read() as conn:
        (row,) = shard_cycles_of_slot(conn, SLOT)
    assert row == done(7, SLOT, "w1", cpu_s=0.75, aps=40, ok=38, failed=0, timed_out=2, skipped=0, points=123,
                       reloaded=True, districts=districts, finished_at=SLOT + 3.5)
    assert row.to_json()["districts"] == districts
    # a row is finished by its claimant only, and only as done or failed
    with store.write() as conn, pytest.raises(ValueError, match="not claimed by w2"):
        finish_shard(conn, done(7, SLOT, "w2"))
    with store.write() as conn, pytest.raises(ValueError, match="done or failed"):
        finish_shard(conn, ShardCycle(7, SLOT, "w1", RUNNING, SLOT))


def test_the_newest_row_per_shard_by_state_and_before_a_slot(store: Store):
    with store.write() as conn:
        for shard, slot, worker, state in [(1, SLOT, "w1", DONE), (1, SLOT + 60, "w2", DONE),
                                           (1, SLOT + 120, "w1", None), (2, SLOT, "w2", FAILED)]:
            assert claim_shard(conn, shard, slot, worker, slot)
            if state == DONE:
                finish_shard(conn, done(shard, slot, worker))
            elif state == FAILED:
                finish_shard(conn, ShardCycle(shard, slot, worker, FAILED, slot, error="boom"))
    with store.read() as conn:
        newest = last_shard_cycles(conn)
        assert {s: (c.slot, c.worker, c.state) for s, c in newest.items()} == {
            1: (SLOT + 120, "w1", RUNNING), 2: (SLOT, "w2", FAILED)}
        assert newest[2].error == "boom"
        finished = last_shard_cycles(conn, states=(DONE,))
        assert {s: (c.slot, c.worker) for s, c in finished.items()} == {1: (SLOT + 60, "w2")}
        assert {s: c.slot for s, c in last_shard_cycles(conn, states=(DONE,), before=SLOT + 60).items()} == {
            1: SLOT}
        assert last_shard_cycles(conn, shards=[2]).keys() == {2}


def test_pruning_keeps_each_shards_newest_finished_row(store: Store):
    with store.write() as conn:
        for k in range(5):
            assert claim_shard(conn, 1, SLOT + 60 * k, "w1", SLOT + 60 * k)
            finish_shard(conn, done(1, SLOT + 60 * k, "w1"))
        assert claim_shard(conn, 2, SLOT, "w1", SLOT)
        finish_shard(conn, done(2, SLOT, "w1"))  # the only row of shard 2: kept, however old
        assert claim_shard(conn, 3, SLOT, "w1", SLOT)  # running for ever (its worker died): pruned
    with store.write() as conn:
        assert prune_shard_cycles(conn, SLOT + 60 * 10) == 5
    with store.read() as conn:
        assert {s: c.slot for s, c in last_shard_cycles(conn).items()} == {1: SLOT + 240, 2: SLOT}
        assert len(shard_cycles_of_slot(conn, SLOT)) == 1


def test_district_sums_add_every_figure():
    rows = [done(1, SLOT, "w1", districts={"A": {"aps": 2, "in_bps": 1.5}, "B": {"aps": 1}}),
            done(2, SLOT, "w2", districts={"A": {"aps": 3, "in_bps": 2.0}})]
    assert district_sums(rows) == {"A": {"aps": 5, "in_bps": 3.5}, "B": {"aps": 1}}
