"""`hotspotctl traps listen` as an engineer runs it: a real process, real snmptrap traps, output read back."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write

pytestmark = pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp's snmptrap is not installed")

LINK_DOWN = ["1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.7", "i", "7", "1.3.6.1.2.1.2.2.1.7.7", "i", "2"]


@pytest.fixture
def workdir(cli, tmp_path: Path) -> Path:
    """A settings file with a v2c set, and an inventory whose one AP is managed at 127.0.0.1."""
    write(cli.workdir / "hotspotctl.toml", '[snmp.auth.lab]\ncommunity = "lab-community"\n')
    write(cli.workdir / "aps.csv", "id,lat,lon,district,mgmt_address\nLAB-1,19.43,-99.13,Cuauhtemoc,127.0.0.1\n")
    assert cli("inventory", "import", "aps.csv").code == 0
    return cli.workdir


class Listener:
    def __init__(self, workdir: Path, *args: str) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("HOTSPOTCTL_")}
        self.process = subprocess.Popen([sys.executable, "-m", "hotspotctl", "traps", "listen", "--port", "0",
                                         "--bind", "127.0.0.1", *args], cwd=workdir, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        deadline = time.monotonic() + 30
        self.port = 0
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if match := re.search(r"listening for traps on 127\.0\.0\.1:(\d+)", line):
                self.port = int(match.group(1))
                break
            if not line and self.process.poll() is not None:
                break
        assert self.port, "the listener did not start"
        self.env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(workdir / "net-snmp")}

    def send(self, *args: str) -> None:
        subprocess.run(["snmptrap", *[a.replace("TARGET", f"127.0.0.1:{self.port}") for a in args]],
                       env=self.env, check=True, timeout=20)

    def finish(self, timeout: float = 20) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


def test_json_lines_mark_unknown_sources_and_count_drops(workdir):
    listener = Listener(workdir, "--format", "json", "--count", "2")
    listener.send("-v", "2c", "-c", "lab-community", "TARGET", "", *LINK_DOWN)
    listener.send("-v", "2c", "-c", "wrong", "TARGET", "", *LINK_DOWN)
    listener.send("-v", "1", "-c", "lab-community", "TARGET", "1.3.6.1.4.1.8072.3.2.10", "10.1.2.3", "0", "0", "")
    code, out, err = listener.finish()
    assert code == 0, err
    first, second = (json.loads(line) for line in out.splitlines())
    assert (first["kind"], first["source"], first["known"], first["ap"]) == ("link_down", "127.0.0.1", True, "LAB-1")
    assert (first["if_index"], first["admin_up"], first["security"]) == (7, False, "lab")
    assert (second["kind"], second["source"], second["known"], second["version"]) == ("cold_start", "10.1.2.3",
                                                                                      False, "1")
    assert "3 received, 2 shown, 0 informs answered; dropped: bad_community 1" in err


def test_known_only_drops_unknown_sources_and_ctrl_c_prints_the_counters(workdir):
    listener = Listener(workdir, "--known-only")
    listener.send("-v", "1", "-c", "lab-community", "TARGET", "1.3.6.1.4.1.8072.3.2.10", "10.1.2.3", "0", "0", "")
    listener.send("-v", "2c", "-c", "lab-community", "TARGET", "", *LINK_DOWN)
    time.sleep(0.5)
    listener.process.send_signal(signal.SIGINT)
    code, out, err = listener.finish()
    assert code == 0, err
    [line] = out.splitlines()
    assert "127.0.0.1 (LAB-1) v2c lab: link_down 1.3.6.1.6.3.1.1.5.3 ifIndex 7, admin down" in line
    assert "2 received, 1 shown, 0 informs answered; dropped: unknown_source 1" in err


def test_a_port_in_use_is_a_config_error(workdir):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "hotspotctl", "traps", "listen", "--bind", "127.0.0.1",
                                 "--port", str(port), "--seconds", "1"], cwd=workdir, capture_output=True, text=True,
                                timeout=30)
    assert result.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
