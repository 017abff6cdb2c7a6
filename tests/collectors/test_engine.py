"""The GET engine against a scripted UDP agent on loopback: matching, dropping, retries, splitting.

The agent is a real socket peer (not a mock): for each request it receives it runs the
test's script, which decides what datagrams to send back and from which socket.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotspotctl.collectors.codec import INTEGER, decode_response
from hotspotctl.collectors.engine import GetFailure, GetReply, GetRequest, GetShape, SnmpGetEngine
from hotspotctl.collectors.model import NO_SUCH_INSTANCE
from hotspotctl.collectors.oids import SYS_UPTIME
from tests.scripted_agent import CLIENTS, COMMUNITY, IN_OCTETS, Script, ScriptedAgent


def run(agent: ScriptedAgent, shapes: list[GetShape], **engine_args) -> tuple[list, SnmpGetEngine]:
    async def go():
        with SnmpGetEngine(**{"timeout_s": 0.2, "retries": 1, "deadline_s": 2.0, **engine_args}) as engine:
            requests = [GetRequest(i, agent.address, shape) for i, shape in enumerate(shapes)]
            return await engine.get_many(requests), engine

    return asyncio.run(go())


@pytest.fixture
def make_agent():
    agents = []

    def make(script: Script) -> ScriptedAgent:
        agent = ScriptedAgent(script)
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.close()


def test_a_plain_answer_gives_every_value_in_order(make_agent):
    agent = make_agent(lambda a, data, src: a.sock.sendto(a.answer(data), src))
    (reply,), engine = run(agent, [GetShape(COMMUNITY, [SYS_UPTIME, IN_OCTETS, CLIENTS, (1, 3, 6, 1, 9, 9)])])
    assert isinstance(reply, GetReply)
    assert reply.values == [123456, 2**64 - 5, 17, NO_SUCH_INSTANCE]
    assert engine.stats.sent == 1 and engine.stats.answered == 1 and engine.transport.stats.dropped == 0


def test_forged_and_stray_answers_are_dropped_and_counted_and_the_real_one_is_taken(make_agent):
    def script(a: ScriptedAgent, data: bytes, src) -> None:
        a.other.sendto(a.answer(data), src)  # right id, wrong source port
        a.sock.sendto(a.answer(data, community=b"guess"), src)  # wrong community
        a.sock.sendto(a.answer(data, rid_delta=7), src)  # an id nobody is waiting for
        a.sock.sendto(b"\x30\x03\x02\x01", src)  # truncated garbage
        a.sock.sendto(a.answer(data), src)  # the real answer, last

    agent = make_agent(script)
    (reply,), engine = run(agent, [GetShape(COMMUNITY, [SYS_UPTIME])])
    assert isinstance(reply, GetReply) and reply.values == [123456]
    stats = engine.transport.stats
    assert (stats.dropped_wrong_source, stats.dropped_wrong_community, stats.dropped_unknown_id,
            stats.dropped_malformed) == (1, 1, 1, 1)
    assert stats.received == 5 and engine.stats.answered == 1


def test_silence_is_retried_then_reported_as_a_timeout(make_agent):
    agent = make_agent(lambda a, data, src: None)
    (failure,), engine = run(agent, [GetShape(COMMUNITY, [SYS_UPTIME])], timeout_s=0.1, retries=2)
    assert isinstance(failure, GetFailure) and failure.kind == "timeout"
    assert "3 tries" in failure.message
    assert len(agent.requests) == 3 and engine.stats.retries == 2 and engine.stats.timeouts == 1


def test_a_lost_first_answer_is_recovered_by_the_retry(make_agent):
    def script(a: ScriptedAgent, data: bytes, src) -> None:
        if len(a.requests) > 1:
            a.sock.sendto(a.answer(data), src)

    agent = make_agent(script)
    (reply,), engine = run(agent, [GetShape(COMMUNITY, [SYS_UPTIME])], timeout_s=0.1, retries=2)
    assert isinstance(reply, GetReply) and reply.values == [123456]
    assert engine.stats.retries == 1


def test_too_big_splits_the_get_until_it_fits(make_agent):
    def script(a: ScriptedAgent, data: bytes, src) -> None:
        asked = len(decode_response(data).varbinds)
        if asked > 1:
            a.sock.sendto(a.answer(data, error_status=1, varbinds=[]), src)
        else:
            a.sock.sendto(a.answer(data), src)

    agent = make_agent(script)
    (reply,), engine = run(agent, [GetShape(COMMUNITY, [SYS_UPTIME, IN_OCTETS, CLIENTS])])
    assert isinstance(reply, GetReply) and reply.values == [123456, 2**64 - 5, 17]
    assert engine.stats.splits == 2  # 3 -> 1 + 2, then 2 -> 1 + 1


def test_shapes_larger_than_max_oids_go_as_several_gets(make_agent):
    agent = make_agent(lambda a, data, src: a.sock.sendto(a.answer(data), src))
    shape = GetShape(COMMUNITY, [SYS_UPTIME, IN_OCTETS, CLIENTS], max_oids=2)
    (reply,), engine = run(agent, [shape])
    assert reply.values == [123456, 2**64 - 5, 17]
    assert engine.stats.sent == 2 and len(agent.requests) == 2


def test_an_answer_with_other_oids_is_a_protocol_error(make_agent):
    agent = make_agent(lambda a, data, src: a.sock.sendto(
        a.answer(data, varbinds=[(CLIENTS, INTEGER, 1)]), src))
    (failure,), engine = run(agent, [GetShape(COMMUNITY, [SYS_UPTIME])])
    assert isinstance(failure, GetFailure) and failure.kind == "protocol"
    assert engine.stats.dropped_mismatch == 1


def test_the_in_flight_cap_holds_and_every_request_completes(make_agent):
    agent = make_agent(lambda a, data, src: a.sock.sendto(a.answer(data), src))
    shape = GetShape(COMMUNITY, [SYS_UPTIME, CLIENTS])
    replies, engine = run(agent, [shape] * 500, max_in_flight=7)
    assert [r.key for r in replies] == list(range(500))
    assert all(isinstance(r, GetReply) and r.values == [123456, 17] for r in replies)
    assert engine.stats.sent == 500


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(st.binary(min_size=0, max_size=120), min_size=1, max_size=5))
def test_garbage_datagrams_never_break_the_engine(make_agent, garbage):
    def script(a: ScriptedAgent, data: bytes, src) -> None:
        for junk in garbage:
            a.sock.sendto(junk, src)
        a.sock.sendto(a.answer(data), src)

    agent = make_agent(script)
    (reply,), engine = run(agent, [GetShape(COMMUNITY, [SYS_UPTIME])])
    assert isinstance(reply, GetReply) and reply.values == [123456]
    assert engine.transport.stats.received == len(garbage) + 1
    assert engine.transport.stats.dropped == len(garbage)
