"""The fleet's availability: now by district and programme, over time by period, and where capacity falls short.

Pure: the inventory, stored healths, hourly availability rows and open outages in; tallies out.

- ``fleet_status`` counts APs by state (an AP without a health row is unknown; unmonitored and
  misconfigured APs, which cannot be read for a reason no crew can fix, are counted apart and
  grouped by reason, never as down), the APs below
  the per-user target (causes below_target or congested), the last 24 hours of
  ``availability_hourly`` (availability = up / samples, meeting target = meeting / measured) and
  the open outages that touch each district and programme (an outage counts once in every group
  one of its APs belongs to, so the programme column can add up to more than the fleet's).
- ``availability_by_period`` sums hourly rows into days (from 00:00) or weeks (from Monday 00:00)
  of the city's zone, one row per (period start, district or programme).
- ``usual_clients`` is how many clients one AP of each (district, programme) usually has at a local
  hour of the day: the clients the hourly rows counted at that hour over the last days, per AP-cycle.
- ``capacity_rows`` lists the APs short of the per-user target, largest shortfall first:
  (target - per-user) x clients, the Mb/s it would take to bring everyone there.
- ``availability_by_group`` is a window's availability by site, AP, crew zone, district or programme,
  from the outage ledger, with the fleet's total: every AP counts the window's length, and is down
  while an outage whose causes include offline or site_offline has it among its APs (from the
  outage's opening to its close, clipped to the window). A group's availability and the total are
  1 - down AP-hours / AP-hours: weighted by AP-hours, never a mean of the groups' percentages.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from hotspotctl.evaluate.outages import Outage
from hotspotctl.evaluate.status import DEGRADED, DOWN, MISCONFIGURED, UNMONITORED, UP, ApHealth, Cause
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.names import name_key
from hotspotctl.store import Store
from hotspotctl.store.outages import list_outages

NONE = "(none)"  # the group of an AP without a district or programme (as the scheduler tallies it)
HOUR_S = 3600
DAY_S = 86400
WEEK_S = 7 * DAY_S
PERIODS = ("day", "week")
GROUPINGS = ("district", "program")
STATUS_WINDOW_S = 24 * HOUR_S


def percent(part: int, whole: int) -> float | None:
    """100 * part / whole to two decimals; None when there is nothing to divide."""
    return round(100.0 * part / whole, 2) if whole else None


@dataclass(slots=True)
class StatusTally:
    """One group's APs now, its last 24 hours, and its open outages."""

    aps: int = 0
    up: int = 0
    degraded: int = 0
    down: int = 0
    unknown: int = 0
    unmonitored: int = 0  # no usable address or configuration: not read at all
    misconfigured: int = 0  # answered, but not usefully (credentials, host key, the agent's error)
    below_target: int = 0
    evaluated: int = 0  # APs with a health row
    samples: int = 0  # AP-cycles evaluated in the window (not in maintenance, state known)
    available: int = 0  # ...of which not DOWN
    measured: int = 0  # ...with a per-user reading
    meeting: int = 0  # ...meeting the target
    open_outages: int = 0

    @property
    def availability_pct(self) -> float | None:
        return percent(self.available, self.samples)

    @property
    def meeting_target_pct(self) -> float | None:
        return percent(self.meeting, self.measured)

    def add_ap(self, health: ApHealth | None) -> None:
        self.aps += 1
        if health is None:
            self.unknown += 1
            return
        self.evaluated += 1
        if health.state == UP:
            self.up += 1
        elif health.state == DEGRADED:
            self.degraded += 1
        elif health.state == DOWN:
            self.down += 1
        elif health.state == UNMONITORED:
            self.unmonitored += 1
        elif health.state == MISCONFIGURED:
            self.misconfigured += 1
        else:
            self.unknown += 1
        if health.below_target:
            self.below_target += 1

    def add_hour(self, row: Mapping[str, Any]) -> None:
        self.samples += int(row["samples"])
        self.available += int(row["up"])
        self.measured += int(row["measured"])
        self.meeting += int(row["meeting"])

    def to_json(self) -> dict[str, Any]:
        return {"aps": self.aps, "up": self.up, "degraded": self.degraded, "down": self.down,
                "unknown": self.unknown, "unmonitored": self.unmonitored, "misconfigured": self.misconfigured,
                "below_target": self.below_target, "samples_24h": self.samples,
                "availability_pct": self.availability_pct, "measured_24h": self.measured,
                "meeting_target_pct": self.meeting_target_pct, "open_outages": self.open_outages}


