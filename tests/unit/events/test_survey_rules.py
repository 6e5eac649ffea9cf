"""Satisfaction surveys (services/events/domain/surveys.py), what test_surveys.py does not read: the
words, state and step of each refusal, the bounds of each rule, what each step keeps, and the
rounding of the results."""
from __future__ import annotations

from datetime import timedelta

from services.events.domain.surveys import (Survey, SurveyAudience, SurveyStatus, response_id, results_by_audience,
                                            survey_results)

from tests.unit.refusals import conflict, refusal
from .test_surveys import ANSWERS, CLOSES, QUESTIONS, T0, answer, make_survey

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


# -- the survey's steps --------------------------------------------------------------------------

def test_each_step_out_of_order_names_itself_the_state_and_the_next_step():
    draft = make_survey(open_=False)
    opened = make_survey("partners")
    closed = make_survey("partners")
    closed.close(at=T0 + DAY)
    assert conflict(opened.revise, at=T0, title="x") == (
        "cannot revise the survey: survey srv-partners is open; expected step: answer, remind or close",
        {"current_state": "open", "expected_step": "answer, remind or close"})
    assert conflict(opened.open, at=T0) == (
        "cannot open the survey: survey srv-partners is open; expected step: answer, remind or close",
        {"current_state": "open", "expected_step": "answer, remind or close"})
    assert conflict(draft.close, at=T0) == (
        "cannot close the survey: survey srv-participants is draft; expected step: open the survey (or revise it, "
        "invite respondents)",
        {"current_state": "draft", "expected_step": "open the survey (or revise it, invite respondents)"})
    assert conflict(closed.invite, ["x"], at=T0 + DAY) == (
        "cannot invite respondents: survey srv-partners is closed; expected step: none: the survey is closed",
        {"current_state": "closed", "expected_step": "none: the survey is closed"})
    assert conflict(draft.remind, at=T0, answered_ids=[])[0] == (
        "cannot send a reminder: survey srv-participants is draft; expected step: open the survey (or revise it, "
        "invite respondents)")


def test_closing_keeps_its_time():
    s = make_survey()
    s.close(at=T0 + DAY)
    assert (s.status, s.closed_at) == (SurveyStatus.CLOSED, T0 + DAY)
    assert s.pull_events()[0].closed_at == T0 + DAY


def test_a_revised_title_is_checked_like_the_first():
    s = make_survey(open_=False)
    s.revise(at=T0, title="t" * 200)
    assert s.title == "t" * 200
    assert refusal(s.revise, at=T0, title="t" * 201) == ("title", "title is longer than 200 characters")
    assert refusal(s.revise, at=T0, title=" ") == ("title", "title is required")


# -- reminders -----------------------------------------------------------------------------------

def test_a_reminder_too_soon_says_from_when():
    s = make_survey()
    at = T0 + 5 * DAY
    s.remind(at=at, answered_ids=[])
    assert conflict(s.remind, at=at + 2 * HOUR, answered_ids=[], min_hours_between=3) == (
        "survey srv-participants: the last reminder went at 2023-11-15T09:00:00+01:00; wait 3 h between reminders",
        {"current_state": "reminded_recently", "expected_step": "remind from 2023-11-15T12:00:00+01:00"})
    assert s.remind(at=at + 3 * HOUR, answered_ids=[], min_hours_between=3) == ["reg-1", "reg-2", "reg-3", "reg-4"]
    assert s.remind(at=at + 3 * HOUR, answered_ids=["reg-1"], min_hours_between=0) == ["reg-2", "reg-3", "reg-4"]


def test_the_pause_between_reminders_is_0_to_a_year_in_hours():
    s = make_survey()
    assert s.remind(at=T0 + DAY, answered_ids=[], min_hours_between=24 * 365) == ["reg-1", "reg-2", "reg-3",
                                                                                   "reg-4"]
    for bad in (-1, 24 * 365 + 1):
        assert refusal(s.remind, at=T0 + 2 * DAY, answered_ids=[], min_hours_between=bad) == (
            "min_hours_between", f"min_hours_between must be a whole number from 0 to 8760 (got {bad})")


