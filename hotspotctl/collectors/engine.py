"""The hot path: SNMP GETs to thousands of APs at once from one asyncio loop (v2c, and SNMPv3 for a shape made
with a v3 user: the transport wraps and opens those, ``usmmanager``).

A state machine, not a task per AP (AKIPS's published design), on the process's one
``udp.UdpTransport`` (shared with the discovery walker): a global cap on requests in flight,
request-ids matched in a dict, one timer heap, retries with back-off inside a deadline per AP.
An answer to any attempt of a GET completes it, so an agent slower than one timeout is answered
by its first try rather than never; each agent's timeout follows its measured round trip.
Requests are encoded once per shape (``GetShape``) and only the request-id changes; answers are
decoded by our own codec. A reply from the wrong address, with the wrong community or an unknown
request-id is dropped and counted by the transport, never trusted.

A GET too large for the agent (tooBig) is split in two and retried; the split that worked is
remembered per agent and shape, so the next cycle sends it straight away. An agent's other
error-status answers (genErr, noSuchName, ...) fail the AP with kind ``agent``, naming the status.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

from hotspotctl.collectors.codec import TOO_BIG, GetTemplate, Response, error_status_name
from hotspotctl.collectors.model import Value
from hotspotctl.collectors.oids import Oid, format_oid
from hotspotctl.collectors.udp import Address, Request, UdpTransport, format_address
from hotspotctl.collectors.usmmanager import ManagerUser
from hotspotctl.errors import PollErrorKind

_LAYOUTS_MAX = 1 << 16  # remembered splits (agent, shape); only agents that answered tooBig have one


class GetShape:
    """One community and OID list, cut into GETs of at most ``max_oids`` and encoded once."""

    __slots__ = ("_templates", "community", "oids", "parts", "usm")

    def __init__(self, community: bytes, oids: Sequence[Oid], max_oids: int = 24,
                 usm: ManagerUser | None = None) -> None:
        self.community = community
        self.usm = usm  # SNMPv3: the user the GETs go out as (``community`` is then empty)
        self.oids = tuple(oids)
        self._templates: dict[tuple[int, int], GetTemplate] = {}
        step = max(1, max_oids)
        self.parts = tuple((start, self.template(start, min(start + step, len(self.oids))))
                           for start in range(0, len(self.oids), step))

    def template(self, start: int, end: int) -> GetTemplate:
        """The GET of oids[start:end], encoded once."""
        template = self._templates.get((start, end))
        if template is None:
            template = self._templates[(start, end)] = GetTemplate(self.community, self.oids[start:end])
        return template


@dataclass(slots=True)
class GetRequest:
    key: object  # the caller's, returned with the result
    address: Address  # a numeric socket address: (ipv4, port) or (ipv6, port, flowinfo, scope_id)
    shape: GetShape
    budget_s: float | None = None  # this AP's deadline from its first send; None: the engine's deadline_s


@dataclass(slots=True)
class GetReply:
    key: object
    values: list[Value]  # in the order of shape.oids
    at: float  # wall clock (time.time()) when the last part arrived
    rtt_ms: float  # the slowest part's round trip (from the attempt that was answered)
    mono: float = 0.0  # time.monotonic() when the last part arrived: intervals between polls use this


@dataclass(slots=True)
class GetFailure:
    key: object
    kind: PollErrorKind  # timeout | send | agent | protocol
    message: str
    at: float


@dataclass
class EngineStats:
    """The GETs this engine sent and what became of them; what arrived on the socket is the transport's."""

    requests: int = 0  # GETs asked for (parts, after splitting)
    sent: int = 0  # datagrams sent, retries included
    answered: int = 0  # parts answered with a usable reply
    retries: int = 0
    timeouts: int = 0  # requests (APs) given up after the deadline
    splits: int = 0  # tooBig answers split in two
    splits_remembered: int = 0  # GETs sent already split, as an agent's tooBig taught an earlier cycle
    dropped_mismatch: int = 0  # the varbinds are not the OIDs we asked for
    agent_errors: int = 0  # error-status other than tooBig (or tooBig on a single OID)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True, eq=False)
class _Batch:
    results: list[GetReply | GetFailure | None]
    remaining: int
    future: asyncio.Future[None]
    progress: Callable[[int], None] | None
    on_reply: Callable[[int, GetReply | GetFailure], None] | None = None


@dataclass(slots=True, eq=False)
class _Job:
    index: int
    batch: _Batch
    request: GetRequest
    values: list[Value]
    outstanding: int
    budget: float
    parts: list[_Part] | None = None  # when there are several (a long shape, a split): failing one frees the rest
    deadline: float = 0.0  # monotonic; set when the first part is sent
    started: float = 0.0
    rtt: float = 0.0
    split: bool = False
    done: bool = False


