"""An applicant withdraws its application (issue 10)."""
from datetime import date as D

import pytest

from contracts.membership import ApplicationWithdrawn
from runtime.errors import Conflict, InvalidInput
from services.membership.domain import ApplicationStatus, MembershipApplication, StatutesFinding

from .conftest import make_org


def submitted(legal_form: str = "association") -> MembershipApplication:
    app = MembershipApplication.submit("app-1", organisation=make_org(legal_form=legal_form), on=D(2060, 1, 15))
    app.pull_events()
    return app


@pytest.mark.parametrize("steps", [0, 1, 2])
def test_an_open_application_can_be_withdrawn_once(steps):
    app = submitted("scess")
    if steps >= 1:
        app.hold_welcome_meeting(on=D(2060, 1, 20))
    if steps >= 2:
        app.review_statutes([StatutesFinding(article="Art. 1", compliant=False, comment="x")], on=D(2060, 1, 25))
    previous = app.status
    app.pull_events()
    app.withdraw(on=D(2060, 2, 1), reason="Fusion en cours")
    (event,) = app.pull_events()
    assert isinstance(event, ApplicationWithdrawn)
    assert (event.application_id, event.organisation_id, event.previous_status, event.reason, event.withdrawn_on) == \
        ("app-1", "org-1", previous.value, "Fusion en cours", D(2060, 2, 1))
    assert app.status is ApplicationStatus.WITHDRAWN and not app.is_open and not app.is_decided
    with pytest.raises(Conflict) as exc:
        app.withdraw(on=D(2060, 2, 2))
    assert "withdrawn" in exc.value.detail
    for step in (lambda: app.hold_welcome_meeting(on=D(2060, 2, 3)), lambda: app.admit(on=D(2060, 2, 3)),
                 lambda: app.refuse("no", on=D(2060, 2, 3))):
        with pytest.raises(Conflict):
            step()


@pytest.mark.parametrize("decision", ["admit", "refuse"])
def test_a_decided_application_cannot_be_withdrawn(decision):
    app = submitted()
    app.hold_welcome_meeting(on=D(2060, 1, 20))
    app.admit(on=D(2060, 2, 1)) if decision == "admit" else app.refuse("Hors ESS", on=D(2060, 2, 1))
    app.pull_events()
    with pytest.raises(Conflict) as exc:
        app.withdraw(on=D(2060, 2, 2))
    assert exc.value.extra["current_state"] == app.status.value
    assert app.pull_events() == []


def test_a_withdrawal_is_not_dated_before_the_last_step():
    app = submitted()
    app.hold_welcome_meeting(on=D(2060, 1, 20))
    with pytest.raises(InvalidInput) as exc:
        app.withdraw(on=D(2060, 1, 19))
    assert exc.value.field == "on"
    with pytest.raises(InvalidInput) as exc:
        app.withdraw(on=D(2060, 1, 21), reason="x" * 2001)
    assert exc.value.field == "reason"
    assert app.status is ApplicationStatus.WELCOME_MEETING_HELD
