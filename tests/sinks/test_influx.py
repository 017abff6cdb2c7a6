"""InfluxDB for real: Debian's influxdb (1.x /write) and victoria-metrics (/api/v2/write through
influxdb-client), a simulated city's cycles written and read back exactly, InfluxDB stopped and
restarted under a running scheduler, and the HTTP answers a writer must handle (a scripted server)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.scheduling.service import Service
from hotspotctl.settings import InfluxSettings
from hotspotctl.sinks.influx import (
    BACKOFF_FIRST_S,
    BatchRefused,
    InfluxSink,
    SinkUnavailable,
    V1Writer,
    V2Writer,
    retry_after,
)
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
    # the last cycle's per-AP figures, as computed, each exactly at its resolution (whole seconds of uptime,
    # per-user Mbps to six decimals, bits per second whole: docs/decisions/figures-at-their-resolution.md)
    for field in ("clients", "per_user_mbps", "uptime_s"):
        series = influxdb.query(f'SELECT last("{field}") FROM ap_status GROUP BY ap', db)
        stored = {s["tags"]["ap"]: s["values"][0][1] for s in series}
        expected = _last_values(service, field)
        if field == "uptime_s":
            expected = {ap: int(v) for ap, v in expected.items()}
        if field == "per_user_mbps":
            expected = {ap: float(f"{v:.6f}") for ap, v in expected.items()}
        assert stored == expected, field
        assert len(stored) == APS
    series = influxdb.query('SELECT last("in_bps") FROM ap_traffic GROUP BY ap', db)
    assert {s["tags"]["ap"]: s["values"][0][1] for s in series} == {
        ap: float(f"{v:.0f}") for ap, v in _last_values(service, "in_bps").items()}
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
    # VictoriaMetrics keeps 12 significant digits (a decimal mantissa), InfluxDB the float64 itself; both get the
    # figure to six decimals (docs/decisions/figures-at-their-resolution.md)
    assert {m["metric"]["ap"]: m["values"][-1] for m in per_user} == pytest.approx(
        {ap: float(f"{v:.6f}") for ap, v in _last_values(service, "per_user_mbps").items()}, rel=1e-11)


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
        server.halt()  # on the loop, blocking it: cycle 2 cannot start (and flush) before InfluxDB is down
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
    # and an ap_radio line per radio per cycle for the APs whose profile reads a radio table (UniFi, MikroTik)
    profiles = load_profiles([])
    radios = sum(sum(1 for port in ap.tree.family.ports if port.role == "radio") for ap in city.plan.fleet
                 if profiles.get(ap.tree.family.profile).radios is not None)
    assert radios > 0
    points += 2 * radios
    points += 2 * APS  # and an ap_ping line per AP per cycle (ping.enabled, the default: every AP has an address)
    # two batches a cycle: its lines, then its poller_cycle line (written after its commit, whose cost it counts)
    assert (status["batches"], status["points"]) == (4, points)

    result = cli(*data, "spool", "flush")  # still down
    assert result.code == 5 and "not reachable" in result.err

    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", influxdb.url)
    result = cli(*data, "spool", "flush", "--format", "json")
    assert result.code == 0, result.err
    flushed = json.loads(result.out)
    assert (flushed["batches"], flushed["points"], flushed["waiting"]["batches"]) == (4, points, 0)
    assert influxdb.count("ap_status", "up", influx_database) == 2 * APS
    assert json.loads(cli(*data, "spool", "status", "--format", "json").out)["points"] == 0


def test_spool_status_lists_the_spools_of_other_processes_in_its_subfolders(cli: Any, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster worker's spool is <spool>/<name>, a leader's <spool>/leader.<name>: one retired for good leaves its
    points there, which `spool status` on that host now shows, with how to send them."""
    spool_dir = tmp_path / "spool"
    monkeypatch.setenv("HOTSPOTCTL_SPOOL_DIR", str(spool_dir))
    worker = Spool(spool_dir / "poller-2")
    worker.append(["m v=1i 1790000000", "m v=2i 1790000001"])
    worker.append(["m v=3i 1790000002"])
    Spool(spool_dir / "leader.noc-1")  # opened, nothing waiting
    own = Spool(spool_dir)
    own.append(["m v=9i 1790000009"])
    own.reject(next(iter(own.batches())), "a test's refusal")  # its rejected/ folder: not another spool
    (spool_dir / "notes").mkdir()  # a folder that is no spool
    (spool_dir / "link").symlink_to(spool_dir / "poller-2")
    result = cli("spool", "status", "--format", "json")
    assert result.code == 0, result.err
    status = json.loads(result.out)
    assert (status["batches"], status["rejected"]) == (0, 1)
    assert [(o["name"], o["directory"], o["batches"], o["points"]) for o in status["others"]] == [
        ("leader.noc-1", str(spool_dir / "leader.noc-1"), 0, 0), ("poller-2", str(spool_dir / "poller-2"), 2, 3)]
    table = cli("spool", "status", "--format", "table")
    assert table.code == 0 and "other processes' spools in" in table.out and "poller-2" in table.out
    assert "is sent with: hotspotctl spool flush --spool poller-2" in table.err
    worker.replay(lambda body, precision: None)  # sent: nothing waits anywhere, and nothing is said about it
    table = cli("spool", "status", "--format", "table")
    assert "poller-2" in table.out and "spool flush --spool" not in table.err


