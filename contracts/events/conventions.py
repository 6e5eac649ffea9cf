"""Events of business conventions ("OpenMap ESS", rencontres d'affaires), and their vocabulary.

A business convention is an event of the catalogue (kind ``business_convention``) with the same
id: ``convention_id`` = ``event_id``. Every event below travels on the ``events.convention``
topic, keyed by ``convention_id`` (so one convention's facts keep their order), although three
aggregates record them: the convention itself (settings, locked meetings, scheduling runs,
agendas, meetings held and their outcomes), its participants (one aggregate each: profile,
availability, arrival) and its meeting requests (one aggregate each).

Personal data never enter these events: participants are referred to by their participant id
(the registration id in the events service) and their organisation id; profiles carry codes or
short tags (sectors, offers, needs), never names, e-mails or phone numbers; the free-text
message of a meeting request stays in the service (``has_message`` says whether there is one).
Instants are timezone-aware and named ``*_at``; money is integer euro cents (``*_cents``);
enumerations travel as their lower-case code.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import DomainEvent

__all__ = [
    # vocabulary
    "ParticipantRole", "MeetingRequestStatus", "ScheduleMode", "ScheduleStatus", "UnscheduledReasonCode",
    "MeetingHeldHow", "MeetingOutcome", "ConventionSlotInfo",
    # events
    "ConventionConfigured", "ConventionParticipantJoined", "ConventionParticipantLeft",
    "ConventionParticipantProfileUpdated", "MeetingRequested", "MeetingRequestAccepted",
    "MeetingRequestDeclined", "MeetingRequestExpired", "MeetingRequestWithdrawn", "MeetingRequestForced",
    "MeetingLocked", "MeetingUnlocked", "ScheduleRunStarted", "ScheduleComputed", "ScheduleRunFailed",
    "AgendasPublished", "ParticipantArrived", "ParticipantNoShowRecorded", "MeetingBadgeScanned",
    "MeetingHeld", "MeetingNotHeld", "MeetingOutcomeRecorded",
]


# -- vocabulary ------------------------------------------------------------------------------

class ParticipantRole(StrEnum):
    """Which side of the speed-meetings a participant is on."""

    ESS_SUPPLIER = "ess_supplier"  # an ESS organisation offering goods or services
    PUBLIC_BUYER = "public_buyer"  # a local authority, a public body, a hospital…
    PRIVATE_BUYER = "private_buyer"  # a company's purchasing department

    @property
    def is_buyer(self) -> bool:
        return self is not ParticipantRole.ESS_SUPPLIER


class MeetingRequestStatus(StrEnum):
    """Where a meeting request is. ``pending`` waits for the requested side's answer; ``expired``
    (not answered in time) and ``withdrawn`` (cancelled by the requester) are final."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class ScheduleMode(StrEnum):
    """``initial``: build every agenda from the requests; ``replan``: on the day, release the
    absent participants' meetings and fill the freed places, the rest staying where it is."""

    INITIAL = "initial"
    REPLAN = "replan"


class ScheduleStatus(StrEnum):
    """What the scheduler could prove about a plan."""

    OPTIMAL = "optimal"  # the weighted meetings are proven maximal
    FEASIBLE = "feasible"  # a solver plan, not proven optimal: see bound and gap
    HEURISTIC = "heuristic"  # the greedy fallback


class UnscheduledReasonCode(StrEnum):
    """Why a meeting request got no meeting in a plan."""

    DECLINED = "declined"
    PENDING_NOT_INCLUDED = "pending_not_included"
    PARTICIPANT_ABSENT = "participant_absent"
    NO_COMMON_SLOT = "no_common_slot"
    MAX_MEETINGS_REACHED = "max_meetings_reached"
    NO_PLACE_LEFT = "no_place_left"
    NOT_FOUND_IN_TIME = "not_found_in_time"
    OTHER = "other"


class MeetingHeldHow(StrEnum):
    """How a meeting was found held or not held."""

    BADGES = "badges"  # both participants' badges scanned at the table (or not, when the day was closed)
    ORGANISER = "organiser"  # marked by the organiser


