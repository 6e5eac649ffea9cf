"""Business conventions: settings, participants, meeting requests, mapping to the scheduler,
runs and agendas, re-planning on the day, meetings held, outcomes and figures, event contracts."""
from __future__ import annotations

import inspect
import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

import contracts.events.conventions as ce
from contracts.base import DomainEvent
from runtime.errors import Conflict, InvalidInput, NotFound
from services.events.domain.conventions import (FORCED_PRIORITY, Convention, ConventionParticipant,
                                                ConventionSettings, MeetingOutcome, MeetingRequest,
                                                MeetingRequestStatus, ParticipantRole, agenda_of, agendas,
                                                generate_slots, meeting_id, replan_inputs, scheduling_options,
                                                to_problem)
from services.events.domain.scheduling import (Meeting, Quality, RequestStatus, Role, Schedule, Status, replan,
                                               schedule)

PARIS = timezone(timedelta(hours=1))
T0 = datetime(2023, 3, 21, 14, 0, tzinfo=PARIS)  # the first slot
BEFORE = datetime(2023, 2, 1, 9, 0, tzinfo=PARIS)  # weeks before
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
GREEDY = dict(use_solver=False)  # deterministic and instant: the solver is exercised once below


# -- builders ------------------------------------------------------------------------------------

def make_settings(count: int = 6, tables: int = 3, **kw) -> ConventionSettings:
    """Slots s1… of 20 minutes every 25 minutes from 14:00."""
    return ConventionSettings.build(slots=generate_slots(start_at=T0, slot_minutes=20, gap_minutes=5, count=count),
                                    tables=tables, **kw)


def make_convention(**kw) -> Convention:
    c = Convention.configure("evt-1", settings=make_settings(**kw), at=BEFORE)
    c.pull_events()
    return c


def join(c: Convention, pid: str, role: str = "ess_supplier", **kw) -> ConventionParticipant:
    p = ConventionParticipant.join(pid, convention=c, role=role, at=BEFORE, organisation_id=f"org-{pid}", **kw)
    p.pull_events()
    return p


def send(c, a, b, rid=None, at=BEFORE, **kw) -> MeetingRequest:
    r = MeetingRequest.send(rid or f"r-{a.id}-{b.id}", convention=c, sender=a, recipient=b, at=at, **kw)
    r.pull_events()
    return r


def accepted(c, a, b, **kw) -> MeetingRequest:
    r = send(c, a, b, **kw)
    r.accept(at=BEFORE + HOUR)
    r.pull_events()
    return r


def field_of(excinfo) -> str:
    return excinfo.value.field


def fake_schedule(*meetings: tuple[str, int, str, str]) -> Schedule:
    """A plan given by hand: (slot, table, a, b)."""
    ms = tuple(Meeting(s, t, a, b, 1) for s, t, a, b in meetings)
    return Schedule(ms, {}, {}, (), Quality(len(ms), len(ms), len(ms), 0.0, Status.OPTIMAL, 0.01, 0, 0))


def planned(c: Convention, sched: Schedule, run_id: str = "run-1") -> Convention:
    c.start_schedule_run(run_id, mode="initial", at=BEFORE + 2 * HOUR)
    c.record_schedule(run_id, sched, at=BEFORE + 2 * HOUR)
    c.pull_events()
    return c


# -- settings ------------------------------------------------------------------------------------

def test_generated_slots_skip_breaks_and_keep_the_gap():
    brk = (T0 + 60 * MIN, T0 + 90 * MIN)  # 15:00–15:30
    slots = generate_slots(start_at=T0, slot_minutes=20, gap_minutes=5, count=5, breaks=[brk])
    assert [s.id for s in slots] == ["s1", "s2", "s3", "s4", "s5"]
    # 14:00, 14:25, (14:50 would end 15:10, inside the break) → 15:30, 15:55, 16:20
    assert [s.start_at - T0 for s in slots] == [timedelta(minutes=m) for m in (0, 25, 90, 115, 140)]
    assert all(s.duration_minutes == 20 for s in slots)
    settings = ConventionSettings.build(slots=slots, tables=4, breaks=[brk], table_overrides={"s2": 6})
    assert [settings.tables_in(s) for s in settings.slots] == [4, 6, 4, 4, 4]
    assert settings.first_slot_after(T0).id == "s2" and settings.first_slot_after(T0 - MIN).id == "s1"


@pytest.mark.parametrize("kwargs, field", [
    (dict(tables=0), "tables"),
    (dict(tables=True), "tables"),
    (dict(tables=10**9), "tables"),
    (dict(slots=[]), "slots"),
    (dict(slots=[{"id": "a", "start_at": T0, "duration_minutes": 20},
                 {"id": "b", "start_at": T0 + 10 * MIN, "duration_minutes": 20}]), "slots.1.start_at"),
    (dict(slots=[{"id": "a", "start_at": T0, "duration_minutes": 20},
                 {"id": "a", "start_at": T0 + HOUR, "duration_minutes": 20}]), "slots.1.id"),
    (dict(slots=[{"id": "a", "start_at": T0.replace(tzinfo=None), "duration_minutes": 20}]), "slots.0.start_at"),
    (dict(slots=[{"id": "a", "start_at": T0.replace(year=2201), "duration_minutes": 20}]), "slots.0.start_at"),
    (dict(slots=[{"id": "a", "start_at": T0.replace(year=1899), "duration_minutes": 20}]), "slots.0.start_at"),
    (dict(slots=[{"id": "a", "start_at": T0, "duration_minutes": 0}]), "slots.0.duration_minutes"),
    (dict(slots=[{"id": "a", "start_at": T0, "duration_minutes": 20, "tables": 0}]), "slots.0.tables"),
    (dict(slots=[{"id": " ", "start_at": T0, "duration_minutes": 20}]), "slots.0.id"),
    (dict(breaks=[(T0 + 30 * MIN, T0 + 40 * MIN)]), "slots.1.start_at"),  # s2 is 14:25–14:45
    (dict(breaks=[(T0 + 5 * HOUR, T0 + 4 * HOUR)]), "breaks.0.end_at"),
    (dict(breaks=[(T0 + 5 * HOUR, T0 + 6 * HOUR), (T0 + 5 * HOUR + 30 * MIN, T0 + 7 * HOUR)]), "breaks.1.start_at"),
    (dict(breaks=[(T0.replace(tzinfo=None) + 5 * HOUR, T0 + 6 * HOUR)]), "breaks.0.start_at"),
    (dict(table_overrides={"s9": 2}), "table_overrides.s9"),
    (dict(table_overrides={"s1": 0}), "table_overrides.s1"),
    (dict(request_expiry_hours=0), "request_expiry_hours"),
    (dict(max_meetings_default=-1), "max_meetings_default"),
    (dict(schedule_pending="yes"), "schedule_pending"),
])
def test_bad_settings_name_the_field(kwargs, field):
    args = dict(slots=generate_slots(start_at=T0, slot_minutes=20, gap_minutes=5, count=4), tables=3)
    args.update(kwargs)
    with pytest.raises(InvalidInput) as e:
        ConventionSettings.build(**args)
    assert field_of(e) == field


