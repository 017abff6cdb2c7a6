"""The RF health dashboard and the hotspot dashboard's radio panels, on ap_radio points with known figures.

The points are literal line protocol as issue 17's SPEC §2 defines ``ap_radio`` (tests/grafana/conftest.py:
``radio_influx``), three cycles a minute apart in their own database of Debian's InfluxDB 1.x. Every panel's
query is expanded as Grafana expands it and run there, as the live checks run the other dashboards', and what
comes back is compared with what was written: the busiest radio heads its table, the band sums are the clients
written, the "now" panels show the last reading and not an earlier one.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.grafana.dashboards import Dashboard, Query, load_dashboards, shipped_dashboards_dir
from hotspotctl.grafana.live import InfluxQL, run_dashboard
from hotspotctl.grafana.templating import ALL, TimeRange, expand, usages
from hotspotctl.settings import InfluxSettings
from tests.grafana.conftest import (
    BARE_AP,
    BUSY_AP,
    NOISY_AP,
    RADIO_CYCLES,
    TLALPAN_AP,
    TRANSPORT,
    RadioInflux,
    radio_fields,
    radios,
)
from tests.grafana.test_queries_on_influxdb import missing

DASHBOARDS = {d.uid: d for d in load_dashboards()}
RF = DASHBOARDS["hotspotctl-rf"]
HOTSPOT = DASHBOARDS["hotspotctl-hotspot"]
RADIO_QUERIES = [(d, q) for d in (RF, HOTSPOT) for q in d.queries() if '"ap_radio"' in q.text]
GAM = "Gustavo A. Madero"
NOW = RADIO_CYCLES - 1


def _now(ap: Any, radio: str) -> dict[str, Any]:
    return radio_fields(ap, radio, NOW)


def _window(run: RadioInflux) -> TimeRange:
    return TimeRange(run.started, run.ended)


def _query(dashboard: Dashboard, title: str, ref: str = "A") -> Query:
    return next(q for q in dashboard.queries() if q.title == title and q.ref == ref)


def _panel(dashboard: Dashboard, title: str) -> dict[str, Any]:
    return next(p for _, p in dashboard.panels() if p.get("title") == title)


def _run(run: RadioInflux, dashboard: Dashboard, title: str, values: Mapping[str, Any], *, ref: str = "A",
         interval: timedelta = timedelta(seconds=10)) -> list[dict[str, Any]]:
    text = expand(_query(dashboard, title, ref).text, values, variables=dashboard.variables(), time_range=_window(run),
                  interval=interval)
    assert usages(text) == [], text
    return run.query(text)


def _rows(series: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A table result as Grafana's table panel gets it: one row per value row, GROUP BY tags as columns."""
    return [{**(s.get("tags") or {}), **dict(zip(s["columns"], row, strict=True))} for s in series
            for row in s["values"]]


