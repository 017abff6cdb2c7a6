"""APs read through their controller in a real cycle: snmpsim serves a controller's recording over UDP
(tests/fixtures/controllers/wlc.snmprec, Cisco-shaped), a second controller's address answers nobody.

What each managed AP becomes: joined -> a Sample with the controller's figures (and a rate on the next
cycle); listed not joined -> not_joined with the controller's reason; never listed -> not_listed; listed
before and gone -> not_joined; controller unreachable -> kind controller (failure class unknown), and the
controller's own outcome is its failed poll. ``inventory reconcile`` then finds the drift both ways.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hotspotctl.collectors.controllers import read_controllers
from hotspotctl.collectors.model import FailureClass, PollErrorKind, failure_class
from hotspotctl.collectors.poller import Poller, Target
from hotspotctl.collectors.profiles import ProfileSet, load_profiles
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.inventory.reconcile import ReconcileReport, reconcile
from hotspotctl.models.radios import ControllerReading, Radio
from hotspotctl.scheduling.cycle import CycleMemory, CycleReport, run_cycle
from hotspotctl.settings import InventorySettings, SnmpAuth, SnmpSettings
from hotspotctl.store import Store
from tests.conftest import write
from tests.servers import SnmpsimServer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "controllers"


@pytest.fixture(scope="module")
def wlc() -> Iterator[SnmpsimServer]:
    server = SnmpsimServer([FIXTURES / "wlc.snmprec"]).start()  # community: "wlc"
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def silent() -> Iterator[str]:
    """A real UDP address where nobody answers: a dead controller."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        host, port = sock.getsockname()
        yield f"{host}:{port}"
    finally:
        sock.close()


@pytest.fixture
def profiles() -> ProfileSet:
    return load_profiles([FIXTURES / "profiles"])


SETTINGS = replace(SnmpSettings(), timeout_s=0.3, min_timeout_s=0.1, retries=1, deadline_s=2.0,
                   auth={"wlc": SnmpAuth(community="wlc")})


def city(tmp_path: Path, wlc: str, dead: str, extra: str = "") -> Path:
    return write(tmp_path / "city.csv", f"""id,role,lat,lon,mgmt_address,snmp_auth,profile,controller,ap_name,ap_mac
WLC-1,controller,,,{wlc},wlc,test_wlc,,,
WLC-DEAD,controller,,,{dead},wlc,test_wlc,,,
AP-A,,19.40,-99.10,,,,WLC-1,pole-a,
AP-B,,19.41,-99.10,,,,WLC-1,pole-b,
AP-C,,19.42,-99.10,,,,WLC-1,,000B.8600.0003
AP-D,,19.43,-99.10,,,,WLC-1,pole-d,
AP-E,,19.44,-99.10,,,,WLC-DEAD,pole-e,
AP-F,,19.45,-99.10,,,,WLC-DEAD,,
{extra}""")


def cycle(store: Store, profiles: ProfileSet, memory: CycleMemory | None = None,
          only: tuple[str, ...] = ()) -> CycleReport:
    aps = list(Fleet.load(store, CrewZones({}, {})).aps.values())
    if only:
        aps = [ap for ap in aps if ap.id in only]

    async def run() -> CycleReport:
        with Poller(SETTINGS, profiles) as poller:
            return await run_cycle(store, aps, SETTINGS, profiles, poller, memory=memory)

    return asyncio.run(run())


