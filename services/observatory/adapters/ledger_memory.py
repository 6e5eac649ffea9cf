"""The ledger in memory: what the activity report reads, kept in step with the ``ledger`` collection.

SecantusDB reads some 10,000 documents a second: a report that read its year's rows from the
database on every request would take seconds with 200,000 events. Each process keeps instead a copy
of the ledger's rows (grouped by event type), loaded once (at start, by the ``ledger-memory`` job,
or at the first report) and topped up with the rows appended since (those whose ``mark`` is above
the version it last saw: :func:`services.observatory.adapters.ledger.mark`). A rebuild that replaced
the collection (its generation changed) makes it load everything again.

Every figure still comes from the ledger's rows; the copy is only where they are read from. Asking
costs two small reads (the version and the generation) at most every :data:`FRESH_FOR` seconds per
database, whoever asks: under load, reports may trail the ledger by that much — the ledger itself
trails the other services by their consumers' lag.
"""
from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from runtime.mongo import Database
from runtime.rebuild import generation
from services.observatory.adapters.ledger import LEDGER, mark, row_of_document
from services.observatory.domain.ledger import LedgerRow

_FIELDS = {"mark": 0}
FRESH_FOR = 0.5  # seconds a checked copy is taken as fresh


@dataclass
class Snapshot:
    """The rows of one database's ledger as of ``version`` (and the collection's ``generation``)."""

    version: int = -1
    generation: int = -1
    checked: float = float("-inf")  # monotonic time of the last check against the database
    by_type: dict[str, dict[str, LedgerRow]] = field(default_factory=lambda: defaultdict(dict))

    @property
    def rows(self) -> int:
        return sum(len(rows) for rows in self.by_type.values())

    def add(self, docs: Iterable[dict]) -> None:
        for doc in docs:
            row = row_of_document(doc)
            self.by_type[row.type][row.id] = row

    def select(self, types: Iterable[str], until: date, where: Callable[[LedgerRow], bool] | None = None,
               since: date | None = None) -> list[LedgerRow]:
        """The rows of ``types`` dated on or before ``until`` (and on or after ``since``) that ``where`` keeps."""
        found = []
        for name in types:
            for row in self.by_type.get(name, {}).values():
                if row.on <= until and (since is None or row.on >= since) and (where is None or where(row)):
                    found.append(row)
        return found


class LedgerMemory:
    """The in-memory copies of the ledger, one per database (tests run several in one process)."""

    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self.locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def fresh(self, db: Database) -> Snapshot:
        """The copy of ``db``'s ledger, topped up with what was appended since it was last asked."""
        name = db.db.name
        current = self.snapshots.get(name)
        if current is not None and time.monotonic() - current.checked < FRESH_FOR:
            return current
        async with self.locks[name]:  # one check at a time; those who waited take its result
            current = self.snapshots.get(name) or Snapshot()
            if time.monotonic() - current.checked < FRESH_FOR:
                return current
            checked = time.monotonic()
            version, gen = await mark(db), await generation(db, "ledger", LEDGER)  # before the rows
            if gen != current.generation:
                loaded = Snapshot(version=version, generation=gen)
                loaded.add([doc async for doc in db[LEDGER].find({}, _FIELDS)])
                self.snapshots[name] = current = loaded
            elif version != current.version:
                current.add([doc async for doc in db[LEDGER].find({"mark": {"$gt": current.version}}, _FIELDS)])
                current.version = version
            current.checked = checked
            return current


MEMORY = LedgerMemory()
