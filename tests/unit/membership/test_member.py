from datetime import date as D

import pytest

from contracts.membership import (DuesInvoiced, DuesPaymentRecorded, DuesReminderSent, MemberActivated,
                                  MembershipEnteredGracePeriod, MembershipLapsed, MembershipRenewed,
                                  MembershipWithdrawn)
from runtime.errors import Conflict, InvalidInput, NotFound
from services.membership.domain import (DEFAULT_FEE_SCALE, Member, MembershipApplication, MemberStatus,
                                        WithdrawalReason)

from .conftest import TERMS, admitted_application, make_member, make_org

DUE = D(2024, 3, 6)
GRACE_END = D(2024, 5, 5)


def kinds(member):
    evs = member.pull_events()
    assert all(e.aggregate_id == member.id for e in evs)
    return [type(e) for e in evs]


def invoice_2025(member, org, on=D(2025, 1, 10)):
    return member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=on)


# -- activation ------------------------------------------------------------------------------

def test_activation_records_member_activated_and_first_invoice():
    org = make_org(legal_form="scic", departement="75", esus_agreed=True, esus_agreed_on=D(2022, 1, 1))
    m = make_member(org)
    assert m.id == org.id == m.organisation_id and m.status is MemberStatus.ACTIVE and m.since == D(2024, 2, 5)
    activated, invoiced = m.pull_events()
    assert isinstance(activated, MemberActivated) and isinstance(invoiced, DuesInvoiced)
    assert activated.aggregate_id == "org-1" and activated.application_id == "app-1"
    assert (activated.legal_form, activated.departement, activated.sector, activated.esus_agreed) == \
        ("scic", "75", "économie circulaire", True)
    assert activated.year == 2024 and activated.dues_cents == 15_000
    assert (invoiced.invoice_id, invoiced.amount_cents, invoiced.fee_bracket) == ("org-1-2024", 15_000, "B2")
    assert (invoiced.due_on, invoiced.grace_ends_on) == (DUE, GRACE_END)


def test_activation_needs_an_admitted_application():
    org = make_org()
    app = MembershipApplication.submit("app-1", organisation=org, on=D(2024, 1, 15))
    app.hold_welcome_meeting(on=D(2024, 1, 20))
    with pytest.raises(Conflict) as exc:
        Member.activate(application=app, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2024, 2, 5))
    assert "welcome_meeting_held" in exc.value.detail


def test_activation_checks_organisation_and_date():
    org = make_org()
    app = admitted_application(org)
    with pytest.raises(InvalidInput) as exc:
        Member.activate(application=app, organisation=make_org("org-2"), fee_scale=DEFAULT_FEE_SCALE,
                        on=D(2024, 2, 5))
    assert exc.value.field == "organisation_id"
    assert exc.value.detail == "application app-1 is organisation org-1's, not org-2's"
    with pytest.raises(InvalidInput) as exc:
        Member.activate(application=app, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2024, 1, 31))
    assert exc.value.field == "on"
    assert exc.value.detail == "on 2024-01-31 is before the board decision (2024-02-01)"


# -- invoices and payments -------------------------------------------------------------------

def test_partial_then_full_payment_of_first_year(member):
    inv = member.record_payment(2024, amount_cents=10_000, payment_id="p1", on=D(2024, 2, 20), method="cheque")
    assert inv.balance_cents == 5_000 and not inv.is_paid
    inv = member.record_payment(2024, amount_cents=5_000, payment_id="p2", on=D(2024, 2, 25))
    assert inv.is_paid and inv.paid_cents == 15_000
    e1, e2 = member.pull_events()
    assert isinstance(e1, DuesPaymentRecorded) and (e1.balance_cents, e1.fully_paid, e1.method) == (5_000, False, "cheque")
    assert (e2.balance_cents, e2.fully_paid) == (0, True)  # first year paid while active: joining, no renewal


