"""Unit tests of the shared runtime's pure parts: auth tokens, settings, aggregates, errors."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from runtime.auth import ADMIN, Unauthenticated, decode_token, issue_token
from runtime.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings(jwt_secret="unit-test-secret-unit-test-secret-0123")


def test_token_round_trip_carries_subject_and_roles(settings):
    principal = decode_token(settings, issue_token(settings, "camille", ["staff:membership", "reader"]))
    assert principal.subject == "camille" and principal.roles == {"staff:membership", "reader"}
    assert principal.has_any({"reader"}) and not principal.has_any({"partner"})
    admin = decode_token(settings, issue_token(settings, "root", [ADMIN]))
    assert admin.has_any({"staff:events"}), "admin may do everything"


def test_expired_wrong_audience_and_wrong_key_tokens_are_refused(settings):
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    with pytest.raises(Unauthenticated, match="expired"):
        decode_token(settings, issue_token(settings, "x", ["admin"], ttl=timedelta(hours=1), now=past))
    other_audience = settings.model_copy(update={"jwt_audience": "somebody-else"})
    with pytest.raises(Unauthenticated, match="(?i)audience"):
        decode_token(settings, issue_token(other_audience, "x", ["admin"]))
    other_key = settings.model_copy(update={"jwt_secret": "x" * 40})
    with pytest.raises(Unauthenticated, match="invalid bearer token"):
        decode_token(settings, issue_token(other_key, "x", ["admin"]))


def test_settings_read_the_environment(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("SERVICE_NAME", "events")
    monkeypatch.setenv("KAFKA_IDEMPOTENT_PRODUCER", "false")
    settings = Settings()
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.mongodb_database == "events", "the database defaults to the service name"
    assert settings.kafka_idempotent_producer is False
    assert settings.source == "/cress/events"


def test_a_short_jwt_secret_is_refused(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "short")
    with pytest.raises(ValueError, match="jwt_secret"):
        Settings()


def test_json_logs_carry_the_correlation_and_event_ids():
    import json
    import logging

    from runtime import logging as log_context

    formatter = log_context.JsonFormatter("membership")
    record = logging.LogRecord("membership", logging.INFO, __file__, 1, "member %s activated", ("org-1",), None)
    c, e = log_context.correlation_id.set("corr-7"), log_context.event_id.set("evt-9")
    try:
        entry = json.loads(formatter.format(record))
    finally:
        log_context.correlation_id.reset(c)
        log_context.event_id.reset(e)
    assert entry["message"] == "member org-1 activated" and entry["service"] == "membership"
    assert entry["correlation_id"] == "corr-7" and entry["event_id"] == "evt-9" and entry["level"] == "info"


async def test_periodic_jobs_outlive_a_failed_run_and_count_their_outcomes():
    import asyncio
    from types import SimpleNamespace

    from runtime import metrics
    from runtime.platform import _every
    from runtime.service import Job

    runs = []

    async def sweep(platform) -> None:
        runs.append(platform)
        if len(runs) == 2:
            raise RuntimeError("the database blinked")

    platform = SimpleNamespace(settings=SimpleNamespace(service_name="unit-jobs"))
    ok = metrics.JOB_RUNS.labels("unit-jobs", "sweep", "ok")
    failed = metrics.JOB_RUNS.labels("unit-jobs", "sweep", "failed")
    before_ok, before_failed = ok._value.get(), failed._value.get()
    task = asyncio.create_task(_every(Job("sweep", 0.01, sweep), platform))
    while len(runs) < 4:
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert failed._value.get() - before_failed == 1
    assert ok._value.get() - before_ok >= 3, "the job ran on after its failure"


async def test_a_consumer_handles_a_fetch_of_several_partitions_as_one_batch_and_commits_after_it(monkeypatch):
    """One transaction and one offset commit per fetch (not one per partition), each partition's records in
    their order, and the offsets committed only once the batch is durable (never when it failed: then the
    partitions go back to the fetch's first records, so the next fetch does not skip them)."""
    from types import SimpleNamespace

    import pytest
    from aiokafka import TopicPartition

    from contracts.membership import OrganisationRegistered
    from runtime.consumer import Consumer, Subscription

    async def project(event, tx, envelope) -> None:
        pass

    journal: list = []

    class Kafka:
        async def commit(self, offsets):
            journal.append(("commit", dict(offsets)))

        def seek(self, tp, offset):
            journal.append(("seek", tp.partition, offset))

    consumer = Consumer("unit-fetch", [Subscription(OrganisationRegistered, project)])
    consumer._subscriber = SimpleNamespace(consumer=Kafka())  # noqa: SLF001 — FastStream's subscriber

    async def process(records):
        journal.append(("process", [(r.partition, r.offset) for r in records]))

    consumer.process = process
    a, b = TopicPartition("membership.organisation", 0), TopicPartition("membership.organisation", 3)
    record = lambda tp, offset: SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=offset)  # noqa: E731
    await consumer.take({a: [record(a, 7), record(a, 8)], b: [record(b, 2)]})
    assert journal == [("process", [(0, 7), (0, 8), (3, 2)]), ("commit", {a: 9, b: 3})]

    async def fails(records):
        raise ConnectionError("the database went away")

    consumer.process = fails
    monkeypatch.setattr("runtime.consumer.REFETCH_AFTER", 0)
    journal.clear()
    with pytest.raises(ConnectionError):
        await consumer.take({a: [record(a, 9), record(a, 10)], b: [record(b, 3)]})
    assert journal == [("seek", 0, 9), ("seek", 3, 3)], \
        "nothing committed ahead of the writes, and the fetch's partitions rewound to its first records"


