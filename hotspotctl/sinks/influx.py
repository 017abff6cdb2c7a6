"""InfluxDB: the two write APIs, and the sink that puts every batch through the spool first.

The rule: a sample is in InfluxDB or in the spool, across kill -9 too. So a cycle's lines are
*always* appended to the spool first (gzip, fsync, rename: ``sinks/spool.py``), in batches of
``influx.batch_points``, and ``InfluxSink.flush()`` replays the spool oldest first, deleting a
batch only once InfluxDB has answered 204 No Content for it (its write API's one success answer).
The stored gzip body is the request body as is (``Content-Encoding: gzip``): a replay neither
inflates nor re-encodes (unless InfluxDB finds it too large: then it is split, see below). A crash between the write
and the delete sends that batch twice; InfluxDB keeps one point per series and timestamp, so the
second write overwrites the first with the same values: nothing is duplicated.

Two APIs, chosen by ``influx.api``:

- ``v2`` (default): InfluxDB 2.x/3.x and whatever speaks ``/api/v2/write`` (VictoriaMetrics too),
  through influxdb-client's ``WriteService``: org, bucket, token.
- ``v1``: InfluxDB 1.x's ``/write``: database, retention policy, optional user and password (sent as
  HTTP basic auth, never in the URL). A missing database is created when ``influx.create_database``.

What an answer means (InfluxDB 1.x, 2.x and VictoriaMetrics all answer a write 204 No Content;
2.x's codes: https://docs.influxdata.com/influxdb/v2/write-data/troubleshoot/):

=========================  ==================================================================
204                        written; the batch leaves the spool
other 2xx, 3xx             not InfluxDB's write API (a wrong URL, a proxy's or captive portal's
                           page): NOT written; the batch waits, the error names influx.url
429, 5xx, timeout, reset   retried up to ``influx.max_retries`` times, waiting 0.5 s, 1 s, 2 s
                           ... (at most ``influx.retry_max_s``) or what Retry-After says (RFC
                           9110: seconds or an HTTP date; capped at 5 minutes; garbage ignored)
connection refused         InfluxDB is down: no retry now; the batch waits for the next flush
401, 403, 404, other 4xx   a setting is wrong (token, user, bucket): the batch waits, the error
                           says which setting to fix
400, 422                   refused for good (1.x's 400 "partial write" and 2.x's 422 wrote the
                           other points; 2.x's 400 wrote none): the batch moves to the spool's
                           rejected/ folder with InfluxDB's reason, and the flush goes on
413                        too large: the batch is split in halves, and those again, down to
                           single lines; a line refused alone is set aside in rejected/
=========================  ==================================================================

One batch's refusal never stops the queue: every refusal is counted and reported (``FlushResult``,
the log, ``hotspotctl spool flush``, which then exits 4).
"""

from __future__ import annotations

import contextlib
import gzip as gziplib
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import urllib3

from hotspotctl.errors import SinkError
from hotspotctl.settings import InfluxSettings
from hotspotctl.sinks.spool import (
    BatchRefused,
    Refusal,
    Spool,
    SpoolBusyError,
    SpoolStatus,
    gzip_compress,
    is_gzip,
)

log = logging.getLogger("hotspotctl.influx")

USER_AGENT = "hotspotctl"
BACKOFF_FIRST_S = 0.5
FLUSH_BACKOFF_MAX_S = 300.0  # docs/metrics.md: "up to 5 minutes"
RETRY_AFTER_MAX_S = FLUSH_BACKOFF_MAX_S  # a server's Retry-After is honoured up to the same 5 minutes
WRITE_OK = 204  # what InfluxDB 1.x, 2.x and VictoriaMetrics answer a write they took whole
PAYLOAD_TOO_LARGE = 413
_DELAY_SECONDS = re.compile(r"[0-9]+")  # RFC 9110 delay-seconds = 1*DIGIT, ASCII digits only
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


