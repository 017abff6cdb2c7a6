"""The crews' done links: signed by reports.done, served by `crews receive` (delivery.done.DoneReceiver) over
real HTTP on loopback, on each store backend. A good link records the visit; a bad one is 403, nothing written."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest

from hotspotctl import clock
from hotspotctl.delivery.done import DoneReceiver
from hotspotctl.errors import InputError
from hotspotctl.evaluate.outages import LedgerUpdate, Outage
from hotspotctl.reports.done import done_link, done_signature, verify_done
from hotspotctl.settings import CrewSettings
from hotspotctl.store import Store
from hotspotctl.store.audit import list_actions
from hotspotctl.store.outages import get_outage, save_ledger, update_outage

NOW = 1_795_334_400.0  # 2026-11-22T08:00:00Z, 02:00 in Mexico City
CDMX = ZoneInfo("America/Mexico_City")
SECRET = "s3cret-for-the-crews-links-0123456789"
HOSTILE = '<script>alert("x")</script> & "quotes"'


def _outage(site: str, zone: str, ap: str) -> Outage:
    return Outage(id=None, site=site, zone=zone, cause="offline", causes=("offline",), aps=(ap,), aps_now=(ap,),
                  opened_at=NOW - 3600, updated_at=NOW - 60, peak_aps=1, peak_clients=4, clients_now=4)


@pytest.fixture
def ledger(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """Outages 1 (SITE-A, Sur), 2 (a hostile site id, Norte), 3 (SITE-C, Sur: assigned to cuadrilla 3)."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    with store.write() as conn:
        save_ledger(conn, LedgerUpdate([_outage("SITE-A", "Sur", "A-1"), _outage(HOSTILE, "Norte", "B-1"),
                                        _outage("SITE-C", "Sur", "C-1")], [], []))
        update_outage(conn, 3, assigned_to="cuadrilla 3", assigned_at=NOW - 30)
    return store


@pytest.fixture
def receiver(ledger: Store) -> Iterator[DoneReceiver]:
    with DoneReceiver(ledger, SECRET, CDMX, host="127.0.0.1", port=0).start() as running:
        yield running


def _settings(receiver: DoneReceiver) -> CrewSettings:
    host, port = receiver.address
    return CrewSettings(done_url=f"http://{host}:{port}/done", done_secret=SECRET)


def _fetch(url: str, form: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    data = urlencode(form).encode() if form is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(), dict(refused.headers)


def _visits(store: Store, outage_id: int) -> list[dict]:
    with store.read() as conn:
        outage = get_outage(conn, outage_id)
    assert outage is not None
    return [dict(v) for v in outage.visits]


def _audit(store: Store) -> list[tuple[str, list[str]]]:
    with store.read() as conn:
        return [(e.action, list(e.targets)) for e in list_actions(conn, limit=None)]


def test_the_link_signs_the_ids_and_only_they_verify():
    settings = CrewSettings(done_url="https://noc.example.org/done?lang=es", done_secret=SECRET)
    link = done_link([3, 1, 3], settings)
    assert link is not None
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "noc.example.org", "/done")
    assert (query["lang"], query["stop"]) == (["es"], ["1,3"])
    assert query["sig"] == [done_signature([1, 3], SECRET)] and len(query["sig"][0]) == 64
    assert verify_done("1,3", query["sig"][0], SECRET) == (1, 3)
    for stop, sig in (("1,3", query["sig"][0].upper()), ("1", query["sig"][0]), ("3,1", query["sig"][0]),
                      ("01,3", query["sig"][0]), ("1,3", ""), ("", ""), ("1,3", query["sig"][0][:-1]),
                      ("1,x", query["sig"][0])):
        assert verify_done(stop, sig, SECRET) is None, (stop, sig)
    assert verify_done("1,3", query["sig"][0], "another-secret-of-16+") is None
    assert verify_done("1,3", query["sig"][0], "") is None
    # no link unless both settings are set, and none for a stop without outages
    assert done_link([1], CrewSettings(done_url="https://noc.example.org/done")) is None
    assert done_link([1], CrewSettings(done_secret=SECRET)) is None
    assert done_link([], settings) is None
    assert SECRET not in link


