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


# -- what a refusal says -------------------------------------------------------------------------------
def refusal(call) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as err:
        call()
    return err.value.field, err.value.detail


@pytest.mark.parametrize("overrides, field, detail", [
    ({"place": "93048"}, "place", "place must give a commune (INSEE code) and/or a département"),
    ({"place": {}}, "place", "place must give a commune (INSEE code) and/or a département"),
    ({"place": {"departement": "93", "city": "x"}}, "place.city", "place has no field 'city'"),
    ({"place": {"commune": "93048", "departement": "94"}}, "place.departement",
     "commune 93048 (Montreuil) is in département 93, not 94"),
    ({"perimeter": ["93"]}, "perimeter", "perimeter must give communes, départements or a region"),
    ({"perimeter": {"towns": ["93048"]}}, "perimeter.towns", "perimeter has no field 'towns'"),
    ({"perimeter": {"departements": ["93", "20"]}}, "perimeter.departements.1",
     "'20' is not a French département code (01–95, 2A, 2B, 971–976)"),
    ({"perimeter": {"departements": ["93"] * 121}}, "perimeter.departements",
     "perimeter.departements: at most 120 items"),
    ({"amount_band": "20k_30k", "amount_cents": 3_000_000}, "amount_cents",
     "amount_cents 3000000 is not in the band 20k_30k (from 2000000 cents to less than 3000000 cents)"),
    ({"amount_band": "over_1m", "amount_cents": 50}, "amount_cents",
     "amount_cents 50 is not in the band over_1m (from 100000000 cents up)"),
    ({"deadline_at": T0}, "deadline_at",
     "deadline_at 2008-03-01T09:00:00+00:00 is not in the future (now 2008-03-01T09:00:00+00:00)"),
    ({"deadline_at": T0 + timedelta(days=1098, seconds=1)}, "deadline_at",
     "deadline_at 2011-03-04T09:00:01+00:00 is more than 1098 days ahead"),
    ({"colour": "blue"}, "colour", "a need has no field 'colour'"),
    ({"reserved": "yes"}, "reserved", "reserved must be true or false (got 'yes')"),
    ({"reserved": True}, "reserved_article",
     "a reserved contract names its article (l2113_12, l2113_13 or l2113_15)"),
    ({"reserved_article": "l2113_12"}, "reserved_article",
     "only a reserved contract names an article (set reserved to true)"),
    ({"description": "x" * 20_001}, "description", "description is longer than 20000 characters"),
])
def test_bad_terms_say_what_is_wrong(overrides, field, detail):
    assert refusal(lambda: draft(**overrides)) == (field, detail)


def test_the_longest_terms_and_the_defaults():
    need = draft(description="x" * 20_000, deadline_at=T0 + timedelta(days=1098),
                 perimeter={"departements": ["93"] * 120, "region": "11"})
    assert len(need.description) == 20_000 and need.deadline_at == T0 + timedelta(days=1098)
    assert need.perimeter.departements == ["93"] and need.perimeter.region == "11"
    assert need.social_clause is False and need.reserved is False and need.reserved_article is None


def test_the_draft_s_ids_and_time_are_named_when_bad():
    assert refusal(lambda: Need.draft("need 1", buyer_id="buy-1", fields=fields(), at=T0, by="s"))[0] == "need_id"
    assert refusal(lambda: Need.draft("need-1", buyer_id="buy 1", fields=fields(), at=T0, by="s"))[0] == "buyer_id"
    assert refusal(lambda: Need.draft("need-1", buyer_id="buy-1", fields=fields(), at=datetime(2008, 3, 1),
                                      by="s"))[0] == "at"
    assert refusal(lambda: draft().submit(at=datetime(2008, 3, 2), by="a"))[0] == "at"


def test_band_of_an_amount_below_every_band_is_refused():
    assert refusal(lambda: band_of(-1)) == ("amount_cents", "no amount band holds -1")


def test_the_amount_at_stake_is_a_whole_number_of_cents():
    spend = draft(amount_band="20k_30k").spend_cents()
    assert spend == 2_500_000 and type(spend) is int


def need_in(status: str) -> Need:
    need = dispatched()
    if status == "closed":
        need.close(at=at(4), by="s", interested=0, answered=0)
    return need