class SinkUnavailable(SinkError):
    """InfluxDB could not take the batch now (down, overloaded, or a setting is wrong); it stays spooled."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class _Retryable(Exception):
    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Writer(Protocol):
    target: str

    def write(self, body: bytes, precision: str) -> None: ...

    def close(self) -> None: ...


def retry_after(value: str | None, *, target: str = "InfluxDB", now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, per RFC 9110, at most RETRY_AFTER_MAX_S; None without one.

    delay-seconds is ASCII digits only (``1*DIGIT``: not ``²``, ``-1`` or ``1.5``), or an HTTP-date (a date
    in the past means now). Anything else is ignored with a logged note, and the usual back-off applies.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        return float(min(int(text[:12]) if len(text) <= 12 else RETRY_AFTER_MAX_S, RETRY_AFTER_MAX_S))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    if when is None:
        log.info("%s sent Retry-After %r, which is neither seconds nor an HTTP date: ignored", target,
                 _UNPRINTABLE.sub("?", text)[:60])
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    wait = when.timestamp() - (time.time() if now is None else now)
    return min(max(0.0, wait), RETRY_AFTER_MAX_S)


def _message(body: bytes | str | None) -> str:
    """InfluxDB's own error text: {"error": "..."} / {"message": "..."} or the body, short and inert."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body)
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        parsed = json.loads(text)
        text = str(parsed.get("error") or parsed.get("message") or text)
    return " ".join(_UNPRINTABLE.sub(" ", text).split())[:300]


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
    """Raise what an HTTP answer means for a write (see the module's table); return on 204 only."""
    if status == WRITE_OK:
        return
    text = _message(body)
    header = (lambda name: headers.get(name)) if headers else (lambda name: None)
    if 200 <= status < 400:
        kind = _UNPRINTABLE.sub(" ", str(header("Content-Type") or "no content type"))[:60]
        where = ""
        if 300 <= status < 400 and header("Location"):
            where = f" to {_UNPRINTABLE.sub(' ', str(header('Location')))[:200]}"
        raise SinkUnavailable(
            f"{target} answered HTTP {status}{where} ({kind}{': ' + text[:120] if text else ''}), not the 204 No "
            "Content InfluxDB's write API answers: the batch was NOT written and stays in the spool. Is influx.url "
            "InfluxDB itself, and not a proxy, a login or captive portal page, or another service?")
    if status == 429 or status >= 500:
        raise _Retryable(f"HTTP {status}: {text}", retry_after(header("Retry-After"), target=target))
    if status in (400, 413, 422):
        if status == PAYLOAD_TOO_LARGE:
            advice = "over InfluxDB's request size limit: sent again in halves; if it recurs, lower influx.batch_points"
        elif "partial write" in text or status == 422:
            advice = "a partial write: InfluxDB wrote the batch's other points"
        else:
            advice = "InfluxDB wrote none of the batch"
        raise BatchRefused(f"{target} refused the batch: HTTP {status}: {text} ({advice})", status=status)
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
        # influxdb-client annotates ``token: str = None, org: str = None`` (an implicit Optional): None is its default
        self.client = InfluxDBClient(url=settings.url, token=settings.token or None,  # type: ignore[arg-type]
                                     org=settings.org or None,  # type: ignore[arg-type]
                                     timeout=int(settings.timeout_s * 1000), retries=False, enable_gzip=False)
        self.service = WriteService(self.client.api_client)
        self.retrying = _Retrying(settings, stop)

    def write(self, body: bytes, precision: str) -> None:
        from influxdb_client.rest import ApiException

        fix = {401: "check HOTSPOTCTL_INFLUX_TOKEN", 403: "the token may not write to this bucket",
               404: f"check influx.org ({self.settings.org!r}) and influx.bucket ({self.settings.bucket!r})"}
        extra = {"content_encoding": "gzip"} if is_gzip(body) else {}

        def attempt() -> None:
            def post() -> Any:
                # _preload_content=False: the raw answer, so a 2xx other than 204 is seen (and a body that is
                # not UTF-8 is not decoded by the client)
                return self.service.post_write(org=self.settings.org or "-", bucket=self.settings.bucket,
                                               body=body, precision=precision,
                                               content_type="text/plain; charset=utf-8", _preload_content=False,
                                               **extra)

            try:
                answer = _transport(post, self.target)
            except ApiException as exc:
                with contextlib.suppress(AttributeError):
                    exc.response.release_conn()  # the raw answer (_preload_content=False), read by the exception
                _classify(exc.status or 0, exc.headers, exc.body, self.target, fix)
                return
            try:
                data = answer.data
            finally:
                answer.release_conn()
            _classify(answer.status, answer.headers, data, self.target, fix)

        self.retrying.run(attempt)

    def close(self) -> None:
        self.client.close()


def _alone_too_large(exc: BatchRefused) -> str:
    """The reason for a single line InfluxDB finds too large: splitting cannot help it."""
    return f"{str(exc).split(' (over ', 1)[0]} (one line over InfluxDB's request size limit: it cannot be written)"


