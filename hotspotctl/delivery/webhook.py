"""Crew lists to a webhook: one JSON POST per zone; and the HTTP retry loop Open311 shares.

The body is ``ZoneList.to_json()`` plus ``"kind": "hotspotctl.crew_list"``; with ``crews.webhook.token`` set,
the request carries ``Authorization: Bearer <token>``. What an answer means (as for InfluxDB):

=========================  ==================================================================
2xx                        delivered
429, 5xx, timeout, reset   retried up to ``max_retries`` times, waiting 0.5 s, 1 s, 2 s ...
                           (at most 30 s) or what Retry-After says
connection refused         the server is down: no retry now; the next send tries again
other 4xx                  refused (bad token, bad URL, bad data): not retried
=========================  ==================================================================

The token never appears in a message, a log line or a repr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import urllib3

from hotspotctl.errors import SinkError
from hotspotctl.reports.crews import ZoneList
from hotspotctl.settings import WebhookSettings, mask_url
from hotspotctl.sinks.influx import retry_after

log = logging.getLogger("hotspotctl.crews")

USER_AGENT = "hotspotctl"
KIND = "hotspotctl.crew_list"
BACKOFF_FIRST_S = 0.5
RETRY_MAX_S = 30.0


class DeliveryError(SinkError):
    """A channel refused, or could not be reached: the message says which and what to check.

    ``unavailable``: the server is down or kept failing (trying the next item now is no use); False when
    it refused this one item (a 4xx), so the next may go.
    """

    def __init__(self, message: str, *, unavailable: bool = True) -> None:
        super().__init__(message)
        self.unavailable = unavailable


class _Retryable(Exception):
    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def url_target(url: str) -> str:
    """Scheme, host and port of a URL, for messages (no path, query or credentials)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return mask_url(url)
    return f"{parts.scheme}://{host}{port}"


def body_text(body: bytes | None, limit: int = 300) -> str:
    """An answer's body on one line, short: the server's own words for a refusal."""
    if not body:
        return ""
    text = body.decode("utf-8", "replace")
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            text = str(parsed.get("error") or parsed.get("message") or parsed.get("description") or text)
    return " ".join(text.split())[:limit]


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "reason", None) or exc)
    return text.split(": ", 1)[-1] if "Connection" in text and ": " in text else text


class HttpPoster:
    """POSTs with the retry loop above; ``stop`` (set on shutdown) cuts a back-off short."""

    def __init__(self, target: str, *, timeout_s: float, max_retries: int,
                 stop: threading.Event | None = None) -> None:
        self.target = target
        self.max_retries = max_retries
        self.stop = stop or threading.Event()
        self.http = urllib3.PoolManager(num_pools=2, maxsize=2, retries=False,
                                        timeout=urllib3.Timeout(connect=min(5.0, timeout_s), read=timeout_s))

    def __repr__(self) -> str:
        return f"HttpPoster({self.target!r})"

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *,
             explain: Callable[[bytes | None], str] = body_text, fix: Mapping[int, str] | None = None) -> Any:
        """The 2xx answer (``.status``, ``.data``); DeliveryError once retries are spent or for a refusal."""
        headers = {"User-Agent": USER_AGENT, **headers}
        for n in range(self.max_retries + 1):
            try:
                answer = self._once(url, body, headers)
                if 200 <= answer.status < 300:
                    return answer
                text = explain(answer.data)
                if answer.status == 429 or answer.status >= 500:
                    raise _Retryable(f"HTTP {answer.status}: {text}", retry_after(answer.headers.get("Retry-After")))
                hint = (fix or {}).get(answer.status)
                raise DeliveryError(f"{self.target} refused: HTTP {answer.status}: {text}"
                                    + (f". {hint}" if hint else ""), unavailable=answer.status in (401, 403, 404))
            except _Retryable as exc:
                wait = exc.retry_after_s if exc.retry_after_s is not None else BACKOFF_FIRST_S * 2**n
                if n == self.max_retries or wait > RETRY_MAX_S or self.stop.is_set():
                    raise DeliveryError(f"{self.target}: {exc} (after {n + 1} tries)") from None
                log.info("%s: %s; retrying in %.1f s", self.target, exc, wait)
                if self.stop.wait(wait):
                    raise DeliveryError(f"{self.target}: {exc} (stopping: not retried)") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, url: str, body: bytes, headers: Mapping[str, str]) -> Any:
        try:
            return self.http.request("POST", url, body=body, headers=dict(headers))
        except urllib3.exceptions.NewConnectionError as exc:
            raise DeliveryError(f"{self.target} is not reachable: {_reason(exc)}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _Retryable(f"transport error: {_reason(exc)}") from None

    def close(self) -> None:
        self.http.clear()


def payload(zone_list: ZoneList) -> dict[str, Any]:
    """What the webhook receives for one zone: its texts (actions) in the zone's ``language``, named."""
    return {"kind": KIND, "language": zone_list.language, **zone_list.to_json()}


class WebhookSink:
    """POSTs each zone's list to ``crews.webhook.url``."""

    def __init__(self, settings: WebhookSettings, *, stop: threading.Event | None = None) -> None:
        self.settings = settings
        self.target = f"webhook {url_target(settings.url)}"
        self.poster = HttpPoster(self.target, timeout_s=settings.timeout_s, max_retries=settings.max_retries,
                                 stop=stop)

    def __repr__(self) -> str:
        return f"WebhookSink({self.target!r})"

    def send(self, zone_list: ZoneList) -> int:
        """POST the zone's list; the HTTP status it was answered with. DeliveryError when it did not go."""
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        body = json.dumps(payload(zone_list), ensure_ascii=False).encode("utf-8")
        fix = {401: "check HOTSPOTCTL_CREWS_WEBHOOK_TOKEN", 403: "check HOTSPOTCTL_CREWS_WEBHOOK_TOKEN",
               404: "check crews.webhook.url"}
        answer = self.poster.post(self.settings.url, body, headers, fix=fix)
        return int(answer.status)

    def close(self) -> None:
        self.poster.close()

    def __enter__(self) -> WebhookSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
