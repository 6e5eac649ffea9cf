"""The events service's commands for the catalogue, registrations, the waiting list and check-in.

Each command is one MongoDB transaction: the aggregates it changes, the places counter
(``occupancy``) and the events they recorded (the outbox) commit together; every command takes
``within=`` to run inside a given transaction instead.

No overselling. Every command that takes, frees or offers a place reads the event's counter and
writes it back in its transaction: concurrent commands on one event conflict on that document and
the database runs them again on fresh state, one after the other. Arrival order on the waiting
list is commit order (the counter hands out the sequence numbers).

That retry alone collapses under a burst: every transaction that lost the race starts again,
and with 64 clients registering for one event (``make bench-events``) they kept losing until
PyMongo's 120 s limit (500s, about one registration a second). So, within a process, the
commands that write an event's counter also wait their turn on a per-event lock
(:class:`EventLocks`, first come first served); the database's conflict on the counter remains
the guarantee between processes.

Time. The platform's clock dates what happens here (``clock()``, UTC): a client cannot back-date
a registration to get ahead on the waiting list. Scans carry the device's time (offline gates),
which may not be in the future.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from contracts.events.registrations import AccessPolicy, CancellationReason, RegistrationStatus
from runtime import members
from runtime.aggregate import check_version, new_id
from runtime.errors import Conflict, DomainError, InvalidInput, NotFound
from runtime.mongo import Database, Transaction, from_document, utcnow
from services.events.adapters.repository import (CHECKIN_LISTS, EVENTS, REGISTRATIONS, read_occupancy,
                                                 write_occupancy)
from services.events.domain.catalogue import Event, Occupancy
from services.events.domain.checkin import CheckinList, ScanOutcome, ScanResult, ScanType
from services.events.domain.registrations import Registration, places_to_offer
from services.events.service_layer.badges import BadgeSigner

SCAN_CLOCK_SKEW = timedelta(minutes=5)  # a device's clock may run this much ahead of ours
ACTIVE = [s.value for s in (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING_APPROVAL,
                            RegistrationStatus.WAITLISTED, RegistrationStatus.OFFERED)]




def utc(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC (stored so: instants compare as stored), validated as aware by the domain."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class Scanned:
    """A scan's result, with the event's time zone (the gate shows local times)."""

    result: ScanResult
    time_zone: str


@dataclass(frozen=True)
class Registered:
    """A registration just made, with its place on the waiting list (None unless waitlisted)."""

    registration: Registration
    waitlist_position: int | None


class EventLocks:
    """One asyncio lock per key (an event id), made on first use and dropped once nobody holds or
    awaits it. Waiters get it in arrival order."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


