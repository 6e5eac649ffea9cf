"""Registrations: the :class:`Registration` aggregate, the waiting list and its offers, check-in.

::

    register ─▶ confirmed ────────────────────────────────────────────▶ cancelled
             ├▶ pending_approval ──approve──▶ confirmed
             │        └──reject──▶ rejected
             └▶ waitlisted ──offer_place──▶ offered ──accept_offer──▶ confirmed (pending_approval if the
                                              │                        event required approval)
                                              ├──decline_offer──▶ cancelled (reason offer_declined)
                                              └──expire_offer (once expires_at <= at)──▶ offer_expired
    cancel(reason): from pending_approval, confirmed, waitlisted or offered (not once checked in).

No overselling. A registration never counts places itself: the service layer keeps the
event's :class:`Occupancy` counter and, in one transaction, (1) asks
:meth:`Event.admission` for the decision on the counter it read, (2) calls
:meth:`Registration.register` with that decision (and ``occupancy.next_waitlist_seq`` when
waitlisted), (3) writes the counter ``occupancy.after(category, None, registration.status)``
on the condition that it did not change meanwhile (or ``$inc`` by :meth:`Occupancy.delta`
guarded by the quota). Every later status change likewise moves the counter by
``Occupancy.delta(before, after)``. Held places = confirmed + pending approval + offered.

Waiting list. Sequence numbers come from the counter (one sequence per event). When places
free up (cancel, reject, decline, expire — the commands return whether a held place was
freed), :func:`places_to_offer` says who gets an offer now: in each category, the lowest
sequence first (:func:`next_in_line`), as long as the category's quota and the total capacity
allow. Each offer is valid ``hours`` (the event's ``offer_validity_hours``); its whole story is
kept in :attr:`Registration.offers` and :attr:`Registration.history` and in the events: who got
which offer, when, until when, and what came of it. The position shown to a waiting person
is :func:`waitlist_position` (1 + waiting people of the category with a lower sequence).

Personal data (name, e-mail, phone) stay in the registration (:class:`Person`); events carry
the registration id, the event id, the category and the organisation id.

Check-in and check-out: see :mod:`.checkin`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Iterable, Sequence

from pydantic import AwareDatetime, BaseModel, Field

from contracts.events.registrations import (CancellationReason, EventStatus, ParticipantCheckedIn,
                                            ParticipantCheckedOut, PlaceOfferAccepted, PlaceOfferDeclined,
                                            PlaceOffered, PlaceOfferExpired, RegistrationApproved,
                                            RegistrationAwaitingApproval, RegistrationCancelled,
                                            RegistrationConfirmed, RegistrationRejected, RegistrationStatus,
                                            RegistrationWaitlisted)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from . import _rules
from .catalogue import HELD_STATUSES, Admission, CategoryCount, Event, Occupancy
from .checkin import (MAX_SCANS, CheckinList, ListPresence, ScanOutcome, ScanRecord, ScanResult, ScanType,
                      invalid_reason, validate_scan)

__all__ = [
    "Registration", "Person", "Offer", "OfferOutcome", "StatusChange", "RegistrationStatus", "CancellationReason",
    "Admission", "Occupancy", "CategoryCount", "HELD_STATUSES",
    "next_in_line", "waitlist_position", "places_to_offer", "waiting_list",
]

MAX_OFFER_HOURS = 720


class Person(BaseModel):
    """The registered person (personal data: never in events). After an erasure request
    (:meth:`Registration.erase_personal_data`) name, e-mail and phone are null and ``erased_at``
    says when: the registration itself stays, and the figures count it."""

    name: str | None
    email: str | None
    phone: str | None = None
    erased_at: AwareDatetime | None = None


class OfferOutcome(StrEnum):
    """What came of an offer."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Offer(BaseModel):
    """A place offered to a waitlisted registration."""

    number: int = Field(ge=1)
    offered_at: AwareDatetime
    expires_at: AwareDatetime
    outcome: OfferOutcome | None = None
    """None while pending."""
    ended_at: AwareDatetime | None = None


class StatusChange(BaseModel):
    """The registration became ``status`` at ``at`` (``note``: e.g. the offer and its deadline)."""

    status: RegistrationStatus
    at: AwareDatetime
    note: str | None = None


