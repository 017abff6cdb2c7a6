"""`hotspotctl noc status` and `noc test`: what is firing, and a test notice to a real receiver."""

from __future__ import annotations

import json

from hotspotctl.settings import load_settings
from hotspotctl.store import Store
from tests.delivery.conftest import NOW
from tests.delivery.test_noc import HOSTILE, TOKEN, add_site, open_outage, run_noc
from tests.servers import ScriptedHttpServer, free_port


def test_noc_status_shows_what_fires_per_channel_and_noc_test_sends_a_test_alert(cli, monkeypatch):
    hook = ScriptedHttpServer(default=(200, {}, b""))
    try:
        monkeypatch.setenv("HOTSPOTCTL_NOC_WEBHOOK_URL", hook.url + "/api/v2/alerts")
        monkeypatch.setenv("HOTSPOTCTL_NOC_WEBHOOK_TOKEN", TOKEN)
        result = cli("noc", "status", "--format", "json")
        assert result.code == 0 and json.loads(result.out) == []
        settings = load_settings(cwd=cli.workdir).settings
        with Store.open(settings.store_url) as store:
            add_site(store, "9g3w-escuela", HOSTILE)
            outage = open_outage(store, "9g3w-escuela", "Iztapalapa", ("ESC-NH_AP_01", "ESC-NH_AP_02"))
            assert run_noc(store, settings, NOW).ok
        result = cli("noc", "status", "--format", "json")
        assert result.code == 0, result.err
        [row] = json.loads(result.out)
        assert (row["channel"], row["kind"], row["sends"], row["starts_at"], row["resolved_at"]) == (
            "webhook", "site_outage", 1, "2026-11-22T07:50:00Z", None)
        assert row["labels"]["outage_id"] == str(outage.id)
        assert row["annotations"]["summary"] == f"Site offline: {HOSTILE} (Iztapalapa)"
        result = cli("noc", "status")
        assert result.code == 0 and "HotspotSiteOutage" in result.out and "site=9g3w-escuela" in result.out

        result = cli("noc", "test", "--format", "json")
        assert result.code == 0, result.err
        assert [(s["channel"], s["action"], s["ok"]) for s in json.loads(result.out)["sent"]] == [
            ("webhook", "test", True)]
        [alert] = json.loads(hook.requests[-1]["body"])
        assert alert["labels"] == {"alertname": "HotspotNocTest", "severity": "info", "source": "hotspotctl"}
        assert alert["endsAt"] > alert["startsAt"]
        assert hook.requests[-1]["headers"]["authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in result.out + result.err
    finally:
        hook.stop()
    monkeypatch.setenv("HOTSPOTCTL_NOC_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/api/v2/alerts")
    result = cli("noc", "test")
    assert result.code == 5 and "is not reachable" in result.out
    monkeypatch.delenv("HOTSPOTCTL_NOC_WEBHOOK_URL")
    result = cli("noc", "test")
    assert result.code == 3 and "no NOC channel is configured: set noc.email_to" in result.err
