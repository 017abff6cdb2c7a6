"""The authoritative side of SNMPv3's User-based Security Model: the fleet simulator's agents, and the
trap receiver when it answers v3 informs (for an inform the receiver is the authoritative engine).

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

The pure primitives (protocol tables, keys, message framing) are ``collectors.usmcore``'s.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from hotspotctl.collectors.codec import COUNTER32, REPORT, _int_contents, _tlv
from hotspotctl.collectors.usmcore import AUTH_NO_PRIV as AUTH_NO_PRIV
from hotspotctl.collectors.usmcore import AUTH_PRIV as AUTH_PRIV
from hotspotctl.collectors.usmcore import AUTH_PROTOCOLS as AUTH_PROTOCOLS
from hotspotctl.collectors.usmcore import (
    DECRYPTION_ERRORS,
    NOT_IN_TIME_WINDOWS,
    UNKNOWN_ENGINE_IDS,
    UNKNOWN_USER_NAMES,
    UNSUPPORTED_SEC_LEVELS,
    WRONG_DIGESTS,
    MasterKeys,
    Salts,
    decrypt,
    encrypt,
    frame,
)
from hotspotctl.collectors.usmcore import INT31_MAX as _INT31_MAX
from hotspotctl.collectors.usmcore import LEVELS as _LEVELS
from hotspotctl.collectors.usmcore import NO_AUTH_NO_PRIV as NO_AUTH_NO_PRIV
from hotspotctl.collectors.usmcore import PRIV_PROTOCOLS as PRIV_PROTOCOLS
from hotspotctl.collectors.usmcore import RANK as _RANK
from hotspotctl.collectors.usmcore import STATS_OID as _STATS_OID
from hotspotctl.collectors.usmcore import TIME_WINDOW_S as TIME_WINDOW_S
from hotspotctl.collectors.usmcore import LocalKeys as _LocalKeys
from hotspotctl.collectors.usmcore import Malformed as _Malformed
from hotspotctl.collectors.usmcore import Message as _Message
from hotspotctl.collectors.usmcore import cipher_keys as _cipher_keys
from hotspotctl.collectors.usmcore import extend_blumenthal as _extend_blumenthal
from hotspotctl.collectors.usmcore import extend_reeder as _extend_reeder
from hotspotctl.collectors.usmcore import localize_key as localize_key
from hotspotctl.collectors.usmcore import parse_message as _parse_message
from hotspotctl.collectors.usmcore import parse_scoped as _parse_scoped
from hotspotctl.collectors.usmcore import password_to_key as password_to_key

_FLAGS = {NO_AUTH_NO_PRIV: 0, AUTH_NO_PRIV: 1, AUTH_PRIV: 3}  # msgFlags of a response (not reportable)

# usmStats objects, 1.3.6.1.6.3.15.1.1.N.0, as OID contents octets
USM_STATS_OID = "1.3.6.1.6.3.15.1.1.{}.0"


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
        self._master = MasterKeys()
        self._salts = Salts()
        self._local: dict[tuple[bytes, bytes], _LocalKeys] = {}  # (user name, engine id) -> keys

    # keys

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

    def _encrypt(self, keys: _LocalKeys, protocol: str, plaintext: bytes, boots: int,
                 engine_time: int) -> tuple[bytes, bytes]:
        """(ciphertext, msgPrivacyParameters) with a fresh salt."""
        return encrypt(keys, protocol, plaintext, boots, engine_time, self._salts.next(protocol))

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
            plaintext = decrypt(candidate, protocol, message.boots, message.engine_time, message.priv_params,
                                ciphertext)
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
        name = user.name if user_name is None else user_name  # type: ignore[union-attr]
        return frame(msg_id, flags, engine_id, boots, engine_time, name,
                     user.auth_protocol if user is not None else None, keys, msg_data, priv_params)

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

