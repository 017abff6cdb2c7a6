"""The fleet cut into shards of sites, the slot a cycle belongs to, and which worker polls which shard. Pure.

Scale-out (issue 19) polls the fleet in ``cluster.shards`` shards. A shard is a set of whole sites, so
its evaluation (site findings, the outage ledger, availability) is complete on its own; and a wireless
controller and every AP it manages are always in one shard, so a controller's walk answers for APs
of its own shard only. Everything here is a function of its arguments: the same inventory gives the
same shards in every process of every host (blake2b, never Python's salted ``hash()``).

- ``shard_of(key, shards)``: the shard of a shard key (a site id, or a controller's group).
- ``shard_keys(aps)``: each AP's shard key. A hotspot AP's is its site. A controller and the APs it
  manages share one key (``controller_site`` of the controller); and since a site may not span shards,
  every site holding a managed AP joins its controller's group, and controllers sharing a site join one
  group (union-find; the group's key is its smallest controller key, so it does not depend on order).
- ``split_fleet(aps, shards)``: shard -> its APs, in the fleet's order.
- ``cycle_slot(now, interval_s)``: the slot a cycle started at ``now`` belongs to; every point of a
  shard's cycle is stamped with it, so a shard polled twice in one slot writes the same series at the
  same timestamp (InfluxDB keeps one).
- ``assign_shards(shards, workers)``: rendezvous (highest random weight) hashing: each shard goes to the
  worker maximising blake2b(f"{shard}:{worker}"). Stable: while the set of workers is unchanged every
  worker keeps its shards (and the memory it holds for them); when one leaves, only its shards move,
  spread over the others; when one joins, it takes about 1/n of the shards from the others and nothing
  else moves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from hashlib import blake2b

from hotspotctl.evaluate.outages import controller_site
from hotspotctl.models.access_points import AccessPoint

DEFAULT_SHARDS = 64
# the union-find's names: a controller's ("c:" sorts first, so a group with a controller is keyed by its
# smallest controller) and a site's; the prefix is dropped from the key returned
_CONTROLLER, _SITE = "c:", "s:"


def _hash64(text: str) -> int:
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "big")


def shard_of(site_id: str, shards: int) -> int:
    """The shard (0 .. shards-1) of a shard key: the same in every process (blake2b, not ``hash()``)."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, not {shards}")
    return _hash64(site_id) % shards


class _Groups:
    """Union-find over shard keys; a group's representative is its smallest key (independent of order)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        parent = self.parent
        root = key
        while (up := parent.get(root, root)) != root:
            root = up
        while key != root:  # path compression
            parent[key], key = root, parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = (ra, rb) if ra < rb else (rb, ra)
            self.parent[high] = low


def shard_keys(aps: Sequence[AccessPoint]) -> dict[str, str]:
    """AP id -> the key it is sharded by (``shard_of`` of it is its shard).

    A hotspot AP's key is its site id; a controller's is ``controller_site(its id)``; an AP managed by a
    controller, and every AP of its site, share the controller's key. When sites and controllers chain
    (a site with APs of two controllers), the whole chain is one group, keyed by its smallest controller key.
    A managed AP whose controller is not in ``aps`` still keys by that controller, so a selection of the
    fleet shards the same way as the whole fleet.
    """
    groups = _Groups()
    for ap in aps:
        if ap.managed:
            assert ap.controller is not None
            groups.union(_CONTROLLER + controller_site(ap.controller), _SITE + ap.site_id)
    keys: dict[str, str] = {}
    for ap in aps:
        key = _CONTROLLER + controller_site(ap.id) if ap.is_controller else _SITE + ap.site_id
        keys[ap.id] = groups.find(key)[2:]
    return keys


def split_fleet(aps: Sequence[AccessPoint], shards: int) -> dict[int, list[AccessPoint]]:
    """Shard -> its APs (in the order of ``aps``); shards with no AP are absent."""
    keys = shard_keys(aps)
    of_key: dict[str, int] = {}
    out: dict[int, list[AccessPoint]] = {}
    for ap in aps:
        key = keys[ap.id]
        shard = of_key.get(key)
        if shard is None:
            shard = of_key[key] = shard_of(key, shards)
        out.setdefault(shard, []).append(ap)
    return out


def cycle_slot(now: float, interval_s: float) -> float:
    """The start of the slot ``now`` falls in: floor(now / interval_s) * interval_s."""
    if interval_s <= 0:
        raise ValueError(f"interval_s must be positive, not {interval_s}")
    return float(math.floor(now / interval_s) * interval_s)


def assign_shards(shards: int, workers: Sequence[str]) -> dict[int, str]:
    """Shard -> the worker polling it: the worker maximising blake2b(f"{shard}:{worker}") (rendezvous hashing).

    Empty when there is no worker. Duplicate names count once; the order of ``workers`` does not matter.
    """
    names = sorted(set(workers))
    if not names:
        return {}
    return {shard: max(names, key=lambda worker: _hash64(f"{shard}:{worker}")) for shard in range(shards)}