@pytest.mark.parametrize("kwargs, field", [
    (dict(start_at=T0.replace(tzinfo=None)), "start_at"),
    (dict(start_at=datetime(2200, 12, 31, 23, 0, tzinfo=PARIS)), "count"),  # runs into 2201
    (dict(slot_minutes=0), "slot_minutes"),
    (dict(gap_minutes=-5), "gap_minutes"),
    (dict(count=0), "count"),
    (dict(count=10**6), "count"),
])
def test_bad_slot_generation_names_the_field(kwargs, field):
    args = dict(start_at=T0, slot_minutes=20, gap_minutes=5, count=4)
    args.update(kwargs)
    with pytest.raises(InvalidInput) as e:
        generate_slots(**args)
    assert field_of(e) == field


def test_configure_and_reconfigure_record_the_whole_settings():
    c = Convention.configure("evt-1", settings=make_settings(), at=BEFORE)
    [e] = c.pull_events()
    assert isinstance(e, ce.ConventionConfigured) and e.revision == 1 and e.convention_id == "evt-1"
    assert [s.slot_id for s in e.slots] == ["s1", "s2", "s3", "s4", "s5", "s6"] and e.tables == 3
    assert c.reconfigure(settings=make_settings(), at=BEFORE + HOUR) is False and not c.pull_events()
    assert c.reconfigure(settings=make_settings(tables=5, request_expiry_hours=24), at=BEFORE + HOUR)
    [e] = c.pull_events()
    assert e.revision == 2 and e.tables == 5 and e.request_expiry_hours == 24
    with pytest.raises(InvalidInput) as err:
        c.reconfigure(settings=make_settings(tables=4), at=BEFORE)  # back-dated
    assert field_of(err) == "at"
    with pytest.raises(InvalidInput) as err:
        c.reconfigure(settings={"slots": [], "tables": 0}, at=BEFORE + 2 * HOUR)  # not built: not checked
    assert field_of(err) == "settings"


def test_reconfigure_refuses_to_drop_a_slot_or_table_in_use():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    planned(c, fake_schedule(("s6", 3, "a", "b")))
    with pytest.raises(Conflict):
        c.reconfigure(settings=make_settings(count=5), at=BEFORE + 3 * HOUR)  # s6 gone
    with pytest.raises(Conflict):
        c.reconfigure(settings=make_settings(tables=2), at=BEFORE + 3 * HOUR)  # table 3 gone
    assert c.reconfigure(settings=make_settings(tables=4), at=BEFORE + 3 * HOUR)
    # two locks without a table in s1: one table is too few
    c2 = make_convention(tables=2)
    w, x, y, z = join(c2, "w"), join(c2, "x"), join(c2, "y", "public_buyer"), join(c2, "z", "public_buyer")
    c2.lock_meeting(w, y, "s1", at=BEFORE)
    c2.lock_meeting(x, z, "s1", at=BEFORE)
    with pytest.raises(Conflict):
        c2.reconfigure(settings=make_settings(tables=1), at=BEFORE + HOUR)
    assert c2.reconfigure(settings=make_settings(tables=1, table_overrides={"s1": 2}), at=BEFORE + HOUR)


# -- participants --------------------------------------------------------------------------------

def test_join_records_a_profile_without_personal_data():
    c = make_convention()
    p = ConventionParticipant.join("reg-1", convention=c, role="private_buyer", at=BEFORE, organisation_id="org-9",
                                   sectors=["Économie circulaire", "économie  circulaire", "BTP"],
                                   needs=["traiteur"], available_slots=["s3", "s1"], max_meetings=4)
    [e] = p.pull_events()
    assert isinstance(e, ce.ConventionParticipantJoined)
    assert e.convention_id == "evt-1" and e.participant_id == "reg-1" and e.role is ParticipantRole.PRIVATE_BUYER
    assert e.sectors == ["Économie circulaire", "BTP"] and e.available_slot_ids == ["s1", "s3"]
    assert e.max_meetings == 4 and e.organisation_id == "org-9"
    assert ConventionParticipant.model_validate(p.model_dump(mode="json")) == p  # the stored document


@pytest.mark.parametrize("kwargs, field", [
    (dict(role="buyer"), "role"),
    (dict(sectors=["contact@example.org"]), "sectors.0"),
    (dict(offers=["x" * 81]), "offers.0"),
    (dict(needs=[""]), "needs.0"),
    (dict(needs="traiteur"), "needs"),
    (dict(available_slots=["s1", "s9"]), "available_slots.1"),
    (dict(arrives_at=T0 + HOUR, leaves_at=T0), "leaves_at"),
    (dict(arrives_at=T0.replace(tzinfo=None)), "arrives_at"),
    (dict(max_meetings=-1), "max_meetings"),
    (dict(at=BEFORE.replace(tzinfo=None)), "at"),
])
def test_bad_participant_input_names_the_field(kwargs, field):
    c = make_convention()
    args = dict(convention=c, role="ess_supplier", at=BEFORE)
    args.update(kwargs)
    with pytest.raises(InvalidInput) as e:
        ConventionParticipant.join("reg-1", **args)
    assert field_of(e) == field


