"""Read side of the membership service: searches, good standing on a date, yearly figures.

Searches read the aggregates' collections directly. The yearly figures come from the
``yearly_statistics`` read model, which the yearly-statistics consumer keeps from the
service's own events (eventually consistent: usually well under a second behind).
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from runtime.mongo import Database, from_document
from services.membership.adapters.repository import APPLICATIONS, FEE_SCALES, MEMBERS, ORGANISATIONS, STATISTICS
from services.membership.domain import Member, MembershipApplication, Organisation
from services.membership.domain.fee_scales import DuesYearScale


async def search_organisations(db: Database, *, q: str | None = None, legal_form: str | None = None,
                               departement: str | None = None, sector: str | None = None,
                               esus_agreed: bool | None = None, limit: int = 50,
                               offset: int = 0) -> tuple[list[Organisation], int]:
    query: dict[str, Any] = {}
    if q:
        digits = re.sub(r"\s", "", q)
        if digits.isdigit():
            query["siret"] = {"$regex": f"^{re.escape(digits)}"}
        else:
            query["name"] = {"$regex": re.escape(q), "$options": "i"}
    if legal_form:
        query["legal_form"] = legal_form
    if departement:
        query["departement"] = departement.upper()
    if sector:
        query["sector"] = {"$regex": f"^{re.escape(sector)}$", "$options": "i"}
    if esus_agreed is not None:
        query["esus_agreed"] = esus_agreed
    return await db.page(ORGANISATIONS, query, model=Organisation, sort=[("name", 1), ("_id", 1)],
                       limit=limit, offset=offset)


async def list_applications(db: Database, *, status: str | None = None, organisation_id: str | None = None,
                            limit: int = 50, offset: int = 0) -> tuple[list[MembershipApplication], int]:
    query: dict[str, Any] = {}
    if status:
        query["status"] = status
    if organisation_id:
        query["organisation_id"] = organisation_id
    return await db.page(APPLICATIONS, query, model=MembershipApplication,
                       sort=[("submitted_on", -1), ("_id", 1)], limit=limit, offset=offset)


async def list_members(db: Database, *, status: str | None = None, limit: int = 50,
                       offset: int = 0) -> tuple[list[Member], int]:
    query: dict[str, Any] = {"status": status} if status else {}
    return await db.page(MEMBERS, query, model=Member, sort=[("since", 1), ("_id", 1)], limit=limit, offset=offset)


async def members_in_good_standing(db: Database, on: date, *, limit: int = 50,
                                   offset: int = 0) -> tuple[list[Member], int]:
    """Members in good standing on ``on`` (see :meth:`Member.in_good_standing`), by organisation id."""
    day = on.isoformat()  # ``since`` is the current period's start; an earlier period may cover ``on``
    docs = db[MEMBERS].find({"$or": [{"since": {"$lte": day}}, {"periods.start_on": {"$lte": day}}]}).sort("_id", 1)
    members = [from_document(Member, d) async for d in docs]
    standing = [m for m in members if m.in_good_standing(on)]
    return standing[offset:offset + limit], len(standing)


async def yearly_statistics(db: Database, *, since: int | None = None, until: int | None = None) -> list[dict]:
    """Per year: applications, admissions, members joining and leaving, members at year end and
    growth, dues invoiced, collected and written off (euro cents)."""
    rows = {d["_id"]: d async for d in db[STATISTICS].find({}).sort("_id", 1)}
    if not rows:
        return []
    first, last = min(rows), max(rows)
    out, members, previous = [], 0, None
    for year in range(first, last + 1):
        row = rows.get(year, {})
        joined = row.get("activated", 0) + row.get("reinstated", 0)
        left = row.get("lapsed", 0) + row.get("withdrawn", 0)
        members += joined - left
        growth = None if not previous else round(100.0 * (members - previous) / previous, 1)
        entry = {
            "year": year,
            "applications_submitted": row.get("applications_submitted", 0),
            "applications_admitted": row.get("applications_admitted", 0),
            "applications_refused": row.get("applications_refused", 0),
            "applications_withdrawn": row.get("applications_withdrawn", 0),
            "members_joined": row.get("activated", 0),
            "members_reinstated": row.get("reinstated", 0),
            "members_rejoined": row.get("rejoined", 0),
            "members_lapsed": row.get("lapsed", 0),
            "members_withdrawn": row.get("withdrawn", 0),
            "members_at_year_end": members,
            "growth_percent": growth,
            "dues_invoiced_cents": row.get("dues_invoiced_cents", 0),
            "dues_collected_cents": row.get("dues_collected_cents", 0),
            "dues_received_cents": row.get("dues_received_cents", 0),
            "dues_written_off_cents": row.get("dues_written_off_cents", 0),
        }
        previous = members
        if (since is None or year >= since) and (until is None or year <= until):
            out.append(entry)
    return out


async def get_organisation(db: Database, organisation_id: str) -> Organisation:
    return await db.get(ORGANISATIONS, Organisation, organisation_id)


async def get_application(db: Database, application_id: str) -> MembershipApplication:
    return await db.get(APPLICATIONS, MembershipApplication, application_id)


async def get_member(db: Database, member_id: str) -> Member:
    return await db.get(MEMBERS, Member, member_id)


async def fee_scales(db: Database) -> list[DuesYearScale]:
    """The scales voted per dues year, by year."""
    return [from_document(DuesYearScale, d) async for d in db[FEE_SCALES].find({}).sort("year", 1)]


async def fee_scale(db: Database, year: int) -> DuesYearScale | None:
    doc = await db[FEE_SCALES].find_one({"_id": str(year)})
    return from_document(DuesYearScale, doc) if doc is not None else None
