"""The ledger in MongoDB (collection ``ledger``) and the consumer that appends to it.

One document per CloudEvent, ``_id`` = the event's id (inserted once: a redelivery or a replay
changes nothing): ``type``, ``subject``, ``at`` (the event time), ``on`` (the business date, an
ISO string: it compares as the date does), ``data`` (the few fields the figures need) and, when it
concerns organisations, ``organisations`` and ``refs`` (see
:func:`services.observatory.domain.ledger.parties`; indexed, read by
:mod:`services.observatory.adapters.territory`).
"""
from __future__ import annotations

from datetime import date, timezone
from typing import Any

from pymongo import UpdateOne

from contracts.envelope import CloudEvent
from runtime.consumer import Consumer, Subscription
from runtime.mongo import Database, Transaction
from services.observatory.domain.ledger import KEPT_BY_SOURCE, LedgerRow, row_of

LEDGER = "ledger"
MARKS = "ledger_marks"  # {_id: <lane>, version}: bumped by every transaction that appends rows of that lane


def document_of(row: LedgerRow) -> dict[str, Any]:
    """The ledger document of a row (without its ``_id``: the row's id)."""
    doc = {"type": row.type, "subject": row.subject, "at": row.at, "on": row.on.isoformat(), "data": row.data}
    if row.organisations or row.refs:  # who it concerns (timelines, territorial diagnostics)
        doc |= {"organisations": list(row.organisations), "refs": list(row.refs)}
    return doc


async def append(event: Any, tx: Transaction, envelope: CloudEvent) -> None:
    """Insert the event's row unless it is there (staged: one bulk write per batch of events; a
    rebuild writes thousands at once, :mod:`runtime.rebuild`), stamped with its lane's mark."""
    row = row_of(event, event_id=envelope.id, at=envelope.time)
    lane = tx.lane or LEDGER  # the partition it was read from; a rebuild's rows share one lane
    mark = await tx.lane_version(MARKS, lane, "version")  # once per lane and transaction: see :func:`marks`
    tx.stage(LEDGER, UpdateOne({"_id": row.id}, {"$setOnInsert": {**document_of(row), "lane": lane, "mark": mark}},
                               upsert=True))


async def marks(db: Database) -> dict[str, int]:
    """The ledger's high-water marks, per lane: the version taken by the last transaction that
    appended rows of that lane.

    A lane is the log partition the rows' events were read from (``<topic>:<partition>``), or
    ``ledger`` for a rebuild's. Every appending transaction takes the next version of each of its
    lanes before it writes their rows, and stamps the rows with it: two transactions of one lane
    conflict on its counter, so a lane's versions follow commit order, and the rows of lane ``l``
    appended since its version ``v`` was read are those with ``lane == l`` and ``mark > v`` — the
    in-memory copy (:mod:`services.observatory.adapters.ledger_memory`) tops itself up with them.

    One counter per lane, not one for the ledger: a partition has one reader at a time, so the
    ledger's consumer groups (one per source service), and the instances of each, append at once
    without a write conflict. With one counter, they retried each other's transactions for up to
    20 s in ``make chaos`` (``cress_transaction_retries_total``)."""
    return {doc["_id"]: int(doc.get("version", 0)) async for doc in db[MARKS].find({})}


def ledger_consumer(group: str = "observatory-ledger", source: str = "membership") -> Consumer:
    """A consumer group appending the events of one source service the report needs to the ledger."""
    return Consumer(group, [Subscription(event, append) for event in KEPT_BY_SOURCE[source]])


def ledger_consumers() -> list[Consumer]:
    """One consumer group per source service: membership keeps its historical group name
    (``observatory-ledger``: its offsets stay valid), the others are ``observatory-ledger-<source>``.
    A backlog, a replay or a poisoned record in one service's topics does not hold back the others'
    figures, and one source can be re-read (its group reset) without re-reading the rest."""
    return [ledger_consumer("observatory-ledger" if source == "membership" else f"observatory-ledger-{source}",
                            source) for source in KEPT_BY_SOURCE]


async def ensure_indexes(db: Database) -> None:
    # reports and diagnostics read rows by type from the in-memory copy (ledger_memory): no index for them
    await db[LEDGER].create_index([("organisations", 1), ("on", 1)])  # timelines, territorial diagnostics
    await db[LEDGER].create_index([("refs", 1), ("on", 1)])
    await db[LEDGER].create_index([("lane", 1), ("mark", 1)])  # the in-memory copy's top-ups


def row_of_document(doc: dict[str, Any]) -> LedgerRow:
    """The row a ledger document holds (the inverse of :func:`document_of`)."""
    at = doc["at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)  # MongoDB keeps UTC without the zone
    return LedgerRow(id=doc["_id"], type=doc["type"], subject=doc["subject"], at=at,
                     on=date.fromisoformat(doc["on"]), data=doc.get("data") or {},
                     organisations=tuple(doc.get("organisations") or ()), refs=tuple(doc.get("refs") or ()))
