"""A small SNMPv2c BER codec for the poller's hot path.

Decoding a response with pyasn1/pysnmp costs hundreds of microseconds; the poller sends tens
of thousands of GETs a minute, so it encodes its requests once per shape (``GetTemplate``) and
decodes answers with ``decode_response``, which indexes the datagram directly (a few µs).

Values follow ``model.Value``: INTEGER, Counter32, Gauge32, TimeTicks, Counter64 -> int;
OCTET STRING, Opaque -> bytes; OBJECT IDENTIFIER -> Oid; IpAddress -> "a.b.c.d"; NULL -> None;
noSuchObject, noSuchInstance, endOfMibView -> the ``Absent`` sentinels.

Decoding is strict about structure (definite lengths only, no trailing bytes, each element
inside its parent) and lenient about one thing real agents get wrong: an unsigned value whose
first octet has the top bit set is read as unsigned, as net-snmp does. Encoding is minimal
(DER-like), as pysnmp's is, so the two agree byte for byte, with one exception: pyasn1 gives
-2**(8k-1) (-128, -32768, ...) a redundant leading 0xFF octet, which X.690 8.3.2 forbids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hotspotctl.collectors.model import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Absent, Value
from hotspotctl.collectors.oids import Oid, decode_oid, encode_oid

GET, GET_NEXT, RESPONSE, GET_BULK = 0xA0, 0xA1, 0xA2, 0xA5
SET, INFORM, TRAP_V2, REPORT = 0xA3, 0xA6, 0xA7, 0xA8
# Every v2c PDU laid out as request-id, error-status, error-index, varbinds (GetBulk reuses the
# two error fields for non-repeaters and max-repetitions). 0xA4, the v1 Trap, is laid out differently.
PDU_TYPES = frozenset({GET, GET_NEXT, RESPONSE, SET, GET_BULK, INFORM, TRAP_V2, REPORT})

INTEGER, OCTET_STRING, NULL, OBJECT_IDENTIFIER = 0x02, 0x04, 0x05, 0x06
IP_ADDRESS, COUNTER32, GAUGE32, TIME_TICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
NO_SUCH_OBJECT_TAG, NO_SUCH_INSTANCE_TAG, END_OF_MIB_VIEW_TAG = 0x80, 0x81, 0x82
_SEQUENCE = 0x30

# RFC 3416 error-status values (v1's first six, then SNMPv2's): the one table every path names them
# from (the v2c engine and walker, and pysnmp's v3 and v2c client in snmp.py).
ERROR_STATUS_NAMES = {
    0: "noError", 1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr", 6: "noAccess",
    7: "wrongType", 8: "wrongLength", 9: "wrongEncoding", 10: "wrongValue", 11: "noCreation",
    12: "inconsistentValue", 13: "resourceUnavailable", 14: "commitFailed", 15: "undoFailed",
    16: "authorizationError", 17: "notWritable", 18: "inconsistentName",
}
TOO_BIG = 1


def error_status_name(status: int) -> str:
    return ERROR_STATUS_NAMES.get(status, f"error-status {status}")


REQUEST_ID_MIN, REQUEST_ID_MAX = 0x01000000, 0x7FFFFFFF
REQUEST_ID_RANGE = range(REQUEST_ID_MIN, REQUEST_ID_MAX + 1)

_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_UNSIGNED_MAX = {COUNTER32: (1 << 32) - 1, GAUGE32: (1 << 32) - 1, TIME_TICKS: (1 << 32) - 1,
                 COUNTER64: (1 << 64) - 1}
_ABSENT = {NO_SUCH_OBJECT_TAG: NO_SUCH_OBJECT, NO_SUCH_INSTANCE_TAG: NO_SUCH_INSTANCE,
           END_OF_MIB_VIEW_TAG: END_OF_MIB_VIEW}


class CodecError(ValueError):
    """A datagram that is not a well-formed SNMPv2c message, or a value that cannot be encoded."""


@dataclass(slots=True)
class Response:
    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[bytes, int, Value]]  # (OID BER contents, value tag, decoded value)


# --- decoding -------------------------------------------------------------------------------
# The decoder reads tags and short lengths by indexing the bytes; reading past the end raises
# IndexError, which the public functions turn into CodecError. Slices never raise, so each
# element's end is checked against its parent's end (for the last varbind, right after it).


def _long_length(data: bytes, pos: int, first: int) -> tuple[int, int]:
    """A long-form length whose first octet ``first`` (0x81..0x84) is already read; ``pos`` is past it."""
    count = first & 0x7F
    if count == 0:
        raise CodecError("indefinite length is not allowed")
    if count > 4:
        raise CodecError(f"length of {count} octets is too long")
    end = pos + count
    if end > len(data):
        raise CodecError("truncated length")
    return int.from_bytes(data[pos:end], "big"), end


def _integer(data: bytes, pos: int, limit: int, what: str) -> tuple[int, int]:
    """An INTEGER (Integer32 range) at ``pos`` inside ``data[:limit]``: (value, position after it)."""
    if data[pos] != INTEGER:
        raise CodecError(f"{what}: expected INTEGER, got tag 0x{data[pos]:02x}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        length, pos = _long_length(data, pos, length)
    end = pos + length
    if end > limit:
        raise CodecError(f"{what}: INTEGER runs past its container")
    if length == 1:
        value = data[pos]
        return (value - 256 if value & 0x80 else value), end
    if length == 0:
        raise CodecError(f"{what}: empty INTEGER")
    value = int.from_bytes(data[pos:end], "big", signed=True)
    if length > 4 and not _INT32_MIN <= value <= _INT32_MAX:
        raise CodecError(f"{what}: INTEGER {value} is out of range")
    return value, end


def _header(data: bytes) -> tuple[int, bytes, int, int, int, int]:
    """Message header up to the request-id: (version, community, pdu_type, request_id, pos, end).

    The message must fill ``data`` exactly and the PDU must end where the message ends, so every
    header element's limit is ``len(data)`` and a read past it raises IndexError. The common
    shapes (one-octet version, four-octet request-id) are read inline.
    """
    size = len(data)
    if data[0] != 0x30:  # SEQUENCE
        raise CodecError(f"message: expected SEQUENCE, got tag 0x{data[0]:02x}")
    length = data[1]
    pos = 2
    if length & 0x80:
        length, pos = _long_length(data, pos, length)
    if pos + length != size:
        raise CodecError("message: trailing bytes after the message" if pos + length < size else "message: truncated")
    if data[pos] == 0x02 and data[pos + 1] == 1:  # INTEGER, one octet
        version = data[pos + 2]
        if version & 0x80:
            version -= 256
        pos += 3
    else:
        version, pos = _integer(data, pos, size, "version")
    if data[pos] != 0x04:  # OCTET STRING
        raise CodecError(f"community: expected OCTET STRING, got tag 0x{data[pos]:02x}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        length, pos = _long_length(data, pos, length)
    community_end = pos + length
    if community_end > size:
        raise CodecError("community: runs past the message")
    community = data[pos:community_end]
    pos = community_end
    pdu_type = data[pos]
    if pdu_type not in PDU_TYPES:
        raise CodecError(f"pdu: unsupported PDU tag 0x{pdu_type:02x}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        length, pos = _long_length(data, pos, length)
    if pos + length != size:
        raise CodecError("pdu: length does not match the message")
    if data[pos] == 0x02 and data[pos + 1] == 4 and pos + 6 <= size:  # INTEGER, four octets
        request_id = int.from_bytes(data[pos + 2:pos + 6], "big", signed=True)
        pos += 6
    else:
        request_id, pos = _integer(data, pos, size, "request-id")
    return version, community, pdu_type, request_id, pos, size


def _decode(data: bytes) -> Response:
    version, community, pdu_type, request_id, pos, end = _header(data)
    if data[pos] == 0x02 and data[pos + 1] == 1:  # INTEGER, one octet
        error_status = data[pos + 2]
        if error_status & 0x80:
            error_status -= 256
        pos += 3
    else:
        error_status, pos = _integer(data, pos, end, "error-status")
    if data[pos] == 0x02 and data[pos + 1] == 1:
        error_index = data[pos + 2]
        if error_index & 0x80:
            error_index -= 256
        pos += 3
    else:
        error_index, pos = _integer(data, pos, end, "error-index")
    if data[pos] != 0x30:  # SEQUENCE
        raise CodecError(f"varbinds: expected SEQUENCE, got tag 0x{data[pos]:02x}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        length, pos = _long_length(data, pos, length)
    if pos + length != end:
        raise CodecError("varbinds: length does not match the PDU")

    # Tags are literals in this loop (LOAD_CONST is cheaper than a global); see the constants above.
    # ``end`` is len(data): an element running past it raises IndexError or gives a short slice,
    # and then the final position check fails.
    varbinds: list[tuple[bytes, int, Value]] = []
    append = varbinds.append
    unsigned_max = _UNSIGNED_MAX
    while pos < end:
        if data[pos] != 0x30:  # SEQUENCE
            raise CodecError(f"varbind: expected SEQUENCE, got tag 0x{data[pos]:02x}")
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            length, pos = _long_length(data, pos, length)
        vb_end = pos + length  # checked below: the value must end exactly here, and the list at ``end``

        if data[pos] != 0x06:  # OBJECT IDENTIFIER
            raise CodecError(f"varbind: expected OBJECT IDENTIFIER, got tag 0x{data[pos]:02x}")
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            length, pos = _long_length(data, pos, length)
        oid_end = pos + length  # a name running past vb_end makes the value's end differ from vb_end
        if not length or data[oid_end - 1] & 0x80:
            raise CodecError("varbind: empty or truncated OBJECT IDENTIFIER")
        oid = data[pos:oid_end]

        tag = data[oid_end]
        length = data[oid_end + 1]
        pos = oid_end + 2
        if length & 0x80:
            length, pos = _long_length(data, pos, length)
        val_end = pos + length
        if val_end != vb_end:
            raise CodecError("varbind: value length does not match the varbind")

        value: Value
        if tag == 0x02:  # INTEGER
            if length == 1:
                value = data[pos]
                if value & 0x80:
                    value -= 256
            elif length == 0:
                raise CodecError("varbind: empty INTEGER")
            else:
                value = int.from_bytes(data[pos:val_end], "big", signed=True)
                if length > 4 and not _INT32_MIN <= value <= _INT32_MAX:
                    raise CodecError(f"varbind: INTEGER {value} is out of range")
        elif tag in unsigned_max:  # Counter32, Gauge32, TimeTicks, Counter64
            if length == 0:
                raise CodecError("varbind: empty unsigned integer")
            value = int.from_bytes(data[pos:val_end], "big")
            if length > 4 and value > unsigned_max[tag]:
                raise CodecError(f"varbind: value {value} is out of range for tag 0x{tag:02x}")
        elif tag == 0x04 or tag == 0x44:  # OCTET STRING, Opaque
            value = data[pos:val_end]
        elif tag == 0x06:  # OBJECT IDENTIFIER
            try:
                value = decode_oid(data[pos:val_end])
            except ValueError as exc:
                raise CodecError(f"varbind: {exc}") from None
        elif tag == 0x40:  # IpAddress
            if length != 4:
                raise CodecError(f"varbind: IpAddress of {length} octets")
            value = f"{data[pos]}.{data[pos + 1]}.{data[pos + 2]}.{data[pos + 3]}"
        elif tag == 0x05:  # NULL
            if length:
                raise CodecError("varbind: NULL with contents")
            value = None
        elif tag in _ABSENT:  # noSuchObject, noSuchInstance, endOfMibView
            if length:
                raise CodecError("varbind: exception value with contents")
            value = _ABSENT[tag]
        else:
            raise CodecError(f"varbind: unknown value tag 0x{tag:02x}")
        append((oid, tag, value))
        pos = val_end
    if pos != end:  # the last varbind ran past the list; its slices were short, so nothing wrong was kept
        raise CodecError("varbind: runs past the list")
    return Response(version, community, pdu_type, request_id, error_status, error_index, varbinds)


def decode_response(data: bytes) -> Response:
    """Decode a whole v2c message (any PDU with the request/response layout); CodecError if malformed."""
    if type(data) is not bytes:
        data = bytes(data)
    try:
        return _decode(data)
    except IndexError:
        raise CodecError("truncated message") from None


def peek_request_id(data: bytes) -> int:
    """The request-id of a v2c message, checking its framing but not decoding its varbinds."""
    if type(data) is not bytes:
        data = bytes(data)
    try:
        return _header(data)[3]
    except IndexError:
        raise CodecError("truncated message") from None


# --- encoding -------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    if size > 4:
        raise CodecError(f"length {n} is too large")
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


def _tlv(tag: int, contents: bytes) -> bytes:
    return bytes((tag,)) + _length(len(contents)) + contents


def _int_contents(value: int) -> bytes:
    """Minimal two's complement contents of an integer (a non-negative one gets a leading 0x00 if needed)."""
    return value.to_bytes((value if value >= 0 else ~value).bit_length() // 8 + 1, "big", signed=True)


def _check_oid(oid: Oid) -> None:
    if (not isinstance(oid, tuple) or len(oid) < 2 or not all(type(arc) is int and arc >= 0 for arc in oid)
            or oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40)):
        raise CodecError(f"not a valid OID: {oid!r}")


