"""Builders shared by the membership domain tests."""
from __future__ import annotations

from datetime import date

import pytest

from services.membership.domain import (DEFAULT_FEE_SCALE, DuesTerms, Member, MembershipApplication,
                                        Organisation, StatutesFinding)

VALID_SIRET = "73282932000074"
D = date


def make_org(org_id: str = "org-1", *, legal_form: str = "association", **overrides) -> Organisation:
    fields = dict(siret=VALID_SIRET, name="Les Ateliers Solidaires", legal_form=legal_form, departement="93",
                  commune="Montreuil", sector="économie circulaire", headcount=5,
                  annual_budget_cents=10_000_000, on=D(2024, 1, 10))
    fields.update(overrides)
    return Organisation.register(org_id, **fields)


def admitted_application(org: Organisation, app_id: str = "app-1") -> MembershipApplication:
    app = MembershipApplication.submit(app_id, organisation=org, on=D(2024, 1, 15))
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    if app.statutes_review_required:
        app.review_statutes([StatutesFinding(article="Art. 1", compliant=True)], on=D(2024, 1, 25))
    app.admit(on=D(2024, 2, 1), board_meeting_ref="CA-2024-02")
    return app


TERMS = DuesTerms(payment_terms_days=30, grace_period_days=60)


def make_member(org: Organisation | None = None, *, on: date = D(2024, 2, 5)) -> Member:
    """Activated on 2024-02-05: the 2024 invoice (150 €, bracket B2) is due 2024-03-06, grace
    ends 2024-05-05."""
    org = org or make_org()
    app = admitted_application(org)
    member = Member.activate(application=app, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=on)
    return member


@pytest.fixture
def org() -> Organisation:
    o = make_org()
    o.pull_events()
    return o


@pytest.fixture
def member(org: Organisation) -> Member:
    m = make_member(org)
    m.pull_events()
    return m
