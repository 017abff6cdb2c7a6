"""One poll of many APs: turn each AP's discovered layout into a GET, and each answer into a Sample.

v2c APs go through our own engine (one socket, a state machine, our codec); SNMPv3 APs
and the few profiles whose client count is a row count go through pysnmp, a bounded
number at a time. Every AP comes back as a Sample or a PollError; one dead or slow AP
never holds up the rest.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import time
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hotspotctl.collectors.address import split_address
from hotspotctl.collectors.auth import DEFAULT_AUTH, Credentials, for_writing, resolve
from hotspotctl.collectors.clock import monotonic_clock
from hotspotctl.collectors.discovery import client_count, discover
from hotspotctl.collectors.engine import GetFailure, GetRequest, GetShape, SnmpGetEngine
from hotspotctl.collectors.model import Absent, Discovery, PollError, PollResult, Sample, Value
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
from hotspotctl.collectors.profiles import Profile, ProfileSet
from hotspotctl.collectors.snmp import PysnmpDevice, SnmpClient
from hotspotctl.collectors.ssh import CommandResult, SshCollector, SshTarget
from hotspotctl.collectors.walker import V2cClient, fewer_collections
from hotspotctl.errors import CollectError, ConfigError
from hotspotctl.settings import Settings, SnmpSettings, SshSettings

_UPTIME_FIELDS = {"sys_uptime": "sys_uptime", "hr_system_uptime": "hr_uptime", "snmp_engine_time": "engine_time"}
_SLOW_PATH_CONCURRENCY = 64  # pysnmp requests at once (v3, walks), for polls and for discovery each


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
    return PollPlan(tuple(oids), uptime, in_pos, out_pos, speed_pos, oper_pos, clients,
                    discovery.counter_bits or 64, discovery.link_scale, discovery.link_source == "if_speed",
                    discovery.clients_kind, walk_clients, None if uplink is None else f"ifIndex.{uplink.if_index}")


def build_sample(ap: str, plan: PollPlan, values: Sequence[Value], at: float, rtt_ms: float,
                 walked_clients: int | None = None, *, mono: float | None = None) -> tuple[Sample, bool]:
    """The Sample from a GET's values, and whether a discovered object has gone (rediscover).

    ``at`` and ``mono`` are time.time() and time.monotonic() when the answer arrived: the point's
    timestamp, and the reading rates take their intervals from.
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
    sample = Sample(ap=ap, at=at, rtt_ms=rtt_ms, in_octets=number(plan.in_pos), out_octets=number(plan.out_pos),
                    counter_bits=plan.counter_bits, link_mbps=link_mbps,
                    oper_up=None if oper is None else oper == 1, clients=clients, mono=mono,
                    clock=None if mono is None else monotonic_clock(), uplink=plan.uplink, **fields)
    return sample, gone


