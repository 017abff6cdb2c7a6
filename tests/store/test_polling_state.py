"""Polling state round-trips through the store on both backends, Counter64 values above 2^63 too."""

from __future__ import annotations

from datetime import UTC, datetime

from hotspotctl.collectors.model import Discovery, Interface
from hotspotctl.evaluate.rates import CounterState
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.store.polling import (
    ApState,
    StoredDiscovery,
    load_discoveries,
    load_states,
    save_discoveries,
    save_states,
)
from tests.conftest import write


def test_discoveries_and_states_round_trip(store, rules, tmp_path):
    import_inventory(store, write(tmp_path / "a.csv", "id,lat,lon\nA-1,19.43,-99.13\nA-2,19.44,-99.13\n"), rules)
    layout = Discovery(profile="mikrotik_routeros", sys_descr="router", sys_object_id="1.3.6.1.4.1.14988.1",
                       uptime_sources=("sys_uptime", "hr_system_uptime"),
                       uplink=Interface(3, "WAN", 6, True, 100.0, True, False),
                       radios=(Interface(1, "wlan1", 71, True, 50.0, True, True),), counter_bits=64,
                       link_source="if_high_speed", link_scale=1.0, clients_kind="sum",
                       clients_oids=("1.3.6.1.4.1.14988.1.1.1.3.1.6.1",))
    at = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    counters = CounterState(at=1795330000.25, sys_uptime=2**32 - 1, hr_uptime=None, engine_time=5,
                            in_octets=2**64 - 1, out_octets=2**63, counter_bits=64, uptime_wraps=2)
    states = {"A-1": ApState(counters, 0, 1795330000.25, 0.0, None, False),
              "A-2": ApState(None, 3, 1795330001.0, 1795330181.0, "no answer", True)}
    with store.write() as conn:
        save_discoveries(conn, {"A-1": StoredDiscovery("10.0.0.1:161", layout, at)})
        save_states(conn, states)
    with store.read() as conn:
        assert load_discoveries(conn, ["A-1", "A-2"]) == {"A-1": StoredDiscovery("10.0.0.1:161", layout, at)}
        assert load_states(conn, ["A-1", "A-2"]) == states
    with store.write() as conn:  # saving again replaces, it does not duplicate
        save_states(conn, {"A-1": ApState(None, 1, 2.0, 3.0, "timeout", False)})
    with store.read() as conn:
        assert load_states(conn, ["A-1"]) == {"A-1": ApState(None, 1, 2.0, 3.0, "timeout", False)}
