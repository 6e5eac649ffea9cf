"""runtime.outbox without a database or a broker: the records a transaction writes, and the relay's order
of work — publish in commit order, wait for every acknowledgement, only then mark sent; never publish a
record twice while it is being marked; publish a record whose mark failed again before any later one.

The outbox below is mongomock's in-memory collection (tests/unit/memory_mongo.py); the real database's
side is tests/integration/test_backbone.py."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from contracts.envelope import CloudEvent
from contracts.membership import MembershipLapsed, WelcomeMeetingHeld
from runtime import metrics
from runtime.mongo import OUTBOX
from runtime.outbox import LEASE, PENDING, SENT, OutboxRelay, append_to_outbox, envelope_of
from tests.unit.memory_mongo import AsyncCollection, collection

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)


class Outbox(AsyncCollection):
    """The outbox in memory (mongomock), whose marks (``update_many``) can be held back or fail."""

    def __init__(self) -> None:
        super().__init__(collection(OUTBOX).sync)
        self.inserts: list[tuple[list, dict]] = []
        self.queries: list[dict[str, Any]] = []
        self.mark_gate: asyncio.Event | None = None  # set: marks go on; clear: they wait
        self.mark_failures: list[Exception] = []
        self.on_find = None  # called as a query starts (what happens meanwhile)
        self.find_failures: list[Exception] = []

    async def insert_many(self, records, **kwargs):
        self.inserts.append(([dict(r) for r in records], kwargs))
        return await super().insert_many(records, **kwargs)

    def find(self, query, **kwargs):
        self.queries.append(query)
        if self.on_find is not None:
            self.on_find()
        if self.find_failures:
            raise self.find_failures.pop(0)
        return super().find(query, **kwargs)

    async def update_many(self, query, update, **kwargs):
        if self.mark_gate is not None:
            await self.mark_gate.wait()
        if self.mark_failures:
            raise self.mark_failures.pop(0)
        return await super().update_many(query, update, **kwargs)

    @property
    def docs(self) -> list[dict[str, Any]]:
        return list(self.sync.find())

    def status(self) -> dict[str, str]:
        return {d["_id"]: d["status"] for d in self.docs}


class Producer:
    """Sends return a future the test acknowledges (``ack``), as aiokafka's ``send`` does."""

    def __init__(self, *, auto_ack: bool = False) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.pending: list[asyncio.Future] = []
        self.auto_ack = auto_ack

    async def send(self, topic, **kwargs):
        self.sent.append((topic, kwargs))
        future = asyncio.get_running_loop().create_future()
        if self.auto_ack:
            future.set_result(None)
        else:
            self.pending.append(future)
        return future

    def ack(self) -> None:
        for future in self.pending:
            future.set_result(None)
        self.pending.clear()

    def ids(self) -> list[str]:
        return [dict(kwargs["headers"])["ce_id"].decode() for _, kwargs in self.sent]


class Database(dict):
    def __init__(self, outbox: Outbox) -> None:
        super().__init__({OUTBOX: outbox, LEASE: collection(LEASE)})
        self.settings = SimpleNamespace(service_name="unit-outbox", source="/cress/unit-outbox")


def pending(outbox: Outbox, n: int, *, start: int = 0, at: datetime = T0) -> list[str]:
    """``n`` pending records of one command committed at ``at`` (its events at positions start…)."""
    ids = []
    for position in range(start, start + n):
        record_id = f"evt-{at:%H%M%S}-{position}"
        outbox.sync.insert_one({"_id": record_id, "aggregatetype": "member", "aggregateid": f"org-{position}",
                            "type": MembershipLapsed.event_type, "payload": {"n": position},
                            "topic": "membership.member", "correlationid": "corr-1", "causationid": None,
                            "created_at": at, "position": position, "status": PENDING})
        ids.append(record_id)
    return ids


