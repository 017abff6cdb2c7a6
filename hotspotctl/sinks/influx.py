"""InfluxDB: the two write APIs, and the sink that puts every batch through the spool first.

The rule: a sample is in InfluxDB or in the spool, across kill -9 too. So a cycle's lines are
*always* appended to the spool first (gzip, fsync, rename: ``sinks/spool.py``), in batches of
``influx.batch_points``, and ``InfluxSink.flush()`` replays the spool oldest first, deleting a
batch only once InfluxDB has answered 2xx for it. The stored gzip body is the request body as is
(``Content-Encoding: gzip``): a replay neither inflates nor re-encodes. A crash between the write
and the delete sends that batch twice; InfluxDB keeps one point per series and timestamp, so the
second write overwrites the first with the same values: nothing is duplicated.

Two APIs, chosen by ``influx.api``:

- ``v2`` (default): InfluxDB 2.x/3.x and whatever speaks ``/api/v2/write`` (VictoriaMetrics too),
  through influxdb-client's ``WriteService``: org, bucket, token.
- ``v1``: InfluxDB 1.x's ``/write``: database, retention policy, optional user and password (sent as
  HTTP basic auth, never in the URL). A missing database is created when ``influx.create_database``.

What an answer means:

=========================  ==================================================================
2xx                        written; the batch leaves the spool
429, 5xx, timeout, reset   retried up to ``influx.max_retries`` times, waiting 0.5 s, 1 s, 2 s
                           ... (at most ``influx.retry_max_s``) or what Retry-After says
connection refused         InfluxDB is down: no retry now; the batch waits for the next flush
401, 403, 404, other 4xx   a setting is wrong (token, user, bucket): the batch waits, the error
                           says which setting to fix
400 (bad data), 413        refused for good: the batch moves to the spool's rejected/ folder
                           with the reason, so it cannot block the batches behind it
=========================  ==================================================================
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import urllib3

from hotspotctl.errors import SinkError
from hotspotctl.settings import InfluxSettings
from hotspotctl.sinks.spool import Spool, SpoolBusyError, SpoolStatus, is_gzip

log = logging.getLogger("hotspotctl.influx")

USER_AGENT = "hotspotctl"
BACKOFF_FIRST_S = 0.5
FLUSH_BACKOFF_MAX_S = 300.0


class SinkUnavailable(SinkError):
    """InfluxDB could not take the batch now (down, overloaded, or a setting is wrong); it stays spooled."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BatchRefused(SinkError):
    """InfluxDB refused the batch for good (bad data, too large): retrying cannot help."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Writer(Protocol):
    target: str

    def write(self, body: bytes, precision: str) -> None: ...

    def close(self) -> None: ...


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _message(body: bytes | str | None) -> str:
    """InfluxDB's own error text: {"error": "..."} / {"message": "..."} or the body, short."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    with contextlib.suppress(ValueError, AttributeError):
        parsed = json.loads(text)
        text = parsed.get("error") or parsed.get("message") or text
    return " ".join(text.split())[:300]


def _statement_error(body: bytes) -> str | None:
    """The error of an InfluxQL answer ({"results": [{"error": ...}]}), or None."""
    try:
        results = json.loads(body).get("results") or [{}]
    except (ValueError, AttributeError):
        return "not an InfluxQL answer"
    return results[0].get("error")


class _Retrying:
    """The retry loop both writers share; ``stop`` (set on shutdown) cuts a back-off short."""

    def __init__(self, settings: InfluxSettings, stop: threading.Event | None) -> None:
        self.settings = settings
        self.target = settings.target
        self.stop = stop or threading.Event()

    def run(self, attempt: Any) -> None:
        retries = self.settings.max_retries
        for n in range(retries + 1):
            try:
                attempt()
                return
            except _Retryable as exc:
                wait = exc.retry_after_s if exc.retry_after_s is not None else BACKOFF_FIRST_S * 2**n
                if n == retries or wait > self.settings.retry_max_s or self.stop.is_set():
                    raise SinkUnavailable(f"{self.target}: {exc} (after {n + 1} tries)",
                                          retry_after_s=exc.retry_after_s) from None
                log.info("%s: %s; retrying in %.1f s", self.target, exc, wait)
                if self.stop.wait(wait):
                    raise SinkUnavailable(f"{self.target}: {exc} (stopping: not retried)") from None


