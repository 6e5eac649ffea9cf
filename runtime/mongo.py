"""MongoDB through PyMongo's native async API, and the unit of work.

A command runs inside :meth:`Database.transaction`: the aggregates it saves and the events they
recorded are written in one multi-document transaction (the transactional outbox), retried
as a whole on transient transaction errors by PyMongo's ``with_transaction``.

**Stored forms.** A collection may be stored in another form than its aggregate's dump: a
:class:`StoredForm` (``store(doc)`` before a write, ``load(doc)`` after a read) declared by the
service (``ServiceDefinition.stored_forms``) and given to the :class:`Database`. Every versioned save
(:meth:`Transaction.save`) and every read of an aggregate (``get``, ``find``, ``page`` with a model)
applies it, so no command can forget it; raw reads and writes call :meth:`Database.loaded` /
:meth:`Transaction.stored`. Used for what is kept beside or instead of a value: the keyed hash of
each e-mail (found by an indexed query on erasure, :mod:`runtime.privacy`), secrets encrypted at
rest (:mod:`runtime.sealing`).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from pymongo.write_concern import WriteConcern

from contracts.base import DomainEvent
from runtime import logging as log_context
from runtime import metrics
from runtime.aggregate import Aggregate
from runtime.errors import ConcurrencyConflict, Conflict, NotFound
from runtime.settings import Settings

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

OUTBOX = "outbox"
PROCESSED = "processed_events"
REBUILDS = "rebuilds"  # one document per rebuilt projection; ``targets``: its collections' current names
SESSIONS = "process_sessions"  # {_id: <process name>, lsids}: the server sessions a named process ran transactions in
SESSIONS_KEPT = 1_000  # the last this many of a process's sessions (PyMongo pools and reuses them: a few dozen)
ALIAS_REFRESH_SECONDS = 1.0  # how often a process reads the targets again (a rebuild waits for it)
RETRIES_LOGGED_EVERY = 10  # a transaction run again this many times is logged (then every as many more)

log = logging.getLogger(__name__)


class RequestUnit(Protocol):
    """A unit of work an HTTP request runs in (:mod:`runtime.idempotency`): the commands of the request
    join its transaction instead of opening their own."""

    def joins(self) -> Transaction | None:
        """The transaction a ``transaction(...)`` called now joins, or None (e.g. from another task)."""

    async def joining(self, tx: Transaction) -> None:
        """Called as a command joins (in the transaction), before its work."""


#: The request's unit of work, while a request that runs in one is being handled.
REQUEST_UNIT: ContextVar[RequestUnit | None] = ContextVar("request_unit", default=None)


Document = dict[str, Any]


def _same(doc: Document) -> Document:
    return doc


@dataclass(frozen=True)
class StoredForm:
    """How the documents of one collection are stored: ``store`` turns an aggregate's document into
    what is written, ``load`` a read document back into what the aggregate reads. Both take and
    return a document (they may change it in place)."""

    store: Callable[[Document], Document] = _same
    load: Callable[[Document], Document] = _same


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def stored_instant(moment: datetime) -> str:
    """An instant as aggregates store it (UTC, ISO 8601 with ``Z``, what ``model_dump(mode="json")``
    writes): such strings compare as the instants do, so queries and direct writes use this form."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Transaction:
    """What a command or a message handler sees: the database and the open session.

    ``save`` writes an aggregate with optimistic concurrency and queues the events it
    recorded; they go to the outbox in the same transaction, when the work returns.
    """

    db: AliasedDatabase | Any  # the service's database (or a rebuild's view of it)
    session: AsyncClientSession
    source: str
    correlation_id: str | None = None
    causation_id: str | None = None
    #: where the event being handled was read ("<topic>:<partition>"), set by consumers per record;
    #: None for a command or a rebuild. Handlers that keep a counter may keep one per lane: a
    #: partition has one reader at a time, so such counters do not make concurrent consumers conflict.
    lane: str | None = None
    events: list[DomainEvent] = field(default_factory=list)
    staged: dict[str, list] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)  # values handlers take once per transaction (a sequence…)
    forms: dict[str, StoredForm] = field(default_factory=dict)  # the database's stored forms, by collection

    async def lane_version(self, collection: str, lane: str, field: str) -> int:
        """The next version of ``lane``'s counter (``collection``'s document ``{_id: lane, <field>}``), taken
        once per lane and transaction (a batch reading several partitions takes one of each).

        Two transactions of one lane write its counter, so they commit one after the other and its
        versions follow its commits: a reader that read version *v* of a lane can trust everything
        stamped with that lane up to *v* to be there. One counter per lane rather than one for all: a
        partition has one reader at a time, so concurrent consumers do not conflict on it (the
        observatory's ledger, procurement's supplier search)."""
        taken: dict[str, int] = self.memo.setdefault(collection, {})
        if lane not in taken:
            state = await self.db[collection].find_one_and_update(
                {"_id": lane}, {"$inc": {field: 1}}, upsert=True, return_document=ReturnDocument.AFTER,
                session=self.session)
            taken[lane] = int(state[field])
        return taken[lane]

    def stored(self, collection: str, doc: Document) -> Document:
        """``doc`` in the form ``collection`` stores (for a raw write: ``insert_many`` of documents)."""
        form = self.forms.get(collection)
        return doc if form is None else form.store(doc)

    def loaded(self, collection: str, doc: Document) -> Document:
        """A document read raw from ``collection`` in the form its aggregate reads."""
        form = self.forms.get(collection)
        return doc if form is None else form.load(doc)

    def collection(self, name: str) -> AsyncCollection:
        return self.db[name]

    def stage(self, collection: str, operation: Any) -> None:
        """Queue a write (``UpdateOne``, ``InsertOne``…) for one ordered ``bulk_write`` per collection
        when the work returns, still inside the transaction.

        For handlers of many events in one batch (projections): one round trip instead of one
        per event. Reads in the same transaction do not see staged writes yet.
        """
        self.staged.setdefault(collection, []).append(operation)

    async def flush(self) -> None:
        for name, operations in self.staged.items():
            if operations:
                await self.db[name].bulk_write(operations, ordered=True, session=self.session)
        self.staged.clear()

    async def get(self, collection: str, model: type[A], aggregate_id: str) -> A:
        doc = await self.db[collection].find_one({"_id": aggregate_id}, session=self.session)
        if doc is None:
            raise NotFound(f"{model.__name__} {aggregate_id!r} not found", resource=model.__name__, id=aggregate_id)
        return from_document(model, self.loaded(collection, doc))

    async def find(self, collection: str, model: type[A], aggregate_id: str) -> A | None:
        doc = await self.db[collection].find_one({"_id": aggregate_id}, session=self.session)
        return None if doc is None else from_document(model, self.loaded(collection, doc))

    async def save(self, collection: str, aggregate: Aggregate, *, conflict: str | None = None) -> None:
        """Insert (version 0) or update (same version as read) ``aggregate``; bump its version.

        ``conflict`` is the message for a duplicate key on insert (e.g. an already known SIRET).
        """
        doc = self.stored(collection, to_document(aggregate))
        expected = aggregate.version
        doc["version"] = expected + 1
        coll = self.db[collection]
        if expected == 0:
            try:
                await coll.insert_one(doc, session=self.session)
            except DuplicateKeyError as exc:
                raise Conflict(conflict or f"{type(aggregate).__name__} {aggregate.id!r} already exists",
                               key=str((exc.details or {}).get("keyValue", ""))) from None
        else:
            try:
                result = await coll.replace_one({"_id": aggregate.id, "version": expected}, doc, session=self.session)
            except DuplicateKeyError:
                raise Conflict(conflict or f"{type(aggregate).__name__} {aggregate.id!r} conflicts with another") from None
            if result.matched_count != 1:
                current = await coll.find_one({"_id": aggregate.id}, {"version": 1}, session=self.session)
                now = "no longer exists" if current is None else f"is at version {current.get('version')}"
                raise ConcurrencyConflict(
                    f"{type(aggregate).__name__} {aggregate.id!r} was changed by someone else: it {now}, "
                    f"not {expected} as read; read it again and retry",
                    current_version=None if current is None else current.get("version"))
        aggregate.version = expected + 1
        self.events.extend(aggregate.pull_events())


