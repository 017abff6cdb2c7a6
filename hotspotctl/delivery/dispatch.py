"""Sending crew lists where the crews are: email, webhook, Open311; and remembering what went out.

``dispatch`` is synchronous (the scheduler runs it in a worker thread). For each channel and zone it
sends, then records the delivery on the stops' outages in the ledger (``record_delivery``), so
``outages show`` can say what went where.

- email: one message per zone with stops and recipients; a zone without recipients is skipped.
- webhook: one POST per zone with stops.
- open311: one service request per *new* stop. Before filing, one write transaction (the store's
  write lock) checks that none of the stop's outages has a request or a live claim, and claims them
  (``{"claim": {"by": "pid@host", "at": ...}}``): a `crews send` racing `hotspotctl run` (or another
  send) finds the claim and leaves the stop to it. The id (or token) replaces the claim right after
  the endpoint answered, one stop at a time, so a failure half-way keeps what was filed and the next
  send files only the rest; a refused filing gives its claim back. A claim older than
  ``CLAIM_LEASE_S`` is a filer that died mid-request: the stop is filed again, with a warning (the
  one case that can file twice: a crash between the endpoint's answer and its recording).

A channel that is not configured is a ConfigError naming the settings to set, raised before anything
is sent. A dry run sends nothing, so it needs no server: it shows what would go out, to whom, and lists
the settings a real send still needs (``DispatchReport.needs``); a setting that is wrong (not missing)
stops a dry run too. A channel that fails is a value in the report (``DispatchReport.ok`` is False).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hotspotctl.delivery import email
from hotspotctl.delivery.open311 import Open311Sink, check_attributes
from hotspotctl.delivery.webhook import DeliveryError, WebhookSink, url_target
from hotspotctl.errors import ConfigError, HotspotError, StoreError
from hotspotctl.evaluate.outages import NOC_ZONE
from hotspotctl.reports.crews import Stop, ZoneList, iso
from hotspotctl.settings import CREW_CHANNELS, CrewSettings, Settings, env_name
from hotspotctl.store import Store
from hotspotctl.store.outages import forget_delivery, get_outage, record_delivery

log = logging.getLogger("hotspotctl.crews")



class DeliveryStatus(StrEnum):
    """What one channel did with one zone's list (the values are what JSON output and the ledger carry)."""

    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    PLANNED = "planned"  # a dry run


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one channel did with one zone's list."""

    channel: str
    zone: str
    status: DeliveryStatus
    target: str  # recipients, or the URL's host
    stops: int  # stops on the list
    sent: int = 0  # stops that went out (open311: requests filed; a dry run: would go out)
    skipped: int = 0  # open311: stops filed before, or whose outages closed
    failed: int = 0  # stops that did not go out because of an error
    detail: str | None = None  # the error, or why it was skipped
    references: tuple[dict[str, Any], ...] = ()  # email: message id; webhook: status; open311: per stop

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "zone": self.zone, "status": self.status, "target": self.target,
                "stops": self.stops, "sent": self.sent, "skipped": self.skipped, "failed": self.failed,
                "detail": self.detail, "references": [dict(ref) for ref in self.references]}


@dataclass(frozen=True, slots=True)
class DispatchReport:
    at: float
    dry_run: bool
    channels: tuple[str, ...]
    deliveries: tuple[Delivery, ...] = field(default_factory=tuple)
    needs: tuple[str, ...] = ()  # a dry run: the settings a real send still needs, and how to set them

    @property
    def ok(self) -> bool:
        return not any(d.status == DeliveryStatus.FAILED for d in self.deliveries)

    @property
    def failures(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == DeliveryStatus.FAILED]

    def to_json(self) -> dict[str, Any]:
        return {"at": iso(self.at), "dry_run": self.dry_run, "ok": self.ok, "channels": list(self.channels),
                "deliveries": [d.to_json() for d in self.deliveries], "needs": list(self.needs)}


def _setting_names(path: str) -> str:
    return f"{path} ({env_name(path)})"


