"""The schema's neighbours: the loader, the describer's declarations, and the city's bundled data."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from hotspotctl.city import bundled_city, read_city
from hotspotctl.errors import ConfigError
from hotspotctl.settings import CDMX_BOUNDS, CDMX_DISTRICTS, Settings, describe, every_setting, load_settings
from hotspotctl.simulate.traffic import programme_kind


def test_every_setting_lists_each_key_with_its_default_variable_range_and_help():
    found = {d.key: d for d in every_setting()}
    shown = [row["key"] for row in describe(load_settings(env={}, cwd=Path("/")))]
    assert {key for key in shown if not key.startswith(("snmp.auth.", "ssh.auth."))} <= set(found)  # config show's
    port = found["snmp.port"]
    assert (port.default, port.env, port.range, port.kind) == (161, "HOTSPOTCTL_SNMP_PORT", (1, 65535, ""), int)
    assert "UDP port" in port.help
    assert found["inventory.bounds"].default == CDMX_BOUNDS and found["timezone"].default == "America/Mexico_City"
    assert found["crews.webhook.token"].secret == "value" and found["database_url"].secret == "url"
    auth = found["snmp.auth"]
    assert auth.env is None and set(auth.default) == {"default", "sim-v3"}
    assert found["snmp.auth.NAME.version"].env is None and found["snmp.auth.NAME.version"].default == "2c"
    assert found["evaluate.target_by_program"].range == (0.001, 1_000_000, "Mb/s")  # each value's range
    assert all(d.help for d in found.values())
    defaults = Settings()
    for d in found.values():  # the declared defaults are the schema's
        if "NAME" not in d.key:
            value = defaults
            for part in d.key.split("."):
                value = getattr(value, part)
            assert value == d.default, d.key


def test_the_city_is_bundled_data_with_mexico_citys_values():
    city = bundled_city()
    assert (city.name, city.timezone) == ("Mexico City", "America/Mexico_City")
    assert city.bounds == CDMX_BOUNDS == (19.04, -99.37, 19.60, -98.94)
    assert city.districts == CDMX_DISTRICTS and len(city.districts) == 16
    assert Settings().inventory.districts == city.districts and Settings().timezone == city.timezone
    assert [p.prefix for p in city.programmes][:3] == ["transporte", "escuelas", "poste c5"]
    assert programme_kind("Transporte Público") == ("transport", (10, 50))
    assert programme_kind("Utopías") == ("public", (8, 30))
    assert programme_kind("something else") == ("street", (2, 12))


@pytest.mark.parametrize(("text", "error"), [
    ('name = "X"\ntimezone = "UTC"\nbounds = [1, 2, 3]\ndistricts = []\n', r"city.toml: bounds: expected a list of 4"),
    ('name = "X"\ntimezone = "UTC"\nbounds = [1, 2, 3, 4]\ndistricts = []\nmayor = "?"\n', r"city.toml: mayor: unknown key"),
    ('name = "X"\ntimezone = "UTC"\nbounds = [1, 2, 3, 4]\ndistricts = [""]\n', r"districts\[0\]: expected a non-empty"),
    ('name = "X"\ntimezone = "UTC"\nbounds = [1, 2, 3, 4]\ndistricts = []\n[programmes]\nmetro = { place = "transport", '
     'peak_clients = [5, 1] }\n', r"programmes.metro.peak_clients: expected \[min, max\]"),
    ('name = "X"\ntimezone = "UTC"\nbounds = [1, 2, 3, 4]\ndistricts = []\n[programmes]\nmetro = { place = "x", '
     'peak = [1, 5] }\n', r"programmes.metro.peak: unknown key"),
    ("name = ", r"city.toml: not valid TOML"),
])
def test_a_city_file_is_read_strictly(tmp_path: Path, text: str, error: str):
    path = tmp_path / "city.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=error):
        read_city(path)


@pytest.mark.parametrize("module", ["hotspotctl.settings_load", "hotspotctl.settings_describe", "hotspotctl.city",
                                    "hotspotctl.settings"])
def test_each_settings_module_imports_first_on_its_own(module: str):
    """No import cycle between the schema and its machinery, whichever is imported first."""
    subprocess.run([sys.executable, "-c", f"import {module}; import hotspotctl.settings as s; s.load_settings"],
                   check=True, cwd=Path(__file__).resolve().parent.parent)


def test_the_loader_fills_any_settings_dataclass(tmp_path: Path):
    from hotspotctl.settings import _setting
    from hotspotctl.settings_load import read_sources

    @dataclasses.dataclass(frozen=True)
    class Small:
        retries: int = _setting(2, help="tries")

    (tmp_path / "hotspotctl.toml").write_text("retries = 5\n")
    found = read_sources(Small, env={}, cwd=tmp_path)
    assert found.values == Small(retries=5) and found.origins == {"retries": f"file {tmp_path / 'hotspotctl.toml'}"}
    assert read_sources(Small, env={"HOTSPOTCTL_RETRIES": "7"}, cwd=Path("/")).values.retries == 7
