"""The hot path: SNMPv2c GETs to thousands of APs at once from one asyncio loop.

A state machine, not a task per AP (AKIPS's published design): one UDP socket with a
large receive buffer, a global cap on requests in flight, request-ids matched in a
dict, one timer for every timeout (a heap), retries with back-off inside a deadline
per AP. Requests are encoded once per shape (``GetShape``) and only the request-id
changes; answers are decoded by our own codec. A reply from the wrong address, with
the wrong community or an unknown request-id is dropped and counted, never trusted.
A GET too large for the agent (tooBig) is split in two and retried.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from hotspotctl.collectors.codec import (
    REQUEST_ID_MAX,
    REQUEST_ID_MIN,
    RESPONSE,
    CodecError,
    GetTemplate,
    Response,
    decode_response,
)
from hotspotctl.collectors.model import Value
from hotspotctl.collectors.oids import Oid

TOO_BIG = 1
_ERROR_NAMES = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr", 6: "noAccess"}


class GetShape:
    """One community and OID list, cut into GETs of at most ``max_oids`` and encoded once."""

    __slots__ = ("community", "oids", "parts")

    def __init__(self, community: bytes, oids: Sequence[Oid], max_oids: int = 24) -> None:
        self.community = community
        self.oids = tuple(oids)
        step = max(1, max_oids)
        self.parts = tuple((start, GetTemplate(community, self.oids[start:start + step]))
                           for start in range(0, len(self.oids), step))


@dataclass(slots=True)
class GetRequest:
    key: object  # the caller's, returned with the result
    address: tuple[str, int]  # numeric IPv4 address and port
    shape: GetShape
    retries: int | None = None  # None: the engine's default; 0 for an AP believed down


@dataclass(slots=True)
class GetReply:
    key: object
    values: list[Value]  # in the order of shape.oids
    at: float  # wall clock when the last part arrived
    rtt_ms: float  # the slowest part's round trip, last attempt


@dataclass(slots=True)
class GetFailure:
    key: object
    kind: str  # timeout | protocol | send
    message: str
    at: float


@dataclass
class EngineStats:
    requests: int = 0  # GETs asked for (parts, after splitting)
    sent: int = 0  # datagrams sent, retries included
    received: int = 0  # datagrams received
    answered: int = 0  # parts answered with a usable reply
    retries: int = 0
    timeouts: int = 0  # requests (APs) given up after the deadline
    splits: int = 0  # tooBig answers split in two
    dropped_malformed: int = 0  # not a decodable SNMP message
    dropped_unknown_id: int = 0  # a request-id we are not waiting for (late, duplicate or forged)
    dropped_wrong_source: int = 0  # right request-id, wrong sender address
    dropped_wrong_community: int = 0
    dropped_not_response: int = 0  # a PDU other than Response
    dropped_mismatch: int = 0  # the varbinds are not the OIDs we asked for
    agent_errors: int = 0  # error-status other than tooBig

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def dropped(self) -> int:
        return (self.dropped_malformed + self.dropped_unknown_id + self.dropped_wrong_source
                + self.dropped_wrong_community + self.dropped_not_response + self.dropped_mismatch)


@dataclass(slots=True)
class _Job:
    index: int
    request: GetRequest
    values: list[Value]
    outstanding: int
    retries: int
    deadline: float = 0.0  # monotonic; set when the first part is sent
    rtt: float = 0.0
    done: bool = False


@dataclass(slots=True)
class _Part:
    job: _Job
    offset: int
    template: GetTemplate
    attempt: int = 0
    sent_at: float = 0.0
    rid: int = 0
    heap_entries: list[int] = field(default_factory=list)


def _part_sender(part: _Part) -> tuple[tuple[str, int], bytes]:
    request = part.job.request
    return request.address, request.shape.community


def screened_answers(sock: socket.socket, pending: dict[int, Any], stats: Any,
                     sender: Callable[[Any], tuple[tuple[str, int], bytes]]) -> Iterator[tuple[Response, Any]]:
    """The datagrams waiting on ``sock`` that answer a pending request, with that request's entry.

    An answer must decode, carry a request-id in ``pending``, come from the address and with the
    community that request went to (``sender(entry)``), and be a Response PDU; anything else is
    dropped and counted in ``stats`` (received, answered is the caller's), never trusted. Shared by
    the poll engine and the discovery walker.
    """
    recv = sock.recvfrom
    while True:
        try:
            data, source = recv(65535)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # an ICMP error queued on the socket; the request will time out
        stats.received += 1
        try:
            response = decode_response(data)
        except CodecError:
            stats.dropped_malformed += 1
            continue
        entry = pending.get(response.request_id)
        if entry is None:
            stats.dropped_unknown_id += 1
            continue
        address, community = sender(entry)
        if source[0] != address[0] or source[1] != address[1]:
            stats.dropped_wrong_source += 1
            continue
        if response.community != community:
            stats.dropped_wrong_community += 1
            continue
        if response.pdu_type != RESPONSE:
            stats.dropped_not_response += 1
            continue
        yield response, entry


class SnmpGetEngine:
    """``await engine.get_many(requests)`` -> one GetReply or GetFailure per request, in order."""

    def __init__(self, *, timeout_s: float = 1.0, retries: int = 2, deadline_s: float = 6.0,
                 max_in_flight: int = 2000, receive_buffer_bytes: int = 8 << 20,
                 bind: tuple[str, int] = ("0.0.0.0", 0)) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self.deadline_s = deadline_s
        self.max_in_flight = max_in_flight
        self.stats = EngineStats()
        self.sock = client_socket(receive_buffer_bytes, bind)
        self._rids = itertools.count(random.randrange(REQUEST_ID_MIN, REQUEST_ID_MAX - (1 << 24)))
        self._pending: dict[int, _Part] = {}
        self._queue: deque[_Part] = deque()
        self._heap: list[tuple[float, int, _Part]] = []
        self._heap_seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._results: list[GetReply | GetFailure | None] = []
        self._remaining = 0
        self._finished: asyncio.Future[None] | None = None
        self._progress: Callable[[int], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer = False

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
            if self._writer:
                self._loop.remove_writer(self.sock.fileno())
        self.sock.close()

    def __enter__(self) -> SnmpGetEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def get_many(self, requests: Sequence[GetRequest], *,
                       progress: Callable[[int], None] | None = None) -> list[GetReply | GetFailure]:
        """Every request answered or failed; ``progress(n)`` is called as n more complete."""
        if self._finished is not None:
            raise RuntimeError("get_many is already running on this engine")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self.sock.fileno(), self._on_readable)
        self._results = [None] * len(requests)
        self._remaining = len(requests)
        self._progress = progress
        if not requests:
            return []
        self._finished = loop.create_future()
        for index, request in enumerate(requests):
            parts = request.shape.parts
            retries = self.retries if request.retries is None else request.retries
            job = _Job(index, request, [None] * len(request.shape.oids), len(parts), retries)
            self._queue.extend(_Part(job, offset, template) for offset, template in parts)
            self.stats.requests += len(parts)
        try:
            self._pump()
            await self._finished
        finally:
            self._finished = None
            self._progress = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._pending.clear()
            self._queue.clear()
            self._heap.clear()
        results, self._results = self._results, []
        return results  # type: ignore[return-value]

    # -- sending ---------------------------------------------------------------------------

    def _pump(self) -> None:
        queue, pending, limit = self._queue, self._pending, self.max_in_flight
        sendto = self.sock.sendto
        now = time.monotonic()
        while queue and len(pending) < limit:
            part = queue[0]
            job = part.job
            if job.done:
                queue.popleft()
                continue
            rid = next(self._rids)
            if rid >= REQUEST_ID_MAX:
                self._rids = itertools.count(REQUEST_ID_MIN)
                rid = next(self._rids)
            try:
                sendto(part.template.encode(rid), job.request.address)
            except BlockingIOError:
                self._wait_writable()
                break
            except OSError as exc:
                queue.popleft()
                self._fail(job, "send", f"cannot send to {_addr(job.request.address)}: {exc.strerror or exc}")
                continue
            queue.popleft()
            self.stats.sent += 1
            if not job.deadline:
                job.deadline = now + self.deadline_s
            part.rid = rid
            part.sent_at = now
            pending[rid] = part
            expiry = min(now + self.timeout_s * (1 << part.attempt), job.deadline)
            heapq.heappush(self._heap, (expiry, next(self._heap_seq), part))
        self._arm_timer()

    def _wait_writable(self) -> None:
        if not self._writer and self._loop is not None:
            self._writer = True
            self._loop.add_writer(self.sock.fileno(), self._on_writable)

    def _on_writable(self) -> None:
        if self._loop is not None:
            self._loop.remove_writer(self.sock.fileno())
        self._writer = False
        self._pump()

    # -- timeouts --------------------------------------------------------------------------

    def _arm_timer(self) -> None:
        if not self._heap or self._loop is None:
            return
        first = self._heap[0][0]
        if self._timer is not None and self._timer_at <= first:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = first
        self._timer = self._loop.call_at(self._loop.time() + max(0.0, first - time.monotonic()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = time.monotonic()
        heap, pending = self._heap, self._pending
        while heap and heap[0][0] <= now:
            _, _, part = heapq.heappop(heap)
            if pending.get(part.rid) is not part:
                continue  # answered, or already re-sent under another request-id
            del pending[part.rid]
            job = part.job
            if job.done:
                continue
            if part.attempt < job.retries and now < job.deadline - 0.001:
                part.attempt += 1
                self.stats.retries += 1
                self._queue.appendleft(part)
                continue
            self.stats.timeouts += 1
            tries = part.attempt + 1
            self._fail(job, "timeout", f"no answer from {_addr(job.request.address)} "
                                       f"({tries} {'try' if tries == 1 else 'tries'}, "
                                       f"{now - job.deadline + self.deadline_s:.1f} s)")
        self._pump()

    # -- receiving -------------------------------------------------------------------------

    def _on_readable(self) -> None:
        stats = self.stats
        pending = self._pending
        handled = False
        for response, part in screened_answers(self.sock, pending, stats, _part_sender):
            job = part.job
            request = job.request
            del pending[response.request_id]
            handled = True
            if job.done:
                continue
            if response.error_status:
                self._agent_error(part, response.error_status, response.error_index)
                continue
            varbinds = response.varbinds
            expected = part.template.oid_bytes
            if len(varbinds) != len(expected) or any(vb[0] != oid for vb, oid in zip(varbinds, expected, strict=True)):
                stats.dropped_mismatch += 1
                self._fail(job, "protocol", f"{_addr(request.address)} answered with other OIDs than asked")
                continue
            stats.answered += 1
            offset = part.offset
            values = job.values
            for i, vb in enumerate(varbinds):
                values[offset + i] = vb[2]
            rtt = time.monotonic() - part.sent_at
            if rtt > job.rtt:
                job.rtt = rtt
            job.outstanding -= 1
            if job.outstanding == 0:
                self._complete(job, GetReply(request.key, values, time.time(), job.rtt * 1000.0))
        if handled:
            self._pump()

    def _agent_error(self, part: _Part, status: int, index: int) -> None:
        job = part.job
        oids = part.template.oids
        if status == TOO_BIG and len(oids) > 1:
            self.stats.splits += 1
            half = len(oids) // 2
            community = job.request.shape.community
            job.outstanding += 1
            self._queue.appendleft(_Part(job, part.offset + half, GetTemplate(community, oids[half:])))
            self._queue.appendleft(_Part(job, part.offset, GetTemplate(community, oids[:half])))
            self.stats.requests += 2
            return
        self.stats.agent_errors += 1
        name = _ERROR_NAMES.get(status, str(status))
        self._fail(job, "protocol", f"{_addr(job.request.address)} answered {name} (error-index {index})")

    def _fail(self, job: _Job, kind: str, message: str) -> None:
        if not job.done:
            self._complete(job, GetFailure(job.request.key, kind, message, time.time()))

    def _complete(self, job: _Job, result: GetReply | GetFailure) -> None:
        job.done = True
        self._results[job.index] = result
        self._remaining -= 1
        if self._progress is not None:
            self._progress(1)
        if self._remaining == 0 and self._finished is not None and not self._finished.done():
            self._finished.set_result(None)


def client_socket(receive_buffer_bytes: int, bind: tuple[str, int]) -> socket.socket:
    """A non-blocking UDP socket with large buffers, as the engine and the walker use."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    grow_buffer(sock, socket.SO_RCVBUF, receive_buffer_bytes)
    grow_buffer(sock, socket.SO_SNDBUF, min(receive_buffer_bytes, 4 << 20))
    sock.bind(bind)
    return sock


def grow_buffer(sock: socket.socket, option: int, size: int) -> None:
    """Ask for ``size``; as root, past net.core.rmem_max (SO_RCVBUFFORCE); else what the kernel allows."""
    force = {socket.SO_RCVBUF: getattr(socket, "SO_RCVBUFFORCE", None),
             socket.SO_SNDBUF: getattr(socket, "SO_SNDBUFFORCE", None)}[option]
    if force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)
            return
        except OSError:
            pass
    sock.setsockopt(socket.SOL_SOCKET, option, size)


def _addr(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"
