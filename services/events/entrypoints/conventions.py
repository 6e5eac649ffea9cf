"""The business-conventions HTTP API ("OpenMap ESS", rencontres d'affaires): thin.

A convention is an event of kind ``business_convention`` (``POST /events``); its id is the
convention id. The organiser configures it (``PUT /conventions/{id}/settings``), confirmed
registrations join as participants, participants ask to meet each other, the organiser locks or
forces meetings, runs the scheduler in the background (``POST .../schedule-runs``, then poll),
publishes the agendas (JSON, iCalendar, printable pages), records arrivals and no-shows on the
day (a badge check-in at the event's door counts as an arrival), re-plans, and afterwards records
which meetings were held and what came of them.

Roles (the table in :mod:`runtime.authorization`): writes need ``staff:events`` (or ``admin``),
reads ``staff:events`` or ``reader``, except named people — participants, their agendas, meeting
requests and their messages — which are for staff only.
Participants have no login in this version: what a participant does for itself (answer a request,
withdraw it, update its profile, read its agenda) is done by staff, or by an app acting on the
participant's behalf with the ``staff:events`` role.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Response, status
from fastapi.responses import HTMLResponse, Response as RawResponse
from icalendar import Event as VEvent

from contracts.events.conventions import MeetingRequestStatus, ParticipantRole
from runtime.api import ONE, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, errors, expected, router
from runtime.auth import READER, allow, staff
from runtime.errors import DomainError
from services.events.adapters import convention_queries as q
from services.events.adapters import queries
from services.events.adapters.repository import MEETING_REQUESTS
from services.events.domain.catalogue import Event
from services.events.domain.conventions import (Convention, ConventionMeeting, ConventionParticipant,
                                                MeetingRequest, PublishedAgendas, agenda_of, agendas)
from services.events.entrypoints.agenda_pages import Header, Person, Row, page_response
from services.events.entrypoints.calendars import calendar
from services.events.entrypoints.convention_schemas import (AgendaItemView, AgendaView, ArrivalView, ConventionView,
                                                            FiguresView, LockIn, MarkIn, MeetingScanIn,
                                                            MeetingScanView, MeetingView, OutcomeIn, OutcomeView,
                                                            ParticipantIn, ParticipantPatch, ParticipantView,
                                                            PublicationView, RequestIn, RunIn, RunView,
                                                            SettingsIn, SettlementView, TableScansIn,
                                                            TableScansView, UnscheduledView, convention_view)
from services.events.service_layer.conventions import ConventionsService

TEAM = "events"
reads = Depends(allow(staff(TEAM), READER))
writes = Depends(allow(staff(TEAM)))
people = Depends(allow(staff(TEAM)))  # reads of named people or their own words: staff only, never readers
ON_BEHALF = ("Participants have no login in this version: staff (`staff:events`), or an app acting on the "
             "participant's behalf with that role, do this for the participant.")


def commands(platform: PlatformDep) -> ConventionsService:
    return platform.commands.conventions


Service = Annotated[ConventionsService, Depends(commands)]

setup = router("/conventions", tags=["conventions"])
asking = router("/conventions", tags=["convention requests"])
planning = router("/conventions", tags=["convention scheduling and agendas"])
day = router("/conventions", tags=["convention day and follow-up"])


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


async def _view(platform, convention: Convention, response: Response | None = None) -> dict:
    event = await queries.get_event(platform.db, convention.id)
    if response is not None:
        _etag(response, convention.version)
    return convention_view(convention, event)


async def _participant_view(platform, participant: ConventionParticipant) -> ParticipantView:
    names = (await q.people(platform.db, [participant.id]))[participant.id]
    return ParticipantView(**participant.model_dump(), **names)


# -- settings and the convention ---------------------------------------------------------------------
@setup.put("/{convention_id}/settings", response_model=ConventionView, dependencies=[writes],
           responses=errors(401, 403, 404, 409, 412, 422, c409="The event is not a business convention, is "
                                                               "cancelled, or the new settings would drop a "
                                                               "planned or locked meeting"),
           summary="Configure the convention: slots (given or generated around breaks), tables, request expiry…",
           description="The event must exist with kind `business_convention` (201 the first time, then 200). "
                       "Slots lie within the event; a change that removes the slot or table of a planned or "
                       "locked meeting is refused (409). Send `If-Match` to change what you read.")
async def configure(convention_id: str, body: SettingsIn, response: Response, svc: Service, platform: PlatformDep,
                    if_match: IfMatch = None) -> dict:
    convention, created = await svc.configure(convention_id, body.model_dump(), expected_version=expected(if_match))
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/conventions/{convention_id}"
    return await _view(platform, convention, response)


@setup.get("/{convention_id}", response_model=ConventionView, dependencies=[reads], responses=ONE,
           summary="A convention: settings, locked meetings, plan quality (bound, gap, status), runs, agendas")
async def get_convention(convention_id: str, platform: PlatformDep, response: Response) -> dict:
    return await _view(platform, await q.get_convention(platform.db, convention_id), response)


@setup.get("/{convention_id}/figures", response_model=FiguresView, dependencies=[reads], responses=ONE,
           summary="Figures: meetings scheduled, held, held rate, outcomes per kind, signed contracts' total")
async def figures(convention_id: str, platform: PlatformDep) -> dict:
    convention = await q.get_convention(platform.db, convention_id)
    return {**convention.figures().model_dump(),
            "participants": await q.participant_figures(platform.db, convention_id),
            "requests": await q.counts(platform.db, MEETING_REQUESTS, convention_id, "status"),
            "unscheduled": len(convention.unscheduled)}


# -- participants -----------------------------------------------------------------------------------------
@setup.post("/{convention_id}/participants", status_code=201, response_model=ParticipantView, dependencies=[writes],
            responses=errors(401, 403, 404, 409, 422, c409="The registration is not confirmed, has joined already, "
                                                           "or the convention has no settings yet"),
            summary="A confirmed registration of the event joins the meetings, with its role and profile",
            description="The participant id is the registration id. An unknown registration, or one of another "
                        "event, is a 422 naming `registration_id`. " + ON_BEHALF)
async def join(convention_id: str, body: ParticipantIn, response: Response, svc: Service,
               platform: PlatformDep) -> ParticipantView:
    participant = await svc.join(convention_id, **body.model_dump())
    _etag(response, participant.version)
    response.headers["Location"] = f"/conventions/{convention_id}/participants/{participant.id}"
    return await _participant_view(platform, participant)


@setup.get("/{convention_id}/participants", response_model=Page[ParticipantView], dependencies=[people],
           responses=ONE, summary="The participants, by role, status, arrival and no-show")
async def list_participants(convention_id: str, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                            role: ParticipantRole | None = None,
                            status: Literal["active", "left"] | None = None,
                            arrived: bool | None = None, no_show: bool | None = None) -> Page:
    await q.get_convention(platform.db, convention_id)
    items, total = await q.participants(platform.db, convention_id, role=role, status=status, arrived=arrived,
                                        no_show=no_show, limit=limit, offset=offset)
    names = await q.people(platform.db, [p.id for p in items])
    return Page(items=[ParticipantView(**p.model_dump(), **names[p.id]) for p in items], total=total, limit=limit,
                offset=offset)


@setup.get("/{convention_id}/participants/{participant_id}", response_model=ParticipantView, dependencies=[people],
           responses=ONE, summary="One participant: role, profile, availability, arrival")
async def get_participant(convention_id: str, participant_id: str, platform: PlatformDep,
                          response: Response) -> ParticipantView:
    participant = await q.get_participant(platform.db, convention_id, participant_id)
    _etag(response, participant.version)
    return await _participant_view(platform, participant)


@setup.patch("/{convention_id}/participants/{participant_id}", response_model=ParticipantView, dependencies=[writes],
             responses=WRITE, summary="Update a participant's profile, availability or maximum of meetings",
             description="Only the fields given change. " + ON_BEHALF)
async def update_participant(convention_id: str, participant_id: str, body: ParticipantPatch, response: Response,
                             svc: Service, platform: PlatformDep, if_match: IfMatch = None) -> ParticipantView:
    participant = await svc.update_participant(convention_id, participant_id, body.model_dump(exclude_unset=True),
                                               expected_version=expected(if_match))
    _etag(response, participant.version)
    return await _participant_view(platform, participant)


@setup.post("/{convention_id}/participants/{participant_id}/withdrawal", response_model=ParticipantView,
            dependencies=[writes], responses=WRITE,
            summary="A participant leaves the meetings (its meetings are released at the next run)",
            description=ON_BEHALF)
async def leave(convention_id: str, participant_id: str, response: Response, svc: Service, platform: PlatformDep,
                if_match: IfMatch = None) -> ParticipantView:
    participant = await svc.leave(convention_id, participant_id, expected_version=expected(if_match))
    _etag(response, participant.version)
    return await _participant_view(platform, participant)


@day.post("/{convention_id}/participants/{participant_id}/arrival", response_model=ArrivalView,
          dependencies=[writes], responses=WRITE,
          summary="On the day: the participant is here (clears a no-show: a late arrival)",
          description="A badge check-in at the event's door (`POST /events/{id}/scans`) records the arrival too, "
                      "in the same transaction.")
async def arrival(convention_id: str, participant_id: str, svc: Service, platform: PlatformDep) -> dict:
    participant, changed = await svc.record_arrival(convention_id, participant_id)
    return {"participant": await _participant_view(platform, participant), "changed": changed}


@day.post("/{convention_id}/participants/{participant_id}/no-show", response_model=ArrivalView,
          dependencies=[writes], responses=WRITE,
          summary="On the day: the participant is not coming (its meetings are released at the next re-plan)")
async def no_show(convention_id: str, participant_id: str, svc: Service, platform: PlatformDep) -> dict:
    participant, changed = await svc.record_no_show(convention_id, participant_id)
    return {"participant": await _participant_view(platform, participant), "changed": changed}


# -- meeting requests -----------------------------------------------------------------------------------------
@asking.post("/{convention_id}/requests", status_code=201, response_model=MeetingRequest, dependencies=[writes],
             responses=errors(401, 403, 404, 409, 422, c409="A live request of the same direction exists "
                                                            "(existing_request_id), a participant left, or the "
                                                            "convention is over"),
             summary="A participant asks to meet another (it expires unanswered after the convention's delay)",
             description="The message stays in this service (events only say whether there is one). " + ON_BEHALF)
async def send_request(convention_id: str, body: RequestIn, response: Response, svc: Service) -> MeetingRequest:
    request = await svc.send_request(convention_id, **body.model_dump())
    _etag(response, request.version)
    response.headers["Location"] = f"/conventions/{convention_id}/requests/{request.id}"
    return request


@asking.get("/{convention_id}/requests", response_model=Page[MeetingRequest], dependencies=[people], responses=ONE,
            summary="Meeting requests, by participant (sent, received or both) and by status")
async def list_requests(convention_id: str, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                        participant_id: Annotated[str | None, Query(max_length=100)] = None,
                        direction: Literal["sent", "received", "any"] = "any",
                        status: MeetingRequestStatus | None = None, forced: bool | None = None) -> Page:
    await q.get_convention(platform.db, convention_id)
    items, total = await q.requests(platform.db, convention_id, participant_id=participant_id, direction=direction,
                                    status=status, forced=forced, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@asking.get("/{convention_id}/requests/{request_id}", response_model=MeetingRequest, dependencies=[people],
            responses=ONE, summary="One meeting request")
async def get_request(convention_id: str, request_id: str, platform: PlatformDep, response: Response):
    request = await q.get_request(platform.db, convention_id, request_id)
    _etag(response, request.version)
    return request


def _request_step(path: str, action: str, summary: str, description: str) -> None:
    @asking.post(f"/{{convention_id}}/requests/{{request_id}}/{path}", response_model=MeetingRequest,
                 dependencies=[writes], responses=WRITE, summary=summary, description=description, name=action)
    async def step(convention_id: str, request_id: str, response: Response, svc: Service,
                   if_match: IfMatch = None) -> MeetingRequest:
        request = await getattr(svc, action)(convention_id, request_id, expected_version=expected(if_match))
        _etag(response, request.version)
        return request


_request_step("acceptance", "accept_request", "The requested participant accepts (also after declining)",
              "Answering again the same changes nothing. " + ON_BEHALF)
_request_step("decline", "decline_request", "The requested participant declines (also after accepting)",
              "A declined pair is never scheduled unless the organiser forces it. " + ON_BEHALF)
_request_step("withdrawal", "withdraw_request", "The requester withdraws its pending or accepted request",
              ON_BEHALF)
_request_step("forcing", "force_request", "The organiser forces the pair: scheduled as if accepted, top priority",
              "Overrides a decline or an expiry; a withdrawn request cannot be forced (lock the meeting instead).")


# -- locked meetings -------------------------------------------------------------------------------------------
@planning.post("/{convention_id}/locked-meetings", status_code=201, response_model=ConventionView,
               dependencies=[writes], responses=WRITE,
               summary="The organiser locks a meeting in a slot (and a table): every later run keeps it")
async def lock_meeting(convention_id: str, body: LockIn, response: Response, svc: Service, platform: PlatformDep,
                       if_match: IfMatch = None) -> dict:
    convention = await svc.lock_meeting(convention_id, **body.model_dump(), expected_version=expected(if_match))
    return await _view(platform, convention, response)


@planning.delete("/{convention_id}/locked-meetings/{a}/{b}", response_model=ConventionView, dependencies=[writes],
                 responses=WRITE, summary="Unlock a meeting (the current plan keeps it until the next run)")
async def unlock_meeting(convention_id: str, a: str, b: str, response: Response, svc: Service,
                         platform: PlatformDep, if_match: IfMatch = None) -> dict:
    convention = await svc.unlock_meeting(convention_id, a, b, expected_version=expected(if_match))
    return await _view(platform, convention, response)


# -- scheduling runs -------------------------------------------------------------------------------------------
@planning.post("/{convention_id}/schedule-runs", status_code=status.HTTP_202_ACCEPTED, response_model=RunView,
               dependencies=[writes],
               responses=errors(401, 403, 404, 409, 422, c409="A run is in progress (run_id), no plan to re-plan, "
                                                              "nothing left to re-plan, or an initial run once "
                                                              "meetings were held"),
               summary="Start a scheduling run in the background (initial, or replan on the day); poll it",
               description="Answers 202 at once with the run (status `queued`); poll "
                           "`GET /conventions/{id}/schedule-runs/{run_id}` until `done` (the plan is then current, "
                           "with its quality: meetings, weighted, bound, gap, status) or `failed`. One run at a "
                           "time. A run whose process stopped is failed on the next request (no heartbeat for 60 s).")
async def start_run(convention_id: str, body: RunIn, response: Response, svc: Service) -> dict:
    doc = await svc.start_run(convention_id, **body.model_dump())
    response.headers["Location"] = f"/conventions/{convention_id}/schedule-runs/{doc['_id']}"
    return q.run_view(doc)


@planning.get("/{convention_id}/schedule-runs", response_model=Page[RunView], dependencies=[reads], responses=ONE,
              summary="The scheduling runs, latest first")
async def list_runs(convention_id: str, platform: PlatformDep, svc: Service, limit: Limit = 50,
                    offset: Offset = 0) -> Page:
    await q.get_convention(platform.db, convention_id)
    await svc.reap_stale_runs(convention_id)
    items, total = await q.runs(platform.db, convention_id, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@planning.get("/{convention_id}/schedule-runs/{run_id}", response_model=RunView, dependencies=[reads], responses=ONE,
              summary="One scheduling run: status, phase, progress, result quality (bound, gap, status)")
async def get_run(convention_id: str, run_id: str, platform: PlatformDep, svc: Service) -> dict:
    await svc.reap_stale_runs(convention_id)
    return await q.get_run(platform.db, convention_id, run_id)


# -- agendas -----------------------------------------------------------------------------------------------------
@planning.post("/{convention_id}/agendas/publication", response_model=PublicationView, dependencies=[writes],
               responses=WRITE, summary="Publish the current plan as the next agenda version",
               description="Nothing new when the plan equals the last version (`new`: false). "
                           "`changed_participant_ids` says whose agenda differs from the previous version.")
async def publish(convention_id: str, svc: Service, if_match: IfMatch = None) -> dict:
    published, new = await svc.publish_agendas(convention_id, expected_version=expected(if_match))
    return {**_publication(published), "new": new}


def _publication(p: PublishedAgendas) -> dict:
    return {"version": p.version, "run_id": p.run_id, "published_at": p.published_at, "meetings": len(p.meetings),
            "participants": len({x for m in p.meetings for x in (m.a, m.b)}),
            "changed_participant_ids": list(p.changed_participant_ids)}


Version = Annotated[int | None, Query(ge=1, le=1_000_000, description="A published version (default: the latest).")]
Preview = Annotated[bool, Query(description="The current plan, not yet published (the organiser's preview).")]


async def _agenda_source(platform, convention_id: str, version: int | None,
                         preview: bool) -> tuple[Event, Convention, PublishedAgendas | None]:
    """The event, and the convention with the agenda version asked for as its ``published``."""
    event = await queries.get_event(platform.db, convention_id)
    convention = await q.get_convention(platform.db, convention_id)
    if preview:
        return event, convention, None
    if version is not None and version != convention.agenda_version:
        old = await q.agenda_version(platform.db, convention_id, version)
        convention = convention.model_copy(update={"published": old})
    return event, convention, convention.published


async def _agenda(platform, convention_id: str, participant_id: str, version: int | None,
                  preview: bool) -> tuple[Event, PublishedAgendas | None, dict]:
    event, convention, published = await _agenda_source(platform, convention_id, version, preview)
    participant = await q.get_participant(platform.db, convention_id, participant_id)
    parts = await q.all_participants(platform.db, convention_id)
    items = agenda_of(convention, participant_id, parts, published=not preview)
    names = await q.people(platform.db, [participant_id, *(i.counterpart_id for i in items)])
    zone = ZoneInfo(event.time_zone)
    view = {
        "convention_id": convention_id, "participant_id": participant_id, "role": participant.role,
        "name": names[participant_id]["name"], "organisation_name": names[participant_id]["organisation_name"],
        "version": None if published is None else published.version,
        "published_at": None if published is None else published.published_at, "time_zone": event.time_zone,
        "items": [AgendaItemView(
            meeting_id=i.meeting_id, slot_id=i.slot_id, start_at=i.start_at.astimezone(zone),
            end_at=i.end_at.astimezone(zone), table=i.table, counterpart_id=i.counterpart_id,
            counterpart_name=names[i.counterpart_id]["name"],
            counterpart_organisation_id=i.counterpart_organisation_id,
            counterpart_organisation_name=names[i.counterpart_id]["organisation_name"],
            counterpart_role=i.counterpart_role) for i in items]}
    return event, published, view


@planning.get("/{convention_id}/participants/{participant_id}/agenda", response_model=AgendaView,
              dependencies=[people], responses=errors(401, 403, 404, 409, 422, c409="No agenda published yet"),
              summary="A participant's agenda (published version): times, tables, counterparts",
              description=ON_BEHALF)
async def agenda(convention_id: str, participant_id: str, platform: PlatformDep, version: Version = None,
                 preview: Preview = False) -> dict:
    return (await _agenda(platform, convention_id, participant_id, version, preview))[2]


@planning.get("/{convention_id}/participants/{participant_id}/agenda.ics", response_class=RawResponse,
              dependencies=[people], responses=errors(401, 403, 404, 409, 422, c409="No agenda published yet"),
              summary="A participant's agenda as iCalendar: one event per meeting, SEQUENCE = agenda version",
              description="UIDs are stable per meeting (`<meeting id>@cress`); a meeting of an earlier version that "
                          "is no longer in the agenda comes back with STATUS:CANCELLED, so that a calendar that "
                          "imported it removes it. " + ON_BEHALF)
async def agenda_ics(convention_id: str, participant_id: str, platform: PlatformDep) -> RawResponse:
    event, published, view = await _agenda(platform, convention_id, participant_id, None, False)
    stamp = published.published_at
    place = event.place or event.online_url
    components = []
    current = set()
    for item in view["items"]:
        current.add(item.meeting_id)
        who = item.counterpart_organisation_name or item.counterpart_organisation_id or item.counterpart_id
        role = item.counterpart_role.value if item.counterpart_role else ""
        components.append(VEvent.new(
            uid=f"{item.meeting_id}@cress", summary=f"RDV d'affaires : {who} (table {item.table})",
            start=item.start_at, end=item.end_at, stamp=stamp, sequence=published.version, status="CONFIRMED",
            location=f"{place} — table {item.table}" if place else f"Table {item.table}",
            description="\n".join(x for x in (f"{event.title}", f"Avec : {who}", item.counterpart_name or "",
                                              f"Profil : {role}", f"Table {item.table}") if x),
            categories=["business_convention"]))
    zone = ZoneInfo(event.time_zone)
    earlier = await q.earlier_meetings_of(platform.db, convention_id, participant_id, published.version)
    for meeting_id, m in sorted(earlier.items()):
        if meeting_id in current:
            continue
        components.append(VEvent.new(
            uid=f"{meeting_id}@cress", summary="Annulé : rendez-vous d'affaires",
            start=datetime.fromisoformat(m["start_at"]).astimezone(zone),
            end=datetime.fromisoformat(m["end_at"]).astimezone(zone), stamp=stamp, sequence=published.version,
            status="CANCELLED"))
    return calendar(f"{event.title} — mes rendez-vous", components)


def _person(participant: ConventionParticipant, names: dict, items, zone: ZoneInfo) -> Person:
    own = names.get(participant.id, {})
    rows = tuple(Row(start_at=i.start_at, end_at=i.end_at, table=i.table,
                     counterpart_organisation=(names.get(i.counterpart_id, {}).get("organisation_name")
                                               or i.counterpart_organisation_id or i.counterpart_id),
                     counterpart_name=names.get(i.counterpart_id, {}).get("name"),
                     counterpart_role=i.counterpart_role) for i in items)
    return Person(participant_id=participant.id, name=own.get("name"),
                  organisation=own.get("organisation_name") or participant.organisation_id or participant.id,
                  role=participant.role, rows=rows)


def _header(event: Event, convention: Convention, published: PublishedAgendas | None) -> Header:
    return Header(title=event.title, place=event.place, time_zone=event.time_zone,
                  version=None if published is None else published.version,
                  published_at=None if published is None else published.published_at,
                  breaks=tuple((b.start_at, b.end_at) for b in convention.settings.breaks))


@planning.get("/{convention_id}/participants/{participant_id}/agenda.html", response_class=HTMLResponse,
              dependencies=[people], responses=errors(401, 403, 404, 409, 422, c409="No agenda published yet"),
              summary="A participant's agenda as a printable page (no network needed to print it)",
              description="Plain HTML and print CSS, no script, font or stylesheet to fetch; times in the event's "
                          "time zone (Europe/Paris), table numbers, counterparts' organisation, name and role. "
                          + ON_BEHALF)
async def agenda_html(convention_id: str, participant_id: str, platform: PlatformDep, version: Version = None,
                      preview: Preview = False) -> HTMLResponse:
    event, convention, published = await _agenda_source(platform, convention_id, version, preview)
    participant = await q.get_participant(platform.db, convention_id, participant_id)
    parts = await q.all_participants(platform.db, convention_id)
    items = agenda_of(convention, participant_id, parts, published=not preview)
    names = await q.people(platform.db, [participant_id, *(i.counterpart_id for i in items)])
    person = _person(participant, names, items, ZoneInfo(event.time_zone))
    return page_response(_header(event, convention, published), [person], f"agenda-{participant_id}.html")


@planning.get("/{convention_id}/agendas.html", response_class=HTMLResponse, dependencies=[people],
              responses=errors(401, 403, 404, 409, 422, c409="No agenda published yet"),
              summary="Every participant's agenda, one printed page each, for the organiser to print")
async def agendas_html(convention_id: str, platform: PlatformDep, version: Version = None,
                       preview: Preview = False,
                       role: ParticipantRole | None = None) -> HTMLResponse:
    event, convention, published = await _agenda_source(platform, convention_id, version, preview)
    parts = await q.all_participants(platform.db, convention_id)
    every = agendas(convention, parts, published=not preview)
    names = await q.people(platform.db, list(parts))
    zone = ZoneInfo(event.time_zone)
    shown = [p for p in parts.values() if (p.is_active or p.id in every) and (role is None or p.role is role)]
    shown.sort(key=lambda p: ((names[p.id]["organisation_name"] or p.organisation_id or p.id).casefold(), p.id))
    people = [_person(p, names, every.get(p.id, ()), zone) for p in shown]
    return page_response(_header(event, convention, published), people, f"agendas-{convention_id}.html")


# -- meetings: held or not, outcomes ---------------------------------------------------------------------------------
def _meeting_view(convention: Convention, meeting: ConventionMeeting, zone: ZoneInfo) -> MeetingView:
    slot = convention.settings.slot(meeting.slot_id)
    return MeetingView(**meeting.model_dump(), start_at=slot.start_at.astimezone(zone),
                       end_at=slot.end_at.astimezone(zone))


async def _zone(platform, convention_id: str) -> ZoneInfo:
    return ZoneInfo((await queries.get_event(platform.db, convention_id)).time_zone)


@day.get("/{convention_id}/meetings", response_model=Page[MeetingView], dependencies=[reads], responses=ONE,
         summary="The meetings of the current plan, by participant, slot, table, held or not")
async def list_meetings(convention_id: str, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                        participant_id: Annotated[str | None, Query(max_length=100)] = None,
                        slot_id: Annotated[str | None, Query(max_length=100)] = None,
                        table: Annotated[int | None, Query(ge=1, le=5000)] = None,
                        held: Literal["held", "not_held", "unmarked"] | None = None) -> Page:
    convention = await q.get_convention(platform.db, convention_id)
    wanted = {"held": True, "not_held": False, "unmarked": None}
    found = [m for m in convention.meetings
             if (participant_id is None or participant_id in m.participants)
             and (slot_id is None or m.slot_id == slot_id) and (table is None or m.table == table)
             and (held is None or m.held is wanted[held])]
    zone = await _zone(platform, convention_id)
    return Page(items=[_meeting_view(convention, m, zone) for m in found[offset:offset + limit]], total=len(found),
                limit=limit, offset=offset)


@day.get("/{convention_id}/meetings/{meeting_id}", response_model=MeetingView, dependencies=[reads], responses=ONE,
         summary="One meeting: slot, table, participants, scans, held or not, outcomes")
async def get_meeting(convention_id: str, meeting_id: str, platform: PlatformDep) -> MeetingView:
    convention = await q.get_convention(platform.db, convention_id)
    return _meeting_view(convention, convention.meeting(meeting_id), await _zone(platform, convention_id))


@day.get("/{convention_id}/unscheduled", response_model=Page[UnscheduledView], dependencies=[reads], responses=ONE,
         summary="The requests the current plan leaves without a meeting, and why")
async def unscheduled(convention_id: str, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                      participant_id: Annotated[str | None, Query(max_length=100)] = None) -> Page:
    convention = await q.get_convention(platform.db, convention_id)
    found = [u for u in convention.unscheduled
             if participant_id is None or participant_id in (u.from_participant_id, u.to_participant_id)]
    return Page(items=[UnscheduledView(**u.model_dump(mode="json")) for u in found[offset:offset + limit]],
                total=len(found), limit=limit, offset=offset)


@day.post("/{convention_id}/meetings/{meeting_id}/scans", response_model=MeetingScanView, dependencies=[writes],
          responses=WRITE, summary="A badge scanned at the meeting's table: held once both sides are scanned",
          description="By participant id, or by the event badge's token (its QR code). A badge scanned again "
                      "changes nothing; a scan more than 15 minutes before the slot is refused.")
async def scan_meeting(convention_id: str, meeting_id: str, body: MeetingScanIn, svc: Service,
                       platform: PlatformDep) -> dict:
    convention, meeting, held_now = await svc.scan_meeting(convention_id, meeting_id, **body.model_dump())
    return {"meeting": _meeting_view(convention, meeting, await _zone(platform, convention_id)), "held_now": held_now}


@day.post("/{convention_id}/meeting-scans", response_model=TableScansView, dependencies=[writes],
          responses=WRITE, summary="Upload table scans together (a table's device, or one that was offline)",
          description="One write of the convention for the whole batch (scans at a hundred tables at the start "
                      "of a slot do not each rewrite it). Each scan is applied on its own, in the order given; a "
                      "refused one (unknown meeting, badge of someone else, too early) is reported by its index "
                      "and changes nothing; a badge scanned again changes nothing.")
async def scan_meetings(convention_id: str, body: TableScansIn, svc: Service) -> dict:
    _, results = await svc.scan_meetings(convention_id, [s.model_dump() for s in body.scans])
    rows = []
    for i, outcome in results:
        if isinstance(outcome, DomainError):
            rows.append({"index": i, "meeting_id": body.scans[i].meeting_id, "held_now": None,
                         "status": outcome.status, "detail": outcome.detail, "field": outcome.extra.get("field")})
        else:
            rows.append({"index": i, "meeting_id": outcome[0], "held_now": outcome[1], "status": 200})
    return {"results": rows, "recorded": sum(r["status"] == 200 for r in rows),
            "held_now": sum(bool(r["held_now"]) for r in rows), "refused": sum(r["status"] != 200 for r in rows)}


@day.post("/{convention_id}/meetings/{meeting_id}/mark", response_model=MeetingView, dependencies=[writes],
          responses=WRITE, summary="The organiser marks a meeting held or not held (overrides the badges)")
async def mark_meeting(convention_id: str, meeting_id: str, body: MarkIn, svc: Service,
                       platform: PlatformDep) -> MeetingView:
    convention, meeting = await svc.mark_meeting(convention_id, meeting_id, body.held)
    return _meeting_view(convention, meeting, await _zone(platform, convention_id))


@day.post("/{convention_id}/meetings/settlement", response_model=SettlementView, dependencies=[writes],
          responses=WRITE, summary="Close the day: every unmarked meeting whose slot has ended is found not held")
async def settle(convention_id: str, svc: Service) -> dict:
    return {"settled": await svc.settle_meetings(convention_id)}


@day.post("/{convention_id}/meetings/{meeting_id}/outcomes", status_code=201, response_model=OutcomeView,
          dependencies=[writes], responses=WRITE,
          summary="Record what came of a meeting (no further contact, quote, negotiation, contract and amount)",
          description="Recorded again as things progress (the latest counts). `contract_signed` needs "
                      "`amount_cents`; `need_id` links the buyer's need, `contract_id` the contract. " + ON_BEHALF)
async def record_outcome(convention_id: str, meeting_id: str, body: OutcomeIn, svc: Service,
                         platform: PlatformDep) -> dict:
    convention, meeting, outcome = await svc.record_outcome(convention_id, meeting_id, **body.model_dump())
    return {"meeting": _meeting_view(convention, meeting, await _zone(platform, convention_id)), "outcome": outcome}


ROUTERS = (setup, asking, planning, day)