_NEXT_STEP: dict[RegistrationStatus, str] = {
    RegistrationStatus.PENDING_APPROVAL: "approve or reject (or cancel)",
    RegistrationStatus.CONFIRMED: "check in (or cancel)",
    RegistrationStatus.WAITLISTED: "offer a place (or cancel)",
    RegistrationStatus.OFFERED: "accept or decline the offer, or expire it once it has run out (or cancel)",
    RegistrationStatus.CANCELLED: "none: the registration is cancelled",
    RegistrationStatus.REJECTED: "none: the registration is rejected",
    RegistrationStatus.OFFER_EXPIRED: "none: the offer expired",
}

_ADMITTED: dict[Admission, RegistrationStatus] = {
    Admission.CONFIRMED: RegistrationStatus.CONFIRMED,
    Admission.PENDING_APPROVAL: RegistrationStatus.PENDING_APPROVAL,
    Admission.WAITLISTED: RegistrationStatus.WAITLISTED,
}


class Registration(Aggregate):
    """A person's registration for an event. ``id`` is the registration id."""

    event_id: str
    person: Person
    organisation_id: str | None = None
    category: str
    status: RegistrationStatus
    requires_approval: bool = False
    """The event required approval when the person registered (an accepted offer then waits
    for approval)."""
    waitlist_seq: int | None = None
    registered_at: AwareDatetime
    offers: list[Offer] = Field(default_factory=list)
    history: list[StatusChange] = Field(default_factory=list)
    cancellation_reason: CancellationReason | None = None
    cancellation_detail: str | None = None
    rejection_reason: str | None = None
    presence: dict[str, ListPresence] = Field(default_factory=dict)
    scans: list[ScanRecord] = Field(default_factory=list)

    # -- factory ---------------------------------------------------------------------------
    @classmethod
    def register(cls, registration_id: str, *, event: Event, name: str, email: str, phone: str | None = None,
                 organisation_id: str | None = None, category: str, admission: Admission | str,
                 waitlist_seq: int | None = None, at: datetime) -> Registration:
        """Record a registration with the decision :meth:`Event.admission` took →
        ``RegistrationConfirmed``, ``RegistrationAwaitingApproval`` or ``RegistrationWaitlisted``.

        ``waitlist_seq``: the counter's ``next_waitlist_seq``, required iff waitlisted.
        (One registration per person and event is the service layer's check.)

        :raises InvalidInput: blank id or name, bad e-mail or phone, unknown category or
            admission, missing / unexpected / non-positive ``waitlist_seq``, naive ``at``.
        """
        registration_id = _rules.identifier(registration_id, "registration_id")
        person = Person(name=_rules.text(name, "name", max_length=200), email=_rules.email(email, "email"),
                        phone=_rules.phone(phone, "phone"))
        organisation_id = _rules.optional_identifier(organisation_id, "organisation_id")
        if not isinstance(category, str):
            raise InvalidInput("category", f"category must be a code (got {category!r})")
        event.category(category)
        admission = _rules.enum_value(Admission, admission, "admission")
        at = _rules.instant(at, "at")
        if admission is Admission.WAITLISTED:
            if waitlist_seq is None:
                raise InvalidInput("waitlist_seq", "a waitlisted registration needs its waiting-list sequence number")
            _rules.whole(waitlist_seq, "waitlist_seq", minimum=1, maximum=10**12)
        elif waitlist_seq is not None:
            raise InvalidInput("waitlist_seq", "only a waitlisted registration has a waiting-list sequence number")
        status = _ADMITTED[admission]
        reg = cls(id=registration_id, event_id=event.id, person=person, organisation_id=organisation_id,
                  category=category, status=status, requires_approval=event.requires_approval,
                  waitlist_seq=waitlist_seq, registered_at=at,
                  history=[StatusChange(status=status, at=at,
                                        note=f"waiting list #{waitlist_seq}" if waitlist_seq else None)])
        ids = reg._ids()
        if status is RegistrationStatus.CONFIRMED:
            reg.record(RegistrationConfirmed(**ids, registered_at=at))
        elif status is RegistrationStatus.PENDING_APPROVAL:
            reg.record(RegistrationAwaitingApproval(**ids, registered_at=at))
        else:
            reg.record(RegistrationWaitlisted(**ids, waitlist_seq=waitlist_seq, registered_at=at))
        return reg

    # -- personal data -----------------------------------------------------------------------
    def erase_personal_data(self, *, at: datetime) -> bool:
        """Anonymise (GDPR erasure): the person's name, e-mail and phone go, with the free texts
        that may name them (rejection reason, cancellation detail); the event, category, status,
        history, offers and scans stay — every figure counts the registration as before. No
        event: the erasure is confirmed by the service's ``personal-data-erased``. Returns False
        when already erased."""
        if self.person.erased_at is not None:
            return False
        self.person = Person(name=None, email=None, phone=None, erased_at=self._at(at))
        self.rejection_reason = None
        self.cancellation_detail = None
        return True

    # -- approval ----------------------------------------------------------------------------
    def approve(self, *, at: datetime) -> None:
        """An organiser approves → ``RegistrationApproved``; the registration is confirmed.

        :raises Conflict: not pending approval.
        """
        self._expect("approve the registration", RegistrationStatus.PENDING_APPROVAL)
        at = self._at(at)
        self._change(RegistrationStatus.CONFIRMED, at, "approved")
        self.record(RegistrationApproved(**self._ids(), approved_at=at))

    def reject(self, reason: str, *, at: datetime) -> bool:
        """An organiser rejects → ``RegistrationRejected`` (the reason stays here, not in the
        event). Returns True: the held place is freed.

        :raises Conflict: not pending approval.
        :raises InvalidInput: blank reason.
        """
        self._expect("reject the registration", RegistrationStatus.PENDING_APPROVAL)
        reason = _rules.text(reason, "reason", max_length=2000)
        at = self._at(at)
        self.rejection_reason = reason
        self._change(RegistrationStatus.REJECTED, at, "rejected")
        self.record(RegistrationRejected(**self._ids(), rejected_at=at))
        return True

    # -- cancellation ------------------------------------------------------------------------
    def cancel(self, reason: CancellationReason | str, *, at: datetime, detail: str | None = None) -> bool:
        """Cancel → ``RegistrationCancelled`` (reason code; ``detail`` stays here). Returns whether
        a held place was freed (confirmed, pending approval or offered before; a waitlisted one
        only leaves the queue).

        :raises Conflict: already cancelled, rejected or expired; checked in.
        :raises InvalidInput: unknown reason.
        """
        self._expect("cancel the registration", RegistrationStatus.PENDING_APPROVAL, RegistrationStatus.CONFIRMED,
                     RegistrationStatus.WAITLISTED, RegistrationStatus.OFFERED)
        reason = _rules.enum_value(CancellationReason, reason, "reason")
        detail = _rules.optional_text(detail, "detail", max_length=2000)
        at = self._at(at)
        if self.presence:
            raise Conflict(f"cannot cancel registration {self.id}: the participant has checked in",
                           current_state="checked_in", expected_step="check out (the registration stays)")
        previous = self.status
        freed = previous in HELD_STATUSES
        if previous is RegistrationStatus.OFFERED:
            self._end_offer(OfferOutcome.CANCELLED, at)
        self.cancellation_reason = reason
        self.cancellation_detail = detail
        self._change(RegistrationStatus.CANCELLED, at, f"cancelled: {reason.value}")
        self.record(RegistrationCancelled(**self._ids(), reason=reason, previous_status=previous, freed_place=freed,
                                          cancelled_at=at))
        return freed

    # -- the waiting list --------------------------------------------------------------------
    def offer_place(self, *, at: datetime, hours: int) -> Offer:
        """Offer a freed place to this waitlisted registration for ``hours`` (1..720) →
        ``PlaceOffered``. The place is held from now on.

        :raises Conflict: not waitlisted.
        :raises InvalidInput: ``hours`` out of 1..720; the deadline beyond 2199.
        """
        self._expect("offer a place", RegistrationStatus.WAITLISTED)
        hours = _rules.whole(hours, "hours", minimum=1, maximum=MAX_OFFER_HOURS)
        at = self._at(at)
        expires_at = _rules.instant(at + timedelta(hours=hours), "hours")
        offer = Offer(number=len(self.offers) + 1, offered_at=at, expires_at=expires_at)
        self.offers = [*self.offers, offer]
        self._change(RegistrationStatus.OFFERED, at, f"offer #{offer.number} until {expires_at.isoformat()}")
        self.record(PlaceOffered(**self._ids(), waitlist_seq=self.waitlist_seq, offer_number=offer.number,
                                 offered_at=at, expires_at=expires_at))
        return offer

    def accept_offer(self, *, at: datetime) -> RegistrationStatus:
        """The person takes the offered place → ``PlaceOfferAccepted``; confirmed, or pending
        approval when the event required approval. Returns the new status (the place stays held).

        :raises Conflict: no offer pending; the offer has run out (``expires_at <= at``).
        """
        self._expect("accept the offer", RegistrationStatus.OFFERED)
        at = self._at(at)
        offer = self.offer
        if at >= offer.expires_at:
            raise Conflict(f"cannot accept the offer of registration {self.id}: it expired at "
                           f"{offer.expires_at.isoformat()}",
                           current_state="offer_expired", expected_step="expire the offer")
        self._end_offer(OfferOutcome.ACCEPTED, at)
        status = RegistrationStatus.PENDING_APPROVAL if self.requires_approval else RegistrationStatus.CONFIRMED
        self._change(status, at, f"offer #{offer.number} accepted")
        self.record(PlaceOfferAccepted(**self._ids(), status=status, offered_at=offer.offered_at, accepted_at=at))
        return status

    def decline_offer(self, *, at: datetime) -> bool:
        """The person declines the offered place → ``PlaceOfferDeclined`` (only that event); the
        registration is cancelled (reason ``offer_declined``). Returns True: the place is freed.

        :raises Conflict: no offer pending.
        """
        self._expect("decline the offer", RegistrationStatus.OFFERED)
        at = self._at(at)
        offer = self.offer
        self._end_offer(OfferOutcome.DECLINED, at)
        self.cancellation_reason = CancellationReason.OFFER_DECLINED
        self._change(RegistrationStatus.CANCELLED, at, f"offer #{offer.number} declined")
        self.record(PlaceOfferDeclined(**self._ids(), offered_at=offer.offered_at, declined_at=at))
        return True

    def expire_offer(self, *, at: datetime) -> bool:
        """The offer ran out unanswered → ``PlaceOfferExpired``; status ``offer_expired``.
        Returns True: the place is freed.

        :raises Conflict: no offer pending; the offer still runs (``at < expires_at``).
        """
        self._expect("expire the offer", RegistrationStatus.OFFERED)
        at = self._at(at)
        offer = self.offer
        if at < offer.expires_at:
            raise Conflict(f"the offer of registration {self.id} runs until {offer.expires_at.isoformat()}",
                           current_state=self.status.value, expected_step=self.next_step)
        self._end_offer(OfferOutcome.EXPIRED, at)
        self._change(RegistrationStatus.OFFER_EXPIRED, at, f"offer #{offer.number} expired")
        self.record(PlaceOfferExpired(**self._ids(), offered_at=offer.offered_at, expires_at=offer.expires_at,
                                      expired_at=at))
        return True

    # -- check-in ----------------------------------------------------------------------------
    def check_in(self, checkin_list: CheckinList, *, event: Event, gate: str, at: datetime, nonce: str,
                 offline: bool = False) -> ScanResult:
        """An entry scan on ``checkin_list`` (see :mod:`.checkin` for outcomes, nonces, late
        offline uploads and rooms). Records ``ParticipantCheckedIn`` only for ``checked_in``
        (preceded by an automatic ``ParticipantCheckedOut`` when entering a room from another).

        :raises InvalidInput: blank gate or nonce, naive or out-of-range ``at``; ``event`` is
            not the registration's.
        :raises Conflict: too many scans kept for this registration.
        """
        return self._scan(ScanType.ENTRY, checkin_list, event, gate, at, nonce, offline)

    def check_out(self, checkin_list: CheckinList, *, event: Event, gate: str, at: datetime, nonce: str,
                  offline: bool = False) -> ScanResult:
        """An exit scan on ``checkin_list`` → ``ParticipantCheckedOut`` when the person was
        inside (``checked_out``); ``not_checked_in`` otherwise (nothing recorded)."""
        return self._scan(ScanType.EXIT, checkin_list, event, gate, at, nonce, offline)

    # -- queries -----------------------------------------------------------------------------
    @property
    def offer(self) -> Offer | None:
        """The pending offer (while offered)."""
        if self.status is RegistrationStatus.OFFERED and self.offers:
            return self.offers[-1]
        return None

    @property
    def holds_place(self) -> bool:
        return self.status in HELD_STATUSES

    @property
    def checked_in(self) -> bool:
        """Checked in at least once (on any list)."""
        return bool(self.presence)

    @property
    def first_checked_in_at(self) -> datetime | None:
        return min((p.first_in_at for p in self.presence.values()), default=None)

    def offer_expired(self, at: datetime) -> bool:
        """An offer is pending and has run out at ``at`` (call :meth:`expire_offer`)."""
        offer = self.offer
        return offer is not None and offer.expires_at <= at

    @property
    def next_step(self) -> str:
        return _NEXT_STEP[self.status]

    # -- internals ---------------------------------------------------------------------------
    def _ids(self) -> dict[str, object]:
        return dict(registration_id=self.id, event_id=self.event_id, category=self.category,
                    organisation_id=self.organisation_id)

    def _expect(self, action: str, *allowed: RegistrationStatus) -> None:
        if self.status not in allowed:
            raise _rules.conflict(f"registration {self.id}", action, self.status.value, self.next_step)

    def _at(self, at: datetime) -> datetime:
        at = _rules.instant(at, "at")
        return _rules.not_before(at, self.registered_at, "at", "the registration")

    def _change(self, status: RegistrationStatus, at: datetime, note: str | None) -> None:
        self.status = status
        self.history = [*self.history, StatusChange(status=status, at=at, note=note)]

    def _end_offer(self, outcome: OfferOutcome, at: datetime) -> None:
        last = self.offers[-1]
        self.offers = [*self.offers[:-1], last.model_copy(update={"outcome": outcome, "ended_at": at})]

    def _scan(self, type_: ScanType, checkin_list: CheckinList, event: Event, gate: str, at: datetime, nonce: str,
              offline: bool) -> ScanResult:
        gate, at, nonce, offline = validate_scan(gate, at, nonce, offline)
        if event.id != self.event_id:
            raise InvalidInput("event_id", f"registration {self.id} is for event {self.event_id}, not {event.id}")
        for record in self.scans:
            if record.nonce == nonce:
                return record.result  # a replay: same answer, nothing changes
        if len(self.scans) >= MAX_SCANS:
            raise Conflict(f"registration {self.id} has {MAX_SCANS} scans already: no more are kept",
                           current_state="too_many_scans", expected_step="none")
        base = dict(registration_id=self.id, list_id=checkin_list.list_id, type=type_, gate=gate, scanned_at=at,
                    nonce=nonce, offline=offline)
        reason = invalid_reason(self, checkin_list, event)
        if reason is not None:
            result = ScanResult(outcome=ScanOutcome.INVALID, reason=reason, **base)
        elif type_ is ScanType.ENTRY:
            result = self._entry(checkin_list, gate, at, offline, base)
        else:
            result = self._exit(checkin_list, gate, at, offline, base)
        self.scans = [*self.scans, ScanRecord(nonce=nonce, result=result)]
        return result

    def _entry(self, checkin_list: CheckinList, gate: str, at: datetime, offline: bool,
               base: dict[str, object]) -> ScanResult:
        list_id = checkin_list.list_id
        p = self.presence.get(list_id)
        if p is not None and ((p.out_at is not None and at <= p.out_at) or p.inside):
            # A late upload from before the last exit (a past visit), or inside already (the same
            # visit): no new check-in; the earliest known times are kept.
            previous = dict(previous_at=p.in_at, previous_gate=p.in_gate)
            update: dict[str, object] = {}
            if p.inside and at < p.in_at and (p.out_at is None or at > p.out_at):
                update.update(in_at=at, in_gate=gate)
            if at < p.first_in_at:
                update["first_in_at"] = at
            if update:
                self.presence = {**self.presence, list_id: p.model_copy(update=update)}
            return ScanResult(outcome=ScanOutcome.ALREADY_CHECKED_IN, **previous, **base)
        previous = dict(previous_at=p.in_at, previous_gate=p.in_gate) if p is not None else {}
        first_entry = not self.presence
        if checkin_list.room:
            for other in list(self.presence.values()):
                if other.room and other.inside and other.list_id != list_id:
                    self._leave(other, gate, max(at, other.in_at), offline, automatic=True)
        if p is None:
            p = ListPresence(list_id=list_id, room=checkin_list.room, inside=True, first_in_at=at, in_at=at,
                             in_gate=gate)
        else:
            p = p.model_copy(update=dict(inside=True, in_at=at, in_gate=gate, entries=p.entries + 1))
        self.presence = {**self.presence, list_id: p}
        self.record(ParticipantCheckedIn(**self._ids(), list_id=list_id, gate=gate, checked_in_at=at, offline=offline,
                                         first_entry=first_entry))
        return ScanResult(outcome=ScanOutcome.CHECKED_IN, **previous, **base)

    def _exit(self, checkin_list: CheckinList, gate: str, at: datetime, offline: bool,
              base: dict[str, object]) -> ScanResult:
        p = self.presence.get(checkin_list.list_id)
        if p is None or not p.inside or at < p.in_at:
            previous = dict(previous_at=p.in_at, previous_gate=p.in_gate) if p is not None else {}
            return ScanResult(outcome=ScanOutcome.NOT_CHECKED_IN, **previous, **base)
        self._leave(p, gate, at, offline, automatic=False)
        return ScanResult(outcome=ScanOutcome.CHECKED_OUT, previous_at=p.in_at, previous_gate=p.in_gate, **base)

    def _leave(self, p: ListPresence, gate: str, at: datetime, offline: bool, *, automatic: bool) -> None:
        self.presence = {**self.presence, p.list_id: p.model_copy(update=dict(inside=False, out_at=at,
                                                                                out_gate=gate))}
        self.record(ParticipantCheckedOut(**self._ids(), list_id=p.list_id, gate=gate, checked_out_at=at,
                                          offline=offline, automatic=automatic))


