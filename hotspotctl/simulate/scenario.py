"""Fault scenarios for the simulator: strict YAML loading, and resolution into per-AP fault plans.

A scenario (``scenarios/<name>.yaml``; the format is documented in ``scenarios/README.md``) says
which faults hit which APs and when. Loading checks it without the inventory and names the file
and key path in every error: ``cdmx.yaml: faults[3].select.count: expected a whole number >= 1``.
Resolving it against the fleet picks the APs (names matched exactly like the CLI's --district,
--program ... because it calls ``Fleet.select``; random picks seeded from (seed, fault index) over
sorted candidates) and gives every AP hit an ``ApFaults``: a pure function of time, so several
simulator processes resolve the same plan and answer alike without talking to each other.

Time is real seconds since the simulator started; ``--speed`` compresses traffic, never faults.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import random
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from hotspotctl.bundled import bundled_path
from hotspotctl.errors import ConfigError, InputError
from hotspotctl.inventory.fleet import Fleet, Selection
from hotspotctl.spans import span_seconds
from hotspotctl.yamlfile import StrictReader, read_yaml

KINDS = ("down", "power", "reboot_loop", "flapping", "wrap32", "latency", "loss", "slow_uplink", "crowded",
         "ap_leave", "radio_down", "interference", "controller_down")
# Faults only an AP behind a simulated controller can have (the controller reports them), and the controller's own.
CONTROLLER_AP_KINDS = ("ap_leave", "radio_down", "interference")
RADIO_BANDS = ("2.4GHz", "5GHz", "all")
# Keys each kind takes besides kind and select. Only outages and the controller faults have a window
# (at/for); the other faults last the whole run, which keeps a plan a handful of numbers the agent
# checks per packet.
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "down": ("at", "for"),
    "power": ("at", "for"),
    "reboot_loop": ("every", "down"),
    "flapping": ("period", "down"),
    "wrap32": (),
    "latency": ("ms",),
    "loss": ("probability",),
    "slow_uplink": ("mbps",),
    "crowded": ("factor",),
    "ap_leave": ("at", "for"),
    "radio_down": ("at", "for", "band"),
    "interference": ("at", "for", "utilization", "noise"),
    "controller_down": ("at", "for", "controllers", "count"),
}
_TOP = ("name", "description", "seed", "faults")
FILTERS = ("ap", "site", "district", "program", "zone")
PICKS = ("fraction", "count", "sites", "site_fraction")
_GLOB = frozenset("*?[")
DEFAULT_SLOW_MBPS = 100


@dataclass(frozen=True, slots=True)
class Window:
    """[start_s, end_s) in seconds since the simulator started; end_s may be math.inf."""

    start_s: float
    end_s: float

    def __contains__(self, t: float) -> bool:
        return self.start_s <= t < self.end_s


@dataclass(frozen=True, slots=True)
class ApFaults:
    """Everything wrong with one AP, as numbers the agent evaluates at answer time (no state, no RNG).

    ``down`` holds the merged outage windows (down and power faults). A reboot loop reboots at
    ``reboot_phase_s + k * reboot_every_s`` and is unreachable for ``reboot_down_s`` after each;
    flapping is unreachable for the first ``flap_down_s`` of every period counted from ``flap_phase_s``.
    """

    down: tuple[Window, ...] = ()
    reboot_every_s: float | None = None
    reboot_down_s: float = 0.0
    reboot_phase_s: float = 0.0
    flap_period_s: float | None = None
    flap_down_s: float = 0.0
    flap_phase_s: float = 0.0
    wrap32: bool = False
    latency_ms: tuple[float, float] | None = None
    loss: float = 0.0
    link_mbps: int | None = None
    clients_factor: float = 1.0
    left: tuple[Window, ...] = ()  # ap_leave: the AP is off its controller in these windows
    radio_down: tuple[tuple[str, Window], ...] = ()  # (band or "all", window)
    interference: tuple[tuple[Window, float, float], ...] = ()  # (window, utilisation points, noise dB)

    def joined(self, t: float) -> bool:
        """Whether the AP is joined to its controller at ``t`` (only APs behind a controller leave)."""
        return not any(window.start_s <= t < window.end_s for window in self.left)

    def radio_up(self, band: str, t: float) -> bool:
        return not any((which == band or which == "all") and window.start_s <= t < window.end_s
                       for which, window in self.radio_down)

    def interfered(self, t: float) -> tuple[float, float]:
        """(utilisation points, noise dB) interference adds at ``t``."""
        util = noise = 0.0
        for window, add_util, add_noise in self.interference:
            if window.start_s <= t < window.end_s:
                util += add_util
                noise += add_noise
        return util, noise

    def answering(self, t: float) -> bool:
        """Whether the AP answers at ``t`` seconds since the simulator started (called per packet)."""
        for window in self.down:
            if window.start_s <= t < window.end_s:
                return False
        if self.reboot_every_s is not None and (t - self.reboot_phase_s) % self.reboot_every_s < self.reboot_down_s:
            return False
        return not (self.flap_period_s is not None and (t - self.flap_phase_s) % self.flap_period_s < self.flap_down_s)

    def last_boot(self, t: float) -> float | None:
        """When the agent last came up after a reboot of the loop (uptime and counters restart there).

        The boot of each loop period is the end of its unreachable spell; before the first reboot
        it is the previous period's (negative: before the simulator started; the agent then keeps
        the AP's ordinary boot time, so the loop shows from its first reboot). Between a reboot
        and its boot the AP does not answer, so the value is moot there.
        None without a reboot loop.
        """
        if self.reboot_every_s is None:
            return None
        first = self.reboot_phase_s + self.reboot_down_s
        return first + math.floor((t - first) / self.reboot_every_s) * self.reboot_every_s


@dataclass(frozen=True, slots=True)
class FaultSelect:
    """Filters (AND-ed, terms of one filter OR-ed, as on the CLI), then at most one random pick."""

    aps: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    fraction: float | None = None
    count: int | None = None
    site_count: int | None = None  # the `sites: N` key
    site_fraction: float | None = None
    scalars: frozenset[str] = frozenset()  # filter keys written as one value, not a list (for error paths)

    def selection(self) -> Selection:
        return Selection(self.aps, self.sites, self.districts, self.programs, self.zones)

    def terms(self) -> Iterable[tuple[str, tuple[str, ...]]]:
        return zip(FILTERS, (self.aps, self.sites, self.districts, self.programs, self.zones), strict=True)

    @property
    def whole_sites(self) -> bool:
        return self.site_count is not None or self.site_fraction is not None

    def describe(self) -> str:
        parts = [f"{key}: {', '.join(terms)}" for key, terms in self.terms() if terms]
        picks = zip(PICKS, (self.fraction, self.count, self.site_count, self.site_fraction), strict=True)
        parts += [f"{key}: {value:g}" for key, value in picks if value is not None]
        return "; ".join(parts) or "every AP"


@dataclass(frozen=True, slots=True)
class Fault:
    """One entry of ``faults:``; only the fields of its kind are set."""

    index: int
    kind: str
    select: FaultSelect = FaultSelect()
    start_s: float = 0.0  # at (down, power)
    duration_s: float = math.inf  # for (down, power)
    every_s: float | None = None  # reboot_loop
    period_s: float | None = None  # flapping
    down_s: float = 0.0  # reboot_loop, flapping
    latency_ms: tuple[float, float] | None = None
    probability: float = 0.0
    mbps: int | None = None
    factor: float = 1.0
    band: str = "all"  # radio_down
    utilization: float = 0.0  # interference: utilisation points added
    noise_db: float = 0.0  # interference: noise floor raised by
    controllers: tuple[str, ...] = ()  # controller_down: ids or globs (none: every simulated controller)
    controller_count: int | None = None  # controller_down: pick this many of them

    def parameters(self) -> dict[str, Any]:
        """The kind's parameters as JSON-ready numbers (``for_s`` None: until the simulator stops)."""
        window = {"at_s": self.start_s, "for_s": None if math.isinf(self.duration_s) else self.duration_s}
        if self.kind in ("down", "power", "ap_leave"):
            return window
        if self.kind == "radio_down":
            return {**window, "band": self.band}
        if self.kind == "interference":
            return {**window, "utilization": self.utilization, "noise_db": self.noise_db}
        if self.kind == "controller_down":
            return {**window, "controllers": list(self.controllers) or None, "count": self.controller_count}
        if self.kind == "reboot_loop":
            return {"every_s": self.every_s, "down_s": self.down_s}
        if self.kind == "flapping":
            return {"period_s": self.period_s, "down_s": self.down_s}
        if self.kind == "latency":
            return {"ms": list(self.latency_ms or ())}
        if self.kind == "loss":
            return {"probability": self.probability}
        if self.kind == "slow_uplink":
            return {"mbps": self.mbps}
        if self.kind == "crowded":
            return {"factor": self.factor}
        return {}


