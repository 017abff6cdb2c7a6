"""Reading the recorded devices (snmpsim .snmprec) and looking their records up by OID."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotspotctl.collectors.model import END_OF_MIB_VIEW, NO_SUCH_INSTANCE
from hotspotctl.collectors.oids import parse_oid
from hotspotctl.simulate.snmprec import Record, Recording, parse_value, read_snmprec

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"
RECORDINGS = sorted(DEVICES.glob("*/*.snmprec"))
NANOHD = DEVICES / "unifi_nanohd" / "unifi_nanohd.snmprec"
VALUE_TYPES = {2: int, 4: bytes, 5: type(None), 6: tuple, 64: str, 65: int, 66: int, 67: int, 70: int}


@pytest.mark.parametrize("path", RECORDINGS, ids=[path.parent.name for path in RECORDINGS])
def test_every_fixture_parses(path: Path) -> None:
    records = read_snmprec(path)
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    assert len(records) == len(lines)
    for record in records:
        assert isinstance(record.value, VALUE_TYPES[record.tag]), record
    recording = Recording(records)
    assert list(recording) == sorted({r.oid: r for r in reversed(records)}.values(), key=lambda r: r.oid)
    assert recording.walk(()) == list(recording)


def test_fixture_count() -> None:
    assert len(RECORDINGS) == 70  # the 38 first cases; issue 17: tachyon, albentiaaos x2, pmp, pmp_450m, teldat, fortigate x7, vrp_ac6605-26 + synthetic ruckus_ap, grandstream_gwn, cambium_cnpilot, fortinet_fortiap, xirrus_arrayos, synthetic_cisco9800, synthetic_fortigate_aps, synthetic_huawei_ac, synthetic_ruckus_sz, synthetic_ruckus_zd, synthetic_h3c_ac, synthetic_ruijie_ac, synthetic_fortiwlc, synthetic_huawei_ap,
    # synthetic_tplink_eap, synthetic_engenius_ap, synthetic_dlink_dap; pepwave


def test_known_values_in_unifi_nanohd() -> None:
    recording = Recording.from_file(NANOHD)
    assert recording.get(parse_oid("1.3.6.1.2.1.1.1.0")) == Record(
        parse_oid("1.3.6.1.2.1.1.1.0"), 4, b"UAP-nanoHD 5.43.36.12724")
    assert recording.get(parse_oid("1.3.6.1.2.1.31.1.1.1.6.2")) == Record(
        parse_oid("1.3.6.1.2.1.31.1.1.1.6.2"), 70, 70706526374)
    assert recording.get(parse_oid("1.3.6.1.2.1.1.2.0")) == Record(
        parse_oid("1.3.6.1.2.1.1.2.0"), 6, parse_oid("1.3.6.1.4.1.8072.3.2.10"))
    assert recording.get(parse_oid("1.3.6.1.2.1.1.3.0")) == Record(parse_oid("1.3.6.1.2.1.1.3.0"), 67, 54502347)
    assert recording.get(parse_oid("1.3.6.1.2.1.4.20.1.3.127.0.0.1")).value == "255.0.0.0"  # type: ignore[union-attr]
    assert recording.get(parse_oid("1.3.6.1.2.1.2.2.1.6.2")) == Record(
        parse_oid("1.3.6.1.2.1.2.2.1.6.2"), 4, bytes.fromhex("b4fbe42a3f1c"))  # a 4x (hex) row
    clients = recording.walk(parse_oid("1.3.6.1.4.1.41112.1.6.1.2.1.8"))
    assert [r.value for r in clients] == [4, 0, 14, 0]
    assert sum(r.value for r in clients) == 18  # type: ignore[misc]
    assert recording.get(parse_oid("1.3.6.1.2.1.1.1")) is None
    assert recording.get(parse_oid("1.3.6.1.2.1.1.1.0.0")) is None


def test_hex_ip_address_row() -> None:
    records = read_snmprec(DEVICES / "planetos_wdap" / "planetos_wdap.snmprec")
    row = next(r for r in records if r.oid == parse_oid("1.3.6.1.2.1.3.1.1.3.13.1.10.10.10.10"))
    assert (row.tag, row.value) == (64, "10.10.10.10")  # recorded as 64x|0a0a0a0a


def test_hiveos_wireless_2_is_out_of_order_but_walks_sorted() -> None:
    path = DEVICES / "hiveos-wireless_2" / "hiveos-wireless_2.snmprec"
    records = read_snmprec(path)
    oids = [r.oid for r in records]
    assert oids != sorted(oids)
    assert len(set(oids)) == len(oids) - 1  # 1.3.6.1.2.1.4.23.0 is recorded twice
    recording = Recording(records)
    ip_group = recording.walk(parse_oid("1.3.6.1.2.1.4"))
    assert [r.oid for r in ip_group] == sorted(r.oid for r in ip_group)
    assert [r.oid for r in ip_group] == sorted({r.oid for r in records if r.oid[:7] == (1, 3, 6, 1, 2, 1, 4)})
    arp = parse_oid("1.3.6.1.2.1.4.22.1.1")
    assert [r.oid[-4:] for r in recording.walk(arp)] == [(192, 168, 1, 1), (192, 168, 1, 4), (192, 168, 1, 220)]
    assert recording.next((*arp, 11, 192, 168, 1, 220)).oid[:10] == parse_oid("1.3.6.1.2.1.4.22.1.2")  # type: ignore[union-attr]


def test_duplicate_oid_first_wins() -> None:
    oid = parse_oid("1.3.6.1.2.1.1.5.0")
    recording = Recording([Record(oid, 4, b"first"), Record(oid, 4, b"second"), Record((1, 3, 6, 1), 2, 1)])
    assert recording.get(oid) == Record(oid, 4, b"first")
    assert len(recording) == 2


def test_walk_and_next() -> None:
    rows = [((1, 3, 6, 1, 2), 2, 1), ((1, 3, 6, 1, 2, 1), 2, 2), ((1, 3, 6, 1, 2, 1, 5), 2, 3),
            ((1, 3, 6, 1, 2, 2), 2, 4), ((1, 3, 6, 1, 3), 2, 5), ((1, 3, 6, 1, 2, 10), 2, 6)]
    recording = Recording(Record(*row) for row in reversed(rows))
    assert [r.value for r in recording.walk((1, 3, 6, 1, 2))] == [2, 3, 4, 6]  # strictly under, in OID order
    assert [r.value for r in recording.walk((1, 3, 6, 1, 2, 1))] == [3]
    assert recording.walk((1, 3, 6, 1, 2, 1, 5)) == []
    assert recording.walk((1, 3, 6, 1, 4)) == []
    assert [r.value for r in recording.walk((1, 3))] == [1, 2, 3, 4, 6, 5]
    assert recording.next((0, 0)).value == 1  # type: ignore[union-attr]
    assert recording.next((1, 3, 6, 1, 2)).value == 2  # type: ignore[union-attr]
    assert recording.next((1, 3, 6, 1, 2, 1, 5)).value == 4  # type: ignore[union-attr]
    assert recording.next((1, 3, 6, 1, 2, 3)).value == 6  # type: ignore[union-attr]
    assert recording.next((1, 3, 6, 1, 3)) is None
    assert recording.next((2, 0)) is None


def test_walk_matches_a_linear_scan_on_a_real_device() -> None:
    recording = Recording.from_file(NANOHD)
    for prefix in [parse_oid("1.3.6.1.2.1.2.2.1"), parse_oid("1.3.6.1.2.1.31.1.1.1.6"), parse_oid("1.3.6.1.4.1"),
                   parse_oid("1.3.6.1.2.1.1"), parse_oid("1.3.6.1.2.1.1.1.0")]:
        expected = [r for r in recording if r.oid[: len(prefix)] == prefix and r.oid != prefix]
        assert recording.walk(prefix) == expected
    oid = ()
    walked = []
    while (record := recording.next(oid)) is not None:  # a full GETNEXT walk visits everything once
        walked.append(record)
        oid = record.oid
    assert walked == list(recording)


@pytest.mark.parametrize(("tag", "text", "expected"), [
    ("2", "-5", (2, -5)),
    ("2", "2147483647", (2, 2**31 - 1)),
    ("4", "", (4, b"")),
    ("4", "a|b", (4, b"a|b")),
    ("4x", "00FF7f", (4, b"\x00\xff\x7f")),
    ("4x", "", (4, b"")),
    ("4e", r"tab\there\x00\\", (4, b"tab\there\x00\\")),
    ("5", "", (5, None)),
    ("6", "1.3.6.1.4.1.9", (6, (1, 3, 6, 1, 4, 1, 9))),
    ("64", "10.0.0.1", (64, "10.0.0.1")),
    ("64x", "c0a80001", (64, "192.168.0.1")),
    ("65", "4294967295", (65, 2**32 - 1)),
    ("66", "0", (66, 0)),
    ("67", "100", (67, 100)),
    ("68x", "9f780441", (68, b"\x9f\x78\x04\x41")),
    ("70", "18446744073709551615", (70, 2**64 - 1)),
    ("129", "", (129, NO_SUCH_INSTANCE)),
    ("130", "", (130, END_OF_MIB_VIEW)),
])
def test_parse_value(tag: str, text: str, expected: tuple) -> None:
    assert parse_value(tag, text) == expected


@pytest.mark.parametrize(("tag", "text"), [
    ("2", "2147483648"), ("2", "1.5"), ("2", ""), ("2", "--1"), ("65", "-1"), ("70", "18446744073709551616"),
    ("4x", "abc"), ("4x", "zz"), ("4e", "bad\\q"), ("64", "10.0.0"), ("64", "10.0.0.256"), ("64x", "0a0a0a"),
    ("6", "1.3.x"), ("5", "x"), ("2x", "01"), ("3", "1"), ("71", "1"), ("", "1"), ("x", "1"), ("2:numeric", "1"),
])
def test_parse_value_rejects(tag: str, text: str) -> None:
    with pytest.raises(ValueError):
        parse_value(tag, text)


def test_file_details(tmp_path: Path) -> None:
    path = tmp_path / "dev.snmprec"
    path.write_bytes(b"# a comment\n\n1.3.6.1.2.1.1.5.0|4|  name with spaces  \r\n"
                     b".1.3.6.1.2.1.1.6.0|4|caf\xe9\n   \n1.3.6.1.2.1.1.3.0|67|42")
    assert read_snmprec(path) == [
        Record(parse_oid("1.3.6.1.2.1.1.5.0"), 4, b"  name with spaces"),  # the line is stripped, as snmpsim does
        Record(parse_oid("1.3.6.1.2.1.1.6.0"), 4, b"caf\xe9"),  # the file's bytes, whatever the encoding
        Record(parse_oid("1.3.6.1.2.1.1.3.0"), 67, 42),
    ]


@pytest.mark.parametrize(("line", "problem"), [
    ("1.3.6.1.2.1.1.3.0|67", "OID|TYPE|VALUE"),
    ("1.3.6.1.2.1.1.3.0|67|soon", "not an integer"),
    ("1.3.6.x.0|2|1", "not a numeric OID"),
    ("1.3.6.1.2.1.1.3.0|99|1", "unknown type"),
    ("1.3.6.1.2.1.1.1.0|4x|ABC", "bad hex"),
])
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "broken.snmprec"
    path.write_text(f"1.3.6.1.2.1.1.1.0|4|ok\n\n{line}\n1.3.6.1.2.1.1.5.0|4|never read\n")
    with pytest.raises(ValueError, match=rf"broken\.snmprec:3: .*{problem}") as info:
        read_snmprec(path)
    assert str(info.value).startswith(f"{path}:3: ")
