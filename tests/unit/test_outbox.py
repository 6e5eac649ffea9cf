"""runtime.outbox without a database or a broker: the records a transaction writes, and the relay's order
of work — publish in commit order, wait for every acknowledgement, only then mark sent; never publish a
record twice while it is being marked; publish a record whose mark failed again before any later one.

The outbox below is mongomock's in-memory collection (tests/unit/memory_mongo.py); the real database's
side is tests/integration/test_backbone.py."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from contracts.envelope import CloudEvent
from contracts.membership import MembershipLapsed, WelcomeMeetingHeld
from runtime import metrics
from runtime.mongo import OUTBOX
from runtime.outbox import LEASE, PENDING, SENT, OutboxRelay, append_to_outbox, envelope_of
from tests.unit.memory_mongo import AsyncCollection, collection

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)


class Outbox(AsyncCollection):
    """The outbox in memory (mongomock), whose marks (``update_many``) can be held back or fail."""

    def __init__(self) -> None:
        super().__init__(collection(OUTBOX).sync)
        self.inserts: list[tuple[list, dict]] = []
        self.queries: list[dict[str, Any]] = []
        self.mark_gate: asyncio.Event | None = None  # set: marks go on; clear: they wait
        self.mark_failures: list[Exception] = []

    async def insert_many(self, records, **kwargs):
        self.inserts.append(([dict(r) for r in records], kwargs))
        return await super().insert_many(records, **kwargs)

    def find(self, query, **kwargs):
        self.queries.append(query)
        return super().find(query, **kwargs)

    async def update_many(self, query, update, **kwargs):
        if self.mark_gate is not None:
            await self.mark_gate.wait()
        if self.mark_failures:
            raise self.mark_failures.pop(0)
        return await super().update_many(query, update, **kwargs)

    @property
    def docs(self) -> list[dict[str, Any]]:
        return list(self.sync.find())

    def status(self) -> dict[str, str]:
        return {d["_id"]: d["status"] for d in self.docs}


class Leases:
    """Grants the lease to whoever asks."""

    async def find_one_and_update(self, query, update, **kwargs):
        return {"_id": query["_id"], "owner": update["$set"]["owner"]}


class Producer:
    """Sends return a future the test acknowledges (``ack``), as aiokafka's ``send`` does."""

    def __init__(self, *, auto_ack: bool = False) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.pending: list[asyncio.Future] = []
        self.auto_ack = auto_ack

    async def send(self, topic, **kwargs):
        self.sent.append((topic, kwargs))
        future = asyncio.get_running_loop().create_future()
        if self.auto_ack:
            future.set_result(None)
        else:
            self.pending.append(future)
        return future

    def ack(self) -> None:
        for future in self.pending:
            future.set_result(None)
        self.pending.clear()

    def ids(self) -> list[str]:
        return [dict(kwargs["headers"])["ce_id"].decode() for _, kwargs in self.sent]


class Database(dict):
    def __init__(self, outbox: Outbox) -> None:
        super().__init__({OUTBOX: outbox, LEASE: Leases()})
        self.settings = SimpleNamespace(service_name="unit-outbox", source="/cress/unit-outbox")


def pending(outbox: Outbox, n: int, *, start: int = 0, at: datetime = T0) -> list[str]:
    """``n`` pending records of one command committed at ``at`` (its events at positions start…)."""
    ids = []
    for position in range(start, start + n):
        record_id = f"evt-{at:%H%M%S}-{position}"
        outbox.sync.insert_one({"_id": record_id, "aggregatetype": "member", "aggregateid": f"org-{position}",
                            "type": MembershipLapsed.event_type, "payload": {"n": position},
                            "topic": "membership.member", "correlationid": "corr-1", "causationid": None,
                            "created_at": at, "position": position, "status": PENDING})
        ids.append(record_id)
    return ids


