"""hotspotctl grafana export / check as users run them: output, formats, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from hotspotctl.grafana.alerting import check_rules, rules_document
from hotspotctl.grafana.dashboards import shipped_dashboards_dir
from tests.servers import free_port

SECRET = "tok-9d8e7f-SECRET"


def test_help_has_examples(cli) -> None:
    for command in (("grafana", "export", "--help"), ("grafana", "check", "--help")):
        result = cli(*command)
        assert result.code == 0 and "Examples:" in result.out
    assert "hotspotctl grafana check --live --range 1h" in cli("grafana", "check", "--help").out
    assert "export" in cli("grafana", "--help").out


def test_check_the_shipped_dashboards(cli) -> None:
    result = cli("grafana", "check")
    assert (result.code, result.out) == (0, "")
    assert result.err.startswith("5 dashboards OK in ") and result.err.endswith(
        "(shipped): 70 panels, 80 queries (hotspotctl-district, hotspotctl-fleet, hotspotctl-hotspot, "
        "hotspotctl-poller, hotspotctl-rf)\n8 alert rules OK in "
        f"{shipped_dashboards_dir().parent / 'provisioning' / 'alerting' / 'hotspotctl.yaml'}\n")
    document = json.loads(cli("grafana", "check", "--format", "json").out)
    assert (document["ok"], document["problems"]) == (True, [])
    assert document["alert_rules"]["rules"] == [
        "hotspotctl-cycle-lag", "hotspotctl-cycles-missed", "hotspotctl-cycles-missing", "hotspotctl-spool-growing",
        "hotspotctl-influxdb-away", "hotspotctl-shards-missed", "hotspotctl-fleet-availability",
        "hotspotctl-open-outages"]
    assert [(d["uid"], d["panels"], d["queries"], d["variables"]) for d in document["dashboards"]] == [
        ("hotspotctl-district", 10, 12, ["district", "program"]), ("hotspotctl-fleet", 18, 18, []),
        ("hotspotctl-hotspot", 23, 26, ["district", "program", "ap"]), ("hotspotctl-poller", 9, 12, []),
        ("hotspotctl-rf", 10, 12, ["district", "program"])]


def test_check_a_broken_folder_lists_every_problem_and_exits_3(cli, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    shutil.copytree(shipped_dashboards_dir(), mine)
    poller = mine / "poller.json"
    poller.write_text(poller.read_text().replace("$timeFilter GROUP BY", "$timeFilter AND \\\"host\\\" =~ /^$host$/ "
                                                                         "GROUP BY", 1))
    (mine / "notes.json").write_text("not json")
    result = cli("grafana", "check", mine, "--format", "json")
    assert result.code == 3
    document = json.loads(result.out)
    assert document["ok"] is False
    assert document["problems"] == [
        {"file": "notes.json", "path": "", "message": "not valid JSON (line 1, column 1): Expecting value"},
        {"file": "poller.json", "path": "panels[0].targets[0].query",
         "message": "'Last cycle took', A: $host is not a variable of this dashboard (defined: none; built-ins: "
                    "$timeFilter, $__interval, $interval, $__interval_ms, $__from, $__to); Grafana would send it "
                    "as written"}]
    table = cli("grafana", "check", mine)
    assert table.code == 3 and "poller.json" in table.out and "$host is not a variable" in table.out
    assert table.err == f"error: 2 problems in 2 dashboard files ({mine})\n"


def test_export_writes_provisioning_and_says_where_the_secret_comes_from(cli, monkeypatch) -> None:
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", "http://influx.noc:8086")
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_TOKEN", SECRET)
    monkeypatch.setenv("HOTSPOTCTL_SCHEDULE_INTERVAL_S", "30")
    result = cli("grafana", "export", "out")
    out = cli.workdir / "out"
    assert (result.code, result.out) == (0, "")
    assert result.err.splitlines() == [
        f"wrote 8 files to {out}: the datasource, the dashboards provider, 5 dashboards and the alert rules",
        "datasource hotspotctl-influxdb: InfluxQL at http://influx.noc:8086, database hotspotctl; auth: token from "
        "$HOTSPOTCTL_INFLUX_TOKEN",
        "secrets: none in these files. grafana-server must have HOTSPOTCTL_INFLUX_TOKEN in its environment (e.g. "
        "`systemctl edit grafana-server`: [Service] Environment=HOTSPOTCTL_INFLUX_TOKEN=...)",
        f"next: point Grafana's [paths] provisioning (GF_PATHS_PROVISIONING) at {out / 'provisioning'}, or copy its "
        "three hotspotctl.yaml files into /etc/grafana/provisioning/, and restart Grafana",
        "note: InfluxDB 2.x/3.x: Grafana reads InfluxQL through a DBRP mapping named 'hotspotctl'; create it once "
        "(2.x: influx v1 dbrp create --db hotspotctl --rp autogen --bucket-id <id of bucket hotspotctl> --default); "
        "see grafana/README.md",
    ]
    datasource = yaml.safe_load((out / "provisioning/datasources/hotspotctl.yaml").read_text())["datasources"][0]
    assert datasource["jsonData"]["timeInterval"] == "30s"
    alerting = yaml.safe_load((out / "provisioning/alerting/hotspotctl.yaml").read_text())
    assert check_rules(alerting) == [] and alerting == rules_document(30.0)  # for the settings' 30 s interval
    (missing,) = [r for g in alerting["groups"] for r in g["rules"] if r["uid"] == "hotspotctl-cycles-missing"]
    assert missing["data"][0]["relativeTimeRange"] == {"from": 90, "to": 0}  # 3 intervals of 30 s
    assert datasource["secureJsonData"] == {"httpHeaderValue1": "Token $HOTSPOTCTL_INFLUX_TOKEN"}
    for path in out.rglob("*"):
        assert not path.is_file() or SECRET not in path.read_text()

    again = cli("grafana", "export", "out")
    assert again.code == 3 and again.err == (
        f"error: {out}: exists and is not empty; nothing was written. --force replaces a previous export there, or "
        "give a new folder\n")
    forced = cli("grafana", "export", "out", "--force", "--format", "json")
    assert forced.code == 0 and SECRET not in forced.out + forced.err
    document = json.loads(forced.out)
    assert document["replaced"] is True and document["grafana_environment"] == ["HOTSPOTCTL_INFLUX_TOKEN"]
    assert document["datasource"] == {"uid": "hotspotctl-influxdb", "url": "http://influx.noc:8086",
                                      "database": "hotspotctl", "api": "v2",
                                      "auth": "token from $HOTSPOTCTL_INFLUX_TOKEN"}
    assert sorted(document["files"]) == [
        "dashboards/district.json", "dashboards/fleet.json", "dashboards/hotspot.json", "dashboards/poller.json",
        "dashboards/rf.json",
        "provisioning/alerting/hotspotctl.yaml", "provisioning/dashboards/hotspotctl.yaml",
        "provisioning/datasources/hotspotctl.yaml"]


def test_live_needs_an_influxdb_and_says_when_it_is_away(cli, monkeypatch) -> None:
    nothing = cli("grafana", "check", "--live")
    assert nothing.code == 3 and nothing.err.startswith("error: no InfluxDB configured: set influx.url")
    port = free_port()  # nobody listens there
    monkeypatch.setenv("HOTSPOTCTL_INFLUX_URL", f"http://127.0.0.1:{port}")
    away = cli("grafana", "check", "--live")
    assert away.code == 5
    assert away.err.startswith(f"error: cannot reach InfluxDB http://127.0.0.1:{port} (database hotspotctl): ")
    assert away.err.endswith("is it running, and is influx.url right?\n")


def test_usage_errors(cli) -> None:
    assert cli("grafana", "check", "--live", "--range", "6x").code == 2
    bad_var = cli("grafana", "check", "--live", "--var", "district")
    assert bad_var.code == 2 and "write NAME=VALUE, e.g. district=Tlalpan" in bad_var.err
    assert cli("grafana", "export").code == 2
