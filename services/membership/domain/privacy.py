"""The ErasureRequest aggregate: membership's audit record of a request to erase a person's data.

::

    request ──▶ pending ──(every holder named has confirmed)──▶ complete

The record keeps who asked (the requester's token subject) and when, the person's subject
reference (never their e-mail: :mod:`contracts.privacy`), the holders expected to confirm, and
each confirmation as it arrives (which service, what it erased, when). It is the answer to "was
this person's data erased, everywhere, and when?".

Confirmations are idempotent: a holder confirming twice (a redelivered event, a second request
about the same person) changes nothing the second time; a confirmation from a service the
request did not name is not recorded.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from contracts.membership import PersonalDataErasureCompleted, PersonalDataErasureRequested
from contracts.privacy import HOLDERS
from runtime.aggregate import Aggregate
from runtime.errors import InvalidInput


class ErasureStatus(StrEnum):
    PENDING = "pending"
    """Some holder has not confirmed yet."""
    COMPLETE = "complete"
    """Every holder named has confirmed."""


class Confirmation(BaseModel):
    """One holder's confirmation."""

    erased: dict[str, int] = Field(description="Records erased or anonymised, by kind.",
                                   examples=[{"registrations": 2}])
    at: AwareDatetime = Field(description="When the holder erased (its own clock).")


class ErasureRequest(Aggregate):
    """A request to erase a person's data everywhere. ``id`` is ``era-…``."""

    subject_ref: str = Field(description="The person's subject reference (keyed hash of their e-mail).")
    requested_by: str = Field(description="Who asked: the subject of their access token.",
                              examples=["dpo@cress-idf"])
    requested_at: AwareDatetime
    holders: list[str] = Field(description="The services expected to confirm.", examples=[["membership", "events"]])
    confirmations: dict[str, Confirmation] = Field(default_factory=dict,
                                                   description="Each holder's confirmation, by service.")
    status: ErasureStatus = ErasureStatus.PENDING
    completed_at: AwareDatetime | None = None

    @classmethod
    def request(cls, request_id: str, *, subject_ref: str, requested_by: str, at: datetime,
                holders: tuple[str, ...] = HOLDERS) -> ErasureRequest:
        """A new request → ``PersonalDataErasureRequested``. :raises InvalidInput: no requester."""
        if not requested_by or not requested_by.strip():
            raise InvalidInput("requested_by", "an erasure request needs its requester")
        request = cls(id=request_id, subject_ref=subject_ref, requested_by=requested_by.strip(), requested_at=at,
                      holders=list(holders))
        request.record(PersonalDataErasureRequested(request_id=request.id, subject_ref=subject_ref,
                                                    holders=list(holders), requested_at=at))
        return request

    def confirm(self, service: str, erased: dict[str, int], *, at: datetime, now: datetime) -> bool:
        """Record ``service``'s confirmation; once every holder has confirmed → complete and
        ``PersonalDataErasureCompleted``. Returns whether anything changed."""
        if service not in self.holders or service in self.confirmations:
            return False
        self.confirmations = {**self.confirmations, service: Confirmation(erased=dict(erased), at=at)}
        if self.status is ErasureStatus.PENDING and set(self.holders) <= set(self.confirmations):
            self.status, self.completed_at = ErasureStatus.COMPLETE, now
            self.record(PersonalDataErasureCompleted(
                request_id=self.id, erased={s: c.erased for s, c in self.confirmations.items()}, completed_at=now))
        return True

    @property
    def waiting_for(self) -> list[str]:
        """The holders that have not confirmed yet."""
        return [h for h in self.holders if h not in self.confirmations]
