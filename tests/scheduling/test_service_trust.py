"""The service loses no interval and never stops quietly: inventory changes under `run`, write ahead,
failing cycles, one service per store, a store that goes away, the clock that steps, `poll --once`.

Each test here failed on the code before issue 15 (3854a6b); the note in the test says how.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles
from hotspotctl.errors import StoreError
from hotspotctl.evaluate.outages import LedgerUpdate, Outage
from hotspotctl.inventory.fleet import Fleet, Selection
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.scheduling import service as service_module
from hotspotctl.scheduling.service import CycleRunner, Service
from hotspotctl.sinks.spool import SpoolFullError
from hotspotctl.store import Store
from hotspotctl.store import engine as store_engine
from hotspotctl.store.lock import ServiceLock, StoreBusyError
from hotspotctl.store.outages import list_outages, load_health, save_ledger
from hotspotctl.store.polling import load_states, recent_cycles
from tests.city import APS, City
from tests.spooled import cycle_batches
from tests.waiting import eventually, read_until

FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def _batches(spool_dir: Path) -> list[list[str]]:
    """A batch per cycle (``cycle_batches``): a cycle whose commit failed has its lines and no poller_cycle."""
    return cycle_batches(spool_dir)


def _status_aps(batch: list[str]) -> set[str]:
    """The AP ids of a batch's ap_status lines."""
    found = set()
    for line in batch:
        if line.startswith("ap_status,"):
            tags = line.split(" ", 1)[0].split(",")[1:]
            found.update(t.split("=", 1)[1] for t in tags if t.startswith("ap="))
    return found


def _tag(batch: list[str], ap: str, name: str) -> str | None:
    for line in batch:
        if line.startswith("ap_status,") and f",ap={ap}," in line.split(" ", 1)[0] + ",":
            for tag in line.split(" ", 1)[0].split(",")[1:]:
                key, _, value = tag.partition("=")
                if key == name:
                    return value
    return None


def _runner(city: City, poller: Poller, **kwargs: object) -> CycleRunner:
    return CycleRunner(city.store, city.settings, load_profiles([]), city.aps, city.zones, city.sink(), poller,
                       **kwargs)  # type: ignore[arg-type]


def test_run_follows_inventory_changes_without_a_restart(city: City, tmp_path: Path) -> None:
    """Before: `run` loaded the fleet once; after an import that removed an AP every later cycle failed
    on a foreign key, nothing was spooled, and the service ran on (this test timed out)."""
    by_id = {ap.id: ap for ap in city.aps}
    gone, moved, rezoned = "SCH-001", "SCH-005", "SCH-007"
    rows = ["id,lat,lon,mgmt_address,crew_zone"]
    for ap in city.aps:
        if ap.id == gone:
            continue
        address = by_id["SCH-006"].mgmt_address if ap.id == moved else ap.mgmt_address
        zone = "Sur-Oriente" if ap.id == rezoned else (ap.crew_zone or "")
        rows.append(f"{ap.id},{ap.lat},{ap.lon},{address},{zone}")
    rows.append(f"NEW-001,19.35,-99.12,{by_id['SCH-000'].mgmt_address},")
    changed = tmp_path / "changed.csv"
    changed.write_text("\n".join(rows) + "\n")
    site = by_id[gone].site_id
    assert sum(1 for ap in city.aps if ap.site_id == site) == 1  # the site goes with its only AP
    outage = Outage(id=None, site=site, zone="Tlalpan", cause="offline", causes=("offline",), aps=(gone,),
                    aps_now=(gone,), opened_at=time.time() - 600, updated_at=time.time(), peak_aps=1,
                    peak_clients=3, clients_now=0)

    def open_then_import() -> None:  # an outage the service's evaluator does not know yet, then the import
        with city.store.write() as conn:
            save_ledger(conn, LedgerUpdate([outage], [], []))
        import_inventory(city.store, changed, city.settings.inventory, merge=True, prune=True)

    async def scenario() -> Service:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            service = Service(_runner(city, poller, selection=Selection()), interval_s=0.5, max_cycles=4)

            async def change() -> None:
                while not service.records:
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(open_then_import)

            changer = asyncio.create_task(change())
            await asyncio.wait_for(service.run(), 180)
            await changer
            return service

    service = asyncio.run(scenario())
    assert service.tried == 4 and len(service.records) == 4, [r.ok for r in service.records]
    assert service.failed_in_a_row == 0 and service.last_failure is None
    last = _batches(city.settings.spool_dir)[-1]
    polled = _status_aps(last)
    assert gone not in polled and "NEW-001" in polled and len(polled) == APS
    assert service.records[-1].aps == APS and service.records[-1].ok == APS
    assert _tag(last, rezoned, "crew_zone") == "Sur-Oriente"
    with city.store.read() as conn:
        states = load_states(conn, [gone, moved, "NEW-001"])
        from hotspotctl.store.polling import load_discoveries
        layouts = load_discoveries(conn, [moved])
    assert gone not in states and states["NEW-001"].failures == 0
    assert layouts[moved].address == by_id["SCH-006"].mgmt_address  # rediscovered at its new address
    with city.store.read() as conn:
        [closed] = list_outages(conn, sites=[site])
    assert closed.closed_at is not None and "closed: the site left the inventory" in closed.notes


