"""Where the governance aggregates live, their indexes, and the reads of the governance API.

The roll of voting rights on a date is computed from the members' documents (status history,
invoices, dated payments), the organisations' legal forms and the dated college assignments —
the same function the convocation uses (:func:`services.membership.domain.governance.roll_on`).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from pymongo import ASCENDING, DESCENDING

from runtime.mongo import Database, from_document
from services.membership.adapters.repository import MEMBERS, ORGANISATIONS
from services.membership.domain import LegalForm, Member
from services.membership.domain.governance import (BOARD_ID, Assembly, Board, CollegeAssignment, Commission,
                                                   RollEntry, Statutes, roll_on)

ASSEMBLIES = "assemblies"
BOARD = "board"
COMMISSIONS = "commissions"
COLLEGE_ASSIGNMENTS = "college_assignments"


async def ensure_governance_indexes(db: Database) -> None:
    await db[ASSEMBLIES].create_index([("sessions.0.meeting_on", DESCENDING)])
    await db[COMMISSIONS].create_index([("kind", ASCENDING), ("name", ASCENDING)])


async def roll_facts(db, on: date, session=None) -> tuple[list[Member], dict[str, LegalForm],
                                                           dict[str, CollegeAssignment]]:
    """What the roll on ``on`` is computed from: the memberships started by ``on``, their
    organisations' legal forms and college assignments. ``db`` is the service's database (or a
    transaction's, with its ``session``)."""
    docs = db[MEMBERS].find({"since": {"$lte": on.isoformat()}}, session=session)
    members = [from_document(Member, d) async for d in docs]
    org_ids = sorted({m.organisation_id for m in members})
    forms = {d["_id"]: LegalForm(d["legal_form"]) async for d in db[ORGANISATIONS].find(
        {"_id": {"$in": org_ids}}, {"legal_form": 1}, session=session)}
    assignments = {d["_id"]: from_document(CollegeAssignment, d) async for d in db[COLLEGE_ASSIGNMENTS].find(
        {"_id": {"$in": org_ids}}, session=session)}
    return members, forms, assignments


async def voting_rights_on(db: Database, statutes: Statutes, on: date) -> list[RollEntry]:
    members, forms, assignments = await roll_facts(db.db, on)
    return roll_on(members, forms, assignments, statutes, on)


async def get_assembly(db: Database, assembly_id: str) -> Assembly:
    return await db.get(ASSEMBLIES, Assembly, assembly_id)


async def list_assemblies(db: Database, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Assemblies, the latest session first (a summary each: no roll)."""
    projection = {"title": 1, "status": 1, "convened_on": 1, "reference_on": 1, "closed_on": 1,
                  "sessions.meeting_on": 1, "sessions.convocation_number": 1, "version": 1}
    total = await db[ASSEMBLIES].count_documents({})
    docs = await db[ASSEMBLIES].find({}, projection).sort([("sessions.0.meeting_on", -1), ("_id", 1)]) \
        .skip(offset).limit(limit).to_list()
    items = [{"id": d["_id"], "title": d["title"], "status": d["status"], "convened_on": d["convened_on"],
              "reference_on": d["reference_on"], "closed_on": d.get("closed_on"),
              "meeting_on": d["sessions"][-1]["meeting_on"],
              "convocation_number": d["sessions"][-1]["convocation_number"]} for d in docs]
    return items, total


async def get_board(db: Database) -> Board:
    doc = await db[BOARD].find_one({"_id": BOARD_ID})
    return Board.start() if doc is None else from_document(Board, doc)


async def get_commission(db: Database, commission_id: str) -> Commission:
    return await db.get(COMMISSIONS, Commission, commission_id)


async def list_commissions(db: Database, *, kind: str | None, limit: int, offset: int) -> tuple[list, int]:
    return await db.page(COMMISSIONS, {"kind": kind} if kind else {}, model=Commission,
                         sort=[("name", 1), ("_id", 1)], limit=limit, offset=offset)


async def get_college_assignment(db: Database, organisation_id: str) -> CollegeAssignment | None:
    doc = await db[COLLEGE_ASSIGNMENTS].find_one({"_id": organisation_id})
    return None if doc is None else from_document(CollegeAssignment, doc)
