"""The slot-free relaxation (relax.py) called directly, on cores small enough to follow by hand.

Through ``schedule`` its answers are hidden: CP-SAT or the placement repair what it misses, and the
oracle tests only check that its bound is an upper bound and its placement keeps the rules (any valid
answer passes). Under mutation (issue 12) its rows, its LP, the CP-SAT fallback when the LP is
fractional, the slot assignment and the placement's choices (a kept place first, the slot next to
busy ones, a meeting moved out of a full slot, an alternating chain, the extra pairs) went unnoticed.
Each test pins one of them. The cores are built by hand (``Core`` with no problem behind it): the
relaxation reads only its pairs, maxima, availabilities, tables and closed slots.
"""
from __future__ import annotations

import pytest
from ortools.sat.python import cp_model

from services.events.domain.scheduling import relax
from services.events.domain.scheduling.core import Core, Pair
from services.events.domain.scheduling.relax import (
    _relaxation_lp,
    _rows,
    add_bool_vars,
    assign,
    neighbours,
    pair_value,
    place_pairs,
    relaxation,
)

LIMIT = 10.0  # seconds: generous, every answer below comes in milliseconds; never the deadline met


def core(tables: list[int], pairs: list[Pair], n: int, *, cap: list[int] | None = None,
         busy: dict[int, set[int]] | None = None, seq: dict[int, list[int]] | None = None,
         closed: frozenset[int] = frozenset()) -> Core:
    """A core of ``n`` participants (p0, p1, …), every one available in every slot unless ``seq`` says."""
    ns = len(tables)
    busy = busy or {}
    seq = seq or {}
    return Core(problem=None, options=None, slot_ids=[f"s{k}" for k in range(ns)], tables=list(tables),  # type: ignore[arg-type]
                pids=[f"p{q}" for q in range(n)], cap=list(cap) if cap else [ns] * n,
                seq=[seq.get(q, list(range(ns))) for q in range(n)], busy=[set(busy.get(q, ())) for q in range(n)],
                fixed=[], pairs=pairs, closed=closed)


def pair(a: int, b: int, weight: int, allowed: list[int], **kw) -> Pair:
    return Pair(a, b, weight, list(allowed), [], **kw)


# ------------------------------------------------------------------------------ small helpers


def test_add_bool_vars_appends_exactly_that_many_booleans():
    model = cp_model.CpModel()
    model.new_int_var(0, 7, "x")
    add_bool_vars(model.proto, 3)
    add_bool_vars(model.proto, 0)
    assert [list(v.domain) for v in model.proto.variables] == [[0, 7], [0, 1], [0, 1], [0, 1]]


def test_add_bool_vars_builds_its_template_when_there_is_none(monkeypatch):
    monkeypatch.setattr(relax, "_BOOL", [])
    model = cp_model.CpModel()
    add_bool_vars(model.proto, 2)
    assert [list(v.domain) for v in model.proto.variables] == [[0, 1], [0, 1]]
    assert len(relax._BOOL) == 1
    add_bool_vars(model.proto, 1)  # the template is kept, not built again
    assert len(relax._BOOL) == 1 and len(model.proto.variables) == 3


def test_pair_value_adds_the_bonus_only_when_the_kept_place_is_still_allowed():
    c = core([1, 1, 1], [pair(0, 1, 7, [0, 2]), pair(0, 1, 7, [0, 2], must=True, preferred=(2, 0)),
                         pair(0, 1, 7, [0, 2], must=True, preferred=(1, 2))], 2)
    assert [pair_value(c, i, 5) for i in range(3)] == [7, 12, 7]


def test_neighbours_are_the_slots_just_before_and_after_along_each_participants_availability():
    c = core([1, 1, 1, 1], [], 3, seq={0: [0, 2, 3], 1: [1], 2: [0, 1, 2, 3]})
    assert neighbours(c) == [
        [(2,), (), (0, 3), (2,)],
        [(), (), (), ()],
        [(1,), (0, 2), (1, 3), (2,)],
    ]


# ------------------------------------------------------------------------------ the rows