def _group_order(name: str) -> tuple[bool, str]:
    return (name == NONE, name_key(name))


REASON_EXAMPLES = 5  # AP ids shown per reason


@dataclass(slots=True)
class ReasonTally:
    """The APs that share a state (unmonitored, misconfigured) and an error kind."""

    state: str
    kind: str
    aps: int = 0
    examples: list[str] = field(default_factory=list)  # the first REASON_EXAMPLES AP ids, sorted
    message: str = ""  # the first example's message

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "kind": self.kind, "aps": self.aps, "examples": list(self.examples),
                "message": self.message}


@dataclass(slots=True)
class FleetStatus:
    fleet: StatusTally = field(default_factory=StatusTally)
    districts: dict[str, StatusTally] = field(default_factory=dict)
    programs: dict[str, StatusTally] = field(default_factory=dict)
    reasons: dict[tuple[str, str], ReasonTally] = field(default_factory=dict)  # (state, kind) ->

    def ordered_reasons(self) -> list[ReasonTally]:
        return sorted(self.reasons.values(), key=lambda r: (-r.aps, r.state, r.kind))

    @property
    def evaluated(self) -> bool:
        """Has evaluation produced anything for these APs: a health row or an availability sample."""
        return bool(self.fleet.evaluated or self.fleet.samples)

    def ordered(self, which: str) -> list[tuple[str, StatusTally]]:
        groups = self.districts if which == "district" else self.programs
        return sorted(groups.items(), key=lambda item: _group_order(item[0]))

    def to_json(self) -> dict[str, Any]:
        return {"fleet": self.fleet.to_json(),
                "districts": [{"district": name, **t.to_json()} for name, t in self.ordered("district")],
                "programs": [{"program": name, **t.to_json()} for name, t in self.ordered("program")],
                "open_outages": self.fleet.open_outages,
                "not_monitored": [r.to_json() for r in self.ordered_reasons()]}


def status_since(now: float) -> float:
    """The start of the status window: the 24 UTC hours up to and including the current one."""
    return now - now % HOUR_S - (STATUS_WINDOW_S - HOUR_S)


def _group(value: str | None) -> str:
    return value or NONE


def fleet_status(aps: Iterable[AccessPoint], healths: Mapping[str, ApHealth],
                 availability: Iterable[Mapping[str, Any]], open_outages: Iterable[Outage], *,
                 districts: Collection[str | None] | None = None) -> FleetStatus:
    """Tally ``aps`` now; ``availability`` rows (only of ``districts`` when given); the outages touching ``aps``."""
    result = FleetStatus()
    group_of: dict[str, tuple[str, str]] = {}
    controllers: set[str] = set()
    for ap in sorted(aps, key=lambda ap: ap.id):
        if ap.is_controller:  # no hotspot: in no tally; its own outage counts for the fleet (below)
            controllers.add(ap.id)
            continue
        district, program = _group(ap.district), _group(ap.program)
        group_of[ap.id] = (district, program)
        health = healths.get(ap.id)
        for tally in (result.fleet, result.districts.setdefault(district, StatusTally()),
                      result.programs.setdefault(program, StatusTally())):
            tally.add_ap(health)
        if health is not None and health.state in (UNMONITORED, MISCONFIGURED):
            key = (health.state, health.reason_kind or "unknown")
            reason = result.reasons.get(key)
            if reason is None:
                reason = result.reasons[key] = ReasonTally(health.state, key[1], message=health.reason or "")
            reason.aps += 1
            if len(reason.examples) < REASON_EXAMPLES:
                reason.examples.append(ap.id)
    wanted = None if districts is None else {_group(d) for d in districts}
    for row in availability:
        district, program = _group(row["district"]), _group(row["program"])
        if wanted is not None and district not in wanted:
            continue
        for tally in (result.fleet, result.districts.setdefault(district, StatusTally()),
                      result.programs.setdefault(program, StatusTally())):
            tally.add_hour(row)
    for outage in open_outages:
        touched = [group_of[ap_id] for ap_id in (outage.aps_now or outage.aps) if ap_id in group_of]
        if not touched:
            if controllers.intersection(outage.aps_now or outage.aps):
                result.fleet.open_outages += 1  # a controller's own outage: the fleet's, no district's
            continue
        result.fleet.open_outages += 1
        for district in {d for d, _ in touched}:
            result.districts[district].open_outages += 1
        for program in {p for _, p in touched}:
            result.programs[program].open_outages += 1
    return result