async def test_a_consumer_whose_producer_lost_its_sequence_dead_letters_with_a_new_one(monkeypatch):
    """After a broker restart the platform's producer may fail every send with OutOfOrderSequenceNumber
    (make chaos): the consumer writes its dead letter with a producer of its own, and stops it at close."""
    from types import SimpleNamespace

    from aiokafka.errors import OutOfOrderSequenceNumber

    from contracts.membership import OrganisationRegistered
    from runtime.consumer import Consumer, Subscription

    class Producer:
        def __init__(self, broken: bool):
            self.broken, self.sent, self.messages, self.stopped = broken, [], [], False

        async def send_and_wait(self, topic, **kwargs):
            if self.broken:
                raise OutOfOrderSequenceNumber()
            self.sent.append(topic)
            self.messages.append(kwargs)

        async def stop(self):
            self.stopped = True

    shared, fresh = Producer(broken=True), Producer(broken=False)
    renewals = []

    async def renewed(settings, old, *, owned):
        renewals.append((settings, old, owned))
        return fresh

    monkeypatch.setattr("runtime.consumer.renewed_producer", renewed)

    async def project(event, tx, envelope) -> None:
        pass

    consumer = Consumer("unit-dlq", [Subscription(OrganisationRegistered, project)])
    settings = SimpleNamespace(kafka_bootstrap_servers="localhost:9")
    consumer.db, consumer.service, consumer.producer = SimpleNamespace(settings=settings), "membership", shared
    record = SimpleNamespace(topic="membership.organisation", partition=0, offset=3, key=b"k", value=b"{}",
                             headers=[("ce_id", b"evt-3")])
    await consumer._dead_letter(record, ValueError("poison"), 1)  # noqa: SLF001
    assert fresh.sent == ["membership.organisation.dlq"] and renewals == [(settings, shared, False)]
    [message] = fresh.messages
    assert (message["value"], message["key"]) == (b"{}", b"k"), "the original message, as it was"
    assert message["headers"][0] == ("ce_id", b"evt-3") and ("dlq_original_offset", b"3") in message["headers"]
    await consumer.close()
    assert fresh.stopped and not shared.stopped, "its own producer stopped; the platform's left to the platform"


async def test_a_warm_up_job_runs_first_once_the_consumers_caught_up_and_the_others_at_once():
    """A cache loader (the observatory's in-memory ledger) must not slow the projections catching up after a
    restart: its first run waits for the platform's consumers; a sweeper does not."""
    import asyncio
    from types import SimpleNamespace

    from runtime.platform import _every
    from runtime.service import Job

    caught_up, asked = asyncio.Event(), []
    runs: list[str] = []

    async def consumers_caught_up(timeout):
        asked.append(timeout)
        await caught_up.wait()
        return True

    async def load(platform):
        runs.append("warm-up")

    async def sweep(platform):
        runs.append("sweep")

    platform = SimpleNamespace(settings=SimpleNamespace(service_name="unit-jobs"), caught_up=consumers_caught_up)
    tasks = [asyncio.create_task(_every(Job("ledger", 0.01, load, warm_up=True), platform)),
             asyncio.create_task(_every(Job("sweep", 0.01, sweep), platform))]
    while runs.count("sweep") < 3:
        await asyncio.sleep(0.01)
    assert "warm-up" not in runs and len(asked) == 1, "the warm-up waits; the sweeper does not"
    caught_up.set()
    while "warm-up" not in runs:
        await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_platform_has_caught_up_when_each_consumer_has_and_says_so_at_its_deadline():
    from types import SimpleNamespace

    from runtime.platform import Platform

    class Consumer:
        def __init__(self, answers):
            self.answers = list(answers)

        async def caught_up(self):
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            if isinstance(answer, Exception):
                raise answer
            return answer

    def platform(*consumers):
        return Platform(SimpleNamespace(), SimpleNamespace(), None, None, None, list(consumers))

    assert await platform(Consumer([False, RuntimeError("rebalancing"), True]), Consumer([True])).caught_up(5)
    assert not await platform(Consumer([True]), Consumer([False])).caught_up(0.3), "one behind at the deadline"
    assert await platform().caught_up(0), "no consumer: nothing to wait for"
