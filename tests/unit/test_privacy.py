"""The shared pieces of runtime.privacy that the holders rely on, without a server: the subject
references brought up to date at start (``ensure_email_refs``), the export collected from every
holder (``export``), the addresses accepted, and the erasure consumer's confirmation. (Membership's
erasure requests and the stored form's references: tests/unit/membership/test_privacy.py.)"""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import httpx
import pytest

from contracts.privacy import HOLDERS, subject_ref
from runtime.errors import InvalidInput
from runtime.privacy import MAX_EMAIL, EmailField, ErasureConsumer, checked_email, ensure_email_refs, export
from runtime.settings import Settings
from tests.unit import memory_mongo

KEY = "k" * 32
OTHER_KEY = "another privacy key, just as long"
AT = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)


# -- the references of addresses stored before them, at start ------------------------------------------
class Database:
    """What ensure_email_refs uses of runtime.mongo.Database: the settings and the collections."""

    def __init__(self, key: str = KEY) -> None:
        self.settings = Settings(service_name="membership", privacy_key=key)
        self.collections: dict[str, memory_mongo.AsyncCollection] = {}
        self.client = memory_mongo.mongomock.MongoClient(tz_aware=True)

    def __getitem__(self, name: str) -> memory_mongo.AsyncCollection:
        if name not in self.collections:
            self.collections[name] = memory_mongo.AsyncCollection(self.client.db[name])
        return self.collections[name]

    def raw(self, name: str) -> list[dict]:
        return list(self.client.db[name].find({}, sort=[("_id", 1)]))


class Counting(memory_mongo.AsyncCollection):
    """Counts the documents a start reads (what it costs)."""

    read = 0

    def find(self, *args, **kwargs):
        cursor = super().find(*args, **kwargs)
        docs = list(cursor.cursor)
        self.read += len(docs)
        cursor.cursor = iter(docs)
        return cursor


CONTACTS = EmailField("organisations", "email", array="contacts")
INVITATIONS = EmailField("survey_invitations", "email")
PEOPLE = EmailField("registrations", "person.email")


def refs(doc: dict) -> list:
    return [c.get("email_ref") for c in doc.get("contacts", [])]


async def test_at_start_the_addresses_stored_without_a_reference_get_theirs_and_only_once():
    db = Database()
    db.client.db.organisations.insert_many([
        {"_id": "org-1", "version": 3, "contacts": [{"id": "c1", "email": "Camille@Example.org"}, {"id": "c2"}]},
        {"_id": "org-2", "version": 1, "contacts": [{"id": "c3", "email": "dominique@example.org"}]},
        {"_id": "org-3", "version": 1, "contacts": []},
        {"_id": "org-4", "version": 1},
    ])
    assert await ensure_email_refs(db, CONTACTS) == 2, "two documents held an address"
    one, two, three, four = db.raw("organisations")
    assert refs(one) == [subject_ref("camille@example.org", KEY), None] and one["version"] == 3
    assert refs(two) == [subject_ref("dominique@example.org", KEY)]
    assert three == {"_id": "org-3", "version": 1, "contacts": []} and four == {"_id": "org-4", "version": 1}
    assert "contacts.email_ref_1" in db.client.db.organisations.index_information(), "erasures query it"
    db.collections["organisations"] = counting = Counting(db.client.db.organisations)
    assert await ensure_email_refs(db, CONTACTS) == 0 and counting.read == 0, "the next start reads nothing"
    # a document written by the previous code (no reference) meanwhile: the next start gives it one
    db.client.db.organisations.insert_one({"_id": "org-5", "version": 1, "contacts": [{"email": "eve@example.org"}]})
    assert await ensure_email_refs(db, CONTACTS) == 1
    assert refs(db.raw("organisations")[4]) == [subject_ref("eve@example.org", KEY)]


