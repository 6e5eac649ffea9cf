"""The pure parts of runtime.rebuild: which staged writes become bulk inserts, the collections'
names, the database view the handlers see, the rebuild's own idempotency record."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone

import pytest
from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from contracts.envelope import CloudEvent
from contracts.membership import MembershipWithdrawn
from runtime.consumer import Consumer, Subscription
from runtime.rebuild import (DatabaseView, RebuildTransaction, Replay, flush_staged, insert_if_absent, leftovers,
                             plan_writes, rebuild_name, stamp)
from services.observatory.adapters.ledger import LEDGER, append

AT = datetime(2037, 3, 1, 9, tzinfo=timezone.utc)


def test_an_upsert_that_only_sets_on_insert_by_id_is_an_insert_if_absent():
    op = UpdateOne({"_id": "e1"}, {"$setOnInsert": {"type": "t", "on": "2037-01-01"}}, upsert=True)
    assert insert_if_absent(op) == {"_id": "e1", "type": "t", "on": "2037-01-01"}
    assert insert_if_absent(InsertOne({"_id": "e2", "a": 1})) == {"_id": "e2", "a": 1}


@pytest.mark.parametrize("op", [
    UpdateOne({"_id": "e1"}, {"$setOnInsert": {"a": 1}}),  # no upsert: changes nothing when absent
    UpdateOne({"_id": "e1"}, {"$set": {"a": 1}}, upsert=True),  # overwrites
    UpdateOne({"_id": "e1"}, {"$setOnInsert": {"a": 1}, "$inc": {"n": 1}}, upsert=True),
    UpdateOne({"_id": "e1", "v": 2}, {"$setOnInsert": {"a": 1}}, upsert=True),  # another filter
    UpdateOne({"_id": {"$in": ["e1"]}}, {"$setOnInsert": {"a": 1}}, upsert=True),
    UpdateOne({"_id": "e1"}, {"$setOnInsert": {"a": 1}}, upsert=True, hint="_id_"),
    "not an operation",
])
def test_anything_else_is_written_as_it_is(op):
    assert insert_if_absent(op) is None


def test_a_batch_of_inserts_if_absent_is_one_unordered_insert_the_first_of_each_id_winning():
    ops = [UpdateOne({"_id": i}, {"$setOnInsert": {"v": n}}, upsert=True) for n, i in enumerate("abac")]
    assert plan_writes(ops) == ("insert", [{"_id": "a", "v": 0}, {"_id": "b", "v": 1}, {"_id": "c", "v": 3}])


def test_a_batch_with_any_other_write_keeps_its_order():
    ops = [UpdateOne({"_id": "a"}, {"$setOnInsert": {"v": 0}}, upsert=True),
           UpdateOne({"_id": "y"}, {"$inc": {"n": 1}}, upsert=True)]
    assert plan_writes(ops) == ("ordered", ops)


def test_names_of_rebuilt_collections_and_leftovers():
    s = stamp(datetime(2037, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    assert s.startswith("20370102T030405_") and len(s) == len("20370102T030405_abcd")
    name = rebuild_name("ledger", s)
    assert name == f"ledger__rebuild_{s}"
    existing = [name, "ledger", "ledgers__rebuild_x", "member_standing__rebuild_y", "other__rebuild_z",
                "ledger_rebuild_w", "member_standing"]
    # never rebuilt: the usual names are in force; an interrupted rebuild's collections are left over
    assert leftovers(existing, ["ledger", "member_standing"], ["ledger", "member_standing"]) == \
        [name, "member_standing__rebuild_y"]
    # the ledger rebuilt: ``name`` is in force, and the usual name a crash kept after the swap is left over
    assert leftovers(existing, ["ledger", "member_standing"], [name, "member_standing"]) == \
        ["ledger", "member_standing__rebuild_y"]


class FakeCollection:
    def __init__(self, name, fail=None, details=None):
        self.name, self.fail, self.calls = name, fail, []
        self.details = details  # the bulk error's details, when not only write errors of ``fail``'s codes

    async def insert_many(self, docs, ordered):
        self.calls.append(("insert_many", docs, ordered))
        if self.details is not None:
            raise BulkWriteError(self.details)
        if self.fail:
            raise BulkWriteError({"writeErrors": [{"code": c} for c in self.fail]})

    async def bulk_write(self, ops, ordered):
        self.calls.append(("bulk_write", ops, ordered))

    async def find_one_and_update(self, query, update, **options):
        self.calls.append(("find_one_and_update", query, update))
        return {"_id": query["_id"], "version": 7}


class FakeDb(dict):
    def __missing__(self, name):
        self[name] = FakeCollection(name)
        return self[name]


def test_the_view_maps_the_projections_collections_only():
    db = FakeDb()
    view = DatabaseView(db, {"ledger": "ledger__rebuild_x"})
    assert view["ledger"].name == "ledger__rebuild_x"
    assert view["facts"].name == "facts"


def test_flushing_ignores_duplicates_only():
    db = FakeDb(ledger=FakeCollection("ledger", fail=[11000, 11000]))
    ops = [UpdateOne({"_id": "a"}, {"$setOnInsert": {"v": 0}}, upsert=True)]
    asyncio.run(flush_staged(db, {"ledger": ops}))
    assert db["ledger"].calls == [("insert_many", [{"_id": "a", "v": 0}], False)]
    db = FakeDb(ledger=FakeCollection("ledger", fail=[11000, 121]))  # a validation error is an error
    with pytest.raises(BulkWriteError):
        asyncio.run(flush_staged(db, {"ledger": ops}))
    db = FakeDb()
    ordered = [UpdateOne({"_id": "y"}, {"$inc": {"n": 1}}, upsert=True)]
    asyncio.run(flush_staged(db, {"stats": ordered}))
    assert db["stats"].calls == [("bulk_write", ordered, True)]


def test_flushing_writes_every_collection_of_the_batch_each_its_way():
    db = FakeDb()
    ordered = [UpdateOne({"_id": "y"}, {"$inc": {"n": 1}}, upsert=True)]
    inserts = [UpdateOne({"_id": "a"}, {"$setOnInsert": {"v": 0}}, upsert=True)]
    asyncio.run(flush_staged(db, {"empty": [], "stats": ordered, "ledger": inserts, "marks": list(inserts)}))
    assert db["stats"].calls == [("bulk_write", ordered, True)]
    assert db["ledger"].calls == db["marks"].calls == [("insert_many", [{"_id": "a", "v": 0}], False)]
    assert db["empty"].calls == []


@pytest.mark.parametrize("details", [
    {"writeConcernErrors": [{"code": 64}]},  # the batch is not durable: an error, whatever else
    {"writeErrors": [{"code": 11000}], "writeConcernErrors": [{"code": 64}]},
])
def test_flushing_fails_on_a_write_concern_error(details):
    db = FakeDb(ledger=FakeCollection("ledger", details=details))
    with pytest.raises(BulkWriteError):
        asyncio.run(flush_staged(db, {"ledger": [InsertOne({"_id": "a"})]}))


@pytest.mark.parametrize("option", [{"array_filters": [{"x.n": 1}]}, {"collation": {"locale": "fr"}},
                                    {"sort": {"at": 1}}])
def test_an_upsert_with_options_is_written_as_it_is(option):
    assert insert_if_absent(UpdateOne({"_id": "e1"}, {"$setOnInsert": {"a": 1}}, upsert=True, **option)) is None


def test_a_stamp_is_utc_whatever_the_zone_of_the_time_given(monkeypatch):
    import time
    from datetime import timedelta
    monkeypatch.setenv("TZ", "America/Cayenne")
    time.tzset()
    try:
        assert stamp(datetime(2037, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))).startswith("20370102T030405_")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def _envelope(event_id: str) -> CloudEvent:
    event = MembershipWithdrawn(organisation_id="org-1", reason="resignation", detail=None, previous_status="active",
                                outstanding_cents=0, withdrawn_on=date(2037, 3, 1))
    return CloudEvent.from_domain(event, source="/cress/membership", event_id=event_id, time=AT)


def test_the_replay_applies_each_event_once_per_consumer():
    seen = []

    async def first(event, tx, envelope):
        seen.append(("first", envelope.id))

    async def second(event, tx, envelope):
        seen.append(("second", envelope.id))

    replay = Replay([Consumer("a", [Subscription(MembershipWithdrawn, first)]),
                     Consumer("b", [Subscription(MembershipWithdrawn, second)])], "/cress/test")
    tx = RebuildTransaction(FakeDb(), None, "/cress/test")

    async def run():
        for event_id in ("e1", "e2", "e1"):  # e1 published twice on the log
            envelope = _envelope(event_id)
            await replay._apply(tx, envelope, envelope.to_domain())

    asyncio.run(run())
    assert seen == [("first", "e1"), ("second", "e1"), ("first", "e2"), ("second", "e2")]


def test_the_ledger_stages_inserts_if_absent_that_the_rebuild_writes_in_bulk():
    tx = RebuildTransaction(DatabaseView(FakeDb(), {LEDGER: "ledger__rebuild_x"}), None, "/cress/test")
    envelope = _envelope("e1")
    asyncio.run(append(envelope.to_domain(), tx, envelope))
    how, docs = plan_writes(tx.staged[LEDGER])
    assert how == "insert" and docs == [{"_id": "e1", "type": MembershipWithdrawn.event_type, "subject": "org-1",
                                         "at": AT, "on": "2037-03-01", "data": {"reason": "resignation"},
                                         "organisations": ["org-1"], "refs": [], "lane": "ledger", "mark": 7}]
    asyncio.run(flush_staged(tx.db, tx.staged))
    assert tx.db._db["ledger__rebuild_x"].calls[0][0] == "insert_many"