class MeetingOutcome(StrEnum):
    """What came of a meeting, as known at the time it is recorded (it may progress later)."""

    NO_FURTHER_CONTACT = "no_further_contact"
    QUOTE_REQUESTED = "quote_requested"
    NEGOTIATION_STARTED = "negotiation_started"
    CONTRACT_SIGNED = "contract_signed"


class ConventionSlotInfo(BaseModel):
    """One meeting slot of a convention's afternoon."""

    model_config = ConfigDict(frozen=True)

    slot_id: str = Field(description="Id of the slot, stable across re-configurations.", examples=["s1"])
    start_at: datetime = Field(description="Start of the slot.", examples=["2023-03-21T14:00:00+01:00"])
    duration_minutes: int = Field(ge=1, description="Length of the slot, in minutes.", examples=[20])
    tables: int = Field(ge=1, description="Tables in this slot (the default, unless overridden).", examples=[30])


# -- common field definitions ---------------------------------------------------------------

def _convention_id() -> Any:
    return Field(description="Id of the business convention: the id of its event in the catalogue.",
                 examples=["evt-2023-melun"])


def _participant_id(description: str = "Id of the participant (its registration id in the events service).") -> Any:
    return Field(description=description, examples=["reg-7f3a1c"])


def _request_id() -> Any:
    return Field(description="Id of the meeting request.", examples=["mr-41b7c2"])


def _meeting_id() -> Any:
    return Field(description="Id of the meeting: stable for a pair of participants within a convention "
                             "(a pair meets at most once), even when a re-plan moves it.",
                 examples=["m-3f9a0c2d5e7b1a46"])


def _run_id() -> Any:
    return Field(description="Id of the scheduling run.", examples=["run-0007"])


def _tags(what: str, example: str) -> Any:
    return Field(description=f"{what}: codes or short tags (no personal data).", examples=[[example]])


# -- the convention: settings ---------------------------------------------------------------

class ConventionConfigured(DomainEvent, event_type="org.cress.events.convention-configured.v1",
                           aggregate_type="convention", aggregate_id_field="convention_id"):
    """The organiser set or changed a convention's settings: slots, tables, breaks, request
    expiry, whether pending requests are scheduled, the default maximum of meetings. Carries
    the whole settings after the change."""

    convention_id: str = _convention_id()
    revision: int = Field(ge=1, description="1 for the first configuration, then +1 on each change.", examples=[1])
    slots: list[ConventionSlotInfo] = Field(
        description="The meeting slots, in time order.",
        examples=[[{"slot_id": "s1", "start_at": "2023-03-21T14:00:00+01:00", "duration_minutes": 20,
                    "tables": 30}]])
    tables: int = Field(ge=1, description="Default number of tables per slot.", examples=[30])
    breaks: list[tuple[datetime, datetime]] = Field(
        description="Breaks: time ranges (start, end) with no slot.",
        examples=[[["2023-03-21T15:40:00+01:00", "2023-03-21T16:00:00+01:00"]]])
    request_expiry_hours: int | None = Field(
        description="Hours after which an unanswered meeting request expires; null: never.", examples=[72])
    schedule_pending: bool = Field(description="Whether requests still pending are scheduled too.",
                                   examples=[False])
    max_meetings_default: int | None = Field(
        description="Maximum meetings per participant unless the participant says otherwise; null: no limit "
                    "but the number of slots.", examples=[8])
    allow_same_role: bool = Field(
        description="Whether participants of the same side (supplier–supplier, buyer–buyer) may request "
                    "meetings with each other.", examples=[False])
    configured_at: datetime = Field(description="When the settings were changed.",
                                    examples=["2023-02-01T10:00:00+01:00"])


# -- participants -----------------------------------------------------------------------------