def test_each_managed_ap_gets_its_controllers_word(sqlite_store: Store, profiles: ProfileSet, wlc, silent,
                                                   tmp_path: Path):
    report = import_inventory(sqlite_store, city(tmp_path, wlc.address, silent), InventorySettings())
    assert report.rejected == []
    first = cycle(sqlite_store, profiles)
    by_ap = {o.ap.id: o for o in first.outcomes}
    assert sorted(by_ap) == ["AP-A", "AP-B", "AP-C", "AP-D", "AP-E", "AP-F", "WLC-1", "WLC-DEAD"]
    # the controller itself is polled like a device, for its own figures
    assert by_ap["WLC-1"].ok and by_ap["WLC-1"].profile == "test_wlc" and by_ap["WLC-1"].rate.clients == 10
    # joined: the controller's figures, as a Sample of the AP (uptime from cLApUpTime, clients)
    a = by_ap["AP-A"]
    assert a.ok and a.profile == "test_wlc"
    assert (a.rate.uptime_s, a.rate.clients) == (3600.0, 7)
    assert a.radios == (
        Radio("slot 0", band="2.4GHz", channel=6, frequency_mhz=2437, clients=3, utilization_pct=35.0, oper_up=True),
        Radio("slot 1", band="5GHz", channel=36, frequency_mhz=5180, clients=4, utilization_pct=12.0, oper_up=True))
    assert a.to_json()["radios"][1] == {
        "name": "slot 1", "if_index": None, "band": "5GHz", "channel": 36, "frequency_mhz": 5180, "clients": 4,
        "utilization_pct": 12.0, "noise_floor_dbm": None, "tx_power_dbm": None, "oper_up": True}
    c = by_ap["AP-C"]  # known to the controller by its MAC (another name there)
    assert c.ok and (c.rate.uptime_s, c.rate.clients) == (7200.0, 2)
    # listed, not joined: silent (an offline AP, a crew's matter), with the controller's reason
    b = by_ap["AP-B"].error
    assert (b.kind, failure_class(b.kind)) == (PollErrorKind.NOT_JOINED, FailureClass.SILENT)
    assert b.message == "controller WLC-1 lists the AP, not joined: disassociating"
    # never listed: unmonitored, the inventory is wrong
    d = by_ap["AP-D"].error
    assert (d.kind, failure_class(d.kind)) == (PollErrorKind.NOT_LISTED, FailureClass.UNMONITORED)
    assert d.message.startswith("controller WLC-1 lists no AP with name 'pole-d': correct the inventory's")
    # the dead controller: its own poll fails (silent, the one outage); its APs are unknown, never down
    dead = by_ap["WLC-DEAD"].error
    assert dead.kind == PollErrorKind.TIMEOUT
    for ap_id in ("AP-E", "AP-F"):
        error = by_ap[ap_id].error
        assert (error.kind, failure_class(error.kind)) == (PollErrorKind.CONTROLLER, FailureClass.UNKNOWN)
        assert error.message.startswith("controller WLC-DEAD could not be read (timeout: ")
        assert error.message.endswith("nothing is known of this AP")
    assert not any(o.error is not None and failure_class(o.error.kind) == FailureClass.SILENT
                   and o.ap.controller == "WLC-DEAD" for o in first.outcomes)
    # the second cycle: rates for the joined APs (the recording's figures do not move), and a managed AP is
    # never put in back-off: it is read every cycle with its controller
    second = cycle(sqlite_store, profiles)
    again = {o.ap.id: o for o in second.outcomes}
    assert again["AP-A"].ok and again["AP-A"].rate.interval_s is not None
    assert again["AP-B"].error.kind == PollErrorKind.NOT_JOINED  # not "backoff"
    assert again["AP-E"].error.kind == PollErrorKind.CONTROLLER
    assert again["WLC-DEAD"].error.kind == PollErrorKind.TIMEOUT


def test_an_ap_gone_from_its_controller_after_answering_is_not_joined(sqlite_store: Store, profiles: ProfileSet,
                                                                      wlc, silent, tmp_path: Path):
    import_inventory(sqlite_store, city(tmp_path, wlc.address, silent), InventorySettings())
    assert cycle(sqlite_store, profiles, only=("WLC-1", "AP-A")).outcomes[1].ok
    # the operator renames AP-A on the controller: the inventory's name no longer appears, but AP-A has
    # answered before, so it left its controller (an offline AP), not a typo
    moved = write(tmp_path / "rename.csv", "id,ap_name\nAP-A,pole-a-old\n")
    import_inventory(sqlite_store, moved, InventorySettings(), merge=True)
    outcome = {o.ap.id: o for o in cycle(sqlite_store, profiles, only=("WLC-1", "AP-A")).outcomes}["AP-A"]
    assert outcome.error.kind == PollErrorKind.NOT_JOINED
    assert outcome.error.message == ("controller WLC-1 no longer lists the AP with name 'pole-a-old': it has left "
                                     "its controller, or was renamed there (`hotspotctl inventory reconcile "
                                     "--controller WLC-1` tells which)")


