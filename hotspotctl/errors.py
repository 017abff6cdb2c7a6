"""The one error tree of hotspotctl and the exit codes the CLI maps it to.

Library code raises these (or returns values); only ``hotspotctl.cli`` turns
them into exit codes and prints them.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1  # a bug, or the user declined at a prompt
    USAGE = 2  # wrong flags or arguments
    INVALID = 3  # invalid input or config; nothing was written
    PARTIAL = 4  # finished, but some rows or APs failed; the output says which
    SINK_UNAVAILABLE = 5  # a sink was down; the data is kept in the spool


class HotspotError(Exception):
    """Root of every error hotspotctl raises on purpose.

    The message says what was wrong, where, and what to do about it.
    """

    exit_code = ExitCode.INTERNAL


class ConfigError(HotspotError):
    """Settings, profiles or store configuration that cannot be used."""

    exit_code = ExitCode.INVALID


class InputError(HotspotError):
    """A file or argument the user gave that cannot be used; nothing was written."""

    exit_code = ExitCode.INVALID


class NotFoundError(InputError):
    """A named thing (AP, site) that is not in the store."""


class ConflictError(HotspotError):
    """The store changed under a command that had planned against it; run it again."""

    exit_code = ExitCode.INVALID


class StoreError(HotspotError):
    """The state database could not be opened, migrated or written."""

    exit_code = ExitCode.INVALID


class PollErrorKind(StrEnum):
    """How reading an AP failed: a CollectError's and a PollError's ``kind``.

    The values are what the store, the JSON output and InfluxDB's ``error_kind`` field hold.
    ``collectors.model.failure_class`` says what each means for the AP (silent, unmonitored, misconfigured).
    """

    TIMEOUT = "timeout"  # no answer within the deadline
    SEND = "send"  # the network refused the send
    BACKOFF = "backoff"  # not tried: the AP waits out its back-off
    NO_ADDRESS = "no_address"  # no usable management address
    CONFIG = "config"  # no profile or credential set that applies
    NOT_DISCOVERED = "not_discovered"  # no layout to poll with
    AUTH = "auth"  # wrong community, v3 keys or login
    HOSTKEY = "hostkey"  # an SSH host key unknown or changed
    PROTOCOL = "protocol"  # a garbled or unexpected answer
    REFUSED = "refused"  # the connection was refused
    AGENT = "agent"  # the agent's own error (error-status)
    COMMAND = "command"  # the AP ran an action's command and said no
    REDISCOVER = "rediscover"  # the layout is gone: discover again
    # An AP read through its wireless controller (the inventory's ``controller`` column):
    NOT_JOINED = "not_joined"  # the controller lists it as not joined, or no longer lists it after it had answered
    NOT_LISTED = "not_listed"  # the controller has never listed it (its ap_name / ap_mac): fix the inventory
    CONTROLLER = "controller"  # its controller could not be read: the AP's own state is unknown
    # Evaluation's, never a poll's: SNMP was silent while the AP answered ping (an agent or credential problem)
    AGENT_SILENT = "agent_silent"


class CollectError(HotspotError):
    """A device could not be polled; ``kind`` says how: timeout, auth, protocol, no_address ..."""

    exit_code = ExitCode.PARTIAL

    def __init__(self, message: str, *, kind: PollErrorKind = PollErrorKind.PROTOCOL) -> None:
        super().__init__(message)
        self.kind = kind


class SinkError(HotspotError):
    """A sink (InfluxDB, SMTP, webhook) refused or could not be reached."""

    exit_code = ExitCode.SINK_UNAVAILABLE
