#!/usr/bin/env python3
"""The cost of SQLite synchronous FULL (what the store uses) against NORMAL, for a cycle-sized commit.

Same process, the two modes alternating, WAL as the store runs it; prints figures, asserts nothing about time.

    .venv/bin/python benchmarks/sqlite_sync_bench.py [ROWS per commit, default 3000]
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from hotspotctl.store import Store

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
tmp = Path(tempfile.mkdtemp())
stores = {}
for mode in ("NORMAL", "FULL"):
    store = Store.open(f"sqlite:///{tmp / mode}.db")
    sa.event.listen(store.engine, "connect", lambda c, r, m=mode: c.execute(f"PRAGMA synchronous = {m}"))
    store.engine.dispose()
    with store.write() as conn:
        conn.exec_driver_sql("CREATE TABLE state (ap TEXT PRIMARY KEY, a INTEGER, b INTEGER, t REAL)")
    stores[mode] = store
times = {m: [] for m in stores}
for i in range(30):
    for mode, store in (stores.items() if i % 2 else reversed(list(stores.items()))):
        data = [{"ap": f"AP-{n}", "a": i * n, "b": n, "t": time.time()} for n in range(rows)]
        start = time.perf_counter()
        with store.write() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == (2 if mode == "FULL" else 1)
            conn.execute(sa.text("INSERT OR REPLACE INTO state VALUES (:ap, :a, :b, :t)"), data)
        times[mode].append(time.perf_counter() - start)
n, f = statistics.median(times["NORMAL"]), statistics.median(times["FULL"])
print(f"{rows} rows per commit, 30 commits each, alternating: median NORMAL {n*1000:.2f} ms, FULL {f*1000:.2f} ms, "
      f"FULL/NORMAL {f/n:.2f}")
