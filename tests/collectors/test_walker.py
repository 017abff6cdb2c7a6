"""The v2c walker (discovery's own SNMP client) against real agents, and against a hostile one.

snmpsim serves the 38 LibreNMS recordings: discovery and walks through a WalkerDevice must equal
pysnmp's, field by field. net-snmp's snmpd checks GETs, walks, timeouts and the in-flight cap
under load. A scripted UDP responder on loopback (a real socket peer, not a mock) sends garbage,
forged and broken answers, which must be dropped and counted or refused as protocol errors.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotspotctl.collectors import walker as walker_module
from hotspotctl.collectors.auth import Credentials
from hotspotctl.collectors.codec import (
    GET,
    GET_BULK,
    INTEGER,
    NULL,
    OCTET_STRING,
    REQUEST_ID_MAX,
    REQUEST_ID_MIN,
    RESPONSE,
    Response,
    decode_response,
    encode_response,
)
from hotspotctl.collectors.discovery import discover
from hotspotctl.collectors.model import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Discovery, PollError
from hotspotctl.collectors.oids import (
    SYS_DESCR,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    Oid,
    decode_oid,
    encode_oid,
    parse_oid,
)
from hotspotctl.collectors.poller import Poller, Target
from hotspotctl.collectors.snmp import PysnmpDevice, SnmpClient
from hotspotctl.collectors.walker import WalkerClient, bulk_request_parts, fewer_collections, freeze_heap
from hotspotctl.errors import CollectError
from hotspotctl.settings import SnmpAuth, SnmpSettings
from hotspotctl.simulate.snmprec import Recording
from tests.collectors.test_discovery import case_spec, outcome, shipped
from tests.conftest import DEVICE_CASES
from tests.servers import free_udp_port

IF_TABLE = parse_oid("1.3.6.1.2.1.2.2")
SYSTEM = parse_oid("1.3.6.1.2.1.1")
# snmpsim answers one request at a time in Python: give it time rather than retries.
# Recordings whose radio table is written row by row rather than in OID order: snmpsim answers a
# column's GETNEXT with the file's next line, which belongs to the next column, so each column ends
# after its first row over the network (a real agent answers in OID order). zyxelnwa's wlanRadioTable
# has rows 1 and 2; snmpsim serves row 1 of each column.
SERVED_RADIO_ROWS = {"zyxelnwa": ("1",)}
SIM_TIMEOUT, SIM_RETRIES = 5.0, 1


def _recording(case: str) -> Recording:
    return Recording.from_file(next(p for p in DEVICE_CASES if p.name == case) / f"{case}.snmprec")


def _pysnmp(client: SnmpClient, port: int, community: str) -> PysnmpDevice:
    return client.device("127.0.0.1", port, Credentials(community, "2c", community=community.encode()),
                         timeout=SIM_TIMEOUT, retries=SIM_RETRIES)


def _sim_walker(**options: float) -> WalkerClient:
    return WalkerClient(timeout_s=SIM_TIMEOUT, retries=SIM_RETRIES, **options)


# --- snmpsim: the 38 recordings, walker vs pysnmp ------------------------------------------------


@pytest.mark.parametrize("case", DEVICE_CASES, ids=lambda path: path.name)
def test_discovery_through_the_walker_equals_pysnmp(snmpsim, case: Path) -> None:
    async def both() -> tuple[Discovery, Discovery, WalkerClient]:
        pysnmp = SnmpClient()
        try:
            with _sim_walker() as walker:
                ours = await discover(walker.device("127.0.0.1", snmpsim.port, case.name.encode()), shipped())
            theirs = await discover(_pysnmp(pysnmp, snmpsim.port, case.name), shipped())
        finally:
            pysnmp.close()
        return ours, theirs, walker

    ours, theirs, walker = asyncio.run(both())
    assert ours == theirs
    direct = outcome(case.name).discovery  # the recording read directly (test_discovery's golden case)
    if case.name in SERVED_RADIO_ROWS:
        served = SERVED_RADIO_ROWS[case.name]
        direct = dataclasses.replace(direct, radio_keys=served,
                                     radio_cells=tuple((column, served) for column, _ in direct.radio_cells))
    assert ours == direct
    spec = case_spec(case.name)
    assert ours.profile == spec["profile"]
    assert [radio.if_index for radio in ours.radios] == spec["radios"]
    assert ours.counter_bits == spec["counter_bits"]
    if spec["uplink"] is None:
        assert ours.uplink is None
    else:
        assert ours.uplink is not None
        assert (ours.uplink.if_index, ours.uplink.name) == (spec["uplink"]["if_index"], spec["uplink"]["name"])
    assert walker.transport.stats.dropped == 0 and walker.stats.timeouts == 0 and walker.stats.in_flight == 0


@pytest.mark.parametrize(("case", "prefix", "repetitions"), [
    ("lcos_oap-321", IF_TABLE, 25),  # 946 rows
    ("stellar_oaw-ap1321", IF_TABLE, 7),  # 726 rows, a repetition count that splits columns oddly
    ("unifi_nanohd", parse_oid("1.3.6.1.4.1.41112"), 25),
    ("hiveos-wireless_2", parse_oid("1.3.6.1.4.1.26928"), 3),  # 226 rows, 76 GETBULKs
    ("routeros", parse_oid("1.3.6.1.4.1.14988"), 25),  # the recording's last subtree: ends at endOfMibView
    ("unifi", IF_TABLE, 25),  # no IF-MIB at all: []
])
def test_walks_equal_pysnmp_and_the_recording(snmpsim, case: str, prefix: Oid, repetitions: int) -> None:
    async def both() -> tuple[list, list]:
        pysnmp = SnmpClient()
        try:
            with _sim_walker(max_repetitions=repetitions) as walker:
                ours = await walker.device("127.0.0.1", snmpsim.port, case.encode()).walk(prefix)
            theirs = await _pysnmp(pysnmp, snmpsim.port, case).walk(prefix)
        finally:
            pysnmp.close()
        return ours, theirs

    ours, theirs = asyncio.run(both())
    assert ours == theirs
    assert ours == [(record.oid, record.value) for record in _recording(case).walk(prefix)]


def test_a_walk_longer_than_max_rows_is_refused_and_a_higher_cap_reads_it_all(snmpsim) -> None:
    """arubaos's vendor subtree has 23,532 rows: more than the default cap of 10,000."""
    prefix = parse_oid("1.3.6.1.4.1.14823")

    async def walk(max_rows: int) -> list:
        with _sim_walker(max_rows=max_rows) as walker:
            return await walker.device("127.0.0.1", snmpsim.port, b"arubaos").walk(prefix)

    with pytest.raises(CollectError, match=r"more than 10000 rows under 1\.3\.6\.1\.4\.1\.14823") as caught:
        asyncio.run(walk(10_000))
    assert caught.value.kind == "protocol"
    rows = asyncio.run(walk(30_000))
    assert rows == [(record.oid, record.value) for record in _recording("arubaos").walk(prefix)]
    assert len(rows) > 20_000


