"""Re-planning on the day: its refusals' fields and words, who is absent, and each figure counted exactly.

test_scheduling.py checks re-planning's invariants over random conventions and a few examples by their
outcome; under mutation (issue 12) the refusals of a bad ``previous`` schedule, the words of every
refusal, the absent computed from ``checked_in``, the default options and the displaced / kept counts of a
lock added since went unnoticed. Every instance here is tiny: CP-SAT proves it optimal long before the
generous limit, which only guards a loaded machine.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.events.domain.scheduling import (
    LockedMeeting,
    Meeting,
    MeetingRequest,
    Participant,
    RequestStatus,
    Role,
    Schedule,
    SchedulingInputError,
    SchedulingOptions,
    SchedulingProblem,
    Slot,
    replan,
    schedule,
)

T0 = datetime(2023, 11, 28, 14, 0)
KEEP = SchedulingOptions(time_limit=10, num_workers=1)
MOVES = SchedulingOptions(time_limit=10, num_workers=1, move_penalty=2)


def slot(k: int) -> Slot:
    return Slot(f"s{k}", T0 + timedelta(minutes=20 * k), timedelta(minutes=15))


def people(*ids: str) -> tuple[Participant, ...]:
    return tuple(Participant(i, Role.BUYER if i.startswith("b") else Role.SUPPLIER) for i in ids)


PARTS = people("s1", "s2", "b1", "b2")
REQS = (MeetingRequest("s1", "b1", 5), MeetingRequest("s2", "b2", 5), MeetingRequest("s1", "b2", 1))
PROBLEM = SchedulingProblem((slot(0), slot(1)), PARTS, REQS, tables=1)


def placed(s: Schedule) -> set[tuple[str, int, frozenset[str], bool]]:
    return {(m.slot, m.table, frozenset((m.a, m.b)), m.locked) for m in s.meetings}


def previous(*meetings: Meeting) -> Schedule:
    """A previous plan given by its meetings only (what replan reads of it)."""
    first = schedule(PROBLEM, KEEP)
    return Schedule(tuple(meetings), first.agendas, first.grid, (), first.quality)


def refusal(**kw) -> tuple[str, str]:
    kw.setdefault("previous", schedule(PROBLEM, KEEP))
    with pytest.raises(SchedulingInputError) as err:
        replan(kw.pop("problem", PROBLEM), kw.pop("previous"), options=kw.pop("options", KEEP), **kw)
    return err.value.field, err.value.detail


# ---------------------------------------------------------------------------------------- refusals


def test_an_unknown_no_show_is_refused_by_its_index():
    assert refusal(no_shows=["b1", "zz"]) == ("no_shows.1", "unknown participant 'zz'")


def test_an_unknown_or_absent_checked_in_participant_is_refused_by_its_index():
    assert refusal(checked_in=["s1", "zz"]) == ("checked_in.1", "unknown participant 'zz'")
    assert refusal(no_shows=["b2"], checked_in=["s1", "b2"]) == (
        "checked_in.1", "participant 'b2' is both checked in and a no-show")


def test_an_unknown_first_slot_is_refused():
    assert refusal(from_slot="s9") == ("from_slot", "unknown slot 's9'")


def test_a_previous_meeting_with_an_unknown_side_or_slot_is_refused():
    ok = Meeting("s0", 1, "s1", "b1", 5)
    assert refusal(previous=previous(ok, Meeting("s1", 1, "ghost", "b2", 1))) == (
        "previous.meetings.1.a", "unknown participant 'ghost'")
    assert refusal(previous=previous(ok, Meeting("s1", 1, "s2", "ghost", 1))) == (
        "previous.meetings.1.b", "unknown participant 'ghost'")
    assert refusal(previous=previous(ok, Meeting("s7", 1, "s2", "b2", 1))) == (
        "previous.meetings.1.slot", "unknown slot 's7'")


def test_a_previous_plan_with_two_meetings_of_one_participant_in_a_slot_is_refused():
    assert refusal(previous=previous(Meeting("s0", 1, "s1", "b1", 5), Meeting("s0", 2, "b2", "s1", 1))) == (
        "previous.meetings.1", "participant 's1' has two meetings in slot 's0'")
    assert refusal(previous=previous(Meeting("s0", 1, "s1", "b1", 5), Meeting("s0", 2, "s2", "b1", 1))) == (
        "previous.meetings.1", "participant 'b1' has two meetings in slot 's0'")
    # the same participant in two slots is fine
    replan(PROBLEM, previous(Meeting("s0", 1, "s1", "b1", 5), Meeting("s1", 1, "s1", "b2", 1)), options=KEEP)


def test_a_lock_added_since_that_collides_with_a_locked_meeting_is_refused():
    was_locked = previous(Meeting("s0", 1, "b1", "s1", 5, locked=True))
    now = SchedulingProblem(PROBLEM.slots, PARTS, REQS, 1, (LockedMeeting("s1", "b2", "s0"),))
    assert refusal(problem=now, previous=was_locked) == (
        "locked", "locked meeting s1–b2 in slot 's0' collides with another locked meeting")
    with pytest.raises(SchedulingInputError, match="^locked meeting s1–b2 in slot 's0' collides"):
        replan(now, was_locked, options=MOVES)


# ------------------------------------------------------------------------------------------ absent


def test_everyone_not_checked_in_is_absent_with_the_no_shows():
    first = schedule(PROBLEM, KEEP)
    res = replan(PROBLEM, first, checked_in=["s1", "s2", "b1"], options=KEEP)
    assert res.absent == frozenset({"b2"}) and res.figures.absent == 1
    res = replan(PROBLEM, first, no_shows=["s2"], checked_in=("s1", "b1"), options=KEEP)
    assert res.absent == frozenset({"s2", "b2"}) and res.figures.absent == 2
    assert {frozenset((m.a, m.b)) for m in res.schedule.meetings} == {frozenset({"s1", "b1"})}
    # nobody absent when everyone checked in (and no check-in list: only the no-shows)
    assert replan(PROBLEM, first, checked_in=iter(["s1", "s2", "b1", "b2"]), options=KEEP).absent == frozenset()
    assert replan(PROBLEM, first, no_shows=iter(["b2"]), options=KEEP).absent == frozenset({"b2"})


def test_replan_without_options_uses_the_defaults():
    """The default options (2 s, two workers): this tiny case is proven at once, and nothing moves."""
    first = schedule(PROBLEM, KEEP)
    res = replan(PROBLEM, first, no_shows=["b2"])
    assert placed(res.schedule) == {m for m in placed(first) if "b2" not in m[2]}
    assert (res.figures.released, res.figures.kept, res.figures.moved) == (1, 1, 0)


# ------------------------------------------------------------------------------------------ figures


def test_each_previous_meeting_is_counted_once_where_it_belongs():
    """Three slots, from s1 on: s0's meeting is history (its side absent now), s1's is released (absent),
    s2's is dropped (declined since), the last one kept; the freed places are filled by s2–b1."""
    parts = people("s1", "s2", "s3", "b1", "b2", "b3")
    slots = (slot(0), slot(1), slot(2))
    reqs = (MeetingRequest("s1", "b1", 5), MeetingRequest("s3", "b2", 5), MeetingRequest("s2", "b3", 5),
            MeetingRequest("s3", "b3", 4), MeetingRequest("s2", "b1", 1))
    problem = SchedulingProblem(slots, parts, reqs, tables=1, locked=(
        LockedMeeting("s1", "b1", "s0"), LockedMeeting("s3", "b2", "s1"), LockedMeeting("s2", "b3", "s2")))
    before = schedule(problem, KEEP)
    assert {(m.slot, frozenset((m.a, m.b))) for m in before.meetings} == {
        ("s0", frozenset({"s1", "b1"})), ("s1", frozenset({"s3", "b2"})), ("s2", frozenset({"s2", "b3"}))}
    now = SchedulingProblem(slots, parts, (*reqs, MeetingRequest("b3", "s2", 1, RequestStatus.DECLINED)), 1)
    for options in (KEEP, MOVES):
        res = replan(now, before, no_shows=["s1", "b2"], from_slot="s1", options=options)
        f = res.figures
        assert (f.absent, f.history, f.released, f.declined, f.present_meetings, f.kept, f.moved, f.displaced) == (
            2, 1, 1, 1, 0, 0, 0, 0)
        after = {(m.slot, frozenset((m.a, m.b))) for m in res.schedule.meetings}
        assert ("s0", frozenset({"s1", "b1"})) in after and len(after) == 3
        assert {pair for s, pair in after if s != "s0"} == {frozenset({"s3", "b3"}), frozenset({"s2", "b1"})}
        assert f.filled == 2


