"""The city hotspotctl ships its defaults for: Mexico City, read from the bundled ``inventory/cdmx.toml``.

City data (the time zone, the boundary, the districts, the programmes' kinds of place) is data, not
code: the settings take their defaults from here (``inventory.bounds``, ``inventory.districts``,
``timezone``), and the simulator its programmes. The file is read once, strictly: an unknown key or
a wrong type is a ConfigError naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hotspotctl.bundled import bundled_path
from hotspotctl.errors import ConfigError
from hotspotctl.names import name_key

CITY_FILE = ("inventory", "cdmx.toml")
_KEYS = ("name", "timezone", "bounds", "districts", "programmes")
_PROGRAMME_KEYS = ("place", "peak_clients")


@dataclass(frozen=True, slots=True)
class Programme:
    """How the simulator serves an inventory programme: its kind of place and its APs' peak clients."""

    prefix: str  # the start of the programme's name, as names.name_key writes it
    place: str  # a curve of simulate/traffic.py CURVES
    peak_clients: tuple[int, int]  # (min, max) for one AP


@dataclass(frozen=True, slots=True)
class City:
    name: str
    timezone: str  # IANA name
    bounds: tuple[float, float, float, float]  # min_lat, min_lon, max_lat, max_lon
    districts: tuple[str, ...]
    programmes: tuple[Programme, ...]  # in the order they are matched


@cache
def bundled_city() -> City:
    """The shipped city (Mexico City), read once."""
    return read_city(bundled_path(*CITY_FILE))


def read_city(path: Path) -> City:
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the city's data: {exc.strerror}") from None
    return _City(path.name).parse(document)


class _City:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}")

    def parse(self, document: dict[str, Any]) -> City:
        self.known(document, "", _KEYS)
        bounds = self.numbers(document.get("bounds"), "bounds", 4)
        programmes = document.get("programmes", {})
        if not isinstance(programmes, dict):
            raise self.fail("programmes", "expected a table of programmes")
        return City(self.text(document.get("name"), "name"), self.text(document.get("timezone"), "timezone"),
                    (bounds[0], bounds[1], bounds[2], bounds[3]), self.texts(document.get("districts"), "districts"),
                    tuple(self.programme(str(name), value) for name, value in programmes.items()))

    def known(self, table: dict[str, Any], prefix: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{prefix}{key}", f"unknown key; allowed: {', '.join(allowed)}")

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value

    def texts(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, "expected a list of strings")
        return tuple(self.text(item, f"{key}[{i}]") for i, item in enumerate(value))

    def numbers(self, value: Any, key: str, count: int) -> tuple[float, ...]:
        if (not isinstance(value, list) or len(value) != count
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
            raise self.fail(key, f"expected a list of {count} numbers")
        return tuple(float(v) for v in value)

    def programme(self, name: str, value: Any) -> Programme:
        key = f"programmes.{name}"
        if not isinstance(value, dict):
            raise self.fail(key, "expected a table {place = ..., peak_clients = [min, max]}")
        self.known(value, f"{key}.", _PROGRAMME_KEYS)
        low, high = self.numbers(value.get("peak_clients"), f"{key}.peak_clients", 2)
        if not (low.is_integer() and high.is_integer() and 0 <= low <= high):
            raise self.fail(f"{key}.peak_clients", "expected [min, max] whole numbers, 0 <= min <= max")
        return Programme(name_key(name), self.text(value.get("place"), f"{key}.place"), (int(low), int(high)))
