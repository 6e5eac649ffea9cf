"""The ledger in memory: what the activity report reads, kept in step with the ``ledger`` collection.

SecantusDB reads some 10,000 documents a second: a report that read its year's rows from the
database on every request would take seconds with 200,000 events. Each process keeps instead a copy
of the ledger's rows (grouped by event type), loaded once (at start, by the ``ledger-memory`` job,
or at the first report) and topped up with the rows appended since (those whose ``mark`` is above
the version it last saw of their lane: :func:`services.observatory.adapters.ledger.marks`). A rebuild that replaced
the collection (the name the process resolves ``ledger`` to changed: :mod:`runtime.rebuild`) makes it
load everything again, from the collection of that name.

Every figure still comes from the ledger's rows; the copy is only where they are read from. Asking
costs one small read (the lanes' versions) at most every :data:`FRESH_FOR` seconds per
database, whoever asks: under load, reports may trail the ledger by that much — the ledger itself
trails the other services by their consumers' lag.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from runtime.mongo import Database
from services.observatory.adapters.freshness import Refreshed
from services.observatory.adapters.ledger import LEDGER, marks, row_of_document
from services.observatory.domain.ledger import LedgerRow

_FIELDS = {"mark": 0, "lane": 0}
FRESH_FOR = 0.5  # seconds a checked copy is taken as fresh
CHUNK = 500  # rows read (one server batch) and built at a time
PAUSE = 0.02  # seconds between two chunks of a load: the database serves the others meanwhile


@dataclass
class Snapshot:
    """The rows of one database's ledger as of ``marks`` (each lane's version), read from the
    collection ``generation`` (the name ``ledger`` resolved to: a rebuild changes it)."""

    marks: dict[str, int] = field(default_factory=dict)
    generation: str = ""
    by_type: dict[str, dict[str, LedgerRow]] = field(default_factory=lambda: defaultdict(dict))

    @property
    def version(self) -> int:
        """How many appending transactions the copy has seen, every lane's together (each lane's
        version only grows: a new row makes it a new number)."""
        return sum(self.marks.values())

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


async def _top_up(db: Database, current: Snapshot | None) -> Snapshot:
    """``current`` topped up with the rows appended since its versions — or the whole ledger, read
    again, when the collection that holds it changed (a rebuild)."""
    gen = db.db.resolve(LEDGER)
    versions, collection = await marks(db), db.db.raw[gen]  # the versions before the rows
    if current is None or gen != current.generation:
        loaded = Snapshot(marks=versions, generation=gen)
        await _read_into(loaded, collection.find({}, _FIELDS, batch_size=CHUNK))
        return loaded
    since = [{"lane": lane, "mark": {"$gt": current.marks.get(lane, 0)}}
             for lane, version in sorted(versions.items()) if version != current.marks.get(lane)]
    if since:
        await _read_into(current, collection.find({"$or": since}, _FIELDS, batch_size=CHUNK))
        current.marks = versions
    return current


async def _read_into(snapshot: Snapshot, cursor) -> None:
    """Add the rows of ``cursor``, :data:`CHUNK` at a time, pausing :data:`PAUSE` between two.

    A whole ledger (tens of thousands of rows: a report asked for just after a start loads it) read and
    built at once held up the process's consumers twice over (``make chaos``): its building took the
    event loop, and its reading the database, whose other transactions took 4 times as long meanwhile
    (median 45–66 ms instead of 12, on a 26,715-row ledger of SecantusDB). With the pauses they take
    18 ms, and the load 25 % longer (4.5 s instead of 3.6)."""
    docs: list[dict] = []
    async for doc in cursor:
        docs.append(doc)
        if len(docs) == CHUNK:
            snapshot.add(docs)
            docs = []
            await asyncio.sleep(PAUSE)
    snapshot.add(docs)


#: The in-memory copies of the ledger, one per database (tests run several in one process):
#: ``await MEMORY.fresh(db)`` is ``db``'s, topped up with what was appended since it was last asked.
MEMORY: Refreshed[Snapshot] = Refreshed(_top_up, FRESH_FOR)
