"""Where state lives (issue 16): a command that only reads names the store it used when it finds it empty,
and makes no store where there is none."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("command", [("status",), ("outages", "list")])
def test_a_read_in_a_folder_without_a_store_names_it_and_creates_nothing(cli, command) -> None:
    result = cli(*command)
    assert result.code == 0, result.err
    store = f"sqlite:///{cli.workdir / 'var' / 'hotspotctl.db'}"
    assert f"{store} (no store there yet: nothing was created)" in result.err
    assert "--data-dir" in result.err and "HOTSPOTCTL_DATA_DIR" in result.err
    assert not (cli.workdir / "var").exists()


def test_the_message_names_the_data_dir_that_was_asked_for(cli, tmp_path, monkeypatch) -> None:
    elsewhere = tmp_path / "srv" / "hotspotctl"
    monkeypatch.setenv("HOTSPOTCTL_DATA_DIR", str(elsewhere))
    result = cli("status")
    assert result.code == 0 and f"sqlite:///{elsewhere / 'hotspotctl.db'}" in result.err
    assert not elsewhere.exists()


def test_an_empty_store_that_exists_is_named_without_the_missing_note(cli) -> None:
    assert cli("maintenance", "list").code == 0  # it opens the store as before, creating it
    database = cli.workdir / "var" / "hotspotctl.db"
    assert database.exists()
    result = cli("status")
    assert f"the inventory is empty in sqlite:///{database};" in result.err
    assert "nothing was created" not in result.err


def test_inventory_list_names_the_store_it_made(cli) -> None:
    """It makes the store, as before (tests/store/test_files_at_rest.py checks the data folder through it)."""
    result = cli("inventory", "list")
    database = cli.workdir / "var" / "hotspotctl.db"
    assert result.code == 0 and database.exists()
    assert f"the inventory is empty in sqlite:///{database};" in result.err and "--data-dir" in result.err
