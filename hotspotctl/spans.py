"""Spans of time as people type them: 45s, 10m, 2h, 1d, 1w, 1h30m (a space between parts is fine)."""

from __future__ import annotations

import re

UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SPAN = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def span_seconds(text: str) -> float | None:
    """The span's seconds, or None when ``text`` is not a span."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or not _SPAN.fullmatch(compact):
        return None
    return sum(float(number) * UNIT_S[unit] for number, unit in _PART.findall(compact))