def test_a_participant_over_its_maximum_gets_a_row_and_one_at_it_none():
    pairs = [pair(0, 1, 1, [0, 1, 2]), pair(0, 2, 1, [0, 1, 2]), pair(0, 3, 1, [0, 1, 2])]
    assert _rows(core([5, 5, 5], pairs, 4, cap=[2, 3, 3, 3]), [0, 1, 2]) == [([0, 1, 2], 2)]
    assert _rows(core([5, 5, 5], pairs, 4, cap=[3, 3, 3, 3]), [0, 1, 2]) == []


def test_a_stretch_of_slots_holds_no_more_of_a_participants_meetings_than_it_has_slots():
    """p0's pairs confined to s0 (two), to s2 (two), and all four within s0–s2 (two usable slots):
    a row each, under its maximum of 4; the stretch s2–s0 is empty."""
    pairs = [pair(0, 1, 1, [0]), pair(0, 2, 1, [0]), pair(0, 3, 1, [2]), pair(0, 4, 1, [2])]
    assert _rows(core([5, 5, 5], pairs, 5, cap=[4, 4, 4, 4, 4]), [0, 1, 2, 3]) == [
        ([0, 1], 1), ([0, 1, 2, 3], 2), ([2, 3], 1)]


def test_a_stretch_row_is_left_out_when_the_maximum_already_says_as_much():
    pairs = [pair(0, 1, 1, [0]), pair(0, 2, 1, [0]), pair(0, 3, 1, [0, 1])]
    # maximum 1: the maximum's row (1) says it all, no stretch row (room 1 is not under it)
    assert _rows(core([5, 5], pairs, 4, cap=[1, 1, 1, 1]), [0, 1, 2]) == [([0, 1, 2], 1)]
    # maximum 2: s0 holds one of the two confined to it; s0–s1 (two slots) all three
    assert _rows(core([5, 5], pairs, 4, cap=[2, 1, 1, 1]), [0, 1, 2]) == [([0, 1, 2], 2), ([0, 1], 1)]
    # maximum 3: s0's row, and s0–s1 holding three in two slots
    assert _rows(core([5, 5], pairs, 4, cap=[3, 1, 1, 1]), [0, 1, 2]) == [([0, 1], 1), ([0, 1, 2], 2)]


def test_each_stretch_starts_where_a_pair_starts_and_holds_only_pairs_within_it():
    three_each = dict(cap=[3, 3, 3, 3])
    # all three within s0–s1 (they start in s0, end in s1)
    assert _rows(core([5, 5, 5], [pair(0, q, 1, [0, 1]) for q in (1, 2, 3)], 4, **three_each), [0, 1, 2]) == [
        ([0, 1, 2], 2)]
    # s1 holds the two confined to it, not p0–p3 (from s0)
    pairs = [pair(0, 1, 1, [1]), pair(0, 2, 1, [1]), pair(0, 3, 1, [0, 1])]
    assert _rows(core([5, 5], pairs, 4, **three_each), [0, 1, 2]) == [([0, 1, 2], 2), ([0, 1], 1)]
    # s0 holds one: s0–s1 is still looked at
    pairs = [pair(0, 1, 1, [0]), pair(0, 2, 1, [1]), pair(0, 3, 1, [1])]
    assert _rows(core([5, 5], pairs, 4, **three_each), [0, 1, 2]) == [([0, 1, 2], 2), ([1, 2], 1)]
    # two pairs within two slots: no row
    assert _rows(core([5, 5], [pair(0, 1, 1, [0, 1]), pair(0, 2, 1, [0, 1])], 3, cap=[3, 3, 3]), [0, 1]) == []