def test_overpayment_and_bad_amounts_are_rejected(member):
    with pytest.raises(InvalidInput) as exc:
        member.record_payment(2024, amount_cents=15_001, payment_id="p1", on=D(2024, 2, 20))
    assert exc.value.field == "amount_cents" and "overpayment" in exc.value.detail
    for amount in (0, -100):
        with pytest.raises(InvalidInput):
            member.record_payment(2024, amount_cents=amount, payment_id="p1", on=D(2024, 2, 20))
    with pytest.raises(InvalidInput) as exc:
        member.record_payment(2024, amount_cents=100, payment_id="p1", on=D(2024, 2, 20), method="bitcoin")
    assert exc.value.field == "method"
    with pytest.raises(InvalidInput) as exc:
        member.record_payment(2024, amount_cents=100, payment_id="p1", on=D(2024, 2, 1))
    assert exc.value.field == "on"
    assert member.pull_events() == [] and member.outstanding_cents == 15_000


def test_payment_on_paid_or_unknown_invoice_and_duplicate_payment(member):
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    with pytest.raises(Conflict):
        member.record_payment(2024, amount_cents=1, payment_id="p2", on=D(2024, 2, 21))
    with pytest.raises(NotFound):
        member.record_payment(2023, amount_cents=1, payment_id="p3", on=D(2024, 2, 21))
    org = make_org()
    invoice_2025(member, org)
    with pytest.raises(Conflict) as exc:
        member.record_payment(2025, amount_cents=1, payment_id="p1", on=D(2025, 1, 11))
    assert "already recorded" in exc.value.detail


def test_a_replayed_payment_returns_the_first_record_and_records_nothing(member):
    first = member.record_payment(2024, amount_cents=5_000, payment_id="p1", on=D(2024, 2, 20), method="cheque")
    member.pull_events()
    again = member.record_payment(2024, amount_cents=5_000, payment_id="p1", on=D(2024, 2, 27), method="cheque")
    assert again is first and member.pull_events() == []
    assert [(p.payment_id, p.paid_on) for p in first.payments] == [("p1", D(2024, 2, 20))], "the first date stands"
    assert first.balance_cents == 10_000


def test_a_payment_id_replayed_with_other_values_is_a_conflict_naming_them(member):
    member.record_payment(2024, amount_cents=5_000, payment_id="p1", on=D(2024, 2, 20), method="cheque")
    with pytest.raises(Conflict) as exc:
        member.record_payment(2024, amount_cents=6_000, payment_id="p1", on=D(2024, 2, 20), method="transfer")
    assert "amount_cents 6000 (recorded: 5000)" in exc.value.detail
    assert "method transfer (recorded: cheque)" in exc.value.detail
    assert member.invoices[0].paid_cents == 5_000


def test_a_replayed_payment_after_withdrawal_still_answers_the_first_record(member):
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    member.withdraw("resignation", on=D(2024, 6, 1))
    member.pull_events()
    assert member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 6, 2)).is_paid
    assert member.pull_events() == []


def test_invoice_dues_rules(member, org):
    with pytest.raises(Conflict):
        member.invoice_dues(2024, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2024, 3, 1))
    for year in (2023, 2027):
        with pytest.raises(InvalidInput) as exc:
            member.invoice_dues(year, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1))
        assert exc.value.field == "year"
    with pytest.raises(InvalidInput) as exc:
        member.invoice_dues(2025, organisation=make_org("org-2"), fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1))
    assert exc.value.field == "organisation_id"


def test_new_year_invoice_uses_current_size_and_explicit_id(member, org):
    org.update(on=D(2024, 12, 1), headcount=40)
    inv = member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2024, 12, 15),
                              invoice_id="CRESS-2025-0001")
    assert (inv.invoice_id, inv.amount_cents, inv.fee_bracket) == ("CRESS-2025-0001", 40_000, "B3")
    [e] = member.pull_events()
    assert isinstance(e, DuesInvoiced) and e.year == 2025 and e.invoice_id == "CRESS-2025-0001"


def test_renewal_of_an_active_member(member, org):
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    invoice_2025(member, org)
    member.pull_events()
    member.record_payment(2025, amount_cents=15_000, payment_id="p2", on=D(2025, 1, 20))
    paid, renewed = member.pull_events()
    assert isinstance(renewed, MembershipRenewed)
    assert (renewed.year, renewed.previous_status, renewed.status) == (2025, "active", "active")


# -- reminders -------------------------------------------------------------------------------

