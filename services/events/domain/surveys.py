"""Satisfaction surveys: the :class:`Survey` and :class:`SurveyResponse` aggregates, and results.

::

    Survey.create ─▶ draft ──open──▶ open ──close──▶ closed
                       │ revise (questions, title, closes_at): draft only
                       └ invite(respondent ids): draft or open

- A survey belongs to one event and one audience (``participants``: respondents are
  registration ids; ``partners``: partner invitee ids). The service layer issues each
  respondent a token; the domain keeps only the invited ids.
- Questions: a mark out of 20 (whole number 0–20), would come again (yes/no), single
  choice, multiple choice, free text; each with an id (a code) and a required flag.
- One :class:`SurveyResponse` per (survey, respondent) (:func:`response_id` builds the id);
  answers are checked against the questions (``InvalidInput`` naming ``answers.<question_id>``)
  and can be changed while the survey is open — until it closes (``closes_at`` or
  :meth:`Survey.close`) → ``SurveyAnswerUpdated``.
- Reminders go only to invited respondents who have not answered (Indico #3384), at most one
  per ``min_hours_between`` (default 24 h: no reminder storms).
- Events carry marks, yes/no and choice codes — never free text (it may hold personal data).
- Results (:func:`survey_results`): mean mark per mark question, share who would come again,
  choice counts, number of responses and response rate (responses / invited).

The draft and its revisions record no event (it is not visible outside the service);
``SurveyRespondentsInvited`` is recorded for each batch of new invitees (the observatory's
response rates need the invited count).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Iterable, Mapping

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.registrations import (QuestionSummary, QuestionType, SurveyAnswerSubmitted,
                                            SurveyAnswerUpdated, SurveyAudience, SurveyClosed, SurveyOpened,
                                            SurveyReminderSent, SurveyRespondentsInvited)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from . import _rules

MAX_QUESTIONS = 50
MAX_CHOICES = 30
MAX_INVITED = 100_000
MAX_FREE_TEXT = 4000
MARK_MAX = 20
#: What a free-text answer reads once its respondent's data were erased (GDPR): the answer still
#: counts (a question's ``answered``), its text is gone.
ERASED_ANSWER = "[erased]"

AnswerValue = bool | int | str | list[str]


class SurveyStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Choice(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    label: str


class Question(BaseModel):
    model_config = ConfigDict(frozen=True)

    question_id: str
    type: QuestionType
    text: str
    required: bool = True
    choices: tuple[Choice, ...] = ()

    @property
    def choice_codes(self) -> list[str]:
        return [c.code for c in self.choices]

    def summary(self) -> QuestionSummary:
        return QuestionSummary(question_id=self.question_id, type=self.type, required=self.required,
                               choices=self.choice_codes)


class Reminder(BaseModel):
    number: int = Field(ge=1)
    sent_at: AwareDatetime
    respondent_ids: list[str]


_NEXT_STEP = {
    SurveyStatus.DRAFT: "open the survey (or revise it, invite respondents)",
    SurveyStatus.OPEN: "answer, remind or close",
    SurveyStatus.CLOSED: "none: the survey is closed",
}


class Survey(Aggregate):
    """A satisfaction survey of an event for one audience. ``id`` is the survey id."""

    event_id: str
    audience: SurveyAudience
    title: str
    questions: list[Question]
    status: SurveyStatus = SurveyStatus.DRAFT
    created_at: AwareDatetime
    opened_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    invited: list[str] = Field(default_factory=list)
    reminders: list[Reminder] = Field(default_factory=list)

    # -- factory -----------------------------------------------------------------------------
    @classmethod
    def create(cls, survey_id: str, *, event_id: str, audience: SurveyAudience | str, title: str,
               questions: Iterable[Question | Mapping[str, Any]], at: datetime,
               closes_at: datetime | None = None) -> Survey:
        """A draft survey (no event recorded: a draft is internal).

        :raises InvalidInput: naming the field (``questions.2.choices``, ``closes_at``…).
        """
        at = _rules.instant(at, "at")
        survey = cls(id=_rules.identifier(survey_id, "survey_id"), event_id=_rules.identifier(event_id, "event_id"),
                     audience=_rules.enum_value(SurveyAudience, audience, "audience"),
                     title=_rules.text(title, "title", max_length=200), questions=_questions(questions),
                     created_at=at, closes_at=_closes_at(closes_at, at))
        return survey

    # -- commands ----------------------------------------------------------------------------
    def revise(self, *, at: datetime, title: str | None = None,
               questions: Iterable[Question | Mapping[str, Any]] | None = None,
               closes_at: datetime | None = None) -> None:
        """Change a draft's title, questions or closing time (no event).

        :raises Conflict: not a draft.
        """
        self._expect("revise the survey", SurveyStatus.DRAFT)
        at = self._at(at)
        if title is not None:
            self.title = _rules.text(title, "title", max_length=200)
        if questions is not None:
            self.questions = _questions(questions)
        if closes_at is not None:
            self.closes_at = _closes_at(closes_at, at)

    def invite(self, respondent_ids: Iterable[str], *, at: datetime) -> list[str]:
        """Invite respondents (registration ids or partner invitee ids) → ``SurveyRespondentsInvited``
        with the ids not invited before (nothing recorded when all were). Returns those ids.

        :raises Conflict: the survey is closed; more than 100,000 invited.
        :raises InvalidInput: a blank id (``respondent_ids.<i>``).
        """
        self._expect("invite respondents", SurveyStatus.DRAFT, SurveyStatus.OPEN)
        if isinstance(respondent_ids, str):
            raise InvalidInput("respondent_ids", "respondent_ids must be a list of ids")
        at = self._at(at)
        known = set(self.invited)
        new: list[str] = []
        for i, rid in enumerate(respondent_ids):
            rid = _rules.identifier(rid, f"respondent_ids.{i}")
            if rid not in known:
                known.add(rid)
                new.append(rid)
        if not new:
            return []
        if len(known) > MAX_INVITED:
            raise Conflict(f"survey {self.id} would have more than {MAX_INVITED} respondents",
                           current_state=self.status.value, expected_step=self.next_step)
        self.invited = [*self.invited, *new]
        self.record(SurveyRespondentsInvited(survey_id=self.id, event_id=self.event_id, respondent_ids=new,
                                             invited_count=len(self.invited), invited_at=at))
        return new

    def open(self, *, at: datetime) -> None:
        """Open for answers → ``SurveyOpened``.

        :raises Conflict: not a draft.
        :raises InvalidInput: ``closes_at`` not after ``at``.
        """
        self._expect("open the survey", SurveyStatus.DRAFT)
        at = self._at(at)
        if self.closes_at is not None and self.closes_at <= at:
            raise InvalidInput("closes_at", f"the survey would close ({self.closes_at.isoformat()}) before it opens")
        self.status = SurveyStatus.OPEN
        self.opened_at = at
        self.record(SurveyOpened(survey_id=self.id, event_id=self.event_id, audience=self.audience,
                                 questions=[q.summary() for q in self.questions], invited_count=len(self.invited),
                                 opened_at=at, closes_at=self.closes_at))

    def close(self, *, at: datetime) -> None:
        """No more answers or changes → ``SurveyClosed`` (the scheduler calls it at ``closes_at``).

        :raises Conflict: not open.
        """
        self._expect("close the survey", SurveyStatus.OPEN)
        at = self._at(at)
        self.status = SurveyStatus.CLOSED
        self.closed_at = at
        self.record(SurveyClosed(survey_id=self.id, event_id=self.event_id, audience=self.audience,
                                 invited_count=len(self.invited), closed_at=at))

    def remind(self, *, at: datetime, answered_ids: Iterable[str], min_hours_between: int = 24,
               skipped_ids: Iterable[str] = ()) -> list[str]:
        """Remind the invited respondents who have not answered → ``SurveyReminderSent`` with
        their ids; returns them (empty, and nothing recorded, when everyone answered).
        ``skipped_ids``: invited respondents not to remind all the same (a participant whose
        registration was cancelled since).

        :raises Conflict: the survey does not take answers at ``at``; the last reminder was
            less than ``min_hours_between`` hours ago.
        """
        self._expect_answers("send a reminder", at)
        at = self._at(at)
        min_hours_between = _rules.whole(min_hours_between, "min_hours_between", minimum=0, maximum=24 * 365)
        if self.reminders and at - self.reminders[-1].sent_at < timedelta(hours=min_hours_between):
            last = self.reminders[-1].sent_at
            raise Conflict(f"survey {self.id}: the last reminder went at {last.isoformat()}; wait "
                           f"{min_hours_between} h between reminders",
                           current_state="reminded_recently",
                           expected_step=f"remind from {(last + timedelta(hours=min_hours_between)).isoformat()}")
        if isinstance(answered_ids, str):
            raise InvalidInput("answered_ids", "answered_ids must be a list of ids")
        if isinstance(skipped_ids, str):
            raise InvalidInput("skipped_ids", "skipped_ids must be a list of ids")
        answered = set(answered_ids) | set(skipped_ids)
        due = [rid for rid in self.invited if rid not in answered]
        if not due:
            return []
        reminder = Reminder(number=len(self.reminders) + 1, sent_at=at, respondent_ids=due)
        self.reminders = [*self.reminders, reminder]
        self.record(SurveyReminderSent(survey_id=self.id, event_id=self.event_id, respondent_ids=due, count=len(due),
                                       reminder_number=reminder.number, sent_at=at))
        return due

    # -- queries -----------------------------------------------------------------------------
    def accepts_answers(self, at: datetime) -> bool:
        """Open, and ``at`` before ``closes_at`` (if any)."""
        return self.status is SurveyStatus.OPEN and (self.closes_at is None or at < self.closes_at)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.question_id == question_id), None)

    def is_invited(self, respondent_id: str) -> bool:
        return respondent_id in self.invited

    @property
    def next_step(self) -> str:
        return _NEXT_STEP[self.status]

    # -- internals ---------------------------------------------------------------------------
    def _expect(self, action: str, *allowed: SurveyStatus) -> None:
        if self.status not in allowed:
            raise _rules.conflict(f"survey {self.id}", action, self.status.value, self.next_step)

    def _expect_answers(self, action: str, at: datetime) -> None:
        self._expect(action, SurveyStatus.OPEN)
        at = _rules.instant(at, "at")
        if self.opened_at is not None:
            _rules.not_before(at, self.opened_at, "at", "the opening of the survey")
        if not self.accepts_answers(at):
            raise Conflict(f"cannot {action}: survey {self.id} closed at {self.closes_at.isoformat()}",
                           current_state="closed", expected_step=_NEXT_STEP[SurveyStatus.CLOSED])

    def _at(self, at: datetime) -> datetime:
        at = _rules.instant(at, "at")
        return _rules.not_before(at, self.created_at, "at", "the creation of the survey")


def response_id(survey_id: str, respondent_id: str) -> str:
    """The id of a respondent's response to a survey: one response per (survey, respondent)."""
    return f"{survey_id}:{respondent_id}"


