"""Where the webhooks service keeps its state in MongoDB, and the indexes.

- ``endpoints`` — :class:`~services.webhooks.domain.endpoints.Endpoint` (``_id`` "ep-…"), versioned;
- ``messages`` — one per (endpoint, event): the exact body sent (signed identically at every
  attempt), ``status`` pending / delivered / failed, ``attempts``, ``next_attempt_at``, and ``log``:
  the ids of the attempt batches holding its attempts. An event becomes one message per endpoint
  once: the fan-out records the event as processed in the same transaction as its messages;
- ``attempt_batches`` — the attempts log (time, outcome, status code or error, latency, response
  excerpt), written as the delivery worker records them: one document per batch of attempts (up to
  ``record_batch_size``), ``attempts`` the list of entries, each naming its ``message_id`` and
  ``endpoint_id``; a message's attempts are the entries of the batches its ``log`` names. Kept
  :attr:`~services.webhooks.settings.WebhooksSettings.retention_days` (TTL index on the batch's ``at``
  where the server has them, and the purge job);
- ``endpoint_health`` — since when every attempt of an endpoint failed (the delivery worker's);
- ``delivery_lease`` — which process delivers (one at a time).

Instants of messages and attempts are BSON dates; endpoints store ISO strings like every aggregate.

**Signing secrets are encrypted at rest** (:func:`sealed_secrets`, the endpoints' stored form): each
``secrets[].key`` is stored ``fernet:<token>`` under ``SECRETS_KEY`` (:mod:`runtime.sealing`) and
opened when an endpoint is read (``tx.get``/``find``, :meth:`Database.loaded` for raw reads). A key
stored in clear (before encryption came) is still read; :func:`reseal_secrets` seals it **at start**,
with any token under an older key of ``SECRETS_KEY`` (a rotation): endpoints are few (a partner has at
most ``max_endpoints_per_partner``), the pass runs once per start outside any transaction, and reads
stay reads (the delivery worker reads the endpoints every few seconds: it must not write).

Why this shape (SecantusDB, the embedded database, writes about 1,000 small documents a second, and
each index of a collection costs every insert and every update of it): a delivery costs one insert
(its message, in the fan-out's batch) and its share of one ``update_many`` (successes of a batch are
marked together); its attempt is one entry of a batch document, not a document of its own. The
messages have two indexes: an endpoint's by status and next attempt (the due ones) and an
endpoint's newest first.

Earlier shape (before 2026-11; the service was not deployed with it): an ``attempts`` collection, one
document per attempt, and two more indexes on ``messages``. :func:`ensure_indexes` drops the
indexes that shape left; an ``attempts`` collection left on a development database is not read.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import PyMongoError

from runtime.mongo import Database, Document, StoredForm
from runtime.sealing import SecretBox
from runtime.settings import Settings
from services.webhooks.domain.delivery import MessageStatus

log = logging.getLogger(__name__)

ENDPOINTS = "endpoints"
MESSAGES = "messages"
ATTEMPTS = "attempt_batches"
HEALTH = "endpoint_health"
LEASE = "delivery_lease"


_OBSOLETE = ("endpoint_id_1_webhook_id_1", "status_1_next_attempt_at_1", "due")


def sealed_secrets(box: SecretBox) -> StoredForm:
    """Endpoints stored with their signing secrets sealed (``secrets[].key``), opened when read."""

    def store(doc: Document) -> Document:
        for secret in doc.get("secrets") or ():
            if isinstance(secret.get("key"), str) and not box.is_sealed(secret["key"]):
                secret["key"] = box.seal(secret["key"])
        return doc

    def load(doc: Document) -> Document:
        for secret in doc.get("secrets") or ():
            if isinstance(secret.get("key"), str):
                secret["key"] = box.open(secret["key"])
        return doc
    return StoredForm(store=store, load=load)


def stored_forms(settings: Settings) -> dict[str, StoredForm]:
    return {ENDPOINTS: sealed_secrets(SecretBox(settings.secrets_key))}


async def reseal_secrets(db: Database) -> int:
    """At start: seal again every stored secret in clear or under an older key than ``SECRETS_KEY``'s
    first (a document is rewritten only if its secrets are still what was read: a concurrent save
    wins, having sealed them itself; its version is left alone). Returns how many endpoints."""
    box = SecretBox(db.settings.secrets_key)
    resealed = 0
    async for doc in db[ENDPOINTS].find({}, {"secrets": 1}):
        before = doc.get("secrets") or []
        if not any(isinstance(s.get("key"), str) and box.stale(s["key"]) for s in before):
            continue
        after = [{**s, "key": box.seal(box.open(s["key"]))} if box.stale(s["key"]) else s for s in before]
        result = await db[ENDPOINTS].update_one({"_id": doc["_id"], "secrets": before}, {"$set": {"secrets": after}})
        resealed += result.modified_count
    left = await stale_secrets(db, box)
    if left:  # changed meanwhile by a save under an older configuration: the next start seals them
        log.warning("signing secrets of %d endpoints still in clear or under an older key of SECRETS_KEY: keep "
                    "that key until a start reports none", left)
    else:
        log.info("signing secrets: %d endpoints sealed again; none left in clear or under an older key of "
                 "SECRETS_KEY (an older key may be dropped)", resealed)
    return resealed


async def stale_secrets(db: Database, box: SecretBox) -> int:
    """How many endpoints have a secret in clear or under an older key than ``SECRETS_KEY``'s first."""
    stale = 0
    async for doc in db[ENDPOINTS].find({}, {"secrets": 1}):
        stale += any(isinstance(s.get("key"), str) and box.stale(s["key"]) for s in doc.get("secrets") or ())
    return stale


