"""The NOC webhook into a real Alertmanager (Debian's prometheus-alertmanager) on loopback: what it took is read
back from its own API v2 (GET /api/v2/alerts)."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.delivery.noc import Action, iso_ms
from hotspotctl.settings import Settings
from tests.delivery.test_noc import HOSTILE, add_site, close_outage, noc_settings, open_outage, run_noc
from tests.servers import _HttpServer, free_port

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
# resolve_timeout longer than noc.repeat_interval_s: an alert we post without endsAt stays active until our
# next repeat or our resolve (Alertmanager ends an alert with no endsAt resolve_timeout after it last came)
CONFIG = """\
global:
  resolve_timeout: 5h
route:
  receiver: noc
receivers:
  - name: noc
"""


class AlertmanagerServer(_HttpServer):
    name = "Alertmanager"

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "alertmanager.yml").write_text(CONFIG)
        self.port = free_port()

    def _command(self) -> list[str]:
        assert BINARY is not None
        return [BINARY, f"--config.file={self.root / 'alertmanager.yml'}", f"--storage.path={self.root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="]

    def _ready_url(self) -> str:
        return f"{self.url}/-/ready"

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as answer:
            return json.loads(answer.read())


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[AlertmanagerServer]:
    if BINARY is None:
        pytest.fail("prometheus-alertmanager is not installed: run tests/install-servers.sh")
    server = AlertmanagerServer(tmp_path / "alertmanager").start()
    try:
        yield server
    finally:
        server.stop()


def test_alertmanager_takes_the_site_outage_and_its_resolve(sqlite_store, alertmanager):
    settings: Settings = noc_settings(webhook_url=alertmanager.url + "/api/v2/alerts",
                                      generator_url="https://grafana.noc.example/d/hotspot-fleet")
    now = time.time()
    add_site(sqlite_store, "9g3w-escuela", HOSTILE)
    outage = open_outage(sqlite_store, "9g3w-escuela", "Iztapalapa", ("ESC-NH_AP_01", "ESC-NH_AP_02"),
                         opened_at=now - 600)
    report = run_noc(sqlite_store, settings, now)
    assert report.ok and [(s.channel, s.action) for s in report.sent] == [("webhook", Action.FIRING)]
    labels = {"alertname": "HotspotSiteOutage", "severity": "critical", "site": "9g3w-escuela", "zone": "Iztapalapa",
              "cause": "site_offline", "outage_id": str(outage.id), "source": "hotspotctl"}
    [got] = alertmanager.alerts()
    assert got["labels"] == labels
    assert got["annotations"]["summary"] == f"Site offline: {HOSTILE} (Iztapalapa)"
    assert got["annotations"]["description"].startswith(f"Site {HOSTILE} (9g3w-escuela, zone Iztapalapa) is offline")
    assert got["startsAt"] == iso_ms(now - 600)
    assert got["generatorURL"] == "https://grafana.noc.example/d/hotspot-fleet"
    assert got["status"]["state"] == "active"
    # Alertmanager gives an alert posted without endsAt one resolve_timeout (5 h) after it came
    assert got["endsAt"] > iso_ms(now + 4.9 * 3600)

    close_outage(sqlite_store, outage, now + 1)
    report = run_noc(sqlite_store, settings, now + 1)
    assert report.ok and [(s.channel, s.action) for s in report.sent] == [("webhook", Action.RESOLVED)]
    deadline = time.monotonic() + 10
    while alertmanager.alerts() and time.monotonic() < deadline:  # resolved as of endsAt, a second ahead
        time.sleep(0.2)
    assert alertmanager.alerts() == []
