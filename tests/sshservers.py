"""SSH servers for the tests, on free loopback ports, stopped afterwards.

* ``OpenSshServer``: Debian's OpenSSH ``sshd`` in a temporary folder, public-key login as the current user.
* ``CliServer``: vendor CLIs that cannot run here (Cisco IOS, MikroTik RouterOS, an OpenWrt shell), served by
  asyncssh from the recorded command output in tests/fixtures/ssh, behind each vendor's real prompt, echo and
  login behaviour, so that netmiko's own device classes work against it unmodified. One asyncio loop in a
  background thread, one listener per device: hundreds of devices are cheap.
* ``SilentListener``: a TCP port that accepts and never says a word (an AP whose SSH daemon is wedged).

``python -m tests.sshservers --devices 200 --kind linux --ports-file ports.json`` serves a fleet of
recorded devices from a separate process (for the benchmarks) until it is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import getpass
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import pytest
import yaml

from tests.servers import _AgentProcess, free_port

SSH_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ssh"
KINDS = ("cisco_ios", "mikrotik_routeros", "linux")
# The recording each kind serves when a fleet is started from the command line.
RECORDING_OF_KIND = {"linux": "openwrt_ap", "mikrotik_routeros": "mikrotik_ap", "cisco_ios": "cisco_aironet"}


# --- Debian's OpenSSH ------------------------------------------------------------------------------------------

class OpenSshServer(_AgentProcess):  # stop() and address as the SNMP agents'
    """Debian's sshd on 127.0.0.1:``port``: ed25519 host key, public-key login only, as ``user`` (the current
    user: root in CI) with the private key at ``client_key``. Everything lives in a temporary folder."""

    def __init__(self) -> None:
        self.binary = "/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else shutil.which("sshd")
        self.keygen = shutil.which("ssh-keygen")
        if not self.binary or not self.keygen:
            pytest.fail("sshd or ssh-keygen not found: run the README's test command, which installs Debian's "
                        "openssh-server", pytrace=False)
        self.root = Path(tempfile.mkdtemp(prefix="hotspotctl-sshd-"))
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = getpass.getuser()
        self.host_key = self.root / "ssh_host_ed25519_key"
        self.client_key = self.root / "client_ed25519"
        self.config = self.root / "sshd_config"
        self.log = self.root / "sshd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _keygen(self, path: Path, comment: str) -> None:
        subprocess.run([self.keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                       check=True, capture_output=True, timeout=30)

    def start(self) -> OpenSshServer:
        self._keygen(self.host_key, "hotspotctl-test-host")
        self._keygen(self.client_key, "hotspotctl-test-client")
        authorized = self.root / "authorized_keys"
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        self.config.write_text(
            f"Port {self.port}\n"
            f"ListenAddress {self.host}\n"
            f"HostKey {self.host_key}\n"
            f"PidFile {self.root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {authorized}\n"
            f"AllowUsers {self.user}\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "PermitRootLogin prohibit-password\n"
            "X11Forwarding no\n"
            "AllowTcpForwarding no\n"
            "AllowAgentForwarding no\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            "UseDNS no\n"
            "MaxStartups 200:30:400\n"
            "LogLevel INFO\n")
        if os.geteuid() == 0:  # sshd's privilege separation needs its empty directory
            Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([self.binary, "-D", "-e", "-f", str(self.config)],
                                            stdout=out, stderr=subprocess.STDOUT)
        self._wait_for_banner()
        return self

    def _wait_for_banner(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(256).startswith(b"SSH-2.0"):
                        return
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        raise RuntimeError(f"sshd did not come up on {self.host}:{self.port}: "
                           f"{self.log.read_text(errors='replace')[-2000:]}")

    def known_hosts_line(self) -> str:
        """The OpenSSH known_hosts line for ``[127.0.0.1]:PORT`` and this server's host key."""
        algorithm, blob = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"[{self.host}]:{self.port} {algorithm} {blob}"

    def write_known_hosts(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.known_hosts_line() + "\n")
        return path



# --- Recorded vendor CLIs ----------------------------------------------------------------------------------------

