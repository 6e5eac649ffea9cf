"""The events service's commands for business conventions ("OpenMap ESS", rencontres d'affaires).

A convention is an event of the catalogue of kind ``business_convention``; its id is the
convention id. Each command is one MongoDB transaction over the aggregates of
:mod:`services.events.domain.conventions` (the convention, its participants, its meeting
requests) and the events they record (the outbox); the server's clock (``clock()``, UTC) dates
every fact, except the time a badge was scanned (an offline device), which may not lie in the
future.

Scheduling runs in the background. :meth:`ConventionsService.start_run` records the run on the
convention (``ScheduleRunStarted``), stores a run document (collection ``schedule_runs``: status
queued → running → done | failed, phase, fraction, heartbeat, result quality) and builds the
scheduler's problem from the state it read, all in one transaction; it answers at once. An
asyncio task of this process then runs the scheduler in a worker thread (``asyncio.to_thread``),
writes its progress (the scheduler's ``progress(phase, fraction)`` callback) and a heartbeat
every few seconds to the run document, and records the result through the domain
(``record_schedule``, or ``fail_schedule_run``) with the run document, in one transaction.

A run whose process died (no heartbeat for :data:`STALE_HEARTBEAT`) is failed — through the
domain too, so that the convention accepts a new run at once — on the next request that starts a
run or reads it, and by the ``schedule-runs-reaper`` job (see :meth:`reap_stale_runs`). Nothing
is done at start-up: several processes may serve the service, and a live one's runs are not
another's to fail. The domain's own rule (a run without a result 15 minutes after its start is
abandoned) stays the last resort.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from contracts.events.conventions import ScheduleMode
from contracts.events.registrations import EventKind, EventStatus, RegistrationStatus
from runtime.aggregate import check_version, new_id
from runtime.errors import Conflict, DomainError, InvalidInput, NotFound
from runtime.mongo import Database, Transaction, from_document, stored_instant, utcnow
from services.events.adapters.repository import (AGENDA_VERSIONS, CONVENTION_DIRECTORY, CONVENTION_PARTICIPANTS,
                                                 CONVENTIONS, EVENTS, MEETING_REQUESTS, REGISTRATIONS, REQUEST_PAIRS,
                                                 SCHEDULE_RUNS)
from services.events.domain import scheduling
from services.events.domain.catalogue import Event
from services.events.domain.conventions import (Convention, ConventionMeeting, ConventionParticipant,
                                                ConventionSettings, MeetingRequest, Outcome, PublishedAgendas,
                                                generate_slots, replan_inputs, scheduling_options, to_problem)
from services.events.domain.conventions.settings import parse_breaks
from services.events.domain.registrations import Registration
from services.events.service_layer.badges import BadgeSigner
from services.events.service_layer.handlers import SCAN_CLOCK_SKEW, utc

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0  # a running run's document is touched this often
STALE_HEARTBEAT = timedelta(seconds=60)  # a run not touched for this long has lost its process
MIN_TIME_LIMIT, MAX_TIME_LIMIT, DEFAULT_TIME_LIMIT = 0.5, 600.0, 10.0  # seconds; the domain abandons at 15 min
MAX_ORGANISATION_NAME = 200


class RunState(StrEnum):
    """Where a scheduling run document is (the domain's run: started / computed / failed)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


LIVE = [RunState.QUEUED.value, RunState.RUNNING.value]


# -- settings from the API's body ---------------------------------------------------------------------

def build_settings(fields: dict[str, Any], event: Event) -> ConventionSettings:
    """Validated settings from the API's fields: ``slots`` given one by one, or ``generate``
    (``start_at``, ``slot_minutes``, ``count``, ``gap_minutes``) around ``breaks``; every slot
    within the event's start and end. :class:`InvalidInput` names the field (``generate.count``,
    ``slots.2.start_at``, ``breaks.0.end_at``…)."""
    slots, generate = fields.get("slots"), fields.get("generate")
    if (slots is None) == (generate is None):
        raise InvalidInput("slots", "give the slots one by one (slots) or how to generate them (generate), "
                                    "not both nor neither")
    given_breaks = [(utc(b["start_at"]), utc(b["end_at"])) for b in fields.get("breaks") or ()]
    breaks = parse_breaks(given_breaks)  # checked before the generator: a break's error is not the generator's
    if generate is not None:
        with _prefixed("generate"):
            slots = generate_slots(start_at=utc(generate["start_at"]), slot_minutes=generate["slot_minutes"],
                                   count=generate["count"], gap_minutes=generate.get("gap_minutes") or 0,
                                   breaks=breaks)
    else:
        slots = [{**s, "start_at": utc(s["start_at"])} for s in slots]
    settings = ConventionSettings.build(
        slots=slots, tables=fields["tables"], breaks=given_breaks, table_overrides=fields.get("table_overrides"),
        request_expiry_hours=fields.get("request_expiry_hours"),
        schedule_pending=bool(fields.get("schedule_pending", False)),
        max_meetings_default=fields.get("max_meetings_default"),
        allow_same_role=bool(fields.get("allow_same_role", False)))
    given = {s["id"]: i for i, s in enumerate(slots)} if generate is None else {}
    for slot in settings.slots:
        if slot.start_at < event.starts_at or slot.end_at > event.ends_at:
            if generate is not None:
                field = "generate.start_at" if slot.start_at < event.starts_at else "generate.count"
            else:
                field = f"slots.{given[slot.id]}.start_at"
            raise InvalidInput(field, f"slot {slot.id} ({slot.start_at.isoformat()}–{slot.end_at.isoformat()}) "
                                      f"lies outside the event ({event.starts_at.isoformat()}–"
                                      f"{event.ends_at.isoformat()})")
    return settings


class _prefixed:
    """Re-raise an :class:`InvalidInput` with its field under ``prefix`` (``count`` → ``generate.count``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, InvalidInput) and not exc.field.startswith(f"{self.prefix}."):
            raise InvalidInput(f"{self.prefix}.{exc.field}", exc.detail) from None
        return False


# -- the work of a run, done in a worker thread ----------------------------------------------------------

@dataclass(frozen=True)
class RunWork:
    """What one scheduling run computes: built from the state read when it started."""

    mode: ScheduleMode
    problem: scheduling.SchedulingProblem
    options: scheduling.SchedulingOptions
    previous: scheduling.Schedule | None = None
    no_shows: tuple[str, ...] = ()
    checked_in: tuple[str, ...] | None = None
    from_slot: str | None = None

    def solve(self, progress: Callable[[str, float], None]) -> tuple[scheduling.Schedule,
                                                                     scheduling.ReplanFigures | None]:
        if self.mode is ScheduleMode.INITIAL:
            return scheduling.schedule(self.problem, self.options, progress=progress), None
        result = scheduling.replan(self.problem, self.previous, no_shows=self.no_shows, checked_in=self.checked_in,
                                   from_slot=self.from_slot, options=self.options, progress=progress)
        return result.schedule, result.figures


# -- the commands ------------------------------------------------------------------------------------------

class ConventionsService:
    """Business conventions, bound to the database: settings, participants, meeting requests,
    locked meetings, scheduling runs in the background, agendas, the day, meetings and outcomes."""

    def __init__(self, db: Database, badges: BadgeSigner, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.badges = badges
        self.clock = clock
        self.process_id = new_id("proc")
        self.runs: dict[str, asyncio.Task] = {}  # this process's runs in progress, by run id

    # -- loading -------------------------------------------------------------------------------------
    async def _convention(self, tx: Transaction, convention_id: str) -> Convention:
        convention = await tx.find(CONVENTIONS, Convention, convention_id)
        if convention is not None:
            return convention
        event = await tx.find(EVENTS, Event, convention_id)
        if event is None or event.kind is not EventKind.BUSINESS_CONVENTION:
            raise NotFound(f"no business convention {convention_id!r}", resource="Convention", id=convention_id)
        raise Conflict(f"convention {convention_id} has no settings yet", current_state="not configured",
                       expected_step=f"PUT /conventions/{convention_id}/settings")

    async def _participant(self, tx: Transaction, convention_id: str, participant_id: str) -> ConventionParticipant:
        """A participant of this convention named by the path (404 otherwise)."""
        participant = await tx.find(CONVENTION_PARTICIPANTS, ConventionParticipant, participant_id)
        if participant is None or participant.convention_id != convention_id:
            raise NotFound(f"no participant {participant_id!r} in convention {convention_id}",
                           resource="ConventionParticipant", id=participant_id)
        return participant

    async def _named(self, tx: Transaction, participant_id: str, field: str) -> ConventionParticipant:
        """A participant named in a body: unknown is a 422 naming the field; one of another
        convention is the domain's to refuse (it names the field too)."""
        participant = await tx.find(CONVENTION_PARTICIPANTS, ConventionParticipant, participant_id)
        if participant is None:
            raise InvalidInput(field, f"no convention participant {participant_id!r}")
        return participant

    async def _request(self, tx: Transaction, convention_id: str, request_id: str) -> MeetingRequest:
        request = await tx.find(MEETING_REQUESTS, MeetingRequest, request_id)
        if request is None or request.convention_id != convention_id:
            raise NotFound(f"no meeting request {request_id!r} in convention {convention_id}",
                           resource="MeetingRequest", id=request_id)
        return request

    async def _all(self, tx: Transaction, collection: str, model, convention_id: str) -> list:
        return [from_document(model, d) async for d in tx.db[collection].find(
            {"convention_id": convention_id}, session=tx.session).sort("_id", 1)]

    # -- settings --------------------------------------------------------------------------------------
    async def configure(self, convention_id: str, fields: dict[str, Any], *,
                        expected_version: int | None = None) -> tuple[Convention, bool]:
        """Create (``True``) or change the convention's settings. The event must exist, be of kind
        ``business_convention`` and not be cancelled (409); the slots lie within the event."""
        async def work(tx: Transaction) -> tuple[Convention, bool]:
            now = self.clock()
            event = await tx.find(EVENTS, Event, convention_id)
            if event is None:
                raise NotFound(f"no event {convention_id!r}", resource="Event", id=convention_id)
            if event.kind is not EventKind.BUSINESS_CONVENTION:
                raise Conflict(f"event {convention_id} is a {event.kind.value}, not a business_convention",
                               current_state=event.kind.value, expected_step="an event of kind business_convention")
            if event.status is EventStatus.CANCELLED:
                raise Conflict(f"event {convention_id} is cancelled", current_state=event.status.value)
            settings = build_settings(fields, event)
            convention = await tx.find(CONVENTIONS, Convention, convention_id)
            if convention is None:
                convention = Convention.configure(convention_id, settings=settings, at=now)
                await tx.save(CONVENTIONS, convention, conflict=f"convention {convention_id} was configured "
                                                                "meanwhile; read it and send your change again")
                return convention, True
            check_version(convention, expected_version)
            if convention.reconfigure(settings=settings, at=now):
                await tx.save(CONVENTIONS, convention)
            return convention, False
        return await self.db.transaction(work)

    # -- participants --------------------------------------------------------------------------------------
    async def join(self, convention_id: str, *, registration_id: str, role: str,
                   organisation_id: str | None = None, organisation_name: str | None = None,
                   sectors: Iterable[str] = (), offers: Iterable[str] = (), needs: Iterable[str] = (),
                   available_slots: Iterable[str] | None = None, arrives_at: datetime | None = None,
                   leaves_at: datetime | None = None, max_meetings: int | None = None) -> ConventionParticipant:
        """A confirmed registration of the convention's event joins its meetings (participant id =
        registration id). Unknown registration or one of another event: 422 naming
        ``registration_id``; not confirmed, or joined already: 409."""
        async def work(tx: Transaction) -> ConventionParticipant:
            now = self.clock()
            convention = await self._convention(tx, convention_id)
            registration = await tx.find(REGISTRATIONS, Registration, registration_id)
            if registration is None:
                raise InvalidInput("registration_id", f"no registration {registration_id!r}")
            if registration.event_id != convention_id:
                raise InvalidInput("registration_id", f"registration {registration_id} is for event "
                                                      f"{registration.event_id}, not convention {convention_id}")
            if registration.status is not RegistrationStatus.CONFIRMED:
                raise Conflict(f"registration {registration_id} is {registration.status.value}: only a confirmed "
                               "registration joins the meetings", current_state=registration.status.value,
                               expected_step="confirm the registration first")
            participant = ConventionParticipant.join(
                registration_id, convention=convention, role=role, at=now,
                organisation_id=organisation_id or registration.organisation_id, sectors=sectors, offers=offers,
                needs=needs, available_slots=available_slots, arrives_at=utc(arrives_at),
                leaves_at=utc(leaves_at), max_meetings=max_meetings)
            await tx.save(CONVENTION_PARTICIPANTS, participant,
                          conflict=f"registration {registration_id} has joined convention {convention_id} already")
            await self._directory(tx, participant, organisation_name)
            return participant
        return await self.db.transaction(work)

    async def _directory(self, tx: Transaction, participant: ConventionParticipant, organisation_name: Any) -> None:
        """The organisation's display name, for agendas (never in events)."""
        if organisation_name is None:
            return
        if not isinstance(organisation_name, str) or len(organisation_name.strip()) > MAX_ORGANISATION_NAME:
            raise InvalidInput("organisation_name", f"organisation_name: a text of at most {MAX_ORGANISATION_NAME} "
                                                    "characters")
        await tx.db[CONVENTION_DIRECTORY].replace_one(
            {"_id": participant.id},
            {"_id": participant.id, "convention_id": participant.convention_id,
             "organisation_name": " ".join(organisation_name.split()) or None},
            upsert=True, session=tx.session)

    async def update_participant(self, convention_id: str, participant_id: str, changes: dict[str, Any], *,
                                 expected_version: int | None = None) -> ConventionParticipant:
        """Change a participant's profile, availability or maximum (the fields given)."""
        async def work(tx: Transaction) -> ConventionParticipant:
            participant = await self._participant(tx, convention_id, participant_id)
            check_version(participant, expected_version)
            convention = await self._convention(tx, convention_id)
            fields = dict(changes)
            organisation_name = fields.pop("organisation_name", None)
            for name in ("arrives_at", "leaves_at"):
                if name in fields:
                    fields[name] = utc(fields[name])
            participant.update_profile(convention=convention, at=self.clock(), **fields)
            if participant.pending_events:
                await tx.save(CONVENTION_PARTICIPANTS, participant)
            await self._directory(tx, participant, organisation_name)
            return participant
        return await self.db.transaction(work)

    async def _participant_step(self, convention_id: str, participant_id: str, step, *,
                                expected_version: int | None = None) -> tuple[ConventionParticipant, Any]:
        async def work(tx: Transaction) -> tuple[ConventionParticipant, Any]:
            participant = await self._participant(tx, convention_id, participant_id)
            check_version(participant, expected_version)
            outcome = step(participant, self.clock())
            if participant.pending_events:
                await tx.save(CONVENTION_PARTICIPANTS, participant)
            return participant, outcome
        return await self.db.transaction(work, conflict_retries=10)

    async def leave(self, convention_id: str, participant_id: str, *,
                    expected_version: int | None = None) -> ConventionParticipant:
        participant, _ = await self._participant_step(convention_id, participant_id,
                                                      lambda p, now: p.leave(at=now),
                                                      expected_version=expected_version)
        return participant

    async def record_arrival(self, convention_id: str, participant_id: str) -> tuple[ConventionParticipant, bool]:
        """The participant is here (False: recorded already)."""
        return await self._participant_step(convention_id, participant_id, lambda p, now: p.record_arrival(at=now))

    async def record_no_show(self, convention_id: str, participant_id: str) -> tuple[ConventionParticipant, bool]:
        """The participant is not coming (False: recorded already); 409 once arrived."""
        return await self._participant_step(convention_id, participant_id, lambda p, now: p.record_no_show(at=now))

    async def arrival_from_check_in(self, tx: Transaction, registration_id: str, at: datetime) -> None:
        """The hook of a badge check-in at the event's door (:meth:`EventsService.scan`): when the
        registration is a convention participant still in the meetings whose arrival is not
        recorded yet, record it in the same transaction as the check-in."""
        participant = await tx.find(CONVENTION_PARTICIPANTS, ConventionParticipant, registration_id)
        if participant is None or not participant.is_active or participant.arrived_at is not None:
            return
        if participant.record_arrival(at=at):
            await tx.save(CONVENTION_PARTICIPANTS, participant)

    # -- meeting requests ------------------------------------------------------------------------------
    async def send_request(self, convention_id: str, *, from_participant_id: str, to_participant_id: str,
                           priority: int = 3, message: str | None = None) -> MeetingRequest:
        """One participant asks to meet another. A live request of the same direction is a 409
        naming it (``existing_request_id``). Requests of one pair are serialised (a counter per
        pair written in the transaction), so two concurrent sends cannot both pass the check."""
        async def work(tx: Transaction) -> MeetingRequest:
            now = self.clock()
            convention = await self._convention(tx, convention_id)
            sender = await self._named(tx, from_participant_id, "from_participant_id")
            recipient = await self._named(tx, to_participant_id, "to_participant_id")
            x, y = sorted((sender.id, recipient.id))
            await tx.db[REQUEST_PAIRS].update_one({"_id": f"{convention_id}\x1f{x}\x1f{y}"},
                                                  {"$inc": {"requests": 1}}, upsert=True, session=tx.session)
            existing = [from_document(MeetingRequest, d) async for d in tx.db[MEETING_REQUESTS].find(
                {"convention_id": convention_id, "$or": [
                    {"from_participant_id": sender.id, "to_participant_id": recipient.id},
                    {"from_participant_id": recipient.id, "to_participant_id": sender.id}]}, session=tx.session)]
            request = MeetingRequest.send(new_id("mrq"), convention=convention, sender=sender, recipient=recipient,
                                          at=now, priority=priority, message=message, existing=existing)
            await tx.save(MEETING_REQUESTS, request)
            return request
        return await self.db.transaction(work)

    async def _request_step(self, convention_id: str, request_id: str, step, *,
                            expected_version: int | None = None) -> MeetingRequest:
        async def work(tx: Transaction) -> MeetingRequest:
            request = await self._request(tx, convention_id, request_id)
            check_version(request, expected_version)
            step(request, self.clock())
            if request.pending_events:
                await tx.save(MEETING_REQUESTS, request)
            return request
        return await self.db.transaction(work)

    async def accept_request(self, convention_id: str, request_id: str, *,
                             expected_version: int | None = None) -> MeetingRequest:
        return await self._request_step(convention_id, request_id, lambda r, now: r.accept(at=now),
                                        expected_version=expected_version)

    async def decline_request(self, convention_id: str, request_id: str, *,
                              expected_version: int | None = None) -> MeetingRequest:
        return await self._request_step(convention_id, request_id, lambda r, now: r.decline(at=now),
                                        expected_version=expected_version)

    async def withdraw_request(self, convention_id: str, request_id: str, *,
                               expected_version: int | None = None) -> MeetingRequest:
        return await self._request_step(convention_id, request_id, lambda r, now: r.withdraw(at=now),
                                        expected_version=expected_version)

    async def force_request(self, convention_id: str, request_id: str, *,
                            expected_version: int | None = None) -> MeetingRequest:
        return await self._request_step(convention_id, request_id, lambda r, now: r.force(at=now),
                                        expected_version=expected_version)

    async def expire_requests(self) -> int:
        """Expire every pending request past its expiry (the sweeper job): each in its own
        transaction, checked again on fresh state (answered meanwhile: skipped). Idempotent;
        returns how many expired."""
        now = self.clock()
        ids = [d["_id"] async for d in self.db[MEETING_REQUESTS].find(
            {"status": "pending", "forced": False, "expires_at": {"$ne": None, "$lte": stored_instant(now)}}, {"_id": 1})]
        expired = 0
        for request_id in ids:
            async def work(tx: Transaction, request_id: str = request_id) -> bool:
                request = await tx.find(MEETING_REQUESTS, MeetingRequest, request_id)
                if request is None or not request.is_due(now):
                    return False
                request.expire(at=max(now, request.requested_at))
                await tx.save(MEETING_REQUESTS, request)
                return True
            try:
                expired += await self.db.transaction(work)
            except Conflict:
                continue  # answered meanwhile
        return expired

    # -- locked meetings --------------------------------------------------------------------------------
    async def _convention_step(self, convention_id: str, step, *, expected_version: int | None = None,
                               conflict_retries: int = 0) -> tuple[Convention, Any]:
        async def work(tx: Transaction) -> tuple[Convention, Any]:
            convention = await self._convention(tx, convention_id)
            check_version(convention, expected_version)
            outcome = await step(tx, convention, self.clock())
            if convention.pending_events:
                await tx.save(CONVENTIONS, convention)
            return convention, outcome
        return await self.db.transaction(work, conflict_retries=conflict_retries)

    async def lock_meeting(self, convention_id: str, *, a: str, b: str, slot_id: str, table: int | None = None,
                           expected_version: int | None = None) -> Convention:
        async def step(tx: Transaction, convention: Convention, now: datetime):
            pa, pb = await self._named(tx, a, "a"), await self._named(tx, b, "b")
            return convention.lock_meeting(pa, pb, slot_id, at=now, table=table)
        convention, _ = await self._convention_step(convention_id, step, expected_version=expected_version)
        return convention

    async def unlock_meeting(self, convention_id: str, a: str, b: str, *,
                             expected_version: int | None = None) -> Convention:
        async def step(tx: Transaction, convention: Convention, now: datetime):
            convention.unlock_meeting(a, b, at=now)
        convention, _ = await self._convention_step(convention_id, step, expected_version=expected_version)
        return convention

    # -- scheduling runs ------------------------------------------------------------------------------
    async def start_run(self, convention_id: str, *, mode: ScheduleMode | str = ScheduleMode.INITIAL,
                        time_limit_seconds: float = DEFAULT_TIME_LIMIT,
                        check_in_closed: bool = False) -> dict[str, Any]:
        """Start a scheduling run and return its document at once (status ``queued``); the run goes
        on in this process (see the module docstring). One run at a time per convention (409
        naming the run in progress).

        ``initial``: the whole plan, before the day. ``replan``: on the day, from the first slot
        that starts after now, with the no-shows (and, once ``check_in_closed``, everyone who has
        not arrived) absent. Participants whose registration is no longer confirmed count as
        absent in both."""
        try:
            mode = ScheduleMode(mode)
        except ValueError:
            raise InvalidInput("mode", f"mode must be one of {', '.join(m.value for m in ScheduleMode)}") from None
        if isinstance(time_limit_seconds, bool) or not isinstance(time_limit_seconds, (int, float)) \
                or not MIN_TIME_LIMIT <= time_limit_seconds <= MAX_TIME_LIMIT:
            raise InvalidInput("time_limit_seconds", f"time_limit_seconds must be from {MIN_TIME_LIMIT} to "
                                                     f"{MAX_TIME_LIMIT} (got {time_limit_seconds!r})")
        if check_in_closed and mode is not ScheduleMode.REPLAN:
            raise InvalidInput("check_in_closed", "check_in_closed is for a re-plan on the day")
        await self.reap_stale_runs(convention_id)
        run_id = new_id("run")

        async def work(tx: Transaction) -> tuple[dict[str, Any], RunWork]:
            now = self.clock()
            convention = await self._convention(tx, convention_id)
            participants = await self._all(tx, CONVENTION_PARTICIPANTS, ConventionParticipant, convention_id)
            requests = await self._all(tx, MEETING_REQUESTS, MeetingRequest, convention_id)
            gone = await self._registrations_gone(tx, [p.id for p in participants if p.is_active])
            options = scheduling_options(convention, time_limit=float(time_limit_seconds))
            if mode is ScheduleMode.INITIAL:
                problem = to_problem(convention, participants, requests, absent=gone, at=now)
                convention.start_schedule_run(run_id, mode=mode, at=now)
                job = RunWork(mode, problem, options)
            else:
                inputs = replan_inputs(convention, participants, at=now, check_in_closed=check_in_closed)
                problem = to_problem(convention, participants, requests, at=now)
                known = {p.id for p in problem.participants}
                no_shows = tuple(sorted(set(inputs.no_shows) | (set(gone) & known)))
                checked_in = (None if inputs.checked_in is None
                              else tuple(p for p in inputs.checked_in if p not in no_shows))
                convention.start_schedule_run(run_id, mode=mode, at=now, from_slot=inputs.from_slot)
                job = RunWork(mode, problem, options, inputs.previous, no_shows, checked_in, inputs.from_slot)
            await tx.save(CONVENTIONS, convention)
            doc = {"_id": run_id, "convention_id": convention_id, "mode": mode.value, "status": RunState.QUEUED.value,
                   "phase": "queued", "fraction": 0.0, "time_limit_seconds": float(time_limit_seconds),
                   "check_in_closed": check_in_closed, "from_slot_id": job.from_slot,
                   "settings_revision": convention.settings_revision, "participants": len(problem.participants),
                   "requests": len(problem.requests), "absent": list(job.no_shows),
                   "requested_at": stored_instant(now), "started_at": None, "finished_at": None, "heartbeat_at": stored_instant(now),
                   "process_id": self.process_id, "quality": None, "unscheduled": None, "replan": None,
                   "error": None}
            await tx.db[SCHEDULE_RUNS].insert_one(doc, session=tx.session)
            return doc, job

        doc, job = await self.db.transaction(work)
        task = asyncio.create_task(self._execute(run_id, convention_id, job), name=f"schedule-run-{run_id}")
        self.runs[run_id] = task
        task.add_done_callback(lambda _: self.runs.pop(run_id, None))
        return doc

    async def _registrations_gone(self, tx: Transaction, ids: list[str]) -> list[str]:
        """Participants whose registration was cancelled (or is otherwise no longer confirmed)."""
        confirmed = {d["_id"] async for d in tx.db[REGISTRATIONS].find(
            {"_id": {"$in": ids}, "status": RegistrationStatus.CONFIRMED.value}, {"_id": 1}, session=tx.session)}
        return sorted(set(ids) - confirmed)

    async def wait_for_runs(self) -> None:
        """Wait for this process's runs in progress (tests, shutdown)."""
        while self.runs:
            await asyncio.gather(*list(self.runs.values()), return_exceptions=True)

    async def _execute(self, run_id: str, convention_id: str, job: RunWork) -> None:
        runs = self.db[SCHEDULE_RUNS]
        loop = asyncio.get_running_loop()
        try:
            now = stored_instant(self.clock())
            await runs.update_one({"_id": run_id, "status": RunState.QUEUED.value}, {"$set": {
                "status": RunState.RUNNING.value, "phase": "starting", "started_at": now, "heartbeat_at": now}})
            writes: set[asyncio.Task] = set()

            def report(phase: str, fraction: float) -> None:  # on the event loop
                task = loop.create_task(self._progress(run_id, str(phase), float(fraction)))
                writes.add(task)
                task.add_done_callback(writes.discard)

            def progress(phase: str, fraction: float) -> None:  # in the worker thread
                loop.call_soon_threadsafe(report, phase, fraction)

            beating = asyncio.create_task(self._heartbeat(run_id))
            try:
                schedule, figures = await asyncio.to_thread(job.solve, progress)
            except Exception as exc:  # noqa: BLE001 — whatever the scheduler raises, the run fails with it
                log.warning("scheduling run %s of convention %s failed: %r", run_id, convention_id, exc)
                await self.fail_run(run_id, convention_id, _error_text(exc))
                return
            finally:
                beating.cancel()
                if writes:
                    await asyncio.gather(*writes, return_exceptions=True)
            await self._record(run_id, convention_id, schedule, figures)
        except Exception:  # noqa: BLE001 — the database is gone: the heartbeat stops, the reaper fails the run
            log.exception("scheduling run %s of convention %s could not be completed", run_id, convention_id)

    async def _progress(self, run_id: str, phase: str, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        await self.db[SCHEDULE_RUNS].update_one(
            {"_id": run_id, "status": RunState.RUNNING.value, "fraction": {"$lte": fraction}},
            {"$set": {"phase": phase, "fraction": fraction, "heartbeat_at": stored_instant(self.clock())}})

    async def _heartbeat(self, run_id: str) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self.db[SCHEDULE_RUNS].update_one({"_id": run_id, "status": {"$in": LIVE}},
                                                    {"$set": {"heartbeat_at": stored_instant(self.clock())}})

    async def _record(self, run_id: str, convention_id: str, schedule: scheduling.Schedule,
                      figures: scheduling.ReplanFigures | None) -> None:
        async def work(tx: Transaction) -> None:
            now = self.clock()
            convention = await tx.get(CONVENTIONS, Convention, convention_id)
            run = next((r for r in convention.runs if r.run_id == run_id), None)
            at = max(now, run.started_at) if run is not None else now
            run = convention.record_schedule(run_id, schedule, at=at)
            await tx.save(CONVENTIONS, convention)
            replanned = None if figures is None else {
                "absent": figures.absent, "released": figures.released, "present_meetings": figures.present_meetings,
                "kept": figures.kept, "moved": figures.moved, "filled": figures.filled, "declined": figures.declined,
                "history": figures.history, "displaced": figures.displaced}
            await tx.db[SCHEDULE_RUNS].update_one({"_id": run_id}, {"$set": {
                "status": RunState.DONE.value, "phase": "done", "fraction": 1.0, "finished_at": stored_instant(at),
                "heartbeat_at": stored_instant(now), "quality": run.quality.model_dump(mode="json"),
                "unscheduled": run.unscheduled, "replan": replanned}}, session=tx.session)
        try:
            await self.db.transaction(work, conflict_retries=10)
        except DomainError as exc:
            await self.fail_run(run_id, convention_id, f"the plan could not be recorded: {exc.detail}")

    async def fail_run(self, run_id: str, convention_id: str, error: str) -> None:
        """Fail a run: on the convention (``ScheduleRunFailed``, unless the domain has closed it
        already) and its document, in one transaction."""
        async def work(tx: Transaction) -> None:
            now = self.clock()
            convention = await tx.find(CONVENTIONS, Convention, convention_id)
            run = None if convention is None else next((r for r in convention.runs if r.run_id == run_id), None)
            if run is not None and convention.run_in_progress is run:
                convention.fail_schedule_run(run_id, error, at=max(now, run.started_at))
                await tx.save(CONVENTIONS, convention)
            await tx.db[SCHEDULE_RUNS].update_one({"_id": run_id, "status": {"$in": LIVE}}, {"$set": {
                "status": RunState.FAILED.value, "finished_at": stored_instant(now), "error": error[:500]}},
                session=tx.session)
        await self.db.transaction(work, conflict_retries=10)

    async def reap_stale_runs(self, convention_id: str | None = None) -> int:
        """Fail the runs whose process stopped (no heartbeat for :data:`STALE_HEARTBEAT`), except
        this process's own; returns how many. Idempotent (the job and each run request call it)."""
        threshold = stored_instant(self.clock() - STALE_HEARTBEAT)
        query: dict[str, Any] = {"status": {"$in": LIVE}, "heartbeat_at": {"$lt": threshold}}
        if convention_id is not None:
            query["convention_id"] = convention_id
        reaped = 0
        async for doc in self.db[SCHEDULE_RUNS].find(query, {"_id": 1, "convention_id": 1, "heartbeat_at": 1}):
            if doc["_id"] in self.runs:
                continue
            try:
                await self.fail_run(doc["_id"], doc["convention_id"], "abandoned: the process running it stopped "
                                                                      f"(no heartbeat since {doc['heartbeat_at']})")
                reaped += 1
            except Conflict:
                continue  # finished meanwhile
        return reaped

    # -- agendas ----------------------------------------------------------------------------------------
    async def publish_agendas(self, convention_id: str, *,
                              expected_version: int | None = None) -> tuple[PublishedAgendas, bool]:
        """Publish the current plan as the next agenda version (``False``: unchanged since the
        last version, nothing published). Every version is kept (``agenda_versions``)."""
        async def step(tx: Transaction, convention: Convention, now: datetime) -> bool:
            before = convention.agenda_version
            version = convention.publish_agendas(at=now)
            if version == before:
                return False
            published = convention.published
            await tx.db[AGENDA_VERSIONS].insert_one({
                "_id": f"{convention_id}:v{version}", "convention_id": convention_id, "version": version,
                **published.model_dump(mode="json")}, session=tx.session)
            return True
        convention, new = await self._convention_step(convention_id, step, expected_version=expected_version)
        return convention.published, new

    # -- meetings: held or not, outcomes --------------------------------------------------------------
    # Each returns the convention as saved too, so that the caller need not read it again (a
    # convention of 1,000 participants is a document of ~1.5 MB).
    def _scan_of(self, convention_id: str, now: datetime, participant_id: str | None, token: str | None,
                 scanned_at: datetime | None, prefix: str = "") -> tuple[str, datetime]:
        if (participant_id is None) == (token is None):
            raise InvalidInput(f"{prefix}participant_id", "give the participant_id or the badge's token (one of them)")
        if token is not None:
            participant_id = self.badges.registration_of(convention_id, token, field=f"{prefix}token")
        at = utc(scanned_at) or now
        if at > now + SCAN_CLOCK_SKEW:
            raise InvalidInput(f"{prefix}scanned_at", f"{at.isoformat()} is in the future (the device's clock?)")
        return participant_id, at

    async def scan_meeting(self, convention_id: str, meeting_id: str, *, participant_id: str | None = None,
                           token: str | None = None,
                           scanned_at: datetime | None = None) -> tuple[Convention, ConventionMeeting, bool]:
        """A badge scanned at a meeting's table, by participant id or by the badge's token (the QR
        code of the event's badge); at the second side's scan the meeting is held. Returns the
        meeting and whether this scan made it held. ``scanned_at`` (an offline device) may not be
        in the future."""
        pid, at = self._scan_of(convention_id, self.clock(), participant_id, token, scanned_at)

        async def step(tx: Transaction, convention: Convention, _: datetime):
            held_now = convention.record_meeting_scan(meeting_id, pid, at=at)
            return convention.meeting(meeting_id), held_now
        convention, (meeting, held_now) = await self._convention_step(convention_id, step, conflict_retries=20)
        return convention, meeting, held_now

    async def scan_meetings(self, convention_id: str, scans: list[dict[str, Any]]) -> tuple[Convention, list]:
        """Table scans uploaded together (a table's device, or a scanner that was offline): one
        transaction, one write of the convention, each scan applied on its own in the order given.
        Returns, for each, ``(meeting_id, held_now)`` or the problem that refused it (its index
        names it); a refused scan changes nothing."""
        now = self.clock()
        parsed: list[tuple[str, str, datetime] | DomainError] = []
        for i, scan in enumerate(scans):
            try:
                pid, at = self._scan_of(convention_id, now, scan.get("participant_id"), scan.get("token"),
                                        scan.get("scanned_at"), prefix=f"scans.{i}.")
                parsed.append((scan["meeting_id"], pid, at))
            except DomainError as exc:
                parsed.append(exc)

        async def step(tx: Transaction, convention: Convention, _: datetime):
            results: list = []
            for i, item in enumerate(parsed):
                if isinstance(item, DomainError):
                    results.append((i, item))
                    continue
                meeting_id, pid, at = item
                try:
                    results.append((i, (meeting_id, convention.record_meeting_scan(meeting_id, pid, at=at))))
                except DomainError as exc:  # checked before any change: nothing half-done
                    results.append((i, exc))
            return results
        convention, results = await self._convention_step(convention_id, step, conflict_retries=20)
        return convention, results

    async def mark_meeting(self, convention_id: str, meeting_id: str,
                           held: bool) -> tuple[Convention, ConventionMeeting]:
        """The organiser says whether the meeting took place (overrides the badges)."""
        async def step(tx: Transaction, convention: Convention, now: datetime):
            convention.mark_meeting(meeting_id, held, at=now)
            return convention.meeting(meeting_id)
        return await self._convention_step(convention_id, step, conflict_retries=20)

    async def settle_meetings(self, convention_id: str) -> int:
        """Every unmarked meeting whose slot has ended is found not held; returns how many."""
        async def step(tx: Transaction, convention: Convention, now: datetime):
            return convention.settle_meetings(at=now)
        _, count = await self._convention_step(convention_id, step, conflict_retries=20)
        return count

    async def record_outcome(self, convention_id: str, meeting_id: str, *, outcome: str,
                             amount_cents: int | None = None, need_id: str | None = None,
                             contract_id: str | None = None,
                             reported_by: str | None = None) -> tuple[Convention, ConventionMeeting, Outcome]:
        """What came of a meeting, as known now (recorded again as things progress)."""
        async def step(tx: Transaction, convention: Convention, now: datetime):
            recorded = convention.record_outcome(meeting_id, outcome, at=now, amount_cents=amount_cents,
                                                 need_id=need_id, contract_id=contract_id, reported_by=reported_by)
            return convention.meeting(meeting_id), recorded
        convention, (meeting, recorded) = await self._convention_step(convention_id, step, conflict_retries=20)
        return convention, meeting, recorded


def _error_text(exc: BaseException) -> str:
    detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
    field = getattr(exc, "field", None)
    return f"{type(exc).__name__}: {field + ': ' if field else ''}{detail}"
