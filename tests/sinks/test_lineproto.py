"""Line protocol: the exact lines a cycle writes, escaping, and what is left out when unknown."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from hotspotctl.evaluate.rates import RateSample
from hotspotctl.inventory.model import AccessPoint
from hotspotctl.inventory.sites import geohash
from hotspotctl.sinks.lineproto import ApLines, escape_tag, field_set, line, tag_set

AP = AccessPoint(id="MC-0042", lat=19.4326, lon=-99.1332, program="Escuelas", district="Benito Juarez",
                 site_id="s-19.43260,-99.13320")
RATE = RateSample(ap="MC-0042", at=1_700_000_030.7, interval_s=60.0, uptime_s=86_400.9, in_bps=12_500_000.0,
                  out_bps=2_500_000.0, clients=25, link_mbps=1000.0, capacity_mbps=1000.0, per_user_mbps=40.0,
                  delivered_per_user_mbps=0.6, rebooted=False, events=())
TAGS = "ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas"


def test_an_up_ap_writes_status_and_traffic_with_units_in_the_names() -> None:
    out: list[str] = []
    ApLines().encode(out, AP, "centro", "ubiquiti_unifi", RATE, None, 3.14159, 1_700_000_030, 200.0)
    assert out == [
        f"ap_status,{TAGS},site=s-19.43260\\,-99.13320 up=1i,"
        "rebooted=0i,uptime_s=86400i,rtt_ms=3.142,clients=25i,per_user_mbps=40.0,below_target=1i 1700000030",
        f"ap_traffic,{TAGS},site=s-19.43260\\,-99.13320 in_bps=12500000.0,out_bps=2500000.0,link_mbps=1000.0,"
        "capacity_mbps=1000.0,delivered_per_user_mbps=0.6 1700000030",
    ]


def test_a_down_ap_writes_up_0_its_place_and_why() -> None:
    out: list[str] = []
    ApLines().encode(out, AP, "centro", None, None, "timeout", None, 1_700_000_030, 150.0)
    assert out == ['ap_status,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,'
                   'program=Escuelas,site=s-19.43260\\,-99.13320 up=0i,error_kind="timeout" 1700000030']


def test_unknown_values_are_left_out_not_written_as_zero() -> None:
    first = replace(RATE, in_bps=None, out_bps=None, per_user_mbps=None, delivered_per_user_mbps=None,
                    uptime_s=None, clients=None, rebooted=True)
    out: list[str] = []
    ApLines().encode(out, AP, "centro", "ubiquiti_unifi", first, None, None, 5, 200.0)
    assert out[0].split(" ")[-2] == "up=1i,rebooted=1i"
    assert out[1].split(" ")[-2] == "link_mbps=1000.0,capacity_mbps=1000.0"
    assert len(out) == 2


def test_meeting_the_target_is_below_target_0() -> None:
    out: list[str] = []
    ApLines().encode(out, AP, "centro", "p", replace(RATE, per_user_mbps=200.0), None, None, 5, 200.0)
    assert "per_user_mbps=200.0,below_target=0i" in out[0]


def test_device_and_file_strings_cannot_break_a_line() -> None:
    assert escape_tag("a b,c=d\\e\nf") == "a\\ b\\,c\\=d\\\\e f"
    assert field_set({"s": 'say "hi"\\\n', "n": None, "b": True, "f": 0.1}) == 's="say \\"hi\\"\\\\ ",b=1i,f=0.1'
    assert line("fleet_rollup", {"district": "Gustavo A. Madero", "empty": ""}, {"aps": 3}, 9) == (
        "fleet_rollup,district=Gustavo\\ A.\\ Madero aps=3i 9")


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@given(ap_id=_TEXT.filter(bool), district=_TEXT, program=_TEXT, zone=_TEXT, profile=_TEXT, site=_TEXT)
def test_the_cached_tag_set_is_the_generic_one(ap_id: str, district: str, program: str, zone: str, profile: str,
                                               site: str) -> None:
    ap = AccessPoint(id=ap_id, lat=19.4, lon=-99.1, program=program, district=district, site_id=site)
    expected = tag_set({"ap": ap_id, "site": site, "district": district, "program": program, "crew_zone": zone,
                        "geohash": geohash(19.4, -99.1)[:9], "profile": profile})
    assert ApLines().tags(ap, zone, profile) == expected
