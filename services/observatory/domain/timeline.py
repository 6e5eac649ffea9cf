"""One organisation's timeline across services, as of a date — pure: ledger rows in, lines out.

The rows are the organisation's (:attr:`LedgerRow.organisations`) and those naming one of its
supplier profiles or convention participants (:attr:`LedgerRow.refs`, tied to it by the rows of
:data:`~services.observatory.domain.ledger.TIES`). Each line says when (the business date), what
(a French label), which service and which event (type and CloudEvent id: the provenance) and the
ids it links to. Lines are in business-date order (then event time); none after ``as_of``.

What the timeline shows: joined (application, membership), paid (dues invoiced, paid, late,
renewed, lapsed, withdrawn), attended (registrations, check-ins — the first entry only), met
buyers (business conventions: joined, meetings held, their outcomes), answered needs (notified,
viewed, interested, answered), won contracts (awards, with their amounts), quotes accepted.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.events import (ConventionParticipantJoined, ConventionParticipantLeft, EventCancelled, EventHeld,
                              EventPublished, MeetingHeld, MeetingOutcome, MeetingOutcomeRecorded,
                              ParticipantCheckedIn, PlaceOfferAccepted, RegistrationApproved, RegistrationCancelled,
                              RegistrationConfirmed)
from contracts.membership import (ApplicationAdmitted, ApplicationRefused, ApplicationSubmitted, DuesInvoiced,
                                  DuesPaymentRecorded, MemberActivated, MembershipEnteredGracePeriod,
                                  MembershipLapsed, MembershipRenewed, MembershipWithdrawn)
from contracts.procurement import (FunnelStep, FunnelStepRecorded, NeedAwarded, PaidOffer, QuoteAccepted,
                                   SupplierArchived, SupplierNotified, SupplierProfiled, SupplierProfileUpdated)
from services.observatory.domain.ledger import LedgerRow, resolve

#: the rows that give an event's title (the latest one as of the date)
EVENT_TYPES = (EventPublished.event_type, EventHeld.event_type, EventCancelled.event_type)

_OUTCOMES = {MeetingOutcome.NO_FURTHER_CONTACT.value: "pas de suite",
             MeetingOutcome.QUOTE_REQUESTED.value: "devis demandé",
             MeetingOutcome.NEGOTIATION_STARTED.value: "négociation engagée",
             MeetingOutcome.CONTRACT_SIGNED.value: "contrat signé"}
_STEPS = {FunnelStep.OPENED.value: "Besoin consulté", FunnelStep.VIEWED.value: "Besoin consulté",
          FunnelStep.INTERESTED.value: "Intérêt pour un besoin",
          FunnelStep.NOT_INTERESTED.value: "Pas d'intérêt pour un besoin",
          FunnelStep.ANSWERED.value: "Réponse à un besoin"}
_OFFERS = {PaidOffer.APPLICATION_SUPPORT.value: "accompagnement à une candidature aux fonds européens",
           PaidOffer.ADMINISTRATIVE_MANAGEMENT.value: "gestion administrative d'un projet européen"}


@dataclass(frozen=True, slots=True)
class TimelineLine:
    on: date  # the business date
    at: datetime  # the event time
    what: str  # French label
    service: str  # membership, events, procurement
    event_type: str
    event_id: str  # the CloudEvent id (provenance)
    links: dict[str, str] = field(default_factory=dict)


def euros(cents: int | None) -> str:
    """``2_450_000`` → ``24 500 €``; ``12_050`` → ``120,50 €`` (French grouping, plain spaces)."""
    if cents is None:
        return "montant non précisé"
    whole, rest = divmod(int(cents), 100)
    text = f"{whole:,}".replace(",", " ")
    return f"{text},{rest:02d} €" if rest else f"{text} €"


def _title(event_id: str | None, titles: Mapping[str, str]) -> str:
    if event_id and titles.get(event_id):
        return f"« {titles[event_id]} »"
    return f"l'événement {event_id}" if event_id else "un événement"


#: (data, the event's title, the convention's title) → the row's French label, or None to leave it out
Label = Callable[[Mapping[str, Any], str, str], "str | None"]

#: What the timeline shows, and how it says it: one label per kind of event.
_LABELS: dict[type, Label] = {
    MemberActivated: lambda d, event, convention: "Adhésion",
    DuesInvoiced: lambda d, event, convention: f"Cotisation {d.get('year')} appelée ({euros(d.get('amount_cents'))})",
    DuesPaymentRecorded: lambda d, event, convention:
        f"Cotisation {d.get('year')} réglée ({euros(d.get('amount_cents'))})",
    MembershipEnteredGracePeriod: lambda d, event, convention: f"Cotisation {d.get('year')} en retard (délai de grâce)",
    MembershipLapsed: lambda d, event, convention: f"Adhésion échue (cotisation {d.get('year')} impayée)",
    MembershipRenewed: lambda d, event, convention: f"Adhésion renouvelée pour {d.get('year')}",
    MembershipWithdrawn: lambda d, event, convention: "Fin d'adhésion",
    ApplicationSubmitted: lambda d, event, convention: "Demande d'adhésion",
    ApplicationAdmitted: lambda d, event, convention: "Demande d'adhésion acceptée",
    ApplicationRefused: lambda d, event, convention: "Demande d'adhésion refusée",
    RegistrationConfirmed: lambda d, event, convention: f"Inscription à {event}",
    RegistrationApproved: lambda d, event, convention: f"Inscription à {event}",
    PlaceOfferAccepted: lambda d, event, convention: f"Inscription à {event} (place libérée acceptée)",
    RegistrationCancelled: lambda d, event, convention: f"Inscription annulée : {event}",
    ParticipantCheckedIn: lambda d, event, convention: f"Présent à {event}" if d.get("first_entry", True) else None,
    ConventionParticipantJoined: lambda d, event, convention: f"Inscription aux rendez-vous d'affaires de {convention}",
    ConventionParticipantLeft: lambda d, event, convention: f"Retrait des rendez-vous d'affaires de {convention}",
    MeetingHeld: lambda d, event, convention: f"Rendez-vous d'affaires ({convention})",
    MeetingOutcomeRecorded: lambda d, event, convention:
        f"Suite d'un rendez-vous d'affaires : {_OUTCOMES.get(d.get('outcome'), d.get('outcome'))}"
        + (f", {euros(d['amount_cents'])}" if d.get("amount_cents") is not None else ""),
    SupplierProfiled: lambda d, event, convention: "Référencement comme fournisseur de l'ESS",
    SupplierProfileUpdated: lambda d, event, convention: "Profil de fournisseur mis à jour",
    SupplierArchived: lambda d, event, convention: "Profil de fournisseur archivé",
    SupplierNotified: lambda d, event, convention: "Besoin reçu",
    # "awarded": the award's own line says it, with its amount
    FunnelStepRecorded: lambda d, event, convention: _STEPS.get(d.get("step")),
    NeedAwarded: lambda d, event, convention:
        f"Marché remporté{' en groupement' if d.get('grouping_id') else ''} ({euros(d.get('amount_cents'))})",
    QuoteAccepted: lambda d, event, convention:
        f"Devis accepté : {_OFFERS.get(d.get('offer'), d.get('offer'))} ({euros(d.get('net_cents'))} HT)",
}
_BY_TYPE: dict[str, Label] = {cls.event_type: label for cls, label in _LABELS.items()}


def _what(row: LedgerRow, titles: Mapping[str, str]) -> str | None:
    """The French label of a row, or None for a row the timeline does not show."""
    label = _BY_TYPE.get(row.type)
    if label is None:
        return None
    return label(row.data, _title(row.data.get("event_id"), titles), _title(row.subject, titles))


_SUBJECT_LINK = {"member": "organisation_id", "application": "application_id", "registration": "registration_id",
                 "convention": "convention_id", "supplier": "supplier_id", "need": "need_id", "quote": "quote_id",
                 "event": "event_id"}
_AGGREGATE = {cls.event_type: cls.aggregate_type for cls in _LABELS}
_DATA_LINKS = ("event_id", "invoice_id", "payment_id", "participant_id", "meeting_id", "need_id", "supplier_id",
               "grouping_id", "organisation_id")


def _links(row: LedgerRow) -> dict[str, str]:
    links: dict[str, str] = {}
    aggregate = _AGGREGATE.get(row.type)
    if aggregate in _SUBJECT_LINK:
        links[_SUBJECT_LINK[aggregate]] = row.subject
    for name in _DATA_LINKS:
        value = row.data.get(name)
        if isinstance(value, str) and value:
            links.setdefault(name, value)
    return links


def titles_of(event_rows: Iterable[LedgerRow], as_of: date) -> dict[str, str]:
    """Each event's title, as its latest catalogue row dated on or before ``as_of`` gives it."""
    titles: dict[str, str] = {}
    for r in sorted((r for r in event_rows if r.type in EVENT_TYPES and r.on <= as_of),
                    key=lambda r: (r.at, r.on, r.id)):
        if r.data.get("title"):
            titles[r.subject] = r.data["title"]
    return titles