def test_a_lock_added_since_displaces_the_meetings_in_its_way_and_only_those():
    """s1–b2 locked in s0 at table 1, where s1 met b1: that meeting is displaced, s2–b2 (s1) stays."""
    parts = people("s1", "s2", "b1", "b2")
    problem = SchedulingProblem((slot(0), slot(1)), parts, REQS, tables=2)
    before = previous(Meeting("s0", 1, "b1", "s1", 5), Meeting("s1", 1, "b2", "s2", 5))
    now = SchedulingProblem(problem.slots, parts, REQS, 2, (LockedMeeting("s1", "b2", "s0", 1),))
    for options in (KEEP, MOVES):
        res = replan(now, before, options=options)
        f = res.figures
        assert (f.displaced, f.present_meetings, f.kept, f.moved) == (1, 1, 1, 0)
        assert ("s0", 1, frozenset({"s1", "b2"}), True) in placed(res.schedule)
        assert ("s1", 1, frozenset({"s2", "b2"}), False) in placed(res.schedule)
        # s1–b1 is placed again in the other slot (its weight 5 beats nothing)
        assert ("s1", 2, frozenset({"s1", "b1"}), False) in placed(res.schedule) and f.filled == 1


def test_a_lock_added_since_displaces_whatever_sits_at_its_table():
    before = previous(Meeting("s0", 1, "b1", "s1", 5), Meeting("s0", 2, "b2", "s2", 5))
    problem = SchedulingProblem((slot(0), slot(1)), PARTS, (*REQS, MeetingRequest("s2", "b1", 2)), 2,
                                (LockedMeeting("s1", "b2", "s1", 2),))
    moved = SchedulingProblem(problem.slots, PARTS, problem.requests, 2, (LockedMeeting("s1", "b1", "s0", 2),))
    res = replan(moved, before, options=KEEP)
    # the lock's own pair at another table of its slot is displaced, and so is s2–b2 at table 2
    assert res.figures.displaced == 2 and res.figures.present_meetings == 0
    assert ("s0", 2, frozenset({"s1", "b1"}), True) in placed(res.schedule)
    # a lock in a slot and at a table nobody used displaces nothing
    res = replan(problem, before, options=KEEP)
    assert res.figures.displaced == 0 and res.figures.kept == 2
    assert ("s1", 2, frozenset({"s1", "b2"}), True) in placed(res.schedule)


