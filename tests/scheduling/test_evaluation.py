"""The Evaluator on a real store, fed a cycle's outcomes as the cycle builds them (ApOutcome, PollError).

What a failed poll means is its PollError's kind (collectors.model.failure_class): only silence may
lead to DOWN. And an outage closes as of its APs' return, within up_after cycles of it.
"""

from __future__ import annotations

import pytest

from hotspotctl.collectors.model import PollError
from hotspotctl.evaluate.rates import RateSample
from hotspotctl.inventory.fleet import CrewZones, Fleet
from hotspotctl.inventory.importer import import_inventory
from hotspotctl.scheduling.cycle import ApOutcome
from hotspotctl.scheduling.evaluation import Evaluator
from hotspotctl.settings import EvaluateSettings
from hotspotctl.store.outages import list_outages, load_availability, load_health
from tests.conftest import write

T0 = 1_795_330_800.0  # 2026-11-22T07:00:00Z, the top of an hour
STEP = 60.0
INVENTORY = """id,lat,lon,site,alcaldia,programa
SOLO-1,19.41,-99.10,SOLO,Iztapalapa,Escuelas
PLAZA-1,19.38,-99.10,PLAZA,Iztapalapa,Pilares
PLAZA-2,19.38,-99.10,PLAZA,Iztapalapa,Pilares
PLAZA-3,19.38,-99.10,PLAZA,Iztapalapa,Pilares
"""


@pytest.fixture
def fleet(store, rules, tmp_path) -> Fleet:
    import_inventory(store, write(tmp_path / "aps.csv", INVENTORY), rules)
    return Fleet.load(store, CrewZones({}, {}))


def answered(ap, at: float, clients: int = 4) -> ApOutcome:
    """Healthy: a gigabit link and few enough clients to meet the 200 Mb/s target."""
    rate = RateSample(ap=ap.id, at=at, interval_s=STEP, uptime_s=1000.0, in_bps=1e6, out_bps=2e6, clients=clients,
                      link_mbps=1000.0, capacity_mbps=1000.0, per_user_mbps=1000.0 / clients,
                      delivered_per_user_mbps=0.4, rebooted=False, events=())
    return ApOutcome(ap, "generic", rate, None, 3.0)


def failed(ap, at: float, kind: str, message: str = "") -> ApOutcome:
    return ApOutcome(ap, "generic", None, PollError(ap.id, at, kind, message or f"{ap.id}: {kind}"))


def evaluator(store, fleet: Fleet, **rules) -> Evaluator:
    return Evaluator(store, EvaluateSettings(**rules), sorted(fleet.aps.values(), key=lambda ap: ap.id), fleet.zones)


def test_only_silence_makes_an_ap_down_and_a_misconfigured_one_leaves_its_outage(store, fleet):
    solo = fleet.aps["SOLO-1"]
    ev = evaluator(store, fleet)
    others = [answered(fleet.aps[f"PLAZA-{i}"], 0) for i in (1, 2, 3)]
    at = T0
    for _ in range(2):  # down_after = 2 silent cycles
        result = ev.evaluate([failed(solo, at, "timeout"), *others], at)
        at += STEP
    assert result.states == {"down": 1, "up": 3}
    assert [(o.site, o.cause, o.aps) for o in result.ledger.opened] == [("SOLO", "offline", ("SOLO-1",))]

    # the credentials changed: it answers, with a wrong-digest report: not a crew matter any more
    wrong = "127.0.0.9:161: authentication failed (wrong v3 keys), auth set 'city-v3'"
    result = ev.evaluate([failed(solo, at, "auth", wrong), *others], at)
    assert result.states == {"misconfigured": 1, "up": 3}
    assert result.reasons == {"auth": 1} and result.causes == {}
    assert [(o.site, o.closed_at) for o in result.ledger.closed] == [("SOLO", at)]  # it left the outage now
    health = ev.healths["SOLO-1"]
    assert (health.state, health.reason_kind, health.reason, health.causes, health.misses) == (
        "misconfigured", "auth", wrong, (), 0)
    misconfigured_at = at
    at += STEP

    # waiting out its back-off (a silent kind): it stays what it was when last tried
    result = ev.evaluate([failed(solo, at, "backoff", "down for 2 cycles"), *others], at)
    assert result.states == {"misconfigured": 1, "up": 3} and not result.ledger
    assert ev.healths["SOLO-1"].since == misconfigured_at
    at += STEP

    # fixed: it answers and starts afresh (UNKNOWN -> UP at once), with no outage
    result = ev.evaluate([answered(solo, at), *others], at)
    assert result.states == {"up": 4} and not result.ledger
    assert (ev.healths["SOLO-1"].state, ev.healths["SOLO-1"].reason_kind, ev.healths["SOLO-1"].changes) == (
        "up", None, ())
    with store.read() as conn:
        assert [(o.site, o.open) for o in list_outages(conn)] == [("SOLO", False)]
        assert load_health(conn)["SOLO-1"].state == "up"


