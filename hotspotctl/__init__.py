"""hotspotctl: keep a city's public Wi-Fi working."""

__version__ = "0.1.0"
