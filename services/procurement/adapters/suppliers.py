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
  changed — takes the next version of its *lane* (``supplier_search_state``, one counter document per
  lane) and marks what changed (``s:<supplier id>`` or ``o:<organisation id>``) with it. A lane is the
  log partition a consumer read the event from (``Transaction.lane``), or, for a command, one of
  :data:`COMMAND_LANES` buckets of the organisation. Two transactions of one lane write its counter,
  so they commit one after the other: a reader that has read version *v* of a lane can trust every
  mark of that lane up to *v* to be there. One counter per lane, not one for the area: a partition
  has one reader at a time, so the consumer groups (and the commands on different organisations) no
  longer conflict on it. With one counter, a consumer restarted after a kill ran its first batch 10 to
  20 times (8.4 s) against the other group's and the commands' bumps (``make chaos``);
- ``supplier_organisation_turns``: one document per organisation that a profile's creation and the
  identity handler write *first* (:func:`take_turn`): the two of the same organisation commit one
  after the other, so neither misses the other's write (the creation copies the newer identity, or
  the handler finds the profile), whatever the database's isolation.
"""
from __future__ import annotations

import zlib

from pymongo import ASCENDING

from runtime.mongo import Database, Transaction

SUPPLIERS = "suppliers"
GROUPINGS = "groupings"
GROUPING_SEATS = "grouping_seats"
SEARCH_STATE = "supplier_search_state"  # {_id: <lane>, seq}: the lane's last version taken
SEARCH_MARKS = "supplier_search_marks"  # {_id: "<lane>|<key>", lane, key, seq}
TURNS = "supplier_organisation_turns"  # {_id: <organisation id>, n}
COMMAND_LANES = 16  # a command's lane: its organisation's bucket (commands on one organisation share one)


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
    await db[SEARCH_MARKS].create_index([("lane", ASCENDING), ("seq", ASCENDING)])


def supplier_mark(supplier_id: str) -> str:
    return f"s:{supplier_id}"


def organisation_mark(organisation_id: str) -> str:
    return f"o:{organisation_id}"


def command_lane(organisation_id: str) -> str:
    """The lane of a command's (or a rebuild's) transaction on ``organisation_id``'s profile."""
    return f"commands:{zlib.crc32(organisation_id.encode()) % COMMAND_LANES}"


async def take_turn(tx: Transaction, organisation_id: str) -> None:
    """In ``tx``, *first*: write the organisation's turn, so that a transaction that must not commit beside
    another one on the same organisation (a profile's creation, the identity handler) conflicts with it at
    once and runs again after it, reading what it wrote."""
    await tx.db[TURNS].update_one({"_id": organisation_id}, {"$inc": {"n": 1}}, upsert=True, session=tx.session)


async def mark_changed(tx: Transaction, organisation_id: str, *marks: str) -> int:
    """In ``tx``: mark ``marks`` (of ``organisation_id``'s profile or standing) with the version of the
    transaction's lane, taken once per lane and transaction (see the module's docstring). Call it in every
    transaction that changes what a search sees. Returns the version."""
    lane = tx.lane or command_lane(organisation_id)
    version = await tx.lane_version(SEARCH_STATE, lane, "seq")
    for key in marks:
        await tx.db[SEARCH_MARKS].update_one({"_id": f"{lane}|{key}"},
                                             {"$set": {"lane": lane, "key": key, "seq": version}},
                                             upsert=True, session=tx.session)
    return version


def seat_id(need_id: str, supplier_id: str) -> str:
    return f"{need_id}|{supplier_id}"
