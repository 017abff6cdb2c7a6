"""Real servers for the tests, started on free loopback ports and stopped afterwards.

The README's test command installs them from Debian's packages; a missing server
fails the tests that need it (it is never a silent skip).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Self

import pytest


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    pytest.fail("PostgreSQL server binaries (pg_ctl, initdb) not found: run the README's test command, "
                "which installs Debian's postgresql package", pytrace=False)


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary directory, trust auth, on 127.0.0.1."""

    def __init__(self) -> None:
        self.bindir = _postgres_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="hotspotctl-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        # initdb and postgres refuse to run as root: run them as the postgres user.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stderr or result.stdout}")

    def start(self) -> PostgresServer:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "log"), "-w", "-t", "60", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """Debian's redis-server on a free loopback port, in its own temporary directory, no persistence (no RDB
    snapshots, no AOF): the cluster's broker and lock. ``halt`` stops it (Redis lost), ``start`` again brings
    it back on the same port, empty."""

    def __init__(self) -> None:
        found = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
        if found is None:
            pytest.fail("redis-server not found: run tests/install-servers.sh (Debian's redis-server package)",
                        pytrace=False)
        self.binary = found
        self.root = Path(tempfile.mkdtemp(prefix="hotspotctl-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = self.root / "log"
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
                   "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
                   "--logfile", str(log), "--unixsocket", ""]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                text = log.read_text(errors="replace") if log.exists() else ""
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {text[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.halt()
        raise RuntimeError(f"redis-server did not answer PING on port {self.port} within 30 s")

    def command(self, *args: str) -> Any:
        """One command through redis-py (the cluster extra), for tests that look at the keys."""
        import redis

        with redis.Redis.from_url(self.url, decode_responses=True) as client:
            return client.execute_command(*args)

    def flush(self) -> None:
        self.command("FLUSHALL")

    def halt(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        try:
            self.halt()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_agent(port: int, community: bytes, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Until the agent answers a GET of sysUpTime.0 (our codec, a raw socket), or fail with its log."""
    from hotspotctl.collectors.codec import GetTemplate, decode_response
    from hotspotctl.collectors.oids import SYS_UPTIME

    request = GetTemplate(community, [SYS_UPTIME]).encode(0x01020304)
    deadline = time.monotonic() + 60
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.25)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            sock.sendto(request, ("127.0.0.1", port))
            try:
                data = sock.recv(65535)
                if decode_response(data).request_id == 0x01020304:
                    return
            except OSError:
                continue
    process.kill()
    raise RuntimeError(f"{what} did not answer on 127.0.0.1:{port}: {log.read_text(errors='replace')[-2000:]}")


class _AgentProcess:
    """An SNMP agent we started: ``root`` is its scratch folder, ``process`` the running agent."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


class SnmpdServer(_AgentProcess):
    """net-snmp's snmpd on a free loopback port: v2c community and one SNMPv3 authPriv user."""

    COMMUNITY = "hotspot-test"
    V3_USER = "noc"
    V3_AUTH = ("sha256", "auth-pass-123")
    V3_PRIV = ("aes", "priv-pass-456")

    def __init__(self) -> None:
        self.binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
        if not Path(self.binary).exists():
            pytest.fail("snmpd not found: run the README's test command, which installs Debian's snmpd",
                        pytrace=False)
        self.root = Path(tempfile.mkdtemp(prefix="hotspotctl-snmpd-"))
        self.port = free_udp_port()
        self.extra_conf = ""  # more snmpd.conf lines (a write community, for the SET tests)

    def start(self) -> SnmpdServer:
        conf = self.root / "snmpd.conf"
        conf.write_text(
            f"agentaddress udp:127.0.0.1:{self.port}\n"
            f"rocommunity {self.COMMUNITY} 127.0.0.1\n"
            f'createUser {self.V3_USER} SHA-256 "{self.V3_AUTH[1]}" AES "{self.V3_PRIV[1]}"\n'
            f"rouser {self.V3_USER} priv\n"
            f'createUser {self.V3_USER}-md5-des MD5 "{self.V3_AUTH[1]}" DES "{self.V3_PRIV[1]}"\n'
            f"rouser {self.V3_USER}-md5-des priv\n" + self.extra_conf)
        log = self.root / "log"
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(self.root / "persist"), "MIBS": ""}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [self.binary, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(self.root / "pid")],
                stdout=out, stderr=subprocess.STDOUT, env=env)
        _wait_for_agent(self.port, self.COMMUNITY.encode(), self.process, log, "snmpd")
        return self

    def snmpget(self, *oids: str, v3: bool = False) -> dict[str, int | str]:
        """Ask with net-snmp's own snmpget: numeric OIDs -> values (numbers as int)."""
        auth = (["-v3", "-l", "authPriv", "-u", self.V3_USER, "-a", "SHA-256", "-A", self.V3_AUTH[1],
                 "-x", "AES", "-X", self.V3_PRIV[1]] if v3 else ["-v2c", "-c", self.COMMUNITY])
        result = subprocess.run(["snmpget", *auth, "-On", "-Oe", "-Ot", "-Oq", "-Ov", self.address, *oids],
                                capture_output=True, text=True, timeout=30, env={**os.environ, "MIBS": ""},
                                check=True)
        values = result.stdout.strip().splitlines()
        return {oid: int(v) if v.strip().lstrip("-").isdigit() else v.strip().strip('"')
                for oid, v in zip(oids, values, strict=True)}



class SnmpsimServer(_AgentProcess):
    """snmpsim serving every recording in tests/fixtures/devices; the community is the case name."""

    def __init__(self, cases: list[Path]) -> None:
        binary = Path(sys.executable).parent / "snmpsim-command-responder"
        found = str(binary) if binary.exists() else shutil.which("snmpsim-command-responder")
        if not found:
            pytest.fail("snmpsim-command-responder not found: pip install -e '.[test]'", pytrace=False)
        self.binary: str = found
        self.root = Path(tempfile.mkdtemp(prefix="hotspotctl-snmpsim-"))
        self.data = self.root / "data"
        self.data.mkdir()
        for case in cases:
            shutil.copy(case, self.data / case.name)
        self.port = free_udp_port()

    def start(self) -> SnmpsimServer:
        args = [self.binary, f"--data-dir={self.data}", f"--cache-dir={self.root / 'cache'}",
                f"--agent-udpv4-endpoint=127.0.0.1:{self.port}"]
        if os.geteuid() == 0:  # snmpsim refuses root unless told which user to run as
            args += ["--process-user=root", "--process-group=root"]
        log = self.root / "log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        # snmpsim indexes a recording the first time it is asked for it (seconds for the largest,
        # during which it answers nobody): ask for each one now, so the tests' timeouts hold.
        for recording in sorted(self.data.glob("*.snmprec")):
            _wait_for_agent(self.port, recording.stem.encode(), self.process, log, "snmpsim")
        return self



def _http_ready(url: str, process: subprocess.Popen[bytes], log: Path, what: str, timeout_s: float = 60) -> None:
    """Until GET url answers 2xx, or fail with the server's log."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if 200 <= answer.status < 300:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{what} did not come up at {url}: {log.read_text(errors='replace')[-2000:]}")


class _HttpServer:
    """A server process we started and can stop and start again on the same port and data."""

    root: Path
    port: int
    name: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready_url(self) -> str:
        raise NotImplementedError

    def start(self) -> Self:
        log = self.root / "log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(self._command(), stdout=out, stderr=subprocess.STDOUT)
        _http_ready(self._ready_url(), self.process, log, self.name)
        return self

    def halt(self) -> None:
        """Stop the process, keep the data (the fault tests start it again)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)


class InfluxServer(_HttpServer):
    """Debian's influxdb (1.x) on a free loopback port, data in a temporary folder, no auth.

    ``max_body_size``: [http] max-body-size, the request body (as sent, gzip'd or not) above which a write is
    answered 413 Request Entity Too Large."""

    name = "influxd"

    def __init__(self, *, max_body_size: int | None = None) -> None:
        self.binary = shutil.which("influxd") or "/usr/bin/influxd"
        if not Path(self.binary).exists():
            pytest.fail("influxd not found: run the README's test command, which installs Debian's influxdb",
                        pytrace=False)
        self.root = Path(tempfile.mkdtemp(prefix="hotspotctl-influx-"))
        self.port = free_port()
        self.rpc_port = free_port()
        conf = self.root / "influxdb.conf"
        conf.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{self.root}/meta"\n  logging-enabled = false\n'
            f'[data]\n  dir = "{self.root}/data"\n  wal-dir = "{self.root}/wal"\n  query-log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            "  unix-socket-enabled = false\n  pprof-enabled = false\n"
            + (f"  max-body-size = {max_body_size}\n" if max_body_size else "") +
            "[continuous_queries]\n  enabled = false\n"
            "[logging]\n  level = \"warn\"\n")
        self.conf = conf

    def _command(self) -> list[str]:
        return [self.binary, "-config", str(self.conf)]

    def _ready_url(self) -> str:
        return f"{self.url}/ping"

    def query(self, q: str, database: str | None = None, *, epoch: str = "s") -> list[dict]:
        """InfluxQL over /query: the statement's series as [{name, tags, columns, values}]."""
        import json
        import urllib.parse
        import urllib.request

        params = {"q": q, "epoch": epoch}
        if database:
            params["db"] = database
        request = urllib.request.Request(f"{self.url}/query", data=urllib.parse.urlencode(params).encode(),
                                         method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            result = json.load(answer)["results"][0]
        if "error" in result:
            raise RuntimeError(f"InfluxQL {q!r}: {result['error']}")
        return result.get("series", [])

    def write(self, database: str, lines: list[str]) -> None:
        """Line protocol (seconds) into ``database`` over /write, as hotspotctl's v1 sink writes it."""
        import urllib.request

        request = urllib.request.Request(f"{self.url}/write?db={database}&precision=s",
                                         data="\n".join(lines).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 204, answer.read()

    def count(self, measurement: str, field: str, database: str) -> int:
        series = self.query(f'SELECT count("{field}") FROM "{measurement}"', database)
        return int(series[0]["values"][0][1]) if series else 0


class VictoriaMetricsServer(_HttpServer):
    """Debian's victoria-metrics on a free loopback port; it takes InfluxDB's /api/v2/write."""

    name = "victoria-metrics"

    def __init__(self) -> None:
        self.binary = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
        if not Path(self.binary).exists():
            pytest.fail("victoria-metrics not found: run the README's test command, which installs Debian's "
                        "victoria-metrics", pytrace=False)
        self.root = Path(tempfile.mkdtemp(prefix="hotspotctl-vm-"))
        self.port = free_port()

    def _command(self) -> list[str]:
        return [self.binary, f"-storageDataPath={self.root / 'data'}", f"-httpListenAddr=127.0.0.1:{self.port}",
                "-retentionPeriod=100y", "-loggerLevel=ERROR", "-search.disableCache"]

    def _ready_url(self) -> str:
        return f"{self.url}/health"

    def export(self, match: str) -> list[dict]:
        """Raw samples through /api/v1/export: [{metric: {...}, values: [...], timestamps: [ms...]}]."""
        import json
        import urllib.parse
        import urllib.request

        urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=30).read()
        query = urllib.parse.urlencode({"match[]": match})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=30) as answer:
            return [json.loads(line) for line in answer.read().decode().splitlines() if line.strip()]


class ScriptedHttpServer:
    """An HTTP server in a thread on loopback: answers each POST with the next (status, headers, body) of
    ``script``, then with ``default``, or with what ``respond(request)`` returns when given; keeps every
    request (path, lower-cased headers, body, monotonic time)."""

    def __init__(self, *script: tuple[int, dict[str, str], bytes], default: tuple[int, dict[str, str], bytes] = (
            204, {}, b""), respond: Any = None) -> None:
        import http.server
        import threading

        self.script = list(script)
        self.default = default
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": body, "at": time.monotonic()}
                owner.requests.append(request)
                if respond is not None:
                    status, headers, answer = respond(request)
                else:
                    status, headers, answer = owner.script.pop(0) if owner.script else owner.default
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpServer:
    """aiosmtpd on a free loopback port that requires STARTTLS (a trustme CA's certificate for 127.0.0.1 and
    localhost; its PEM at ``ca_file``) and then AUTH LOGIN/PLAIN as USER/PASSWORD; keeps every message."""

    USER = "crews-bot"
    PASSWORD = "Sm7p-pa55word-never-shown"

    def __init__(self, directory: Path) -> None:
        import ssl

        import trustme
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = directory / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.messages: list[dict[str, Any]] = []  # {"mail_from", "rcpt_tos", "message": EmailMessage, "raw"}
        self.logins: list[tuple[str, bool]] = []  # (user, accepted)
        owner = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import email
                import email.policy

                raw = envelope.original_content or envelope.content
                owner.messages.append({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                                       "raw": raw, "tls": session.ssl is not None,
                                       "message": email.message_from_bytes(raw, policy=email.policy.default)})
                return "250 OK"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = (isinstance(data, LoginPassword) and data.login == owner.USER.encode()
                  and data.password == owner.PASSWORD.encode())
            owner.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "?", ok))
            return AuthResult(success=ok, handled=False)

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, auth_required=True, auth_require_tls=True,
                                     authenticator=authenticate)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


