"""The scheduler's shared core, called directly: the cheap upper bound, and the tables a plan's meetings get.

``trivial_bound`` only caps the weight the solver still hopes for, and a meeting's table number is read by no
rule of test_scheduling.py: under mutation (issue 12) each of the bound's three caps could be dropped or
miscounted, and the tables handed out in another order, unnoticed.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from services.events.domain.scheduling import (
    AgendaEntry,
    MeetingRequest,
    Participant,
    RequestStatus,
    Role,
    SchedulingOptions,
    SchedulingProblem,
    Slot,
    UnscheduledReason,
    schedule,
)
from services.events.domain.scheduling.core import Placement, build_core, trivial_bound

T0 = datetime(2023, 11, 28, 14, 0)
PROVEN = SchedulingOptions(time_limit=10, num_workers=1)  # tiny cases, proven at once; the limit guards a busy machine


def slots(*tables: int | None) -> tuple[Slot, ...]:
    return tuple(Slot(f"s{k}", T0 + timedelta(minutes=20 * k), timedelta(minutes=15), t) for k, t in enumerate(tables))


def people(*ids: str, **most: int) -> tuple[Participant, ...]:
    return tuple(Participant(i, Role.BUYER if i.startswith("b") else Role.SUPPLIER, max_meetings=most.get(i)) for i in ids)


def bound(problem: SchedulingProblem) -> int:
    return trivial_bound(build_core(problem, SchedulingOptions(), fixed=[]))


def test_the_bound_counts_the_heaviest_pairs_that_the_tables_can_hold():
    """One table: only the heaviest pair (5) of two disjoint ones (5, 3) can meet."""
    reqs = (MeetingRequest("a", "b", 3), MeetingRequest("c", "d", 5))
    assert bound(SchedulingProblem(slots(1), people("a", "b", "c", "d"), reqs)) == 5
    assert bound(SchedulingProblem(slots(2), people("a", "b", "c", "d"), reqs)) == 8


def test_the_bound_counts_each_participant_s_heaviest_pairs_up_to_its_meetings_halved():
    """b meets at most once: its best pair (5), x's (5), y's (3): 13 halves, 6 (never 6.5), under the 8 of
    the pairs and the tables."""
    reqs = (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3))
    assert bound(SchedulingProblem(slots(2, 2), people("b", "x", "y", b=1), reqs)) == 6
    assert bound(SchedulingProblem(slots(2, 2), people("b", "x", "y", b=2), reqs)) == 8


def test_a_pair_with_no_common_slot_counts_nowhere():
    parts = (Participant("a", Role.SUPPLIER, available=frozenset({"s0"})),
             Participant("b", Role.BUYER, available=frozenset({"s1"})), Participant("c", Role.BUYER))
    assert bound(SchedulingProblem(slots(1, 1), parts, (MeetingRequest("a", "b", 7), MeetingRequest("a", "c", 2)))) == 2


def test_meetings_of_a_slot_get_its_tables_from_the_first_by_their_sides_ids():
    """a–d and b–c in one slot: tables 1 and 2 go by the first side's id (a before b), not the second's."""
    sched = schedule(SchedulingProblem(slots(2), people("a", "b", "c", "d"),
                                       (MeetingRequest("b", "c"), MeetingRequest("a", "d"))), PROVEN)
    assert [(m.table, m.a, m.b) for m in sched.meetings] == [(1, "a", "d"), (2, "b", "c")]


def test_the_grid_holds_each_slot_s_own_tables_from_table_one():
    sched = schedule(SchedulingProblem(slots(2, 1), people("a", "b"), (MeetingRequest("a", "b"),)), PROVEN)
    assert {t: sorted(row) for t, row in sched.grid.items()} == {1: ["s0", "s1"], 2: ["s0"]}
    [m] = sched.meetings
    assert sched.grid[m.table][m.slot] == m and sum(v is not None for row in sched.grid.values() for v in row.values()) == 1


def test_each_unscheduled_request_s_reason_is_told_in_words():
    parts = (Participant("s1", Role.SUPPLIER), Participant("s2", Role.SUPPLIER, available=frozenset({"s0"})),
             Participant("b1", Role.BUYER, max_meetings=1), Participant("b2", Role.BUYER, available=frozenset({"s1"})),
             Participant("b3", Role.BUYER, available=frozenset({"s1"})))
    reqs = (MeetingRequest("s1", "b1", 5), MeetingRequest("s2", "b1", 1), MeetingRequest("s2", "b2", 3),
            MeetingRequest("s1", "b2", 2, RequestStatus.PENDING), MeetingRequest("b2", "s2", 2, RequestStatus.DECLINED),
            MeetingRequest("s2", "b3", 3))
    sched = schedule(SchedulingProblem(slots(3, 3), parts, reqs), PROVEN)
    assert [(u.request, u.from_, u.to, u.reason, u.detail) for u in sched.unscheduled] == [
        (1, "s2", "b1", UnscheduledReason.MAX_MEETINGS_REACHED, "'b1' reached its maximum of 1 meetings"),
        (2, "s2", "b2", UnscheduledReason.DECLINED, "'s2' declined the request of 'b2'"),
        (3, "s1", "b2", UnscheduledReason.PENDING_NOT_INCLUDED, "'b2' has not answered"),
        (4, "b2", "s2", UnscheduledReason.DECLINED, "'s2' declined"),
        (5, "s2", "b3", UnscheduledReason.NO_COMMON_SLOT, "'s2' and 'b3' share no available slot"),
    ]


def test_a_request_left_without_room_is_told_apart_in_an_optimal_plan_and_in_a_plan_found():
    """A triangle in one slot: one pair meets. CP-SAT proves it optimal; the greedy alone cannot (the
    trivial bound says 7 for its 5), so there the other two were not found a place rather than had none."""
    problem = SchedulingProblem(slots(2), people("a", "b", "c"),
                                (MeetingRequest("a", "b", 5), MeetingRequest("b", "c", 4), MeetingRequest("a", "c", 3)))
    assert [(u.request, u.reason, u.detail) for u in schedule(problem, PROVEN).unscheduled] == [
        (1, UnscheduledReason.NO_PLACE_LEFT, "every common slot of 'b' and 'c' is taken or full in an optimal plan"),
        (2, UnscheduledReason.NO_PLACE_LEFT, "every common slot of 'a' and 'c' is taken or full in an optimal plan")]
    greedy = schedule(problem, SchedulingOptions(use_solver=False))
    assert (greedy.quality.weighted, greedy.quality.bound) == (5, 7)
    assert [(u.request, u.reason, u.detail) for u in greedy.unscheduled] == [
        (1, UnscheduledReason.NOT_FOUND_IN_TIME, "no common free slot for 'b' and 'c' in the plan found"),
        (2, UnscheduledReason.NOT_FOUND_IN_TIME, "no common free slot for 'a' and 'c' in the plan found")]


def core_of(problem: SchedulingProblem, **kw):
    return build_core(problem, SchedulingOptions(), fixed=kw.pop("fixed", []), **kw)


def test_the_core_takes_the_slots_in_time_order_whatever_their_order_given():
    given = tuple(reversed(slots(1, 1, 1)))
    c = core_of(SchedulingProblem(given, people("a", "b"), (MeetingRequest("a", "b"),)))
    assert c.slot_ids == ["s0", "s1", "s2"] and c.seq == [[0, 1, 2], [0, 1, 2]]


def test_the_fixed_meetings_weights_add_up():
    problem = SchedulingProblem(slots(2, 2), people("a", "b", "c"), (MeetingRequest("a", "b", 3), MeetingRequest("a", "c", 2)))
    c = core_of(problem, fixed=[Placement("a", "b", "s0"), Placement("a", "c", "s1")])
    assert (c.fixed_weight, c.tables, c.cap) == (5, [1, 1], [0, 1, 1])


def test_a_slot_full_of_fixed_meetings_and_a_participant_without_meetings_left_are_in_no_pair_s_slots():
    problem = SchedulingProblem(slots(1, 2), people("a", "b", "e", "f"),
                                (MeetingRequest("a", "b", 5), MeetingRequest("e", "f")))
    c = core_of(problem, fixed=[Placement("a", "b", "s0")])
    assert [(c.pids[p.a], c.pids[p.b], p.allowed) for p in c.pairs] == [("e", "f", [1])]
    capped = SchedulingProblem(slots(2), (*people("a", "c", "d"), Participant("b", Role.BUYER, max_meetings=0)),
                               (MeetingRequest("a", "b"), MeetingRequest("c", "d")))
    assert [(p.allowed) for p in core_of(capped).pairs] == [[], [0]]


def test_the_core_s_pairs_come_in_the_order_of_their_ids():
    """A reproducible order (the greedy breaks ties by it), whatever the requests' order."""
    reqs = (MeetingRequest("d", "c"), MeetingRequest("b", "z"), MeetingRequest("a", "y"), MeetingRequest("b", "a"))
    c = core_of(SchedulingProblem(slots(2), people("a", "b", "c", "d", "y", "z"), reqs))
    assert [(c.pids[p.a], c.pids[p.b]) for p in c.pairs] == [("a", "b"), ("a", "y"), ("b", "z"), ("c", "d")]