# -- over time ---------------------------------------------------------------------------------------------------

def period_start(at: float, period: str, tz: tzinfo = UTC) -> float:
    """The day (00:00) or week (Monday 00:00) that ``at`` falls in, in ``tz`` (the city's zone)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    day = datetime.fromtimestamp(at, tz).date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    return _midnight(day, tz)


def _midnight(day: date, tz: tzinfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def default_since(now: float, period: str, tz: tzinfo = UTC) -> float:
    """The last 7 days (today included) by day, the last 8 weeks (this one included) by week, in ``tz``."""
    this = datetime.fromtimestamp(period_start(now, period, tz), tz).date()
    return _midnight(this - timedelta(days=6 if period == "day" else 7 * 7), tz)


def day_label(at: float, tz: tzinfo = UTC) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d")


@dataclass(slots=True)
class PeriodRow:
    """One period's availability for one district or programme."""

    start: float  # epoch seconds, the period's first instant (00:00 in the zone it was cut in)
    group: str
    samples: int = 0
    up: int = 0
    measured: int = 0
    meeting: int = 0
    tz: tzinfo = UTC  # the zone its days are cut in, for its label

    @property
    def availability_pct(self) -> float | None:
        return percent(self.up, self.samples)

    @property
    def meeting_target_pct(self) -> float | None:
        return percent(self.meeting, self.measured)

    def values(self) -> tuple[Any, ...]:
        """In the order of ``period_columns``."""
        return (day_label(self.start, self.tz), self.group, self.samples, self.up, self.availability_pct, self.measured,
                self.meeting, self.meeting_target_pct)


def period_columns(by: str) -> tuple[str, ...]:
    return ("period_start", by, "samples", "up", "availability_pct", "measured", "meeting", "meeting_target_pct")


def availability_by_period(rows: Iterable[Mapping[str, Any]], by: str, period: str,
                           tz: tzinfo = UTC) -> list[PeriodRow]:
    """Hourly rows summed per (period, district or programme), by period then name; periods in ``tz``."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}")
    found: dict[tuple[float, str], PeriodRow] = {}
    for row in rows:
        start, group = period_start(float(row["hour"]), period, tz), _group(row[by])
        tally = found.get((start, group))
        if tally is None:
            tally = found[(start, group)] = PeriodRow(start, group, tz=tz)
        tally.samples += int(row["samples"])
        tally.up += int(row["up"])
        tally.measured += int(row["measured"])
        tally.meeting += int(row["meeting"])
    return sorted(found.values(), key=lambda r: (r.start, *_group_order(r.group)))


# -- a window's availability by group, from the outage ledger --------------------------------------------------

WINDOW_GROUPINGS = ("site", "ap", "zone", "district", "program")
DOWN_CAUSES = frozenset({Cause.OFFLINE, Cause.SITE_OFFLINE})  # an outage with one of these had its APs down
TOTAL = "TOTAL"


@dataclass(slots=True)
class WindowRow:
    """One group's APs over a window: how long they were down, and the share of AP-hours they were not."""

    group: str
    aps: int = 0
    ap_seconds: float = 0.0
    down_seconds: float = 0.0
    outages: int = 0  # outages with a down cause that had an AP of the group, in the window

    @property
    def ap_hours(self) -> float:
        return self.ap_seconds / HOUR_S

    @property
    def minutes_down(self) -> float:
        return self.down_seconds / 60.0

    @property
    def availability_pct(self) -> float | None:
        if self.ap_seconds <= 0:
            return None
        return round(100.0 * (1.0 - self.down_seconds / self.ap_seconds), 2)

    def values(self) -> tuple[Any, ...]:
        """In the order of ``window_columns``."""
        return (self.group, self.aps, round(self.ap_hours, 1), round(self.minutes_down, 1), self.availability_pct,
                self.outages)