async def test_a_new_privacy_key_recomputes_every_reference():
    db = Database()
    db.client.db.survey_invitations.insert_many([
        {"_id": "i-0", "email": "dominique@example.org"}, {"_id": "i-1", "email": "camille@example.org"},
        {"_id": "i-2", "email": None}, {"_id": "i-3"}])
    db.client.db.registrations.insert_many([{"_id": "r-0", "version": 5, "person": {"email": "eve@example.org"}},
                                            {"_id": "r-1", "version": 2, "person": {"name": "C", "email": "b@c.fr"}}])
    assert await ensure_email_refs(db, INVITATIONS) == 2 and await ensure_email_refs(db, PEOPLE) == 2
    # saved meanwhile by an instance already running with the next key: they have their reference
    db.client.db.survey_invitations.update_one({"_id": "i-0"}, {"$set": {
        "email_ref": subject_ref("dominique@example.org", OTHER_KEY)}})
    db.client.db.registrations.update_one({"_id": "r-0"}, {"$set": {
        "version": 6, "person": {"email": "eve@example.org", "email_ref": subject_ref("eve@example.org", OTHER_KEY)}}})
    rotated = Database(OTHER_KEY)
    rotated.client = db.client  # the same database, the service restarted with another PRIVACY_KEY
    assert await ensure_email_refs(rotated, INVITATIONS) == 1 and await ensure_email_refs(rotated, PEOPLE) == 1
    assert [d.get("email_ref") for d in rotated.raw("survey_invitations")] == [
        subject_ref("dominique@example.org", OTHER_KEY), subject_ref("camille@example.org", OTHER_KEY), None, None]
    saved, registration = rotated.raw("registrations")
    assert saved["version"] == 6 and saved["person"]["email_ref"] == subject_ref("eve@example.org", OTHER_KEY)
    assert registration["person"] == {"name": "C", "email": "b@c.fr", "email_ref": subject_ref("b@c.fr", OTHER_KEY)}
    assert registration["version"] == 2, "the aggregate did not change: its version stays"
    assert await ensure_email_refs(rotated, INVITATIONS) == 0 and await ensure_email_refs(rotated, PEOPLE) == 0
    assert await ensure_email_refs(db, PEOPLE) == 2, "and back to the first key: again"


class Racing(memory_mongo.AsyncCollection):
    """A collection where a save happens between ensure_email_refs' read of a document and its update."""

    def __init__(self, sync, save) -> None:
        super().__init__(sync)
        self.save = save

    def find(self, *args, **kwargs):
        cursor = super().find(*args, **kwargs)
        docs = list(cursor.cursor)  # read now; the save lands before the first update
        self.save(self.sync)
        cursor.cursor = iter(docs)
        return cursor


async def test_a_document_saved_while_its_reference_is_written_keeps_what_the_save_wrote():
    db = Database()
    db.client.db.registrations.insert_one({"_id": "r-1", "version": 1, "person": {"email": "old@example.org"}})
    db.client.db.survey_invitations.insert_one({"_id": "i-1", "email": "old@example.org"})
    new_ref = subject_ref("new@example.org", KEY)

    def save_registration(sync):  # an aggregate's save: its version moves, and it wrote its references
        sync.update_one({"_id": "r-1"}, {"$set": {"version": 2, "person": {"email": "new@example.org",
                                                                           "email_ref": new_ref}}})

    def save_invitation(sync):  # a raw document: its address changed (and its reference with it)
        sync.update_one({"_id": "i-1"}, {"$set": {"email": "new@example.org", "email_ref": new_ref}})

    db.collections["registrations"] = Racing(db.client.db.registrations, save_registration)
    db.collections["survey_invitations"] = Racing(db.client.db.survey_invitations, save_invitation)
    assert await ensure_email_refs(db, PEOPLE) == 0 and await ensure_email_refs(db, INVITATIONS) == 0
    (registration,) = db.raw("registrations")
    assert registration["person"]["email_ref"] == new_ref and registration["version"] == 2
    (invitation,) = db.raw("survey_invitations")
    assert invitation["email_ref"] == new_ref, "not the reference of the address read before the save"


# -- the addresses a request may name ------------------------------------------------------------------
def test_an_address_may_be_as_long_as_rfc_5321_allows_and_no_longer():
    local = "c" * (MAX_EMAIL - len("@example.org"))
    assert checked_email(f"{local}@example.org") == f"{local}@example.org"
    with pytest.raises(InvalidInput) as caught:
        checked_email(f"{local}c@example.org")
    assert caught.value.field == "query.email", "the route's query parameter, by default"
    assert "is not an e-mail address" in caught.value.detail
    with pytest.raises(InvalidInput):  # the domain is what follows the last @
        checked_email("camille@example.org@localhost")


# -- where a holder keeps addresses --------------------------------------------------------------------
def test_an_address_nested_deeper_gets_its_reference_beside_it_and_a_document_without_its_array_nothing():
    from runtime.privacy import email_refs

    deep = EmailField("registrations", "person.contact.email")
    stored = email_refs(KEY, deep).store({"_id": "r-1", "person": {"contact": {"email": "Camille@Example.org"}}})
    assert stored["person"]["contact"]["email_ref"] == subject_ref("camille@example.org", KEY)
    assert email_refs(KEY, CONTACTS).store({"_id": "org-1", "name": "Scop"}) == {"_id": "org-1", "name": "Scop"}


