"""A poll cycle's bookkeeping: down APs back off, vanished interfaces trigger rediscovery."""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest

from hotspotctl.collectors.model import NO_SUCH_INSTANCE, Discovery, Interface
from hotspotctl.collectors.poller import build_sample, plan_poll
from hotspotctl.scheduling.cycle import backoff_s
from tests.conftest import write


def test_backoff_grows_by_doubling_and_is_capped():
    assert [backoff_s(n, 60, 900) for n in range(1, 7)] == [0, 60, 180, 420, 900, 900]


def test_an_ap_that_stops_answering_is_tried_once_then_backs_off(cli):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a real address where nobody answers
    silent.bind(("127.0.0.1", 0))
    try:
        host, port = silent.getsockname()
        write(cli.workdir / "hotspotctl.toml", "[snmp]\ntimeout_s = 0.05\nretries = 1\n")
        write(cli.workdir / "aps.csv", f"id,lat,lon,mgmt_address\nGONE-1,19.43,-99.13,{host}:{port}\n")
        assert cli("inventory", "import", "aps.csv").code == 0
        kinds = []
        for _ in range(3):
            result = cli("poll", "--once", "--format", "json")
            assert result.code == 4
            (row,) = json.loads(result.out)
            kinds.append(row["error_kind"])
        # 1st: discovery times out (2 tries); 2nd: failing once already, tried again; 3rd: backing off.
        assert kinds == ["timeout", "timeout", "backoff"]
        assert "next try at" in row["error"]
        result = cli("poll", "--once", "--no-backoff", "--format", "json")
        assert json.loads(result.out)[0]["error_kind"] == "timeout"
    finally:
        silent.close()


def _discovery() -> Discovery:
    uplink = Interface(2, "eth0", 6, True, 1000.0, True, True)
    return Discovery(profile="generic", sys_descr="x", sys_object_id="1.3.6.1.4.1.8072.3.2.10",
                     uptime_sources=("sys_uptime",), uplink=uplink, radios=(), counter_bits=64,
                     link_source="if_high_speed", link_scale=1.0, clients_kind="sum",
                     clients_oids=("1.3.6.1.4.1.41112.1.6.1.2.1.8.1", "1.3.6.1.4.1.41112.1.6.1.2.1.8.2"))


def test_plan_asks_each_figure_once_in_a_fixed_order():
    plan = plan_poll(_discovery())
    assert [".".join(map(str, o)) for o in plan.oids] == [
        "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.31.1.1.1.6.2", "1.3.6.1.2.1.31.1.1.1.10.2",
        "1.3.6.1.2.1.31.1.1.1.15.2", "1.3.6.1.2.1.2.2.1.8.2",
        "1.3.6.1.4.1.41112.1.6.1.2.1.8.1", "1.3.6.1.4.1.41112.1.6.1.2.1.8.2"]


@pytest.mark.parametrize("values, clients, gone", [
    ([500, 10, 20, 1000, 1, 3, 4], 7, False),
    ([500, NO_SUCH_INSTANCE, NO_SUCH_INSTANCE, NO_SUCH_INSTANCE, NO_SUCH_INSTANCE, 3, 4], 7, True),  # ifIndex gone
    ([500, 10, 20, 1000, 2, 3, NO_SUCH_INSTANCE], 3, True),  # a VAP row gone
])
def test_build_sample_flags_objects_that_have_gone(values, clients, gone):
    sample, vanished = build_sample("AP", plan_poll(_discovery()), values, 1000.0, 1.5)
    assert sample.clients == clients and vanished is gone
    if not gone:
        assert (sample.in_octets, sample.out_octets, sample.link_mbps, sample.oper_up) == (10, 20, 1000.0, True)