# -- pure helpers of the waiting list ------------------------------------------------------------

def _waiting(registrations: Iterable[Registration], category: str | None) -> list[Registration]:
    return sorted((r for r in registrations
                   if r.status is RegistrationStatus.WAITLISTED and (category is None or r.category == category)),
                  key=lambda r: (r.waitlist_seq or 0, r.registered_at, r.id))


def next_in_line(registrations: Iterable[Registration], category: str | None = None) -> Registration | None:
    """Who gets the next offer: among the waitlisted registrations (of ``category`` when given),
    the lowest sequence number (ties — which sequences from one counter never have — by
    registration time, then id). None when nobody waits."""
    waiting = _waiting(registrations, category)
    return waiting[0] if waiting else None


def waitlist_position(registration: Registration, registrations: Iterable[Registration]) -> int | None:
    """The position shown to a waiting person: 1 + the number of waitlisted registrations of the
    same category with a lower sequence. None when the registration is not waitlisted."""
    if registration.status is not RegistrationStatus.WAITLISTED or registration.waitlist_seq is None:
        return None
    return 1 + sum(1 for r in registrations
                   if r.status is RegistrationStatus.WAITLISTED and r.category == registration.category
                   and r.id != registration.id and r.waitlist_seq is not None
                   and r.waitlist_seq < registration.waitlist_seq)


