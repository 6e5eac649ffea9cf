"""Refreshed: a value per database, read again at most every ``fresh_for`` seconds, one read at a time."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from services.observatory.adapters.freshness import Refreshed


def _db(name: str):
    return SimpleNamespace(db=SimpleNamespace(name=name))


async def test_one_read_at_a_time_and_none_while_fresh():
    reads = []

    async def load(db, previous):
        reads.append((db.db.name, previous))
        await asyncio.sleep(0.01)
        return (previous or 0) + 1

    value = Refreshed(load, fresh_for=60)
    a, b = _db("a"), _db("b")
    assert await asyncio.gather(*(value.fresh(a) for _ in range(5))) == [1] * 5  # the waiters take its result
    assert await value.fresh(a) == 1 and reads == [("a", None)]  # fresh: not read again
    assert await value.fresh(b) == 1  # each database its own
    value.forget(a)
    assert await value.fresh(a) == 2 and reads[-1] == ("a", 1)  # read again, given the previous value


async def test_read_again_once_stale():
    count = 0

    async def load(db, previous):
        nonlocal count
        count += 1
        return count

    value = Refreshed(load, fresh_for=0)
    assert [await value.fresh(_db("a")) for _ in range(3)] == [1, 2, 3]
