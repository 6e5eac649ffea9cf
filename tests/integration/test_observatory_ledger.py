"""The ledger's marks on a real database: one counter per lane (the partition an event was read from),
so the observatory's consumer groups append at once without a write conflict, and the in-memory copy
still sees every row, whatever order the lanes' transactions commit in."""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import date, datetime, timezone

import pytest

from contracts.envelope import CloudEvent
from contracts.membership import DuesInvoiced
from runtime import metrics
from runtime.mongo import Database
from services.observatory.adapters import ledger
from services.observatory.adapters.ledger_memory import _top_up
from tests.integration.conftest import service_settings

pytestmark = pytest.mark.integration
AT = datetime(2064, 3, 1, tzinfo=timezone.utc)
WARM = "membership.applications:5"


def _invoiced() -> tuple[DuesInvoiced, CloudEvent]:
    org = f"org-{uuid.uuid4().hex[:10]}"
    day = date(2064, 3, 1)
    event = DuesInvoiced(organisation_id=org, invoice_id=f"{org}-2064", year=2064, amount_cents=12_000,
                         fee_bracket="B1", issued_on=day, due_on=day, grace_ends_on=day)
    return event, CloudEvent.from_domain(event, source="/cress/membership", time=AT)


@pytest.fixture
async def db(infrastructure):
    settings = service_settings(infrastructure, "observatory")
    database = Database(settings)
    await ledger.ensure_indexes(database)
    # A ledger in use: its first rows created the marks' collection and made the indexes on arrays
    # multikey — catalogue writes, which conflict with every concurrent transaction, once.
    await database.transaction(_appending(WARM, [_invoiced()], []))
    yield database
    await database.close()


def _appending(lane: str, events: list[tuple[DuesInvoiced, CloudEvent]], runs: list[str], *,
               after_first=None, hold=None):
    """The work of a consumer's batch transaction reading ``events`` from ``lane``."""
    async def work(tx):
        runs.append(lane)
        tx.lane = lane
        for event, envelope in events:
            await ledger.append(event, tx, envelope)
            if after_first is not None:
                after_first.set()
            if hold is not None:
                await hold()
    return work


async def test_two_lanes_append_at_once_without_a_write_conflict(db):
    """A batch of one consumer group holds its transaction open (appended, not committed) while another
    group's batch, read from another partition, appends and commits: no write conflict, no rerun. With
    one counter for the whole ledger, the second met the first's uncommitted bump and PyMongo ran it
    again until the first committed (the observatory's 80 transactions run 10–20 times in ``make chaos``)."""
    retries = metrics.TRANSACTION_RETRIES.labels(db.settings.service_name)
    before = retries._value.get()
    runs: list[str] = []
    first_appended, second_committed = asyncio.Event(), asyncio.Event()

    async def hold():  # until the other lane's batch committed (at most 5 s: a conflict waits for us)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(second_committed.wait(), 5)

    async def second():
        await first_appended.wait()
        await db.transaction(_appending("membership.members:2", [_invoiced()], runs))
        second_committed.set()

    first = db.transaction(_appending("membership.members:0", [_invoiced()], runs, after_first=first_appended,
                                      hold=hold))
    await asyncio.gather(first, second())
    assert sorted(runs) == ["membership.members:0", "membership.members:2"], "each batch ran once"
    assert retries._value.get() == before
    assert await ledger.marks(db) == {WARM: 1, "membership.members:0": 1, "membership.members:2": 1}
    lanes = {doc["lane"]: doc["mark"] async for doc in db.db[ledger.LEDGER].find({})}
    assert lanes == {WARM: 1, "membership.members:0": 1, "membership.members:2": 1}


async def test_the_in_memory_copy_sees_the_rows_of_every_lane_whatever_the_commit_order(db):
    """Lane A's batch takes its version and stays open while lane B's commits and the copy tops itself up:
    the copy has B's row, not A's (uncommitted); once A commits, the next top-up brings A's row — though
    B's version was read after A's was taken. A batch reading several partitions takes a version of each."""
    copy = await _top_up(db, None)
    assert copy.rows == 1 and copy.version == 1
    warm = {row_id for rows in copy.by_type.values() for row_id in rows}
    a, b, c1, c2 = (_invoiced() for _ in range(4))
    a_appended, release_a = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def hold():
        await release_a.wait()

    lane_a = asyncio.create_task(db.transaction(_appending("events.registrations:1", [a], runs,
                                                           after_first=a_appended, hold=hold)))
    await a_appended.wait()
    await db.transaction(_appending("events.registrations:4", [b], runs))
    copy = await _top_up(db, copy)
    held = {row_id for rows in copy.by_type.values() for row_id in rows}
    assert held == warm | {b[1].id}, "B's row, not A's uncommitted one"
    release_a.set()
    await lane_a
    copy = await _top_up(db, copy)
    assert {row_id for rows in copy.by_type.values() for row_id in rows} == warm | {a[1].id, b[1].id}

    async def two_partitions(tx):  # what one fetch of several partitions gives a batch
        for lane, (event, envelope) in (("procurement.needs:0", c1), ("procurement.needs:5", c2)):
            tx.lane = lane
            await ledger.append(event, tx, envelope)
    await db.transaction(two_partitions)
    copy = await _top_up(db, copy)
    assert copy.rows == 5
    assert copy.marks == await ledger.marks(db) == {WARM: 1, "events.registrations:1": 1, "events.registrations:4": 1,
                                                    "procurement.needs:0": 1, "procurement.needs:5": 1}
    assert copy.version == 5
    assert copy.by_type == (await _top_up(db, None)).by_type, "the topped-up copy equals a fresh load"


async def test_a_lane_s_versions_follow_its_commits(db):
    """Two batches of one lane (a partition handed over during a rebalance): the second waits for the
    first's counter, so its version is the next one and both rows are seen."""
    events = [_invoiced() for _ in range(6)]
    runs: list[str] = []
    await asyncio.gather(*(db.transaction(_appending("membership.members:3", [e], runs)) for e in events))
    assert (await ledger.marks(db))["membership.members:3"] == 6
    marks = sorted([doc["mark"] async for doc in db.db[ledger.LEDGER].find({"lane": "membership.members:3"})])
    assert marks == [1, 2, 3, 4, 5, 6]
    assert (await _top_up(db, None)).rows == 7
