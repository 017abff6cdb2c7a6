"""The agent (authoritative) side of SNMPv3's User-based Security Model, for the fleet simulator.

The simulator answers thousands of APs from one socket and builds PDUs itself; this module only
takes a v3 message apart (RFC 3412 header, RFC 3414 USM: HMAC auth with the RFC 7860 SHA-2
variants, DES-CBC, RFC 3826 AES-CFB) and puts a response together, so a v3 AP costs the same
PDU work as a v2c one plus a few tens of microseconds of crypto.

Keys: password-to-key (RFC 3414 A.2, a megabyte of hashing) runs once per user and password;
localisation to an AP's engine id is one more hash, done lazily and kept in a bounded dict, since
a few thousand simulated APs each have their own engine id.

AES-192/256: no RFC says how to make a 24/32-octet key from a 16/20/28-octet localized key.
``aes192``/``aes256`` here are pysnmp 7's ``usmAesCfb192Protocol``/``usmAesCfb256Protocol``
(Reeder 3DES-draft extension: hash the localized key again through password-to-key and
localisation, append). net-snmp's AES-192/AES-256 may use the Blumenthal draft instead
(append H(key)); the two agree whenever the auth hash is long enough (SHA-256 and up for
AES-256, SHA-224 and up for AES-192). When a request does not decrypt with the Reeder key and
the other extension differs, the Blumenthal key is tried and the response uses whichever worked.

Deliberate simplifications: usmStats counters are per UsmAgent (per process), not per simulated
engine; with ``exact_level`` (the default) a request below the user's configured level gets an
unsupportedSecLevel Report, standing in for snmpd's ``rouser NAME priv`` (VACM) check.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.ciphers.modes import CBC

from hotspotctl.collectors.auth import resolve
from hotspotctl.collectors.codec import COUNTER32, REPORT, _int_contents, _tlv
from hotspotctl.errors import ConfigError
from hotspotctl.settings import Settings

# auth protocol -> (hashlib name, HMAC truncation in octets), RFC 3414 6/7 and RFC 7860 4.2.2
AUTH_PROTOCOLS: dict[str, tuple[str, int]] = {
    "md5": ("md5", 12), "sha": ("sha1", 12), "sha224": ("sha224", 16), "sha256": ("sha256", 24),
    "sha384": ("sha384", 32), "sha512": ("sha512", 48),
}
# priv protocol -> cipher key length in octets (DES: 8 key + 8 pre-IV of the localized key)
PRIV_PROTOCOLS: dict[str, int] = {"des": 16, "aes": 16, "aes192": 24, "aes256": 32}

NO_AUTH_NO_PRIV, AUTH_NO_PRIV, AUTH_PRIV = "noAuthNoPriv", "authNoPriv", "authPriv"
_LEVELS = (NO_AUTH_NO_PRIV, AUTH_NO_PRIV, "invalid", AUTH_PRIV)  # indexed by msgFlags & 3
_RANK = {NO_AUTH_NO_PRIV: 0, AUTH_NO_PRIV: 1, AUTH_PRIV: 2}
_FLAGS = {NO_AUTH_NO_PRIV: 0, AUTH_NO_PRIV: 1, AUTH_PRIV: 3}  # msgFlags of a response (not reportable)

# usmStats objects, 1.3.6.1.6.3.15.1.1.N.0, as OID contents octets
USM_STATS_OID = "1.3.6.1.6.3.15.1.1.{}.0"
UNSUPPORTED_SEC_LEVELS, NOT_IN_TIME_WINDOWS, UNKNOWN_USER_NAMES = 1, 2, 3
UNKNOWN_ENGINE_IDS, WRONG_DIGESTS, DECRYPTION_ERRORS = 4, 5, 6
_STATS_OID = {n: bytes((0x2B, 6, 1, 6, 3, 15, 1, 1, n, 0)) for n in range(1, 7)}

TIME_WINDOW_S = 150  # RFC 3414 3.2 step 7
_INT31_MAX = 2147483647
_MAX_SIZE = 65507  # our msgMaxSize: the largest UDP payload over IPv4
_ONE_MB = 1048576


class _Malformed(Exception):
    """Internal: the datagram is not a well-formed SNMPv3/USM message (dropped, counted)."""


@dataclass(frozen=True, slots=True)
class UsmUser:
    name: bytes
    auth_protocol: str | None  # None (noAuthNoPriv) | md5 | sha | sha224 | sha256 | sha384 | sha512
    auth_password: bytes | None
    priv_protocol: str | None  # None | des | aes | aes192 | aes256
    priv_password: bytes | None

    def __post_init__(self) -> None:
        if not isinstance(self.name, bytes) or len(self.name) > 32:
            raise ValueError(f"USM user name must be bytes of at most 32 octets, got {self.name!r}")
        if self.auth_protocol is not None and self.auth_protocol not in AUTH_PROTOCOLS:
            raise ValueError(f"user {self.name!r}: auth protocol {self.auth_protocol!r} is not one of "
                             f"{', '.join(AUTH_PROTOCOLS)}")
        if self.priv_protocol is not None and self.priv_protocol not in PRIV_PROTOCOLS:
            raise ValueError(f"user {self.name!r}: priv protocol {self.priv_protocol!r} is not one of "
                             f"{', '.join(PRIV_PROTOCOLS)}")
        if self.priv_protocol is not None and self.auth_protocol is None:
            raise ValueError(f"user {self.name!r}: privacy needs an auth protocol too (RFC 3414 has no privNoAuth)")
        if self.auth_protocol is not None and not self.auth_password:
            raise ValueError(f"user {self.name!r}: auth protocol {self.auth_protocol} needs an auth password")
        if self.priv_protocol is not None and not self.priv_password:
            raise ValueError(f"user {self.name!r}: priv protocol {self.priv_protocol} needs a priv password")

    @property
    def level(self) -> str:
        if self.priv_protocol:
            return AUTH_PRIV
        return AUTH_NO_PRIV if self.auth_protocol else NO_AUTH_NO_PRIV


@dataclass(slots=True)
class UsmStats:
    """usmStats counters (RFC 3414 5) plus what was dropped without a Report."""

    unsupported_sec_levels: int = 0
    not_in_time_windows: int = 0
    unknown_user_names: int = 0
    unknown_engine_ids: int = 0
    wrong_digests: int = 0
    decryption_errors: int = 0
    malformed: int = 0  # not parseable as SNMPv3/USM (snmpInASNParseErrs, snmpInvalidMsgs, ...)
    not_v3: int = 0  # a well-framed message of another version (v1/v2c)

    def bump(self, which: int) -> int:
        """Count one usmStats event (1..6); the new value, as the Report carries it (Counter32)."""
        name = _STAT_NAMES[which]
        value = (getattr(self, name) + 1) & 0xFFFFFFFF
        setattr(self, name, value)
        return value


_STAT_NAMES = {UNSUPPORTED_SEC_LEVELS: "unsupported_sec_levels", NOT_IN_TIME_WINDOWS: "not_in_time_windows",
               UNKNOWN_USER_NAMES: "unknown_user_names", UNKNOWN_ENGINE_IDS: "unknown_engine_ids",
               WRONG_DIGESTS: "wrong_digests", DECRYPTION_ERRORS: "decryption_errors"}


@dataclass(slots=True)
class _LocalKeys:
    """One user's keys localized to one engine id; ``algorithm`` is the ready cipher algorithm."""

    auth_key: bytes
    priv_key: bytes
    algorithm: AES | TripleDES | None
    pre_iv: int = 0  # DES: the localized key's second half, as an int for the IV XOR
    alternate: _LocalKeys | None = None  # AES-192/256: the Blumenthal-extended key when it differs


