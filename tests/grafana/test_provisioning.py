"""grafana export: provisioning filled from settings, no secret in any file, all files or none."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from hotspotctl.errors import ConfigError, InputError
from hotspotctl.grafana import provisioning
from hotspotctl.grafana.dashboards import shipped_dashboards_dir, shipped_dir
from hotspotctl.grafana.provisioning import export, render_datasource, render_provider
from hotspotctl.settings import InfluxSettings, load_settings

TOKEN = "tok-4f1c9a7e2b-SECRET"
PASSWORD = "pa$$w0rd-SECRET"
FILES = ["provisioning/datasources/hotspotctl.yaml", "provisioning/dashboards/hotspotctl.yaml",
         "provisioning/alerting/hotspotctl.yaml",
         "dashboards/district.json", "dashboards/fleet.json", "dashboards/hotspot.json", "dashboards/poller.json",
         "dashboards/rf.json"]


def _influx(**env: str) -> InfluxSettings:
    """Settings as hotspotctl loads them from HOTSPOTCTL_* variables (the secrets included)."""
    return load_settings(env=env, cwd=Path("/nonexistent")).settings.influx


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def _datasource(directory: Path) -> dict:
    document = yaml.safe_load((directory / "provisioning/datasources/hotspotctl.yaml").read_text())
    assert document["apiVersion"] == 1
    (datasource,) = document["datasources"]
    return datasource


def test_v2_token_is_a_reference_to_grafanas_environment(tmp_path: Path) -> None:
    influx = _influx(HOTSPOTCTL_INFLUX_URL="https://influx.noc.cdmx:8086/", HOTSPOTCTL_INFLUX_TOKEN=TOKEN,
                     HOTSPOTCTL_INFLUX_ORG="ada", HOTSPOTCTL_INFLUX_BUCKET="wifi")
    assert influx.token == TOKEN  # hotspotctl has it; the files must not
    report = export(tmp_path / "out", influx, min_interval_s=20)
    out = tmp_path / "out"
    assert sorted(report.files) == sorted(FILES) and _files(out) == sorted(FILES)
    assert _datasource(out) == {
        "name": "hotspotctl InfluxDB", "uid": "hotspotctl-influxdb", "type": "influxdb", "access": "proxy",
        "url": "https://influx.noc.cdmx:8086", "database": "hotspotctl", "editable": False,
        "jsonData": {"version": "InfluxQL", "dbName": "hotspotctl", "httpMode": "POST", "timeInterval": "20s",
                     "httpHeaderName1": "Authorization"},
        "secureJsonData": {"httpHeaderValue1": "Token $HOTSPOTCTL_INFLUX_TOKEN"}}
    assert (report.url, report.database, report.api, report.auth, report.environment, report.replaced) == (
        "https://influx.noc.cdmx:8086", "hotspotctl", "v2", "token from $HOTSPOTCTL_INFLUX_TOKEN",
        ("HOTSPOTCTL_INFLUX_TOKEN",), False)
    assert report.notes == (
        "InfluxDB 2.x/3.x: Grafana reads InfluxQL through a DBRP mapping named 'hotspotctl'; create it once (2.x: "
        "influx v1 dbrp create --db hotspotctl --rp autogen --bucket-id <id of bucket wifi> --default); see "
        "grafana/README.md",)
    for name in FILES:
        assert TOKEN not in (out / name).read_text()


def test_the_provider_loads_the_exported_dashboards_into_their_folder(tmp_path: Path) -> None:
    export(tmp_path / "out", InfluxSettings())
    provider = yaml.safe_load((tmp_path / "out/provisioning/dashboards/hotspotctl.yaml").read_text())
    assert provider == {"apiVersion": 1, "providers": [{
        "name": "hotspotctl", "orgId": 1, "folder": "hotspotctl", "folderUid": "hotspotctl", "type": "file",
        "disableDeletion": True, "allowUiUpdates": False, "updateIntervalSeconds": 60,
        "options": {"path": str(tmp_path / "out" / "dashboards"), "foldersFromFilesStructure": False}}]}
    for name in ("district.json", "fleet.json", "hotspot.json", "poller.json", "rf.json"):
        assert (tmp_path / "out/dashboards" / name).read_bytes() == (shipped_dashboards_dir() / name).read_bytes()


def test_v1_user_and_password_reference(tmp_path: Path) -> None:
    influx = _influx(HOTSPOTCTL_INFLUX_API="v1", HOTSPOTCTL_INFLUX_URL="http://127.0.0.1:8086",
                     HOTSPOTCTL_INFLUX_DATABASE="wifi_cdmx", HOTSPOTCTL_INFLUX_USERNAME="grafana",
                     HOTSPOTCTL_INFLUX_PASSWORD=PASSWORD)
    report = export(tmp_path / "out", influx)
    assert _datasource(tmp_path / "out") == {
        "name": "hotspotctl InfluxDB", "uid": "hotspotctl-influxdb", "type": "influxdb", "access": "proxy",
        "url": "http://127.0.0.1:8086", "database": "wifi_cdmx", "user": "grafana", "editable": False,
        "jsonData": {"version": "InfluxQL", "dbName": "wifi_cdmx", "httpMode": "POST", "timeInterval": "60s"},
        "secureJsonData": {"password": "$HOTSPOTCTL_INFLUX_PASSWORD"}}
    assert (report.auth, report.environment, report.notes) == (
        "user grafana, password from $HOTSPOTCTL_INFLUX_PASSWORD", ("HOTSPOTCTL_INFLUX_PASSWORD",), ())
    for name in FILES:
        assert PASSWORD not in (tmp_path / "out" / name).read_text()


def test_v1_without_auth_has_no_secure_fields(tmp_path: Path) -> None:
    export(tmp_path / "out", InfluxSettings(url="http://influx:8086", api="v1"))
    datasource = _datasource(tmp_path / "out")
    assert "user" not in datasource and "secureJsonData" not in datasource
    assert datasource["jsonData"] == {"version": "InfluxQL", "dbName": "hotspotctl", "httpMode": "POST",
                                      "timeInterval": "60s"}


def test_dollars_in_values_are_escaped_and_credentials_in_the_url_left_out(tmp_path: Path) -> None:
    influx = InfluxSettings(url="http://admin:hunter2@influx:8086", api="v1", database="wifi$prod",
                            username="graf$ana", retention_policy="ninety_days")
    report = export(tmp_path / "out", influx)
    text = (tmp_path / "out/provisioning/datasources/hotspotctl.yaml").read_text()
    assert 'database: "wifi$$prod"' in text and 'user: "graf$$ana"' in text and "hunter2" not in text
    assert _datasource(tmp_path / "out")["url"] == "http://influx:8086"
    assert report.notes == (
        "influx.url carries credentials; they were left out of the datasource: use influx.username and "
        "HOTSPOTCTL_INFLUX_PASSWORD (1.x) or HOTSPOTCTL_INFLUX_TOKEN (2.x, 3.x) instead",
        "influx.retention_policy is 'ninety_days': the dashboards read the database's default retention policy; "
        "make it the default (ALTER RETENTION POLICY \"ninety_days\" ON \"wifi$prod\" DEFAULT)")


def test_the_shipped_provisioning_is_what_export_writes_for_the_defaults() -> None:
    """grafana/provisioning/ (the data folder) and its code twin never drift apart."""
    assert (shipped_dir() / "provisioning/datasources/hotspotctl.yaml").read_text() == \
        render_datasource(InfluxSettings())
    assert (shipped_dir() / "provisioning/dashboards/hotspotctl.yaml").read_text() == \
        render_provider("/var/lib/grafana/dashboards/hotspotctl")


def test_an_existing_folder_is_kept_unless_forced_and_only_a_previous_export_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(out, InfluxSettings(url="http://first:8086"))
    with pytest.raises(InputError, match=r"out: exists and is not empty; nothing was written\. --force replaces"):
        export(out, InfluxSettings(url="http://second:8086"))
    assert _datasource(out)["url"] == "http://first:8086"
    report = export(out, InfluxSettings(url="http://second:8086"), force=True)
    assert report.replaced and _datasource(out)["url"] == "http://second:8086" and _files(out) == sorted(FILES)

    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (elsewhere / "passwd").write_text("root:x:0:0\n")
    with pytest.raises(InputError, match=r"holds files that `hotspotctl grafana export` did not write \(passwd\)"):
        export(elsewhere, InfluxSettings(), force=True)
    assert _files(elsewhere) == ["passwd"]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert not export(empty, InfluxSettings()).replaced and _files(empty) == sorted(FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "etc", "out"]  # no temporary folder left


def test_a_failure_halfway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = provisioning._write
    written: list[Path] = []

    def failing(path: Path, text: str) -> None:
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        written.append(path)
        real_write(path, text)

    monkeypatch.setattr(provisioning, "_write", failing)
    with pytest.raises(InputError, match=r"out: could not write the export \(No space left on device\); nothing "
                                         r"was changed"):
        export(tmp_path / "out", InfluxSettings())
    assert list(tmp_path.iterdir()) == []
    # and over a previous export, the previous one stays whole
    monkeypatch.setattr(provisioning, "_write", real_write)
    export(tmp_path / "out", InfluxSettings(url="http://first:8086"))
    written.clear()
    monkeypatch.setattr(provisioning, "_write", failing)
    with pytest.raises(InputError):
        export(tmp_path / "out", InfluxSettings(url="http://second:8086"), force=True)
    assert _datasource(tmp_path / "out")["url"] == "http://first:8086" and _files(tmp_path / "out") == sorted(FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_broken_dashboards_stop_the_export(tmp_path: Path) -> None:
    source = tmp_path / "mine"
    shutil.copytree(shipped_dashboards_dir(), source)
    (source / "fleet.json").write_text((source / "fleet.json").read_text().replace('"uid": "hotspotctl-fleet"',
                                                                                   '"uid": "hotspotctl-poller"'))
    with pytest.raises(ConfigError, match=r"the dashboards in .*mine have problems, nothing was written: poller\.json: "
                                          r"uid: 'hotspotctl-poller' is also the uid of fleet\.json"):
        export(tmp_path / "out", InfluxSettings(), dashboards=source)
    assert not (tmp_path / "out").exists()


def test_a_missing_parent_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"its parent folder .*/no/such does not exist"):
        export(tmp_path / "no" / "such" / "out", replace(InfluxSettings(), url="http://x:8086"))
