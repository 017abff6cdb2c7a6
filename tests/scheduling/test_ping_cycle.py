"""Issue 18: every cycle pings every AP with an address, alongside SNMP, and evaluation uses both.

Against the real kernel and the simulator. The fleet lives in a network namespace the test makes (we are
root), entered by the test's own thread (setns): inside it, an address of a veth subnet with nobody on the
other end answers nothing, and 127/8 answers ping through ``EchoResponder``: the kernel's own echo replies
are switched off there (net.ipv4.icmp_echo_ignore_all) and a raw socket answers instead, late or not at all
for the hosts told (the test machine's kernel has no netem qdisc, nor netfilter, to delay or drop with).
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import json
import os
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.evaluate.rollup import rollup
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.reports.crews import crew_lists_from_store
from hotspotctl.scheduling.cycle import CycleMemory, pinger_for, run_cycle
from hotspotctl.scheduling.evaluation import Evaluator
from hotspotctl.scheduling.service import encode_cycle
from hotspotctl.settings import PingSettings, load_settings
from hotspotctl.simulate.scenario import load_scenario
from hotspotctl.simulate.simulator import Simulator, assign_addresses, plan_simulation
from hotspotctl.sinks.lineproto import ApLines
from hotspotctl.store import Store
from hotspotctl.store.inventory import update_access_points
from hotspotctl.store.outages import list_outages, load_health
from tests.conftest import write
from tests.servers import free_udp_port

_CLONE_NEWNET = 0x40000000
_names = itertools.count()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@contextmanager
def inside_namespace(*setup: tuple[str, ...]) -> Iterator[str]:
    """A fresh network namespace (loopback up, then ``setup`` run in it), with this thread inside it until the
    block ends; the threads and processes it starts meanwhile live there too. Skips where it cannot be made."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("network namespaces need root and iproute2's ip")
    name = f"hsreach-{os.getpid()}-{next(_names)}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot make a network namespace here: {exc.stderr.strip()}")
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        for command in setup:
            subprocess.run(["ip", "netns", "exec", name, *command], check=True, capture_output=True, text=True,
                           timeout=30)
        target = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
        try:
            if libc.setns(target, _CLONE_NEWNET) != 0:
                pytest.skip(f"setns: {os.strerror(ctypes.get_errno())}")
        finally:
            os.close(target)
        try:
            yield name
        finally:
            if libc.setns(own, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the test's own namespace")
    finally:
        os.close(own)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30, check=False)


SILENT_SUBNET = (("ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"),
                 ("ip", "addr", "add", "10.77.9.1/24", "dev", "veth0"),
                 ("ip", "link", "set", "veth0", "up"), ("ip", "link", "set", "veth1", "up"))
DEAD_ADDRESS = "10.77.9.2"  # routed through veth0, and nobody there answers ARP: no echo reply, no SNMP


NO_KERNEL_ECHO = (("sysctl", "-w", "net.ipv4.icmp_echo_ignore_all=1"),)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


