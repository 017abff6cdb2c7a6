"""Notices to the NOC, apart from crew lists: what is firing, and sending it by email and an Alertmanager webhook.

Three steps, the first two pure (``now`` passed in):

1. ``evaluate_notices``: the open outages, the APs misconfigured and the poller's own health in, the notices
   firing now out. Each notice has labels that do not change while it fires (alertname, severity, and what
   it is about: site, zone, cause, outage_id ...) and a ``fingerprint``, a hash of those labels as
   Alertmanager's is, so its repeats and its resolve match the firing one.
2. ``plan``: for one channel, the notices firing now against what that channel was sent before (the store's
   ``noc_notices``): new ones fire, those whose last send is ``noc.repeat_interval_s`` old repeat (unless their
   outage was acknowledged), those sent before and firing no more resolve (``endsAt`` set).
3. ``send_notices``: email (one message per notice, through crews.email's SMTP server, to ``noc.email_to``) and
   webhook (one POST of every due notice as an Alertmanager API v2 ``/api/v2/alerts`` body). A row is written
   only after the channel took the message: a notice whose send failed stays due and goes with the next cycle.

What fires (docs/noc.md): every outage that is or was ``site_offline`` (the others, one AP each, are crew work on
the crew lists), every controller unreachable, the misconfigured APs (one notice per reason kind, e.g. ``auth``
or ``agent_silent``: a credential wrong fleet-wide is one notice, not thousands), and the poller's health:
cycles overrunning, the spool growing, InfluxDB away, cycles failing.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum
from itertools import pairwise
from typing import Any

from hotspotctl.delivery.email import EmailSink, one_line
from hotspotctl.delivery.webhook import DeliveryError, HttpPoster, url_target
from hotspotctl.errors import ConfigError, HotspotError, StoreError
from hotspotctl.evaluate.outages import CONTROLLER_PREFIX, CONTROLLER_UNREACHABLE, SITE_OFFLINE, Outage
from hotspotctl.evaluate.status import MISCONFIGURED, ApHealth
from hotspotctl.settings import Settings
from hotspotctl.store import Store
from hotspotctl.store.noc import SentNotice, load_sent, prune_resolved, record_firing, record_resolved, site_names
from hotspotctl.store.outages import load_open_outages

log = logging.getLogger("hotspotctl.noc")

SOURCE = "hotspotctl"
AP_LIST_MAX = 20  # AP ids a misconfigured notice names; the rest are counted
KEEP_RESOLVED_S = 30 * 86_400.0  # resolved notices stay in noc_notices this long (`noc status` shows firing ones)


class NoticeKind(StrEnum):
    SITE_OUTAGE = "site_outage"
    CONTROLLER_UNREACHABLE = "controller_unreachable"
    MISCONFIGURED = "misconfigured"
    CYCLES_OVERRUNNING = "cycles_overrunning"
    SPOOL_GROWING = "spool_growing"
    INFLUX_AWAY = "influx_away"
    CYCLES_FAILING = "cycles_failing"
    TEST = "test"  # `hotspotctl noc test`: never recorded


ALERTNAMES = {
    NoticeKind.SITE_OUTAGE: "HotspotSiteOutage",
    NoticeKind.CONTROLLER_UNREACHABLE: "HotspotControllerUnreachable",
    NoticeKind.MISCONFIGURED: "HotspotApsMisconfigured",
    NoticeKind.CYCLES_OVERRUNNING: "HotspotPollerCyclesOverrunning",
    NoticeKind.SPOOL_GROWING: "HotspotPollerSpoolGrowing",
    NoticeKind.INFLUX_AWAY: "HotspotPollerInfluxAway",
    NoticeKind.CYCLES_FAILING: "HotspotPollerCyclesFailing",
    NoticeKind.TEST: "HotspotNocTest",
}
SEVERITY = {
    NoticeKind.SITE_OUTAGE: "critical",
    NoticeKind.CONTROLLER_UNREACHABLE: "critical",
    NoticeKind.MISCONFIGURED: "warning",
    NoticeKind.CYCLES_OVERRUNNING: "warning",
    NoticeKind.SPOOL_GROWING: "warning",
    NoticeKind.INFLUX_AWAY: "warning",
    NoticeKind.CYCLES_FAILING: "critical",
    NoticeKind.TEST: "info",
}


class Action(StrEnum):
    """What a message about a notice says."""

    FIRING = "firing"  # the first
    REPEAT = "repeat"  # still firing, repeat_interval_s after the last
    RESOLVED = "resolved"  # firing no more
    TEST = "test"  # `hotspotctl noc test`


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable id of a label set (16 hex digits), the same whatever the labels' order, like Alertmanager's."""
    text = "\xff".join(f"{name}\xfe{labels[name]}" for name in sorted(labels))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing the NOC should know, firing (``ends_at`` None) or resolved."""

    kind: NoticeKind
    labels: Mapping[str, str]  # stable while it fires: they make the fingerprint
    summary: str
    description: str
    starts_at: float
    ends_at: float | None = None
    acked: bool = False  # its outage was acknowledged: no repeats

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def annotations(self) -> dict[str, str]:
        return {"summary": self.summary, "description": self.description}

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "kind": self.kind, "labels": dict(self.labels),
                "annotations": self.annotations, "starts_at": self.starts_at, "ends_at": self.ends_at,
                "acked": self.acked}


@dataclass(frozen=True, slots=True)
class PollerHealth:
    """The poller's own health after a cycle, as the service tracks it."""

    interval_s: float
    overruns: int = 0  # cycles in a row that overran their interval (or made runs be skipped)
    overrun_since: float | None = None
    last_duration_s: float = 0.0
    spool_batches: tuple[int, ...] = ()  # batches waiting after each recent cycle, oldest first
    spool_points: int = 0
    influx_failing_since: float | None = None  # the first failed flush since the last good one
    influx_error: str | None = None
    failed_in_a_row: int = 0
    failing_since: float | None = None
    last_failure: str | None = None


