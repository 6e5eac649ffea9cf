"""Commands on groupings of suppliers answering one need together.

One transaction each, dated by the server clock. The suppliers named are loaded here (unknown →
422 naming the field; archived → 409 naming it). A supplier is in at most one grouping per need
that is not dissolved: each (need, supplier) of a grouping holds a seat (``grouping_seats``,
unique ``_id``), taken on forming and joining, given back on leaving and dissolving — two
groupings forming at once with the same supplier cannot both commit.

The need id is stored as given: the needs area owns the ``needs`` collection (built in parallel)
and this area does not read it.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from contracts.procurement.suppliers import SupplierStatus
from runtime.aggregate import check_version, new_id
from runtime.errors import Conflict, InvalidInput
from runtime.mongo import Database, Transaction, utcnow
from services.procurement.adapters.suppliers import GROUPING_SEATS, GROUPINGS, SUPPLIERS, seat_id
from services.procurement.domain.groupings import Grouping, SupplierRef, need_id_of


async def _refs(tx: Transaction, ids: dict[str, str]) -> dict[str, SupplierRef]:
    """The suppliers named (field → id), as references; an unknown one is a 422 naming its field."""
    found = {d["_id"]: d for d in await tx.db[SUPPLIERS].find(
        {"_id": {"$in": sorted(set(ids.values()))}}, {"status": 1}, session=tx.session).to_list()}
    out = {}
    for field, supplier_id in ids.items():
        doc = found.get(supplier_id)
        if doc is None:
            raise InvalidInput(field, f"supplier {supplier_id!r} is unknown")
        out[supplier_id] = SupplierRef(supplier_id, active=doc["status"] == SupplierStatus.ACTIVE.value)
    return out


def _supplier_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise InvalidInput(field, f"{field} must be a supplier id")
    return value.strip()


class GroupingsService:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def _take_seats(self, tx: Transaction, grouping: Grouping, supplier_ids: list[str]) -> None:
        keys = [seat_id(grouping.need_id, s) for s in supplier_ids]
        taken = await tx.db[GROUPING_SEATS].find({"_id": {"$in": keys}}, session=tx.session).to_list()
        if taken:
            seat = min(taken, key=lambda d: d["_id"])
            raise Conflict(f"supplier {seat['supplier_id']} is in grouping {seat['grouping_id']} for need "
                           f"{grouping.need_id} already", supplier_id=seat["supplier_id"],
                           grouping_id=seat["grouping_id"])
        try:
            await tx.db[GROUPING_SEATS].insert_many(
                [{"_id": key, "grouping_id": grouping.id, "need_id": grouping.need_id, "supplier_id": s}
                 for key, s in zip(keys, supplier_ids)], session=tx.session)
        except DuplicateKeyError:  # a grouping formed meanwhile took one
            raise Conflict(f"a supplier of grouping {grouping.id} joined another grouping for need "
                           f"{grouping.need_id} meanwhile; try again") from None

    async def _free_seats(self, tx: Transaction, grouping: Grouping, supplier_ids: list[str]) -> None:
        await tx.db[GROUPING_SEATS].delete_many(
            {"_id": {"$in": [seat_id(grouping.need_id, s) for s in supplier_ids]}, "grouping_id": grouping.id},
            session=tx.session)

    async def form_grouping(self, *, need_id: str, lead_supplier_id: str, member_supplier_ids: list[str],
                            within: Transaction | None = None) -> Grouping:
        async def work(tx: Transaction) -> Grouping:
            need = need_id_of(need_id)
            lead = _supplier_id(lead_supplier_id, "lead_supplier_id")
            if not isinstance(member_supplier_ids, list):
                raise InvalidInput("member_supplier_ids", "member_supplier_ids must be a list of supplier ids")
            fields = {"lead_supplier_id": lead}
            for i, member in enumerate(member_supplier_ids):
                fields.setdefault(f"member_supplier_ids.{i}", _supplier_id(member, f"member_supplier_ids.{i}"))
            try:
                refs = await _refs(tx, fields)
                grouping = Grouping.form(new_id("grp"), need_id=need, lead=refs[lead],
                                         members=[refs[fields[f"member_supplier_ids.{i}"]]
                                                  for i in range(len(member_supplier_ids))], at=self.clock())
            except InvalidInput as exc:
                raise _renamed(exc) from None
            except Conflict as exc:
                raise _renamed_conflict(exc) from None
            await tx.save(GROUPINGS, grouping)
            await self._take_seats(tx, grouping, grouping.supplier_ids)
            return grouping
        return await self.db.transaction(work, within=within)

    async def _step(self, grouping_id: str, expected_version: int | None, step, within: Transaction | None) -> Grouping:
        async def work(tx: Transaction) -> Grouping:
            grouping = await tx.get(GROUPINGS, Grouping, grouping_id)
            check_version(grouping, expected_version)
            await step(tx, grouping, self.clock())
            if grouping.pending_events:
                await tx.save(GROUPINGS, grouping)
            return grouping
        return await self.db.transaction(work, within=within)

    async def join_grouping(self, grouping_id: str, supplier_id: str, *, expected_version: int | None = None,
                            within: Transaction | None = None) -> Grouping:
        async def step(tx: Transaction, grouping: Grouping, now: datetime) -> None:
            member = _supplier_id(supplier_id, "supplier_id")
            refs = await _refs(tx, {"supplier_id": member})
            grouping.join(refs[member], at=now)
            await self._take_seats(tx, grouping, [member])
        return await self._step(grouping_id, expected_version, step, within)

    async def leave_grouping(self, grouping_id: str, supplier_id: str, *, expected_version: int | None = None,
                             within: Transaction | None = None) -> Grouping:
        async def step(tx: Transaction, grouping: Grouping, now: datetime) -> None:
            grouping.leave(supplier_id, at=now)
            await self._free_seats(tx, grouping, [supplier_id])
        return await self._step(grouping_id, expected_version, step, within)

    async def submit_grouping(self, grouping_id: str, *, expected_version: int | None = None,
                              within: Transaction | None = None) -> Grouping:
        async def step(tx: Transaction, grouping: Grouping, now: datetime) -> None:
            docs = await tx.db[SUPPLIERS].find({"_id": {"$in": grouping.supplier_ids}}, {"status": 1},
                                               session=tx.session).to_list()
            refs = {d["_id"]: SupplierRef(d["_id"], d["status"] == SupplierStatus.ACTIVE.value) for d in docs}
            grouping.submit(refs, at=now)
        return await self._step(grouping_id, expected_version, step, within)

    async def dissolve_grouping(self, grouping_id: str, *, reason: str | None = None,
                                expected_version: int | None = None, within: Transaction | None = None) -> Grouping:
        async def step(tx: Transaction, grouping: Grouping, now: datetime) -> None:
            grouping.dissolve(at=now, reason=reason)
            await self._free_seats(tx, grouping, grouping.supplier_ids)
        return await self._step(grouping_id, expected_version, step, within)


def _renamed(exc: InvalidInput) -> InvalidInput:
    """The domain names members ``members.<i>``; the API's field is ``member_supplier_ids.<i>``."""
    if exc.field == "members" or exc.field.startswith("members."):
        return InvalidInput("member_supplier_ids" + exc.field[len("members"):], exc.detail)
    return exc


def _renamed_conflict(exc: Conflict) -> Conflict:
    field = exc.extra.get("field")
    if isinstance(field, str) and field.startswith("members."):
        exc.extra["field"] = "member_supplier_ids" + field[len("members"):]
    return exc
