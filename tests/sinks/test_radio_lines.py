"""ap_radio: the exact lines, what is left out, and radio names (device text) as tags, proved by a round trip
through the real InfluxDB 1.x (the same hostile strings as tests/sinks/test_lineproto.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hotspotctl.models.radios import Radio
from hotspotctl.settings import InfluxSettings
from hotspotctl.sinks.lineproto import RADIO_TEXTS, ApLines
from tests.servers import InfluxServer
from tests.sinks.test_lineproto import AP, CASES, RATE, T0, TAGS, _flush

WIFI0 = Radio("wifi0", if_index=7, band="2.4GHz", channel=6, frequency_mhz=2437, clients=3, utilization_pct=45.23,
              noise_floor_dbm=-95.0, tx_power_dbm=5.0, oper_up=True)


def test_one_line_per_radio_with_the_ap_tags_radio_and_band_in_key_order() -> None:
    out: list[str] = []
    lines = ApLines()
    radios = (WIFI0, Radio("Radio 2", channel=36, oper_up=False), Radio("wlan9", if_index=9, oper_up=True))
    lines.radios(out, AP, "centro", "ubiquiti_unifi", radios, 1_700_000_030)
    assert out == [
        "ap_radio,ap=MC-0042,band=2.4GHz,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,"
        "profile=ubiquiti_unifi,program=Escuelas,radio=wifi0,site=s-19.43260\\,-99.13320 channel=6i,"
        "frequency_mhz=2437i,clients=3i,utilization_pct=45.23,noise_floor_dbm=-95.0,tx_power_dbm=5.0,up=1i "
        "1700000030",
        # no band: no band tag; a name with a space is escaped
        "ap_radio,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,"
        "profile=ubiquiti_unifi,program=Escuelas,radio=Radio\\ 2,site=s-19.43260\\,-99.13320 channel=36i,up=0i "
        "1700000030",
        # wlan9 says nothing but its state (an IF-MIB radio interface as discovery saw it): no line
    ]
    assert out[0].startswith(f"ap_radio,{TAGS.split(',', 1)[0]},band=")
    # the AP's own lines keep their tag set (cached once for both)
    status: list[str] = []
    lines.encode(status, AP, "centro", "ubiquiti_unifi", RATE, None, None, 1_700_000_030, 200.0)
    assert status[0].startswith(f"ap_status,{TAGS},site=s-19.43260\\,-99.13320 up=1i")


def test_unknown_and_non_finite_figures_are_left_out() -> None:
    out: list[str] = []
    ApLines().radios(out, AP, "centro", None, (Radio("r", utilization_pct=float("nan"), noise_floor_dbm=-90.5),
                                               Radio("s", tx_power_dbm=float("inf"))), 5)
    assert out == ["ap_radio,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,"
                   "program=Escuelas,radio=r,site=s-19.43260\\,-99.13320 noise_floor_dbm=-90.5 5"]
    empty: list[str] = []
    ApLines().radios(empty, AP, "centro", None, (), 5)
    assert empty == []


def test_radio_names_escaped_once_give_the_same_lines_every_cycle_and_past_the_cache() -> None:
    """Radio bands and names are escaped once and kept (RADIO_TEXTS of them): the next cycle's lines, and
    a name met once the cache is full, are what escape_tag makes of them."""
    radios = (Radio("Radio 0,a=b\\", band="5 GHz", channel=36), Radio("wifi\u00e9 1", channel=1))
    lines = ApLines()
    first: list[str] = []
    again: list[str] = []
    lines.radios(first, AP, "centro", None, radios, 5)
    lines.radios(again, AP, "centro", None, radios, 5)
    assert first == again
    assert ",band=5\\ GHz," in first[0] and ",radio=Radio\\ 0\\,a\\=b\uff3c," in first[0]
    assert ",radio=wifi\u00e9\\ 1," in first[1]
    full = ApLines()
    for i in range(RADIO_TEXTS):
        full.radios([], AP, "centro", None, (Radio(f"r {i}", channel=1),), 5)
    past: list[str] = []
    full.radios(past, AP, "centro", None, radios, 5)
    assert past == first


def test_hostile_radio_names_read_back_from_influxdb_1x(influxdb: InfluxServer, influx_database: str,
                                                        tmp_path: Path) -> None:
    """A device names its radios: any bytes. Each case's text as a radio name (and as a band) on one AP, one
    line each, with a well-behaved radio beside it; every line arrives, with the documented mapping."""
    out: list[str] = []
    lines = ApLines()
    for i, (text, _, _) in enumerate(CASES):
        ap = replace(AP, id=f"R-{i:03d}")
        lines.radios(out, ap, "centro", "p", (Radio(text, if_index=i, band=text, channel=i, oper_up=True),
                                              replace(WIFI0, channel=i)), T0 + i)
    assert len(out) == 2 * len(CASES)
    _flush(InfluxSettings(url=influxdb.url, api="v1", database=influx_database), tmp_path / "spool", out)
    (series,) = influxdb.query("SELECT * FROM ap_radio WHERE radio != 'wifi0'", influx_database)
    rows = {row[0]: dict(zip(series["columns"], row, strict=True)) for row in series["values"]}
    assert sorted(rows) == [T0 + i for i in range(len(CASES))]
    for i, (text, tag, _) in enumerate(CASES):
        row = rows[T0 + i]
        expected = tag if tag is not None else None
        assert row["radio"] == (expected if expected is not None else f"radio {i}"), repr(text)
        assert row["band"] == expected, repr(text)  # an empty band is no tag
        assert (row["ap"], row["channel"], row["up"]) == (f"R-{i:03d}", i, 1), repr(text)
    good = influxdb.query("SELECT channel, utilization_pct, noise_floor_dbm FROM ap_radio WHERE radio = 'wifi0'",
                          influx_database)[0]["values"]
    assert good == [[T0 + i, i, 45.23, -95.0] for i in range(len(CASES))]


def test_a_cycle_encodes_each_answering_aps_radios() -> None:
    from hotspotctl.collectors.model import PollError, PollErrorKind
    from hotspotctl.evaluate.rollup import Rollup
    from hotspotctl.scheduling.cycle import ApOutcome
    from hotspotctl.scheduling.service import encode_cycle

    down = replace(AP, id="MC-0043")
    outcomes = [ApOutcome(AP, "p", RATE, None, 2.5, (WIFI0, Radio("wlan1", if_index=6, oper_up=True))),
                ApOutcome(down, "p", None, PollError("MC-0043", 1_700_000_031.0, PollErrorKind.TIMEOUT, "no answer"))]
    out = encode_cycle(ApLines(), outcomes, 1_700_000_000.0, Rollup(), {AP.id: "centro", down.id: "centro"},
                       {AP.id: 200.0, down.id: 200.0})
    radio_lines = [x for x in out if x.startswith("ap_radio,")]
    assert radio_lines == [
        "ap_radio,ap=MC-0042,band=2.4GHz,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=p,"
        "program=Escuelas,radio=wifi0,site=s-19.43260\\,-99.13320 channel=6i,frequency_mhz=2437i,clients=3i,"
        "utilization_pct=45.23,noise_floor_dbm=-95.0,tx_power_dbm=5.0,up=1i 1700000030"]
    assert ApOutcome(AP, "p", RATE, None, 2.5, (WIFI0,)).to_json()["radios"] == [WIFI0.to_json()]
    assert outcomes[1].to_json()["radios"] == []
