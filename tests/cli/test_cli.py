"""The command line as users run it: commands, formats, selections, exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotspotctl import __version__
from tests.conftest import CDMX_XLSX, REPO, write

SMALL = """id,programa,latitud,longitud,alcaldia
ESC-1_AP_01,Escuelas,19.30000,-99.10000,Tlalpan
ESC-1_AP_02,Escuelas,19.30000,-99.10000,Tlalpan
CALLE-7,MiCalle,19.31000,-99.11000,Tlahuac
[bold red]X[/],MiCalle,19.32000,-99.12000,Gustavo A. Madero
"""


@pytest.fixture
def small(cli, tmp_path: Path) -> Path:
    path = write(tmp_path / "small.csv", SMALL)
    assert cli("inventory", "import", path).code == 0
    return path


def test_version_and_help(cli):
    assert cli("--version").out == f"hotspotctl {__version__}\n"
    result = cli("inventory", "import", "--help")
    assert result.code == 0
    assert "Examples:" in result.out and "--merge" in result.out and "--dry-run" in result.out
    bare = cli()  # no command: the help, as a usage error
    assert bare.code == 2 and bare.err.startswith("Usage: hotspotctl [OPTIONS] COMMAND") and "inventory" in bare.err


def test_the_console_script_and_python_m_run_the_same_program(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTCTL_")}
    script = shutil.which("hotspotctl", path=str(Path(sys.executable).parent))
    assert script, "the hotspotctl console script is not installed next to this python"
    for command in ([script, "--version"], [sys.executable, "-m", "hotspotctl", "--version"]):
        result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
        assert (result.returncode, result.stdout) == (0, f"hotspotctl {__version__}\n")
    bad = subprocess.run([script, "inventory", "import", "missing.csv"], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=60)
    assert bad.returncode == 3 and bad.stderr == "error: missing.csv: no such file\n"
    usage = subprocess.run([script, "inventory", "list", "--limit", "many"], capture_output=True, text=True,
                           cwd=tmp_path, env=env, timeout=60)
    assert usage.returncode == 2 and "Invalid value for '--limit'" in usage.stderr


def test_list_with_selections(cli, small):
    ids = lambda *args: [r["id"] for r in json.loads(cli("inventory", "list", *args, "-f", "json").out)]  # noqa: E731
    assert ids() == ["CALLE-7", "ESC-1_AP_01", "ESC-1_AP_02", "[bold red]X[/]"]
    assert ids("--district", "TLÁLPAN") == ["ESC-1_AP_01", "ESC-1_AP_02"]
    assert ids("--district", "gustavo") == ["[bold red]X[/]"]
    assert ids("--program", "escuelas", "--program", "micalle", "--district", "tlahuac") == ["CALLE-7"]
    assert ids("--ap", "ESC-*") == ["ESC-1_AP_01", "ESC-1_AP_02"]
    assert ids("--site", "ESC-1") == ["ESC-1_AP_01", "ESC-1_AP_02"]  # by the site's name
    assert ids("--zone", "tlahuac") == ["CALLE-7"]
    assert ids("--ap", "nothing-*") == []
    rows = list(csv.DictReader(io.StringIO(cli("inventory", "list", "-f", "csv", "--limit", "1").out)))
    assert [r["id"] for r in rows] == ["CALLE-7"] and rows[0]["lat"] == "19.31"


def test_selection_terms_that_name_nothing_or_several_things_are_errors(cli, small):
    result = cli("inventory", "list", "--district", "tla")
    assert result.code == 3
    assert result.err == "error: --district 'tla' matches 2 districts: Tlahuac, Tlalpan; be more specific\n"
    result = cli("inventory", "list", "--program", "escuela5")
    assert result.code == 3 and "did you mean 'Escuelas'?" in result.err


def test_device_strings_are_not_read_as_markup(cli, small):
    out = cli("inventory", "list").out
    assert "[bold red]X[/]" in out
    shown = cli("inventory", "show", "[bold red]X[/]")
    assert shown.code == 0 and "[bold red]X[/]" in shown.out


def test_show_and_a_helpful_miss(cli, small):
    document = json.loads(cli("inventory", "show", "ESC-1_AP_02", "--format", "json").out)
    assert document["site_name"] == "ESC-1" and document["site_detail"]["aps"] == 2
    assert document["effective_crew_zone"] == "Tlalpan"
    assert document["map"].startswith("https://www.openstreetmap.org/?mlat=19.3&mlon=-99.1")
    miss = cli("inventory", "show", "ESC-1_AP_03")
    assert miss.code == 3 and "did you mean ESC-1_AP_02, ESC-1_AP_01?" in miss.err


def test_crew_zones_from_settings(cli, small, tmp_path: Path):
    config = write(tmp_path / "z.toml", '[crew_zones.districts]\n"Tláhuac" = "Oriente"\n"Tlalpan" = "Sur"\n'
                   '[crew_zones.sites]\n')
    stats = json.loads(cli("--config", config, "inventory", "stats", "-f", "json").out)
    assert stats["zones"] == {"Sur": 2, "Gustavo A. Madero": 1, "Oriente": 1}
    site = json.loads(cli("inventory", "show", "ESC-1_AP_01", "-f", "json").out)["site_id"]
    write(config, f'[crew_zones.districts]\n"Tlalpan" = "Sur"\n[crew_zones.sites]\n"{site}" = "Escuelas-Sur"\n')
    listed = json.loads(cli("--config", config, "inventory", "list", "--zone", "escuelas-sur", "-f", "json").out)
    assert [r["id"] for r in listed] == ["ESC-1_AP_01", "ESC-1_AP_02"]
    own = write(tmp_path / "own.csv", "id,crew_zone\nCALLE-7,Cuadrilla 3\n")
    assert cli("inventory", "import", own, "--merge").code == 0
    listed = json.loads(cli("--config", config, "inventory", "list", "--zone", "cuadrilla 3", "-f", "json").out)
    assert [r["id"] for r in listed] == ["CALLE-7"]


def test_export_is_atomic_and_refuses_an_empty_selection(cli, small):
    target = cli.workdir / "out.csv"
    target.write_text("previous contents\n")
    result = cli("inventory", "export", target, "--district", "tlahuac")
    assert result.code == 0 and result.err == f"wrote 1 APs to {target} (csv)\n"
    assert target.read_text().splitlines()[1].startswith("CALLE-7,MiCalle,19.31,-99.11,Tlahuac")
    assert cli("inventory", "export", target, "--ap", "none*").code == 3
    assert target.read_text().startswith("id,program,lat,lon")  # untouched by the refused export
    assert cli("inventory", "export", cli.workdir / "missing-dir" / "x.csv").code == 3
    assert [p.name for p in cli.workdir.iterdir() if p.name.endswith(".tmp")] == []
    stdout = cli("inventory", "export", "-", "--format", "geojson")
    assert len(json.loads(stdout.out)["features"]) == 4


def test_data_dir_flag_and_env(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source = write(tmp_path / "s.csv", SMALL)
    assert cli("--data-dir", tmp_path / "flagdir", "inventory", "import", source).code == 0
    assert (tmp_path / "flagdir" / "hotspotctl.db").is_file()
    monkeypatch.setenv("HOTSPOTCTL_DATA_DIR", str(tmp_path / "envdir"))
    assert json.loads(cli("inventory", "stats", "-f", "json").out)["aps"] == 0
    assert (tmp_path / "envdir" / "hotspotctl.db").is_file()


def test_a_bad_config_is_exit_3_in_one_line(cli, tmp_path: Path):
    config = write(tmp_path / "bad.toml", "[inventory]\nbound = 1\n")
    result = cli("--config", config, "inventory", "stats")
    assert result.code == 3
    assert result.err == (f"error: {config}: inventory.bound: unknown setting; "
                          "did you mean 'inventory.bounds'?\n")


def test_the_bundled_inventory_is_the_citys_file_with_its_attribution():
    assert CDMX_XLSX.stat().st_size == 1_357_685
    source = (REPO / "inventory" / "SOURCE.md").read_text()
    assert "datos.cdmx.gob.mx" in source and "Government of Mexico City" in source