def channel_problems(crews: CrewSettings, via: Iterable[str]) -> tuple[list[str], list[str]]:
    """(settings the channels in ``via`` still need, settings or names that are wrong), as messages."""
    missing: list[str] = []
    wrong: list[str] = []
    for channel in via:
        if channel not in CREW_CHANNELS:
            wrong.append(f"{channel!r} is not a channel; use {', '.join(CREW_CHANNELS)}")
        elif channel == "email" and not crews.email.host:
            missing.append(f"email needs an SMTP server: set {_setting_names('crews.email.host')}, and "
                           f"crews.email.zones or {_setting_names('crews.email.to')} for the recipients")
        elif channel == "webhook" and not crews.webhook.url:
            missing.append(f"webhook needs a URL: set {_setting_names('crews.webhook.url')}")
        elif channel == "open311":
            names = [_setting_names(f"crews.open311.{name}") for name in ("url", "api_key", "service_code")
                     if not getattr(crews.open311, name)]
            if names:
                missing.append(f"open311 needs {', '.join(names)}")
            try:
                check_attributes(crews.open311)
            except ConfigError as exc:
                wrong.append(str(exc))
    return missing, wrong


def check_channels(crews: CrewSettings, via: Iterable[str], *, dry_run: bool = False) -> list[str]:
    """ConfigError naming every setting the channels in ``via`` still need, or that is wrong.

    For a dry run only a wrong setting is an error; the missing ones are returned, to be shown.
    """
    missing, wrong = channel_problems(crews, via)
    problems = wrong if dry_run else missing + wrong
    if problems:
        raise ConfigError("crew lists cannot be sent: " + "; ".join(problems))
    return missing


def _stops(n: int) -> str:
    return f"{n} stop" if n == 1 else f"{n} stops"


def _ids(stops: Iterable[Stop]) -> list[int]:
    return sorted({outage_id for stop in stops for outage_id in stop.outages})


def dispatch(store: Store, lists: Sequence[ZoneList], settings: Settings, via: Sequence[str], now: float, *,
             dry_run: bool = False, stop: threading.Event | None = None) -> DispatchReport:
    """Send ``lists`` through each channel of ``via``; record what went out (nothing when ``dry_run``).

    ``stop`` (set on shutdown) cuts a retry back-off short.
    """
    via = tuple(dict.fromkeys(via))
    crews = settings.crews
    needs = check_channels(crews, via, dry_run=dry_run)
    senders: dict[str, Callable[[], list[Delivery]]] = {
        "email": lambda: _email(store, lists, crews, now, dry_run),
        "webhook": lambda: _webhook(store, lists, crews, now, dry_run, stop),
        "open311": lambda: _open311(store, lists, crews, now, dry_run, stop),
    }
    deliveries: list[Delivery] = []
    for channel in via:
        deliveries += senders[channel]()
    for d in deliveries:
        if d.status == DeliveryStatus.FAILED:
            log.warning("crews send: %s %s: %s", d.channel, d.zone, d.detail)
    return DispatchReport(now, dry_run, via, tuple(deliveries), tuple(needs))


def _record(store: Store, ids: Sequence[int], channel: str, reference: dict[str, Any]) -> str | None:
    """Record a delivery; the store's error text when it could not be written."""
    if not ids:
        return None
    try:
        with store.write() as conn:
            record_delivery(conn, ids, channel, reference)
    except StoreError as exc:
        return str(exc)
    return None


def _record_or_forget(store: Store, stop: Stop, claim: dict[str, Any]) -> None:
    """Give a claim back after a refused filing, so the next send tries the stop again."""
    try:
        with store.write() as conn:
            forget_delivery(conn, stop.outages, "open311", claim)
    except StoreError as exc:
        log.warning("crews send: open311 %s: its claim could not be given back (%s); the next send files it "
                    "after %.0f minutes", stop.site, exc, CLAIM_LEASE_S / 60)


