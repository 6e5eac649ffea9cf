"""The subscriber kit for internal apps: FastStream subscribers by event class.

Install ``cress-contracts[faststream]`` (``make contracts-wheel``), then::

    from contracts.envelope import CloudEvent
    from contracts.faststream import EventApp
    from contracts.membership import MemberActivated

    app = EventApp("notifier")                 # the consumer group; KAFKA_BOOTSTRAP_SERVERS

    @app.subscriber(MemberActivated)
    async def welcome(event: MemberActivated, envelope: CloudEvent) -> None:
        ...                                    # raise to have it retried, then dead-lettered

    application = app.application              # `faststream run my_app:application`

What the kit does for every subscription:

- the topic comes from the catalogue (:func:`contracts.topics.topic_for`), the consumer group is
  the app's name (or ``group=``: ``"<app>.<group>"``); the platform owns its topics: the kit never
  creates one;
- records are consumed in batches (FastStream ``batch=True``, up to ``batch_size``); CloudEvents in
  Kafka binary mode (``ce_*`` headers, JSON value) are parsed by a FastStream decoder into
  :class:`Delivery` (the typed event and its envelope); events of other types on the same topic
  are skipped;
- the handler runs once per event, in the order of each partition (or once per batch of events,
  ``batch=True``: ``async def handler(deliveries: list[Delivery])``); a failure is retried after
  ``retry_delay`` seconds, doubling, up to ``max_attempts`` attempts; an event that still fails,
  or a record that is not a valid CloudEvent of a known type, is published to the platform's
  dead-letter topic (``<topic>.dlq``) with the headers the services write
  (:mod:`contracts.deadletter`), so ``make deadletters`` lists it and replays it;
- the batch's offsets are committed once, after every handler has returned or its event has been
  dead-lettered (FastStream ``AckPolicy.NACK_ON_ERROR``: one commit per batch, never one per
  message; if a dead letter cannot be written, the consumer goes back to the batch's first record):
  **at least once** — after a crash or a stop mid-batch the uncommitted events come again, so a
  handler deduplicates by ``envelope.id`` when doing it twice matters;
- FastStream's per-message log lines are at DEBUG (quiet by default).

FastStream is imported only by this module: the rest of :mod:`contracts` needs pydantic alone.
"""
from __future__ import annotations

import asyncio
import logging
import os
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.base import DomainEvent
from contracts.deadletter import dead_letter_headers
from contracts.envelope import CloudEvent, EnvelopeError
from contracts.topics import DLQ_SUFFIX, topic_for

try:
    from aiokafka import AIOKafkaProducer
    from faststream import FastStream
    from faststream.kafka import KafkaBroker
    from faststream.kafka.schemas import Topic as KafkaTopic
    from faststream.middlewares import AckPolicy
    from faststream.specification import AsyncAPI
    from pydantic import SkipValidation
except ImportError as exc:  # pragma: no cover — the base wheel without the extra
    raise ImportError("contracts.faststream needs FastStream: pip install 'cress-contracts[faststream]'") from exc

__all__ = ["Delivery", "EventApp", "Reject"]

log = logging.getLogger("cress.kit")

EventHandler = Callable[[Any, CloudEvent], Awaitable[None]]
BatchHandler = Callable[[list["Delivery"]], Awaitable[None]]