@pytest.mark.parametrize(("kind", "state"), [("no_address", "unmonitored"), ("config", "unmonitored"),
                                             ("not_discovered", "unmonitored"), ("auth", "misconfigured"),
                                             ("hostkey", "misconfigured"), ("agent", "misconfigured"),
                                             ("protocol", "misconfigured"), ("refused", "misconfigured")])
def test_unusable_aps_are_never_down_never_stops_never_in_availability(store, fleet, kind, state):
    """A site whose every AP cannot be read (no address, wrong keys ...): no outage, however long it lasts."""
    plaza = [fleet.aps[f"PLAZA-{i}"] for i in (1, 2, 3)]
    ev = evaluator(store, fleet)
    for n in range(5):
        at = T0 + n * STEP
        result = ev.evaluate([*(failed(ap, at, kind, f"{ap.id}: cannot read ({kind})") for ap in plaza),
                              answered(fleet.aps["SOLO-1"], at, clients=3)], at)
        assert result.states == {state: 3, "up": 1} and result.reasons == {kind: 3}
        assert not result.ledger and result.open_outages == 0
    with store.read() as conn:
        assert list_outages(conn) == []
        healths = load_health(conn)
        rows = load_availability(conn, T0)
    assert {ap.id: (healths[ap.id].state, healths[ap.id].reason) for ap in plaza} == {
        ap.id: (state, f"{ap.id}: cannot read ({kind})") for ap in plaza}
    # availability: only SOLO-1, 5 samples all up; its clients counted (for the crews' "usual clients")
    assert [(r["district"], r["program"], r["samples"], r["up"], r["counted"], r["clients"]) for r in rows] == [
        ("Iztapalapa", "Escuelas", 5, 5, 5, 15)]


@pytest.mark.parametrize("up_after", [2, 3])
def test_an_outage_closes_within_up_after_cycles_of_the_return_ending_at_the_return(store, fleet, up_after):
    solo = fleet.aps["SOLO-1"]
    ev = evaluator(store, fleet, up_after=up_after)
    plaza = [answered(fleet.aps[f"PLAZA-{i}"], 0) for i in (1, 2, 3)]
    at, down_cycles = T0, 4
    for _ in range(down_cycles):
        ev.evaluate([failed(solo, at, "timeout"), *plaza], at)
        at += STEP
    back = at  # the first answered cycle
    for n in range(1, up_after + 1):
        result = ev.evaluate([answered(solo, at), *plaza], at)
        if n < up_after:
            assert result.open_outages == 1 and not result.ledger.closed, f"closed after {n} of {up_after}"
        at += STEP
    [closed] = result.ledger.closed
    assert result.open_outages == 0 and closed.updated_at == back + (up_after - 1) * STEP  # the confirming cycle
    assert (closed.opened_at, closed.closed_at) == (T0, back)  # from the first miss to the first answer
    assert closed.duration_s(at) == down_cycles * STEP
    with store.read() as conn:
        [stored] = list_outages(conn)
    assert (stored.opened_at, stored.closed_at) == (T0, back)


def test_a_site_outage_ends_when_its_last_ap_returned(store, fleet):
    plaza = [fleet.aps[f"PLAZA-{i}"] for i in (1, 2, 3)]
    solo = answered(fleet.aps["SOLO-1"], 0)
    ev = evaluator(store, fleet, up_after=2)
    at = T0
    for _ in range(3):
        result = ev.evaluate([*(failed(ap, at, "timeout") for ap in plaza), solo], at)
        at += STEP
    assert [(o.site, o.cause) for o in ev.open.values()] == [("PLAZA", "site_offline")]
    # PLAZA-1 and -2 come back first, PLAZA-3 one cycle later
    first = at
    ev.evaluate([answered(plaza[0], at), answered(plaza[1], at), failed(plaza[2], at, "timeout"), solo], at)
    at += STEP
    last = at
    for _ in range(2):
        result = ev.evaluate([*(answered(ap, at) for ap in plaza), solo], at)
        at += STEP
    [closed] = result.ledger.closed
    assert first < last and (closed.opened_at, closed.closed_at) == (T0, last)


