"""Registrations: register with the admission decision, approval, cancellation, the waiting list and
its offers, the no-overselling property; and the event contracts of contracts.events.registrations."""
from __future__ import annotations

import inspect
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contracts.events.registrations as cer
from contracts.base import DomainEvent, event_class
from contracts.events.registrations import (PlaceOfferAccepted, PlaceOfferDeclined, PlaceOffered, PlaceOfferExpired,
                                            RegistrationApproved, RegistrationAwaitingApproval, RegistrationCancelled,
                                            RegistrationConfirmed, RegistrationRejected, RegistrationWaitlisted)
from runtime.errors import Conflict, InvalidInput
from services.events.domain.catalogue import Admission, Event, Occupancy
from services.events.domain.registrations import (CancellationReason, OfferOutcome, Registration,
                                                  RegistrationStatus, next_in_line, places_to_offer,
                                                  waiting_list, waitlist_position)

from .test_catalogue import AT, T0, convention, published

S = RegistrationStatus


def register(event: Event, rid: str = "reg-1", *, admission=Admission.CONFIRMED, seq=None, category="general",
             at=AT, **kw) -> Registration:
    fields = dict(name="Camille Martin", email="camille.martin@example.org", phone="+33 6 12 34 56 78",
                  organisation_id="org-5f1c2a")
    fields.update(kw)
    return Registration.register(rid, event=event, category=category, admission=admission, waitlist_seq=seq, at=at,
                                 **fields)


def waitlisted(event=None, rid="reg-1", seq=1, **kw) -> Registration:
    r = register(event or published(), rid, admission=Admission.WAITLISTED, seq=seq, **kw)
    r.pull_events()
    return r


def offered(hours=48, **kw) -> Registration:
    r = waitlisted(**kw)
    r.offer_place(at=AT + timedelta(days=1), hours=hours)
    r.pull_events()
    return r


def kinds(agg) -> list[type]:
    events = agg.pull_events()
    assert all(e.aggregate_id == agg.id for e in events)
    return [type(e) for e in events]


# -- register ---------------------------------------------------------------------------------

@pytest.mark.parametrize("admission, seq, status, event_type", [
    (Admission.CONFIRMED, None, S.CONFIRMED, RegistrationConfirmed),
    ("pending_approval", None, S.PENDING_APPROVAL, RegistrationAwaitingApproval),
    (Admission.WAITLISTED, 7, S.WAITLISTED, RegistrationWaitlisted),
])
def test_register_records_the_admission(admission, seq, status, event_type):
    r = register(published(), admission=admission, seq=seq)
    assert r.status is status and r.waitlist_seq == seq and r.event_id == "evt-1" and r.category == "general"
    assert r.person.email == "camille.martin@example.org" and r.organisation_id == "org-5f1c2a"
    assert [h.status for h in r.history] == [status] and r.history[0].at == AT
    (ev,) = r.pull_events()
    assert type(ev) is event_type and ev.registration_id == "reg-1" and ev.registered_at == AT
    assert (ev.event_id, ev.category, ev.organisation_id) == ("evt-1", "general", "org-5f1c2a")
    if seq:
        assert ev.waitlist_seq == 7


def test_no_personal_data_in_registration_events():
    r = register(published())
    r.cancel("participant_request", at=AT, detail="Camille a un empêchement")
    dumped = json.dumps([e.model_dump(mode="json") for e in r.pull_events()])
    for secret in ("Camille", "Martin", "camille.martin@example.org", "12 34", "empêchement"):
        assert secret not in dumped


@pytest.mark.parametrize("changes, field", [
    (dict(rid=""), "registration_id"),
    (dict(rid="x" * 101), "registration_id"),
    (dict(name="  "), "name"),
    (dict(name="x" * 201), "name"),
    (dict(email="not-an-email"), "email"),
    (dict(email=""), "email"),
    (dict(email="a@b"), "email"),
    (dict(phone="call me"), "phone"),
    (dict(organisation_id=""), "organisation_id"),
    (dict(category="press"), "category"),
    (dict(category=None), "category"),
    (dict(admission="vip"), "admission"),
    (dict(admission=Admission.WAITLISTED), "waitlist_seq"),
    (dict(admission=Admission.WAITLISTED, seq=0), "waitlist_seq"),
    (dict(admission=Admission.WAITLISTED, seq=-3), "waitlist_seq"),
    (dict(admission=Admission.WAITLISTED, seq=True), "waitlist_seq"),
    (dict(admission=Admission.CONFIRMED, seq=4), "waitlist_seq"),
    (dict(at=datetime(2023, 4, 2, 10)), "at"),
    (dict(at=datetime(2201, 4, 2, tzinfo=timezone.utc)), "at"),
])
def test_hostile_registration_input(changes, field):
    changes = dict(changes)  # the parameter is shared by every run of the test in this process (mutmut's)
    rid = changes.pop("rid", "reg-1")
    with pytest.raises(InvalidInput) as exc:
        register(published(), rid, **changes)
    assert exc.value.field == field


