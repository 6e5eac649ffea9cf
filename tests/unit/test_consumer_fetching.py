"""runtime.consumer's side of the consumer group, without a broker: what the group is told (FastStream never
commits on its own; a new group starts at the oldest event), how a fetch reaches :meth:`Consumer.take`, the
pause before a fetch that could not be written is fetched again, and each partition's lag. The broker's
side is tests/integration/test_backbone.py and test_consumer_group.py."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition
from faststream.kafka import TestKafkaBroker
from faststream.middlewares import AckPolicy
from prometheus_client import REGISTRY

from contracts.membership import MembershipLapsed, WelcomeMeetingHeld
from runtime import consumer as consumers
from runtime.consumer import Consumer, Subscription

A, B, C = (TopicPartition("membership.member", p) for p in (0, 1, 2))


async def project(event, tx, envelope) -> None:
    pass


def bound(name: str = "unit-group", *, from_beginning: bool = True, batch_size: int = 7) -> Consumer:
    consumer = Consumer(name, [Subscription(MembershipLapsed, project), Subscription(WelcomeMeetingHeld, project)],
                        from_beginning=from_beginning)
    settings = SimpleNamespace(service_name="unit-group", mongodb_database="membership",
                               kafka_bootstrap_servers="localhost:9", kafka_group_instance=None,
                               kafka_session_timeout_ms=10_000)
    return consumer.bind(SimpleNamespace(settings=settings), producer=None, batch_size=batch_size)


def test_the_group_commits_only_what_take_commits_and_a_new_one_starts_at_the_oldest_event():
    _, subscriber = bound(batch_size=7)._broker()  # noqa: SLF001
    assert subscriber.ack_policy is AckPolicy.MANUAL, "FastStream acknowledges nothing: take() commits"
    assert subscriber._connection_args["enable_auto_commit"] is False  # noqa: SLF001 — aiokafka's own commits
    assert subscriber._connection_args["auto_offset_reset"] == "earliest"  # noqa: SLF001
    assert subscriber.group_id == "membership.unit-group" and subscriber.max_records == 7
    assert sorted(subscriber.topic_names) == ["membership.application", "membership.member"]
    _, subscriber = bound(from_beginning=False)._broker()  # noqa: SLF001
    assert subscriber._connection_args["auto_offset_reset"] == "latest", "only what happens from now on"  # noqa: SLF001
    assert Consumer("unit-default", [Subscription(MembershipLapsed, project)]).from_beginning, \
        "by default a new group rebuilds its projection from history"


async def test_a_fetch_reaches_take_as_its_records_by_partition():
    consumer = bound()
    taken: list[dict] = []

    async def take(batches):
        taken.append(batches)

    consumer.take = take
    broker, _ = consumer._broker()  # noqa: SLF001
    async with TestKafkaBroker(broker) as test_broker:  # FastStream's in-memory broker: no Kafka
        await test_broker.publish_batch(b"one", b"two", topic="membership.member", partition=1)
    [batches] = taken
    assert list(batches) == [B] and [r.value for r in batches[B]] == [b"one", b"two"], \
        "the records as aiokafka gives them, each partition's in order"


class Kafka:
    """The subscriber's aiokafka consumer: the partitions assigned, their end offsets, the group's commits."""

    def __init__(self, ends: dict, committed: dict, positions: dict) -> None:
        self.ends, self.committed_offsets, self.positions = ends, committed, positions
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.commits: list[dict] = []

    def assignment(self):
        return set(self.ends)

    async def end_offsets(self, partitions):
        return {tp: self.ends[tp] for tp in partitions}

    async def committed(self, tp):
        return self.committed_offsets.get(tp)

    async def position(self, tp):
        return self.positions[tp]

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))

    async def commit(self, offsets):
        self.commits.append(dict(offsets))


def with_kafka(consumer: Consumer, kafka: Kafka) -> Consumer:
    consumer._subscriber = SimpleNamespace(consumer=kafka)  # noqa: SLF001 — FastStream's subscriber
    return consumer


def fetch(tp: TopicPartition, *offsets: int) -> list:
    return [SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=o) for o in offsets]


async def test_a_fetch_not_written_is_fetched_again_after_a_pause_and_a_cancelled_one_at_once(monkeypatch):
    kafka = Kafka({A: 10}, {}, {A: 0})
    consumer = with_kafka(bound(), kafka)
    pauses: list[float] = []

    async def sleep(seconds):
        pauses.append(seconds)

    async def database_away(records):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(consumers.asyncio, "sleep", sleep)
    consumer.process = database_away
    with pytest.raises(ConnectionError):
        await consumer.take({A: fetch(A, 4, 5)})
    assert kafka.seeks == [(A, 4)] and pauses == [consumers.REFETCH_AFTER], \
        "not fetched again at once: a database away is not asked in a tight loop"

    async def cancelled(records):
        raise asyncio.CancelledError

    consumer.process = cancelled
    with pytest.raises(asyncio.CancelledError):
        await consumer.take({A: fetch(A, 4, 5)})
    assert kafka.seeks == [(A, 4), (A, 4)] and pauses == [consumers.REFETCH_AFTER], \
        "a stop rewinds too, and does not wait"
    assert kafka.commits == []


async def test_a_partition_revoked_meanwhile_is_not_rewound_and_the_others_are(monkeypatch):
    kafka = Kafka({A: 10, B: 10}, {}, {A: 0, B: 0})

    def seek(tp, offset):
        if tp == A:
            raise RuntimeError("partition is not assigned")  # aiokafka's IllegalStateError: another holds it now
        kafka.seeks.append((tp, offset))

    kafka.seek = seek
    consumer = with_kafka(bound(), kafka)

    async def database_away(records):
        raise ConnectionError("the database went away")

    async def sleep(seconds):
        pass

    monkeypatch.setattr(consumers.asyncio, "sleep", sleep)
    consumer.process = database_away
    with pytest.raises(ConnectionError):
        await consumer.take({A: fetch(A, 4), B: fetch(B, 7)})
    assert kafka.seeks == [(B, 7)], "its next holder starts at its commit; the fetch's own error is the one raised"


async def test_a_consumer_closed_stops_fetching_and_has_no_partitions_left():
    consumer = with_kafka(bound("unit-closed"), Kafka({A: 3}, {}, {A: 0}))
    stopped = []
    consumer._faststream = SimpleNamespace(stop=lambda: stopped.append(True) or asyncio.sleep(0))  # noqa: SLF001
    await consumer.close()
    assert stopped == [True] and await consumer.lag() == {}, "the group left: no lag of its own to export"


def lag_of(consumer: Consumer, tp: TopicPartition) -> float | None:
    return REGISTRY.get_sample_value("cress_consumer_lag_messages", {
        "service": "unit-group", "consumer": consumer.name, "topic": tp.topic, "partition": str(tp.partition)})


async def test_each_partition_s_lag_is_its_end_less_what_this_group_committed():
    # nothing received yet by this instance: B's group committed 5 (its position is further: fetched, not
    # written); A and C were never committed: their position (A: 2 of 9, C: 6 of 6, nothing pending)
    kafka = Kafka({A: 9, B: 8, C: 6}, {B: 5}, {A: 2, B: 7, C: 6})
    consumer = with_kafka(bound("unit-lag"), kafka)

    async def written(records):
        pass

    consumer.process = written
    assert await consumer.lag() == {A: 7, B: 3, C: 0}, "nothing received: the group's commit, else the position"
    await consumer.take({A: fetch(A, 3, 4)})
    assert kafka.commits == [{A: 5}]
    assert await consumer.lag() == {A: 4, B: 3, C: 0}, "after a commit of this process: its own"

    async def not_written(records):
        raise asyncio.CancelledError

    consumer.process = not_written
    with pytest.raises(asyncio.CancelledError):
        await consumer.take({A: fetch(A, 5, 6), B: fetch(B, 5)})
    assert await consumer.lag() == {A: 4, B: 3, C: 0}, "a fetch in hand is not done: it counts as lag"
    await consumer.export_lag()
    assert [lag_of(consumer, tp) for tp in (A, B, C)] == [4, 3, 0]
    del kafka.ends[B]  # the group gave B to another instance
    await consumer.export_lag()
    assert lag_of(consumer, B) is None, "its lag is the new holder's to export"
    assert [lag_of(consumer, tp) for tp in (A, C)] == [4, 0]


async def test_no_lag_before_the_group_assigned_partitions():
    consumer = bound("unit-unassigned")
    assert await consumer.lag() == {}, "not started"
    assert await with_kafka(consumer, Kafka({}, {}, {})).lag() == {}, "started, nothing assigned yet"


async def test_a_consumer_has_caught_up_once_it_wrote_a_fetch_or_has_nothing_to_read():
    assert not await bound("unit-caught-up").caught_up(), "not started: no partition yet"
    kafka = Kafka({A: 9, B: 5}, {B: 5}, {A: 2, B: 5})
    consumer = with_kafka(bound("unit-caught-up"), kafka)

    async def written(records):
        pass

    consumer.process = written
    assert not await consumer.caught_up(), "7 records to read on A"
    await consumer.take({A: fetch(A, 2, 3)})
    assert await consumer.caught_up(), "its first fetch written: what came while it was down, up to the batch size"
    idle = with_kafka(bound("unit-idle"), Kafka({A: 4}, {A: 4}, {A: 4}))
    assert await idle.caught_up(), "nothing to read"