def test_the_ids_of_a_reminder_are_lists():
    s = make_survey()
    assert refusal(s.remind, at=T0 + DAY, answered_ids="reg-1") == (
        "answered_ids", "answered_ids must be a list of ids")
    assert refusal(s.remind, at=T0 + DAY, answered_ids=[], skipped_ids="reg-1") == (
        "skipped_ids", "skipped_ids must be a list of ids")
    assert s.remind(at=T0 + DAY, answered_ids=["reg-1"], skipped_ids=["reg-3"]) == ["reg-2", "reg-4"]


def test_no_reminder_after_the_closing_time_says_when_it_closed():
    s = make_survey()
    assert conflict(s.remind, at=CLOSES, answered_ids=[]) == (
        "cannot send a reminder: survey srv-participants closed at 2023-11-30T23:59:00+01:00",
        {"current_state": "closed", "expected_step": "none: the survey is closed"})


# -- responses -----------------------------------------------------------------------------------

def test_changing_answers_counts_the_revisions_and_says_what_is_refused():
    s = make_survey()
    r = answer(s)
    assert r.update(survey=s, answers={**ANSWERS, "overall": 17}, at=T0 + 2 * DAY) is True
    assert r.update(survey=s, answers={**ANSWERS, "overall": 18}, at=T0 + 3 * DAY) is True
    assert r.revision == 2 and r.pull_events()[-1].revision == 2
    other = make_survey("partners", invited=["reg-1"])
    assert refusal(r.update, survey=other, answers=ANSWERS, at=T0 + 3 * DAY) == (
        "survey_id", "response srv-participants:reg-1 answers survey srv-participants, not srv-partners")
    assert refusal(r.update, survey=s, answers=ANSWERS, at=T0 + HOUR) == (
        "at", "at 2023-11-10T10:00:00+01:00 is before the submission (2023-11-11T09:00:00+01:00)")
    assert conflict(r.update, survey=s, answers=ANSWERS, at=CLOSES) == (
        "cannot change the answers: survey srv-participants closed at 2023-11-30T23:59:00+01:00",
        {"current_state": "closed", "expected_step": "none: the survey is closed"})


def test_erasing_free_text_checks_the_survey_and_the_time():
    s = make_survey()
    r = answer(s)
    other = make_survey("partners", invited=["reg-1"])
    assert refusal(r.erase_free_text, other, at=T0 + DAY) == (
        "survey_id", "response srv-participants:reg-1 answers survey srv-participants, not srv-partners")
    assert refusal(r.erase_free_text, s, at="now") == ("at", "at must be a date and time (got 'now')")


def test_an_event_tells_the_answers_of_every_question_answered_after_one_left_blank():
    questions = [{"question_id": "skipped", "type": "mark", "text": "?", "required": False}, *QUESTIONS]
    s = make_survey(questions=questions)
    r = answer(s, answers=ANSWERS)
    [e] = r.pull_events()
    assert (e.marks, e.would_come_again) == ({"overall": 16}, {"come_again": True})
    assert e.choices == {"format": ["morning"], "best_part": ["talks", "speed_meetings"]}
    assert r.id == response_id("srv-participants", "reg-1")


# -- results -------------------------------------------------------------------------------------

def test_results_are_rounded_marks_to_2_decimals_and_rates_to_4():
    s = make_survey(invited=[f"reg-{i}" for i in range(1, 8)])
    rs = [answer(s, "reg-1", {"overall": 10, "come_again": True}),
          answer(s, "reg-2", {"overall": 10, "come_again": False}),
          answer(s, "reg-3", {"overall": 11, "come_again": False})]
    res = survey_results(s, rs)
    assert res.question("overall").mean_mark == 10.33  # 31 / 3
    assert res.response_rate == 0.4286  # 3 / 7
    assert res.question("nope") is None