class _Part(Request):
    __slots__ = ("answered_ok", "job", "offset", "template")

    def __init__(self, owner: SnmpGetEngine, job: _Job, offset: int, template: GetTemplate) -> None:
        # Request.__init__ spelled out: one _Part per GET per cycle, on the hot path
        request = job.request
        self.owner = owner
        self.address = request.address
        shape = request.shape
        self.community = shape.community
        self.usm = shape.usm
        self.resends = 0
        self.retries = owner.retries
        self.attempt = 0
        self.rids = []
        self.sends = []
        self.deadline = 0.0
        self.done = False
        self.holds_slot = False
        self.job = job
        self.offset = offset
        self.template = template
        self.answered_ok = False


class SnmpGetEngine:
    """``await engine.get_many(requests)`` -> one GetReply or GetFailure per request, in order.

    Several ``get_many`` may run at once (they share the queue and the in-flight cap). With no
    ``transport`` the engine opens its own (and closes it); the Poller shares one with the walker.
    """

    def __init__(self, *, timeout_s: float = 1.0, retries: int = 2, deadline_s: float = 6.0,
                 max_in_flight: int = 2000, receive_buffer_bytes: int = 8 << 20, min_timeout_s: float = 0.5,
                 bind: tuple[str, int] = ("0.0.0.0", 0), transport: UdpTransport | None = None) -> None:
        self.timeout_s = timeout_s
        self.retries = retries
        self.deadline_s = deadline_s
        self.transport, self._owns_transport = UdpTransport.serving(
            self, transport, receive_buffer_bytes=receive_buffer_bytes, max_in_flight=max_in_flight,
            timeout_s=timeout_s, min_timeout_s=min_timeout_s, deadline_s=deadline_s, bind=bind)
        self.stats = EngineStats()
        self._queue: deque[_Part] = deque()
        self._batches: set[_Batch] = set()
        self._layouts: dict[tuple[Address, GetShape], tuple[tuple[int, GetTemplate], ...]] = {}

    @property
    def sock(self) -> object:
        return self.transport.sock

    def close(self) -> None:
        if self._owns_transport:
            self.transport.close()

    def __enter__(self) -> SnmpGetEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def get_many(self, requests: Sequence[GetRequest], *, progress: Callable[[int], None] | None = None,
                       on_reply: Callable[[int, GetReply | GetFailure], None] | None = None,
                       ) -> list[GetReply | GetFailure]:
        """Every request answered or failed; ``progress(n)`` is called as n more complete.

        ``on_reply(index, result)``: each result as it completes, from the loop's callbacks (it must not raise),
        instead of in the list returned (its items are then None): a caller that turns each reply into its own
        record at once never holds the whole fleet's replies (values, decoded counters) at the same time."""
        loop = self.transport.attach()
        if not requests:
            return []
        batch = _Batch([None] * len(requests), len(requests), loop.create_future(), progress, on_reply)
        queue, layouts, stats, deadline_s = self._queue, self._layouts, self.stats, self.deadline_s
        count = 0
        for index, request in enumerate(requests):
            shape = request.shape
            parts = shape.parts
            if layouts:
                remembered = layouts.get((request.address, shape))
                if remembered is not None:
                    parts = remembered
                    stats.splits_remembered += len(parts) - len(shape.parts)
            job = _Job(index, batch, request, [None] * len(shape.oids), len(parts),
                       deadline_s if request.budget_s is None else request.budget_s)
            if len(parts) == 1:
                queue.append(_Part(self, job, 0, parts[0][1]))
                count += 1
                continue
            job.parts = [_Part(self, job, offset, template) for offset, template in parts]
            queue.extend(job.parts)
            count += len(parts)
        stats.requests += count
        self._batches.add(batch)
        try:
            self.pump()
            await batch.future
        finally:
            self._batches.discard(batch)
            if not batch.future.done():  # cancelled: give up its requests and their slots
                self._cancel(batch)
        return batch.results  # type: ignore[return-value]

    def _cancel(self, batch: _Batch) -> None:
        finish = self.transport.finish
        for part in [*self._queue, *self.transport.pending.values()]:
            if isinstance(part, _Part) and part.job.batch is batch:
                part.job.done = True
                if not part.done:
                    finish(part)

    # -- sending ---------------------------------------------------------------------------

    def pump(self) -> None:
        queue = self._queue
        if not queue:
            return
        transport = self.transport
        transmit, slots = transport.transmit, transport.stats
        now = time.monotonic()
        sent = 0
        while queue:
            part = queue[0]
            job = part.job
            if job.done:
                queue.popleft()
                if part.holds_slot:
                    transport.finish(part)
                continue
            if not part.holds_slot:  # transport.take_slot, inline
                if slots.in_flight >= transport.limit:
                    break
                part.holds_slot = True
                slots.in_flight += 1
            if not job.deadline:
                job.deadline = now + job.budget
                job.started = now
            part.deadline = job.deadline
            try:
                if not transmit(part, part.template.encode, now):
                    break  # the send buffer is full: the transport pumps again when it is writable
            except OSError as exc:
                queue.popleft()
                transport.finish(part)
                self._fail(job, PollErrorKind.SEND, f"cannot send to {format_address(job.request.address)}: "
                                        f"{exc.strerror or exc}")
                continue
            queue.popleft()
            sent += 1
        self.stats.sent += sent
        if slots.in_flight > slots.max_in_flight:
            slots.max_in_flight = slots.in_flight

    def forget(self) -> None:
        """The transport moved to another loop: what was queued belonged to the old one."""
        self._queue.clear()
        self._batches.clear()

    # -- timeouts --------------------------------------------------------------------------

    def expired(self, part: _Part, now: float) -> None:
        job = part.job
        if job.done:
            self.transport.finish(part)
            return
        if part.attempt < part.retries and now < job.deadline - 0.001:
            part.attempt += 1
            self.stats.retries += 1
            self._queue.appendleft(part)  # it keeps its slot and its earlier request-ids; sent by the next pump
            return
        self.transport.finish(part)
        self.stats.timeouts += 1
        tries = part.attempt + 1
        self._fail(job, PollErrorKind.TIMEOUT, f"no answer from {format_address(job.request.address)} "
                                   f"({tries} {'try' if tries == 1 else 'tries'}, {now - job.started:.1f} s)")

    # -- SNMPv3 Reports ----------------------------------------------------------------------

    def resend(self, part: _Part) -> None:
        self._queue.appendleft(part)  # it keeps its slot and attempt; sent by the pump after this read

    def refused(self, part: _Part, kind: PollErrorKind, message: str) -> None:
        self.transport.finish(part)
        self._fail(part.job, kind, message)

    # -- receiving -------------------------------------------------------------------------

    def answered(self, part: _Part, response: Response, rtt: float) -> None:
        job = part.job
        if job.done:
            return
        if response.error_status:
            self._agent_error(part, response)
            return
        varbinds = response.varbinds
        expected = part.template.oid_bytes
        if len(varbinds) != len(expected) or any(vb[0] != oid for vb, oid in zip(varbinds, expected, strict=True)):
            self.stats.dropped_mismatch += 1
            self._fail(job, PollErrorKind.PROTOCOL,
                       f"{format_address(job.request.address)} answered with other OIDs than asked")
            return
        self.stats.answered += 1
        part.answered_ok = True
        offset = part.offset
        values = job.values
        for i, vb in enumerate(varbinds):
            values[offset + i] = vb[2]
        if rtt > job.rtt:
            job.rtt = rtt
        job.outstanding -= 1
        if job.outstanding == 0:
            request = job.request
            if job.split:
                self._remember(job)
            self._complete(job, GetReply(request.key, values, time.time(), job.rtt * 1000.0, time.monotonic()))

    def _agent_error(self, part: _Part, response: Response) -> None:
        job = part.job
        oids = part.template.oids
        status = response.error_status
        if status == TOO_BIG and len(oids) > 1:
            self.stats.splits += 1
            job.split = True
            half = len(oids) // 2
            shape = job.request.shape
            start, middle, end = part.offset, part.offset + half, part.offset + len(oids)
            first = _Part(self, job, start, shape.template(start, middle))
            second = _Part(self, job, middle, shape.template(middle, end))
            if job.parts is None:
                job.parts = [part]
            job.parts += (first, second)
            job.outstanding += 1
            self._queue.appendleft(second)
            self._queue.appendleft(first)
            self.stats.requests += 2
            return
        self.stats.agent_errors += 1
        index = response.error_index
        named = oids[index - 1] if 0 < index <= len(oids) else oids[0]
        more = "" if 0 < index <= len(oids) or len(oids) == 1 else f" and {len(oids) - 1} more"
        self._fail(job, PollErrorKind.AGENT, f"{format_address(job.request.address)}: the agent answered "
                                 f"{error_status_name(status)} (error-status {status}, error-index {index}) to a "
                                 f"GET of {format_oid(named)}{more}")

    def _remember(self, job: _Job) -> None:
        """The split of this AP's GET that the agent took: the next cycle sends it straight away."""
        request = job.request
        layout = tuple(sorted(((p.offset, p.template) for p in job.parts or () if p.answered_ok),
                              key=lambda p: p[0]))
        if len(self._layouts) >= _LAYOUTS_MAX:
            self._layouts.clear()
        self._layouts[(request.address, request.shape)] = layout

    def _fail(self, job: _Job, kind: PollErrorKind, message: str) -> None:
        if not job.done:
            self._complete(job, GetFailure(job.request.key, kind, message, time.time()))
            self._abandon(job)

    def _abandon(self, job: _Job) -> None:
        """Free the slots of the job's parts still in flight (their late answers are dropped as unknown)."""
        job.done = True
        if job.parts is not None:
            finish = self.transport.finish
            for part in job.parts:
                if not part.done and part.holds_slot:
                    finish(part)

    def _complete(self, job: _Job, result: GetReply | GetFailure) -> None:
        job.done = True
        batch = job.batch
        if batch.on_reply is None:
            batch.results[job.index] = result
        else:
            batch.on_reply(job.index, result)
        batch.remaining -= 1
        if batch.progress is not None:
            batch.progress(1)
        if batch.remaining == 0 and not batch.future.done():
            batch.future.set_result(None)
