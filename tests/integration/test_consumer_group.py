"""Two instances of one consumer (one Kafka consumer group), as two processes of a service run it:
they share the topic's partitions, and when one leaves, the other takes its partitions over from
the group's committed offsets — every event applied exactly once, none lost (real broker and database)."""
from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import date

import pytest

from contracts.envelope import CloudEvent
from contracts.membership import OrganisationRegistered
from runtime.consumer import Consumer, Subscription
from runtime.kafka import ensure_topics
from runtime.mongo import PROCESSED
from runtime.stack import ROOT
from services.membership.domain import Organisation
from tests.integration.conftest import caught_up, eventually

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


async def test_two_instances_share_the_partitions_and_one_takes_over_when_the_other_leaves(platform):
    db, producer = platform
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
        # the handlers ran; the last batch's transaction may not have committed yet: its offsets come after it
        await caught_up(db.settings, a.group_id, [TOPIC])

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


async def test_a_restarted_static_member_takes_its_partitions_back_without_waiting_for_its_dead_session(settings):
    """A service process killed and started again under the same KAFKA_GROUP_INSTANCE (the embedded stack
    names each process by its port) is the same static member: the group hands it its partitions at once.
    A dynamic member would wait until the dead one's session expired: 45 s here, beyond the wait below."""
    await ensure_topics(settings)
    group = f"static-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "KAFKA_IDEMPOTENT_PRODUCER": str(settings.kafka_idempotent_producer).lower(),
           "MONGODB_URI": settings.mongodb_uri, "MONGODB_DATABASE": settings.mongodb_database,
           "SERVICE_NAME": "membership", "KAFKA_GROUP_INSTANCE": f"{group}-1", "KAFKA_SESSION_TIMEOUT_MS": "45000"}
    lines: dict[str, list[str]] = {}

    async def member(name: str) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.integration.group_member", group,
                                                    env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
        lines[name] = []

        async def read() -> None:
            async for line in proc.stdout:
                lines[name].append(line.decode().strip())
        asyncio.get_running_loop().create_task(read())
        return proc

    first = await member("first")
    second = None
    try:
        await eventually(lambda: "assigned 6" in lines["first"], timeout=90)
        first.kill()  # SIGKILL: no LeaveGroup, its session stays open on the broker
        await first.wait()
        second = await member("second")
        await eventually(lambda: "assigned 6" in lines["second"], timeout=30)
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
