"""One poll of many APs: turn each AP's discovered layout into a GET, and each answer into a Sample.

Every AP goes through our own engine and discovery walker, both on one ``udp.UdpTransport`` (its
sockets, IPv4 and IPv6, request-ids, in-flight cap, per-agent timeouts, and SNMPv3's USM); the few
profiles whose client count is a row count walk it with the walker after their GET. Every AP
comes back as a Sample or a PollError whose kind says what failed (``model.failure_class``); one
dead or slow AP never holds up the rest. Management addresses that are names are resolved off the
event loop (``udp.Resolver``), within the AP's deadline, and looked up again after
``snmp.name_ttl_s``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from hotspotctl.collectors.address import split_address
from hotspotctl.collectors.auth import DEFAULT_AUTH, Credentials, for_writing, resolve
from hotspotctl.collectors.clock import monotonic_clock
from hotspotctl.collectors.discovery import client_count, discover
from hotspotctl.collectors.engine import GetFailure, GetReply, GetRequest, GetShape, SnmpGetEngine
from hotspotctl.collectors.model import Absent, Discovery, Interface, PollError, PollResult, Sample, Value
from hotspotctl.collectors.oids import (
    IF_HC_IN_OCTETS,
    IF_HC_OUT_OCTETS,
    IF_HIGH_SPEED,
    IF_IN_OCTETS,
    IF_OPER_STATUS,
    IF_OUT_OCTETS,
    IF_SPEED,
    UPTIME_SOURCES,
    Oid,
    format_oid,
    parse_oid,
)
from hotspotctl.collectors.profiles import GENERIC, Profile, ProfileSet, RadioTable
from hotspotctl.collectors.ssh import CommandResult, SshCollector, SshTarget
from hotspotctl.collectors.tables import (
    CellRadios,
    compile_cell_radios,
    interface_radios,
    radios_from_cells,
    table_columns,
    unread_fields,
    walk_columns,
    walk_controller,
)
from hotspotctl.collectors.udp import ADDRESSES_MAX, Address, Resolver, UdpTransport, Unresolved, numeric_address
from hotspotctl.collectors.usmmanager import ManagerUser
from hotspotctl.collectors.walker import WalkerClient, WalkerDevice, fewer_collections
from hotspotctl.errors import CollectError, ConfigError, PollErrorKind
from hotspotctl.models.radios import ControllerReading, Radio
from hotspotctl.settings import Settings, SnmpSettings, SshSettings

log = logging.getLogger(__name__)
_UPTIME_FIELDS = {"sys_uptime": "sys_uptime", "hr_system_uptime": "hr_uptime", "snmp_engine_time": "engine_time"}
# Figures of Poller.stats() that are levels, not counts: never differenced between two readings.
_LEVELS = frozenset({"receive_buffer_bytes", "in_flight_limit", "in_flight", "max_in_flight"})
_NO_NAMES: Mapping[int, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Target:
    """An AP as the poller sees it: where, with which credentials, and (once discovered) what to ask."""

    ap: str
    address: str | None  # the inventory's mgmt_address: host or host:port
    auth: str  # the credential set's name
    profile: str | None = None  # pinned by the inventory; None = detect


@dataclass(frozen=True, slots=True)
class PollPlan:
    """Where each figure sits in the GET's OID list."""

    oids: tuple[Oid, ...]
    uptime: tuple[tuple[str, int], ...]  # (Sample field, position)
    in_pos: int | None
    out_pos: int | None
    speed_pos: int | None
    oper_pos: int | None
    clients: slice | None
    counter_bits: int
    link_scale: float
    link_is_bps: bool  # ifSpeed (bit/s) rather than ifHighSpeed (Mb/s)
    clients_kind: str | None
    walk_clients: Oid | None  # a column to count rows of, by walking
    uplink: str | None = None  # which interface the counters are read from: "ifIndex.N" (Sample.uplink)
    profile: str = ""
    # The radio table's instances (Discovery.radio_cells) as (column, row index), at ``radio_slice`` of the
    # GET, for the radios whose KEYs discovery fixed; no KEYs: the radios are ``fixed_radios``, the IF-MIB
    # radio interfaces discovery chose (name, ifIndex, the oper status it saw), the same every poll.
    radio_slice: slice | None = None
    radio_cells: tuple[tuple[Oid, Oid], ...] = ()
    radio_keys: tuple[Oid, ...] = ()
    radio_if_names: Mapping[int, str] = field(default_factory=dict)
    fixed_radios: tuple[Radio, ...] = ()