@pytest.mark.parametrize("state, step, action, expected", [
    ("dispatched", lambda n: n.update({"title": "x"}, at=at(9), by="a"), "edit the need", "draft"),
    ("dispatched", lambda n: n.submit(at=at(9), by="a"), "submit the need", "draft"),
    ("dispatched", lambda n: n.send_back("r", at=at(9), by="a"), "send the need back", "submitted"),
    ("dispatched", lambda n: n.validate(at=at(9), by="a"), "validate the need", "submitted"),
    ("dispatched", lambda n: n.start_dispatch(at=at(9), by="a", batch_size=1, cap=1), "dispatch the need",
     "validated"),
    ("dispatched", lambda n: n.complete_dispatch(at=at(9), notified=0, batches=0, capped=False),
     "complete the dispatch", "dispatching"),
    ("dispatched", lambda n: n.award(supplier_ids=["s"], grouping_id=None, amount_cents=1, at=at(9), by="a"),
     "award the need", "closed"),
    ("closed", lambda n: n.close(at=at(9), by="a", interested=0, answered=0), "close the need", "dispatched"),
    ("closed", lambda n: n.remind([("sup-1", 1)], at=at(9)), "remind suppliers", "dispatched"),
])
def test_a_step_out_of_order_says_which_step_the_state_and_what_is_expected(state, step, action, expected):
    need = need_in(state)
    with pytest.raises(Conflict) as err:
        step(need)
    now = need.next_step
    assert err.value.detail == f"cannot {action}: need need-1 is {state}; expected: a need {expected} — now: {now}"
    assert err.value.extra == {"current_state": state, "expected_step": f"a need {expected} — now: {now}"}


def test_abandoning_while_dispatching_and_linking_a_meeting_to_a_draft_list_the_states_allowed():
    need = draft()
    with pytest.raises(Conflict) as err:
        need.link_meeting("mtg-1", "evt-1", at=at(1), by="s")
    assert err.value.detail == ("cannot link a meeting: need need-1 is draft; expected: a need submitted or validated "
                                "or dispatching or dispatched or closed or awarded or abandoned — now: edit it, "
                                "submit it, or abandon it")
    need.submit(at=at(1), by="a")
    need.validate(at=at(2), by="s")
    need.start_dispatch(at=at(3), by="s", batch_size=1, cap=1)
    with pytest.raises(Conflict) as err:
        need.abandon("other", at=at(4), by="s")
    assert err.value.detail == ("cannot abandon the need: need need-1 is dispatching; expected: a need draft or "
                                "submitted or validated or dispatched or closed — now: wait for its dispatch to "
                                "complete")


@pytest.mark.parametrize("status", ["submitted", "validated", "dispatching"])
def test_a_meeting_may_be_linked_once_the_need_is_submitted(status):
    need = draft()
    need.submit(at=at(1), by="a")
    if status != "submitted":
        need.validate(at=at(2), by="s")
    if status == "dispatching":
        need.start_dispatch(at=at(3), by="s", batch_size=1, cap=1)
    assert need.link_meeting("mtg-1", "evt-1", at=at(4), by="s") is True


def test_a_meeting_may_be_linked_to_a_closed_awarded_or_abandoned_need():
    need = need_in("closed")
    assert need.link_meeting("mtg-1", "evt-1", at=at(5), by="s")
    need.award(supplier_ids=["sup-1"], grouping_id=None, amount_cents=1, at=at(6), by="s")
    assert need.link_meeting("mtg-2", "evt-1", at=at(7), by="s")
    other = draft()
    other.abandon("other", at=at(1), by="s")
    assert other.link_meeting("mtg-1", "evt-1", at=at(2), by="s")


# -- what each step keeps: its time, who, and the log's words -------------------------------------------
def test_each_step_keeps_its_time_and_logs_who_did_it_and_what():
    need = draft()
    assert need.update({"title": "Collecte", "amount_cents": 3_650_000}, at=at(0.5), by="app") == \
        ["title", "amount_band", "amount_cents"]
    need.submit(at=at(1), by="buyer-1")
    need.validate(at=at(2), by="staff-2")
    need.start_dispatch(at=at(3), by="staff-3", batch_size=250, cap=5000)
    need.complete_dispatch(at=at(3.5), notified=42, batches=1, capped=False)
    need.close(at=at(4), by="staff-4", interested=3, answered=1)
    need.award(supplier_ids=["sup-1", "sup-2"], grouping_id=None, amount_cents=2_450_000, at=at(5), by="staff-5")
    assert (need.submitted_at, need.validated_at, need.dispatch_started_at, need.dispatched_at, need.closed_at,
            need.awarded_at) == (at(1), at(2), at(3), at(3.5), at(4), at(5))
    assert [(e.at, e.by, e.action, e.detail) for e in need.log] == [
        (T0, "staff-1", "drafted", None),
        (at(0.5), "app", "updated", "title, amount_band, amount_cents"),
        (at(1), "buyer-1", "submitted", None),
        (at(2), "staff-2", "validated", None),
        (at(3), "staff-3", "dispatch_started", "batches of 250, at most 5000 suppliers"),
        (at(3.5), "system", "dispatch_completed", "42 suppliers notified in 1 batches"),
        (at(4), "staff-4", "closed", None),
        (at(5), "staff-5", "awarded", "to sup-1, sup-2 for 2450000 cents"),
    ]