class Poller:
    """Discovers and polls Targets with one engine and one pysnmp client; use as a context manager."""

    def __init__(self, settings: SnmpSettings, profiles: ProfileSet, *, env: Mapping[str, str] | None = None,
                 ssh: SshSettings | None = None, known_hosts: Path | None = None) -> None:
        self.settings = settings
        self.profiles = profiles
        self.env = env
        self._ssh_settings = ssh or SshSettings()
        self._known_hosts = known_hosts or Settings().known_hosts
        self._ssh: SshCollector | None = None
        self._credentials: dict[str, Credentials] = {}
        self._addresses: dict[str, tuple[str, int] | str] = {}
        self._shapes: dict[tuple[bytes, tuple[Oid, ...]], GetShape] = {}
        self.engine = SnmpGetEngine(timeout_s=settings.timeout_s, retries=settings.retries,
                                    deadline_s=settings.deadline_s, max_in_flight=settings.max_in_flight,
                                    receive_buffer_bytes=settings.receive_buffer_bytes)
        self.client = SnmpClient()
        # Discovery of v2c APs: our codec on one socket, bounded by its own in-flight cap.
        self.walker = V2cClient(timeout_s=settings.timeout_s, retries=settings.retries,
                                max_in_flight=settings.max_in_flight, max_oids_per_get=settings.max_oids_per_get,
                                receive_buffer_bytes=settings.receive_buffer_bytes)
        # pysnmp's share, one for polls and one for discovery: a cycle runs both at once, and dead APs
        # being discovered (a whole timeout each) must not hold up the polls of the others.
        self._slow_poll = asyncio.Semaphore(_SLOW_PATH_CONCURRENCY)
        self._slow_discover = asyncio.Semaphore(_SLOW_PATH_CONCURRENCY)

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
        self.client.close()
        if self._ssh is not None:
            self._ssh.close()

    def credentials(self, name: str) -> Credentials:
        if name not in self._credentials:
            self._credentials[name] = resolve(name, self.settings.auth, self.env)
        return self._credentials[name]

    def address(self, target: Target) -> tuple[str, int] | str:
        """(ip, port), or the reason there is none."""
        if not target.address:
            return "no mgmt_address in the inventory"
        if target.address not in self._addresses:
            try:
                host, port = split_address(target.address, self.settings.port)
                infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
                self._addresses[target.address] = (infos[0][4][0], port)
            except ValueError as exc:
                self._addresses[target.address] = f"bad mgmt_address {exc}"
            except OSError as exc:
                self._addresses[target.address] = f"cannot resolve {target.address!r}: {exc.strerror or exc}"
        return self._addresses[target.address]

    def device(self, target: Target, address: tuple[str, int], *, retries: int | None = None) -> PysnmpDevice:
        return self.client.device(address[0], address[1], self.credentials(target.auth or DEFAULT_AUTH),
                                  timeout=self.settings.timeout_s,
                                  retries=self.settings.retries if retries is None else retries)

    # -- discovery -------------------------------------------------------------------------

    async def discover(self, targets: Sequence[Target], *, progress: Callable[[int], None] | None = None,
                       once: Container[str] = frozenset()) -> dict[str, Discovery | PollError]:
        """v2c APs through the walker (cheap, many at once), v3 through pysnmp a few at a time.

        The APs whose ids are in ``once`` (believed down) are tried once: their requests are not retried.
        Safe to run while ``poll`` runs: the walker and pysnmp have sockets of their own, not the engine's.
        """

        async def one(target: Target) -> Discovery | PollError:
            try:
                address = self.address(target)
                if isinstance(address, str):
                    return PollError(target.ap, time.time(), "no_address", address)
                credentials = self.credentials(target.auth or DEFAULT_AUTH)
                retries = 0 if target.ap in once else None
                if credentials.version == "2c":
                    device = self.walker.device(address[0], address[1], credentials.community,
                                                auth_name=credentials.name, retries=retries)
                    return await discover(device, self.profiles, pinned=target.profile)
                async with self._slow_discover:
                    return await discover(self.device(target, address, retries=retries), self.profiles,
                                          pinned=target.profile)
            except CollectError as exc:
                return PollError(target.ap, time.time(), exc.kind, str(exc))
            except ConfigError as exc:
                return PollError(target.ap, time.time(), "config", str(exc))
            finally:
                if progress is not None:
                    progress(1)

        def through_walker(target: Target) -> bool:
            try:
                return self.credentials(target.auth or DEFAULT_AUTH).version == "2c"
            except ConfigError:
                return False  # one() reports it

        results: list[Discovery | PollError | None] = [None] * len(targets)

        async def drain(work: Iterator[tuple[int, Target]]) -> None:
            for index, target in work:
                results[index] = await one(target)

        # Workers pulling from a shared iterator, not a task per AP: 35,000 coroutines alive at once
        # cost the garbage collector more CPU than the walker itself. v2c: as many APs at once as the
        # walker has requests in flight (a dead AP holds its worker for the whole timeout); pysnmp: its
        # own few (the _slow_discover semaphore).
        fast = [(i, t) for i, t in enumerate(targets) if through_walker(t)]
        slow = [(i, t) for i, t in enumerate(targets) if not through_walker(t)]
        fast_work, slow_work = iter(fast), iter(slow)
        with fewer_collections():
            await asyncio.gather(*(drain(fast_work) for _ in range(min(len(fast), self.settings.max_in_flight))),
                                 *(drain(slow_work) for _ in range(min(len(slow), _SLOW_PATH_CONCURRENCY))))
        return {t.ap: r for t, r in zip(targets, results, strict=True)}  # type: ignore[misc]

    # -- polling ---------------------------------------------------------------------------

    async def poll(self, work: Sequence[tuple[Target, Discovery, bool]], *,
                   progress: Callable[[int], None] | None = None) -> tuple[list[PollResult], set[str]]:
        """Poll each (target, discovery, believed_down); return the results in order and the ids to rediscover.

        An AP believed down is tried once, with no retries.
        """
        results: list[PollResult | None] = [None] * len(work)
        rediscover: set[str] = set()
        fast: list[GetRequest] = []
        fast_index: list[tuple[int, PollPlan]] = []
        slow: list[tuple[int, Target, PollPlan, tuple[str, int], bool]] = []
        now = time.time()
        for i, (target, discovery, down) in enumerate(work):
            address = self.address(target)
            try:
                if isinstance(address, str):
                    raise CollectError(address, kind="no_address")
                credentials = self.credentials(target.auth or DEFAULT_AUTH)
            except (CollectError, ConfigError) as exc:
                results[i] = PollError(target.ap, now, getattr(exc, "kind", "config"), str(exc))
                if progress is not None:
                    progress(1)
                continue
            plan = plan_poll(discovery)
            if credentials.version == "2c" and plan.walk_clients is None and plan.oids:
                key = (credentials.community, plan.oids)
                shape = self._shapes.get(key)
                if shape is None:
                    shape = self._shapes[key] = GetShape(credentials.community, plan.oids,
                                                         self.settings.max_oids_per_get)
                fast.append(GetRequest(target.ap, address, shape, 0 if down else None))
                fast_index.append((i, plan))
            else:
                slow.append((i, target, plan, address, down))

        async def run_fast() -> None:
            replies = await self.engine.get_many(fast, progress=progress)
            for (i, plan), reply in zip(fast_index, replies, strict=True):
                ap = str(reply.key)
                if isinstance(reply, GetFailure):
                    results[i] = PollError(ap, reply.at, reply.kind, reply.message)
                    continue
                # GetReply.mono: time.monotonic() when the answer arrived (the engine's change for issue 15)
                sample, gone = build_sample(ap, plan, reply.values, reply.at, reply.rtt_ms,
                                            mono=getattr(reply, "mono", None))
                results[i] = sample
                if gone:
                    rediscover.add(ap)

        async def run_slow(i: int, target: Target, plan: PollPlan, address: tuple[str, int], down: bool) -> None:
            started = time.monotonic()
            try:
                async with self._slow_poll:
                    device = self.device(target, address, retries=0 if down else None)
                    values: list[Value] = []
                    if plan.oids:
                        got = await device.get(plan.oids)
                        values = [got.get(oid) for oid in plan.oids]
                    walked = None
                    if plan.walk_clients is not None:
                        walked = client_count("count", [v for _, v in await device.walk(plan.walk_clients)])
                mono = time.monotonic()
                rtt = (mono - started) * 1000.0
                sample, gone = build_sample(target.ap, plan, values, time.time(), rtt, walked, mono=mono)
                results[i] = sample
                if gone:
                    rediscover.add(target.ap)
            except CollectError as exc:
                results[i] = PollError(target.ap, time.time(), exc.kind, str(exc))
            finally:
                if progress is not None:
                    progress(1)

        await asyncio.gather(run_fast(), *(run_slow(*item) for item in slow))
        return results, rediscover  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    address: str
    discovery: Discovery
    sample: Sample

    def to_json(self) -> dict[str, object]:
        d, s = self.discovery, self.sample
        uptime_ticks = s.hr_uptime if s.hr_uptime is not None else s.sys_uptime
        uptime_s = uptime_ticks / 100 if uptime_ticks is not None else s.engine_time
        uplink = None
        if d.uplink is not None:
            uplink = {"if_index": d.uplink.if_index, "name": d.uplink.name, "in_octets": s.in_octets,
                      "out_octets": s.out_octets, "counter_bits": d.counter_bits if s.in_octets is not None else None,
                      "link_mbps": s.link_mbps, "oper_up": s.oper_up}
        return {
            "address": self.address, "profile": d.profile, "sys_descr": d.sys_descr,
            "sys_object_id": d.sys_object_id, "uptime_s": uptime_s,
            "uptime_sources": {"sys_uptime": s.sys_uptime, "hr_system_uptime": s.hr_uptime,
                               "snmp_engine_time": s.engine_time},
            "uplink": uplink,
            "radios": [{"if_index": r.if_index, "name": r.name, "if_type": r.if_type, "oper_up": r.oper_up,
                        "speed_mbps": r.speed_mbps} for r in d.radios],
            "clients": s.clients, "clients_source": d.clients_kind, "rtt_ms": round(s.rtt_ms, 3),
        }


