"""Fee scales per dues year, versioned (issue 10)."""
from datetime import date as D

import pytest

from contracts.membership import FeeScaleAdopted
from runtime.errors import Conflict, InvalidInput
from services.membership.domain import DEFAULT_FEE_SCALE, Member
from services.membership.domain import FeeScale
from services.membership.domain.fee_scales import DuesYearScale

from .conftest import TERMS, admitted_application, make_org

SMALL = [{"label": "S1", "max_headcount": 10, "max_budget_cents": 20_000_000, "dues_cents": 10_000},
         {"label": "S2", "dues_cents": 30_000}]
SMALL_FULL = [{"label": "S1", "max_headcount": 10, "max_budget_cents": 20_000_000, "dues_cents": 10_000},
              {"label": "S2", "max_headcount": None, "max_budget_cents": None, "dues_cents": 30_000}]
BIGGER = [{"label": "S1", "max_headcount": 10, "max_budget_cents": 20_000_000, "dues_cents": 12_000},
          {"label": "S2", "dues_cents": 36_000}]


def _scale(brackets) -> FeeScale:
    return FeeScale.model_validate({"brackets": brackets})


def test_a_year_gets_its_scale_then_revisions_with_history():
    scale = DuesYearScale.adopt(2066, SMALL, on=D(2065, 6, 12), reference="AG-2065 r4")
    (event,) = scale.pull_events()
    assert isinstance(event, FeeScaleAdopted) and event.aggregate_id == "2066"
    assert (event.year, event.revision, event.forced, event.reference) == (2066, 1, False, "AG-2065 r4")
    assert [b.dues_cents for b in event.brackets] == [10_000, 30_000]
    assert scale.replace(SMALL, on=D(2065, 7, 1)) is False and scale.pull_events() == []
    assert scale.replace(BIGGER, on=D(2065, 7, 1), reference="AG extraordinaire") is True
    (event,) = scale.pull_events()
    assert (event.revision, scale.revision, scale.scale.brackets[0].dues_cents) == (2, 2, 12_000)
    assert [(h.revision, h.replaced_on, h.reference) for h in scale.history] == [(1, D(2065, 7, 1), "AG-2065 r4")]


def test_a_year_already_invoiced_keeps_its_scale_unless_forced():
    with pytest.raises(Conflict) as exc:
        DuesYearScale.adopt(2066, SMALL, on=D(2066, 2, 1), invoices_issued=3)
    assert "3 invoice(s)" in exc.value.detail and "force" in exc.value.detail
    scale = DuesYearScale.adopt(2066, SMALL, on=D(2065, 6, 1))
    with pytest.raises(Conflict):
        scale.replace(BIGGER, on=D(2066, 2, 1), invoices_issued=1)
    assert scale.revision == 1 and scale.scale.brackets[0].dues_cents == 10_000
    scale.pull_events()
    assert scale.replace(BIGGER, on=D(2066, 2, 1), invoices_issued=1, force=True)
    (event,) = scale.pull_events()
    assert event.forced and event.invoices_already_issued == 1 and scale.forced


@pytest.mark.parametrize("brackets, field", [
    ([], "brackets"),
    ([{"label": "S1", "max_headcount": 10, "dues_cents": 100}], "brackets"),  # last one bounded
    ([{"label": "S1", "dues_cents": -1}], "brackets.0.dues_cents"),
    ([{"label": "S1", "max_headcount": 10, "max_budget_cents": 5, "dues_cents": 200},
      {"label": "S2", "dues_cents": 100}], "brackets"),  # dues fall
])
def test_a_bad_scale_is_refused_naming_the_field(brackets, field):
    with pytest.raises(InvalidInput) as exc:
        DuesYearScale.adopt(2066, brackets, on=D(2065, 6, 1))
    assert exc.value.field == field


def test_a_replacement_is_not_dated_before_the_revision_in_force():
    scale = DuesYearScale.adopt(2066, SMALL, on=D(2065, 6, 1))
    with pytest.raises(InvalidInput) as exc:
        scale.replace(BIGGER, on=D(2065, 5, 31))
    assert exc.value.field == "on"


def test_dues_follow_the_size_at_invoicing_time_and_the_invoice_names_the_bracket():
    org = make_org(headcount=5, annual_budget_cents=10_000_000)
    member = Member.activate(application=admitted_application(org), organisation=org, fee_scale=DEFAULT_FEE_SCALE,
                             terms=TERMS, on=D(2024, 2, 5))
    org.update(on=D(2024, 9, 1), headcount=40)
    year_scale = DuesYearScale.adopt(2025, SMALL, on=D(2024, 6, 1)).scale
    invoice = member.invoice_dues(2025, organisation=org, fee_scale=year_scale, terms=TERMS, on=D(2025, 1, 5))
    assert (member.invoices[0].fee_bracket, member.invoices[0].amount_cents) == ("B2", 15_000)
    assert (invoice.fee_bracket, invoice.amount_cents) == ("S2", 30_000)


def test_the_adoption_event_carries_the_whole_scale_its_date_and_the_invoices_it_came_after():
    scale = DuesYearScale.adopt(2066, SMALL, on=D(2066, 2, 3), reference="AG-2066", invoices_issued=2, force=True)
    (event,) = scale.pull_events()
    assert [b.model_dump() for b in event.brackets] == SMALL_FULL
    assert (event.adopted_on, event.forced, event.invoices_already_issued) == (D(2066, 2, 3), True, 2)
    assert (scale.year, scale.adopted_on, scale.forced, scale.history) == (2066, D(2066, 2, 3), True, [])


