"""Events of buyers, their engagements, conventions and interventions (topic ``procurement.buyer``,
key ``buyer_id``).

Every event of this topic carries the ``buyer_id`` (the Kafka key: one buyer's facts keep their
order) — engagements, conventions and interventions are the buyer's, so their events are keyed by
their buyer too, and carry their own id beside it.

What the activity report counts, and how a consumer (the observatory) recomputes it from these
events alone:

- **local authorities met in a year**: distinct buyers whose kind is a local authority
  (``commune``, ``ept``, ``epci``, ``departement``, ``region``) with at least one intervention
  dated (``on``) in that year. An intervention's latest :class:`InterventionLogged` /
  :class:`InterventionCorrected` gives its date, kind, team and engagement; an
  :class:`InterventionWithdrawn` removes it. The buyer's kind is its latest one
  (:class:`BuyerRegistered`, then each :class:`BuyerUpdated`: a kind is corrected, never "changes"
  over time); ``buyer_kind`` on the intervention events is the kind when the event was recorded;
- **interventions per kind and per team**: the same interventions, counted by ``kind`` and ``team``;
- **active conventions**: a convention is in force on a day ``d`` when ``starts_on <= d <= ends_on``
  and, if :class:`BuyerConventionTerminated` came, ``d < terminated_on`` (terminated *from* that day);
- **engagements per programme and phase**: :class:`EngagementOpened` (first phase, ``opened_on``),
  each :class:`EngagementPhaseAdvanced` (``phase`` entered ``on``), :class:`EngagementCompleted` /
  :class:`EngagementAbandoned` (``on``) — the phase on any day is the last one entered by then.

Free texts (intervention notes, convention subjects, abandonment reasons) stay in the service: they
may name people. Events carry ids, codes and dates.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent
from contracts.events.registrations import Team
from contracts.procurement.vocabulary import BuyerKind, Programme

__all__ = ["BuyerStatus", "EngagementPhase", "EngagementStatus", "PROGRAMME_PHASES", "InterventionKind",
           "BuyerRegistered", "BuyerUpdated", "BuyerArchived", "EngagementOpened", "EngagementPhaseAdvanced",
           "EngagementCompleted", "EngagementAbandoned", "BuyerConventionSigned", "BuyerConventionTerminated",
           "InterventionLogged", "InterventionCorrected", "InterventionWithdrawn"]


class BuyerStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    """No longer followed: no new engagement, convention or intervention."""


class EngagementPhase(StrEnum):
    """The phases of the programmes, in their order (see :data:`PROGRAMME_PHASES`)."""

    # PAMS (public buyers)
    MEASURE = "measure"
    """PAMS — qualitative diagnostic, analysis of the ESS suppliers used and of the ESS purchasing potential."""
    TRAIN = "train"
    """PAMS — purchasing training, awareness workshops."""
    ACT = "act"
    """PAMS — sourcing, purchasing engineering, tenders publicised to ESS companies, groupings, impact."""
    # OSER (private companies)
    DIAGNOSTIC = "diagnostic"
    """OSER — purchasing diagnostic and ESS potential, with recommendations."""
    AWARENESS = "awareness"
    """OSER — awareness of every stakeholder."""
    SOURCING_AND_MEETINGS = "sourcing_and_meetings"
    """OSER — qualified sourcing of ESS structures and meetings with the buyers."""
    LASTING_PARTNERSHIP = "lasting_partnership"
    """OSER — support to implement lasting partnerships."""
    IMPACT = "impact"
    """OSER — impact analysis."""


PROGRAMME_PHASES: dict[Programme, tuple[EngagementPhase, ...]] = {
    Programme.PAMS: (EngagementPhase.MEASURE, EngagementPhase.TRAIN, EngagementPhase.ACT),
    Programme.OSER: (EngagementPhase.DIAGNOSTIC, EngagementPhase.AWARENESS, EngagementPhase.SOURCING_AND_MEETINGS,
                     EngagementPhase.LASTING_PARTNERSHIP, EngagementPhase.IMPACT),
}
"""The phases of each engagement programme, in order (an engagement opens in the first)."""


class EngagementStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class InterventionKind(StrEnum):
    """What the team did with a buyer."""

    TRAINING = "training"
    """A purchasing training."""
    AWARENESS_WORKSHOP = "awareness_workshop"
    DIAGNOSTIC = "diagnostic"
    """A purchasing diagnostic (or a part of one)."""
    SOURCING = "sourcing"
    """A sourcing of ESS suppliers for the buyer."""
    MEETING = "meeting"
    """A working meeting with the buyer."""


# -- buyers ------------------------------------------------------------------------------------------
class _BuyerEvent(DomainEvent):
    buyer_id: str = Field(description="Id of the buyer (the Kafka key).", examples=["buy-81d2e0a1b2c3"])


class BuyerRegistered(_BuyerEvent, event_type="org.cress.procurement.buyer-registered.v1",
                      aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """A public or private buyer became known to the business-development team."""

    kind: BuyerKind = Field(description="Kind of buyer (code).", examples=["commune"])
    siret: str = Field(description="SIRET of the buyer: 14 digits, checksum verified.", examples=["21930048000015"])
    name: str = Field(description="Name of the buyer (a legal entity: not personal data).",
                      examples=["Ville de Montreuil"])
    departement: str = Field(description="French département code.", examples=["93"])
    commune: str | None = Field(description="INSEE code of the buyer's commune, when it has one.",
                                examples=["93048"])
    registered_at: AwareDatetime = Field(description="When the buyer was registered.",
                                         examples=["2024-01-15T09:00:00+01:00"])


class BuyerUpdated(_BuyerEvent, event_type="org.cress.procurement.buyer-updated.v1",
                   aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """Staff corrected a buyer's identity or territory. Carries the whole state after the change
    (a consumer replaces what it knew); ``changed`` names the fields that changed."""

    kind: BuyerKind = Field(description="Kind of buyer (code), after the change.", examples=["commune"])
    siret: str = Field(description="SIRET, after the change.", examples=["21930048000015"])
    name: str = Field(description="Name (a legal entity), after the change.", examples=["Ville de Montreuil"])
    departement: str = Field(description="Département code, after the change.", examples=["93"])
    commune: str | None = Field(description="INSEE code of the commune, after the change.", examples=["93048"])
    changed: list[str] = Field(description="The fields that changed.", examples=[["name"]])
    updated_at: AwareDatetime = Field(description="When the change was made.", examples=["2024-02-01T10:00:00+01:00"])


class BuyerArchived(_BuyerEvent, event_type="org.cress.procurement.buyer-archived.v1",
                    aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """The buyer is no longer followed (it stays counted in the years it was met)."""

    archived_at: AwareDatetime = Field(description="When it was archived.", examples=["2025-01-10T09:00:00+01:00"])


# -- engagements ---------------------------------------------------------------------------------------
class _EngagementEvent(_BuyerEvent):
    engagement_id: str = Field(description="Id of the engagement.", examples=["eng-4c1d9e2f3a4b"])
    programme: Programme = Field(description="The engagement's programme (code): pams or oser.", examples=["pams"])


class EngagementOpened(_EngagementEvent, event_type="org.cress.procurement.engagement-opened.v1",
                       aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """A PAMS (public buyer) or OSER (private company) engagement began, in its programme's first phase."""

    phase: EngagementPhase = Field(description="The phase it opened in (the programme's first).", examples=["measure"])
    buyer_kind: BuyerKind = Field(description="The buyer's kind when it opened.", examples=["commune"])
    opened_on: date = Field(description="The day it began.", examples=["2024-02-01"])
    opened_at: AwareDatetime = Field(description="When it was recorded.", examples=["2024-02-01T10:00:00+01:00"])