def test_reminders_are_counted_and_only_for_unpaid_invoices(member):
    assert member.send_dues_reminder(2024, on=D(2024, 3, 10)) == 1
    member.record_payment(2024, amount_cents=1_000, payment_id="p1", on=D(2024, 3, 11))
    assert member.send_dues_reminder(2024, on=D(2024, 4, 1)) == 2
    evs = [e for e in member.pull_events() if isinstance(e, DuesReminderSent)]
    assert [(e.reminder_number, e.balance_cents) for e in evs] == [(1, 15_000), (2, 14_000)]
    assert member.live_invoice(2024).last_reminder_on == D(2024, 4, 1)
    member.record_payment(2024, amount_cents=14_000, payment_id="p2", on=D(2024, 4, 2))
    with pytest.raises(Conflict) as exc:
        member.send_dues_reminder(2024, on=D(2024, 4, 3))
    assert "already paid" in exc.value.detail
    with pytest.raises(NotFound):
        member.send_dues_reminder(2025, on=D(2025, 4, 3))


# -- grace, lapse, renewal -------------------------------------------------------------------

def test_grace_period_then_payment_restores_active(member):
    with pytest.raises(Conflict):
        member.enter_grace_period(on=DUE)  # not overdue on the deadline itself
    member.enter_grace_period(on=D(2024, 3, 7))
    assert member.status is MemberStatus.GRACE_PERIOD
    [g] = member.pull_events()
    assert isinstance(g, MembershipEnteredGracePeriod)
    assert (g.invoice_id, g.balance_cents, g.due_on, g.grace_ends_on) == ("org-1-2024", 15_000, DUE, GRACE_END)
    with pytest.raises(Conflict):
        member.enter_grace_period(on=D(2024, 3, 8))
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 4, 1))
    assert member.status is MemberStatus.ACTIVE and member.grace_entered_on is None
    _, renewed = member.pull_events()
    assert (renewed.previous_status, renewed.status, renewed.year) == ("grace_period", "active", 2024)


def test_lapse_needs_grace_to_have_ended(member):
    with pytest.raises(Conflict):
        member.lapse(on=GRACE_END)
    member.lapse(on=D(2024, 5, 6))  # directly from active: a late scheduler
    assert member.status is MemberStatus.LAPSED and member.lapsed_on == D(2024, 5, 6)
    [e] = member.pull_events()
    assert isinstance(e, MembershipLapsed)
    assert (e.year, e.invoice_ids, e.written_off_cents, e.grace_ended_on) == (2024, ["org-1-2024"], 15_000, GRACE_END)
    assert member.outstanding_cents == 0 and member.live_invoice(2024) is None
    with pytest.raises(Conflict):
        member.lapse(on=D(2024, 5, 7))


def test_apply_deadlines_is_idempotent(member):
    assert member.apply_deadlines(on=DUE) == []
    assert [type(e) for e in member.apply_deadlines(on=D(2024, 3, 20))] == [MembershipEnteredGracePeriod]
    assert member.apply_deadlines(on=D(2024, 3, 21)) == []
    assert [type(e) for e in member.apply_deadlines(on=D(2024, 6, 1))] == [MembershipLapsed]
    assert member.apply_deadlines(on=D(2024, 7, 1)) == []
    assert kinds(member) == [MembershipEnteredGracePeriod, MembershipLapsed]


def test_apply_deadlines_far_past_grace_records_both(member):
    assert [type(e) for e in member.apply_deadlines(on=D(2024, 9, 1))] == [MembershipEnteredGracePeriod,
                                                                          MembershipLapsed]


def test_written_off_invoice_cannot_be_paid_or_reminded(member):
    member.apply_deadlines(on=D(2024, 6, 1))
    with pytest.raises(Conflict) as exc:
        member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 6, 2))
    assert "written off" in exc.value.detail
    with pytest.raises(Conflict):
        member.send_dues_reminder(2024, on=D(2024, 6, 2))


def test_lapsed_member_renews_by_paying_a_new_invoice(member, org):
    member.apply_deadlines(on=D(2024, 6, 1))
    member.pull_events()
    # same year invoiced again after the write-off
    inv = member.invoice_dues(2024, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2024, 9, 1))
    assert inv.invoice_id == "org-1-2024-2"
    member.record_payment(2024, amount_cents=5_000, payment_id="p1", on=D(2024, 9, 2))
    assert member.status is MemberStatus.LAPSED  # partial payment does not renew
    member.record_payment(2024, amount_cents=10_000, payment_id="p2", on=D(2024, 9, 3))
    assert member.status is MemberStatus.ACTIVE and member.lapsed_on is None
    evs = member.pull_events()
    renewed = evs[-1]
    assert isinstance(renewed, MembershipRenewed)
    assert (renewed.previous_status, renewed.status, renewed.invoice_id) == ("lapsed", "active", "org-1-2024-2")


