"""Fault scenarios: strict loading, resolution against the fleet, and the timing of the fault plans."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest

from hotspotctl.errors import ConfigError
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.models.access_points import AccessPoint, Site
from hotspotctl.settings import InventorySettings
from hotspotctl.simulate.scenario import (
    ApFaults,
    Window,
    describe,
    find_scenario,
    load_scenario,
    parse_duration,
    resolve,
    shipped_scenarios_dir,
)
from hotspotctl.simulate.simulator import plan_controllers
from hotspotctl.store import Store
from tests.conftest import CDMX_XLSX, REPO, write

SHIPPED = REPO / "scenarios" / "cdmx.yaml"
TRANSPORTE = "Transporte (Metrobus, Cablebus, Tren Ligero, Trolebus, etc.)"
N_CDMX = 35_350


def half_up(fraction: str, total: int) -> int:
    """The documented rounding, computed independently: halves up, at least one."""
    return max(1, math.floor(Fraction(fraction) * total + Fraction(1, 2)))


# --- the real inventory and the shipped scenario --------------------------------------------------


@pytest.fixture(scope="module")
def cdmx(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """The bundled Mexico City inventory, imported once into SQLite."""
    path = tmp_path_factory.mktemp("cdmx") / "hotspotctl.db"
    store = Store.open(f"sqlite:///{path}")
    import_inventory(store, CDMX_XLSX, InventorySettings(), now=datetime(2026, 11, 22, 6, 0, tzinfo=UTC))
    fleet = Fleet.load(store, CrewZones({}, {}))
    store.close()
    return fleet


def test_shipped_scenario_is_found_and_loads() -> None:
    assert shipped_scenarios_dir() == REPO / "scenarios"
    assert find_scenario("cdmx") == SHIPPED
    assert find_scenario("cdmx.yaml") == SHIPPED
    assert find_scenario(SHIPPED) == SHIPPED
    with pytest.raises(ConfigError, match=r"nope: no such scenario file.*shipped: cdmx"):
        find_scenario("nope")
    scenario = load_scenario(SHIPPED)
    assert (scenario.name, scenario.seed, scenario.source) == ("cdmx-typical", 7, str(SHIPPED))
    assert [f.kind for f in scenario.faults] == [
        "down", "power", "power", "reboot_loop", "flapping", "wrap32", "latency", "loss", "slow_uplink", "crowded"]
    assert scenario.faults[1].start_s == 60 and scenario.faults[1].duration_s == 1200
    assert scenario.faults[2].start_s == 90 and scenario.faults[2].duration_s == 600
    assert (scenario.faults[3].every_s, scenario.faults[3].down_s) == (180, 60)
    assert (scenario.faults[4].period_s, scenario.faults[4].down_s) == (120, 40)
    assert scenario.faults[6].latency_ms == (20, 80)
    assert scenario.faults[7].probability == 0.04
    assert scenario.faults[8].mbps == 100
    assert scenario.faults[9].factor == 4


def test_shipped_scenario_resolves_on_the_real_inventory(cdmx: Fleet) -> None:
    scenario = load_scenario(SHIPPED)
    resolved = resolve(scenario, cdmx, list(cdmx.aps), seed=7)
    hits = resolved.hits
    aps = cdmx.aps
    assert [len(h.aps) for h in hits] == [
        half_up("0.015", N_CDMX), 12, len(hits[2].aps), 36, 30, half_up("0.01", N_CDMX), half_up("0.10", N_CDMX),
        349, 100, 200]
    assert [len(h.aps) for h in hits] == [530, 12, 2, 36, 30, 354, 3535, 349, 100, 200]
    gam_transport = sum(1 for a in aps.values() if a.district == "Gustavo A. Madero" and a.program == TRANSPORTE)
    assert [h.matched for h in hits] == [N_CDMX, 12, gam_transport, N_CDMX, 7140, N_CDMX, N_CDMX, 349, N_CDMX, 2009]
    assert gam_transport == 406

    # Power takes whole sites: the named PILARES, and one random transport stop in Gustavo A. Madero.
    (republica,) = [s.id for s in cdmx.sites.values() if s.name == "PILARES_REPÚBLICA"]
    assert hits[1].sites == (republica,)
    assert set(hits[1].aps) == {a.id for a in aps.values() if a.site_id == republica}
    (stop,) = hits[2].sites
    assert set(hits[2].aps) == {a.id for a in aps.values() if a.site_id == stop}
    assert cdmx.sites[stop].district == "Gustavo A. Madero"
    assert any(aps[a].program == TRANSPORTE for a in hits[2].aps)

    assert all(aps[a].program == "MiCalle" for a in hits[4].aps)
    assert set(hits[7].aps) == {a.id for a in aps.values() if a.district == "Milpa Alta"}
    assert all(aps[a].program == TRANSPORTE for a in hits[9].aps)
    assert set(resolved) == {a for h in hits for a in h.aps}

    # The plans carry the parameters; loops and flaps are spread over their periods.
    for ap_id in hits[1].aps:
        plan = resolved[ap_id]
        assert not plan.answering(60) and not plan.answering(1259.9)
        if ap_id not in hits[0].aps:  # not also dead from the start
            assert plan.down == (Window(60, 1260),)
    assert all(resolved[a].loss >= 0.04 for a in hits[7].aps)
    assert all(resolved[a].link_mbps == 100 for a in hits[8].aps)
    assert all(resolved[a].wrap32 for a in hits[5].aps)
    assert all(resolved[a].clients_factor == 4 for a in hits[9].aps)
    flaps = [resolved[a] for a in hits[4].aps if resolved[a].flap_period_s == 120]
    phases = sorted(p.flap_phase_s for p in flaps)
    assert len(flaps) == 30 and len(set(phases)) == 30
    assert 0 <= phases[0] < 40 and 80 < phases[-1] < 120
    reboots = [resolved[a] for a in hits[3].aps]
    assert all(r.reboot_every_s == 180 and r.reboot_down_s == 60 and 0 <= r.reboot_phase_s < 180 for r in reboots)

    rows = describe(scenario, resolved)
    assert rows[1] == {"fault": 1, "kind": "power", "select": "site: PILARES_REPÚBLICA", "matched": 12, "aps": 12,
                       "sites": 1, "parameters": {"at_s": 60.0, "for_s": 1200.0}}
    assert rows[0]["parameters"] == {"at_s": 0.0, "for_s": None}
    assert rows[6]["parameters"] == {"ms": [20.0, 80.0]}
    assert [r["aps"] for r in rows] == [len(h.aps) for h in hits]


def test_the_same_seed_gives_the_same_aps_and_another_seed_others(cdmx: Fleet) -> None:
    scenario = load_scenario(SHIPPED)
    ids = list(cdmx.aps)
    first = resolve(scenario, cdmx, ids, seed=7)
    again = resolve(scenario, cdmx, list(reversed(ids)), seed=7)  # order of ap_ids does not matter
    assert first == again and first.hits == again.hits
    other = resolve(scenario, cdmx, ids, seed=8)
    assert set(first.hits[0].aps) != set(other.hits[0].aps)
    assert len(set(first.hits[0].aps) & set(other.hits[0].aps)) < 50  # independent draws, not a shift
    assert first.hits[7].aps == other.hits[7].aps  # no random pick: every Milpa Alta AP either way
    assert [len(h.aps) for h in first.hits if h.kind != "power"] == [len(h.aps) for h in other.hits
                                                                      if h.kind != "power"]


def test_a_partial_simulation_picks_among_the_simulated_aps(cdmx: Fleet) -> None:
    scenario = load_scenario(SHIPPED)
    simulated = sorted(cdmx.aps)[:1000]
    resolved = resolve(scenario, cdmx, simulated, seed=7)
    assert set(resolved) <= set(simulated)
    milpa = [a for a in simulated if cdmx.aps[a].district == "Milpa Alta"]
    transport = [a for a in simulated if cdmx.aps[a].program == TRANSPORTE]
    assert resolved.hits[0].matched == 1000
    assert len(resolved.hits[0].aps) == half_up("0.015", 1000) == 15
    assert sorted(resolved.hits[7].aps) == milpa
    assert len(resolved.hits[9].aps) == min(200, len(transport))


def test_a_name_typo_against_the_real_inventory(tmp_path: Path, cdmx: Fleet) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace("program: [MiCalle]", "program: [Transprte]")
    scenario = load_scenario(write(tmp_path / "cdmx.yaml", text))
    with pytest.raises(ConfigError) as caught:
        resolve(scenario, cdmx, list(cdmx.aps), seed=7)
    message = str(caught.value)
    assert message.startswith("cdmx.yaml: faults[4].select.program[0]: 'Transprte': no such programme in the "
                              "inventory; known: "), message
    assert TRANSPORTE in message and "MiCalle" in message
    text = SHIPPED.read_text(encoding="utf-8").replace("district: [Milpa Alta]", "district: [Milpa Alte]")
    with pytest.raises(ConfigError) as caught:
        resolve(load_scenario(write(tmp_path / "cdmx.yaml", text)), cdmx, list(cdmx.aps), seed=7)
    assert str(caught.value) == ("cdmx.yaml: faults[7].select.district[0]: 'Milpa Alte': no such district in the "
                                 "inventory; did you mean 'Milpa Alta'?")


# --- select semantics on a small hand-built fleet -------------------------------------------------


def small_fleet() -> Fleet:
    sites = {
        "s1": Site("s1", "PILARES Centro", 19.43, -99.13, "Cuauhtemoc", False),
        "s2": Site("s2", "Metro Hidalgo", 19.44, -99.14, "Cuauhtemoc", False),
        "s3": Site("s3", "Poste 1", 19.35, -99.05, "Iztapalapa", False),
        "s4": Site("s4", "Poste 2", 19.36, -99.06, "Iztapalapa", False),
        "s5": Site("s5", "Escuela Benito", 19.38, -99.16, "Benito Juarez", False),
        "s6": Site("s6", "Milpa", 19.19, -99.02, "Milpa Alta", False),
        "s7": Site("s7", "Hidalgo Poste", 19.43, -99.20, "Miguel Hidalgo", False),
    }
    rows = [
        ("PIL-CEN-01", "Pilares", "s1"), ("PIL-CEN-02", "Pilares", "s1"), ("PIL-CEN-03", "Pilares", "s1"),
        ("MB-HID-01", TRANSPORTE, "s2"), ("MB-HID-02", TRANSPORTE, "s2"), ("C5-HID-01", "Poste C5", "s2"),
        ("C5-0001", "Poste C5", "s3"), ("C5-0002", "Poste C5", "s4"),
        ("ESC-01", "Escuelas", "s5"), ("ESC-02", "Escuelas", "s5"),
        ("C5-0003", "Poste C5", "s6"), ("C5-0004", "Poste C5", "s7"),
    ]
    aps = {ap_id: AccessPoint(ap_id, sites[site].lat, sites[site].lon, program=program,
                              district=sites[site].district, site_id=site,
                              crew_zone="sur" if site == "s6" else None)
           for ap_id, program, site in rows}
    return Fleet(aps, sites, CrewZones({}, {}))


def scenario_file(tmp_path: Path, faults: str, name: str = "bad.yaml") -> Path:
    return write(tmp_path / name, f"name: t\nfaults:\n{faults}")


def hits_of(tmp_path: Path, select: str, kind: str = "wrap32", seed: int = 1,
            ap_ids: list[str] | None = None) -> tuple[str, ...]:
    fleet = small_fleet()
    extra = "    for: 1m\n" if kind == "power" else ""
    scenario = load_scenario(scenario_file(tmp_path, f"  - kind: {kind}\n    select: {select}\n{extra}", "s.yaml"))
    resolved = resolve(scenario, fleet, ap_ids if ap_ids is not None else list(fleet.aps), seed)
    return resolved.hits[0].aps


@pytest.mark.parametrize(("select", "expected"), [
    ("{ap: ['PIL-*']}", {"PIL-CEN-01", "PIL-CEN-02", "PIL-CEN-03"}),
    ("{ap: [C5-0001, 'ESC-0?']}", {"C5-0001", "ESC-01", "ESC-02"}),
    ("{site: [Metro Hidalgo]}", {"MB-HID-01", "MB-HID-02", "C5-HID-01"}),
    ("{site: [s3, 'Poste *']}", {"C5-0001", "C5-0002"}),
    ("{district: [cuauhtémoc]}", {"PIL-CEN-01", "PIL-CEN-02", "PIL-CEN-03", "MB-HID-01", "MB-HID-02", "C5-HID-01"}),
    ("{district: Milpa}", {"C5-0003"}),
    ("{program: [transporte]}", {"MB-HID-01", "MB-HID-02"}),
    ("{program: [Escuelas, Pilares]}", {"ESC-01", "ESC-02", "PIL-CEN-01", "PIL-CEN-02", "PIL-CEN-03"}),
    ("{district: [Cuauhtemoc], program: [Poste C5]}", {"C5-HID-01"}),
    ("{site: ['Metro*'], ap: ['MB-*'], program: [Transporte]}", {"MB-HID-01", "MB-HID-02"}),
    ("{zone: [sur]}", {"C5-0003"}),
    ("{zone: [Iztapalapa]}", {"C5-0001", "C5-0002"}),  # no zone settings: a district is its own zone
    ("{}", set(small_fleet().aps)),
])
def test_filters_match_like_the_cli(tmp_path: Path, select: str, expected: set[str]) -> None:
    assert set(hits_of(tmp_path, select)) == expected


def test_count_and_fraction_pick_among_the_matches(tmp_path: Path) -> None:
    c5 = {"C5-HID-01", "C5-0001", "C5-0002", "C5-0003", "C5-0004"}
    picked = hits_of(tmp_path, "{program: [Poste C5], count: 2}")
    assert len(picked) == 2 and set(picked) <= c5
    assert set(hits_of(tmp_path, "{program: [Poste C5], count: 50}")) == c5  # all, when fewer match
    assert len(hits_of(tmp_path, "{fraction: 0.5}")) == 6  # of 12
    assert len(hits_of(tmp_path, "{fraction: 0.25}")) == 3  # 3.0
    assert len(hits_of(tmp_path, "{program: [Poste C5], fraction: 0.5}")) == 3  # 2.5 rounds up
    assert len(hits_of(tmp_path, "{program: [Poste C5], fraction: 0.1}")) == 1  # 0.5 rounds up
    assert len(hits_of(tmp_path, "{fraction: 0.01}")) == 1  # 0.12: at least one
    assert set(hits_of(tmp_path, "{fraction: 1}")) == set(small_fleet().aps)
    draws = {hits_of(tmp_path, "{count: 3}", seed=seed) for seed in range(20)}
    assert len(draws) > 10  # the seed matters
    assert hits_of(tmp_path, "{count: 3}", seed=5) == hits_of(tmp_path, "{count: 3}", seed=5)


def test_sites_pick_whole_sites(tmp_path: Path) -> None:
    fleet = small_fleet()
    by_site: dict[str, set[str]] = {}
    for ap in fleet.aps.values():
        by_site.setdefault(ap.site_id, set()).add(ap.id)
    for seed in range(10):
        picked = set(hits_of(tmp_path, "{sites: 2}", seed=seed))
        sites = {fleet.aps[a].site_id for a in picked}
        assert len(sites) == 2 and picked == set().union(*(by_site[s] for s in sites))
        picked = set(hits_of(tmp_path, "{site_fraction: 0.5}", seed=seed))  # 3.5 of 7 sites -> 4
        assert len({fleet.aps[a].site_id for a in picked}) == 4
    # Without power, a site pick hits only the matching APs there.
    assert set(hits_of(tmp_path, "{district: [Cuauhtemoc], program: [Poste C5], sites: 1}")) == {"C5-HID-01"}


def test_power_darkens_every_ap_of_the_chosen_sites(tmp_path: Path) -> None:
    assert set(hits_of(tmp_path, "{program: [Transporte], sites: 1}", "power")) == {
        "MB-HID-01", "MB-HID-02", "C5-HID-01"}
    assert set(hits_of(tmp_path, "{ap: [MB-HID-01], site_fraction: 1}", "power")) == {
        "MB-HID-01", "MB-HID-02", "C5-HID-01"}
    assert set(hits_of(tmp_path, "{site: [s1, Poste 2]}", "power")) == {
        "PIL-CEN-01", "PIL-CEN-02", "PIL-CEN-03", "C5-0002"}
    # ...every simulated AP, that is: a partial simulation only darkens the APs it serves.
    assert set(hits_of(tmp_path, "{site: [s2]}", "power", ap_ids=["MB-HID-02", "C5-HID-01", "ESC-01"])) == {
        "MB-HID-02", "C5-HID-01"}


def test_selection_is_among_the_simulated_aps(tmp_path: Path) -> None:
    simulated = ["PIL-CEN-01", "C5-0001", "C5-0002", "ESC-01"]
    assert set(hits_of(tmp_path, "{}", ap_ids=simulated)) == set(simulated)
    assert set(hits_of(tmp_path, "{program: [Poste C5], count: 5}", ap_ids=simulated)) == {"C5-0001", "C5-0002"}
    assert hits_of(tmp_path, "{program: [Transporte]}", ap_ids=simulated) == ()  # matches the fleet, not these
    assert len(hits_of(tmp_path, "{fraction: 0.5}", ap_ids=simulated)) == 2


def test_faults_on_one_ap_combine(tmp_path: Path) -> None:
    fleet = small_fleet()
    path = scenario_file(tmp_path, """
  - {kind: down, select: {ap: [ESC-01]}, at: 10, for: 20}
  - {kind: down, select: {ap: [ESC-01]}, at: 25s, for: 15s}
  - {kind: power, select: {site: [s5]}, at: 40, for: 10}
  - {kind: down, select: {ap: [ESC-01]}, at: 1m, for: 1m}
  - {kind: latency, select: {ap: [ESC-01]}, ms: [20, 40]}
  - {kind: latency, select: {ap: [ESC-01]}, ms: [10, 80]}
  - {kind: loss, select: {ap: [ESC-01]}, probability: 0.5}
  - {kind: loss, select: {ap: [ESC-01]}, probability: 0.2}
  - {kind: slow_uplink, select: {ap: [ESC-01]}, mbps: 100}
  - {kind: slow_uplink, select: {ap: [ESC-01]}, mbps: 10}
  - {kind: crowded, select: {ap: [ESC-01]}, factor: 2}
  - {kind: crowded, select: {ap: [ESC-01]}, factor: 1.5}
  - {kind: reboot_loop, select: {ap: [ESC-01]}, every: 10m, down: 1m}
  - {kind: reboot_loop, select: {ap: [ESC-01]}, every: 5m, down: 30s}
  - {kind: wrap32, select: {ap: [ESC-01]}}
