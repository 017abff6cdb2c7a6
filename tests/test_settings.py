"""Settings: defaults < TOML file < HOTSPOTCTL_* < flags, strict checking, secrets masked."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from pathlib import Path
from typing import Any

import pytest

from hotspotctl.errors import ConfigError
from hotspotctl.settings import CDMX_BOUNDS, Settings, describe, load_settings, mask_url
from tests.conftest import write

CONFIG = """
data_dir = "/srv/hotspotctl"
database_url = "postgresql://noc:s3cret-pw@db.internal:5432/hotspotctl"

[inventory]
bounds_margin_km = 5
districts = ["Centro", "Norte"]

[crew_zones.districts]
"Cuauhtémoc" = "Centro"
"""


def test_defaults(tmp_path: Path):
    loaded = load_settings(env={}, cwd=tmp_path)
    settings = loaded.settings
    assert loaded.config_file is None
    assert settings.data_dir == tmp_path / "var"
    assert settings.store_url == f"sqlite:///{tmp_path / 'var' / 'hotspotctl.db'}"
    assert settings.inventory.bounds == CDMX_BOUNDS
    assert len(settings.inventory.districts) == 16
    assert set(loaded.origins.values()) == {"default"}


def test_file_then_env_then_flags(tmp_path: Path):
    config = write(tmp_path / "site.toml", CONFIG)
    env = {"HOTSPOTCTL_INVENTORY_BOUNDS_MARGIN_KM": "2.5", "HOTSPOTCTL_DATA_DIR": "/env/dir",
           "HOTSPOTCTL_INVENTORY_DISTRICTS": "A, B ,C"}
    loaded = load_settings(config, env=env, flags={"data_dir": ("--data-dir", "/flag/dir")}, cwd=tmp_path)
    settings = loaded.settings
    assert settings.data_dir == Path("/flag/dir")
    assert settings.inventory.bounds_margin_km == 2.5
    assert settings.inventory.districts == ("A", "B", "C")
    assert settings.crew_zones.districts == {"Cuauhtémoc": "Centro"}
    assert settings.store_url == "postgresql://noc:s3cret-pw@db.internal:5432/hotspotctl"
    assert loaded.origins["data_dir"] == "flag --data-dir"
    assert loaded.origins["inventory.bounds_margin_km"] == "env HOTSPOTCTL_INVENTORY_BOUNDS_MARGIN_KM"
    assert loaded.origins["database_url"] == f"file {config}"
    assert loaded.origins["inventory.bounds"] == "default"


def test_the_config_file_is_found_by_env_or_in_the_current_directory(tmp_path: Path):
    write(tmp_path / "hotspotctl.toml", 'data_dir = "here"\n')
    assert load_settings(env={}, cwd=tmp_path).settings.data_dir == tmp_path / "here"
    other = write(tmp_path / "other.toml", 'data_dir = "/other"\n')
    assert load_settings(env={"HOTSPOTCTL_CONFIG": str(other)}, cwd=tmp_path).settings.data_dir == Path("/other")


@pytest.mark.parametrize(("text", "env", "message"), [
    ("[inventory]\nbound = [1, 2, 3, 4]\n", {}, r"x.toml: inventory.bound: unknown setting; did you mean 'inventory.bounds'\?"),
    ("data_dri = 'x'\n", {}, r"x.toml: data_dri: unknown setting; did you mean 'data_dir'\?"),
    ("inventory = 3\n", {}, r"x.toml: inventory: expected a table \[inventory\]"),
    ("[inventory]\nbounds = [19.6, -99.37, 19.04, -98.94]\n", {}, r"inventory.bounds: expected \[min_lat, min_lon, max_lat, max_lon\] with min < max"),
    ("[inventory]\nbounds = [1, 2]\n", {}, r"inventory.bounds: expected \[min_lat, min_lon, max_lat, max_lon\]$"),
    ("[inventory]\nbounds_margin_km = 'far'\n", {}, r"inventory.bounds_margin_km: expected a number, got 'far'"),
    ("[inventory]\nbounds_margin_km = -1\n", {}, r"inventory.bounds_margin_km: must be 0 or more"),
    ("[crew_zones.districts]\nTlalpan = 3\n", {}, r"crew_zones.districts: Tlalpan: expected a string"),
    ("data_dir = [\n", {}, r"x.toml: not valid TOML: "),
    ("", {"HOTSPOTCTL_INVENTORY_BOUNDS_MARGIN_KM": "ten"},
     r"env HOTSPOTCTL_INVENTORY_BOUNDS_MARGIN_KM: inventory.bounds_margin_km: expected a number, got 'ten'"),
    ("", {"HOTSPOTCTL_INVENTORY_BOUNDS_MARGIN_KM": "inf"}, r"expected a finite number"),
])
def test_bad_settings_name_the_source_and_the_key(tmp_path: Path, text, env, message):
    config = write(tmp_path / "x.toml", text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config, env=env, cwd=tmp_path)


def test_a_missing_config_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", env={}, cwd=tmp_path)


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://noc:s3cret@db:5432/h", "postgresql://noc:***@db:5432/h"),
    ("postgresql://noc@db/h", "postgresql://noc@db/h"),
    ("postgresql://:tok@db/h", "postgresql://:***@db/h"),
    ("sqlite:///var/hotspotctl.db", "sqlite:///var/hotspotctl.db"),
])
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_config_show_masks_secrets_from_file_and_env(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = write(tmp_path / "site.toml", CONFIG)
    result = cli("--config", config, "config", "show")
    assert result.code == 0
    assert "s3cret-pw" not in result.out + result.err
    assert "postgresql://noc:***@db.internal:5432/hotspotctl" in result.out
    monkeypatch.setenv("HOTSPOTCTL_DATABASE_URL", "postgresql://noc:env-pass@db/h")
    document = json.loads(cli("--config", config, "--data-dir", "/x", "config", "show", "--format", "json").out)
    assert document["store"] == "postgresql://noc:***@db/h"
    assert document["settings"]["database_url"] == "postgresql://noc:***@db/h"
    assert document["sources"]["database_url"] == "env HOTSPOTCTL_DATABASE_URL"
    assert document["sources"]["data_dir"] == "flag --data-dir"
    assert document["settings"]["data_dir"] == "/x"
    assert document["settings"]["inventory.districts"] == ["Centro", "Norte"]
    assert document["env"]["inventory.bounds_margin_km"] == "HOTSPOTCTL_INVENTORY_BOUNDS_MARGIN_KM"
    assert "env-pass" not in json.dumps(document)


def test_influx_secrets_come_from_the_environment_and_never_show(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", "http://127.0.0.1:8086")
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_TOKEN", "tok-very-secret")
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_PASSWORD", "pw-very-secret")
    loaded = load_settings()
    assert (loaded.settings.influx.token, loaded.settings.influx.password) == ("tok-very-secret", "pw-very-secret")
    assert "very-secret" not in repr(loaded.settings)  # a logged settings object shows neither
    result = cli("config", "show", "--format", "json")
    document = json.loads(result.out)
    assert document["settings"]["influx.token"] == "***" and document["settings"]["influx.password"] == "***"
    assert document["sources"]["influx.token"] == "env HOTSPOTCTL_INFLUX_TOKEN"
    assert "very-secret" not in result.out + result.err
    result = cli("spool", "status", "--format", "json")
    assert json.loads(result.out)["influxdb"] == "InfluxDB http://127.0.0.1:8086 (bucket hotspotctl)"
    assert "very-secret" not in result.out + result.err


def test_a_wrong_influx_api_or_url_is_a_config_error(cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_API", "v3")
    result = cli("spool", "status")
    assert result.code == 3
    assert "env HOTSPOTCTL_INFLUX_API: influx.api: 'v3' is not one of v2, v1" in result.err
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_API", "v1")
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", "influx:8086")
    result = cli("spool", "status")
    assert result.code == 3 and "'influx:8086' is not an http:// or https:// URL" in result.err


def test_every_setting_is_described():
    rows = describe(load_settings(env={}, cwd=Path("/")))
    assert [row["key"] for row in rows] == [
        "data_dir", "timezone", "database_url", "inventory.bounds", "inventory.bounds_margin_km", "inventory.districts",
        "crew_zones.districts", "crew_zones.sites", "crew_zones.depots", "crew_zones.language", "crew_zones.languages",
        "snmp.port", "snmp.timeout_s", "snmp.min_timeout_s",
        "snmp.retries", "snmp.deadline_s", "snmp.max_in_flight", "snmp.max_oids_per_get", "snmp.receive_buffer_bytes",
        "snmp.name_ttl_s", "snmp.profiles_dir", "snmp.rediscover_hours", "snmp.down_backoff_max_s",
        "snmp.auth.default.version", "snmp.auth.default.community",
        "snmp.auth.sim-v3.version", "snmp.auth.sim-v3.user", "snmp.auth.sim-v3.auth_protocol",
        "snmp.auth.sim-v3.auth_password_env", "snmp.auth.sim-v3.priv_protocol", "snmp.auth.sim-v3.priv_password_env",
        "ping.enabled", "ping.count", "ping.interval_ms", "ping.timeout_s", "ping.max_in_flight",
        "ping.max_rate_pps", "ping.receive_buffer_bytes", "ping.socket",
        "ssh.pool_size", "ssh.deadline_s", "ssh.connect_timeout_s", "ssh.known_hosts", "ssh.accept_new_host_keys",
        "ssh.auth",
        "schedule.interval_s", "schedule.discovery_cron", "schedule.grace_s", "schedule.max_failed_cycles",
        "schedule.crews_cron", "schedule.checkpoint_cycles",
        "evaluate.target_mbps", "evaluate.target_by_program", "evaluate.down_after", "evaluate.up_after",
        "evaluate.below_cycles", "evaluate.below_window", "evaluate.rf_busy_pct", "evaluate.expected_link_mbps",
        "evaluate.expected_link_by_program", "evaluate.site_offline_share", "evaluate.site_offline_min_aps",
        "evaluate.reboot_loop_count", "evaluate.reboot_loop_hours", "evaluate.flap_changes", "evaluate.flap_minutes",
        "evaluate.ping_loss_pct", "evaluate.ping_rtt_ms",
        "crews.max_stops", "crews.send_via", "crews.send_on_site_outage", "crews.usual_clients",
        "crews.usual_clients_by_program", "crews.email.host", "crews.email.port",
        "crews.email.tls", "crews.email.ca_file", "crews.email.username",
        "crews.email.password", "crews.email.sender", "crews.email.to", "crews.email.zones", "crews.email.timeout_s",
        "crews.webhook.url", "crews.webhook.token", "crews.webhook.timeout_s", "crews.webhook.max_retries",
        "crews.open311.url", "crews.open311.api_key", "crews.open311.service_code", "crews.open311.jurisdiction_id",
        "crews.open311.attributes", "crews.open311.timeout_s", "crews.open311.max_retries",
        "crews.done_url", "crews.done_secret",
        "spool.dir", "spool.max_mb",
        "influx.url", "influx.api", "influx.org", "influx.bucket", "influx.token", "influx.database",
        "influx.retention_policy", "influx.username", "influx.password", "influx.create_database",
        "influx.batch_points", "influx.timeout_s", "influx.max_retries", "influx.retry_max_s",
        "influx.flush_interval_s",
        "noc.kinds", "noc.email_to", "noc.webhook_url", "noc.webhook_token", "noc.webhook_timeout_s",
        "noc.webhook_max_retries", "noc.generator_url", "noc.repeat_interval_s", "noc.overrun_cycles",
        "noc.spool_max_batches", "noc.spool_growing_cycles", "noc.influx_away_s", "noc.failed_cycles",
        "traps.enabled", "traps.bind", "traps.port", "traps.credential_sets", "traps.dedupe_s",
        "traps.max_per_source_per_s",
        "cluster.redis_url", "cluster.shards", "cluster.worker", "cluster.heartbeat_s", "cluster.heartbeat_ttl_s",
        "cluster.leader_ttl_s", "cluster.redis_lost_exit_s", "cluster.threads"]
    assert all(row["help"] for row in rows)
    by_key = {row["key"]: row["value"] for row in rows}
    assert by_key["snmp.auth.default.community"] == "***"  # the default community is a secret like any other
    # the simulator's v3 passphrases are only ever named, never given
    assert by_key["snmp.auth.sim-v3.auth_password_env"] == "HOTSPOTCTL_SIM_V3_AUTH_PASSWORD"


def test_snmp_credential_sets_are_strict_merged_and_masked(tmp_path, cli, monkeypatch):
    config = write(tmp_path / "h.toml", """
