"""The integration tests' real broker and database, started once per test session.

Same code as ``make run`` (:mod:`runtime.stack`): Apache Kafka (KRaft) where Java ≥ 17 and
Maven are present, Tansu otherwise (``CRESS_TEST_BROKER=tansu`` forces it), and SecantusDB.
``KAFKA_BOOTSTRAP_SERVERS`` / ``MONGODB_URI`` point the tests at servers already running.
``CRESS_TESTCONTAINERS=1`` runs the same tests on the official apache/kafka and mongo images
through testcontainers, where a Docker engine exists (``pip install -e '.[docker]'``).
Each test gets its own database (and so its own consumer groups and idempotency records).
Services are started from their bootstraps (:mod:`runtime.service`), as ``make run`` does:
:func:`serving` runs one in-process (lifespan included) for a test.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from asgi_lifespan import LifespanManager

from runtime.auth import issue_token
from runtime.http import create_app
from runtime.kafka import ensure_topics, make_producer
from runtime.mongo import Database
from runtime.outbox import ensure_outbox_indexes
from runtime.service import service
from runtime.settings import Settings
from runtime.siret import with_check_digit
from runtime.stack import Infrastructure, start_infrastructure


def _testcontainers() -> Infrastructure:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    kafka = KafkaContainer("apache/kafka:4.1.1").with_kraft()
    kafka.start()
    mongo = MongoDbContainer("mongo:7").with_command("--replSet rs0 --bind_ip_all")
    mongo.start()
    mongo.exec(["mongosh", "--quiet", "--eval", "rs.initiate()"])
    infra = Infrastructure(kafka.get_bootstrap_server(), mongo.get_connection_url() + "/?directConnection=true",
                           "apache/kafka (testcontainers)", "mongo:7 (testcontainers)")
    infra._containers = (kafka, mongo)  # type: ignore[attr-defined]
    return infra


@pytest.fixture(scope="session")
def infrastructure(tmp_path_factory: pytest.TempPathFactory):
    if os.environ.get("CRESS_TESTCONTAINERS") == "1":
        infra = _testcontainers()
    else:
        infra = start_infrastructure(tmp_path_factory.mktemp("stack"), prefer=os.environ.get("CRESS_TEST_BROKER"),
                                     test_commands=True, progress=lambda m: None)
    print(f"\nintegration tests on {infra.describe()}")
    yield infra
    infra.stop()
    for container in getattr(infra, "_containers", ()):
        container.stop()


def service_settings(infrastructure: Infrastructure, name: str, **overrides) -> Settings:
    """Settings of service ``name`` on the session's broker and database, in a database of its own."""
    return service(name).settings(**{
        "kafka_bootstrap_servers": infrastructure.kafka_bootstrap_servers,
        "kafka_idempotent_producer": infrastructure.idempotent_producer,
        "mongodb_uri": infrastructure.mongodb_uri, "mongodb_database": f"t_{name[:4]}_{uuid.uuid4().hex[:12]}",
        "outbox_poll_interval_seconds": 0.05, "consumer_retry_base_seconds": 0.01, "consumer_max_attempts": 3,
        "log_format": "console", **overrides})


@asynccontextmanager
async def serving(name: str, settings: Settings, **options: bool) -> AsyncIterator:
    """Service ``name``'s app, its lifespan (database, relay, consumers, jobs) running;
    ``consumers=False`` / ``jobs=False`` leave those out (a test of the HTTP API alone)."""
    application = create_app(service(name), settings, **options)
    async with LifespanManager(application, startup_timeout=90, shutdown_timeout=30):
        yield application


