"""The greedy placement and the chain-swap compaction, called directly on small cores.

Through ``schedule`` their answers are hidden behind CP-SAT (which improves on them) or only checked
against the rules (any valid answer passes): under mutation (issue 12) the greedy's choices — heavier pairs
first, then those with fewer slots, the slot with most busy neighbours then most tables then the earliest,
one repair that moves a blocking meeting — and the compaction's limits (tables, pinned meetings, the
deadline) went unnoticed. Each test pins one documented choice on an instance small enough to follow.
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
from services.events.domain.scheduling.core import Placement, build_core, count_idle_gaps
from services.events.domain.scheduling.heuristic import compact, greedy

T0 = datetime(2023, 11, 28, 14, 0)


def slots(*tables: int | None) -> tuple[Slot, ...]:
    return tuple(Slot(f"s{k}", T0 + timedelta(minutes=20 * k), timedelta(minutes=15), t) for k, t in enumerate(tables))


def people(*ids: str, **available: str) -> tuple[Participant, ...]:
    return tuple(Participant(i, Role.BUYER if i.startswith("b") else Role.SUPPLIER,
                             available=frozenset(available[i].split()) if i in available else None) for i in ids)


def core(problem: SchedulingProblem, **kw):
    return build_core(problem, SchedulingOptions(), fixed=kw.pop("fixed", []), **kw)


def named(c, chosen: list[tuple[int, int]]) -> set[tuple[str, str]]:
    """{("x-y", slot id)}, each pair's ids sorted."""
    out = set()
    for i, s in chosen:
        p = c.pairs[i]
        out.add(("-".join(sorted((c.pids[p.a], c.pids[p.b]))), c.slot_ids[s]))
    return out


def gaps(c, chosen) -> int:
    busy: dict[int, set[int]] = {q: set(c.busy[q]) for q in range(len(c.pids))}
    for i, s in chosen:
        busy[c.pairs[i].a].add(s)
        busy[c.pairs[i].b].add(s)
    return sum(count_idle_gaps(c.seq[q], busy[q]) for q in range(len(c.pids)))


# ------------------------------------------------------------------------------------------- greedy


def test_a_meeting_goes_next_to_its_sides_other_meetings():
    """b is wanted by x (5) then y (3), one table a slot: x–b takes the first slot, y–b the one next to it."""
    c = core(SchedulingProblem(slots(1, 1, 1), people("b", "x", "y"),
                               (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3))))
    assert named(c, greedy(c)) == {("b-x", "s0"), ("b-y", "s1")}


def test_neighbours_of_either_side_count_and_more_of_them_win():
    """a met x in s0 and b met y in s2 (both heavier): a–b goes to s1, between both, not to s3 next to one."""
    c = core(SchedulingProblem(slots(2, 2, 2, 2), people("a", "b", "x", "y", x="s0", y="s2"),
                               (MeetingRequest("a", "x", 9), MeetingRequest("b", "y", 9), MeetingRequest("a", "b", 1))))
    assert named(c, greedy(c)) == {("a-x", "s0"), ("b-y", "s2"), ("a-b", "s1")}
    # b's neighbour alone (y in s2): s1 or s3 are both next to it; the earliest wins
    c = core(SchedulingProblem(slots(2, 2, 2, 2), people("a", "b", "y", y="s2"),
                               (MeetingRequest("b", "y", 9), MeetingRequest("a", "b", 1))))
    assert named(c, greedy(c)) == {("b-y", "s2"), ("a-b", "s1")}


def test_the_neighbours_are_the_slots_just_before_and_just_after_along_the_sides_availability():
    """x meets b in s1 (x's only slot); y–b can go in s0 or s2, each next to b's meeting: the tie goes to
    the slot with more tables, whichever side of s1 it lies on."""
    reqs = (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3))
    for tables, best in (((1, 1, 2), "s2"), ((2, 1, 1), "s0")):
        c = core(SchedulingProblem(slots(*tables), people("b", "x", "y", x="s1", y="s0 s2"), reqs))
        assert named(c, greedy(c)) == {("b-x", "s1"), ("b-y", best)}, tables
    # the first slot is a neighbour too: x in s0, y–b next to it in s1 rather than in s2 with more tables
    c = core(SchedulingProblem(slots(1, 1, 2), people("b", "x", "y", x="s0"), reqs))
    assert named(c, greedy(c)) == {("b-x", "s0"), ("b-y", "s1")}
    # two slots away is not a neighbour: x in s0, y–b in s3 (more tables) rather than in s2
    c = core(SchedulingProblem(slots(1, 1, 1, 2), people("b", "x", "y", x="s0", y="s2 s3"), reqs))
    assert named(c, greedy(c)) == {("b-x", "s0"), ("b-y", "s3")}