def test_each_side_s_agenda_gives_the_slot_its_start_the_table_and_the_counterpart():
    sched = schedule(SchedulingProblem(slots(2, 2), people("a", "b"), (MeetingRequest("a", "b"),)), PROVEN)
    [m] = sched.meetings
    start = T0 + timedelta(minutes=20 * int(m.slot[1:]))
    assert sched.agendas == {"a": (AgendaEntry(m.slot, start, m.table, "b"),),
                             "b": (AgendaEntry(m.slot, start, m.table, "a"),)}


def test_a_participant_s_meetings_are_counted_one_each_against_its_maximum():
    """a (at most 2) meets b in the only slot: a–c is left for lack of room, not for a's maximum; with a
    maximum of 1 it is the maximum."""
    reqs = (MeetingRequest("a", "b", 5), MeetingRequest("a", "c", 3))
    for most, reason, detail in ((2, UnscheduledReason.NO_PLACE_LEFT,
                                  "every common slot of 'a' and 'c' is taken or full in an optimal plan"),
                                 (1, UnscheduledReason.MAX_MEETINGS_REACHED, "'a' reached its maximum of 1 meetings")):
        [u] = schedule(SchedulingProblem(slots(2), people("a", "b", "c", a=most), reqs), PROVEN).unscheduled
        assert (u.request, u.reason, u.detail) == (1, reason, detail)
    # b (at most 2) meets x and y: z–b is left for b's maximum
    sched = schedule(SchedulingProblem(slots(1, 1, 1), people("b", "x", "y", "z", b=2),
                                       (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 4),
                                        MeetingRequest("z", "b", 3))), PROVEN)
    assert [(u.request, u.detail) for u in sched.unscheduled] == [(2, "'b' reached its maximum of 2 meetings")]


def test_participants_without_a_meeting_are_those_with_an_eligible_request_and_none():
    """The triangle in one slot: a and b meet, c (who asked) does not; d asked nothing."""
    problem = SchedulingProblem(slots(2), people("a", "b", "c", "d"),
                                (MeetingRequest("a", "b", 5), MeetingRequest("b", "c", 4), MeetingRequest("a", "c", 3)))
    assert schedule(problem, PROVEN).quality.without_meeting == 1


def test_a_convention_with_nothing_to_place_has_no_gap():
    quality = schedule(SchedulingProblem(slots(1), people("a", "b")), PROVEN).quality
    assert (quality.bound, quality.weighted, quality.gap, quality.optimality) == (0, 0, 0.0, 1.0)
