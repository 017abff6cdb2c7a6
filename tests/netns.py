"""Network namespaces made by a test (we are root in the test machine), removed when it ends.

A namespace gives a test its own routes, addresses and sysctls (``net.ipv4.ping_group_range`` is
per namespace) without touching the host's. Commands run inside with ``ip netns exec NAME``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_names = itertools.count()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@contextmanager
def namespace(*setup: Sequence[str]) -> Iterator[str]:
    """A fresh namespace with its loopback up, then each ``setup`` command run in it (``ip netns exec``);
    skips the test where namespaces cannot be made (not root, no ``ip``)."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("network namespaces need root and iproute2's ip")
    name = f"hsping-{os.getpid()}-{next(_names)}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot make a network namespace here: {exc.stderr.strip()}")
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        for command in setup:
            subprocess.run(["ip", "netns", "exec", name, *command], check=True, capture_output=True, text=True,
                           timeout=30)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30, check=False)


def run_in(name: str, *args: str, timeout: float = 60, cwd: Path | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """This venv's python with ``args``, inside the namespace (the repository on its path)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(["ip", "netns", "exec", name, sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=environment, check=False)


def silent_subnet(address: str = "10.77.5.1/24") -> tuple[tuple[str, ...], ...]:
    """Setup commands for ``namespace``: a veth pair inside it, ``address`` on one end and nothing on the other,
    so the subnet's other addresses are routed but never answer (no ARP reply: the echoes go nowhere).
    (A veth pair, not a dummy interface: the test machine's kernel has no dummy module.)"""
    return (("ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"),
            ("ip", "addr", "add", address, "dev", "veth0"),
            ("ip", "link", "set", "veth0", "up"), ("ip", "link", "set", "veth1", "up"))
