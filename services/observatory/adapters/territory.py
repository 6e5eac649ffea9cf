"""Reads for the territorial diagnostic and the organisations' timelines: the ledger by organisation
(indexed ``organisations`` and ``refs``, see :func:`services.observatory.domain.ledger.parties`),
by event type, and membership's projections (``organisations``, ``member_standing``).

Rows by type come from the ledger's in-memory copy, as the report's do; rows by organisation from the
indexed collection.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from runtime import members
from runtime.mongo import Database
from services.observatory.adapters.ledger import LEDGER, row_of_document
from services.observatory.adapters.ledger_memory import MEMORY
from services.observatory.domain.ledger import TIES, LedgerRow
from services.observatory.domain.territory import Organisation, Territory, organisation_of


async def _rows(db: Database, query: dict[str, Any]) -> list[LedgerRow]:
    return [row_of_document(doc) async for doc in db[LEDGER].find(query)]


async def organisation_rows(db: Database, organisation_id: str, until: date) -> list[LedgerRow]:
    """The ledger rows concerning the organisation, dated on or before ``until``: those naming it
    (one indexed query), then those naming its supplier profiles or convention participants (one
    more, on the refs its tie rows give — whatever their date, so a tie dated later still ties)."""
    direct = await _rows(db, {"organisations": organisation_id})
    refs = sorted({ref for r in direct if r.type in TIES for ref in r.refs})
    via = await _rows(db, {"refs": {"$in": refs}, "on": {"$lte": until.isoformat()}}) if refs else []
    by_id = {r.id: r for r in [*direct, *via]}
    return [r for r in by_id.values() if r.on <= until or r.type in TIES]


async def rows_of_types(db: Database, types: tuple[str, ...] | list[str], until: date, *,
                        subjects: list[str] | None = None) -> list[LedgerRow]:
    """Rows of these types dated on or before ``until`` (of these subjects, when given), from the
    ledger's in-memory copy (:mod:`services.observatory.adapters.ledger_memory`)."""
    wanted = set(subjects) if subjects is not None else None
    return (await MEMORY.fresh(db)).select(types, until, None if wanted is None else (lambda r: r.subject in wanted))


async def rows_of_organisations(db: Database, organisation_ids: list[str], types: tuple[str, ...] | list[str],
                                until: date) -> list[LedgerRow]:
    """Rows of these types naming one of the organisations, dated on or before ``until``."""
    if not organisation_ids:
        return []
    return await _rows(db, {"organisations": {"$in": organisation_ids}, "type": {"$in": list(types)},
                            "on": {"$lte": until.isoformat()}})


async def known_organisation(db: Database, organisation_id: str) -> dict[str, Any] | None:
    """Membership's profile of the organisation; ``{}`` when only the ledger names it; None when
    the observatory does not know it at all."""
    profile = await members.organisation(db, organisation_id)
    if profile is not None:
        return profile
    if await db[LEDGER].find_one({"organisations": organisation_id}, {"_id": 1}) is not None:
        return {}
    return None


async def organisations_in(db: Database, place: Territory) -> list[Organisation]:
    """Membership's organisations of the territory's départements, with their member standing history
    (the pure domain keeps those whose commune lies in the territory)."""
    profiles = [doc async for doc in db[members.ORGANISATIONS].find({"departement": {"$in": sorted(place.departements)}})]
    ids = [p["_id"] for p in profiles]
    standing = {doc["_id"]: doc async for doc in db[members.STANDING].find({"_id": {"$in": ids}})} if ids else {}
    return [organisation_of(p, standing.get(p["_id"])) for p in profiles]
