"""NOC notices: a site outage fires, repeats, stops repeating once acknowledged, and resolves, by email (a real
SMTP server with STARTTLS and login) and as Alertmanager API v2 alerts (a real HTTP server recording requests)."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest

from hotspotctl.delivery.noc import (
    Action,
    NocView,
    NoticeKind,
    PollerHealth,
    WebhookNoc,
    evaluate_notices,
    fingerprint,
    iso_ms,
    load_view,
    plan,
    send_notices,
)
from hotspotctl.errors import PollErrorKind
from hotspotctl.evaluate.outages import LedgerUpdate, Outage
from hotspotctl.evaluate.status import MISCONFIGURED, ApHealth
from hotspotctl.settings import NocSettings, Settings, load_settings
from hotspotctl.store import Store
from hotspotctl.store.noc import load_sent
from hotspotctl.store.outages import get_outage, save_ledger, update_outage
from hotspotctl.store.schema import sites
from tests.delivery.conftest import NOW, email_settings
from tests.servers import ScriptedHttpServer, SmtpServer, free_port

TOKEN = "noc-am-token-never-shown"
HOSTILE = 'Escuela "Niños Héroes" <script>alert(1)</script> & Anexo'
NOC_TO = ("noc@wifi.cdmx.example", "guardia@wifi.cdmx.example")
HOUR = 3600.0


def noc_settings(base: Settings | None = None, **values: Any) -> Settings:
    base = base or Settings()
    return dataclasses.replace(base, noc=dataclasses.replace(base.noc, **values))


def add_site(store: Store, site_id: str, name: str, district: str = "Iztapalapa") -> None:
    with store.write() as conn:
        conn.execute(sites.insert().values(id=site_id, name=name, lat=19.357123, lon=-99.064456, district=district,
                                           explicit=True))


def open_outage(store: Store, site: str, zone: str, aps: tuple[str, ...], *, cause: str = "site_offline",
                opened_at: float = NOW - 600, clients: int = 40) -> Outage:
    outage = Outage(id=None, site=site, zone=zone, cause=cause, causes=(cause,), aps=aps, aps_now=aps,
                    opened_at=opened_at, updated_at=NOW, peak_aps=len(aps), peak_clients=clients, clients_now=clients)
    with store.write() as conn:
        return save_ledger(conn, LedgerUpdate([outage], [], [])).opened[0]


def close_outage(store: Store, outage: Outage, at: float) -> None:
    with store.write() as conn:
        save_ledger(conn, LedgerUpdate([], [], [dataclasses.replace(outage, closed_at=at, aps_now=(), updated_at=at)]))


def run_noc(store: Store, settings: Settings, now: float) -> Any:
    """What the service does after a cycle: the notices from the store's open outages, then the send."""
    return send_notices(store, settings, evaluate_notices(load_view(store), settings, now), now)


@pytest.fixture
def receiver():
    servers: list[ScriptedHttpServer] = []

    def start(*script: Any, default: Any = (200, {}, b"")) -> ScriptedHttpServer:
        server = ScriptedHttpServer(*script, default=default)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    return smtp_server


def _both(smtp: SmtpServer, hook: ScriptedHttpServer, **noc: Any) -> Settings:
    return noc_settings(email_settings(smtp), email_to=NOC_TO, webhook_url=hook.url + "/api/v2/alerts",
                        webhook_token=TOKEN, generator_url="https://grafana.noc.example/d/hotspot-fleet", **noc)


