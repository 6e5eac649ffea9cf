"""Idempotent, at-least-once consumers with retries and a dead-letter topic.

A :class:`Consumer` is one Kafka consumer group reading the topics its subscriptions need.
Each service lists its consumers, one line per subscription, in ``services/<name>/bootstrap.py``
(e.g. membership's yearly-statistics projection)::

    Consumer("yearly-statistics", [
        Subscription(MemberActivated, projections.on_member_activated),
        Subscription(DuesInvoiced, projections.on_dues_invoiced),
    ])

A handler is ``async def handler(event, tx, envelope)``: it writes through ``tx`` (and may call
a command with ``within=tx``), so its writes, the events it records and the processed-event
record commit together.

For each batch of records (what one fetch returned, every partition's records in their order):

1. the batch is handled in one MongoDB transaction: for each event not yet in the
   ``processed_events`` record of this consumer, the handler runs, and the (consumer, event id)
   records are inserted in the same transaction — a duplicate delivery changes nothing;
2. if anything fails, the batch is handled again one record at a time, each retried with
   exponential backoff (tenacity) up to ``CONSUMER_MAX_ATTEMPTS``; a record that still fails
   is published to the dead-letter topic ``<topic>.dlq`` with the error and its original
   coordinates in ``dlq_*`` headers;
3. a record that is not a valid CloudEvent of a known type is dead-lettered at once, once the rest
   of its batch is durable: it cannot succeed, so it neither costs retries nor sends its batch
   one by one (a fetch of 400 records with a poisoned one took 65 s one by one in ``make chaos``);
4. only then is the offset committed: offsets never run ahead of durable writes; a fetch that
   could not be made durable is fetched again (its partitions are rewound to its first record).

Fetching is FastStream's (``faststream.kafka``): one batch subscriber per consumer group
(``batch=True``, up to ``CONSUMER_BATCH_SIZE`` records a fetch, ``AckPolicy.MANUAL``), whose handler
is :meth:`Consumer.take` — FastStream fetches, the runtime decides when a fetch is durable and commits
it. Chosen by measurement (``make bench``, README "The services' consumers"): FastStream's batch
subscriber is as fast as the hand-written aiokafka loop it replaces.

Start-up does not wait for Kafka: :meth:`Consumer.run` joins the group itself (the group's
rebalance takes seconds; a broker away at start is tried again with growing delays), so a
service's HTTP API is ready as soon as its database is.

Watching: a watchdog exports each assigned partition's lag (``cress_consumer_lag_messages``: the
partition's end offset less this group's last commit) every :data:`WATCH_EVERY` seconds, and logs a
consumer whose batch has not finished after :data:`STALL_AFTER` seconds (a write waiting on a lock,
a database away), with the partition, the batch's size and how long it has waited.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.schemas import Topic as KafkaTopic
from faststream.middlewares import AckPolicy
from pydantic import SkipValidation
from pymongo.errors import ConnectionFailure, DuplicateKeyError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from contracts.base import DomainEvent
from contracts.deadletter import dead_letter_headers as contract_dead_letter_headers
from contracts.envelope import CloudEvent, EnvelopeError
from contracts.topics import topic_by_name, topic_for
from runtime import logging as log_context
from runtime import metrics
from runtime.kafka import LOST_SEQUENCE, renewed_producer
from runtime.mongo import PROCESSED, Database, Transaction, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[Any, Transaction, CloudEvent], Awaitable[None]]
OUTCOMES = ("processed", "duplicate", "dead_lettered")  # of cress_messages_consumed_total
WATCH_EVERY = 5.0  # seconds between two lag exports
STALL_AFTER = 30.0  # seconds a batch may take before the consumer is logged as stalled
FETCH_WAIT_MS = 100  # a fetch waits this long for records; FastStream sleeps as long again after an empty one
REFETCH_AFTER = 1.0  # seconds before a fetch that could not be written is fetched again
GRACEFUL_STOP = 10.0  # seconds a batch in hand may take to finish when the service stops


class _FastStreamNoise(logging.Filter):
    """Drops two lines FastStream writes on every start and stop that say nothing here: the platform
    creates its topics itself (:func:`runtime.kafka.ensure_topics`), and a task callback ran."""

    NOISE = ("Topic creation is skipped", "callback for ")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.NOISE)


# FastStream's own log lines (a line per fetch at DEBUG; assignments, errors): under this module's logger
_faststream_log = logging.getLogger(f"{__name__}.faststream")
_faststream_log.addFilter(_FastStreamNoise())


async def _records(message: Any) -> tuple[ConsumerRecord, ...]:
    """The FastStream decoder of the services' consumers: the fetch's records as aiokafka gave them
    (each is decoded and validated once, by :meth:`Consumer._decode`, inside the batch)."""
    return message.raw_message


@dataclass(frozen=True)
class Subscription:
    """Handle ``event`` (a contract model) with ``handler(event, tx, envelope)``."""

    event: type[DomainEvent]
    handler: Handler


class PermanentError(Exception):
    """A failure no retry can fix (the message goes straight to the dead-letter topic)."""


def dead_letter_headers(record: ConsumerRecord, consumer: str, error: BaseException, attempts: int) -> list:
    """The record's headers and the ``dlq_*`` ones (:mod:`contracts.deadletter`: the FastStream kit writes the same)."""
    return contract_dead_letter_headers(topic=record.topic, partition=record.partition, offset=record.offset,
                                        headers=record.headers, consumer=consumer, error=error, attempts=attempts,
                                        failed_at=utcnow())