class _ParticipantProfile(DomainEvent):
    """A participant's business profile (no personal data)."""

    convention_id: str = _convention_id()
    participant_id: str = _participant_id()
    sectors: list[str] = _tags("Sectors (filières)", "économie circulaire")
    offers: list[str] = _tags("What the participant offers", "réemploi de mobilier")
    needs: list[str] = _tags("What the participant needs", "traiteur")
    available_slot_ids: list[str] | None = Field(
        description="Slots the participant is available in; null: every slot (within arrives_at / leaves_at).",
        examples=[["s1", "s2", "s3"]])
    arrives_at: datetime | None = Field(description="When the participant arrives, if later than the start.",
                                        examples=["2023-03-21T14:30:00+01:00"])
    leaves_at: datetime | None = Field(description="When the participant leaves, if before the end.",
                                       examples=["2023-03-21T17:00:00+01:00"])
    max_meetings: int | None = Field(description="The participant's own maximum of meetings; null: the "
                                                 "convention's default.", examples=[6])


class ConventionParticipantJoined(_ParticipantProfile,
                                  event_type="org.cress.events.convention-participant-joined.v1",
                                  aggregate_type="convention", aggregate_id_field="convention_id"):
    """A registered person joined a convention's speed-meetings, with a role and a profile."""

    organisation_id: str | None = Field(description="Id of the participant's organisation, if known.",
                                        examples=["org-5f1c2a"])
    role: ParticipantRole = Field(description="Side of the meetings (code).", examples=["ess_supplier"])
    joined_at: datetime = Field(description="When the participant joined.", examples=["2023-02-10T09:30:00+01:00"])


class ConventionParticipantProfileUpdated(_ParticipantProfile,
                                         event_type="org.cress.events.convention-participant-profile-updated.v1",
                                         aggregate_type="convention", aggregate_id_field="convention_id"):
    """A participant's profile, availability or maximum changed. Carries the whole profile after
    the change."""

    changed_fields: list[str] = Field(description="Names of the fields that changed.",
                                      examples=[["needs", "available_slot_ids"]])
    updated_at: datetime = Field(description="When the profile changed.", examples=["2023-03-01T11:00:00+01:00"])


class ConventionParticipantLeft(DomainEvent, event_type="org.cress.events.convention-participant-left.v1",
                                aggregate_type="convention", aggregate_id_field="convention_id"):
    """A participant left the convention's speed-meetings: its requests and meetings are no longer
    scheduled (its meetings are released at the next scheduling run)."""

    convention_id: str = _convention_id()
    participant_id: str = _participant_id()
    left_at: datetime = Field(description="When the participant left.", examples=["2023-03-15T16:20:00+01:00"])


# -- meeting requests -------------------------------------------------------------------------

class _Request(DomainEvent):
    convention_id: str = _convention_id()
    request_id: str = _request_id()
    from_participant_id: str = _participant_id("The requester.")
    to_participant_id: str = _participant_id("The requested participant, who answers.")


class MeetingRequested(_Request, event_type="org.cress.events.meeting-requested.v1",
                       aggregate_type="convention", aggregate_id_field="convention_id"):
    """A participant asked to meet another one. The message, free text, stays in the service."""

    priority: int = Field(ge=1, le=5, description="How much the requester wants this meeting: 1 (low) … 5.",
                          examples=[4])
    has_message: bool = Field(description="Whether the request came with a message (kept in the service).",
                              examples=[True])
    expires_at: datetime | None = Field(description="When the request expires if not answered; null: never.",
                                        examples=["2023-03-10T09:30:00+01:00"])
    requested_at: datetime = Field(description="When the request was sent.", examples=["2023-03-07T09:30:00+01:00"])


class MeetingRequestAccepted(_Request, event_type="org.cress.events.meeting-request-accepted.v1",
                             aggregate_type="convention", aggregate_id_field="convention_id"):
    """The requested participant accepted: the meeting can be scheduled."""

    previous_status: MeetingRequestStatus = Field(description="Status before (pending, or declined: a change "
                                                              "of mind).", examples=["pending"])
    accepted_at: datetime = Field(description="When the answer was given.", examples=["2023-03-08T10:00:00+01:00"])


