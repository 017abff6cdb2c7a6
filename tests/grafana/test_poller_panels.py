"""The poller dashboard's figures, one-box and in a cluster, on Debian's InfluxDB 1.x.

One-box, ``hotspotctl run`` writes one ``poller_cycle`` line per cycle. In a cluster each shard's cycle writes one
(``ShardRunner``), tagged ``host`` (its worker) and ``shard``, every line of a slot stamped at the slot, each with
its worker's spool as that shard's cycle ended. The panels show a cycle's figures either way: a slot's shards'
lines taken together (APs summed, the longest cycle, the latest start) and each worker's spool once. Each case
writes known lines into a database of its own, expands the panel's query as Grafana does (the last hour, at a
$__interval of 1m) and asserts what the panel would show.
"""

from __future__ import annotations

import itertools
import time
from datetime import timedelta
from typing import Any

from hotspotctl.grafana.dashboards import load_dashboards
from hotspotctl.grafana.templating import TimeRange, expand, usages
from tests.servers import InfluxServer

POLLER = next(d for d in load_dashboards() if d.uid == "hotspotctl-poller")

# three slots a minute apart; w1 polls shards 0-2, w2 shards 3-4: (duration_s, lag_s, ok, timed_out, spool_batches
# as the shard's cycle ended)
SLOTS = [
    {"w1": [(0.8, 0.1, 300, 2, 0), (0.5, 0.3, 60, 0, 3), (0.6, 1.2, 58, 1, 4)], "w2": [(0.7, 0.2, 130, 0, 0),
                                                                                   (0.9, 0.4, 140, 3, 2)]},
    {"w1": [(0.9, 0.1, 301, 1, 1), (0.4, 0.2, 60, 0, 4), (0.5, 0.9, 60, 0, 5)], "w2": [(1.1, 2.5, 131, 0, 0),
                                                                                  (0.8, 0.3, 139, 1, 2)]},
    {"w1": [(2.5, 0.1, 299, 4, 0), (0.6, 0.1, 59, 1, 3), (0.7, 0.6, 60, 0, 4)], "w2": [(0.6, 0.3, 128, 2, 2),
                                                                                  (1.0, 0.5, 140, 0, 3)]},
]
# the same as one-box cycles, a line each: (duration_s, lag_s, ok, timed_out, spool_batches)
CYCLES = [(4.1, 0.2, 688, 6, 3), (4.4, 0.1, 691, 2, 5), (3.9, 0.3, 686, 7, 4)]
WORKERS_CPU_S = (3.25, 4.5, 4.0)  # the leader's poller_cluster: the workers' CPU from a conclusion to the next
SHARDS_MISSING = (0, 2, 0)  # and the shards with APs that did not report (a worker died in the second slot)


def _line(tags: str, figures: tuple[float, float, int, int, int], at: int, cpu_s: float = 0.25) -> str:
    duration, lag, ok, timed_out, batches = figures
    return (f"poller_cycle{tags} duration_s={duration!r},lag_s={lag!r},ok={ok}i,timed_out={timed_out}i,failed=0i,"
            f"cpu_s={cpu_s!r},"
            f"skipped=0i,spool_batches={batches}i,spool_points={batches * 500}i,spool_bytes={batches * 4096}i,"
            f"points={ok * 4}i,missed=0i {at}")


def _times() -> list[int]:
    """Three whole minutes' starts, the last one a minute before now (each in a $__interval bucket of its own)."""
    now = int(time.time())
    return [now - now % 60 - 60 * (3 - i) for i in range(3)]


def _cluster_lines(at: list[int]) -> list[str]:
    """The shards' lines of SLOTS, and the leader's poller_cluster of each slot (the workers' CPU: WORKERS_CPU_S)."""
    lines = []
    for slot, when, cpu, missing in zip(SLOTS, at, WORKERS_CPU_S, SHARDS_MISSING, strict=True):
        shard = itertools.count()
        lines += [_line(f",host={host},shard={next(shard)}", figures, when)
                  for host, cycles in slot.items() for figures in cycles]
        lines.append(f"poller_cluster,host=lead shards=5i,shards_missing={missing}i,aps=700i,points=2800i,"
                     f"workers_cpu_s={cpu!r} {when}")
    return lines