@dataclass(slots=True)
class Incoming:
    """A request that passed USM: the PDU to answer and what ``wrap`` needs to answer it."""

    pdu: bytes  # the PDU TLV from inside the ScopedPDU
    pdu_type: int
    request_id: int
    msg_id: int
    max_size: int  # the manager's msgMaxSize: the whole response must fit
    user: UsmUser
    level: str  # noAuthNoPriv | authNoPriv | authPriv, as the request was sent
    context_engine_id: bytes
    context_name: bytes
    keys: _LocalKeys | None = field(default=None, repr=False)

    @property
    def max_pdu_size(self) -> int:
        """A safe upper bound for the response PDU so that the wrapped message fits ``max_size``."""
        mac = AUTH_PROTOCOLS[self.user.auth_protocol][1] if self.user.auth_protocol else 0
        overhead = 64 + 2 * len(self.context_engine_id) + len(self.user.name) + len(self.context_name) + mac
        return self.max_size - overhead - (16 if self.level == AUTH_PRIV else 0)


# --- BER reading ------------------------------------------------------------------------------
# Like the codec: index the bytes, let IndexError mean "truncated", check each end against its parent.


def _element(data: bytes, pos: int, limit: int) -> tuple[int, int, int]:
    """(tag, contents start, contents end) of the TLV at ``pos``, which must end by ``limit``."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise _Malformed
        end = pos + count
        if end > limit:
            raise _Malformed
        length = int.from_bytes(data[pos:end], "big")
        pos = end
    end = pos + length
    if end > limit:
        raise _Malformed
    return tag, pos, end


def _expect(data: bytes, pos: int, limit: int, tag: int) -> tuple[int, int]:
    got, start, end = _element(data, pos, limit)
    if got != tag:
        raise _Malformed
    return start, end


def _uint31(data: bytes, pos: int, limit: int) -> tuple[int, int]:
    """An INTEGER in 0..2^31-1 (msgID, msgMaxSize, boots, time, request-id): (value, end)."""
    start, end = _expect(data, pos, limit, 0x02)
    if start == end or end - start > 5:
        raise _Malformed
    value = int.from_bytes(data[start:end], "big", signed=True)
    if not 0 <= value <= _INT31_MAX:
        raise _Malformed
    return value, end


@dataclass(slots=True)
class _Message:
    """The parsed parts of a v3 request; positions index the datagram."""

    msg_id: int
    max_size: int
    flags: int
    engine_id: bytes
    boots: int
    engine_time: int
    user_name: bytes
    auth_start: int
    auth_end: int
    priv_params: bytes
    data_start: int  # contents of the encrypted OCTET STRING, or the plaintext ScopedPDU TLV
    data_end: int


def _parse_message(data: bytes) -> _Message | None:
    """The message's parts, None if it is framed right but not version 3; _Malformed/IndexError if broken."""
    size = len(data)
    start, end = _expect(data, 0, size, 0x30)
    if end != size:
        raise _Malformed
    pos = start
    s, e = _expect(data, pos, end, 0x02)
    if e - s != 1 or data[s] != 3:
        if e - s in (1, 2, 3, 4):  # v1, v2c or something: not ours to answer
            return None
        raise _Malformed
    start, global_end = _expect(data, e, end, 0x30)
    msg_id, pos = _uint31(data, start, global_end)
    max_size, pos = _uint31(data, pos, global_end)
    s, e = _expect(data, pos, global_end, 0x04)
    if e - s != 1:
        raise _Malformed
    flags = data[s]
    model, pos = _uint31(data, e, global_end)
    if pos != global_end or model != 3 or max_size < 484 or flags & 3 == 2:
        raise _Malformed  # not USM, or privacy without authentication (RFC 3412 7.2 step 5)

    s, params_end = _expect(data, global_end, end, 0x04)
    s, seq_end = _expect(data, s, params_end, 0x30)
    if seq_end != params_end:
        raise _Malformed
    s, e = _expect(data, s, seq_end, 0x04)
    if e - s > 32:
        raise _Malformed
    engine_id = data[s:e]
    boots, pos = _uint31(data, e, seq_end)
    engine_time, pos = _uint31(data, pos, seq_end)
    s, e = _expect(data, pos, seq_end, 0x04)
    if e - s > 32:
        raise _Malformed
    user_name = data[s:e]
    auth_start, auth_end = _expect(data, e, seq_end, 0x04)
    s, e = _expect(data, auth_end, seq_end, 0x04)
    if e != seq_end:
        raise _Malformed
    priv_params = data[s:e]

    tag, data_start, data_end = _element(data, params_end, end)
    if data_end != end or tag != (0x04 if flags & 2 else 0x30):
        raise _Malformed
    if tag == 0x30:
        data_start = params_end  # keep the ScopedPDU's own header: _parse_scoped reads the TLV
    return _Message(msg_id, max_size, flags, engine_id, boots, engine_time, user_name, auth_start, auth_end,
                    priv_params, data_start, data_end)


