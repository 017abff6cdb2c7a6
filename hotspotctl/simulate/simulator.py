"""The simulated fleet, and the processes that serve it.

``build_fleet`` turns inventory APs into ``SimAp``s: a family (UniFi, MikroTik, Aruba Instant,
generic), a traffic model for the AP's programme, a boot time weeks ago, counters that have been
running since, SNMPv3 for a seeded subset, and the scenario's faults. Everything is drawn from
``random.Random(f"{seed}:{ap_id}")``, so the same seed gives the same fleet in every process
and on every run, and adding an AP to the inventory does not reshuffle the others.

``Simulator`` forks the serving processes (``SO_REUSEPORT`` on one port) and collects their
counters through shared memory; ``stop()`` ends them.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol, TypeVar, cast

from hotspotctl.models.access_points import AccessPoint
from hotspotctl.simulate.agent import (
    BASE_ADDRESS,
    AgentStats,
    Responder,
    SimAp,
    address_of,
    engine_id_for,
    open_socket,
    serve,
)
from hotspotctl.simulate.devices import FAMILY_MIX, TREES
from hotspotctl.simulate.traffic import Clock, traffic_model

DEFAULT_PORT = 16161
EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: boot times are fixed in absolute time from here
_EPOCH = EPOCH
_STATS = (*(f.name for f in fields(AgentStats)), "cpu_s")


def _family(draw: float) -> str:
    total = 0.0
    for name, share in FAMILY_MIX:
        total += share
        if draw < total:
            return name
    return FAMILY_MIX[-1][0]


def build_fleet(aps: Sequence[AccessPoint], clock: Clock, *, seed: int, community: bytes | None,
                v3_fraction: float = 0.0, faults: Mapping[str, Any] | None = None) -> list[SimAp]:
    """One SimAp per inventory AP, in the given order (index i answers at address_of(i))."""
    faults = faults or {}
    fleet = []
    for index, ap in enumerate(aps):
        rng = random.Random(f"{seed}:{ap.id}")
        family = _family(rng.random())
        fault = faults.get(ap.id)
        wrap32 = bool(fault is not None and fault.wrap32)
        link = int(fault.link_mbps) if fault is not None and fault.link_mbps else 1000
        factor = fault.clients_factor if fault is not None else 1.0
        model = traffic_model(ap.program, link, (rng.random(), rng.random(), rng.random()), clients_factor=factor)
        # reboots every 20 to 90 days (firmware updates, power cuts), at a phase of its own
        period = (20 + 70 * rng.random()) * 86_400
        phase = _EPOCH + rng.random() * period
        v3 = rng.random() < v3_fraction  # drawn before the draws only wrap32 APs make, so faults never change it
        # 32-bit counters start a little below the wrap at every boot, so they wrap within minutes
        base_in = (1 << 32) - int(rng.random() * 2e8) if wrap32 else 0
        base_out = (1 << 32) - int(rng.random() * 5e7) if wrap32 else 0
        location = f"{ap.lat:.5f},{ap.lon:.5f} {ap.district or ''}".strip().encode()
        fleet.append(SimAp(
            index=index, id=ap.id, tree=TREES[(family, wrap32)], traffic=model, link_mbps=link,
            boot_phase=phase, boot_period_s=period, base_in=base_in, base_out=base_out,
            community=None if v3 else community, v3=v3, engine_id=engine_id_for(index), location=location,
            faults=fault, clients_factor=factor,
            latency_ms=fault.latency_ms if fault is not None else None,
            loss=fault.loss if fault is not None else 0.0))
    return fleet


@dataclass(frozen=True, slots=True)
class Served:
    """What the simulator serves, for the CLI and the demo to print."""

    aps: int
    port: int
    first_address: str
    last_address: str
    families: dict[str, int]
    v3: int
    processes: int


class Simulator:
    """Serving processes for a fleet; ``with Simulator(...) as sim:`` starts and stops them."""

    def __init__(self, fleet: Sequence[SimAp], clock: Clock, *, port: int = DEFAULT_PORT, processes: int = 2,
                 usm: Any = None, base: str = BASE_ADDRESS, seed: int = 0) -> None:
        self.fleet = fleet
        self.clock = clock
        self.port = port
        self.processes = max(1, processes)
        self.usm = usm
        self.base = base
        self.seed = seed
        self._ctx = multiprocessing.get_context("fork")
        self._stats = self._ctx.Array("d", len(_STATS) * self.processes, lock=False)
        self._stop = self._ctx.Event()
        self._ready = self._ctx.Barrier(self.processes + 1)
        self._workers: list[Any] = []

    def served(self) -> Served:
        families: dict[str, int] = {}
        aps = [ap for ap in self.fleet if ap.controller is None]  # the controllers' agents are listed apart
        for ap in aps:
            families[ap.family] = families.get(ap.family, 0) + 1
        return Served(len(aps), self.port, address_of(0, self.base),
                      address_of(max(len(self.fleet) - 1, 0), self.base), families,
                      sum(1 for ap in aps if ap.v3), self.processes)

    def start(self) -> Simulator:
        # Bind once here so that a port in use is an error now, in the parent, not in N children; closed
        # before forking, or the kernel would hand this socket (that nobody reads) a share of the requests.
        open_socket(self.port).close()
        for worker in range(self.processes):
            process = self._ctx.Process(target=self._serve, args=(worker,), name=f"hotspotctl-sim-{worker}",
                                        daemon=True)
            process.start()
            self._workers.append(process)
        self._ready.wait(timeout=30)
        return self

    def _serve(self, worker: int) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        sock = open_socket(self.port)
        responder = Responder(self.fleet, self.clock, usm=self.usm, seed=self.seed + worker)
        offset = worker * len(_STATS)

        def publish() -> None:
            values = [getattr(responder.stats, name) for name in _STATS[:-1]]
            values.append(time.process_time())
            for i, value in enumerate(values):
                self._stats[offset + i] = value

        self._ready.wait(timeout=30)
        try:
            serve(sock, responder, base=self.base, should_stop=self._stop.is_set, on_tick=publish, tick_s=0.25)
        finally:
            publish()
            sock.close()

    def stats(self) -> dict[str, float]:
        """Counters summed over the processes (requests, answered, dropped_*, cpu_s)."""
        total = dict.fromkeys(_STATS, 0.0)
        for worker in range(self.processes):
            for i, name in enumerate(_STATS):
                total[name] += self._stats[worker * len(_STATS) + i]
        return total

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for process in self._workers:
            process.join(timeout)
            if process.is_alive():
                process.terminate()
                process.join(1)
        self._workers.clear()

    def alive(self) -> bool:
        return bool(self._workers) and all(p.is_alive() for p in self._workers)

    def serve(self, *, stop: Callable[[], bool], duration: float | None = None, every_s: float = 10.0,
              report: Callable[[dict[str, float]], None] | None = None) -> dict[str, float]:
        """Wait while the started workers serve: until ``stop()`` says so, a worker dies, ``duration`` seconds
        have passed, or Ctrl-C. ``report(stats)`` every ``every_s`` seconds; the final stats."""
        started = time.monotonic()
        last = 0.0
        try:
            while not stop() and self.alive():
                time.sleep(0.2)
                elapsed = time.monotonic() - started
                if duration is not None and elapsed >= duration:
                    break
                if report is not None and elapsed - last >= every_s:
                    last = elapsed
                    report(self.stats())
        except KeyboardInterrupt:
            pass
        return self.stats()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_processes() -> int:
    """Half the CPUs (the poller needs the rest), at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


