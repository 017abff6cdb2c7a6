"""The one wall clock commands read "now" from (epoch seconds): tests set it in one place."""

from __future__ import annotations

import time


def now() -> float:
    """Epoch seconds now (``time.time()``)."""
    return time.time()