def test_paying_next_year_while_older_dues_overdue_keeps_grace(member, org):
    member.enter_grace_period(on=D(2024, 4, 1))
    member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2024, 4, 2))
    member.pull_events()
    member.record_payment(2025, amount_cents=15_000, payment_id="p1", on=D(2024, 4, 3))
    assert member.status is MemberStatus.GRACE_PERIOD
    _, renewed = member.pull_events()
    assert (renewed.year, renewed.previous_status, renewed.status) == (2025, "grace_period", "grace_period")


def test_lapse_writes_off_every_open_invoice(member, org):
    member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2024, 12, 1))
    member.pull_events()
    member.lapse(on=D(2024, 12, 2))
    [e] = member.pull_events()
    assert e.invoice_ids == ["org-1-2024", "org-1-2025"] and e.written_off_cents == 30_000


# -- withdrawal ------------------------------------------------------------------------------

@pytest.mark.parametrize("before", ["active", "grace", "lapsed"])
def test_withdrawal_is_terminal(member, org, before):
    if before == "grace":
        member.enter_grace_period(on=D(2024, 4, 1))
    elif before == "lapsed":
        member.lapse(on=D(2024, 6, 1))
    member.pull_events()
    member.withdraw("resignation", on=D(2024, 7, 1), detail="Activity transferred")
    assert member.status is MemberStatus.WITHDRAWN and member.withdrawal_reason is WithdrawalReason.RESIGNATION
    [e] = member.pull_events()
    assert isinstance(e, MembershipWithdrawn) and e.detail == "Activity transferred"
    assert e.outstanding_cents == (0 if before == "lapsed" else 15_000)
    for step in (lambda: member.withdraw("other", on=D(2024, 7, 2)),
                 lambda: member.record_payment(2024, amount_cents=1, payment_id="p", on=D(2024, 7, 2)),
                 lambda: member.send_dues_reminder(2024, on=D(2024, 7, 2)),
                 lambda: member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1)),
                 lambda: member.enter_grace_period(on=D(2024, 7, 2)),
                 lambda: member.lapse(on=D(2024, 7, 2))):
        with pytest.raises(Conflict) as exc:
            step()
        assert "withdrawn" in exc.value.detail
    assert member.apply_deadlines(on=D(2025, 1, 1)) == []


def test_withdrawal_input(member):
    with pytest.raises(InvalidInput) as exc:
        member.withdraw("bored", on=D(2024, 7, 1))
    assert exc.value.field == "reason"
    with pytest.raises(InvalidInput) as exc:
        member.withdraw("resignation", on=D(2024, 1, 1))
    assert exc.value.field == "on"


# -- good standing ---------------------------------------------------------------------------

def test_good_standing_on_given_dates(member):
    assert not member.in_good_standing(D(2024, 2, 4))   # before the membership started
    assert member.in_good_standing(D(2024, 2, 5))
    assert member.in_good_standing(DUE)
    assert member.in_good_standing(D(2024, 4, 1))      # late but within grace (even before it is recorded)
    assert member.in_good_standing(GRACE_END)
    assert not member.in_good_standing(D(2024, 5, 6))  # past grace, lapse not yet recorded
    member.enter_grace_period(on=D(2024, 4, 1))
    assert member.in_good_standing(D(2024, 4, 2))
    member.lapse(on=D(2024, 5, 6))
    assert not member.in_good_standing(D(2024, 5, 6))
    assert member.in_good_standing(D(2024, 4, 2))  # lapsed later: was in grace, in good standing then


def test_good_standing_after_payment_and_withdrawal(member):
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    assert member.in_good_standing(D(2024, 12, 31))
    assert member.in_good_standing(D(2025, 6, 1))  # 2025 not yet invoiced: still in good standing
    member.withdraw(WithdrawalReason.DISSOLUTION, on=D(2024, 10, 1))
    assert not member.in_good_standing(D(2024, 10, 1))


# -- persistence -----------------------------------------------------------------------------

