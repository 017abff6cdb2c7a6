"""SNMPv3 User-based Security Model primitives both sides share: protocols, keys, message framing.

Pure functions and records, no state: the authoritative agent (``collectors.usmagent``: the simulator's
APs, and the trap receiver for v3 informs) and the trap receiver for v3 traps (``collectors.traps``, where
the *sender* is authoritative) build on them. RFC 3412 (message header), RFC 3414 (USM: password-to-key,
localisation, HMAC), RFC 7860 (SHA-2 HMACs), RFC 3826 (AES-CFB); the AES-192/256 key extensions are
explained in ``collectors.usmagent``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.ciphers.modes import CBC

from hotspotctl.collectors.codec import _int_contents, _tlv

# auth protocol -> (hashlib name, HMAC truncation in octets), RFC 3414 6/7 and RFC 7860 4.2.2
AUTH_PROTOCOLS: dict[str, tuple[str, int]] = {
    "md5": ("md5", 12), "sha": ("sha1", 12), "sha224": ("sha224", 16), "sha256": ("sha256", 24),
    "sha384": ("sha384", 32), "sha512": ("sha512", 48),
}
# priv protocol -> cipher key length in octets (DES: 8 key + 8 pre-IV of the localized key)
PRIV_PROTOCOLS: dict[str, int] = {"des": 16, "aes": 16, "aes192": 24, "aes256": 32}

NO_AUTH_NO_PRIV, AUTH_NO_PRIV, AUTH_PRIV = "noAuthNoPriv", "authNoPriv", "authPriv"
LEVELS = (NO_AUTH_NO_PRIV, AUTH_NO_PRIV, "invalid", AUTH_PRIV)  # indexed by msgFlags & 3
RANK = {NO_AUTH_NO_PRIV: 0, AUTH_NO_PRIV: 1, AUTH_PRIV: 2}

TIME_WINDOW_S = 150  # RFC 3414 3.2 step 7
# usmStats objects (RFC 3414 5), 1.3.6.1.6.3.15.1.1.N.0: what a Report counts, and its OID as contents octets
UNSUPPORTED_SEC_LEVELS, NOT_IN_TIME_WINDOWS, UNKNOWN_USER_NAMES = 1, 2, 3
UNKNOWN_ENGINE_IDS, WRONG_DIGESTS, DECRYPTION_ERRORS = 4, 5, 6
STATS_OID = {n: bytes((0x2B, 6, 1, 6, 3, 15, 1, 1, n, 0)) for n in range(1, 7)}
MAX_SIZE = 65507  # our msgMaxSize, either side: the largest UDP payload over IPv4
_MAX_SIZE_TLV = _tlv(0x02, _int_contents(MAX_SIZE))
INT31_MAX = 2147483647
_ONE_MB = 1048576


class Malformed(Exception):
    """The datagram is not a well-formed SNMPv3/USM message."""


@dataclass(slots=True)
class LocalKeys:
    """One user's keys localized to one engine id; ``algorithm`` is the ready cipher algorithm."""

    auth_key: bytes
    priv_key: bytes
    algorithm: AES | TripleDES | None
    pre_iv: int = 0  # DES: the localized key's second half, as an int for the IV XOR
    alternate: LocalKeys | None = None  # AES-192/256: the Blumenthal-extended key when it differs


# --- BER reading ------------------------------------------------------------------------------
# Like the codec: index the bytes, let IndexError mean "truncated", check each end against its parent.


def element(data: bytes, pos: int, limit: int) -> tuple[int, int, int]:
    """(tag, contents start, contents end) of the TLV at ``pos``, which must end by ``limit``."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise Malformed
        end = pos + count
        if end > limit:
            raise Malformed
        length = int.from_bytes(data[pos:end], "big")
        pos = end
    end = pos + length
    if end > limit:
        raise Malformed
    return tag, pos, end


def expect(data: bytes, pos: int, limit: int, tag: int) -> tuple[int, int]:
    got, start, end = element(data, pos, limit)
    if got != tag:
        raise Malformed
    return start, end


def uint31(data: bytes, pos: int, limit: int) -> tuple[int, int]:
    """An INTEGER in 0..2^31-1 (msgID, msgMaxSize, boots, time, request-id): (value, end)."""
    start, end = expect(data, pos, limit, 0x02)
    if start == end or end - start > 5:
        raise Malformed
    value = int.from_bytes(data[start:end], "big", signed=True)
    if not 0 <= value <= INT31_MAX:
        raise Malformed
    return value, end


@dataclass(slots=True)
class Message:
    """The parsed parts of a v3 message; positions index the datagram."""

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


def parse_message(data: bytes) -> Message | None:
    """The message's parts, None if it is framed right but not version 3; Malformed/IndexError if broken."""
    size = len(data)
    start, end = expect(data, 0, size, 0x30)
    if end != size:
        raise Malformed
    pos = start
    s, e = expect(data, pos, end, 0x02)
    if e - s != 1 or data[s] != 3:
        if e - s in (1, 2, 3, 4):  # v1, v2c or something: not ours to answer
            return None
        raise Malformed
    start, global_end = expect(data, e, end, 0x30)
    msg_id, pos = uint31(data, start, global_end)
    max_size, pos = uint31(data, pos, global_end)
    s, e = expect(data, pos, global_end, 0x04)
    if e - s != 1:
        raise Malformed
    flags = data[s]
    model, pos = uint31(data, e, global_end)
    if pos != global_end or model != 3 or max_size < 484 or flags & 3 == 2:
        raise Malformed  # not USM, or privacy without authentication (RFC 3412 7.2 step 5)

    s, params_end = expect(data, global_end, end, 0x04)
    s, seq_end = expect(data, s, params_end, 0x30)
    if seq_end != params_end:
        raise Malformed
    s, e = expect(data, s, seq_end, 0x04)
    if e - s > 32:
        raise Malformed
    engine_id = data[s:e]
    boots, pos = uint31(data, e, seq_end)
    engine_time, pos = uint31(data, pos, seq_end)
    s, e = expect(data, pos, seq_end, 0x04)
    if e - s > 32:
        raise Malformed
    user_name = data[s:e]
    auth_start, auth_end = expect(data, e, seq_end, 0x04)
    s, e = expect(data, auth_end, seq_end, 0x04)
    if e != seq_end:
        raise Malformed
    priv_params = data[s:e]

    tag, data_start, data_end = element(data, params_end, end)
    if data_end != end or tag != (0x04 if flags & 2 else 0x30):
        raise Malformed
    if tag == 0x30:
        data_start = params_end  # keep the ScopedPDU's own header: parse_scoped reads the TLV
    return Message(msg_id, max_size, flags, engine_id, boots, engine_time, user_name, auth_start, auth_end,
                   priv_params, data_start, data_end)