@dataclass(eq=False)
class CliDevice:
    """One device a ``CliServer`` plays. ``outputs`` maps the exact command line to its output (no final
    newline). ``hang_before_prompt``: it authenticates, then never says anything (no banner, prompt or echo).
    ``hang_on``: commands that are echoed and then never answered (nothing more, ever, on that session).
    ``reboots``, ``logins`` and ``commands`` (every non-empty line received, answers to a confirmation included,
    in order) are updated as clients use it. ``public_key``: an OpenSSH public key also accepted for
    ``username``. ``name``: the recording it was loaded from."""

    kind: str
    hostname: str
    username: str
    password: str
    outputs: dict[str, str] = field(default_factory=dict)
    hang_before_prompt: bool = False
    hang_on: set[str] = field(default_factory=set)
    reboots: int = 0
    commands: list[str] = field(default_factory=list)
    logins: int = 0
    public_key: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {KINDS}")

    @property
    def prompt(self) -> str:
        if self.kind == "cisco_ios":
            return f"{self.hostname}#"
        if self.kind == "mikrotik_routeros":
            return f"[{self.username}@{self.hostname}] > "
        return f"{self.username}@{self.hostname}:~{'#' if self.username == 'root' else '$'} "

    def accepts_user(self, username: str) -> bool:
        # RouterOS takes console options after a '+' in the login name (netmiko logs in as admin+ct511w4098h).
        if self.kind == "mikrotik_routeros":
            username = username.partition("+")[0]
        return username == self.username


def _recording_index(name: str) -> dict[str, Any]:
    folder = SSH_FIXTURES / name
    if not (folder / "commands.yaml").is_file():
        raise FileNotFoundError(f"no SSH recording {name!r} in {SSH_FIXTURES}")
    return yaml.safe_load((folder / "commands.yaml").read_text(encoding="utf-8"))


def load_device_outputs(name: str) -> dict[str, str]:
    """The recording tests/fixtures/ssh/NAME: exact command line -> output (the file less its final newline)."""
    index = _recording_index(name)
    folder = SSH_FIXTURES / name
    return {command: (folder / file).read_text(encoding="utf-8").removesuffix("\n")
            for command, file in index["commands"].items()}


def load_device(name: str, **changes: Any) -> CliDevice:
    """A fresh ``CliDevice`` playing the recording NAME (kind, hostname and credentials from its
    commands.yaml); ``changes`` override any field, e.g. ``hang_on={"show version"}``."""
    index = _recording_index(name)
    values: dict[str, Any] = {"kind": index["kind"], "hostname": index["hostname"], "username": index["username"],
                              "password": index["password"], "outputs": load_device_outputs(name), "name": name}
    values.update(changes)
    return CliDevice(**values)


# What each kind shows when a shell opens, before the first prompt (our own words, in each vendor's manner).
_BANNERS = {
    "cisco_ios": "\r\n",
    "mikrotik_routeros": ("\r\n\r\n  MikroTik RouterOS 6.49.10 (c) 1999-2023       https://www.mikrotik.com/\r\n\r\n"
                          "Press F1 for help\r\n\r\n"),
    "linux": ("\r\n\r\nBusyBox v1.36.1 (2023-11-14 01:22:43 UTC) built-in shell (ash)\r\n\r\n"
              " OpenWrt 23.05.2, r23630-842932a63d\r\n -----------------------------------------------------\r\n"),
}
# The SSH software each kind announces (the "SSH-2.0-..." banner).
_SERVER_VERSIONS = {"cisco_ios": "Cisco-1.25", "mikrotik_routeros": "ROSSSH", "linux": "dropbear"}
_CISCO_TERMINAL = re.compile(r"terminal (?:length \d+|width \d+|(?:no )?monitor|exec prompt timestamp)$")
_CISCO_VERBS = {"show", "terminal", "clear", "debug", "undebug", "copy", "write", "dir", "more"}
_ROUTEROS_MENUS = {"system", "interface", "ip", "ipv6", "routing", "tool", "user", "log", "file", "queue", "ppp",
                   "snmp", "caps-man", "certificate", "radius", "wireless", "ethernet", "bridge", "resource"}