def _email(store: Store, lists: Sequence[ZoneList], crews: CrewSettings, now: float,
           dry_run: bool) -> list[Delivery]:
    out: list[Delivery] = []
    connect_error: str | None = None
    with email.EmailSink(crews.email) as sink:
        for zl in lists:
            to = email.recipients(crews.email, zl.zone)
            target = ", ".join(to)
            n = len(zl.stops)
            if not zl.stops:
                out.append(Delivery("email", zl.zone, DeliveryStatus.SKIPPED, target, 0,
                                    detail="no stops in this zone"))
                continue
            if not to:
                out.append(Delivery("email", zl.zone, DeliveryStatus.SKIPPED, "", n, skipped=n, detail=(
                    f"no recipients: set crews.email.zones[{zl.zone!r}] or {_setting_names('crews.email.to')}")))
                continue
            if dry_run:
                out.append(Delivery("email", zl.zone, DeliveryStatus.PLANNED, target, n, sent=n,
                                    detail=email.subject(zl), references=({"attachment": email.attachment_name(zl)},)))
                continue
            if connect_error is not None:  # the server is away or refused the login: no use trying each zone
                out.append(Delivery("email", zl.zone, DeliveryStatus.FAILED, target, n, failed=n, detail=connect_error))
                continue
            try:
                message = email.build_message(zl, crews.email, to)
            except HotspotError as exc:
                out.append(Delivery("email", zl.zone, DeliveryStatus.FAILED, target, n, failed=n, detail=str(exc)))
                continue
            try:
                sink.connect()
            except HotspotError as exc:
                connect_error = str(exc)
                out.append(Delivery("email", zl.zone, DeliveryStatus.FAILED, target, n, failed=n, detail=connect_error))
                continue
            try:
                sink.send(message)
            except HotspotError as exc:
                out.append(Delivery("email", zl.zone, DeliveryStatus.FAILED, target, n, failed=n, detail=str(exc)))
                continue
            reference = {"at": now, "zone": zl.zone, "message_id": message["Message-ID"], "to": list(to)}
            problem = _record(store, _ids(zl.stops), "email", reference)
            out.append(Delivery("email", zl.zone, DeliveryStatus.SENT, target, n, sent=n,
                                detail=f"sent; not recorded in the ledger: {problem}" if problem else None,
                                references=({"message_id": message["Message-ID"]},)))
    return out


def _webhook(store: Store, lists: Sequence[ZoneList], crews: CrewSettings, now: float, dry_run: bool,
             stop: threading.Event | None) -> list[Delivery]:
    out: list[Delivery] = []
    with WebhookSink(crews.webhook, stop=stop) as sink:
        target = url_target(crews.webhook.url) if crews.webhook.url else "(crews.webhook.url not set)"
        for zl in lists:
            n = len(zl.stops)
            if not zl.stops:
                out.append(Delivery("webhook", zl.zone, DeliveryStatus.SKIPPED, target, 0,
                                    detail="no stops in this zone"))
            elif dry_run:
                out.append(Delivery("webhook", zl.zone, DeliveryStatus.PLANNED, target, n, sent=n))
            else:
                try:
                    status = sink.send(zl)
                except HotspotError as exc:
                    out.append(Delivery("webhook", zl.zone, DeliveryStatus.FAILED, target, n, failed=n,
                                        detail=str(exc)))
                    continue
                problem = _record(store, _ids(zl.stops), "webhook", {"at": now, "zone": zl.zone, "status": status})
                out.append(Delivery("webhook", zl.zone, DeliveryStatus.SENT, target, n, sent=n,
                                    detail=f"sent; not recorded in the ledger: {problem}" if problem else None,
                                    references=({"status": status},)))
    return out


CLAIM_LEASE_S = 900.0  # far longer than a filing can take (timeout_s x max_retries, with back-off)


def _claimant() -> str:
    return f"pid {os.getpid()}@{socket.gethostname()}"


def _claim(store: Store, stop: Stop, claim: dict[str, Any]) -> tuple[str, str | None]:
    """Claim the stop's outages for filing, atomically: ("ours", a warning or None), ("filed", its
    request), ("busy", who is filing it) or ("closed", None)."""
    with store.write() as conn:
        outages = [o for o in (get_outage(conn, outage_id) for outage_id in stop.outages) if o is not None]
        stale = None
        for outage in outages:
            ref = outage.delivery.get("open311")
            if not isinstance(ref, dict):
                continue
            if ref.get("id") or ref.get("token"):
                return "filed", str(ref.get("id") or f"token {ref.get('token')}")
            held = ref.get("claim")
            if isinstance(held, dict):
                if claim["at"] - float(held.get("at") or 0) < CLAIM_LEASE_S:
                    return "busy", str(held.get("by"))
                stale = held
        if not any(o.open for o in outages):
            return "closed", None
        record_delivery(conn, [o.id for o in outages if o.id is not None], "open311", {"claim": claim})
    if stale is None:
        return "ours", None
    return "ours", (f"an earlier filing by {stale.get('by')} at {iso(float(stale.get('at') or 0))} was interrupted "
                    "before its answer was recorded; filed again: check the Open311 server for a duplicate")