def _encode_oid(oid: Oid) -> bytes:
    _check_oid(oid)
    return encode_oid(oid)


def _value_contents(tag: int, value: Value) -> bytes:
    if tag == INTEGER:
        if type(value) is not int or not _INT32_MIN <= value <= _INT32_MAX:
            raise CodecError(f"INTEGER needs an int in the Integer32 range, got {value!r}")
        return _int_contents(value)
    if tag in _UNSIGNED_MAX:
        if type(value) is not int or not 0 <= value <= _UNSIGNED_MAX[tag]:
            raise CodecError(f"tag 0x{tag:02x} needs an int from 0 to {_UNSIGNED_MAX[tag]}, got {value!r}")
        return _int_contents(value)
    if tag in (OCTET_STRING, OPAQUE):
        if not isinstance(value, bytes | bytearray | memoryview):
            raise CodecError(f"tag 0x{tag:02x} needs bytes, got {value!r}")
        return bytes(value)
    if tag == OBJECT_IDENTIFIER:
        return _encode_oid(value)  # type: ignore[arg-type]
    if tag == IP_ADDRESS:
        parts = value.split(".") if isinstance(value, str) else ()
        if len(parts) != 4 or not all(p.isascii() and p.isdigit() and int(p) < 256 for p in parts):
            raise CodecError(f"IpAddress needs a dotted quad, got {value!r}")
        return bytes(int(p) for p in parts)
    if tag == NULL:
        if value is not None:
            raise CodecError(f"NULL needs None, got {value!r}")
        return b""
    if tag in _ABSENT:
        if not isinstance(value, Absent):
            raise CodecError(f"tag 0x{tag:02x} needs an Absent sentinel, got {value!r}")
        return b""
    raise CodecError(f"unknown value tag 0x{tag:02x}")


