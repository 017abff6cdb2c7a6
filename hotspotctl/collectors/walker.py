"""SNMP GETs and GETBULK walks for discovery, on our own codec, on the poll engine's transport.

Discovering an AP takes a dozen requests (the system GET, has_oid probes, ten IF-MIB column
walks, a clients walk). Through pysnmp each costs ~2 ms of CPU, a quarter of an hour for the
fleet; here a request costs the codec's few µs plus the loop's bookkeeping. A device made with a
v3 user (``usm``) is SNMPv3: the transport wraps its requests and opens its answers
(``usmmanager``); everything else here is the same for both versions.

Many coroutines share the process's ``udp.UdpTransport`` (its sockets, request-ids, in-flight cap,
timers and per-agent timeouts, shared with the poll engine). An exchange is one request until it
is answered or given up: a reply to any of its attempts answers it; the wait doubles per retry
from the agent's adaptive timeout, and no attempt is waited for past ``deadline_s``. Requests
beyond the cap wait in a FIFO queue, and their clocks only start once sent.
A reply from the wrong address, with the wrong community, an unknown request-id, a PDU other
than Response, or that does not decode is dropped and counted by the transport, never trusted.

``WalkerDevice`` is a ``discovery.Device``. ``get`` splits above ``max_oids_per_get`` and halves
again on tooBig. ``walk`` uses GETBULK (non-repeaters 0) from the last OID until it leaves the
subtree or meets endOfMibView; walks of one device started together (discovery gathers its ten
IF-MIB columns) share each GETBULK, one varbind per column and about ``max_repetitions`` rows in
all, which cuts the requests per AP by half and decodes few rows past a column's end. tooBig asks
for fewer rows, then fewer columns; OIDs that do not increase and subtrees longer than
``max_rows`` are protocol errors, so a broken agent cannot loop a walk forever. An agent's other
error-status answers are errors of kind ``agent`` naming the status.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from hotspotctl.collectors.codec import END_OF_MIB_VIEW_TAG, GET_BULK, TOO_BIG, GetTemplate, Response, error_status_name
from hotspotctl.collectors.model import Value
from hotspotctl.collectors.oids import Oid, decode_oid, encode_oid, format_oid
from hotspotctl.collectors.udp import Address, Request, UdpTransport, format_address, numeric_address
from hotspotctl.collectors.usmmanager import ManagerUser
from hotspotctl.errors import CollectError, PollErrorKind

_TEMPLATE_CACHE_MAX = 4096  # distinct GETs kept encoded; discovery asks few shapes, over and over
_INDEX_CACHE_MAX = 1 << 17  # row indexes kept decoded (their BER octets -> arcs); a controller's 10,000 APs
# and 20,000 radios repeat the same ~30,000 indexes in every column of every cycle
_NOT_VALUES = frozenset((0x05, 0x80, 0x81))  # NULL, noSuchObject, noSuchInstance: left out of walk_cells

Row = tuple[Oid, Value]


@dataclass(slots=True)
class WalkerStats:
    """What the client did; cheap counters for tests and poller self-metrics (what arrived on the
    socket, and what was refused, is the transport's: ``client.transport.stats``)."""

    requests: int = 0  # GET/GETBULK PDUs asked for (after splitting)
    sent: int = 0  # datagrams sent, retries included
    answered: int = 0  # requests answered by a reply that passed the checks
    retries: int = 0
    timeouts: int = 0  # requests given up after the last retry
    too_big: int = 0  # tooBig answers (GETs split, walks asked for fewer rows or columns)
    agent_errors: int = 0  # other error-status answers (raised as kind "agent")
    in_flight: int = 0  # this client's requests holding a slot now
    max_in_flight: int = 0  # the most that ever held one at once

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class _Exchange(Request):
    """One request until it is answered or given up: every attempt's request-id answers it."""

    __slots__ = ("device", "encode", "on_done", "started")

    def __init__(self, client: WalkerClient, device: WalkerDevice, encode: Callable[[int], bytes],
                 on_done: Callable[[Response | CollectError], None]) -> None:
        Request.__init__(self, client, device.address, device.community, device.retries, device.usm)
        self.device = device
        self.encode = encode  # request-id -> datagram
        self.on_done = on_done  # called once, from the loop's callbacks
        self.started = 0.0  # monotonic time of the first send


class WalkerClient:
    """Hands out ``WalkerDevice``s that share one transport: sockets, request-ids, the in-flight cap.

    Use it from one event loop at a time (it re-attaches if a later ``asyncio.run`` uses it);
    close it, or use it as a context manager. With no ``transport`` it opens its own (and closes it).
    """

    def __init__(self, *, timeout_s: float = 1.0, retries: int = 2, max_in_flight: int = 2000,
                 max_oids_per_get: int = 24, max_repetitions: int = 25, max_rows: int = 10_000,
                 receive_buffer_bytes: int = 8 << 20, deadline_s: float = 6.0, min_timeout_s: float = 0.5,
                 bind: tuple[str, int] = ("0.0.0.0", 0), transport: UdpTransport | None = None) -> None:
        if min(max_in_flight, max_oids_per_get, max_repetitions, max_rows) < 1 or retries < 0 or timeout_s <= 0:
            raise ValueError("max_in_flight, max_oids_per_get, max_repetitions and max_rows must be at least 1, "
                             "retries at least 0 and timeout_s more than 0")
        self.timeout_s = timeout_s
        self.retries = retries
        self.deadline_s = deadline_s
        self.max_oids_per_get = max_oids_per_get
        self.max_repetitions = max_repetitions
        self.max_rows = max_rows
        self.stats = WalkerStats()
        self.transport, self._owns_transport = UdpTransport.serving(
            self, transport, receive_buffer_bytes=receive_buffer_bytes, max_in_flight=max_in_flight,
            timeout_s=timeout_s, min_timeout_s=min_timeout_s, deadline_s=deadline_s, bind=bind)
        self._waiting: deque[_Exchange] = deque()  # asked for, no slot yet (or the send buffer was full)
        self._templates: dict[tuple[bytes, tuple[Oid, ...]], GetTemplate] = {}
        self._indexes: dict[bytes, tuple[int, ...]] = {}  # a row's index octets (after its column) -> its arcs
        self._closed = False

    @property
    def sock(self) -> object:
        return self.transport.sock

    def __enter__(self) -> WalkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def device(self, host: str, port: int, community: bytes, *, auth_name: str = "",
               retries: int | None = None) -> WalkerDevice:
        """A Device for the agent at host:port, an IP literal (a name is resolved by the caller,
        ``udp.Resolver``, off the loop); ``auth_name`` (the credential set) only labels errors.

        ``retries``: this device's requests are retried that many times, at most the client's
        ``retries``; None, the client's.
        """
        if retries is None:
            retries = self.retries
        elif not 0 <= retries <= self.retries:
            raise ValueError(f"retries must be 0..{self.retries} (the client's), not {retries}")
        address = numeric_address(host, port)
        if address is None:
            raise CollectError(f"{host}:{port}: not an IP address (resolve the name first)",
                               kind=PollErrorKind.NO_ADDRESS)
        return self.device_at(address, community, auth_name=auth_name, retries=retries)

    def device_at(self, address: Address, community: bytes, *, auth_name: str = "", retries: int | None = None,
                  usm: ManagerUser | None = None, until: float | None = None) -> WalkerDevice:
        """A Device for a socket address as ``udp.Resolver`` gives it; with ``usm`` (the transport's
        ``usm.user(credentials)``), an SNMPv3 one (``community`` is then empty); with ``until`` (monotonic), no
        request of it is waited for past that time."""
        if retries is None:
            retries = self.retries
        return WalkerDevice(self, address, bytes(community), auth_name, retries, usm=usm, until=until)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        transport = self.transport
        mine = [r for r in transport.pending.values() if r.owner is self]
        for exchange in {id(e): e for e in [*mine, *self._waiting]}.values():
            assert isinstance(exchange, _Exchange)
            self._complete(exchange, CollectError(f"{exchange.device.label}: the SNMP client was closed",
                                                  kind=PollErrorKind.PROTOCOL))
        self._waiting.clear()
        if self._owns_transport:
            transport.close()

    def forget(self) -> None:
        """The transport moved to another loop: whatever was waiting belonged to the old one."""
        self._waiting.clear()
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

    def _attach(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise RuntimeError("this WalkerClient is closed")
        return self.transport.attach()

    # -- one exchange ----------------------------------------------------------------------

    async def exchange(self, device: WalkerDevice, encode: Callable[[int], bytes]) -> Response:
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
                self._release(exchange)

    def submit(self, device: WalkerDevice, encode: Callable[[int], bytes],
               on_done: Callable[[Response | CollectError], None]) -> _Exchange:
        """Send as soon as there is a slot; ``on_done`` gets the Response or the CollectError, once.

        The walks' state machine calls this from ``on_done`` itself: no task or future per request.
        """
        exchange = _Exchange(self, device, encode, on_done)
        if self._closed:
            self._complete(exchange, CollectError(f"{device.label}: the SNMP client was closed",
                                                  kind=PollErrorKind.PROTOCOL))
            return exchange
        self._attach()
        self.stats.requests += 1
        if self._waiting or not self._take_slot(exchange):
            self._waiting.append(exchange)
        else:
            self._send(exchange)
        return exchange

    def _take_slot(self, exchange: _Exchange) -> bool:
        if not self.transport.take_slot(exchange):
            return False
        stats = self.stats
        stats.in_flight += 1
        if stats.in_flight > stats.max_in_flight:
            stats.max_in_flight = stats.in_flight
        return True

    def _release(self, exchange: _Exchange) -> None:
        held = exchange.holds_slot
        self.transport.finish(exchange)
        if held:
            self.stats.in_flight -= 1

    def _complete(self, exchange: _Exchange, result: Response | CollectError) -> None:
        if not exchange.done:
            self._release(exchange)
            exchange.on_done(result)
            if self._waiting and not self._closed:
                self.pump()  # its slot is free (a send error's completion comes from the loop, not a pump)

    def _send(self, exchange: _Exchange) -> bool:
        """Send the current attempt (it holds a slot); False if the send buffer is full (queued again)."""
        now = time.monotonic()
        if not exchange.started:
            exchange.started = now
            deadline, until = now + self.deadline_s, exchange.device.until
            exchange.deadline = deadline if until is None or until > deadline else until
        try:
            sent = self.transport.transmit(exchange, exchange.encode, now)
        except OSError as exc:
            # Reported from the loop, not from here: _complete frees the slot and sends the next
            # waiting request, which may fail the same way (no route): that must not recurse.
            loop = self.transport.attach()
            loop.call_soon(self._complete, exchange, CollectError(
                f"{exchange.device.label}: cannot send: {exc.strerror or exc}", kind=PollErrorKind.SEND))
            return True
        if not sent:
            self._waiting.appendleft(exchange)
            return False
        self.stats.sent += 1
        return True

    def pump(self) -> None:
        """Send what waits, while there are slots (the transport calls this as slots free up)."""
        waiting = self._waiting
        while waiting:
            exchange = waiting[0]
            if exchange.done:  # a waiter cancelled before its turn is skipped
                waiting.popleft()
                continue
            if not exchange.holds_slot and not self._take_slot(exchange):
                return
            waiting.popleft()
            if not self._send(exchange):
                return

    # -- the transport's callbacks ---------------------------------------------------------

    def expired(self, exchange: _Exchange, now: float) -> None:
        if exchange.attempt < exchange.retries and now < exchange.deadline - 0.001:
            exchange.attempt += 1
            self.stats.retries += 1
            self._send(exchange)
            return
        self.stats.timeouts += 1
        self._complete(exchange, exchange.device.timeout_error(now - exchange.started, exchange.attempt + 1))

    def resend(self, exchange: _Exchange) -> None:
        self._send(exchange)  # it keeps its slot and attempt

    def refused(self, exchange: _Exchange, kind: PollErrorKind, message: str) -> None:
        self._complete(exchange, CollectError(message, kind=kind))

    def answered(self, exchange: _Exchange, response: Response, rtt: float) -> None:
        stats = self.stats
        stats.answered += 1
        stats.in_flight -= 1  # the transport has freed the slot an exchange holds from its first send
        exchange.on_done(response)
        if self._waiting and not self._closed:
            self.pump()


@dataclass(slots=True, eq=False)
class _Column:
    """One walk in progress: its subtree, how far it has got, and the caller waiting for its rows."""

    prefix: Oid
    raw: bytes  # BER contents of prefix: a row's OID under it starts with these octets
    future: asyncio.Future[Any]  # list[Row] (walk), dict[Oid, Value] (walk_cells)
    rows: list[Row] = field(default_factory=list)
    suffix: tuple[int, ...] = ()  # the last row's arcs below prefix; () before the first
    last_raw: bytes = b""  # BER contents of prefix + suffix: where the next GETBULK starts
    cells: dict[Oid, Value] | None = None  # walk_cells: {index: value}, instead of rows
    seen: int = 0  # rows taken (for walk_cells: the cells, and the exception values left out)

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


class WalkerDevice:
    """discovery.Device over a WalkerClient: GETs, and GETBULK walks shared by the walks started together."""

    __slots__ = ("_batch", "address", "auth_name", "client", "community", "max_repetitions", "max_rows", "retries",
                 "until", "usm")

    def __init__(self, client: WalkerClient, address: Address, community: bytes, auth_name: str = "",
                 retries: int | None = None, *, max_repetitions: int | None = None,
                 max_rows: int | None = None, usm: ManagerUser | None = None, until: float | None = None) -> None:
        self.client = client
        self.address = address
        self.community = community
        self.usm = usm  # SNMPv3: the user every request goes out as (the transport wraps them)
        # a budget for all of this device's requests (time.monotonic()): none is waited for past it, whatever
        # the client's deadline_s (a trap's confirmation poll, Poller.device(budget_s=))
        self.until = until
        self.auth_name = auth_name
        self.retries = client.retries if retries is None else retries
        self.max_repetitions = client.max_repetitions if max_repetitions is None else max_repetitions
        self.max_rows = client.max_rows if max_rows is None else max_rows
        if min(self.max_repetitions, self.max_rows) < 1:
            raise ValueError("max_repetitions and max_rows must be at least 1")
        self._batch: list[_Column] | None = None

    def with_limits(self, *, max_repetitions: int | None = None, max_rows: int | None = None) -> WalkerDevice:
        """The same agent, its walks asking for ``max_repetitions`` rows per GETBULK in all and allowed
        ``max_rows`` rows per column (None: this device's). A controller's tables are read this way: tens of
        thousands of rows a cycle, as few GETBULKs as the agent's answers hold (an agent stops a GETBULK
        answer at its message size, RFC 3416 4.2.3, or says tooBig: the batch then asks for fewer)."""
        return WalkerDevice(self.client, self.address, self.community, self.auth_name, self.retries,
                         max_repetitions=self.max_repetitions if max_repetitions is None else max_repetitions,
                         max_rows=self.max_rows if max_rows is None else max_rows, usm=self.usm, until=self.until)

    @property
    def label(self) -> str:
        return format_address(self.address)

    def __repr__(self) -> str:
        return f"WalkerDevice({self.label})"  # never the community

    def timeout_error(self, waited: float, tries: int | None = None) -> CollectError:
        client = self.client
        tries = self.retries + 1 if tries is None else tries
        auth = f"auth set '{self.auth_name}'" if self.auth_name else "the credential set"
        if self.usm is None:
            version, secret = "v2c", "the community"
        else:
            version, secret = self.usm.level, "the user and keys"
        limit = f"deadline {client.deadline_s:g} s" if self.until is None else "within the poll's budget"
        return CollectError(
            f"{self.label}: no answer after {tries} {'try' if tries == 1 else 'tries'} in {waited:.1f} s "
            f"(timeout {client.transport.rtt.timeout(self.address):.2g} s, doubling per retry, {limit}; "
            f"{version}); check that the AP is up, that UDP port "
            f"{self.address[1]} reaches it and that {secret} of {auth} match the AP's", kind=PollErrorKind.TIMEOUT)

    def _agent_error(self, response: Response, what: str) -> CollectError:
        self.client.stats.agent_errors += 1
        status = response.error_status
        return CollectError(f"{self.label}: the agent answered {error_status_name(status)} (error-status {status}, "
                            f"error-index {response.error_index}) to {what}", kind=PollErrorKind.AGENT)

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
                                   f"{format_oid(oids[0])}", kind=PollErrorKind.AGENT)
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
                               "than asked", kind=PollErrorKind.PROTOCOL)
        return {oid: vb[2] for oid, vb in zip(oids, varbinds, strict=True)}

    # -- walks -----------------------------------------------------------------------------

    async def walk(self, prefix: Oid) -> list[Row]:
        """Rows strictly under ``prefix``, in OID order; [] if there are none.

        Walks started in the same turn of the loop (``asyncio.gather``) join one batch: it goes
        out once they have all been asked for, on the loop's next turn.
        """
        rows: list[Row] = await self._walk(prefix, cells=False)
        return rows

    async def walk_cells(self, prefix: Oid) -> dict[Oid, Value]:
        """A table column as ``{row index (the arcs after prefix): value}``, the agent's exception values
        (noSuchObject, noSuchInstance) and NULLs left out: ``tables.index_rows(prefix, walk(prefix))``
        without building each row's OID to cut it again (a controller: 150,000 rows a cycle)."""
        cells: dict[Oid, Value] = await self._walk(prefix, cells=True)
        return cells

    async def _walk(self, prefix: Oid, *, cells: bool) -> Any:
        prefix = tuple(prefix)
        if len(prefix) < 2:
            raise ValueError(f"cannot walk {prefix!r}: an OID has at least two arcs")
        loop = self.client._attach()
        column = _Column(prefix, encode_oid(prefix), loop.create_future(), cells={} if cells else None)
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
        """Take a column's rows from one answer; end it on leaving the subtree or at endOfMibView.

        A row's index is looked up by its octets (``client._indexes``): the same index comes in every column
        of a table, and every cycle; it is decoded the first time only."""
        prefix, raw_prefix, suffix, cells = column.prefix, column.raw, column.suffix, column.cells
        size = len(raw_prefix)
        indexes = self.client._indexes
        lookup = indexes.get
        end_of_mib = END_OF_MIB_VIEW_TAG
        rows = column.rows
        append = rows.append
        for raw, tag, value in varbinds:
            if tag == end_of_mib:
                column.future.set_result(rows if cells is None else cells)
                return
            if raw.startswith(raw_prefix):  # BER arcs are self-delimiting: this is "under prefix"
                index = raw[size:]
                arcs = lookup(index)
                if arcs is None:
                    if len(indexes) >= _INDEX_CACHE_MAX:
                        indexes.clear()
                    arcs = indexes[index] = _arcs(raw, size)
                if arcs <= suffix:
                    _fail(column, self._not_increasing(prefix, prefix + suffix, prefix + arcs))
                    return
                if cells is None:
                    append((prefix + arcs, value))
                elif tag not in _NOT_VALUES:
                    cells[arcs] = value
                suffix = arcs
                continue
            oid = decode_oid(raw)
            if oid <= prefix + suffix:
                _fail(column, self._not_increasing(prefix, prefix + suffix, oid))
            else:
                column.future.set_result(rows if cells is None else cells)
            return
        if not varbinds:
            return
        column.suffix = suffix
        column.last_raw = varbinds[-1][0]  # every row was under the prefix: the walk goes on from the last
        column.seen += len(varbinds)
        if column.seen > self.max_rows:
            _fail(column, CollectError(f"{self.label}: more than {self.max_rows} rows under "
                                       f"{format_oid(prefix)}; the agent may be looping (or raise max_rows)",
                                       kind=PollErrorKind.PROTOCOL))

    def _not_increasing(self, prefix: Oid, last: Oid, got: Oid) -> CollectError:
        return CollectError(f"{self.label}: OIDs not increasing walking {format_oid(prefix)}: after "
                            f"{format_oid(last)} the agent returned {format_oid(got)}", kind=PollErrorKind.PROTOCOL)


