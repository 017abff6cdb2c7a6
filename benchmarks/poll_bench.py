#!/usr/bin/env python3
"""Polling real net-snmp agents: GETs/s and poller CPU per 1,000 eight-OID SNMPv2c GETs.

Starts --agents net-snmp ``snmpd`` processes on free loopback UDP ports (temporary configs,
stopped at the end, also on Ctrl-C or an error), then runs three engines one after the other
in this one process, against the same agents, with the same eight OIDs per GET
(sysUpTime.0, hrSystemUptime.0, ifHCInOctets.1, ifHCOutOctets.1, ifHighSpeed.1,
ifOperStatus.1, ifInOctets.1, ifOutOctets.1; ifIndex 1 is lo), GETs spread round-robin over
the agents, after a warm-up of --warmup GETs per engine:

  hotspotctl  our SnmpGetEngine, every GET handed to one get_many call (default max_in_flight)
  pysnmp      pysnmp 7 asyncio get_cmd written plainly: one SnmpEngine, one task per GET under
              asyncio.Semaphore(200), CommunityData(mpModel=1), one UdpTransportTarget per
              agent (timeout 2 s, 1 retry), lookupMib=False
  ezsnmp      ezsnmp (net-snmp's C library) Session.get from a ThreadPoolExecutor(16), one
              Session per thread per agent (timeout 2 s, 1 retry)

Each agent: ``snmpd -f -Lo -C -c CONF -p PIDFILE -I -smux`` with MIBS="" and its own
SNMP_PERSISTENT_DIR, and a 4 MiB socket buffer (--agent-recv-buf): hotspotctl keeps up to
2,000 GETs in flight, 500 per agent here, which overflows snmpd's default ~200 KiB buffer
and turns into 1 s retries (shown in the engine's figures); in production each AP has about one.

Poller CPU is time.process_time() of this process around each measured run (all its threads;
the agents are other processes). Agent CPU is read from /proc/<pid>/stat (utime + stime) of
the snmpd processes over the same interval. On a small machine the agents are the bottleneck
for GETs/s; the figure that matters is the poller's CPU per 1,000 GETs. Every engine's answers
are checked to agree (ifHighSpeed.1 and ifOperStatus.1), so none can look fast by failing.
Prints figures; asserts nothing about time.

    .venv/bin/python benchmarks/poll_bench.py [--agents 4] [--gets 20000] [--pysnmp-gets 3000]
    .venv/bin/python benchmarks/poll_bench.py --format json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotctl.collectors.codec import GetTemplate, decode_response  # noqa: E402
from hotspotctl.collectors.engine import GetFailure, GetRequest, GetShape, SnmpGetEngine  # noqa: E402
from hotspotctl.collectors.oids import SYS_UPTIME, parse_oid  # noqa: E402

HOST = "127.0.0.1"
COMMUNITY = "bench"
OIDS = (
    ("sysUpTime.0", "1.3.6.1.2.1.1.3.0"),
    ("hrSystemUptime.0", "1.3.6.1.2.1.25.1.1.0"),
    ("ifHCInOctets.1", "1.3.6.1.2.1.31.1.1.1.6.1"),
    ("ifHCOutOctets.1", "1.3.6.1.2.1.31.1.1.1.10.1"),
    ("ifHighSpeed.1", "1.3.6.1.2.1.31.1.1.1.15.1"),
    ("ifOperStatus.1", "1.3.6.1.2.1.2.2.1.8.1"),
    ("ifInOctets.1", "1.3.6.1.2.1.2.2.1.10.1"),
    ("ifOutOctets.1", "1.3.6.1.2.1.2.2.1.16.1"),
)
OID_TEXT = [text for _, text in OIDS]
# The values every engine must agree on (they do not move, unlike the counters and uptimes).
CHECKED = (4, 5)  # ifHighSpeed.1, ifOperStatus.1
TARGET_CPU_S_PER_1K = 0.05
ENGINES = ("hotspotctl", "pysnmp", "ezsnmp")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- agents ---------------------------------------------------------------------------------


@dataclass
class Agent:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def cpu_s(self) -> float:
        """utime + stime of the snmpd process so far, from /proc (0.0 where there is no /proc)."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; field 3 is fields[0]
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to send SIGTERM if this benchmark dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _answers(port: int, process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> bool:
    """Until the agent answers a GET of sysUpTime.0 (raw socket, our codec), or it exits, or time is up."""
    request = GetTemplate(COMMUNITY.encode(), [SYS_UPTIME]).encode(0x01020304)
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline and process.poll() is None:
            sock.sendto(request, (HOST, port))
            try:
                if decode_response(sock.recv(65535)).request_id == 0x01020304:
                    return True
            except (OSError, ValueError):
                continue
    return False


def start_agent(binary: str, root: Path, index: int, extra_args: list[str], recv_buf: int) -> Agent:
    """One snmpd on a free loopback port; a few tries, since another process may take the port first."""
    for attempt in range(3):
        port = _free_udp_port()
        home = root / f"agent{index}-{attempt}"
        (home / "persist").mkdir(parents=True)
        conf = home / "snmpd.conf"
        conf.write_text(f"agentaddress udp:{HOST}:{port}\n"
                        f"rocommunity {COMMUNITY} {HOST}\n"
                        "dontLogTCPWrappersConnects yes\n"  # else one log line per GET
                        + (f"[snmp] serverRecvBuf {recv_buf}\n[snmp] serverSendBuf {recv_buf}\n" if recv_buf else ""))
        log = home / "log"
        # MIBS="": no MIB files are read (Debian ships few; snmpd only prints warnings about them).
        # SNMP_PERSISTENT_DIR: as root snmpd would otherwise share /var/lib/snmp between agents.
        env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(home / "persist")}
        with log.open("wb") as out:
            # -I -smux: no SMUX listener on TCP 199 (only one agent could have it; the others log an error).
            process = subprocess.Popen([binary, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(home / "pid"),
                                        "-I", "-smux", *extra_args], stdout=out, stderr=subprocess.STDOUT, env=env,
                                       stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        try:
            if _answers(port, process):
                return Agent(port, process, log)
        except BaseException:  # Ctrl-C while waiting: this agent is not in the caller's list yet
            stop_agent(Agent(port, process, log))
            raise
        stop_agent(Agent(port, process, log))
        reason = log.read_text(errors="replace")[-1500:]
    raise RuntimeError(f"snmpd did not answer on {HOST}:{port} after 3 tries; its log:\n{reason}")


def stop_agent(agent: Agent) -> None:
    if agent.process.poll() is None:
        agent.process.terminate()
        try:
            agent.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            agent.process.kill()
            agent.process.wait(timeout=5)


@contextlib.contextmanager
def running_agents(count: int, extra_args: list[str], recv_buf: int) -> Iterator[list[Agent]]:
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not Path(binary).exists():
        raise SystemExit("snmpd not found: install Debian's snmpd package (make servers)")
    root = Path(tempfile.mkdtemp(prefix="hotspotctl-poll-bench-"))
    agents: list[Agent] = []
    try:
        for index in range(count):
            agents.append(start_agent(binary, root, index, extra_args, recv_buf))
        yield agents
    finally:
        for agent in agents:
            with contextlib.suppress(Exception):
                stop_agent(agent)
        shutil.rmtree(root, ignore_errors=True)


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Run:
    gets: int = 0
    ok: int = 0
    failed: int = 0
    timeouts: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    agent_cpu_s: float = 0.0
    checked: Counter[tuple[object, ...]] = field(default_factory=Counter)  # CHECKED values of ok GETs
    errors: Counter[str] = field(default_factory=Counter)
    extra: dict[str, object] = field(default_factory=dict)

    def add(self, values: list[object] | None, error: str | None = None, timeout: bool = False) -> None:
        """One GET: its 8 values as ints (None where one is absent or not a number), or an error."""
        self.gets += 1
        if values is not None and len(values) == len(OIDS) and all(isinstance(v, int) for v in values):
            self.ok += 1
            self.checked[tuple(values[i] for i in CHECKED)] += 1
            return
        self.failed += 1
        self.timeouts += timeout
        self.errors[error or "absent or non-numeric value"] += 1

    def figures(self) -> dict[str, object]:
        per_1k = 1000.0 / self.gets if self.gets else 0.0
        return {"gets": self.gets, "ok": self.ok, "failed": self.failed, "timeouts": self.timeouts,
                "wall_s": round(self.wall_s, 4),
                "gets_per_s": round(self.gets / self.wall_s, 1) if self.wall_s else None,
                "cpu_s": round(self.cpu_s, 4), "cpu_s_per_1k": round(self.cpu_s * per_1k, 5),
                "agent_cpu_s": round(self.agent_cpu_s, 3), "agent_cpu_s_per_1k": round(self.agent_cpu_s * per_1k, 4),
                "checked_values": {"/".join(map(str, k)): n for k, n in self.checked.items()},
                "errors": dict(self.errors.most_common(5)), **self.extra}


class Meter:
    """Wall, this process's CPU and the agents' CPU between start() and stop()."""

    def __init__(self, agents: list[Agent], run: Run) -> None:
        self.agents, self.run = agents, run

    def start(self) -> None:
        self._agent = sum(a.cpu_s() for a in self.agents)
        self._drops = udp_receive_buffer_errors()
        self._times = os.times()
        self._cpu = time.process_time()
        self._wall = time.perf_counter()

    def stop(self) -> None:
        self.run.wall_s = time.perf_counter() - self._wall
        self.run.cpu_s = time.process_time() - self._cpu
        times = os.times()
        # user vs kernel: on loopback, sendto() also runs the agent's receive path in our context.
        self.run.extra["cpu_user_s"] = round(times.user - self._times.user, 3)
        self.run.extra["cpu_sys_s"] = round(times.system - self._times.system, 3)
        self.run.agent_cpu_s = sum(a.cpu_s() for a in self.agents) - self._agent
        # Datagrams the kernel dropped because a socket's receive buffer was full (whole host).
        self.run.extra["host_udp_rcvbuf_drops"] = udp_receive_buffer_errors() - self._drops


def udp_receive_buffer_errors() -> int:
    """Udp RcvbufErrors from /proc/net/snmp (all sockets on the host), 0 where it cannot be read."""
    try:
        lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
        return int(lines[1][lines[0].index("RcvbufErrors")])
    except (OSError, IndexError, ValueError):
        return 0


def as_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def ezsnmp_number(text: str) -> int | None:
    """``'(319235) 0:53:12.35'`` (TimeTicks) or ``'up(1)'`` (an enum) -> the number, else None."""
    match = _PAREN_NUMBER.search(text)
    return int(match.group(1)) if match else None


_PAREN_NUMBER = re.compile(r"\((\d+)\)")


# --- engines --------------------------------------------------------------------------------


def run_hotspotctl(agents: list[Agent], gets: int, warmup: int) -> Run:
    run = Run()
    shape = GetShape(COMMUNITY.encode(), [parse_oid(text) for text in OID_TEXT])
    addresses = [(HOST, agent.port) for agent in agents]

    def requests(count: int) -> list[GetRequest]:
        return [GetRequest(i, addresses[i % len(addresses)], shape) for i in range(count)]

    async def main() -> None:
        with SnmpGetEngine() as engine:
            await engine.get_many(requests(warmup))

            def figures() -> dict[str, int]:  # the engine's, and its transport's (kernel drops read now)
                engine.transport.kernel_drops()
                return {**engine.stats.as_dict(), **engine.transport.stats.as_dict()}

            before = figures()
            meter = Meter(agents, run)
            meter.start()
            results = await engine.get_many(requests(gets))  # building the requests is counted too
            meter.stop()
            after = figures()
        levels = ("receive_buffer_bytes", "in_flight_limit", "in_flight", "max_in_flight")
        run.extra["engine_stats"] = {name: after[name] if name in levels else after[name] - before[name]
                                     for name in after}
        for result in results:
            if isinstance(result, GetFailure):
                run.add(None, f"{result.kind}: {result.message}", result.kind == "timeout")
            else:
                odd = [f"{name}={v!r}" for (name, _), v in zip(OIDS, result.values, strict=False)
                       if not isinstance(v, int)]
                run.add(result.values, "non-numeric: " + ", ".join(odd) if odd else None)

    asyncio.run(main())
    return run


def run_pysnmp(agents: list[Agent], gets: int, warmup: int) -> Run:
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        get_cmd,
    )

    run = Run()

    async def main() -> None:
        engine = SnmpEngine()
        auth = CommunityData(COMMUNITY, mpModel=1)
        context = ContextData()
        targets = [await UdpTransportTarget.create((HOST, agent.port), timeout=2, retries=1) for agent in agents]
        limit = asyncio.Semaphore(200)

        async def one(i: int) -> tuple[object, object, object, object]:
            async with limit:
                return await get_cmd(engine, auth, targets[i % len(targets)], context,
                                     *[ObjectType(ObjectIdentity(oid)) for oid in OID_TEXT], lookupMib=False)

        try:
            await asyncio.gather(*(one(i) for i in range(warmup)))
            meter = Meter(agents, run)
            meter.start()
            results = await asyncio.gather(*(one(i) for i in range(gets)))
            meter.stop()
        finally:
            engine.close_dispatcher()
        for error_indication, error_status, error_index, var_binds in results:
            if error_indication:
                text = str(error_indication)
                run.add(None, text, "timeout" in text.lower())
            elif error_status:
                run.add(None, f"{error_status.prettyPrint()} at {error_index}")
            else:
                values = [as_int(value) for _, value in var_binds]
                odd = [f"{name}={type(value).__name__}:{value.prettyPrint()}"
                       for (name, _), (_, value), v in zip(OIDS, var_binds, values, strict=False) if v is None]
                run.add(values, "non-numeric: " + ", ".join(odd) if odd else None)

    asyncio.run(main())
    return run


