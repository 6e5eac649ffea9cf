"""A notified supplier's funnel: steps dated once, a stance that may change until the answer,
interest and answers only while the need takes answers; and the reminder rule (never to one who
said "not interested", never beyond the maximum, at the intervals)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.procurement.needs import FunnelStep, FunnelStepRecorded, NeedStatus, SupplierNotified
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain.need_funnel import (ReminderPolicy, SupplierFunnel, funnel_id, remind,
                                                     reminder_due)

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
