"""The commands of buyers, their engagements, conventions and interventions.

Each command is one MongoDB transaction (the aggregates it saves and the events they recorded
commit together); each takes ``within=`` to run inside a given transaction instead.

Time: the server's clock (``clock()``) dates every record (``*_at``); staff give the day of a
fact they log late (``on``, default today in Europe/Paris), never in the future.

Uniqueness under concurrency: a SIRET once (the unique index on ``buyers.siret``); one open
engagement per buyer, and none once it is archived (the buyer's engagement slot, see
:mod:`services.procurement.adapters.buyers`).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, TypeVar

from pymongo.errors import DuplicateKeyError

from contracts.procurement.buyers import EngagementStatus
from runtime.aggregate import check_version, new_id
from runtime.errors import Conflict, NotFound
from runtime.mongo import Database, Transaction, from_document, utcnow
from services.procurement.adapters.buyers import (ARCHIVED, BUYERS, CONVENTIONS, ENGAGEMENT_SLOT, ENGAGEMENTS,
                                                  INTERVENTIONS)
from services.procurement.domain.buyers import (Buyer, BuyerConvention, Engagement, Intervention, local_day)

T = TypeVar("T")


class BuyersService:
    """Buyers, engagements, conventions and interventions, bound to the database."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    def today(self, now: datetime | None = None) -> date:
        return local_day(now or self.clock())

    async def _run(self, work: Callable[[Transaction], Awaitable[T]], within: Transaction | None) -> T:
        return await self.db.transaction(work, within=within)

    # -- buyers ---------------------------------------------------------------------------------------
    async def register(self, fields: dict[str, Any], *, within: Transaction | None = None) -> Buyer:
        """Register a buyer; a SIRET already registered is a 409 naming the buyer that holds it."""
        async def work(tx: Transaction) -> Buyer:
            buyer = Buyer.register(new_id("buy"), at=self.clock(), **fields)
            await self._siret_free(tx, buyer.siret, buyer.id)
            await tx.save(BUYERS, buyer, conflict=f"SIRET {buyer.siret} is already registered")
            return buyer
        return await self._run(work, within)

    @staticmethod
    async def _siret_free(tx: Transaction, siret: str, buyer_id: str) -> None:
        holder = await tx.db[BUYERS].find_one({"siret": siret, "_id": {"$ne": buyer_id}}, {"_id": 1},
                                              session=tx.session)
        if holder is not None:
            raise Conflict(f"SIRET {siret} is already registered (buyer {holder['_id']})", field="siret",
                           buyer_id=holder["_id"], current_state="registered", expected_step="use that buyer")

    async def update(self, buyer_id: str, changes: dict[str, Any], *, expected_version: int | None = None,
                     within: Transaction | None = None) -> Buyer:
        async def work(tx: Transaction) -> Buyer:
            now = self.clock()
            buyer = await tx.get(BUYERS, Buyer, buyer_id)
            check_version(buyer, expected_version)
            open_programmes = [from_document(Engagement, d).programme for d in await tx.db[ENGAGEMENTS].find(
                {"buyer_id": buyer_id, "status": EngagementStatus.OPEN.value}, session=tx.session).to_list()]
            binding = await self._binding_conventions(tx, buyer_id, self.today(now))
            changed = buyer.update(at=now, open_programmes=open_programmes, conventions=len(binding), **changes)
            if "siret" in changed:
                await self._siret_free(tx, buyer.siret, buyer.id)
            if changed:
                await tx.save(BUYERS, buyer, conflict=f"SIRET {buyer.siret} is already registered")
            return buyer
        return await self._run(work, within)

    @staticmethod
    async def _binding_conventions(tx: Transaction, buyer_id: str, today: date) -> list[str]:
        """The buyer's conventions in force today or to come."""
        docs = await tx.db[CONVENTIONS].find({"buyer_id": buyer_id, "ends_on": {"$gte": today.isoformat()}},
                                             session=tx.session).to_list()
        return [c.id for c in (from_document(BuyerConvention, d) for d in docs) if c.last_day >= today]

    async def archive(self, buyer_id: str, *, expected_version: int | None = None,
                      within: Transaction | None = None) -> Buyer:
        """Archive a buyer: 409 while an engagement is open or a convention binds it."""
        async def work(tx: Transaction) -> Buyer:
            now = self.clock()
            buyer = await tx.get(BUYERS, Buyer, buyer_id)
            check_version(buyer, expected_version)
            slot = await tx.db[ENGAGEMENT_SLOT].find_one({"_id": buyer_id}, session=tx.session)
            holder = slot["holder"] if slot and slot["holder"] != ARCHIVED else None
            buyer.archive(at=now, open_engagement=holder,
                          conventions_in_force=await self._binding_conventions(tx, buyer_id, self.today(now)))
            await self._take_slot(tx, buyer_id, ARCHIVED)
            await tx.save(BUYERS, buyer)
            return buyer
        return await self._run(work, within)

    @staticmethod
    async def _take_slot(tx: Transaction, buyer_id: str, holder: str) -> None:
        current = await tx.db[ENGAGEMENT_SLOT].find_one({"_id": buyer_id}, session=tx.session)
        if current is None:
            try:
                await tx.db[ENGAGEMENT_SLOT].insert_one({"_id": buyer_id, "holder": holder}, session=tx.session)
                return
            except DuplicateKeyError:
                current = {"holder": "another engagement (opened just now)"}
        if current["holder"] == ARCHIVED:
            raise Conflict(f"cannot open an engagement: buyer {buyer_id} is archived",
                           current_state="archived", expected_step="none: the buyer is archived")
        raise Conflict(f"buyer {buyer_id} already has an open engagement ({current['holder']}); complete or "
                       f"abandon it first", current_state=f"engagement {current['holder']} open",
                       expected_step="complete or abandon the open engagement", engagement_id=current["holder"])

    # -- engagements ----------------------------------------------------------------------------------
    async def open_engagement(self, buyer_id: str, *, programme: Any, on: date | None = None,
                              within: Transaction | None = None) -> Engagement:
        """Open a PAMS or OSER engagement (one open per buyer at a time)."""
        async def work(tx: Transaction) -> Engagement:
            now = self.clock()
            buyer = await tx.get(BUYERS, Buyer, buyer_id)
            engagement = Engagement.open(new_id("eng"), buyer=buyer, programme=programme,
                                         on=self.today(now) if on is None else on, at=now)
            await self._take_slot(tx, buyer_id, engagement.id)
            await tx.save(ENGAGEMENTS, engagement)
            return engagement
        return await self._run(work, within)

    async def _engagement(self, tx: Transaction, buyer_id: str, engagement_id: str) -> Engagement:
        engagement = await tx.find(ENGAGEMENTS, Engagement, engagement_id)
        if engagement is None or engagement.buyer_id != buyer_id:
            raise NotFound(f"Engagement {engagement_id!r} of buyer {buyer_id!r} not found", resource="Engagement",
                           id=engagement_id)
        return engagement

    async def _engagement_step(self, buyer_id: str, engagement_id: str, expected_version: int | None,
                               step: Callable[[Engagement, datetime], None],
                               within: Transaction | None) -> Engagement:
        async def work(tx: Transaction) -> Engagement:
            now = self.clock()
            engagement = await self._engagement(tx, buyer_id, engagement_id)
            check_version(engagement, expected_version)
            step(engagement, now)
            if engagement.status is not EngagementStatus.OPEN:
                await tx.db[ENGAGEMENT_SLOT].delete_one({"_id": buyer_id, "holder": engagement.id},
                                                        session=tx.session)
            await tx.save(ENGAGEMENTS, engagement)
            return engagement
        return await self._run(work, within)

    async def advance_engagement(self, buyer_id: str, engagement_id: str, *, phase: Any, on: date | None = None,
                                 expected_version: int | None = None,
                                 within: Transaction | None = None) -> Engagement:
        return await self._engagement_step(
            buyer_id, engagement_id, expected_version,
            lambda e, now: e.advance(phase, on=self.today(now) if on is None else on, at=now), within)

    async def complete_engagement(self, buyer_id: str, engagement_id: str, *, on: date | None = None,
                                  expected_version: int | None = None,
                                  within: Transaction | None = None) -> Engagement:
        return await self._engagement_step(
            buyer_id, engagement_id, expected_version,
            lambda e, now: e.complete(on=self.today(now) if on is None else on, at=now), within)

    async def abandon_engagement(self, buyer_id: str, engagement_id: str, *, reason: Any, on: date | None = None,
                                 expected_version: int | None = None,
                                 within: Transaction | None = None) -> Engagement:
        return await self._engagement_step(
            buyer_id, engagement_id, expected_version,
            lambda e, now: e.abandon(reason, on=self.today(now) if on is None else on, at=now), within)

    # -- conventions ----------------------------------------------------------------------------------
    async def sign_convention(self, buyer_id: str, fields: dict[str, Any], *,
                              within: Transaction | None = None) -> BuyerConvention:
        async def work(tx: Transaction) -> BuyerConvention:
            now = self.clock()
            buyer = await tx.get(BUYERS, Buyer, buyer_id)
            convention = BuyerConvention.sign(new_id("bcv"), buyer=buyer, at=now, **fields)
            await tx.save(CONVENTIONS, convention)
            return convention
        return await self._run(work, within)

    async def terminate_convention(self, buyer_id: str, convention_id: str, *, on: date, reason: Any = None,
                                   expected_version: int | None = None,
                                   within: Transaction | None = None) -> BuyerConvention:
        async def work(tx: Transaction) -> BuyerConvention:
            convention = await tx.find(CONVENTIONS, BuyerConvention, convention_id)
            if convention is None or convention.buyer_id != buyer_id:
                raise NotFound(f"Convention {convention_id!r} of buyer {buyer_id!r} not found",
                               resource="BuyerConvention", id=convention_id)
            check_version(convention, expected_version)
            convention.terminate(on=on, reason=reason, at=self.clock())
            await tx.save(CONVENTIONS, convention)
            return convention
        return await self._run(work, within)

    # -- interventions --------------------------------------------------------------------------------
    @staticmethod
    async def _engagement_ids(tx: Transaction, buyer_id: str) -> set[str]:
        return {d["_id"] for d in await tx.db[ENGAGEMENTS].find({"buyer_id": buyer_id}, {"_id": 1},
                                                                session=tx.session).to_list()}

    async def log_intervention(self, buyer_id: str, fields: dict[str, Any], *,
                               within: Transaction | None = None) -> Intervention:
        async def work(tx: Transaction) -> Intervention:
            now = self.clock()
            buyer = await tx.get(BUYERS, Buyer, buyer_id)
            values = {**fields, "on": self.today(now) if fields.get("on") is None else fields["on"]}
            intervention = Intervention.log(new_id("int"), buyer=buyer, at=now,
                                            engagement_ids=await self._engagement_ids(tx, buyer_id), **values)
            await tx.save(INTERVENTIONS, intervention)
            return intervention
        return await self._run(work, within)

    async def _intervention(self, tx: Transaction, buyer_id: str, intervention_id: str) -> Intervention:
        intervention = await tx.find(INTERVENTIONS, Intervention, intervention_id)
        if intervention is None or intervention.buyer_id != buyer_id:
            raise NotFound(f"Intervention {intervention_id!r} of buyer {buyer_id!r} not found",
                           resource="Intervention", id=intervention_id)
        return intervention

    async def correct_intervention(self, buyer_id: str, intervention_id: str, changes: dict[str, Any], *,
                                   expected_version: int | None = None,
                                   within: Transaction | None = None) -> Intervention:
        async def work(tx: Transaction) -> Intervention:
            intervention = await self._intervention(tx, buyer_id, intervention_id)
            check_version(intervention, expected_version)
            buyer = await tx.get(BUYERS, Buyer, buyer_id)
            changed = intervention.correct(buyer=buyer, at=self.clock(),
                                           engagement_ids=await self._engagement_ids(tx, buyer_id), **changes)
            if changed:
                await tx.save(INTERVENTIONS, intervention)
            return intervention
        return await self._run(work, within)

    async def withdraw_intervention(self, buyer_id: str, intervention_id: str, *,
                                    expected_version: int | None = None,
                                    within: Transaction | None = None) -> Intervention:
        async def work(tx: Transaction) -> Intervention:
            intervention = await self._intervention(tx, buyer_id, intervention_id)
            check_version(intervention, expected_version)
            intervention.withdraw(at=self.clock())
            await tx.save(INTERVENTIONS, intervention)
            return intervention
        return await self._run(work, within)