def test_a_stretch_of_slots_holds_no_more_meetings_confined_to_it_than_it_has_tables():
    """Four pairs of different people, one table a slot: s0 (two confined to it), s0–s1 (three), s0–s2 (four)."""
    pairs = [pair(0, 1, 1, [0]), pair(2, 3, 1, [0]), pair(4, 5, 1, [0, 1]), pair(6, 7, 1, [1, 2])]
    assert _rows(core([1, 1, 1], pairs, 8), [0, 1, 2, 3]) == [
        ([0, 1], 1), ([0, 1, 2], 2), ([0, 1, 2, 3], 3)]
    # two tables in s1: s0–s1 holds the three, s0–s2 the four
    assert _rows(core([1, 2, 1], pairs, 8), [0, 1, 2, 3]) == [([0, 1], 1)]
    # s1 closed: its tables count for nothing
    assert _rows(core([1, 2, 1], pairs, 8, closed=frozenset({1})), [0, 1, 2, 3]) == [
        ([0, 1], 1), ([0, 1, 2], 1), ([0, 1, 2, 3], 2)]
    assert _rows(core([1, 2, 0], pairs, 8, closed=frozenset({1})), [0, 1, 2, 3]) == [
        ([0, 1], 1), ([0, 1, 2], 1), ([0, 1, 2, 3], 1), ([3], 0)]


# ------------------------------------------------------------------------------ the relaxation


def triangle(*more: Pair, n: int = 3) -> Core:
    """p0–p1 (5), p1–p2 (4), p2–p0 (3), one meeting each: the LP takes half of each (6), one pair only can meet."""
    return core([3], [pair(0, 1, 5, [0]), pair(1, 2, 4, [0]), pair(2, 0, 3, [0]), *more], n, cap=[1] * n)


def test_the_lp_of_an_odd_cycle_is_fractional():
    c = triangle()
    bound, xs = _relaxation_lp(c, [0, 1, 2], _rows(c, [0, 1, 2]), {0: 5, 1: 4, 2: 3}, [], LIMIT)
    assert bound == 6
    assert xs == pytest.approx({0: 0.5, 1: 0.5, 2: 0.5})


def test_the_lp_holds_a_must_pair_at_one():
    """p0–p1 (1) must meet though p0–p2 weighs 9 and p0 has one meeting left."""
    c = core([2], [pair(0, 1, 1, [0], must=True), pair(0, 2, 9, [0])], 3, cap=[1, 1, 1])
    bound, xs = _relaxation_lp(c, [0, 1], _rows(c, [0, 1]), {0: 1, 1: 9}, [0], LIMIT)
    assert (bound, xs) == (1, pytest.approx({0: 1.0, 1: 0.0}))


def test_an_integral_lp_is_the_answer_with_its_bound():
    """p0–p1 (4) and p2–p3 (2) beat p0–p2 (3), whose s0 is p0–p1's too: the LP's vertex is whole."""
    c = core([1, 1], [pair(0, 1, 4, [0, 1]), pair(0, 2, 3, [0]), pair(2, 3, 2, [1])], 4, cap=[1, 1, 1, 1])
    assert relaxation(c, LIMIT, lambda: [], 0, 1, 0) == ([0, 2], 6)


def test_a_pair_alone_is_chosen_once_with_its_weight_and_kept_place_bonus():
    c = core([1, 1], [pair(0, 1, 4, [0, 1], must=True, preferred=(1, None))], 2)
    assert relaxation(c, LIMIT, lambda: [], 3, 1, 0) == ([0], 7)
    assert relaxation(core([1], [pair(0, 1, 4, [])], 2), LIMIT, lambda: [], 3, 1, 0) == ([], 0)


def test_a_fractional_lp_goes_to_cp_sat_whose_bound_is_the_lower():
    assert relaxation(triangle(), LIMIT, lambda: [], 0, 1, 0) == ([0], 5)


def test_cp_sat_keeps_the_must_pairs():
    """p3–p4 must meet (1) though p4–p5 weighs 10 and p4 has one meeting: with the triangle, the LP
    (7) is fractional, CP-SAT proves 6."""
    c = triangle(pair(3, 4, 1, [0], must=True), pair(4, 5, 10, [0]), n=6)
    c.tables = [6]
    assert relaxation(c, LIMIT, lambda: [(4, 0)], 0, 1, 0) == ([0, 3], 6)


