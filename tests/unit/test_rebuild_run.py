"""A whole rebuild (``runtime.rebuild.rebuild``) on an in-memory log and database: the replay from the first
event, the events that arrive while it runs and after the swap, the swap by name, the leftovers of an
interrupted rebuild, a rebuild that fails, and the CLI's refusals.

The log is a stand-in for a group-less Kafka consumer (assigned partitions, seeks, pauses, fetches of at
most ``max_records``); the integration test ``tests/integration/test_observatory_rebuild.py`` runs a real
one against the broker and the database."""
from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timezone
from types import SimpleNamespace

import mongomock
import pytest
import typer
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from pymongo import UpdateOne

from contracts.envelope import CloudEvent
from contracts.membership import MemberActivated, MembershipWithdrawn, OrganisationRegistered
from contracts.topics import topic_for
from runtime import rebuild as rebuilding
from runtime.consumer import Consumer, Subscription
from runtime.mongo import REBUILDS, AliasedDatabase
from runtime.rebuild import Projection, Replay, generation, main, rebuild, throwaway_consumer
from runtime.settings import Settings
from tests.unit.examples import example
from tests.unit.memory_mongo import AsyncCollection

AT = datetime(2037, 3, 1, 9, tzinfo=timezone.utc)
TOPIC = topic_for(MembershipWithdrawn.event_type).name
OTHER_TOPIC = "cress.other.v1"
WITHDRAWALS, COUNTS = "withdrawals", "withdrawal_counts"


def record(topic: str, partition: int, offset: int, event_id: str, organisation: str = "org-1",
           event=None) -> ConsumerRecord:
    event = event or MembershipWithdrawn(organisation_id=organisation, reason="resignation", detail=None,
                                         previous_status="active", outstanding_cents=0, withdrawn_on=date(2037, 3, 1))
    envelope = CloudEvent.from_domain(event, source="/cress/membership", event_id=event_id, time=AT)
    value = envelope.kafka_value()
    return ConsumerRecord(topic, partition, offset, 0, 0, None, value, None, 0, len(value), envelope.kafka_headers())


class CloudEventOfNoKnownType:
    """An event type no service declares (a newer producer's): passed over, not counted as skipped."""

    event_type = "org.cress.membership.not-yet-known.v1"
    aggregate_id = "org-1"

    @staticmethod
    def model_dump(mode):
        return {"organisation_id": "org-1"}


def poison(topic: str, partition: int, offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, offset, 0, 0, None, b"{}", None, 0, 2, [("ce_id", b"x")])


class Cluster:
    def __init__(self, log):
        self.log = log

    def partitions_for_topic(self, topic):
        return {tp.partition for tp in self.log if tp.topic == topic} or None


class Log:
    """A group-less consumer of an in-memory log: ``log`` maps partitions to their records (appended to
    while a rebuild runs, by ``on_end_offsets``)."""

    def __init__(self, log: dict[TopicPartition, list[ConsumerRecord]], first: dict | None = None) -> None:
        self.log = log
        self.first = first or {}
        self.position: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()
        self.assigned: list[TopicPartition] = []
        self.fetches: list[tuple[set, int]] = []
        self.ends_asked = 0
        self.on_end_offsets = lambda asked: None
        self.on_fetch = lambda fetches: None
        self.started = self.stopped = False

        class Client:
            async def fetch_all_metadata(inner):
                return Cluster(self.log)
        self._client = Client()

    def append(self, tp: TopicPartition, event_id: str, organisation: str = "org-1") -> None:
        self.log[tp].append(record(tp.topic, tp.partition, len(self.log[tp]), event_id, organisation))

    async def start(self):
        self.started = True

    async def stop(self):
        self.stopped = True

    def assign(self, partitions):
        self.assigned = list(partitions)

    async def beginning_offsets(self, partitions):
        return {tp: self.first.get(tp, 0) for tp in partitions}

    async def end_offsets(self, partitions):
        self.ends_asked += 1
        self.on_end_offsets(self.ends_asked)
        return {tp: len(self.log[tp]) for tp in partitions}

    def seek(self, tp, offset):
        self.position[tp] = offset

    def resume(self, *tps):
        self.paused -= set(tps)

    def pause(self, *tps):
        self.paused |= set(tps)

    async def getmany(self, *tps, timeout_ms, max_records):
        assert timeout_ms == 500
        self.fetches.append(({tp.partition for tp in tps}, max_records))
        out, left = {}, max_records
        self.on_fetch(len(self.fetches))
        for tp in sorted(tps):  # (one order, whatever the set's)
            if tp in self.paused or left == 0:
                continue
            batch = self.log[tp][self.position[tp]:self.position[tp] + left]
            if batch:
                out[tp] = batch
                self.position[tp] += len(batch)
                left -= len(batch)
        return out