class SurveyResponse(Aggregate):
    """A respondent's answers to a survey. ``id``: :func:`response_id`. Its events go to the
    survey's topic (key ``survey_id``)."""

    survey_id: str
    event_id: str
    audience: SurveyAudience
    respondent_id: str
    answers: dict[str, AnswerValue]
    submitted_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    revision: int = 0
    erased_at: AwareDatetime | None = None
    """When the free text of the answers was erased (an erasure request about the respondent)."""

    @classmethod
    def submit(cls, *, survey: Survey, respondent_id: str, answers: Mapping[str, Any],
               at: datetime) -> SurveyResponse:
        """A respondent answers → ``SurveyAnswerSubmitted`` (free-text answers left out of it).

        :raises Conflict: the survey does not take answers (draft, closed, past ``closes_at``).
        :raises InvalidInput: ``respondent_id`` not invited; ``answers.<question_id>`` unknown,
            missing while required, or of the wrong type or range.
        """
        respondent_id = _rules.identifier(respondent_id, "respondent_id")
        survey._expect_answers("answer the survey", at)
        if not survey.is_invited(respondent_id):
            raise InvalidInput("respondent_id", f"{respondent_id!r} is not invited to survey {survey.id}")
        clean = validate_answers(survey, answers)
        response = cls(id=response_id(survey.id, respondent_id), survey_id=survey.id, event_id=survey.event_id,
                       audience=survey.audience, respondent_id=respondent_id, answers=clean, submitted_at=at)
        response.record(SurveyAnswerSubmitted(**response._published(survey), submitted_at=at))
        return response

    def update(self, *, survey: Survey, answers: Mapping[str, Any], at: datetime) -> bool:
        """Change the answers while the survey is open → ``SurveyAnswerUpdated`` (the full new
        answers, free text left out). Returns False, recording nothing, when nothing changed.

        :raises Conflict: the survey does not take answers any more.
        :raises InvalidInput: as :meth:`submit`; ``survey`` is another survey; ``at`` before
            the submission.
        """
        if survey.id != self.survey_id:
            raise InvalidInput("survey_id", f"response {self.id} answers survey {self.survey_id}, not {survey.id}")
        survey._expect_answers("change the answers", at)
        _rules.not_before(at, self.submitted_at, "at", "the submission")
        clean = validate_answers(survey, answers)
        if clean == self.answers:
            return False
        self.answers = clean
        self.revision += 1
        self.updated_at = at
        self.record(SurveyAnswerUpdated(**self._published(survey), revision=self.revision, updated_at=at))
        return True

    def erase_free_text(self, survey: Survey, *, at: datetime) -> bool:
        """Erase the text of every free-text answer (it may name or describe the respondent): each
        reads :data:`ERASED_ANSWER`; marks, yes/no and choices stay, and so does every count of the
        results (a question's ``answered``, the responses, the response rate). No event: free text
        never entered one, and the figures do not change. Returns False when there was no text to erase.

        :raises InvalidInput: ``survey`` is another survey.
        """
        if survey.id != self.survey_id:
            raise InvalidInput("survey_id", f"response {self.id} answers survey {self.survey_id}, not {survey.id}")
        at = _rules.instant(at, "at")
        free = {q.question_id for q in survey.questions if q.type is QuestionType.FREE_TEXT}
        erased = {q: ERASED_ANSWER for q, v in self.answers.items() if q in free and v != ERASED_ANSWER}
        if not erased:
            return False
        self.answers = {**self.answers, **erased}
        self.erased_at = at
        return True

    def _published(self, survey: Survey) -> dict[str, Any]:
        marks: dict[str, int] = {}
        again: dict[str, bool] = {}
        choices: dict[str, list[str]] = {}
        for q in survey.questions:
            if q.question_id not in self.answers:
                continue
            value = self.answers[q.question_id]
            if q.type is QuestionType.MARK:
                marks[q.question_id] = value  # type: ignore[assignment]
            elif q.type is QuestionType.WOULD_COME_AGAIN:
                again[q.question_id] = value  # type: ignore[assignment]
            elif q.type is QuestionType.SINGLE_CHOICE:
                choices[q.question_id] = [value]  # type: ignore[list-item]
            elif q.type is QuestionType.MULTIPLE_CHOICE:
                choices[q.question_id] = list(value)  # type: ignore[arg-type]
        return dict(survey_id=self.survey_id, event_id=self.event_id, audience=self.audience,
                    respondent_id=self.respondent_id, marks=marks, would_come_again=again, choices=choices)