@dataclass(frozen=True, slots=True)
class Scenario:
    """A loaded scenario. ``seed`` is the file's; the CLI's --seed wins over it."""

    name: str
    description: str
    seed: int | None
    faults: tuple[Fault, ...]
    source: str  # the file it came from, for error messages

    @property
    def file_name(self) -> str:
        return Path(self.source).name


@dataclass(frozen=True, slots=True)
class FaultHits:
    """What one fault hit: ``matched`` simulated APs passed its filters, ``aps`` were picked."""

    index: int
    kind: str
    matched: int
    aps: tuple[str, ...]
    sites: tuple[str, ...]


class Resolution(dict[str, ApFaults]):
    """AP id -> its fault plan (only APs with a fault), plus which APs each fault hit, for ``describe``."""

    __slots__ = ("hits",)

    def __init__(self, plans: dict[str, ApFaults] | None = None, hits: tuple[FaultHits, ...] = ()) -> None:
        super().__init__(plans or {})
        self.hits = hits


def shipped_scenarios_dir() -> Path:
    return bundled_path("scenarios")


def find_scenario(name: str | Path) -> Path:
    """A scenario file as given, else a shipped one by name ('cdmx' is scenarios/cdmx.yaml)."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = shipped_scenarios_dir()
    candidate = shipped / (path.name if path.suffix == ".yaml" else f"{path.name}.yaml")
    if path.parent == Path() and candidate.is_file():
        return candidate
    known = sorted(p.stem for p in shipped.glob("*.yaml"))
    raise ConfigError(f"{name}: no such scenario file, and no shipped scenario of that name; "
                      f"shipped: {', '.join(known) or '(none)'}")


def load_named_scenario(name: str) -> Scenario | None:
    """'none' -> None; else a YAML file, or a shipped scenario by name."""
    return None if name.lower() == "none" else load_scenario(find_scenario(name))


def parse_duration(node: Any) -> float:
    """Seconds from 90, 1.5, '45s', '10m', '2h', '1d' or '1h30m'; ValueError with the reason."""
    if isinstance(node, bool) or not isinstance(node, (int, float, str)):
        raise ValueError(f"expected a duration like 45s, 10m, 2h, 1d or a number of seconds, got {node!r}")
    if isinstance(node, str):
        text = node.strip().replace(" ", "")
        if text.startswith("-"):
            raise ValueError(f"negative duration {node!r}")
        try:
            value = float(text)
        except ValueError:
            span = span_seconds(text)
            if span is None:
                raise ValueError(f"not a duration: {node!r}; write it like 45s, 10m, 2h, 1d or 1h30m") from None
            value = span
    else:
        value = float(node)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"not a finite duration: {node!r}")
    if value < 0:
        raise ValueError(f"negative duration {node!r}")
    return value


def load_scenario(path: Path) -> Scenario:
    path = Path(path)
    document = read_yaml(path, "scenario")
    return _Reader(path).scenario(document)


class _Reader(StrictReader):
    def number(self, node: Any, key: str, low: float, high: float, *, low_open: bool = False) -> float:
        if isinstance(node, bool) or not isinstance(node, (int, float)) or math.isnan(node):
            raise self.fail(key, f"expected a number, got {node!r}")
        if node < low or (low_open and node == low) or node > high:
            bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
            raise self.fail(key, f"{node!r} is outside {bounds}")
        return float(node)

    def whole(self, node: Any, key: str, hint: str = "") -> int:
        if isinstance(node, bool) or not isinstance(node, int) or node < 1:
            raise self.fail(key, f"expected a whole number >= 1, got {node!r}{hint}")
        return node

    def duration(self, node: Any, key: str, *, positive: bool) -> float:
        try:
            value = parse_duration(node)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
        if positive and value == 0:
            raise self.fail(key, "must be longer than 0s")
        return value

    def scenario(self, document: Any) -> Scenario:
        if document is None:
            raise self.fail("", "empty scenario; see scenarios/README.md for the keys")
        top = self.table(document, "", _TOP)
        seed = top.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise self.fail("seed", f"expected an integer, got {seed!r}")
        faults_node = top.get("faults")
        if faults_node is None:
            faults_node = []
        if not isinstance(faults_node, list):
            raise self.fail("faults", f"expected a list of faults, got {faults_node!r}")
        faults = tuple(self.fault(node, index) for index, node in enumerate(faults_node))
        return Scenario(name=self.text(top.get("name"), "name", self.path.stem),
                        description=self.text(top.get("description"), "description"),
                        seed=seed, faults=faults, source=str(self.path))

    def fault(self, node: Any, index: int) -> Fault:
        key = f"faults[{index}]"
        if not isinstance(node, dict):
            raise self.fail(key, f"expected a mapping with kind: one of {', '.join(KINDS)}, got {node!r}")
        kind = node.get("kind")
        if kind is None:
            raise self.fail(key, f"missing kind; one of {', '.join(KINDS)}")
        if kind not in _KIND_KEYS:
            close = difflib.get_close_matches(str(kind), KINDS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; one of {', '.join(KINDS)}"
            raise self.fail(f"{key}.kind", f"unknown fault kind {kind!r}{hint}")
        params = _KIND_KEYS[kind]
        self.table(node, key, ("kind", "select", *params), f" for a {kind} fault")
        select = self.select(node.get("select"), f"{key}.select", kind)
        values: dict[str, Any] = {}
        if kind in ("down", "power", *CONTROLLER_AP_KINDS, "controller_down"):
            values["start_s"] = self.duration(node.get("at", 0), f"{key}.at", positive=False)
            if node.get("for") is not None:
                values["duration_s"] = self.duration(node["for"], f"{key}.for", positive=True)
        if kind == "radio_down":
            band = node.get("band", "all")
            if band not in RADIO_BANDS:
                raise self.fail(f"{key}.band", f"expected one of {', '.join(RADIO_BANDS)}, got {band!r}")
            values["band"] = band
        elif kind == "interference":
            values["utilization"] = self.number(node.get("utilization", 50), f"{key}.utilization", 0.0, 100.0)
            values["noise_db"] = self.number(node.get("noise", 15), f"{key}.noise", 0.0, 60.0)
        elif kind == "controller_down":
            if node.get("select") is not None:
                raise self.fail(f"{key}.select", "a controller_down fault picks controllers, not APs: name them "
                                                 "with controllers: [...] (globs allowed) and/or count: N")
            values["controllers"] = self.controller_ids(node.get("controllers"), f"{key}.controllers")
            if node.get("count") is not None:
                values["controller_count"] = self.whole(node["count"], f"{key}.count")
        elif kind in ("reboot_loop", "flapping"):
            every = "every" if kind == "reboot_loop" else "period"
            for needed in (every, "down"):
                if node.get(needed) is None:
                    raise self.fail(key, f"missing {needed}; a {kind} fault needs {every} and down")
            cycle = self.duration(node[every], f"{key}.{every}", positive=True)
            down = self.duration(node["down"], f"{key}.down", positive=True)
            if down >= cycle:
                raise self.fail(f"{key}.down", f"{node['down']} must be shorter than {every} ({node[every]})")
            values["every_s" if kind == "reboot_loop" else "period_s"] = cycle
            values["down_s"] = down
        elif kind == "latency":
            values["latency_ms"] = self.latency(node.get("ms"), f"{key}.ms")
        elif kind == "loss":
            if node.get("probability") is None:
                raise self.fail(key, "missing probability; each request is dropped with it, e.g. 0.05")
            values["probability"] = self.number(node["probability"], f"{key}.probability", 0.0, 1.0)
        elif kind == "slow_uplink":
            values["mbps"] = self.whole(node.get("mbps", DEFAULT_SLOW_MBPS), f"{key}.mbps")
        elif kind == "crowded":
            if node.get("factor") is None:
                raise self.fail(key, "missing factor; peak clients are multiplied by it, e.g. 4")
            values["factor"] = self.number(node["factor"], f"{key}.factor", 0.0, 1000.0, low_open=True)
        return Fault(index=index, kind=kind, select=select, **values)

    def controller_ids(self, node: Any, key: str) -> tuple[str, ...]:
        if node is None:
            return ()
        terms = node if isinstance(node, list) else [node]
        if not terms:
            raise self.fail(key, "empty list; name at least one controller, or leave the key out (every controller)")
        for i, term in enumerate(terms):
            if isinstance(term, bool) or not isinstance(term, (str, int)) or str(term).strip() == "":
                raise self.fail(f"{key}[{i}]" if isinstance(node, list) else key,
                                f"expected a controller id, got {term!r}")
        return tuple(str(term) for term in terms)

    def latency(self, node: Any, key: str) -> tuple[float, float]:
        if node is None:
            raise self.fail(key.rsplit(".", 1)[0], "missing ms; give [min, max] milliseconds, e.g. [20, 80]")
        if not isinstance(node, list):  # one number: a fixed delay
            fixed = self.number(node, key, 0.0, 60_000.0)
            return (fixed, fixed)
        if len(node) != 2:
            raise self.fail(key, f"expected [min, max] milliseconds, got {node!r}")
        low, high = (self.number(value, f"{key}[{i}]", 0.0, 60_000.0) for i, value in enumerate(node))
        if low > high:
            raise self.fail(key, f"min {node[0]!r} is greater than max {node[1]!r}")
        return (low, high)

    def select(self, node: Any, key: str, kind: str) -> FaultSelect:
        table = self.table(node, key, FILTERS + PICKS)
        filters: dict[str, tuple[str, ...]] = {}
        scalars = set()
        for name in FILTERS:
            if table.get(name) is None:
                continue
            value = table[name]
            if not isinstance(value, list):
                scalars.add(name)
                value = [value]
            if not value:
                raise self.fail(f"{key}.{name}", "empty list; name at least one, or leave the key out")
            terms = []
            for i, term in enumerate(value):
                where = f"{key}.{name}" if name in scalars else f"{key}.{name}[{i}]"
                if isinstance(term, bool) or not isinstance(term, (str, int)) or str(term).strip() == "":
                    raise self.fail(where, f"expected a name or id, got {term!r}")
                terms.append(str(term))
            filters[name] = tuple(terms)
        picks = [name for name in PICKS if table.get(name) is not None]
        if len(picks) > 1:
            raise self.fail(f"{key}.{picks[1]}", f"give at most one of {', '.join(PICKS)} (also got {picks[0]})")
        pick = picks[0] if picks else None
        if kind == "power":
            if pick in ("fraction", "count"):
                raise self.fail(f"{key}.{pick}", "a power cut takes whole sites: use sites: N or site_fraction: f "
                                                 "(or name them with site: [...])")
            if pick is None and "site" not in filters:
                raise self.fail(key, "a power cut takes whole sites: give sites: N, site_fraction: f "
                                     "or site: [...] (site_fraction: 1 cuts every matching site)")
        values: dict[str, Any] = {}
        if pick == "fraction":
            values["fraction"] = self.number(table["fraction"], f"{key}.fraction", 0.0, 1.0, low_open=True)
        elif pick == "count":
            values["count"] = self.whole(table["count"], f"{key}.count")
        elif pick == "sites":
            values["site_count"] = self.whole(table["sites"], f"{key}.sites",
                                              "; it is how many whole sites to pick (to name sites use site: [...])")
        elif pick == "site_fraction":
            values["site_fraction"] = self.number(table["site_fraction"], f"{key}.site_fraction", 0.0, 1.0,
                                                  low_open=True)
        return FaultSelect(aps=filters.get("ap", ()), sites=filters.get("site", ()),
                           districts=filters.get("district", ()), programs=filters.get("program", ()),
                           zones=filters.get("zone", ()), scalars=frozenset(scalars), **values)


# --- resolution ---------------------------------------------------------------------------------


def share(fraction: float, total: int) -> int:
    """How many of ``total`` a fraction picks: the fraction as written times total, halves rounded
    up, and at least one when there is any (so a small --count run still shows every fault)."""
    if total == 0:
        return 0
    exact = Decimal(repr(fraction)) * total
    return max(1, int(exact.to_integral_value(rounding=ROUND_HALF_UP)))


def resolve(scenario: Scenario, fleet: Fleet, ap_ids: Sequence[str], seed: int, *,
            managed: Collection[str] = (), controllers: Sequence[str] = ()) -> Resolution:
    """The fault plan of every simulated AP that at least one fault hits.

    Filters match the whole inventory (so a typo is an error whatever --count is); the random
    pick is then among the simulated APs (``ap_ids``) that passed them. The controller faults of
    an AP (ap_leave, radio_down, interference) pick among the ``managed`` ones (behind a simulated
    controller); controller_down picks among ``controllers`` (ids) and keys its plans by controller id.
    """
    simulated = sorted({ap_id for ap_id in ap_ids if ap_id in fleet.aps})
    behind = set(managed)
    in_simulation = set(simulated)
    by_site: dict[str, list[str]] = {}
    for ap_id in simulated:
        by_site.setdefault(fleet.aps[ap_id].site_id, []).append(ap_id)
    plans: dict[str, _Plan] = {}
    hits = []
    for fault in scenario.faults:
        if fault.kind == "controller_down":
            chosen = _pick_controllers(fault, controllers, seed)
            for controller_id in chosen:
                plans.setdefault(controller_id, _Plan()).add(fault, seed, controller_id)
            hits.append(FaultHits(fault.index, fault.kind, len(controllers), tuple(chosen), ()))
            continue
        matched = _match(scenario, fleet, fault)
        candidates = simulated if matched is None else sorted(i for i in matched if i in in_simulation)
        if fault.kind in CONTROLLER_AP_KINDS:
            candidates = [ap_id for ap_id in candidates if ap_id in behind]
        picked = _pick(fault, candidates, fleet, seed)
        sites = sorted({fleet.aps[ap_id].site_id for ap_id in picked})
        if fault.kind == "power":  # a power cut darkens every AP at the site, whatever the filters said
            picked = [ap_id for site_id in sites for ap_id in by_site[site_id]]
        for ap_id in picked:
            plans.setdefault(ap_id, _Plan()).add(fault, seed, ap_id)
        hits.append(FaultHits(fault.index, fault.kind, len(candidates), tuple(picked), tuple(sites)))
    return Resolution({ap_id: plans[ap_id].freeze() for ap_id in sorted(plans)}, tuple(hits))


def describe(scenario: Scenario, resolved: Resolution) -> list[dict[str, Any]]:
    """Per fault, what it is and how much it hit, for the CLI to print (stable for --format json)."""
    return [{"fault": fault.index, "kind": fault.kind, "select": fault.select.describe(),
             "matched": hit.matched, "aps": len(hit.aps), "sites": len(hit.sites),
             "parameters": fault.parameters()}
            for fault, hit in zip(scenario.faults, resolved.hits, strict=True)]


def _pick_controllers(fault: Fault, controllers: Sequence[str], seed: int) -> list[str]:
    """The simulated controllers a controller_down fault takes: those its ids or globs name (all when it
    names none), then ``count`` of them drawn like an AP pick."""
    import fnmatch

    known = sorted(set(controllers))
    terms = fault.controllers
    named = [c for c in known if not terms or any(fnmatch.fnmatchcase(c, term) for term in terms)]
    if fault.controller_count is None:
        return named
    rng = random.Random(f"hotspotctl-scenario/{seed}/{fault.index}")
    return sorted(rng.sample(named, min(fault.controller_count, len(named))))


def _pick(fault: Fault, candidates: list[str], fleet: Fleet, seed: int) -> list[str]:
    """The random part of a select, seeded per fault; candidates come sorted, so dict order never matters."""
    select = fault.select
    rng = random.Random(f"hotspotctl-scenario/{seed}/{fault.index}")
    if select.fraction is not None:
        return sorted(rng.sample(candidates, share(select.fraction, len(candidates))))
    if select.count is not None:
        return sorted(rng.sample(candidates, min(select.count, len(candidates))))
    if select.whole_sites:
        groups: dict[str, list[str]] = {}
        for ap_id in candidates:
            groups.setdefault(fleet.aps[ap_id].site_id, []).append(ap_id)
        site_ids = sorted(groups)
        wanted = select.site_count if select.site_count is not None else share(select.site_fraction or 0.0,
                                                                                 len(site_ids))
        chosen = rng.sample(site_ids, min(wanted, len(site_ids)))
        return sorted(ap_id for site_id in chosen for ap_id in groups[site_id])
    return candidates


def _match(scenario: Scenario, fleet: Fleet, fault: Fault) -> list[str] | None:
    """The inventory APs the filters pick (None: no filter, every AP); ConfigErrors name the key path."""
    select = fault.select
    selection = select.selection()
    if not selection:
        return None
    key = f"faults[{fault.index}].select"

    def fail(where: str, problem: str) -> ConfigError:
        return ConfigError(f"{scenario.file_name}: {where}: {problem}")

    def term_key(name: str, i: int) -> str:
        return f"{key}.{name}" if name in select.scalars else f"{key}.{name}[{i}]"

    try:
        picked = fleet.select(selection)
    except InputError as exc:
        raise _locate(fleet, select, exc, key, fail, term_key) from None
    for i, term in enumerate(select.aps):
        if _GLOB.intersection(term):
            if not fleet.select(Selection(aps=(term,))):
                raise fail(term_key("ap", i), f"{term!r} matches no AP in the inventory")
        elif term not in fleet.aps:
            try:
                fleet.get(term)
            except InputError as exc:
                raise fail(term_key("ap", i), str(exc)) from None
    for i, term in enumerate(select.sites):
        if not fleet.select(Selection(sites=(term,))):
            raise fail(term_key("site", i), _no_site(fleet, term))
    if not picked:
        raise fail(key, f"{select.describe()}: these filters together match no AP in the inventory")
    return [ap.id for ap in picked]


def _locate(fleet: Fleet, select: FaultSelect, error: InputError, key: str,
            fail: Callable[[str, str], ConfigError], term_key: Callable[[str, int], str]) -> ConfigError:
    """Which name term Fleet.select refused: tried one at a time, on the error path only."""
    for name, terms in (("district", select.districts), ("program", select.programs), ("zone", select.zones)):
        for i, term in enumerate(terms):
            try:
                fleet.select(Selection(**{f"{name}s": (term,)}))
            except InputError as exc:
                message = re.sub(r"^--\w+ ", "", str(exc))  # the CLI flag means nothing in a file
                return fail(term_key(name, i), message)
    return fail(key, str(error))


def _no_site(fleet: Fleet, term: str) -> str:
    if _GLOB.intersection(term):
        return f"{term!r} matches no site id or name in the inventory"
    known = set(fleet.sites) | {site.name for site in fleet.sites.values()}
    close = difflib.get_close_matches(term, known, n=3, cutoff=0.75)
    hint = f"; did you mean {', '.join(repr(c) for c in sorted(close))}?" if close else ""
    return f"no site {term!r} in the inventory (by site id or name; names match exactly){hint}"


def _unit(seed: int, index: int, ap_id: str) -> float:
    """A per-AP number in [0, 1) from the seed: phases that differ per AP yet agree across processes."""
    digest = hashlib.blake2b(f"{seed}/{index}/{ap_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(slots=True)
class _Plan:
    """Faults of one AP being combined. Outage windows unite; a later reboot_loop or flapping fault
    replaces an earlier one; latency takes the worse bound of each; losses compound as independent
    drops; the slowest uplink wins; crowd factors multiply."""

    down: list[Window] = field(default_factory=list)
    reboot: tuple[float, float, float] | None = None
    flap: tuple[float, float, float] | None = None
    wrap32: bool = False
    latency: tuple[float, float] | None = None
    loss: float = 0.0
    link: int | None = None
    factor: float = 1.0
    left: list[Window] = field(default_factory=list)
    radios: list[tuple[str, Window]] = field(default_factory=list)
    interference: list[tuple[Window, float, float]] = field(default_factory=list)

    def add(self, fault: Fault, seed: int, ap_id: str) -> None:
        kind = fault.kind
        window = Window(fault.start_s, fault.start_s + fault.duration_s)
        if kind in ("down", "power", "controller_down"):
            self.down.append(window)
        elif kind == "ap_leave":
            self.left.append(window)
        elif kind == "radio_down":
            self.radios.append((fault.band, window))
        elif kind == "interference":
            self.interference.append((window, fault.utilization, fault.noise_db))
        elif kind == "reboot_loop" and fault.every_s is not None:
            self.reboot = (fault.every_s, fault.down_s, _unit(seed, fault.index, ap_id) * fault.every_s)
        elif kind == "flapping" and fault.period_s is not None:
            self.flap = (fault.period_s, fault.down_s, _unit(seed, fault.index, ap_id) * fault.period_s)
        elif kind == "wrap32":
            self.wrap32 = True
        elif kind == "latency" and fault.latency_ms is not None:
            low, high = fault.latency_ms
            self.latency = (max(low, self.latency[0]), max(high, self.latency[1])) if self.latency else (low, high)
        elif kind == "loss":
            self.loss = self.loss + fault.probability - self.loss * fault.probability
        elif kind == "slow_uplink" and fault.mbps is not None:
            self.link = fault.mbps if self.link is None else min(self.link, fault.mbps)
        elif kind == "crowded":
            self.factor *= fault.factor

    def freeze(self) -> ApFaults:
        merged: list[Window] = []
        for window in sorted(self.down, key=lambda w: (w.start_s, w.end_s)):
            if merged and window.start_s <= merged[-1].end_s:
                if window.end_s > merged[-1].end_s:
                    merged[-1] = Window(merged[-1].start_s, window.end_s)
            else:
                merged.append(window)
        reboot_every, reboot_down, reboot_phase = self.reboot or (None, 0.0, 0.0)
        flap_period, flap_down, flap_phase = self.flap or (None, 0.0, 0.0)
        return ApFaults(down=tuple(merged), reboot_every_s=reboot_every, reboot_down_s=reboot_down,
                        reboot_phase_s=reboot_phase, flap_period_s=flap_period, flap_down_s=flap_down,
                        flap_phase_s=flap_phase, wrap32=self.wrap32, latency_ms=self.latency,
                        loss=self.loss, link_mbps=self.link, clients_factor=self.factor, left=tuple(self.left),
                        radio_down=tuple(self.radios), interference=tuple(self.interference))