class MeetingRequestDeclined(_Request, event_type="org.cress.events.meeting-request-declined.v1",
                             aggregate_type="convention", aggregate_id_field="convention_id"):
    """The requested participant declined: the pair is not scheduled (unless the organiser forces it)."""

    previous_status: MeetingRequestStatus = Field(description="Status before (pending, or accepted: a change "
                                                              "of mind).", examples=["pending"])
    declined_at: datetime = Field(description="When the answer was given.", examples=["2023-03-08T10:00:00+01:00"])


class MeetingRequestExpired(_Request, event_type="org.cress.events.meeting-request-expired.v1",
                            aggregate_type="convention", aggregate_id_field="convention_id"):
    """A request stayed unanswered past its expiry: it no longer blocks anything."""

    expires_at: datetime = Field(description="The expiry that passed.", examples=["2023-03-10T09:30:00+01:00"])
    expired_at: datetime = Field(description="When the expiry was recorded (the service's sweep).",
                                 examples=["2023-03-10T09:35:00+01:00"])


class MeetingRequestWithdrawn(_Request, event_type="org.cress.events.meeting-request-withdrawn.v1",
                              aggregate_type="convention", aggregate_id_field="convention_id"):
    """The requester cancelled the request (it may send a new one later)."""

    previous_status: MeetingRequestStatus = Field(description="Status before (pending or accepted).",
                                                  examples=["accepted"])
    withdrawn_at: datetime = Field(description="When it was withdrawn.", examples=["2023-03-09T08:00:00+01:00"])


class MeetingRequestForced(_Request, event_type="org.cress.events.meeting-request-forced.v1",
                           aggregate_type="convention", aggregate_id_field="convention_id"):
    """The organiser forced the pair: it is scheduled as if accepted, whatever the answer (a
    decline included), with the top priority."""

    previous_status: MeetingRequestStatus = Field(description="Status of the request when forced.",
                                                  examples=["declined"])
    forced_at: datetime = Field(description="When the organiser forced it.", examples=["2023-03-12T15:00:00+01:00"])


# -- locked meetings ---------------------------------------------------------------------------

class _Pair(DomainEvent):
    convention_id: str = _convention_id()
    participant_ids: tuple[str, str] = Field(description="The two participants, in id order.",
                                             examples=[["reg-1a2b", "reg-7f3a1c"]])


class MeetingLocked(_Pair, event_type="org.cress.events.meeting-locked.v1",
                    aggregate_type="convention", aggregate_id_field="convention_id"):
    """The organiser fixed a meeting of a pair in a slot (and a table, when given): every
    scheduling run keeps it there. Like a forced request, it overrides a decline."""

    slot_id: str = Field(description="The slot it is fixed in.", examples=["s3"])
    table: int | None = Field(ge=1, description="The table it is fixed at; null: any table of the slot.",
                              examples=[12])
    locked_at: datetime = Field(description="When it was locked.", examples=["2023-03-14T10:00:00+01:00"])


class MeetingUnlocked(_Pair, event_type="org.cress.events.meeting-unlocked.v1",
                      aggregate_type="convention", aggregate_id_field="convention_id"):
    """The organiser removed a locked meeting (the next scheduling run may place the pair anywhere,
    or nowhere if nobody asked for it)."""

    slot_id: str = Field(description="The slot it was fixed in.", examples=["s3"])
    unlocked_at: datetime = Field(description="When it was unlocked.", examples=["2023-03-14T11:00:00+01:00"])


# -- scheduling runs and agendas ---------------------------------------------------------------

class ScheduleRunStarted(DomainEvent, event_type="org.cress.events.schedule-run-started.v1",
                         aggregate_type="convention", aggregate_id_field="convention_id"):
    """The organiser started computing the agendas (a run of the scheduler)."""

    convention_id: str = _convention_id()
    run_id: str = _run_id()
    mode: ScheduleMode = Field(description="initial or replan (code).", examples=["initial"])
    from_slot_id: str | None = Field(description="Re-plan: the first slot that may change (earlier ones are "
                                                 "history); null: every slot.", examples=["s5"])
    started_at: datetime = Field(description="When the run started.", examples=["2023-03-15T09:00:00+01:00"])


