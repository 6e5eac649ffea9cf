"""Where the observatory keeps its aggregates and read models in MongoDB, and their indexes.

- ``facts`` — :class:`~services.observatory.domain.records.Fact` (``_id`` "fct-…");
- ``objectives`` — :class:`~services.observatory.domain.records.Objective` (``_id`` "obj-…");
- ``organisations``, ``member_standing`` — membership's organisations and member standing with its
  history (:mod:`runtime.members`);
- ``ledger`` — the compact log of the other services' events the report reads
  (:mod:`services.observatory.adapters.ledger`).
"""
from __future__ import annotations

from runtime import members
from runtime.mongo import Database
from services.observatory.adapters import directory, ledger

FACTS = "facts"
OBJECTIVES = "objectives"


async def ensure_indexes(db: Database) -> None:
    await ledger.ensure_indexes(db)
    await directory.ensure_indexes(db)
    await members.ensure_indexes(db)
    await db[FACTS].create_index([("year", 1), ("team", 1)])
    await db[OBJECTIVES].create_index([("team", 1), ("code", 1)])