def encode_value(tag: int, value: Value) -> bytes:
    """One value's whole TLV (tag, length, contents), checked as encode_response checks it."""
    return _tlv(tag, _value_contents(tag, value))


def _message(version: int, community: bytes, pdu_type: int, pdu_contents: bytes) -> bytes:
    body = _tlv(INTEGER, _int_contents(version)) + _tlv(OCTET_STRING, bytes(community))
    return _tlv(_SEQUENCE, body + _tlv(pdu_type, pdu_contents))


def encode_response(community: bytes, request_id: int, varbinds: Sequence[tuple[Oid, int, Value]], *,
                    error_status: int = 0, error_index: int = 0, pdu_type: int = RESPONSE,
                    version: int = 1) -> bytes:
    """A whole v2c message; ``pdu_type`` may be any request/response PDU tag (GET_BULK puts
    non-repeaters and max-repetitions in error_status and error_index)."""
    if pdu_type not in PDU_TYPES:
        raise CodecError(f"unsupported PDU tag 0x{pdu_type:02x}")
    for name, number in (("version", version), ("request-id", request_id), ("error-status", error_status),
                         ("error-index", error_index)):
        if type(number) is not int or not _INT32_MIN <= number <= _INT32_MAX:
            raise CodecError(f"{name} needs an int in the Integer32 range, got {number!r}")
    items = b"".join(
        _tlv(_SEQUENCE, _tlv(OBJECT_IDENTIFIER, _encode_oid(oid)) + _tlv(tag, _value_contents(tag, value)))
        for oid, tag, value in varbinds
    )
    pdu = (_tlv(INTEGER, _int_contents(request_id)) + _tlv(INTEGER, _int_contents(error_status))
           + _tlv(INTEGER, _int_contents(error_index)) + _tlv(_SEQUENCE, items))
    return _message(version, community, pdu_type, pdu)