[snmp.auth.campus]
version = "3"
user = "noc"
auth_protocol = "sha256"
auth_password_env = "CAMPUS_AUTH"
priv_protocol = "aes"
priv_password = "inline-priv-secret"
""")
    loaded = load_settings(config, env={}, cwd=tmp_path)
    assert sorted(loaded.settings.snmp.auth) == ["campus", "default", "sim-v3"]  # the file adds; the defaults stay
    assert loaded.settings.snmp.auth["campus"].priv_protocol == "aes"
    result = cli("--config", config, "config", "show", "--format", "json")
    assert result.code == 0
    assert "inline-priv-secret" not in result.out
    settings = json.loads(result.out)["settings"]
    assert settings["snmp.auth.campus.priv_password"] == "***"
    assert settings["snmp.auth.campus.auth_password_env"] == "CAMPUS_AUTH"
    for body, problem in [
        ('[snmp.auth.x]\ncomunity = "a"\n', "snmp.auth: x.comunity: unknown setting; did you mean 'community'?"),
        ('[snmp.auth.x]\nversion = "3"\nuser = "a"\npriv_protocol = "aes"\npriv_password = "p"\n',
         "x: priv_protocol needs auth_protocol"),
        ('[snmp.auth.x]\nversion = "3"\nuser = "a"\nauth_protocol = "sha3"\nauth_password = "p"\n',
         "x: auth_protocol: 'sha3' is not one of md5, sha, sha224, sha256, sha384, sha512"),
        ('[snmp.auth.x]\nversion = "2c"\n', "x: a v2c set needs community or community_env"),
    ]:
        bad = write(tmp_path / "bad.toml", body)
        result = cli("--config", bad, "config", "show")
        assert result.code == 3
        assert problem in result.err
        assert str(bad) in result.err


# -- issue 15: every number has a range, every crontab is read by the scheduler's parser -----------------

@pytest.mark.parametrize(("key", "value", "message"), [
    ("snmp.port", "99999", r"snmp\.port: must be 1 or more and at most 65,535 \(got 99,999\)"),
    ("snmp.receive_buffer_bytes", "99999999999",
     r"snmp\.receive_buffer_bytes: must be 65,536 or more and at most 1,073,741,824 bytes"),
    ("snmp.retries", "1000000", r"snmp\.retries: must be 0 or more and at most 10 \(got 1,000,000\)"),
    ("schedule.discovery_cron", "99 99 * * *", r"schedule\.discovery_cron: '99 99 \* \* \*' is not a crontab time: "),
    ("schedule.crews_cron", "0 7 * * 9", r"schedule\.crews_cron: '0 7 \* \* 9' is not a crontab time: "),
    ("schedule.crews_cron", "0 7 31 2 *", r"schedule\.crews_cron: '0 7 31 2 \*' never comes"),
    ("snmp.timeout_s", "0", r"snmp\.timeout_s: must be 0\.01 or more and at most 60 s \(got 0\)"),
    ("snmp.rediscover_hours", "1e12", r"snmp\.rediscover_hours: must be 0\.01 or more and at most 8,760 h"),
    ("schedule.interval_s", "-5", r"schedule\.interval_s: must be 0\.1 or more"),
    ("crews.email.port", "0", r"crews\.email\.port: must be 1 or more and at most 65,535 \(got 0\)"),
    ("evaluate.below_window", "40", r"evaluate\.below_window: must be 1 or more and at most 31 cycles"),
    ("evaluate.below_cycles", "9", r"evaluate: below_cycles \(9\) is more than below_window \(4\)"),
    ("evaluate.rf_busy_pct", "101", r"evaluate\.rf_busy_pct: must be 1 or more and at most 100 % \(got 101\)"),
    ("evaluate.rf_busy_pct", "0", r"evaluate\.rf_busy_pct: must be 1 or more and at most 100 % \(got 0\)"),
    ("influx.batch_points", "100000000", r"influx\.batch_points: must be 1 or more and at most 100,000"),
])
def test_a_value_that_would_crash_a_command_is_refused_at_load_with_the_range(cli, key, value, message):
    """On 3854a6b each of these loaded fine and the first four crashed every command that used them (exit 1)."""
    variable = "HOTSPOTCTL_" + key.replace(".", "_").upper()
    with pytest.raises(ConfigError, match=message):
        load_settings(env={variable: value})
    # any command: settings are checked when they are loaded (here from the file in the working directory)
    section, _, name = key.rpartition(".")
    quoted = f'"{value}"' if "cron" in name else value
    write(cli.workdir / "hotspotctl.toml", f"[{section}]\n{name} = {quoted}\n")
    result = cli("inventory", "list")
    assert result.code == 3
    assert re.search(message, result.err), result.err
    assert "internal error" not in result.err


def test_a_credential_sets_port_is_checked_too(tmp_path: Path):
    config = write(tmp_path / "x.toml", '[ssh.auth.field]\nusername = "noc"\npassword_env = "PW"\nport = 70000\n')
    with pytest.raises(ConfigError, match=r"ssh\.auth: field\.port: must be 1 or more and at most 65,535"):
        load_settings(config, env={}, cwd=tmp_path)


def test_a_crew_zone_name_fits_the_store_and_has_no_control_characters(tmp_path: Path):
    config = write(tmp_path / "x.toml", '[crew_zones.districts]\nTlalpan = "Sur\\u001b[2J"\n')
    with pytest.raises(ConfigError, match=r"crew_zones\.districts: 'Tlalpan' = .*without control characters"):
        load_settings(config, env={}, cwd=tmp_path)
    config = write(tmp_path / "y.toml", f'[crew_zones.sites]\nS1 = "{"z" * 101}"\n')
    with pytest.raises(ConfigError, match=r"crew_zones\.sites: 'S1' = .*1 to 100 characters"):
        load_settings(config, env={}, cwd=tmp_path)


def _numeric_fields(cls: type, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        args = typing.get_args(kind)
        if dataclasses.is_dataclass(kind):
            found += _numeric_fields(kind, f"{prefix}{f.name}.")
        elif typing.get_origin(kind) is dict and dataclasses.is_dataclass(args[1]):
            found += _numeric_fields(args[1], f"{prefix}{f.name}.NAME.")
        elif kind in (int, float) or (typing.get_origin(kind) is dict and args[1] in (int, float)):
            found.append((f"{prefix}{f.name}", f))
    return found


def test_every_numeric_setting_has_a_bounded_range_and_its_default_is_inside():
    """A setting added without a range fails here: give it `check=_between(low, high)`."""
    fields = _numeric_fields(Settings)
    assert len(fields) >= 40
    unbounded = [path for path, f in fields if not hasattr(f.metadata.get("check"), "bounds")]
    assert unbounded == []
    for path, f in fields:
        low, high, _ = f.metadata["check"].bounds
        assert math.isfinite(low) and math.isfinite(high) and low < high, path
        if f.default is not dataclasses.MISSING:
            assert f.metadata["check"](f.default) is None, path
        table = f.default is dataclasses.MISSING  # a name -> number table
        assert f.metadata["check"]({"x": high * 2 + 1} if table else high * 2 + 1), path


def test_the_largest_allowed_snmp_values_still_poll(cli, city):
    """What passes the check runs: the upper bounds of the SNMP engine's numbers, against the simulator."""
    write(cli.workdir / "hotspotctl.toml",
          f'data_dir = "{city.data_dir}"\n[snmp]\nreceive_buffer_bytes = {1 << 30}\nretries = 10\n'
          "max_in_flight = 100000\nmax_oids_per_get = 128\nport = 65535\ndeadline_s = 3600\n")
    result = cli("poll", "--once", "--format", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert len(rows) == 40 and all(row["ok"] for row in rows)


def test_config_show_masks_a_password_in_any_url(cli, monkeypatch: pytest.MonkeyPatch):
    """On 3854a6b `config show` printed influx.url's password (the logs already masked it)."""
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", "https://noc:influx-pw-123@influx.internal:8086")
    monkeypatch.setenv("HOTSPOTCTL_CREWS_WEBHOOK_URL", "https://bot:hook-pw-456@hooks.internal/crews")
    monkeypatch.setenv("HOTSPOTCTL_CREWS_OPEN311_URL", "https://city:o311-pw-789@311.internal/v2")
    table = cli("config", "show")
    document = cli("config", "show", "--format", "json")
    csv_out = cli("config", "show", "--format", "csv")
    for result in (table, document, csv_out):
        assert result.code == 0
        for secret in ("influx-pw-123", "hook-pw-456", "o311-pw-789"):
            assert secret not in result.out + result.err
    settings = json.loads(document.out)["settings"]
    assert settings["influx.url"] == "https://noc:***@influx.internal:8086"
    assert settings["crews.webhook.url"] == "https://bot:***@hooks.internal/crews"
    assert settings["crews.open311.url"] == "https://city:***@311.internal/v2"
    assert "https://noc:***@influx.internal:8086" in table.out


def test_the_city_time_zone_and_the_usual_clients_are_checked_at_load(tmp_path):
    loaded = load_settings(env={}, cwd=Path("/")).settings
    assert (loaded.timezone, str(loaded.tzinfo)) == ("America/Mexico_City", "America/Mexico_City")
    assert str(load_settings(env={"HOTSPOTCTL_TIMEZONE": "UTC"}, cwd=Path("/")).settings.tzinfo) == "UTC"
    for bad in ("Mars/Olympus_Mons", "", "../../etc/passwd"):
        with pytest.raises(ConfigError, match=r"env HOTSPOTCTL_TIMEZONE: timezone: .* is not a time zone this "
                                              r"machine knows; use an IANA name such as America/Mexico_City"):
            load_settings(env={"HOTSPOTCTL_TIMEZONE": bad}, cwd=Path("/"))
    config = write(tmp_path / "h.toml", "[crews]\nusual_clients = 12\nusual_clients_by_program = { Pilares = -1 }\n")
    with pytest.raises(ConfigError, match=r"crews.usual_clients_by_program: Pilares: must be 0 or more"):
        load_settings(config, env={}, cwd=Path("/"))
    with pytest.raises(ConfigError, match=r"crews.usual_clients: must be 0 or more"):
        load_settings(env={"HOTSPOTCTL_CREWS_USUAL_CLIENTS": "-3"}, cwd=Path("/"))


@pytest.mark.parametrize(("text", "variable", "instead"), [
    ("[crews.email]\nstarttls = false\n", "HOTSPOTCTL_CREWS_EMAIL_STARTTLS", 'crews.email.tls = "starttls" (or "none"'),
    ("[crews.email]\nssl = true\n", "HOTSPOTCTL_CREWS_EMAIL_SSL", 'crews.email.tls = "ssl"'),
])
def test_the_old_email_tls_booleans_are_refused_naming_the_tls_key(cli, text, variable, instead):
    """starttls + ssl (both true: ssl silently won) became one choice; an old key must not be ignored."""
    key = "crews.email." + variable.rsplit("_", 1)[1].lower()
    write(cli.workdir / "hotspotctl.toml", text)
    result = cli("inventory", "list")
    assert result.code == 3
    assert f"hotspotctl.toml: {key}: replaced by {instead}" in result.err
    (cli.workdir / "hotspotctl.toml").unlink()
    with pytest.raises(ConfigError, match=re.escape(f"env {variable}: {key}: replaced by {instead}")):
        load_settings(env={variable: "true"})


def test_email_tls_is_one_choice_with_starttls_by_default(tmp_path: Path):
    assert load_settings(env={}, cwd=tmp_path).settings.crews.email.tls == "starttls"
    assert load_settings(env={"HOTSPOTCTL_CREWS_EMAIL_TLS": "ssl"}, cwd=tmp_path).settings.crews.email.tls == "ssl"
    with pytest.raises(ConfigError, match=r"env HOTSPOTCTL_CREWS_EMAIL_TLS: crews\.email\.tls: 'yes' is not one of "
                                          r"starttls, ssl, none"):
        load_settings(env={"HOTSPOTCTL_CREWS_EMAIL_TLS": "yes"}, cwd=tmp_path)
