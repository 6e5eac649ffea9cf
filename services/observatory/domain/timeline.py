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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

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


def _what(row: LedgerRow, titles: Mapping[str, str]) -> str | None:
    """The French label of a row, or None for a row the timeline does not show."""
    d, t = row.data, row.type
    year = d.get("year")
    if t == MemberActivated.event_type:
        return "Adhésion"
    if t == DuesInvoiced.event_type:
        return f"Cotisation {year} appelée ({euros(d.get('amount_cents'))})"
    if t == DuesPaymentRecorded.event_type:
        return f"Cotisation {year} réglée ({euros(d.get('amount_cents'))})"
    if t == MembershipEnteredGracePeriod.event_type:
        return f"Cotisation {year} en retard (délai de grâce)"
    if t == MembershipLapsed.event_type:
        return f"Adhésion échue (cotisation {year} impayée)"
    if t == MembershipRenewed.event_type:
        return f"Adhésion renouvelée pour {year}"
    if t == MembershipWithdrawn.event_type:
        return "Fin d'adhésion"
    if t == ApplicationSubmitted.event_type:
        return "Demande d'adhésion"
    if t == ApplicationAdmitted.event_type:
        return "Demande d'adhésion acceptée"
    if t == ApplicationRefused.event_type:
        return "Demande d'adhésion refusée"
    event = _title(d.get("event_id"), titles)
    if t in (RegistrationConfirmed.event_type, RegistrationApproved.event_type):
        return f"Inscription à {event}"
    if t == PlaceOfferAccepted.event_type:
        return f"Inscription à {event} (place libérée acceptée)"
    if t == RegistrationCancelled.event_type:
        return f"Inscription annulée : {event}"
    if t == ParticipantCheckedIn.event_type:
        return f"Présent à {event}" if d.get("first_entry", True) else None
    convention = _title(row.subject, titles)
    if t == ConventionParticipantJoined.event_type:
        return f"Inscription aux rendez-vous d'affaires de {convention}"
    if t == ConventionParticipantLeft.event_type:
        return f"Retrait des rendez-vous d'affaires de {convention}"
    if t == MeetingHeld.event_type:
        return f"Rendez-vous d'affaires ({convention})"
    if t == MeetingOutcomeRecorded.event_type:
        outcome = _OUTCOMES.get(d.get("outcome"), d.get("outcome"))
        amount = f", {euros(d['amount_cents'])}" if d.get("amount_cents") is not None else ""
        return f"Suite d'un rendez-vous d'affaires : {outcome}{amount}"
    if t == SupplierProfiled.event_type:
        return "Référencement comme fournisseur de l'ESS"
    if t == SupplierProfileUpdated.event_type:
        return "Profil de fournisseur mis à jour"
    if t == SupplierArchived.event_type:
        return "Profil de fournisseur archivé"
    if t == SupplierNotified.event_type:
        return "Besoin reçu"
    if t == FunnelStepRecorded.event_type:
        return _STEPS.get(d.get("step"))  # "awarded": the award's own line says it, with its amount
    if t == NeedAwarded.event_type:
        grouping = " en groupement" if d.get("grouping_id") else ""
        return f"Marché remporté{grouping} ({euros(d.get('amount_cents'))})"
    if t == QuoteAccepted.event_type:
        return f"Devis accepté : {_OFFERS.get(d.get('offer'), d.get('offer'))} ({euros(d.get('net_cents'))} HT)"
    return None


_SUBJECT_LINK = {"member": "organisation_id", "application": "application_id", "registration": "registration_id",
                 "convention": "convention_id", "supplier": "supplier_id", "need": "need_id", "quote": "quote_id",
                 "event": "event_id"}
_AGGREGATE = {cls.event_type: cls.aggregate_type for cls in (
    MemberActivated, DuesInvoiced, DuesPaymentRecorded, MembershipEnteredGracePeriod, MembershipLapsed,
    MembershipRenewed, MembershipWithdrawn, ApplicationSubmitted, ApplicationAdmitted, ApplicationRefused,
    RegistrationConfirmed, RegistrationApproved, PlaceOfferAccepted, RegistrationCancelled, ParticipantCheckedIn,
    ConventionParticipantJoined, ConventionParticipantLeft, MeetingHeld, MeetingOutcomeRecorded, SupplierProfiled,
    SupplierProfileUpdated, SupplierArchived, SupplierNotified, FunnelStepRecorded, NeedAwarded, QuoteAccepted)}
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
