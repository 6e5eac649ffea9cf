"""The transactional outbox and its relay to Kafka.

Write side: :func:`append_to_outbox` is called by :meth:`runtime.mongo.Database.transaction`
inside the command's transaction, so a state change and its events commit together or not
at all. Record fields follow Debezium's outbox (id, aggregatetype, aggregateid, type,
payload) plus the topic, the CloudEvents attributes and the publication status.

Read side: :class:`OutboxRelay` publishes pending records in commit order (per aggregate:
aggregate version, then position in the command), waits for Kafka's acknowledgement, then
marks them sent. A relay killed between commit and publish, or between publish and mark,
publishes the records again after restart: nothing is lost, and consumers drop the
duplicates by event id. One relay per service publishes at a time (a :class:`runtime.lease.Lease`
in MongoDB: taken over at once from a dead relay of this machine, released on a clean stop).

A broker that restarts may forget where this producer's sequence numbers were (its idempotent
producer state): every send then fails with ``OutOfOrderSequenceNumber``, which no retry of the same
producer fixes (``make chaos`` found the relays of two services stuck on it for minutes after a broker
restart). The relay then starts a producer of its own — a new producer id, sequences from 0 — and
publishes the round again with it (at least once: consumers drop what went out twice).

Under load the relay does not wait for the mark before its next round: a round's acknowledged
records are marked sent in the background while the next round reads and publishes the records
committed since (its query leaves out the records being marked, so nothing is published twice by
a running relay; at most one mark is under way). A wake-up by a commit of this process whose
records an earlier round already read does not cost a query.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import ASCENDING
from pymongo.errors import PyMongoError
from aiokafka.errors import KafkaError

from contracts.envelope import CloudEvent
from contracts.topics import topic_for
from runtime import metrics
from runtime.kafka import LOST_SEQUENCE, renewed_producer
from runtime.lease import Lease
from runtime.mongo import OUTBOX, Database, Transaction, utcnow

log = logging.getLogger(__name__)

PENDING, SENT = "pending", "sent"
LEASE = "outbox_lease"
SENT_RETENTION = timedelta(days=7)


async def append_to_outbox(tx: Transaction) -> list[str]:
    """Write the events ``tx`` recorded to the outbox, in its transaction; return the records' ids."""
    now = utcnow()
    records = []
    for position, event in enumerate(tx.events):
        envelope = CloudEvent.from_domain(event, source=tx.source, correlation_id=tx.correlation_id,
                                          causation_id=tx.causation_id, time=now)
        records.append({
            "_id": envelope.id,
            "aggregatetype": event.aggregate_type,
            "aggregateid": event.aggregate_id,
            "type": event.event_type,
            "payload": envelope.data,
            "topic": topic_for(event.event_type).name,
            "correlationid": envelope.correlationid,
            "causationid": envelope.causationid,
            "created_at": now,
            "position": position,
            "status": PENDING,
        })
    await tx.db[OUTBOX].insert_many(records, session=tx.session, ordered=True)
    tx.events.clear()
    return [r["_id"] for r in records]


def envelope_of(record: dict[str, Any], source: str) -> CloudEvent:
    return CloudEvent(id=record["_id"], source=source, type=record["type"], subject=record["aggregateid"],
                      time=record["created_at"], data=record["payload"],
                      correlationid=record.get("correlationid"), causationid=record.get("causationid"))


async def ensure_outbox_indexes(db: Database) -> None:
    await db[OUTBOX].create_index([("status", ASCENDING), ("created_at", ASCENDING), ("position", ASCENDING)],
                                  name="pending_in_order")
    try:
        await db[OUTBOX].create_index("published_at", expireAfterSeconds=int(SENT_RETENTION.total_seconds()),
                                      name="sent_ttl")
    except PyMongoError as exc:  # a server without TTL indexes keeps sent records; not fatal
        log.warning("outbox TTL index not created: %s", exc)


