"""What a cycle holds at once (issue 19, peak RSS of the city <= 300 MB): its lines go to the spool in whole
batches while they are made, never all of them in one list; the batches are the ones one submit would make.
"""

from __future__ import annotations

import asyncio

import pytest

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.scheduling.service import CycleRunner
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.spool import Spool
from hotspotctl.store.polling import recent_cycles
from tests.city import APS, City
from tests.spooled import spooled_batches

BATCH = 7  # lines a batch: a cycle of the test city (40 APs, 2-4 lines each) makes many


@pytest.mark.influx(batch_points=BATCH)
def test_a_cycle_spools_its_lines_in_whole_batches_as_it_makes_them(city: City) -> None:
    """Before: the cycle built every line of the fleet in one list (about 170,000 str, 55 MB for the city) and
    then submitted it; the spool got the same batches, but the list was the cycle's peak. Now no submit is given
    more than a batch and a few closing lines, and the batches are exactly those of one submit of them all."""
    submitted: list[int] = []

    async def scenario() -> CycleRunner:
        sink = InfluxSink(city.settings.influx, Spool(city.settings.spool_dir))
        submit = sink.submit

        def watching(lines: list[str], **kwargs: object) -> int:
            submitted.append(len(lines))
            return submit(lines, **kwargs)  # type: ignore[arg-type]

        sink.submit = watching  # type: ignore[method-assign]
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = city.runner(poller, sink)
            await runner.cycle()
            await runner.cycle()
            return runner

    runner = asyncio.run(scenario())
    assert runner.last_report is not None and runner.last_report.ok == APS
    batches = spooled_batches(city.settings.spool_dir)
    lines = [line for batch in batches for line in batch]
    # the two cycles, each ending with its poller_cycle line
    ends = [i for i, line in enumerate(lines) if line.startswith("poller_cycle ")]
    assert len(ends) == 2 and ends[-1] == len(lines) - 1
    with city.store.read() as conn:
        recorded = [row["points"] for row in recent_cycles(conn, 10)]
    first, second = lines[:ends[0] + 1], lines[ends[0] + 1:]
    assert sorted(recorded) == sorted([len(first), len(second)])
    for cycle in (first, second):
        assert f"points={len(cycle)}i" in cycle[-1]  # the poller_cycle line counts every line of its cycle
        assert sum(1 for line in cycle if line.startswith("ap_status,")) == APS
        assert len(cycle) > 3 * BATCH
    # each cycle's batches: whole batches, then its last one (the rest, the closing lines), then its poller_cycle
    # line alone (written after the cycle's commit, whose cost it counts)
    sizes = [len(b) for b in batches]
    per_cycle = [len(first) - 1, len(second) - 1]
    expected = []
    for count in per_cycle:
        expected += [BATCH] * (count // BATCH) + ([count % BATCH] if count % BATCH else []) + [1]
    assert sizes == expected
    # and no cycle ever handed the spool more than a batch (plus its closing lines) at once
    assert len(submitted) >= 2 * 3 and max(submitted) < 2 * BATCH
    assert sum(submitted) == len(lines)
