"""Crew stops to Open311 GeoReport v2: a loopback endpoint that checks every field it receives."""

from __future__ import annotations

import json
import logging

import pytest

from hotspotctl.delivery.dispatch import dispatch
from hotspotctl.delivery.open311 import DESCRIPTION_MAX, Open311Sink, address, cut, description, request_form
from hotspotctl.errors import ConfigError
from hotspotctl.store.outages import get_outage, record_delivery
from tests.delivery.conftest import NOW, OPEN311_KEY, with_crews, zone_list
from tests.servers import Open311Server, free_port

ATTRIBUTES = {"causa": "{cause}", "zona": "Cuadrilla {zone}", "sitio": "{site}", "aps": "{aps_affected}",
              "prioridad": "P{priority}"}


def _expected(crew_lists) -> dict[tuple[str, str], dict[str, str]]:
    """(lat, long) -> the attribute[CODE] values the endpoint must receive for that stop."""
    return {(f"{s.lat:.6f}", f"{s.lon:.6f}"): {
        "attribute[causa]": s.cause, "attribute[zona]": f"Cuadrilla {zl.zone}", "attribute[sitio]": s.site,
        "attribute[aps]": str(s.aps_affected), "attribute[prioridad]": f"P{s.priority}"}
        for zl in crew_lists.lists for s in zl.stops}


