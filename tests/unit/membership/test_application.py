from datetime import date as D

import pytest

from contracts.membership import (ApplicationAdmitted, ApplicationRefused, ApplicationSubmitted, StatutesReviewed,
                                  WelcomeMeetingHeld)
from runtime.errors import Conflict, InvalidInput
from services.membership.domain import (ApplicationStatus, MembershipApplication, StatutesFinding,
                                        StatutesReviewOutcome)

from .conftest import make_org

OK = StatutesFinding(article="Art. 2 — Objet", compliant=True)
KO = StatutesFinding(article="Art. 12 — Bénéfices", compliant=False, comment="Add the development reserve.")


def submit(legal_form: str = "association") -> MembershipApplication:
    return MembershipApplication.submit("app-1", organisation=make_org(legal_form=legal_form), on=D(2024, 1, 15))


def events(app):
    evs = app.pull_events()
    assert all(e.aggregate_id == "app-1" for e in evs)
    return [type(e) for e in evs]


def test_non_commercial_path_submit_meet_admit():
    app = submit("association")
    assert not app.statutes_review_required and app.status is ApplicationStatus.SUBMITTED
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.admit(on=D(2024, 2, 1), board_meeting_ref="CA-2024-02")
    assert app.status is ApplicationStatus.ADMITTED and app.decided_on == D(2024, 2, 1)
    assert events(app) == [ApplicationSubmitted, WelcomeMeetingHeld, ApplicationAdmitted]


def test_submitted_event_says_whether_review_is_required():
    [e] = submit("scess").pull_events()
    assert e.statutes_review_required and e.organisation_id == "org-1" and e.legal_form == "scess"


def test_non_commercial_refused_with_reason():
    app = submit("scop")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.refuse("Not an ESS organisation's activity", on=D(2024, 2, 1))
    assert app.status is ApplicationStatus.REFUSED and app.refusal_reason.startswith("Not an ESS")
    assert events(app)[-1] is ApplicationRefused


def test_commercial_company_compliant_path():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    review = app.review_statutes([OK], on=D(2024, 1, 25))
    assert review.outcome is StatutesReviewOutcome.COMPLIANT and not review.advisory_offer_proposed
    app.admit(on=D(2024, 2, 1))
    assert events(app) == [ApplicationSubmitted, WelcomeMeetingHeld, StatutesReviewed, ApplicationAdmitted]


def test_commercial_company_must_amend_then_re_review_then_admit():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    review = app.review_statutes([OK, KO], on=D(2024, 1, 25))
    assert review.outcome is StatutesReviewOutcome.MUST_AMEND and review.advisory_offer_proposed
    with pytest.raises(Conflict) as exc:
        app.admit(on=D(2024, 2, 1))
    assert "must_amend" in exc.value.detail and exc.value.extra["current_state"] == "statutes_reviewed"
    app.review_statutes([{"article": "Art. 12 — Bénéfices", "compliant": True}], on=D(2024, 3, 1))
    app.admit(on=D(2024, 3, 14))
    evs = app.pull_events()
    reviews = [e for e in evs if isinstance(e, StatutesReviewed)]
    assert [r.review_number for r in reviews] == [1, 2]
    assert reviews[0].findings == [OK, KO] and reviews[0].advisory_offer_proposed
    assert reviews[1].outcome is StatutesReviewOutcome.COMPLIANT


def test_commercial_company_with_statutes_to_amend_can_be_refused():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.review_statutes([KO], on=D(2024, 1, 25))
    app.refuse("Statutes not amended", on=D(2024, 4, 1))
    assert app.status is ApplicationStatus.REFUSED


def test_commercial_company_cannot_skip_review():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    for decide in (lambda: app.admit(on=D(2024, 2, 1)), lambda: app.refuse("x", on=D(2024, 2, 1))):
        with pytest.raises(Conflict) as exc:
            decide()
        assert "welcome_meeting_held" in exc.value.detail and "review the statutes" in exc.value.detail


@pytest.mark.parametrize("form", ["association", "scop", "scic", "cae", "mutual", "foundation", "cooperative"])
def test_statutes_review_is_a_conflict_for_non_commercial(form):
    app = submit(form)
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(Conflict) as exc:
        app.review_statutes([OK], on=D(2024, 1, 25))
    assert "only commercial companies" in exc.value.detail
    assert exc.value.extra["expected_step"] == "board decision (admit or refuse)"


