"""USM for the simulator, against real managers: our pysnmp client and net-snmp's snmpget/snmpwalk.

A UDP responder thread answers a three-object table through UsmAgent, as the simulator will; the
managers must read back exact values over every auth and priv protocol, and get the right usmStats
Report when something is wrong.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.type import univ
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.proto.secmod.rfc3414.auth.hmacmd5 import HmacMd5

from hotspotctl.collectors.auth import Credentials
from hotspotctl.collectors.codec import (
    COUNTER32,
    COUNTER64,
    END_OF_MIB_VIEW_TAG,
    ERROR_STATUS_NAMES,
    GET,
    GET_BULK,
    GET_NEXT,
    NO_SUCH_INSTANCE_TAG,
    NULL,
    OCTET_STRING,
    REPORT,
    RESPONSE,
    TIME_TICKS,
    TOO_BIG,
    _int_contents,
    _tlv,
    decode_response,
    encode_response,
    error_status_name,
)
from hotspotctl.collectors.engine import GetFailure, GetRequest, GetShape, SnmpGetEngine
from hotspotctl.collectors.model import END_OF_MIB_VIEW, NO_SUCH_INSTANCE
from hotspotctl.collectors.oids import decode_oid, parse_oid
from hotspotctl.collectors.snmp import SnmpClient
from hotspotctl.collectors.walker import WalkerClient
from hotspotctl.errors import CollectError
from hotspotctl.simulate.usm import AUTH_PRIV, Incoming, UsmAgent, UsmUser, localize_key, password_to_key
from tests.scripted_agent import COMMUNITY, ScriptedAgent

ENGINE_ID = bytes.fromhex("80001f8804") + b"hotspotctl" + (42).to_bytes(4, "big")
BOOTS = 7
SYS_DESCR = parse_oid("1.3.6.1.2.1.1.1.0")
SYS_UPTIME = parse_oid("1.3.6.1.2.1.1.3.0")
IF_HC_IN = parse_oid("1.3.6.1.2.1.31.1.1.1.6.1")
TABLE = sorted([(SYS_DESCR, OCTET_STRING, b"hotspotctl simulated AP, firmware 6.6.55"),
                (SYS_UPTIME, TIME_TICKS, 123456),
                (IF_HC_IN, COUNTER64, (1 << 40) + 7),
                (parse_oid("1.3.6.1.2.1.31.1.1.1.6.2"), COUNTER64, (1 << 63) + 11)])
EXPECTED = {oid: value for oid, _, value in TABLE}

# (user, auth, priv): one per auth protocol with AES, one per priv protocol with SHA-256, the
# extension cases where AES-192/256 keys are longer than the auth hash, and the two lower levels.
COMBOS = [(f"{auth}-aes", auth, "aes") for auth in ("md5", "sha", "sha224", "sha256", "sha384", "sha512")] + [
    ("sha256-des", "sha256", "des"), ("sha256-aes192", "sha256", "aes192"), ("sha256-aes256", "sha256", "aes256"),
    ("md5-des", "md5", "des"), ("md5-aes192", "md5", "aes192"), ("sha-aes256", "sha", "aes256"),
    ("sha224-aes256", "sha224", "aes256"), ("sha256-auth", "sha256", None), ("public-noauth", None, None),
]


def _passwords(user: str) -> tuple[str, str]:
    return f"auth-{user}-secret", f"priv-{user}-secret"


def _users() -> list[UsmUser]:
    users = []
    for name, auth, priv in COMBOS:
        auth_pw, priv_pw = _passwords(name)
        users.append(UsmUser(name.encode(), auth, auth_pw.encode() if auth else None, priv,
                             priv_pw.encode() if priv else None))
    return users


# --- a trivial PDU handler and the responder ------------------------------------------------


def _answer(pdu: bytes) -> bytes:
    """The Response PDU for a GET/GETNEXT/GETBULK over TABLE (wrapped in v2c to reuse the codec)."""
    request = decode_response(_tlv(0x30, b"\x02\x01\x01\x04\x00" + pdu))
    oids = [decode_oid(oid) for oid, _, _ in request.varbinds]
    out = []

    def following(oid):
        for row in TABLE:
            if row[0] > oid:
                return row
        return (oid, END_OF_MIB_VIEW_TAG, END_OF_MIB_VIEW)

    if request.pdu_type == GET:
        for oid in oids:
            row = next((r for r in TABLE if r[0] == oid), None)
            out.append(row or (oid, NO_SUCH_INSTANCE_TAG, NO_SUCH_INSTANCE))
    elif request.pdu_type == GET_NEXT:
        out = [following(oid) for oid in oids]
    elif request.pdu_type == GET_BULK:
        non_repeaters, repetitions = max(request.error_status, 0), max(request.error_index, 0)
        out = [following(oid) for oid in oids[:non_repeaters]]
        cursors = oids[non_repeaters:]
        for _ in range(min(repetitions, 50)):
            rows = [following(oid) for oid in cursors]
            out.extend(rows)
            cursors = [row[0] for row in rows]
            if all(row[1] == END_OF_MIB_VIEW_TAG for row in rows):
                break
    return _pdu_of(encode_response(b"", request.request_id, out, pdu_type=RESPONSE))


def _pdu_of(message: bytes) -> bytes:
    """The PDU of a v2c message with an empty community."""
    start = 2 + (message[1] & 0x7F if message[1] & 0x80 else 0)
    return message[start + 5:]  # past the version and the empty community


def _refusal(status: int) -> Callable[[bytes], bytes]:
    """A handler answering every request with ``status`` at error-index 1, its varbinds echoed."""

    def answer(pdu: bytes) -> bytes:
        request = decode_response(_tlv(0x30, b"\x02\x01\x01\x04\x00" + pdu))
        varbinds = [(decode_oid(oid), NULL, None) for oid, _, _ in request.varbinds]
        return _pdu_of(encode_response(b"", request.request_id, varbinds, error_status=status, error_index=1))

    return answer


class Responder:
    """One simulated v3 AP on a loopback port: UsmAgent plus the table above."""

    def __init__(self, agent: UsmAgent, answer: Callable[[bytes], bytes] = _answer) -> None:
        self.agent = agent
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.started = time.monotonic() - 1000  # "booted" 1000 s ago
        self.results: list[Incoming | bytes | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def engine_time(self) -> int:
        return int(time.monotonic() - self.started)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                datagram, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            now = self.engine_time()
            result = self.agent.unwrap(datagram, ENGINE_ID, BOOTS, now)
            self.results.append(result)
            if isinstance(result, Incoming):
                result = self.agent.wrap(result, self.answer(result.pdu), ENGINE_ID, BOOTS, now)
            if result is not None:
                self.sock.sendto(result, peer)

    def __enter__(self) -> Responder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def responder() -> Iterator[Responder]:
    with Responder(UsmAgent(_users())) as running:
        yield running


# --- pysnmp, through our own client ----------------------------------------------------------


def _credentials(user: str, auth: str | None, priv: str | None, *, auth_password: str | None = None) -> Credentials:
    auth_pw, priv_pw = _passwords(user)
    return Credentials(f"test-{user}-{auth_password or ''}", "3", user=user, auth_protocol=auth or "",
                       auth_password=(auth_password or auth_pw) if auth else "", priv_protocol=priv or "",
                       priv_password=priv_pw if priv else "")


def _pysnmp(responder: Responder, credentials: Credentials, walk_prefix=None, oids=(SYS_DESCR, SYS_UPTIME, IF_HC_IN)):
    async def go():
        client = SnmpClient()
        try:
            device = client.device("127.0.0.1", responder.port, credentials, timeout=1.0, retries=1)
            got = await device.get(list(oids))
            walked = await device.walk(walk_prefix) if walk_prefix else None
            return got, walked
        finally:
            client.close()

    return asyncio.run(go())


@pytest.mark.parametrize("user, auth, priv", COMBOS, ids=[c[0] for c in COMBOS])
def test_pysnmp_gets_and_walks_exact_values(responder, user, auth, priv):
    got, walked = _pysnmp(responder, _credentials(user, auth, priv), walk_prefix=parse_oid("1.3.6.1.2.1.31.1.1.1.6"))
    assert got == {SYS_DESCR: EXPECTED[SYS_DESCR], SYS_UPTIME: 123456, IF_HC_IN: (1 << 40) + 7}
    assert walked == [(oid, value) for oid, value in EXPECTED.items() if oid[:-1] == (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)]


def test_a_whole_table_walk_ends_at_end_of_mib_view(responder):
    _, walked = _pysnmp(responder, _credentials("sha256-aes", "sha256", "aes"), walk_prefix=(1, 3))
    assert walked == list(EXPECTED.items())


def test_a_wrong_auth_password_is_an_auth_failure(responder):
    before = responder.agent.stats.wrong_digests
    with pytest.raises(CollectError) as failed:
        _pysnmp(responder, _credentials("sha256-aes", "sha256", "aes", auth_password="not-the-password"))
    assert failed.value.kind == "auth"
    assert responder.agent.stats.wrong_digests > before


def test_an_unknown_user_is_an_auth_failure(responder):
    before = responder.agent.stats.unknown_user_names
    with pytest.raises(CollectError) as failed:
        _pysnmp(responder, Credentials("nobody", "3", user="nobody", auth_protocol="sha", auth_password="whatever-pw",
                                       priv_protocol="aes", priv_password="whatever-pw"))
    assert failed.value.kind == "auth"
    assert responder.agent.stats.unknown_user_names > before


def test_a_lower_level_than_the_users_is_refused(responder):
    before = responder.agent.stats.unsupported_sec_levels
    with pytest.raises(CollectError) as failed:
        _pysnmp(responder, _credentials("sha256-aes", "sha256", None))
    assert failed.value.kind == "auth"
    assert responder.agent.stats.unsupported_sec_levels > before


ANSWERED = re.compile(r"answered (.+?) \(error-status (\d+)")
IF_HC_IN_COLUMN = IF_HC_IN[:-1]


@pytest.mark.parametrize("status", [*range(1, 19), 42])
def test_v3_and_v2c_name_an_error_status_alike(status: int) -> None:
    """One table of RFC 3416 names (codec.ERROR_STATUS_NAMES) for every path: pysnmp's v3 GET and
    walk, and v2c's engine (polls) and walker (discovery) GET and walk, answered the same error-status.
    tooBig is left out where v2c splits the request or names it in its own sentence, and the v3 walk
    of noSuchName, which pysnmp's bulk_walk_cmd reads as the walk's end (cmdgen.py: "Hide SNMPv1
    noSuchName error")."""
    with Responder(UsmAgent(_users()), _refusal(status)) as v3:
        messages = asyncio.run(_v3_failures(v3, _credentials("sha256-aes", "sha256", "aes"), walk=status != 2))
    agent = ScriptedAgent(lambda a, data, src: a.sock.sendto(a.answer(data, error_status=status, error_index=1), src))
    try:
        messages += asyncio.run(_v2c_failures(agent, walker=status != TOO_BIG))
    finally:
        agent.close()
    assert len(messages) == {TOO_BIG: 3, 2: 4}.get(status, 5)
    for kind, message in messages:
        assert kind == "agent", message
        assert ANSWERED.search(message).groups() == (error_status_name(status), str(status)), message
    assert ERROR_STATUS_NAMES[5] == "genErr" and error_status_name(42) == "error-status 42"


async def _v3_failures(responder: Responder, credentials: Credentials, *, walk: bool) -> list[tuple[str, str]]:
    found = []
    client = SnmpClient()
    try:
        device = client.device("127.0.0.1", responder.port, credentials, timeout=1.0, retries=0)
        asks = [lambda: device.get([SYS_UPTIME])] + ([lambda: device.walk(IF_HC_IN_COLUMN)] if walk else [])
        for ask in asks:
            with pytest.raises(CollectError) as failed:
                await ask()
            found.append((failed.value.kind, str(failed.value)))
    finally:
        client.close()
    return found


async def _v2c_failures(agent: ScriptedAgent, *, walker: bool) -> list[tuple[str, str]]:
    with SnmpGetEngine(timeout_s=0.5, retries=0) as engine:
        (failure,) = await engine.get_many([GetRequest("AP", agent.address, GetShape(COMMUNITY, [SYS_UPTIME]))])
    assert isinstance(failure, GetFailure)
    found = [(failure.kind, failure.message)]
    if walker:
        with WalkerClient(timeout_s=0.5, retries=0) as client:
            device = client.device(*agent.address, COMMUNITY)
            for ask in (lambda: device.get([SYS_UPTIME]), lambda: device.walk(IF_HC_IN_COLUMN)):
                with pytest.raises(CollectError) as failed:
                    await ask()
                found.append((failed.value.kind, str(failed.value)))
    return found


# --- net-snmp --------------------------------------------------------------------------------

NET_SNMP = {"md5": "MD5", "sha": "SHA", "sha224": "SHA-224", "sha256": "SHA-256", "sha384": "SHA-384",
            "sha512": "SHA-512", "des": "DES", "aes": "AES", "aes192": "AES-192", "aes256": "AES-256"}
needs_net_snmp = pytest.mark.skipif(shutil.which("snmpget") is None, reason="net-snmp's snmpget is not installed")


def _net_snmp(tool: str, responder: Responder, user: str, auth: str | None, priv: str | None, *oids: str,
              tmp: Path) -> tuple[int, str, str]:
    auth_pw, priv_pw = _passwords(user)
    level = "authPriv" if priv else "authNoPriv" if auth else "noAuthNoPriv"
    args = [tool, "-v3", "-l", level, "-u", user, "-On", "-Oq", "-t", "2", "-r", "1"]
    if auth:
        args += ["-a", NET_SNMP[auth], "-A", auth_pw]
    if priv:
        args += ["-x", NET_SNMP[priv], "-X", priv_pw]
    env = {**os.environ, "MIBS": "", "MIBDIRS": str(tmp), "SNMPCONFPATH": str(tmp), "SNMP_PERSISTENT_DIR": str(tmp),
           "HOME": str(tmp)}
    done = subprocess.run([*args, f"127.0.0.1:{responder.port}", *oids], capture_output=True, text=True, env=env,
                          timeout=30, check=False)
    return done.returncode, done.stdout, done.stderr


def _supported_by_net_snmp(priv: str | None) -> bool:
    if priv not in ("aes192", "aes256"):
        return True
    return "AES-256" in subprocess.run(["snmpget", "-h"], capture_output=True, text=True, check=False).stderr


NET_SNMP_COMBOS = [c for c in COMBOS if c[0] in ("md5-des", "sha-aes", "sha256-aes", "sha512-aes", "sha256-auth",
                                                 "public-noauth", "sha256-aes256", "sha256-aes192", "sha-aes256",
                                                 "md5-aes192")]


@needs_net_snmp
@pytest.mark.parametrize("user, auth, priv", NET_SNMP_COMBOS, ids=[c[0] for c in NET_SNMP_COMBOS])
def test_net_snmp_snmpget_reads_exact_values(responder, tmp_path, user, auth, priv):
    if not _supported_by_net_snmp(priv):
        pytest.skip(f"this net-snmp has no {priv}")
    code, out, err = _net_snmp("snmpget", responder, user, auth, priv, "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.3.0",
                               "1.3.6.1.2.1.31.1.1.1.6.1", tmp=tmp_path)
    assert code == 0, err
    assert out.splitlines() == [f'.1.3.6.1.2.1.1.1.0 "{EXPECTED[SYS_DESCR].decode()}"', ".1.3.6.1.2.1.1.3.0 0:0:20:34.56",
                                f".1.3.6.1.2.1.31.1.1.1.6.1 {(1 << 40) + 7}"]


@needs_net_snmp
def test_net_snmp_snmpwalk_walks_with_getnext(responder, tmp_path):
    code, out, err = _net_snmp("snmpwalk", responder, "sha256-aes", "sha256", "aes", "1.3.6.1.2.1.1", tmp=tmp_path)
    assert code == 0, err
    assert out.splitlines() == [f'.1.3.6.1.2.1.1.1.0 "{EXPECTED[SYS_DESCR].decode()}"', ".1.3.6.1.2.1.1.3.0 0:0:20:34.56"]
    # at the end of the table net-snmp prints the endOfMibView it got
    code, out, err = _net_snmp("snmpwalk", responder, "md5-des", "md5", "des", "1.3.6.1.2.1.31", tmp=tmp_path)
    assert code == 0, err
    assert out.splitlines() == [f".1.3.6.1.2.1.31.1.1.1.6.1 {(1 << 40) + 7}", f".1.3.6.1.2.1.31.1.1.1.6.2 {(1 << 63) + 11}",
                                ".1.3.6.1.2.1.31.1.1.1.6.2 No more variables left in this MIB View (It is past the end "
                                "of the MIB tree)"]


@needs_net_snmp
def test_net_snmp_is_refused_a_lower_level(responder, tmp_path):
    code, _, err = _net_snmp("snmpget", responder, "md5-des", "md5", None, "1.3.6.1.2.1.1.1.0", tmp=tmp_path)
    assert code != 0  # authNoPriv for an authPriv user
    assert "Unsupported security level" in err


@needs_net_snmp
def test_net_snmp_reports_a_wrong_password(responder, tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}._passwords", lambda user: ("not-the-password", "not-the-password"))
    code, _, err = _net_snmp("snmpget", responder, "sha256-aes", "sha256", "aes", "1.3.6.1.2.1.1.1.0", tmp=tmp_path)
    assert code != 0
    assert "Authentication failure" in err


# --- hand-made requests: time window, reports, garbage ---------------------------------------


def _key(password: bytes, engine_id: bytes) -> bytes:
    """A SHA-256 localized key by pysnmp's own functions (independent of the module under test)."""
    return localkey.password_to_key(password, univ.OctetString(engine_id), hashlib.sha256).asOctets()


def _request(*, engine_id: bytes = ENGINE_ID, boots: int = BOOTS, engine_time: int, user: bytes = b"sha256-auth",
             password: bytes | None = b"auth-sha256-auth-secret", priv_password: bytes | None = None,
             msg_id: int = 4242, request_id: int = 0x1234567, flags: int | None = None) -> bytes:
    """A GetRequest for sysDescr.0: noAuthNoPriv without a password, else SHA-256 and, with a priv
    password, AES-128 (RFC 3826), built by hand with pysnmp's key functions."""
    varbinds = _tlv(0x30, _tlv(0x30, _tlv(0x06, bytes((0x2B, 6, 1, 2, 1, 1, 1, 0))) + b"\x05\x00"))
    pdu = _tlv(GET, _tlv(0x02, _int_contents(request_id)) + b"\x02\x01\x00\x02\x01\x00" + varbinds)
    scoped = _tlv(0x30, _tlv(0x04, engine_id) + _tlv(0x04, b"") + pdu)
    salt = b""
    if priv_password:
        salt = os.urandom(8)
        iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
        encryptor = Cipher(AES(_key(priv_password, engine_id)[:16]), CFB(iv)).encryptor()
        scoped = _tlv(0x04, encryptor.update(scoped) + encryptor.finalize())
    mac_size = 24 if password else 0
    if flags is None:
        flags = 4 | (1 if password else 0) | (2 if priv_password else 0)
    security = _tlv(0x30, _tlv(0x04, engine_id) + _tlv(0x02, _int_contents(boots)) + _tlv(0x02, _int_contents(engine_time))
                    + _tlv(0x04, user) + _tlv(0x04, bytes(mac_size)) + _tlv(0x04, salt))
    header = _tlv(0x30, _tlv(0x02, _int_contents(msg_id)) + b"\x02\x03\x00\xff\xe3" + bytes((4, 1, flags)) + b"\x02\x01\x03")
    message = _tlv(0x30, b"\x02\x01\x03" + header + _tlv(0x04, security) + scoped)
    if not password:
        return message
    mac = hmac.digest(_key(password, engine_id), message, "sha256")[:24]
    at = len(message) - len(scoped) - len(salt) - 2 - 24
    return message[:at] + mac + message[at + 24:]


def _report_parts(report: bytes, password: bytes | None = None) -> tuple[int, bytes, int, int, int, int, bytes]:
    """(flags, engine id, boots, time, msgID, request-id, usmStats OID contents) of a plaintext Report."""
    # the Report is plaintext: find the ScopedPDU after the security parameters by walking the TLVs
    def element(pos):
        length = report[pos + 1]
        start = pos + 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(report[start:start + count], "big")
            start += count
        return report[pos], start, start + length

    _, body, _ = element(0)
    _, _, pos = element(body)  # version
    _, g, g_end = element(pos)
    _, s, e = element(g)
    msg_id = int.from_bytes(report[s:e], "big")
    _, s, e = element(e)
    _, s, e = element(e)
    flags = report[s]
    _, sp, sp_end = element(g_end)
    _, seq, _ = element(sp)
    _, s, e = element(seq)
    engine_id = report[s:e]
    _, s, e = element(e)
    boots = int.from_bytes(report[s:e], "big")
    _, s, e = element(e)
    engine_time = int.from_bytes(report[s:e], "big")
    _, s, e = element(e)  # user
    _, a, a_end = element(e)  # auth params
    if password:
        key = _key(password, engine_id)
        zeroed = report[:a] + bytes(a_end - a) + report[a_end:]
        assert hmac.digest(key, zeroed, "sha256")[:24] == report[a:a_end]
    _, scoped, _ = element(sp_end)
    _, _, e = element(scoped)
    _, _, pdu = element(e)
    response = decode_response(_tlv(0x30, b"\x02\x01\x01\x04\x00" + report[pdu:]))
    assert response.pdu_type == REPORT and response.varbinds[0][1] == COUNTER32
    return flags, engine_id, boots, engine_time, msg_id, response.request_id, response.varbinds[0][0]


def _stats_oid(n: int) -> bytes:
    return bytes((0x2B, 6, 1, 6, 3, 15, 1, 1, n, 0))


def test_discovery_learns_engine_id_boots_and_time():
    agent = UsmAgent(_users())
    report = agent.unwrap(_request(engine_id=b"", engine_time=0, user=b"", password=None), ENGINE_ID, BOOTS, 5000)
    assert isinstance(report, bytes)
    assert _report_parts(report) == (0, ENGINE_ID, BOOTS, 5000, 4242, 0x1234567, _stats_oid(4))
    assert agent.stats.unknown_engine_ids == 1


def test_outside_the_time_window_gets_an_authenticated_report():
    agent = UsmAgent(_users())
    assert isinstance(agent.unwrap(_request(engine_time=5000 - 150), ENGINE_ID, BOOTS, 5000), Incoming)
    for stale in (_request(engine_time=5000 - 151), _request(engine_time=5000 + 151), _request(boots=6, engine_time=5000)):
        report = agent.unwrap(stale, ENGINE_ID, BOOTS, 5000)
        assert isinstance(report, bytes)
        assert _report_parts(report, b"auth-sha256-auth-secret") == (1, ENGINE_ID, BOOTS, 5000, 4242, 0x1234567,
                                                                       _stats_oid(2))
    assert agent.stats.not_in_time_windows == 3


def test_reports_for_unknown_users_and_wrong_digests():
    agent = UsmAgent(_users())
    report = agent.unwrap(_request(engine_time=5000, user=b"mallory"), ENGINE_ID, BOOTS, 5000)
    assert _report_parts(report)[6] == _stats_oid(3)
    report = agent.unwrap(_request(engine_time=5000, password=b"guessed-password"), ENGINE_ID, BOOTS, 5000)
    assert _report_parts(report)[6] == _stats_oid(5)
    assert (agent.stats.unknown_user_names, agent.stats.wrong_digests) == (1, 1)
    # without the reportable flag the error is counted, and nothing is sent
    assert agent.unwrap(_request(engine_time=5000, password=b"guessed-password", flags=1), ENGINE_ID, BOOTS, 5000) is None
    assert agent.stats.wrong_digests == 2


def test_a_wrong_priv_password_is_a_decryption_error():
    agent = UsmAgent(_users())
    good = dict(engine_time=5000, user=b"sha256-aes", password=b"auth-sha256-aes-secret")
    incoming = agent.unwrap(_request(**good, priv_password=b"priv-sha256-aes-secret"), ENGINE_ID, BOOTS, 5000)
    assert isinstance(incoming, Incoming) and incoming.level == AUTH_PRIV and incoming.request_id == 0x1234567
    report = agent.unwrap(_request(**good, priv_password=b"priv-guessed-secret"), ENGINE_ID, BOOTS, 5000)
    assert isinstance(report, bytes) and _report_parts(report)[6] == _stats_oid(6)
    assert agent.stats.decryption_errors == 1
    # out of the time window, an encrypted request still gets its request-id back in the Report
    report = agent.unwrap(_request(**{**good, "engine_time": 1}, priv_password=b"priv-sha256-aes-secret"),
                          ENGINE_ID, BOOTS, 5000)
    assert _report_parts(report, b"auth-sha256-aes-secret")[4:] == (4242, 0x1234567, _stats_oid(2))


def test_garbage_and_other_versions_are_dropped_and_counted():
    agent = UsmAgent(_users())
    v2c = encode_response(b"public", 0x1234567, [(SYS_DESCR, NULL, None)], pdu_type=GET)
    for datagram in (b"", b"\x30", b"\x30\x00", b"\xff" * 40, b"\x30\x03\x02\x01\x03", _request(engine_time=1)[:-1],
                     _request(engine_time=1) + b"\x00"):
        assert agent.unwrap(datagram, ENGINE_ID, BOOTS, 1) is None
    assert agent.unwrap(v2c, ENGINE_ID, BOOTS, 1) is None
    assert (agent.stats.malformed, agent.stats.not_v3) == (7, 1)


# --- keys --------------------------------------------------------------------------------------


def test_keys_match_rfc_3414_appendix_a3():
    engine = bytes.fromhex("000000000000000000000002")
    assert localize_key(password_to_key(b"maplesyrup", "md5"), engine, "md5").hex() == "526f5eed9fcce26f8964c2930787d82b"
    assert localize_key(password_to_key(b"maplesyrup", "sha1"), engine, "sha1").hex() == \
        "6695febc9288e36282235fc7151f128497b38f3f"


def test_aes256_key_extension_matches_pysnmp():
    from pysnmp.proto.secmod.eso.priv.aes256 import Aes256  # after rfc3414 (above): pysnmp's imports are circular

    agent = UsmAgent([UsmUser(b"u", "md5", b"auth-password", "aes256", b"priv-password")])
    ours = agent.keys(agent.users[b"u"], ENGINE_ID).priv_key
    service = Aes256()
    theirs = service.localize_key(HmacMd5.SERVICE_ID, service.hash_passphrase(HmacMd5.SERVICE_ID, b"priv-password"),
                                  univ.OctetString(ENGINE_ID))
    assert ours == bytes(theirs)


def test_a_second_aes256_key_only_where_the_extensions_differ():
    """net-snmp 5.9 extends short AES-192/256 keys the Blumenthal way, pysnmp the Reeder way: the
    agent tries the second key only when the two differ (the net-snmp tests above need it)."""
    agent = UsmAgent(_users())
    for name, differs in (("sha-aes256", True), ("md5-aes192", True), ("sha224-aes256", True),
                          ("sha256-aes256", False), ("sha256-aes192", False), ("sha-aes", False)):
        keys = agent.keys(agent.users[name.encode()], ENGINE_ID)
        assert (keys.alternate is not None) is differs, name
        if differs:
            assert keys.alternate.priv_key[:16] == keys.priv_key[:16] != keys.alternate.priv_key


def test_the_key_cache_is_bounded():
    agent = UsmAgent(_users(), max_keys=3)
    user = agent.users[b"sha256-aes"]
    for n in range(10):
        agent.keys(user, ENGINE_ID + bytes((n,)))
    assert len(agent._local) == 3 and len(agent._master) == 2


# --- property: nothing a datagram holds makes unwrap raise ------------------------------------

_AGENT = UsmAgent(_users())
_SAMPLES = [_request(engine_time=5000), _request(engine_time=5000, user=b"public-noauth", password=None),
            _request(engine_id=b"", engine_time=0, user=b"", password=None)]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SAMPLES), st.integers(0, 200), st.integers(0, 255), st.integers(0, 200), st.binary(max_size=8))
def test_mutated_requests_never_raise(sample, at, byte, cut, junk):
    mutated = bytearray(sample)
    mutated[at % len(mutated)] = byte
    for datagram in (bytes(mutated), sample[:cut], bytes(mutated[:cut]) + junk, sample[:at] + junk + sample[at:]):
        result = _AGENT.unwrap(datagram, ENGINE_ID, BOOTS, 5000)
        assert result is None or isinstance(result, bytes | Incoming)
        if isinstance(result, Incoming):
            assert isinstance(_AGENT.wrap(result, result.pdu, ENGINE_ID, BOOTS, 5000), bytes)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(datagram):
    result = _AGENT.unwrap(datagram, ENGINE_ID, BOOTS, 5000)
    assert result is None or isinstance(result, bytes)
