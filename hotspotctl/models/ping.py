"""What one ICMP echo check of one host found: the record ``ap ping``, the cycle and evaluation share.

The prober is ``hotspotctl.collectors.ping``; evaluation reads these figures (loss, latency, jitter)
to tell an agent problem (answers ping, not SNMP) from an AP offline (answers neither) and from a
poor backhaul (answers with loss or latency above the thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotspotctl.models.records import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class PingResult:
    """Echo requests sent to one host and the replies that came back within the deadline."""

    host: str  # as asked (an address; a name is resolved once, before the first request)
    sent: int
    received: int
    rtt_min_ms: float | None = None  # None when nothing came back
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    jitter_ms: float | None = None  # mean absolute difference of consecutive round trips (RFC 3550's idea)
    error: str | None = None  # why nothing could be sent (no route, not permitted), else None

    @property
    def loss_pct(self) -> float:
        return 100.0 if self.sent == 0 else round(100.0 * (self.sent - self.received) / self.sent, 1)

    @property
    def answered(self) -> bool:
        return self.received > 0

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "sent": self.sent, "received": self.received, "loss_pct": self.loss_pct,
                "rtt_min_ms": self.rtt_min_ms, "rtt_avg_ms": self.rtt_avg_ms, "rtt_max_ms": self.rtt_max_ms,
                "jitter_ms": self.jitter_ms}