def test_kinds_are_stored_as_their_plain_strings_and_come_back_as_their_enums(store, fleet):
    """StrEnums in, the same strings as ever in the rows (both backends), members out of the loaders."""
    import sqlalchemy as sa

    from hotspotctl.collectors.model import PollErrorKind
    from hotspotctl.evaluate.status import Cause, HealthState
    from hotspotctl.store.outages import load_open_outages
    from hotspotctl.store.schema import ap_health, outages

    ev = evaluator(store, fleet)
    plaza = [fleet.aps[f"PLAZA-{i}"] for i in (1, 2, 3)]
    for n in range(3):
        at = T0 + n * STEP
        ev.evaluate([*(failed(ap, at, PollErrorKind.TIMEOUT) for ap in plaza),
                     failed(fleet.aps["SOLO-1"], at, PollErrorKind.AUTH, "wrong community")], at)
    with store.read() as conn:
        rows = {row.ap_id: row for row in conn.execute(sa.select(ap_health))}
        (outage_row,) = conn.execute(sa.select(outages)).all()
        healths, (outage,) = load_health(conn), load_open_outages(conn).values()
    assert type(rows["PLAZA-1"].state) is str and rows["PLAZA-1"].state == "down"
    assert (rows["PLAZA-1"].causes, rows["SOLO-1"].state, rows["SOLO-1"].reason_kind) == (
        "offline", "misconfigured", "auth")
    assert (type(outage_row.cause), outage_row.cause, outage_row.causes) == (str, "site_offline", "site_offline,offline")
    assert healths["PLAZA-1"].state is HealthState.DOWN and healths["PLAZA-1"].causes == (Cause.OFFLINE,)
    assert healths["SOLO-1"].reason_kind is PollErrorKind.AUTH
    assert outage.cause is Cause.SITE_OFFLINE and outage.causes == (Cause.SITE_OFFLINE, Cause.OFFLINE)


def test_one_snmp_miss_while_the_ap_answers_ping_is_a_miss_and_only_down_after_in_a_row_are_agent_silent(store, fleet):
    """Answers ping, not SNMP: agent_silent (MISCONFIGURED, the NOC's) only once it has been so ``down_after``
    cycles in a row. One lost exchange of a healthy AP is a miss like any other: it stays UP, in availability,
    with its history (it was MISCONFIGURED at once, out of availability, its history wiped, before c03664b's fix)."""
    from hotspotctl.models.ping import PingResult

    solo = fleet.aps["SOLO-1"]
    ev = evaluator(store, fleet)
    others = [answered(fleet.aps[f"PLAZA-{i}"], 0) for i in (1, 2, 3)]
    pong = PingResult("192.0.2.1", 3, 3, 1.0, 2.0, 3.0, 0.5)
    at = T0
    for _ in range(2):
        ev.evaluate([answered(solo, at), *others], at)
        at += STEP
    up_since = ev.healths["SOLO-1"].since

    def ping_only(at: float) -> ApOutcome:
        return ApOutcome(solo, "generic", None, PollError(solo.id, at, "timeout", "SOLO-1: timeout"), ping=pong)

    result = ev.evaluate([ping_only(at), *others], at)
    health = ev.healths["SOLO-1"]
    assert result.states == {"up": 4} and result.reasons == {} and not result.ledger
    assert (health.state, health.misses, health.since, health.reason_kind) == ("up", 1, up_since, None)
    at += STEP
    result = ev.evaluate([answered(solo, at), *others], at)  # it answers again: nothing happened
    assert result.states == {"up": 4} and ev.healths["SOLO-1"].misses == 0
    at += STEP
    for _ in range(2):  # down_after (2) cycles in a row: its agent, not the AP: MISCONFIGURED, never DOWN
        result = ev.evaluate([ping_only(at), *others], at)
        at += STEP
    health = ev.healths["SOLO-1"]
    assert result.states == {"misconfigured": 1, "up": 3} and result.reasons == {"agent_silent": 1}
    assert (health.state, health.reason_kind, health.reason) == (
        "misconfigured", "agent_silent",
        "answers ping (loss 0%, rtt 2 ms) but not SNMP: check its SNMP agent and credentials")
    assert not result.ledger and result.open_outages == 0
    result = ev.evaluate([ping_only(at), *others], at)  # and stays so while it lasts
    assert result.states == {"misconfigured": 1, "up": 3} and ev.healths["SOLO-1"].since == at - STEP
