"""Read side of the events service: the catalogue, registrations, waiting lists, attendance, figures.

Reads go to the aggregates' collections directly (and to the places counter), outside any
transaction. Instants are stored in UTC (ISO 8601, ``Z``), so they compare as stored.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from contracts.events.registrations import EventStatus, RegistrationStatus
from runtime.errors import NotFound
from runtime.mongo import Database, from_document, stored_instant
from services.events.adapters.repository import CHECKIN_LISTS, CONVENTIONS, EVENTS, OCCUPANCY, REGISTRATIONS
from services.events.domain.catalogue import Event, Occupancy
from services.events.domain.checkin import CheckinList, attendance
from services.events.domain.registrations import Registration
from runtime.members import STANDING, standing_view

PUBLIC_STATUSES = [s.value for s in (EventStatus.PUBLISHED, EventStatus.CLOSED, EventStatus.HELD,
                                     EventStatus.ARCHIVED, EventStatus.CANCELLED)]


def _instant(day: date, end: bool = False) -> str:
    """The start of ``day`` (of the next day with ``end``), UTC, as instants are stored."""
    return stored_instant(datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=timezone.utc))


async def get_event(db: Database, event_id: str, *, public_only: bool = False) -> Event:
    event = await db.get(EVENTS, Event, event_id)
    if public_only and event.status.value not in PUBLIC_STATUSES:
        raise NotFound(f"Event {event_id!r} not found", resource="Event", id=event_id)
    return event


async def search_events(db: Database, *, kind: str | None = None, team: str | None = None,
                        status: str | None = None, starts_from: date | None = None, starts_until: date | None = None,
                        q: str | None = None, public_only: bool = False, limit: int = 50,
                        offset: int = 0) -> tuple[list[Event], int]:
    """Events by kind, team, status and date range (``starts_from`` .. ``starts_until``, inclusive
    days, UTC), title containing ``q``; by start time."""
    import re

    query: dict[str, Any] = {}
    for name, value in (("kind", kind), ("team", team)):
        if value:
            query[name] = value
    if status:
        query["status"] = status
    if public_only:
        query["status"] = status if status in PUBLIC_STATUSES else {"$in": PUBLIC_STATUSES}
    window: dict[str, str] = {}
    if starts_from:
        window["$gte"] = _instant(starts_from)
    if starts_until:
        window["$lt"] = _instant(starts_until, end=True)
    if window:
        query["starts_at"] = window
    if q:
        query["title"] = {"$regex": re.escape(q), "$options": "i"}
    return await db.page(EVENTS, query, model=Event, sort=[("starts_at", 1), ("_id", 1)], limit=limit, offset=offset)


async def occupancy(db: Database, event: Event) -> dict[str, Any]:
    doc = await db[OCCUPANCY].find_one({"_id": event.id}) or {}
    doc.pop("_id", None)
    counter = Occupancy.model_validate(doc)
    categories = [{"code": c.code, "label": c.label, "quota": c.quota, "held": counter.held(c.code),
                   "waiting": counter.waiting(c.code), "free": event.free_places(c.code, counter)}
                  for c in event.categories]
    return {"event_id": event.id, "capacity": event.total_capacity, "held": counter.total_held,
            "waiting": counter.total_waiting, "categories": categories}


async def registrations(db: Database, event_id: str, *, status: str | None = None, category: str | None = None,
                        limit: int = 50, offset: int = 0) -> tuple[list[Registration], int]:
    query: dict[str, Any] = {"event_id": event_id}
    if status:
        query["status"] = status
    if category:
        query["category"] = category
    return await db.page(REGISTRATIONS, query, model=Registration, sort=[("registered_at", 1), ("_id", 1)],
                       limit=limit, offset=offset)


async def get_registration(db: Database, registration_id: str) -> Registration:
    return await db.get(REGISTRATIONS, Registration, registration_id)


async def waitlist_position(db: Database, registration: Registration) -> int | None:
    """1 + the people of the same category waiting with a lower sequence (None if not waiting)."""
    if registration.status is not RegistrationStatus.WAITLISTED or registration.waitlist_seq is None:
        return None
    ahead = await db[REGISTRATIONS].count_documents({
        "event_id": registration.event_id, "category": registration.category,
        "status": RegistrationStatus.WAITLISTED.value, "waitlist_seq": {"$lt": registration.waitlist_seq}})
    return ahead + 1


async def waiting_list(db: Database, event_id: str, category: str | None = None) -> list[Registration]:
    """Who waits, and who holds an offer, in the order places are offered."""
    query: dict[str, Any] = {"event_id": event_id, "status": {"$in": [RegistrationStatus.WAITLISTED.value,
                                                                       RegistrationStatus.OFFERED.value]}}
    if category:
        query["category"] = category
    docs = await db[REGISTRATIONS].find(query).sort([("waitlist_seq", 1), ("_id", 1)]).to_list()
    return [from_document(Registration, d) for d in docs]


async def checkin_lists(db: Database, event_id: str) -> list[CheckinList]:
    out = []
    async for doc in db[CHECKIN_LISTS].find({"event_id": event_id}).sort("_id", 1):
        doc.pop("_id")
        out.append(CheckinList.model_validate(doc))
    return out


async def event_attendance(db: Database, event: Event, list_id: str | None = None) -> dict[str, Any]:
    docs = db[REGISTRATIONS].find({"event_id": event.id, "status": RegistrationStatus.CONFIRMED.value})
    figures = attendance([from_document(Registration, d) async for d in docs], list_id=list_id,
                         categories=[c.code for c in event.categories])
    return {"event_id": event.id, "list_id": list_id, **figures.model_dump(mode="json")}


async def registrations_of_person(db: Database, email: str) -> list[tuple[Registration, Event]]:
    """A person's active registrations (by e-mail) with their events, by start time."""
    regs = [from_document(Registration, d) async for d in db[REGISTRATIONS].find(
        {"person.email": email.strip().lower(), "status": {"$in": [RegistrationStatus.CONFIRMED.value,
                                                           RegistrationStatus.PENDING_APPROVAL.value,
                                                           RegistrationStatus.OFFERED.value]}})]
    events = {e.id: e for e in [from_document(Event, d) async for d in db[EVENTS].find(
        {"_id": {"$in": sorted({r.event_id for r in regs})}})]}
    return sorted(((r, events[r.event_id]) for r in regs if r.event_id in events), key=lambda p: p[1].starts_at)


