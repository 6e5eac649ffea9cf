"""The scheduler's claims checked against an independent exhaustive search (scheduling_oracle.py).

What the engine reports — a status, a weight, a bound — is compared with the true optimum of
instances small enough to enumerate but with real wishes (priorities 1–10, mutual requests,
declines, forcing, availabilities, maxima, few tables, a locked meeting):

- a result called OPTIMAL has the optimum's weight, and its bound is that weight;
- a result not proven (the search cut short by its time limit, or the greedy alone) is not called
  OPTIMAL, and its bound is still an upper bound of the optimum;
- the two bounds of the engine — the LP relaxation (lpbound.py) and the slot-free relaxation
  (relax.py) — are never below the optimum, and the relaxation's pairs, once given slots by
  relax.py's placement, make a schedule that keeps every rule.
"""
from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from services.events.domain.scheduling import (
    LockedMeeting,
    MeetingRequest,
    Participant,
    RequestStatus,
    Role,
    SchedulingOptions,
    SchedulingProblem,
    Slot,
    Status,
    schedule,
)
from services.events.domain.scheduling.core import Core, Placement, build_core, decode
from services.events.domain.scheduling.lpbound import lp_bound
from services.events.domain.scheduling.relax import assign, place_pairs, relaxation

from tests.unit.events import scheduling_oracle as oracle
from tests.unit.events.test_scheduling import assert_rules

T0 = datetime(2024, 3, 12, 9, 0)
ORACLE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENOUGH = SchedulingOptions(time_limit=0.5, num_workers=1)
# The deadline is past before the search starts: the relaxation still runs (it has a floor of its
# own), then the placement without chains; CP-SAT and the LP bound never do. Whatever the
# machine's speed, nothing can prove more than the relaxation's bound.
CUT_SHORT = SchedulingOptions(time_limit=0.01, num_workers=1)
STATUSES = [RequestStatus.ACCEPTED] * 6 + [RequestStatus.PENDING, RequestStatus.DECLINED]


def slot(k: int, tables: int | None = None) -> Slot:
    return Slot(f"s{k}", T0 + timedelta(minutes=20 * k), timedelta(minutes=15), tables)


def person(name: str, role: Role = Role.SUPPLIER, **kwargs) -> Participant:
    return Participant(name, role, f"org-{name}", **kwargs)


@st.composite
def wishful_problems(draw, max_participants: int = 8) -> SchedulingProblem:
    """Instances the oracle enumerates in well under a second: (slots + 1) ** requested pairs ≤ 20,000."""
    n_slots = draw(st.integers(1, 3))
    max_pairs = {1: 12, 2: 9, 3: 7}[n_slots]
    shared_tables = draw(st.none() | st.integers(1, 3))
    slots = tuple(slot(k, None if shared_tables else draw(st.integers(1, 3))) for k in range(n_slots))
    ids = [s.id for s in slots]
    n = draw(st.integers(3, max_participants))
    people = tuple(
        person(f"p{i}", draw(st.sampled_from(list(Role))),
               available=draw(st.none() | st.none() | st.frozensets(st.sampled_from(ids), min_size=1)),
               max_meetings=draw(st.none() | st.none() | st.integers(1, n_slots)))
        for i in range(n))
    all_pairs = list(itertools.combinations(range(n), 2))
    pairs = draw(st.lists(st.sampled_from(all_pairs), min_size=2, max_size=min(max_pairs, len(all_pairs)), unique=True))
    requests = []
    for a, b in pairs:
        directions = draw(st.sampled_from([[(a, b)], [(b, a)], [(a, b), (b, a)]]))  # one side, or mutual
        for x, y in directions:
            requests.append(MeetingRequest(f"p{x}", f"p{y}", draw(st.integers(1, 10)), draw(st.sampled_from(STATUSES)),
                                           draw(st.sampled_from([False] * 9 + [True]))))
    problem = SchedulingProblem(slots, people, tuple(requests), shared_tables)
    # perhaps one locked meeting, where the rules allow it
    if draw(st.booleans()):
        a, b = draw(st.sampled_from(all_pairs))
        s = draw(st.sampled_from(slots))
        pa, pb = people[a], people[b]
        kept_apart = oracle.pair_weights(problem, SchedulingOptions()).get(frozenset((pa.id, pb.id)), 1) == 0 and any(
            r.status is RequestStatus.DECLINED for r in requests if {r.from_, r.to} == {pa.id, pb.id})
        if not kept_apart and all((p.available is None or s.id in p.available) and p.max_meetings != 0 for p in (pa, pb)):
            problem = SchedulingProblem(slots, people, tuple(requests), shared_tables, (LockedMeeting(pa.id, pb.id, s.id),))
    return problem