def _point_lines(text: bytes) -> list[bytes]:
    """The lines of a body that are points (not blank, not ``#`` comments), each ending in a newline."""
    return [line + b"\n" for line in text.split(b"\n") if line.strip() and not line.lstrip().startswith(b"#")]


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
    """One flush: what reached InfluxDB, what was refused for good, and what still waits (and why).

    ``batches``/``points``: written (a partly refused batch's written points count). ``rejected``/
    ``rejected_points``: set aside in the spool's rejected/ by this flush, one ``Refusal`` each (seq,
    points, InfluxDB's reason, where it is kept). ``ok`` says whether the queue was worked through (a
    refusal does not stop it); ``error`` why not.
    """

    batches: int
    points: int
    seconds: float
    rejected: int = 0
    error: str | None = None
    waiting: SpoolStatus | None = None
    rejected_points: int = 0
    refusals: tuple[Refusal, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {"batches": self.batches, "points": self.points, "seconds": round(self.seconds, 3),
                "rejected": self.rejected, "rejected_points": self.rejected_points,
                "refusals": [r.to_json() for r in self.refusals], "ok": self.ok, "error": self.error,
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
        batches = points = 0
        refusals: tuple[Refusal, ...] = ()
        error: str | None = None
        with self._lock:
            try:
                result = self.spool.replay(self._deliver, gzip=True, limit=limit)
            except SpoolBusyError as exc:
                error = str(exc)
            except OSError as exc:  # the spool itself (setting a batch aside on a full disk): nothing is lost
                error = f"spool {self.spool.directory}: {exc}"
                self._back_off(exc)
            else:
                batches, points, refusals = result.batches, result.points, result.refusals
                if not result.ok:
                    error = str(result.error)
                    self._back_off(result.error)
            if error is None:
                self._failures, self._next_try = 0, 0.0
        seconds = time.monotonic() - started
        rejected_points = sum(r.points for r in refusals)
        if batches:
            log.info("flushed %d batches (%d points) to %s in %.2f s", batches, points, self.writer.target, seconds)
        if refusals:
            log.error("%s refused %d batches (%d points) for good; they are kept in %s with InfluxDB's reasons "
                      "(`hotspotctl spool flush --requeue` sends them again once the cause is fixed)",
                      self.writer.target, len(refusals), rejected_points, self.spool.directory / "rejected")
        return FlushResult(batches, points, seconds, len(refusals), error, self.spool.status(), rejected_points,
                           refusals)

    def _deliver(self, body: bytes, precision: str) -> None:
        """Write one spooled batch; one InfluxDB finds too large (413) goes in halves, down to single lines.

        Raises BatchRefused with only the refused lines (and how many points were written) when part of
        it was written; anything else (InfluxDB away) leaves the whole batch for the next flush, which
        writes again what was written (the same points: InfluxDB keeps one per series and time).
        """
        assert self.writer is not None
        try:
            self.writer.write(body, precision)
            return
        except BatchRefused as exc:
            if exc.status != PAYLOAD_TOO_LARGE:
                raise
            too_large = exc
        gz = is_gzip(body)
        lines = _point_lines(gziplib.decompress(body) if gz else body)
        if len(lines) <= 1:
            raise BatchRefused(_alone_too_large(too_large), status=PAYLOAD_TOO_LARGE)
        refused: list[tuple[list[bytes], str]] = []
        written = self._write_halves(lines, precision, gz, refused)
        if refused:
            reasons = Counter(reason for _, reason in refused)
            summary = "; ".join(f"{reason}{f' (x{n})' if n > 1 else ''}" for reason, n in reasons.items())
            raise BatchRefused(f"{self.writer.target} took {written} of the batch's {len(lines)} points once it "
                               f"was split in smaller requests (it answered HTTP 413 to the whole); refused: "
                               f"{summary}", lines=b"".join(line for part, _ in refused for line in part),
                               delivered=written, status=PAYLOAD_TOO_LARGE)
        log.info("%s: a batch of %d points was too large (HTTP 413); written in smaller requests", self.writer.target,
                 len(lines))

    def _write_halves(self, lines: list[bytes], precision: str, gz: bool,
                      refused: list[tuple[list[bytes], str]]) -> int:
        """Write ``lines`` as two requests, splitting again what is still too large; the points written."""
        assert self.writer is not None
        written = 0
        middle = len(lines) // 2
        for half in (lines[:middle], lines[middle:]):
            body = b"".join(half)
            try:
                self.writer.write(gzip_compress(body) if gz else body, precision)
            except BatchRefused as exc:
                if exc.status == PAYLOAD_TOO_LARGE and len(half) > 1:
                    written += self._write_halves(half, precision, gz, refused)
                else:
                    refused.append((half, _alone_too_large(exc) if exc.status == PAYLOAD_TOO_LARGE else str(exc)))
                continue
            written += len(half)
        return written

    def _back_off(self, error: BaseException | None) -> None:
        self._failures += 1
        wait = min(FLUSH_BACKOFF_MAX_S, self.settings.flush_interval_s * 2 ** (self._failures - 1))
        after = getattr(error, "retry_after_s", None)
        if after is not None:
            wait = max(wait, min(after, RETRY_AFTER_MAX_S))
        self._next_try = time.monotonic() + wait

    def next_try_in(self) -> float:
        """Seconds until a scheduled flush tries again (0 when it may try now)."""
        return max(0.0, self._next_try - time.monotonic())

    def close(self) -> None:
        self.stop_event.set()
        if self.writer is not None:
            self.writer.close()