def _crlf(text: str) -> str:
    """As a terminal sends it: every line ends in \\r\\n, the last one included (unless ``text`` is empty)."""
    if text and not text.endswith("\n"):
        text += "\n"
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


class _CliSession(asyncssh.SSHServerSession):  # type: ignore[misc]
    """One session on a device: an interactive shell (PTY) with echo, or a single exec command."""

    def __init__(self, device: CliDevice, conn: asyncssh.SSHServerConnection) -> None:
        self.device = device
        self.conn = conn
        self.chan: asyncssh.SSHServerChannel | None = None
        self.exec_command: str | None = None
        self.line = ""
        self.after_cr = False  # a \r was the last character: a \n right after it ends the same line
        self.pending: str | None = None  # a confirmation question is waiting for its answer
        self.hung = False
        self.closing: str | None = None  # "exit" (the session ends) or "reboot" (the connection drops)

    # asyncssh callbacks

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.exec_command = command
        return True

    def session_started(self) -> None:
        assert self.chan is not None
        if self.device.hang_before_prompt:
            self.hung = True
        elif self.exec_command is not None:
            self._exec(self.exec_command)
        else:
            self.chan.write(_BANNERS[self.device.kind] + self.device.prompt)

    def data_received(self, data: str, datatype: int | None) -> None:
        if self.hung or self.closing or self.exec_command is not None:
            return
        out: list[str] = []
        for char in data:
            if char == "\n" and self.after_cr:
                self.after_cr = False
                continue
            self.after_cr = char == "\r"
            if char in "\r\n":
                out.append("\r\n")
                line, self.line = self.line, ""
                out.append(self._enter(line))
                if self.hung or self.closing:
                    break
            elif char in "\x7f\x08":
                if self.line:
                    self.line = self.line[:-1]
                    out.append("\b \b")
            elif char == "\x03":  # Ctrl-C: drop the line
                self.line = ""
                self.pending = None
                out.append("^C\r\n" + self.device.prompt)
            elif char >= " " or char == "\t":
                self.line += char
                out.append(char)
        assert self.chan is not None
        text = "".join(out)
        if text:
            self.chan.write(text)
        if self.closing:
            self._finish()

    def eof_received(self) -> bool:
        return False

    def break_received(self, msec: int) -> bool:
        return True

    # the CLI

    def _finish(self) -> None:
        assert self.chan is not None
        if self.closing == "reboot":
            self.conn.close()  # the AP goes down: the whole connection drops
        else:
            self.chan.exit(0)

    def _enter(self, line: str) -> str:
        """What the device prints after the echoed line ending, for one line typed."""
        device = self.device
        command = line.strip()
        if self.pending is not None:
            question, self.pending = self.pending, None
            if command:
                device.commands.append(command)
            return self._answer(question, command)
        if not command:
            return device.prompt
        device.commands.append(command)
        if command in device.hang_on:
            self.hung = True
            return ""
        if command in device.outputs:
            return _crlf(device.outputs[command]) + device.prompt
        if device.kind == "cisco_ios":
            return self._cisco(command)
        if device.kind == "mikrotik_routeros":
            return self._mikrotik(command)
        return self._linux(command)

    def _cisco(self, command: str) -> str:
        prompt = self.device.prompt
        if _CISCO_TERMINAL.match(command) or command == "enable":
            return prompt
        if command == "show privilege":
            return "Current privilege level is 15\r\n" + prompt
        if command in ("exit", "logout", "quit"):
            self.closing = "exit"
            return ""
        if command == "reload":
            self.pending = "reload"
            return "Proceed with reload? [confirm]"
        words = list(re.finditer(r"\S+", command))
        bad = words[1] if len(words) > 1 and words[0].group() in _CISCO_VERBS else words[0]
        caret = " " * (len(prompt) + bad.start()) + "^"
        return f"{caret}\r\n% Invalid input detected at '^' marker.\r\n\r\n{prompt}"

    def _mikrotik(self, command: str) -> str:
        if command in ("quit", "/quit"):
            self.closing = "exit"
            return ""
        if command in ("/system reboot", "system reboot"):
            self.pending = "reboot"
            return "Reboot, yes? [y/N]: "
        # The first word that is not a menu is the bad one; RouterOS counts columns from 1.
        words = list(re.finditer(r"[^\s/]+", command))
        bad = words[0]
        for word in words:
            bad = word
            if word.group() not in _ROUTEROS_MENUS:
                break
        return f"bad command name {bad.group()} (line 1 column {bad.start() + 1})\r\n{self.device.prompt}"

    def _linux(self, command: str) -> str:
        if command in ("exit", "logout"):
            self.closing = "exit"
            return ""
        if command == "reboot":
            self.device.reboots += 1
            self.closing = "reboot"
            return ""
        # BusyBox ash as a login shell names itself "-ash".
        return f"-ash: {command.split()[0]}: not found\r\n{self.device.prompt}"

    def _answer(self, question: str, answer: str) -> str:
        device = self.device
        if question == "reload":  # Cisco's [confirm]: Enter (or y) goes ahead, anything else cancels
            if answer.lower() in ("", "y", "yes"):
                device.reboots += 1
                self.closing = "reboot"
                return ""
            return device.prompt
        # RouterOS [y/N]: only y goes ahead
        if answer.lower() in ("y", "yes"):
            device.reboots += 1
            self.closing = "reboot"
            return "system will reboot shortly\r\n"
        return "action cancelled\r\n" + device.prompt

    def _exec(self, command: str) -> None:
        """``ssh host COMMAND``: the recorded output, or the vendor's error and a failing exit status."""
        assert self.chan is not None
        device = self.device
        command = command.strip()
        device.commands.append(command)
        if command in device.hang_on:
            self.hung = True
            return
        if command in device.outputs:
            output = device.outputs[command]
            self.chan.write(output + ("\n" if output and not output.endswith("\n") else ""))
            self.chan.exit(0)
        elif device.kind == "linux" and command == "reboot":
            device.reboots += 1
            self.conn.close()
        else:
            error = {"cisco_ios": "% Invalid input detected at '^' marker.",
                     "mikrotik_routeros": f"bad command name {command.split()[0].lstrip('/')} (line 1 column 1)",
                     "linux": f"sh: {command.split()[0]}: not found"}[device.kind]
            self.chan.write_stderr(error + "\n")
            self.chan.exit(127 if device.kind == "linux" else 1)


