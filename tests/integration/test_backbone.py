"""The backbone against the real broker and database: outbox, relay, consumers, dead letters."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
import json
import os
import subprocess
import sys
import uuid
from datetime import date

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from pymongo.errors import AutoReconnect

from contracts.envelope import CloudEvent
from contracts.membership import OrganisationRegistered
from runtime.consumer import Consumer, Subscription
from runtime.deadletters import read_dead_letters
from runtime.kafka import make_producer
from runtime.mongo import OUTBOX, PROCESSED, Database
from runtime.outbox import OutboxRelay
from runtime.stack import ROOT
from services.membership.domain import Organisation
from tests.integration.conftest import caught_up, committed_offsets, eventually, header, read_topic

pytestmark = pytest.mark.integration
TOPIC = "membership.organisation"


def organisation(org_id: str) -> Organisation:
    return Organisation.register(org_id, siret="73282932000074", name="Les Ateliers Solidaires",
                                 legal_form="association", departement="75", commune="Paris",
                                 sector="économie circulaire", headcount=8, annual_budget_cents=45_000_000,
                                 on=date(2026, 3, 2))


@asynccontextmanager
async def running(consumer: Consumer):
    """A started consumer whose run loop goes on for the duration of the block."""
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        consumer.stop()
        await task
        await consumer.close()


def _env(settings) -> dict[str, str]:
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "KAFKA_IDEMPOTENT_PRODUCER": str(settings.kafka_idempotent_producer).lower(),
            "MONGODB_URI": settings.mongodb_uri, "MONGODB_DATABASE": settings.mongodb_database,
            "SERVICE_NAME": "membership"}


def _cli(settings, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "runtime.deadletters", *args], cwd=ROOT, env=_env(settings) |
                          {"COLUMNS": "400"}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _crash(settings, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tests.integration.crash_relay", *args], cwd=ROOT,
                          env=_env(settings), capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, f"the process should have been killed: {done.returncode} {done.stderr}"


async def test_state_and_event_commit_together_and_reach_the_topic(settings, platform):
    db, producer = platform
    org_id = f"org-{uuid.uuid4().hex[:8]}"

    async def work(tx):
        await tx.save("organisations", organisation(org_id))

    await db.transaction(work, correlation_id="corr-42")
    record = await db[OUTBOX].find_one({"aggregateid": org_id})
    assert record["status"] == "pending" and record["type"] == OrganisationRegistered.event_type
    assert await db["organisations"].count_documents({"_id": org_id}) == 1

    await OutboxRelay(db, producer).drain()
    records = await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode())
    assert len(records) == 1
    envelope = CloudEvent.from_kafka(records[0].headers, records[0].value)
    assert envelope.type == "org.cress.membership.organisation-registered.v1"
    assert envelope.source == "/cress/membership" and envelope.subject == org_id
    assert envelope.specversion == "1.0" and envelope.correlationid == "corr-42"
    assert header(records[0], "content-type") == "application/json"
    assert envelope.id == record["_id"]
    assert envelope.to_domain().organisation_id == org_id
    assert (await db[OUTBOX].find_one({"_id": record["_id"]}))["status"] == "sent"


async def test_a_failed_command_writes_neither_state_nor_event(settings, platform):
    db, _ = platform
    org_id = f"org-{uuid.uuid4().hex[:8]}"

    async def work(tx):
        await tx.save("organisations", organisation(org_id))
        raise RuntimeError("the command fails after its writes")

    with pytest.raises(RuntimeError):
        await db.transaction(work)
    assert await db["organisations"].count_documents({"_id": org_id}) == 0
    assert await db[OUTBOX].count_documents({"aggregateid": org_id}) == 0


async def test_relay_killed_between_commit_and_publish_loses_nothing(settings, platform):
    db, producer = platform
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    _crash(settings, "after-commit", org_id)
    assert await db[OUTBOX].count_documents({"aggregateid": org_id, "status": "pending"}) == 1

    await OutboxRelay(db, producer).drain()  # the service restarted
    records = await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode())
    assert len(records) == 1
    assert await db[OUTBOX].count_documents({"aggregateid": org_id, "status": "pending"}) == 0


async def test_relay_killed_between_publish_and_mark_publishes_again_and_consumers_dedupe(settings, platform):
    db, producer = platform
    org_id = f"org-{uuid.uuid4().hex[:8]}"

    async def work(tx):
        await tx.save("organisations", organisation(org_id))

    await db.transaction(work)
    _crash(settings, "after-publish")
    assert await db[OUTBOX].count_documents({"aggregateid": org_id, "status": "pending"}) == 1

    await OutboxRelay(db, producer).drain()
    records = await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode(), count=2, copies=True)
    assert len(records) == 2, "published before the crash, and again after the restart"
    assert header(records[0], "ce_id") == header(records[1], "ce_id")

    seen: list[str] = []

    async def project(event, tx, envelope):
        if event.organisation_id == org_id:
            seen.append(envelope.id)
            await tx.db["directory"].update_one({"_id": org_id}, {"$inc": {"registrations": 1}}, upsert=True,
                                                session=tx.session)

    consumer = Consumer("dedupe-test", [Subscription(OrganisationRegistered, project)]).bind(db, producer)
    async with running(consumer):
        await eventually(lambda: db["directory"].find_one({"_id": org_id}))
        await caught_up(settings, consumer.group_id, [TOPIC])  # the duplicate was consumed too
    assert (await db["directory"].find_one({"_id": org_id}))["registrations"] == 1
    assert await db[PROCESSED].count_documents({"consumer": "dedupe-test",
                                                 "event_id": header(records[0], "ce_id")}) == 1


async def test_duplicate_delivery_changes_nothing(settings, platform):
    db, producer = platform
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    envelope = CloudEvent.from_domain(organisation(org_id).pending_events[0], source="/cress/membership")
    for _ in range(3):  # the same event delivered three times
        await producer.send_and_wait(TOPIC, envelope.kafka_value(), key=envelope.kafka_key(),
                                     headers=envelope.kafka_headers())

    async def project(event, tx, env):
        if event.organisation_id == org_id:
            await tx.db["directory"].update_one({"_id": org_id}, {"$inc": {"registrations": 1}}, upsert=True,
                                                session=tx.session)

    consumer = Consumer("duplicate-test", [Subscription(OrganisationRegistered, project)]).bind(db, producer)
    async with running(consumer):
        await eventually(lambda: db["directory"].find_one({"_id": org_id}))
        await caught_up(settings, consumer.group_id, [TOPIC])  # all three consumed
        # and once more, one record at a time (the slow path's own check)
        from aiokafka.structs import ConsumerRecord
        again = ConsumerRecord(TOPIC, 0, 10**9, 0, 0, envelope.kafka_key(), envelope.kafka_value(), None, 0, 0,
                               envelope.kafka_headers())
        await consumer._process_one(again, *consumer._decode(again))  # noqa: SLF001
    assert (await db["directory"].find_one({"_id": org_id}))["registrations"] == 1


async def test_an_offset_is_committed_only_once_the_writes_are_durable_and_then_to_the_end(settings, platform):
    """While a record's handler has not committed its writes, the group's offset has not moved past
    it; the handler then fails (its write rolled back), the record is handled again, applied once,
    and the group commits every offset up to the end."""
    db, producer = platform
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    envelope = CloudEvent.from_domain(organisation(org_id).pending_events[0], source="/cress/membership")
    sent = await producer.send_and_wait(TOPIC, envelope.kafka_value(), key=envelope.kafka_key(),
                                        headers=envelope.kafka_headers())
    entered, fail = asyncio.Event(), asyncio.Event()

    async def project(event, tx, env):
        if event.organisation_id != org_id:
            return
        await tx.db["directory"].update_one({"_id": org_id}, {"$inc": {"applications": 1}}, upsert=True,
                                            session=tx.session)
        if not entered.is_set():  # the first time: written, not committed — then it fails
            entered.set()
            await fail.wait()
            raise RuntimeError("the database went away before the commit")

    consumer = Consumer("commit-test", [Subscription(OrganisationRegistered, project)]).bind(
        db, producer, max_attempts=3, retry_base=0.01)
    async with running(consumer):
        try:
            await asyncio.wait_for(entered.wait(), 60)
            committed = await committed_offsets(settings, consumer.group_id)
            assert committed.get(TopicPartition(TOPIC, sent.partition), 0) <= sent.offset, \
                "the offset moved past a record whose writes are not durable"
        finally:
            fail.set()
        await eventually(lambda: db["directory"].find_one({"_id": org_id}))
        await caught_up(settings, consumer.group_id, [TOPIC])  # after its batches: committed up to the end
    assert (await db["directory"].find_one({"_id": org_id}))["applications"] == 1
    assert await read_topic(settings, TOPIC + ".dlq", lambda r: r.key == org_id.encode(), timeout=1) == []


async def test_the_relay_marks_records_sent_only_once_the_broker_acknowledged_them(settings, platform):
    """A record the broker refuses (larger than it accepts) stays pending, and is not on the topic."""
    db, _ = platform
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    record_id = await _register(db, org_id)
    await db[OUTBOX].update_one({"_id": record_id}, {"$set": {"payload.notes": "x" * 2_000_000}})  # > 1 MB
    producer = make_producer(settings, max_request_size=8_000_000)  # this side lets it go: the broker refuses
    await producer.start()
    try:
        with pytest.raises(KafkaError):
            await OutboxRelay(db, producer).publish_pending()
    finally:
        await producer.stop()
    assert (await db[OUTBOX].find_one({"_id": record_id}))["status"] == "pending"
    assert await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode(), timeout=2) == []


async def test_two_relays_on_one_database_only_the_lease_holder_publishes(settings, platform):
    """Both run and are woken by every commit; one holds the lease and publishes everything, each
    record once; the other publishes nothing until the holder stops, then takes over at once."""
    db, producer = platform
    published: dict[str, list[str]] = {"a": [], "b": []}

    def relay(name: str) -> OutboxRelay:
        async def seen(records):
            published[name] += [r["_id"] for r in records]
        return OutboxRelay(db, producer, poll_interval=0.05, coalesce=0.0, lease_seconds=60.0, after_publish=seen)

    relays = {"a": relay("a"), "b": relay("b")}
    db.on_commit(lambda ids: [r.notify(ids) for r in relays.values()])  # two processes: each told of commits
    tasks = {name: asyncio.create_task(r.run()) for name, r in relays.items()}
    prefix = f"org-{uuid.uuid4().hex[:6]}"
    try:
        ids = [await _register(db, f"{prefix}-{i}") for i in range(10)]

        async def all_sent():
            return await db[OUTBOX].count_documents({"_id": {"$in": ids}, "status": "sent"}) == len(ids)

        await eventually(all_sent)
        holder = "a" if published["a"] else "b"
        other = "b" if holder == "a" else "a"
        assert sorted(published[holder]) == sorted(ids) and published[other] == [], published

        relays[holder].stop()  # a clean stop releases the lease: the other takes over, no waiting 60 s
        await tasks[holder]
        last = await _register(db, f"{prefix}-last")
        await eventually(lambda: last in published[other] or None)
    finally:
        for r in relays.values():
            r.stop()
        await asyncio.gather(*tasks.values())
    records = await read_topic(settings, TOPIC, lambda r: r.key.decode().startswith(prefix), count=len(ids) + 1)
    assert sorted(header(r, "ce_id") for r in records) == sorted(ids + [last]), "each record once"


async def test_poison_message_goes_to_dead_letter_topic_and_replays_are_recorded(settings, platform):
    """Dead-lettered with its original coordinates; replayed once fixed (recorded: who, when, where);
    ``replay --all`` skips it then, ``--force`` replays it again — harmless: applied once."""
    db, producer = platform
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    broken = {"on": True}

    async def project(event, tx, env):
        if event.organisation_id != org_id:
            return
        if broken["on"]:
            raise RuntimeError(f"directory unavailable for {org_id}")
        await tx.db["directory"].update_one({"_id": org_id}, {"$inc": {"applications": 1}}, upsert=True,
                                            session=tx.session)

    async def applications() -> int:
        return ((await db["directory"].find_one({"_id": org_id})) or {}).get("applications", 0)

    def copies(records) -> list:  # the replayed copies of the poison message on its topic
        return [r for r in records if header(r, "dlq_replayed_from") is not None]

    consumer = Consumer("poison-test", [Subscription(OrganisationRegistered, project)]).bind(
        db, producer, max_attempts=3, retry_base=0.01)
    async with running(consumer):
        async def work(tx):
            await tx.save("organisations", organisation(org_id))
        await db.transaction(work)
        await OutboxRelay(db, producer).drain()

        dead = await read_topic(settings, TOPIC + ".dlq", lambda r: r.key == org_id.encode())
        assert len(dead) == 1
        [poison] = await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode())
        assert header(dead[0], "dlq_original_topic") == TOPIC
        assert header(dead[0], "dlq_original_partition") == str(poison.partition)
        assert header(dead[0], "dlq_original_offset") == str(poison.offset)
        assert header(dead[0], "dlq_consumer") == "poison-test"
        assert header(dead[0], "dlq_attempts") == "3"
        assert f"directory unavailable for {org_id}" in header(dead[0], "dlq_error")
        assert header(dead[0], "ce_type") == OrganisationRegistered.event_type
        assert await applications() == 0

        [letter] = [d for d in await read_dead_letters(settings, [TOPIC + ".dlq"]) if d.key == org_id.encode()]
        assert not letter.replayed
        listing = _cli(settings, "list", "--topic", TOPIC + ".dlq")
        assert org_id in listing and "directory unavailable" in listing

        broken["on"] = False  # the cause is fixed
        replayed = _cli(settings, "replay", TOPIC + ".dlq", str(letter.offset), "--by", "alice")
        assert "replayed 1 dead letter(s)" in replayed
        await eventually(lambda: applications())
        [letter] = [d for d in await read_dead_letters(settings, [TOPIC + ".dlq"]) if d.key == org_id.encode()]
        [first] = letter.replays
        [copy] = copies(await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode(), count=2, copies=True))
        assert (first.by, first.topic, first.partition, first.offset) == ("alice", TOPIC, copy.partition, copy.offset)
        assert header(copy, "dlq_replayed_from") == letter.coordinates

        again = _cli(settings, "replay", "--all", "--topic", TOPIC + ".dlq", "--consumer", "poison-test",
                     "--by", "bob")
        assert f"skipped {letter.coordinates}: replayed already" in again
        assert len(copies(await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode(), count=2, copies=True))) == 1
        [letter] = [d for d in await read_dead_letters(settings, [TOPIC + ".dlq"]) if d.key == org_id.encode()]
        assert letter.replays == (first,), "a letter skipped is not recorded as replayed"

        forced = _cli(settings, "replay", "--all", "--topic", TOPIC + ".dlq", "--consumer", "poison-test", "--force",
                      "--by", "carol")
        assert f"skipped {letter.coordinates}" not in forced
        second = copies(await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode(), count=3, copies=True))
        assert len(second) == 2, "replayed again"
        [letter] = [d for d in await read_dead_letters(settings, [TOPIC + ".dlq"]) if d.key == org_id.encode()]
        assert [r.by for r in letter.replays] == ["alice", "carol"]
        assert letter.replays[1].offset == max(c.offset for c in second)

        await caught_up(settings, consumer.group_id, [TOPIC])  # the second replay was consumed too
        assert await applications() == 1, "replaying again is harmless: the event is applied once"
        assert await db[PROCESSED].count_documents({"consumer": "poison-test",
                                                     "event_id": header(poison, "ce_id")}) == 1

        listing = _cli(settings, "list", "--topic", TOPIC + ".dlq", "--consumer", "poison-test")
        for r in letter.replays:
            assert r.describe() in listing, f"the list shows when, by whom and where: {r.describe()}"


async def test_message_that_is_not_a_cloudevent_is_dead_lettered_at_once(settings, platform):
    db, producer = platform
    key = f"bad-{uuid.uuid4().hex[:8]}".encode()
    await producer.send_and_wait(TOPIC, b'{"not": "an event"}', key=key, headers=[("ce_type", b"whatever")])

    async def project(event, tx, env):
        pass

    consumer = Consumer("envelope-test", [Subscription(OrganisationRegistered, project)]).bind(db, producer)
    async with running(consumer):
        dead = await read_topic(settings, TOPIC + ".dlq", lambda r: r.key == key)
        assert len(dead) == 1 and header(dead[0], "dlq_attempts") == "1"
        assert "missing CloudEvents header" in header(dead[0], "dlq_error")
        assert json.loads(dead[0].value) == {"not": "an event"}


async def _register(db: Database, org_id: str, collection: str = "organisations") -> str:
    """Commit one organisation's registration; return the id of its outbox record."""
    async def work(tx):
        await tx.save(collection, organisation(org_id))

    before = {r["_id"] async for r in db[OUTBOX].find({"aggregateid": org_id}, {"_id": 1})}
    await db.transaction(work)
    return [r["_id"] async for r in db[OUTBOX].find({"aggregateid": org_id}) if r["_id"] not in before][0]


