"""The ``outages`` measurement: open outages by cause, district and crew zone, one point per group every cycle.

Tags ``cause``, ``district``, ``zone``; field ``open`` (int), the outages of the ledger open after the
cycle. A group that had outages and has none now is written once more with ``open=0``, so that a
panel's or an alert rule's ``last("open")`` falls to zero instead of holding its last count.

An outage's district is its site's: the district of the site's APs (a controller's outage: the
controller's own district). A site whose APs are no longer known is ``(none)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hotspotctl.models.outages import LedgerUpdate, Outage
from hotspotctl.sinks.lineproto import line

MEASUREMENT = "outages"
NO_DISTRICT = "(none)"

GroupKey = tuple[str, str, str]  # (cause, district, zone)


def open_after(open_before: Mapping[str, Outage], ledger: LedgerUpdate) -> list[Outage]:
    """The outages open once a cycle's ledger update is applied to those open before it (keyed by site)."""
    now = dict(open_before)
    for outage in (*ledger.opened, *ledger.changed):
        now[outage.site] = outage
    for outage in ledger.closed:
        now.pop(outage.site, None)
    return [o for o in now.values() if o.open]


class OutageCounts:
    """Encodes the ``outages`` points of each cycle, remembering the groups written last time (for the zeros)."""

    def __init__(self) -> None:
        self.written: set[GroupKey] = set()
        self._aps: Sequence[Any] | None = None
        self._district_of_site: dict[str, str] = {}

    def district_of_site(self, aps: Sequence[Any], site_of: Mapping[str, str]) -> dict[str, str]:
        """site -> district from ``aps`` (objects with .id and .district) and ``site_of`` (AP id -> site);
        computed again only when ``aps`` is another sequence (the runner loads a new one on inventory changes)."""
        if aps is not self._aps:
            found: dict[str, str] = {}
            for ap in aps:
                site = site_of.get(ap.id)
                if site is not None and ap.district:
                    found.setdefault(site, ap.district)
            self._aps, self._district_of_site = aps, found
        return self._district_of_site

    def counts(self, outages: Iterable[Outage], district_of_site: Mapping[str, str]) -> Counter[GroupKey]:
        return Counter((str(o.cause), district_of_site.get(o.site, NO_DISTRICT), o.zone or NO_DISTRICT)
                       for o in outages)

    def remember(self, outages: Iterable[Outage], district_of_site: Mapping[str, str]) -> None:
        """Take the groups of ``outages`` as written (a run starting with outages open: when the last of a group
        closes, its zero is written, though this process wrote none of its counts)."""
        self.written |= set(self.counts((o for o in outages if o.open), district_of_site))

    def lines(self, outages: Iterable[Outage], district_of_site: Mapping[str, str], at_s: int) -> list[str]:
        """This cycle's points: one per group with open outages, and ``open=0`` for each group that had some
        last cycle and has none now. Sorted, so that a cycle's batch is deterministic."""
        counts = self.counts(outages, district_of_site)
        groups = sorted(set(counts) | self.written)
        out = [line(MEASUREMENT, {"cause": cause, "district": district, "zone": zone},
                    {"open": counts.get((cause, district, zone), 0)}, at_s) for cause, district, zone in groups]
        self.written = set(counts)
        return out
