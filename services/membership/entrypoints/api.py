"""The membership HTTP API: thin — parse, check the role, hand over to the service layer.

Roles (the table in :mod:`runtime.authorization`): reads need ``staff:membership``, ``reader`` or
``admin``; writes ``staff:membership`` or ``admin``; the good-standing endpoints also admit
``partner``. Readers get organisations without their contacts (personal data: staff only). Single resources carry an
``ETag`` (their version); writes accept ``If-Match`` and answer 412 when it is stale.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, File, Path, Query, Request, Response, UploadFile, status

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from runtime.api import (ONE, READ, WRITE, body_limit, IfMatch, Limit, Offset, Page, PlatformDep, commands, errors, expected,
                         on_or_today, router, tagged, today)
from runtime.auth import PARTNER, READER, Principal, allow, staff
from runtime.errors import InvalidInput
from services.membership.adapters import queries
from services.membership.domain import FeeScale, Member, MembershipApplication, Organisation
from services.membership.domain.fee_scale import DuesTerms
from services.membership.domain.fee_scales import DuesYearScale
from services.membership.entrypoints.schemas import (ActivationIn, AdmissionIn, ApplicationIn,
                                                     ApplicationWithdrawalIn, BatchResult, DuesRun, FeeScaleIn,
                                                     FeeScaleInForce, RegisterImportResult,
                                                     ContactIn, Dated, InvoiceIn, OrganisationIn,
                                                     OrganisationPatch, PaymentIn, RefusalIn, Standing,
                                                     StatutesReviewIn, WithdrawalIn, YearFigures)
from services.membership.service_layer import register as register_import
from services.membership.service_layer import runner
from services.membership.service_layer.handlers import MembershipService

TEAM = "membership"
reads = Depends(allow(staff(TEAM), READER))
writes = Depends(allow(staff(TEAM)))
standing_reads = Depends(allow(staff(TEAM), READER, PARTNER))
Reader = Annotated[Principal, Depends(allow(staff(TEAM), READER))]


def for_reader(org: Organisation, principal: Principal) -> Organisation:
    """The organisation as ``principal`` may see it: its contacts (names, e-mails, phones) for staff
    only — a reader gets the organisation without them."""
    return org if principal.has_any({staff(TEAM)}) else org.model_copy(update={"contacts": []})

Service = commands(MembershipService)

organisations = router("/organisations", tags=["organisations"])
applications = router("/applications", tags=["applications"])
members = router("/members", tags=["members"])
dues = router("/dues", tags=["dues"])
statistics = router("/statistics", tags=["statistics"])


# -- organisations ---------------------------------------------------------------------------
@organisations.post("", status_code=status.HTTP_201_CREATED, response_model=Organisation, dependencies=[writes],
                    responses=errors(401, 403, 409, 422, c409="SIRET already registered"),
                    summary="Register an ESS organisation")
async def register_organisation(body: OrganisationIn, response: Response, svc: Service) -> Organisation:
    profile = body.model_dump(exclude={"on"})
    org = await svc.register_organisation(profile, on=on_or_today(body))
    return tagged(response, org, f"/organisations/{org.id}")


@organisations.get("", response_model=Page[Organisation], responses=READ,
                   summary="Search organisations (readers: without their contacts)")
async def search_organisations(platform: PlatformDep, principal: Reader, limit: Limit = 50, offset: Offset = 0,
                               q: Annotated[str | None, Query(description="Name contains, or SIRET starts with.")] = None,
                               legal_form: str | None = None, departement: str | None = None,
                               sector: str | None = None, esus_agreed: bool | None = None):
    items, total = await queries.search_organisations(platform.db, q=q, legal_form=legal_form,
                                                      departement=departement, sector=sector,
                                                      esus_agreed=esus_agreed, limit=limit, offset=offset)
    return Page(items=[for_reader(o, principal) for o in items], total=total, limit=limit, offset=offset)


@organisations.get("/{organisation_id}", response_model=Organisation, responses=ONE,
                   summary="One organisation, with its contacts (staff; readers: without them)")
async def get_organisation(organisation_id: str, platform: PlatformDep, response: Response,
                           principal: Reader) -> Organisation:
    return for_reader(tagged(response, await queries.get_organisation(platform.db, organisation_id)), principal)


@organisations.patch("/{organisation_id}", response_model=Organisation, dependencies=[writes], responses=WRITE,
                     summary="Change an organisation's profile")
async def update_organisation(organisation_id: str, body: OrganisationPatch, response: Response, svc: Service,
                              if_match: IfMatch = None) -> Organisation:
    changes = body.model_dump(exclude_unset=True, exclude={"on"})
    org = await svc.update_organisation(organisation_id, changes, on=on_or_today(body),
                                        expected_version=expected(if_match))
    return tagged(response, org)


@organisations.post("/{organisation_id}/contacts", status_code=201, response_model=Organisation,
                    dependencies=[writes], responses=WRITE, summary="Add a contact person")
async def add_contact(organisation_id: str, body: ContactIn, response: Response, svc: Service,
                      if_match: IfMatch = None) -> Organisation:
    org = await svc.add_contact(organisation_id, body.model_dump(exclude={"on"}), on=on_or_today(body),
                                expected_version=expected(if_match))
    return tagged(response, org)


@organisations.delete("/{organisation_id}/contacts/{contact_id}", response_model=Organisation,
                      dependencies=[writes], responses=WRITE, summary="Remove a contact (erases their data)")
async def remove_contact(organisation_id: str, contact_id: str, response: Response, svc: Service,
                         if_match: IfMatch = None) -> Organisation:
    org = await svc.remove_contact(organisation_id, contact_id, on=today(), expected_version=expected(if_match))
    return tagged(response, org)


# -- applications ----------------------------------------------------------------------------
@applications.post("", status_code=201, response_model=MembershipApplication, dependencies=[writes],
                   responses=WRITE, summary="Submit a membership application")
async def submit_application(body: ApplicationIn, response: Response, svc: Service) -> MembershipApplication:
    application = await svc.submit_application(body.organisation_id, on=on_or_today(body))
    return tagged(response, application, f"/applications/{application.id}")


@applications.get("", response_model=Page[MembershipApplication], dependencies=[reads], responses=READ,
                  summary="List applications")
async def list_applications(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                            status: str | None = Query(None, description="submitted, welcome_meeting_held, "
                                                                          "statutes_reviewed, admitted, refused, "
                                                                          "withdrawn"),
                            organisation_id: str | None = None):
    items, total = await queries.list_applications(platform.db, status=status, organisation_id=organisation_id,
                                                   limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@applications.get("/{application_id}", response_model=MembershipApplication, dependencies=[reads],
                  responses=ONE, summary="One application and where it stands")
async def get_application(application_id: str, platform: PlatformDep, response: Response) -> MembershipApplication:
    return tagged(response, await queries.get_application(platform.db, application_id))


@applications.post("/{application_id}/welcome-meeting", response_model=MembershipApplication,
                   dependencies=[writes], responses=WRITE, summary="Record the individual welcome meeting")
async def hold_welcome_meeting(application_id: str, body: Dated, response: Response, svc: Service,
                               if_match: IfMatch = None) -> MembershipApplication:
    return tagged(response, await svc.hold_welcome_meeting(application_id, on=on_or_today(body),
                                                           expected_version=expected(if_match)))


@applications.post("/{application_id}/statutes-review", response_model=MembershipApplication,
                   dependencies=[writes], responses=WRITE,
                   summary="Record the review of a commercial company's statutes (law of 31 July 2014)")
async def review_statutes(application_id: str, body: StatutesReviewIn, response: Response, svc: Service,
                          if_match: IfMatch = None) -> MembershipApplication:
    findings = [f.model_dump() for f in body.findings]
    return tagged(response, await svc.review_statutes(application_id, findings, on=on_or_today(body),
                                                      expected_version=expected(if_match)))


@applications.post("/{application_id}/admission", response_model=MembershipApplication, dependencies=[writes],
                   responses=WRITE, summary="Record the board's decision to admit")
async def admit(application_id: str, body: AdmissionIn, response: Response, svc: Service,
                if_match: IfMatch = None) -> MembershipApplication:
    return tagged(response, await svc.admit(application_id, on=on_or_today(body),
                                            board_meeting_ref=body.board_meeting_ref,
                                            expected_version=expected(if_match)))


@applications.post("/{application_id}/refusal", response_model=MembershipApplication, dependencies=[writes],
                   responses=WRITE, summary="Record the board's decision to refuse, with its reason")
async def refuse(application_id: str, body: RefusalIn, response: Response, svc: Service,
                 if_match: IfMatch = None) -> MembershipApplication:
    return tagged(response, await svc.refuse(application_id, body.reason, on=on_or_today(body),
                                             board_meeting_ref=body.board_meeting_ref,
                                             expected_version=expected(if_match)))


@applications.post("/{application_id}/withdrawal", response_model=MembershipApplication, dependencies=[writes],
                   responses=errors(401, 403, 404, 409, 412, 422,
                                    c409="The application is decided (admitted or refused) or already withdrawn"),
                   summary="Record that the applicant withdrew its application (before the board decides)")
async def withdraw_application(application_id: str, body: ApplicationWithdrawalIn, response: Response,
                               svc: Service, if_match: IfMatch = None) -> MembershipApplication:
    return tagged(response, await svc.withdraw_application(application_id, on=on_or_today(body), reason=body.reason,
                                                           expected_version=expected(if_match)))


# -- members ---------------------------------------------------------------------------------
@members.post("", status_code=201, response_model=Member, dependencies=[writes], responses=WRITE,
              summary="Make an admitted applicant an active member (invoices its first dues)")
async def activate_member(body: ActivationIn, response: Response, svc: Service) -> Member:
    member = await svc.activate_member(body.application_id, on=on_or_today(body))
    return tagged(response, member, f"/members/{member.id}")


@members.get("", response_model=Page[Member], dependencies=[reads], responses=READ, summary="List members")
async def list_members(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                       status: str | None = Query(None, description="active, grace_period, lapsed, withdrawn")):
    items, total = await queries.list_members(platform.db, status=status, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@members.get("/in-good-standing", response_model=Page[Member], dependencies=[standing_reads], responses=READ,
             summary="Members in good standing on a date (who gets the members' discount)")
async def members_in_good_standing(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                                   on: Annotated[date | None, Query(description="Defaults to today.")] = None):
    items, total = await queries.members_in_good_standing(platform.db, on or today(), limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@members.get("/{member_id}", response_model=Member, dependencies=[reads], responses=ONE,
             summary="One member, with its dues invoices and payments")
async def get_member(member_id: str, platform: PlatformDep, response: Response) -> Member:
    return tagged(response, await queries.get_member(platform.db, member_id))


@members.get("/{member_id}/standing", response_model=Standing, dependencies=[standing_reads], responses=ONE,
             summary="Whether one organisation is a member in good standing on a date")
async def member_standing(member_id: str, platform: PlatformDep,
                          on: Annotated[date | None, Query(description="Defaults to today.")] = None) -> Standing:
    member = await queries.get_member(platform.db, member_id)
    day = on or today()
    return Standing(member_id=member.id, on=day, in_good_standing=member.in_good_standing(day),
                    status=member.status.value)


@members.post("/{member_id}/invoices", status_code=201, response_model=Member, dependencies=[writes],
              responses=WRITE, summary="Invoice a year's dues (amount from the fee scale)")
async def invoice_dues(member_id: str, body: InvoiceIn, response: Response, svc: Service,
                       if_match: IfMatch = None) -> Member:
    return tagged(response, await svc.invoice_dues(member_id, body.year, on=on_or_today(body),
                                                   expected_version=expected(if_match)))


@members.post("/{member_id}/payments", status_code=201, response_model=Member, dependencies=[writes],
              responses={200: {"description": "A replay: this payment_id was recorded before with the same "
                                              "year, amount and method; nothing changed (the first record stands)"},
                         **errors(401, 403, 404, 409, 412, 422,
                                  c409="Invoice paid or written off, member withdrawn, or this payment_id "
                                       "recorded with another year, amount or method (the detail names them)")},
              summary="Record a dues payment (partial allowed, overpayment refused, idempotent by payment_id)")
async def record_payment(member_id: str, body: PaymentIn, response: Response, svc: Service,
                         if_match: IfMatch = None) -> Member:
    member, replayed = await svc.record_payment_once(
        member_id, body.year, amount_cents=body.amount_cents, payment_id=body.payment_id, method=body.method,
        on=on_or_today(body), expected_version=expected(if_match))
    if replayed:
        response.status_code = status.HTTP_200_OK
    return tagged(response, member)


@members.post("/{member_id}/reminders", status_code=201, response_model=Member, dependencies=[writes],
              responses=WRITE, summary="Record a reminder for unpaid dues")
async def send_reminder(member_id: str, body: InvoiceIn, response: Response, svc: Service,
                        if_match: IfMatch = None) -> Member:
    return tagged(response, await svc.send_reminder(member_id, body.year, on=on_or_today(body),
                                                    expected_version=expected(if_match)))


@members.post("/{member_id}/withdrawal", response_model=Member, dependencies=[writes], responses=WRITE,
              summary="End a membership, with its reason")
async def withdraw(member_id: str, body: WithdrawalIn, response: Response, svc: Service,
                   if_match: IfMatch = None) -> Member:
    return tagged(response, await svc.withdraw(member_id, body.reason, detail=body.detail, on=on_or_today(body),
                                               expected_version=expected(if_match)))


# -- dues (batches and configuration) ----------------------------------------------------------
@dues.post("/invoicing", response_model=BatchResult, dependencies=[writes], responses=READ,
           summary="Yearly invoicing: invoice a year's dues to every active member not yet invoiced")
async def invoice_year(body: InvoiceIn, svc: Service) -> BatchResult:
    day = on_or_today(body)
    return BatchResult(on=day, counts=await svc.invoice_year(body.year, on=day))


@dues.post("/deadlines", response_model=BatchResult, dependencies=[writes], responses=READ,
           summary="Apply payment deadlines as of a date: overdue members enter their grace period, past-grace "
                   "ones lapse (judged from the facts of that date; members with later facts are not moved "
                   "back in time but listed as refused)")
async def apply_deadlines(body: Dated, svc: Service) -> BatchResult:
    day = on_or_today(body)
    counts, refused = await svc.apply_deadlines_report(on=day)
    return BatchResult(on=day, counts=counts, refused=refused)


@dues.get("/runs", response_model=list[DuesRun], dependencies=[reads], responses=READ,
          summary="What the dues runner did: daily deadlines and yearly invoicing runs, newest first")
async def dues_runs(platform: PlatformDep, limit: Limit = 50) -> list[dict]:
    return await runner.recent_runs(platform.db, limit=limit)


@dues.get("/fee-scale", response_model=FeeScale, dependencies=[reads], responses=READ,
          summary="The default fee scale (settings), used for the dues years without a voted one")
async def fee_scale(svc: Service) -> FeeScale:
    return svc.fee_scale


Year = Annotated[int, Path(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The dues year.")]


def _in_force(year: int, voted: DuesYearScale | None, default: FeeScale) -> FeeScaleInForce:
    if voted is None:
        return FeeScaleInForce(year=year, source="default", scale=default)
    return FeeScaleInForce(year=year, source="voted", scale=voted.scale, revision=voted.revision,
                           adopted_on=voted.adopted_on, reference=voted.reference, forced=voted.forced,
                           history=voted.history)


@dues.get("/fee-scales", response_model=list[FeeScaleInForce], dependencies=[reads], responses=READ,
          summary="The fee scales voted per dues year, with their history")
async def fee_scales(platform: PlatformDep) -> list[FeeScaleInForce]:
    voted = await queries.fee_scales(platform.db)
    return [_in_force(v.year, v, v.scale) for v in voted]


@dues.get("/fee-scales/{year}", response_model=FeeScaleInForce, dependencies=[reads], responses=READ,
          summary="The fee scale invoicing a dues year uses (voted for it, else the default), with its history")
async def fee_scale_of(year: Year, platform: PlatformDep, svc: Service) -> FeeScaleInForce:
    return _in_force(year, await queries.fee_scale(platform.db, year), svc.fee_scale)


@dues.put("/fee-scales/{year}", response_model=FeeScaleInForce, dependencies=[writes],
          responses={201: {"description": "The first scale of that year"},
                     **errors(401, 403, 409, 422, c409="Invoices of that year were already issued: send force=true "
                                                       "to change the scale of the invoices still to come")},
          summary="Set or replace the fee scale of a dues year (the general assembly's vote)")
async def adopt_fee_scale(year: Year, body: FeeScaleIn, response: Response, svc: Service) -> FeeScaleInForce:
    scale, created = await svc.adopt_fee_scale(year, [b.model_dump() for b in body.brackets], on=on_or_today(body),
                                               reference=body.reference, force=body.force)
    if created:
        response.status_code = status.HTTP_201_CREATED
    tagged(response, scale)
    return _in_force(year, scale, svc.fee_scale)


@dues.get("/terms", response_model=DuesTerms, dependencies=[reads], responses=READ,
          summary="Payment terms and grace period")
async def dues_terms(svc: Service) -> DuesTerms:
    return svc.terms


# -- statistics ------------------------------------------------------------------------------
@statistics.get("/yearly", response_model=list[YearFigures], dependencies=[reads], responses=READ,
                summary="Members and dues per year: counts, growth, invoiced, collected (by dues year) and received "
                        "(by the year the money came in)")
async def yearly(platform: PlatformDep, since: int | None = Query(None, ge=EARLIEST_YEAR, le=LATEST_YEAR),
                 until: int | None = Query(None, ge=EARLIEST_YEAR, le=LATEST_YEAR)) -> list[dict]:
    return await queries.yearly_statistics(platform.db, since=since, until=until)


# -- register import ---------------------------------------------------------------------------
register = router("/register-imports", tags=["register"])
REGISTER_MAX_BYTES = 20 * 1024 * 1024


@register.post(
    "", response_model=RegisterImportResult, dependencies=[writes],
    responses=errors(401, 403, 413, 422, c413="The file is over 20 MiB (use the CLI: python -m "
                                              "services.membership.register_cli import FILE)",
                     c422="The file cannot be read (field `file`: empty, not text, no kind and siret columns)"),
    summary="Import a chamber's register (multipart `file`, or the body as text/csv): organisations, members since a date, past invoices and "
            "payments, recorded as they happened (events marked imported); bad lines in the line report; "
            "importing the same file again changes nothing")
@body_limit(REGISTER_MAX_BYTES)
async def import_register(request: Request, svc: Service,
                          file: Annotated[UploadFile | None, File(
                              description="The register (CSV, ; or , separated, UTF-8 or Windows-1252) with a header "
                                          "naming at least kind and siret: kind;siret;name;legal_form;departement;"
                                          "commune;sector;headcount;annual_budget_cents;registered_on;member_since;"
                                          "year;amount_cents;issued_on;fee_bracket;paid_on;method;payment_id")] = None
                          ) -> dict:
    if file is not None:
        content = await file.read()
    elif request.headers.get("content-type", "").split(";")[0].strip() in ("text/csv", "text/plain"):
        content = await request.body()
    else:
        raise InvalidInput("file", "send the register as multipart/form-data (part `file`) or as the body with "
                                   "Content-Type: text/csv")
    return await register_import.import_register(svc, content)


ROUTERS = (organisations, applications, members, dues, statistics, register)