# -- planning a simulation from the inventory -------------------------------------------------------


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_Identified = TypeVar("_Identified", bound=_HasId)


def spread(aps: Sequence[_Identified], count: int | None) -> list[_Identified]:
    """``count`` APs spread evenly over the id-sorted fleet (every district, every programme), or all: APs, or
    anything with their ``id`` (an inventory file's rows, benchmarks/scale_bench.py)."""
    ordered = sorted(aps, key=lambda ap: ap.id)
    if count is None or count >= len(ordered):
        return ordered
    step = len(ordered) / count
    return [ordered[int(i * step)] for i in range(count)]


@dataclass
class SimulationPlan:
    aps: list[AccessPoint]  # the inventory APs simulated, index i at address_of(i)
    fleet: list[SimAp]  # the APs' agents, then the controllers' (index len(aps) + j)
    clock: Clock
    scenario: Any  # scenario.Scenario or None
    faults: dict[str, Any]
    port: int
    base: str = BASE_ADDRESS
    controllers: list[Any] = field(default_factory=list)  # controllers.SimController, served after the APs
    controller_rows: list[AccessPoint] = field(default_factory=list)  # their inventory rows (new or existing)

    def address(self, index: int) -> str:
        return f"{address_of(index, self.base)}:{self.port}"

    def controller_address(self, j: int) -> str:
        return self.address(len(self.aps) + j)

    def unassigned(self) -> int:
        """How many simulated APs the inventory does not point at (their mgmt_address differs)."""
        return sum(1 for i, ap in enumerate(self.aps) if ap.mgmt_address != self.address(i))


