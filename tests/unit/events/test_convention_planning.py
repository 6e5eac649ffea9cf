"""From a convention to the scheduler and back (services/events/domain/conventions/planning.py): the
problem's participants and requests exactly, the current plan in the scheduler's form, re-planning's
inputs, and the agendas."""
from __future__ import annotations

import pytest

from contracts.events.conventions import ParticipantRole
from runtime.errors import Conflict
from services.events.domain.conventions import FORCED_PRIORITY, agenda_of, agendas, replan_inputs, to_problem
from services.events.domain.conventions.planning import AgendaItem, current_schedule, scheduling_options
from services.events.domain.scheduling import (AgendaEntry, LockedMeeting, Meeting, Participant, Quality,
                                               RequestStatus, Role, Schedule, Slot, Status)
from services.events.domain.scheduling import MeetingRequest as SchedulerRequest

from .test_conventions import BEFORE, HOUR, MIN, T0, accepted, fake_schedule, join, make_convention, planned, send
from .test_convention_aggregate import quality
from .test_meeting_requests import conflict, refusal

SLOTS = ("s1", "s2", "s3", "s4", "s5", "s6")


def test_the_options_follow_the_settings_under_the_overrides():
    assert scheduling_options(make_convention()).include_pending is False
    pending = make_convention(schedule_pending=True)
    assert scheduling_options(pending).include_pending is True
    assert scheduling_options(pending, include_pending=False, time_limit=0.5).include_pending is False
    assert scheduling_options(pending, time_limit=0.5).time_limit == 0.5


def test_the_problem_s_slots_participants_and_tables_exactly():
    c = make_convention(count=2, tables=3, table_overrides={"s2": 5}, max_meetings_default=4)
    a = join(c, "a", sectors=["BTP", "Bois"])
    b = join(c, "b", "public_buyer", available_slots=["s2"], max_meetings=1)
    d = join(c, "d", "private_buyer")
    d.organisation_id = None
    problem = to_problem(c, [a, b, d], [])
    assert problem.slots == (Slot("s1", T0, 20 * MIN, None), Slot("s2", T0 + 25 * MIN, 20 * MIN, 5))
    assert problem.tables == 3 and problem.requests == () and problem.locked == ()
    assert problem.participants == (
        Participant("a", Role.SUPPLIER, "org-a", None, 4, frozenset({"BTP", "Bois"})),
        Participant("b", Role.BUYER, "org-b", frozenset({"s2"}), 1, frozenset()),
        Participant("d", Role.BUYER, "", None, 4, frozenset()))


def test_a_participant_s_maximum_is_its_own_or_the_default_and_never_below_its_locks():
    c = make_convention()
    own_zero = join(c, "z", max_meetings=0)
    free = join(c, "f")
    b, d = join(c, "b", "public_buyer"), join(c, "d", "public_buyer")
    c.lock_meeting(own_zero, b, "s1", at=BEFORE)
    c.lock_meeting(own_zero, d, "s2", at=BEFORE)
    parts = {p.id: p for p in to_problem(c, [own_zero, free, b, d], []).participants}
    assert (parts["z"].max_meetings, parts["f"].max_meetings, parts["b"].max_meetings) == (2, None, None)
    c2 = make_convention(max_meetings_default=1)
    x, y, w = join(c2, "x"), join(c2, "y", "public_buyer"), join(c2, "w", "public_buyer")
    c2.lock_meeting(x, y, "s1", at=BEFORE)
    c2.lock_meeting(x, w, "s2", at=BEFORE)
    parts = {p.id: p for p in to_problem(c2, [x, y, w], []).participants}
    assert (parts["x"].max_meetings, parts["y"].max_meetings) == (2, 1)