def places_to_offer(event: Event, occupancy: Occupancy, registrations: Iterable[Registration], *,
                    at: datetime | None = None) -> list[Registration]:
    """Who should get an offer now, in order: the waitlisted registrations by sequence, each
    while its category has a free place (quota) and the event has one (total capacity),
    counting the offers made before it in the list. Call after any freed place (and
    periodically, after expiring offers). Offers are only made while the event is published
    and, when ``at`` is given, before registrations close (the waiting list is then frozen).
    Make each offer with ``hours=event.offer_hours(at)``."""
    if event.status is not EventStatus.PUBLISHED:
        return []
    if at is not None and _rules.instant(at, "at") >= event.registrations_close:
        return []
    free = {c.code: max(0, c.quota - occupancy.held(c.code)) for c in event.categories}
    total_free = (event.capacity - occupancy.total_held) if event.capacity is not None else None
    chosen: list[Registration] = []
    for r in _waiting(registrations, None):
        if total_free is not None and total_free <= 0:
            break
        if free.get(r.category, 0) > 0:
            chosen.append(r)
            free[r.category] -= 1
            if total_free is not None:
                total_free -= 1
    return chosen


def waiting_list(registrations: Sequence[Registration], category: str) -> list[Registration]:
    """The waitlisted registrations of ``category`` in the order they will get offers."""
    return _waiting(registrations, category)
