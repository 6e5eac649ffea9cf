"""Response bodies of the territorial diagnostic and the organisations' timelines."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from services.observatory.domain.territory import Level
from services.observatory.entrypoints.schemas import FigureView


class HeldEventView(BaseModel):
    event_id: str
    title: str | None
    kind: str = Field(description="Kind of event (code).")
    team: str = Field(description="The team (pôle) that ran it (code).")
    on: date = Field(description="The day it was held (started).")
    venue_commune: str | None = Field(description="INSEE code of the venue's commune.")


class DiagnosticView(BaseModel):
    level: Level
    code: str = Field(description="INSEE code of the commune, SIREN of the EPCI / code of the EPT, or the "
                                  "département's code.")
    name: str
    level_label: str = Field(description="The level, in French.")
    departements: list[str] = Field(description="The départements the territory lies in.")
    year: int
    as_of: date = Field(description="The figures are what the events said on this date.")
    figures: list[FigureView] = Field(description="Each figure with its source (the events it counted).")
    events_held: list[HeldEventView] = Field(description="The events held there in the year.")


class TimelineLineView(BaseModel):
    on: date = Field(description="The business date.")
    at: datetime = Field(description="When the event was recorded (its CloudEvent time).")
    what: str = Field(description="What happened, in French.")
    service: str = Field(description="The service the event comes from (membership, events, procurement).")
    event_type: str = Field(description="The event's type (provenance).")
    event_id: str = Field(description="The CloudEvent id (provenance).")
    links: dict[str, str] = Field(description="Ids it links to (event_id, registration_id, need_id, supplier_id…).")


class TimelineView(BaseModel):
    organisation_id: str
    name: str | None = Field(description="The organisation's name, as membership publishes it.")
    as_of: date = Field(description="Nothing after this date.")
    since: date | None = Field(None, alias="from", description="First day shown, if asked.")
    until: date | None = Field(None, alias="to", description="Last day shown, if asked.")
    lines: list[TimelineLineView]

    model_config = {"populate_by_name": True}
