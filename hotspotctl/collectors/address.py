"""An AP's management address as the inventory gives it: host, host:port or [v6]:port."""

from __future__ import annotations

__all__ = ["split_address"]


def split_address(address: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` -> (host, port); ValueError says what is wrong."""
    text = address.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"{address!r}: no host")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{address!r}: port must be 1-65535")
    return host, int(port) if port else default_port
