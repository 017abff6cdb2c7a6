"""Every query of every dashboard, expanded as Grafana expands it, against Debian's InfluxDB 1.6 after a simulated run.

Each panel target and each variable query runs with the values a NOC operator would pick (a real district
and another one, a programme with regex characters in its name, an AP of both) and with All; over the last
hour (``now() - 1h``) and over the run's absolute range (epoch ms); at $__interval 1m and 10s. It must come
back with at least one series, and each column the panel shows (the SELECT's names; a table's GROUP BY
tags) must be there with at least one value: a misspelt field, a wrong tag filter or a variable Grafana
would escape differently gives no rows or an empty column, and fails here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import pytest

from hotspotctl.grafana.dashboards import Dashboard, Query, load_dashboards, shipped_dashboards_dir
from hotspotctl.grafana.live import OPTIONAL_MEASUREMENTS
from hotspotctl.grafana.templating import ALL, TimeRange, expand, usages
from hotspotctl.inventory.sites import geohash
from tests.grafana.conftest import APS, BUSY_AP, TRANSPORT, RadioInflux, SimulatedInflux

DASHBOARDS = load_dashboards()
QUERIES = [(d, q) for d in DASHBOARDS for q in d.queries()]
SPOOL_FIELDS = ("spool_batches", "spool_points", "spool_bytes")
RADIOS = "ap_radio"
ISSUE_18 = ("ap_ping", "outages")  # the run writes them once the reach helper's pings (ap_ping) and an outage are there
CLUSTER = "poller_cluster"  # a cluster's leader writes it, never a one-box run: its queries run on cluster_influx


def only_lossy(query: Query) -> bool:
    """A ping panel of the APs losing pings only: it has rows only where some AP lost some."""
    return 'FROM "ap_ping"' in query.text and 'WHERE "loss_pct" >' in query.text


def loss_written(run: SimulatedInflux) -> bool:
    """Whether the simulated run's pings lost any packet (on loopback they may all be answered)."""
    series = run.query('SELECT max("loss_pct") FROM "ap_ping" WHERE time > 0')
    return bool(series) and bool(series[0]["values"][0][1])


def reads_radios(query: Query) -> bool:
    """The RF health view's queries and the hotspot dashboard's radio panels (SPEC §2 of issue 17: ap_radio)."""
    return f'FROM "{RADIOS}"' in query.text


def radios_written(run: SimulatedInflux) -> bool:
    """Whether the simulated run wrote ap_radio: the sink's encoder for it comes with issue 17's radio collection
    (branch i17-radios). Until then every ap_radio query is run on radio_influx's known points instead (and
    test_radio_panels.py checks their figures); from then on, on the run, as every other query."""
    return RADIOS in run.measurements()


def _id(item: Any) -> str:
    if isinstance(item, Dashboard):
        return item.uid.removeprefix("hotspotctl-")
    if isinstance(item, Query):
        return f"{item.panel_id}-{item.ref}" if item.panel_id is not None else f"var-{item.ref}"
    return str(item)