def test_availability_is_the_slots_admitted_plus_the_locked_ones_none_when_every_slot():
    c = make_convention()
    window = join(c, "w", arrives_at=T0 + 25 * MIN, leaves_at=T0 + 70 * MIN)  # s2 (14:25–14:45), s3 (–15:10)
    few = join(c, "f", "public_buyer", available_slots=["s1", "s4"])
    every = join(c, "e", "public_buyer", available_slots=list(SLOTS))
    locked = join(c, "l", "public_buyer", available_slots=["s1"])
    c.lock_meeting(window, locked, "s5", at=BEFORE)
    parts = {p.id: p for p in to_problem(c, [window, few, every, locked], []).participants}
    assert parts["w"].available == frozenset({"s2", "s3", "s5"})
    assert parts["f"].available == frozenset({"s1", "s4"})
    assert parts["e"].available is None
    assert parts["l"].available == frozenset({"s1", "s5"})


def test_who_left_or_is_absent_stays_in_the_problem_only_when_the_plan_has_a_meeting_with_it():
    c = make_convention()
    a, b, d, e = join(c, "a"), join(c, "b", "public_buyer"), join(c, "d"), join(c, "e", "public_buyer")
    gone = join(c, "g", "public_buyer")
    planned(c, fake_schedule(("s1", 1, "a", "b"), ("s2", 1, "d", "g")))
    gone.leave(at=BEFORE + 3 * HOUR)
    problem = to_problem(c, [a, b, d, e, gone], [], absent=["b", "e"])
    assert [p for p in problem.participants if p.id in ("b", "g")] == [
        Participant("b", Role.BUYER, "org-b", frozenset(), None),
        Participant("g", Role.BUYER, "org-g", frozenset(), None)]
    assert [p.id for p in problem.participants] == ["a", "b", "d", "g"]  # e: absent and in no meeting
    gone.organisation_id = None
    [kept] = [p for p in to_problem(c, [a, b, d, e, gone], []).participants if p.id == "g"]
    assert kept.organisation == ""


def test_a_request_with_someone_no_longer_active_is_skipped_and_the_next_ones_kept():
    c = make_convention()
    a, b, d = join(c, "a"), join(c, "b", "public_buyer"), join(c, "d", "public_buyer")
    gone = send(c, a, b)
    kept = send(c, a, d)
    b.leave(at=BEFORE + HOUR)
    assert to_problem(c, [a, b, d], [gone, kept]).requests == (SchedulerRequest("a", "d", 3, RequestStatus.PENDING),)
    assert to_problem(c, [a, b, d], [gone, kept], absent=["b"]).requests == (
        SchedulerRequest("a", "d", 3, RequestStatus.PENDING),)


def test_requests_map_to_the_scheduler_s_exactly():
    c = make_convention()
    s = [join(c, f"s{i}") for i in range(5)]
    b = join(c, "b", "public_buyer")
    acc = accepted(c, s[0], b, priority=2)
    pend = send(c, s[1], b, priority=4)
    dec = send(c, b, s[2], priority=1)
    dec.decline(at=BEFORE + HOUR)
    forced_pending = send(c, s[3], b, priority=1)
    forced_pending.force(at=BEFORE + HOUR)
    expired = send(c, s[4], b)
    expired.expire(at=BEFORE + 72 * HOUR)
    problem = to_problem(c, [*s, b], [acc, pend, dec, forced_pending, expired])
    assert problem.requests == (
        SchedulerRequest("s0", "b", 2, RequestStatus.ACCEPTED),
        SchedulerRequest("s1", "b", 4, RequestStatus.PENDING),
        SchedulerRequest("b", "s2", 1, RequestStatus.DECLINED),
        SchedulerRequest("s3", "b", FORCED_PRIORITY, RequestStatus.ACCEPTED))
    forced_expired = send(c, s[4], b, rid="again")
    forced_expired.expire(at=BEFORE + 72 * HOUR)
    forced_expired.force(at=BEFORE + 73 * HOUR)
    assert to_problem(c, [*s, b], [forced_expired]).requests == (
        SchedulerRequest("s4", "b", FORCED_PRIORITY, RequestStatus.ACCEPTED),)