class OutboxRelay:
    """Publishes the outbox to Kafka. ``after_publish`` is a fault-injection hook for tests."""

    def __init__(self, db: Database, producer: AIOKafkaProducer, *, batch_size: int = 500,
                 poll_interval: float = 0.2, lease_seconds: float = 10.0, coalesce: float = 0.05,
                 after_publish: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None) -> None:
        self.db = db
        self.producer = producer
        self.service = db.settings.service_name
        self.source = db.settings.source
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.coalesce = coalesce
        self.after_publish = after_publish
        self.lease = Lease(db[LEASE], "relay", seconds=lease_seconds, previous_field="until")
        self.own_producer = False  # True once the relay replaced the one it was given (it stops its own)
        self._wake = asyncio.Event()
        self._stopping = False
        self._marking: asyncio.Task | None = None  # the mark of the last round's records, under way
        self._unmarked: set[str] = set()  # their ids: acknowledged by the broker, not yet marked sent
        self._expected: set[str] = set()  # ids committed by this process and not yet read by a round
        self._read: dict[str, None] = {}  # ids the last rounds read (a late notification of one is not news)

    def notify(self, ids: list[str] | None = None) -> None:
        """Called after each commit (with the ids of the records it wrote): publish now rather than at
        the next poll."""
        if ids is None:
            self._expected.add("")  # unknown records: the next round reads the outbox
        else:
            self._expected.update(i for i in ids if i not in self._read)
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        last_gauges = 0.0
        loop = asyncio.get_running_loop()
        woken = False  # by a commit of this process (else: the first round, or the poll's timeout)
        try:
            while not self._stopping:
                published = 0
                round_started = loop.time()
                try:
                    if await self.lease.hold():
                        if woken and not self._expected:
                            pass  # every record committed here since was read already: no query
                        else:
                            published = await self.publish_pending(mark_later=True)
                    if loop.time() - last_gauges > 2.0:
                        await self.update_gauges()
                        last_gauges = loop.time()
                except LOST_SEQUENCE as exc:
                    log.error("outbox relay: %r: the broker lost this producer's sequence (it restarted); "
                              "publishing again with a new producer", exc)
                    await self.renew_producer()
                    woken = False
                    continue
                except (PyMongoError, KafkaError, OSError) as exc:
                    log.warning("outbox relay: %s; retrying", exc)
                    await asyncio.sleep(1.0)
                    woken = False
                    continue
                woken = False
                if published < self.batch_size:  # caught up: wait for a commit or the next poll
                    try:
                        await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                        woken = True
                    except asyncio.TimeoutError:
                        pass
                    self._wake.clear()
                    # Under load, let commits accumulate a little: fewer, larger rounds on the database.
                    # ``coalesce`` is the shortest period between the starts of two rounds, not a pause
                    # added after each: a round that already took that long (find, acks) goes on at
                    # once, and the last commits of a burst wait at most one period.
                    await asyncio.sleep(max(0.0, self.coalesce - (loop.time() - round_started)))
        finally:
            try:
                await self._marked()
            except PyMongoError as exc:  # published, not marked: published again after the restart
                log.warning("outbox relay: last records not marked sent (%s)", exc)
            if self._stopping and self.lease.held:  # a clean stop: another relay takes over at once
                await self.lease.release()
            if self.own_producer:
                await self.producer.stop()

    async def renew_producer(self) -> None:
        """Publish with a new producer (a new producer id) from now on. The one the relay was given is
        left to its owner (the platform's); one the relay made itself is stopped."""
        self.producer = await renewed_producer(self.db.settings, self.producer, owned=self.own_producer)
        self.own_producer = True

    async def publish_pending(self, *, mark_later: bool = False) -> int:
        """Publish one batch of pending records, in order; return how many.

        The records are marked sent once the broker acknowledged them all; with ``mark_later``
        (the relay's loop) the mark goes on in the background and this returns at the acks: the
        next call leaves those records out of its query, and waits for that mark before starting
        its own. Otherwise they are marked when this returns."""
        self._expected.clear()  # what this query reads (a notification after it adds to it again)
        query: dict[str, Any] = {"status": PENDING}
        if self._marking is not None and self._marking.done():
            await self._marked()  # its failure (the database away) surfaces here, and the round is retried
        if self._unmarked:
            query["_id"] = {"$nin": list(self._unmarked)}
        records = await self.db[OUTBOX].find(query).sort(
            [("created_at", ASCENDING), ("position", ASCENDING)]).limit(self.batch_size).to_list()
        for record in records:
            self._read[record["_id"]] = None
            self._expected.discard(record["_id"])
        while len(self._read) > 4 * self.batch_size:  # the ids of the last few rounds are enough
            del self._read[next(iter(self._read))]
        if not records:
            return 0
        # The last round's mark must have succeeded before this round publishes: if it failed, its
        # records go out again before any later one (the failure is raised, the round retried).
        await self._marked()
        futures = []
        for record in records:
            envelope = envelope_of(record, self.source)
            futures.append(await self.producer.send(record["topic"], value=envelope.kafka_value(),
                                                    key=envelope.kafka_key(), headers=envelope.kafka_headers()))
        await asyncio.gather(*futures)  # acknowledged by the broker (acks=all)
        if self.after_publish is not None:
            await self.after_publish(records)
        ids = [r["_id"] for r in records]
        self._unmarked.update(ids)
        self._marking = asyncio.create_task(self._mark_sent(ids), name="outbox-mark-sent")
        for record in records:
            metrics.MESSAGES_PUBLISHED.labels(self.service, record["topic"]).inc()
        if not mark_later:
            await self._marked()
        return len(records)

    async def _mark_sent(self, ids: list[str]) -> None:
        await self.db[OUTBOX].update_many({"_id": {"$in": ids}}, {"$set": {"status": SENT, "published_at": utcnow()}})

    async def _marked(self) -> None:
        """Wait for the mark under way. If it failed, its records are read and published again by a
        later round (at least once: consumers drop the duplicates), and the failure is raised."""
        task, self._marking = self._marking, None
        if task is None:
            return
        try:
            await task
        finally:
            self._unmarked.clear()

    async def update_gauges(self) -> None:
        backlog = await self.db[OUTBOX].count_documents({"status": PENDING})
        metrics.OUTBOX_BACKLOG.labels(self.service).set(backlog)
        age = 0.0
        if backlog:
            oldest = await self.db[OUTBOX].find_one({"status": PENDING}, sort=[("created_at", ASCENDING)])
            if oldest is not None:
                age = max(0.0, (utcnow() - oldest["created_at"]).total_seconds())
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(age)

    async def drain(self, timeout: float = 30.0) -> None:
        """Publish until nothing is pending (used by the CLI and the tests)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while await self.publish_pending():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("outbox not drained in time")