def test_each_busy_neighbour_of_each_side_counts_one():
    """a–b can go in s1 or s3, two busy neighbours each: in s1 both a's (s0, s2), in s3 one of a's (s2)
    and one of b's (s4); the tie goes to s1's two tables. Then the same with a and b's roles swapped."""
    c = core(SchedulingProblem(slots(1, 2, 1, 1, 1), people("a", "b", "x", "y", "z", x="s0", z="s2", y="s4"),
                               (MeetingRequest("a", "x", 9), MeetingRequest("a", "z", 9), MeetingRequest("b", "y", 9),
                                MeetingRequest("a", "b", 1))))
    assert ("a-b", "s1") in named(c, greedy(c))
    c = core(SchedulingProblem(slots(1, 2, 1, 1, 1), people("a", "b", "x", "y", "z", x="s0", z="s2", y="s4"),
                               (MeetingRequest("b", "x", 9), MeetingRequest("b", "z", 9), MeetingRequest("a", "y", 9),
                                MeetingRequest("a", "b", 1))))
    assert ("a-b", "s1") in named(c, greedy(c))


def test_two_busy_neighbours_of_one_side_beat_one_of_the_other():
    """a–b can go in s1 (next to a's meeting in s0), s2 (next to b's in s3) or s4 (between b's in s3 and
    s5): s4, with two, though it comes last."""
    c = core(SchedulingProblem(slots(1, 1, 1, 1, 1, 1), people("a", "b", "x", "y", "z", y="s0", x="s3", z="s5"),
                               (MeetingRequest("a", "y", 9), MeetingRequest("b", "x", 9), MeetingRequest("b", "z", 9),
                                MeetingRequest("a", "b", 1))))
    assert ("a-b", "s4") in named(c, greedy(c))


def test_among_equal_slots_the_one_with_most_tables_left_then_the_earliest():
    c = core(SchedulingProblem(slots(1, 2, 2), people("a", "b"), (MeetingRequest("a", "b"),)))
    assert named(c, greedy(c)) == {("a-b", "s1")}
    c = core(SchedulingProblem(slots(3, 3, 3), people("a", "b"), (MeetingRequest("a", "b"),)))
    assert named(c, greedy(c)) == {("a-b", "s0")}


def test_heavier_pairs_are_placed_first():
    c = core(SchedulingProblem(slots(1), people("a", "b", "c", "d"),
                               (MeetingRequest("a", "b", 1), MeetingRequest("c", "d", 5))))
    assert named(c, greedy(c)) == {("c-d", "s0")}


def test_among_equal_weights_the_pair_with_fewer_slots_goes_first():
    """c–d can only meet in s0: placed first it leaves s1 to a–b; the other way round one would wait."""
    c = core(SchedulingProblem(slots(1, 1), people("a", "b", "c", "d", c="s0"),
                               (MeetingRequest("a", "b", 2), MeetingRequest("c", "d", 2))))
    assert named(c, greedy(c)) == {("c-d", "s0"), ("a-b", "s1")}


def test_a_pair_with_no_place_left_does_not_stop_the_lighter_ones():
    """y–b (y only in s0, where b meets x) waits; c–d, lighter, still gets s1."""
    c = core(SchedulingProblem(slots(1, 1), people("b", "x", "y", "c", "d", y="s0"),
                               (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3), MeetingRequest("c", "d", 1))))
    assert named(c, greedy(c)) == {("b-x", "s0"), ("c-d", "s1")}


def test_a_participant_s_maximum_stops_its_meetings():
    parts = (Participant("b", Role.BUYER, max_meetings=1), *people("x", "y"))
    c = core(SchedulingProblem(slots(1, 1), parts, (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3))))
    assert named(c, greedy(c)) == {("b-x", "s0")}
    parts = (Participant("b", Role.BUYER, max_meetings=2), *people("x", "y"))
    c = core(SchedulingProblem(slots(1, 1), parts, (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3))))
    assert named(c, greedy(c)) == {("b-x", "s0"), ("b-y", "s1")}


