"""The fleet cut into shards (scheduling/shards.py): stable everywhere, even, controllers with their APs."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import pytest

from hotspotctl.evaluate.outages import controller_site
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.scheduling.shards import assign_shards, cycle_slot, shard_keys, shard_of, split_fleet
from hotspotctl.settings import InventorySettings
from hotspotctl.store import Store
from tests.conftest import CDMX_XLSX, REPO


def ap(ap_id: str, site: str, **values: object) -> AccessPoint:
    return AccessPoint(ap_id, 19.4, -99.1, site_id=site, **values)  # type: ignore[arg-type]


def test_shard_of_is_blake2b_of_the_key_and_the_same_in_another_process():
    keys = ["s-0001", "9g3w91x5xxe", "controller:WLC-1", "Pilares Ñuñoa", ""]
    here = [shard_of(key, 64) for key in keys]
    # a fresh interpreter with another hash seed: Python's hash() would differ, blake2b does not
    code = ("import sys; from hotspotctl.scheduling.shards import shard_of; "
            f"print([shard_of(k, 64) for k in {keys!r}])")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                           env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}).stdout.strip()
    assert there == str(here)
    # the contract's formula, computed here independently
    from hashlib import blake2b
    assert here == [int.from_bytes(blake2b(k.encode(), digest_size=8).digest(), "big") % 64 for k in keys]
    assert all(0 <= s < 64 for s in here)
    assert shard_of("s-0001", 1) == 0
    with pytest.raises(ValueError):
        shard_of("s-0001", 0)


def test_cycle_slot_is_the_start_of_the_interval():
    assert cycle_slot(1_700_000_059.9, 60) == 1_700_000_040.0
    assert isinstance(cycle_slot(1_700_000_059.9, 60), float)
    assert cycle_slot(1_700_000_040.0, 60) == 1_700_000_040.0  # a boundary is its own slot
    assert cycle_slot(1_700_000_041.0, 60) == cycle_slot(1_700_000_099.99, 60)
    assert cycle_slot(1_700_000_100.0, 60) == 1_700_000_100.0
    assert cycle_slot(95.0, 30) == 90.0
    with pytest.raises(ValueError):
        cycle_slot(1.0, 0)


def test_a_controller_and_its_managed_aps_share_a_key_and_pull_their_sites_along():
    aps = [
        ap("WLC-1", "", role="controller"),
        ap("M-1", "site-a", controller="WLC-1"), ap("M-2", "site-b", controller="WLC-1"),
        ap("D-1", "site-a"),  # polled directly, in a site with a managed AP: the site must not span shards
        ap("D-2", "site-c"),  # alone in its site
        ap("WLC-2", "", role="controller"),
        ap("N-1", "site-b", controller="WLC-2"),  # site-b joins WLC-1's group with WLC-2
        ap("WLC-3", "", role="controller"),
        ap("P-1", "site-d", controller="WLC-3"),
    ]
    keys = shard_keys(aps)
    group = controller_site("WLC-1")  # the smallest controller key of the chain
    assert {ap_id: keys[ap_id] for ap_id in ("WLC-1", "M-1", "M-2", "D-1", "WLC-2", "N-1")} == dict.fromkeys(
        ("WLC-1", "M-1", "M-2", "D-1", "WLC-2", "N-1"), group)
    assert keys["D-2"] == "site-c"
    assert keys["WLC-3"] == keys["P-1"] == controller_site("WLC-3")
    # the order of the fleet does not matter
    assert shard_keys(list(reversed(aps))) == keys
    # a managed AP without its controller in the selection keys the same way
    assert shard_keys([ap("P-1", "site-d", controller="WLC-3")]) == {"P-1": controller_site("WLC-3")}
    split = split_fleet(aps, 8)
    shard = shard_of(group, 8)
    assert {a.id for a in split[shard]} >= {"WLC-1", "M-1", "M-2", "D-1", "WLC-2", "N-1"}
    assert [a.id for a in split[shard_of("site-c", 8)] if a.id == "D-2"] == ["D-2"]
    assert sum(map(len, split.values())) == len(aps)


def test_assignment_is_rendezvous_hashing_stable_and_moves_only_a_dead_workers_shards():
    workers = ["w1", "w2", "w3"]
    three = assign_shards(64, workers)
    assert set(three) == set(range(64))
    assert three == assign_shards(64, ["w3", "w1", "w2", "w1"])  # order and duplicates do not matter
    from hashlib import blake2b

    def weight(shard: int, worker: str) -> int:
        return int.from_bytes(blake2b(f"{shard}:{worker}".encode(), digest_size=8).digest(), "big")

    assert three == {s: max(workers, key=lambda w: weight(s, w)) for s in range(64)}
    per_worker = Counter(three.values())
    assert set(per_worker) == set(workers) and min(per_worker.values()) >= 12  # each takes a fair part
    two = assign_shards(64, ["w1", "w3"])
    moved = {s for s in range(64) if two[s] != three[s]}
    assert moved == {s for s, w in three.items() if w == "w2"}  # only the dead worker's shards move
    assert {two[s] for s in moved} == {"w1", "w3"}  # spread over the others
    four = assign_shards(64, [*workers, "w4"])
    assert {s for s in range(64) if four[s] != three[s]} == {s for s, w in four.items() if w == "w4"}
    assert assign_shards(64, []) == {}


@pytest.fixture(scope="module")
def city_aps(tmp_path_factory: pytest.TempPathFactory) -> list[AccessPoint]:
    path = tmp_path_factory.mktemp("shards") / "hotspotctl.db"
    with Store.open(f"sqlite:///{path}") as store:
        import_inventory(store, CDMX_XLSX, InventorySettings(), now=datetime(2026, 11, 22, 6, 0, tzinfo=UTC))
        return list(Fleet.load(store, CrewZones({}, {})).aps.values())


def test_the_city_spreads_evenly_over_64_shards_with_whole_sites(city_aps: list[AccessPoint]):
    assert len(city_aps) == 35_350
    split = split_fleet(city_aps, 64)
    sizes = sorted(len(aps) for aps in split.values())
    assert len(sizes) == 64 and sum(sizes) == 35_350
    # a site is never cut, and the city has one site of 365 APs (a 537-AP shard becomes 902): the spread is
    # that site's, not the hash's; less each shard's largest site, the shards are within a third of each other
    largest = [max(Counter(a.site_id for a in aps).values()) for aps in split.values()]
    rest = sorted(len(aps) - big for aps, big in zip(split.values(), largest, strict=True))
    print(f"35,350 APs over 64 shards: min {sizes[0]}, median {sizes[32]}, max {sizes[-1]}, "
          f"max/min {sizes[-1] / sizes[0]:.2f}; less each shard's largest site: max/min {rest[-1] / rest[0]:.2f}")
    assert max(largest) == 365
    assert sizes[-1] / sizes[0] < 2.0
    assert rest[-1] / rest[0] < 1.35
    shard_of_site: dict[str, int] = {}
    for shard, aps in split.items():
        for a in aps:
            assert shard_of_site.setdefault(a.site_id, shard) == shard  # a site never spans shards
