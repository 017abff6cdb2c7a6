"""Device profiles: what to fetch from an AP and how to recognise it, loaded strictly from YAML.

A profile (``collectors/<vendor_product>.yaml``) names OIDs and rules, never addresses
or credentials. Loading fills defaults (the generic IF-MIB behaviour), parses every OID
to a tuple once, compiles every pattern, and rejects unknown keys and bad values with
the file and key path: ``ubiquiti_unifi.yaml: clients[0].sum: not a numeric OID: '1.3.x'``.

The schema is documented in ``collectors/README.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotspotctl.bundled import bundled_path
from hotspotctl.collectors.cliguard import ReadOnlyRules, load_read_only
from hotspotctl.collectors.cliparse import PLACEHOLDERS, Reading, check_template, ntc_template
from hotspotctl.collectors.oids import UPTIME_SOURCES, Oid, format_oid, parse_oid, starts_with
from hotspotctl.errors import ConfigError
from hotspotctl.yamlfile import StrictReader, read_yaml

GENERIC = "generic"
COUNTER_KINDS = ("hc", "32")  # ifHCIn/OutOctets (Counter64), ifIn/OutOctets (Counter32)
LINK_SPEED_SOURCES = ("auto", "if_high_speed", "if_speed", "none")
CLIENT_KINDS = ("scalar", "sum", "count")
ETHERNET_TYPES = (6, 62, 117)  # ethernetCsmacd, fastEther, gigabitEthernet
RADIO_TYPES = (71,)  # ieee80211
BAND_TEXT = re.compile(r"\d+(\.\d+)?GHz")  # how a band is written (models/radios.py BANDS)
# Interfaces that carry no uplink traffic of their own (loopback, bridges, tunnels, VAPs).
DEFAULT_UPLINK_EXCLUDE = r"^(lo|br|bond|team|vlan|veth|docker|tun|tap|gre|ppp|wds|apcli|mgmt|mgt|dummy)"


@dataclass(frozen=True, slots=True)
class InterfaceRule:
    """Which interfaces qualify: ifType in ``if_type``, the name (ifName, else ifDescr)
    matching one of ``names`` (earlier patterns preferred; none = any name), and not ``exclude``;
    with ``descr``, ifDescr must match it too (for devices whose ifName repeats, like LANCOM's)."""

    if_type: tuple[int, ...]
    names: tuple[re.Pattern[str], ...] = ()
    exclude: re.Pattern[str] | None = None
    descr: re.Pattern[str] | None = None

    def rank(self, if_type: int | None, name: str, descr: str = "", *, by_name: bool = False) -> int | None:
        """None if the interface does not qualify, else the index of the first pattern it matches.

        ``by_name``: only the name counts (an SSH device's interface list has no ifType or ifDescr).
        """
        if by_name:
            if self.exclude is not None and self.exclude.search(name):
                return None
            return next((i for i, p in enumerate(self.names) if p.search(name)), None if self.names else 0)
        if self.if_type and if_type not in self.if_type:
            return None
        if self.exclude is not None and self.exclude.search(name):
            return None
        if self.descr is not None and not self.descr.search(descr):
            return None
        if not self.names:
            return 0
        for index, pattern in enumerate(self.names):
            if pattern.search(name):
                return index
        return None


@dataclass(frozen=True, slots=True)
class ClientSource:
    """Associated clients: a ``scalar`` OID, the ``sum`` of a column, or the ``count`` of a column's rows.

    Values may come as INTEGER, Gauge32, Counter32 or a decimal OCTET STRING (net-snmp extend).
    """

    kind: str
    oid: Oid
    also: tuple[Oid, ...] = ()  # `sum` of several columns (``sum: [A, B]``): the others, added to ``oid``'s

    @property
    def oids(self) -> tuple[Oid, ...]:
        return (self.oid, *self.also)


# The FIELD grammar of the `radios` and `controller` sections (collectors/README.md): what each key's
# value is, and which `from` sources it may take.
FIELD_KINDS: dict[str, str] = {
    "name": "text", "reason": "text", "band": "band", "mac": "mac", "joined": "bool", "oper_up": "bool",
    "if_index": "int", "channel": "int", "frequency_mhz": "int", "clients": "int", "in_octets": "int",
    "out_octets": "int", "uptime_s": "float", "utilization_pct": "float", "noise_floor_dbm": "float",
    "tx_power_dbm": "float",
}
FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "name": ("key", "last", "if_name"), "if_index": ("key", "last"), "mac": ("key",),
    "frequency_mhz": ("channel",),
}
FIELD_FROM = ("key", "last", "if_name", "channel")
JOIN_ON = ("key", "name", "last", "prefix", "channel")
AP_ON = ("name", "key", "mac")  # what a controller radio row's `ap` column holds of its AP
AGGREGATES = ("sum", "max", "min", "first", "any", "all", "count")
# What each aggregate combines: numbers (sum, max, min), true/false (any, all), rows of any kind (count: a
# whole number, for int keys), anything (first).
_AGGREGATE_KINDS = {"sum": ("int", "float"), "max": ("int", "float"), "min": ("int", "float"), "any": ("bool",),
                    "all": ("bool",), "count": ("int",)}
TEMPLATE_PLACES = ("key", "last", "name")
RADIO_KEYS = ("name", "if_index", "band", "channel", "frequency_mhz", "clients", "utilization_pct",
              "noise_floor_dbm", "tx_power_dbm", "oper_up")
AP_KEYS = ("name", "mac", "joined", "reason", "uptime_s", "clients", "in_octets", "out_octets")


