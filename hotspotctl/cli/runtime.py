"""What every command shares: settings loaded once, the store, and the common options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any

import typer

from hotspotctl.cli.output import Format, ReportFormat
from hotspotctl.collectors.auth import require_secrets
from hotspotctl.collectors.profiles import ProfileSet, load_profiles
from hotspotctl.errors import InputError
from hotspotctl.inventory.fleet import CrewZones, Fleet, Selection
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.settings import DATABASE_FILE, LoadedSettings, Settings, load_settings, mask_url
from hotspotctl.sinks.influx import InfluxSink
from hotspotctl.sinks.spool import Spool, spools_within
from hotspotctl.spans import span_seconds
from hotspotctl.store import Store
from hotspotctl.store.engine import private_folder


@dataclass
class Runtime:
    config: Path | None = None
    flags: dict[str, tuple[str, Any]] = field(default_factory=dict)
    quiet: bool = False
    store_missing: bool = False  # a read found no store file and made none
    _loaded: LoadedSettings | None = None

    @property
    def loaded(self) -> LoadedSettings:
        if self._loaded is None:
            self._loaded = load_settings(self.config, flags=self.flags)
        return self._loaded

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    def data_dir(self) -> Path:
        """The data folder, created private (0700) when missing; ConfigError when it cannot be used."""
        origin = self.loaded.origins.get("data_dir", "default")
        kind, _, where = origin.partition(" ")
        what = {"flag": "--data-dir", "env": "HOTSPOTCTL_DATA_DIR", "file": f"data_dir (in {where})"}.get(
            kind, "data_dir (default ./var)")
        return private_folder(self.settings.data_dir, what=what)

    def open_store(self, *, create: bool = True) -> Store:
        """The store; with ``create=False`` (commands that only read) a missing SQLite file is not made:
        an empty store in memory stands in, and ``store_missing`` says so."""
        if not self.settings.database_url:  # the store is <data_dir>/hotspotctl.db
            if not create and not (self.settings.data_dir / DATABASE_FILE).exists():
                self.store_missing = True
                return Store.open("sqlite://")
            self.data_dir()
        return Store.open(self.settings.store_url)

    def where_state_is(self) -> str:
        """Which store a command used, and how to point it at another one."""
        missing = " (no store there yet: nothing was created)" if self.store_missing else ""
        return (f"{mask_url(self.settings.store_url)}{missing}; set --data-dir or HOTSPOTCTL_DATA_DIR (or data_dir "
                "in the config file) to use another, as the service does (/var/lib/hotspotctl)")

    def zones(self) -> CrewZones:
        return CrewZones.from_settings(self.settings.crew_zones)

    def profiles(self) -> ProfileSet:
        extra = self.settings.snmp.profiles_dir
        return load_profiles([Path(extra)] if extra else [])

    def spool(self, name: str | None = None) -> Spool:
        """The spool; with ``name``, another process's in its subfolder of that name (``spools_within``: a cluster
        worker's <spool>/<name>, a leader's <spool>/leader.<name>), an InputError when there is none."""
        if not self.settings.spool.dir:
            self.data_dir()  # the spool's own folder is the spool's to make
        directory = self.settings.spool_dir
        if name is not None:
            found = {path.name: path for path in spools_within(directory)}
            if name not in found:
                raise InputError(f"no spool {name!r} in {directory} (the spools there: "
                                 f"{', '.join(sorted(found)) or 'none'}); `hotspotctl spool status` lists them")
            directory = found[name]
        return Spool(directory, max_bytes=int(self.settings.spool.max_mb * 1e6),
                     limit_name="spool.max_mb (HOTSPOTCTL_SPOOL_MAX_MB)")

    def sink(self, spool: str | None = None) -> InfluxSink:
        """The spool in front of InfluxDB (or the spool alone when influx.url is empty); ``spool``: another
        process's, by name (``spool``)."""
        return InfluxSink(self.settings.influx, self.spool(spool))

    def load_fleet(self) -> Fleet:
        with self.open_store() as store:
            return Fleet.load(store, self.zones())

    def poll_selection(self, chosen: Selection) -> list[AccessPoint]:
        """The selected APs, for a command that polls them (run, poll, discover): an InputError when the
        selection matches none, a ConfigError naming every credential set they use whose secret is missing
        (before anything is polled: a missing secret is not an outage)."""
        aps = self.load_fleet().select(chosen)
        if not aps:
            raise InputError("the selection matches no AP; `hotspotctl inventory list` shows what is there")
        self.require_secrets(aps)
        return aps

    def require_secrets(self, aps: Sequence[AccessPoint]) -> None:
        """ConfigError (exit 3) naming each credential set these APs are polled with whose secret is missing."""
        require_secrets(aps, self.settings.snmp.auth, self.settings.ssh.auth)


def runtime(ctx: typer.Context) -> Runtime:
    root = ctx.find_root()
    if not isinstance(root.obj, Runtime):
        root.obj = Runtime()
    return root.obj


FormatOption = Annotated[Format, typer.Option(
    "--format", "-f", help="table on a terminal; json or csv for scripts", case_sensitive=False)]

ReportFormatOption = Annotated[ReportFormat, typer.Option(
    "--format", "-f", help="table on a terminal; json for scripts", case_sensitive=False)]

ApOption = Annotated[list[str] | None, typer.Option(
    "--ap", help="AP id or glob ('PILARES-*'); repeatable", show_default=False)]
SiteOption = Annotated[list[str] | None, typer.Option(
    "--site", help="site id or name, or a glob; repeatable", show_default=False)]
DistrictOption = Annotated[list[str] | None, typer.Option(
    "--district", help="district (alcaldia), any case or accents, or a unique prefix; repeatable",
    show_default=False)]
ProgramOption = Annotated[list[str] | None, typer.Option(
    "--program", help="programme, any case or accents, or a unique prefix; repeatable", show_default=False)]
ZoneOption = Annotated[list[str] | None, typer.Option(
    "--zone", help="crew zone; repeatable", show_default=False)]


def selection(ap: list[str] | None, site: list[str] | None, district: list[str] | None,
              program: list[str] | None, zone: list[str] | None) -> Selection:
    return Selection(tuple(ap or ()), tuple(site or ()), tuple(district or ()),
                     tuple(program or ()), tuple(zone or ()))


def parse_when(text: str, now: float, *, flag: str, ahead: bool = False, tz: tzinfo = UTC) -> float:
    """A moment typed on the command line, as epoch seconds.

    ISO dates and times (in ``tz``, the city's zone, unless they carry an offset), ``now``, a span
    back from now (``30m``, ``2h``, ``3d``, ``1w``, ``1d12h``; ``-2h`` too), or a span ahead (``+2h``).
    """
    raw = text.strip()
    lowered = raw.lower()
    if lowered == "now":
        return now
    sign, body = -1, lowered
    if body[:1] in ("+", "-"):
        sign, body = (1 if body[0] == "+" else -1), body[1:].strip()
    span = span_seconds(body)
    if span is not None:
        return now + sign * span
    try:
        if raw[:1] in ("+", "-"):
            raise ValueError(raw)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        later = ", now, or a span ahead (+2h, +1d)" if ahead else ""
        raise InputError(f"{flag} {text!r}: not a time; give an ISO date or time, the city's time ({tz}) unless "
                         f"it says (2026-03-01, 2026-03-01T08:30, 2026-03-01T08:30-06:00), a span back from now "
                         f"(30m, 2h, 3d, 1w){later}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def human_duration(seconds: float) -> str:
    """1h 23m, 2d 4h, 12m, 40s."""
    s = max(0, int(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"
