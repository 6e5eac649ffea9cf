"""The observatory's commands: recorded facts and the strategic plan's objectives.

Each command is one MongoDB transaction (``within=`` joins another one); the server clock dates
every step (a client cannot back-date a recorded fact); versioned saves, ``If-Match`` honoured.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from runtime.aggregate import Aggregate, check_version, new_id
from runtime.mongo import Database, Transaction, utcnow
from services.observatory.adapters.repository import FACTS, OBJECTIVES
from services.observatory.domain.records import Fact, Objective
from services.observatory.service_layer.report import RECORDS


class RecordsService:
    """Facts and objectives, bound to the database and the clock."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def _step(self, collection: str, model: type[Aggregate], aggregate_id: str, expected_version: int | None,
                    step: Callable[[Any, datetime], None], within: Transaction | None) -> Any:
        async def work(tx: Transaction) -> Any:
            aggregate = await tx.get(collection, model, aggregate_id)
            check_version(aggregate, expected_version)
            step(aggregate, self.clock())
            await tx.save(collection, aggregate)
            return aggregate
        try:
            return await self.db.transaction(work, within=within)
        finally:
            RECORDS.forget(self.db)  # this process's next report reads the facts and objectives again

    async def _create(self, collection: str, build: Callable[[datetime], Aggregate],
                      within: Transaction | None) -> Any:
        async def work(tx: Transaction) -> Any:
            aggregate = build(self.clock())
            await tx.save(collection, aggregate)
            return aggregate
        try:
            return await self.db.transaction(work, within=within)
        finally:
            RECORDS.forget(self.db)  # this process's next report reads the facts and objectives again

    # -- facts ------------------------------------------------------------------------------------
    async def record_fact(self, *, within: Transaction | None = None, **fields: Any) -> Fact:
        return await self._create(FACTS, lambda at: Fact.create(new_id("fct"), at=at, **fields), within)

    async def correct_fact(self, fact_id: str, *, reason: Any, expected_version: int | None = None,
                           within: Transaction | None = None, **changes: Any) -> Fact:
        return await self._step(FACTS, Fact, fact_id, expected_version,
                                lambda fact, at: fact.correct(at=at, reason=reason, **changes), within)

    async def withdraw_fact(self, fact_id: str, *, reason: Any, expected_version: int | None = None,
                            within: Transaction | None = None) -> Fact:
        return await self._step(FACTS, Fact, fact_id, expected_version,
                                lambda fact, at: fact.withdraw(at=at, reason=reason), within)

    # -- objectives -------------------------------------------------------------------------------
    async def define_objective(self, *, within: Transaction | None = None, **fields: Any) -> Objective:
        return await self._create(OBJECTIVES, lambda at: Objective.define(new_id("obj"), at=at, **fields), within)

    async def change_objective_status(self, objective_id: str, *, status: Any, on: Any = None, comment: Any = None,
                                      expected_version: int | None = None,
                                      within: Transaction | None = None) -> Objective:
        return await self._step(OBJECTIVES, Objective, objective_id, expected_version,
                                lambda o, at: o.change_status(status=status, at=at, on=on, comment=comment), within)
