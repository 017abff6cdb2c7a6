"""import_inventory(): one file into the store, atomically, idempotently.

The file is read and every row parsed before the store is touched. Then, in one
transaction holding the store's write lock, the current inventory is loaded, the
file's rows are compared with it, and only the differences are written, with
the sites recomputed from the result. A re-import of the same file writes no AP
or site. ``--strict`` with any rejected row, a dry run, or any error writes nothing.

Modes: by default a row replaces the stored AP (columns the file lacks become
empty); ``merge`` changes only the columns the file has, and adds an AP only when
its row has coordinates. ``prune`` removes stored APs whose id is not in the file
(a rejected row's id counts as present, so a typo in one row never deletes an AP).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotspotctl.errors import ConflictError, ExitCode
from hotspotctl.inventory.columns import map_columns
from hotspotctl.inventory.readers import read_table
from hotspotctl.inventory.rows import ParsedRow, RowIssue, RowParser
from hotspotctl.inventory.sites import derive_sites, site_id_for
from hotspotctl.models.access_points import FIELDS, ROLE_AP, ROLE_CONTROLLER, AccessPoint
from hotspotctl.settings import InventorySettings
from hotspotctl.store import Store
from hotspotctl.store import inventory as queries

_COMPARED = (*FIELDS, "site_id")


@dataclass
class ImportReport:
    source: str
    format: str
    mode: str  # "replace" | "merge"
    dry_run: bool
    strict: bool
    rows: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # field -> header in the file
    unknown_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # id -> field -> [old, new]
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    rejected: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    sites: int = 0  # sites in the store after the import (or that there would be)
    written: bool = False

    @property
    def exit_code(self) -> ExitCode:
        if self.rejected and self.strict:
            return ExitCode.INVALID
        return ExitCode.PARTIAL if self.rejected else ExitCode.OK

    def to_json(self, *, changes: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file": self.source, "format": self.format, "mode": self.mode, "dry_run": self.dry_run,
            "written": self.written, "rows": self.rows,
            "added": len(self.added), "updated": len(self.updated), "unchanged": self.unchanged,
            "removed": len(self.removed), "sites": self.sites,
            "rejected": [issue.to_json() for issue in self.rejected],
            "warnings": [issue.to_json() for issue in self.warnings],
            "columns": self.columns, "unknown_columns": self.unknown_columns, "notes": self.notes,
        }
        if changes:
            document["changes"] = {"added": self.added, "updated": self.updated, "removed": self.removed}
        return document


def import_inventory(store: Store, path: Path, rules: InventorySettings, *, merge: bool = False,
                     prune: bool = False, strict: bool = False, dry_run: bool = False,
                     fmt: str | None = None, sheet: str | None = None,
                     expect_removed: set[str] | None = None, now: datetime | None = None) -> ImportReport:
    """Import one inventory file. ``expect_removed``: the prune set a user confirmed; if the
    store changed since, a ConflictError instead of removing anything else."""
    now = now or datetime.now(UTC)
    table = read_table(path, fmt=fmt, sheet=sheet)
    columns = map_columns(table.headers, str(path), merge=merge)
    report = ImportReport(source=str(path), format=table.format, mode="merge" if merge else "replace",
                          dry_run=dry_run, strict=strict, columns=dict(columns.headers),
                          unknown_columns=columns.unknown, notes=list(table.notes))
    with store.read() as conn:
        programs = queries.known_programs(conn)
    parsed = RowParser(columns, rules, programs).parse(table)
    report.rows = len(parsed.rows) + len({issue.row for issue in parsed.rejected})
    report.warnings = parsed.warnings
    report.rejected = list(parsed.rejected)

    write = not dry_run and not (strict and report.rejected)
    with (store.write() if write else store.read()) as conn:
        current = queries.load_access_points(conn)
        wanted = _records(parsed.rows, current, merge, report)
        report.rejected.sort(key=lambda issue: issue.row)
        if report.rejected and strict:
            write = False
        for ap_id, ap in wanted.items():
            before = current.get(ap_id)
            if before is None:
                report.added.append(ap_id)
            elif (diff := _diff(before, ap)):
                report.updated[ap_id] = diff
            else:
                report.unchanged += 1
        if prune:
            report.removed = sorted(set(current) - parsed.seen_ids)
            if expect_removed is not None and set(report.removed) != expect_removed:
                raise ConflictError(f"the inventory changed since you confirmed removing "
                                    f"{len(expect_removed)} APs; nothing written; run the import again")
        if report.added or report.updated or report.removed:
            final = {**current, **wanted}
            for ap_id in report.removed:
                del final[ap_id]
            new_sites = derive_sites(final.values())
            report.sites = len(new_sites)
            if not write:
                return report
            old_sites = queries.load_sites(conn)
            queries.save_sites(conn, new_sites, old_sites)
            queries.insert_access_points(conn, [wanted[i] for i in report.added], now)
            queries.update_access_points(conn, [wanted[i] for i in report.updated], now)
            queries.delete_access_points(conn, report.removed)
            queries.delete_sites(conn, [key for key in old_sites if key not in new_sites])
        else:  # no AP changed, so no site can have: nothing to derive or write
            report.sites = queries.count_sites(conn)
            if not write:
                return report
        queries.record_import(
            conn, at=now, source=path.name, sha256=_sha256(path), mode=report.mode,
            added=len(report.added), updated=len(report.updated), unchanged=report.unchanged,
            removed=len(report.removed), rejected=len(report.rejected), warnings=len(report.warnings))
        report.written = True
    return report


def _records(rows: list[ParsedRow], current: dict[str, AccessPoint], merge: bool,
             report: ImportReport) -> dict[str, AccessPoint]:
    records: dict[str, AccessPoint] = {}
    rows_of: dict[str, int] = {}
    for row in rows:
        values = row.values
        before = current.get(values["id"])
        if merge and before is not None:
            merged = {**before.values(), **values}
            if merged.get("lat") is None:  # the row left its coordinates empty: keep the stored ones
                merged["lat"], merged["lon"] = before.lat, before.lon
        else:
            if values.get("lat") is None and values.get("role") != ROLE_CONTROLLER:
                column = report.columns.get("lat")
                reason = ("empty coordinates; every AP needs a latitude and longitude" if column else
                          "not in the inventory, and the file has no coordinates to add it with")
                report.rejected.append(RowIssue(row.row, column or report.columns["id"],
                                                "" if column else values["id"], reason))
                continue
            merged = {name: values.get(name) for name in FIELDS}
        merged["role"] = merged.get("role") or ROLE_AP
        if merged["role"] == ROLE_CONTROLLER:
            merged["controller"] = None  # (a row naming one is rejected; a stored AP may have named one)
        elif merged.get("lat") is None:  # merged into a stored controller row that turns into an AP
            report.rejected.append(RowIssue(row.row, report.columns.get("role", report.columns["id"]),
                                            values["id"], "an AP needs coordinates; give lat and lon"))
            continue
        merged["site_id"] = site_id_for(merged.get("site"), merged["lat"], merged["lon"], merged["role"])
        records[values["id"]] = AccessPoint(**merged)
        rows_of[values["id"]] = row.row
    _check_controllers(records, rows_of, current, report)
    return records


def _check_controllers(records: dict[str, AccessPoint], rows_of: dict[str, int], current: dict[str, AccessPoint],
                       report: ImportReport) -> None:
    """Reject the rows of APs whose controller is not a controller row (in this file, or already stored and
    not changed by it), and of two APs one controller would know by the same name or MAC."""
    final = {**current, **records}
    header = report.columns.get("controller", "controller")
    seen: dict[tuple[str, str, str], str] = {}  # (controller, "name" | "mac", value) -> AP id
    for ap_id, ap in list(records.items()):
        if ap.controller is None or ap.is_controller:
            continue
        row = rows_of[ap_id]
        boss = final.get(ap.controller)
        reason = None
        if boss is None:
            reason = (f"no controller row with id {ap.controller!r} in this file or the inventory: add a row with "
                      "that id and role controller, or correct the id")
        elif not boss.is_controller:
            reason = (f"{ap.controller!r} is an AP (role {boss.role}), not a controller: set its role to "
                      "controller, or name the AP's controller")
        else:
            by, value = ("mac", ap.ap_mac) if ap.ap_mac else ("name", ap.name_on_controller)
            other = seen.setdefault((ap.controller, by, value), ap_id)
            if other != ap_id:
                reason = (f"{other} is also known to controller {ap.controller!r} by {by} {value!r}: "
                          "give each AP its own ap_name or ap_mac")
        if reason is not None:
            report.rejected.append(RowIssue(row, header, ap.controller, reason))
            del records[ap_id]


def _diff(before: AccessPoint, after: AccessPoint) -> dict[str, list[Any]]:
    return {name: [getattr(before, name), getattr(after, name)]
            for name in _COMPARED if getattr(before, name) != getattr(after, name)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