@functools.lru_cache(maxsize=1 << 16)
def plan_poll(discovery: Discovery) -> PollPlan:
    """The GET for a layout; cached, since every cycle asks again and most layouts repeat."""
    oids: list[Oid] = []

    def add(oid: Oid) -> int:
        oids.append(oid)
        return len(oids) - 1

    uptime = tuple((_UPTIME_FIELDS[name], add(UPTIME_SOURCES[name])) for name in discovery.uptime_sources)
    in_pos = out_pos = speed_pos = oper_pos = None
    uplink = discovery.uplink
    if uplink is not None:
        index = uplink.if_index
        if discovery.counter_bits == 64:
            in_pos, out_pos = add((*IF_HC_IN_OCTETS, index)), add((*IF_HC_OUT_OCTETS, index))
        elif discovery.counter_bits == 32:
            in_pos, out_pos = add((*IF_IN_OCTETS, index)), add((*IF_OUT_OCTETS, index))
        if discovery.link_source == "if_high_speed":
            speed_pos = add((*IF_HIGH_SPEED, index))
        elif discovery.link_source == "if_speed":
            speed_pos = add((*IF_SPEED, index))
        oper_pos = add((*IF_OPER_STATUS, index))
    clients = None
    walk_clients = None
    if discovery.clients_kind in ("scalar", "sum"):
        start = len(oids)
        for text in discovery.clients_oids:
            add(parse_oid(text))
        clients = slice(start, len(oids))
    elif discovery.clients_kind == "count" and discovery.clients_oids:
        walk_clients = parse_oid(discovery.clients_oids[0])
    radio_slice = None
    cells: list[tuple[Oid, Oid]] = []
    if discovery.radio_keys:
        start = len(oids)
        for column_text, rows in discovery.radio_cells:
            column = parse_oid(column_text)
            for row in rows:
                row_index = parse_oid(f"0.0.{row}")[2:]  # one sub-id alone is not an OID to parse_oid
                cells.append((column, row_index))
                add((*column, *row_index))
        radio_slice = slice(start, len(oids))
    if discovery.radio_keys:
        keys = tuple(parse_oid(f"0.0.{key}")[2:] for key in discovery.radio_keys)
        if_names: Mapping[int, str] = dict(discovery.radio_if_names)
        fixed: tuple[Radio, ...] = ()
    else:
        keys, if_names = (), _NO_NAMES
        fixed = _fixed_radios(discovery.radios)
    return PollPlan(tuple(oids), uptime, in_pos, out_pos, speed_pos, oper_pos, clients,
                    discovery.counter_bits or 64, discovery.link_scale, discovery.link_source == "if_speed",
                    discovery.clients_kind, walk_clients, None if uplink is None else f"ifIndex.{uplink.if_index}",
                    discovery.profile, radio_slice, tuple(cells), keys, if_names, fixed)


@functools.lru_cache(maxsize=1 << 12)
def _fixed_radios(interfaces: tuple[Interface, ...]) -> tuple[Radio, ...]:
    """The Radio records of IF-MIB radio interfaces, shared by every AP whose interfaces are the same (a fleet
    of one model repeats them), so 35,000 plans do not keep 70,000 more objects for the collector to scan."""
    return interface_radios(interfaces)


# A plan's radio reader, by the plan's id (the entry keeps the plan, so the id is not reused meanwhile); None for
# a layout CellRadios does not cover. A fleet has a few dozen plans: the bound only guards a growing one.
_CELL_RADIOS_MAX = 1 << 14
_cell_radios: dict[int, tuple[PollPlan, RadioTable, CellRadios | None]] = {}