""")
    resolved = resolve(load_scenario(path), fleet, list(fleet.aps), seed=3)
    plan = resolved["ESC-01"]
    assert plan.down == (Window(10, 50), Window(60, 120))  # 10-30, 25-40 and 40-50 touch: one window
    assert plan.latency_ms == (20, 80)
    assert plan.loss == pytest.approx(0.6)  # 1 - 0.5 * 0.8
    assert plan.link_mbps == 10
    assert plan.clients_factor == 3
    assert (plan.reboot_every_s, plan.reboot_down_s) == (300, 30)  # the later loop replaces the earlier
    assert 0 <= plan.reboot_phase_s < 300
    assert plan.wrap32 and plan.flap_period_s is None
    assert resolved["ESC-02"] == ApFaults(down=(Window(40, 50),))
    assert set(resolved) == {"ESC-01", "ESC-02"}
    assert [row["aps"] for row in describe(load_scenario(path), resolved)][:3] == [1, 1, 2]


# --- the plans' timing ----------------------------------------------------------------------------


def test_down_windows_are_half_open_and_may_be_endless() -> None:
    plan = ApFaults(down=(Window(60, 120), Window(300, math.inf)))
    assert [plan.answering(t) for t in (0, 59.999, 60, 119.999, 120, 299.999, 300, 1e9)] == [
        True, True, False, False, True, True, False, False]
    assert plan.last_boot(500) is None
    assert ApFaults().answering(0) and ApFaults().answering(1e12)


def test_reboot_loop_periods_with_phase() -> None:
    plan = ApFaults(reboot_every_s=180, reboot_down_s=60, reboot_phase_s=30)
    expected = {0: True, 29.999: True, 30: False, 89.999: False, 90: True, 209.999: True, 210: False,
                269.999: False, 270: True, 1830: False, 1890: True}
    assert {t: plan.answering(t) for t in expected} == expected
    # Boots at 90, 270, 450, ...; before the first reboot, the previous period's boot (-90).
    assert [plan.last_boot(t) for t in (0, 29.999, 90, 100, 269.999, 270, 449.999, 450, 1890)] == [
        -90, -90, 90, 90, 90, 270, 270, 450, 1890]
    for t in range(0, 2000, 7):  # whenever it answers, it booted at most one period ago
        boot = plan.last_boot(t)
        assert boot is not None and boot <= t
        if plan.answering(t):
            assert t - boot < 180 - 60


def test_flapping_duty_cycle_with_phase() -> None:
    plan = ApFaults(flap_period_s=120, flap_down_s=40, flap_phase_s=100)
    expected = {0: False, 19.999: False, 20: True, 99.999: True, 100: False, 139.999: False, 140: True,
                220: False, 260: True}
    assert {t: plan.answering(t) for t in expected} == expected
    grid = [i / 4 for i in range(4 * 1200)]  # ten whole periods, sampled every 0.25 s
    assert 3 * sum(not plan.answering(t) for t in grid) == len(grid)  # down a third of the time


def test_windows_loops_and_flaps_add_up() -> None:
    plan = ApFaults(down=(Window(0, 10),), reboot_every_s=100, reboot_down_s=5, reboot_phase_s=50,
                    flap_period_s=60, flap_down_s=6, flap_phase_s=30)
    down = [t for t in range(0, 200) if not plan.answering(t)]
    assert down == [*range(0, 10), *range(30, 36), *range(50, 55), *range(90, 96), *range(150, 156)]


def test_resolved_phases_spread_and_stay_in_their_period(tmp_path: Path) -> None:
    fleet = small_fleet()
    path = scenario_file(tmp_path, "  - {kind: flapping, period: 6m, down: 2m}\n"
                                   "  - {kind: reboot_loop, every: 20m, down: 90s}\n")
    resolved = resolve(load_scenario(path), fleet, list(fleet.aps), seed=11)
    flaps = [p.flap_phase_s for p in resolved.values()]
    boots = [p.reboot_phase_s for p in resolved.values()]
    assert len(flaps) == 12 and all(0 <= f < 360 for f in flaps) and all(0 <= b < 1200 for b in boots)
    assert len(set(flaps)) == 12 and max(flaps) - min(flaps) > 120
    assert all(p.flap_down_s == 120 and p.reboot_down_s == 90 for p in resolved.values())
    again = resolve(load_scenario(path), fleet, list(fleet.aps), seed=11)
    assert again == resolved
    assert resolve(load_scenario(path), fleet, list(fleet.aps), seed=12) != resolved


@pytest.mark.parametrize(("text", "seconds"), [
    (90, 90), (1.5, 1.5), ("45s", 45), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400),
    ("0.5m", 30), ("120", 120), (" 3 m ", 180),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


# --- errors: file name and key path ---------------------------------------------------------------

LOAD_ERRORS = [
    ("fault: []", "bad.yaml: fault: unknown key; did you mean 'faults'?"),
    ("faults: {kind: down}", "bad.yaml: faults: expected a list of faults"),
    ("seed: seven", "bad.yaml: seed: expected an integer, got 'seven'"),
    ("seed: true", "bad.yaml: seed: expected an integer, got True"),
    ("[1, 2]", "bad.yaml: expected a mapping with keys name, description, seed, faults"),
    ("name: [x]", "bad.yaml: name: expected a string"),
    ("faults: [down]", "bad.yaml: faults[0]: expected a mapping with kind"),
    ("faults: [{select: {count: 1}}]", "bad.yaml: faults[0]: missing kind"),
    ("faults: [{kind: dwn}]", "bad.yaml: faults[0].kind: unknown fault kind 'dwn'; did you mean 'down'?"),
    ("faults: [{kind: down}, {kind: latency, ms: [1, 2], at: 1m}]",
     "bad.yaml: faults[1].at: unknown key for a latency fault"),
    ("faults: [{kind: down, selct: {count: 1}}]", "bad.yaml: faults[0].selct: unknown key for a down fault; "
                                                  "did you mean 'select'?"),
    ("faults: [{kind: down, select: {programme: [x]}}]",
     "bad.yaml: faults[0].select.programme: unknown key; did you mean 'program'?"),
    ("faults: [{kind: down, select: [x]}]", "bad.yaml: faults[0].select: expected a mapping"),
    ("faults: [{kind: down, at: -5m}]", "bad.yaml: faults[0].at: negative duration '-5m'"),
    ("faults: [{kind: down, at: -3}]", "bad.yaml: faults[0].at: negative duration -3"),
    ("faults: [{kind: power, select: {sites: 1}, for: 10 minutes}]",
     "bad.yaml: faults[0].for: not a duration: '10 minutes'"),
    ("faults: [{kind: down, for: 0s}]", "bad.yaml: faults[0].for: must be longer than 0s"),
    ("faults: [{kind: down, for: .inf}]", "bad.yaml: faults[0].for: not a finite duration"),
    ("faults: [{kind: down, at: true}]", "bad.yaml: faults[0].at: expected a duration"),
    ("faults: [{kind: loss, probability: 1.5}]", "bad.yaml: faults[0].probability: 1.5 is outside [0, 1]"),
    ("faults: [{kind: loss, probability: -0.1}]", "bad.yaml: faults[0].probability: -0.1 is outside [0, 1]"),
    ("faults: [{kind: loss, probability: high}]", "bad.yaml: faults[0].probability: expected a number, got 'high'"),
    ("faults: [{kind: loss}]", "bad.yaml: faults[0]: missing probability"),
    ("faults: [{kind: latency, ms: [80, 20]}]", "bad.yaml: faults[0].ms: min 80 is greater than max 20"),
    ("faults: [{kind: latency, ms: [20, x]}]", "bad.yaml: faults[0].ms[1]: expected a number, got 'x'"),
    ("faults: [{kind: latency, ms: [1, 2, 3]}]", "bad.yaml: faults[0].ms: expected [min, max] milliseconds"),
    ("faults: [{kind: latency}]", "bad.yaml: faults[0]: missing ms"),
    ("faults: [{kind: latency, ms: -5}]", "bad.yaml: faults[0].ms: -5 is outside [0, 60000]"),
    ("faults: [{kind: down, select: {count: 0}}]", "bad.yaml: faults[0].select.count: expected a whole number >= 1, "
                                                   "got 0"),
    ("faults: [{kind: down, select: {count: 2.5}}]", "bad.yaml: faults[0].select.count: expected a whole number"),
    ("faults: [{kind: down, select: {fraction: 0}}]", "bad.yaml: faults[0].select.fraction: 0 is outside (0, 1]"),
    ("faults: [{kind: down, select: {fraction: 2}}]", "bad.yaml: faults[0].select.fraction: 2 is outside (0, 1]"),
    ("faults: [{kind: down, select: {site_fraction: 0.0}}]",
     "bad.yaml: faults[0].select.site_fraction: 0.0 is outside (0, 1]"),
    ("faults: [{kind: down, select: {fraction: 0.1, count: 3}}]",
     "bad.yaml: faults[0].select.count: give at most one of fraction, count, sites, site_fraction (also got fraction)"),
    ("faults: [{kind: down, select: {sites: [PILARES]}}]",
     "bad.yaml: faults[0].select.sites: expected a whole number >= 1, got ['PILARES']; it is how many whole sites "
     "to pick (to name sites use site: [...])"),
    ("faults: [{kind: down}, {kind: power, select: {fraction: 0.1}}]",
     "bad.yaml: faults[1].select.fraction: a power cut takes whole sites: use sites: N or site_fraction: f"),
    ("faults: [{kind: power, select: {district: [Iztapalapa], count: 3}}]",
     "bad.yaml: faults[0].select.count: a power cut takes whole sites"),
    ("faults: [{kind: power, select: {district: [Iztapalapa]}}]",
     "bad.yaml: faults[0].select: a power cut takes whole sites: give sites: N, site_fraction: f or site: [...]"),
    ("faults: [{kind: power}]", "bad.yaml: faults[0].select: a power cut takes whole sites"),
    ("faults: [{kind: reboot_loop, every: 3m, down: 5m}]",
     "bad.yaml: faults[0].down: 5m must be shorter than every (3m)"),
    ("faults: [{kind: flapping, period: 2m, down: 2m}]",
     "bad.yaml: faults[0].down: 2m must be shorter than period (2m)"),
    ("faults: [{kind: flapping, down: 2m}]", "bad.yaml: faults[0]: missing period"),
    ("faults: [{kind: reboot_loop, every: 0, down: 0}]", "bad.yaml: faults[0].every: must be longer than 0s"),
    ("faults: [{kind: down, select: {program: [{x: 1}]}}]",
     "bad.yaml: faults[0].select.program[0]: expected a name or id, got {'x': 1}"),
    ("faults: [{kind: down, select: {program: [Pilares, '']}}]",
     "bad.yaml: faults[0].select.program[1]: expected a name or id, got ''"),
    ("faults: [{kind: down, select: {district: 3.5}}]",
     "bad.yaml: faults[0].select.district: expected a name or id, got 3.5"),
    ("faults: [{kind: down, select: {program: []}}]", "bad.yaml: faults[0].select.program: empty list"),
    ("faults: [{kind: crowded, factor: 0}]", "bad.yaml: faults[0].factor: 0 is outside (0, 1000]"),
    ("faults: [{kind: crowded}]", "bad.yaml: faults[0]: missing factor"),
    ("faults: [{kind: slow_uplink, mbps: 100.5}]", "bad.yaml: faults[0].mbps: expected a whole number >= 1"),
    ("faults: [{kind: down, select: {count: 1}}", "bad.yaml: not valid YAML (line 1, column 42)"),
    ("", "bad.yaml: empty scenario"),
]


@pytest.mark.parametrize(("text", "message"), LOAD_ERRORS, ids=[m.split(": ", 2)[1] + f"-{i}"
                                                                 for i, (_, m) in enumerate(LOAD_ERRORS)])
def test_load_errors_name_the_file_and_key_path(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_scenario(write(tmp_path / "bad.yaml", text))
    assert str(caught.value).startswith(message), str(caught.value)


def test_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read scenario"):
        load_scenario(tmp_path / "missing.yaml")


RESOLVE_ERRORS = [
    ("{program: [Transprte]}",
     f"bad.yaml: faults[1].select.program[0]: 'Transprte': no such programme in the inventory; "
     f"known: Escuelas, Pilares, Poste C5, {TRANSPORTE}"),
    ("{program: [Pilares, Escuelaz]}",
     "bad.yaml: faults[1].select.program[1]: 'Escuelaz': no such programme in the inventory; "
     "did you mean 'Escuelas'?"),
    ("{district: Itzapalapa}",
     "bad.yaml: faults[1].select.district: 'Itzapalapa': no such district in the inventory; "
     "did you mean 'Iztapalapa'?"),
    ("{district: [Cuauhtemoc, mi]}",
     "bad.yaml: faults[1].select.district[1]: 'mi' matches 2 districts: Miguel Hidalgo, Milpa Alta; "
     "be more specific"),
    ("{zone: [norte]}", "bad.yaml: faults[1].select.zone[0]: 'norte': no such crew zone in the inventory"),
    ("{ap: [PIL-CEN-01, PIL-CEN-04]}",
     "bad.yaml: faults[1].select.ap[1]: no AP 'PIL-CEN-04' in the inventory; did you mean"),
    ("{ap: ['XYZ-*']}", "bad.yaml: faults[1].select.ap[0]: 'XYZ-*' matches no AP in the inventory"),
    ("{site: [s1, Metro Hidalgoo]}",
     "bad.yaml: faults[1].select.site[1]: no site 'Metro Hidalgoo' in the inventory (by site id or name; "
     "names match exactly); did you mean 'Metro Hidalgo'?"),
    ("{site: 'Nada*'}", "bad.yaml: faults[1].select.site: 'Nada*' matches no site id or name in the inventory"),
    ("{district: [Iztapalapa], program: [Pilares]}",
     "bad.yaml: faults[1].select: district: Iztapalapa; program: Pilares: these filters together match no AP "
     "in the inventory"),
]


@pytest.mark.parametrize(("select", "message"), RESOLVE_ERRORS)
def test_select_errors_name_the_file_and_key_path(tmp_path: Path, select: str, message: str) -> None:
    fleet = small_fleet()
    scenario = load_scenario(scenario_file(tmp_path, f"  - kind: wrap32\n  - kind: down\n    select: {select}\n"))
    with pytest.raises(ConfigError) as caught:
        resolve(scenario, fleet, list(fleet.aps), seed=1)
    assert str(caught.value).startswith(message), str(caught.value)


def test_every_shipped_scenario_loads_and_resolves(cdmx: Fleet) -> None:
    # resolved as `simulate --controllers 4` resolves it: four districts behind controllers
    groups = plan_controllers(cdmx, list(cdmx.aps.values()), 4)
    managed = [ap.id for _, members in groups for ap in members]
    assert len(groups) == 4 and len(managed) > 4_000
    for path in sorted(shipped_scenarios_dir().glob("*.yaml")):
        resolved = resolve(load_scenario(path), cdmx, list(cdmx.aps), seed=1, managed=managed,
                           controllers=[row.id for row, _ in groups])
        counts = Counter(h.kind for h in resolved.hits if h.aps)
        assert sum(counts.values()) == len(load_scenario(path).faults), path


# --- the controller faults ------------------------------------------------------------------------


def test_controller_faults_load_resolve_and_time(tmp_path: Path) -> None:
    fleet = small_fleet()
    path = scenario_file(tmp_path, """
  - {kind: ap_leave, select: {ap: [PIL-CEN-01, C5-0001]}, at: 30s, for: 1m}
  - {kind: radio_down, select: {ap: ['PIL-*']}, band: 5GHz, at: 10}
  - {kind: interference, select: {ap: [ESC-01]}, utilization: 35, noise: 12, for: 2m}
  - {kind: controller_down, controllers: ['WLC-2*'], at: 1m, for: 5m}
  - {kind: controller_down, controllers: ['WLC-1*'], count: 1}