def served_rows(plan: SimulationPlan, sim: Simulator) -> dict[str, Any]:
    """What ``sim`` serves for ``plan``, as `simulate` and `demo` print it (and `simulate -f json` gives it)."""
    from hotspotctl.simulate.scenario import Resolution, describe

    served = sim.served()
    faults = cast(Resolution, plan.faults)  # resolve()'s, whenever there is a scenario
    return {
        "aps": served.aps, "port": served.port, "addresses": f"{served.first_address} .. {served.last_address}",
        "families": served.families, "v3": served.v3, "processes": served.processes,
        "clock": {"speed": plan.clock.speed, "local_hour": round(plan.clock.hour(plan.clock.t0), 2)},
        "scenario": plan.scenario.name if plan.scenario is not None else None,
        "faults": describe(plan.scenario, faults) if plan.scenario is not None else [],
        "controllers": [{"id": c.id, "vendor": c.vendor.name, "aps": len(c.aps), "address": plan.controller_address(j)}
                        for j, c in enumerate(plan.controllers)],
    }


def plan_controllers(inventory: Any, chosen: Sequence[AccessPoint], count: int,
                     ) -> list[tuple[AccessPoint, list[AccessPoint]]]:
    """The controllers to simulate, each with the chosen APs it manages: the inventory's controller rows
    (with the APs that name them), then ``count`` new ones, each taking the APs of one district (the
    districts with the most chosen APs not behind a controller yet, then by name), vendors in turn."""
    from hotspotctl.models.access_points import ROLE_CONTROLLER

    rows = dict(getattr(inventory, "controllers", {}))
    managed: dict[str, list[AccessPoint]] = {ctl_id: [] for ctl_id in sorted(rows)}
    free: dict[str, list[AccessPoint]] = {}
    for ap in chosen:
        if ap.controller is not None and ap.controller in managed:
            managed[ap.controller].append(ap)
        elif ap.controller is None:
            free.setdefault(ap.district or "", []).append(ap)
    plans = [(rows[ctl_id], aps) for ctl_id, aps in managed.items()]
    districts = sorted(free, key=lambda d: (-len(free[d]), d))[:count]
    taken = set(rows)
    for number, district in enumerate(districts, 1):
        ctl_id = f"WLC-{number:02d}"
        while ctl_id in taken or ctl_id in inventory.aps:
            number += 100
            ctl_id = f"WLC-{number:02d}"
        taken.add(ctl_id)
        row = AccessPoint(ctl_id, None, None, district=district or None, role=ROLE_CONTROLLER)
        plans.append((row, [replace(ap, controller=ctl_id) for ap in free[district]]))
    return plans


def vendor_for(row: AccessPoint, j: int) -> str:
    """A controller row's simulated vendor: named by its profile when that says one, else the mix in turn."""
    from hotspotctl.simulate.controllers import VENDOR_ORDER

    profile = (row.profile or "").lower()
    for vendor, words in (("cisco_aireos", ("cisco", "aireos", "wlc")), ("aruba_mc", ("aruba",)),
                          ("ruckus_sz", ("ruckus", "smartzone")), ("huawei_ac", ("huawei",))):
        if any(word in profile for word in words):
            return vendor
    return VENDOR_ORDER[j % len(VENDOR_ORDER)]


