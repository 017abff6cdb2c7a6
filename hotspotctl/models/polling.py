"""What polling remembers about an AP between cycles: its discovered layout, and its last counters.

Discovery finds the layout (``hotspotctl.collectors.discovery``), the rates computation turns the counters into
rates (``hotspotctl.evaluate.rates``); the store keeps both.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotspotctl.models.records import fast_init


@dataclass(frozen=True, slots=True)
class Interface:
    if_index: int
    name: str  # ifName, else ifDescr
    if_type: int | None
    oper_up: bool
    speed_mbps: float | None  # ifHighSpeed, else ifSpeed / 1e6, times the profile's scale
    has_hc: bool  # ifHCInOctets and ifHCOutOctets answer
    has_32: bool  # ifInOctets and ifOutOctets answer


@dataclass(frozen=True, slots=True)
class Discovery:
    """Where an AP's figures live: chosen once by walking it, then used by every poll."""

    profile: str
    sys_descr: str
    sys_object_id: str
    uptime_sources: tuple[str, ...]  # present on the device, in the profile's order
    uplink: Interface | None
    radios: tuple[Interface, ...]
    counter_bits: int | None  # 64 (ifHC*), 32 (ifIn/OutOctets) or None (no counters)
    link_source: str | None  # "if_high_speed" | "if_speed" | None
    link_scale: float
    clients_kind: str | None  # "scalar" | "sum" | "count" | None (no client count)
    clients_oids: tuple[str, ...]  # instances to GET (scalar, sum) or the column to walk (count)
    # The profile's radio table (its `radios` section) as discovery found it: the radios' KEYs (dotted row
    # indexes), the instances every poll GETs for them as (column, (row index, ...)), and the IF-MIB names of
    # the KEYs that are ifIndexes. Empty when the profile has no radio table or the device listed no radio:
    # the radios are then the IF-MIB radio interfaces above. Defaults keep layouts stored before them loading.
    radio_keys: tuple[str, ...] = ()
    radio_cells: tuple[tuple[str, tuple[str, ...]], ...] = ()
    radio_if_names: tuple[tuple[int, str], ...] = ()

    @property
    def radio_count(self) -> int:
        """How many Radio records a poll gives: one per radio-table KEY, else one per IF-MIB radio interface."""
        return len(self.radio_keys) if self.radio_keys else len(self.radios)


@fast_init
@dataclass(frozen=True, slots=True)
class CounterState:
    """What must be remembered about an AP between cycles (it is stored in the database)."""

    at: float  # Sample.at of the last good sample
    sys_uptime: int | None
    hr_uptime: int | None
    engine_time: int | None
    in_octets: int | None
    out_octets: int | None
    counter_bits: int
    uptime_wraps: int = 0  # 2^32 rollovers of the primary ticks source seen, so uptime_s keeps growing
    mono: float | None = None  # Sample.mono of that sample...
    clock: str | None = None  # ...and the clock it is on (Sample.clock)
    uplink: str | None = None  # the interface the counters are from (Sample.uplink)
