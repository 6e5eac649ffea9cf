"""runtime.lease.Lease on the real database: one holder at a time; taken when free, expired, released
or abandoned (its holder, a process of this machine, is gone); renewed only by its holder, also
inside a transaction; a document of the previous code (``until``) is judged by its own expiry."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from runtime.lease import Lease
from runtime.mongo import Database, utcnow

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(settings):
    database = Database(settings)
    yield database
    await database.close()


def gone_owner() -> str:
    """The owner id of a process of this machine that has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{int(done.stdout)}:dead0001"


async def test_one_holder_at_a_time_until_it_expires_or_is_released(db):
    a = Lease(db["leases"], "job", seconds=60, owner="host-a:1:a")
    b = Lease(db["leases"], "job", seconds=60, owner="host-b:2:b")
    assert await a.acquire() and a.held
    assert not await b.acquire() and not b.held
    results = await asyncio.gather(*(Lease(db["leases"], "job", seconds=60, owner=f"host-c:{i}:c").acquire()
                                     for i in range(5)))
    assert not any(results), "a live lease is nobody else's"
    assert await a.acquire() and await a.renew(), "its holder renews it"
    assert not await b.renew(), "nobody else can"
    assert (await a.holder())["owner"] == "host-a:1:a"

    await db["leases"].update_one({"_id": "job"}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}})
    assert await b.acquire(), "expired: taken"
    assert not await a.renew() and not a.held, "the previous holder learns it lost the lease"

    assert await b.release()
    assert not b.held
    assert await a.acquire(), "released: taken at once"


async def test_a_lease_whose_holder_is_a_process_of_this_machine_that_is_gone_is_taken_at_once(db):
    dead = Lease(db["leases"], "relay", seconds=3600, owner=gone_owner())
    assert await dead.acquire()
    alive_elsewhere = Lease(db["leases"], "other", seconds=3600, owner="elsewhere.example:1:ab12")
    assert await alive_elsewhere.acquire()

    mine = Lease(db["leases"], "relay", seconds=60)
    assert await mine.acquire(), "its holder is dead: no waiting the hour out"
    assert not await Lease(db["leases"], "other", seconds=60).acquire(), "another machine's holder: it lapses"


async def test_a_lease_inside_a_work_item_is_taken_only_while_the_item_meets_its_condition(db):
    items = db["items"]
    await items.insert_many([{"_id": "running", "status": "running", "owner": None},
                             {"_id": "done", "status": "done", "owner": None}])
    lease = Lease(items, "running", seconds=60, owner="host-a:1:a", where={"status": "running"}, create=False)
    assert await lease.acquire()
    assert not await Lease(items, "done", seconds=60, where={"status": "running"}, create=False).acquire()
    assert not await Lease(items, "missing", seconds=60, where={"status": "running"}, create=False).acquire()
    assert await items.count_documents({}) == 2, "no lease document created for a work item"

    async def batch(tx, by: Lease):
        if not await by.renew(session=tx.session, also={"cursor": by.owner}):
            raise RuntimeError("lost")

    await db.transaction(lambda tx: batch(tx, lease))
    assert (await items.find_one({"_id": "running"}))["cursor"] == "host-a:1:a"
    other = Lease(items, "running", seconds=60, owner="host-b:2:b", where={"status": "running"}, create=False)
    with pytest.raises(RuntimeError, match="lost"):
        await db.transaction(lambda tx: batch(tx, other))
    assert (await items.find_one({"_id": "running"}))["cursor"] == "host-a:1:a", "nothing written by a non-holder"


async def test_a_renewal_inside_a_transaction_that_aborts_is_undone_with_it(db):
    """A renewal written in a transaction counts only if the transaction commits: a batch that fails after
    renewing its work item's lease leaves neither the new expiry nor the ``also`` fields behind."""
    items = db["items"]
    await items.insert_one({"_id": "renewed-then-aborted", "status": "running", "owner": None})
    lease = Lease(items, "renewed-then-aborted", seconds=60, owner="host-a:1:a", where={"status": "running"},
                  create=False)
    assert await lease.acquire()
    before = await items.find_one({"_id": "renewed-then-aborted"})
    await asyncio.sleep(0.01)  # a renewal's expiry is later than the acquisition's

    async def batch(tx):
        assert await lease.renew(session=tx.session, also={"cursor": "c-1"})
        raise RuntimeError("the batch failed after the renewal")

    with pytest.raises(RuntimeError, match="failed after the renewal"):
        await db.transaction(batch)
    assert await items.find_one({"_id": "renewed-then-aborted"}) == before, "undone with the transaction"


async def test_a_lease_document_of_the_previous_code_is_judged_by_its_own_expiry(db):
    coll = db["outbox_lease"]
    await coll.insert_one({"_id": "relay", "owner": "host-old:1:old", "until": utcnow() + timedelta(seconds=60)})
    new = Lease(coll, "relay", seconds=60, owner="host-new:2:new", previous_field="until")
    assert not await new.acquire(), "the previous code's live lease holds"
    await coll.update_one({"_id": "relay"}, {"$set": {"until": datetime(2000, 1, 1, tzinfo=timezone.utc)}})
    assert await new.acquire()
    doc = await coll.find_one({"_id": "relay"})
    assert "until" not in doc, "a process of the previous code (matching on `until`) cannot take it back"
