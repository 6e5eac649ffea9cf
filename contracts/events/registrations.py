"""Events of the events catalogue, registrations (waiting list, offers, approval, check-in) and
satisfaction surveys — and the vocabulary they share.

Three aggregates, three topics (declared in :mod:`contracts.events`):

- ``event`` (key ``event_id``): an event of the catalogue — scheduled (draft) → published →
  registrations closed → held → archived, or cancelled with a reason. Every catalogue event
  carries the event's kind, owning team, start and end and its capacity per category: what
  the observatory needs to count the events held per kind and team.
- ``registration`` (key ``registration_id``): a person's registration for an event — confirmed,
  awaiting approval or waitlisted; approval or rejection; place offers to the waiting list and
  their outcome (accepted, declined, expired); cancellation; check-in and check-out at a
  check-in list (gate). Registrations are personal data: events carry the registration id,
  the event id, the category and the (optional) organisation id — never a name, e-mail or
  phone number.
- ``survey`` (key ``survey_id``): satisfaction surveys of an event (participants' or
  partners'): opened, respondents invited, answers submitted and updated, reminders, closed.
  Answers travel as marks, yes/no and choice codes; free-text answers never leave the events
  service (they may contain personal data).

Conventions: instants are timezone-aware ``datetime`` named ``*_at``; enumerations travel as
their lower-case code.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import DomainEvent

__all__ = [
    # vocabulary
    "EventKind", "Team", "EventStatus", "AccessPolicy", "EventFormat", "RegistrationCategory",
    "RegistrationStatus", "CancellationReason", "SurveyAudience", "QuestionType", "QuestionSummary",
    # event catalogue
    "EventScheduled", "EventUpdated", "EventPublished", "EventRegistrationsClosed", "EventHeld",
    "EventArchived", "EventCancelled",
    # registrations
    "RegistrationConfirmed", "RegistrationAwaitingApproval", "RegistrationApproved", "RegistrationRejected",
    "RegistrationWaitlisted", "PlaceOffered", "PlaceOfferAccepted", "PlaceOfferDeclined", "PlaceOfferExpired",
    "RegistrationCancelled", "ParticipantCheckedIn", "ParticipantCheckedOut",
    # surveys
    "SurveyOpened", "SurveyRespondentsInvited", "SurveyAnswerSubmitted", "SurveyAnswerUpdated",
    "SurveyReminderSent", "SurveyClosed",
]


# -- shared vocabulary -----------------------------------------------------------------------

class EventKind(StrEnum):
    """The kinds of events the chamber runs (activity report 2023)."""

    CLUB_DES_COLLECTIVITES = "club_des_collectivites"
    """A session of the Club des collectivités (local authorities' elected members and staff)."""
    MEMBERS_SEMINAR = "members_seminar"
    WEBINAR = "webinar"
    WEBINAR_CYCLE = "webinar_cycle"
    GENERAL_ASSEMBLY = "general_assembly"
    HACKATHON = "hackathon"
    TRAINING = "training"
    YOUTH_EVENT = "youth_event"
    """E.g. Jeun'ESS."""
    SCHOOL_SESSION = "school_session"
    """A session of the school programme ("Mon ESS à l'École")."""
    EXPLORE_COURSE = "explore_course"
    """An EXPLORE course (discovering ESS jobs, for young people)."""
    AWARDS_CEREMONY = "awards_ceremony"
    """E.g. the Prix de l'ESS."""
    BUSINESS_CONVENTION = "business_convention"
    ECOLOGICAL_TRANSITION_EVENT = "ecological_transition_event"

    @property
    def label(self) -> str:
        """The French label, for display."""
        return EVENT_KIND_LABELS[self]


EVENT_KIND_LABELS: dict[EventKind, str] = {
    EventKind.CLUB_DES_COLLECTIVITES: "Club des collectivités",
    EventKind.MEMBERS_SEMINAR: "Séminaire adhérent·e·s",
    EventKind.WEBINAR: "Webinaire",
    EventKind.WEBINAR_CYCLE: "Cycle de webinaires",
    EventKind.GENERAL_ASSEMBLY: "Assemblée générale",
    EventKind.HACKATHON: "Hackathon",
    EventKind.TRAINING: "Formation",
    EventKind.YOUTH_EVENT: "Événement jeunesse (Jeun'ESS)",
    EventKind.SCHOOL_SESSION: "Intervention scolaire (Mon ESS à l'École)",
    EventKind.EXPLORE_COURSE: "Parcours EXPLORE",
    EventKind.AWARDS_CEREMONY: "Remise de prix (Prix de l'ESS)",
    EventKind.BUSINESS_CONVENTION: "Convention d'affaires",
    EventKind.ECOLOGICAL_TRANSITION_EVENT: "Événement transition écologique",
}


class Team(StrEnum):
    """The chamber's teams ("pôles"): the owner of an event."""

    MEMBERSHIP = "membership"
    EDUCATION = "education"
    OBSERVATORY = "observatory"
    ECOLOGICAL_TRANSITION = "ecological_transition"
    TERRITORIES = "territories"
    AIO = "aio"
    """Accueil, information, orientation."""
    BUSINESS_DEVELOPMENT = "business_development"

    @property
    def label(self) -> str:
        return TEAM_LABELS[self]


TEAM_LABELS: dict[Team, str] = {
    Team.MEMBERSHIP: "Vie interne",
    Team.EDUCATION: "Éducation",
    Team.OBSERVATORY: "Observatoire régional de l'ESS",
    Team.ECOLOGICAL_TRANSITION: "Transition écologique",
    Team.TERRITORIES: "Territoires",
    Team.AIO: "Accueil, information, orientation",
    Team.BUSINESS_DEVELOPMENT: "Développement d'affaires",
}


class EventStatus(StrEnum):
    """Where an event is in its lifecycle."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    """Registrations closed (the event has not taken place yet, or is taking place)."""
    HELD = "held"
    ARCHIVED = "archived"
    CANCELLED = "cancelled"


class AccessPolicy(StrEnum):
    """Who may register."""

    OPEN = "open"
    MEMBERS_ONLY = "members_only"
    """Only people of a member organisation in good standing."""
    MEMBERS_PRIORITY = "members_priority"
    """Only members in good standing until ``members_priority_until``, then everyone."""


class EventFormat(StrEnum):
    """Where the event takes place: a venue, online, or both."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class RegistrationCategory(BaseModel):
    """A category of participants with its own quota of places (buyers, suppliers, partners…;
    a single ``general`` category by default)."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$", description="Code of the category, unique in the event.",
                      examples=["buyers"])
    label: str = Field(min_length=1, max_length=200, description="Label of the category, for display.",
                       examples=["Acheteurs publics et privés"])
    quota: int = Field(ge=1, le=100_000, description="Number of places of the category.", examples=[40])


class RegistrationStatus(StrEnum):
    """Where a registration is."""

    PENDING_APPROVAL = "pending_approval"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    """A place is offered to a waitlisted person until the offer expires."""
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    OFFER_EXPIRED = "offer_expired"


class CancellationReason(StrEnum):
    """Why a registration was cancelled (the free-text detail stays in the events service)."""

    PARTICIPANT_REQUEST = "participant_request"
    ORGANISER = "organiser"
    EVENT_CANCELLED = "event_cancelled"
    OFFER_DECLINED = "offer_declined"
    DUPLICATE = "duplicate"
    OTHER = "other"


class SurveyAudience(StrEnum):
    """Who a satisfaction survey asks."""

    PARTICIPANTS = "participants"
    PARTNERS = "partners"


class QuestionType(StrEnum):
    MARK = "mark"
    """A mark out of 20 (whole number, 0–20)."""
    WOULD_COME_AGAIN = "would_come_again"
    """Yes / no: would you come again?"""
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    FREE_TEXT = "free_text"
    """Never published in events (may contain personal data)."""


class QuestionSummary(BaseModel):
    """A survey question as events describe it (its wording stays in the service)."""

    model_config = ConfigDict(frozen=True)

    question_id: str = Field(description="Id of the question, unique in the survey.", examples=["overall"])
    type: QuestionType = Field(description="Type of the question (code).", examples=["mark"])
    required: bool = Field(description="Whether an answer is required.", examples=[True])
    choices: list[str] = Field(default_factory=list,
                               description="Codes of the choices (single and multiple choice questions).",
                               examples=[["morning", "afternoon"]])


# -- common field definitions ---------------------------------------------------------------

def _event_id() -> Any:
    return Field(description="Id of the event (of the catalogue).", examples=["evt-club-2023-05"])


def _registration_id() -> Any:
    return Field(description="Id of the registration.", examples=["reg-7b1e0c"])


def _survey_id() -> Any:
    return Field(description="Id of the survey.", examples=["srv-explore-2023-participants"])


def _at(description: str, example: str = "2023-05-09T14:00:00+02:00") -> Any:
    return Field(description=description, examples=[example])


# -- event catalogue ------------------------------------------------------------------------

class _EventFacts(DomainEvent):
    """What every catalogue event says about the event (for the observatory's counts)."""

    event_id: str = _event_id()
    kind: EventKind = Field(description="Kind of event (code).", examples=["club_des_collectivites"])
    team: Team = Field(description="The team (pôle) that runs the event (code).", examples=["observatory"])
    title: str = Field(description="Title of the event.", examples=["Club des collectivités — ESS et coopérations "
                                                                    "territoriales"])
    starts_at: AwareDatetime = _at("When the event starts.", "2023-05-09T14:00:00+02:00")
    ends_at: AwareDatetime = _at("When the event ends.", "2023-05-09T17:00:00+02:00")
    time_zone: str = Field(description="IANA time zone of the event (for local times and calendars).",
                           examples=["Europe/Paris"])
    format: EventFormat | None = Field(description="In person, online or hybrid; null while the draft has neither "
                                                   "a place nor an online URL.", examples=["in_person"])
    venue_commune: str | None = Field(default=None, description="INSEE code of the commune of the venue (for the "
                                                               "observatory's territorial figures); null for an online "
                                                               "event, or when not given.", examples=["75111"])
    categories: list[RegistrationCategory] = Field(
        description="Categories of participants and their quotas.",
        examples=[[{"code": "general", "label": "Participants", "quota": 60}]])
    capacity: int = Field(ge=1, description="Total number of places (the sum of the quotas unless a lower total "
                                            "capacity is set).", examples=[60])


class EventScheduled(_EventFacts, event_type="org.cress.events.event-scheduled.v1",
                     aggregate_type="event", aggregate_id_field="event_id"):
    """An event was created in the catalogue, as a draft (not visible to the public yet)."""

    access: AccessPolicy = Field(description="Who may register (code).", examples=["open"])
    requires_approval: bool = Field(description="Whether each registration waits for an organiser's approval.",
                                    examples=[False])
    scheduled_at: AwareDatetime = _at("When the draft was created.", "2023-03-01T10:00:00+01:00")


class EventUpdated(_EventFacts, event_type="org.cress.events.event-updated.v1",
                   aggregate_type="event", aggregate_id_field="event_id"):
    """Details of a draft or published event changed; the other fields are its state after the change."""

    changed_fields: list[str] = Field(description="Names of the fields that changed.",
                                      examples=[["starts_at", "ends_at"]])
    revision: int = Field(ge=1, description="Number of changes made to the event since it was scheduled (the "
                                            "calendar SEQUENCE).", examples=[1])
    updated_at: AwareDatetime = _at("When the change was made.", "2023-03-15T09:30:00+01:00")


class EventPublished(_EventFacts, event_type="org.cress.events.event-published.v1",
                     aggregate_type="event", aggregate_id_field="event_id"):
    """The event is visible and open for registration (within its registration window)."""

    access: AccessPolicy = Field(description="Who may register (code).", examples=["members_priority"])
    members_priority_until: AwareDatetime | None = Field(
        default=None, description="Until when only members in good standing may register (members_priority only).",
        examples=["2023-04-15T00:00:00+02:00"])
    requires_approval: bool = Field(description="Whether each registration waits for an organiser's approval.",
                                    examples=[False])
    registration_opens_at: AwareDatetime = _at("When registrations open.", "2023-04-01T09:00:00+02:00")
    registration_closes_at: AwareDatetime = _at("When registrations close.", "2023-05-09T14:00:00+02:00")
    published_at: AwareDatetime = _at("When the event was published.", "2023-04-01T09:00:00+02:00")


class EventRegistrationsClosed(_EventFacts, event_type="org.cress.events.event-registrations-closed.v1",
                               aggregate_type="event", aggregate_id_field="event_id"):
    """Registrations were closed by an organiser (the event still takes place)."""

    closed_at: AwareDatetime = _at("When registrations were closed.", "2023-05-08T18:00:00+02:00")


class EventHeld(_EventFacts, event_type="org.cress.events.event-held.v1",
                aggregate_type="event", aggregate_id_field="event_id"):
    """The event took place (counted in the activity report's events held per kind and team)."""

    held_at: AwareDatetime = _at("When it was recorded as held.", "2023-05-09T18:00:00+02:00")


class EventArchived(_EventFacts, event_type="org.cress.events.event-archived.v1",
                    aggregate_type="event", aggregate_id_field="event_id"):
    """A held event was archived (read-only from now on)."""

    archived_at: AwareDatetime = _at("When it was archived.", "2023-12-31T12:00:00+01:00")


class EventCancelled(_EventFacts, event_type="org.cress.events.event-cancelled.v1",
                     aggregate_type="event", aggregate_id_field="event_id"):
    """The event was cancelled (its registrations are to be cancelled with reason ``event_cancelled``)."""

    previous_status: EventStatus = Field(description="Status before the cancellation (code).",
                                         examples=["published"])
    reason: str = Field(min_length=1, max_length=2000, description="Why the event was cancelled.",
                        examples=["Salle indisponible (grève des transports)"])
    cancelled_at: AwareDatetime = _at("When it was cancelled.", "2023-05-02T11:00:00+02:00")


# -- registrations --------------------------------------------------------------------------

class _RegistrationFact(DomainEvent):
    """What every registration event says (ids only: no personal data)."""

    registration_id: str = _registration_id()
    event_id: str = _event_id()
    category: str = Field(description="Code of the registration's category.", examples=["general"])
    organisation_id: str | None = Field(default=None, description="The participant's organisation, when known to "
                                                                  "membership.", examples=["org-5f1c2a"])


class RegistrationConfirmed(_RegistrationFact, event_type="org.cress.events.registration-confirmed.v1",
                            aggregate_type="registration", aggregate_id_field="registration_id"):
    """A person registered and got a place straight away."""

    registered_at: AwareDatetime = _at("When the person registered.", "2023-04-02T10:15:00+02:00")


class RegistrationAwaitingApproval(_RegistrationFact,
                                   event_type="org.cress.events.registration-awaiting-approval.v1",
                                   aggregate_type="registration", aggregate_id_field="registration_id"):
    """A person registered for an event that needs approval: a place is held until the decision."""

    registered_at: AwareDatetime = _at("When the person registered.", "2023-04-02T10:15:00+02:00")


class RegistrationApproved(_RegistrationFact, event_type="org.cress.events.registration-approved.v1",
                           aggregate_type="registration", aggregate_id_field="registration_id"):
    """An organiser approved a registration: it is confirmed."""

    approved_at: AwareDatetime = _at("When it was approved.", "2023-04-03T09:00:00+02:00")


class RegistrationRejected(_RegistrationFact, event_type="org.cress.events.registration-rejected.v1",
                           aggregate_type="registration", aggregate_id_field="registration_id"):
    """An organiser rejected a registration: its place is freed (the reason stays in the service)."""

    rejected_at: AwareDatetime = _at("When it was rejected.", "2023-04-03T09:00:00+02:00")


class RegistrationWaitlisted(_RegistrationFact, event_type="org.cress.events.registration-waitlisted.v1",
                             aggregate_type="registration", aggregate_id_field="registration_id"):
    """A person registered while no place was free in their category: they joined the waiting list."""

    waitlist_seq: int = Field(ge=1, description="Sequence number on the event's waiting list (lower = earlier).",
                              examples=[7])
    registered_at: AwareDatetime = _at("When the person registered.", "2023-04-20T18:40:00+02:00")


class PlaceOffered(_RegistrationFact, event_type="org.cress.events.place-offered.v1",
                   aggregate_type="registration", aggregate_id_field="registration_id"):
    """A freed place was offered to this waitlisted registration until ``expires_at``: the log says
    who got which offer and when."""

    waitlist_seq: int = Field(ge=1, description="The registration's sequence number on the waiting list.",
                              examples=[7])
    offer_number: int = Field(ge=1, description="Number of offers this registration has received (1 = first).",
                              examples=[1])
    offered_at: AwareDatetime = _at("When the place was offered.", "2023-04-25T08:00:00+02:00")
    expires_at: AwareDatetime = _at("Until when the offer may be accepted.", "2023-04-27T08:00:00+02:00")


class PlaceOfferAccepted(_RegistrationFact, event_type="org.cress.events.place-offer-accepted.v1",
                         aggregate_type="registration", aggregate_id_field="registration_id"):
    """The person accepted the offered place."""

    status: RegistrationStatus = Field(description="Status after acceptance: confirmed, or pending_approval for an "
                                                   "event that needs approval.", examples=["confirmed"])
    offered_at: AwareDatetime = _at("When the place had been offered.", "2023-04-25T08:00:00+02:00")
    accepted_at: AwareDatetime = _at("When the offer was accepted.", "2023-04-25T12:30:00+02:00")


class PlaceOfferDeclined(_RegistrationFact, event_type="org.cress.events.place-offer-declined.v1",
                         aggregate_type="registration", aggregate_id_field="registration_id"):
    """The person declined the offered place: the registration is cancelled and the place freed."""

    offered_at: AwareDatetime = _at("When the place had been offered.", "2023-04-25T08:00:00+02:00")
    declined_at: AwareDatetime = _at("When the offer was declined.", "2023-04-25T12:30:00+02:00")


class PlaceOfferExpired(_RegistrationFact, event_type="org.cress.events.place-offer-expired.v1",
                        aggregate_type="registration", aggregate_id_field="registration_id"):
    """The offer ran out unanswered: the place is freed (and offered to the next in line)."""

    offered_at: AwareDatetime = _at("When the place had been offered.", "2023-04-25T08:00:00+02:00")
    expires_at: AwareDatetime = _at("When the offer ran out.", "2023-04-27T08:00:00+02:00")
    expired_at: AwareDatetime = _at("When the expiry was recorded (at or after expires_at).",
                                    "2023-04-27T08:05:00+02:00")


class RegistrationCancelled(_RegistrationFact, event_type="org.cress.events.registration-cancelled.v1",
                            aggregate_type="registration", aggregate_id_field="registration_id"):
    """The registration was cancelled (by the person, an organiser, or with the event)."""

    reason: CancellationReason = Field(description="Why (code); any free-text detail stays in the service.",
                                       examples=["participant_request"])
    previous_status: RegistrationStatus = Field(description="Status before the cancellation (code).",
                                                examples=["confirmed"])
    freed_place: bool = Field(description="Whether a held place was freed (confirmed, pending approval or offered "
                                          "before).", examples=[True])
    cancelled_at: AwareDatetime = _at("When it was cancelled.", "2023-05-01T20:00:00+02:00")


class ParticipantCheckedIn(_RegistrationFact, event_type="org.cress.events.participant-checked-in.v1",
                           aggregate_type="registration", aggregate_id_field="registration_id"):
    """The participant's badge or ticket was scanned in at a check-in list (a repeated scan records nothing)."""

    list_id: str = Field(description="Id of the check-in list (entrance, room…).", examples=["main-entrance"])
    gate: str = Field(description="The gate or device that scanned.", examples=["Porte A"])
    checked_in_at: AwareDatetime = _at("When the scan took place (device time for offline scans).",
                                       "2023-05-09T13:52:00+02:00")
    offline: bool = Field(description="Whether the scan was made offline and uploaded later.", examples=[False])
    first_entry: bool = Field(description="Whether this is the registration's first check-in on any list (count "
                                          "these to count participants).", examples=[True])


class ParticipantCheckedOut(_RegistrationFact, event_type="org.cress.events.participant-checked-out.v1",
                            aggregate_type="registration", aggregate_id_field="registration_id"):
    """The participant left a check-in list's area (exit scan, or automatically on entering another room)."""

    list_id: str = Field(description="Id of the check-in list left.", examples=["room-a"])
    gate: str = Field(description="The gate or device that scanned.", examples=["Salle A — sortie"])
    checked_out_at: AwareDatetime = _at("When the participant left.", "2023-05-09T15:10:00+02:00")
    offline: bool = Field(description="Whether the scan was made offline and uploaded later.", examples=[False])
    automatic: bool = Field(description="True when the check-out follows a check-in into another room.",
                            examples=[False])


# -- surveys -------------------------------------------------------------------------------

class SurveyOpened(DomainEvent, event_type="org.cress.events.survey-opened.v1",
                   aggregate_type="survey", aggregate_id_field="survey_id"):
    """A satisfaction survey opened for answers."""

    survey_id: str = _survey_id()
    event_id: str = _event_id()
    audience: SurveyAudience = Field(description="Who is asked (code).", examples=["participants"])
    questions: list[QuestionSummary] = Field(
        description="The questions (ids, types, choices).",
        examples=[[{"question_id": "overall", "type": "mark", "required": True, "choices": []}]])
    invited_count: int = Field(ge=0, description="Number of respondents invited so far.", examples=[120])
    opened_at: AwareDatetime = _at("When the survey opened.", "2023-11-10T09:00:00+01:00")
    closes_at: AwareDatetime | None = Field(default=None, description="When it closes, if planned.",
                                            examples=["2023-11-30T23:59:00+01:00"])


class SurveyRespondentsInvited(DomainEvent, event_type="org.cress.events.survey-respondents-invited.v1",
                               aggregate_type="survey", aggregate_id_field="survey_id"):
    """Respondents were invited to a survey (registration ids for participants, partner invitee ids for
    partners)."""

    survey_id: str = _survey_id()
    event_id: str = _event_id()
    respondent_ids: list[str] = Field(description="Ids newly invited.", examples=[["reg-7b1e0c", "reg-91aa02"]])
    invited_count: int = Field(ge=0, description="Number of respondents invited in all.", examples=[120])
    invited_at: AwareDatetime = _at("When they were invited.", "2023-11-10T09:00:00+01:00")


class _Answers(DomainEvent):
    """A respondent's answers without the free text."""

    survey_id: str = _survey_id()
    event_id: str = _event_id()
    audience: SurveyAudience = Field(description="Who is asked (code).", examples=["participants"])
    respondent_id: str = Field(description="Id of the respondent (a registration id for participants, a partner "
                                           "invitee id for partners).", examples=["reg-7b1e0c"])
    marks: dict[str, int] = Field(description="Marks out of 20, by question id.", examples=[{"overall": 16}])
    would_come_again: dict[str, bool] = Field(description="Yes/no answers, by question id.",
                                              examples=[{"come_again": True}])
    choices: dict[str, list[str]] = Field(description="Choice codes picked, by question id.",
                                          examples=[{"best_part": ["speed_meetings"]}])


class SurveyAnswerSubmitted(_Answers, event_type="org.cress.events.survey-answer-submitted.v1",
                            aggregate_type="survey", aggregate_id_field="survey_id"):
    """A respondent answered the survey (free-text answers are not published)."""

    submitted_at: AwareDatetime = _at("When the answers were submitted.", "2023-11-12T20:15:00+01:00")


class SurveyAnswerUpdated(_Answers, event_type="org.cress.events.survey-answer-updated.v1",
                          aggregate_type="survey", aggregate_id_field="survey_id"):
    """A respondent changed their answers while the survey was open; the answers are the new ones."""

    revision: int = Field(ge=1, description="Number of updates of this response (1 = first update).",
                          examples=[1])
    updated_at: AwareDatetime = _at("When the answers were changed.", "2023-11-13T08:00:00+01:00")


class SurveyReminderSent(DomainEvent, event_type="org.cress.events.survey-reminder-sent.v1",
                         aggregate_type="survey", aggregate_id_field="survey_id"):
    """A reminder went to the invited respondents who had not answered (and only to them)."""

    survey_id: str = _survey_id()
    event_id: str = _event_id()
    respondent_ids: list[str] = Field(description="Ids reminded.", examples=[["reg-91aa02"]])
    count: int = Field(ge=1, description="Number of respondents reminded.", examples=[1])
    reminder_number: int = Field(ge=1, description="Number of reminders of this survey so far.", examples=[1])
    sent_at: AwareDatetime = _at("When the reminder was sent.", "2023-11-20T09:00:00+01:00")


class SurveyClosed(DomainEvent, event_type="org.cress.events.survey-closed.v1",
                   aggregate_type="survey", aggregate_id_field="survey_id"):
    """The survey no longer takes or changes answers."""

    survey_id: str = _survey_id()
    event_id: str = _event_id()
    audience: SurveyAudience = Field(description="Who was asked (code).", examples=["partners"])
    invited_count: int = Field(ge=0, description="Number of respondents invited.", examples=[15])
    closed_at: AwareDatetime = _at("When the survey closed.", "2023-11-30T23:59:00+01:00")
