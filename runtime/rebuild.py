"""Rebuild a projection from the event log, into new collections that replace the live ones when complete.

Every service may declare its projections (``ServiceDefinition.projections``): a name, the
:class:`~runtime.consumer.Consumer` definitions that keep it (the same ones the service runs) and
the collections it owns, e.g. the observatory's ledger::

    Projection("ledger", ledger_consumers, ("ledger",), indexes=ledger.ensure_indexes)

Usage::

    python -m runtime.rebuild observatory ledger          # one projection
    python -m runtime.rebuild observatory --all           # all of them
    make rebuild SERVICE=observatory [PROJECTIONS=ledger]

(the service's usual environment: ``MONGODB_URI``, ``KAFKA_BOOTSTRAP_SERVERS``…; a progress bar
counts the events read against the total the end offsets gave at the start).

How a rebuild runs (:func:`rebuild`):

1. **Leftovers**: collections ``<collection>__rebuild_*`` of an interrupted rebuild (a ``kill -9``)
   are dropped. The live collections were never touched by it.
2. **Replay**: a throwaway Kafka consumer (no group, nothing committed) is assigned every
   partition of the consumers' topics, seeks to the beginning, and notes the end offsets. Records up
   to those ends are decoded once and given to the **unchanged handlers** with a
   :class:`RebuildTransaction` whose ``tx.db`` maps the owned collection names to new ones
   (``ledger`` → ``ledger__rebuild_20370101T000000_ab12``); the other names pass through.
3. **Batches**: handlers that queue their writes with ``tx.stage(...)`` are written once per batch
   of thousands of events (:func:`flush_staged`): an ``UpdateOne({"_id": x}, {"$setOnInsert": doc},
   upsert=True)`` — insert-if-absent — becomes an unordered ``insert_many`` ignoring duplicate
   keys (the same outcome; an upsert costs about five inserts on SecantusDB). Other writes keep
   their order (one ordered ``bulk_write``). Handlers that write directly (``tx.db[c].update_one``)
   still work, one round trip each; ``tx.session`` is None: the new collections are nobody else's
   until the swap, and an interrupted rebuild is thrown away, never resumed. The next batch is read
   and decoded while the previous one is written.
4. **Idempotency**: the rebuild's own processed-event record is the set of (consumer, event id) it
   applied (kept in memory for the same reason): an event published twice on the log applies once.
   Records that are not valid CloudEvents of a known type are skipped and counted (the live
   consumer dead-letters them). A handler that raises stops the rebuild: its partial collections
   are dropped and the live ones stay as they were.
5. **Catch-up, swap, catch-up**: the live consumers kept writing into the live collections while
   the replay ran. The rebuild reads on from its end offsets to the current ends into the new
   collections, then swaps **by name, not by copy**: the projection's document in ``rebuilds``
   gets ``targets`` (usual name → new collection) and its generations bumped, in one write (the
   projection's collections change together). Every process resolves names through
   :class:`runtime.mongo.AliasedDatabase`, which reads the targets again every
   :data:`~runtime.mongo.ALIAS_REFRESH_SECONDS`: the rebuild waits that long twice (``settle``),
   then reads once more from its offsets to the ends of the moment into the now-live collections —
   events a live consumer wrote into the old collection before it followed the swap are on the log
   before those ends, so they are not lost. That last catch-up may apply an event the live consumer
   applies too: handlers must be idempotent by event id (the ledger inserts by event id; the
   members views check it). Then the replaced collections are dropped (``cleanup_seconds``, not
   counted in the rebuild's time: the new ones are live already).

   (A ``renameCollection`` over the live collection did the same in one step, but SecantusDB copies
   the documents to rename: 20,000 rows took 5 s, a fifth of the whole rebuild of 200,000 events.)

Weak spots: a process whose event loop is stalled for longer than ``settle`` may write one batch
into the replaced collection after the last catch-up read its ends (lost from the new one until the
next rebuild); two rebuilds of one projection at once are not prevented (the second drops the
first's partial collections at its start). Code that reaches a projection's collection through
the PyMongo client directly, not the service's :class:`~runtime.mongo.Database`, does not follow
the swap.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from contracts.envelope import CloudEvent, EnvelopeError
from runtime.consumer import Consumer
from runtime.mongo import ALIAS_REFRESH_SECONDS, REBUILDS, Transaction, utcnow

log = logging.getLogger(__name__)

# REBUILDS: one document per projection: its last rebuild, per collection its generation and (``targets``)
# the collection that holds it now
SEPARATOR = "__rebuild_"
DUPLICATE_KEY = 11000

Offsets = dict[TopicPartition, int]
Progress = Callable[[int, int], None]  # (events read, total)


@dataclass(frozen=True)
class Projection:
    """A read model a service keeps from events: the consumers that write it (built fresh on each
    call) and the collections it owns (the ones a rebuild replaces)."""

    name: str
    consumers: Callable[[], Sequence[Consumer]]
    collections: tuple[str, ...]
    indexes: Callable[[Any], Awaitable[None]] | None = None  # called with a database view (names mapped)


# -- pure parts ---------------------------------------------------------------------------------------
def stamp(now: datetime | None = None) -> str:
    """A rebuild's stamp: UTC time and a random suffix (``20370101T000000_ab12``)."""
    now = now or datetime.now(timezone.utc)
    return f"{now.astimezone(timezone.utc):%Y%m%dT%H%M%S}_{secrets.token_hex(2)}"


