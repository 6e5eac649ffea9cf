"""The Convention aggregate (services/events/domain/conventions/convention.py): what each step keeps
and records, the bounds of its rules, and the words, state and step of each refusal."""
from __future__ import annotations

from datetime import timedelta

import pytest

import contracts.events.conventions as ce
from runtime.errors import NotFound
from services.events.domain.conventions import Convention, ConventionSettings, MeetingOutcome, generate_slots
from services.events.domain.conventions.convention import LockedPair, PlanQuality, RunStatus, meeting_id
from services.events.domain.scheduling import Meeting, Quality, Schedule, Status
from services.events.domain.scheduling.model import Unscheduled, UnscheduledReason

from .test_conventions import BEFORE, HOUR, MIN, T0, fake_schedule, join, make_convention, make_settings, planned
from .test_meeting_requests import conflict, fields, refusal

FACT = ("convention_id", "meeting_id", "participant_ids", "slot_id", "table")


def not_found(call, *args, **kwargs) -> str:
    with pytest.raises(NotFound) as e:
        call(*args, **kwargs)
    return e.value.detail


def four(c: Convention):
    return join(c, "a"), join(c, "b", "public_buyer"), join(c, "d"), join(c, "e", "public_buyer")


# -- settings ------------------------------------------------------------------------------------

def test_configuring_tells_the_whole_settings():
    brk = (T0 + 150 * MIN, T0 + 160 * MIN)
    settings = ConventionSettings.build(slots=generate_slots(start_at=T0, slot_minutes=20, gap_minutes=5, count=2),
                                        tables=3, breaks=[brk], table_overrides={"s2": 4}, request_expiry_hours=24,
                                        schedule_pending=True, max_meetings_default=7, allow_same_role=True)
    c = Convention.configure("evt-1", settings=settings, at=BEFORE)
    assert (c.id, c.settings, c.settings_revision, c.configured_at) == ("evt-1", settings, 1, BEFORE)
    [e] = c.pull_events()
    assert fields(e, "convention_id", "revision", "slots", "tables", "breaks", "request_expiry_hours",
                  "schedule_pending", "max_meetings_default", "allow_same_role", "configured_at") == dict(
        convention_id="evt-1", revision=1, slots=settings.slot_infos(), tables=3, breaks=[brk],
        request_expiry_hours=24, schedule_pending=True, max_meetings_default=7, allow_same_role=True,
        configured_at=BEFORE)
    assert refusal(Convention.configure, " ", settings=settings, at=BEFORE) == ("convention_id",
                                                                                "convention_id is required")
    assert refusal(Convention.configure, "evt-1", settings=settings, at=BEFORE.replace(tzinfo=None))[0] == "at"
    assert refusal(Convention.configure, "evt-1", settings={"tables": 3}, at=BEFORE) == (
        "settings", "settings are built (and checked) by ConventionSettings.build")


def test_reconfiguring_keeps_the_new_settings_and_bumps_the_revision():
    c = make_convention()
    new = make_settings(tables=5)
    assert c.reconfigure(settings=new, at=BEFORE) is True  # the same instant as the first
    assert (c.settings, c.settings_revision, c.configured_at) == (new, 2, BEFORE)
    [e] = c.pull_events()
    assert (e.revision, e.tables, e.configured_at) == (2, 5, BEFORE)
    assert c.reconfigure(settings=make_settings(tables=4), at=BEFORE + HOUR) is True
    assert (c.settings_revision, c.configured_at, c.pull_events()[0].configured_at) == (3, BEFORE + HOUR,
                                                                                        BEFORE + HOUR)
    assert refusal(c.reconfigure, settings=make_settings(), at=BEFORE) == (
        "at", "at 2023-02-01T09:00:00+01:00 is before the previous configuration (2023-02-01T10:00:00+01:00)")


def test_reconfiguring_says_which_meeting_would_lose_its_slot_or_table():
    c = make_convention()
    join(c, "a")
    join(c, "b", "public_buyer")
    planned(c, fake_schedule(("s6", 3, "a", "b")))
    scheduled = {"current_state": "scheduled", "expected_step": "unlock or re-plan first"}
    assert conflict(c.reconfigure, settings=make_settings(count=5), at=BEFORE + 3 * HOUR) == (
        "meeting a–b is in slot 's6', which the new settings remove", scheduled)
    assert conflict(c.reconfigure, settings=make_settings(tables=2), at=BEFORE + 3 * HOUR) == (
        "meeting a–b is in table 3 of slot 's6', which the new settings remove", scheduled)
    assert c.reconfigure(settings=make_settings(tables=2, table_overrides={"s6": 3}), at=BEFORE + 3 * HOUR)


def test_reconfiguring_says_which_locked_meeting_would_lose_its_place():
    c = make_convention(tables=2)
    a, b, d, e = four(c)
    c.lock_meeting(a, b, "s6", at=BEFORE)
    c.lock_meeting(d, e, "s1", table=2, at=BEFORE)
    scheduled = {"current_state": "scheduled", "expected_step": "unlock or re-plan first"}
    assert conflict(c.reconfigure, settings=make_settings(count=5, tables=2), at=BEFORE) == (
        "locked meeting a–b is in slot 's6', which the new settings remove", scheduled)
    assert conflict(c.reconfigure, settings=make_settings(tables=1), at=BEFORE) == (
        "locked meeting d–e is in table 2 of slot 's1', which the new settings remove", scheduled)


