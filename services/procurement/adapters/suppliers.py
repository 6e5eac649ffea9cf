"""Where supplier profiles and groupings live in MongoDB, their indexes, and the search's change log.

Collections:

- ``suppliers``: one :class:`~services.procurement.domain.suppliers.Supplier` each (the shape other
  areas query: ``organisation_id`` (unique), ``sectors``, ``kinds``, ``labels``, ``base {commune,
  departement, lat, lon}``, ``serves {departements, communes, radius_km}``, ``status``);
- ``groupings``: one :class:`~services.procurement.domain.groupings.Grouping` each;
- ``grouping_seats``: one document per (need, supplier) in a grouping that is not dissolved
  (``_id`` = ``<need id>|<supplier id>``): a supplier is in at most one grouping per need, even
  when two groupings form at once (the second insert is a duplicate key: 409);
- ``supplier_search_state`` and ``supplier_search_marks``: what the in-memory search index
  (:mod:`services.procurement.adapters.supplier_search`) reads to catch up. Every transaction that
  changes what a search sees — a supplier written, an organisation's identity or member standing
  changed — increments the generation (``supplier_search_state``, one document) and marks what
  changed (``s:<supplier id>`` or ``o:<organisation id>``) with the new generation. The
  increment makes those transactions write one document, so they commit one after the other: a
  reader that has read generation *g* can trust every mark up to *g* to be there.
"""
from __future__ import annotations

from pymongo import ASCENDING, ReturnDocument

from runtime.mongo import Database, Transaction

SUPPLIERS = "suppliers"
GROUPINGS = "groupings"
GROUPING_SEATS = "grouping_seats"
SEARCH_STATE = "supplier_search_state"
SEARCH_MARKS = "supplier_search_marks"
GENERATION = "generation"


async def ensure_indexes(db: Database) -> None:
    await db[SUPPLIERS].create_index([("organisation_id", ASCENDING)], unique=True)
    # for the other areas' queries (needs' dispatch, diagnostics): sector × territory × kind
    await db[SUPPLIERS].create_index([("sectors", ASCENDING), ("status", ASCENDING)])
    await db[SUPPLIERS].create_index([("base.departement", ASCENDING)])
    await db[SUPPLIERS].create_index([("serves.departements", ASCENDING)])
    await db[SUPPLIERS].create_index([("serves.communes", ASCENDING)])
    await db[SUPPLIERS].create_index([("status", ASCENDING), ("_id", ASCENDING)])
    await db[GROUPINGS].create_index([("need_id", ASCENDING), ("status", ASCENDING)])
    await db[GROUPINGS].create_index([("lead_supplier_id", ASCENDING)])
    await db[GROUPINGS].create_index([("member_supplier_ids", ASCENDING)])
    await db[SEARCH_MARKS].create_index([("seq", ASCENDING)])


def supplier_mark(supplier_id: str) -> str:
    return f"s:{supplier_id}"


def organisation_mark(organisation_id: str) -> str:
    return f"o:{organisation_id}"


async def next_generation(tx: Transaction) -> int:
    """In ``tx``: take the next search generation. Do it *first* in a transaction that must not
    commit beside another one touching the same organisation (its write then conflicts with the
    other's at once, whatever the database's isolation)."""
    state = await tx.db[SEARCH_STATE].find_one_and_update(
        {"_id": GENERATION}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER,
        session=tx.session)
    return int(state["seq"])


async def mark(tx: Transaction, generation: int, *marks: str) -> None:
    """In ``tx``: mark what changed with the generation :func:`next_generation` took."""
    for key in marks:
        await tx.db[SEARCH_MARKS].update_one({"_id": key}, {"$set": {"seq": generation}}, upsert=True,
                                             session=tx.session)


async def mark_changed(tx: Transaction, *marks: str) -> int:
    """In ``tx``: take the next search generation and mark ``marks`` with it (see the module's
    docstring). Call it in every transaction that changes what a search sees."""
    generation = await next_generation(tx)
    await mark(tx, generation, *marks)
    return generation


def seat_id(need_id: str, supplier_id: str) -> str:
    return f"{need_id}|{supplier_id}"
