"""The trap listener, fed REAL notifications by net-snmp's snmptrap and snmpinform over loopback UDP.

Each test binds the listener (collectors.traps) on a free loopback port on its own event loop, runs the
net-snmp commands as subprocesses of that loop, and asserts what was decoded, answered and dropped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from hotspotctl.collectors.traps import TrapReceiver, listen, receiver_for, v3_set
from hotspotctl.models.traps import TrapEvent, TrapKind
from hotspotctl.settings import SnmpAuth

pytestmark = pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp's snmptrap is not installed")

ENGINE = "0x8000000001020304"  # the sender's (authoritative) engine ID, as snmptrap -e takes it
AUTH_PASS, PRIV_PASS = "trap-auth-pass", "trap-priv-pass"
IF_INDEX, IF_ADMIN, IF_OPER = "1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.2.2.1.7", "1.3.6.1.2.1.2.2.1.8"
AUTH = {"lab": SnmpAuth(version="2c", community="lab-community"),
        "lab-v3": SnmpAuth(version="3", user="trapper", auth_protocol="sha", auth_password=AUTH_PASS,
                           priv_protocol="aes", priv_password=PRIV_PASS),
        "lab-v3-auth": SnmpAuth(version="3", user="trapper-auth", auth_protocol="sha256",
                                auth_password=AUTH_PASS)}


@pytest.fixture
def net_snmp_env(tmp_path: Path) -> dict[str, str]:
    """snmptrap without MIBs (numeric OIDs only) and with its persistent state in the test's directory."""
    persistent = tmp_path / "net-snmp"
    persistent.mkdir()
    return {**os.environ, "MIBS": "", "MIBDIRS": str(tmp_path), "SNMP_PERSISTENT_DIR": str(persistent),
            "SNMPCONFPATH": str(persistent), "HOME": str(tmp_path)}


def _run(receiver: TrapReceiver, commands: Sequence[Sequence[str]], env: dict[str, str],
         settle_s: float = 0.3) -> tuple[list[TrapEvent], list[int]]:
    """Bind the listener, run each command (its PORT replaced) in turn, wait for stragglers; (events, exit codes)."""
    events: list[TrapEvent] = []
    codes: list[int] = []

    async def main() -> None:
        transport, _listener = await listen(receiver, events.append, "127.0.0.1", 0)
        port = transport.get_extra_info("sockname")[1]
        try:
            for command in commands:
                argv = [part.replace("PORT", str(port)) for part in command]
                process = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE,
                                                               stderr=asyncio.subprocess.PIPE)
                await asyncio.wait_for(process.communicate(), 20)
                assert process.returncode is not None
                codes.append(process.returncode)
            await asyncio.sleep(settle_s)
        finally:
            transport.close()

    asyncio.run(main())
    return events, codes


def _v2c(*varbinds: str, community: str = "lab-community", trap: str = "1.3.6.1.6.3.1.1.5.3",
         extra: Sequence[str] = ()) -> list[str]:
    return ["snmptrap", "-v", "2c", "-c", community, *extra, "127.0.0.1:PORT", "", trap, *varbinds]


def _v3(*varbinds: str, user: str = "trapper", auth: str = AUTH_PASS, priv: str = PRIV_PASS,
        trap: str = "1.3.6.1.6.3.1.1.5.1", extra: Sequence[str] = ()) -> list[str]:
    return ["snmptrap", "-v", "3", "-e", ENGINE, "-u", user, "-l", "authPriv", "-a", "SHA", "-A", auth, "-x", "AES",
            "-X", priv, *extra, "127.0.0.1:PORT", "", trap, *varbinds]


def _receiver(known: Callable[[str], bool] | None = None, **kwargs: float) -> TrapReceiver:
    receiver, skipped = receiver_for(AUTH, known=known, env={}, **kwargs)  # type: ignore[arg-type]
    assert skipped == []
    return receiver