def test_phone_is_optional():
    assert register(published(), phone=None).person.phone is None


# -- approval ---------------------------------------------------------------------------------

def test_approve_and_reject():
    e = published(requires_approval=True)
    r = register(e, admission=Admission.PENDING_APPROVAL)
    r.pull_events()
    r.approve(at=AT + timedelta(hours=2))
    assert r.status is S.CONFIRMED and kinds(r) == [RegistrationApproved]
    r2 = register(e, "reg-2", admission=Admission.PENDING_APPROVAL)
    r2.pull_events()
    assert r2.reject("Hors public cible", at=AT) is True
    assert r2.status is S.REJECTED and r2.rejection_reason == "Hors public cible" and kinds(r2) == [RegistrationRejected]


def test_reject_needs_a_reason_and_approval_steps_need_pending():
    e = published(requires_approval=True)
    r = register(e, admission=Admission.PENDING_APPROVAL)
    with pytest.raises(InvalidInput) as exc:
        r.reject("  ", at=AT)
    assert exc.value.field == "reason" and r.status is S.PENDING_APPROVAL
    c = register(e, "reg-2")
    for step in (lambda: c.approve(at=AT), lambda: c.reject("x", at=AT)):
        with pytest.raises(Conflict) as exc:
            step()
        assert exc.value.extra["current_state"] == "confirmed"
        assert exc.value.extra["expected_step"] == "check in (or cancel)"


def test_commands_refuse_a_time_before_the_registration():
    r = register(published(requires_approval=True), admission=Admission.PENDING_APPROVAL)
    with pytest.raises(InvalidInput) as exc:
        r.approve(at=AT - timedelta(seconds=1))
    assert exc.value.field == "at"


# -- cancellation -----------------------------------------------------------------------------

@pytest.mark.parametrize("admission, seq, freed", [
    (Admission.CONFIRMED, None, True), (Admission.PENDING_APPROVAL, None, True), (Admission.WAITLISTED, 3, False)])
def test_cancel_says_whether_a_held_place_was_freed(admission, seq, freed):
    r = register(published(), admission=admission, seq=seq)
    r.pull_events()
    assert r.cancel("participant_request", at=AT + timedelta(hours=1), detail=" Empêchement ") is freed
    (ev,) = r.pull_events()
    assert isinstance(ev, RegistrationCancelled) and ev.freed_place is freed
    assert ev.reason is CancellationReason.PARTICIPANT_REQUEST and ev.previous_status.value == admission.value
    assert r.status is S.CANCELLED and r.cancellation_detail == "Empêchement"


def test_cancel_an_offered_place_frees_it_and_closes_the_offer():
    r = offered()
    assert r.cancel(CancellationReason.ORGANISER, at=AT + timedelta(days=1, hours=1)) is True
    assert r.offers[-1].outcome is OfferOutcome.CANCELLED and r.offer is None


@pytest.mark.parametrize("reason", ["bored", "", None])
def test_cancel_reason_is_a_code(reason):
    with pytest.raises(InvalidInput) as exc:
        register(published()).cancel(reason, at=AT)
    assert exc.value.field == "reason"


def test_cancel_twice_conflicts():
    r = register(published())
    r.cancel("organiser", at=AT)
    with pytest.raises(Conflict) as exc:
        r.cancel("organiser", at=AT)
    assert exc.value.extra["current_state"] == "cancelled"


# -- the waiting list and its offers -------------------------------------------------------------

