"""The report's cache: one computation per key, even for concurrent misses; a new key (a new ledger
mark: a row appended) computes again; a failure is not cached."""
from __future__ import annotations

import asyncio

import pytest

from services.observatory.service_layer.report import ReportCache


def test_concurrent_misses_compute_once_and_a_new_mark_computes_again():
    cache, calls = ReportCache(), []

    async def compute(value):
        calls.append(value)
        await asyncio.sleep(0.01)
        return value

    async def run():
        first = await asyncio.gather(*(cache.get(("db", 2037, "2037-12-31", 1), lambda: compute("a"))
                                       for _ in range(16)))
        again = await cache.get(("db", 2037, "2037-12-31", 1), lambda: compute("stale"))
        newer = await cache.get(("db", 2037, "2037-12-31", 2), lambda: compute("b"))
        return first, again, newer

    first, again, newer = asyncio.run(run())
    assert first == ["a"] * 16 and again == "a" and newer == "b"
    assert calls == ["a", "b"]


def test_failures_are_not_kept_and_the_oldest_entries_go_first():
    cache = ReportCache(size=2)

    async def boom():
        raise RuntimeError("database away")

    async def value(v):
        return v

    async def run():
        with pytest.raises(RuntimeError):
            await cache.get("k", boom)
        assert await cache.get("k", lambda: value(1)) == 1
        await cache.get("l", lambda: value(2))
        await cache.get("m", lambda: value(3))
        return list(cache.entries)

    assert asyncio.run(run()) == ["l", "m"]