DISCOVERIES_AT_ONCE = 8


async def _bounded(discoveries: Iterable[Coroutine[Any, Any, Discovery]]) -> list[Discovery]:
    """Every discovery, DISCOVERIES_AT_ONCE in flight, in the given order."""
    gate = asyncio.Semaphore(DISCOVERIES_AT_ONCE)

    async def one(discovery: Coroutine[Any, Any, Discovery]) -> Discovery:
        async with gate:
            return await discovery

    return list(await asyncio.gather(*(one(discovery) for discovery in discoveries)))


def test_print_cpu_for_discovering_every_recording(snmpsim, capsys) -> None:
    """Not an assertion on time (GUIDE §8): the figure for the README: every recording, 8 at a time, each way."""
    cases = [case.name for case in DEVICE_CASES]

    async def through_walker() -> tuple[list[Discovery], int]:
        # snmpsim answers one request at a time: with many recordings asked at once its queue outgrows the
        # timeout the walker learns from the first quick answers, so hold the timeout at the simulator's,
        # and keep DISCOVERIES_AT_ONCE in flight: with all 66 at once on a loaded machine, the last in
        # snmpsim's queue waited longer than that timeout twice (seen at load 10 on 2 cores).
        with _sim_walker(min_timeout_s=SIM_TIMEOUT) as walker:
            found = await _bounded(discover(walker.device("127.0.0.1", snmpsim.port, case.encode()), shipped())
                                   for case in cases)
        return found, walker.stats.requests

    async def through_pysnmp() -> list[Discovery]:
        pysnmp = SnmpClient()
        try:
            return await _bounded(discover(_pysnmp(pysnmp, snmpsim.port, case), shipped()) for case in cases)
        finally:
            pysnmp.close()

    started = time.process_time()
    ours, requests = asyncio.run(through_walker())
    walker_cpu = time.process_time() - started
    started = time.process_time()
    theirs = asyncio.run(through_pysnmp())
    pysnmp_cpu = time.process_time() - started
    assert ours == theirs
    with capsys.disabled():
        print(f"\ndiscovering {len(cases)} recordings ({requests} requests): walker {walker_cpu:.3f} s CPU "
              f"({walker_cpu / requests * 1e6:.0f} µs/request), pysnmp {pysnmp_cpu:.3f} s CPU, "
              f"ratio {pysnmp_cpu / walker_cpu:.1f}x")


# --- snmpd: a live net-snmp agent ------------------------------------------------------------------


def _snmpd_walker(**options: float) -> WalkerClient:
    return WalkerClient(**{"timeout_s": 1.0, "retries": 1, **options})  # type: ignore[arg-type]


def _without_uptime(rows: Sequence[tuple[Oid, object]]) -> list[tuple[Oid, object]]:
    """sysUpTime.0 moves between two walks; its OID must be there, its value is compared elsewhere."""
    return [(oid, None if oid == SYS_UPTIME else value) for oid, value in rows]


