"""Renderings more than one command shows: the import report (`inventory import`, `demo`)."""

from __future__ import annotations

from collections import defaultdict

from hotspotctl.cli import output
from hotspotctl.inventory.importer import ImportReport
from hotspotctl.inventory.rows import RowIssue

_SHOWN_ISSUES = 50


def render_import(report: ImportReport) -> None:
    console = output.stdout()
    verb = "Would import" if report.dry_run else "Imported" if report.written else "Did not import"
    console.print(
        f"{verb} {report.source} ({report.format}, {report.rows:,} rows): {len(report.added):,} added, "
        f"{len(report.updated):,} updated, {report.unchanged:,} unchanged, {len(report.removed):,} removed, "
        f"{len(report.rejected):,} rejected, {len(report.warnings):,} warnings; "
        f"{report.sites:,} sites", markup=False, highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    if report.unknown_columns:
        console.print(f"ignored unknown columns: {', '.join(report.unknown_columns)}", markup=False,
                      highlight=False)
    if report.warnings:
        console.print(output.table(("count", "column", "warning", "rows"), _group(report.warnings),
                                   title=f"Warnings ({len(report.warnings):,}): repaired and imported",
                                   numeric=("count",)))
    if report.rejected:
        shown = report.rejected[:_SHOWN_ISSUES]
        console.print(output.table(("row", "column", "value", "reason"),
                                   [(i.row, i.column, i.value, i.reason) for i in shown],
                                   title=f"Rejected rows ({len(report.rejected):,}): not imported"))
        if len(report.rejected) > len(shown):
            console.print(f"... {len(report.rejected) - len(shown):,} more; --format json lists them all",
                          markup=False)
    if report.dry_run:
        for label, ids in (("added", report.added), ("updated", list(report.updated)),
                           ("removed", report.removed)):
            if ids:
                more = f" ... (+{len(ids) - 10:,})" if len(ids) > 10 else ""
                console.print(f"would be {label}: {', '.join(ids[:10])}{more}", markup=False, highlight=False)
        console.print("dry run: nothing written", markup=False)
    elif report.strict and report.rejected:
        console.print("--strict: rows were rejected, so nothing was written", markup=False)


def _group(issues: list[RowIssue]) -> list[tuple[int, str, str, str]]:
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for issue in issues:
        groups[(issue.column, issue.reason)].append(issue.row)
    rows = []
    for (column, reason), numbers in sorted(groups.items(), key=lambda item: -len(item[1])):
        shown = ", ".join(str(n) for n in numbers[:6]) + (" ..." if len(numbers) > 6 else "")
        rows.append((len(numbers), column, reason, shown))
    return rows