def test_reconfiguring_leaves_each_slot_a_table_per_lock():
    c = make_convention(tables=2)
    a, b, d, e = four(c)
    c.lock_meeting(a, b, "s1", at=BEFORE)
    c.lock_meeting(d, e, "s1", at=BEFORE)
    assert conflict(c.reconfigure, settings=make_settings(tables=1), at=BEFORE) == (
        "slot 's1' has 2 locked meetings: the new settings give it fewer tables",
        {"current_state": "locked", "expected_step": "unlock meetings first"})
    assert c.reconfigure(settings=make_settings(tables=1, table_overrides={"s1": 2}), at=BEFORE)


# -- locked meetings -----------------------------------------------------------------------------

def test_a_lock_is_kept_in_order_and_told():
    c = make_convention(tables=2)
    a, b, d, e = four(c)
    pair = c.lock_meeting(b, a, "s2", table=2, at=BEFORE + HOUR)
    assert pair == LockedPair(a="a", b="b", slot_id="s2", table=2, locked_at=BEFORE + HOUR) and c.locked == [pair]
    [ev] = c.pull_events()
    assert fields(ev, "convention_id", "participant_ids", "slot_id", "table", "locked_at") == dict(
        convention_id="evt-1", participant_ids=("a", "b"), slot_id="s2", table=2, locked_at=BEFORE + HOUR)
    second = c.lock_meeting(d, e, "s2", at=BEFORE + HOUR)  # no table given: beside a lock at table 2
    assert c.locked == [pair, second] and second.table is None
    assert refusal(c.lock_meeting, a, b, "s3", at="now")[0] == "at"


def test_a_lock_s_refusals_say_what_is_in_the_way():
    c = make_convention(tables=2)
    a, b, d, e = four(c)
    f, g = join(c, "f"), join(c, "g", "public_buyer")
    assert refusal(c.lock_meeting, a, b, "s9", at=BEFORE) == ("slot_id", "unknown slot 's9'")
    assert refusal(c.lock_meeting, a, b, "s1", table=3, at=BEFORE) == (
        "table", "table must be a whole number from 1 to 2 (got 3)")
    assert refusal(c.lock_meeting, a, a, "s1", at=BEFORE) == ("b", "a meeting of participant 'a' with itself")
    c.lock_meeting(a, b, "s1", table=1, at=BEFORE)
    assert conflict(c.lock_meeting, b, a, "s2", at=BEFORE) == (
        "meeting a–b is locked already in slot 's1'", {"current_state": "locked", "expected_step": "unlock it first"})
    assert conflict(c.lock_meeting, g, a, "s1", at=BEFORE) == (
        "participant a already has a locked meeting in slot 's1'", {"current_state": "locked"})
    assert conflict(c.lock_meeting, d, b, "s1", at=BEFORE) == (
        "participant b already has a locked meeting in slot 's1'", {"current_state": "locked"})
    assert conflict(c.lock_meeting, d, e, "s1", table=1, at=BEFORE) == (
        "table 1 of slot 's1' is locked already", {"current_state": "locked"})
    c.lock_meeting(d, e, "s1", at=BEFORE)
    assert conflict(c.lock_meeting, f, g, "s1", at=BEFORE) == ("slot 's1' has 2 tables, all locked",
                                                               {"current_state": "full"})
    c.lock_meeting(f, g, "s2", at=BEFORE)  # another slot is free
    g.leave(at=BEFORE + HOUR)
    assert conflict(c.lock_meeting, a, g, "s3", at=BEFORE + HOUR)[1] == {"current_state": "left",
                                                                        "participant_id": "g"}


def test_unlocking_removes_that_lock_only_and_tells_its_slot():
    c = make_convention(tables=2)
    a, b, d, e = four(c)
    c.lock_meeting(a, b, "s1", at=BEFORE)
    kept = c.lock_meeting(d, e, "s2", at=BEFORE)
    c.pull_events()
    c.unlock_meeting("b", "a", at=BEFORE + HOUR)
    assert c.locked == [kept]
    [ev] = c.pull_events()
    assert fields(ev, "convention_id", "participant_ids", "slot_id", "unlocked_at") == dict(
        convention_id="evt-1", participant_ids=("a", "b"), slot_id="s1", unlocked_at=BEFORE + HOUR)
    assert not_found(c.unlock_meeting, "b", "a", at=BEFORE + HOUR) == "no locked meeting a–b in convention evt-1"
    assert refusal(c.unlock_meeting, "d", "e", at=None)[0] == "at"


# -- scheduling runs -----------------------------------------------------------------------------

def test_a_run_is_kept_and_told_with_its_mode_and_first_slot():
    c = make_convention()
    join(c, "a")
    join(c, "b", "public_buyer")
    planned(c, fake_schedule(("s1", 1, "a", "b")))
    run = c.start_schedule_run("run-2", mode="replan", from_slot="s3", at=BEFORE + 3 * HOUR)
    assert (run.run_id, run.mode, run.status, run.from_slot_id, run.settings_revision, run.started_at) == (
        "run-2", ce.ScheduleMode.REPLAN, RunStatus.STARTED, "s3", 1, BEFORE + 3 * HOUR)
    assert c.runs[-1] is run and c.run_in_progress is run and len(c.runs) == 2
    [ev] = c.pull_events()
    assert fields(ev, "convention_id", "run_id", "mode", "from_slot_id", "started_at") == dict(
        convention_id="evt-1", run_id="run-2", mode=ce.ScheduleMode.REPLAN, from_slot_id="s3",
        started_at=BEFORE + 3 * HOUR)