def test_get_from_snmpd(snmpd) -> None:
    missing_object, missing_instance = parse_oid("1.3.6.1.2.1.1.99.0"), parse_oid("1.3.6.1.2.1.1.1.1")
    oids = [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, missing_object, missing_instance]
    before = snmpd.snmpget("1.3.6.1.2.1.1.3.0")["1.3.6.1.2.1.1.3.0"]

    async def run() -> tuple[dict, dict, dict]:
        with _snmpd_walker() as walker, _snmpd_walker(max_oids_per_get=2) as split:
            device = walker.device("127.0.0.1", snmpd.port, snmpd.COMMUNITY.encode())
            one = await device.get(oids)
            three = await split.device("127.0.0.1", snmpd.port, snmpd.COMMUNITY.encode()).get(oids)
            assert split.stats.requests == 3 and walker.stats.requests == 1
        pysnmp = SnmpClient()
        try:
            theirs = await pysnmp.device("127.0.0.1", snmpd.port, Credentials("lab", "2c", community=snmpd.COMMUNITY
                                                                               .encode())).get(oids)
        finally:
            pysnmp.close()
        return one, three, theirs

    one, three, theirs = asyncio.run(run())
    after = snmpd.snmpget("1.3.6.1.2.1.1.3.0")["1.3.6.1.2.1.1.3.0"]
    assert list(one) == oids
    assert one[SYS_DESCR].decode() == snmpd.snmpget("1.3.6.1.2.1.1.1.0")["1.3.6.1.2.1.1.1.0"]
    assert one[SYS_OBJECT_ID] == parse_oid("1.3.6.1.4.1.8072.3.2.10")
    assert before <= one[SYS_UPTIME] <= after
    assert one[missing_object] is NO_SUCH_OBJECT and one[missing_instance] is NO_SUCH_INSTANCE
    for answer in (three, theirs):
        assert {k: v for k, v in answer.items() if k != SYS_UPTIME} == {k: v for k, v in one.items() if k != SYS_UPTIME}


def test_walk_of_the_system_group_equals_pysnmp(snmpd) -> None:
    async def run() -> tuple[list, list]:
        with _snmpd_walker(max_repetitions=4) as walker:
            ours = await walker.device("127.0.0.1", snmpd.port, snmpd.COMMUNITY.encode()).walk(SYSTEM)
        pysnmp = SnmpClient()
        try:
            theirs = await pysnmp.device("127.0.0.1", snmpd.port,
                                         Credentials("lab", "2c", community=snmpd.COMMUNITY.encode())).walk(SYSTEM)
        finally:
            pysnmp.close()
        return ours, theirs

    ours, theirs = asyncio.run(run())
    assert len(ours) > 8  # sysDescr .. sysServices, and the sysORTable
    assert all(oid[:len(SYSTEM)] == SYSTEM for oid, _ in ours)
    assert [oid for oid, _ in ours] == sorted(oid for oid, _ in ours)
    assert _without_uptime(ours) == _without_uptime(theirs)


def _timed_failure(port: int, community: bytes, timeout_s: float, retries: int) -> tuple[CollectError, float, WalkerClient]:
    async def run() -> tuple[CollectError, float, WalkerClient]:
        with WalkerClient(timeout_s=timeout_s, retries=retries) as walker:
            started = time.monotonic()
            with pytest.raises(CollectError) as caught:
                await walker.device("127.0.0.1", port, community, auth_name="lab").get([SYS_DESCR])
            return caught.value, time.monotonic() - started, walker

    return asyncio.run(run())


@pytest.mark.parametrize("what", ["wrong community", "closed port"])
def test_no_answer_is_a_timeout_after_every_retry(snmpd, what: str) -> None:
    """The wait doubles per retry (settings: "each waits twice as long"): 0.2 + 0.4 + 0.8 s."""
    port, community = ((snmpd.port, b"not-the-community") if what == "wrong community"
                       else (free_udp_port(), snmpd.COMMUNITY.encode()))
    error, elapsed, walker = _timed_failure(port, community, 0.2, 2)
    assert error.kind == "timeout"
    assert f"127.0.0.1:{port}: no answer after 3 tries" in str(error)
    assert "auth set 'lab'" in str(error) and b"not-the-community".decode() not in str(error)
    assert "(timeout 0.2 s, doubling per retry, deadline 6 s; v2c)" in str(error)
    assert (walker.stats.sent, walker.stats.retries, walker.stats.timeouts) == (3, 2, 1)
    # Every wait ran out (1.4 s in all), and the walk ended with the last one: not at the deadline
    # (6 s), which is what a walker that forgot to give up after its last try would wait for. The
    # bounds separate those two, whatever the machine's load adds.
    assert walker.deadline_s == 6.0
    assert 1.35 <= elapsed < walker.deadline_s


