"""Kafka clients of the platform (aiokafka) and topic creation from the catalogue."""
from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber, TopicAlreadyExistsError

from contracts.topics import Topic, all_topics
from runtime.settings import Settings

log = logging.getLogger(__name__)


def make_producer(settings: Settings, **overrides) -> AIOKafkaProducer:
    options = dict(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"cress-{settings.service_name}",
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=2,
        request_timeout_ms=15000,
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


# A broker that restarted may have forgotten an idempotent producer's sequence numbers: every send of that
# producer then fails with this, and no retry of the same producer fixes it (``make chaos`` found it).
LOST_SEQUENCE = (OutOfOrderSequenceNumber,)


async def renewed_producer(settings: Settings, old: AIOKafkaProducer, *, owned: bool) -> AIOKafkaProducer:
    """A started new producer (a new producer id, sequences from 0) to replace ``old`` after
    :data:`LOST_SEQUENCE`; ``old`` is stopped if ``owned`` (one made by the caller itself), else left to
    its owner (the platform's shared producer)."""
    fresh = make_producer(settings)
    await fresh.start()
    if owned:
        try:
            await old.stop()
        except KafkaError as exc:  # a producer in that state may fail to flush
            log.warning("a replaced Kafka producer did not stop cleanly (%s)", exc)
    return fresh


def topic_request(topic: Topic, settings: Settings) -> NewTopic:
    """The creation request of ``topic``: its partitions and configuration (contracts/topics.py), the
    replication factor and, when set, ``min.insync.replicas`` of the settings (production: 3 and 2)."""
    configs = dict(topic.config)
    if settings.kafka_min_insync_replicas is not None:
        configs["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
    return NewTopic(topic.name, num_partitions=topic.partitions,
                    replication_factor=settings.kafka_replication_factor, topic_configs=configs)


async def ensure_topics(settings: Settings, topics: list[Topic] | None = None, *, timeout: float = 60.0) -> list[str]:
    """Create the catalogue's topics that do not exist yet; return the names created.

    Idempotent: existing topics are left as they are. Runs at start-up, before any consumer
    subscribes (a consumer of a missing topic may wait long for its assignment).
    """
    topics = all_topics() if topics is None else topics
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                client_id=f"cress-{settings.service_name}-admin", request_timeout_ms=15000)
    await asyncio.wait_for(admin.start(), timeout)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        created = []
        for topic in missing:  # one by one: a concurrent creator makes only its own request fail
            new = topic_request(topic, settings)
            try:
                result = await admin.create_topics([new])
                errors = [e for e in getattr(result, "topic_errors", []) if e[1] not in (0, 36)]
                if errors:
                    raise RuntimeError(f"creating topic {topic.name}: {errors}")
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("created topics %s", ", ".join(created))
        await _wait_for_metadata(admin, [t.name for t in topics], timeout)
        return created
    finally:
        await admin.close()


async def _wait_for_metadata(admin: AIOKafkaAdminClient, names: list[str], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        existing = set(await admin.list_topics())
        if all(n in existing for n in names):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics not visible after creation: {sorted(set(names) - existing)}")
        await asyncio.sleep(0.2)


async def ping(producer: AIOKafkaProducer, timeout: float = 2.0) -> None:
    """Raise unless the broker answers a metadata request in time."""
    ok = await asyncio.wait_for(producer.client.force_metadata_update(), timeout)
    if not ok:
        raise ConnectionError("Kafka did not answer the metadata request")