def test_out_of_order_before_welcome_meeting():
    app = submit("scess")
    for step in (lambda: app.review_statutes([OK], on=D(2024, 1, 25)), lambda: app.admit(on=D(2024, 2, 1)),
                 lambda: app.refuse("no", on=D(2024, 2, 1))):
        with pytest.raises(Conflict) as exc:
            step()
        assert "is submitted" in exc.value.detail and "hold the welcome meeting" in exc.value.detail


def test_welcome_meeting_only_once():
    app = submit()
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(Conflict):
        app.hold_welcome_meeting(on=D(2024, 1, 21))


def test_compliant_review_is_not_repeated():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.review_statutes([OK], on=D(2024, 1, 25))
    with pytest.raises(Conflict):
        app.review_statutes([OK], on=D(2024, 1, 26))


@pytest.mark.parametrize("form", ["association", "scess"])
@pytest.mark.parametrize("decision", ["admit", "refuse"])
def test_decided_application_accepts_no_step(form, decision):
    app = submit(form)
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    if app.statutes_review_required:
        app.review_statutes([OK], on=D(2024, 1, 25))
    getattr(app, decision)(**({"reason": "r"} if decision == "refuse" else {}), on=D(2024, 2, 1))
    steps = [lambda: app.hold_welcome_meeting(on=D(2024, 2, 2)), lambda: app.admit(on=D(2024, 2, 2)),
             lambda: app.refuse("again", on=D(2024, 2, 2))]
    if form == "scess":
        steps.append(lambda: app.review_statutes([OK], on=D(2024, 2, 2)))
    for step in steps:
        with pytest.raises(Conflict) as exc:
            step()
        assert "the application is decided" in exc.value.detail


@pytest.mark.parametrize("reason", ["", "   "])
def test_refusal_needs_a_reason(reason):
    app = submit()
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(InvalidInput) as exc:
        app.refuse(reason, on=D(2024, 2, 1))
    assert exc.value.field == "reason" and app.status is ApplicationStatus.WELCOME_MEETING_HELD


def test_review_findings_rules():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(InvalidInput) as exc:
        app.review_statutes([], on=D(2024, 1, 25))
    assert exc.value.field == "findings"
    with pytest.raises(InvalidInput) as exc:
        app.review_statutes([OK, StatutesFinding(article="Art. 5", compliant=False)], on=D(2024, 1, 25))
    assert exc.value.field == "findings.1.comment"
    with pytest.raises(InvalidInput) as exc:
        app.review_statutes([OK, OK], on=D(2024, 1, 25))
    assert exc.value.field == "findings.1.article"
    with pytest.raises(InvalidInput) as exc:
        app.review_statutes([{"article": "", "compliant": True}], on=D(2024, 1, 25))
    assert exc.value.field == "findings.0"
    assert app.reviews == [] and app.status is ApplicationStatus.WELCOME_MEETING_HELD


def test_dates_do_not_go_backwards():
    app = submit()
    with pytest.raises(InvalidInput) as exc:
        app.hold_welcome_meeting(on=D(2024, 1, 14))
    assert exc.value.field == "on"
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(InvalidInput):
        app.admit(on=D(2024, 1, 19))


def test_legal_form_is_snapshotted_at_submission():
    org = make_org(legal_form="scess")
    app = MembershipApplication.submit("app-1", organisation=org, on=D(2024, 1, 15))
    org.update(on=D(2024, 1, 16), legal_form="scic")
    assert app.statutes_review_required


def test_json_round_trip():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.review_statutes([OK, KO], on=D(2024, 1, 25))
    app.review_statutes([OK], on=D(2024, 2, 25))
    app.refuse("late", on=D(2024, 3, 1), board_meeting_ref="CA-3")
    app.pull_events()
    data = app.model_dump(mode="json")
    back = MembershipApplication.model_validate(data)
    assert back == app and back.model_dump(mode="json") == data


# -- what each step records, and the rules each step keeps --------------------------------------

