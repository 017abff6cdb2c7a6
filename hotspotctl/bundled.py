"""Finding the data hotspotctl ships: inside the wheel, or beside the package in a source checkout."""

from __future__ import annotations

from pathlib import Path

from hotspotctl.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent
CDMX_INVENTORY = ("inventory", "wifi_cdmx_2025.xlsx")


def bundled_path(*parts: str) -> Path:
    for root in (_PACKAGE / "_bundled", _PACKAGE.parent):
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise ConfigError(f"bundled data {'/'.join(parts)} is missing from this installation; "
                      "reinstall hotspotctl or run it from a full checkout")
