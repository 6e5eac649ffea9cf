"""The fan-out: every event of the platform's domain topics becomes one message per enabled endpoint
whose filters match it (and that existed when the event was committed).

A :class:`runtime.consumer.Consumer` (idempotent by event id, writes committed before the offsets,
dead letters), reading its topics from the beginning: partners receive what happens after they
subscribe (an event older than the endpoint is skipped by :func:`fan_out`), and a restart never
skips what was published while the service was down. The message's ``webhook-id`` is the event's CloudEvents id (the partner's idempotency
key) and its body ``{type, timestamp, data}`` is built from the **validated event model**
(``event.model_dump``), not from the bytes read: only the contract's fields go out, and the
contracts carry no personal data (``tests/unit/webhooks`` checks they stay so).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import InsertOne

from contracts.base import DomainEvent, registered_events
from contracts.envelope import CloudEvent
from runtime.consumer import Consumer, Subscription
from runtime.mongo import Transaction, utcnow
from services.webhooks.adapters.repository import ENDPOINTS, MESSAGES, new_message
from services.webhooks.domain.filters import matches
from services.webhooks.service_layer.delivery import wake
from services.webhooks.service_layer.endpoints import deliverable_types

_CACHE = "_webhook_endpoints"


class FanOut(Consumer):
    """The consumer; once a batch is durable, the delivery worker of this process is woken."""

    async def process(self, records: list) -> None:
        await super().process(records)
        wake(self.db)


async def _subscribers(tx: Transaction) -> list[dict[str, Any]]:
    """The enabled endpoints, read once per transaction (a consumer batch shares one)."""
    cached = tx.memo.get(_CACHE)
    if cached is None:
        cached = await tx.db[ENDPOINTS].find(
            {"enabled": True, "deleted_at": None},
            {"_id": 1, "partner_id": 1, "event_types": 1, "created_at": 1}, session=tx.session).to_list()
        for doc in cached:
            doc["created_at"] = datetime.fromisoformat(doc["created_at"].replace("Z", "+00:00"))
        tx.memo[_CACHE] = cached
    return cached


async def fan_out(event: DomainEvent, tx: Transaction, envelope: CloudEvent) -> None:
    data = event.model_dump(mode="json")  # the contract's fields only
    for endpoint in await _subscribers(tx):
        if endpoint["created_at"] <= envelope.time and matches(endpoint["event_types"], envelope.type):
            tx.stage(MESSAGES, InsertOne(new_message(
                endpoint_id=endpoint["_id"], partner_id=endpoint["partner_id"], webhook_id=envelope.id,
                event_type=envelope.type, data=data, event_at=envelope.time, at=utcnow())))


def fan_out_consumer(name: str = "fan-out") -> FanOut:
    events = registered_events()
    # From the beginning: the handler keeps only events after the endpoint was created. Starting at the end
    # ("latest") lost events (make chaos): a partition on which the group had committed nothing yet was
    # started at its end again after a restart, skipping what was published while the service was down.
    return FanOut(name, [Subscription(events[t], fan_out) for t in deliverable_types()], from_beginning=True)