# -- validation ------------------------------------------------------------------------------------

def _closes_at(value: datetime | None, at: datetime) -> datetime | None:
    closes = _rules.optional_instant(value, "closes_at")
    if closes is not None and closes <= at:
        raise InvalidInput("closes_at", f"closes_at ({closes.isoformat()}) is not after {at.isoformat()}")
    return closes


def _choice(item: object, field: str) -> Choice:
    if isinstance(item, Choice):
        item = item.model_dump()
    if isinstance(item, str):
        item = {"code": item, "label": item}
    if not isinstance(item, Mapping):
        raise InvalidInput(field, f"{field} must be a choice (code and label)")
    code = _rules.code(item.get("code"), f"{field}.code")
    label = _rules.text(item.get("label", code), f"{field}.label", max_length=200)
    return Choice(code=code, label=label)


def _question(item: object, field: str) -> Question:
    if isinstance(item, Question):
        item = item.model_dump()
    if not isinstance(item, Mapping):
        raise InvalidInput(field, f"{field} must be a question")
    qid = _rules.code(item.get("question_id"), f"{field}.question_id")
    qtype = _rules.enum_value(QuestionType, item.get("type"), f"{field}.type")
    text = _rules.text(item.get("text"), f"{field}.text", max_length=500)
    required = _rules.flag(item.get("required", True), f"{field}.required")
    raw = item.get("choices") or ()
    if isinstance(raw, (str, Mapping)):
        raise InvalidInput(f"{field}.choices", "choices must be a list")
    choices = tuple(_choice(c, f"{field}.choices.{i}") for i, c in enumerate(raw))
    if qtype in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        if len(choices) < 2:
            raise InvalidInput(f"{field}.choices", "a choice question has at least 2 choices")
        if len(choices) > MAX_CHOICES:
            raise InvalidInput(f"{field}.choices", f"a question has at most {MAX_CHOICES} choices")
        codes = [c.code for c in choices]
        if len(set(codes)) != len(codes):
            dup = next(c for c in codes if codes.count(c) > 1)
            raise InvalidInput(f"{field}.choices.{codes.index(dup, codes.index(dup) + 1)}.code",
                               f"choice {dup!r} appears twice")
    elif choices:
        raise InvalidInput(f"{field}.choices", f"a {qtype.value} question has no choices")
    return Question(question_id=qid, type=qtype, text=text, required=required, choices=choices)