def test_v2c_link_down_with_if_index_and_admin_status(net_snmp_env):
    receiver = _receiver()
    events, codes = _run(receiver, [_v2c(f"{IF_INDEX}.7", "i", "7", f"{IF_ADMIN}.7", "i", "2",
                                         f"{IF_OPER}.7", "i", "2")], net_snmp_env)
    assert codes == [0]
    [event] = events
    assert (event.kind, event.version, event.security, event.source) == (TrapKind.LINK_DOWN, "2c", "lab", "127.0.0.1")
    assert event.trap_oid == "1.3.6.1.6.3.1.1.5.3"
    assert (event.if_index, event.admin_up) == (7, False)
    assert isinstance(event.uptime_ticks, int) and event.uptime_ticks >= 0
    assert event.varbinds[1] == ("1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1.6.3.1.1.5.3")
    assert event.varbinds[2:] == ((f"{IF_INDEX}.7", 7), (f"{IF_ADMIN}.7", 2), (f"{IF_OPER}.7", 2))
    assert receiver.counters()["kinds"]["link_down"] == 1 and receiver.counters()["accepted"] == 1
    assert event.to_json()["kind"] == "link_down"


def test_v2c_link_up_admin_up(net_snmp_env):
    events, _ = _run(_receiver(), [_v2c(f"{IF_INDEX}.3", "i", "3", f"{IF_ADMIN}.3", "i", "1",
                                        trap="1.3.6.1.6.3.1.1.5.4")], net_snmp_env)
    [event] = events
    assert (event.kind, event.if_index, event.admin_up) == (TrapKind.LINK_UP, 3, True)


def test_v1_generic_trap_is_converted_and_agent_addr_is_the_source(net_snmp_env):
    # generic-trap 2 (linkDown) from enterprise netSnmpAgentOIDs.10, agent-addr 10.20.30.40
    command = ["snmptrap", "-v", "1", "-c", "lab-community", "127.0.0.1:PORT", "1.3.6.1.4.1.8072.3.2.10",
               "10.20.30.40", "2", "0", "", f"{IF_INDEX}.5", "i", "5"]
    events, codes = _run(_receiver(), [command], net_snmp_env)
    assert codes == [0]
    [event] = events
    assert (event.version, event.source, event.kind, event.trap_oid) == ("1", "10.20.30.40", TrapKind.LINK_DOWN,
                                                                         "1.3.6.1.6.3.1.1.5.3")
    assert event.if_index == 5 and event.admin_up is None
    assert event.varbinds[-1] == ("1.3.6.1.6.3.1.1.4.3.0", "1.3.6.1.4.1.8072.3.2.10")  # snmpTrapEnterprise.0


def test_v1_enterprise_specific_becomes_enterprise_0_specific(net_snmp_env):
    command = ["snmptrap", "-v", "1", "-c", "lab-community", "127.0.0.1:PORT", "1.3.6.1.4.1.99999.1",
               "0.0.0.0", "6", "42", "1234", "1.3.6.1.4.1.99999.1.1.0", "s", "hello"]
    events, _ = _run(_receiver(), [command], net_snmp_env)
    [event] = events
    assert event.trap_oid == "1.3.6.1.4.1.99999.1.0.42" and event.kind is TrapKind.OTHER
    assert event.source == "127.0.0.1"  # agent-addr 0.0.0.0: the datagram's address
    assert event.uptime_ticks == 1234
    assert ("1.3.6.1.4.1.99999.1.1.0", "hello") in event.varbinds


def test_inform_is_answered_and_decoded(net_snmp_env):
    receiver = _receiver()
    command = ["snmpinform", "-v", "2c", "-c", "lab-community", "-t", "1", "-r", "0", "127.0.0.1:PORT", "",
               "1.3.6.1.6.3.1.1.5.2"]
    events, codes = _run(receiver, [command], net_snmp_env)
    assert codes == [0]  # snmpinform exits 0 only when our Response arrived
    [event] = events
    assert event.kind is TrapKind.WARM_START and event.version == "2c"
    assert receiver.counters()["informs_answered"] == 1


def test_inform_with_a_wrong_community_is_not_answered(net_snmp_env):
    receiver = _receiver()
    command = ["snmpinform", "-v", "2c", "-c", "nope", "-t", "0.5", "-r", "0", "127.0.0.1:PORT", "",
               "1.3.6.1.6.3.1.1.5.2"]
    events, codes = _run(receiver, [command], net_snmp_env)
    assert codes == [1] and events == []
    assert receiver.counters()["dropped"]["bad_community"] == 1 and receiver.counters()["informs_answered"] == 0


