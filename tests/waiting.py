"""Waiting for events, not for time: what a test polls instead of sleeping a fixed while.

A loaded machine (CI, two CPU hogs, other engineers' suites on the same two cores) runs every
process late by an unknown amount; a test that sleeps 0.6 s and then reads what another process
published tests the scheduler, not the code. These wait for the condition itself, with deadlines
generous enough that only a defect (the condition never becomes true) ever reaches them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

import pytest

from hotspotctl.simulate.simulator import Simulator

PATIENCE_S = 60.0  # far beyond any scheduling delay: reaching it means the event never came


def eventually(condition: Callable[[], bool], timeout_s: float = PATIENCE_S, every_s: float = 0.02) -> bool:
    """Whether ``condition()`` became true within ``timeout_s`` (checked every ``every_s``)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return condition()
        time.sleep(every_s)
    return True


def read_until(stream: IO[str] | None, text: str, failure: str, timeout_s: float = PATIENCE_S) -> list[str]:
    """The lines a process wrote to ``stream`` up to the first holding ``text``; the test fails with
    ``failure`` and every line seen if the process ends or ``timeout_s`` passes first."""
    assert stream is not None
    deadline = time.monotonic() + timeout_s
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:  # the process closed it: ended
            break
        seen.append(line)
        if text in line:
            return seen
    pytest.fail(f"{failure}:\n" + "".join(seen))


def counted(simulator: Simulator, requests: float, timeout_s: float = PATIENCE_S) -> dict[str, float]:
    """The simulator's counters once it has counted ``requests`` requests in all, every counter included.

    Its processes publish their counters every 0.25 s, one after the other and ``cpu_s`` last, into
    shared memory; a read in between can see ``requests`` already counted and ``dropped_*`` not yet.
    So: wait until ``requests`` is reached, then until every process has published once more (its
    ``cpu_s`` moved): that publication's snapshot was taken after the last of those requests.
    """
    width = len(simulator._stats) // simulator.processes  # per process: the fields, then cpu_s

    def cpu() -> list[float]:
        return [simulator._stats[w * width + width - 1] for w in range(simulator.processes)]

    assert eventually(lambda: simulator.stats()["requests"] >= requests, timeout_s), (
        f"the simulator counted {simulator.stats()['requests']:.0f} requests, not {requests:.0f}, in {timeout_s:g} s")
    seen = cpu()
    assert eventually(lambda: all(now != before for now, before in zip(cpu(), seen, strict=True)), timeout_s), \
        "the simulator's processes stopped publishing their counters"
    return simulator.stats()
