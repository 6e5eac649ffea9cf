"""Personal data in the events service (GDPR): the erasure of a person, and their export.

The events service holds two kinds of personal data: the registered people (a
:class:`~services.events.domain.registrations.Registration`'s ``person``: name, e-mail, phone)
and the partners invited to surveys (a survey invitation's name, e-mail and organisation).

- :func:`erase_people` — on an erasure request (:class:`runtime.privacy.ErasureConsumer`):
  anonymises the subject's registrations (:meth:`Registration.erase_personal_data`, a versioned
  save) and invitations, and erases the free text of their survey answers
  (:meth:`SurveyResponse.erase_free_text`: marks, yes/no and choices stay); every record stays,
  so every count — an event's registrations and attendance, a survey's respondents and results,
  the observatory's figures — stays what it was.
- :func:`collect` — the events service's part of a person's export: their registrations (with
  each event's title), their survey invitations, and the survey answers given under them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.mongo import Database, Transaction, from_document, stored_instant
from runtime.privacy import Subject
from services.events.adapters.repository import (EVENTS, INVITATION_EMAILS, REGISTRATION_EMAILS, REGISTRATIONS,
                                                 SURVEY_INVITATIONS, SURVEY_RESPONSES, SURVEYS)
from services.events.domain.registrations import Registration
from services.events.domain.surveys import Survey, SurveyResponse

#: What an anonymised survey invitation keeps of its partner: nothing that names them.
_INVITATION_PERSONAL = ("name", "email", "email_key", "email_ref", "organisation")


async def erase_people(tx: Transaction, subject: Subject, at: datetime) -> dict[str, int]:
    """Anonymise the subject's registrations and survey invitations, and erase the free text of
    their survey answers; returns the counts.

    Found by indexed queries on the subject references stored beside the addresses
    (:data:`~services.events.adapters.repository.REGISTRATION_EMAILS`, ``INVITATION_EMAILS``); their
    answers by respondent (a registration id, a partner invitee id)."""
    docs = await tx.db[REGISTRATIONS].find({REGISTRATION_EMAILS.ref_path: subject.ref},
                                           session=tx.session).to_list()
    invited = await tx.db[SURVEY_INVITATIONS].find({INVITATION_EMAILS.ref_path: subject.ref}, {"respondent_id": 1},
                                                   session=tx.session).to_list()
    respondents = [d["_id"] for d in docs] + [d["respondent_id"] for d in invited]
    registrations = 0
    for doc in docs:
        registration = from_document(Registration, doc)
        if registration.erase_personal_data(at=max(at, registration.registered_at)):
            await tx.save(REGISTRATIONS, registration)
            registrations += 1
    invitations = 0
    if invited:
        result = await tx.db[SURVEY_INVITATIONS].update_many(
            {"_id": {"$in": [d["_id"] for d in invited]}},
            {"$set": {**{k: None for k in _INVITATION_PERSONAL}, "erased_at": stored_instant(at)}},
            session=tx.session)
        invitations = result.modified_count
    return {"registrations": registrations, "survey_invitations": invitations,
            "survey_answers": await _erase_free_text(tx, respondents, at)}


async def _erase_free_text(tx: Transaction, respondents: list[str], at: datetime) -> int:
    """Erase the free text of these respondents' survey answers (the marks and choices stay: the
    results and the observatory's figures keep); returns how many answers had text erased."""
    if not respondents:
        return 0
    surveys: dict[str, Survey] = {}
    erased = 0
    for doc in await tx.db[SURVEY_RESPONSES].find({"respondent_id": {"$in": respondents}},
                                                  session=tx.session).to_list():
        response = from_document(SurveyResponse, doc)
        if response.survey_id not in surveys:
            surveys[response.survey_id] = await tx.get(SURVEYS, Survey, response.survey_id)
        if response.erase_free_text(surveys[response.survey_id], at=at):
            await tx.save(SURVEY_RESPONSES, response)
            erased += 1
    return erased


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