def test_a_capped_dispatch_a_close_at_the_deadline_and_an_award_to_a_grouping_say_so_in_the_log():
    need = draft()
    need.submit(at=at(1), by="a")
    need.validate(at=at(2), by="s")
    need.start_dispatch(at=at(3), by="s", batch_size=100_000, cap=1_000_000)
    need.complete_dispatch(at=at(3.5), notified=0, batches=0, capped=True)
    assert need.notified == 0 and need.capped is True
    need.close(at=at(4), by="system", interested=0, answered=0, at_deadline=True)
    need.award(supplier_ids=[], grouping_id="grp-1", amount_cents=0, at=at(5), by="s")
    assert [e.detail for e in need.log[-3:]] == ["0 suppliers notified in 0 batches (capped)", "its deadline passed",
                                                 "to (grouping grp-1) for 0 cents"]
    (event,) = need.pull_events()[-1:]
    assert isinstance(event, NeedAwarded) and event.grouping_id == "grp-1" and event.supplier_ids == []
    other = need_in("closed")
    other.award(supplier_ids=["XS-1"], grouping_id="grp-2", amount_cents=7, at=at(5), by="s")
    assert other.log[-1].detail == "to XS-1 (grouping grp-2) for 7 cents", "an id is logged whole"


def test_a_step_by_nobody_is_logged_as_by_unknown():
    need = draft()
    need.submit(at=at(1), by="")
    assert need.log[-1].by == "unknown"


def test_dispatch_limits_and_their_fields():
    def started(**kw):
        need = draft()
        need.submit(at=at(1), by="a")
        need.validate(at=at(2), by="s")
        return refusal(lambda: need.start_dispatch(at=at(3), by="s", **kw))

    assert started(batch_size=100_001, cap=1) == ("batch_size", "batch_size must be a whole number from 1 to 100000 "
                                                                "(got 100001)")
    assert started(batch_size=1, cap=1_000_001) == ("cap", "cap must be a whole number from 1 to 1000000 "
                                                           "(got 1000001)")
    need = draft()
    need.submit(at=at(1), by="a")
    need.validate(at=at(2), by="s")
    need.start_dispatch(at=at(3), by="s", batch_size=1, cap=1)
    assert refusal(lambda: need.complete_dispatch(at=at(4), notified=10_000_001, batches=1, capped=False)) == (
        "notified", "notified must be a whole number from 0 to 10000000 (got 10000001)")
    assert (need.status, need.dispatched_at, need.notified) == (NeedStatus.DISPATCHING, None, 0), \
        "a refused completion changes nothing"


def test_a_passed_deadline_says_which_step_it_blocks():
    need = draft()
    passed = "the deadline 2008-04-15T12:00:00+00:00 has passed: cannot "
    assert refusal(lambda: need.submit(at=DEADLINE, by="a")) == ("deadline_at", passed + "submit it")
    need.submit(at=at(1), by="a")
    assert refusal(lambda: need.validate(at=DEADLINE, by="s")) == (
        "deadline_at", passed + "validate it (send it back for a new deadline)")
    need.validate(at=at(2), by="s")
    assert refusal(lambda: need.start_dispatch(at=DEADLINE, by="s", batch_size=1, cap=1)) == (
        "deadline_at", passed + "dispatch it")


def test_a_step_before_the_last_one_says_when_that_was():
    need = draft()
    need.submit(at=at(2), by="a")
    assert refusal(lambda: need.validate(at=at(1), by="s")) == (
        "at", "at 2008-03-01T10:00:00+00:00 is before the need's last step (2008-03-01T11:00:00+00:00)")