def test_a_run_s_refusals_say_why():
    c = make_convention()
    join(c, "a")
    join(c, "b", "public_buyer")
    assert refusal(c.start_schedule_run, "run-1", mode="initial", from_slot="s2", at=BEFORE) == (
        "from_slot", "an initial run plans every slot: from_slot is for a re-plan")
    assert refusal(c.start_schedule_run, "run-1", mode="replan", from_slot="s9", at=BEFORE) == (
        "from_slot", "unknown slot 's9'")
    assert refusal(c.start_schedule_run, " ", mode="initial", at=BEFORE)[0] == "run_id"
    assert refusal(c.start_schedule_run, "run-1", mode="initial", at=None)[0] == "at"
    assert conflict(c.start_schedule_run, "run-1", mode="replan", at=BEFORE) == (
        "convention evt-1 has no plan to re-plan", {"current_state": "no plan", "expected_step": "an initial run"})
    c.start_schedule_run("run-1", mode="initial", at=BEFORE)
    assert conflict(c.start_schedule_run, "run-1", mode="initial", at=BEFORE + HOUR) == (
        "scheduling run run-1 exists already in convention evt-1", {"run_id": "run-1"})
    assert conflict(c.start_schedule_run, "run-2", mode="initial", at=BEFORE + 15 * MIN - timedelta(seconds=1)) == (
        "scheduling run run-1 is in progress (started at 2023-02-01T09:00:00+01:00)",
        {"current_state": "running", "expected_step": "wait for its result", "run_id": "run-1"})


def test_a_run_left_15_minutes_without_a_result_is_abandoned_by_the_next():
    c = make_convention()
    c.start_schedule_run("run-1", mode="initial", at=BEFORE)
    c.pull_events()
    c.start_schedule_run("run-2", mode="initial", at=BEFORE + 15 * MIN)
    failed, started = c.pull_events()
    assert fields(failed, "convention_id", "run_id", "mode", "error", "failed_at") == dict(
        convention_id="evt-1", run_id="run-1", mode=ce.ScheduleMode.INITIAL,
        error="abandoned: no result 0:15:00 after its start", failed_at=BEFORE + 15 * MIN)
    first = c.runs[0]
    assert (first.status, first.finished_at, first.error) == (RunStatus.FAILED, BEFORE + 15 * MIN,
                                                             "abandoned: no result 0:15:00 after its start")
    assert started.run_id == "run-2" and c.run_in_progress.run_id == "run-2"


def test_an_initial_run_is_refused_once_a_meeting_has_a_fact():
    for fact in ("scan", "mark", "outcome"):
        c = make_convention()
        join(c, "a")
        join(c, "b", "public_buyer")
        planned(c, fake_schedule(("s1", 1, "a", "b")))
        mid = c.meetings[0].meeting_id
        if fact == "scan":
            c.record_meeting_scan(mid, "a", at=T0)
        elif fact == "mark":
            c.mark_meeting(mid, False, at=T0 + HOUR)
        else:
            c.record_outcome(mid, "quote_requested", at=T0 + HOUR)
        assert conflict(c.start_schedule_run, "run-2", mode="initial", at=T0 + HOUR) == (
            "convention evt-1 is under way (meetings scanned, marked or with outcomes): an initial run would rewrite "
            "history", {"current_state": "under way", "expected_step": "a re-plan"}), fact
    c = make_convention()
    join(c, "a")
    join(c, "b", "public_buyer")
    planned(c, fake_schedule(("s1", 1, "a", "b")))
    assert c.start_schedule_run("run-2", mode="initial", at=T0).run_id == "run-2"  # a plan without facts


def quality(**kw) -> Quality:
    values = dict(meetings=2, weighted=7, bound=9, gap=0.25, status=Status.FEASIBLE, seconds=1.5, without_meeting=3,
                  idle_gaps=4)
    values.update(kw)
    return Quality(**values)


