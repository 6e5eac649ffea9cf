"""Read side of business conventions: the convention, its participants and requests, scheduling
runs, published agenda versions, and the names agendas show.

Reads go to the aggregates' collections directly, outside any transaction. Names (a person's
name from the registration, an organisation's display name from ``convention_directory``) are
shown in agendas and lists for staff; they never enter events.
"""
from __future__ import annotations

from typing import Any

from runtime.errors import NotFound
from runtime.mongo import Database, from_document
from services.events.adapters.repository import (AGENDA_VERSIONS, CONVENTION_DIRECTORY, CONVENTION_PARTICIPANTS,
                                                 CONVENTIONS, MEETING_REQUESTS, REGISTRATIONS, SCHEDULE_RUNS)
from services.events.domain.conventions import (Convention, ConventionParticipant, MeetingRequest,
                                                PublishedAgendas)

ID_SORT = [("_id", 1)]


async def get_convention(db: Database, convention_id: str) -> Convention:
    doc = await db[CONVENTIONS].find_one({"_id": convention_id})
    if doc is None:
        raise NotFound(f"no business convention {convention_id!r} (an event of kind business_convention whose "
                       "settings were given: PUT /conventions/{id}/settings)", resource="Convention", id=convention_id)
    return from_document(Convention, doc)


async def participants(db: Database, convention_id: str, *, role: str | None = None, status: str | None = None,
                       arrived: bool | None = None, no_show: bool | None = None, limit: int = 50,
                       offset: int = 0) -> tuple[list[ConventionParticipant], int]:
    query: dict[str, Any] = {"convention_id": convention_id}
    if role:
        query["role"] = role
    if status:
        query["status"] = status
    if arrived is not None:
        query["arrived_at"] = {"$ne": None} if arrived else None
    if no_show is not None:
        query["no_show_at"] = {"$ne": None} if no_show else None
    return await db.page(CONVENTION_PARTICIPANTS, query, model=ConventionParticipant, sort=ID_SORT, limit=limit,
                         offset=offset)


async def all_participants(db: Database, convention_id: str) -> dict[str, ConventionParticipant]:
    return {d["_id"]: from_document(ConventionParticipant, d) async for d in
            db[CONVENTION_PARTICIPANTS].find({"convention_id": convention_id}).sort(ID_SORT)}


async def get_participant(db: Database, convention_id: str, participant_id: str) -> ConventionParticipant:
    doc = await db[CONVENTION_PARTICIPANTS].find_one({"_id": participant_id, "convention_id": convention_id})
    if doc is None:
        raise NotFound(f"no participant {participant_id!r} in convention {convention_id}",
                       resource="ConventionParticipant", id=participant_id)
    return from_document(ConventionParticipant, doc)


async def people(db: Database, participant_ids: list[str]) -> dict[str, dict[str, str | None]]:
    """For each participant id: the person's name (its registration) and the organisation's
    display name (given when joining), for agendas."""
    out: dict[str, dict[str, str | None]] = {pid: {"name": None, "organisation_name": None}
                                             for pid in participant_ids}
    async for doc in db[REGISTRATIONS].find({"_id": {"$in": participant_ids}}, {"person.name": 1}):
        out[doc["_id"]]["name"] = (doc.get("person") or {}).get("name")
    async for doc in db[CONVENTION_DIRECTORY].find({"_id": {"$in": participant_ids}}, {"organisation_name": 1}):
        out[doc["_id"]]["organisation_name"] = doc.get("organisation_name")
    return out


async def requests(db: Database, convention_id: str, *, participant_id: str | None = None,
                   direction: str = "any", status: str | None = None, forced: bool | None = None,
                   limit: int = 50, offset: int = 0) -> tuple[list[MeetingRequest], int]:
    """Requests of a convention; of one participant: sent, received or both (``direction``)."""
    query: dict[str, Any] = {"convention_id": convention_id}
    if participant_id:
        sent, received = {"from_participant_id": participant_id}, {"to_participant_id": participant_id}
        if direction == "sent":
            query.update(sent)
        elif direction == "received":
            query.update(received)
        else:
            query["$or"] = [sent, received]
    if status:
        query["status"] = status
    if forced is not None:
        query["forced"] = forced
    return await db.page(MEETING_REQUESTS, query, model=MeetingRequest, sort=[("requested_at", 1), ("_id", 1)],
                         limit=limit, offset=offset)


async def get_request(db: Database, convention_id: str, request_id: str) -> MeetingRequest:
    doc = await db[MEETING_REQUESTS].find_one({"_id": request_id, "convention_id": convention_id})
    if doc is None:
        raise NotFound(f"no meeting request {request_id!r} in convention {convention_id}",
                       resource="MeetingRequest", id=request_id)
    return from_document(MeetingRequest, doc)


async def counts(db: Database, collection: str, convention_id: str, field: str) -> dict[str, int]:
    """Documents of a convention per value of ``field``."""
    out: dict[str, int] = {}
    async for doc in db[collection].find({"convention_id": convention_id}, {field: 1}):
        key = str(doc.get(field))
        out[key] = out.get(key, 0) + 1
    return out


async def participant_figures(db: Database, convention_id: str) -> dict[str, int]:
    coll = db[CONVENTION_PARTICIPANTS]
    base = {"convention_id": convention_id}
    active = {**base, "status": "active"}
    return {"active": await coll.count_documents(active),
            "left": await coll.count_documents({**base, "status": "left"}),
            "arrived": await coll.count_documents({**active, "arrived_at": {"$ne": None}}),
            "no_shows": await coll.count_documents({**active, "no_show_at": {"$ne": None}})}


def run_view(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    doc["run_id"] = doc.pop("_id")
    doc.pop("process_id", None)
    return doc


async def runs(db: Database, convention_id: str, *, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    docs, total = await db.page(SCHEDULE_RUNS, {"convention_id": convention_id},
                                sort=[("requested_at", -1), ("_id", 1)], limit=limit, offset=offset)
    return [run_view(d) for d in docs], total


async def get_run(db: Database, convention_id: str, run_id: str) -> dict[str, Any]:
    doc = await db[SCHEDULE_RUNS].find_one({"_id": run_id, "convention_id": convention_id})
    if doc is None:
        raise NotFound(f"no scheduling run {run_id!r} in convention {convention_id}", resource="ScheduleRun",
                       id=run_id)
    return run_view(doc)


async def agenda_version(db: Database, convention_id: str, version: int) -> PublishedAgendas:
    doc = await db[AGENDA_VERSIONS].find_one({"convention_id": convention_id, "version": version})
    if doc is None:
        raise NotFound(f"convention {convention_id} has no published agenda version {version}",
                       resource="AgendaVersion", id=str(version))
    doc.pop("_id")
    doc.pop("convention_id")
    return PublishedAgendas.model_validate(doc)


async def earlier_meetings_of(db: Database, convention_id: str, participant_id: str,
                              before_version: int) -> dict[str, dict[str, Any]]:
    """The participant's meetings in the versions published before ``before_version``, each as
    last published (meeting id → meeting), so that calendars can cancel those that vanished."""
    out: dict[str, dict[str, Any]] = {}
    cursor = db[AGENDA_VERSIONS].find({"convention_id": convention_id, "version": {"$lt": before_version}},
                                      {"version": 1, "meetings": 1}).sort("version", 1)
    async for doc in cursor:
        for m in doc.get("meetings") or ():
            if participant_id in (m["a"], m["b"]):
                out[m["meeting_id"]] = {**m, "version": doc["version"]}
    return out