def run_ezsnmp(agents: list[Agent], gets: int, warmup: int) -> Run:
    from ezsnmp import Session
    from ezsnmp.exceptions import GenericError
    from ezsnmp.exceptions import TimeoutError as EzTimeout

    run = Run()
    ports = [agent.port for agent in agents]
    local = threading.local()
    opened: list[Session] = []
    lock = threading.Lock()
    misformatted = [0]  # answers whose numbers came back in the other display format

    def session(port: int) -> Session:
        sessions = getattr(local, "sessions", None)
        if sessions is None:
            sessions = local.sessions = {}
        if port not in sessions:
            sessions[port] = Session(hostname=HOST, port_number=port, community=COMMUNITY, version=2,
                                     timeout=2, retries=1, print_enums_numerically=True,
                                     print_oids_numerically=True, print_timeticks_numerically=True)
            with lock:
                opened.append(sessions[port])
        return sessions[port]

    def one(i: int) -> tuple[list[int | None] | None, str | None, bool]:
        try:
            results = session(ports[i % len(ports)]).get(OID_TEXT)
        except EzTimeout as exc:
            return None, f"timeout: {exc}", True
        except GenericError as exc:
            return None, f"{type(exc).__name__}: {exc}", False
        values = [as_int(r.value) for r in results]
        if None in values:  # ezsnmp's print_* options are process-wide net-snmp flags: threads race on them
            values = [v if v is not None else ezsnmp_number(r.value) for v, r in zip(values, results, strict=True)]
            if None not in values:
                with lock:
                    misformatted[0] += 1
                return values, None, False
            odd = [f"{name}={r.type}:{r.value!r}" for (name, _), r, v in zip(OIDS, results, values, strict=False)
                   if v is None]
            return None, "non-numeric: " + ", ".join(odd), False
        return values, None, False

    pool = ThreadPoolExecutor(16)
    try:
        list(pool.map(one, range(warmup)))
        meter = Meter(agents, run)
        meter.start()
        results = list(pool.map(one, range(gets)))
        meter.stop()
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C, drop the queued GETs rather than wait for them
        for s in opened:
            with contextlib.suppress(Exception):
                s.close()
    for values, error, timeout in results:
        run.add(values, error, timeout)
    run.extra["ezsnmp_misformatted"] = misformatted[0]
    return run