""")
    scenario = load_scenario(path)
    managed = ["PIL-CEN-01", "PIL-CEN-02", "PIL-CEN-03", "ESC-01"]  # C5-0001 is polled directly: it cannot leave
    resolved = resolve(scenario, fleet, list(fleet.aps), seed=5, managed=managed,
                       controllers=["WLC-1", "WLC-20", "WLC-21"])
    leave = resolved["PIL-CEN-01"]
    assert leave.left == (Window(30, 90),)
    assert [leave.joined(t) for t in (29.9, 30, 89.9, 90)] == [True, False, False, True]
    assert "C5-0001" not in resolved
    assert [resolved[ap].radio_down for ap in ("PIL-CEN-02", "PIL-CEN-03")] == [(("5GHz", Window(10, math.inf)),)] * 2
    assert not leave.radio_up("5GHz", 11) and leave.radio_up("2.4GHz", 11)
    noisy = resolved["ESC-01"]
    assert noisy.interfered(60) == (35, 12) and noisy.interfered(120) == (0, 0)
    assert resolved["WLC-20"].down[0] == Window(60, 360) and resolved["WLC-21"].down[0] == Window(60, 360)
    assert not resolved["WLC-20"].answering(61) and resolved["WLC-20"].answering(360)
    assert [h.aps for h in resolved.hits][:4] == [("PIL-CEN-01",), ("PIL-CEN-01", "PIL-CEN-02", "PIL-CEN-03"),
                                                  ("ESC-01",), ("WLC-20", "WLC-21")]
    assert resolved.hits[4].aps == ("WLC-1",)  # 'WLC-1*' names one of the three
    assert resolved["WLC-1"].down == (Window(0, math.inf),)
    rows = describe(scenario, resolved)
    assert rows[1]["parameters"] == {"at_s": 10, "for_s": None, "band": "5GHz"}
    assert rows[3]["parameters"] == {"at_s": 60, "for_s": 300, "controllers": ["WLC-2*"], "count": None}


@pytest.mark.parametrize(("text", "message"), [
    ("  - {kind: radio_down, band: 6GHz}\n", "bad.yaml: faults[0].band: expected one of 2.4GHz, 5GHz, all"),
    ("  - {kind: interference, utilization: 120}\n", "bad.yaml: faults[0].utilization: 120 is outside"),
    ("  - {kind: controller_down, select: {count: 1}}\n", "bad.yaml: faults[0].select: a controller_down fault"),
    ("  - {kind: controller_down, controllers: []}\n", "bad.yaml: faults[0].controllers: empty list"),
    ("  - {kind: ap_leave, every: 1m}\n", "bad.yaml: faults[0]"),
])
def test_controller_fault_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_scenario(scenario_file(tmp_path, text))
    assert str(caught.value).startswith(message), str(caught.value)