async def test_the_next_round_runs_while_the_last_is_marked_sent_and_publishes_nothing_twice(settings, platform):
    """The relay's loop marks a round's records sent in the background: the next round leaves them out of
    its query (no record goes out twice) and publishes only once the last mark has succeeded."""
    db, producer = platform
    relay = OutboxRelay(db, producer)
    gate = asyncio.Event()
    mark = relay._mark_sent  # noqa: SLF001

    async def slow_mark(ids):  # the database takes its time to mark the first round
        await gate.wait()
        await mark(ids)

    relay._mark_sent = slow_mark  # noqa: SLF001
    prefix = f"org-{uuid.uuid4().hex[:6]}"
    first = [await _register(db, f"{prefix}-a{i}") for i in range(3)]
    assert await relay.publish_pending(mark_later=True) == 3
    assert await db[OUTBOX].count_documents({"_id": {"$in": first}, "status": "pending"}) == 3, "not marked yet"

    second = [await _register(db, f"{prefix}-b{i}") for i in range(2)]
    asyncio.get_running_loop().call_later(0.3, gate.set)
    assert await relay.publish_pending(mark_later=True) == 2, "the records being marked are left out"
    await relay._marked()  # noqa: SLF001
    assert await db[OUTBOX].count_documents({"_id": {"$in": first + second}, "status": "sent"}) == 5
    records = await read_topic(settings, TOPIC, lambda r: r.key.decode().startswith(prefix), count=5)
    assert sorted(header(r, "ce_id") for r in records) == sorted(first + second), "each record once"