def test_many_concurrent_walks_respect_the_in_flight_cap(snmpd) -> None:
    """200 devices (as many APs would be) walked at once through a cap of 8 requests in flight."""
    cap = 8

    async def run() -> tuple[list[list], WalkerClient]:
        with _snmpd_walker(timeout_s=5.0, max_in_flight=cap, max_repetitions=5) as walker:
            devices = [walker.device("127.0.0.1", snmpd.port, snmpd.COMMUNITY.encode()) for _ in range(200)]
            walks = await asyncio.gather(*(device.walk(SYSTEM) for device in devices))
        return walks, walker

    walks, walker = asyncio.run(run())
    assert all(_without_uptime(walk) == _without_uptime(walks[0]) for walk in walks)
    assert len(walks[0]) > 8
    assert walker.stats.max_in_flight == cap  # reached, never passed
    assert walker.stats.in_flight == 0 and walker.stats.timeouts == 0 and walker.transport.stats.dropped == 0
    assert walker.stats.requests >= 200 * 2


def test_walks_of_one_device_started_together_share_getbulks(snmpd) -> None:
    """Discovery gathers ten IF-MIB columns: they go out as one GETBULK stream, a varbind per column,
    and each walk still gets exactly its own rows (the same as walking it alone)."""
    columns = [parse_oid(f"1.3.6.1.2.1.2.2.1.{n}") for n in (1, 2, 3, 7)] + [parse_oid("1.3.6.1.2.1.31.1.1.1.1"),
                                                                             parse_oid("1.3.6.1.2.1.1.9.1.3")]

    async def run() -> tuple[list[list], list[list], int]:
        with _snmpd_walker(max_repetitions=6) as together, _snmpd_walker(max_repetitions=6) as alone:
            device = together.device("127.0.0.1", snmpd.port, snmpd.COMMUNITY.encode())
            batched = await asyncio.gather(*(device.walk(column) for column in columns))
            single = alone.device("127.0.0.1", snmpd.port, snmpd.COMMUNITY.encode())
            one_by_one = [await single.walk(column) for column in columns]
            return batched, one_by_one, together.stats.requests

    batched, one_by_one, requests = asyncio.run(run())
    assert batched == one_by_one
    assert all(batched) and len(batched[-1]) > 3  # sysORDescr: more rows than the others
    rows = sum(len(walk) for walk in batched)
    assert requests <= rows // 6 + len(columns)  # about 6 rows per answer, not a request per column


# --- the poller: v2c through the walker, v3 through pysnmp ---------------------------------------


def test_poller_discovers_v2c_with_the_walker_and_v3_with_pysnmp(snmpd, snmpsim) -> None:
    cases = ["unifi_nanohd", "lcos_oap-321", "airos"]
    auth = {case: SnmpAuth(community=case) for case in cases}
    auth["lab"] = SnmpAuth(community=snmpd.COMMUNITY)
    auth["lab-v3"] = SnmpAuth(version="3", user=snmpd.V3_USER, auth_protocol=snmpd.V3_AUTH[0],
                              auth_password=snmpd.V3_AUTH[1], priv_protocol=snmpd.V3_PRIV[0],
                              priv_password=snmpd.V3_PRIV[1])
    auth["wrong"] = SnmpAuth(community="not-the-community")
    settings = SnmpSettings(timeout_s=SIM_TIMEOUT, retries=0, auth=auth)
    targets = [Target(f"AP-{case}", snmpsim.address, case) for case in cases]
    targets += [Target("LAB-V2C", snmpd.address, "lab"), Target("LAB-V3", snmpd.address, "lab-v3"),
                Target("NO-ADDRESS", None, "lab")]

    async def run() -> tuple[dict, dict, int]:
        with Poller(settings, shipped(), env={}) as poller:
            found = await poller.discover(targets)
            requests = poller.walker.stats.requests
        with Poller(SnmpSettings(timeout_s=0.2, retries=0, auth=auth), shipped(), env={}) as poller:
            wrong = await poller.discover([Target("WRONG", snmpd.address, "wrong")])
        return found, wrong, requests

    found, wrong, requests = asyncio.run(run())
    for case in cases:
        assert found[f"AP-{case}"] == outcome(case).discovery
    assert isinstance(found["LAB-V2C"], Discovery)
    assert found["LAB-V3"] == found["LAB-V2C"]  # the same agent, through pysnmp v3 and through the walker
    assert isinstance(found["NO-ADDRESS"], PollError) and found["NO-ADDRESS"].kind == "no_address"
    assert isinstance(wrong["WRONG"], PollError) and wrong["WRONG"].kind == "timeout"
    assert "auth set 'wrong'" in wrong["WRONG"].message
    assert requests >= 4 * 12  # the v2c APs went through the walker


# --- a hostile agent ---------------------------------------------------------------------------

COMMUNITY = b"hostile"
TABLE = parse_oid("1.3.6.1.4.1.99999.1")
Script = Callable[["Agent", Response, tuple[str, int]], None]