def test_without_the_lp_cp_sat_answers_alone_with_its_own_bound(monkeypatch):
    monkeypatch.setattr(relax, "_relaxation_lp", lambda *args: None)  # GLOP missing or not solved
    assert relaxation(triangle(), LIMIT, lambda: [], 0, 1, 0) == ([0], 5)
    c = core([1, 1], [pair(0, 1, 4, [0, 1]), pair(0, 2, 3, [0]), pair(2, 3, 2, [1])], 4, cap=[1, 1, 1, 1])
    assert relaxation(c, LIMIT, lambda: [(1, 0)], 0, 1, 0) == ([0, 2], 6)


def test_must_pairs_that_cannot_all_meet_give_no_answer_and_no_bound():
    """p0 has one meeting left and two must pairs: the LP has no solution, nor has CP-SAT."""
    c = core([2], [pair(0, 1, 1, [0], must=True), pair(0, 2, 1, [0], must=True)], 3, cap=[1, 1, 1])
    assert relaxation(c, LIMIT, lambda: [], 0, 1, 0) == (None, None)


# ------------------------------------------------------------------------------ the slot assignment


def test_assign_gives_each_chosen_pair_its_only_possible_slot():
    c = core([1, 1], [pair(0, 1, 1, [0, 1]), pair(0, 2, 1, [1])], 3)
    assert assign(c, [0, 1], LIMIT, [], 1, 0) == [(0, 0), (1, 1)]


def test_assign_respects_each_slots_tables():
    c = core([2, 1], [pair(0, 1, 1, [0, 1]), pair(2, 3, 1, [0, 1]), pair(4, 5, 1, [1])], 6)
    assert assign(c, [0, 1, 2], LIMIT, [(0, 1), (1, 1)], 1, 0) == [(0, 0), (1, 0), (2, 1)]
    c.tables = [1, 1]
    assert assign(c, [0, 1, 2], LIMIT, [], 1, 0) is None


def test_assign_finds_nothing_when_a_participant_would_meet_twice_at_once():
    c = core([2], [pair(0, 1, 1, [0]), pair(0, 2, 1, [0])], 3)
    assert assign(c, [0, 1], LIMIT, [], 1, 0) is None
    assert assign(c, [], LIMIT, [], 1, 0) == []


def test_assign_places_only_the_chosen_pairs():
    c = core([1, 1], [pair(0, 1, 1, [0, 1]), pair(2, 3, 1, [0]), pair(0, 2, 1, [1])], 4)
    assert assign(c, [0, 2], LIMIT, [], 1, 0) == [(0, 0), (2, 1)]


def test_assign_keeps_a_slot_with_no_table_left_empty():
    c = core([1, 0], [pair(0, 1, 1, [0, 1])], 2)
    assert assign(c, [0], LIMIT, [(0, 1)], 1, 0) == [(0, 0)]


def test_assign_with_no_time_left_gives_up_before_searching():
    c = core([1, 1], [pair(0, 1, 1, [0, 1])], 2)
    assert assign(c, [0], 0.0, [], 1, 0) is None


def test_assign_starts_from_the_given_places_else_the_kept_ones():
    """Several answers fit (two tables a slot): CP-SAT (one worker, a fixed seed) follows a feasible hint,
    so the hint decides which; the given place (``hint``) beats a pair's kept place (``preferred``)."""
    c = core([2, 2], [pair(0, 1, 1, [0, 1]), pair(2, 3, 1, [0, 1])], 4)
    assert assign(c, [0, 1], LIMIT, [(0, 1), (1, 0)], 1, 0) == [(0, 1), (1, 0)]
    assert assign(c, [0, 1], LIMIT, [(0, 0), (1, 1)], 1, 0) == [(0, 0), (1, 1)]
    assert assign(c, [0, 1], LIMIT, [(0, 5), (1, 1)], 1, 0) == [(0, 0), (1, 1)]  # s5 is not p0–p1's: ignored
    c.pairs[0].preferred, c.pairs[1].preferred = (1, 0), (0, 1)  # (slot, table)
    assert assign(c, [0, 1], LIMIT, [], 1, 0) == [(0, 1), (1, 0)]
    assert assign(c, [0, 1], LIMIT, [(1, 1)], 1, 0) == [(0, 1), (1, 1)]