def test_profile_update_changes_only_what_is_given():
    c = make_convention()
    p = join(c, "a", sectors=["BTP"], offers=["nettoyage"])
    assert p.update_profile(convention=c, at=BEFORE + HOUR, offers=["nettoyage"]) == []
    assert not p.pull_events()
    assert p.update_profile(convention=c, at=BEFORE + HOUR, needs=["locaux"], arrives_at=T0 + HOUR) == [
        "needs", "arrives_at"]
    [e] = p.pull_events()
    assert isinstance(e, ce.ConventionParticipantProfileUpdated)
    assert e.sectors == ["BTP"] and e.needs == ["locaux"] and e.changed_fields == ["needs", "arrives_at"]
    p.leave(at=BEFORE + 2 * HOUR)
    assert isinstance(p.pull_events()[0], ce.ConventionParticipantLeft)
    with pytest.raises(Conflict):
        p.update_profile(convention=c, at=BEFORE + 3 * HOUR, needs=[])
    with pytest.raises(Conflict):
        p.leave(at=BEFORE + 3 * HOUR)


def test_arrival_and_no_show():
    c = make_convention()
    p = join(c, "a")
    assert p.record_no_show(at=T0) is True
    assert p.record_no_show(at=T0 + MIN) is False
    assert p.record_arrival(at=T0 + 30 * MIN) is True  # late
    e1, e2 = p.pull_events()
    assert isinstance(e1, ce.ParticipantNoShowRecorded) and isinstance(e2, ce.ParticipantArrived)
    assert e2.after_no_show is True and not p.is_no_show
    assert p.record_arrival(at=T0 + 31 * MIN) is False and not p.pull_events()  # badge scanned twice
    with pytest.raises(Conflict):
        p.record_no_show(at=T0 + HOUR)


# -- meeting requests ----------------------------------------------------------------------------

def test_request_lifecycle_and_answers():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    r = MeetingRequest.send("r1", convention=c, sender=a, recipient=b, at=BEFORE, priority=5,
                            message="Bonjour, nous livrons des repas bio.")
    [e] = r.pull_events()
    assert isinstance(e, ce.MeetingRequested) and e.priority == 5 and e.has_message
    assert e.expires_at == BEFORE + 72 * HOUR and r.status is MeetingRequestStatus.PENDING
    assert "repas" not in json.dumps(e.model_dump(mode="json"))  # the message stays out of events
    assert MeetingRequest.model_validate(r.model_dump(mode="json")) == r  # the stored document keeps it
    assert r.accept(at=BEFORE + HOUR) is True
    assert r.accept(at=BEFORE + HOUR) is False  # an idempotent retry
    assert r.decline(at=BEFORE + 2 * HOUR) is True  # a change of mind
    acc, dec = r.pull_events()
    assert isinstance(acc, ce.MeetingRequestAccepted) and acc.previous_status is MeetingRequestStatus.PENDING
    assert isinstance(dec, ce.MeetingRequestDeclined) and dec.previous_status is MeetingRequestStatus.ACCEPTED
    with pytest.raises(Conflict):
        r.withdraw(at=BEFORE + 3 * HOUR)  # declined: nothing to withdraw
    with pytest.raises(InvalidInput) as err:
        r.accept(at=BEFORE - HOUR)
    assert field_of(err) == "at"


def test_withdraw_then_send_again():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    r = accepted(c, a, b)
    r.withdraw(at=BEFORE + 2 * HOUR)
    [e] = r.pull_events()
    assert isinstance(e, ce.MeetingRequestWithdrawn) and e.previous_status is MeetingRequestStatus.ACCEPTED
    with pytest.raises(Conflict):
        r.accept(at=BEFORE + 3 * HOUR)
    again = send(c, a, b, rid="r2", at=BEFORE + 3 * HOUR, existing=[r])
    assert again.status is MeetingRequestStatus.PENDING


def test_request_rules():
    c = make_convention()
    a, b, s2 = join(c, "a"), join(c, "b", "public_buyer"), join(c, "s2")
    with pytest.raises(InvalidInput) as e:
        send(c, a, a)
    assert field_of(e) == "to_participant_id"
    with pytest.raises(InvalidInput) as e:
        send(c, a, s2)  # two ESS suppliers
    assert field_of(e) == "to_participant_id"
    with pytest.raises(InvalidInput) as e:
        send(c, a, b, priority=6)
    assert field_of(e) == "priority"
    with pytest.raises(InvalidInput) as e:
        send(c, a, b, message="x" * 1001)
    assert field_of(e) == "message"
    first = send(c, a, b)
    with pytest.raises(Conflict) as dup:
        send(c, a, b, rid="r-dup", existing=[first])
    assert dup.value.extra["existing_request_id"] == first.id
    send(c, b, a, existing=[first])  # the other way round: both asked
    with pytest.raises(Conflict):
        send(c, b, s2, at=T0 + 6 * HOUR)  # the convention is over
    other = Convention.configure("evt-2", settings=make_settings(), at=BEFORE)
    with pytest.raises(InvalidInput) as e:
        MeetingRequest.send("r9", convention=other, sender=a, recipient=b, at=BEFORE)
    assert field_of(e) == "from_participant_id"
    c2 = make_convention(allow_same_role=True)
    x, y = join(c2, "x"), join(c2, "y")
    assert send(c2, x, y).status is MeetingRequestStatus.PENDING
    b.leave(at=BEFORE + HOUR)
    with pytest.raises(Conflict):
        send(c, s2, b, at=BEFORE + 2 * HOUR)


def test_expiry():
    c = make_convention(request_expiry_hours=48)
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    r = send(c, a, b)
    due = BEFORE + 48 * HOUR
    assert not r.is_due(due - MIN) and r.is_due(due)
    with pytest.raises(Conflict):
        r.expire(at=due - MIN)
    with pytest.raises(Conflict):
        r.accept(at=due + MIN)  # overdue, not swept yet: too late all the same
    # an overdue request does not block a new one
    assert send(c, a, b, rid="r-new", at=due + MIN, existing=[r]).status is MeetingRequestStatus.PENDING
    r.expire(at=due + 5 * MIN)
    [e] = r.pull_events()
    assert isinstance(e, ce.MeetingRequestExpired) and e.expires_at == due and e.expired_at == due + 5 * MIN
    with pytest.raises(Conflict):
        r.expire(at=due + 6 * MIN)
    never = make_convention(request_expiry_hours=None)
    r2 = send(never, join(never, "a"), join(never, "b", "public_buyer"))
    assert r2.expires_at is None and not r2.is_due(T0)
    with pytest.raises(Conflict):
        r2.expire(at=T0)


