"""A cycle's plan and fold, the pure ends of run_cycle: who is tried how, and what their answers become."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotspotctl.collectors.model import Discovery, PollError, PollErrorKind, Sample
from hotspotctl.models.access_points import AccessPoint
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
    outcomes, states = fold(cycle, gathered, mem, interval_s=60.0, cap_s=600.0)
    assert [(o.ap.id, o.ok, o.error.kind if o.error else None) for o in outcomes] == [
        ("OK", True, None), ("GONE", False, "timeout"), ("NOADDR", False, "no_address"), ("WAITING", False, "backoff")]
    assert outcomes[0].profile == "generic" and outcomes[0].rtt_ms == 1.5
    assert set(states) == {"OK", "GONE", "NOADDR"}  # a skipped AP keeps its state
    assert (states["OK"].failures, states["OK"].needs_discovery) == (0, True)  # its layout has gone
    assert states["GONE"] == ApState(None, 3, NOW, NOW + backoff_s(3, 60.0, 600.0), "no answer", True)
    assert states["NOADDR"].next_attempt_at == NOW  # nothing was sent: tried again next cycle