class RawDatabase(dict):
    """A PyMongo database on mongomock: collections, their names, dropping them."""

    def __init__(self) -> None:
        super().__init__()
        self.sync = mongomock.MongoClient(tz_aware=True).db

    def __missing__(self, name):
        self[name] = AsyncCollection(self.sync[name])
        return self[name]

    async def list_collection_names(self):
        return self.sync.list_collection_names()

    async def drop_collection(self, name):
        self.sync.drop_collection(name)
        self.pop(name, None)


class Service:
    """What :func:`rebuild` takes: a :class:`runtime.mongo.Database`'s settings and aliased database."""

    def __init__(self) -> None:
        self.settings = Settings(service_name="observatory")
        self.db = AliasedDatabase(RawDatabase())

    def documents(self, name: str) -> list[dict]:
        return list(self.db.raw.sync[self.db.resolve(name)].find({}, {"_id": 1, "organisation": 1}).sort("_id"))


HANDLED: list[str] = []
FAILING: set[str] = set()  # events ``withdrawn`` fails on  # the events ``withdrawn`` was given, in order


async def withdrawn(event, tx, envelope):
    """Stages an insert-if-absent (written in bulk) and writes a count directly (one round trip)."""
    assert tx.session is None and tx.causation_id == envelope.id and tx.correlation_id == envelope.correlationid
    assert tx.source == "/cress/observatory"
    HANDLED.append(envelope.id)
    if envelope.id in FAILING:
        raise RuntimeError(f"cannot handle {envelope.id}")
    tx.stage(WITHDRAWALS, UpdateOne({"_id": envelope.id}, {"$setOnInsert": {"organisation": event.organisation_id}},
                                    upsert=True))
    await tx.db[COUNTS].update_one({"_id": event.organisation_id}, {"$inc": {"n": 1}}, upsert=True)


def projection(indexed: list | None = None) -> Projection:
    async def indexes(view):
        indexed.append(view[WITHDRAWALS].sync.name)
    return Projection("withdrawals", lambda: [Consumer("withdrawals", [Subscription(MembershipWithdrawn, withdrawn)])],
                      (WITHDRAWALS, COUNTS), indexes=None if indexed is None else indexes)


def a_log(events: int = 5) -> Log:
    p0, p1, other = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1), TopicPartition(OTHER_TOPIC, 0)
    kafka = Log({p0: [], p1: [], other: []})
    for n in range(events):
        kafka.append(p0 if n % 2 else p1, f"e{n}", f"org-{n % 2}")
    return kafka


@pytest.fixture(autouse=True)
def _handled():
    HANDLED.clear()
    FAILING.clear()


