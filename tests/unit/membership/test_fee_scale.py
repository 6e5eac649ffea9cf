import pytest
from pydantic import ValidationError

from runtime.errors import InvalidInput
from services.membership.domain import DEFAULT_FEE_SCALE, FeeBracket, FeeScale


@pytest.mark.parametrize("headcount,budget_eur,label,dues_eur", [
    (0, 0, "B1", 50),
    (2, 50_000, "B1", 50),            # both bounds inclusive
    (3, 10_000, "B2", 150),           # headcount places it
    (1, 50_001, "B2", 150),           # budget places it
    (12, 30_000, "B3", 400),          # the larger size wins
    (50, 1_000_000, "B3", 400),
    (200, 4_000_000, "B4", 1_000),
    (800, 1_000, "B5", 2_500),
    (5_000, 100_000_000, "B6", 5_000),
])
def test_default_scale_brackets(headcount, budget_eur, label, dues_eur):
    assert DEFAULT_FEE_SCALE.bracket_for(headcount, budget_eur * 100).label == label
    assert DEFAULT_FEE_SCALE.dues_for(headcount, budget_eur * 100) == dues_eur * 100


def test_negative_sizes_are_invalid_input():
    with pytest.raises(InvalidInput) as exc:
        DEFAULT_FEE_SCALE.dues_for(-1, 0)
    assert exc.value.field == "headcount"
    with pytest.raises(InvalidInput) as exc:
        DEFAULT_FEE_SCALE.dues_for(0, -1)
    assert exc.value.field == "annual_budget_cents"


def test_custom_scale_and_json_round_trip():
    scale = FeeScale(brackets=[FeeBracket(label="small", max_headcount=5, max_budget_cents=100, dues_cents=1_000),
                               FeeBracket(label="large", dues_cents=9_000)])
    assert scale.dues_for(5, 100) == 1_000 and scale.dues_for(6, 0) == 9_000
    assert FeeScale.model_validate(scale.model_dump(mode="json")) == scale


@pytest.mark.parametrize("brackets", [
    [FeeBracket(label="a", max_headcount=5, max_budget_cents=100, dues_cents=1)],          # last bounded
    [FeeBracket(label="a", max_headcount=5, max_budget_cents=100, dues_cents=10),
     FeeBracket(label="b", dues_cents=5)],                                                # dues fall
    [FeeBracket(label="a", max_headcount=5, max_budget_cents=100, dues_cents=1),
     FeeBracket(label="b", max_headcount=5, max_budget_cents=200, dues_cents=2),
     FeeBracket(label="c", dues_cents=3)],                                                # bound not rising
    [FeeBracket(label="a", max_headcount=5, max_budget_cents=100, dues_cents=1),
     FeeBracket(label="a", dues_cents=3)],                                                # duplicate label
    [],
])
def test_inconsistent_scales_are_rejected(brackets):
    with pytest.raises(ValidationError):
        FeeScale(brackets=brackets)
