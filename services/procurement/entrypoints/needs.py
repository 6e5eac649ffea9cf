"""The needs HTTP API: buyers' needs from draft to award, their dispatch to the matching suppliers,
each supplier's funnel, questions, meetings, the reserved-contract assistant, the impact survey,
and the year's figures.

Roles: writes need ``staff:procurement`` (or ``admin``) — the team, or a buyer's app holding that
role and acting on the buyer's behalf (the token's subject goes to the need's log); reads
``staff:procurement`` or ``reader`` (readers get no link tokens and no free-text feedback).

No login for suppliers and survey respondents: ``/need-links/{token}`` (a supplier's signed link
to one need: its view, its funnel steps, its questions) and ``/impact-answers/{token}`` (one
impact survey) take no bearer token — the signed token in the path is the credential (HMAC of the
ids under the platform's secret); a mistyped, cut or forged token is a 422 naming ``token``.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response, status

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from contracts.procurement.needs import NeedKind, NeedStatus
from contracts.procurement.vocabulary import Sector
from runtime.api import ONE, READ, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, errors, expected, router, tagged
from runtime.auth import READER, Principal, allow, staff
from runtime.errors import NotFound
from services.procurement.adapters import need_queries
from services.procurement.adapters.needs import (BUYERS, IMPACT_SURVEYS, NEED_SUPPLIERS, NEEDS, funnel_counts,
                                                 funnel_filter, need_filter)
from services.procurement.domain.need_followup import ImpactSurvey
from services.procurement.domain.need_funnel import SupplierFunnel, funnel_id
from services.procurement.domain.needs import Need
from services.procurement.entrypoints.needs_schemas import (AbandonIn, AnswerIn, AwardIn, DispatchView,
                                                            FunnelView, ImpactAnswerIn, ImpactFormView,
                                                            ImpactSurveyView, MeetingLinkIn, NeedFigures, NeedIn,
                                                            NeedPatch, NeedSummary, NeedView, QuestionIn,
                                                            QuestionView, ReservationAdvice, SendBackIn,
                                                            StaffQuestionIn, StepIn, SupplierNeedView)
from services.procurement.service_layer.need_tokens import MAX_TOKEN_LENGTH
from services.procurement.service_layer.needs import NeedsService

TEAM = "procurement"
Writer = Annotated[Principal, Depends(allow(staff(TEAM)))]
Reader = Annotated[Principal, Depends(allow(staff(TEAM), READER))]
reads = Depends(allow(staff(TEAM), READER))
Token = Annotated[str, Path(max_length=MAX_TOKEN_LENGTH, description="The signed token of the link.")]
PUBLIC = {"security": []}  # OpenAPI: no bearer token (the token in the path is the credential)
IMPACT_QUESTION = "Ce besoin a-t-il abouti à une transaction (un contrat, une commande) ? Pour quel montant ?"


def _service(platform: PlatformDep) -> NeedsService:
    return platform.commands.needs


Service = Annotated[NeedsService, Depends(_service)]

needs = router("/needs", tags=["needs"])
funnel = router("/needs", tags=["need dispatch and funnel"])
links = router("/need-links", tags=["need links (no login)"])
impact = router("/impact-answers", tags=["need links (no login)"])


def _is_staff(principal: Principal) -> bool:
    return principal.has_any({staff(TEAM)})


async def _view(platform, need: Need, response: Response | None = None, location: str | None = None) -> NeedView:
    if response is not None:
        tagged(response, need, location)
    counts = None
    if need.dispatch_started_at is not None:
        counts = (await funnel_counts(platform.db, [need.id]))[need.id]
    data = need.model_dump()
    return NeedView(**data, next_step=need.next_step, funnel=counts)


def _funnel_view(svc: NeedsService, row: SupplierFunnel | dict[str, Any], with_link: bool) -> FunnelView:
    data = row.model_dump() if isinstance(row, SupplierFunnel) else {**row, "id": row["_id"]}
    view = FunnelView(**{k: v for k, v in data.items() if k in FunnelView.model_fields})
    if with_link:
        token = svc.tokens.supplier_link(view.need_id, view.supplier_id)
        return view.model_copy(update={"link_token": token, "link_path": f"/need-links/{token}"})
    return view.model_copy(update={"not_interested_feedback": None})


def _question_view(doc: dict[str, Any], *, with_supplier: bool) -> QuestionView:
    return QuestionView(id=doc["_id"], need_id=doc["need_id"],
                        supplier_id=doc["supplier_id"] if with_supplier else None,
                        text=doc["text"], asked_at=doc["asked_at"], answer=doc.get("answer"),
                        answered_at=doc.get("answered_at"), revision=doc.get("revision", 0))


def _survey_view(svc: NeedsService, survey: ImpactSurvey | dict[str, Any], with_link: bool) -> ImpactSurveyView:
    data = survey.model_dump() if isinstance(survey, ImpactSurvey) else {**survey, "id": survey["_id"]}
    view = ImpactSurveyView(**{k: v for k, v in data.items() if k in ImpactSurveyView.model_fields})
    if with_link:
        token = svc.tokens.impact_link(view.id)
        return view.model_copy(update={"token": token, "answer_path": f"/impact-answers/{token}"})
    return view.model_copy(update={"comment": None})


# -- the need ------------------------------------------------------------------------------------------
@needs.post("", status_code=status.HTTP_201_CREATED, response_model=NeedView, responses=errors(
    401, 403, 422, c422="Invalid input: the field is named (amount_band, amount_cents outside its band, deadline_at "
                        "in the past, reserved_article missing, buyer_id unknown, place.commune unknown…)"),
    summary="Draft a buyer's need (the team, or a buyer's app on the buyer's behalf)")
async def draft_need(body: NeedIn, response: Response, svc: Service, platform: PlatformDep,
                     principal: Writer) -> NeedView:
    need = await svc.draft(buyer_id=body.buyer_id, fields=body.terms(), by=principal.subject)
    return await _view(platform, need, response, f"/needs/{need.id}")


@needs.get("", response_model=Page[NeedSummary], dependencies=[reads], responses=READ,
           summary="Needs, newest first, by status, buyer, kind or sector")
async def list_needs(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                     status_: Annotated[NeedStatus | None, Query(alias="status")] = None,
                     buyer_id: Annotated[str | None, Query(max_length=100)] = None,
                     kind: NeedKind | None = None, sector: Sector | None = None) -> Page[NeedSummary]:
    query = need_filter(status=status_.value if status_ else None, buyer_id=buyer_id,
                        kind=kind.value if kind else None, sector=sector.value if sector else None)
    found, total = await platform.db.page(NEEDS, query, sort=[("drafted_at", -1), ("_id", 1)], limit=limit,
                                          offset=offset, model=Need)
    return Page(items=[NeedSummary(**n.model_dump()) for n in found], total=total, limit=limit, offset=offset)


@needs.get("/figures", response_model=NeedFigures, dependencies=[reads], responses=READ,
           summary="The year's figures: needs per status, awards, funnels, impact answers, and which business "
                   "conventions led to which contracts")
async def need_figures(platform: PlatformDep,
                       year: Annotated[int, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The year.")]
                       ) -> dict:
    return await need_queries.figures(platform.db, year)


@needs.get("/{need_id}", response_model=NeedView, dependencies=[reads], responses=ONE,
           summary="One need: its terms, status and next step, log (who, when, what), award, meetings, funnel "
                   "counts")
async def get_need(need_id: str, response: Response, platform: PlatformDep) -> NeedView:
    return await _view(platform, await platform.db.get(NEEDS, Need, need_id), response)


@needs.patch("/{need_id}", response_model=NeedView, responses=WRITE,
             summary="Edit a draft need (only the fields given; 409 once submitted)")
async def edit_need(need_id: str, body: NeedPatch, response: Response, svc: Service, platform: PlatformDep,
                    principal: Writer, if_match: IfMatch = None) -> NeedView:
    changes = body.model_dump(exclude_unset=True)
    need = await svc.update(need_id, changes, by=principal.subject, expected_version=expected(if_match))
    return await _view(platform, need, response)


def _lifecycle(path: str, summary: str, method_name: str, c409: str):
    @needs.post(f"/{{need_id}}/{path}", response_model=NeedView, summary=summary, name=f"{method_name}_need",
                responses=errors(401, 403, 404, 409, 412, 422, c409=c409))
    async def endpoint(need_id: str, response: Response, svc: Service, platform: PlatformDep, principal: Writer,
                       if_match: IfMatch = None) -> NeedView:
        need = await getattr(svc, method_name)(need_id, by=principal.subject, expected_version=expected(if_match))
        return await _view(platform, need, response)
    return endpoint


submit_need = _lifecycle("submission", "Submit a draft need to the team for validation (its deadline still ahead)",
                         "submit", "The need is not a draft (the detail names its state and what is expected)")
validate_need = _lifecycle("validation", "Validate a submitted need (staff)", "validate",
                           "The need is not submitted (the detail names its state and what is expected)")
close_need = _lifecycle("closing", "Close a dispatched need: no more answers (its deadline closes it too)", "close",
                        "The need is not dispatched (the detail names its state and what is expected)")


@needs.post("/{need_id}/sending-back", response_model=NeedView, responses=errors(
    401, 403, 404, 409, 412, 422, c409="The need is not submitted"),
    summary="Send a submitted need back to its buyer for changes, with the reason (a draft again)")
async def send_back_need(need_id: str, body: SendBackIn, response: Response, svc: Service, platform: PlatformDep,
                         principal: Writer, if_match: IfMatch = None) -> NeedView:
    need = await svc.send_back(need_id, body.reason, by=principal.subject, expected_version=expected(if_match))
    return await _view(platform, need, response)


@needs.post("/{need_id}/award", response_model=NeedView, responses=errors(
    401, 403, 404, 409, 412, 422, c409="The need is not closed", c422="An unknown supplier (supplier_ids.<i>), no "
                                                                      "supplier and no grouping, a bad amount"),
    summary="Award a closed need to suppliers or a grouping, for an amount in cents")
async def award_need(need_id: str, body: AwardIn, response: Response, svc: Service, platform: PlatformDep,
                     principal: Writer, if_match: IfMatch = None) -> NeedView:
    need = await svc.award(need_id, supplier_ids=body.supplier_ids, grouping_id=body.grouping_id,
                           amount_cents=body.amount_cents, by=principal.subject, expected_version=expected(if_match))
    return await _view(platform, need, response)


@needs.post("/{need_id}/abandonment", response_model=NeedView, responses=errors(
    401, 403, 404, 409, 412, 422, c409="The need is dispatching, awarded or abandoned"),
    summary="Abandon a need, with a reason")
async def abandon_need(need_id: str, body: AbandonIn, response: Response, svc: Service, platform: PlatformDep,
                       principal: Writer, if_match: IfMatch = None) -> NeedView:
    need = await svc.abandon(need_id, body.reason, note=body.note, by=principal.subject,
                             expected_version=expected(if_match))
    return await _view(platform, need, response)


@needs.post("/{need_id}/meetings", response_model=NeedView, responses=errors(
    401, 403, 404, 409, 412, 422, c409="The need is a draft", c422="The meeting is unknown here (meeting_id), or "
                                                                   "was not held"),
    summary="Link a business meeting held at a convention (events service) to the need")
async def link_meeting(need_id: str, body: MeetingLinkIn, response: Response, svc: Service, platform: PlatformDep,
                       principal: Writer, if_match: IfMatch = None) -> NeedView:
    need, _ = await svc.link_meeting(need_id, body.meeting_id, by=principal.subject,
                                     expected_version=expected(if_match))
    return await _view(platform, need, response)


@needs.get("/{need_id}/reservation-advice", response_model=ReservationAdvice, dependencies=[reads], responses=ONE,
           summary="Reserved-contract assistant: eligible suppliers in the need's territory per kind family, and "
                   "what to do (reserve the contract, a lot, a social clause or a social award criterion), and why")
async def reservation_advice(need_id: str, svc: Service) -> dict:
    return await svc.reservation_advice(need_id)


# -- dispatch and funnel ----------------------------------------------------------------------------------
@funnel.post("/{need_id}/dispatch", status_code=status.HTTP_202_ACCEPTED, response_model=DispatchView,
             responses=errors(401, 403, 404, 409, 412, 422, c409="The need is not validated"),
             summary="Dispatch a validated need to the matching suppliers (in the background, in batches; follow "
                     "it with GET …/dispatch)")
async def dispatch_need(need_id: str, response: Response, svc: Service, principal: Writer,
                        if_match: IfMatch = None) -> DispatchView:
    need, state = await svc.start_dispatch(need_id, by=principal.subject, expected_version=expected(if_match))
    tagged(response, need)
    response.headers["Location"] = f"/needs/{need.id}/dispatch"
    return DispatchView(need_id=need.id, **{k: v for k, v in state.items() if k in DispatchView.model_fields})


@funnel.get("/{need_id}/dispatch", response_model=DispatchView, dependencies=[reads], responses=ONE,
            summary="The dispatch's progress: suppliers notified, batches, completed or not")
async def dispatch_progress(need_id: str, svc: Service) -> DispatchView:
    state = await svc.dispatch_state(need_id)
    if state is None:
        raise NotFound(f"need {need_id} has not been dispatched", resource="NeedDispatch")
    return DispatchView(need_id=need_id, **{k: v for k, v in state.items() if k in DispatchView.model_fields})


@funnel.get("/{need_id}/suppliers", response_model=Page[FunnelView], responses=ONE,
            summary="The suppliers notified and their funnels (staff also get each supplier's link token)")
async def need_suppliers(need_id: str, svc: Service, platform: PlatformDep, principal: Reader, limit: Limit = 50,
                         offset: Offset = 0, step: Annotated[str | None, Query(
                             pattern="^(notified|opened|viewed|interested|not_interested|answered|awarded)$",
                             description="Only those whose furthest step is this.")] = None) -> Page[FunnelView]:
    await platform.db.get(NEEDS, Need, need_id)
    docs, total = await need_queries.funnel_page(platform.db, funnel_filter(need_id, step=step), limit=limit,
                                                 offset=offset)
    with_link = _is_staff(principal)
    return Page(items=[_funnel_view(svc, d, with_link) for d in docs], total=total, limit=limit, offset=offset)


@funnel.post("/{need_id}/suppliers/{supplier_id}/steps", response_model=FunnelView, responses=errors(
    401, 403, 404, 409, 422, c404="The need is unknown, or the supplier was not notified of it",
    c409="Interest or an answer after the need closed; not interested after answering; answering while not "
         "interested"),
    summary="Record a supplier's funnel step for it (staff): opened, viewed, interested, not interested, answered")
async def staff_step(need_id: str, supplier_id: str, body: StepIn, svc: Service, principal: Writer) -> FunnelView:
    row = await svc.take_step(need_id, supplier_id, body.step, by_staff=True, feedback=body.feedback)
    return _funnel_view(svc, row, True)


@funnel.get("/{need_id}/questions", response_model=list[QuestionView], dependencies=[reads], responses=ONE,
            summary="Suppliers' questions about the need and their answers")
async def need_questions(need_id: str, platform: PlatformDep) -> list[QuestionView]:
    await platform.db.get(NEEDS, Need, need_id)
    return [_question_view(d, with_supplier=True) for d in await need_queries.questions(platform.db, need_id)]


@funnel.post("/{need_id}/questions", status_code=status.HTTP_201_CREATED, response_model=QuestionView,
             responses=errors(401, 403, 404, 409, 422, c409="The need does not take questions (not dispatched, or "
                                                            "closed)",
                              c422="The supplier was not notified of the need (supplier_id), or the text"),
             summary="Record a notified supplier's question (staff, for the supplier)")
async def staff_question(need_id: str, body: StaffQuestionIn, svc: Service, principal: Writer) -> QuestionView:
    question = await svc.ask(need_id, body.supplier_id, body.text)
    return _question_view({**question.model_dump(), "_id": question.id}, with_supplier=True)


@funnel.put("/{need_id}/questions/{question_id}/answer", response_model=QuestionView, responses=errors(
    401, 403, 404, 422), summary="Answer a supplier's question (the buyer through its app, or the team); answering "
                                 "again corrects the answer")
async def answer_question(need_id: str, question_id: str, body: AnswerIn, svc: Service,
                          principal: Writer) -> QuestionView:
    question = await svc.answer_question(need_id, question_id, body.text, by=principal.subject)
    return _question_view({**question.model_dump(), "_id": question.id}, with_supplier=True)


@funnel.get("/{need_id}/impact-surveys", response_model=list[ImpactSurveyView], responses=ONE,
            summary="The need's impact surveys and their answers (staff also get each respondent's link token)")
async def need_impact_surveys(need_id: str, svc: Service, platform: PlatformDep,
                              principal: Reader) -> list[ImpactSurveyView]:
    await platform.db.get(NEEDS, Need, need_id)
    with_link = _is_staff(principal)
    return [_survey_view(svc, d, with_link) for d in await need_queries.impact_surveys(platform.db, need_id)]


# -- suppliers' links (no bearer token) -----------------------------------------------------------------
async def _supplier_view(platform, svc: NeedsService, token: str) -> SupplierNeedView:
    need_id, supplier_id = svc.tokens.read_supplier_link(token)
    row = await platform.db[NEED_SUPPLIERS].find_one({"_id": funnel_id(need_id, supplier_id)})
    if row is None:
        raise NotFound("no need for this link", resource="SupplierFunnel")
    need = await platform.db.get(NEEDS, Need, need_id)
    buyer = await platform.db[BUYERS].find_one({"_id": need.buyer_id}, {"name": 1})
    questions = [_question_view(d, with_supplier=False) for d in await need_queries.questions(platform.db, need_id)]
    data = need.model_dump()
    return SupplierNeedView(
        need_id=need.id, supplier_id=supplier_id, buyer_name=(buyer or {}).get("name"),
        **{k: data[k] for k in ("title", "kind", "sectors", "description", "place", "perimeter", "amount_band",
                                "amount_cents", "deadline_at", "reserved", "reserved_article", "social_clause",
                                "status")},
        takes_answers=need.takes_answers, funnel=_funnel_view(svc, row, False), questions=questions)


@links.get("/{token}", response_model=SupplierNeedView, openapi_extra=PUBLIC, responses=errors(
    404, 422, c404="No need for this link", c422="The token is not valid (field `token`)"),
    summary="A supplier's view of a need through its link: the need, its own funnel, the questions and answers "
            "(no bearer token: the token is the credential)")
async def supplier_need(token: Token, svc: Service, platform: PlatformDep) -> SupplierNeedView:
    return await _supplier_view(platform, svc, token)


@links.post("/{token}/steps", response_model=SupplierNeedView, openapi_extra=PUBLIC, responses=errors(
    404, 409, 422, c404="No need for this link",
    c409="Interest or an answer after the need closed; not interested after answering; answering while not "
         "interested (the detail names the state)",
    c422="The token (`token`) or the step is not valid"),
    summary="A supplier takes a step through its link: opened, viewed, interested, not interested (with why), "
            "answered (no bearer token: the token is the credential)")
async def supplier_step(token: Token, body: StepIn, svc: Service, platform: PlatformDep) -> SupplierNeedView:
    await svc.take_step_by_link(token, body.step, feedback=body.feedback)
    return await _supplier_view(platform, svc, token)


@links.post("/{token}/questions", status_code=status.HTTP_201_CREATED, response_model=SupplierNeedView,
            openapi_extra=PUBLIC, responses=errors(
                404, 409, 422, c404="No need for this link", c409="The need does not take questions any more",
                c422="The token (`token`) or the text is not valid"),
            summary="A supplier asks a question about the need through its link (no bearer token: the token is the "
                    "credential)")
async def supplier_question(token: Token, body: QuestionIn, svc: Service, platform: PlatformDep) -> SupplierNeedView:
    await svc.ask_by_link(token, body.text)
    return await _supplier_view(platform, svc, token)


# -- impact survey respondents (no bearer token) -------------------------------------------------------------
async def _impact_form(platform, svc: NeedsService, token: str) -> ImpactFormView:
    survey_id = svc.tokens.read_impact_link(token)
    survey = await platform.db[IMPACT_SURVEYS].find_one({"_id": survey_id})
    if survey is None:
        raise NotFound("no impact survey for this link", resource="ImpactSurvey")
    need = await platform.db[NEEDS].find_one({"_id": survey["need_id"]}, {"title": 1})
    return ImpactFormView(survey_id=survey_id, need_id=survey["need_id"], need_title=(need or {}).get("title", ""),
                          respondent=survey["respondent"], respondent_id=survey["respondent_id"],
                          question=IMPACT_QUESTION, answer=survey.get("answer"),
                          amount_cents=survey.get("amount_cents"), comment=survey.get("comment"),
                          answered_at=survey.get("answered_at"))


@impact.get("/{token}", response_model=ImpactFormView, openapi_extra=PUBLIC, responses=errors(
    404, 422, c404="No impact survey for this link", c422="The token is not valid (field `token`)"),
    summary="A respondent's impact survey through its link (no bearer token: the token is the credential)")
async def impact_form(token: Token, svc: Service, platform: PlatformDep) -> ImpactFormView:
    return await _impact_form(platform, svc, token)


@impact.put("/{token}", response_model=ImpactFormView, openapi_extra=PUBLIC, responses=errors(
    404, 422, c404="No impact survey for this link",
    c422="The token (`token`), the answer, or an amount with another answer than yes (`amount_cents`)"),
    summary="Answer the impact survey (yes, no, not yet; an amount with yes), or change the answer (no bearer "
            "token: the token is the credential)")
async def answer_impact(token: Token, body: ImpactAnswerIn, svc: Service, platform: PlatformDep) -> ImpactFormView:
    await svc.answer_impact(token, body.answer, amount_cents=body.amount_cents, comment=body.comment)
    return await _impact_form(platform, svc, token)


ROUTERS = (needs, funnel, links, impact)