class Clock:
    """``time.perf_counter`` one second further at each call: the outcome's durations are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def rebuilt(service, kafka, monkeypatch, **kwargs):
    made: list[tuple] = []
    monkeypatch.setattr(rebuilding.time, "perf_counter", Clock())

    def consumer(settings, batch_size):
        made.append((settings, batch_size))
        return kafka
    monkeypatch.setattr(rebuilding, "throwaway_consumer", consumer)
    outcome = asyncio.run(rebuild(service, projection(kwargs.pop("indexed", None)), settle=0, **kwargs))
    assert made == [(service.settings, kwargs.get("batch_size", 5_000))]
    return outcome


def test_a_rebuild_replays_the_log_into_new_collections_and_swaps_them_in(monkeypatch):
    service, kafka = Service(), a_log(5)
    p0 = TopicPartition(TOPIC, 0)
    kafka.append(p0, "e1", "org-1")  # e1 published twice
    kafka.log[p0].append(poison(TOPIC, 0, len(kafka.log[p0])))
    kafka.log[p0].append(record(TOPIC, 0, len(kafka.log[p0]), "a1",
                                  event=example(MemberActivated, organisation_id="org-1")))  # a type nobody here handles
    live = service.db.raw
    live[WITHDRAWALS].sync.insert_one({"_id": "stale"})
    live[COUNTS].sync.insert_one({"_id": "org-0", "n": 99})
    kafka.log[p0].append(record(TOPIC, 0, len(kafka.log[p0]), "a2", event=CloudEventOfNoKnownType))
    progress: list[tuple[int, int]] = []
    indexed: list[str] = []
    states: list[str] = []

    def arrive(asked):
        states.append(live.sync[REBUILDS].find_one({"_id": "withdrawals"})["state"])
    kafka.on_end_offsets = arrive

    def fetched(fetches):
        if fetches == 1:  # published after the replay's ends were taken: read by the catch-up, not the replay
            kafka.append(p0, "late", "org-1")
    kafka.on_fetch = fetched

    outcome = rebuilt(service, kafka, monkeypatch, batch_size=2, progress=lambda d, t: progress.append((d, t)),
                      indexed=indexed)

    assert [d["_id"] for d in service.documents(WITHDRAWALS)] == ["e0", "e1", "e2", "e3", "e4", "late"]
    assert {d["_id"]: d["n"] for d in live.sync[service.db.resolve(COUNTS)].find({})} == {"org-0": 3, "org-1": 3}
    assert (outcome.projection, outcome.events, outcome.caught_up, outcome.skipped) == ("withdrawals", 9, 1, 1)
    assert states == ["running", "running", "done"]
    assert (outcome.swap_seconds, outcome.seconds, outcome.cleanup_seconds) == (1.0, 3.0, 1.0)
    assert kafka.paused == {p0, TopicPartition(TOPIC, 1)}
    assert outcome.collections == {c: f"{c}__rebuild_{outcome.stamp}" for c in (WITHDRAWALS, COUNTS)}
    assert service.db.aliases == outcome.collections and indexed == [outcome.collections[WITHDRAWALS]]
    assert set(live.sync.list_collection_names()) == {REBUILDS, *outcome.collections.values()}  # replaced: dropped
    state = live.sync[REBUILDS].find_one({"_id": "withdrawals"})
    assert (state["state"], state["events"], state["stamp"]) == ("done", 9, outcome.stamp)
    assert state["targets"] == state["collections"] == outcome.collections
    assert state["generations"] == {WITHDRAWALS: 1, COUNTS: 1} and state["finished_at"] >= state["started_at"]
    assert progress[-1] == (10, 9) and [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert {t for _, t in progress} == {9} and (9, 9) in progress and len(progress) >= 5
    assert all(max_records == 2 for _, max_records in kafka.fetches)
    assert kafka.assigned == [p0, TopicPartition(TOPIC, 1)] and kafka.started and kafka.stopped
    assert asyncio.run(generation(live, "withdrawals", WITHDRAWALS)) == 1
    assert asyncio.run(generation(live, "withdrawals", "nothing")) == 0
    assert asyncio.run(generation(live, "never-rebuilt", WITHDRAWALS)) == 0


def test_events_published_during_the_replay_and_after_the_swap_are_in_the_new_collections(monkeypatch):
    service, kafka = Service(), a_log(4)
    p0, p1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)

    def arrive(asked):
        if asked == 2:  # the catch-up's ends: written meanwhile into the live collections
            kafka.append(p1, "during", "org-7")
        if asked == 3:  # the last catch-up: written by a live consumer that had not followed the swap yet
            kafka.append(p0, "after", "org-8")
    kafka.on_end_offsets = arrive
    progress: list[tuple[int, int]] = []
    outcome = rebuilt(service, kafka, monkeypatch, batch_size=3, progress=lambda d, t: progress.append((d, t)))
    assert progress[-2:] == [(5, 4), (6, 4)]
    assert [d["_id"] for d in service.documents(WITHDRAWALS)] == ["after", "during", "e0", "e1", "e2", "e3"]
    assert (outcome.events, outcome.caught_up) == (4, 2)
    assert kafka.ends_asked == 3


def test_a_rebuild_starts_from_the_log_s_first_offsets_not_zero(monkeypatch):
    service, kafka = Service(), a_log(6)
    kafka.first = {TopicPartition(TOPIC, 0): 2}  # (the log's retention removed e1 and e3)
    progress: list[tuple[int, int]] = []
    outcome = rebuilt(service, kafka, monkeypatch, progress=lambda d, t: progress.append((d, t)))
    assert progress == [(4, 4)]
    assert [d["_id"] for d in service.documents(WITHDRAWALS)] == ["e0", "e2", "e4", "e5"]
    assert outcome.events == 4


def test_a_second_rebuild_drops_the_leftovers_and_the_collections_it_replaces(monkeypatch):
    service, kafka = Service(), a_log(3)
    first = rebuilt(service, kafka, monkeypatch)
    raw = service.db.raw
    raw["withdrawals__rebuild_20370101T000000_dead"].sync.insert_one({"_id": "partial"})  # a kill -9's
    raw[WITHDRAWALS].sync.insert_one({"_id": "left by a crash after a swap"})
    raw["withdrawals_archive"].sync.insert_one({"_id": "not ours"})
    second = rebuilt(service, a_log(3), monkeypatch)
    assert second.stamp != first.stamp
    assert set(raw.sync.list_collection_names()) == {REBUILDS, "withdrawals_archive", *second.collections.values()}
    assert asyncio.run(generation(raw, "withdrawals", COUNTS)) == 2


def test_a_rebuild_that_fails_drops_its_collections_and_leaves_the_live_ones(monkeypatch):
    service, kafka = Service(), a_log(5)
    raw = service.db.raw
    raw[WITHDRAWALS].sync.insert_one({"_id": "live"})
    with pytest.raises(RuntimeError, match=r"^rebuild stopped on purpose after 2 events$"):
        rebuilt(service, kafka, monkeypatch, fail_after=2, batch_size=1)
    assert len(HANDLED) == 2
    assert set(raw.sync.list_collection_names()) == {REBUILDS, WITHDRAWALS}
    assert service.db.aliases == {} and service.documents(WITHDRAWALS) == [{"_id": "live"}]
    state = raw.sync[REBUILDS].find_one({"_id": "withdrawals"})
    assert state["state"] == "failed" and "targets" not in state and "finished_at" in state
    assert kafka.stopped


def test_a_failure_after_the_swap_keeps_the_new_collections_live(monkeypatch):
    service, kafka = Service(), a_log(2)
    raw = service.db.raw
    raw[WITHDRAWALS].sync.insert_one({"_id": "live"})

    def arrive(asked):
        if asked == 3:
            kafka.append(TopicPartition(TOPIC, 0), "after", "org-8")
    kafka.on_end_offsets = arrive
    FAILING.add("after")
    with pytest.raises(RuntimeError, match="^cannot handle after$"):
        rebuilt(service, kafka, monkeypatch)
    state = raw.sync[REBUILDS].find_one({"_id": "withdrawals"})
    assert state["state"] == "done" and service.db.aliases == state["targets"]
    assert [d["_id"] for d in service.documents(WITHDRAWALS)] == ["e0", "e1"]
    assert WITHDRAWALS in raw.sync.list_collection_names() and kafka.stopped  # the next rebuild drops it


def test_a_rebuild_of_topics_the_broker_does_not_have_is_refused(monkeypatch):
    service = Service()
    kafka = Log({TopicPartition(OTHER_TOPIC, 0): []})
    with pytest.raises(RuntimeError, match=rf"^topics not found: {TOPIC}$"):
        rebuilt(service, kafka, monkeypatch)
    two = Projection("two", lambda: [Consumer("two", [Subscription(MembershipWithdrawn, withdrawn),
                                                      Subscription(OrganisationRegistered, withdrawn)])], (WITHDRAWALS,))
    monkeypatch.setattr(rebuilding, "throwaway_consumer", lambda settings, batch_size: kafka)
    with pytest.raises(RuntimeError, match=r"^topics not found: membership\.member, membership\.organisation$"):
        asyncio.run(rebuild(service, two, settle=0))
    assert kafka.stopped and service.db.raw.sync[REBUILDS].find_one({})["state"] == "failed"


def test_a_replay_reads_partitions_it_has_no_start_for_from_their_first_record():
    kafka = a_log(4)
    replay = Replay([Consumer("w", [Subscription(MembershipWithdrawn, withdrawn)])], "/cress/observatory")
    p0, p1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    progress: list = []
    assert asyncio.run(replay.run(kafka, Service().db, {}, {p0: 2, p1: 1}, lambda d, t: progress.append((d, t)))) == 3
    assert HANDLED == ["e1", "e3", "e0"] and progress == [(3, 0)]


def test_each_consumer_of_a_projection_gets_the_events_it_handles_once():
    async def activated(event, tx, envelope):
        HANDLED.append(f"activated {envelope.id}")
    replay = Replay([Consumer("activations", [Subscription(MemberActivated, activated)]),
                     Consumer("withdrawals", [Subscription(MembershipWithdrawn, withdrawn)])], "/cress/observatory")
    kafka = a_log(1)
    p1 = TopicPartition(TOPIC, 1)
    kafka.log[p1].append(record(TOPIC, 1, 1, "a1", event=example(MemberActivated, organisation_id="org-1")))
    kafka.log[p1] += [poison(TOPIC, 1, 2), poison(TOPIC, 1, 3)]
    assert asyncio.run(replay.run(kafka, Service().db, {}, {p1: 4})) == 4
    assert HANDLED == ["e0", "activated a1"] and replay.skipped == 2


def test_a_replay_with_nothing_to_read_fetches_nothing():
    kafka = a_log(2)
    replay = Replay([Consumer("w", [Subscription(MembershipWithdrawn, withdrawn)])], "/cress/test")
    ends = {TopicPartition(TOPIC, 0): 1, TopicPartition(TOPIC, 1): 1}
    assert asyncio.run(replay.run(kafka, Service().db, dict(ends), ends)) == 0
    assert kafka.fetches == [] and kafka.paused == set(ends)


def test_the_throwaway_consumer_belongs_to_no_group_and_commits_nothing():
    async def build():
        return throwaway_consumer(Settings(service_name="observatory", kafka_bootstrap_servers="k1:9092,k2:9092"), 750)
    kafka = asyncio.run(build())
    assert kafka._group_id is None and kafka._enable_auto_commit is False
    assert kafka._client._bootstrap_servers == "k1:9092,k2:9092"
    assert kafka._client._client_id == "cress-observatory-rebuild"
    assert kafka._max_poll_records == 750
    assert kafka._fetch_max_bytes == 64 * 1024 * 1024 and kafka._max_partition_fetch_bytes == 16 * 1024 * 1024


class Bar:
    """What the CLI hands ``rebuild``: a database opened from the service's definition."""

    def __init__(self) -> None:
        self.opened = self.closed = False

    async def open(self):
        self.opened = True
        return self

    async def close(self):
        self.closed = True