def locked_placements(problem: SchedulingProblem) -> list[Placement]:
    return [Placement(m.a, m.b, m.slot, m.table, locked=True) for m in problem.locked]


def core_of(problem: SchedulingProblem, options: SchedulingOptions = ENOUGH) -> Core:
    return build_core(problem, options, fixed=locked_placements(problem))


def check_claims(problem: SchedulingProblem, options: SchedulingOptions) -> tuple[Status, int, int, int]:
    """Schedule, check every rule, and compare what the engine claims with the oracle's optimum."""
    result = schedule(problem, options)
    assert_rules(problem, result, options.include_pending)
    q, best = result.quality, oracle.optimum(problem, options)
    assert isinstance(q.status, Status), f"status {q.status!r}"
    assert q.weighted <= best, f"weight {q.weighted} above the optimum {best}: a rule is broken"
    assert q.bound >= best, f"bound {q.bound} below the optimum {best}: not an upper bound"
    assert (q.status is Status.OPTIMAL) == (q.weighted == q.bound), (
        f"{q.status}: weight {q.weighted}, bound {q.bound}: OPTIMAL exactly when the bound is reached")
    if q.status is Status.OPTIMAL:
        assert q.weighted == best == q.bound, f"called OPTIMAL at {q.weighted}, the optimum is {best}"
    else:
        assert q.gap > 0
    if currently_in_test_context():
        event(f"status {q.status}")  # --hypothesis-show-statistics: how often each status came
    return q.status, q.weighted, q.bound, best


# ---------------------------------------------------------------------------------------------
# the oracle itself, on instances small enough to count by hand


def test_the_oracle_counts_weights_and_rules_as_the_model_says() -> None:
    a, b, c = person("a"), person("b"), person("c", Role.BUYER)
    ab, ba = MeetingRequest("a", "b", 4), MeetingRequest("b", "a", 3)
    one_slot = (slot(0),)
    # mutual: both priorities plus the bonus
    assert oracle.optimum(SchedulingProblem(one_slot, (a, b), (ab, ba), tables=1)) == 4 + 3 + 2
    assert oracle.optimum(SchedulingProblem(one_slot, (a, b), (ab, ba), tables=1), SchedulingOptions(mutual_bonus=0)) == 7
    # a decline on either side keeps the pair apart, unless a direction is forced
    declined = MeetingRequest("b", "a", 3, RequestStatus.DECLINED)
    assert oracle.optimum(SchedulingProblem(one_slot, (a, b), (ab, declined), tables=1)) == 0
    assert oracle.optimum(SchedulingProblem(one_slot, (a, b), (MeetingRequest("a", "b", 4, forced=True), declined),
                                            tables=1)) == 4
    # pending counts only with include_pending
    pending = (MeetingRequest("a", "b", 5, RequestStatus.PENDING),)
    assert oracle.optimum(SchedulingProblem(one_slot, (a, b), pending, tables=1)) == 0
    assert oracle.optimum(SchedulingProblem(one_slot, (a, b), pending, tables=1), SchedulingOptions(include_pending=True)) == 5
    # one table, one slot: the heavier pair; two slots: both (a meets b, then c)
    two = (ab, MeetingRequest("a", "c", 6))
    assert oracle.optimum(SchedulingProblem(one_slot, (a, b, c), two, tables=2)) == 6  # a is in one meeting per slot
    assert oracle.optimum(SchedulingProblem((slot(0), slot(1)), (a, b, c), two, tables=1)) == 10
    capped = (person("a", max_meetings=1), b, c)
    assert oracle.optimum(SchedulingProblem((slot(0), slot(1)), capped, two, tables=1)) == 6
    away = (a, person("b", available=frozenset({"s1"})), person("c", available=frozenset({"s1"})))
    assert oracle.optimum(SchedulingProblem((slot(0), slot(1)), away, two, tables=1)) == 6
    # a locked meeting counts its pair's weight and takes its slot
    locked = (LockedMeeting("a", "b", "s0"),)
    assert oracle.optimum(SchedulingProblem(one_slot, (a, b, c), two, tables=2, locked=locked)) == 4
    assert oracle.optimum(SchedulingProblem((slot(0), slot(1)), (a, b, c), two, tables=1, locked=locked)) == 10


# ---------------------------------------------------------------------------------------------
# the engine's status and bound against the optimum


@ORACLE
@given(wishful_problems(), st.booleans())
def test_a_result_called_optimal_has_the_optimum_weight(problem: SchedulingProblem, include_pending: bool) -> None:
    check_claims(problem, SchedulingOptions(time_limit=ENOUGH.time_limit, num_workers=1, include_pending=include_pending))


