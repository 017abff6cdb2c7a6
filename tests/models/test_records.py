"""models.records.fast_init: the hot records keep every dataclass behaviour with the faster ``__init__``."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field

import pytest

from hotspotctl.collectors.model import PollError, Sample
from hotspotctl.errors import PollErrorKind
from hotspotctl.evaluate.rates import CounterState, RateSample, _result, _state
from hotspotctl.models.health import ApHealth
from hotspotctl.models.ping import PingResult
from hotspotctl.models.radios import Radio
from hotspotctl.models.records import fast_init
from hotspotctl.scheduling.cycle import ApOutcome
from hotspotctl.store.polling import ApState

HOT = (Sample, PollError, Radio, RateSample, CounterState, ApState, ApOutcome, ApHealth, PingResult)


@fast_init
@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: float = 0.5
    tags: tuple[str, ...] = ()


def _plain_point() -> type:
    @dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: float = 0.5
        tags: tuple[str, ...] = ()
    return Point


def test_a_fast_record_is_the_dataclass_it_was():
    p = Point(1, tags=("a",))
    assert (p.x, p.y, p.tags) == (1, 0.5, ("a",))
    assert p == Point(x=1, y=0.5, tags=("a",)) and hash(p) == hash(Point(1, 0.5, ("a",)))
    assert p != Point(2, tags=("a",))
    assert repr(p) == "Point(x=1, y=0.5, tags=('a',))"
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    assert dataclasses.replace(p, y=2.0) == Point(1, 2.0, ("a",))
    assert pickle.loads(pickle.dumps(p)) == p
    assert str(inspect.signature(Point)) == str(inspect.signature(_plain_point()))
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=3)  # type: ignore[call-arg]


def test_fast_init_refuses_what_it_would_get_wrong():
    @dataclass(frozen=True, slots=True)
    class Factory:
        items: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class Later:
        x: int

        def __post_init__(self) -> None:
            pass

    @dataclass(slots=True)
    class Mutable:
        x: int

    for cls, says in ((Factory, "Factory.items needs the dataclass's own __init__"),
                      (Later, "has a __post_init__"), (Mutable, "is not a frozen dataclass with slots")):
        with pytest.raises(TypeError, match=says):
            fast_init(cls)


@pytest.mark.parametrize("cls", HOT, ids=lambda c: c.__name__)
def test_each_hot_record_takes_its_fields_by_name_and_in_order(cls):
    """Every field of the cycle's records lands where its name says, by keyword and by position (the
    positional calls in rates._state and _result rely on the order)."""
    values = {f.name: f"value-{i}" for i, f in enumerate(dataclasses.fields(cls))}
    by_name, by_place = cls(**values), cls(*values.values())
    for name, value in values.items():
        assert getattr(by_name, name) == value and getattr(by_place, name) == value


def test_rates_build_their_records_in_field_order():
    """rates._state and _result pass their fields by position: each value lands in the field of its name."""
    sample = Sample(ap="A-1", at=1000.0, rtt_ms=2.0, sys_uptime=11, hr_uptime=12, engine_time=13, in_octets=14,
                    out_octets=15, counter_bits=32, link_mbps=100.0, clients=4, mono=16.5, clock="boot-b",
                    uplink="ifIndex.7")
    assert _state(sample, 3) == CounterState(at=1000.0, sys_uptime=11, hr_uptime=12, engine_time=13, in_octets=14,
                                             out_octets=15, counter_bits=32, uptime_wraps=3, mono=16.5,
                                             clock="boot-b", uplink="ifIndex.7")
    assert _result(sample, 60.0, 99.5, 800.0, 1600.0, 50.0, True, {"reboot", "wrap_in"}) == RateSample(
        ap="A-1", at=1000.0, interval_s=60.0, uptime_s=99.5, in_bps=800.0, out_bps=1600.0, clients=4,
        link_mbps=100.0, capacity_mbps=50.0, per_user_mbps=12.5, delivered_per_user_mbps=0.0006, rebooted=True,
        events=("reboot", "wrap_in"))
    assert PollError("A-1", 5.0, PollErrorKind.TIMEOUT, "no answer") == PollError(
        ap="A-1", at=5.0, kind=PollErrorKind.TIMEOUT, message="no answer")