def test_each_step_s_event_carries_the_application_its_organisation_and_its_date():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.review_statutes([OK, KO], on=D(2024, 1, 25))
    app.review_statutes([OK], on=D(2024, 2, 5))
    app.admit(on=D(2024, 2, 10), board_meeting_ref="  CA-2024-02  ")
    submitted, met, first, second, admitted = app.pull_events()
    assert (submitted.application_id, submitted.organisation_id, submitted.submitted_on) == \
        ("app-1", "org-1", D(2024, 1, 15))
    assert (met.application_id, met.organisation_id, met.held_on, app.welcome_meeting_on) == \
        ("app-1", "org-1", D(2024, 1, 20), D(2024, 1, 20))
    assert (first.application_id, first.organisation_id, first.reviewed_on, first.outcome) == \
        ("app-1", "org-1", D(2024, 1, 25), StatutesReviewOutcome.MUST_AMEND)
    assert (second.review_number, second.findings, second.advisory_offer_proposed, second.reviewed_on) == \
        (2, [OK], False, D(2024, 2, 5))
    assert [(r.number, r.reviewed_on) for r in app.reviews] == [(1, D(2024, 1, 25)), (2, D(2024, 2, 5))]
    assert (admitted.application_id, admitted.organisation_id, admitted.legal_form, admitted.decided_on,
            admitted.board_meeting_ref) == ("app-1", "org-1", "scess", D(2024, 2, 10), "CA-2024-02")
    assert (app.decided_on, app.board_meeting_ref) == (D(2024, 2, 10), "CA-2024-02")


def test_a_refusal_records_its_reason_date_and_board_meeting():
    app = submit()
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.pull_events()
    app.refuse("  Hors du champ de l'ESS  ", on=D(2024, 2, 1), board_meeting_ref="CA-7")
    (refused,) = app.pull_events()
    assert (refused.application_id, refused.organisation_id, refused.reason, refused.decided_on,
            refused.board_meeting_ref) == ("app-1", "org-1", "Hors du champ de l'ESS", D(2024, 2, 1), "CA-7")
    assert (app.refusal_reason, app.decided_on, app.board_meeting_ref) == \
        ("Hors du champ de l'ESS", D(2024, 2, 1), "CA-7")


@pytest.mark.parametrize("application_id", ["", "   ", None])
def test_an_application_needs_an_id(application_id):
    with pytest.raises(InvalidInput) as exc:
        MembershipApplication.submit(application_id, organisation=make_org(), on=D(2024, 1, 15))
    assert exc.value.field == "application_id"


def test_a_refusal_s_reason_is_at_most_2000_characters_and_a_board_meeting_ref_100():
    app = submit()
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(InvalidInput) as exc:
        app.refuse("r" * 2001, on=D(2024, 2, 1))
    assert exc.value.field == "reason"
    with pytest.raises(InvalidInput) as exc:
        app.refuse("r", on=D(2024, 2, 1), board_meeting_ref="B" * 101)
    assert exc.value.field == "board_meeting_ref"
    app.refuse("r" * 2000, on=D(2024, 2, 1), board_meeting_ref="B" * 100)
    assert app.status is ApplicationStatus.REFUSED and app.board_meeting_ref == "B" * 100


def test_a_non_compliant_finding_whose_comment_is_blank_is_refused():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(InvalidInput) as exc:
        app.review_statutes([StatutesFinding(article="Art. 5", compliant=False, comment="   ")], on=D(2024, 1, 25))
    assert exc.value.field == "findings.0.comment"
    assert exc.value.detail == "article 'Art. 5' is not compliant: say why"


def test_an_article_is_the_same_whatever_its_case_and_surrounding_spaces():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    for twice in ("art. 2 — objet", " Art. 2 — Objet "):
        with pytest.raises(InvalidInput) as exc:
            app.review_statutes([OK, StatutesFinding(article=twice, compliant=True)], on=D(2024, 1, 25))
        assert exc.value.field == "findings.1.article"
        assert exc.value.detail == f"article {twice!r} is reviewed twice"


def test_a_finding_given_as_data_is_named_by_its_position():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(InvalidInput) as exc:
        app.review_statutes([{"article": "Art. 1", "compliant": True}, {"article": "Art. 2"}], on=D(2024, 1, 25))
    assert exc.value.field == "findings.1" and "compliant" in exc.value.detail


def test_a_review_is_not_dated_before_the_welcome_meeting_nor_before_the_previous_review():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(InvalidInput) as exc:
        app.review_statutes([OK], on=D(2024, 1, 19))
    assert exc.value.field == "on" and exc.value.detail == "on 2024-01-19 is before the previous step (2024-01-20)"
    app.review_statutes([KO], on=D(2024, 1, 25))
    with pytest.raises(InvalidInput) as exc:
        app.review_statutes([OK], on=D(2024, 1, 24))
    assert exc.value.detail == "on 2024-01-24 is before the previous step (2024-01-25)"
    app.review_statutes([OK], on=D(2024, 1, 25))  # the same day is not before
    assert [r.number for r in app.reviews] == [1, 2]