@ORACLE
@given(wishful_problems())
def test_a_search_cut_short_is_not_called_optimal_unless_its_bound_is_reached(problem: SchedulingProblem) -> None:
    check_claims(problem, CUT_SHORT)


@ORACLE
@given(wishful_problems())
def test_the_greedy_alone_is_called_optimal_only_at_its_bound(problem: SchedulingProblem) -> None:
    check_claims(problem, SchedulingOptions(use_solver=False))


def cut_short_instance() -> SchedulingProblem:
    """A triangle a–d–e (nobody can meet both others in the two slots it shares with them) the
    slot-free relaxation takes whole: its bound (36) is above the optimum (31) until CP-SAT
    proves otherwise."""
    people = (person("a"), person("b", available=frozenset({"s0"})), person("c"), person("d"), person("e"))
    requests = (MeetingRequest("a", "d", 7), MeetingRequest("d", "a", 2), MeetingRequest("b", "c", 8),
                MeetingRequest("e", "d", 5), MeetingRequest("a", "e", 5), MeetingRequest("c", "a", 7))
    return SchedulingProblem((slot(0, 1), slot(1, 1), slot(2, 3)), people, requests)


def test_a_search_cut_short_reports_feasible_with_a_valid_bound() -> None:
    problem = cut_short_instance()
    assert oracle.optimum(problem) == 31
    result = schedule(problem, CUT_SHORT)
    assert_rules(problem, result)
    q = result.quality
    assert q.status is Status.FEASIBLE, "not proven: the relaxation's bound is not reached"
    assert (q.weighted, q.bound) == (31, 36)  # the optimum found, the relaxation's bound kept
    assert q.gap == pytest.approx(5 / 36)


def test_unproven_results_on_odd_cycles_are_not_called_optimal() -> None:
    """Disjoint triangles, two slots: the relaxations take each triangle whole (weight 6), a
    schedule holds two of its meetings (5); the greedy alone, or a search cut short, cannot know."""
    people = tuple(person(f"t{k}{x}") for k in range(3) for x in "xyz")
    requests = tuple(MeetingRequest(f"t{k}{x}", f"t{k}{y}", w) for k in range(3)
                     for (x, y), w in ((("x", "y"), 3), (("y", "z"), 2), (("x", "z"), 1)))
    problem = SchedulingProblem((slot(0), slot(1)), people, requests, tables=9)
    assert oracle.optimum(problem) == 15
    for options in (CUT_SHORT, SchedulingOptions(use_solver=False)):
        status, weighted, bound, best = check_claims(problem, options)
        assert status is not Status.OPTIMAL and weighted <= best < bound, options


def test_a_greedy_answer_at_its_bound_is_optimal() -> None:
    problem = SchedulingProblem((slot(0), slot(1)), (person("a"), person("b"), person("c")),
                                (MeetingRequest("a", "b", 4), MeetingRequest("c", "a", 2)), tables=1)
    status, weighted, bound, best = check_claims(problem, SchedulingOptions(use_solver=False))
    assert (status, weighted, bound, best) == (Status.OPTIMAL, 6, 6, 6)


# ---------------------------------------------------------------------------------------------
# lpbound.py: the LP relaxation of the full model


@ORACLE
@given(wishful_problems())
def test_the_lp_bound_is_never_below_the_optimum(problem: SchedulingProblem) -> None:
    core = core_of(problem)
    bound = lp_bound(core, 5.0)
    assert bound is not None
    best = oracle.optimum(problem)
    assert bound + core.fixed_weight >= best
    assert bound <= sum(p.weight for p in core.pairs if p.allowed), "above every pair met"