def _worth_retrying(exc: BaseException) -> bool:
    """Whether a record's failed attempt is tried again: any error but a message that cannot be read or
    handled (dead-lettered at once), a database down (waited for). Never a cancellation — the consumer
    being stopped (tenacity's attempt catches every exception, ``CancelledError`` included: retrying it
    swallowed the stop, and a consumer stopped while its database was closing ran on for ever)."""
    return isinstance(exc, Exception) and not isinstance(exc, (EnvelopeError, PermanentError, ConnectionFailure))


class Consumer:
    def __init__(self, name: str, subscriptions: list[Subscription], *, from_beginning: bool = True) -> None:
        """``from_beginning``: a new consumer group starts at the oldest retained event (rebuilds its
        projection from history); ``False`` starts at the end (only what happens from now on)."""
        if not subscriptions:
            raise ValueError(f"consumer {name!r} has no subscription")
        self.name = name
        self.from_beginning = from_beginning
        self.handlers: dict[str, Handler] = {}
        for sub in subscriptions:
            if sub.event.event_type in self.handlers:
                raise ValueError(f"consumer {name!r} subscribes twice to {sub.event.event_type}")
            self.handlers[sub.event.event_type] = sub.handler
        self.topics = sorted({topic_for(t).name for t in self.handlers})
        self._stopped = asyncio.Event()  # set by stop()
        self._own_producer = False  # whether self.producer is this consumer's own (made after the platform's broke)
        self._faststream: KafkaBroker | None = None
        self._subscriber: Any = None  # FastStream's batch subscriber; its .consumer is the aiokafka consumer
        self._committed: dict[TopicPartition, int] = {}  # this process's last commit per partition
        self._busy: tuple[list[TopicPartition], int, float] | None = None  # the batch in hand: partitions, size, since
        self._exported: set[TopicPartition] = set()  # partitions whose lag this process exports
        self._written = False  # a fetch written and committed by this process

    # -- wiring ------------------------------------------------------------------------
    def bind(self, db: Database, producer: AIOKafkaProducer, *, max_attempts: int = 5,
             retry_base: float = 0.2, batch_size: int = 500) -> Consumer:
        self.db = db
        self.producer = producer  # the platform's, for dead letters (replaced by one of its own if it breaks)
        self.service = db.settings.service_name
        self.group_id = f"{db.settings.mongodb_database}.{self.name}"  # offsets live with the writes
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.batch_size = batch_size
        for topic in self.topics:  # every series exists from the start, at 0: increase() sees the first one
            metrics.MESSAGES_FAILED.labels(self.service, self.name, topic)
            metrics.DEAD_LETTERS.labels(self.service, self.name, topic)
            for outcome in OUTCOMES:
                metrics.MESSAGES_CONSUMED.labels(self.service, self.name, topic, outcome)
        return self

    def _broker(self) -> tuple[KafkaBroker, Any]:
        """A FastStream broker with one batch subscriber: this consumer group on its topics.

        ``AckPolicy.MANUAL``: FastStream never commits on its own; :meth:`take` commits the fetch's
        offsets once its writes are durable, and rewinds the fetch's partitions when they are not."""
        settings = self.db.settings
        broker = KafkaBroker(settings.kafka_bootstrap_servers, client_id=f"cress-{self.group_id}",
                             consumer_only=True, logger=_faststream_log, log_level=logging.DEBUG,
                             graceful_timeout=GRACEFUL_STOP)
        subscriber = broker.subscriber(
            *(KafkaTopic(t, declare=False) for t in self.topics), batch=True, group_id=self.group_id,
            max_records=self.batch_size, batch_timeout_ms=FETCH_WAIT_MS, ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest" if self.from_beginning else "latest",
            group_instance_id=settings.kafka_group_instance, session_timeout_ms=settings.kafka_session_timeout_ms,
            decoder=_records, title=f"{self.service}:{self.name}")

        async def fetched(records: SkipValidation[Any]) -> None:  # one getmany: every partition's records
            batches: dict[TopicPartition, list[ConsumerRecord]] = {}
            for r in records:
                batches.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
            await self.take(batches)

        subscriber(fetched)
        return broker, subscriber

    async def start(self) -> None:
        """Start the FastStream broker: the consumer joins its group (:meth:`run` calls it when needed)."""
        broker, subscriber = self._broker()
        try:
            await broker.start()
        except BaseException:
            await broker.stop()
            raise
        self._faststream, self._subscriber = broker, subscriber

    @property
    def _kafka(self) -> AIOKafkaConsumer | None:
        """The subscriber's aiokafka consumer (assignment, positions, commits, end offsets)."""
        return self._subscriber.consumer if self._subscriber is not None else None

    async def _join(self) -> None:
        delay = 1.0
        while self._faststream is None and not self._stopped.is_set():
            try:
                await self.start()
            except (KafkaError, OSError) as exc:  # the broker is away: the API serves meanwhile
                log.warning("consumer %s: cannot join group %s (%s); trying again in %.0f s",
                            self.name, self.group_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def stop(self) -> None:
        self._stopped.set()

    async def wait_assigned(self, timeout: float = 60.0) -> None:
        """Wait until the group has given this consumer its partitions and their start offsets are
        known (the consumer must be started or running).

        An assignment alone is not enough: with ``auto_offset_reset="latest"`` the position is
        resolved afterwards, and events published in between would be skipped.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while not (self._kafka and self._kafka.assignment()):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"consumer {self.name}: no partition assigned after {timeout}s")
            await asyncio.sleep(0.05)
        remaining = max(0.1, deadline - asyncio.get_running_loop().time())
        await asyncio.wait_for(asyncio.gather(*(self._kafka.position(tp) for tp in self._kafka.assignment())),
                               remaining)

    async def close(self) -> None:
        """Stop the broker: a batch in hand may finish (up to :data:`GRACEFUL_STOP` seconds), then the
        consumer leaves its group."""
        if self._faststream is not None:
            await self._faststream.stop()  # the batch in hand commits through the subscriber's consumer
            self._faststream, self._subscriber = None, None
        if self._own_producer:
            await self.producer.stop()

    async def run(self) -> None:
        """Join the group (retrying while the broker is away), then watch until :meth:`stop`: FastStream's
        task fetches and calls :meth:`take` for each fetch."""
        await self._join()
        watchdog = asyncio.create_task(self._watch(), name=f"watch-{self.name}")
        try:
            await self._stopped.wait()
        finally:
            watchdog.cancel()

    async def take(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Handle what one fetch returned, then commit its offsets.

        One batch for all the fetch's partitions (each partition's records in their order): one
        transaction and one offset commit per fetch, not one of each per partition. The offsets are
        committed only once :meth:`process` returned, i.e. once the writes are durable. If it raised
        (the dead-letter topic unreachable, say), each partition is rewound to the fetch's first
        record: the next fetch brings them again, nothing is skipped."""
        kafka = self._kafka
        for tp, records in batches.items():  # what precedes a batch is committed (by whoever held it)
            self._committed[tp] = records[0].offset
        records = [r for part in batches.values() for r in part]
        self._busy = (list(batches), len(records), time.monotonic())
        try:
            await self.process(records)
        except BaseException as exc:
            self._busy = None
            for tp, part in batches.items():
                with contextlib.suppress(Exception):  # a partition revoked meanwhile: its next holder starts there
                    kafka.seek(tp, part[0].offset)
            if isinstance(exc, Exception):
                log.warning("consumer %s: a fetch of %d records not written (%s); fetching it again",
                            self.name, len(records), exc)
                await asyncio.sleep(REFETCH_AFTER)
            raise
        offsets = {tp: part[-1].offset + 1 for tp, part in batches.items()}
        await kafka.commit(offsets)
        self._committed.update(offsets)
        self._busy = None
        self._written = True

    async def _watch(self) -> None:
        stalled_logged = 0.0
        while True:
            await asyncio.sleep(WATCH_EVERY)
            try:
                await self.export_lag()
            except Exception as exc:  # noqa: BLE001 — a rebalance in between: next time
                log.debug("consumer %s: lag not exported: %s", self.name, exc)
            busy = self._busy
            if busy is not None and time.monotonic() - busy[2] > STALL_AFTER \
                    and time.monotonic() - stalled_logged > STALL_AFTER:
                stalled_logged = time.monotonic()
                tps, size, since = busy
                where = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in tps)
                log.warning("consumer %s: no progress on %s for %.0f s (a batch of %d records not yet written); "
                            "its lag grows", self.name, where, time.monotonic() - since, size)

    async def lag(self) -> dict[TopicPartition, int]:
        """Per assigned partition: messages at its end (asked of the broker now: the fetcher stops
        fetching while a batch is in hand) not yet committed by this group."""
        if self._kafka is None or not self._kafka.assignment():
            return {}
        assigned = list(self._kafka.assignment())
        ends = await asyncio.wait_for(self._kafka.end_offsets(assigned), WATCH_EVERY)
        lags = {}
        for tp in assigned:
            done = self._committed.get(tp)
            if done is None:  # nothing received yet: the group's commit, else its position (nothing pending)
                done = await self._kafka.committed(tp)
                if done is None:
                    done = await asyncio.wait_for(self._kafka.position(tp), WATCH_EVERY)
            lags[tp] = max(0, ends[tp] - done)
        return lags

    async def caught_up(self) -> bool:
        """Whether this process has caught up since it started: it wrote a fetch (the first one brings what
        was published while it was down, up to the batch size), or it has its partitions and nothing to read."""
        if self._written:
            return True
        if self._kafka is None or not self._kafka.assignment():
            return False
        return not any((await self.lag()).values())

    async def export_lag(self) -> None:
        lags = await self.lag()
        for tp, lag in lags.items():
            metrics.CONSUMER_LAG.labels(self.service, self.name, tp.topic, str(tp.partition)).set(lag)
        for tp in self._exported - set(lags):  # partitions another instance took over: theirs to export
            metrics.CONSUMER_LAG.remove(self.service, self.name, tp.topic, str(tp.partition))
        self._exported = set(lags)

    # -- processing --------------------------------------------------------------------
    async def process(self, records: list[ConsumerRecord]) -> None:
        """Handle the records (each partition's in order); return once all are durable."""
        decoded, poisoned = [], []
        for record in records:
            try:
                decoded.append((record, *self._decode(record)))
            except EnvelopeError as exc:
                poisoned.append((record, exc))
        try:
            await self._process_batch(decoded)
        except Exception as exc:  # noqa: BLE001 — fall back to one by one, with retries
            log.info("consumer %s: batch of %d failed (%s); handling one by one", self.name, len(decoded), exc)
            for record, envelope, event in decoded:
                await self._process_one(record, envelope, event)
        for record, error in poisoned:  # not retried: it would fail the same way
            metrics.MESSAGES_FAILED.labels(self.service, self.name, record.topic).inc()
            await self._dead_letter(record, error, 1)

    def _decode(self, record: ConsumerRecord) -> tuple[CloudEvent, DomainEvent | None]:
        envelope = CloudEvent.from_kafka(record.headers, record.value)
        if envelope.type not in self.handlers:
            return envelope, None
        return envelope, envelope.to_domain()

    def _key(self, envelope: CloudEvent) -> str:
        return f"{self.name}:{envelope.id}"

    async def _handle(self, tx: Transaction, record: ConsumerRecord, envelope: CloudEvent,
                      event: DomainEvent) -> dict:
        """Run the handler inside ``tx`` with the event's ids in the logs; return its processed record."""
        tx.causation_id, tx.correlation_id = envelope.id, envelope.correlationid
        tx.lane = f"{record.topic}:{record.partition}"
        tokens = log_context.event_id.set(envelope.id), log_context.correlation_id.set(envelope.correlationid)
        started = time.perf_counter()
        try:
            await self.handlers[envelope.type](event, tx, envelope)
        finally:
            log_context.event_id.reset(tokens[0])
            log_context.correlation_id.reset(tokens[1])
        metrics.HANDLER_DURATION.labels(self.service, self.name, record.topic).observe(time.perf_counter() - started)
        return {"_id": self._key(envelope), "consumer": self.name, "event_id": envelope.id, "type": envelope.type,
                "at": utcnow()}

    async def _process_batch(self, decoded: list[tuple[ConsumerRecord, CloudEvent, DomainEvent | None]]) -> None:
        wanted = [(r, env, ev) for r, env, ev in decoded if ev is not None]
        outcomes: Counter[tuple[str, str]] = Counter((r.topic, "ignored") for r, _, ev in decoded if ev is None)

        async def work(tx: Transaction) -> Counter[tuple[str, str]]:
            counts: Counter[tuple[str, str]] = Counter()
            keys = [self._key(env) for _, env, _ in wanted]
            seen = {d["_id"] async for d in tx.db[PROCESSED].find({"_id": {"$in": keys}}, {"_id": 1},
                                                                   session=tx.session)}
            fresh = []
            for record, envelope, event in wanted:
                if self._key(envelope) in seen:
                    counts[record.topic, "duplicate"] += 1
                    continue
                fresh.append(await self._handle(tx, record, envelope, event))
                seen.add(fresh[-1]["_id"])
                counts[record.topic, "processed"] += 1
            if fresh:
                await tx.db[PROCESSED].insert_many(fresh, session=tx.session)
            return counts

        if wanted:
            outcomes += await self.db.transaction(work)
        for (topic, outcome), n in outcomes.items():
            metrics.MESSAGES_CONSUMED.labels(self.service, self.name, topic, outcome).inc(n)

    async def _process_one(self, record: ConsumerRecord, envelope: CloudEvent, event: DomainEvent | None) -> None:
        """One decoded record, retried (:func:`_worth_retrying`), else dead-lettered; a database down is waited for."""
        while True:
            attempts = 0
            try:
                async for attempt in AsyncRetrying(
                        stop=stop_after_attempt(self.max_attempts),
                        wait=wait_exponential(multiplier=self.retry_base, max=30),
                        retry=retry_if_exception(_worth_retrying),
                        reraise=True):
                    with attempt:
                        attempts += 1
                        outcome = await self._handle_one(record, envelope, event)
                metrics.MESSAGES_CONSUMED.labels(self.service, self.name, record.topic, outcome).inc()
                return
            except ConnectionFailure as exc:  # the database is down: wait for it, the message is fine
                log.warning("consumer %s: database unreachable (%s); waiting", self.name, exc)
                await asyncio.sleep(1.0)
            except Exception as exc:  # noqa: BLE001 — every other failure ends in the dead-letter topic
                await self._dead_letter(record, exc, attempts)
                return

    async def _handle_one(self, record: ConsumerRecord, envelope: CloudEvent, event: DomainEvent | None) -> str:
        if event is None:
            return "ignored"

        async def work(tx: Transaction) -> str:
            if await tx.db[PROCESSED].find_one({"_id": self._key(envelope)}, {"_id": 1}, session=tx.session):
                return "duplicate"
            await tx.db[PROCESSED].insert_one(await self._handle(tx, record, envelope, event), session=tx.session)
            return "processed"

        try:
            return await self.db.transaction(work, correlation_id=envelope.correlationid, causation_id=envelope.id)
        except DuplicateKeyError:
            return "duplicate"  # another instance recorded it concurrently
        except Exception as exc:
            metrics.MESSAGES_FAILED.labels(self.service, self.name, record.topic).inc()
            log.warning("consumer %s: %s failed: %s", self.name, envelope.type, exc, extra={"event_id": envelope.id})
            raise

    async def _dead_letter(self, record: ConsumerRecord, error: BaseException, attempts: int) -> None:
        dlq = topic_by_name(record.topic).dead_letter.name
        headers = dead_letter_headers(record, self.name, error, attempts)
        try:
            await self.producer.send_and_wait(dlq, value=record.value, key=record.key, headers=headers)
        except LOST_SEQUENCE as exc:  # the broker restarted: a producer of this consumer's own, then again
            log.error("consumer %s: %r writing a dead letter: the broker lost the producer's sequence (it "
                      "restarted); writing it with a new producer", self.name, exc)
            self.producer = await renewed_producer(self.db.settings, self.producer, owned=self._own_producer)
            self._own_producer = True
            await self.producer.send_and_wait(dlq, value=record.value, key=record.key, headers=headers)
        metrics.DEAD_LETTERS.labels(self.service, self.name, record.topic).inc()
        metrics.MESSAGES_CONSUMED.labels(self.service, self.name, record.topic, "dead_lettered").inc()
        log.error("consumer %s: %s[%d]@%d dead-lettered after %d attempt(s): %s", self.name, record.topic,
                  record.partition, record.offset, attempts, error)