def _parse_scoped(data: bytes, pos: int, limit: int, exact: bool) -> tuple[bytes, bytes, bytes, int, int]:
    """(contextEngineID, contextName, PDU TLV, PDU tag, request-id) of a ScopedPDU at ``pos``.

    ``exact``: the ScopedPDU must end at ``limit``; after DES decryption padding may follow it.
    """
    start, end = _expect(data, pos, limit, 0x30)
    if exact and end != limit:
        raise _Malformed
    s, e = _expect(data, start, end, 0x04)
    if e - s > 32:
        raise _Malformed
    context_engine_id = data[s:e]
    s, e = _expect(data, e, end, 0x04)
    context_name = data[s:e]
    pdu_start = e
    tag, s, pdu_end = _element(data, pdu_start, end)
    if pdu_end != end or not 0xA0 <= tag <= 0xA8 or tag == 0xA4:
        raise _Malformed
    s, e = _expect(data, s, pdu_end, 0x02)
    if not 1 <= e - s <= 4:
        raise _Malformed
    request_id = int.from_bytes(data[s:e], "big", signed=True)
    return context_engine_id, context_name, data[pdu_start:pdu_end], tag, request_id


# --- keys -------------------------------------------------------------------------------------


def password_to_key(password: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: hash the password repeated to one megabyte (one C call, not 16384 updates)."""
    if not password:
        raise ValueError("empty password")
    ring = password * (_ONE_MB // len(password) + 1)
    return hashlib.new(hash_name, memoryview(ring)[:_ONE_MB]).digest()


def localize_key(master: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: Kul = H(Ku || engineID || Ku)."""
    return hashlib.new(hash_name, master + engine_id + master).digest()


def _extend_reeder(local: bytes, engine_id: bytes, hash_name: str, size: int) -> bytes:
    """pysnmp 7's usmAesCfb192/256Protocol: append localize(password_to_key(key so far))."""
    while len(local) < size:
        local += localize_key(password_to_key(local, hash_name), engine_id, hash_name)
    return local[:size]


def _extend_blumenthal(local: bytes, hash_name: str, size: int) -> bytes:
    """draft-blumenthal-aes-usm-04 3.1.2.1: append H(key so far)."""
    while len(local) < size:
        local += hashlib.new(hash_name, local).digest()
    return local[:size]


def _cipher_keys(auth_key: bytes, priv_key: bytes, protocol: str | None) -> _LocalKeys:
    if protocol is None:
        return _LocalKeys(auth_key, b"", None)
    if protocol == "des":
        return _LocalKeys(auth_key, priv_key, TripleDES(priv_key[:8] * 3), int.from_bytes(priv_key[8:16], "big"))
    return _LocalKeys(auth_key, priv_key, AES(priv_key))


# --- the agent --------------------------------------------------------------------------------


class UsmAgent:
    """USM for many simulated authoritative engines: ``unwrap`` requests, ``wrap`` responses.

    Not thread-safe: one agent per socket/event loop (the simulator runs one per process).
    """

    def __init__(self, users: Sequence[UsmUser], *, max_keys: int = 65536, exact_level: bool = True) -> None:
        self.users: dict[bytes, UsmUser] = {}
        for user in users:
            if user.name in self.users:
                raise ValueError(f"USM user {user.name!r} is defined twice")
            self.users[user.name] = user
        self.stats = UsmStats()
        self.exact_level = exact_level
        self.max_keys = max_keys
        self._masters: dict[tuple[bytes, str], bytes] = {}  # (password, hash) -> Ku
        self._local: dict[tuple[bytes, bytes], _LocalKeys] = {}  # (user name, engine id) -> keys
        self._aes_salt = int.from_bytes(os.urandom(8), "big")
        self._des_salt = int.from_bytes(os.urandom(4), "big")

    # keys

    def _master(self, password: bytes, hash_name: str) -> bytes:
        key = (password, hash_name)
        master = self._masters.get(key)
        if master is None:
            master = self._masters[key] = password_to_key(password, hash_name)
        return master

    def keys(self, user: UsmUser, engine_id: bytes) -> _LocalKeys:
        """The user's keys for ``engine_id``: cached; the oldest entry goes when ``max_keys`` is reached."""
        cache_key = (user.name, engine_id)
        keys = self._local.get(cache_key)
        if keys is not None:
            return keys
        hash_name = AUTH_PROTOCOLS[user.auth_protocol][0] if user.auth_protocol else ""
        # UsmUser's check gives every protocol its password: testing both only narrows the types
        auth_key = (localize_key(self._master(user.auth_password, hash_name), engine_id, hash_name)
                    if hash_name and user.auth_password else b"")
        priv_key = b""
        alternate = None
        if user.priv_protocol and user.priv_password:
            size = PRIV_PROTOCOLS[user.priv_protocol]
            local = localize_key(self._master(user.priv_password, hash_name), engine_id, hash_name)
            priv_key = _extend_reeder(local, engine_id, hash_name, size)
            if len(local) < size:
                other = _extend_blumenthal(local, hash_name, size)
                if other != priv_key:
                    alternate = _cipher_keys(auth_key, other, user.priv_protocol)
        keys = _cipher_keys(auth_key, priv_key, user.priv_protocol)
        keys.alternate = alternate
        if len(self._local) >= self.max_keys:
            del self._local[next(iter(self._local))]
        self._local[cache_key] = keys
        return keys

    # crypto

    def _decrypt(self, keys: _LocalKeys, protocol: str, message: _Message, ciphertext: bytes) -> bytes | None:
        salt = message.priv_params
        if len(salt) != 8:
            return None
        if protocol == "des":
            if len(ciphertext) % 8:
                return None
            iv = (keys.pre_iv ^ int.from_bytes(salt, "big")).to_bytes(8, "big")
            decryptor = Cipher(keys.algorithm, CBC(iv)).decryptor()  # type: ignore[arg-type]
        else:
            iv = message.boots.to_bytes(4, "big") + message.engine_time.to_bytes(4, "big") + salt
            decryptor = Cipher(keys.algorithm, CFB(iv)).decryptor()  # type: ignore[arg-type]
        return decryptor.update(ciphertext) + decryptor.finalize()

    def _encrypt(self, keys: _LocalKeys, protocol: str, plaintext: bytes, boots: int,
                 engine_time: int) -> tuple[bytes, bytes]:
        """(ciphertext, msgPrivacyParameters) with a fresh salt, RFC 3414 8.1.1.1 / RFC 3826 3.1.2.1."""
        if protocol == "des":
            self._des_salt = (self._des_salt + 1) & 0xFFFFFFFF
            salt = boots.to_bytes(4, "big") + self._des_salt.to_bytes(4, "big")
            iv = (keys.pre_iv ^ int.from_bytes(salt, "big")).to_bytes(8, "big")
            if len(plaintext) % 8:
                plaintext += bytes(8 - len(plaintext) % 8)
            encryptor = Cipher(keys.algorithm, CBC(iv)).encryptor()  # type: ignore[arg-type]
        else:
            self._aes_salt = (self._aes_salt + 1) & 0xFFFFFFFFFFFFFFFF
            salt = self._aes_salt.to_bytes(8, "big")
            iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
            encryptor = Cipher(keys.algorithm, CFB(iv)).encryptor()  # type: ignore[arg-type]
        return encryptor.update(plaintext) + encryptor.finalize(), salt

    # messages

    def unwrap(self, datagram: bytes, engine_id: bytes, boots: int, engine_time: int) -> Incoming | bytes | None:
        """Incoming for an authentic request; bytes = a Report to send back (unknown engine id during
        discovery, not in time window, unknown user, unsupported security level, wrong digest,
        decryption error: RFC 3414's usmStats counters); None = drop silently (not SNMPv3, malformed,
        or an error in a message that is not reportable)."""
        if type(datagram) is not bytes:
            datagram = bytes(datagram)
        try:
            message = _parse_message(datagram)
            if message is None:
                self.stats.not_v3 += 1
                return None
            plain = None
            if not message.flags & 2:
                plain = _parse_scoped(datagram, message.data_start, message.data_end, True)
        except (_Malformed, IndexError):
            self.stats.malformed += 1
            return None

        level = _LEVELS[message.flags & 3]
        # RFC 3414 3.2 step 3: the engine id must be ours (an empty one is discovery)
        if message.engine_id != engine_id:
            return self._report(message, plain, UNKNOWN_ENGINE_IDS, engine_id, boots, engine_time)
        user = self.users.get(message.user_name)
        if user is None:  # step 4
            return self._report(message, plain, UNKNOWN_USER_NAMES, engine_id, boots, engine_time)
        wanted, offered = _RANK[user.level], _RANK[level]
        if offered > wanted or (self.exact_level and offered < wanted):  # step 5
            return self._report(message, plain, UNSUPPORTED_SEC_LEVELS, engine_id, boots, engine_time)

        keys = None
        if offered:
            keys = self.keys(user, engine_id)
            hash_name, mac_size = AUTH_PROTOCOLS[user.auth_protocol]  # type: ignore[index]
            start, end = message.auth_start, message.auth_end
            if end - start != mac_size:  # step 6
                return self._report(message, plain, WRONG_DIGESTS, engine_id, boots, engine_time)
            zeroed = datagram[:start] + bytes(mac_size) + datagram[end:]
            if not hmac.compare_digest(hmac.digest(keys.auth_key, zeroed, hash_name)[:mac_size],
                                       datagram[start:end]):
                return self._report(message, plain, WRONG_DIGESTS, engine_id, boots, engine_time)
            # step 7: an authentic message must be from this boot and within 150 s of our clock
            if (boots == _INT31_MAX or message.boots != boots
                    or abs(message.engine_time - engine_time) > TIME_WINDOW_S):
                if plain is None:  # encrypted, but the keys are right: recover the request-id for the Report
                    plain = self._open(keys, user.priv_protocol, message,  # type: ignore[arg-type]
                                       datagram[message.data_start:message.data_end])[0]
                return self._report(message, plain, NOT_IN_TIME_WINDOWS, engine_id, boots, engine_time, keys, user)

        if plain is None:  # step 8: authPriv
            ciphertext = datagram[message.data_start:message.data_end]
            plain, keys = self._open(keys, user.priv_protocol, message, ciphertext)  # type: ignore[arg-type]
            if plain is None:
                return self._report(message, None, DECRYPTION_ERRORS, engine_id, boots, engine_time)

        context_engine_id, context_name, pdu, pdu_type, request_id = plain
        return Incoming(pdu, pdu_type, request_id, message.msg_id, message.max_size, user, level,
                        context_engine_id, context_name, keys)

    def _open(self, keys: _LocalKeys, protocol: str, message: _Message,
              ciphertext: bytes) -> tuple[tuple[bytes, bytes, bytes, int, int] | None, _LocalKeys]:
        """Decrypt and parse the ScopedPDU; garbage after decryption means the wrong key (a decryption error)."""
        candidate: _LocalKeys | None = keys
        while candidate is not None:
            plaintext = self._decrypt(candidate, protocol, message, ciphertext)
            if plaintext is None:
                break
            try:
                return _parse_scoped(plaintext, 0, len(plaintext), protocol != "des"), candidate
            except (_Malformed, IndexError):
                candidate = candidate.alternate
        return None, keys

    def wrap(self, incoming: Incoming, response_pdu: bytes, engine_id: bytes, boots: int, engine_time: int) -> bytes:
        """The whole v3 Response: same msgID, user and security level as the request, authenticated
        and encrypted as it was (with the keys ``unwrap`` found)."""
        scoped = _tlv(0x30, _tlv(0x04, incoming.context_engine_id) + _tlv(0x04, incoming.context_name)
                      + response_pdu)
        flags = _FLAGS[incoming.level]
        return self._message(incoming.msg_id, flags, incoming.user, incoming.keys, scoped, engine_id, boots,
                             engine_time)

    def _message(self, msg_id: int, flags: int, user: UsmUser | None, keys: _LocalKeys | None, scoped: bytes,
                 engine_id: bytes, boots: int, engine_time: int, user_name: bytes | None = None) -> bytes:
        """Encode (and authenticate, encrypt per ``flags``) a message from this engine."""
        priv_params = b""
        if flags & 2:
            ciphertext, priv_params = self._encrypt(keys, user.priv_protocol, scoped, boots,  # type: ignore[arg-type,union-attr]
                                                    engine_time)
            msg_data = _tlv(0x04, ciphertext)
        else:
            msg_data = scoped
        mac_size = 0
        if flags & 1:
            hash_name, mac_size = AUTH_PROTOCOLS[user.auth_protocol]  # type: ignore[index,union-attr]
        priv_tlv = _tlv(0x04, priv_params)
        name = user.name if user_name is None else user_name  # type: ignore[union-attr]
        security = _tlv(0x30, _tlv(0x04, engine_id) + _tlv(0x02, _int_contents(boots))
                        + _tlv(0x02, _int_contents(engine_time)) + _tlv(0x04, name)
                        + _tlv(0x04, bytes(mac_size)) + priv_tlv)
        header = b"\x02\x01\x03" + _tlv(0x30, _tlv(0x02, _int_contents(msg_id)) + _MAX_SIZE_TLV
                                        + bytes((0x04, 0x01, flags)) + b"\x02\x01\x03")
        message = _tlv(0x30, header + _tlv(0x04, security) + msg_data)
        if not mac_size:
            return message
        mac = hmac.digest(keys.auth_key, message, hash_name)[:mac_size]  # type: ignore[union-attr]
        at = len(message) - len(msg_data) - len(priv_tlv) - mac_size
        return message[:at] + mac + message[at + mac_size:]

    def _report(self, message: _Message, plain: tuple[bytes, bytes, bytes, int, int] | None, which: int,
                engine_id: bytes, boots: int, engine_time: int, keys: _LocalKeys | None = None,
                user: UsmUser | None = None) -> bytes | None:
        """Count the error; a Report (RFC 3412 7.1 step 3) if the request asked for one (reportable flag).

        Reports go noAuthNoPriv, except notInTimeWindow, which is authenticated (authNoPriv, RFC 3414
        3.2 step 7a) so the manager can trust the boots and time it carries.
        """
        value = self.stats.bump(which)
        if not message.flags & 4:
            return None
        request_id = plain[4] if plain is not None else 0
        context_name = plain[1] if plain is not None else b""
        varbind = _tlv(0x30, _tlv(0x06, _STATS_OID[which]) + _tlv(COUNTER32, _int_contents(value)))
        pdu = _tlv(REPORT, _tlv(0x02, _int_contents(request_id)) + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbind))
        scoped = _tlv(0x30, _tlv(0x04, engine_id) + _tlv(0x04, context_name) + pdu)
        flags = 1 if keys is not None else 0
        return self._message(message.msg_id, flags, user, keys, scoped, engine_id, boots, engine_time,
                             user_name=message.user_name)


_MAX_SIZE_TLV = _tlv(0x02, _int_contents(_MAX_SIZE))


def usm_for(settings: Settings, auth: str) -> UsmAgent:
    """The simulator's SNMPv3 security, serving the user of credential set ``auth``."""
    credentials = resolve(auth, settings.snmp.auth)
    if credentials.version != "3":
        raise ConfigError(f"snmp.auth.{auth}: the simulator's v3 set must be version \"3\"")
    return UsmAgent([UsmUser(credentials.user.encode(), credentials.auth_protocol or None,
                             credentials.auth_password.encode() or None, credentials.priv_protocol or None,
                             credentials.priv_password.encode() or None)])