@pytest.mark.parametrize("decision", ["admit", "refuse"])
def test_a_decision_is_not_dated_before_the_last_review(decision):
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.review_statutes([OK], on=D(2024, 1, 25))
    decide = app.admit if decision == "admit" else (lambda **kw: app.refuse("r", **kw))
    with pytest.raises(InvalidInput) as exc:
        decide(on=D(2024, 1, 24))
    assert exc.value.detail == "on 2024-01-24 is before the previous step (2024-01-25)"
    decide(on=D(2024, 1, 25))
    assert app.decided_on == D(2024, 1, 25)


def test_a_withdrawal_is_not_dated_before_the_submission_nor_before_the_last_review():
    app = submit("scess")
    with pytest.raises(InvalidInput) as exc:
        app.withdraw(on=D(2024, 1, 14))
    assert exc.value.detail == "on 2024-01-14 is before the last step of the application (2024-01-15)"
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.review_statutes([KO], on=D(2024, 1, 25))
    with pytest.raises(InvalidInput) as exc:
        app.withdraw(on=D(2024, 1, 24))
    assert exc.value.detail == "on 2024-01-24 is before the last step of the application (2024-01-25)"
    app.withdraw(on=D(2024, 1, 25), reason="   ")
    assert (app.withdrawn_on, app.withdrawal_reason) == (D(2024, 1, 25), None)


def test_the_conflicts_say_the_state_and_the_step_expected():
    app = submit("scess")
    with pytest.raises(Conflict) as exc:
        app.admit(on=D(2024, 2, 1))
    assert exc.value.detail == ("cannot admit: application app-1 is submitted; "
                                "expected step: hold the welcome meeting")
    assert exc.value.extra == {"current_state": "submitted", "expected_step": "hold the welcome meeting"}
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.review_statutes([KO], on=D(2024, 1, 25))
    with pytest.raises(Conflict) as exc:
        app.admit(on=D(2024, 2, 1))
    assert exc.value.detail == ("cannot admit application app-1: its statutes must be amended and reviewed again "
                                "(last review #1: must_amend); expected step: review the amended statutes, or refuse")
    assert exc.value.extra == {"current_state": "statutes_reviewed",
                               "expected_step": "review the amended statutes, or refuse"}
    other = submit("association")
    other.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(Conflict) as exc:
        other.review_statutes([OK], on=D(2024, 1, 25))
    assert exc.value.detail == ("application app-1: the statutes of a association are not reviewed (only "
                                "commercial companies'); application is welcome_meeting_held, expected step: "
                                "board decision (admit or refuse)")
    assert exc.value.extra == {"current_state": "welcome_meeting_held",
                               "expected_step": "board decision (admit or refuse)"}


def test_each_step_out_of_order_names_itself():
    app = submit("scess")
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    app.review_statutes([OK], on=D(2024, 1, 25))
    app.admit(on=D(2024, 2, 1))
    expected = "application app-1 is admitted; expected step: none: the application is decided"
    for step, action in ((lambda: app.hold_welcome_meeting(on=D(2024, 2, 2)), "hold the welcome meeting"),
                         (lambda: app.review_statutes([OK], on=D(2024, 2, 2)), "review the statutes"),
                         (lambda: app.refuse("r", on=D(2024, 2, 2)), "refuse"),
                         (lambda: app.withdraw(on=D(2024, 2, 2)), "withdraw the application")):
        with pytest.raises(Conflict) as exc:
            step()
        assert exc.value.detail == f"cannot {action}: {expected}"


def test_the_refusals_of_input_say_why():
    app = submit("scess")
    with pytest.raises(InvalidInput) as exc:
        app.hold_welcome_meeting(on=D(2024, 1, 14))
    assert exc.value.detail == "on 2024-01-14 is before the submission (2024-01-15)"
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(InvalidInput) as exc:
        app.review_statutes([], on=D(2024, 1, 25))
    assert exc.value.detail == "a statutes review has at least one finding"
    app.review_statutes([OK], on=D(2024, 1, 25))
    with pytest.raises(InvalidInput) as exc:
        app.admit(on=D(2024, 1, 24))
    assert exc.value.field == "on"


def test_a_withdrawal_keeps_its_reason():
    app = submit()
    app.withdraw(on=D(2024, 1, 16), reason="  Fusion en cours ")
    assert (app.withdrawn_on, app.withdrawal_reason) == (D(2024, 1, 16), "Fusion en cours")
