"""Where the procurement service keeps its aggregates and read models in MongoDB, and their indexes.

Each area declares its collections and indexes in its own adapter module; this one gathers them.
The copy of membership (organisations, member standing with history) is :mod:`runtime.members`.
"""
from __future__ import annotations

from runtime import members
from runtime.mongo import Database
from services.procurement.adapters import buyers, quotes
from services.procurement.adapters.diagnostics import ensure_diagnostic_indexes
from services.procurement.adapters.needs import ensure_need_indexes
from services.procurement.adapters import suppliers


async def ensure_indexes(db: Database) -> None:
    await members.ensure_indexes(db)
    await buyers.ensure_indexes(db)
    await quotes.ensure_indexes(db)
    await ensure_diagnostic_indexes(db)
    await ensure_need_indexes(db)
    await suppliers.ensure_indexes(db)
