"""Personal data in the events service (GDPR): the erasure of a person, and their export.

The events service holds two kinds of personal data: the registered people (a
:class:`~services.events.domain.registrations.Registration`'s ``person``: name, e-mail, phone)
and the partners invited to surveys (a survey invitation's name, e-mail and organisation).

- :func:`erase_people` — on an erasure request (:class:`runtime.privacy.ErasureConsumer`):
  anonymises the subject's registrations (:meth:`Registration.erase_personal_data`, a versioned
  save) and invitations; every record stays, so every count — an event's registrations and
  attendance, a survey's respondents, the observatory's figures — stays what it was.
- :func:`collect` — the events service's part of a person's export: their registrations (with
  each event's title), their survey invitations, and the survey answers given under them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.mongo import Database, Transaction, from_document, stored_instant
from runtime.privacy import Subject
from services.events.adapters.repository import EVENTS, REGISTRATIONS, SURVEY_INVITATIONS, SURVEY_RESPONSES
from services.events.domain.registrations import Registration

#: What an anonymised survey invitation keeps of its partner: nothing that names them.
_INVITATION_PERSONAL = ("name", "email", "email_key", "organisation")


async def _addresses(tx: Transaction, collection: str, field: str, subject: Subject) -> list[str]:
    """The distinct addresses of ``collection.field`` that are the subject's (hashed one by one:
    the request names the person by their subject reference only)."""
    pipeline = [{"$match": {field: {"$type": "string"}}}, {"$group": {"_id": f"${field}"}}]
    cursor = await tx.db[collection].aggregate(pipeline, session=tx.session)
    return [d["_id"] async for d in cursor if subject.matches(d["_id"])]


async def erase_people(tx: Transaction, subject: Subject, at: datetime) -> dict[str, int]:
    """Anonymise the subject's registrations and survey invitations; returns the counts."""
    registrations = 0
    for email in await _addresses(tx, REGISTRATIONS, "person.email", subject):
        docs = await tx.db[REGISTRATIONS].find({"person.email": email}, session=tx.session).to_list()
        for doc in docs:
            registration = from_document(Registration, doc)
            if registration.erase_personal_data(at=max(at, registration.registered_at)):
                await tx.save(REGISTRATIONS, registration)
                registrations += 1
    invitations = 0
    keys = await _addresses(tx, SURVEY_INVITATIONS, "email_key", subject)
    if keys:
        result = await tx.db[SURVEY_INVITATIONS].update_many(
            {"email_key": {"$in": keys}},
            {"$set": {**{k: None for k in _INVITATION_PERSONAL}, "erased_at": stored_instant(at)}},
            session=tx.session)
        invitations = result.modified_count
    return {"registrations": registrations, "survey_invitations": invitations}


async def collect(db: Database, email: str) -> dict[str, list[dict[str, Any]]]:
    """The subject's registrations, survey invitations and survey answers (``email`` normalised)."""
    regs = await db[REGISTRATIONS].find({"person.email": email}).sort("registered_at", 1).to_list()
    titles = {d["_id"]: d.get("title") async for d in db[EVENTS].find(
        {"_id": {"$in": sorted({r["event_id"] for r in regs})}}, {"title": 1})} if regs else {}
    registrations = []
    for doc in regs:
        registration = from_document(Registration, doc).model_dump(mode="json")
        registrations.append({"event_title": titles.get(doc["event_id"]), **registration})
    invitations = [{k: v for k, v in d.items() if k != "_id"}
                   async for d in db[SURVEY_INVITATIONS].find({"email_key": email}).sort("invited_at", 1)]
    respondents = [r["id"] for r in registrations] + [i["respondent_id"] for i in invitations]
    answers = [{k: v for k, v in d.items() if k != "_id"}
               async for d in db[SURVEY_RESPONSES].find({"respondent_id": {"$in": respondents}})] if respondents else []
    return {"registrations": registrations, "survey_invitations": invitations, "survey_answers": answers}