def test_forcing_overrides_a_decline_and_sticks():
    c = make_convention()
    a, b = join(c, "a"), join(c, "b", "public_buyer")
    r = send(c, a, b)
    r.decline(at=BEFORE + HOUR)
    r.pull_events()
    assert r.force(at=BEFORE + 2 * HOUR) is True and r.force(at=BEFORE + 3 * HOUR) is False
    [e] = r.pull_events()
    assert isinstance(e, ce.MeetingRequestForced) and e.previous_status is MeetingRequestStatus.DECLINED
    for step in (lambda: r.withdraw(at=BEFORE + 4 * HOUR), lambda: r.expire(at=T0)):
        with pytest.raises(Conflict):
            step()
    r.accept(at=BEFORE + 4 * HOUR)  # accepting a forced pair is fine
    with pytest.raises(Conflict):
        r.decline(at=BEFORE + 5 * HOUR)
    pending = send(c, b, a)
    pending.force(at=BEFORE + HOUR)
    assert not pending.is_due(T0 + 10 * HOUR)  # a forced request never expires
    gone = send(c, join(c, "s3"), b)
    gone.withdraw(at=BEFORE + HOUR)
    with pytest.raises(Conflict):
        gone.force(at=BEFORE + 2 * HOUR)


# -- mapping to the scheduler --------------------------------------------------------------------

def _by_pair(problem):
    return {(r.from_, r.to): r for r in problem.requests}


def test_to_problem_maps_statuses_and_forced_pairs():
    c = make_convention()
    sup = [join(c, f"s{i}") for i in range(6)]
    buy = [join(c, "b0", "public_buyer"), join(c, "b1", "private_buyer")]
    b0, b1 = buy
    acc = accepted(c, sup[0], b0, priority=2)
    pend = send(c, sup[1], b0)
    dec = send(c, sup[2], b0)
    dec.decline(at=BEFORE + HOUR)
    exp = send(c, sup[3], b0)
    exp.expire(at=BEFORE + 80 * HOUR)
    wd = send(c, sup[4], b0)
    wd.withdraw(at=BEFORE + HOUR)
    forced = send(c, sup[5], b0, priority=1)  # supplier 5 asked, buyer 0 declined, organiser forces
    forced.decline(at=BEFORE + HOUR)
    forced.force(at=BEFORE + 2 * HOUR)
    back = send(c, b0, sup[5])  # and buyer 0's own request the other way, declined by 5
    back.decline(at=BEFORE + HOUR)
    problem = to_problem(c, [*sup, *buy], [acc, pend, dec, exp, wd, forced, back])
    got = {k: (r.status, r.priority) for k, r in _by_pair(problem).items()}
    assert got == {
        ("s0", "b0"): (RequestStatus.ACCEPTED, 2),
        ("s1", "b0"): (RequestStatus.PENDING, 3),
        ("s2", "b0"): (RequestStatus.DECLINED, 3),
        ("s5", "b0"): (RequestStatus.ACCEPTED, FORCED_PRIORITY),  # one ACCEPTED request, the decline omitted
    }
    roles = {p.id: p.role for p in problem.participants}
    assert roles["s0"] is Role.SUPPLIER and roles["b0"] is Role.BUYER and roles["b1"] is Role.BUYER
    assert [s.id for s in problem.slots] == ["s1", "s2", "s3", "s4", "s5", "s6"] and problem.tables == 3
    # overdue pending requests are left out when ``at`` is given
    late = to_problem(c, [*sup, *buy], [pend], at=BEFORE + 73 * HOUR)
    assert late.requests == ()


def test_to_problem_participants_availability_and_locks():
    c = make_convention(max_meetings_default=2)
    a = join(c, "a", arrives_at=T0 + 50 * MIN)  # s3 (14:50) onwards
    b = join(c, "b", "public_buyer", available_slots=["s1", "s2"], max_meetings=1)
    d = join(c, "d", "public_buyer")
    gone = join(c, "gone", "public_buyer")
    away = join(c, "away", "public_buyer")
    r1, r2 = accepted(c, a, gone), accepted(c, a, away)
    gone.leave(at=BEFORE + HOUR)
    declined = send(c, a, b)
    declined.decline(at=BEFORE + HOUR)
    c.lock_meeting(a, b, "s1", at=BEFORE + HOUR)  # the organiser's lock wins over availability and decline
    c.lock_meeting(a, d, "s2", table=2, at=BEFORE + HOUR)
    problem = to_problem(c, [a, b, d, gone, away], [r1, r2, declined], absent=["away"])
    parts = {p.id: p for p in problem.participants}
    assert set(parts) == {"a", "b", "d"}  # left and absent participants get nothing
    assert parts["a"].available is None  # s3… from its arrival, s1 and s2 from its locks: every slot
    assert parts["b"].available == frozenset({"s1", "s2"}) and parts["b"].max_meetings == 1
    assert parts["d"].available is None and parts["d"].max_meetings == 2
    assert parts["a"].max_meetings == 2 and parts["a"].organisation == "org-a"
    assert problem.requests == ()  # to "gone" and "away": dropped; the declined pair is locked
    assert {(m.a, m.b, m.slot, m.table) for m in problem.locked} == {("a", "b", "s1", None), ("a", "d", "s2", 2)}
    only_arrival = to_problem(c, [join(c, "late", arrives_at=T0 + 50 * MIN)], [])
    assert only_arrival.participants[0].available == frozenset({"s3", "s4", "s5", "s6"})
    sched = schedule(problem, scheduling_options(c, **GREEDY))
    assert {(m.a, m.b, m.slot) for m in sched.meetings} == {("a", "b", "s1"), ("a", "d", "s2")}


def test_to_problem_refuses_another_conventions_items():
    c = make_convention()
    other = Convention.configure("evt-2", settings=make_settings(), at=BEFORE)
    stranger = join(other, "x")
    with pytest.raises(InvalidInput) as e:
        to_problem(c, [join(c, "a"), stranger], [])
    assert field_of(e) == "participants.1"
    with pytest.raises(InvalidInput) as e:
        to_problem(c, [], [send(other, stranger, join(other, "y", "public_buyer"))])
    assert field_of(e) == "requests.0"


