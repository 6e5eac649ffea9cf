"""Good standing on any date, past included, from the member's status history."""
from datetime import date as D

from services.membership.domain import DEFAULT_FEE_SCALE, Member, MemberStatus, StatusChange

from .conftest import TERMS, make_org

SINCE = D(2024, 2, 5)
DUE = D(2024, 3, 6)
GRACE_END = D(2024, 5, 5)


def history(member):
    return [(c.status, c.since) for c in member.status_history]


def test_activation_starts_the_history(member):
    assert history(member) == [(MemberStatus.ACTIVE, SINCE)]


def test_before_since_not_in_good_standing(member):
    assert member.status_on(D(2024, 2, 4)) is None
    assert not member.in_good_standing(D(2023, 12, 31))
    assert not member.in_good_standing(D(2024, 2, 4))
    assert member.in_good_standing(SINCE)


def test_member_that_lapsed_later_was_in_good_standing_before(member):
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    member.invoice_dues(2025, organisation=make_org(), fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2025, 1, 10))
    member.apply_deadlines(on=D(2025, 3, 1))   # 2025 due 2025-02-09, grace ends 2025-04-10
    member.apply_deadlines(on=D(2025, 4, 20))  # lapses
    assert member.status is MemberStatus.LAPSED
    assert history(member) == [(MemberStatus.ACTIVE, SINCE), (MemberStatus.GRACE_PERIOD, D(2025, 3, 1)),
                               (MemberStatus.LAPSED, D(2025, 4, 20))]
    assert member.in_good_standing(D(2023, 12, 31)) is False  # not yet a member
    assert member.in_good_standing(D(2024, 12, 31))           # annual report date: in good standing then
    assert member.in_good_standing(D(2025, 3, 15))            # in grace
    assert not member.in_good_standing(D(2025, 4, 11))        # past grace, lapse not yet recorded
    assert not member.in_good_standing(D(2025, 4, 20))
    assert not member.in_good_standing(D(2026, 1, 1))


def test_member_withdrawn_later_was_in_good_standing_before_not_after(member):
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    member.withdraw("resignation", on=D(2024, 10, 1))
    assert history(member)[-1] == (MemberStatus.WITHDRAWN, D(2024, 10, 1))
    assert member.in_good_standing(D(2024, 9, 30))
    assert not member.in_good_standing(D(2024, 10, 1))
    assert not member.in_good_standing(D(2024, 12, 31))


def test_late_but_within_grace_is_in_good_standing(member):
    member.enter_grace_period(on=D(2024, 3, 7))
    assert member.in_good_standing(D(2024, 3, 7))
    assert member.in_good_standing(GRACE_END)
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 4, 1))
    assert history(member) == [(MemberStatus.ACTIVE, SINCE), (MemberStatus.GRACE_PERIOD, D(2024, 3, 7)),
                               (MemberStatus.ACTIVE, D(2024, 4, 1))]
    for day in (D(2024, 3, 10), D(2024, 4, 1), D(2024, 12, 31)):
        assert member.in_good_standing(day)


def test_payment_after_grace_end_counts_from_the_payment_date(member):
    # nobody ran the scheduler: the status stays active, the invoice is open past its grace end
    member.record_payment(2024, amount_cents=5_000, payment_id="p1", on=D(2024, 3, 1))
    member.record_payment(2024, amount_cents=10_000, payment_id="p2", on=D(2024, 6, 1))
    assert member.status is MemberStatus.ACTIVE
    assert member.in_good_standing(GRACE_END)
    assert not member.in_good_standing(D(2024, 5, 6))   # partial payment only, grace ended
    assert not member.in_good_standing(D(2024, 5, 31))
    assert member.in_good_standing(D(2024, 6, 1))       # paid in full that day
    assert member.in_good_standing(D(2024, 12, 31))


def test_payment_after_grace_end_from_grace_period(member):
    member.enter_grace_period(on=D(2024, 4, 1))
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 6, 1))
    assert member.status is MemberStatus.ACTIVE
    assert member.in_good_standing(D(2024, 4, 15))
    assert not member.in_good_standing(D(2024, 5, 20))
    assert member.in_good_standing(D(2024, 6, 1))


def test_renewal_after_lapse(member):
    org = make_org()
    member.lapse(on=D(2024, 6, 1))
    member.invoice_dues(2024, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2024, 9, 1))
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 9, 10))
    assert member.status is MemberStatus.ACTIVE
    assert history(member) == [(MemberStatus.ACTIVE, SINCE), (MemberStatus.LAPSED, D(2024, 6, 1)),
                               (MemberStatus.ACTIVE, D(2024, 9, 10))]
    assert member.in_good_standing(D(2024, 4, 1))        # before the lapse, within grace
    assert not member.in_good_standing(D(2024, 5, 20))   # past grace, before the lapse was recorded
    assert not member.in_good_standing(D(2024, 6, 1))    # lapsed
    assert not member.in_good_standing(D(2024, 9, 9))    # still lapsed (new invoice not yet paid)
    assert member.in_good_standing(D(2024, 9, 10))       # renewed; written-off invoice no longer counts
    assert member.in_good_standing(D(2024, 12, 31))