def due_query(endpoint_id: str, next_attempt_at: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pending messages of an endpoint (optionally bounded by ``next_attempt_at``, e.g. ``{"$lte": now}``),
    on the index (endpoint, status, next_attempt_at).

    SecantusDB reads every index entry in the query's bounds and sorts them in memory before a
    ``limit`` (and its planner ignores partial indexes; a ``hint`` reads the whole index): the delivery
    worker bounds ``next_attempt_at`` to a window (:meth:`~..service_layer.delivery.Deliverer._fetch`)."""
    query: dict[str, Any] = {"endpoint_id": endpoint_id, "status": MessageStatus.PENDING.value}
    if next_attempt_at:
        query["next_attempt_at"] = next_attempt_at
    return query


async def ensure_indexes(db: Database, retention_days: int = 30) -> None:
    await db[ENDPOINTS].create_index([("partner_id", ASCENDING), ("created_at", ASCENDING)])
    await db[ENDPOINTS].create_index([("enabled", ASCENDING)])
    existing = {i["name"] async for i in await db[MESSAGES].list_indexes()}
    for name in _OBSOLETE:  # the earlier shape's (see the module's docstring)
        if name in existing:
            await db[MESSAGES].drop_index(name)
    await db[MESSAGES].create_index([("endpoint_id", ASCENDING), ("status", ASCENDING), ("next_attempt_at", ASCENDING)])
    await db[MESSAGES].create_index([("endpoint_id", ASCENDING), ("created_at", DESCENDING)])
    try:
        await db[ATTEMPTS].create_index("at", expireAfterSeconds=retention_days * 86_400, name="attempts_ttl")
    except PyMongoError as exc:  # a server without TTL indexes: the purge job does it
        log.warning("attempts TTL index not created: %s", exc)
    await reseal_secrets(db)  # secrets stored in clear, or under a key being rotated out


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
            "delivered_at": None, "failed_at": None, "last_outcome": None, "last_status_code": None, "log": []}


async def attempts_of(db: Database, message: dict[str, Any], limit: int = 1000) -> list[dict[str, Any]]:
    """The message's attempts still kept, oldest first (entries of the batches its ``log`` names)."""
    batch_ids = list(dict.fromkeys(message.get("log") or ()))
    if not batch_ids:
        return []
    found = []
    async for batch in db[ATTEMPTS].find({"_id": {"$in": batch_ids}}):
        found.extend(a for a in batch["attempts"] if a["message_id"] == message["_id"])
    found.sort(key=lambda a: (a["at"], a["attempt"]))
    return found[:limit]
