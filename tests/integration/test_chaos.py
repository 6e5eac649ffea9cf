"""The chaos run (``make chaos``, :mod:`bench.chaos`), small: the five services as processes on a broker and
a database of their own (the test restarts both: not the session's), a workload crossing every service,
SIGKILLs of services at random (seeded) moments, one restart of the broker and one of the database, poison
messages; then every projection equals its recount from the Kafka log, every acknowledged command's event is
on the log once, every poison message is dead-lettered by each group that reads it, replayed, repaired ones
applied and the others dead-lettered again, and each killed service came back and caught up.

A few minutes on 2 CPUs (most of it the stack's start and the broker's restart)."""
from __future__ import annotations

import asyncio
import os

import pytest

from bench.chaos import SERVICES, Stack, run, wait_all_ready
from runtime.stack import TRANSACTION_LIFETIME_SECONDS

pytestmark = pytest.mark.integration


async def test_faults_across_services_lose_nothing_and_apply_nothing_twice(tmp_path):
    stack = await asyncio.to_thread(Stack, tmp_path, transaction_lifetime=TRANSACTION_LIFETIME_SECONDS,
                                    prefer=os.environ.get("CRESS_TEST_BROKER"))
    try:
        for name in SERVICES:
            stack.start(name)
        await wait_all_ready(stack)
        figures = await run(stack, events=120, lanes=2, registrations=2, kill_every=8.0, seed=3, poison=4,
                            hard_restarts=False, recovery_limit=15.0, min_kills=2)
    finally:
        await asyncio.to_thread(stack.stop)
    report = "\n".join(figures.lines)
    print(report)  # pytest -s shows the figures
    assert figures.lost == 0, report
    assert figures.double_applied == 0, report
    assert figures.kills >= 2 and all(r.recovered for r in figures.recoveries), report
    assert figures.dead_lettered == figures.dead_letters_expected > 0, report
    assert figures.replayed == 4 and figures.dead_lettered_again_off == 0, report  # one per poisoned original