class EngagementPhaseAdvanced(_EngagementEvent, event_type="org.cress.procurement.engagement-phase-advanced.v1",
                              aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """The engagement entered its next phase (phases are passed in order, none skipped)."""

    from_phase: EngagementPhase = Field(description="The phase it left.", examples=["measure"])
    phase: EngagementPhase = Field(description="The phase it entered.", examples=["train"])
    on: date = Field(description="The day it entered the phase.", examples=["2024-05-15"])
    advanced_at: AwareDatetime = Field(description="When it was recorded.", examples=["2024-05-15T10:00:00+02:00"])


class EngagementCompleted(_EngagementEvent, event_type="org.cress.procurement.engagement-completed.v1",
                          aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """The engagement went through its last phase and ended."""

    phase: EngagementPhase = Field(description="The phase it ended in (the programme's last).", examples=["act"])
    on: date = Field(description="The day it ended.", examples=["2025-06-30"])
    completed_at: AwareDatetime = Field(description="When it was recorded.", examples=["2025-06-30T10:00:00+02:00"])


class EngagementAbandoned(_EngagementEvent, event_type="org.cress.procurement.engagement-abandoned.v1",
                          aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """The engagement stopped before its end (the reason, free text, stays in the service)."""

    phase: EngagementPhase = Field(description="The phase it stopped in.", examples=["train"])
    on: date = Field(description="The day it stopped.", examples=["2024-09-30"])
    abandoned_at: AwareDatetime = Field(description="When it was recorded.", examples=["2024-09-30T10:00:00+02:00"])


# -- conventions -----------------------------------------------------------------------------------------
class BuyerConventionSigned(_BuyerEvent, event_type="org.cress.procurement.buyer-convention-signed.v1",
                            aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """A convention was signed with a local authority. In force from ``starts_on`` to ``ends_on``
    (both included) unless terminated earlier. Its subject (free text) stays in the service."""

    convention_id: str = Field(description="Id of the convention.", examples=["bcv-7e2a1c9d0b3f"])
    buyer_kind: BuyerKind = Field(description="The local authority's kind when signed.", examples=["commune"])
    signed_on: date = Field(description="The day it was signed.", examples=["2024-03-01"])
    starts_on: date = Field(description="First day in force.", examples=["2024-04-01"])
    ends_on: date = Field(description="Last day in force (after starts_on).", examples=["2026-03-31"])
    signed_at: AwareDatetime = Field(description="When it was recorded.", examples=["2024-03-01T15:00:00+01:00"])


class BuyerConventionTerminated(_BuyerEvent, event_type="org.cress.procurement.buyer-convention-terminated.v1",
                                aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """A convention was terminated before its end: not in force from ``terminated_on`` on."""

    convention_id: str = Field(description="Id of the convention.", examples=["bcv-7e2a1c9d0b3f"])
    terminated_on: date = Field(description="The first day it is no longer in force.", examples=["2025-01-01"])
    terminated_at: AwareDatetime = Field(description="When it was recorded.", examples=["2024-12-10T11:00:00+01:00"])


# -- interventions ----------------------------------------------------------------------------------------
class _InterventionFacts(_BuyerEvent):
    intervention_id: str = Field(description="Id of the intervention.", examples=["int-2b9f0c1d2e3a"])
    kind: InterventionKind = Field(description="What was done (code).", examples=["awareness_workshop"])
    on: date = Field(description="The day it took place (never in the future).", examples=["2024-06-11"])
    team: Team = Field(description="The team (pôle) that intervened (code).", examples=["business_development"])
    buyer_kind: BuyerKind = Field(description="The buyer's kind when recorded (a later BuyerUpdated supersedes "
                                              "it: figures count the buyer's latest kind).", examples=["commune"])
    engagement_id: str | None = Field(description="The buyer's engagement it belongs to, if any.",
                                      examples=["eng-4c1d9e2f3a4b"])
    participants: int | None = Field(description="How many people took part, when counted.", examples=[18])


class InterventionLogged(_InterventionFacts, event_type="org.cress.procurement.intervention-logged.v1",
                         aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """The team logged an intervention with a buyer (its notes stay in the service)."""

    logged_at: AwareDatetime = Field(description="When it was logged.", examples=["2024-06-12T09:00:00+02:00"])


class InterventionCorrected(_InterventionFacts, event_type="org.cress.procurement.intervention-corrected.v1",
                            aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """A mistaken intervention was corrected: the facts here replace the previous ones;
    ``changed`` names the fields that changed (``notes`` when only the notes did)."""

    changed: list[str] = Field(description="The fields that changed.", examples=[["on", "participants"]])
    corrected_at: AwareDatetime = Field(description="When it was corrected.", examples=["2024-06-13T09:00:00+02:00"])


class InterventionWithdrawn(_BuyerEvent, event_type="org.cress.procurement.intervention-withdrawn.v1",
                            aggregate_type="buyer", aggregate_id_field="buyer_id"):
    """An intervention logged by mistake was withdrawn: it no longer counts."""

    intervention_id: str = Field(description="Id of the intervention.", examples=["int-2b9f0c1d2e3a"])
    withdrawn_at: AwareDatetime = Field(description="When it was withdrawn.", examples=["2024-06-13T09:00:00+02:00"])
