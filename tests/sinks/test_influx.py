"""InfluxDB for real: Debian's influxdb (1.x /write) and victoria-metrics (/api/v2/write through
influxdb-client), a simulated city's cycles written and read back exactly, InfluxDB stopped and
restarted under a running scheduler, and the HTTP answers a writer must handle (a scripted server)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.scheduling.service import Service
from hotspotctl.settings import InfluxSettings
from hotspotctl.sinks.influx import BatchRefused, InfluxSink, SinkUnavailable, V1Writer, V2Writer, retry_after
from hotspotctl.sinks.spool import Spool
from tests.city import APS, City
from tests.servers import InfluxServer, ScriptedHttpServer, VictoriaMetricsServer, free_port

CYCLES = 3


def _run_service(city: City, cycles: int, interval_s: float = 2.0, during: Any = None) -> Service:
    """``cycles`` scheduled cycles of the city; ``during(service)`` runs alongside (a coroutine)."""

    async def scenario() -> Service:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            sink = city.sink()
            service = Service(city.runner(poller, sink), interval_s=interval_s, max_cycles=cycles)
            try:
                if during is None:
                    await service.run()
                else:
                    await asyncio.gather(service.run(), during(service))
            finally:
                sink.close()
            return service

    return asyncio.run(scenario())


def _last_values(service: Service, field: str) -> dict[str, Any]:
    """Per AP, the field's value in the last cycle, from the cycle's own report."""
    report = service.runner.last_report
    assert report is not None
    return {o.ap.id: getattr(o.rate, field) for o in report.outcomes
            if o.rate is not None and getattr(o.rate, field) is not None}


@pytest.fixture
def v1_city(city: City, influxdb: InfluxServer, influx_database: str) -> City:
    from dataclasses import replace

    city.settings = replace(city.settings, influx=replace(city.settings.influx, url=influxdb.url, api="v1",
                                                          database=influx_database))
    return city


def test_cycles_written_to_influxdb_1x_read_back_exactly(v1_city: City, influxdb: InfluxServer,
                                                         influx_database: str) -> None:
    service = _run_service(v1_city, CYCLES)
    db = influx_database
    assert len(service.records) == CYCLES and all(r.sink == "influx" for r in service.records)
    assert Spool(v1_city.settings.spool_dir).status().batches == 0  # everything delivered, nothing waits
    # every AP every cycle; the cycle's own figures exactly as recorded
    assert influxdb.count("ap_status", "up", db) == APS * CYCLES
    rows = influxdb.query("SELECT aps, ok, points, spool_batches FROM poller_cycle", db)[0]["values"]
    assert [(r[1], r[2], r[3]) for r in rows] == [(r.aps, r.ok, r.points) for r in service.records]
    # the last cycle's per-AP figures, as computed, down to the last bit of each float
    for field in ("clients", "per_user_mbps", "uptime_s"):
        series = influxdb.query(f'SELECT last("{field}") FROM ap_status GROUP BY ap', db)
        stored = {s["tags"]["ap"]: s["values"][0][1] for s in series}
        expected = _last_values(service, field)
        if field == "uptime_s":
            expected = {ap: int(v) for ap, v in expected.items()}
        assert stored == expected, field
        assert len(stored) == APS
    series = influxdb.query('SELECT last("in_bps") FROM ap_traffic GROUP BY ap', db)
    assert {s["tags"]["ap"]: s["values"][0][1] for s in series} == _last_values(service, "in_bps")
    # the tags the dashboards filter on, and the rollup adding up to the fleet
    tags = influxdb.query('SHOW TAG VALUES FROM ap_status WITH KEY = "district"', db)[0]["values"]
    assert sorted(v[1] for v in tags) == ["Iztapalapa", "Tlalpan"]
    rollup = service.runner.last_rollup
    assert rollup is not None
    series = influxdb.query('SELECT last("up") FROM fleet_rollup GROUP BY district', db)
    assert {s["tags"]["district"]: s["values"][0][1] for s in series} == {
        d: t.up for d, t in rollup.districts.items()}
    # where each AP is: the geohash tag the geomap reads (SCH-007 is at 19.307, -99.100)
    located = influxdb.query('SELECT last("up") FROM ap_status WHERE ap = \'SCH-007\' GROUP BY geohash', db)
    assert [s["tags"]["geohash"] for s in located] == ["9g3tbftx6"]


def test_cycles_written_through_influxdb_client_to_victoria_metrics(city: City,
                                                                   victoria_metrics: VictoriaMetricsServer) -> None:
    from dataclasses import replace

    city.settings = replace(city.settings, influx=replace(
        city.settings.influx, url=victoria_metrics.url, api="v2", org="cdmx", bucket="wifi", token="vm-token"))
    service = _run_service(city, CYCLES)
    assert Spool(city.settings.spool_dir).status().batches == 0
    exported = victoria_metrics.export('{__name__="ap_status_clients"}')
    stored = {m["metric"]["ap"]: m["values"][-1] for m in exported}
    assert stored == _last_values(service, "clients") and len(stored) == APS
    # each AP once per cycle: no batch written twice
    assert sorted({len(m["values"]) for m in exported}) == [CYCLES]
    cycles = victoria_metrics.export('{__name__="poller_cycle_aps"}')
    assert cycles[0]["values"] == [APS] * CYCLES
    per_user = victoria_metrics.export('{__name__="ap_status_per_user_mbps"}')
    # VictoriaMetrics keeps 12 significant digits (a decimal mantissa), InfluxDB the float64 itself
    assert {m["metric"]["ap"]: m["values"][-1] for m in per_user} == pytest.approx(
        _last_values(service, "per_user_mbps"), rel=1e-11)


def test_influxdb_away_for_several_cycles_loses_nothing(city: City, influx_database: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Stop InfluxDB after cycle 1, start it after cycle 4: all 6 cycles end up in it, once."""
    from dataclasses import replace

    caplog.set_level(logging.INFO, logger="hotspotctl")
    server = InfluxServer().start()  # its own: this test stops it
    city.settings = replace(city.settings, influx=replace(
        city.settings.influx, url=server.url, api="v1", database=influx_database, flush_interval_s=1.0,
        max_retries=1))
    spooled_while_down: list[int] = []

    async def outage(service: Service) -> None:
        while len(service.records) < 1:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(server.halt)
        while len(service.records) < 4:
            await asyncio.sleep(0.05)
        spooled_while_down.append(Spool(city.settings.spool_dir).status().batches)
        await asyncio.to_thread(server.start)

    try:
        service = _run_service(city, 6, during=outage)
        assert spooled_while_down and spooled_while_down[0] >= 3  # cycles 2-4 at least waited on disk
        assert Spool(city.settings.spool_dir).status().batches == 0
        assert server.count("ap_status", "up", influx_database) == APS * 6
        assert server.count("poller_cycle", "aps", influx_database) == 6
        times = server.query("SELECT count(up) FROM ap_status GROUP BY time(1s) fill(none)", influx_database)
        assert sum(v[1] for v in times[0]["values"]) == APS * 6
        # the poller_cycle points say how deep the spool was when each cycle ended
        depth = [v[1] for v in server.query("SELECT spool_batches FROM poller_cycle", influx_database)[0]["values"]]
        assert max(depth) >= 2
        assert any("is not reachable" in r.getMessage() for r in caplog.records)
        assert any(f.batches >= 3 for f in service.flushes)  # the backlog went out after the restart
    finally:
        server.stop()