@dataclass(frozen=True, slots=True)
class Join:
    """Rows of a FIELD's ``oid`` belong to the row whose KEY / name / last sub-id equals ``column`` there, or
    (``on`` prefix, no column) to the row whose KEY their own index starts with (a table indexed radio.VAP), or
    (``on`` channel) the one row at the radio's KEY followed by its channel: ``column`` is then the table's
    ``channel`` column, whose raw value at the KEY is that last sub-id (a table indexed radio.channel)."""

    column: Oid | None
    on: str  # key | name | last | prefix | channel


@dataclass(frozen=True, slots=True)
class ApLink:
    """A controller radio table whose rows carry their AP in a column (`controller.radios.ap`): a row belongs
    to the AP whose name / KEY (dotted) / MAC equals ``column``'s value at the same row; the radio's KEY
    stays its own row index (MERU-GLOBAL-STATISTICS-MIB mwIf80211StatsTable: mwIf80211StatsNodeName)."""

    column: Oid
    on: str  # name | key | mac


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One FIELD: where a figure comes from (exactly one of ``oid``, ``source``, ``template``) and how
    the raw value becomes it: parse, ignore, map (final), else scale then offset."""

    oid: Oid | None = None
    source: str | None = None  # the YAML `from`: key | last | if_name | channel
    template: str | None = None
    join: Join | None = None
    aggregate: str = "first"  # sum | max | min | first | any | all | count, over the joined rows
    scale: float | None = None
    offset: float | None = None
    mapping: tuple[tuple[int | str, object], ...] | None = None  # the YAML `map`, in its order
    parse: re.Pattern[str] | None = None
    ignore: tuple[int | float | str, ...] = ()


@dataclass(frozen=True, slots=True)
class RadioTable:
    """A radio table (`radios`, or `controller.radios`): ``rows`` lists the radios; each row's index is its KEY.
    ``ap`` (controller.radios only): the column naming each row's AP; None: a row's index starts with its
    AP's KEY."""

    rows: Oid
    name: FieldSpec | None = None
    if_index: FieldSpec | None = None
    band: FieldSpec | None = None
    channel: FieldSpec | None = None
    frequency_mhz: FieldSpec | None = None
    clients: FieldSpec | None = None
    utilization_pct: FieldSpec | None = None
    noise_floor_dbm: FieldSpec | None = None
    tx_power_dbm: FieldSpec | None = None
    oper_up: FieldSpec | None = None
    ap: ApLink | None = None

    def fields(self) -> tuple[tuple[str, FieldSpec], ...]:
        """The keys the profile gives, in RADIO_KEYS order."""
        return tuple((key, spec) for key in RADIO_KEYS if (spec := getattr(self, key)) is not None)


@dataclass(frozen=True, slots=True)
class ApTable:
    """A controller's per-AP table (`controller.aps`): ``rows`` lists the APs; each row's index is its KEY."""

    rows: Oid
    name: FieldSpec | None = None
    mac: FieldSpec | None = None
    joined: FieldSpec | None = None
    reason: FieldSpec | None = None
    uptime_s: FieldSpec | None = None
    clients: FieldSpec | None = None
    in_octets: FieldSpec | None = None
    out_octets: FieldSpec | None = None
    counter_bits: int = 64

    def fields(self) -> tuple[tuple[str, FieldSpec], ...]:
        return tuple((key, spec) for key in AP_KEYS if (spec := getattr(self, key)) is not None)


@dataclass(frozen=True, slots=True)
class ControllerSpec:
    """A wireless controller's tables: its APs, their radios (index = AP KEY + slot), its own AP count.

    ``aps`` None: a count-only controller (its MIB gives its own totals, no per-AP table): it states its
    AP count (``ap_count``, then required) and cannot say anything of one AP (``lists_aps`` False)."""

    aps: ApTable | None
    radios: RadioTable | None = None
    ap_count: tuple[ClientSource, ...] = ()  # alternatives, like `clients`; none: the APs joined

    @property
    def lists_aps(self) -> bool:
        """The controller has a per-AP table: it can say which APs it manages and how each is."""
        return self.aps is not None


@dataclass(frozen=True, slots=True)
class Detect:
    """All given criteria must hold: sysObjectID under one of the prefixes, sysDescr matching,
    and every ``has_oid`` subtree present on the device."""

    sys_object_id: tuple[Oid, ...] = ()
    sys_descr: re.Pattern[str] | None = None
    has_oid: tuple[Oid, ...] = ()

    @property
    def detects(self) -> bool:
        """False for a profile with no SNMP rules (an SSH-only one): it is used only when pinned."""
        return bool(self.sys_object_id or self.sys_descr or self.has_oid)

    def matches(self, sys_object_id: Oid | None, sys_descr: str) -> bool:
        if self.sys_object_id and not (
                sys_object_id and any(starts_with(sys_object_id, p) for p in self.sys_object_id)):
            return False
        return self.sys_descr is None or bool(self.sys_descr.search(sys_descr))

    def specificity(self, sys_object_id: Oid | None) -> tuple[int, int, int]:
        """Higher is more specific: OID checks, then a sysDescr pattern, then the longest prefix."""
        longest = max((len(p) for p in self.sys_object_id
                       if sys_object_id and starts_with(sys_object_id, p)), default=0)
        return (len(self.has_oid), self.sys_descr is not None, longest)


@dataclass(frozen=True)
class Confirm:
    """A question a command asks (``expect``, searched in its output) and the answer to send."""

    expect: re.Pattern[str]
    answer: str


