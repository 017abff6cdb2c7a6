"""The redis_server fixture: a real redis-server on loopback, no persistence."""

from __future__ import annotations

from tests.servers import RedisServer


def test_redis_server_answers_and_keeps_nothing_on_disk(redis_server: RedisServer) -> None:
    redis_server.command("SET", "hotspotctl:fixture", "1")
    assert redis_server.command("GET", "hotspotctl:fixture") == "1"
    assert redis_server.command("CONFIG", "GET", "save") == {"save": ""}
    assert redis_server.command("CONFIG", "GET", "appendonly") == {"appendonly": "no"}
    redis_server.command("DEL", "hotspotctl:fixture")


def test_a_halted_redis_comes_back_empty_on_its_port() -> None:
    server = RedisServer().start()
    try:
        port = server.port
        server.command("SET", "k", "v")
        server.halt()
        server.start()
        assert server.port == port
        assert server.command("GET", "k") is None
    finally:
        server.stop()
    assert not server.root.exists()