class ScheduleComputed(DomainEvent, event_type="org.cress.events.schedule-computed.v1",
                       aggregate_type="convention", aggregate_id_field="convention_id"):
    """A run ended with a plan, now the convention's current plan (not yet published)."""

    convention_id: str = _convention_id()
    run_id: str = _run_id()
    mode: ScheduleMode = Field(description="initial or replan (code).", examples=["initial"])
    meetings: int = Field(ge=0, description="Meetings in the new plan (the history kept included).",
                          examples=[120])
    weighted: int = Field(ge=0, description="The scheduler's objective: the scheduled pairs' weights (priorities, "
                                            "mutual bonus).", examples=[431])
    bound: int = Field(ge=0, description="Proven upper bound of the objective.", examples=[440])
    gap: float = Field(ge=0, le=1, description="(bound − weighted) / bound; 0 when optimal.", examples=[0.02])
    status: ScheduleStatus = Field(description="What the scheduler proved (code).", examples=["feasible"])
    seconds: float = Field(ge=0, description="Time the scheduler took.", examples=[1.8])
    without_meeting: int = Field(ge=0, description="Participants with a schedulable request but no meeting.",
                                 examples=[3])
    idle_gaps: int = Field(ge=0, description="Idle stretches between two meetings, summed over participants.",
                           examples=[14])
    unscheduled: int = Field(ge=0, description="Requests left without a meeting.", examples=[37])
    unscheduled_by_reason: dict[UnscheduledReasonCode, int] = Field(
        description="Requests left without a meeting, per reason (code).",
        examples=[{"declined": 12, "no_place_left": 25}])
    meetings_added: int = Field(ge=0, description="Meetings that were not in the previous plan.", examples=[8])
    meetings_removed: int = Field(ge=0, description="Meetings of the previous plan that are no longer in it.",
                                  examples=[6])
    meetings_moved: int = Field(ge=0, description="Meetings kept but moved to another slot or table.",
                                examples=[0])
    computed_at: datetime = Field(description="When the plan was recorded.", examples=["2023-03-15T09:00:03+01:00"])


class ScheduleRunFailed(DomainEvent, event_type="org.cress.events.schedule-run-failed.v1",
                        aggregate_type="convention", aggregate_id_field="convention_id"):
    """A run ended without a plan (bad input, an error, or abandoned); the current plan is unchanged."""

    convention_id: str = _convention_id()
    run_id: str = _run_id()
    mode: ScheduleMode = Field(description="initial or replan (code).", examples=["replan"])
    error: str = Field(min_length=1, description="What went wrong (technical, no personal data).",
                       examples=["locked.0: participant 'reg-7f3a1c' is unavailable in slot 's3'"])
    failed_at: datetime = Field(description="When the failure was recorded.", examples=["2023-03-15T09:00:05+01:00"])


class AgendasPublished(DomainEvent, event_type="org.cress.events.agendas-published.v1",
                       aggregate_type="convention", aggregate_id_field="convention_id"):
    """The current plan was published to the participants as agenda version ``version`` (frozen:
    later re-plans change nothing until the next publication)."""

    convention_id: str = _convention_id()
    version: int = Field(ge=1, description="1 for the first publication, then +1 each time.", examples=[2])
    run_id: str = _run_id()
    meetings: int = Field(ge=0, description="Meetings in the published agendas.", examples=[120])
    participants: int = Field(ge=0, description="Participants with at least one meeting.", examples=[118])
    participants_changed: int = Field(ge=0, description="Participants whose agenda differs from the previous "
                                                        "version (all of them for version 1).", examples=[9])
    published_at: datetime = Field(description="When the agendas were published.",
                                   examples=["2023-03-16T10:00:00+01:00"])


# -- on the day ---------------------------------------------------------------------------------