async def probe(host: str, port: int, credentials: Credentials, profiles: ProfileSet, settings: SnmpSettings,
                *, pinned: str | None = None) -> ProbeResult:
    """Look at one device now, with no inventory: discover it, then read its figures once (pysnmp)."""
    client = SnmpClient()
    try:
        device = client.device(host, port, credentials, timeout=settings.timeout_s, retries=settings.retries)
        discovery = await discover(device, profiles, pinned=pinned)
        plan = plan_poll(discovery)
        started = time.monotonic()
        got = await device.get(plan.oids) if plan.oids else {}
        walked = None
        if plan.walk_clients is not None:
            walked = client_count("count", [v for _, v in await device.walk(plan.walk_clients)])
        mono = time.monotonic()
        rtt = (mono - started) * 1000.0
        sample, _ = build_sample(host, plan, [got.get(oid) for oid in plan.oids], time.time(), rtt, walked,
                                 mono=mono)
        return ProbeResult(f"{host}:{port}", discovery, sample)
    finally:
        client.close()


async def reboot_over_snmp(ap: str, address: str, credentials: Credentials, profile: Profile,
                           settings: SnmpSettings) -> CommandResult:
    """The profile's reboot SET (``reboot: {oid, value}``), with the set's write credentials; a value, never raises.

    The agent answering the SET is success: the device reboots after it has said so.
    """
    assert profile.reboot is not None
    oid, value = profile.reboot
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
        return CommandResult(ap, False, "", time.monotonic() - started, "no_address", f"bad mgmt_address {exc}")
    except CollectError as exc:
        return CommandResult(ap, False, "", time.monotonic() - started, exc.kind, str(exc))
    except ConfigError as exc:
        return CommandResult(ap, False, "", time.monotonic() - started, "config", str(exc))
    finally:
        client.close()