async def organisation_standing(db: Database, organisation_id: str) -> dict[str, Any]:
    return standing_view(await db[STANDING].find_one({"_id": organisation_id}), organisation_id)


async def yearly_figures(db: Database, year: int) -> dict[str, Any]:
    """Per kind of event held in ``year`` (by start): events, registered (confirmed) participants,
    participants checked in; the same per team; and each business convention's meetings
    scheduled and held (the activity report's "meetings held")."""
    held = [EventStatus.HELD.value, EventStatus.ARCHIVED.value]
    events = [from_document(Event, d) async for d in db[EVENTS].find(
        {"status": {"$in": held}, "starts_at": {"$gte": _instant(date(year, 1, 1)),
                                                 "$lt": _instant(date(year, 12, 31), end=True)}})]
    counts: dict[str, dict[str, int]] = {}
    by_team: dict[str, dict[str, int]] = {}
    ids = [e.id for e in events]
    per_event: dict[str, list[int]] = {}
    async for doc in db[REGISTRATIONS].find({"event_id": {"$in": ids}, "status": RegistrationStatus.CONFIRMED.value},
                                            {"event_id": 1, "presence": 1}):
        row = per_event.setdefault(doc["event_id"], [0, 0])
        row[0] += 1
        row[1] += bool(doc.get("presence"))
    for event in events:
        registered, came = per_event.get(event.id, (0, 0))
        for table, key in ((counts, event.kind.value), (by_team, event.team.value)):
            row = table.setdefault(key, {"events": 0, "participants": 0, "checked_in": 0})
            row["events"] += 1
            row["participants"] += registered
            row["checked_in"] += came
    titles = {e.id: e.title for e in events if e.kind.value == "business_convention"}
    conventions = []
    async for doc in db[CONVENTIONS].find({"_id": {"$in": sorted(titles)}}, {"meetings.held": 1}).sort("_id", 1):
        meetings = doc.get("meetings") or []
        conventions.append({"convention_id": doc["_id"], "title": titles[doc["_id"]],
                            "meetings_scheduled": len(meetings),
                            "meetings_held": sum(1 for m in meetings if m.get("held") is True)})
    return {"year": year, "events_held": len(events), "by_kind": dict(sorted(counts.items())),
            "by_team": dict(sorted(by_team.items())), "conventions": conventions}
