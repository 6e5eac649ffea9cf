"""Check-in: check-in lists (gates, rooms), scans and their results, attendance figures.

A :class:`CheckinList` is an event's list of admitted categories (empty = all) scanned at one
or more gates: the main entrance, or a room. Scans are made on a :class:`Registration`
(:meth:`Registration.check_in` / :meth:`Registration.check_out`, which call :func:`scan`) and
return a :class:`ScanResult`:

- ``checked_in``: entry recorded → ``ParticipantCheckedIn`` (``first_entry`` true on the
  registration's very first check-in, on any list: count those to count participants);
- ``already_checked_in``: the person is inside on that list — nothing changes, no event; the
  result carries the recorded check-in's time and gate ("already checked in at 13:52 at
  Porte A");
- ``checked_out``: exit recorded → ``ParticipantCheckedOut``;
- ``not_checked_in``: an exit scan of someone not inside — nothing changes, no event;
- ``invalid`` with a :class:`ScanReason` (like pretix's): ``cancelled``, ``rejected``,
  ``waitlisted``, ``not_approved`` (pending approval), ``offer_not_accepted`` (a place offered,
  not accepted yet), ``offer_expired``, ``wrong_category`` (the list does not admit the
  category), ``wrong_event`` (the list is another event's), ``event_not_open`` (the event is a
  draft, cancelled or archived). Only confirmed registrations check in. No event.

Idempotency and offline devices. Every scan carries a ``nonce`` (the device's id of that
scan). A nonce the registration has already seen returns the stored result of its first
processing and changes nothing (retries and re-uploaded offline batches are harmless),
whatever the other parameters of the replay. Each new nonce is kept with its result (also the
invalid and no-op ones, so that a replay stays a no-op), at most :data:`MAX_SCANS` per
registration.

Late uploads (offline scans arrive after scans made later online). Decision:

- an *entry* scan whose time is earlier than the recorded check-in while the person is
  inside, or not later than the last check-out (at its very instant too: a visit that ends
  cannot begin again in the same instant): it is the same visit (or a past one). The
  earliest time is kept as the visit's and the first check-in time (``in_at`` moves back
  with its gate; ``first_in_at`` likewise) — no second event; the result is
  ``already_checked_in`` with the previously recorded time and gate;
- an *exit* scan whose time is earlier than the recorded check-in: it belongs to a past
  visit and changes nothing (``not_checked_in``).

So the events keep the order in which the platform learned the facts, and the attendance
figures use the earliest known entry.

Rooms (pretix's missing check-out, #4651): a list flagged ``room`` is a room; checking into
a room checks the person out of any other room they are in → ``ParticipantCheckedOut``
(``automatic``) then ``ParticipantCheckedIn`` (a few events, in that order). Entrance lists
(not rooms) are independent.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Iterable
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.registrations import EventStatus, RegistrationStatus
from runtime.errors import InvalidInput

from . import _rules

if TYPE_CHECKING:
    from .catalogue import Event

MAX_SCANS = 1000
"""Scans kept per registration (nonce memory); beyond, scans are refused (``Conflict``)."""


class ScanType(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class ScanOutcome(StrEnum):
    CHECKED_IN = "checked_in"
    ALREADY_CHECKED_IN = "already_checked_in"
    CHECKED_OUT = "checked_out"
    NOT_CHECKED_IN = "not_checked_in"
    INVALID = "invalid"


class ScanReason(StrEnum):
    """Why a scan is invalid."""

    CANCELLED = "cancelled"
    REJECTED = "rejected"
    WAITLISTED = "waitlisted"
    NOT_APPROVED = "not_approved"
    OFFER_NOT_ACCEPTED = "offer_not_accepted"
    OFFER_EXPIRED = "offer_expired"
    WRONG_CATEGORY = "wrong_category"
    WRONG_EVENT = "wrong_event"
    EVENT_NOT_OPEN = "event_not_open"


_STATUS_REASON: dict[RegistrationStatus, ScanReason] = {
    RegistrationStatus.CANCELLED: ScanReason.CANCELLED,
    RegistrationStatus.REJECTED: ScanReason.REJECTED,
    RegistrationStatus.WAITLISTED: ScanReason.WAITLISTED,
    RegistrationStatus.PENDING_APPROVAL: ScanReason.NOT_APPROVED,
    RegistrationStatus.OFFERED: ScanReason.OFFER_NOT_ACCEPTED,
    RegistrationStatus.OFFER_EXPIRED: ScanReason.OFFER_EXPIRED,
}

CHECKIN_EVENT_STATUSES: frozenset[EventStatus] = frozenset(
    {EventStatus.PUBLISHED, EventStatus.CLOSED, EventStatus.HELD})
"""Event statuses in which scans are accepted (held: late offline uploads)."""


class CheckinList(BaseModel):
    """A check-in list of an event: the categories it admits (empty = all) and whether it is a
    room (checking into a room checks out of the other rooms)."""

    model_config = ConfigDict(frozen=True)

    list_id: str
    event_id: str
    name: str
    categories: tuple[str, ...] = ()
    room: bool = False

    @classmethod
    def create(cls, list_id: str, *, event: Event, name: str, categories: Iterable[str] = (),
               room: bool = False) -> CheckinList:
        """A check-in list of ``event``. :raises InvalidInput: blank id or name, a category
        unknown to the event (``categories.<i>``) or given twice."""
        list_id = _rules.identifier(list_id, "list_id")
        name = _rules.text(name, "name", max_length=200)
        if isinstance(categories, str):
            raise InvalidInput("categories", "categories must be a list of category codes")
        codes: list[str] = []
        known = {c.code for c in event.categories}
        for i, code in enumerate(categories):
            if code not in known:
                raise InvalidInput(f"categories.{i}", f"event {event.id} has no category {code!r}")
            if code in codes:
                raise InvalidInput(f"categories.{i}", f"category {code!r} is listed twice")
            codes.append(code)
        return cls(list_id=list_id, event_id=event.id, name=name, categories=tuple(codes),
                   room=_rules.flag(room, "room"))

    def admits(self, category: str) -> bool:
        return not self.categories or category in self.categories


class ScanResult(BaseModel):
    """What a scan did. ``previous_at`` / ``previous_gate``: the check-in recorded before this
    scan on that list (for "already checked in at HH:MM at gate X")."""

    model_config = ConfigDict(frozen=True)

    outcome: ScanOutcome
    reason: ScanReason | None = None
    registration_id: str
    list_id: str
    type: ScanType
    gate: str
    scanned_at: AwareDatetime
    nonce: str
    offline: bool = False
    previous_at: AwareDatetime | None = None
    previous_gate: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the door should let the person through (entry) / out (exit)."""
        return self.outcome in (ScanOutcome.CHECKED_IN, ScanOutcome.ALREADY_CHECKED_IN, ScanOutcome.CHECKED_OUT)

    def message(self, time_zone: str | None = None) -> str:
        """A short text for the scanning device; times in ``time_zone`` (the event's) when given."""
        if self.outcome is ScanOutcome.INVALID:
            return f"invalid: {self.reason.value if self.reason else 'unknown'}"
        if self.outcome is ScanOutcome.ALREADY_CHECKED_IN and self.previous_at is not None:
            when = self.previous_at.astimezone(ZoneInfo(time_zone)) if time_zone else self.previous_at
            return f"already checked in at {when:%H:%M} at gate {self.previous_gate}"
        return self.outcome.value.replace("_", " ")


