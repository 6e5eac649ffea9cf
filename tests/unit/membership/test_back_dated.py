"""Back-dated commands tell the truth (issue 10): a deadline run dated D decides from the facts
as of D, and a status change dated before the member's last recorded fact is refused, naming it.

The cases found by replaying a real year through the API: a run dated 31 December, made after
the next year's payments were recorded, (A) let members that were past their grace period escape
the lapse because their payments (made later) were already there, (B) lapsed members that had
paid the next year in full and left them lapsed, (C) recorded a grace period after the renewal
that followed it, leaving the member in grace.
"""
from datetime import date as D

import pytest

from runtime.errors import Conflict
from services.membership.domain import DEFAULT_FEE_SCALE, Member, MemberStatus

from .conftest import TERMS, make_member

RUN_ON = D(2067, 12, 31)


@pytest.fixture
def member(org) -> Member:  # org: conftest's
    """Joined 2067-01-10: the 2067 invoice (150 €) is due 2067-02-09, its grace ends 2067-04-10."""
    m = make_member(org, on=D(2067, 1, 10))
    m.pull_events()
    return m


def invoice_2068_paid(member, org, paid_on=D(2068, 1, 20)):
    member.invoice_dues(2068, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2068, 1, 5))
    member.record_payment(2068, amount_cents=15_000, payment_id="p-2068", on=paid_on)


def test_a_paid_after_the_date_does_not_let_a_member_escape_the_lapse_due_that_day(member):
    member.record_payment(2067, amount_cents=15_000, payment_id="p-late", on=D(2068, 1, 20))
    member.pull_events()
    assert member.deadline_due_as_of(RUN_ON) == "lapse"
    with pytest.raises(Conflict) as exc:
        member.apply_deadlines(on=RUN_ON)
    assert "payment p-late" in exc.value.detail and exc.value.extra["later_fact_on"] == "2068-01-20"
    assert member.pull_events() == [] and member.status is MemberStatus.ACTIVE
    assert not member.in_good_standing(RUN_ON) and member.in_good_standing(D(2068, 1, 20))


def test_b_a_member_that_paid_the_next_year_is_not_lapsed_behind_its_payment(member, org):
    invoice_2068_paid(member, org)
    member.pull_events()
    with pytest.raises(Conflict) as exc:
        member.apply_deadlines(on=RUN_ON)
    assert "payment p-2068" in exc.value.detail
    assert member.status is MemberStatus.ACTIVE and member.pull_events() == []
    assert member.invoices[0].written_off_on is None
    assert member.status_on(D(2068, 2, 1)) is MemberStatus.ACTIVE


def test_c_no_grace_period_is_recorded_after_the_renewal_that_followed_it(member, org):
    member.record_payment(2067, amount_cents=5_000, payment_id="p-part", on=D(2067, 1, 20))
    invoice_2068_paid(member, org)
    member.pull_events()
    with pytest.raises(Conflict) as exc:
        member.apply_deadlines(on=D(2067, 3, 1))
    assert "payment p-2068" in exc.value.detail
    assert member.status is MemberStatus.ACTIVE and member.grace_entered_on is None
    assert [c.status for c in member.status_history] == [MemberStatus.ACTIVE]


def test_a_back_dated_run_with_nothing_due_that_day_changes_nothing_and_is_not_refused(member, org):
    member.record_payment(2067, amount_cents=15_000, payment_id="p1", on=D(2067, 2, 1))
    invoice_2068_paid(member, org)
    member.pull_events()
    assert member.apply_deadlines(on=D(2067, 6, 30)) == [] and member.pull_events() == []


def test_a_run_on_or_after_the_last_fact_applies_as_before(member):
    member.record_payment(2067, amount_cents=5_000, payment_id="p1", on=D(2067, 1, 20))
    events = member.apply_deadlines(on=D(2067, 4, 11))
    assert [type(e).__name__ for e in events] == ["MembershipEnteredGracePeriod", "MembershipLapsed"]
    assert member.status is MemberStatus.LAPSED


def test_as_of_a_date_only_the_payments_made_by_then_count(member):
    member.record_payment(2067, amount_cents=15_000, payment_id="p1", on=D(2067, 3, 1))
    assert member.deadline_due_as_of(D(2067, 2, 20)) == "enter the grace period"
    assert member.deadline_due_as_of(D(2067, 3, 1)) is None
    assert member.deadline_due_as_of(D(2067, 1, 9)) is None, "not a member yet"


@pytest.mark.parametrize("command", ["withdraw", "settle"])
def test_a_status_change_dated_before_the_last_fact_is_refused_naming_it(member, command):
    member.record_payment(2067, amount_cents=5_000, payment_id="p1", on=D(2067, 1, 20))
    member.apply_deadlines(on=D(2067, 2, 10))  # grace period
    member.send_dues_reminder(2067, on=D(2067, 3, 1))
    member.pull_events()
    with pytest.raises(Conflict) as exc:
        if command == "withdraw":
            member.withdraw("resignation", on=D(2067, 2, 20))
        else:  # settling the invoice would bring the member back to active before the reminder
            member.record_payment(2067, amount_cents=10_000, payment_id="p2", on=D(2067, 2, 20))
    assert "reminder 1 of invoice" in exc.value.detail and exc.value.extra["later_fact_on"] == "2067-03-01"
    assert member.status is MemberStatus.GRACE_PERIOD and member.invoices[0].paid_cents == 5_000
    assert member.pull_events() == []


