"""What every other service keeps of membership (``runtime.members``), handler by handler on an
in-memory collection: which events the view follows, the profile's newest version winning, the
standing's history in business-date order, each event applied once. The same handlers run on the real
database in the services' integration tests."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest

from contracts.envelope import CloudEvent
from contracts.membership import (MemberActivated, MembershipEnteredGracePeriod, MembershipLapsed, MembershipRenewed,
                                  MembershipWithdrawn, MemberStatus, OrganisationRegistered, OrganisationUpdated)
from runtime import members
from runtime.mongo import Transaction
from tests.unit.examples import example
from tests.unit.memory_mongo import SESSION, AsyncCollection, SessionDatabase, collection

ORG = "org-5f1c2a9b3d7e"
OTHER = "org-0a0a0a0a0a0a"
T0 = datetime(2031, 3, 1, 9, tzinfo=timezone.utc)
STANDING_EVENTS = (MemberActivated, MembershipEnteredGracePeriod, MembershipLapsed, MembershipRenewed,
                   MembershipWithdrawn)
PROFILE_EVENTS = (OrganisationRegistered, OrganisationUpdated)


def tx() -> Transaction:
    return Transaction(db=SessionDatabase(), session=SESSION, source="/test")


def run(coroutine):
    return asyncio.run(coroutine)


async def apply(t, event, *, minutes: int = 0, event_id: str | None = None) -> None:
    """``event`` as the view's consumer hands it to the handler it subscribed for its type."""
    consumer = members.membership_view("test")
    envelope = CloudEvent.from_domain(event, source="/membership", event_id=event_id,
                                      time=T0 + timedelta(minutes=minutes))
    await consumer.handlers[type(event).event_type](event, t, envelope)


def types_of(consumer) -> set[type]:
    return {t for t in STANDING_EVENTS + PROFILE_EVENTS if t.event_type in consumer.handlers}


def test_the_view_follows_the_standing_and_the_profiles_or_either_alone():
    assert types_of(members.membership_view("g")) == set(STANDING_EVENTS + PROFILE_EVENTS)
    assert types_of(members.membership_view("g", standing=False)) == set(PROFILE_EVENTS)
    assert types_of(members.membership_view("g", organisations=False)) == set(STANDING_EVENTS)
    assert members.membership_view("procurement-members").name == "procurement-members"
    with pytest.raises(ValueError, match="no subscription"):
        members.membership_view("g", standing=False, organisations=False)


@pytest.mark.parametrize(("event", "status", "good"), [
    (example(MemberActivated, organisation_id=ORG, since=date(2031, 1, 10)), "active", True),
    (example(MembershipEnteredGracePeriod, organisation_id=ORG, entered_on=date(2031, 1, 10)), "grace_period", True),
    (example(MembershipLapsed, organisation_id=ORG, lapsed_on=date(2031, 1, 10)), "lapsed", False),
    (example(MembershipRenewed, organisation_id=ORG, status="grace_period", renewed_on=date(2031, 1, 10)),
     "grace_period", True),
    (example(MembershipWithdrawn, organisation_id=ORG, withdrawn_on=date(2031, 1, 10)), "withdrawn", False),
])
def test_each_member_event_sets_the_standing_from_its_own_date(event, status, good):
    async def scenario():
        t = tx()
        await apply(t, event, event_id="ce-1")
        doc = t.db[members.STANDING].sync.find_one({"_id": ORG})
        assert (doc["status"], doc["in_good_standing"], doc["status_since"], doc["as_of"]) == (
            status, good, "2031-01-10", T0)
        assert doc["history"] == [{"status": status, "in_good_standing": good, "on": "2031-01-10", "at": T0,
                                   "event_id": "ce-1"}]
        assert ("member_since" in doc) == isinstance(event, MemberActivated)
        assert await members.in_good_standing(t, ORG) is good
        assert await members.in_good_standing(t, ORG, date(2031, 1, 10)) is good
        assert await members.in_good_standing(t, ORG, date(2031, 1, 9)) is False, "not a member yet"
    run(scenario())


def test_an_activation_records_since_when_a_member():
    async def scenario():
        t = tx()
        await apply(t, example(MemberActivated, organisation_id=ORG, since=date(2031, 2, 1)))
        assert (t.db[members.STANDING].sync.find_one({"_id": ORG}))["member_since"] == "2031-02-01"
    run(scenario())


def test_the_history_is_in_business_date_order_and_a_late_event_leaves_the_current_standing_alone():
    async def scenario():
        t = tx()
        await apply(t, example(MemberActivated, organisation_id=OTHER, since=date(2030, 1, 1)), minutes=30,
                    event_id="ce-0")  # another member, first in the collection: each read names its organisation
        await apply(t, example(MemberActivated, organisation_id=ORG, since=date(2031, 1, 10)), minutes=0,
                    event_id="ce-1")
        await apply(t, example(MembershipLapsed, organisation_id=ORG, lapsed_on=date(2031, 6, 1)), minutes=20,
                    event_id="ce-3")
        # a dead letter replayed late: the grace period of April, applied after the lapse
        await apply(t, example(MembershipEnteredGracePeriod, organisation_id=ORG, entered_on=date(2031, 4, 1)),
                    minutes=10, event_id="ce-2")
        doc = t.db[members.STANDING].sync.find_one({"_id": ORG})
        assert [e["event_id"] for e in doc["history"]] == ["ce-1", "ce-2", "ce-3"]
        assert (doc["status"], doc["status_since"], doc["as_of"]) == ("lapsed", "2031-06-01", T0 + timedelta(minutes=20))
        assert await members.in_good_standing(t, ORG, date(2031, 5, 1)) is True, "in grace period then"
        assert await members.in_good_standing(t, ORG) is False
        # the same instant as the current one moves it (a second event of one transaction)
        await apply(t, example(MembershipRenewed, organisation_id=ORG, status="active", renewed_on=date(2031, 6, 1)),
                    minutes=20, event_id="ce-4")
        doc = t.db[members.STANDING].sync.find_one({"_id": ORG})
        assert doc["status"] == "active" and [e["event_id"] for e in doc["history"]] == ["ce-1", "ce-2", "ce-3", "ce-4"]
        # same business date: the later instant comes last
        assert members.standing_on(doc)["event_id"] == "ce-4"
    run(scenario())