def test_reconcile_pairs_an_ap_renamed_on_its_controller_by_the_mac_it_had(sqlite_store: Store,
                                                                          profiles: ProfileSet, wlc, silent,
                                                                          tmp_path: Path):
    """AP-A, known by name, was read as 'pole-a' (MAC 00:0b:86:00:00:01); the controller now lists that MAC under
    a name the file does not have (here the file's name changes instead: the same drift). Reconcile says it
    was renamed, once, with the new name and the MAC to put in the file, not an AP gone plus a stray."""
    import_inventory(sqlite_store, city(tmp_path, wlc.address, silent), InventorySettings())
    assert {o.ap.id: o for o in cycle(sqlite_store, profiles, only=("WLC-1", "AP-A")).outcomes}["AP-A"].ok
    renamed = write(tmp_path / "rename.csv", "id,ap_name\nAP-A,pole-a-old\n")
    import_inventory(sqlite_store, renamed, InventorySettings(), merge=True)
    aps = Fleet.load(sqlite_store, CrewZones({}, {})).aps

    async def run() -> ReconcileReport:
        with Poller(SETTINGS, profiles) as poller:
            return await reconcile(sqlite_store, aps, poller, controller="WLC-1")

    report = asyncio.run(run())
    assert [m.to_json() for m in report.not_on_controller] == [
        {"ap": "AP-A", "controller": "WLC-1", "ap_name": "pole-a-old", "ap_mac": None, "reported_by": None,
         "mac_on_controller": "00:0b:86:00:00:01", "renamed_to": "pole-a"},
        {"ap": "AP-D", "controller": "WLC-1", "ap_name": "pole-d", "ap_mac": None, "reported_by": None,
         "mac_on_controller": None, "renamed_to": None}]  # never read: nothing to pair it by
    assert [u.name for u in report.not_in_inventory] == ["stray-x"]  # not 'pole-a' as well
    assert report.rows()[:2] == [
        ("not_in_inventory", "WLC-1", None, "stray-x", "00:0b:86:00:00:04", True,
         "reported by the controller; not in the inventory"),
        ("renamed", "WLC-1", "AP-A", "pole-a", "00:0b:86:00:00:01", True,
         "the controller lists 'pole-a-old' as 'pole-a' now (same MAC): set its ap_name to 'pole-a', or better "
         "its ap_mac to 00:0b:86:00:00:01 (a MAC does not change)")]
    assert report.exit_code == 4


def test_a_selection_of_managed_aps_reads_their_controller_without_polling_it(sqlite_store: Store,
                                                                              profiles: ProfileSet, wlc, silent,
                                                                              tmp_path: Path):
    import_inventory(sqlite_store, city(tmp_path, wlc.address, silent), InventorySettings())
    report = cycle(sqlite_store, profiles, only=("AP-A", "AP-E"))
    by_ap = {o.ap.id: o for o in report.outcomes}
    assert sorted(by_ap) == ["AP-A", "AP-E"]  # the controllers are read, not polled: no outcome of their own
    assert by_ap["AP-A"].ok and by_ap["AP-A"].rate.clients == 7
    assert by_ap["AP-E"].error.kind == PollErrorKind.CONTROLLER