class Agent:
    """A UDP agent in a thread; ``script(agent, request, source)`` decides what goes back, from where."""

    def __init__(self, script: Script) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the same host, another port
        self.other.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.05)  # so the thread sees ``stop`` soon
        self.script = script
        self.requests: list[Response] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            request = decode_response(data)  # a GetRequest or GetBulk decodes with the same parser
            self.requests.append(request)
            self.script(self, request, source)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
        self.other.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _answer(request: Response, varbinds: list, *, community: bytes = COMMUNITY, rid_delta: int = 0,
            error_status: int = 0, error_index: int = 0, pdu_type: int = RESPONSE) -> bytes:
    return encode_response(community, request.request_id + rid_delta, varbinds, error_status=error_status,
                           error_index=error_index, pdu_type=pdu_type)


def _asked(request: Response) -> list[Oid]:
    return [decode_oid(raw) for raw, _, _ in request.varbinds]


def _table_rows(after: Oid, count: int, rows: int = 12) -> list:
    """GETBULK over a 12-row column TABLE.1..12, then endOfMibView, as an honest agent answers."""
    column = [(*TABLE, i) for i in range(1, rows + 1)]
    following = [oid for oid in column if oid > after][:count]
    varbinds = [(oid, INTEGER, oid[-1] * 10) for oid in following]
    if len(varbinds) < count:
        varbinds.append((following[-1] if following else after, 0x82, END_OF_MIB_VIEW))
    return varbinds


def _run(agent: Agent, call: Callable, **options: float) -> tuple[object, WalkerClient]:
    async def run() -> tuple[object, WalkerClient]:
        with WalkerClient(**{"timeout_s": 0.3, "retries": 0, **options}) as walker:  # type: ignore[arg-type]
            return await call(walker.device("127.0.0.1", agent.port, COMMUNITY)), walker

    return asyncio.run(run())


def test_garbage_forged_and_misdirected_answers_are_dropped_and_counted() -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        good = _answer(request, [(oid, OCTET_STRING, b"ok") for oid in _asked(request)])
        agent.sock.sendto(b"\x30\x03\x02\x01", source)  # truncated
        agent.sock.sendto(b"not snmp at all", source)
        agent.sock.sendto(_answer(request, [], rid_delta=1), source)  # a request-id nobody asked for
        agent.other.sendto(good, source)  # the right answer, from another port
        agent.sock.sendto(_answer(request, [(SYS_DESCR, OCTET_STRING, b"x")], community=b"guess"), source)
        agent.sock.sendto(_answer(request, [(SYS_DESCR, OCTET_STRING, b"x")], pdu_type=GET), source)
        agent.sock.sendto(good, source)
        agent.sock.sendto(good, source)  # a duplicate: the request is answered already

    with Agent(script) as agent:
        answer, walker = _run(agent, lambda device: device.get([SYS_DESCR, SYS_NAME]), timeout_s=2.0)
    assert answer == {SYS_DESCR: b"ok", SYS_NAME: b"ok"}
    stats = walker.transport.stats
    assert stats.dropped_malformed == 2 and stats.dropped_wrong_source == 1
    assert stats.dropped_wrong_community == 1 and stats.dropped_not_response == 1
    assert stats.dropped_unknown_id >= 1  # the forged id; the duplicate too, if it came before close
    assert walker.stats.answered == 1 and walker.stats.retries == 0


def test_nothing_but_garbage_is_a_timeout() -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        agent.sock.sendto(b"\x30\x82\xff\xff", source)
        agent.other.sendto(_answer(request, [(oid, INTEGER, 1) for oid in _asked(request)]), source)

    with Agent(script) as agent, pytest.raises(CollectError, match="no answer after 2 tries") as caught:
        _run(agent, lambda device: device.get([SYS_DESCR]), timeout_s=0.1, retries=1)
    assert caught.value.kind == "timeout"
    assert len(agent.requests) == 2


def test_a_late_answer_to_the_first_try_still_counts() -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        if len(agent.requests) == 2:  # the retry is here: the first try's timeout (0.2 s) ran out. Answer
            # the first try now, inside the retry's wait (0.4 s), whenever a loaded machine got us here
            first = agent.requests[0]
            agent.sock.sendto(_answer(first, [(SYS_DESCR, OCTET_STRING, b"late")]), source)

    with Agent(script) as agent:
        answer, walker = _run(agent, lambda device: device.get([SYS_DESCR]), timeout_s=0.2, retries=1)
    assert answer == {SYS_DESCR: b"late"}
    assert walker.stats.retries == 1 and walker.stats.sent == 2
    assert agent.requests[0].request_id != agent.requests[1].request_id  # the answer was the first try's


@pytest.mark.parametrize("how", ["within one answer", "across answers"])
def test_oids_that_do_not_increase_are_a_protocol_error(how: str) -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        if how == "within one answer":
            varbinds = [((*TABLE, 1), INTEGER, 1), ((*TABLE, 3), INTEGER, 3), ((*TABLE, 2), INTEGER, 2)]
        else:  # every GETBULK answered from the start of the table again: a walk that would never end
            varbinds = [((*TABLE, 1), INTEGER, 1), ((*TABLE, 2), INTEGER, 2)]
        agent.sock.sendto(_answer(request, varbinds), source)

    with Agent(script) as agent, pytest.raises(CollectError) as caught:
        _run(agent, lambda device: device.walk(TABLE))
    assert caught.value.kind == "protocol"
    after, got = ("3", "2") if how == "within one answer" else ("2", "1")
    assert (f"OIDs not increasing walking 1.3.6.1.4.1.99999.1: after 1.3.6.1.4.1.99999.1.{after} the agent "
            f"returned 1.3.6.1.4.1.99999.1.{got}") in str(caught.value)
    assert f"127.0.0.1:{agent.port}" in str(caught.value)


