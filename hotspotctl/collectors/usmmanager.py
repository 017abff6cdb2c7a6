"""The manager's side of SNMPv3's User-based Security Model, for the poll engine and the walker.

The engine and the walker encode their requests as v2c messages with an empty community; for a request made
with a v3 credential set, ``udp.UdpTransport`` hands the message to ``ManagerUser.wrap``, which takes its PDU out
and sends it in a v3 message (RFC 3412 header, RFC 3414 USM: HMAC, DES-CBC, RFC 3826 AES-CFB, RFC 7860 SHA-2),
and hands each v3 answer to ``ManagerUser.unwrap``. So an SNMPv3 AP costs what a v2c one costs plus a few tens of
microseconds of crypto, on the same sockets, in-flight cap, timeouts and retries.

Discovery (RFC 3414 4): the first request to an agent goes as a noAuthNoPriv, reportable GET with an empty
engine id and user; the agent's Report (usmStatsUnknownEngineIDs) carries its engine id, boots and time, which
are kept per address (``UsmManager``). The request is then sent again, authenticated, with a new request-id; so
is one answered by an authenticated notInTimeWindow Report (RFC 3414 3.2 step 7a: the agent's boots and time
are taken from it). Each authentic answer moves the clock forward (step 7b). Reports that say the credentials
are wrong (unknown user, unsupported security level, wrong digest, decryption error) fail the request with kind
``auth``: an AP a crew cannot fix. An answer that is not authentic is dropped and counted by the transport; the
request times out as if it had not come.

AES-192/256 keys: as the agent side (``collectors.usmagent``) explains, two extensions exist. Requests use the
one pysnmp and Cisco call AES-192/256 (Reeder); an agent that reports a decryption error is asked again with the
other (Blumenthal, net-snmp's default), and the one it took is kept for it.

The message framing, keys and ciphers are ``collectors.usmcore``'s, shared with the agent side.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from hotspotctl.collectors.auth import Credentials
from hotspotctl.collectors.codec import REPORT, CodecError, Response, _tlv, decode_response
from hotspotctl.collectors.usmcore import (
    AUTH_PROTOCOLS,
    DECRYPTION_ERRORS,
    INT31_MAX,
    NOT_IN_TIME_WINDOWS,
    STATS_OID,
    UNKNOWN_ENGINE_IDS,
    UNKNOWN_USER_NAMES,
    UNSUPPORTED_SEC_LEVELS,
    WRONG_DIGESTS,
    LocalKeys,
    Malformed,
    MasterKeys,
    Message,
    Salts,
    element,
    encrypt,
    frame,
    local_keys,
    parse_scoped,
)
from hotspotctl.collectors.usmcore import decrypt as _decrypt
from hotspotctl.errors import PollErrorKind

# a Report's usmStats object by the contents octets of its OID: its name as the MIB spells it
_STATS = {STATS_OID[n]: name for n, name in (
    (UNSUPPORTED_SEC_LEVELS, "usmStatsUnsupportedSecLevels"), (NOT_IN_TIME_WINDOWS, "usmStatsNotInTimeWindows"),
    (UNKNOWN_USER_NAMES, "usmStatsUnknownUserNames"), (UNKNOWN_ENGINE_IDS, "usmStatsUnknownEngineIDs"),
    (WRONG_DIGESTS, "usmStatsWrongDigests"), (DECRYPTION_ERRORS, "usmStatsDecryptionErrors"))}
_WHY = {
    "usmStatsUnsupportedSecLevels": "the agent does not take this user at level {level}",
    "usmStatsUnknownUserNames": "the agent has no user {user!r}",
    "usmStatsWrongDigests": "the agent found the digest wrong: the auth protocol or password is not the AP's",
    "usmStatsDecryptionErrors": "the agent could not decrypt: the priv protocol or password is not the AP's",
}
_FLAGS = {"noAuthNoPriv": 4, "authNoPriv": 5, "authPriv": 7}  # msgFlags of a request: reportable, auth, priv
_DISCOVERY_PDU = b"\xa0\x0e\x02\x04"  # GetRequest, 14 octets: request-id (4 octets), then the rest below
_DISCOVERY_TAIL = b"\x02\x01\x00\x02\x01\x00\x30\x00"  # error-status 0, error-index 0, no varbinds
PEERS_MAX = 1 << 20  # agents remembered (engine id, boots, time): as udp.ADDRESSES_MAX
RESENDS_MAX = 3  # Reports a request may answer with a resend (discovery, time window, the other AES key)


class Resend:
    """``unwrap``'s answer when the request must go again (with a new request-id): the agent's engine id or clock
    was learned from a Report, or it wants the other AES-192/256 key."""


RESEND = Resend()


@dataclass(slots=True)
class Refusal:
    """``unwrap``'s answer when the agent said, in a Report, that the credentials are wrong."""

    kind: PollErrorKind
    message: str


