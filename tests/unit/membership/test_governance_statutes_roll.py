"""Statutes (colleges, rules) and the roll of voting rights on a date."""
from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from contracts.membership import LegalForm, VotingRightsWithheld
from runtime.errors import Conflict, InvalidInput
from services.membership.domain import DEFAULT_FEE_SCALE
from services.membership.settings import GovernanceSettings
from services.membership.domain.governance import (DEFAULT_STATUTES, College, CollegeAssignment, MajorityRule,
                                                   QuorumRule, Statutes, roll_on, voting_rights)

from .conftest import make_member, make_org

D = date
FORMS = {"org-1": LegalForm.ASSOCIATION}


def test_every_legal_form_belongs_to_exactly_one_college():
    colleges = list(DEFAULT_STATUTES.colleges)
    twice = colleges[0].model_copy(update={"code": "again"})
    with pytest.raises(ValidationError, match="'association' must belong to exactly one college"):
        Statutes(colleges=(*colleges, twice))
    with pytest.raises(ValidationError, match="'mutual' must belong to exactly one college"):
        Statutes(colleges=tuple(c for c in colleges if c.code != "mutuals"))
    with pytest.raises(ValidationError, match="unique"):
        Statutes(colleges=(*colleges, College(code="networks", label="x")))


def test_shares_are_exact_fractions_between_0_and_1():
    assert QuorumRule(share="1/3").required(30) == 10
    assert QuorumRule(share="1/3").required(31) == 11
    assert QuorumRule(share="0").required(50) == 0
    for bad in ("3/2", "-1/4", "a third", "1/0"):
        with pytest.raises(ValidationError):
            QuorumRule(share=bad)


def test_majorities():
    simple = MajorityRule()
    assert simple.adopted(3, 2, 10) and not simple.adopted(2, 2, 0) and not simple.adopted(0, 0, 0)
    assert not MajorityRule(abstentions_count=True).adopted(3, 2, 10)
    two_thirds = MajorityRule(share="2/3", strict=False)
    assert two_thirds.adopted(2, 1, 0) and not two_thirds.adopted(199, 101, 0)


def test_unknown_college_names_the_field_and_lists_the_colleges():
    with pytest.raises(InvalidInput) as e:
        DEFAULT_STATUTES.college("clubs", "seats_to_fill.clubs")
    assert e.value.field == "seats_to_fill.clubs" and "associations" in e.value.detail


def paid_member():
    """Activated 2024-02-05, the 2024 dues (150 €) paid on 2024-02-20."""
    member = make_member(make_org())
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    return member


def test_voting_rights_need_good_standing_and_the_years_dues_paid():
    member = make_member(make_org())  # 2024 dues unpaid: due 2024-03-06, grace until 2024-05-05
    assert voting_rights(member, DEFAULT_STATUTES, D(2024, 3, 1))[0] is VotingRightsWithheld.DUES_UNPAID
    lenient = DEFAULT_STATUTES.model_copy(update={"dues_paid_required": False})
    assert voting_rights(member, lenient, D(2024, 3, 1)) == (None, None), "in grace: still in good standing"
    assert voting_rights(member, lenient, D(2024, 5, 6))[0] is VotingRightsWithheld.NOT_IN_GOOD_STANDING
    member.lapse(on=D(2024, 5, 10))
    assert voting_rights(member, lenient, D(2024, 5, 10))[0] is VotingRightsWithheld.LAPSED
    assert voting_rights(paid_member(), DEFAULT_STATUTES, D(2024, 2, 20)) == (None, None)
    assert voting_rights(paid_member(), DEFAULT_STATUTES, D(2024, 2, 19))[0] is VotingRightsWithheld.DUES_UNPAID


def test_a_withdrawn_member_has_no_voting_rights():
    member = paid_member()
    member.withdraw("resignation", on=D(2024, 6, 1))
    assert voting_rights(member, DEFAULT_STATUTES, D(2024, 6, 1))[0] is VotingRightsWithheld.WITHDRAWN
    assert voting_rights(member, DEFAULT_STATUTES, D(2024, 5, 31)) == (None, None)


def test_the_roll_of_a_past_date_does_not_move_with_later_facts():
    member = paid_member()
    before = roll_on([member], FORMS, {}, DEFAULT_STATUTES, D(2024, 6, 1))
    assert [(e.organisation_id, e.college, e.weight, e.voting_rights) for e in before] == [
        ("org-1", "associations", 1, True)]
    member.invoice_dues(2025, organisation=make_org(), fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 10))
    member.lapse(on=D(2025, 6, 1))
    member.withdraw("resignation", on=D(2025, 7, 1))
    assert roll_on([member], FORMS, {}, DEFAULT_STATUTES, D(2024, 6, 1)) == before
    after = roll_on([member], FORMS, {}, DEFAULT_STATUTES, D(2025, 6, 15))
    assert after[0].reason is VotingRightsWithheld.LAPSED and "lapsed" in after[0].detail


def test_members_not_yet_members_are_not_on_the_roll():
    assert roll_on([paid_member()], FORMS, {}, DEFAULT_STATUTES, D(2024, 2, 4)) == []


def test_a_dated_college_assignment_overrides_the_legal_form_from_its_date():
    member = paid_member()
    assignment = CollegeAssignment.start("org-1")
    assignment.assign("networks", statutes=DEFAULT_STATUTES, on=D(2024, 4, 1))
    assert assignment.pull_events()[0].college == "networks"
    rolls = {d: roll_on([member], FORMS, {"org-1": assignment}, DEFAULT_STATUTES, d)[0]
             for d in (D(2024, 3, 31), D(2024, 4, 1))}
    assert (rolls[D(2024, 3, 31)].college, rolls[D(2024, 3, 31)].weight) == ("associations", 1)
    assert (rolls[D(2024, 4, 1)].college, rolls[D(2024, 4, 1)].weight) == ("networks", 2)
    assignment.assign(None, statutes=DEFAULT_STATUTES, on=D(2024, 9, 1))
    assert assignment.college_on(D(2024, 9, 1)) is None and assignment.college_on(D(2024, 8, 31)) == "networks"
    with pytest.raises(Conflict):
        assignment.assign("networks", statutes=DEFAULT_STATUTES, on=D(2024, 8, 1))
    with pytest.raises(InvalidInput) as e:
        assignment.assign("clubs", statutes=DEFAULT_STATUTES, on=D(2024, 10, 1))
    assert e.value.field == "college"


def test_statutes_come_from_a_file_checked_at_start(tmp_path, monkeypatch):
    monkeypatch.delenv("MEMBERSHIP_STATUTES_FILE", raising=False)
    assert GovernanceSettings().statutes() == DEFAULT_STATUTES
    good = tmp_path / "statuts.json"
    good.write_text(DEFAULT_STATUTES.model_copy(update={"max_proxies_per_holder": 5}).model_dump_json())
    assert GovernanceSettings(statutes_file=good).statutes().max_proxies_per_holder == 5
    bad = tmp_path / "bad.json"
    bad.write_text('{"colleges": [{"code": "all", "label": "Tous", "legal_forms": ["association"]}], '
                   '"quorum": {"share": "3/2"}}')
    with pytest.raises(InvalidInput) as e:
        GovernanceSettings(statutes_file=bad).statutes()
    assert e.value.field == "MEMBERSHIP_STATUTES_FILE" and "quorum.share" in e.value.detail
    with pytest.raises(InvalidInput, match="cannot read"):
        GovernanceSettings(statutes_file=tmp_path / "missing.json").statutes()
