"""Events of the observatory service ("Observatoire régional de l'ESS", ORESS), and their vocabulary.

The observatory computes the activity report from the other services' events (projections, never
API calls). What the platform cannot know is recorded here, through the observatory's own API:

- ``fact`` (key ``fact_id``): a figure recorded by staff for activity outside the platform
  (school sessions not run through the events service, interviews of a study…), with its team,
  the year (or date) it refers to, its unit and its source; corrected or withdrawn with history;
- ``objective`` (key ``objective_id``): an objective of the strategic plan (PDD) and the changes
  of its status (ATTEINT, EN PHASE D'ÊTRE ATTEINT, PARTIELLEMENT ATTEINT, EN COURS, ARRÊTÉ).

Conventions: dates are ``date`` named ``*_on``; enumerations travel as their lower-case code (the
French label is for display only). Free-text reasons and comments stay in the observatory's
database: events carry codes, figures and ids (no personal data).
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import Field

from contracts.base import EARLIEST_YEAR, LATEST_YEAR, DomainEvent
from contracts.events.registrations import Team
from contracts.observatory.directory import *  # noqa: F401,F403  (the directory of ESS structures)
from contracts.observatory.directory import __all__ as _DIRECTORY
from contracts.topics import Topic

SERVICE = "observatory"

TOPICS: tuple[Topic, ...] = (
    Topic("observatory.fact", SERVICE, "fact",
          description="Figures recorded by staff for activity outside the platform: recorded, corrected, "
                      "withdrawn."),
    Topic("observatory.objective", SERVICE, "objective",
          description="The strategic plan's objectives and the changes of their status."),
    Topic("observatory.structure", SERVICE, "structure",
          description="Directory: structures imported from CSV files, and their later updates."),
    Topic("observatory.directory-import", SERVICE, "directory_import",
          description="Directory: imports of CSV files of structures, with their counts."),
    Topic("observatory.directory-proposal", SERVICE, "directory_proposal",
          description="Directory: changes proposed on an organisation's behalf, accepted or rejected by staff."),
)

FACT_VALUE_BOUND = 1_000_000_000_000
"""A recorded figure lies within ±10¹² (a count, an amount in euros, a percentage…)."""


class ObjectiveStatus(StrEnum):
    """Where an objective of the strategic plan stands (the activity report's wording as labels)."""

    ATTEINT = "atteint"
    EN_PHASE_D_ETRE_ATTEINT = "en_phase_d_etre_atteint"
    PARTIELLEMENT_ATTEINT = "partiellement_atteint"
    EN_COURS = "en_cours"
    ARRETE = "arrete"

    @property
    def label(self) -> str:
        return OBJECTIVE_STATUS_LABELS[self]


OBJECTIVE_STATUS_LABELS: dict[ObjectiveStatus, str] = {
    ObjectiveStatus.ATTEINT: "ATTEINT",
    ObjectiveStatus.EN_PHASE_D_ETRE_ATTEINT: "EN PHASE D'ÊTRE ATTEINT",
    ObjectiveStatus.PARTIELLEMENT_ATTEINT: "PARTIELLEMENT ATTEINT",
    ObjectiveStatus.EN_COURS: "EN COURS",
    ObjectiveStatus.ARRETE: "ARRÊTÉ",
}


def _fact_id() -> Any:
    return Field(description="Id of the recorded fact.", examples=["fct-3b9e1c2d4f5a"])


def _objective_id() -> Any:
    return Field(description="Id of the objective.", examples=["obj-7c1d2e3f4a5b"])


def _value() -> Any:
    return Field(ge=-FACT_VALUE_BOUND, le=FACT_VALUE_BOUND, allow_inf_nan=False,
                 description="The figure (within ±10¹²).", examples=[42])


# -- fact -------------------------------------------------------------------------------------

class FactRecorded(DomainEvent, event_type="org.cress.observatory.fact-recorded.v1",
                   aggregate_type="fact", aggregate_id_field="fact_id"):
    """Staff recorded a figure of activity outside the platform, with its source."""

    fact_id: str = _fact_id()
    team: Team = Field(description="The team (pôle) the figure belongs to (code).", examples=["education"])
    indicator: str = Field(description="Short code of what is counted.", examples=["school_sessions"])
    year: int = Field(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The year the figure refers to.",
                      examples=[2023])
    observed_on: date | None = Field(description="The date the figure refers to, when it is one day's.",
                                     examples=[None])
    value: float = _value()
    unit: str = Field(description="Unit of the figure.", examples=["séances"])
    source: str = Field(description="Where the figure comes from (a document, a count; no personal data).",
                        examples=["Bilan du programme école 2023"])
    recorded_on: date = Field(description="Date it was recorded (server's date).", examples=["2024-01-15"])


class FactCorrected(DomainEvent, event_type="org.cress.observatory.fact-corrected.v1",
                    aggregate_type="fact", aggregate_id_field="fact_id"):
    """A recorded figure was corrected: the new value, unit and source replace the old ones from
    ``corrected_on``."""

    fact_id: str = _fact_id()
    previous_value: float = Field(allow_inf_nan=False, description="The value before the correction.",
                                  examples=[40])
    value: float = _value()
    unit: str = Field(description="Unit after the correction.", examples=["séances"])
    source: str = Field(description="Source after the correction.", examples=["Bilan du programme école 2023"])
    corrected_on: date = Field(description="Date of the correction (server's date).", examples=["2024-02-01"])


class FactWithdrawn(DomainEvent, event_type="org.cress.observatory.fact-withdrawn.v1",
                    aggregate_type="fact", aggregate_id_field="fact_id"):
    """A recorded figure was withdrawn: reports as of ``withdrawn_on`` or later leave it out."""

    fact_id: str = _fact_id()
    withdrawn_on: date = Field(description="Date of the withdrawal (server's date).", examples=["2024-03-01"])


# -- objective --------------------------------------------------------------------------------

class ObjectiveDefined(DomainEvent, event_type="org.cress.observatory.objective-defined.v1",
                       aggregate_type="objective", aggregate_id_field="objective_id"):
    """An objective of the strategic plan was adopted, with its first status."""

    objective_id: str = _objective_id()
    code: str | None = Field(description="The plan's numbering of the objective, if any.", examples=["0.1"])
    title: str = Field(description="The objective, as the plan words it.",
                       examples=["Augmenter le nombre d'adhérent-e-s de la CRESS"])
    team: Team = Field(description="The team (pôle) that carries it (code).", examples=["membership"])
    target_year: int = Field(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The year it should be reached by.",
                             examples=[2024])
    status: ObjectiveStatus = Field(description="Its status when adopted (code).", examples=["en_cours"])
    adopted_on: date = Field(description="Date of adoption.", examples=["2021-04-15"])


class ObjectiveStatusChanged(DomainEvent, event_type="org.cress.observatory.objective-status-changed.v1",
                             aggregate_type="objective", aggregate_id_field="objective_id"):
    """Staff set a new status of an objective (the comment stays in the observatory)."""

    objective_id: str = _objective_id()
    previous_status: ObjectiveStatus = Field(description="Status before (code).", examples=["en_cours"])
    status: ObjectiveStatus = Field(description="Status from ``changed_on`` (code).", examples=["atteint"])
    changed_on: date = Field(description="Date the status holds from.", examples=["2024-04-10"])


__all__ = [
    "SERVICE", "TOPICS", "FACT_VALUE_BOUND", "ObjectiveStatus", "OBJECTIVE_STATUS_LABELS",
    "FactRecorded", "FactCorrected", "FactWithdrawn", "ObjectiveDefined", "ObjectiveStatusChanged",
    *_DIRECTORY,
]
