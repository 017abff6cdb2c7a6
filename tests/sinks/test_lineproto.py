"""Line protocol: the exact lines a cycle writes, what is left out when unknown, and escaping proved by a
round trip: hostile inventory and device strings written to the real InfluxDB 1.x and VictoriaMetrics and
read back through their query APIs."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

from hotspotctl.evaluate.rates import RateSample
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.models.ping import PingResult
from hotspotctl.models.radios import Radio
from hotspotctl.settings import InfluxSettings
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.lineproto import ApLines, line
from hotspotctl.sinks.spool import Spool
from tests.servers import InfluxServer, VictoriaMetricsServer

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
        "rebooted=0i,uptime_s=86400i,rtt_ms=3.142,clients=25i,per_user_mbps=40.000000,below_target=1i 1700000030",
        f"ap_traffic,{TAGS},site=s-19.43260\\,-99.13320 in_bps=12500000,out_bps=2500000,link_mbps=1000.0,"
        "capacity_mbps=1000.0,delivered_per_user_mbps=0.600000 1700000030",
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
    assert "per_user_mbps=200.000000,below_target=0i" in out[0]


# the figures of a real answer (the simulated city's AP 05-161-02, one cycle): what repr wrote, and what is written
REAL = replace(RATE, in_bps=19504587.80148877, out_bps=4876147.331732356, clients=11, per_user_mbps=1000.0 / 11,
               delivered_per_user_mbps=2.2164304666564654)


def test_computed_figures_are_written_at_their_resolution() -> None:
    """Rates to the bit per second, per-user Mbps to six decimals (a bit per second), the SNMP round trip to the
    microsecond: fixed point, not repr's 17 significant digits (docs/decisions/figures-at-their-resolution.md)."""
    out: list[str] = []
    ApLines().encode(out, AP, "centro", "p", REAL, None, 16.979305000859313, 5, 200.0)
    status, traffic = (dict(pair.split("=") for pair in text.split(" ")[-2].split(",")) for text in out)
    assert (status["rtt_ms"], status["per_user_mbps"], status["below_target"]) == ("16.979", "90.909091", "1i")
    assert (traffic["in_bps"], traffic["out_bps"], traffic["delivered_per_user_mbps"]) == (
        "19504588", "4876147", "2.216430")
    assert (traffic["link_mbps"], traffic["capacity_mbps"]) == ("1000.0", "1000.0")  # short already: repr
    # no value moves by more than half its resolution
    assert abs(float(traffic["in_bps"]) - REAL.in_bps) <= 0.5
    assert abs(float(status["per_user_mbps"]) - 1000.0 / 11) <= 0.5e-6


def test_the_judgement_is_the_full_figure_s_not_the_written_one() -> None:
    """below_target compares the double itself with the target: within half a bit per second under it, the
    written figure reads as the target and the point still says below (no whole-Mbps capacity gives this)."""
    out: list[str] = []
    ApLines().encode(out, AP, "centro", "p", replace(RATE, per_user_mbps=200.0 - 1e-7), None, None, 5, 200.0)
    assert "per_user_mbps=200.000000,below_target=1i" in out[0]


