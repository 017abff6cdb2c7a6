"""Grafana provisioning for a Grafana install, filled from hotspotctl's settings: ``export(DIR, influx)``.

What it writes (the same layout as the repository's grafana/ folder)::

    DIR/provisioning/datasources/hotspotctl.yaml   the InfluxDB datasource (uid hotspotctl-influxdb), InfluxQL
    DIR/provisioning/dashboards/hotspotctl.yaml    a file provider reading DIR/dashboards into folder "hotspotctl"
    DIR/provisioning/alerting/hotspotctl.yaml      the NOC's alert rules (grafana/alerting.py), for the poll
                                                   interval of the settings
    DIR/dashboards/*.json                          the shipped dashboards, drawn for the settings' per-user
                                                   target (grafana/targets.py), checked first

The datasource reads with InfluxQL, so one set of dashboards serves InfluxDB 1.x (``influx.api = "v1"``:
database, user) and 2.x/3.x (``"v2"``: the same database name through a DBRP mapping, and an
``Authorization: Token`` header). Secrets never go into the files: the password or token is written as a
reference, ``$HOTSPOTCTL_INFLUX_PASSWORD`` or ``Token $HOTSPOTCTL_INFLUX_TOKEN``, that Grafana replaces from
its own environment when it loads the file (provisioning's environment variable interpolation). Any other
``$`` in a value is written ``$$``, Grafana's escape, so that a database or user name is taken literally.

The YAML is written from a template rather than dumped, to keep its comments; every value is a JSON
string, which YAML reads as the same double-quoted scalar.

Nothing is half-written: the files go to a temporary folder beside DIR, which is then renamed into place.
An existing DIR is replaced only with ``force``, and only when it holds nothing but a previous export.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hotspotctl.errors import ConfigError, InputError
from hotspotctl.grafana.alerting import render_rules
from hotspotctl.grafana.dashboards import (
    DATASOURCE_NAME,
    DATASOURCE_TYPE,
    DATASOURCE_UID,
    Dashboard,
    check,
    check_folder,
    shipped_dashboards_dir,
)
from hotspotctl.grafana.targets import Targets, apply_targets
from hotspotctl.settings import InfluxSettings, env_name

DEFAULT_URL = "http://127.0.0.1:8086"
FOLDER = "hotspotctl"
PASSWORD_ENV = env_name("influx.password")  # HOTSPOTCTL_INFLUX_PASSWORD
TOKEN_ENV = env_name("influx.token")  # HOTSPOTCTL_INFLUX_TOKEN
DATASOURCE_FILE = Path("provisioning") / "datasources" / "hotspotctl.yaml"
PROVIDER_FILE = Path("provisioning") / "dashboards" / "hotspotctl.yaml"
ALERTING_FILE = Path("provisioning") / "alerting" / "hotspotctl.yaml"
DASHBOARDS_DIR = Path("dashboards")
_EXPORT_ENTRIES = {"provisioning", "dashboards"}  # what a previous export holds at its top level


@dataclass(frozen=True)
class ExportReport:
    """What ``export`` wrote, where the datasource points, and what Grafana needs from its environment."""

    directory: Path
    files: tuple[str, ...]  # relative to directory
    url: str
    database: str
    api: str
    auth: str  # "none", "user NAME, password from $VAR" or "token from $VAR"
    environment: tuple[str, ...]  # variables grafana-server must have
    replaced: bool
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "files": list(self.files), "datasource": {
            "uid": DATASOURCE_UID, "url": self.url, "database": self.database, "api": self.api, "auth": self.auth},
            "grafana_environment": list(self.environment), "replaced": self.replaced,
            "notes": list(self.notes)}


def _literal(value: str) -> str:
    """A provisioning value taken as written: ``$`` doubled (Grafana interpolates ``$NAME``), as a YAML string."""
    return json.dumps(value.replace("$", "$$"))


def _reference(template: str) -> str:
    """A provisioning value that Grafana fills from its environment (``$NAME`` left as is), as a YAML string."""
    return json.dumps(template)


def datasource_url(influx: InfluxSettings) -> tuple[str, list[str]]:
    """The URL Grafana should use, without any user or password in it, and warnings about what was changed."""
    warnings = []
    url = influx.url or DEFAULT_URL
    if not influx.url:
        warnings.append(f"influx.url is empty: the datasource points at {DEFAULT_URL}; set influx.url "
                        f"({env_name('influx.url')}) to where InfluxDB runs")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        host = parts.hostname or ""
        url = urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))
        warnings.append("influx.url carries credentials; they were left out of the datasource: use influx.username "
                        f"and {PASSWORD_ENV} (1.x) or {TOKEN_ENV} (2.x, 3.x) instead")
    return url.rstrip("/"), warnings


def render_datasource(influx: InfluxSettings, *, min_interval_s: float = 60.0) -> str:
    """provisioning/datasources/hotspotctl.yaml for these settings; no secret in it, only references."""
    url, _ = datasource_url(influx)
    interval = f"{max(1, round(min_interval_s))}s"
    lines = [
        "# hotspotctl's InfluxDB for Grafana, read with InfluxQL: InfluxDB 1.x directly, 2.x and 3.x through a",
        "# DBRP mapping of the database to the bucket. `hotspotctl grafana export DIR` writes this from hotspotctl's",
        "# settings (influx.*); the dashboards find the datasource by its uid.",
    ]
    if influx.api == "v1" and influx.username:
        lines.append(f"# The password is not in this file: Grafana reads ${PASSWORD_ENV} from its own environment.")
    elif influx.api != "v1":
        lines.append(f"# The token is not in this file: Grafana reads ${TOKEN_ENV} from its own environment.")
    lines += [
        "apiVersion: 1",
        "datasources:",
        f"  - name: {json.dumps(DATASOURCE_NAME)}",
        f"    uid: {json.dumps(DATASOURCE_UID)}",
        f"    type: {DATASOURCE_TYPE}",
        "    access: proxy",
        f"    url: {_literal(url)}",
        f"    database: {_literal(influx.database)}  # older Grafana reads this; 10 and 11 prefer jsonData.dbName",
    ]
    if influx.api == "v1" and influx.username:
        lines.append(f"    user: {_literal(influx.username)}")
    lines += [
        "    editable: false",
        "    jsonData:",
        "      version: InfluxQL",
        f"      dbName: {_literal(influx.database)}",
        "      httpMode: POST",
        f"      timeInterval: {json.dumps(interval)}  # the poll interval: no panel groups finer than the data",
    ]
    if influx.api == "v1":
        if influx.username:
            lines += ["    secureJsonData:", f"      password: {_reference('$' + PASSWORD_ENV)}"]
    else:
        lines += ["      httpHeaderName1: \"Authorization\"",
                  "    secureJsonData:",
                  f"      httpHeaderValue1: {_reference('Token $' + TOKEN_ENV)}"]
    return "\n".join(lines) + "\n"


def render_provider(dashboards_path: str) -> str:
    """provisioning/dashboards/hotspotctl.yaml: Grafana loads every dashboard in ``dashboards_path``."""
    return "\n".join([
        "# The hotspotctl dashboards, loaded from their JSON files into the Grafana folder \"hotspotctl\" (read-only",
        "# there: change the files instead). `hotspotctl grafana export DIR` writes this with path DIR/dashboards.",
        "apiVersion: 1",
        "providers:",
        f"  - name: {json.dumps(FOLDER)}",
        "    orgId: 1",
        f"    folder: {json.dumps(FOLDER)}",
        f"    folderUid: {json.dumps(FOLDER)}",
        "    type: file",
        "    disableDeletion: true",
        "    allowUiUpdates: false",
        "    updateIntervalSeconds: 60",
        "    options:",
        f"      path: {_literal(dashboards_path)}",
        "      foldersFromFilesStructure: false",
    ]) + "\n"


def _auth(influx: InfluxSettings) -> tuple[str, tuple[str, ...]]:
    if influx.api == "v1":
        if influx.username:
            return f"user {influx.username}, password from ${PASSWORD_ENV}", (PASSWORD_ENV,)
        return "none", ()
    return f"token from ${TOKEN_ENV}", (TOKEN_ENV,)


def _notes(influx: InfluxSettings) -> list[str]:
    """What the operator must do or know besides copying the files."""
    _, warnings = datasource_url(influx)
    if influx.retention_policy:
        warnings.append(f"influx.retention_policy is {influx.retention_policy!r}: the dashboards read the database's "
                        "default retention policy; make it the default (ALTER RETENTION POLICY "
                        f"\"{influx.retention_policy}\" ON \"{influx.database}\" DEFAULT)")
    if influx.api != "v1":
        warnings.append(f"InfluxDB 2.x/3.x: Grafana reads InfluxQL through a DBRP mapping named {influx.database!r}; "
                        f"create it once (2.x: influx v1 dbrp create --db {influx.database} --rp autogen "
                        f"--bucket-id <id of bucket {influx.bucket}> --default); see grafana/README.md")
    return warnings


def _previous_export(directory: Path) -> bool:
    """Whether ``directory`` holds only what an export writes (so --force may replace it)."""
    entries = {p.name for p in directory.iterdir()}
    if not entries <= _EXPORT_ENTRIES:
        return False
    provisioning = directory / "provisioning"
    kinds = {"datasources", "dashboards", "alerting"}
    return not provisioning.exists() or {p.name for p in provisioning.iterdir()} <= kinds


def export(directory: Path, influx: InfluxSettings, *, min_interval_s: float = 60.0, force: bool = False,
           dashboards: Path | None = None, targets: Targets | None = None,
           programs: dict[str, str] | None = None) -> ExportReport:
    """Write provisioning for a Grafana install into ``directory``: all of it, or (on any error) nothing.

    ``dashboards`` is the folder of dashboard JSON to ship (default: hotspotctl's own); they are drawn
    for ``targets`` (the settings' per-user target and programme targets; ``programs`` spells the
    programmes as the inventory does), checked, and a problem stops the export (ConfigError, nothing
    written).
    """
    directory = Path(directory).absolute()
    source = shipped_dashboards_dir() if dashboards is None else Path(dashboards)
    found, problems = check_folder(source)
    drawn: list[Dashboard] = []
    if not problems:
        targets = targets or Targets()
        drawn = [Dashboard(d.path, apply_targets(d.model, targets, programs=programs)) for d in found]
        problems = check(drawn)
    if problems:
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ConfigError(f"the dashboards in {source} have problems, nothing was written: {shown}{more}; "
                          "`hotspotctl grafana check` lists them all")
    replaced = False
    if directory.exists():
        if not directory.is_dir():
            raise InputError(f"{directory}: exists and is not a folder; give a new or empty folder")
        if any(directory.iterdir()):
            if not force:
                raise InputError(f"{directory}: exists and is not empty; nothing was written. --force replaces a "
                                 "previous export there, or give a new folder")
            if not _previous_export(directory):
                raise InputError(f"{directory}: holds files that `hotspotctl grafana export` did not write "
                                 f"({', '.join(sorted(p.name for p in directory.iterdir()))}); --force only replaces "
                                 "a previous export. Give a new or empty folder")
            replaced = True
    if not directory.parent.is_dir():
        raise InputError(f"{directory}: its parent folder {directory.parent} does not exist")

    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    files: list[str] = []
    try:
        _write(tmp / DATASOURCE_FILE, render_datasource(influx, min_interval_s=min_interval_s))
        _write(tmp / PROVIDER_FILE, render_provider(str(directory / DASHBOARDS_DIR)))
        _write(tmp / ALERTING_FILE, render_rules(min_interval_s))
        files += [str(DATASOURCE_FILE), str(PROVIDER_FILE), str(ALERTING_FILE)]
        for shipped, dashboard in zip(found, drawn, strict=True):
            # as shipped when the settings are the ones it was written for; else the drawn model
            text = (shipped.path.read_text(encoding="utf-8") if dashboard.model == shipped.model
                    else json.dumps(dashboard.model, ensure_ascii=False, indent=2) + "\n")
            _write(tmp / DASHBOARDS_DIR / dashboard.path.name, text)
            files.append(str(DASHBOARDS_DIR / dashboard.path.name))
        _swap(tmp, directory)
    except OSError as exc:
        raise InputError(f"{directory}: could not write the export ({exc.strerror or exc}); nothing was changed"
                         ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    url, _ = datasource_url(influx)
    auth, environment = _auth(influx)
    return ExportReport(directory, tuple(files), url, influx.database, influx.api, auth, environment, replaced,
                        tuple(_notes(influx)))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _swap(tmp: Path, directory: Path) -> None:
    """Put ``tmp`` where ``directory`` is: one rename when it is new or empty, else old aside, new in, old gone."""
    if directory.exists() and not any(directory.iterdir()):
        directory.rmdir()
    if not directory.exists():
        os.replace(tmp, directory)
        return
    old = directory.parent / f".{directory.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
    os.replace(directory, old)
    try:
        os.replace(tmp, directory)
    except OSError:
        os.replace(old, directory)  # put the previous export back
        raise
    shutil.rmtree(old, ignore_errors=True)