def test_the_second_side_s_maximum_counts_too():
    """y (its id after its partners': the pairs' second side) takes at most its maximum."""
    reqs = (MeetingRequest("a", "y", 5), MeetingRequest("b", "y", 3), MeetingRequest("c", "y", 2),
            MeetingRequest("a", "c", 1))  # after the pairs y cannot take: still placed
    for most, met in ((1, {"a-y", "a-c"}), (2, {"a-y", "b-y", "a-c"})):
        parts = (*people("a", "b", "c"), Participant("y", Role.SUPPLIER, max_meetings=most))
        c = core(SchedulingProblem(slots(1, 1, 1), parts, reqs))
        assert {pair for pair, _ in named(c, greedy(c))} == met


def test_a_blocking_meeting_is_moved_to_make_room_for_a_waiting_pair():
    """x–b (5) takes s0, the only slot y has; the repair moves x–b to s1 and places y–b in s0."""
    c = core(SchedulingProblem(slots(2, 2), people("b", "x", "y", y="s0"),
                               (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3))))
    assert named(c, greedy(c)) == {("b-x", "s1"), ("b-y", "s0")}
    # y with one meeting left (its maximum), and a heavier waiting pair that cannot be repaired (c's maximum
    # reached) before it: the repair still happens
    parts = (*people("b", "x", "d", "e", d="s1"), Participant("y", Role.SUPPLIER, available=frozenset({"s0"}), max_meetings=1),
             Participant("c", Role.SUPPLIER, available=frozenset({"s1"}), max_meetings=1))
    c = core(SchedulingProblem(slots(2, 2), parts, (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3),
                                                    MeetingRequest("c", "d", 7), MeetingRequest("c", "e", 6))))
    assert named(c, greedy(c)) == {("b-x", "s1"), ("b-y", "s0"), ("c-d", "s1")}


def test_the_repair_tries_each_slot_of_the_waiting_pair_in_turn():
    """b meets x in s0 (x's only slot) and w in s1; y–b can go in s0 or s1. In s0 nothing can be done (x
    cannot move; or no table left; or y is busy there too): in s1, w–b moves to s2 and y–b takes its place."""
    reqs = (MeetingRequest("x", "b", 9), MeetingRequest("w", "b", 8), MeetingRequest("y", "b", 3))
    for tables in ((2, 2, 2), (1, 2, 2)):
        c = core(SchedulingProblem(slots(*tables), people("b", "w", "x", "y", x="s0", w="s1 s2", y="s0 s1"), reqs))
        assert named(c, greedy(c)) == {("b-x", "s0"), ("b-w", "s2"), ("b-y", "s1")}, tables
    c = core(SchedulingProblem(slots(3, 2, 2), people("b", "w", "x", "y", "z", x="s0", w="s1 s2", y="s0 s1", z="s0"),
                               (*reqs, MeetingRequest("y", "z", 9))))
    assert named(c, greedy(c)) == {("b-x", "s0"), ("y-z", "s0"), ("b-w", "s2"), ("b-y", "s1")}


def test_one_repair_per_waiting_pair():
    """y–b could be repaired in s0 (x–b moves to s3) or in s1 (w–b moves to s2): the first one is done,
    and the pair is not placed again."""
    c = core(SchedulingProblem(slots(2, 2, 2, 2), people("b", "w", "x", "y", x="s0 s3", w="s1 s2", y="s0 s1"),
                               (MeetingRequest("x", "b", 9), MeetingRequest("w", "b", 8), MeetingRequest("y", "b", 3))))
    assert named(c, greedy(c)) == {("b-x", "s3"), ("b-w", "s1"), ("b-y", "s0")}


def test_a_repair_leaves_its_slot_s_tables_as_they_were_for_the_next_one():
    """x1–b1 and x2–b2 take s0 (3 tables); y1 and y2 can only meet b1 and b2 there. Each repair moves a
    blocker to s1 and takes its table in s0: s0 keeps one table free after the first, for the second."""
    parts = people("b1", "b2", "x1", "x2", "y1", "y2", y1="s0", y2="s0")
    reqs = (MeetingRequest("x1", "b1", 9), MeetingRequest("x2", "b2", 8),
            MeetingRequest("y1", "b1", 3), MeetingRequest("y2", "b2", 2))
    c = core(SchedulingProblem(slots(3, 2), parts, reqs))
    assert named(c, greedy(c)) == {("b1-x1", "s1"), ("b2-x2", "s1"), ("b1-y1", "s0"), ("b2-y2", "s0")}


