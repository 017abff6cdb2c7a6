"""The SNMPv2c codec: exact values, byte-for-byte agreement with pysnmp on every recorded device,
and property tests that malformed datagrams only ever raise CodecError."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.codec.ber import encoder as ber_encoder
from pysnmp.proto.api import v2c

from hotspotctl.collectors import codec
from hotspotctl.collectors.codec import (
    GET,
    GET_BULK,
    GET_NEXT,
    REQUEST_ID_MAX,
    REQUEST_ID_MIN,
    RESPONSE,
    CodecError,
    GetTemplate,
    decode_response,
    encode_response,
    peek_request_id,
)
from hotspotctl.collectors.model import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Absent, Value
from hotspotctl.collectors.oids import Oid, decode_oid, encode_oid, parse_oid
from hotspotctl.simulate.snmprec import read_snmprec

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"
RECORDINGS = sorted(DEVICES.glob("*/*.snmprec"))
CHUNK = 20

VarBind = tuple[Oid, int, Value]

# --- pysnmp on the other side -------------------------------------------------------------------

_TO_PYSNMP = {
    0x02: v2c.Integer32,
    0x04: v2c.OctetString,
    0x06: v2c.ObjectIdentifier,
    0x40: v2c.IpAddress,
    0x41: v2c.Counter32,
    0x42: v2c.Gauge32,
    0x43: v2c.TimeTicks,
    0x44: v2c.Opaque,
    0x46: v2c.Counter64,
}
_PYSNMP_ABSENT = {0x80: v2c.NoSuchObject(""), 0x81: v2c.NoSuchInstance(""), 0x82: v2c.EndOfMibView("")}
_ABSENT_BY_TAG = {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB_VIEW}


def to_pysnmp(tag: int, value: Value) -> object:
    if tag == 0x05:
        return v2c.Null("")
    if tag in _PYSNMP_ABSENT:
        return _PYSNMP_ABSENT[tag]
    return _TO_PYSNMP[tag](value)


def from_pysnmp(value: object) -> tuple[int, Value]:
    first = value.tagSet[0]  # type: ignore[attr-defined]
    tag = first.tagClass | first.tagFormat | first.tagId
    if tag in (0x02, 0x41, 0x42, 0x43, 0x46):
        return tag, int(value)  # type: ignore[call-overload]
    if tag in (0x04, 0x44):
        return tag, value.asOctets()  # type: ignore[attr-defined]
    if tag == 0x06:
        return tag, tuple(value)  # type: ignore[call-overload]
    if tag == 0x40:
        return tag, ".".join(map(str, value.asNumbers()))  # type: ignore[attr-defined]
    if tag == 0x05:
        return tag, None
    return tag, _ABSENT_BY_TAG[tag]


_PYSNMP_PDUS = {GET: v2c.GetRequestPDU, GET_NEXT: v2c.GetNextRequestPDU, RESPONSE: v2c.ResponsePDU}


def pysnmp_encode(community: bytes, request_id: int, varbinds: Sequence[VarBind], pdu_type: int = RESPONSE) -> bytes:
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    pdu = _PYSNMP_PDUS[pdu_type]()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_varbinds(pdu, [(v2c.ObjectIdentifier(oid), to_pysnmp(tag, value)) for oid, tag, value in varbinds])
    v2c.apiMessage.set_pdu(msg, pdu)
    return ber_encoder.encode(msg)


def pysnmp_decode(data: bytes) -> tuple[int, bytes, int, list[VarBind]]:
    msg, rest = ber_decoder.decode(data, asn1Spec=v2c.Message())
    assert not rest
    pdu = v2c.apiMessage.get_pdu(msg)
    varbinds = [(tuple(oid), *from_pysnmp(value)) for oid, value in v2c.apiPDU.get_varbinds(pdu)]
    return (int(v2c.apiMessage.get_version(msg)), v2c.apiMessage.get_community(msg).asOctets(),
            int(v2c.apiPDU.get_request_id(pdu)), varbinds)


def pyasn1_widens(tag: int, value: Value) -> bool:
    """pyasn1 encodes -2**(8k-1) (-128, -32768, ...) with a redundant leading 0xFF octet (ff 80 for -128).

    X.690 8.3.2 says the first nine bits of an INTEGER must not all be ones, so the minimal form
    (80) is ours; both decoders read either form as the same value.
    """
    return tag == 0x02 and isinstance(value, int) and value < 0 and (-value) == 1 << (value.bit_length() - 1) \
        and value.bit_length() % 8 == 0


def ours_decoded(data: bytes) -> list[VarBind]:
    return [(decode_oid(oid), tag, value) for oid, tag, value in decode_response(data).varbinds]


# --- every recorded device, both encoders, both decoders ----------------------------------------


@pytest.mark.parametrize("path", RECORDINGS, ids=[path.parent.name for path in RECORDINGS])
def test_fixture_round_trip_matches_pysnmp(path: Path) -> None:
    records = [(record.oid, record.tag, record.value) for record in read_snmprec(path)]
    assert records
    for start in range(0, len(records), CHUNK):
        chunk = records[start:start + CHUNK]
        request_id = REQUEST_ID_MIN + start
        ours = encode_response(b"public", request_id, chunk)
        theirs = pysnmp_encode(b"public", request_id, chunk)
        if any(pyasn1_widens(tag, value) for _, tag, value in chunk):
            # Same values, pysnmp's bytes one octet longer per such INTEGER: compare what both decode to.
            assert len(theirs) > len(ours)
            assert ours_decoded(theirs) == chunk
            assert pysnmp_decode(theirs) == (1, b"public", request_id, chunk)
        else:
            assert ours == theirs, f"{path.name} records {start}..{start + len(chunk)}"
        response = decode_response(ours)
        assert (response.version, response.community, response.pdu_type, response.request_id) == (
            1, b"public", RESPONSE, request_id)
        assert (response.error_status, response.error_index) == (0, 0)
        assert [(decode_oid(oid), tag, value) for oid, tag, value in response.varbinds] == chunk
        assert [oid for oid, _, _ in response.varbinds] == [encode_oid(oid) for oid, _, _ in chunk]
        assert pysnmp_decode(ours) == (1, b"public", request_id, chunk)
        assert peek_request_id(ours) == request_id


@pytest.mark.parametrize("value", [-128, -32768, -(2**23), -(2**31)])
def test_pysnmp_widens_negative_powers_of_two(value: int) -> None:
    ours = encode_response(b"public", REQUEST_ID_MIN, [((1, 3, 6, 1), 0x02, value)])
    theirs = pysnmp_encode(b"public", REQUEST_ID_MIN, [((1, 3, 6, 1), 0x02, value)])
    size = value.bit_length() // 8
    assert ours.endswith(bytes([0x02, size]) + value.to_bytes(size, "big", signed=True))
    assert theirs.endswith(bytes([0x02, size + 1, 0xFF]) + value.to_bytes(size, "big", signed=True))
    assert ours_decoded(theirs) == ours_decoded(ours) == [((1, 3, 6, 1), 0x02, value)]
    assert pysnmp_decode(ours)[3] == pysnmp_decode(theirs)[3] == [((1, 3, 6, 1), 0x02, value)]


def test_all_fixtures_found() -> None:
    assert len(RECORDINGS) == 70  # the 38 first cases; issue 17: tachyon, albentiaaos x2, pmp, pmp_450m, teldat, fortigate x7, vrp_ac6605-26 + synthetic ruckus_ap, grandstream_gwn, cambium_cnpilot, fortinet_fortiap, xirrus_arrayos, synthetic_cisco9800, synthetic_fortigate_aps, synthetic_huawei_ac, synthetic_ruckus_sz, synthetic_ruckus_zd, synthetic_h3c_ac, synthetic_ruijie_ac, synthetic_fortiwlc, synthetic_huawei_ap,
    # synthetic_tplink_eap, synthetic_engenius_ap, synthetic_dlink_dap; pepwave


# --- GetTemplate ---------------------------------------------------------------------------------

POLL_OIDS = [
    parse_oid("1.3.6.1.2.1.1.3.0"),
    parse_oid("1.3.6.1.2.1.25.1.1.0"),
    parse_oid("1.3.6.1.2.1.31.1.1.1.6.2"),
    parse_oid("1.3.6.1.2.1.31.1.1.1.10.2"),
    parse_oid("1.3.6.1.2.1.31.1.1.1.15.2"),
    parse_oid("1.3.6.1.2.1.2.2.1.8.2"),
    parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.8.1"),
    parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.8.3"),
]


@pytest.mark.parametrize("request_id", [REQUEST_ID_MIN, 0x12345678, 0x7F000080, REQUEST_ID_MAX])
def test_get_template_decodes_with_pysnmp(request_id: int) -> None:
    template = GetTemplate(b"s3cret-community", POLL_OIDS)
    data = template.encode(request_id)
    assert pysnmp_decode(data) == (1, b"s3cret-community", request_id, [(oid, 0x05, None) for oid in POLL_OIDS])
    assert data == pysnmp_encode(b"s3cret-community", request_id, [(oid, 0x05, None) for oid in POLL_OIDS], GET)
    response = decode_response(data)
    assert response.pdu_type == GET
    assert response.request_id == request_id == peek_request_id(data)
    assert [oid for oid, _, _ in response.varbinds] == list(template.oid_bytes)
    assert template.oids == tuple(POLL_OIDS)
    assert template.oid_bytes == tuple(encode_oid(oid) for oid in POLL_OIDS)


def test_get_template_long_lengths_and_version() -> None:
    oids = [(1, 3, 6, 1, 4, 1, 9999, *range(i, i + 30)) for i in range(40)]  # > 255 bytes: 0x82 lengths
    template = GetTemplate(b"x" * 200, oids, version=0)
    data = template.encode(0x01ABCDEF)
    assert data[1] == 0x82
    assert pysnmp_decode(data)[:3] == (0, b"x" * 200, 0x01ABCDEF)
    response = decode_response(data)
    assert (response.version, response.community, response.request_id) == (0, b"x" * 200, 0x01ABCDEF)
    assert [decode_oid(oid) for oid, _, _ in response.varbinds] == oids


@pytest.mark.parametrize("request_id", [0, 1, REQUEST_ID_MIN - 1, REQUEST_ID_MAX + 1, -5])
def test_get_template_rejects_request_id_outside_range(request_id: int) -> None:
    with pytest.raises(ValueError):
        GetTemplate(b"public", POLL_OIDS).encode(request_id)


def test_request_id_range() -> None:
    assert list(codec.REQUEST_ID_RANGE[:1]) == [REQUEST_ID_MIN]
    assert codec.REQUEST_ID_RANGE[-1] == REQUEST_ID_MAX == 2**31 - 1


# --- exact values from hand-written datagrams ------------------------------------------------

HAND_WRITTEN = bytes.fromhex(
    "3081aa"  # SEQUENCE, long-form length 170
    "020101"  # version 1 (v2c)
    "04067075626c6963"  # community "public"
    "a2819c"  # GetResponse-PDU, long-form length 156
    "020401020304"  # request-id 0x01020304
    "020100" "020100"  # error-status 0, error-index 0
    "30818d"  # varbind list, long-form length 141
    "3010060a2b0601020102020108010202ff7f"  # ifOperStatus.1 = INTEGER -129
    "3018060b2b060102011f0101010601460900ffffffffffffffff"  # ifHCInOctets.1 = Counter64 2**64-1 (leading 00)
    "3013060a2b060102010202010a01410500ffffffff"  # ifInOctets.1 = Counter32 4294967295 (leading 00)
    "300c06082b060102010104000400"  # sysContact.0 = "" (empty OCTET STRING)
    "3015060d2b06010201041401010a00000140040a000001"  # ipAdEntAddr.10.0.0.1 = IpAddress 10.0.0.1
    "300d06092b06010201190101008100"  # hrSystemUptime.0 = noSuchInstance
    "301606082b06010201010200060a2b06010401bf0803020a"  # sysObjectID.0 = OID 1.3.6.1.4.1.8072.3.2.10
)
HAND_WRITTEN_VALUES = [
    (parse_oid("1.3.6.1.2.1.2.2.1.8.1"), 0x02, -129),
    (parse_oid("1.3.6.1.2.1.31.1.1.1.6.1"), 0x46, 2**64 - 1),
    (parse_oid("1.3.6.1.2.1.2.2.1.10.1"), 0x41, 4294967295),
    (parse_oid("1.3.6.1.2.1.1.4.0"), 0x04, b""),
    (parse_oid("1.3.6.1.2.1.4.20.1.1.10.0.0.1"), 0x40, "10.0.0.1"),
    (parse_oid("1.3.6.1.2.1.25.1.1.0"), 0x81, NO_SUCH_INSTANCE),
    (parse_oid("1.3.6.1.2.1.1.2.0"), 0x06, parse_oid("1.3.6.1.4.1.8072.3.2.10")),
]


def test_hand_written_datagram() -> None:
    response = decode_response(HAND_WRITTEN)
    assert (response.version, response.community, response.pdu_type) == (1, b"public", RESPONSE)
    assert (response.request_id, response.error_status, response.error_index) == (0x01020304, 0, 0)
    assert ours_decoded(HAND_WRITTEN) == HAND_WRITTEN_VALUES
    assert response.varbinds[5][2] is NO_SUCH_INSTANCE
    assert pysnmp_decode(HAND_WRITTEN) == (1, b"public", 0x01020304, HAND_WRITTEN_VALUES)
    assert encode_response(b"public", 0x01020304, HAND_WRITTEN_VALUES) == HAND_WRITTEN
    assert peek_request_id(HAND_WRITTEN) == 0x01020304


def test_two_octet_long_form_lengths() -> None:
    data = bytes.fromhex(
        "3082015d" "020101" "04067075626c6963"
        "a282014e" "020401020305" "020100" "020100"
        "3082013e" "3082013a" "06082b06010201010100" "0482012c"  # sysDescr.0 = 300 octets
    ) + b"A" * 300
    response = decode_response(data)
    assert response.varbinds == [(encode_oid(parse_oid("1.3.6.1.2.1.1.1.0")), 0x04, b"A" * 300)]
    assert encode_response(b"public", 0x01020305, [(parse_oid("1.3.6.1.2.1.1.1.0"), 0x04, b"A" * 300)]) == data


def _one(value_hex: str) -> bytes:
    """A response with one varbind (sysUpTime.0) whose value TLV is ``value_hex``; lengths computed here."""
    vb = bytes.fromhex("06082b06010201010300" + value_hex)
    vbs = bytes([0x30, len(vb)]) + vb
    pdu = bytes.fromhex("020401020304020100020100") + bytes([0x30, len(vbs)]) + vbs
    body = bytes.fromhex("02010104067075626c6963") + bytes([0xA2, len(pdu)]) + pdu
    assert len(body) < 0x80
    return bytes([0x30, len(body)]) + body


@pytest.mark.parametrize(("value_hex", "tag", "value"), [
    ("020100", 0x02, 0),
    ("02017f", 0x02, 127),
    ("020180", 0x02, -128),
    ("02020080", 0x02, 128),
    ("020480000000", 0x02, -(2**31)),
    ("02047fffffff", 0x02, 2**31 - 1),
    ("0205007fffffff", 0x02, 2**31 - 1),  # not minimal, still in range
    ("4100", None, None),  # empty Counter32: malformed
    ("410100", 0x41, 0),
    ("4104ffffffff", 0x41, 4294967295),  # no leading 00: read as unsigned, as net-snmp does
    ("420203e8", 0x42, 1000),
    ("4304033fa3cb", 0x43, 54502347),
    ("4608ffffffffffffffff", 0x46, 2**64 - 1),
    ("44020102", 0x44, b"\x01\x02"),
    ("0500", 0x05, None),
    ("8000", 0x80, NO_SUCH_OBJECT),
    ("8200", 0x82, END_OF_MIB_VIEW),
    ("040568656c6c6f", 0x04, b"hello"),
    ("04810568656c6c6f", 0x04, b"hello"),  # long form where short would do: BER allows it
    ("0601" "00", 0x06, (0, 0)),
    ("4004c0a80101", 0x40, "192.168.1.1"),
])
def test_value_encodings(value_hex: str, tag: int | None, value: Value) -> None:
    data = _one(value_hex)
    if tag is None:
        with pytest.raises(CodecError):
            decode_response(data)
        return
    assert decode_response(data).varbinds == [(encode_oid(parse_oid("1.3.6.1.2.1.1.3.0")), tag, value)]


@pytest.mark.parametrize("value_hex", [
    "0200",  # empty INTEGER
    "02050100000000",  # INTEGER beyond Integer32
    "020580000000ff",  # INTEGER beyond Integer32, negative
    "41050100000000",  # Counter32 beyond 2**32-1
    "4609010000000000000000",  # Counter64 beyond 2**64-1
    "4000",  # IpAddress of 0 octets
    "40050a00000101",  # IpAddress of 5 octets
    "050100",  # NULL with contents
    "810100",  # noSuchInstance with contents
    "0600",  # empty OBJECT IDENTIFIER value
    "06022b86",  # truncated OBJECT IDENTIFIER value (last octet has the continuation bit)
    "4700",  # unknown tag
    "4500",  # unknown application tag (NsapAddress is not v2c)
    "a000",  # constructed, context tag
    "2403040100",  # constructed OCTET STRING: not allowed in SNMP
    "1f8100",  # high tag number form
])
def test_malformed_values(value_hex: str) -> None:
    with pytest.raises(CodecError):
        decode_response(_one(value_hex))


def test_malformed_messages() -> None:
    good = _one("0500")
    cases = {
        "indefinite outer length": bytes([0x30, 0x80]) + good[2:] + b"\x00\x00",
        "trailing garbage": good + b"\x00",
        "length past the end": bytes([0x30, good[1] + 1]) + good[2:],
        "five-octet length": bytes.fromhex("3085") + bytes(5) + good[2:],
        "not a SEQUENCE": b"\x31" + good[1:],
        "empty": b"",
        "v1 Trap PDU": good[:13] + b"\xa4" + good[14:],
        "unknown PDU tag": good[:13] + b"\xa9" + good[14:],
        "community is not an OCTET STRING": good[:5] + b"\x05" + good[6:],
        "version is not an INTEGER": good[:2] + b"\x04" + good[3:],
    }
    assert good[13] == 0xA2 and good[5] == 0x04 and good[2] == 0x02
    for name, data in cases.items():
        with pytest.raises(CodecError):
            decode_response(data)
        with pytest.raises(CodecError):
            peek_request_id(data)
        assert name


def test_varbind_name_running_into_value() -> None:
    # the OID claims 12 octets but the varbind holds 10 + the value
    vb = bytes.fromhex("060c2b060102010103000500")
    vbs = bytes([0x30, len(vb)]) + vb
    pdu = bytes.fromhex("020401020304020100020100") + bytes([0x30, len(vbs)]) + vbs
    body = bytes.fromhex("02010104067075626c6963") + bytes([0xA2, len(pdu)]) + pdu
    with pytest.raises(CodecError):
        decode_response(bytes([0x30, len(body)]) + body)


def test_decode_accepts_memoryview_and_bytearray() -> None:
    expected = decode_response(HAND_WRITTEN)
    assert decode_response(memoryview(HAND_WRITTEN)) == expected
    assert decode_response(bytearray(HAND_WRITTEN)) == expected
    assert all(type(oid) is bytes for oid, _, _ in decode_response(memoryview(HAND_WRITTEN)).varbinds)


def test_other_pdu_types_and_error_fields() -> None:
    data = encode_response(b"c", 0x01000001, [((1, 3, 6), 0x05, None)], pdu_type=GET_BULK, error_status=0,
                           error_index=25)
    response = decode_response(data)
    assert (response.pdu_type, response.error_status, response.error_index) == (GET_BULK, 0, 25)
    data = encode_response(b"c", -7, [((1, 3, 6), 0x80, NO_SUCH_OBJECT)], error_status=5, error_index=1)
    response = decode_response(data)
    assert (response.request_id, response.error_status, response.error_index) == (-7, 5, 1)
    assert peek_request_id(data) == -7


@pytest.mark.parametrize(("varbind", "kwargs"), [
    (((1, 3, 6), 0x02, 2**31), {}),
    (((1, 3, 6), 0x41, -1), {}),
    (((1, 3, 6), 0x46, 2**64), {}),
    (((1, 3, 6), 0x04, "text"), {}),
    (((1, 3, 6), 0x40, "10.0.0"), {}),
    (((1, 3, 6), 0x40, "10.0.0.256"), {}),
    (((1, 3, 6), 0x05, 0), {}),
    (((1, 3, 6), 0x81, None), {}),
    (((1, 3, 6), 0x47, 1), {}),
    (((1,), 0x05, None), {}),
    (((3, 1), 0x05, None), {}),
    (((1, 3, 6), 0x06, (1, 40)), {}),
    (((1, 3, 6), 0x05, None), {"pdu_type": 0xA4}),
    (((1, 3, 6), 0x05, None), {"error_status": 2**31}),
])
def test_encode_rejects_bad_values(varbind: VarBind, kwargs: dict[str, int]) -> None:
    with pytest.raises(CodecError):
        encode_response(b"public", REQUEST_ID_MIN, [varbind], **kwargs)


# --- property tests ------------------------------------------------------------------------------

ARC = st.integers(0, 2**32 - 1)
OIDS = st.one_of(
    st.tuples(st.integers(0, 1), st.integers(0, 39)),
    st.tuples(st.just(2), st.integers(0, 2**32 - 81)),
).flatmap(lambda head: st.lists(st.one_of(st.integers(0, 200), ARC), max_size=20).map(lambda tail: (*head, *tail)))
U32 = st.integers(0, 2**32 - 1)
VALUES = {
    0x02: st.integers(-(2**31), 2**31 - 1),
    0x04: st.binary(max_size=300),
    0x05: st.none(),
    0x06: OIDS,
    0x40: st.tuples(*[st.integers(0, 255)] * 4).map(lambda quad: ".".join(map(str, quad))),
    0x41: U32,
    0x42: U32,
    0x43: U32,
    0x44: st.binary(max_size=20),
    0x46: st.integers(0, 2**64 - 1),
    0x80: st.just(NO_SUCH_OBJECT),
    0x81: st.just(NO_SUCH_INSTANCE),
    0x82: st.just(END_OF_MIB_VIEW),
}
VARBINDS = st.sampled_from(sorted(VALUES)).flatmap(lambda tag: st.tuples(OIDS, st.just(tag), VALUES[tag]))
MESSAGES = st.tuples(
    st.binary(max_size=40),
    st.integers(-(2**31), 2**31 - 1),
    st.lists(VARBINDS, max_size=12),
    st.integers(0, 18),
    st.integers(0, 2**31 - 1),
    st.sampled_from(sorted(codec.PDU_TYPES)),
    st.integers(0, 3),
)


@settings(max_examples=200, deadline=500)
@given(MESSAGES)
def test_property_round_trip(message: tuple) -> None:
    community, request_id, varbinds, error_status, error_index, pdu_type, version = message
    data = encode_response(community, request_id, varbinds, error_status=error_status, error_index=error_index,
                           pdu_type=pdu_type, version=version)
    response = decode_response(data)
    assert response == codec.Response(version, community, pdu_type, request_id, error_status, error_index,
                                      [(encode_oid(oid), tag, value) for oid, tag, value in varbinds])
    assert [decode_oid(oid) for oid, _, _ in response.varbinds] == [oid for oid, _, _ in varbinds]
    assert all(value is _ABSENT_BY_TAG[tag] for _, tag, value in response.varbinds if isinstance(value, Absent))
    assert peek_request_id(data) == request_id


def _decodes_or_codec_error(data: bytes) -> None:
    try:
        response = decode_response(data)
    except CodecError:
        response = None
    try:
        request_id = peek_request_id(data)
    except CodecError:
        assert response is None  # a message that decodes has a readable request-id
    else:
        if response is not None:
            assert response.request_id == request_id


@settings(max_examples=500, deadline=500)
@given(st.binary(max_size=200))
def test_property_random_bytes(data: bytes) -> None:
    _decodes_or_codec_error(data)


@settings(max_examples=500, deadline=500)
@given(st.sampled_from([0x30, 0x31, 0x02]), st.integers(0, 0x84), st.binary(max_size=200))
def test_property_random_bytes_behind_a_sequence_header(tag: int, length: int, rest: bytes) -> None:
    _decodes_or_codec_error(bytes([tag, length]) + rest)


@settings(max_examples=60, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_property_truncated_datagrams_raise(message: tuple) -> None:
    community, request_id, varbinds, error_status, error_index, pdu_type, version = message
    data = encode_response(community, request_id, varbinds, error_status=error_status, error_index=error_index,
                           pdu_type=pdu_type, version=version)
    for cut in range(len(data)):
        with pytest.raises(CodecError):
            decode_response(data[:cut])
        _decodes_or_codec_error(data[:cut])


@settings(max_examples=200, deadline=500)
@given(MESSAGES, st.data())
def test_property_mutated_datagrams(message: tuple, data_strategy: st.DataObject) -> None:
    community, request_id, varbinds, error_status, error_index, pdu_type, version = message
    data = bytearray(encode_response(community, request_id, varbinds, error_status=error_status,
                                     error_index=error_index, pdu_type=pdu_type, version=version))
    index = data_strategy.draw(st.integers(0, len(data) - 1))
    data[index] = data_strategy.draw(st.integers(0, 255))
    _decodes_or_codec_error(bytes(data))


def test_every_single_byte_mutation_of_the_hand_written_datagram() -> None:
    for index in range(len(HAND_WRITTEN)):
        for byte in range(256):
            mutated = bytearray(HAND_WRITTEN)
            mutated[index] = byte
            _decodes_or_codec_error(bytes(mutated))
