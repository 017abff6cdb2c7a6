"""hotspotctl crews send, end to end: an imported inventory, open outages, real servers on loopback."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotspotctl.evaluate.outages import LedgerUpdate, Outage
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.settings import CrewZoneSettings
from hotspotctl.store import Store
from hotspotctl.store.outages import get_outage, save_ledger
from tests.conftest import write
from tests.delivery.conftest import OPEN311_KEY, WEBHOOK_TOKEN, smtp_server  # noqa: F401 - the SMTP fixture
from tests.servers import Open311Server, ScriptedHttpServer, SmtpServer, free_port

INVENTORY = """id,programa,latitud,longitud,alcaldia
ESC-1_AP_01,Escuelas,19.30000,-99.10000,Tlalpan
ESC-1_AP_02,Escuelas,19.30000,-99.10000,Tlalpan
CALLE-7,MiCalle,19.31000,-99.11000,Tlahuac
<b>X</b>,MiCalle,19.32000,-99.12000,Gustavo A. Madero
"""
ATTRIBUTES = {"causa": "{cause}", "zona": "{zone}", "prioridad": "{priority}"}


@dataclass
class City:
    """The imported inventory's store and the open outages in it (zone -> outage id)."""

    store_url: str
    outages: dict[str, int]
    sites: dict[str, str]  # zone -> site id

    def deliveries(self) -> dict[str, dict]:
        with Store.open(self.store_url) as store, store.read() as conn:
            return {zone: dict(get_outage(conn, i).delivery) for zone, i in self.outages.items()}


@pytest.fixture
def city_ledger(cli, tmp_path: Path) -> City:
    assert cli("inventory", "import", write(tmp_path / "small.csv", INVENTORY)).code == 0
    url = f"sqlite:///{cli.workdir / 'var' / 'hotspotctl.db'}"
    now = time.time()
    with Store.open(url) as store:
        fleet = Fleet.load(store, CrewZones.from_settings(CrewZoneSettings()))
        site_of = {ap.id: ap.site_id for ap in fleet.aps.values()}
        found = [("Tlalpan", site_of["ESC-1_AP_01"], ("ESC-1_AP_01", "ESC-1_AP_02"), "site_offline", 30),
                 ("Gustavo A. Madero", site_of["<b>X</b>"], ("<b>X</b>",), "offline", 4)]
        opened = [Outage(id=None, site=site, zone=zone, cause=cause, causes=(cause,), aps=aps, aps_now=aps,
                         opened_at=now - 3600, updated_at=now, peak_aps=len(aps), peak_clients=clients,
                         clients_now=clients) for zone, site, aps, cause, clients in found]
        with store.write() as conn:
            stored = save_ledger(conn, LedgerUpdate(opened, [], []))
    return City(url, {o.zone: int(o.id) for o in stored.opened}, {o.zone: o.site for o in stored.opened})


@dataclass
class Peers:
    smtp: SmtpServer
    hook: ScriptedHttpServer
    open311: Open311Server


@pytest.fixture
def peers(smtp_server, city_ledger):  # noqa: F811 - the fixture imported above
    hook = ScriptedHttpServer(default=(200, {}, b"ok"))
    places = {("19.300000", "-99.100000"): {"attribute[causa]": "site_offline", "attribute[zona]": "Tlalpan",
                                            "attribute[prioridad]": "1"},
              ("19.320000", "-99.120000"): {"attribute[causa]": "offline", "attribute[zona]": "Gustavo A. Madero",
                                            "attribute[prioridad]": "1"}}
    o311 = Open311Server(api_key=OPEN311_KEY, service_code="wifi", jurisdiction_id="cdmx", places=places).start()
    try:
        yield Peers(smtp_server, hook, o311)
    finally:
        hook.stop()
        o311.stop()