def _alerts(request: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(request["body"])


def test_a_site_outage_fires_repeats_stops_when_acknowledged_and_resolves_by_email_and_alertmanager_webhook(
        store, smtp, receiver, caplog):  # on SQLite and PostgreSQL
    caplog.set_level(logging.DEBUG)
    hook = receiver()
    settings = _both(smtp, hook)
    add_site(store, "9g3w-escuela", HOSTILE)
    outage = open_outage(store, "9g3w-escuela", "Iztapalapa", ("ESC-NH_AP_01", "ESC-NH_AP_02"))
    labels = {"alertname": "HotspotSiteOutage", "severity": "critical", "site": "9g3w-escuela", "zone": "Iztapalapa",
              "cause": "site_offline", "outage_id": str(outage.id), "source": "hotspotctl"}
    summary = f"Site offline: {HOSTILE} (Iztapalapa)"
    description = (f"Site {HOSTILE} (9g3w-escuela, zone Iztapalapa) is offline since 2026-11-22 01:50 CST: 2 APs "
                   f"affected now (at most 2), 40 clients without service (at most 40); cause now site_offline; "
                   f"outage #{outage.id}.")
    firing = {"labels": labels, "annotations": {"summary": summary, "description": description},
              "startsAt": "2026-11-22T07:50:00.000Z", "generatorURL": "https://grafana.noc.example/d/hotspot-fleet"}

    # 1. the outage opens: one email to the NOC, one alert to the webhook
    report = run_noc(store, settings, NOW)
    assert report.ok and report.firing == 1 and report.channels == ("email", "webhook")
    assert [(s.channel, s.action, s.alertname) for s in report.sent] == [
        ("email", Action.FIRING, "HotspotSiteOutage"), ("webhook", Action.FIRING, "HotspotSiteOutage")]
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["rcpt_tos"] == list(NOC_TO) and mail["tls"]
    message = mail["message"]
    assert message["Subject"] == f"[FIRING] {summary}"
    assert message["To"] == ", ".join(NOC_TO)
    assert message["X-Hotspotctl-Fingerprint"] == fingerprint(labels)
    text = message.get_body(("plain",)).get_content()
    assert description in text and "  outage_id=" + str(outage.id) in text
    page = message.get_body(("html",)).get_content()
    assert "<script>" not in page
    assert "Escuela &quot;Niños Héroes&quot; &lt;script&gt;alert(1)&lt;/script&gt; &amp; Anexo" in page
    assert len(hook.requests) == 1
    request = hook.requests[0]
    assert request["path"] == "/api/v2/alerts"
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["content-type"] == "application/json; charset=utf-8"
    assert _alerts(request) == [firing]  # the hostile name is a JSON string like any other

    # 2. a minute later: nothing new to say
    report = run_noc(store, settings, NOW + 60)
    assert report.sent == () and len(smtp.messages) == 1 and len(hook.requests) == 1

    # 3. repeat_interval_s (4 h by default) after the last send: a repeat, the same labels and startsAt
    report = run_noc(store, settings, NOW + 4 * HOUR)
    assert [(s.channel, s.action) for s in report.sent] == [("email", Action.REPEAT), ("webhook", Action.REPEAT)]
    assert smtp.messages[1]["message"]["Subject"] == f"[REPEAT] {summary}"
    assert smtp.messages[1]["rcpt_tos"] == list(NOC_TO)
    assert _alerts(hook.requests[1]) == [firing]
    with store.read() as conn:
        rows = load_sent(conn)
    assert {(ch, r.sends, r.last_sent_at, r.resolved_at) for (_, ch), r in rows.items()} == {
        ("email", 2, NOW + 4 * HOUR, None), ("webhook", 2, NOW + 4 * HOUR, None)}

    # 4. the NOC acknowledges it (`outages ack`): no more repeats, however long it stays open
    with store.write() as conn:
        update_outage(conn, outage.id, acked_at=NOW + 5 * HOUR, acked_by="guardia")
    for hours in (8, 12, 24):
        assert run_noc(store, settings, NOW + hours * HOUR).sent == ()
    assert len(smtp.messages) == 2 and len(hook.requests) == 2

    # 5. it closes: one resolve on each channel, endsAt set, the same labels; then silence
    with store.read() as conn:
        stored = get_outage(conn, outage.id)
    close_outage(store, stored, NOW + 25 * HOUR)
    report = run_noc(store, settings, NOW + 25 * HOUR + 30)
    assert report.firing == 0
    assert [(s.channel, s.action) for s in report.sent] == [("email", Action.RESOLVED), ("webhook", Action.RESOLVED)]
    assert smtp.messages[2]["message"]["Subject"] == f"[RESOLVED] {summary}"
    assert "Resolved: 2026-11-23 03:00 CST" in smtp.messages[2]["message"].get_body(("plain",)).get_content()
    assert _alerts(hook.requests[2]) == [{**firing, "endsAt": iso_ms(NOW + 25 * HOUR + 30)}]
    assert run_noc(store, settings, NOW + 30 * HOUR).sent == ()
    assert len(smtp.messages) == 3 and len(hook.requests) == 3
    with store.read() as conn:
        assert {r.resolved_at for r in load_sent(conn).values()} == {NOW + 25 * HOUR + 30}

    shown = caplog.text + json.dumps(report.to_json()) + repr(settings) + repr(WebhookNoc(settings))
    assert TOKEN not in shown and SmtpServer.PASSWORD not in shown


def test_an_unacknowledged_outage_keeps_repeating_every_repeat_interval(sqlite_store, receiver):
    hook = receiver()
    settings = noc_settings(webhook_url=hook.url + "/api/v2/alerts", repeat_interval_s=1800.0)
    open_outage(sqlite_store, "9g3w-pilares", "Iztapalapa", ("P1", "P2"))
    actions = []
    for minutes in (0, 10, 29, 30, 45, 59, 60, 90):
        actions += [(minutes, s.action) for s in run_noc(sqlite_store, settings, NOW + minutes * 60).sent]
    assert actions == [(0, Action.FIRING), (30, Action.REPEAT), (60, Action.REPEAT), (90, Action.REPEAT)]
    assert len(hook.requests) == 4


def test_a_webhook_that_is_down_loses_nothing_the_next_cycle_sends_it(sqlite_store, receiver):
    port = free_port()  # nobody listens: connection refused
    settings = noc_settings(webhook_url=f"http://127.0.0.1:{port}/api/v2/alerts", webhook_token=TOKEN)
    open_outage(sqlite_store, "9g3w-pilares", "Iztapalapa", ("P1", "P2"))
    report = run_noc(sqlite_store, settings, NOW)
    assert not report.ok
    assert [(s.channel, s.action, s.ok) for s in report.sent] == [("webhook", Action.FIRING, False)]
    assert report.sent[0].detail == f"NOC webhook http://127.0.0.1:{port} is not reachable: Failed to establish a new connection: [Errno 111] Connection refused"
    with sqlite_store.read() as conn:
        assert load_sent(conn) == {}
    hook = receiver(default=(503, {}, b"busy"))  # up, but failing: retried, then still due
    settings = noc_settings(settings, webhook_url=hook.url + "/api/v2/alerts", webhook_max_retries=1)
    report = run_noc(sqlite_store, settings, NOW + 60)
    assert [(s.action, s.ok) for s in report.sent] == [(Action.FIRING, False)]
    assert len(hook.requests) == 2
    hook.default = (200, {}, b"")
    report = run_noc(sqlite_store, settings, NOW + 120)
    assert [(s.action, s.ok) for s in report.sent] == [(Action.FIRING, True)]
    assert _alerts(hook.requests[2])[0]["startsAt"] == "2026-11-22T07:50:00.000Z"
    assert TOKEN not in json.dumps(report.to_json())


def test_an_email_server_that_is_down_loses_nothing(sqlite_store, smtp, tmp_path):
    settings = noc_settings(email_settings(smtp, port=free_port()), email_to=NOC_TO)
    open_outage(sqlite_store, "9g3w-pilares", "Iztapalapa", ("P1", "P2"))
    report = run_noc(sqlite_store, settings, NOW)
    assert [(s.channel, s.ok) for s in report.sent] == [("email", False)]
    settings = noc_settings(email_settings(smtp), email_to=NOC_TO)
    report = run_noc(sqlite_store, settings, NOW + 60)
    assert [(s.channel, s.action, s.ok) for s in report.sent] == [("email", Action.FIRING, True)]
    assert [m["message"]["Subject"] for m in smtp.messages] == ["[FIRING] Site offline: 9g3w-pilares (Iztapalapa)"]


def _outage(site: str, cause: str, *, id: int = 7, causes: tuple[str, ...] | None = None, zone: str = "Tlalpan",
            acked_at: float | None = None) -> Outage:
    return Outage(id=id, site=site, zone=zone, cause=cause, causes=causes or (cause,), aps=("A1",), aps_now=("A1",),
                  opened_at=NOW - 120, updated_at=NOW, peak_aps=14, clients_now=0, acked_at=acked_at)


def test_which_outages_are_notices_site_offline_and_controllers_not_one_ap_troubles():
    view = NocView([_outage("9g3q-mercado", "offline", id=1), _outage("9g3q-tianguis", "reboot_loop", id=2),
                    _outage("9g3q-plaza", "offline", id=3, causes=("site_offline", "offline")),
                    _outage("controller:WLC-CENTRO", "controller_unreachable", id=4, zone="NOC")])
    notices = evaluate_notices(view, Settings(), NOW)
    assert [(n.kind, dict(n.labels)) for n in notices] == [
        (NoticeKind.SITE_OUTAGE, {"alertname": "HotspotSiteOutage", "severity": "critical", "site": "9g3q-plaza",
                                  "zone": "Tlalpan", "cause": "site_offline", "outage_id": "3", "source": "hotspotctl"}),
        (NoticeKind.CONTROLLER_UNREACHABLE, {
            "alertname": "HotspotControllerUnreachable", "severity": "critical", "controller": "WLC-CENTRO",
            "zone": "NOC", "cause": "controller_unreachable", "outage_id": "4", "source": "hotspotctl"})]
    assert notices[1].summary == "Controller WLC-CENTRO unreachable"
    assert notices[1].description == ("Wireless controller WLC-CENTRO has not answered since 2026-11-22 01:58 CST: "
                                      "its 14 APs cannot be read meanwhile (outage #4).")
    only = noc_settings(kinds=("controller_unreachable",))
    assert [n.kind for n in evaluate_notices(view, only, NOW)] == [NoticeKind.CONTROLLER_UNREACHABLE]


def test_misconfigured_aps_are_one_notice_per_reason_kind():
    def bad(kind: PollErrorKind, since: float, reason: str) -> ApHealth:
        return ApHealth(state=MISCONFIGURED, since=since, reason_kind=kind, reason=reason)

    aps = {f"AP-{i:03d}": bad(PollErrorKind.AUTH, NOW - i, "wrong community") for i in range(25)}
    aps["ZZ-1"] = bad(PollErrorKind.PROTOCOL, NOW - 5, 'garbled <answer> "x"')
    notices = evaluate_notices(NocView([], misconfigured=aps), Settings(), NOW)
    assert [dict(n.labels) for n in notices] == [
        {"alertname": "HotspotApsMisconfigured", "severity": "warning", "reason_kind": "auth", "source": "hotspotctl"},
        {"alertname": "HotspotApsMisconfigured", "severity": "warning", "reason_kind": "protocol",
         "source": "hotspotctl"}]
    assert notices[0].summary == "25 APs misconfigured (auth)"
    assert notices[0].description == (
        "25 APs answer but cannot be read (auth): " + ", ".join(f"AP-{i:03d}" for i in range(20)) + " and 5 more. "
        "First reason: wrong community Not crew work: check the APs' agents and credentials.")
    assert notices[0].starts_at == NOW - 24
    assert notices[1].description == ("1 AP answer but cannot be read (protocol): ZZ-1. First reason: garbled "
                                      "<answer> \"x\" Not crew work: check the APs' agents and credentials.")


def test_the_poller_notices_fire_at_their_thresholds():
    settings = noc_settings(overrun_cycles=3, spool_max_batches=50, spool_growing_cycles=4, influx_away_s=600,
                            failed_cycles=2)

    def kinds(**health: Any) -> list[str]:
        view = NocView([], poller=PollerHealth(interval_s=60, **health))
        return [n.kind for n in evaluate_notices(view, settings, NOW)]

    assert kinds() == []
    assert kinds(overruns=2) == []
    assert kinds(overruns=3, overrun_since=NOW - 200, last_duration_s=75.5) == ["cycles_overrunning"]
    assert kinds(spool_batches=(10, 51)) == ["spool_growing"]
    assert kinds(spool_batches=(10, 50)) == []
    assert kinds(spool_batches=(1, 2, 3, 4, 5)) == ["spool_growing"]  # grew at 4 cycles in a row
    assert kinds(spool_batches=(1, 2, 3, 3, 5)) == []
    assert kinds(influx_failing_since=NOW - 599) == []
    assert kinds(influx_failing_since=NOW - 600, influx_error="HTTP 503") == ["influx_away"]
    assert kinds(failed_in_a_row=1) == []
    assert kinds(failed_in_a_row=2, failing_since=NOW - 120, last_failure="the store is locked") == ["cycles_failing"]
    view = NocView([], poller=PollerHealth(interval_s=60, influx_failing_since=NOW - 900, influx_error="HTTP 503"))
    influx = evaluate_notices(view, settings, NOW)[0]
    assert dict(influx.labels) == {"alertname": "HotspotPollerInfluxAway", "severity": "warning",
                                   "component": "poller", "source": "hotspotctl"}
    assert influx.description == ("Flushes to InfluxDB have failed since 2026-11-22 01:45 CST: HTTP 503. The data "
                                  "waits in the spool.")
    assert influx.starts_at == NOW - 900


def test_plan_resolves_only_the_kinds_evaluated():
    settings = Settings()
    view = NocView([], poller=PollerHealth(interval_s=60, failed_in_a_row=3, failing_since=NOW))
    notice = evaluate_notices(view, settings, NOW)[0]
    from hotspotctl.store.noc import SentNotice

    sent = {notice.fingerprint: SentNotice(notice.fingerprint, "webhook", notice.kind, notice.labels,
                                           notice.annotations, NOW, NOW, NOW, 1)}
    assert plan([], sent, NOW + 60, 14_400, resolve=frozenset({NoticeKind.SITE_OUTAGE})) == []
    [due] = plan([], sent, NOW + 60, 14_400)
    assert due.action == Action.RESOLVED and due.notice.ends_at == NOW + 60 and due.notice.labels == notice.labels


def test_noc_settings_are_validated_at_load_with_env_twins(tmp_path):
    loaded = load_settings(env={"HOTSPOTCTL_NOC_EMAIL_TO": "noc@x.example,guardia@x.example",
                                "HOTSPOTCTL_NOC_WEBHOOK_URL": "http://127.0.0.1:9093/api/v2/alerts",
                                "HOTSPOTCTL_NOC_WEBHOOK_TOKEN": TOKEN, "HOTSPOTCTL_NOC_REPEAT_INTERVAL_S": "3600",
                                "HOTSPOTCTL_NOC_KINDS": "site_outage,influx_away"}, cwd=tmp_path)
    noc = loaded.settings.noc
    assert noc.email_to == ("noc@x.example", "guardia@x.example") and noc.repeat_interval_s == 3600
    assert noc.kinds == ("site_outage", "influx_away") and noc.webhook_token == TOKEN
    assert TOKEN not in repr(loaded.settings)
    assert NocSettings().kinds == ("site_outage", "controller_unreachable", "misconfigured", "cycles_overrunning",
                                   "spool_growing", "influx_away", "cycles_failing")
    from hotspotctl.errors import ConfigError

    for name, value, said in [("KINDS", "site_outage,pager", "'pager' is not one of site_outage"),
                              ("REPEAT_INTERVAL_S", "5", "must be 60 or more"),
                              ("WEBHOOK_URL", "ftp://x", "is not an http:// or https:// URL"),
                              ("EMAIL_TO", "noc", "'noc' is not one email address")]:
        with pytest.raises(ConfigError, match=said):
            load_settings(env={f"HOTSPOTCTL_NOC_{name}": value}, cwd=tmp_path)


def test_misconfigured_aps_fire_once_and_resolve_when_they_are_readable_again(sqlite_store, receiver):
    hook = receiver()
    settings = noc_settings(webhook_url=hook.url + "/api/v2/alerts")
    bad = {"AP-1": ApHealth(state=MISCONFIGURED, since=NOW - 60, reason_kind=PollErrorKind.AUTH,
                            reason="the agent refused the community")}

    def cycle(aps: dict[str, ApHealth], now: float) -> list[tuple[str, str]]:
        notices = evaluate_notices(load_view(sqlite_store, misconfigured=aps), settings, now)
        return [(s.action, s.alertname) for s in send_notices(sqlite_store, settings, notices, now).sent]

    assert cycle(bad, NOW) == [(Action.FIRING, "HotspotApsMisconfigured")]
    assert cycle({**bad, "AP-2": bad["AP-1"]}, NOW + 60) == []  # one more AP of the same kind: the same notice
    assert cycle({}, NOW + 120) == [(Action.RESOLVED, "HotspotApsMisconfigured")]
    assert cycle({}, NOW + 180) == []
    firing, resolved = (_alerts(r)[0] for r in hook.requests)
    assert firing["labels"] == resolved["labels"] == {"alertname": "HotspotApsMisconfigured", "severity": "warning",
                                                      "reason_kind": "auth", "source": "hotspotctl"}
    assert "endsAt" not in firing and resolved["endsAt"] == iso_ms(NOW + 120)
    assert resolved["startsAt"] == firing["startsAt"] == iso_ms(NOW - 60)
