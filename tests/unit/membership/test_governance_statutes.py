"""The statutes' rules in words (the record of a decision and the quorum shown keep them), the
majority each kind of resolution is decided by, and the refusals of a bad share or college."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.membership import ResolutionKind
from runtime.errors import InvalidInput
from services.membership.domain.governance import DEFAULT_STATUTES, MajorityRule, QuorumRule


def test_each_kind_of_resolution_is_decided_by_its_own_majority():
    statutes = DEFAULT_STATUTES.model_copy(update={"ordinary_majority": MajorityRule(share="1/2"),
                                                   "extraordinary_majority": MajorityRule(share="3/4")})
    assert statutes.majority(ResolutionKind.ORDINARY).share == "1/2"
    assert statutes.majority(ResolutionKind.EXTRAORDINARY).share == "3/4"
    assert not DEFAULT_STATUTES.majority(ResolutionKind.EXTRAORDINARY).adopted(3, 2, 0), "3 of 5: less than 2/3"
    assert DEFAULT_STATUTES.majority(ResolutionKind.ORDINARY).adopted(3, 2, 0)


def test_a_majority_rule_in_words():
    assert MajorityRule().describe() == "more than 1/2 of the weighted votes for or against (abstentions not counted)"
    assert MajorityRule(share="2/3", strict=False, abstentions_count=True, weighted=False).describe() == (
        "at least 2/3 of the votes for or against (abstentions counted)")


def test_a_quorum_rule_in_words():
    assert QuorumRule().describe() == "1/4 of the voters present or represented"
    assert QuorumRule(share="1/3", weighted=True).describe() == "1/3 of the voters (weighted) present or represented"
    assert QuorumRule(share="0", weighted=True).describe() == "no quorum"
    assert QuorumRule(share=" 2/6 ").share == "1/3", "a share is kept reduced"


@pytest.mark.parametrize(("share", "words"), [
    ("a third", "'a third' is not a share such as \"1/4\", \"2/3\" or \"0\""),
    ("1/0", "'1/0' is not a share such as \"1/4\", \"2/3\" or \"0\""),
    ("3/2", "share '3/2' must be between 0 and 1"),
    ("-1/4", "share '-1/4' must be between 0 and 1"),
])
def test_a_bad_share_says_why(share, words):
    with pytest.raises(ValidationError) as e:
        QuorumRule(share=share)
    [error] = e.value.errors()
    assert error["loc"] == ("share",) and error["msg"] == f"Value error, {words}"


def test_an_unknown_college_lists_the_statutes_colleges():
    with pytest.raises(InvalidInput) as e:
        DEFAULT_STATUTES.college("clubs")
    assert (e.value.field, e.value.detail) == (
        "college", "unknown college 'clubs'; the statutes' colleges are: associations, cooperatives, mutuals, "
                   "foundations, commercial, networks")
