"""The --live client's requests: v1 and v2 authentication, never a secret in the URL (a fake InfluxDB records them)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest

from hotspotctl.errors import SinkError
from hotspotctl.grafana.live import InfluxQL, InfluxQLError
from hotspotctl.settings import InfluxSettings
from tests.servers import ScriptedHttpServer

SERIES = [{"name": "ap_status", "columns": ["time", "up"], "values": [[1795340700000, 1]]}]


class FakeInflux(ScriptedHttpServer):
    """Answers /query like InfluxDB 1.x: a series, a refused statement, or 401; keeps each request."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = (200, {"results": [{"statement_id": 0, "series": SERIES}]})

    @property
    def answer(self) -> tuple[int, dict[str, object]]:
        return self._answer

    @answer.setter
    def answer(self, value: tuple[int, dict[str, object]]) -> None:
        self._answer = value
        self.default = (value[0], {"Content-Type": "application/json"}, json.dumps(value[1]).encode())

    @property
    def seen(self) -> list[dict[str, object]]:
        """Each request as the tests compare it: path, Authorization (or None), the form it posted."""
        return [{"path": r["path"], "form": dict(urllib.parse.parse_qsl(r["body"].decode())),
                 "authorization": r["headers"].get("authorization")} for r in self.requests]


@pytest.fixture
def fake() -> Iterator[FakeInflux]:
    server = FakeInflux()
    try:
        yield server
    finally:
        server.stop()


def test_v2_sends_the_token_as_a_header_and_the_dbrp_database(fake: FakeInflux) -> None:
    client = InfluxQL(InfluxSettings(url=fake.url + "/", api="v2", token="tok-SECRET", database="hotspotctl"))
    assert client.query('SELECT last("up") AS "up" FROM "ap_status"') == SERIES
    assert fake.seen == [{"path": "/query", "authorization": "Token tok-SECRET", "form": {
        "q": 'SELECT last("up") AS "up" FROM "ap_status"', "db": "hotspotctl", "epoch": "ms"}}]


def test_v1_sends_basic_auth_and_the_retention_policy(fake: FakeInflux) -> None:
    client = InfluxQL(InfluxSettings(url=fake.url, api="v1", database="wifi", retention_policy="ninety_days",
                                     username="grafana", password="pa:ss-SECRET"))
    client.query("SHOW MEASUREMENTS")
    (request,) = fake.seen
    assert request["path"] == "/query" and request["authorization"] == "Basic Z3JhZmFuYTpwYTpzcy1TRUNSRVQ="
    assert request["form"] == {"q": "SHOW MEASUREMENTS", "db": "wifi", "epoch": "ms", "rp": "ninety_days"}
    InfluxQL(InfluxSettings(url=fake.url, api="v1")).query("SHOW MEASUREMENTS")
    assert fake.seen[1]["authorization"] is None


def test_refusals_say_what_to_fix(fake: FakeInflux) -> None:
    client = InfluxQL(InfluxSettings(url=fake.url, api="v2", token="tok"))
    fake.answer = (200, {"results": [{"statement_id": 0, "error": "undefined function lats()"}]})
    with pytest.raises(InfluxQLError, match=r"^undefined function lats\(\)$"):
        client.query("SELECT lats(up) FROM ap_status")
    fake.answer = (401, {"error": "unauthorized access"})
    with pytest.raises(SinkError, match=r"refused the credentials \(HTTP 401: unauthorized access\); check "
                                        r"HOTSPOTCTL_INFLUX_TOKEN \(a token that may read the bucket\)"):
        client.query("SHOW MEASUREMENTS")
