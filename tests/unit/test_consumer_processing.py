"""runtime.consumer's processing without a broker or a database: a fetch is one transaction in which each
event new to this consumer is handled once; when the batch fails, its records are handled one by one,
each retried, and the one that still fails goes to the dead-letter topic with its original coordinates.

The database below keeps the ``processed_events`` records and the handlers' writes in memory, and
undoes a transaction's writes when its work raises (as MongoDB aborts it); the real database's side is
tests/integration/test_backbone.py."""
from __future__ import annotations

import copy
import dataclasses
import time
from datetime import date, datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect, DuplicateKeyError

from contracts.envelope import CloudEvent
from contracts.membership import MembershipLapsed, WelcomeMeetingHeld
from runtime import logging as log_context
from runtime import metrics
from runtime.consumer import Consumer, PermanentError, Subscription
from runtime.mongo import PROCESSED

SOURCE = "/cress/membership"


class Processed:
    """The ``processed_events`` collection; every read and write must be in the transaction under way."""

    def __init__(self, store: dict[str, dict]) -> None:
        self.store = store
        self.inserted_many: list[list[str]] = []
        self.race: set[str] = set()  # ids another instance records between our find_one and insert_one
        self.session: object | None = None  # the transaction's, while one runs

    def _in_transaction(self, session) -> None:
        assert session is not None and session is self.session, "outside the handler's transaction"

    def find(self, query, projection, session):
        self._in_transaction(session)
        wanted = query["_id"]["$in"]

        async def found():
            for key in wanted:
                if key in self.store:
                    yield {"_id": key}
        return found()

    async def insert_many(self, docs, session):
        self._in_transaction(session)
        self.inserted_many.append([d["_id"] for d in docs])
        for doc in docs:
            self.store[doc["_id"]] = doc

    async def find_one(self, query, projection, session):
        self._in_transaction(session)
        return {"_id": query["_id"]} if query["_id"] in self.store else None

    async def insert_one(self, doc, session):
        self._in_transaction(session)
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
        self.collection.session = tx.session
        try:
            return await work(tx)
        except BaseException:
            self.processed.clear()
            self.processed.update(saved[0])
            self.applied[:] = saved[1]
            raise
        finally:
            self.collection.session = None


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


def sample(name: str, consumer: str = "unit-projection", topic: str = "membership.member", **labels) -> float | None:
    """A series' value in the registry Prometheus scrapes (None: no such series)."""
    return REGISTRY.get_sample_value(name, {"service": "unit-consumer", "consumer": consumer, "topic": topic,
                                            **labels})


def failed() -> float:
    return sample("cress_messages_failed_total") or 0.0


def dead_lettered() -> float:
    return sample("cress_dead_letters_total") or 0.0


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
        lanes.append(tx.lane)
        logged.append((log_context.event_id.get(), log_context.correlation_id.get()))
        db.applied.append(envelope.id)

    logged: list[tuple[str | None, str | None]] = []
    lanes: list[str] = []
    consumer, producer = consumer_of(db, project)
    other = CloudEvent.from_domain(WelcomeMeetingHeld(application_id="app-1", organisation_id="org-1",
                                                      held_on=date(2024, 2, 12)), source=SOURCE, event_id="evt-w")
    before = {o: consumed(o) for o in ("processed", "duplicate", "ignored")}
    timed = sample("cress_message_handler_duration_seconds_count") or 0.0
    time_spent = sample("cress_message_handler_duration_seconds_sum") or 0.0
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    await consumer.process([record(lapsed(1), 10), record(lapsed(2), 11, partition=5), record(lapsed(1), 12),
                            record(other, 13)])
    elapsed, ended = time.perf_counter() - clock, datetime.now(timezone.utc)
    assert logged == [("evt-1", "corr-1"), ("evt-2", "corr-2")], "the handler's log lines carry the event's ids"
    assert (log_context.event_id.get(), log_context.correlation_id.get()) == (None, None), "and only its lines"
    assert sample("cress_message_handler_duration_seconds_count") - timed == 2, "each event handled is timed"
    assert 0 <= sample("cress_message_handler_duration_seconds_sum") - time_spent <= elapsed, \
        "within the time the fetch took"
    assert consumed("ignored") - before["ignored"] == 1, "the event this consumer does not subscribe to is counted"
    assert started <= db.processed["unit-projection:evt-1"]["at"] <= ended, "when it was handled"
    assert calls == [("org-1", "evt-1", "evt-1", "corr-1"), ("org-2", "evt-2", "evt-2", "corr-2")], \
        "the redelivered evt-1 and the event this consumer does not subscribe to are not handled"
    assert lanes == ["membership.member:2", "membership.member:5"], "each handler knows the partition it reads"
    assert len(db.transactions) == 1 and db.collection.inserted_many == [["unit-projection:evt-1",
                                                                         "unit-projection:evt-2"]]
    assert db.processed["unit-projection:evt-2"]["event_id"] == "evt-2"
    assert db.processed["unit-projection:evt-2"]["consumer"] == "unit-projection"
    assert db.processed["unit-projection:evt-2"]["type"] == MembershipLapsed.event_type
    assert consumed("processed") - before["processed"] == 2 and consumed("duplicate") - before["duplicate"] == 1
    duplicates = consumed("duplicate")
    await consumer.process([record(lapsed(2), 11, partition=5), record(lapsed(3), 14),
                            record(lapsed(1), 10)])  # redeliveries
    assert [c[1] for c in calls] == ["evt-1", "evt-2", "evt-3"] and db.applied == ["evt-1", "evt-2", "evt-3"]
    assert len(db.transactions) == 2 and consumed("duplicate") - duplicates == 2, "one transaction per fetch"
    assert producer.sent == []


