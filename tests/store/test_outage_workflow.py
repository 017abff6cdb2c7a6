"""The outages table's hand actions (migration 11): a store from before keeps its outages, and a cycle's save
never undoes an acknowledgement, an assignment, a note or a visit, nor reopens an outage closed by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from hotspotctl.models.health import Cause
from hotspotctl.models.outages import LedgerUpdate, Outage
from hotspotctl.store import Store, migrations
from hotspotctl.store.outages import add_note, add_visit, get_outage, load_open_outages, save_ledger, update_outage

T0 = 1_795_330_800.0


def _outage(site: str = "SITE-A", aps: tuple[str, ...] = ("A-1", "A-2")) -> Outage:
    return Outage(id=None, site=site, zone="Tlalpan", cause=Cause.OFFLINE, causes=(Cause.OFFLINE,), aps=aps,
                  aps_now=aps, opened_at=T0, updated_at=T0, peak_aps=len(aps), peak_clients=7, clients_now=7)


def test_a_store_at_schema_10_keeps_its_outages_which_load_with_no_hand_actions(
        store_url: str, monkeypatch: pytest.MonkeyPatch):
    with monkeypatch.context() as old:
        old.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:10])
        old.setattr(migrations, "LATEST", 10)
        with Store.open(store_url) as store, store.write() as conn:  # the row as hotspotctl before 11 wrote it
            conn.execute(sa.text(
                "INSERT INTO outages (site_id, zone, cause, causes, aps, aps_now, opened_at, updated_at, closed_at,"
                " peak_aps, peak_clients, clients_now, delivery, notes) VALUES ('SITE-A', 'Tlalpan', 'offline',"
                " 'offline', '[\"A-1\"]', '[\"A-1\"]', 1795330800.0, 1795330860.0, NULL, 1, 3, 3,"
                " '{\"email\": {\"to\": \"crew@example.org\"}}', 'old note')"))
    with Store.open(store_url) as store, store.read() as conn:
        assert migrations.current_version(conn) == migrations.LATEST
        (outage,) = load_open_outages(conn).values()
    assert (outage.site, outage.aps, outage.opened_at, outage.updated_at, outage.peak_clients) == (
        "SITE-A", ("A-1",), 1795330800.0, 1795330860.0, 3)
    assert (outage.delivery, outage.notes) == ({"email": {"to": "crew@example.org"}}, "old note")
    assert (outage.acked_at, outage.acked_by, outage.assigned_to, outage.assigned_at, outage.closed_by,
            outage.visits) == (None, None, None, None, None, ())
    assert outage.to_json(T0 + 60)["visits"] == [] and outage.to_json(T0 + 60)["acked_by"] is None


def test_a_cycle_that_moves_an_acknowledged_outage_keeps_every_hand_action(store: Store):
    with store.write() as conn:
        (loaded,) = save_ledger(conn, LedgerUpdate([_outage()], [], [])).opened
    assert loaded.id is not None
    # the NOC acts on it after the run loaded it
    visit = {"at": T0 + 120, "by": "cuadrilla 3", "note": "PoE cambiado", "via": "cli", "fixed": True}
    with store.write() as conn:
        update_outage(conn, loaded.id, acked_at=T0 + 30, acked_by="ana", assigned_to="cuadrilla 3",
                      assigned_at=T0 + 40)
        add_note(conn, loaded.id, "2026-11-22 01:01 ana: CFE avisada")
        assert add_visit(conn, loaded.id, visit)
    # the run's next cycle: one more AP down, from its (older) copy
    moved = replace(loaded, aps=("A-1", "A-2", "A-3"), aps_now=("A-1", "A-2", "A-3"), peak_aps=3,
                    updated_at=T0 + 180)
    with store.write() as conn:
        saved = save_ledger(conn, LedgerUpdate([], [moved], []))
    with store.read() as conn:
        stored = get_outage(conn, loaded.id)
    assert stored is not None and stored.aps_now == ("A-1", "A-2", "A-3") and stored.peak_aps == 3
    assert (stored.acked_at, stored.acked_by, stored.assigned_to, stored.assigned_at) == (
        T0 + 30, "ana", "cuadrilla 3", T0 + 40)
    assert stored.notes == "2026-11-22 01:01 ana: CFE avisada"
    assert stored.visits == (visit,)
    assert saved.changed == [stored]  # what the cycle passes on (to the NOC's notices) carries the ack too


def test_an_outage_closed_by_hand_is_not_reopened_by_a_cycle_that_loaded_it_open(store: Store):
    with store.write() as conn:
        (loaded,) = save_ledger(conn, LedgerUpdate([_outage()], [], [])).opened
    assert loaded.id is not None
    with store.write() as conn:
        update_outage(conn, loaded.id, closed_at=T0 + 100, updated_at=T0 + 100, closed_by="ana", aps_now=[],
                      clients_now=0)
    moved = replace(loaded, aps_now=("A-1",), updated_at=T0 + 180)
    run_closed = replace(loaded, closed_at=T0 + 170, updated_at=T0 + 180, aps_now=(), clients_now=0)
    with store.write() as conn:
        assert save_ledger(conn, LedgerUpdate([], [moved], [])) == LedgerUpdate([], [], [])
        assert save_ledger(conn, LedgerUpdate([], [], [run_closed])) == LedgerUpdate([], [], [])
    with store.read() as conn:
        stored = get_outage(conn, loaded.id)
        assert load_open_outages(conn) == {}
    assert stored is not None
    assert (stored.closed_at, stored.closed_by, stored.aps_now, stored.updated_at) == (T0 + 100, "ana", (), T0 + 100)


def test_the_open_outages_of_some_sites_are_those_sites_open_ones_only(store: Store) -> None:
    """A shard's evaluation reads its own sites' open outages, not the city's (in chunks of the IN list)."""
    with store.write() as conn:
        opened = save_ledger(conn, LedgerUpdate([_outage(f"SITE-{n:04d}", (f"AP-{n}",)) for n in range(1200)],
                                                [], [])).opened
        save_ledger(conn, LedgerUpdate([], [], [replace(opened[3], closed_at=T0 + 60, aps_now=())]))
    with store.read() as conn:
        everything = load_open_outages(conn)
        some = load_open_outages(conn, [f"SITE-{n:04d}" for n in (1, 3, 7, 1199)] + ["SITE-NONE"])
        many = load_open_outages(conn, [f"SITE-{n:04d}" for n in range(0, 1200, 2)])  # 600 sites: two chunks
        none = load_open_outages(conn, [])
    assert len(everything) == 1199 and "SITE-0003" not in everything
    assert some == {site: everything[site] for site in ("SITE-0001", "SITE-0007", "SITE-1199")}
    assert many == {site: o for site, o in everything.items() if int(site[5:]) % 2 == 0}
    assert none == {}
