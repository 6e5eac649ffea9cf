"""Where Prom'ESS Europe's quotes and individual diagnostics live in MongoDB; their indexes and reads.

- ``quotes`` — :class:`~services.procurement.domain.quotes.Quote` (``_id`` "quo-…");
- ``individual_diagnostics`` — :class:`~services.procurement.domain.quotes.IndividualDiagnostic`.

Dates are ISO strings (``YYYY-MM-DD``): they compare as the dates do.
"""
from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from runtime.mongo import Database
from services.procurement.domain.quotes import IndividualDiagnostic, Quote

QUOTES = "quotes"
INDIVIDUAL_DIAGNOSTICS = "individual_diagnostics"


async def ensure_indexes(db: Database) -> None:
    await db[QUOTES].create_index([("organisation_id", ASCENDING), ("drafted_at", DESCENDING)])
    await db[QUOTES].create_index([("status", ASCENDING), ("valid_until", ASCENDING)])
    await db[QUOTES].create_index([("drafted_at", DESCENDING), ("_id", ASCENDING)])
    await db[INDIVIDUAL_DIAGNOSTICS].create_index([("organisation_id", ASCENDING), ("held_on", DESCENDING)])
    await db[INDIVIDUAL_DIAGNOSTICS].create_index([("held_on", DESCENDING), ("_id", ASCENDING)])


async def search_quotes(db: Database, *, organisation_id: str | None = None, status: str | None = None,
                        offer: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Quote], int]:
    """Quotes by organisation, status and offer; newest first."""
    query: dict[str, Any] = {}
    for name, value in (("organisation_id", organisation_id), ("status", status), ("offer", offer)):
        if value:
            query[name] = value
    return await db.page(QUOTES, query, model=Quote, sort=[("drafted_at", -1), ("_id", 1)], limit=limit,
                         offset=offset)


async def search_diagnostics(db: Database, *, organisation_id: str | None = None, year: int | None = None,
                             limit: int = 50, offset: int = 0) -> tuple[list[IndividualDiagnostic], int]:
    """Individual diagnostics by organisation and year held; latest first."""
    query: dict[str, Any] = {}
    if organisation_id:
        query["organisation_id"] = organisation_id
    if year is not None:
        query["held_on"] = {"$gte": f"{year:04d}-01-01", "$lte": f"{year:04d}-12-31"}
    return await db.page(INDIVIDUAL_DIAGNOSTICS, query, model=IndividualDiagnostic,
                         sort=[("held_on", -1), ("_id", 1)], limit=limit, offset=offset)
