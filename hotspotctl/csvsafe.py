"""Keeping CSV cells inert in spreadsheets (CSV/formula injection), reversibly.

A text cell that starts with = + - @ TAB or CR is run as a formula by Excel,
LibreOffice and Google Sheets. We write such a cell with a leading apostrophe,
which spreadsheets show but do not evaluate, and remove that apostrophe again
when a CSV is imported, so an export re-imports to the same values. Numbers are
written as numbers (a longitude of -99.1 stays -99.1).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unneutralise(text: str) -> str:
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS else text