def _poll_radios(plan: PollPlan, table: RadioTable, values: Sequence[Value]) -> tuple[tuple[Radio, ...], bool]:
    """``radios_from_cells`` of a poll, through the plan's CellRadios compiled on its first poll."""
    entry = _cell_radios.get(id(plan))
    if entry is None or entry[0] is not plan or entry[1] is not table:
        if len(_cell_radios) >= _CELL_RADIOS_MAX:
            _cell_radios.clear()
        entry = _cell_radios[id(plan)] = (plan, table, compile_cell_radios(table, plan.radio_cells, plan.radio_keys,
                                                                           plan.radio_if_names))
    reader = entry[2]
    if reader is None:
        return radios_from_cells(table, plan.radio_cells, values, plan.radio_keys, plan.radio_if_names)
    return reader(values)


def build_sample(ap: str, plan: PollPlan, values: Sequence[Value], at: float, rtt_ms: float,
                 walked_clients: int | None = None, *, mono: float | None = None,
                 radio_table: RadioTable | None = None) -> tuple[Sample, bool]:
    """The Sample from a GET's values, and whether a discovered object has gone (rediscover).

    ``at`` and ``mono`` are time.time() and time.monotonic() when the answer arrived: the point's
    timestamp, and the reading rates take their intervals from. ``radio_table``: the profile's radio
    table, for a plan with radio KEYs (without it, such a plan gives no radios).
    """
    gone = False

    def number(pos: int | None) -> int | None:
        nonlocal gone
        if pos is None:
            return None
        value = values[pos]
        if isinstance(value, Absent):
            gone = True
            return None
        return value if isinstance(value, int) else None

    fields: dict[str, int | None] = {name: number(pos) for name, pos in plan.uptime}
    speed = number(plan.speed_pos)
    link_mbps = None
    if speed:
        link_mbps = (speed / 1e6 if plan.link_is_bps else float(speed)) * plan.link_scale
    oper = number(plan.oper_pos)
    clients = walked_clients
    if plan.clients is not None:
        client_values = values[plan.clients]
        if any(isinstance(v, Absent) for v in client_values):
            gone = True
        clients = client_count(plan.clients_kind, client_values)
    radios = plan.fixed_radios
    if plan.radio_keys and radio_table is not None:
        radio_values = values[plan.radio_slice] if plan.radio_slice is not None else ()
        radios, radios_gone = _poll_radios(plan, radio_table, radio_values)
        gone = gone or radios_gone
    sample = Sample(ap=ap, at=at, rtt_ms=rtt_ms, in_octets=number(plan.in_pos),
                    out_octets=number(plan.out_pos), counter_bits=plan.counter_bits, link_mbps=link_mbps,
                    oper_up=None if oper is None else oper == 1, clients=clients, mono=mono,
                    clock=None if mono is None else monotonic_clock(), uplink=plan.uplink, radios=radios,
                    **fields)  # the uptime fields (ints)
    return sample, gone


