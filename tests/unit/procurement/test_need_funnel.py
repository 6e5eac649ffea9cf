"""A notified supplier's funnel: steps dated once, a stance that may change until the answer,
interest and answers only while the need takes answers; and the reminder rule (never to one who
said "not interested", never beyond the maximum, at the intervals)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from contracts.procurement.needs import FunnelStep, FunnelStepRecorded, NeedStatus, SupplierNotified
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain.need_funnel import (ReminderPolicy, SupplierFunnel, funnel_id, remind,
                                                     reminder_due)
from tests.unit.refusals import refused

T0 = datetime(2008, 3, 5, 9, 0, tzinfo=timezone.utc)
OPEN = NeedStatus.DISPATCHED


def row() -> SupplierFunnel:
    r = SupplierFunnel.notify(need_id="need-1", supplier_id="sup-1", organisation_id="org-1", batch=2, at=T0)
    (event,) = r.pull_events()
    assert isinstance(event, SupplierNotified) and event.batch == 2
    return r


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def steps(r: SupplierFunnel) -> list[str]:
    return [e.step.value for e in r.pull_events() if isinstance(e, FunnelStepRecorded)]


def test_the_row_id_is_one_per_need_and_supplier():
    assert row().id == funnel_id("need-1", "sup-1") == "need-1:sup-1"


def test_steps_are_dated_once_and_the_furthest_is_shown():
    r = row()
    assert r.take("opened", need_status=OPEN, at=at(1), by_staff=False)
    assert not r.take("opened", need_status=OPEN, at=at(2), by_staff=False)
    assert r.take("viewed", need_status=OPEN, at=at(2), by_staff=False)
    assert r.take("interested", need_status=OPEN, at=at(3), by_staff=False)
    assert r.take("answered", need_status=OPEN, at=at(4), by_staff=True)
    assert not r.take("answered", need_status=OPEN, at=at(5), by_staff=False)
    assert steps(r) == ["opened", "viewed", "interested", "answered"]
    assert (r.opened_at, r.viewed_at, r.interested_at, r.answered_at) == (at(1), at(2), at(3), at(4))
    assert r.step == "answered"
    assert r.mark_awarded(at=at(9)) and not r.mark_awarded(at=at(10))
    assert steps(r) == ["awarded"] and r.step == "awarded"


def test_a_supplier_may_change_its_mind_until_it_answers():
    r = row()
    r.take("not_interested", need_status=OPEN, at=at(1), by_staff=False, feedback="Trop loin")
    assert r.stance is FunnelStep.NOT_INTERESTED and r.not_interested_feedback == "Trop loin"
    with pytest.raises(Conflict) as err:
        r.take("answered", need_status=OPEN, at=at(2), by_staff=False)
    assert err.value.extra["current_state"] == "not_interested"
    r.take("interested", need_status=OPEN, at=at(3), by_staff=False)
    r.take("answered", need_status=OPEN, at=at(4), by_staff=False)
    with pytest.raises(Conflict) as err:
        r.take("not_interested", need_status=OPEN, at=at(5), by_staff=False)
    assert err.value.extra["current_state"] == "answered"
    assert steps(r) == ["not_interested", "interested", "answered"]


def test_answering_says_interested():
    r = row()
    r.take("answered", need_status=OPEN, at=at(1), by_staff=False)
    assert r.stance is FunnelStep.INTERESTED and r.interested_at == at(1)


@pytest.mark.parametrize("status", [NeedStatus.CLOSED, NeedStatus.AWARDED, NeedStatus.ABANDONED])
@pytest.mark.parametrize("step", ["interested", "not_interested", "answered"])
def test_interest_and_answers_stop_when_the_need_closes(status, step):
    r = row()
    with pytest.raises(Conflict) as err:
        r.take(step, need_status=status, at=at(1), by_staff=False)
    assert err.value.extra["current_state"] == status.value
    assert r.take("viewed", need_status=status, at=at(1), by_staff=False)  # a fact, whatever the state


@pytest.mark.parametrize("call, field", [
    (lambda r: r.take("awarded", need_status=OPEN, at=at(1), by_staff=True), "step"),
    (lambda r: r.take("clicked", need_status=OPEN, at=at(1), by_staff=True), "step"),
    (lambda r: r.take("interested", need_status=OPEN, at=at(1), by_staff=True, feedback="x"), "feedback"),
    (lambda r: r.take("not_interested", need_status=OPEN, at=at(1), by_staff=True, feedback="x" * 2001), "feedback"),
    (lambda r: r.take("opened", need_status=OPEN, at=at(-1), by_staff=True), "at"),
    (lambda r: r.take("opened", need_status=OPEN, at=datetime(2008, 3, 6), by_staff=True), "at"),
])
def test_bad_steps_name_the_field(call, field):
    with pytest.raises(InvalidInput) as err:
        call(row())
    assert err.value.field == field


# -- reminders ----------------------------------------------------------------------------------------
POLICY = ReminderPolicy(first_after=timedelta(hours=48), interval=timedelta(hours=72), max_reminders=2)


def test_the_first_reminder_waits_for_the_delay_then_the_interval_then_stops_at_the_maximum():
    r = row()
    assert not reminder_due(r, at(47), POLICY)
    assert reminder_due(r, at(48), POLICY)
    assert remind(r, at(48)) == 1
    assert not reminder_due(r, at(48 + 71), POLICY)
    assert reminder_due(r, at(48 + 72), POLICY)
    assert remind(r, at(120)) == 2
    assert not reminder_due(r, at(10_000), POLICY)


def test_no_reminder_to_a_supplier_who_said_not_interested_or_answered():
    r = row()
    r.take("not_interested", need_status=OPEN, at=at(1), by_staff=False)
    assert not reminder_due(r, at(100), POLICY)
    r.take("interested", need_status=OPEN, at=at(2), by_staff=False)
    assert reminder_due(r, at(100), POLICY)  # changed its mind: interested, not answered yet
    r.take("answered", need_status=OPEN, at=at(3), by_staff=False)
    assert not reminder_due(r, at(100), POLICY)


def test_opening_or_viewing_does_not_stop_reminders():
    r = row()
    r.take("viewed", need_status=OPEN, at=at(1), by_staff=False)
    assert reminder_due(r, at(48), POLICY)
    assert not reminder_due(r, at(48), ReminderPolicy(max_reminders=0))


# -- what each step keeps and says ---------------------------------------------------------------------
def test_the_row_keeps_the_organisation_and_refuses_a_naive_time_naming_at():
    assert row().organisation_id == "org-1"
    refused(lambda: SupplierFunnel.notify(need_id="need-1", supplier_id="sup-1", organisation_id=None, batch=1,
                                          at=datetime(2008, 3, 5, 9, 0)),
            "at", "at must carry a time zone (naive date and time 2008-03-05T09:00:00)")
    refused(lambda: row().mark_awarded(at=datetime(2008, 3, 6)), "at",
            "at must carry a time zone (naive date and time 2008-03-06T00:00:00)")


def test_the_furthest_step_shown_after_opening_then_viewing():
    r = row()
    assert r.step == "notified"
    r.take("opened", need_status=OPEN, at=T0, by_staff=False)  # the instant of the notification is not before it
    assert (r.step, r.opened_at) == ("opened", T0)
    r.take("viewed", need_status=OPEN, at=at(1), by_staff=False)
    assert r.step == "viewed"
    seen = row()
    seen.take("viewed", need_status=OPEN, at=at(1), by_staff=False)  # viewed without an opening seen
    assert (seen.step, seen.opened_at) == ("viewed", None)


def test_a_step_taken_again_records_nothing_and_says_so():
    r = row()
    for step in ("opened", "viewed", "interested"):
        assert r.take(step, need_status=OPEN, at=at(1), by_staff=False) is True
        assert r.take(step, need_status=OPEN, at=at(2), by_staff=False) is False
    assert steps(r) == ["opened", "viewed", "interested"]
    assert (r.opened_at, r.viewed_at, r.interested_at) == (at(1), at(1), at(1))


def test_not_interested_again_records_nothing_but_keeps_the_new_feedback():
    r = row()
    assert r.take("not_interested", need_status=OPEN, at=at(1), by_staff=False, feedback="Trop loin")
    assert r.take("not_interested", need_status=OPEN, at=at(2), by_staff=False, feedback="Trop cher") is False
    assert (r.not_interested_feedback, r.not_interested_at) == ("Trop cher", at(1))
    assert r.take("not_interested", need_status=OPEN, at=at(3), by_staff=False) is False
    assert r.not_interested_feedback == "Trop cher"  # no feedback this time: the last one stays
    assert steps(r) == ["not_interested"]


def test_the_awarded_step_is_recorded_by_staff_with_its_time():
    r = row()
    assert r.mark_awarded(at=at(9))
    (event,) = r.pull_events()
    assert (event.step, event.by_staff, event.recorded_at, event.supplier_id) == (FunnelStep.AWARDED, True, at(9),
                                                                                  "sup-1")


def test_the_refusals_of_a_step_say_why():
    refused(lambda: row().take("awarded", need_status=OPEN, at=at(1), by_staff=True), "step",
            "a supplier is awarded by the need's award, not by a funnel step")
    refused(lambda: row().take("interested", need_status=OPEN, at=at(1), by_staff=True, feedback="x"), "feedback",
            "feedback goes with the step not_interested only")
    refused(lambda: row().take("opened", need_status=OPEN, at=at(-1), by_staff=True), "at",
            "at 2008-03-05T08:00:00+00:00 is before the notification (2008-03-05T09:00:00+00:00)")


def test_the_conflicts_of_a_step_say_why():
    with pytest.raises(Conflict, match=re.escape(
            "cannot record 'interested': need need-1 is closed; expected: a need dispatched and not closed "
            "(interest and answers are taken until it closes)") + "$") as closed:
        row().take("interested", need_status=NeedStatus.CLOSED, at=at(1), by_staff=False)
    assert closed.value.extra == {
        "current_state": "closed", "need_status": "closed",
        "expected_step": "a need dispatched and not closed (interest and answers are taken until it closes)"}
    r = row()
    r.take("not_interested", need_status=OPEN, at=at(1), by_staff=False)
    with pytest.raises(Conflict, match="^supplier sup-1 said it is not interested in need need-1: it says it is "
                                       "interested before answering$") as stance:
        r.take("answered", need_status=OPEN, at=at(2), by_staff=False)
    assert stance.value.extra == {"current_state": "not_interested", "expected_step": "interested, then answered"}
    r.take("interested", need_status=OPEN, at=at(3), by_staff=False)
    r.take("answered", need_status=OPEN, at=at(4), by_staff=False)
    with pytest.raises(Conflict, match="^supplier sup-1 answered need need-1 already: it cannot say it is not "
                                       "interested$") as answered:
        r.take("not_interested", need_status=OPEN, at=at(5), by_staff=False)
    assert answered.value.extra == {"current_state": "answered", "expected_step": "none: the offer is submitted"}
