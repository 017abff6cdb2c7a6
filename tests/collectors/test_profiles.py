"""The profile loader: every shipped profile loads, and mistakes are refused with file and key path."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from hotspotctl.collectors.oids import parse_oid
from hotspotctl.collectors.profiles import describe_profile, load_profile, load_profiles, shipped_dir
from hotspotctl.errors import ConfigError

DEVICES = Path(__file__).resolve().parents[1] / "fixtures" / "devices"
SSH_CASES = Path(__file__).resolve().parents[1] / "fixtures" / "ssh"
SHIPPED = sorted(shipped_dir().glob("*.yaml"))
MINIMAL = "name: {name}\ndetect:\n  sys_object_id: [1.3.6.1.4.1.99999]\n"
# An ssh section with the given device type and ssh.read_only (flow YAML).
READ_ONLY = ("name: x\nssh:\n  device_type: {device}\n"
             "  interfaces: {{command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'}}\n"
             "  read_only: {read_only}\n")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_profile_loads() -> None:
    profiles = load_profiles()
    assert len(profiles) == len(SHIPPED) >= 22
    for name in ("generic", "ubiquiti_unifi", "ubiquiti_airos", "mikrotik_routeros", "aruba_instant",
                 "aruba_controller", "cisco_wlc", "aerohive_hiveos", "cambium_epmp", "cambium_pmp", "zyxel_nwa",
                 "zyxel_nxc", "lancom_lcos", "lancom_lcoslx", "openwrt", "asus_merlin", "meraki_mr", "ale_stellar",
                 "altalabs", "extreme_ewc", "ligowave", "wis_bridge"):
        assert profiles.get(name).name == name
    assert not profiles.shadowed


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_profile_says_where_it_comes_from(path: Path) -> None:
    """A header comment names the devices, the detection and the client OID's origin."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), f"{path.name}: start with a comment saying which devices it covers"
    profile = load_profile(path)
    if profile.clients:
        assert re.search(r"LibreNMS/OS/\w+\.php", text), f"{path.name}: cite the LibreNMS class file"
    describe_profile(profile)  # plain data for `profiles show`


