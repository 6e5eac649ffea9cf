"""Request and response bodies of the surveys API, with examples.

Bodies bound sizes and types; the rules (codes, choices, marks 0–20, required answers, closing
time) are the domain's and come back as 422 naming the field (``questions.2.choices``,
``answers.overall``) or 409 naming the state.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from contracts.events.registrations import QuestionType, SurveyAudience
from runtime.api import Body
from services.events.domain.surveys import MAX_FREE_TEXT, MAX_QUESTIONS, Choice, SurveyResults, SurveyStatus
from services.events.service_layer.surveys import InviteSelection

QUESTIONS_EXAMPLE = [
    {"question_id": "overall", "type": "mark", "text": "Votre note globale (sur 20)"},
    {"question_id": "come_again", "type": "would_come_again", "text": "Souhaitez-vous revenir l'an prochain ?"},
    {"question_id": "best_part", "type": "multiple_choice", "text": "Les temps forts", "required": False,
     "choices": [{"code": "talks", "label": "Les tables rondes"},
                 {"code": "speed_meetings", "label": "Les rendez-vous d'affaires"}]},
    {"question_id": "comment", "type": "free_text", "text": "Un commentaire ?", "required": False},
]
ANSWERS_EXAMPLE = {"overall": 16, "come_again": True, "best_part": ["speed_meetings"],
                   "comment": "Très bonne organisation, merci !"}


class ChoiceIn(Body):
    code: str = Field(max_length=40, description="Lower-case code (a letter, then letters, digits, _ or -).",
                      examples=["speed_meetings"])
    label: str | None = Field(None, max_length=200, description="Shown to respondents (default: the code).",
                              examples=["Les rendez-vous d'affaires"])


class QuestionIn(Body):
    question_id: str = Field(max_length=40, description="Lower-case code, unique in the survey: answers are keyed "
                                                        "by it.", examples=["overall"])
    type: QuestionType = Field(description="mark (whole number 0–20), would_come_again (true/false), "
                                           "single_choice, multiple_choice, free_text.", examples=["mark"])
    text: str = Field(max_length=500, examples=["Votre note globale (sur 20)"])
    required: bool = Field(True, examples=[True])
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=100,
                                    description="2 to 30 choices for a choice question; none otherwise.")


class SurveyIn(Body):
    """A draft survey of the event for one audience (one survey per event and audience)."""

    audience: SurveyAudience = Field(description="participants (respondents: registrations) or partners "
                                                 "(respondents: partner invitees).", examples=["participants"])
    title: str = Field(max_length=200, examples=["Votre avis sur la Convention d'affaires de Melun"])
    questions: list[QuestionIn] = Field(max_length=MAX_QUESTIONS + 50, description=f"1 to {MAX_QUESTIONS} questions.")
    closes_at: AwareDatetime | None = Field(None, description="When answers stop (with its UTC offset; within a "
                                                              "year). Default: when closed by hand.",
                                            examples=["2027-04-15T23:59:00+02:00"])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"audience": "participants", "title": "Votre avis sur la Convention d'affaires de Melun",
         "questions": QUESTIONS_EXAMPLE, "closes_at": "2027-04-15T23:59:00+02:00"}]})


class SurveyPatch(Body):
    """Only the fields given change (a draft only; send `If-Match` with the ETag you read)."""

    title: str | None = Field(None, max_length=200, examples=["Votre avis (partenaires)"])
    questions: list[QuestionIn] | None = Field(None, max_length=MAX_QUESTIONS + 50,
                                               description="Replaces every question.")
    closes_at: AwareDatetime | None = Field(None, examples=["2027-04-30T23:59:00+02:00"])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"title": "Votre avis sur la convention", "closes_at": "2027-04-30T23:59:00+02:00"}]})

    @field_validator("title", "questions", "closes_at", mode="before")
    @classmethod
    def _no_null(cls, value: Any, info) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null; leave it out to keep its value")
        return value


class PartnerIn(Body):
    name: str = Field(max_length=200, examples=["Dominique Petit"])
    email: str = Field(max_length=254, examples=["d.petit@region-idf.example.org"])
    organisation: str | None = Field(None, max_length=200, description="Shown to staff only.",
                                     examples=["Région Île-de-France"])


class InvitationsIn(Body):
    """Who to invite: for a participants survey, ``registrations`` (every confirmed registration, or
    only those checked in) or ``registration_ids``; for a partners survey, ``partners`` by name and
    e-mail. Respondents already invited are skipped."""

    registrations: InviteSelection | None = Field(None, description="confirmed or checked_in.",
                                                  examples=["checked_in"])
    registration_ids: list[str] | None = Field(None, max_length=5000, examples=[["reg-7b1e0c2d3e4f"]])
    partners: list[PartnerIn] | None = Field(None, max_length=5000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"registrations": "confirmed"},
        {"partners": [{"name": "Dominique Petit", "email": "d.petit@region-idf.example.org",
                       "organisation": "Région Île-de-France"}]}]})


class AnswersIn(Body):
    """The respondent's answers, keyed by question id (all of them: this replaces the previous
    answers). null, "" or [] leave an optional question unanswered."""

    answers: dict[str, Any] = Field(max_length=MAX_QUESTIONS * 4, description=(
        f"mark: a whole number 0–20; would_come_again: true/false; single_choice: a choice code; "
        f"multiple_choice: a list of choice codes; free_text: at most {MAX_FREE_TEXT} characters."),
        examples=[ANSWERS_EXAMPLE])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"answers": ANSWERS_EXAMPLE}]})


# -- views ------------------------------------------------------------------------------------------
class QuestionView(BaseModel):
    question_id: str
    type: QuestionType
    text: str
    required: bool
    choices: list[Choice]


class ReminderSummary(BaseModel):
    number: int
    sent_at: datetime
    count: int = Field(description="Respondents reminded.")


class SurveyView(BaseModel):
    """A survey, with counts instead of its lists of ids."""

    id: str
    version: int
    event_id: str
    audience: SurveyAudience
    title: str
    status: SurveyStatus
    questions: list[QuestionView]
    created_at: datetime
    opened_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    invited_count: int
    responses: int = Field(description="Respondents who answered.")
    reminders: list[ReminderSummary]


class InvitationView(BaseModel):
    """An invitation, as staff see it: the token opens the respondent's answers (send it to them)."""

    respondent_id: str = Field(description="A registration id (participants) or a partner invitee id (partners).")
    name: str | None
    email: str | None
    organisation: str | None = None
    token: str
    answer_path: str = Field(description="Where the respondent answers (GET and PUT, no login).",
                             examples=["/survey-answers/c3J2LTEyM2FiYx9yZWctN2IxZTBj.Vx3m1Ya2QdQ7cGfJm2bK8A"])
    invited_at: datetime
    answered_at: datetime | None
    reminders: int
    last_reminded_at: datetime | None