async def test_a_failed_mark_publishes_its_records_again_before_any_later_one(settings, platform):
    db, producer = platform
    relay = OutboxRelay(db, producer)
    mark = relay._mark_sent  # noqa: SLF001
    failures = [AutoReconnect("the database went away")]
    gate = asyncio.Event()

    async def flaky_mark(ids):
        if failures:
            await gate.wait()  # it fails while the next round is under way
            raise failures.pop()
        await mark(ids)

    relay._mark_sent = flaky_mark  # noqa: SLF001
    org_id = f"org-{uuid.uuid4().hex[:8]}"  # two events of one aggregate (one partition: its order)
    a = await _register(db, org_id)
    assert await relay.publish_pending(mark_later=True) == 1  # its mark fails in the background
    b = await _register(db, org_id, "organisations_again")
    asyncio.get_running_loop().call_later(0.3, gate.set)
    with pytest.raises(AutoReconnect):
        await relay.publish_pending(mark_later=True)  # b is not published ahead of a's second publication
    assert await relay.publish_pending(mark_later=True) == 2
    await relay._marked()  # noqa: SLF001
    assert await db[OUTBOX].count_documents({"_id": {"$in": [a, b]}, "status": "pending"}) == 0
    records = await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode(), count=3, copies=True)
    assert [header(r, "ce_id") for r in sorted(records, key=lambda r: r.offset)] == [a, a, b]