def _filed(store: Store, stop: Stop) -> tuple[str | None, bool]:
    """(the request an outage of the stop already has, whether any of its outages is still open), from the store."""
    with store.read() as conn:
        outages = [o for o in (get_outage(conn, outage_id) for outage_id in stop.outages) if o is not None]
    for outage in outages:
        ref = outage.delivery.get("open311")
        if isinstance(ref, dict) and (ref.get("id") or ref.get("token")):
            return str(ref.get("id") or f"token {ref.get('token')}"), True
    return None, any(o.open for o in outages)


def _open311(store: Store, lists: Sequence[ZoneList], crews: CrewSettings, now: float, dry_run: bool,
             stop_event: threading.Event | None) -> list[Delivery]:
    out: list[Delivery] = []
    down: str | None = None  # the endpoint is away: the remaining stops wait for the next send
    with Open311Sink(crews.open311, stop=stop_event) as sink:
        target = url_target(crews.open311.url) if crews.open311.url else "(crews.open311.url not set)"
        for zl in lists:
            if zl.zone == NOC_ZONE:  # the NOC's own stops (controllers): never a field service request
                out.append(Delivery("open311", zl.zone, DeliveryStatus.SKIPPED, target, len(zl.stops),
                                    skipped=len(zl.stops), detail="the NOC's own list is not filed as a field "
                                    "service request"))
                continue
            filed = before = closed = failed = untried = busy = 0
            refs: list[dict[str, Any]] = []
            errors: list[str] = []
            for stop in zl.stops:
                if stop.open311 is not None:
                    before += 1
                    continue
                if dry_run:
                    known, is_open = _filed(store, stop)
                    if known is not None:
                        before += 1
                    elif not is_open:
                        closed += 1
                    else:
                        filed += 1
                        refs.append({"site": stop.site, "name": stop.name, "outages": list(stop.outages)})
                    continue
                if down is not None:
                    failed += 1
                    untried += 1
                    continue
                claim = {"by": _claimant(), "at": time.time()}
                try:
                    state, said = _claim(store, stop, claim)
                except StoreError as exc:
                    failed += 1
                    errors.append(f"{stop.site}: not filed: the ledger could not be claimed: {exc}")
                    continue
                if state == "filed":
                    before += 1
                    continue
                if state == "closed":
                    closed += 1
                    continue
                if state == "busy":
                    busy += 1
                    continue
                if said:
                    log.warning("crews send: open311 %s: %s", stop.site, said)
                try:
                    answer = sink.file(stop, zl.zone, zl.tz, zl.language)
                except DeliveryError as exc:
                    _record_or_forget(store, stop, {"claim": claim})
                    failed += 1
                    errors.append(f"{stop.site}: {exc}")
                    if exc.unavailable:
                        down = str(exc)
                    continue
                reference = {"id": answer.id, "token": answer.token, "at": now}
                problem = _record(store, list(stop.outages), "open311", reference)
                if problem:
                    failed += 1
                    errors.append(f"{stop.site}: filed as {answer.reference} but not recorded in the ledger "
                                  f"(its claim stays: a later send files it again only after "
                                  f"{CLAIM_LEASE_S / 60:.0f} minutes): {problem}")
                    continue
                filed += 1
                refs.append({"site": stop.site, "name": stop.name, "id": answer.id, "token": answer.token,
                             "outages": list(stop.outages)})
            n = len(zl.stops)
            notes = [f"{before} filed before"] if before else []  # "nothing new to file: 2 filed before"
            if closed:
                notes.append(f"{closed} recovered since the list was made")
            if busy:
                notes.append(f"{busy} being filed by another hotspotctl right now")
            detail: str | None
            if failed:
                status = DeliveryStatus.FAILED
                detail = "; ".join(errors) if errors else (down or "")
                if untried:
                    detail = f"{detail} ({_stops(untried)} not tried: the next send files them)"
            elif filed:
                status, detail = (DeliveryStatus.PLANNED if dry_run else DeliveryStatus.SENT), ", ".join(notes) or None
            else:
                status = DeliveryStatus.SKIPPED
                detail = "no stops in this zone" if not n else f"nothing new to file: {', '.join(notes)}"
            out.append(Delivery("open311", zl.zone, status, target, n, sent=filed, skipped=before + closed + busy,
                                failed=failed, detail=detail, references=tuple(refs)))
    return out