@dataclass(frozen=True, slots=True)
class NocView:
    """What the notices are evaluated from."""

    outages: Sequence[Outage]  # the open ones
    site_names: Mapping[str, str] = field(default_factory=dict)  # site id -> name
    misconfigured: Mapping[str, ApHealth] = field(default_factory=dict)  # AP id -> its MISCONFIGURED health
    poller: PollerHealth | None = None  # None: no poller notices evaluated (and none resolved)


def _local(at: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:%M %Z")


def iso_ms(at: float) -> str:
    """RFC 3339 in UTC with milliseconds, as Alertmanager's API takes: 2026-11-22T08:00:00.000Z."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _outage_notice(outage: Outage, names: Mapping[str, str], tz: tzinfo) -> Notice | None:
    acked = outage.acked_at is not None  # acknowledged (`outages ack`): no repeats
    if outage.cause == CONTROLLER_UNREACHABLE or outage.site.startswith(CONTROLLER_PREFIX):
        controller = outage.site.removeprefix(CONTROLLER_PREFIX)
        labels = {"alertname": ALERTNAMES[NoticeKind.CONTROLLER_UNREACHABLE],
                  "severity": SEVERITY[NoticeKind.CONTROLLER_UNREACHABLE], "controller": controller,
                  "zone": outage.zone, "cause": str(CONTROLLER_UNREACHABLE), "outage_id": str(outage.id),
                  "source": SOURCE}
        return Notice(NoticeKind.CONTROLLER_UNREACHABLE, labels,
                      f"Controller {controller} unreachable",
                      f"Wireless controller {controller} has not answered since {_local(outage.opened_at, tz)}: "
                      f"its {_plural(outage.peak_aps, 'AP')} cannot be read meanwhile (outage #{outage.id}).",
                      outage.opened_at, acked=acked)
    if SITE_OFFLINE not in outage.causes and outage.cause != SITE_OFFLINE:
        return None  # one AP's trouble: crew work, on the crew lists
    name = names.get(outage.site) or outage.site
    labels = {"alertname": ALERTNAMES[NoticeKind.SITE_OUTAGE], "severity": SEVERITY[NoticeKind.SITE_OUTAGE],
              "site": outage.site, "zone": outage.zone, "cause": str(SITE_OFFLINE), "outage_id": str(outage.id),
              "source": SOURCE}
    now_aps = len(outage.aps_now)
    return Notice(NoticeKind.SITE_OUTAGE, labels, f"Site offline: {name} ({outage.zone})",
                  f"Site {name} ({outage.site}, zone {outage.zone}) is offline since {_local(outage.opened_at, tz)}: "
                  f"{_plural(now_aps, 'AP')} affected now (at most {outage.peak_aps}), "
                  f"{_plural(outage.clients_now, 'client')} without service (at most {outage.peak_clients}); "
                  f"cause now {outage.cause}; outage #{outage.id}.", outage.opened_at, acked=acked)


def _misconfigured_notices(aps: Mapping[str, ApHealth]) -> list[Notice]:
    by_kind: dict[str, list[tuple[str, ApHealth]]] = {}
    for ap_id, health in aps.items():
        if health.state == MISCONFIGURED:
            by_kind.setdefault(str(health.reason_kind or "unknown"), []).append((ap_id, health))
    out = []
    for kind, members in sorted(by_kind.items()):
        members.sort(key=lambda item: item[0])
        ids = [ap_id for ap_id, _ in members]
        shown = ", ".join(ids[:AP_LIST_MAX]) + (f" and {len(ids) - AP_LIST_MAX:,} more" if len(ids) > AP_LIST_MAX
                                                else "")
        reason = next((h.reason for _, h in members if h.reason), None)
        labels = {"alertname": ALERTNAMES[NoticeKind.MISCONFIGURED], "severity": SEVERITY[NoticeKind.MISCONFIGURED],
                  "reason_kind": kind, "source": SOURCE}
        out.append(Notice(NoticeKind.MISCONFIGURED, labels,
                          f"{_plural(len(ids), 'AP')} misconfigured ({kind})",
                          f"{_plural(len(ids), 'AP')} answer but cannot be read ({kind}): {shown}."
                          + (f" First reason: {reason}" if reason else "") + " Not crew work: check the APs' "
                          "agents and credentials.", min(h.since for _, h in members)))
    return out


def _grew(counts: Sequence[int], cycles: int) -> bool:
    """The spool grew at each of the last ``cycles`` cycles."""
    if len(counts) < cycles + 1:
        return False
    last = counts[-(cycles + 1):]
    return all(b > a for a, b in pairwise(last))


def _poller_notices(p: PollerHealth, settings: Settings, now: float) -> list[Notice]:
    noc = settings.noc
    out = []

    def notice(kind: NoticeKind, summary: str, description: str, since: float | None) -> None:
        labels = {"alertname": ALERTNAMES[kind], "severity": SEVERITY[kind], "component": "poller", "source": SOURCE}
        out.append(Notice(kind, labels, summary, description, now if since is None else since))

    if p.overruns >= noc.overrun_cycles:
        notice(NoticeKind.CYCLES_OVERRUNNING, f"Poll cycles overrunning: {p.overruns} in a row",
               f"The last {p.overruns} poll cycles took longer than the {p.interval_s:g} s interval (the last "
               f"{p.last_duration_s:.1f} s): scheduled runs are being skipped. Poll fewer APs per process "
               "(run --district), or lengthen schedule.interval_s.", p.overrun_since)
    waiting = p.spool_batches[-1] if p.spool_batches else 0
    if waiting > noc.spool_max_batches or _grew(p.spool_batches, noc.spool_growing_cycles):
        notice(NoticeKind.SPOOL_GROWING, f"Spool growing: {_plural(waiting, 'batch')} waiting",
               f"{_plural(waiting, 'batch')} ({_plural(p.spool_points, 'point')}) wait in the spool for InfluxDB "
               f"(bound noc.spool_max_batches = {noc.spool_max_batches}): see `hotspotctl spool status`.", None)
    if p.influx_failing_since is not None and now - p.influx_failing_since >= noc.influx_away_s:
        notice(NoticeKind.INFLUX_AWAY, "InfluxDB away",
               f"Flushes to InfluxDB have failed since {_local(p.influx_failing_since, settings.tzinfo)}"
               + (f": {p.influx_error}" if p.influx_error else "") + ". The data waits in the spool.",
               p.influx_failing_since)
    if p.failed_in_a_row >= noc.failed_cycles:
        notice(NoticeKind.CYCLES_FAILING, f"Poll cycles failing: {p.failed_in_a_row} in a row",
               f"The last {p.failed_in_a_row} poll cycles failed"
               + (f"; the last: {p.last_failure}" if p.last_failure else "")
               + ". The service stops after schedule.max_failed_cycles.", p.failing_since)
    return out


def evaluate_notices(view: NocView, settings: Settings, now: float) -> list[Notice]:
    """The notices firing now, of the kinds ``noc.kinds`` turns on, in a stable order."""
    tz = settings.tzinfo
    out: list[Notice] = []
    for outage in sorted(view.outages, key=lambda o: (o.opened_at, o.id or 0)):
        if outage.closed_at is None and (n := _outage_notice(outage, view.site_names, tz)) is not None:
            out.append(n)
    out += _misconfigured_notices(view.misconfigured)
    if view.poller is not None:
        out += _poller_notices(view.poller, settings, now)
    on = set(settings.noc.kinds)
    return [n for n in out if n.kind in on]


@dataclass(frozen=True, slots=True)
class Due:
    """A message to send now about one notice."""

    notice: Notice
    action: Action


def plan(firing: Sequence[Notice], sent: Mapping[str, SentNotice], now: float, repeat_interval_s: float,
         *, resolve: frozenset[NoticeKind] | None = None) -> list[Due]:
    """What one channel must be sent now: ``sent`` is what it was sent before (fingerprint -> row).

    A notice sent before and no longer firing resolves, unless ``resolve`` (the kinds evaluated this time)
    leaves its kind out.
    """
    due: list[Due] = []
    seen = set()
    for notice in firing:
        fp = notice.fingerprint
        seen.add(fp)
        before = sent.get(fp)
        if before is None or not before.firing:
            due.append(Due(notice, Action.FIRING))
        elif not notice.acked and now - before.last_sent_at >= repeat_interval_s:
            due.append(Due(replace(notice, starts_at=before.starts_at), Action.REPEAT))
    for fp, before in sorted(sent.items(), key=lambda item: item[1].first_sent_at):
        if fp in seen or not before.firing:
            continue
        if resolve is not None and before.kind not in resolve:
            continue
        annotations = dict(before.annotations)
        notice = Notice(NoticeKind(before.kind), dict(before.labels), annotations.get("summary", ""),
                        annotations.get("description", ""), before.starts_at, ends_at=max(now, before.starts_at))
        due.append(Due(notice, Action.RESOLVED))
    return due


def alert(notice: Notice, generator_url: str = "") -> dict[str, Any]:
    """One alert as Alertmanager's API v2 ``POST /api/v2/alerts`` takes it (``postableAlert``)."""
    body: dict[str, Any] = {"labels": dict(notice.labels), "annotations": notice.annotations,
                            "startsAt": iso_ms(notice.starts_at)}
    if notice.ends_at is not None:
        body["endsAt"] = iso_ms(notice.ends_at)
    if generator_url:
        body["generatorURL"] = generator_url
    return body


_TITLES = {Action.FIRING: "FIRING", Action.REPEAT: "REPEAT", Action.RESOLVED: "RESOLVED", Action.TEST: "TEST"}


def subject(due: Due) -> str:
    return one_line(f"[{_TITLES[due.action]}] {due.notice.summary}")


def _text(due: Due, tz: tzinfo) -> str:
    n = due.notice
    lines = [subject(due), "", n.description, "",
             f"Since: {_local(n.starts_at, tz)}"]
    if n.ends_at is not None:
        lines.append(f"Resolved: {_local(n.ends_at, tz)}")
    if due.action == Action.REPEAT:
        lines.append("Still firing; it repeats until resolved or acknowledged (`hotspotctl outages ack`).")
    lines = [one_line(line) for line in lines]
    lines += ["", "Labels:"] + [f"  {one_line(name)}={one_line(value)}" for name, value in sorted(n.labels.items())]
    lines.append(f"Fingerprint: {n.fingerprint}")
    return "\n".join(lines) + "\n"


def _html(due: Due, tz: tzinfo) -> str:
    n, e = due.notice, html.escape
    rows = "".join(f"<tr><th>{e(name)}</th><td>{e(value)}</td></tr>" for name, value in sorted(n.labels.items()))
    resolved = f"<p>Resolved: {e(_local(n.ends_at, tz))}</p>" if n.ends_at is not None else ""
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{e(subject(due))}</title></head><body>"
            f"<h1>{e(subject(due))}</h1><p>{e(n.description)}</p><p>Since: {e(_local(n.starts_at, tz))}</p>"
            f"{resolved}<table>{rows}</table><p>Fingerprint: <code>{e(n.fingerprint)}</code></p></body></html>\n")