class GetTemplate:
    """A v2c GetRequest for one shape (community + OID list), encoded once; only the request-id changes."""

    __slots__ = ("_prefix", "_suffix", "community", "oid_bytes", "oids", "version")

    def __init__(self, community: bytes, oids: Sequence[Oid], version: int = 1) -> None:
        self.community = bytes(community)
        self.version = version
        self.oids: tuple[Oid, ...] = tuple(tuple(oid) for oid in oids)
        self.oid_bytes: tuple[bytes, ...] = tuple(_encode_oid(oid) for oid in self.oids)
        message = encode_response(self.community, REQUEST_ID_MIN, [(oid, NULL, None) for oid in self.oids],
                                  pdu_type=GET, version=version)
        # The request-id is the PDU's first element, always a 4-octet INTEGER: its contents end
        # where the header parse stops.
        slot = _header(message)[4] - 4
        self._prefix = message[:slot]
        self._suffix = message[slot + 4:]

    def encode(self, request_id: int) -> bytes:
        if not REQUEST_ID_MIN <= request_id <= REQUEST_ID_MAX:
            raise ValueError(f"request-id {request_id} is outside {REQUEST_ID_MIN:#x}..{REQUEST_ID_MAX:#x}")
        return self._prefix + request_id.to_bytes(4, "big") + self._suffix

    def __repr__(self) -> str:
        return f"GetTemplate({self.community!r}, {len(self.oids)} OIDs)"