def test_an_ap_removed_while_a_cycle_runs_is_left_out_of_its_writes(city: City, tmp_path: Path) -> None:
    """The import lands between the polls and the commit: the removed AP's state is skipped, the rest kept."""
    from hotspotctl.scheduling.cycle import run_cycle

    keep = tmp_path / "keep.csv"
    keep.write_text("id,lat,lon\n" + "".join(f"{ap.id},{ap.lat},{ap.lon}\n" for ap in city.aps[1:]))

    async def poll() -> object:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            return await run_cycle(city.store, city.aps, city.settings.snmp, load_profiles([]), poller, save=False)

    report = asyncio.run(poll())
    import_inventory(city.store, keep, city.settings.inventory, merge=True, prune=True)
    with city.store.write() as conn:
        report.writes.save(conn, report.inventory_seen)  # type: ignore[attr-defined]
    with city.store.read() as conn:
        states = load_states(conn, [ap.id for ap in city.aps])
    assert city.aps[0].id not in states and len(states) == APS - 1


def test_a_spool_that_refuses_the_points_leaves_counters_and_health_as_they_were(city: City) -> None:
    """Write ahead. Before: counters and health were committed, then the spool write failed: that
    interval was lost for good (the stored counters had moved on to the cycle nobody kept)."""

    async def scenario() -> tuple[CycleRunner, object]:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = _runner(city, poller)
            await runner.cycle()
            await runner.cycle()
            with city.store.read() as conn:
                before = (load_states(conn, [ap.id for ap in city.aps]), load_health(conn))
            limit = runner.spool.max_bytes
            runner.spool.max_bytes = 1  # the spool is full
            with pytest.raises(SpoolFullError):
                await runner.cycle()
            runner.spool.max_bytes = limit
            with city.store.read() as conn:
                after = (load_states(conn, [ap.id for ap in city.aps]), load_health(conn))
            assert after == before
            await runner.cycle()  # the next cycle's rates span both intervals
            return runner, before

    runner, before = asyncio.run(scenario())
    states = before[0]  # type: ignore[index]
    report = runner.last_report
    assert report is not None and report.ok == APS
    spans = [o.rate.interval_s for o in report.outcomes if o.rate is not None and o.rate.interval_s]
    assert len(spans) == APS
    with city.store.read() as conn:
        latest = load_states(conn, [ap.id for ap in city.aps])
    for outcome in report.outcomes:
        # from the counters stored before the refused cycle to this cycle's: both intervals, on the
        # monotonic clock rates use (the wall clock's difference agrees only to within the time between
        # the two clocks' readings of each sample, which a loaded machine stretches)
        previous, now = states[outcome.ap.id].counters, latest[outcome.ap.id].counters
        assert outcome.rate is not None and outcome.rate.at == now.at > previous.at
        assert previous.mono is not None and now.mono is not None
        assert outcome.rate.interval_s == pytest.approx(now.mono - previous.mono, rel=1e-12)
    with city.store.read() as conn:
        assert [row["ok"] for row in recent_cycles(conn, 10)] == [APS, APS, APS]
    assert len(_batches(city.settings.spool_dir)) == 3


