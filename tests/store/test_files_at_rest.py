"""Issue 15: the store and the data folder are private to the service's user, whatever the umask; a commit
survives a power cut; a data folder that cannot be used is a configuration error (exit 3), not a bug."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from hotspotctl.store import Store
from tests.conftest import file_mode


def test_a_new_store_and_its_side_files_are_private_whatever_the_umask(tmp_path: Path, umask: int):
    """On 3854a6b: the folder 0755 (0777 with umask 0) and the store 0644 (0666): device output in the audit log
    readable by every local user."""
    folder = tmp_path / "state"
    database = folder / "hotspotctl.db"
    # a write under WAL: the -wal and -shm files exist while it is open
    with Store.open(f"sqlite:///{database}") as store, store.write() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        side = {suffix: file_mode(Path(f"{database}{suffix}")) for suffix in ("-wal", "-shm")
                if Path(f"{database}{suffix}").exists()}
    assert file_mode(folder) == 0o700
    assert file_mode(database) == 0o600
    assert side == {"-wal": 0o600, "-shm": 0o600}


def test_a_store_made_by_an_older_version_is_tightened(tmp_path: Path):
    database = tmp_path / "hotspotctl.db"
    with Store.open(f"sqlite:///{database}"):
        pass
    os.chmod(database, 0o644)
    Path(f"{database}-wal").write_bytes(b"")
    os.chmod(f"{database}-wal", 0o644)
    with Store.open(f"sqlite:///{database}"):
        assert file_mode(database) == 0o600
        assert file_mode(Path(f"{database}-wal")) == 0o600


def test_sqlite_commits_with_synchronous_full(tmp_path: Path):
    """A delivery record (an Open311 id) must survive a power cut: on 3854a6b synchronous was NORMAL (1), which in
    WAL mode may lose the last commits on a power cut."""
    with Store.open(f"sqlite:///{tmp_path / 'hotspotctl.db'}") as store:
        for open_ in (store.read, store.write):
            with open_() as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_the_data_folder_made_by_a_command_is_private(cli, tmp_path: Path, umask: int):
    source = tmp_path / "aps.csv"
    source.write_text("id,lat,lon\nAP-1,19.4,-99.1\n")
    assert cli("--data-dir", tmp_path / "data", "inventory", "import", source).code == 0
    assert file_mode(tmp_path / "data") == 0o700
    assert file_mode(tmp_path / "data" / "hotspotctl.db") == 0o600


def test_an_existing_data_folder_is_left_as_it_is(cli, tmp_path: Path):
    """It may be shared (/srv, /tmp): what hotspotctl writes in it is private by its own mode."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    assert cli("--data-dir", shared, "inventory", "list").code == 0
    assert file_mode(shared) == 0o755 and file_mode(shared / "hotspotctl.db") == 0o600


def _unwritable() -> Path:
    """A folder nobody, root included, can create anything in (sysfs refuses mkdir)."""
    base = Path("/sys/kernel")
    if not base.is_dir():
        pytest.skip("no /sys/kernel here")
    return base / "hotspotctl-test"


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: (tmp / "afile").write_text("x") and tmp / "afile",
     r"--data-dir {path}: is a file, not a folder; give a folder \(created when missing\) or move the file away"),
    (lambda tmp: (tmp / "afile").write_text("x") and tmp / "afile" / "sub",
     r"--data-dir {path}: {tmp}/afile is a file, not a folder; give another folder"),
    (lambda tmp: tmp / "missing" / "parent" / "var",
     r"--data-dir {path}: its parent {tmp}/missing/parent does not exist; create the parent first "
     r"\(mkdir -p {tmp}/missing/parent\) or give another folder"),
    (lambda tmp: _unwritable(),
     r"--data-dir {path}: cannot create it \((Operation not permitted|Permission denied)\); give a folder "),
], ids=["a file", "under a file", "missing parent", "unwritable"])
def test_a_bad_data_dir_is_exit_3_with_the_path_and_what_to_do(cli, tmp_path: Path, make, message):
    """On 3854a6b each was exit 1, 'internal error: FileExistsError ...' (or NotADirectoryError,
    PermissionError), and a missing parent was silently created."""
    path = make(tmp_path)
    for args in (["inventory", "list"], ["spool", "status"], ["poll", "--once"]):
        result = cli("--data-dir", path, *args)
        assert result.code == 3, (args, result.err)
        assert "internal error" not in result.err
        assert re.search(message.format(path=re.escape(str(path)), tmp=re.escape(str(tmp_path))), result.err), \
            result.err
    assert not (tmp_path / "missing").exists()


def test_sqlite_connections_keep_a_page_cache_the_citys_states_fit_in(tmp_path: Path):
    """A cycle rewrites every AP's ap_state row (about 5 MB for the city): with SQLite's default 2,000 KiB cache each
    cycle read those pages back (issue 19, docs/performance.md)."""
    from hotspotctl.store.engine import SQLITE_CACHE_KIB

    assert SQLITE_CACHE_KIB == 8_192
    with Store.open(f"sqlite:///{tmp_path / 'hotspotctl.db'}") as store:
        for open_ in (store.read, store.write):
            with open_() as conn:
                assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -8_192
