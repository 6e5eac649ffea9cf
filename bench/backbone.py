"""Backbone benchmark (``make bench``): the platform's pipeline against a raw minimal one.

On the embedded stack (or the servers named by KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI):

1. platform — N commands through the membership service layer (``register_organisation``:
   domain checks, one transaction with the state and its outbox record) → the outbox relay →
   Kafka → an idempotent consumer of the shared runtime writing a projection (``runtime.consumer``:
   since the move decided by this bench, it fetches through a FastStream batch subscriber too, and
   keeps its own idempotency records, retries, dead letters and commit after the write);
2. raw — the same durable writes by hand with aiokafka and PyMongo, in collections with the
   same indexes and the same majority write concern: per command a transaction with the state
   and an outbox record; publish, mark sent in bulk; a ``getmany`` consumer writing the
   projection and the processed-event records in one transaction per batch, then committing;
3. faststream — the platform's producing side as in 1, the projection consumed by the subscriber kit
   for internal apps (:mod:`contracts.faststream`: a FastStream ``batch=True`` subscriber, 500 records
   at most) whose batch handler writes the projection and the processed-event records in one
   transaction; FastStream acknowledges (commits) the batch after the handler returned, i.e. after
   the durable write.

All run C concurrent command submitters, and the clock stops when the projection holds all N.

A *comparison* runs the three pipelines on N commands split into R interleaved rounds (each round
runs the three one after the other, the first one rotating, each in a fresh database) and gives
each pipeline's rate over its rounds. ``--repeats`` comparisons (3 by default) run one after the
other, each printed with its ratios and the load average; the ratios of the last lines are the
medians over the repeats, so that one run disturbed by the machine's other work does not decide.
Then p50/p99 latency of a read (GET /organisations/{id}) and a write (POST /organisations)
endpoint of a real uvicorn process under 32 concurrent clients.

The last lines are ``faststream_ratio=<faststream/platform>`` (median; the issue's bar for moving
the runtime's consumer onto FastStream was ≥ 0.95 against the hand-written aiokafka loop it had; it
is now the kit against the runtime's consumer, both on FastStream) and ``ratio=<platform/raw>``
(median; goal ≥ 0.9).
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import aiohttp
import typer
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.write_concern import WriteConcern
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import bench
from contracts.faststream import Delivery, EventApp
from contracts.membership import OrganisationRegistered
from contracts.topics import Topic
from runtime.auth import issue_token
from runtime.consumer import Consumer, Subscription
from runtime.kafka import ensure_topics, make_producer
from runtime.mongo import PROCESSED
from runtime.platform import running
from runtime.service import service
from runtime.settings import Settings
from runtime.siret import with_check_digit
from runtime.stack import free_port, start_infrastructure, start_service, wait_ready
from services.membership.service_layer.handlers import MembershipService

err = Console(stderr=True)
MAJORITY = WriteConcern("majority")  # the platform's transactions use it too: same durability
RAW_TOPIC = Topic("bench.raw-organisation", "bench", "organisation", description="raw pipeline benchmark")


def luhn_siret(rng: random.Random) -> str:
    return with_check_digit("".join(str(rng.randrange(10)) for _ in range(13)))


def profiles(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    sirets: set[str] = set()
    while len(sirets) < n:
        s = luhn_siret(rng)
        if not s.startswith("356000000"):
            sirets.add(s)
    forms = ["association", "scop", "scic", "mutual", "foundation", "scess"]
    return [{"siret": s, "name": f"Structure {i}", "legal_form": rng.choice(forms),
             "departement": rng.choice(["75", "77", "78", "91", "92", "93", "94", "95"]),
             "commune": "Commune", "sector": rng.choice(["alimentation", "réemploi", "BTP durable"]),
             "headcount": rng.randrange(0, 200), "annual_budget_cents": rng.randrange(0, 10**10)}
            for i, s in enumerate(sorted(sirets))]


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True)


async def run_pool(items, concurrency: int, work, bar: Progress, label: str) -> None:
    queue: asyncio.Queue = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    task = bar.add_task(label, total=len(items))

    async def worker():
        while not queue.empty():
            await work(queue.get_nowait())
            bar.advance(task)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def wait_count(coll, n: int, bar: Progress, label: str, timeout: float = 600) -> None:
    task = bar.add_task(label, total=n)
    deadline = time.monotonic() + timeout
    while (count := await coll.count_documents({})) < n:
        bar.update(task, completed=count)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{label}: {count}/{n} after {timeout}s")
        await asyncio.sleep(0.05)
    bar.update(task, completed=n)


# -- 1. platform ---------------------------------------------------------------------------------
async def platform_pipeline(settings: Settings, items: list[dict], concurrency: int) -> float:
    """The membership service as its bootstrap starts it (indexes, topics, producer, relay), its own
    consumers off, plus one projection consumer of the shared runtime."""

    async def project(event: OrganisationRegistered, tx, envelope) -> None:
        tx.stage("directory", UpdateOne(
            {"_id": event.organisation_id},
            {"$set": {"departement": event.departement, "legal_form": event.legal_form.value}}, upsert=True))

    async with running(service("membership"), settings, consumers=False, jobs=False) as platform:
        consumer = Consumer("bench-directory", [Subscription(OrganisationRegistered, project)],
                            from_beginning=False).bind(platform.db, platform.producer,
                                                       batch_size=settings.consumer_batch_size)
        await consumer.start()
        task = asyncio.create_task(consumer.run())
        await consumer.wait_assigned()
        commands: MembershipService = platform.commands
        today = date.today()
        with progress() as bar:
            started = time.perf_counter()
            await run_pool(items, concurrency, lambda p: commands.register_organisation(p, on=today), bar,
                           "platform: commands")
            commands_done = time.perf_counter() - started
            await wait_count(platform.db["directory"], len(items), bar, "platform: projection")
            elapsed = time.perf_counter() - started
        err.print(f"platform: commands {commands_done:.1f} s, projection complete at {elapsed:.1f} s")
        consumer.stop()
        await task
        await consumer.close()
    return len(items) / elapsed


# -- 3. FastStream ---------------------------------------------------------------------------------
async def faststream_pipeline(settings: Settings, items: list[dict], concurrency: int) -> float:
    """As :func:`platform_pipeline`, the projection consumed by the FastStream subscriber kit instead of
    the runtime's consumer: one transaction per batch (processed-event records included, as the
    runtime's consumer does), the batch acknowledged after it."""
    processed = f"{settings.mongodb_database}.bench-directory"

    async with running(service("membership"), settings, consumers=False, jobs=False) as platform:
        db = platform.db
        app = EventApp(f"{settings.mongodb_database}.faststream", bootstrap_servers=settings.kafka_bootstrap_servers,
                       batch_size=settings.consumer_batch_size)

        @app.subscriber(OrganisationRegistered, batch=True)
        async def project(deliveries: list[Delivery]) -> None:
            async def work(tx) -> None:
                keys = [f"{processed}:{d.envelope.id}" for d in deliveries]
                seen = {x["_id"] async for x in tx.db[PROCESSED].find(
                    {"_id": {"$in": keys}}, {"_id": 1}, session=tx.session)}
                fresh = [(k, d) for k, d in zip(keys, deliveries) if k not in seen]
                for _, d in fresh:
                    event: OrganisationRegistered = d.event  # type: ignore[assignment]
                    tx.stage("directory", UpdateOne(
                        {"_id": event.organisation_id},
                        {"$set": {"departement": event.departement, "legal_form": event.legal_form.value}},
                        upsert=True))
                if fresh:
                    await tx.db[PROCESSED].insert_many(
                        [{"_id": k, "consumer": "bench-directory", "event_id": d.envelope.id, "type": d.envelope.type}
                         for k, d in fresh], session=tx.session)
            await db.transaction(work)

        await app.start()
        try:
            await app.wait_assigned()
            commands: MembershipService = platform.commands
            today = date.today()
            with progress() as bar:
                started = time.perf_counter()
                await run_pool(items, concurrency, lambda p: commands.register_organisation(p, on=today), bar,
                               "faststream: commands")
                commands_done = time.perf_counter() - started
                await wait_count(db["directory"], len(items), bar, "faststream: projection")
                elapsed = time.perf_counter() - started
            err.print(f"faststream: commands {commands_done:.1f} s, projection complete at {elapsed:.1f} s")
        finally:
            await app.stop()
    return len(items) / elapsed