@dataclass(slots=True)
class _Peer:
    """What a manager knows of one agent's SNMP engine (RFC 3414 2.3): its id, boots and clock."""

    engine_id: bytes
    boots: int
    engine_time: int  # as of ``mono``
    mono: float  # time.monotonic() when engine_time was learned

    def now(self) -> int:
        return min(self.engine_time + int(time.monotonic() - self.mono), INT31_MAX)


class UsmManager:
    """The agents' engines, one per address, for every v3 user of one transport."""

    def __init__(self, max_peers: int = PEERS_MAX) -> None:
        self.max_peers = max_peers
        self.peers: dict[object, _Peer] = {}
        self.master = MasterKeys()
        self.salts = Salts()
        self._users: dict[Credentials, ManagerUser] = {}

    def user(self, credentials: Credentials) -> ManagerUser:
        """The USM user of a v3 credential set, made once."""
        found = self._users.get(credentials)
        if found is None:
            found = self._users[credentials] = ManagerUser(self, credentials)
        return found

    def learn(self, address: object, engine_id: bytes, boots: int, engine_time: int) -> None:
        peers = self.peers
        if address not in peers and len(peers) >= self.max_peers:
            del peers[next(iter(peers))]
        peers[address] = _Peer(engine_id, boots, engine_time, time.monotonic())


