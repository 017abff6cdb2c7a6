"""pysnmp, for what the hot path does not do: walks (discovery), SNMPv3, and one-off probes.

This is the only module that imports pysnmp. Values come back with the same Python
types as our own codec gives (see ``model.Value``), so discovery and polling do not
care which engine answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_walk_cmd,
    get_cmd,
    set_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as _auth
from pysnmp.proto import errind, rfc1902, rfc1905

from hotspotctl.collectors.auth import Credentials
from hotspotctl.collectors.codec import error_status_name
from hotspotctl.collectors.model import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Value
from hotspotctl.collectors.oids import Oid, format_oid, starts_with
from hotspotctl.errors import CollectError, PollErrorKind

_AUTH = {
    "md5": _auth.USM_AUTH_HMAC96_MD5, "sha": _auth.USM_AUTH_HMAC96_SHA,
    "sha224": _auth.USM_AUTH_HMAC128_SHA224, "sha256": _auth.USM_AUTH_HMAC192_SHA256,
    "sha384": _auth.USM_AUTH_HMAC256_SHA384, "sha512": _auth.USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    "des": _auth.USM_PRIV_CBC56_DES, "aes": _auth.USM_PRIV_CFB128_AES,
    "aes192": _auth.USM_PRIV_CFB192_AES, "aes256": _auth.USM_PRIV_CFB256_AES,
}
# Error indications that mean the credentials are wrong, not that the device is away: the agent's
# usmStats reports (wrong digest, unknown user or engine, decryption error, security level, time
# window) and pysnmp's own checks of what came back.
_AUTH_FAILURES = (errind.WrongDigest, errind.UnknownUserName, errind.DecryptionError,
                  errind.UnsupportedSecurityLevel, errind.UnknownSecurityName, errind.AuthenticationFailure,
                  errind.NotInTimeWindow, errind.UnknownEngineID)


def _auth_data(credentials: Credentials) -> Any:
    if credentials.version == "2c":
        return CommunityData(credentials.community.decode("latin-1"), mpModel=1)
    return UsmUserData(
        credentials.user,
        authKey=credentials.auth_password or None,
        privKey=credentials.priv_password or None,
        authProtocol=_AUTH[credentials.auth_protocol] if credentials.auth_protocol else _auth.USM_AUTH_NONE,
        privProtocol=_PRIV[credentials.priv_protocol] if credentials.priv_protocol else _auth.USM_PRIV_NONE,
    )


def to_value(value: Any) -> Value:
    """A pysnmp/pyasn1 value as a model.Value (the same types our codec returns)."""
    if isinstance(value, rfc1905.NoSuchObject):
        return NO_SUCH_OBJECT
    if isinstance(value, rfc1905.NoSuchInstance):
        return NO_SUCH_INSTANCE
    if isinstance(value, rfc1905.EndOfMibView):
        return END_OF_MIB_VIEW
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value)
    if isinstance(value, univ.OctetString):  # also Opaque
        return value.asOctets()
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, univ.Integer):  # Integer32, Counter32, Gauge32, TimeTicks, Counter64
        return int(value)
    raise CollectError(f"unexpected SNMP value type {type(value).__name__}")  # pragma: no cover


class SnmpClient:
    """pysnmp engines for a whole command; ``device()`` gives a Device for discovery or probes.

    v2c shares one engine. Each SNMPv3 credential set gets its own: pysnmp keeps USM keys per
    (engine, user name), so two sets with the same user and different passwords would
    otherwise overwrite each other's keys.
    """

    def __init__(self) -> None:
        self._engines: dict[str, SnmpEngine] = {}

    def engine(self, credentials: Credentials) -> SnmpEngine:
        key = "" if credentials.version == "2c" else f"v3:{credentials.name}"
        if key not in self._engines:
            self._engines[key] = SnmpEngine()
        return self._engines[key]

    def device(self, host: str, port: int, credentials: Credentials, *, timeout: float = 1.0,
               retries: int = 2, max_repetitions: int = 25) -> PysnmpDevice:
        return PysnmpDevice(self, host, port, credentials, timeout, retries, max_repetitions)

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close_dispatcher()
        self._engines.clear()


class PysnmpDevice:
    """discovery.Device over pysnmp: GET and GETBULK walks, v2c or v3."""

    def __init__(self, client: SnmpClient, host: str, port: int, credentials: Credentials,
                 timeout: float, retries: int, max_repetitions: int) -> None:
        self.client = client
        self.host = host
        self.port = port
        self.credentials = credentials
        self.timeout = timeout
        self.retries = retries
        self.max_repetitions = max_repetitions
        self._auth = _auth_data(credentials)
        self._engine = client.engine(credentials)
        self._target: UdpTransportTarget | None = None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    async def _transport(self) -> UdpTransportTarget | Udp6TransportTarget:
        if self._target is None:
            kind = Udp6TransportTarget if ":" in self.host else UdpTransportTarget  # an IPv6 literal
            try:
                self._target = await kind.create((self.host, self.port), timeout=self.timeout, retries=self.retries)
            except Exception as exc:  # pysnmp wraps resolver errors in its own type
                raise CollectError(f"{self.address}: cannot resolve: {exc}", kind=PollErrorKind.NO_ADDRESS) from None
        return self._target

    def _fail(self, indication: Any) -> CollectError:
        text = str(indication)
        if isinstance(indication, errind.RequestTimedOut):
            return CollectError(f"{self.address}: no answer within {self.timeout:g} s x {self.retries + 1} tries "
                                f"({self.credentials.level}, auth set '{self.credentials.name}')",
                                kind=PollErrorKind.TIMEOUT)
        if isinstance(indication, _AUTH_FAILURES):
            return CollectError(f"{self.address}: SNMPv3 authentication failed ({text}); check auth set "
                                f"'{self.credentials.name}'", kind=PollErrorKind.AUTH)
        return CollectError(f"{self.address}: {text}", kind=PollErrorKind.PROTOCOL)

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        target = await self._transport()
        indication, status, index, varbinds = await get_cmd(
            self._engine, self._auth, target, ContextData(),
            *(ObjectType(ObjectIdentity(format_oid(oid))) for oid in oids), lookupMib=False)
        if indication:
            raise self._fail(indication)
        if status:
            raise CollectError(f"{self.address}: the agent answered {error_status_name(int(status))} (error-status "
                               f"{int(status)}, error-index {int(index)}; {self.credentials.level}, auth set "
                               f"'{self.credentials.name}')", kind=PollErrorKind.AGENT)
        return {tuple(name): to_value(value) for name, value in varbinds}

    async def set(self, oid: Oid, value: int | str) -> Value:
        """SET one object (an int as INTEGER, a str as OCTET STRING); the value the agent answered with."""
        target = await self._transport()
        encoded = rfc1902.Integer32(value) if isinstance(value, int) else rfc1902.OctetString(value.encode())
        indication, status, _index, varbinds = await set_cmd(
            self._engine, self._auth, target, ContextData(), ObjectType(ObjectIdentity(format_oid(oid)), encoded),
            lookupMib=False)
        if indication:
            raise self._fail(indication)
        if status:
            raise CollectError(f"{self.address}: the agent refused the SET of {format_oid(oid)}: "
                               f"{error_status_name(int(status))} (does auth set '{self.credentials.name}' have write "
                               "access?)", kind=PollErrorKind.AGENT)
        return to_value(varbinds[0][1])

    async def walk(self, prefix: Oid) -> list[tuple[Oid, Value]]:
        target = await self._transport()
        rows: list[tuple[Oid, Value]] = []
        async for indication, status, _index, varbinds in bulk_walk_cmd(
                self._engine, self._auth, target, ContextData(), 0, self.max_repetitions,
                ObjectType(ObjectIdentity(format_oid(prefix))), lookupMib=False, lexicographicMode=False):
            if indication:
                raise self._fail(indication)
            if status:
                raise CollectError(f"{self.address}: the agent answered {error_status_name(int(status))} "
                                   f"(error-status {int(status)}) walking {format_oid(prefix)}",
                                   kind=PollErrorKind.AGENT)
            for name, value in varbinds:
                oid = tuple(name)
                converted = to_value(value)
                if not starts_with(oid, prefix) or oid == prefix or converted is END_OF_MIB_VIEW:
                    return rows
                rows.append((oid, converted))
        return rows