# -- 2. raw ----------------------------------------------------------------------------------------
async def raw_pipeline(settings: Settings, items: list[dict], concurrency: int) -> float:
    client = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    db = client[settings.mongodb_database]
    # The same collections as the platform's, indexes included (each index costs every insert):
    # the comparison is about the pipeline, not about the schema.
    await db.organisations.create_index("siret", unique=True)
    await db.organisations.create_index([("departement", 1), ("legal_form", 1)])
    await db.organisations.create_index("name")
    await db.outbox.create_index([("status", 1), ("created_at", 1), ("position", 1)])
    await db.outbox.create_index("published_at", expireAfterSeconds=7 * 24 * 3600)
    await ensure_topics(settings, [RAW_TOPIC])
    producer = make_producer(settings)
    await producer.start()
    consumer = AIOKafkaConsumer(RAW_TOPIC.name, bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=f"{settings.mongodb_database}.raw", enable_auto_commit=False,
                                auto_offset_reset="latest", max_poll_records=500)
    await consumer.start()
    stop = asyncio.Event()
    assigned = asyncio.Event()

    async def consume() -> None:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            if consumer.assignment() and not assigned.is_set():
                # as Consumer.wait_assigned: ready once the start offsets are resolved, else events
                # published before the "latest" reset would be skipped and the count never reached
                await asyncio.gather(*(consumer.position(tp) for tp in consumer.assignment()))
                assigned.set()
            for tp, records in batches.items():
                events = [(dict(r.headers)["ce_id"].decode(), json.loads(r.value)) for r in records]
                async with client.start_session() as s:
                    async with await s.start_transaction(write_concern=MAJORITY):
                        seen = {d["_id"] async for d in db.processed.find(
                            {"_id": {"$in": [e for e, _ in events]}}, {"_id": 1}, session=s)}
                        fresh = [(e, d) for e, d in events if e not in seen]
                        if fresh:
                            await db.directory.bulk_write([UpdateOne(
                                {"_id": d["organisation_id"]},
                                {"$set": {"departement": d["departement"], "legal_form": d["legal_form"]}},
                                upsert=True) for _, d in fresh], session=s)
                            await db.processed.insert_many([{"_id": e} for e, _ in fresh], session=s)
                await consumer.commit({tp: records[-1].offset + 1})

    sent: list[tuple[str, asyncio.Future]] = []

    async def command(profile: dict) -> None:
        org_id, event_id = f"org-{uuid.uuid4().hex[:12]}", str(uuid.uuid4())
        now = datetime.now(timezone.utc)
        data = {"organisation_id": org_id, **profile, "registered_on": now.date().isoformat()}
        async with client.start_session() as s:
            async with await s.start_transaction(write_concern=MAJORITY):
                await db.organisations.insert_one({"_id": org_id, **profile, "version": 1}, session=s)
                await db.outbox.insert_one({"_id": event_id, "aggregateid": org_id, "payload": data,
                                            "created_at": now, "position": 0, "status": "pending"}, session=s)
        delivery = await producer.send(RAW_TOPIC.name, json.dumps(data).encode(), key=org_id.encode(),
                                       headers=[("ce_id", event_id.encode()), ("ce_specversion", b"1.0")])
        sent.append((event_id, delivery))

    async def mark_sent() -> None:  # acknowledged records are marked sent in bulk, as a relay would
        while not stop.is_set() or sent:
            batch = sent[:]
            del sent[:len(batch)]
            if batch:
                await asyncio.gather(*(f for _, f in batch))
                await db.outbox.update_many({"_id": {"$in": [e for e, _ in batch]}},
                                            {"$set": {"status": "sent", "published_at": datetime.now(timezone.utc)}})
            await asyncio.sleep(0.02)

    marker_task = asyncio.create_task(mark_sent())
    consumer_task = asyncio.create_task(consume())
    await asyncio.wait_for(assigned.wait(), 60)
    with progress() as bar:
        started = time.perf_counter()
        await run_pool(items, concurrency, command, bar, "raw: commands")
        commands_done = time.perf_counter() - started
        await wait_count(db.directory, len(items), bar, "raw: projection")
        elapsed = time.perf_counter() - started
    err.print(f"raw: commands {commands_done:.1f} s, projection complete at {elapsed:.1f} s")
    stop.set()
    await consumer_task
    await marker_task
    await consumer.stop()
    await producer.stop()
    await client.close()
    return len(items) / elapsed