def build_email(due: Due, settings: Settings) -> EmailMessage:
    """One notice's message to noc.email_to: text and HTML, the fingerprint in a header."""
    message = EmailMessage()
    email = settings.crews.email
    try:
        message["Subject"] = subject(due)
        message["From"] = one_line(email.sender)
        message["To"] = ", ".join(one_line(a) for a in settings.noc.email_to)
    except ValueError as exc:
        raise DeliveryError(f"NOC notice: cannot address the message: {exc}; check crews.email.sender and "
                            "noc.email_to", unavailable=False) from None
    message["Date"] = formatdate(localtime=True)
    domain = one_line(email.sender.rpartition("@")[2]) or "localhost"
    message["Message-ID"] = make_msgid("noc", domain=domain)
    message["X-Hotspotctl-Fingerprint"] = due.notice.fingerprint
    message["X-Hotspotctl-Notice"] = str(due.action)
    message.set_content(_text(due, settings.tzinfo))
    message.add_alternative(_html(due, settings.tzinfo), subtype="html")
    return message


CHANNELS = ("email", "webhook")


def channels(settings: Settings) -> tuple[str, ...]:
    """The channels configured: email needs noc.email_to and crews.email.host, webhook noc.webhook_url."""
    out = []
    if settings.noc.email_to and settings.crews.email.host:
        out.append("email")
    if settings.noc.webhook_url:
        out.append("webhook")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class NocSent:
    """One message that went out (or did not)."""

    channel: str
    action: Action
    fingerprint: str
    alertname: str
    ok: bool
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "action": self.action, "fingerprint": self.fingerprint,
                "alertname": self.alertname, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class NocReport:
    at: float
    firing: int
    channels: tuple[str, ...]
    sent: tuple[NocSent, ...] = ()

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sent)

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "firing": self.firing, "channels": list(self.channels), "ok": self.ok,
                "sent": [s.to_json() for s in self.sent]}


