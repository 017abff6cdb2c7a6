"""Site ids and names: pure functions, checked against a plain reference and as properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hotspotctl.inventory.sites import derive_sites, geohash, site_id_for, site_name
from hotspotctl.models.access_points import AccessPoint

_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"


def reference_geohash(lat: float, lon: float, length: int = 11) -> str:
    """The textbook bisection, written plainly."""
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    bits, even, out, char = 0, True, [], 0
    while len(out) < length:
        rng, value = (lon_range, lon) if even else (lat_range, lat)
        mid = (rng[0] + rng[1]) / 2
        char <<= 1
        if value >= mid:
            char |= 1
            rng[0] = mid
        else:
            rng[1] = mid
        even = not even
        bits += 1
        if bits == 5:
            out.append(_ALPHABET[char])
            bits, char = 0, 0
    return "".join(out)


def test_published_example():
    assert geohash(57.64911, 10.40744) == "u4pruydqqvj"


@given(st.integers(-8_999_999, 8_999_999), st.integers(-17_999_999, 17_999_999))
def test_matches_the_bisection_on_the_site_grid(lat_units, lon_units):
    """Site ids hash points on the 1e-5 degree grid. (Off the grid the two can differ for a value
    within float rounding of a cell edge, e.g. lon=-1e-50, where -1e-50 + 180 == 180.0.)"""
    lat, lon = lat_units / 1e5, lon_units / 1e5
    assert geohash(lat, lon) == reference_geohash(lat, lon)


@given(st.integers(1_904_000, 1_960_000), st.integers(-9_937_000, -9_894_000),
       st.integers(-3, 3), st.integers(-3, 3))
def test_distinct_points_on_the_site_grid_never_share_an_id(lat_units, lon_units, dlat, dlon):
    a = site_id_for(None, lat_units / 1e5, lon_units / 1e5)
    b = site_id_for(None, (lat_units + dlat) / 1e5, (lon_units + dlon) / 1e5)
    assert (a == b) == (dlat == 0 and dlon == 0)


def test_points_that_round_to_the_same_grid_point_share_a_site():
    assert site_id_for(None, 19.4327071, -99.0867431) == site_id_for(None, 19.432707, -99.086743)
    assert site_id_for("AICM", 19.4, -99.1) == "AICM"


def test_names():
    assert site_name(["MC03436"]) == "MC03436"
    assert site_name(["MEX-AIM-AER-AICMT1-M-GW001", "MEX-AIM-AER-AICMT1-M-GW002"]) == "MEX-AIM-AER-AICMT1-M"
    assert site_name(["PILARES-EL VIVERO_AP_01", "PILARES-EL VIVERO_AP_02"]) == "PILARES-EL VIVERO"
    assert site_name(["HGM-E207_01_AP_01", "HGM_E104_01_AP_03"]) == "HGM"
    assert site_name(["20001", "20002", "24102"]) == "20001 +2"
    assert site_name(["CS_ALO001", "CS_ALO002"]) == "CS_ALO001 +1"


def test_derive_sites():
    aps = [AccessPoint(id=i, lat=lat, lon=-99.1, district=d, site=s, site_id=site_id_for(s, lat, -99.1))
           for i, lat, d, s in [("BIBL_AP_1", 19.3, "Tlalpan", None), ("BIBL_AP_2", 19.3, "Tlalpan", None),
                                ("C", 19.31, "Coyoacan", "Campus"), ("D", 19.33, "Tlalpan", "Campus"),
                                ("E", 19.35, "Coyoacan", "Campus")]]
    sites = derive_sites(aps)
    assert sorted(sites) == sorted(["Campus", site_id_for(None, 19.3, -99.1)])
    campus = sites["Campus"]
    assert (campus.name, campus.explicit, campus.district) == ("Campus", True, "Coyoacan")
    assert campus.lat == 19.33
    derived = sites[site_id_for(None, 19.3, -99.1)]
    assert (derived.name, derived.explicit, derived.district) == ("BIBL", False, "Tlalpan")