async def until(condition) -> None:
    """Let the relay's task run until ``condition()`` holds (it never sleeps: it waits on the fakes)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def test_a_command_s_events_go_to_the_outbox_in_its_transaction_in_order():
    outbox = Outbox()
    lapsed = MembershipLapsed(organisation_id="org-7", year=2024, invoice_ids=["org-7-2024"], written_off_cents=15000,
                              grace_ended_on=date(2024, 4, 9), lapsed_on=date(2024, 4, 10))
    held = WelcomeMeetingHeld(application_id="app-3", organisation_id="org-7", held_on=date(2024, 2, 12))
    session = object()
    tx = SimpleNamespace(db={OUTBOX: outbox}, session=session, source="/cress/membership", correlation_id="corr-9",
                         causation_id="evt-0", events=[lapsed, held])
    before = datetime.now(timezone.utc)
    ids = await append_to_outbox(tx)
    [(records, options)] = outbox.inserts
    assert options == {"session": session, "ordered": True}, "in the command's transaction, in order"
    assert ids == [r["_id"] for r in records] and len(set(ids)) == 2 and tx.events == []
    first, second = records
    assert first == {"_id": ids[0], "aggregatetype": "member", "aggregateid": "org-7",
                     "type": MembershipLapsed.event_type, "payload": lapsed.model_dump(mode="json"),
                     "topic": "membership.member", "correlationid": "corr-9", "causationid": "evt-0",
                     "created_at": first["created_at"], "position": 0, "status": PENDING}
    assert (second["aggregatetype"], second["aggregateid"], second["position"], second["topic"]) == \
        ("application", "app-3", 1, "membership.application")
    assert second["created_at"] == first["created_at"] and before <= first["created_at"] <= datetime.now(timezone.utc)


def test_a_record_is_published_as_the_cloudevent_it_was_written_from():
    record = {"_id": "evt-1", "type": MembershipLapsed.event_type, "aggregateid": "org-7", "created_at": T0,
              "payload": {"organisation_id": "org-7"}, "correlationid": "corr-1", "causationid": "evt-0"}
    assert envelope_of(record, "/cress/membership") == CloudEvent(
        id="evt-1", source="/cress/membership", type=MembershipLapsed.event_type, subject="org-7", time=T0,
        data={"organisation_id": "org-7"}, correlationid="corr-1", causationid="evt-0")


async def test_records_are_marked_sent_only_once_the_broker_acknowledged_every_one_in_commit_order():
    outbox, producer = Outbox(), Producer()
    later = pending(outbox, 2, at=T0 + timedelta(seconds=1))
    earlier = pending(outbox, 2, at=T0)  # stored after the later ones: the relay sorts
    relay = OutboxRelay(Database(outbox), producer)
    task = asyncio.create_task(relay.publish_pending())
    await until(lambda: len(producer.sent) == 4)
    assert producer.ids() == earlier + later, "by commit time, then position in the command"
    assert set(outbox.status().values()) == {PENDING}, "sent to the broker, not acknowledged: not marked"
    producer.ack()
    assert await task == 4
    assert set(outbox.status().values()) == {SENT} and all(d["published_at"] for d in outbox.docs)
    topic, message = producer.sent[0]
    envelope = envelope_of(outbox.docs[2], "/cress/unit-outbox")
    assert topic == "membership.member" and message == {"value": envelope.kafka_value(),
                                                        "key": envelope.kafka_key(),
                                                        "headers": envelope.kafka_headers()}
    assert await relay.publish_pending() == 0 and len(producer.sent) == 4, "nothing pending: nothing sent"


async def test_a_round_reads_at_most_a_batch():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    pending(outbox, 5)
    relay = OutboxRelay(Database(outbox), producer, batch_size=2)
    assert [await relay.publish_pending() for _ in range(4)] == [2, 2, 1, 0]
    assert len(producer.sent) == 5 and set(outbox.status().values()) == {SENT}


async def test_while_a_round_is_marked_the_next_publishes_only_newer_records_and_after_that_mark():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    first = pending(outbox, 2)
    outbox.mark_gate = asyncio.Event()  # the mark is slow
    relay = OutboxRelay(Database(outbox), producer)
    assert await relay.publish_pending(mark_later=True) == 2, "returns at the acks, the mark under way"
    assert outbox.status() == {i: PENDING for i in first}
    newer = pending(outbox, 1, at=T0 + timedelta(seconds=1))
    task = asyncio.create_task(relay.publish_pending(mark_later=True))
    await until(lambda: len(outbox.queries) == 2)  # the round runs on until it waits (for the mark)
    assert producer.ids() == first and not task.done(), "the newer record waits for the last round's mark"
    outbox.mark_gate.set()
    assert await task == 1
    assert producer.ids() == first + newer, "the records being marked were left out: nothing published twice"
    await relay._marked()  # noqa: SLF001 — the last mark, as the relay's stop does
    assert set(outbox.status().values()) == {SENT}
    assert await relay.publish_pending() == 0 and outbox.queries[-1] == {"status": PENDING}


async def test_records_whose_mark_failed_are_published_again_before_any_later_one():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    first = pending(outbox, 2)
    outbox.mark_failures.append(AutoReconnect("the database went away"))
    relay = OutboxRelay(Database(outbox), producer)
    assert await relay.publish_pending(mark_later=True) == 2
    later = pending(outbox, 1, at=T0 + timedelta(seconds=1))
    with pytest.raises(AutoReconnect):
        await relay.publish_pending(mark_later=True)  # the failed mark surfaces: the round is retried
    assert producer.ids() == first
    assert await relay.publish_pending() == 3
    assert producer.ids() == first + first + later, "at least once, and in order"
    assert set(outbox.status().values()) == {SENT}


async def test_drain_publishes_until_nothing_is_pending():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    pending(outbox, 5)
    await OutboxRelay(Database(outbox), producer, batch_size=2).drain()
    assert len(producer.sent) == 5 and set(outbox.status().values()) == {SENT}


async def test_the_gauges_show_the_backlog_and_the_age_of_its_oldest_record():
    outbox = Outbox()
    relay = OutboxRelay(Database(outbox), Producer())
    backlog = metrics.OUTBOX_BACKLOG.labels("unit-outbox")
    oldest = metrics.OUTBOX_OLDEST_AGE.labels("unit-outbox")
    await relay.update_gauges()
    assert backlog._value.get() == 0 and oldest._value.get() == 0
    now = datetime.now(timezone.utc)
    pending(outbox, 1, at=now - timedelta(seconds=90))
    pending(outbox, 1, at=now - timedelta(seconds=30), start=1)
    outbox.sync.insert_one({**outbox.docs[0], "_id": "sent-long-ago", "status": SENT,
                            "created_at": now - timedelta(days=1)})
    await relay.update_gauges()
    assert backlog._value.get() == 2
    assert 90 <= oldest._value.get() < 120, "the oldest pending record's age, sent ones aside"
