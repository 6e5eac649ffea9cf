"""The observatory HTTP API: the activity report for any year as of any date, recorded facts and
the strategic plan's objectives. Thin: commands are
:class:`~services.observatory.service_layer.records.RecordsService`.

Roles: writes need ``staff:observatory`` (or ``admin``); reads ``staff:observatory`` or ``reader``.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query, Response, status

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from runtime.api import ONE, READ, WRITE, IfMatch, PlatformDep, errors, expected, router, tagged, today
from runtime.auth import READER, allow, staff
from services.observatory.adapters.repository import FACTS, OBJECTIVES
from services.observatory.domain.records import Fact, Objective
from services.observatory.entrypoints import territory  # diagnostic, timelines
from services.observatory.entrypoints.page import ROUTERS as PAGE_ROUTERS  # the page, charts, map, exports
from services.observatory.entrypoints.schemas import (FactCorrectionIn, FactIn, FactWithdrawalIn, ObjectiveIn,
                                                      ReportView, StatusIn)
from services.observatory.service_layer.records import RecordsService
from services.observatory.service_layer.report import report_json

TEAM = "observatory"
reads = Depends(allow(staff(TEAM), READER))
writes = Depends(allow(staff(TEAM)))


def _service(platform: PlatformDep) -> RecordsService:
    return platform.commands.records


Service = Annotated[RecordsService, Depends(_service)]

reports = router("/reports", tags=["activity report"])
facts = router("/facts", tags=["recorded facts"])
objectives = router("/objectives", tags=["strategic objectives"])

Year = Annotated[int, Path(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The report's year.")]


# -- the report ----------------------------------------------------------------------------------
@reports.get("/{year}", response_model=ReportView, dependencies=[reads], responses=READ,
             summary="The activity report of a year, per team, as of a date (default today): figures computed "
                     "from the platform's events, recorded facts, objectives' status — each with its source")
async def report(year: Year, platform: PlatformDep,
                 as_of: Annotated[date | None, Query(description="What was true on this date (YYYY-MM-DD).")]
                 = None) -> Response:
    _, body = await report_json(platform.db, year, as_of or today())
    return Response(body, media_type="application/json")  # serialised once per state (response_model: the docs)


# -- recorded facts ------------------------------------------------------------------------------
@facts.post("", status_code=status.HTTP_201_CREATED, response_model=Fact, dependencies=[writes],
            responses=errors(401, 403, 422),
            summary="Record a figure of activity outside the platform, with its source (dated today)")
async def record_fact(body: FactIn, response: Response, svc: Service) -> Fact:
    fact = await svc.record_fact(**body.model_dump())
    return tagged(response, fact, f"/facts/{fact.id}")


@facts.get("/{fact_id}", response_model=Fact, dependencies=[reads], responses=ONE,
           summary="One recorded fact, with its history")
async def get_fact(fact_id: str, platform: PlatformDep, response: Response) -> Fact:
    return tagged(response, await platform.db.get(FACTS, Fact, fact_id))


@facts.post("/{fact_id}/corrections", response_model=Fact, dependencies=[writes], responses=WRITE,
            summary="Correct a recorded fact's value, unit or source, with the reason (kept in its history)")
async def correct_fact(fact_id: str, body: FactCorrectionIn, response: Response, svc: Service,
                       if_match: IfMatch = None) -> Fact:
    changes = body.model_dump(exclude={"reason"}, exclude_none=True)
    return tagged(response, await svc.correct_fact(fact_id, reason=body.reason, expected_version=expected(if_match),
                                                   **changes))


@facts.post("/{fact_id}/withdrawal", response_model=Fact, dependencies=[writes], responses=WRITE,
            summary="Withdraw a recorded fact (reports as of today or later leave it out)")
async def withdraw_fact(fact_id: str, body: FactWithdrawalIn, response: Response, svc: Service,
                        if_match: IfMatch = None) -> Fact:
    return tagged(response, await svc.withdraw_fact(fact_id, reason=body.reason,
                                                    expected_version=expected(if_match)))


# -- objectives ------------------------------------------------------------------------------------
@objectives.post("", status_code=status.HTTP_201_CREATED, response_model=Objective, dependencies=[writes],
                 responses=errors(401, 403, 422), summary="Add an objective of the strategic plan, with its status")
async def define_objective(body: ObjectiveIn, response: Response, svc: Service) -> Objective:
    objective = await svc.define_objective(**body.model_dump())
    return tagged(response, objective, f"/objectives/{objective.id}")


@objectives.get("/{objective_id}", response_model=Objective, dependencies=[reads], responses=ONE,
                summary="One objective, with the history of its status")
async def get_objective(objective_id: str, platform: PlatformDep, response: Response) -> Objective:
    return tagged(response, await platform.db.get(OBJECTIVES, Objective, objective_id))


@objectives.post("/{objective_id}/status", response_model=Objective, dependencies=[writes], responses=WRITE,
                 summary="Set an objective's status from a date (ATTEINT, EN PHASE D'ÊTRE ATTEINT, PARTIELLEMENT "
                         "ATTEINT, EN COURS, ARRÊTÉ), with a comment")
async def change_status(objective_id: str, body: StatusIn, response: Response, svc: Service,
                        if_match: IfMatch = None) -> Objective:
    return tagged(response, await svc.change_objective_status(objective_id, status=body.status, on=body.on,
                                                              comment=body.comment,
                                                              expected_version=expected(if_match)))


ROUTERS = (reports, facts, objectives, *territory.ROUTERS, *PAGE_ROUTERS)