def _classify(status: int, headers: Any, body: bytes | str | None, target: str, fix: dict[int, str]) -> None:
    """Raise what an HTTP status means for a write (see the module's table); return on 2xx."""
    if 200 <= status < 300:
        return
    text = _message(body)
    if status == 429 or status >= 500:
        raise _Retryable(f"HTTP {status}: {text}", retry_after(headers.get("Retry-After") if headers else None))
    if status in (400, 413):
        advice = "lower influx.batch_points" if status == 413 else "the batch has points InfluxDB will not take"
        raise BatchRefused(f"{target} refused the batch: HTTP {status}: {text} ({advice})")
    hint = fix.get(status, "check the influx.* settings")
    raise SinkUnavailable(f"{target} answered HTTP {status}: {text}. {hint}")


class V1Writer:
    """InfluxDB 1.x: POST /write?db=&rp=&precision=, gzip body, basic auth."""

    def __init__(self, settings: InfluxSettings, *, stop: threading.Event | None = None) -> None:
        self.settings = settings
        self.target = settings.target
        self.base = settings.url.rstrip("/")
        self.http = urllib3.PoolManager(num_pools=2, maxsize=2, retries=False,
                                        timeout=urllib3.Timeout(connect=min(5.0, settings.timeout_s),
                                                                read=settings.timeout_s))
        self.headers = {"User-Agent": USER_AGENT, "Content-Type": "text/plain; charset=utf-8"}
        if settings.username:
            self.headers.update(urllib3.make_headers(basic_auth=f"{settings.username}:{settings.password}"))
        self.retrying = _Retrying(settings, stop)
        self._created = False

    def write(self, body: bytes, precision: str) -> None:
        params = {"db": self.settings.database, "precision": precision}
        if self.settings.retention_policy:
            params["rp"] = self.settings.retention_policy
        url = f"{self.base}/write?{urlencode(params)}"
        headers = {**self.headers, "Content-Encoding": "gzip"} if is_gzip(body) else self.headers
        fix = {401: "check influx.username and HOTSPOTCTL_INFLUX_PASSWORD",
               403: "the user may not write to this database: grant WRITE on it",
               404: f"database {self.settings.database!r} does not exist: create it, or set influx.create_database"}

        def attempt() -> None:
            answer = self._post(url, body, headers)
            if answer.status == 404 and "database not found" in _message(answer.data) and self._create_database():
                answer = self._post(url, body, headers)
            _classify(answer.status, answer.headers, answer.data, self.target, fix)

        self.retrying.run(attempt)

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> Any:
        return _transport(lambda: self.http.request("POST", url, body=body, headers=headers), self.target)

    def _create_database(self) -> bool:
        if not self.settings.create_database or self._created:
            return False
        q = f'CREATE DATABASE "{self.settings.database.replace(chr(34), "")}"'
        answer = _transport(lambda: self.http.request("POST", f"{self.base}/query", body=urlencode({"q": q}),
                                                      headers={**self.headers, "Content-Type":
                                                               "application/x-www-form-urlencoded"}), self.target)
        self._created = answer.status == 200 and not _statement_error(answer.data)
        if self._created:
            log.warning("%s: created database %r (influx.create_database)", self.target, self.settings.database)
        return self._created

    def close(self) -> None:
        self.http.clear()


class V2Writer:
    """InfluxDB 2.x/3.x (and /api/v2/write servers) through influxdb-client's WriteService."""

    def __init__(self, settings: InfluxSettings, *, stop: threading.Event | None = None) -> None:
        from influxdb_client import InfluxDBClient, WriteService

        self.settings = settings
        self.target = settings.target
        # retries=False: the retry loop is ours, the same for both APIs, and honours Retry-After
        self.client = InfluxDBClient(url=settings.url, token=settings.token or None, org=settings.org or None,
                                     timeout=int(settings.timeout_s * 1000), retries=False, enable_gzip=False)
        self.service = WriteService(self.client.api_client)
        self.retrying = _Retrying(settings, stop)

    def write(self, body: bytes, precision: str) -> None:
        from influxdb_client.rest import ApiException

        fix = {401: "check HOTSPOTCTL_INFLUX_TOKEN", 403: "the token may not write to this bucket",
               404: f"check influx.org ({self.settings.org!r}) and influx.bucket ({self.settings.bucket!r})"}
        extra = {"content_encoding": "gzip"} if is_gzip(body) else {}

        def attempt() -> None:
            def post() -> None:
                self.service.post_write(org=self.settings.org or "-", bucket=self.settings.bucket, body=body,
                                        precision=precision, content_type="text/plain; charset=utf-8", **extra)

            try:
                _transport(post, self.target)
            except ApiException as exc:
                _classify(exc.status or 0, exc.headers, exc.body, self.target, fix)

        self.retrying.run(attempt)

    def close(self) -> None:
        self.client.close()


