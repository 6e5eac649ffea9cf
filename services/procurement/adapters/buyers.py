"""Where buyers, engagements, conventions and interventions live in MongoDB; their indexes and reads.

- ``buyers`` — :class:`~services.procurement.domain.buyers.Buyer` (the shape other areas read:
  ``_id`` "buy-…", kind, siret (unique), name, departement, commune, status);
- ``buyer_engagements``, ``buyer_conventions``, ``buyer_interventions`` — one aggregate each,
  with its ``buyer_id``;
- ``buyer_engagement_slot`` — one document per buyer (``_id`` = buyer id) while one of its
  engagements is open (``holder`` = that engagement) or once it is archived (``holder`` =
  ``"archived"``): inserting it is how "one open engagement per buyer" and "no engagement for an
  archived buyer" hold under concurrent commands (a second insert of the same ``_id`` fails).

Dates are stored as ISO strings (``YYYY-MM-DD``): they compare as the dates do.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from pymongo import ASCENDING

from contracts.procurement.vocabulary import LOCAL_AUTHORITY_KINDS, BuyerKind
from runtime.mongo import Database, from_document
from runtime.siret import normalize_siret
from services.procurement.domain.buyers import (Buyer, BuyerConvention, Engagement, Intervention, YearFigures,
                                                year_figures)
from services.procurement.domain.buyers import departement as departement_code

BUYERS = "buyers"
ENGAGEMENTS = "buyer_engagements"
ENGAGEMENT_SLOT = "buyer_engagement_slot"
CONVENTIONS = "buyer_conventions"
INTERVENTIONS = "buyer_interventions"
ARCHIVED = "archived"  # the slot's holder once the buyer is archived


async def ensure_indexes(db: Database) -> None:
    await db[BUYERS].create_index("siret", unique=True, name="buyer_siret_unique")
    await db[BUYERS].create_index([("name", ASCENDING), ("_id", ASCENDING)])
    await db[BUYERS].create_index([("kind", ASCENDING), ("departement", ASCENDING)])
    await db[BUYERS].create_index([("departement", ASCENDING)])
    await db[ENGAGEMENTS].create_index([("buyer_id", ASCENDING), ("opened_on", ASCENDING)])
    await db[ENGAGEMENTS].create_index([("opened_on", ASCENDING)])
    await db[CONVENTIONS].create_index([("buyer_id", ASCENDING), ("starts_on", ASCENDING)])
    await db[CONVENTIONS].create_index([("starts_on", ASCENDING)])
    await db[INTERVENTIONS].create_index([("buyer_id", ASCENDING), ("on", ASCENDING)])
    await db[INTERVENTIONS].create_index([("on", ASCENDING)])


async def search_buyers(db: Database, *, kind: str | None = None, departement: str | None = None,
                        local_authorities: bool | None = None, status: str | None = None, q: str | None = None,
                        limit: int = 50, offset: int = 0) -> tuple[list[Buyer], int]:
    """Buyers by kind, département, local authorities only (or none of them), status, and a text
    (in the name, case-insensitive; or a SIRET / SIREN prefix); by name."""
    query: dict[str, Any] = {}
    every = {k.value for k in BuyerKind}
    kinds = set(every)
    if kind:
        kinds &= {kind}
    local = {k.value for k in LOCAL_AUTHORITY_KINDS}
    if local_authorities is True:
        kinds &= local
    elif local_authorities is False:
        kinds -= local
    if kinds != every:
        query["kind"] = {"$in": sorted(kinds)}
    if departement:
        query["departement"] = departement_code(departement, "query.departement")
    if status:
        query["status"] = status
    if q and q.strip():
        digits = normalize_siret(q)
        if digits.isdigit() and len(digits) >= 9:
            query["siret"] = {"$regex": "^" + re.escape(digits)}
        else:
            query["name"] = {"$regex": re.escape(q.strip()), "$options": "i"}
    return await db.page(BUYERS, query, model=Buyer, sort=[("name", 1), ("_id", 1)], limit=limit, offset=offset)


async def engagements_of(db: Database, buyer_id: str) -> list[Engagement]:
    docs = await db[ENGAGEMENTS].find({"buyer_id": buyer_id}).sort([("opened_on", 1), ("_id", 1)]).to_list()
    return [from_document(Engagement, d) for d in docs]


async def conventions_of(db: Database, buyer_id: str) -> list[BuyerConvention]:
    docs = await db[CONVENTIONS].find({"buyer_id": buyer_id}).sort([("starts_on", 1), ("_id", 1)]).to_list()
    return [from_document(BuyerConvention, d) for d in docs]


async def interventions_of(db: Database, buyer_id: str, *, year: int | None = None, kind: str | None = None,
                           include_withdrawn: bool = False, limit: int = 50,
                           offset: int = 0) -> tuple[list[Intervention], int]:
    query: dict[str, Any] = {"buyer_id": buyer_id}
    if year is not None:
        query["on"] = {"$gte": f"{year:04d}-01-01", "$lte": f"{year:04d}-12-31"}
    if kind:
        query["kind"] = kind
    if not include_withdrawn:
        query["withdrawn"] = False
    return await db.page(INTERVENTIONS, query, model=Intervention, sort=[("on", -1), ("_id", 1)], limit=limit,
                         offset=offset)


async def figures(db: Database, year: int) -> YearFigures:
    """The activity report's figures of ``year`` (see :func:`~services.procurement.domain.buyers.year_figures`)."""
    first, last = date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat()
    interventions = [from_document(Intervention, d) for d in await db[INTERVENTIONS].find(
        {"on": {"$gte": first, "$lte": last}, "withdrawn": False}).to_list()]
    # conventions starting by the year's end; those that ended before it are filtered by the domain
    conventions = [from_document(BuyerConvention, d) for d in await db[CONVENTIONS].find(
        {"starts_on": {"$lte": last}, "ends_on": {"$gte": first}}).to_list()]
    engagements = [from_document(Engagement, d) for d in await db[ENGAGEMENTS].find(
        {"opened_on": {"$lte": last}, "$or": [{"closed_on": None}, {"closed_on": {"$gte": first}}]}).to_list()]
    buyer_ids = sorted({i.buyer_id for i in interventions})
    kinds = {d["_id"]: d["kind"] for d in await db[BUYERS].find({"_id": {"$in": buyer_ids}}, {"kind": 1}).to_list()}
    return year_figures(year, interventions=interventions, buyer_kinds={k: BuyerKind(v) for k, v in kinds.items()},
                        conventions=conventions, engagements=engagements)