class ParticipantArrived(DomainEvent, event_type="org.cress.events.participant-arrived.v1",
                         aggregate_type="convention", aggregate_id_field="convention_id"):
    """A participant arrived at the convention (checked in for the meetings)."""

    convention_id: str = _convention_id()
    participant_id: str = _participant_id()
    after_no_show: bool = Field(description="True when the participant had been recorded as a no-show (a late "
                                            "arrival).", examples=[False])
    arrived_at: datetime = Field(description="When the participant arrived.", examples=["2023-03-21T13:52:00+01:00"])


class ParticipantNoShowRecorded(DomainEvent, event_type="org.cress.events.participant-no-show.v1",
                                aggregate_type="convention", aggregate_id_field="convention_id"):
    """A participant is recorded as not coming: its meetings are released at the next re-plan."""

    convention_id: str = _convention_id()
    participant_id: str = _participant_id()
    recorded_at: datetime = Field(description="When the no-show was recorded.", examples=["2023-03-21T14:10:00+01:00"])


class _MeetingFact(DomainEvent):
    convention_id: str = _convention_id()
    meeting_id: str = _meeting_id()
    participant_ids: tuple[str, str] = Field(description="The two participants, in id order.",
                                             examples=[["reg-1a2b", "reg-7f3a1c"]])
    slot_id: str = Field(description="The meeting's slot.", examples=["s3"])
    table: int = Field(ge=1, description="The meeting's table.", examples=[12])


class MeetingBadgeScanned(_MeetingFact, event_type="org.cress.events.meeting-badge-scanned.v1",
                          aggregate_type="convention", aggregate_id_field="convention_id"):
    """A participant's badge was scanned at a meeting's table (the meeting is held once both are)."""

    participant_id: str = _participant_id("The participant whose badge was scanned.")
    scanned_at: datetime = Field(description="When the badge was scanned.", examples=["2023-03-21T14:41:00+01:00"])


class MeetingHeld(_MeetingFact, event_type="org.cress.events.meeting-held.v1",
                  aggregate_type="convention", aggregate_id_field="convention_id"):
    """A meeting took place: both badges scanned at the table, or the organiser said so."""

    how: MeetingHeldHow = Field(description="badges or organiser (code).", examples=["badges"])
    held_at: datetime = Field(description="When it was found held (the second scan, or the organiser's mark).",
                              examples=["2023-03-21T14:42:00+01:00"])


class MeetingNotHeld(_MeetingFact, event_type="org.cress.events.meeting-not-held.v1",
                     aggregate_type="convention", aggregate_id_field="convention_id"):
    """A meeting did not take place: the organiser said so, or the day was closed without both
    badges scanned (``how`` = badges)."""

    how: MeetingHeldHow = Field(description="badges or organiser (code).", examples=["badges"])
    scans: int = Field(ge=0, le=2, description="Badges scanned at the table (0 or 1 when closed by badges).",
                       examples=[1])
    marked_at: datetime = Field(description="When it was found not held.", examples=["2023-03-21T18:00:00+01:00"])


class MeetingOutcomeRecorded(_MeetingFact, event_type="org.cress.events.meeting-outcome-recorded.v1",
                             aggregate_type="convention", aggregate_id_field="convention_id"):
    """What came of a meeting, as known now (recorded again as things progress): the link from a
    business meeting to a buyer's need and to a contract, with its amount."""

    outcome: MeetingOutcome = Field(description="The outcome (code).", examples=["contract_signed"])
    amount_cents: int | None = Field(ge=0, lt=10**13, description="Amount in euro cents (required for "
                                                                  "contract_signed: the contract's amount).",
                                     examples=[1_250_000])
    need_id: str | None = Field(description="The buyer's need in the procurement service, if any.",
                                examples=["need-2023-0042"])
    contract_id: str | None = Field(description="The contract, if any (procurement service or buyer's reference).",
                                    examples=["ct-2023-118"])
    reported_by: str | None = Field(description="The participant who reported it; null: the organiser.",
                                    examples=["reg-1a2b"])
    recorded_at: datetime = Field(description="When the outcome was recorded.", examples=["2023-09-21T10:00:00+02:00"])
