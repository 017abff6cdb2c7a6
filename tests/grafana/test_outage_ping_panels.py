"""The fleet dashboard's outages and ping panels and the hotspot dashboard's ping panels (issue 18), on known points.

``ping_influx`` (tests/grafana/conftest.py) writes ``ap_ping`` and ``outages`` as literal line protocol, as the
SPEC defines them, three cycles a minute apart, in their own database of Debian's InfluxDB 1.x. Each panel's query
is expanded as Grafana expands it and run there; what comes back is compared with what was written: the last
cycle's figures (not an earlier one's), a group closed (open=0) counted as none, the worst AP first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest

from hotspotctl.grafana.dashboards import Dashboard, Query, load_dashboards
from hotspotctl.grafana.templating import TimeRange, expand, usages
from tests.grafana.conftest import (
    BARE_AP,
    BUSY_AP,
    NOISY_AP,
    OUTAGE_POINTS,
    PING_ROUNDS,
    RADIO_CYCLES,
    TLALPAN_AP,
    RadioInflux,
)

DASHBOARDS = {d.uid: d for d in load_dashboards()}
FLEET = DASHBOARDS["hotspotctl-fleet"]
HOTSPOT = DASHBOARDS["hotspotctl-hotspot"]
GAM = "Gustavo A. Madero"
NOW = RADIO_CYCLES - 1


def _query(dashboard: Dashboard, title: str) -> Query:
    (found,) = [q for q in dashboard.queries() if q.title == title]
    return found


def _panel(dashboard: Dashboard, title: str) -> dict[str, Any]:
    return next(p for _, p in dashboard.panels() if p.get("title") == title)


def _run(run: RadioInflux, dashboard: Dashboard, title: str, values: Mapping[str, Any] | None = None, *,
         interval: timedelta = timedelta(seconds=10)) -> list[dict[str, Any]]:
    text = expand(_query(dashboard, title).text, values or {}, variables=dashboard.variables(),
                  time_range=TimeRange(run.started, run.ended), interval=interval)
    assert usages(text) == [], text
    return run.query(text)


def _rows(series: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{**(s.get("tags") or {}), **dict(zip(s["columns"], row, strict=True))} for s in series
            for row in s["values"]]


def _one(series: Sequence[Mapping[str, Any]], column: str) -> Any:
    (row,) = _rows(series)
    return row[column]


def test_the_new_panels_are_where_the_noc_looks() -> None:
    fleet = [(p["id"], p["type"], p["title"]) for _, p in FLEET.panels() if p["id"] >= 10]
    assert fleet == [(10, "row", "Outages and reachability"), (11, "stat", "Open outages"),
                     (12, "bargauge", "Open outages by cause"), (13, "table", "Open outages by district"),
                     (14, "timeseries", "Open outages over time, by cause"), (15, "stat", "APs losing pings"),
                     (16, "stat", "APs not answering pings"), (17, "timeseries", "Ping round trip across the fleet"),
                     (18, "table", "Most packet loss now")]
    hotspot = [(p["id"], p["type"], p["title"]) for _, p in HOTSPOT.panels() if p["id"] >= 19]
    assert hotspot == [(19, "row", "Reachability (ping)"), (20, "stat", "Packet loss now"),
                       (21, "stat", "Ping round trip now"), (22, "timeseries", "Ping round trip"),
                       (23, "timeseries", "Packet loss")]
    for _, panel in HOTSPOT.panels():
        if panel["id"] > 19:
            (target,) = panel["targets"]
            assert 'FROM "ap_ping" WHERE $timeFilter AND "ap" =~ /^$ap$/' in target["query"]
    # every figure the SPEC gives ap_ping is on the hotspot dashboard
    shown = {c for title in ("Packet loss now", "Ping round trip", "Packet loss") for c in _query(HOTSPOT, title).columns}
    assert shown == {"loss_pct", "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "jitter_ms"}


# --- outages ---------------------------------------------------------------------------------------------------


def test_open_outages_now_sum_the_last_point_of_every_group(ping_influx: RadioInflux) -> None:
    now = OUTAGE_POINTS[NOW]
    assert _one(_run(ping_influx, FLEET, "Open outages"), "open") == sum(now.values()) == 4


def test_open_outages_by_cause_count_a_closed_group_as_none(ping_influx: RadioInflux) -> None:
    series = _run(ping_influx, FLEET, "Open outages by cause")
    by_cause = {s["tags"]["cause"]: s["values"][0][1] for s in series}
    assert by_cause == {"offline": 2, "site_offline": 0, "uplink_degraded": 2}  # not the 3 and 1 of before


def test_open_outages_by_district_and_cause(ping_influx: RadioInflux) -> None:
    rows = _rows(_run(ping_influx, FLEET, "Open outages by district"))
    assert sorted((r["district"], r["cause"], r["open"]) for r in rows) == [
        (GAM, "offline", 1), (GAM, "site_offline", 0), (GAM, "uplink_degraded", 2), ("Tlalpan", "offline", 1)]
    link = _panel(FLEET, "Open outages by district")["fieldConfig"]["overrides"][0]["properties"][0]["value"][0]
    assert link["url"].startswith("/d/hotspotctl-district?var-district=${__value.raw}")


def test_open_outages_over_time_follow_each_cycle(ping_influx: RadioInflux) -> None:
    series = _run(ping_influx, FLEET, "Open outages over time, by cause", interval=timedelta(seconds=10))
    over_time = {s["tags"]["cause"]: [v for _, v in s["values"]] for s in series}
    want: dict[str, list[int]] = {}
    for points in OUTAGE_POINTS:
        for cause in sorted({c for c, _, _ in points}):
            want.setdefault(cause, []).append(sum(v for (c, _, _), v in points.items() if c == cause))
    assert over_time == want == {"offline": [2, 3, 2], "site_offline": [1, 1, 0], "uplink_degraded": [2, 2]}


# --- ping, fleet -----------------------------------------------------------------------------------------------


def test_aps_losing_pings_and_not_answering_count_the_last_round_only(ping_influx: RadioInflux) -> None:
    losing = [ap.ap for ap, rounds in PING_ROUNDS.items() if rounds[NOW]["loss_pct"] > 0]
    assert sorted(losing) == sorted([BUSY_AP.ap, TLALPAN_AP.ap])  # BARE_AP lost pings only before
    assert _one(_run(ping_influx, FLEET, "APs losing pings"), "aps") == 2
    assert _one(_run(ping_influx, FLEET, "APs not answering pings"), "aps") == 1


def test_the_fleets_round_trip_median_p95_and_loss_per_cycle(ping_influx: RadioInflux) -> None:
    (series,) = _run(ping_influx, FLEET, "Ping round trip across the fleet")
    rows = [dict(zip(series["columns"], v, strict=True)) for v in series["values"]]
    # the APs' average round trips: 3, 25, 50, 12 (median (12 + 25) / 2, p95 by nearest rank the largest of four);
    # 3, 28, 55, 12; and now 3, 35, 12 (TLALPAN answered nothing: no round trip), loss (0 + 40 + 100 + 0) / 4
    assert [(r["median"], r["p95"], r["loss_pct"]) for r in rows] == [(18.5, 50.0, 10.0), (20.0, 55.0, 5.0),
                                                                      (12.0, 35.0, 35.0)]


def test_most_packet_loss_now_lists_the_worst_first_linking_to_the_ap(ping_influx: RadioInflux) -> None:
    panel = _panel(FLEET, "Most packet loss now")
    rows = _rows(_run(ping_influx, FLEET, "Most packet loss now"))
    (sort,) = panel["options"]["sortBy"]
    rows.sort(key=lambda r: r[sort["displayName"]], reverse=sort["desc"])
    assert [(r["ap"], r["district"], r["loss_pct"], r["rtt_avg_ms"], r["jitter_ms"]) for r in rows] == [
        (TLALPAN_AP.ap, "Tlalpan", 100.0, 55.0, 21.0), (BUSY_AP.ap, GAM, 40.0, 35.0, 12.0)]
    (link,) = next(o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == "ap")["properties"]
    assert link["value"][0]["url"].startswith("/d/hotspotctl-hotspot?var-ap=${__value.raw}&")


# --- ping, one AP ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ap", [BUSY_AP, TLALPAN_AP, BARE_AP, NOISY_AP], ids=lambda ap: ap.ap)
def test_the_hotspot_ping_panels_show_the_aps_own_rounds(ping_influx: RadioInflux, ap: Any) -> None:
    rounds = PING_ROUNDS[ap]
    chosen = {"district": [ap.district], "program": [ap.program], "ap": ap.ap}
    assert _one(_run(ping_influx, HOTSPOT, "Packet loss now", chosen), "loss_pct") == rounds[NOW]["loss_pct"]
    rtt_now = _run(ping_influx, HOTSPOT, "Ping round trip now", chosen)
    # the last round's own round trip: none when it got no answer (not an older round's figure)
    assert _one(rtt_now, "rtt_avg_ms") == rounds[NOW].get("rtt_avg_ms")
    assert _panel(HOTSPOT, "Ping round trip now")["options"]["reduceOptions"]["fields"] == "/^rtt_avg_ms$/"
    answered = [r for r in rounds if "rtt_avg_ms" in r]
    (trip,) = _run(ping_influx, HOTSPOT, "Ping round trip", chosen)
    assert [tuple(v[1:]) for v in trip["values"]] == [
        (r["rtt_min_ms"], r["rtt_avg_ms"], r["rtt_max_ms"], r["jitter_ms"]) for r in answered]
    (loss,) = _run(ping_influx, HOTSPOT, "Packet loss", chosen)
    assert [v[1] for v in loss["values"]] == [r["loss_pct"] for r in rounds]


def test_the_open_outages_panel_on_a_simulated_run_is_the_ledgers_count(simulated_influx: Any) -> None:
    """From what the run writes: the 5 % dead APs of the scenario open outages after two missed cycles."""
    run = simulated_influx
    assert "outages" in run.measurements() and run.open_outages > 0
    text = expand(_query(FLEET, "Open outages").text, {}, variables=[], time_range=TimeRange.last("1h"))
    assert _one(run.query(text), "open") == run.open_outages
    by_cause = expand(_query(FLEET, "Open outages by cause").text, {}, variables=[], time_range=TimeRange.last("1h"))
    assert sum(s["values"][0][1] for s in run.query(by_cause)) == run.open_outages
