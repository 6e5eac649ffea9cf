"""Members join again (membership periods) — issue 10."""
from datetime import date as D

import pytest

from contracts.membership import DuesInvoiced, MemberActivated
from runtime.errors import Conflict, InvalidInput
from services.membership.domain import DEFAULT_FEE_SCALE, Member, MembershipApplication, MemberStatus

from .conftest import TERMS, make_org


def admitted(org, app_id: str, on: D) -> MembershipApplication:
    app = MembershipApplication.submit(app_id, organisation=org, on=on)
    app.hold_welcome_meeting(on=on)
    app.admit(on=on)
    return app


@pytest.fixture
def member(org) -> Member:  # org: conftest's
    """Joined 2060-02-05 (2060 invoice, 150 €, due 2060-03-06, grace ends 2060-05-05)."""
    m = Member.activate(application=admitted(org, "app-1", D(2060, 2, 1)), organisation=org,
                        fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2060, 2, 5))
    m.pull_events()
    return m


def rejoin(member, org, on: D, app_id: str = "app-2"):
    return member.start_period(application=admitted(org, app_id, on), organisation=org,
                               fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=on)


def test_a_withdrawn_member_joins_again_in_a_new_period_with_its_history(member, org):
    member.record_payment(2060, amount_cents=15_000, payment_id="p1", on=D(2060, 2, 20))
    member.withdraw("resignation", on=D(2060, 9, 30))
    member.invoices  # noqa: B018
    member.pull_events()
    period = rejoin(member, org, D(2062, 3, 1))
    activated, invoiced = member.pull_events()
    assert isinstance(activated, MemberActivated) and isinstance(invoiced, DuesInvoiced)
    assert (activated.organisation_id, activated.application_id, activated.since, activated.period) == \
        (org.id, "app-2", D(2062, 3, 1), 2)
    assert (invoiced.year, invoiced.invoice_id, invoiced.amount_cents) == (2062, f"{org.id}-2062", 15_000)
    assert member.id == org.id and member.status is MemberStatus.ACTIVE and member.since == D(2062, 3, 1)
    assert period.number == 2 and member.application_id == "app-2" and member.withdrawn_on is None
    assert [(p.number, p.application_id, p.start_on, p.end_on, p.end_reason) for p in member.periods] == [
        (1, "app-1", D(2060, 2, 5), D(2060, 9, 30), "resignation"), (2, "app-2", D(2062, 3, 1), None, None)]
    # standing on any date, through both periods and the gap
    assert member.in_good_standing(D(2060, 6, 1)) and not member.in_good_standing(D(2061, 6, 1))
    assert member.in_good_standing(D(2062, 3, 1)) and member.status_on(D(2061, 6, 1)) is MemberStatus.WITHDRAWN


def test_a_lapsed_member_joins_again_and_old_unpaid_dues_do_not_hold_the_new_period(member, org):
    member.apply_deadlines(on=D(2060, 5, 6))
    assert member.status is MemberStatus.LAPSED and member.periods[-1].end_reason == "lapsed"
    rejoin(member, org, D(2061, 1, 10))
    assert member.period == 2 and member.in_good_standing(D(2061, 1, 10))
    assert not member.in_good_standing(D(2060, 5, 6))
    assert member.apply_deadlines(on=D(2061, 1, 11)) == []


def test_dues_left_unpaid_at_withdrawal_stay_owed_but_are_judged_with_their_period(member, org):
    member.withdraw("resignation", on=D(2060, 3, 1))  # the 2060 invoice is still open
    rejoin(member, org, D(2060, 11, 2))
    (old, new) = member.invoices
    assert (old.period, old.is_open, new.period, new.year, new.invoice_id) == (1, True, 2, 2060, f"{org.id}-2060-2")
    assert member.in_good_standing(D(2060, 11, 2))
    assert member.apply_deadlines(on=D(2060, 11, 3)) == []
    assert not member.in_good_standing(D(2061, 3, 1)), "the new period's own invoice, unpaid past grace, counts"