# -- the export of every holder ------------------------------------------------------------------------
def _holders(answers: dict[str, httpx.Response | Exception], asked: list) -> dict[str, httpx.AsyncClient]:
    def transport(service: str) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            asked.append((service, request.url.path, dict(request.url.params)))
            reply = answers[service]
            if isinstance(reply, Exception):
                raise reply
            return reply
        return httpx.MockTransport(answer)

    return {s: httpx.AsyncClient(transport=transport(s), base_url=f"http://{s}") for s in answers}


async def test_the_export_is_every_holders_part_for_the_normalised_address():
    asked: list = []
    parts = {"membership": {"contacts": [{"id": "c1"}]}, "events": {"registrations": [], "survey_answers": []}}
    clients = _holders({s: httpx.Response(200, json={"service": s, "data": parts[s]}) for s in HOLDERS}, asked)
    exported = await export("  Camille@Example.ORG ", clients)
    assert exported == {"email": "camille@example.org", "services": parts}
    assert sorted(asked) == sorted((s, "/personal-data", {"email": "camille@example.org"}) for s in HOLDERS)


async def test_a_holder_that_fails_fails_the_export_naming_it():
    ok = httpx.Response(200, json={"data": {}})
    refused = _holders({"membership": ok, "events": httpx.Response(403, text="needs the privacy role")}, [])
    with pytest.raises(RuntimeError, match="events answered 403 to /personal-data: needs the privacy role"):
        await export("camille@example.org", refused)
    away = _holders({"membership": httpx.ConnectError("connection refused"), "events": ok}, [])
    with pytest.raises(RuntimeError, match="membership did not answer /personal-data: connection refused"):
        await export("camille@example.org", away)
    with pytest.raises(ValueError, match="no client for the holders events$"):
        await export("camille@example.org", _holders({"membership": ok}, []))
    with pytest.raises(ValueError, match="no client for the holders events, membership$"):
        await export("camille@example.org", {})
    with pytest.raises(InvalidInput) as caught:
        await export("camille", _holders({s: ok for s in HOLDERS}, []))
    assert caught.value.field == "email"


# -- the erasure consumer --------------------------------------------------------------------------------
async def test_the_erasure_runs_in_the_request_s_transaction_and_counts_the_stored_answers_it_deleted():
    from contracts.events import EventsPersonalDataErased
    from contracts.membership import PersonalDataErasureRequested

    seen = []

    async def erase(tx, subject, at):
        seen.append((tx, at))
        return {"registrations": 1}

    class StoredAnswers:
        async def delete_many(self, query, session=None):
            return SimpleNamespace(deleted_count=2)

    consumer = ErasureConsumer("events", erase, EventsPersonalDataErased)
    consumer.key = KEY
    tx = SimpleNamespace(events=[], db={"idempotency_keys": StoredAnswers()}, session=None)
    ref = subject_ref("camille@example.org", KEY)
    handler = consumer.handlers[PersonalDataErasureRequested.event_type]  # what the consumer runs for a request
    await handler(PersonalDataErasureRequested(request_id="era-1", subject_ref=ref, holders=["events"],
                                               requested_at=AT), tx, None)
    [confirmation] = tx.events
    assert confirmation.erased == {"registrations": 1, "stored_answers": 2}
    assert seen == [(tx, confirmation.erased_at)], "the erasure runs in the handler's transaction, at the time confirmed"


def test_an_erasure_consumer_bound_to_a_service_makes_references_with_its_key_in_a_group_of_its_own():
    from contracts.events import EventsPersonalDataErased

    async def erase(tx, subject, at):
        return {}

    consumer = ErasureConsumer("events", erase, EventsPersonalDataErased)
    db, producer = SimpleNamespace(settings=Settings(service_name="events", privacy_key=OTHER_KEY)), object()
    assert consumer.bind(db, producer, max_attempts=7, retry_base=0.5, batch_size=3) is consumer
    assert consumer.key == OTHER_KEY
    assert consumer.group_id == "events.personal-data-erasure" and consumer.producer is producer
    assert (consumer.max_attempts, consumer.retry_base, consumer.batch_size) == (7, 0.5, 3), "the platform's settings"