def test_a_subtree_that_never_ends_stops_at_max_rows() -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        last = _asked(request)[0]
        start = last[len(TABLE)] + 1 if len(last) > len(TABLE) else 1
        agent.sock.sendto(_answer(request, [((*TABLE, i), INTEGER, i) for i in range(start, start + 25)]), source)

    with Agent(script) as agent, pytest.raises(CollectError, match="more than 100 rows under") as caught:
        _run(agent, lambda device: device.walk(TABLE), max_rows=100)
    assert caught.value.kind == "protocol"
    assert len(agent.requests) == 5


def test_a_walk_ends_at_the_subtree_end_and_at_end_of_mib_view() -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        assert request.pdu_type == GET_BULK and request.error_status == 0  # non-repeaters 0
        agent.sock.sendto(_answer(request, _table_rows(_asked(request)[0], request.error_index)), source)

    with Agent(script) as agent:
        rows, _ = _run(agent, lambda device: device.walk(TABLE), max_repetitions=5)
        assert rows == [((*TABLE, i), i * 10) for i in range(1, 13)]
        assert [r.error_index for r in agent.requests] == [5, 5, 5]
        part, _ = _run(agent, lambda device: device.walk((*TABLE, 12)))
        assert part == []  # TABLE.12 has nothing under it; the agent's next is endOfMibView


def test_too_big_on_getbulk_asks_for_fewer_repetitions() -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        if request.error_index > 4:
            agent.sock.sendto(_answer(request, request_varbinds(request), error_status=1), source)
            return
        agent.sock.sendto(_answer(request, _table_rows(_asked(request)[0], request.error_index)), source)

    def request_varbinds(request: Response) -> list:
        return [(oid, 0x05, None) for oid in _asked(request)]

    with Agent(script) as agent:
        rows, walker = _run(agent, lambda device: device.walk(TABLE), max_repetitions=20)
    assert rows == [((*TABLE, i), i * 10) for i in range(1, 13)]
    assert [r.error_index for r in agent.requests] == [20, 10, 5, 2, 2, 2, 2, 2, 2, 2]
    assert walker.stats.too_big == 3


def test_too_big_on_get_splits_it() -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        asked = _asked(request)
        if len(asked) > 2:
            agent.sock.sendto(_answer(request, [(oid, 0x05, None) for oid in asked], error_status=1), source)
        else:
            agent.sock.sendto(_answer(request, [(oid, INTEGER, oid[-1]) for oid in asked]), source)

    oids = [(*TABLE, i) for i in range(1, 8)]
    with Agent(script) as agent:
        answer, walker = _run(agent, lambda device: device.get(oids))
    assert answer == {oid: oid[-1] for oid in oids}
    assert walker.stats.too_big == 3  # 7 -> 3 + 4 -> 1 + 2 + 2 + 2
    assert sorted(len(r.varbinds) for r in agent.requests) == [1, 2, 2, 2, 3, 4, 7]


@pytest.mark.parametrize(("status", "name"), [(5, "genErr"), (2, "noSuchName")])
def test_agent_errors_name_the_device_and_the_oid(status: int, name: str) -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        asked = _asked(request)
        agent.sock.sendto(_answer(request, [(oid, 0x05, None) for oid in asked], error_status=status,
                                  error_index=len(asked)), source)

    with Agent(script) as agent:
        with pytest.raises(CollectError) as get_error:
            _run(agent, lambda device: device.get([SYS_DESCR, SYS_NAME]))
        with pytest.raises(CollectError) as walk_error:
            _run(agent, lambda device: device.walk(TABLE))
    address = f"127.0.0.1:{agent.port}"
    assert get_error.value.kind == walk_error.value.kind == "agent"  # issue 15: not "protocol"
    assert str(get_error.value) == (f"{address}: the agent answered {name} (error-status {status}, error-index 2) "
                                    "to a GET of 1.3.6.1.2.1.1.5.0")
    assert str(walk_error.value) == (f"{address}: the agent answered {name} (error-status {status}, error-index 1) "
                                     "to a GETBULK after 1.3.6.1.4.1.99999.1 walking 1.3.6.1.4.1.99999.1")


@pytest.mark.parametrize("answer", ["other OIDs", "no varbinds"])
def test_answers_that_do_not_fit_the_question_are_protocol_errors(answer: str) -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        varbinds = [((*TABLE, 1), INTEGER, 1)] if answer == "other OIDs" else []
        agent.sock.sendto(_answer(request, varbinds), source)

    with Agent(script) as agent:
        call = (lambda device: device.get([SYS_DESCR])) if answer == "other OIDs" else (lambda d: d.walk(TABLE))
        with pytest.raises(CollectError, match="other OIDs than asked" if answer == "other OIDs" else "no varbinds"):
            _run(agent, call)