def test_a_year_paid_in_the_previous_period_is_not_invoiced_again(member, org):
    member.record_payment(2060, amount_cents=15_000, payment_id="p1", on=D(2060, 2, 20))
    member.withdraw("resignation", on=D(2060, 6, 30))
    member.pull_events()
    rejoin(member, org, D(2060, 10, 1))
    (activated,) = member.pull_events()
    assert activated.dues_cents == 0 and activated.period == 2 and len(member.invoices) == 1
    assert member.live_invoice(2060).is_paid
    with pytest.raises(Conflict):
        member.invoice_dues(2060, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2060, 10, 2))


def test_a_renewal_by_payment_goes_on_in_the_same_period(member, org):
    member.apply_deadlines(on=D(2060, 5, 6))
    member.invoice_dues(2061, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2061, 1, 5))
    member.record_payment(2061, amount_cents=15_000, payment_id="p2", on=D(2061, 1, 20))
    assert member.status is MemberStatus.ACTIVE and len(member.periods) == 1 and member.periods[0].end_on is None


def test_only_a_withdrawn_or_lapsed_member_with_a_new_admitted_application_joins_again(member, org):
    with pytest.raises(Conflict) as exc:
        rejoin(member, org, D(2060, 3, 1))
    assert "active" in exc.value.detail
    member.withdraw("resignation", on=D(2060, 6, 30))
    with pytest.raises(Conflict):  # the application a period already started from
        member.start_period(application=admitted(org, "app-1", D(2060, 7, 1)), organisation=org,
                            fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2060, 7, 1))
    pending = MembershipApplication.submit("app-3", organisation=org, on=D(2060, 7, 1))
    with pytest.raises(Conflict):
        member.start_period(application=pending, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2060, 7, 2))
    with pytest.raises(InvalidInput) as exc:
        rejoin(member, org, D(2060, 6, 29))
    assert exc.value.field == "on" and "withdrawn" in exc.value.detail
    other = make_org("org-2", siret="44306184100047")
    with pytest.raises(InvalidInput):
        member.start_period(application=admitted(other, "app-9", D(2060, 8, 1)), organisation=other,
                            fee_scale=DEFAULT_FEE_SCALE, on=D(2060, 8, 1))
    assert member.status is MemberStatus.WITHDRAWN and len(member.membership_periods()) == 1


def test_a_document_stored_before_periods_has_one_derived_period(member):
    member.withdraw("dissolution", on=D(2060, 6, 30))
    legacy = Member.model_validate({**member.model_dump(), "periods": []})
    assert [(p.number, p.start_on, p.end_on, p.end_reason) for p in legacy.membership_periods()] == [
        (1, D(2060, 2, 5), D(2060, 6, 30), "dissolution")]


def test_the_dues_terms_say_when_the_year_is_invoiced():
    from services.membership.domain import DuesTerms

    assert DuesTerms().invoicing_on(2061) == D(2061, 1, 5)
    assert DuesTerms(invoicing_month=3, invoicing_day=28).invoicing_on(2061) == D(2061, 3, 28)
    with pytest.raises(ValueError):
        DuesTerms(invoicing_day=29)  # not a day every month has


def test_joining_again_clears_the_previous_period_s_end(member, org):
    member.withdraw("merger", on=D(2060, 6, 30), detail="Merged into another member")
    rejoin(member, org, D(2061, 2, 1))
    assert (member.withdrawn_on, member.withdrawal_reason, member.withdrawal_detail) == (None, None, None)
    assert [(c.status, c.since) for c in member.status_history][-2:] == [
        (MemberStatus.WITHDRAWN, D(2060, 6, 30)), (MemberStatus.ACTIVE, D(2061, 2, 1))]
    lapsed = Member.activate(application=admitted(org, "app-5", D(2060, 2, 1)), organisation=org,
                             fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2060, 2, 5))
    lapsed.apply_deadlines(on=D(2060, 5, 6))
    rejoin(lapsed, org, D(2061, 1, 10), app_id="app-6")
    assert (lapsed.lapsed_on, lapsed.grace_entered_on, lapsed.status) == (None, None, MemberStatus.ACTIVE)