# ------------------------------------------------------------------------------ the placement


def test_a_pair_goes_to_its_kept_place_first():
    c = core([1, 1, 1], [pair(0, 1, 1, [0, 1, 2], must=True, preferred=(2, 7))], 2)  # (slot, table)
    assert place_pairs(c, [0]) == ([(0, 2)], [])
    c.tables = [1, 1, 0]  # no table left there: the earliest
    assert place_pairs(c, [0]) == ([(0, 0)], [])
    c.pairs[0].preferred = None
    c.tables = [1, 1, 1]
    assert place_pairs(c, [0]) == ([(0, 0)], [])


def test_a_kept_place_is_taken_even_when_the_earliest_free_slot_is_full():
    c = core([1, 1, 1], [pair(2, 3, 1, [0], must=True), pair(0, 1, 1, [0, 1, 2], must=True, preferred=(2, 7))], 4)
    assert place_pairs(c, [0, 1]) == ([(0, 0), (1, 2)], [])


def test_a_kept_place_beats_a_slot_next_to_a_busy_one():
    c = core([1, 1, 1, 1], [pair(0, 1, 1, [0, 3], must=True, preferred=(3, 7))], 2, busy={0: {1}})
    assert place_pairs(c, [0]) == ([(0, 3)], [])


def test_a_pair_goes_next_to_its_sides_busy_slots_earliest_on_ties():
    # p0 busy in s1: s0 and s2 are both next to it, the earliest wins
    c = core([1, 1, 1, 1], [pair(0, 1, 1, [0, 2])], 2, busy={0: {1}})
    assert place_pairs(c, [0]) == ([(0, 0)], [])
    # p1 busy in s3 as well: s2 is next to both
    c = core([1, 1, 1, 1], [pair(0, 1, 1, [0, 2])], 2, busy={0: {1}, 1: {3}})
    assert place_pairs(c, [0]) == ([(0, 2)], [])
    # the second side's neighbours count as much as the first's
    c = core([1, 1, 1, 1], [pair(0, 1, 1, [0, 2])], 2, busy={1: {3}})
    assert place_pairs(c, [0]) == ([(0, 2)], [])
    # two busy neighbours of one side beat one
    c = core([1, 1, 1, 1], [pair(0, 1, 1, [0, 2])], 2, busy={0: {1, 3}})
    assert place_pairs(c, [0]) == ([(0, 2)], [])
    c = core([1, 1, 1, 1], [pair(0, 1, 1, [0, 2])], 2, busy={1: {1, 3}})
    assert place_pairs(c, [0]) == ([(0, 2)], [])
    # one busy neighbour of either side weighs the same: a tie, the earliest
    c = core([1, 1, 1, 1], [pair(0, 1, 1, [0, 3])], 2, busy={0: {1}, 1: {2}})
    assert place_pairs(c, [0]) == ([(0, 0)], [])
    c = core([1, 1, 1, 1], [pair(0, 1, 1, [0, 3])], 2, busy={0: {2}, 1: {1}})
    assert place_pairs(c, [0]) == ([(0, 0)], [])


def test_a_pair_never_goes_where_no_table_is_left():
    c = core([0, 1], [pair(0, 1, 1, [0, 1])], 2)
    assert place_pairs(c, [0]) == ([(0, 1)], [])
    c.tables = [0, 0]
    assert place_pairs(c, [0]) == ([], [0])


def test_a_slot_holds_as_many_meetings_as_it_has_tables():
    c = core([2, 1], [pair(0, 1, 1, [0, 1]), pair(2, 3, 1, [0, 1]), pair(4, 5, 1, [0, 1])], 6)
    assert place_pairs(c, [0, 1, 2]) == ([(0, 0), (1, 0), (2, 1)], [])


