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