def test_json_round_trip(member, org):
    member.record_payment(2024, amount_cents=1_000, payment_id="p1", on=D(2024, 2, 20), method="card")
    member.send_dues_reminder(2024, on=D(2024, 3, 10))
    member.lapse(on=D(2024, 6, 1))
    member.invoice_dues(2024, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2024, 9, 1))
    member.withdraw("merger", on=D(2024, 10, 1))
    member.pull_events()
    member.version = 7
    data = member.model_dump(mode="json")
    back = Member.model_validate(data)
    assert back == member and back.model_dump(mode="json") == data
    assert back.invoices[0].written_off_on == D(2024, 6, 1) and back.invoices[0].payments[0].amount_cents == 1_000


# -- what each dues event carries ------------------------------------------------------------

def test_the_dues_events_carry_their_invoice_year_amounts_and_dates(member, org):
    member.send_dues_reminder(2024, on=D(2024, 3, 1))
    member.record_payment(2024, amount_cents=4_000, payment_id="p1", on=D(2024, 3, 2), method="card")
    member.enter_grace_period(on=D(2024, 3, 10))
    member.record_payment(2024, amount_cents=11_000, payment_id="p2", on=D(2024, 4, 2))
    reminder, partial, grace, paid, renewed = member.pull_events()
    assert (reminder.invoice_id, reminder.year, reminder.reminder_number, reminder.balance_cents,
            reminder.sent_on) == ("org-1-2024", 2024, 1, 15_000, D(2024, 3, 1))
    assert (partial.organisation_id, partial.invoice_id, partial.payment_id, partial.year, partial.amount_cents,
            partial.method, partial.paid_on, partial.balance_cents, partial.fully_paid) == \
        ("org-1", "org-1-2024", "p1", 2024, 4_000, "card", D(2024, 3, 2), 11_000, False)
    assert (grace.organisation_id, grace.entered_on, grace.balance_cents) == ("org-1", D(2024, 3, 10), 11_000)
    assert (paid.payment_id, paid.method, paid.balance_cents, paid.fully_paid) == ("p2", "transfer", 0, True)
    assert (renewed.organisation_id, renewed.invoice_id, renewed.renewed_on) == ("org-1", "org-1-2024", D(2024, 4, 2))
    invoice_2025(member, org, on=D(2024, 12, 20))
    (invoiced,) = member.pull_events()
    assert (invoiced.organisation_id, invoiced.invoice_id, invoiced.year, invoiced.issued_on, invoiced.due_on,
            invoiced.grace_ends_on) == ("org-1", "org-1-2025", 2025, D(2024, 12, 20), D(2025, 1, 19), D(2025, 3, 20))


def test_activation_records_the_date_and_the_first_period():
    m = make_member()
    activated, _ = m.pull_events()
    assert (activated.organisation_id, activated.since, activated.period) == ("org-1", D(2024, 2, 5), 1)
    assert [(p.number, p.application_id, p.start_on, p.end_on) for p in m.periods] == [(1, "app-1", D(2024, 2, 5),
                                                                                         None)]
    assert (m.application_id, m.invoices[0].period, m.invoices[0].issued_on) == ("app-1", 1, D(2024, 2, 5))


def test_activation_refused_says_the_application_s_state_and_next_step():
    org = make_org()
    app = MembershipApplication.submit("app-1", organisation=org, on=D(2024, 1, 15))
    with pytest.raises(Conflict) as exc:
        Member.activate(application=app, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2024, 2, 5))
    assert exc.value.extra == {"current_state": "submitted", "expected_step": "hold the welcome meeting"}


def test_a_payment_needs_an_id_and_is_not_dated_before_its_invoice(member):
    for payment_id in ("", "  "):
        with pytest.raises(InvalidInput) as exc:
            member.record_payment(2024, amount_cents=100, payment_id=payment_id, on=D(2024, 2, 20))
        assert exc.value.field == "payment_id"
    with pytest.raises(InvalidInput) as exc:
        member.record_payment(2024, amount_cents=100, payment_id="p1", on=D(2024, 2, 4))
    assert exc.value.detail == "on 2024-02-04 is before the issue of invoice org-1-2024 (2024-02-05)"
    member.record_payment(2024, amount_cents=100, payment_id="p1", on=D(2024, 2, 5))  # the issue day itself