def missing(query: Query, series: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the panel needs that the result does not hold (empty: the panel has data to show)."""
    if not series or not any(s.get("values") for s in series):
        return ["no rows"]
    problems = []
    for column in query.columns:
        holding = [s for s in series if column in s["columns"]]
        if not holding:
            problems.append(f"no column {column!r}")
        elif not any(row[s["columns"].index(column)] is not None for s in holding for row in s["values"]):
            problems.append(f"column {column!r} has no value")
    for tag in query.tags:
        if not any(tag in (s.get("tags") or {}) for s in series):
            problems.append(f"no tag {tag!r}")
    return problems


def _values(run: SimulatedInflux | RadioInflux, dashboard: Dashboard, mode: str) -> dict[str, str | list[str]]:
    names = {v.name for v in dashboard.variables()}
    if isinstance(run, RadioInflux):  # its own districts, programme and AP
        picked: dict[str, str | list[str]] = {"district": ["Gustavo A. Madero", "Tlalpan"], "program": [TRANSPORT],
                                              "ap": BUSY_AP.ap}
        ap = BUSY_AP.ap
    else:
        picked = {"district": [run.district, run.other_district], "program": [run.program], "ap": run.ap}
        ap = run.ap
    chosen = picked if mode == "picked" else {"district": ALL, "program": ALL, "ap": ap}
    return {k: v for k, v in chosen.items() if k in names}


def _ranges(run: SimulatedInflux | RadioInflux) -> list[tuple[str, TimeRange, timedelta]]:
    absolute = TimeRange(run.started - timedelta(minutes=1), run.ended + timedelta(minutes=1))
    return [("last 1h, 1m", TimeRange.last("1h"), timedelta(minutes=1)),
            ("absolute, 10s", absolute, timedelta(seconds=10))]


@pytest.mark.parametrize(("dashboard", "query"), QUERIES, ids=[f"{_id(d)}:{_id(q)}" for d, q in QUERIES])
def test_every_query_returns_the_columns_its_panel_shows(simulated_influx: SimulatedInflux, dashboard: Dashboard,
                                                         query: Query, request: pytest.FixtureRequest) -> None:
    pending = [f for f in SPOOL_FIELDS if f in query.text and f not in simulated_influx.field_keys("poller_cycle")]
    if pending:
        pytest.xfail(f"PENDING, NOT TESTED: poller_cycle has no {', '.join(pending)} yet (service.py does not write "
                     f"them): panel {query.title!r} of {dashboard.file} cannot show anything until it does")
    run: SimulatedInflux | RadioInflux = simulated_influx
    if reads_radios(query) and not radios_written(simulated_influx):
        run = request.getfixturevalue("radio_influx")  # see radios_written: the only condition
    for measurement in ISSUE_18:  # until the simulated run writes them: on ping_influx's known points
        if f'FROM "{measurement}"' in query.text and measurement not in simulated_influx.measurements():
            run = request.getfixturevalue("ping_influx")
    if f'FROM "{CLUSTER}"' in query.text:
        run = request.getfixturevalue("cluster_influx")
    if run is simulated_influx and only_lossy(query) and not loss_written(simulated_influx):
        run = request.getfixturevalue("ping_influx")  # a run whose pings all came back has no row for these
    # A radio panel of one AP is checked on one AP of each profile that writes radios: a column must have a
    # value for at least one of them (no vendor MIB gives every radio figure), and every other check holds
    # for each.
    aps: list[str | None] = [None]
    if reads_radios(query) and isinstance(run, SimulatedInflux) and "ap" in {v.name for v in dashboard.variables()}:
        assert len(run.radio_aps) >= 2, run.radio_aps
        aps = list(run.radio_aps)
    failures = []
    for mode in ("picked", "All"):
        for label, time_range, interval in _ranges(run):
            found: list[set[str]] = []
            texts = []
            for ap in aps:
                values = _values(run, dashboard, mode)
                if ap is not None:
                    values["ap"] = ap
                text = expand(query.text, values, variables=dashboard.variables(), time_range=time_range,
                              interval=interval)
                assert usages(text) == [], f"left unexpanded in {text}"
                found.append(set(missing(query, run.query(text))))
                texts.append(text)
            problems = set.intersection(*found)
            if problems:
                failures.append(f"{mode}, {label}: {'; '.join(sorted(problems))}: {' | '.join(texts)}")
    assert failures == [], f"{dashboard.file} {query.path} ({query.title!r}, {query.ref}):\n" + "\n".join(failures)


def test_the_data_is_the_simulated_run(simulated_influx: SimulatedInflux) -> None:
    run = simulated_influx
    districts = {o.ap.district for o in run.outcomes}
    counts = {m: run.query(f'SELECT count("{f}") FROM "{m}" WHERE time > 0')[0]["values"][0][1]
              for m, f in (("ap_status", "up"), ("fleet_rollup", "aps"), ("poller_cycle", "duration_s"))}
    assert counts == {"ap_status": 3 * APS, "fleet_rollup": 3 * len(districts), "poller_cycle": 3}
    assert len(districts) == 16 and len({o.ap.program for o in run.outcomes}) == 11
    down = sum(1 for o in run.outcomes if o.rate is None)
    assert 0 < down < APS // 4  # the scenario's dead APs and reboot loops, and most APs up
    below = sum(1 for o in run.outcomes if o.rate is not None and o.rate.per_user_mbps is not None
                and o.rate.per_user_mbps < 200)
    assert 0 < below < APS - down  # some APs below the target and some meeting it: both histogram series


def _expand(run: SimulatedInflux, dashboard: Dashboard, query: Query, values: Mapping[str, Any]) -> str:
    return expand(query.text, values, variables=dashboard.variables(), time_range=TimeRange.last("1h"))


def _dashboard(uid: str) -> Dashboard:
    return next(d for d in DASHBOARDS if d.uid == uid)


def _query(dashboard: Dashboard, title: str, ref: str = "A") -> Query:
    return next(q for q in dashboard.queries() if q.title == title and q.ref == ref)


def test_variables_offer_exactly_the_simulated_aps(simulated_influx: SimulatedInflux) -> None:
    run = simulated_influx
    hotspot = _dashboard("hotspotctl-hotspot")
    picked = {"district": [run.district, run.other_district], "program": [run.program]}

    def options(name: str, values: Mapping[str, Any]) -> set[str]:
        text = _expand(run, hotspot, _query(hotspot, f"variable {name}", name), values)
        return {row[1] for s in run.query(text) for row in s["values"]}

    aps = [o.ap for o in run.outcomes]
    assert options("district", {}) == {ap.district for ap in aps}
    assert options("program", picked) == {ap.program for ap in aps if ap.district in picked["district"]}
    assert options("program", {"district": ALL}) == {ap.program for ap in aps}
    assert options("ap", picked) == {ap.id for ap in aps if ap.district in picked["district"]
                                     and ap.program == run.program}
    assert options("ap", {"district": ALL, "program": ALL}) == {ap.id for ap in aps}
    assert run.ap in options("ap", picked)


def test_panels_show_the_simulated_figures(simulated_influx: SimulatedInflux) -> None:
    run = simulated_influx
    fleet, district = _dashboard("hotspotctl-fleet"), _dashboard("hotspotctl-district")
    down = [o for o in run.outcomes if o.rate is None]

    def first(dashboard: Dashboard, title: str, values: Mapping[str, Any], ref: str = "A") -> list[Any]:
        (series,) = run.query(_expand(run, dashboard, _query(dashboard, title, ref), values))
        return series["values"][0][1:]

    assert first(fleet, "APs down", {}) == [len(down)]
    assert first(fleet, "APs up", {}) == [APS - len(down)]
    assert first(district, "APs down", {"district": ALL, "program": ALL}) == [len(down)]
    in_group = [o for o in run.outcomes if o.ap.district == run.district and o.ap.program == run.program]
    picked = {"district": [run.district], "program": [run.program]}
    assert first(district, "APs down", picked) == [sum(1 for o in in_group if o.rate is None)]
    assert first(district, "APs up", picked) == [sum(1 for o in in_group if o.rate is not None)]

    # the map: one row per AP at its inventory position, coloured by up
    table = run.query(_expand(run, fleet, _query(fleet, "Every AP, by status"), {}))
    assert len(table) == APS
    by_ap = {s["tags"]["ap"]: (s["tags"], dict(zip(s["columns"], s["values"][0], strict=True))) for s in table}
    for o in run.outcomes:
        tags, row = by_ap[o.ap.id]
        assert (tags["geohash"], tags["district"], row["up"]) == (
            geohash(o.ap.lat, o.ap.lon)[:9], o.ap.district, int(o.rate is not None))

    # the crews' table: the down APs of the group, with the error they failed with
    rows = run.query(_expand(run, district, _query(district, "APs, down first"), picked))
    errors = {s["tags"]["ap"]: dict(zip(s["columns"], s["values"][0], strict=True)) for s in rows}
    assert set(errors) == {o.ap.id for o in in_group}
    for o in in_group:
        if o.rate is None:
            assert errors[o.ap.id]["up"] == 0 and errors[o.ap.id]["last_error"] == o.error.kind


def test_a_misspelt_field_or_an_unescaped_value_is_caught(simulated_influx: SimulatedInflux) -> None:
    run = simulated_influx
    fleet, district = _dashboard("hotspotctl-fleet"), _dashboard("hotspotctl-district")
    geomap = _query(fleet, "Every AP, by status")
    good = _expand(run, fleet, geomap, {})
    assert missing(geomap, run.query(good)) == []
    assert missing(geomap, run.query(good.replace('last("per_user_mbps")', 'last("per_user_mpbs")'))) == [
        "column 'per_user_mbps' has no value"]
    assert missing(geomap, run.query(good.replace('"geohash"', '"geo_hash"'))) == ["no tag 'geohash'"]
    stat = _query(fleet, "APs down")
    assert missing(stat, run.query(_expand(run, fleet, stat, {}).replace('"down"', '"dwn"'))) == ["no rows"]
    # a multi-value selection as Grafana sends it: right with =~ /^...$/, and nothing (or an error) with =
    traffic = _query(district, "Traffic")
    variables = district.variables()
    picked = {"district": ["Gustavo A. Madero"], "program": ALL}
    text = expand(traffic.text, picked, variables=variables, time_range=TimeRange.last("1h"))
    assert '"district" =~ /^(Gustavo A\\. Madero)$/' in text and missing(traffic, run.query(text)) == []
    equals = traffic.text.replace('"district" =~ /^$district$/', "\"district\" = '$district'")
    tlalpan = expand(equals, {"district": ["Tlalpan"], "program": ALL}, variables=variables,
                     time_range=TimeRange.last("1h"))
    assert "\"district\" = '(Tlalpan)'" in tlalpan and missing(traffic, run.query(tlalpan)) == ["no rows"]
    madero = expand(equals, picked, variables=variables, time_range=TimeRange.last("1h"))
    with pytest.raises(HTTPError, match="400"):  # '(Gustavo A\. Madero)': InfluxQL refuses the escape
        run.query(madero)


def test_check_live_runs_every_query_against_the_configured_influxdb(simulated_influx: SimulatedInflux, cli,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    import json
    import shutil

    run = simulated_influx
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", run.server.url)
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_API", "v1")
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_DATABASE", run.database)
    result = cli("grafana", "check", "--live", "--range", "1h", "--format", "json")
    assert result.code == 0, result.out + result.err
    document = json.loads(result.out)
    live = document["live"]
    assert (document["ok"], live["range"], live["interval"]) == (True, "last 1h", "1m")
    # and every alert rule's query, over its own window (test_alert_rules.py checks what each comes to)
    assert [(r["uid"], r["error"]) for r in live["alert_rules"]] == [
        (uid, None) for uid in ("hotspotctl-cycle-lag", "hotspotctl-cycles-missed", "hotspotctl-cycles-missing",
                                "hotspotctl-spool-growing", "hotspotctl-influxdb-away", "hotspotctl-shards-missed",
                                "hotspotctl-fleet-availability", "hotspotctl-open-outages")]
    assert {r["state"] for r in live["alert_rules"]} <= {"Normal", "Alerting"}
    # every query has data; until the run writes ap_radio (radios_written), the radio queries have none, and
    # say why: no data, not a failure (test_radio_panels.py runs them on known radios); so for ap_ping and outages
    # until the run writes them (test_outage_ping_panels.py runs them on known points)
    absent = {m for m in (RADIOS, *ISSUE_18, CLUSTER) if m not in run.measurements()}

    def optional_absent(query: Query) -> str | None:
        return next((m for m in sorted(absent) if f'FROM "{m}"' in query.text), None)

    lossless = "ap_ping" not in absent and not loss_written(run)  # pings, none lost: no APs losing them

    def empty(query: Query) -> bool:
        return bool(optional_absent(query)) or (lossless and only_lossy(query))

    pending = sum(1 for _, q in QUERIES if empty(q))
    statuses = [(q["title"], q["status"]) for d in live["dashboards"] for q in d["queries"]]
    assert statuses == [(q.title, "no data" if empty(q) else "ok") for _, q in QUERIES]
    by_title = {q.title: q for _, q in QUERIES}
    for query in (q for d in live["dashboards"] for q in d["queries"] if q["status"] == "no data"):
        measurement = optional_absent(by_title[query["title"]])
        if measurement is None:
            assert lossless and only_lossy(by_title[query["title"]])
            assert query["detail"] == "no rows for this selection and time range"
            continue
        assert query["detail"] == f"no {measurement!r} points in database '{run.database}': " \
                                  f"{OPTIONAL_MEASUREMENTS[measurement]}"
    assert OPTIONAL_MEASUREMENTS[RADIOS] == "hotspotctl writes it only for APs whose radios it reads (a profile's " \
                                            "radio table, a controller's radio table, or IF-MIB radio interfaces)"
    ok = len(QUERIES) - pending
    values = {d["uid"]: d["values"] for d in live["dashboards"]}
    first_ap = sorted(o.ap.id for o in run.outcomes)[0]
    assert values == {"hotspotctl-district": {"district": ALL, "program": ALL}, "hotspotctl-fleet": {},
                      "hotspotctl-hotspot": {"district": ALL, "program": ALL, "ap": first_ap},
                      "hotspotctl-poller": {}, "hotspotctl-rf": {"district": ALL, "program": ALL}}

    picked = cli("grafana", "check", "--live", "--range", "1h", "--var", f"district={run.district}",
                 "--var", f"district={run.other_district}", "--var", f"program={run.program}", "--var",
                 f"ap={run.ap}")
    assert picked.code == 0, picked.err
    assert f"hotspotctl-hotspot: district={run.district} + {run.other_district}, program={run.program}, " \
           f"ap={run.ap}" in picked.err
    assert f"{ok} of {len(QUERIES)} queries returned what their panels show; {pending} had no data for the values " \
           "chosen, 0 failed" in picked.err

    # a misspelt field in a copy of the dashboards: exit 4, and the panel is named
    mine = tmp_path / "mine"
    shutil.copytree(shipped_dashboards_dir(), mine)
    fleet = mine / "fleet.json"
    fleet.write_text(fleet.read_text().replace('last(\\"up\\") AS \\"up\\", last(\\"per_user_mbps\\")',
                                               'last(\\"up\\") AS \\"up\\", last(\\"per_user_mpbs\\")'))
    broken = cli("grafana", "check", mine, "--live", "--range", "1h")
    assert broken.code == 4, broken.err
    assert "error: fleet.json: panels[6].targets[0].query ('Every AP, by status', A): 'per_user_mpbs': not a field " \
           "or tag of 'ap_status'; ran: SELECT last(\"up\") AS \"up\", last(\"per_user_mpbs\") AS \"per_user_mbps\"" \
           in broken.err
    assert f"{ok - 1} of {len(QUERIES)} queries returned what their panels show; {pending} had no data for the " \
           "values chosen, 1 failed" in broken.err

    # a selection with nothing in it is reported, and is not a failure; a database with nothing at all is
    empty = cli("grafana", "check", "--live", "--range", "1h", "--var", "district=Atlantis")
    assert empty.code == 0, empty.err
    assert "no data: district.json: panels[0].targets[0].query ('APs up', A): no rows for this selection and time " \
           "range" in empty.err
    run.query(f'CREATE DATABASE "{run.database}_empty"')
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_DATABASE", f"{run.database}_empty")
    nothing = cli("grafana", "check", "--live", "--range", "1h")
    assert nothing.code == 4, nothing.err
    assert f"error: fleet.json: panels[0].targets[0].query ('APs up', A): no measurement 'fleet_rollup' in " \
           f"database '{run.database}_empty': is it the database (or DBRP mapping) hotspotctl writes to?" in nothing.err
    assert "error: no panel got any data" in nothing.err
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_DATABASE", f"{run.database}_missing")
    missing_db = cli("grafana", "check", "--live")
    assert missing_db.code == 3
    assert missing_db.err == f"error: InfluxDB {run.server.url} (database {run.database}_missing): database not " \
                             f"found: {run.database}_missing; the dashboards read this database: check " \
                             "influx.database (HOTSPOTCTL_INFLUX_DATABASE)\n"
    run.query(f'DROP DATABASE "{run.database}_empty"')
