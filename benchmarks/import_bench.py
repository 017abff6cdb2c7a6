#!/usr/bin/env python3
"""Importing Mexico City's 35,350 APs into an empty store: hotspotctl against common baselines.

All in one process, on the same file, best of --repeat runs (wall), with CPU seconds and the
peak of Python allocations (tracemalloc, measured in a separate pass so it does not slow the
timed runs). Prints figures; asserts nothing about time.

    python benchmarks/import_bench.py [--repeat 5] [--database-url postgresql://...] [--format json]

Baselines:
  openpyxl-read   openpyxl read-only, values only: the usual way to read an .xlsx in Python
                  (reading only: no checks, no store)
  pandas-to-sql   pandas.read_excel (openpyxl) + DataFrame.to_sql into SQLite: what a
                  five-line script would do (no checks, no sites, no diff, not idempotent)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspotctl.bundled import CDMX_INVENTORY, bundled_path  # noqa: E402
from hotspotctl.inventory.importer import import_inventory  # noqa: E402
from hotspotctl.inventory.readers import read_table  # noqa: E402
from hotspotctl.settings import InventorySettings  # noqa: E402
from hotspotctl.store import Store  # noqa: E402

TARGET_S = 5.0


def measure(run: Callable[[Path], object], repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu = time.perf_counter(), time.process_time()
            run(Path(tmp))
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    with tempfile.TemporaryDirectory() as tmp:
        tracemalloc.start()
        run(Path(tmp))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"best_s": min(walls), "median_s": statistics.median(walls), "cpu_s": min(cpus),
            "py_peak_mb": peak / 2**20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="also measure hotspotctl against this (empty) store, "
                        "e.g. postgresql://user@127.0.0.1/db; its inventory tables are emptied")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    source = bundled_path(*CDMX_INVENTORY)
    rules = InventorySettings()

    def hotspotctl_sqlite(tmp: Path) -> None:
        with Store.open(f"sqlite:///{tmp / 'hotspotctl.db'}") as store:
            report = import_inventory(store, source, rules)
            assert len(report.added) == 35_350

    def hotspotctl_reimport_setup() -> Callable[[Path], None]:
        tmp = Path(tempfile.mkdtemp())
        store = Store.open(f"sqlite:///{tmp / 'hotspotctl.db'}")
        import_inventory(store, source, rules)

        def run(_: Path) -> None:
            assert import_inventory(store, source, rules).unchanged == 35_350
        return run

    def hotspotctl_read(_: Path) -> None:
        table = read_table(source)
        assert sum(1 for _ in table.rows) == 35_350

    results: dict[str, dict[str, float]] = {}
    results["hotspotctl import (sqlite)"] = measure(hotspotctl_sqlite, args.repeat)
    results["hotspotctl re-import, no change"] = measure(hotspotctl_reimport_setup(), args.repeat)
    results["hotspotctl read only (calamine)"] = measure(hotspotctl_read, args.repeat)
    if args.database_url:
        import sqlalchemy as sa

        def hotspotctl_url(_: Path) -> None:
            with Store.open(args.database_url) as store:
                with store.write() as conn:
                    for table in ("inventory_imports", "access_points", "sites"):
                        conn.execute(sa.text(f"DELETE FROM {table}"))
                assert len(import_inventory(store, source, rules).added) == 35_350
        backend = args.database_url.split(":", 1)[0]
        results[f"hotspotctl import ({backend})"] = measure(hotspotctl_url, args.repeat)

    try:
        import openpyxl
        import pandas
    except ImportError:
        print("baselines need the bench extra: pip install -e '.[bench]'", file=sys.stderr)
    else:
        def openpyxl_read(_: Path) -> None:
            book = openpyxl.load_workbook(source, read_only=True, data_only=True)
            assert sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) == 35_351
            book.close()

        def pandas_to_sql(tmp: Path) -> None:
            import sqlite3

            frame = pandas.read_excel(source, engine="openpyxl")
            with sqlite3.connect(tmp / "pandas.db") as conn:
                assert frame.to_sql("aps", conn, index=False) == 35_350

        results["baseline: openpyxl read only"] = measure(openpyxl_read, args.repeat)
        results["baseline: pandas read_excel + to_sql"] = measure(pandas_to_sql, args.repeat)

    ours = results["hotspotctl import (sqlite)"]["best_s"]
    ratios = {}
    if "baseline: pandas read_excel + to_sql" in results:
        ratios["pandas_to_sql_vs_hotspotctl_import"] = results["baseline: pandas read_excel + to_sql"]["best_s"] / ours
        ratios["openpyxl_read_vs_hotspotctl_read"] = (results["baseline: openpyxl read only"]["best_s"]
                                                      / results["hotspotctl read only (calamine)"]["best_s"])
    document = {"rows": 35_350, "repeat": args.repeat, "target_s": TARGET_S, "results": results,
                "ratios": ratios, "machine": {"python": platform.python_version(), "cpu": platform.processor()
                                              or platform.machine()}}
    if args.format == "json":
        print(json.dumps(document, indent=2))
        return 0
    print(f"Importing {source.name}: 35,350 rows, best of {args.repeat} (target <= {TARGET_S:g} s into an empty store)")
    print(f"{'':40} {'best s':>8} {'median s':>9} {'cpu s':>7} {'py peak MB':>11}")
    for name, figures in results.items():
        print(f"{name:40} {figures['best_s']:8.2f} {figures['median_s']:9.2f} {figures['cpu_s']:7.2f} "
              f"{figures['py_peak_mb']:11.1f}")
    for name, ratio in ratios.items():
        print(f"ratio {name}: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
