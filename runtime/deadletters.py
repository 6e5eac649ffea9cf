"""The dead-letter CLI: list the messages consumers gave up on, and replay them.

Dead letters live in the ``<topic>.dlq`` topics (kept 30 days). Each carries the original
value, key and CloudEvents headers, plus ``dlq_error``, ``dlq_original_topic``,
``dlq_original_partition``, ``dlq_original_offset``, ``dlq_consumer``, ``dlq_attempts`` and
``dlq_failed_at``. Replaying publishes the original message back to its original topic
(with a ``dlq_replayed_from`` header): once the cause is fixed the consumer handles it; a
consumer that already handled the event drops it as a duplicate, so replaying twice is safe.

    python -m runtime.deadletters list [--topic membership.member.dlq]
    python -m runtime.deadletters replay membership.member.dlq 12     # one, by DLQ offset
    python -m runtime.deadletters replay --all [--topic …]             # every one, with progress
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from contracts.topics import catalogue
from runtime.kafka import make_producer
from runtime.settings import Settings


@dataclass(frozen=True)
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode(errors="replace")
        return None

    @property
    def original_topic(self) -> str:
        return self.header("dlq_original_topic") or self.dlq_topic.removesuffix(".dlq")


def dead_letter_topics(topic: str | None = None) -> list[str]:
    names = [t.dead_letter.name for t in catalogue()]
    if topic is None:
        return names
    if topic not in names:
        raise typer.BadParameter(f"{topic!r} is not a dead-letter topic; known: {', '.join(names)}")
    return [topic]


async def read_dead_letters(settings: Settings, topics: list[str]) -> list[DeadLetter]:
    """Every message currently in ``topics``, read from the beginning without a consumer group."""
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
        out: list[DeadLetter] = []
        remaining = {tp for tp in parts if ends[tp] > await consumer.position(tp)}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    out.append(DeadLetter(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers)))
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return sorted(out, key=lambda d: (d.dlq_topic, d.partition, d.offset))
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 — aiokafka has no public call for this
    return consumer.partitions_for_topic(topic) or set()


async def replay(settings: Settings, letters: list[DeadLetter], producer: AIOKafkaProducer | None = None,
                 on_each=None) -> int:
    own = producer is None
    producer = producer or make_producer(settings)
    if own:
        await producer.start()
    try:
        for letter in letters:
            headers = [(k, v) for k, v in letter.headers if not k.startswith("dlq_")]
            headers.append(("dlq_replayed_from", f"{letter.dlq_topic}:{letter.partition}:{letter.offset}".encode()))
            await producer.send_and_wait(letter.original_topic, value=letter.value, key=letter.key, headers=headers)
            if on_each:
                on_each(letter)
        return len(letters)
    finally:
        if own:
            await producer.stop()


cli = typer.Typer(help="List and replay dead letters.", add_completion=False, no_args_is_help=True)
console = Console()


@cli.command("list")
def list_cmd(topic: Annotated[str | None, typer.Option(help="One dead-letter topic.")] = None) -> None:
    """List the dead letters, oldest first."""
    letters = asyncio.run(read_dead_letters(Settings(), dead_letter_topics(topic)))
    table = Table("dlq topic", "offset", "original", "consumer", "type", "subject", "attempts", "failed at", "error")
    for d in letters:
        table.add_row(d.dlq_topic, str(d.offset),
                      f"{d.original_topic}[{d.header('dlq_original_partition')}]@{d.header('dlq_original_offset')}",
                      d.header("dlq_consumer") or "", d.header("ce_type") or "?", d.header("ce_subject") or "",
                      d.header("dlq_attempts") or "", d.header("dlq_failed_at") or "", d.header("dlq_error") or "")
    console.print(table)
    console.print(f"{len(letters)} dead letter(s)")


@cli.command("replay")
def replay_cmd(dlq_topic: Annotated[str | None, typer.Argument(help="The dead-letter topic.")] = None,
               offset: Annotated[int | None, typer.Argument(help="The dead letter's offset in it.")] = None,
               all_: Annotated[bool, typer.Option("--all", help="Replay every dead letter.")] = False,
               topic: Annotated[str | None, typer.Option(help="With --all: only this dead-letter topic.")] = None) -> None:
    """Publish dead letters back to their original topic."""
    settings = Settings()
    if all_:
        letters = asyncio.run(read_dead_letters(settings, dead_letter_topics(topic)))
    elif dlq_topic is not None and offset is not None:
        letters = [d for d in asyncio.run(read_dead_letters(settings, dead_letter_topics(dlq_topic)))
                   if d.offset == offset]
        if not letters:
            raise typer.BadParameter(f"no dead letter at offset {offset} of {dlq_topic}")
    else:
        raise typer.BadParameter("give a dead-letter topic and an offset, or --all")
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("replaying", total=len(letters))
        count = asyncio.run(replay(settings, letters, on_each=lambda _: progress.advance(task)))
    console.print(f"replayed {count} dead letter(s)")


if __name__ == "__main__":
    cli()