class WebhookNoc:
    """POSTs alerts to noc.webhook_url; the token never shows in a message, a log line or a repr."""

    def __init__(self, settings: Settings, *, stop: threading.Event | None = None) -> None:
        noc = settings.noc
        self.url = noc.webhook_url
        self.token = noc.webhook_token
        self.generator_url = noc.generator_url
        self.target = f"NOC webhook {url_target(noc.webhook_url)}"
        self.poster = HttpPoster(self.target, timeout_s=noc.webhook_timeout_s, max_retries=noc.webhook_max_retries,
                                 stop=stop)

    def __repr__(self) -> str:
        return f"WebhookNoc({self.target!r})"

    def send(self, notices: Sequence[Notice]) -> int:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = json.dumps([alert(n, self.generator_url) for n in notices], ensure_ascii=False).encode("utf-8")
        fix = {401: "check HOTSPOTCTL_NOC_WEBHOOK_TOKEN", 403: "check HOTSPOTCTL_NOC_WEBHOOK_TOKEN",
               404: "check noc.webhook_url (Alertmanager's is http://HOST:9093/api/v2/alerts)"}
        return int(self.poster.post(self.url, body, headers, fix=fix).status)

    def close(self) -> None:
        self.poster.close()


def _record(store: Store, channel: str, due: Due, now: float) -> None:
    n = due.notice
    with store.write() as conn:
        if due.action == Action.RESOLVED:
            record_resolved(conn, channel, n.fingerprint, now)
            prune_resolved(conn, now - KEEP_RESOLVED_S)
        else:
            record_firing(conn, channel, n.fingerprint, n.kind, n.labels, n.annotations, n.starts_at, now)


