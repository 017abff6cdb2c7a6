"""Crew lists by email, against aiosmtpd requiring STARTTLS (trustme certificates) and a login."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import logging

import pytest

from hotspotctl.delivery import email as email_sink
from hotspotctl.delivery.dispatch import dispatch
from hotspotctl.delivery.email import EmailSink, build_message, recipients
from hotspotctl.errors import ConfigError
from hotspotctl.store.outages import get_outage
from tests.delivery.conftest import NOW, TRICKY_NAME, email_settings, with_crews, zone_list
from tests.servers import SmtpServer

DAY = "2026-11-22"  # NOW in Mexico City (the lists' zone), not the machine's


def _parts(message):
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = list(message.iter_attachments())
    return plain.get_content(), html.get_content(), attachments


def test_one_message_per_zone_over_starttls_with_login(smtp_server, crew_lists, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    settings = email_settings(smtp_server, to=("noc@wifi.cdmx.example",))
    coyoacan = crew_lists.ledger.stop(1, "9g3t-coy", "Jardín Centenario", "Coyoacan", 19.35, -99.162,
                                      ("JC_AP_01",), (crew_lists.ledger.open("9g3t-coy", "Coyoacan", ("JC_AP_01",)),))
    lists = [*crew_lists.lists, zone_list("Coyoacan", coyoacan)]
    # Coyoacan has no zone recipients of its own: crews.email.to only
    report = dispatch(crew_lists.ledger.store, lists, settings, ["email"], NOW)

    assert report.ok
    by_zone = {d.zone: d for d in report.deliveries}
    assert {z: d.status for z, d in by_zone.items()} == {
        "Iztapalapa": "sent", "Tlalpan": "sent", "Xochimilco": "skipped", "Coyoacan": "sent"}
    assert by_zone["Xochimilco"].detail == "no stops in this zone"
    assert smtp_server.logins == [(SmtpServer.USER, True)]
    assert len(smtp_server.messages) == 3 and all(m["tls"] for m in smtp_server.messages)
    got = {m["message"]["Subject"]: m for m in smtp_server.messages}
    izt = got[f"Crew list Iztapalapa: 2 stops ({DAY})"]
    tlp = got[f"Crew list Tlalpan: 1 stop ({DAY})"]
    assert sorted(izt["rcpt_tos"]) == ["crew-izt@wifi.cdmx.example", "jefe-izt@wifi.cdmx.example",
                                       "noc@wifi.cdmx.example"]
    assert izt["message"]["To"] == "crew-izt@wifi.cdmx.example, jefe-izt@wifi.cdmx.example, noc@wifi.cdmx.example"
    assert tlp["rcpt_tos"] == ["crew-tlp@wifi.cdmx.example", "noc@wifi.cdmx.example"]
    assert got[f"Crew list Coyoacan: 1 stop ({DAY})"]["rcpt_tos"] == ["noc@wifi.cdmx.example"]
    assert izt["mail_from"] == "noc@wifi.cdmx.example" and izt["message"]["From"] == "noc@wifi.cdmx.example"

    plain, html, attachments = _parts(izt["message"])
    assert izt["message"].get_content_type() == "multipart/mixed"
    assert f"1. {TRICKY_NAME} (Iztapalapa): site offline, 2 APs, 0 people affected (40 clients seen), since " \
           "2026-11-22 01:00 CST" in plain
    assert plain.startswith(f"Crew list Iztapalapa: 2 stops ({DAY}), generated 2026-11-22 02:00 CST")
    assert "2. PILARES Santa Cruz Meyehualco (Iztapalapa): AP down, 2 APs" in plain
    assert "Escuela &quot;Niños Héroes&quot; &lt;Primaria&gt; &amp; Anexo" in html
    assert "<Primaria>" not in html and "PILARES Santa Cruz Meyehualco" in html
    assert "Mercado de Tlalpan" not in html  # one zone per message
    [attachment] = attachments
    assert attachment.get_filename() == f"crews-iztapalapa-{DAY}.csv"
    assert attachment.get_content_type() == "text/csv"
    rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
    assert [(r["zone"], r["order"], r["site"], r["name"], r["aps"], r["clients"]) for r in rows] == [
        ("Iztapalapa", "1", "9g3w-escuela", TRICKY_NAME, "ESC-NH_AP_01 ESC-NH_AP_02", "40"),
        ("Iztapalapa", "2", "9g3w-pilares", "PILARES Santa Cruz Meyehualco", "PILARES-SC_AP_01 PILARES-SC_AP_02",
         "12")]

    with crew_lists.ledger.store.read() as conn:
        for outage_id in crew_lists.outage_ids("Iztapalapa"):
            sent = get_outage(conn, outage_id).delivery["email"]
            assert sent["message_id"] == izt["message"]["Message-ID"] and sent["at"] == NOW
            assert sent["to"] == izt["rcpt_tos"]
        assert get_outage(conn, crew_lists.outage_ids("Tlalpan")[0]).delivery["email"]["zone"] == "Tlalpan"

    out = capsys.readouterr()
    shown = [caplog.text, out.out, out.err, repr(settings), repr(settings.crews.email),
             repr(EmailSink(settings.crews.email)), json.dumps(report.to_json())]
    shown += [m["raw"].decode("utf-8", "replace") for m in smtp_server.messages]
    assert not [text for text in shown if SmtpServer.PASSWORD in text]


def test_the_day_and_times_are_the_citys_even_when_utc_has_moved_on(smtp_server, crew_lists):
    """05:30 UTC on the 22nd is 23:30 on the 21st in Mexico City: the subject, the file and the body say the 21st."""
    late = NOW - 2.5 * 3600  # 2026-11-22T05:30:00Z
    zl = zone_list("Tlalpan", *crew_lists.lists[1].stops, generated_at=late)
    settings = email_settings(smtp_server, to=("noc@wifi.cdmx.example",))
    message = build_message(zl, settings.crews.email, ("noc@wifi.cdmx.example",))
    assert message["Subject"] == "Crew list Tlalpan: 1 stop (2026-11-21)"
    plain, _html, [attachment] = _parts(message)
    assert plain.startswith("Crew list Tlalpan: 1 stop (2026-11-21), generated 2026-11-21 23:30 CST")
    assert "since 2026-11-22 01:00 CST" in plain  # the stop's own time (07:00 UTC)
    assert attachment.get_filename() == "crews-tlalpan-2026-11-21.csv"
    row = next(csv.DictReader(io.StringIO(attachment.get_content())))
    assert row["since"] == "2026-11-22T01:00:00-06:00"


def test_a_zone_without_recipients_is_skipped_and_says_what_to_set(smtp_server, crew_lists):
    settings = email_settings(smtp_server, zones={"Iztapalapa": "crew-izt@wifi.cdmx.example"})
    report = dispatch(crew_lists.ledger.store, crew_lists.lists, settings, ["email"], NOW)
    tlalpan = next(d for d in report.deliveries if d.zone == "Tlalpan")
    assert (tlalpan.status, tlalpan.skipped) == ("skipped", 1)
    assert "no recipients" in tlalpan.detail and "crews.email.zones['Tlalpan']" in tlalpan.detail
    assert "HOTSPOTCTL_CREWS_EMAIL_TO" in tlalpan.detail
    assert report.ok and [m["rcpt_tos"] for m in smtp_server.messages] == [["crew-izt@wifi.cdmx.example"]]
    with crew_lists.ledger.store.read() as conn:
        assert "email" not in get_outage(conn, crew_lists.outage_ids("Tlalpan")[0]).delivery


def test_a_wrong_password_fails_every_zone_and_records_nothing(smtp_server, crew_lists, caplog):
    caplog.set_level(logging.DEBUG)
    settings = email_settings(smtp_server, password="not-the-password")
    report = dispatch(crew_lists.ledger.store, crew_lists.lists, settings, ["email"], NOW)
    assert not report.ok
    failed = [d for d in report.deliveries if d.status == "failed"]
    assert [d.zone for d in failed] == ["Iztapalapa", "Tlalpan"]
    assert all("refused the login of 'crews-bot'" in d.detail and "HOTSPOTCTL_CREWS_EMAIL_PASSWORD" in d.detail
               for d in failed)
    # one connection, not one per zone: smtplib tries PLAIN, then LOGIN
    assert smtp_server.messages == [] and smtp_server.logins == [(SmtpServer.USER, False)] * 2
    with crew_lists.ledger.store.read() as conn:
        assert all(get_outage(conn, i).delivery == {} for i in crew_lists.outage_ids())
    assert "not-the-password" not in caplog.text + json.dumps(report.to_json())


def test_an_untrusted_certificate_fails_and_names_ca_file(smtp_server, crew_lists):
    settings = email_settings(smtp_server, ca_file="")  # the system's CAs do not know the test CA
    report = dispatch(crew_lists.ledger.store, crew_lists.lists, settings, ["email"], NOW)
    detail = report.failures[0].detail
    assert "TLS failed" in detail and "crews.email.ca_file" in detail
    assert smtp_server.logins == [] and smtp_server.messages == []


@pytest.mark.parametrize(("tls", "problem"), [
    ("none", "crews.email.tls"),  # no STARTTLS: this server offers no login in clear
    ("ssl", "TLS failed"),  # TLS from the first byte, to a server that expects plain SMTP then STARTTLS
])
def test_tls_is_what_crews_email_tls_says_and_nothing_else(smtp_server, crew_lists, tls, problem):
    """One choice: "none" never upgrades, "ssl" never speaks plain SMTP first ("starttls" is the first test)."""
    report = dispatch(crew_lists.ledger.store, crew_lists.lists, email_settings(smtp_server, tls=tls), ["email"], NOW)
    assert [d.status for d in report.deliveries] == ["failed", "failed", "skipped"]
    assert problem in report.failures[0].detail
    assert smtp_server.messages == [] and smtp_server.logins == []


def test_the_server_away_is_a_failure_naming_host_and_port(crew_lists):
    from tests.servers import free_port

    settings = with_crews(email={"host": "127.0.0.1", "port": free_port(), "to": ("noc@wifi.cdmx.example",)})
    report = dispatch(crew_lists.ledger.store, crew_lists.lists, settings, ["email"], NOW)
    assert [d.status for d in report.deliveries] == ["failed", "failed", "skipped"]
    assert "is not reachable" in report.failures[0].detail and "crews.email.port" in report.failures[0].detail


def test_email_needs_a_host():
    with pytest.raises(ConfigError) as caught:
        dispatch(None, [], with_crews(), ["email"], NOW)  # type: ignore[arg-type]
    assert "crews.email.host (HOTSPOTCTL_CREWS_EMAIL_HOST)" in str(caught.value)


def test_device_strings_cannot_break_headers(crew_lists):
    zone = "Tlalpan\r\nBcc: intruder@example.org"
    stop = crew_lists.lists[1].stops[0]
    settings = with_crews(email={"host": "x", "zones": {zone: "crew@wifi.cdmx.example\r\nX-Evil: 1"}})
    to = recipients(settings.crews.email, zone)
    assert to == ("crew@wifi.cdmx.example X-Evil: 1",)  # one line; the server would refuse it, not obey it
    message = build_message(zone_list(zone, stop), settings.crews.email, ("crew@wifi.cdmx.example",))
    assert message["Subject"] == f"Crew list Tlalpan Bcc: intruder@example.org: 1 stop ({DAY})"
    head = message.as_bytes().split(b"\n\n", 1)[0]
    assert [line for line in head.splitlines() if line.lower().startswith((b"bcc", b"x-evil"))] == []
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["Subject"] == message["Subject"]
    assert message.get_body(("plain",)).get_content().startswith("Crew list Tlalpan Bcc: intruder@example.org")
    assert next(message.iter_attachments()).get_filename() == f"crews-tlalpan-bcc-intruder-example-org-{DAY}.csv"
    assert email_sink.slug("Gustavo A. Madero") == "gustavo-a-madero"


def test_the_nocs_own_list_goes_to_the_noc_only(smtp_server, crew_lists):
    """crews.email.to is the field crews' address: a controller's stop (zone NOC) goes only to the
    addresses crews.email.zones["NOC"] names, and with none it is skipped, never mailed to the crews."""
    ledger = crew_lists.ledger
    outage = ledger.open("controller:WLC-1", "NOC", ("WLC-1",), cause="controller_unreachable")
    noc = zone_list("NOC", ledger.stop(1, "controller:WLC-1", "WLC-1", None, 19.4326, -99.1332, ("WLC-1",),
                                       (outage,), cause="controller_unreachable", action="Check the controller."))
    crews_only = email_settings(smtp_server, to=("cuadrillas@wifi.cdmx.example",))
    report = dispatch(ledger.store, [noc], crews_only, ["email"], NOW)
    assert [(d.zone, d.status, d.skipped) for d in report.deliveries] == [("NOC", "skipped", 1)]
    assert smtp_server.messages == []
    noc_too = email_settings(smtp_server, to=("cuadrillas@wifi.cdmx.example",),
                             zones={"NOC": "noc@wifi.cdmx.example"})
    assert recipients(noc_too.crews.email, "noc") == ("noc@wifi.cdmx.example",)
    report = dispatch(ledger.store, [noc], noc_too, ["email"], NOW)
    assert [(d.zone, d.status, d.sent) for d in report.deliveries] == [("NOC", "sent", 1)]
    assert [m["rcpt_tos"] for m in smtp_server.messages] == [["noc@wifi.cdmx.example"]]
