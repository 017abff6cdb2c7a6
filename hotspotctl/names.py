"""Matching human-written names: case-, accent- and spacing-insensitive keys.

'IZTAPALAPA', 'Iztapalapa ' and 'Iztapalapá' all have the key 'iztapalapa';
'Alcaldía' and 'alcaldia' the key 'alcaldia'. Used for column headers, district
and programme names, and selections typed on the command line.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def did_you_mean(key: str, allowed: Iterable[str]) -> str | None:
    """The allowed name closest to a mistyped ``key`` (a settings or profile key), if one is close."""
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return close[0] if close else None


@lru_cache(maxsize=8192)  # the same few district and programme names recur on every row
def name_key(text: str) -> str:
    """Key for comparing names: no accents, case-folded, single spaces, trimmed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare.casefold()).strip()


def identifier_key(text: str) -> str:
    """Key for column headers: like name_key, with every run of punctuation or spaces as '_'."""
    return _NON_WORD.sub("_", name_key(text)).strip("_")


class NameCatalog:
    """The spelling to keep for each name key: known names first, then first seen.

    ``canonical('IZTAPALAPA')`` returns 'Iztapalapa' when that is known, and says
    whether the spelling differed so the caller can report the normalisation.
    """

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._by_key: dict[str, str] = {}
        for name in known:
            self._by_key.setdefault(name_key(name), name)

    def canonical(self, name: str) -> tuple[str, bool]:
        """(spelling to store, True when it differs from ``name``); a new name is learnt as written."""
        key = name_key(name)
        known = self._by_key.get(key)
        if known is None:
            self._by_key[key] = name
            return name, False
        return known, known != name