def test_offer_place_holds_it_until_the_deadline_and_logs_who_got_it():
    r = waitlisted(seq=4)
    at = AT + timedelta(days=1)
    offer = r.offer_place(at=at, hours=48)
    assert r.status is S.OFFERED and offer.expires_at == at + timedelta(hours=48) and offer.number == 1
    assert r.offer == offer and r.holds_place
    (ev,) = r.pull_events()
    assert isinstance(ev, PlaceOffered) and (ev.registration_id, ev.waitlist_seq, ev.offer_number) == ("reg-1", 4, 1)
    assert (ev.offered_at, ev.expires_at) == (at, at + timedelta(hours=48))
    assert r.history[-1].status is S.OFFERED and "offer #1 until" in r.history[-1].note


@pytest.mark.parametrize("hours", [0, -1, 721, 10**9, True, 1.5, "48"])
def test_offer_validity_is_bounded(hours):
    r = waitlisted()
    with pytest.raises(InvalidInput) as exc:
        r.offer_place(at=AT, hours=hours)
    assert exc.value.field == "hours" and r.status is S.WAITLISTED


def test_an_offer_whose_deadline_passes_2200_is_refused():
    r = waitlisted(event=published(starts_at=datetime(2200, 12, 31, 8, tzinfo=timezone.utc),
                                   ends_at=datetime(2200, 12, 31, 9, tzinfo=timezone.utc)),
                   at=datetime(2200, 12, 30, tzinfo=timezone.utc))
    with pytest.raises(InvalidInput) as exc:
        r.offer_place(at=datetime(2200, 12, 31, 7, tzinfo=timezone.utc), hours=48)
    assert exc.value.field == "hours"


def test_offer_only_to_the_waitlisted():
    r = register(published())
    with pytest.raises(Conflict) as exc:
        r.offer_place(at=AT, hours=48)
    assert exc.value.extra["current_state"] == "confirmed"


def test_accept_offer_before_the_deadline_confirms():
    r = offered(hours=2)
    assert r.accept_offer(at=AT + timedelta(days=1, hours=1, minutes=59)) is S.CONFIRMED
    assert r.status is S.CONFIRMED and r.offers[-1].outcome is OfferOutcome.ACCEPTED
    (ev,) = r.pull_events()
    assert isinstance(ev, PlaceOfferAccepted) and ev.status is S.CONFIRMED


def test_accept_offer_for_an_event_with_approval_waits_for_approval():
    r = offered(event=published(requires_approval=True))
    assert r.accept_offer(at=AT + timedelta(days=1)) is S.PENDING_APPROVAL
    r.approve(at=AT + timedelta(days=2))
    assert r.status is S.CONFIRMED


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(days=30)])
def test_accepting_an_expired_offer_is_refused(late):
    r = offered(hours=2)
    with pytest.raises(Conflict) as exc:
        r.accept_offer(at=r.offer.expires_at + late)
    assert exc.value.extra["current_state"] == "offer_expired" and r.status is S.OFFERED
    assert not r.pull_events()


def test_expire_offer_only_once_it_has_run_out():
    r = offered(hours=2)
    with pytest.raises(Conflict) as exc:
        r.expire_offer(at=r.offer.expires_at - timedelta(seconds=1))
    assert "runs until" in exc.value.detail
    assert not r.offer_expired(r.offer.expires_at - timedelta(seconds=1)) and r.offer_expired(r.offer.expires_at)
    expires = r.offer.expires_at
    assert r.expire_offer(at=expires) is True
    assert r.status is S.OFFER_EXPIRED and r.offers[-1].outcome is OfferOutcome.EXPIRED
    (ev,) = r.pull_events()
    assert isinstance(ev, PlaceOfferExpired) and ev.expires_at == expires == ev.expired_at
    with pytest.raises(Conflict):
        r.accept_offer(at=expires)
    with pytest.raises(Conflict):
        r.expire_offer(at=expires)


def test_decline_offer_cancels_with_one_event():
    r = offered()
    assert r.decline_offer(at=AT + timedelta(days=1, hours=3)) is True
    assert r.status is S.CANCELLED and r.cancellation_reason is CancellationReason.OFFER_DECLINED
    assert kinds(r) == [PlaceOfferDeclined] and r.offers[-1].outcome is OfferOutcome.DECLINED


def test_history_tells_the_whole_story():
    r = offered()
    r.accept_offer(at=AT + timedelta(days=1, hours=1))
    assert [h.status for h in r.history] == [S.WAITLISTED, S.OFFERED, S.CONFIRMED]
    assert [h.at for h in r.history] == [AT, AT + timedelta(days=1), AT + timedelta(days=1, hours=1)]


