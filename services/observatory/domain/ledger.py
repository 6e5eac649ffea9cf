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

Each row also says which organisations it concerns (:func:`parties`): ``organisations`` — the
membership organisation ids the event names (the member, the applicant, the registration's or the
convention participant's organisation, the supplier profile's organisation…) — and ``refs`` —
the ids it names that stand for an organisation without naming it (``supplier:<supplier id>``,
``participant:<participant id>``). The rows that tie a ref to its organisation (a supplier's
profile, a participant joining a convention) carry both, so one organisation's rows are read
with two indexed queries, whatever order the events were processed in (a rebuild gives the same).

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
                              EventPublished, MeetingHeld, MeetingNotHeld, MeetingOutcomeRecorded, ParticipantCheckedIn,
                              PlaceOfferAccepted, RegistrationApproved, RegistrationCancelled, RegistrationConfirmed,
                              SurveyAnswerSubmitted, SurveyAnswerUpdated)
from contracts.procurement import (BuyerConventionSigned, BuyerConventionTerminated, BuyerRegistered, BuyerUpdated,
                                   DiagnosticReportComputed, InterventionCorrected, InterventionLogged,
                                   InterventionWithdrawn, NeedAwarded, NeedDrafted, NeedUpdated, FunnelStepRecorded,
                                   QuoteAccepted, SupplierArchived, SupplierNotified, SupplierProfiled,
                                   SupplierProfileUpdated)

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
    ApplicationSubmitted: ("submitted_on", ("organisation_id", "legal_form")),  # (application: subject)
    ApplicationAdmitted: ("decided_on", ("organisation_id",)),
    ApplicationRefused: ("decided_on", ("organisation_id",)),
}

_ANSWERS = ("event_id", "audience", "respondent_id", "marks", "would_come_again")
_EVENT = ("kind", "team", "title", "venue_commune")
_REGISTRATION = ("event_id", "organisation_id")
EVENTS_KEPT: Kept = {
    # an event is held on the day it starts (``held_at`` only says when staff recorded it)
    EventHeld: ("starts_at", _EVENT),
    EventCancelled: ("cancelled_at", _EVENT),
    EventPublished: ("published_at", _EVENT),  # the title and place of an event registered for, not held yet
    RegistrationConfirmed: ("registered_at", _REGISTRATION),
    RegistrationApproved: ("approved_at", _REGISTRATION),
    PlaceOfferAccepted: ("accepted_at", (*_REGISTRATION, "status")),
    RegistrationCancelled: ("cancelled_at", _REGISTRATION),
    ParticipantCheckedIn: ("checked_in_at", (*_REGISTRATION, "first_entry")),
    SurveyAnswerSubmitted: ("submitted_at", _ANSWERS),
    SurveyAnswerUpdated: ("updated_at", _ANSWERS),
    ConventionParticipantJoined: ("joined_at", ("participant_id", "role", "organisation_id")),
    ConventionParticipantLeft: ("left_at", ("participant_id",)),
    MeetingHeld: ("held_at", ("meeting_id", "participant_ids")),
    MeetingNotHeld: ("marked_at", ("meeting_id",)),
    MeetingOutcomeRecorded: ("recorded_at", ("meeting_id", "outcome", "amount_cents", "participant_ids", "need_id")),
}