def _panel(influxdb: InfluxServer, database: str, title: str) -> list[list[Any]]:
    """The panel's rows: its time, then its targets' columns side by side (A's, then B's), one row per time any of
    them has (a target with nothing then: None in each of its columns)."""
    targets = [q for q in POLLER.queries() if q.title == title]
    rows: dict[int, list[Any]] = {}
    offset = 0
    width = sum(len(q.columns) for q in targets)
    for query in targets:
        text = expand(query.text, {}, variables=POLLER.variables(), time_range=TimeRange.last("1h"),
                      interval=timedelta(minutes=1))
        assert usages(text) == [], text
        for series in influxdb.query(text, database):
            assert series["columns"][1:] == list(query.columns), (title, series["columns"])
            for at, *values in series["values"]:
                rows.setdefault(at, [None] * width)[offset:offset + len(values)] = values
        offset += len(query.columns)
    return [[at, *values] for at, values in sorted(rows.items())]


def _shown(influxdb: InfluxServer, database: str) -> dict[str, Any]:
    return {title: _panel(influxdb, database, title) for title in (
        "Last cycle took", "Lag", "Timed out, last cycle", "Spool depth now", "Cycle time and lag", "APs per cycle",
        "Spool depth", "Poller CPU and points", "Missed runs")}


def test_a_clusters_slot_is_one_cycle_its_shards_taken_together(influxdb: InfluxServer, database: str) -> None:
    at = _times()
    influxdb.write(database, _cluster_lines(at))
    shown = _shown(influxdb, database)
    # the last slot: its longest shard cycle, its latest start, its timeouts summed, and what each worker's spool
    # held as it began (the least its shards' cycles saw: each also saw the slot's other shards' batches), summed
    assert shown["Last cycle took"][0][1:] == [2.5]
    assert shown["Lag"][0][1:] == [0.6]
    assert shown["Timed out, last cycle"][0][1:] == [4 + 1 + 0 + 2 + 0]
    assert shown["Spool depth now"][0][1:] == [0 + 2]
    # per slot (a $__interval bucket each): the longest cycle, as mean and max, and the latest start
    assert [row[1:] for row in shown["Cycle time and lag"]] == [[0.9, 0.9, 1.2], [1.1, 1.1, 2.5], [2.5, 2.5, 0.6]]
    assert [row[1:] for row in shown["APs per cycle"]] == [[688, 6, 0, 0], [691, 2, 0, 0], [686, 7, 0, 0]]
    assert [row[0] for row in shown["APs per cycle"]] == at
    assert [row[1:] for row in shown["Spool depth"]] == [[0, 0, 0], [1, 500, 4096], [2, 1000, 8192]]
    # the points of each slot summed, and the workers' CPU from poller_cluster (each shard's 0.25 s is its worker's
    # process time beside its other shards: not summed, no series from the one-box target A)
    assert [row[1:] for row in shown["Poller CPU and points"]] == [[None, 4 * 688, 3.25], [None, 4 * 691, 4.5],
                                                                   [None, 4 * 686, 4.0]]
    # no run missed (the shards' lines say 0), and the shards missing from each slot
    assert [row[1:] for row in shown["Missed runs"]] == [[0, 0], [0, 2], [0, 0]]


def test_one_box_a_cycle_is_its_line(influxdb: InfluxServer, database: str) -> None:
    at = _times()
    influxdb.write(database, [_line("", figures, when + 1, cpu) for figures, when, cpu
                                in zip(CYCLES, at, (1.5, 2.0, 1.25), strict=True)])
    shown = _shown(influxdb, database)
    assert shown["Last cycle took"][0][1:] == [3.9]
    assert shown["Lag"][0][1:] == [0.3]
    assert shown["Timed out, last cycle"][0][1:] == [7]
    assert shown["Spool depth now"][0][1:] == [4]
    assert [row[1:] for row in shown["Cycle time and lag"]] == [[4.1, 4.1, 0.2], [4.4, 4.4, 0.1], [3.9, 3.9, 0.3]]
    assert [row[1:] for row in shown["APs per cycle"]] == [[688, 6, 0, 0], [691, 2, 0, 0], [686, 7, 0, 0]]
    assert [row[1:] for row in shown["Spool depth"]] == [[3, 1500, 12288], [5, 2500, 20480], [4, 2000, 16384]]
    assert [row[1:] for row in shown["Poller CPU and points"]] == [[1.5, 4 * 688, None], [2.0, 4 * 691, None],
                                                                   [1.25, 4 * 686, None]]
    assert [row[1:] for row in shown["Missed runs"]] == [[0, None], [0, None], [0, None]]
