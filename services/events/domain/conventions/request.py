"""A meeting request: its own aggregate (one document per request).

A convention has up to ~8,000 requests, answered by hundreds of participants at the same time:
one aggregate per request keeps each answer a small write of its own (the convention's
document is not rewritten). Its events travel on the convention's topic (key ``convention_id``).

::

    pending ──accept──▶ accepted ◀──accept── declined
       │  ╲──decline──▶ declined ◀──decline── accepted
       │ (unanswered past expires_at) ──expire──▶ expired   (final)
       └─ pending / accepted ──withdraw (the requester)──▶ withdrawn   (final)

    force (the organiser, any status but withdrawn): the pair is scheduled as if accepted, with
    the top priority; a forced request cannot be declined, withdrawn or expired any more.

The requested side may change its mind (accepted ↔ declined) until the request is withdrawn.
Answering again with the same answer changes nothing (no event: idempotent retries).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, Field

from contracts.events.conventions import (MeetingRequestAccepted, MeetingRequestDeclined, MeetingRequested,
                                          MeetingRequestExpired, MeetingRequestForced, MeetingRequestStatus,
                                          MeetingRequestWithdrawn)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from . import _rules
from .participant import check_pair

if TYPE_CHECKING:
    from .convention import Convention
    from .participant import ConventionParticipant

MIN_PRIORITY, MAX_PRIORITY = 1, 5
DEFAULT_PRIORITY = 3
MAX_MESSAGE = 1_000


class MeetingRequest(Aggregate):
    """``from_participant_id`` wants to meet ``to_participant_id``. ``id`` is the request id."""

    convention_id: str
    from_participant_id: str
    to_participant_id: str
    priority: int = Field(ge=MIN_PRIORITY, le=MAX_PRIORITY)
    message: str | None = None  # free text: kept out of events
    status: MeetingRequestStatus = MeetingRequestStatus.PENDING
    forced: bool = False
    requested_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    answered_at: AwareDatetime | None = None
    forced_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None  # expired or withdrawn

    # -- factory -------------------------------------------------------------------------
    @classmethod
    def send(
        cls,
        request_id: str,
        *,
        convention: Convention,
        sender: ConventionParticipant,
        recipient: ConventionParticipant,
        at: datetime,
        priority: int = DEFAULT_PRIORITY,
        message: str | None = None,
        existing: Iterable[MeetingRequest] = (),
    ) -> MeetingRequest:
        """``sender`` asks to meet ``recipient`` → ``MeetingRequested``; it expires after the
        convention's ``request_expiry_hours`` if not answered.

        ``existing``: the requests already sent between the two (the service's query). A live
        one from ``sender`` to ``recipient`` (pending and not overdue, accepted, declined) makes
        this one a duplicate; after an expiry or a withdrawal the request may be sent again. A
        request the other way round is not a duplicate: both sides asked (the scheduler favours
        such pairs).

        :raises InvalidInput: a request to oneself, a participant of another convention, two
            participants of the same side when the convention does not allow it, priority out
            of 1…5, message over 1,000 characters.
        :raises Conflict: a duplicate (names the existing request); a participant left; the
            convention is over.
        """
        request_id = _rules.identifier(request_id, "request_id")
        at = _rules.instant(at, "at")
        check_pair(convention.id, sender, recipient, fields=("from_participant_id", "to_participant_id"))
        settings = convention.settings
        if not settings.allow_same_role and sender.role.is_buyer == recipient.role.is_buyer:
            side = "buyers" if sender.role.is_buyer else "ESS suppliers"
            raise InvalidInput("to_participant_id", f"both participants are {side}: this convention arranges "
                                                    "meetings between ESS suppliers and buyers")
        priority = _rules.whole(priority, "priority", low=MIN_PRIORITY, high=MAX_PRIORITY)
        message = _rules.optional_text(message, "message", max_length=MAX_MESSAGE)
        if at >= settings.ends_at:
            raise Conflict(f"convention {convention.id} ended at {settings.ends_at.isoformat()}: no more requests",
                           current_state="over")
        for e in existing:
            if (e.convention_id, e.from_participant_id, e.to_participant_id) == (convention.id, sender.id, recipient.id) \
                    and e.blocks_duplicates(at):
                raise Conflict(f"participant {sender.id} already asked to meet {recipient.id}: request {e.id} "
                               f"is {e.status.value}", current_state=e.status.value, existing_request_id=e.id)
        hours = settings.request_expiry_hours
        r = cls(id=request_id, convention_id=convention.id, from_participant_id=sender.id,
                to_participant_id=recipient.id, priority=priority, message=message, requested_at=at,
                expires_at=None if hours is None else at + timedelta(hours=hours))
        r.record(MeetingRequested(**r._ids(), priority=priority, has_message=message is not None,
                                  expires_at=r.expires_at, requested_at=at))
        return r

    # -- the requested side's answer -----------------------------------------------------
    def accept(self, *, at: datetime) -> bool:
        """The requested side accepts → ``MeetingRequestAccepted`` (also from declined: a change
        of mind). Returns False, recording nothing, when already accepted.

        :raises Conflict: expired (or overdue), withdrawn.
        :raises InvalidInput: ``at`` before the request.
        """
        return self._answer(MeetingRequestStatus.ACCEPTED, at)

    def decline(self, *, at: datetime) -> bool:
        """The requested side declines → ``MeetingRequestDeclined`` (also from accepted). Returns
        False, recording nothing, when already declined.

        :raises Conflict: expired (or overdue), withdrawn, forced by the organiser.
        :raises InvalidInput: ``at`` before the request.
        """
        return self._answer(MeetingRequestStatus.DECLINED, at)

    # -- the requester -------------------------------------------------------------------
    def withdraw(self, *, at: datetime) -> None:
        """The requester cancels its pending or accepted request → ``MeetingRequestWithdrawn``.

        :raises Conflict: declined, expired, withdrawn already, or forced by the organiser.
        """
        at = self._at(at)
        if self.status not in (MeetingRequestStatus.PENDING, MeetingRequestStatus.ACCEPTED):
            self._conflict("be withdrawn", "only a pending or accepted request is withdrawn")
        self._not_forced("be withdrawn")
        previous = self.status
        self.status, self.closed_at = MeetingRequestStatus.WITHDRAWN, at
        self.record(MeetingRequestWithdrawn(**self._ids(), previous_status=previous, withdrawn_at=at))

    # -- the service's sweep -------------------------------------------------------------
    def expire(self, *, at: datetime) -> None:
        """A pending request unanswered past ``expires_at`` → ``MeetingRequestExpired``. The
        service layer sweeps (:meth:`is_due`); the time is passed in.

        :raises Conflict: not pending, forced, or not due at ``at`` (never, or later).
        """
        at = self._at(at)
        if self.status is not MeetingRequestStatus.PENDING:
            self._conflict("expire", "only a pending request expires")
        self._not_forced("expire")
        if self.expires_at is None or at < self.expires_at:
            when = "never expires" if self.expires_at is None else f"expires at {self.expires_at.isoformat()}"
            raise Conflict(f"meeting request {self.id} {when}: not due at {at.isoformat()}",
                           current_state=self.status.value, expected_step="answer")
        self.status, self.closed_at = MeetingRequestStatus.EXPIRED, at
        self.record(MeetingRequestExpired(**self._ids(), expires_at=self.expires_at, expired_at=at))

    # -- the organiser -------------------------------------------------------------------
    def force(self, *, at: datetime) -> bool:
        """The organiser forces the pair → ``MeetingRequestForced``: scheduled as if accepted,
        with the top priority, whatever the answer (a decline, an expiry included). Returns
        False, recording nothing, when already forced.

        :raises Conflict: withdrawn (the requester no longer wants it: lock a meeting instead).
        """
        at = self._at(at)
        if self.status is MeetingRequestStatus.WITHDRAWN:
            self._conflict("be forced", "a withdrawn request is not forced; lock the meeting instead")
        if self.forced:
            return False
        self.forced, self.forced_at = True, at
        self.record(MeetingRequestForced(**self._ids(), previous_status=self.status, forced_at=at))
        return True

    # -- queries -------------------------------------------------------------------------
    @property
    def pair(self) -> frozenset[str]:
        return frozenset((self.from_participant_id, self.to_participant_id))

    def is_due(self, at: datetime) -> bool:
        """Whether :meth:`expire` applies at ``at``."""
        return (self.status is MeetingRequestStatus.PENDING and not self.forced
                and self.expires_at is not None and at >= self.expires_at)

    def blocks_duplicates(self, at: datetime) -> bool:
        """Whether a new request of the same direction is a duplicate at ``at``: this one is
        accepted, declined, forced, or pending and not overdue."""
        if self.forced:
            return self.status is not MeetingRequestStatus.WITHDRAWN
        if self.status is MeetingRequestStatus.PENDING:
            return not self.is_due(at)
        return self.status in (MeetingRequestStatus.ACCEPTED, MeetingRequestStatus.DECLINED)

    # -- helpers -------------------------------------------------------------------------
    def _answer(self, answer: MeetingRequestStatus, at: datetime) -> bool:
        at = self._at(at)
        if self.status in (MeetingRequestStatus.EXPIRED, MeetingRequestStatus.WITHDRAWN):
            self._conflict(f"be {answer.value}", "the request is closed")
        if self.is_due(at):
            raise Conflict(f"meeting request {self.id} expired at {self.expires_at.isoformat()}: too late to answer",
                           current_state="expired", expected_step="a new request from the requester")
        if self.status is answer:
            return False
        if answer is MeetingRequestStatus.DECLINED:
            self._not_forced("be declined")
        previous = self.status
        self.status, self.answered_at = answer, at
        if answer is MeetingRequestStatus.ACCEPTED:
            self.record(MeetingRequestAccepted(**self._ids(), previous_status=previous, accepted_at=at))
        else:
            self.record(MeetingRequestDeclined(**self._ids(), previous_status=previous, declined_at=at))
        return True

    def _at(self, at: datetime) -> datetime:
        return _rules.not_before(_rules.instant(at, "at"), self.requested_at, "at", "the request")

    def _ids(self) -> dict[str, str]:
        return dict(convention_id=self.convention_id, request_id=self.id,
                    from_participant_id=self.from_participant_id, to_participant_id=self.to_participant_id)

    def _not_forced(self, step: str) -> None:
        if self.forced:
            raise Conflict(f"meeting request {self.id} was forced by the organiser: it cannot {step}",
                           current_state=f"{self.status.value} (forced)", expected_step="ask the organiser")

    def _conflict(self, step: str, why: str) -> None:
        raise Conflict(f"meeting request {self.id} is {self.status.value}: it cannot {step} ({why})",
                       current_state=self.status.value)
