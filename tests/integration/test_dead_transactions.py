"""A process restarted after a SIGKILL inside a transaction does not wait on that transaction: it kills
its predecessor's server sessions at start (``Database.end_predecessor_sessions``), and the server aborts
what they held. Without it the restarted process's write to the same document conflicted until the server
aborted the dead transaction at its lifetime (10 s on the embedded stack, 60 s by default)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from runtime import metrics
from runtime.mongo import SESSIONS, Database

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
COLLECTION = "dead_transactions"


def _crash_inside_a_transaction(settings, name: str, document_id: str) -> None:
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "MONGODB_DATABASE": settings.mongodb_database,
           "SERVICE_NAME": "membership", "KAFKA_GROUP_INSTANCE": name}
    done = subprocess.run([sys.executable, "-m", "tests.integration.crash_in_transaction", COLLECTION, document_id],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, f"the process should have been killed: {done.returncode} {done.stderr}"


async def test_a_restarted_process_aborts_the_transaction_its_dead_predecessor_left_open(settings):
    name = f"membership@test:{uuid.uuid4().hex[:8]}"
    document_id = uuid.uuid4().hex
    restarted = Database(settings.model_copy(update={"kafka_group_instance": name}))
    try:
        await restarted[COLLECTION].insert_one({"_id": document_id, "n": 0})
        _crash_inside_a_transaction(settings, name, document_id)
        recorded = await restarted[SESSIONS].find_one({"_id": name})
        assert len(recorded["lsids"]) == 1, "the dead process recorded its session before its transaction"

        assert await restarted.end_predecessor_sessions() == 1
        assert (await restarted[SESSIONS].find_one({"_id": name}))["lsids"] == []
        retries = metrics.TRANSACTION_RETRIES.labels(settings.service_name)
        before, runs = retries._value.get(), []

        async def work(tx):
            runs.append(1)
            await tx.db[COLLECTION].update_one({"_id": document_id}, {"$inc": {"n": 1}}, session=tx.session)
        await restarted.transaction(work)
        assert len(runs) == 1 and retries._value.get() == before, "no write conflict with the dead transaction"
        assert (await restarted[COLLECTION].find_one({"_id": document_id}))["n"] == 1, "the dead increment aborted"
        await restarted.transaction(work)  # PyMongo's pool gives the same server session again: recorded once
        assert len((await restarted[SESSIONS].find_one({"_id": name}))["lsids"]) == 1, "its own session recorded"
        assert await restarted.end_predecessor_sessions() == 1  # (what its own successor would kill)
    finally:
        await restarted.close()


async def test_a_process_without_a_name_records_nothing(settings):
    db = Database(settings.model_copy(update={"kafka_group_instance": None}))
    try:
        before = await db[SESSIONS].count_documents({})

        async def work(tx):
            await tx.db[COLLECTION].insert_one({"_id": uuid.uuid4().hex}, session=tx.session)
        await db.transaction(work)
        assert await db[SESSIONS].count_documents({}) == before and await db.end_predecessor_sessions() == 0
    finally:
        await db.close()
