"""A convention's settings (services/events/domain/conventions/settings.py): slots given or generated
around breaks, tables, the settings' bounds, and the field and words of each refusal."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from contracts.events.conventions import ConventionSlotInfo
from services.events.domain.conventions import ConventionSettings, generate_slots
from services.events.domain.conventions.settings import Break, ConventionSlot, parse_breaks
from tests.unit.refusals import refusal

PARIS = timezone(timedelta(hours=1))
T0 = datetime(2023, 3, 21, 14, 0, tzinfo=PARIS)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def slot(sid: str, minutes_from_t0: int, duration: int = 20, **kw) -> dict:
    return {"id": sid, "start_at": T0 + minutes_from_t0 * MIN, "duration_minutes": duration, **kw}


def build(**kw) -> ConventionSettings:
    args = dict(slots=[slot("s1", 0), slot("s2", 30)], tables=3)
    args.update(kw)
    return ConventionSettings.build(**args)


# -- building ------------------------------------------------------------------------------------

def test_settings_keep_every_value_given_and_the_slots_in_time_order():
    s = build(slots=[slot("late", 60, tables=2), ConventionSlot(id="early", start_at=T0, duration_minutes=30)],
              tables=4, breaks=[{"start_at": T0 + 30 * MIN, "end_at": T0 + 60 * MIN}], table_overrides={"early": 7},
              request_expiry_hours=None, schedule_pending=True, max_meetings_default=5, allow_same_role=True)
    assert [(x.id, x.start_at, x.duration_minutes, x.tables) for x in s.slots] == [
        ("early", T0, 30, 7), ("late", T0 + HOUR, 20, 2)]
    assert s.tables == 4 and s.breaks == (Break(start_at=T0 + 30 * MIN, end_at=T0 + HOUR),)
    assert (s.request_expiry_hours, s.schedule_pending, s.max_meetings_default, s.allow_same_role) == (
        None, True, 5, True)
    defaults = build()
    assert (defaults.request_expiry_hours, defaults.schedule_pending, defaults.max_meetings_default,
            defaults.allow_same_role, defaults.breaks) == (72, False, None, False, ())
    assert build(table_overrides={}).slots == defaults.slots


def test_the_settings_bounds_are_accepted_and_one_past_them_refused():
    s = build(tables=5000, request_expiry_hours=366 * 24, max_meetings_default=200,
              table_overrides={"s1": 5000, "s2": 1})
    assert (s.tables, s.request_expiry_hours, s.max_meetings_default) == (5000, 8784, 200)
    assert [s.tables_in(x) for x in s.slots] == [5000, 1]
    assert build(tables=1, request_expiry_hours=1, max_meetings_default=1).tables == 1
    assert refusal(build, tables=5001) == ("tables", "tables must be a whole number from 1 to 5000 (got 5001)")
    assert refusal(build, tables=0) == ("tables", "tables must be a whole number from 1 to 5000 (got 0)")
    assert refusal(build, request_expiry_hours=8785) == (
        "request_expiry_hours", "request_expiry_hours must be a whole number from 1 to 8784 (got 8785)")
    assert refusal(build, request_expiry_hours=0) == (
        "request_expiry_hours", "request_expiry_hours must be a whole number from 1 to 8784 (got 0)")
    assert refusal(build, max_meetings_default=201) == (
        "max_meetings_default", "max_meetings_default must be a whole number from 1 to 200 (got 201)")
    assert refusal(build, max_meetings_default=0) == (
        "max_meetings_default", "max_meetings_default must be a whole number from 1 to 200 (got 0)")
    assert refusal(build, schedule_pending=1) == ("schedule_pending", "schedule_pending must be true or false (got 1)")
    assert refusal(build, allow_same_role="no") == (
        "allow_same_role", "allow_same_role must be true or false (got 'no')")
    assert refusal(build, table_overrides={"s2": 5001}) == (
        "table_overrides.s2", "table_overrides.s2 must be a whole number from 1 to 5000 (got 5001)")
    assert refusal(build, table_overrides={"s1": 2, "s9": 2}) == (
        "table_overrides.s9", "table_overrides.s9: unknown slot 's9'")


def test_slots_are_checked_one_by_one_naming_the_slot_in_the_order_given():
    assert refusal(build, slots=None) == ("slots", "slots must be a list of slots")
    assert refusal(build, slots="s1") == ("slots", "slots must be a list of slots")
    assert refusal(build, slots=[]) == ("slots", "a convention needs at least one slot")
    assert refusal(build, slots=[slot("a", 0), ("b", T0, 20)]) == (
        "slots.1", "slots.1 must be a slot (id, start_at, duration_minutes, tables)")
    assert refusal(build, slots=[slot("a", 0), slot("b", 30), slot("a", 60)]) == (
        "slots.2.id", "slot 'a' appears twice (also slots.0)")
    assert refusal(build, slots=[slot("a", 0), slot(" ", 30)]) == ("slots.1.id", "slots.1.id is required")
    assert refusal(build, slots=[slot("a", 0), {"id": "b", "duration_minutes": 20}]) == (
        "slots.1.start_at", "slots.1.start_at must be a date and time (got None)")
    assert refusal(build, slots=[slot("a", 0, duration=1441)]) == (
        "slots.0.duration_minutes", "slots.0.duration_minutes must be a whole number from 1 to 1440 (got 1441)")
    assert build(slots=[slot("a", 0, duration=1440)]).slots[0].duration_minutes == 1440
    assert refusal(build, slots=[slot("a", 0, tables=5001)]) == (
        "slots.0.tables", "slots.0.tables must be a whole number from 1 to 5000 (got 5001)")
    late = {"id": "a", "start_at": datetime(2200, 12, 31, 23, 50, tzinfo=timezone.utc), "duration_minutes": 20}
    assert refusal(build, slots=[late]) == (
        "slots.0.duration_minutes", "slots.0.duration_minutes must be in the years 1900–2200 (got 2201-01-01T00:10:00+00:00)")


def test_at_most_200_slots():
    many = generate_slots(start_at=T0, slot_minutes=5, count=200)
    assert len(build(slots=many).slots) == 200
    one_more = [*many, ConventionSlot(id="s201", start_at=T0 + 2000 * MIN, duration_minutes=5)]
    assert refusal(build, slots=one_more) == ("slots", "at most 200 slots (got 201)")


def test_slots_may_touch_but_not_overlap_each_other_or_a_break():
    touching = build(slots=[slot("b", 20), slot("a", 0)], breaks=[(T0 + 40 * MIN, T0 + HOUR)])
    assert [x.id for x in touching.slots] == ["a", "b"]
    # given out of order: the later slot is named by its place in the list
    assert refusal(build, slots=[slot("b", 19), slot("a", 0)]) == ("slots.0.start_at", "slot 'b' overlaps slot 'a'")


def test_a_slot_over_a_break_names_the_break_by_its_place_in_the_list_given():
    # the settings keep the breaks in time order; the refusal speaks of the list the client sent
    assert refusal(build, slots=[slot("a", 0), slot("b", 30)],
                   breaks=[(T0 + 2 * HOUR, T0 + 3 * HOUR), (T0 + 49 * MIN, T0 + HOUR)]) == (
        "slots.1.start_at", "slot 'b' overlaps breaks.1")
    assert refusal(build, slots=[slot("a", 0), slot("b", 30)],
                   breaks=[(T0 + 10 * MIN, T0 + 30 * MIN), (T0 + 2 * HOUR, T0 + 3 * HOUR)]) == (
        "slots.0.start_at", "slot 'a' overlaps breaks.0")


def test_the_queries_of_the_settings():
    s = build(slots=[slot("s1", 0), slot("s2", 30, tables=1)], tables=3)
    assert s.slot("s2") is s.slots[1] and s.slot("s9") is None
    assert [s.tables_in(x) for x in s.slots] == [3, 1]
    assert s.first_slot_after(T0).id == "s2" and s.first_slot_after(T0 - MIN).id == "s1"
    assert s.first_slot_after(T0 + 30 * MIN) is None
    assert s.slot_infos() == [ConventionSlotInfo(slot_id="s1", start_at=T0, duration_minutes=20, tables=3),
                              ConventionSlotInfo(slot_id="s2", start_at=T0 + 30 * MIN, duration_minutes=20, tables=1)]


# -- breaks --------------------------------------------------------------------------------------

def test_breaks_come_in_three_forms_and_are_kept_in_time_order():
    later = Break(start_at=T0 + 3 * HOUR, end_at=T0 + 4 * HOUR)
    got = parse_breaks([later, {"start_at": T0, "end_at": T0 + HOUR}, [T0 + HOUR, T0 + 2 * HOUR]])
    assert got == (Break(start_at=T0, end_at=T0 + HOUR), Break(start_at=T0 + HOUR, end_at=T0 + 2 * HOUR), later)
    assert parse_breaks(None) == ()


def test_a_break_that_is_not_one_ends_too_early_or_overlaps_another_is_named():
    assert refusal(parse_breaks, [(T0, T0 + HOUR), (T0,)]) == ("breaks.1", "breaks.1 must be a start_at and an end_at")
    assert refusal(parse_breaks, ["10:00-11:00"]) == ("breaks.0", "breaks.0 must be a start_at and an end_at")
    assert refusal(parse_breaks, [(T0, T0)]) == ("breaks.0.end_at", "breaks.0 ends before it starts")
    assert refusal(parse_breaks, [(T0, T0.replace(tzinfo=None))]) == (
        "breaks.0.end_at", "breaks.0.end_at must carry a time zone (naive date and time 2023-03-21T14:00:00)")
    assert refusal(parse_breaks, [(T0, T0 + HOUR), {"start_at": "10:00", "end_at": T0}]) == (
        "breaks.1.start_at", "breaks.1.start_at must be a date and time (got '10:00')")
    assert refusal(build, breaks=[{"end_at": T0}]) == (
        "breaks.0.start_at", "breaks.0.start_at must be a date and time (got None)")
    # named by its place in the list, not in time order
    assert refusal(parse_breaks, [(T0 + 2 * HOUR, T0 + 3 * HOUR), (T0, T0 + HOUR), (T0 + 59 * MIN, T0 + 90 * MIN)]) == (
        "breaks.2.start_at", "breaks.2 overlaps another break")


def test_a_break_overlaps_what_starts_before_its_end_and_ends_after_its_start():
    b = Break(start_at=T0, end_at=T0 + HOUR)
    assert not b.overlaps(T0 - HOUR, T0) and not b.overlaps(T0 + HOUR, T0 + 2 * HOUR)
    assert b.overlaps(T0 - HOUR, T0 + MIN) and b.overlaps(T0 + 59 * MIN, T0 + 2 * HOUR)


# -- generated slots -----------------------------------------------------------------------------

def test_generated_slots_keep_their_length_and_gap_and_jump_over_breaks():
    got = generate_slots(start_at=T0, slot_minutes=30, count=4, gap_minutes=0,
                         breaks=[(T0 + 30 * MIN, T0 + 40 * MIN), {"start_at": T0 + 40 * MIN, "end_at": T0 + 50 * MIN}])
    assert [(x.id, x.start_at - T0, x.duration_minutes, x.tables) for x in got] == [
        ("s1", 0 * MIN, 30, None), ("s2", 50 * MIN, 30, None), ("s3", 80 * MIN, 30, None), ("s4", 110 * MIN, 30, None)]
    assert [x.start_at - T0 for x in generate_slots(start_at=T0, slot_minutes=10, count=3)] == [0 * MIN, 10 * MIN,
                                                                                                20 * MIN]


def test_generation_bounds_and_refusals():
    assert len(generate_slots(start_at=T0, slot_minutes=1440, count=200, gap_minutes=1440)) == 200
    assert [(x.id, x.start_at, x.duration_minutes) for x in generate_slots(start_at=T0, slot_minutes=1, count=1)] == [
        ("s1", T0, 1)]
    assert refusal(generate_slots, start_at=T0, slot_minutes=1441, count=1) == (
        "slot_minutes", "slot_minutes must be a whole number from 1 to 1440 (got 1441)")
    assert refusal(generate_slots, start_at=T0, slot_minutes=20, count=1, gap_minutes=1441) == (
        "gap_minutes", "gap_minutes must be a whole number from 0 to 1440 (got 1441)")
    assert refusal(generate_slots, start_at=T0, slot_minutes=20, count=201) == (
        "count", "count must be a whole number from 1 to 200 (got 201)")
    assert refusal(generate_slots, start_at="14:00", slot_minutes=20, count=1) == (
        "start_at", "start_at must be a date and time (got '14:00')")
    late = datetime(2200, 12, 31, 22, 59, tzinfo=timezone.utc)
    assert [x.start_at for x in generate_slots(start_at=late, slot_minutes=30, count=2)] == [late, late + 30 * MIN]
    assert refusal(generate_slots, start_at=late, slot_minutes=30, count=3) == (  # its last slot ends in 2201
        "count", "count must be in the years 1900–2200 (got 2201-01-01T00:29:00+00:00)")
    assert refusal(generate_slots, start_at=T0, slot_minutes=20, count=2, breaks=[(T0, T0 - MIN)]) == (
        "breaks.0.end_at", "breaks.0 ends before it starts")