class Open311Server:
    """A GeoReport v2 endpoint in a thread on loopback: POST {url}/requests.json, form-encoded.

    Every request is checked field by field: only GeoReport v2 fields, each once; api_key, service_code and
    jurisdiction_id (absent when ``jurisdiction_id`` is empty) as configured; lat and long floats in range with
    6 decimals and equal to one of ``places`` (a (lat, long) text pair -> the attribute[CODE] values that stop
    must carry, exactly); address_string present; description present and at most 4,000 characters. A
    request that fails a check is answered 400 [{"code": 400, "description": ...}] and kept in ``problems``.
    Otherwise it answers the next (status, body) of ``script``, then 201 [{"service_request_id": "<n>", ...}]
    (or [{"token": "tok-<n>"}] with ``token_only``). ``port`` lets a test start it where a stopped one was."""

    FIELDS = frozenset({"api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string", "address_id",
                        "email", "device_id", "account_id", "first_name", "last_name", "phone", "description",
                        "media_url"})

    def __init__(self, *, api_key: str, service_code: str, jurisdiction_id: str = "",
                 places: dict[tuple[str, str], dict[str, str]] | None = None,
                 script: list[tuple[int, bytes]] | None = None, token_only: bool = False, port: int | None = None,
                 path: str = "/georeport/v2", delay_s: float = 0.0) -> None:
        self.api_key, self.service_code, self.jurisdiction_id = api_key, service_code, jurisdiction_id
        self.delay_s = delay_s  # wait this long before answering each request: a slow endpoint
        self.places = places or {}
        self.script = list(script or [])
        self.token_only = token_only
        self.port = port or free_port()
        self.path = path
        self.requests: list[dict[str, str]] = []  # every form received, as field -> value
        self.filed: list[dict[str, str]] = []  # the forms answered with a new service request
        self.problems: list[str] = []
        self.server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def check(self, path: str, content_type: str, body: bytes) -> tuple[dict[str, str], str | None]:
        from urllib.parse import parse_qs

        if path != f"{self.path}/requests.json":
            return {}, f"POST to {path}, not {self.path}/requests.json"
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return {}, f"content type {content_type!r} is not form-encoded"
        try:
            parsed = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            return {}, f"not a form: {exc}"
        form = {key: values[-1] for key, values in parsed.items()}
        repeated = [key for key, values in parsed.items() if len(values) != 1]
        unknown = [key for key in parsed if key not in self.FIELDS
                   and not (key.startswith("attribute[") and key.endswith("]") and len(key) > 11)]
        if repeated or unknown:
            return form, f"fields repeated {repeated} or not GeoReport v2 {unknown}"
        if form.get("api_key") != self.api_key:
            return form, "api_key is not the configured one"
        if form.get("service_code") != self.service_code:
            return form, f"service_code {form.get('service_code')!r} is not {self.service_code!r}"
        if form.get("jurisdiction_id", "") != self.jurisdiction_id or (
                not self.jurisdiction_id and "jurisdiction_id" in form):
            return form, f"jurisdiction_id {form.get('jurisdiction_id')!r} is not {self.jurisdiction_id!r}"
        try:
            lat, lon = float(form["lat"]), float(form["long"])
        except (KeyError, ValueError):
            return form, "lat and long must be numbers"
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return form, f"lat/long {lat}, {lon} out of range"
        if any(len(form[key].partition(".")[2]) != 6 for key in ("lat", "long")):
            return form, "lat and long must have 6 decimals"
        if not form.get("address_string", "").strip():
            return form, "address_string missing"
        if not form.get("description", "").strip() or len(form["description"]) > 4000:
            return form, f"description missing or longer than 4000 characters ({len(form.get('description', ''))})"
        place = self.places.get((form["lat"], form["long"]))
        if place is None:
            return form, f"no stop at {form['lat']}, {form['long']}"
        attributes = {key: value for key, value in form.items() if key.startswith("attribute[")}
        if attributes != place:
            return form, f"attributes {attributes} are not {place}"
        return form, None

    def start(self) -> Open311Server:
        import http.server
        import json
        import threading

        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if owner.delay_s:
                    time.sleep(owner.delay_s)
                form, problem = owner.check(self.path, self.headers.get("Content-Type", ""), body)
                owner.requests.append(form)
                if problem:
                    owner.problems.append(problem)
                    status, answer = 400, json.dumps([{"code": 400, "description": problem}]).encode()
                elif owner.script:
                    status, answer = owner.script.pop(0)
                else:
                    owner.filed.append(form)
                    n = len(owner.filed)
                    item = {"token": f"tok-{n}"} if owner.token_only else {
                        "service_request_id": str(1000 + n), "service_notice": "Reporte recibido"}
                    status, answer = 201, json.dumps([item]).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
