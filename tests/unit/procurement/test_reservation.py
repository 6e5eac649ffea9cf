"""The recommendation rule (le marché de l'inclusion's, ANCHORS.md section 3) at its boundaries:
30 and 10 suppliers, 1 supplier, a dependency of 30 %."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.procurement.vocabulary import ReservedArticle
from runtime.errors import InvalidInput
from services.procurement.domain.reservation import RecommendationKind, economic_dependency_percent, recommend

K = RecommendationKind
TURNOVER = 1_000_000_00  # 1 M€


@pytest.mark.parametrize("eligible, kind", [
    (0, K.SOCIAL_AWARD_CRITERION), (1, K.SOCIAL_CLAUSE), (2, K.SOCIAL_CLAUSE), (10, K.SOCIAL_CLAUSE),
    (11, K.RESERVED_LOT), (30, K.RESERVED_LOT), (31, K.RESERVED_CONTRACT), (500, K.RESERVED_CONTRACT),
])
def test_supplier_count_boundaries_with_a_low_dependency(eligible, kind):
    assert recommend(eligible, 10_000_00, TURNOVER).kind is kind  # 1 % dependency


def test_a_dependency_of_30_percent_or_more_gives_a_lot_not_the_whole_contract():
    just_below = recommend(31, 30 * TURNOVER // 100 - 1, TURNOVER)
    at = recommend(31, 30 * TURNOVER // 100, TURNOVER)
    above = recommend(31, TURNOVER, TURNOVER)
    assert just_below.kind is K.RESERVED_CONTRACT
    assert at.kind is K.RESERVED_LOT and "30.0 %" in at.why
    assert above.kind is K.RESERVED_LOT and above.economic_dependency_percent == 100


def test_an_unknown_turnover_with_many_suppliers_gives_a_lot():
    for turnover in (None, 0):
        advice = recommend(40, 5_000_00, turnover)
        assert advice.kind is K.RESERVED_LOT and "unknown" in advice.why
        assert advice.economic_dependency_percent is None


def test_articles_and_why():
    whole = recommend(31, 1, TURNOVER)
    assert whole.articles == ("L2113-12", "L2113-13")
    assert whole.reserved_articles == (ReservedArticle.L2113_12, ReservedArticle.L2113_13)
    assert "31 eligible suppliers" in whole.why
    assert recommend(3, 1, None).articles == ("L2112-2",) and recommend(3, 1, None).reserved_articles == ()
    assert recommend(0, 1, None).articles == ("R2152-7",)
    assert "1 eligible supplier " in recommend(1, 1, None).why


@pytest.mark.parametrize("args, field", [((-1, 0, None), "eligible_suppliers"), ((1, -5, None), "spend_cents"),
                                         ((1, 5, -1), "average_turnover_cents"), ((True, 5, 1), "eligible_suppliers"),
                                         ((1, 2.5, 1), "spend_cents")])
def test_bad_arguments_name_themselves(args, field):
    with pytest.raises(InvalidInput) as caught:
        recommend(*args)
    assert caught.value.field == field


@given(st.integers(0, 1000), st.integers(0, 10**13), st.one_of(st.none(), st.integers(0, 10**13)))
def test_the_rule_is_monotonic_in_the_number_of_suppliers(eligible, spend, turnover):
    order = [K.SOCIAL_AWARD_CRITERION, K.SOCIAL_CLAUSE, K.RESERVED_LOT, K.RESERVED_CONTRACT]
    assert order.index(recommend(eligible + 1, spend, turnover).kind) >= order.index(
        recommend(eligible, spend, turnover).kind)


# -- the sentence the report shows as it is, and the dependency it carries ---------------------------------
@pytest.mark.parametrize("args, kind, why, dependency", [
    ((31, 123_456_70, TURNOVER), K.RESERVED_CONTRACT,
     "31 eligible suppliers (more than 30) and an economic dependency of 12.3 % (below 30 %): local supply is "
     "large enough to reserve the whole contract.", 12.34567),
    ((31, 30 * TURNOVER // 100, TURNOVER), K.RESERVED_LOT,
     "31 eligible suppliers (more than 30), but the economic dependency would be 30.0 % (30 % or more): reserve a "
     "lot rather than the whole contract.", 30.0),
    ((40, 5_000_00, None), K.RESERVED_LOT,
     "40 eligible suppliers (more than 30), but their turnover is unknown: reserve a lot rather than the whole "
     "contract.", None),
    ((11, 25 * TURNOVER // 100, TURNOVER), K.RESERVED_LOT,
     "11 eligible suppliers (more than 10, at most 30): enough to reserve a lot.", 25.0),
    ((1, 50, 1000), K.SOCIAL_CLAUSE,
     "1 eligible supplier (10 or fewer): too few to reserve, enough to carry a social clause in the contract.", 5.0),
    ((2, 50, None), K.SOCIAL_CLAUSE,
     "2 eligible suppliers (10 or fewer): too few to reserve, enough to carry a social clause in the contract.", None),
    ((0, 1, 400), K.SOCIAL_AWARD_CRITERION,
     "No eligible supplier in the territory: add a social award criterion so that social performance still weighs "
     "in the choice.", 0.25),
])
def test_each_recommendation_says_why_in_full_and_carries_the_dependency(args, kind, why, dependency):
    advice = recommend(*args)
    assert (advice.kind, advice.why, advice.economic_dependency_percent) == (kind, why, dependency)


def test_a_reserved_lot_cites_both_reserving_articles():
    for eligible in (11, 31):
        advice = recommend(eligible, TURNOVER, TURNOVER)
        assert advice.articles == ("L2113-12", "L2113-13")
        assert advice.reserved_articles == (ReservedArticle.L2113_12, ReservedArticle.L2113_13)


def test_the_economic_dependency_is_spend_over_turnover_in_percent_none_when_the_turnover_is_unknown():
    assert economic_dependency_percent(1, 3) == 100 / 3
    assert economic_dependency_percent(5, 0) is None and economic_dependency_percent(5, None) is None


@pytest.mark.parametrize("args, field, value", [((-1, 0, None), "eligible_suppliers", "-1"),
                                                ((1, None, 5), "spend_cents", "None"),
                                                ((1, 5, 1.0), "average_turnover_cents", "1.0"),
                                                ((1, 5, False), "average_turnover_cents", "False")])
def test_a_bad_argument_s_refusal_says_what_is_expected(args, field, value):
    with pytest.raises(InvalidInput, match=f"^{field} must be a whole number, 0 or more \\(got {value}\\)$"):
        recommend(*args)