def test_the_lp_bound_of_known_instances() -> None:
    x, y, z = person("x"), person("y"), person("z")
    triangle = (MeetingRequest("x", "y", 3), MeetingRequest("y", "z", 2), MeetingRequest("x", "z", 1))
    # two slots: every meeting at half in each slot fits the LP (6); a schedule holds two (5)
    problem = SchedulingProblem((slot(0), slot(1)), (x, y, z), triangle, tables=3)
    assert (lp_bound(core_of(problem), 5.0), oracle.optimum(problem)) == (6, 5)
    # one table: one meeting per slot, the two heaviest
    problem = SchedulingProblem((slot(0), slot(1)), (x, y, z), triangle, tables=1)
    assert lp_bound(core_of(problem), 5.0) == oracle.optimum(problem) == 5
    # three disjoint pairs, one slot of two tables: the two heaviest
    six = tuple(person(f"q{i}") for i in range(6))
    pairs = (MeetingRequest("q0", "q1", 5), MeetingRequest("q2", "q3", 3), MeetingRequest("q4", "q5", 2))
    problem = SchedulingProblem((slot(0),), six, pairs, tables=2)
    assert lp_bound(core_of(problem), 5.0) == oracle.optimum(problem) == 8
    # one meeting per person and slot: x, here in s0 only, meets one of y and z
    alone = SchedulingProblem((slot(0), slot(1)), (person("x", available=frozenset({"s0"})), y, z),
                              triangle[0:1] + triangle[2:], tables=3)
    assert lp_bound(core_of(alone), 5.0) == oracle.optimum(alone) == 3
    # a maximum of one meeting: the heavier of x's two
    capped = SchedulingProblem((slot(0), slot(1)), (person("x", max_meetings=1), y, z), triangle[0:1] + triangle[2:], tables=3)
    assert lp_bound(core_of(capped), 5.0) == oracle.optimum(capped) == 3
    # bipartite, one slot: the LP is integral, the bound is the optimum
    buyers = tuple(person(f"b{i}", Role.BUYER) for i in range(2))
    sellers = tuple(person(f"s{i}") for i in range(2))
    wishes = (MeetingRequest("b0", "s0", 4), MeetingRequest("b0", "s1", 3), MeetingRequest("b1", "s0", 5))
    problem = SchedulingProblem((slot(0),), buyers + sellers, wishes, tables=2)
    assert lp_bound(core_of(problem), 5.0) == oracle.optimum(problem) == 8


def test_the_lp_bound_keeps_a_must_pair_and_counts_its_keep_bonus() -> None:
    """Re-planning: a pair that must stay (weight 0: nobody asked) takes x's only meeting."""
    problem = SchedulingProblem((slot(0), slot(1)), (person("x", max_meetings=1), person("y"), person("z")),
                                (MeetingRequest("x", "z", 5),), tables=2)
    free = build_core(problem, SchedulingOptions(), fixed=[])
    assert lp_bound(free, 5.0) == 5
    kept = build_core(problem, SchedulingOptions(), fixed=[], must=[Placement("x", "y", "s0")])
    assert lp_bound(kept, 5.0) == 0
    assert lp_bound(kept, 5.0, keep_bonus=4) == 4  # it stays in its place: the bonus is earned


# ---------------------------------------------------------------------------------------------
# relax.py: the slot-free relaxation, its placement and the CP-SAT assignment


def assert_placement(core: Core, placed: list[tuple[int, int]]) -> None:
    """A placement of candidate pairs keeps the core's rules (checked here, not by the engine)."""
    per_slot, per_person, seen = Counter(), Counter(), set()
    for i, s in placed:
        p = core.pairs[i]
        assert s in p.allowed, f"pair {i} placed in slot {s}, not one of {p.allowed}"
        assert i not in seen, f"pair {i} placed twice"
        seen.add(i)
        per_slot[s] += 1
        for q in (p.a, p.b):
            assert s not in core.busy[q], f"participant {q} has a fixed meeting in slot {s}"
            per_person[q, s] += 1
            per_person[q] += 1
    assert all(n <= core.tables[s] for s, n in per_slot.items())
    assert all(n <= 1 for k, n in per_person.items() if isinstance(k, tuple)), "a participant twice in a slot"
    assert all(n <= core.cap[k] for k, n in per_person.items() if not isinstance(k, tuple))


@ORACLE
@given(wishful_problems())
def test_the_relaxation_bounds_the_optimum_and_its_pairs_make_a_valid_schedule(problem: SchedulingProblem) -> None:
    core = core_of(problem)
    chosen, bound = relaxation(core, 5.0, lambda: [], 0, 1, 0)
    assert chosen is not None and bound is not None
    best = oracle.optimum(problem)
    assert bound + core.fixed_weight >= best, f"relaxation bound {bound} + {core.fixed_weight} below {best}"
    weight = sum(core.pairs[i].weight for i in chosen)
    assert weight <= bound
    chosen_count = Counter(q for i in chosen for q in (core.pairs[i].a, core.pairs[i].b))
    assert all(n <= core.cap[q] for q, n in chosen_count.items())
    placed, unplaced = place_pairs(core, chosen)
    assert_placement(core, placed)
    assert sorted([i for i, _ in placed] + unplaced) == sorted(chosen)
    if unplaced:  # the CP-SAT assignment places all of them, or proves it cannot
        full = assign(core, chosen, 5.0, placed, 1, 0)
        if full is not None:
            assert_placement(core, full)
            assert sorted(i for i, _ in full) == sorted(chosen)
            placed = full
    result = decode(core, placed, status=Status.FEASIBLE, bound=core.fixed_weight + bound, seconds=0.0)
    assert_rules(problem, result)
    assert result.quality.weighted <= best
    if len(placed) == len(chosen) and weight == bound:  # all placed at the bound: the optimum
        assert result.quality.weighted == best