def test_reconcile_finds_the_drift_both_ways(sqlite_store: Store, profiles: ProfileSet, wlc, silent,
                                             tmp_path: Path):
    import_inventory(sqlite_store, city(tmp_path, wlc.address, silent), InventorySettings())
    aps = Fleet.load(sqlite_store, CrewZones({}, {})).aps

    async def run(controller: str | None) -> dict:
        with Poller(SETTINGS, profiles) as poller:
            return (await reconcile(sqlite_store, aps, poller, controller=controller)).to_json()

    found = asyncio.run(run("WLC-1"))
    assert found["controllers"] == [{"controller": "WLC-1", "profile": "test_wlc", "read": True, "lists_aps": True,
                                     "aps_reported": 4, "aps_in_inventory": 4, "error": None}]
    # the controller reports stray-x, which the file lacks ...
    assert found["not_in_inventory"] == [{"controller": "WLC-1", "name": "stray-x", "mac": "00:0b:86:00:00:04",
                                          "joined": True}]
    # ... and the file's AP-D, which the controller does not report
    assert found["not_on_controller"] == [{"ap": "AP-D", "controller": "WLC-1", "ap_name": "pole-d",
                                           "ap_mac": None, "reported_by": None, "mac_on_controller": None,
                                           "renamed_to": None}]
    everything = asyncio.run(run(None))
    dead = next(c for c in everything["controllers"] if c["controller"] == "WLC-DEAD")
    assert (dead["read"], dead["aps_reported"], dead["aps_in_inventory"]) == (False, None, 2)
    assert [m["ap"] for m in everything["not_on_controller"]] == ["AP-D"]  # not the dead controller's APs


def test_reconcile_on_the_command_line(cli, wlc, silent):
    write(cli.workdir / "hotspotctl.toml", f'[snmp]\ntimeout_s = 0.3\nretries = 1\ndeadline_s = 2.0\n'
                                           f'profiles_dir = "{FIXTURES / "profiles"}"\n'
                                           '[snmp.auth.wlc]\ncommunity = "wlc"\n')
    city(cli.workdir, wlc.address, silent,
         extra="AP-X,,19.46,-99.10,,,,WLC-1,stray-x,\n")  # now in the file: only AP-D drifts on WLC-1
    assert cli("inventory", "import", "city.csv").code == 0
    result = cli("inventory", "reconcile", "--controller", "WLC-1", "--format", "json")
    assert result.code == 4
    document = json.loads(result.out)
    assert document["not_in_inventory"] == []
    assert [m["ap"] for m in document["not_on_controller"]] == ["AP-D"]
    csv_out = cli("inventory", "reconcile", "--controller", "WLC-1", "--format", "csv")
    assert csv_out.code == 4
    assert csv_out.out.splitlines() == ["drift,controller,ap,name,mac,joined,detail",
                                        "not_on_controller,WLC-1,AP-D,pole-d,,,the controller does not report it"]
    unknown = cli("inventory", "reconcile", "--controller", "AP-A")
    assert unknown.code == 3 and "is an AP (role ap), not a controller" in unknown.err


def test_a_controller_is_read_in_a_few_getbulks_not_a_get_per_ap(wlc, profiles: ProfileSet):
    """v2c controllers go through the poller's walker (our codec): the nine columns of 4 APs and 5 radios
    come in one GETBULK shared by every column (a controller read asks for many rows at once:
    tables.CONTROLLER_REPETITIONS), and the AP count in one GET; the engine sends nothing."""
    async def run() -> tuple[dict, dict, object]:
        with Poller(SETTINGS, profiles) as poller:
            target = Target("WLC-1", wlc.address, "wlc", "test_wlc")
            found = await read_controllers(poller, [(target, profiles.get("test_wlc"))])
            return poller.walker.stats.as_dict(), poller.engine.stats.as_dict(), found["WLC-1"]

    walker, engine, reading = asyncio.run(run())
    assert isinstance(reading, ControllerReading)
    assert (len(reading.aps), reading.ap_count, sum(len(ap.radios) for ap in reading.aps)) == (4, 3, 5)
    assert (walker["requests"], walker["sent"], walker["timeouts"]) == (2, 2, 0)
    assert engine["requests"] == 0


