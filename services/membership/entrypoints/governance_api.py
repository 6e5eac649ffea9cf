"""The governance HTTP API: colleges, general assemblies, the board, commissions and seminars.

Same guards as the rest of the membership API: writes need ``staff:membership`` (or ``admin``),
reads ``staff:membership``, ``reader`` or ``admin``. Assemblies and commissions carry an ``ETag``;
writes accept ``If-Match``. Every rule broken is a 4xx naming it (the notice period, voting rights,
the proxy limit, a second ballot, a closed record…), never a 500.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from runtime.api import (ONE, READ, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, errors, expected,
                         on_or_today, platform_of, router, tagged, today)
from runtime.auth import READER, allow, staff
from services.membership.adapters import governance as queries
from services.membership.adapters.governance import get_college_assignment
from services.membership.adapters.repository import ORGANISATIONS
from services.membership.domain import Organisation
from services.membership.domain.governance import Assembly, Commission, Mandate, Statutes, college_of
from services.membership.entrypoints.governance_schemas import (AssemblySummary, AttendanceIn, BoardBallotIn,
                                                                BoardElection, BoardOn, CandidacyIn, CollegeIn,
                                                                CollegeOf, CollegeSeats, CommissionIn,
                                                                CommissionMemberIn, CommissionMembers, ConveneIn,
                                                                MandateEndIn, ProxyIn, QuorumView, ReconveneIn,
                                                                VoteIn, VotingRoll)
from services.membership.entrypoints.schemas import Dated
from services.membership.service_layer.governance import GovernanceService

TEAM = "membership"
reads = Depends(allow(staff(TEAM), READER))
writes = Depends(allow(staff(TEAM)))


def _governance(request: Request) -> GovernanceService:
    return platform_of(request).commands.governance


Governance = Annotated[GovernanceService, Depends(_governance)]
OnQuery = Annotated[date | None, Query(description="The date (defaults to today, Europe/Paris).")]

governance = router("/governance", tags=["governance"])
assemblies = router("/assemblies", tags=["assemblies"])
board = router("/board", tags=["board"])
commissions = router("/commissions", tags=["commissions"])

RULE_422 = "Invalid input, or a rule of the statutes broken (the detail names it)"
VOTE = errors(401, 403, 404, 409, 412, 422, c409="Second ballot, session not open, or the record is closed",
              c422="No voting rights, not present, represented, or a bad choice (the detail names the rule)")


# -- statutes, colleges, voting rights ------------------------------------------------------------
@governance.get("/statutes", response_model=Statutes, dependencies=[reads], responses=READ,
                summary="The statutes' governance rules in force (colleges, notice, proxies, quorum, majorities)")
async def statutes(gov: Governance) -> Statutes:
    return gov.statutes


@governance.get("/voting-rights", response_model=VotingRoll, dependencies=[reads], responses=READ,
                summary="Members with and without voting rights on a date (computed from dated facts)")
async def voting_rights(platform: PlatformDep, gov: Governance, on: OnQuery = None) -> VotingRoll:
    day = on or today()
    return VotingRoll.of(day, await queries.voting_rights_on(platform.db, gov.statutes, day), frozen=False)


@governance.put("/colleges/{organisation_id}", response_model=CollegeOf, dependencies=[writes], responses=WRITE,
                summary="Assign a member organisation's college explicitly from a date (null: its legal form's)")
async def assign_college(organisation_id: str, body: CollegeIn, platform: PlatformDep, gov: Governance,
                         response: Response, if_match: IfMatch = None) -> CollegeOf:
    day = on_or_today(body)
    assignment = await gov.assign_college(organisation_id, body.college, on=day, expected_version=expected(if_match))
    response.headers["ETag"] = f'"{assignment.version}"'
    return await _college_of(platform, gov, organisation_id, day)


@governance.get("/colleges/{organisation_id}", response_model=CollegeOf, dependencies=[reads], responses=ONE,
                summary="A member organisation's college on a date")
async def college(organisation_id: str, platform: PlatformDep, gov: Governance, on: OnQuery = None) -> CollegeOf:
    return await _college_of(platform, gov, organisation_id, on or today())


async def _college_of(platform, gov: GovernanceService, organisation_id: str, day: date) -> CollegeOf:
    org = await platform.db.get(ORGANISATIONS, Organisation, organisation_id)
    assignment = await get_college_assignment(platform.db, organisation_id)
    found = college_of(org.legal_form, assignment, gov.statutes, day)
    explicit = assignment is not None and assignment.college_on(day) == found.code
    return CollegeOf(organisation_id=organisation_id, on=day, college=found.code, vote_weight=found.vote_weight,
                     explicit=explicit)


# -- assemblies ------------------------------------------------------------------------------------
@assemblies.post("", status_code=status.HTTP_201_CREATED, response_model=Assembly, dependencies=[writes],
                 responses=errors(401, 403, 422, c422="Convocation too late for the statutes' notice, a reference "
                                                      "date after the convocation, or a bad agenda"),
                 summary="Convene a general assembly (its roll of voting rights is frozen as of the reference date)")
async def convene(body: ConveneIn, response: Response, gov: Governance) -> Assembly:
    assembly = await gov.convene(title=body.title, meeting_on=body.meeting_on, on=on_or_today(body),
                                 agenda=[r.model_dump() for r in body.agenda], reference_on=body.reference_on)
    return tagged(response, assembly, f"/assemblies/{assembly.id}")


@assemblies.get("", response_model=Page[AssemblySummary], dependencies=[reads], responses=READ,
                summary="List general assemblies, the latest first")
async def list_assemblies(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0):
    items, total = await queries.list_assemblies(platform.db, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@assemblies.get("/{assembly_id}", response_model=Assembly, dependencies=[reads], responses=ONE,
                summary="One general assembly and its record (roll, sessions, attendance, results)")
async def get_assembly(assembly_id: str, platform: PlatformDep, response: Response) -> Assembly:
    return tagged(response, await queries.get_assembly(platform.db, assembly_id))


@assemblies.get("/{assembly_id}/voting-rights", response_model=VotingRoll, dependencies=[reads], responses=ONE,
                summary="The roll the assembly froze at convocation: members with voting rights and without (why)")
async def assembly_voting_rights(assembly_id: str, platform: PlatformDep) -> VotingRoll:
    assembly = await queries.get_assembly(platform.db, assembly_id)
    return VotingRoll.of(assembly.reference_on, assembly.roll, frozen=True)


@assemblies.get("/{assembly_id}/quorum", response_model=QuorumView, dependencies=[reads], responses=ONE,
                summary="The current session's quorum, live")
async def quorum(assembly_id: str, platform: PlatformDep) -> QuorumView:
    assembly = await queries.get_assembly(platform.db, assembly_id)
    count = assembly.quorum()
    return QuorumView(assembly_id=assembly.id, convocation_number=assembly.session.convocation_number,
                      status=assembly.status.value, rule=assembly.session.quorum_rule.describe(),
                      counted=count.counted, voters=count.voters, required=count.required, met=count.met)


@assemblies.post("/{assembly_id}/second-convocation", response_model=Assembly, dependencies=[writes],
                 responses=WRITE, summary="Convene the assembly a second time (its quorum was not met)")
async def reconvene(assembly_id: str, body: ReconveneIn, response: Response, gov: Governance,
                    if_match: IfMatch = None) -> Assembly:
    return tagged(response, await gov.reconvene(assembly_id, meeting_on=body.meeting_on, on=on_or_today(body),
                                                expected_version=expected(if_match)))


@assemblies.post("/{assembly_id}/attendance", response_model=Assembly, dependencies=[writes], responses=WRITE,
                 summary="Record a member's attendance: present, excused or absent")
async def record_attendance(assembly_id: str, body: AttendanceIn, response: Response, gov: Governance,
                            if_match: IfMatch = None) -> Assembly:
    return tagged(response, await gov.record_attendance(assembly_id, body.organisation_id, body.attendance,
                                                        on=on_or_today(body), expected_version=expected(if_match)))


@assemblies.post("/{assembly_id}/proxies", response_model=Assembly, dependencies=[writes],
                 responses=errors(401, 403, 404, 409, 412, 422,
                                  c422="Beyond the statutes' proxies per holder, a holder not present, or a member "
                                       "without voting rights (the detail names the rule)"),
                 summary="Record a proxy (pouvoir): a member is represented by a member present")
async def give_proxy(assembly_id: str, body: ProxyIn, response: Response, gov: Governance,
                     if_match: IfMatch = None) -> Assembly:
    return tagged(response, await gov.give_proxy(assembly_id, body.grantor_id, body.holder_id, on=on_or_today(body),
                                                 expected_version=expected(if_match)))


@assemblies.post("/{assembly_id}/opening", response_model=Assembly, dependencies=[writes], responses=WRITE,
                 summary="Open the session: checks the quorum (met: votes start; not met: a second convocation)")
async def open_session(assembly_id: str, body: Dated, response: Response, gov: Governance,
                       if_match: IfMatch = None) -> Assembly:
    return tagged(response, await gov.open(assembly_id, on=on_or_today(body), expected_version=expected(if_match)))


@assemblies.post("/{assembly_id}/resolutions/{resolution_id}/votes", response_model=Assembly,
                 dependencies=[writes], responses=VOTE,
                 summary="A member present votes on a resolution (for itself and the members it represents)")
async def vote(assembly_id: str, resolution_id: str, body: VoteIn, response: Response, gov: Governance,
               if_match: IfMatch = None) -> Assembly:
    return tagged(response, await gov.vote(assembly_id, resolution_id, body.voter_id, body.choice,
                                           on=on_or_today(body), expected_version=expected(if_match)))


@assemblies.post("/{assembly_id}/resolutions/{resolution_id}/decision", response_model=Assembly,
                 dependencies=[writes], responses=WRITE,
                 summary="Count a resolution's votes: adopted or rejected by the statutes' majority")
async def decide(assembly_id: str, resolution_id: str, body: Dated, response: Response, gov: Governance,
                 if_match: IfMatch = None) -> Assembly:
    return tagged(response, await gov.decide(assembly_id, resolution_id, on=on_or_today(body),
                                             expected_version=expected(if_match)))


@assemblies.post("/{assembly_id}/candidacies", response_model=Assembly, dependencies=[writes], responses=WRITE,
                 summary="A member with voting rights stands for a board seat of its college")
async def register_candidacy(assembly_id: str, body: CandidacyIn, response: Response, gov: Governance,
                             if_match: IfMatch = None) -> Assembly:
    return tagged(response, await gov.register_candidacy(assembly_id, body.organisation_id, on=on_or_today(body),
                                                         expected_version=expected(if_match)))


@assemblies.post("/{assembly_id}/board-ballots", response_model=Assembly, dependencies=[writes], responses=VOTE,
                 summary="A member present votes for board candidates (for itself and the members it represents)")
async def vote_board(assembly_id: str, body: BoardBallotIn, response: Response, gov: Governance,
                     if_match: IfMatch = None) -> Assembly:
    return tagged(response, await gov.vote_board(assembly_id, body.voter_id, body.candidate_ids,
                                                 on=on_or_today(body), expected_version=expected(if_match)))


@assemblies.post("/{assembly_id}/board-election", response_model=BoardElection, dependencies=[writes],
                 responses=WRITE, summary="Close the board election: the most voted of each college take its seats")
async def elect_board(assembly_id: str, body: Dated, gov: Governance, if_match: IfMatch = None) -> BoardElection:
    assembly, results, mandates = await gov.elect_board(assembly_id, on=on_or_today(body),
                                                        expected_version=expected(if_match))
    return BoardElection(assembly_id=assembly.id, results=results, mandates=mandates)


@assemblies.post("/{assembly_id}/closing", response_model=Assembly, dependencies=[writes], responses=WRITE,
                 summary="Close the assembly: open resolutions are decided, then the record is immutable")
async def close(assembly_id: str, body: Dated, response: Response, gov: Governance,
                if_match: IfMatch = None) -> Assembly:
    return tagged(response, await gov.close(assembly_id, on=on_or_today(body), expected_version=expected(if_match)))


# -- board -----------------------------------------------------------------------------------------
@board.get("", response_model=BoardOn, dependencies=[reads], responses=READ,
           summary="Who sits on the board on a date, and the seats of each college")
async def board_on(platform: PlatformDep, gov: Governance, on: OnQuery = None) -> BoardOn:
    day = on or today()
    sitting = (await queries.get_board(platform.db)).sitting_on(day)
    seats = {c.code: CollegeSeats(seats=c.board_seats, filled=sum(1 for m in sitting if m.college == c.code))
             for c in gov.statutes.colleges}
    return BoardOn(on=day, mandates=sitting, seats=seats)


@board.get("/mandates", response_model=list[Mandate], dependencies=[reads], responses=READ,
           summary="Every board mandate, past and present")
async def mandates(platform: PlatformDep) -> list[Mandate]:
    return (await queries.get_board(platform.db)).mandates


@board.post("/mandates/{mandate_id}/end", response_model=Mandate, dependencies=[writes], responses=WRITE,
            summary="End a board mandate before its term (resignation, end of membership…)")
async def end_mandate(mandate_id: str, body: MandateEndIn, gov: Governance) -> Mandate:
    return await gov.end_mandate(mandate_id, body.reason, on=on_or_today(body))


# -- commissions and seminars ---------------------------------------------------------------------
@commissions.post("", status_code=status.HTTP_201_CREATED, response_model=Commission, dependencies=[writes],
                  responses=errors(401, 403, 422), summary="Set up a commission or a members' seminar")
async def create_commission(body: CommissionIn, response: Response, gov: Governance) -> Commission:
    commission = await gov.create_commission(name=body.name, kind=body.kind, on=on_or_today(body))
    return tagged(response, commission, f"/commissions/{commission.id}")


@commissions.get("", response_model=Page[Commission], dependencies=[reads], responses=READ,
                 summary="List commissions and seminars")
async def list_commissions(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                           kind: str | None = Query(None, description="commission or seminar")):
    items, total = await queries.list_commissions(platform.db, kind=kind, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@commissions.get("/{commission_id}", response_model=Commission, dependencies=[reads], responses=ONE,
                 summary="One commission or seminar, with every participation")
async def get_commission(commission_id: str, platform: PlatformDep, response: Response) -> Commission:
    return tagged(response, await queries.get_commission(platform.db, commission_id))


@commissions.get("/{commission_id}/members", response_model=CommissionMembers, dependencies=[reads],
                 responses=ONE, summary="The member organisations taking part on a date")
async def commission_members(commission_id: str, platform: PlatformDep, on: OnQuery = None) -> CommissionMembers:
    day = on or today()
    commission = await queries.get_commission(platform.db, commission_id)
    return CommissionMembers(commission_id=commission.id, on=day, members=commission.members_on(day))


@commissions.post("/{commission_id}/members", status_code=201, response_model=Commission, dependencies=[writes],
                  responses=WRITE, summary="A member organisation in good standing joins")
async def join_commission(commission_id: str, body: CommissionMemberIn, response: Response, gov: Governance,
                          if_match: IfMatch = None) -> Commission:
    return tagged(response, await gov.join_commission(commission_id, body.organisation_id, on=on_or_today(body),
                                                      expected_version=expected(if_match)))


@commissions.post("/{commission_id}/members/{organisation_id}/departure", response_model=Commission,
                  dependencies=[writes], responses=WRITE,
                  summary="A member organisation leaves (the date is its last day)")
async def leave_commission(commission_id: str, organisation_id: str, body: Dated, response: Response,
                           gov: Governance, if_match: IfMatch = None) -> Commission:
    return tagged(response, await gov.leave_commission(commission_id, organisation_id, on=on_or_today(body),
                                                       expected_version=expected(if_match)))


ROUTERS = (governance, assemblies, board, commissions)
