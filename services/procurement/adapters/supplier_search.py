"""The in-memory search index of the supplier profiles, kept up to date from MongoDB.

Why: see :mod:`services.procurement.domain.sourcing` (SecantusDB answers a faceted search over
20,000 suppliers in seconds, the index in milliseconds).

Freshness. Before each search, :meth:`SupplierSearch.fresh` reads the versions of the search's lanes
(one small query; see :mod:`services.procurement.adapters.suppliers`); for each lane that moved, it
reads the lane's marks newer than the version it holds, and reloads those suppliers (projected to
their search fields) and those organisations' member standing. So a search sees every change
committed before it began — in this process or another, by a command or by a consumer of membership's events.
Concurrent searches share catch-ups: a search waits for the first one that began after it
arrived (one at a time), and runs it if nobody has.

The first search of a process loads every active supplier (about 3 s for 20,000 on SecantusDB);
the ``supplier-search`` job does it in the background shortly after start-up, and keeps the index
warm afterwards.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

from runtime import members
from runtime.mongo import Database
from services.procurement.adapters.suppliers import SEARCH_MARKS, SEARCH_STATE, SUPPLIERS
from services.procurement.domain.sourcing import PROJECTION, SupplierIndex, SupplierRow

log = logging.getLogger(__name__)

FULL_RELOAD_MARKS = 5_000  # beyond this many changes at once, reload everything (one scan, no $in of ids)
_CHUNK = 1_000


class SupplierSearch:
    """The index and the version of each lane it reflects."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.index: SupplierIndex | None = None
        self.versions: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._started = 0  # catch-ups begun (each reads the lanes' versions right after it begins)
        self._finished = 0  # the number of the last catch-up that completed
        self.loads = 0  # full loads (for tests and logs)
        self.catch_ups = 0

    async def fresh(self) -> SupplierIndex:
        """The index, with every change committed before this call."""
        needed = self._started + 1  # a catch-up begun after this call
        async with self._lock:  # one catch-up at a time, in arrival order
            if self._finished < needed or self.index is None:
                self._started += 1
                number = self._started
                await self._sync()
                self._finished = number
        assert self.index is not None
        return self.index

    async def _sync(self) -> None:
        versions = {doc["_id"]: int(doc["seq"]) for doc in await self.db[SEARCH_STATE].find({}).to_list()}
        if self.index is None:
            await self._load(versions)
            return
        moved = [lane for lane, version in versions.items() if version > self.versions.get(lane, 0)]
        if not moved:
            return
        marks = await self.db[SEARCH_MARKS].find(
            {"$or": [{"lane": lane, "seq": {"$gt": self.versions.get(lane, 0)}} for lane in moved]},
            {"key": 1}).limit(FULL_RELOAD_MARKS + 1).to_list()
        if len(marks) > FULL_RELOAD_MARKS:
            await self._load(versions)
            return
        keys = {m["key"] for m in marks}
        supplier_ids = sorted(key[2:] for key in keys if key.startswith("s:"))
        organisation_ids = {key[2:] for key in keys if key.startswith("o:")}
        index = self.index
        for start in range(0, len(supplier_ids), _CHUNK):
            chunk = supplier_ids[start:start + _CHUNK]
            docs = {d["_id"]: d for d in await self.db[SUPPLIERS].find({"_id": {"$in": chunk}}, PROJECTION).to_list()}
            for supplier_id in chunk:
                doc = docs.get(supplier_id)
                row = _row(doc) if doc is not None and doc.get("status") == "active" else None
                if row is None:
                    index.remove(supplier_id)
                else:
                    index.put(row)
                    organisation_ids.add(row.organisation_id)
        await self._standing(index, sorted(organisation_ids))
        # only as far as the versions read first: marks beyond them (seen or not) are read again next time
        for lane in moved:
            self.versions[lane] = versions[lane]
        self.catch_ups += 1

    async def _load(self, versions: dict[str, int]) -> None:
        started = time.perf_counter()
        index = SupplierIndex()
        async for doc in self.db[SUPPLIERS].find({"status": "active"}, PROJECTION).batch_size(2_000):
            row = _row(doc)
            if row is not None:
                index.put(row)
        async for doc in self.db[members.STANDING].find({"in_good_standing": True}, {"_id": 1}):
            index.set_standing(doc["_id"], True)
        self.index, self.versions = index, dict(versions)
        self.loads += 1
        # The index is long-lived (about a million objects for 20,000 suppliers): out of the cyclic
        # garbage collector's sight, a full collection no longer walks it (pauses of tens of ms under load).
        gc.collect()
        gc.freeze()
        log.info("supplier search index loaded: %d suppliers in %.1f s (%d changes in %d lanes)", len(index),
                 time.perf_counter() - started, sum(versions.values()), len(versions))

    async def _standing(self, index: SupplierIndex, organisation_ids: list[str]) -> None:
        for start in range(0, len(organisation_ids), _CHUNK):
            chunk = organisation_ids[start:start + _CHUNK]
            good: dict[str, Any] = {d["_id"]: d for d in await self.db[members.STANDING].find(
                {"_id": {"$in": chunk}}, {"in_good_standing": 1}).to_list()}
            for organisation_id in chunk:
                index.set_standing(organisation_id, bool((good.get(organisation_id) or {}).get("in_good_standing")))


def _row(doc: dict[str, Any]) -> SupplierRow | None:
    """The search row of a document; None (logged) for one no search can use (not written by this
    area's repository: another area's test data, say)."""
    try:
        return SupplierRow.from_document(doc)
    except ValueError as exc:
        log.warning("%s; left out of the search", exc)
        return None
