"""The dues runner: deadlines every day and the yearly invoicing on the day the dues terms set,
without anyone calling ``POST /dues/deadlines`` or ``POST /dues/invoicing`` (those remain, for
operators).

One runner works at a time per service, whatever the number of processes: it holds a lease in
MongoDB (``dues_runner_lease``, a :class:`runtime.lease.Lease` as the outbox relay's), renewed at
each run and taken over by another process once it has expired, or at once from a runner of this
machine whose process no longer runs. Each run is recorded in ``dues_runs``
(``deadlines:<day>``, ``invoicing:<year>``) with its counts; a run already recorded is not done
again, so a second run the same day does nothing more. A crash between a batch and its record
only means the batch runs again: both are idempotent (a member past its deadline moves once, a
member invoiced for the year is not invoiced again).

Dates are the day in Europe/Paris (``clock`` for the tests).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.errors import DuplicateKeyError

from runtime.lease import Lease
from runtime.mongo import utcnow

LEASE = "dues_runner_lease"
RUNS = "dues_runs"
PARIS = ZoneInfo("Europe/Paris")


def paris_today() -> date:
    return datetime.now(PARIS).date()


class DuesRunner:
    """Runs ``svc.apply_deadlines`` once a day and ``svc.invoice_year`` once a year."""

    def __init__(self, svc: Any, *, clock: Callable[[], date] = paris_today, lease_seconds: float = 900.0,
                 owner: str | None = None) -> None:
        self.svc = svc
        self.db = svc.db
        self.clock = clock
        self.lease = Lease(self.db[LEASE], "dues-runner", seconds=lease_seconds, owner=owner, previous_field="until")
        self.owner = self.lease.owner

    async def hold_lease(self) -> bool:
        """Take or renew the lease; False while another runner holds a live one."""
        return await self.lease.acquire()

    async def run_once(self) -> dict[str, Any]:
        """What is due today, done once: ``{"lease": False}`` when another runner holds the
        lease, else what ran now (``deadlines`` / ``invoicing`` counts; absent: nothing due)."""
        if not await self.hold_lease():
            return {"lease": False}
        today = self.clock()
        done: dict[str, Any] = {"lease": True, "on": today.isoformat()}
        terms = self.svc.terms
        if today >= terms.invoicing_on(today.year):
            counts = await self._once(f"invoicing:{today.year}", "invoicing", today,
                                      lambda: self.svc.invoice_year(today.year, on=today), year=today.year)
            if counts is not None:
                done["invoicing"] = counts
        counts = await self._once(f"deadlines:{today.isoformat()}", "deadlines", today,
                                  lambda: self.svc.apply_deadlines(on=today))
        if counts is not None:
            done["deadlines"] = counts
        return done

    async def _once(self, key: str, kind: str, today: date, batch, **extra: Any) -> dict | None:
        if await self.db[RUNS].find_one({"_id": key}, {"_id": 1}) is not None:
            return None
        counts = await batch()
        try:
            await self.db[RUNS].insert_one({"_id": key, "kind": kind, "on": today.isoformat(), "counts": counts,
                                            "ran_at": utcnow(), "runner": self.owner, **extra})
        except DuplicateKeyError:  # a runner whose lease had expired did it too: idempotent batches
            pass
        return counts


async def recent_runs(db, *, limit: int = 50) -> list[dict[str, Any]]:
    """The last runs recorded, newest first."""
    docs = db[RUNS].find({}).sort("ran_at", -1).limit(limit)
    return [{"run": d["_id"], "kind": d["kind"], "on": d["on"], "counts": d.get("counts", {}),
             "ran_at": d["ran_at"], "runner": d.get("runner")} async for d in docs]


_RUNNERS: dict[int, DuesRunner] = {}


async def run_dues(platform) -> dict[str, Any]:
    """The service's periodic job: one runner per process (its lease owner id stays the same)."""
    runner = _RUNNERS.get(id(platform.commands))
    if runner is None or runner.svc is not platform.commands:
        runner = _RUNNERS[id(platform.commands)] = DuesRunner(platform.commands)
    return await runner.run_once()