def test_a_plan_becomes_current_with_its_quality_unscheduled_requests_and_figures():
    c = make_convention()
    four(c)
    c.start_schedule_run("run-1", mode="initial", at=BEFORE)
    c.pull_events()
    unscheduled = (Unscheduled(0, "a", "e", UnscheduledReason.DECLINED, "no"),
                   Unscheduled(1, "d", "b", UnscheduledReason.NO_PLACE_LEFT, "full"),
                   Unscheduled(2, "e", "d", UnscheduledReason.DECLINED, "no"))
    plan = Schedule((Meeting("s2", 1, "e", "d", 5), Meeting("s1", 2, "b", "a", 2, True)), {}, {}, unscheduled,
                    quality())
    run = c.record_schedule("run-1", plan, at=BEFORE + MIN)
    assert [(m.slot_id, m.table, m.a, m.b, m.weight, m.locked, m.meeting_id) for m in c.meetings] == [
        ("s1", 2, "a", "b", 2, True, meeting_id("evt-1", "a", "b")),
        ("s2", 1, "d", "e", 5, False, meeting_id("evt-1", "d", "e"))]
    q = PlanQuality(meetings=2, weighted=7, bound=9, gap=0.25, status=ce.ScheduleStatus.FEASIBLE, seconds=1.5,
                    without_meeting=3, idle_gaps=4)
    assert c.quality == q and c.plan_run_id == "run-1"
    assert [(u.from_participant_id, u.to_participant_id, u.reason) for u in c.unscheduled] == [
        ("a", "e", ce.UnscheduledReasonCode.DECLINED), ("d", "b", ce.UnscheduledReasonCode.NO_PLACE_LEFT),
        ("e", "d", ce.UnscheduledReasonCode.DECLINED)]
    assert (run.status, run.finished_at, run.quality, run.unscheduled) == (RunStatus.COMPUTED, BEFORE + MIN, q, 3)
    [ev] = c.pull_events()
    assert fields(ev, "convention_id", "run_id", "mode", "meetings", "weighted", "bound", "gap", "status", "seconds",
                  "without_meeting", "idle_gaps", "unscheduled", "unscheduled_by_reason", "meetings_added",
                  "meetings_removed", "meetings_moved", "computed_at") == dict(
        convention_id="evt-1", run_id="run-1", mode=ce.ScheduleMode.INITIAL, meetings=2, weighted=7, bound=9,
        gap=0.25, status=ce.ScheduleStatus.FEASIBLE, seconds=1.5, without_meeting=3, idle_gaps=4, unscheduled=3,
        unscheduled_by_reason={ce.UnscheduledReasonCode.DECLINED: 2, ce.UnscheduledReasonCode.NO_PLACE_LEFT: 1},
        meetings_added=2, meetings_removed=0, meetings_moved=0, computed_at=BEFORE + MIN)


def test_a_computed_event_keeps_gap_and_seconds_within_their_bounds():
    for gap, seconds, told in ((1.5, -0.5, (1.0, 0.0)), (-0.1, 2.0, (0.0, 2.0)), (1.0, 0.0, (1.0, 0.0))):
        c = make_convention()
        c.start_schedule_run("run-1", mode="initial", at=BEFORE)
        c.record_schedule("run-1", Schedule((), {}, {}, (), quality(meetings=0, gap=gap, seconds=seconds)), at=BEFORE)
        ev = c.pull_events()[-1]
        assert (ev.gap, ev.seconds) == told
        assert (c.quality.gap, c.quality.seconds) == (gap, seconds)  # the plan keeps the scheduler's own


def test_an_unknown_reason_is_other():
    from services.events.domain.conventions.convention import _reason_code
    assert _reason_code(UnscheduledReason.MAX_MEETINGS_REACHED) is ce.UnscheduledReasonCode.MAX_MEETINGS_REACHED
    assert _reason_code("something new") is ce.UnscheduledReasonCode.OTHER
    assert _reason_code(type("R", (), {"name": "LATE"})()) is ce.UnscheduledReasonCode.OTHER


def test_a_re_plan_keeps_the_slots_before_its_first_and_counts_what_moved():
    c = make_convention()
    a, b, d, e = four(c)
    join(c, "f")
    join(c, "g", "public_buyer")
    planned(c, fake_schedule(("s1", 1, "a", "b"), ("s2", 1, "d", "e"), ("s3", 1, "a", "e"), ("s4", 2, "f", "g")))
    kept = c.meetings[0]
    c.start_schedule_run("run-2", mode="replan", from_slot="s2", at=T0 + 10 * MIN)
    # the plan's s1 meetings are ignored (history); d–e moves table, a–e stays, f–g goes, b–d comes
    c.record_schedule("run-2", fake_schedule(("s1", 2, "d", "g"), ("s2", 2, "d", "e"), ("s3", 1, "a", "e"),
                                             ("s5", 1, "b", "d")), at=T0 + 11 * MIN)
    assert c.meetings[0] is kept
    assert [(m.slot_id, m.table, m.a, m.b) for m in c.meetings] == [
        ("s1", 1, "a", "b"), ("s2", 2, "d", "e"), ("s3", 1, "a", "e"), ("s5", 1, "b", "d")]
    ev = c.pull_events()[-1]
    assert (ev.meetings, ev.meetings_added, ev.meetings_removed, ev.meetings_moved) == (4, 1, 1, 1)


def test_a_plan_s_refusals_name_the_meeting_and_say_what_is_wrong():
    c = make_convention()
    four(c)
    c.start_schedule_run("run-1", mode="initial", at=BEFORE)
    record = c.record_schedule
    assert not_found(record, "run-9", fake_schedule(), at=BEFORE) == "no scheduling run 'run-9' in convention evt-1"
    assert refusal(record, "run-1", fake_schedule(("s1", 1, "a", "b"), ("s9", 1, "d", "e")), at=BEFORE) == (
        "schedule.meetings.1.slot", "unknown slot 's9'")
    for table in (0, 4, True, "1"):
        assert refusal(record, "run-1", fake_schedule(("s1", table, "a", "b")), at=BEFORE) == (
            "schedule.meetings.0.table", f"slot 's1' has tables 1…3, not {table!r}")
    assert refusal(record, "run-1", fake_schedule(("s1", 1, "a", "a")), at=BEFORE) == (
        "schedule.meetings.0", "meeting of participant 'a' with itself")
    assert refusal(record, "run-1", fake_schedule(("s1", 1, "a", "b"), ("s2", 1, "b", "a")), at=BEFORE) == (
        "schedule.meetings.1", "pair a–b meets twice")
    assert refusal(record, "run-1", fake_schedule(("s1", 1, "a", "b"), ("s1", 1, "d", "e")), at=BEFORE) == (
        "schedule.meetings.1", "table 1 of slot 's1' holds two meetings")
    assert refusal(record, "run-1", fake_schedule(("s1", 1, "a", "b"), ("s1", 2, "d", "b")), at=BEFORE) == (
        "schedule.meetings.1", "participant 'b' has two meetings in slot 's1'")
    assert refusal(record, "run-1", fake_schedule(("s1", 1, "a", "b"), ("s1", 2, "a", "e")), at=BEFORE) == (
        "schedule.meetings.1", "participant 'a' has two meetings in slot 's1'")
    assert record("run-1", fake_schedule(("s1", 3, "a", "b"), ("s2", 1, "a", "e")), at=BEFORE).status is (
        RunStatus.COMPUTED)
    assert conflict(record, "run-1", fake_schedule(), at=BEFORE) == (
        "scheduling run run-1 is computed: cannot record a plan",
        {"current_state": "computed", "expected_step": "start a new run"})


