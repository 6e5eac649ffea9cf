"""What follows a need's dispatch besides the funnel: suppliers' questions and the buyer's (or the
team's) answers, and the impact survey after the deadline.

:class:`NeedQuestion` — a notified supplier asks while the need takes answers; the buyer or the
team answers (and may correct the answer). The texts stay here; ``NeedQuestionAsked`` and
``NeedQuestionAnswered`` carry ids.

:class:`ImpactSurvey` — one per need and respondent (the buyer; each awarded supplier), opened by
a job some days after the deadline (le marché de l'inclusion asks 7 days after). The respondent
answers yes / no / not yet (#1154) with, for yes, the amount transacted in cents; the answer may
be changed (not yet → yes) — each change is an ``ImpactSurveyAnswered`` with its revision. A
comment stays here.
"""
from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime

from contracts.procurement.needs import (ImpactAnswer, ImpactRespondent, ImpactSurveyAnswered, ImpactSurveyOpened,
                                         NeedQuestionAnswered, NeedQuestionAsked, NeedStatus)
from runtime.aggregate import Aggregate
from runtime.errors import InvalidInput

from . import need_rules as rules
from .needs import TAKING_ANSWERS

MAX_QUESTION = 4_000
MAX_COMMENT = 4_000


class NeedQuestion(Aggregate):
    """A supplier's question about a need, and its answer. ``id``: ``nq-…``."""

    need_id: str
    supplier_id: str
    text: str
    asked_at: AwareDatetime
    answer: str | None = None
    answered_at: AwareDatetime | None = None
    answered_by: str | None = None
    revision: int = 0

    @classmethod
    def ask(cls, question_id: str, *, need_id: str, need_status: NeedStatus, supplier_id: str, text: str,
            at: datetime) -> NeedQuestion:
        """A question → ``NeedQuestionAsked``.

        :raises Conflict: the need does not take answers. :raises InvalidInput: ``text``.
        """
        if need_status not in TAKING_ANSWERS:
            raise rules.conflict(f"need {need_id}", "ask a question", need_status.value,
                                 "a need dispatched and not closed")
        at = rules.instant(at, "at")
        question = cls(id=rules.identifier(question_id, "question_id"), need_id=need_id,
                       supplier_id=rules.identifier(supplier_id, "supplier_id"),
                       text=rules.text(text, "text", max_length=MAX_QUESTION), asked_at=at)
        question.record(NeedQuestionAsked(need_id=need_id, question_id=question.id, supplier_id=question.supplier_id,
                                          asked_at=at))
        return question

    def give_answer(self, text: str, *, at: datetime, by: str) -> bool:
        """Answer (or correct the answer) → ``NeedQuestionAnswered``; False when the text is the same."""
        text = rules.text(text, "text", max_length=MAX_QUESTION)
        at = rules.instant(at, "at")
        if at < self.asked_at:
            raise InvalidInput("at", "an answer cannot come before its question")
        if text == self.answer:
            return False
        self.answer, self.answered_at, self.answered_by = text, at, by
        self.revision += 1
        self.record(NeedQuestionAnswered(need_id=self.need_id, question_id=self.id, revision=self.revision,
                                         answered_at=at))
        return True


def impact_survey_id(need_id: str, respondent: ImpactRespondent | str, respondent_id: str) -> str:
    """The survey's id: one per need and respondent."""
    return f"isv-{need_id}-{ImpactRespondent(respondent).value}-{respondent_id}"


class ImpactSurvey(Aggregate):
    """A need's impact survey for one respondent. ``id`` = :func:`impact_survey_id`."""

    need_id: str
    respondent: ImpactRespondent
    respondent_id: str
    opened_at: AwareDatetime
    answer: ImpactAnswer | None = None
    amount_cents: int | None = None
    comment: str | None = None
    answered_at: AwareDatetime | None = None
    revision: int = 0

    @classmethod
    def open(cls, *, need_id: str, respondent: ImpactRespondent | str, respondent_id: str,
             at: datetime) -> ImpactSurvey:
        """Open the survey → ``ImpactSurveyOpened``."""
        respondent = rules.enum_value(ImpactRespondent, respondent, "respondent")
        at = rules.instant(at, "at")
        survey = cls(id=impact_survey_id(need_id, respondent, respondent_id), need_id=need_id, respondent=respondent,
                     respondent_id=respondent_id, opened_at=at)
        survey.record(ImpactSurveyOpened(need_id=need_id, survey_id=survey.id, respondent=respondent,
                                         respondent_id=respondent_id, opened_at=at))
        return survey

    def give(self, answer: ImpactAnswer | str, *, amount_cents: int | None = None, comment: str | None = None,
             at: datetime) -> bool:
        """Answer (or change the answer) → ``ImpactSurveyAnswered``; False when nothing changed.

        :raises InvalidInput: ``answer`` unknown; ``amount_cents`` with another answer than yes, or
            out of range; ``comment`` too long.
        """
        answer = rules.enum_value(ImpactAnswer, answer, "answer")
        if amount_cents is not None:
            if answer is not ImpactAnswer.YES:
                raise InvalidInput("amount_cents", "an amount goes with the answer yes only")
            amount_cents = rules.amount(amount_cents, "amount_cents")
        comment = rules.optional_text(comment, "comment", max_length=MAX_COMMENT)
        at = rules.instant(at, "at")
        if at < self.opened_at:
            raise InvalidInput("at", "an answer cannot come before the survey opened")
        if (answer, amount_cents, comment) == (self.answer, self.amount_cents, self.comment):
            return False
        signal_changed = (answer, amount_cents) != (self.answer, self.amount_cents)
        self.answer, self.amount_cents, self.comment, self.answered_at = answer, amount_cents, comment, at
        if signal_changed:  # a comment alone changes nothing the event carries
            self.revision += 1
            self.record(ImpactSurveyAnswered(need_id=self.need_id, survey_id=self.id, respondent=self.respondent,
                                             respondent_id=self.respondent_id, answer=answer,
                                             amount_cents=amount_cents, revision=self.revision, answered_at=at))
        return True
