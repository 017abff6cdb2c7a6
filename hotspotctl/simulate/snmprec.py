"""Reading snmpsim ``.snmprec`` recordings, and looking records up by OID.

A recording has one ``OID|TYPE|VALUE`` line per object. TYPE is the decimal BER tag (2 INTEGER,
4 OCTET STRING, 5 NULL, 6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32, 66 Gauge32,
67 TimeTicks, 68 Opaque, 70 Counter64; 128-130 the exception values); a trailing ``x`` means
VALUE is hex, a trailing ``e`` that it has Python-style backslash escapes (snmpsim writes either
only for OCTET STRING, Opaque and IpAddress, and only those accept them here). Lines are read as
snmpsim reads them: as ISO-8859-1 (so an OCTET STRING's bytes are the file's bytes), stripped of
surrounding whitespace, split on the first two ``|``; blank lines and ``#`` comments are skipped.
snmpsim's variation modules (``TYPE:module``) are not supported.

Values follow ``model.Value``, the same as the codec's: ints, bytes, Oid tuples, "a.b.c.d",
None and the Absent sentinels.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hotspotctl.collectors.model import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Value
from hotspotctl.collectors.oids import Oid, parse_oid


@dataclass(frozen=True, slots=True)
class Record:
    oid: Oid
    tag: int
    value: Value


_INT_RANGES = {2: (-(1 << 31), (1 << 31) - 1), 65: (0, (1 << 32) - 1), 66: (0, (1 << 32) - 1),
               67: (0, (1 << 32) - 1), 70: (0, (1 << 64) - 1)}
_BYTES_TAGS = frozenset({4, 68})
_ABSENT = {128: NO_SUCH_OBJECT, 129: NO_SUCH_INSTANCE, 130: END_OF_MIB_VIEW}
_ESCAPES = {"\\": 0x5C, "'": 0x27, '"': 0x22, "a": 0x07, "b": 0x08, "f": 0x0C, "n": 0x0A, "r": 0x0D,
            "t": 0x09, "v": 0x0B}


def _unescape(text: str) -> bytes:
    """snmpsim's ``e`` encoding: ISO-8859-1 text with \\\\, \\', \\", \\a, \\b, \\f, \\n, \\r, \\t, \\v and \\xHH."""
    out = bytearray()
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char != "\\":
            out.append(ord(char))
            pos += 1
            continue
        code = text[pos + 1:pos + 2]
        if code == "x":
            digits = text[pos + 2:pos + 4]
            if len(digits) != 2 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError(f"bad \\x escape {text[pos:pos + 4]!r}")
            out.append(int(digits, 16))
            pos += 4
        elif code in _ESCAPES:
            out.append(_ESCAPES[code])
            pos += 2
        else:
            raise ValueError(f"unknown escape {text[pos:pos + 2]!r}")
    return bytes(out)


def _octets(text: str, encoding: str) -> bytes:
    if encoding == "x":
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"bad hex value {text!r}") from None
    if encoding == "e":
        return _unescape(text)
    return text.encode("iso-8859-1")


def parse_value(tag_text: str, text: str) -> tuple[int, Value]:
    """A record's TYPE and VALUE fields -> (tag, value); ValueError says what is wrong."""
    encoding = tag_text[-1:] if tag_text[-1:] in ("x", "e") else ""
    number = tag_text[: len(tag_text) - len(encoding)]
    if ":" in number:
        raise ValueError(f"type {tag_text!r}: snmpsim variation modules are not supported")
    if not (number.isascii() and number.isdigit()):
        raise ValueError(f"bad type {tag_text!r}")
    tag = int(number)
    if encoding and tag not in _BYTES_TAGS and tag != 64:
        raise ValueError(f"type {tag_text!r}: only OCTET STRING, Opaque and IpAddress values can be hex or escaped")
    if tag in _INT_RANGES:
        body = text[1:] if text.startswith("-") else text
        if not (body.isascii() and body.isdigit()):
            raise ValueError(f"type {tag}: not an integer: {text!r}")
        value = int(text)
        low, high = _INT_RANGES[tag]
        if not low <= value <= high:
            raise ValueError(f"type {tag}: {value} is outside {low}..{high}")
        return tag, value
    if tag in _BYTES_TAGS:
        return tag, _octets(text, encoding)
    if tag == 64:
        if encoding:
            raw = _octets(text, encoding)
            if len(raw) != 4:
                raise ValueError(f"type 64: IpAddress of {len(raw)} octets: {text!r}")
            return tag, ".".join(map(str, raw))
        parts = text.split(".")
        if len(parts) != 4 or not all(p.isascii() and p.isdigit() and int(p) < 256 for p in parts):
            raise ValueError(f"type 64: not an IPv4 address: {text!r}")
        return tag, ".".join(str(int(p)) for p in parts)
    if tag == 6:
        return tag, parse_oid(text)
    if tag == 5:
        if text:
            raise ValueError(f"type 5: NULL with a value {text!r}")
        return tag, None
    if tag in _ABSENT:
        return tag, _ABSENT[tag]
    raise ValueError(f"unknown type {tag_text!r}")


def read_snmprec(path: Path) -> list[Record]:
    """Every record of a recording, in file order; ValueError names ``file:line`` and the problem."""
    records: list[Record] = []
    with open(path, "rb") as stream:
        for number, raw in enumerate(stream, 1):
            line = raw.decode("iso-8859-1").strip()
            if not line or line.startswith("#"):
                continue
            try:
                fields = line.split("|", 2)
                if len(fields) != 3:
                    raise ValueError("expected OID|TYPE|VALUE")
                oid_text, tag_text, text = fields
                oid = parse_oid(oid_text)
                tag, value = parse_value(tag_text, text)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
            records.append(Record(oid, tag, value))
    return records


class Recording:
    """A recording's records in OID order, for GET, GETNEXT and walks."""

    __slots__ = ("_by_oid", "_oids", "_records")

    def __init__(self, records: Iterable[Record]) -> None:
        by_oid: dict[Oid, Record] = {}
        for record in records:
            by_oid.setdefault(record.oid, record)  # a duplicate OID: the first one wins
        self._by_oid = by_oid
        self._oids: list[Oid] = sorted(by_oid)
        self._records: list[Record] = [by_oid[oid] for oid in self._oids]

    @classmethod
    def from_file(cls, path: Path) -> Recording:
        return cls(read_snmprec(path))

    def __len__(self) -> int:
        return len(self._oids)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def get(self, oid: Oid) -> Record | None:
        return self._by_oid.get(tuple(oid))

    def walk(self, prefix: Oid) -> list[Record]:
        """Every record strictly under ``prefix`` (not ``prefix`` itself), in OID order."""
        prefix = tuple(prefix)
        start = bisect.bisect_right(self._oids, prefix)
        # Everything under prefix sorts before prefix with its last arc incremented.
        stop = bisect.bisect_left(self._oids, (*prefix[:-1], prefix[-1] + 1), start) if prefix else len(self._oids)
        return self._records[start:stop]

    def next(self, oid: Oid) -> Record | None:
        """The first record whose OID is greater than ``oid`` (GETNEXT), or None past the end."""
        index = bisect.bisect_right(self._oids, tuple(oid))
        return self._records[index] if index < len(self._records) else None