def test_two_surveys_of_one_audience_or_of_two_events_are_refused_with_their_reason():
    assert refusal(results_by_audience, [make_survey(), make_survey()], []) == (
        "surveys", "two surveys for the participants of the event")
    assert refusal(results_by_audience, [make_survey(), make_survey("partners", event_id="evt-other")], []) == (
        "surveys", "the surveys are of different events")
    both = results_by_audience([make_survey(), make_survey("partners")], [])
    assert set(both) == {SurveyAudience.PARTICIPANTS, SurveyAudience.PARTNERS}


# -- the questions -------------------------------------------------------------------------------

def create(questions, **kw) -> Survey:
    fields = dict(event_id="evt-1", audience="participants", title="t", questions=questions, at=T0)
    fields.update(kw)
    return Survey.create("srv", **fields)


def mark(qid: str = "q", **kw) -> dict:
    return {"question_id": qid, "type": "mark", "text": "Note ?", **kw}


def choice(*codes, qid: str = "q") -> dict:
    return {"question_id": qid, "type": "single_choice", "text": "Lequel ?", "choices": list(codes)}


def test_questions_and_choices_may_be_given_as_built_and_a_choice_s_label_defaults_to_its_code():
    first = create([mark(), {"question_id": "c", "type": "multiple_choice", "text": "?",
                             "choices": [{"code": "a"}, {"code": "b", "label": "Bé"}, "c"]}])
    again = create(first.questions)
    assert again.questions == first.questions
    assert [(c.code, c.label) for c in first.questions[1].choices] == [("a", "a"), ("b", "Bé"), ("c", "c")]
    built = create([{**choice("x", "y"), "choices": list(first.questions[1].choices)}])
    assert built.questions[0].choices == first.questions[1].choices


def test_the_bounds_of_a_survey_s_texts_and_lists():
    longest = create([mark(text="t" * 500), {**choice(*[f"c{i}" for i in range(30)], qid="c"),
                                             "choices": [{"code": f"c{i}", "label": "l" * 200} for i in range(30)]}],
                     title="t" * 200)
    assert len(longest.questions[1].choices) == 30 and longest.title == "t" * 200
    assert len(create([mark(f"q{i}") for i in range(50)]).questions) == 50
    assert refusal(create, [mark(text="t" * 501)]) == ("questions.0.text", "questions.0.text is longer than 500 characters")
    assert refusal(create, [{**choice("a", "b"), "choices": [{"code": "a"}, {"code": "b", "label": "l" * 201}]}]) == (
        "questions.0.choices.1.label", "questions.0.choices.1.label is longer than 200 characters")
    assert refusal(create, [mark()], title="t" * 201) == ("title", "title is longer than 200 characters")
    assert refusal(create, [choice(*[f"c{i}" for i in range(31)])]) == (
        "questions.0.choices", "a question has at most 30 choices")
    assert refusal(create, [mark(f"q{i}") for i in range(51)]) == ("questions", "a survey has at most 50 questions")


def test_each_refused_question_says_what_is_wrong():
    assert refusal(create, "q") == ("questions", "questions must be a list")
    assert refusal(create, []) == ("questions", "a survey has at least one question")
    assert refusal(create, [mark(), 3]) == ("questions.1", "questions.1 must be a question")
    assert refusal(create, [mark(), mark()]) == ("questions.1.question_id", "question 'q' appears twice")
    assert refusal(create, [{**mark(), "choices": "a"}]) == ("questions.0.choices", "choices must be a list")
    assert refusal(create, [choice("a")]) == ("questions.0.choices", "a choice question has at least 2 choices")
    assert refusal(create, [{**mark(), "choices": ["a", "b"]}]) == (
        "questions.0.choices", "a mark question has no choices")
    assert refusal(create, [choice("a", 3)]) == (
        "questions.0.choices.1", "questions.0.choices.1 must be a choice (code and label)")
    assert refusal(create, [choice("a", "b", "b")]) == ("questions.0.choices.2.code", "choice 'b' appears twice")
    assert refusal(create, [choice("a", "a", "b")]) == ("questions.0.choices.1.code", "choice 'a' appears twice")
    assert refusal(create, [mark()], closes_at=T0) == (
        "closes_at", "closes_at (2023-11-10T09:00:00+01:00) is not after 2023-11-10T09:00:00+01:00")