@dataclass(frozen=True)
class SshProfile:
    """How to read an AP over its command line: netmiko's device type and one Reading per figure."""

    device_type: str
    interfaces: Reading  # rows with name, in_octets, out_octets
    uptime: Reading | None = None  # value: seconds or a duration
    link_speed: Reading | None = None  # value: a speed with its unit; the command may name {uplink}
    clients: Reading | None = None  # value or count; a command naming {radio} runs once per radio, summed
    counter_bits: int = 64
    reboot: str = ""  # the command that reboots the AP; empty = no SSH reboot
    reboot_confirm: tuple[Confirm, ...] = ()
    read_only: ReadOnlyRules | None = None  # what `ap ssh` may run without confirmation (collectors/cliguard.py)
    errors: tuple[re.Pattern[str], ...] = ()  # output that means the device refused or failed a command

    def refusal(self, command: str) -> str | None:
        """Why `ap ssh` must not run ``command`` without asking, or None when it is read-only by the profile's rules.

        The command is parsed as the device parses it (quoting, abbreviations); anything unsure is refused."""
        if self.read_only is None:
            return "the profile lists no read-only commands (ssh.read_only)"
        return self.read_only.refusal(command)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    vendor: str
    detect: Detect
    uplink: InterfaceRule
    radio_interfaces: InterfaceRule  # which IF-MIB interfaces are radios (interfaces.radios)
    counters: tuple[str, ...]  # preference: "hc" (64-bit) then "32"
    link_speed: str  # auto (ifHighSpeed, else ifSpeed) | if_high_speed | if_speed | none
    link_speed_scale: float  # multiplies the Mb/s figure; 1e-6 for devices that put bit/s in ifHighSpeed
    clients: tuple[ClientSource, ...]  # alternatives: the first present on the device is used
    uptime: tuple[str, ...]  # uptime sources, preferred first
    ssh: SshProfile | None = None  # how to poll it over SSH (the inventory's collector column says whether)
    reboot: tuple[Oid, int | str] | None = None  # an SNMP SET that reboots the device: (object, value)
    radios: RadioTable | None = None  # the device's own radio table (the `radios` section)
    controller: ControllerSpec | None = None  # a wireless controller's per-AP tables (the `controller` section)
    source: Path = field(default=Path(), compare=False)

    @property
    def is_generic(self) -> bool:
        return self.name == GENERIC


@dataclass(frozen=True)
class ProfileSet:
    profiles: Mapping[str, Profile]
    shadowed: Mapping[str, Path]  # name -> the shipped file a user's profile replaced

    def get(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self.profiles), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else "; `hotspotctl profiles list` shows them"
            raise ConfigError(f"profile '{name}' not found{hint}") from None

    def candidates(self, sys_object_id: Oid | None, sys_descr: str) -> list[Profile]:
        """Profiles whose sysObjectID and sysDescr criteria hold, most specific first.

        The caller checks ``detect.has_oid`` on the device in this order; generic comes last.
        """
        matching = [p for p in self.profiles.values()
                    if not p.is_generic and p.detect.detects and p.detect.matches(sys_object_id, sys_descr)]
        matching.sort(key=lambda p: (p.detect.specificity(sys_object_id), p.name), reverse=True)
        if GENERIC in self.profiles:
            matching.append(self.profiles[GENERIC])
        return matching

    def __iter__(self) -> Iterator[Profile]:
        return iter(sorted(self.profiles.values(), key=lambda p: p.name))

    def __len__(self) -> int:
        return len(self.profiles)


def shipped_dir() -> Path:
    return bundled_path("collectors")


def load_profiles(extra_dirs: Sequence[Path] = (), *, shipped: bool = True) -> ProfileSet:
    """The shipped profiles, then each folder in ``extra_dirs``; a later file of the same name wins."""
    profiles: dict[str, Profile] = {}
    shadowed: dict[str, Path] = {}
    dirs = ([shipped_dir()] if shipped else []) + [Path(d) for d in extra_dirs]
    for folder in dirs:
        if not folder.is_dir():
            raise ConfigError(f"{folder}: profile folder not found; set snmp.profiles_dir to an "
                              "existing folder of *.yaml profiles")
        for path in sorted(folder.glob("*.yaml")):
            profile = load_profile(path)
            if profile.name in profiles:
                shadowed[profile.name] = profiles[profile.name].source
            profiles[profile.name] = profile
    if GENERIC not in profiles:
        raise ConfigError(f"no '{GENERIC}' profile in {', '.join(map(str, dirs))}: hotspotctl needs "
                          "it as the fallback; reinstall hotspotctl or restore collectors/generic.yaml")
    check_detection(profiles.values())
    return ProfileSet(profiles, shadowed)


def check_detection(profiles: Iterable[Profile]) -> None:
    """Two profiles that detect the same devices with the same rules cannot be told apart."""
    seen: dict[tuple[Any, ...], Profile] = {}
    for profile in profiles:
        if profile.is_generic or not profile.detect.detects:
            continue
        d = profile.detect
        key = (tuple(sorted(d.sys_object_id)), d.sys_descr.pattern if d.sys_descr else None,
               tuple(sorted(d.has_oid)))
        if key in seen:
            raise ConfigError(f"{profile.source.name}: detect: the same rules as "
                              f"{seen[key].source.name}; add a sys_descr pattern or has_oid to tell them apart")
        seen[key] = profile


def load_profile(path: Path) -> Profile:
    document = read_yaml(path, "profile")
    return _Reader(path).profile(document)


_TOP = ("name", "description", "vendor", "detect", "interfaces", "counters", "link_speed", "clients", "uptime", "ssh",
        "reboot", "radios", "controller")
_SSH = ("device_type", "uptime", "interfaces", "link_speed", "clients", "counter_bits", "reboot", "read_only",
        "errors")
_READING = ("command", "regex", "textfsm", "fields", "count")
# What each reading must give: the regex's named groups, or the TextFSM Values mapped in `fields`.
_READING_NEEDS = {"interfaces": ("name", "in_octets", "out_octets"), "uptime": ("value",),
                  "link_speed": ("value",), "clients": ("value",)}
