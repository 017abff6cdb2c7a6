"""Counter states checkpointed (issue 19, the one-box cycle): `run`'s service writes an AP's routine state (it answered
as it did last cycle: only its counters moved) on its turn, once every ``schedule.checkpoint_cycles`` cycles, any
other change at once, and every state on a clean stop. The tests run a real simulator (tests/city.py) and read the
store back: which rows each commit wrote, and the rates a restart computes from a checkpoint."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.scheduling.service import CycleRunner, Service, checkpoint_turns
from hotspotctl.simulate.simulator import Simulator
from hotspotctl.store.inventory import delete_access_points
from hotspotctl.store.polling import ApState, load_states
from tests.city import APS, City

TURNS = 3


def stored(city: City) -> dict[str, ApState]:
    with city.store.read() as conn:
        return load_states(conn, [ap.id for ap in city.aps])


def quick(city: City) -> City:
    """The city with a short SNMP timeout and no retry: a cycle of the simulator stopped takes a second, not three."""
    city.settings = replace(city.settings, snmp=replace(city.settings.snmp, timeout_s=0.4, min_timeout_s=0.4,
                                                        retries=0))
    return city


def test_turns_split_the_fleet_by_a_stable_hash_of_each_ap() -> None:
    fleet = [AccessPoint(f"SCH-{i:03d}", None, None) for i in range(APS)]
    turns = checkpoint_turns(fleet, TURNS)
    assert len(turns) == TURNS and sum(len(t) for t in turns) == APS and all(turns)
    assert frozenset().union(*turns) == {ap.id for ap in fleet}
    # the same AP, the same turn, in another fleet (every other AP gone, a new one added)
    again = checkpoint_turns([*fleet[::2], AccessPoint("NEW", None, None)], TURNS)
    assert [t - {"NEW"} for t in again] == [t & {ap.id for ap in fleet[::2]} for t in turns]
    assert checkpoint_turns(fleet, 1) == []


def test_routine_states_are_written_on_their_turn_changes_at_once_and_all_on_the_way_out(city: City) -> None:
    """Before (every AP's state every cycle) each of cycles 2-4 wrote all 40 rows; now each writes its turn's.

    Then the simulator stops for a cycle: every AP misses, every state changes, every row is written. It comes back:
    the recoveries (failures back to 0) are written too. Leaving ``checkpointing`` writes what memory holds."""
    quick(city)
    written: list[set[str]] = []

    async def scenario() -> None:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = city.runner(poller)
            turns = checkpoint_turns(runner.aps, TURNS)
            history: list[dict[str, ApState]] = []
            with runner.checkpointing(TURNS):
                for _ in range(4):
                    await runner.cycle()
                    now = dict(runner.memory.states)
                    history.append(now)
                    written.append({ap_id for ap_id, state in stored(city).items() if state == now[ap_id]})
                # cycle 1: first answers, every row; then the turns 1, 2, 0 (a turn a commit)
                assert written == [{ap.id for ap in city.aps}, set(turns[1]), set(turns[2]), set(turns[0])]
                # each stored state is the AP's state of one of the last TURNS cycles: its turn's
                for ap_id, state in stored(city).items():
                    turn = next(i for i, t in enumerate(turns) if ap_id in t)
                    assert state == history[{1: 1, 2: 2, 0: 3}[turn]][ap_id]
                city.simulator.stop()
                await runner.cycle()  # every AP misses: written at once, whatever its turn
                assert runner.last_report is not None and runner.last_report.ok == 0
                assert stored(city) == runner.memory.states
                assert all(state.failures == 1 and state.last_error for state in stored(city).values())
                city.simulator = Simulator(city.plan.fleet, city.plan.clock, port=city.port, processes=1).start()
                await runner.cycle()  # back: failures cleared, written at once
                assert runner.last_report is not None and runner.last_report.ok == APS
                assert stored(city) == runner.memory.states
                await runner.cycle()  # routine again: its turn only
                assert stored(city) != runner.memory.states
                memory = dict(runner.memory.states)
            assert stored(city) == memory  # the way out wrote the rest

    asyncio.run(scenario())


def test_a_restart_from_a_checkpoint_computes_each_rate_over_the_longer_interval(city: City) -> None:
    """A service killed between checkpoints (no way out): the next runner loads the store, where an AP's state
    may be a few cycles old; its first rate spans from that sample, exactly the average the counters give."""
    async def scenario() -> None:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = city.runner(poller)
            killed = runner.checkpointing(TURNS)
            killed.__enter__()  # and never left: the process dies with it
            for _ in range(4):
                await runner.cycle()
            before = stored(city)
            ahead = {ap_id for ap_id, state in before.items() if state != runner.memory.states[ap_id]}
            assert ahead and len(ahead) < APS  # two turns of three wait in memory only
            restarted = CycleRunner(city.store, city.settings, load_profiles([]), city.aps, city.zones, city.sink(),
                                    poller)
            await restarted.cycle()
            report = restarted.last_report
            assert report is not None and report.ok == APS
            for outcome in report.outcomes:
                old, new = before[outcome.ap.id].counters, restarted.memory.states[outcome.ap.id].counters
                rate = outcome.rate
                assert old is not None and new is not None and rate is not None and old.mono and new.mono
                assert old.in_octets is not None and new.in_octets is not None
                assert old.out_octets is not None and new.out_octets is not None
                assert rate.interval_s == pytest.approx(new.mono - old.mono)
                span = new.mono - old.mono
                assert rate.in_bps == pytest.approx((new.in_octets - old.in_octets) * 8 / span)
                assert rate.out_bps == pytest.approx((new.out_octets - old.out_octets) * 8 / span)
            for ap_id in ahead:  # their rates span from a sample older than the last one the killed runner took
                old, last = before[ap_id].counters, runner.memory.states[ap_id].counters
                assert old is not None and last is not None and old.mono is not None and last.mono is not None
                assert old.in_octets is not None and last.in_octets is not None
                assert old.mono < last.mono and old.in_octets <= last.in_octets
            runner.mark_stale()  # the killed process writes nothing more: its checkpointing ends unwritten
            killed.gen.close()
            assert stored(city) == restarted.memory.states

    asyncio.run(scenario())


def test_the_service_checkpoints_and_writes_every_state_when_it_stops(city: City) -> None:
    """``hotspotctl run``'s service: ``schedule.checkpoint_cycles`` in force while it runs; when it stops, the store
    holds what its memory held."""
    city.settings = replace(city.settings, schedule=replace(city.settings.schedule, checkpoint_cycles=TURNS))

    async def scenario() -> CycleRunner:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = city.runner(poller)
            service = Service(runner, interval_s=0.5, max_cycles=4)
            commits: list[int] = []
            save = runner._commit

            def counting(conn: object, report: object, evaluation: object) -> None:
                save(conn, report, evaluation)  # type: ignore[arg-type]
                commits.append(runner._turn)

            runner._commit = counting  # type: ignore[method-assign]
            assert await service.run()
            assert commits == [1, 2, 3, 4]  # a turn a commit: the service checkpointed
            assert runner.checkpoint_cycles == 1 and not runner._deferred
            return runner

    runner = asyncio.run(scenario())
    assert stored(city) == runner.memory.states and len(runner.memory.states) == APS


def test_a_new_inventory_loads_the_fleet_again_after_writing_what_memory_held(city: City) -> None:
    """The fleet is loaded again from the store when the inventory changes: the routine states a checkpoint had
    left for their turn are written first, so the APs kept go on from their last sample, not an older one."""
    async def scenario() -> None:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = city.runner(poller)
            with runner.checkpointing(TURNS):
                for _ in range(3):
                    await runner.cycle()
                memory = dict(runner.memory.states)
                assert stored(city) != memory  # two turns wait in memory
                gone = city.aps[0].id
                with city.store.write() as conn:  # what an import that drops the AP does
                    delete_access_points(conn, [gone])
                assert runner.refresh()
                assert len(runner.aps) == APS - 1 and gone not in runner.memory.states
                assert runner.memory.states == {ap_id: s for ap_id, s in memory.items() if ap_id != gone}
                await runner.cycle()
                report = runner.last_report
                assert report is not None and report.ok == APS - 1
                assert all(o.rate is not None and o.rate.in_bps is not None for o in report.outcomes)

    asyncio.run(scenario())


def test_a_cycle_that_finds_the_inventory_changed_writes_every_state(city: City) -> None:
    """An import that lands while a cycle runs: that cycle's commit notices it, and the next cycle loads the fleet
    from the store. So that commit writes every AP's state, whatever its turn: the APs kept go on from this cycle's
    sample (before, two turns of three went back to an older checkpoint)."""
    async def scenario() -> None:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = city.runner(poller)
            gone = city.aps[0].id
            with runner.checkpointing(TURNS):
                for _ in range(2):
                    await runner.cycle()
                conclude = runner._conclude

                def imported_meanwhile(*args: object) -> object:
                    with city.store.write() as conn:
                        delete_access_points(conn, [gone])
                    return conclude(*args)  # type: ignore[arg-type]

                runner._conclude = imported_meanwhile  # type: ignore[method-assign,assignment]
                await runner.cycle()
                runner._conclude = conclude  # type: ignore[method-assign]
                assert runner.last_evaluation is not None and runner.last_evaluation.inventory_changed
                kept = {ap_id: state for ap_id, state in runner.memory.states.items() if ap_id != gone}
                assert stored(city) == kept and len(kept) == APS - 1
                assert runner.refresh() and runner.memory.states == kept
                await runner.cycle()
                report = runner.last_report
                assert report is not None and report.ok == APS - 1
                assert all(o.rate is not None and o.rate.in_bps is not None for o in report.outcomes)

    asyncio.run(scenario())