def test_a_back_dated_payment_that_changes_no_status_is_applied(member):
    member.send_dues_reminder(2067, on=D(2067, 1, 30))
    member.record_payment(2067, amount_cents=5_000, payment_id="p1", on=D(2067, 1, 25))
    assert member.invoices[0].paid_cents_on(D(2067, 1, 26)) == 5_000


def test_a_status_change_on_the_day_of_the_last_fact_is_not_before_it(member):
    member.send_dues_reminder(2067, on=D(2067, 3, 1))
    member.withdraw("resignation", on=D(2067, 3, 1))
    assert member.status is MemberStatus.WITHDRAWN


@pytest.mark.parametrize("command, action", [("enter_grace_period", "enter the grace period"), ("lapse", "lapse")])
def test_a_deadline_dated_before_the_last_fact_is_refused_naming_it(member, command, action):
    member.send_dues_reminder(2067, on=D(2067, 6, 1))
    member.pull_events()
    with pytest.raises(Conflict) as exc:
        getattr(member, command)(on=D(2067, 5, 1))  # past the due date and the grace end
    assert exc.value.detail == (f"cannot {action} on 2067-05-01: member org-1 has a later "
                                f"recorded fact (reminder 1 of invoice org-1-2067 on 2067-06-01); a status change is "
                                f"not recorded before facts that followed it — date it 2067-06-01 or later")
    assert exc.value.extra == {"current_state": "active", "later_fact": "reminder 1 of invoice org-1-2067 on "
                                                                        "2067-06-01", "later_fact_on": "2067-06-01"}
    assert member.status is MemberStatus.ACTIVE and member.pull_events() == []


def test_the_later_fact_named_may_be_an_invoice_or_a_status_change(member, org):
    member.invoice_dues(2068, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2067, 12, 1))
    with pytest.raises(Conflict) as exc:
        member.withdraw("resignation", on=D(2067, 11, 1))
    assert exc.value.extra["later_fact"] == "invoice org-1-2068 issued on 2067-12-01"
    member.apply_deadlines(on=D(2068, 1, 20))  # 2067 past its grace end: grace period, then the lapse
    with pytest.raises(Conflict) as exc:
        member.withdraw("resignation", on=D(2068, 1, 19))
    assert exc.value.extra["later_fact"] == "grace_period since 2068-01-20"  # the first recorded that day


def test_a_back_dated_payment_that_leaves_the_member_in_grace_is_applied(member, org):
    """Settling an invoice in full while another one is overdue changes no status: it may be dated before a
    later fact."""
    member.invoice_dues(2068, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2067, 2, 15))
    member.apply_deadlines(on=D(2067, 2, 20))  # 2067 overdue since 2067-02-10 (2068 due 2067-03-17): grace
    member.send_dues_reminder(2067, on=D(2067, 3, 1))
    member.record_payment(2068, amount_cents=15_000, payment_id="p1", on=D(2067, 2, 25))
    assert member.status is MemberStatus.GRACE_PERIOD and member.invoices[1].is_paid


def test_a_back_dated_part_payment_in_grace_is_applied(member):
    member.apply_deadlines(on=D(2067, 2, 20))
    member.send_dues_reminder(2067, on=D(2067, 3, 1))
    member.record_payment(2067, amount_cents=5_000, payment_id="p1", on=D(2067, 2, 25))
    assert member.status is MemberStatus.GRACE_PERIOD and member.invoices[0].paid_cents == 5_000


def test_as_of_the_deadline_days_themselves_nothing_is_due_yet(member):
    assert member.deadline_due_as_of(D(2067, 2, 9)) is None          # the due date
    assert member.deadline_due_as_of(D(2067, 2, 10)) == "enter the grace period"
    assert member.deadline_due_as_of(D(2067, 4, 10)) == "enter the grace period"  # the grace end
    assert member.deadline_due_as_of(D(2067, 4, 11)) == "lapse"
    member.apply_deadlines(on=D(2067, 2, 10))
    assert member.deadline_due_as_of(D(2067, 3, 1)) is None, "in grace already: nothing more until the grace end"
    assert member.deadline_due_as_of(D(2067, 4, 11)) == "lapse"
    member.apply_deadlines(on=D(2067, 4, 11))
    assert member.deadline_due_as_of(D(2067, 5, 1)) is None, "lapsed: nothing is due of a lapsed member"


def test_the_refused_back_dated_steps_name_themselves(member):
    member.record_payment(2067, amount_cents=15_000, payment_id="p-late", on=D(2068, 1, 20))
    with pytest.raises(Conflict) as exc:
        member.apply_deadlines(on=RUN_ON)
    assert exc.value.detail.startswith("cannot lapse on 2067-12-31: member org-1 has a later recorded fact")
    other = make_member(on=D(2067, 1, 10))
    other.apply_deadlines(on=D(2067, 2, 10))  # grace period
    other.send_dues_reminder(2067, on=D(2067, 3, 1))
    with pytest.raises(Conflict) as exc:
        other.record_payment(2067, amount_cents=15_000, payment_id="p1", on=D(2067, 2, 20))
    assert exc.value.detail.startswith("cannot record a payment that brings the member back to active on 2067-02-20")