_READING_PLACES = {"interfaces": (), "uptime": (), "link_speed": ("uplink",), "clients": ("radio",)}


class _Reader(StrictReader):
    def listing(self, node: Any, key: str) -> list[Any]:
        if node is None:
            return []
        return node if isinstance(node, list) else [node]

    def oid(self, node: Any, key: str) -> Oid:
        try:
            return parse_oid(str(node) if isinstance(node, (int, float)) else node)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def pattern(self, node: Any, key: str) -> re.Pattern[str]:
        if not isinstance(node, str):
            raise self.fail(key, f"expected a regular expression string, got {node!r}")
        try:
            return re.compile(node, re.IGNORECASE)
        except re.error as exc:
            raise self.fail(key, f"not a valid regular expression: {exc}") from None

    def choice(self, node: Any, key: str, allowed: Sequence[str]) -> str:
        value = str(node)
        if value not in allowed:
            raise self.fail(key, f"{node!r} is not one of {', '.join(allowed)}")
        return value

    def profile(self, document: Any) -> Profile:
        top = self.table(document, "", _TOP)
        if not top:
            raise self.fail("", "empty profile; see collectors/README.md for the keys")
        name = self.text(top.get("name"), "name")
        if name != self.path.stem:
            raise self.fail("name", f"{name!r} must equal the file name without .yaml ({self.path.stem!r})")
        detect = self.detect(top.get("detect"))
        ssh = self.ssh(top.get("ssh")) if top.get("ssh") is not None else None
        if name != GENERIC and not detect.detects and ssh is None:
            raise self.fail("detect", "give at least one of sys_object_id, sys_descr, has_oid (only a profile "
                                      "with an ssh section may have none: it is then used only when pinned)")
        interfaces = self.table(top.get("interfaces"), "interfaces", ("uplink", "radios"))
        uplink = self.interface_rule(interfaces.get("uplink"), "interfaces.uplink",
                                     ETHERNET_TYPES, DEFAULT_UPLINK_EXCLUDE)
        radio_interfaces = self.interface_rule(interfaces.get("radios"), "interfaces.radios", RADIO_TYPES, None)
        counters = tuple(self.choice(c, f"counters[{i}]", COUNTER_KINDS)
                         for i, c in enumerate(self.listing(top.get("counters", list(COUNTER_KINDS)), "counters")))
        if not counters or len(set(counters)) != len(counters):
            raise self.fail("counters", "list hc and/or 32, each once, preferred first")
        speed = self.table(top.get("link_speed"), "link_speed", ("source", "scale"))
        source = self.choice(speed.get("source", "auto"), "link_speed.source", LINK_SPEED_SOURCES)
        scale = speed.get("scale", 1)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise self.fail("link_speed.scale", f"expected a positive number, got {scale!r}")
        if ssh is not None and ssh.clients is not None and "radio" in ssh.clients.placeholders() \
                and not radio_interfaces.names:
            raise self.fail("interfaces.radios.name", "ssh.clients runs once per {radio}: name the radio "
                                                      "interfaces here, like ['^wlan\\d+$']")
        clients = tuple(self.client(node, f"clients[{i}]")
                        for i, node in enumerate(self.listing(top.get("clients"), "clients")))
        uptime = tuple(self.choice(u, f"uptime[{i}]", tuple(UPTIME_SOURCES))
                       for i, u in enumerate(self.listing(top.get("uptime", list(UPTIME_SOURCES)), "uptime")))
        return Profile(name=name, description=self.text(top.get("description"), "description"),
                       vendor=self.text(top.get("vendor"), "vendor"), detect=detect, uplink=uplink,
                       radio_interfaces=radio_interfaces, counters=counters, link_speed=source,
                       link_speed_scale=float(scale),
                       clients=clients, uptime=uptime, ssh=ssh, reboot=self.reboot(top.get("reboot")),
                       radios=self.radio_table(top["radios"], "radios") if top.get("radios") is not None else None,
                       controller=self.controller(top["controller"]) if top.get("controller") is not None else None,
                       source=self.path)

    def reboot(self, node: Any) -> tuple[Oid, int | str] | None:
        if node is None:
            return None
        table = self.table(node, "reboot", ("oid", "value"))
        if "oid" not in table or "value" not in table:
            raise self.fail("reboot", "give oid (the object to SET) and value (an integer, or a string)")
        value = table["value"]
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self.fail("reboot.value", f"expected an integer or a string, got {value!r}")
        return self.oid(table["oid"], "reboot.oid"), value

    def ssh(self, node: Any) -> SshProfile:
        table = self.table(node, "ssh", _SSH)
        device_type = self.text(table.get("device_type"), "ssh.device_type")
        if not device_type:
            raise self.fail("ssh.device_type", "required: netmiko's device type (linux, mikrotik_routeros, "
                                               "cisco_ios, ...)")
        if table.get("interfaces") is None:
            raise self.fail("ssh.interfaces", "required: the command listing each interface's name and octet "
                                              "counters, and how to read it")
        readings = {key: self.reading(table[key], f"ssh.{key}", key) for key in _READING_NEEDS
                    if table.get(key) is not None}
        bits = table.get("counter_bits", 64)
        if bits not in (32, 64):
            raise self.fail("ssh.counter_bits", f"expected 64 or 32, got {bits!r}")
        reboot = self.table(table.get("reboot"), "ssh.reboot", ("command", "confirm"))
        confirms = []
        for i, item in enumerate(self.listing(reboot.get("confirm"), "ssh.reboot.confirm")):
            entry = self.table(item, f"ssh.reboot.confirm[{i}]", ("expect", "answer"))
            if "expect" not in entry:
                raise self.fail(f"ssh.reboot.confirm[{i}].expect", "required: a pattern found in the question")
            confirms.append(Confirm(self.pattern(entry["expect"], f"ssh.reboot.confirm[{i}].expect"),
                                    self.text(entry.get("answer"), f"ssh.reboot.confirm[{i}].answer")))
        read_only = load_read_only(self, table.get("read_only"), "ssh.read_only", device_type)
        errors = tuple(self.multiline(p, f"ssh.errors[{i}]")
                       for i, p in enumerate(self.listing(table.get("errors"), "ssh.errors")))
        return SshProfile(device_type=device_type, interfaces=readings["interfaces"], uptime=readings.get("uptime"),
                          link_speed=readings.get("link_speed"), clients=readings.get("clients"),
                          counter_bits=bits, reboot=self.text(reboot.get("command"), "ssh.reboot.command"),
                          reboot_confirm=tuple(confirms), read_only=read_only, errors=errors)

    def reading(self, node: Any, key: str, kind: str) -> Reading:
        if isinstance(node, str):
            raise self.fail(key, "expected a mapping: command, and regex, textfsm (with fields) or count")
        table = self.table(node, key, _READING)
        command = self.text(table.get("command"), f"{key}.command")
        if not command.strip():
            raise self.fail(f"{key}.command", "required: the command to send")
        unknown = set(re.findall(r"\{(\w+)\}", command)) - set(_READING_PLACES[kind])
        if unknown:
            allowed = ", ".join("{" + p + "}" for p in _READING_PLACES[kind]) or "none"
            raise self.fail(f"{key}.command", f"unknown placeholder {{{sorted(unknown)[0]}}} (allowed here: {allowed}; "
                                              f"known: {', '.join(PLACEHOLDERS)})")
        ways = [w for w in ("regex", "textfsm", "count") if w in table]
        if len(ways) != 1 or (ways == ["count"] and kind != "clients"):
            options = "regex, textfsm or count" if kind == "clients" else "regex or textfsm"
            raise self.fail(key, f"give exactly one of {options}")
        needs = _READING_NEEDS[kind]
        if "fields" in table and ways != ["textfsm"]:
            raise self.fail(f"{key}.fields", "fields map TextFSM Values; they go with textfsm")
        if ways == ["count"]:
            return Reading(command, count=self.multiline(table["count"], f"{key}.count"))
        if ways == ["regex"]:
            regex = self.multiline(table["regex"], f"{key}.regex")
            missing = [g for g in needs if g not in regex.groupindex]
            if missing:
                raise self.fail(f"{key}.regex",
                                f"needs the named group(s) {', '.join(missing)}, as (?P<{missing[0]}>...)")
            return Reading(command, regex=regex)
        template = self.template(table["textfsm"], f"{key}.textfsm")
        fields = self.table(table.get("fields"), f"{key}.fields", needs)
        missing = [g for g in needs if g not in fields]
        if missing:
            raise self.fail(f"{key}.fields", f"map {', '.join(missing)} to the template's Values")
        fields = {k: self.text(v, f"{key}.fields.{k}") for k, v in fields.items()}
        problem = check_template(template, fields)
        if problem:
            raise self.fail(f"{key}.fields", problem)
        return Reading(command, textfsm=template, fields=fields)

    def multiline(self, node: Any, key: str) -> re.Pattern[str]:
        if not isinstance(node, str):
            raise self.fail(key, f"expected a regular expression string, got {node!r}")
        try:
            return re.compile(node, re.MULTILINE)
        except re.error as exc:
            raise self.fail(key, f"not a valid regular expression: {exc}") from None

    def template(self, node: Any, key: str) -> Path:
        name = self.text(node, key)
        local = self.path.parent / name
        if name.endswith(".textfsm") and local.is_file():
            return local
        found = ntc_template(name)
        if found is None:
            raise self.fail(key, f"{name!r}: no such template in ntc-templates (name it without .textfsm, like "
                                 f"cisco_ios_show_version) and no file {local}")
        return found

    def detect(self, node: Any) -> Detect:
        table = self.table(node, "detect", ("sys_object_id", "sys_descr", "has_oid"))
        prefixes = tuple(self.oid(v, f"detect.sys_object_id[{i}]")
                         for i, v in enumerate(self.listing(table.get("sys_object_id"), "detect.sys_object_id")))
        descr = table.get("sys_descr")
        has = tuple(self.oid(v, f"detect.has_oid[{i}]")
                    for i, v in enumerate(self.listing(table.get("has_oid"), "detect.has_oid")))
        return Detect(prefixes, self.pattern(descr, "detect.sys_descr") if descr is not None else None, has)

    def interface_rule(self, node: Any, key: str, types: tuple[int, ...], exclude: str | None) -> InterfaceRule:
        table = self.table(node, key, ("if_type", "name", "exclude", "descr"))
        if_types = table.get("if_type", list(types))
        values = self.listing(if_types, f"{key}.if_type")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
            raise self.fail(f"{key}.if_type", f"expected IANA ifType numbers, got {if_types!r}")
        names = tuple(self.pattern(p, f"{key}.name[{i}]")
                      for i, p in enumerate(self.listing(table.get("name"), f"{key}.name")))
        excl = table.get("exclude", exclude)
        descr = table.get("descr")
        return InterfaceRule(tuple(values), names,
                             self.pattern(excl, f"{key}.exclude") if excl not in (None, "") else None,
                             self.pattern(descr, f"{key}.descr") if descr is not None else None)

    def client(self, node: Any, key: str) -> ClientSource:
        table = self.table(node, key, CLIENT_KINDS)
        if len(table) != 1:
            raise self.fail(key, f"give exactly one of {', '.join(CLIENT_KINDS)}")
        ((kind, oid),) = table.items()
        if kind == "sum" and isinstance(oid, list):  # several columns added up (Huawei: 2.4 GHz + 5 GHz per SSID)
            if not oid:
                raise self.fail(f"{key}.sum", "an empty list: give a column, or a list of columns to add up")
            columns = tuple(self.oid(item, f"{key}.sum[{i}]") for i, item in enumerate(oid))
            return ClientSource(kind, columns[0], columns[1:])
        return ClientSource(kind, self.oid(oid, f"{key}.{kind}"))

    def radio_table(self, node: Any, key: str, *, controller: bool = False) -> RadioTable:
        if not controller and isinstance(node, dict) and "ap" in node:
            raise self.fail(f"{key}.ap", "ap is for controller.radios (the column naming each radio row's AP); "
                                         "a device's own radios have no AP to name")
        table = self.table(node, key, ("rows", *RADIO_KEYS, *(("ap",) if controller else ())))
        if table.get("rows") is None:
            raise self.fail(f"{key}.rows", "required: the column whose rows list the radios (each row's index "
                                           "is the radio's KEY)")
        fields = {name: self.field(table[name], f"{key}.{name}", name)
                  for name in RADIO_KEYS if table.get(name) is not None}
        for name, spec in fields.items():
            if spec.join is None or spec.join.on != "channel":
                continue
            channel = fields.get("channel")
            if name == "channel" or channel is None or channel.oid is None or channel.join is not None:
                raise self.fail(f"{key}.{name}.join.on", f"on: channel needs {key}.channel given as a column (an OID, "
                                                         "not joined): its value at the KEY is the row's last sub-id")
            fields[name] = dataclasses.replace(spec, join=Join(channel.oid, "channel"))
        ap = self.ap_link(table["ap"], f"{key}.ap") if "ap" in table else None
        return RadioTable(rows=self.oid(table["rows"], f"{key}.rows"), ap=ap, **fields)

    def ap_link(self, node: Any, key: str) -> ApLink:
        """`controller.radios.ap`: {oid: COLUMN, on: name | key | mac}."""
        if not isinstance(node, dict):
            raise self.fail(key, f"expected {{oid: COLUMN, on: {' | '.join(AP_ON)}}} (the column whose value "
                                 f"names the row's AP), got {node!r}")
        if True in node and "on" not in node:  # YAML 1.1 reads a bare `on` as true
            node = {("on" if k is True else k): v for k, v in node.items()}
        spec = self.table(node, key, ("oid", "on"))
        for part in ("oid", "on"):
            if spec.get(part) is None:
                raise self.fail(f"{key}.{part}", "required: " + (
                    "the column of the radio table whose value names the row's AP" if part == "oid" else
                    f"what that column holds of the AP: {', '.join(AP_ON)}"))
        return ApLink(self.oid(spec["oid"], f"{key}.oid"), self.choice(spec["on"], f"{key}.on", AP_ON))

    def controller(self, node: Any) -> ControllerSpec:
        table = self.table(node, "controller", ("aps", "radios", "ap_count"))
        ap_count = tuple(self.client(item, f"controller.ap_count[{i}]")
                         for i, item in enumerate(self.listing(table.get("ap_count"), "controller.ap_count")))
        if table.get("aps") is None:
            if table.get("radios") is not None:
                raise self.fail("controller.aps", "required: the controller's per-AP table (controller.radios "
                                                  "rows start with their AP's KEY, from it)")
            if not ap_count:
                raise self.fail("controller", "give controller.aps (the per-AP table: rows, name, mac, joined, ...) "
                                              "or, for a controller whose MIB has only its own totals, "
                                              "controller.ap_count")
            return ControllerSpec(aps=None, ap_count=ap_count)
        if isinstance(table["aps"], dict) and "radios" in table["aps"]:
            raise self.fail("controller.aps.radios", "radios go beside aps, as controller.radios (each row's index "
                                                     "starts with its AP's KEY)")
        aps = self.table(table["aps"], "controller.aps", ("rows", *AP_KEYS, "counter_bits"))
        if aps.get("rows") is None:
            raise self.fail("controller.aps.rows", "required: the column whose rows list the APs (each row's index "
                                                   "is the AP's KEY)")
        bits = aps.get("counter_bits", 64)
        if bits not in (32, 64) or isinstance(bits, bool):
            raise self.fail("controller.aps.counter_bits", f"expected 64 or 32, got {bits!r}")
        fields = {name: self.field(aps[name], f"controller.aps.{name}", name)
                  for name in AP_KEYS if aps.get(name) is not None}
        ap_table = ApTable(rows=self.oid(aps["rows"], "controller.aps.rows"), counter_bits=bits, **fields)
        radios = (self.radio_table(table["radios"], "controller.radios", controller=True)
                  if table.get("radios") is not None else None)
        return ControllerSpec(aps=ap_table, radios=radios, ap_count=ap_count)

    def field(self, node: Any, key: str, name: str) -> FieldSpec:
        """One FIELD: an OID, or a mapping of oid | from | template and the transforms."""
        kind = FIELD_KINDS[name]
        if not isinstance(node, dict):
            if kind == "bool":
                raise self.fail(key, f"{name} needs a map to true/false, like "
                                     f"{{oid: {node}, map: {{1: true, 2: false}}}}")
            return FieldSpec(oid=self.oid(node, key))
        table = self.table(node, key, ("oid", "from", "template", "join", "aggregate", "scale", "offset", "map",
                                       "parse", "ignore"))
        ways = [w for w in ("oid", "from", "template") if table.get(w) is not None]
        if len(ways) != 1:
            raise self.fail(key, "give exactly one of oid (a column), from (key, last, if_name, channel) or template")
        oid = self.oid(table["oid"], f"{key}.oid") if "oid" in ways else None
        source = None
        if "from" in ways:
            source = self.choice(table["from"], f"{key}.from", FIELD_FROM)
            allowed = FIELD_SOURCES.get(name, ())
            if source not in allowed:
                also = f"allowed for {name}: {', '.join(allowed)}" if allowed else f"{name} takes an oid"
                raise self.fail(f"{key}.from", f"{source!r} is not allowed here ({also})")
        template = None
        if "template" in ways:
            template = self.text(table["template"], f"{key}.template")
            if kind != "text":
                raise self.fail(f"{key}.template", f"a template gives text; {name} is not text")
            places = set(re.findall(r"\{(\w*)\}", template))
            allowed_places = [p for p in TEMPLATE_PLACES if not (p == "name" and name == "name")]
            unknown = sorted(places - set(allowed_places))
            if unknown:
                raise self.fail(f"{key}.template", f"unknown placeholder {{{unknown[0]}}} (allowed here: "
                                                   f"{', '.join('{' + p + '}' for p in allowed_places)})")
        transforms = [t for t in ("scale", "offset", "map", "parse", "ignore", "join", "aggregate") if t in table]
        if transforms and (source in ("if_name", "channel") or template is not None):
            raise self.fail(f"{key}.{transforms[0]}", "applies to a column's values (oid) or the key (from: key, "
                                                      "from: last), not to this source")
        join = None
        if table.get("join") is not None:
            if oid is None:
                raise self.fail(f"{key}.join", "join goes with oid: the column whose rows are joined")
            join_node = table["join"]
            if isinstance(join_node, dict) and True in join_node and "on" not in join_node:
                # YAML 1.1 reads a bare `on` key as true: take it as the `on` it was written as
                join_node = {("on" if k is True else k): v for k, v in join_node.items()}
            spec = self.table(join_node, f"{key}.join", ("column", "on"))
            alone = ("or on: prefix alone (the rows whose index starts with the KEY), or on: channel alone (the row "
                     "at the KEY followed by the radio's channel)")
            if spec.get("on") is None or (spec.get("column") is None and spec["on"] not in ("prefix", "channel")):
                raise self.fail(f"{key}.join", f"give column (an OID) and on (key, name or last), {alone}")
            on = self.choice(spec["on"], f"{key}.join.on", JOIN_ON)
            if on == "name" and name == "name":
                raise self.fail(f"{key}.join.on", "the name cannot be joined on the name; use key or last")
            if on == "prefix" and spec.get("column") is not None:
                raise self.fail(f"{key}.join.column", "on: prefix takes no column: the rows of oid whose index starts "
                                                      "with the KEY are joined")
            if on == "channel" and not key.startswith("controller.radios."):
                raise self.fail(f"{key}.join.on", "on: channel is read only in controller.radios (a controller's "
                                                  "per-channel tables, indexed AP + slot + channel); not here")
            if on == "channel" and spec.get("column") is not None:
                raise self.fail(f"{key}.join.column", "on: channel takes no column: the row of oid at the KEY followed "
                                                      "by the radio's channel (its `channel` column's value) is read")
            # on: channel: the column is the table's channel column, filled in by radio_table
            join = Join(self.oid(spec["column"], f"{key}.join.column") if on not in ("prefix", "channel") else None, on)
        aggregate = "sum" if name == "clients" else "first"
        if table.get("aggregate") is not None:
            if join is None:
                raise self.fail(f"{key}.aggregate", "aggregate goes with join: it combines the joined rows")
            aggregate = self.choice(table["aggregate"], f"{key}.aggregate", AGGREGATES)
            kinds = _AGGREGATE_KINDS.get(aggregate)
            if kinds is not None and kind not in kinds:
                fits = ", ".join(a for a in AGGREGATES if kind in _AGGREGATE_KINDS.get(a, (kind,)))
                what = {"any": "needs true/false (a map)", "all": "needs true/false (a map)",
                        "count": "gives a count of rows"}.get(aggregate, "needs numbers")
                raise self.fail(f"{key}.aggregate", f"{aggregate} {what}; {name} is {kind}: use {fits}")
        numeric = kind in ("int", "float")
        scale = offset = None
        for which in ("scale", "offset"):
            if which in table:
                value = table[which]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or (which == "scale" and value == 0):
                    raise self.fail(f"{key}.{which}", f"expected a {'non-zero ' if which == 'scale' else ''}number, "
                                                      f"got {value!r}")
                if not numeric:
                    raise self.fail(f"{key}.{which}", f"{name} is {kind}, not a number; use map")
                if which == "scale":
                    scale = float(value)
                else:
                    offset = float(value)
        mapping = self.value_map(table["map"], f"{key}.map", name, kind) if "map" in table else None
        if kind == "bool" and oid is not None and mapping is None:
            raise self.fail(key, f"{name} needs a map to true/false, like {{1: true, 2: false}}")
        parse = None
        if "parse" in table:
            parse = self.pattern(table["parse"], f"{key}.parse")
            if parse.groups != 1:
                raise self.fail(f"{key}.parse", f"needs exactly one group (the value), has {parse.groups}: "
                                                "like '(-?\\d+) dBm'")
        ignore = tuple(self.listing(table.get("ignore"), f"{key}.ignore"))
        if any(isinstance(v, bool) or not isinstance(v, (int, float, str)) for v in ignore):
            raise self.fail(f"{key}.ignore", f"expected a list of numbers or texts, got {table['ignore']!r}")
        return FieldSpec(oid=oid, source=source, template=template, join=join, aggregate=aggregate, scale=scale,
                         offset=offset, mapping=mapping, parse=parse, ignore=ignore)

    def value_map(self, node: Any, key: str, name: str, kind: str) -> tuple[tuple[int | str, object], ...]:
        if not isinstance(node, dict) or not node:
            raise self.fail(key, f"expected a mapping {{raw value: {name}}}, got {node!r}")
        pairs: list[tuple[int | str, object]] = []
        for raw, result in node.items():
            if isinstance(raw, bool) or not isinstance(raw, (int, str)):
                raise self.fail(f"{key}.{raw}", f"a raw value is a number or a text, got {raw!r}")
            if kind == "bool":
                good = isinstance(result, bool)
                expected = "true or false"
            elif kind in ("int", "float"):
                good = isinstance(result, (int, float)) and not isinstance(result, bool)
                expected = "a number"
            elif kind == "band":
                good = isinstance(result, str) and BAND_TEXT.fullmatch(result) is not None
                expected = "a band like 2.4GHz, 5GHz, 6GHz"
            else:
                good = isinstance(result, str)
                expected = "a text"
            if not good and result is not None:
                raise self.fail(f"{key}.{raw}", f"{name} maps to {expected}, got {result!r}")
            pairs.append((raw, result))
        return tuple(pairs)


