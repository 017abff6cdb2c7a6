"""Issue 15: a missing secret is a configuration error of the command (exit 3, naming the set and the variable),
found before anything is polled or run: never an outage of the APs that use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from hotspotctl.collectors.auth import MissingSecret, for_writing, require_secrets, resolve
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.settings import SnmpAuth, SshAuth
from hotspotctl.store import Store
from hotspotctl.store.schema import outages, poll_cycles
from tests.cli.test_ap_actions import PASSWORD_ENV, lab  # noqa: F401 - the SSH lab fixture
from tests.conftest import write

SNMP = {"default": SnmpAuth(community="public"),
        "campus": SnmpAuth(community_env="CAMPUS_COMMUNITY"),
        "v3": SnmpAuth(version="3", user="noc", auth_protocol="sha256", auth_password_env="V3_AUTH",
                       priv_protocol="aes", priv_password_env="V3_PRIV"),
        "writer": SnmpAuth(community="public", write_community_env="WRITER_COMMUNITY"),
        "unused": SnmpAuth(community_env="NOBODY_SETS_THIS")}
SSH = {"field": SshAuth(username="noc", password_env="FIELD_PW"),
       "keyed": SshAuth(username="noc", key_file="/nonexistent/id_ed25519", passphrase_env="KEY_PASSPHRASE")}


def ap(ap_id: str, *, snmp: str | None = None, ssh: str | None = None, collector: str | None = None) -> AccessPoint:
    return AccessPoint(ap_id, 19.4, -99.1, snmp_auth=snmp, ssh_auth=ssh, collector=collector)


def test_every_missing_secret_of_the_sets_in_use_is_named_once():
    aps = [ap("A1", snmp="campus"), ap("A2", snmp="campus"), ap("A3", snmp="v3"), ap("A4"),
           ap("S1", ssh="field", collector="ssh"), ap("S2", ssh="keyed", collector="ssh"), ap("W1", snmp="writer")]
    with pytest.raises(MissingSecret) as caught:
        require_secrets(aps, SNMP, SSH, env={"V3_AUTH": "x" * 12, "KEY_PASSPHRASE": "p"})
    message = str(caught.value)
    assert message.split("; ")[:4] == [
        "snmp.auth.campus.community_env: environment variable CAMPUS_COMMUNITY is not set (credential set "
        "snmp.auth.campus, used by 2 of the selected APs: A1, A2)",
        "snmp.auth.v3.priv_password_env: environment variable V3_PRIV is not set (credential set snmp.auth.v3, "
        "used by 1 of the selected APs: A3)",
        "ssh.auth.field.password_env: environment variable FIELD_PW is not set (credential set ssh.auth.field, "
        "used by 1 of the selected APs: S1)",
        "ssh.auth.keyed.key_file: /nonexistent/id_ed25519 not found (credential set ssh.auth.keyed, used by 1 of "
        "the selected APs: S2)"]
    assert message.endswith("nothing was polled: set it in the environment hotspotctl runs in (systemd: "
                            "Environment= or EnvironmentFile=), or fix the set in the settings file")
    assert "NOBODY_SETS_THIS" not in message  # a set no selected AP uses is not required
    assert "WRITER_COMMUNITY" not in message  # polling never writes: the write community is for a reboot
    assert caught.value.exit_code == 3


def test_sets_that_no_selected_ap_uses_are_not_required_and_present_secrets_pass():
    require_secrets([ap("A1", snmp="campus"), ap("S1", ssh="field", collector="ssh")], SNMP, SSH,
                    env={"CAMPUS_COMMUNITY": "c0mm", "FIELD_PW": "pw"})
    require_secrets([ap("A4"), ap("X", snmp="not-defined")], SNMP, SSH, env={})  # undefined: each AP's own error


def test_a_missing_write_community_stops_a_reboot_not_a_poll():
    """On 3854a6b an unset write_community_env failed every poll of the set's APs (a config error per AP)."""
    credentials = resolve("writer", SNMP, env={})
    assert credentials.community == b"public"
    with pytest.raises(MissingSecret, match=r"snmp\.auth\.writer\.write_community_env: environment variable "
                                            "WRITER_COMMUNITY is not set"):
        for_writing(credentials)
    assert for_writing(resolve("writer", SNMP, env={"WRITER_COMMUNITY": "w"})).community == b"w"


def test_polling_with_an_unset_write_community_works(cli, city):
    write(cli.workdir / "hotspotctl.toml", f'data_dir = "{city.data_dir}"\n[snmp.auth.default]\n'
                                           'community = "public"\nwrite_community_env = "HSTEST_UNSET_WRITE"\n')
    result = cli("poll", "--once", "--format", "json")
    assert result.code == 0, result.err
    assert sum(row["ok"] for row in json.loads(result.out)) == 40


def test_ap_exec_stops_at_start_when_one_targets_password_variable_is_unset(lab, monkeypatch):  # noqa: F811
    """On 3854a6b the AP was skipped and the others ran (exit 0 for a dry run, 4 for a run)."""
    monkeypatch.delenv(PASSWORD_ENV["cisco"])
    for args in (["--dry-run"], ["--yes"]):
        result = lab.cli("ap", "exec", "--site", "AICM", *args, "--", "show", "version")
        assert result.code == 3, result.err
        assert (f"ssh.auth.cisco.password_env: environment variable {PASSWORD_ENV['cisco']} is not set"
                in result.err)
    assert lab.untouched() and lab.audit() == []


# -- run, poll, discover ---------------------------------------------------------------------------------------

def _no_community(cli, city) -> None:
    write(cli.workdir / "hotspotctl.toml", f'data_dir = "{city.data_dir}"\n[snmp.auth.default]\n'
                                           'community_env = "HSTEST_CITY_COMMUNITY"\n')


@pytest.mark.parametrize("command", [["run", "--cycles", "2", "--interval", "1"], ["poll", "--once"], ["discover"]])
def test_a_command_that_polls_stops_before_polling_when_the_community_is_unset(cli, city, command):
    """On 3854a6b `run` polled the whole fleet, found every AP down ("config" errors), opened outages and exited 0."""
    _no_community(cli, city)
    result = cli(*command)
    assert result.code == 3, result.err
    assert ("snmp.auth.default.community_env: environment variable HSTEST_CITY_COMMUNITY is not set (credential "
            "set snmp.auth.default, used by 40 of the selected APs: SCH-000, SCH-001, SCH-002 ...)") in result.err
    with Store.open(city.settings.store_url) as store, store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(poll_cycles)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(outages)).scalar_one() == 0
    assert not any(Path(city.settings.spool_dir).glob("**/*.lp*"))
