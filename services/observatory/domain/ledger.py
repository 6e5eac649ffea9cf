"""The ledger: an append-only, compact log of the events the activity report needs — pure.

One row per CloudEvent (its id is the row's id: a replayed event changes nothing), with the event
type, the subject (aggregate id), the event time (``at``: the envelope's time), the **business
date** the event names (``on``: ``since``, ``issued_on``, ``paid_on``, ``withdrawn_on``…; for an
instant such as an event's ``starts_at`` or a meeting's ``held_at``, its day in Europe/Paris; the
event time's date when the event names none) and the few fields the figures need.

The events kept come from three services, each read by its own consumer group
(:data:`KEPT_BY_SOURCE`): membership, the events service (events held, registrations, check-ins,
survey answers, business conventions) and procurement (buyers, conventions with local authorities,
interventions, diagnostics, quotes, awards).

Every figure "as of D" is computed from the rows with ``on`` ≤ D: asking "as of 2023-06-30"
gives what was true on that date, whenever the events were processed, and a rebuild (a replay
from the first event) gives the same rows, hence the same answers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from contracts.base import DomainEvent
from contracts.membership import (ApplicationAdmitted, ApplicationRefused, ApplicationSubmitted, DuesInvoiced,
                                  DuesPaymentRecorded, MemberActivated, MembershipEnteredGracePeriod,
                                  MembershipLapsed, MembershipRenewed, MembershipWithdrawn)
from contracts.events import (ConventionParticipantJoined, ConventionParticipantLeft, EventCancelled, EventHeld,
                              MeetingHeld, MeetingNotHeld, MeetingOutcomeRecorded, ParticipantCheckedIn,
                              PlaceOfferAccepted, RegistrationApproved, RegistrationCancelled, RegistrationConfirmed,
                              SurveyAnswerSubmitted, SurveyAnswerUpdated)
from contracts.procurement import (BuyerConventionSigned, BuyerConventionTerminated, BuyerRegistered, BuyerUpdated,
                                   DiagnosticReportComputed, InterventionCorrected, InterventionLogged,
                                   InterventionWithdrawn, NeedAwarded, QuoteAccepted)

PARIS = ZoneInfo("Europe/Paris")
Kept = dict[type[DomainEvent], tuple[str, tuple[str, ...]]]

#: For each event the ledger keeps: the field naming its business date, and the fields kept.
MEMBERSHIP_KEPT: Kept = {
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

_ANSWERS = ("event_id", "audience", "respondent_id", "marks", "would_come_again")
EVENTS_KEPT: Kept = {
    # an event is held on the day it starts (``held_at`` only says when staff recorded it)
    EventHeld: ("starts_at", ("kind", "team")),
    EventCancelled: ("cancelled_at", ("kind", "team")),
    RegistrationConfirmed: ("registered_at", ("event_id",)),
    RegistrationApproved: ("approved_at", ("event_id",)),
    PlaceOfferAccepted: ("accepted_at", ("event_id", "status")),
    RegistrationCancelled: ("cancelled_at", ("event_id",)),
    ParticipantCheckedIn: ("checked_in_at", ("event_id", "first_entry")),
    SurveyAnswerSubmitted: ("submitted_at", _ANSWERS),
    SurveyAnswerUpdated: ("updated_at", _ANSWERS),
    ConventionParticipantJoined: ("joined_at", ("participant_id", "role")),
    ConventionParticipantLeft: ("left_at", ("participant_id",)),
    MeetingHeld: ("held_at", ("meeting_id",)),
    MeetingNotHeld: ("marked_at", ("meeting_id",)),
    MeetingOutcomeRecorded: ("recorded_at", ("meeting_id", "outcome", "amount_cents")),
}

_INTERVENTION = ("intervention_id", "kind", "team", "buyer_kind")
PROCUREMENT_KEPT: Kept = {
    BuyerRegistered: ("registered_at", ("kind",)),
    BuyerUpdated: ("updated_at", ("kind",)),
    BuyerConventionSigned: ("signed_on", ("convention_id", "buyer_kind", "starts_on", "ends_on")),
    BuyerConventionTerminated: ("terminated_on", ("convention_id",)),
    InterventionLogged: ("on", _INTERVENTION),
    InterventionCorrected: ("on", _INTERVENTION),
    InterventionWithdrawn: ("withdrawn_at", ("intervention_id",)),
    DiagnosticReportComputed: ("computed_at", ("buyer_id", "total_spend_cents", "ess_spend_cents")),
    QuoteAccepted: ("accepted_on", ("offer", "net_cents", "total_incl_vat_cents")),
    NeedAwarded: ("awarded_at", ("amount_cents",)),
}

#: The events kept, per source service (one consumer group each).
KEPT_BY_SOURCE: dict[str, Kept] = {"membership": MEMBERSHIP_KEPT, "events": EVENTS_KEPT,
                                   "procurement": PROCUREMENT_KEPT}
KEPT: Kept = {event: kept for source in KEPT_BY_SOURCE.values() for event, kept in source.items()}


def local_date(value: date | datetime) -> date:
    """A business date as is; an instant's day in Europe/Paris (a naive instant is taken as UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(PARIS).date()
    return value


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
    on = local_date(getattr(event, date_field)) if date_field else local_date(at)
    data = event.model_dump(mode="json", include=set(kept))
    return LedgerRow(id=event_id, type=event.event_type, subject=event.aggregate_id, at=at, on=on, data=data)