def test_a_pending_request_is_left_out_from_the_instant_it_is_due_when_a_time_is_given():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    r = send(c, a, b)
    due = BEFORE + 72 * HOUR
    assert len(to_problem(c, [a, b], [r], at=due - MIN).requests) == 1
    assert to_problem(c, [a, b], [r], at=due).requests == ()
    assert len(to_problem(c, [a, b], [r]).requests) == 1
    ok = accepted(c, b, a)
    assert to_problem(c, [a, b], [ok], at=due + HOUR).requests == (SchedulerRequest("b", "a", 3,
                                                                                    RequestStatus.ACCEPTED),)


def test_the_strongest_of_several_requests_of_one_direction_is_kept():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    older = send(c, a, b, rid="r1", priority=1)
    older.accept(at=BEFORE + HOUR)
    newer = send(c, a, b, rid="r2", priority=5, at=BEFORE + MIN)
    got = to_problem(c, [a, b], [older, newer]).requests
    assert got == (SchedulerRequest("a", "b", 1, RequestStatus.ACCEPTED),)  # accepted beats pending
    assert to_problem(c, [a, b], [newer, older]).requests == got
    # same status: the later request wins, whatever the order given; then the greater id
    later = send(c, a, b, rid="r0", priority=4, at=BEFORE + 2 * MIN)
    later.accept(at=BEFORE + HOUR)
    assert to_problem(c, [a, b], [later, older]).requests == (SchedulerRequest("a", "b", 4, RequestStatus.ACCEPTED),)
    assert to_problem(c, [a, b], [older, later]).requests == (SchedulerRequest("a", "b", 4, RequestStatus.ACCEPTED),)
    twin = send(c, a, b, rid="r3", priority=2, at=BEFORE + 2 * MIN)
    twin.accept(at=BEFORE + HOUR)
    assert to_problem(c, [a, b], [twin, later]).requests == (SchedulerRequest("a", "b", 2, RequestStatus.ACCEPTED),)
    assert to_problem(c, [a, b], [later, twin]).requests == (SchedulerRequest("a", "b", 2, RequestStatus.ACCEPTED),)
    forced = send(c, a, b, rid="r4", priority=1)
    forced.decline(at=BEFORE + HOUR)
    forced.force(at=BEFORE + 2 * HOUR)
    assert to_problem(c, [a, b], [twin, forced]).requests == (
        SchedulerRequest("a", "b", FORCED_PRIORITY, RequestStatus.ACCEPTED),)


def test_a_decline_gives_way_to_a_forced_request_or_a_lock_of_the_pair_only():
    c = make_convention()
    a, b, d = join(c, "a"), join(c, "b", "public_buyer"), join(c, "d", "public_buyer")
    no = send(c, b, a)
    no.decline(at=BEFORE + HOUR)
    other = send(c, d, a)
    other.decline(at=BEFORE + HOUR)
    c.lock_meeting(a, b, "s1", at=BEFORE)
    problem = to_problem(c, [a, b, d], [no, other])
    assert problem.requests == (SchedulerRequest("d", "a", 3, RequestStatus.DECLINED),)
    assert problem.locked == (LockedMeeting("a", "b", "s1", None),)
    # a lock with someone absent is left out, and its decline stands
    assert to_problem(c, [a, b, d], [no], absent=["b"]).locked == ()
    assert to_problem(c, [a, b, d], [no, other], absent=["d"]).requests == ()


def test_another_convention_s_participants_and_requests_are_refused_and_one_participant_twice():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    assert refusal(to_problem, c, [a, b, a], []) == ("participants.2.id", "participant 'a' appears twice")
    other = make_convention()
    other.id = "evt-2"
    x, y = join(other, "x"), join(other, "y", "public_buyer")
    assert refusal(to_problem, c, [a, x], []) == ("participants.1", "participant 'x' belongs to convention evt-2")
    assert refusal(to_problem, c, [a, b], [send(c, a, b), send(other, x, y)]) == (
        "requests.1", "request 'r-x-y' belongs to convention evt-2")


