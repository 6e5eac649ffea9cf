"""The per-event lock of the events service layer: commands on one event wait their turn, in
arrival order; other events go on; nothing is kept once nobody holds or awaits a lock."""
from __future__ import annotations

import asyncio

import pytest

from services.events.service_layer.handlers import EventLocks


async def test_commands_on_one_event_run_one_at_a_time_in_arrival_order():
    locks = EventLocks()
    inside, most, order = 0, 0, []

    async def command(i: int) -> None:
        nonlocal inside, most
        async with locks.hold("evt-1"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)  # let the others run: they must wait
            await asyncio.sleep(0)
            order.append(i)
            inside -= 1

    await asyncio.gather(*(command(i) for i in range(20)))
    assert most == 1
    assert order == list(range(20))
    assert len(locks) == 0, "no lock kept once nobody uses it"


async def test_other_events_are_not_held_up():
    locks = EventLocks()
    entered = asyncio.Event()
    release = asyncio.Event()

    async def long_command() -> None:
        async with locks.hold("evt-1"):
            entered.set()
            await release.wait()

    holder = asyncio.create_task(long_command())
    await entered.wait()

    async def other_event() -> int:
        async with locks.hold("evt-2"):
            return len(locks)

    # evt-1 stays held until ``release``: evt-2 gets its turn meanwhile (else this times out)
    assert await asyncio.wait_for(other_event(), 10) == 2
    release.set()
    await holder
    assert len(locks) == 0


async def test_a_failing_command_releases_its_event():
    locks = EventLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold("evt-1"):
            raise RuntimeError("the transaction failed")
    assert len(locks) == 0
    async with locks.hold("evt-1"):
        pass
