"""Every hotspotctl setting: its key, type, default, check and help, declared once (the schema).

Precedence, lowest first: the defaults below; a TOML file (``--config``, else
``HOTSPOTCTL_CONFIG``, else ``./hotspotctl.toml`` when present); ``HOTSPOTCTL_*``
environment variables; command-line flags. An environment variable's name is
``HOTSPOTCTL_`` plus the key path in capitals joined by ``_``:
``inventory.bounds_margin_km`` is ``HOTSPOTCTL_INVENTORY_BOUNDS_MARGIN_KM``.
Lists are comma-separated in the environment; tables (maps) come only from the file.

Loading is strict: an unknown key, a wrong type or an impossible value is a
``ConfigError`` naming the file (or variable) and the key path. The machinery lives beside
this schema: ``settings_load.py`` reads the sources, ``settings_describe.py`` shows the result
(``config show``) and lists the declarations (``every_setting``); the city's defaults are
bundled data (``city.py``). Their public names are importable from here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hotspotctl.city import bundled_city
from hotspotctl.messages import DEFAULT_LANGUAGE, LANGUAGES
from hotspotctl.settings_describe import Declaration, declarations, mask_url
from hotspotctl.settings_describe import describe as describe  # the machinery's names, importable from here
from hotspotctl.settings_load import CONFIG_ENV as CONFIG_ENV
from hotspotctl.settings_load import DEFAULT_CONFIG_NAME as DEFAULT_CONFIG_NAME
from hotspotctl.settings_load import ENV_PREFIX as ENV_PREFIX
from hotspotctl.settings_load import env_name as env_name
from hotspotctl.settings_load import read_sources

DATABASE_FILE = "hotspotctl.db"

# The city's own data (the boundary, its districts, its time zone) is bundled data: inventory/cdmx.toml.
CITY = bundled_city()
CDMX_DISTRICTS = CITY.districts
CDMX_BOUNDS: tuple[float, ...] = CITY.bounds


def _setting(default: Any = dataclasses.MISSING, *, help: str, secret: str | None = None,
             check: Callable[[Any], str | None] | None = None, factory: Any = None) -> Any:
    meta = {"help": help, "secret": secret, "check": check}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta, repr=secret is None)  # a secret never shows in a repr or log


def _check_bounds(value: tuple[float, ...]) -> str | None:
    if len(value) != 4:
        return "expected [min_lat, min_lon, max_lat, max_lon]"
    min_lat, min_lon, max_lat, max_lon = value
    if not (-90 <= min_lat < max_lat <= 90 and -180 <= min_lon < max_lon <= 180):
        return "expected [min_lat, min_lon, max_lat, max_lon] with min < max, inside -90..90 and -180..180"
    return None


def _number(value: float) -> str:
    """1,073,741,824 and 0.01, as people write them."""
    if float(value).is_integer() and abs(value) < 1e18:
        return f"{int(value):,}"
    return f"{value:,g}"


def _between(low: float, high: float, unit: str = "") -> Callable[[float], str | None]:
    """A check that a number lies in low..high (both included); its message gives the allowed range.

    Every number in Settings has one: a value that passes the check never crashes a command later
    (a port past 65535, a buffer the kernel's int cannot hold, 2**1000000 seconds of retries).
    """
    shown = f"must be {_number(low)} or more and at most {_number(high)}" + (f" {unit}" if unit else "")

    def check(value: float) -> str | None:
        return None if low <= value <= high else f"{shown} (got {_number(value)})"

    check.bounds = (low, high, unit)  # type: ignore[attr-defined]  # for docs_gen and the tests
    return check


def _each(check: Callable[[float], str | None]) -> Callable[[dict[str, float]], str | None]:
    """The same check for every value of a name -> number table."""

    def each(value: dict[str, float]) -> str | None:
        for name, number in value.items():
            problem = check(number)
            if problem:
                return f"{name}: {problem}"
        return None

    each.bounds = check.bounds  # type: ignore[attr-defined]
    return each


_port = _between(1, 65535)
_MBPS = _between(0.001, 1_000_000, "Mb/s")
_CYCLES = _between(1, 1000, "cycles")
_TIMEOUT = _between(0.1, 600, "s")
_RETRIES = _between(0, 20)
_BELOW_WINDOW = _between(1, 31, "cycles")
NAME_MAX = 100  # a crew zone, a district, a site id: the store's columns for them hold 100 characters


def _control_free(text: str) -> bool:
    return not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text)


def _check_district_names(value: tuple[str, ...]) -> str | None:
    for name in value:
        if not name.strip() or len(name) > NAME_MAX or not _control_free(name):
            return f"{name!r}: a district is 1 to {NAME_MAX} characters without control characters"
    return None


def _check_names(value: dict[str, str]) -> str | None:
    """A name -> crew zone table: zones short enough for the store, without control characters."""
    for name, zone in value.items():
        if not zone.strip() or len(zone) > NAME_MAX or not _control_free(zone) or not _control_free(name):
            return (f"{name!r} = {zone!r}: a crew zone is 1 to {NAME_MAX} characters without control characters "
                    "(line breaks, tabs, escapes)")
    return None


@dataclass(frozen=True)
class InventorySettings:
    bounds: tuple[float, ...] = _setting(
        CDMX_BOUNDS, check=_check_bounds,
        help="the city's box [min_lat, min_lon, max_lat, max_lon]; rows outside it by more than "
             "bounds_margin_km are rejected, rows just outside it are kept with a warning")
    bounds_margin_km: float = _setting(
        10.0, check=_between(0, 20_000, "km"),
        help="how far outside `bounds` an AP may be and still be imported (with a warning)")
    districts: tuple[str, ...] = _setting(
        CDMX_DISTRICTS, check=lambda value: _check_district_names(value),
        help="the known districts; a district written in another case or with other accents "
             "is stored with this spelling")


@dataclass(frozen=True)
class CrewZoneSettings:
    districts: dict[str, str] = _setting(
        factory=dict, check=_check_names, help="district -> crew zone; a district not listed is its own zone")
    sites: dict[str, str] = _setting(
        factory=dict, check=_check_names, help="site id -> crew zone; wins over the district's zone")
    depots: dict[str, tuple[float, ...]] = _setting(
        factory=dict, check=lambda value: _check_depots(value),
        help="crew zone -> [lat, lon] of the depot its crew leaves from; a zone without one starts its "
             "route at the centroid of its stops")
    language: str = _setting(
        DEFAULT_LANGUAGE, check=lambda value: _check_language(value),
        help='the language of the crew lists, their emails and webhooks: "es" (Spanish) or "en" (English); '
             "a zone in `languages` has its own")
    languages: dict[str, str] = _setting(
        factory=dict, check=lambda value: _check_languages(value),
        help='crew zone -> "es" or "en", for a zone whose crew reads another language than `language` '
             "(the zone's name matched in any case and with or without accents)")


def _check_language(value: str) -> str | None:
    return None if value in LANGUAGES else f"{value!r} is not one of {', '.join(LANGUAGES)}"


def _check_languages(value: dict[str, str]) -> str | None:
    for zone, language in value.items():
        problem = _check_language(language)
        if problem:
            return f"{zone}: {problem}"
    return None


def _check_depots(value: dict[str, tuple[float, ...]]) -> str | None:
    for zone, point in value.items():
        if len(point) != 2 or not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
            return f"{zone}: expected [lat, lon] in degrees, got {list(point)}"
    return None


SNMP_VERSIONS = ("2c", "3")
AUTH_PROTOCOLS = ("md5", "sha", "sha224", "sha256", "sha384", "sha512")
PRIV_PROTOCOLS = ("des", "aes", "aes192", "aes256")


@dataclass(frozen=True)
class SnmpAuth:
    """One named set of SNMP credentials: ``[snmp.auth.NAME]``; APs name it in their snmp_auth column.

    Each secret is given inline, or (better) as the name of an environment variable (``*_env``).
    """

    version: str = _setting("2c", help='"2c" or "3"')
    community: str = _setting("", secret="value", help="v2c community")
    community_env: str = _setting("", help="environment variable holding the v2c community")
    write_community: str = _setting("", secret="value", help="v2c community with write access, for SNMP reboots")
    write_community_env: str = _setting("", help="environment variable holding write_community")
    user: str = _setting("", help="v3 user name")
    auth_protocol: str = _setting("", help="v3: " + ", ".join(AUTH_PROTOCOLS) + "; empty = noAuthNoPriv")
    auth_password: str = _setting("", secret="value", help="v3 authentication passphrase")
    auth_password_env: str = _setting("", help="environment variable holding auth_password")
    priv_protocol: str = _setting("", help="v3: " + ", ".join(PRIV_PROTOCOLS) + "; empty = no privacy")
    priv_password: str = _setting("", secret="value", help="v3 privacy passphrase")
    priv_password_env: str = _setting("", help="environment variable holding priv_password")

    def problem(self) -> str | None:
        """What is inconsistent in this set, or None."""
        if self.version not in SNMP_VERSIONS:
            return f"version: {self.version!r} is not one of {', '.join(SNMP_VERSIONS)}"
        if self.version == "2c":
            if not (self.community or self.community_env):
                return "a v2c set needs community or community_env"
            if self.user or self.auth_protocol or self.priv_protocol:
                return "user, auth_protocol and priv_protocol are for version \"3\""
            return None
        if not self.user:
            return "a v3 set needs user"
        if self.auth_protocol and self.auth_protocol not in AUTH_PROTOCOLS:
            return f"auth_protocol: {self.auth_protocol!r} is not one of {', '.join(AUTH_PROTOCOLS)}"
        if self.priv_protocol and self.priv_protocol not in PRIV_PROTOCOLS:
            return f"priv_protocol: {self.priv_protocol!r} is not one of {', '.join(PRIV_PROTOCOLS)}"
        if self.priv_protocol and not self.auth_protocol:
            return "priv_protocol needs auth_protocol (SNMPv3 has no privacy without authentication)"
        if self.auth_protocol and not (self.auth_password or self.auth_password_env):
            return "auth_protocol needs auth_password or auth_password_env"
        if self.priv_protocol and not (self.priv_password or self.priv_password_env):
            return "priv_protocol needs priv_password or priv_password_env"
        return None


SIM_V3_AUTH = "sim-v3"  # the simulator's SNMPv3 user; its passphrases come from these variables
SIM_V3_AUTH_ENV = "HOTSPOTCTL_SIM_V3_AUTH_PASSWORD"
SIM_V3_PRIV_ENV = "HOTSPOTCTL_SIM_V3_PRIV_PASSWORD"


def _default_auth() -> dict[str, SnmpAuth]:
    return {"default": SnmpAuth(version="2c", community="public"),
            SIM_V3_AUTH: SnmpAuth(version="3", user="hotspotctl-sim", auth_protocol="sha256",
                                  auth_password_env=SIM_V3_AUTH_ENV, priv_protocol="aes",
                                  priv_password_env=SIM_V3_PRIV_ENV)}


@dataclass(frozen=True)
class SnmpSettings:
    port: int = _setting(161, check=_port, help="UDP port of an AP's agent when mgmt_address gives none")
    timeout_s: float = _setting(1.0, check=_between(0.01, 60, "s"),
                                help="wait for an agent's first answer before retrying; later waits follow its "
                                     "measured round trip (RFC 6298), between min_timeout_s and deadline_s")
    min_timeout_s: float = _setting(0.5, check=_between(0.01, 60, "s"),
                                    help="the shortest wait before a retry, however fast the agent answered before "
                                         "(never more than timeout_s)")
    retries: int = _setting(2, check=_between(0, 10),
                            help="retries after the first try; each waits twice as long as the one before")
    deadline_s: float = _setting(6.0, check=_between(0.1, 3600, "s"),
                                 help="an AP's whole budget in one cycle, retries included")
    max_in_flight: int = _setting(2000, check=_between(1, 100_000),
                                  help="requests outstanding at once, all APs together")
    max_oids_per_get: int = _setting(24, check=_between(1, 128), help="a GET asks for at most this many OIDs")
    receive_buffer_bytes: int = _setting(8 << 20, check=_between(64 << 10, 1 << 30, "bytes"),
                                         help="UDP receive buffer, so bursts of answers are not dropped; without "
                                              "CAP_NET_ADMIN the kernel caps it at net.core.rmem_max (warned), and "
                                              "requests in flight are held to what it holds")
    name_ttl_s: float = _setting(300.0, check=_between(0, 86_400, "s"),
                                 help="an AP whose mgmt_address is a name: how long a resolved address is used "
                                      "before the name is looked up again (a name that fails is retried next cycle)")
    profiles_dir: str = _setting("", help="a folder of your own profiles (*.yaml), read after the shipped ones")
    rediscover_hours: float = _setting(24.0, check=_between(0.01, 8760, "h"), help="walk an AP again after this long")
    down_backoff_max_s: float = _setting(
        60.0, check=_between(0.1, 86_400, "s"),
        help="a down AP is tried every cycle at first, then less often, but never less often than this: so a "
             "fixed AP is seen back, and its outage closes, within this plus evaluate.up_after cycles")
    auth: dict[str, SnmpAuth] = _setting(
        factory=_default_auth,
        help='named credential sets [snmp.auth.NAME]; "default" (v2c, community "public") and "sim-v3" (the '
             'simulator\'s v3 user, passphrases from HOTSPOTCTL_SIM_V3_*_PASSWORD) unless you redefine them')


PING_SOCKETS = ("auto", "datagram", "raw")


def _check_ping_socket(value: str) -> str | None:
    return None if value in PING_SOCKETS else (
        f"{value!r} is not one of {', '.join(PING_SOCKETS)} (datagram: the unprivileged ICMP socket, allowed by "
        "net.ipv4.ping_group_range; raw: needs root or CAP_NET_RAW; auto: datagram, else raw)")


@dataclass(frozen=True)
class PingSettings:
    """ICMP echo of every AP with a management address, each cycle, and `hotspotctl ap ping`'s defaults."""

    enabled: bool = _setting(True, help="`hotspotctl run` pings every AP that has a mgmt_address each cycle, "
                                        "alongside SNMP (docs/polling.md, Reachability)")
    count: int = _setting(3, check=_between(1, 100), help="echo requests per AP per cycle")
    interval_ms: float = _setting(200.0, check=_between(1, 60_000, "ms"),
                                  help="time between one AP's echo requests (200 ms: a city's 35,000 APs x 3 "
                                       "echoes in about the rate cap's 5.3 s; docs/performance.md)")
    timeout_s: float = _setting(1.0, check=_between(0.01, 60, "s"),
                                help="how long each echo is waited for; an AP is done this long after its last echo "
                                     "(or as soon as every echo is answered)")
    max_in_flight: int = _setting(4000, check=_between(1, 100_000),
                                  help="APs being pinged at once (held to what the receive buffer holds)")
    max_rate_pps: float = _setting(20_000.0, check=_between(0, 1_000_000, "echoes/s"),
                                   help="echo requests per second on average, all APs together, in bursts of at "
                                        "most 20 ms' worth (35,000 APs x 3 echoes: at least 5.3 s); 0 = no cap")
    receive_buffer_bytes: int = _setting(8 << 20, check=_between(64 << 10, 1 << 30, "bytes"),
                                         help="the ICMP socket's receive buffer; without CAP_NET_ADMIN the kernel "
                                              "caps it at net.core.rmem_max (warned)")
    socket: str = _setting("auto", check=_check_ping_socket,
                           help="auto, datagram or raw: datagram is unprivileged where net.ipv4.ping_group_range "
                                "includes the service's group; raw needs root or CAP_NET_RAW; auto tries datagram, "
                                "then raw")

    @property
    def interval_s(self) -> float:
        return self.interval_ms / 1000.0

    @property
    def deadline_s(self) -> float:
        """The longest one AP's ping can take: its echoes' spacing plus the last one's wait."""
        return (self.count - 1) * self.interval_s + self.timeout_s


@dataclass(frozen=True)
class SshAuth:
    """One named set of SSH credentials: ``[ssh.auth.NAME]``; APs name it in their ssh_auth column.

    A password given inline, or (better) the name of an environment variable holding it, or a key file.
    """

    username: str = _setting("", help="login name")
    password: str = _setting("", secret="value", help="password (prefer password_env)")
    password_env: str = _setting("", help="environment variable holding the password")
    key_file: str = _setting("", help="private key file (OpenSSH format); tried before the password")
    passphrase_env: str = _setting("", help="environment variable holding the key file's passphrase")
    port: int = _setting(22, check=_port, help="TCP port when the AP's mgmt_address gives none")

    def problem(self) -> str | None:
        """What is inconsistent in this set, or None."""
        if not self.username:
            return "username is required"
        if not (self.password or self.password_env or self.key_file):
            return "give password_env (or password) or key_file"
        if self.passphrase_env and not self.key_file:
            return "passphrase_env is for key_file"
        return None


@dataclass(frozen=True)
class SshSettings:
    pool_size: int = _setting(64, check=_between(1, 1024),
                              help="SSH sessions at once (netmiko is blocking: each runs in a worker thread)")
    deadline_s: float = _setting(30.0, check=_between(0.1, 3600, "s"),
                                 help="an AP's whole budget for one poll or action: connect, log in, run, parse")
    connect_timeout_s: float = _setting(10.0, check=_between(0.1, 600, "s"), help="TCP connect and SSH banner timeout")
    known_hosts: str = _setting(
        "", help="the known_hosts file host keys are checked against; empty = <data_dir>/known_hosts")
    accept_new_host_keys: bool = _setting(
        False, help="trust (and record in known_hosts) the key of a host seen for the first time; a changed key is "
                    "refused all the same")
    auth: dict[str, SshAuth] = _setting(
        factory=dict, help="named credential sets [ssh.auth.NAME]; an AP names one in its ssh_auth column "
                           '("default" when empty)')


def _check_cron(value: str) -> str | None:
    """The crontab time, read by the parser the scheduler itself uses, so what passes here runs."""
    if not value:
        return None
    if len(value.split()) != 5:
        return "expected 5 crontab fields (minute hour day month weekday), e.g. \"0 3 * * *\", or empty"
    # APScheduler is the scheduler's library (scheduling/service.py); it is imported here only to check a
    # crontab with the very parser that will run it.
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(value, timezone=UTC)
    except ValueError as exc:
        return (f"{value!r} is not a crontab time: {exc} (minute 0-59, hour 0-23, day 1-31, month 1-12, "
                "weekday 0-6 or mon-sun)")
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        return f"{value!r} never comes (a day that no month has?)"
    return None


@dataclass(frozen=True)
class ScheduleSettings:
    interval_s: float = _setting(60.0, check=_between(0.1, 86_400, "s"),
                                 help="`hotspotctl run` polls the fleet this often")
    discovery_cron: str = _setting(
        "30 3 * * *", check=_check_cron,
        help="crontab time (local) to walk again every AP whose layout is older than snmp.rediscover_hours; "
             "empty = only when needed (new, moved or changed APs are discovered by the next cycle anyway)")
    grace_s: float = _setting(30.0, check=_between(0.1, 3600, "s"),
                              help="on SIGTERM/SIGINT, how long the running cycle may take to finish its writes")
    max_failed_cycles: int = _setting(
        5, check=_between(1, 1000),
        help="`hotspotctl run` stops, exiting non-zero, after this many failed cycles in a row (a store that "
             "cannot be written, a spool that cannot take the points), so systemd restarts it and someone notices")
    crews_cron: str = _setting(
        "0 7 * * *", check=_check_cron,
        help="crontab time (local) at which `hotspotctl run` sends every zone's crew list through crews.send_via; "
             "empty = never on a clock")
    checkpoint_cycles: int = _setting(
        5, check=_between(1, 60),
        help="`hotspotctl run` writes an answering AP's counter state to the store once every this many cycles (a "
             "share of the fleet each cycle) and at once when its reachability changes; every AP's on a clean stop. "
             "After a crash an AP's first rate spans up to this many intervals more (still its average rate); "
             "1 = every AP every cycle. A cluster's workers always write every cycle")


def _share(value: float) -> str | None:
    return None if 0 < value <= 1 else f"must be more than 0 and at most 1 (got {_number(value)})"


_share.bounds = (0, 1, "")  # type: ignore[attr-defined]  # 0 itself excluded


@dataclass(frozen=True)
class EvaluateSettings:
    """How a cycle's figures become statuses and causes (docs/outages.md says how)."""

    target_mbps: float = _setting(200.0, check=_MBPS,
                                  help="per-user bandwidth target; target_by_program, then an AP's own "
                                       "target_mbps, win")
    target_by_program: dict[str, float] = _setting(
        factory=dict, check=_each(_MBPS), help="programme -> per-user target in Mb/s")
    down_after: int = _setting(2, check=_CYCLES, help="an AP is DOWN after this many missed cycles in a row")
    up_after: int = _setting(2, check=_CYCLES, help="a DOWN AP is up again after this many answered cycles in "
                                                      "a row; an outage closes when its APs are")
    below_cycles: int = _setting(3, check=_BELOW_WINDOW,
                                 help="below target: per_user_mbps under the target in this many...")
    below_window: int = _setting(4, check=_BELOW_WINDOW,
                                  help="...of the last this many cycles that measured it (kept as bits of one "
                                       "32-bit number in the store: at most 31)")
    rf_busy_pct: float = _setting(
        70.0, check=_between(1, 100, "%"),
        help="RF-limited (a capacity finding, not a crew's): below target in below_cycles of the last below_window "
             "readings with the busiest radio's channel utilisation at or above this")
    expected_link_mbps: float = _setting(
        1000.0, check=_MBPS,
        help="the uplink speed an AP should negotiate; slower is 'uplink degraded' (an AP's backhaul_mbps, "
             "when lower, is what it is provisioned for)")
    expected_link_by_program: dict[str, float] = _setting(
        factory=dict, check=_each(_MBPS), help="programme -> expected uplink speed in Mb/s")
    site_offline_share: float = _setting(
        0.8, check=_share, help="a site is offline (one outage, not one per AP) when this share of its APs is down")
    site_offline_min_aps: int = _setting(2, check=_between(1, 10_000),
                                         help="...and it has at least this many APs (a lone AP down is 'offline')")
    reboot_loop_count: int = _setting(3, check=_between(1, 100), help="reboot loop: this many reboots...")
    reboot_loop_hours: float = _setting(24.0, check=_between(0.01, 720, "h"), help="...within this many hours")
    flap_changes: int = _setting(4, check=_between(1, 100), help="flapping: this many up/down changes...")
    flap_minutes: float = _setting(60.0, check=_between(1, 1440, "min"), help="...within this many minutes")
    ping_loss_pct: float = _setting(
        50.0, check=_between(0, 100, "%"),
        help="backhaul degraded (a crew cause): ping loss above this (or rtt above ping_rtt_ms) in down_after "
             "cycles in a row while the AP answers SNMP, clear after up_after good ones; an AP silent on SNMP that "
             "answers ping with no more loss is agent_silent (docs/outages.md)")
    ping_rtt_ms: float = _setting(
        150.0, check=_between(1, 60_000, "ms"),
        help="...or the average ping round trip above this many milliseconds")

    def problem(self) -> str | None:
        """What is inconsistent between these settings, or None."""
        if self.below_cycles > self.below_window:
            return (f"below_cycles ({self.below_cycles}) is more than below_window ({self.below_window}): no AP "
                    "could ever be below target; make below_cycles at most below_window")
        return None


@dataclass(frozen=True)
class SpoolSettings:
    dir: str = _setting("", help="where metrics wait for InfluxDB (or stay, when none is configured); "
                                 "empty = <data_dir>/spool")
    max_mb: float = _setting(1024.0, check=_between(1, 10_000_000, "MB"),
                             help="the spool refuses new batches beyond this size, "
                                  "loudly; nothing already spooled is dropped")


INFLUX_APIS = ("v2", "v1")


def _check_api(value: str) -> str | None:
    return None if value in INFLUX_APIS else (
        f"{value!r} is not one of {', '.join(INFLUX_APIS)} (v2: InfluxDB 2.x/3.x and compatible, through "
        "influxdb-client; v1: InfluxDB 1.x's /write)")


def _check_url(value: str) -> str | None:
    if value and urlsplit(value).scheme not in ("http", "https"):
        return f"{value!r} is not an http:// or https:// URL, e.g. http://127.0.0.1:8086"
    return None


@dataclass(frozen=True)
class InfluxSettings:
    """Where metrics go. Secrets (token, password) belong in the environment, never in a committed file."""

    url: str = _setting("", check=_check_url, secret="url",
                        help="InfluxDB's base URL, e.g. http://127.0.0.1:8086; empty = no InfluxDB: metrics stay in "
                             "the spool; a password in it never shows")
    api: str = _setting("v2", check=_check_api, help="v2: InfluxDB 2.x/3.x through influxdb-client (org, bucket, "
                                                     "token); v1: InfluxDB 1.x /write (database, username, password)")
    org: str = _setting("", help="v2: organisation")
    bucket: str = _setting("hotspotctl", help="v2: bucket")
    token: str = _setting("", secret="value", help="v2: API token (set HOTSPOTCTL_INFLUX_TOKEN)")
    database: str = _setting("hotspotctl", help="v1: database; also the InfluxQL database Grafana reads (for 2.x "
                                                "and 3.x, the DBRP mapping's name)")
    retention_policy: str = _setting("", help="v1: retention policy; empty = the database's default")
    username: str = _setting("", help="v1: user, when InfluxDB has auth enabled")
    password: str = _setting("", secret="value", help="v1: password (set HOTSPOTCTL_INFLUX_PASSWORD)")
    create_database: bool = _setting(True, help="v1: CREATE DATABASE when InfluxDB says it does not exist")
    batch_points: int = _setting(10_000, check=_between(1, 100_000),
                                 help="points per write request (and per spool batch)")
    timeout_s: float = _setting(10.0, check=_TIMEOUT, help="one write request's timeout")
    max_retries: int = _setting(3, check=_RETRIES,
                                help="retries of a write answered 429/5xx or timed out, with back-off "
                                     "(Retry-After honoured); then the batch waits in the spool")
    retry_max_s: float = _setting(30.0, check=_between(0.1, 3600, "s"), help="longest wait between two retries")
    flush_interval_s: float = _setting(10.0, check=_between(0.1, 3600, "s"),
                                       help="`hotspotctl run` tries to empty the spool this often while InfluxDB "
                                            "is away (backing off to 5 minutes)")

    @property
    def configured(self) -> bool:
        return bool(self.url)

    @property
    def target(self) -> str:
        """Where the points go, for messages: URL and database or bucket, no secrets."""
        where = self.database if self.api == "v1" else self.bucket
        return f"InfluxDB {mask_url(self.url)} ({'database' if self.api == 'v1' else 'bucket'} {where})"


CREW_CHANNELS = ("email", "webhook", "open311")


def _check_channels(value: tuple[str, ...]) -> str | None:
    bad = [name for name in value if name not in CREW_CHANNELS]
    return f"{bad[0]!r} is not one of {', '.join(CREW_CHANNELS)}" if bad else None


EMAIL_TLS = ("starttls", "ssl", "none")
# crews.email.starttls and crews.email.ssl (two booleans; both set, ssl won) became crews.email.tls
# Settings that were replaced: the loader refuses them, naming the replacement, never ignores them.
REPLACED_SETTINGS = {"crews.email.starttls": 'crews.email.tls = "starttls" (or "none" for false)',
                     "crews.email.ssl": 'crews.email.tls = "ssl"'}


def _check_email_tls(value: str) -> str | None:
    return None if value in EMAIL_TLS else f"{value!r} is not one of {', '.join(EMAIL_TLS)}"


@dataclass(frozen=True)
class EmailSettings:
    """SMTP for crew lists: one message per zone, the list as HTML with the CSV attached."""

    host: str = _setting("", help="SMTP server; empty = no email")
    port: int = _setting(587, check=_port, help='SMTP port (587 submission with STARTTLS; 465 with tls = "ssl")')
    tls: str = _setting("starttls", check=_check_email_tls,
                        help='"starttls": upgrade the connection before logging in; "ssl": TLS from the first byte '
                             '(port 465); "none": send in clear')
    ca_file: str = _setting("", help="CA bundle to verify the server with; empty = the system's")
    username: str = _setting("", help="SMTP login; empty = no login")
    password: str = _setting("", secret="value", help="SMTP password (set HOTSPOTCTL_CREWS_EMAIL_PASSWORD)")
    sender: str = _setting("hotspotctl@localhost", help="From: address")
    to: tuple[str, ...] = _setting((), help="recipients of every zone's list (comma-separated in the environment)")
    zones: dict[str, str] = _setting(factory=dict, help="crew zone -> its crew's addresses (comma-separated)")
    timeout_s: float = _setting(30.0, check=_TIMEOUT, help="SMTP timeout")


@dataclass(frozen=True)
class WebhookSettings:
    url: str = _setting("", check=_check_url, secret="url",
                        help="POST each zone's list as JSON here; empty = no webhook")
    token: str = _setting("", secret="value",
                          help="sent as 'Authorization: Bearer <token>' (set HOTSPOTCTL_CREWS_WEBHOOK_TOKEN)")
    timeout_s: float = _setting(10.0, check=_TIMEOUT, help="one request's timeout")
    max_retries: int = _setting(3, check=_RETRIES, help="retries on 429/5xx or a timeout, with back-off")


@dataclass(frozen=True)
class Open311Settings:
    """An Open311 GeoReport v2 endpoint: one service request per new stop, filed once."""

    url: str = _setting("", check=_check_url, secret="url",
                        help="the endpoint's base URL (requests.json is POSTed under it); empty = no Open311")
    api_key: str = _setting("", secret="value", help="the endpoint's API key (set HOTSPOTCTL_CREWS_OPEN311_API_KEY)")
    service_code: str = _setting("", help="service_code of the service the requests are filed under")
    jurisdiction_id: str = _setting("", help="jurisdiction_id, for endpoints that serve several")
    attributes: dict[str, str] = _setting(
        factory=dict, help="attribute[CODE] -> value, sent with every request; {cause}, {zone}, {site}, "
                           "{aps_affected} and {priority} are filled in")
    timeout_s: float = _setting(15.0, check=_TIMEOUT, help="one request's timeout")
    max_retries: int = _setting(3, check=_RETRIES, help="retries on 429/5xx or a timeout, with back-off")


def _check_done_secret(value: str) -> str | None:
    if value and len(value) < 16:
        return f"too short ({len(value)} characters): use 16 or more, e.g. from `openssl rand -hex 32`"
    return None


@dataclass(frozen=True)
class CrewSettings:
    max_stops: int = _setting(25, check=_between(0, 10_000),
                              help="stops on one zone's list, the most urgent first (0 = all); the rest wait "
                                   "for the next list")
    send_via: tuple[str, ...] = _setting(
        (), check=_check_channels,
        help="channels `hotspotctl run` sends crew lists through: email, webhook, open311 (comma-separated)")
    send_on_site_outage: bool = _setting(
        True, help="`hotspotctl run` also sends a zone's list as soon as one of its sites goes offline")
    usual_clients: float = _setting(
        10.0, check=_between(0, 10_000, "clients"),
        help="people an AP usually serves, for ranking stops when the store has no history of its district and "
             "programme at that hour (usual_clients_by_program wins)")
    usual_clients_by_program: dict[str, float] = _setting(
        factory=dict, check=_each(_between(0, 10_000, "clients")),
        help="programme -> people one of its APs usually serves, when there is no history")
    email: EmailSettings = _setting(factory=EmailSettings, help="SMTP delivery")
    webhook: WebhookSettings = _setting(factory=WebhookSettings, help="webhook delivery")
    open311: Open311Settings = _setting(factory=Open311Settings, help="Open311 GeoReport v2 delivery")
    done_url: str = _setting(
        "", check=_check_url,
        help="where `hotspotctl crews receive` is reached by the crews' phones, e.g. https://noc.example.org/done: "
             "with done_secret, each stop on a list carries a signed link to it that records the crew's visit; "
             "empty = no link")
    done_secret: str = _setting(
        "", secret="value", check=lambda value: _check_done_secret(value),
        help="the key the crews' done links are signed with (HMAC-SHA256), 16 characters or more "
             "(set HOTSPOTCTL_CREWS_DONE_SECRET); changing it voids the links already sent")


NOC_KINDS = ("site_outage", "controller_unreachable", "misconfigured", "cycles_overrunning", "spool_growing",
             "influx_away", "cycles_failing")


def _check_noc_kinds(value: tuple[str, ...]) -> str | None:
    bad = [name for name in value if name not in NOC_KINDS]
    return f"{bad[0]!r} is not one of {', '.join(NOC_KINDS)}" if bad else None


def _check_addresses(value: tuple[str, ...]) -> str | None:
    for address in value:
        if not _control_free(address) or "@" not in address or "," in address:
            return f"{address!r} is not one email address (name@domain)"
    return None


@dataclass(frozen=True)
class NocSettings:
    """Notices to the NOC (docs/noc.md): a site outage, a controller unreachable, APs misconfigured, the poller
    unhealthy; by email (through crews.email's SMTP server) and an Alertmanager-compatible webhook."""

    kinds: tuple[str, ...] = _setting(NOC_KINDS, check=_check_noc_kinds,
                                      help="the notices that are sent (comma-separated): " + ", ".join(NOC_KINDS))
    email_to: tuple[str, ...] = _setting(
        (), check=_check_addresses,
        help="the NOC's addresses (comma-separated in the environment); sent through crews.email's SMTP server; "
             "empty = no email")
    webhook_url: str = _setting(
        "", check=_check_url, secret="url",
        help="POST the notices as Alertmanager API v2 alerts here (e.g. http://alertmanager:9093/api/v2/alerts); "
             "empty = no webhook")
    webhook_token: str = _setting("", secret="value",
                                  help="sent as 'Authorization: Bearer <token>' (set HOTSPOTCTL_NOC_WEBHOOK_TOKEN)")
    webhook_timeout_s: float = _setting(10.0, check=_TIMEOUT, help="one webhook request's timeout")
    webhook_max_retries: int = _setting(2, check=_RETRIES, help="webhook retries on 429/5xx or a timeout")
    generator_url: str = _setting("", check=_check_url,
                                  help="the alerts' generatorURL (e.g. the NOC's Grafana dashboard); empty = none")
    repeat_interval_s: float = _setting(
        14_400.0, check=_between(60, 604_800, "s"),
        help="a notice still firing (and not acknowledged) is sent again this often, like Alertmanager's "
             "repeat_interval")
    overrun_cycles: int = _setting(3, check=_CYCLES,
                                   help="cycles_overrunning: this many cycles in a row overran their interval")
    spool_max_batches: int = _setting(60, check=_between(1, 10_000_000),
                                      help="spool_growing: more batches than this wait in the spool...")
    spool_growing_cycles: int = _setting(10, check=_CYCLES,
                                         help="...or the spool grew at this many cycles in a row")
    influx_away_s: float = _setting(900.0, check=_between(1, 604_800, "s"),
                                    help="influx_away: flushes to InfluxDB have failed for this long")
    failed_cycles: int = _setting(2, check=_CYCLES, help="cycles_failing: this many cycles in a row failed")


def _check_bind(value: str) -> str | None:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"{value!r} is not an IP address; use 0.0.0.0 (every IPv4 address), :: or one of this machine's"
    return None


@dataclass(frozen=True)
class TrapSettings:
    enabled: bool = _setting(False, help="`hotspotctl run` listens for SNMP traps and informs (v1, v2c, v3)")
    bind: str = _setting("0.0.0.0", check=_check_bind, help="address the trap listener binds")
    port: int = _setting(162, check=_port, help="UDP port the trap listener binds (162 needs root or "
                                               "CAP_NET_BIND_SERVICE)")
    credential_sets: tuple[str, ...] = _setting(
        (), help="snmp.auth sets a trap may authenticate with (comma-separated); empty = every set")
    dedupe_s: float = _setting(
        5.0, check=_between(0, 3600, "s"),
        help="the same trap (source, trap OID, varbinds) again within this many seconds is a repeat: counted, "
             "dropped (0 = keep every one)")
    max_per_source_per_s: float = _setting(
        0.0, check=_between(0, 1_000_000, "traps/s"),
        help="traps one source may send per second before the rest are dropped and counted (0 = no limit)")


def _check_redis_url(value: str) -> str | None:
    if value and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        return f"{value!r} is not a redis://, rediss:// or unix:// URL, e.g. redis://127.0.0.1:6379/0"
    return None


def _check_worker_name(value: str) -> str | None:
    if value and (len(value) > NAME_MAX or not all(ch.isalnum() or ch in "-_." for ch in value)):
        return f"{value!r}: a worker name is 1 to {NAME_MAX} letters, digits, '-', '_' or '.' (it names its queues)"
    return None


@dataclass(frozen=True)
class ClusterSettings:
    """Many pollers (`hotspotctl worker`, `run --distributed`): Celery on Redis, the state in PostgreSQL."""

    redis_url: str = _setting("", check=_check_redis_url, secret="url",
                              help="Redis: the broker of the poll tasks, the workers' heartbeats and the leader's "
                                   "lock, e.g. redis://127.0.0.1:6379/0; required by `worker`, `run --distributed` and "
                                   "`cluster status`; a password in it never shows")
    shards: int = _setting(64, check=_between(1, 4096),
                           help="the fleet is split into this many shards of whole sites (a controller with its APs); "
                                "every worker and leader of a cluster must agree on it")
    worker: str = _setting("", check=_check_worker_name,
                           help="this worker's name (its queues poll.<name>, discovery.<name>, its spool "
                                "<data_dir>/spool/<name>); empty = the host name")
    heartbeat_s: float = _setting(2.0, check=_between(0.1, 3600, "s"),
                                  help="a worker writes its heartbeat to Redis this often")
    heartbeat_ttl_s: float = _setting(6.0, check=_between(0.3, 86_400, "s"),
                                      help="a worker whose heartbeat is older than this is dead: its shards move to "
                                           "the others at the next slot")
    leader_ttl_s: float = _setting(0.0, check=_between(0, 86_400, "s"),
                                   help="the leader's lock lapses this long after its holder stops renewing it; a "
                                        "standby `run --distributed` takes over within it plus 1 s; 0 = half of "
                                        "schedule.interval_s")
    redis_lost_exit_s: float = _setting(0.0, check=_between(0, 86_400, "s"),
                                        help="a worker or leader that cannot reach Redis for this long exits non-zero "
                                             "(systemd restarts it, someone notices); 0 = 3 x schedule.interval_s")
    threads: int = _setting(4, check=_between(2, 256),
                            help="a worker's task threads: polls, discoveries and deliveries; at least 2, so that a "
                                 "delivery never blocks a poll")


def _check_timezone(value: str) -> str | None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{value!r} is not a time zone this machine knows; use an IANA name such as America/Mexico_City"
    return None


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _setting(
        Path("var"), help="where hotspotctl keeps its state; relative to the current directory")
    timezone: str = _setting(
        CITY.timezone, check=lambda value: _check_timezone(value),
        help="the city's time zone (IANA name): the times people read (crew lists, outages, status, emails) are "
             "local; JSON keeps UTC")
    database_url: str = _setting(
        "", secret="url",
        help="SQLAlchemy URL of the state store; empty means sqlite:///<data_dir>/hotspotctl.db; "
             "postgresql://user:password@host/db for PostgreSQL")
    inventory: InventorySettings = _setting(factory=InventorySettings, help="inventory import rules")
    crew_zones: CrewZoneSettings = _setting(factory=CrewZoneSettings, help="who goes where")
    snmp: SnmpSettings = _setting(factory=SnmpSettings, help="SNMP polling and credentials")
    ping: PingSettings = _setting(factory=PingSettings, help="ICMP echo (reachability) of the APs")
    ssh: SshSettings = _setting(factory=SshSettings, help="SSH polling, actions and credentials")
    schedule: ScheduleSettings = _setting(factory=ScheduleSettings, help="what `hotspotctl run` does when")
    evaluate: EvaluateSettings = _setting(factory=EvaluateSettings, help="statuses, causes and the target")
    crews: CrewSettings = _setting(factory=CrewSettings, help="crew lists and where they are sent")
    spool: SpoolSettings = _setting(factory=SpoolSettings, help="the on-disk spool of metrics")
    influx: InfluxSettings = _setting(factory=InfluxSettings, help="InfluxDB, where metrics go")
    noc: NocSettings = _setting(factory=NocSettings, help="notices to the NOC: outages, controllers, the poller")
    traps: TrapSettings = _setting(factory=TrapSettings, help="the SNMP trap listener")
    cluster: ClusterSettings = _setting(factory=ClusterSettings,
                                        help="many pollers: Celery workers on Redis sharing a PostgreSQL store")

    @property
    def tzinfo(self) -> Any:
        """The city's zone (``timezone``) as a ZoneInfo."""
        import zoneinfo

        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def spool_dir(self) -> Path:
        return Path(self.spool.dir) if self.spool.dir else self.data_dir / "spool"

    @property
    def known_hosts(self) -> Path:
        return Path(self.ssh.known_hosts) if self.ssh.known_hosts else self.data_dir / "known_hosts"

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / DATABASE_FILE}"


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    origins: dict[str, str]  # key path -> "default" | "file <path>" | "env NAME" | "flag --name"
    config_file: Path | None


def load_settings(config: Path | None = None, *, env: Mapping[str, str] | None = None,
                  flags: Mapping[str, tuple[str, Any]] | None = None,
                  cwd: Path | None = None) -> LoadedSettings:
    """Defaults, then the TOML file, then HOTSPOTCTL_* variables, then flags (``settings_load.read_sources``).

    ``flags`` maps a key path to (flag name, value) for flags the user gave. A relative data_dir is
    relative to ``cwd`` (the current directory).
    """
    cwd = Path.cwd() if cwd is None else cwd
    found = read_sources(Settings, config, env=env, flags=flags, cwd=cwd, replaced=REPLACED_SETTINGS)
    settings: Settings = found.values
    if not settings.data_dir.is_absolute():
        settings = dataclasses.replace(settings, data_dir=cwd / settings.data_dir)
    return LoadedSettings(settings, found.origins, found.config_file)


def every_setting() -> list[Declaration]:
    """Every setting Settings declares, in order: key, default, env name, range, help (``settings_describe``)."""
    return declarations(Settings)