# -- 3. HTTP latency --------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def http_latency(port: int, token: str, reads: int, writes: int, clients: int, seed: int) -> dict:
    """p50/p99 under ``clients`` concurrent keep-alive connections. The load comes from aiohttp's
    client: httpx, measured here, spent more CPU per request than the server and capped the
    rate at a quarter of what the service answers on these 2 cores."""
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, list[float]] = {"read": [], "write": []}
    errors: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=headers, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as client:
        async with client.post("/organisations", json=profiles(1, seed + 99)[0] | {"name": "Lecture"}) as seedling:
            seedling.raise_for_status()
            org_id = (await seedling.json())["id"]

        async def timed(kind: str, method: str, path: str, body: dict | None = None) -> None:
            t = time.perf_counter()
            try:
                async with client.request(method, path, json=body) as r:
                    await r.read()
                    status = r.status
            except aiohttp.ClientConnectionError as exc:  # counted and reported, not hidden
                errors[kind] = errors.get(kind, 0) + 1
                err.print(f"{kind}: connection error {exc!r}")
                return
            out[kind].append(time.perf_counter() - t)
            if status >= 400:
                raise RuntimeError(f"{kind}: {method} {path} answered {status}")

        with progress() as bar:
            await run_pool(list(range(reads)), clients, lambda _: timed("read", "GET", f"/organisations/{org_id}"),
                           bar, f"GET /organisations/{{id}} ×{clients}")
            await run_pool(profiles(writes, seed + 7), clients, lambda p: timed("write", "POST", "/organisations", p),
                           bar, f"POST /organisations ×{clients}")
    return {k: (percentile(v, 50) * 1000, percentile(v, 99) * 1000, len(v), errors.get(k, 0)) for k, v in out.items()}