async def test_a_commit_whose_records_were_read_already_does_not_cost_the_relay_a_query(settings, platform):
    db, producer = platform
    relay = OutboxRelay(db, producer, poll_interval=30.0, coalesce=0.0)
    rounds: list[int] = []
    publish = relay.publish_pending

    async def counted(**kwargs):
        rounds.append(await publish(**kwargs))
        return rounds[-1]

    relay.publish_pending = counted
    db.on_commit(relay.notify)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: rounds == [0] or None)  # the first round, at start
        org_id = f"org-{uuid.uuid4().hex[:8]}"
        record_id = await _register(db, org_id)  # a commit: the relay wakes up and publishes it
        await eventually(lambda: sum(rounds) == 1 or None)
        done = len(rounds)
        relay.notify([record_id])  # a late notification of a record read already
        await asyncio.sleep(0.3)
        assert len(rounds) == done, "no query for it"
        relay.notify(["an-id-never-read"])
        await eventually(lambda: len(rounds) > done or None)
    finally:
        relay.stop()
        await task


class _ProducerWithLostSequence:
    """A producer whose broker forgot its sequence numbers (a broker restart): every send fails, for good."""

    def __init__(self) -> None:
        self.sends = 0
        self.stopped = False

    async def send(self, *args, **kwargs):
        from aiokafka.errors import OutOfOrderSequenceNumber

        self.sends += 1
        raise OutOfOrderSequenceNumber()

    async def stop(self) -> None:
        self.stopped = True


