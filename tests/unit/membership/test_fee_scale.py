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


def test_negative_sizes_are_invalid_input_with_their_reason_and_zero_is_a_size():
    with pytest.raises(InvalidInput) as exc:
        DEFAULT_FEE_SCALE.dues_for(-1, 0)
    assert (exc.value.field, exc.value.detail) == ("headcount", "headcount must be 0 or more")
    with pytest.raises(InvalidInput) as exc:
        DEFAULT_FEE_SCALE.dues_for(0, -1)
    assert (exc.value.field, exc.value.detail) == ("annual_budget_cents", "annual budget must be 0 or more")
    assert DEFAULT_FEE_SCALE.bracket_for(0, 0).label == "B1"


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


def _error(brackets) -> str:
    with pytest.raises(ValidationError) as exc:
        FeeScale(brackets=brackets)
    [error] = exc.value.errors()
    return error["msg"]


def test_each_refused_scale_says_what_is_wrong_naming_the_bracket():
    small = FeeBracket(label="a", max_headcount=5, max_budget_cents=100, dues_cents=10)
    assert _error([small, FeeBracket(label="b", max_headcount=5, max_budget_cents=200, dues_cents=20),
                   FeeBracket(label="c", dues_cents=30)]) == \
        "Value error, bracket 'b': bounds must rise strictly after 'a'"
    assert _error([small, FeeBracket(label="b", dues_cents=5)]) == "Value error, bracket 'b': dues lower than 'a'"
    assert _error([small]) == "Value error, the last bracket 'a' must be unbounded"
    assert _error([small, FeeBracket(label="a", dues_cents=30)]) == "Value error, bracket labels must be unique"


def test_every_pair_of_brackets_is_checked_not_only_the_first():
    with pytest.raises(ValidationError, match="bracket 'c': bounds must rise strictly after 'b'"):
        FeeScale(brackets=[FeeBracket(label="a", max_headcount=5, max_budget_cents=100, dues_cents=1),
                           FeeBracket(label="b", max_headcount=10, max_budget_cents=200, dues_cents=2),
                           FeeBracket(label="c", max_headcount=10, max_budget_cents=300, dues_cents=3),
                           FeeBracket(label="d", dues_cents=4)])


def test_a_bracket_unbounded_on_one_size_only_must_be_the_last_one():
    # unbounded on the headcount, then another bracket: its bounds cannot rise after "no bound"
    with pytest.raises(ValidationError, match="bracket 'b': bounds must rise"):
        FeeScale(brackets=[FeeBracket(label="a", max_budget_cents=100, dues_cents=1),
                           FeeBracket(label="b", dues_cents=2)])
    with pytest.raises(ValidationError, match="the last bracket 'a' must be unbounded"):
        FeeScale(brackets=[FeeBracket(label="a", max_headcount=5, dues_cents=1)])
    with pytest.raises(ValidationError, match="the last bracket 'a' must be unbounded"):
        FeeScale(brackets=[FeeBracket(label="a", max_budget_cents=5, dues_cents=1)])


def test_dues_may_stay_the_same_from_one_bracket_to_the_next():
    scale = FeeScale(brackets=[FeeBracket(label="a", max_headcount=5, max_budget_cents=100, dues_cents=1_000),
                               FeeBracket(label="b", dues_cents=1_000)])
    assert [b.label for b in scale.brackets] == ["a", "b"]