def test_a_lock_already_in_place_or_of_an_absent_side_changes_nothing():
    before = previous(Meeting("s0", 1, "b1", "s1", 5), Meeting("s1", 1, "b2", "s2", 5))
    for lock in (LockedMeeting("s1", "b1", "s0"), LockedMeeting("b1", "s1", "s0", 1)):
        now = SchedulingProblem(PROBLEM.slots, PARTS, REQS, 1, (lock,))
        res = replan(now, before, options=KEEP)
        f = res.figures
        assert (f.displaced, f.kept, f.moved, f.filled) == (0, 2, 0, 0)
        assert len(res.schedule.meetings) == 2
    # b1 absent: its lock is released with it, and s1 meets b2 where the lock would have gone
    now = SchedulingProblem(PROBLEM.slots, PARTS, REQS, 1, (LockedMeeting("s1", "b1", "s0"),))
    res = replan(now, before, no_shows=["b1"], options=MOVES)
    assert (res.figures.displaced, res.figures.released) == (0, 1)
    assert all(not m.locked for m in res.schedule.meetings)


def test_a_lock_added_since_for_a_pair_that_already_met_is_refused():
    """s1 met b1 in s0, now history; a lock of s1–b1 in s1 would make them meet twice."""
    met = previous(Meeting("s0", 1, "s1", "b1", 5))
    now = SchedulingProblem(PROBLEM.slots, PARTS, REQS, 1, (LockedMeeting("b1", "s1", "s1"),))
    assert refusal(problem=now, previous=met, from_slot="s1") == (
        "locked", "locked meeting b1–s1 in slot 's1': the pair already met in slot 's0'")
    # the same lock while s0 is still open moves the meeting (displaced), and another pair's history stays
    assert replan(now, met, options=KEEP).figures.displaced == 1
    other = previous(Meeting("s0", 1, "s2", "b2", 5))
    for options in (KEEP, MOVES):
        assert refusal(problem=now, previous=met, from_slot="s1", options=options)[0] == "locked"
    res = replan(now, other, from_slot="s1", options=KEEP)
    assert (res.figures.history, res.figures.displaced) == (1, 0)
    assert ("s0", 1, frozenset(("s2", "b2")), False) in placed(res.schedule)
    assert ("s1", 1, frozenset(("s1", "b1")), True) in placed(res.schedule)