def _transport(call: Any, target: str) -> Any:
    """Run one HTTP call; a refused connection is SinkUnavailable, other transport failures retryable."""
    try:
        return call()
    except urllib3.exceptions.NewConnectionError as exc:
        raise SinkUnavailable(f"{target} is not reachable: {_reason(exc)}. Is InfluxDB running, and is "
                              "influx.url right?") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _Retryable(f"transport error: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "reason", None) or exc)
    # urllib3 repeats the connection object's repr; keep what the OS said
    return text.split(": ", 1)[-1] if "Connection" in text and ": " in text else text


def open_writer(settings: InfluxSettings, *, stop: threading.Event | None = None) -> Writer | None:
    """The writer ``influx.api`` names, or None when no InfluxDB is configured."""
    if not settings.configured:
        return None
    return V1Writer(settings, stop=stop) if settings.api == "v1" else V2Writer(settings, stop=stop)


@dataclass(frozen=True, slots=True)
class FlushResult:
    """One flush: what reached InfluxDB, what was refused for good, and what still waits (and why)."""

    batches: int
    points: int
    seconds: float
    rejected: int = 0
    error: str | None = None
    waiting: SpoolStatus | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {"batches": self.batches, "points": self.points, "seconds": round(self.seconds, 3),
                "rejected": self.rejected, "ok": self.ok, "error": self.error,
                "waiting": None if self.waiting is None else self.waiting.to_json()}


class InfluxSink:
    """The spool in front of InfluxDB: ``submit`` is durable at once, ``flush`` delivers in order."""

    def __init__(self, settings: InfluxSettings, spool: Spool, *, writer: Writer | None = None) -> None:
        self.settings = settings
        self.spool = spool
        self.stop_event = threading.Event()
        self.writer = writer if writer is not None else open_writer(settings, stop=self.stop_event)
        self._failures = 0
        self._next_try = 0.0  # time.monotonic() before which a scheduled flush does not try again
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return self.writer is not None

    @property
    def destination(self) -> str:
        return self.writer.target if self.writer is not None else f"the spool {self.spool.directory}"

    def submit(self, lines: Sequence[str], *, precision: str = "s") -> int:
        """Append ``lines`` to the spool in batches of influx.batch_points; the number of batches."""
        size = self.settings.batch_points
        batches = 0
        for start in range(0, len(lines), size):
            self.spool.append(lines[start:start + size], precision=precision)
            batches += 1
        return batches

    def due(self) -> bool:
        """Whether a scheduled flush should try now (it backs off while InfluxDB stays away)."""
        return self.writer is not None and time.monotonic() >= self._next_try

    def flush(self, *, limit: int | None = None) -> FlushResult:
        """Deliver spooled batches oldest first until the spool is empty, InfluxDB fails, or ``limit``.

        It always tries: the back-off only gates the scheduler's calls (``due``).
        """
        started = time.monotonic()
        if self.writer is None:
            return FlushResult(0, 0, 0.0, error="no InfluxDB configured (influx.url)", waiting=self.spool.status())
        batches = points = rejected = 0
        error: str | None = None
        with self._lock:
            while limit is None or batches < limit:
                try:
                    result = self.spool.replay(self._deliver, gzip=True,
                                               limit=None if limit is None else limit - batches)
                except SpoolBusyError as exc:
                    error = str(exc)
                    break
                batches += result.batches
                points += result.points
                if result.ok:
                    break
                if isinstance(result.error, BatchRefused) and result.failed is not None:
                    self.spool.reject(result.failed, str(result.error))
                    rejected += 1
                    continue
                error = str(result.error)
                self._back_off(result.error)
                break
            if error is None:
                self._failures, self._next_try = 0, 0.0
        seconds = time.monotonic() - started
        if batches:
            log.info("flushed %d batches (%d points) to %s in %.2f s", batches, points, self.writer.target, seconds)
        return FlushResult(batches, points, seconds, rejected, error, self.spool.status())

    def _deliver(self, body: bytes, precision: str) -> None:
        assert self.writer is not None
        self.writer.write(body, precision)

    def _back_off(self, error: BaseException | None) -> None:
        self._failures += 1
        wait = min(FLUSH_BACKOFF_MAX_S, self.settings.flush_interval_s * 2 ** (self._failures - 1))
        after = getattr(error, "retry_after_s", None)
        if after is not None:
            wait = max(wait, after)
        self._next_try = time.monotonic() + wait

    def next_try_in(self) -> float:
        """Seconds until a scheduled flush tries again (0 when it may try now)."""
        return max(0.0, self._next_try - time.monotonic())

    def close(self) -> None:
        self.stop_event.set()
        if self.writer is not None:
            self.writer.close()