def test_every_profile_but_generic_has_a_recorded_device() -> None:
    """A vendor is a YAML file plus a recording: each shipped profile is some case's answer."""
    claimed = {yaml.safe_load((case / "case.yaml").read_text())["profile"]
               for case in DEVICES.iterdir() if (case / "case.yaml").is_file()}
    # SSH recordings (tests/collectors/test_ssh.py); linux is read from this machine's own sshd
    # (tests/scheduling/test_ssh_cycle.py).
    claimed |= {yaml.safe_load(case.read_text())["profile"] for case in SSH_CASES.glob("*/case.yaml")} | {"linux"}
    assert {p.stem for p in SHIPPED} <= claimed | {"generic"}
    assert claimed <= {p.stem for p in SHIPPED}


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\nclinets: []\n",
     "x.yaml: clinets: unknown key; did you mean 'clients'?"),
    ("name: x\ndetect: {sys_objectid: [1.3.6.1.4.1.9]}\n",
     "x.yaml: detect.sys_objectid: unknown key; did you mean 'sys_object_id'?"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\nclients:\n  - sum: 1.3.6.x\n",
     "x.yaml: clients[0].sum: not a numeric OID"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\nclients:\n  - {sum: 1.3.6.1.2, scalar: 1.3.6.1.3}\n",
     "x.yaml: clients[0]: give exactly one of scalar, sum, count"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\nclients:\n  - average: 1.3.6.1.2\n",
     "x.yaml: clients[0].average: unknown key"),
    ("name: x\ndetect: {sys_descr: '(unclosed'}\n",
     "x.yaml: detect.sys_descr: not a valid regular expression"),
    ("name: x\ndetect: {has_oid: [enterprises.9]}\n",
     "x.yaml: detect.has_oid[0]: not a numeric OID"),
    ("name: y\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\n",
     "x.yaml: name: 'y' must equal the file name without .yaml ('x')"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\ninterfaces: {uplink: {if_type: [ethernet]}}\n",
     "x.yaml: interfaces.uplink.if_type: expected IANA ifType numbers"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\ninterfaces: {radios: {descr: '[a-'}}\n",
     "x.yaml: interfaces.radios.descr: not a valid regular expression"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\ninterfaces: {radio: {}}\n",
     "x.yaml: interfaces.radio: unknown key; did you mean 'radios'?"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\nlink_speed: {source: if_high_speed, scale: 0}\n",
     "x.yaml: link_speed.scale: expected a positive number"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\ncounters: [hc, '64']\n",
     "x.yaml: counters[1]: '64' is not one of hc, 32"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\nuptime: [sysuptime]\n",
     "x.yaml: uptime[0]: 'sysuptime' is not one of"),
    ("name: x\ndetect: {}\n",
     "x.yaml: detect: give at least one of sys_object_id, sys_descr, has_oid (only a profile with an ssh section"),
    ("name: x\ndetect: [1.3.6.1.4.1.9\n",
     "x.yaml: not valid YAML (line"),
    # the ssh section
    ("name: x\nssh: {device_type: linux}\n",
     "x.yaml: ssh.interfaces: required: the command listing each interface's name and octet counters"),
    ("name: x\nssh: {interfaces: {command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'}}\n",
     "x.yaml: ssh.device_type: required: netmiko's device type"),
    ("name: x\nssh: {device_type: linux, interfaces: {command: cat /proc/net/dev, regex: '(?P<name>\\S+)'}}\n",
     "x.yaml: ssh.interfaces.regex: needs the named group(s) in_octets, out_octets, as (?P<in_octets>...)"),
    ("name: x\nssh: {device_type: linux, interfaces: {command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'},"
     " link_speed: {command: 'cat /sys/class/net/{radio}/speed', regex: '(?P<value>\\d+)'}}\n",
     "x.yaml: ssh.link_speed.command: unknown placeholder {radio} (allowed here: {uplink}"),
    ("name: x\nssh: {device_type: linux, interfaces: {command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'},"
     " uptime: {command: show version, textfsm: cisco_ios_show_version, fields: {value: UPTIME_TOTAL}}}\n",
     "x.yaml: ssh.uptime.fields: cisco_ios_show_version.textfsm has no Value UPTIME_TOTAL"),
    ("name: x\nssh: {device_type: linux, interfaces: {command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'},"
     " uptime: {command: show version, textfsm: cisco_show_versoin, fields: {value: UPTIME}}}\n",
     "x.yaml: ssh.uptime.textfsm: 'cisco_show_versoin': no such template in ntc-templates"),
    ("name: x\nssh: {device_type: linux, interfaces: {command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'},"
     " uptime: {command: cat /proc/uptime, count: '^x'}}\n",
     "x.yaml: ssh.uptime: give exactly one of regex or textfsm"),
    ("name: x\nssh: {device_type: linux, interfaces: {command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'},"
     " clients: {command: 'iw dev {radio} station dump', count: '^Station'}}\n",
     "x.yaml: interfaces.radios.name: ssh.clients runs once per {radio}: name the radio interfaces here"),
    ("name: x\nssh: {device_type: linux, counter_bits: 16, interfaces: {command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'}}\n",
     "x.yaml: ssh.counter_bits: expected 64 or 32, got 16"),
    ("name: x\nssh: {device_type: linux, interfaces: {command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'},"
     " reboot: {command: reload, confirm: [{answer: y}]}}\n",
     "x.yaml: ssh.reboot.confirm[0].expect: required"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\nreboot: {oid: 1.3.6.1.4.1.9.2.9.9.0}\n",
     "x.yaml: reboot: give oid (the object to SET) and value (an integer, or a string)"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\nreboot: {oid: 1.3.6.1.4.1.9.2.9.9.0, value: [2]}\n",
     "x.yaml: reboot.value: expected an integer or a string, got [2]"),
    ("name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\nreboot: {oid: tsMsgSend.0, value: 2}\n",
     "x.yaml: reboot.oid: not a numeric OID"),
    ("name: x\nssh: {device_type: linux, interfaces: {command: x, regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'},"
     " uptme: {}}\n",
     "x.yaml: ssh.uptme: unknown key; did you mean 'uptime'?"),
    # ssh.read_only: the guard of `ap ssh` (collectors/cliguard.py)
    (READ_ONLY.format(device="linux", read_only="['^cat']"),
     "x.yaml: ssh.read_only: a list of patterns is not accepted (a pattern cannot tell what a command does): give a "
     "mapping with the dialect and its allowed commands, see collectors/README.md"),
    (READ_ONLY.format(device="ubiquiti_edge", read_only="{commands: {cat: {}}}"),
     "x.yaml: ssh.read_only.dialect: required for device type 'ubiquiti_edge': one of routeros, shell, ios"),
    (READ_ONLY.format(device="linux", read_only="{dialect: bash, commands: {cat: {}}}"),
     "x.yaml: ssh.read_only.dialect: 'bash' is not one of routeros, shell, ios"),
    (READ_ONLY.format(device="linux", read_only="{menus: [/ip address], commands: {cat: {}}}"),
     "x.yaml: ssh.read_only.menus: unknown key for dialect shell; allowed: dialect, commands"),
    (READ_ONLY.format(device="linux", read_only="{commands: {cat: {operand: {match: x}}}}"),
     "x.yaml: ssh.read_only.commands.cat.operand: unknown key; did you mean 'operands'?"),
    (READ_ONLY.format(device="linux", read_only="{commands: {cat: {operands: {max: 2}}}}"),
     "x.yaml: ssh.read_only.commands.cat.operands.match: required: the pattern each operand must match"),
    (READ_ONLY.format(device="linux", read_only="{commands: {cat: {operands: {match: x, min: 2, max: 1}}}}"),
     "x.yaml: ssh.read_only.commands.cat.operands.max: must be at least 1 and at least min (2)"),
    (READ_ONLY.format(device="linux", read_only="{commands: {logread: {options: {-l: '[0-9'}}}}"),
     "x.yaml: ssh.read_only.commands.logread.options.-l: not a valid regular expression"),
    (READ_ONLY.format(device="linux", read_only="{commands: {ip: {flags: [-4]}}}"),
     "x.yaml: ssh.read_only.commands.ip.flags[0]: expected a word, got -4 (quote it: YAML read it as int)"),
    (READ_ONLY.format(device="linux", read_only="{commands: {ping: {flags: [-n], require: [-c]}}}"),
     "x.yaml: ssh.read_only.commands.ping.require[0]: '-c' is not one of its flags or options"),
    (READ_ONLY.format(device="linux", read_only="{commands: {ip: {words: {'a|addr': {word: {}}}}}}"),
     "x.yaml: ssh.read_only.commands.ip.words.a|addr.word: unknown key; did you mean 'words'?"),
    (READ_ONLY.format(device="mikrotik_routeros", read_only="{menus: [/interface], verbs: {print: {}}, deny: [print]}"),
     "x.yaml: ssh.read_only.verbs.print: 'print' is also in ssh.read_only.deny"),
    (READ_ONLY.format(device="mikrotik_routeros", read_only="{menus: [interface], verbs: {print: {}}}"),
     "x.yaml: ssh.read_only.menus[0]: expected a menu path from the root, like '/ip address', got 'interface'"),
    (READ_ONLY.format(device="mikrotik_routeros",
                      read_only="{menus: [/interface], verbs: {print: {flags: [file], deny: [file]}}}"),
     "x.yaml: ssh.read_only.verbs.print: 'file' is listed twice (flags, options, deny)"),
    (READ_ONLY.format(device="mikrotik_routeros", read_only="{menus: [/interface]}"),
     "x.yaml: ssh.read_only.verbs: expected a mapping of read-only verbs (print, ...), got None"),
    (READ_ONLY.format(device="mikrotik_routeros", read_only="{menus: [/interface], verbs: {print: {where: maybe}}}"),
     "x.yaml: ssh.read_only.verbs.print.where: expected true or false, got 'maybe'"),
    (READ_ONLY.format(device="mikrotik_routeros", read_only="{verbs: {print: {}}}"),
     "x.yaml: ssh.read_only.menus: required: the menus the verbs may read (or give each verb its menus)"),
    (READ_ONLY.format(device="cisco_ios", read_only="{commands: {reload: {}}, deny: [reload]}"),
     "x.yaml: ssh.read_only.commands.reload: 'reload' is also in ssh.read_only.deny"),
    (READ_ONLY.format(device="cisco_ios", read_only="{commands: {show: {filters: [include, tee]}}, deny_filters: [tee]}"),
     "x.yaml: ssh.read_only.commands.show.filters: 'tee' is also in ssh.read_only.deny_filters"),
    (READ_ONLY.format(device="cisco_ios", read_only="{commands: {show: {subcommand: [version]}}}"),
     "x.yaml: ssh.read_only.commands.show.subcommand: unknown key; did you mean 'subcommands'?"),
    (READ_ONLY.format(device="cisco_ios", read_only="{commands: {show: {}}, deny: [no]}"),
     "x.yaml: ssh.read_only.deny[0]: expected a word, got False (quote it: YAML read it as bool)"),
])
def test_mistakes_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_profile(write(tmp_path, "x", text))
    assert str(caught.value).startswith(message), str(caught.value)


