"""A value kept per database and read again at most every so many seconds.

The in-memory ledger (:mod:`.ledger_memory`) and the report's facts and objectives
(:mod:`services.observatory.service_layer.report`) are read from the database at most every
``fresh_for`` seconds, whoever asks: one read at a time per database, and those who waited for it
take its result. :meth:`Refreshed.forget` makes the next ask read again (after this process
changed what it holds).
"""
from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from runtime.mongo import Database

T = TypeVar("T")
NEVER = float("-inf")


class Refreshed(Generic[T]):
    """``load(db, previous)`` gives the value of ``db`` (``previous``: the one read last, or None)."""

    def __init__(self, load: Callable[[Database, T | None], Awaitable[T]], fresh_for: float) -> None:
        self._load, self.fresh_for = load, fresh_for
        self.values: dict[str, tuple[float, T]] = {}  # database name → (monotonic time of the read, value)
        self.locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def forget(self, db: Database) -> None:
        name = db.db.name
        if name in self.values:
            self.values[name] = (NEVER, self.values[name][1])  # read again; the loader still gets it

    async def fresh(self, db: Database) -> T:
        name = db.db.name
        checked, value = self.values.get(name, (NEVER, None))
        if time.monotonic() - checked < self.fresh_for:
            return value  # type: ignore[return-value]
        async with self.locks[name]:  # one read at a time; those who waited take its result
            checked, value = self.values.get(name, (NEVER, None))
            if time.monotonic() - checked < self.fresh_for:
                return value  # type: ignore[return-value]
            started = time.monotonic()
            value = await self._load(db, value)
            self.values[name] = (started, value)
            return value