class EventsService:
    """Catalogue, registrations, waiting list and check-in, bound to the database."""

    def __init__(self, db: Database, badges: BadgeSigner, clock: Callable[[], datetime] = utcnow, *,
                 on_check_in: Callable[[Transaction, str, datetime], Awaitable[None]] | None = None) -> None:
        self.db = db
        self.badges = badges
        self.clock = clock
        self.on_check_in = on_check_in  # (tx, registration id, at): in the check-in's transaction
        self.event_locks = EventLocks()

    async def _per_event(self, event_id: str, work: Callable[[Transaction], Awaitable[Any]],
                         within: Transaction | None) -> Any:
        """``work`` in its transaction, one at a time per event in this process (see the module's
        docstring); inside ``within`` as it is (its owner decides)."""
        if within is not None:
            return await self.db.transaction(work, within=within)
        async with self.event_locks.hold(event_id):
            return await self.db.transaction(work)

    # -- the catalogue ------------------------------------------------------------------------------
    async def schedule_event(self, fields: dict[str, Any], *, within: Transaction | None = None) -> Event:
        async def work(tx: Transaction) -> Event:
            event = Event.schedule(new_id("evt"), at=self.clock(), **_utc_fields(fields))
            await tx.save(EVENTS, event)
            await write_occupancy(tx, event.id, Occupancy())
            return event
        return await self.db.transaction(work, within=within)

    async def _event_step(self, event_id: str, expected_version: int | None, step, *,
                          within: Transaction | None = None) -> Event:
        async def work(tx: Transaction) -> Event:
            event = await tx.get(EVENTS, Event, event_id)
            check_version(event, expected_version)
            await step(tx, event)
            if event.pending_events:
                await tx.save(EVENTS, event)
            return event
        return await self._per_event(event_id, work, within)

    async def update_event(self, event_id: str, changes: dict[str, Any], *, expected_version: int | None = None,
                           within: Transaction | None = None) -> Event:
        async def step(tx: Transaction, event: Event) -> None:
            occupancy = await read_occupancy(tx, event_id)
            event.update(at=self.clock(), taken=occupancy, **_utc_fields(changes))
            await self._offer_free_places(tx, event, occupancy)  # a larger quota frees places
        return await self._event_step(event_id, expected_version, step, within=within)

    async def publish_event(self, event_id: str, *, expected_version: int | None = None,
                            within: Transaction | None = None) -> Event:
        async def step(tx: Transaction, event: Event) -> None:
            event.publish(at=self.clock())
        return await self._event_step(event_id, expected_version, step, within=within)

    async def close_registrations(self, event_id: str, *, expected_version: int | None = None,
                                  within: Transaction | None = None) -> Event:
        async def step(tx: Transaction, event: Event) -> None:
            event.close_registrations(at=self.clock())
        return await self._event_step(event_id, expected_version, step, within=within)

    async def mark_held(self, event_id: str, *, expected_version: int | None = None,
                        within: Transaction | None = None) -> Event:
        async def step(tx: Transaction, event: Event) -> None:
            event.mark_held(at=self.clock())
        return await self._event_step(event_id, expected_version, step, within=within)

    async def archive_event(self, event_id: str, *, expected_version: int | None = None,
                            within: Transaction | None = None) -> Event:
        async def step(tx: Transaction, event: Event) -> None:
            event.archive(at=self.clock())
        return await self._event_step(event_id, expected_version, step, within=within)

    async def cancel_event(self, event_id: str, reason: str, *, expected_version: int | None = None,
                           within: Transaction | None = None) -> tuple[Event, int]:
        """Cancel the event and, in the same transaction, every active registration of it (reason
        ``event_cancelled``). Returns the event and how many registrations were cancelled."""
        cancelled = 0

        async def step(tx: Transaction, event: Event) -> None:
            nonlocal cancelled
            now = self.clock()
            event.cancel(reason, at=now)
            occupancy = await read_occupancy(tx, event_id)
            async for doc in tx.db[REGISTRATIONS].find({"event_id": event_id, "status": {"$in": ACTIVE}},
                                                       session=tx.session):
                registration = from_document(Registration, doc)
                before = registration.status
                registration.cancel(CancellationReason.EVENT_CANCELLED, at=max(now, registration.registered_at))
                occupancy = occupancy.after(registration.category, before, registration.status)
                await tx.save(REGISTRATIONS, registration)
                cancelled += 1
            await write_occupancy(tx, event_id, occupancy)
        event = await self._event_step(event_id, expected_version, step, within=within)
        return event, cancelled

    # -- registrations ------------------------------------------------------------------------------
    async def register(self, event_id: str, *, name: str, email: str, category: str, phone: str | None = None,
                       organisation_id: str | None = None, within: Transaction | None = None) -> Registered:
        """Register a person: confirmed, awaiting approval or waitlisted, as the places counter
        decides, with the place on the waiting list. One active registration per e-mail (compared
        without case) and event: 409 names the existing one."""
        if isinstance(email, str):
            email = email.strip().lower()

        async def work(tx: Transaction) -> Registered:
            now = self.clock()
            event = await tx.get(EVENTS, Event, event_id)
            occupancy = await read_occupancy(tx, event_id)
            if isinstance(email, str) and email:
                # By (event, e-mail) only, the status filtered here: with the status's ``$in`` in the
                # query SecantusDB's planner scans the whole collection (a registration cost that
                # grew with the event's registrations: 0.2 s at 2,000); this one uses the index.
                mine = await tx.db[REGISTRATIONS].find({"event_id": event_id, "person.email": email},
                                                       {"_id": 1, "status": 1}, session=tx.session).to_list()
                existing = next((doc for doc in mine if doc["status"] in ACTIVE), None)
                if existing is not None:
                    raise Conflict(f"{email} is already registered for event {event_id} "
                                   f"({existing['status']}: registration {existing['_id']})",
                                   registration_id=existing["_id"], current_state=existing["status"])
            member = None
            if event.access is not AccessPolicy.OPEN:
                member = await members.in_good_standing(tx, organisation_id)
            admission = event.admission(category, occupancy, in_good_standing=member, at=now)
            seq = occupancy.next_waitlist_seq if admission.value == RegistrationStatus.WAITLISTED.value else None
            registration = Registration.register(
                new_id("reg"), event=event, name=name, email=email, phone=phone, organisation_id=organisation_id,
                category=category, admission=admission, waitlist_seq=seq, at=now)
            await tx.save(REGISTRATIONS, registration)
            await write_occupancy(tx, event_id, occupancy.after(category, None, registration.status))
            # the newcomer is last in its category's line: behind everyone waiting there now
            position = occupancy.waiting(category) + 1 if seq is not None else None
            return Registered(registration, position)
        return await self._per_event(event_id, work, within)

    async def _registration_step(self, registration_id: str, expected_version: int | None, step, *,
                                 within: Transaction | None = None) -> Registration:
        """Load the registration and its event, apply ``step(registration, event, now)``, keep the
        counter in step with the status change, offer any freed place: one transaction."""
        async def work(tx: Transaction) -> Registration:
            now = self.clock()
            registration = await tx.get(REGISTRATIONS, Registration, registration_id)
            check_version(registration, expected_version)
            event = await tx.get(EVENTS, Event, registration.event_id)
            occupancy = await read_occupancy(tx, event.id)
            before = registration.status
            step(registration, event, now)
            if registration.pending_events:
                await tx.save(REGISTRATIONS, registration)
            if registration.status is not before:
                occupancy = occupancy.after(registration.category, before, registration.status)
                await self._offer_free_places(tx, event, occupancy)
            return registration
        if within is not None:
            return await self.db.transaction(work, within=within)
        known = await self.db[REGISTRATIONS].find_one({"_id": registration_id}, {"event_id": 1})
        return await self._per_event(known["event_id"] if known else registration_id, work, None)

    async def cancel_registration(self, registration_id: str, reason: str, *, detail: str | None = None,
                                  expected_version: int | None = None,
                                  within: Transaction | None = None) -> Registration:
        return await self._registration_step(
            registration_id, expected_version, lambda r, e, now: r.cancel(reason, at=now, detail=detail),
            within=within)

    async def approve(self, registration_id: str, *, expected_version: int | None = None,
                      within: Transaction | None = None) -> Registration:
        return await self._registration_step(registration_id, expected_version,
                                             lambda r, e, now: r.approve(at=now), within=within)

    async def reject(self, registration_id: str, reason: str, *, expected_version: int | None = None,
                     within: Transaction | None = None) -> Registration:
        return await self._registration_step(registration_id, expected_version,
                                             lambda r, e, now: r.reject(reason, at=now), within=within)

    async def accept_offer(self, registration_id: str, *, expected_version: int | None = None,
                           within: Transaction | None = None) -> Registration:
        return await self._registration_step(registration_id, expected_version,
                                             lambda r, e, now: r.accept_offer(at=now), within=within)

    async def decline_offer(self, registration_id: str, *, expected_version: int | None = None,
                            within: Transaction | None = None) -> Registration:
        return await self._registration_step(registration_id, expected_version,
                                             lambda r, e, now: r.decline_offer(at=now), within=within)

    async def _offer_free_places(self, tx: Transaction, event: Event, occupancy: Occupancy) -> Occupancy:
        """Offer every place free now to the people next in line (lowest sequence first, per
        category), then write the counter. Each offer runs ``event.offer_validity_hours``, cut to
        the hours left before the event; none is made once registrations have closed."""
        now = self.clock()
        if occupancy.total_waiting:
            waiting = [from_document(Registration, d) async for d in tx.db[REGISTRATIONS].find(
                {"event_id": event.id, "status": RegistrationStatus.WAITLISTED.value},
                session=tx.session).sort("waitlist_seq", 1)]
            for registration in places_to_offer(event, occupancy, waiting, at=now):
                registration.offer_place(at=max(now, registration.registered_at), hours=event.offer_hours(now))
                occupancy = occupancy.after(registration.category, RegistrationStatus.WAITLISTED,
                                            registration.status)
                await tx.save(REGISTRATIONS, registration)
        await write_occupancy(tx, event.id, occupancy)
        return occupancy

    async def expire_offers(self) -> int:
        """Expire every offer that has run out, and pass each freed place on (the sweeper job).
        Each registration in its own transaction; returns how many offers expired."""
        expired = 0
        ids = [d["_id"] async for d in self.db[REGISTRATIONS].find(
            {"status": RegistrationStatus.OFFERED.value}, {"_id": 1})]
        for registration_id in ids:
            def step(r: Registration, e: Event, at: datetime) -> None:
                if r.offer_expired(at):
                    r.expire_offer(at=at)
            try:
                registration = await self._registration_step(registration_id, None, step)
            except Conflict:
                continue  # answered meanwhile
            expired += registration.status is RegistrationStatus.OFFER_EXPIRED
        return expired

    async def offer_free_places(self, event_id: str) -> list[str]:
        """Offer the places free now (after a quota change, or to repair); returns the registrations offered."""
        async def work(tx: Transaction) -> list[str]:
            event = await tx.get(EVENTS, Event, event_id)
            before = {d["_id"] async for d in tx.db[REGISTRATIONS].find(
                {"event_id": event_id, "status": RegistrationStatus.OFFERED.value}, {"_id": 1}, session=tx.session)}
            await self._offer_free_places(tx, event, await read_occupancy(tx, event_id))
            after = {d["_id"] async for d in tx.db[REGISTRATIONS].find(
                {"event_id": event_id, "status": RegistrationStatus.OFFERED.value}, {"_id": 1}, session=tx.session)}
            return sorted(after - before)
        return await self.db.transaction(work)

    # -- check-in ---------------------------------------------------------------------------------------
    async def create_checkin_list(self, event_id: str, *, name: str, categories: list[str] | None = None,
                                  room: bool = False) -> CheckinList:
        async def work(tx: Transaction) -> CheckinList:
            event = await tx.get(EVENTS, Event, event_id)
            checkin_list = CheckinList.create(new_id("cl"), event=event, name=name, categories=categories or (),
                                              room=room)
            await tx.db[CHECKIN_LISTS].insert_one({"_id": checkin_list.list_id, **checkin_list.model_dump(mode="json")},
                                                  session=tx.session)
            return checkin_list
        return await self.db.transaction(work)

    async def scan(self, event_id: str, *, list_id: str, token: str, gate: str, nonce: str,
                   type: ScanType = ScanType.ENTRY, scanned_at: datetime | None = None,
                   offline: bool = False, field: str = "") -> Scanned:
        """One badge scan at a gate. The same nonce again returns the first answer and changes
        nothing; a second entry answers "already checked in at HH:MM at gate X". Concurrent scans
        of one badge at several gates are serialised (the loser re-reads and answers "already").
        Returns the result with the event's time zone (for the message at the gate)."""
        prefix = f"{field}." if field else ""
        now = self.clock()
        at = utc(scanned_at) or now

        async def work(tx: Transaction) -> Scanned:
            event = await tx.get(EVENTS, Event, event_id)  # first: an unknown event is a 404
            registration_id = self.badges.registration_of(event_id, token, field=f"{prefix}token")
            if at.tzinfo is not None and at > now + SCAN_CLOCK_SKEW:
                raise InvalidInput(f"{prefix}scanned_at", f"{at.isoformat()} is in the future (the device's clock?)")
            registration = await tx.get(REGISTRATIONS, Registration, registration_id)
            if at < registration.registered_at:  # a badge exists only once registered: a back-dated scan
                raise InvalidInput(f"{prefix}scanned_at", f"{at.isoformat()} is before the registration "
                                                          f"({registration.registered_at.isoformat()})")
            doc = await tx.db[CHECKIN_LISTS].find_one({"_id": list_id, "event_id": event_id}, session=tx.session)
            if doc is None:
                raise NotFound(f"event {event_id} has no check-in list {list_id!r}", list_id=list_id)
            doc.pop("_id")
            checkin_list = CheckinList.model_validate(doc)
            scans = len(registration.scans)
            scan = registration.check_in if type is ScanType.ENTRY else registration.check_out
            result = scan(checkin_list, event=event, gate=gate, at=at, nonce=nonce, offline=offline)
            if len(registration.scans) != scans or registration.pending_events:
                await tx.save(REGISTRATIONS, registration)
            if result.outcome is ScanOutcome.CHECKED_IN and self.on_check_in is not None:
                await self.on_check_in(tx, registration.id, result.scanned_at)  # e.g. a convention arrival
            return Scanned(result, event.time_zone)
        return await self.db.transaction(work, conflict_retries=20)

    async def scan_batch(self, event_id: str, scans: list[dict[str, Any]]) -> list[Scanned | dict[str, Any]]:
        """Scans uploaded together (a gate that was offline), each on its own, in the order given:
        the result of each, or the problem that refused it (its index names it)."""
        results: list[Scanned | dict[str, Any]] = []
        for i, scan in enumerate(scans):
            try:
                results.append(await self.scan(event_id, **scan, field=f"scans.{i}"))
            except DomainError as exc:
                results.append({"index": i, "status": exc.status, "title": exc.title, "detail": exc.detail,
                                **{k: v for k, v in exc.extra.items() if isinstance(v, (str, int))}})
        return results


def _utc_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Instants in UTC; categories without a label as the domain takes them."""
    out = {k: (utc(v) if isinstance(v, datetime) else v) for k, v in fields.items()}
    if out.get("categories") is not None:
        out["categories"] = [{k: v for k, v in dict(c).items() if not (k == "label" and v is None)}
                             for c in out["categories"]]
    return out