def _small_convention():
    """10 suppliers and 5 buyers, 4 slots of 3 tables; requests with every answer."""
    c = make_convention(count=4, tables=3)
    sup = [join(c, f"s{i:02d}") for i in range(10)]
    buy = [join(c, f"b{j}", "public_buyer" if j % 2 else "private_buyer") for j in range(5)]
    requests = []
    for i, s in enumerate(sup):
        for j, b in enumerate(buy):
            k = (3 * i + j) % 7
            if k == 6:
                continue
            sender, recipient = (s, b) if k % 2 else (b, s)
            r = send(c, sender, recipient, priority=1 + k % 5)
            if k in (0, 3):
                r.decline(at=BEFORE + HOUR)
            elif k != 5:
                r.accept(at=BEFORE + HOUR)
            requests.append(r)
    return c, [*sup, *buy], requests


def test_the_real_scheduler_respects_answers_and_agendas_are_coherent():
    c, parts, requests = _small_convention()
    forced = next(r for r in requests if r.status is MeetingRequestStatus.DECLINED)
    forced.force(at=BEFORE + 2 * HOUR)
    problem = to_problem(c, parts, requests)
    sched = schedule(problem, scheduling_options(c, time_limit=1.0, num_workers=1))
    declined_pairs = {r.pair for r in requests if r.status is MeetingRequestStatus.DECLINED and not r.forced}
    eligible_pairs = {r.pair for r in requests if r.forced or r.status is MeetingRequestStatus.ACCEPTED}
    declined_pairs -= eligible_pairs  # a pair may have an accepted request the other way
    met = {frozenset((m.a, m.b)) for m in sched.meetings}
    assert met and not met & declined_pairs
    assert met <= eligible_pairs  # pending requests are not scheduled by default
    assert forced.pair in met  # forced pairs come first (top priority)
    c.start_schedule_run("run-1", mode="initial", at=BEFORE + 3 * HOUR)
    c.record_schedule("run-1", sched, at=BEFORE + 3 * HOUR)
    assert c.publish_agendas(at=BEFORE + 4 * HOUR) == 1
    books = agendas(c, parts)
    by_slot = Counter()
    for pid, items in books.items():
        assert [i.start_at for i in items] == sorted(i.start_at for i in items)
        assert len({i.slot_id for i in items}) == len(items)  # nobody twice in a slot
        for it in items:
            mirror = [x for x in books[it.counterpart_id] if x.meeting_id == it.meeting_id]
            assert len(mirror) == 1 and mirror[0].counterpart_id == pid
            assert (mirror[0].slot_id, mirror[0].table) == (it.slot_id, it.table)
            assert it.counterpart_organisation_id == f"org-{it.counterpart_id}"
            assert it.end_at - it.start_at == timedelta(minutes=20)
            by_slot[(it.slot_id, it.table)] += 1
    assert sum(len(v) for v in books.values()) == 2 * len(sched.meetings)
    assert all(n == 2 for n in by_slot.values()) and all(t <= 3 for _, t in by_slot)
    assert agenda_of(c, "s00", parts) == books.get("s00", ())
    assert agenda_of(c, "nobody", parts) == ()


# -- runs and agendas ----------------------------------------------------------------------------

def test_runs_record_quality_and_unscheduled_reasons():
    c, parts, requests = _small_convention()
    sched = schedule(to_problem(c, parts, requests), scheduling_options(c, **GREEDY))
    c.start_schedule_run("run-1", mode="initial", at=BEFORE + 3 * HOUR)
    c.record_schedule("run-1", sched, at=BEFORE + 3 * HOUR + MIN)
    started, computed = c.pull_events()
    assert isinstance(started, ce.ScheduleRunStarted) and started.mode is ce.ScheduleMode.INITIAL
    assert isinstance(computed, ce.ScheduleComputed)
    assert computed.meetings == len(sched.meetings) == len(c.meetings) == computed.meetings_added
    assert computed.status is ce.ScheduleStatus(sched.quality.status.value.lower())
    assert computed.unscheduled == len(sched.unscheduled) == len(c.unscheduled)
    assert computed.unscheduled_by_reason[ce.UnscheduledReasonCode.DECLINED] == sum(
        1 for r in requests if r.status is MeetingRequestStatus.DECLINED)
    assert computed.unscheduled_by_reason[ce.UnscheduledReasonCode.PENDING_NOT_INCLUDED] == sum(
        1 for r in requests if r.status is MeetingRequestStatus.PENDING)
    m = c.meetings[0]
    assert m.meeting_id == meeting_id("evt-1", m.b, m.a) and m.a < m.b
    assert c.run_in_progress is None and c.runs[0].quality.meetings == len(sched.meetings)
    assert Convention.model_validate(c.model_dump(mode="json")) == c  # the stored document round-trips


def test_run_steps_out_of_order():
    c = make_convention()
    join(c, "a"), join(c, "b", "public_buyer")
    with pytest.raises(Conflict):
        c.start_schedule_run("run-0", mode="replan", at=BEFORE)  # no plan yet
    with pytest.raises(InvalidInput) as e:
        c.start_schedule_run("run-0", mode="initial", at=BEFORE, from_slot="s2")
    assert field_of(e) == "from_slot"
    with pytest.raises(InvalidInput) as e:
        c.start_schedule_run("run-0", mode="sideways", at=BEFORE)
    assert field_of(e) == "mode"
    c.start_schedule_run("run-1", mode="initial", at=BEFORE)
    c.pull_events()
    with pytest.raises(Conflict):
        c.start_schedule_run("run-2", mode="initial", at=BEFORE + 5 * MIN)  # one at a time
    with pytest.raises(Conflict):
        c.start_schedule_run("run-1", mode="initial", at=BEFORE + HOUR)  # the id is taken
    c.start_schedule_run("run-2", mode="initial", at=BEFORE + 20 * MIN)  # run-1 is abandoned
    failed, started = c.pull_events()
    assert isinstance(failed, ce.ScheduleRunFailed) and failed.run_id == "run-1" and "abandoned" in failed.error
    with pytest.raises(Conflict):
        c.record_schedule("run-1", fake_schedule(("s1", 1, "a", "b")), at=BEFORE + HOUR)
    with pytest.raises(NotFound):
        c.record_schedule("run-9", fake_schedule(), at=BEFORE + HOUR)
    with pytest.raises(InvalidInput) as e:
        c.record_schedule("run-2", fake_schedule(("s1", 4, "a", "b")), at=BEFORE + HOUR)
    assert field_of(e) == "schedule.meetings.0.table"
    with pytest.raises(InvalidInput) as e:
        c.record_schedule("run-2", fake_schedule(("s1", 1, "a", "b"), ("s1", 2, "a", "c")), at=BEFORE + HOUR)
    assert field_of(e) == "schedule.meetings.1"
    c.fail_schedule_run("run-2", "  solver\nexploded  ", at=BEFORE + HOUR)
    [e] = c.pull_events()
    assert e.error == "solver exploded" and c.meetings == [] and c.plan_run_id is None
    c.start_schedule_run("run-3", mode="initial", at=BEFORE + 2 * HOUR)
    c.reconfigure(settings=make_settings(tables=4), at=BEFORE + 2 * HOUR)
    with pytest.raises(Conflict):
        c.record_schedule("run-3", fake_schedule(("s1", 1, "a", "b")), at=BEFORE + 2 * HOUR)  # settings changed