def test_an_overpayment_says_how_much_is_due(member):
    member.record_payment(2024, amount_cents=5_000, payment_id="p1", on=D(2024, 2, 20))
    with pytest.raises(InvalidInput) as exc:
        member.record_payment(2024, amount_cents=10_001, payment_id="p2", on=D(2024, 2, 21))
    assert exc.value.detail == "overpayment: 10001 cents paid but only 10000 cents due on org-1-2024"


def test_a_payment_id_replayed_for_another_year_is_a_conflict_naming_the_year(member, org):
    member.record_payment(2024, amount_cents=5_000, payment_id="p1", on=D(2024, 2, 20), method="cheque")
    invoice_2025(member, org)
    with pytest.raises(Conflict) as exc:
        member.record_payment(2025, amount_cents=5_000, payment_id="p1", on=D(2025, 1, 11), method="cheque")
    assert exc.value.detail == ("payment p1 is already recorded for member org-1 (org-1-2024, 2024-02-20) with "
                                "other values: year 2025 (recorded: 2024)")
    assert exc.value.extra == {"payment_id": "p1"}


def test_the_invoicing_refusals_say_why(member, org):
    with pytest.raises(Conflict) as exc:
        member.invoice_dues(2024, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2024, 3, 1))
    assert exc.value.detail == "member org-1: the 2024 dues are already invoiced (org-1-2024)"
    assert exc.value.extra == {"year": 2024}
    with pytest.raises(InvalidInput) as exc:
        member.invoice_dues(2027, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1))
    assert exc.value.detail == "year 2027 is outside 2024–2026"
    with pytest.raises(InvalidInput) as exc:
        member.invoice_dues("2025", organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1))
    assert exc.value.field == "year"
    with pytest.raises(InvalidInput) as exc:
        member.invoice_dues(2024, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2024, 2, 4))
    assert exc.value.field == "on"
    assert member.invoice_dues(2026, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1)).year == 2026


def test_an_explicit_invoice_id_is_checked_and_not_used_twice(member, org):
    with pytest.raises(InvalidInput) as exc:
        invoice_id = "I" * 101
        member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1),
                            invoice_id=invoice_id)
    assert exc.value.field == "invoice_id"
    with pytest.raises(Conflict) as exc:
        member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1),
                            invoice_id=" org-1-2024 ")
    assert exc.value.detail == "invoice id org-1-2024 is already used for member org-1"
    inv = member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1),
                              invoice_id="I" * 100)
    assert inv.invoice_id == "I" * 100


def test_a_reminder_is_not_dated_before_its_invoice(member):
    with pytest.raises(InvalidInput) as exc:
        member.send_dues_reminder(2024, on=D(2024, 2, 4))
    assert exc.value.field == "on"
    assert member.send_dues_reminder(2024, on=D(2024, 2, 5)) == 1


def test_a_lapsed_member_s_written_off_year_says_to_invoice_it_again(member):
    member.lapse(on=D(2024, 5, 6))
    with pytest.raises(Conflict) as exc:
        member.send_dues_reminder(2024, on=D(2024, 5, 7))
    assert exc.value.detail == ("cannot send a reminder: the 2024 dues of member org-1 were written off when the "
                                "membership lapsed; invoice them again")
    assert exc.value.extra == {"year": 2024}
    with pytest.raises(NotFound) as exc:
        member.send_dues_reminder(2023, on=D(2024, 5, 7))
    assert exc.value.detail == "member org-1 has no 2023 dues invoice" and exc.value.extra == {"year": 2023}


# -- deadlines: the oldest invoice first ----------------------------------------------------

def _an_earlier_deadline_on_a_later_invoice(member, org):
    """The 2025 invoice, issued 2024-02-10 with no payment terms and no grace, is due (and its grace
    ends) 2024-02-10, before the 2024 invoice's 2024-03-06."""
    from services.membership.domain import DuesTerms

    member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2024, 2, 10),
                        terms=DuesTerms(payment_terms_days=0, grace_period_days=0))
    member.pull_events()


def test_the_grace_period_is_entered_for_the_invoice_due_first(member, org):
    _an_earlier_deadline_on_a_later_invoice(member, org)
    member.enter_grace_period(on=D(2024, 3, 10))
    (grace,) = member.pull_events()
    assert (grace.invoice_id, grace.year, grace.due_on) == ("org-1-2025", 2025, D(2024, 2, 10))


