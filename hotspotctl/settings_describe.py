"""Showing the settings: each key with its value, where the value came from, its variable and help.

``describe`` is what ``hotspotctl config show`` prints (secrets masked); ``declarations`` lists
what the schema (``hotspotctl/settings.py``) declares, for generated references.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from hotspotctl.settings_load import env_name

if TYPE_CHECKING:
    from hotspotctl.settings import LoadedSettings


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, so it can be shown."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else f":***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def describe(loaded: LoadedSettings) -> list[dict[str, Any]]:
    """Every setting as {key, value, source, env, help}, secrets masked, for `config show`."""
    rows: list[dict[str, Any]] = []

    def walk(obj: Any, prefix: str, table: str | None = None) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            path = f"{prefix}{f.name}"
            if dataclasses.is_dataclass(value):
                walk(value, f"{path}.")
                continue
            if isinstance(value, dict) and any(dataclasses.is_dataclass(v) for v in value.values()):
                for name, item in value.items():
                    walk(item, f"{path}.{name}.", path)
                continue
            if f.metadata.get("secret") == "url":
                value = mask_url(value)
            elif f.metadata.get("secret") and value:
                value = "***"
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            if table is not None and value in ("", None):
                continue  # an unused field of a credential set: noise in `config show`
            origin = loaded.origins.get(table or path, "default")
            rows.append({"key": path, "value": value, "source": origin,
                         "env": env_name(path) if not isinstance(value, dict) and table is None else None,
                         "help": f.metadata.get("help", "")})

    walk(loaded.settings, "")
    return rows


@dataclass(frozen=True, slots=True)
class Declaration:
    """One setting as the schema declares it: for a generated configuration reference."""

    key: str  # key path; NAME stands for a table's own names: snmp.auth.NAME.version
    kind: Any  # the declared type: int, float, str, bool, Path, tuple[str, ...], dict[str, float] ...
    default: Any  # the declared default (a factory's value)
    env: str | None  # its HOTSPOTCTL_* variable; None for tables and their entries (only from the file)
    range: tuple[float, float, str] | None  # (low, high, unit) of a number (or of a table's numbers)
    help: str
    secret: str | None  # "value" or "url" (its password): never shown
    check: Callable[[Any], str | None] | None = None  # the value's check (None: any value of its type)


def declarations(schema: Any, prefix: str = "", *, in_table: bool = False) -> list[Declaration]:
    """Every setting of ``schema`` (a settings dataclass, e.g. ``Settings``), in declaration order.

    A section (a nested dataclass) is walked, not listed. A table of named sets (``snmp.auth``) is
    listed, then the fields of one entry as ``snmp.auth.NAME.<field>``.
    """
    hints = typing.get_type_hints(schema)
    found: list[Declaration] = []
    for f in dataclasses.fields(schema):
        path, kind = f"{prefix}{f.name}", hints[f.name]
        if dataclasses.is_dataclass(kind):
            found += declarations(kind, f"{path}.", in_table=in_table)
            continue
        factory: Callable[[], Any] | Any = f.default_factory
        default = factory() if factory is not dataclasses.MISSING else f.default
        table = typing.get_origin(kind) is dict
        check = f.metadata.get("check")
        bounds = getattr(check, "bounds", None)
        found.append(Declaration(path, kind, default, None if table or in_table else env_name(path),
                                 tuple(bounds) if bounds else None, f.metadata.get("help", ""),
                                 f.metadata.get("secret"), check))
        item = typing.get_args(kind)[1] if table else None
        if dataclasses.is_dataclass(item):
            found += declarations(item, f"{path}.NAME.", in_table=True)
    return found