SIX = people("s1", "s2", "s3", "s4", "b1", "b2", "b3", "b4")
PAIRS = tuple(MeetingRequest(f"s{k}", f"b{k}") for k in (1, 2, 3, 4))


def test_a_lock_with_a_table_displaces_only_the_meeting_at_that_table_of_that_slot():
    """s4–b4 locked in s0 at table 2: s2–b2 sat there. s1–b1 (s0, table 1) and s3–b3 (s1, table 2) stay."""
    before = previous(Meeting("s0", 1, "b1", "s1", 1), Meeting("s0", 2, "b2", "s2", 1), Meeting("s1", 2, "b3", "s3", 1))
    now = SchedulingProblem((slot(0), slot(1)), SIX, PAIRS, 2, (LockedMeeting("s4", "b4", "s0", 2),))
    for options in (KEEP, MOVES):
        res = replan(now, before, options=options)
        f = res.figures
        assert (f.displaced, f.present_meetings, f.kept, f.moved) == (1, 2, 2, 0)
        assert {("s0", 1, frozenset({"s1", "b1"}), False), ("s0", 2, frozenset({"s4", "b4"}), True),
                ("s1", 2, frozenset({"s3", "b3"}), False)} <= placed(res.schedule)
    # without a table, the lock takes a free one and displaces nobody
    now = SchedulingProblem((slot(0), slot(1)), SIX, PAIRS, 2, (LockedMeeting("s4", "b4", "s1"),))
    res = replan(now, before, options=KEEP)
    assert (res.figures.displaced, res.figures.kept) == (0, 3)
    assert ("s1", 1, frozenset({"s4", "b4"}), True) in placed(res.schedule)


