"""The house's structure, held: the import contract (pyproject.toml [tool.importlinter]) and a CLI that opens no
database transaction (a command calls one domain function; the store's transactions live below cli/)."""

from __future__ import annotations

import ast
import logging
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO

CLI = REPO / "hotspotctl" / "cli"
# store.read(), store.write(), engine.begin(), engine.connect(): the ways into a transaction (all take no
# argument; file.write(text) and the like take one); conn.execute(...) is SQL run in one.
TRANSACTION_METHODS = frozenset({"read", "write", "begin", "connect"})


def transactions(source: str) -> list[str]:
    """Where ``source`` opens a store transaction or runs SQL: 'line N: store.read()'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        if (name in TRANSACTION_METHODS and not node.args and not node.keywords) or name == "execute":
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
    return found


def test_the_scan_finds_what_cli_modules_used_to_do():
    old = '''
def list_(store, fleet):
    with store.read() as conn:
        found = list_outages(conn)
    with rt.open_store() as store, store.write() as conn:
        add_note(conn, 1, "x")
    with engine.begin() as conn:
        conn.execute(query)
    sys.stdout.write(text)  # output, not a transaction
    '''
    assert transactions(old) == ["line 3: store.read()", "line 5: store.write()", "line 7: engine.begin()",
                                 "line 8: conn.execute()"]


@pytest.mark.parametrize("path", sorted(CLI.rglob("*.py")), ids=lambda p: str(p.relative_to(CLI)))
def test_no_cli_module_opens_a_transaction(path: Path):
    assert transactions(path.read_text(encoding="utf-8")) == [], (
        f"{path.relative_to(REPO)} opens a store transaction: call one domain function (reports/, actions/, "
        "inventory/, store/) that does")


def test_the_import_contract_holds():
    """Layers point downward, and no command module imports another: `lint-imports`, as `make check` runs it."""
    from importlinter.cli import lint_imports

    # lint_imports configures logging with dictConfig, which disables every logger that exists (hotspotctl's
    # included): tests that run after it in the same process would see no log records. Put them back.
    loggers = [logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    disabled = {logger: logger.disabled for logger in loggers}
    try:
        assert lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True) == 0
    finally:
        for logger, was in disabled.items():
            logger.disabled = was


def test_the_layers_are_stated_in_the_issues_order():
    """The contract itself, so that loosening it to let a back-edge through is a visible change (docs/decisions/layers.md).

    evaluate sits above collectors (it reads their Sample and failure classes); the store sits below both, and
    keeps only records from models/.
    """
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["id"] == "layers"]
    assert [layer.split(" ")[0].removeprefix("hotspotctl.") for layer in layers] == [
        "cli", "actions", "delivery", "reports", "inventory", "evaluate", "collectors", "store", "models", "settings",
        "messages", "errors"]


def test_the_records_the_store_keeps_are_the_same_objects_at_their_old_paths():
    """models/ owns them; evaluate and collectors name them too, so older imports go on working."""
    from hotspotctl.collectors import model as collected
    from hotspotctl.evaluate import outages, rates, status
    from hotspotctl.models import health, polling
    from hotspotctl.models import outages as ledger

    for name in ("ApHealth", "Cause", "HealthState", "HISTORY_MAX", "REASON_MAX", "CAUSES", "CREW_CAUSES",
                 "STATES", "UNUSABLE", "UP", "DOWN", "DEGRADED", "UNKNOWN", "UNMONITORED", "MISCONFIGURED"):
        assert getattr(status, name) is getattr(health, name), name
    assert outages.Outage is ledger.Outage and outages.LedgerUpdate is ledger.LedgerUpdate
    assert rates.CounterState is polling.CounterState
    assert collected.Discovery is polling.Discovery and collected.Interface is polling.Interface
