"""Request and response bodies of the business-conventions API, with examples.

Bodies bound what they can (lengths, ranges); the domain (:mod:`services.events.domain.conventions`)
checks the business rules and answers 422 naming the field, or 409 naming the current state.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.conventions import MeetingOutcome, ParticipantRole, ScheduleMode
from runtime.api import Body, partial
from services.events.domain.conventions import (MAX_AMOUNT_CENTS, ConventionFigures, ConventionMeeting,
                                                ConventionParticipant, ConventionSettings, LockedPair, Outcome,
                                                PlanQuality, ScheduleRun)
from services.events.domain.conventions.settings import MAX_EXPIRY_HOURS, MAX_SLOT_MINUTES, MAX_SLOTS, MAX_TABLES
from services.events.service_layer.conventions import MAX_TIME_LIMIT, MIN_TIME_LIMIT, RunState

_ID = dict(min_length=1, max_length=100)
_TAGS = dict(max_length=30, description="Codes or short tags (at most 80 characters each): business "
                                        "information, never contact details.")


# -- settings ----------------------------------------------------------------------------------------
class SlotIn(Body):
    id: str = Field(**_ID, description="Stable id: meetings refer to it.", examples=["s1"])
    start_at: AwareDatetime = Field(examples=["2027-03-16T14:00:00+01:00"])
    duration_minutes: int = Field(ge=1, le=MAX_SLOT_MINUTES, examples=[20])
    tables: int | None = Field(None, ge=1, le=MAX_TABLES, description="This slot's tables, if not the default.")


class GenerateIn(Body):
    """``count`` slots of ``slot_minutes`` from ``start_at``, ``gap_minutes`` apart; a slot that would
    overlap a break starts when the break ends. Ids are s1, s2… in time order."""

    start_at: AwareDatetime = Field(examples=["2027-03-16T14:00:00+01:00"])
    slot_minutes: int = Field(ge=1, le=MAX_SLOT_MINUTES, examples=[20])
    count: int = Field(ge=1, le=MAX_SLOTS, examples=[10])
    gap_minutes: int = Field(0, ge=0, le=MAX_SLOT_MINUTES, examples=[5])


class BreakIn(Body):
    start_at: AwareDatetime = Field(examples=["2027-03-16T15:40:00+01:00"])
    end_at: AwareDatetime = Field(examples=["2027-03-16T16:00:00+01:00"])


_SETTINGS_EXAMPLE = {
    "generate": {"start_at": "2027-03-16T14:00:00+01:00", "slot_minutes": 20, "count": 10, "gap_minutes": 5},
    "breaks": [{"start_at": "2027-03-16T15:40:00+01:00", "end_at": "2027-03-16T16:00:00+01:00"}],
    "tables": 30, "table_overrides": {"s1": 25}, "request_expiry_hours": 72, "schedule_pending": False,
    "max_meetings_default": 8, "allow_same_role": False}


class SettingsIn(Body):
    """The organiser's settings: slots (given, or generated around the breaks), tables (with
    per-slot overrides), request expiry, whether pending requests are scheduled, the default
    maximum of meetings per person. Every slot lies within the event."""

    slots: list[SlotIn] | None = Field(None, max_length=MAX_SLOTS, description="The slots one by one (or generate).")
    generate: GenerateIn | None = Field(None, description="How to generate the slots (or slots).")
    breaks: list[BreakIn] = Field(default_factory=list, max_length=50, description="Times without meetings.")
    tables: int = Field(ge=1, le=MAX_TABLES, description="Tables per slot.", examples=[30])
    table_overrides: dict[str, int] | None = Field(None, max_length=MAX_SLOTS,
                                                   description="Slot id → its number of tables.",
                                                   examples=[{"s1": 25}])
    request_expiry_hours: int | None = Field(72, ge=1, le=MAX_EXPIRY_HOURS, description="A request unanswered "
                                             "this long expires; null: never.", examples=[72])
    schedule_pending: bool = Field(False, description="Schedule pending requests too (not only accepted ones).")
    max_meetings_default: int | None = Field(None, ge=1, le=MAX_SLOTS, description="Meetings per person at most, "
                                             "unless the person says otherwise; null: as many as slots.",
                                             examples=[8])
    allow_same_role: bool = Field(False, description="Allow meetings between two buyers or two ESS suppliers.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_SETTINGS_EXAMPLE]})


class ConventionView(BaseModel):
    """A convention: its settings, locked meetings, current plan (quality, counts), runs and
    published agenda version. Meetings are listed by ``GET /conventions/{id}/meetings``."""

    id: str = Field(description="The convention id (= the event id).")
    version: int = Field(description="Version of the convention (its ETag).")
    title: str
    time_zone: str
    place: str | None
    settings: ConventionSettings
    settings_revision: int
    configured_at: datetime
    locked: list[LockedPair]
    plan_run_id: str | None = Field(description="The run whose plan is current.")
    quality: PlanQuality | None = Field(description="The current plan's quality: meetings, weighted, bound, gap, "
                                                    "status, seconds…")
    meetings: int = Field(description="Meetings in the current plan.")
    unscheduled: int = Field(description="Requests the current plan leaves without a meeting.")
    unscheduled_by_reason: dict[str, int]
    run_in_progress: ScheduleRun | None
    runs: int
    agenda_version: int = Field(description="The published agenda version (0: never published).")
    published_at: datetime | None


# -- participants ----------------------------------------------------------------------------------------
_PARTICIPANT_EXAMPLE = {
    "registration_id": "reg-0a1b2c3d4e5f", "role": "ess_supplier", "organisation_name": "Coop Réemploi 93",
    "sectors": ["économie circulaire"], "offers": ["réemploi de mobilier"], "needs": [],
    "available_slots": None, "max_meetings": 6}


class ParticipantIn(Body):
    """A confirmed registration of the convention's event joins its meetings; the participant id
    is the registration id."""

    registration_id: str = Field(**_ID, description="The registration (confirmed, for this event).",
                                 examples=["reg-0a1b2c3d4e5f"])
    role: ParticipantRole = Field(description="ess_supplier, public_buyer or private_buyer.",
                                  examples=["ess_supplier"])
    organisation_id: str | None = Field(None, max_length=100, description="Default: the registration's.",
                                        examples=["org-5f1c2a9b3d7e"])
    organisation_name: str | None = Field(None, max_length=200, description="Shown in agendas (not in events).",
                                          examples=["Coop Réemploi 93"])
    sectors: list[str] = Field(default_factory=list, **_TAGS, examples=[["économie circulaire"]])
    offers: list[str] = Field(default_factory=list, **_TAGS, examples=[["réemploi de mobilier"]])
    needs: list[str] = Field(default_factory=list, **_TAGS, examples=[["traiteur"]])
    available_slots: list[str] | None = Field(None, max_length=MAX_SLOTS, description="Slot ids; null: every slot.",
                                              examples=[["s1", "s2", "s3"]])
    arrives_at: AwareDatetime | None = Field(None, description="Arrives later than the start.")
    leaves_at: AwareDatetime | None = Field(None, description="Leaves before the end.")
    max_meetings: int | None = Field(None, ge=0, le=MAX_SLOTS, description="Own maximum; null: the default.",
                                     examples=[6])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_PARTICIPANT_EXAMPLE]})


ParticipantPatch = partial(ParticipantIn, name="ParticipantPatch",
                           exclude=("registration_id", "role", "organisation_id"),
                           examples=[{"needs": ["traiteur", "nettoyage"], "max_meetings": 4}])


class ParticipantView(ConventionParticipant):
    """A participant, with the names agendas show (the person's from the registration)."""

    name: str | None = Field(None, description="The person's name (its registration).")
    organisation_name: str | None = None


class ArrivalView(BaseModel):
    participant: ParticipantView
    changed: bool = Field(description="False: recorded already (nothing changed).")


# -- meeting requests ------------------------------------------------------------------------------------
class RequestIn(Body):
    from_participant_id: str = Field(**_ID, description="The requester.", examples=["reg-0a1b2c3d4e5f"])
    to_participant_id: str = Field(**_ID, description="Whom the requester wants to meet.",
                                   examples=["reg-9f8e7d6c5b4a"])
    priority: int = Field(3, ge=1, le=5, description="1 (low) … 5.", examples=[4])
    message: str | None = Field(None, max_length=1000, description="Kept here, never in events.",
                                examples=["Nous cherchons un traiteur pour nos événements."])


# -- locked meetings ---------------------------------------------------------------------------------------
class LockIn(Body):
    a: str = Field(**_ID, examples=["reg-0a1b2c3d4e5f"])
    b: str = Field(**_ID, examples=["reg-9f8e7d6c5b4a"])
    slot_id: str = Field(**_ID, examples=["s3"])
    table: int | None = Field(None, ge=1, le=MAX_TABLES, description="null: any table of the slot.", examples=[1])


# -- scheduling runs -----------------------------------------------------------------------------------------
class RunIn(Body):
    mode: ScheduleMode = Field(ScheduleMode.INITIAL, description="initial (the whole plan, before the day) or "
                                                                 "replan (on the day, from the next slot).",
                               examples=["initial"])
    time_limit_seconds: float = Field(10.0, ge=MIN_TIME_LIMIT, le=MAX_TIME_LIMIT,
                                      description="Wall-clock budget of the scheduler.", examples=[10])
    check_in_closed: bool = Field(False, description="replan: everyone who has not arrived is absent.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"mode": "initial", "time_limit_seconds": 10}, {"mode": "replan", "time_limit_seconds": 5}]})


class RunQuality(BaseModel):
    meetings: int
    weighted: int
    bound: int = Field(description="Proven upper bound of ``weighted``.")
    gap: float = Field(description="(bound − weighted) / bound; 0 when optimal.")
    status: str = Field(description="optimal, feasible or heuristic.")
    seconds: float
    without_meeting: int
    idle_gaps: int


class ReplanFiguresView(BaseModel):
    """What a re-plan did with the previous meetings (each counted once) and what it added."""

    absent: int = Field(description="Participants absent (no-shows, not checked in).")
    released: int = Field(description="Meetings from the re-planned slot on dropped: a side absent.")
    present_meetings: int = Field(description="Meetings from that slot on between present participants.")
    kept: int = Field(description="Of those, unchanged (same slot and table).")
    moved: int
    filled: int = Field(description="New meetings placed in freed places (a meeting locked since included).")
    declined: int = Field(0, description="Meetings dropped because a side declined since.")
    history: int = Field(0, description="Meetings before the re-planned slot, left as they were.")
    displaced: int = Field(0, description="Meetings dropped for a meeting the organiser locked since.")


class RunView(BaseModel):
    """A scheduling run, as it goes: poll it until ``status`` is done or failed."""

    run_id: str
    convention_id: str
    mode: ScheduleMode
    status: RunState = Field(description="queued, running, done or failed.")
    phase: str | None = Field(description="The scheduler's phase (validation, relaxation, placement, cp-sat, "
                                          "fairness, compactness, done).")
    fraction: float = Field(description="Share of the time budget used (1.0 when done).")
    time_limit_seconds: float
    check_in_closed: bool = False
    from_slot_id: str | None
    settings_revision: int
    participants: int
    requests: int
    absent: list[str] = Field(description="replan: participants absent (no-shows, left, registration cancelled).")
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    quality: RunQuality | None
    unscheduled: int | None
    replan: ReplanFiguresView | None
    error: str | None


# -- agendas ----------------------------------------------------------------------------------------------
class PublicationView(BaseModel):
    version: int
    run_id: str
    published_at: datetime
    meetings: int
    participants: int
    changed_participant_ids: list[str] = Field(description="Whose agenda differs from the previous version.")
    new: bool = Field(description="False: nothing changed since the last version (no new version).")


class AgendaItemView(BaseModel):
    meeting_id: str
    slot_id: str
    start_at: datetime = Field(description="In the event's time zone.")
    end_at: datetime
    table: int
    counterpart_id: str
    counterpart_name: str | None
    counterpart_organisation_id: str | None
    counterpart_organisation_name: str | None
    counterpart_role: ParticipantRole | None


class AgendaView(BaseModel):
    convention_id: str
    participant_id: str
    name: str | None
    organisation_name: str | None
    role: ParticipantRole
    version: int | None = Field(description="The published version shown; null for a preview of the current plan.")
    published_at: datetime | None
    time_zone: str
    items: list[AgendaItemView]


# -- meetings ----------------------------------------------------------------------------------------------
class MeetingView(ConventionMeeting):
    start_at: datetime = Field(description="The slot's start, in the event's time zone.")
    end_at: datetime


class MeetingScanIn(Body):
    participant_id: str | None = Field(None, max_length=100, description="Whose badge (or give its token).",
                                       examples=["reg-0a1b2c3d4e5f"])
    token: str | None = Field(None, max_length=300, description="What the event badge's QR code carries.",
                              examples=["reg-0a1b2c3d4e5f.Vx3m1Ya2QdQ7cGfJm2bK8A"])
    scanned_at: AwareDatetime | None = Field(None, description="When (an offline device); default now; not in "
                                                               "the future.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"participant_id": "reg-0a1b2c3d4e5f"}]})


class MeetingScanView(BaseModel):
    meeting: MeetingView
    held_now: bool = Field(description="True when this scan made the meeting held (both badges scanned).")


class TableScanIn(MeetingScanIn):
    meeting_id: str = Field(min_length=1, max_length=100, examples=["m-3f2a1b0c9d8e7f6a"])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"meeting_id": "m-3f2a1b0c9d8e7f6a", "participant_id": "reg-0a1b2c3d4e5f",
         "scanned_at": "2027-03-16T14:02:00+01:00"}]})


