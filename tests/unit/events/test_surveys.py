"""Satisfaction surveys: questions, invitations, answers (validated, editable until closing), reminders
to non-respondents only, results per audience."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from contracts.events.registrations import (SurveyAnswerSubmitted, SurveyAnswerUpdated, SurveyClosed, SurveyOpened,
                                            SurveyReminderSent, SurveyRespondentsInvited)
from runtime.errors import Conflict, InvalidInput
from services.events.domain.surveys import (Survey, SurveyAudience, SurveyResponse, SurveyStatus, response_id,
                                            results_by_audience, survey_results, validate_answers)

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2023, 11, 10, 9, 0, tzinfo=PARIS)
CLOSES = datetime(2023, 11, 30, 23, 59, tzinfo=PARIS)

QUESTIONS = [
    {"question_id": "overall", "type": "mark", "text": "Note globale (sur 20)"},
    {"question_id": "come_again", "type": "would_come_again", "text": "Souhaitez-vous revenir ?"},
    {"question_id": "format", "type": "single_choice", "text": "Format préféré",
     "choices": [{"code": "morning", "label": "Matinée"}, {"code": "afternoon", "label": "Après-midi"}],
     "required": False},
    {"question_id": "best_part", "type": "multiple_choice", "text": "Temps forts", "required": False,
     "choices": ["talks", "speed_meetings", "lunch"]},
    {"question_id": "comment", "type": "free_text", "text": "Un commentaire ?", "required": False},
]
ANSWERS = {"overall": 16, "come_again": True, "format": "morning", "best_part": ["talks", "speed_meetings"],
           "comment": "Merci à Camille Martin pour l'accueil (camille@example.org)"}


def make_survey(audience="participants", invited=("reg-1", "reg-2", "reg-3", "reg-4"), open_=True,
                **kw) -> Survey:
    fields = dict(event_id="evt-explore-2023", audience=audience, title="Votre avis sur EXPLORE",
                  questions=QUESTIONS, at=T0, closes_at=CLOSES)
    fields.update(kw)
    s = Survey.create(f"srv-{audience}", **fields)
    if invited:
        s.invite(list(invited), at=T0)
    if open_:
        s.open(at=T0)
    s.pull_events()
    return s


def answer(survey, rid="reg-1", answers=ANSWERS, at=T0 + timedelta(days=1)) -> SurveyResponse:
    return SurveyResponse.submit(survey=survey, respondent_id=rid, answers=answers, at=at)


# -- the survey --------------------------------------------------------------------------------

def test_create_open_close_lifecycle():
    s = Survey.create("srv-1", event_id="evt-1", audience="partners", title="Avis partenaires", questions=QUESTIONS,
                      at=T0, closes_at=CLOSES)
    assert s.status is SurveyStatus.DRAFT and not s.pull_events()  # a draft is internal
    assert s.invite(["inv-1", "inv-2", "inv-1"], at=T0) == ["inv-1", "inv-2"]
    (inv,) = s.pull_events()
    assert isinstance(inv, SurveyRespondentsInvited) and inv.respondent_ids == ["inv-1", "inv-2"]
    assert inv.invited_count == 2
    s.open(at=T0 + timedelta(hours=1))
    (opened,) = s.pull_events()
    assert isinstance(opened, SurveyOpened) and opened.audience is SurveyAudience.PARTNERS
    assert [(q.question_id, q.type.value, q.required) for q in opened.questions] == [
        ("overall", "mark", True), ("come_again", "would_come_again", True), ("format", "single_choice", False),
        ("best_part", "multiple_choice", False), ("comment", "free_text", False)]
    assert opened.questions[2].choices == ["morning", "afternoon"] and opened.closes_at == CLOSES
    assert opened.invited_count == 2
    assert s.invite(["inv-2", "inv-3"], at=T0 + timedelta(hours=2)) == ["inv-3"]
    assert s.pull_events()[0].invited_count == 3
    assert s.invite(["inv-3"], at=T0 + timedelta(hours=2)) == [] and not s.pull_events()
    s.close(at=T0 + timedelta(days=3))
    (closed,) = s.pull_events()
    assert isinstance(closed, SurveyClosed) and closed.invited_count == 3 and s.status is SurveyStatus.CLOSED


def test_out_of_order_survey_steps():
    s = make_survey()
    for step in (lambda: s.open(at=T0), lambda: s.revise(at=T0, title="x")):
        with pytest.raises(Conflict) as exc:
            step()
        assert exc.value.extra["current_state"] == "open"
    s.close(at=T0 + timedelta(days=1))
    for step in (lambda: s.close(at=T0 + timedelta(days=2)), lambda: s.invite(["x"], at=T0 + timedelta(days=2))):
        with pytest.raises(Conflict) as exc:
            step()
        assert exc.value.extra["current_state"] == "closed"
    with pytest.raises(Conflict):
        make_survey(open_=False).close(at=T0)


def test_revise_a_draft():
    s = make_survey(open_=False)
    s.revise(at=T0, title="Avis", questions=QUESTIONS[:2], closes_at=CLOSES + timedelta(days=1))
    assert (s.title, len(s.questions), s.closes_at) == ("Avis", 2, CLOSES + timedelta(days=1))
    assert not s.pull_events()


@pytest.mark.parametrize("questions, field", [
    ([], "questions"),
    ("overall", "questions"),
    ([{"question_id": "Overall", "type": "mark", "text": "x"}], "questions.0.question_id"),
    ([{"question_id": "q", "type": "stars", "text": "x"}], "questions.0.type"),
    ([{"question_id": "q", "type": "mark", "text": " "}], "questions.0.text"),
    ([{"question_id": "q", "type": "mark", "text": "x", "required": "yes"}], "questions.0.required"),
    ([{"question_id": "q", "type": "mark", "text": "x", "choices": ["a", "b"]}], "questions.0.choices"),
    ([{"question_id": "q", "type": "single_choice", "text": "x", "choices": ["a"]}], "questions.0.choices"),
    ([{"question_id": "q", "type": "single_choice", "text": "x", "choices": ["a", "B"]}], "questions.0.choices.1.code"),
    ([{"question_id": "q", "type": "multiple_choice", "text": "x", "choices": ["a", "b", "a"]}],
     "questions.0.choices.2.code"),
    ([{"question_id": "q", "type": "single_choice", "text": "x", "choices": [f"c{i}" for i in range(31)]}],
     "questions.0.choices"),
    ([{"question_id": "q", "type": "mark", "text": "x"}, {"question_id": "q", "type": "mark", "text": "y"}],
     "questions.1.question_id"),
    ([{"question_id": f"q{i}", "type": "mark", "text": "x"} for i in range(51)], "questions"),
    ([3], "questions.0"),
])
def test_hostile_questions(questions, field):
    with pytest.raises(InvalidInput) as exc:
        Survey.create("srv", event_id="evt-1", audience="participants", title="t", questions=questions, at=T0)
    assert exc.value.field == field


@pytest.mark.parametrize("kw, field", [
    (dict(audience="press"), "audience"), (dict(title=""), "title"), (dict(at=datetime(2023, 11, 10)), "at"),
    (dict(closes_at=T0), "closes_at"), (dict(closes_at=T0 - timedelta(days=1)), "closes_at"),
    (dict(closes_at=datetime(2201, 1, 1, tzinfo=timezone.utc)), "closes_at"),
    (dict(closes_at=datetime(2023, 12, 1)), "closes_at"), (dict(event_id=" "), "event_id"),
])
def test_hostile_survey_fields(kw, field):
    fields = dict(event_id="evt-1", audience="participants", title="t", questions=QUESTIONS, at=T0)
    fields.update(kw)
    with pytest.raises(InvalidInput) as exc:
        Survey.create("srv", **fields)
    assert exc.value.field == field


def test_open_refused_once_the_closing_time_has_passed():
    s = make_survey(open_=False)
    with pytest.raises(InvalidInput) as exc:
        s.open(at=CLOSES)
    assert exc.value.field == "closes_at" and s.status is SurveyStatus.DRAFT


def test_invite_rejects_blank_ids():
    s = make_survey(invited=())
    with pytest.raises(InvalidInput) as exc:
        s.invite(["reg-1", "  "], at=T0)
    assert exc.value.field == "respondent_ids.1" and s.invited == []
    with pytest.raises(InvalidInput):
        s.invite("reg-1", at=T0)


# -- answers ----------------------------------------------------------------------------------

def test_submit_records_answers_without_free_text():
    s = make_survey()
    r = answer(s)
    assert r.id == response_id(s.id, "reg-1") == "srv-participants:reg-1"
    assert r.answers["comment"].startswith("Merci") and r.answers["overall"] == 16
    (ev,) = r.pull_events()
    assert isinstance(ev, SurveyAnswerSubmitted) and ev.aggregate_id == "srv-participants"
    assert (ev.respondent_id, ev.marks, ev.would_come_again) == ("reg-1", {"overall": 16}, {"come_again": True})
    assert ev.choices == {"format": ["morning"], "best_part": ["talks", "speed_meetings"]}
    dumped = json.dumps(ev.model_dump(mode="json"))
    assert "Camille" not in dumped and "Merci" not in dumped and "comment" not in dumped


def test_a_response_round_trips_through_storage():
    r = answer(make_survey())
    assert SurveyResponse.model_validate(r.model_dump(mode="json")).answers == r.answers
    assert type(SurveyResponse.model_validate(r.model_dump(mode="json")).answers["come_again"]) is bool


@pytest.mark.parametrize("changes, field", [
    ({"overall": 21}, "answers.overall"),
    ({"overall": -1}, "answers.overall"),
    ({"overall": 16.5}, "answers.overall"),
    ({"overall": "16"}, "answers.overall"),
    ({"overall": True}, "answers.overall"),
    ({"overall": 10**100}, "answers.overall"),
    ({"overall": None}, "answers.overall"),
    ({"come_again": "yes"}, "answers.come_again"),
    ({"come_again": 1}, "answers.come_again"),
    ({"format": "evening"}, "answers.format"),
    ({"format": ["morning"]}, "answers.format"),
    ({"best_part": ["talks", "talks"]}, "answers.best_part"),
    ({"best_part": ["karaoke"]}, "answers.best_part"),
    ({"best_part": "talks"}, "answers.best_part"),
    ({"comment": "x" * 4001}, "answers.comment"),
    ({"nope": 3}, "answers.nope"),
    ({"../overall": 3}, "answers.../overall"),
])
def test_hostile_answers_name_the_question(changes, field):
    s = make_survey()
    with pytest.raises(InvalidInput) as exc:
        answer(s, answers={**ANSWERS, **changes})
    assert exc.value.field == field


def test_required_answers_and_blank_optional_ones():
    s = make_survey()
    with pytest.raises(InvalidInput) as exc:
        answer(s, answers={"overall": 12})
    assert exc.value.field == "answers.come_again"
    clean = validate_answers(s, {"overall": 0, "come_again": False, "format": None, "best_part": [], "comment": "  "})
    assert clean == {"overall": 0, "come_again": False}
    with pytest.raises(InvalidInput) as exc:
        validate_answers(s, [("overall", 3)])
    assert exc.value.field == "answers"


def test_only_invited_respondents_answer():
    with pytest.raises(InvalidInput) as exc:
        answer(make_survey(), rid="reg-99")
    assert exc.value.field == "respondent_id"


def test_answering_a_draft_or_closed_survey_conflicts():
    with pytest.raises(Conflict) as exc:
        answer(make_survey(open_=False))
    assert exc.value.extra["current_state"] == "draft"
    s = make_survey()
    s.close(at=T0 + timedelta(hours=1))
    with pytest.raises(Conflict) as exc:
        answer(s)
    assert exc.value.extra["current_state"] == "closed"


def test_answering_after_closes_at_conflicts_even_before_the_scheduler_closes_it():
    s = make_survey()
    with pytest.raises(Conflict) as exc:
        answer(s, at=CLOSES)
    assert "closed at" in exc.value.detail
    assert answer(s, at=CLOSES - timedelta(seconds=1)).submitted_at == CLOSES - timedelta(seconds=1)


def test_answer_time_is_checked():
    s = make_survey()
    with pytest.raises(InvalidInput) as exc:
        answer(s, at=datetime(2023, 11, 11))
    assert exc.value.field == "at"
    with pytest.raises(InvalidInput) as exc:
        answer(s, at=T0 - timedelta(minutes=1))
    assert exc.value.field == "at"


def test_answers_can_be_changed_until_the_survey_closes():
    s = make_survey()
    r = answer(s)
    r.pull_events()
    assert r.update(survey=s, answers={**ANSWERS, "overall": 18}, at=T0 + timedelta(days=2)) is True
    (ev,) = r.pull_events()
    assert isinstance(ev, SurveyAnswerUpdated) and ev.marks == {"overall": 18} and ev.revision == 1
    assert r.answers["overall"] == 18 and r.updated_at == T0 + timedelta(days=2)
    assert r.update(survey=s, answers={**ANSWERS, "overall": 18}, at=T0 + timedelta(days=2)) is False
    assert not r.pull_events()
    with pytest.raises(InvalidInput) as exc:
        r.update(survey=s, answers={**ANSWERS, "overall": 21}, at=T0 + timedelta(days=2))
    assert exc.value.field == "answers.overall" and r.answers["overall"] == 18
    s.close(at=T0 + timedelta(days=3))
    with pytest.raises(Conflict):
        r.update(survey=s, answers={**ANSWERS, "overall": 5}, at=T0 + timedelta(days=4))
    assert r.answers["overall"] == 18


def test_update_checks_the_survey_and_the_time():
    s = make_survey()
    r = answer(s)
    with pytest.raises(InvalidInput) as exc:
        r.update(survey=make_survey("partners"), answers=ANSWERS, at=T0 + timedelta(days=2))
    assert exc.value.field == "survey_id"
    with pytest.raises(InvalidInput) as exc:
        r.update(survey=s, answers=ANSWERS, at=T0 + timedelta(hours=1))
    assert exc.value.field == "at"


# -- reminders --------------------------------------------------------------------------------

def test_reminders_go_only_to_those_who_have_not_answered():
    s = make_survey()
    at = T0 + timedelta(days=5)
    assert s.remind(at=at, answered_ids=["reg-1", "reg-3"]) == ["reg-2", "reg-4"]
    (ev,) = s.pull_events()
    assert isinstance(ev, SurveyReminderSent)
    assert (ev.respondent_ids, ev.count, ev.reminder_number, ev.sent_at) == (["reg-2", "reg-4"], 2, 1, at)
    with pytest.raises(Conflict) as exc:
        s.remind(at=at + timedelta(hours=23), answered_ids=[])
    assert exc.value.extra["current_state"] == "reminded_recently"
    assert s.remind(at=at + timedelta(hours=24), answered_ids=["reg-1", "reg-2", "reg-3"]) == ["reg-4"]
    assert s.pull_events()[0].reminder_number == 2
    assert s.remind(at=at + timedelta(days=3), answered_ids=["reg-1", "reg-2", "reg-3", "reg-4", "stranger"]) == []
    assert not s.pull_events() and len(s.reminders) == 2


def test_no_reminder_once_closed():
    s = make_survey()
    with pytest.raises(Conflict):
        s.remind(at=CLOSES, answered_ids=[])
    s.close(at=T0 + timedelta(days=1))
    with pytest.raises(Conflict):
        s.remind(at=T0 + timedelta(days=2), answered_ids=[])
    assert [type(e) for e in s.pull_events()] == [SurveyClosed] and not s.reminders


# -- results ----------------------------------------------------------------------------------

def test_results_per_audience():
    participants = make_survey("participants", invited=[f"reg-{i}" for i in range(1, 6)])
    partners = make_survey("partners", invited=["inv-1", "inv-2"])
    responses = [answer(participants, "reg-1", {**ANSWERS, "overall": 14}),
                 answer(participants, "reg-2", {"overall": 17, "come_again": True, "best_part": ["talks"]}),
                 answer(participants, "reg-3", {"overall": 17, "come_again": True, "format": "afternoon"}),
                 answer(partners, "inv-1", {"overall": 18, "come_again": True}),
                 answer(partners, "inv-2", {"overall": 18, "come_again": True})]
    res = results_by_audience([participants, partners], responses)
    p = res[SurveyAudience.PARTICIPANTS]
    assert (p.invited, p.responses, p.response_rate) == (5, 3, 0.6)
    assert p.question("overall").mean_mark == 16.0 and p.question("overall").answered == 3
    assert p.question("come_again").would_come_again_share == 1.0
    assert p.question("format").choice_counts == {"morning": 1, "afternoon": 1}
    assert p.question("best_part").choice_counts == {"talks": 2, "speed_meetings": 1, "lunch": 0}
    assert p.question("comment").answered == 1 and p.question("comment").mean_mark is None
    q = res[SurveyAudience.PARTNERS]
    assert (q.question("overall").mean_mark, q.response_rate, q.question("come_again").would_come_again_share) == (
        18.0, 1.0, 1.0)


def test_results_without_answers_or_invitations():
    s = make_survey(invited=())
    res = survey_results(s, [])
    assert (res.invited, res.responses, res.response_rate) == (0, 0, None)
    assert res.question("overall").mean_mark is None and res.question("come_again").would_come_again_share is None


def test_results_share_who_would_come_again_and_ignore_other_surveys():
    s = make_survey()
    other = make_survey("partners", invited=["reg-1"])
    rs = [answer(s, "reg-1", {"overall": 10, "come_again": True}),
          answer(s, "reg-2", {"overall": 11, "come_again": False}),
          answer(s, "reg-3", {"overall": 12, "come_again": False}),
          answer(other, "reg-1", {"overall": 20, "come_again": True})]
    res = survey_results(s, rs)
    assert res.responses == 3 and res.question("come_again").would_come_again_share == 0.3333
    assert res.question("overall").mean_mark == 11.0


def test_results_by_audience_refuses_two_surveys_of_one_audience_or_of_two_events():
    with pytest.raises(InvalidInput):
        results_by_audience([make_survey(), make_survey()], [])
    with pytest.raises(InvalidInput):
        results_by_audience([make_survey(), make_survey("partners", event_id="evt-other")], [])


# -- erasure of a respondent's free text (GDPR) -------------------------------------------------

def test_erasing_a_respondents_free_text_keeps_every_mark_choice_and_count():
    from services.events.domain.surveys import ERASED_ANSWER

    s = make_survey()
    mine, other = answer(s, "reg-1"), answer(s, "reg-2", {**ANSWERS, "overall": 10, "comment": "Très bien"})
    before = survey_results(s, [mine, other])
    assert mine.erase_free_text(s, at=T0 + timedelta(days=2)) is True
    assert mine.answers["comment"] == ERASED_ANSWER and "Camille" not in json.dumps(mine.model_dump(mode="json"))
    assert {k: v for k, v in mine.answers.items() if k != "comment"} == {k: v for k, v in ANSWERS.items()
                                                                          if k != "comment"}
    assert mine.erased_at == T0 + timedelta(days=2) and not mine.pull_events()[1:]  # no event beyond the submission's
    assert survey_results(s, [mine, other]) == before  # the comment still counts as answered
    assert other.answers["comment"] == "Très bien"
    assert mine.erase_free_text(s, at=T0 + timedelta(days=3)) is False  # nothing left to erase


def test_erasing_free_text_of_a_response_without_any_changes_nothing():
    s = make_survey()
    response = answer(s, "reg-1", {k: v for k, v in ANSWERS.items() if k != "comment"})
    assert response.erase_free_text(s, at=T0 + timedelta(days=2)) is False and response.erased_at is None
    with pytest.raises(InvalidInput) as caught:
        response.erase_free_text(make_survey(audience="partners", invited=("pin-1",)), at=T0 + timedelta(days=2))
    assert caught.value.field == "survey_id"