class InvitationsView(BaseModel):
    survey_id: str
    invited: list[InvitationView] = Field(description="Those invited by this call (already invited ones are "
                                                      "skipped).")
    invited_count: int = Field(description="Respondents invited in all.")


class ReminderView(BaseModel):
    survey_id: str
    reminder_number: int | None = Field(description="null when nobody was left to remind (nothing recorded).")
    sent_at: datetime | None
    count: int
    reminded: list[InvitationView] = Field(description="Only invited respondents who had not answered.")


class NonRespondentView(BaseModel):
    respondent_id: str
    name: str | None = Field(description="Staff only (null for readers).")
    email: str | None = Field(description="Staff only (null for readers).")
    organisation: str | None = None
    invited_at: datetime
    reminders: int
    last_reminded_at: datetime | None


class FreeTextView(BaseModel):
    respondent_id: str
    answers: dict[str, str] = Field(description="Free-text answers, by question id.")
    submitted_at: datetime
    updated_at: datetime | None


class EventSurveyResults(BaseModel):
    event_id: str
    participants: SurveyResults | None = Field(None, description="null when the event has no participants survey.")
    partners: SurveyResults | None = Field(None, description="null when the event has no partners survey.")


class SurveyForm(BaseModel):
    """What a respondent sees: the questions and their current answers."""

    survey_id: str
    event_id: str
    event_title: str
    audience: SurveyAudience
    title: str
    status: SurveyStatus
    accepts_answers: bool = Field(description="Whether answers may be given or changed now.")
    closes_at: datetime | None
    questions: list[QuestionView]
    answers: dict[str, bool | int | str | list[str]] = Field(description="The current answers ({} before the first).")
    submitted_at: datetime | None
    updated_at: datetime | None
    revision: int = Field(description="How many times the answers were changed.")