def test_v3_auth_priv_sha_aes(net_snmp_env):
    receiver = _receiver()
    events, codes = _run(receiver, [_v3()], net_snmp_env)
    assert codes == [0]
    [event] = events
    assert (event.version, event.security, event.kind) == ("3", "lab-v3", TrapKind.COLD_START)


def test_v3_auth_no_priv_sha256(net_snmp_env):
    command = ["snmptrap", "-v", "3", "-e", ENGINE, "-u", "trapper-auth", "-l", "authNoPriv", "-a", "SHA-256",
               "-A", AUTH_PASS, "127.0.0.1:PORT", "", "1.3.6.1.6.3.1.1.5.5"]
    events, _ = _run(_receiver(), [command], net_snmp_env)
    [event] = events
    assert (event.version, event.security, event.kind) == ("3", "lab-v3-auth", TrapKind.AUTH_FAILURE)


def test_v3_keys_follow_the_senders_engine_id(net_snmp_env):
    """Two senders with their own engine IDs: each is authenticated with keys localised to its own ID."""
    receiver = _receiver()
    other = [part if part != ENGINE else "0x80000000010a0b0c0d" for part in _v3(trap="1.3.6.1.6.3.1.1.5.2")]
    events, _ = _run(receiver, [_v3(), other], net_snmp_env)
    assert [event.kind for event in events] == [TrapKind.COLD_START, TrapKind.WARM_START]
    assert len(receiver._keys) == 2


def test_v3_wrong_auth_key_and_wrong_priv_key_are_dropped(net_snmp_env):
    receiver = _receiver()
    events, _ = _run(receiver, [_v3(auth="not-the-auth-pass"), _v3(priv="not-the-priv-pass"),
                                _v3(user="stranger")], net_snmp_env)
    assert events == []
    dropped = receiver.counters()["dropped"]
    assert (dropped["bad_auth"], dropped["decrypt"], dropped["unknown_user"]) == (1, 1, 1)
    assert receiver.counters()["accepted"] == 0


def test_v3_replay_from_an_earlier_boot_is_out_of_the_time_window(net_snmp_env):
    receiver = _receiver()
    events, _ = _run(receiver, [_v3(extra=["-Z", "5,1000"]), _v3(trap="1.3.6.1.6.3.1.1.5.2", extra=["-Z", "4,1000"]),
                                _v3(trap="1.3.6.1.6.3.1.1.5.5", extra=["-Z", "5,500"])], net_snmp_env)
    assert [event.kind for event in events] == [TrapKind.COLD_START]
    assert receiver.counters()["dropped"]["not_in_time_window"] == 2


def test_wrong_community_is_counted_and_dropped(net_snmp_env):
    receiver = _receiver()
    events, _ = _run(receiver, [_v2c(community="public"), _v2c(community="lab-community")], net_snmp_env)
    assert len(events) == 1 and events[0].security == "lab"
    assert receiver.counters()["dropped"]["bad_community"] == 1


def test_unknown_source_is_dropped_before_anything_else(net_snmp_env):
    """127.0.0.2 is a second loopback address: the same community, but not an address we know."""
    receiver = _receiver(known=lambda source: source == "127.0.0.1")
    events, _ = _run(receiver, [_v2c(extra=["--clientaddr=127.0.0.2"]),
                                _v3(extra=["--clientaddr=127.0.0.2"]), _v2c()], net_snmp_env)
    assert [event.source for event in events] == ["127.0.0.1"]
    assert receiver.counters()["dropped"]["unknown_source"] == 2


def test_v1_unknown_agent_addr_is_dropped(net_snmp_env):
    receiver = _receiver(known=lambda source: source == "127.0.0.1")
    command = ["snmptrap", "-v", "1", "-c", "lab-community", "127.0.0.1:PORT", "1.3.6.1.4.1.8072.3.2.10",
               "10.99.99.99", "3", "0", ""]
    events, _ = _run(receiver, [command], net_snmp_env)
    assert events == [] and receiver.counters()["dropped"]["unknown_source"] == 1