async def test_a_poison_event_is_dead_lettered_with_its_coordinates_and_the_rest_of_its_fetch_is_kept():
    db = Database()

    async def project(event, tx, envelope):
        db.applied.append(envelope.id)
        if envelope.id == "evt-2":
            raise PermanentError("written-off amount of another currency")

    consumer, producer = consumer_of(db, project)
    poison = record(lapsed(2), 41, partition=5)
    other = CloudEvent.from_domain(WelcomeMeetingHeld(application_id="app-1", organisation_id="org-1",
                                                      held_on=date(2024, 2, 12)), source=SOURCE, event_id="evt-w")
    before = {o: consumed(o) for o in ("dead_lettered", "processed", "ignored")}
    letters, failures = dead_lettered(), failed()
    await consumer.process([record(lapsed(1), 40, partition=5), poison, record(other, 41, partition=1),
                            record(lapsed(3), 42, partition=5)])
    assert db.applied == ["evt-1", "evt-3"], "the failed batch undone, then each record alone: each handled once"
    assert consumed("processed") - before["processed"] == 2 and consumed("ignored") - before["ignored"] == 1, \
        "each record counted once, by its outcome one by one (the failed batch counts nothing)"
    assert dead_lettered() - letters == 1 and failed() - failures == 1, "one attempt failed: no retry"
    assert set(db.processed) == {"unit-projection:evt-1", "unit-projection:evt-3"}
    letter = dead_letter(producer)
    assert (letter["dlq_original_topic"], letter["dlq_original_partition"], letter["dlq_original_offset"]) == \
        ("membership.member", "5", "41")
    assert letter["dlq_consumer"] == "unit-projection" and letter["dlq_attempts"] == "1", "no retry of a permanent error"
    assert letter["dlq_error"] == "PermanentError: written-off amount of another currency"
    assert (letter["key"], letter["value"]) == (poison.key, poison.value), "the original message, as it was"
    assert consumed("dead_lettered") - before["dead_lettered"] == 1
    assert db.transactions[1:] == [("corr-1", "evt-1"), ("corr-2", "evt-2"), ("corr-3", "evt-3")], \
        "one by one, each event's writes carry its ids"


async def test_a_failing_event_is_retried_and_dead_lettered_only_after_the_last_attempt():
    db = Database()
    failures = {"evt-1": 2, "evt-2": 99}

    async def project(event, tx, envelope):
        assert event.organisation_id == f"org-{envelope.id[4:]}", "the event, decoded"
        if failures[envelope.id] > 0:
            failures[envelope.id] -= 1
            raise RuntimeError("a lock held elsewhere")
        db.applied.append(envelope.id)

    consumer, producer = consumer_of(db, project, max_attempts=3)
    processed, failed_before = consumed("processed"), failed()
    await consumer.process([record(lapsed(1), 7)])
    assert db.applied == ["evt-1"] and producer.sent == [], "two failures, then the third attempt went through"
    assert consumed("processed") - processed == 1
    assert failed() - failed_before == 1, "each failed attempt of the record alone counts (not the batch's)"
    await consumer.process([record(lapsed(2), 8)])
    letter = dead_letter(producer)
    assert letter["dlq_attempts"] == "3" and letter["dlq_original_offset"] == "8"
    assert letter["dlq_error"] == "RuntimeError: a lock held elsewhere", "the handler's own error, not tenacity's"
    assert failed() - failed_before == 1 + 3
    duplicates = consumed("duplicate")
    failures["evt-3"] = 1
    await consumer.process([record(lapsed(1), 7), record(lapsed(3), 9)])  # evt-1 again, in a fetch that fails
    assert db.applied == ["evt-1", "evt-3"] and consumed("duplicate") - duplicates == 1, \
        "one by one too, an event handled already is a duplicate"
    assert "unit-projection:evt-2" not in db.processed