class ListPresence(BaseModel):
    """A registration's presence on one check-in list."""

    list_id: str
    room: bool = False
    inside: bool
    first_in_at: AwareDatetime
    """Earliest entry known on this list."""
    in_at: AwareDatetime
    """Entry of the current (or last) visit."""
    in_gate: str
    out_at: AwareDatetime | None = None
    """Last exit (kept on re-entry: an entry scan from before it belongs to a past visit)."""
    out_gate: str | None = None
    entries: int = Field(default=1, ge=1)


class ScanRecord(BaseModel):
    """A scan as processed, kept for idempotency (nonce) and audit."""

    nonce: str
    result: ScanResult


# -- attendance ------------------------------------------------------------------------------

class AttendanceFigures(BaseModel):
    """Attendance of one category (or all): registered = confirmed registrations."""

    model_config = ConfigDict(frozen=True)

    registered: int
    checked_in: int
    no_shows: int
    attendance_rate: float | None
    """checked_in / registered (None when nobody is registered), rounded to 4 decimals."""
    no_show_rate: float | None


class Attendance(BaseModel):
    model_config = ConfigDict(frozen=True)

    by_category: dict[str, AttendanceFigures]
    total: AttendanceFigures


def _figures(registered: int, checked_in: int) -> AttendanceFigures:
    no_shows = registered - checked_in
    return AttendanceFigures(
        registered=registered, checked_in=checked_in, no_shows=no_shows,
        attendance_rate=round(checked_in / registered, 4) if registered else None,
        no_show_rate=round(no_shows / registered, 4) if registered else None)


def attendance(registrations: Iterable[Any], *, list_id: str | None = None,
               categories: Iterable[str] = ()) -> Attendance:
    """Attendance and no-shows per category over an event's registrations: registered =
    confirmed; checked in = confirmed and checked in at least once (on ``list_id`` when given,
    else on any list); no-shows = registered − checked in. ``categories`` adds rows for
    categories without registrations."""
    registered: dict[str, int] = {c: 0 for c in categories}
    present: dict[str, int] = {c: 0 for c in categories}
    for r in registrations:
        if r.status is not RegistrationStatus.CONFIRMED:
            continue
        registered[r.category] = registered.get(r.category, 0) + 1
        came = (list_id in r.presence) if list_id is not None else bool(r.presence)
        present[r.category] = present.get(r.category, 0) + (1 if came else 0)
    by_category = {c: _figures(registered[c], present[c]) for c in sorted(registered)}
    return Attendance(by_category=by_category,
                      total=_figures(sum(registered.values()), sum(present.values())))


# -- the scan logic (used by Registration.check_in / check_out) ----------------------------------

def validate_scan(gate: object, at: object, nonce: object, offline: object) -> tuple[str, datetime, str, bool]:
    return (_rules.text(gate, "gate", max_length=100), _rules.instant(at, "at"), _rules.identifier(nonce, "nonce"),
            _rules.flag(offline, "offline"))


def invalid_reason(registration: Any, checkin_list: CheckinList, event: Event) -> ScanReason | None:
    """Why a scan of ``registration`` on ``checkin_list`` is invalid (None: valid)."""
    if checkin_list.event_id != registration.event_id:
        return ScanReason.WRONG_EVENT
    if event.status not in CHECKIN_EVENT_STATUSES:
        return ScanReason.EVENT_NOT_OPEN
    if registration.status is not RegistrationStatus.CONFIRMED:
        return _STATUS_REASON[registration.status]
    if not checkin_list.admits(registration.category):
        return ScanReason.WRONG_CATEGORY
    return None
