"""runtime.consumer's processing without a broker or a database: a fetch is one transaction in which each
event new to this consumer is handled once; when the batch fails, its records are handled one by one,
each retried, and the one that still fails goes to the dead-letter topic with its original coordinates.

The database below keeps the ``processed_events`` records and the handlers' writes in memory, and
undoes a transaction's writes when its work raises (as MongoDB aborts it); the real database's side is
tests/integration/test_backbone.py."""
from __future__ import annotations

import copy
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from contracts.envelope import CloudEvent
from contracts.membership import MembershipLapsed, WelcomeMeetingHeld
from runtime import metrics
from runtime.consumer import Consumer, PermanentError, Subscription
from runtime.mongo import PROCESSED

SOURCE = "/cress/membership"


class Processed:
    def __init__(self, store: dict[str, dict]) -> None:
        self.store = store
        self.inserted_many: list[list[str]] = []
        self.race: set[str] = set()  # ids another instance records between our find_one and insert_one

    def find(self, query, projection, session):
        wanted = query["_id"]["$in"]

        async def found():
            for key in wanted:
                if key in self.store:
                    yield {"_id": key}
        return found()

    async def insert_many(self, docs, session):
        assert session is not None
        self.inserted_many.append([d["_id"] for d in docs])
        for doc in docs:
            self.store[doc["_id"]] = doc

    async def find_one(self, query, projection, session):
        return {"_id": query["_id"]} if query["_id"] in self.store else None

    async def insert_one(self, doc, session):
        if doc["_id"] in self.store or doc["_id"] in self.race:
            raise DuplicateKeyError("E11000 duplicate key")
        self.store[doc["_id"]] = doc


class Database:
    def __init__(self) -> None:
        self.settings = SimpleNamespace(service_name="unit-consumer", mongodb_database="membership")
        self.processed: dict[str, dict] = {}
        self.applied: list[str] = []  # the handlers' writes: event ids, in order
        self.collection = Processed(self.processed)
        self.transactions: list[tuple[str | None, str | None]] = []

    def __getitem__(self, name: str) -> Processed:
        assert name == PROCESSED
        return self.collection

    async def transaction(self, work, *, correlation_id=None, causation_id=None):
        self.transactions.append((correlation_id, causation_id))
        saved = copy.deepcopy((self.processed, self.applied))
        tx = SimpleNamespace(db=self, session=object(), correlation_id=None, causation_id=None)
        try:
            return await work(tx)
        except BaseException:
            self.processed.clear()
            self.processed.update(saved[0])
            self.applied[:] = saved[1]
            raise


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send_and_wait(self, topic, **kwargs):
        self.sent.append((topic, kwargs))


def lapsed(n: int) -> CloudEvent:
    event = MembershipLapsed(organisation_id=f"org-{n}", year=2024, invoice_ids=[], written_off_cents=0,
                             grace_ended_on=date(2024, 4, 9), lapsed_on=date(2024, 4, 10))
    return CloudEvent.from_domain(event, source=SOURCE, event_id=f"evt-{n}", correlation_id=f"corr-{n}")


def record(envelope: CloudEvent, offset: int, *, partition: int = 2) -> SimpleNamespace:
    return SimpleNamespace(topic="membership.member", partition=partition, offset=offset, key=envelope.kafka_key(),
                           value=envelope.kafka_value(), headers=envelope.kafka_headers())


def consumer_of(db: Database, handler, *, max_attempts: int = 3) -> tuple[Consumer, Producer]:
    producer = Producer()
    consumer = Consumer("unit-projection", [Subscription(MembershipLapsed, handler)])
    consumer.bind(db, producer, max_attempts=max_attempts, retry_base=0)
    return consumer, producer


def consumed(outcome: str) -> float:
    return metrics.MESSAGES_CONSUMED.labels("unit-consumer", "unit-projection", "membership.member", outcome)._value.get()


def dead_letter(producer: Producer) -> dict[str, str]:
    [(topic, message)] = producer.sent
    assert topic == "membership.member.dlq"
    return {k: v.decode() for k, v in message["headers"] if k.startswith("dlq_")} | {"key": message["key"],
                                                                                        "value": message["value"]}


async def test_a_fetch_is_one_transaction_handling_each_event_new_to_this_consumer_once():
    db = Database()
    calls = []

    async def project(event, tx, envelope):
        calls.append((event.organisation_id, envelope.id, tx.causation_id, tx.correlation_id))
        db.applied.append(envelope.id)

    consumer, producer = consumer_of(db, project)
    other = CloudEvent.from_domain(WelcomeMeetingHeld(application_id="app-1", organisation_id="org-1",
                                                      held_on=date(2024, 2, 12)), source=SOURCE, event_id="evt-w")
    before = {o: consumed(o) for o in ("processed", "duplicate")}
    await consumer.process([record(lapsed(1), 10), record(lapsed(2), 11), record(lapsed(1), 12), record(other, 13)])
    assert calls == [("org-1", "evt-1", "evt-1", "corr-1"), ("org-2", "evt-2", "evt-2", "corr-2")], \
        "the redelivered evt-1 and the event this consumer does not subscribe to are not handled"
    assert len(db.transactions) == 1 and db.collection.inserted_many == [["unit-projection:evt-1",
                                                                         "unit-projection:evt-2"]]
    assert db.processed["unit-projection:evt-2"]["event_id"] == "evt-2"
    assert db.processed["unit-projection:evt-2"]["consumer"] == "unit-projection"
    assert db.processed["unit-projection:evt-2"]["type"] == MembershipLapsed.event_type
    assert consumed("processed") - before["processed"] == 2 and consumed("duplicate") - before["duplicate"] == 1
    await consumer.process([record(lapsed(2), 11), record(lapsed(3), 14)])  # a redelivery and a new one
    assert [c[1] for c in calls] == ["evt-1", "evt-2", "evt-3"] and db.applied == ["evt-1", "evt-2", "evt-3"]
    assert producer.sent == []