_INTERVENTION = ("intervention_id", "kind", "team", "buyer_kind")
_BUYER = ("kind", "name", "commune", "departement")  # a buyer is a legal entity: its name is no personal data
_SUPPLIER = ("organisation_id", "base_commune", "base_departement", "communes", "departements")
_NEED = ("kind", "commune", "departement", "amount_cents")
PROCUREMENT_KEPT: Kept = {
    BuyerRegistered: ("registered_at", _BUYER),
    BuyerUpdated: ("updated_at", _BUYER),
    BuyerConventionSigned: ("signed_on", ("convention_id", "buyer_kind", "starts_on", "ends_on")),
    BuyerConventionTerminated: ("terminated_on", ("convention_id",)),
    InterventionLogged: ("on", _INTERVENTION),
    InterventionCorrected: ("on", _INTERVENTION),
    InterventionWithdrawn: ("withdrawn_at", ("intervention_id",)),
    DiagnosticReportComputed: ("computed_at", ("buyer_id", "total_spend_cents", "ess_spend_cents")),
    QuoteAccepted: ("accepted_on", ("offer", "net_cents", "total_incl_vat_cents", "organisation_id")),
    NeedAwarded: ("awarded_at", ("amount_cents", "supplier_ids", "grouping_id")),
    NeedDrafted: ("drafted_at", (*_NEED, "buyer_id")),
    NeedUpdated: ("updated_at", _NEED),
    SupplierNotified: ("notified_at", ("supplier_id",)),
    FunnelStepRecorded: ("recorded_at", ("supplier_id", "step")),
    SupplierProfiled: ("profiled_at", _SUPPLIER),
    SupplierProfileUpdated: ("updated_at", _SUPPLIER),
    SupplierArchived: ("archived_at", ("organisation_id",)),
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
    organisations: tuple[str, ...] = ()  # the membership organisations it concerns (see parties())
    refs: tuple[str, ...] = ()  # the supplier / participant ids it concerns, prefixed (see parties())

    @property
    def name(self) -> str:
        return short_name(self.type)


def row_of(event: DomainEvent, *, event_id: str, at: datetime) -> LedgerRow:
    """The ledger row of ``event`` (one the ledger keeps: see :data:`KEPT`)."""
    date_field, kept = KEPT[type(event)]
    on = local_date(getattr(event, date_field)) if date_field else local_date(at)
    data = event.model_dump(mode="json", include=set(kept))
    organisations, refs = parties(event.event_type, event.aggregate_id, data)
    return LedgerRow(id=event_id, type=event.event_type, subject=event.aggregate_id, at=at, on=on, data=data,
                     organisations=organisations, refs=refs)


# -- which organisations a row concerns ---------------------------------------------------------

SUPPLIER_REF = "supplier:"
PARTICIPANT_REF = "participant:"
_MEMBER_EVENTS = {e.event_type for e, _ in MEMBERSHIP_KEPT.items() if e.aggregate_type == "member"}
#: the rows that tie a ref to an organisation: a supplier profile (its subject), a convention participant
TIES = {SupplierProfiled.event_type: SUPPLIER_REF, SupplierProfileUpdated.event_type: SUPPLIER_REF,
        SupplierArchived.event_type: SUPPLIER_REF, ConventionParticipantJoined.event_type: PARTICIPANT_REF}


def parties(event_type: str, subject: str, data: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The organisations a ledger row concerns, and the refs (prefixed supplier / participant ids)
    it concerns, from its type, subject and kept fields. A tie row (:data:`TIES`) carries both its
    organisation and its ref."""
    organisations: list[str] = []
    refs: list[str] = []
    if event_type in _MEMBER_EVENTS:
        organisations.append(subject)  # membership's member aggregate is keyed by the organisation id
    if data.get("organisation_id"):
        organisations.append(data["organisation_id"])
    if TIES.get(event_type) == SUPPLIER_REF:
        refs.append(SUPPLIER_REF + subject)  # a supplier profile's subject is the supplier id
    if data.get("participant_id"):
        refs.append(PARTICIPANT_REF + data["participant_id"])
    if data.get("supplier_id"):
        refs.append(SUPPLIER_REF + data["supplier_id"])
    refs += [SUPPLIER_REF + s for s in data.get("supplier_ids") or ()]
    refs += [PARTICIPANT_REF + p for p in data.get("participant_ids") or ()]
    return tuple(dict.fromkeys(organisations)), tuple(dict.fromkeys(refs))


def resolve(ties: list[LedgerRow]) -> dict[str, str]:
    """The organisation of each ref, from the tie rows (a supplier's profile, a participant joining)."""
    return {ref: organisation for row in ties for ref in row.refs if row.type in TIES
            for organisation in row.organisations[:1]}
