"""Crew stops to an Open311 GeoReport v2 endpoint: one service request per new stop.

``POST {crews.open311.url}/requests.json``, form-encoded: ``api_key``, ``service_code``,
``jurisdiction_id`` (when set), ``lat`` and ``long`` (6 decimals), ``address_string`` (site name,
district, "Ciudad de México"), ``description`` (at most 4,000 characters: cause, APs affected, since,
clients, the action, the map link) and ``attribute[CODE]=value`` for each of ``crews.open311.attributes``
({cause}, {zone}, {site}, {aps_affected} and {priority} filled in).

The answer is a JSON list whose first item has ``service_request_id``, or only a ``token`` when the
endpoint creates requests later; errors come as ``[{"code": ..., "description": ...}]`` and the
description is what the message shows. Retries as for the webhook (``delivery/webhook.py``). Filing once
per outage is the caller's job (``delivery/dispatch.py`` keeps the id in the outage ledger).
"""

from __future__ import annotations

import json
import re
import string
import threading
from dataclasses import dataclass
from datetime import UTC, tzinfo
from urllib.parse import urlencode

from hotspotctl.delivery.webhook import DeliveryError, HttpPoster, url_target
from hotspotctl.errors import ConfigError
from hotspotctl.messages import SOURCE_LANGUAGE, catalogue
from hotspotctl.reports.crews import Stop, cause_label, iso, local_time
from hotspotctl.settings import Open311Settings

DESCRIPTION_MAX = 4000
APS_LISTED = 20  # AP ids named in a description; the rest are counted
CITY = "Ciudad de México"
PLACEHOLDERS = ("cause", "zone", "site", "aps_affected", "priority")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    """What the endpoint answered: the request's id, or a token to look it up by later."""

    id: str | None
    token: str | None
    notice: str | None = None

    @property
    def reference(self) -> str:
        return self.id or f"token {self.token}"


def check_attributes(settings: Open311Settings) -> None:
    """ConfigError for an attribute template with a placeholder we do not fill."""
    for code, template in settings.attributes.items():
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        except ValueError as exc:
            raise ConfigError(f"crews.open311.attributes.{code}: {exc} in {template!r}; write literal braces "
                              "as {{ and }}") from None
        bad = [name for name in fields if name not in PLACEHOLDERS]
        if bad:
            raise ConfigError(f"crews.open311.attributes.{code}: {{{bad[0]}}} is not a placeholder; use "
                              f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}")


def attributes(stop: Stop, zone: str, settings: Open311Settings) -> dict[str, str]:
    """attribute[CODE] -> the template with the stop's values (templates checked by ``check_attributes``)."""
    values = {"cause": stop.cause, "zone": zone, "site": stop.site, "aps_affected": stop.aps_affected,
              "priority": stop.priority}
    return {f"attribute[{code}]": _clean(template.format(**values)) for code, template in settings.attributes.items()}


def _clean(text: str) -> str:
    """Device- and file-supplied text without control characters (newlines and tabs stay)."""
    return _CONTROL.sub(" ", text)


def address(stop: Stop) -> str:
    parts = [" ".join(_clean(stop.name).split()), stop.district, CITY]
    return ", ".join(part for part in parts if part)


def description(stop: Stop, zone: str, *, limit: int = DESCRIPTION_MAX, tz: tzinfo = UTC,
                language: str = SOURCE_LANGUAGE) -> str:
    """The request's text: what is wrong, since when (in ``tz``, the city's zone, and UTC), for whom, what to
    do, and where; at most ``limit``; in ``language`` (the zone's)."""
    t = catalogue(language)
    listed = ", ".join(stop.aps[:APS_LISTED])
    if len(stop.aps) > APS_LISTED:
        listed = t("open311.more_aps", listed=listed, more=len(stop.aps) - APS_LISTED)
    also = [cause_label(cause, language) for cause in stop.causes if cause != stop.cause]
    cause = cause_label(stop.cause, language)
    head = [
        t("open311.head", name=" ".join(_clean(stop.name).split()), site=stop.site, zone=zone,
          priority=stop.priority),
        t("open311.cause_also", cause=cause, others=", ".join(also)) if also else t("open311.cause", cause=cause),
        t("open311.aps_listed", n=stop.aps_affected, listed=listed) if listed else t("open311.aps",
                                                                                     n=stop.aps_affected),
        t("open311.since", local=local_time(stop.since, tz), utc=iso(stop.since)),
        t("open311.clients", n=stop.clients),
    ]
    tail = [t("open311.map", url=stop.map_url)]
    # the action gives way first: keep the map
    room = limit - len("\n".join([*head, *tail])) - len("\n" + t("open311.action", action=""))
    action = cut(_clean(stop.action), room) if room > 200 else stop.action
    return cut(_clean("\n".join([*head, t("open311.action", action=action), *tail])), limit)


