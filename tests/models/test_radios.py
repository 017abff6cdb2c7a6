"""The radio vocabulary: bands from frequencies, frequencies from channels, MAC spellings."""

from __future__ import annotations

import pytest

from hotspotctl.models.radios import ManagedAp, Radio, band_for, channel_to_mhz, format_mac, normal_mac


@pytest.mark.parametrize(("mhz", "band"), [(2412, "2.4GHz"), (2484, "2.4GHz"), (5180, "5GHz"), (5825, "5GHz"),
                                           (4945, "5GHz"), (5955, "6GHz"), (7115, "6GHz"), (58320, "60GHz"),
                                           (3565, None), (0, None), (None, None)])
def test_band_for(mhz: int | None, band: str | None) -> None:
    assert band_for(mhz) == band


@pytest.mark.parametrize(("channel", "band", "mhz"), [(1, None, 2412), (6, None, 2437), (11, None, 2462),
                                                      (14, None, 2484), (36, None, 5180), (165, None, 5825),
                                                      (1, "6GHz", 5955), (37, "6GHz", 6135), (2, "60GHz", 60480),
                                                      (0, None, None), (15, None, None), (178, None, None),
                                                      (None, None, None)])
def test_channel_to_mhz(channel: int | None, band: str | None, mhz: int | None) -> None:
    assert channel_to_mhz(channel, band) == mhz


def test_macs_from_octets_and_text() -> None:
    assert format_mac(b"\x00\x0b\x86\x01\x02\xff") == "00:0b:86:01:02:ff"
    assert format_mac((0, 11, 134, 1, 2, 255)) == "00:0b:86:01:02:ff"
    assert format_mac((0, 11, 134, 1, 2)) is None
    assert format_mac((0, 11, 134, 1, 2, 256)) is None
    for text in ("00:0B:86:01:02:FF", "000b.8601.02ff", "00-0b-86-01-02-ff", "000b860102ff"):
        assert normal_mac(text) == "00:0b:86:01:02:ff"
    assert normal_mac("00:0b:86:01:02") is None
    assert normal_mac("zz:0b:86:01:02:ff") is None


def test_json_shapes_are_the_issues() -> None:
    radio = Radio("wifi0", 7, "2.4GHz", 6, 2437, 3, 41.0, -95.0, 17.0, True)
    assert list(radio.to_json()) == ["name", "if_index", "band", "channel", "frequency_mhz", "clients",
                                     "utilization_pct", "noise_floor_dbm", "tx_power_dbm", "oper_up"]
    assert Radio("r").to_json()["channel"] is None
    ap = ManagedAp("1", "AP-1", "00:0b:86:01:02:ff", True, None, 60.0, 3, radios=(radio,))
    assert ap.to_json() == {"name": "AP-1", "mac": "00:0b:86:01:02:ff", "joined": True, "reason": None,
                            "clients": 3, "uptime_s": 60.0, "radios": [radio.to_json()]}