def test_a_re_plan_s_refusal_names_the_meeting_by_its_place_in_the_plan_given():
    # the plan's meetings in the slots before the re-plan's first are skipped (history stays):
    # the refusal still names the faulty meeting by its index in schedule.meetings
    c = make_convention()
    four(c)
    planned(c, fake_schedule(("s1", 1, "a", "b")))
    c.start_schedule_run("run-2", mode="replan", from_slot="s2", at=T0)
    plan = fake_schedule(("s1", 1, "d", "e"), ("s2", 1, "a", "d"), ("s2", 2, "a", "e"))
    assert refusal(c.record_schedule, "run-2", plan, at=T0) == (
        "schedule.meetings.2", "participant 'a' has two meetings in slot 's2'")
    assert refusal(c.record_schedule, "run-2", fake_schedule(("s1", 2, "d", "e"), ("s2", 1, "b", "a")), at=T0) == (
        "schedule.meetings.1", "pair a–b meets twice")  # a–b met in s1 already


def test_two_history_meetings_at_one_table_are_the_stored_plan_s_fault_not_the_new_one_s():
    c = make_convention()
    four(c)
    planned(c, fake_schedule(("s1", 1, "a", "b"), ("s1", 2, "d", "e")))
    c.meetings[1].table = 1  # a stored document changed by hand
    c.start_schedule_run("run-2", mode="replan", from_slot="s2", at=T0)
    assert refusal(c.record_schedule, "run-2", fake_schedule(("s2", 1, "a", "e")), at=T0) == (
        "schedule.meetings", "table 1 of slot 's1' holds two meetings")


def test_a_plan_is_refused_before_its_run_and_after_a_change_of_settings():
    c = make_convention()
    four(c)
    c.start_schedule_run("run-1", mode="initial", at=BEFORE + HOUR)
    assert refusal(c.record_schedule, "run-1", fake_schedule(), at=BEFORE) == (
        "at", "at 2023-02-01T09:00:00+01:00 is before the run's start (2023-02-01T10:00:00+01:00)")
    c.reconfigure(settings=make_settings(tables=4), at=BEFORE + HOUR)
    assert conflict(c.record_schedule, "run-1", fake_schedule(), at=BEFORE + HOUR) == (
        "the settings of convention evt-1 changed during run run-1: run it again",
        {"current_state": "settings changed", "expected_step": "fail this run and start another"})


def test_a_re_plan_must_not_move_a_meeting_that_happened():
    c = make_convention()
    four(c)
    planned(c, fake_schedule(("s2", 1, "a", "b"), ("s3", 1, "d", "e")))
    mid = c.meetings[0].meeting_id
    c.mark_meeting(mid, True, at=T0 + 30 * MIN)
    c.start_schedule_run("run-2", mode="replan", from_slot="s2", at=T0 + 30 * MIN)
    assert conflict(c.record_schedule, "run-2", fake_schedule(("s2", 2, "a", "b")), at=T0 + 30 * MIN) == (
        f"the plan of run run-2 moves or drops meeting {mid}, which happened already (scanned, marked or with "
        "outcomes)", {"current_state": "under way", "expected_step": "re-plan from a later slot"})
    assert conflict(c.record_schedule, "run-2", fake_schedule(("s3", 1, "d", "e")), at=T0 + 30 * MIN)[0].startswith(
        "the plan of run run-2 moves or drops meeting")
    c.record_schedule("run-2", fake_schedule(("s2", 1, "a", "b")), at=T0 + 30 * MIN)  # d–e dropped: no facts
    assert c.meeting(mid).held is True and len(c.meetings) == 1