def test_a_lock_of_a_pair_that_meets_in_another_open_slot_displaces_that_meeting():
    before = previous(Meeting("s1", 1, "b1", "s1", 1), Meeting("s0", 1, "b2", "s2", 1))
    now = SchedulingProblem((slot(0), slot(1)), SIX, PAIRS, 2, (LockedMeeting("b1", "s1", "s0"),))
    res = replan(now, before, options=KEEP)
    assert (res.figures.displaced, res.figures.present_meetings, res.figures.kept) == (1, 1, 1)
    assert [(m.slot, m.locked) for m in res.schedule.meetings if {m.a, m.b} == {"s1", "b1"}] == [("s0", True)]
    assert ("s0", 1, frozenset({"s2", "b2"}), False) in placed(res.schedule)


def test_every_lock_added_since_is_placed_after_one_skipped_or_already_in_place():
    before = previous(Meeting("s0", 1, "b1", "s1", 1), Meeting("s1", 1, "b2", "s2", 1))
    three = (slot(0), slot(1), slot(2))
    new = LockedMeeting("s4", "b4", "s2", 2)
    for first, kw in ((LockedMeeting("s1", "b1", "s0", 1), {}),  # already where it wants
                      (LockedMeeting("s3", "b3", "s0"), {"from_slot": "s1"}),  # in the past
                      (LockedMeeting("s3", "b3", "s1"), {"no_shows": ["b3"]})):  # a side absent
        now = SchedulingProblem(three, SIX, PAIRS, 2, (first, new))
        res = replan(now, before, options=KEEP, **kw)
        assert ("s2", 2, frozenset({"s4", "b4"}), True) in placed(res.schedule), first


def test_nothing_new_goes_in_a_past_slot_even_with_a_table_free():
    parts = people("s1", "s2", "b1", "b2")
    reqs = (MeetingRequest("s1", "b1", 5), MeetingRequest("s2", "b2", 5))
    problem = SchedulingProblem((slot(0), slot(1)), parts, reqs, tables=1)
    before = previous(Meeting("s1", 1, "b1", "s1", 5))
    for options in (KEEP, MOVES):
        res = replan(problem, before, from_slot="s1", options=options)
        assert placed(res.schedule) == {("s1", 1, frozenset({"s1", "b1"}), False)}
    # from the first slot on, s0 is open: s2–b2 goes there
    res = replan(problem, before, from_slot="s0", options=KEEP)
    assert ("s0", 1, frozenset({"s2", "b2"}), False) in placed(res.schedule)


def test_history_and_declined_meetings_are_each_counted_and_the_next_ones_still_read():
    before = previous(Meeting("s0", 1, "b1", "s1", 1), Meeting("s0", 2, "b2", "s2", 1),
                      Meeting("s1", 1, "b3", "s3", 1), Meeting("s1", 2, "b4", "s4", 1))
    declined = (MeetingRequest("b1", "s1", status=RequestStatus.DECLINED),
                MeetingRequest("b2", "s2", status=RequestStatus.DECLINED))
    now = SchedulingProblem((slot(0), slot(1), slot(2)), SIX, (*PAIRS, *declined), 2)
    res = replan(now, before, from_slot="s2", options=KEEP)
    assert (res.figures.history, res.figures.declined, res.figures.kept) == (4, 0, 0)
    res = replan(now, before, options=KEEP)
    f = res.figures
    assert (f.history, f.declined, f.present_meetings, f.kept) == (0, 2, 2, 2)
    assert {("s1", 1, frozenset({"s3", "b3"}), False), ("s1", 2, frozenset({"s4", "b4"}), False)} == placed(res.schedule)


def test_a_meeting_kept_with_moves_allowed_keeps_its_table():
    """s1–b1 sat at table 2 of s1, table 1 free: kept in place, it keeps table 2 (not the lowest free one)."""
    res = replan(SchedulingProblem((slot(0), slot(1)), PARTS, REQS, 2), previous(Meeting("s1", 2, "b1", "s1", 5)),
                 options=MOVES)
    assert ("s1", 2, frozenset({"s1", "b1"}), False) in placed(res.schedule)
    assert (res.figures.kept, res.figures.moved) == (1, 0)