def test_queued_requests_start_their_timeout_when_sent_and_cancelling_frees_the_slot() -> None:
    """With one slot, five GETs to an agent that takes 0.15 s each: 0.75 s in all, each within its
    own 0.5 s timeout (timed from the queue, the fourth and fifth would time out: 0.6, 0.75 s). A
    cancelled request gives its slot to the next."""
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        if _asked(request) == [SYS_NAME]:
            return  # never answered: the request that gets cancelled
        time.sleep(0.15)
        agent.sock.sendto(_answer(request, [(oid, INTEGER, 7) for oid in _asked(request)]), source)

    async def run(port: int) -> tuple[list, WalkerClient]:
        with WalkerClient(timeout_s=0.5, retries=0, max_in_flight=1) as walker:
            device = walker.device("127.0.0.1", port, COMMUNITY)
            stuck = asyncio.ensure_future(device.get([SYS_NAME]))
            await asyncio.sleep(0.05)
            assert walker.stats.in_flight == 1
            stuck.cancel()
            answers = await asyncio.gather(*(device.get([(*TABLE, i)]) for i in range(5)))
            return answers, walker

    with Agent(script) as agent:
        answers, walker = asyncio.run(run(agent.port))
    assert answers == [{(*TABLE, i): 7} for i in range(5)]
    assert walker.stats.max_in_flight == 1 and walker.stats.timeouts == 0 and walker.stats.in_flight == 0


def test_a_closed_client_refuses_work_and_a_name_that_does_not_resolve_is_no_address() -> None:
    walker = WalkerClient()
    with pytest.raises(CollectError) as caught:
        walker.device("no-such-host.invalid", 161, b"public")
    assert caught.value.kind == "no_address"
    device = walker.device("127.0.0.1", 161, b"public")
    assert "public" not in repr(device)
    walker.close()
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(device.get([SYS_DESCR]))


# --- batched walks (a varbind per column) against the scripted agent ------------------------------

# Three columns of different lengths, as a small IF-MIB-like table: TABLE.<column>.<row>.
MIB = sorted([((*TABLE, 1, row), INTEGER, row) for row in range(1, 13)]
             + [((*TABLE, 2, row), INTEGER, 20 + row) for row in range(1, 4)]
             + [((*TABLE, 3, row), OCTET_STRING, b"r%d" % row) for row in range(1, 8)])


def _bulk(request: Response, mib: list = MIB) -> list:
    """An honest agent's GETBULK answer: for each repetition, the next OID after each column's last."""
    repetitions, columns = request.error_index, []
    for oid in _asked(request):
        following = [row for row in mib if row[0] > oid][:repetitions]
        while len(following) < repetitions:
            following.append((following[-1][0] if following else oid, 0x82, END_OF_MIB_VIEW))
        columns.append(following)
    return [column[r] for r in range(repetitions) for column in columns]


def _under(prefix: Oid) -> list:
    return [(oid, value) for oid, _, value in MIB if oid[:len(prefix)] == prefix and oid != prefix]


def _gather_walks(port: int, prefixes: list[Oid], **options: int) -> tuple[list, WalkerClient]:
    async def run() -> tuple[list, WalkerClient]:
        with WalkerClient(**{"timeout_s": 0.5, "retries": 0, **options}) as walker:  # type: ignore[arg-type]
            device = walker.device("127.0.0.1", port, COMMUNITY)
            return await asyncio.gather(*(device.walk(p) for p in prefixes), return_exceptions=True), walker

    return asyncio.run(run())


PREFIXES = [(*TABLE, 1), (*TABLE, 2), (*TABLE, 3), (*TABLE, 9), TABLE]


def test_walks_started_together_share_each_getbulk_and_drop_out_as_they_end() -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        agent.sock.sendto(_answer(request, _bulk(request)), source)

    with Agent(script) as agent:
        walks, walker = _gather_walks(agent.port, PREFIXES, max_repetitions=10)
    assert walks == [_under(prefix) for prefix in PREFIXES]
    # 5 columns, 10 rows a request: 2 repetitions each; TABLE.9 (endOfMibView) ends in the first answer.
    assert [(len(r.varbinds), r.error_index) for r in agent.requests][:2] == [(5, 2), (4, 3)]
    assert walker.stats.requests == len(agent.requests) < len(PREFIXES) * 3


@pytest.mark.parametrize("limit", ["rows", "columns"])
def test_too_big_in_a_batch_asks_for_fewer_rows_then_fewer_columns(limit: str) -> None:
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        size = len(request.varbinds) * request.error_index if limit == "rows" else len(request.varbinds)
        if size > (6 if limit == "rows" else 2):
            agent.sock.sendto(_answer(request, [(oid, 0x05, None) for oid in _asked(request)], error_status=1), source)
        else:
            agent.sock.sendto(_answer(request, _bulk(request)), source)

    with Agent(script) as agent:
        walks, walker = _gather_walks(agent.port, PREFIXES[:4])
    assert walks == [_under(prefix) for prefix in PREFIXES[:4]]
    assert walker.stats.too_big == (3 if limit == "rows" else 4)  # 25 -> 7, 4, 2, 1 rows; then 4 -> 2 columns