def test_a_failed_run_keeps_its_error_trimmed_and_the_plan_as_it_was():
    c = make_convention()
    four(c)
    planned(c, fake_schedule(("s1", 1, "a", "b")))
    before = list(c.meetings)
    c.start_schedule_run("run-2", mode="initial", at=BEFORE + 3 * HOUR)
    c.pull_events()
    assert refusal(c.fail_schedule_run, "run-2", "x", at=BEFORE)[0] == "at"
    run = c.fail_schedule_run("run-2", "  " + "é " * 300, at=BEFORE + 3 * HOUR)
    assert run.error == "é " * 250 and c.meetings == before  # spaces folded, then cut at 500 characters
    assert (run.status, run.finished_at) == (RunStatus.FAILED, BEFORE + 3 * HOUR)
    [ev] = c.pull_events()
    assert fields(ev, "convention_id", "run_id", "mode", "error", "failed_at") == dict(
        convention_id="evt-1", run_id="run-2", mode=ce.ScheduleMode.INITIAL, error=run.error,
        failed_at=BEFORE + 3 * HOUR)
    c.start_schedule_run("run-3", mode="initial", at=BEFORE + 4 * HOUR)
    assert c.fail_schedule_run("run-3", " \n ", at=BEFORE + 4 * HOUR).error == "unknown error"
    assert c.fail_schedule_run  # a failed run is not failed again
    assert conflict(c.fail_schedule_run, "run-3", "again", at=BEFORE + 4 * HOUR) == (
        "scheduling run run-3 is failed: cannot fail",
        {"current_state": "failed", "expected_step": "start a new run"})
    c.start_schedule_run("run-4", mode="initial", at=BEFORE + 5 * HOUR)
    assert c.fail_schedule_run("run-4", "x" * 501, at=BEFORE + 5 * HOUR).error == "x" * 500


# -- agendas -------------------------------------------------------------------------------------

def test_publishing_freezes_the_plan_and_tells_who_changed():
    c = make_convention()
    four(c)
    assert conflict(c.publish_agendas, at=BEFORE) == (
        "convention evt-1 has no plan to publish", {"current_state": "no plan", "expected_step": "a scheduling run"})
    planned(c, fake_schedule(("s1", 1, "a", "b"), ("s2", 2, "d", "b")))
    assert c.agenda_version == 0
    assert c.publish_agendas(at=BEFORE + 3 * HOUR) == 1 and c.agenda_version == 1
    p = c.published
    assert (p.version, p.run_id, p.published_at, p.meetings, p.changed_participant_ids) == (
        1, "run-1", BEFORE + 3 * HOUR, c.plan_snapshot(), ("a", "b", "d"))
    [ev] = c.pull_events()
    assert fields(ev, "convention_id", "version", "run_id", "meetings", "participants", "participants_changed",
                  "published_at") == dict(convention_id="evt-1", version=1, run_id="run-1", meetings=2,
                                          participants=3, participants_changed=3, published_at=BEFORE + 3 * HOUR)
    assert c.publish_agendas(at=BEFORE + 3 * HOUR) == 1 and not c.pull_events()  # the same instant, the same plan
    c.start_schedule_run("run-2", mode="initial", at=BEFORE + 4 * HOUR)
    c.record_schedule("run-2", fake_schedule(("s1", 1, "a", "b"), ("s2", 1, "d", "b"), ("s3", 1, "e", "a")),
                      at=BEFORE + 4 * HOUR)
    assert refusal(c.publish_agendas, at=BEFORE + 3 * HOUR - MIN) == (
        "at", "at 2023-02-01T11:59:00+01:00 is before the publication of version 1 (2023-02-01T12:00:00+01:00)")
    assert c.publish_agendas(at=BEFORE + 5 * HOUR) == 2
    assert c.published.changed_participant_ids == ("a", "b", "d", "e") and c.published.run_id == "run-2"
    assert refusal(c.publish_agendas, at="later")[0] == "at"


# -- meetings held -------------------------------------------------------------------------------

def day():
    c = make_convention()
    four(c)
    planned(c, fake_schedule(("s1", 1, "a", "b"), ("s3", 2, "d", "e")))
    return c, c.meetings[0].meeting_id, c.meetings[1].meeting_id


def test_a_scan_is_kept_and_told_and_the_second_side_s_makes_the_meeting_held():
    c, ab, de = day()
    s3 = T0 + 50 * MIN
    assert c.record_meeting_scan(de, "e", at=s3 - 15 * MIN) is False  # 15 minutes early: accepted
    assert c.meeting(de).scans == {"e": s3 - 15 * MIN}
    [ev] = c.pull_events()
    assert fields(ev, *FACT, "participant_id", "scanned_at") == dict(
        convention_id="evt-1", meeting_id=de, participant_ids=("d", "e"), slot_id="s3", table=2, participant_id="e",
        scanned_at=s3 - 15 * MIN)
    assert c.record_meeting_scan(de, "d", at=s3 + MIN) is True
    m = c.meeting(de)
    assert (m.held, m.held_how, m.held_at) == (True, ce.MeetingHeldHow.BADGES, s3 + MIN)
    scan, held = c.pull_events()
    assert fields(held, *FACT, "how", "held_at") == dict(
        convention_id="evt-1", meeting_id=de, participant_ids=("d", "e"), slot_id="s3", table=2,
        how=ce.MeetingHeldHow.BADGES, held_at=s3 + MIN)
    assert refusal(c.record_meeting_scan, ab, "d", at=T0) == ("participant_id", f"participant 'd' is not in meeting {ab}")
    assert refusal(c.record_meeting_scan, ab, "a", at=T0 - 15 * MIN - MIN) == (
        "at", "at 2023-03-21T13:44:00+01:00 is before 0:15:00 before slot 's1' starts (2023-03-21T13:45:00+01:00)")
    assert not_found(c.record_meeting_scan, "m-0", "a", at=T0) == "no meeting 'm-0' in convention evt-1"


def test_scans_after_the_organiser_said_held_record_no_second_held():
    c, ab, _ = day()
    c.mark_meeting(ab, True, at=T0)
    c.pull_events()
    assert c.record_meeting_scan(ab, "a", at=T0 + MIN) is False
    assert c.record_meeting_scan(ab, "b", at=T0 + 2 * MIN) is False
    assert [type(e) for e in c.pull_events()] == [ce.MeetingBadgeScanned, ce.MeetingBadgeScanned]
    assert c.meeting(ab).held_how is ce.MeetingHeldHow.ORGANISER