def plan_simulation(inventory: Any, aps: Sequence[AccessPoint], *, seed: int, scenario: Any = None,
                    community: bytes | None, v3_fraction: float, port: int = DEFAULT_PORT, speed: float = 1.0,
                    start_hour: float | None = None, now: float | None = None,
                    base: str = BASE_ADDRESS, controllers: int = 0) -> SimulationPlan:
    """The fleet to serve: ``aps`` (from ``inventory``, a Fleet) with the scenario's faults resolved.

    APs behind a controller (the inventory's ``controller`` column, or one of ``controllers`` new ones
    that take a district each) are silent at their own address; their controller answers for them at
    an address after the APs' (``SimulationPlan.controller_address``).
    """
    from hotspotctl.models.radios import normal_mac
    from hotspotctl.simulate import controllers as ctl
    from hotspotctl.simulate.scenario import resolve

    clock = Clock.starting(time.time() if now is None else now, speed=speed, start_hour=start_hour)
    chosen = [ap for ap in aps if ap.role != "controller"]
    groups = plan_controllers(inventory, chosen, controllers)
    regrouped = {ap.id: ap for _, members in groups for ap in members}
    chosen = [regrouped.get(ap.id, ap) for ap in chosen]
    managed = set(regrouped)
    controller_ids = [row.id for row, _ in groups]
    faults = resolve(scenario, inventory, [ap.id for ap in chosen], seed, managed=managed,
                     controllers=controller_ids) if scenario is not None else {}
    fleet = build_fleet(chosen, clock, seed=seed, community=community, v3_fraction=v3_fraction, faults=faults)
    by_id = {sim.id: sim for sim in fleet}
    simulated: list[Any] = []
    agents: list[SimAp] = []
    for j, (row, members) in enumerate(groups):
        sims = [by_id[ap.id] for ap in members]
        for sim in sims:
            sim.direct = False
        cap = ctl.managed_aps(sims, controller_index=j, seed=seed, names=[ap.name_on_controller for ap in members])
        for managed_ap, ap in zip(cap, members, strict=True):
            mac = normal_mac(ap.ap_mac) if ap.ap_mac else None
            if mac is not None:
                managed_ap.mac = bytes.fromhex(mac.replace(":", ""))
                managed_ap.key = tuple(managed_ap.mac)
        controller = ctl.SimController(row.id, vendor_for(row, j), cap, index=j)
        simulated.append(controller)
        agents.append(ctl.controller_agent(controller, clock, index=len(fleet) + j, community=community,
                                           faults=faults.get(row.id)))
    return SimulationPlan(chosen, [*fleet, *agents], clock, scenario, faults, port, base, simulated,
                          [row for row, _ in groups])


def assign_addresses(store: Any, plan: SimulationPlan, *, v2c_auth: str, v3_auth: str) -> int:
    """Point the inventory's simulated APs at the simulator (mgmt_address, snmp_auth); how many changed."""
    from datetime import UTC, datetime

    from hotspotctl.store.inventory import (
        existing_ap_ids,
        insert_access_points,
        load_access_points,
        update_access_points,
    )

    changed = []
    for index, (ap, sim) in enumerate(zip(plan.aps, plan.fleet[:len(plan.aps)], strict=True)):
        auth = v3_auth if sim.v3 else v2c_auth
        if ap.mgmt_address != plan.address(index) or (ap.snmp_auth or "default") != auth:
            changed.append(replace(ap, mgmt_address=plan.address(index), snmp_auth=auth))
    controllers = [replace(row, mgmt_address=plan.controller_address(j), snmp_auth=v2c_auth)
                   for j, row in enumerate(plan.controller_rows)]
    now = datetime.now(UTC)
    with store.write() as conn:
        known = existing_ap_ids(conn, [row.id for row in controllers])
        fresh = [row for row in controllers if row.id not in known]
        moved = [row for row, old in zip(controllers, plan.controller_rows, strict=True)
                 if row.id in known and (old.mgmt_address, old.snmp_auth) != (row.mgmt_address, row.snmp_auth)]
        insert_access_points(conn, fresh, now)  # controllers first: an AP may only name a controller row
        update_access_points(conn, moved, now)
        current = load_access_points(conn)
        changed += [ap for ap in plan.aps if ap.controller is not None and current.get(ap.id) is not None
                    and current[ap.id].controller != ap.controller and ap.id not in {c.id for c in changed}]
        update_access_points(conn, changed, now)
    plan.controller_rows = controllers
    by_id = {ap.id: ap for ap in changed}
    plan.aps = [by_id.get(ap.id, ap) for ap in plan.aps]
    return len(changed) + len(fresh) + len(moved)