def test_a_lapse_names_the_invoice_whose_grace_ended_first(member, org):
    _an_earlier_deadline_on_a_later_invoice(member, org)
    member.lapse(on=D(2024, 5, 10))  # both past their grace end
    (lapsed,) = member.pull_events()
    assert (lapsed.year, lapsed.grace_ended_on, lapsed.lapsed_on) == (2025, D(2024, 2, 10), D(2024, 5, 10))
    assert lapsed.invoice_ids == ["org-1-2024", "org-1-2025"]


def test_a_lapse_writes_off_only_the_open_invoices(member, org):
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    invoice_2025(member, org, on=D(2024, 6, 1))  # due 2024-07-01, grace ends 2024-08-30
    member.enter_grace_period(on=D(2024, 7, 2))
    member.pull_events()
    member.lapse(on=D(2024, 8, 31))
    (lapsed,) = member.pull_events()
    assert (lapsed.invoice_ids, lapsed.written_off_cents, lapsed.year) == (["org-1-2025"], 15_000, 2025)
    assert [inv.written_off_on for inv in member.invoices] == [None, D(2024, 8, 31)]
    assert member.invoices[0].is_paid and member.grace_entered_on is None


def test_a_lapse_or_grace_period_that_is_not_due_says_so(member):
    with pytest.raises(Conflict) as exc:
        member.enter_grace_period(on=DUE)
    assert exc.value.detail == "member org-1 has no dues overdue on 2024-03-06"
    assert exc.value.extra == {"current_state": "active"}
    with pytest.raises(Conflict) as exc:
        member.lapse(on=GRACE_END)
    assert exc.value.detail == "member org-1 has no dues unpaid beyond their grace period on 2024-05-05"
    assert exc.value.extra == {"current_state": "active"}


def test_the_deadlines_run_on_the_day_of_the_last_fact_apply(member):
    member.send_dues_reminder(2024, on=D(2024, 3, 10))
    assert [type(e) for e in member.apply_deadlines(on=D(2024, 3, 10))] == [MembershipEnteredGracePeriod]
    assert member.status is MemberStatus.GRACE_PERIOD
    member.send_dues_reminder(2024, on=D(2024, 5, 6))
    assert [type(e) for e in member.apply_deadlines(on=D(2024, 5, 6))] == [MembershipLapsed]


def test_a_withdrawal_records_its_reason_and_date(member):
    member.withdraw("dissolution", on=D(2024, 7, 1))
    (withdrawn,) = member.pull_events()
    assert (withdrawn.organisation_id, withdrawn.reason, withdrawn.previous_status, withdrawn.withdrawn_on,
            withdrawn.detail) == ("org-1", "dissolution", "active", D(2024, 7, 1), None)
    assert (member.withdrawn_on, member.withdrawal_detail) == (D(2024, 7, 1), None)
    assert [(p.end_on, p.end_reason) for p in member.periods] == [(D(2024, 7, 1), "dissolution")]


def test_a_withdrawal_s_detail_is_at_most_2000_characters(member):
    with pytest.raises(InvalidInput) as exc:
        member.withdraw("other", on=D(2024, 7, 1), detail="d" * 2001)
    assert exc.value.field == "detail"
    member.withdraw("other", on=D(2024, 7, 1), detail="d" * 2000)
    assert member.withdrawal_detail == "d" * 2000


def test_a_withdrawn_member_s_refusal_says_how_it_may_come_back(member):
    member.withdraw("resignation", on=D(2024, 7, 1))
    with pytest.raises(Conflict) as exc:
        member.send_dues_reminder(2024, on=D(2024, 7, 2))
    assert exc.value.detail == ("cannot send a dues reminder: member org-1 is withdrawn; the membership was "
                                "withdrawn (a new application may start a new period)")
    assert exc.value.extra == {"current_state": "withdrawn"}


# -- the refusals' words, and what each refusal protects -------------------------------------