def cut(text: str, limit: int) -> str:
    """``text`` if it fits, else cut at a line or word boundary with a note saying how much was left off."""
    if len(text) <= limit:
        return text
    reserve = len(f" … ({len(text)} characters cut)")  # the note is never longer than this
    head = text[:limit - reserve]
    boundary = max(head.rfind("\n"), head.rfind(" "))
    if boundary > len(head) // 2:
        head = head[:boundary]
    head = head.rstrip()
    return f"{head} … ({len(text) - len(head)} characters cut)"


def request_form(stop: Stop, zone: str, settings: Open311Settings, tz: tzinfo = UTC,
                 language: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """The request's fields except api_key (which ``Open311Sink`` adds), in GeoReport v2 names."""
    form = {"service_code": settings.service_code}
    if settings.jurisdiction_id:
        form["jurisdiction_id"] = settings.jurisdiction_id
    form.update({"lat": f"{stop.lat:.6f}", "long": f"{stop.lon:.6f}", "address_string": address(stop),
                 "description": description(stop, zone, tz=tz, language=language)})
    form.update(attributes(stop, zone, settings))
    return form


def _errors(body: bytes | None) -> str:
    """GeoReport v2 errors ([{"code", "description"}]) as text, else the body, short."""
    if not body:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return " ".join(body.decode("utf-8", "replace").split())[:300]
    items = parsed if isinstance(parsed, list) else [parsed]
    texts = [str(item.get("description") or item.get("code")) for item in items
             if isinstance(item, dict) and (item.get("description") or item.get("code"))]
    return "; ".join(texts)[:300] if texts else " ".join(json.dumps(parsed).split())[:300]


def parse_answer(body: bytes | None, target: str) -> ServiceRequest:
    """The first item of a GeoReport v2 answer; DeliveryError when it has neither id nor token."""
    try:
        parsed = json.loads(body or b"")
    except ValueError:
        raise DeliveryError(f"{target} answered 2xx but not with JSON: {_errors(body)!r}") from None
    first = parsed[0] if isinstance(parsed, list) and parsed else parsed
    if not isinstance(first, dict):
        raise DeliveryError(f"{target} answered 2xx without a service request: {_errors(body)!r}")
    ident, token = first.get("service_request_id"), first.get("token")
    if ident in (None, "") and token in (None, ""):
        raise DeliveryError(f"{target} answered 2xx without service_request_id or token: {_errors(body)}")
    notice = first.get("service_notice")
    return ServiceRequest(None if ident in (None, "") else str(ident), None if token in (None, "") else str(token),
                          None if notice in (None, "") else str(notice))


class Open311Sink:
    """Files service requests at ``crews.open311.url``."""

    def __init__(self, settings: Open311Settings, *, stop: threading.Event | None = None) -> None:
        check_attributes(settings)
        self.settings = settings
        self.target = f"Open311 {url_target(settings.url)}"
        self.url = settings.url.rstrip("/") + "/requests.json"
        self.poster = HttpPoster(self.target, timeout_s=settings.timeout_s, max_retries=settings.max_retries,
                                 stop=stop)

    def __repr__(self) -> str:
        return f"Open311Sink({self.target!r})"

    def file(self, stop: Stop, zone: str, tz: tzinfo = UTC, language: str = SOURCE_LANGUAGE) -> ServiceRequest:
        """POST one service request for the stop (its text in ``language``); DeliveryError when it was not filed."""
        form = {"api_key": self.settings.api_key, **request_form(stop, zone, self.settings, tz, language)}
        fix = {401: "check HOTSPOTCTL_CREWS_OPEN311_API_KEY", 403: "check HOTSPOTCTL_CREWS_OPEN311_API_KEY",
               404: "check crews.open311.url (requests.json is POSTed under it) and crews.open311.jurisdiction_id"}
        answer = self.poster.post(self.url, urlencode(form).encode("ascii"),
                                  {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                                  explain=_errors, fix=fix)
        return parse_answer(answer.data, self.target)

    def close(self) -> None:
        self.poster.close()

    def __enter__(self) -> Open311Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