async def test_a_relay_whose_producer_lost_its_sequence_publishes_with_a_new_one(settings, platform):
    """make chaos: after a broker restart, a relay failed with OutOfOrderSequenceNumber for minutes, retrying
    the same producer. It takes a new producer and publishes; the given one is left to its owner."""
    db, _ = platform
    broken = _ProducerWithLostSequence()
    relay = OutboxRelay(db, broken, poll_interval=0.05)  # type: ignore[arg-type]
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    record = await _register(db, org_id)
    task = asyncio.create_task(relay.run())
    try:
        records = await read_topic(settings, TOPIC, lambda r: r.key == org_id.encode(), count=1, timeout=30)
        assert [header(r, "ce_id") for r in records] == [record]
        assert broken.sends >= 1 and not broken.stopped and relay.own_producer
    finally:
        relay.stop()
        await task


async def test_a_transaction_run_again_after_a_write_conflict_is_counted(settings, platform):
    """Two transactions writing one document: the second meets a write conflict and PyMongo runs its work
    again — invisible before; now ``cress_transaction_retries_total`` counts it (what an operator needs to
    see a projection's batches losing to concurrent ones, as in the chaos run's 65 s batch)."""
    from runtime import metrics

    db, _ = platform
    doc_id = f"counter-{uuid.uuid4().hex}"
    await db.db["conflicts"].insert_one({"_id": doc_id, "n": 0})
    counted = metrics.TRANSACTION_RETRIES.labels(settings.service_name)
    before = counted._value.get()
    first_wrote, second_tried = asyncio.Event(), asyncio.Event()
    runs = []

    async def first(tx):
        await tx.db["conflicts"].update_one({"_id": doc_id}, {"$inc": {"n": 1}}, session=tx.session)
        first_wrote.set()
        await second_tried.wait()  # holds the document until the second has met it

    async def second(tx):
        runs.append(1)
        await first_wrote.wait()
        try:
            await tx.db["conflicts"].update_one({"_id": doc_id}, {"$inc": {"n": 1}}, session=tx.session)
        finally:
            second_tried.set()

    await asyncio.gather(db.transaction(first), db.transaction(second))
    assert len(runs) >= 2, "the second transaction's work ran again"
    assert counted._value.get() - before == len(runs) - 1
    assert (await db.db["conflicts"].find_one({"_id": doc_id}))["n"] == 2
