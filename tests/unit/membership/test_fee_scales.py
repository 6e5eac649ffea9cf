"""Fee scales per dues year, versioned (issue 10)."""
from datetime import date as D

import pytest

from contracts.membership import FeeScaleAdopted
from runtime.errors import Conflict, InvalidInput
from services.membership.domain import DEFAULT_FEE_SCALE, Member
from services.membership.domain.fee_scales import DuesYearScale

from .conftest import TERMS, admitted_application, make_org

SMALL = [{"label": "S1", "max_headcount": 10, "max_budget_cents": 20_000_000, "dues_cents": 10_000},
         {"label": "S2", "dues_cents": 30_000}]
BIGGER = [{"label": "S1", "max_headcount": 10, "max_budget_cents": 20_000_000, "dues_cents": 12_000},
          {"label": "S2", "dues_cents": 36_000}]


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