def test_a_v3_controller_is_walked_over_v3_and_reads_as_over_v2c(snmpd):
    """snmpd read as a controller (its interfaces as APs: tests/fixtures/controllers/profiles-snmpd): the
    authPriv set and the v2c set both go through our walker; both find the same APs."""
    profiles = load_profiles([FIXTURES / "profiles-snmpd"])
    profile = profiles.get("snmpd_as_controller")
    settings = replace(SETTINGS, timeout_s=1.0, auth={
        "lab": SnmpAuth(community=snmpd.COMMUNITY),
        "lab-v3": SnmpAuth(version="3", user=snmpd.V3_USER, auth_protocol=snmpd.V3_AUTH[0],
                           auth_password=snmpd.V3_AUTH[1], priv_protocol=snmpd.V3_PRIV[0],
                           priv_password=snmpd.V3_PRIV[1])})

    async def run() -> tuple[object, object, int, int, list[object]]:
        with Poller(settings, profiles) as poller:
            v3 = await read_controllers(poller, [(Target("V3", snmpd.address, "lab-v3"), profile)])
            after_v3 = poller.walker.stats.requests
            v2 = await read_controllers(poller, [(Target("V2", snmpd.address, "lab"), profile)])
            return v2["V2"], v3["V3"], after_v3, poller.walker.stats.requests, list(poller.transport.usm.peers)

    over_v2c, over_v3, walker_after_v3, walker_after_v2c, v3_engines = asyncio.run(run())
    assert isinstance(over_v2c, ControllerReading) and isinstance(over_v3, ControllerReading)
    names = [(ap.key, ap.name, ap.joined) for ap in over_v2c.aps]
    assert ("1", "lo", True) in names
    assert [(ap.key, ap.name, ap.joined) for ap in over_v3.aps] == names
    lo = next(ap for ap in over_v3.aps if ap.name == "lo")
    assert lo.counter_bits == 32 and isinstance(lo.in_octets, int) and lo.in_octets > 0
    # the same walk over each: as many requests, and snmpd's engine discovered (v3) once
    assert walker_after_v3 >= 1 and walker_after_v2c == 2 * walker_after_v3
    assert v3_engines == [("127.0.0.1", snmpd.port)]


def test_a_dead_controller_is_one_outage_and_none_of_its_aps_is_down(cli, wlc, silent):
    """Three `poll --once` cycles through the real evaluation: the dead controller is one NOC outage (not one
    per cycle), its APs are unknown (no outage, not in availability), the AP its live controller lists as not
    joined is an offline AP's outage, and the controllers are in no status tally."""
    # the dead controller is a silent UDP port on loopback, whose address answers ping: SNMP alone here (a
    # pinged device silent on SNMP is agent_silent, not unreachable: tests/scheduling/test_ping_cycle.py)
    write(cli.workdir / "hotspotctl.toml", f'[snmp]\ntimeout_s = 0.3\nretries = 1\ndeadline_s = 2.0\n'
                                           f'profiles_dir = "{FIXTURES / "profiles"}"\n'
                                           '[snmp.auth.wlc]\ncommunity = "wlc"\n[ping]\nenabled = false\n')
    write(cli.workdir / "city.csv", f"""id,role,lat,lon,alcaldia,mgmt_address,snmp_auth,profile,controller,ap_name
WLC-1,controller,,,,{wlc.address},wlc,test_wlc,,
WLC-DEAD,controller,,,,{silent},wlc,test_wlc,,
AP-A,,19.40,-99.10,Iztapalapa,,,,WLC-1,pole-a
AP-B,,19.41,-99.10,Iztapalapa,,,,WLC-1,pole-b
AP-E,,19.44,-99.10,Iztapalapa,,,,WLC-DEAD,pole-e
AP-F,,19.45,-99.10,Iztapalapa,,,,WLC-DEAD,
""")
    assert cli("inventory", "import", "city.csv").code == 0
    kinds = []
    for _ in range(3):
        result = cli("poll", "--once", "--format", "json")
        assert result.code == 4
        kinds.append({row["ap"]: row["error_kind"] for row in json.loads(result.out)})
    assert kinds[0] == {"AP-A": None, "AP-B": "not_joined", "AP-E": "controller", "AP-F": "controller",
                        "WLC-1": None, "WLC-DEAD": "timeout"}
    assert kinds[2]["WLC-DEAD"] == "backoff" and kinds[2]["AP-E"] == "controller"
    outages = json.loads(cli("outages", "list", "--format", "json").out)
    assert sorted((o["cause"], o["zone"], o["aps"], o["open"]) for o in outages) == [
        ("controller_unreachable", "NOC", ["WLC-DEAD"], True), ("offline", "Iztapalapa", ["AP-B"], True)]
    status = json.loads(cli("status", "--format", "json").out)["fleet"]
    assert (status["aps"], status["up"], status["down"], status["unknown"], status["open_outages"]) == (4, 1, 1, 2, 2)


