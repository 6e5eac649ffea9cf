"""The other teams' figures of the activity report, from the events service's and procurement's
ledger rows, as of a date — pure.

For the year ``Y`` as of ``A``, with ``cut = min(31/12/Y, A)``; only rows dated (business date) on
or before ``A`` are read, whatever rows are given:

**Events service** (under the team that runs each event, its ``team``):

- ``events_held`` (and ``events_held_<kind>``): events of the catalogue held in ``Y`` (an
  :class:`EventHeld` whose event *started* in ``Y``, on or before ``A``), cancelled ones left out;
- ``participants`` (and per kind): registrations of those events confirmed at ``A`` (confirmed,
  approved, or a place offer accepted as confirmed; not cancelled since);
- ``check_ins`` (and per kind): distinct registrations of those events checked in (one first entry each:
  repeated scans and other lists count once);
- ``survey_mean_mark_<audience>``: mean of the marks (out of 20) in the latest answers of each
  respondent of the surveys of those events; ``survey_come_again_percent_<audience>``: the share
  of "yes" among their would-come-again answers;
- business conventions (held events of kind ``business_convention``, whose id is the convention's):
  ``convention_participants`` (joined and not left), ``convention_meetings_held`` (meetings whose
  latest mark is held), ``convention_contracts_signed`` and ``convention_contracts_cents`` (the
  meetings whose latest outcome is ``contract_signed``, and their amounts).

**Procurement** (under ``business_development``):

- ``local_authorities_met``: distinct buyers of a local-authority kind (their latest kind:
  registered or updated, else the kind the intervention carries) with at least one intervention
  dated in ``Y`` (the intervention's latest logged/corrected facts; withdrawn ones left out);
- ``interventions`` and ``interventions_<kind>``: those interventions (with any buyer);
- ``active_conventions``: conventions with local authorities in force at the end of ``cut``
  (``starts_on <= cut <= ends_on``, not terminated on or before ``cut``);
- ``purchase_diagnostics_run``: distinct diagnostics with a report computed
  (:class:`DiagnosticReportComputed`) in ``Y`` — a report exists only once a spend file was
  imported; ``SpendFileImported`` would count files, not diagnostics;
- ``quotes_accepted``, ``quotes_accepted_net_cents``: :class:`QuoteAccepted` in ``Y`` and their
  prices excluding VAT after the member discount;
- ``needs_awarded``, ``needs_awarded_cents``: :class:`NeedAwarded` in ``Y`` and their amounts.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from contracts.events import (ConventionParticipantJoined, ConventionParticipantLeft, EventCancelled, EventHeld,
                              EventKind, MeetingHeld, MeetingNotHeld, MeetingOutcome, MeetingOutcomeRecorded,
                              ParticipantCheckedIn, PlaceOfferAccepted, RegistrationApproved,
                              RegistrationCancelled, RegistrationConfirmed, RegistrationStatus, SurveyAnswerSubmitted,
                              SurveyAnswerUpdated, SurveyAudience, Team)
from contracts.procurement import (BuyerConventionSigned, BuyerConventionTerminated, BuyerRegistered, BuyerUpdated,
                                   DiagnosticReportComputed, InterventionCorrected, InterventionKind,
                                   InterventionLogged, InterventionWithdrawn, NeedAwarded, QuoteAccepted)
from contracts.procurement.vocabulary import LOCAL_AUTHORITY_KINDS
from services.observatory.domain.ledger import LedgerRow
from services.observatory.domain.report import Figure, Source, percent, year_end

_LOCAL = {kind.value for kind in LOCAL_AUTHORITY_KINDS}
_AUDIENCE_LABELS = {SurveyAudience.PARTICIPANTS.value: "participant·e·s", SurveyAudience.PARTNERS.value: "partenaires"}
_INTERVENTION_LABELS = {InterventionKind.TRAINING.value: "formations achats",
                        InterventionKind.AWARENESS_WORKSHOP.value: "ateliers de sensibilisation",
                        InterventionKind.DIAGNOSTIC.value: "diagnostics", InterventionKind.SOURCING.value: "sourcings",
                        InterventionKind.MEETING.value: "réunions de travail"}

_KIND_ORDER = {kind.value: i for i, kind in enumerate(EventKind)}


def mean(total: int | float, count: int) -> float | None:
    """``total / count``, one decimal rounded half up; None when ``count`` is 0."""
    if count == 0:
        return None
    return float((Decimal(total) / Decimal(count)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _of(rows: list[LedgerRow], *events: type) -> list[LedgerRow]:
    types = {e.event_type for e in events}
    return sorted((r for r in rows if r.type in types), key=lambda r: (r.at, r.on, r.id))


def _types(*events: type) -> tuple[str, ...]:
    return tuple(e.event_type for e in events)


def _kind_label(kind: str) -> str:
    try:
        return EventKind(kind).label
    except ValueError:
        return kind


# -- the events service ------------------------------------------------------------------------------
def events_figures(rows: Iterable[LedgerRow], year: int, as_of: date) -> dict[Team, list[Figure]]:
    """The figures of the events held in ``year`` as of ``as_of``, per team running them."""
    rows = [r for r in rows if r.on <= as_of]
    end = year_end(year, as_of)
    cancelled = {r.subject for r in _of(rows, EventCancelled) if r.on <= end}
    held = {r.subject: r for r in _of(rows, EventHeld)
            if r.on.year == year and r.on <= end and r.subject not in cancelled}

    # registrations: the latest status each registration's events give
    status: dict[str, tuple[str, str]] = {}
    reg_events = (RegistrationConfirmed, RegistrationApproved, PlaceOfferAccepted, RegistrationCancelled)
    for r in _of(rows, *reg_events):
        if r.type == RegistrationCancelled.event_type:
            state = RegistrationStatus.CANCELLED.value
        elif r.type == PlaceOfferAccepted.event_type:
            state = r.data.get("status", RegistrationStatus.CONFIRMED.value)
        else:
            state = RegistrationStatus.CONFIRMED.value
        status[r.subject] = (r.data.get("event_id"), state)
    participants = defaultdict(set)
    for reg, (event_id, state) in status.items():
        if event_id in held and state == RegistrationStatus.CONFIRMED.value:
            participants[event_id].add(reg)
    checked = defaultdict(set)
    for r in _of(rows, ParticipantCheckedIn):
        if r.data.get("event_id") in held:  # distinct registrations: their first entries
            checked[r.data["event_id"]].add(r.subject)

    # surveys: each respondent's latest answers
    answers: dict[tuple[str, str], LedgerRow] = {}
    for r in _of(rows, SurveyAnswerSubmitted, SurveyAnswerUpdated):
        if r.data.get("event_id") in held:
            answers[(r.subject, r.data.get("respondent_id"))] = r

    # business conventions: participants, meetings held, outcomes
    members: dict[tuple[str, str], bool] = {}
    for r in _of(rows, ConventionParticipantJoined, ConventionParticipantLeft):
        members[(r.subject, r.data.get("participant_id"))] = r.type == ConventionParticipantJoined.event_type
    meeting_held: dict[tuple[str, str], bool] = {}
    for r in _of(rows, MeetingHeld, MeetingNotHeld):
        meeting_held[(r.subject, r.data.get("meeting_id"))] = r.type == MeetingHeld.event_type
    outcomes: dict[tuple[str, str], LedgerRow] = {}
    for r in _of(rows, MeetingOutcomeRecorded):
        outcomes[(r.subject, r.data.get("meeting_id"))] = r

    by_team: dict[Team, list[Figure]] = {}
    teams = sorted({Team(r.data["team"]) for r in held.values()}, key=list(Team).index)
    for team in teams:
        events = {eid: r for eid, r in held.items() if r.data["team"] == team.value}
        by_kind: dict[str, set[str]] = defaultdict(set)
        for eid, r in events.items():
            by_kind[r.data["kind"]].add(eid)
        kinds = sorted(by_kind, key=lambda k: (_KIND_ORDER.get(k, len(_KIND_ORDER)), k))
        held_src = _types(EventHeld, EventCancelled)
        reg_src = _types(EventHeld, *reg_events)
        checkin_src = _types(EventHeld, ParticipantCheckedIn)

        def counts(ids: set[str]) -> tuple[int, int, int]:
            return (len(ids), sum(len(participants[e]) for e in ids), sum(len(checked[e]) for e in ids))

        n_events, n_part, n_checked = counts(set(events))
        figures = [
            Figure("events_held", "Événements organisés", n_events, "événements",
                   Source("events", held_src, n_events,
                          detail=f"événements ayant eu lieu en {year}, hors événements annulés")),
            Figure("participants", "Participant·e·s", n_part, "participants",
                   Source("events", reg_src, n_events + n_part,
                          detail=f"inscriptions confirmées aux événements ayant eu lieu en {year}")),
            Figure("check_ins", "Présent·e·s (émargements)", n_checked, "participants",
                   Source("events", checkin_src, n_events + n_checked,
                          detail=f"inscriptions émargées aux événements ayant eu lieu en {year} "
                                 f"(chacune comptée une fois)")),
        ]
        for kind in kinds:
            k_events, k_part, k_checked = counts(by_kind[kind])
            label = _kind_label(kind)
            figures += [
                Figure(f"events_held_{kind}", f"Événements organisés — {label}", k_events, "événements",
                       Source("events", held_src, k_events,
                              detail=f"événements de type {kind} ayant eu lieu en {year}")),
                Figure(f"participants_{kind}", f"Participant·e·s — {label}", k_part, "participants",
                       Source("events", reg_src, k_events + k_part,
                              detail=f"inscriptions confirmées aux événements de type {kind} ayant eu lieu "
                                     f"en {year}")),
                Figure(f"check_ins_{kind}", f"Présent·e·s — {label}", k_checked, "participants",
                       Source("events", checkin_src, k_events + k_checked,
                              detail=f"premiers émargements aux événements de type {kind} ayant eu lieu en {year}")),
            ]

        survey_src = _types(SurveyAnswerSubmitted, SurveyAnswerUpdated)
        for audience in SurveyAudience:
            mine = [a for a in answers.values() if a.data.get("event_id") in events
                    and a.data.get("audience") == audience.value]
            if not mine:
                continue
            marks = [m for a in mine for m in (a.data.get("marks") or {}).values()]
            again = [v for a in mine for v in (a.data.get("would_come_again") or {}).values()]
            who = _AUDIENCE_LABELS[audience.value]
            figures += [
                Figure(f"survey_mean_mark_{audience.value}", f"Note moyenne de satisfaction — {who}",
                       mean(sum(marks), len(marks)), "/20",
                       Source("events", survey_src, len(mine),
                              detail=f"{len(marks)} notes issues des dernières réponses de {len(mine)} répondant·e·s")),
                Figure(f"survey_come_again_percent_{audience.value}", f"Souhaitent revenir — {who}",
                       percent(sum(1 for v in again if v), len(again)), "%",
                       Source("events", survey_src, len(mine),
                              detail=f"part des « oui » parmi {len(again)} réponses sur le souhait de revenir")),
            ]

        conventions = by_kind.get(EventKind.BUSINESS_CONVENTION.value, set())
        if conventions:
            joined = [k for k, present in members.items() if present and k[0] in conventions]
            met = [k for k, done in meeting_held.items() if done and k[0] in conventions]
            signed = [r for k, r in outcomes.items() if k[0] in conventions
                      and r.data.get("outcome") == MeetingOutcome.CONTRACT_SIGNED.value]
            amount = sum(r.data.get("amount_cents") or 0 for r in signed)
            figures += [
                Figure("convention_participants", "Conventions d'affaires — participant·e·s", len(joined),
                       "participants",
                       Source("events", _types(ConventionParticipantJoined, ConventionParticipantLeft), len(joined),
                              detail="participant·e·s ayant rejoint les conventions d'affaires ayant eu lieu "
                                     "(et ne les ayant pas quittées)")),
                Figure("convention_meetings_held", "Conventions d'affaires — rendez-vous tenus", len(met),
                       "rendez-vous", Source("events", _types(MeetingHeld, MeetingNotHeld), len(met),
                                             detail="rendez-vous dont le dernier pointage est « tenu »")),
                Figure("convention_contracts_signed", "Conventions d'affaires — contrats signés", len(signed),
                       "contrats", Source("events", _types(MeetingOutcomeRecorded), len(signed),
                                          detail="rendez-vous dont la dernière issue enregistrée est "
                                                 "« contrat signé »")),
                Figure("convention_contracts_cents", "Conventions d'affaires — montant des contrats", amount,
                       "centimes", Source("events", _types(MeetingOutcomeRecorded), len(signed),
                                          detail="montants des contrats signés à l'issue d'un rendez-vous")),
            ]
        by_team[team] = figures
    return by_team


# -- procurement ------------------------------------------------------------------------------------------
def procurement_figures(rows: Iterable[LedgerRow], year: int, as_of: date) -> list[Figure]:
    """Business development's figures from procurement's events for ``year`` as of ``as_of``."""
    rows = [r for r in rows if r.on <= as_of]
    end = year_end(year, as_of)

    def in_year(r: LedgerRow) -> bool:
        return r.on.year == year and r.on <= end

    buyer_kind = {r.subject: r.data.get("kind") for r in _of(rows, BuyerRegistered, BuyerUpdated)}
    interventions: dict[str, LedgerRow | None] = {}
    for r in _of(rows, InterventionLogged, InterventionCorrected, InterventionWithdrawn):
        interventions[r.data["intervention_id"]] = None if r.type == InterventionWithdrawn.event_type else r
    counted = [r for r in interventions.values() if r is not None and in_year(r)]
    met = {r.subject for r in counted if buyer_kind.get(r.subject, r.data.get("buyer_kind")) in _LOCAL}
    intervention_src = _types(InterventionLogged, InterventionCorrected, InterventionWithdrawn)
    per_kind: dict[str, int] = defaultdict(int)
    for r in counted:
        per_kind[r.data["kind"]] += 1

    signed = {r.data["convention_id"]: r for r in _of(rows, BuyerConventionSigned)}
    ended = {r.data["convention_id"]: r.on for r in _of(rows, BuyerConventionTerminated)}
    active = [c for c, r in signed.items()
              if r.on <= end and date.fromisoformat(r.data["starts_on"]) <= end <= date.fromisoformat(r.data["ends_on"])
              and not (c in ended and ended[c] <= end)]

    diagnostics = {r.subject for r in _of(rows, DiagnosticReportComputed) if in_year(r)}
    quotes = [r for r in _of(rows, QuoteAccepted) if in_year(r)]
    quotes = list({r.subject: r for r in quotes}.values())  # a quote is accepted once
    awards = list({r.subject: r for r in _of(rows, NeedAwarded) if in_year(r)}.values())

    figures = [
        Figure("local_authorities_met", "Collectivités rencontrées", len(met), "collectivités",
               Source("events", (*intervention_src, *_types(BuyerRegistered, BuyerUpdated)), len(counted),
                      detail=f"acheteurs de type collectivité ayant bénéficié d'une intervention datée de {year} "
                             f"(hors interventions retirées)")),
        Figure("interventions", "Interventions auprès des acheteurs", len(counted), "interventions",
               Source("events", intervention_src, len(counted), detail=f"interventions datées de {year}")),
        *(Figure(f"interventions_{kind}", f"Interventions — {_INTERVENTION_LABELS.get(kind, kind)}", n,
                 "interventions", Source("events", intervention_src, n, detail=f"interventions de type {kind} "
                                                                                f"datées de {year}"))
          for kind, n in sorted(per_kind.items())),
        Figure("active_conventions", "Conventions en cours avec des collectivités", len(active), "conventions",
               Source("events", _types(BuyerConventionSigned, BuyerConventionTerminated), len(active),
                      detail=f"conventions en vigueur au {end.isoformat()}")),
        Figure("purchase_diagnostics_run", "Diagnostics achats réalisés", len(diagnostics), "diagnostics",
               Source("events", _types(DiagnosticReportComputed), len(diagnostics),
                      detail=f"diagnostics dont le rapport a été établi en {year}")),
        Figure("quotes_accepted", "Devis acceptés (Prom'ESS Europe)", len(quotes), "devis",
               Source("events", _types(QuoteAccepted), len(quotes), detail=f"devis acceptés en {year}")),
        Figure("quotes_accepted_net_cents", "Montant des devis acceptés (HT, remise déduite)",
               sum(r.data.get("net_cents") or 0 for r in quotes), "centimes",
               Source("events", _types(QuoteAccepted), len(quotes), detail="prix nets hors TVA")),
        Figure("needs_awarded", "Besoins attribués à des structures de l'ESS", len(awards), "besoins",
               Source("events", _types(NeedAwarded), len(awards), detail=f"besoins attribués en {year}")),
        Figure("needs_awarded_cents", "Montant des marchés attribués (HT)",
               sum(r.data.get("amount_cents") or 0 for r in awards), "centimes",
               Source("events", _types(NeedAwarded), len(awards), detail="montants des marchés hors TVA")),
    ]
    return figures
