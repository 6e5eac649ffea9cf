"""One member of a consumer group, as a service process runs it, for the static-membership test.

    python -m tests.integration.group_member <group>

Settings come from the environment (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI, KAFKA_GROUP_INSTANCE,
KAFKA_SESSION_TIMEOUT_MS…). Prints ``assigned <n>`` each time its partitions change, and runs until killed.
"""
from __future__ import annotations

import asyncio
import sys

from contracts.membership import OrganisationRegistered
from runtime.consumer import Consumer, Subscription
from runtime.kafka import make_producer
from runtime.mongo import Database
from runtime.settings import Settings


async def main(group: str) -> None:
    settings = Settings()
    db, producer = Database(settings), make_producer(settings)
    await producer.start()

    async def ignore(event, tx, envelope) -> None:
        return None

    consumer = Consumer(group, [Subscription(OrganisationRegistered, ignore)]).bind(db, producer)
    task = asyncio.create_task(consumer.run())
    seen = None
    while not task.done():
        assigned = len(consumer._kafka.assignment()) if consumer._kafka else 0  # noqa: SLF001
        if assigned != seen:
            print(f"assigned {assigned}", flush=True)
            seen = assigned
        await asyncio.sleep(0.2)
    await task


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