def test_a_controller_that_lists_no_ap_at_all_leaves_its_aps_unknown_not_offline():
    """An empty AP table (outside the controller's SNMP view, a controller restarting or failing over) must
    not read as every AP leaving at once: APs that answered before would all go offline and to the crews."""
    from hotspotctl.collectors.controllers import results_for
    from hotspotctl.models.access_points import AccessPoint

    aps = [AccessPoint("AP-A", 19.4, -99.1, controller="WLC-1", ap_name="pole-a"),
           AccessPoint("AP-B", 19.4, -99.1, controller="WLC-1", ap_name="pole-b")]
    empty = ControllerReading(at=100.0, mono=5.0, walk_ms=3.0, aps=(), ap_count=0)
    results = results_for("WLC-1", aps, empty, answered_before={"AP-A", "AP-B"})
    assert {ap_id: r.kind for ap_id, r in results.items()} == {"AP-A": PollErrorKind.CONTROLLER,
                                                               "AP-B": PollErrorKind.CONTROLLER}
    assert all(failure_class(r.kind) == FailureClass.UNKNOWN for r in results.values())
    assert results["AP-A"].message == ("controller WLC-1 answered but lists no AP at all (its AP table is empty or "
                                       "outside its SNMP view); nothing is known of this AP")


# --- a count-only controller: its MIB gives its own totals, no per-AP table ---------------------------------

DEVICES = Path(__file__).parents[1] / "fixtures" / "devices"
NXC = "zyxelwlc_nxc2500"  # LibreNMS's recording of a Zyxel NXC2500 (ZYXEL-ES-CAPWAP: totals only)
NXC_SETTINGS = replace(SETTINGS, auth={"nxc": SnmpAuth(community=NXC)})
NO_AP_TABLE = ("controller zyxel-1 (profile zyxel_nxc) gives no per-AP table; poll this AP directly: clear its "
               "controller column")


@pytest.fixture(scope="module")
def nxc() -> Iterator[SnmpsimServer]:
    server = SnmpsimServer([DEVICES / NXC / f"{NXC}.snmprec"]).start()  # community: the case name
    try:
        yield server
    finally:
        server.stop()


def nxc_city(tmp_path: Path, address: str) -> Path:
    return write(tmp_path / "nxc.csv", f"""id,role,lat,lon,mgmt_address,snmp_auth,profile,controller,ap_name,ap_mac
zyxel-1,controller,,,{address},nxc,,,,
AP-N1,,19.40,-99.10,,,,zyxel-1,nwa-1,
AP-N2,,19.41,-99.10,,,,zyxel-1,,00:13:49:00:00:02
""")