class Poller:
    """Discovers and polls Targets with one engine and one walker on one transport; use as a context manager."""

    def __init__(self, settings: SnmpSettings, profiles: ProfileSet, *, env: Mapping[str, str] | None = None,
                 ssh: SshSettings | None = None, known_hosts: Path | None = None) -> None:
        self.settings = settings
        self.profiles = profiles
        self.env = env
        self._ssh_settings = ssh or SshSettings()
        self._known_hosts = known_hosts or Settings().known_hosts
        self._ssh: SshCollector | None = None
        self._credentials: dict[str, Credentials] = {}
        # mgmt_address -> its socket address when it is an IP literal, or what is wrong with it: one entry (and the
        # Address tuple every request and RTT estimate shares) per AP. Names go to the resolver, with its TTL.
        self._literals: dict[str, Address | str] = {}
        self._shapes: dict[tuple[bytes, ManagerUser | None, tuple[Oid, ...]], GetShape] = {}
        # One transport for the polls and discovery's walks: one receive buffer, one in-flight cap
        # (so together they never send more than the buffer holds), one timeout per agent.
        self.transport = UdpTransport(receive_buffer_bytes=settings.receive_buffer_bytes,
                                      max_in_flight=settings.max_in_flight, timeout_s=settings.timeout_s,
                                      min_timeout_s=min(settings.min_timeout_s, settings.timeout_s),
                                      max_timeout_s=settings.deadline_s)
        self.engine = SnmpGetEngine(timeout_s=settings.timeout_s, retries=settings.retries,
                                    deadline_s=settings.deadline_s, transport=self.transport)
        self.walker = WalkerClient(timeout_s=settings.timeout_s, retries=settings.retries,
                                deadline_s=settings.deadline_s, max_oids_per_get=settings.max_oids_per_get,
                                transport=self.transport)
        self.resolver = Resolver(ttl_s=settings.name_ttl_s)

    def __enter__(self) -> Poller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def from_settings(cls, settings: Settings, profiles: ProfileSet, *,
                      env: Mapping[str, str] | None = None) -> Poller:
        return cls(settings.snmp, profiles, env=env, ssh=settings.ssh, known_hosts=settings.known_hosts)

    @property
    def ssh(self) -> SshCollector:
        """The SSH side, made on first use (a fleet with no SSH AP never starts its threads)."""
        if self._ssh is None:
            self._ssh = SshCollector(self._ssh_settings, self.profiles, self._known_hosts, env=self.env)
        return self._ssh

    async def poll_ssh(self, targets: Sequence[SshTarget], *,
                       progress: Callable[[int], None] | None = None) -> list[PollResult]:
        """Poll APs whose collector is ssh: a Sample or PollError each, in order."""
        if not targets:
            return []
        return await self.ssh.poll(targets, progress=progress)

    def close(self) -> None:
        self.engine.close()
        self.walker.close()
        self.transport.close()
        self.resolver.close()
        if self._ssh is not None:
            self._ssh.close()

    def radio_table(self, profile: str) -> RadioTable | None:
        """The radio table of a profile (its `radios` section), None when it has none or is not known."""
        found = self.profiles.profiles.get(profile)
        return found.radios if found is not None else None

    def credentials(self, name: str) -> Credentials:
        if name not in self._credentials:
            self._credentials[name] = resolve(name, self.settings.auth, self.env)
        return self._credentials[name]

    def stats(self, since: Mapping[str, int] | None = None) -> dict[str, int]:
        """The engine's and the transport's figures (the kernel's receive drops read now), as counts
        since ``since`` (an earlier reading) when given; levels (buffer, limits) as they are now."""
        self.transport.kernel_drops()
        now = {**self.engine.stats.as_dict(), **self.transport.stats.as_dict()}
        if since is None:
            return now
        return {key: value if key in _LEVELS else value - since.get(key, 0) for key, value in now.items()}

    def _parse(self, target: Target) -> tuple[str, int] | str:
        """(host, port) from the inventory's mgmt_address, or what is wrong with it."""
        text = target.address
        if not text:
            return "no mgmt_address in the inventory"
        try:
            return split_address(text, self.settings.port)
        except ValueError as exc:
            return f"bad mgmt_address {exc}"

    def address_now(self, target: Target) -> Address | str | None:
        """The socket address if known without a lookup (an IP, a fresh name), the reason there is
        none, or None when the name must be looked up (``address``)."""
        found = self._literals.get(target.address or "")
        if found is not None:
            return found
        parsed = self._parse(target)
        if isinstance(parsed, str):
            found = parsed
        else:
            found = numeric_address(*parsed)
            if found is None:  # a name
                return self.resolver.cached(*parsed)
        if len(self._literals) >= ADDRESSES_MAX:
            self._literals.clear()
        self._literals[target.address or ""] = found
        return found

    async def address(self, target: Target, timeout_s: float | None = None) -> Address | str:
        """The socket address, or the reason there is none; names are looked up off the loop."""
        parsed = self._parse(target)
        if isinstance(parsed, str):
            return parsed
        found = await self.resolver.resolve(*parsed, self.settings.deadline_s if timeout_s is None else timeout_s)
        return found.reason if isinstance(found, Unresolved) else found

    def usm(self, credentials: Credentials) -> ManagerUser | None:
        """The SNMPv3 user of a credential set on this poller's transport; None for v2c."""
        return None if credentials.version == "2c" else self.transport.usm.user(credentials)

    def device(self, target: Target, address: Address, *, budget_s: float | None = None) -> WalkerDevice:
        """The walker's device for ``target`` at ``address``, v2c or SNMPv3 as its credential set says; with
        ``budget_s``, as many retries as fit in that budget at the first timeout, and none of its requests waited
        for past ``budget_s`` from now, all of them together (raises ConfigError for a credential set that is not
        configured)."""
        credentials = self.credentials(target.auth or DEFAULT_AUTH)
        retries = until = None
        if budget_s is not None:
            timeout = self.settings.timeout_s
            retries = min(self.settings.retries, max(0, int(budget_s / timeout + 1e-9) - 1))
            until = time.monotonic() + budget_s
        return self.walker.device_at(address, credentials.community, auth_name=credentials.name, retries=retries,
                                     usm=self.usm(credentials), until=until)

    async def reach(self, target: Target) -> WalkerDevice | PollError:
        """The device to walk for ``target``: its address (looked up off the loop when it is a name that is not
        fresh in the cache), then the walker's device; or the PollError (``no_address``) saying why there is no
        address. Discovery and the controllers' walks both start here. Raises ConfigError for a credential set
        that is not configured (the caller's PollError)."""
        address = self.address_now(target)
        if address is None:
            address = await self.address(target)
        if isinstance(address, str):
            return PollError(target.ap, time.time(), PollErrorKind.NO_ADDRESS, address)
        return self.device(target, address)

    # -- discovery -------------------------------------------------------------------------

    async def discover(self, targets: Sequence[Target], *, progress: Callable[[int], None] | None = None,
                       down: Container[str] = frozenset()) -> dict[str, Discovery | PollError]:
        """Every AP through the walker, many at once (v2c and SNMPv3 alike).

        The APs whose ids are in ``down`` (believed down) get the same retries and deadline as the
        others (a slow agent is answered by any of its tries), after them: while they wait out their
        timeouts, the in-flight slots they hold do not delay the APs that answer.
        Safe to run while ``poll`` runs: the walker and the engine share the transport.
        """

        async def one(target: Target) -> Discovery | PollError:
            try:
                device = await self.reach(target)
                if isinstance(device, PollError):
                    return device
                return await discover(device, self.profiles, pinned=target.profile)
            except CollectError as exc:
                return PollError(target.ap, time.time(), exc.kind, str(exc))
            except ConfigError as exc:
                return PollError(target.ap, time.time(), PollErrorKind.CONFIG, str(exc))
            finally:
                if progress is not None:
                    progress(1)

        results: list[Discovery | PollError | None] = [None] * len(targets)

        async def drain(work: Iterator[tuple[int, Target]]) -> None:
            for index, target in work:
                results[index] = await one(target)

        # Workers pulling from a shared iterator, not a task per AP: 35,000 coroutines alive at once
        # cost the garbage collector more CPU than the walker itself. As many APs at once as the
        # transport has requests in flight (a dead AP holds its worker for the whole timeout). APs
        # believed down go last.
        ordered = sorted(enumerate(targets), key=lambda item: item[1].ap in down) if down else list(enumerate(targets))
        work = iter(ordered)
        with fewer_collections():
            await asyncio.gather(*(drain(work) for _ in range(min(len(ordered), self.settings.max_in_flight))))
        return {t.ap: r for t, r in zip(targets, results, strict=True)}  # type: ignore[misc]

    # -- polling ---------------------------------------------------------------------------

    async def poll(self, work: Sequence[tuple[Target, Discovery, bool]], *,
                   progress: Callable[[int], None] | None = None,
                   budget_s: float | None = None) -> tuple[list[PollResult], set[str]]:
        """Poll each (target, discovery, believed_down); return the results in order and the ids to rediscover.

        An AP believed down gets the same retries and deadline as the others, sent after them. An AP
        whose address is a name not looked up lately is polled once the name resolves, with what is
        left of its deadline; one that does not resolve in time fails with kind ``no_address``.
        ``budget_s`` (default ``snmp.deadline_s``): each AP's budget, retries included, for a poll that
        must be quick (a trap's confirmation: ``scheduling/traps.py``).
        """
        results: list[PollResult | None] = [None] * len(work)
        rediscover: set[str] = set()
        fast: list[tuple[int, PollPlan, GetRequest]] = []
        later: list[tuple[int, PollPlan, GetRequest]] = []  # believed down: sent after the others
        named: list[tuple[int, Target, Discovery, bool]] = []  # a name to look up first
        slow: list[tuple[int, Target, PollPlan, Address, bool]] = []
        deadline_s = self.settings.deadline_s if budget_s is None else budget_s

        def fail(i: int, target: Target, kind: PollErrorKind, message: str) -> None:
            results[i] = PollError(target.ap, time.time(), kind, message)
            if progress is not None:
                progress(1)

        def plan_one(i: int, target: Target, discovery: Discovery, down: bool, address: Address,
                     budget: float | None = None) -> tuple[int, PollPlan, GetRequest] | None:
            """The GET for the fast path, or None (failed, or queued for the slow path)."""
            try:
                credentials = self.credentials(target.auth or DEFAULT_AUTH)
            except ConfigError as exc:
                fail(i, target, PollErrorKind.CONFIG, str(exc))
                return None
            plan = plan_poll(discovery)
            if plan.walk_clients is None and plan.oids:
                usm = self.usm(credentials)
                key = (credentials.community, usm, plan.oids)
                shape = self._shapes.get(key)
                if shape is None:
                    shape = self._shapes[key] = GetShape(credentials.community, plan.oids,
                                                         self.settings.max_oids_per_get, usm)
                return i, plan, GetRequest(target.ap, address, shape, budget)
            slow.append((i, target, plan, address, down))
            return None

        for i, (target, discovery, down) in enumerate(work):
            address = self.address_now(target)
            if address is None:
                named.append((i, target, discovery, down))
                continue
            if isinstance(address, str):
                fail(i, target, PollErrorKind.NO_ADDRESS, address)
                continue
            planned = plan_one(i, target, discovery, down, address, budget_s)
            if planned is not None:
                (later if down else fast).append(planned)

        def take(planned: tuple[int, PollPlan, GetRequest], reply: GetReply | GetFailure) -> None:
            """One reply into its Sample; called from the transport's read loop, so it never raises."""
            i, plan, _ = planned
            ap = str(reply.key)
            if isinstance(reply, GetFailure):
                results[i] = PollError(ap, reply.at, reply.kind, reply.message)
                return
            try:
                sample, gone = build_sample(ap, plan, reply.values, reply.at, reply.rtt_ms, mono=reply.mono,
                                            radio_table=self.radio_table(plan.profile) if plan.radio_keys else None)
            except Exception as exc:  # a bug of ours on this AP's answer: the AP's error, not the loop's
                log.exception("%s: could not read its answer", ap)
                results[i] = PollError(ap, reply.at, PollErrorKind.PROTOCOL, f"could not read its answer: {exc!r}")
                return
            results[i] = sample
            if gone:
                rediscover.add(ap)


        async def run_named() -> None:
            """Look the names up off the loop, each within its AP's deadline; poll with what is left."""
            started = time.monotonic()
            found = await asyncio.gather(*(self.address(item[1], deadline_s) for item in named))
            waited = time.monotonic() - started
            budget = max(deadline_s - waited, 0.001)
            planned = []
            for (i, target, discovery, down), address in zip(named, found, strict=True):
                if isinstance(address, str):
                    fail(i, target, PollErrorKind.NO_ADDRESS, address)
                    continue
                one = plan_one(i, target, discovery, down, address, budget)
                if one is not None:
                    planned.append(one)
            behind_names = slow[slow_pending:]
            await asyncio.gather(*(run_slow(*item) for item in behind_names),
                                 *([fast_batch(planned)] if planned else []))

        async def fast_batch(planned: list[tuple[int, PollPlan, GetRequest]]) -> None:
            # each reply becomes its Sample as it arrives: the replies and their values never pile up
            await self.engine.get_many([p[2] for p in planned], progress=progress,
                                       on_reply=lambda index, reply: take(planned[index], reply))

        async def run_slow(i: int, target: Target, plan: PollPlan, address: Address, down: bool) -> None:
            started = time.monotonic()
            try:
                device = self.device(target, address, budget_s=budget_s)
                values: list[Value] = []
                if plan.oids:
                    got = await device.get(plan.oids)
                    values = [got.get(oid) for oid in plan.oids]
                walked = None
                if plan.walk_clients is not None:
                    walked = client_count("count", [v for _, v in await device.walk(plan.walk_clients)])
                mono = time.monotonic()
                rtt = (mono - started) * 1000.0
                sample, gone = build_sample(target.ap, plan, values, time.time(), rtt, walked, mono=mono,
                                            radio_table=self.radio_table(plan.profile) if plan.radio_keys else None)
                results[i] = sample
                if gone:
                    rediscover.add(target.ap)
            except CollectError as exc:
                results[i] = PollError(target.ap, time.time(), exc.kind, str(exc))
            finally:
                if progress is not None:
                    progress(1)

        slow.sort(key=lambda item: item[4])  # believed down last
        slow_pending = len(slow)  # the slow-path APs known now; run_named adds those behind a name
        await asyncio.gather(fast_batch(fast + later), *([run_named()] if named else []),
                             *(run_slow(*item) for item in slow[:slow_pending]))
        return results, rediscover  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    address: str
    discovery: Discovery
    sample: Sample
    unread: tuple[str, ...] = ()  # what the profile names that the device did not answer
    controller: ControllerReading | None = None  # for a profile with a controller section

    @property
    def profile_matched(self) -> bool:
        """A vendor profile recognised the device (False: only the generic IF-MIB one fitted)."""
        return self.discovery.profile != GENERIC

    def to_json(self) -> dict[str, object]:
        d, s = self.discovery, self.sample
        uptime_ticks = s.hr_uptime if s.hr_uptime is not None else s.sys_uptime
        uptime_s = uptime_ticks / 100 if uptime_ticks is not None else s.engine_time
        uplink = None
        if d.uplink is not None:
            uplink = {"if_index": d.uplink.if_index, "name": d.uplink.name, "in_octets": s.in_octets,
                      "out_octets": s.out_octets, "counter_bits": d.counter_bits if s.in_octets is not None else None,
                      "link_mbps": s.link_mbps, "oper_up": s.oper_up}
        found: dict[str, object] = {
            "address": self.address, "profile": d.profile, "sys_descr": d.sys_descr,
            "sys_object_id": d.sys_object_id, "uptime_s": uptime_s,
            "uptime_sources": {"sys_uptime": s.sys_uptime, "hr_system_uptime": s.hr_uptime,
                               "snmp_engine_time": s.engine_time},
            "uplink": uplink,
            "radios": [r.to_json() for r in s.radios],
            "clients": s.clients, "clients_source": d.clients_kind, "rtt_ms": round(s.rtt_ms, 3),
            "profile_matched": self.profile_matched, "unread": list(self.unread),
        }
        if self.controller is not None:
            found["ap_count"] = self.controller.ap_count
            # null for a count-only controller (no per-AP table): it does not say, as opposed to [] (lists none)
            found["aps"] = ([ap.to_json() for ap in self.controller.aps] if self.controller.lists_aps else None)
        return found