def test_cisco_ap_disassociated_names_the_ap(net_snmp_env):
    mac_index = "0.17.34.170.187.204"  # bsnAPDot3MacAddress 00:11:22:aa:bb:cc as the table index
    command = _v2c("1.3.6.1.4.1.14179.2.6.2.20.0", "x", "001122AABBCC",
                   f"1.3.6.1.4.1.14179.2.2.1.1.3.{mac_index}", "s", "AP-CUA-0042",
                   trap="1.3.6.1.4.1.14179.2.6.3.8")
    events, _ = _run(_receiver(), [command], net_snmp_env)
    [event] = events
    assert (event.kind, event.ap_name, event.ap_mac) == (TrapKind.AP_LEAVE, "AP-CUA-0042", "00:11:22:aa:bb:cc")
    assert ("1.3.6.1.4.1.14179.2.6.2.20.0", "00:11:22:aa:bb:cc") in event.varbinds


def test_aruba_ruckus_and_huawei_ap_traps(net_snmp_env):
    aruba = _v2c("1.3.6.1.4.1.14823.2.3.1.11.1.1.1.0", "x", "24DEC6010203", trap="1.3.6.1.4.1.14823.2.3.1.11.1.2.1041")
    ruckus = _v2c("1.3.6.1.4.1.25053.2.11.2.25.0", "s", "AP-XOC-7", "1.3.6.1.4.1.25053.2.11.2.23.0", "s",
                  "DE:AD:BE:EF:33:40", trap="1.3.6.1.4.1.25053.2.11.1.21")
    huawei = _v2c("1.3.6.1.4.1.2011.6.139.13.3.3.1.1.0", "x", "00E0FC123456", trap="1.3.6.1.4.1.2011.6.139.13.1.1.30")
    events, _ = _run(_receiver(), [aruba, ruckus, huawei], net_snmp_env)
    assert [(e.kind, e.ap_name, e.ap_mac) for e in events] == [
        (TrapKind.AP_LEAVE, None, "24:de:c6:01:02:03"), (TrapKind.AP_JOIN, "AP-XOC-7", "de:ad:be:ef:33:40"),
        (TrapKind.AP_LEAVE, None, "00:e0:fc:12:34:56")]


def test_other_traps_are_counted_by_oid(net_snmp_env):
    receiver = _receiver()
    events, _ = _run(receiver, [_v2c(trap="1.3.6.1.4.1.99999.0.1"), _v2c("1.3.6.1.4.1.99999.1", "i", "2",
                                                                        trap="1.3.6.1.4.1.99999.0.1")], net_snmp_env)
    assert [event.kind for event in events] == [TrapKind.OTHER, TrapKind.OTHER]
    assert receiver.counters()["other_oids"] == {"1.3.6.1.4.1.99999.0.1": 2}
    assert receiver.counters()["kinds"]["other"] == 2


def test_retransmissions_are_suppressed_within_the_window(net_snmp_env):
    receiver = _receiver(dedupe_s=5.0)
    same = _v2c(f"{IF_INDEX}.7", "i", "7")
    events, _ = _run(receiver, [same, same, _v2c(f"{IF_INDEX}.8", "i", "8")], net_snmp_env)
    assert [event.if_index for event in events] == [7, 8]
    assert receiver.counters()["dropped"]["duplicate"] == 1


def test_malformed_datagrams_are_counted():
    receiver = TrapReceiver({"lab": b"lab-community"}, known=None)
    for garbage in (b"", b"\x30", b"\x30\x03\x02\x01\x01", b"\x04\x00", b"\x30\x05\x02\x01\x07\x04\x00",
                    b"\x30\x0b\x02\x01\x01\x04\x03lab\xa7\x01\x00"):
        assert receiver.receive(garbage, "127.0.0.1") == (None, None)
    assert receiver.counters()["dropped"]["malformed"] == 6
    assert receiver.counters()["received"] == 6


def test_a_missing_secret_leaves_its_set_out():
    auth = {"env-v3": SnmpAuth(version="3", user="u", auth_protocol="sha", auth_password_env="NOT_SET_ANYWHERE")}
    receiver, skipped = receiver_for(auth, env={})
    assert receiver.users == {} and len(skipped) == 1 and "NOT_SET_ANYWHERE" in skipped[0]