def test_a_vanished_uplink_is_rediscovered_on_the_next_cycle(cli, snmpsim):
    write(cli.workdir / "hotspotctl.toml", '[snmp]\ntimeout_s = 2.0\n[snmp.auth.mt]\ncommunity = "routeros"\n')
    write(cli.workdir / "aps.csv", f"id,lat,lon,mgmt_address,snmp_auth\nMT-1,19.43,-99.13,{snmpsim.address},mt\n")
    assert cli("inventory", "import", "aps.csv").code == 0
    assert cli("poll", "--once").code == 0
    db = sqlite3.connect(cli.workdir / "var" / "hotspotctl.db")
    (layout,) = db.execute("select layout from ap_discovery where ap_id = 'MT-1'").fetchone()
    moved = json.loads(layout)
    assert moved["uplink"]["if_index"] == 3
    moved["uplink"]["if_index"] = 99  # as if the AP renumbered its interfaces since discovery
    with db:
        db.execute("update ap_discovery set layout = ? where ap_id = 'MT-1'", (json.dumps(moved),))
    result = cli("poll", "--once", "--format", "json")
    (row,) = json.loads(result.out)
    assert row["ok"] and row["in_bps"] is None  # answered, but the counters asked for are gone
    assert db.execute("select needs_discovery from ap_state where ap_id = 'MT-1'").fetchone() == (1,)
    result = cli("poll", "--once", "--format", "json")
    assert "discovered 1" in result.err
    (layout,) = db.execute("select layout from ap_discovery where ap_id = 'MT-1'").fetchone()
    assert json.loads(layout)["uplink"]["if_index"] == 3
    assert db.execute("select needs_discovery from ap_state where ap_id = 'MT-1'").fetchone() == (0,)


def test_a_down_ap_is_tried_again_at_least_every_minute_by_default():
    """Recovery is seen promptly. Before: a down AP backed off up to 15 minutes, so a fixed AP stayed on
    the crew list, and its outage open, up to a quarter of an hour after it was back."""
    from hotspotctl.settings import SnmpSettings

    cap = SnmpSettings().down_backoff_max_s
    for interval in (20, 60, 300):
        assert max(backoff_s(n, interval, cap) for n in range(1, 200)) <= 60, interval


def test_a_retry_time_beyond_the_cap_means_the_wall_clock_stepped_back(city):
    """Before: an AP whose stored next try lay an hour ahead (stored before the wall clock stepped back an
    hour) was skipped for that hour although the cap is a minute."""
    import asyncio
    import time
    from dataclasses import replace

    from hotspotctl.collectors.poller import Poller
    from hotspotctl.collectors.profiles import load_profiles
    from hotspotctl.scheduling.cycle import run_cycle
    from hotspotctl.store.polling import load_states, save_states

    async def poll():
        with Poller(city.settings.snmp, load_profiles([])) as poller:
            return await run_cycle(city.store, city.aps, city.settings.snmp, load_profiles([]), poller)

    asyncio.run(poll())
    ids = [ap.id for ap in city.aps]
    with city.store.write() as conn:
        states = load_states(conn, ids)
        save_states(conn, {ap_id: replace(state, failures=3, next_attempt_at=time.time() + 3600, last_error="x")
                           for ap_id, state in states.items()})
    report = asyncio.run(poll())
    assert report.skipped == 0 and report.ok == len(ids)


def test_an_ap_with_no_address_is_unmonitored_every_cycle_not_backing_off(cli):
    """Nothing is sent to an AP with no address, so there is nothing to spare: it says why every cycle
    (before: from the third cycle on it was "backoff", "down for 2 cycles", like a dead AP)."""
    write(cli.workdir / "aps.csv", "id,lat,lon\nNOADDR-1,19.43,-99.13\n")
    assert cli("inventory", "import", "aps.csv").code == 0
    kinds = []
    for _ in range(3):
        result = cli("poll", "--once", "--format", "json")
        (row,) = json.loads(result.out)
        kinds.append(row["error_kind"])
    assert kinds == ["no_address"] * 3