@pytest.fixture
def endpoint(crew_lists):
    servers = []

    def start(**kwargs):
        server = Open311Server(api_key=OPEN311_KEY, service_code="wifi-publico", jurisdiction_id="cdmx.gob.mx",
                               places=_expected(crew_lists), **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _settings(url, **extra):
    return with_crews(open311={"url": url, "api_key": OPEN311_KEY, "service_code": "wifi-publico",
                               "jurisdiction_id": "cdmx.gob.mx", "attributes": ATTRIBUTES, "timeout_s": 5.0,
                               "max_retries": 2, **extra})


def _references(crew_lists):
    with crew_lists.ledger.store.read() as conn:
        return {i: get_outage(conn, i).delivery.get("open311") for i in crew_lists.outage_ids()}


def test_each_new_stop_is_filed_once_with_every_field(endpoint, crew_lists, caplog):
    caplog.set_level(logging.DEBUG)
    server = endpoint()
    settings = _settings(server.url)
    store = crew_lists.ledger.store
    report = dispatch(store, crew_lists.lists, settings, ["open311"], NOW)

    assert server.problems == [] and report.ok
    assert len(server.requests) == 3
    assert [(d.zone, d.status, d.sent, d.skipped) for d in report.deliveries] == [
        ("Iztapalapa", "sent", 2, 0), ("Tlalpan", "sent", 1, 0), ("Xochimilco", "skipped", 0, 0)]
    first = server.requests[0]
    assert (first["lat"], first["long"]) == ("19.357123", "-99.064456")
    assert first["address_string"] == 'Escuela "Niños Héroes" <Primaria> & Anexo, Iztapalapa, Ciudad de México'
    text = first["description"]
    assert "Cause: site offline" in text and "APs affected: 2 (ESC-NH_AP_01, ESC-NH_AP_02)" in text
    # the city's time for the people who read it, and UTC beside it
    assert "Since: 2026-11-22 01:00 CST (2026-11-22T07:00:00Z)" in text and "Clients affected: 40" in text
    assert "Action: Check the site's power and switch." in text
    assert "Map: https://" in text and "19.357123" in text

    ids = {s.site: s.outages for s in crew_lists.stops}
    refs = _references(crew_lists)
    # every outage of a stop carries its request's id (the pilares stop is two outages)
    assert {i: refs[i]["id"] for i in ids["9g3w-escuela"] + ids["9g3w-pilares"] + ids["9g3q-mercado"]} == {
        ids["9g3w-escuela"][0]: "1001", ids["9g3w-pilares"][0]: "1002", ids["9g3w-pilares"][1]: "1002",
        ids["9g3q-mercado"][0]: "1003"}
    assert all(ref["token"] is None and ref["at"] == NOW for ref in refs.values())
    assert report.deliveries[0].references[1] == {"site": "9g3w-pilares", "name": "PILARES Santa Cruz Meyehualco",
                                                  "id": "1002", "token": None, "outages": list(ids["9g3w-pilares"])}

    again = dispatch(store, crew_lists.lists, settings, ["open311"], NOW + 60)  # the same lists, made before filing
    assert again.ok and len(server.requests) == 3
    assert [(d.status, d.detail) for d in again.deliveries[:2]] == [
        ("skipped", "nothing new to file: 2 filed before"), ("skipped", "nothing new to file: 1 filed before")]
    assert _references(crew_lists) == refs

    shown = caplog.text + json.dumps(report.to_json()) + repr(settings) + repr(Open311Sink(settings.crews.open311))
    assert OPEN311_KEY not in shown


def test_stops_already_filed_or_recovered_are_not_filed(endpoint, crew_lists):
    server = endpoint()
    store = crew_lists.ledger.store
    izt, tlp = crew_lists.lists[0], crew_lists.lists[1]
    with store.write() as conn:  # a concurrent `hotspotctl run` filed the school after the list was made
        record_delivery(conn, izt.stops[0].outages, "open311", {"id": "77", "token": None, "at": NOW - 5})
        conn.exec_driver_sql(f"UPDATE outages SET closed_at = {NOW - 1} WHERE id = {tlp.stops[0].outages[0]}")
    from dataclasses import replace

    marked = replace(izt, stops=(izt.stops[0], replace(izt.stops[1], open311="1234")))
    report = dispatch(store, [marked, tlp], _settings(server.url), ["open311"], NOW)
    assert server.requests == [] and report.ok
    assert [(d.status, d.skipped, d.detail) for d in report.deliveries] == [
        ("skipped", 2, "nothing new to file: 2 filed before"),
        ("skipped", 1, "nothing new to file: 1 recovered since the list was made")]
    assert _references(crew_lists)[izt.stops[0].outages[0]]["id"] == "77"


def test_a_503_is_retried_and_filed_once(endpoint, crew_lists):
    server = endpoint(script=[(503, b'[{"code": 503, "description": "mantenimiento"}]')])
    report = dispatch(crew_lists.ledger.store, crew_lists.lists[1:2], _settings(server.url), ["open311"], NOW)
    assert report.ok and server.problems == []
    assert len(server.requests) == 2 and server.requests[0] == server.requests[1]
    assert _references(crew_lists)[crew_lists.outage_ids("Tlalpan")[0]]["id"] == "1001"


def test_a_refusal_shows_the_endpoint_description_and_the_other_stops_still_go(endpoint, crew_lists):
    server = endpoint(script=[(400, b'[{"code": 400, "description": "lat/long outside the jurisdiction"}]')])
    report = dispatch(crew_lists.ledger.store, crew_lists.lists[:1], _settings(server.url), ["open311"], NOW)
    [delivery] = report.deliveries
    assert (delivery.status, delivery.sent, delivery.failed) == ("failed", 1, 1)
    assert delivery.detail == (f"9g3w-escuela: Open311 http://127.0.0.1:{server.port} refused: HTTP 400: "
                               "lat/long outside the jurisdiction")
    assert len(server.requests) == 2  # not retried; the next stop filed
    refs = _references(crew_lists)
    assert refs[crew_lists.stops[0].outages[0]] is None and refs[crew_lists.stops[1].outages[0]]["id"] == "1001"


def test_the_endpoint_down_records_nothing_and_the_next_send_files_each_once(crew_lists):
    port = free_port()
    settings = _settings(f"http://127.0.0.1:{port}/georeport/v2")
    store = crew_lists.ledger.store
    report = dispatch(store, crew_lists.lists, settings, ["open311"], NOW)
    assert [(d.status, d.failed) for d in report.deliveries] == [("failed", 2), ("failed", 1), ("skipped", 0)]
    assert "is not reachable" in report.deliveries[0].detail
    assert "1 stop not tried: the next send files them" in report.deliveries[0].detail
    assert set(_references(crew_lists).values()) == {None}

    server = Open311Server(api_key=OPEN311_KEY, service_code="wifi-publico", jurisdiction_id="cdmx.gob.mx",
                           places=_expected(crew_lists), port=port).start()
    try:
        assert dispatch(store, crew_lists.lists, settings, ["open311"], NOW + 300).ok
        assert dispatch(store, crew_lists.lists, settings, ["open311"], NOW + 600).ok
        assert len(server.requests) == 3 and server.problems == []
        assert sorted({ref["id"] for ref in _references(crew_lists).values()}) == ["1001", "1002", "1003"]
    finally:
        server.stop()


def test_a_token_only_answer_is_kept_as_the_token(endpoint, crew_lists):
    server = endpoint(token_only=True)
    report = dispatch(crew_lists.ledger.store, crew_lists.lists[1:2], _settings(server.url), ["open311"], NOW)
    assert report.ok
    assert _references(crew_lists)[crew_lists.outage_ids("Tlalpan")[0]] == {"id": None, "token": "tok-1", "at": NOW}
    assert dispatch(crew_lists.ledger.store, crew_lists.lists[1:2], _settings(server.url), ["open311"], NOW).ok
    assert len(server.requests) == 1


def test_without_jurisdiction_the_field_is_not_sent(crew_lists):
    server = Open311Server(api_key=OPEN311_KEY, service_code="wifi-publico", places=_expected(crew_lists)).start()
    try:
        report = dispatch(crew_lists.ledger.store, crew_lists.lists[1:2],
                          _settings(server.url, jurisdiction_id=""), ["open311"], NOW)
        assert report.ok and server.problems == [] and "jurisdiction_id" not in server.requests[0]
    finally:
        server.stop()


def test_a_dry_run_sends_and_records_nothing(endpoint, crew_lists):
    server = endpoint()
    report = dispatch(crew_lists.ledger.store, crew_lists.lists, _settings(server.url), ["open311"], NOW,
                      dry_run=True)
    assert server.requests == [] and set(_references(crew_lists).values()) == {None}
    assert [(d.status, d.sent) for d in report.deliveries] == [("planned", 2), ("planned", 1), ("skipped", 0)]
    assert [r["site"] for r in report.deliveries[0].references] == ["9g3w-escuela", "9g3w-pilares"]


def test_the_description_fits_4000_characters(crew_lists):
    stop = crew_lists.stops[0]
    from dataclasses import replace

    big = replace(stop, aps=tuple(f"PILARES-MUY-LARGO-{n:04d}_AP_01" for n in range(400)), aps_affected=400,
                  action="Revisar la alimentación del sitio. " * 200)
    text = description(big, "Iztapalapa")
    assert len(text) <= DESCRIPTION_MAX
    assert "(PILARES-MUY-LARGO-0000_AP_01" in text and "and 380 more)" in text
    assert text.endswith(f"Map: {stop.map_url}")  # the action gives way, the map link stays
    action = text.split("Action: ")[1].split("\nMap: ")[0]
    kept = action.split(" … (")[0]
    assert big.action.startswith(kept) and big.action[len(kept)] == " "  # cut at a word, not inside one
    assert action.endswith(f" … ({len(big.action) - len(kept)} characters cut)")
    assert description(stop, "Iztapalapa") == cut(description(stop, "Iztapalapa"), DESCRIPTION_MAX)
    assert len(description(replace(big, name="Sitio " * 1000), "Iztapalapa")) <= DESCRIPTION_MAX
    spanish = description(big, "Iztapalapa", language="es")  # a zone whose crews read Spanish
    assert len(spanish) <= DESCRIPTION_MAX and spanish.endswith(f"Mapa: {stop.map_url}")
    assert spanish.startswith("Falla del Wi-Fi público en ") and "Causa: sitio sin servicio\n" in spanish
    assert "AP afectados: 400 (PILARES-MUY-LARGO-0000_AP_01" in spanish and "y 380 más)" in spanish
    assert "\nQué hacer: Revisar la alimentación del sitio." in spanish
    assert address(replace(stop, name="Sitio\r\nX", district=None)) == "Sitio X, Ciudad de México"
    form = request_form(stop, "Iztapalapa", _settings("http://x").crews.open311)
    assert "api_key" not in form and form["lat"] == "19.357123" and form["attribute[prioridad]"] == "P1"


def test_open311_settings_are_checked_before_anything_is_sent():
    with pytest.raises(ConfigError) as caught:
        dispatch(None, [], with_crews(open311={"url": "http://127.0.0.1:9/"}), ["open311"], NOW)  # type: ignore
    assert str(caught.value) == ("crew lists cannot be sent: open311 needs crews.open311.api_key "
                                 "(HOTSPOTCTL_CREWS_OPEN311_API_KEY), crews.open311.service_code "
                                 "(HOTSPOTCTL_CREWS_OPEN311_SERVICE_CODE)")
    with pytest.raises(ConfigError) as caught:
        dispatch(None, [], _settings("http://127.0.0.1:9/", attributes={"x": "{clients}"}), ["open311"], NOW)
    assert "crews.open311.attributes.x: {clients} is not a placeholder" in str(caught.value)


def test_two_senders_racing_file_each_stop_once(endpoint, crew_lists):
    """The "already filed?" check and the filing are one claim. Before: a `crews send` racing the
    service both read "not filed", and every stop was filed twice (6 requests for 3 stops)."""
    import threading

    server = endpoint(delay_s=0.5)  # both senders are mid-request at once
    settings = _settings(server.url)
    store = crew_lists.ledger.store
    reports = []
    start = threading.Barrier(2)

    def send():
        start.wait()
        reports.append(dispatch(store, crew_lists.lists, settings, ["open311"], NOW))

    senders = [threading.Thread(target=send) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(60)
    assert len(reports) == 2 and all(report.ok for report in reports)
    assert len(server.filed) == 3 and server.problems == []
    assert sum(d.sent for report in reports for d in report.deliveries) == 3
    refs = _references(crew_lists)
    assert sorted({ref["id"] for ref in refs.values()}) == ["1001", "1002", "1003"]


def test_a_refused_filing_gives_its_claim_back(endpoint, crew_lists):
    server = endpoint(script=[(400, b'[{"code": 400, "description": "fuera de servicio"}]')])
    store = crew_lists.ledger.store
    assert not dispatch(store, crew_lists.lists[1:2], _settings(server.url), ["open311"], NOW).ok
    assert _references(crew_lists)[crew_lists.outage_ids("Tlalpan")[0]] is None  # no claim left behind
    assert dispatch(store, crew_lists.lists[1:2], _settings(server.url), ["open311"], NOW + 60).ok
    assert _references(crew_lists)[crew_lists.outage_ids("Tlalpan")[0]]["id"] == "1001"


def test_the_nocs_own_list_is_never_filed_as_a_field_request(endpoint, crew_lists):
    """A controller's stop (zone NOC) is the NOC's, not a street crew's: Open311 files the field stops only."""
    ledger = crew_lists.ledger
    outage = ledger.open("controller:WLC-1", "NOC", ("WLC-1",), cause="controller_unreachable")
    noc = zone_list("NOC", ledger.stop(1, "controller:WLC-1", "WLC-1", None, 19.4326, -99.1332, ("WLC-1",),
                                       (outage,), cause="controller_unreachable", action="Check the controller."))
    server = endpoint()
    report = dispatch(ledger.store, [*crew_lists.lists, noc], _settings(server.url), ["open311"], NOW)
    assert report.ok
    assert len(server.requests) == 3 and server.problems == []  # the three field stops, nothing else
    by_zone = {d.zone: d for d in report.deliveries}
    assert (by_zone["NOC"].status, by_zone["NOC"].sent, by_zone["NOC"].skipped) == ("skipped", 0, 1)
    assert by_zone["NOC"].detail == "the NOC's own list is not filed as a field service request"
    with ledger.store.read() as conn:
        assert "open311" not in get_outage(conn, outage).delivery