async def test_a_message_that_is_not_a_cloudevent_is_dead_lettered_at_once():
    db = Database()

    async def project(event, tx, envelope):
        db.applied.append(envelope.id)

    consumer, producer = consumer_of(db, project)
    garbage = SimpleNamespace(topic="membership.member", partition=0, offset=3, key=b"k", value=b"not json",
                              headers=[("content-type", b"text/plain")])
    invalid = record(dataclasses.replace(lapsed(2), data={"organisation_id": 5}), 5, partition=0)
    failures = failed()
    await consumer.process([garbage, record(lapsed(1), 4, partition=0), invalid, record(lapsed(3), 6, partition=0)])
    assert failed() - failures == 2, "each counted once: it is not retried"
    assert db.applied == ["evt-1", "evt-3"]
    assert db.transactions == [(None, None)], "the rest of the fetch in one transaction, not one by one"
    letters = [{k: v.decode() for k, v in message["headers"]} for _, message in producer.sent]
    assert [(letter["dlq_original_offset"], letter["dlq_attempts"]) for letter in letters] == [("3", "1"), ("5", "1")]
    assert letters[0]["dlq_error"].startswith("EnvelopeError: missing CloudEvents header")
    assert letters[1]["dlq_error"].startswith(f"EnvelopeError: {MembershipLapsed.event_type}: invalid data")


async def test_an_event_another_instance_recorded_meanwhile_is_a_duplicate_not_a_dead_letter():
    db = Database()

    async def project(event, tx, envelope):
        db.applied.append(envelope.id)

    consumer, producer = consumer_of(db, project)
    db.collection.race.add("unit-projection:evt-1")
    before = consumed("duplicate")
    again = record(lapsed(1), 9)
    await consumer._process_one(again, *consumer._decode(again))  # noqa: SLF001 — one by one, as after a failed batch
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
    one = record(lapsed(1), 5)
    task = asyncio.create_task(consumer._process_one(one, *consumer._decode(one)))  # noqa: SLF001
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert runs == ["evt-1"] and producer.sent == [] and db.processed == {}


async def test_a_database_away_is_waited_for_however_long_and_never_dead_letters_the_message(monkeypatch):
    db = Database()
    down = 7  # more than the attempts: no retry budget is spent on it

    async def project(event, tx, envelope):
        nonlocal down
        if down:
            down -= 1
            raise AutoReconnect("connection refused")
        db.applied.append(envelope.id)

    waits: list[float] = []

    async def sleep(seconds):
        waits.append(seconds)

    consumer, producer = consumer_of(db, project, max_attempts=3)
    monkeypatch.setattr("runtime.consumer.asyncio.sleep", sleep)
    await consumer.process([record(lapsed(1), 5)])
    assert producer.sent == [] and db.applied == ["evt-1"], "handled once the database is back"
    assert waits == [1.0] * 6, "after each failure alone (the batch's aside), a pause, not a retry of its budget"


def test_a_consumer_s_series_exist_from_its_start_at_zero():
    """Every series exists at 0 once the consumer is bound, so that the first message counted is an increase
    (Prometheus' increase() does not see the first sample of a series)."""
    async def project(event, tx, envelope):
        pass

    consumer = Consumer("unit-series", [Subscription(MembershipLapsed, project),
                                        Subscription(WelcomeMeetingHeld, project)])
    consumer.bind(Database(), Producer())
    for topic in ("membership.member", "membership.application"):
        assert sample("cress_messages_failed_total", "unit-series", topic) == 0
        assert sample("cress_dead_letters_total", "unit-series", topic) == 0
        for outcome in ("processed", "duplicate", "dead_lettered"):
            assert sample("cress_messages_consumed_total", "unit-series", topic, outcome=outcome) == 0


async def test_closing_a_consumer_leaves_the_platform_s_producer_to_the_platform():
    async def project(event, tx, envelope):
        pass

    stopped = []
    producer = Producer()

    async def stop():
        stopped.append(producer)

    producer.stop = stop
    consumer = Consumer("unit-close", [Subscription(MembershipLapsed, project)]).bind(Database(), producer)
    await consumer.close()
    assert stopped == [], "the dead letters' producer is the platform's, shared by its consumers and relay"


async def test_a_failing_event_is_retried_after_exponentially_growing_pauses(monkeypatch):
    db = Database()

    async def project(event, tx, envelope):
        raise RuntimeError("a lock held elsewhere")

    pauses: list[float] = []

    async def sleep(seconds):
        pauses.append(seconds)

    monkeypatch.setattr("runtime.consumer.asyncio.sleep", sleep)  # tenacity's pauses too
    consumer, producer = consumer_of(db, project, max_attempts=5)
    consumer.retry_base = 10.0
    await consumer.process([record(lapsed(1), 3)])
    assert pauses == [10.0, 20.0, 30.0, 30.0], "doubling from the base, at most 30 s"
    assert dead_letter(producer)["dlq_attempts"] == "5"