def rebuild_name(collection: str, rebuild_stamp: str) -> str:
    return f"{collection}{SEPARATOR}{rebuild_stamp}"


def leftovers(existing: Iterable[str], collections: Iterable[str], live: Iterable[str]) -> list[str]:
    """The collections of ``collections`` that are not ``live`` (in force): partial ones of interrupted
    rebuilds, and replaced ones a crash left behind (the usual name itself, once a rebuild replaced it)."""
    collections, keep = tuple(collections), set(live)
    prefixes = tuple(f"{c}{SEPARATOR}" for c in collections)
    return sorted(name for name in existing
                  if (name.startswith(prefixes) or name in collections) and name not in keep)


def insert_if_absent(operation: Any) -> dict | None:
    """The document ``operation`` inserts when it is an insert-if-absent by id — an ``InsertOne``, or
    an ``UpdateOne({"_id": x}, {"$setOnInsert": doc}, upsert=True)`` — else None."""
    if isinstance(operation, InsertOne):
        return operation._doc  # noqa: SLF001 — pymongo keeps the operation's parts private
    if not isinstance(operation, UpdateOne) or not operation._upsert:  # noqa: SLF001
        return None
    query, update = operation._filter, operation._doc  # noqa: SLF001
    if (not isinstance(query, Mapping) or set(query) != {"_id"} or isinstance(query["_id"], Mapping)
            or not isinstance(update, Mapping) or set(update) != {"$setOnInsert"}
            or any(getattr(operation, attr, None) for attr in ("_array_filters", "_hint", "_collation", "_sort"))):
        return None
    return {**update["$setOnInsert"], "_id": query["_id"]}


def plan_writes(operations: Sequence[Any]) -> tuple[str, list]:
    """How to write one collection's staged operations of a batch: ``("insert", documents)`` when
    every one is an insert-if-absent (the first of each id wins, as in order), else
    ``("ordered", operations)``."""
    docs, seen = [], set()
    for operation in operations:
        doc = insert_if_absent(operation)
        if doc is None:
            return "ordered", list(operations)
        if doc["_id"] not in seen:
            seen.add(doc["_id"])
            docs.append(doc)
    return "insert", docs


class DatabaseView:
    """A database whose collections ``names`` maps to others (``ledger`` → ``ledger__rebuild_…``);
    every other name, and everything else, is the database's."""

    def __init__(self, db: Any, names: Mapping[str, str]) -> None:
        self._db = db
        self.names = dict(names)

    def __getitem__(self, name: str) -> Any:
        return self._db[self.names.get(name, name)]

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._db.get_collection(self.names.get(name, name), *args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._db, attribute)


