"""Which of the selected APs an action can reach, how (SSH, or SNMP for a reboot), and why the others cannot."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass

from hotspotctl.collectors.auth import DEFAULT_AUTH, Credentials, MissingSecret, for_writing, resolve
from hotspotctl.collectors.oids import format_oid
from hotspotctl.collectors.profiles import Profile, ProfileSet
from hotspotctl.collectors.ssh import DEFAULT_SSH_AUTH, SshCollector, SshTarget
from hotspotctl.errors import ConfigError
from hotspotctl.inventory.fleet import Selection
from hotspotctl.models.access_points import AccessPoint
from hotspotctl.settings import Settings, SnmpSettings
from hotspotctl.store import Store
from hotspotctl.store.polling import load_discoveries


@dataclass(frozen=True, slots=True)
class ActionTarget:
    ap: AccessPoint
    target: SshTarget
    profile: Profile
    snmp: Credentials | None = None  # set: a reboot through the profile's SNMP SET, with these credentials

    @property
    def device_type(self) -> str:
        if self.snmp is not None:
            return "snmp"
        assert self.profile.ssh is not None
        return self.profile.ssh.device_type

    @property
    def reboot_command(self) -> str:
        if self.snmp is not None and self.profile.reboot is not None:
            oid, value = self.profile.reboot
            return f"SNMP SET {format_oid(oid)} = {value!r}"
        return self.profile.ssh.reboot if self.profile.ssh else ""


@dataclass
class ActionPlan:
    """The selected APs that can be acted on (over SSH, or SNMP for a reboot), and why each other one cannot."""

    targets: list[ActionTarget]
    skipped: dict[str, str]  # AP id -> reason
    order: list[AccessPoint]  # every selected AP, in order
    profiles: dict[str, tuple[str | None, str | None]]  # AP id -> (profile, device type), skipped APs too

    @property
    def sites(self) -> int:
        return len({t.ap.site_id for t in self.targets})

    def reboot_command(self) -> str:
        """What the audit log records as a reboot's command: the one command, or each profile's."""
        by_profile = {t.profile.name: t.reboot_command for t in self.targets}
        if len(set(by_profile.values())) == 1:
            return next(iter(by_profile.values()))
        return "; ".join(f"{cmd} ({name})" for name, cmd in sorted(by_profile.items()))


def ssh_collector(settings: Settings, profiles: ProfileSet, parallel: int | None = None) -> SshCollector:
    """The SSH sessions an action runs in: ssh.pool_size at once, or ``parallel``."""
    ssh = settings.ssh if parallel is None else dataclasses.replace(settings.ssh, pool_size=parallel)
    return SshCollector(ssh, profiles, settings.known_hosts)


def selection_flags(chosen: Selection) -> dict[str, list[str]]:
    """The flags that chose the targets, as the audit log keeps them."""
    flags = {"ap": chosen.aps, "site": chosen.sites, "district": chosen.districts, "program": chosen.programs,
             "zone": chosen.zones}
    return {name: list(values) for name, values in flags.items() if values}


def snmp_reboot_credentials(ap: AccessPoint, profile: Profile, snmp: SnmpSettings) -> Credentials | None:
    """The credentials to reboot ``ap`` over SNMP with, when that is the way: its profile has a reboot SET and
    the AP is polled over SNMP (or its profile has no SSH reboot). ConfigError when the set cannot write."""
    has_ssh_reboot = profile.ssh is not None and bool(profile.ssh.reboot)
    if profile.reboot is None or (ap.collector == "ssh" and has_ssh_reboot):
        return None
    credentials = resolve(ap.snmp_auth or DEFAULT_AUTH, snmp.auth, os.environ)
    for_writing(credentials)  # a v2c set without a write community: say so now, run nothing
    return credentials


def plan_actions(store: Store, aps: Sequence[AccessPoint], profiles: ProfileSet, collector: SshCollector, *,
                 reboot: bool, snmp: SnmpSettings | None = None) -> ActionPlan:
    """Each AP's profile (the inventory's, else the one discovery found), checked for what the action needs.

    A reboot goes through SSH (the profile's ssh.reboot) or, for an AP polled over SNMP whose profile has a
    reboot SET, through SNMP."""
    unpinned = [ap.id for ap in aps if not ap.profile]
    with store.read() as conn:
        discovered = {ap_id: stored.discovery.profile for ap_id, stored in load_discoveries(conn, unpinned).items()}
    targets: list[ActionTarget] = []
    skipped: dict[str, str] = {}
    found: dict[str, tuple[str | None, str | None]] = {}
    for ap in aps:
        name = ap.profile or discovered.get(ap.id)
        found[ap.id] = (name, None)
        reason = None
        if not name:
            reason = ("no profile: pin one with an ssh section in the inventory's profile column, or let "
                      "`hotspotctl discover` find it")
        elif not ap.mgmt_address:
            reason = "no mgmt_address in the inventory"
        else:
            try:
                profile = profiles.get(name)
                found[ap.id] = (name, profile.ssh.device_type if profile.ssh else None)
                over_snmp = snmp_reboot_credentials(ap, profile, snmp) if reboot and snmp is not None else None
                if over_snmp is not None:
                    found[ap.id] = (name, "snmp")
                    targets.append(ActionTarget(ap, SshTarget(ap.id, ap.mgmt_address, "", name), profile, over_snmp))
                elif profile.ssh is None and reboot:
                    reason = f"profile {name} has neither an ssh reboot command nor an SNMP reboot"
                elif profile.ssh is None:
                    reason = f"profile {name} has no ssh section"
                elif reboot and not profile.ssh.reboot:
                    reason = f"profile {name} has neither an ssh reboot command nor an SNMP reboot"
                else:
                    auth = ap.ssh_auth or DEFAULT_SSH_AUTH
                    collector.credentials(auth)  # a missing set or password variable: say so now, run nothing
                    targets.append(ActionTarget(ap, SshTarget(ap.id, ap.mgmt_address, auth, name), profile))
            except MissingSecret:
                raise  # the command's configuration, not this AP's: stop before anything runs (exit 3)
            except ConfigError as exc:
                reason = str(exc)
        if reason is not None:
            skipped[ap.id] = reason
    return ActionPlan(targets, skipped, list(aps), found)
