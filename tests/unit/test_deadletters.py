"""runtime.deadletters without a broker: what a replay publishes and records, how a letter's replay
history is found, and the letters' own attributes (the broker's side: tests/integration/test_backbone.py)."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import typer

from runtime import deadletters
from runtime.deadletters import REPLAYS, DeadLetter, Replay
from runtime.settings import Settings

SETTINGS = Settings(jwt_secret="unit-test-secret-unit-test-secret-0123")
EARLIER = Replay(by="bob", at=datetime(2024, 3, 1, 9, 30, 5, tzinfo=timezone.utc), topic="membership.member",
                 partition=0, offset=41)


def letter(*, offset: int = 12, partition: int = 1, event_id: str = "evt-1", consumer: str = "yearly-statistics",
           replays: tuple[Replay, ...] = (), original: str | None = "membership.member") -> DeadLetter:
    headers = [("ce_id", event_id.encode()), ("ce_type", b"org.cress.membership.member-activated.v1"),
               ("dlq_error", b"ValueError: poison"), ("dlq_original_partition", b"2"),
               ("dlq_original_offset", b"7"), ("dlq_consumer", consumer.encode()), ("dlq_attempts", b"5")]
    if original is not None:
        headers.append(("dlq_original_topic", original.encode()))
    return DeadLetter("membership.member.dlq", partition, offset, b"org-1", b'{"organisation_id":"org-1"}',
                      tuple(headers), replays)


class Producer:
    """Acknowledges every send at the next offset of its topic's partition 0."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.started = self.stopped = False

    async def send_and_wait(self, topic, **kwargs):
        self.sent.append((topic, kwargs))
        return SimpleNamespace(topic=topic, partition=0, offset=100 + len(self.sent))

    async def start(self):
        self.started = True

    async def stop(self):
        self.stopped = True


@pytest.fixture
def ensured(monkeypatch) -> list:
    calls: list = []

    async def ensure_topics(settings, topics):
        assert settings is SETTINGS, "on the broker of the settings given"
        calls.append([t.name for t in topics])

    monkeypatch.setattr(deadletters, "ensure_topics", ensure_topics)
    return calls


async def test_a_replay_publishes_the_original_message_back_then_records_who_when_and_where(ensured):
    producer = Producer()
    seen = []
    before = datetime.now(timezone.utc)
    [done] = await deadletters.replay(SETTINGS, [letter(replays=(EARLIER,))], producer, on_each=seen.append,
                                      by="alice")
    assert ensured == [[REPLAYS.name]], "the replay records' compacted topic is made, never left to the broker"
    (topic, message), (record_topic, record) = producer.sent
    assert topic == "membership.member", "back to the original topic"
    assert message["value"] == b'{"organisation_id":"org-1"}' and message["key"] == b"org-1"
    assert message["headers"] == [("ce_id", b"evt-1"), ("ce_type", b"org.cress.membership.member-activated.v1"),
                                  ("dlq_replayed_from", b"membership.member.dlq:1:12")], \
        "the CloudEvents headers kept, the dead letter's own dropped, where it came from added"
    assert record_topic == REPLAYS.name and record["key"] == b"membership.member.dlq:1:12"
    stored = json.loads(record["value"])
    assert {k: stored[k] for k in ("dlq_topic", "partition", "offset", "event_id")} == \
        {"dlq_topic": "membership.member.dlq", "partition": 1, "offset": 12, "event_id": "evt-1"}
    assert stored["replays"][0] == EARLIER.to_json(), "the record carries the whole history"
    new = Replay.from_json(stored["replays"][1])
    assert (new.by, new.topic, new.partition, new.offset) == ("alice", "membership.member", 0, 101), \
        "where the broker put the message it acknowledged"
    assert before <= new.at <= datetime.now(timezone.utc)
    assert done.replays == (EARLIER, new) and done.replayed and done.coordinates == "membership.member.dlq:1:12"
    assert done == letter() and (done.key, done.value, done.headers) == (letter().key, letter().value,
                                                                          letter().headers), "the same letter"
    assert [d.offset for d in seen] == [12]
    assert not producer.started and not producer.stopped, "a producer given is its owner's to stop"


async def test_a_replay_without_a_producer_uses_its_own_and_records_the_os_user(ensured, monkeypatch):
    producer = Producer()
    monkeypatch.setattr(deadletters, "make_producer", lambda settings: settings is SETTINGS and producer)
    monkeypatch.setattr(deadletters.getpass, "getuser", lambda: "operator")
    [done] = await deadletters.replay(SETTINGS, [letter()])
    assert producer.started and producer.stopped
    assert [r.by for r in done.replays] == ["operator"]
    assert [topic for topic, _ in producer.sent] == ["membership.member", REPLAYS.name]