@asynccontextmanager
async def client_of(application, settings: Settings, *roles: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of an in-process app, with a bearer token of ``roles`` (admin by default)."""
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{settings.service_name}.test",
                                 headers=bearer(settings, *(roles or ("admin",)))) as c:
        yield c


@pytest.fixture
def settings(infrastructure: Infrastructure) -> Settings:
    return service_settings(infrastructure, "membership")


@pytest.fixture
async def platform(settings: Settings):
    """The backbone without a service: the catalogue's topics, the database with the outbox's indexes, a
    started producer."""
    await ensure_topics(settings)
    db = Database(settings)
    await ensure_outbox_indexes(db)
    producer = make_producer(settings)
    await producer.start()
    yield db, producer
    await producer.stop()
    await db.close()


def bearer(settings: Settings, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, 'test', list(roles))}"}


@pytest.fixture
async def app(settings: Settings):
    async with serving("membership", settings) as application:
        yield application


@pytest.fixture
async def client(app, settings: Settings):
    async with client_of(app, settings) as c:
        yield c


async def read_topic(settings: Settings, topic: str, match: Callable[[object], bool], *, count: int = 1,
                     timeout: float = 20.0, copies: bool = False) -> list:
    """Records of ``topic`` (from the beginning) matching ``match``; waits until ``count`` events are there.

    ``count`` counts distinct events (their ``ce_id``): a relay that publishes again after a crash or a
    broker restart puts a second copy on the log, and counting records would stop the read before the
    last distinct events arrive (the fresh-clone CI once saw "38 of 40" so). ``copies=True`` counts
    records instead, for the tests that wait for those copies. Returns every matching record seen by
    the time ``count`` is reached or the topic's end at that moment, copies included, so a test can
    also check that no extra record was published.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not parts:
            await consumer._client.force_metadata_update()  # noqa: SLF001
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        found: list = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                found += [r for r in records if match(r)]
            seen = len(found) if copies else len({header(r, "ce_id") or (r.partition, r.offset) for r in found})
            if seen >= count:
                ends = await consumer.end_offsets(parts)
                positions = [await consumer.position(tp) for tp in parts]
                if all(pos >= ends[tp] for pos, tp in zip(positions, parts)):
                    return found
            elif asyncio.get_running_loop().time() > deadline:
                return found
    finally:
        await consumer.stop()


async def committed_offsets(settings: Settings, group: str) -> dict[TopicPartition, int]:
    """The offsets consumer group ``group`` has committed, per partition (what Kafka keeps for it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def end_offsets(settings: Settings, topics: list[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # noqa: SLF001 — every topic's partitions known
        parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        assert {tp.topic for tp in parts} == set(topics), f"unknown topic among {topics}"
        return await consumer.end_offsets(parts)
    finally:
        await consumer.stop()


async def caught_up(settings: Settings, group: str, topics: list[str], timeout: float = 30.0) -> None:
    """Wait until consumer group ``group`` has committed, on every partition of ``topics``, the end
    offset those partitions have now: it has consumed (and committed) every record published so far."""
    ends = await end_offsets(settings, topics)

    async def done():
        committed = await committed_offsets(settings, group)
        return all(committed.get(tp, 0) >= end for tp, end in ends.items())

    await eventually(done, timeout=timeout, interval=0.2)


def fields(response) -> list[str]:
    """The fields a 422 problem names, in order."""
    return [e["field"] for e in response.json().get("errors", [])]


def header(record, name: str) -> str | None:
    for k, v in record.headers:
        if k == name:
            return v.decode()
    return None


async def eventually(check: Callable[[], object], timeout: float = 20.0, interval: float = 0.1):
    """Await ``check()`` (sync or async) until it returns a truthy value; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


_SIRETS = itertools.count(1)


def unique_siret() -> str:
    """A valid SIRET no other test of the session uses (membership refuses a SIRET twice), each of
    another legal entity (its SIREN, the first 9 digits, differs too): a head office, NIC 0001."""
    return with_check_digit(f"9{os.getpid() % 1_000:03d}{next(_SIRETS):05d}0001")


async def active_member(membership: httpx.AsyncClient, *, on: str, **profile) -> str:
    """Register an ESS organisation in the membership service (through its API) and make it an
    active member on the date ``on`` (ISO); return its organisation id. ``profile`` overrides the
    organisation's fields (name, legal_form, departement, commune, sector…)."""
    day = date.fromisoformat(on)
    body = {"siret": unique_siret(), "name": "Structure ESS", "legal_form": "association", "departement": "93",
            "commune": "Montreuil", "sector": "économie circulaire", "headcount": 5,
            "annual_budget_cents": 20_000_000, **profile, "on": on}
    r = await membership.post("/organisations", json=body)
    assert r.status_code == 201, r.text
    org = r.json()["id"]
    app_id = (await membership.post("/applications", json={"organisation_id": org, "on": on})).json()["id"]
    await membership.post(f"/applications/{app_id}/welcome-meeting", json={"on": on})
    await membership.post(f"/applications/{app_id}/admission", json={"on": on})
    r = await membership.post("/members", json={"application_id": app_id, "on": (day + timedelta(days=1)).isoformat()})
    assert r.status_code == 201, r.text
    return org