class TableScansIn(Body):
    scans: list[TableScanIn] = Field(min_length=1, max_length=2000, examples=[[
        {"meeting_id": "m-3f2a1b0c9d8e7f6a", "token": "reg-0a1b2c3d4e5f.Vx3m1Ya2QdQ7cGfJm2bK8A",
         "scanned_at": "2027-03-16T14:02:00+01:00"},
        {"meeting_id": "m-3f2a1b0c9d8e7f6a", "participant_id": "reg-9f8e7d6c5b4a"}]])


class TableScanResult(BaseModel):
    index: int
    meeting_id: str | None
    held_now: bool | None = Field(description="True when this scan made the meeting held (null: refused).")
    status: int = Field(description="200, or the problem's status (404 unknown meeting, 422 bad input…).")
    detail: str | None = None
    field: str | None = None


class TableScansView(BaseModel):
    results: list[TableScanResult]
    recorded: int = Field(description="Scans accepted (a badge scanned again is accepted and changes nothing).")
    held_now: int = Field(description="Meetings these scans made held.")
    refused: int


class MarkIn(Body):
    held: bool = Field(description="Whether the meeting took place.", examples=[False])


class SettlementView(BaseModel):
    settled: int = Field(description="Meetings found not held (unmarked, slot over).")


class OutcomeIn(Body):
    outcome: MeetingOutcome = Field(description="no_further_contact, quote_requested, negotiation_started or "
                                                "contract_signed.", examples=["contract_signed"])
    amount_cents: int | None = Field(None, ge=0, lt=MAX_AMOUNT_CENTS, description="Euro cents; required for "
                                                                                  "contract_signed.",
                                     examples=[1_250_000])
    need_id: str | None = Field(None, max_length=100, description="The buyer's need (procurement service).",
                                examples=["need-7c1d2e3f4a5b"])
    contract_id: str | None = Field(None, max_length=100, description="The contract (procurement service or the "
                                                                      "buyer's reference).",
                                    examples=["2027-MAPA-0042"])
    reported_by: str | None = Field(None, max_length=100, description="A participant of the meeting; null: the "
                                                                      "organiser.", examples=[None])