# -- the current plan, in the scheduler's form ---------------------------------------------------------

def test_the_current_plan_in_the_scheduler_s_form():
    c = make_convention(count=2, tables=2, table_overrides={"s2": 1})
    join(c, "a")
    join(c, "b", "public_buyer")
    join(c, "d")
    c.start_schedule_run("run-1", mode="initial", at=BEFORE)
    plan = Schedule((Meeting("s1", 2, "b", "a", 4, True), Meeting("s2", 1, "b", "d", 3)), {}, {}, (),
                    quality(meetings=2, weighted=7, bound=9, gap=0.2, status=Status.FEASIBLE, seconds=1.5,
                            without_meeting=1, idle_gaps=2))
    c.record_schedule("run-1", plan, at=BEFORE)
    got = current_schedule(c)
    ab, bd = Meeting("s1", 2, "a", "b", 4, True), Meeting("s2", 1, "b", "d", 3, False)
    assert got.meetings == (ab, bd)
    assert got.agendas == {"a": (AgendaEntry("s1", T0, 2, "b"),),
                           "b": (AgendaEntry("s1", T0, 2, "a"), AgendaEntry("s2", T0 + 25 * MIN, 1, "d")),
                           "d": (AgendaEntry("s2", T0 + 25 * MIN, 1, "b"),)}
    assert got.grid == {1: {"s1": None, "s2": bd}, 2: {"s1": ab}}
    assert got.unscheduled == ()
    assert got.quality == Quality(2, 7, 9, 0.2, Status.FEASIBLE, 1.5, 1, 2)


def test_a_plan_without_quality_is_a_heuristic_one_whose_bound_is_its_weight():
    c = make_convention(count=1, tables=1)
    join(c, "a")
    join(c, "b", "public_buyer")
    planned(c, fake_schedule(("s1", 1, "a", "b")))
    c.quality = None
    assert current_schedule(c).quality == Quality(1, 1, 1, 0.0, Status.HEURISTIC, 0.0, 0, 0)
    fresh = make_convention(count=1, tables=1)
    assert current_schedule(fresh) == Schedule((), {}, {1: {"s1": None}}, (),
                                               Quality(0, 0, 0, 0.0, Status.HEURISTIC, 0.0, 0, 0))


def test_a_bound_below_the_plan_s_weight_is_raised_to_it():
    c = make_convention(count=1, tables=1)
    join(c, "a")
    join(c, "b", "public_buyer")
    c.start_schedule_run("run-1", mode="initial", at=BEFORE)
    c.record_schedule("run-1", Schedule((Meeting("s1", 1, "a", "b", 6),), {}, {}, (), quality(bound=2, weighted=6)),
                      at=BEFORE)
    assert current_schedule(c).quality.bound == 6


# -- re-planning's inputs ------------------------------------------------------------------------

def test_re_planning_s_inputs_name_the_no_shows_the_arrived_and_the_first_slot_after():
    c = make_convention()
    a, b, d, e = join(c, "a"), join(c, "b", "public_buyer"), join(c, "d"), join(c, "e", "public_buyer")
    left_free = join(c, "f")
    planned(c, fake_schedule(("s1", 1, "a", "b"), ("s2", 1, "d", "e")))
    e.record_no_show(at=T0)
    d.record_no_show(at=T0)
    d.record_arrival(at=T0 + MIN)  # late, but here
    a.record_arrival(at=T0)
    b.leave(at=T0 + MIN)  # left, with a meeting in the plan
    left_free.leave(at=T0 + MIN)  # left, with none
    stranger = join(make_convention(), "x")
    stranger.convention_id = "evt-2"
    inputs = replan_inputs(c, [e, d, a, b, left_free, stranger], at=T0 + 25 * MIN, check_in_closed=True)
    assert inputs.no_shows == ("b", "e") and inputs.checked_in == ("a", "d") and inputs.from_slot == "s3"
    assert inputs.previous == current_schedule(c)
    assert replan_inputs(c, [a], at=T0 + 25 * MIN - MIN).from_slot == "s2"
    assert conflict(replan_inputs, c, [a], at=T0 + 125 * MIN) == (
        "no slot of convention evt-1 starts after 2023-03-21T16:05:00+01:00: nothing to re-plan",
        {"current_state": "over"})
    assert refusal(replan_inputs, c, [a], at=None)[0] == "at"
    assert conflict(replan_inputs, make_convention(), [], at=T0) == (
        "convention evt-1 has no plan to re-plan", {"current_state": "no plan", "expected_step": "an initial run"})


