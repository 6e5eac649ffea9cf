"""The surveys HTTP API: staff build, open, remind and close surveys and read their results;
respondents answer with the signed token of their invitation, without logging in.

Roles: writes need ``staff:events`` (or ``admin``); results, surveys and who has not answered
are read by ``staff:events`` or ``reader`` (readers get ids, never names or e-mails);
invitations (tokens, names, e-mails) and free-text answers are for staff only. Partners get 403.

``/survey-answers/{token}`` (GET and PUT) is the only place without a bearer token: the token in
the path is the credential (HMAC-signed survey and respondent ids, :class:`SurveyTokens`). It is
still a guarded route (``runtime.api.router()``: hostile input is refused at the door); a
mistyped, cut or forged token is a 422 naming ``token``, never a 500.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Response, status

from runtime.api import ONE, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, errors, expected, router, tagged
from runtime.auth import READER, Principal, allow, staff
from runtime.errors import InvalidInput, NotFound
from services.events.adapters import queries, survey_queries
from services.events.domain.surveys import Survey, SurveyResults
from services.events.entrypoints.survey_schemas import (AnswersIn, EventSurveyResults, FreeTextView, InvitationsIn,
                                                        InvitationsView, InvitationView, NonRespondentView,
                                                        ReminderView, SurveyForm, SurveyIn, SurveyPatch, SurveyView)
from services.events.service_layer.surveys import MAX_TOKEN_LENGTH, SurveysService

TEAM = "events"
writes = Depends(allow(staff(TEAM)))
reads = Depends(allow(staff(TEAM), READER))
Reader = Annotated[Principal, Depends(allow(staff(TEAM), READER))]
Token = Annotated[str, Path(max_length=MAX_TOKEN_LENGTH, description="The token of the respondent's invitation.")]
PUBLIC = {"security": []}  # OpenAPI: this operation takes no bearer token (the token in the path is the credential)


def commands(platform: PlatformDep) -> SurveysService:
    return platform.commands.surveys


Service = Annotated[SurveysService, Depends(commands)]

surveys = router("", tags=["surveys"])
answers = router("/survey-answers", tags=["survey answers (no login)"])


def _is_staff(principal: Principal) -> bool:
    return principal.has_any({staff(TEAM)})


async def _view(platform, survey: Survey, response: Response | None = None, responses: int | None = None) -> SurveyView:
    if responses is None:
        responses = (await survey_queries.response_counts(platform.db, [survey.id]))[survey.id]
    if response is not None:
        tagged(response, survey)
    return SurveyView(
        id=survey.id, version=survey.version, event_id=survey.event_id, audience=survey.audience, title=survey.title,
        status=survey.status, questions=[q.model_dump() for q in survey.questions], created_at=survey.created_at,
        opened_at=survey.opened_at, closes_at=survey.closes_at, closed_at=survey.closed_at,
        invited_count=len(survey.invited), responses=responses,
        reminders=[{"number": r.number, "sent_at": r.sent_at, "count": len(r.respondent_ids)}
                   for r in survey.reminders])


def _invitation_view(svc: SurveysService, invitation: dict[str, Any]) -> InvitationView:
    token = svc.tokens.token(invitation["survey_id"], invitation["respondent_id"])
    return InvitationView(**{k: invitation.get(k) for k in (
        "respondent_id", "name", "email", "organisation", "invited_at", "answered_at", "last_reminded_at")},
        reminders=invitation.get("reminders", 0), token=token, answer_path=f"/survey-answers/{token}")


# -- staff: the survey ------------------------------------------------------------------------------
@surveys.post("/events/{event_id}/surveys", status_code=status.HTTP_201_CREATED, response_model=SurveyView,
              dependencies=[writes], responses=errors(401, 403, 404, 409, 422, c409="The event is cancelled, or "
                                                      "already has a survey for this audience (named)"),
              summary="Create a survey of an event for its participants or its partners (a draft)")
async def create_survey(event_id: str, body: SurveyIn, response: Response, svc: Service,
                        platform: PlatformDep) -> SurveyView:
    survey = await svc.create_survey(event_id, **body.model_dump(exclude={"questions"}),
                                     questions=[q.model_dump(exclude_none=True) for q in body.questions])
    response.headers["Location"] = f"/surveys/{survey.id}"
    return await _view(platform, survey, response, responses=0)


@surveys.get("/events/{event_id}/surveys", response_model=list[SurveyView], dependencies=[reads], responses=ONE,
             summary="The surveys of an event (one per audience at most)")
async def event_surveys(event_id: str, platform: PlatformDep) -> list[SurveyView]:
    await queries.get_event(platform.db, event_id)
    found = await survey_queries.surveys_of_event(platform.db, event_id)
    counts = await survey_queries.response_counts(platform.db, [s.id for s in found])
    return [await _view(platform, s, responses=counts[s.id]) for s in found]


@surveys.get("/surveys/{survey_id}", response_model=SurveyView, dependencies=[reads], responses=ONE,
             summary="One survey: its questions, status, invited and response counts, reminders")
async def get_survey(survey_id: str, platform: PlatformDep, response: Response) -> SurveyView:
    return await _view(platform, await survey_queries.get_survey(platform.db, survey_id), response)


@surveys.patch("/surveys/{survey_id}", response_model=SurveyView, dependencies=[writes], responses=WRITE,
               summary="Revise a draft survey: title, questions, closing time (409 once opened)")
async def revise_survey(survey_id: str, body: SurveyPatch, response: Response, svc: Service, platform: PlatformDep,
                        if_match: IfMatch = None) -> SurveyView:
    changes = body.model_dump(exclude_unset=True)
    if body.questions is not None:
        changes["questions"] = [q.model_dump(exclude_none=True) for q in body.questions]
    survey = await svc.revise_survey(survey_id, changes, expected_version=expected(if_match))
    return await _view(platform, survey, response)


@surveys.post("/surveys/{survey_id}/opening", response_model=SurveyView, dependencies=[writes], responses=WRITE,
              summary="Open the survey for answers")
async def open_survey(survey_id: str, response: Response, svc: Service, platform: PlatformDep,
                      if_match: IfMatch = None) -> SurveyView:
    return await _view(platform, await svc.open_survey(survey_id, expected_version=expected(if_match)), response)


@surveys.post("/surveys/{survey_id}/closing", response_model=SurveyView, dependencies=[writes], responses=WRITE,
              summary="Close the survey now (answers can no longer be given or changed)")
async def close_survey(survey_id: str, response: Response, svc: Service, platform: PlatformDep,
                       if_match: IfMatch = None) -> SurveyView:
    return await _view(platform, await svc.close_survey(survey_id, expected_version=expected(if_match)), response)


# -- staff: invitations and reminders -----------------------------------------------------------------
@surveys.post("/surveys/{survey_id}/invitations", response_model=InvitationsView, dependencies=[writes],
              responses=WRITE, summary="Invite respondents: the event's confirmed (or checked-in) registrations, "
                                       "or partners by name and e-mail; each gets a token")
async def invite(survey_id: str, body: InvitationsIn, svc: Service, if_match: IfMatch = None) -> InvitationsView:
    given = [name for name in ("registrations", "registration_ids", "partners") if getattr(body, name) is not None]
    if len(given) != 1:
        raise InvalidInput(given[1] if len(given) > 1 else "registrations",
                           "give exactly one of registrations, registration_ids or partners")
    if body.partners is not None:
        survey, invitations = await svc.invite_partners(
            survey_id, [p.model_dump() for p in body.partners], expected_version=expected(if_match))
    else:
        survey, invitations = await svc.invite_participants(
            survey_id, selection=body.registrations, registration_ids=body.registration_ids,
            expected_version=expected(if_match))
    people = await survey_queries.with_people(svc.db, invitations)
    return InvitationsView(survey_id=survey.id, invited=[_invitation_view(svc, i) for i in people],
                           invited_count=len(survey.invited))


@surveys.get("/surveys/{survey_id}/invitations", response_model=Page[InvitationView], dependencies=[writes],
             responses=ONE, summary="The invitations with their tokens, names and e-mails, and who answered "
                                    "(staff only)")
async def list_invitations(survey_id: str, svc: Service, platform: PlatformDep, limit: Limit = 50,
                           offset: Offset = 0) -> Page[InvitationView]:
    await survey_queries.get_survey(platform.db, survey_id)
    docs, total = await survey_queries.invitations(platform.db, survey_id, limit=limit, offset=offset)
    items = [_invitation_view(svc, i) for i in await survey_queries.with_people(platform.db, docs)]
    return Page(items=items, total=total, limit=limit, offset=offset)


@surveys.post("/surveys/{survey_id}/reminders", response_model=ReminderView, dependencies=[writes],
              responses=errors(401, 403, 404, 409, 412, 422, c409="The survey is not open, or was reminded less "
                                                                  "than 24 h ago (the detail says from when)"),
              summary="Remind those who have not answered (only them; at most once per 24 h)")
async def remind(survey_id: str, svc: Service, if_match: IfMatch = None) -> ReminderView:
    survey, due = await svc.remind(survey_id, expected_version=expected(if_match))
    reminded: list[InvitationView] = []
    for start in range(0, len(due), 1000):
        docs, _ = await survey_queries.invitations(svc.db, survey.id, respondent_ids=due[start:start + 1000],
                                                   limit=1000)
        reminded += [_invitation_view(svc, i) for i in await survey_queries.with_people(svc.db, docs)]
    last = survey.reminders[-1] if due else None
    return ReminderView(survey_id=survey.id, reminder_number=last.number if last else None,
                        sent_at=last.sent_at if last else None, count=len(due), reminded=reminded)


@surveys.get("/surveys/{survey_id}/non-respondents", response_model=Page[NonRespondentView], responses=ONE,
             summary="Who has not answered: ids, with names and e-mails for staff (ids only for readers)")
async def non_respondents(survey_id: str, platform: PlatformDep, principal: Reader, limit: Limit = 50,
                          offset: Offset = 0) -> Page[NonRespondentView]:
    await survey_queries.get_survey(platform.db, survey_id)
    docs, total = await survey_queries.invitations(platform.db, survey_id, unanswered=True, limit=limit,
                                                   offset=offset)
    docs = (await survey_queries.with_people(platform.db, docs) if _is_staff(principal)
            else survey_queries.without_people(docs))
    items = [NonRespondentView(**{k: d.get(k) for k in ("respondent_id", "name", "email", "organisation",
                                                        "invited_at", "last_reminded_at")},
                               reminders=d.get("reminders", 0)) for d in docs]
    return Page(items=items, total=total, limit=limit, offset=offset)


# -- results -------------------------------------------------------------------------------------------
@surveys.get("/surveys/{survey_id}/results", response_model=SurveyResults, dependencies=[reads], responses=ONE,
             summary="Results: mean mark per question, share who would come again, choice counts, response rate")
async def results(survey_id: str, platform: PlatformDep) -> SurveyResults:
    return await survey_queries.results(platform.db, await survey_queries.get_survey(platform.db, survey_id))


@surveys.get("/events/{event_id}/survey-results", response_model=EventSurveyResults, dependencies=[reads],
             responses=ONE, summary="An event's survey results per audience (participants, partners)")
async def event_results(event_id: str, platform: PlatformDep) -> EventSurveyResults:
    await queries.get_event(platform.db, event_id)
    by_audience = await survey_queries.event_results(platform.db, event_id)
    return EventSurveyResults(event_id=event_id, **{a.value: r for a, r in by_audience.items()})


@surveys.get("/surveys/{survey_id}/free-text", response_model=Page[FreeTextView], dependencies=[writes],
             responses=ONE, summary="Free-text answers (staff only: they may hold personal data)")
async def free_text(survey_id: str, platform: PlatformDep, limit: Limit = 50,
                    offset: Offset = 0) -> Page[FreeTextView]:
    survey = await survey_queries.get_survey(platform.db, survey_id)
    items, total = await survey_queries.free_text(platform.db, survey, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


# -- respondents (no bearer token: the token is the credential) ------------------------------------
async def _form(platform, svc: SurveysService, token: str) -> SurveyForm:
    survey_id, respondent_id = svc.respondent_of(token)
    invitation = await survey_queries.find_invitation(platform.db, survey_id, respondent_id)
    if invitation is None:
        raise NotFound("no survey invitation for this token", resource="SurveyInvitation")
    survey = await survey_queries.get_survey(platform.db, survey_id)
    event = await queries.get_event(platform.db, survey.event_id)
    answered = await survey_queries.find_response(platform.db, survey_id, respondent_id)
    return SurveyForm(
        survey_id=survey.id, event_id=survey.event_id, event_title=event.title, audience=survey.audience,
        title=survey.title, status=survey.status, accepts_answers=survey.accepts_answers(svc.clock()),
        closes_at=survey.closes_at, questions=[q.model_dump() for q in survey.questions],
        answers=answered.answers if answered else {}, submitted_at=answered.submitted_at if answered else None,
        updated_at=answered.updated_at if answered else None, revision=answered.revision if answered else 0)


@answers.get("/{token}", response_model=SurveyForm, openapi_extra=PUBLIC, responses=errors(
    404, 422, c404="No invitation for this token", c422="The token is not valid (field `token`)"),
    summary="A respondent's survey: the questions and their current answers (no bearer token: the token is "
            "the credential)")
async def survey_form(token: Token, platform: PlatformDep, svc: Service) -> SurveyForm:
    return await _form(platform, svc, token)


@answers.put("/{token}", response_model=SurveyForm, openapi_extra=PUBLIC, responses=errors(
    404, 409, 422, c404="No invitation for this token",
    c409="The survey does not take answers (draft, or closed): the detail names its state",
    c422="The token is not valid (`token`), or an answer is (`answers.<question_id>`)"),
    summary="Submit or change a respondent's answers until the survey closes (no bearer token: the token is "
            "the credential); 201 the first time")
async def submit_answers(token: Token, body: AnswersIn, response: Response, platform: PlatformDep,
                         svc: Service) -> SurveyForm:
    _, created = await svc.answer(token, body.answers)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return await _form(platform, svc, token)


ROUTERS = [surveys, answers]