# -- the CLI: spool status / flush, exit 5 ---------------------------------------------------------


def test_run_with_influxdb_down_exits_5_and_spool_flush_sends_it_later(city: City, cli: Any, influxdb: InfluxServer,
                                                                      influx_database: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_API", "v1")
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_DATABASE", influx_database)
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens
    data = ("--data-dir", str(city.data_dir))
    result = cli(*data, "run", "--cycles", "2", "--interval", "2")
    assert result.code == 5, result.err
    assert "wait in the spool" in result.err and "hotspotctl spool flush" in result.err
    status = json.loads(cli(*data, "spool", "status", "--format", "json").out)
    points = 2 * (APS + 2 + 1) + APS  # per cycle: ap_status, 2 rollups, poller_cycle; ap_traffic from cycle 2 on
    points += APS  # the first cycle has link speed, so ap_traffic too
    assert (status["batches"], status["points"]) == (2, points)

    result = cli(*data, "spool", "flush")  # still down
    assert result.code == 5 and "not reachable" in result.err

    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", influxdb.url)
    result = cli(*data, "spool", "flush", "--format", "json")
    assert result.code == 0, result.err
    flushed = json.loads(result.out)
    assert (flushed["batches"], flushed["points"], flushed["waiting"]["batches"]) == (2, points, 0)
    assert influxdb.count("ap_status", "up", influx_database) == 2 * APS
    assert json.loads(cli(*data, "spool", "status", "--format", "json").out)["points"] == 0


def test_spool_flush_without_influxdb_configured_says_what_to_set(cli: Any) -> None:
    result = cli("spool", "flush")
    assert result.code == 3
    assert "HOTSPOTCTL_INFLUX_URL" in result.err and "nowhere to flush" in result.err


# -- what each HTTP answer means (a scripted server on loopback) -----------------------------------

@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[ScriptedHttpServer] = []

    def start(*script: tuple[int, dict[str, str], bytes]) -> ScriptedHttpServer:
        servers.append(ScriptedHttpServer(*script))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


LINES = b"ap_status,ap=A up=1i 1700000000\nap_status,ap=B up=0i 1700000000\n"


def test_v1_writer_sends_gzip_basic_auth_and_the_database(scripted: Any) -> None:
    server = scripted((204, {}, b""))
    writer = V1Writer(InfluxSettings(url=server.url, api="v1", database="wifi", retention_policy="week",
                                     username="noc", password="s3cret-pw"))
    writer.write(gzip.compress(LINES), "s")
    request = server.requests[0]
    assert request["path"] == "/write?db=wifi&precision=s&rp=week"
    assert request["headers"]["content-encoding"] == "gzip"
    assert gzip.decompress(request["body"]) == LINES
    assert request["headers"]["authorization"] == "Basic " + base64.b64encode(b"noc:s3cret-pw").decode()
    assert "s3cret-pw" not in request["path"]


def test_v2_writer_sends_the_token_org_and_bucket(scripted: Any) -> None:
    server = scripted((204, {}, b""))
    writer = V2Writer(InfluxSettings(url=server.url, org="cdmx", bucket="wifi", token="tok-123"))
    try:
        writer.write(gzip.compress(LINES), "s")
    finally:
        writer.close()
    request = server.requests[0]
    assert request["path"] == "/api/v2/write?org=cdmx&bucket=wifi&precision=s"
    assert request["headers"]["authorization"] == "Token tok-123"
    assert request["headers"]["content-encoding"] == "gzip"
    assert gzip.decompress(request["body"]) == LINES


def test_429_is_retried_after_what_retry_after_says(scripted: Any) -> None:
    server = scripted((429, {"Retry-After": "1"}, b'{"error":"slow down"}'), (503, {}, b""), (204, {}, b""))
    writer = V1Writer(InfluxSettings(url=server.url, api="v1", max_retries=3))
    writer.write(LINES, "s")
    gaps = [b["at"] - a["at"] for a, b in zip(server.requests, server.requests[1:], strict=False)]
    assert len(server.requests) == 3
    assert 1.0 <= gaps[0] < 1.5  # Retry-After: 1
    assert 1.0 <= gaps[1] < 1.5  # the second back-off step: 0.5 s x 2


def test_5xx_beyond_the_retries_leaves_the_batch_for_later(scripted: Any) -> None:
    server = scripted(*[(500, {}, b'{"error":"timeout"}')] * 2)
    writer = V1Writer(InfluxSettings(url=server.url, api="v1", max_retries=1))
    with pytest.raises(SinkUnavailable, match=r"HTTP 500: timeout \(after 2 tries\)"):
        writer.write(LINES, "s")


def test_a_retry_after_beyond_retry_max_is_not_waited_for_in_the_request(scripted: Any) -> None:
    server = scripted((503, {"Retry-After": "120"}, b""))
    writer = V1Writer(InfluxSettings(url=server.url, api="v1", retry_max_s=30))
    with pytest.raises(SinkUnavailable) as caught:
        writer.write(LINES, "s")
    assert caught.value.retry_after_s == 120 and len(server.requests) == 1


def test_bad_auth_keeps_the_batch_and_names_the_setting(scripted: Any, tmp_path: Path) -> None:
    server = scripted((401, {}, b'{"code":"unauthorized","message":"unauthorized access"}'))
    sink = InfluxSink(InfluxSettings(url=server.url, token="wrong-token"), Spool(tmp_path / "spool"))
    sink.submit(["ap_status,ap=A up=1i 1700000000"])
    result = sink.flush()
    assert not result.ok and "HTTP 401: unauthorized access" in (result.error or "")
    assert "HOTSPOTCTL_INFLUX_TOKEN" in (result.error or "") and "wrong-token" not in (result.error or "")
    assert (result.waiting.batches, result.waiting.rejected) == (1, 0)
    assert not sink.due()  # backing off


def test_a_batch_refused_for_good_moves_aside_and_the_rest_go_through(scripted: Any, tmp_path: Path) -> None:
    server = scripted((204, {}, b""), (400, {}, b'{"error":"partial write: field type conflict"}'), (204, {}, b""))
    spool = Spool(tmp_path / "spool")
    sink = InfluxSink(InfluxSettings(url=server.url, api="v1"), spool)
    for n in range(3):
        sink.submit([f"ap_status,ap=A up={n}i {1700000000 + n}"])
    result = sink.flush()
    assert (result.ok, result.batches, result.rejected) == (True, 2, 1)
    assert [r["body"] for r in server.requests if not r["body"].startswith(b"\x1f")] == []  # all gzip'd
    assert [gzip.decompress(r["body"]) for r in server.requests] == [
        f"ap_status,ap=A up={n}i {1700000000 + n}\n".encode() for n in range(3)]
    rejected = spool.rejected()
    assert [b.seq for b in rejected] == [2]
    reason = rejected[0].path.with_name(rejected[0].path.name + ".reason").read_text()
    assert "field type conflict" in reason
    assert (spool.status().batches, spool.status().rejected) == (0, 1)
    assert spool.requeue_rejected() == 1 and [b.seq for b in spool.batches()] == [2]


def test_batches_are_split_at_batch_points(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    sink = InfluxSink(InfluxSettings(batch_points=4), spool)
    assert sink.submit([f"m v={i}i {i}" for i in range(10)]) == 3
    assert [b.points for b in spool.batches()] == [4, 4, 2]
    assert not sink.configured and sink.flush().error == "no InfluxDB configured (influx.url)"


def test_batch_refused_is_not_retried(scripted: Any) -> None:
    server = scripted((413, {}, b'{"error":"Request Entity Too Large"}'))
    with pytest.raises(BatchRefused, match=r"lower influx\.batch_points"):
        V1Writer(InfluxSettings(url=server.url, api="v1")).write(LINES, "s")
    assert len(server.requests) == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("7") == 7.0
    assert retry_after(None) is None and retry_after("soon") is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 28 <= (retry_after(future) or 0) <= 31


def test_a_missing_1x_database_is_created_once_then_written(scripted: Any) -> None:
    server = scripted((404, {}, b'{"error":"database not found: \\"wifi\\""}'),
                      (200, {}, b'{"results":[{"statement_id":0}]}'), (204, {}, b""))
    V1Writer(InfluxSettings(url=server.url, api="v1", database="wifi")).write(LINES, "s")
    assert [r["path"] for r in server.requests] == ["/write?db=wifi&precision=s", "/query",
                                                    "/write?db=wifi&precision=s"]
    assert server.requests[1]["body"] == b"q=CREATE+DATABASE+%22wifi%22"


def test_a_refused_create_database_leaves_the_batch_and_says_so(scripted: Any) -> None:
    server = scripted((404, {}, b'{"error":"database not found: \\"wifi\\""}'),
                      (200, {}, b'{"results":[{"statement_id":0,"error":"requires admin privilege"}]}'))
    with pytest.raises(SinkUnavailable, match="database 'wifi' does not exist"):
        V1Writer(InfluxSettings(url=server.url, api="v1", database="wifi")).write(LINES, "s")
    assert len(server.requests) == 2