class _DeviceServer(asyncssh.SSHServer):  # type: ignore[misc]
    def __init__(self, owner: CliServer, device: CliDevice) -> None:
        self.owner = owner
        self.device = device
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.owner._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.owner._connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return self.device.accepts_user(username) and password == self.device.password

    def public_key_auth_supported(self) -> bool:
        return self.device.public_key is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self.device.public_key is None or not self.device.accepts_user(username):
            return False
        return key.public_data == asyncssh.import_public_key(self.device.public_key).public_data

    def auth_completed(self) -> None:
        self.device.logins += 1

    def session_requested(self) -> _CliSession:
        assert self.conn is not None
        return _CliSession(self.device, self.conn)


class CliServer:
    """Each of ``devices`` on its own loopback port (``ports[i]``), all served by one asyncio loop in a
    background thread, with one ed25519 host key. Use as a context manager, or start() and stop()."""

    def __init__(self, devices: Iterable[CliDevice]) -> None:
        self.devices = list(devices)
        self.host = "127.0.0.1"
        self.ports: list[int] = []
        self.host_key = asyncssh.generate_private_key("ssh-ed25519", comment="hotspotctl-test-cli")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptors: list[Any] = []
        self._connections: set[asyncssh.SSHServerConnection] = set()

    def __enter__(self) -> CliServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> CliServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="CliServer", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=120)
        except BaseException:
            self.stop()
            raise
        return self

    async def _listen(self) -> None:
        for device in self.devices:
            acceptor = await asyncssh.listen(
                self.host, 0, server_factory=functools.partial(_DeviceServer, self, device),
                server_host_keys=[self.host_key], server_version=_SERVER_VERSIONS[device.kind],
                line_editor=False, agent_forwarding=False, x11_forwarding=False, allow_scp=False,
                reuse_address=True, login_timeout=60)
            self._acceptors.append(acceptor)
            self.ports.append(acceptor.get_port())

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=15)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        if not loop.is_running():
            loop.close()

    async def _close(self) -> None:
        for acceptor in self._acceptors:
            acceptor.close()
        for conn in list(self._connections):
            conn.abort()  # no goodbye: the client may be gone already (writes to a lost socket only log noise)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(
                *(acceptor.wait_closed() for acceptor in self._acceptors),
                *(conn.wait_closed() for conn in list(self._connections)), return_exceptions=True), timeout=10)
        self._acceptors.clear()
        current = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def _index(self, which: int | str | CliDevice) -> int:
        if isinstance(which, int):
            return which
        for i, device in enumerate(self.devices):
            if device is which or device.name == which:
                return i
        raise KeyError(f"no device {which!r}")

    def device(self, which: int | str) -> CliDevice:
        """A device by index or by the name of its recording."""
        return self.devices[self._index(which)]

    def port_of(self, which: int | str | CliDevice) -> int:
        return self.ports[self._index(which)]

    def address(self, which: int | str | CliDevice) -> str:
        return f"{self.host}:{self.port_of(which)}"

    def host_key_line(self) -> str:
        """``ssh-ed25519 AAAA...``: the public host key every device shows."""
        return " ".join(self.host_key.export_public_key("openssh").decode().split()[:2])

    def known_hosts_lines(self) -> list[str]:
        key = self.host_key_line()
        return [f"[{self.host}]:{port} {key}" for port in self.ports]

    def write_known_hosts(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in self.known_hosts_lines()))
        return path

    def netmiko_params(self, which: int | str | CliDevice, known_hosts: Path | None = None,
                       **extra: Any) -> dict[str, Any]:
        """ConnectHandler's arguments for one device: host-key checked against ``known_hosts`` if given."""
        device = self.device(self._index(which))
        params: dict[str, Any] = {"device_type": device.kind, "host": self.host, "port": self.port_of(which),
                                  "username": device.username, "password": device.password}
        if known_hosts is not None:
            params.update(ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                          alt_key_file=str(known_hosts))
        params.update(extra)
        return params