class Reject(Exception):
    """Raise from a handler for a failure no retry can fix: the event goes straight to the dead letters."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One Kafka record as the decoder read it: the typed event and its CloudEvents envelope, or the
    reason it could not be read (``error``: a poison message, dead-lettered without calling a handler)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    event: DomainEvent | None = None
    envelope: CloudEvent | None = None
    error: EnvelopeError | None = None


@dataclass
class _Handler:
    call: Callable[..., Awaitable[None]]
    batch: bool
    name: str


@dataclass
class _Route:
    """One FastStream batch subscriber: a consumer group on one topic, its handlers by event type."""

    group: str
    topic: str
    from_beginning: bool
    handlers: dict[str, _Handler] = field(default_factory=dict)
    events: list[type[DomainEvent]] = field(default_factory=list)
    subscriber: Any = None


class EventApp:
    """An internal app's subscriptions to the platform's events, on one FastStream Kafka broker."""

    def __init__(self, name: str, *, bootstrap_servers: str | None = None, max_attempts: int = 3,
                 retry_delay: float = 0.5, batch_size: int = 500, batch_timeout_ms: int = 200,
                 logger: logging.Logger | None = None, graceful_timeout: float = 10.0) -> None:
        """``name``: the app's name, its consumer group (and the prefix of its other groups).
        ``bootstrap_servers``: default ``KAFKA_BOOTSTRAP_SERVERS`` (else ``127.0.0.1:9092``)."""
        if not name or any(c.isspace() for c in name):
            raise ValueError(f"app name {name!r}: a non-empty name without spaces (it names the consumer group)")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = name
        self.bootstrap_servers = bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.batch_size = batch_size
        self.batch_timeout_ms = batch_timeout_ms
        self.logger = logger or logging.getLogger(f"cress.kit.{name}")
        self.broker = KafkaBroker(self.bootstrap_servers, client_id=f"cress-{name}", logger=self.logger,
                                  log_level=logging.DEBUG, graceful_timeout=graceful_timeout,
                                  description=f"Internal app {name} of the CRESS platform (subscriber kit).")
        self._routes: dict[tuple[str, str], _Route] = {}
        self._built = False
        self._application: FastStream | None = None
        self._producer: AIOKafkaProducer | None = None
        self._producer_lock = asyncio.Lock()
        #: dead letters written by this process (for tests and operators' logs): (dlq topic, Delivery, error)
        self.dead_lettered: list[tuple[str, Delivery, BaseException]] = []

    # -- declaring -------------------------------------------------------------------------------
    def group_id(self, group: str | None = None) -> str:
        return self.name if group is None else f"{self.name}.{group}"

    def subscriber(self, *events: type[DomainEvent], group: str | None = None, batch: bool = False,
                   from_beginning: bool = False) -> Callable[[Callable], Callable]:
        """Decorate ``async def handler(event, envelope)`` (or, ``batch=True``,
        ``async def handler(deliveries: list[Delivery])``) to handle ``events``.

        ``group``: another consumer group of this app (``"<app>.<group>"``), e.g. for a handler that
        must not wait behind another one. ``from_beginning``: a new group starts at the oldest
        retained event instead of the newest (then committed offsets rule).
        """
        if not events:
            raise ValueError("subscriber() needs at least one event class")
        if self._built:
            raise RuntimeError("subscriptions are declared before the app starts or its AsyncAPI is generated")
        for event in events:
            if not (isinstance(event, type) and issubclass(event, DomainEvent) and hasattr(event, "event_type")):
                raise TypeError(f"{event!r} is not an event class of the contracts")

        def register(func: Callable) -> Callable:
            if not asyncio.iscoroutinefunction(func):
                raise TypeError(f"{func.__name__}: handlers are `async def`")
            for event in events:
                gid = self.group_id(group)
                topic = topic_for(event.event_type).name
                route = self._routes.setdefault((gid, topic), _Route(gid, topic, from_beginning))
                if route.from_beginning != from_beginning:
                    raise ValueError(f"{gid} on {topic}: from_beginning differs between its subscriptions")
                if event.event_type in route.handlers:
                    raise ValueError(f"{gid} already handles {event.event_type}")
                route.handlers[event.event_type] = _Handler(func, batch, func.__name__)
                route.events.append(event)
            return func

        return register

    # -- FastStream ------------------------------------------------------------------------------
    def _build(self) -> None:
        if self._built:
            return
        if not self._routes:
            raise RuntimeError(f"app {self.name} subscribes to nothing")
        for route in self._routes.values():
            self._subscribe(route)
        self._built = True

    def _subscribe(self, route: _Route) -> None:
        wanted = frozenset(route.handlers)

        async def decode(message: Any) -> list[Delivery]:
            return [_decode_record(record, wanted) for record in message.raw_message]

        payload = typing.Union[tuple(route.events)] if len(route.events) > 1 else route.events[0]

        async def handle(events):  # the decoder's list[Delivery], as is
            await self._dispatch(route, events)

        # For the AsyncAPI document: the event models' schemas; SkipValidation: FastStream passes
        # the decoder's deliveries untouched (no second validation of each event).
        handle.__annotations__ = {"events": SkipValidation[list[payload]], "return": None}
        handle.__name__ = f"{route.group}:{route.topic}".replace(".", "_").replace(":", "__").replace("-", "_")
        subscriber = self.broker.subscriber(
            KafkaTopic(route.topic, declare=False), batch=True, group_id=route.group,
            max_records=self.batch_size, batch_timeout_ms=self.batch_timeout_ms,
            auto_offset_reset="earliest" if route.from_beginning else "latest",
            ack_policy=AckPolicy.NACK_ON_ERROR, decoder=decode, title=f"{route.group}:{route.topic}",
            description=f"Consumer group {route.group} reads {', '.join(sorted(route.handlers))} "
                        f"(CloudEvents binary mode; other types skipped; failures to {route.topic}{DLQ_SUFFIX}).")
        subscriber(handle)
        route.subscriber = subscriber

    @property
    def application(self) -> FastStream:
        """The FastStream application (``faststream run module:application``)."""
        if self._application is None:
            self._build()
            self._application = FastStream(self.broker, logger=self.logger)
            self._application.after_shutdown(self._close_producer)
        return self._application

    def asyncapi(self, *, title: str | None = None, version: str = "1.0.0") -> dict[str, Any]:
        """The app's AsyncAPI 3.0 document, as FastStream generates it."""
        self._build()
        spec = AsyncAPI(self.broker, title=title or f"CRESS internal app: {self.name}", version=version,
                        description=f"What {self.name} consumes from the CRESS platform (cress-contracts kit).",
                        schema_version="3.0.0")
        return spec.to_specification().to_jsonable()

    async def start(self) -> None:
        """Start consuming (for embedding the app in a program or a test; ``run()`` otherwise)."""
        self._build()
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()
        await self._close_producer()

    async def run(self) -> None:
        """Run until SIGINT/SIGTERM, as ``faststream run`` does."""
        await self.application.run()

    async def wait_assigned(self, timeout: float = 60.0) -> None:
        """Wait until every subscription has its partitions and their start offsets (after ``start``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for route in self._routes.values():
            while not (route.subscriber.consumer and route.subscriber.consumer.assignment()):
                if loop.time() > deadline:
                    raise TimeoutError(f"{route.group} on {route.topic}: no partition assigned after {timeout}s")
                await asyncio.sleep(0.05)
            consumer = route.subscriber.consumer
            await asyncio.wait_for(asyncio.gather(*(consumer.position(tp) for tp in consumer.assignment())),
                                   max(0.1, deadline - loop.time()))

    # -- handling --------------------------------------------------------------------------------
    async def _dispatch(self, route: _Route, deliveries: list[Delivery]) -> None:
        """Every delivery handled or dead-lettered, in order; a run of events for one batch handler
        goes to it in one call."""
        i = 0
        while i < len(deliveries):
            d = deliveries[i]
            if d.error is not None:
                await self._dead_letter(route, d, d.error, 1)
                i += 1
                continue
            if d.envelope is None:  # another type on this topic
                i += 1
                continue
            handler = route.handlers[d.envelope.type]
            if not handler.batch:
                await self._with_retries(route, d, handler, lambda h=handler, d=d: h.call(d.event, d.envelope))
                i += 1
                continue
            run = [d]
            i += 1
            while i < len(deliveries) and deliveries[i].envelope is not None and deliveries[i].error is None \
                    and route.handlers[deliveries[i].envelope.type] is handler:
                run.append(deliveries[i])
                i += 1
            try:
                await handler.call(run)
            except Exception as exc:  # noqa: BLE001 — one by one, each retried, as the services' consumers do
                self.logger.info("%s: %s failed for a batch of %d (%s); one by one", route.group, handler.name,
                                 len(run), exc)
                for one in run:
                    await self._with_retries(route, one, handler, lambda h=handler, one=one: h.call([one]))

    async def _with_retries(self, route: _Route, d: Delivery, handler: _Handler,
                            call: Callable[[], Awaitable[None]]) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                await call()
                return
            except Reject as exc:
                await self._dead_letter(route, d, exc, attempt)
                return
            except Exception as exc:  # noqa: BLE001 — retried, then dead-lettered
                if attempt == self.max_attempts:
                    await self._dead_letter(route, d, exc, attempt)
                    return
                self.logger.warning("%s: %s failed on %s (attempt %d/%d): %s", route.group, handler.name,
                                    d.envelope.id if d.envelope else "?", attempt, self.max_attempts, exc)
                await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))

    async def _dead_letter(self, route: _Route, d: Delivery, error: BaseException, attempts: int) -> None:
        dlq = d.topic + DLQ_SUFFIX
        producer = await self._dead_letter_producer()
        await producer.send_and_wait(dlq, value=d.value, key=d.key, headers=dead_letter_headers(
            topic=d.topic, partition=d.partition, offset=d.offset, headers=d.headers, consumer=route.group,
            error=error, attempts=attempts))
        self.dead_lettered.append((dlq, d, error))
        self.logger.error("%s: %s[%d]@%d dead-lettered to %s after %d attempt(s): %s", route.group, d.topic,
                          d.partition, d.offset, dlq, attempts, error)

    async def _dead_letter_producer(self) -> AIOKafkaProducer:
        async with self._producer_lock:
            if self._producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, client_id=f"cress-{self.name}-dlq",
                                            acks="all")
                await producer.start()
                self._producer = producer
            return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


def _decode_record(record: Any, wanted: frozenset[str]) -> Delivery:
    """One Kafka record → a :class:`Delivery` (the kit's FastStream decoder, per record)."""
    headers = tuple(record.headers or ())
    base = dict(topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
                value=record.value, headers=headers)
    try:
        envelope = CloudEvent.from_kafka(headers, record.value)
        if envelope.type not in wanted:
            return Delivery(**base)
        return Delivery(**base, event=envelope.to_domain(), envelope=envelope)
    except EnvelopeError as exc:
        return Delivery(**base, error=exc)


def decode_records(records: Sequence[Any], events: Sequence[type[DomainEvent]]) -> list[Delivery]:
    """Decode Kafka records as the kit's subscribers do (for tests and tools)."""
    wanted = frozenset(e.event_type for e in events)
    return [_decode_record(r, wanted) for r in records]
