"""A cycle's plan and fold, the pure ends of run_cycle: who is tried how, and what their answers become."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotspotctl.collectors.model import Discovery, PollError, PollErrorKind, Sample
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.models.polling import CounterState
from hotspotctl.scheduling.cycle import CycleMemory, Gathered, PollCycle, backoff_s, fold, plan_cycle
from hotspotctl.settings import SnmpSettings
from hotspotctl.store.polling import ApState, StoredDiscovery

NOW = 1_800_000_000.0
NOW_DT = datetime.fromtimestamp(NOW, UTC)
SNMP = SnmpSettings()
LAYOUT = Discovery("generic", "x", "1.3.6.1", ("sys_uptime",), None, (), 64, None, 1.0, None, ())


def ap(ap_id: str, **values: object) -> AccessPoint:
    return AccessPoint(ap_id, 19.4, -99.1, mgmt_address="127.0.0.1", **values)  # type: ignore[arg-type]


def memory(discovered: dict[str, datetime], states: dict[str, ApState]) -> CycleMemory:
    return CycleMemory({ap_id: StoredDiscovery("127.0.0.1", LAYOUT, at) for ap_id, at in discovered.items()},
                       dict(states))


def test_the_plan_skips_backing_off_aps_and_sorts_the_rest_by_how_they_are_read():
    aps = [ap("KNOWN"), ap("NEW"), ap("STALE"), ap("SSH", collector="ssh", profile="p"), ap("WAITING"),
           ap("MISSED"), ap("FLAGGED")]
    mem = memory({"KNOWN": NOW_DT, "STALE": NOW_DT - timedelta(hours=25), "WAITING": NOW_DT, "MISSED": NOW_DT,
                  "FLAGGED": NOW_DT},
                 {"WAITING": ApState(None, 3, NOW - 60, NOW + 30, "no answer"),
                  "MISSED": ApState(None, 1, NOW - 60, NOW - 1, "no answer"),
                  "FLAGGED": ApState(None, needs_discovery=True)})
    cycle = plan_cycle(aps, mem, SNMP, started=NOW, now=NOW_DT)
    assert [a.id for a in cycle.known] == ["KNOWN", "MISSED"]
    assert [a.id for a in cycle.to_discover] == ["NEW", "STALE", "FLAGGED"]
    assert [a.id for a in cycle.ssh] == ["SSH"]
    assert cycle.down == {"MISSED"} and cycle.tried == 6
    (skipped,) = cycle.skipped.values()
    assert (skipped.ap, skipped.kind, skipped.at) == ("WAITING", PollErrorKind.BACKOFF, NOW)
    assert skipped.kind == "backoff" and "failing for 3 cycles (no answer)" in skipped.message
    # without back-off, or with a retry time further ahead than the cap (a clock stepped back), it is tried
    assert not plan_cycle(aps, mem, SNMP, started=NOW, now=NOW_DT, use_backoff=False).skipped
    far = memory({"WAITING": NOW_DT}, {"WAITING": ApState(None, 3, NOW, NOW + SNMP.down_backoff_max_s + 1)})
    assert plan_cycle([ap("WAITING")], far, SNMP, started=NOW, now=NOW_DT).down == {"WAITING"}


def test_fold_turns_answers_into_states_and_failures_into_back_off():
    aps = [ap("OK"), ap("GONE"), ap("NOADDR"), ap("WAITING")]
    waiting = PollError("WAITING", NOW, PollErrorKind.BACKOFF, "waiting")
    mem = memory({"OK": NOW_DT, "GONE": NOW_DT, "NOADDR": NOW_DT},
                 {"GONE": ApState(None, 2, needs_discovery=True), "NOADDR": ApState(None, 4)})
    cycle = PollCycle(aps, NOW, NOW_DT, {"WAITING": waiting}, [], aps[:3], [], frozenset())
    gathered = Gathered({"OK": Sample("OK", NOW, 1.5, sys_uptime=100),
                         "GONE": PollError("GONE", NOW, PollErrorKind.TIMEOUT, "no answer"),
                         "NOADDR": PollError("NOADDR", NOW, PollErrorKind.NO_ADDRESS, "no address")},
                        {"OK"}, {}, 0, {})
    outcomes, states, changed = fold(cycle, gathered, mem, interval_s=60.0, cap_s=600.0)
    assert changed == {"OK", "GONE", "NOADDR"}  # a first answer, failures: more than counters (a skip: no state)
    assert [(o.ap.id, o.ok, o.error.kind if o.error else None) for o in outcomes] == [
        ("OK", True, None), ("GONE", False, "timeout"), ("NOADDR", False, "no_address"), ("WAITING", False, "backoff")]
    assert outcomes[0].profile == "generic" and outcomes[0].rtt_ms == 1.5
    assert set(states) == {"OK", "GONE", "NOADDR"}  # a skipped AP keeps its state
    assert (states["OK"].failures, states["OK"].needs_discovery) == (0, True)  # its layout has gone
    assert states["GONE"] == ApState(None, 3, NOW, NOW + backoff_s(3, 60.0, 600.0), "no answer", True)
    assert states["NOADDR"].next_attempt_at == NOW  # nothing was sent: tried again next cycle


def test_fold_names_the_states_that_moved_more_than_their_counters():
    """Not ``changed`` (what a checkpointing service may write on the AP's turn only): an AP that answered last
    cycle and answers again. Changed: one answering after misses (its failures, back-off and error clear), one whose
    discovery flag flips, a first answer (no counters before), a miss: those states are written at once."""
    before = CounterState(NOW - 60, 1000, None, None, 10, 20, 64, 0, 5.0, "boot", "ifIndex.1")
    ids = ("STEADY", "BACK", "RETRIED", "FLAG", "FIRST", "MISS")
    aps = [ap(ap_id) for ap_id in ids]
    mem = memory(dict.fromkeys(ids, NOW_DT), {
        "STEADY": ApState(before, 0, NOW - 60), "BACK": ApState(before, 2, NOW - 60, NOW - 1, "no answer"),
        "RETRIED": ApState(before, 0, NOW - 60, NOW - 1), "FLAG": ApState(before, 0, NOW - 60),
        "FIRST": ApState(None, 0, NOW - 60), "MISS": ApState(before, 0, NOW - 60)})
    cycle = PollCycle(aps, NOW, NOW_DT, {}, [], aps, [], frozenset())
    answer = {ap_id: Sample(ap_id, NOW, 1.0, sys_uptime=7000, in_octets=100, out_octets=200, counter_bits=64,
                            mono=65.0, clock="boot", uplink="ifIndex.1") for ap_id in ids[:-1]}
    gathered = Gathered({**answer, "MISS": PollError("MISS", NOW, PollErrorKind.TIMEOUT, "no answer")},
                        {"FLAG"}, {}, 0, {})
    outcomes, states, changed = fold(cycle, gathered, mem, interval_s=60.0, cap_s=600.0)
    assert changed == {"BACK", "RETRIED", "FLAG", "FIRST", "MISS"}
    assert states["STEADY"] == ApState(states["STEADY"].counters, 0, NOW, 0.0, None, False)
    assert states["STEADY"].counters.in_octets == 100 and outcomes[0].rate.in_bps == (100 - 10) * 8 / 60.0
    assert states["FLAG"].needs_discovery and states["BACK"].failures == 0 and states["MISS"].failures == 1


def test_managed_aps_are_read_through_their_controller_never_polled_nor_backed_off():
    wlc = AccessPoint("WLC", None, None, mgmt_address="127.0.0.1", role="controller")
    outside = AccessPoint("WLC-2", None, None, mgmt_address="127.0.0.2", role="controller")
    aps = [wlc, ap("M-1", controller="WLC"), ap("M-2", controller="WLC", ap_name="pole-2"),
           ap("M-3", controller="WLC-2"), ap("M-4", controller="NOPE"), ap("DIRECT")]
    # M-1 failed three cycles and would be waiting out a back-off if it were polled
    mem = memory({"WLC": NOW_DT, "DIRECT": NOW_DT}, {"M-1": ApState(None, 3, NOW - 60, NOW + 30, "not joined")})
    cycle = plan_cycle(aps, mem, SNMP, started=NOW, now=NOW_DT, controllers={"WLC-2": outside})
    assert [a.id for a in cycle.known] == ["WLC", "DIRECT"] and cycle.to_discover == []
    assert {c: [a.id for a in managed] for c, managed in cycle.managed.items()} == {
        "WLC": ["M-1", "M-2"], "WLC-2": ["M-3"]}
    assert cycle.controllers == {"WLC": wlc, "WLC-2": outside}
    assert cycle.tried == 5 and cycle.polled == {"WLC", "DIRECT", "M-4"}
    (unknown,) = cycle.skipped.values()  # a controller id that is no controller row: said, never polled
    assert (unknown.ap, unknown.kind) == ("M-4", PollErrorKind.CONFIG)
    assert unknown.message.startswith("its controller NOPE is not a controller row of the inventory")
    # fold: a managed AP's failure never waits (it is read with its controller every cycle)
    gathered = Gathered({"WLC": Sample("WLC", NOW, 1.5, sys_uptime=100),
                         "DIRECT": PollError("DIRECT", NOW, PollErrorKind.TIMEOUT, "no answer"),
                         "M-1": PollError("M-1", NOW, PollErrorKind.NOT_JOINED, "not joined"),
                         "M-2": Sample("M-2", NOW, 3.0, engine_time=3600, clients=4, uplink="controller:WLC"),
                         "M-3": PollError("M-3", NOW, PollErrorKind.CONTROLLER, "controller WLC-2 ...")},
                        set(), {}, 0, {})
    mem.states["DIRECT"] = ApState(None, 2)
    outcomes, states, _ = fold(cycle, gathered, mem, interval_s=60.0, cap_s=600.0)
    assert [o.ap.id for o in outcomes] == ["WLC", "M-1", "M-2", "M-3", "M-4", "DIRECT"]
    assert states["M-1"].failures == 4 and states["M-1"].next_attempt_at == NOW  # no back-off
    assert states["DIRECT"].next_attempt_at == NOW + 180.0  # a polled AP still backs off
    by_ap = {o.ap.id: o for o in outcomes}
    assert (by_ap["M-2"].profile, by_ap["M-2"].rate.clients, by_ap["M-2"].rate.uptime_s) == ("generic", 4, 3600.0)
