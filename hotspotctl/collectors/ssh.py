"""Polling and acting on APs over SSH: netmiko sessions in a bounded thread pool, off the event loop.

netmiko is blocking, so each session runs in a worker thread (``ssh.pool_size`` at once) and the
asyncio side only awaits its result. Every session has one deadline (``ssh.deadline_s``) from its
first byte to its last: netmiko's own timeouts are set from what is left of it, and a watchdog
thread shuts down the socket of any session still running past it, which unblocks whatever read
it was stuck in. A slow or hung AP therefore costs its worker at most the deadline, and comes
back as a PollError like any other failure.

Host keys are checked against one known_hosts file, read once: an unknown key is refused unless
``ssh.accept_new_host_keys`` is set (then it is recorded), and a changed key is always refused.

A poll produces the same Sample as SNMP (uptime in seconds as ``engine_time``, the uplink's
octets, its speed, the clients), so rates, the per-user figure, outages and dashboards need no
special case. netmiko and paramiko are imported here only.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hotspotctl.collectors.address import split_address
from hotspotctl.collectors.auth import SshCredentials, resolve_ssh
from hotspotctl.collectors.cliparse import ParseError, Reading, excerpt, integer, mbps, seconds
from hotspotctl.collectors.clock import monotonic_clock
from hotspotctl.collectors.model import PollError, PollResult, Sample
from hotspotctl.collectors.profiles import Profile, ProfileSet
from hotspotctl.errors import CollectError, ConfigError, PollErrorKind
from hotspotctl.settings import SshSettings

DEFAULT_SSH_AUTH = "default"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SshTarget:
    """An AP as an SSH session sees it."""

    ap: str
    address: str | None  # host or host:port (the port is SSH's; else the auth set's)
    auth: str  # the [ssh.auth.NAME] set
    profile: str | None  # must name a profile with an ssh section


@dataclass(frozen=True, slots=True)
class CommandResult:
    """One AP's answer to an action: its output, and why it failed (kind "command": the AP ran it and said no)."""

    ap: str
    ok: bool
    output: str
    duration_s: float
    kind: str | None = None  # the failure's kind: a PollErrorKind, or "skipped" for an action not run
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"ap": self.ap, "ok": self.ok, "output": self.output, "duration_s": round(self.duration_s, 3),
                "error_kind": self.kind, "error": self.error}


# -- host keys ----------------------------------------------------------------------------------


class KnownHosts:
    """One known_hosts file for every session: read once, checked under a lock, appended to when allowed."""

    def __init__(self, path: Path, *, accept_new: bool) -> None:
        import paramiko

        self.path = path
        self.accept_new = accept_new
        self._lock = threading.Lock()
        self._keys = paramiko.HostKeys()
        if path.is_file():
            try:
                self._keys.load(str(path))
            except (OSError, paramiko.SSHException) as exc:
                raise ConfigError(f"{path}: cannot read the known_hosts file: {exc}") from None

    def check(self, hostname: str, key: Any) -> None:
        """Accept the key ``hostname`` offered, or raise CollectError(kind="hostkey") saying what to do."""
        offered = f"{key.get_name()} {key.fingerprint}"
        with self._lock:
            known = self._keys.lookup(hostname)
            if known is not None and key.get_name() in known:
                if known[key.get_name()] == key:
                    return
                raise CollectError(
                    f"the host key of {hostname} CHANGED (offered {offered}, {self.path} has another): "
                    f"someone may be in the middle, or the AP was replaced; once you are sure, remove the old "
                    f"key with `ssh-keygen -R '{hostname}' -f {self.path}`", kind=PollErrorKind.HOSTKEY)
            if not self.accept_new:
                host, _, port = hostname.strip("[").partition("]:")
                scan = f"ssh-keyscan -p {port} {host}" if port else f"ssh-keyscan {host}"
                raise CollectError(
                    f"unknown host key for {hostname} ({offered}), not in {self.path}: check it and add it with "
                    f"`{scan} >> {self.path}`, or set ssh.accept_new_host_keys = true to trust first-seen keys",
                    kind=PollErrorKind.HOSTKEY)
            self._keys.add(hostname, key.get_name(), key)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="ascii") as fh:
                fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


def _quiet_paramiko() -> None:
    """paramiko logs each failed handshake with a traceback from its own thread; the PollError says it once."""
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)


