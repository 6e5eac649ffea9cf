"""Where the events service keeps its aggregates and read models in MongoDB, and their indexes.

Writes go through :class:`runtime.mongo.Transaction` (versioned save + outbox); this module
names the collections, declares their indexes and reads/writes the places counter.
"""
from __future__ import annotations

from pymongo import ASCENDING, DESCENDING

from runtime.mongo import Database, StoredForm, Transaction
from runtime.privacy import EmailField, email_refs, ensure_email_refs
from runtime.settings import Settings
from services.events.domain.catalogue import Occupancy

EVENTS = "events"
OCCUPANCY = "occupancy"  # one places counter per event (see services.events.domain.catalogue.Occupancy)
REGISTRATIONS = "registrations"
CHECKIN_LISTS = "checkin_lists"
SURVEYS = "surveys"
SURVEY_RESPONSES = "survey_responses"
SURVEY_INVITATIONS = "survey_invitations"
CONVENTIONS = "conventions"
MEETING_REQUESTS = "meeting_requests"
SCHEDULE_RUNS = "schedule_runs"
CONVENTION_PARTICIPANTS = "convention_participants"  # one ConventionParticipant each (id = registration id)
CONVENTION_DIRECTORY = "convention_directory"  # display data of agendas (organisation names): never in events
REQUEST_PAIRS = "meeting_request_pairs"  # one counter per pair: concurrent requests of a pair are serialised
AGENDA_VERSIONS = "agenda_versions"  # every published agenda version, frozen (calendars cancel what vanished)

#: The e-mails the service stores, each with its subject reference beside it (``…email_ref``): the
#: registered people's and the partners invited to surveys'.
REGISTRATION_EMAILS = EmailField(REGISTRATIONS, "person.email")
INVITATION_EMAILS = EmailField(SURVEY_INVITATIONS, "email")


def stored_forms(settings: Settings) -> dict[str, StoredForm]:
    """Registrations and survey invitations are stored with their people's subject references
    (an erasure request finds them by it). Invitations are written raw: ``tx.stored`` applies it."""
    return {REGISTRATIONS: email_refs(settings.privacy_key, REGISTRATION_EMAILS),
            SURVEY_INVITATIONS: email_refs(settings.privacy_key, INVITATION_EMAILS)}


async def ensure_indexes(db: Database) -> None:
    await db[EVENTS].create_index([("starts_at", ASCENDING), ("_id", ASCENDING)])
    await db[EVENTS].create_index([("kind", ASCENDING), ("starts_at", ASCENDING)])
    await db[EVENTS].create_index([("team", ASCENDING), ("starts_at", ASCENDING)])
    await db[EVENTS].create_index([("status", ASCENDING), ("starts_at", ASCENDING)])
    await db[REGISTRATIONS].create_index([("event_id", ASCENDING), ("status", ASCENDING),
                                          ("category", ASCENDING), ("waitlist_seq", ASCENDING)])
    await db[REGISTRATIONS].create_index([("event_id", ASCENDING), ("person.email", ASCENDING)])
    await db[REGISTRATIONS].create_index([("person.email", ASCENDING)])
    await db[REGISTRATIONS].create_index([("status", ASCENDING)])
    await db[CHECKIN_LISTS].create_index([("event_id", ASCENDING)])
    await db[SURVEYS].create_index([("event_id", ASCENDING)])
    await db[SURVEYS].create_index([("event_id", ASCENDING), ("audience", ASCENDING)], unique=True)  # one per audience
    await db[SURVEYS].create_index([("status", ASCENDING), ("closes_at", ASCENDING)])  # the closing sweeper
    await db[SURVEY_RESPONSES].create_index([("survey_id", ASCENDING)])
    await db[SURVEY_RESPONSES].create_index([("respondent_id", ASCENDING)])  # a person's answers (export, erasure)
    await db[SURVEY_INVITATIONS].create_index([("survey_id", ASCENDING), ("respondent_id", ASCENDING)], unique=True)
    await db[SURVEY_INVITATIONS].create_index([("survey_id", ASCENDING), ("answered_at", ASCENDING),
                                               ("position", ASCENDING)])  # who has not answered
    await db[SURVEY_INVITATIONS].create_index([("survey_id", ASCENDING), ("email_key", ASCENDING)])  # partners
    await db[MEETING_REQUESTS].create_index([("convention_id", ASCENDING), ("status", ASCENDING)])
    await db[MEETING_REQUESTS].create_index([("convention_id", ASCENDING), ("from_participant_id", ASCENDING),
                                             ("to_participant_id", ASCENDING)])
    await db[MEETING_REQUESTS].create_index([("convention_id", ASCENDING), ("to_participant_id", ASCENDING)])
    await db[MEETING_REQUESTS].create_index([("status", ASCENDING), ("forced", ASCENDING), ("expires_at", ASCENDING)])
    await db[SCHEDULE_RUNS].create_index([("convention_id", ASCENDING), ("requested_at", DESCENDING)])
    await db[SCHEDULE_RUNS].create_index([("status", ASCENDING), ("heartbeat_at", ASCENDING)])
    await db[CONVENTION_PARTICIPANTS].create_index([("convention_id", ASCENDING), ("role", ASCENDING)])
    await db[CONVENTION_PARTICIPANTS].create_index([("convention_id", ASCENDING), ("status", ASCENDING)])
    await db[AGENDA_VERSIONS].create_index([("convention_id", ASCENDING), ("version", ASCENDING)], unique=True)
    for field in (REGISTRATION_EMAILS, INVITATION_EMAILS):  # the index, and the references older documents lack
        await ensure_email_refs(db, field)


async def read_occupancy(tx: Transaction, event_id: str) -> Occupancy:
    doc = await tx.db[OCCUPANCY].find_one({"_id": event_id}, session=tx.session)
    if doc is None:
        return Occupancy()
    doc.pop("_id", None)
    return Occupancy.model_validate(doc)


async def write_occupancy(tx: Transaction, event_id: str, occupancy: Occupancy) -> None:
    """Replace the counter. Every registration of the event writes this one document in its
    transaction, so concurrent registrations conflict on it and the database retries all but one:
    they are serialised, and no two read the same free place."""
    await tx.db[OCCUPANCY].replace_one({"_id": event_id}, {"_id": event_id, **occupancy.model_dump(mode="json")},
                                       upsert=True, session=tx.session)
