"""Reading the settings: defaults, then a TOML file, then ``HOTSPOTCTL_*`` variables, then flags.

The schema (every key, its default, its check and its help) is ``hotspotctl/settings.py``; this is
the machinery that fills it, strictly: an unknown key, a wrong type or an impossible value is a
``ConfigError`` naming the file (or variable) and the key path. It knows nothing of the keys
themselves: it walks the schema's dataclasses.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hotspotctl.errors import ConfigError
from hotspotctl.names import did_you_mean

ENV_PREFIX = "HOTSPOTCTL_"
CONFIG_ENV = "HOTSPOTCTL_CONFIG"
DEFAULT_CONFIG_NAME = "hotspotctl.toml"


def env_name(path: str) -> str:
    """The environment variable of a key path: ``inventory.bounds_margin_km`` is
    ``HOTSPOTCTL_INVENTORY_BOUNDS_MARGIN_KM``."""
    return ENV_PREFIX + path.replace(".", "_").upper()


@dataclasses.dataclass(frozen=True)
class Sources:
    """What ``read_sources`` found: the values built, where each came from, and the file read."""

    values: Any  # an instance of the schema
    origins: dict[str, str]  # key path -> "default" | "file <path>" | "env NAME" | "flag --name"
    config_file: Path | None


def read_sources(schema: type, config: Path | None = None, *, env: Mapping[str, str] | None = None,
                 flags: Mapping[str, tuple[str, Any]] | None = None, cwd: Path | None = None,
                 replaced: Mapping[str, str] | None = None) -> Sources:
    """``schema`` (a dataclass of settings) filled from its defaults, the TOML file, the environment, then flags.

    ``flags`` maps a key path to (flag name, value) for flags the user gave. The file is ``config``,
    else ``HOTSPOTCTL_CONFIG``, else ``./hotspotctl.toml`` when present. ``replaced`` maps the key path
    of a setting that no longer exists to what replaced it: given in the file or the environment, it is
    an error naming the replacement, never silently ignored.
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    config_file = _find_config(config, env, cwd)
    document = _read_toml(config_file) if config_file else {}
    _refuse_replaced(replaced or {}, document, env, str(config_file))
    loader = _Loader(document, f"file {config_file}" if config_file else "", env, flags or {})
    values = loader.build(schema, "")
    loader.reject_unknown(document, schema, "", str(config_file))
    return Sources(values, loader.origins, config_file)


def _refuse_replaced(replaced: Mapping[str, str], document: dict[str, Any], env: Mapping[str, str],
                     source: str) -> None:
    for path, instead in replaced.items():
        node: Any = document
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            raise ConfigError(f"{source}: {path}: replaced by {instead}")
        if env_name(path) in env:
            new_env = env_name(instead.split(" ", 1)[0])
            raise ConfigError(f"env {env_name(path)}: {path}: replaced by {instead} ({new_env})")


def _find_config(config: Path | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    if config is None and env.get(CONFIG_ENV):
        config = Path(env[CONFIG_ENV])
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"{config}: config file not found; pass an existing file to --config "
                              f"or {CONFIG_ENV}")
        return config
    default = cwd / DEFAULT_CONFIG_NAME
    return default if default.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None