def test_invoice_written_off_later_counts_by_its_payments_then(member):
    member.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 2, 20))
    org = make_org()
    member.invoice_dues(2025, organisation=org, fee_scale=DEFAULT_FEE_SCALE, terms=TERMS, on=D(2025, 1, 10))
    member.lapse(on=D(2025, 7, 1))  # 2025 grace ended 2025-04-10, written off 2025-07-01
    assert not member.in_good_standing(D(2025, 4, 11))  # active status, but unpaid past grace then
    assert member.in_good_standing(D(2025, 4, 10))


def test_json_round_trip_keeps_the_history(member):
    member.enter_grace_period(on=D(2024, 4, 1))
    member.lapse(on=D(2024, 6, 1))
    member.withdraw("merger", on=D(2024, 10, 1))
    member.pull_events()
    data = member.model_dump(mode="json")
    assert data["status_history"] == [{"status": "active", "since": "2024-02-05"},
                                      {"status": "grace_period", "since": "2024-04-01"},
                                      {"status": "lapsed", "since": "2024-06-01"},
                                      {"status": "withdrawn", "since": "2024-10-01"}]
    back = Member.model_validate(data)
    assert back == member and back.model_dump(mode="json") == data
    assert all(isinstance(c, StatusChange) for c in back.status_history)
    assert back.in_good_standing(D(2024, 4, 15)) and not back.in_good_standing(D(2024, 10, 1))


# -- documents stored before the history existed ----------------------------------------------

def _legacy(member):
    data = member.model_dump(mode="json")
    del data["status_history"]
    return Member.model_validate(data)


def test_legacy_document_defaults_to_empty_history_and_derives_it(member):
    member.enter_grace_period(on=D(2024, 4, 1))
    member.lapse(on=D(2024, 6, 1))
    old = _legacy(member)
    assert old.status_history == []
    assert [(c.status, c.since) for c in old.status_changes()] == [(MemberStatus.ACTIVE, SINCE),
                                                                   (MemberStatus.LAPSED, D(2024, 6, 1))]
    assert not old.in_good_standing(D(2024, 2, 1))
    assert old.in_good_standing(D(2024, 4, 15))
    assert not old.in_good_standing(D(2024, 6, 1))


def test_legacy_document_withdrawn_from_grace(member):
    member.enter_grace_period(on=D(2024, 4, 1))
    member.withdraw("resignation", on=D(2024, 4, 20))
    old = _legacy(member)
    assert [(c.status, c.since) for c in old.status_changes()] == [
        (MemberStatus.ACTIVE, SINCE), (MemberStatus.GRACE_PERIOD, D(2024, 4, 1)),
        (MemberStatus.WITHDRAWN, D(2024, 4, 20))]
    assert old.in_good_standing(D(2024, 4, 10)) and not old.in_good_standing(D(2024, 4, 20))


def test_legacy_document_seeds_history_at_next_change(member):
    member.enter_grace_period(on=D(2024, 4, 1))
    old = _legacy(member)
    old.record_payment(2024, amount_cents=15_000, payment_id="p1", on=D(2024, 4, 10))
    assert history(old) == [(MemberStatus.ACTIVE, SINCE), (MemberStatus.GRACE_PERIOD, D(2024, 4, 1)),
                            (MemberStatus.ACTIVE, D(2024, 4, 10))]


def test_legacy_document_with_unexplained_status_falls_back_to_current_status(member):
    data = member.model_dump(mode="json")
    del data["status_history"]
    data["status"] = "lapsed"  # no lapsed_on recorded
    old = Member.model_validate(data)
    assert [(c.status, c.since) for c in old.status_changes()][-1] == (MemberStatus.LAPSED, SINCE)
    assert not old.in_good_standing(D(2024, 3, 1))



def test_legacy_document_withdrawn_after_lapsing(member):
    member.lapse(on=D(2024, 6, 1))
    member.withdraw("resignation", on=D(2024, 7, 1))
    old = _legacy(member)
    assert [(c.status, c.since) for c in old.status_changes()] == [
        (MemberStatus.ACTIVE, SINCE), (MemberStatus.LAPSED, D(2024, 6, 1)), (MemberStatus.WITHDRAWN, D(2024, 7, 1))]
    assert old.status_on(D(2024, 6, 15)) is MemberStatus.LAPSED


def test_legacy_document_active_again_keeps_no_stale_dates(member):
    data = member.model_dump(mode="json")
    del data["status_history"]
    data["grace_entered_on"] = "2024-04-01"  # left over, but the member is active
    old = Member.model_validate(data)
    assert [(c.status, c.since) for c in old.status_changes()] == [(MemberStatus.ACTIVE, SINCE)]
