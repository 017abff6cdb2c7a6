"""hotspotctl simulate, end to end: the inventory's APs served on loopback for a while, then the figures."""

from __future__ import annotations

import json

from tests.conftest import write
from tests.servers import free_udp_port

INVENTORY = """id,lat,lon,district,program
A-1,19.36,-99.06,Iztapalapa,Utopias
A-2,19.37,-99.07,Iztapalapa,Utopias
A-3,19.30,-99.17,Tlalpan,MiCalle
"""


def test_simulate_serves_the_selection_for_its_duration_and_says_what_it_served(cli):
    write(cli.workdir / "aps.csv", INVENTORY)
    assert cli("inventory", "import", "aps.csv").code == 0
    port = free_udp_port()
    result = cli("simulate", "--district", "iztapalapa", "--scenario", "none", "--v3-fraction", "0",
                 "--duration", "0.5", "--port", str(port), "--processes", "1", "--format", "json", "--assign")
    assert result.code == 0, result.err
    decoder = json.JSONDecoder()
    served, end = decoder.raw_decode(result.out)
    stats, _ = decoder.raw_decode(result.out[end:].lstrip())
    assert {key: served[key] for key in ("aps", "port", "addresses", "v3", "processes", "scenario", "faults")} == {
        "aps": 2, "port": port, "addresses": "127.16.0.1 .. 127.16.0.2", "v3": 0, "processes": 1,
        "scenario": None, "faults": []}
    assert set(stats["stats"]) >= {"requests", "answered", "dropped_down", "malformed", "cpu_s"}
    assert "assigned simulated addresses to 2 APs" in result.err


def test_simulate_on_an_empty_inventory_says_what_to_do(cli):
    result = cli("simulate", "--duration", "0.1")
    assert result.code == 3 and "the inventory is empty" in result.err


def test_simulate_puts_a_district_behind_a_controller_and_assigns_it(cli):
    # Iztapalapa has the most APs: --controllers 1 puts them behind WLC-01, the first vendor (Cisco AireOS)
    write(cli.workdir / "aps.csv", INVENTORY)
    assert cli("inventory", "import", "aps.csv").code == 0
    port = free_udp_port()
    result = cli("simulate", "--controllers", "1", "--scenario", "none", "--v3-fraction", "0", "--duration", "0.3",
                 "--port", str(port), "--processes", "1", "--format", "json", "--assign")
    assert result.code == 0, result.err
    served, _ = json.JSONDecoder().raw_decode(result.out)
    assert served["aps"] == 3 and served["addresses"] == "127.16.0.1 .. 127.16.0.4"
    assert served["controllers"] == [{"id": "WLC-01", "vendor": "cisco_aireos", "aps": 2,
                                      "address": f"127.16.0.4:{port}"}]
    rows = {row["id"]: row for row in json.loads(cli("inventory", "list", "-f", "json").out)}
    assert rows["WLC-01"]["role"] == "controller" and rows["WLC-01"]["mgmt_address"] == f"127.16.0.4:{port}"
    assert [rows[ap]["controller"] for ap in ("A-1", "A-2", "A-3")] == ["WLC-01", "WLC-01", None]
    again = cli("simulate", "--scenario", "none", "--v3-fraction", "0", "--duration", "0.3", "--port", str(port),
                "--processes", "1", "--format", "json", "--assign")
    served_again, _ = json.JSONDecoder().raw_decode(again.out)  # the inventory's own controller row is served
    assert served_again["controllers"] == served["controllers"]


def test_simulate_scale_assign_stores_every_copy_once_and_the_last_copy_answers_a_poll(cli):
    """--scale 3 --count 2: two APs per copy (spread over the city), six in the store at their simulated
    addresses, two sites more per copy; a second run changes nothing; a poll of copy 3's AP reaches its agent."""
    import os
    import subprocess
    import sys

    write(cli.workdir / "aps.csv", INVENTORY)
    assert cli("inventory", "import", "aps.csv").code == 0
    port = free_udp_port()
    args = ("simulate", "--scale", "3", "--count", "2", "--scenario", "none", "--v3-fraction", "0",
            "--port", str(port), "--processes", "1", "--format", "json", "--assign")
    first = cli(*args, "--duration", "0.2")
    assert first.code == 0, first.err
    served, _ = json.JSONDecoder().raw_decode(first.out)
    assert (served["aps"], served["addresses"]) == (6, "127.16.0.1 .. 127.16.0.6")
    assert "wrote 3 copies of the city (6 APs, 0 controllers) into the inventory: 4 added, 2 updated, 0 unchanged; " \
           "7 sites" in first.err
    rows = {row["id"]: row for row in json.loads(cli("inventory", "list", "-f", "json").out)}
    assert sorted(rows) == ["A-1", "A-1.k2", "A-1.k3", "A-2", "A-2.k2", "A-2.k3", "A-3"]  # A-3 not picked
    assert [rows[i]["mgmt_address"] for i in ("A-1", "A-2", "A-1.k2", "A-2.k2", "A-1.k3", "A-2.k3")] == [
        f"127.16.0.{n}:{port}" for n in range(1, 7)]
    assert rows["A-3"]["mgmt_address"] is None
    assert len({rows[i]["site_id"] for i in rows}) == 7  # the city's 3 sites and 2 more per copy
    assert {rows[i]["district"] for i in ("A-1", "A-1.k2", "A-1.k3")} == {"Iztapalapa"}
    again = cli(*args, "--duration", "0.2")
    assert again.code == 0, again.err
    assert "0 added, 0 updated, 6 unchanged; 7 sites" in again.err
    assert json.loads(cli("inventory", "list", "-f", "json").out) == list(rows.values())
    # the simulator in a process of its own, then a poll of copy 3's AP from this one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    server = subprocess.Popen([sys.executable, "-m", "hotspotctl", *args, "--duration", "60"], cwd=cli.workdir,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().startswith("{")  # serving from here on
        result = cli("poll", "--once", "--ap", "A-2.k3", "--format", "json")
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert result.code == 0, result.err
    (row,) = json.loads(result.out)
    assert (row["ap"], row["ok"], row["error_kind"]) == ("A-2.k3", True, None)