# -- escaping, proved by a round trip through the real servers ------------------------------------------
#
# Each case: what the inventory file or a device gives, what a tag must read back as, what a string field
# must read back as (None: the tag is left out). Line protocol cannot carry everything (InfluxDB's line
# protocol reference, https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/:
# "Line protocol does not support the newline character \n in tag values or field values"; and InfluxDB
# 1.x cannot store a backslash before a space, comma, equals sign or another backslash, or at the end of
# a tag value), so sinks/lineproto.py maps, and the README says so:
# - text that is not valid UTF-8 (bytes from a device) reads back with U+FFFD for each bad byte;
# - ASCII control characters (line breaks, tabs, ESC, NUL, DEL) read back as spaces;
# - in a tag value, a backslash line protocol would take for an escape reads back as U+FF3C (＼);
#   any other backslash, and every backslash in a string field, reads back as written.
BS, FW = "\\", "\uff3c"
HOSTILE = [
    ("MC-0042", "MC-0042", "MC-0042"),
    ("Escuela\nNorte", "Escuela Norte", "Escuela Norte"),
    ("Escuela\r\nNorte", "Escuela  Norte", "Escuela  Norte"),
    ("Mercado\tSur", "Mercado Sur", "Mercado Sur"),
    (f"PILARES{BS}Sur", f"PILARES{BS}Sur", f"PILARES{BS}Sur"),
    (f"C:{BS}{BS}share", f"C:{FW}{BS}share", f"C:{BS}{BS}share"),
    (f"AP{BS}", f"AP{FW}", f"AP{BS}"),
    (f"{BS}", FW, BS),
    (f"a{BS},b", f"a{FW},b", f"a{BS},b"),
    (f"a{BS} b", f"a{FW} b", f"a{BS} b"),
    (f"a{BS}=b", f"a{FW}=b", f"a{BS}=b"),
    (f'a{BS}"b', f'a{BS}"b', f'a{BS}"b'),
    (f"line{BS}\nbreak", f"line{FW} break", f"line{BS} break"),
    ('Escuela "Niños Héroes" <Primaria> & Anexo', 'Escuela "Niños Héroes" <Primaria> & Anexo',
     'Escuela "Niños Héroes" <Primaria> & Anexo'),
    ('"', '"', '"'),
    ("Santa Cruz, Meyehualco", "Santa Cruz, Meyehualco", "Santa Cruz, Meyehualco"),
    ("k=v,x=y", "k=v,x=y", "k=v,x=y"),
    ("  two  spaces ", "  two  spaces ", "  two  spaces "),
    (" ", " ", " "),
    ("#1 not a comment", "#1 not a comment", "#1 not a comment"),
    ("# x=1i 1", "# x=1i 1", "# x=1i 1"),
    (b"\xffAP\xfe-01".decode("utf-8", "surrogateescape"), "\ufffdAP\ufffd-01", "\ufffdAP\ufffd-01"),
    (b"caf\xe9".decode("latin-1"), "café", "café"),
    ("\x1b]0;pwned\x07\x1b[2J", " ]0;pwned  [2J", " ]0;pwned  [2J"),
    ("nul\x00del\x7f", "nul del ", "nul del "),
    ("漢字 🙂", "漢字 🙂", "漢字 🙂"),
    ("", None, "unknown"),  # no tag; an AP down for no known reason says error_kind="unknown"
]
_SPECIALS = [BS, BS, BS, ",", "=", " ", '"', "#", "\n", "\r", "\t", "\x00", "é", "漢", "🙂", "\udcff"]


def _random_cases(n: int) -> list[tuple[str, str | None, str]]:
    """Strings mixing every special character at every position (a fixed seed), with what each must read back as.

    The expectation restates the documented mapping above, character by character, not the encoder's code.
    """
    rng = random.Random(15)
    cases = []
    for _ in range(n):
        text = "".join(rng.choice(_SPECIALS) if rng.random() < 0.5 else rng.choice("aZ9-_.") for _ in range(
            rng.randint(1, 12)))
        field = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else " " if ord(c) < 32 or c == "\x7f" else c
                        for c in text)
        tag = re.sub(r"\\(?=[\\ ,=]|\Z)", FW, field)
        cases.append((text, tag, field))
    return cases


CASES = HOSTILE + _random_cases(150)
T0 = 1_700_000_000


def _batch() -> list[str]:
    """Per case (timestamp T0 + i): an AP whose id, site, district, programme, zone and profile are the case's
    string, down with the string as error_kind; a fleet_rollup for it as a district (the generic encoder);
    and a well-behaved AP beside each, which must arrive too."""
    out: list[str] = []
    for i, (text, _, _) in enumerate(CASES):
        ap = AccessPoint(id=text, lat=19.4, lon=-99.1, program=text, district=text, site_id=text)
        ApLines().encode(out, ap, text, text, None, text, None, T0 + i, 200.0)
        out.append(line("fleet_rollup", {"district": text}, {"aps": i, "up": 0}, T0 + i))
        ApLines().encode(out, replace(AP, id=f"OK-{i:03d}"), "centro", "ubiquiti_unifi", RATE, None, 2.5, T0 + i,
                         200.0)
    return out


TAGS_OF_CASE = ("ap", "crew_zone", "district", "profile", "program", "site")