class RebuildTransaction(Transaction):
    """What a handler sees during a rebuild: ``db`` maps the projection's collections to the new ones,
    ``session`` is None, and staged writes accumulate over a whole batch of events."""


async def flush_staged(db: Any, staged: dict[str, list]) -> None:
    """Write a batch's staged operations (``db`` is the view the handlers saw)."""
    for name, operations in staged.items():
        if not operations:
            continue
        how, items = plan_writes(operations)
        if how == "ordered":
            await db[name].bulk_write(items, ordered=True)
            continue
        try:
            await db[name].insert_many(items, ordered=False)
        except BulkWriteError as exc:
            others = [e for e in exc.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
            if others or exc.details.get("writeConcernErrors"):
                raise


# -- replay -----------------------------------------------------------------------------------------------
@dataclass
class Replay:
    """Reads the topics of a projection's consumers between offsets and applies their handlers."""

    consumers: Sequence[Consumer]
    source: str
    batch_size: int = 5_000
    applied: set[tuple[str, str]] = field(default_factory=set)  # the rebuild's processed-event record
    read: int = 0
    skipped: int = 0

    @property
    def topics(self) -> list[str]:
        return sorted({t for c in self.consumers for t in c.topics})

    async def run(self, kafka: AIOKafkaConsumer, db: Any, start: Offsets, end: Offsets,
                  progress: Progress | None = None, total: int = 0) -> int:
        """Apply the records from ``start`` (included) to ``end`` (excluded) per partition; return how
        many were read."""
        todo = {tp for tp in end if start.get(tp, 0) < end[tp]}
        for tp in end:
            kafka.seek(tp, start.get(tp, 0))
        kafka.resume(*end)
        kafka.pause(*(set(end) - todo))
        before = self.read
        writing: asyncio.Task | None = None
        try:
            while todo:
                batches = await kafka.getmany(*todo, timeout_ms=500, max_records=self.batch_size)
                records: list[ConsumerRecord] = []
                for tp, batch in batches.items():
                    records += [r for r in batch if r.offset < end[tp]]
                    if batch and batch[-1].offset + 1 >= end[tp]:
                        todo.discard(tp)
                        kafka.pause(tp)
                decoded = [self._decode(r) for r in records]  # while the previous batch is written
                if writing is not None:
                    await writing  # handlers may read what the previous batch wrote
                    writing = None
                tx = RebuildTransaction(db, None, self.source)  # type: ignore[arg-type]
                for envelope, event in decoded:
                    if envelope is not None:
                        await self._apply(tx, envelope, event)
                self.read += len(records)
                if tx.staged:
                    writing = asyncio.create_task(flush_staged(db, tx.staged))
                if progress:
                    progress(self.read, total)
            if writing is not None:
                await writing
                writing = None
        finally:
            if writing is not None:
                writing.cancel()
        return self.read - before

    def _decode(self, record: ConsumerRecord) -> tuple[CloudEvent | None, Any]:
        try:
            envelope = CloudEvent.from_kafka(record.headers, record.value)
            wanted = any(envelope.type in c.handlers for c in self.consumers)
            return envelope, (envelope.to_domain() if wanted else None)
        except EnvelopeError as exc:
            self.skipped += 1
            log.warning("rebuild: %s[%d]@%d skipped: %s", record.topic, record.partition, record.offset, exc)
            return None, None

    async def _apply(self, tx: RebuildTransaction, envelope: CloudEvent, event: Any) -> None:
        if event is None:
            return
        for consumer in self.consumers:
            handler = consumer.handlers.get(envelope.type)
            key = (consumer.name, envelope.id)
            if handler is None or key in self.applied:
                continue
            tx.causation_id, tx.correlation_id = envelope.id, envelope.correlationid
            await handler(event, tx, envelope)
            self.applied.add(key)


async def log_offsets(kafka: AIOKafkaConsumer, topics: Sequence[str]) -> tuple[Offsets, Offsets]:
    """Assign every partition of ``topics``; return their first and end offsets (now)."""
    cluster = await kafka._client.fetch_all_metadata()  # noqa: SLF001 — a group-less consumer knows no topic yet
    missing = [t for t in topics if not cluster.partitions_for_topic(t)]
    if missing:
        raise RuntimeError(f"topics not found: {', '.join(missing)}")
    partitions = [TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t))]
    kafka.assign(partitions)
    return await kafka.beginning_offsets(partitions), await kafka.end_offsets(partitions)


