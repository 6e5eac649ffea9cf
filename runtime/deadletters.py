"""The dead-letter CLI: list the messages consumers gave up on, and replay them — each replay recorded.

Dead letters live in the ``<topic>.dlq`` topics (kept 30 days). Each carries the original
value, key and CloudEvents headers, plus ``dlq_error``, ``dlq_original_topic``,
``dlq_original_partition``, ``dlq_original_offset``, ``dlq_consumer``, ``dlq_attempts`` and
``dlq_failed_at``. Replaying publishes the original message back to its original topic
(with a ``dlq_replayed_from`` header): once the cause is fixed the consumer handles it; a
consumer that already handled the event drops it as a duplicate, so replaying twice is safe.

Replays are recorded: who (``--by``, else the OS user), when, and where the message went (topic,
partition, offset), in the compacted topic ``cress.deadletters.replays`` keyed by
``<dlq topic>:<partition>:<offset>``. Each record carries the letter's whole replay history (the
last record of a key is the one compaction keeps). Kafka rather than a MongoDB collection: the
dead letters are Kafka's, so the CLI needs the broker alone (no service's database, which each
service has its own of, to choose), and the records are kept as long as needed at no cost. A
record names the letter's event id too: a replay record of a letter that is no longer there (a
dead-letter topic deleted and created again reuses offsets) is not taken for another letter's.

``replay --all`` skips the letters replayed already, and so does ``replay <topic> <offset>``,
unless ``--force``. ``list`` shows for each letter whether, when, by whom and to where it was
replayed. A replay published but not recorded (the CLI killed in between) looks not replayed:
replaying it again is harmless.

    python -m runtime.deadletters list [--topic membership.member.dlq] [--consumer yearly-statistics]
    python -m runtime.deadletters replay membership.member.dlq 12 [--by alice] [--force]   # one, by DLQ offset
    python -m runtime.deadletters replay --all [--topic …] [--consumer …] [--force]        # every one not replayed
"""
from __future__ import annotations

import asyncio
import getpass
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from contracts.topics import Topic, catalogue
from runtime.kafka import ensure_topics, make_producer
from runtime.settings import Settings

REPLAYS = Topic(name="cress.deadletters.replays", service="runtime", aggregate_type="dead letter", partitions=1,
                cleanup_policy="compact",
                description="Who replayed which dead letter, when and to where: the last record of each letter "
                            "(key <dlq topic>:<partition>:<offset>) holds its whole replay history.")


@dataclass(frozen=True)
class Replay:
    """One replay of a dead letter: by whom, when, and where the message went."""

    by: str
    at: datetime
    topic: str
    partition: int
    offset: int

    def to_json(self) -> dict[str, Any]:
        return {"by": self.by, "at": self.at.isoformat(), "topic": self.topic, "partition": self.partition,
                "offset": self.offset}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Replay:
        return cls(by=data["by"], at=datetime.fromisoformat(data["at"]), topic=data["topic"],
                   partition=int(data["partition"]), offset=int(data["offset"]))

    def describe(self) -> str:
        when = self.at.astimezone(timezone.utc)
        return f"{when:%Y-%m-%d %H:%M:%S}Z by {self.by} → {self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True)
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    replays: tuple[Replay, ...] = field(default=(), compare=False)

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode(errors="replace")
        return None

    @property
    def original_topic(self) -> str:
        return self.header("dlq_original_topic") or self.dlq_topic.removesuffix(".dlq")

    @property
    def coordinates(self) -> str:
        """``<dlq topic>:<partition>:<offset>``: the key of its replay records."""
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"

    @property
    def replayed(self) -> bool:
        return bool(self.replays)


def dead_letter_topics(topic: str | None = None) -> list[str]:
    names = [t.dead_letter.name for t in catalogue()]
    if topic is None:
        return names
    if topic not in names:
        raise typer.BadParameter(f"{topic!r} is not a dead-letter topic; known: {', '.join(names)}")
    return [topic]


async def read_records(settings: Settings, topics: list[str]) -> list[ConsumerRecord]:
    """Every record currently in ``topics``, read from the beginning without a consumer group, in
    each partition's order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        parts = []
        for name in topics:
            for p in sorted(consumer.partitions_for_topic(name) or await _partitions(consumer, name)):
                parts.append(TopicPartition(name, p))
        if not parts:
            return []
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        await consumer.seek_to_beginning(*parts)
        out: list[ConsumerRecord] = []
        remaining = {tp for tp in parts if ends[tp] > await consumer.position(tp)}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                out += records
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return out
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 — aiokafka has no public call for this
    return consumer.partitions_for_topic(topic) or set()


async def read_replays(settings: Settings) -> dict[str, dict[str, Any]]:
    """The replay records by letter (``<dlq topic>:<partition>:<offset>``): the last one of each key."""
    await ensure_topics(settings, [REPLAYS])  # never left to the broker's auto-creation (not compacted)
    latest: dict[str, dict[str, Any]] = {}
    for record in await read_records(settings, [REPLAYS.name]):
        if record.key is not None and record.value is not None:
            latest[record.key.decode()] = json.loads(record.value)
    return latest


def _history(letter: DeadLetter, record: dict[str, Any] | None) -> tuple[Replay, ...]:
    if not record or record.get("event_id") != letter.header("ce_id"):
        return ()  # none, or another letter's of the same coordinates (its topic was created again)
    return tuple(Replay.from_json(r) for r in record.get("replays", []))


async def read_dead_letters(settings: Settings, topics: list[str]) -> list[DeadLetter]:
    """Every dead letter currently in ``topics``, with its replays, oldest first."""
    records, replays = await asyncio.gather(read_records(settings, topics), read_replays(settings))
    letters = []
    for r in records:
        letter = DeadLetter(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers))
        letters.append(replace(letter, replays=_history(letter, replays.get(letter.coordinates))))
    return sorted(letters, key=lambda d: (d.dlq_topic, d.partition, d.offset))


def who() -> str:
    """The OS user running the CLI (``--by`` names someone else)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "unknown"


