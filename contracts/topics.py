"""The topic catalogue: every Kafka topic of the platform, in one list.

One topic per aggregate type: its key is the aggregate id, so the events of one aggregate
keep their order. The event types a topic carries are derived from the event registry
(every event of that service and aggregate type), so a new event cannot be forgotten here.
Each topic has a dead-letter sibling (``<name>.dlq``) for the messages its consumers
could not handle. Topics are created from this list at start-up, idempotently, before any
consumer subscribes (:func:`runtime.kafka.ensure_topics`).

Each service's contracts module declares its own topics (``TOPICS``); :func:`catalogue`
gathers them from every service (:func:`contracts.base.service_contracts`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from contracts.base import registered_events, service_contracts

DAY_MS = 24 * 3600 * 1000
FOREVER = -1
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    service: str  # the owning service: the only one that publishes to it
    aggregate_type: str  # the key is this aggregate's id
    partitions: int = 6
    retention_ms: int = FOREVER  # the event log is kept: projections can be rebuilt from it
    description: str = ""
    cleanup_policy: str = "delete"  # "compact": only the last record of each key is kept

    @property
    def key(self) -> str:
        return f"{self.aggregate_type} id"

    @property
    def event_types(self) -> list[str]:
        return [t for t, cls in registered_events().items()
                if t.split(".")[2] == self.service and cls.aggregate_type == self.aggregate_type]

    @property
    def dead_letter(self) -> Topic:
        return Topic(name=self.name + DLQ_SUFFIX, service=self.service, aggregate_type=self.aggregate_type,
                     partitions=1, retention_ms=30 * DAY_MS,
                     description=f"Dead letters of the consumers of {self.name}.")

    @property
    def config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy}


@cache
def catalogue() -> tuple[Topic, ...]:
    """Every service's topics (dead letters aside), by service then as each service lists them."""
    topics: list[Topic] = []
    for service, module in service_contracts().items():
        for topic in module.TOPICS:
            if topic.service != service:
                raise ValueError(f"topic {topic.name} of contracts.{service} is owned by {topic.service!r}")
            topics.append(topic)
    names = [t.name for t in topics]
    if len(names) != len(set(names)):
        raise ValueError(f"a topic is declared twice: {sorted(n for n in names if names.count(n) > 1)}")
    return tuple(topics)


def all_topics(*, with_dead_letters: bool = True) -> list[Topic]:
    topics = list(catalogue())
    if with_dead_letters:
        topics += [t.dead_letter for t in catalogue()]
    return topics


def topics_of(service: str) -> list[Topic]:
    """The topics a service owns (it alone publishes to them)."""
    return [t for t in catalogue() if t.service == service]


def topic_by_name(name: str) -> Topic:
    for topic in all_topics():
        if topic.name == name:
            return topic
    raise KeyError(f"unknown topic {name!r}")


@cache
def topic_for(event_type: str) -> Topic:
    """The topic that carries an event type; ``KeyError`` if no topic does."""
    for topic in catalogue():
        if event_type in topic.event_types:
            return topic
    raise KeyError(f"no topic carries {event_type!r}: add its aggregate to contracts/topics.py")


def is_dead_letter(name: str) -> bool:
    return name.endswith(DLQ_SUFFIX)