def throwaway_consumer(settings: Any, batch_size: int) -> AIOKafkaConsumer:
    """A consumer of no group: it commits nothing and moves no live consumer's offsets."""
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                            enable_auto_commit=False, client_id=f"cress-{settings.service_name}-rebuild",
                            max_poll_records=batch_size, fetch_max_bytes=64 * 1024 * 1024,
                            max_partition_fetch_bytes=16 * 1024 * 1024)


@dataclass
class Outcome:
    projection: str
    stamp: str
    events: int  # records read by the replay (up to the end offsets taken at the start)
    caught_up: int  # records read after them, before and after the swap
    skipped: int  # records that were not valid CloudEvents of a known type
    seconds: float
    collections: dict[str, str]  # usual name → the rebuilt collection that replaced it
    swap_seconds: float = 0.0  # of ``seconds``: from the swap to the end of the last catch-up (``settle`` included)
    cleanup_seconds: float = 0.0  # after ``seconds``: dropping the replaced collections


async def rebuild(database: Any, projection: Projection, *, progress: Progress | None = None,
                  batch_size: int = 5_000, fail_after: int | None = None,
                  settle: float = 2 * ALIAS_REFRESH_SECONDS) -> Outcome:
    """Rebuild ``projection`` in ``database`` (a :class:`runtime.mongo.Database`) from the first event
    of its topics; swap when complete; catch up. See the module's docstring.

    ``settle``: seconds between the swap and the last catch-up (every process follows the swap).
    ``fail_after``: raise after that many events (tests of an interrupted rebuild)."""
    started = time.perf_counter()
    settings, db = database.settings, database.db
    await db.refresh()
    replaced = {c: db.resolve(c) for c in projection.collections}
    run_stamp = stamp()
    names = {c: rebuild_name(c, run_stamp) for c in projection.collections}
    for name in leftovers(await db.list_collection_names(), projection.collections, replaced.values()):
        log.info("rebuild %s: dropping %s (left by an earlier rebuild)", projection.name, name)
        await db.drop_collection(name)
    await db[REBUILDS].update_one({"_id": projection.name}, {"$set": {
        "stamp": run_stamp, "state": "running", "started_at": utcnow(), "collections": names}}, upsert=True)

    consumers = list(projection.consumers())
    replay = Replay(consumers, settings.source, batch_size=batch_size)
    view = DatabaseView(db, names)
    if projection.indexes is not None:
        await projection.indexes(view)
    if fail_after is not None:
        _fail_after(replay, fail_after)
    kafka = throwaway_consumer(settings, batch_size)
    await kafka.start()
    swapped = False
    try:
        first, end = await log_offsets(kafka, replay.topics)
        total = sum(end[tp] - first[tp] for tp in end)
        events = await replay.run(kafka, view, first, end, progress, total)
        # catch up into the new collections, swap, catch up what the live consumers wrote meanwhile
        caught_before = await kafka.end_offsets(list(end))
        caught = await replay.run(kafka, view, end, caught_before, progress, total)
        swap_started = time.perf_counter()
        await db[REBUILDS].update_one({"_id": projection.name}, {
            "$set": {"state": "done", "finished_at": utcnow(), "events": events,
                     **{f"targets.{live}": new for live, new in names.items()}},
            "$inc": {f"generations.{live}": 1 for live in names}})
        swapped = True
        await db.refresh()  # this process follows at once; the others within ALIAS_REFRESH_SECONDS
        await asyncio.sleep(settle)
        now = await kafka.end_offsets(list(end))
        caught += await replay.run(kafka, db, caught_before, now, progress, total)
        swap_seconds = time.perf_counter() - swap_started
    except BaseException:
        if not swapped:
            for name in names.values():  # a kill -9 leaves them: the next rebuild drops them
                try:
                    await asyncio.shield(db.drop_collection(name))
                except Exception:  # noqa: BLE001 — best effort
                    pass
            await asyncio.shield(db[REBUILDS].update_one({"_id": projection.name, "stamp": run_stamp},
                                                         {"$set": {"state": "failed", "finished_at": utcnow()}}))
        raise
    finally:
        await kafka.stop()
    seconds = time.perf_counter() - started
    for old in replaced.values():  # nobody reads them any more (the next rebuild drops what a crash left)
        await db.drop_collection(old)
    return Outcome(projection.name, run_stamp, events, caught, replay.skipped, seconds, names, swap_seconds,
                   time.perf_counter() - started - seconds)