def test_quoted_string_index_and_descr_rule(tmp_path: Path) -> None:
    path = write(tmp_path, "x", MINIMAL.format(name="x") + (
        "interfaces:\n  radios: {if_type: [71], name: ['^WLAN-\\d+$'], descr: 'Wireless LAN'}\n"
        "clients:\n  - scalar: 1.3.6.1.4.1.8072.1.3.2.3.1.1.\"clients-wlan\"\n"))
    profile = load_profile(path)
    assert profile.clients[0].oid == parse_oid("1.3.6.1.4.1.8072.1.3.2.3.1.1.12.99.108.105.101.110.116.115.45.119.108.97.110")
    assert profile.radio_interfaces.rank(71, "WLAN-1", "IEEE 802.11abgn Wireless LAN (Atheros)") == 0
    assert profile.radio_interfaces.rank(71, "WLAN-1", "Logical Network 1-1") is None
    assert profile.radio_interfaces.rank(6, "WLAN-1", "IEEE 802.11abgn Wireless LAN") is None
    assert profile.link_speed_scale == 1.0 and profile.counters == ("hc", "32")


def test_scale_for_bit_per_second_devices() -> None:
    for name in ("cambium_epmp", "moxa_awk"):
        profile = load_profiles().get(name)
        assert (profile.link_speed, profile.link_speed_scale) == ("if_high_speed", 0.000001)