def configure(cli, monkeypatch, peers: Peers, *, open311_url: str | None = None, password: str = SmtpServer.PASSWORD,
              send_via: str = '["email", "webhook", "open311"]') -> None:
    """./hotspotctl.toml for the three channels; the secrets in the environment, as the README says."""
    attributes = "\n".join(f'{code} = "{template}"' for code, template in ATTRIBUTES.items())
    write(cli.workdir / "hotspotctl.toml", f"""
[crews]
send_via = {send_via}
[crews.email]
host = "127.0.0.1"
port = {peers.smtp.port}
ca_file = "{peers.smtp.ca_file}"
username = "{SmtpServer.USER}"
sender = "noc@wifi.cdmx.example"
[crews.email.zones]
Tlalpan = "crew-tlp@wifi.cdmx.example"
"gustavo a. madero" = "crew-gam@wifi.cdmx.example"
[crews.webhook]
url = "{peers.hook.url}/crews"
[crews.open311]
url = "{open311_url or peers.open311.url}"
service_code = "wifi"
jurisdiction_id = "cdmx"
max_retries = 1
[crews.open311.attributes]
{attributes}
""")
    monkeypatch.setenv("HOTSPOTCTL_CREWS_EMAIL_PASSWORD", password)
    monkeypatch.setenv("HOTSPOTCTL_CREWS_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
    monkeypatch.setenv("HOTSPOTCTL_CREWS_OPEN311_API_KEY", OPEN311_KEY)


def _secrets_hidden(*texts: str) -> bool:
    return not any(secret in text for text in texts for secret in (SmtpServer.PASSWORD, WEBHOOK_TOKEN, OPEN311_KEY))


def test_help_has_examples(cli):
    result = cli("crews", "send", "--help")
    assert result.code == 0 and "Examples:" in result.out and "--dry-run" in result.out and "--via" in result.out


def test_no_channel_is_exit_3_saying_what_to_set(cli, city_ledger):
    result = cli("crews", "send")
    assert result.code == 3 and result.out == ""
    assert "crews.send_via" in result.err and "HOTSPOTCTL_CREWS_SEND_VIA" in result.err
    email = cli("crews", "send", "--via", "email")
    assert email.code == 3 and "crews.email.host (HOTSPOTCTL_CREWS_EMAIL_HOST)" in email.err
    assert city_ledger.deliveries() == {"Tlalpan": {}, "Gustavo A. Madero": {}}


def test_a_dry_run_needs_no_server_and_says_what_a_real_send_needs(cli, monkeypatch, city_ledger):
    """The demo suggests `crews send --via email --dry-run` on a fresh install: no SMTP server, no recipients."""
    bare = cli("crews", "send", "--via", "email", "--dry-run", "-f", "json")
    assert bare.code == 0, bare.err
    report = json.loads(bare.out)
    assert report["dry_run"] is True and report["ok"] is True
    assert [(d["zone"], d["status"], d["stops"]) for d in report["deliveries"]] == [
        ("Gustavo A. Madero", "skipped", 1), ("Tlalpan", "skipped", 1)]
    assert all(d["detail"].startswith("no recipients: set crews.email.zones[") for d in report["deliveries"])
    assert report["needs"] == ["email needs an SMTP server: set crews.email.host (HOTSPOTCTL_CREWS_EMAIL_HOST), and "
                               "crews.email.zones or crews.email.to (HOTSPOTCTL_CREWS_EMAIL_TO) for the recipients"]
    assert "to send for real: email needs an SMTP server" in bare.err
    monkeypatch.setenv("HOTSPOTCTL_CREWS_EMAIL_TO", "crews@example.org")
    addressed = cli("crews", "send", "--via", "email", "--dry-run")
    assert addressed.code == 0, addressed.err
    assert "planned" in addressed.out and "crews@example.org" in addressed.out
    assert "dry run: nothing was sent and nothing recorded" in addressed.err
    assert city_ledger.deliveries() == {"Tlalpan": {}, "Gustavo A. Madero": {}}
    for channel, setting in (("webhook", "crews.webhook.url"), ("open311", "crews.open311.url")):
        planned = json.loads(cli("crews", "send", "--via", channel, "--dry-run", "-f", "json").out)
        assert {d["status"] for d in planned["deliveries"]} == {"planned"}
        assert planned["deliveries"][0]["target"] == f"({setting} not set)" and setting in planned["needs"][0]
    real = cli("crews", "send", "--via", "email")  # for real, it is still a configuration error
    assert real.code == 3 and "crews.email.host (HOTSPOTCTL_CREWS_EMAIL_HOST)" in real.err


def test_a_dry_run_touches_no_server_and_records_nothing(cli, monkeypatch, peers, city_ledger):
    configure(cli, monkeypatch, peers)
    result = cli("crews", "send", "--dry-run", "-f", "json")
    assert result.code == 0, result.err
    assert peers.smtp.messages == [] and peers.smtp.logins == [] and peers.hook.requests == []
    assert peers.open311.requests == []
    assert city_ledger.deliveries() == {"Tlalpan": {}, "Gustavo A. Madero": {}}
    report = json.loads(result.out)
    assert report["dry_run"] is True and report["ok"] is True
    planned = {(d["channel"], d["zone"]): d for d in report["deliveries"]}
    assert set(planned) == {(c, z) for c in ("email", "webhook", "open311") for z in ("Gustavo A. Madero", "Tlalpan")}
    assert {d["status"] for d in planned.values()} == {"planned"}
    assert planned["email", "Tlalpan"]["target"] == "crew-tlp@wifi.cdmx.example"
    assert planned["email", "Gustavo A. Madero"]["target"] == "crew-gam@wifi.cdmx.example"
    assert planned["webhook", "Tlalpan"]["target"] == peers.hook.url
    assert [r["site"] for r in planned["open311", "Tlalpan"]["references"]] == [city_ledger.sites["Tlalpan"]]
    assert planned["open311", "Tlalpan"]["stops"] == 1 and planned["open311", "Tlalpan"]["sent"] == 1
    table = cli("crews", "send", "--dry-run")
    assert table.code == 0 and "would file" in table.out and "dry run: nothing was sent" in table.err
    assert peers.open311.requests == [] and _secrets_hidden(result.out, result.err, table.out, table.err)


def test_send_everything_then_again_files_nothing_new(cli, monkeypatch, peers, city_ledger):
    configure(cli, monkeypatch, peers)
    first = cli("crews", "send", "-f", "json")
    assert first.code == 0, first.err
    report = json.loads(first.out)
    assert report["ok"] and {d["status"] for d in report["deliveries"]} == {"sent"}
    assert sorted(m["message"]["Subject"].split(":")[0] for m in peers.smtp.messages) == [
        "Lista de cuadrilla Gustavo A. Madero", "Lista de cuadrilla Tlalpan"]  # Spanish: the default
    html = next(m for m in peers.smtp.messages if "Madero" in m["message"]["Subject"])["message"].get_body(("html",))
    assert "&lt;b&gt;X&lt;/b&gt;" in html.get_content() and "<b>X</b>" not in html.get_content()
    assert sorted(json.loads(r["body"])["zone"] for r in peers.hook.requests) == ["Gustavo A. Madero", "Tlalpan"]
    assert len(peers.open311.requests) == 2 and peers.open311.problems == []
    ledger = city_ledger.deliveries()
    assert {zone: d["open311"]["id"] for zone, d in ledger.items()} == {"Gustavo A. Madero": "1001", "Tlalpan": "1002"}
    assert all({"email", "webhook", "open311"} <= set(d) for d in ledger.values())

    second = cli("crews", "send", "--via", "open311")
    assert second.code == 0 and len(peers.open311.requests) == 2  # filed once, ever
    assert "nothing new to file: 1 filed before" in second.out
    assert city_ledger.deliveries() == ledger
    assert _secrets_hidden(first.out, first.err, second.out, second.err)


def test_one_zone_and_a_zone_without_stops(cli, monkeypatch, peers, city_ledger):
    configure(cli, monkeypatch, peers)
    result = cli("crews", "send", "--via", "webhook", "--zone", "tlalpan", "--zone", "TLAHUAC", "-f", "json")
    assert result.code == 0, result.err
    deliveries = json.loads(result.out)["deliveries"]
    assert [(d["zone"], d["status"], d["detail"]) for d in deliveries] == [
        ("Tlalpan", "sent", None), ("Tlahuac", "skipped", "no stops in this zone")]
    assert [json.loads(r["body"])["zone"] for r in peers.hook.requests] == ["Tlalpan"]
    assert cli("crews", "send", "--via", "webhook", "--zone", "atlantis").code == 3


def test_a_wrong_smtp_password_is_exit_5_and_nothing_recorded(cli, monkeypatch, peers, city_ledger):
    configure(cli, monkeypatch, peers, password="wrong-password")
    result = cli("crews", "send", "--via", "email")
    assert result.code == 5
    assert "error: email Tlalpan: SMTP 127.0.0.1" in result.err and "HOTSPOTCTL_CREWS_EMAIL_PASSWORD" in result.err
    assert "the next `hotspotctl crews send`" in result.err
    assert peers.smtp.messages == [] and city_ledger.deliveries() == {"Tlalpan": {}, "Gustavo A. Madero": {}}
    assert "wrong-password" not in result.out + result.err


def test_open311_down_is_exit_5_and_the_next_send_files_each_once(cli, monkeypatch, peers, city_ledger):
    port = free_port()
    configure(cli, monkeypatch, peers, open311_url=f"http://127.0.0.1:{port}/georeport/v2")
    down = cli("crews", "send", "--via", "open311", "-f", "json")
    assert down.code == 5
    assert "is not reachable" in down.err and json.loads(down.out)["ok"] is False
    assert city_ledger.deliveries() == {"Tlalpan": {}, "Gustavo A. Madero": {}}
    server = Open311Server(api_key=OPEN311_KEY, service_code="wifi", jurisdiction_id="cdmx", port=port,
                           places=peers.open311.places).start()
    try:
        assert cli("crews", "send", "--via", "open311").code == 0
        assert cli("crews", "send", "--via", "open311").code == 0
        assert len(server.requests) == 2 and server.problems == []
        assert sorted(d["open311"]["id"] for d in city_ledger.deliveries().values()) == ["1001", "1002"]
    finally:
        server.stop()
