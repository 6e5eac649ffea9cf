"""The ledger: an append-only, compact log of the events the activity report needs — pure.

One row per CloudEvent (its id is the row's id: a replayed event changes nothing), with the event
type, the subject (aggregate id), the event time (``at``: the envelope's time), the **business
date** the event names (``on``: ``since``, ``issued_on``, ``paid_on``, ``withdrawn_on``…; the
event time's date when the event names none) and the few fields the figures need.

Every figure "as of D" is computed from the rows with ``on`` ≤ D: asking "as of 2023-06-30"
gives what was true on that date, whenever the events were processed, and a rebuild (a replay
from the first event) gives the same rows, hence the same answers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.base import DomainEvent
from contracts.membership import (ApplicationAdmitted, ApplicationRefused, ApplicationSubmitted, DuesInvoiced,
                                  DuesPaymentRecorded, MemberActivated, MembershipEnteredGracePeriod,
                                  MembershipLapsed, MembershipRenewed, MembershipWithdrawn)

#: For each event the ledger keeps: the field naming its business date, and the fields kept.
KEPT: dict[type[DomainEvent], tuple[str, tuple[str, ...]]] = {
    MemberActivated: ("since", ("year", "dues_cents", "legal_form", "departement", "sector")),
    DuesInvoiced: ("issued_on", ("invoice_id", "year", "amount_cents")),
    DuesPaymentRecorded: ("paid_on", ("invoice_id", "payment_id", "year", "amount_cents")),
    MembershipEnteredGracePeriod: ("entered_on", ("year",)),
    MembershipLapsed: ("lapsed_on", ("year", "written_off_cents")),
    MembershipRenewed: ("renewed_on", ("year", "status")),
    MembershipWithdrawn: ("withdrawn_on", ("reason",)),
    ApplicationSubmitted: ("submitted_on", ("organisation_id", "legal_form")),
    ApplicationAdmitted: ("decided_on", ("organisation_id",)),
    ApplicationRefused: ("decided_on", ("organisation_id",)),
}


def short_name(event_type: str) -> str:
    """``org.cress.membership.member-activated.v1`` → ``member-activated``."""
    return event_type.split(".")[3]


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One event as the report reads it."""

    id: str  # the CloudEvent id
    type: str  # the full event type
    subject: str  # the aggregate id (a member's organisation id, an application id…)
    at: datetime  # the event time (envelope)
    on: date  # the business date the event names
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return short_name(self.type)


def row_of(event: DomainEvent, *, event_id: str, at: datetime) -> LedgerRow:
    """The ledger row of ``event`` (one the ledger keeps: see :data:`KEPT`)."""
    date_field, kept = KEPT[type(event)]
    on = getattr(event, date_field) if date_field else at.date()
    data = event.model_dump(mode="json", include=set(kept))
    return LedgerRow(id=event_id, type=event.event_type, subject=event.aggregate_id, at=at, on=on, data=data)