def test_the_os_user_is_unknown_when_the_uid_has_no_name(monkeypatch):
    def nameless():
        raise KeyError("getpwuid(): uid not found: 1001")

    monkeypatch.setattr(deadletters.getpass, "getuser", nameless)
    assert deadletters.who() == "unknown"


def test_a_letters_history_is_its_own_record_not_that_of_an_earlier_letter_at_the_same_place():
    mine = {"event_id": "evt-1", "replays": [EARLIER.to_json()]}
    assert deadletters._history(letter(), mine) == (EARLIER,)  # noqa: SLF001
    assert deadletters._history(letter(event_id="evt-2"), mine) == (), "its topic was made again: offsets reused"  # noqa: SLF001
    assert deadletters._history(letter(), None) == () and deadletters._history(letter(), {}) == ()  # noqa: SLF001
    assert deadletters._history(letter(), {"event_id": "evt-1"}) == ()  # noqa: SLF001


async def test_the_listed_letters_carry_their_replays_and_come_oldest_first(monkeypatch):
    first, second = letter(offset=3), letter(offset=12, event_id="evt-2")
    other = DeadLetter("events.event.dlq", 0, 1, None, None, ())

    async def read_records(settings, topics):
        assert settings is SETTINGS and topics == ["membership.member.dlq", "events.event.dlq"]
        return [SimpleNamespace(topic=d.dlq_topic, partition=d.partition, offset=d.offset, key=d.key, value=d.value,
                                headers=list(d.headers)) for d in (second, other, first)]

    async def read_replays(settings):
        assert settings is SETTINGS
        return {second.coordinates: {"event_id": "evt-2", "replays": [EARLIER.to_json()]},
                first.coordinates: {"event_id": "evt-0", "replays": [EARLIER.to_json()]}}

    monkeypatch.setattr(deadletters, "read_records", read_records)
    monkeypatch.setattr(deadletters, "read_replays", read_replays)
    found = await deadletters.read_dead_letters(SETTINGS, ["membership.member.dlq", "events.event.dlq"])
    assert [(d.dlq_topic, d.offset) for d in found] == \
        [("events.event.dlq", 1), ("membership.member.dlq", 3), ("membership.member.dlq", 12)]
    assert [d.replays for d in found] == [(), (), (EARLIER,)]
    assert found[2].headers == second.headers and found[2].value == second.value and found[2].key == second.key
    assert found[2].partition == second.partition


def test_a_replay_reads_and_writes_the_same_record(monkeypatch):
    assert Replay.from_json(json.loads(json.dumps(EARLIER.to_json()))) == EARLIER
    assert EARLIER.describe() == "2024-03-01 09:30:05Z by bob → membership.member[0]@41"
    monkeypatch.setenv("TZ", "CET-1")  # the operator's machine on local time (POSIX: no tz database needed)
    time.tzset()
    try:
        paris = Replay(by="bob", at=datetime(2024, 3, 1, 10, 30, 5, tzinfo=timezone(timedelta(hours=1))),
                       topic="membership.member", partition=0, offset=41)
        assert paris.describe() == "2024-03-01 09:30:05Z by bob → membership.member[0]@41", "in UTC, as its Z says"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_letter_names_its_original_topic_and_its_headers():
    assert letter().original_topic == "membership.member"
    assert letter(original="membership.organisation").original_topic == "membership.organisation"
    assert letter(original=None).original_topic == "membership.member", "else the dead-letter topic's own"
    assert letter().header("dlq_original_offset") == "7" and letter().header("dlq_nothing") is None
    assert not letter().replayed and letter(replays=(EARLIER,)).replayed


def test_letters_of_one_consumer():
    letters = [letter(consumer="yearly-statistics"), letter(consumer="directory", offset=13)]
    assert deadletters.of_consumer(letters, None) == letters
    assert [d.offset for d in deadletters.of_consumer(letters, "directory")] == [13]


def test_the_dead_letter_topics_are_the_catalogues():
    every = deadletters.dead_letter_topics()
    assert "membership.member.dlq" in every and all(name.endswith(".dlq") for name in every)
    assert deadletters.dead_letter_topics("membership.member.dlq") == ["membership.member.dlq"]
    with pytest.raises(typer.BadParameter, match="'membership.member' is not a dead-letter topic") as refused:
        deadletters.dead_letter_topics("membership.member")
    assert "known: " + ", ".join(every) in str(refused.value), "the topics it could have been"


def test_a_header_that_is_not_utf8_is_shown_not_fatal():
    broken = DeadLetter("membership.member.dlq", 0, 1, None, None, (("dlq_error", b"bad \xff byte"),))
    assert broken.header("dlq_error") == "bad \ufffd byte"