class OutcomeView(BaseModel):
    meeting: MeetingView
    outcome: Outcome


class FiguresView(ConventionFigures):
    participants: dict[str, int] = Field(description="active, left, arrived, no_shows.")
    requests: dict[str, int] = Field(description="Requests per status.")
    unscheduled: int


class UnscheduledView(BaseModel):
    from_participant_id: str
    to_participant_id: str
    reason: str


def convention_view(convention: Any, event: Any) -> dict[str, Any]:
    by_reason: dict[str, int] = {}
    for u in convention.unscheduled:
        by_reason[u.reason.value] = by_reason.get(u.reason.value, 0) + 1
    published = convention.published
    return {"id": convention.id, "version": convention.version, "title": event.title, "time_zone": event.time_zone,
            "place": event.place, "settings": convention.settings, "settings_revision": convention.settings_revision,
            "configured_at": convention.configured_at, "locked": convention.locked,
            "plan_run_id": convention.plan_run_id, "quality": convention.quality,
            "meetings": len(convention.meetings), "unscheduled": len(convention.unscheduled),
            "unscheduled_by_reason": by_reason, "run_in_progress": convention.run_in_progress,
            "runs": len(convention.runs), "agenda_version": convention.agenda_version,
            "published_at": published.published_at if published else None}