def describe_source(source: ClientSource) -> dict[str, Any]:
    """``{kind: OID}``, or ``{"sum": [OIDs]}`` for a sum of several columns."""
    if source.also:
        return {source.kind: [format_oid(oid) for oid in source.oids]}
    return {source.kind: format_oid(source.oid)}


def describe_profile(profile: Profile) -> dict[str, Any]:
    """A profile as plain data, for `profiles show` and JSON output."""
    def rule(r: InterfaceRule) -> dict[str, Any]:
        return {"if_type": list(r.if_type), "name": [p.pattern for p in r.names],
                "exclude": r.exclude.pattern if r.exclude else None,
                "descr": r.descr.pattern if r.descr else None}

    return {
        "name": profile.name, "vendor": profile.vendor, "description": profile.description,
        "source": str(profile.source),
        "detect": {"sys_object_id": [format_oid(o) for o in profile.detect.sys_object_id],
                   "sys_descr": profile.detect.sys_descr.pattern if profile.detect.sys_descr else None,
                   "has_oid": [format_oid(o) for o in profile.detect.has_oid]},
        "interfaces": {"uplink": rule(profile.uplink), "radios": rule(profile.radio_interfaces)},
        "counters": list(profile.counters),
        "link_speed": {"source": profile.link_speed, "scale": profile.link_speed_scale},
        "clients": [describe_source(c) for c in profile.clients],
        "uptime": list(profile.uptime),
        "ssh": describe_ssh(profile.ssh) if profile.ssh else None,
        "reboot": {"oid": format_oid(profile.reboot[0]), "value": profile.reboot[1]} if profile.reboot else None,
        "radios": describe_table(profile.radios) if profile.radios else None,
        "controller": describe_controller(profile.controller) if profile.controller else None,
    }


