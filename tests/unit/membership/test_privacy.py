"""Erasure requests (membership's audit record) and the shared pieces of runtime.privacy."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.membership import PersonalDataErasureCompleted, PersonalDataErasureRequested
from contracts.privacy import subject_ref
from runtime.errors import InvalidInput
from runtime.privacy import ErasureConsumer, Subject, checked_email, is_empty
from services.membership.domain.privacy import ErasureRequest, ErasureStatus

AT = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
KEY = "k" * 32
REF = subject_ref("camille.martin@example.org", KEY)


def requested() -> ErasureRequest:
    request = ErasureRequest.request("era-1", subject_ref=REF, requested_by="dpo", at=AT,
                                     holders=("membership", "events"))
    return request


def test_a_request_records_its_event_with_the_subject_reference_only():
    request = requested()
    [event] = request.pull_events()
    assert isinstance(event, PersonalDataErasureRequested)
    assert event.subject_ref == REF and event.holders == ["membership", "events"] and event.requested_at == AT
    assert "dpo" not in event.model_dump_json()  # who asked stays in the audit record
    assert request.status is ErasureStatus.PENDING and request.waiting_for == ["membership", "events"]


def test_a_request_completes_once_every_holder_confirmed_and_only_then():
    request = requested()
    request.pull_events()
    assert request.confirm("events", {"registrations": 2}, at=AT, now=AT + timedelta(seconds=1)) is True
    assert request.status is ErasureStatus.PENDING and request.pull_events() == []
    assert request.waiting_for == ["membership"]
    assert request.confirm("membership", {"contacts": 1}, at=AT, now=AT + timedelta(seconds=2)) is True
    assert request.status is ErasureStatus.COMPLETE and request.completed_at == AT + timedelta(seconds=2)
    [done] = request.pull_events()
    assert isinstance(done, PersonalDataErasureCompleted)
    assert done.erased == {"events": {"registrations": 2}, "membership": {"contacts": 1}}


def test_confirmations_are_idempotent_and_only_from_the_holders_named():
    request = requested()
    request.pull_events()
    assert request.confirm("events", {"registrations": 2}, at=AT, now=AT) is True
    assert request.confirm("events", {"registrations": 0}, at=AT, now=AT) is False  # a second one changes nothing
    assert request.confirmations["events"].erased == {"registrations": 2}
    assert request.confirm("webhooks", {}, at=AT, now=AT) is False
    assert "webhooks" not in request.confirmations and request.status is ErasureStatus.PENDING


def test_a_request_needs_its_requester():
    with pytest.raises(InvalidInput) as caught:
        ErasureRequest.request("era-1", subject_ref=REF, requested_by=" ", at=AT)
    assert caught.value.field == "requested_by"
    assert caught.value.detail == "an erasure request needs its requester"


def test_the_subject_matches_its_addresses_in_any_case_and_nothing_else():
    subject = Subject(REF, KEY)
    assert subject.matches(" Camille.MARTIN@example.org ")
    assert not subject.matches("camille.martin@example.com")
    assert not subject.matches(None) and not subject.matches("")
    assert not Subject(REF, "another key, just as long as the other").matches("camille.martin@example.org")


@pytest.mark.parametrize("value", ["camille", "camille@", "@example.org", "camille@example", "a b@example.org"])
def test_bad_addresses_are_named(value):
    with pytest.raises(InvalidInput) as caught:
        checked_email(value, "email")
    assert caught.value.field == "email"


def test_addresses_are_normalised():
    assert checked_email("  Camille.Martin@Example.ORG ") == "camille.martin@example.org"


def test_an_erasure_consumer_is_a_holders_and_confirms_with_its_own_event():
    from contracts.events import EventsPersonalDataErased

    async def erase(tx, subject, at):
        return {}

    with pytest.raises(ValueError, match="HOLDERS"):
        ErasureConsumer("webhooks", erase, EventsPersonalDataErased)
    with pytest.raises(ValueError, match="not membership's"):
        ErasureConsumer("membership", erase, EventsPersonalDataErased)
    consumer = ErasureConsumer("events", erase, EventsPersonalDataErased)
    assert consumer.topics == ["membership.erasure-request"]


def test_an_export_is_empty_when_no_service_holds_anything():
    assert is_empty({"email": "x@example.org", "services": {"membership": {"contacts": []},
                                                           "events": {"registrations": [], "survey_answers": []}}})
    assert not is_empty({"email": "x@example.org", "services": {"membership": {"contacts": [{"id": "ct-1"}]}}})


async def test_the_consumer_erases_then_confirms_in_the_handlers_transaction():
    from types import SimpleNamespace

    from contracts.events import EventsPersonalDataErased

    seen = []

    async def erase(tx, subject, at):
        seen.append(subject)
        return {"registrations": 2, "survey_invitations": 0}

    consumer = ErasureConsumer("events", erase, EventsPersonalDataErased)
    consumer.key = KEY  # what bind() takes from the settings
    asked = []

    class StoredAnswers:  # the idempotency keys' collection: none names the person here
        async def delete_many(self, query, session=None):
            asked.append(query)
            return SimpleNamespace(deleted_count=0)

    tx = SimpleNamespace(events=[], db={"idempotency_keys": StoredAnswers()}, session=None)
    request = PersonalDataErasureRequested(request_id="era-1", subject_ref=REF, holders=["membership", "events"],
                                           requested_at=AT)
    await consumer.on_request(request, tx, None)
    [confirmation] = tx.events
    assert isinstance(confirmation, EventsPersonalDataErased)
    assert (confirmation.request_id, confirmation.service, confirmation.erased) == (
        "era-1", "events", {"registrations": 2, "survey_invitations": 0})
    assert seen[0].matches("camille.martin@example.org")
    assert asked == [{"email_refs": REF}], "the stored answers naming the person go in the same transaction"

    not_ours = request.model_copy(update={"request_id": "era-2", "holders": ["membership"]})
    await consumer.on_request(not_ours, tx, None)  # a request that does not name this holder
    assert len(tx.events) == 1 and len(seen) == 1


# -- the subject references stored beside each e-mail (runtime.privacy.EmailField, email_refs) ----------------

def test_every_contacts_address_gets_its_reference_beside_it_and_none_without_one():
    from runtime.privacy import EmailField, email_refs

    contacts = EmailField("organisations", "email", array="contacts")
    doc = {"_id": "org-1", "contacts": [{"id": "c1", "email": " Camille.Martin@Example.org"},
                                        {"id": "c2", "email": None}, {"id": "c3"}]}
    stored = email_refs(KEY, contacts).store(doc)
    assert [c.get("email_ref") for c in stored["contacts"]] == [REF, None, None]
    assert contacts.ref_path == "contacts.email_ref"
    assert contacts.lacking() == {"contacts": {"$elemMatch": {"email": {"$type": "string"},
                                                              "email_ref": {"$exists": False}}}}


def test_a_nested_address_gets_its_reference_beside_it():
    from runtime.privacy import EmailField, email_refs

    person = EmailField("registrations", "person.email")
    stored = email_refs(KEY, person).store({"_id": "reg-1", "person": {"name": "C", "email": "camille.martin@example.org"}})
    assert stored["person"]["email_ref"] == REF and person.ref_path == "person.email_ref" and person.top == "person"
    assert person.lacking() == {"person.email": {"$type": "string"}, "person.email_ref": {"$exists": False}}
    erased = email_refs(KEY, person).store({"_id": "reg-1", "person": {"name": None, "email": None}})
    assert erased["person"]["email_ref"] is None  # an erased address leaves no reference behind


def test_the_key_fingerprint_tells_keys_apart_without_being_the_key():
    from runtime.privacy import key_fingerprint

    assert key_fingerprint(KEY) == key_fingerprint(KEY) != key_fingerprint("another key, just as long as it")
    assert KEY not in key_fingerprint(KEY)


def test_a_top_level_address_gets_its_reference_beside_it():
    from runtime.privacy import EmailField, email_refs

    invitation = EmailField("survey_invitations", "email")
    stored = email_refs(KEY, invitation).store({"_id": "srv-1:pin-1", "email": "Camille.Martin@example.org"})
    assert stored["email_ref"] == REF and invitation.ref_path == "email_ref" and invitation.top == "email"
