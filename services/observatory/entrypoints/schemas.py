"""Request and response bodies of the observatory API."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from contracts.events.registrations import Team
from contracts.observatory import FACT_VALUE_BOUND, ObjectiveStatus
from runtime.api import Body

_VALUE = dict(ge=-FACT_VALUE_BOUND, le=FACT_VALUE_BOUND, allow_inf_nan=False)


class FactIn(Body):
    """A figure of activity outside the platform. Give ``year``, or ``observed_on`` (a day's figure)."""

    team: Team = Field(description="The team (pôle) it belongs to (code).")
    indicator: str = Field(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9_]+$",
                           description="Short code of what is counted.")
    value: float | int = Field(description="The figure (within ±10¹²).", **_VALUE)
    unit: str = Field(min_length=1, max_length=40, description="Unit of the figure.")
    year: int | None = Field(None, ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The year it refers to.")
    observed_on: date | None = Field(None, description="The day it refers to, for a one-day figure.")
    source: str = Field(min_length=1, max_length=500, description="Where it comes from (no personal data).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"team": "education", "indicator": "school_sessions", "value": 42, "unit": "séances", "year": 2023,
         "source": "Bilan du programme école 2023"}]})


class FactCorrectionIn(Body):
    reason: str = Field(min_length=1, max_length=2000, description="Why the figure changes (kept in the history).")
    value: float | int | None = Field(None, description="The corrected figure.", **_VALUE)
    unit: str | None = Field(None, min_length=1, max_length=40)
    source: str | None = Field(None, min_length=1, max_length=500)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"value": 45, "reason": "Trois séances de décembre oubliées dans le premier bilan."}]})


class FactWithdrawalIn(Body):
    reason: str = Field(min_length=1, max_length=2000, description="Why the figure is withdrawn.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Compté deux fois : déjà dans les événements de la plateforme."}]})


class ObjectiveIn(Body):
    code: str | None = Field(None, max_length=20, description="The plan's numbering, if any.")
    title: str = Field(min_length=1, max_length=300)
    team: Team = Field(description="The team (pôle) that carries it (code).")
    target_year: int = Field(ge=EARLIEST_YEAR, le=LATEST_YEAR)
    status: ObjectiveStatus = Field(ObjectiveStatus.EN_COURS, description="Its first status (code).")
    adopted_on: date | None = Field(None, description="Date of adoption (default today; not in the future).")
    comment: str | None = Field(None, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"code": "0.1", "title": "Augmenter le nombre d'adhérent-e-s de la CRESS", "team": "membership",
         "target_year": 2024, "status": "en_cours", "adopted_on": "2021-04-15"}]})


class StatusIn(Body):
    status: ObjectiveStatus = Field(description="atteint, en_phase_d_etre_atteint, partiellement_atteint, "
                                                "en_cours or arrete.")
    on: date | None = Field(None, description="Date it holds from (default today; not in the future, not before "
                                              "the previous change).")
    comment: str | None = Field(None, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "atteint", "on": "2024-04-10",
         "comment": "La CRESS attire de nouveaux adhérents et leur offre des outils utiles."}]})


class SourceView(BaseModel):
    kind: str = Field(description="`events` (computed from the platform's events) or `recorded` (a recorded fact).")
    event_types: list[str] = Field(description="The event types read.")
    events: int = Field(description="How many of those events the figure counted.")
    fact_id: str | None = Field(None, description="The recorded fact (kind `recorded`).")
    detail: str | None = None
    recorded_on: date | None = None


class FigureView(BaseModel):
    indicator: str
    label: str
    value: int | float | None
    unit: str
    recorded: bool = Field(description="True for a figure recorded by staff (not computed from events).")
    source: SourceView


class TeamReport(BaseModel):
    team: Team
    label: str = Field(description="The team's name in the report (French).")
    figures: list[FigureView]


class ObjectiveLine(BaseModel):
    objective_id: str
    code: str | None
    title: str
    team: Team
    target_year: int
    status: ObjectiveStatus | None = Field(description="The status in force on the date asked.")
    status_label: str | None
    status_since: date | None


class ReportView(BaseModel):
    year: int
    as_of: date = Field(description="The figures are what the events and records said on this date.")
    teams: list[TeamReport]
    objectives: list[ObjectiveLine]
