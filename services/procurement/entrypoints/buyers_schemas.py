"""Request and response bodies of the buyers API (buyers, engagements, conventions, interventions).

Responses are the domain's aggregates, or views adding what a client reads with them (the
engagement's next phase, whether a convention is in force today). Business rules come back as
422 (naming the field) or 409 (naming the current state and the step expected).
"""
from __future__ import annotations

from datetime import date

from pydantic import ConfigDict, Field

from contracts.events.registrations import Team
from contracts.procurement.buyers import EngagementPhase, InterventionKind
from contracts.procurement.vocabulary import BuyerKind, Programme
from runtime.api import Body, partial
from services.procurement.domain.buyers import (MAX_PARTICIPANTS, NAME_MAX, NOTES_MAX, REASON_MAX, BuyerConvention,
                                                Engagement)

_BUYER_EXAMPLE = {"kind": "commune", "siret": "21930048000015", "name": "Ville de Montreuil", "departement": "93",
                  "commune": "93048"}


class BuyerIn(Body):
    """A buyer: a local authority (commune, ept, epci, departement, region), another public buyer
    (other_public) or a private company (private_company)."""

    kind: BuyerKind = Field(description="Kind of buyer (code).")
    siret: str = Field(max_length=40, description="14 digits (spaces allowed), checksum verified; once per buyer.")
    name: str = Field(max_length=NAME_MAX, description="Name of the legal entity.")
    departement: str = Field(max_length=10, description="Département code: 01–95, 2A, 2B, 971–976.")
    commune: str | None = Field(None, max_length=10, description="INSEE code of its commune (in its département).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_BUYER_EXAMPLE]})


BuyerPatch = partial(BuyerIn, name="BuyerPatch", examples=[{"name": "Ville de Montreuil (Seine-Saint-Denis)"}])


class EngagementIn(Body):
    programme: Programme = Field(description="pams (public buyers) or oser (private companies).")
    on: date | None = Field(None, description="The day it began (default: today; never in the future).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"programme": "pams",
                                                                               "on": "2024-02-01"}]})


class PhaseIn(Body):
    phase: EngagementPhase = Field(description="The phase entered: the next one of the programme.")
    on: date | None = Field(None, description="The day it entered the phase (default: today).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phase": "train", "on": "2024-05-15"}]})


class CompletionIn(Body):
    on: date | None = Field(None, description="The day it ended (default: today).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"on": "2025-06-30"}]})


class AbandonmentIn(Body):
    reason: str = Field(max_length=REASON_MAX, description="Why it stopped (stays here: not in events).")
    on: date | None = Field(None, description="The day it stopped (default: today).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Changement d'équipe municipale, projet suspendu.", "on": "2024-09-30"}]})


class EngagementView(Engagement):
    """An engagement, with its programme's phases and the next one allowed."""

    programme_phases: list[EngagementPhase] = Field(description="The programme's phases, in order.")
    next_allowed_phase: EngagementPhase | None = Field(description="The phase it may enter next (null: in the last "
                                                                   "phase, complete it; or closed).")

    @classmethod
    def of(cls, engagement: Engagement) -> EngagementView:
        nxt = engagement.next_phase if engagement.status.value == "open" else None
        return cls(**engagement.model_dump(), programme_phases=list(engagement.phases), next_allowed_phase=nxt)


class ConventionIn(Body):
    subject: str = Field(max_length=NAME_MAX, description="What it covers (stays here: not in events).")
    signed_on: date = Field(description="The day it was signed (not in the future).")
    starts_on: date = Field(description="First day in force.")
    ends_on: date = Field(description="Last day in force (after starts_on; at most 10 years).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"subject": "Convention PAMS — achats responsables 2024-2026", "signed_on": "2024-03-01",
         "starts_on": "2024-04-01", "ends_on": "2026-03-31"}]})


class TerminationIn(Body):
    on: date = Field(description="The first day it no longer binds (from its signature to its end).")
    reason: str | None = Field(None, max_length=REASON_MAX, description="Why (stays here: not in events).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"on": "2025-01-01", "reason": "Résiliation amiable."}]})


class ConventionView(BuyerConvention):
    """A convention, with its last binding day and its status today."""

    last_day_in_force: date = Field(description="Its last day in force (the day before its termination, when terminated).")
    in_force_today: bool
    status_today: str = Field(description="in_force, upcoming, ended or terminated (today, Europe/Paris).")

    @classmethod
    def of(cls, convention: BuyerConvention, today: date) -> ConventionView:
        return cls(**convention.model_dump(), last_day_in_force=convention.last_day, in_force_today=convention.in_force_on(today),
                   status_today=convention.status_on(today))


class InterventionIn(Body):
    kind: InterventionKind = Field(description="training, awareness_workshop, diagnostic, sourcing or meeting.")
    on: date | None = Field(None, description="The day it took place (default: today; never in the future).")
    team: Team = Field(Team.BUSINESS_DEVELOPMENT, description="The team that intervened (code).")
    engagement_id: str | None = Field(None, max_length=100, description="One of the buyer's engagements, if any.")
    participants: int | None = Field(None, ge=0, le=MAX_PARTICIPANTS, description="How many took part.")
    notes: str | None = Field(None, max_length=NOTES_MAX, description="Free notes (may name people: never in events).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "awareness_workshop", "on": "2024-06-11", "team": "business_development",
         "engagement_id": "eng-4c1d9e2f3a4b", "participants": 18,
         "notes": "Atelier avec la direction de la commande publique."}]})


InterventionPatch = partial(InterventionIn, name="InterventionPatch", examples=[{"on": "2024-06-12",
                                                                                 "participants": 21}])
