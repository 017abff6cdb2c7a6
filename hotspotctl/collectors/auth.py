"""Named SNMP and SSH credential sets, resolved to the secrets a request or a login needs.

Secrets come from the settings file or, better, from environment variables named there
(``community_env``); they are never logged or printed: ``repr`` of a Credentials hides them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from hotspotctl.errors import ConfigError
from hotspotctl.settings import SnmpAuth, SshAuth

DEFAULT_AUTH = "default"


@dataclass(frozen=True)
class Credentials:
    name: str
    version: str  # "2c" | "3"
    community: bytes = field(default=b"", repr=False)
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


def resolve(name: str, sets: Mapping[str, SnmpAuth], env: Mapping[str, str] | None = None) -> Credentials:
    """The credential set ``name`` with its secrets read; ConfigError says which key to fix."""
    env = os.environ if env is None else env
    try:
        auth = sets[name]
    except KeyError:
        known = ", ".join(sorted(sets)) or "none"
        raise ConfigError(f"snmp.auth.{name}: no such credential set (defined: {known}); add "
                          f"[snmp.auth.{name}] to the settings file or fix the AP's snmp_auth") from None

    def secret(inline: str, variable: str, key: str) -> str:
        if variable:
            if variable not in env:
                raise ConfigError(f"snmp.auth.{name}.{key}_env: environment variable {variable} is not set")
            return env[variable]
        return inline

    if auth.version == "2c":
        community = secret(auth.community, auth.community_env, "community")
        return Credentials(name, "2c", community=community.encode())
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
    try:
        auth = sets[name]
    except KeyError:
        known = ", ".join(sorted(sets)) or "none"
        raise ConfigError(f"ssh.auth.{name}: no such credential set (defined: {known}); add [ssh.auth.{name}] "
                          "(username, and password_env or key_file) to the settings file, or fix the AP's "
                          "ssh_auth") from None
    password = auth.password
    if auth.password_env:
        if auth.password_env not in env:
            raise ConfigError(f"ssh.auth.{name}.password_env: environment variable {auth.password_env} is not set")
        password = env[auth.password_env]
    passphrase = ""
    if auth.passphrase_env:
        if auth.passphrase_env not in env:
            raise ConfigError(f"ssh.auth.{name}.passphrase_env: environment variable {auth.passphrase_env} "
                              "is not set")
        passphrase = env[auth.passphrase_env]
    key_file = os.path.expanduser(auth.key_file) if auth.key_file else ""
    if key_file and not os.path.isfile(key_file):
        raise ConfigError(f"ssh.auth.{name}.key_file: {key_file} not found")
    return SshCredentials(name, auth.username, password, key_file, passphrase, auth.port)