def test_publish_freezes_a_version_and_republishing_bumps_it():
    c = make_convention()
    parts = [join(c, "a"), join(c, "b", "public_buyer"), join(c, "c"), join(c, "d", "public_buyer")]
    with pytest.raises(Conflict):
        c.publish_agendas(at=BEFORE)
    planned(c, fake_schedule(("s1", 1, "a", "b"), ("s2", 1, "c", "d")))
    assert c.publish_agendas(at=BEFORE + 3 * HOUR) == 1
    [e] = c.pull_events()
    assert isinstance(e, ce.AgendasPublished) and (e.version, e.meetings, e.participants) == (1, 2, 4)
    assert e.participants_changed == 4
    assert c.publish_agendas(at=BEFORE + 4 * HOUR) == 1 and not c.pull_events()  # nothing changed
    # a new plan moves c–d: the published version stays frozen until republished
    c.start_schedule_run("run-2", mode="replan", at=BEFORE + 5 * HOUR)
    c.record_schedule("run-2", fake_schedule(("s1", 1, "a", "b"), ("s3", 2, "c", "d")), at=BEFORE + 5 * HOUR)
    computed = c.pull_events()[-1]
    assert (computed.meetings_added, computed.meetings_removed, computed.meetings_moved) == (0, 0, 1)
    assert [i.slot_id for i in agenda_of(c, "c", parts)] == ["s2"]
    assert [i.slot_id for i in agenda_of(c, "c", parts, published=False)] == ["s3"]
    assert c.publish_agendas(at=BEFORE + 6 * HOUR) == 2
    [e] = c.pull_events()
    assert e.version == 2 and e.participants_changed == 2 and c.published.changed_participant_ids == ("c", "d")
    assert [i.slot_id for i in agenda_of(c, "c", parts)] == ["s3"]
    with pytest.raises(InvalidInput):
        c.publish_agendas(at=BEFORE + 5 * HOUR)  # back-dated
    # a change of slot times changes the agendas too
    later = ConventionSettings.build(slots=generate_slots(start_at=T0 + HOUR, slot_minutes=20, count=6), tables=3)
    c.reconfigure(settings=later, at=BEFORE + 7 * HOUR)
    assert c.publish_agendas(at=BEFORE + 8 * HOUR) == 3


def test_locks_are_checked():
    c = make_convention(tables=2)
    a, b, d, e = join(c, "a"), join(c, "b", "public_buyer"), join(c, "d"), join(c, "e", "public_buyer")
    f = join(c, "f")
    with pytest.raises(InvalidInput) as err:
        c.lock_meeting(a, a, "s1", at=BEFORE)
    assert field_of(err) == "b"
    with pytest.raises(InvalidInput) as err:
        c.lock_meeting(a, b, "s9", at=BEFORE)
    assert field_of(err) == "slot_id"
    with pytest.raises(InvalidInput) as err:
        c.lock_meeting(a, b, "s1", table=3, at=BEFORE)
    assert field_of(err) == "table"
    c.lock_meeting(a, b, "s1", table=1, at=BEFORE)
    [ev] = c.pull_events()
    assert isinstance(ev, ce.MeetingLocked) and ev.participant_ids == ("a", "b") and ev.table == 1
    with pytest.raises(Conflict):
        c.lock_meeting(b, a, "s2", at=BEFORE)  # the pair is locked already
    with pytest.raises(Conflict):
        c.lock_meeting(d, e, "s1", table=1, at=BEFORE)  # the table is taken
    c.lock_meeting(d, e, "s1", at=BEFORE)
    with pytest.raises(Conflict):
        c.lock_meeting(f, join(c, "g", "public_buyer"), "s1", at=BEFORE)  # 2 tables, both locked
    c.unlock_meeting("b", "a", at=BEFORE)
    assert isinstance(c.pull_events()[-1], ce.MeetingUnlocked) and len(c.locked) == 1
    with pytest.raises(NotFound):
        c.unlock_meeting("a", "b", at=BEFORE)


# -- on the day: re-planning ---------------------------------------------------------------------

def test_replan_inputs_from_arrivals_and_no_shows():
    c = make_convention()
    a, b, d, e = join(c, "a"), join(c, "b", "public_buyer"), join(c, "d"), join(c, "e", "public_buyer")
    g = join(c, "g")
    with pytest.raises(Conflict):
        replan_inputs(c, [a, b], at=T0)  # no plan yet
    planned(c, fake_schedule(("s1", 1, "a", "b"), ("s2", 1, "d", "b"), ("s3", 1, "a", "e"), ("s4", 1, "g", "e")))
    a.record_arrival(at=T0 - 10 * MIN)
    b.record_arrival(at=T0 - 5 * MIN)
    e.record_arrival(at=T0 - 5 * MIN)
    d.record_no_show(at=T0 + 20 * MIN)
    g.leave(at=T0 + 21 * MIN)
    now = T0 + 30 * MIN  # during s2 (14:25–14:45)
    inputs = replan_inputs(c, [a, b, d, e, g], at=now)
    assert inputs.from_slot == "s3" and inputs.no_shows == ("d", "g") and inputs.checked_in is None
    assert {(m.slot, m.a, m.b) for m in inputs.previous.meetings} == {
        ("s1", "a", "b"), ("s2", "b", "d"), ("s3", "a", "e"), ("s4", "e", "g")}
    closed = replan_inputs(c, [a, b, d, e, g], at=now, check_in_closed=True)
    assert closed.checked_in == ("a", "b", "e")
    with pytest.raises(Conflict):
        replan_inputs(c, [a, b], at=T0 + 3 * HOUR)  # no slot starts after: nothing left to re-plan