class KafkaLog:
    """aiokafka's consumer over an in-memory log: ``topics`` maps a topic to its partitions' records (values);
    ``hidden`` topics are unknown to the consumer's metadata until it asks the broker again. A fetch returns
    at most two records of a partition."""

    def __init__(self, topics: dict[str, dict[int, list[bytes]]], hidden: set[str] = frozenset()) -> None:
        self.topics, self.hidden = topics, set(hidden)
        self.options: dict = {}
        self.assigned: list = []
        self.positions: dict = {}
        self.stopped = False
        self._client = SimpleNamespace(force_metadata_update=self._refresh)

    def __call__(self, **options):  # stands for the class AIOKafkaConsumer
        self.options = options
        return self

    async def _refresh(self):
        self.hidden.clear()

    async def start(self):
        pass

    async def stop(self):
        self.stopped = True

    def partitions_for_topic(self, name):
        return None if name in self.hidden or name not in self.topics else set(self.topics[name])

    def assign(self, parts):
        self.assigned = list(parts)

    async def end_offsets(self, parts):
        return {tp: len(self.topics[tp.topic][tp.partition]) for tp in parts}

    async def seek_to_beginning(self, *parts):
        self.positions.update({tp: 0 for tp in parts})

    async def position(self, tp):
        return self.positions[tp]

    async def getmany(self, *parts, timeout_ms):
        batch = {}
        for tp in parts:
            start = self.positions[tp]
            values = self.topics[tp.topic][tp.partition][start:start + 2]
            if values:
                batch[tp] = [SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=start + i, value=v,
                                             key=f"k{start + i}".encode())
                             for i, v in enumerate(values)]
                self.positions[tp] = start + len(values)
        return batch


async def test_the_records_are_read_from_the_beginning_to_each_partition_s_end_without_a_group(monkeypatch):
    log = KafkaLog({"membership.member.dlq": {0: [b"a", b"b", b"c"], 1: [], 2: [b"d"]},
                    "events.event.dlq": {0: [b"e"]}}, hidden={"events.event.dlq"})
    monkeypatch.setattr(deadletters, "AIOKafkaConsumer", log)
    records = await deadletters.read_records(SETTINGS, ["membership.member.dlq", "events.event.dlq"])
    by_partition: dict[tuple[str, int], list] = {}
    for r in records:
        by_partition.setdefault((r.topic, r.partition), []).append((r.offset, r.value))
    assert by_partition == {("membership.member.dlq", 0): [(0, b"a"), (1, b"b"), (2, b"c")],
                            ("membership.member.dlq", 2): [(0, b"d")], ("events.event.dlq", 0): [(0, b"e")]}, \
        "every record, each partition's in order"
    assert log.options["group_id"] is None and log.options["enable_auto_commit"] is False, \
        "reading moves no consumer group's offsets"
    assert log.options["auto_offset_reset"] == "earliest"
    assert log.options["bootstrap_servers"] == SETTINGS.kafka_bootstrap_servers
    assert [tp.partition for tp in log.assigned] == [0, 1, 2, 0], "a topic the metadata did not know yet: asked for"
    assert log.stopped


async def test_no_dead_letter_topic_with_partitions_reads_nothing(monkeypatch):
    log = KafkaLog({})
    monkeypatch.setattr(deadletters, "AIOKafkaConsumer", log)
    assert await deadletters.read_records(SETTINGS, ["membership.member.dlq"]) == [] and log.stopped
    assert log.assigned == []


async def test_a_letter_s_replay_record_is_the_last_one_of_its_key(monkeypatch, ensured):
    older, newer = {"event_id": "evt-1", "replays": []}, {"event_id": "evt-1", "replays": [EARLIER.to_json()]}

    async def read_records(settings, topics):
        assert settings is SETTINGS and topics == [REPLAYS.name]
        return [SimpleNamespace(key=b"membership.member.dlq:1:12", value=json.dumps(older).encode()),
                SimpleNamespace(key=b"events.event.dlq:0:3", value=json.dumps(older).encode()),
                SimpleNamespace(key=None, value=json.dumps(newer).encode()),
                SimpleNamespace(key=b"membership.member.dlq:1:12", value=json.dumps(newer).encode()),
                SimpleNamespace(key=b"events.event.dlq:0:3", value=None)]  # compaction's tombstone: ignored

    monkeypatch.setattr(deadletters, "read_records", read_records)
    assert await deadletters.read_replays(SETTINGS) == {"membership.member.dlq:1:12": newer,
                                                        "events.event.dlq:0:3": older}
    assert ensured == [[REPLAYS.name]], "the compacted topic is made before it is read, never auto-created"