def test_the_repair_needs_a_free_table_in_both_slots_and_a_single_movable_blocker():
    # s1 has no table left (c–d sits there): x–b cannot move, y waits
    c = core(SchedulingProblem(slots(2, 1), people("b", "x", "y", "c", "d", y="s0", c="s1", d="s1"),
                               (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3), MeetingRequest("c", "d", 9))))
    assert named(c, greedy(c)) == {("b-x", "s0"), ("c-d", "s1")}
    # a fixed (locked) meeting is never moved
    c = core(SchedulingProblem(slots(2, 2), people("b", "x", "y", y="s0"),
                               (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 3))),
             fixed=[Placement("x", "b", "s0")])
    assert named(c, greedy(c)) == set()
    # two blockers (one for each side) are not repaired in one move
    c = core(SchedulingProblem(slots(2, 2), people("b", "x", "y", "z", y="s0", z="s0"),
                               (MeetingRequest("x", "b", 5), MeetingRequest("y", "z", 4), MeetingRequest("y", "b", 3))))
    assert named(c, greedy(c)) == {("b-x", "s0"), ("y-z", "s0")}


def test_the_repair_serves_the_heaviest_waiting_pair_first():
    """x–b in s0 blocks both y (2) and z (4), each there only in s0: x–b moves for z–b."""
    c = core(SchedulingProblem(slots(3, 3), people("b", "x", "y", "z", y="s0", z="s0"),
                               (MeetingRequest("x", "b", 5), MeetingRequest("y", "b", 2), MeetingRequest("z", "b", 4))))
    assert named(c, greedy(c)) == {("b-x", "s1"), ("b-z", "s0")}


def test_a_must_pair_keeps_its_previous_slot_and_is_not_moved_for_another():
    """Re-planning with moves: x–b must stay, in s0 as before, though y (only there) waits for b."""
    problem = SchedulingProblem(slots(2, 2), people("b", "x", "y", y="s0"),
                                (MeetingRequest("x", "b", 1), MeetingRequest("y", "b", 3)))
    c = core(problem, must=[Placement("x", "b", "s0", 1)])
    assert named(c, greedy(c)) == {("b-x", "s0")}
    # its previous slot the later one, with its last table: it goes back there, and y–b gets s0
    problem = SchedulingProblem(slots(1, 1), people("b", "x", "y", y="s0"),
                                (MeetingRequest("x", "b", 1), MeetingRequest("y", "b", 3)))
    c = core(problem, must=[Placement("x", "b", "s1", 1)])
    assert named(c, greedy(c)) == {("b-x", "s1"), ("b-y", "s0")}


def test_must_pairs_are_placed_before_heavier_ones():
    """x–b must be scheduled; its previous slot s0 is full (c–d fixed there), so it goes by order, and
    must pairs come first: it takes s1, b's last slot, from y–b (9)."""
    problem = SchedulingProblem(slots(1, 1), people("b", "x", "y", "c", "d"),
                                (MeetingRequest("x", "b", 1), MeetingRequest("y", "b", 9)))
    c = core(problem, fixed=[Placement("c", "d", "s0", 1)], must=[Placement("x", "b", "s0", 1)])
    assert named(c, greedy(c)) == {("b-x", "s1")}


# ------------------------------------------------------------------------------------------ compact


def test_compaction_closes_a_gap_by_moving_a_meeting_to_a_free_table():
    """b meets x in s0 and y in s2: y–b moves to s1 (a free table), the gap closes, pairs unchanged."""
    c = core(SchedulingProblem(slots(1, 1, 1), people("b", "x", "y"), (MeetingRequest("x", "b"), MeetingRequest("y", "b"))))
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    spread = [(by["b-x"], 0), (by["b-y"], 2)]
    assert gaps(c, spread) == 1
    done = compact(c, spread)
    assert gaps(c, done) == 0 and sorted(i for i, _ in done) == sorted(i for i, _ in spread)
    assert named(c, done) in ({("b-x", "s0"), ("b-y", "s1")}, {("b-x", "s1"), ("b-y", "s2")})