def _flush(settings: InfluxSettings, spool_dir: Path, lines: list[str]) -> None:
    sink = InfluxSink(settings, Spool(spool_dir))
    try:
        sink.submit(lines)
        result = sink.flush()
    finally:
        sink.close()
    assert (result.ok, result.rejected, result.batches, result.points) == (True, 0, 1, len(lines)), result.error


def test_hostile_strings_read_back_from_influxdb_1x(influxdb: InfluxServer, influx_database: str,
                                                    tmp_path: Path) -> None:
    lines = _batch()
    _flush(InfluxSettings(url=influxdb.url, api="v1", database=influx_database), tmp_path / "spool", lines)
    db = influx_database
    (series,) = influxdb.query("SELECT * FROM ap_status WHERE ap !~ /^OK-/", db)
    rows = {row[0]: dict(zip(series["columns"], row, strict=True)) for row in series["values"]}
    assert sorted(rows) == [T0 + i for i in range(len(CASES))]  # every case arrived, none merged
    for i, (text, tag, field) in enumerate(CASES):
        row = rows[T0 + i]
        assert {key: row[key] for key in TAGS_OF_CASE} == dict.fromkeys(TAGS_OF_CASE, tag), repr(text)
        assert (row["error_kind"], row["up"]) == (field, 0), repr(text)
    (rollups,) = influxdb.query("SELECT * FROM fleet_rollup", db)
    assert [(r[0], r[rollups["columns"].index("district")]) for r in rollups["values"]] == [
        (T0 + i, tag) for i, (_, tag, _) in enumerate(CASES)]
    # nothing else in the batch was lost: the well-behaved AP beside each case, with its exact figures
    assert influxdb.count("ap_status", "up", db) == 2 * len(CASES)
    ok = influxdb.query("SELECT clients, per_user_mbps FROM ap_status WHERE ap =~ /^OK-/", db)[0]["values"]
    assert ok == [[T0 + i, 25, 40.0] for i in range(len(CASES))]


def test_fixed_point_figures_join_series_written_with_repr_as_floats(influxdb: InfluxServer, influx_database: str,
                                                                     tmp_path: Path) -> None:
    """A database written before (repr: ``in_bps=19504587.80148877``) takes the fixed-point points in the same
    series: a number without ``i`` is a float in line protocol, so no field changes type and none is refused."""
    before = [f"ap_traffic,ap=MC-0042 in_bps={REAL.in_bps!r},delivered_per_user_mbps="
              f"{REAL.delivered_per_user_mbps!r} {T0}",
              f"ap_status,ap=MC-0042 up=1i,rtt_ms=2.5,per_user_mbps={REAL.per_user_mbps!r} {T0}"]
    now: list[str] = []
    ApLines().encode(now, replace(AP, program=None, district=None, site_id=None, lat=None), "z", None, REAL, None,
                     16.979305000859313, T0 + 60, 200.0)
    _flush(InfluxSettings(url=influxdb.url, api="v1", database=influx_database), tmp_path / "spool", before + now)
    db = influx_database
    (traffic,) = influxdb.query("SELECT in_bps, delivered_per_user_mbps FROM ap_traffic WHERE ap = 'MC-0042'", db)
    assert traffic["values"] == [[T0, REAL.in_bps, REAL.delivered_per_user_mbps], [T0 + 60, 19504588.0, 2.21643]]
    (status,) = influxdb.query("SELECT rtt_ms, per_user_mbps FROM ap_status WHERE ap = 'MC-0042'", db)
    assert status["values"] == [[T0, 2.5, REAL.per_user_mbps], [T0 + 60, 16.979, 90.909091]]
    # every field the change formats is still a float, in both measurements
    (traffic_keys,) = influxdb.query("SHOW FIELD KEYS FROM ap_traffic", db)
    (status_keys,) = influxdb.query("SHOW FIELD KEYS FROM ap_status", db)
    types = dict(map(tuple, traffic_keys["values"] + status_keys["values"]))
    formatted = ("in_bps", "out_bps", "delivered_per_user_mbps", "rtt_ms", "per_user_mbps")
    assert {name: types[name] for name in formatted} == dict.fromkeys(formatted, "float")