class ManagerUser:
    """One v3 credential set as a manager uses it: its keys per agent engine, and the wrapping of its requests."""

    __slots__ = ("_keys", "auth_protocol", "credentials", "hash_name", "level", "manager", "name", "priv_protocol")

    def __init__(self, manager: UsmManager, credentials: Credentials) -> None:
        self.manager = manager
        self.credentials = credentials
        self.name = credentials.user.encode()
        self.level = credentials.level
        self.auth_protocol = credentials.auth_protocol or None
        self.priv_protocol = credentials.priv_protocol or None
        self.hash_name = AUTH_PROTOCOLS[self.auth_protocol][0] if self.auth_protocol else ""
        self._keys: dict[bytes, LocalKeys] = {}  # engine id -> this user's keys there

    def keys(self, engine_id: bytes) -> LocalKeys:
        found = self._keys.get(engine_id)
        if found is None:
            manager, credentials, hash_name = self.manager, self.credentials, self.hash_name
            auth = manager.master(credentials.auth_password.encode(), hash_name) if self.auth_protocol else b""
            priv = manager.master(credentials.priv_password.encode(), hash_name) if self.priv_protocol else b""
            found = local_keys(auth, priv, engine_id, hash_name, self.priv_protocol)
            if len(self._keys) >= manager.max_peers:
                del self._keys[next(iter(self._keys))]
            self._keys[engine_id] = found
        return found

    def label(self) -> str:
        return f"SNMPv3 user {self.credentials.user!r} ({self.level}, auth set '{self.credentials.name}')"

    # -- sending ---------------------------------------------------------------------------

    def wrap(self, address: object, message: bytes, rid: int) -> bytes:
        """The v3 message for a v2c ``message`` (empty community) whose request-id is ``rid``: msgID is ``rid`` too.

        To an agent whose engine is not known yet this is the discovery GET (RFC 3414 4), not the request."""
        peer = self.manager.peers.get(address)
        rid_octets = rid.to_bytes(4, "big")
        if peer is None:
            scoped = b"\x30\x14\x04\x00\x04\x00" + _DISCOVERY_PDU + rid_octets + _DISCOVERY_TAIL
            return frame(rid, 4, b"", 0, 0, b"", None, None, scoped)
        # The v2c message is SEQUENCE { version, community, PDU }: its PDU is what follows the community.
        _, pos, end = element(message, 0, len(message))
        _, _, pos = element(message, pos, end)
        _, _, pos = element(message, pos, end)
        engine_id = peer.engine_id
        scoped = _tlv(0x30, _tlv(0x04, engine_id) + b"\x04\x00" + message[pos:end])
        flags = _FLAGS[self.level]
        boots, engine_time = peer.boots, peer.now()
        keys = self.keys(engine_id) if self.auth_protocol else None
        priv_params = b""
        if self.priv_protocol:
            ciphertext, priv_params = encrypt(keys, self.priv_protocol, scoped, boots,  # type: ignore[arg-type]
                                              engine_time, self.manager.salts.next(self.priv_protocol))
            scoped = _tlv(0x04, ciphertext)
        return frame(rid, flags, engine_id, boots, engine_time, self.name, self.auth_protocol, keys, scoped,
                     priv_params)

    # -- receiving -------------------------------------------------------------------------

    def unwrap(self, address: object, data: bytes, message: Message) -> Response | Resend | Refusal | None:
        """What a v3 answer to one of this user's requests to ``address`` means: its Response, RESEND, a Refusal,
        or None when it is not an authentic answer (dropped: the request goes on waiting)."""
        manager = self.manager
        flags = message.flags
        try:
            if not flags & 1:  # not authenticated: a Report (discovery, or the credentials are wrong), or noAuth
                _, _, pdu, tag, request_id = parse_scoped(data, message.data_start, message.data_end, True)
                if tag == REPORT:  # its request-id may be 0 (RFC 3412 7.1 step 3): the msgID matched
                    return self._report(address, message, pdu)
                if request_id != message.msg_id or self.auth_protocol or message.engine_id != self._engine_id(address):
                    return None  # a response that should have been authenticated, or from another engine
                return self._response(pdu)
            if not self.auth_protocol:
                return None
            peer = manager.peers.get(address)
            if peer is None or message.engine_id != peer.engine_id or message.user_name != self.name:
                return None
            keys = self.keys(peer.engine_id)
            mac_size = AUTH_PROTOCOLS[self.auth_protocol][1]
            start, end = message.auth_start, message.auth_end
            if end - start != mac_size:
                return None
            zeroed = data[:start] + bytes(mac_size) + data[end:]
            if not hmac.compare_digest(hmac.digest(keys.auth_key, zeroed, self.hash_name)[:mac_size],
                                       data[start:end]):
                return None
            # Authentic: the agent's clock as it says (RFC 3414 3.2 step 7b, without its 150 s check: the agent
            # has just answered this request, which carried our notion of its time)
            if message.boots > peer.boots or (message.boots == peer.boots and message.engine_time > peer.now()):
                manager.learn(address, peer.engine_id, message.boots, message.engine_time)
            if flags & 2:
                if not self.priv_protocol:
                    return None
                plain = _decrypt(keys, self.priv_protocol, message.boots, message.engine_time, message.priv_params,
                                 data[message.data_start:message.data_end])
                if plain is None:
                    return None
                _, _, pdu, tag, request_id = parse_scoped(plain, 0, len(plain), self.priv_protocol != "des")
            else:
                _, _, pdu, tag, request_id = parse_scoped(data, message.data_start, message.data_end, True)
                if self.priv_protocol and tag != REPORT:
                    return None  # a response below the request's level
            if tag == REPORT:
                return self._report(address, message, pdu)
            if request_id != message.msg_id:
                return None
            return self._response(pdu)
        except (Malformed, IndexError, CodecError):
            return None

    def _engine_id(self, address: object) -> bytes | None:
        peer = self.manager.peers.get(address)
        return None if peer is None else peer.engine_id

    @staticmethod
    def _response(pdu: bytes) -> Response:
        """The PDU decoded by the v2c codec (wrapped as a v2c message with an empty community)."""
        return decode_response(_tlv(0x30, b"\x02\x01\x01\x04\x00" + pdu))

    def _report(self, address: object, message: Message, pdu: bytes) -> Resend | Refusal | None:
        varbinds = self._response(pdu).varbinds
        which = _STATS.get(varbinds[0][0]) if varbinds else None
        manager = self.manager
        if which == "usmStatsUnknownEngineIDs":
            # The request went out for discovery (another request may have learned the engine since), or the
            # agent's engine id changed (a replaced AP): learn it, send again.
            if not message.engine_id:
                return None
            manager.learn(address, message.engine_id, message.boots, message.engine_time)
            return RESEND
        if which == "usmStatsNotInTimeWindows":
            # Only an authenticated Report moves the clock (a noAuth user's is taken as it comes: it has no keys)
            if message.flags & 1 or not self.auth_protocol:
                peer = manager.peers.get(address)
                if peer is not None and message.engine_id == peer.engine_id:
                    manager.learn(address, peer.engine_id, message.boots, message.engine_time)
                    return RESEND
            return None
        if which == "usmStatsDecryptionErrors" and self.priv_protocol in ("aes192", "aes256"):
            peer = manager.peers.get(address)
            if peer is not None:
                keys = self.keys(peer.engine_id)
                if keys.alternate is not None:  # the other AES-192/256 key extension: kept for this agent
                    self._keys[peer.engine_id] = keys.alternate
                    return RESEND
        why = _WHY.get(which or "")
        if why is None:
            return None
        return Refusal(PollErrorKind.AUTH, f"{which}: {why.format(level=self.level, user=self.credentials.user)}; "
                                           f"check {self.label()}")

