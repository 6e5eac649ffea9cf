"""The events catalogue: the :class:`Event` aggregate, its places (:class:`Occupancy`) and the
admission decision.

Lifecycle::

    schedule ─▶ draft ──publish──▶ published ──close_registrations──▶ closed ──mark_held──▶ held ──archive──▶ archived
                  │                   │  └──────────────── mark_held ───────────────────────▲
                  └──── cancel(reason) ┴──────── cancel(reason) (from draft, published, closed) ─▶ cancelled

- ``update`` is allowed in draft and published; a quota cannot go below the places already
  held in its category, a category with held places or people waiting cannot be removed, and
  the total capacity cannot go below the places held in all (``taken``: the per-category held
  places, or the event's :class:`Occupancy`).
- ``publish`` needs a place or an online URL (a draft may have neither yet).
- ``venue_commune``: the INSEE code of the venue's commune (checked against :mod:`reference.geo`),
  for the observatory's territorial figures; only with a ``place`` (an online event has none;
  clearing the place clears it).
- ``mark_held`` is refused before ``starts_at``. A step out of order raises ``Conflict``
  naming the current state and the expected step.

Capacity: categories of participants, each with its own quota (a single ``general``
category when only ``capacity`` is given to :meth:`Event.schedule`), and an optional total
``capacity`` (at most the sum of the quotas) when the categories share a room.

Places and overselling. Places are counted outside the registrations, in one counter per
event (the :class:`Occupancy`: per category, the *held* places — confirmed + pending approval
+ offered — and the number *waiting*; and the next waiting-list sequence number), which the
service layer reads and updates atomically in the same transaction as the registration.
:meth:`Event.admission` is the pure decision taken on that counter: confirmed (or pending
approval) while a place is free and nobody waits in the category, else waitlisted.
:meth:`Occupancy.after` gives the counter after a registration's status change.

Registration window: from ``registration_opens_at`` (default: publication) until
``registration_closes_at`` (default: the start of the event), and only while published.

Access: ``open``; ``members_only`` (only people whose organisation is a member in good
standing); ``members_priority`` (members only until ``members_priority_until``, then all).

Calendars: the service layer renders iCalendar with its library from :attr:`Event.id` (UID),
:attr:`Event.title`, :attr:`Event.description`, :attr:`Event.local_starts_at` /
:attr:`Event.local_ends_at` (in :attr:`Event.time_zone`), :attr:`Event.location`,
:attr:`Event.online_url`, :attr:`Event.ical_status` and :attr:`Event.ical_sequence`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.registrations import (AccessPolicy, EventArchived, EventCancelled, EventFormat, EventHeld,
                                            EventKind, EventPublished, EventRegistrationsClosed, EventScheduled,
                                            EventStatus, EventUpdated, RegistrationCategory, RegistrationStatus,
                                            Team)
from reference import geo
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from . import _rules

Category = RegistrationCategory
"""A category of participants with its quota (``code``, ``label``, ``quota``)."""

MAX_QUOTA = 100_000
"""Most places a category (or an event) may have."""
MAX_CATEGORIES = 20
MAX_DURATION = timedelta(days=366)
"""Longest event (a course or a cycle spans weeks; nothing spans more than a year)."""
DEFAULT_TIME_ZONE = "Europe/Paris"
DEFAULT_OFFER_VALIDITY_HOURS = 48
GENERAL = "general"
"""Code of the default single category."""

HELD_STATUSES: frozenset[RegistrationStatus] = frozenset(
    {RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING_APPROVAL, RegistrationStatus.OFFERED})
"""Statuses that hold a place."""


class Admission(StrEnum):
    """What a new registration gets."""

    CONFIRMED = "confirmed"
    PENDING_APPROVAL = "pending_approval"
    WAITLISTED = "waitlisted"


# -- occupancy --------------------------------------------------------------------------------

class CategoryCount(BaseModel):
    """Places of one category: held (confirmed + pending approval + offered) and people waiting."""

    model_config = ConfigDict(frozen=True)

    held: int = Field(default=0, ge=0)
    waiting: int = Field(default=0, ge=0)


class Occupancy(BaseModel):
    """The per-event counter of places, kept by the service layer in its own document and
    changed atomically with each registration (:meth:`after` / :meth:`delta`).

    ``next_waitlist_seq`` is the sequence number the next waitlisted registration gets (one
    sequence per event, shared by the categories: a lower number registered earlier).
    """

    model_config = ConfigDict(frozen=True)

    categories: dict[str, CategoryCount] = Field(default_factory=dict)
    next_waitlist_seq: int = Field(default=1, ge=1)

    def held(self, category: str) -> int:
        count = self.categories.get(category)
        return count.held if count else 0

    def waiting(self, category: str) -> int:
        count = self.categories.get(category)
        return count.waiting if count else 0

    @property
    def total_held(self) -> int:
        return sum(c.held for c in self.categories.values())

    @property
    def total_waiting(self) -> int:
        return sum(c.waiting for c in self.categories.values())

    @staticmethod
    def delta(before: RegistrationStatus | None, after: RegistrationStatus | None) -> tuple[int, int]:
        """How (held, waiting) of the registration's category change when its status goes from
        ``before`` (None: a new registration) to ``after`` — what the service layer ``$inc``\\ s."""
        held = (after in HELD_STATUSES) - (before in HELD_STATUSES)
        waiting = (after is RegistrationStatus.WAITLISTED) - (before is RegistrationStatus.WAITLISTED)
        return int(held), int(waiting)

    def after(self, category: str, before: RegistrationStatus | None,
              after: RegistrationStatus | None) -> Occupancy:
        """The counter once a registration of ``category`` went from ``before`` to ``after``.
        A new waitlisted registration (``before`` None) takes ``next_waitlist_seq``, so the
        counter's next sequence moves on.

        :raises Conflict: the counter would go negative (it is out of step with the
            registrations: rebuild it with :meth:`from_registrations`).
        """
        d_held, d_waiting = self.delta(before, after)
        current = self.categories.get(category, CategoryCount())
        held, waiting = current.held + d_held, current.waiting + d_waiting
        if held < 0 or waiting < 0:
            raise Conflict(f"the places counter of category {category!r} is out of step "
                           f"(held {current.held}, waiting {current.waiting}); rebuild it from the registrations",
                           current_state="out_of_step", expected_step="rebuild the occupancy counter")
        seq = self.next_waitlist_seq
        if before is None and after is RegistrationStatus.WAITLISTED:
            seq += 1
        return Occupancy(categories={**self.categories, category: CategoryCount(held=held, waiting=waiting)},
                         next_waitlist_seq=seq)

    @classmethod
    def from_registrations(cls, registrations: Iterable[Any]) -> Occupancy:
        """Recount from registrations (objects with ``category``, ``status``, ``waitlist_seq``):
        to rebuild or verify the counter, and in tests."""
        held: dict[str, int] = {}
        waiting: dict[str, int] = {}
        last_seq = 0
        for r in registrations:
            held.setdefault(r.category, 0)
            waiting.setdefault(r.category, 0)
            if r.status in HELD_STATUSES:
                held[r.category] += 1
            elif r.status is RegistrationStatus.WAITLISTED:
                waiting[r.category] += 1
            if r.waitlist_seq is not None:
                last_seq = max(last_seq, r.waitlist_seq)
        return cls(categories={c: CategoryCount(held=held[c], waiting=waiting[c]) for c in held},
                   next_waitlist_seq=last_seq + 1)


# -- the aggregate ----------------------------------------------------------------------------

_CHANGEABLE = ("kind", "team", "title", "description", "starts_at", "ends_at", "time_zone", "place", "venue_commune",
               "online_url", "audience", "categories", "capacity", "registration_opens_at", "registration_closes_at",
               "requires_approval", "access", "members_priority_until", "offer_validity_hours")

_NEXT_STEP: dict[EventStatus, str] = {
    EventStatus.DRAFT: "publish (or update, or cancel)",
    EventStatus.PUBLISHED: "close registrations or mark held (or update, or cancel)",
    EventStatus.CLOSED: "mark held (or cancel)",
    EventStatus.HELD: "archive",
    EventStatus.ARCHIVED: "none: the event is archived",
    EventStatus.CANCELLED: "none: the event is cancelled",
}


class Event(Aggregate):
    """An event of the catalogue. ``id`` is the event id."""

    kind: EventKind
    team: Team
    title: str
    description: str | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    time_zone: str = DEFAULT_TIME_ZONE
    place: str | None = None
    venue_commune: str | None = Field(default=None, description="INSEE code of the venue's commune (null: online, "
                                                                "or not given).")
    online_url: str | None = None
    audience: str | None = None
    categories: list[RegistrationCategory]
    capacity: int | None = Field(default=None, description="Total places when below the sum of the quotas.")
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None
    requires_approval: bool = False
    access: AccessPolicy = AccessPolicy.OPEN
    members_priority_until: AwareDatetime | None = None
    offer_validity_hours: int = DEFAULT_OFFER_VALIDITY_HOURS
    status: EventStatus = EventStatus.DRAFT
    revision: int = 0
    scheduled_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    published_at: AwareDatetime | None = None
    registrations_closed_at: AwareDatetime | None = None
    held_at: AwareDatetime | None = None
    archived_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    cancellation_reason: str | None = None

    # -- factory ---------------------------------------------------------------------------
    @classmethod
    def schedule(cls, event_id: str, *, kind: EventKind | str, team: Team | str, title: str,
                 starts_at: datetime, ends_at: datetime, at: datetime,
                 time_zone: str = DEFAULT_TIME_ZONE, description: str | None = None, place: str | None = None,
                 venue_commune: str | None = None, online_url: str | None = None, audience: str | None = None,
                 categories: Iterable[RegistrationCategory | Mapping[str, Any]] | None = None,
                 capacity: int | None = None, registration_opens_at: datetime | None = None,
                 registration_closes_at: datetime | None = None, requires_approval: bool = False,
                 access: AccessPolicy | str = AccessPolicy.OPEN, members_priority_until: datetime | None = None,
                 offer_validity_hours: int = DEFAULT_OFFER_VALIDITY_HOURS) -> Event:
        """Create a draft → ``EventScheduled``.

        Capacity: either ``categories`` (each ``{"code", "label"?, "quota"}``) with an optional
        total ``capacity`` (1..sum of the quotas), or only ``capacity``: one ``general``
        category of that many places.

        :raises InvalidInput: naming the field (``categories.1.quota``, ``ends_at``…).
        """
        event_id = _rules.identifier(event_id, "event_id")
        at = _rules.instant(at, "at")
        if categories is None:
            if capacity is None:
                raise InvalidInput("capacity", "give the number of places (capacity) or the categories with "
                                               "their quotas")
            quota = _rules.whole(capacity, "capacity", minimum=1, maximum=MAX_QUOTA)
            categories, capacity = [RegistrationCategory(code=GENERAL, label="Participants", quota=quota)], None
        values = _validated(dict(
            kind=kind, team=team, title=title, description=description, starts_at=starts_at, ends_at=ends_at,
            time_zone=time_zone, place=place, venue_commune=venue_commune, online_url=online_url, audience=audience,
            categories=categories,
            capacity=capacity, registration_opens_at=registration_opens_at,
            registration_closes_at=registration_closes_at, requires_approval=requires_approval, access=access,
            members_priority_until=members_priority_until, offer_validity_hours=offer_validity_hours))
        event = cls(id=event_id, scheduled_at=at, **values)
        event.record(EventScheduled(**event._facts(), access=event.access, requires_approval=event.requires_approval,
                                    scheduled_at=at))
        return event

    # -- commands --------------------------------------------------------------------------
    def update(self, *, at: datetime, taken: Mapping[str, int] | Occupancy | None = None,
               **changes: Any) -> list[str]:
        """Change details of a draft or published event → ``EventUpdated`` (with the changed
        fields) when something changed; returns the names of the changed fields (empty: nothing
        recorded). ``changes`` are among: kind, team, title, description, starts_at, ends_at,
        time_zone, place, venue_commune, online_url, audience, categories, capacity, registration_opens_at,
        registration_closes_at, requires_approval, access, members_priority_until,
        offer_validity_hours (``None`` clears an optional one).

        ``taken``: the places held per category (or the event's :class:`Occupancy`); required
        to change the categories or the capacity of a published event.

        :raises Conflict: not draft or published.
        :raises InvalidInput: an unknown or invalid field; a quota below its held places
            (``categories.<i>.quota``); a removed category with held places or people waiting
            (``categories``); a capacity below the places held (``capacity``).
        """
        self._expect("update the event", EventStatus.DRAFT, EventStatus.PUBLISHED)
        at = self._at(at)
        for name in changes:
            if name not in _CHANGEABLE:
                raise InvalidInput(name, f"{name} cannot be changed (changeable: {', '.join(_CHANGEABLE)})")
        current = {name: getattr(self, name) for name in _CHANGEABLE}
        if ("access" in changes and "members_priority_until" not in changes
                and changes["access"] != AccessPolicy.MEMBERS_PRIORITY):
            changes["members_priority_until"] = None  # the priority date goes with the policy
        if "place" in changes and "venue_commune" not in changes and (
                changes["place"] is None or (isinstance(changes["place"], str) and not changes["place"].strip())):
            changes["venue_commune"] = None  # the venue's commune goes with the venue
        values = _validated({**current, **changes})
        changed = [name for name in _CHANGEABLE if values[name] != current[name]]
        if not changed:
            return []
        if self.status is EventStatus.PUBLISHED and ("categories" in changed or "capacity" in changed):
            self._check_taken(values["categories"], values["capacity"], taken)
        if self.status is EventStatus.PUBLISHED and values["place"] is None and values["online_url"] is None:
            raise InvalidInput("place", "a published event keeps a place or an online URL")
        for name in changed:
            setattr(self, name, values[name])
        self.revision += 1
        self.updated_at = at
        self.record(EventUpdated(**self._facts(), changed_fields=changed, revision=self.revision, updated_at=at))
        return changed

    def publish(self, *, at: datetime) -> None:
        """Make the event visible and open registrations (within the window) → ``EventPublished``.

        An event published once its window is over (to record a past event, e.g. a school
        session, before marking it held) never takes registrations.

        :raises Conflict: not a draft.
        :raises InvalidInput: neither a place nor an online URL (``place``).
        """
        self._expect("publish the event", EventStatus.DRAFT)
        at = self._at(at)
        if self.place is None and self.online_url is None:
            raise InvalidInput("place", "an event is published with a place (venue address) or an online URL")
        self.status = EventStatus.PUBLISHED
        self.published_at = at
        self.record(EventPublished(
            **self._facts(), access=self.access, members_priority_until=self.members_priority_until,
            requires_approval=self.requires_approval, registration_opens_at=self.registrations_open,
            registration_closes_at=self.registrations_close, published_at=at))

    def close_registrations(self, *, at: datetime) -> None:
        """Close registrations before the window's end → ``EventRegistrationsClosed``.

        :raises Conflict: not published.
        """
        self._expect("close registrations", EventStatus.PUBLISHED)
        at = self._at(at)
        self.status = EventStatus.CLOSED
        self.registrations_closed_at = at
        self.record(EventRegistrationsClosed(**self._facts(), closed_at=at))

    def mark_held(self, *, at: datetime) -> None:
        """The event took place → ``EventHeld``. Allowed from published or closed.

        :raises Conflict: not published or closed.
        :raises InvalidInput: ``at`` before the event starts.
        """
        self._expect("mark the event held", EventStatus.PUBLISHED, EventStatus.CLOSED)
        at = self._at(at)
        _rules.not_before(at, self.starts_at, "at", "the start of the event")
        self.status = EventStatus.HELD
        self.held_at = at
        self.record(EventHeld(**self._facts(), held_at=at))

    def archive(self, *, at: datetime) -> None:
        """Archive a held event → ``EventArchived``.

        :raises Conflict: not held.
        """
        self._expect("archive the event", EventStatus.HELD)
        at = self._at(at)
        self.status = EventStatus.ARCHIVED
        self.archived_at = at
        self.record(EventArchived(**self._facts(), archived_at=at))

    def cancel(self, reason: str, *, at: datetime) -> None:
        """Cancel the event → ``EventCancelled`` (the service layer then cancels its
        registrations with reason ``event_cancelled``).

        :raises Conflict: held, archived or already cancelled.
        :raises InvalidInput: blank reason.
        """
        self._expect("cancel the event", EventStatus.DRAFT, EventStatus.PUBLISHED, EventStatus.CLOSED)
        reason = _rules.text(reason, "reason", max_length=2000)
        at = self._at(at)
        previous = self.status
        self.status = EventStatus.CANCELLED
        self.cancelled_at = at
        self.cancellation_reason = reason
        self.record(EventCancelled(**self._facts(), previous_status=previous, reason=reason, cancelled_at=at))

    # -- admission -------------------------------------------------------------------------
    def admission(self, category: str, occupancy: Occupancy, *, in_good_standing: bool | None,
                  at: datetime) -> Admission:
        """What a new registration in ``category`` gets, given the event's places counter:

        - ``CONFIRMED`` (``PENDING_APPROVAL`` if the event requires approval) when a place is
          free in the category and within the total capacity, nobody waits in the category,
          and the free places are not all due to people waiting in other categories;
        - ``WAITLISTED`` otherwise.

        ``in_good_standing``: whether the person's organisation is a member in good standing
        (None: no organisation known — not a member).

        :raises Conflict: registrations not open (event status, before the window opens,
            after it closes); a non-member while the event is members only (or members first:
            the message says until when).
        :raises InvalidInput: ``category`` unknown to the event.
        """
        at = _rules.instant(at, "at")
        if self.status is not EventStatus.PUBLISHED:
            raise Conflict(f"registrations are not open: event {self.id} is {self.status.value}; "
                           f"expected step: {self.next_step}",
                           current_state=self.status.value, expected_step=self.next_step)
        if at < self.registrations_open:
            raise Conflict(f"registrations for event {self.id} open at {self._local(self.registrations_open)}",
                           current_state="registrations_not_yet_open",
                           expected_step=f"register from {self.registrations_open.isoformat()}")
        if at >= self.registrations_close:
            raise Conflict(f"registrations for event {self.id} closed at {self._local(self.registrations_close)}",
                           current_state="registrations_closed", expected_step="none: registrations are closed")
        quota = self.category(category).quota
        if in_good_standing is not True:
            if self.access is AccessPolicy.MEMBERS_ONLY:
                raise Conflict(f"event {self.id} is for members in good standing only",
                               current_state="members_only", expected_step="register as a member in good standing")
            if self.access is AccessPolicy.MEMBERS_PRIORITY and at < self.members_priority_until:
                raise Conflict(f"event {self.id}: members in good standing only until "
                               f"{self._local(self.members_priority_until)}; others may register from then",
                               current_state="members_priority",
                               expected_step=f"register from {self.members_priority_until.isoformat()}")
        if occupancy.waiting(category) > 0 or quota - occupancy.held(category) <= 0:
            return Admission.WAITLISTED
        if self.capacity is not None:
            # Free places that people waiting in other categories are due (offers not yet made).
            total_free = self.capacity - occupancy.total_held
            due_elsewhere = sum(min(occupancy.waiting(c.code), max(0, c.quota - occupancy.held(c.code)))
                                for c in self.categories if c.code != category)
            if total_free - due_elsewhere <= 0:
                return Admission.WAITLISTED
        return Admission.PENDING_APPROVAL if self.requires_approval else Admission.CONFIRMED

    def free_places(self, category: str, occupancy: Occupancy) -> int:
        """Places free in ``category`` (within its quota and the total capacity), waiting list
        not counted. :raises InvalidInput: unknown category."""
        free = self.category(category).quota - occupancy.held(category)
        if self.capacity is not None:
            free = min(free, self.capacity - occupancy.total_held)
        return max(0, free)

    def offer_hours(self, at: datetime) -> int:
        """How long a place offered at ``at`` stays valid: ``offer_validity_hours``, cut to the
        whole hours left before the event starts (at least 1)."""
        left = int((self.starts_at - _rules.instant(at, "at")).total_seconds() // 3600)
        return max(1, min(self.offer_validity_hours, left))

    # -- queries ---------------------------------------------------------------------------
    def category(self, code: str) -> RegistrationCategory:
        """The category of that code. :raises InvalidInput: (``category``) unknown."""
        for c in self.categories:
            if c.code == code:
                return c
        known = ", ".join(c.code for c in self.categories)
        raise InvalidInput("category", f"event {self.id} has no category {code!r} (categories: {known})")

    @property
    def total_capacity(self) -> int:
        """Total places: ``capacity`` when set, else the sum of the quotas."""
        return self.capacity if self.capacity is not None else sum(c.quota for c in self.categories)

    @property
    def registrations_open(self) -> datetime:
        """When registrations open: ``registration_opens_at``, else the publication (else the
        creation, for a draft)."""
        return self.registration_opens_at or self.published_at or self.scheduled_at

    @property
    def registrations_close(self) -> datetime:
        """When registrations close: ``registration_closes_at``, else the start of the event."""
        return self.registration_closes_at or self.starts_at

    def accepts_registrations(self, at: datetime) -> bool:
        """Published and within the registration window (access rules aside)."""
        return (self.status is EventStatus.PUBLISHED
                and self.registrations_open <= at < self.registrations_close)

    @property
    def format(self) -> EventFormat | None:
        if self.place and self.online_url:
            return EventFormat.HYBRID
        if self.place:
            return EventFormat.IN_PERSON
        if self.online_url:
            return EventFormat.ONLINE
        return None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def local_starts_at(self) -> datetime:
        """``starts_at`` in the event's time zone (for calendars and messages)."""
        return self.starts_at.astimezone(self.zone)

    @property
    def local_ends_at(self) -> datetime:
        return self.ends_at.astimezone(self.zone)

    @property
    def location(self) -> str | None:
        """The calendar LOCATION: the venue, else the online URL."""
        return self.place or self.online_url

    @property
    def ical_status(self) -> str:
        """The calendar STATUS: TENTATIVE (draft), CANCELLED, else CONFIRMED."""
        if self.status is EventStatus.DRAFT:
            return "TENTATIVE"
        if self.status is EventStatus.CANCELLED:
            return "CANCELLED"
        return "CONFIRMED"

    @property
    def ical_sequence(self) -> int:
        """The calendar SEQUENCE: grows with each update and with the cancellation."""
        return self.revision + (1 if self.status is EventStatus.CANCELLED else 0)

    @property
    def next_step(self) -> str:
        """The step(s) expected next, in words (used in ``Conflict`` messages)."""
        return _NEXT_STEP[self.status]

    # -- internals -------------------------------------------------------------------------
    def _expect(self, action: str, *allowed: EventStatus) -> None:
        if self.status not in allowed:
            raise _rules.conflict(f"event {self.id}", action, self.status.value, self.next_step)

    def _at(self, at: datetime) -> datetime:
        at = _rules.instant(at, "at")
        return _rules.not_before(at, self.scheduled_at, "at", "the creation of the event")

    def _local(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M} ({self.time_zone})"

    def _facts(self) -> dict[str, Any]:
        return dict(event_id=self.id, kind=self.kind, team=self.team, title=self.title, starts_at=self.starts_at,
                    ends_at=self.ends_at, time_zone=self.time_zone, format=self.format,
                    venue_commune=self.venue_commune, categories=list(self.categories), capacity=self.total_capacity)

    def _check_taken(self, categories: list[RegistrationCategory], capacity: int | None,
                     taken: Mapping[str, int] | Occupancy | None) -> None:
        if taken is None:
            raise InvalidInput("taken", f"event {self.id} is published: give the places taken per category to "
                                        f"change its categories or capacity")
        if isinstance(taken, Occupancy):
            held = {c: n.held for c, n in taken.categories.items()}
            waiting = {c: n.waiting for c, n in taken.categories.items()}
        else:
            held, waiting = {}, {}
            for code, n in taken.items():
                held[code] = _rules.whole(n, f"taken.{code}", minimum=0, maximum=10 * MAX_QUOTA)
        by_code = {c.code: (i, c) for i, c in enumerate(categories)}
        for code in set(held) | set(waiting):
            h, w = held.get(code, 0), waiting.get(code, 0)
            if code not in by_code:
                if h or w:
                    raise InvalidInput("categories", f"category {code!r} cannot be removed: {h} place(s) held and "
                                                     f"{w} person(s) waiting")
                continue
            i, c = by_code[code]
            if c.quota < h:
                raise InvalidInput(f"categories.{i}.quota", f"the quota of {code!r} cannot go below the {h} "
                                                            f"place(s) already taken (got {c.quota})")
        total = sum(held.values())
        if capacity is not None and capacity < total:
            raise InvalidInput("capacity", f"the capacity cannot go below the {total} place(s) already taken "
                                           f"(got {capacity})")


# -- validation ---------------------------------------------------------------------------------

def _category(item: object, index: int) -> RegistrationCategory:
    field = f"categories.{index}"
    if isinstance(item, RegistrationCategory):
        data: Mapping[str, Any] = item.model_dump()
    elif isinstance(item, Mapping):
        data = item
    else:
        raise InvalidInput(field, f"{field} must be an object with code, label and quota")
    unknown = set(data) - {"code", "label", "quota"}
    if unknown:
        raise InvalidInput(f"{field}.{sorted(unknown)[0]}", f"unknown field of a category: {sorted(unknown)[0]}")
    code = _rules.code(data.get("code"), f"{field}.code")
    label = data.get("label")
    label = _rules.text(label, f"{field}.label") if label is not None else (
        "Participants" if code == GENERAL else code)
    quota = _rules.whole(data.get("quota"), f"{field}.quota", minimum=1, maximum=MAX_QUOTA)
    return RegistrationCategory(code=code, label=label, quota=quota)


def _venue_commune(value: object, place: object) -> str | None:
    """The INSEE code of the venue's commune (None when not given); only an event with a place has one."""
    if value is None:
        return None
    if not isinstance(value, str) or geo.commune(value.strip().upper()) is None:
        raise InvalidInput("venue_commune", f"{value!r} is not the INSEE code of a French commune (e.g. 93048)")
    if place is None:
        raise InvalidInput("venue_commune", "only an event with a place (venue address) has a venue commune; an "
                                            "online event has none")
    return value.strip().upper()


def _validated(v: dict[str, Any]) -> dict[str, Any]:
    """The event's fields, checked and normalised (shared by schedule and update)."""
    out: dict[str, Any] = {
        "kind": _rules.enum_value(EventKind, v["kind"], "kind"),
        "team": _rules.enum_value(Team, v["team"], "team"),
        "title": _rules.text(v["title"], "title", max_length=200),
        "description": _rules.optional_text(v["description"], "description", max_length=10_000),
        "time_zone": _rules.time_zone(v["time_zone"]),
        "place": _rules.optional_text(v["place"], "place", max_length=500),
        "online_url": _rules.http_url(v["online_url"], "online_url"),
        "audience": _rules.optional_text(v["audience"], "audience", max_length=500),
        "requires_approval": _rules.flag(v["requires_approval"], "requires_approval"),
        "access": _rules.enum_value(AccessPolicy, v["access"], "access"),
        "offer_validity_hours": _rules.whole(v["offer_validity_hours"], "offer_validity_hours", minimum=1,
                                             maximum=720),
    }
    out["venue_commune"] = _venue_commune(v["venue_commune"], out["place"])
    starts = out["starts_at"] = _rules.instant(v["starts_at"], "starts_at")
    ends = out["ends_at"] = _rules.instant(v["ends_at"], "ends_at")
    if ends <= starts:
        raise InvalidInput("ends_at", f"the event ends ({ends.isoformat()}) before or when it starts "
                                      f"({starts.isoformat()})")
    if ends - starts > MAX_DURATION:
        raise InvalidInput("ends_at", "an event lasts at most 366 days")

    raw = v["categories"]
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
        raise InvalidInput("categories", "categories must be a list")
    categories = [_category(item, i) for i, item in enumerate(raw)]
    if not categories:
        raise InvalidInput("categories", "an event has at least one category of participants")
    if len(categories) > MAX_CATEGORIES:
        raise InvalidInput("categories", f"an event has at most {MAX_CATEGORIES} categories")
    seen: set[str] = set()
    for i, c in enumerate(categories):
        if c.code in seen:
            raise InvalidInput(f"categories.{i}.code", f"category {c.code!r} appears twice")
        seen.add(c.code)
    out["categories"] = categories
    capacity = v["capacity"]
    if capacity is not None:
        total = sum(c.quota for c in categories)
        capacity = _rules.whole(capacity, "capacity", minimum=1, maximum=MAX_QUOTA)
        if capacity > total:
            raise InvalidInput("capacity", f"the total capacity ({capacity}) is above the sum of the quotas "
                                           f"({total})")
    out["capacity"] = capacity

    opens = out["registration_opens_at"] = _rules.optional_instant(v["registration_opens_at"],
                                                                   "registration_opens_at")
    closes = out["registration_closes_at"] = _rules.optional_instant(v["registration_closes_at"],
                                                                     "registration_closes_at")
    effective_close = closes or starts
    if closes is not None and closes > ends:
        raise InvalidInput("registration_closes_at", "registrations close at the latest when the event ends")
    if opens is not None and opens >= effective_close:
        raise InvalidInput("registration_opens_at" if closes is None else "registration_closes_at",
                           f"registrations open ({opens.isoformat()}) after they close "
                           f"({effective_close.isoformat()})")
    until = _rules.optional_instant(v["members_priority_until"], "members_priority_until")
    if out["access"] is AccessPolicy.MEMBERS_PRIORITY:
        if until is None:
            raise InvalidInput("members_priority_until", "members_priority needs the date until which only "
                                                         "members register")
        if until >= effective_close:
            raise InvalidInput("members_priority_until", "the members' priority ends before registrations close "
                                                         "(else use members_only)")
        if opens is not None and until <= opens:
            raise InvalidInput("members_priority_until", "the members' priority ends after registrations open")
    elif until is not None:
        raise InvalidInput("members_priority_until", "members_priority_until applies to access members_priority "
                                                     "only")
    out["members_priority_until"] = until
    return out