def _questions(items: Iterable[Question | Mapping[str, Any]]) -> list[Question]:
    if isinstance(items, (str, Mapping)) or not isinstance(items, Iterable):
        raise InvalidInput("questions", "questions must be a list")
    questions = [_question(q, f"questions.{i}") for i, q in enumerate(items)]
    if not questions:
        raise InvalidInput("questions", "a survey has at least one question")
    if len(questions) > MAX_QUESTIONS:
        raise InvalidInput("questions", f"a survey has at most {MAX_QUESTIONS} questions")
    seen: set[str] = set()
    for i, q in enumerate(questions):
        if q.question_id in seen:
            raise InvalidInput(f"questions.{i}.question_id", f"question {q.question_id!r} appears twice")
        seen.add(q.question_id)
    return questions


def validate_answers(survey: Survey, answers: Mapping[str, Any]) -> dict[str, AnswerValue]:
    """The answers checked against the survey's questions; blank answers (None, "", []) are
    left out. :raises InvalidInput: ``answers.<question_id>`` unknown, required and missing,
    or of the wrong type or range."""
    if not isinstance(answers, Mapping):
        raise InvalidInput("answers", "answers must be an object keyed by question id")
    for key in answers:
        if not isinstance(key, str) or survey.question(key) is None:
            raise InvalidInput(f"answers.{key}", f"survey {survey.id} has no question {key!r}")
    clean: dict[str, AnswerValue] = {}
    for q in survey.questions:
        field = f"answers.{q.question_id}"
        value = answers.get(q.question_id)
        if value is None or (isinstance(value, str) and not value.strip()) or (
                isinstance(value, (list, tuple)) and not value):
            if q.required:
                raise InvalidInput(field, f"question {q.question_id!r} requires an answer")
            continue
        if q.type is QuestionType.MARK:
            clean[q.question_id] = _rules.whole(value, field, minimum=0, maximum=MARK_MAX)
        elif q.type is QuestionType.WOULD_COME_AGAIN:
            clean[q.question_id] = _rules.flag(value, field)
        elif q.type is QuestionType.SINGLE_CHOICE:
            if not isinstance(value, str) or value not in q.choice_codes:
                raise InvalidInput(field, f"{value!r} is not a choice of {q.question_id!r} "
                                          f"({', '.join(q.choice_codes)})")
            clean[q.question_id] = value
        elif q.type is QuestionType.MULTIPLE_CHOICE:
            if not isinstance(value, (list, tuple)):
                raise InvalidInput(field, f"{q.question_id!r} takes a list of choices")
            picked: list[str] = []
            for v in value:
                if not isinstance(v, str) or v not in q.choice_codes:
                    raise InvalidInput(field, f"{v!r} is not a choice of {q.question_id!r} "
                                              f"({', '.join(q.choice_codes)})")
                if v in picked:
                    raise InvalidInput(field, f"choice {v!r} is picked twice")
                picked.append(v)
            clean[q.question_id] = picked
        else:
            clean[q.question_id] = _rules.text(value, field, max_length=MAX_FREE_TEXT)
    return clean