def _sorted_as_the_panel(panel: Mapping[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in the order the table panel shows them (its options.sortBy)."""
    (sort,) = panel["options"]["sortBy"]
    return sorted(rows, key=lambda r: r[sort["displayName"]], reverse=sort["desc"])


def _by_series(series: Sequence[Mapping[str, Any]], tag: str) -> dict[str, list[list[Any]]]:
    return {s["tags"][tag]: s["values"] for s in series}


PICKED = {"district": [GAM], "program": [TRANSPORT], "ap": BUSY_AP.ap}
ALL_VALUES = {"district": ALL, "program": ALL, "ap": BUSY_AP.ap}


def _values(dashboard: Dashboard, chosen: Mapping[str, Any]) -> dict[str, Any]:
    names = {v.name for v in dashboard.variables()}
    return {k: v for k, v in chosen.items() if k in names}


# --- the dashboards ------------------------------------------------------------------------------------------


def test_the_rf_health_view_and_the_radio_panels_read_ap_radio() -> None:
    assert (RF.file, RF.title) == ("rf.json", "hotspotctl · RF health")
    assert [(v.name, v.multi, v.include_all, v.all_value) for v in RF.variables()] == [
        ("district", True, True, ".*"), ("program", True, True, ".*")]
    assert [p["title"] for _, p in RF.panels()] == [
        "Radios up", "Radios down", "Radios at 70% utilisation or more", "Clients by band",
        "Channel utilisation by band", "Noise floor by band", "Clients by band over time",
        "Channel utilisation now, by radio", "Busiest radios", "Noisiest radios"]
    assert all('FROM "ap_radio"' in q.text for q in RF.queries())
    for title in ("Busiest radios", "Noisiest radios"):  # each radio's AP links to its hotspot dashboard
        (link,) = next(o for o in _panel(RF, title)["fieldConfig"]["overrides"]
                       if o["matcher"]["options"] == "ap")["properties"]
        assert link["value"][0]["url"].startswith("/d/hotspotctl-hotspot?var-ap=${__value.raw}&")
    radio_panels = [p for _, p in HOTSPOT.panels() if 10 < p["id"] < 19]  # 19 on: the ping row (issue 18)
    assert [(p["id"], p["type"], p["title"]) for p in radio_panels] == [
        (11, "row", "Radios"), (12, "table", "Radios now"), (13, "timeseries", "Channel utilisation by radio"),
        (14, "timeseries", "Noise floor by radio"), (15, "timeseries", "Clients by radio"),
        (16, "timeseries", "Transmit power by radio"), (17, "state-timeline", "Radio up"),
        (18, "state-timeline", "Channel by radio")]
    for panel in radio_panels[1:]:
        (target,) = panel["targets"]
        assert 'FROM "ap_radio" WHERE $timeFilter AND "ap" =~ /^$ap$/' in target["query"]
    # every field SPEC §2 gives ap_radio is shown for the AP
    assert set(_query(HOTSPOT, "Radios now").columns) == {
        "up", "channel", "frequency_mhz", "clients", "utilization_pct", "noise_floor_dbm", "tx_power_dbm"}
    assert _query(HOTSPOT, "Radios now").tags == ("radio", "band")


@pytest.mark.parametrize(("dashboard", "query"), RADIO_QUERIES,
                         ids=[f"{d.uid.removeprefix('hotspotctl-')}:{q.panel_id}-{q.ref}" if q.panel_id is not None
                              else f"{d.uid.removeprefix('hotspotctl-')}:var-{q.ref}" for d, q in RADIO_QUERIES])
def test_every_radio_query_returns_the_columns_its_panel_shows(radio_influx: RadioInflux, dashboard: Dashboard,
                                                               query: Query) -> None:
    run = radio_influx
    failures = []
    for mode, chosen in (("picked", PICKED), ("All", ALL_VALUES)):
        for label, time_range, interval in (("last 1h, 1m", TimeRange.last("1h"), timedelta(minutes=1)),
                                            ("absolute, 10s", _window(run), timedelta(seconds=10))):
            text = expand(query.text, _values(dashboard, chosen), variables=dashboard.variables(),
                          time_range=time_range, interval=interval)
            assert usages(text) == [], f"left unexpanded in {text}"
            problems = missing(query, run.query(text))
            if problems:
                failures.append(f"{mode}, {label}: {'; '.join(problems)}: {text}")
    assert failures == [], f"{dashboard.file} {query.path} ({query.title!r}, {query.ref}):\n" + "\n".join(failures)


# --- the RF health view's figures ----------------------------------------------------------------------------


def test_the_variables_offer_the_districts_and_programmes_with_radios(radio_influx: RadioInflux) -> None:
    def options(name: str, values: Mapping[str, Any]) -> set[str]:
        return {row[1] for s in _run(radio_influx, RF, f"variable {name}", values, ref=name) for row in s["values"]}

    assert options("district", {}) == {GAM, "Tlalpan"}
    assert options("program", {"district": [GAM]}) == {TRANSPORT, "Escuelas"}
    assert options("program", {"district": ["Tlalpan"]}) == {"Escuelas"}
    assert options("program", {"district": ALL}) == {TRANSPORT, "Escuelas"}


def _stat(run: RadioInflux, title: str, values: Mapping[str, Any]) -> list[Any]:
    (series,) = _run(run, RF, title, values)
    return series["values"][0][1:]


def test_the_stats_count_the_radios_by_their_last_reading(radio_influx: RadioInflux) -> None:
    run = radio_influx
    every = {"district": ALL, "program": ALL}
    # 7 radios; NOISY_AP's wifi1 is down now (up in the two earlier cycles)
    assert _stat(run, "Radios up", every) == [6]
    assert _stat(run, "Radios down", every) == [1]
    assert _stat(run, "Radios down", {"district": ["Tlalpan"], "program": ALL}) == [0]
    # at 70 % or more now: BUSY_AP's wifi1 (88) and TLALPAN_AP's radio1 (70); NOISY_AP's wifi0 was at 95 before
    assert _stat(run, "Radios at 70% utilisation or more", every) == [2]
    assert _stat(run, "Radios at 70% utilisation or more", {"district": [GAM], "program": ["Escuelas"]}) == [0]


def _clients_by_band(ap_filter: Any = lambda ap: True) -> dict[str, int]:
    sums: dict[str, int] = {}
    for ap, radio, band in radios():
        if band is not None and ap_filter(ap):
            sums[band] = sums.get(band, 0) + int(_now(ap, radio)["clients"])
    return sums


def test_clients_on_2_4_against_5_ghz_are_the_clients_written(radio_influx: RadioInflux) -> None:
    run = radio_influx
    panel = _panel(RF, "Clients by band")
    assert panel["targets"][0]["alias"] == "$tag_band"
    cases = [({"district": ALL, "program": ALL}, {"2.4GHz": 25, "5GHz": 52}, lambda ap: True),
             ({"district": [GAM], "program": ALL}, {"2.4GHz": 17, "5GHz": 30}, lambda ap: ap.district == GAM),
             ({"district": ALL, "program": [TRANSPORT]}, {"2.4GHz": 12, "5GHz": 30}, lambda ap: ap.program == TRANSPORT)]
    for values, expected, which in cases:
        assert _clients_by_band(which) == expected  # the figures as written
        now = {band: rows[0][1] for band, rows in _by_series(_run(run, RF, "Clients by band", values), "band").items()}
        assert now == expected, values
        over_time = _by_series(_run(run, RF, "Clients by band over time", values), "band")
        assert {band: len(rows) for band, rows in over_time.items()} == {band: RADIO_CYCLES for band in expected}
        assert {band: rows[-1][1] for band, rows in over_time.items()} == expected, values
    # the first cycle: BUSY_AP's wifi1 had 26 clients and NOISY_AP's wifi1 3 (30 and 0 now)
    first = _by_series(_run(run, RF, "Clients by band over time", {"district": ALL, "program": ALL}), "band")
    assert {band: rows[0][1] for band, rows in first.items()} == {"2.4GHz": 25, "5GHz": 51}


def test_utilisation_and_noise_by_band_are_the_radios_figures(radio_influx: RadioInflux) -> None:
    run = radio_influx
    every = {"district": ALL, "program": ALL}
    for title, field in (("Channel utilisation by band", "utilization_pct"), ("Noise floor by band", "noise_floor_dbm")):
        series = _run(run, RF, title, every)
        assert [s["columns"] for s in series] == [["time", "median", "p90", "max"]] * 2
        for band, rows in _by_series(series, "band").items():
            assert len(rows) == RADIO_CYCLES
            figures = sorted(_now(ap, radio)[field] for ap, radio, b in radios() if b == band)
            assert len(figures) == 3
            # InfluxDB's median of three is the middle one; its 90th percentile (nearest rank) and max the top one
            assert rows[-1][1:] == [figures[1], figures[2], figures[2]], (title, band)
    utilisation = _by_series(_run(run, RF, "Channel utilisation by band", every), "band")
    assert utilisation["2.4GHz"][-1][1:] == [45.5, 60.0, 60.0] and utilisation["5GHz"][-1][1:] == [70.0, 88.0, 88.0]
    assert utilisation["2.4GHz"][0][3] == 95.0  # NOISY_AP's wifi0, busiest of its band two minutes before
    noise = _by_series(_run(run, RF, "Noise floor by band", every), "band")
    assert noise["2.4GHz"][-1][1:] == [-90.0, -78.0, -78.0] and noise["5GHz"][-1][1:] == [-95.0, -93.0, -93.0]
    panel = _panel(RF, "Channel utilisation by band")["fieldConfig"]["defaults"]
    assert (panel["unit"], panel["thresholds"]["steps"][-1], panel["custom"]["thresholdsStyle"]) == (
        "percent", {"color": "red", "value": 70}, {"mode": "line"})


def test_the_histogram_has_one_value_per_radio_now(radio_influx: RadioInflux) -> None:
    rows = _rows(_run(radio_influx, RF, "Channel utilisation now, by radio", {"district": ALL, "program": ALL}))
    assert sorted(r["utilization_pct"] for r in rows) == [5.0, 30.0, 45.5, 60.0, 70.0, 88.0]  # wlan0 says none


def test_the_busiest_and_noisiest_radios_head_their_tables(radio_influx: RadioInflux) -> None:
    run = radio_influx
    every = {"district": ALL, "program": ALL}
    busiest = _sorted_as_the_panel(_panel(RF, "Busiest radios"), _rows(_run(run, RF, "Busiest radios", every)))
    assert [(r["ap"], r["radio"], r["utilization_pct"]) for r in busiest] == [
        (BUSY_AP.ap, "wifi1", 88.0), (TLALPAN_AP.ap, "radio1", 70.0), (TLALPAN_AP.ap, "radio0", 60.0),
        (BUSY_AP.ap, "wifi0", 45.5), (NOISY_AP.ap, "wifi0", 30.0), (NOISY_AP.ap, "wifi1", 5.0)]
    first = busiest[0]
    del first["time"]
    assert first == {"ap": BUSY_AP.ap, "radio": "wifi1", "band": "5GHz", "district": GAM, "utilization_pct": 88.0,
                     "noise_floor_dbm": -95.0, "clients": 30, "channel": 36, "up": 1}
    noisiest = _sorted_as_the_panel(_panel(RF, "Noisiest radios"), _rows(_run(run, RF, "Noisiest radios", every)))
    assert [(r["ap"], r["radio"], r["noise_floor_dbm"]) for r in noisiest] == [
        (NOISY_AP.ap, "wifi0", -78.0), (TLALPAN_AP.ap, "radio0", -90.0), (BUSY_AP.ap, "wifi0", -92.0),
        (TLALPAN_AP.ap, "radio1", -93.0), (BUSY_AP.ap, "wifi1", -95.0), (NOISY_AP.ap, "wifi1", -96.0)]
    assert noisiest[0]["utilization_pct"] == 30.0  # its last reading, not the 95 % of before
    # a selection: Tlalpan's busiest radio only
    tlalpan = _sorted_as_the_panel(_panel(RF, "Busiest radios"),
                                   _rows(_run(run, RF, "Busiest radios", {"district": ["Tlalpan"], "program": ALL})))
    assert [(r["ap"], r["radio"]) for r in tlalpan] == [(TLALPAN_AP.ap, "radio1"), (TLALPAN_AP.ap, "radio0")]


# --- the hotspot dashboard's radio panels --------------------------------------------------------------------


def _hotspot(run: RadioInflux, title: str, ap: str) -> list[dict[str, Any]]:
    return _run(run, HOTSPOT, title, {"district": ALL, "program": ALL, "ap": ap})


def test_radios_now_is_each_radios_last_reading(radio_influx: RadioInflux) -> None:
    run = radio_influx
    panel = _panel(HOTSPOT, "Radios now")
    for ap in (BUSY_AP, NOISY_AP, TLALPAN_AP):
        rows = _sorted_as_the_panel(panel, _rows(_hotspot(run, "Radios now", ap.ap)))
        for row in rows:
            del row["time"]
        assert rows == [{"radio": radio, "band": band, **_now(ap, radio)}
                        for a, radio, band in sorted(radios(), key=lambda r: r[1]) if a == ap], ap.ap
    (bare,) = _rows(_hotspot(run, "Radios now", BARE_AP.ap))
    assert bare["radio"] == "wlan0" and bare["band"] == "" and bare["up"] == 1
    assert all(bare[f] is None for f in ("channel", "frequency_mhz", "clients", "utilization_pct", "noise_floor_dbm",
                                         "tx_power_dbm"))


def test_the_radio_time_series_follow_each_radio(radio_influx: RadioInflux) -> None:
    run = radio_influx
    for title, field in (("Channel utilisation by radio", "utilization_pct"), ("Noise floor by radio", "noise_floor_dbm"),
                         ("Clients by radio", "clients"), ("Transmit power by radio", "tx_power_dbm"),
                         ("Radio up", "up"), ("Channel by radio", "channel")):
        assert _panel(HOTSPOT, title)["targets"][0]["alias"] == "$tag_radio"
        for ap in (BUSY_AP, NOISY_AP, TLALPAN_AP):
            series = _by_series(_hotspot(run, title, ap.ap), "radio")
            written = {radio: [radio_fields(ap, radio, c)[field] for c in range(RADIO_CYCLES)]
                       for a, radio, _ in radios() if a == ap}
            assert {radio: [row[1] for row in rows] for radio, rows in series.items()} == written, (title, ap.ap)
    assert [r[1] for r in _by_series(_hotspot(run, "Radio up", NOISY_AP.ap), "radio")["wifi1"]] == [1, 1, 0]
    assert [r[1] for r in _by_series(_hotspot(run, "Channel by radio", TLALPAN_AP.ap), "radio")["radio1"]] == [40, 40, 44]
    assert _hotspot(run, "Channel by radio", BARE_AP.ap) == []  # it says no channel: nothing to draw


# --- the live check (grafana check --live's path) ------------------------------------------------------------


def _client(run: Any, database: str) -> InfluxQL:
    return InfluxQL(InfluxSettings(url=run.server.url, api="v1", database=database))


def test_check_live_finds_every_rf_panel_with_data(radio_influx: RadioInflux) -> None:
    run = radio_influx
    check = run_dashboard(RF, _client(run, run.database), time_range=TimeRange.last("1h"))
    assert check.values == {"district": ALL, "program": ALL}
    assert [(o.query.title, o.status) for o in check.outcomes] == [(q.title, "ok") for q in RF.queries()]
    hotspot = run_dashboard(HOTSPOT, _client(run, run.database), time_range=TimeRange.last("1h"),
                            given={"ap": BUSY_AP.ap})
    radio = [o for o in hotspot.outcomes if '"ap_radio"' in o.query.text]
    assert len(radio) == 7 and {o.status for o in radio} == {"ok"}
    # the ping panels read ap_ping, which this database does not have: optional (not every city pings), no data
    pings = [o for o in hotspot.outcomes if '"ap_ping"' in o.query.text]
    assert len(pings) == 4 and all(o.status == "no data" and "no 'ap_ping' points" in o.detail for o in pings)
    # the rest of the hotspot dashboard reads ap_status and ap_traffic, which this database does not have
    others = [o for o in hotspot.outcomes if '"ap_radio"' not in o.query.text and '"ap_ping"' not in o.query.text
              and o.query.kind == "panel"]
    assert others and all(o.status == "error" and "no measurement" in o.detail for o in others)


def test_a_database_without_ap_radio_is_no_data_not_a_failure(radio_influx: RadioInflux, tmp_path: Path,
                                                               cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Radios are read only where a profile or controller says how (or IF-MIB has radio interfaces): a city
    without any has no ap_radio at all, which is not a wrong database."""
    run = radio_influx
    database = f"{run.database}_no_radios"
    run.server.query(f'CREATE DATABASE "{database}"')
    try:
        request = urllib.request.Request(f"{run.server.url}/write?db={database}&precision=s", method="POST",
                                         data=b"ap_status,ap=X,district=Tlalpan,program=Escuelas up=1i")
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 204
        check = run_dashboard(RF, _client(run, database), time_range=TimeRange.last("1h"))
        assert check.errors == [] and len(check.empty) == len(RF.queries())
        assert {o.detail for o in check.empty} == {
            f"no 'ap_radio' points in database '{database}': hotspotctl writes it only for APs whose radios it reads "
            "(a profile's radio table, a controller's radio table, or IF-MIB radio interfaces)"}
        # a misspelt field of a measurement that does exist is still an error
        broken = tmp_path / "broken"
        broken.mkdir()
        text = (shipped_dashboards_dir() / "rf.json").read_text()
        (broken / "rf.json").write_text(text.replace('top(\\"utilization_pct\\", 20)', 'top(\\"utilisation_pct\\", 20)'))
        monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", run.server.url)
        monkeypatch.setenv("HOTSPOTCTL_INFLUX_API", "v1")
        monkeypatch.setenv("HOTSPOTCTL_INFLUX_DATABASE", run.database)
        result = cli("grafana", "check", broken, "--live", "--range", "1h")
        assert result.code == 4, result.err
        assert "error: rf.json: panels[8].targets[0].query ('Busiest radios', A): 'utilisation_pct': not a field or " \
               "tag of 'ap_radio'" in result.err
        assert f"{len(RF.queries()) - 1} of {len(RF.queries())} queries returned what their panels show; 0 had no " \
               "data for the values chosen, 1 failed" in result.err
    finally:
        run.server.query(f'DROP DATABASE "{database}"')
