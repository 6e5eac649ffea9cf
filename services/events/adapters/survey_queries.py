"""Read side of the surveys: surveys, invitations (who has not answered), responses, results.

Reads go to the collections directly, outside any transaction. Personal data: participants'
names and e-mails are read from their registrations, partners' from their invitations; the
callers decide who sees them (staff only).
"""
from __future__ import annotations

from typing import Any

from runtime.mongo import Database, from_document
from services.events.adapters.repository import REGISTRATIONS, SURVEY_INVITATIONS, SURVEY_RESPONSES, SURVEYS
from services.events.domain.surveys import (QuestionType, Survey, SurveyAudience, SurveyResponse, SurveyResults,
                                            response_id, results_by_audience, survey_results)

_PERSONAL = ("name", "email", "organisation")


async def get_survey(db: Database, survey_id: str) -> Survey:
    return await db.get(SURVEYS, Survey, survey_id)


async def surveys_of_event(db: Database, event_id: str) -> list[Survey]:
    docs = await db[SURVEYS].find({"event_id": event_id}).sort([("audience", 1), ("_id", 1)]).to_list()
    return [from_document(Survey, d) for d in docs]


async def response_counts(db: Database, survey_ids: list[str]) -> dict[str, int]:
    counts = {sid: 0 for sid in survey_ids}
    async for doc in db[SURVEY_RESPONSES].find({"survey_id": {"$in": survey_ids}}, {"survey_id": 1}):
        counts[doc["survey_id"]] = counts.get(doc["survey_id"], 0) + 1
    return counts


async def find_response(db: Database, survey_id: str, respondent_id: str) -> SurveyResponse | None:
    doc = await db[SURVEY_RESPONSES].find_one({"_id": response_id(survey_id, respondent_id)})
    return None if doc is None else from_document(SurveyResponse, doc)


async def find_invitation(db: Database, survey_id: str, respondent_id: str) -> dict[str, Any] | None:
    return await db[SURVEY_INVITATIONS].find_one({"_id": response_id(survey_id, respondent_id)})


async def responses(db: Database, survey_ids: list[str]) -> list[SurveyResponse]:
    return [from_document(SurveyResponse, d) async for d in db[SURVEY_RESPONSES].find(
        {"survey_id": {"$in": survey_ids}})]


async def results(db: Database, survey: Survey) -> SurveyResults:
    return survey_results(survey, await responses(db, [survey.id]))


async def event_results(db: Database, event_id: str) -> dict[SurveyAudience, SurveyResults]:
    surveys = await surveys_of_event(db, event_id)
    return results_by_audience(surveys, await responses(db, [s.id for s in surveys]))


async def with_people(db: Database, invitations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Invitations with the respondent's name and e-mail: a partner's from the invitation, a
    participant's from the registration."""
    participants = [i["respondent_id"] for i in invitations if i["audience"] == SurveyAudience.PARTICIPANTS.value]
    people = {d["_id"]: d.get("person") or {} async for d in db[REGISTRATIONS].find(
        {"_id": {"$in": participants}}, {"person": 1})} if participants else {}
    out = []
    for inv in invitations:
        if inv["audience"] == SurveyAudience.PARTICIPANTS.value:
            person = people.get(inv["respondent_id"], {})
            inv = {**inv, "name": person.get("name"), "email": person.get("email")}
        out.append(inv)
    return out


def without_people(invitations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in inv.items() if k not in _PERSONAL} for inv in invitations]


async def invitations(db: Database, survey_id: str, *, unanswered: bool = False,
                      respondent_ids: list[str] | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """A page of a survey's invitations in invitation order (``unanswered``: those with no answer)."""
    query: dict[str, Any] = {"survey_id": survey_id}
    if unanswered:
        query["answered_at"] = None
    if respondent_ids is not None:
        query["respondent_id"] = {"$in": respondent_ids}
    return await db.page(SURVEY_INVITATIONS, query, sort=[("position", 1)], limit=limit, offset=offset)


async def free_text(db: Database, survey: Survey, *, limit: int = 50,
                    offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """A page of the responses with free-text answers: their free text only."""
    questions = [q.question_id for q in survey.questions if q.type is QuestionType.FREE_TEXT]
    if not questions:
        return [], 0
    query = {"survey_id": survey.id, "$or": [{f"answers.{q}": {"$exists": True}} for q in questions]}
    responses, total = await db.page(SURVEY_RESPONSES, query, model=SurveyResponse,
                                     sort=[("submitted_at", 1), ("_id", 1)], limit=limit, offset=offset)
    items = []
    for response in responses:
        items.append({"respondent_id": response.respondent_id,
                      "answers": {q: response.answers[q] for q in questions if q in response.answers},
                      "submitted_at": response.submitted_at, "updated_at": response.updated_at})
    return items, total
