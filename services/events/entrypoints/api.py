"""The events HTTP API for the catalogue, registrations, the waiting list and check-in: thin.

Roles (the table in :mod:`runtime.authorization`): writes need ``staff:events`` (or ``admin``);
reads ``staff:events`` or ``reader``, except named people and credentials — registrations, badges,
a person's calendar — which are for staff only; partners (``partner``) read the published
catalogue and its calendars. Single resources carry
an ``ETag`` (their version); writes accept ``If-Match`` (412 when stale).
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Response, status
from fastapi.responses import Response as RawResponse

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from contracts.events.registrations import EventKind, EventStatus, RegistrationStatus, Team
from runtime.api import (ONE, READ, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, errors, expected, router,
                         tagged)
from runtime.auth import PARTNER, READER, Principal, allow, staff
from services.events.adapters import queries
from services.events.domain.catalogue import Event
from services.events.domain.checkin import CheckinList, ScanOutcome
from services.events.domain.registrations import Registration
from services.events.entrypoints.calendars import calendar, vevent
from services.events.entrypoints.schemas import (AttendanceView, Badge, CancellationIn, CheckinListIn, EventIn,
                                                 EventPatch, OccupancyView, ReasonIn, RegistrationIn, RegistrationView,
                                                 ScanBatchIn, ScanBatchView, ScanIn, ScanView, StandingView,
                                                 WaitingEntry, YearFigures, waiting_entry)
from services.events.service_layer.badges import qr_svg
from services.events.service_layer.handlers import EventsService, Scanned, utc

TEAM = "events"
reads = Depends(allow(staff(TEAM), READER))
writes = Depends(allow(staff(TEAM)))
people = Depends(allow(staff(TEAM)))  # reads of named people or credentials: staff only, never readers
catalogue_reader = allow(staff(TEAM), READER, PARTNER)


def commands(platform: PlatformDep) -> EventsService:
    return platform.commands.events


Service = Annotated[EventsService, Depends(commands)]
CatalogueReader = Annotated[Principal, Depends(catalogue_reader)]


def partner_only(principal: Principal) -> bool:
    """Partners see the published catalogue only (not drafts)."""
    return not principal.has_any({staff(TEAM), READER})


events = router("/events", tags=["events"])
registrations = router("/registrations", tags=["registrations"])
checkin = router("/events", tags=["check-in"])
other = router("", tags=["calendars and figures"])


# -- the catalogue ---------------------------------------------------------------------------------
@events.post("", status_code=status.HTTP_201_CREATED, response_model=Event, dependencies=[writes],
             responses=errors(401, 403, 422), summary="Create an event (a draft until published)")
async def schedule_event(body: EventIn, response: Response, svc: Service) -> Event:
    event = await svc.schedule_event(body.model_dump())
    return tagged(response, event, f"/events/{event.id}")


@events.get("", response_model=Page[Event], responses=READ,
            summary="Search the catalogue: by kind, team, status, dates (partners: published events only)")
async def search_events(platform: PlatformDep, principal: CatalogueReader, limit: Limit = 50, offset: Offset = 0,
                        kind: EventKind | None = None, team: Team | None = None, status: EventStatus | None = None,
                        starts_from: Annotated[date | None, Query(description="First day (inclusive).")] = None,
                        starts_until: Annotated[date | None, Query(description="Last day (inclusive).")] = None,
                        q: Annotated[str | None, Query(max_length=200, description="Title contains.")] = None):
    items, total = await queries.search_events(
        platform.db, kind=kind, team=team, status=status, starts_from=starts_from, starts_until=starts_until, q=q,
        public_only=partner_only(principal), limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@events.get("/{event_id}", response_model=Event, responses=ONE, summary="One event")
async def get_event(event_id: str, platform: PlatformDep, principal: CatalogueReader, response: Response) -> Event:
    return tagged(response, await queries.get_event(platform.db, event_id, public_only=partner_only(principal)))


@events.patch("/{event_id}", response_model=Event, dependencies=[writes], responses=WRITE,
              summary="Change a draft or published event (a quota never goes below the places taken)")
async def update_event(event_id: str, body: EventPatch, response: Response, svc: Service,
                       if_match: IfMatch = None) -> Event:
    changes = body.model_dump(exclude_unset=True)
    return tagged(response, await svc.update_event(event_id, changes, expected_version=expected(if_match)))


def _lifecycle(path: str, summary: str, action: str):
    @events.post(f"/{{event_id}}/{path}", response_model=Event, dependencies=[writes], responses=WRITE,
                 summary=summary, name=action)
    async def step(event_id: str, response: Response, svc: Service, if_match: IfMatch = None) -> Event:
        handler = getattr(svc, action)
        return tagged(response, await handler(event_id, expected_version=expected(if_match)))
    return step


_lifecycle("publication", "Publish the event (registrations open within its window)", "publish_event")
_lifecycle("closing", "Close registrations", "close_registrations")
_lifecycle("held", "Record that the event took place", "mark_held")
_lifecycle("archive", "Archive a held event", "archive_event")


@events.post("/{event_id}/cancellation", response_model=Event, dependencies=[writes], responses=WRITE,
             summary="Cancel the event, with its reason (its registrations are cancelled too)")
async def cancel_event(event_id: str, body: ReasonIn, response: Response, svc: Service,
                       if_match: IfMatch = None) -> Event:
    event, cancelled = await svc.cancel_event(event_id, body.reason, expected_version=expected(if_match))
    response.headers["X-Registrations-Cancelled"] = str(cancelled)
    return tagged(response, event)


@events.get("/{event_id}/calendar.ics", response_class=RawResponse, responses=ONE,
            summary="The event as iCalendar (RFC 5545)")
async def event_calendar(event_id: str, platform: PlatformDep, principal: CatalogueReader) -> RawResponse:
    event = await queries.get_event(platform.db, event_id, public_only=partner_only(principal))
    return calendar(event.title, [vevent(event)])


@events.get("/{event_id}/occupancy", response_model=OccupancyView, dependencies=[reads], responses=ONE,
            summary="Places per category: quota, held, waiting, free")
async def occupancy(event_id: str, platform: PlatformDep) -> dict:
    return await queries.occupancy(platform.db, await queries.get_event(platform.db, event_id))


# -- registrations ------------------------------------------------------------------------------------
@events.post("/{event_id}/registrations", status_code=201, response_model=RegistrationView, dependencies=[writes],
             responses=errors(401, 403, 404, 409, 422, c409="Registrations not open, members only, or already "
                                                             "registered (the detail says which)"),
             summary="Register a person: confirmed, awaiting approval or on the waiting list")
async def register(event_id: str, body: RegistrationIn, response: Response, svc: Service) -> RegistrationView:
    made = await svc.register(event_id, **body.model_dump())
    tagged(response, made.registration, f"/registrations/{made.registration.id}")
    return RegistrationView(registration=made.registration, waitlist_position=made.waitlist_position)


@events.get("/{event_id}/registrations", response_model=Page[Registration], dependencies=[people], responses=ONE,
            summary="The registrations of an event (participants), by status and category")
async def list_registrations(event_id: str, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                             status: RegistrationStatus | None = None,
                             category: Annotated[str | None, Query(max_length=50)] = None):
    await queries.get_event(platform.db, event_id)
    items, total = await queries.registrations(platform.db, event_id, status=status, category=category,
                                               limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@events.get("/{event_id}/waiting-list", response_model=list[WaitingEntry], dependencies=[reads], responses=ONE,
            summary="The waiting list in offer order, with who holds an offer and until when")
async def waiting_list(event_id: str, platform: PlatformDep,
                       category: Annotated[str | None, Query(max_length=50)] = None) -> list[dict]:
    await queries.get_event(platform.db, event_id)
    entries, positions = [], {}
    for registration in await queries.waiting_list(platform.db, event_id, category):
        position = None
        if registration.status is RegistrationStatus.WAITLISTED:
            positions[registration.category] = positions.get(registration.category, 0) + 1
            position = positions[registration.category]
        entries.append(waiting_entry(registration, position))
    return entries


@registrations.get("/{registration_id}", response_model=RegistrationView, dependencies=[people], responses=ONE,
                   summary="One registration, its history and offers, and its place on the waiting list")
async def get_registration(registration_id: str, platform: PlatformDep, response: Response) -> RegistrationView:
    registration = await queries.get_registration(platform.db, registration_id)
    tagged(response, registration)
    return RegistrationView(registration=registration,
                            waitlist_position=await queries.waitlist_position(platform.db, registration))


def _registration_step(path: str, summary: str, action: str, body_model=None):
    if body_model is None:
        @registrations.post(f"/{{registration_id}}/{path}", response_model=Registration, dependencies=[writes],
                            responses=WRITE, summary=summary, name=action)
        async def step(registration_id: str, response: Response, svc: Service, if_match: IfMatch = None):
            handler = getattr(svc, action)
            return tagged(response, await handler(registration_id, expected_version=expected(if_match)))
        return step

    async def step_with_body(registration_id: str, body, response: Response, svc: Service,
                             if_match: IfMatch = None):
        handler = getattr(svc, action)
        return tagged(response, await handler(registration_id, **body.model_dump(),
                                              expected_version=expected(if_match)))
    step_with_body.__annotations__["body"] = body_model  # a real class, not the string of a forward reference
    return registrations.post(f"/{{registration_id}}/{path}", response_model=Registration, dependencies=[writes],
                              responses=WRITE, summary=summary, name=action)(step_with_body)


_registration_step("cancellation", "Cancel a registration (a freed place is offered to the next in line)",
                   "cancel_registration", CancellationIn)
_registration_step("approval", "Approve a registration awaiting approval", "approve")
_registration_step("rejection", "Reject a registration awaiting approval (the place is offered on)", "reject",
                   ReasonIn)
_registration_step("offer/acceptance", "Take the place offered from the waiting list (before it expires)",
                   "accept_offer")
_registration_step("offer/decline", "Decline the place offered (it goes to the next in line)", "decline_offer")


@registrations.get("/{registration_id}/badge", response_model=Badge, dependencies=[people], responses=ONE,
                   summary="The signed check-in badge of a registration")
async def badge(registration_id: str, platform: PlatformDep, svc: Service) -> Badge:
    registration = await queries.get_registration(platform.db, registration_id)
    return Badge(registration_id=registration.id, event_id=registration.event_id,
                 token=svc.badges.token(registration.event_id, registration.id),
                 qr_svg_url=f"/registrations/{registration.id}/badge.svg")


@registrations.get("/{registration_id}/badge.svg", response_class=RawResponse, dependencies=[people], responses=ONE,
                   summary="The badge's QR code (SVG, to print or show)")
async def badge_svg(registration_id: str, platform: PlatformDep, svc: Service) -> RawResponse:
    registration = await queries.get_registration(platform.db, registration_id)
    return RawResponse(qr_svg(svc.badges.token(registration.event_id, registration.id)), media_type="image/svg+xml")


# -- check-in ---------------------------------------------------------------------------------------
@checkin.post("/{event_id}/checkin-lists", status_code=201, response_model=CheckinList, dependencies=[writes],
              responses=WRITE, summary="Add a check-in list (a gate, or a room) to an event")
async def create_checkin_list(event_id: str, body: CheckinListIn, svc: Service) -> CheckinList:
    return await svc.create_checkin_list(event_id, **body.model_dump())


@checkin.get("/{event_id}/checkin-lists", response_model=list[CheckinList], dependencies=[reads], responses=ONE,
             summary="The check-in lists of an event")
async def list_checkin_lists(event_id: str, platform: PlatformDep) -> list[CheckinList]:
    await queries.get_event(platform.db, event_id)
    return await queries.checkin_lists(platform.db, event_id)


def _scan_view(scanned: Scanned) -> ScanView:
    return ScanView(result=scanned.result, ok=scanned.result.ok, message=scanned.result.message(scanned.time_zone))


@checkin.post("/{event_id}/scans", response_model=ScanView, dependencies=[writes], responses=WRITE,
              summary="Scan a badge at a gate (entry or exit); the same nonce again changes nothing")
async def scan(event_id: str, body: ScanIn, svc: Service) -> ScanView:
    return _scan_view(await svc.scan(event_id, **{**body.model_dump(), "scanned_at": utc(body.scanned_at)}))


@checkin.post("/{event_id}/scans/batch", response_model=ScanBatchView, dependencies=[writes], responses=WRITE,
              summary="Upload the scans of a gate that was offline: each reconciled on its own, idempotently")
async def scan_batch(event_id: str, body: ScanBatchIn, svc: Service, platform: PlatformDep) -> ScanBatchView:
    await queries.get_event(platform.db, event_id)  # an unknown event refuses the whole batch (404)
    scans = [{**s.model_dump(), "scanned_at": utc(s.scanned_at)} for s in body.scans]
    results = [r if isinstance(r, dict) else _scan_view(r) for r in await svc.scan_batch(event_id, scans)]
    outcomes = [r.result.outcome for r in results if isinstance(r, ScanView)]
    return ScanBatchView(results=results, checked_in=outcomes.count(ScanOutcome.CHECKED_IN),
                         already=outcomes.count(ScanOutcome.ALREADY_CHECKED_IN),
                         invalid=outcomes.count(ScanOutcome.INVALID),
                         refused=sum(isinstance(r, dict) for r in results))


@checkin.get("/{event_id}/attendance", response_model=AttendanceView, dependencies=[reads], responses=ONE,
             summary="Attendance and no-shows per category (confirmed registrations checked in)")
async def attendance(event_id: str, platform: PlatformDep,
                     list_id: Annotated[str | None, Query(max_length=100)] = None) -> dict:
    return await queries.event_attendance(platform.db, await queries.get_event(platform.db, event_id), list_id)


# -- calendars, standing, figures --------------------------------------------------------------------
@other.get("/calendar.ics", response_class=RawResponse, dependencies=[people], responses=READ,
           summary="A person's calendar: every event they are registered for (by e-mail)")
async def person_calendar(platform: PlatformDep,
                          email: Annotated[str, Query(min_length=3, max_length=254)]) -> RawResponse:
    pairs = await queries.registrations_of_person(platform.db, email)
    return calendar("CRESS — mes événements", [vevent(e, summary_suffix=(
        " (en attente)" if r.status is not RegistrationStatus.CONFIRMED else "")) for r, e in pairs])


@other.get("/organisations/{organisation_id}/standing", response_model=StandingView, dependencies=[reads],
           responses=READ, summary="Whether an organisation is a member in good standing, as this service knows it "
                                   "from membership's events")
async def organisation_standing(organisation_id: str, platform: PlatformDep) -> dict:
    return await queries.organisation_standing(platform.db, organisation_id)


@other.get("/statistics/yearly", response_model=YearFigures, dependencies=[reads], responses=READ,
           summary="Events held in a year per kind and per team, with participants and check-ins")
async def yearly(platform: PlatformDep,
                 year: Annotated[int, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR)]) -> dict:
    return await queries.yearly_figures(platform.db, year)


ROUTERS = (events, registrations, checkin, other)
