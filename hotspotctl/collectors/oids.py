"""Object identifiers: parsed once from text, compared as tuples, encoded to BER once.

Text forms accepted: ``1.3.6.1.2.1.1.3.0`` (a leading dot is allowed) and net-snmp's
quoted string index, ``1.3.6.1.4.1.8072.1.3.2.3.1.1."clients-wlan"``, which stands for
the string's length followed by its bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Oid = tuple[int, ...]

_PART = re.compile(r'"([^"]*)"|(\d+)')


def parse_oid(text: str) -> Oid:
    """``'1.3.6.1.2.1.1.3.0'`` -> ``(1, 3, 6, 1, 2, 1, 1, 3, 0)``; ValueError says what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"not a numeric OID: {text!r}")
    body = text.strip()
    if body.startswith("."):
        body = body[1:]
    arcs: list[int] = []
    pos = 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if not match:
            raise ValueError(f"not a numeric OID: {text!r}")
        if match.group(1) is not None:
            raw = match.group(1).encode()
            arcs.append(len(raw))
            arcs.extend(raw)
        else:
            arcs.append(int(match.group(2)))
        pos = match.end()
        if pos < len(body):
            if body[pos] != ".":
                raise ValueError(f"not a numeric OID: {text!r}")
            pos += 1
            if pos == len(body):
                raise ValueError(f"not a numeric OID: {text!r} (ends with a dot)")
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"not a numeric OID: {text!r}")
    if any(arc >= 1 << 32 for arc in arcs):
        raise ValueError(f"not a numeric OID: {text!r} (an arc is larger than 2^32-1)")
    return tuple(arcs)


def format_oid(oid: Oid) -> str:
    return ".".join(map(str, oid))


def starts_with(oid: Oid, prefix: Oid) -> bool:
    return oid[: len(prefix)] == prefix


def encode_oid(oid: Oid) -> bytes:
    """The BER contents octets of an OBJECT IDENTIFIER (no tag, no length)."""
    return encode_arcs((oid[0] * 40 + oid[1], *oid[2:]))


def encode_arcs(arcs: Sequence[int]) -> bytes:
    """BER sub-identifiers of ``arcs`` as they are (no first-two-arcs packing): an OID's contents once the
    first two are packed, or an index appended to an encoded OID prefix."""
    out = bytearray()
    for arc in arcs:
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def decode_oid(data: bytes) -> Oid:
    """The inverse of encode_oid; ValueError on a truncated or empty encoding."""
    if not data or data[-1] & 0x80:
        raise ValueError("truncated OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


# Well-known objects every profile may use.
SYS_DESCR = parse_oid("1.3.6.1.2.1.1.1.0")
SYS_OBJECT_ID = parse_oid("1.3.6.1.2.1.1.2.0")
SYS_UPTIME = parse_oid("1.3.6.1.2.1.1.3.0")
SYS_NAME = parse_oid("1.3.6.1.2.1.1.5.0")
HR_SYSTEM_UPTIME = parse_oid("1.3.6.1.2.1.25.1.1.0")
SNMP_ENGINE_TIME = parse_oid("1.3.6.1.6.3.10.2.1.3.0")

IF_DESCR = parse_oid("1.3.6.1.2.1.2.2.1.2")
IF_TYPE = parse_oid("1.3.6.1.2.1.2.2.1.3")
IF_SPEED = parse_oid("1.3.6.1.2.1.2.2.1.5")
IF_OPER_STATUS = parse_oid("1.3.6.1.2.1.2.2.1.8")
IF_IN_OCTETS = parse_oid("1.3.6.1.2.1.2.2.1.10")
IF_OUT_OCTETS = parse_oid("1.3.6.1.2.1.2.2.1.16")
IF_NAME = parse_oid("1.3.6.1.2.1.31.1.1.1.1")
IF_HC_IN_OCTETS = parse_oid("1.3.6.1.2.1.31.1.1.1.6")
IF_HC_OUT_OCTETS = parse_oid("1.3.6.1.2.1.31.1.1.1.10")
IF_HIGH_SPEED = parse_oid("1.3.6.1.2.1.31.1.1.1.15")

UPTIME_SOURCES = {"sys_uptime": SYS_UPTIME, "hr_system_uptime": HR_SYSTEM_UPTIME,
                  "snmp_engine_time": SNMP_ENGINE_TIME}