_CONVENTION_TYPES = {cls.event_type for cls in (ConventionParticipantJoined, ConventionParticipantLeft, MeetingHeld,
                                                MeetingOutcomeRecorded)}


def event_ids_of(rows: Iterable[LedgerRow]) -> list[str]:
    """The catalogue events the rows name (a registration's event, a business convention: its id is
    the event's), whose titles the labels need."""
    return sorted({r.data["event_id"] for r in rows if r.data.get("event_id")}
                  | {r.subject for r in rows if r.type in _CONVENTION_TYPES})


def concerning(organisation_id: str, rows: Iterable[LedgerRow]) -> list[LedgerRow]:
    """The rows that concern the organisation: naming it, or naming a supplier profile or a
    convention participant tied to it (by the tie rows among ``rows``)."""
    rows = list(rows)
    owner = resolve(rows)
    return [r for r in rows if organisation_id in r.organisations
            or any(owner.get(ref) == organisation_id for ref in r.refs)]


def timeline(organisation_id: str, rows: Iterable[LedgerRow], titles: Mapping[str, str], as_of: date,
             since: date | None = None, until: date | None = None) -> list[TimelineLine]:
    """The organisation's timeline as of ``as_of`` (between ``since`` and ``until`` when given)."""
    last = min(as_of, until) if until else as_of
    lines: list[TimelineLine] = []
    seen: set[str] = set()
    for r in sorted(concerning(organisation_id, rows), key=lambda r: (r.on, r.at, r.id)):
        if r.on > last or (since and r.on < since) or r.id in seen:
            continue
        seen.add(r.id)
        what = _what(r, titles)
        if what is None:
            continue
        lines.append(TimelineLine(on=r.on, at=r.at, what=what, service=r.type.split(".")[2], event_type=r.type,
                                  event_id=r.id, links=_links(r)))
    return lines
