"""Issue 15: --site NAME never picks several sites by accident, in any command that takes a selection."""

from __future__ import annotations

import json

import pytest

from hotspotctl.inventory.sites import geohash
from tests.conftest import write

# Two markets, two places, one name: each site is named by its APs' shared id prefix, 'MERCADO'.
INVENTORY = """id,lat,lon,alcaldia,mgmt_address,profile
MERCADO-AP-01,19.40000,-99.10000,Tlalpan,127.0.0.1:9,openwrt
MERCADO-AP-02,19.40000,-99.10000,Tlalpan,127.0.0.1:9,openwrt
MERCADO-AP-03,19.41000,-99.12000,Coyoacan,127.0.0.1:9,openwrt
MERCADO-AP-04,19.41000,-99.12000,Coyoacan,127.0.0.1:9,openwrt
"""
A, B = geohash(19.4, -99.1), geohash(19.41, -99.12)


@pytest.fixture
def markets(cli):
    write(cli.workdir / "aps.csv", INVENTORY)
    assert cli("inventory", "import", "aps.csv").code == 0
    sites = {row["site_id"]: row["site_name"] for row in json.loads(cli("inventory", "list", "-f", "json").out)}
    assert sites == {A: "MERCADO", B: "MERCADO"}
    return cli


@pytest.mark.parametrize(("command", "after"), [
    (["ap", "reboot", "--dry-run"], []),
    (["ap", "exec", "--dry-run"], ["--", "uptime"]),
    (["inventory", "list"], []),
    (["inventory", "export", "-", "-f", "csv"], []),
    (["poll", "--once"], []),
    (["discover"], []),
    (["run", "--cycles", "1"], []),
])
def test_a_site_name_that_several_sites_share_is_refused_listing_their_ids(markets, command, after):
    """On 3854a6b `--site MERCADO` silently selected both markets (4 APs), `ap reboot` included."""
    result = markets(*command, "--site", "MERCADO", *after)
    assert result.code == 3, result.err
    assert f"--site 'MERCADO' matches 2 sites of that name: {min(A, B)}, {max(A, B)}; give the site id" in result.err


def test_a_site_id_or_a_glob_still_selects(markets):
    one = json.loads(markets("inventory", "list", "--site", A, "-f", "json").out)
    assert [row["id"] for row in one] == ["MERCADO-AP-01", "MERCADO-AP-02"]
    both = json.loads(markets("inventory", "list", "--site", "MERCADO*", "-f", "json").out)
    assert len(both) == 4  # a glob says "every site it matches" on purpose
    plan = markets("ap", "reboot", "--site", B, "--dry-run", "-f", "json")
    assert plan.code == 0, plan.err
    assert sorted(row["ap"] for row in json.loads(plan.out)) == ["MERCADO-AP-03", "MERCADO-AP-04"]
