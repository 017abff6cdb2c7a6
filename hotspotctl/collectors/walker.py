"""SNMPv2c GETs and GETBULK walks for discovery, on our own codec: one socket for many coroutines.

Discovering an AP takes a dozen requests (the system GET, has_oid probes, ten IF-MIB column
walks, a clients walk). Through pysnmp each costs ~2 ms of CPU, a quarter of an hour for the
fleet; here a request costs the codec's few µs plus the loop's bookkeeping. SNMPv3 stays on pysnmp.

Many coroutines share one non-blocking UDP socket (large receive buffer) on one asyncio loop:
a dict maps request-ids to the waiting exchange, one timer serves every timeout (a FIFO per
attempt number is already in expiry order, so no heap is needed), the wait doubles per retry as
the poll engine's does (a device may be given fewer retries: one try for an AP believed down), and
a global cap bounds the requests in flight; the rest wait in a FIFO queue, and their clocks only
start once sent. A reply to any attempt of an exchange answers it.
A reply from the wrong address, with the wrong community, an unknown request-id, a PDU other
than Response, or that does not decode is dropped and counted in ``WalkerStats``, never trusted.

``V2cDevice`` is a ``discovery.Device``. ``get`` splits above ``max_oids_per_get`` and halves
again on tooBig. ``walk`` uses GETBULK (non-repeaters 0) from the last OID until it leaves the
subtree or meets endOfMibView; walks of one device started together (discovery gathers its ten
IF-MIB columns) share each GETBULK, one varbind per column and about ``max_repetitions`` rows in
all, which cuts the requests per AP by half and decodes few rows past a column's end. tooBig asks
for fewer rows, then fewer columns; OIDs that do not increase and subtrees longer than
``max_rows`` are protocol errors, so a broken agent cannot loop a walk forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import random
import socket
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields

from hotspotctl.collectors.codec import (
    END_OF_MIB_VIEW_TAG,
    GET_BULK,
    REQUEST_ID_MAX,
    REQUEST_ID_MIN,
    GetTemplate,
    Response,
)
from hotspotctl.collectors.engine import client_socket, screened_answers
from hotspotctl.collectors.model import Value
from hotspotctl.collectors.oids import Oid, decode_oid, encode_oid, format_oid
from hotspotctl.errors import CollectError

TOO_BIG = 1
_ERROR_NAMES = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr", 6: "noAccess",
                7: "wrongType", 8: "wrongLength", 9: "wrongEncoding", 10: "wrongValue", 11: "noCreation",
                12: "inconsistentValue", 13: "resourceUnavailable", 14: "commitFailed", 15: "undoFailed",
                16: "authorizationError", 17: "notWritable", 18: "inconsistentName"}
_TEMPLATE_CACHE_MAX = 4096  # distinct GETs kept encoded; discovery asks few shapes, over and over

Row = tuple[Oid, Value]


@dataclass(slots=True)
class WalkerStats:
    """What the client did, and what it refused; cheap counters for tests and poller self-metrics."""

    requests: int = 0  # GET/GETBULK PDUs asked for (after splitting)
    sent: int = 0  # datagrams sent, retries included
    received: int = 0  # datagrams received
    answered: int = 0  # requests answered by a reply that passed the checks
    retries: int = 0
    timeouts: int = 0  # requests given up after the last retry
    too_big: int = 0  # tooBig answers (GETs split, walks asked for fewer rows or columns)
    agent_errors: int = 0  # other error-status answers (raised as protocol errors)
    dropped_malformed: int = 0  # not a decodable SNMPv2c message
    dropped_unknown_id: int = 0  # a request-id we are not waiting for (late, duplicate or forged)
    dropped_wrong_source: int = 0  # right request-id, wrong sender address or port
    dropped_wrong_community: int = 0
    dropped_not_response: int = 0  # a PDU other than Response
    in_flight: int = 0  # requests holding a slot now
    max_in_flight: int = 0  # the most that ever held one at once

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def dropped(self) -> int:
        return (self.dropped_malformed + self.dropped_unknown_id + self.dropped_wrong_source
                + self.dropped_wrong_community + self.dropped_not_response)


@dataclass(slots=True, eq=False)
class _Exchange:
    """One request until it is answered or given up: every attempt's request-id answers it."""

    device: V2cDevice
    encode: Callable[[int], bytes]  # request-id -> datagram
    on_done: Callable[[Response | CollectError], None]  # called once, from the loop's callbacks
    retries: int  # the device's: the client's, or fewer for an AP believed down
    attempt: int = 0
    rids: list[int] = field(default_factory=list)
    holds_slot: bool = False
    done: bool = False
    started: float = 0.0  # loop time of the first send


