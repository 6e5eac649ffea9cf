"""A process that dies inside an open MongoDB transaction (for the dead-transaction tests).

    python -m tests.integration.crash_in_transaction <collection> <document id>

It increments ``n`` of the document in a transaction and, before the commit, SIGKILLs itself: the
transaction stays open on the server, holding its write, as a crash would leave it. Settings come from
the environment (MONGODB_URI, MONGODB_DATABASE, KAFKA_GROUP_INSTANCE: the process's name).
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys

from runtime.mongo import Database
from runtime.settings import Settings


async def main(collection: str, document_id: str) -> None:
    db = Database(Settings())

    async def work(tx):
        await tx.db[collection].update_one({"_id": document_id}, {"$inc": {"n": 1}}, session=tx.session)
        os.kill(os.getpid(), signal.SIGKILL)

    await db.transaction(work)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
    sys.exit(3)  # not reached: the process kills itself