def test_a_cycle_lets_the_previous_cycles_report_go_before_building_its_own(city: City) -> None:
    """Memory: the previous cycle's report (every AP's outcome, sample and radios) and rollup were held while the
    next cycle built its own, so a cycle's peak held two cycles' worth of them (docs/performance.md, peak RSS
    410 -> 372 MB for the city). So was ``last_evaluation``, with every health verdict the cycle wrote (in the
    first cycles, one per AP), beside the verdicts that replaced them. All three are let go as a cycle starts,
    and the finished cycle's are kept (the service's log and the demo read them)."""
    seen: list[tuple[object, object, object]] = []

    async def scenario() -> CycleRunner:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = _runner(city, poller)
            await runner.cycle()
            first = runner.last_report
            assert first is not None and first.ok == APS and runner.last_rollup is not None
            evaluation = runner.last_evaluation
            assert evaluation is not None and len(evaluation.health) == APS
            refresh = runner.refresh

            def watching() -> bool:  # the first step of a cycle, after the previous one's were let go
                seen.append((runner.last_report, runner.last_rollup, runner.last_evaluation))
                return refresh()

            runner.refresh = watching  # type: ignore[method-assign]
            await runner.cycle()
            assert runner.last_report is not None and runner.last_report is not first
            assert runner.last_evaluation is not None and runner.last_evaluation is not evaluation
            return runner

    runner = asyncio.run(scenario())
    assert seen == [(None, None, None)]
    assert runner.last_report is not None and runner.last_report.ok == APS and runner.last_rollup is not None
    assert runner.last_evaluation is not None and runner.last_evaluation.states["up"] == APS


def test_a_cycle_lets_the_old_counter_states_go_before_it_evaluates(city: City) -> None:
    """Memory: every AP's previous counter state was held through evaluation, encoding and the spool write, until
    the commit, beside the new one (about 13 MB of the city's peak). The new states replace them in memory as
    the cycle's conclusion starts; the store keeps the old ones until the commit (a failed cycle loads them
    again: test_a_spool_that_refuses_the_points_leaves_counters_and_health_as_they_were)."""
    held: list[tuple[int, int, int]] = []

    async def scenario() -> CycleRunner:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = _runner(city, poller)
            await runner.cycle()
            evaluate = runner.evaluator.evaluate

            def watching(outcomes, at, **named):  # type: ignore[no-untyped-def]
                report_states = captured["report"].writes.states
                memory = runner.memory.states
                with city.store.read() as conn:
                    stored = load_states(conn, list(report_states))
                held.append((sum(1 for ap_id, state in report_states.items() if memory[ap_id] is state),
                             sum(1 for ap_id, state in report_states.items() if stored[ap_id] == state),
                             len(report_states)))
                return evaluate(outcomes, at, **named)

            conclude = runner._conclude
            captured: dict[str, object] = {}

            def keep(report, *given):  # type: ignore[no-untyped-def]
                captured["report"] = report
                return conclude(report, *given)

            runner._conclude = keep  # type: ignore[method-assign]
            runner.evaluator.evaluate = watching  # type: ignore[method-assign]
            await runner.cycle()
            return runner

    runner = asyncio.run(scenario())
    assert held == [(APS, 0, APS)]  # in memory: the new states, each the very object; in the store: not yet
    with city.store.read() as conn:
        stored = load_states(conn, [ap.id for ap in city.aps])
    assert all(stored[ap_id] == state for ap_id, state in runner.memory.states.items())