def test_compaction_swaps_a_chain_of_two_meetings():
    """One table a slot, all taken around b's gap (s1, where y meets z): b–y (s2) and y–z (s1) swap slots.
    y stays busy in both, b's gap closes, and so does z's (s1 and s3 become s2 and s3)."""
    c = core(SchedulingProblem(slots(1, 1, 1, 1), people("b", "w", "x", "y", "z", x="s0", w="s3"),
                               (MeetingRequest("x", "b"), MeetingRequest("y", "b"), MeetingRequest("y", "z"),
                                MeetingRequest("z", "w"))))
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    plan = [(by["b-x"], 0), (by["y-z"], 1), (by["b-y"], 2), (by["w-z"], 3)]
    assert gaps(c, plan) == 2
    assert named(c, compact(c, plan)) == {("b-x", "s0"), ("b-y", "s1"), ("y-z", "s2"), ("w-z", "s3")}
    # y–z cannot go to s2 (z is away then): no chain, nothing moves
    c = core(SchedulingProblem(slots(1, 1, 1, 1), people("b", "w", "x", "y", "z", x="s0", w="s3", z="s1 s3"),
                               (MeetingRequest("x", "b"), MeetingRequest("y", "b"), MeetingRequest("y", "z"),
                                MeetingRequest("z", "w"))))
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    plan = [(by["b-x"], 0), (by["y-z"], 1), (by["b-y"], 2), (by["w-z"], 3)]
    assert sorted(compact(c, plan)) == sorted(plan)
    # another meeting kept in its previous slot (w–z) does not stop the chain
    c = core(SchedulingProblem(slots(1, 1, 1, 1), people("b", "w", "x", "y", "z", x="s0", w="s3"),
                               (MeetingRequest("x", "b"), MeetingRequest("y", "b"), MeetingRequest("y", "z"),
                                MeetingRequest("z", "w"))), must=[Placement("z", "w", "s3", 1)])
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    plan = [(by["b-x"], 0), (by["y-z"], 1), (by["b-y"], 2), (by["w-z"], 3)]
    assert named(c, compact(c, plan)) == {("b-x", "s0"), ("b-y", "s1"), ("y-z", "s2"), ("w-z", "s3")}
    # a must pair in its previous slot is not part of a chain
    c = core(SchedulingProblem(slots(1, 1, 1, 1), people("b", "w", "x", "y", "z", x="s0", w="s3"),
                               (MeetingRequest("x", "b"), MeetingRequest("y", "b"), MeetingRequest("y", "z"),
                                MeetingRequest("z", "w"))), must=[Placement("y", "z", "s1", 1)])
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    plan = [(by["b-x"], 0), (by["y-z"], 1), (by["b-y"], 2), (by["w-z"], 3)]
    assert sorted(compact(c, plan)) == sorted(plan)


def test_a_move_that_only_shifts_a_gap_is_not_made():
    """b meets x in s0 (x's only slot), y in s1 and w in s3 (w's only slot): moving y–b to s2 would only
    move b's gap from s2 to s1. The meeting next to s0 stays where it is."""
    c = core(SchedulingProblem(slots(1, 1, 1, 1), people("b", "w", "x", "y", x="s0", w="s3"),
                               (MeetingRequest("x", "b"), MeetingRequest("y", "b"), MeetingRequest("w", "b"))))
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    plan = [(by["b-x"], 0), (by["b-y"], 1), (by["b-w"], 3)]
    assert sorted(compact(c, plan)) == sorted(plan)


def test_compaction_never_overfills_a_slot():
    """The slot between is full (c–d): nothing can move into it, the gap stays."""
    c = core(SchedulingProblem(slots(1, 1, 1), people("b", "x", "y", "c", "d", c="s1", d="s1"),
                               (MeetingRequest("x", "b"), MeetingRequest("y", "b"), MeetingRequest("c", "d"))))
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    spread = [(by["b-x"], 0), (by["c-d"], 1), (by["b-y"], 2)]
    assert sorted(compact(c, spread)) == sorted(spread)