def test_a_survey_s_id_and_times_are_checked_and_named():
    assert refusal(Survey.create, " ", event_id="evt-1", audience="participants", title="t", questions=[mark()],
                   at=T0) == ("survey_id", "survey_id is required")
    s = make_survey(open_=False)
    assert refusal(s.invite, ["x"], at="now") == ("at", "at must be a date and time (got 'now')")
    assert refusal(s.open, at=T0 - HOUR) == (
        "at", "at 2023-11-10T08:00:00+01:00 is before the creation of the survey (2023-11-10T09:00:00+01:00)")
    assert refusal(s.open, at=CLOSES) == (
        "closes_at", "the survey would close (2023-11-30T23:59:00+01:00) before it opens")
    s.open(at=T0 + HOUR)
    assert refusal(answer, s, at=T0 + HOUR / 2) == (
        "at", "at 2023-11-10T09:30:00+01:00 is before the opening of the survey (2023-11-10T10:00:00+01:00)")


def test_invitations_are_lists_of_at_most_100000_respondents():
    s = make_survey(invited=(), open_=False)
    assert refusal(s.invite, "reg-1", at=T0) == ("respondent_ids", "respondent_ids must be a list of ids")
    ids = [f"r{i}" for i in range(100_000)]
    assert len(s.invite(ids, at=T0)) == 100_000
    assert conflict(s.invite, ["one-more"], at=T0) == (
        "survey srv-participants would have more than 100000 respondents",
        {"current_state": "draft", "expected_step": "open the survey (or revise it, invite respondents)"})
    assert len(s.invited) == 100_000


# -- the answers ---------------------------------------------------------------------------------

def test_each_refused_answer_says_what_is_wrong():
    s = make_survey()
    assert refusal(answer, s, rid=" ") == ("respondent_id", "respondent_id is required")
    assert refusal(answer, s, rid="reg-9") == ("respondent_id", "'reg-9' is not invited to survey srv-participants")
    cases = [
        ({"nope": 1}, "answers.nope", "survey srv-participants has no question 'nope'"),
        ({"overall": None}, "answers.overall", "question 'overall' requires an answer"),
        ({"format": "evening"}, "answers.format", "'evening' is not a choice of 'format' (morning, afternoon)"),
        ({"best_part": "talks"}, "answers.best_part", "'best_part' takes a list of choices"),
        ({"best_part": ["karaoke"]}, "answers.best_part",
         "'karaoke' is not a choice of 'best_part' (talks, speed_meetings, lunch)"),
        ({"best_part": ["talks", "talks"]}, "answers.best_part", "choice 'talks' is picked twice"),
    ]
    for changes, field, words in cases:
        assert refusal(answer, s, answers={**ANSWERS, **changes}) == (field, words)
    assert refusal(answer, s, answers=[("overall", 3)]) == ("answers", "answers must be an object keyed by question id")
    assert answer(s, answers={**ANSWERS, "comment": "c" * 4000}).answers["comment"] == "c" * 4000


def test_an_answer_to_a_survey_not_taking_answers_says_so():
    assert conflict(answer, make_survey(open_=False)) == (
        "cannot answer the survey: survey srv-participants is draft; expected step: open the survey (or revise it, "
        "invite respondents)",
        {"current_state": "draft", "expected_step": "open the survey (or revise it, invite respondents)"})
    assert conflict(answer, make_survey(), at=CLOSES)[0] == (
        "cannot answer the survey: survey srv-participants closed at 2023-11-30T23:59:00+01:00")