RUNNERS: dict[str, Callable[[list[Agent], int, int], Run]] = {
    "hotspotctl": run_hotspotctl, "pysnmp": run_pysnmp, "ezsnmp": run_ezsnmp}


def available(name: str) -> str | None:
    """None if the engine's library imports, else why it does not."""
    module = {"pysnmp": "pysnmp.hlapi.v3arch.asyncio", "ezsnmp": "ezsnmp"}.get(name)
    if module is None:
        return None
    try:
        __import__(module)
    except Exception as exc:  # ImportError, or a C extension that fails to load
        return f"cannot import {module}: {exc}"
    return None


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=4, help="snmpd processes to start (default 4)")
    parser.add_argument("--gets", type=int, default=20_000, help="GETs for hotspotctl and ezsnmp (default 20000)")
    parser.add_argument("--pysnmp-gets", type=int, default=3_000, help="GETs for pysnmp, which is slow (default 3000)")
    parser.add_argument("--warmup", type=int, default=400, help="GETs per engine before measuring (default 400)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated subset of {','.join(ENGINES)} (default all)")
    parser.add_argument("--snmpd-arg", action="append", default=[], metavar="ARG",
                        help="extra snmpd argument, repeatable (e.g. --snmpd-arg=-I --snmpd-arg=-smux)")
    parser.add_argument("--agent-recv-buf", type=int, default=4 << 20, metavar="BYTES",
                        help="snmpd's serverRecvBuf/serverSendBuf (default 4 MiB, 0: snmpd's default). A burst of "
                        "thousands of GETs at 4 agents overflows the default ~200 KiB buffer and becomes retries; "
                        "in production each AP has about one GET in flight")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(ENGINES))
    if unknown or args.agents < 1 or args.gets < 1 or args.pysnmp_gets < 1:
        parser.error(f"unknown engine(s) {unknown}" if unknown else "--agents and the --gets must be at least 1")

    # Ctrl-C raises KeyboardInterrupt; make SIGTERM unwind too, so the agents are always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    engines: dict[str, dict[str, object]] = {}
    skipped: dict[str, str] = {}
    runs: dict[str, Run] = {}
    with running_agents(args.agents, args.snmpd_arg, args.agent_recv_buf) as agents:
        for name in chosen:
            reason = available(name)
            if reason:
                skipped[name] = reason
                print(f"skipping {name}: {reason}", file=sys.stderr)
                continue
            gets = args.pysnmp_gets if name == "pysnmp" else args.gets
            runs[name] = RUNNERS[name](agents, gets, args.warmup)
        ports = [agent.port for agent in agents]

    ours = runs["hotspotctl"].cpu_s / runs["hotspotctl"].gets * 1000 if "hotspotctl" in runs else None
    for name, run in runs.items():
        figures = run.figures()
        per_1k = run.cpu_s / run.gets * 1000
        figures["cpu_ratio_vs_hotspotctl"] = round(per_1k / ours, 1) if ours else None
        engines[name] = figures
    for name, reason in skipped.items():
        engines[name] = {"skipped": reason, "gets_per_s": None, "cpu_s_per_1k": None}
    # Sanity: each engine answered, and every engine saw the same ifHighSpeed.1/ifOperStatus.1.
    seen = {name: set(run.checked) for name, run in runs.items()}
    distinct = set().union(*seen.values()) if seen else set()
    agree = bool(seen) and all(run.ok for run in runs.values()) and len(distinct) == 1
    sanity = {"values_agree": agree, "checked": "ifHighSpeed.1/ifOperStatus.1",
              "seen": {name: sorted("/".join(map(str, v)) for v in values) for name, values in seen.items()}}

    document = {"engines": engines, "agents": args.agents, "agent_ports": ports, "oids_per_get": len(OIDS),
                "oids": [name for name, _ in OIDS], "warmup": args.warmup,
                "target_cpu_s_per_1k": TARGET_CPU_S_PER_1K, "sanity": sanity,
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                            "cpu": platform.processor() or platform.machine()}}
    if args.format == "json":
        print(json.dumps(document, indent=2))
        return 0
    print(f"{len(OIDS)}-OID SNMPv2c GETs against {args.agents} snmpd agents on {HOST} (ports "
          f"{', '.join(map(str, ports))}), warm-up {args.warmup} GETs per engine, {os.cpu_count()} CPUs; "
          f"target <= {TARGET_CPU_S_PER_1K:g} poller CPU-s per 1k GETs")
    header = (f"{'engine':11} {'gets':>6} {'ok':>6} {'failed':>6} {'timeouts':>8} {'wall_s':>7} {'gets/s':>8} "
              f"{'cpu_s':>7} {'cpu_s/1k':>9} {'ratio':>6} {'agent_cpu_s':>11} {'agent_cpu/1k':>12}")
    print(header)
    for name, f in engines.items():
        if "skipped" in f:
            print(f"{name:11} skipped: {f['skipped']}")
            continue
        ratio = f"{f['cpu_ratio_vs_hotspotctl']:.1f}x" if f["cpu_ratio_vs_hotspotctl"] is not None else "-"
        print(f"{name:11} {f['gets']:6} {f['ok']:6} {f['failed']:6} {f['timeouts']:8} {f['wall_s']:7.2f} "
              f"{f['gets_per_s']:8.0f} {f['cpu_s']:7.3f} {f['cpu_s_per_1k']:9.4f} {ratio:>6} "
              f"{f['agent_cpu_s']:11.2f} {f['agent_cpu_s_per_1k']:12.3f}")
    for name, f in engines.items():
        if f.get("errors"):
            print(f"{name} errors (most common): {f['errors']}")
    drops = {name: f["host_udp_rcvbuf_drops"] for name, f in engines.items() if f.get("host_udp_rcvbuf_drops")}
    if drops:
        print(f"UDP datagrams dropped on a full receive buffer during the run (whole host): {drops}")
    if "hotspotctl" in engines and "engine_stats" in engines["hotspotctl"]:
        stats = engines["hotspotctl"]["engine_stats"]
        print("hotspotctl engine.stats (measured run): " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    if engines.get("ezsnmp", {}).get("ezsnmp_misformatted"):
        print(f"ezsnmp: {engines['ezsnmp']['ezsnmp_misformatted']} answers had TimeTicks/enums in net-snmp's other "
              "display format (its print_* options are process-wide flags that threads race on); parsed and "
              "counted ok")
    verdict = "all engines agree" if agree else "MISMATCH or an engine got no answers"
    print(f"sanity ({sanity['checked']}): {verdict}: " + "; ".join(f"{n} {v}" for n, v in sanity["seen"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
