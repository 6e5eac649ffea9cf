"""The directory in MongoDB: procurement's supplier profiles as the directory needs them (a
projection of procurement's events, rebuildable from them), the imported structures, the imports
and the proposals; and the reads that assemble the directory as of a date.

Collections:

- ``directory_suppliers`` — one document per supplier profile (``_id`` the supplier id):
  organisation id, sectors, kinds, labels, base commune, ``profiled_on`` (the profiled_at day in
  Europe/Paris) and ``archived_on``; kept by the consumer group ``observatory-directory``
  (:func:`directory_consumer`), an event older than the one applied last changes nothing;
- ``directory_structures`` — :class:`~services.observatory.domain.directory.DirectoryStructure`;
- ``directory_imports`` — :class:`~services.observatory.domain.directory.DirectoryImport`;
- ``directory_proposals`` — :class:`~services.observatory.domain.directory.DirectoryProposal`.

Membership's organisations and member standing are read from :mod:`runtime.members`'
projections (``organisations``, ``member_standing``) at read time.
"""
from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from contracts.envelope import CloudEvent
from contracts.procurement.suppliers import SupplierArchived, SupplierProfiled, SupplierProfileUpdated
from runtime.consumer import Consumer, Subscription
from runtime.errors import InvalidInput
from runtime.members import ORGANISATIONS, STANDING
from runtime.mongo import Database, Transaction, from_document
from services.observatory.domain.directory import (CHAMBER_REGION, DirectoryProposal, DirectoryStructure, Entry,
                                                   Filters, Sources, build_entries, live, select, territories)

PARIS = ZoneInfo("Europe/Paris")
SUPPLIERS = "directory_suppliers"
STRUCTURES = "directory_structures"
IMPORTS = "directory_imports"
PROPOSALS = "directory_proposals"
_ORG_FIELDS = {"siret": 1, "name": 1, "legal_form": 1, "departement": 1, "commune": 1, "sector": 1,
               "registered_on": 1}


# -- the supplier projection ---------------------------------------------------------------------
async def _supplier(tx: Transaction, envelope: CloudEvent, supplier_id: str, values: dict[str, Any]) -> None:
    coll = tx.db[SUPPLIERS]
    current = await coll.find_one({"_id": supplier_id}, {"as_of": 1}, session=tx.session)
    if current is not None and current.get("as_of") and current["as_of"] > envelope.time:
        return  # an older event, replayed: the newer state stands
    await coll.update_one({"_id": supplier_id}, {"$set": {**values, "as_of": envelope.time}}, upsert=True,
                          session=tx.session)


def _profile(event: SupplierProfiled | SupplierProfileUpdated) -> dict[str, Any]:
    return {"organisation_id": event.organisation_id, "sectors": [s.value for s in event.sectors],
            "kinds": [k.value for k in event.kinds], "labels": [label.value for label in event.labels],
            "base_commune": event.base_commune}


async def on_supplier_profiled(event: SupplierProfiled, tx: Transaction, envelope: CloudEvent) -> None:
    day = event.profiled_at.astimezone(PARIS).date().isoformat()
    await _supplier(tx, envelope, event.supplier_id, {**_profile(event), "profiled_on": day})


async def on_supplier_updated(event: SupplierProfileUpdated, tx: Transaction, envelope: CloudEvent) -> None:
    await _supplier(tx, envelope, event.supplier_id, _profile(event))


async def on_supplier_archived(event: SupplierArchived, tx: Transaction, envelope: CloudEvent) -> None:
    day = event.archived_at.astimezone(PARIS).date().isoformat()
    await _supplier(tx, envelope, event.supplier_id, {"organisation_id": event.organisation_id, "archived_on": day})


def directory_consumer(group: str = "observatory-directory") -> Consumer:
    """Procurement's supplier profiles, as the directory shows them."""
    return Consumer(group, [Subscription(SupplierProfiled, on_supplier_profiled),
                            Subscription(SupplierProfileUpdated, on_supplier_updated),
                            Subscription(SupplierArchived, on_supplier_archived)])


async def ensure_indexes(db: Database) -> None:
    await db[SUPPLIERS].create_index("organisation_id")
    await db[STRUCTURES].create_index("siret")
    await db[IMPORTS].create_index([("imported_at", -1)])
    await db[PROPOSALS].create_index([("status", 1), ("proposed_at", 1)])
    await db[PROPOSALS].create_index("entry_id")


# -- reads ----------------------------------------------------------------------------------------
async def load_sources(db: Database, on: date) -> Sources:
    """Everything the directory on ``on`` is built from (what became known after ``on`` left out)."""
    day = on.isoformat()
    orgs = [o async for o in db[ORGANISATIONS].find({"registered_on": {"$lte": day}}, _ORG_FIELDS)]
    standing = {s["_id"]: s async for s in db[STANDING].find({}, {"history": 1})}
    suppliers = [s async for s in db[SUPPLIERS].find({"profiled_on": {"$lte": day}})]
    structures = [from_document(DirectoryStructure, d) async for d in db[STRUCTURES].find({"added_on": {"$lte": day}})]
    accepted = [from_document(DirectoryProposal, d)
                async for d in db[PROPOSALS].find({"status": "accepted", "decided_on": {"$lte": day}})]
    return Sources(organisations=orgs, standing=standing, suppliers=suppliers, structures=structures,
                   accepted=accepted)


async def entries_on(db: Database, on: date) -> list[Entry]:
    """The directory's entries as they stood on ``on``."""
    return build_entries(await load_sources(db, on), on)


async def entry_exists(db: Database | Transaction, entry_id: str) -> str | None:
    """The organisation id behind an entry id (itself for an organisation; the merged organisation of
    an imported structure, if any), '' for an imported structure alone, None when unknown."""
    tx = db if isinstance(db, Transaction) else None
    database = tx.db if tx else db
    session = tx.session if tx else None
    if await database[ORGANISATIONS].find_one({"_id": entry_id}, {"_id": 1}, session=session):
        return entry_id
    structure = await database[STRUCTURES].find_one({"_id": entry_id}, {"siret": 1}, session=session)
    if structure is None:
        return None
    if structure.get("siret"):
        org = await database[ORGANISATIONS].find_one({"siret": structure["siret"]}, {"_id": 1}, session=session)
        if org:
            return org["_id"]
    return ""


async def territory_counts(db: Database, on: date, level: str = "departement", *, region: str | None = CHAMBER_REGION,
                           **filters: Any) -> list[dict[str, Any]]:
    """The map's data: structures and members (in good standing on ``on``) per territory, as of ``on``.

    ``level``: ``departement`` or ``commune``; ``region``: the region's territories only (default
    the chamber's, Île-de-France "11"; None: all); ``filters``: those of the directory
    (:class:`~services.observatory.domain.directory.Filters`: sector, legal_family, departement,
    commune, epci, member, q). Returns ``[{code, name, structures, members, lat, lon}]`` by code;
    a département's lat/lon is its population-weighted centre, a commune's its own.
    """
    if level not in ("departement", "commune"):
        raise InvalidInput("level", f"level is departement or commune, not {level!r}")
    chosen = select(live(await entries_on(db, on)), Filters(region=region, **filters))
    return territories(chosen, level)
