"""runtime.lease.Lease's rules on an in-memory collection (mongomock evaluates the lease's queries as
MongoDB does): one holder at a time; taken when free, expired, released or abandoned; renewed only by its
holder; a work item's lease taken only while the item meets its condition; a document of the previous
code judged by its own expiry. The same on the real database: tests/integration/test_lease.py."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from pymongo.errors import AutoReconnect

from runtime import lease as leases
from runtime.lease import Lease, takeable
from tests.unit.memory_mongo import collection

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
HOST = socket.gethostname()


class Clocks:
    """The wall clock (the lease documents' ``expires_at``) and the holders' monotonic one, moved together."""

    def __init__(self) -> None:
        self.wall, self.mono = T0, 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds

    def monotonic(self) -> float:
        return self.mono


@pytest.fixture
def clocks(monkeypatch) -> Clocks:
    clocks = Clocks()
    monkeypatch.setattr(leases, "utcnow", lambda: clocks.wall)
    return clocks


def gone_owner() -> str:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{HOST}:{int(done.stdout)}:dead0001"


def lease(coll, owner: str, clocks: Clocks, name: str = "job", seconds: float = 60, **kwargs) -> Lease:
    return Lease(coll, name, seconds=seconds, owner=owner, monotonic=clocks.monotonic, **kwargs)


async def test_one_holder_at_a_time_until_it_expires_or_is_released(clocks):
    coll = collection()
    a, b = lease(coll, "host-a:1:a", clocks), lease(coll, "host-b:2:b", clocks)
    assert await a.acquire() and a.held
    assert await coll.find_one({"_id": "job"}) == {"_id": "job", "owner": "host-a:1:a",
                                                   "expires_at": T0 + timedelta(seconds=60)}
    assert not await b.acquire() and not b.held, "a live lease is nobody else's"
    clocks.advance(59)
    assert not await b.acquire(), "one second left: still held"
    assert await a.acquire() and a.remaining == 60, "its holder renews it"
    assert (await a.holder())["expires_at"] == T0 + timedelta(seconds=119)
    assert not await b.renew() and not b.held, "nobody else can renew it"
    clocks.advance(60)
    assert not await b.acquire(), "expires_at is not past yet (it is now)"
    clocks.advance(1)
    assert await b.acquire() and b.held, "expired: taken"
    assert not await a.renew() and not a.held, "the previous holder learns it lost the lease"
    await a.release()
    assert (await coll.find_one({"_id": "job"}))["owner"] == "host-b:2:b", "a former holder's release frees nothing"
    assert await b.release() and not b.held
    assert await coll.find_one({"_id": "job"}) == {"_id": "job", "owner": None, "expires_at": clocks.wall}
    assert await a.acquire(), "released: taken at once"


async def test_renewing_extends_the_lease_from_now_and_only_for_its_holder(clocks):
    coll = collection()
    a = lease(coll, "host-a:1:a", clocks, seconds=30)
    assert await a.acquire()
    clocks.advance(20)
    assert await a.renew() and a.remaining == 30
    assert (await a.holder())["expires_at"] == T0 + timedelta(seconds=50)
    session = object()
    clocks.advance(5)
    assert await a.renew(session=session, also={"cursor": 7})
    assert (await coll.find_one({"_id": "job"}))["cursor"] == 7
    assert a.remaining == 25, "in a transaction the renewal counts once committed: the holder's clock is left"
    lost = lease(coll, "host-b:2:b", clocks, seconds=30)
    assert not await lost.renew(session=session, also={"cursor": 8})
    assert (await coll.find_one({"_id": "job"}))["cursor"] == 7, "nothing written by a non-holder"


async def test_a_lease_whose_holder_is_a_process_of_this_machine_that_is_gone_is_taken_at_once(clocks):
    coll = collection()  # two leases in it, the one of another machine first
    assert await lease(coll, "elsewhere.example:1:ab12", clocks, name="other", seconds=3600).acquire()
    assert await lease(coll, gone_owner(), clocks, name="relay", seconds=3600).acquire()
    mine = lease(coll, f"{HOST}:1:mine", clocks, name="relay")
    assert await mine.acquire(), "its holder is dead: no waiting the hour out"
    assert (await mine.holder())["owner"] == f"{HOST}:1:mine"
    assert not await lease(coll, f"{HOST}:1:mine", clocks, name="other").acquire(), \
        "another machine's holder: its lease lapses"


async def test_a_lease_inside_a_work_item_is_taken_only_while_the_item_meets_its_condition(clocks):
    items = collection("items")
    await items.insert_many([{"_id": "running", "status": "running", "owner": None},
                             {"_id": "done", "status": "done", "owner": None}])
    running = {"status": "running"}
    assert await lease(items, "host-a:1:a", clocks, name="running", where=running, create=False).acquire()
    assert not await lease(items, "host-a:1:a", clocks, name="done", where=running, create=False).acquire()
    assert not await lease(items, "host-a:1:a", clocks, name="missing", where=running, create=False).acquire()
    assert await items.count_documents({}) == 2, "no lease document created for a work item"
    await items.update_one({"_id": "running"}, {"$set": {"status": "done"}})
    renewing = lease(items, "host-a:1:a", clocks, name="running", where=running, create=False)
    assert not await renewing.renew(), "the item no longer runs: its lease is not renewed"


async def test_a_lease_document_of_the_previous_code_is_judged_by_its_own_expiry(clocks):
    coll = collection("outbox_lease")
    await coll.insert_one({"_id": "relay", "owner": "host-old:1:old", "until": T0 + timedelta(seconds=60)})
    new = lease(coll, "host-new:2:new", clocks, name="relay", previous_field="until")
    assert not await new.acquire(), "the previous code's live lease holds"
    clocks.advance(61)
    assert await new.acquire()
    assert "until" not in await coll.find_one({"_id": "relay"}), \
        "a process of the previous code (matching on `until`) cannot take it back"
    await coll.insert_one({"_id": "bare", "owner": "host-old:1:old"})
    assert await lease(coll, "host-new:2:new", clocks, name="bare").acquire(), "a document without expiry is free"


async def test_the_documents_a_work_item_lease_may_take_now(clocks):
    items = collection("items")
    now = T0
    await items.insert_many([
        {"_id": "free", "owner": None, "expires_at": now + timedelta(seconds=30)},
        {"_id": "expired", "owner": "elsewhere.example:1:a", "expires_at": now - timedelta(seconds=1)},
        {"_id": "never-leased"},
        {"_id": "of-the-previous-code", "owner": "elsewhere.example:1:a", "until": now + timedelta(seconds=30)},
        {"_id": "ours-maybe-dead", "owner": f"{HOST}:1:a", "expires_at": now + timedelta(seconds=30)},
        {"_id": "held-elsewhere", "owner": "elsewhere.example:1:a", "expires_at": now + timedelta(seconds=30)},
        {"_id": "held-by-a-prefix", "owner": f"x{HOST}:1:a", "expires_at": now + timedelta(seconds=30)},
    ])
    found = {d["_id"] async for d in items.find(takeable(now))}
    assert found == {"free", "expired", "never-leased", "of-the-previous-code", "ours-maybe-dead"}, \
        "a document without expires_at is judged by acquire() (its previous field)"
    assert {d["_id"] async for d in items.find(takeable())} == found, "now by default"


async def test_a_release_the_database_does_not_answer_leaves_the_lease_to_lapse(clocks):
    coll = collection()
    a = lease(coll, "host-a:1:a", clocks)
    assert await a.acquire()

    async def away(*args, **kwargs):
        raise AutoReconnect("the database went away")

    coll.update_one = away
    assert await a.release() is False and not a.held
    assert (await a.holder())["owner"] == "host-a:1:a", "not released: it lapses at its expiry"

    async def silent(*args, **kwargs):
        await asyncio.Event().wait()  # a database that never answers

    coll.update_one = silent
    assert await a.release(timeout=0.05) is False, "a clean stop does not hang on a database that does not answer"


def test_a_lease_lasts_some_time():
    with pytest.raises(ValueError, match="lasts some time"):
        Lease(None, "job", seconds=0)
