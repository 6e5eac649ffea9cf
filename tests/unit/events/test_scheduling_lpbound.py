"""The LP bound of the scheduler's primary objective (GLOP), on cores small enough to solve by hand.

The solver only uses ``lp_bound`` as a cap on what it still hopes to find, so a bound too high costs time
and one too low is caught only when the oracle tests happen to meet an instance where it decides
OPTIMAL: under mutation (issue 12) each of its rows could be loosened unnoticed. Here every row binds
in one instance: a pair meets once, a participant once per slot and up to its maximum, a slot up to its
tables, a must pair is scheduled, and the keep bonus counts only in the preferred slot.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from services.events.domain.scheduling import (
    MeetingRequest,
    Participant,
    Role,
    SchedulingOptions,
    SchedulingProblem,
    Slot,
)
from services.events.domain.scheduling.core import Placement, build_core
from services.events.domain.scheduling.lpbound import lp_bound

T0 = datetime(2023, 11, 28, 14, 0)
LIMIT = 10.0  # seconds GLOP may take: an upper bound, these LPs solve in microseconds


def slots(n: int, tables: int | None = None) -> tuple[Slot, ...]:
    return tuple(Slot(f"s{k}", T0 + timedelta(minutes=20 * k), timedelta(minutes=15), tables) for k in range(n))


def bound(problem: SchedulingProblem, keep_bonus: int = 0, **core) -> int | None:
    return lp_bound(build_core(problem, SchedulingOptions(), fixed=[], **core), LIMIT, keep_bonus)


def test_a_pair_meets_once_however_many_slots_it_shares():
    parts = (Participant("a", Role.SUPPLIER), Participant("b", Role.BUYER))
    assert bound(SchedulingProblem(slots(3), parts, (MeetingRequest("a", "b", 5),), 2)) == 5


def test_the_bound_is_whole_and_exact_when_the_optimum_is_whole():
    """Floor of the LP optimum: 9 stays 9 (not 8 for a rounding error below, nor 10 above)."""
    parts = tuple(Participant(p, Role.SUPPLIER) for p in "abcd")
    reqs = (MeetingRequest("a", "b", 4), MeetingRequest("c", "d", 5))
    assert bound(SchedulingProblem(slots(1), parts, reqs, 2)) == 9


def test_a_participant_meets_once_per_slot_odd_cycles_give_a_half():
    """The triangle in one slot with tables to spare: each side meets once, the LP splits every pair in
    halves (1.5 × 2 = 3) where the integer optimum is 2; floored, 3."""
    parts = tuple(Participant(p, Role.SUPPLIER) for p in "abc")
    reqs = (MeetingRequest("a", "b", 2), MeetingRequest("b", "c", 2), MeetingRequest("a", "c", 2))
    assert bound(SchedulingProblem(slots(1), parts, reqs, 3)) == 3


def test_one_slot_of_a_participant_is_one_meeting_even_with_meetings_left():
    """a has two slots, b and c only the first: a meets one of them (the better, 6), not both."""
    parts = (Participant("a", Role.SUPPLIER), Participant("b", Role.BUYER, available=frozenset({"s0"})),
             Participant("c", Role.BUYER, available=frozenset({"s0"})))
    reqs = (MeetingRequest("a", "b", 6), MeetingRequest("a", "c", 4))
    assert bound(SchedulingProblem(slots(2), parts, reqs, 2)) == 6


def test_a_participant_s_maximum_caps_its_meetings():
    parts = (Participant("a", Role.SUPPLIER, max_meetings=1), Participant("b", Role.BUYER),
             Participant("c", Role.BUYER))
    reqs = (MeetingRequest("a", "b", 6), MeetingRequest("a", "c", 4))
    assert bound(SchedulingProblem(slots(2), parts, reqs, 2)) == 6
    two = (Participant("a", Role.SUPPLIER, max_meetings=2), *parts[1:])
    assert bound(SchedulingProblem(slots(2), two, reqs, 2)) == 10


def test_a_slot_holds_as_many_meetings_as_it_has_tables():
    parts = tuple(Participant(p, Role.SUPPLIER) for p in "abcdef")
    reqs = (MeetingRequest("a", "b", 3), MeetingRequest("c", "d", 5), MeetingRequest("e", "f", 4))
    assert bound(SchedulingProblem(slots(1), parts, reqs, 2)) == 9
    assert bound(SchedulingProblem(slots(1), parts, reqs, 1)) == 5
    assert bound(SchedulingProblem(slots(2), parts, reqs, 1)) == 9


def test_a_pair_with_no_common_slot_adds_nothing():
    parts = (Participant("a", Role.SUPPLIER, available=frozenset({"s0"})),
             Participant("b", Role.BUYER, available=frozenset({"s1"})), Participant("c", Role.BUYER))
    reqs = (MeetingRequest("a", "b", 7), MeetingRequest("a", "c", 2))
    assert bound(SchedulingProblem(slots(2), parts, reqs, 1)) == 2


def test_a_must_pair_is_counted_in_even_when_another_would_weigh_more():
    """Re-planning with moves: a–b (weight 1) must stay; a's only slot then cannot hold a–c (weight 9)."""
    parts = tuple(Participant(p, Role.SUPPLIER) for p in "abc")
    reqs = (MeetingRequest("a", "b", 1), MeetingRequest("a", "c", 9))
    problem = SchedulingProblem(slots(1), parts, reqs, 2)
    assert bound(problem) == 9
    assert bound(problem, must=[Placement("a", "b", "s0", 1)]) == 1


def test_the_keep_bonus_counts_in_the_preferred_slot_only():
    parts = tuple(Participant(p, Role.SUPPLIER) for p in "ab")
    problem = SchedulingProblem(slots(2), parts, (MeetingRequest("a", "b", 4),), 1)
    must = [Placement("a", "b", "s1", 1)]
    assert bound(problem, 3, must=must) == 7
    assert bound(problem, 0, must=must) == 4
    # a pair that is not a must pair has no preferred slot: no bonus
    assert bound(problem, 3) == 4


def test_the_keep_bonus_is_not_paid_in_another_slot():
    """a–b must stay, preferably in s1, where c (only there) would like a too: kept in s1, 4 + 3; moved
    to s0 to let a meet c, 4 + 5 (the bonus lost). A bonus paid in s0 as well would claim 4 + 3 + 5."""
    parts = (Participant("a", Role.SUPPLIER), Participant("b", Role.BUYER),
             Participant("c", Role.BUYER, available=frozenset({"s1"})))
    problem = SchedulingProblem(slots(2), parts, (MeetingRequest("a", "b", 4), MeetingRequest("a", "c", 5)), 2)
    assert bound(problem, 3, must=[Placement("a", "b", "s1", 1)]) == 9