def comparison(base: dict, stamp: str, repeat: int, items: list[dict], concurrency: int, rounds: int,
               first: int) -> dict[str, float]:
    """One comparison: the three pipelines on the same ``items``, in ``rounds`` interleaved rounds (the
    commands are split between them; each round runs the three pipelines one after the other, the
    first one rotating), each pipeline in a fresh database. Returns each pipeline's rate over its
    rounds (commands / summed elapsed time), in commands/s."""
    # Interleaved rounds, alternating which pipeline goes first, so that the database's drift
    # (SecantusDB slows down as it fills) and the machine's other load weigh on all alike.
    per_round = [items[i::rounds] for i in range(rounds)]
    totals = {name: [0, 0.0] for name in PIPELINES}
    names = list(PIPELINES)
    for r, chunk in enumerate(per_round):
        k = (first + r) % len(names)
        order = names[k:] + names[:k]  # each pipeline goes first in turn
        for name in order:
            db_name = f"bench_{name}_{stamp}_{repeat}_{r}"
            settings = service("membership").settings(**base, mongodb_database=db_name)
            rate = asyncio.run(PIPELINES[name](settings, chunk, concurrency))
            err.print(f"repeat {repeat + 1} round {r + 1}/{rounds} {name}: {rate:.1f} commands/s")
            totals[name][0] += len(chunk)
            totals[name][1] += len(chunk) / rate
    return {name: n / seconds for name, (n, seconds) in totals.items()}