# -- agendas -------------------------------------------------------------------------------------

def test_each_agenda_item_names_the_counterpart_s_organisation_and_role():
    c = make_convention()
    a, b, d = join(c, "a"), join(c, "b", "public_buyer"), join(c, "d", "private_buyer")
    planned(c, fake_schedule(("s2", 1, "a", "b"), ("s1", 3, "a", "d"), ("s1", 1, "x", "b")))
    c.publish_agendas(at=BEFORE + 3 * HOUR)
    books = agendas(c, {p.id: p for p in (a, b, d)})
    x_row = c.plan_snapshot()[0]
    assert books["a"] == (
        AgendaItem(meeting_id=c.meetings[1].meeting_id, slot_id="s1", start_at=T0, end_at=T0 + 20 * MIN, table=3,
                   counterpart_id="d", counterpart_organisation_id="org-d",
                   counterpart_role=ParticipantRole.PRIVATE_BUYER),
        AgendaItem(meeting_id=c.meetings[2].meeting_id, slot_id="s2", start_at=T0 + 25 * MIN, end_at=T0 + 45 * MIN,
                   table=1, counterpart_id="b", counterpart_organisation_id="org-b",
                   counterpart_role=ParticipantRole.PUBLIC_BUYER))
    assert books["b"][0] == AgendaItem(meeting_id=x_row.meeting_id, slot_id="s1", start_at=T0, end_at=T0 + 20 * MIN,
                                       table=1, counterpart_id="x", counterpart_organisation_id=None,
                                       counterpart_role=None)  # x is not among the participants given
    assert set(books) == {"a", "b", "d", "x"}
    assert agendas(c, [a, b, d]) == books


def test_the_published_agendas_are_the_default_and_the_plan_is_the_preview():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    planned(c, fake_schedule(("s1", 1, "a", "b")))
    assert conflict(agendas, c, [a, b]) == (
        "convention evt-1 has published no agendas yet",
        {"current_state": "not published", "expected_step": "publish the agendas"})
    with pytest.raises(Conflict):
        agenda_of(c, "a", [a, b])
    assert [i.slot_id for i in agendas(c, [a, b], published=False)["a"]] == ["s1"]
    c.publish_agendas(at=BEFORE + 3 * HOUR)
    c.start_schedule_run("run-2", mode="initial", at=BEFORE + 4 * HOUR)
    c.record_schedule("run-2", fake_schedule(("s4", 2, "a", "b")), at=BEFORE + 4 * HOUR)
    assert [i.slot_id for i in agendas(c, [a, b])["a"]] == ["s1"]
    assert [i.slot_id for i in agenda_of(c, "b", [a, b])] == ["s1"]
    assert [(i.slot_id, i.table) for i in agenda_of(c, "b", [a, b], published=False)] == [("s4", 2)]


def test_one_agenda_is_built_for_that_participant_only():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    planned(c, fake_schedule(("s1", 1, "a", "b")))
    c.publish_agendas(at=BEFORE + 3 * HOUR)
    looked_up = []

    class Watching(dict):
        def get(self, key, default=None):
            looked_up.append(key)
            return super().get(key, default)
    [item] = agenda_of(c, "a", Watching(a=a, b=b))
    assert item.counterpart_id == "b" and looked_up == ["b"]  # b's own agenda is not built