def test_v3_set_keys_are_computed_once():
    entry = v3_set("s", "u", "sha", "password1", "aes", "password2")
    assert len(entry.auth_master) == 20 and len(entry.priv_master) == 20 and entry.rank == 2


def test_trap_settings_are_validated_and_have_env_twins():
    from hotspotctl.errors import ConfigError
    from hotspotctl.settings import load_settings

    settings = load_settings(env={"HOTSPOTCTL_TRAPS_PORT": "11162", "HOTSPOTCTL_TRAPS_CREDENTIAL_SETS": "lab,lab-v3",
                                  "HOTSPOTCTL_TRAPS_DEDUPE_S": "2.5"}, cwd=Path("/")).settings.traps
    assert (settings.port, settings.credential_sets, settings.dedupe_s, settings.bind) == (11162, ("lab", "lab-v3"),
                                                                                          2.5, "0.0.0.0")
    for name, value in (("HOTSPOTCTL_TRAPS_BIND", "everywhere"), ("HOTSPOTCTL_TRAPS_PORT", "70000"),
                        ("HOTSPOTCTL_TRAPS_DEDUPE_S", "-1")):
        with pytest.raises(ConfigError, match=name):
            load_settings(env={name: value}, cwd=Path("/"))


@pytest.mark.parametrize("auth, auth_flag, priv, priv_flag", [
    ("md5", "MD5", "des", "DES"), ("sha224", "SHA-224", "aes", "AES"), ("sha512", "SHA-512", "aes256", "AES-256"),
    ("sha", "SHA", "aes192", "AES-192"), ("sha256", "SHA-256", "aes256", "AES-256")])
def test_v3_protocols_net_snmp_sends(net_snmp_env, auth, auth_flag, priv, priv_flag):
    """Every auth/priv pair net-snmp offers, keys localised to the sender's engine ID; AES-192/256 with a
    short hash (SHA) needs the key extension net-snmp uses (Blumenthal), tried after pysnmp's (Reeder)."""
    sets = {"x": SnmpAuth(version="3", user="matrix", auth_protocol=auth, auth_password=AUTH_PASS,
                          priv_protocol=priv, priv_password=PRIV_PASS)}
    receiver, _ = receiver_for(sets, env={})
    command = ["snmptrap", "-v", "3", "-e", ENGINE, "-u", "matrix", "-l", "authPriv", "-a", auth_flag, "-A",
               AUTH_PASS, "-x", priv_flag, "-X", PRIV_PASS, "127.0.0.1:PORT", "", "1.3.6.1.6.3.1.1.5.4",
               f"{IF_INDEX}.2", "i", "2"]
    events, codes = _run(receiver, [command], net_snmp_env)
    assert codes == [0]
    assert [(e.kind, e.security, e.if_index) for e in events] == [(TrapKind.LINK_UP, "x", 2)], receiver.counters()


def test_v3_time_moving_forward_is_accepted_and_a_replay_of_the_same_boot_is_not():
    """The time window per sender engine, driven directly (RFC 3414 3.2 step 7b as a non-authoritative end)."""
    now = [1000.0]
    receiver = TrapReceiver({}, [], monotonic=lambda: now[0])
    engine = b"\x80\x00\x00\x00\x01"
    assert receiver._in_time(engine, 3, 500)
    now[0] += 60
    assert receiver._in_time(engine, 3, 560)  # a minute later, a minute later
    assert receiver._in_time(engine, 3, 560 - 150)  # within the window
    assert not receiver._in_time(engine, 3, 560 - 151)
    assert not receiver._in_time(engine, 2, 10_000)  # an earlier boot
    assert receiver._in_time(engine, 4, 1)  # a reboot moves it on
    assert not receiver._in_time(engine, 3, 700)


def test_flat_counters_for_self_metrics(net_snmp_env):
    receiver = _receiver()
    _run(receiver, [_v2c(), _v2c(community="nope")], net_snmp_env)
    fields = receiver.flat_counters()
    assert (fields["traps_received"], fields["traps_accepted"], fields["traps_dropped_bad_community"],
            fields["traps_kind_link_down"], fields["traps_v2c"]) == (2, 1, 1, 1, 1)
    assert all(isinstance(value, int) for value in fields.values())