def test_force_with_no_invoice_issued_is_not_recorded_as_forced():
    scale = DuesYearScale.adopt(2066, SMALL, on=D(2065, 6, 1), force=True)
    (event,) = scale.pull_events()
    assert not scale.forced and not event.forced and event.invoices_already_issued == 0
    assert scale.replace(BIGGER, on=D(2065, 7, 1), force=True)
    (event,) = scale.pull_events()
    assert not scale.forced and not event.forced and event.invoices_already_issued == 0


def test_a_replaced_revision_keeps_its_scale_date_reference_and_forced_flag_in_the_history():
    scale = DuesYearScale.adopt(2066, SMALL, on=D(2066, 1, 2), reference="AG r1", invoices_issued=4, force=True)
    scale.replace(BIGGER, on=D(2066, 3, 1), reference="AG r2")
    scale.pull_events()
    [first] = scale.history
    assert (first.revision, first.scale, first.adopted_on, first.reference, first.forced, first.replaced_on) == \
        (1, _scale(SMALL), D(2066, 1, 2), "AG r1", True, D(2066, 3, 1))
    assert (scale.revision, scale.scale, scale.adopted_on, scale.reference, scale.forced) == \
        (2, _scale(BIGGER), D(2066, 3, 1), "AG r2", False)
    scale.replace(SMALL, on=D(2066, 3, 1))  # a third revision: revisions count up from the one in force
    (event,) = scale.pull_events()
    assert (scale.revision, event.revision, [h.revision for h in scale.history]) == (3, 3, [1, 2])
    assert scale.reference is None and event.reference is None


def test_a_scale_may_be_given_as_a_fee_scale():
    scale = DuesYearScale.adopt(2066, DEFAULT_FEE_SCALE, on=D(2065, 6, 1))
    assert scale.scale is DEFAULT_FEE_SCALE
    assert scale.replace(DEFAULT_FEE_SCALE, on=D(2065, 7, 1)) is False


@pytest.mark.parametrize("year", [1900, 2200])
def test_the_years_from_1900_to_2200_have_scales(year):
    assert DuesYearScale.adopt(year, SMALL, on=D(2065, 6, 1)).id == str(year)


@pytest.mark.parametrize("year", [1899, 2201, True, "2066", 2066.0])
def test_another_year_is_refused_naming_it(year):
    with pytest.raises(InvalidInput) as exc:
        DuesYearScale.adopt(year, SMALL, on=D(2065, 6, 1))
    assert exc.value.field == "year"
    assert exc.value.detail == f"year must be from 1900 to 2200 (got {year!r})"


def test_a_reference_is_at_most_200_characters():
    assert DuesYearScale.adopt(2066, SMALL, on=D(2065, 6, 1), reference="r" * 200).reference == "r" * 200
    with pytest.raises(InvalidInput) as exc:
        DuesYearScale.adopt(2066, SMALL, on=D(2065, 6, 1), reference="r" * 201)
    assert exc.value.field == "reference"
    scale = DuesYearScale.adopt(2066, SMALL, on=D(2065, 6, 1))
    scale.replace(BIGGER, on=D(2065, 7, 1), reference="r" * 200)
    with pytest.raises(InvalidInput) as exc:
        scale.replace(SMALL, on=D(2065, 7, 1), reference="r" * 201)
    assert exc.value.field == "reference"


def test_a_bad_scale_s_refusal_names_the_field_and_says_why():
    with pytest.raises(InvalidInput) as exc:
        DuesYearScale.adopt(2066, [{"label": "S1", "dues_cents": -1}], on=D(2065, 6, 1))
    assert exc.value.detail == "brackets.0.dues_cents: Input should be greater than or equal to 0"
    with pytest.raises(InvalidInput) as exc:
        DuesYearScale.adopt(2066, [{"label": "S1", "max_headcount": 10, "dues_cents": 100}], on=D(2065, 6, 1))
    assert exc.value.detail == "brackets: Value error, the last bracket 'S1' must be unbounded"
    with pytest.raises(InvalidInput) as exc:  # two faults: the first one is named
        DuesYearScale.adopt(2066, [{"label": "", "dues_cents": -1}], on=D(2065, 6, 1))
    assert exc.value.field == "brackets.0.label"


def test_the_refusal_of_a_year_already_invoiced_says_which_year_and_how_many_invoices():
    with pytest.raises(Conflict) as exc:
        DuesYearScale.adopt(2066, SMALL, on=D(2066, 2, 1), invoices_issued=3)
    assert exc.value.detail == ("3 invoice(s) of the 2066 dues were already issued under the scale in force; they "
                                "keep their amount — send force=true to change the scale for the invoices still "
                                "to come")
    assert exc.value.extra == {"year": 2066, "invoices_issued": 3}


def test_a_replacement_refused_says_which_year_and_what_it_comes_before():
    scale = DuesYearScale.adopt(2066, SMALL, on=D(2065, 6, 1))
    with pytest.raises(Conflict) as exc:
        scale.replace(BIGGER, on=D(2066, 2, 1), invoices_issued=2)
    assert exc.value.detail.startswith("2 invoice(s) of the 2066 dues were already issued")
    assert exc.value.extra == {"year": 2066, "invoices_issued": 2}
    with pytest.raises(InvalidInput) as exc:
        scale.replace(BIGGER, on=D(2065, 5, 31))
    assert exc.value.detail == "on 2065-05-31 is before the adoption of revision 1 (2065-06-01)"
