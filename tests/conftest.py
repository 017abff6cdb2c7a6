from __future__ import annotations

import gc
import itertools
import logging
import os
import signal
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotspotctl.cli import main
from hotspotctl.collectors.walker import _Heap
from hotspotctl.settings import InventorySettings
from hotspotctl.store import Store
from tests.city import city  # noqa: F401 - the simulated-city fixture, for every test
from tests.servers import (
    InfluxServer,
    PostgresServer,
    RedisServer,
    SnmpdServer,
    SnmpsimServer,
    VictoriaMetricsServer,
)

REPO = Path(__file__).resolve().parents[1]
CDMX_XLSX = REPO / "inventory" / "wifi_cdmx_2025.xlsx"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_databases = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C as the tests expect it, however the run was started. A shell script's background job (`make test &`,
    `nohup ... &`) starts with SIGINT ignored, and every process it starts inherits that: the tests that interrupt a
    command (`ap exec` in this process, `crews receive` in a child) then saw nothing happen. Each xdist worker
    loads this file too."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's HOTSPOTCTL_* settings."""
    for name in list(os.environ):
        if name.startswith("HOTSPOTCTL_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _own_garbage_collector() -> Iterator[None]:
    """Each test gets the collector as the suite had it. ``Service.run`` freezes the heap and raises the
    thresholds for the life of its process (``hotspotctl run``); in the test process that outlived the
    test, so whichever test came after one running a Service in-process saw a frozen heap (and the
    frozen objects were never collected again). It also turns the collector back on should a test leave it off
    (``Service.run`` runs it once a cycle only, and turns it back on when it returns)."""
    threshold, frozen, enabled = gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()
    frozen_for_good = _Heap.frozen_for_good
    yield
    _Heap.frozen_for_good = frozen_for_good  # else a later test's fewer_collections would never thaw what it froze
    if frozen == 0 and gc.get_freeze_count():
        gc.unfreeze()
    gc.set_threshold(*threshold)
    if enabled and not gc.isenabled():
        gc.enable()


@pytest.fixture(autouse=True)
def _no_log_handler_left_behind() -> Iterator[None]:
    """The root logger as the test found it. A test that runs hotspotctl in-process (``configure``) leaves a
    handler on the root logger writing to that test's captured stderr; once pytest had closed it, a later record
    (aiosmtpd's server thread at the session's end) printed "--- Logging error ---" into the run's output.
    pytest's own capture handlers are its to remove."""
    root = logging.getLogger()
    level, handlers = root.level, set(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def snmpd() -> Iterator[SnmpdServer]:
    server = SnmpdServer().start()
    try:
        yield server
    finally:
        server.stop()


DEVICE_CASES = sorted(p for p in (FIXTURES / "devices").iterdir() if p.is_dir()) if (FIXTURES / "devices").is_dir() else []


@pytest.fixture(scope="session")
def snmpsim() -> Iterator[SnmpsimServer]:
    server = SnmpsimServer([case / f"{case.name}.snmprec" for case in DEVICE_CASES]).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store on each backend the project supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'hotspotctl.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"test_{os.getpid()}_{next(_databases)}")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state' / 'hotspotctl.db'}") as opened:
        yield opened


@pytest.fixture
def rules() -> InventorySettings:
    return InventorySettings()


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run hotspotctl in-process from a scratch working directory (so ./var is the test's own)."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)

    def run(*args: str | Path) -> Result:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Result(int(code), captured.out, captured.err)

    run.workdir = workdir  # type: ignore[attr-defined]
    return run


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def snmpd_lab_settings(server, monkeypatch: pytest.MonkeyPatch, timeout_s: float) -> str:
    """The ``[snmp]`` settings for the snmpd under test: auth sets ``lab`` (v2c) and ``lab-v3`` (authPriv),
    their secrets put in the environment as an operator would."""
    monkeypatch.setenv("TEST_SNMP_COMMUNITY", server.COMMUNITY)
    monkeypatch.setenv("TEST_V3_AUTH", server.V3_AUTH[1])
    monkeypatch.setenv("TEST_V3_PRIV", server.V3_PRIV[1])
    return f"""
[snmp]
profiles_dir = "{FIXTURES / 'profiles'}"
timeout_s = {timeout_s}
retries = 1

[snmp.auth.lab]
community_env = "TEST_SNMP_COMMUNITY"

[snmp.auth.lab-v3]
version = "3"
user = "{server.V3_USER}"
auth_protocol = "sha256"
auth_password_env = "TEST_V3_AUTH"
priv_protocol = "aes"
priv_password_env = "TEST_V3_PRIV"
"""


def file_mode(path: Path) -> int:
    """The permission bits of ``path`` (0o600 and so on)."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o077, 0o000])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The test runs under each of these umasks: the usual ones, a private one and none at all."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.fixture(scope="session")
def influxdb() -> Iterator[InfluxServer]:
    """Debian's InfluxDB 1.x, one server for the session; each test uses its own database name."""
    server = InfluxServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def influx_database() -> str:
    return f"hotspotctl_test_{next(_databases)}_{os.getpid()}"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """Debian's redis-server, one for the session (the cluster's broker and lock); a test that needs it empty
    calls ``flush()``, one that loses Redis starts its own ``RedisServer``."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def victoria_metrics() -> Iterator[VictoriaMetricsServer]:
    server = VictoriaMetricsServer().start()
    try:
        yield server
    finally:
        server.stop()


# --- SSH (tests/sshservers.py): imported where used, so that the rest of the suite never needs asyncssh ---

SSH_RECORDINGS = ("openwrt_ap", "mikrotik_ap", "cisco_aironet")


@pytest.fixture(scope="session")
def sshd():
    """Debian's OpenSSH sshd (an OpenSshServer), public-key login as the current user, for the session."""
    from tests.sshservers import OpenSshServer

    server = OpenSshServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ssh_cli():
    """A CliServer with fresh devices playing the three recordings (counters at zero for each test):
    0 openwrt_ap (linux), 1 mikrotik_ap (mikrotik_routeros), 2 cisco_aironet (cisco_ios); by name with
    ``ssh_cli.device("mikrotik_ap")`` and ``ssh_cli.port_of("mikrotik_ap")``."""
    from tests.sshservers import CliServer, load_device

    with CliServer([load_device(name) for name in SSH_RECORDINGS]) as server:
        yield server


@pytest.fixture
def ssh_known_hosts(ssh_cli, tmp_path: Path) -> Path:
    """A known_hosts file with the ``ssh_cli`` devices' host key at each of their ports."""
    return ssh_cli.write_known_hosts(tmp_path / "known_hosts")


@pytest.fixture
def silent_ssh():
    """A SilentListener: a loopback port that accepts TCP and never sends an SSH banner."""
    from tests.sshservers import SilentListener

    with SilentListener() as listener:
        yield listener
