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
