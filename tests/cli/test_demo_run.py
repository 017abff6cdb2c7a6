"""The README's main command, `hotspotctl demo`, and the service unit that runs `hotspotctl run`."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from hotspotctl.cli import app
from hotspotctl.settings import ScheduleSettings

ROOT = Path(__file__).resolve().parents[2]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _demo(workdir: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTCTL_")}
    return subprocess.run([sys.executable, "-m", "hotspotctl", "demo", "--count", "400", "--cycles", "2",
                           "--interval", "2", "--port", str(port)],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=300)


def test_demo_runs_the_whole_job_and_a_second_run_reuses_the_store(tmp_path: Path) -> None:
    port = _free_udp_port()
    first = _demo(tmp_path, port)
    assert first.returncode == 0, first.stderr
    out = first.stdout + first.stderr
    assert "35350 added" in out.replace(",", "") or "added 35350" in out.replace(",", ""), out[:2000]
    assert "pointed 400 APs at the simulator" in out
    assert re.search(r"discovered (\d+) of 400 APs", out), out
    # the fleet table's total row: 400 APs, every one either up or down
    total = re.search(r"│ all\s+│ (\d+)\s+│ (\d+)\s+│ (\d+)\s+│", out)
    assert total is not None, out
    aps, up, down = map(int, total.groups())
    assert aps == 400 and up + down == 400 and up >= 360, total.groups()
    assert "The poller's own figures" in out and "Worst sites" in out
    # the worst sites (tallied for the table: a scheduled cycle's rollup has no sites): the dead APs' sites first
    worst = out[out.index("Worst sites"):out.index("The poller's own figures")]
    downs = [int(d) for d in re.findall(r"│ \w{11}\s+│[^\n]*│ \d+\s+│ (\d+)\s+│ \d+\s+│", worst)]
    assert 1 <= len(downs) <= 10 and downs[0] >= 1 and downs == sorted(downs, reverse=True), worst
    assert sum(downs) <= down, worst
    assert "every point went to the spool" in out
    batches = sorted((tmp_path / "var" / "spool").glob("*.lp*"))
    assert len(batches) == 4  # two batches per cycle: its lines, then its poller_cycle line (after its commit)
    # two cycles are enough for the dead APs to be DOWN (down_after=2): they are crew stops
    assert "Open outages for crews" in out
    stops = re.search(r"crew lists: (\d+) stops in (\d+) zones", out)
    assert stops is not None, out[-3000:]
    crews = json.loads((tmp_path / "var" / "crews" / "crews.json").read_text())
    assert sum(len(zone["stops"]) for zone in crews) == int(stops.group(1)) > 0
    assert len(crews) == int(stops.group(2))
    assert "<script" not in (tmp_path / "var" / "crews" / "crews.html").read_text()
    # the demo's own suggestion for crews send works as printed, on this fresh install (no SMTP server)
    [suggested] = re.findall(r"^\s*((?:[A-Z_]+=\S+ )*)hotspotctl (crews send [^#\n]*?)\s*(?:#.*)?$", out, re.MULTILINE)
    assignments, command = suggested
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTCTL_")}
    env.update(dict(pair.split("=", 1) for pair in assignments.split()))
    sent = subprocess.run([sys.executable, "-m", "hotspotctl", *shlex.split(command)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert sent.returncode == 0, (command, sent.stdout, sent.stderr)
    assert "planned" in sent.stdout and "dry run: nothing was sent" in sent.stderr

    second = _demo(tmp_path, port)
    assert second.returncode == 0, second.stderr
    again = second.stdout + second.stderr
    assert "already in the store" in again
    assert "pointed" not in again and "discovered" not in again  # nothing to import, assign or discover
    assert len(sorted((tmp_path / "var" / "spool").glob("*.lp*"))) == 8


def test_the_demo_behind_a_controller_counts_its_aps_as_read_through_it_not_as_down(tmp_path: Path) -> None:
    """The APs behind a simulated controller are not discovered (the controller is read): the discovery line
    must not count them among the APs that "did not answer: down in the scenario" (it counted all 62 there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTCTL_")}
    run = subprocess.run([sys.executable, "-m", "hotspotctl", "demo", "--count", "400", "--controllers", "1",
                          "--cycles", "1", "--interval", "2", "--port", str(_free_udp_port())],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout + run.stderr
    pointed = re.search(r"pointed (\d+) APs at the simulator", out)
    behind = re.search(r"controller WLC-01 \(cisco_aireos\) at \S+: (\d+) APs read through it", out)
    line = re.search(r"discovered (\d+) of (\d+) APs in \S+ s \((\d+) did not answer: down in the scenario\); "
                     r"(\d+) more are read through their controllers", out)
    assert pointed and behind and line, out[:3000]
    ok, direct, silent, read_through = map(int, line.groups())
    assert read_through == int(behind.group(1)) > 0
    assert direct + read_through == int(pointed.group(1)) == 401  # 400 APs and the controller itself
    assert ok + silent == direct and silent < direct // 5  # the scenario's dead APs, not the controller's


def test_the_service_unit_runs_hotspotctl_run_with_json_logs_and_room_to_stop() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "deploy" / "hotspotctl.service")
    service = unit["Service"]
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).name == "hotspotctl" and command[1:] == ["run", "--log-format", "json"]
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > ScheduleSettings().grace_s
    assert "EnvironmentFile" in service  # secrets from a file, not the unit
    # the options it uses exist: `hotspotctl run --help` parses them
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["run", "--help"])
    assert result.exit_code == 0 and "--log-format" in result.output