async def replay(settings: Settings, letters: list[DeadLetter], producer: AIOKafkaProducer | None = None,
                 on_each=None, *, by: str | None = None) -> list[DeadLetter]:
    """Publish each letter back to its original topic, then record the replay (after the broker
    acknowledged the message: a replay recorded has happened). Returns the letters with their new
    replay history."""
    by = by or who()
    await ensure_topics(settings, [REPLAYS])
    own = producer is None
    producer = producer or make_producer(settings)
    if own:
        await producer.start()
    try:
        done = []
        for letter in letters:
            headers = [(k, v) for k, v in letter.headers if not k.startswith("dlq_")]
            headers.append(("dlq_replayed_from", letter.coordinates.encode()))
            sent = await producer.send_and_wait(letter.original_topic, value=letter.value, key=letter.key,
                                                headers=headers)
            this = Replay(by=by, at=datetime.now(timezone.utc), topic=sent.topic, partition=sent.partition,
                          offset=sent.offset)
            history = (*letter.replays, this)
            record = {"dlq_topic": letter.dlq_topic, "partition": letter.partition, "offset": letter.offset,
                      "event_id": letter.header("ce_id"), "replays": [r.to_json() for r in history]}
            await producer.send_and_wait(REPLAYS.name, key=letter.coordinates.encode(),
                                         value=json.dumps(record).encode())
            done.append(replace(letter, replays=history))
            if on_each:
                on_each(letter)
        return done
    finally:
        if own:
            await producer.stop()


def of_consumer(letters: list[DeadLetter], consumer: str | None) -> list[DeadLetter]:
    return letters if consumer is None else [d for d in letters if d.header("dlq_consumer") == consumer]


cli = typer.Typer(help="List and replay dead letters.", add_completion=False, no_args_is_help=True)
console = Console()


@cli.command("list")
def list_cmd(topic: Annotated[str | None, typer.Option(help="One dead-letter topic.")] = None,
             consumer: Annotated[str | None, typer.Option(help="Only the letters this consumer gave up on.")] = None,
             ) -> None:
    """List the dead letters, oldest first, with their replays."""
    letters = of_consumer(asyncio.run(read_dead_letters(Settings(), dead_letter_topics(topic))), consumer)
    table = Table("dlq topic", "offset", "original", "consumer", "type", "subject", "attempts", "failed at")
    table.add_column("error", overflow="fold")
    table.add_column("replayed (when, by whom, to where)", no_wrap=True)
    for d in letters:
        table.add_row(d.dlq_topic, str(d.offset),
                      f"{d.original_topic}[{d.header('dlq_original_partition')}]@{d.header('dlq_original_offset')}",
                      d.header("dlq_consumer") or "", d.header("ce_type") or "?", d.header("ce_subject") or "",
                      d.header("dlq_attempts") or "", d.header("dlq_failed_at") or "", d.header("dlq_error") or "",
                      "\n".join(r.describe() for r in d.replays) or "no")
    console.print(table)
    replayed = sum(1 for d in letters if d.replayed)
    console.print(f"{len(letters)} dead letter(s), {replayed} replayed")


@cli.command("replay")
def replay_cmd(dlq_topic: Annotated[str | None, typer.Argument(help="The dead-letter topic.")] = None,
               offset: Annotated[int | None, typer.Argument(help="The dead letter's offset in it.")] = None,
               all_: Annotated[bool, typer.Option("--all", help="Replay every dead letter not replayed yet.")] = False,
               topic: Annotated[str | None, typer.Option(help="With --all: only this dead-letter topic.")] = None,
               consumer: Annotated[str | None, typer.Option(help="With --all: only the letters this consumer gave "
                                                                 "up on (its cause fixed).")] = None,
               force: Annotated[bool, typer.Option("--force", help="Replay letters replayed already, too.")] = False,
               by: Annotated[str | None, typer.Option(help="Who replays (recorded; default: the OS user).")] = None,
               ) -> None:
    """Publish dead letters back to their original topic, and record each replay."""
    settings = Settings()
    if all_:
        letters = of_consumer(asyncio.run(read_dead_letters(settings, dead_letter_topics(topic))), consumer)
    elif dlq_topic is not None and offset is not None:
        letters = [d for d in asyncio.run(read_dead_letters(settings, dead_letter_topics(dlq_topic)))
                   if d.offset == offset]
        if not letters:
            raise typer.BadParameter(f"no dead letter at offset {offset} of {dlq_topic}")
    else:
        raise typer.BadParameter("give a dead-letter topic and an offset, or --all")
    skipped = [] if force else [d for d in letters if d.replayed]
    letters = [d for d in letters if force or not d.replayed]
    for d in skipped:
        console.print(f"skipped {d.coordinates}: replayed already ({d.replays[-1].describe()}); --force replays it "
                      f"again")
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("replaying", total=len(letters))
        done = asyncio.run(replay(settings, letters, on_each=lambda _: progress.advance(task), by=by))
    console.print(f"replayed {len(done)} dead letter(s), skipped {len(skipped)} replayed already")


if __name__ == "__main__":
    cli()
