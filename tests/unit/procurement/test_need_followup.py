"""Suppliers' questions and their answers; the impact survey's answers (yes / no / not yet, an
amount with yes only, changes recorded with their revision); the signed links."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.procurement.needs import (ImpactAnswer, ImpactSurveyAnswered, ImpactSurveyOpened,
                                         NeedQuestionAnswered, NeedQuestionAsked, NeedStatus)
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain.need_followup import ImpactSurvey, NeedQuestion, impact_survey_id
from services.procurement.service_layer.need_tokens import NeedTokens
from tests.unit.refusals import refused

T0 = datetime(2008, 4, 22, 12, 0, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_a_question_is_asked_while_the_need_takes_answers_and_answered_with_revisions():
    q = NeedQuestion.ask("nq-1", need_id="need-1", need_status=NeedStatus.DISPATCHED, supplier_id="sup-1",
                         text="Le mobilier est-il démonté ?", at=T0)
    (asked,) = q.pull_events()
    assert isinstance(asked, NeedQuestionAsked) and "mobilier" not in asked.model_dump_json()
    assert q.give_answer("Oui", at=at(1), by="staff")
    assert not q.give_answer("Oui", at=at(2), by="staff")
    assert q.give_answer("Oui, palettisé", at=at(3), by="app")
    assert [e.revision for e in q.pull_events() if isinstance(e, NeedQuestionAnswered)] == [1, 2]
    with pytest.raises(Conflict) as err:
        NeedQuestion.ask("nq-2", need_id="need-1", need_status=NeedStatus.CLOSED, supplier_id="sup-1", text="?",
                         at=T0)
    assert err.value.extra["current_state"] == "closed"
    with pytest.raises(InvalidInput) as bad:
        NeedQuestion.ask("nq-3", need_id="need-1", need_status=NeedStatus.DISPATCHED, supplier_id="sup-1",
                         text=" ", at=T0)
    assert bad.value.field == "text"


def survey() -> ImpactSurvey:
    s = ImpactSurvey.open(need_id="need-1", respondent="buyer", respondent_id="buy-1", at=T0)
    (opened,) = s.pull_events()
    assert isinstance(opened, ImpactSurveyOpened) and s.id == impact_survey_id("need-1", "buyer", "buy-1")
    return s


def test_not_yet_then_yes_with_an_amount():
    s = survey()
    assert s.give("not_yet", at=at(1))
    assert not s.give("not_yet", at=at(2))
    assert s.give("yes", amount_cents=2_450_000, comment="Très bien", at=at(3))
    assert s.give("yes", amount_cents=2_450_000, comment="Très bien, merci", at=at(4))  # comment only: no event
    events = s.pull_events()
    assert [(e.answer, e.amount_cents, e.revision) for e in events] == [
        (ImpactAnswer.NOT_YET, None, 1), (ImpactAnswer.YES, 2_450_000, 2)]
    assert all(isinstance(e, ImpactSurveyAnswered) and "Très" not in e.model_dump_json() for e in events)
    assert s.comment == "Très bien, merci"


@pytest.mark.parametrize("kwargs, field", [
    ({"answer": "maybe"}, "answer"),
    ({"answer": "no", "amount_cents": 100}, "amount_cents"),
    ({"answer": "not_yet", "amount_cents": 100}, "amount_cents"),
    ({"answer": "yes", "amount_cents": -1}, "amount_cents"),
    ({"answer": "yes", "amount_cents": 10**13}, "amount_cents"),
    ({"answer": "yes", "comment": "x" * 4001}, "comment"),
])
def test_bad_answers_name_the_field(kwargs, field):
    kwargs = dict(kwargs)  # the parameter is shared by every run of the test in this process (mutmut's)
    answer = kwargs.pop("answer")
    with pytest.raises(InvalidInput) as err:
        survey().give(answer, at=at(1), **kwargs)
    assert err.value.field == field


def test_links_are_signed_per_use_and_a_forged_one_is_refused_naming_token():
    tokens = NeedTokens("a-secret-of-at-least-32-characters-long!!")
    link = tokens.supplier_link("need-1", "sup-1")
    assert tokens.read_supplier_link(link) == ("need-1", "sup-1")
    survey_link = tokens.impact_link("isv-need-1-buyer-buy-1")
    assert tokens.read_impact_link(survey_link) == "isv-need-1-buyer-buy-1"
    other = NeedTokens("another-secret-of-at-least-32-characters")
    for bad in (link[:-1] + ("A" if link[-1] != "A" else "B"), "", "x" * 500, "abc", link + "=", 42,
                other.supplier_link("need-1", "sup-1"), survey_link):
        with pytest.raises(InvalidInput) as err:
            tokens.read_supplier_link(bad)
        assert err.value.field == "token"
    with pytest.raises(InvalidInput):
        tokens.read_impact_link(link)  # a supplier link is no survey link


# -- what a refusal says, and the bounds (each refusal's field and exact words) ------------------------
def ask(**overrides) -> NeedQuestion:
    kwargs = {"need_id": "need-1", "need_status": NeedStatus.DISPATCHED, "supplier_id": "sup-1",
              "text": "Le mobilier est-il démonté ?", "at": T0} | overrides
    return NeedQuestion.ask(kwargs.pop("question_id", "nq-1"), **kwargs)


def test_a_question_asked_once_the_need_closed_says_what_it_needed():
    with pytest.raises(Conflict, match="^cannot ask a question: need need-1 is closed; "
                                       "expected: a need dispatched and not closed$") as err:
        ask(need_status=NeedStatus.CLOSED)
    assert err.value.extra == {"current_state": "closed", "expected_step": "a need dispatched and not closed"}
    assert ask(need_status=NeedStatus.DISPATCHING).need_id == "need-1"  # dispatching takes questions too


def test_a_question_s_refusals_name_the_field():
    refused(lambda: ask(question_id="nq 1"), "question_id", "question_id must be an id (no spaces)")
    refused(lambda: ask(supplier_id="sup 1"), "supplier_id", "supplier_id must be an id (no spaces)")
    refused(lambda: ask(at=datetime(2008, 4, 22, 12, 0)), "at",
            "at must carry a time zone (naive date and time 2008-04-22T12:00:00)")
    refused(lambda: ask(text="x" * 4001), "text", "text is longer than 4000 characters")
    assert ask(text="x" * 4000).text == "x" * 4000  # a question is 4,000 characters, not the 200 of a title


def test_an_answer_s_refusals_name_the_field_and_it_may_come_the_instant_it_was_asked():
    q = ask()
    refused(lambda: q.give_answer(" ", at=at(1), by="staff"), "text", "text is required")
    refused(lambda: q.give_answer("x" * 4001, at=at(1), by="staff"), "text", "text is longer than 4000 characters")
    refused(lambda: q.give_answer("Oui", at=datetime(2008, 4, 22, 13, 0), by="staff"), "at",
            "at must carry a time zone (naive date and time 2008-04-22T13:00:00)")
    refused(lambda: q.give_answer("Oui", at=at(-1), by="staff"), "at", "an answer cannot come before its question")
    assert q.give_answer("x" * 4000, at=T0, by="staff")
    assert (q.answer, q.answered_at, q.answered_by, q.revision) == ("x" * 4000, T0, "staff", 1)


def test_a_survey_s_refusals_name_the_field_and_an_answer_may_come_the_instant_it_opened():
    refused(lambda: ImpactSurvey.open(need_id="need-1", respondent="funder", respondent_id="x", at=T0),
            "respondent", "unknown respondent 'funder'; expected one of: buyer, supplier")
    refused(lambda: ImpactSurvey.open(need_id="need-1", respondent="buyer", respondent_id="buy-1",
                                      at=datetime(2008, 4, 22, 12, 0)),
            "at", "at must carry a time zone (naive date and time 2008-04-22T12:00:00)")
    s = survey()
    refused(lambda: s.give("no", amount_cents=100, at=at(1)), "amount_cents", "an amount goes with the answer yes only")
    refused(lambda: s.give("no", at=datetime(2008, 4, 22, 13, 0)), "at",
            "at must carry a time zone (naive date and time 2008-04-22T13:00:00)")
    refused(lambda: s.give("no", at=at(-1)), "at", "an answer cannot come before the survey opened")
    refused(lambda: s.give("no", comment="x" * 4001, at=at(1)), "comment", "comment is longer than 4000 characters")
    assert s.give("no", comment="x" * 4000, at=T0)
    assert (s.answer, s.comment, s.answered_at, s.revision) == (ImpactAnswer.NO, "x" * 4000, T0, 1)