def test_the_most_constrained_pairs_go_first():
    """p0–p1 (s0 or s1) is heavier, but p0–p2 has only s0: it goes first, p0–p1 takes s1."""
    c = core([1, 1], [pair(0, 1, 9, [0, 1]), pair(0, 2, 1, [0])], 3)
    assert place_pairs(c, [0, 1]) == ([(0, 1), (1, 0)], [])
    # a must pair before any other
    c = core([1, 1], [pair(0, 1, 9, [0]), pair(0, 2, 1, [0, 1], must=True)], 3)
    assert place_pairs(c, [0, 1]) == ([(1, 0)], [0])
    # same number of slots: the heavier first; same weight: the first index
    c = core([1, 1], [pair(0, 1, 1, [0, 1]), pair(2, 3, 9, [0, 1])], 4)
    assert place_pairs(c, [0, 1]) == ([(0, 1), (1, 0)], [])
    c = core([1, 1], [pair(0, 1, 1, [0, 1]), pair(2, 3, 1, [0, 1])], 4)
    assert place_pairs(c, [1, 0]) == ([(0, 0), (1, 1)], [])


def test_each_side_meets_no_more_than_its_maximum():
    c = core([2, 2], [pair(0, 1, 1, [0]), pair(0, 2, 1, [1]), pair(3, 1, 1, [1])], 4, cap=[1, 2, 2, 2])
    assert place_pairs(c, [0, 1]) == ([(0, 0)], [1])
    c.cap = [2, 1, 2, 2]
    assert place_pairs(c, [0, 2]) == ([(0, 0)], [2])
    c.cap = [2, 2, 2, 2]
    assert place_pairs(c, [0, 1, 2]) == ([(0, 0), (1, 1), (2, 1)], [])


def test_a_meeting_moves_out_of_a_full_slot_to_make_room():
    """p2–p3 (heavier) takes s0, the only slot of p0–p1 but for s2 (no table): it moves to s1."""
    c = core([1, 1, 0], [pair(0, 1, 3, [0, 2]), pair(2, 3, 5, [0, 1])], 4)
    assert place_pairs(c, [0, 1]) == ([(0, 0), (1, 1)], [])
    # a must meeting stays
    c.pairs[1].must = True
    assert place_pairs(c, [0, 1]) == ([(1, 0)], [0])
    # no free place for it: nothing moves
    c = core([1, 0, 0], [pair(0, 1, 3, [0, 2]), pair(2, 3, 5, [0, 1])], 4)
    assert place_pairs(c, [0, 1]) == ([(1, 0)], [0])
    # its only other slot is taken for one of its sides
    c = core([1, 1, 0], [pair(0, 1, 3, [0, 2]), pair(2, 3, 5, [0, 1])], 4, busy={3: {1}})
    assert place_pairs(c, [0, 1]) == ([(1, 0)], [0])
    c = core([1, 1, 0], [pair(0, 1, 3, [0, 2]), pair(2, 3, 5, [0, 1])], 4, busy={2: {1}})
    assert place_pairs(c, [0, 1]) == ([(1, 0)], [0])


def test_the_meeting_moved_out_of_a_full_slot_may_come_after_a_must_one():
    """s0 (two tables) holds p2–p3 (must) and p4–p5: p4–p5 moves to s1, p0–p1 takes s0."""
    c = core([2, 1, 0], [pair(2, 3, 1, [0], must=True), pair(4, 5, 5, [0, 1]), pair(0, 1, 3, [0, 2])], 6)
    assert place_pairs(c, [0, 1, 2]) == ([(0, 0), (1, 1), (2, 0)], [])


def chain_core(tables: list[int] | None = None, pairs: list[Pair] = (), **kw) -> Core:  # type: ignore[assignment]
    """p0–p2 (s1 only) and p1–p3 (s0 or s1, heavier) go first; p1–p3 takes s0. p0–p1 (s0 or s1) then has
    no slot free for both: p0 is free in s0 only, p1 in s1 only: p1–p3 swaps to s1, p0–p1 takes s0."""
    return core(tables or [2, 2], [pair(0, 2, 1, [1]), pair(1, 3, 9, [0, 1]), pair(0, 1, 1, [0, 1]), *pairs],
                7 if pairs else 4, **kw)