def _waiting_set(e):
    regs = [waitlisted(e, "w5", seq=5), waitlisted(e, "w2", seq=2), waitlisted(e, "w9", seq=9, category="buyers"),
            waitlisted(e, "w3", seq=3, category="buyers"), register(e, "c1"), waitlisted(e, "w7", seq=7)]
    regs[-2].pull_events()
    return regs


def test_next_in_line_is_the_lowest_sequence_of_the_category():
    e = convention(categories=[{"code": "general", "quota": 2}, {"code": "buyers", "quota": 2}], capacity=None)
    e.publish(at=T0)
    regs = _waiting_set(e)
    assert next_in_line(regs, "general").id == "w2"
    assert next_in_line(regs, "buyers").id == "w3"
    assert next_in_line(regs).id == "w2"
    assert next_in_line([r for r in regs if r.category == "general" and r.id != "w2"], "general").id == "w5"
    assert next_in_line(regs, "partners") is None and next_in_line([]) is None
    assert [r.id for r in waiting_list(regs, "general")] == ["w2", "w5", "w7"]


def test_waitlist_position_counts_lower_sequences_of_the_same_category():
    e = convention(categories=[{"code": "general", "quota": 2}, {"code": "buyers", "quota": 2}], capacity=None)
    e.publish(at=T0)
    regs = _waiting_set(e)
    by_id = {r.id: r for r in regs}
    assert [waitlist_position(by_id[i], regs) for i in ("w2", "w5", "w7", "w3", "w9")] == [1, 2, 3, 1, 2]
    assert waitlist_position(by_id["c1"], regs) is None
    by_id["w2"].cancel("participant_request", at=AT)
    assert waitlist_position(by_id["w5"], regs) == 1 and waitlist_position(by_id["w2"], regs) is None


def test_places_to_offer_respects_quotas_total_capacity_and_order():
    e = convention(categories=[{"code": "general", "quota": 3}, {"code": "buyers", "quota": 3}], capacity=4)
    e.publish(at=T0)
    regs = _waiting_set(e)
    o = Occupancy.from_registrations(regs)  # general: 1 held, 3 waiting; buyers: 2 waiting
    assert [r.id for r in places_to_offer(e, o, regs)] == ["w2", "w3", "w5"]  # the room (4) binds
    e2 = convention(categories=[{"code": "general", "quota": 2}, {"code": "buyers", "quota": 5}], capacity=None)
    e2.publish(at=T0)
    regs2 = _waiting_set(e2)
    assert [r.id for r in places_to_offer(e2, Occupancy.from_registrations(regs2), regs2)] == ["w2", "w3", "w9"]
    assert places_to_offer(e2, Occupancy.from_registrations(regs2), regs2, at=e2.starts_at) == []
    assert len(places_to_offer(e2, Occupancy.from_registrations(regs2), regs2,
                               at=e2.starts_at - timedelta(seconds=1))) == 3
    e2.close_registrations(at=AT)
    assert places_to_offer(e2, Occupancy.from_registrations(regs2), regs2) == []


def test_offer_hours_stop_at_the_start_of_the_event():
    e = published(offer_validity_hours=48)
    assert e.offer_hours(e.starts_at - timedelta(days=5)) == 48
    assert e.offer_hours(e.starts_at - timedelta(hours=10, minutes=30)) == 10
    assert e.offer_hours(e.starts_at - timedelta(minutes=10)) == 1
    with pytest.raises(InvalidInput):
        e.offer_hours(datetime(2023, 5, 1))


# -- the no-overselling property --------------------------------------------------------------