class _Loader:
    def __init__(self, document: dict[str, Any], file_origin: str, env: Mapping[str, str],
                 flags: Mapping[str, tuple[str, Any]]) -> None:
        self.document = document
        self.file_origin = file_origin
        self.env = env
        self.flags = flags
        self.origins: dict[str, str] = {}

    def build(self, cls: Any, prefix: str) -> Any:
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            path = f"{prefix}{f.name}"
            kind = hints[f.name]
            if dataclasses.is_dataclass(kind):
                values[f.name] = self.build(kind, f"{path}.")
                continue
            value = self._pick(path, kind)
            if value is dataclasses.MISSING:
                self.origins[path] = "default"
                continue
            if isinstance(value, dict) and f.default_factory is not dataclasses.MISSING:
                value = {**f.default_factory(), **value}  # a file adds named sets; the defaults stay
            values[f.name] = value
            check = f.metadata.get("check")
            problem = check(value) if check else None
            if problem:
                raise ConfigError(f"{self.origins[path]}: {path}: {problem}")
        built = cls(**values)
        problem = built.problem() if hasattr(built, "problem") else None
        if problem:
            where = sorted({self.origins[p] for p in self.origins if p.startswith(prefix)} - {"default"})
            raise ConfigError(f"{', '.join(where) or 'defaults'}: {prefix.rstrip('.')}: {problem}")
        return built

    def _pick(self, path: str, kind: Any) -> Any:
        if path in self.flags:
            flag, raw = self.flags[path]
            self.origins[path] = f"flag {flag}"
            return _convert(raw, kind, f"flag {flag}", path, from_text=isinstance(raw, str))
        name = env_name(path)
        if name in self.env and typing.get_origin(kind) is not dict:
            self.origins[path] = f"env {name}"
            return _convert(self.env[name], kind, f"env {name}", path, from_text=True)
        node: Any = self.document
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return dataclasses.MISSING
            node = node[part]
        self.origins[path] = self.file_origin
        return _convert(node, kind, self.file_origin, path, from_text=False)

    def reject_unknown(self, node: dict[str, Any], cls: type, prefix: str, source: str) -> None:
        hints = typing.get_type_hints(cls)
        for key, value in node.items():
            path = f"{prefix}{key}"
            if key not in hints:
                close = did_you_mean(key, hints)
                hint = f"; did you mean '{prefix}{close}'?" if close else ""
                raise ConfigError(f"{source}: {path}: unknown setting{hint}")
            if dataclasses.is_dataclass(hints[key]):
                if not isinstance(value, dict):
                    raise ConfigError(f"{source}: {path}: expected a table [{path}]")
                self.reject_unknown(value, hints[key], f"{path}.", source)


def _convert(raw: Any, kind: Any, origin: str, path: str, *, from_text: bool) -> Any:
    try:
        return _coerce(raw, kind, from_text)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: {path}: {exc}") from None


def _coerce(raw: Any, kind: Any, from_text: bool) -> Any:
    origin = typing.get_origin(kind)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        if from_text:
            raw = [part.strip() for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list):
            raise TypeError(f"expected a list, got {raw!r}")
        return tuple(_coerce(part, item, from_text) for part in raw)
    if origin is dict:
        if not isinstance(raw, dict):
            raise TypeError(f"expected a table of names, got {raw!r}")
        item = typing.get_args(kind)[1]
        if dataclasses.is_dataclass(item):
            return {str(name): _table(value, item, str(name)) for name, value in raw.items()}
        if item is str:
            bad = [k for k, v in raw.items() if not isinstance(v, str)]
            if bad:
                raise TypeError(f"{bad[0]}: expected a string")
            return dict(raw)
        values = {}
        for name, value in raw.items():
            try:
                values[str(name)] = _coerce(value, item, from_text=False)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{name}: {exc}") from None
        return values
    if kind is bool:
        if from_text:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
        elif isinstance(raw, bool):
            return raw
        raise ValueError(f"expected true or false, got {raw!r}")
    if kind in (int, float):
        if from_text:
            raw = raw.strip()
            try:
                number = kind(raw)
            except ValueError:
                raise ValueError(f"expected a number, got {raw!r}") from None
        elif isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise TypeError(f"expected a number, got {raw!r}")
        else:
            number = kind(raw)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {raw!r}")
        return number
    if kind in (str, Path):
        if not isinstance(raw, str):
            raise TypeError(f"expected a string, got {raw!r}")
        return kind(raw)
    raise TypeError(f"unsupported setting type {kind!r}")  # pragma: no cover - a bug in Settings


def _table(raw: Any, cls: Any, name: str) -> Any:
    """One ``[section.NAME]`` table of a dict-of-tables setting, strictly."""
    if not isinstance(raw, dict):
        raise TypeError(f"{name}: expected a table")
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in raw.items():
        if key not in hints:
            close = did_you_mean(key, hints)
            hint = f"; did you mean '{close}'?" if close else ""
            raise TypeError(f"{name}.{key}: unknown setting{hint}")
        try:
            values[key] = _coerce(value, hints[key], from_text=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}.{key}: {exc}") from None
    for f in dataclasses.fields(cls):
        check = f.metadata.get("check")
        problem = check(values[f.name]) if check and f.name in values else None
        if problem:
            raise ValueError(f"{name}.{f.name}: {problem}")
    built = cls(**values)
    problem = built.problem() if hasattr(built, "problem") else None
    if problem:
        raise ValueError(f"{name}: {problem}")
    return built