def test_one_broken_column_fails_alone() -> None:
    """The agent repeats TABLE.2.1 for the second column: that walk is refused, the others finish."""
    def script(agent: Agent, request: Response, source: tuple[str, int]) -> None:
        varbinds = _bulk(request)
        width = len(request.varbinds)
        broken = [i for i, oid in enumerate(_asked(request)) if oid[:len(TABLE) + 1] == (*TABLE, 2)]
        for i in broken:
            for r in range(request.error_index):
                varbinds[r * width + i] = ((*TABLE, 2, 1), INTEGER, 21)
        agent.sock.sendto(_answer(request, varbinds), source)

    with Agent(script) as agent:
        walks, _ = _gather_walks(agent.port, PREFIXES[:3], max_repetitions=6)
    assert walks[0] == _under(PREFIXES[0]) and walks[2] == _under(PREFIXES[2])
    assert isinstance(walks[1], CollectError) and walks[1].kind == "protocol"
    assert "after 1.3.6.1.4.1.99999.1.2.1 the agent returned 1.3.6.1.4.1.99999.1.2.1" in str(walks[1])


def test_a_timeout_fails_every_walk_of_the_batch() -> None:
    with Agent(lambda agent, request, source: None) as agent:
        walks, walker = _gather_walks(agent.port, PREFIXES[:3], timeout_s=0.1, retries=1)
    assert all(isinstance(walk, CollectError) and walk.kind == "timeout" for walk in walks)
    assert len(agent.requests) == 2 and walker.stats.timeouts == 1


def test_fewer_collections_restores_the_collector() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] >= 50_000 and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_fewer_collections_leaves_a_frozen_service_frozen() -> None:
    """`hotspotctl run` freezes its fleet; a discovery burst inside a cycle must not thaw it."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with fewer_collections():
            pass
        assert gc.get_freeze_count() >= frozen > 0
    finally:
        gc.unfreeze()


def test_a_heap_frozen_for_good_is_neither_thawed_nor_counted_by_fewer_collections(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """freeze_heap (a process's entry point: `run`'s service, a cluster worker) collects, freezes and sets the
    thresholds; fewer_collections inside it leaves the heap frozen and the thresholds as they were, and never
    calls gc.get_freeze_count, which walks every frozen object (a worker's whole heap, per controller read)."""
    before = gc.get_threshold()
    monkeypatch.setattr(walker_module._Heap, "frozen_for_good", False)
    try:
        freeze_heap((100_000, 50, 100))
        frozen = gc.get_freeze_count()
        assert frozen > 0 and gc.get_threshold() == (100_000, 50, 100)
        counted: list[int] = []
        real_count = gc.get_freeze_count
        monkeypatch.setattr(gc, "get_freeze_count", lambda: counted.append(1) or real_count())
        with fewer_collections():
            assert gc.get_threshold() == (100_000, 50, 100)  # already above the burst's young threshold
        monkeypatch.setattr(gc, "get_freeze_count", real_count)
        assert counted == []
        assert gc.get_freeze_count() >= frozen and gc.get_threshold() == (100_000, 50, 100)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


_ARC = st.one_of(st.integers(0, 127), st.integers(128, 2**32 - 1))
_OID = st.builds(lambda first, second, rest: (first, second, *rest), st.integers(0, 1), st.integers(0, 39),
                 st.lists(_ARC, max_size=30))


@given(community=st.binary(max_size=300), oids=st.lists(_OID, min_size=1, max_size=40),
       repetitions=st.integers(1, 2**31 - 1), rid=st.integers(REQUEST_ID_MIN, REQUEST_ID_MAX))
def test_bulk_requests_are_byte_for_byte_the_codecs(community: bytes, oids: list[Oid], repetitions: int,
                                                     rid: int) -> None:
    head, tail = bulk_request_parts(community, [encode_oid(oid) for oid in oids], repetitions)
    assert head + rid.to_bytes(4, "big") + tail == encode_response(
        community, rid, [(oid, NULL, None) for oid in oids], pdu_type=GET_BULK, error_index=repetitions)


def test_send_errors_fail_each_request_without_recursing() -> None:
    """Broadcast without SO_BROADCAST is refused by the kernel: 1,500 such requests through one slot
    each fail as "send", one after the other (not a chain of calls 1,500 deep)."""
    async def run() -> list:
        with WalkerClient(max_in_flight=1) as walker:
            device = walker.device("255.255.255.255", 161, b"public")
            return await asyncio.gather(*(device.get([SYS_DESCR]) for _ in range(1500)), return_exceptions=True)

    results = asyncio.run(run())
    assert all(isinstance(r, CollectError) and r.kind == "send" and "cannot send" in str(r) for r in results)