def test_a_fractional_relaxation_is_solved_by_cp_sat() -> None:
    """A triangle of people who may meet once each: the LP takes every pair at half (1.5);
    CP-SAT, which the relaxation falls back on, proves one meeting is all there is."""
    people = tuple(person(x, max_meetings=1) for x in "xyz")
    requests = (MeetingRequest("x", "y"), MeetingRequest("y", "z"), MeetingRequest("x", "z"))
    problem = SchedulingProblem((slot(0), slot(1), slot(2)), people, requests, tables=3)
    core = core_of(problem)
    chosen, bound = relaxation(core, 5.0, lambda: [], 0, 1, 0)
    assert bound == 1 == oracle.optimum(problem)
    assert chosen is not None and len(chosen) == 1


def test_the_relaxation_keeps_must_pairs_and_counts_their_bonus() -> None:
    problem = SchedulingProblem((slot(0), slot(1)), (person("x", max_meetings=1), person("y"), person("z")),
                                (MeetingRequest("x", "z", 5), MeetingRequest("x", "y", 1)), tables=2)
    core = build_core(problem, SchedulingOptions(), fixed=[], must=[Placement("x", "y", "s1")])
    xy = next(i for i, p in enumerate(core.pairs) if p.must)
    chosen, bound = relaxation(core, 5.0, lambda: [], 3, 1, 0)
    assert chosen == [xy] and bound == 1 + 3


def test_the_assignment_proves_an_odd_cycle_unplaceable_and_places_an_even_one() -> None:
    triangle = SchedulingProblem((slot(0), slot(1)), tuple(person(x) for x in "xyz"),
                                 (MeetingRequest("x", "y"), MeetingRequest("y", "z"), MeetingRequest("x", "z")), tables=3)
    core = core_of(triangle)
    everything = list(range(len(core.pairs)))
    placed, unplaced = place_pairs(core, everything)
    assert len(placed) == 2 and len(unplaced) == 1
    assert assign(core, everything, 5.0, placed, 1, 0) is None
    # a square a–b–c–d in two slots: the alternating placement exists; CP-SAT finds it from a bad hint
    square = SchedulingProblem((slot(0), slot(1)), tuple(person(x) for x in "abcd"),
                               (MeetingRequest("a", "b"), MeetingRequest("b", "c"), MeetingRequest("c", "d"),
                                MeetingRequest("d", "a")), tables=2)
    core = core_of(square)
    everything = list(range(len(core.pairs)))
    full = assign(core, everything, 5.0, [(i, 0) for i in everything], 1, 0)
    assert full is not None and sorted(i for i, _ in full) == everything
    assert_placement(core, full)
    placed, unplaced = place_pairs(core, everything)
    assert unplaced == [] and sorted(i for i, _ in placed) == everything
    assert_placement(core, placed)


def test_the_placement_moves_meetings_along_a_chain_to_make_room() -> None:
    """u–w can only be in s1 (w's one slot) and goes first; v–y (heavier) then takes s0. u is free
    in s0 only, v in s1 only: u–v fits only once v–y moves to s1, an alternating chain (Kempe
    swap) the placement finds without a solver."""
    people = (person("u"), person("v"), person("w", available=frozenset({"s1"})), person("y"))
    requests = (MeetingRequest("u", "w", 1), MeetingRequest("v", "y", 5), MeetingRequest("u", "v", 3))
    problem = SchedulingProblem((slot(0), slot(1)), people, requests, tables=2)
    core = core_of(problem)
    pair = {frozenset((core.pids[p.a], core.pids[p.b])): i for i, p in enumerate(core.pairs)}
    everything = list(range(len(core.pairs)))
    placed, unplaced = place_pairs(core, everything)
    assert unplaced == []
    assert_placement(core, placed)
    assert dict(placed) == {pair[frozenset("uw")]: 1, pair[frozenset("vy")]: 1, pair[frozenset("uv")]: 0}
    assert oracle.optimum(problem) == 9
    # without chains (past the deadline), u–v finds no slot
    placed, unplaced = place_pairs(core, everything, deadline=0.0)
    assert unplaced == [pair[frozenset("uv")]]
    assert_placement(core, placed)