def send_notices(store: Store, settings: Settings, firing: Sequence[Notice], now: float, *,
                 resolve: frozenset[NoticeKind] | None = None, stop: threading.Event | None = None) -> NocReport:
    """Send each configured channel what is due now (``plan``), recording what went; failures are values.

    A channel that fails leaves its notices due: the next call sends them again.
    """
    via = channels(settings)
    with store.read() as conn:
        sent = load_sent(conn, firing_only=True)  # a notice resolved before that fires again is new
    out: list[NocSent] = []
    for channel in via:
        mine = {fp: row for (fp, ch), row in sent.items() if ch == channel}
        due = plan(firing, mine, now, settings.noc.repeat_interval_s, resolve=resolve)
        if due:
            out += (_email(store, settings, due, now) if channel == "email"
                    else _webhook(store, settings, due, now, stop))
    for s in out:
        if not s.ok:
            log.warning("NOC %s %s %s: %s", s.channel, s.action, s.alertname, s.detail)
    return NocReport(now, len(firing), via, tuple(out))


def _sent(channel: str, due: Due, ok: bool, detail: str | None = None) -> NocSent:
    return NocSent(channel, due.action, due.notice.fingerprint, due.notice.labels.get("alertname", ""), ok, detail)


def _email(store: Store, settings: Settings, due: Sequence[Due], now: float) -> list[NocSent]:
    out: list[NocSent] = []
    down: str | None = None
    with EmailSink(settings.crews.email) as sink:
        for item in due:
            if down is not None:
                out.append(_sent("email", item, False, down))
                continue
            try:
                message = build_email(item, settings)
                sink.send(message)
            except DeliveryError as exc:
                if exc.unavailable:
                    down = str(exc)
                out.append(_sent("email", item, False, str(exc)))
                continue
            except HotspotError as exc:
                out.append(_sent("email", item, False, str(exc)))
                continue
            try:
                _record(store, "email", item, now)
            except StoreError as exc:
                out.append(_sent("email", item, True, f"sent, not recorded (it may be sent again): {exc}"))
                continue
            out.append(_sent("email", item, True))
    return out