def test_a_user_folder_replaces_a_shipped_profile_of_the_same_name(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    text = (shipped_dir() / "ubiquiti_unifi.yaml").read_text(encoding="utf-8")
    write(mine, "ubiquiti_unifi", text.replace("description: UniFi access points (UAP, U6, U7)",
                                               "description: our UniFi fleet"))
    write(mine, "acme_ap", MINIMAL.format(name="acme_ap"))
    profiles = load_profiles([mine])
    unifi = profiles.get("ubiquiti_unifi")
    assert unifi.description == "our UniFi fleet" and unifi.source == mine / "ubiquiti_unifi.yaml"
    assert profiles.shadowed == {"ubiquiti_unifi": shipped_dir() / "ubiquiti_unifi.yaml"}
    assert profiles.get("acme_ap").source == mine / "acme_ap.yaml"
    assert profiles.get("cisco_wlc").source == shipped_dir() / "cisco_wlc.yaml"
    assert len(profiles) == len(SHIPPED) + 1


def test_a_missing_user_folder_says_which_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"profile folder not found; set snmp\.profiles_dir"):
        load_profiles([tmp_path / "nope"])


def test_two_profiles_with_the_same_detection_are_refused(tmp_path: Path) -> None:
    text = (shipped_dir() / "zyxel_nxc.yaml").read_text(encoding="utf-8").replace("name: zyxel_nxc", "name: zyxel_copy")
    write(tmp_path, "zyxel_copy", text)
    with pytest.raises(ConfigError, match=r"zyxel_(copy|nxc)\.yaml: detect: the same rules as zyxel_(nxc|copy)\.yaml"):
        load_profiles([tmp_path])


