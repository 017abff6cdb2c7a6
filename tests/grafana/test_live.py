"""The --live client's requests: v1 and v2 authentication, never a secret in the URL (a fake InfluxDB records them)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hotspotctl.errors import SinkError
from hotspotctl.grafana.live import InfluxQL, InfluxQLError
from hotspotctl.settings import InfluxSettings

SERIES = [{"name": "ap_status", "columns": ["time", "up"], "values": [[1795340700000, 1]]}]


class FakeInflux(ThreadingHTTPServer):
    """Answers /query like InfluxDB 1.x: a series, a refused statement, or 401, and keeps each request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, object]] = []
        self.answer: tuple[int, dict[str, object]] = (200, {"results": [{"statement_id": 0, "series": SERIES}]})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeInflux

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.server.requests.append({"path": self.path, "form": dict(urllib.parse.parse_qsl(body)),
                                     "authorization": self.headers.get("Authorization")})
        status, document = self.server.answer
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[FakeInflux]:
    server = FakeInflux()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_v2_sends_the_token_as_a_header_and_the_dbrp_database(fake: FakeInflux) -> None:
    client = InfluxQL(InfluxSettings(url=fake.url + "/", api="v2", token="tok-SECRET", database="hotspotctl"))
    assert client.query('SELECT last("up") AS "up" FROM "ap_status"') == SERIES
    assert fake.requests == [{"path": "/query", "authorization": "Token tok-SECRET", "form": {
        "q": 'SELECT last("up") AS "up" FROM "ap_status"', "db": "hotspotctl", "epoch": "ms"}}]


def test_v1_sends_basic_auth_and_the_retention_policy(fake: FakeInflux) -> None:
    client = InfluxQL(InfluxSettings(url=fake.url, api="v1", database="wifi", retention_policy="ninety_days",
                                     username="grafana", password="pa:ss-SECRET"))
    client.query("SHOW MEASUREMENTS")
    (request,) = fake.requests
    assert request["path"] == "/query" and request["authorization"] == "Basic Z3JhZmFuYTpwYTpzcy1TRUNSRVQ="
    assert request["form"] == {"q": "SHOW MEASUREMENTS", "db": "wifi", "epoch": "ms", "rp": "ninety_days"}
    InfluxQL(InfluxSettings(url=fake.url, api="v1")).query("SHOW MEASUREMENTS")
    assert fake.requests[1]["authorization"] is None


def test_refusals_say_what_to_fix(fake: FakeInflux) -> None:
    client = InfluxQL(InfluxSettings(url=fake.url, api="v2", token="tok"))
    fake.answer = (200, {"results": [{"statement_id": 0, "error": "undefined function lats()"}]})
    with pytest.raises(InfluxQLError, match=r"^undefined function lats\(\)$"):
        client.query("SELECT lats(up) FROM ap_status")
    fake.answer = (401, {"error": "unauthorized access"})
    with pytest.raises(SinkError, match=r"refused the credentials \(HTTP 401: unauthorized access\); check "
                                        r"HOTSPOTCTL_INFLUX_TOKEN \(a token that may read the bucket\)"):
        client.query("SHOW MEASUREMENTS")
