"""The running parts of a service process (``runtime.platform``) and its Kafka admin (``runtime.kafka``)
with stand-ins for the database, the broker and the consumers: readiness and ``cress_dependency_up``,
waiting for the consumers to catch up, the background probe, a warm-up job, crash reports, topic
creation and the broker's ping. The integration tests start the same code against the real ones."""
from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from contracts.topics import Topic
from runtime import kafka, metrics, platform
from runtime.platform import Platform, _every, _probe, _report_crash
from runtime.service import Job
from runtime.settings import Settings


def run(coroutine):
    return asyncio.run(coroutine)


class Db:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure

    async def ping(self):
        if self.failure is not None:
            raise self.failure


class Producer:
    """``ping`` asks the broker for metadata through the producer's client."""

    def __init__(self, answer=True) -> None:
        self.answer = answer
        self.client = self

    async def force_metadata_update(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer == "hang":
            await asyncio.Event().wait()
        return self.answer


class Consumer:
    """Caught up after ``after`` questions; a question may fail (a rebalance)."""

    def __init__(self, after: int, failing: tuple[int, ...] = ()) -> None:
        self.after, self.failing, self.asked = after, failing, 0

    async def caught_up(self):
        self.asked += 1
        if self.asked in self.failing:
            raise KafkaError("rebalancing")
        return self.asked >= self.after


def a_platform(service: str = "unit-platform", *, db=None, producer=None, consumers=()) -> Platform:
    return Platform(definition=None, settings=Settings(service_name=service), db=db or Db(),
                    producer=producer or Producer(), relay=None, consumers=list(consumers))


def up(service: str, dependency: str) -> float:
    return metrics.DEPENDENCY_UP.labels(service, dependency)._value.get()


def test_readiness_names_each_dependency_and_sets_the_gauges():
    ready = a_platform("unit-ready")
    assert run(ready.readiness()) == {"mongodb": "ok", "kafka": "ok", "workers": "ok"}
    assert (up("unit-ready", "mongodb"), up("unit-ready", "kafka")) == (1, 1)
    away = a_platform("unit-away", db=Db(ConnectionError("refused")), producer=Producer(False))
    assert run(away.readiness()) == {"mongodb": "unreachable: ConnectionError", "kafka": "unreachable: ConnectionError",
                                     "workers": "ok"}
    assert (up("unit-away", "mongodb"), up("unit-away", "kafka")) == (0, 0)
    half = a_platform("unit-half", producer=Producer(KafkaError("gone")))
    assert run(half.readiness())["kafka"] == "unreachable: KafkaError"
    assert (up("unit-half", "mongodb"), up("unit-half", "kafka")) == (1, 0)


def test_readiness_names_the_workers_that_stopped():
    async def scenario():
        p = a_platform("unit-workers")

        async def forever():
            await asyncio.Event().wait()
        running = asyncio.create_task(forever(), name="outbox-relay")
        p.tasks = [running, asyncio.create_task(asyncio.sleep(0), name="consumer-ledger"),
                   asyncio.create_task(asyncio.sleep(0), name="job-sweep")]
        await asyncio.sleep(0.01)
        checks = await p.readiness()
        running.cancel()
        return checks
    assert run(scenario())["workers"] == "stopped: consumer-ledger, job-sweep"


def test_caught_up_waits_for_every_consumer_and_asks_again_after_a_failure(monkeypatch):
    monkeypatch.setattr(platform, "CAUGHT_UP_POLL", 0.001)
    quick, slow = Consumer(1), Consumer(3, failing=(2,))
    p = a_platform(consumers=[quick, slow])
    assert run(p.caught_up(timeout=5)) is True
    assert (quick.asked, slow.asked) == (1, 3)  # a consumer caught up is not asked again
    assert run(a_platform().caught_up(timeout=5)) is True


def test_caught_up_gives_up_after_its_timeout(monkeypatch):
    monkeypatch.setattr(platform, "CAUGHT_UP_POLL", 0.001)
    never = Consumer(10**9)
    assert run(a_platform(consumers=[never, Consumer(1)]).caught_up(timeout=0.02)) is False
    assert never.asked > 1
    once = Consumer(10**9)
    assert run(a_platform(consumers=[once]).caught_up(timeout=0)) is False and once.asked == 1


def test_the_probe_keeps_the_gauges_current_without_anyone_asking(monkeypatch):
    monkeypatch.setattr(platform, "PROBE_EVERY", 0.001)
    db = Db()
    p = a_platform("unit-probe", db=db)

    async def scenario():
        task = asyncio.create_task(_probe(p))
        while up("unit-probe", "mongodb") != 1:
            await asyncio.sleep(0.001)
        db.failure = ConnectionError("frozen")
        while up("unit-probe", "mongodb") != 0:
            await asyncio.sleep(0.001)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    run(asyncio.wait_for(scenario(), 5))


def runs_of(p: Platform, name: str, *, warm_up: bool = False, runs: int = 1) -> list:
    """The platforms a job (every 1 ms) was given in its first ``runs`` runs, then the job cancelled."""
    given: list = []

    async def job(platform):
        given.append(platform)

    async def scenario():
        task = asyncio.create_task(_every(Job(name, 0.001, job, warm_up=warm_up), p))
        while len(given) < runs:
            await asyncio.sleep(0.001)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
    run(asyncio.wait_for(scenario(), 5))
    return given[:runs]


@pytest.mark.parametrize("caught", [True, False])
def test_a_warm_up_job_waits_for_the_consumers_before_its_first_run(monkeypatch, caplog, caught):
    caplog.set_level(logging.WARNING, logger="runtime.platform")
    waits: list[float] = []

    async def caught_up(timeout):
        waits.append(timeout)
        return caught
    p = a_platform("unit-warm")
    p.caught_up = caught_up
    assert runs_of(p, "index", warm_up=True) == [p]
    assert waits == [platform.WARM_UP_WAIT]
    warned = [r.getMessage() for r in caplog.records if r.name == "runtime.platform"]
    assert warned == ([] if caught else ["job index: the consumers have not caught up after 30 s; warming up anyway"])


def test_a_job_without_warm_up_does_not_wait_for_the_consumers():
    async def caught_up(timeout):
        raise AssertionError("asked")
    p = a_platform("unit-cold")
    p.caught_up = caught_up
    assert runs_of(p, "sweep", runs=2) == [p, p]


def test_a_crashed_background_task_is_reported_and_a_cancelled_or_finished_one_is_not(caplog):
    caplog.set_level(logging.ERROR, logger="runtime.platform")

    async def boom():
        raise ValueError("no such collection")

    async def scenario():
        crashed = asyncio.create_task(boom(), name="consumer-ledger")
        fine = asyncio.create_task(asyncio.sleep(0), name="job-sweep")
        cancelled = asyncio.create_task(asyncio.sleep(10), name="outbox-relay")
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(crashed, fine, cancelled, return_exceptions=True)
        for task in (crashed, fine, cancelled):
            _report_crash(task)
    run(scenario())
    [reported] = [r for r in caplog.records if r.name == "runtime.platform"]
    assert reported.getMessage() == "background task consumer-ledger stopped: ValueError('no such collection')"
    assert reported.exc_info[1].args == ("no such collection",)


# --- runtime.kafka ---------------------------------------------------------------------------------

def test_ping_passes_when_the_broker_answers_and_fails_when_it_does_not():
    run(kafka.ping(Producer(True)))
    with pytest.raises(ConnectionError, match="^Kafka did not answer the metadata request$"):
        run(kafka.ping(Producer(False)))
    with pytest.raises(TimeoutError):
        run(kafka.ping(Producer("hang"), timeout=0.01))


class Admin:
    """An admin client: ``existing`` topics, creations answered per topic, new topics visible after
    ``visible_after`` listings."""

    made: list[dict] = []

    def __init__(self, *, existing=(), errors=None, already=(), visible_after: int = 0, answers=True,
                 hangs=False, **options) -> None:
        Admin.made.append(options)
        self.existing, self.errors, self.already = set(existing), errors or {}, set(already)
        self.visible_after, self.listings = visible_after, 0
        self.created: list = []
        self.started = self.closed = False
        self.answers, self.hangs = answers, hangs  # (older clients answer a creation with no topic errors)

    async def start(self):
        if self.hangs:
            await asyncio.Event().wait()
        self.started = True

    async def list_topics(self):
        self.listings += 1
        visible = self.existing | ({r.name for r in self.created} if self.listings > self.visible_after else set())
        return sorted(visible)

    async def create_topics(self, requests):
        assert len(requests) == 1, "one topic per request"
        [request] = requests
        if request.name in self.already:  # (created by another process since the listing)
            self.existing.add(request.name)
            raise TopicAlreadyExistsError
        self.created.append(request)
        if not self.answers:
            return None
        return SimpleNamespace(topic_errors=[(request.name, self.errors.get(request.name, 0), None)])

    async def close(self):
        self.closed = True


TOPICS = [Topic("cress.a.v1", "a", "thing", partitions=3), Topic("cress.b.v1", "b", "thing", partitions=1),
          Topic("cress.c.v1", "c", "thing", partitions=6, retention_ms=86_400_000, cleanup_policy="compact")]


PAUSES: list[float] = []


def admin(monkeypatch, **kwargs) -> list[Admin]:
    made: list[Admin] = []
    PAUSES.clear()

    def build(**options):
        made.append(Admin(**kwargs, **options))
        return made[-1]
    monkeypatch.setattr(kafka, "AIOKafkaAdminClient", build)
    monkeypatch.setattr(kafka.asyncio, "sleep", _no_wait)
    return made


async def _no_wait(seconds):
    """(``_wait_for_metadata``'s pause between two listings, noted and skipped)"""
    PAUSES.append(seconds)


def test_missing_topics_are_created_one_by_one_as_the_catalogue_says(monkeypatch):
    made = admin(monkeypatch, existing={"cress.b.v1", "cress.unrelated.v1"}, visible_after=2)
    settings = Settings(service_name="events", kafka_bootstrap_servers="k:9092", kafka_replication_factor=3,
                        kafka_min_insync_replicas=2)
    assert run(kafka.ensure_topics(settings, TOPICS)) == ["cress.a.v1", "cress.c.v1"]
    [client] = made
    assert Admin.made[-1] == {"bootstrap_servers": "k:9092", "client_id": "cress-events-admin",
                              "request_timeout_ms": 15000}
    assert [(r.name, r.num_partitions, r.replication_factor, r.topic_configs) for r in client.created] == [
        ("cress.a.v1", 3, 3, {"retention.ms": "-1", "cleanup.policy": "delete", "min.insync.replicas": "2"}),
        ("cress.c.v1", 6, 3, {"retention.ms": "86400000", "cleanup.policy": "compact", "min.insync.replicas": "2"})]
    assert client.started and client.closed and client.listings == 3  # waited until the new ones were visible
    assert PAUSES == [0.2]  # between the two listings after the creations


def test_topics_that_exist_or_another_process_just_created_are_left_alone(monkeypatch):
    made = admin(monkeypatch, existing={"cress.b.v1"}, already={"cress.a.v1"})
    assert run(kafka.ensure_topics(Settings(), TOPICS)) == ["cress.c.v1"]
    assert made[0].created[0].topic_configs == {"retention.ms": "86400000", "cleanup.policy": "compact"}  # no
    # min.insync.replicas unless set
    made = admin(monkeypatch, existing={t.name for t in TOPICS})
    assert run(kafka.ensure_topics(Settings(), TOPICS)) == [] and made[0].created == []


def test_without_a_list_every_topic_of_the_catalogue_is_ensured(monkeypatch):
    made = admin(monkeypatch, answers=False)
    assert run(kafka.ensure_topics(Settings())) == [t.name for t in kafka.all_topics()]
    assert len(made[0].created) == len(kafka.all_topics()) > 20


def test_a_broker_that_does_not_answer_the_admin_client_times_out(monkeypatch):
    made = admin(monkeypatch, hangs=True)
    with pytest.raises(TimeoutError):
        run(kafka.ensure_topics(Settings(), TOPICS, timeout=0.01))
    assert not made[0].started


def test_a_creation_the_broker_refuses_is_an_error_and_the_admin_is_closed(monkeypatch):
    made = admin(monkeypatch, errors={"cress.c.v1": 37})  # INVALID_PARTITIONS
    with pytest.raises(RuntimeError, match=r"^creating topic cress\.c\.v1: \[\('cress\.c\.v1', 37, None\)\]$"):
        run(kafka.ensure_topics(Settings(), TOPICS))
    assert made[0].closed
    made = admin(monkeypatch, errors={"cress.a.v1": 36})  # TOPIC_ALREADY_EXISTS in the answer: fine
    assert run(kafka.ensure_topics(Settings(), TOPICS)) == ["cress.a.v1", "cress.b.v1", "cress.c.v1"]


def test_topics_that_never_become_visible_time_out(monkeypatch):
    made = admin(monkeypatch, visible_after=10**9)
    with pytest.raises(TimeoutError, match=r"^topics not visible after creation: \['cress\.a\.v1', 'cress\.b\.v1', "
                                           r"'cress\.c\.v1'\]$"):
        run(kafka.ensure_topics(Settings(), TOPICS, timeout=0.01))
    assert made[0].closed and made[0].listings > 2


def test_a_renewed_producer_is_started_and_the_old_one_stopped_only_when_owned(monkeypatch):
    class Made:
        def __init__(self, fail_stop=False):
            self.started = self.stopped = False
            self.fail_stop = fail_stop

        async def start(self):
            self.started = True

        async def stop(self):
            self.stopped = True
            if self.fail_stop:
                raise KafkaError("cannot flush")
    built: list = []
    monkeypatch.setattr(kafka, "make_producer", lambda settings: built.append(settings) or Made())
    settings, shared, own = Settings(), Made(), Made(fail_stop=True)
    fresh = run(kafka.renewed_producer(settings, shared, owned=False))
    assert fresh.started and not shared.stopped and built == [settings]
    assert run(kafka.renewed_producer(settings, own, owned=True)).started and own.stopped