def to_document(aggregate: Aggregate) -> dict[str, Any]:
    doc = aggregate.model_dump(mode="json")
    doc["_id"] = doc.pop("id")
    return doc


def from_document(model: type[A], doc: dict[str, Any]) -> A:
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return model.model_validate(doc)


class AliasedDatabase:
    """The service's database as its code sees it: a collection that a rebuild replaced
    (:mod:`runtime.rebuild`) is reached by its usual name (``db["ledger"]``) and lives under
    another (``ledger__rebuild_20370101T000000_ab12``); :meth:`resolve` gives the name in force.
    Everything else is the PyMongo database's."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.raw = db
        self.aliases: dict[str, str] = {}  # usual name → the collection that holds it now

    def resolve(self, name: str) -> str:
        return self.aliases.get(name, name)

    def __getitem__(self, name: str) -> AsyncCollection:
        return self.raw[self.resolve(name)]

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> AsyncCollection:
        return self.raw.get_collection(self.resolve(name), *args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.raw, attribute)

    async def refresh(self) -> None:
        """Read the rebuilt collections' current names again (one small query)."""
        aliases: dict[str, str] = {}
        async for doc in self.raw[REBUILDS].find({"targets": {"$exists": True}}, {"targets": 1}):
            aliases.update(doc["targets"])
        self.aliases = aliases