# --- A wedged daemon ------------------------------------------------------------------------------------------------

class SilentListener:
    """Accepts TCP connections on 127.0.0.1:``port`` and never sends a byte (nor closes them)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.host, self.port = self.sock.getsockname()
        self.accepted: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="SilentListener", daemon=True)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def start(self) -> SilentListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()

    def __enter__(self) -> SilentListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- A fleet from the command line, for the benchmarks ------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sshservers", description=(
        "Serve N recorded devices on loopback until killed; write their ports, credentials and known_hosts "
        "lines to a JSON file once they all listen."))
    parser.add_argument("--devices", type=int, default=1)
    recordings = ", ".join(f"{kind} -> {name}" for kind, name in RECORDING_OF_KIND.items())
    parser.add_argument("--kind", choices=[*KINDS, "mixed"], default="linux",
                        help=f"the kind of every device (its recording: {recordings}); mixed: the three in turn")
    parser.add_argument("--ports-file", type=Path, required=True)
    args = parser.parse_args(argv)
    kinds = list(KINDS) if args.kind == "mixed" else [args.kind]
    devices = [load_device(RECORDING_OF_KIND[kinds[i % len(kinds)]]) for i in range(args.devices)]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with CliServer(devices) as server:
        report = {"pid": os.getpid(), "host": server.host, "known_hosts": server.known_hosts_lines(),
                  "devices": [{"index": i, "port": port, "kind": d.kind, "recording": d.name,
                               "hostname": d.hostname, "username": d.username, "password": d.password}
                              for i, (d, port) in enumerate(zip(devices, server.ports, strict=True))]}
        partial = args.ports_file.with_name(args.ports_file.name + ".partial")
        partial.write_text(json.dumps(report, indent=1))
        partial.replace(args.ports_file)
        print(f"serving {len(devices)} devices on {server.host}, ports in {args.ports_file}", flush=True)
        while not stop.wait(1):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