def window_columns(by: str) -> tuple[str, ...]:
    return (by, "aps", "ap_hours", "minutes_down", "availability_pct", "outages")


def _union(spans: list[tuple[float, float]]) -> float:
    """The seconds covered by ``spans`` (start, end), overlaps counted once."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def down_spans(outages: Iterable[Outage], since: float, until: float) -> tuple[dict[str, list[tuple[float, float]]],
                                                                              dict[str, set[int]]]:
    """AP id -> the spans (clipped to [since, until]) it was down in an outage with a down cause; and AP id -> the
    indexes of those outages (in ``outages``' order)."""
    spans: dict[str, list[tuple[float, float]]] = {}
    which: dict[str, set[int]] = {}
    for n, outage in enumerate(outages):
        if not DOWN_CAUSES.intersection(outage.causes or (outage.cause,)):
            continue
        start = max(outage.opened_at, since)
        end = min(outage.closed_at if outage.closed_at is not None else until, until)
        if end <= start:
            continue
        for ap_id in outage.aps:
            spans.setdefault(ap_id, []).append((start, end))
            which.setdefault(ap_id, set()).add(n)
    return spans, which


def availability_by_group(aps: Iterable[AccessPoint], outages: Iterable[Outage], by: str, since: float,
                          until: float, *, zone_of: Callable[[AccessPoint], str] | None = None
                          ) -> tuple[list[WindowRow], WindowRow]:
    """Each group's row (the least available first, then by name) and the fleet's TOTAL row, over [since, until].

    Controllers are in no group (they serve no one); ``zone_of`` gives an AP's crew zone (by="zone")."""
    if by not in WINDOW_GROUPINGS:
        raise ValueError(f"by must be one of {WINDOW_GROUPINGS}")
    if by == "zone" and zone_of is None:
        raise ValueError("by='zone' needs zone_of")
    length = max(0.0, until - since)
    spans, which = down_spans(list(outages), since, until)
    groups: dict[str, WindowRow] = {}
    touched: dict[str, set[int]] = {}
    total = WindowRow(TOTAL)
    everything: set[int] = set()
    for ap in aps:
        if ap.is_controller:
            continue
        if by == "ap":
            name = ap.id
        elif by == "site":
            name = ap.site_id or NONE
        elif by == "zone":
            assert zone_of is not None
            name = zone_of(ap) or NONE
        else:
            name = _group(ap.district if by == "district" else ap.program)
        row = groups.get(name)
        if row is None:
            row = groups[name] = WindowRow(name)
        down = _union(spans.get(ap.id, []))
        for tally in (row, total):
            tally.aps += 1
            tally.ap_seconds += length
            tally.down_seconds += down
        touched.setdefault(name, set()).update(which.get(ap.id, ()))
        everything.update(which.get(ap.id, ()))
    for name, found in touched.items():
        groups[name].outages = len(found)
    total.outages = len(everything)
    rows = sorted(groups.values(), key=lambda r: (r.availability_pct if r.availability_pct is not None else 101.0,
                                                  *_group_order(r.group)))
    return rows, total



def availability_window(store: Store, aps: Iterable[AccessPoint], by: str, since: float, until: float, *,
                        zone_of: Callable[[AccessPoint], str] | None = None) -> tuple[list[WindowRow], WindowRow]:
    """``availability_by_group`` over the outages the ledger has since ``since`` (read in one transaction)."""
    with store.read() as conn:
        outages = list_outages(conn, since=since)
    return availability_by_group(aps, [o for o in outages if o.opened_at < until], by, since, until, zone_of=zone_of)

# -- the people an AP usually serves -------------------------------------------------------------------------------

USUAL_DAYS = 7  # the days of hourly rows that say what is usual at an hour


def usual_since(now: float) -> float:
    """The start of the rows ``usual_clients`` reads: USUAL_DAYS days back, to the UTC hour."""
    return now - now % HOUR_S - USUAL_DAYS * DAY_S


def usual_clients(rows: Iterable[Mapping[str, Any]], hour_of_day: int, tz: tzinfo) -> dict[tuple[str, str], float]:
    """Clients per AP by (district, programme) at ``hour_of_day`` (0-23, in ``tz``), from hourly rows.

    The clients counted in the rows whose UTC hour falls at that local hour, divided by the AP-cycles
    that counted them. A group with no such row is absent: the caller falls back to its defaults.
    """
    sums: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        counted = int(row.get("counted") or 0)
        if not counted or datetime.fromtimestamp(float(row["hour"]), tz).hour != hour_of_day:
            continue
        key = (_group(row["district"]), _group(row["program"]))
        found = sums.setdefault(key, [0, 0])
        found[0] += int(row.get("clients") or 0)
        found[1] += counted
    return {key: clients / counted for key, (clients, counted) in sums.items()}


# -- capacity ----------------------------------------------------------------------------------------------------

CAPACITY_CAUSES = (Cause.RF_LIMITED, Cause.CONGESTED, Cause.BELOW_TARGET)  # one at most per AP (evaluate/status.py)


@dataclass(frozen=True, slots=True)
class CapacityRow:
    """An AP whose users get less than the target: too many of them, or too thin a link."""

    ap: str
    site: str
    site_name: str
    district: str | None
    program: str | None
    clients: int
    per_user_mbps: float | None
    target_mbps: float
    capacity_mbps: float | None
    link_mbps: float | None
    cause: str  # rf_limited (the air is full: channel utilisation high) | congested (a healthy link, too many
    # clients) | below_target (the capacity is under the target)

    @property
    def shortfall_mbps(self) -> float:
        """(target - per-user) x clients: what it would take to bring every client to the target."""
        if self.per_user_mbps is None:
            return 0.0
        return max(0.0, self.target_mbps - self.per_user_mbps) * self.clients

    def values(self) -> tuple[Any, ...]:
        """In the order of ``CAPACITY_COLUMNS``."""
        return (self.ap, self.site, self.site_name, self.district, self.program, self.clients,
                _round(self.per_user_mbps), _round(self.target_mbps), _round(self.capacity_mbps),
                _round(self.link_mbps), round(self.shortfall_mbps, 1), self.cause)


CAPACITY_COLUMNS = ("ap", "site_id", "site", "district", "program", "clients", "per_user_mbps", "target_mbps",
                    "capacity_mbps", "link_mbps", "shortfall_mbps", "cause")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def capacity_rows(aps: Iterable[AccessPoint], healths: Mapping[str, ApHealth],
                  target_of: Callable[[AccessPoint], float], site_names: Mapping[str, str]) -> list[CapacityRow]:
    """The APs among ``aps`` whose health has rf_limited, congested or below_target, largest shortfall first."""
    rows = []
    for ap in aps:
        health = healths.get(ap.id)
        if health is None:
            continue
        cause = next((c for c in CAPACITY_CAUSES if c in health.causes), None)
        if cause is None:
            continue
        rows.append(CapacityRow(
            ap=ap.id, site=ap.site_id, site_name=site_names.get(ap.site_id, ""), district=ap.district,
            program=ap.program, clients=health.clients or 0, per_user_mbps=health.per_user_mbps,
            target_mbps=target_of(ap), capacity_mbps=health.capacity_mbps, link_mbps=health.link_mbps, cause=cause))
    return sorted(rows, key=lambda r: (-r.shortfall_mbps, -r.clients, r.ap))
