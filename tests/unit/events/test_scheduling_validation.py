"""The scheduler's input checks, called directly: each refusal's field *and* words, and the bounds.

The solver tests reach ``validate`` on every call but only with good input, and the bad-input table
of test_scheduling.py reads a field and a word of the detail: under mutation (issue 12) the refusals'
words, the first of several unknown slots, the index a duplicate points back to and every bound
(a count of exactly 0, a priority of exactly 1 or 10, back-to-back slots, the last table) went
unnoticed. The details are compared whole: an organiser reads them in the planning screen.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.events.domain.scheduling import (
    MAX_PRIORITY,
    LockedMeeting,
    MeetingRequest,
    Participant,
    RequestStatus,
    Role,
    SchedulingInputError,
    SchedulingProblem,
    Slot,
    validate,
)
from services.events.domain.scheduling.validation import group_requests, slot_tables

T0 = datetime(2023, 11, 28, 14, 0)
QUARTER = timedelta(minutes=15)


def slot(k: int, tables: int | None = None) -> Slot:
    """Slots of 15 minutes every 20 minutes: never adjacent, never overlapping."""
    return Slot(f"s{k}", T0 + timedelta(minutes=20 * k), QUARTER, tables)


def people(*ids: str, **limits: int) -> tuple[Participant, ...]:
    return tuple(Participant(i, Role.BUYER if i.startswith("b") else Role.SUPPLIER, max_meetings=limits.get(i))
                 for i in ids)


def problem(*, slots=(slot(0), slot(1)), participants=people("a", "b", "c"), requests=(), tables=2,
            locked=()) -> SchedulingProblem:
    return SchedulingProblem(tuple(slots), tuple(participants), tuple(requests), tables, tuple(locked))


def refusal(bad: SchedulingProblem) -> tuple[str, str]:
    with pytest.raises(SchedulingInputError) as err:
        validate(bad)
    return err.value.field, err.value.detail


# ------------------------------------------------------------------------------------------ slots


def test_a_convention_without_slots_is_refused():
    assert refusal(problem(slots=())) == ("slots", "a convention needs at least one slot")


@pytest.mark.parametrize("tables", [0, -1])
def test_a_table_count_below_one_is_refused(tables):
    assert refusal(problem(tables=tables)) == ("tables", f"tables per slot must be positive, got {tables}")


def test_one_table_per_slot_is_enough():
    assert validate(problem(tables=1)) is None
    assert validate(problem(slots=(slot(0, tables=1),), tables=None)) is None


def test_a_slot_without_an_id_is_refused_by_its_index():
    assert refusal(problem(slots=(slot(0), Slot("", T0 + timedelta(hours=1), QUARTER)))) == (
        "slots.1.id", "a slot needs an id")


def test_a_slot_given_twice_points_back_to_its_first_place():
    twice = (slot(0), slot(1), Slot("s0", T0 + timedelta(hours=2), QUARTER))
    assert refusal(problem(slots=twice)) == ("slots.2.id", "slot 's0' appears twice (also slots.0)")
    twice = (slot(0), slot(1), Slot("s1", T0 + timedelta(hours=2), QUARTER))
    assert refusal(problem(slots=twice)) == ("slots.2.id", "slot 's1' appears twice (also slots.1)")


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(seconds=-60)])
def test_a_slot_of_no_time_is_refused(duration):
    assert refusal(problem(slots=(slot(0), Slot("s1", T0 + timedelta(hours=1), duration)))) == (
        "slots.1.duration", "slot 's1' has a non-positive duration")


def test_a_slot_of_one_second_is_a_slot():
    assert validate(problem(slots=(Slot("s0", T0, timedelta(seconds=1)),))) is None
    assert validate(problem(slots=(Slot("s0", T0, timedelta(milliseconds=500)),))) is None


def test_a_slot_without_a_table_count_anywhere_is_refused():
    assert refusal(problem(slots=(slot(0, tables=3), slot(1)), tables=None)) == (
        "slots.1.tables", "slot 's1': no table count (neither the slot's nor the problem's)")


@pytest.mark.parametrize("tables", [0, -2])
def test_a_slot_with_no_table_is_refused(tables):
    assert refusal(problem(slots=(slot(0), slot(1, tables=tables)))) == (
        "slots.1.tables", f"slot 's1' has {tables} tables: needs at least one")


def test_slots_that_overlap_are_refused_by_the_later_one_whatever_their_order():
    clash = Slot("clash", T0 + timedelta(minutes=14), QUARTER)
    assert refusal(problem(slots=(slot(0), clash))) == ("slots.1", "slot 'clash' overlaps slot 's0'")
    # given in reverse order: the later slot is still the one named, by its own index
    assert refusal(problem(slots=(clash, slot(0), slot(3)))) == ("slots.0", "slot 'clash' overlaps slot 's0'")
    # a long slot overlaps one that does not start within the previous one's first minutes
    long = Slot("long", T0, timedelta(hours=1))
    assert refusal(problem(slots=(long, slot(2)))) == ("slots.1", "slot 's2' overlaps slot 'long'")


def test_back_to_back_slots_do_not_overlap():
    adjacent = (Slot("s0", T0, QUARTER), Slot("s1", T0 + QUARTER, QUARTER), Slot("s2", T0 + 2 * QUARTER, QUARTER))
    assert validate(problem(slots=adjacent)) is None
    assert validate(problem(slots=tuple(reversed(adjacent)))) is None


# ------------------------------------------------------------------------------------ participants


def test_a_participant_without_an_id_or_given_twice_is_refused():
    assert refusal(problem(participants=(*people("a", "b"), Participant("", Role.BUYER)))) == (
        "participants.2.id", "a participant needs an id")
    assert refusal(problem(participants=people("a", "b", "a"))) == (
        "participants.2.id", "participant 'a' appears twice (also participants.0)")


def test_an_unknown_role_is_refused():
    odd = Participant("x", "observer")  # type: ignore[arg-type]
    assert refusal(problem(participants=(*people("a"), odd))) == (
        "participants.1.role", "participant 'x': unknown role 'observer'")
    # the role's value as text is not a role either
    assert refusal(problem(participants=(Participant("x", "buyer"),))) == (  # type: ignore[arg-type]
        "participants.0.role", "participant 'x': unknown role 'buyer'")


def test_a_negative_maximum_is_refused_and_zero_is_a_maximum():
    assert refusal(problem(participants=people("a", "b", b=-1))) == (
        "participants.1.max_meetings", "participant 'b': negative maximum -1")
    assert validate(problem(participants=people("a", "b", b=0))) is None


def test_the_first_unknown_slot_of_an_availability_is_named():
    away = Participant("a", Role.SUPPLIER, available=frozenset({"s1", "zz", "mm"}))
    assert refusal(problem(participants=(away, *people("b")))) == (
        "participants.0.available", "participant 'a': unknown slot 'mm'")
    assert validate(problem(participants=(Participant("a", Role.SUPPLIER, available=frozenset()),))) is None


# ---------------------------------------------------------------------------------------- requests


def test_a_request_from_or_to_an_unknown_participant_is_refused():
    assert refusal(problem(requests=(MeetingRequest("a", "b"), MeetingRequest("zz", "b")))) == (
        "requests.1.from", "unknown participant 'zz'")
    assert refusal(problem(requests=(MeetingRequest("a", "zz"),))) == ("requests.0.to", "unknown participant 'zz'")


def test_a_request_to_oneself_is_refused():
    assert refusal(problem(requests=(MeetingRequest("b", "b"),))) == (
        "requests.0.to", "participant 'b' requests a meeting with itself")


def test_a_status_that_is_not_one_is_refused():
    assert refusal(problem(requests=(MeetingRequest("a", "b", status="accepted"),))) == (  # type: ignore[arg-type]
        "requests.0.status", "unknown status 'accepted'")


@pytest.mark.parametrize("priority", [0, MAX_PRIORITY + 1, -3, True, False, 2.0, "3", None])
def test_a_priority_outside_one_to_ten_or_not_a_whole_number_is_refused(priority):
    assert refusal(problem(requests=(MeetingRequest("a", "b", priority),))) == (
        "requests.0.priority", f"priority {priority!r} of 'a'→'b' not in 1…10")


@pytest.mark.parametrize("priority", [1, 5, MAX_PRIORITY])
def test_priorities_from_one_to_ten_are_taken(priority):
    assert validate(problem(requests=(MeetingRequest("a", "b", priority),))) is None


@pytest.mark.parametrize("forced", [1, 0, "yes", None])
def test_forced_is_true_or_false_and_nothing_else(forced):
    assert refusal(problem(requests=(MeetingRequest("a", "b", forced=forced),))) == (  # type: ignore[arg-type]
        "requests.0.forced", f"forced must be true or false, not {forced!r}")


def test_a_request_given_twice_points_back_to_the_first_but_both_directions_are_two_requests():
    twice = (MeetingRequest("a", "b"), MeetingRequest("a", "c"), MeetingRequest("a", "c", 2))
    assert refusal(problem(requests=twice)) == ("requests.2", "request 'a'→'c' appears twice (also requests.1)")
    assert validate(problem(requests=(MeetingRequest("a", "b"), MeetingRequest("b", "a")))) is None


# ------------------------------------------------------------------------------- locked meetings


def test_a_locked_meeting_with_an_unknown_side_or_slot_is_refused():
    assert refusal(problem(locked=(LockedMeeting("ghost", "b", "s0"),))) == (
        "locked.0.a", "locked meeting: unknown participant 'ghost'")
    assert refusal(problem(locked=(LockedMeeting("a", "b", "s0"), LockedMeeting("a", "ghost", "s1")))) == (
        "locked.1.b", "locked meeting: unknown participant 'ghost'")
    assert refusal(problem(locked=(LockedMeeting("a", "b", "s7"),))) == (
        "locked.0.slot", "locked meeting 'a'–'b': unknown slot 's7'")


def test_a_locked_meeting_with_oneself_is_refused():
    assert refusal(problem(locked=(LockedMeeting("c", "c", "s1"),))) == (
        "locked.0.b", "locked meeting of 'c' with itself")


def test_a_declined_pair_is_locked_only_when_a_direction_is_forced():
    declined = MeetingRequest("b", "a", status=RequestStatus.DECLINED)
    lock = (LockedMeeting("a", "b", "s0"),)
    assert refusal(problem(requests=(declined,), locked=lock)) == (
        "locked.0", "locked meeting 'a'–'b': the request was declined (not forced)")
    # the other direction forced lifts the decline
    assert validate(problem(requests=(declined, MeetingRequest("a", "b", forced=True)), locked=lock)) is None
    # a pending request is not a decline
    assert validate(problem(requests=(MeetingRequest("b", "a", status=RequestStatus.PENDING),), locked=lock)) is None
    # a forced request of another pair lifts nothing
    assert refusal(problem(requests=(declined, MeetingRequest("a", "c", forced=True)), locked=lock))[0] == "locked.0"


def test_a_pair_is_locked_once():
    twice = (LockedMeeting("a", "b", "s0"), LockedMeeting("a", "c", "s1"), LockedMeeting("c", "a", "s0"))
    assert refusal(problem(locked=twice)) == (
        "locked.2", "pair 'c'–'a' is locked twice (also locked.1): a pair meets at most once")


def test_a_locked_meeting_in_a_slot_a_side_is_away_is_refused():
    away = Participant("b", Role.BUYER, available=frozenset({"s1"}))
    assert refusal(problem(participants=(*people("a"), away), locked=(LockedMeeting("a", "b", "s0"),))) == (
        "locked.0", "locked meeting: participant 'b' is unavailable in slot 's0'")
    assert validate(problem(participants=(*people("a"), away), locked=(LockedMeeting("a", "b", "s1"),))) is None


def test_two_locked_meetings_of_one_participant_in_one_slot_are_refused():
    both = (LockedMeeting("a", "b", "s1"), LockedMeeting("b", "c", "s0"), LockedMeeting("c", "a", "s1"))
    assert refusal(problem(locked=both)) == (
        "locked.2", "participant 'a' has two locked meetings in slot 's1' (also locked.0)")
    both = (LockedMeeting("a", "b", "s0"), LockedMeeting("c", "b", "s0"))
    assert refusal(problem(locked=both)) == (
        "locked.1", "participant 'b' has two locked meetings in slot 's0' (also locked.0)")


def test_locked_meetings_up_to_a_participant_s_maximum_are_taken_one_more_is_refused():
    three = (Slot("s0", T0, QUARTER), slot(1), slot(2))
    up_to = (LockedMeeting("a", "b", "s0"), LockedMeeting("c", "b", "s1"))
    assert validate(problem(slots=three, participants=people("a", "b", "c", b=2), locked=up_to)) is None
    over = (*up_to, LockedMeeting("b", "d", "s2"))
    assert refusal(problem(slots=three, participants=people("a", "b", "c", "d", b=2), locked=over)) == (
        "locked.2", "participant 'b': locked meetings exceed its maximum of 2")
    # a maximum of 0 refuses the first one; another participant's count is not this one's
    assert refusal(problem(participants=people("a", "b", "c", c=0), locked=(LockedMeeting("a", "c", "s0"),))) == (
        "locked.0", "participant 'c': locked meetings exceed its maximum of 0")
    assert validate(problem(participants=people("a", "b", "c", "d", d=1),
                            locked=(LockedMeeting("a", "b", "s0"), LockedMeeting("a", "c", "s1"),
                                    LockedMeeting("c", "d", "s0")))) is None


def test_a_slot_takes_as_many_locked_meetings_as_it_has_tables():
    four = people("a", "b", "c", "d", "e", "f")
    full = (LockedMeeting("a", "b", "s0"), LockedMeeting("c", "d", "s0"))
    assert validate(problem(participants=four, locked=full)) is None
    assert refusal(problem(participants=four, locked=(*full, LockedMeeting("e", "f", "s0")))) == (
        "locked.2", "slot 's0': more locked meetings than its 2 tables")
    # the slot's own count first; another slot's meetings are not counted
    assert refusal(problem(slots=(slot(0, tables=1), slot(1)), participants=four, tables=3, locked=full)) == (
        "locked.1", "slot 's0': more locked meetings than its 1 tables")
    assert validate(problem(slots=(slot(0, tables=1), slot(1, tables=1)), participants=four, tables=None,
                            locked=(LockedMeeting("a", "b", "s0"), LockedMeeting("c", "d", "s1")))) is None


@pytest.mark.parametrize("table", [0, 3, -1])
def test_a_locked_table_outside_the_slot_s_tables_is_refused(table):
    assert refusal(problem(locked=(LockedMeeting("a", "b", "s0", table),))) == (
        "locked.0.table", f"slot 's0' has tables 1…2, not {table}")


@pytest.mark.parametrize("table", [1, 2])
def test_the_first_and_last_tables_can_be_locked(table):
    assert validate(problem(locked=(LockedMeeting("a", "b", "s0", table),))) is None


def test_a_slot_s_own_table_count_bounds_its_locked_tables():
    assert refusal(problem(slots=(slot(0, tables=4), slot(1)), locked=(LockedMeeting("a", "b", "s1", 3),))) == (
        "locked.0.table", "slot 's1' has tables 1…2, not 3")
    assert validate(problem(slots=(slot(0, tables=4), slot(1)), locked=(LockedMeeting("a", "b", "s0", 4),))) is None


def test_a_table_is_locked_once_per_slot():
    four = people("a", "b", "c", "d", "e", "f")
    twice = (LockedMeeting("a", "b", "s0", 2), LockedMeeting("c", "d", "s1", 2), LockedMeeting("e", "f", "s1", 2))
    assert refusal(problem(participants=four, tables=3, locked=twice)) == (
        "locked.2.table", "table 2 of slot 's1' is locked twice (also locked.1)")
    # the same table in two slots, and two meetings without a table, are fine
    assert validate(problem(participants=four, locked=twice[:2])) is None
    assert validate(problem(participants=four, locked=(LockedMeeting("a", "b", "s0"), LockedMeeting("c", "d", "s0")))) is None


def test_the_checks_run_slots_then_participants_then_requests_then_locked_meetings():
    """With several faults the first reported is the first in that order (the planning screen shows one)."""
    every = dict(slots=(slot(0), slot(0)), participants=people("a", "a"), requests=(MeetingRequest("a", "zz"),),
                 locked=(LockedMeeting("a", "ghost", "s0"),))
    assert refusal(problem(**every))[0] == "slots.1.id"
    every["slots"] = (slot(0),)
    assert refusal(problem(**every))[0] == "participants.1.id"
    every["participants"] = people("a", "b")
    assert refusal(problem(**every))[0] == "requests.0.to"
    every["requests"] = ()
    assert refusal(problem(**every))[0] == "locked.0.b"


def test_a_locked_meeting_is_checked_against_the_slots_availability_known_to_validate():
    """Availability naming a slot given in the problem is known (the slot ids are those of ``slots``)."""
    only = Participant("a", Role.SUPPLIER, available=frozenset({"s1"}))
    assert validate(problem(participants=(only, *people("b")), locked=(LockedMeeting("a", "b", "s1", 1),))) is None


# ------------------------------------------------------------------------------------------ helpers


def test_a_slot_s_tables_are_its_own_else_the_problem_s():
    p = problem(slots=(slot(0, tables=5), slot(1)), tables=2)
    assert [slot_tables(p, s) for s in p.slots] == [5, 2]
    assert slot_tables(problem(tables=None), slot(0, tables=1)) == 1
    assert slot_tables(problem(tables=None), slot(0)) == 0


def test_requests_are_grouped_by_unordered_pair_in_their_order():
    reqs = (MeetingRequest("a", "b"), MeetingRequest("c", "a"), MeetingRequest("b", "a"), MeetingRequest("a", "c"))
    assert group_requests(problem(requests=reqs)) == {
        frozenset({"a", "b"}): [0, 2], frozenset({"a", "c"}): [1, 3]}
    assert group_requests(problem()) == {}