async def probe(host: str, port: int, credentials: Credentials, profiles: ProfileSet, settings: SnmpSettings,
                *, pinned: str | None = None) -> ProbeResult:
    """Look at one device now, with no inventory: discover it, then read its figures once.

    Through the walker (our codec, IPv4 or IPv6, v2c or SNMPv3); a name is resolved off the loop first.
    CollectError (kind as in a poll) when the device cannot be read.
    """
    resolver = Resolver(ttl_s=0.0, threads=1)
    try:
        found = await resolver.resolve(host, port, settings.deadline_s)
    finally:
        resolver.close()
    if isinstance(found, Unresolved):
        raise CollectError(found.reason, kind=PollErrorKind.NO_ADDRESS)
    with WalkerClient(timeout_s=settings.timeout_s, retries=settings.retries, deadline_s=settings.deadline_s,
                   max_oids_per_get=settings.max_oids_per_get, min_timeout_s=settings.min_timeout_s,
                   max_in_flight=64, receive_buffer_bytes=1 << 18) as walker:
        usm = None if credentials.version == "2c" else walker.transport.usm.user(credentials)
        device = walker.device_at(found, credentials.community, auth_name=credentials.name, usm=usm)
        return await _probe(device, host, port, profiles, pinned)


async def _probe(device: WalkerDevice, host: str, port: int, profiles: ProfileSet,
                 pinned: str | None) -> ProbeResult:
    discovery = await discover(device, profiles, pinned=pinned)
    plan = plan_poll(discovery)
    started = time.monotonic()
    got = await device.get(plan.oids) if plan.oids else {}
    walked = None
    if plan.walk_clients is not None:
        walked = client_count("count", [v for _, v in await device.walk(plan.walk_clients)])
    mono = time.monotonic()
    rtt = (mono - started) * 1000.0
    profile = profiles.get(discovery.profile)
    sample, _ = build_sample(host, plan, [got.get(oid) for oid in plan.oids], time.time(), rtt, walked, mono=mono,
                             radio_table=profile.radios)
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    unread: list[str] = []
    if profile.clients and sample.clients is None:
        unread.append("clients")
    if profile.radios is not None:
        unread += unread_fields("radios", profile.radios,
                                await walk_columns(device, table_columns(profile.radios)))
    controller = None
    if profile.controller is not None:
        walked_controller = await walk_controller(device, profile)
        controller = walked_controller.reading
        unread += walked_controller.unread(profile.controller)
    return ProbeResult(shown, discovery, sample, tuple(unread), controller)


