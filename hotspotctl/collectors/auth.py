"""Named SNMP and SSH credential sets, resolved to the secrets a request or a login needs.

Secrets come from the settings file or, better, from environment variables named there
(``community_env``); they are never logged or printed: ``repr`` of a Credentials hides them.

A secret that is missing (its variable unset, its key file gone) is a configuration error of the
whole command, not a fault of the APs: ``require_secrets`` checks every set the selected APs use
before anything is polled, so a service started without its environment stops at once (exit 3)
instead of reporting the fleet down.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from hotspotctl.errors import ConfigError
from hotspotctl.settings import SnmpAuth, SshAuth

DEFAULT_AUTH = "default"
A = TypeVar("A", SnmpAuth, SshAuth)


@dataclass(frozen=True)
class Credentials:
    name: str
    version: str  # "2c" | "3"
    community: bytes = field(default=b"", repr=False)
    write_community: bytes = field(default=b"", repr=False)  # v2c SETs (an SNMP reboot); v3 writes as ``user``
    user: str = ""
    auth_protocol: str = ""
    auth_password: str = field(default="", repr=False)
    priv_protocol: str = ""
    priv_password: str = field(default="", repr=False)
    write_problem: str = ""  # why there is no write community (its variable unset): said when a SET needs it

    @property
    def level(self) -> str:
        if self.version == "2c":
            return "v2c"
        if self.priv_protocol:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol else "noAuthNoPriv"


def for_writing(credentials: Credentials) -> Credentials:
    """The credentials a SET goes out with: v2c's write community, or the same v3 user."""
    if credentials.version != "2c":
        return credentials
    if credentials.write_problem:
        raise MissingSecret(credentials.write_problem)
    if not credentials.write_community:
        raise ConfigError(f"snmp.auth.{credentials.name}: an SNMP reboot is a SET, which needs write_community_env "
                          "(or write_community) in this v2c set")
    return replace(credentials, community=credentials.write_community)


def _named(section: str, name: str, sets: Mapping[str, A], keys: str = "") -> A:
    """The set ``[section.auth.name]``, or a ConfigError listing the defined ones."""
    try:
        return sets[name]
    except KeyError:
        known = ", ".join(sorted(sets)) or "none"
        raise ConfigError(f"{section}.auth.{name}: no such credential set (defined: {known}); add [{section}.auth."
                          f"{name}]{keys} to the settings file or fix the AP's {section}_auth") from None


class MissingSecret(ConfigError):
    """A credential set's secret is not there: its environment variable is unset, or its key file is gone."""


def _from_env(variable: str, env: Mapping[str, str], key: str) -> str:
    if variable not in env:
        raise MissingSecret(f"{key}: environment variable {variable} is not set")
    return env[variable]


def resolve(name: str, sets: Mapping[str, SnmpAuth], env: Mapping[str, str] | None = None) -> Credentials:
    """The credential set ``name`` with its secrets read; ConfigError says which key to fix."""
    env = os.environ if env is None else env
    auth = _named("snmp", name, sets)

    def secret(inline: str, variable: str, key: str) -> str:
        return _from_env(variable, env, f"snmp.auth.{name}.{key}_env") if variable else inline

    if auth.version == "2c":
        community = secret(auth.community, auth.community_env, "community")
        try:  # only an SNMP reboot writes: polling does not need the write community
            write, problem = secret(auth.write_community, auth.write_community_env, "write_community"), ""
        except MissingSecret as exc:
            write, problem = "", str(exc)
        return Credentials(name, "2c", community=community.encode(), write_community=write.encode(),
                           write_problem=problem)
    return Credentials(name, "3", user=auth.user, auth_protocol=auth.auth_protocol,
                       auth_password=secret(auth.auth_password, auth.auth_password_env, "auth_password"),
                       priv_protocol=auth.priv_protocol,
                       priv_password=secret(auth.priv_password, auth.priv_password_env, "priv_password"))


@dataclass(frozen=True)
class SshCredentials:
    name: str
    username: str
    password: str = field(default="", repr=False)
    key_file: str = ""
    passphrase: str = field(default="", repr=False)
    port: int = 22


def resolve_ssh(name: str, sets: Mapping[str, SshAuth], env: Mapping[str, str] | None = None) -> SshCredentials:
    """The SSH credential set ``name`` with its secrets read; ConfigError says which key to fix."""
    env = os.environ if env is None else env
    auth = _named("ssh", name, sets, " (username, and password_env or key_file)")
    password = _from_env(auth.password_env, env, f"ssh.auth.{name}.password_env") if auth.password_env \
        else auth.password
    passphrase = _from_env(auth.passphrase_env, env, f"ssh.auth.{name}.passphrase_env") if auth.passphrase_env \
        else ""
    key_file = os.path.expanduser(auth.key_file) if auth.key_file else ""
    if key_file and not os.path.isfile(key_file):
        raise MissingSecret(f"ssh.auth.{name}.key_file: {key_file} not found")
    return SshCredentials(name, auth.username, password, key_file, passphrase, auth.port)


class UsesCredentials(Protocol):
    """What require_secrets reads of an AP (models.access_points.AccessPoint has it)."""

    @property
    def id(self) -> str: ...
    @property
    def collector(self) -> str | None: ...
    @property
    def snmp_auth(self) -> str | None: ...
    @property
    def ssh_auth(self) -> str | None: ...


def require_secrets(aps: Iterable[UsesCredentials], snmp: Mapping[str, SnmpAuth], ssh: Mapping[str, SshAuth],
                    env: Mapping[str, str] | None = None) -> None:
    """A ConfigError naming every credential set these APs are polled with whose secret is missing.

    An AP polled over SSH (collector ssh) uses its ssh_auth set, any other its snmp_auth set ("default"
    when empty). Sets no AP here uses are not required; a set that is not defined at all is left to each
    AP's own error (its poll says which set to add). Call it before polling anything.
    """
    env = os.environ if env is None else env
    users: dict[tuple[str, str], list[str]] = {}
    for ap in aps:
        key = ("ssh", ap.ssh_auth or DEFAULT_AUTH) if ap.collector == "ssh" else ("snmp", ap.snmp_auth or DEFAULT_AUTH)
        users.setdefault(key, []).append(ap.id)
    problems = []
    for (section, name), ids in sorted(users.items()):
        try:
            if section == "snmp" and name in snmp:
                resolve(name, snmp, env)
            elif section == "ssh" and name in ssh:
                resolve_ssh(name, ssh, env)
        except MissingSecret as exc:
            some = ", ".join(ids[:3]) + (" ..." if len(ids) > 3 else "")
            problems.append(f"{exc} (credential set {section}.auth.{name}, used by {len(ids):,} of the selected APs: "
                            f"{some})")
    if problems:
        raise MissingSecret("; ".join(problems) + "; nothing was polled: set it in the environment hotspotctl runs "
                            "in (systemd: Environment= or EnvironmentFile=), or fix the set in the settings file")