class EchoResponder:
    """Answers the ICMP echo requests delivered in this namespace (the kernel's own replies switched off):
    at once, ``delay_s[host]`` late, or only every ``answer_every[host]``-th one (the others dropped)."""

    def __init__(self, *, delay_s: dict[str, float], answer_every: dict[str, int]) -> None:
        self.delay_s, self.answer_every = delay_s, answer_every
        self.seen: dict[str, int] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.settimeout(0.1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> EchoResponder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                packet = self.sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            header = (packet[0] & 0x0F) * 4
            icmp = packet[header:]
            if len(icmp) < 8 or icmp[0] != 8:  # echo requests only
                continue
            source, destination = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
            n = self.seen[destination] = self.seen.get(destination, 0) + 1
            every = self.answer_every.get(destination, 1)
            if (n - 1) % every:
                continue  # dropped
            body = b"\0\0\0\0" + icmp[4:]
            reply = body[:2] + struct.pack("!H", _checksum(body)) + body[4:]
            delay = self.delay_s.get(destination, 0.0)
            if delay:
                threading.Timer(delay, self._send, (reply, destination, source)).start()
            else:
                self._send(reply, destination, source)

    @staticmethod
    def _send(reply: bytes, source: str, destination: str) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as out:
            out.bind((source, 0))
            out.sendto(reply, (destination, 0))


INVENTORY = """id,lat,lon,site,alcaldia,programa
OK-1,19.35,-99.08,SITE-OK,Iztapalapa,Pilares
LOSSY-1,19.355,-99.075,SITE-LOSSY,Iztapalapa,Pilares
SLOW-1,19.36,-99.07,SITE-SLOW,Iztapalapa,Pilares
SIL-1,19.37,-99.06,SITE-SIL,Iztapalapa,Pilares
DEAD-1,19.38,-99.05,SITE-DEAD,Iztapalapa,Pilares
"""
PING = PingSettings(count=3, interval_ms=100.0, timeout_s=1.0)


def test_each_cycle_pings_every_ap_and_evaluation_tells_agent_silent_offline_and_backhaul_degraded(tmp_path: Path):
    """OK-1 answers both; SLOW-1 answers ping 200 ms late and LOSSY-1 one echo in 3: backhaul degraded after
    down_after cycles, a crew's stop each; SIL-1's address answers ping but its SNMP port is a socket nobody reads: misconfigured
    (agent_silent), never down; DEAD-1 answers neither: offline, as before pings."""
    settings = load_settings(flags={"data_dir": ("--data-dir", str(tmp_path / "var"))}, env={}).settings
    settings = replace(settings, snmp=replace(settings.snmp, timeout_s=1.0, retries=1, deadline_s=3.0),
                       evaluate=replace(settings.evaluate, target_mbps=1.0), ping=PING,
                       crew_zones=replace(settings.crew_zones, language="en"))  # the actions' English words below
    store = Store.open(settings.store_url)
    try:
        import_inventory(store, write(tmp_path / "aps.csv", INVENTORY), settings.inventory)
        zones = CrewZones.from_settings(settings.crew_zones)
        fleet = Fleet.load(store, zones)
        write(tmp_path / "scenario.yaml", yaml.safe_dump({"name": "calm", "faults": []}))
        port = free_udp_port()
        plan = plan_simulation(fleet, sorted(fleet.aps.values(), key=lambda ap: ap.id), seed=7,
                               scenario=load_scenario(tmp_path / "scenario.yaml"), community=b"public",
                               v3_fraction=0.0, port=port)
        assert assign_addresses(store, plan, v2c_auth="default", v3_auth="default") == 5
        by_id = {ap.id: ap for ap in plan.aps}
        host = {ap_id: (ap.mgmt_address or "").split(":")[0] for ap_id, ap in by_id.items()}
        with (inside_namespace(*SILENT_SUBNET, *NO_KERNEL_ECHO),
              EchoResponder(delay_s={host["SLOW-1"]: 0.2}, answer_every={host["LOSSY-1"]: 3})):
            nobody = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # SIL-1's agent: bound, never answers
            nobody.bind(("127.0.0.1", 0))
            silent_port = nobody.getsockname()[1]
            moved = {"SIL-1": replace(by_id["SIL-1"], mgmt_address=f"127.0.0.1:{silent_port}"),
                     "DEAD-1": replace(by_id["DEAD-1"], mgmt_address=f"{DEAD_ADDRESS}:161")}
            with store.write() as conn:
                update_access_points(conn, list(moved.values()), datetime.now(UTC))
            aps = [moved.get(ap.id, ap) for ap in plan.aps]
            evaluator = Evaluator(store, settings.evaluate, aps, zones)
            profiles = load_profiles([])

            async def go() -> list:
                memory = CycleMemory.load(store, aps)
                done = []
                with Poller(settings.snmp, profiles) as poller:
                    for _ in range(settings.evaluate.down_after + 1):
                        report = await run_cycle(store, aps, settings.snmp, profiles, poller, memory=memory,
                                                 pinger=pinger_for(settings.ping))
                        done.append((report, evaluator.evaluate(report.outcomes, report.started_at)))
                return done

            try:
                with Simulator(plan.fleet, plan.clock, port=port, processes=1):
                    cycles = asyncio.run(go())
            finally:
                nobody.close()
        first = {o.ap.id: o for o in cycles[0][0].outcomes}
        last = {o.ap.id: o for o in cycles[-1][0].outcomes}
        assert {ap: o.error.kind if o.error else None for ap, o in first.items()} == {
            "DEAD-1": "timeout", "LOSSY-1": None, "OK-1": None, "SIL-1": "timeout", "SLOW-1": None}
        # the pings: every AP with an address, whatever its SNMP did (skipped ones too)
        ok, slow, sil, dead = (first[ap].ping for ap in ("OK-1", "SLOW-1", "SIL-1", "DEAD-1"))
        assert ok is not None and slow is not None and sil is not None and dead is not None
        assert (ok.host, ok.sent, ok.received, ok.loss_pct) == (host["OK-1"], 3, 3, 0.0)
        assert ok.rtt_avg_ms is not None and ok.rtt_avg_ms < 50.0
        assert (slow.sent, slow.received, slow.loss_pct) == (3, 3, 0.0)
        assert slow.rtt_min_ms is not None and 200.0 <= slow.rtt_min_ms < 400.0  # answered 200 ms late
        lossy = first["LOSSY-1"].ping
        assert lossy is not None and (lossy.sent, lossy.received, lossy.loss_pct) == (3, 1, 66.7)
        assert (sil.host, sil.sent, sil.received, sil.loss_pct) == ("127.0.0.1", 3, 3, 0.0)
        assert (dead.host, dead.sent, dead.received, dead.loss_pct, dead.rtt_avg_ms) == (
            DEAD_ADDRESS, 3, 0, 100.0, None)
        assert {ap: o.error.kind if o.error else None for ap, o in last.items()} == {
            "DEAD-1": "backoff", "LOSSY-1": None, "OK-1": None, "SIL-1": "backoff", "SLOW-1": None}
        assert last["SIL-1"].ping is not None and last["SIL-1"].ping.received == 3  # skipped, still pinged
        assert last["DEAD-1"].ping is not None and last["DEAD-1"].ping.received == 0

        evaluation = cycles[-1][1]
        assert [dict(c[1].states) for c in cycles] == [
            {"up": 3, "unknown": 2},  # SIL-1's first silent cycle is a miss; down_after (2) in a row: agent_silent
            {"up": 1, "degraded": 2, "misconfigured": 1, "down": 1},
            {"up": 1, "degraded": 2, "misconfigured": 1, "down": 1}]
        assert dict(evaluation.reasons) == {"agent_silent": 1}
        assert dict(evaluation.causes) == {"backhaul_degraded": 2, "offline": 1}
        with store.read() as conn:
            healths = load_health(conn)
            outages = list_outages(conn)
        silent = healths["SIL-1"]
        assert (silent.state, silent.reason_kind, silent.causes, silent.misses) == (
            "misconfigured", "agent_silent", (), 0)
        assert silent.reason is not None and silent.reason.startswith("answers ping (loss 0%, rtt ")
        assert silent.reason.endswith(" ms) but not SNMP: check its SNMP agent and credentials")
        assert (healths["SLOW-1"].state, healths["SLOW-1"].causes, healths["SLOW-1"].ping_bad) == (
            "degraded", ("backhaul_degraded",), 0b11)
        assert healths["SLOW-1"].ping_loss_pct == 0.0 and (healths["SLOW-1"].ping_rtt_ms or 0) >= 200.0
        assert (healths["LOSSY-1"].causes, healths["LOSSY-1"].ping_loss_pct) == (("backhaul_degraded",), 66.7)
        assert (healths["DEAD-1"].state, healths["DEAD-1"].causes) == ("down", ("offline",))
        assert healths["OK-1"].state == "up" and healths["OK-1"].causes == ()
        assert sorted((o.site, o.cause, o.aps) for o in outages) == [
            ("SITE-DEAD", "offline", ("DEAD-1",)), ("SITE-LOSSY", "backhaul_degraded", ("LOSSY-1",)),
            ("SITE-SLOW", "backhaul_degraded", ("SLOW-1",))]
        lists = crew_lists_from_store(store, Fleet.load(store, zones), settings, evaluation.at)
        stops = {s.site: s for z in lists for s in z.stops}
        assert sorted(stops) == ["SITE-DEAD", "SITE-LOSSY", "SITE-SLOW"]  # never SIL-1's: the NOC's
        assert stops["SITE-LOSSY"].action.startswith("Backhaul poor on 1 AP (LOSSY-1: loss 66.7%, rtt ")
        assert stops["SITE-SLOW"].action.startswith("Backhaul poor on 1 AP (SLOW-1: loss 0%, rtt ")

        # ap_ping: one point per AP pinged, at the cycle's time, with ap_status's tags
        report = cycles[-1][0]
        evaluated = rollup(report.outcomes, healths=evaluator.healths)
        lines = encode_cycle(ApLines(), report.outcomes, report.started_at, evaluated,
                             {ap.id: "Iztapalapa" for ap in aps}, {ap.id: 1.0 for ap in aps}, evaluator.healths)
        pings = {line.split(",ap=")[1].split(",")[0]: line for line in lines if line.startswith("ap_ping,")}
        at = int(report.started_at)
        assert sorted(pings) == ["DEAD-1", "LOSSY-1", "OK-1", "SIL-1", "SLOW-1"]
        assert pings["DEAD-1"].endswith(f" sent=3i,received=0i,loss_pct=100.0 {at}")
        assert " sent=3i,received=3i,loss_pct=0.0,rtt_min_ms=" in pings["SIL-1"]
        assert ",jitter_ms=" in pings["SIL-1"] and pings["SIL-1"].endswith(f" {at}")
        status = next(line for line in lines if line.startswith("ap_status,") and ",ap=OK-1," in line)
        assert pings["OK-1"].split(" ")[0] == "ap_ping" + status.split(" ")[0][len("ap_status"):]
    finally:
        store.close()


def test_poll_once_json_carries_each_aps_ping_and_an_ap_silent_on_snmp_is_agent_silent(cli):
    """`poll --once --format json` with ping enabled (the default): the AP's address answers ping (loopback)
    while its SNMP port is a socket nobody reads; with ping disabled, the same AP is a silent miss."""
    nobody = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nobody.bind(("127.0.0.1", 0))
    try:
        write(cli.workdir / "hotspotctl.toml", "[snmp]\ntimeout_s = 0.3\nretries = 1\ndeadline_s = 2.0\n"
                                               "[ping]\ncount = 2\ninterval_ms = 50\ntimeout_s = 1.0\n")
        write(cli.workdir / "city.csv", "id,lat,lon,alcaldia,mgmt_address\n"
                                        f"SIL-1,19.40,-99.10,Iztapalapa,127.0.0.1:{nobody.getsockname()[1]}\n"
                                        "NOADDR-1,19.41,-99.10,Iztapalapa,\n")
        assert cli("inventory", "import", "city.csv").code == 0
        result = cli("poll", "--once", "--format", "json")
        assert result.code == 4
        rows = {row["ap"]: row for row in json.loads(result.out)}
        ping = rows["SIL-1"]["ping"]
        assert {k: ping[k] for k in ("host", "sent", "received", "loss_pct")} == {
            "host": "127.0.0.1", "sent": 2, "received": 2, "loss_pct": 0.0}
        assert list(ping) == ["host", "sent", "received", "loss_pct", "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms",
                              "jitter_ms"]
        assert ping["rtt_min_ms"] > 0 and ping["rtt_min_ms"] <= ping["rtt_avg_ms"] <= ping["rtt_max_ms"]
        assert rows["SIL-1"]["error_kind"] == "timeout"
        assert rows["NOADDR-1"]["ping"] is None and rows["NOADDR-1"]["error_kind"] == "no_address"
        status = json.loads(cli("status", "--format", "json").out)
        # one silent exchange while it answers ping is a miss like any other (unknown: never seen up) ...
        assert {k: status["fleet"][k] for k in ("unknown", "down", "misconfigured", "unmonitored")} == {
            "unknown": 1, "down": 0, "misconfigured": 0, "unmonitored": 1}
        # ... down_after (2) in a row: its agent, not the AP: misconfigured (agent_silent), never down
        assert cli("poll", "--once", "--no-backoff", "--format", "json").code == 4
        status = json.loads(cli("status", "--format", "json").out)
        assert {k: status["fleet"][k] for k in ("down", "misconfigured", "unmonitored")} == {
            "down": 0, "misconfigured": 1, "unmonitored": 1}
        reasons = {r["kind"]: r for r in status["not_monitored"]}
        assert reasons["agent_silent"]["state"] == "misconfigured" and reasons["agent_silent"]["aps"] == 1
        assert reasons["agent_silent"]["message"].startswith("answers ping (loss 0%, rtt ")

        write(cli.workdir / "hotspotctl.toml", "[snmp]\ntimeout_s = 0.3\nretries = 1\ndeadline_s = 2.0\n"
                                               "[ping]\nenabled = false\n")
        rows = {row["ap"]: row for row in json.loads(cli("poll", "--once", "--no-backoff", "--format", "json").out)}
        assert rows["SIL-1"]["ping"] is None and rows["SIL-1"]["error_kind"] == "timeout"
        status = json.loads(cli("status", "--format", "json").out)
        # not pinged: a miss again (afresh: unknown until down_after misses in a row)
        assert {k: status["fleet"][k] for k in ("unknown", "misconfigured", "unmonitored")} == {
            "unknown": 1, "misconfigured": 0, "unmonitored": 1}
    finally:
        nobody.close()


def test_the_hosts_pinged_are_each_address_once_and_a_prober_that_cannot_open_leaves_the_cycle_to_snmp(caplog):
    """Every AP with an address of its own (its host, once however many APs share it), none without; where no
    ICMP socket may be opened (a datagram socket, here outside net.ipv4.ping_group_range) the cycle gets no
    ping, says why once as an error, and goes on."""
    from hotspotctl.models.access_points import AccessPoint
    from hotspotctl.scheduling.cycle import _PING_FAILURES, ping_aps, ping_targets

    aps = [AccessPoint("A", 19.4, -99.1, mgmt_address="127.0.0.1:16100"),
           AccessPoint("B", 19.4, -99.1, mgmt_address="127.0.0.1"),
           AccessPoint("C", 19.4, -99.1, mgmt_address="[::1]:161"),
           AccessPoint("M", 19.4, -99.1, controller="WLC-1"),  # managed, no address of its own: not pinged
           AccessPoint("BAD", 19.4, -99.1, mgmt_address="127.0.0.1:99999")]  # the poll says no_address
    assert ping_targets(aps) == {"127.0.0.1": ("A", "B"), "::1": ("C",)}
    pinged = asyncio.run(ping_aps(pinger_for(PING), aps))
    assert sorted(pinged) == ["A", "B", "C"] and pinged["A"] is pinged["B"]
    assert [(r.host, r.sent, r.received) for r in (pinged["A"], pinged["C"])] == [("127.0.0.1", 3, 3), ("::1", 3, 3)]

    with open("/proc/sys/net/ipv4/ping_group_range") as ranges:
        low, high = map(int, ranges.read().split())
    if low <= os.getgid() <= high:
        pytest.skip("this machine lets our group open ICMP datagram sockets")
    refused = pinger_for(replace(PING, socket="datagram"))
    assert refused is not None and pinger_for(replace(PING, enabled=False)) is None
    _PING_FAILURES.clear()
    with caplog.at_level("DEBUG", logger="hotspotctl.cycle"):
        assert asyncio.run(ping_aps(refused, aps)) == {}
        assert asyncio.run(ping_aps(refused, aps)) == {}
    said = [r for r in caplog.records if r.name == "hotspotctl.cycle"]
    assert [r.levelname for r in said] == ["ERROR", "DEBUG"]
    assert said[0].getMessage().startswith("no ping in the cycles (SNMP alone decides) until this is fixed: ")


def test_the_hosts_to_ping_are_kept_in_the_cycle_memory_until_the_fleet_changes():
    """``CycleMemory.ping_targets`` gives what ``ping_targets`` gives, built once per fleet (issue 19): the same
    APs again (the same records, or equal new ones) reuse it; an AP whose address changed, or another fleet,
    builds it again; ``ping_aps`` with the memory pings the same hosts."""
    from dataclasses import replace as changed

    from hotspotctl.models.access_points import AccessPoint
    from hotspotctl.scheduling.cycle import CycleMemory, ping_aps, ping_targets

    aps = [AccessPoint("A", 19.4, -99.1, mgmt_address="127.0.0.1:16100"),
           AccessPoint("B", 19.4, -99.1, mgmt_address="127.0.0.1"),
           AccessPoint("M", 19.4, -99.1, controller="WLC-1")]
    memory = CycleMemory({}, {})
    first = memory.ping_targets(aps)
    assert first == ping_targets(aps) == {"127.0.0.1": ("A", "B")}
    assert memory.ping_targets(aps) is first and memory.ping_targets(list(aps)) is first
    assert memory.ping_targets([changed(ap) for ap in aps]) is first  # equal records: the same hosts
    moved = [aps[0], changed(aps[1], mgmt_address="[::1]:161"), aps[2]]
    assert memory.ping_targets(moved) == {"127.0.0.1": ("A",), "::1": ("B",)}
    assert memory.ping_targets(aps[:1]) == {"127.0.0.1": ("A",)}
    assert memory.ping_targets([]) == {}
    pinged = asyncio.run(ping_aps(pinger_for(PING), moved, memory))
    assert sorted(pinged) == ["A", "B"] and (pinged["A"].host, pinged["B"].host) == ("127.0.0.1", "::1")
    assert memory.pinged == {"127.0.0.1": ("A",), "::1": ("B",)}
