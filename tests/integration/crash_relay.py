"""A process that dies at a chosen point of the outbox pipeline (for the durability tests).

    python -m tests.integration.crash_relay after-commit   <org-id>   # commit, die before any publish
    python -m tests.integration.crash_relay after-publish              # publish, die before marking sent

Settings come from the environment (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI, MONGODB_DATABASE…).
The process ends with SIGKILL on itself: no cleanup, no flush, as a crash would.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import date

from runtime.kafka import make_producer
from runtime.mongo import Database
from runtime.outbox import OutboxRelay
from runtime.settings import Settings
from services.membership.domain import Organisation


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def after_commit(org_id: str) -> None:
    db = Database(Settings())

    async def work(tx):
        org = Organisation.register(org_id, siret="73282932000074", name="Crash test SCOP", legal_form="scop",
                                    departement="93", commune="Montreuil", sector="économie circulaire",
                                    headcount=3, annual_budget_cents=12_000_000, on=date(2026, 1, 5))
        await tx.save("organisations", org)

    await db.transaction(work)
    die()


async def after_publish() -> None:
    settings = Settings()
    db = Database(settings)
    producer = make_producer(settings)
    await producer.start()

    async def crash(records):
        await producer.flush()
        die()

    await OutboxRelay(db, producer, after_publish=crash).publish_pending()


if __name__ == "__main__":
    if sys.argv[1] == "after-commit":
        asyncio.run(after_commit(sys.argv[2]))
    else:
        asyncio.run(after_publish())
    sys.exit(3)  # not reached: the process kills itself