class _WalkBatch:
    """The walks of one device asked for together, driven by replies (a state machine, no task):
    each GETBULK carries one varbind per unfinished column, at most ``width`` columns, and
    about ``budget`` rows in all; errors go to the columns' callers."""

    __slots__ = ("budget", "chunk", "columns", "device", "repetitions", "width")

    def __init__(self, device: WalkerDevice, columns: list[_Column]) -> None:
        self.device = device
        self.columns = columns
        self.budget = device.max_repetitions  # lowered on tooBig, for the rest of the batch
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
                                             kind=PollErrorKind.AGENT))
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
                                 "with no varbinds", kind=PollErrorKind.PROTOCOL)
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


class _Heap:
    frozen_for_good = False  # a process's entry point froze its long-lived objects (freeze_heap): never unfrozen


def freeze_heap(thresholds: tuple[int, int, int]) -> None:
    """Collect, freeze what lives now out of the cyclic collector's sight (``gc.freeze``: later collections never
    traverse it) and collect at ``thresholds`` from now on: for a process's entry point, once its long-lived
    objects exist (``scheduling.service.settle_heap``). Called again, it freezes only what was added since.
    ``fewer_collections`` then neither unfreezes nor counts the frozen objects (``gc.get_freeze_count`` walks
    every one of them: 42 ms at 2 million objects; discovery and each controller a cycle reads enter it)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    _Heap.frozen_for_good = True


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
    was_frozen = _Heap.frozen_for_good or gc.get_freeze_count() > 0
    gc.freeze()
    gc.set_threshold(max(young, threshold[0]), max(20, threshold[1]), max(20, threshold[2]))
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if not was_frozen:
            gc.unfreeze()