def scaled_city(inventory: Any, picked: Sequence[AccessPoint], *, scale: int, count: int | None,
                controllers: int, bounds: Sequence[float]) -> tuple[Any, list[AccessPoint]]:
    """``scale`` copies of the city (``simulate --scale``): a Fleet of them, and the APs to simulate.

    Copy 1 is ``picked`` less the copies a previous ``--scale --assign`` stored (they are made again
    from it); ``count`` APs of it are spread over the city (``count`` per copy), and ``controllers`` new
    controllers each take a district of it, before copying: every copy has the same controllers (suffixed,
    see simulate.scale), each over its own copy's APs. Copies come one after the other, so copy 1's APs
    are at the addresses a run without --scale gives them.
    """
    from hotspotctl.inventory.fleet import Fleet
    from hotspotctl.inventory.sites import derive_sites
    from hotspotctl.simulate.scale import copy_id, originals, scale_fleet, split_copy

    city = originals(list(inventory.aps.values()))
    city_ids = frozenset(ap.id for ap in city)
    wanted = {ap.id for ap in picked}
    base = Fleet({ap.id: ap for ap in city}, {}, inventory.zones)
    chosen = spread([ap for ap in city if ap.id in wanted and not ap.is_controller], count)
    groups = plan_controllers(base, chosen, controllers)
    regrouped = {ap.id: ap for _, members in groups for ap in members}
    chosen = [regrouped.get(ap.id, ap) for ap in chosen]
    copies = scale_fleet([*chosen, *(row for row, _ in groups)], scale, bounds)
    aps = {ap.id: ap for ap in copies}
    # a copy's site is named as the city's, suffixed like its APs, so that a scenario naming a site picks the
    # city's own (copy 1) and not ten of the same name
    copy_of = {ap.site_id: split_copy(ap.id, city_ids)[1] for ap in copies if ap.site_id}
    sites = derive_sites(aps.values())
    for site_id, site in sites.items():
        suffix = copy_id("", copy_of[site_id])  # "" for copy 1; an explicit site's name (its id) has it already
        if suffix and not site.name.endswith(suffix):
            sites[site_id] = replace(site, name=site.name + suffix)
    return Fleet(aps, sites, inventory.zones), [ap for ap in copies if not ap.is_controller]


def import_simulated(store: Any, plan: SimulationPlan, rules: Any, *, scale: int, v2c_auth: str,
                     v3_auth: str) -> Any:
    """Write every simulated AP and controller of ``plan`` (all the copies of ``simulate --scale``) into the
    inventory at its simulated address, through ``inventory import``'s own path: a CSV file of the rows,
    imported in merge mode and strict (checked first, then one transaction; a rejected row writes nothing),
    with ``inventory.bounds`` widened to the box holding every copy. Idempotent: a second run changes no
    row. The ImportReport; an InputError naming the first rejected row."""
    import csv
    import tempfile
    from pathlib import Path

    from hotspotctl.csvsafe import neutralise
    from hotspotctl.errors import InputError
    from hotspotctl.inventory.importer import import_inventory
    from hotspotctl.models.access_points import FIELDS
    from hotspotctl.simulate.scale import scaled_bounds

    aps = [replace(ap, mgmt_address=plan.address(index), snmp_auth=v3_auth if sim.v3 else v2c_auth)
           for index, (ap, sim) in enumerate(zip(plan.aps, plan.fleet[:len(plan.aps)], strict=True))]
    controllers = [replace(row, mgmt_address=plan.controller_address(j), snmp_auth=v2c_auth)
                   for j, row in enumerate(plan.controller_rows)]

    def cell(value: object) -> object:
        if value is None:
            return ""
        return neutralise(value) if isinstance(value, str) else repr(value) if isinstance(value, float) else value

    with tempfile.TemporaryDirectory(prefix="hotspotctl-simulate-") as tmp:
        path = Path(tmp) / f"simulate-scale-{scale}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(FIELDS)
            for ap in (*controllers, *aps):  # (a file's controller rows may come in any order; these first)
                values = ap.values()
                writer.writerow([cell(values[name]) for name in FIELDS])
        wide = replace(rules, bounds=scaled_bounds(rules.bounds, scale))
        report = import_inventory(store, path, wide, merge=True, strict=True)
    if report.rejected:
        first = report.rejected[0]
        raise InputError(f"the simulated copies were not written: {len(report.rejected)} rows rejected, the first "
                         f"(row {first.row}, {first.column} {first.value!r}): {first.reason}")
    plan.aps = aps
    plan.controller_rows = controllers
    return report