def test_compaction_swaps_a_chain_when_no_table_is_free():
    """Two tables, each slot full: b's meetings in s0 and s2 with a gap in s1, where x meets z. The chain
    swaps b–y (s2) with x–z (s1): everyone in it stays busy in both slots, and b's gap closes."""
    c = core(SchedulingProblem(slots(2, 2, 2), people("b", "x", "y", "z", "u", "v", "w", "t"),
                               (MeetingRequest("x", "b"), MeetingRequest("y", "b"), MeetingRequest("y", "z"),
                                MeetingRequest("u", "v"), MeetingRequest("w", "t"), MeetingRequest("u", "t"))))
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    full = [(by["b-x"], 0), (by["u-v"], 0), (by["y-z"], 1), (by["t-w"], 1), (by["b-y"], 2), (by["t-u"], 2)]
    before = gaps(c, full)
    done = compact(c, full)
    assert gaps(c, done) < before
    per_slot = {s: sum(1 for _, t in done if t == s) for s in range(3)}
    assert per_slot == {0: 2, 1: 2, 2: 2}
    assert sorted(i for i, _ in done) == sorted(i for i, _ in full)


def test_compaction_leaves_a_must_pair_in_its_previous_slot():
    problem = SchedulingProblem(slots(1, 1, 1), people("b", "x", "y"), (MeetingRequest("x", "b"), MeetingRequest("y", "b")))
    c = core(problem, must=[Placement("y", "b", "s2", 1), Placement("x", "b", "s0", 1)])
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    spread = [(by["b-x"], 0), (by["b-y"], 2)]
    assert sorted(compact(c, spread)) == sorted(spread)
    # one of them pinned, the other free to move next to it
    c = core(problem, must=[Placement("y", "b", "s2", 1)])
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    assert named(c, compact(c, [(by["b-x"], 0), (by["b-y"], 2)])) == {("b-x", "s1"), ("b-y", "s2")}


def test_compaction_past_its_deadline_changes_nothing():
    c = core(SchedulingProblem(slots(1, 1, 1), people("b", "x", "y"), (MeetingRequest("x", "b"), MeetingRequest("y", "b"))))
    by = {"-".join(sorted((c.pids[p.a], c.pids[p.b]))): i for i, p in enumerate(c.pairs)}
    spread = [(by["b-x"], 0), (by["b-y"], 2)]
    assert sorted(compact(c, spread, deadline=0.0)) == sorted(spread)  # perf_counter() is past 0 already
    assert gaps(c, compact(c, spread, deadline=None)) == 0


def _random_cores(count: int):
    """Small random conventions (a fixed seed: the same ones every run), as cores with the greedy's answer."""
    import random

    rng = random.Random(12)
    for _ in range(count):
        n_slots = rng.randint(3, 6)
        tables = [rng.randint(1, 3) for _ in range(n_slots)]
        ids = [f"p{k}" for k in range(rng.randint(3, 8))]
        away = {p: " ".join(f"s{k}" for k in range(n_slots) if rng.random() < 0.8) for p in ids if rng.random() < 0.4}
        parts = people(*ids, **{p: a for p, a in away.items() if a})
        pairs = [(a, b) for k, a in enumerate(ids) for b in ids[k + 1:] if rng.random() < 0.5]
        problem = SchedulingProblem(slots(*tables), parts, tuple(MeetingRequest(a, b, rng.randint(1, 3)) for a, b in pairs))
        c = core(problem)
        yield c, greedy(c)


def _valid(c, chosen) -> bool:
    seen, count = set(), {}
    for i, s in chosen:
        p = c.pairs[i]
        if s not in p.allowed or (p.a, s) in seen or (p.b, s) in seen:
            return False
        seen |= {(p.a, s), (p.b, s)}
        count[s] = count.get(s, 0) + 1
    return all(n <= c.tables[s] for s, n in count.items())


def test_after_compaction_no_single_meeting_can_move_to_close_a_gap():
    """On 150 random conventions: the same pairs, a valid plan, never more idle gaps, and at the end no
    meeting could move alone to a free place (a table left, both sides free, an allowed slot) with fewer
    idle gaps in all — the compaction stops only where no such move (its chain of one) is left."""
    improvable = 0
    for c, chosen in _random_cores(150):
        done = compact(c, chosen)
        assert sorted(i for i, _ in done) == sorted(i for i, _ in chosen)
        assert _valid(c, done)
        assert gaps(c, done) <= gaps(c, chosen)
        improvable += gaps(c, done) < gaps(c, chosen)
        slot_of = dict(done)
        for i, s in done:
            for t in c.pairs[i].allowed:
                moved = [(j, t if j == i else u) for j, u in slot_of.items()]
                if t != s and _valid(c, moved):
                    assert gaps(c, moved) >= gaps(c, done), (c.pids, c.tables, done, i, t)
    assert improvable >= 10, "the instances give the compaction work to do"
