"""Crew lists to a webhook: a scripted HTTP server on loopback records what arrives."""

from __future__ import annotations

import json
import logging

import pytest

from hotspotctl.delivery.dispatch import dispatch
from hotspotctl.delivery.webhook import WebhookSink, payload
from hotspotctl.errors import ConfigError
from hotspotctl.store.outages import get_outage
from tests.delivery.conftest import NOW, WEBHOOK_TOKEN, with_crews
from tests.servers import ScriptedHttpServer, free_port


@pytest.fixture
def hook():
    servers = []

    def start(*script, default=(200, {}, b"ok")):
        server = ScriptedHttpServer(*script, default=default)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _settings(url, **extra):
    return with_crews(webhook={"url": url, "token": WEBHOOK_TOKEN, "timeout_s": 5.0, "max_retries": 2, **extra})


def test_each_zone_with_stops_is_posted_as_its_json_with_the_bearer_token(hook, crew_lists, caplog):
    caplog.set_level(logging.DEBUG)
    server = hook()
    settings = _settings(server.url + "/hooks/crews")
    report = dispatch(crew_lists.ledger.store, crew_lists.lists, settings, ["webhook"], NOW)
    assert report.ok
    assert [(d.zone, d.status, d.sent) for d in report.deliveries] == [
        ("Iztapalapa", "sent", 2), ("Tlalpan", "sent", 1), ("Xochimilco", "skipped", 0)]
    assert report.deliveries[2].detail == "no stops in this zone"
    assert [r["path"] for r in server.requests] == ["/hooks/crews", "/hooks/crews"]
    for request, zl in zip(server.requests, crew_lists.lists[:2], strict=True):
        assert request["headers"]["authorization"] == f"Bearer {WEBHOOK_TOKEN}"
        assert request["headers"]["content-type"] == "application/json; charset=utf-8"
        body = json.loads(request["body"])
        assert body == {"kind": "hotspotctl.crew_list", "language": "en", **json.loads(json.dumps(zl.to_json()))}
        assert body == json.loads(json.dumps(payload(zl)))
    assert json.loads(server.requests[0]["body"])["stops"][0]["name"] == 'Escuela "Niños Héroes" <Primaria> & Anexo'
    with crew_lists.ledger.store.read() as conn:
        for outage_id in crew_lists.outage_ids():
            assert get_outage(conn, outage_id).delivery["webhook"]["status"] == 200
    shown = caplog.text + json.dumps(report.to_json()) + repr(settings) + repr(WebhookSink(settings.crews.webhook))
    assert WEBHOOK_TOKEN not in shown


def test_no_token_no_authorization_header(hook, crew_lists):
    server = hook()
    report = dispatch(crew_lists.ledger.store, crew_lists.lists[:1], _settings(server.url, token=""), ["webhook"], NOW)
    assert report.ok and "authorization" not in server.requests[0]["headers"]


def test_a_503_is_retried_then_delivered(hook, crew_lists):
    server = hook((503, {}, b"busy"))
    report = dispatch(crew_lists.ledger.store, crew_lists.lists[:1], _settings(server.url), ["webhook"], NOW)
    assert report.ok and report.deliveries[0].references == ({"status": 200},)
    assert len(server.requests) == 2 and server.requests[0]["body"] == server.requests[1]["body"]
    assert server.requests[1]["at"] - server.requests[0]["at"] >= 0.45  # the first back-off: 0.5 s


def test_a_400_fails_at_once_and_nothing_is_recorded(hook, crew_lists):
    server = hook((400, {"Content-Type": "application/json"}, b'{"error": "unknown field \\"stops\\""}'))
    report = dispatch(crew_lists.ledger.store, crew_lists.lists[:1], _settings(server.url), ["webhook"], NOW)
    assert not report.ok
    [failed] = report.failures
    assert (failed.status, failed.failed) == ("failed", 2)
    assert failed.detail == f'webhook {server.url} refused: HTTP 400: unknown field "stops"'
    assert len(server.requests) == 1  # not retried
    with crew_lists.ledger.store.read() as conn:
        assert all("webhook" not in get_outage(conn, i).delivery for i in crew_lists.outage_ids())


def test_503_every_time_gives_up_after_max_retries(hook, crew_lists):
    server = hook(default=(503, {"Retry-After": "0"}, b"down for maintenance"))
    report = dispatch(crew_lists.ledger.store, crew_lists.lists[:2], _settings(server.url, max_retries=1),
                      ["webhook"], NOW)
    assert [d.status for d in report.deliveries] == ["failed", "failed"]
    assert report.failures[0].detail.endswith("HTTP 503: down for maintenance (after 2 tries)")
    assert len(server.requests) == 4


def test_a_server_away_fails_without_waiting(crew_lists):
    url = f"http://127.0.0.1:{free_port()}/hook"
    report = dispatch(crew_lists.ledger.store, crew_lists.lists[:1], _settings(url), ["webhook"], NOW)
    assert "is not reachable" in report.failures[0].detail


def test_the_webhook_needs_a_url():
    with pytest.raises(ConfigError) as caught:
        dispatch(None, [], with_crews(), ["webhook"], NOW)  # type: ignore[arg-type]
    assert "crews.webhook.url (HOTSPOTCTL_CREWS_WEBHOOK_URL)" in str(caught.value)