def test_a_period_is_joined_again_only_with_this_organisation_and_its_own_application(member, org):
    member.withdraw("resignation", on=D(2060, 6, 30))
    other = make_org("org-2", siret="44306184100047")
    with pytest.raises(InvalidInput) as exc:  # its own application, another organisation's size
        member.start_period(application=admitted(org, "app-2", D(2060, 8, 1)), organisation=other,
                            fee_scale=DEFAULT_FEE_SCALE, on=D(2060, 8, 1))
    assert exc.value.field == "organisation_id"
    with pytest.raises(InvalidInput) as exc:  # another organisation's application
        member.start_period(application=admitted(other, "app-9", D(2060, 8, 1)), organisation=org,
                            fee_scale=DEFAULT_FEE_SCALE, on=D(2060, 8, 1))
    assert exc.value.detail == "application app-9 is organisation org-2's, not member org-1's"
    assert member.status is MemberStatus.WITHDRAWN


def test_the_refusals_to_join_again_say_why(member, org):
    with pytest.raises(Conflict) as exc:
        rejoin(member, org, D(2060, 3, 1))
    assert exc.value.detail == ("cannot start a new membership period: member org-1 is active; only a withdrawn or "
                                "lapsed member may join again")
    member.withdraw("resignation", on=D(2060, 6, 30))
    with pytest.raises(Conflict) as exc:
        member.start_period(application=admitted(org, "app-1", D(2060, 7, 1)), organisation=org,
                            fee_scale=DEFAULT_FEE_SCALE, on=D(2060, 7, 1))
    assert exc.value.detail == "member org-1: a membership period already started from application app-1"
    assert exc.value.extra == {"application_id": "app-1"}
    pending = MembershipApplication.submit("app-3", organisation=org, on=D(2060, 7, 1))
    with pytest.raises(Conflict) as exc:
        member.start_period(application=pending, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2060, 7, 2))
    assert exc.value.extra == {"current_state": "submitted", "expected_step": "hold the welcome meeting"}


def test_a_new_period_does_not_start_before_its_board_decision(member, org):
    member.withdraw("resignation", on=D(2060, 6, 30))
    with pytest.raises(InvalidInput) as exc:
        member.start_period(application=admitted(org, "app-2", D(2060, 8, 1)), organisation=org,
                            fee_scale=DEFAULT_FEE_SCALE, on=D(2060, 7, 31))
    assert exc.value.detail == "on 2060-07-31 is before the board decision (2060-08-01)"


def test_a_new_period_does_not_start_before_a_later_fact(member, org):
    member.apply_deadlines(on=D(2060, 5, 6))  # lapsed
    member.invoice_dues(2061, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2061, 1, 5))
    with pytest.raises(Conflict) as exc:
        rejoin(member, org, D(2060, 12, 1))
    assert exc.value.extra["later_fact"] == f"invoice {org.id}-2061 issued on 2061-01-05"
    assert member.status is MemberStatus.LAPSED and len(member.membership_periods()) == 1


def test_dues_owed_from_an_earlier_period_may_still_be_paid(member, org):
    member.withdraw("resignation", on=D(2060, 3, 1))  # the 2060 invoice is still open
    rejoin(member, org, D(2061, 2, 1))
    member.pull_events()
    member.record_payment(2060, amount_cents=15_000, payment_id="p-old", on=D(2061, 2, 2))
    (paid,) = member.pull_events()
    assert (paid.invoice_id, paid.fully_paid) == (f"{org.id}-2060", True)
    assert member.invoices[0].is_paid and member.invoices[0].period == 1


def test_a_year_paid_earlier_in_this_period_is_the_live_invoice_even_after_lapsing_again(member, org):
    member.record_payment(2060, amount_cents=15_000, payment_id="p1", on=D(2060, 2, 20))
    member.withdraw("resignation", on=D(2060, 6, 30))
    rejoin(member, org, D(2060, 10, 1))
    assert member.live_invoice(2060).invoice_id == f"{org.id}-2060" and member.live_invoice(2061) is None


