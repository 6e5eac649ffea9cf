"""The roll of an assembly on a date, at its boundaries: a membership that starts that very day,
dues invoiced and paid that day, another year's dues, an organisation left out, and the dated
college assignments' refusals."""
from __future__ import annotations

from datetime import date

import pytest

from contracts.membership import LegalForm, VotingRightsWithheld
from runtime.errors import Conflict
from services.membership.domain import DEFAULT_FEE_SCALE
from services.membership.domain.governance import DEFAULT_STATUTES, CollegeAssignment, roll_on, voting_rights

from .conftest import make_member, make_org

D = date
ACTIVATED = D(2024, 2, 5)  # make_member's activation, and the issue of its 2024 invoice (150 €)


def test_a_membership_starting_on_the_reference_date_is_on_the_roll_with_dues_paid_that_day():
    member = make_member(make_org())
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=ACTIVATED)
    [entry] = roll_on([member], {"org-1": LegalForm.ASSOCIATION}, {}, DEFAULT_STATUTES, ACTIVATED)
    assert (entry.organisation_id, entry.member_id, entry.voting_rights, entry.reason, entry.detail) == (
        "org-1", "org-1", True, None, None)


def test_only_the_reference_year_s_dues_give_voting_rights():
    member = make_member(make_org())
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    member.invoice_dues(2025, organisation=make_org(), fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 10))
    assert voting_rights(member, DEFAULT_STATUTES, D(2025, 1, 20)) == (
        VotingRightsWithheld.DUES_UNPAID,
        "the 2025 dues were not paid in full by 2025-01-20 (statutes: dues_paid_required)")


def test_an_organisation_left_out_does_not_hide_the_ones_after_it():
    """Organisations are taken in id order; one not yet a member on the date, or without a known
    legal form, is skipped, not the end of the roll."""
    early = make_member(make_org("org-0"))
    late = make_member(make_org("org-2"), on=D(2024, 3, 1))
    member = make_member(make_org("org-1"))
    forms = {"org-1": LegalForm.ASSOCIATION, "org-2": LegalForm.SCOP}
    roll = roll_on([early, late, member], forms, {}, DEFAULT_STATUTES, D(2024, 2, 20))
    assert [e.organisation_id for e in roll] == ["org-1"], "org-0's legal form unknown, org-2 not yet a member"
    roll = roll_on([early, late, member], {**forms, "org-0": LegalForm.MUTUAL}, {}, DEFAULT_STATUTES,
                   D(2024, 3, 1))
    assert [(e.organisation_id, e.college) for e in roll] == [
        ("org-0", "mutuals"), ("org-1", "associations"), ("org-2", "cooperatives")]


def test_of_an_organisation_s_memberships_the_roll_assesses_the_latest_started():
    first = make_member(make_org())  # 2024 dues unpaid
    second = make_member(make_org(), on=D(2024, 3, 1))
    second.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 3, 1))
    forms = {"org-1": LegalForm.ASSOCIATION}
    [entry] = roll_on([first, second], forms, {}, DEFAULT_STATUTES, D(2024, 3, 2))
    assert (entry.voting_rights, entry.reason) == (True, None)
    [entry] = roll_on([second, first], forms, {}, DEFAULT_STATUTES, D(2024, 2, 29))
    assert (entry.voting_rights, entry.reason) == (False, VotingRightsWithheld.DUES_UNPAID)


def test_a_college_is_assigned_again_the_same_day_and_never_before_the_last_assignment():
    assignment = CollegeAssignment.start("org-1")
    assert assignment.college_on(D(2024, 1, 1)) is None, "no assignment: the legal form's college"
    assignment.assign("networks", statutes=DEFAULT_STATUTES, on=D(2024, 4, 1))
    assignment.assign("mutuals", statutes=DEFAULT_STATUTES, on=D(2024, 4, 1))  # a correction, the same day
    assert assignment.college_on(D(2024, 3, 31)) is None and assignment.college_on(D(2024, 4, 1)) == "mutuals"
    assignment.assign(None, statutes=DEFAULT_STATUTES, on=D(2024, 9, 1))
    with pytest.raises(Conflict) as e:
        assignment.assign("networks", statutes=DEFAULT_STATUTES, on=D(2024, 8, 31))
    assert e.value.detail == ("the college of org-1 was last assigned on 2024-09-01; an assignment cannot be "
                              "dated before it (2024-08-31)")
    assert e.value.extra == {"current_state": "legal_form"}
    assignment.assign("networks", statutes=DEFAULT_STATUTES, on=D(2024, 10, 1))
    with pytest.raises(Conflict) as e:
        assignment.assign("mutuals", statutes=DEFAULT_STATUTES, on=D(2024, 9, 30))
    assert e.value.detail == ("the college of org-1 was last assigned on 2024-10-01; an assignment cannot be "
                              "dated before it (2024-09-30)")
    assert e.value.extra == {"current_state": "networks"}
    assert [(ev.college, ev.since_on) for ev in assignment.pull_events()] == [
        ("networks", D(2024, 4, 1)), ("mutuals", D(2024, 4, 1)), (None, D(2024, 9, 1)), ("networks", D(2024, 10, 1))]
