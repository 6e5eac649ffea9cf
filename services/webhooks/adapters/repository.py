"""Where the webhooks service keeps its state in MongoDB, and the indexes.

- ``endpoints`` — :class:`~services.webhooks.domain.endpoints.Endpoint` (``_id`` "ep-…"), versioned;
- ``messages`` — one per (endpoint, event): the exact body sent (signed identically at every
  attempt), ``status`` pending / delivered / failed, ``attempts``, ``next_attempt_at``; unique on
  (endpoint, ``webhook_id``) so an event never becomes two messages of one endpoint;
- ``attempts`` — the attempts log (time, outcome, status code or error, latency, response excerpt),
  kept :attr:`~services.webhooks.settings.WebhooksSettings.retention_days` (TTL index where the
  server has them, and the purge job);
- ``endpoint_health`` — since when every attempt of an endpoint failed (the delivery worker's);
- ``delivery_lease`` — which process delivers (one at a time).

Instants of messages and attempts are BSON dates; endpoints store ISO strings like every aggregate.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import PyMongoError

from runtime.mongo import Database
from services.webhooks.domain.delivery import MessageStatus

log = logging.getLogger(__name__)

ENDPOINTS = "endpoints"
MESSAGES = "messages"
ATTEMPTS = "attempts"
HEALTH = "endpoint_health"
LEASE = "delivery_lease"


async def ensure_indexes(db: Database, retention_days: int = 30) -> None:
    await db[ENDPOINTS].create_index([("partner_id", ASCENDING), ("created_at", ASCENDING)])
    await db[ENDPOINTS].create_index([("enabled", ASCENDING)])
    await db[MESSAGES].create_index([("endpoint_id", ASCENDING), ("webhook_id", ASCENDING)], unique=True)
    await db[MESSAGES].create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
    await db[MESSAGES].create_index([("endpoint_id", ASCENDING), ("status", ASCENDING), ("next_attempt_at", ASCENDING)])
    await db[MESSAGES].create_index([("endpoint_id", ASCENDING), ("created_at", DESCENDING)])
    await db[ATTEMPTS].create_index([("message_id", ASCENDING), ("at", ASCENDING)])
    try:
        await db[ATTEMPTS].create_index("at", expireAfterSeconds=retention_days * 86_400, name="attempts_ttl")
    except PyMongoError as exc:  # a server without TTL indexes: the purge job does it
        log.warning("attempts TTL index not created: %s", exc)


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def body_of(event_type: str, timestamp: datetime, data: dict[str, Any]) -> str:
    """The JSON body a receiver gets: ``{type, timestamp, data}`` (compact; signed as sent)."""
    return json.dumps({"type": event_type, "timestamp": iso(timestamp), "data": data}, separators=(",", ":"),
                      ensure_ascii=False)


def new_message(*, endpoint_id: str, partner_id: str, webhook_id: str, event_type: str, data: dict[str, Any],
                event_at: datetime, at: datetime, message_id: str | None = None) -> dict[str, Any]:
    """A pending message document, due at once."""
    return {"_id": message_id or f"msg-{uuid.uuid4().hex[:16]}", "endpoint_id": endpoint_id, "partner_id": partner_id,
            "webhook_id": webhook_id, "event_type": event_type, "body": body_of(event_type, event_at, data),
            "status": MessageStatus.PENDING.value, "attempts": 0, "round_attempts": 0, "replays": 0,
            "next_attempt_at": at, "event_at": event_at, "created_at": at, "updated_at": at,
            "delivered_at": None, "failed_at": None, "last_outcome": None, "last_status_code": None}