def test_a_store_locked_past_the_timeout_keeps_the_cycle_points_in_the_spool(
        city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the counter states were written first, so a store held by another writer (or a full
    disk) failed the cycle before its points reached the spool: the metrics were lost too."""
    monkeypatch.setattr(store_engine, "_SQLITE_BUSY_TIMEOUT_MS", 500)
    store = Store.open(city.settings.store_url)  # connections made with the short timeout
    path = Path(city.settings.store_url.removeprefix("sqlite:///"))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(60)
        conn.execute("ROLLBACK")
        conn.close()

    async def scenario() -> CycleRunner:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            runner = CycleRunner(store, city.settings, load_profiles([]), city.aps, city.zones, city.sink(), poller)
            await runner.cycle()
            locker = threading.Thread(target=hold)
            locker.start()
            held.wait(10)
            try:
                with pytest.raises(StoreError, match="points are in the spool"):
                    await runner.cycle()
            finally:
                release.set()
                locker.join()
            await runner.cycle()
            return runner

    asyncio.run(scenario())
    store.close()
    batches = _batches(city.settings.spool_dir)
    assert len(batches) == 3 and all(len(_status_aps(b)) == APS for b in batches)
    with city.store.read() as conn:
        assert len(recent_cycles(conn, 10)) == 2  # the locked cycle's record could not be written


def _run_cli(city: City, *args: str, env: dict[str, str] | None = None, timeout: float = 120
             ) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "hotspotctl", "--data-dir", str(city.data_dir), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=city.data_dir,
                          env={**os.environ, **(env or {})})


def test_run_whose_cycles_keep_failing_exits_non_zero_after_the_bound(city: City) -> None:
    """Before: a cycle that failed was not counted, so `run --cycles 3` never returned, and `run`
    went on failing for ever with exit status 0 when stopped (this test timed out)."""
    # a full spool: 1 MB allowed, and a 1.1 MB batch already waiting in it
    city.settings.spool_dir.mkdir(parents=True, exist_ok=True)
    (city.settings.spool_dir / "000000000001_20261204T000000.000Z_1p_s.lp").write_bytes(
        b"# " + b"x" * 1_100_000 + b"\nx v=1i 1\n")
    full = {"HOTSPOTCTL_SPOOL_MAX_MB": "1", "HOTSPOTCTL_SCHEDULE_MAX_FAILED_CYCLES": "2"}
    given_up = _run_cli(city, "run", "--interval", "0.2", env=full)
    assert given_up.returncode == 5, given_up.stderr  # SpoolFullError is a sink error
    assert "stopped after 2 failed cycles in a row" in given_up.stderr
    assert given_up.stderr.count("Traceback") == 0
    bounded = _run_cli(city, "run", "--interval", "0.2", "--cycles", "3",
                       env={**full, "HOTSPOTCTL_SCHEDULE_MAX_FAILED_CYCLES": "10"})
    assert bounded.returncode == 5, bounded.stderr
    assert [f"cycle {n} failed: " in bounded.stderr for n in (1, 2, 3, 4)] == [True, True, True, False]
    assert "error: the last cycle failed: " in bounded.stderr and "spool" in bounded.stderr


def test_a_second_run_on_the_same_store_refuses_and_names_the_first(city: City) -> None:
    """Before: two `run`s on one store each opened an outage per site and filed every ticket twice."""
    command = [sys.executable, "-m", "hotspotctl", "--data-dir", str(city.data_dir), "run", "--interval", "1"]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=city.data_dir)
    try:
        read_until(first.stderr, "cycle 1:", "the first run never finished a cycle")
        second = _run_cli(city, "run", "--cycles", "1")
        assert second.returncode == 3, second.stderr
        assert f"pid {first.pid} on host" in second.stderr and "(hotspotctl run" in second.stderr
        with Store.open(city.settings.store_url) as store, store.read() as conn:
            assert recent_cycles(conn, 50)  # the first one went on
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 0


def test_the_service_lock_on_postgresql_names_its_holder(postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database(f"lock_{os.getpid()}")
    with Store.open(url) as store, ServiceLock.acquire(store, "hotspotctl run"):
        with Store.open(url) as other, pytest.raises(StoreBusyError) as refused:
            ServiceLock.acquire(other, "hotspotctl run")
        assert f"pid {os.getpid()} on host" in str(refused.value) and "(hotspotctl run" in str(refused.value)
    with Store.open(url) as store, ServiceLock.acquire(store, "hotspotctl run"):
        pass  # released with the first store


def test_a_store_deleted_under_a_running_service_stops_it(city: City) -> None:
    """Before: everything after the deletion went to an unlinked file, and nobody noticed."""
    path = Path(city.settings.store_url.removeprefix("sqlite:///"))

    async def scenario() -> Service:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            service = Service(_runner(city, poller), interval_s=0.3, max_cycles=10, max_failed_cycles=2)

            async def delete() -> None:
                while not service.records:
                    await asyncio.sleep(0.05)
                for name in (path.name, path.name + "-wal", path.name + "-shm"):
                    (path.parent / name).unlink(missing_ok=True)

            deleter = asyncio.create_task(delete())
            await asyncio.wait_for(service.run(), 120)
            await deleter
            return service

    service = asyncio.run(scenario())
    assert isinstance(service.failure, StoreError) and "was deleted" in str(service.failure)
    assert service.tried < 10 and service.failed_in_a_row == 2


def test_a_corrupt_store_is_called_corrupt_not_a_bug(tmp_path: Path) -> None:
    """Before: "internal error: a bug in hotspotctl" (exit 1)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "hotspotctl.db").write_bytes(b"this is not a database, it was overwritten" * 200)
    result = subprocess.run([sys.executable, "-m", "hotspotctl", "--data-dir", str(data), "status"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert "is corrupt (file is not a database)" in result.stderr and "Restore it from a backup" in result.stderr
    assert "bug" not in result.stderr


def test_histories_a_service_keeps_are_bounded(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: every cycle record, flush and send of a months-long run stayed in memory."""
    monkeypatch.setattr(service_module, "KEPT", 2)

    async def scenario() -> Service:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            service = Service(_runner(city, poller), interval_s=0.1, max_cycles=9)
            await asyncio.wait_for(service.run(), 120)
            return service

    service = asyncio.run(scenario())
    assert service.tried == 9 and 2 <= len(service.records) <= 4
    assert service.records[-1].ok == APS


def test_poll_once_records_a_cycle_when_no_service_runs(city: City) -> None:
    """Before: `poll --once` advanced the stored counters but spooled nothing, so the interval it
    consumed was missing from the metrics."""
    first = _run_cli(city, "poll", "--once", "--format", "json")
    second = _run_cli(city, "poll", "--once", "--format", "json")
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    batches = _batches(city.settings.spool_dir)
    assert len(batches) == 2 and all(len(_status_aps(b)) == APS for b in batches)
    rated = [line for line in batches[1] if line.startswith("ap_traffic,") and "in_bps=" in line]
    assert len(rated) == APS  # the second poll's rates, from the first one's counters
    assert "recorded:" in second.stderr
    with city.store.read() as conn:
        assert len(recent_cycles(conn, 10)) == 2


def test_poll_once_is_a_look_while_a_service_holds_the_store(city: City) -> None:
    """Before: `poll --once` beside a running service overwrote its counters and failure counts."""
    assert _run_cli(city, "poll", "--once").returncode == 0
    with city.store.read() as conn:
        before = load_states(conn, [ap.id for ap in city.aps])
    batches = len(_batches(city.settings.spool_dir))
    with Store.open(city.settings.store_url) as store, ServiceLock.acquire(store, "hotspotctl run"):
        look = _run_cli(city, "poll", "--once", "--format", "json")
    assert look.returncode == 0, look.stderr
    assert f"pid {os.getpid()}" in look.stderr and "this poll is a look" in look.stderr
    import json
    rows = json.loads(look.stdout)
    assert sum(1 for row in rows if row["in_bps"] is not None) == APS  # rates against the stored counters
    with city.store.read() as conn:
        assert load_states(conn, [ap.id for ap in city.aps]) == before
    assert len(_batches(city.settings.spool_dir)) == batches


@pytest.mark.skipif(not FAKETIME.exists(), reason="libfaketime (Debian's faketime) is installed by "
                    "tests/install-servers.sh")
def test_a_wall_clock_step_back_neither_stalls_nor_hurries_the_cycles(city: City, tmp_path: Path) -> None:
    """Before: the poll job ran on the wall clock: after a step back of 30 s it waited 30 s more."""
    offset = tmp_path / "faketime"
    offset.write_text("+0s\n")
    env = {**os.environ, "LD_PRELOAD": str(FAKETIME), "FAKETIME_TIMESTAMP_FILE": str(offset),
           "FAKETIME_NO_CACHE": "1", "DONT_FAKE_MONOTONIC": "1"}
    command = [sys.executable, "-m", "hotspotctl", "--data-dir", str(city.data_dir), "run", "--interval", "2",
               "--cycles", "4"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=city.data_dir, env=env)
    seen: list[str] = []
    stepped = None
    try:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            if "cycle 2:" in line and stepped is None:
                offset.write_text("-30s\n")  # the wall clock steps back 30 s
                stepped = time.monotonic()
            if "cycle 3:" in line:
                assert stepped is not None
                waited = time.monotonic() - stepped
                assert waited < 20, f"cycle 3 came {waited:.1f} s after the step:\n{''.join(seen)}"
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(seen)
    assert any("cycle 4:" in line for line in seen), "".join(seen)


def _catches(pid: int, sig: int) -> bool:
    """Whether the process has a handler for ``sig`` (Linux: the SigCgt mask of /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    caught = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(caught & (1 << (sig - 1)))


def test_ctrl_c_during_the_demo_discovery_stops_it(tmp_path: Path) -> None:
    """Before: the demo's signal handler only reached the scheduler, which had not started: Ctrl-C
    during discovery was ignored (and so was the second one)."""
    scenario = tmp_path / "slow.yaml"
    scenario.write_text("name: slow\nfaults:\n  - kind: latency\n    ms: [2500, 2600]\n")
    from tests.city import _free_udp_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTCTL_")}
    command = [sys.executable, "-m", "hotspotctl", "demo", "--count", "300", "--cycles", "1", "--interval", "2",
               "--scenario", str(scenario), "--port", str(_free_udp_port())]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    seen: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if line.startswith("simulator:"):
                # Ctrl-C once the demo handles it (its SIGTERM handler comes first, SIGINT's right after)
                # and the discovery it starts next is under way: a second in, with its walks' answers
                # 2.5 s away each, is well inside it
                assert eventually(lambda: _catches(process.pid, signal.SIGTERM), 60), "".join(seen)
                time.sleep(1.0)
                process.send_signal(signal.SIGINT)
                interrupted = time.monotonic()
                break
        rest, _ = process.communicate(timeout=60)
        seen.append(rest)
    finally:
        if process.poll() is None:
            process.kill()
    out = "".join(seen)
    assert "stopped during discovery" in out, out[-3000:]
    assert "polling every" not in out and process.returncode == 0
    assert time.monotonic() - interrupted < 30, out[-2000:]


def test_run_exits_4_when_influxdb_refuses_points_for_good(city: City, influxdb, influx_database) -> None:  # type: ignore[no-untyped-def]
    """A field type conflict on the real InfluxDB 1.x: its points are set aside (rejected/) and the
    one-shot run says so with exit 4, rather than 0 (or 5: nothing waits)."""
    import json

    influxdb.query(f'CREATE DATABASE "{influx_database}"')
    # up as a string before the run writes it as an integer. InfluxDB 1.x keeps a field's type per shard, and a
    # database's shard groups are 7 days from Monday 00:00 UTC: a point only before the run's lands in another shard
    # when the run starts past that boundary (this test passed the run's points at Monday 00:00:48). One an hour
    # ahead too: whichever shard the run's points go to has up as a string.
    now = int(time.time())
    influxdb.write(influx_database, [f'ap_status,ap=SCH-000 up="yes" {now - 60}',
                                     f'ap_status,ap=SCH-000 up="yes" {now + 3600}'])
    env = {"HOTSPOTCTL_INFLUX_API": "v1", "HOTSPOTCTL_INFLUX_DATABASE": influx_database,
           "HOTSPOTCTL_INFLUX_URL": influxdb.url}
    result = _run_cli(city, "run", "--cycles", "1", "--interval", "1", env=env)
    assert result.returncode == 4, result.stderr
    assert "refused" in result.stderr and "for good" in result.stderr
    status = json.loads(_run_cli(city, "spool", "status", "--format", "json", env=env).stdout)
    assert status["rejected"] == 1 and status["points"] == 0  # kept whole, with 1.x's reason (which says dropped=40)
    reason = next(Path(status["rejected_directory"]).glob("*.reason")).read_text()
    assert "field type conflict" in reason and "dropped=40" in reason
    assert influxdb.count("ap_traffic", "link_mbps", influx_database) == APS  # the rest of the batch was written


def test_an_unmonitored_ap_is_never_counted_down_on_the_dashboards(city: City, tmp_path: Path, influxdb,
                                                                     influx_database) -> None:  # type: ignore[no-untyped-def]
    """The district dashboard's own "down" query on the real InfluxDB 1.x. Before: an AP with no
    address was written up=0 like a dead one, so every AP of the city's own file showed as down."""
    import json
    from dataclasses import replace as dc_replace

    extra = tmp_path / "extra.csv"
    extra.write_text("id,lat,lon,district\nNOADDR-1,19.31,-99.11,Tlalpan\nNOADDR-2,19.32,-99.11,Tlalpan\n")
    import_inventory(city.store, extra, city.settings.inventory, merge=True)
    city.settings = dc_replace(city.settings, influx=dc_replace(city.settings.influx, url=influxdb.url, api="v1",
                                                                database=influx_database))

    async def scenario() -> Service:
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            aps = Fleet.load(city.store, city.zones).select(Selection())
            runner = CycleRunner(city.store, city.settings, load_profiles([]), aps, city.zones, city.sink(), poller,
                                 selection=Selection())
            service = Service(runner, interval_s=0.5, max_cycles=3)
            try:
                await asyncio.wait_for(service.run(), 120)
            finally:
                runner.sink.close()
            return service

    service = asyncio.run(scenario())
    assert len(service.records) == 3 and service.records[-1].aps == APS + 2
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "grafana" / "dashboards" / "district.json").read_text())
    down_query = next(t["query"] for panel in dashboard["panels"] for t in panel.get("targets", [])
                      if '- sum("up") AS "down"' in t.get("query", ""))
    query = (down_query.replace("$timeFilter", "time > now() - 1h").replace("/^$district$/", "/^Tlalpan$/")
             .replace("/^$program$/", "/.*/"))
    (series,) = influxdb.query(query, influx_database)
    assert series["values"][0][1] == 0  # every simulated AP answered; the two without address are not down
    monitored = influxdb.query('SELECT last("monitored") FROM ap_status GROUP BY ap', influx_database)
    assert {s["tags"]["ap"]: s["values"][0][1] for s in monitored} == {"NOADDR-1": 0, "NOADDR-2": 0}