def _host_key_policy(known: KnownHosts) -> Any:
    import paramiko

    class Policy(paramiko.MissingHostKeyPolicy):
        # The client is given no keys of its own, so paramiko asks this policy about every key.
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            known.check(hostname, key)

    return Policy()


# -- deadlines ----------------------------------------------------------------------------------


class _Watchdog:
    """One thread that shuts down the socket of every session still running past its deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Session]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def watch(self, session: _Session) -> None:
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hotspotctl-ssh-watchdog", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (session.deadline_at, next(self._order), session))
            self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while not self._closed:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, session = heapq.heappop(self._heap)
                    session.abort()
                timeout = self._heap[0][0] - now if self._heap else None
                self._wake.wait(timeout)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._heap.clear()
            self._wake.notify()


# -- one session --------------------------------------------------------------------------------


class _Session:
    """One login to one AP: connect, run commands, close; every step within the deadline."""

    def __init__(self, target: SshTarget, profile: Profile, credentials: SshCredentials, known: KnownHosts,
                 settings: SshSettings) -> None:
        assert profile.ssh is not None
        self.target = target
        self.profile = profile
        self.ssh = profile.ssh
        self.credentials = credentials
        self.known = known
        self.settings = settings
        self.deadline_s = settings.deadline_s
        self.deadline_at = time.monotonic() + settings.deadline_s
        self.stage = "waiting"
        self.aborted = False
        self.finished = False
        self._sock: socket.socket | None = None
        self._conn: Any = None
        self._prompt: str | None = None
        self._lock = threading.Lock()
        try:
            self.host, self.port = split_address(target.address or "", credentials.port)
        except ValueError as exc:
            raise CollectError(f"bad mgmt_address {exc}", kind=PollErrorKind.NO_ADDRESS) from None

    def left(self) -> float:
        return max(self.deadline_at - time.monotonic(), 0.05)

    def abort(self) -> None:
        """Past the deadline (the watchdog's thread): unblock whatever the session waits on."""
        with self._lock:
            if self.finished:
                return
            self.aborted = True
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to unblock
                sock.shutdown(socket.SHUT_RDWR)

    def open(self) -> None:
        from netmiko import ConnectHandler

        self.stage = f"connecting to {self.host}:{self.port}"
        sock = socket.create_connection((self.host, self.port),
                                        timeout=min(self.settings.connect_timeout_s, self.left()))
        with self._lock:
            self._sock = sock
            if self.aborted:
                sock.close()
                raise TimeoutError("deadline")
        sock.settimeout(None)
        self.stage = "logging in"
        c = self.credentials
        left = self.left()
        self._conn = ConnectHandler(
            device_type=self.ssh.device_type, host=self.host, port=self.port, username=c.username,
            password=c.password or None, key_file=c.key_file or None, use_keys=bool(c.key_file),
            passphrase=c.passphrase or None, allow_agent=False, sock=sock, ssh_strict=True,
            system_host_keys=False, alt_host_keys=False, conn_timeout=min(self.settings.connect_timeout_s, left),
            banner_timeout=left, auth_timeout=left, read_timeout_override=left, fast_cli=True, auto_connect=False)
        # netmiko builds its paramiko client from key_policy when it connects: ours checks known_hosts.
        self._conn.key_policy = _host_key_policy(self.known)
        self._conn._open()  # netmiko's connect-and-prepare step, which auto_connect=False leaves to us

    def send(self, command: str) -> str:
        """Run a command and return its output; netmiko looks for the prompt again first (it may change)."""
        self.stage = f"running `{command}`"
        self._conn.read_timeout_override = self.left()
        return str(self._conn.send_command(command, read_timeout=self.left()))

    def read(self, command: str) -> str:
        """Run one of the profile's own commands, which leave the prompt as it is: the prompt found once after
        login is what ends the output (netmiko's fresh look for it before each command costs ~50 ms)."""
        if self._prompt is None:
            self.stage = "finding the prompt"
            self._prompt = re.escape(str(self._conn.find_prompt()))
        self.stage = f"running `{command}`"
        self._conn.read_timeout_override = self.left()
        return str(self._conn.send_command(command, read_timeout=self.left(), expect_string=self._prompt,
                                           auto_find_prompt=False))

    def send_timing(self, command: str) -> str:
        """Send a line and return what came back once the device went quiet (for questions, not prompts)."""
        self.stage = f"running `{command}`" if command else "answering"
        self._conn.read_timeout_override = self.left()
        return str(self._conn.send_command_timing(command, last_read=0.5, read_timeout=self.left(),
                                                  strip_prompt=False, strip_command=False))

    def wait_closed(self) -> bool:
        """Whether the AP ends the session (as a reboot does) before the deadline draws near."""
        self.stage = "waiting for the AP to drop the session"
        channel = self._conn.remote_conn
        while self.left() > 0.5:
            transport = channel.get_transport()
            if channel.closed or channel.eof_received or transport is None or not transport.is_active():
                return True
            if channel.recv_ready():
                channel.recv(1 << 16)
            time.sleep(0.1)
        return False

    def close(self) -> None:
        with self._lock:
            self.finished = True
        if self._conn is not None:
            self._conn.disconnect()  # netmiko's own: it never raises, and drops its secrets filter from the log
            self._conn = None  # the watchdog keeps the session until its deadline: not the connection with it
        if self._sock is not None:
            self._sock.close()


log = logging.getLogger(__name__)


def _failure(exc: BaseException, session: _Session | None, target: SshTarget) -> CollectError:
    """The CollectError an exception from a session means, with what was going on when it happened."""
    from netmiko import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout
    from paramiko import SSHException

    if isinstance(exc, CollectError):
        return exc
    where = f"{session.host}:{session.port}" if session else target.address
    stage = session.stage if session else "starting"
    if session is not None and session.aborted:
        return CollectError(f"{where}: no answer within the {session.deadline_s:g} s deadline (ssh.deadline_s) "
                            f"while {stage}", kind=PollErrorKind.TIMEOUT)
    if isinstance(exc, ConnectionRefusedError):
        return CollectError(f"{where}: connection refused: is SSH enabled on the AP, on this port?",
                            kind=PollErrorKind.REFUSED)
    if isinstance(exc, NetmikoAuthenticationException):
        user = session.credentials.username if session else "?"
        name = session.credentials.name if session else target.auth
        return CollectError(f"{user}@{where}: authentication failed with ssh.auth.{name}: check its username and "
                            "password (or key_file)", kind=PollErrorKind.AUTH)
    if isinstance(exc, (TimeoutError, socket.timeout, NetmikoTimeoutException, ReadTimeout)):
        return CollectError(f"{where}: timed out while {stage}", kind=PollErrorKind.TIMEOUT)
    if isinstance(exc, ParseError):
        return CollectError(f"{where}: {exc}", kind=PollErrorKind.PROTOCOL)
    if isinstance(exc, SSHException) and "banner" in str(exc).lower():
        return CollectError(f"{where}: no SSH banner while {stage}: the port answers but is not an SSH server "
                            "that works", kind=PollErrorKind.TIMEOUT)
    if isinstance(exc, (OSError, EOFError, SSHException)):
        return CollectError(f"{where}: the connection failed while {stage}: {exc or type(exc).__name__}",
                            kind=PollErrorKind.PROTOCOL)
    if isinstance(exc, ValueError):  # netmiko's "Pattern not detected", "Failed to enter ..." and such
        return CollectError(f"{where}: unexpected answer while {stage}: {excerpt(str(exc))}",
                            kind=PollErrorKind.PROTOCOL)
    # Anything else is a bug (ours or netmiko's): the AP still gets its outcome, the cycle goes on, the log has it.
    log.error("AP %s: %s while %s", target.ap, type(exc).__name__, stage, exc_info=exc)
    return CollectError(f"{where}: internal error ({type(exc).__name__}: {excerpt(str(exc))}) while {stage}; "
                        "see the log", kind=PollErrorKind.PROTOCOL)


# -- the collector ------------------------------------------------------------------------------


def fill(command: str, **values: str) -> str:
    """The command with {uplink} / {radio} replaced (and nothing else: RouterOS scripts use braces)."""
    return re.sub(r"\{(uplink|radio)\}", lambda m: values[m.group(1)], command)


class SshCollector:
    """SSH sessions to many APs at once, ``ssh.pool_size`` at a time; use as a context manager."""

    def __init__(self, settings: SshSettings, profiles: ProfileSet, known_hosts: Path, *,
                 env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.profiles = profiles
        self.env = env
        self.known_hosts_path = known_hosts
        self._known: KnownHosts | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._watchdog = _Watchdog()
        self._credentials: dict[str, SshCredentials] = {}
        self._lock = threading.Lock()
        _quiet_paramiko()

    def __enter__(self) -> SshCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._watchdog.close()

    @property
    def known(self) -> KnownHosts:
        with self._lock:
            if self._known is None:
                self._known = KnownHosts(self.known_hosts_path, accept_new=self.settings.accept_new_host_keys)
            return self._known

    def profile_for(self, target: SshTarget) -> Profile:
        if not target.profile:
            raise ConfigError(f"AP {target.ap}: the ssh collector needs a profile with an ssh section in the "
                              f"inventory's profile column ({', '.join(self.ssh_profiles())})")
        profile = self.profiles.get(target.profile)
        if profile.ssh is None:
            raise ConfigError(f"AP {target.ap}: profile {profile.name} has no ssh section; profiles that have "
                              f"one: {', '.join(self.ssh_profiles())}")
        return profile

    def ssh_profiles(self) -> list[str]:
        return [p.name for p in self.profiles if p.ssh is not None]

    def credentials(self, name: str) -> SshCredentials:
        with self._lock:
            if name not in self._credentials:
                self._credentials[name] = resolve_ssh(name, self.settings.auth, self.env)
            return self._credentials[name]

    # -- running sessions ------------------------------------------------------------------

    def session(self, target: SshTarget, work: Callable[[_Session], T]) -> T:
        """Log in to ``target``, run ``work`` on the session, close it: in the calling thread.

        Raises CollectError (kind timeout, refused, auth, hostkey, protocol, no_address) or ConfigError.
        """
        if not target.address:
            raise CollectError("no mgmt_address in the inventory", kind=PollErrorKind.NO_ADDRESS)
        profile = self.profile_for(target)
        session = _Session(target, profile, self.credentials(target.auth or DEFAULT_SSH_AUTH), self.known,
                           self.settings)
        self._watchdog.watch(session)
        try:
            session.open()
            return work(session)
        except Exception as exc:
            raise _failure(exc, session, target) from None
        finally:
            session.close()

    async def _each(self, targets: Sequence[SshTarget], one: Callable[[SshTarget], T],
                    progress: Callable[[int], None] | None) -> list[T]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.settings.pool_size, thread_name_prefix="hotspotctl-ssh")
        loop = asyncio.get_running_loop()

        async def run(target: SshTarget) -> T:
            try:
                return await loop.run_in_executor(self._pool, one, target)
            finally:
                if progress is not None:
                    progress(1)

        return list(await asyncio.gather(*(run(t) for t in targets)))

    async def poll(self, targets: Sequence[SshTarget], *,
                   progress: Callable[[int], None] | None = None) -> list[PollResult]:
        """One Sample or PollError per target, in order."""
        return await self._each(targets, self.poll_one, progress)

    def poll_one(self, target: SshTarget) -> PollResult:
        started = time.monotonic()
        try:
            return self.session(target, lambda s: _read_sample(s, started))
        except CollectError as exc:
            return PollError(target.ap, time.time(), exc.kind, str(exc))
        except ConfigError as exc:
            return PollError(target.ap, time.time(), PollErrorKind.CONFIG, str(exc))

    async def run(self, targets: Sequence[SshTarget], command: str | None, *,
                  progress: Callable[[int], None] | None = None) -> list[CommandResult]:
        """Run ``command`` on each target (None: the profile's reboot), at most pool_size at once."""
        return await self._each(targets, lambda t: self.run_one(t, command), progress)

    def run_one(self, target: SshTarget, command: str | None) -> CommandResult:
        started = time.monotonic()
        try:
            if command is None:
                output, refused = self.session(target, _reboot), None
            else:  # the session's own profile says what a refusal looks like
                output, refused = self.session(target, lambda s: _refused(s, s.send(command)))
            if refused is not None:
                return CommandResult(target.ap, False, output, time.monotonic() - started, PollErrorKind.COMMAND,
                                     f"the AP refused or failed the command: {refused}")
            return CommandResult(target.ap, True, output, time.monotonic() - started)
        except CollectError as exc:
            return CommandResult(target.ap, False, "", time.monotonic() - started, exc.kind, str(exc))
        except ConfigError as exc:
            return CommandResult(target.ap, False, "", time.monotonic() - started, PollErrorKind.CONFIG, str(exc))


def _read(session: _Session, reading: Reading, **values: str) -> str:
    command = fill(reading.command, **values)
    output = session.read(command)
    try:
        return reading.value(output)
    except ParseError as exc:
        raise ParseError(f"`{command}`: {exc}") from None


def _read_sample(session: _Session, started: float) -> Sample:
    """Uptime, the interfaces' octets, the uplink's speed and the clients, as one Sample."""
    ssh, profile = session.ssh, session.profile
    uptime = None
    if ssh.uptime is not None:
        uptime = int(seconds(_read(session, ssh.uptime)))
    command = ssh.interfaces.command
    output = session.read(command)
    at, mono = time.time(), time.monotonic()  # the counters' moment: the point's time, the rates' interval
    rows = ssh.interfaces.rows(output)
    if not rows:
        raise ParseError(f"`{command}`: no interface in its output: {excerpt(output)!r}")
    interfaces = {row["name"]: row for row in rows if "name" in row}
    ranked = sorted((rank, name) for name in interfaces
                    if (rank := profile.uplink.rank(None, name, by_name=True)) is not None)
    uplink = interfaces[ranked[0][1]] if ranked else None
    radios = sorted(name for name in interfaces if profile.radio_interfaces.names
                    and profile.radio_interfaces.rank(None, name, by_name=True) is not None)
    in_octets = out_octets = None
    link = None
    if uplink is not None:
        try:
            in_octets, out_octets = integer(uplink["in_octets"]), integer(uplink["out_octets"])
        except (KeyError, ParseError) as exc:
            raise ParseError(f"`{command}`: {uplink.get('name')}: {exc}") from None
        if ssh.link_speed is not None:
            try:
                link = mbps(_read(session, ssh.link_speed, uplink=uplink["name"]))
            except ParseError:
                link = None  # a virtual or unplugged link has no speed (Linux: "Invalid argument"), as over SNMP
    clients = None
    if ssh.clients is not None:
        if "radio" in ssh.clients.placeholders():
            clients = sum(integer(_read(session, ssh.clients, radio=r)) for r in radios) if radios else None
        else:
            clients = integer(_read(session, ssh.clients))
    return Sample(ap=session.target.ap, at=at, rtt_ms=(time.monotonic() - started) * 1000.0, engine_time=uptime,
                  in_octets=in_octets, out_octets=out_octets, counter_bits=ssh.counter_bits, link_mbps=link,
                  oper_up=None, clients=clients, mono=mono, clock=monotonic_clock(),
                  uplink=None if uplink is None else uplink["name"])


def _reboot(session: _Session) -> str:
    """The profile's reboot command, answering its questions. Success is the AP dropping the session, as
    a reboot does; one that stays (a question unanswered, "action cancelled") is a failure."""
    ssh = session.ssh
    if not ssh.reboot:
        raise ConfigError(f"profile {session.profile.name} has no ssh.reboot command")
    transcript = ""
    try:
        transcript = session.send_timing(ssh.reboot)
        for confirm in ssh.reboot_confirm:
            if confirm.expect.search(transcript):
                transcript += session.send_timing(confirm.answer)
        closed = session.wait_closed()
    except (OSError, EOFError):
        if session.aborted:
            raise
        closed = True
    if not closed:
        raise CollectError(f"{session.host}:{session.port}: the AP did not go down after `{ssh.reboot}`: it kept "
                           f"the session open; it said {excerpt(transcript)!r}", kind=PollErrorKind.PROTOCOL)
    return transcript.rstrip() + "\n(the AP closed the session, as a reboot does)"


def _refused(session: _Session, output: str) -> tuple[str, str | None]:
    """The output, and the line where the device says it refused or failed the command (ssh.errors), or None."""
    for pattern in session.ssh.errors:
        match = pattern.search(output)
        if match:
            start = output.rfind("\n", 0, match.start()) + 1
            end = output.find("\n", match.end())
            return output, output[start:end if end >= 0 else len(output)].strip()
    return output, None