def test_replan_releases_no_shows_keeps_history_and_fills_freed_places():
    c = make_convention(count=4, tables=2)
    s = [join(c, f"s{i}") for i in range(4)]
    b = [join(c, f"b{j}", "public_buyer") for j in range(2)]
    parts = [*s, *b]
    reqs = [accepted(c, x, y) for x in s for y in b]
    first = schedule(to_problem(c, parts, reqs), scheduling_options(c, **GREEDY))
    c.start_schedule_run("run-1", mode="initial", at=BEFORE + 3 * HOUR)
    c.record_schedule("run-1", first, at=BEFORE + 3 * HOUR)
    assert c.publish_agendas(at=BEFORE + 4 * HOUR) == 1
    c.pull_events()
    gone = next(m for m in c.meetings if m.slot_id == "s1").a  # someone met in s1, then is a no-show
    victim = next(p for p in parts if p.id == gone)
    for p in parts:
        if p.id != gone:
            p.record_arrival(at=T0 - 10 * MIN)
    victim.record_no_show(at=T0 + 10 * MIN)
    now = T0 + 10 * MIN  # during s1
    inputs = replan_inputs(c, parts, at=now)
    assert inputs.from_slot == "s2" and inputs.no_shows == (gone,)
    result = replan(to_problem(c, parts, reqs, at=now), inputs.previous, no_shows=inputs.no_shows,
                    checked_in=inputs.checked_in, from_slot=inputs.from_slot, options=scheduling_options(c, **GREEDY))
    history = [m for m in c.meetings if m.slot_id == "s1"]
    c.start_schedule_run("run-2", mode="replan", from_slot=inputs.from_slot, at=now)
    c.record_schedule("run-2", result.schedule, at=now + MIN)
    assert [m for m in c.meetings if m.slot_id == "s1"] == history  # the past stays, the no-show's included
    assert not [m for m in c.meetings if m.slot_id != "s1" and gone in m.participants]
    assert c.publish_agendas(at=now + 2 * MIN) == 2


def test_replan_cannot_move_a_meeting_that_happened():
    c = make_convention()
    join(c, "a"), join(c, "b", "public_buyer")
    planned(c, fake_schedule(("s2", 1, "a", "b")))
    mid = c.meetings[0].meeting_id
    c.record_meeting_scan(mid, "a", at=T0 + 20 * MIN)  # scanned early for s2 (14:25)
    with pytest.raises(Conflict):
        c.start_schedule_run("run-2", mode="initial", at=T0 + 21 * MIN)  # the day is under way
    c.start_schedule_run("run-2", mode="replan", at=T0 + 21 * MIN)
    with pytest.raises(Conflict):
        c.record_schedule("run-2", fake_schedule(("s3", 1, "a", "b")), at=T0 + 22 * MIN)
    c.record_schedule("run-2", fake_schedule(("s2", 1, "a", "b")), at=T0 + 22 * MIN)
    assert c.meetings[0].scans  # same place: the meeting and its scan are kept


# -- after the event: meetings held, outcomes, figures ---------------------------------------------

def _day():
    c = make_convention()
    for pid, role in (("a", "ess_supplier"), ("b", "public_buyer"), ("d", "ess_supplier"), ("e", "private_buyer")):
        join(c, pid, role)
    planned(c, fake_schedule(("s1", 1, "a", "b"), ("s1", 2, "d", "e"), ("s2", 1, "a", "e"), ("s3", 1, "b", "d")))
    return c, {frozenset(m.participants): m.meeting_id for m in c.meetings}


def test_a_meeting_is_held_when_both_badges_are_scanned():
    c, ids = _day()
    ab = ids[frozenset("ab")]
    assert c.record_meeting_scan(ab, "a", at=T0 + MIN) is False
    [scan] = c.pull_events()
    assert isinstance(scan, ce.MeetingBadgeScanned) and scan.participant_id == "a"
    assert c.meeting(ab).held is None  # one side only
    assert c.record_meeting_scan(ab, "a", at=T0 + 2 * MIN) is False and not c.pull_events()
    assert c.record_meeting_scan(ab, "b", at=T0 + 3 * MIN) is True
    scan, held = c.pull_events()
    assert isinstance(held, ce.MeetingHeld) and held.how is ce.MeetingHeldHow.BADGES and held.meeting_id == ab
    with pytest.raises(InvalidInput) as e:
        c.record_meeting_scan(ab, "d", at=T0 + 4 * MIN)
    assert field_of(e) == "participant_id"
    with pytest.raises(InvalidInput) as e:
        c.record_meeting_scan(ids[frozenset("bd")], "b", at=T0)  # s3 starts at 14:50
    assert field_of(e) == "at"
    with pytest.raises(NotFound):
        c.record_meeting_scan("m-nope", "a", at=T0)


def test_the_organiser_marks_and_the_day_is_settled():
    c, ids = _day()
    ae, de, bd = ids[frozenset("ae")], ids[frozenset("de")], ids[frozenset("bd")]
    c.record_meeting_scan(de, "d", at=T0 + MIN)
    c.pull_events()
    assert c.mark_meeting(ae, True, at=T0 + HOUR) is True
    assert c.mark_meeting(ae, True, at=T0 + HOUR) is False
    [held] = c.pull_events()
    assert held.how is ce.MeetingHeldHow.ORGANISER
    with pytest.raises(InvalidInput) as e:
        c.mark_meeting(ae, False, at=T0 + HOUR, by="participant")
    assert field_of(e) == "by"
    with pytest.raises(Conflict) as e:
        c.mark_meeting(bd, True, at=T0)  # before its slot: out of order
    assert e.value.extra["current_state"] == "not started"
    assert c.settle_meetings(at=T0 + 47 * MIN) == 2  # s1 and s2 have ended: a–b and d–e unmarked
    events = c.pull_events()
    assert {(e.meeting_id, e.scans, e.how) for e in events} == {
        (ids[frozenset("ab")], 0, ce.MeetingHeldHow.BADGES), (de, 1, ce.MeetingHeldHow.BADGES)}
    assert c.meeting(bd).held is None  # s3 has not ended
    c.record_meeting_scan(de, "e", at=T0 + 50 * MIN)  # a scanner syncing late: badges prove it was held
    assert c.meeting(de).held is True