def test_an_alternating_chain_frees_a_slot_for_both_sides():
    assert place_pairs(chain_core(), [0, 1, 2]) == ([(0, 1), (1, 1), (2, 0)], [])


def test_a_chain_of_two_swaps_both_meetings():
    """As above, and p3 meets p4 in s1: p1–p3 to s1 takes p3–p4 to s0, where p4 is free."""
    c = core([2, 2], [pair(0, 2, 1, [1]), pair(1, 3, 9, [0, 1]), pair(3, 4, 8, [0, 1]), pair(0, 1, 1, [0, 1])], 5)
    assert place_pairs(c, [0, 1, 2, 3]) == ([(0, 1), (1, 1), (2, 0), (3, 0)], [])
    # s0 with one table: p3–p4 and p0–p1 would both go there
    c.tables = [1, 2]
    assert place_pairs(c, [0, 1, 2, 3]) == ([(0, 1), (1, 0), (2, 1)], [3])


def test_a_chain_can_move_the_first_pair():
    c = core([2, 2], [pair(1, 3, 9, [0, 1]), pair(0, 2, 1, [1]), pair(0, 1, 1, [0, 1])], 4)
    assert place_pairs(c, [0, 1, 2]) == ([(0, 1), (1, 1), (2, 0)], [])


def test_a_moved_meeting_frees_its_old_place_for_the_pairs_after_it():
    """After the chain, p1–p3 left s0: p3–p4 (an extra pair) fits there, in the table it freed; p5–p6 then
    finds s0's two tables taken."""
    c = chain_core(pairs=[pair(3, 4, 5, [0]), pair(5, 6, 1, [0])])
    assert place_pairs(c, [0, 1, 2], [3, 4]) == ([(0, 1), (1, 1), (2, 0), (3, 0)], [])
    # nor is it among s0's meetings any more: moving it again (to s2, free) would free nothing in s0
    c = chain_core([2, 2, 1], pairs=[pair(3, 4, 5, [0]), pair(5, 6, 1, [0])], busy={0: {2}})
    c.pairs[1].allowed = c.pairs[2].allowed = [0, 1, 2]
    assert place_pairs(c, [0, 1, 2], [3, 4]) == ([(0, 1), (1, 1), (2, 0), (3, 0)], [])


def test_a_chain_stops_at_a_fixed_meeting():
    """p3 has a fixed meeting in s1: p1–p3 cannot swap there (p5–p6, never chosen, is a bystander)."""
    c = core([2, 2], [pair(0, 2, 1, [1]), pair(1, 3, 9, [0, 1]), pair(5, 6, 1, [0, 1]), pair(0, 1, 1, [0, 1])], 7,
             busy={3: {1}})
    assert place_pairs(c, [0, 1, 3]) == ([(0, 1), (1, 0)], [3])


def test_a_chain_is_not_tried_when_it_would_overfill_a_slot():
    assert place_pairs(chain_core([2, 1]), [0, 1, 2]) == ([(0, 1), (1, 0)], [2])


def test_a_chain_never_moves_a_must_meeting_nor_one_that_cannot_go_to_the_other_slot():
    c = chain_core()
    c.pairs[1].must = True
    assert place_pairs(c, [0, 1, 2]) == ([(0, 1), (1, 0)], [2])
    c = core([2, 2, 2], [pair(0, 2, 1, [1]), pair(1, 3, 9, [0, 2]), pair(0, 1, 1, [0, 1])], 4)
    assert place_pairs(c, [0, 1, 2]) == ([(0, 1), (1, 0)], [2])


def test_a_chain_longer_than_its_cap_is_not_tried():
    assert place_pairs(chain_core(), [0, 1, 2], max_chain=0) == ([(0, 1), (1, 0)], [2])
    assert place_pairs(chain_core(), [0, 1, 2], max_chain=1) == ([(0, 1), (1, 1), (2, 0)], [])


