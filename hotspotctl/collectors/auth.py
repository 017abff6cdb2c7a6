"""Named SNMP and SSH credential sets, resolved to the secrets a request or a login needs.

Secrets come from the settings file or, better, from environment variables named there
(``community_env``); they are never logged or printed: ``repr`` of a Credentials hides them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

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


def _from_env(variable: str, env: Mapping[str, str], key: str) -> str:
    if variable not in env:
        raise ConfigError(f"{key}: environment variable {variable} is not set")
    return env[variable]


def resolve(name: str, sets: Mapping[str, SnmpAuth], env: Mapping[str, str] | None = None) -> Credentials:
    """The credential set ``name`` with its secrets read; ConfigError says which key to fix."""
    env = os.environ if env is None else env
    auth = _named("snmp", name, sets)

    def secret(inline: str, variable: str, key: str) -> str:
        return _from_env(variable, env, f"snmp.auth.{name}.{key}_env") if variable else inline

    if auth.version == "2c":
        community = secret(auth.community, auth.community_env, "community")
        write = secret(auth.write_community, auth.write_community_env, "write_community")
        return Credentials(name, "2c", community=community.encode(), write_community=write.encode())
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
        raise ConfigError(f"ssh.auth.{name}.key_file: {key_file} not found")
    return SshCredentials(name, auth.username, password, key_file, passphrase, auth.port)
