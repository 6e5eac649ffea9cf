"""Where the needs area keeps its aggregates and read models in MongoDB, its indexes, and its reads.

Collections (this area's):

- ``needs``: the :class:`~services.procurement.domain.needs.Need` aggregates (shared shape:
  ``buyer_id``, ``kind``, ``sectors``, ``status``, ``place {commune, departement}``);
- ``need_suppliers``: one funnel row per need × supplier
  (:class:`~services.procurement.domain.need_funnel.SupplierFunnel`, ``_id`` = ``<need>:<supplier>``,
  the unique key that makes a dispatch notify each supplier once);
- ``need_dispatches``: one dispatch state per need (``_id`` = the need id): ``status`` running |
  completed | aborted, ``cursor`` (the last supplier notified, in ``_id`` order), ``notified``,
  ``batches``, ``batch_size``, ``cap``, and the lease (``owner``, ``expires_at``: a :class:`runtime.lease.Lease`) of the process
  running it — a process that crashed leaves its lease to expire (or, on the same machine, to be
  taken at once), and another takes over from the cursor (:meth:`services.procurement.service_layer.needs.NeedsService.run_dispatches`);
- ``need_questions``: suppliers' questions and their answers (texts stay here);
- ``need_impact_surveys``: the impact surveys (one per need and respondent);
- ``convention_meetings``: the projection of the events service's business meetings (held, not
  held, outcome), built by :mod:`services.procurement.adapters.convention_meetings`.

Read only, owned by other areas: ``buyers`` and ``suppliers`` (shared shapes, see the brief), and
``organisations`` (membership's view, :mod:`runtime.members`).
"""
from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from runtime.mongo import Database

NEEDS = "needs"
NEED_SUPPLIERS = "need_suppliers"
NEED_DISPATCHES = "need_dispatches"
NEED_QUESTIONS = "need_questions"
IMPACT_SURVEYS = "need_impact_surveys"
CONVENTION_MEETINGS = "convention_meetings"
BUYERS = "buyers"  # the buyers area's
SUPPLIERS = "suppliers"  # the suppliers area's

DISPATCH_RUNNING, DISPATCH_COMPLETED, DISPATCH_ABORTED = "running", "completed", "aborted"

SUPPLIER_FIELDS = {"_id": 1, "organisation_id": 1, "status": 1, "sectors": 1, "kinds": 1, "base": 1, "serves": 1}
"""What matching reads of a supplier."""


async def ensure_need_indexes(db: Database) -> None:
    await db[NEEDS].create_index([("status", ASCENDING), ("deadline_at", ASCENDING)])
    await db[NEEDS].create_index([("buyer_id", ASCENDING), ("drafted_at", DESCENDING)])
    await db[NEEDS].create_index([("drafted_at", DESCENDING), ("_id", ASCENDING)])
    await db[NEEDS].create_index([("awarded_at", ASCENDING)])
    await db[NEEDS].create_index([("meetings.meeting_id", ASCENDING)])
    # One secondary index only: a dispatch inserts thousands of rows, and each index costs (a list
    # sorts by _id: a need's rows in notification order, as a dispatch goes in supplier id order).
    await db[NEED_SUPPLIERS].create_index([("need_id", ASCENDING), ("step", ASCENDING)])
    await db[NEED_DISPATCHES].create_index([("status", ASCENDING), ("expires_at", ASCENDING)])
    await db[NEED_QUESTIONS].create_index([("need_id", ASCENDING), ("asked_at", ASCENDING)])
    await db[IMPACT_SURVEYS].create_index([("need_id", ASCENDING)])
    await db[CONVENTION_MEETINGS].create_index([("convention_id", ASCENDING)])


def need_filter(*, status: str | None = None, buyer_id: str | None = None, kind: str | None = None,
                sector: str | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if status is not None:
        query["status"] = status
    if buyer_id is not None:
        query["buyer_id"] = buyer_id
    if kind is not None:
        query["kind"] = kind
    if sector is not None:
        query["sectors"] = sector
    return query


def funnel_filter(need_id: str, *, step: str | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {"need_id": need_id}
    if step is not None:
        query["step"] = step
    return query


FUNNEL_COUNTS = ("notified", "opened", "viewed", "interested", "not_interested", "answered", "awarded")


async def funnel_counts(db: Database, need_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per need: suppliers notified, and how many took each step (interested: the current stance
    interested, those who answered included; not interested: the current stance)."""
    out = {nid: dict.fromkeys(FUNNEL_COUNTS, 0) for nid in need_ids}
    if not need_ids:
        return out

    def taken(field: str) -> dict[str, Any]:
        return {"$sum": {"$cond": [{"$ne": [{"$ifNull": [f"${field}", None]}, None]}, 1, 0]}}

    def stance(value: str) -> dict[str, Any]:
        return {"$sum": {"$cond": [{"$eq": ["$stance", value]}, 1, 0]}}

    pipeline = [{"$match": {"need_id": {"$in": need_ids}}},
                {"$group": {"_id": "$need_id", "notified": {"$sum": 1}, "opened": taken("opened_at"),
                            "viewed": taken("viewed_at"), "interested": stance("interested"),
                            "not_interested": stance("not_interested"), "answered": taken("answered_at"),
                            "awarded": taken("awarded_at")}}]
    async for group in await db[NEED_SUPPLIERS].aggregate(pipeline):
        out[group["_id"]] = {k: int(group.get(k, 0)) for k in FUNNEL_COUNTS}
    return out