def test_every_command_refused_to_a_withdrawn_member_names_itself(member, org):
    member.withdraw("resignation", on=D(2024, 7, 1))
    back = "the membership was withdrawn (a new application may start a new period)"
    for step, why in ((lambda: member.withdraw("other", on=D(2024, 7, 2)), f"cannot withdraw: member org-1 is "
                       f"withdrawn; {back}"),
                      (lambda: member.record_payment(2024, amount_cents=1, payment_id="p", on=D(2024, 7, 2)),
                       f"cannot record a payment: member org-1 is withdrawn; {back}"),
                      (lambda: invoice_2025(member, org), f"cannot invoice dues: member org-1 is withdrawn; {back}"),
                      (lambda: member.enter_grace_period(on=D(2024, 7, 2)), "cannot enter the grace period: member "
                       "org-1 is withdrawn; only an active member enters the grace period"),
                      (lambda: member.lapse(on=D(2024, 7, 2)), "cannot lapse: member org-1 is withdrawn; only an "
                       "active member or one in its grace period can lapse")):
        with pytest.raises(Conflict) as exc:
            step()
        assert exc.value.detail == why


def test_a_paid_invoice_refuses_more_naming_it(member):
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    with pytest.raises(Conflict) as exc:
        member.record_payment(2024, amount_cents=1, payment_id="p2", on=D(2024, 2, 21))
    assert exc.value.detail == "cannot record a payment: invoice org-1-2024 is already paid"
    assert exc.value.extra == {"year": 2024}


def test_a_year_not_invoiced_is_not_found_even_when_another_year_is_open(member):
    with pytest.raises(NotFound):
        member.record_payment(2023, amount_cents=100, payment_id="p1", on=D(2024, 2, 20))
    assert member.invoices[0].payments == []


def test_the_dates_refused_say_what_they_come_before(member, org):
    with pytest.raises(InvalidInput) as exc:
        member.send_dues_reminder(2024, on=D(2024, 2, 4))
    assert exc.value.detail == "on 2024-02-04 is before the issue of invoice org-1-2024 (2024-02-05)"
    with pytest.raises(InvalidInput) as exc:
        member.invoice_dues(2024, organisation=org, fee_scale=DEFAULT_FEE_SCALE, on=D(2024, 2, 4))
    assert exc.value.detail == "on 2024-02-04 is before the start of the membership (2024-02-05)"
    with pytest.raises(InvalidInput) as exc:
        member.withdraw("resignation", on=D(2024, 2, 4))
    assert exc.value.detail == "on 2024-02-04 is before the start of the membership (2024-02-05)"
    with pytest.raises(InvalidInput) as exc:
        member.record_payment(2024, amount_cents=0, payment_id="p1", on=D(2024, 2, 20))
    assert exc.value.field == "amount_cents"
    with pytest.raises(InvalidInput) as exc:
        member.invoice_dues(2025, organisation=make_org("org-2"), fee_scale=DEFAULT_FEE_SCALE, on=D(2025, 1, 1))
    assert exc.value.detail == "member org-1 cannot be invoiced on organisation org-2's size"


def test_a_payment_replayed_with_several_other_values_lists_them_all(member):
    member.record_payment(2024, amount_cents=5_000, payment_id="p1", on=D(2024, 2, 20), method="cheque")
    with pytest.raises(Conflict) as exc:
        member.record_payment(2024, amount_cents=6_000, payment_id="p1", on=D(2024, 2, 20), method="transfer")
    assert exc.value.detail.endswith("with other values: amount_cents 6000 (recorded: 5000); "
                                     "method transfer (recorded: cheque)")


def test_a_withdrawal_dated_before_a_later_fact_says_so(member):
    member.send_dues_reminder(2024, on=D(2024, 3, 1))
    with pytest.raises(Conflict) as exc:
        member.withdraw("resignation", on=D(2024, 2, 20))
    assert exc.value.detail.startswith("cannot withdraw on 2024-02-20: member org-1 has a later recorded fact")


def test_the_latest_fact_is_found_among_status_changes_invoices_and_payments(member):
    member.record_payment(2024, amount_cents=1_000, payment_id="p1", on=D(2024, 3, 1))
    member.enter_grace_period(on=D(2024, 3, 10))
    assert member.latest_fact() == (D(2024, 3, 10), "grace_period since 2024-03-10")
    with pytest.raises(Conflict):
        member.withdraw("resignation", on=D(2024, 3, 5))


def test_a_period_starts_on_its_first_day():
    m = make_member()
    assert m.period_on(D(2024, 2, 4)) is None and m.period_on(D(2024, 2, 5)).number == 1
