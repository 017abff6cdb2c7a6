"""A poll turns each reply into its Sample as it arrives (engine.get_many's on_reply), from the transport's read
loop: the replies never pile up, and one AP whose answer cannot be read fails alone, never the loop."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

import hotspotctl.collectors.poller as poller_module
from hotspotctl.collectors.engine import GetReply, GetRequest, GetShape, SnmpGetEngine
from hotspotctl.collectors.model import Discovery, PollError, Sample
from hotspotctl.collectors.oids import parse_oid
from hotspotctl.collectors.poller import Poller, Target
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.errors import PollErrorKind
from hotspotctl.settings import SnmpAuth, SnmpSettings
from tests.conftest import FIXTURES

SYS_DESCR = parse_oid("1.3.6.1.2.1.1.1.0")


def test_on_reply_gets_each_result_as_it_completes_and_the_list_holds_none(snmpd) -> None:
    seen: list[tuple[int, object]] = []

    async def main() -> list[object]:
        with SnmpGetEngine(timeout_s=0.5, retries=0, deadline_s=1.0) as engine:
            shape = GetShape(snmpd.COMMUNITY.encode(), [SYS_DESCR])
            dead = GetShape(b"not-the-community", [SYS_DESCR])
            address = ("127.0.0.1", snmpd.port)
            return await engine.get_many([GetRequest("a", address, shape), GetRequest("b", address, dead),
                                          GetRequest("c", address, shape)],
                                         on_reply=lambda index, reply: seen.append((index, reply)))

    listed = asyncio.run(main())
    assert listed == [None, None, None]
    assert sorted(index for index, _ in seen) == [0, 1, 2]
    by_index = dict(seen)
    assert isinstance(by_index[0], GetReply) and isinstance(by_index[2], GetReply)
    assert by_index[0].values[0] == by_index[2].values[0] != b""
    assert by_index[1].kind == PollErrorKind.TIMEOUT  # snmpd ignores a wrong community
    assert [index for index, _ in seen][-1] == 1  # the silent one completes last, after its timeout


def test_an_answer_that_cannot_be_read_fails_its_ap_alone(snmpd, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turning an answer into a Sample runs in the transport's read loop: an exception there would leave the batch
    incomplete and the poll waiting forever. Before streaming (d024878) it failed the whole poll."""
    settings = replace(SnmpSettings(), timeout_s=1.0, retries=1, auth={"lab": SnmpAuth(community=snmpd.COMMUNITY)})
    good, bad = Target("GOOD", snmpd.address, "lab", "netsnmp_loopback"), Target("BAD", snmpd.address, "lab",
                                                                                   "netsnmp_loopback")
    real = poller_module.build_sample

    def breaks_on_bad(ap: str, *args: object, **kwargs: object):
        if ap == "BAD":
            raise ZeroDivisionError("a bug of ours")
        return real(ap, *args, **kwargs)  # type: ignore[arg-type]

    async def scenario() -> list[object]:
        with Poller(settings, load_profiles([FIXTURES / "profiles"])) as poller:
            found = await poller.discover([good])
            assert isinstance(found["GOOD"], Discovery), found
            monkeypatch.setattr(poller_module, "build_sample", breaks_on_bad)
            results, _ = await asyncio.wait_for(poller.poll([(good, found["GOOD"], False),
                                                             (bad, found["GOOD"], False)]), 10)
            return results

    first, second = asyncio.run(scenario())
    assert isinstance(first, Sample) and first.ap == "GOOD"
    assert isinstance(second, PollError) and second.ap == "BAD" and second.kind == PollErrorKind.PROTOCOL
    assert "ZeroDivisionError('a bug of ours')" in second.message