PIPELINES = {"raw": raw_pipeline, "platform": platform_pipeline, "faststream": faststream_pipeline}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main(commands: int = typer.Option(2000, help="Commands per pipeline in each repeat."),
         concurrency: int = typer.Option(32, help="Concurrent command submitters."),
         reads: int = typer.Option(3000), writes: int = typer.Option(600),
         clients: int = typer.Option(32, help="Concurrent HTTP clients."),
         repeats: int = typer.Option(3, min=1, help="Comparisons run one after the other; the ratios printed "
                                                     "are their medians (make bench: 3)."),
         rounds: int = typer.Option(4, min=1, help="Interleaved rounds per comparison (its commands are split "
                                                    "between them)."),
         seed: int = typer.Option(2023)) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="cress-bench-"))
    err.print(f"starting the embedded stack in {data_dir}…")
    infra = start_infrastructure(data_dir, progress=lambda m: err.print(m))
    try:
        stamp = uuid.uuid4().hex[:6]
        base = dict(kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
                    kafka_idempotent_producer=infra.idempotent_producer, mongodb_uri=infra.mongodb_uri,
                    log_level="WARNING")
        print(f"broker: {infra.broker} ({infra.kafka_bootstrap_servers}); database: {infra.database}; "
              f"commands={commands} per pipeline and repeat, concurrency={concurrency}, repeats={repeats}, "
              f"rounds={rounds}; {load()}", flush=True)
        runs: list[dict[str, float]] = []
        for repeat in range(repeats):
            # each repeat its own commands (fresh SIRETs), the rotation going on where the last one stopped
            items = profiles(commands, seed + 1000 * repeat)
            rates = comparison(base, stamp, repeat, items, concurrency, rounds, first=repeat * rounds)
            runs.append(rates)
            print(f"repeat {repeat + 1}/{repeats}: raw {rates['raw']:.1f}, platform {rates['platform']:.1f}, "
                  f"faststream {rates['faststream']:.1f} commands/s; ratio={rates['platform'] / rates['raw']:.3f} "
                  f"faststream_ratio={rates['faststream'] / rates['platform']:.3f}; {load()}", flush=True)
        raw = statistics.median(r["raw"] for r in runs)
        platform = statistics.median(r["platform"] for r in runs)
        faststream = statistics.median(r["faststream"] for r in runs)
        ratios = [r["platform"] / r["raw"] for r in runs]
        faststream_ratios = [r["faststream"] / r["platform"] for r in runs]
        print(f"raw      (aiokafka + PyMongo, same durable writes): {raw:8.1f} commands/s end to end (median)")
        print(f"platform (service layer → outbox → Kafka → idempotent consumer): {platform:8.1f} commands/s "
              f"end to end (median)")
        print(f"faststream (service layer → outbox → Kafka → FastStream kit, batch, ack after the write): "
              f"{faststream:8.1f} commands/s end to end (median)")
        print("ratios per repeat: " + " ".join(f"{x:.3f}" for x in ratios))
        print("faststream_ratios per repeat: " + " ".join(f"{x:.3f}" for x in faststream_ratios))

        settings = service("membership").settings(**base, mongodb_database=f"bench_http_{stamp}")
        port = free_port()
        proc, port = start_service("membership", infra, data_dir / "logs", port=port,
                                   extra_env={"MONGODB_DATABASE": settings.mongodb_database, "LOG_LEVEL": "WARNING"})
        try:
            wait_ready(port, 90, proc)
            token = issue_token(Settings(), "bench", ["admin"])
            lat = http_latency(port, token, reads, writes, clients, seed)
            lat = asyncio.run(lat)
        finally:
            proc.stop()
        for kind, label in (("read", "GET /organisations/{id}"), ("write", "POST /organisations")):
            p50, p99, n, failed = lat[kind]
            print(f"{label:<26} {clients} clients, {n} requests: p50={p50:.1f} ms p99={p99:.1f} ms"
                  + (f" ({failed} transport errors)" if failed else ""))
        print(load())
        print(f"faststream_ratio={statistics.median(faststream_ratios):.3f}")
        print(f"ratio={statistics.median(ratios):.3f}")
    finally:
        infra.stop()


if __name__ == "__main__":
    bench.run(main)
