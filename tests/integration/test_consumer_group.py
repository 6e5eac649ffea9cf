"""Two instances of one consumer (one Kafka consumer group), as two processes of a service run it:
they share the topic's partitions, and when one leaves, the other takes its partitions over from
the group's committed offsets — every event applied exactly once, none lost (real broker and database)."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from contracts.envelope import CloudEvent
from contracts.membership import OrganisationRegistered
from runtime.consumer import Consumer, Subscription
from runtime.kafka import ensure_topics, make_producer
from runtime.mongo import PROCESSED, Database
from runtime.outbox import ensure_outbox_indexes
from services.membership.domain import Organisation
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration
TOPIC = "membership.organisation"


async def publish(producer, run: str, count: int, start: int = 0, event_ids: set[str] | None = None) -> set[str]:
    ids = set()
    for i in range(start, start + count):
        org_id = f"{run}-{i:04d}"  # distinct keys: spread over every partition
        org = Organisation.register(org_id, siret="73282932000074", name="Les Ateliers Solidaires",
                                    legal_form="association", departement="75", commune="Paris", sector="ess",
                                    headcount=3, annual_budget_cents=1_000_000, on=date(2026, 1, 5))
        envelope = CloudEvent.from_domain(org.pending_events[0], source="/cress/membership")
        if event_ids is not None:
            event_ids.add(envelope.id)
        await producer.send_and_wait(TOPIC, envelope.kafka_value(), key=envelope.kafka_key(),
                                     headers=envelope.kafka_headers())
        ids.add(org_id)
    return ids


async def test_two_instances_share_the_partitions_and_one_takes_over_when_the_other_leaves(settings):
    await ensure_topics(settings)
    db = Database(settings)
    await ensure_outbox_indexes(db)
    producer = make_producer(settings)
    await producer.start()
    run = f"grp-{uuid.uuid4().hex[:8]}"
    applied: dict[str, list[str]] = {"a": [], "b": []}
    event_ids: set[str] = set()

    def project_for(instance: str):
        async def project(event, tx, envelope):
            if event.organisation_id.startswith(run):
                applied[instance].append(event.organisation_id)
                await tx.db["directory"].update_one({"_id": event.organisation_id}, {"$inc": {"applied": 1}},
                                                    upsert=True, session=tx.session)
        return project

    # the same consumer name and database: one group, as two processes of one service
    a = Consumer("group-test", [Subscription(OrganisationRegistered, project_for("a"))]).bind(db, producer)
    b = Consumer("group-test", [Subscription(OrganisationRegistered, project_for("b"))]).bind(db, producer)
    tasks = {"a": asyncio.create_task(a.run()), "b": asyncio.create_task(b.run())}
    try:
        await eventually(lambda: a._kafka and b._kafka and a._kafka.assignment() and b._kafka.assignment()  # noqa: SLF001
                         and len(a._kafka.assignment()) + len(b._kafka.assignment()) == 6, timeout=90)  # noqa: SLF001
        shares = {x: {tp.partition for tp in c._kafka.assignment()} for x, c in (("a", a), ("b", b))}  # noqa: SLF001
        assert shares["a"].isdisjoint(shares["b"]), shares
        await a.wait_assigned()
        await b.wait_assigned()

        first = await publish(producer, run, 60, event_ids=event_ids)
        await eventually(lambda: len(applied["a"]) + len(applied["b"]) >= 60, timeout=60)
        assert applied["a"] and applied["b"], "both instances consumed their partitions' share"

        # b leaves (a rolling restart, a scale-down): a gets its partitions from the committed offsets
        b.stop()
        await tasks.pop("b")
        await b.close()
        await eventually(lambda: len(a._kafka.assignment()) == 6, timeout=90)  # noqa: SLF001
        second = await publish(producer, run, 60, start=60, event_ids=event_ids)
        await eventually(lambda: len(set(applied["a"]) & second) == 60, timeout=60)

        documents = await db["directory"].find({"_id": {"$regex": f"^{run}-"}}).to_list(None)
        assert {d["_id"] for d in documents} == first | second, "nothing lost"
        assert {d["applied"] for d in documents} == {1}, "nothing applied twice"
        # (a handler may run more than once for one event: a transaction retried, a batch handled again one
        # by one; what counts is that one run committed, which the documents above and the records here say)
        assert await db[PROCESSED].count_documents({"consumer": "group-test",
                                                    "event_id": {"$in": sorted(event_ids)}}) == 120
    finally:
        for name, task in tasks.items():
            consumer = a if name == "a" else b
            consumer.stop()
            await task
            await consumer.close()
        await producer.stop()
        await db.close()
