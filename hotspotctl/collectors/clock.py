"""Which monotonic clock a reading is on, so that an interval is only ever taken on one clock.

``time.monotonic()`` is Linux's CLOCK_MONOTONIC: one clock for every process of one boot of the
kernel, never stepped by NTP or an operator (only slewed), restarting at each boot. A reading kept
in the store is comparable with a new one when both come from the same boot and the same time
namespace (a container may have its own CLOCK_MONOTONIC offset). ``monotonic_clock()`` names that
clock: the kernel's boot id, plus the time namespace when there is one. Where neither can be read
(not Linux, no /proc) it is None, and rates fall back to the wall clock.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")  # a random UUID, new at each boot
TIME_NAMESPACE = Path("/proc/self/ns/time")  # "time:[4026531834]" (Linux >= 5.6)
_MAX_LENGTH = 64  # what the store keeps (ap_state.clock)


@functools.cache
def monotonic_clock() -> str | None:
    """The identity of this process's ``time.monotonic()``: read once per process, None when unknown."""
    try:
        boot = BOOT_ID.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not boot:
        return None
    try:
        namespace = os.readlink(TIME_NAMESPACE)
    except OSError:
        namespace = ""
    if namespace.startswith("time:[") and namespace.endswith("]"):
        boot = f"{boot}/{namespace[6:-1]}"
    return boot if len(boot) <= _MAX_LENGTH else None
