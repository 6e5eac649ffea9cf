"""The search index catches up with the database before each search: each lane's marks newer than the
version it holds, one catch-up at a time, and a search waits for one begun after it arrived."""
from __future__ import annotations

import asyncio
from typing import Any

from reference import geo
from runtime import members
from services.procurement.adapters.supplier_search import SupplierSearch
from services.procurement.adapters.suppliers import (SEARCH_MARKS, SEARCH_STATE, SUPPLIERS, organisation_mark,
                                                     supplier_mark)
from services.procurement.domain.sourcing import SearchQuery


def _matches(doc: dict, query: dict) -> bool:
    for key, want in query.items():
        if key == "$or":
            if not any(_matches(doc, alternative) for alternative in want):
                return False
            continue
        value = doc.get(key)
        if isinstance(want, dict) and "$in" in want:
            if value not in want["$in"]:
                return False
        elif isinstance(want, dict) and "$gt" in want:
            if value is None or not value > want["$gt"]:
                return False
        elif value != want:
            return False
    return True


class Cursor:
    def __init__(self, docs: list[dict], gate: asyncio.Event | None = None) -> None:
        self.docs, self.gate = docs, gate

    def batch_size(self, _: int) -> Cursor:
        return self

    def limit(self, n: int) -> Cursor:
        return Cursor(self.docs[:n], self.gate)

    async def to_list(self) -> list[dict]:
        await asyncio.sleep(0)
        if self.gate is not None:
            await self.gate.wait()  # a test may hold the answer back: it was read before what commits meanwhile
        return [dict(d) for d in self.docs]

    def __aiter__(self):
        async def gen():
            for d in self.docs:
                yield dict(d)
        return gen()


class Collection:
    def __init__(self, db: FakeDb, name: str) -> None:
        self.db, self.name = db, name

    def find(self, query: dict, projection: Any = None) -> Cursor:
        self.db.reads.append(self.name)
        return Cursor([dict(d) for d in self.db.data.setdefault(self.name, {}).values() if _matches(d, query)],
                      self.db.gate if self.name == SEARCH_STATE else None)


class FakeDb:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, dict]] = {}
        self.reads: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    def __getitem__(self, name: str) -> Collection:
        return Collection(self, name)

    def commit(self, *, suppliers: list[dict] = (), standing: dict[str, bool] | None = None,
               lane: str = "commands:0") -> None:
        """What a transaction of the service commits: the documents, its lane's version, the marks."""
        state = self.data.setdefault(SEARCH_STATE, {}).setdefault(lane, {"_id": lane, "seq": 0})
        state["seq"] += 1
        keys = [supplier_mark(doc["_id"]) for doc in suppliers] + [organisation_mark(org) for org in standing or {}]
        for doc in suppliers:
            self.data.setdefault(SUPPLIERS, {})[doc["_id"]] = doc
        for org, good in (standing or {}).items():
            self.data.setdefault(members.STANDING, {})[org] = {"_id": org, "in_good_standing": good}
        for key in keys:
            self.data.setdefault(SEARCH_MARKS, {})[f"{lane}|{key}"] = {"_id": f"{lane}|{key}", "lane": lane,
                                                                        "key": key, "seq": state["seq"]}


def supplier(sid: str, *, org: str | None = None, sectors=("food",), status: str = "active") -> dict:
    c = geo.commune("93048")
    return {"_id": sid, "organisation_id": org or f"org-{sid}", "identity": {"name": sid, "legal_form": "scop"},
            "sectors": list(sectors), "kinds": [], "labels": [], "services": [], "status": status, "version": 1,
            "base": {"commune": c.code, "commune_name": c.name, "departement": c.departement, "lat": c.lat,
                     "lon": c.lon, "approximate": False},
            "serves": {"departements": [], "communes": [], "radius_km": None}, "references": [],
            "past_contracts": [], "capacity": {}}


def found(index, **query) -> list[str]:
    return sorted(h.row.id for h in index.search(SearchQuery(limit=100, **query)).hits)


async def test_a_search_sees_every_change_committed_before_it():
    db = FakeDb()
    db.commit(suppliers=[supplier("s1"), supplier("s2")], standing={"org-s1": True})
    search = SupplierSearch(db)  # type: ignore[arg-type]
    index = await search.fresh()
    assert found(index) == ["s1", "s2"] and found(index, member_only=True) == ["s1"] and search.loads == 1
    db.commit(suppliers=[supplier("s2", sectors=("cleaning",)), supplier("s3"), supplier("s1", status="archived")])
    db.commit(standing={"org-s1": False, "org-s3": True})
    index = await search.fresh()
    assert search.loads == 1 and search.catch_ups == 1  # caught up, not reloaded
    assert found(index) == ["s2", "s3"] and found(index, sectors=("cleaning",)) == ["s2"]
    assert found(index, member_only=True) == ["s3"]
    db.reads.clear()
    await search.fresh()
    assert db.reads == [SEARCH_STATE] and search.catch_ups == 1  # nothing new: one point read


async def test_concurrent_searches_share_catch_ups_and_wait_for_one_begun_after_them():
    db = FakeDb()
    db.commit(suppliers=[supplier("s1")])
    search = SupplierSearch(db)  # type: ignore[arg-type]
    await search.fresh()
    db.gate.clear()  # the answer of the next generation read is held back
    first = asyncio.create_task(search.fresh())
    await asyncio.sleep(0.01)  # the first catch-up has read the generation
    db.commit(suppliers=[supplier("s2")])  # committed after that read, before the searches below
    later = [asyncio.create_task(search.fresh()) for _ in range(5)]
    await asyncio.sleep(0.01)
    db.gate.set()
    await asyncio.gather(first, *later)
    assert found(search.index) == ["s1", "s2"]  # the later ones did not make do with the first catch-up
    assert db.reads.count(SEARCH_STATE) == 3  # the first load, the first search's, one shared by the five


async def test_each_lane_is_followed_by_its_own_version():
    """Lanes count on their own: a mark of a lane whose version is below another lane's is still news."""
    db = FakeDb()
    db.commit(suppliers=[supplier("s1")], lane="membership.members:0")
    search = SupplierSearch(db)  # type: ignore[arg-type]
    await search.fresh()
    db.commit(suppliers=[supplier("s2")], lane="membership.members:0")  # version 2 of its lane
    db.commit(standing={"org-s1": True}, lane="membership.members:3")  # version 1 of another
    index = await search.fresh()
    assert found(index) == ["s1", "s2"] and found(index, member_only=True) == ["s1"]
    assert search.versions == {"membership.members:0": 2, "membership.members:3": 1} and search.loads == 1
    db.reads.clear()
    db.commit(standing={"org-s2": True}, lane="commands:5")
    index = await search.fresh()
    assert found(index, member_only=True) == ["s1", "s2"] and db.reads[0] == SEARCH_STATE