async def reboot_over_snmp(ap: str, address: str, credentials: Credentials, profile: Profile,
                           settings: SnmpSettings) -> CommandResult:
    """The profile's reboot SET (``reboot: {oid, value}``), with the set's write credentials; a value, never raises.

    The agent answering the SET is success: the device reboots after it has said so.
    """
    assert profile.reboot is not None
    oid, value = profile.reboot
    from hotspotctl.collectors.snmp import SnmpClient  # pysnmp, for this SET alone: a poller never imports it

    started = time.monotonic()
    client = SnmpClient()
    try:
        host, port = split_address(address, settings.port)
        device = client.device(host, port, for_writing(credentials), timeout=settings.timeout_s,
                               retries=settings.retries)
        answered = await device.set(oid, value)
        shown = answered.decode("utf-8", "replace") if isinstance(answered, bytes) else answered
        return CommandResult(ap, True, f"SET {format_oid(oid)} = {value!r}: the agent answered {shown!r}",
                             time.monotonic() - started)
    except ValueError as exc:
        return CommandResult(ap, False, "", time.monotonic() - started, PollErrorKind.NO_ADDRESS,
                             f"bad mgmt_address {exc}")
    except CollectError as exc:
        return CommandResult(ap, False, "", time.monotonic() - started, exc.kind, str(exc))
    except ConfigError as exc:
        return CommandResult(ap, False, "", time.monotonic() - started, PollErrorKind.CONFIG, str(exc))
    finally:
        client.close()