def test_spool_flush_sends_another_process_spool_by_name_and_only_that(cli: Any, tmp_path: Path, influxdb: InfluxServer,
                                                                      influx_database: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    spool_dir = tmp_path / "spool"
    monkeypatch.setenv("HOTSPOTCTL_SPOOL_DIR", str(spool_dir))
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", influxdb.url)
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_API", "v1")
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_DATABASE", influx_database)
    influxdb.query(f'CREATE DATABASE "{influx_database}"')
    worker = Spool(spool_dir / "poller-2")
    worker.append(["m,of=worker v=1i 1790000000", "m,of=worker v=2i 1790000001"])
    worker.append(["m,of=worker v=3i 1790000002"])
    Spool(spool_dir).append(["m,of=own v=9i 1790000009"])
    (spool_dir / "notes").mkdir()
    result = cli("spool", "flush", "--spool", "poller-2", "--format", "json")
    assert result.code == 0, result.err
    flushed = json.loads(result.out)
    assert (flushed["batches"], flushed["points"], flushed["waiting"]["directory"]) == (2, 3, str(spool_dir / "poller-2"))
    assert worker.status().batches == 0 and Spool(spool_dir).status().points == 1  # its own spool untouched
    assert influxdb.count("m", "v", influx_database) == 3
    for name in ("poller-9", "notes", "rejected", "..", "../spool"):  # no such spool: nothing sent, nothing made
        refused = cli("spool", "flush", "--spool", name)
        assert refused.code == 3, (name, refused.err)
        assert refused.err.startswith(f"error: no spool {name!r} in {spool_dir} (the spools there: poller-2); "
                                      "`hotspotctl spool status` lists them"), refused.err
    assert not (spool_dir / "poller-9").exists() and Spool(spool_dir).status().points == 1


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


class _Waits(threading.Event):
    """The writer's stop event, recording every back-off the writer decides on (and waiting it out)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return super().wait(timeout)


def test_429_is_retried_after_what_retry_after_says(scripted: Any) -> None:
    server = scripted((429, {"Retry-After": "1"}, b'{"error":"slow down"}'), (503, {}, b""), (204, {}, b""))
    stop = _Waits()
    writer = V1Writer(InfluxSettings(url=server.url, api="v1", max_retries=3), stop=stop)
    writer.write(LINES, "s")
    assert len(server.requests) == 3
    # what the writer decided: Retry-After: 1, then the second back-off step (0.5 s x 2)
    assert stop.waits == [1.0, BACKOFF_FIRST_S * 2]
    # ... and waited for: each try came after its wait (a loaded machine only adds to that), and not
    # after another back-off step on top of it (a second wait of its own, not the one decided)
    gaps = [b["at"] - a["at"] for a, b in zip(server.requests, server.requests[1:], strict=False)]
    for gap, wait in zip(gaps, stop.waits, strict=True):
        assert wait <= gap < wait + BACKOFF_FIRST_S


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


# -- issue 15: one refusal never stops the queue ----------------------------------------------------------
#
# InfluxDB 2.x is not installable here; what it answers is played by the scripted server, as documented:
# https://docs.influxdata.com/influxdb/v2/write-data/troubleshoot/ ("204 No Content: All of the data is
# ingested and queryable"; "422 Unprocessable Entity: Some or all of the data has been rejected. Data that
# has not been rejected is ingested and queryable. The response body contains error details about
# rejected points"; "413 Request entity too large: All request data was rejected and not written") and
# https://docs.influxdata.com/influxdb/v2/api/response-codes/. The 422 body below is 2.x's own, as
# quoted in influxdata/influxdb discussion 24440.
V2_422 = (b'{"code":"unprocessable entity","message":"failure writing points to database: partial write: '
          b'points beyond retention policy dropped=2"}')


def _v2(server: ScriptedHttpServer, **extra: Any) -> InfluxSettings:
    return InfluxSettings(url=server.url, org="cdmx", bucket="wifi", token="tok-123", **extra)


def test_a_422_partial_write_from_influxdb_2x_is_set_aside_and_the_queue_goes_on(
        scripted: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hotspotctl")
    server = scripted((204, {}, b""), (422, {"Content-Type": "application/json"}, V2_422), (204, {}, b""))
    spool = Spool(tmp_path / "spool")
    sink = InfluxSink(_v2(server), spool)
    for n, size in enumerate((2, 3, 4)):
        sink.submit([f"ap_status,ap=A{i} up={n}i {1700000000 + n}" for i in range(size)])
    try:
        result = sink.flush()
    finally:
        sink.close()
    assert (result.ok, result.error, result.batches, result.points) == (True, None, 2, 2 + 4)
    assert (result.rejected, result.rejected_points) == (1, 3)
    (refusal,) = result.refusals
    assert (refusal.seq, refusal.points) == (2, 3)
    assert "HTTP 422: failure writing points to database: partial write: points beyond retention policy " \
           "dropped=2 (a partial write: InfluxDB wrote the batch's other points)" in refusal.reason
    assert len(server.requests) == 3  # the batch behind it went through in the same flush
    assert [b.seq for b in spool.rejected()] == [2]
    kept = spool.rejected()[0]
    assert gzip.decompress(kept.read_raw()) == gzip.decompress(server.requests[1]["body"])
    assert "dropped=2" in kept.path.with_name(kept.path.name + ".reason").read_text()
    status = spool.status()
    assert (status.batches, status.rejected, status.rejected_points) == (0, 1, 3)
    assert result.to_json()["refusals"][0]["seq"] == 2 and result.to_json()["rejected_points"] == 3
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("refused 1 batches (3 points) for good" in m and "--requeue" in m for m in logged)


def test_influxdb_1x_partial_writes_are_set_aside_counted_and_the_rest_is_written(
        influxdb: InfluxServer, influx_database: str, tmp_path: Path) -> None:
    """The real 1.x: a point older than the retention policy's duration, and a field type conflict, each
    answered 400 "partial write" after the rest of its batch was written."""
    db = influx_database
    influxdb.query(f'CREATE DATABASE "{db}"')
    influxdb.query(f'CREATE RETENTION POLICY "hour" ON "{db}" DURATION 1h REPLICATION 1')
    now = int(time.time())
    spool = Spool(tmp_path / "spool")
    sink = InfluxSink(InfluxSettings(url=influxdb.url, api="v1", database=db, retention_policy="hour"), spool)
    sink.submit([f"m,ap=A v=1i {now - 60}", f"m,ap=B v=2i {now - 7200}"])  # B: beyond the hour
    # C: v is an integer field. At A's second: a field's type is kept per shard (this policy's: an hour each), so C
    # a few seconds after an hour's turn would land in a shard with no v yet
    sink.submit([f'm,ap=C v="text" {now - 60}', f"m,ap=D v=4i {now - 60}"])
    sink.submit([f"m,ap=E v=5i {now - 40}", f"m,ap=F v=6i {now - 40}"])
    try:
        result = sink.flush()
    finally:
        sink.close()
    assert (result.ok, result.batches, result.points, result.rejected, result.rejected_points) == (True, 1, 2, 2, 4)
    first, second = result.refusals
    assert (first.seq, second.seq) == (1, 2)
    assert "partial write: points beyond retention policy dropped=1" in first.reason
    assert 'field type conflict: input field \\"v\\"' not in second.reason  # InfluxDB's text, unescaped
    assert 'partial write: field type conflict: input field "v" on measurement "m" is type string' in second.reason
    # InfluxDB 1.x wrote the other points of both (its partial write); nothing was written twice
    stored = influxdb.query('SELECT v, ap FROM "hour".m', db)[0]["values"]
    assert sorted((r[2], r[1]) for r in stored) == [("A", 1), ("D", 4), ("E", 5), ("F", 6)]
    status = spool.status()
    on_disk = sum(p.stat().st_size for p in (tmp_path / "spool" / "rejected").iterdir())
    assert (status.batches, status.rejected, status.rejected_points, status.rejected_bytes) == (0, 2, 4, on_disk)


def _random_lines(n: int, seed: int) -> list[str]:
    """Lines gzip cannot shrink much (random tag values), so a handful of them make a large request."""
    rng = random.Random(seed)
    return [f"m,ap=AP{i:04d},k={rng.getrandbits(160):040x} v={i}i {1_790_000_000 + i}" for i in range(n)]


def test_a_413_from_influxdb_1x_splits_the_batch_down_to_the_one_line_it_refuses(influx_database: str,
                                                                                tmp_path: Path) -> None:
    """The real 1.x with a small max-body-size: the whole batch, and its halves, are too large; quarters
    go through; one line is too large alone and is set aside, nothing else."""
    server = InfluxServer(max_body_size=2000).start()
    try:
        lines = _random_lines(240, seed=1)
        huge = f'm,ap=HUGE v=0i,blob="{base64.b64encode(random.Random(2).randbytes(3000)).decode()}" 1790000000'
        lines.insert(100, huge)
        spool = Spool(tmp_path / "spool")
        sink = InfluxSink(InfluxSettings(url=server.url, api="v1", database=influx_database, batch_points=10_000),
                          spool)
        sink.submit(lines)
        try:
            result = sink.flush()
        finally:
            sink.close()
        assert (result.ok, result.batches, result.points, result.rejected, result.rejected_points) == (
            True, 0, 240, 1, 1)
        assert "HTTP 413: Request Entity Too Large" in result.refusals[0].reason
        assert "took 240 of the batch's 241 points" in result.refusals[0].reason
        assert "one line over InfluxDB's request size limit" in result.refusals[0].reason
        assert server.count("m", "v", influx_database) == 240
        assert not server.query("SELECT v FROM m WHERE ap = 'HUGE'", influx_database)
        (kept,) = spool.rejected()
        assert (kept.seq, kept.points, kept.read()) == (1, 1, huge.encode() + b"\n")
        assert spool.status().batches == 0
    finally:
        server.stop()


def test_a_413_from_influxdb_2x_is_split_and_a_422_on_a_part_sets_aside_only_that_part(
        scripted: Any, tmp_path: Path) -> None:
    """2.x's 413 (played: more than 4 lines, or the one huge line, is too large) and a 422 for the half that
    holds a conflicting point: everything else is written, once."""
    written: list[bytes] = []

    def influxdb_2x(request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        body = gzip.decompress(request["body"]) if request["headers"].get("content-encoding") == "gzip" else \
            request["body"]
        lines = body.splitlines()
        if len(lines) > 4 or b"ap=HUGE" in body:
            return 413, {"Content-Type": "application/json"}, b'{"code":"request too large","message":"unable to ' \
                                                             b'read data: http: request body too large"}'
        if b"ap=CONFLICT" in body:
            return 422, {"Content-Type": "application/json"}, V2_422
        written.extend(lines)
        return 204, {}, b""

    server = ScriptedHttpServer(respond=influxdb_2x)
    try:
        lines = [f"m,ap=AP{i:02d} v={i}i {1_790_000_000 + i}" for i in range(16)]
        lines[5] = "m,ap=HUGE v=5i 1790000005"
        lines[11] = 'm,ap=CONFLICT v="x" 1790000011'
        spool = Spool(tmp_path / "spool")
        sink = InfluxSink(_v2(server), spool)
        sink.submit(lines)
        sink.submit(["m,ap=NEXT v=99i 1790000099"])
        try:
            result = sink.flush()
        finally:
            sink.close()
    finally:
        server.stop()
    # 16 lines: 413 -> 8 + 8 -> 413 each -> 4 + 4 + 4 + 4; [4..7] has HUGE -> 2 + 2 -> [4, 5] -> 1 + 1;
    # [8..11] has CONFLICT -> 422: those 4 are set aside; the next batch goes through
    assert (result.ok, result.batches, result.points) == (True, 1, 16 - 1 - 4 + 1)
    assert (result.rejected, result.rejected_points) == (1, 5)
    expected = [line.encode() for n, line in enumerate(lines) if n != 5 and not 8 <= n <= 11]
    assert sorted(written) == sorted([*expected, b"m,ap=NEXT v=99i 1790000099"])  # each once
    (kept,) = spool.rejected()
    assert kept.read().splitlines() == [lines[5].encode(), *(line.encode() for line in lines[8:12])]
    reason = result.refusals[0].reason
    assert "took 11 of the batch's 16 points" in reason and "HTTP 413" in reason and "HTTP 422" in reason


def test_a_requeued_batch_is_deliverable(influx_database: str, tmp_path: Path) -> None:
    """A batch an older version set aside (HTTP 413, as the newest batch) and requeued later, after newer
    batches were spooled (gzip'd, then plain: compression changed meanwhile): no seq is reused, the
    requeued batch goes first, split, and everything reaches InfluxDB."""
    server = InfluxServer(max_body_size=2000).start()
    try:
        settings = InfluxSettings(url=server.url, api="v1", database=influx_database)
        spool = Spool(tmp_path / "spool")
        spool.append(_random_lines(120, seed=3))
        (old,) = spool.batches()
        spool.reject(old, "InfluxDB refused the batch: HTTP 413: Request Entity Too Large")
        spool.append(["m,ap=LATER v=1i 1790000500"])
        Spool(tmp_path / "spool", compress=False).append(["m,ap=PLAIN v=2i 1790000501"])
        assert spool.requeue_rejected() == 1
        assert [(b.seq, b.gzipped) for b in spool.batches()] == [(1, True), (2, True), (3, False)]
        sink = InfluxSink(settings, Spool(tmp_path / "spool", compress=False))
        try:
            result = sink.flush()
        finally:
            sink.close()
        assert (result.ok, result.batches, result.points, result.rejected) == (True, 3, 122, 0)
        assert server.count("m", "v", influx_database) == 122
        assert spool.status().batches == spool.status().rejected == 0
    finally:
        server.stop()


# -- issue 15: InfluxDB's answers read strictly -------------------------------------------------------------


def test_retry_after_is_read_per_rfc_9110_and_capped_at_5_minutes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hotspotctl")
    now = 1_790_000_000.0
    assert retry_after("7") == 7.0 and retry_after(" 0 ") == 0.0
    assert retry_after("100000") == 300.0  # not 28 hours
    assert retry_after("9" * 400) == 300.0  # not for ever
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 30))
    assert retry_after(future, now=now) == 30.0
    assert retry_after(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 86400)), now=now) == 300.0
    assert retry_after(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now - 60)), now=now) == 0.0
    assert retry_after(None) is None and retry_after("") is None
    sunday = 784111740.0  # 1994-11-06 08:49:00 UTC; RFC 9110's three HTTP-date forms, 37 s later
    for form in ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"):
        assert retry_after(form, now=sunday) == 37.0, form
    for garbage in ("²", "١٢", "-1", "1.5", "+5", "soon", "5 s", "\x1b[2J"):
        assert retry_after(garbage, target="InfluxDB http://x") is None, garbage
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 8 and all("neither seconds nor an HTTP date: ignored" in n for n in notes)
    assert "\x1b" not in "".join(notes)


@pytest.mark.parametrize(("value", "expected"), [("100000", 300.0), ("9" * 400, 300.0), ("²", None)],
                         ids=["28-hours", "400-digits", "superscript-two"])
def test_a_wild_retry_after_neither_stalls_the_flushes_nor_breaks_them(scripted: Any, tmp_path: Path, value: str,
                                                                       expected: float | None) -> None:
    answer = (503, {"Retry-After": value}, b'{"error":"overloaded"}')
    server = scripted(answer, answer)
    settings = InfluxSettings(url=server.url, api="v1", max_retries=0, flush_interval_s=10)
    with pytest.raises(SinkUnavailable, match=r"HTTP 503: overloaded \(after 1 tries\)") as caught:
        V1Writer(settings).write(LINES, "s")
    assert caught.value.retry_after_s == expected
    sink = InfluxSink(settings, Spool(tmp_path))
    sink.submit(["m v=1i 1790000000"])
    result = sink.flush()
    assert not result.ok and "HTTP 503: overloaded (after 1 tries)" in (result.error or "")
    assert (result.waiting.batches, result.rejected) == (1, 0)
    assert 0 < sink.next_try_in() <= (expected or settings.flush_interval_s)  # the next scheduled flush: soon


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize(("status", "headers", "body"), [
    (200, {"Content-Type": "text/html; charset=utf-8"},
     b"<html><head><title>Portal cautivo: acepta los t\xe9rminos</title></head><body>...</body></html>"),
    (200, {}, b""),
    (202, {"Content-Type": "application/json"}, b'{"status":"queued"}'),
], ids=["200-html", "200-empty", "202"])
def test_only_204_means_written(scripted: Any, tmp_path: Path, api: str, status: int, headers: dict[str, str],
                                body: bytes) -> None:
    """A wrong URL or a captive portal answers 200 with a page: that batch was not written, it stays."""
    server = scripted((status, headers, body))
    settings = (InfluxSettings(url=server.url, api="v1") if api == "v1" else _v2(server))
    sink = InfluxSink(settings, Spool(tmp_path))
    sink.submit(["m v=1i 1790000000"])
    try:
        result = sink.flush()
    finally:
        sink.close()
    assert (result.ok, result.batches, result.points, result.rejected) == (False, 0, 0, 0)
    assert f"answered HTTP {status}" in (result.error or "") and "not the 204 No Content" in (result.error or "")
    assert "influx.url" in (result.error or "") and "NOT written" in (result.error or "")
    assert result.waiting is not None and result.waiting.batches == 1
    assert len(server.requests) == 1


def test_an_empty_batch_file_is_not_counted_as_delivered(influxdb: InfluxServer, influx_database: str,
                                                         tmp_path: Path) -> None:
    """InfluxDB answers 204 to an empty body: an emptied batch file is set aside as damaged, never counted."""
    spool = Spool(tmp_path / "spool")
    spool.append(["m,ap=A v=1i 1790000000", "m,ap=B v=2i 1790000000"])
    spool.append(["m,ap=C v=3i 1790000001"])
    spool.append(["m,ap=D v=4i 1790000002"])
    _, emptied, gz_empty = spool.batches()
    emptied.path.write_bytes(b"")  # a truncated file: its name still says 1 point
    gz_empty.path.write_bytes(gzip.compress(b"\n# nothing\n"))
    sink = InfluxSink(InfluxSettings(url=influxdb.url, api="v1", database=influx_database), spool)
    try:
        result = sink.flush()
    finally:
        sink.close()
    assert (result.ok, result.batches, result.points, result.rejected, result.rejected_points) == (True, 1, 2, 2, 2)
    assert all("damaged: the file holds no points" in r.reason for r in result.refusals)
    assert influxdb.count("m", "v", influx_database) == 2
    assert [b.seq for b in spool.rejected()] == [2, 3]


# -- issue 15: `hotspotctl spool` ----------------------------------------------------------------------------


def test_spool_flush_exits_4_naming_the_refused_batches_and_where_they_are(scripted: Any, cli: Any, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    server = scripted((204, {}, b""), (400, {}, b'{"error":"partial write: points beyond retention policy dropped=2"}'),
                      (204, {}, b""))
    spool_dir = tmp_path / "spool"
    monkeypatch.setenv("HOTSPOTCTL_SPOOL_DIR", str(spool_dir))
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", server.url)
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_API", "v1")
    spool = Spool(spool_dir)
    spool.append(["m v=1i 1790000000"])
    spool.append(["m v=2i 1790000001", "m v=3i 1790000002"])
    spool.append(["m v=4i 1790000003"])
    result = cli("spool", "flush")
    assert result.code == 4, result.err
    assert "sent 2 batches (2 points)" in result.err
    assert f"1 batches (2 points) were refused for good and set aside in {spool_dir / 'rejected'}" in result.err
    assert "batch 2 (2 points)" in result.err and "points beyond retention policy dropped=2" in result.err

    table = cli("spool", "status")
    assert table.code == 0
    assert f"1 batches (2 points) in {spool_dir / 'rejected'}" in " ".join(table.out.split())
    status = json.loads(cli("spool", "status", "--format", "json").out)
    on_disk = sum(p.stat().st_size for p in (spool_dir / "rejected").iterdir())
    assert (status["rejected"], status["rejected_points"], status["rejected_bytes"]) == (1, 2, on_disk)
    assert status["rejected_directory"] == str(spool_dir / "rejected")

    server.script.append((204, {}, b""))
    result = cli("spool", "flush", "--requeue", "--format", "json")
    assert result.code == 0, result.err
    flushed = json.loads(result.out)
    assert (flushed["requeued"], flushed["batches"], flushed["points"], flushed["rejected"]) == (1, 1, 2, 0)

    spool.append(["m v=5i 1790000004"])
    server.script.append((422, {}, V2_422))
    result = cli("spool", "flush", "--format", "json")
    assert result.code == 4
    flushed = json.loads(result.out)
    assert (flushed["rejected"], flushed["rejected_points"], flushed["refusals"][0]["seq"]) == (1, 1, 4)
    assert flushed["rejected_directory"] == str(spool_dir / "rejected")