def test_generic_is_required(tmp_path: Path) -> None:
    write(tmp_path, "acme_ap", MINIMAL.format(name="acme_ap"))
    with pytest.raises(ConfigError, match="no 'generic' profile"):
        load_profiles([tmp_path], shipped=False)
    shutil.copy(shipped_dir() / "generic.yaml", tmp_path / "generic.yaml")
    assert sorted(p.name for p in load_profiles([tmp_path], shipped=False)) == ["acme_ap", "generic"]


def test_candidates_put_the_most_specific_first_and_generic_last() -> None:
    profiles = load_profiles()
    names = [p.name for p in profiles.candidates(parse_oid("1.3.6.1.4.1.8072.3.2.10"), "Linux box 5.4")]
    assert names[-1] == "generic"
    assert names.index("asus_merlin") < names.index("openwrt")   # two has_oid before one
    assert "altalabs" not in names                                 # its sysDescr does not match
    nwa = [p.name for p in profiles.candidates(parse_oid("1.3.6.1.4.1.890.1.15"), "NWA-")]
    nxc = [p.name for p in profiles.candidates(parse_oid("1.3.6.1.4.1.890.1.15"), "NXC2500")]
    assert (nwa[0], nxc[0]) == ("zyxel_nwa", "zyxel_nxc")


def test_read_only_rules_are_shown_as_data() -> None:
    """`profiles show` gives each profile's guard rules (dialect and allow-lists) as plain JSON."""
    shown = {name: describe_profile(load_profiles().get(name))["ssh"]["read_only"]
             for name in ("mikrotik_routeros", "openwrt", "linux", "cisco_aironet")}
    json.dumps(shown)
    routeros = shown["mikrotik_routeros"]
    assert routeros["dialect"] == "routeros" and "/interface wireless registration-table" in routeros["menus"]
    assert routeros["verbs"]["print"]["deny"] == ["append", "do", "duration", "file", "follow", "follow-only",
                                                  "follow-strict", "interval"]
    assert routeros["verbs"]["monitor"]["require"] == ["once"] and "reboot" in routeros["deny"]
    assert shown["openwrt"]["commands"]["logread"] == {"flags": [], "options": {"-e": "[ -~]{1,200}", "-l": "\\d{1,6}"}}
    assert shown["openwrt"]["commands"]["hostname"] == {"flags": []} and shown["linux"]["dialect"] == "shell"
    assert shown["cisco_aironet"]["deny_filters"] == ["append", "format", "redirect", "tee"]
    assert shown["cisco_aironet"]["commands"]["show"]["filters"] == ["begin", "count", "exclude", "include", "section"]


def test_a_sum_may_add_several_columns(tmp_path: Path) -> None:
    """``sum: [A, B]`` adds the columns (Huawei's per-SSID 2.4 GHz and 5 GHz station counts); discovery
    keeps every usable row of each, and a poll sums them: vrp_ac6605-26's 7 is LibreNMS's total."""
    head = "name: x\ndetect: {sys_object_id: [1.3.6.1.4.1.9]}\n"
    path = write(tmp_path, "x", head + "clients:\n  - sum: [1.3.6.1.4.1.9.1, .1.3.6.1.4.1.9.2]\n")
    (source,) = load_profile(path).clients
    assert (source.kind, source.oids) == ("sum", ((1, 3, 6, 1, 4, 1, 9, 1), (1, 3, 6, 1, 4, 1, 9, 2)))
    assert describe_profile(load_profile(path))["clients"] == [{"sum": ["1.3.6.1.4.1.9.1", "1.3.6.1.4.1.9.2"]}]
    with pytest.raises(ConfigError, match=r"x.yaml: clients\[0\].sum: an empty list"):
        load_profile(write(tmp_path, "x", head + "clients:\n  - sum: []\n"))
    with pytest.raises(ConfigError, match=r"x.yaml: clients\[0\].sum\[1\]: not a numeric OID"):
        load_profile(write(tmp_path, "x", head + "clients:\n  - sum: [1.3.6.1.4.1.9.1, x]\n"))
