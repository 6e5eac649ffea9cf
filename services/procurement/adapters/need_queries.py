"""Reads of the needs area: lists, a supplier's view of a need, questions, impact surveys, and the
yearly figures (needs per status, awards, funnels, impact answers, and which business conventions
led to which contracts)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any

from runtime.mongo import Database, stored_instant
from services.procurement.adapters.needs import (CONVENTION_MEETINGS, FUNNEL_COUNTS, IMPACT_SURVEYS, NEED_QUESTIONS,
                                                 NEED_SUPPLIERS, NEEDS, funnel_counts)


async def questions(db: Database, need_id: str) -> list[dict[str, Any]]:
    return await db[NEED_QUESTIONS].find({"need_id": need_id}).sort([("asked_at", 1), ("_id", 1)]).to_list()


async def impact_surveys(db: Database, need_id: str) -> list[dict[str, Any]]:
    return await db[IMPACT_SURVEYS].find({"need_id": need_id}).sort([("opened_at", 1), ("_id", 1)]).to_list()


async def funnel_page(db: Database, query: dict[str, Any], *, limit: int, offset: int) -> tuple[list[dict], int]:
    return await db.page(NEED_SUPPLIERS, query, sort=[("_id", 1)], limit=limit, offset=offset)


def _year(year: int) -> tuple[str, str]:
    return (stored_instant(datetime(year, 1, 1, tzinfo=timezone.utc)),
            stored_instant(datetime(year + 1, 1, 1, tzinfo=timezone.utc)) if year < 9999 else "9999")


async def figures(db: Database, year: int) -> dict[str, Any]:
    """The year's figures. Needs *drafted* in the year: per status, their funnels, their impact
    answers. Needs *awarded* in the year: how many, for how much. Conventions: for every need of
    either kind linked to business meetings, per convention: the meetings linked, the needs of the
    year linked, and the contracts awarded in the year (need, suppliers, amount) that came of them."""
    start, end = _year(year)
    fields = {"status": 1, "drafted_at": 1, "awarded_at": 1, "contract": 1, "meetings": 1, "buyer_id": 1}
    drafted = await db[NEEDS].find({"drafted_at": {"$gte": start, "$lt": end}}, fields).to_list()
    awarded = await db[NEEDS].find({"awarded_at": {"$gte": start, "$lt": end}}, fields).to_list()
    drafted_ids = [n["_id"] for n in drafted]

    per_status = Counter(n["status"] for n in drafted)
    funnels = await funnel_counts(db, drafted_ids)
    funnel = {step: sum(f[step] for f in funnels.values()) for step in FUNNEL_COUNTS}

    answers: Counter[str] = Counter()
    transacted = 0
    async for s in db[IMPACT_SURVEYS].find({"need_id": {"$in": drafted_ids}, "answer": {"$ne": None}},
                                           {"answer": 1, "amount_cents": 1, "respondent": 1}):
        answers[f"{s['respondent']}_{s['answer']}"] += 1
        if s["answer"] == "yes" and s.get("respondent") == "buyer":
            transacted += s.get("amount_cents") or 0

    conventions: dict[str, dict[str, Any]] = defaultdict(lambda: {"meetings": set(), "needs": set(), "contracts": {}})
    meeting_ids: set[str] = set()
    awarded_ids = {n["_id"] for n in awarded}
    for need in {n["_id"]: n for n in [*drafted, *awarded]}.values():
        for link in need.get("meetings") or []:
            entry = conventions[link["convention_id"]]
            entry["meetings"].add(link["meeting_id"])
            meeting_ids.add(link["meeting_id"])
            if need["_id"] in drafted_ids:
                entry["needs"].add(need["_id"])
            if need["_id"] in awarded_ids and need.get("contract"):
                award = need["contract"]
                entry["contracts"][need["_id"]] = {
                    "need_id": need["_id"], "buyer_id": need["buyer_id"], "supplier_ids": award["supplier_ids"],
                    "grouping_id": award.get("grouping_id"), "amount_cents": award["amount_cents"],
                    "awarded_at": award["awarded_at"]}
    signed = {m["_id"]: m.get("outcome_amount_cents") or 0
              async for m in db[CONVENTION_MEETINGS].find({"_id": {"$in": sorted(meeting_ids)},
                                                           "outcome": "contract_signed"},
                                                          {"outcome_amount_cents": 1})}
    by_convention = []
    for convention_id, entry in sorted(conventions.items()):
        contracts = sorted(entry["contracts"].values(), key=lambda c: (c["awarded_at"], c["need_id"]))
        by_convention.append({
            "convention_id": convention_id, "meetings_linked": len(entry["meetings"]),
            "needs_linked": len(entry["needs"]), "contracts": contracts, "contracts_count": len(contracts),
            "awarded_amount_cents": sum(c["amount_cents"] for c in contracts),
            "meetings_reported_signed": sum(1 for m in entry["meetings"] if m in signed),
            "reported_signed_amount_cents": sum(signed[m] for m in entry["meetings"] if m in signed)})
    return {
        "year": year,
        "needs": len(drafted),
        "needs_per_status": dict(sorted(per_status.items())),
        "awarded": len(awarded),
        "awarded_amount_cents": sum((n.get("contract") or {}).get("amount_cents", 0) for n in awarded),
        "funnel": funnel,
        "impact_answers": dict(sorted(answers.items())),
        "impact_transacted_amount_cents": transacted,
        "needs_linked_to_conventions": sum(1 for n in drafted if n.get("meetings")),
        "conventions": by_convention,
    }