def test_past_the_deadline_no_chain_is_tried_and_no_extra_pair_added():
    assert place_pairs(chain_core(), [0, 1, 2], deadline=0.0) == ([(0, 1), (1, 0)], [2])
    c = core([1, 1], [pair(0, 1, 1, [0]), pair(2, 3, 5, [1])], 4)
    assert place_pairs(c, [0], [1], deadline=0.0) == ([(0, 0)], [])
    assert place_pairs(c, [0], [1], deadline=float("inf")) == ([(0, 0), (1, 1)], [])


def test_extra_pairs_go_where_room_is_left_heaviest_first():
    c = core([1, 1], [pair(0, 1, 1, [0]), pair(2, 3, 2, [1]), pair(4, 5, 5, [1]), pair(0, 4, 9, [0])], 6,
             cap=[2, 2, 2, 2, 2, 2])
    # p0–p4 (9) finds s0 taken; p4–p5 (5) before p2–p3 (2) in s1
    assert place_pairs(c, [0], [1, 2, 3]) == ([(0, 0), (2, 1)], [])
    # an extra pair already chosen is not placed twice; none is ever reported unplaced
    assert place_pairs(c, [0], [0, 1]) == ([(0, 0), (1, 1)], [])
    # maxima count the extra pairs too: p0–p4 (s0) leaves p4–p5 and p0–p1 out, p2–p3 takes s1
    c.cap = [1, 1, 1, 1, 1, 1]
    c.tables = [2, 2]
    c.pairs[3].allowed = [0, 1]
    assert place_pairs(c, [], [0, 1, 2, 3]) == ([(1, 1), (3, 0)], [])


def test_extra_pairs_may_move_a_meeting_and_count_against_both_maxima():
    c = core([1, 1, 0], [pair(0, 1, 3, [0, 2]), pair(2, 3, 5, [0, 1])], 4)
    assert place_pairs(c, [1], [0]) == ([(0, 0), (1, 1)], [])
    c = core([1, 1], [pair(0, 1, 1, [0, 1])], 2)
    assert place_pairs(c, [0], [0]) == ([(0, 0)], [])  # already placed: not again
    c = core([2, 2], [pair(0, 1, 1, [0]), pair(2, 1, 1, [1])], 3, cap=[1, 1, 1])
    assert place_pairs(c, [0], [1]) == ([(0, 0)], [])
    c = core([2, 2], [pair(0, 1, 3, [0]), pair(0, 2, 2, [1]), pair(3, 1, 1, [1])], 4, cap=[2, 2, 2, 2])
    assert place_pairs(c, [], [0, 1, 2]) == ([(0, 0), (1, 1), (2, 1)], [])


def test_extra_pairs_only_if_a_chosen_one_is_missing_when_asked():
    c = core([1, 1], [pair(0, 1, 1, [0]), pair(2, 3, 5, [1]), pair(4, 5, 1, [0])], 6)
    assert place_pairs(c, [0], [1], extra_if_missing=True) == ([(0, 0)], [])
    assert place_pairs(c, [0, 2], [1], extra_if_missing=True) == ([(0, 0), (1, 1)], [2])
    assert place_pairs(c, [0], [1]) == ([(0, 0), (1, 1)], [])


# ------------------------------------------------------------------------------ the package's lazy names


def test_schedule_and_replan_are_loaded_on_first_use_and_kept():
    """The package's ``__getattr__`` (__init__.py): the solver is imported only when asked for, then the
    name is an attribute like any other (``__getattr__`` is not called again)."""
    import services.events.domain.scheduling as package
    from services.events.domain.scheduling.replanning import replan
    from services.events.domain.scheduling.solver import schedule

    assert package.__getattr__("schedule") is schedule
    assert package.__getattr__("replan") is replan
    assert vars(package)["schedule"] is schedule and vars(package)["replan"] is replan


def test_any_other_missing_name_is_an_attribute_error_naming_it():
    import services.events.domain.scheduling as package

    with pytest.raises(AttributeError, match=r"^module 'services\.events\.domain\.scheduling' has no attribute 'plan'$"):
        package.__getattr__("plan")
    assert not hasattr(package, "Schedule_")