async def test_a_poison_event_is_dead_lettered_with_its_coordinates_and_the_rest_of_its_fetch_is_kept():
    db = Database()

    async def project(event, tx, envelope):
        db.applied.append(envelope.id)
        if envelope.id == "evt-2":
            raise PermanentError("written-off amount of another currency")

    consumer, producer = consumer_of(db, project)
    poison = record(lapsed(2), 41, partition=5)
    before = consumed("dead_lettered")
    await consumer.process([record(lapsed(1), 40, partition=5), poison, record(lapsed(3), 42, partition=5)])
    assert db.applied == ["evt-1", "evt-3"], "the failed batch undone, then each record alone: each handled once"
    assert set(db.processed) == {"unit-projection:evt-1", "unit-projection:evt-3"}
    letter = dead_letter(producer)
    assert (letter["dlq_original_topic"], letter["dlq_original_partition"], letter["dlq_original_offset"]) == \
        ("membership.member", "5", "41")
    assert letter["dlq_consumer"] == "unit-projection" and letter["dlq_attempts"] == "1", "no retry of a permanent error"
    assert letter["dlq_error"] == "PermanentError: written-off amount of another currency"
    assert (letter["key"], letter["value"]) == (poison.key, poison.value), "the original message, as it was"
    assert consumed("dead_lettered") - before == 1
    assert db.transactions[1:] == [("corr-1", "evt-1"), ("corr-2", "evt-2"), ("corr-3", "evt-3")], \
        "one by one, each event's writes carry its ids"


async def test_a_failing_event_is_retried_and_dead_lettered_only_after_the_last_attempt():
    db = Database()
    failures = {"evt-1": 2, "evt-2": 99}

    async def project(event, tx, envelope):
        if failures[envelope.id] > 0:
            failures[envelope.id] -= 1
            raise RuntimeError("a lock held elsewhere")
        db.applied.append(envelope.id)

    consumer, producer = consumer_of(db, project, max_attempts=3)
    await consumer.process([record(lapsed(1), 7)])
    assert db.applied == ["evt-1"] and producer.sent == [], "two failures, then the third attempt went through"
    await consumer.process([record(lapsed(2), 8)])
    letter = dead_letter(producer)
    assert letter["dlq_attempts"] == "3" and letter["dlq_original_offset"] == "8"
    assert "unit-projection:evt-2" not in db.processed


async def test_a_message_that_is_not_a_cloudevent_is_dead_lettered_at_once():
    db = Database()

    async def project(event, tx, envelope):
        db.applied.append(envelope.id)

    consumer, producer = consumer_of(db, project)
    garbage = SimpleNamespace(topic="membership.member", partition=0, offset=3, key=b"k", value=b"not json",
                              headers=[("content-type", b"text/plain")])
    await consumer.process([garbage, record(lapsed(1), 4, partition=0)])
    letter = dead_letter(producer)
    assert letter["dlq_attempts"] == "1" and letter["dlq_original_offset"] == "3"
    assert letter["dlq_error"].startswith("EnvelopeError: missing CloudEvents header")
    assert db.applied == ["evt-1"]


async def test_an_event_another_instance_recorded_meanwhile_is_a_duplicate_not_a_dead_letter():
    db = Database()

    async def project(event, tx, envelope):
        db.applied.append(envelope.id)

    consumer, producer = consumer_of(db, project)
    db.collection.race.add("unit-projection:evt-1")
    before = consumed("duplicate")
    await consumer._process_one(record(lapsed(1), 9))  # noqa: SLF001 — one by one, as after a failed batch
    assert producer.sent == [] and consumed("duplicate") - before == 1 and db.applied == []


def test_a_consumer_subscribes_once_to_each_event_and_reads_its_topics():
    async def project(event, tx, envelope):
        pass

    consumer = Consumer("unit-topics", [Subscription(MembershipLapsed, project),
                                        Subscription(WelcomeMeetingHeld, project)])
    assert consumer.topics == ["membership.application", "membership.member"]
    with pytest.raises(ValueError, match="subscribes twice"):
        Consumer("unit-twice", [Subscription(MembershipLapsed, project), Subscription(MembershipLapsed, project)])
    with pytest.raises(ValueError, match="no subscription"):
        Consumer("unit-none", [])
    db = Database()
    consumer.bind(db, Producer())
    assert consumer.group_id == "membership.unit-topics", "offsets live with the service's database"


async def test_a_consumer_stopped_during_an_attempt_stops_instead_of_trying_again():
    """A stop (the task cancelled) during a record's attempt ends the consumer's task; the retries around
    the attempt (tenacity catches every exception) took the cancellation for a failure and ran the
    handler again — a consumer stopped while its database was closing ran on for ever."""
    import asyncio

    db = Database()
    started = asyncio.Event()
    runs = []

    async def project(event, tx, envelope):
        runs.append(envelope.id)
        started.set()
        await asyncio.sleep(30)  # a slow write, when the stop comes

    consumer, producer = consumer_of(db, project, max_attempts=3)
    task = asyncio.create_task(consumer._process_one(record(lapsed(1), 5)))  # noqa: SLF001
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert runs == ["evt-1"] and producer.sent == [] and db.processed == {}