def test_the_aps_of_a_count_only_controller_are_a_config_error_never_a_crews(sqlite_store: Store, nxc,
                                                                             tmp_path: Path):
    """zyxel_nxc reads only the controller's totals: an AP the inventory puts behind it can be neither listed
    nor missing, so each gets kind config (unmonitored: fix the inventory), in every cycle, never not_listed
    or not_joined (an offline AP, a crew's); the controller itself is polled as a device (its 45 clients)."""
    shipped = load_profiles()
    import_inventory(sqlite_store, nxc_city(tmp_path, nxc.address), InventorySettings())
    aps = list(Fleet.load(sqlite_store, CrewZones({}, {})).aps.values())
    memory = None
    for _ in range(2):
        async def run(memory: CycleMemory | None = memory) -> CycleReport:
            with Poller(NXC_SETTINGS, shipped) as poller:
                return await run_cycle(sqlite_store, aps, NXC_SETTINGS, shipped, poller, memory=memory)

        report = asyncio.run(run())
        by_ap = {o.ap.id: o for o in report.outcomes}
        assert sorted(by_ap) == ["AP-N1", "AP-N2", "zyxel-1"]
        assert by_ap["zyxel-1"].ok and by_ap["zyxel-1"].profile == "zyxel_nxc"
        assert by_ap["zyxel-1"].rate.clients == 45
        for ap_id in ("AP-N1", "AP-N2"):
            error = by_ap[ap_id].error
            assert (error.kind, failure_class(error.kind)) == (PollErrorKind.CONFIG, FailureClass.UNMONITORED)
            assert error.message == NO_AP_TABLE


def test_results_for_a_count_only_reading_lists_no_ap_as_missing():
    """Whatever answered before: a reading that cannot list APs says nothing of one (no not_joined)."""
    from hotspotctl.collectors.controllers import results_for
    from hotspotctl.models.access_points import AccessPoint

    aps = [AccessPoint("AP-A", 19.4, -99.1, controller="zyxel-1", ap_name="nwa-a"),
           AccessPoint("AP-B", 19.4, -99.1, controller="zyxel-1")]
    totals = ControllerReading(at=100.0, mono=5.0, walk_ms=3.0, aps=(), ap_count=35, lists_aps=False)
    results = results_for("zyxel-1", aps, totals, answered_before={"AP-A"}, profile="zyxel_nxc")
    assert {ap_id: (r.kind, r.at, r.message) for ap_id, r in results.items()} == {
        "AP-A": (PollErrorKind.CONFIG, 100.0, NO_AP_TABLE), "AP-B": (PollErrorKind.CONFIG, 100.0, NO_AP_TABLE)}


def test_reconcile_says_a_count_only_controller_cannot_list_its_aps(sqlite_store: Store, nxc, tmp_path: Path):
    shipped = load_profiles()
    import_inventory(sqlite_store, nxc_city(tmp_path, nxc.address), InventorySettings())
    aps = Fleet.load(sqlite_store, CrewZones({}, {})).aps

    async def run() -> object:
        with Poller(NXC_SETTINGS, shipped) as poller:
            return await reconcile(sqlite_store, aps, poller)

    report = asyncio.run(run())
    assert report.to_json() == {
        "controllers": [{"controller": "zyxel-1", "profile": "zyxel_nxc", "read": True, "lists_aps": False,
                         "aps_reported": None, "aps_in_inventory": 2, "error": None}],
        "not_in_inventory": [], "not_on_controller": []}  # its APs are not reported missing
    assert report.rows() == [("no_ap_table", "zyxel-1", None, None, None, None,
                              "profile zyxel_nxc gives no per-AP table: the controller cannot list its APs; poll "
                              "its 2 inventory APs directly (clear their controller column)")]
    assert report.exit_code == 4  # two APs unmonitored until the file is fixed


def test_probe_of_a_count_only_controller_shows_its_count_and_no_ap_list(cli, nxc):
    """`ap probe` over UDP: ap_count is capwapOnlineAP.0, LibreNMS's 'Connected APs' (35); aps is null (the
    controller does not say), not [] (a controller that lists none)."""
    result = cli("ap", "probe", nxc.address, "--community", NXC, "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["profile"], data["clients"], data["ap_count"], data["aps"], data["unread"]) == (
        "zyxel_nxc", 45, 35, None, [])
    table = cli("ap", "probe", nxc.address, "--community", NXC)
    assert table.code == 0 and "ap_count" in table.out and "35" in table.out
    assert "not listed: the profile's MIB gives" in table.out  # not "0 listed", not a crash on aps null