def test_the_cli_rebuilds_the_projections_asked_showing_progress_and_each_outcome(monkeypatch, capsys):
    import runtime.service
    monkeypatch.setenv("COLUMNS", "200")  # (rich wraps its lines at the console's width)
    database = Bar()
    monkeypatch.setattr(runtime.service, "service",
                        lambda name: SimpleNamespace(database=lambda: database) if name == "observatory" else None)
    known = {"ledger": Projection("ledger", list, ("ledger", "ledger_marks")), "facts": Projection("facts", list, ("facts",))}
    monkeypatch.setattr(rebuilding, "projections_of", lambda name: known if name == "observatory" else {})
    calls: list = []

    async def fake(db, projection, *, progress, batch_size):
        calls.append((db, projection.name, batch_size))
        progress(3, 10)
        return rebuilding.Outcome(projection.name, "s", 10, 2, 1, 4.25, {c: f"{c}__rebuild_s" for c in projection.collections})
    monkeypatch.setattr(rebuilding, "rebuild", fake)
    main("observatory", ["facts"], batch_size=250)
    err = capsys.readouterr().err
    assert calls == [(database, "facts", 250)] and database.opened and database.closed
    assert "facts: 10 events replayed, 2 caught up, 1 skipped, in 4.2 s → facts replaced" in err
    assert re.search(r"^rebuilding facts ━+ 12/10 0:00:0\d$", err, re.M)
    calls.clear()
    main("observatory", all_=True)
    err = capsys.readouterr().err
    assert [name for _, name, _ in calls] == ["ledger", "facts"] and calls[0][2] == 5_000
    assert "ledger: 10 events replayed, 2 caught up, 1 skipped, in 4.2 s → ledger, ledger_marks replaced" in err
    calls.clear()
    main("observatory", ["facts"], all_=True)
    assert [name for _, name, _ in calls] == ["ledger", "facts"]
    calls.clear()
    main("observatory")
    assert [name for _, name, _ in calls] == ["ledger", "facts"]