class Database:
    """The service's database: one client per process, one database per service.

    :meth:`open` before use: it learns which collections rebuilds replaced and keeps following
    them (every :data:`ALIAS_REFRESH_SECONDS`) until :meth:`close`."""

    def __init__(self, settings: Settings, forms: dict[str, StoredForm] | None = None) -> None:
        self.settings = settings
        self.forms: dict[str, StoredForm] = dict(forms or {})  # stored forms by collection (module docstring)
        self.client: AsyncMongoClient = AsyncMongoClient(
            settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=3000,
            appname=f"cress-{settings.service_name}")
        self.db = AliasedDatabase(self.client[settings.mongodb_database])
        self._on_commit: Callable[[list[str]], None] | None = None  # wakes the outbox relay up
        self._following: asyncio.Task | None = None
        self.process = settings.kafka_group_instance  # this process's name, the same after a restart (or None)
        self._recorded: set[bytes] = set()  # the server sessions recorded under that name

    async def end_predecessor_sessions(self) -> int:
        """At start, before any transaction: kill the server sessions that the previous process of this name
        ran transactions in (``killSessions``), which aborts any transaction it left open when it died.

        Why: a process SIGKILLed inside a transaction leaves it open, holding its writes, until the server
        aborts it (MongoDB's ``transactionLifetimeLimitSeconds``, 60 s by default; 10 s on the embedded
        stack). The restarted process's first transactions meet those writes — its consumers' batches
        write the same counters and projections — and ran again and again until then: ``make chaos``
        measured recoveries of 11–12 s, 10 of them waiting. A process records each server session in
        :data:`SESSIONS` before its first transaction in it (:meth:`transaction`), so its successor,
        started under the same name (``KAFKA_GROUP_INSTANCE``: the embedded stack's port, the image's host
        name), knows which to kill. Without a name nothing is recorded and the lifetime still applies.
        Two running processes with one name would kill each other's transactions (as Kafka fences their
        consumers): the name is the process's own. Returns how many sessions were killed."""
        if self.process is None:
            return 0
        doc = await self.db.raw[SESSIONS].find_one({"_id": self.process})
        lsids = list((doc or {}).get("lsids") or [])
        if lsids:
            await self.client.admin.command("killSessions", [{"id": lsid} for lsid in lsids])
            await self.db.raw[SESSIONS].update_one({"_id": self.process}, {"$pullAll": {"lsids": lsids}})
            log.info("killed the %d server sessions of the previous %s process (its open transactions aborted)",
                     len(lsids), self.process)
        return len(lsids)

    async def _record(self, session: AsyncClientSession) -> None:
        """Record ``session``'s server session under this process's name, once (see
        :meth:`end_predecessor_sessions`): before the first transaction in it, so a process killed inside that
        transaction has it recorded."""
        if self.process is None:
            return
        lsid = session.session_id["id"]
        if lsid in self._recorded:
            return
        await self.db.raw[SESSIONS].update_one(
            {"_id": self.process}, {"$push": {"lsids": {"$each": [lsid], "$slice": -SESSIONS_KEPT}}}, upsert=True)
        self._recorded.add(lsid)

    def __getitem__(self, name: str) -> AsyncCollection:
        return self.db[name]

    async def open(self) -> Database:
        """Read the rebuilt collections' names, then follow them in the background."""
        await self.db.refresh()
        if self._following is None:
            self._following = asyncio.create_task(self._follow(), name="collection-aliases")
        return self

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(ALIAS_REFRESH_SECONDS)
            try:
                await self.db.refresh()
            except Exception as exc:  # noqa: BLE001 — the database is away: keep the names known, try again
                log.debug("collection aliases not refreshed: %s", exc)

    async def ping(self, timeout: float = 2.0) -> None:
        await asyncio.wait_for(self.client.admin.command("ping"), timeout)

    async def close(self) -> None:
        if self._following is not None:
            self._following.cancel()
            await asyncio.gather(self._following, return_exceptions=True)
            self._following = None
        await self.client.close()

    async def get(self, collection: str, model: type[A], aggregate_id: str) -> A:
        """One aggregate by id, outside a transaction (a query); :class:`NotFound` names it."""
        doc = await self.db[collection].find_one({"_id": aggregate_id})
        if doc is None:
            raise NotFound(f"{model.__name__} {aggregate_id!r} not found", resource=model.__name__, id=aggregate_id)
        return from_document(model, self.loaded(collection, doc))

    def loaded(self, collection: str, doc: Document) -> Document:
        """A document read raw from ``collection`` in the form its aggregate reads."""
        form = self.forms.get(collection)
        return doc if form is None else form.load(doc)

    async def page(self, collection: str, query: dict[str, Any], *, sort: list, limit: int, offset: int,
                   model: type[A] | None = None) -> tuple[list, int]:
        """One page of ``query`` (as aggregates of ``model``, or the documents) and how many match in all."""
        total = await self.db[collection].count_documents(query)
        docs = await self.db[collection].find(query).sort(sort).skip(offset).limit(limit).to_list()
        return ([from_document(model, self.loaded(collection, d)) for d in docs] if model is not None else docs), total

    def on_commit(self, callback: Callable[[list[str]], None]) -> None:
        """``callback(ids)`` after each commit that wrote outbox records (their ids)."""
        self._on_commit = callback

    async def transaction(self, work: Callable[[Transaction], Awaitable[T]], *,
                          correlation_id: str | None = None, causation_id: str | None = None,
                          within: Transaction | None = None, conflict_retries: int = 0) -> T:
        """Run ``work`` in one transaction with the outbox records of the events it recorded.

        The whole of ``work`` is retried on transient transaction errors (write conflicts),
        so it must only read and write through the transaction it is given.

        ``within``: run ``work`` inside that transaction instead of a new one (a command called by
        a consumer's handler, or by another command): its writes and events commit, or not, with
        the rest of that transaction.

        ``conflict_retries``: run ``work`` again, on fresh state, when it ends in a
        :class:`ConcurrencyConflict` (someone saved the same aggregate first) — for commands that
        many clients send at once on one aggregate and whose outcome the new state decides (a
        second scan of a badge answers "already checked in"). Without it the conflict is a 409.

        Within an HTTP request that runs in a unit of work of its own (:data:`REQUEST_UNIT`: a request
        carrying an ``Idempotency-Key``), ``work`` joins that request's transaction, as with ``within``
        (``conflict_retries`` does not apply there: a conflict runs the whole request again).
        """
        from runtime.outbox import append_to_outbox  # the outbox module imports this one

        if within is None and (unit := REQUEST_UNIT.get()) is not None and (joined := unit.joins()) is not None:
            await unit.joining(joined)
            within = joined
        if within is not None:
            return await work(within)

        cid = correlation_id or log_context.correlation_id.get()
        published: list[str] = []
        attempts, started = 0, time.monotonic()

        async def callback(session: AsyncClientSession) -> T:
            nonlocal published, attempts
            attempts += 1
            if attempts > 1:  # PyMongo runs it again after a write conflict, for up to 120 s
                metrics.TRANSACTION_RETRIES.labels(self.settings.service_name).inc()
                if attempts % RETRIES_LOGGED_EVERY == 0:
                    log.warning("a transaction ran %d times in %.1f s: write conflicts with concurrent ones "
                                "(cress_transaction_retries_total)", attempts, time.monotonic() - started)
            tx = Transaction(self.db, session, self.settings.source, correlation_id=cid, causation_id=causation_id,
                             forms=self.forms)
            result = await work(tx)
            await tx.flush()
            # of the attempt that commits (a retried one starts again)
            published = await append_to_outbox(tx) if tx.events else []
            return result

        for attempt in range(conflict_retries + 1):
            try:
                async with self.client.start_session() as session:
                    await self._record(session)
                    # Majority write concern: a commit survives a primary failover (consumers commit
                    # their offsets after it). The default read concern suffices: the versioned save
                    # and the server's write-conflict detection reject concurrent changes ("snapshot"
                    # cost ~15 %).
                    result = await session.with_transaction(callback, write_concern=WriteConcern("majority"))
                break
            except ConcurrencyConflict:
                if attempt == conflict_retries:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        if published and self._on_commit is not None:
            self._on_commit(published)  # only commits that wrote to the outbox wake the relay
        return result