def parse_scoped(data: bytes, pos: int, limit: int, exact: bool) -> tuple[bytes, bytes, bytes, int, int]:
    """(contextEngineID, contextName, PDU TLV, PDU tag, request-id) of a ScopedPDU at ``pos``.

    ``exact``: the ScopedPDU must end at ``limit``; after DES decryption padding may follow it.
    """
    start, end = expect(data, pos, limit, 0x30)
    if exact and end != limit:
        raise Malformed
    s, e = expect(data, start, end, 0x04)
    if e - s > 32:
        raise Malformed
    context_engine_id = data[s:e]
    s, e = expect(data, e, end, 0x04)
    context_name = data[s:e]
    pdu_start = e
    tag, s, pdu_end = element(data, pdu_start, end)
    if pdu_end != end or not 0xA0 <= tag <= 0xA8 or tag == 0xA4:
        raise Malformed
    s, e = expect(data, s, pdu_end, 0x02)
    if not 1 <= e - s <= 4:
        raise Malformed
    request_id = int.from_bytes(data[s:e], "big", signed=True)
    return context_engine_id, context_name, data[pdu_start:pdu_end], tag, request_id


# --- keys -------------------------------------------------------------------------------------


def password_to_key(password: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: hash the password repeated to one megabyte (one C call, not 16384 updates)."""
    if not password:
        raise ValueError("empty password")
    ring = password * (_ONE_MB // len(password) + 1)
    return hashlib.new(hash_name, memoryview(ring)[:_ONE_MB]).digest()


class MasterKeys:
    """``password_to_key`` once per password and hash (a megabyte hashed each time otherwise): one per USM side
    (the manager's ``UsmManager``, the agent's ``UsmAgent``). Called as ``keys(password, hash_name)``."""

    __slots__ = ("_found",)

    def __init__(self) -> None:
        self._found: dict[tuple[bytes, str], bytes] = {}  # (password, hash) -> Ku

    def __call__(self, password: bytes, hash_name: str) -> bytes:
        key = (password, hash_name)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = password_to_key(password, hash_name)
        return found

    def __len__(self) -> int:
        return len(self._found)


class Salts:
    """The privacy parameters' salts of one USM side (RFC 3414 8.1.1.1, RFC 3826 3.1.2.1): a counter per cipher,
    from a random start, so two engines' salts do not collide. ``next(protocol)``: the next one for it."""

    __slots__ = ("_aes", "_des")

    def __init__(self) -> None:
        self._aes = int.from_bytes(os.urandom(8), "big")
        self._des = int.from_bytes(os.urandom(4), "big")

    def next(self, protocol: str) -> int:
        if protocol == "des":
            self._des = (self._des + 1) & 0xFFFFFFFF
            return self._des
        self._aes = (self._aes + 1) & 0xFFFFFFFFFFFFFFFF
        return self._aes


def localize_key(master: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: Kul = H(Ku || engineID || Ku)."""
    return hashlib.new(hash_name, master + engine_id + master).digest()


def extend_reeder(local: bytes, engine_id: bytes, hash_name: str, size: int) -> bytes:
    """pysnmp 7's usmAesCfb192/256Protocol: append localize(password_to_key(key so far))."""
    while len(local) < size:
        local += localize_key(password_to_key(local, hash_name), engine_id, hash_name)
    return local[:size]


def extend_blumenthal(local: bytes, hash_name: str, size: int) -> bytes:
    """draft-blumenthal-aes-usm-04 3.1.2.1: append H(key so far)."""
    while len(local) < size:
        local += hashlib.new(hash_name, local).digest()
    return local[:size]


def cipher_keys(auth_key: bytes, priv_key: bytes, protocol: str | None) -> LocalKeys:
    if protocol is None:
        return LocalKeys(auth_key, b"", None)
    if protocol == "des":
        return LocalKeys(auth_key, priv_key, TripleDES(priv_key[:8] * 3), int.from_bytes(priv_key[8:16], "big"))
    return LocalKeys(auth_key, priv_key, AES(priv_key))


def local_keys(auth_master: bytes, priv_master: bytes, engine_id: bytes, hash_name: str,
               priv_protocol: str | None) -> LocalKeys:
    """A user's keys for ``engine_id`` from its master keys (Ku; empty when the protocol is unused)."""
    auth_key = localize_key(auth_master, engine_id, hash_name) if auth_master else b""
    if not priv_protocol or not priv_master:
        return cipher_keys(auth_key, b"", None)
    size = PRIV_PROTOCOLS[priv_protocol]
    local = localize_key(priv_master, engine_id, hash_name)
    priv_key = extend_reeder(local, engine_id, hash_name, size)
    keys = cipher_keys(auth_key, priv_key, priv_protocol)
    if len(local) < size:
        other = extend_blumenthal(local, hash_name, size)
        if other != priv_key:
            keys.alternate = cipher_keys(auth_key, other, priv_protocol)
    return keys


def decrypt(keys: LocalKeys, protocol: str, boots: int, engine_time: int, salt: bytes,
            ciphertext: bytes) -> bytes | None:
    """The plaintext of an encrypted ScopedPDU (RFC 3414 8.1.1.2 DES-CBC, RFC 3826 3.1.4 AES-CFB);
    None when the parameters cannot be right (salt size, DES block size). Wrong keys give garbage."""
    if len(salt) != 8:
        return None
    if protocol == "des":
        if len(ciphertext) % 8:
            return None
        iv = (keys.pre_iv ^ int.from_bytes(salt, "big")).to_bytes(8, "big")
        decryptor = Cipher(keys.algorithm, CBC(iv)).decryptor()  # type: ignore[arg-type]
    else:
        iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
        decryptor = Cipher(keys.algorithm, CFB(iv)).decryptor()  # type: ignore[arg-type]
    return decryptor.update(ciphertext) + decryptor.finalize()


def encrypt(keys: LocalKeys, protocol: str, plaintext: bytes, boots: int, engine_time: int,
            counter: int) -> tuple[bytes, bytes]:
    """(ciphertext, msgPrivacyParameters), RFC 3414 8.1.1.1 DES-CBC / RFC 3826 3.1.2.1 AES-CFB; ``counter`` is
    the sender's salt counter, never repeated under one key (its low 32 bits for DES, 64 for AES)."""
    if protocol == "des":
        salt = boots.to_bytes(4, "big") + (counter & 0xFFFFFFFF).to_bytes(4, "big")
        iv = (keys.pre_iv ^ int.from_bytes(salt, "big")).to_bytes(8, "big")
        if len(plaintext) % 8:
            plaintext += bytes(8 - len(plaintext) % 8)
        encryptor = Cipher(keys.algorithm, CBC(iv)).encryptor()  # type: ignore[arg-type]
    else:
        salt = (counter & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
        iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
        encryptor = Cipher(keys.algorithm, CFB(iv)).encryptor()  # type: ignore[arg-type]
    return encryptor.update(plaintext) + encryptor.finalize(), salt


def frame(msg_id: int, flags: int, engine_id: bytes, boots: int, engine_time: int, user_name: bytes,
          auth_protocol: str | None, keys: LocalKeys | None, msg_data: bytes, priv_params: bytes = b"") -> bytes:
    """A whole v3 message (RFC 3412 6, RFC 3414 2.4): ``msg_data`` is the ScopedPDU TLV, or the OCTET STRING of
    its ciphertext; authenticated (HMAC over the message with the digest zeroed, then put in) when flags & 1."""
    mac_size = 0
    if flags & 1:
        hash_name, mac_size = AUTH_PROTOCOLS[auth_protocol]  # type: ignore[index]
    priv_tlv = _tlv(0x04, priv_params)
    security = _tlv(0x30, _tlv(0x04, engine_id) + _tlv(0x02, _int_contents(boots))
                    + _tlv(0x02, _int_contents(engine_time)) + _tlv(0x04, user_name)
                    + _tlv(0x04, bytes(mac_size)) + priv_tlv)
    header = b"\x02\x01\x03" + _tlv(0x30, _tlv(0x02, _int_contents(msg_id)) + _MAX_SIZE_TLV
                                    + bytes((0x04, 0x01, flags)) + b"\x02\x01\x03")
    message = _tlv(0x30, header + _tlv(0x04, security) + msg_data)
    if not mac_size:
        return message
    mac = hmac.digest(keys.auth_key, message, hash_name)[:mac_size]  # type: ignore[union-attr]
    at = len(message) - len(msg_data) - len(priv_tlv) - mac_size
    return message[:at] + mac + message[at + mac_size:]