class V2cClient:
    """Hands out ``V2cDevice``s that share one socket, one request-id table and one in-flight cap.

    Use it from one event loop at a time (it re-attaches if a later ``asyncio.run`` uses it);
    close it, or use it as a context manager.
    """

    def __init__(self, *, timeout_s: float = 1.0, retries: int = 2, max_in_flight: int = 2000,
                 max_oids_per_get: int = 24, max_repetitions: int = 25, max_rows: int = 10_000,
                 receive_buffer_bytes: int = 8 << 20, backoff: float = 2.0,
                 bind: tuple[str, int] = ("0.0.0.0", 0)) -> None:
        if min(max_in_flight, max_oids_per_get, max_repetitions, max_rows) < 1 or retries < 0 or timeout_s <= 0:
            raise ValueError("max_in_flight, max_oids_per_get, max_repetitions and max_rows must be at least 1, "
                             "retries at least 0 and timeout_s more than 0")
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff = backoff
        self.max_in_flight = max_in_flight
        self.max_oids_per_get = max_oids_per_get
        self.max_repetitions = max_repetitions
        self.max_rows = max_rows
        self.stats = WalkerStats()
        self.sock = client_socket(receive_buffer_bytes, bind)
        self._rids = itertools.count(random.randrange(REQUEST_ID_MIN, REQUEST_ID_MAX - (1 << 24)))
        self._pending: dict[int, _Exchange] = {}
        self._waiting: deque[_Exchange] = deque()  # asked for, no slot yet
        self._blocked: deque[_Exchange] = deque()  # holding a slot, the socket's send buffer was full
        # (expiry, request-id) per attempt number: each FIFO is in expiry order by construction. They
        # hold request-ids, not exchanges, so an answered exchange (and its reply) is freed at once
        # rather than when its expiry comes round: 10,000 replies kept for a second are 1M objects
        # for the garbage collector to scan.
        self._expiries: list[deque[tuple[float, int]]] = [deque() for _ in range(retries + 1)]
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._templates: dict[tuple[bytes, tuple[Oid, ...]], GetTemplate] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer = False
        self._closed = False

    def __enter__(self) -> V2cClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def device(self, host: str, port: int, community: bytes, *, auth_name: str = "",
               retries: int | None = None) -> V2cDevice:
        """A Device for the agent at host:port; ``auth_name`` (the credential set) only labels errors.

        ``retries``: this device's requests are retried that many times (0: one try, for an AP believed
        down), at most the client's ``retries``; None, the client's.
        """
        if retries is None:
            retries = self.retries
        elif not 0 <= retries <= self.retries:
            raise ValueError(f"retries must be 0..{self.retries} (the client's), not {retries}")
        try:
            ip = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0]
        except (OSError, UnicodeError) as exc:
            raise CollectError(f"{host}:{port}: cannot resolve: {exc}", kind="no_address") from None
        return V2cDevice(self, (ip, port), bytes(community), auth_name, retries)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self.sock.fileno())
            if self._writer:
                loop.remove_writer(self.sock.fileno())
            if self._timer is not None:
                self._timer.cancel()
            for exchange in {id(e): e for e in [*self._pending.values(), *self._waiting, *self._blocked]}.values():
                self._complete(exchange, CollectError(f"{exchange.device.label}: the SNMP client was closed",
                                                      kind="protocol"))
        self._forget()
        self.sock.close()

    def _forget(self) -> None:
        self._pending.clear()
        self._waiting.clear()
        self._blocked.clear()
        for queue in self._expiries:
            queue.clear()
        self._timer = None
        self._writer = False
        self.stats.in_flight = 0

    def get_template(self, community: bytes, oids: tuple[Oid, ...]) -> GetTemplate:
        """A GET encoded once per (community, OIDs): discovery asks the same few of every AP."""
        key = (community, oids)
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= _TEMPLATE_CACHE_MAX:
                self._templates.clear()
            template = self._templates[key] = GetTemplate(community, oids)
        return template

    # -- one exchange ----------------------------------------------------------------------

    async def exchange(self, device: V2cDevice, encode: Callable[[int], bytes]) -> Response:
        """Send ``encode(request_id)`` to the device until a Response passes the checks; CollectError if none."""
        future = self._attach().create_future()

        def on_done(result: Response | CollectError) -> None:
            if not future.done():
                if isinstance(result, CollectError):
                    future.set_exception(result)
                else:
                    future.set_result(result)

        exchange = self.submit(device, encode, on_done)
        try:
            return await future
        finally:
            if not exchange.done:  # cancelled: give up the request and its slot
                exchange.done = True
                self._finish(exchange)

    def submit(self, device: V2cDevice, encode: Callable[[int], bytes],
               on_done: Callable[[Response | CollectError], None]) -> _Exchange:
        """Send as soon as there is a slot; ``on_done`` gets the Response or the CollectError, once.

        The walks' state machine calls this from ``on_done`` itself: no task or future per request.
        """
        exchange = _Exchange(device, encode, on_done, device.retries)
        if self._closed:
            self._complete(exchange, CollectError(f"{device.label}: the SNMP client was closed", kind="protocol"))
            return exchange
        self.stats.requests += 1
        if self.stats.in_flight < self.max_in_flight:
            self._take_slot(exchange)
            self._transmit(exchange)
        else:
            self._waiting.append(exchange)
        return exchange

    def _complete(self, exchange: _Exchange, result: Response | CollectError) -> None:
        if not exchange.done:
            exchange.done = True
            self._finish(exchange)
            exchange.on_done(result)

    def _attach(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise RuntimeError("this V2cClient is closed")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            old = self._loop
            if old is not None and not old.is_closed():
                old.remove_reader(self.sock.fileno())
                if self._writer:
                    old.remove_writer(self.sock.fileno())
                if self._timer is not None:
                    self._timer.cancel()
            self._forget()  # whatever was pending belonged to the old loop, which can wake no one now
            self._loop = loop
            loop.add_reader(self.sock.fileno(), self._on_readable)
        return loop

    def _take_slot(self, exchange: _Exchange) -> None:
        exchange.holds_slot = True
        stats = self.stats
        stats.in_flight += 1
        if stats.in_flight > stats.max_in_flight:
            stats.max_in_flight = stats.in_flight

    def _next_rid(self) -> int:
        rid = next(self._rids)
        if rid >= REQUEST_ID_MAX:
            self._rids = itertools.count(REQUEST_ID_MIN)
            rid = next(self._rids)
        return rid

    def _transmit(self, exchange: _Exchange) -> None:
        """Send the current attempt and queue its expiry (the wait grows by ``backoff`` per retry)."""
        rid = self._next_rid()
        try:
            self.sock.sendto(exchange.encode(rid), exchange.device.address)
        except BlockingIOError:
            self._blocked.append(exchange)
            self._wait_writable()
            return
        except OSError as exc:
            # Reported from the loop, not from here: _complete frees the slot and sends the next
            # waiting request, which may fail the same way (no route): that must not recurse.
            assert self._loop is not None
            self._loop.call_soon(self._complete, exchange, CollectError(
                f"{exchange.device.label}: cannot send: {exc.strerror or exc}", kind="send"))
            return
        self.stats.sent += 1
        loop = self._loop
        assert loop is not None  # set by _attach before anything is sent
        now = loop.time()
        if not exchange.started:
            exchange.started = now
        exchange.rids.append(rid)
        self._pending[rid] = exchange
        attempt = exchange.attempt
        expiry = now + self.timeout_s * self.backoff ** attempt
        self._expiries[attempt].append((expiry, rid))
        if self._timer is None or expiry < self._timer_at:
            self._arm(expiry)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._timer_at = at
        self._timer = self._loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        assert self._loop is not None
        now = self._loop.time()
        expired: list[_Exchange] = []
        pending = self._pending
        for attempt, queue in enumerate(self._expiries):
            while queue and queue[0][0] <= now:
                exchange = pending.get(queue.popleft()[1])
                # None: answered and finished. A retry's expiry is in the next queue.
                if exchange is not None and exchange.attempt == attempt and not exchange.done:
                    expired.append(exchange)
        for exchange in expired:
            if exchange.done:  # an earlier one's on_done may have closed the client
                continue
            if exchange.attempt < exchange.retries:
                exchange.attempt += 1
                self.stats.retries += 1
                self._transmit(exchange)
            else:
                self.stats.timeouts += 1
                self._complete(exchange, exchange.device.timeout_error(now - exchange.started))
        heads = [queue[0][0] for queue in self._expiries if queue]
        if heads and (self._timer is None or min(heads) < self._timer_at):
            self._arm(min(heads))

    def _finish(self, exchange: _Exchange) -> None:
        pending = self._pending
        for rid in exchange.rids:
            if pending.get(rid) is exchange:
                del pending[rid]
        exchange.rids.clear()  # its queued expiries are skipped from now on
        if exchange.holds_slot:
            exchange.holds_slot = False
            self.stats.in_flight -= 1
            if self._closed:
                return  # close() is failing everything: send nothing more
            waiting = self._waiting
            while waiting and self.stats.in_flight < self.max_in_flight:
                following = waiting.popleft()
                if not following.done:  # a waiter cancelled before its turn is skipped
                    self._take_slot(following)
                    self._transmit(following)

    def _wait_writable(self) -> None:
        if not self._writer and self._loop is not None:
            self._writer = True
            self._loop.add_writer(self.sock.fileno(), self._on_writable)

    def _on_writable(self) -> None:
        if self._loop is not None:
            self._loop.remove_writer(self.sock.fileno())
        self._writer = False
        blocked, self._blocked = self._blocked, deque()
        for exchange in blocked:
            if not exchange.done:
                self._transmit(exchange)  # may block again: then it queues itself anew

    def _on_readable(self) -> None:
        stats = self.stats
        for response, exchange in screened_answers(self.sock, self._pending, stats, _exchange_sender):
            stats.answered += 1
            self._complete(exchange, response)


def _exchange_sender(exchange: _Exchange) -> tuple[tuple[str, int], bytes]:
    return exchange.device.address, exchange.device.community


@dataclass(slots=True, eq=False)
class _Column:
    """One walk in progress: its subtree, how far it has got, and the caller waiting for its rows."""

    prefix: Oid
    raw: bytes  # BER contents of prefix: a row's OID under it starts with these octets
    future: asyncio.Future[list[Row]]
    rows: list[Row] = field(default_factory=list)
    suffix: tuple[int, ...] = ()  # the last row's arcs below prefix; () before the first
    last_raw: bytes = b""  # BER contents of prefix + suffix: where the next GETBULK starts

    def __post_init__(self) -> None:
        self.last_raw = self.raw


def _arcs(raw: bytes, start: int) -> tuple[int, ...]:
    """The arcs encoded in raw[start:], which begins on an arc boundary (no first-two-arcs packing)."""
    arcs: list[int] = []
    value = 0
    for byte in raw[start:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return tuple(arcs)


class V2cDevice:
    """discovery.Device over a V2cClient: GETs, and GETBULK walks shared by the walks started together."""

    __slots__ = ("_batch", "address", "auth_name", "client", "community", "retries")

    def __init__(self, client: V2cClient, address: tuple[str, int], community: bytes, auth_name: str = "",
                 retries: int | None = None) -> None:
        self.client = client
        self.address = address
        self.community = community
        self.auth_name = auth_name
        self.retries = client.retries if retries is None else retries
        self._batch: list[_Column] | None = None

    @property
    def label(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def __repr__(self) -> str:
        return f"V2cDevice({self.label})"  # never the community

    def timeout_error(self, waited: float) -> CollectError:
        client = self.client
        tries = self.retries + 1
        auth = f"auth set '{self.auth_name}'" if self.auth_name else "the credential set"
        return CollectError(
            f"{self.label}: no answer after {tries} {'try' if tries == 1 else 'tries'} in {waited:.1f} s "
            f"(timeout {client.timeout_s:g} s, doubling per retry; v2c); check that the AP is up, that UDP port "
            f"{self.address[1]} reaches it and that the community of {auth} is the AP's", kind="timeout")

    def _agent_error(self, response: Response, what: str) -> CollectError:
        self.client.stats.agent_errors += 1
        status = response.error_status
        name = _ERROR_NAMES.get(status, f"error-status {status}")
        return CollectError(f"{self.label}: agent answered {name} (error-index {response.error_index}) to {what}",
                            kind="protocol")

    # -- GET -------------------------------------------------------------------------------

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        """Every requested OID is a key; absent ones map to the model.Absent sentinels."""
        wanted = tuple(tuple(oid) for oid in oids)
        step = self.client.max_oids_per_get
        if len(wanted) <= step:
            return await self._get(wanted) if wanted else {}
        parts = await asyncio.gather(*(self._get(wanted[i:i + step]) for i in range(0, len(wanted), step)))
        answer: dict[Oid, Value] = {}
        for part in parts:
            answer.update(part)
        return answer

    async def _get(self, oids: tuple[Oid, ...]) -> dict[Oid, Value]:
        client = self.client
        template = client.get_template(self.community, oids)
        response = await client.exchange(self, template.encode)
        if response.error_status == TOO_BIG:
            if len(oids) == 1:
                raise CollectError(f"{self.label}: agent answered tooBig to a GET of the single OID "
                                   f"{format_oid(oids[0])}", kind="protocol")
            client.stats.too_big += 1
            half = len(oids) // 2
            first, second = await asyncio.gather(self._get(oids[:half]), self._get(oids[half:]))
            return first | second
        if response.error_status:
            index = response.error_index
            named = oids[index - 1] if 0 < index <= len(oids) else oids[0]
            more = "" if 0 < index <= len(oids) or len(oids) == 1 else f" and {len(oids) - 1} more"
            raise self._agent_error(response, f"a GET of {format_oid(named)}{more}")
        varbinds = response.varbinds
        if len(varbinds) != len(oids) or any(vb[0] != raw for vb, raw in zip(varbinds, template.oid_bytes,
                                                                                  strict=True)):
            raise CollectError(f"{self.label}: agent answered a GET of {format_oid(oids[0])}"
                               f"{f' and {len(oids) - 1} more' if len(oids) > 1 else ''} with other OIDs "
                               "than asked", kind="protocol")
        return {oid: vb[2] for oid, vb in zip(oids, varbinds, strict=True)}

    # -- walks -----------------------------------------------------------------------------

    async def walk(self, prefix: Oid) -> list[Row]:
        """Rows strictly under ``prefix``, in OID order; [] if there are none.

        Walks started in the same turn of the loop (``asyncio.gather``) join one batch: it goes
        out once they have all been asked for, on the loop's next turn.
        """
        prefix = tuple(prefix)
        if len(prefix) < 2:
            raise ValueError(f"cannot walk {prefix!r}: an OID has at least two arcs")
        loop = self.client._attach()
        column = _Column(prefix, encode_oid(prefix), loop.create_future())
        if self._batch is None:
            self._batch = []
            loop.call_soon(self._flush)
        self._batch.append(column)
        return await column.future

    def _flush(self) -> None:
        batch, self._batch = self._batch, None
        if batch:
            _WalkBatch(self, batch).send()

    def _advance(self, column: _Column, varbinds: Sequence[tuple[bytes, int, Value]]) -> None:
        """Take a column's rows from one answer; end it on leaving the subtree or at endOfMibView."""
        prefix, raw_prefix, rows, suffix = column.prefix, column.raw, column.rows, column.suffix
        size = len(raw_prefix)
        for raw, tag, value in varbinds:
            if tag == END_OF_MIB_VIEW_TAG:
                column.future.set_result(rows)
                return
            if raw.startswith(raw_prefix):  # BER arcs are self-delimiting: this is "under prefix"
                arcs = (raw[size],) if len(raw) == size + 1 else _arcs(raw, size)
                if arcs <= suffix:
                    _fail(column, self._not_increasing(prefix, prefix + suffix, prefix + arcs))
                    return
                rows.append((prefix + arcs, value))
                suffix = arcs
                column.last_raw = raw
                continue
            oid = decode_oid(raw)
            if oid <= prefix + suffix:
                _fail(column, self._not_increasing(prefix, prefix + suffix, oid))
            else:
                column.future.set_result(rows)
            return
        column.suffix = suffix
        if len(rows) > self.client.max_rows:
            _fail(column, CollectError(f"{self.label}: more than {self.client.max_rows} rows under "
                                       f"{format_oid(prefix)}; the agent may be looping (or raise max_rows)",
                                       kind="protocol"))

    def _not_increasing(self, prefix: Oid, last: Oid, got: Oid) -> CollectError:
        return CollectError(f"{self.label}: OIDs not increasing walking {format_oid(prefix)}: after "
                            f"{format_oid(last)} the agent returned {format_oid(got)}", kind="protocol")


class _WalkBatch:
    """The walks of one device asked for together, driven by replies (a state machine, no task):
    each GETBULK carries one varbind per unfinished column, at most ``width`` columns, and
    about ``budget`` rows in all; errors go to the columns' callers."""

    __slots__ = ("budget", "chunk", "columns", "device", "repetitions", "width")

    def __init__(self, device: V2cDevice, columns: list[_Column]) -> None:
        self.device = device
        self.columns = columns
        self.budget = device.client.max_repetitions  # lowered on tooBig, for the rest of the batch
        self.width = device.client.max_oids_per_get
        self.chunk: list[_Column] = []
        self.repetitions = 1

    def send(self) -> None:
        """The next GETBULK for the columns still open (cancelled walks drop out), if any."""
        self.columns = columns = [column for column in self.columns if not column.future.done()]
        if not columns:
            return
        self.chunk = chunk = columns[:self.width]
        self.repetitions = max(1, -(-self.budget // len(chunk)))
        head, tail = bulk_request_parts(self.device.community, [column.last_raw for column in chunk],
                                        self.repetitions)
        self.device.client.submit(self.device, lambda rid: head + rid.to_bytes(4, "big") + tail, self.on_done)

    def on_done(self, result: Response | CollectError) -> None:
        try:
            self._take(result)
            self.send()
        except Exception as exc:  # a bug: handed to every waiting walk (which raises it), so none hangs
            for column in self.columns:
                _fail(column, exc)

    def _take(self, result: Response | CollectError) -> None:
        device, chunk = self.device, self.chunk
        if isinstance(result, CollectError):  # a timeout, a send error: every column in the request
            for column in chunk:
                _fail(column, result)
            return
        if result.error_status == TOO_BIG:
            device.client.stats.too_big += 1
            if self.repetitions > 1:
                self.budget = max(1, self.repetitions * len(chunk) // 2)
            elif len(chunk) > 1:
                self.width = len(chunk) // 2
            else:
                _fail(chunk[0], CollectError(f"{device.label}: agent answered tooBig to a GETBULK of one row "
                                             f"after {format_oid(chunk[0].prefix + chunk[0].suffix)}",
                                             kind="protocol"))
            return
        if result.error_status:
            index = result.error_index
            named = chunk[index - 1] if 0 < index <= len(chunk) else chunk[0]
            error = device._agent_error(result, f"a GETBULK after {format_oid(named.prefix + named.suffix)} "
                                                f"walking {format_oid(named.prefix)}")
            for column in chunk:
                _fail(column, error)
            return
        varbinds = result.varbinds
        if not varbinds:
            error = CollectError(f"{device.label}: agent answered a GETBULK walking {format_oid(chunk[0].prefix)} "
                                 "with no varbinds", kind="protocol")
            for column in chunk:
                _fail(column, error)
            return
        step = len(chunk)
        for position, column in enumerate(chunk):
            device._advance(column, varbinds[position::step])


def _ber_length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    octets = (size.bit_length() + 7) // 8
    return bytes((0x80 | octets,)) + size.to_bytes(octets, "big")


def bulk_request_parts(community: bytes, oids: Sequence[bytes], repetitions: int) -> tuple[bytes, bytes]:
    """A GetBulkRequest (version 2c, non-repeaters 0) for OIDs already BER-encoded, cut where the
    4-octet request-id goes: ``head + rid.to_bytes(4, "big") + tail``.

    Walks continue from the raw OID of the last row an agent sent; ``codec.encode_response`` would
    check and re-encode every arc of every OID of every request (25 µs for ten columns; this, 3 µs).
    The tests hold the two byte for byte equal.
    """
    if not 0 < repetitions <= 0x7FFFFFFF:
        raise ValueError(f"max-repetitions {repetitions} is out of range")
    items = []
    for oid in oids:
        name = b"\x06" + _ber_length(len(oid)) + oid
        items.append(b"\x30" + _ber_length(len(name) + 2) + name + b"\x05\x00")  # value: NULL
    varbinds = b"".join(items)
    repetition_octets = repetitions.to_bytes(repetitions.bit_length() // 8 + 1, "big")
    tail = (b"\x02\x01\x00"  # non-repeaters 0
            + b"\x02" + _ber_length(len(repetition_octets)) + repetition_octets
            + b"\x30" + _ber_length(len(varbinds)) + varbinds)
    pdu_size = 6 + len(tail)  # the request-id: tag, length 4, four octets
    body_head = b"\x02\x01\x01\x04" + _ber_length(len(community)) + community  # version 1 (v2c), community
    body_head += bytes((GET_BULK,)) + _ber_length(pdu_size)
    return b"\x30" + _ber_length(len(body_head) + pdu_size) + body_head + b"\x02\x04", tail


def _fail(column: _Column, error: Exception) -> None:
    """End a walk with ``error``; each caller gets its own CollectError (one raised object, one traceback)."""
    if not column.future.done():
        if isinstance(error, CollectError):
            error = CollectError(str(error), kind=error.kind)
        column.future.set_exception(error)


@contextlib.contextmanager
def fewer_collections(young: int = 50_000) -> Iterator[None]:
    """Run a burst of discovery with the cyclic garbage collector mostly out of the way.

    Discovery allocates a few hundred short-lived objects per AP while the inventory, the store
    and pysnmp's MIBs sit in the heap; with CPython's defaults each full collection rescans all
    of them, dozens of times: 40 % of the demo's discovery CPU (35,350 APs: 49 s of CPU, 29 s with
    this). Freeze what exists (``gc.freeze``), collect the young generation every ``young``
    allocations instead of 700, and restore both on exit. Process-wide while it runs: another
    burst overlapping it only loses the speed-up when the first one ends. A process that had
    frozen its heap already (``hotspotctl run`` freezes the fleet) stays frozen afterwards.
    """
    threshold = gc.get_threshold()
    was_frozen = gc.get_freeze_count() > 0
    gc.freeze()
    gc.set_threshold(max(young, threshold[0]), max(20, threshold[1]), max(20, threshold[2]))
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if not was_frozen:
            gc.unfreeze()
