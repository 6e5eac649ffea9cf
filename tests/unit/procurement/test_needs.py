"""A buyer's need: its terms (bad input named), its lifecycle (each step evented and logged; a step
out of order is a 409 naming the state), reminders recorded on the need, meetings, impact due."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.procurement.needs import (NeedAbandoned, NeedAwarded, NeedClosed, NeedDispatchCompleted,
                                         NeedDispatchStarted, NeedDrafted, NeedLinkedToMeeting, NeedSentBack,
                                         NeedStatus, NeedSubmitted, NeedUpdated, NeedValidated, SupplierReminded)
from contracts.procurement.vocabulary import AmountBand
from runtime.errors import Conflict, InvalidInput
from services.procurement.domain.needs import Need, band_of

T0 = datetime(2008, 3, 1, 9, 0, tzinfo=timezone.utc)
DEADLINE = datetime(2008, 4, 15, 12, 0, tzinfo=timezone.utc)


def fields(**overrides):
    base = {"title": "Collecte du mobilier", "kind": "tender", "sectors": ["circular_economy"],
            "place": {"commune": "93048"}, "deadline_at": DEADLINE, "amount_band": "20k_30k"}
    return {**base, **overrides}


def draft(**overrides) -> Need:
    return Need.draft("need-1", buyer_id="buy-1", fields=fields(**overrides), at=T0, by="staff-1")


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def dispatched() -> Need:
    need = draft()
    need.submit(at=at(1), by="app")
    need.validate(at=at(2), by="staff")
    need.start_dispatch(at=at(3), by="staff", batch_size=10, cap=100)
    need.complete_dispatch(at=at(3.1), notified=12, batches=2, capped=False)
    need.pull_events()
    return need


def field_of(call) -> str:
    with pytest.raises(InvalidInput) as err:
        call()
    return err.value.field


# -- terms ----------------------------------------------------------------------------------------------
def test_a_draft_records_its_terms_and_derives_the_departement_from_the_commune():
    need = draft(perimeter={"departements": ["93", "94", "93"]}, reserved=True, reserved_article="l2113_13")
    assert need.status is NeedStatus.DRAFT and need.place.departement == "93" and need.place.commune == "93048"
    assert need.perimeter.departements == ["93", "94"]
    (event,) = need.pull_events()
    assert isinstance(event, NeedDrafted)
    assert (event.departement, event.commune, event.amount_band, event.reserved_article.value) == \
        ("93", "93048", AmountBand.FROM_20K_TO_30K, "l2113_13")
    assert "Collecte" not in event.model_dump_json()  # free text never in an event
    assert [(e.action, e.by) for e in need.log] == [("drafted", "staff-1")]


@pytest.mark.parametrize("overrides, field", [
    ({"amount_band": "30k_60k"}, "amount_band"),
    ({"amount_band": "20k_30k", "amount_cents": 3_000_000}, "amount_cents"),  # upper bound excluded
    ({"amount_cents": -1}, "amount_cents"),
    ({"amount_cents": 10**13}, "amount_cents"),
    ({"amount_cents": True}, "amount_cents"),
    ({"deadline_at": T0 - timedelta(seconds=1)}, "deadline_at"),
    ({"deadline_at": T0}, "deadline_at"),
    ({"deadline_at": datetime(2008, 4, 15)}, "deadline_at"),  # naive
    ({"deadline_at": datetime(2199, 1, 1, tzinfo=timezone.utc)}, "deadline_at"),  # far off
    ({"reserved": True}, "reserved_article"),
    ({"reserved_article": "l2113_12"}, "reserved_article"),
    ({"reserved": True, "reserved_article": "l2113_99"}, "reserved_article"),
    ({"sectors": []}, "sectors"),
    ({"sectors": ["food", "rockets"]}, "sectors.1"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"kind": "auction"}, "kind"),
    ({"place": {}}, "place"),
    ({"place": {"commune": "99999"}}, "place.commune"),
    ({"place": {"commune": "9304"}}, "place.commune"),
    ({"place": {"commune": "93048", "departement": "94"}}, "place.departement"),
    ({"place": {"departement": "20"}}, "place.departement"),
    ({"place": {"departement": "93", "city": "x"}}, "place.city"),
    ({"perimeter": {"communes": ["93048", "00000"]}}, "perimeter.communes.1"),
    ({"perimeter": {"region": "99"}}, "perimeter.region"),
    ({"social_clause": "yes"}, "social_clause"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_terms_name_the_field(overrides, field):
    assert field_of(lambda: draft(**overrides)) == field


def test_an_exact_amount_gives_its_band_and_must_fall_in_a_given_one():
    assert draft(amount_band=None, amount_cents=2_400_000).amount_band is AmountBand.FROM_20K_TO_30K
    assert draft(amount_band="20k_30k", amount_cents=2_000_000).amount_cents == 2_000_000  # lower bound included
    assert band_of(0) is AmountBand.UNDER_5K and band_of(10**12) is AmountBand.OVER_1M
    need = draft(amount_band=None)
    assert need.amount_band is None and need.spend_cents() is None
    assert draft(amount_band="20k_30k").spend_cents() == 2_500_000
    assert draft(amount_band="over_1m").spend_cents() == 100_000_000


def test_a_departement_alone_is_a_place():
    need = draft(place={"departement": "2a"})
    assert (need.place.commune, need.place.departement) == (None, "2A")


# -- the lifecycle -----------------------------------------------------------------------------------
def test_the_whole_lifecycle_records_one_event_and_one_log_entry_per_step():
    need = draft()
    need.pull_events()
    assert need.update({"amount_cents": 3_650_000, "title": "Collecte et réemploi"}, at=at(0.5), by="app") == \
        ["title", "amount_band", "amount_cents"]
    (updated,) = need.pull_events()
    assert isinstance(updated, NeedUpdated) and updated.amount_band is AmountBand.FROM_30K_TO_40K
    need.submit(at=at(1), by="app")
    need.send_back("Précisez les sites", at=at(2), by="staff")
    assert need.status is NeedStatus.DRAFT
    need.update({"description": "Trois sites"}, at=at(3), by="app")
    need.submit(at=at(4), by="app")
    need.validate(at=at(5), by="staff")
    need.start_dispatch(at=at(6), by="staff", batch_size=250, cap=5000)
    need.complete_dispatch(at=at(6.1), notified=42, batches=1, capped=False)
    need.close(at=at(7), by="staff", interested=5, answered=2)
    need.award(supplier_ids=["sup-1", "sup-2", "sup-1"], grouping_id=None, amount_cents=2_450_000, at=at(8),
               by="staff")
    events = need.pull_events()
    assert [type(e) for e in events] == [NeedSubmitted, NeedSentBack, NeedUpdated, NeedSubmitted, NeedValidated,
                                         NeedDispatchStarted, NeedDispatchCompleted, NeedClosed, NeedAwarded]
    assert events[3].submission == 2 and events[7].notified == 42 and events[7].answered == 2
    assert events[-1].supplier_ids == ["sup-1", "sup-2"] and need.contract.amount_cents == 2_450_000
    assert [e.action for e in need.log] == ["drafted", "updated", "submitted", "sent_back", "updated", "submitted",
                                            "validated", "dispatch_started", "dispatch_completed", "closed", "awarded"]
    assert need.log[3].detail == "Précisez les sites" and need.log[3].by == "staff"
    assert need.status is NeedStatus.AWARDED and need.next_step.startswith("none")


def test_an_update_that_changes_nothing_records_nothing():
    need = draft()
    need.pull_events()
    assert need.update({"title": "Collecte du mobilier"}, at=at(1), by="app") == []
    assert need.pull_events() == [] and len(need.log) == 1


def test_no_longer_reserved_drops_the_article_and_a_new_amount_its_old_band():
    need = draft(reserved=True, reserved_article="l2113_12")
    need.update({"reserved": False}, at=at(1), by="app")
    assert need.reserved_article is None
    need.update({"amount_cents": 7_000_000}, at=at(2), by="app")
    assert need.amount_band is AmountBand.FROM_50K_TO_100K


@pytest.mark.parametrize("step", [
    lambda n: n.update({"title": "x"}, at=at(9), by="a"),
    lambda n: n.submit(at=at(9), by="a"),
    lambda n: n.send_back("r", at=at(9), by="a"),
    lambda n: n.validate(at=at(9), by="a"),
    lambda n: n.start_dispatch(at=at(9), by="a", batch_size=1, cap=1),
    lambda n: n.complete_dispatch(at=at(9), notified=0, batches=0, capped=False),
    lambda n: n.award(supplier_ids=["s"], grouping_id=None, amount_cents=1, at=at(9), by="a"),
])
def test_a_step_out_of_order_is_a_conflict_naming_the_state_and_what_is_expected(step):
    need = dispatched()
    with pytest.raises(Conflict) as err:
        step(need)
    assert err.value.extra["current_state"] == "dispatched"
    assert "close it" in err.value.extra["expected_step"]


def test_edits_only_while_draft_and_close_only_when_dispatched():
    need = draft()
    need.submit(at=at(1), by="a")
    with pytest.raises(Conflict, match="submitted"):
        need.update({"title": "x"}, at=at(2), by="a")
    with pytest.raises(Conflict, match="submitted"):
        need.close(at=at(2), by="a", interested=0, answered=0)


def test_a_passed_deadline_blocks_submission_validation_and_dispatch():
    need = draft()
    assert field_of(lambda: need.submit(at=DEADLINE, by="a")) == "deadline_at"
    need.submit(at=at(1), by="a")
    assert field_of(lambda: need.validate(at=DEADLINE + timedelta(days=1), by="a")) == "deadline_at"


def test_sending_back_needs_a_reason_and_steps_cannot_go_back_in_time():
    need = draft()
    need.submit(at=at(2), by="a")
    assert field_of(lambda: need.send_back("  ", at=at(3), by="s")) == "reason"
    assert field_of(lambda: need.validate(at=at(1), by="s")) == "at"


def test_award_needs_someone_and_a_sane_amount():
    need = dispatched()
    need.close(at=at(4), by="s", interested=0, answered=0)
    assert field_of(lambda: need.award(supplier_ids=[], grouping_id=None, amount_cents=1, at=at(5), by="s")) == \
        "supplier_ids"
    assert field_of(lambda: need.award(supplier_ids=["s 1"], grouping_id=None, amount_cents=1, at=at(5), by="s")) \
        == "supplier_ids.0"
    assert field_of(lambda: need.award(supplier_ids=["s"], grouping_id=None, amount_cents=-5, at=at(5), by="s")) == \
        "amount_cents"
    need.award(supplier_ids=[], grouping_id="grp-1", amount_cents=0, at=at(5), by="s")
    assert need.contract.grouping_id == "grp-1"


def test_abandon_from_any_open_state_but_not_while_dispatching_or_when_done():
    need = dispatched()
    need.close(at=at(4), by="s", interested=0, answered=0)
    need.abandon("no_suitable_offer", note="Trop cher", at=at(5), by="s")
    (event,) = need.pull_events()[-1:]
    assert isinstance(event, NeedAbandoned) and event.previous_status is NeedStatus.CLOSED
    assert need.log[-1].detail == "no_suitable_offer: Trop cher" and need.impact_complete
    with pytest.raises(Conflict, match="abandoned"):
        need.abandon("other", at=at(6), by="s")
    other = draft()
    other.submit(at=at(1), by="a")
    other.validate(at=at(2), by="s")
    other.start_dispatch(at=at(3), by="s", batch_size=1, cap=1)
    with pytest.raises(Conflict, match="dispatching"):
        other.abandon("other", at=at(4), by="s")
    assert field_of(lambda: draft().abandon("bored", at=at(1), by="s")) == "reason"


# -- reminders, meetings, impact ---------------------------------------------------------------------
def test_reminders_are_recorded_while_dispatched_only():
    need = dispatched()
    assert need.remind([], at=at(50)) == 0 and need.pull_events() == []
    assert need.remind([("sup-1", 1), ("sup-2", 2)], at=at(50)) == 2
    events = need.pull_events()
    assert [(e.supplier_id, e.reminder) for e in events] == [("sup-1", 1), ("sup-2", 2)]
    assert all(isinstance(e, SupplierReminded) for e in events) and need.reminder_rounds == 1
    need.close(at=at(51), by="system", interested=0, answered=0, at_deadline=True)
    with pytest.raises(Conflict, match="closed"):
        need.remind([("sup-1", 2)], at=at(52))


def test_a_meeting_is_linked_once_and_not_to_a_draft():
    with pytest.raises(Conflict, match="draft"):
        draft().link_meeting("mtg-1", "evt-1", at=at(1), by="s")
    need = dispatched()
    assert need.link_meeting("mtg-1", "evt-1", at=at(4), by="s") is True
    assert need.link_meeting("mtg-1", "evt-1", at=at(5), by="s") is False
    (event,) = need.pull_events()
    assert isinstance(event, NeedLinkedToMeeting) and event.convention_id == "evt-1"


def test_impact_surveys_are_due_after_the_deadline_and_delay_to_the_buyer_then_awarded_suppliers():
    need = dispatched()
    week = timedelta(days=7)
    assert need.impact_due(DEADLINE + week - timedelta(seconds=1), week) == []
    assert need.impact_due(DEADLINE + week, week) == [("buyer", "buy-1")]
    need.close(at=DEADLINE, by="system", interested=1, answered=1, at_deadline=True)
    need.impact_opened([("buyer", "buy-1")], at=DEADLINE + week)
    assert need.impact_due(DEADLINE + week, week) == [] and not need.impact_complete
    need.award(supplier_ids=["sup-9"], grouping_id=None, amount_cents=100, at=DEADLINE + week, by="s")
    assert need.impact_due(DEADLINE + week, week) == [("supplier", "sup-9")]
    need.impact_opened([("supplier", "sup-9")], at=DEADLINE + week)
    assert need.impact_complete and need.impact_due(DEADLINE + 2 * week, week) == []


def test_an_abandoned_need_gets_no_impact_survey():
    need = dispatched()
    need.abandon("need_changed", at=at(4), by="s")
    assert need.impact_due(DEADLINE + timedelta(days=30), timedelta(days=7)) == []