def test_a_good_link_shows_a_form_on_get_and_records_the_visit_on_post(ledger, receiver):
    link = done_link([1], _settings(receiver))
    assert link is not None
    status, page, headers = _fetch(link)
    assert status == 200 and "¿Visita hecha? / Visit done?" in page and 'method="post"' in page
    assert headers["Content-Type"] == "text/html; charset=utf-8" and headers["Cache-Control"] == "no-store"
    assert _visits(ledger, 1) == [] and _audit(ledger) == []  # a GET writes nothing (mail scanners open links)

    status, page, _ = _fetch(link, {"by": "cuadrilla sur 2", "note": "breaker reset", "fixed": "1"})
    assert status == 200 and "Visita registrada / Visit recorded" in page and "cuadrilla sur 2" in page
    assert _visits(ledger, 1) == [{"at": NOW, "by": "cuadrilla sur 2", "note": "breaker reset", "via": "link",
                                   "fixed": True}]
    assert _audit(ledger) == [("done", ["outage:1"])]
    with ledger.read() as conn:
        outage = get_outage(conn, 1)
    assert outage is not None and outage.notes == "2026-11-22 02:00 cuadrilla sur 2: visited (link), fixed: breaker reset"
    assert outage.open  # a visit closes nothing: the run does when the APs are back


def test_who_is_the_assignee_or_the_zones_crew_when_the_form_does_not_say(ledger, receiver):
    settings = _settings(receiver)
    for ids in ([3], [1]):
        link = done_link(ids, settings)
        assert link is not None
        assert _fetch(link, {"fixed": "0"})[0] == 200
    assert [(v["by"], v["fixed"]) for v in _visits(ledger, 3)] == [("cuadrilla 3", False)]
    assert [(v["by"], v["fixed"]) for v in _visits(ledger, 1)] == [("crew Sur", False)]


def test_a_bad_signature_is_403_and_nothing_is_written(ledger, receiver):
    settings = _settings(receiver)
    good = done_link([1], settings)
    assert good is not None
    forged = good.replace("stop=1", "stop=2")  # another stop under stop 1's signature
    base = settings.done_url
    for url in (forged, f"{base}?stop=1&sig={'0' * 64}", f"{base}?stop=1", base, f"{base}?stop=1&sig="):
        for form in (None, {"by": "intruder", "fixed": "1"}):
            status, page, _ = _fetch(url, form)
            assert status == 403, (url, form)
            assert "Enlace no válido / Invalid link" in page and "intruder" not in page
    wrong_key = done_link([1], CrewSettings(done_url=base, done_secret="not-the-receivers-secret"))
    assert wrong_key is not None and _fetch(wrong_key, {"by": "x"})[0] == 403
    assert [_visits(ledger, i) for i in (1, 2, 3)] == [[], [], []]
    assert _audit(ledger) == []


def test_hostile_text_is_inert_in_the_pages_and_kept_as_text(ledger, receiver):
    link = done_link([2], _settings(receiver))
    assert link is not None
    status, page, _ = _fetch(link)
    assert status == 200 and "<script>" not in page and "&lt;script&gt;" in page
    status, page, _ = _fetch(link, {"by": HOSTILE, "note": HOSTILE})
    assert status == 200 and "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)" in page
    (visit,) = _visits(ledger, 2)
    assert (visit["by"], visit["note"]) == (HOSTILE, HOSTILE)
    too_long = _fetch(link, {"note": "x" * 1001})
    assert too_long[0] == 400 and len(_visits(ledger, 2)) == 1


def test_a_link_to_an_outage_no_longer_in_the_ledger_is_404(ledger, receiver):
    link = done_link([99], _settings(receiver))
    assert link is not None
    assert _fetch(link, {"fixed": "1"})[0] == 404
    assert _audit(ledger) == []


def test_the_receiver_needs_its_secret(ledger):
    with pytest.raises(InputError, match=r"crews\.done_secret is not set"):
        DoneReceiver(ledger, "", CDMX, port=0)


def test_the_json_of_a_visit_is_what_show_prints(ledger, receiver):
    link = done_link([1], _settings(receiver))
    assert link is not None and _fetch(link, {"by": "c1"})[0] == 200
    with ledger.read() as conn:
        outage = get_outage(conn, 1)
    assert outage is not None
    assert json.loads(json.dumps(outage.to_json(NOW)))["visits"] == [
        {"at": NOW, "by": "c1", "note": "", "via": "link", "fixed": None}]