@pytest.mark.parametrize("kwargs, field", [
    (dict(outcome="contract_signed"), "amount_cents"),
    (dict(outcome="contract_signed", amount_cents=-1), "amount_cents"),
    (dict(outcome="contract_signed", amount_cents=10**13), "amount_cents"),
    (dict(outcome="contract_signed", amount_cents=True), "amount_cents"),
    (dict(outcome="quote_requested", amount_cents=1.5), "amount_cents"),
    (dict(outcome="partnership"), "outcome"),
    (dict(outcome="quote_requested", need_id="  "), None),  # blank: no need
    (dict(outcome="quote_requested", need_id="n" * 101), "need_id"),
    (dict(outcome="quote_requested", reported_by="d"), "reported_by"),
    (dict(outcome="quote_requested", at=(T0 + HOUR).replace(tzinfo=None)), "at"),
])
def test_bad_outcomes_name_the_field(kwargs, field):
    c, ids = _day()
    args = dict(at=T0 + 2 * HOUR)
    args.update(kwargs)
    if field is None:
        assert c.record_outcome(ids[frozenset("ab")], **args).need_id is None
        return
    with pytest.raises(InvalidInput) as e:
        c.record_outcome(ids[frozenset("ab")], **args)
    assert field_of(e) == field


def test_an_outcome_before_the_meeting_is_out_of_order():
    c, ids = _day()
    with pytest.raises(Conflict) as e:
        c.record_outcome(ids[frozenset("ab")], "quote_requested", at=T0 - MIN)
    assert e.value.extra["current_state"] == "not started"


def test_outcomes_progress_and_figures():
    c, ids = _day()
    ab, de, ae, bd = (ids[frozenset(p)] for p in ("ab", "de", "ae", "bd"))
    later = T0 + 90 * 24 * HOUR
    c.mark_meeting(ab, True, at=T0 + HOUR)
    c.mark_meeting(ae, True, at=T0 + HOUR)
    c.mark_meeting(bd, False, at=T0 + 2 * HOUR)
    c.record_outcome(ab, "quote_requested", at=later, need_id="need-42", reported_by="b")
    c.record_outcome(ab, "contract_signed", at=later + HOUR, amount_cents=1_000_000, need_id="need-42",
                     contract_id="ct-1")
    c.record_outcome(ab, "contract_signed", at=later + 2 * HOUR, amount_cents=1_250_000, contract_id="ct-1")  # amended
    c.record_outcome(ae, "negotiation_started", at=later)
    c.record_outcome(de, "contract_signed", at=later + HOUR, amount_cents=300_000)  # held unknown: it was
    c.record_outcome(de, "contract_signed", at=later, amount_cents=200_000)  # back-dated: an earlier state
    with pytest.raises(Conflict):
        c.record_outcome(bd, "quote_requested", at=later)  # not held
    outcome_events = [e for e in c.pull_events() if isinstance(e, ce.MeetingOutcomeRecorded)]
    assert len(outcome_events) == 6 and outcome_events[1].need_id == "need-42"
    assert outcome_events[1].contract_id == "ct-1" and outcome_events[1].amount_cents == 1_000_000
    f = c.figures()
    assert (f.meetings_scheduled, f.meetings_held, f.meetings_not_held, f.meetings_unmarked) == (4, 2, 1, 1)
    assert f.held_rate == 0.5 and f.held_by_badges == 0
    assert f.outcomes == {MeetingOutcome.NO_FURTHER_CONTACT: 0, MeetingOutcome.QUOTE_REQUESTED: 0,
                          MeetingOutcome.NEGOTIATION_STARTED: 1, MeetingOutcome.CONTRACT_SIGNED: 2}
    assert f.meetings_with_outcome == 3
    assert f.contracts_signed == 2 and f.contract_amount_cents == 1_250_000 + 300_000


def test_figures_of_an_empty_convention():
    f = make_convention().figures()
    assert f.meetings_scheduled == 0 and f.held_rate == 0.0 and f.contract_amount_cents == 0


# -- event contracts -----------------------------------------------------------------------------

EVENTS = [obj for _, obj in inspect.getmembers(ce, inspect.isclass)
          if issubclass(obj, DomainEvent) and "event_type" in obj.__dict__]


def test_the_event_set():
    names = {m.event_type.split(".")[3] for m in EVENTS}
    assert names == {
        "convention-configured", "convention-participant-joined", "convention-participant-left",
        "convention-participant-profile-updated", "meeting-requested", "meeting-request-accepted",
        "meeting-request-declined", "meeting-request-expired", "meeting-request-withdrawn",
        "meeting-request-forced", "meeting-locked", "meeting-unlocked", "schedule-run-started",
        "schedule-computed", "schedule-run-failed", "agendas-published", "participant-arrived",
        "participant-no-show", "meeting-badge-scanned", "meeting-held", "meeting-not-held",
        "meeting-outcome-recorded"}
    assert set(ce.__all__) >= {m.__name__ for m in EVENTS}


@pytest.mark.parametrize("model", EVENTS, ids=lambda m: m.__name__)
def test_every_event_is_documented_keyed_by_convention_and_round_trips(model):
    assert model.__doc__ and model.__doc__.strip()
    assert model.event_type.startswith("org.cress.events.") and model.event_type.endswith(".v1")
    assert (model.aggregate_type, model.aggregate_id_field) == ("convention", "convention_id")
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        assert field.examples, f"{model.__name__}.{name} has no example"
        # no personal data nor free text: ids, codes, tags, figures (``has_message`` is a flag)
        assert name not in ("name", "message", "text") and not name.endswith("_name"), name
        assert "email" not in name and "phone" not in name, name
    event = model.model_validate({name: f.examples[0] for name, f in model.model_fields.items()})
    assert model.model_validate(event.model_dump(mode="json")) == event
    assert event.aggregate_id == "evt-2023-melun"
