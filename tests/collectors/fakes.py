"""Fakes (not mocks) for collector tests: a Device that answers from a recorded device.

``RecordedDevice`` answers ``get`` and ``walk`` from a ``Recording`` (an snmpsim .snmprec file)
exactly as discovery's ``Device`` protocol says a live agent does, and keeps a log of what it was
asked, so tests can check how many requests discovery made and for what.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hotspotctl.collectors.model import NO_SUCH_OBJECT, Value
from hotspotctl.collectors.oids import Oid, parse_oid
from hotspotctl.simulate.snmprec import Recording


@dataclass
class RecordedDevice:
    recording: Recording
    asked: list[tuple[str, tuple[Oid, ...]]] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: Path) -> RecordedDevice:
        return cls(Recording.from_file(path))

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        self.asked.append(("get", tuple(oids)))
        answer: dict[Oid, Value] = {}
        for oid in oids:
            record = self.recording.get(oid)
            answer[oid] = NO_SUCH_OBJECT if record is None else record.value
        return answer

    async def walk(self, prefix: Oid) -> list[tuple[Oid, Value]]:
        self.asked.append(("walk", (prefix,)))
        return [(record.oid, record.value) for record in self.recording.walk(prefix)]

    def values(self, oids: Sequence[str | Oid]) -> list[Value]:
        """The values of these instances (dotted strings, as Discovery holds them, or tuples), as a GET
        would answer; for reading what a poll would fetch, without logging a request."""
        found: list[Value] = []
        for oid in oids:
            record = self.recording.get(parse_oid(oid) if isinstance(oid, str) else oid)
            found.append(NO_SUCH_OBJECT if record is None else record.value)
        return found


@dataclass
class SilentDevice:
    """An agent that answers nothing: every object is absent, every walk is empty."""

    asked: list[tuple[str, tuple[Oid, ...]]] = field(default_factory=list)

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        self.asked.append(("get", tuple(oids)))
        return dict.fromkeys(oids, NO_SUCH_OBJECT)

    async def walk(self, prefix: Oid) -> list[tuple[Oid, Value]]:
        self.asked.append(("walk", (prefix,)))
        return []