def test_an_event_applied_again_changes_nothing():
    async def scenario():
        t = tx()
        activated = example(MemberActivated, organisation_id=ORG, since=date(2031, 1, 10))
        await apply(t, activated, event_id="ce-1")
        await apply(t, example(MembershipWithdrawn, organisation_id=ORG, withdrawn_on=date(2031, 9, 1)), minutes=5,
                    event_id="ce-2")
        before = t.db[members.STANDING].sync.find_one({"_id": ORG})
        await apply(t, activated, minutes=9, event_id="ce-1")  # replayed, even with a later time
        assert t.db[members.STANDING].sync.find_one({"_id": ORG}) == before
    run(scenario())


def test_a_profile_is_copied_field_by_field_and_the_newest_version_stands():
    async def scenario():
        t = tx()
        await apply(t, example(OrganisationRegistered, organisation_id=OTHER), minutes=60)  # first, and newer
        registered = example(OrganisationRegistered, organisation_id=ORG, registered_on=date(2031, 1, 2))
        await apply(t, registered, minutes=0)
        doc = await members.organisation(t, ORG)
        assert doc == {"_id": ORG, **registered.model_dump(mode="json", include=set(members._PROFILE)),
                       "as_of": T0, "registered_on": "2031-01-02"}
        assert "imported" not in doc
        updated = example(OrganisationUpdated, organisation_id=ORG, name="La Fabrique Solidaire", headcount=30)
        await apply(t, updated, minutes=10)
        doc = await members.organisation(t, ORG)
        assert (doc["name"], doc["headcount"], doc["registered_on"], doc["as_of"]) == (
            "La Fabrique Solidaire", 30, "2031-01-02", T0 + timedelta(minutes=10))
        older = example(OrganisationUpdated, organisation_id=ORG, name="Ancien nom", headcount=3)
        await apply(t, older, minutes=5)  # replayed late: older than what stands
        assert (await members.organisation(t, ORG))["name"] == "La Fabrique Solidaire"
        await apply(t, example(OrganisationUpdated, organisation_id=ORG, name="Même instant"), minutes=10)
        assert (await members.organisation(t, ORG))["name"] == "Même instant", "not older: applied"
        assert await members.organisation(t, "org-unknown") is None
        database = {members.ORGANISATIONS: AsyncCollection(t.db[members.ORGANISATIONS].sync)}  # no transaction
        assert (await members.organisation(database, ORG))["name"] == "Même instant"
    run(scenario())


def test_what_an_api_shows_of_a_standing_now_and_on_a_date():
    async def scenario():
        t = tx()
        await apply(t, example(MemberActivated, organisation_id=ORG, since=date(2031, 1, 10)), event_id="ce-1")
        await apply(t, example(MembershipLapsed, organisation_id=ORG, lapsed_on=date(2031, 6, 1)), minutes=1,
                    event_id="ce-2")
        return t.db[members.STANDING].sync.find_one({"_id": ORG})

    doc = run(scenario())
    assert members.standing_view(None, ORG) == {"organisation_id": ORG, "known": False, "in_good_standing": False,
                                                "status": None, "status_since": None, "as_of": None}
    assert members.standing_view(doc, ORG) == {
        "organisation_id": ORG, "known": True, "in_good_standing": False, "status": "lapsed",
        "status_since": "2031-06-01", "as_of": (T0 + timedelta(minutes=1)).isoformat()}
    assert members.standing_view(doc, ORG, date(2031, 3, 1)) == {
        "organisation_id": ORG, "known": True, "on": "2031-03-01", "in_good_standing": True, "status": "active",
        "status_since": "2031-01-10", "as_of": T0.isoformat()}
    assert members.standing_view(doc, ORG, date(2030, 12, 31)) == {
        "organisation_id": ORG, "known": True, "on": "2030-12-31", "in_good_standing": False, "status": None,
        "status_since": None, "as_of": None}
    assert members.standing_on(doc, date(2031, 6, 1))["status"] == "lapsed"
    assert members.standing_on(None) is None
    assert members._iso("2031-01-01") == "2031-01-01"


def test_no_organisation_or_an_unknown_one_is_not_in_good_standing():
    t = tx()
    assert run(members.in_good_standing(t, None)) is False
    assert run(members.in_good_standing(t, "")) is False
    assert run(members.in_good_standing(t, "org-unknown")) is False
    assert run(members.in_good_standing(t, "org-unknown", date(2031, 1, 1))) is False


def test_member_statuses_in_good_standing():
    assert set(members.GOOD) == {MemberStatus.ACTIVE, MemberStatus.GRACE_PERIOD}


def test_the_indexes_the_other_services_search_organisations_by():
    organisations = collection(members.ORGANISATIONS)
    run(members.ensure_indexes({members.ORGANISATIONS: organisations}))
    keys = [index["key"] for index in organisations.sync.index_information().values()]
    assert [("siret", 1)] in keys and [("departement", 1), ("sector", 1)] in keys