def test_a_document_stored_before_periods_derives_a_lapsed_or_an_open_period(member):
    legacy = Member.model_validate({**member.model_dump(), "periods": []})
    assert [(p.number, p.application_id, p.start_on, p.end_on, p.end_reason)
            for p in legacy.membership_periods()] == [(1, "app-1", D(2060, 2, 5), None, None)]
    member.apply_deadlines(on=D(2060, 5, 6))
    legacy = Member.model_validate({**member.model_dump(), "periods": []})
    assert [(p.end_on, p.end_reason) for p in legacy.membership_periods()] == [(D(2060, 5, 6), "lapsed")]
    assert legacy.period == 1


def test_a_second_period_s_end_and_renewal_keep_the_first_period(member, org):
    member.withdraw("resignation", on=D(2060, 3, 1))
    rejoin(member, org, D(2060, 11, 2))  # the 2060-2 invoice: due 2060-12-02, grace ends 2061-01-31
    assert member.deadline_due_as_of(D(2060, 11, 3)) is None, "the first period's unpaid dues do not count"
    member.apply_deadlines(on=D(2061, 2, 1))  # lapses
    assert [(p.number, p.end_on, p.end_reason) for p in member.periods] == [
        (1, D(2060, 3, 1), "resignation"), (2, D(2061, 2, 1), "lapsed")]
    member.invoice_dues(2061, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2061, 2, 2))
    member.record_payment(2061, amount_cents=15_000, payment_id="p2", on=D(2061, 2, 3))  # renewal
    assert [(p.number, p.end_on, p.end_reason) for p in member.periods] == [
        (1, D(2060, 3, 1), "resignation"), (2, None, None)]
    member.withdraw("merger", on=D(2061, 3, 1))
    assert [(p.number, p.end_on, p.end_reason) for p in member.periods] == [
        (1, D(2060, 3, 1), "resignation"), (2, D(2061, 3, 1), "merger")]


def test_joining_again_is_not_dated_before_the_end_of_the_last_status(member, org):
    member.enter_grace_period(on=D(2060, 4, 1))
    member.withdraw("resignation", on=D(2060, 6, 30))
    with pytest.raises(InvalidInput) as exc:
        rejoin(member, org, D(2060, 5, 1))
    assert exc.value.detail == "on 2060-05-01 is before the member's withdrawn status (2060-06-30)"
    with pytest.raises(InvalidInput) as exc:
        member.start_period(application=admitted(org, "app-2", D(2060, 8, 1)), organisation=org,
                            fee_scale=DEFAULT_FEE_SCALE, on=D(2060, 7, 31))
    assert exc.value.field == "on"


def test_joining_again_records_the_year_s_dues_and_refusals_say_why(member, org):
    member.withdraw("resignation", on=D(2060, 6, 30))
    member.pull_events()
    pending = MembershipApplication.submit("app-3", organisation=org, on=D(2060, 7, 1))
    with pytest.raises(Conflict) as exc:
        member.start_period(application=pending, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2060, 7, 2))
    assert exc.value.detail == ("cannot start a membership period from application app-3: it is submitted, not "
                                "admitted; expected step: hold the welcome meeting")
    rejoin(member, org, D(2061, 1, 10))
    activated, _ = member.pull_events()
    assert activated.dues_cents == 15_000


def test_joining_again_before_a_later_fact_says_so(member, org):
    member.apply_deadlines(on=D(2060, 5, 6))
    member.invoice_dues(2061, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2061, 1, 5))
    with pytest.raises(Conflict) as exc:
        rejoin(member, org, D(2060, 12, 1))
    assert exc.value.detail.startswith("cannot start a new membership period on 2060-12-01: member")


def test_a_document_stored_before_periods_withdrawn_without_a_reason_has_a_period_without_one(member):
    member.withdraw("dissolution", on=D(2060, 6, 30))
    legacy = Member.model_validate({**member.model_dump(), "periods": [], "withdrawal_reason": None})
    assert [(p.end_on, p.end_reason) for p in legacy.membership_periods()] == [(D(2060, 6, 30), None)]