def _fail_after(replay: Replay, limit: int) -> None:
    apply = replay._apply

    async def failing(tx, envelope, event):
        if len(replay.applied) >= limit:
            raise RuntimeError(f"rebuild stopped on purpose after {limit} events")
        await apply(tx, envelope, event)

    replay._apply = failing  # type: ignore[method-assign]


async def generation(db: Any, projection: str, collection: str) -> int:
    """How many times ``collection`` was replaced by a rebuild of ``projection`` (0: never)."""
    doc = await db[REBUILDS].find_one({"_id": projection}, {f"generations.{collection}": 1})
    return int(((doc or {}).get("generations") or {}).get(collection, 0))


def projections_of(service_name: str) -> dict[str, Projection]:
    from runtime.service import service

    return {p.name: p for p in service(service_name).projections()}


# -- CLI ------------------------------------------------------------------------------------------------
def main(service_name: str, names: list[str] | None = None, all_: bool = False, batch_size: int = 5_000) -> None:
    """Rebuild projections of a service (its environment: MONGODB_URI, KAFKA_BOOTSTRAP_SERVERS…)."""
    import typer
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from runtime.service import service

    console = Console(stderr=True)
    known = projections_of(service_name)
    if not known:
        console.print(f"[red]{service_name} declares no projection")
        raise typer.Exit(2)
    chosen = list(known) if all_ or not names else names
    unknown = [n for n in chosen if n not in known]
    if unknown:
        console.print(f"[red]unknown projection(s) {', '.join(unknown)}; {service_name} has: {', '.join(known)}")
        raise typer.Exit(2)

    async def run() -> None:
        database = await service(service_name).database().open()
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as bar:
                for name in chosen:
                    task = bar.add_task(f"rebuilding {name}", total=None)
                    outcome = await rebuild(database, known[name], batch_size=batch_size,
                                            progress=lambda done, total, t=task: bar.update(t, completed=done,
                                                                                             total=total))
                    bar.update(task, completed=outcome.events + outcome.caught_up)
                    console.print(f"{name}: {outcome.events} events replayed, {outcome.caught_up} caught up, "
                                  f"{outcome.skipped} skipped, in {outcome.seconds:.1f} s → "
                                  f"{', '.join(outcome.collections)} replaced")
        finally:
            await database.close()

    asyncio.run(run())


def cli() -> None:
    import typer

    def command(service_name: str = typer.Argument(..., metavar="SERVICE"),
                projections: list[str] = typer.Argument(None, metavar="[PROJECTION]..."),
                all_: bool = typer.Option(False, "--all", help="Rebuild every projection of the service."),
                batch_size: int = typer.Option(5_000, help="Events per batch of writes.")) -> None:
        """Rebuild one or all projections of SERVICE from the first event of their topics."""
        main(service_name, projections or None, all_, batch_size)

    typer.run(command)


if __name__ == "__main__":
    cli()
