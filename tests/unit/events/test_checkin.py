"""Check-in: lists, entry and exit scans, nonces, offline late uploads, rooms, attendance figures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import services.events.domain.registrations as registrations_module
from contracts.events.registrations import ParticipantCheckedIn, ParticipantCheckedOut
from runtime.errors import Conflict, InvalidInput
from services.events.domain.catalogue import Admission
from services.events.domain.checkin import CheckinList, ScanOutcome, ScanReason, attendance
from services.events.domain.registrations import Registration, RegistrationStatus

from .test_catalogue import AT, END, START, convention, make_event, published
from .test_registrations import register

S = RegistrationStatus
DOOR = START - timedelta(minutes=8)  # 13:52 Paris


@pytest.fixture
def event():
    e = published()
    return e


@pytest.fixture
def entrance(event):
    return CheckinList.create("main", event=event, name="Entrée principale")


def confirmed(event, rid="reg-1", **kw) -> Registration:
    r = register(event, rid, **kw)
    r.pull_events()
    return r


def scan_in(r, lst, event, at=DOOR, nonce="n1", gate="Porte A", offline=False):
    return r.check_in(lst, event=event, gate=gate, at=at, nonce=nonce, offline=offline)


def scan_out(r, lst, event, at=END, nonce="x1", gate="Porte A", offline=False):
    return r.check_out(lst, event=event, gate=gate, at=at, nonce=nonce, offline=offline)


# -- lists ------------------------------------------------------------------------------------

def test_checkin_list_admits_its_categories_or_all():
    e = convention()
    buyers = CheckinList.create("buyers-desk", event=e, name="Accueil acheteurs", categories=["buyers"])
    assert buyers.admits("buyers") and not buyers.admits("suppliers")
    everyone = CheckinList.create("main", event=e, name="Entrée")
    assert everyone.admits("buyers") and everyone.admits("partners") and everyone.event_id == "evt-conv"


@pytest.mark.parametrize("kw, field", [
    (dict(list_id=""), "list_id"), (dict(name="  "), "name"), (dict(categories=["press"]), "categories.0"),
    (dict(categories=["buyers", "buyers"]), "categories.1"), (dict(categories="buyers"), "categories"),
    (dict(room="yes"), "room"),
])
def test_hostile_checkin_lists(kw, field):
    args = dict(list_id="l", name="Salle A")
    args.update(kw)
    list_id = args.pop("list_id")
    with pytest.raises(InvalidInput) as exc:
        CheckinList.create(list_id, event=convention(), **args)
    assert exc.value.field == field


# -- entry scans -------------------------------------------------------------------------------

def test_first_scan_checks_in_and_records_one_event(event, entrance):
    r = confirmed(event)
    res = scan_in(r, entrance, event)
    assert res.outcome is ScanOutcome.CHECKED_IN and res.ok and res.previous_at is None
    (ev,) = r.pull_events()
    assert isinstance(ev, ParticipantCheckedIn)
    assert (ev.list_id, ev.gate, ev.checked_in_at, ev.offline, ev.first_entry) == ("main", "Porte A", DOOR, False,
                                                                                   True)
    assert r.checked_in and r.first_checked_in_at == DOOR


def test_second_scan_says_when_and_where_and_changes_nothing(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event)
    r.pull_events()
    presence = r.presence.copy()
    res = scan_in(r, entrance, event, at=DOOR + timedelta(minutes=20), nonce="n2", gate="Porte B")
    assert res.outcome is ScanOutcome.ALREADY_CHECKED_IN and res.ok
    assert (res.previous_at, res.previous_gate) == (DOOR, "Porte A")
    assert res.message("Europe/Paris") == "already checked in at 13:52 at gate Porte A"
    assert res.message() == "already checked in at 13:52 at gate Porte A"  # given in Paris time
    assert not r.pull_events() and r.presence == presence


def test_a_replayed_nonce_returns_the_first_result_and_changes_nothing(event, entrance):
    r = confirmed(event)
    first = scan_in(r, entrance, event)
    r.pull_events()
    scan_out(r, entrance, event, at=DOOR + timedelta(hours=1), nonce="x1")
    r.pull_events()
    state = r.model_dump()
    # the same nonce again (a retry, or an offline batch uploaded twice), even with other parameters
    again = scan_in(r, entrance, event, at=DOOR + timedelta(hours=2), nonce="n1", gate="Porte Z", offline=True)
    assert again == first and again.outcome is ScanOutcome.CHECKED_IN
    assert r.check_out(entrance, event=event, gate="G", at=END, nonce="n1").outcome is ScanOutcome.CHECKED_IN
    assert not r.pull_events() and r.model_dump() == state


def test_a_replayed_invalid_scan_stays_invalid(event, entrance):
    r = register(published(requires_approval=True), admission=Admission.PENDING_APPROVAL)
    r.pull_events()
    e = published(requires_approval=True)
    first = scan_in(r, entrance, e)
    assert first.outcome is ScanOutcome.INVALID and first.reason is ScanReason.NOT_APPROVED and not first.ok
    r.approve(at=AT + timedelta(hours=1))
    r.pull_events()
    assert scan_in(r, entrance, e) == first and not r.pull_events()
    assert scan_in(r, entrance, e, nonce="n2").outcome is ScanOutcome.CHECKED_IN


def _cancelled(e):
    r = register(e)
    r.cancel("participant_request", at=AT)
    return r


def _waitlisted(e):
    return register(e, admission=Admission.WAITLISTED, seq=1)


def _offered(e):
    r = _waitlisted(e)
    r.offer_place(at=AT, hours=2)
    return r


def _expired(e):
    r = _offered(e)
    r.expire_offer(at=AT + timedelta(hours=2))
    return r


def _rejected(e):
    r = register(e, admission=Admission.PENDING_APPROVAL)
    r.reject("hors cible", at=AT)
    return r


@pytest.mark.parametrize("make, reason", [
    (_cancelled, ScanReason.CANCELLED), (_waitlisted, ScanReason.WAITLISTED), (_offered, ScanReason.OFFER_NOT_ACCEPTED),
    (_expired, ScanReason.OFFER_EXPIRED), (_rejected, ScanReason.REJECTED),
    (lambda e: register(e, admission=Admission.PENDING_APPROVAL), ScanReason.NOT_APPROVED),
])
def test_only_confirmed_registrations_check_in(event, entrance, make, reason):
    r = make(event)
    r.pull_events()
    for res in (scan_in(r, entrance, event), scan_out(r, entrance, event)):
        assert res.outcome is ScanOutcome.INVALID and res.reason is reason and res.message() == f"invalid: {reason}"
    assert not r.pull_events() and not r.presence


def test_wrong_category_and_wrong_event():
    e = convention()
    e.publish(at=AT)
    r = confirmed(e, category="suppliers")
    buyers = CheckinList.create("buyers-desk", event=e, name="Accueil acheteurs", categories=["buyers"])
    assert scan_in(r, buyers, e).reason is ScanReason.WRONG_CATEGORY
    other = CheckinList.create("main", event=make_event("evt-other"), name="Entrée")
    assert scan_in(r, other, e, nonce="n2").reason is ScanReason.WRONG_EVENT
    assert not r.pull_events() and not r.presence


@pytest.mark.parametrize("finish", ["cancel", "archive"])
def test_event_not_open(event, entrance, finish):
    r = confirmed(event)
    if finish == "cancel":
        event.cancel("Salle inondée", at=AT)
    else:
        event.mark_held(at=END)
        event.archive(at=END + timedelta(days=1))
    res = scan_in(r, entrance, event)
    assert res.outcome is ScanOutcome.INVALID and res.reason is ScanReason.EVENT_NOT_OPEN


def test_scans_accepted_once_registrations_are_closed_or_the_event_is_held(event, entrance):
    r = confirmed(event)
    event.close_registrations(at=AT)
    assert scan_in(r, entrance, event).outcome is ScanOutcome.CHECKED_IN
    event.mark_held(at=END)
    r2 = confirmed(event, "reg-2")
    assert scan_in(r2, entrance, event, offline=True).outcome is ScanOutcome.CHECKED_IN  # a late offline upload


@pytest.mark.parametrize("kw, field", [
    (dict(at=datetime(2023, 5, 9, 13, 52)), "at"), (dict(at=datetime(2201, 1, 1, tzinfo=timezone.utc)), "at"),
    (dict(at="13:52"), "at"), (dict(nonce=""), "nonce"), (dict(nonce="n" * 101), "nonce"), (dict(gate=" "), "gate"),
    (dict(offline="no"), "offline"),
])
def test_hostile_scans(event, entrance, kw, field):
    r = confirmed(event)
    with pytest.raises(InvalidInput) as exc:
        scan_in(r, entrance, event, **kw)
    assert exc.value.field == field and not r.scans


def test_the_event_must_be_the_registrations(event, entrance):
    r = confirmed(event)
    with pytest.raises(InvalidInput) as exc:
        scan_in(r, entrance, make_event("evt-2"))
    assert exc.value.field == "event_id"


def test_scans_kept_are_bounded(event, entrance, monkeypatch):
    monkeypatch.setattr(registrations_module, "MAX_SCANS", 3)
    r = confirmed(event)
    for i in range(3):
        scan_in(r, entrance, event, nonce=f"n{i}")
    assert scan_in(r, entrance, event, nonce="n0").outcome is ScanOutcome.CHECKED_IN  # replays still answer
    with pytest.raises(Conflict):
        scan_in(r, entrance, event, nonce="n9")


# -- exit scans, re-entry ----------------------------------------------------------------------

def test_check_out_and_back_in(event, entrance):
    r = confirmed(event)
    assert scan_out(r, entrance, event, nonce="x0").outcome is ScanOutcome.NOT_CHECKED_IN
    scan_in(r, entrance, event)
    r.pull_events()
    res = scan_out(r, entrance, event, at=DOOR + timedelta(hours=1))
    assert res.outcome is ScanOutcome.CHECKED_OUT and res.previous_at == DOOR
    (ev,) = r.pull_events()
    assert isinstance(ev, ParticipantCheckedOut) and ev.checked_out_at == DOOR + timedelta(hours=1)
    assert not ev.automatic
    assert scan_out(r, entrance, event, nonce="x2").outcome is ScanOutcome.NOT_CHECKED_IN and not r.pull_events()
    back = scan_in(r, entrance, event, at=DOOR + timedelta(hours=2), nonce="n2", gate="Porte B")
    assert back.outcome is ScanOutcome.CHECKED_IN and back.previous_at == DOOR
    (ev,) = r.pull_events()
    assert isinstance(ev, ParticipantCheckedIn) and not ev.first_entry
    p = r.presence["main"]
    assert (p.entries, p.first_in_at, p.in_at, p.in_gate, p.inside) == (2, DOOR, DOOR + timedelta(hours=2),
                                                                       "Porte B", True)


def test_cancel_refused_once_checked_in(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event)
    with pytest.raises(Conflict) as exc:
        r.cancel("participant_request", at=DOOR)
    assert exc.value.extra["current_state"] == "checked_in" and r.status is S.CONFIRMED


# -- offline devices and late uploads -------------------------------------------------------------

def test_late_offline_entry_earlier_than_the_recorded_one_keeps_the_earliest_and_records_nothing(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event, at=DOOR, gate="Porte A")
    r.pull_events()
    early = DOOR - timedelta(minutes=10)
    res = scan_in(r, entrance, event, at=early, nonce="offline-1", gate="Tablette 2", offline=True)
    assert res.outcome is ScanOutcome.ALREADY_CHECKED_IN and (res.previous_at, res.previous_gate) == (DOOR, "Porte A")
    assert not r.pull_events()
    p = r.presence["main"]
    assert (p.first_in_at, p.in_at, p.in_gate, p.entries) == (early, early, "Tablette 2", 1)
    assert r.first_checked_in_at == early


def test_late_offline_entry_from_a_past_visit_changes_no_visit(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event, at=DOOR)
    scan_out(r, entrance, event, at=DOOR + timedelta(hours=1))
    scan_in(r, entrance, event, at=DOOR + timedelta(hours=2), nonce="n2")
    r.pull_events()
    res = scan_in(r, entrance, event, at=DOOR + timedelta(minutes=30), nonce="off-1", offline=True)
    assert res.outcome is ScanOutcome.ALREADY_CHECKED_IN and not r.pull_events()
    p = r.presence["main"]
    assert (p.first_in_at, p.in_at, p.entries) == (DOOR, DOOR + timedelta(hours=2), 2)
    res = scan_in(r, entrance, event, at=DOOR - timedelta(minutes=5), nonce="off-2", offline=True)
    assert r.presence["main"].first_in_at == DOOR - timedelta(minutes=5)
    assert r.presence["main"].in_at == DOOR + timedelta(hours=2) and not r.pull_events()


def test_late_offline_exit_from_before_the_entry_changes_nothing(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event, at=DOOR)
    r.pull_events()
    res = scan_out(r, entrance, event, at=DOOR - timedelta(minutes=1), offline=True)
    assert res.outcome is ScanOutcome.NOT_CHECKED_IN and r.presence["main"].inside and not r.pull_events()


def test_offline_first_scan_is_flagged_in_the_event(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event, offline=True)
    (ev,) = r.pull_events()
    assert ev.offline is True


# -- rooms ------------------------------------------------------------------------------------

def test_entering_a_room_checks_out_of_the_other_room_not_of_the_entrance(event, entrance):
    room_a = CheckinList.create("room-a", event=event, name="Salle A", room=True)
    room_b = CheckinList.create("room-b", event=event, name="Salle B", room=True)
    r = confirmed(event)
    scan_in(r, entrance, event, at=DOOR)
    scan_in(r, room_a, event, at=DOOR + timedelta(minutes=10), nonce="a1", gate="Salle A")
    r.pull_events()
    res = scan_in(r, room_b, event, at=DOOR + timedelta(hours=1), nonce="b1", gate="Salle B")
    assert res.outcome is ScanOutcome.CHECKED_IN
    out, inn = r.pull_events()
    assert isinstance(out, ParticipantCheckedOut) and out.automatic and out.list_id == "room-a"
    assert out.checked_out_at == DOOR + timedelta(hours=1)
    assert isinstance(inn, ParticipantCheckedIn) and inn.list_id == "room-b" and not inn.first_entry
    assert r.presence["main"].inside and not r.presence["room-a"].inside and r.presence["room-b"].inside


# -- attendance -------------------------------------------------------------------------------

def test_attendance_and_no_shows_per_category():
    e = convention()
    e.publish(at=AT)
    main = CheckinList.create("main", event=e, name="Entrée")
    room = CheckinList.create("room", event=e, name="Salle", room=True)
    regs = [confirmed(e, f"b{i}", category="buyers") for i in range(4)]
    regs += [confirmed(e, f"s{i}", category="suppliers") for i in range(3)]
    cancelled = confirmed(e, "s-cancelled", category="suppliers")
    cancelled.cancel("participant_request", at=AT)
    waiting = register(e, "s-wait", category="suppliers", admission=Admission.WAITLISTED, seq=1)
    for r in regs[:3] + regs[4:5]:
        scan_in(r, main, e)
    scan_in(regs[0], room, e, nonce="r")
    scan_in(regs[6], room, e, nonce="r")
    report = attendance([*regs, cancelled, waiting], categories=["partners"])
    b, s, p = report.by_category["buyers"], report.by_category["suppliers"], report.by_category["partners"]
    assert (b.registered, b.checked_in, b.no_shows, b.attendance_rate, b.no_show_rate) == (4, 3, 1, 0.75, 0.25)
    assert (s.registered, s.checked_in, s.no_shows, s.attendance_rate) == (3, 2, 1, 0.6667)
    assert (p.registered, p.attendance_rate, p.no_show_rate) == (0, None, None)
    assert (report.total.registered, report.total.checked_in, report.total.no_shows) == (7, 5, 2)
    on_main = attendance(regs, list_id="main")
    assert on_main.by_category["suppliers"].checked_in == 1 and on_main.total.checked_in == 4
    assert attendance([]).total.attendance_rate is None


# -- boundaries and what each result carries (mutation testing: README "Mutation testing") --------

def test_a_scan_is_online_unless_said_and_an_offline_one_says_so_in_its_result(event, entrance):
    r = confirmed(event)
    res = r.check_in(entrance, event=event, gate="Porte A", at=DOOR, nonce="n1")
    (ev,) = r.pull_events()
    assert res.offline is False and ev.offline is False
    res = r.check_out(entrance, event=event, gate="Porte A", at=END, nonce="x1")
    (ev,) = r.pull_events()
    assert res.offline is False and ev.offline is False
    r2 = confirmed(event, "reg-2")
    assert scan_in(r2, entrance, event, offline=True).offline is True
    assert scan_out(r2, entrance, event, offline=True).offline is True


def test_an_exit_scan_of_someone_not_inside_tells_the_last_check_in(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event, at=DOOR, gate="Porte A")
    res = scan_out(r, entrance, event, at=DOOR + timedelta(hours=1), gate="Porte B")
    assert res.outcome is ScanOutcome.CHECKED_OUT and (res.previous_at, res.previous_gate) == (DOOR, "Porte A")
    again = scan_out(r, entrance, event, at=DOOR + timedelta(hours=2), nonce="x2", gate="Porte C")
    assert again.outcome is ScanOutcome.NOT_CHECKED_IN and (again.previous_at, again.previous_gate) == (DOOR, "Porte A")
    p = r.presence["main"]
    assert (p.inside, p.out_at, p.out_gate) == (False, DOOR + timedelta(hours=1), "Porte B")
    never = scan_out(confirmed(event, "reg-2"), entrance, event)
    assert never.outcome is ScanOutcome.NOT_CHECKED_IN and (never.previous_at, never.previous_gate) == (None, None)


def test_an_exit_at_the_instant_of_the_entry_checks_out(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event, at=DOOR)
    assert scan_out(r, entrance, event, at=DOOR).outcome is ScanOutcome.CHECKED_OUT


def test_a_re_entry_tells_the_previous_check_in_and_an_entry_at_the_exit_s_instant_is_the_past_visit(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event, at=DOOR, gate="Porte A")
    scan_out(r, entrance, event, at=DOOR + timedelta(hours=1), gate="Porte B")
    r.pull_events()
    same = scan_in(r, entrance, event, at=DOOR + timedelta(hours=1), nonce="n2", gate="Porte C")
    assert same.outcome is ScanOutcome.ALREADY_CHECKED_IN and not r.pull_events() and not r.presence["main"].inside
    back = scan_in(r, entrance, event, at=DOOR + timedelta(hours=2), nonce="n3", gate="Porte D")
    assert back.outcome is ScanOutcome.CHECKED_IN and (back.previous_at, back.previous_gate) == (DOOR, "Porte A")


def test_a_late_entry_at_the_recorded_instants_moves_nothing(event, entrance):
    r = confirmed(event)
    scan_in(r, entrance, event, at=DOOR, gate="Porte A")
    same = scan_in(r, entrance, event, at=DOOR, nonce="n2", gate="Porte B")  # the same instant, another gate
    assert same.outcome is ScanOutcome.ALREADY_CHECKED_IN
    assert (r.presence["main"].in_at, r.presence["main"].in_gate) == (DOOR, "Porte A")
    scan_out(r, entrance, event, at=DOOR + timedelta(hours=1))
    scan_in(r, entrance, event, at=DOOR + timedelta(hours=2), nonce="n3", gate="Porte C")
    # a late upload made at the instant of the last exit: the past visit's, not this one's
    scan_in(r, entrance, event, at=DOOR + timedelta(hours=1), nonce="n4", gate="Tablette", offline=True)
    p = r.presence["main"]
    assert (p.in_at, p.in_gate, p.first_in_at) == (DOOR + timedelta(hours=2), "Porte C", DOOR)


def test_an_automatic_check_out_leaves_the_room_at_the_new_room_s_gate(event, entrance):
    room_a = CheckinList.create("room-a", event=event, name="Salle A", room=True)
    room_b = CheckinList.create("room-b", event=event, name="Salle B", room=True)
    r = confirmed(event)
    scan_in(r, room_a, event, at=DOOR, nonce="a1", gate="Salle A")
    scan_in(r, room_b, event, at=DOOR + timedelta(hours=1), nonce="b1", gate="Salle B")
    a = r.presence["room-a"]
    assert (a.inside, a.out_at, a.out_gate) == (False, DOOR + timedelta(hours=1), "Salle B")


def test_a_scan_for_another_event_and_the_scan_limit_say_what_is_wrong(event, entrance, monkeypatch):
    r = confirmed(event)
    with pytest.raises(InvalidInput) as exc:
        scan_in(r, entrance, make_event("evt-2"))
    assert exc.value.detail == "registration reg-1 is for event evt-1, not evt-2"
    monkeypatch.setattr(registrations_module, "MAX_SCANS", 1)
    scan_in(r, entrance, event)
    with pytest.raises(Conflict) as exc:
        scan_in(r, entrance, event, nonce="n2")
    assert exc.value.detail == "registration reg-1 has 1 scans already: no more are kept"
    assert exc.value.extra == {"current_state": "too_many_scans", "expected_step": "none"}


# -- checkin.py's words and limits (mutation testing: README "Mutation testing") -------------------

def test_a_list_s_refusals_say_what_is_wrong():
    e = convention()
    for kw, detail in [(dict(categories="buyers"), "categories must be a list of category codes"),
                       (dict(categories=["press"]), "event evt-conv has no category 'press'"),
                       (dict(categories=["buyers", "buyers"]), "category 'buyers' is listed twice")]:
        with pytest.raises(InvalidInput) as exc:
            CheckinList.create("l", event=e, name="Salle A", **kw)
        assert exc.value.detail == detail
    assert CheckinList.create("l", event=e, name="n" * 200).name == "n" * 200
    with pytest.raises(InvalidInput) as exc:
        CheckinList.create("l", event=e, name="n" * 201)
    assert exc.value.field == "name"


def test_a_gate_may_be_named_in_100_characters_and_no_more(event, entrance):
    r = confirmed(event)
    assert scan_in(r, entrance, event, gate="g" * 100).gate == "g" * 100
    with pytest.raises(InvalidInput) as exc:
        scan_in(r, entrance, event, nonce="n2", gate="g" * 101)
    assert exc.value.field == "gate"


def test_each_result_s_message_for_the_device(event, entrance):
    r = confirmed(event)
    assert scan_in(r, entrance, event).message() == "checked in"
    again = scan_in(r, entrance, event, nonce="n2", gate="Porte B")
    assert again.message("UTC") == "already checked in at 11:52 at gate Porte A"
    assert scan_out(r, entrance, event).message() == "checked out"
    assert scan_out(r, entrance, event, nonce="x2").message() == "not checked in"


def test_attendance_counts_past_a_registration_that_is_not_confirmed_and_rounds_each_rate():
    e = convention()
    e.publish(at=AT)
    main = CheckinList.create("main", event=e, name="Entrée")
    cancelled = confirmed(e, "s-cancelled", category="suppliers")
    cancelled.cancel("participant_request", at=AT)
    regs = [confirmed(e, f"s{i}", category="suppliers") for i in range(3)]
    scan_in(regs[0], main, e)
    s = attendance([cancelled, *regs]).by_category["suppliers"]  # the one not confirmed comes first
    assert (s.registered, s.checked_in, s.attendance_rate, s.no_show_rate) == (3, 1, 0.3333, 0.6667)


def test_a_list_of_some_categories_admits_them():
    e = convention()
    e.publish(at=AT)
    buyers = CheckinList.create("buyers-desk", event=e, name="Accueil acheteurs", categories=["buyers"])
    assert scan_in(confirmed(e, category="buyers"), buyers, e).outcome is ScanOutcome.CHECKED_IN
