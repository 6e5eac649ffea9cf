"""The in-memory ledger's load gives the process's other tasks (its consumers, its requests) their turns, and
the database a pause between its batches: a whole ledger read and built at once held them up for seconds
after a restart (make chaos)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from services.observatory.adapters import ledger_memory
from services.observatory.adapters.ledger_memory import CHUNK, PAUSE, Snapshot, _read_into


class Cursor:
    """An async cursor over ``n`` ledger documents whose batches arrive without waiting (the worst case: the
    server answers at once, so only the loader's own yields give the loop a turn)."""

    def __init__(self, n: int) -> None:
        self.docs = iter({"_id": f"e{i}", "type": "org.cress.membership.member-activated.v1", "subject": f"org-{i}",
                          "at": datetime(2061, 1, 1, tzinfo=timezone.utc), "on": "2061-01-01", "data": {}}
                         for i in range(n))

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return next(self.docs)
        except StopIteration:
            raise StopAsyncIteration from None


async def test_a_large_load_lets_other_tasks_run_between_its_chunks():
    ticks = 0

    async def consumer():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(consumer())
    await asyncio.sleep(0)
    before, snapshot = ticks, Snapshot()
    await _read_into(snapshot, Cursor(5 * CHUNK + 7))
    task.cancel()
    assert snapshot.rows == 5 * CHUNK + 7, "every row, the last partial chunk too"
    assert ticks - before >= 5, "the other task ran between the chunks"


async def test_a_large_load_pauses_between_its_server_batches(monkeypatch):
    """A pause after each full chunk, none after the last partial one: the database serves the consumers'
    transactions meanwhile (a load without pauses made them 4 times as long)."""
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(ledger_memory.asyncio, "sleep", sleep)
    snapshot = Snapshot()
    await _read_into(snapshot, Cursor(3 * CHUNK + 1))
    assert snapshot.rows == 3 * CHUNK + 1
    assert slept == [PAUSE] * 3 and PAUSE > 0