# -- results --------------------------------------------------------------------------------------

class QuestionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    question_id: str
    type: QuestionType
    answered: int
    mean_mark: float | None = None
    """Mark questions: the mean (out of 20, rounded to 2 decimals); None without answers."""
    would_come_again_share: float | None = None
    """Would-come-again questions: yes / answers (0..1, rounded to 4 decimals)."""
    choice_counts: dict[str, int] = Field(default_factory=dict)
    """Choice questions: how many picked each choice (every choice listed)."""


class SurveyResults(BaseModel):
    model_config = ConfigDict(frozen=True)

    survey_id: str
    event_id: str
    audience: SurveyAudience
    invited: int
    responses: int
    response_rate: float | None
    """responses / invited (rounded to 4 decimals); None when nobody was invited."""
    questions: list[QuestionResult]

    def question(self, question_id: str) -> QuestionResult | None:
        return next((q for q in self.questions if q.question_id == question_id), None)


def survey_results(survey: Survey, responses: Iterable[SurveyResponse]) -> SurveyResults:
    """Results of one survey (one audience) over its responses (others are ignored)."""
    invited = set(survey.invited)
    mine = [r for r in responses if r.survey_id == survey.id and r.respondent_id in invited]
    results = []
    for q in survey.questions:
        values = [r.answers[q.question_id] for r in mine if q.question_id in r.answers]
        result: dict[str, Any] = dict(question_id=q.question_id, type=q.type, answered=len(values))
        if q.type is QuestionType.MARK and values:
            result["mean_mark"] = round(sum(values) / len(values), 2)  # type: ignore[arg-type]
        elif q.type is QuestionType.WOULD_COME_AGAIN and values:
            result["would_come_again_share"] = round(sum(1 for v in values if v is True) / len(values), 4)
        elif q.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
            counts = {c: 0 for c in q.choice_codes}
            for v in values:
                for code in ([v] if isinstance(v, str) else v):  # type: ignore[union-attr]
                    if code in counts:
                        counts[code] += 1
            result["choice_counts"] = counts
        results.append(QuestionResult(**result))
    return SurveyResults(survey_id=survey.id, event_id=survey.event_id, audience=survey.audience,
                         invited=len(invited), responses=len(mine),
                         response_rate=round(len(mine) / len(invited), 4) if invited else None, questions=results)


def results_by_audience(surveys: Iterable[Survey],
                        responses: Iterable[SurveyResponse]) -> dict[SurveyAudience, SurveyResults]:
    """An event's results per audience (participants, partners).

    :raises InvalidInput: two surveys of the same audience, or surveys of different events.
    """
    responses = list(responses)
    out: dict[SurveyAudience, SurveyResults] = {}
    event_ids = set()
    for s in surveys:
        event_ids.add(s.event_id)
        if s.audience in out:
            raise InvalidInput("surveys", f"two surveys for the {s.audience.value} of the event")
        out[s.audience] = survey_results(s, responses)
    if len(event_ids) > 1:
        raise InvalidInput("surveys", "the surveys are of different events")
    return out
