"""Message catalogues: every text a crew reads, in Spanish and English (docs/decisions/message-catalogues.md).

One TOML file per language beside this module (``es.toml``, ``en.toml``), shipped in the package. A
message is found by its dotted key (``action.site_offline``) and filled in with ``str.format`` named
values; the values are text, never format strings, so a site name with braces stays as written. A key
ending in ``_one`` / ``_other`` is a plural pair, chosen by ``Catalogue.plural`` (1 -> one; Spanish and
English agree on that rule for counts).

Loading is strict: an unknown language, a value that is not text or a broken placeholder is a
ConfigError at load, so a catalogue that loads never fails at render time. The test checks that both
languages have the same keys and, per key, the same placeholders.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from hotspotctl.errors import ConfigError

LANGUAGES = ("es", "en")  # Spanish first: the city's crews read Spanish
DEFAULT_LANGUAGE = "es"  # the default of the settings (crew_zones.language)
SOURCE_LANGUAGE = "en"  # the pure functions' default, when no setting is at hand


def placeholders(text: str) -> frozenset[str]:
    """The names a message fills in: 'Crew list {zone}: {stops}' -> {'zone', 'stops'}."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def _flatten(table: Mapping[str, Any], prefix: str, into: dict[str, str], where: str) -> None:
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(value, f"{path}.", into, where)
        elif isinstance(value, str):
            try:
                names = placeholders(value)
            except ValueError as exc:
                raise ConfigError(f"{where}: {path}: not a valid message ({exc}); "
                                  "write a literal brace as {{ or }}") from None
            if any(not name.isidentifier() for name in names):
                raise ConfigError(f"{where}: {path}: placeholders are plain names, such as {{zone}}")
            into[path] = value
        else:
            raise ConfigError(f"{where}: {path}: expected text, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One language's messages by dotted key."""

    language: str
    texts: Mapping[str, str]

    def __call__(self, key: str, /, **values: object) -> str:
        """The message ``key`` filled in with ``values`` (a missing key or value is a bug: KeyError)."""
        return self.texts[key].format(**values)

    def plural(self, key: str, n: int, /, **values: object) -> str:
        """``key_one`` for n == 1, else ``key_other``, with ``n`` among the values."""
        return self(f"{key}_{'one' if n == 1 else 'other'}", n=n, **values)

    def has(self, key: str) -> bool:
        return key in self.texts


@cache
def catalogue(language: str) -> Catalogue:
    """The catalogue of ``language`` (one of LANGUAGES), read once."""
    if language not in LANGUAGES:
        raise ConfigError(f"language {language!r}: expected one of {', '.join(LANGUAGES)}")
    name = f"{language}.toml"
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"hotspotctl/messages/{name}: {exc}") from None
    texts: dict[str, str] = {}
    _flatten(table, "", texts, f"hotspotctl/messages/{name}")
    return Catalogue(language, texts)
