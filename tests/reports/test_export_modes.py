"""Issue 15: files a user exports to share follow the umask like any file (only the store, spool and data folder
are private)."""

from __future__ import annotations

import os
from pathlib import Path

from hotspotctl.reports.files import atomic_output, current_umask
from tests.conftest import file_mode, write


def test_inventory_and_crew_exports_follow_the_umask(cli, tmp_path: Path, umask: int):
    """On 3854a6b both were 0600 whatever the umask (mkstemp's mode), so a colleague could not read them."""
    write(cli.workdir / "aps.csv", "id,lat,lon,alcaldia\nAP-1,19.4,-99.1,Tlalpan\n")
    assert cli("inventory", "import", "aps.csv").code == 0
    assert cli("inventory", "export", tmp_path / "fleet.csv").code == 0
    assert cli("crews", "list", "-f", "csv", "-o", tmp_path / "crews.csv").code == 0
    assert cli("crews", "list", "-f", "geojson", "-o", tmp_path / "crews.geojson").code == 0
    assert current_umask() == umask
    for name in ("fleet.csv", "crews.csv", "crews.geojson"):
        assert file_mode(tmp_path / name) == 0o666 & ~umask, name
    assert file_mode(cli.workdir / "var" / "hotspotctl.db") == 0o600  # the store stays private


def test_a_replaced_file_keeps_its_mode(tmp_path: Path):
    target = write(tmp_path / "list.csv", "old\n")
    os.chmod(target, 0o640)
    with atomic_output(target) as fh:
        fh.write("new\n")
    assert target.read_text() == "new\n" and file_mode(target) == 0o640
