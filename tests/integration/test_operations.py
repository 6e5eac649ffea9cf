"""What operators see, on the real broker and database: consumer lag and stalls, series that exist at 0
from the start, dependencies probed in the background, an API that does not wait for Kafka's rebalance."""
from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import date

import pytest
from prometheus_client import REGISTRY

from contracts.envelope import CloudEvent
from contracts.membership import OrganisationRegistered
from runtime import consumer as consumer_module
from runtime import platform as platform_module
from runtime.consumer import Consumer, Subscription
from runtime.kafka import ensure_topics, make_producer
from runtime.mongo import Database
from runtime.outbox import ensure_outbox_indexes
from services.membership.domain import Organisation
from tests.integration.conftest import client_of, eventually, serving

pytestmark = pytest.mark.integration
TOPIC = "membership.organisation"


def _sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def _event(org_id: str) -> CloudEvent:
    org = Organisation.register(org_id, siret="73282932000074", name="Les Ateliers Solidaires",
                                legal_form="association", departement="75", commune="Paris",
                                sector="économie circulaire", headcount=8, annual_budget_cents=45_000_000,
                                on=date(2026, 3, 2))
    return CloudEvent.from_domain(org.pending_events[0], source="/cress/membership")


async def test_lag_is_exported_per_partition_and_a_stalled_consumer_is_logged(settings, monkeypatch, caplog):
    monkeypatch.setattr(consumer_module, "WATCH_EVERY", 0.2)
    monkeypatch.setattr(consumer_module, "STALL_AFTER", 0.5)
    await ensure_topics(settings)
    db = Database(settings)
    await ensure_outbox_indexes(db)
    producer = make_producer(settings)
    await producer.start()
    released, mine = asyncio.Event(), f"org-{uuid.uuid4().hex[:8]}"

    async def slow(event, tx, envelope):
        if event.organisation_id.startswith(mine):
            await released.wait()  # a write waiting on a lock

    name = f"lag-test-{uuid.uuid4().hex[:6]}"
    consumer = Consumer(name, [Subscription(OrganisationRegistered, slow)], from_beginning=False).bind(db, producer)
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: consumer._kafka is not None and consumer._kafka.assignment(), timeout=60)  # noqa: SLF001
        await consumer.wait_assigned()
        for i in range(5):
            envelope = _event(f"{mine}-{i}")
            await producer.send_and_wait(TOPIC, envelope.kafka_value(), key=b"same-partition",
                                         headers=envelope.kafka_headers())

        def lag() -> float:
            return sum(s.value for m in REGISTRY.collect() if m.name == "cress_consumer_lag_messages"
                       for s in m.samples if s.labels["consumer"] == name)

        with caplog.at_level(logging.WARNING, logger="runtime.consumer"):
            assert await eventually(lambda: lag() >= 5, timeout=30)
            assert await eventually(lambda: any("no progress" in r.getMessage() and name in r.getMessage()
                                                for r in caplog.records), timeout=30)
        released.set()
        assert await eventually(lambda: lag() == 0, timeout=30)  # written and committed: no lag left
    finally:
        released.set()
        consumer.stop()
        await task
        await consumer.close()
        await producer.stop()
        await db.close()


async def test_series_exist_at_zero_and_dependencies_are_probed_without_readyz(settings, monkeypatch):
    monkeypatch.setattr(platform_module, "PROBE_EVERY", 0.1)
    gauge = "cress_dependency_up"
    async with serving("membership", settings) as app:
        platform = app.state.platform
        # before any failure: the series an alert's increase() needs exist, at 0
        consumer = platform.consumers[0]
        for topic in consumer.topics:
            labels = {"service": "membership", "consumer": consumer.name, "topic": topic}
            assert _sample("cress_dead_letters_total", **labels) == 0
            assert _sample("cress_messages_failed_total", **labels) == 0
        assert _sample("cress_http_requests_total", service="membership", method="POST", route="/organisations",
                       status="500") == 0
        # nobody calls /readyz: the background probe sets the gauge, and follows a database that stops answering
        assert await eventually(lambda: _sample(gauge, service="membership", dependency="mongodb") == 1, timeout=10)

        async def frozen(timeout: float = 2.0) -> None:
            raise TimeoutError("the database does not answer")

        monkeypatch.setattr(platform.db, "ping", frozen)
        assert await eventually(lambda: _sample(gauge, service="membership", dependency="mongodb") == 0, timeout=10)
        assert _sample(gauge, service="membership", dependency="kafka") == 1


async def test_the_api_serves_before_the_consumers_have_joined_their_groups(settings, monkeypatch):
    joined = asyncio.Event()

    async def never_assigned(self) -> None:  # a rebalance that takes for ever, or a broker away
        await joined.wait()

    monkeypatch.setattr(Consumer, "start", never_assigned)
    try:
        async with asyncio.timeout(60):
            async with serving("membership", settings) as app:
                async with client_of(app, settings) as client:
                    assert (await client.get("/readyz")).status_code == 200
                    assert (await client.get("/organisations")).status_code == 200
    finally:
        joined.set()