OPS = st.lists(st.tuples(st.sampled_from(["register", "register", "register", "cancel", "accept", "decline",
                                          "expire", "approve", "tick"]),
                         st.integers(min_value=0, max_value=10**6), st.sampled_from(["a", "b"])),
               min_size=1, max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(qa=st.integers(1, 3), qb=st.integers(1, 3), cap=st.integers(0, 6), approval=st.booleans(), ops=OPS)
def test_no_overselling_and_freed_places_go_to_the_lowest_sequence(qa, qb, cap, approval, ops):
    capacity = None if cap == 0 or cap > qa + qb else cap
    e = convention(categories=[{"code": "a", "quota": qa}, {"code": "b", "quota": qb}], capacity=capacity,
                   requires_approval=approval, starts_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
                   ends_at=datetime(2024, 1, 1, 3, tzinfo=timezone.utc))
    e.publish(at=T0)
    occupancy = Occupancy()
    regs: list[Registration] = []
    now = T0 + timedelta(hours=1)

    def moved(r: Registration, before):
        nonlocal occupancy
        occupancy = occupancy.after(r.category, before, r.status)

    def make_offers():
        for r in places_to_offer(e, occupancy, regs, at=now):
            others = [x.waitlist_seq for x in regs if x.status is S.WAITLISTED and x.category == r.category]
            assert r.waitlist_seq == min(others), "the freed place goes to the lowest waiting sequence"
            assert r is next_in_line(regs, r.category)
            before = r.status
            r.offer_place(at=now, hours=2)
            moved(r, before)

    for op, pick, cat in ops:
        now += timedelta(minutes=30)
        if op == "register":
            decision = e.admission(cat, occupancy, in_good_standing=None, at=now)
            seq = occupancy.next_waitlist_seq if decision is Admission.WAITLISTED else None
            r = Registration.register(f"r{len(regs)}", event=e, name="P", email="p@example.org", category=cat,
                                      admission=decision, waitlist_seq=seq, at=now)
            regs.append(r)
            moved(r, None)
        elif op == "tick":
            now += timedelta(hours=1)
        else:
            wanted = {"cancel": (S.CONFIRMED, S.PENDING_APPROVAL, S.WAITLISTED, S.OFFERED),
                      "accept": (S.OFFERED,), "decline": (S.OFFERED,), "expire": (S.OFFERED,),
                      "approve": (S.PENDING_APPROVAL,)}[op]
            candidates = [r for r in regs if r.status in wanted]
            if candidates:
                r = candidates[pick % len(candidates)]
                before = r.status
                if op == "cancel":
                    assert r.cancel("participant_request", at=now) is (before in (S.CONFIRMED, S.PENDING_APPROVAL,
                                                                                  S.OFFERED))
                elif op == "approve":
                    r.approve(at=now)
                elif op == "decline":
                    assert r.decline_offer(at=now) is True
                elif op == "expire":
                    if now < r.offer.expires_at:
                        with pytest.raises(Conflict):
                            r.expire_offer(at=now)
                    else:
                        assert r.expire_offer(at=now) is True
                elif op == "accept":
                    if now >= r.offer.expires_at:
                        with pytest.raises(Conflict):
                            r.accept_offer(at=now)
                    else:
                        r.accept_offer(at=now)
                moved(r, before)
        # the scheduler: expire the offers that ran out, then offer freed places
        for r in regs:
            if r.offer_expired(now):
                before = r.status
                r.expire_offer(at=now)
                moved(r, before)
        make_offers()

        assert _same_counts(occupancy, regs), "the counter follows the registrations"
        for c in e.categories:
            held = sum(1 for r in regs if r.category == c.code and r.holds_place)
            assert held == occupancy.held(c.code) <= c.quota
        assert sum(1 for r in regs if r.holds_place) <= e.total_capacity
        assert places_to_offer(e, occupancy, regs, at=now) == [], "no place stays free while someone waits"
        seqs = [r.waitlist_seq for r in regs if r.waitlist_seq is not None]
        assert len(seqs) == len(set(seqs)) and occupancy.next_waitlist_seq > max(seqs, default=0)


def _same_counts(occupancy: Occupancy, regs: list[Registration]) -> bool:
    recount = Occupancy.from_registrations(regs)
    return all(occupancy.held(c) == recount.held(c) and occupancy.waiting(c) == recount.waiting(c)
               for c in set(occupancy.categories) | set(recount.categories))


# -- contracts ----------------------------------------------------------------------------------

EVENT_MODELS = [obj for _, obj in inspect.getmembers(cer, inspect.isclass)
                if issubclass(obj, DomainEvent) and "event_type" in obj.__dict__]

EXPECTED = {
    "event": {"event-scheduled", "event-updated", "event-published", "event-registrations-closed", "event-held",
              "event-archived", "event-cancelled"},
    "registration": {"registration-confirmed", "registration-awaiting-approval", "registration-approved",
                     "registration-rejected", "registration-waitlisted", "place-offered", "place-offer-accepted",
                     "place-offer-declined", "place-offer-expired", "registration-cancelled",
                     "participant-checked-in", "participant-checked-out"},
    "survey": {"survey-opened", "survey-respondents-invited", "survey-answer-submitted", "survey-answer-updated",
               "survey-reminder-sent", "survey-closed"},
}
ID_FIELD = {"event": "event_id", "registration": "registration_id", "survey": "survey_id"}


def test_the_expected_event_set():
    got: dict[str, set[str]] = {}
    for model in EVENT_MODELS:
        got.setdefault(model.aggregate_type, set()).add(model.event_type.split(".")[3])
    assert got == EXPECTED
    assert set(cer.__all__) >= {m.__name__ for m in EVENT_MODELS}


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_every_event_is_versioned_and_keyed_by_its_aggregate(model):
    assert model.event_type.startswith("org.cress.events.") and model.event_type.endswith(".v1")
    assert event_class(model.event_type) is model
    assert model.aggregate_id_field == ID_FIELD[model.aggregate_type]


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_every_field_is_documented_with_examples(model):
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        assert field.examples, f"{model.__name__}.{name} has no example"


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_examples_build_a_valid_event_that_round_trips(model):
    data = {name: field.examples[0] for name, field in model.model_fields.items()}
    event = model.model_validate(data)
    assert model.model_validate(event.model_dump(mode="json")) == event
    assert event.aggregate_id == str(data[model.aggregate_id_field])
    model.model_json_schema()


PERSONAL = ("email", "phone", "name", "first_name", "last_name", "text", "comment", "detail")


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_no_personal_data_or_free_text_fields(model):
    assert not [f for f in model.model_fields if any(p in f for p in PERSONAL)]


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_instants_must_be_timezone_aware(model):
    data = {name: field.examples[0] for name, field in model.model_fields.items()}
    at_fields = [n for n in data if n.endswith("_at") and data[n] is not None]
    assert at_fields
    naive = {**data, at_fields[0]: "2023-05-09T14:00:00"}
    with pytest.raises(ValueError):
        model.model_validate(naive)


def test_erasing_personal_data_anonymises_the_person_and_keeps_the_registration():
    r = register(published())
    r.pull_events()
    r.cancel("other", at=AT + timedelta(hours=1), detail="Camille est malade")
    r.pull_events()
    kept = r.model_dump(exclude={"person", "cancellation_detail"})
    assert r.erase_personal_data(at=AT + timedelta(days=1)) is True
    assert (r.person.name, r.person.email, r.person.phone) == (None, None, None)
    assert r.person.erased_at == AT + timedelta(days=1)
    assert r.cancellation_detail is None  # a free text that may name the person
    assert r.model_dump(exclude={"person", "cancellation_detail"}) == kept  # status, history, offers, scans stay
    assert r.pending_events == ()  # the service's personal-data-erased confirms it, not a registration event
    assert r.erase_personal_data(at=AT + timedelta(days=2)) is False  # once
    assert r.person.erased_at == AT + timedelta(days=1)


# -- each step's refusal, note and times (mutation testing: README "Mutation testing") ------------

def _pending() -> Registration:
    r = register(published(requires_approval=True), admission=Admission.PENDING_APPROVAL)
    r.pull_events()
    return r


@pytest.mark.parametrize("step, action", [
    (lambda r: r.approve(at=AT), "approve the registration"),
    (lambda r: r.reject("x", at=AT), "reject the registration"),
    (lambda r: r.offer_place(at=AT, hours=2), "offer a place"),
    (lambda r: r.accept_offer(at=AT), "accept the offer"),
    (lambda r: r.decline_offer(at=AT), "decline the offer"),
    (lambda r: r.expire_offer(at=AT), "expire the offer"),
])
def test_a_step_out_of_order_names_itself_the_state_and_the_next_step(step, action):
    r = register(published())
    with pytest.raises(Conflict) as exc:
        step(r)
    assert exc.value.detail == f"cannot {action}: registration reg-1 is confirmed; expected step: check in (or cancel)"
    assert exc.value.extra == {"current_state": "confirmed", "expected_step": "check in (or cancel)"}


def test_cancelling_twice_names_the_step_and_that_nothing_is_left():
    r = register(published())
    r.cancel("organiser", at=AT)
    with pytest.raises(Conflict) as exc:
        r.cancel("organiser", at=AT)
    assert exc.value.detail == ("cannot cancel the registration: registration reg-1 is cancelled; "
                                "expected step: none: the registration is cancelled")


def test_accepting_a_run_out_offer_says_until_when_and_to_expire_it():
    r = offered(hours=2)
    expires = r.offer.expires_at
    with pytest.raises(Conflict) as exc:
        r.accept_offer(at=expires)
    assert exc.value.detail == f"cannot accept the offer of registration reg-1: it expired at {expires.isoformat()}"
    assert exc.value.extra == {"current_state": "offer_expired", "expected_step": "expire the offer"}


def test_expiring_a_running_offer_says_until_when_and_what_to_do_meanwhile():
    r = offered(hours=2)
    expires = r.offer.expires_at
    with pytest.raises(Conflict) as exc:
        r.expire_offer(at=expires - timedelta(seconds=1))
    assert exc.value.detail == f"the offer of registration reg-1 runs until {expires.isoformat()}"
    assert exc.value.extra == {"current_state": "offered", "expected_step": "accept or decline the offer, or expire "
                                                                              "it once it has run out (or cancel)"}


def test_a_rejection_reason_and_a_cancellation_detail_may_hold_2000_characters_and_no_more():
    r = _pending()
    with pytest.raises(InvalidInput) as exc:
        r.reject("x" * 2001, at=AT)
    assert exc.value.field == "reason"
    assert r.reject("x" * 2000, at=AT) is True and len(r.rejection_reason) == 2000
    c = register(published(), "reg-2")
    with pytest.raises(InvalidInput) as exc:
        c.cancel("other", at=AT, detail="y" * 2001)
    assert exc.value.field == "detail"
    assert c.cancel("other", at=AT, detail="y" * 2000) is True and len(c.cancellation_detail) == 2000


def test_each_step_writes_its_note_and_time_in_the_history():
    notes = lambda r: [(h.status, h.at, h.note) for h in r.history]  # noqa: E731
    a = _pending()
    a.approve(at=AT + timedelta(hours=1))
    assert notes(a) == [(S.PENDING_APPROVAL, AT, None), (S.CONFIRMED, AT + timedelta(hours=1), "approved")]
    b = _pending()
    b.reject("Hors public cible", at=AT + timedelta(hours=2))
    assert notes(b)[1:] == [(S.REJECTED, AT + timedelta(hours=2), "rejected")]
    c = register(published())
    c.cancel("participant_request", at=AT + timedelta(hours=3))
    assert notes(c)[1:] == [(S.CANCELLED, AT + timedelta(hours=3), "cancelled: participant_request")]
    w = waitlisted(seq=12)
    assert notes(w) == [(S.WAITLISTED, AT, "waiting list #12")]
    day = AT + timedelta(days=1)
    expires = day + timedelta(hours=48)
    for end, status, note in [("accept_offer", S.CONFIRMED, "offer #1 accepted"),
                              ("decline_offer", S.CANCELLED, "offer #1 declined")]:
        o = offered()
        getattr(o, end)(at=day + timedelta(hours=5))
        assert notes(o) == [(S.WAITLISTED, AT, "waiting list #1"), (S.OFFERED, day, f"offer #1 until {expires.isoformat()}"),
                            (status, day + timedelta(hours=5), note)]
    x = offered()
    x.expire_offer(at=expires + timedelta(minutes=3))
    assert notes(x)[-1] == (S.OFFER_EXPIRED, expires + timedelta(minutes=3), "offer #1 expired")


@pytest.mark.parametrize("end, outcome", [
    (lambda r, at: r.accept_offer(at=at), OfferOutcome.ACCEPTED),
    (lambda r, at: r.decline_offer(at=at), OfferOutcome.DECLINED),
    (lambda r, at: r.cancel("organiser", at=at), OfferOutcome.CANCELLED),
    (lambda r, at: r.expire_offer(at=r.offers[-1].expires_at + timedelta(hours=1)), OfferOutcome.EXPIRED),
])
def test_an_offer_ends_with_its_outcome_and_time_and_its_event_names_when_it_was_made(end, outcome):
    r = offered()
    day = AT + timedelta(days=1)
    end(r, day + timedelta(hours=1))
    (offer,) = r.offers
    ended = offer.expires_at + timedelta(hours=1) if outcome is OfferOutcome.EXPIRED else day + timedelta(hours=1)
    assert (offer.number, offer.offered_at, offer.outcome, offer.ended_at) == (1, day, outcome, ended)
    (ev,) = r.pull_events()
    assert ev.registration_id == "reg-1" and ev.organisation_id == "org-5f1c2a"
    if outcome is not OfferOutcome.CANCELLED:
        assert ev.offered_at == day
    stamp = {OfferOutcome.ACCEPTED: "accepted_at", OfferOutcome.DECLINED: "declined_at",
             OfferOutcome.EXPIRED: "expired_at", OfferOutcome.CANCELLED: "cancelled_at"}[outcome]
    assert getattr(ev, stamp) == ended



def test_places_to_offer_refuses_a_time_without_its_offset_and_skips_a_category_the_event_lacks():
    e = published()
    with pytest.raises(InvalidInput) as exc:
        places_to_offer(e, Occupancy(), [], at=datetime(2023, 5, 1, 9))
    assert exc.value.field == "at"
    conv = convention()
    conv.publish(at=T0)
    stray = waitlisted(conv, "stray", seq=1, category="buyers")  # a category `e` does not have
    assert [r.id for r in places_to_offer(e, Occupancy(), [stray, waitlisted(e, "w2", seq=2)])] == ["w2"]


def test_the_waiting_list_is_ordered_by_sequence_not_by_registration_time_or_id():
    e = published()
    late_low = waitlisted(e, "a-late", seq=3, at=AT + timedelta(hours=2))
    early_high = waitlisted(e, "b-early", seq=8, at=AT)
    assert [r.id for r in waiting_list([early_high, late_low], "general")] == ["a-late", "b-early"]
    z_low = waitlisted(e, "z", seq=1, at=AT + timedelta(hours=3))
    assert next_in_line([early_high, late_low, z_low]).id == "z"


def test_a_command_at_a_time_without_its_offset_or_before_the_registration_says_which():
    r = _pending()
    with pytest.raises(InvalidInput) as exc:
        r.approve(at=datetime(2023, 5, 1, 9))
    assert exc.value.field == "at"
    with pytest.raises(InvalidInput) as exc:
        r.approve(at=AT - timedelta(seconds=1))
    assert exc.value.detail == (f"at {(AT - timedelta(seconds=1)).isoformat()} is before the registration "
                                f"({AT.isoformat()})")


def test_cancelling_after_check_in_says_to_check_out_and_a_cancellation_keeps_its_reason():
    from services.events.domain.checkin import CheckinList
    e = published()
    r = register(e)
    r.check_in(CheckinList.create("main", event=e, name="Entrée"), event=e, gate="Porte A", at=AT, nonce="n1")
    with pytest.raises(Conflict) as exc:
        r.cancel("organiser", at=AT)
    assert exc.value.detail == "cannot cancel registration reg-1: the participant has checked in"
    assert exc.value.extra == {"current_state": "checked_in", "expected_step": "check out (the registration stays)"}
    c = register(e, "reg-2")
    c.cancel("organiser", at=AT)
    assert c.cancellation_reason is CancellationReason.ORGANISER


def test_an_offer_may_last_one_hour_and_a_category_that_is_no_code_is_named():
    r = waitlisted()
    assert r.offer_place(at=AT, hours=1).expires_at == AT + timedelta(hours=1)
    with pytest.raises(InvalidInput) as exc:
        register(published(), category=7)
    assert exc.value.detail == "category must be a code (got 7)"


def test_a_waiting_list_sequence_is_asked_of_the_waitlisted_only_and_runs_to_a_trillion():
    with pytest.raises(InvalidInput) as exc:
        register(published(), admission=Admission.WAITLISTED)
    assert exc.value.detail == "a waitlisted registration needs its waiting-list sequence number"
    with pytest.raises(InvalidInput) as exc:
        register(published(), seq=4)
    assert exc.value.detail == "only a waitlisted registration has a waiting-list sequence number"
    assert register(published(), admission=Admission.WAITLISTED, seq=10**12).waitlist_seq == 10**12
    with pytest.raises(InvalidInput) as exc:
        register(published(), admission=Admission.WAITLISTED, seq=10**12 + 1)
    assert exc.value.field == "waitlist_seq"