async def until(condition) -> None:
    """Let the relay's task run until ``condition()`` holds (it never sleeps: it waits on the fakes)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def test_a_command_s_events_go_to_the_outbox_in_its_transaction_in_order():
    outbox = Outbox()
    lapsed = MembershipLapsed(organisation_id="org-7", year=2024, invoice_ids=["org-7-2024"], written_off_cents=15000,
                              grace_ended_on=date(2024, 4, 9), lapsed_on=date(2024, 4, 10))
    held = WelcomeMeetingHeld(application_id="app-3", organisation_id="org-7", held_on=date(2024, 2, 12))
    session = object()
    tx = SimpleNamespace(db={OUTBOX: outbox}, session=session, source="/cress/membership", correlation_id="corr-9",
                         causation_id="evt-0", events=[lapsed, held])
    before = datetime.now(timezone.utc)
    ids = await append_to_outbox(tx)
    [(records, options)] = outbox.inserts
    assert options == {"session": session, "ordered": True}, "in the command's transaction, in order"
    assert ids == [r["_id"] for r in records] and len(set(ids)) == 2 and tx.events == []
    first, second = records
    assert first == {"_id": ids[0], "aggregatetype": "member", "aggregateid": "org-7",
                     "type": MembershipLapsed.event_type, "payload": lapsed.model_dump(mode="json"),
                     "topic": "membership.member", "correlationid": "corr-9", "causationid": "evt-0",
                     "created_at": first["created_at"], "position": 0, "status": PENDING}
    assert (second["aggregatetype"], second["aggregateid"], second["position"], second["topic"]) == \
        ("application", "app-3", 1, "membership.application")
    assert second["created_at"] == first["created_at"] and before <= first["created_at"] <= datetime.now(timezone.utc)


def test_a_record_is_published_as_the_cloudevent_it_was_written_from():
    record = {"_id": "evt-1", "type": MembershipLapsed.event_type, "aggregateid": "org-7", "created_at": T0,
              "payload": {"organisation_id": "org-7"}, "correlationid": "corr-1", "causationid": "evt-0"}
    assert envelope_of(record, "/cress/membership") == CloudEvent(
        id="evt-1", source="/cress/membership", type=MembershipLapsed.event_type, subject="org-7", time=T0,
        data={"organisation_id": "org-7"}, correlationid="corr-1", causationid="evt-0")


async def test_records_are_marked_sent_only_once_the_broker_acknowledged_every_one_in_commit_order():
    outbox, producer = Outbox(), Producer()
    later = pending(outbox, 2, at=T0 + timedelta(seconds=1))
    earlier = pending(outbox, 2, at=T0)  # stored after the later ones: the relay sorts
    relay = OutboxRelay(Database(outbox), producer)
    task = asyncio.create_task(relay.publish_pending())
    await until(lambda: len(producer.sent) == 4)
    assert producer.ids() == earlier + later, "by commit time, then position in the command"
    assert set(outbox.status().values()) == {PENDING}, "sent to the broker, not acknowledged: not marked"
    producer.ack()
    assert await task == 4
    assert set(outbox.status().values()) == {SENT} and all(d["published_at"] for d in outbox.docs)
    topic, message = producer.sent[0]
    envelope = envelope_of(outbox.docs[2], "/cress/unit-outbox")
    assert topic == "membership.member" and message == {"value": envelope.kafka_value(),
                                                        "key": envelope.kafka_key(),
                                                        "headers": envelope.kafka_headers()}
    assert await relay.publish_pending() == 0 and len(producer.sent) == 4, "nothing pending: nothing sent"


async def test_a_round_reads_at_most_a_batch():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    pending(outbox, 5)
    relay = OutboxRelay(Database(outbox), producer, batch_size=2)
    assert [await relay.publish_pending() for _ in range(4)] == [2, 2, 1, 0]
    assert len(producer.sent) == 5 and set(outbox.status().values()) == {SENT}


async def test_a_relay_remembers_the_ids_of_its_last_rounds_only():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    ids = pending(outbox, 6)
    relay = OutboxRelay(Database(outbox), producer, batch_size=1)
    assert [await relay.publish_pending() for _ in range(7)] == [1] * 6 + [0]
    assert producer.ids() == ids and set(outbox.status().values()) == {SENT}


async def test_records_committed_by_another_instance_go_out_at_the_next_poll():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    relay = OutboxRelay(Database(outbox), producer, poll_interval=0.01, coalesce=0.0)
    task = asyncio.create_task(relay.run())
    try:
        await until(lambda: len(outbox.queries) >= 1)
        ids = pending(outbox, 2)  # no notification: this process did not commit them
        for _ in range(500):  # polled: each round waits a poll interval (no notification comes)
            if producer.ids() == ids:
                break
            await asyncio.sleep(0.01)
        assert producer.ids() == ids
    finally:
        relay.stop()
        await task


async def test_while_a_round_is_marked_the_next_publishes_only_newer_records_and_after_that_mark():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    first = pending(outbox, 2)
    outbox.mark_gate = asyncio.Event()  # the mark is slow
    relay = OutboxRelay(Database(outbox), producer)
    assert await relay.publish_pending(mark_later=True) == 2, "returns at the acks, the mark under way"
    assert outbox.status() == {i: PENDING for i in first}
    newer = pending(outbox, 1, at=T0 + timedelta(seconds=1))
    task = asyncio.create_task(relay.publish_pending(mark_later=True))
    await until(lambda: len(outbox.queries) == 2)  # the round runs on until it waits (for the mark)
    assert producer.ids() == first and not task.done(), "the newer record waits for the last round's mark"
    outbox.mark_gate.set()
    assert await task == 1
    assert producer.ids() == first + newer, "the records being marked were left out: nothing published twice"
    await relay._marked()  # noqa: SLF001 — the last mark, as the relay's stop does
    assert set(outbox.status().values()) == {SENT}
    assert await relay.publish_pending() == 0 and outbox.queries[-1] == {"status": PENDING}


async def test_records_whose_mark_failed_are_published_again_before_any_later_one():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    first = pending(outbox, 2)
    outbox.mark_failures.append(AutoReconnect("the database went away"))
    relay = OutboxRelay(Database(outbox), producer)
    assert await relay.publish_pending(mark_later=True) == 2
    later = pending(outbox, 1, at=T0 + timedelta(seconds=1))
    with pytest.raises(AutoReconnect):
        await relay.publish_pending(mark_later=True)  # the failed mark surfaces: the round is retried
    assert producer.ids() == first
    assert await relay.publish_pending() == 3
    assert producer.ids() == first + first + later, "at least once, and in order"
    assert set(outbox.status().values()) == {SENT}


async def test_drain_publishes_until_nothing_is_pending():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    pending(outbox, 5)
    await OutboxRelay(Database(outbox), producer, batch_size=2).drain()
    assert len(producer.sent) == 5 and set(outbox.status().values()) == {SENT}


async def test_the_gauges_show_the_backlog_and_the_age_of_its_oldest_record():
    outbox = Outbox()
    relay = OutboxRelay(Database(outbox), Producer())
    backlog = metrics.OUTBOX_BACKLOG.labels("unit-outbox")
    oldest = metrics.OUTBOX_OLDEST_AGE.labels("unit-outbox")
    await relay.update_gauges()
    assert backlog._value.get() == 0 and oldest._value.get() == 0
    now = datetime.now(timezone.utc)
    pending(outbox, 1, at=now - timedelta(seconds=90))
    pending(outbox, 1, at=now - timedelta(seconds=30), start=1)
    outbox.sync.insert_one({**outbox.docs[0], "_id": "sent-long-ago", "status": SENT,
                            "created_at": now - timedelta(days=1)})
    await relay.update_gauges()
    assert backlog._value.get() == 2
    assert 90 <= oldest._value.get() < 120, "the oldest pending record's age, sent ones aside"


def published(topic: str = "membership.member") -> float:
    return metrics.MESSAGES_PUBLISHED.labels("unit-outbox", topic)._value.get()


async def test_a_command_s_records_go_out_in_their_order_and_each_is_counted():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    second = pending(outbox, 1, start=1)
    first = pending(outbox, 1)  # the same command (the same commit time), stored out of order
    before = published()
    assert await OutboxRelay(Database(outbox), producer).publish_pending() == 2
    assert producer.ids() == first + second, "by position in the command"
    assert published() - before == 2


async def test_the_test_hook_sees_a_round_acknowledged_and_not_yet_marked():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    ids = pending(outbox, 2)
    seen = []

    async def after_publish(records):
        seen.append(([r["_id"] for r in records], len(producer.sent), set(outbox.status().values())))

    await OutboxRelay(Database(outbox), producer, after_publish=after_publish).publish_pending()
    assert seen == [(ids, 2, {PENDING})], "a relay killed here publishes them again after its restart"


async def test_drain_gives_up_when_records_keep_coming():
    outbox = Outbox()
    pending(outbox, 1)

    class Busy(Producer):  # each of the first records sent is followed by a new one
        async def send(self, topic, **kwargs):
            if len(self.sent) < 5:
                pending(outbox, 1, at=T0 + timedelta(seconds=len(self.sent) + 1))
            return await super().send(topic, **kwargs)

    with pytest.raises(TimeoutError, match="not drained"):
        await OutboxRelay(Database(outbox), Busy(auto_ack=True)).drain(timeout=0)


async def test_the_oldest_pending_record_is_the_earliest_committed_and_a_clock_ahead_is_no_age():
    outbox = Outbox()
    relay = OutboxRelay(Database(outbox), Producer())
    now = datetime.now(timezone.utc)
    pending(outbox, 1, at=now - timedelta(seconds=30))
    pending(outbox, 1, at=now - timedelta(seconds=90), start=1)  # committed earlier, stored later
    await relay.update_gauges()
    assert 90 <= metrics.OUTBOX_OLDEST_AGE.labels("unit-outbox")._value.get() < 120
    ahead = Outbox()
    pending(ahead, 1, at=now + timedelta(hours=1))  # written by a machine whose clock runs ahead
    await OutboxRelay(Database(ahead), Producer()).update_gauges()
    assert metrics.OUTBOX_OLDEST_AGE.labels("unit-outbox")._value.get() == 0


async def test_the_relay_s_lease_is_the_document_the_previous_relays_held_and_lasts_lease_seconds():
    """The lease's name and its previous expiry field are those of the relays already running: a relay of
    this code and one of the previous code never publish at the same time during an upgrade."""
    outbox = Outbox()
    db = Database(outbox)
    leases = db[LEASE]
    now = datetime.now(timezone.utc)
    await leases.insert_one({"_id": "relay", "owner": "elsewhere.example:1:old", "until": now + timedelta(hours=1)})
    relay = OutboxRelay(db, Producer(), lease_seconds=42.0)
    assert not await relay.lease.acquire(), "held by a relay of the previous code"
    await leases.update_one({"_id": "relay"}, {"$set": {"until": now - timedelta(seconds=1)}})
    before = datetime.now(timezone.utc).replace(microsecond=0)  # MongoDB keeps milliseconds
    assert await relay.lease.acquire(), "its own expiry passed"
    stored = await leases.find_one({"_id": "relay"})
    assert "until" not in stored and stored["owner"] == relay.lease.owner
    assert before + timedelta(seconds=42) <= stored["expires_at"] <= datetime.now(timezone.utc) + timedelta(seconds=42)


async def test_a_relay_renews_its_producer_leaving_the_one_it_was_given_to_its_owner(monkeypatch):
    given, made = Producer(), [Producer(), Producer()]
    renewals = []

    db = Database(Outbox())

    async def renewed(settings, old, *, owned):
        assert settings is db.settings, "on the service's broker"
        renewals.append((old, owned))
        return made[len(renewals) - 1]

    monkeypatch.setattr("runtime.outbox.renewed_producer", renewed)
    relay = OutboxRelay(db, given)
    await relay.renew_producer()
    await relay.renew_producer()
    assert renewals == [(given, False), (made[0], True)], "the platform's is not stopped; its own one is"
    assert relay.producer is made[1]


class Idle(asyncio.Event):
    """The relay's wake-up event, counting how often the relay waited for news (it then had nothing to do)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    async def wait(self):
        self.waits += 1
        return await super().wait()