def test_hostile_strings_read_back_from_victoria_metrics(victoria_metrics: VictoriaMetricsServer,
                                                         tmp_path: Path) -> None:
    lines = _batch()
    _flush(InfluxSettings(url=victoria_metrics.url, api="v2", org="cdmx", bucket="wifi", token="vm-token"),
           tmp_path / "spool", lines)

    def exported(name: str) -> list[tuple[int, dict[str, str], float]]:
        """(case, labels, value) of each sample at this test's timestamps (the server is shared; they are 2023's)."""
        found = victoria_metrics.export(f'{{__name__="{name}"}}')
        return [(at // 1000 - T0, m["metric"], value) for m in found
                for at, value in zip(m["timestamps"], m["values"], strict=True) if 0 <= at // 1000 - T0 < len(CASES)]

    # VictoriaMetrics stores numbers only (a string field arrives as 0): the string fields are checked on InfluxDB
    by_time: dict[int, list[dict[str, str]]] = {}
    for case, labels, _ in exported("ap_status_up"):
        by_time.setdefault(case, []).append(labels)
    assert sorted(by_time) == list(range(len(CASES)))
    for i, (text, tag, _) in enumerate(CASES):
        (labels,) = [m for m in by_time[i] if not m.get("ap", "").startswith("OK-")]
        expected = {} if tag is None else dict.fromkeys(TAGS_OF_CASE, tag)
        assert {k: v for k, v in labels.items() if k in TAGS_OF_CASE} == expected, repr(text)
    rollups = exported("fleet_rollup_aps")
    assert sorted((case, labels.get("district"), value) for case, labels, value in rollups) == [
        (i, tag, i) for i, (_, tag, _) in enumerate(CASES)]
    # nothing else in the batch was lost: the well-behaved AP beside each case, with its figures
    ok = exported("ap_status_clients")
    assert sorted((case, labels["ap"], value) for case, labels, value in ok) == [
        (i, f"OK-{i:03d}", 25) for i in range(len(CASES))]


def _golden_lines(lines: ApLines) -> list[str]:
    """Every branch of ApLines' encoders: all figures known, some unknown or not finite, ints where floats go."""
    out = []
    nan, inf = float("nan"), float("inf")
    odd = replace(AP, id="MC 7,=x", district=None, site_id="")
    first = replace(RATE, interval_s=None, in_bps=None, out_bps=None, per_user_mbps=None, delivered_per_user_mbps=None,
                    uptime_s=None, clients=None, link_mbps=100, capacity_mbps=100, rebooted=True)
    ints = replace(RATE, in_bps=12_500_000, out_bps=0, link_mbps=1000, capacity_mbps=300, per_user_mbps=12,
                   delivered_per_user_mbps=0, uptime_s=86_400, clients=0)
    partial = replace(RATE, clients=3, per_user_mbps=0.1 + 0.2, delivered_per_user_mbps=None,
                      in_bps=1e-7, out_bps=1.5e300, link_mbps=None, capacity_mbps=None)
    radios = (Radio("wifi0", 1, "2.4GHz", 6, 2437, 13, 47.28381823, -95.123456789, 20.0, True),
              Radio("Radio 1", 2, None, 36, 5180, 0, 0.0, -92.0, 23.5, False),
              Radio("ng", None, "5GHz", True, 5180, 2, 50, -90, 17, None),
              Radio("r3", 4, "6GHz", None, None, None, nan, inf, -inf, True),
              Radio("r4", 5, "6GHz", None, None, None, None, None, None, True),
              Radio("r5", 6, "5GHz", 149, None, 3, 12.5, None, inf, True),
              Radio("r6", 7, "5GHz", 1, 2, 3, 4.25, -5.5, 6.125, True))
    pings = (PingResult(host="10.0.0.1", sent=3, received=3, rtt_min_ms=0.051, rtt_avg_ms=0.30000000000000004,
                        rtt_max_ms=1.25, jitter_ms=0.1),
             PingResult(host="10.0.0.1", sent=3, received=0),
             PingResult(host="10.0.0.1", sent=3, received=2, rtt_min_ms=1, rtt_avg_ms=nan,
                        rtt_max_ms=inf, jitter_ms=None),
             PingResult(host="10.0.0.1", sent=0, received=0))
    for n, (ap, profile) in enumerate(((AP, "ubiquiti_unifi"), (odd, None))):
        at = 1_700_000_030 + n
        lines.encode(out, ap, "centro", profile, RATE, None, 3.14159265, at, 1.0)
        lines.encode(out, ap, "centro", profile, first, None, None, at, 1.0)
        lines.encode(out, ap, "centro", profile, ints, None, 2, at, 50.0)
        lines.encode(out, ap, "centro", profile, partial, None, 0.1 + 0.2, at, 0.3)
        lines.encode(out, ap, "centro", profile, None, "timeout", None, at, 1.0)
        lines.encode(out, ap, "centro", profile, None, 'auth "bad"', None, at, 1.0, True)
        lines.encode(out, ap, "centro", profile, None, None, None, at, 1.0)
        lines.radios(out, ap, "centro", profile, radios, at)
        for ping in pings:
            lines.ping(out, ap, "centro", profile, ping, at)
    return out


# What ApLines wrote before issue 19's second round of cuts (7a26e2a): every branch, byte for byte. Since issue 19's
# eighteenth part the figures computed are written at their resolution (in_bps, out_bps, per_user_mbps,
# delivered_per_user_mbps, rtt_ms: docs/decisions/figures-at-their-resolution.md); nothing else moved.
GOLDEN = [
    'ap_status,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 up=1i,rebooted=0i,uptime_s=86400i,rtt_ms=3.142,clients=25i,per_user_mbps=40.000000,below_target=0i 1700000030',
    'ap_traffic,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 in_bps=12500000,out_bps=2500000,link_mbps=1000.0,capacity_mbps=1000.0,delivered_per_user_mbps=0.600000 1700000030',
    'ap_status,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 up=1i,rebooted=1i 1700000030',
    'ap_traffic,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 link_mbps=100.0,capacity_mbps=100.0 1700000030',
    'ap_status,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 up=1i,rebooted=0i,uptime_s=86400i,rtt_ms=2.000,clients=0i,per_user_mbps=12.000000,below_target=1i 1700000030',
    'ap_traffic,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 in_bps=12500000,out_bps=0,link_mbps=1000.0,capacity_mbps=300.0,delivered_per_user_mbps=0.000000 1700000030',
    'ap_status,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 up=1i,rebooted=0i,uptime_s=86400i,rtt_ms=0.300,clients=3i,per_user_mbps=0.300000,below_target=0i 1700000030',
    'ap_traffic,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 in_bps=0,out_bps=1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240 1700000030',
    'ap_status,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 up=0i,error_kind="timeout" 1700000030',
    'ap_status,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 monitored=0i,error_kind="auth \\"bad\\"" 1700000030',
    'ap_status,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 up=0i,error_kind="unknown" 1700000030',
    'ap_radio,ap=MC-0042,band=2.4GHz,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,radio=wifi0,site=s-19.43260\\,-99.13320 channel=6i,frequency_mhz=2437i,clients=13i,utilization_pct=47.28381823,noise_floor_dbm=-95.123456789,tx_power_dbm=20.0,up=1i 1700000030',
    'ap_radio,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,radio=Radio\\ 1,site=s-19.43260\\,-99.13320 channel=36i,frequency_mhz=5180i,clients=0i,utilization_pct=0.0,noise_floor_dbm=-92.0,tx_power_dbm=23.5,up=0i 1700000030',
    'ap_radio,ap=MC-0042,band=5GHz,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,radio=ng,site=s-19.43260\\,-99.13320 channel=1i,frequency_mhz=5180i,clients=2i,utilization_pct=50.0,noise_floor_dbm=-90.0,tx_power_dbm=17.0 1700000030',
    'ap_radio,ap=MC-0042,band=5GHz,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,radio=r5,site=s-19.43260\\,-99.13320 channel=149i,clients=3i,utilization_pct=12.5,up=1i 1700000030',
    'ap_radio,ap=MC-0042,band=5GHz,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,radio=r6,site=s-19.43260\\,-99.13320 channel=1i,frequency_mhz=2i,clients=3i,utilization_pct=4.25,noise_floor_dbm=-5.5,tx_power_dbm=6.125,up=1i 1700000030',
    'ap_ping,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 sent=3i,received=3i,loss_pct=0.0,rtt_min_ms=0.051,rtt_avg_ms=0.30000000000000004,rtt_max_ms=1.25,jitter_ms=0.1 1700000030',
    'ap_ping,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 sent=3i,received=0i,loss_pct=100.0 1700000030',
    'ap_ping,ap=MC-0042,crew_zone=centro,district=Benito\\ Juarez,geohash=9g3w81t7j,profile=ubiquiti_unifi,program=Escuelas,site=s-19.43260\\,-99.13320 sent=3i,received=2i,loss_pct=33.3,rtt_min_ms=1.0 1700000030',
    'ap_status,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas up=1i,rebooted=0i,uptime_s=86400i,rtt_ms=3.142,clients=25i,per_user_mbps=40.000000,below_target=0i 1700000031',
    'ap_traffic,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas in_bps=12500000,out_bps=2500000,link_mbps=1000.0,capacity_mbps=1000.0,delivered_per_user_mbps=0.600000 1700000031',
    'ap_status,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas up=1i,rebooted=1i 1700000031',
    'ap_traffic,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas link_mbps=100.0,capacity_mbps=100.0 1700000031',
    'ap_status,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas up=1i,rebooted=0i,uptime_s=86400i,rtt_ms=2.000,clients=0i,per_user_mbps=12.000000,below_target=1i 1700000031',
    'ap_traffic,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas in_bps=12500000,out_bps=0,link_mbps=1000.0,capacity_mbps=300.0,delivered_per_user_mbps=0.000000 1700000031',
    'ap_status,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas up=1i,rebooted=0i,uptime_s=86400i,rtt_ms=0.300,clients=3i,per_user_mbps=0.300000,below_target=0i 1700000031',
    'ap_traffic,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas in_bps=0,out_bps=1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240 1700000031',
    'ap_status,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas up=0i,error_kind="timeout" 1700000031',
    'ap_status,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas monitored=0i,error_kind="auth \\"bad\\"" 1700000031',
    'ap_status,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas up=0i,error_kind="unknown" 1700000031',
    'ap_radio,ap=MC\\ 7\\,\\=x,band=2.4GHz,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas,radio=wifi0 channel=6i,frequency_mhz=2437i,clients=13i,utilization_pct=47.28381823,noise_floor_dbm=-95.123456789,tx_power_dbm=20.0,up=1i 1700000031',
    'ap_radio,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas,radio=Radio\\ 1 channel=36i,frequency_mhz=5180i,clients=0i,utilization_pct=0.0,noise_floor_dbm=-92.0,tx_power_dbm=23.5,up=0i 1700000031',
    'ap_radio,ap=MC\\ 7\\,\\=x,band=5GHz,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas,radio=ng channel=1i,frequency_mhz=5180i,clients=2i,utilization_pct=50.0,noise_floor_dbm=-90.0,tx_power_dbm=17.0 1700000031',
    'ap_radio,ap=MC\\ 7\\,\\=x,band=5GHz,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas,radio=r5 channel=149i,clients=3i,utilization_pct=12.5,up=1i 1700000031',
    'ap_radio,ap=MC\\ 7\\,\\=x,band=5GHz,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas,radio=r6 channel=1i,frequency_mhz=2i,clients=3i,utilization_pct=4.25,noise_floor_dbm=-5.5,tx_power_dbm=6.125,up=1i 1700000031',
    'ap_ping,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas sent=3i,received=3i,loss_pct=0.0,rtt_min_ms=0.051,rtt_avg_ms=0.30000000000000004,rtt_max_ms=1.25,jitter_ms=0.1 1700000031',
    'ap_ping,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas sent=3i,received=0i,loss_pct=100.0 1700000031',
    'ap_ping,ap=MC\\ 7\\,\\=x,crew_zone=centro,geohash=9g3w81t7j,program=Escuelas sent=3i,received=2i,loss_pct=33.3,rtt_min_ms=1.0 1700000031',
]


def test_the_encoders_write_byte_for_byte_what_they_wrote() -> None:
    """A golden of ApLines' lines (ap_status, ap_traffic, ap_radio, ap_ping) over every branch: figures known or
    not, finite or not, ints where floats go, escaped tags, a tag left out. The fast paths (issue 19) change
    nothing written; a second encoder, its caches warm, neither."""
    lines = ApLines()
    assert _golden_lines(lines) == GOLDEN
    assert _golden_lines(lines) == GOLDEN