def test_the_organiser_s_mark_overrides_the_badges_and_is_told():
    c, ab, de = day()
    c.record_meeting_scan(ab, "a", at=T0)
    c.record_meeting_scan(ab, "b", at=T0)
    c.pull_events()
    assert c.mark_meeting(ab, False, at=T0) is True  # at the slot's start: accepted
    m = c.meeting(ab)
    assert (m.held, m.held_how, m.held_at) == (False, ce.MeetingHeldHow.ORGANISER, T0)
    [ev] = c.pull_events()
    assert fields(ev, *FACT, "how", "scans", "marked_at") == dict(
        convention_id="evt-1", meeting_id=ab, participant_ids=("a", "b"), slot_id="s1", table=1,
        how=ce.MeetingHeldHow.ORGANISER, scans=2, marked_at=T0)
    assert c.mark_meeting(ab, False, at=T0 + MIN) is False and not c.pull_events()
    assert c.mark_meeting(ab, True, at=T0 + MIN) is True
    assert refusal(c.mark_meeting, ab, "yes", at=T0) == ("held", "held must be true or false (got 'yes')")
    assert refusal(c.mark_meeting, ab, True, at=T0, by="badge")[0] == "by"
    assert conflict(c.mark_meeting, de, True, at=T0 + 50 * MIN - MIN) == (
        f"cannot mark the meeting {de}: its slot s3 starts at 2023-03-21T14:50:00+01:00",
        {"current_state": "not started", "expected_step": "from 2023-03-21T14:50:00+01:00"})


def test_settling_finds_not_held_the_unmarked_meetings_of_the_slots_ended():
    c, ab, de = day()
    c.record_meeting_scan(ab, "a", at=T0)
    c.pull_events()
    assert c.settle_meetings(at=T0 + 20 * MIN - MIN) == 0
    assert c.settle_meetings(at=T0 + 20 * MIN) == 1  # s1 ends at 14:20
    m = c.meeting(ab)
    assert (m.held, m.held_how, m.held_at) == (False, ce.MeetingHeldHow.BADGES, T0 + 20 * MIN)
    [ev] = c.pull_events()
    assert (ev.meeting_id, ev.how, ev.scans, ev.marked_at) == (ab, ce.MeetingHeldHow.BADGES, 1, T0 + 20 * MIN)
    assert c.settle_meetings(at=T0 + 3 * HOUR) == 1 and c.meeting(de).held is False  # a–b settled already
    assert refusal(c.settle_meetings, at=None)[0] == "at"


# -- outcomes ------------------------------------------------------------------------------------

def test_an_outcome_is_kept_and_told_whole():
    c, ab, _ = day()
    o = c.record_outcome(ab, "contract_signed", at=T0, amount_cents=10**13 - 1, need_id="need-1", contract_id="ct-1",
                         reported_by="b")
    assert (o.outcome, o.amount_cents, o.need_id, o.contract_id, o.reported_by, o.recorded_at) == (
        MeetingOutcome.CONTRACT_SIGNED, 10**13 - 1, "need-1", "ct-1", "b", T0)
    assert c.meeting(ab).outcomes == [o]
    [ev] = c.pull_events()
    assert fields(ev, *FACT, "outcome", "amount_cents", "need_id", "contract_id", "reported_by", "recorded_at") == dict(
        convention_id="evt-1", meeting_id=ab, participant_ids=("a", "b"), slot_id="s1", table=1,
        outcome=MeetingOutcome.CONTRACT_SIGNED, amount_cents=10**13 - 1, need_id="need-1", contract_id="ct-1",
        reported_by="b", recorded_at=T0)
    plain = c.record_outcome(ab, "quote_requested", at=T0, contract_id=" ", reported_by=" ")
    assert (plain.amount_cents, plain.contract_id, plain.reported_by) == (None, None, None)


def test_an_outcome_s_refusals_say_why():
    c, ab, de = day()
    assert refusal(c.record_outcome, ab, "contract_signed", at=T0) == (
        "amount_cents", "a signed contract needs its amount (amount_cents)")
    assert refusal(c.record_outcome, ab, "contract_signed", at=T0, amount_cents=10**13) == (
        "amount_cents", "amount_cents must be a whole number from 0 to 9999999999999 (got 10000000000000)")
    assert refusal(c.record_outcome, ab, "quote_requested", at=T0, reported_by="d") == (
        "reported_by", f"participant 'd' is not in meeting {ab}")
    assert refusal(c.record_outcome, ab, "quote_requested", at=T0, contract_id="c\x01")[0] == "contract_id"
    assert refusal(c.record_outcome, ab, "quote_requested", at=T0, reported_by="a\x01")[0] == "reported_by"
    assert conflict(c.record_outcome, de, "quote_requested", at=T0 + 49 * MIN) == (
        f"cannot record an outcome {de}: its slot s3 starts at 2023-03-21T14:50:00+01:00",
        {"current_state": "not started", "expected_step": "from 2023-03-21T14:50:00+01:00"})
    c.mark_meeting(ab, False, at=T0)
    assert conflict(c.record_outcome, ab, "quote_requested", at=T0) == (
        f"meeting {ab} was not held: no outcome", {"current_state": "not held", "expected_step": "mark it held first"})
    assert not_found(c.record_outcome, "m-0", "quote_requested", at=T0) == "no meeting 'm-0' in convention evt-1"