def running_relay(db: Database, producer: Producer) -> tuple[OutboxRelay, Idle]:
    relay = OutboxRelay(db, producer, poll_interval=30.0, coalesce=0.0)
    relay._wake = idle = Idle()  # noqa: SLF001
    return relay, idle


async def test_the_relay_publishes_at_start_and_after_each_commit_and_hands_its_lease_over_at_a_clean_stop():
    outbox, producer = Outbox(), Producer(auto_ack=True)
    db = Database(outbox)
    leases = db[LEASE]
    first = pending(outbox, 2)
    relay, idle = running_relay(db, producer)
    task = asyncio.create_task(relay.run())
    try:
        await until(lambda: idle.waits == 1)
        assert producer.ids() == first, "what was pending at start"
        queries = len(outbox.queries)
        newer = pending(outbox, 1, at=T0 + timedelta(seconds=1))
        relay.notify(newer)
        await until(lambda: idle.waits == 2)
        assert producer.ids() == first + newer, "a commit wakes it: no wait for the next poll"
        relay.notify(newer)  # a late notification of a record a round read already
        await until(lambda: idle.waits == 3)
        assert len(outbox.queries) == queries + 1, "no query for records already read"
        relay.notify()  # a commit whose records are not known: the outbox is read
        await until(lambda: idle.waits == 4)
        assert len(outbox.queries) == queries + 2
        racing = pending(outbox, 1, start=1, at=T0 + timedelta(seconds=1))
        outbox.on_find = lambda: relay.notify(racing)  # its notification comes again while the query that reads it runs
        relay.notify(racing)
        await until(lambda: idle.waits >= 6)  # the round, then the wake-up of that notification
        outbox.on_find = None
        assert producer.ids()[-1:] == racing and len(outbox.queries) == queries + 3, \
            "a record the round read is not news: no query for it"
        outbox.mark_gate = asyncio.Event()  # the next mark is slow
        last = pending(outbox, 1, at=T0 + timedelta(seconds=2))
        relay.notify(last)
        await until(lambda: idle.waits == 7)
        assert producer.ids()[-1:] == last and outbox.status()[last[0]] == PENDING
        relay.stop()
        for _ in range(100):
            await asyncio.sleep(0)
        assert not task.done(), "a stop waits for the mark under way"
        outbox.mark_gate.set()
        await task
        assert set(outbox.status().values()) == {SENT}
        assert (await leases.find_one({"_id": "relay"}))["owner"] is None, "released: the next relay takes over at once"
    finally:  # a failed assertion leaves no relay running
        if not task.done():
            outbox.on_find = None
            if outbox.mark_gate is not None:
                outbox.mark_gate.set()
            relay.stop()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_relay_whose_producer_lost_its_sequence_publishes_the_round_again_with_its_own(monkeypatch):
    from aiokafka.errors import OutOfOrderSequenceNumber

    class Forgotten(Producer):
        async def send(self, topic, **kwargs):
            await asyncio.sleep(0)  # a broker's answer
            raise OutOfOrderSequenceNumber()

    given, own = Forgotten(), Producer(auto_ack=True)
    stopped = []
    for producer in (given, own):
        async def stop(producer=producer):
            stopped.append(producer)
        producer.stop = stop

    async def renewed(settings, old, *, owned):
        return own

    monkeypatch.setattr("runtime.outbox.renewed_producer", renewed)
    outbox = Outbox()
    ids = pending(outbox, 2)
    relay, idle = running_relay(Database(outbox), given)
    task = asyncio.create_task(relay.run())
    await until(lambda: idle.waits == 1)
    assert own.ids() == ids and set(outbox.status().values()) <= {PENDING, SENT}
    relay.stop()
    await task
    assert stopped == [own], "its own producer stopped; the platform's left to the platform"
    assert set(outbox.status().values()) == {SENT}


async def test_a_relay_outlives_a_database_away_pausing_then_reading_the_outbox_again(monkeypatch):
    outbox, producer = Outbox(), Producer(auto_ack=True)
    ids = pending(outbox, 2)
    outbox.find_failures.append(AutoReconnect("the database went away"))
    pauses: list[float] = []
    sleep = asyncio.sleep

    async def pause(seconds):
        pauses.append(seconds)
        await sleep(0)

    monkeypatch.setattr("runtime.outbox.asyncio.sleep", pause)
    relay, idle = running_relay(Database(outbox), producer)
    task = asyncio.create_task(relay.run())
    try:
        await until(lambda: idle.waits >= 1)
        assert producer.ids() == ids, "the round after the failure read the outbox again"
        assert [p for p in pauses if p] == [1.0], "after a pause, not in a tight loop"
    finally:
        relay.stop()
        await asyncio.gather(task, return_exceptions=True)
    assert not task.exception(), "the relay ran on"
