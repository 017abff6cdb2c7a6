"""Shards polled by two workers in turn (scheduling/shardrun.py), on PostgreSQL and the simulator.

Two ShardPollers ("w1", "w2", each its own spool) in one process stand for two worker processes: w1 polls
every shard for a few slots (an AP goes down, its outage opens), then w2 takes the shards over. w2 loads
each shard's state from the store, so its first rates span w1's last samples (their own times, never the
slots); a claim of a slot already polled does nothing; every point of a shard's cycle is stamped at the
slot; w2 closes the outage w1 opened when the AP is back; the slot's conclusion sums the shards' district
tallies to exactly the one-box rollup of the same outcomes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.evaluate.rollup import rollup
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.scheduling.service import encode_cycle
from hotspotctl.scheduling.shardrun import Claim, ShardPoller, conclude_slot, send_slot_noc, workers_cpu_since
from hotspotctl.scheduling.shards import cycle_slot, split_fleet
from hotspotctl.settings import Settings, load_settings
from hotspotctl.simulate.scenario import load_scenario
from hotspotctl.simulate.simulator import Simulator, assign_addresses, plan_simulation
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.lineproto import ApLines
from hotspotctl.sinks.spool import Spool
from hotspotctl.store import Store
from hotspotctl.store.cluster import DONE, SKIPPED, ShardCycle, finish_shard, shard_cycles_of_slot
from hotspotctl.store.inventory import inventory_version
from hotspotctl.store.outages import list_outages, load_availability
from hotspotctl.store.polling import load_states
from tests.delivery.test_noc import receiver  # noqa: F401 - the webhook receiver fixture
from tests.servers import PostgresServer, free_udp_port
from tests.spooled import spooled_batches

APS = 24
SHARDS = 4
DEAD = "SHD-005"
INTERVAL = 60.0


def _inventory(path: Path) -> Path:
    rows = ["id,lat,lon,district,program"]
    for i in range(APS):  # one AP per site (100 m apart), two districts
        rows.append(f"SHD-{i:03d},{19.30 + i * 0.001:.5f},{-99.10 - (i % 5) * 0.002:.5f},"
                    f"{'Iztapalapa' if i % 2 else 'Tlalpan'},{'MiCalle' if i % 3 else 'Escuelas'}")
    path.write_text("\n".join(rows) + "\n")
    return path


def parse(text: str) -> tuple[str, dict[str, str], dict[str, Any], int]:
    """A line of our own line protocol (no escaped characters in these tests' names)."""
    head, fields, stamp = text.rsplit(" ", 2)
    measurement, *tags = head.split(",")
    values: dict[str, Any] = {}
    for pair in fields.split(","):
        key, value = pair.split("=", 1)
        values[key] = int(value[:-1]) if value.endswith("i") else value.strip('"') if value.startswith('"') else (
            float(value))
    return measurement, dict(tag.split("=", 1) for tag in tags), values, int(stamp)


def batches(spool_dir: Path) -> list[list[tuple[str, dict[str, str], dict[str, Any], int]]]:
    """Every spool batch, oldest first, as parsed lines."""
    return [[parse(line) for line in batch] for batch in spooled_batches(spool_dir)]


def availability(conn: Any) -> tuple[int, int]:
    """The AP-cycles in the hourly availability so far: (samples, up)."""
    rows = load_availability(conn, 0.0)
    return sum(r["samples"] for r in rows), sum(r["up"] for r in rows)


def check_rates(rates: dict[str, float], before: dict[str, Any], after: dict[str, Any]) -> None:
    """Each rate is the counters' advance between the two stored samples over their own seconds apart."""
    for ap_id, in_bps in rates.items():
        old, new = before[ap_id].counters, after[ap_id].counters
        assert old is not None and new is not None
        elapsed = new.mono - old.mono if new.clock == old.clock and new.mono is not None else new.at - old.at
        assert 0 < elapsed < INTERVAL / 2  # the samples' seconds apart, not the slots' minute
        # written to the bit per second (docs/decisions/figures-at-their-resolution.md)
        assert in_bps == int(in_bps)
        assert in_bps == pytest.approx((new.in_octets - old.in_octets) * 8 / elapsed, abs=0.5)


class Cluster:
    def __init__(self, tmp_path: Path, postgres: PostgresServer) -> None:
        url = postgres.create_database(f"shards_{time.time_ns()}")
        settings: Settings = load_settings(flags={"data_dir": ("--data-dir", str(tmp_path / "var"))}).settings
        self.settings = replace(
            settings, database_url=url, ping=replace(settings.ping, enabled=False),
            snmp=replace(settings.snmp, timeout_s=0.3, retries=1, deadline_s=1.0, down_backoff_max_s=0.2))
        self.store = Store.open(url)
        import_inventory(self.store, _inventory(tmp_path / "aps.csv"), self.settings.inventory)
        self.zones = CrewZones.from_settings(self.settings.crew_zones)
        self.fleet = Fleet.load(self.store, self.zones)
        self.port = free_udp_port()
        self.t0 = time.time()
        (tmp_path / "scenario.yaml").write_text(f"name: one-down\nfaults:\n  - kind: down\n    select: {{ap: [{DEAD}]}}\n")
        self.scenario = load_scenario(tmp_path / "scenario.yaml")
        self.spools = {name: tmp_path / "var" / "spool" / name for name in ("w1", "w2", "leader")}
        self.sinks = {name: InfluxSink(self.settings.influx, Spool(path)) for name, path in self.spools.items()}

    def simulator(self, faulty: bool) -> Simulator:
        aps = sorted(self.fleet.aps.values(), key=lambda ap: ap.id)
        plan = plan_simulation(self.fleet, aps, seed=7, scenario=self.scenario if faulty else None,
                               community=b"public", v3_fraction=0.0, port=self.port, now=self.t0)
        assign_addresses(self.store, plan, v2c_auth="default", v3_auth="sim-v3")
        return Simulator(plan.fleet, plan.clock, port=self.port, processes=1)

    def worker(self, name: str, poller: Poller) -> ShardPoller:
        return ShardPoller(self.store, self.settings, load_profiles([]), self.zones, self.sinks[name], poller,
                           worker=name, shards=SHARDS)

    def close(self) -> None:
        for sink in self.sinks.values():
            sink.close()
        self.store.close()


@pytest.fixture
def cluster(tmp_path: Path, postgres: PostgresServer):
    built = Cluster(tmp_path, postgres)
    try:
        yield built
    finally:
        built.close()


def test_two_workers_take_turns_on_the_shards_with_rates_outages_and_the_rollup_right(cluster: Cluster) -> None:
    shards = sorted(split_fleet(list(cluster.fleet.aps.values()), SHARDS))
    assert shards == list(range(SHARDS))  # 24 one-AP sites: every shard has APs
    slot = cycle_slot(time.time(), INTERVAL)
    slots = [slot + k * INTERVAL for k in range(10)]

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        with cluster.simulator(faulty=True), Poller(cluster.settings.snmp, load_profiles([])) as poller:
            w1, w2 = cluster.worker("w1", poller), cluster.worker("w2", poller)
            # w1 polls every shard for three slots: the dead AP misses down_after=2 cycles, its outage opens
            for k in range(3):
                rows = [await w1.poll_shard(shard, slots[k]) for shard in shards]
                assert [r.state for r in rows] == [DONE] * SHARDS
                assert [r.reloaded for r in rows] == [k == 0] * SHARDS  # loaded once, then its own memory
                await asyncio.sleep(0.25)  # the dead AP's back-off (down_backoff_max_s) runs out
            with cluster.store.read() as conn:
                seen["opened"] = list_outages(conn, open_only=True)
                seen["before"] = load_states(conn, sorted(cluster.fleet.aps))
                seen["availability_before"] = availability(conn)
            w1_batches = len(batches(cluster.spools["w1"]))
            # w2 takes over in slot 3: every shard's state comes from the store
            seen["w2"] = [await w2.poll_shard(shard, slots[3]) for shard in shards]
            with cluster.store.read() as conn:
                seen["after"] = load_states(conn, sorted(cluster.fleet.aps))
                seen["availability_after"] = availability(conn)
            seen["outcomes"] = [o for shard in shards for o in w2.runners[shard].last_report.outcomes]
            seen["targets"] = {k: v for shard in shards for k, v in w2.runners[shard].targets.items()}
            seen["healths"] = {k: v for shard in shards for k, v in w2.runners[shard].evaluator.healths.items()}
            seen["zones"] = {k: v for shard in shards for k, v in w2.runners[shard].zones.items()}
            # a second claim of slot 3 (w1 late, or w2's task delivered twice) does nothing and writes nothing
            again = [await w1.poll_shard(shards[0], slots[3]), await w2.poll_shard(shards[1], slots[3])]
            assert [r.state for r in again] == [SKIPPED, SKIPPED]
            assert (w1.refused, w2.refused) == (1, 1)
            assert len(batches(cluster.spools["w1"])) == w1_batches
            assert len(batches(cluster.spools["w2"])) == SHARDS
            # the leader concludes slot 3 (the outage still open)
            seen["summary"] = conclude_slot(cluster.store, cluster.settings, cluster.sinks["leader"], slots[3],
                                            leader="leader-1", workers=["w1", "w2"], expected=shards)
        # the AP is back: w2 closes the outage w1 opened (up_after=2 good cycles)
        with cluster.simulator(faulty=False), Poller(cluster.settings.snmp, load_profiles([])) as poller:
            w2.poller = poller
            for runner in w2.runners.values():
                runner.poller = poller
            for k in range(4, 8):
                rows = [await w2.poll_shard(shard, slots[k]) for shard in shards]
                assert [(r.state, r.reloaded) for r in rows] == [(DONE, False)] * SHARDS
                with cluster.store.read() as conn:
                    if not list_outages(conn, open_only=True):
                        seen["closed_in"] = k
                        break
                await asyncio.sleep(0.25)
            # and back to w1, whose memory of every shard is now stale: it loads the shards again
            back = seen["closed_in"] + 1
            w1.poller = poller
            for runner in w1.runners.values():
                runner.poller = poller
            with cluster.store.read() as conn:
                seen["before_back"] = load_states(conn, sorted(cluster.fleet.aps))
            w1_batches = len(batches(cluster.spools["w1"]))
            seen["back"] = [await w1.poll_shard(shard, slots[back]) for shard in shards]
            seen["back_batches"] = batches(cluster.spools["w1"])[w1_batches:]
            with cluster.store.read() as conn:
                seen["after_back"] = load_states(conn, sorted(cluster.fleet.aps))
            seen["again"] = [await w1.poll_shard(shard, slots[back] + INTERVAL) for shard in shards]
        return seen

    seen = asyncio.run(scenario())

    # w1 opened the dead AP's outage
    (outage,) = seen["opened"]
    assert outage.aps == (DEAD,) or list(outage.aps) == [DEAD]

    # each shard's evaluation added its own APs to the hour's availability (read, added, written under the
    # store's lock): the slot added every AP once, the dead one as a sample not up
    before, after = seen["availability_before"], seen["availability_after"]
    assert (after[0] - before[0], after[1] - before[1]) == (APS, APS - 1)

    # w2 reloaded every shard, and its first rates span w1's last samples at their own times
    assert [(r.worker, r.state, r.reloaded) for r in seen["w2"]] == [("w2", DONE, True)] * SHARDS
    w2_all = batches(cluster.spools["w2"])
    assert len(w2_all) == SHARDS * (seen["closed_in"] - 2)  # slot 3, then 4 .. closed_in
    for n, batch in enumerate(w2_all[SHARDS:]):
        assert {stamp for *_, stamp in batch} == {int(slots[4 + n // SHARDS])}
    w2_batches = w2_all[:SHARDS]
    rates = {}
    for batch in w2_batches:
        assert {stamp for *_, stamp in batch} == {int(slots[3])}  # every point at the slot
        measurements = {m for m, *_ in batch}
        assert "fleet_rollup" not in measurements and "outages" not in measurements  # the conclusion's
        (cycle,) = [(tags, fields) for m, tags, fields, _ in batch if m == "poller_cycle"]
        assert cycle[0]["host"] == "w2" and int(cycle[0]["shard"]) in shards
        assert cycle[1]["points"] == len(batch)
        rates.update({tags["ap"]: fields["in_bps"] for m, tags, fields, _ in batch
                      if m == "ap_traffic" and "in_bps" in fields})
    assert set(rates) == set(cluster.fleet.aps) - {DEAD}  # no first_sample: w1's counters were taken over
    check_rates(rates, seen["before"], seen["after"])

    # back on w1: its memory was stale (w2 polled since), so it loaded every shard again, and its rates span
    # w2's last samples; the slot after, its memory is current again
    assert [(r.worker, r.state, r.reloaded) for r in seen["back"]] == [("w1", DONE, True)] * SHARDS
    assert [(r.state, r.reloaded) for r in seen["again"]] == [(DONE, False)] * SHARDS
    back_rates = {tags["ap"]: fields["in_bps"] for batch in seen["back_batches"] for m, tags, fields, _ in batch
                  if m == "ap_traffic" and "in_bps" in fields}
    assert set(back_rates) == set(cluster.fleet.aps)
    check_rates(back_rates, seen["before_back"], seen["after_back"])

    # w2 closed the outage w1 opened
    assert 5 <= seen["closed_in"] <= 7
    with cluster.store.read() as conn:
        (closed,) = [o for o in list_outages(conn) if o.id == outage.id]
    assert closed.closed_at is not None and closed.closed_at > outage.opened_at

    # the slot's conclusion: fleet_rollup summed over the shards' rows = the one-box rollup of the outcomes
    summary = seen["summary"]
    (lines,) = batches(cluster.spools["leader"])
    assert {stamp for *_, stamp in lines} == {int(slots[3])}
    concluded = {tags["district"]: fields for m, tags, fields, _ in lines if m == "fleet_rollup"}
    onebox = [parse(line) for line in encode_cycle(ApLines(), seen["outcomes"], slots[3], rollup(
        seen["outcomes"], targets=seen["targets"], healths=seen["healths"]), seen["zones"], seen["targets"],
        seen["healths"]) if line.startswith("fleet_rollup")]
    expected = {tags["district"]: fields for _, tags, fields, _ in onebox}
    assert set(concluded) == set(expected) == {"Iztapalapa", "Tlalpan"}
    for district, fields in expected.items():
        assert concluded[district].keys() == fields.keys()
        for name, value in fields.items():
            assert concluded[district][name] == pytest.approx(value, rel=1e-12), (district, name)
            assert type(concluded[district][name]) is type(value)
    assert sum(f["aps"] for f in concluded.values()) == APS
    assert sum(f["down"] for f in concluded.values()) == 1
    (cluster_point,) = [(tags, fields) for m, tags, fields, _ in lines if m == "poller_cluster"]
    assert cluster_point[0] == {"host": "leader-1"}
    assert cluster_point[1] | {"lag_s": 0} == {
        "shards": SHARDS, "shards_reported": SHARDS, "shards_missing": 0, "shards_failed": 0, "aps": APS,
        "ok": APS - 1, "failed": summary.failed, "timed_out": summary.timed_out, "skipped": summary.skipped,
        "workers": 2, "lag_s": 0, "outages_open": 1, "points": len(lines), "redis_failures": 0,
        "workers_redis_failures": 0}
    assert summary.failed + summary.timed_out + summary.skipped == 1
    (outage_point,) = [(tags, fields) for m, tags, fields, _ in lines if m == "outages"]
    assert outage_point[0]["cause"] == outage.cause and outage_point[1] == {"open": 1}
    with cluster.store.read() as conn:
        rows = shard_cycles_of_slot(conn, slots[3])
    assert [(r.shard, r.worker, r.state, r.reloaded) for r in rows] == [(s, "w2", DONE, True) for s in shards]


def test_the_slots_noc_notices_come_from_the_store_not_one_shards_memory(sqlite_store: Store,
                                                                         receiver: Any) -> None:  # noqa: F811
    from tests.delivery.conftest import NOW
    from tests.delivery.test_noc import add_site, close_outage, noc_settings, open_outage

    hook = receiver()
    settings = noc_settings(webhook_url=hook.url + "/api/v2/alerts")
    assert send_slot_noc(sqlite_store, replace(settings, noc=replace(settings.noc, webhook_url="")), NOW) is None
    add_site(sqlite_store, "PILARES_SL", "PILARES San Lorenzo")
    outage = open_outage(sqlite_store, "PILARES_SL", "Iztapalapa", ("AP-1", "AP-2"))  # saved by some shard's cycle
    fired = send_slot_noc(sqlite_store, settings, NOW)
    assert [(s.channel, s.action, s.alertname, s.ok) for s in fired.sent] == [
        ("webhook", "firing", "HotspotSiteOutage", True)]
    assert send_slot_noc(sqlite_store, settings, NOW + 60).sent == ()  # the next slot: nothing new
    close_outage(sqlite_store, outage, NOW + 120)
    resolved = send_slot_noc(sqlite_store, settings, NOW + 180)
    assert [(s.action, s.alertname) for s in resolved.sent] == [("resolved", "HotspotSiteOutage")]
    assert len(hook.requests) == 2


def test_the_conclusion_counts_shards_missing_failed_and_dead_and_sums_only_what_reported(
        store: Store, tmp_path: Path) -> None:
    from hotspotctl.store.cluster import FAILED, claim_shard

    slot = 1_795_334_400.0
    tlalpan = {"aps": 10, "up": 9, "down": 1, "unmonitored": 0, "misconfigured": 0, "unknown": 0,
               "below_target": 2, "meeting_target": 5, "clients": 31, "in_bps": 1.5e6, "out_bps": 2.25e5}
    with store.write() as conn:
        for shard in (0, 1, 2, 5):
            assert claim_shard(conn, shard, slot, "w1" if shard < 2 else "w2", slot + 1)
        finish_shard(conn, ShardCycle(0, slot, "w1", DONE, slot + 1, duration_s=4.0, aps=10, ok=9, timed_out=1,
                                      districts={"Tlalpan": tlalpan}, finished_at=slot + 5))
        finish_shard(conn, ShardCycle(1, slot, "w1", FAILED, slot + 1, error="StoreError: gone", finished_at=slot + 2))
        finish_shard(conn, ShardCycle(5, slot, "w2", DONE, slot + 1, duration_s=11.0, aps=4, ok=4,
                                      districts={"Tlalpan": {**tlalpan, "aps": 4, "up": 4, "down": 0},
                                                 "Coyoacán": {"aps": 0}}, finished_at=slot + 12))
        # shard 2: claimed by w2, which died (running for ever); shard 3: never claimed
        for days in (3, 2):  # rows older than a day go in the first slot of each hour, but each shard's newest
            assert claim_shard(conn, 9, slot - days * 86_400, "w1", slot - days * 86_400)
            finish_shard(conn, ShardCycle(9, slot - days * 86_400, "w1", DONE, slot - days * 86_400))
    spool = tmp_path / "leader"
    sink = InfluxSink(Settings().influx, Spool(spool))
    summary = conclude_slot(store, Settings(), sink, slot, leader="L", workers=["w1", "w2", "w2"],
                            expected=[0, 1, 2, 3, 5], now=slot + 30, redis_failures=3, workers_redis_failures=7,
                            workers_cpu_s=12.75)
    sink.close()
    assert (summary.shards_expected, summary.shards_reported, summary.shards_failed, summary.shards_missing) == (
        5, 2, 1, [1, 2, 3])
    assert (summary.aps, summary.ok, summary.timed_out, summary.workers, summary.lag_s) == (14, 13, 1, 2, 12.0)
    assert summary.pruned == 1 and slot % 3600 == 0
    with store.read() as conn:
        assert [(r.shard, r.slot) for r in shard_cycles_of_slot(conn, slot - 2 * 86_400)] == [(9, slot - 2 * 86_400)]
        assert shard_cycles_of_slot(conn, slot - 3 * 86_400) == []
    (lines,) = batches(spool)
    rollups = {tags["district"]: fields for m, tags, fields, _ in lines if m == "fleet_rollup"}
    assert rollups == {
        "Tlalpan": {"aps": 14, "up": 13, "down": 1, "unmonitored": 0, "misconfigured": 0, "below_target": 4,
                    "clients": 62, "in_bps": 3e6, "out_bps": 4.5e5},
        "Coyoacán": {"aps": 0, "up": 0, "down": 0, "unmonitored": 0, "misconfigured": 0, "below_target": 0,
                     "clients": 0, "in_bps": 0.0, "out_bps": 0.0}}
    (point,) = [fields for m, _, fields, _ in lines if m == "poller_cluster"]
    assert point == {"shards": 5, "shards_reported": 2, "shards_missing": 3, "shards_failed": 1, "aps": 14, "ok": 13,
                     "failed": 0, "timed_out": 1, "skipped": 0, "workers": 2, "lag_s": 12.0, "outages_open": 0,
                     "points": len(lines), "redis_failures": 3, "workers_redis_failures": 7, "workers_cpu_s": 12.75}
    assert (summary.redis_failures, summary.workers_redis_failures, summary.workers_cpu_s) == (3, 7, 12.75)
    assert {stamp for *_, stamp in lines} == {int(slot)}


def test_the_workers_cpu_is_each_one_that_beat_at_both_conclusions_as_the_same_process() -> None:
    spent, kept = workers_cpu_since({}, {"w1": {"pid": 1, "started": 5.0, "cpu_s": 2.0},
                                         "old": {"pid": 2}})  # a worker whose heartbeat has no cpu_s: not measured
    assert spent is None and kept == {"w1": (1, 5.0, 2.0)}
    spent, kept = workers_cpu_since(kept, {"w1": {"pid": 1, "started": 5.0, "cpu_s": 2.625},
                                           "w2": {"pid": 3, "started": 6.0, "cpu_s": 9.0},
                                           "old": {"pid": 2, "cpu_s": True}})
    assert spent == 0.625 and kept == {"w1": (1, 5.0, 2.625), "w2": (3, 6.0, 9.0)}
    spent, kept = workers_cpu_since(kept, {"w1": {"pid": 7, "started": 8.0, "cpu_s": 0.5},  # restarted
                                           "w2": {"pid": 3, "started": 6.0, "cpu_s": 9.25}})
    assert spent == 0.25 and kept["w1"] == (7, 8.0, 0.5)


def test_the_shards_follow_the_inventory(cluster: Cluster, tmp_path: Path) -> None:
    slot = cycle_slot(time.time(), INTERVAL)
    before = split_fleet(list(cluster.fleet.aps.values()), SHARDS)
    shard_of_ap = {ap.id: shard for shard, aps in before.items() for ap in aps}

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        with cluster.simulator(faulty=True), Poller(cluster.settings.snmp, load_profiles([])) as poller:
            w1 = cluster.worker("w1", poller)
            for k in range(3):  # the dead AP's outage opens
                assert [r.state for r in [await w1.poll_shard(s, slot + k * INTERVAL) for s in range(SHARDS)]] == [
                    DONE] * SHARDS
                await asyncio.sleep(0.25)
            with cluster.store.read() as conn:
                seen["opened"] = list_outages(conn, open_only=True)
            # the dead AP leaves the inventory, a new one (no address yet) joins it
            rows = ["id,lat,lon,district,program"] + [
                f"{ap.id},{ap.lat},{ap.lon},{ap.district},{ap.program}" for ap in cluster.fleet.aps.values()
                if ap.id != DEAD] + ["SHD-100,19.39000,-99.15000,Tlalpan,MiCalle"]
            (tmp_path / "next.csv").write_text("\n".join(rows) + "\n")
            report = import_inventory(cluster.store, tmp_path / "next.csv", cluster.settings.inventory, merge=True,
                                      prune=True)
            assert (report.added, report.removed) == (["SHD-100"], [DEAD])
            seen["rows"] = {s: await w1.poll_shard(s, slot + 3 * INTERVAL) for s in range(SHARDS)}
            seen["outcomes"] = {o.ap.id: (s, o) for s in range(SHARDS) for o in w1.runners[s].last_report.outcomes}
            with cluster.store.read() as conn:
                seen["open"] = list_outages(conn, open_only=True)
        return seen

    seen = asyncio.run(scenario())
    (outage,) = seen["opened"]
    assert DEAD in outage.aps
    assert seen["open"] == []  # its site left the inventory: its outage closed
    outcomes = seen["outcomes"]
    assert set(outcomes) == set(cluster.fleet.aps) - {DEAD} | {"SHD-100"}
    new_shard, new_outcome = outcomes["SHD-100"]
    assert new_outcome.error is not None and new_outcome.error.kind == "no_address"
    assert all(outcomes[ap_id][0] == shard_of_ap[ap_id] for ap_id in outcomes if ap_id != "SHD-100")
    changed = {shard_of_ap[DEAD], new_shard}
    assert {s: r.reloaded for s, r in seen["rows"].items()} == {s: s in changed for s in range(SHARDS)}
    assert sum(r.aps for r in seen["rows"].values()) == APS
    assert sum(r.ok for r in seen["rows"].values()) == APS - 1  # every AP but the new one (no address yet)


def test_a_shard_cycle_whose_spool_refuses_its_points_fails_its_row_and_leaves_the_store_as_it_was(
        cluster: Cluster) -> None:
    slot = cycle_slot(time.time(), INTERVAL)
    shard = 0
    ids = sorted(ap.id for ap in split_fleet(list(cluster.fleet.aps.values()), SHARDS)[shard])

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        with cluster.simulator(faulty=False), Poller(cluster.settings.snmp, load_profiles([])) as poller:
            w1 = cluster.worker("w1", poller)
            assert (await w1.poll_shard(shard, slot)).state == DONE
            assert (await w1.poll_shard(shard, slot + INTERVAL)).state == DONE
            with cluster.store.read() as conn:
                seen["before"] = load_states(conn, ids)
            spool = cluster.sinks["w1"].spool
            limit, spool.max_bytes = spool.max_bytes, 1  # the spool is full
            seen["failed"] = await w1.poll_shard(shard, slot + 2 * INTERVAL)
            spool.max_bytes = limit
            with cluster.store.read() as conn:
                seen["between"] = load_states(conn, ids)
            seen["next"] = await w1.poll_shard(shard, slot + 3 * INTERVAL)
            seen["rates"] = {o.ap.id: o.rate for o in w1.runners[shard].last_report.outcomes}
            with cluster.store.read() as conn:
                seen["after"] = load_states(conn, ids)
                seen["rows"] = [shard_cycles_of_slot(conn, slot + k * INTERVAL) for k in range(4)]
            seen["failures"] = w1.failed
        return seen

    seen = asyncio.run(scenario())
    failed = seen["failed"]
    assert failed.state == "failed" and failed.error is not None and failed.error.startswith("SpoolFullError")
    assert seen["failures"] == 1
    assert seen["between"] == seen["before"]  # write ahead: no point durable, nothing committed
    assert [[(r.state, r.reloaded) for r in rows] for rows in seen["rows"]] == [
        [("done", True)], [("done", False)], [("failed", False)], [("done", True)]]
    assert seen["rows"][2][0].error == failed.error
    # loaded again from the store: the next rates span both intervals, from the counters stored before the failure
    for ap_id, rate in seen["rates"].items():
        old, new = seen["before"][ap_id].counters, seen["after"][ap_id].counters
        assert rate is not None and rate.interval_s == pytest.approx(new.mono - old.mono, rel=1e-12)
        assert rate.in_bps == pytest.approx((new.in_octets - old.in_octets) * 8 / (new.mono - old.mono), rel=1e-9)


def test_a_shard_is_never_polled_twice_at_once_by_one_worker(cluster: Cluster) -> None:
    slot = cycle_slot(time.time(), INTERVAL)

    async def scenario() -> tuple[Any, ...]:
        with cluster.simulator(faulty=False), Poller(cluster.settings.snmp, load_profiles([])) as poller:
            w1 = cluster.worker("w1", poller)
            found = await w1.discover_shard(1)  # loads the shard's runner; no layout is old (none yet): none walked
            first, second = await asyncio.gather(w1.poll_shard(1, slot), w1.poll_shard(1, slot + INTERVAL))
            third = await w1.poll_shard(1, slot + INTERVAL)  # once the first is done, the next slot is fine
            return found, first, second, third, w1.overlapped, w1.busy

    found, first, second, third, overlapped, busy = asyncio.run(scenario())
    assert found == 0
    assert (first.state, first.reloaded) == (DONE, False)  # loaded by the discovery just before
    assert (second.state, second.error) == (SKIPPED, f"still polling slot {slot:.0f}")
    assert (third.state, third.reloaded, overlapped, busy) == (DONE, False, 1, {})
    with cluster.store.read() as conn:
        assert [(r.slot, r.state) for r in shard_cycles_of_slot(conn, slot + INTERVAL)] == [(slot + INTERVAL, DONE)]


def test_a_claim_does_not_wait_for_the_stores_write_lock_and_reads_the_staleness_check_with_it(
        cluster: Cluster) -> None:
    """The claim is an INSERT ... ON CONFLICT DO NOTHING, atomic on its own: it is made (and refused) while
    another worker's commit holds the store's write lock, and it brings the shard's newest done row and the
    inventory's version for the staleness check in the same transaction."""
    slot = cycle_slot(time.time(), INTERVAL)
    w1, w2 = cluster.worker("w1", None), cluster.worker("w2", None)  # type: ignore[arg-type]  # no polling here
    with cluster.store.read() as conn:
        version = inventory_version(conn)
    holding, release = threading.Event(), threading.Event()

    def commit_elsewhere() -> None:
        with cluster.store.write():
            holding.set()
            release.wait(30)

    other = threading.Thread(target=commit_elsewhere)
    other.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        first = w1._claim(3, slot, time.time())
        again = w2._claim(3, slot, time.time())
        waited = time.monotonic() - started
    finally:
        release.set()
        other.join()
    assert waited < 5  # the lock waits up to the store's lock timeout: the claims did not wait for it
    assert (first.claimed, first.last, first.inventory) == (True, None, version)
    assert (again.claimed, again.last, again.inventory) == (False, None, None)
    with cluster.store.write() as conn:
        finish_shard(conn, ShardCycle(shard=3, slot=slot, worker="w1", state=DONE, started_at=slot, finished_at=slot))
    later = w2._claim(3, slot + INTERVAL, time.time())
    assert later.claimed and later.last is not None
    assert (later.last.worker, later.last.slot, later.last.state) == ("w1", slot, DONE)


def test_a_worker_settles_its_heap_each_time_it_loads_a_shard_and_only_then(cluster: Cluster) -> None:
    """on_loaded (a worker process's service.settle_heap: freeze what the shard's state added) runs when a shard's
    runner is loaded from the store (new, or another worker polled it since), never when the runner is reused."""
    slot = cycle_slot(time.time(), INTERVAL)
    loaded: list[int] = []
    w1 = ShardPoller(cluster.store, cluster.settings, load_profiles([]), cluster.zones, cluster.sinks["w1"],
                     None, worker="w1", shards=SHARDS, on_loaded=lambda: loaded.append(1))  # type: ignore[arg-type]
    with cluster.store.read() as conn:
        version = inventory_version(conn)
    first, reloaded = w1._runner(1, slot, Claim(True, None, version))
    assert reloaded and loaded == [1]
    again, reloaded = w1._runner(1, slot + INTERVAL, Claim(True, None, version))
    assert again is first and not reloaded and loaded == [1]
    other = ShardCycle(shard=1, slot=slot + INTERVAL, worker="w2", state=DONE, started_at=slot, finished_at=slot)
    third, reloaded = w1._runner(1, slot + 2 * INTERVAL, Claim(True, other, version))
    assert third is not first and reloaded and loaded == [1, 1]
    other_shard, reloaded = w1._runner(2, slot, Claim(True, None, version))
    assert reloaded and loaded == [1, 1, 1] and w1.runners == {1: third, 2: other_shard}


def test_a_shard_cycle_reads_the_inventory_version_once_per_transaction(cluster: Cluster) -> None:
    """The claim, the cycle's start and the commit each read it once: the commit's check and its counter states'
    save share one read (CycleWrites.save(version=)), a statement less per shard, 64 a slot."""
    import sqlalchemy as sa

    slot = cycle_slot(time.time(), INTERVAL)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async def scenario() -> list[Any]:
        with cluster.simulator(faulty=False), Poller(cluster.settings.snmp, load_profiles([])) as poller:
            w1 = cluster.worker("w1", poller)
            first = await w1.poll_shard(2, slot)  # loads the runner and discovers: not counted
            sa.event.listen(cluster.store.engine, "before_cursor_execute", seen)
            try:
                second = await w1.poll_shard(2, slot + INTERVAL)
            finally:
                sa.event.remove(cluster.store.engine, "before_cursor_execute", seen)
            return [first, second]

    rows = asyncio.run(scenario())
    assert [r.state for r in rows] == [DONE, DONE] and rows[1].ok == rows[1].aps > 0
    assert sum("store_meta" in s and s.lstrip().upper().startswith("SELECT") for s in statements) == 3, statements
