"""A cycle's outcomes rolled up by district and by site: up, down, below the per-user target.

Pure: outcomes in, counts out. "Down" here is this cycle's silence (no answer in time: no
hysteresis yet, one missed cycle counts); an AP that could not be read for another reason (no
address, wrong credentials, the agent's error: ``collectors.model.failure_class``) is counted as
unmonitored or misconfigured, never as down. "below target" is an AP that answered with a per-user
figure under its target (the AP's own ``target_mbps``, else the fleet's). An AP with no per-user
figure yet (first sample, no clients source) is up but neither below nor meeting the target.
An AP skipped while it waits out its back-off ("backoff", a silent kind) counts as what evaluation
last made of it when ``healths`` is given (an unmonitored or misconfigured AP stays so), else as down.
An AP whose controller could not be read (kind ``controller``: failure class unknown) is unknown:
neither up nor down. A wireless controller (an inventory row of role ``controller``) is no hotspot:
not counted at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hotspotctl.collectors.model import FailureClass, PollErrorKind, failure_class
from hotspotctl.evaluate.status import UNUSABLE

DEFAULT_TARGET_MBPS = 200.0


@dataclass(slots=True)
class Tally:
    aps: int = 0
    up: int = 0
    down: int = 0  # silent: no answer in time
    unmonitored: int = 0  # no usable address or configuration
    misconfigured: int = 0  # answered, but not usefully (credentials, the agent's error)
    unknown: int = 0  # its controller could not be read: nothing is known of it
    below_target: int = 0
    meeting_target: int = 0
    clients: int = 0
    in_bps: float = 0.0
    out_bps: float = 0.0

    def add(self, up: bool, below: bool | None, clients: int | None, in_bps: float | None,
            out_bps: float | None, failure: str = FailureClass.SILENT) -> None:
        """One AP; when not ``up``, ``failure`` is what its error means: silent, unmonitored, misconfigured or
        unknown."""
        self.aps += 1
        if not up:
            if failure == FailureClass.UNMONITORED:
                self.unmonitored += 1
            elif failure == FailureClass.MISCONFIGURED:
                self.misconfigured += 1
            elif failure == FailureClass.UNKNOWN:
                self.unknown += 1
            else:
                self.down += 1
            return
        self.up += 1
        if below is True:
            self.below_target += 1
        elif below is False:
            self.meeting_target += 1
        self.clients += clients or 0
        self.in_bps += in_bps or 0.0
        self.out_bps += out_bps or 0.0

    def to_json(self) -> dict[str, Any]:
        return {"aps": self.aps, "up": self.up, "down": self.down, "unmonitored": self.unmonitored,
                "misconfigured": self.misconfigured, "unknown": self.unknown, "below_target": self.below_target,
                "meeting_target": self.meeting_target, "clients": self.clients,
                "in_bps": round(self.in_bps, 1), "out_bps": round(self.out_bps, 1)}


@dataclass(slots=True)
class Rollup:
    fleet: Tally = field(default_factory=Tally)
    districts: dict[str, Tally] = field(default_factory=dict)
    sites: dict[str, Tally] = field(default_factory=dict)

    def worst_sites(self, n: int = 10) -> list[tuple[str, Tally]]:
        """Sites with the most APs down, then below target, then the most APs."""
        bad = [(site, t) for site, t in self.sites.items() if t.down or t.below_target]
        return sorted(bad, key=lambda item: (-item[1].down, -item[1].below_target, -item[1].aps, item[0]))[:n]


def below_target(per_user_mbps: float | None, target_mbps: float) -> bool | None:
    return None if per_user_mbps is None else per_user_mbps < target_mbps


def _failure(error: Any, ap_id: str, healths: Mapping[str, Any] | None) -> str:
    kind = failure_class(error.kind)
    if error.kind == PollErrorKind.BACKOFF and healths is not None:
        health = healths.get(ap_id)
        if health is not None and health.state in UNUSABLE:
            return str(health.state)
    return kind


def rollup(outcomes: Iterable[Any], *, targets: Mapping[str, float] | None = None,
           default_target_mbps: float = DEFAULT_TARGET_MBPS, healths: Mapping[str, Any] | None = None,
           sites: bool = True) -> Rollup:
    """Tally outcomes (objects with ``.ap``, ``.rate``, ``.error``) by fleet, district and site.

    ``targets`` gives each AP's target (evaluate.status.Limits); without it, the AP's own
    target_mbps, else ``default_target_mbps``. ``healths`` (AP id -> ApHealth, the evaluator's after
    this cycle) classifies the APs skipped in back-off. Without ``sites``, no site is tallied (``sites``
    stays empty): a scheduled cycle writes districts only, and 27,000 sites' tallies a cycle of the city
    were 4 MB kept until the next one.
    """
    result = Rollup()
    for outcome in outcomes:
        ap, rate = outcome.ap, outcome.rate
        if ap.is_controller:
            continue  # no hotspot
        error = outcome.error
        up = error is None and rate is not None
        target = targets[ap.id] if targets is not None else ap.target_mbps or default_target_mbps
        below = below_target(rate.per_user_mbps, target) if up else None
        args = (up, below, rate.clients if up else None, rate.in_bps if up else None, rate.out_bps if up else None,
                _failure(error, ap.id, healths) if error is not None else FailureClass.SILENT)
        result.fleet.add(*args)
        district = ap.district or "(none)"
        tally = result.districts.get(district)
        if tally is None:
            tally = result.districts[district] = Tally()
        tally.add(*args)
        if not sites:
            continue
        site = result.sites.get(ap.site_id)
        if site is None:
            site = result.sites[ap.site_id] = Tally()
        site.add(*args)
    return result