def test_an_update_keeps_the_terms_it_does_not_change_and_refuses_an_unknown_field():
    need = draft(reserved=True, reserved_article="l2113_13", perimeter={"departements": ["94"]})
    assert need.update({"title": "Collecte et réemploi"}, at=at(1), by="app") == ["title"]
    assert need.reserved_article == "l2113_13" and need.perimeter.departements == ["94"]
    assert refusal(lambda: need.update({"colour": "blue"}, at=at(2), by="app")) == ("colour",
                                                                                   "a need has no field 'colour'")


def test_a_sending_back_reason_and_an_abandonment_note_hold_2000_characters():
    need = draft()
    need.submit(at=at(1), by="a")
    assert refusal(lambda: need.send_back("x" * 2001, at=at(2), by="s")) == (
        "reason", "reason is longer than 2000 characters")
    need.send_back("x" * 2000, at=at(2), by="s")
    assert refusal(lambda: need.abandon("other", note="x" * 2001, at=at(3), by="s")) == (
        "note", "note is longer than 2000 characters")
    need.abandon("other", note="x" * 2000, at=at(3), by="s")
    assert need.log[-1].detail == "other: " + "x" * 2000


def test_an_abandonment_keeps_its_time_reason_and_who_and_logs_the_reason_alone_without_a_note():
    need = draft()
    need.abandon("budget_withdrawn", at=at(1), by="buyer-1")
    assert (need.abandoned_at, need.abandon_reason) == (at(1), "budget_withdrawn")
    assert (need.log[-1].by, need.log[-1].action, need.log[-1].detail) == ("buyer-1", "abandoned", "budget_withdrawn")


def test_an_award_s_refusals_say_what_is_wrong():
    need = need_in("closed")
    assert refusal(lambda: need.award(supplier_ids="sup-1", grouping_id=None, amount_cents=1, at=at(5), by="s")) == (
        "supplier_ids", "supplier_ids must be a list of supplier ids")
    assert refusal(lambda: need.award(supplier_ids=[], grouping_id=None, amount_cents=1, at=at(5), by="s")) == (
        "supplier_ids", "award the need to at least one supplier, or to a grouping")
    assert refusal(lambda: need.award(supplier_ids=[], grouping_id="grp 1", amount_cents=1, at=at(5), by="s")) == (
        "grouping_id", "grouping_id must be an id (no spaces)")


def test_each_round_of_reminders_is_counted_and_timed():
    need = dispatched()
    need.remind([("sup-1", 1)], at=at(50))
    need.remind([("sup-1", 2)], at=at(60))
    assert (need.reminder_rounds, need.last_reminded_at) == (2, at(60))


def test_a_meeting_link_names_its_ids_is_logged_and_stops_at_200():
    need = dispatched()
    assert refusal(lambda: need.link_meeting("mtg 1", "evt-1", at=at(4), by="s"))[0] == "meeting_id"
    assert refusal(lambda: need.link_meeting("mtg-1", "evt 1", at=at(4), by="s"))[0] == "convention_id"
    need.link_meeting("mtg-0", "evt-1", at=at(4), by="staff-9")
    assert (need.log[-1].by, need.log[-1].action, need.log[-1].detail) == (
        "staff-9", "meeting_linked", "meeting mtg-0 of convention evt-1")
    for i in range(1, 200):
        need.link_meeting(f"mtg-{i}", "evt-1", at=at(4), by="s")
    assert len(need.meetings) == 200
    with pytest.raises(Conflict) as err:
        need.link_meeting("mtg-200", "evt-1", at=at(4), by="s")
    assert err.value.detail == "need need-1 is linked to 200 meetings already"
    assert err.value.extra == {"current_state": "dispatched", "expected_step": "none: too many meetings"}


def test_an_awarded_need_owes_the_buyer_s_survey_and_each_supplier_s_and_logs_each_opened():
    need = need_in("closed")
    need.award(supplier_ids=["sup-9"], grouping_id=None, amount_cents=100, at=at(5), by="s")
    assert need.impact_due(DEADLINE, timedelta(0)) == [("buyer", "buy-1"), ("supplier", "sup-9")]
    need.impact_opened([("buyer", "buy-1")], at=DEADLINE)
    assert not need.impact_complete, "the supplier's survey is still to open"
    assert (need.log[-1].by, need.log[-1].action, need.log[-1].detail) == (
        "system", "impact_survey_opened", "to the buyer buy-1")