def test_the_latest_outcome_is_the_last_recorded_at_the_latest_time():
    c, ab, _ = day()
    c.record_outcome(ab, "negotiation_started", at=T0 + HOUR)
    c.record_outcome(ab, "quote_requested", at=T0 + HOUR)  # same time: the later record wins
    c.record_outcome(ab, "no_further_contact", at=T0)  # back-dated: not the latest
    assert c.meeting(ab).latest_outcome().outcome is MeetingOutcome.QUOTE_REQUESTED
    assert c.figures().outcomes[MeetingOutcome.QUOTE_REQUESTED] == 1


def test_figures_count_each_contract_once_at_its_latest_amount():
    c, ab, de = day()
    c.mark_meeting(ab, True, at=T0)
    c.record_meeting_scan(de, "d", at=T0 + HOUR)
    c.record_meeting_scan(de, "e", at=T0 + HOUR)
    c.record_outcome(ab, "contract_signed", at=T0 + HOUR, amount_cents=100, contract_id="ct-1")
    c.record_outcome(ab, "contract_signed", at=T0 + HOUR, amount_cents=150, contract_id="ct-1")  # same time: later
    c.record_outcome(ab, "contract_signed", at=T0 + 30 * MIN, amount_cents=90, contract_id="ct-1")  # earlier state
    c.record_outcome(ab, "contract_signed", at=T0 + HOUR, amount_cents=7, contract_id="ct-2")
    c.record_outcome(de, "contract_signed", at=T0 + HOUR, amount_cents=1000, contract_id="ct-1")  # another meeting
    c.record_outcome(de, "quote_requested", at=T0 + 2 * HOUR)
    f = c.figures()
    assert (f.meetings_scheduled, f.meetings_held, f.meetings_not_held, f.meetings_unmarked, f.held_by_badges) == (
        2, 2, 0, 0, 1)
    assert f.held_rate == 1.0 and f.meetings_with_outcome == 2
    assert (f.contracts_signed, f.contract_amount_cents) == (3, 150 + 7 + 1000)
    assert f.outcomes == {MeetingOutcome.NO_FURTHER_CONTACT: 0, MeetingOutcome.QUOTE_REQUESTED: 1,
                          MeetingOutcome.NEGOTIATION_STARTED: 0, MeetingOutcome.CONTRACT_SIGNED: 1}


def test_a_meeting_in_a_slot_the_settings_lost_is_an_inconsistency():
    c, ab, _ = day()
    c.meetings[0].slot_id = "s9"  # a stored document changed by hand
    assert conflict(c.mark_meeting, ab, True, at=T0) == (
        f"meeting {ab} is in slot 's9', which the settings no longer have",
        {"current_state": "inconsistent", "expected_step": "re-plan"})


def test_the_queries_of_a_convention():
    c, ab, de = day()
    assert [m.meeting_id for m in c.meetings_of("b")] == [ab] and c.meetings_of("z") == []
    m = c.meeting(ab)
    assert (m.counterpart("a"), m.counterpart("b")) == ("b", "a")
    assert meeting_id("evt-1", "b", "a") == meeting_id("evt-1", "a", "b") != meeting_id("evt-2", "a", "b")
    assert meeting_id("evt-1", "a", "b") == "m-" + __import__("hashlib").sha256(b"evt-1\x1fa\x1fb").hexdigest()[:16]
    [first, _] = c.plan_snapshot()
    assert (first.meeting_id, first.slot_id, first.start_at, first.end_at, first.table, first.a, first.b) == (
        ab, "s1", T0, T0 + 20 * MIN, 1, "a", "b")


def test_every_step_s_time_must_be_a_date_and_time_and_a_run_s_end_not_before_its_start():
    c, ab, _ = day()
    c.start_schedule_run("run-2", mode="replan", from_slot="s2", at=T0)
    steps = (lambda at: c.reconfigure(settings=make_settings(tables=5), at=at),
             lambda at: c.record_schedule("run-2", fake_schedule(), at=at),
             lambda at: c.fail_schedule_run("run-2", "x", at=at),
             lambda at: c.record_meeting_scan(ab, "a", at=at))
    for step in steps:
        assert refusal(step, "now") == ("at", "at must be a date and time (got 'now')")
    assert refusal(c.fail_schedule_run, "run-2", "x", at=T0 - MIN) == (
        "at", "at 2023-03-21T13:59:00+01:00 is before the run's start (2023-03-21T14:00:00+01:00)")


def test_a_lock_names_the_participant_of_another_convention():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    stranger = join(make_convention(), "x")
    stranger.convention_id = "evt-2"
    assert refusal(c.lock_meeting, stranger, b, "s1", at=BEFORE) == (
        "a", "participant 'x' is not a participant of convention evt-1")
    assert refusal(c.lock_meeting, a, stranger, "s1", at=BEFORE)[0] == "b"


def test_a_contract_signed_for_nothing_counts_for_nothing():
    c, ab, _ = day()
    c.mark_meeting(ab, True, at=T0)
    c.record_outcome(ab, "contract_signed", at=T0, amount_cents=0, contract_id="ct-free")
    f = c.figures()
    assert (f.contracts_signed, f.contract_amount_cents) == (1, 0)