def _webhook(store: Store, settings: Settings, due: Sequence[Due], now: float,
             stop: threading.Event | None) -> list[NocSent]:
    sink = WebhookNoc(settings, stop=stop)
    try:
        sink.send([item.notice for item in due])
    except HotspotError as exc:
        return [_sent("webhook", item, False, str(exc)) for item in due]
    finally:
        sink.close()
    out = []
    for item in due:
        try:
            _record(store, "webhook", item, now)
        except StoreError as exc:
            out.append(_sent("webhook", item, True, f"sent, not recorded (it may be sent again): {exc}"))
            continue
        out.append(_sent("webhook", item, True))
    return out


def load_view(store: Store, *, misconfigured: Mapping[str, ApHealth] | None = None,
              poller: PollerHealth | None = None) -> NocView:
    """The open outages (fresh from the store: an acknowledgement made by another process shows) and their sites'
    names, with the misconfigured APs and the poller's health the caller has."""
    with store.read() as conn:
        outages = list(load_open_outages(conn).values())
        names = site_names(conn, [o.site for o in outages])
    return NocView(outages, names, misconfigured or {}, poller)


TEST_ENDS_S = 300.0  # a test alert ends by itself this long after it was sent (in Alertmanager too)


def trial_notice(now: float) -> Notice:
    labels = {"alertname": ALERTNAMES[NoticeKind.TEST], "severity": SEVERITY[NoticeKind.TEST], "source": SOURCE}
    return Notice(NoticeKind.TEST, labels, "Test notice from hotspotctl",
                  "A test of the NOC's notices (`hotspotctl noc test`): if you read this, they reach you. It ends "
                  f"by itself {TEST_ENDS_S / 60:.0f} minutes after it was sent.", now, ends_at=now + TEST_ENDS_S)


def send_test(settings: Settings, now: float, *, stop: threading.Event | None = None) -> NocReport:
    """Send one test notice through every configured channel; nothing is recorded. A channel that is not
    configured is a ConfigError naming the settings to set."""
    via = channels(settings)
    if not via:
        raise ConfigError("no NOC channel is configured: set noc.email_to (HOTSPOTCTL_NOC_EMAIL_TO) with "
                          "crews.email.host (HOTSPOTCTL_CREWS_EMAIL_HOST), or noc.webhook_url "
                          "(HOTSPOTCTL_NOC_WEBHOOK_URL)")
    due = Due(trial_notice(now), Action.TEST)
    out: list[NocSent] = []
    for channel in via:
        try:
            if channel == "email":
                with EmailSink(settings.crews.email) as sink:
                    sink.send(build_email(due, settings))
            else:
                hook = WebhookNoc(settings, stop=stop)
                try:
                    hook.send([due.notice])
                finally:
                    hook.close()
        except HotspotError as exc:
            out.append(_sent(channel, due, False, str(exc)))
            continue
        out.append(_sent(channel, due, True))
    return NocReport(now, 0, via, tuple(out))


def firing_now(store: Store) -> list[SentNotice]:
    """What the channels were sent and not yet resolved, the oldest first (``hotspotctl noc status``)."""
    with store.read() as conn:
        rows = load_sent(conn, firing_only=True)
    return sorted(rows.values(), key=lambda row: (row.starts_at, row.fingerprint, row.channel))