def describe_ssh(ssh: SshProfile) -> dict[str, Any]:
    def reading(r: Reading | None) -> dict[str, Any] | None:
        if r is None:
            return None
        how: dict[str, Any] = {"command": r.command}
        if r.regex is not None:
            how["regex"] = r.regex.pattern
        elif r.count is not None:
            how["count"] = r.count.pattern
        else:
            how["textfsm"] = r.textfsm.stem if r.textfsm else None
            how["fields"] = dict(r.fields)
        return how

    return {"device_type": ssh.device_type, "uptime": reading(ssh.uptime), "interfaces": reading(ssh.interfaces),
            "link_speed": reading(ssh.link_speed), "clients": reading(ssh.clients), "counter_bits": ssh.counter_bits,
            "reboot": {"command": ssh.reboot, "confirm": [{"expect": c.expect.pattern, "answer": c.answer}
                                                          for c in ssh.reboot_confirm]} if ssh.reboot else None,
            "read_only": ssh.read_only.describe() if ssh.read_only else None,
            "errors": [p.pattern for p in ssh.errors]}


def describe_field(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.oid is not None:
        out["oid"] = format_oid(spec.oid)
    if spec.source is not None:
        out["from"] = spec.source
    if spec.template is not None:
        out["template"] = spec.template
    if spec.join is not None:
        out["join"] = ({"on": spec.join.on} if spec.join.column is None or spec.join.on == "channel" else
                       {"column": format_oid(spec.join.column), "on": spec.join.on})
        out["aggregate"] = spec.aggregate
    for key, value in (("scale", spec.scale), ("offset", spec.offset)):
        if value is not None:
            out[key] = value
    if spec.mapping is not None:
        out["map"] = {str(raw): result for raw, result in spec.mapping}
    if spec.parse is not None:
        out["parse"] = spec.parse.pattern
    if spec.ignore:
        out["ignore"] = list(spec.ignore)
    return out


def describe_table(table: RadioTable | ApTable) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": format_oid(table.rows)}
    out.update((key, describe_field(spec)) for key, spec in table.fields())
    if isinstance(table, RadioTable) and table.ap is not None:
        out["ap"] = {"oid": format_oid(table.ap.column), "on": table.ap.on}
    if isinstance(table, ApTable):
        out["counter_bits"] = table.counter_bits
    return out


def describe_controller(spec: ControllerSpec) -> dict[str, Any]:
    return {"aps": describe_table(spec.aps) if spec.aps is not None else None,
            "radios": describe_table(spec.radios) if spec.radios else None,
            "ap_count": [describe_source(c) for c in spec.ap_count]}