def test_the_cli_refuses_a_service_without_projections_or_an_unknown_one(monkeypatch, capsys):
    monkeypatch.setattr(rebuilding, "projections_of", lambda name: {})
    with pytest.raises(typer.Exit) as caught:
        main("membership", ["ledger"])
    assert caught.value.exit_code == 2 and "membership declares no projection" in capsys.readouterr().err
    monkeypatch.setattr(rebuilding, "projections_of", lambda name: {"ledger": None, "facts": None})
    with pytest.raises(typer.Exit) as caught:
        main("observatory", ["ledger", "ledgers", "fact"])
    assert caught.value.exit_code == 2
    assert "unknown projection(s) ledgers, fact; observatory has: ledger, facts" in capsys.readouterr().err


def test_the_cli_reads_the_service_the_projections_and_its_options(monkeypatch):
    asked: list[tuple] = []
    monkeypatch.setattr(rebuilding, "main", lambda *args: asked.append(args))
    for argv in (["observatory", "ledger", "members", "--batch-size", "250"], ["observatory", "--all"], ["observatory"]):
        monkeypatch.setattr("sys.argv", ["rebuild", *argv])
        with pytest.raises(SystemExit) as caught:
            rebuilding.cli()
        assert caught.value.code == 0
    assert asked == [("observatory", ["ledger", "members"], False, 250), ("observatory", None, True, 5_000),
                     ("observatory", None, False, 5_000)]


def test_the_projections_a_service_declares_by_name():
    assert {name: p.collections for name, p in rebuilding.projections_of("observatory").items()} == {
        "ledger": ("ledger",), "members": ("organisations", "member_standing"), "directory": ("directory_suppliers",)}
    assert rebuilding.projections_of("membership") == {}


def test_the_rebuild_s_view_maps_its_collections_in_every_way_of_reaching_them():
    from runtime.rebuild import DatabaseView
    raw = RawDatabase()
    raw.get_collection = lambda name, *args, **kwargs: (name, args, kwargs)
    view = DatabaseView(raw, {WITHDRAWALS: "withdrawals__rebuild_s"})
    assert view.get_collection(WITHDRAWALS, "codec", write_concern="w") == ("withdrawals__rebuild_s", ("codec",),
                                                                          {"write_concern": "w"})
    assert view.get_collection(COUNTS) == (COUNTS, (), {})
    assert view.sync is raw.sync  # everything else is the database's
