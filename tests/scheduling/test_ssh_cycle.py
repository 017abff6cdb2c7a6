"""SSH collection in the poll cycle, against Debian's real OpenSSH server on this very machine: the linux
device type reads /proc/uptime and /proc/net/dev, the figures match what the machine itself reports, and
rates follow across two cycles exactly as they do for SNMP."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest

from hotspotctl.collectors.poller import Poller
from hotspotctl.collectors.profiles import load_profiles, shipped_dir
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.scheduling.cycle import CycleMemory, run_cycle
from hotspotctl.settings import Settings, SnmpSettings, SshAuth, SshSettings
from hotspotctl.store import Store
from hotspotctl.store import inventory as queries

TRAFFIC_BYTES = 24 * 1024 * 1024


def _uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def _interfaces() -> dict[str, tuple[int, int]]:
    """What the machine itself says: interface -> (received, sent) bytes."""
    found = {}
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        name, _, rest = line.partition(":")
        fields = rest.split()
        found[name.strip()] = (int(fields[0]), int(fields[8]))
    return found


def _lo() -> tuple[int, int]:
    return _interfaces()["lo"]


def _send_over_loopback(size: int) -> None:
    """``size`` bytes through a TCP connection on 127.0.0.1 (they show on lo, both ways)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        received = []

        def sink() -> None:
            conn, _ = server.accept()
            with conn:
                total = 0
                while chunk := conn.recv(1 << 16):
                    total += len(chunk)
                received.append(total)

        reader = threading.Thread(target=sink)
        reader.start()
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"\0" * size)
        reader.join(timeout=30)
    assert received == [size]


@pytest.fixture
def linux_city(sshd, tmp_path: Path):
    """A store with two APs on the machine's own sshd: one reads lo as its uplink, one the linux profile as shipped."""
    profiles_dir = tmp_path / "profiles"
    profiles_dir.mkdir()
    text = (shipped_dir() / "linux.yaml").read_text(encoding="utf-8")
    text = text.replace("name: linux\n", "name: linux_lo\n").replace(
        "    name: ['^wan$', '^(eth|en)', '^wl', '.']", "    name: ['^lo$']\n    exclude: ''")
    (profiles_dir / "linux_lo.yaml").write_text(text, encoding="utf-8")
    known = sshd.write_known_hosts(tmp_path / "known_hosts")
    settings = Settings(data_dir=tmp_path, snmp=SnmpSettings(profiles_dir=str(profiles_dir)),
                        ssh=SshSettings(known_hosts=str(known), deadline_s=20.0,
                                        auth={"lab": SshAuth(username=sshd.user, key_file=str(sshd.client_key))}))
    inventory = tmp_path / "aps.csv"
    inventory.write_text(
        "id,lat,lon,alcaldia,mgmt_address,profile,collector,ssh_auth\n"
        f"LNX-LO,19.4326,-99.1332,Cuauhtemoc,{sshd.address},linux_lo,ssh,lab\n"
        f"LNX-SHIPPED,19.4330,-99.1340,Cuauhtemoc,{sshd.address},linux,SSH,lab\n", encoding="utf-8")
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        report = import_inventory(store, inventory, settings.inventory)
        assert report.added == ["LNX-LO", "LNX-SHIPPED"] and not report.rejected
        with store.read() as conn:
            aps = list(queries.load_access_points(conn).values())
        assert {ap.id: ap.collector for ap in aps} == {"LNX-LO": "ssh", "LNX-SHIPPED": "ssh"}
        yield store, settings, aps


def test_linux_over_ssh_matches_the_machine_and_rates_follow(linux_city) -> None:
    store, settings, aps = linux_city
    profiles = load_profiles([Path(settings.snmp.profiles_dir)])

    async def two_cycles():
        with Poller.from_settings(settings, profiles) as poller:
            memory = CycleMemory.load(store, aps)
            up_before, lo_before, all_before = _uptime(), _lo(), _interfaces()
            first = await run_cycle(store, aps, settings.snmp, profiles, poller, memory=memory)
            up_after, lo_after = _uptime(), _lo()
            counters_1 = memory.states["LNX-LO"].counters
            await asyncio.to_thread(_send_over_loopback, TRAFFIC_BYTES)
            second = await run_cycle(store, aps, settings.snmp, profiles, poller, memory=memory)
            lo_end, all_end = _lo(), _interfaces()
            return (first, second, counters_1, memory.states["LNX-LO"].counters,
                    memory.states["LNX-SHIPPED"].counters, (up_before, up_after), (lo_before, lo_after, lo_end),
                    (all_before, all_end))

    (first, second, c1, c2, shipped_counters, (up_before, up_after), (lo_before, lo_after, lo_end),
     (all_before, all_end)) = asyncio.run(two_cycles())
    assert [o.ok for o in first.outcomes] == [True, True], [o.error for o in first.outcomes]
    assert first.summary()["ok"] == 2 and first.discovered == 0  # nothing to discover over SSH
    lo = {o.ap.id: o for o in first.outcomes}["LNX-LO"]
    assert lo.profile == "linux_lo"
    # Uptime: what /proc/uptime said around the cycle (the sample keeps whole seconds).
    assert int(up_before) <= lo.rate.uptime_s <= up_after
    assert lo.rate.events == ("first_sample",) and lo.rate.in_bps is None
    # Counters: lo's own bytes, read between the machine's readings before and after the cycle.
    assert lo_before[0] <= c1.in_octets <= lo_after[0]
    assert lo_before[1] <= c1.out_octets <= lo_after[1]
    assert c1.counter_bits == 64
    # Second cycle: a rate over the interval, covering at least the bytes we pushed through lo.
    rate = {o.ap.id: o for o in second.outcomes}["LNX-LO"].rate
    assert rate is not None and rate.interval_s > 0 and not rate.rebooted
    delta_in = c2.in_octets - c1.in_octets
    assert TRAFFIC_BYTES <= delta_in <= lo_end[0] - lo_before[0]
    assert rate.in_bps == pytest.approx(delta_in * 8 / rate.interval_s)
    assert rate.out_bps == pytest.approx((c2.out_octets - c1.out_octets) * 8 / rate.interval_s)
    assert rate.in_bps >= TRAFFIC_BYTES * 8 / rate.interval_s
    assert rate.clients is None  # no radios on this machine: no client figure, not zero
    # The shipped linux profile picks a real interface by its rules (never lo), and reads that one's bytes.
    shipped = {o.ap.id: o for o in second.outcomes}["LNX-SHIPPED"]
    assert shipped.ok and shipped.rate.uptime_s >= lo.rate.uptime_s
    uplink_rule = profiles.get("linux").uplink
    ranked = sorted((rank, name) for name in all_end
                    if (rank := uplink_rule.rank(None, name, by_name=True)) is not None)
    assert ranked, f"no interface here the linux profile would take: {sorted(all_end)}"
    uplink = ranked[0][1]
    assert uplink != "lo"
    assert all_before[uplink][0] <= shipped_counters.in_octets <= all_end[uplink][0]
    assert all_before[uplink][1] <= shipped_counters.out_octets <= all_end[uplink][1]
