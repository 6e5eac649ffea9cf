"""The sourcing search's marks on a real database: one counter per lane (the partition a consumer read the
event from, or a command's bucket), so procurement's consumer groups and its commands on different
organisations no longer conflict on one counter; a profile's creation and an identity update of the same
organisation still commit one after the other; and the in-memory index sees every lane's changes."""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import date, datetime, timezone

import pytest

from contracts.envelope import CloudEvent
from contracts.membership import MemberActivated, OrganisationRegistered, OrganisationUpdated
from runtime import members, metrics
from runtime.mongo import Database
from services.procurement.adapters import suppliers
from services.procurement.adapters.supplier_search import SupplierSearch
from services.procurement.domain.sourcing import SearchQuery
from services.procurement.service_layer.suppliers import SuppliersService, consumers
from tests.integration.conftest import service_settings, unique_siret

pytestmark = pytest.mark.integration
AT = datetime(2007, 6, 1, tzinfo=timezone.utc)
PROFILE = {"legal_form": "association", "esus_agreed": False, "esus_agreed_on": None, "departement": "93",
           "commune": "Montreuil", "sector": "alimentation", "headcount": 3, "annual_budget_cents": 5_000_000}


@pytest.fixture
async def db(infrastructure):
    settings = service_settings(infrastructure, "procurement")
    database = Database(settings)
    await suppliers.ensure_indexes(database)
    await members.ensure_indexes(database)
    # A database in use: its first profile created the collections a profile writes (the turns, the
    # lanes' counters) — catalogue writes, which conflict with every concurrent transaction, once.
    warm, _ = await _known(database)
    await SuppliersService(database).profile_supplier(organisation_id=warm, sectors=["cleaning"])
    yield database
    await database.close()


def _envelope(event, at: datetime = AT) -> tuple:
    return event, CloudEvent.from_domain(event, source="/cress/membership", time=at)


async def _known(db: Database, name: str = "Conserverie") -> tuple[str, str]:
    """An organisation procurement learnt from membership's events; its id and SIRET."""
    org, siret = f"org-{uuid.uuid4().hex[:10]}", unique_siret()
    event, envelope = _envelope(OrganisationRegistered(organisation_id=org, siret=siret, name=name,
                                                       registered_on=date(2007, 1, 5), **PROFILE), AT.replace(month=1))
    await db.transaction(lambda tx: members.on_organisation_registered(event, tx, envelope))
    return org, siret


def _handler(group: str, event_type: type):
    consumer = next(c for c in consumers() if c.name == group)
    return consumer.handlers[event_type.event_type]


def _handling(lane: str, handler, event, envelope, runs: list[str], *, hold=None):
    """The work of a consumer's batch transaction reading ``event`` from ``lane``."""
    async def work(tx):
        runs.append(lane)
        tx.lane = lane
        await handler(event, tx, envelope)
        if hold is not None:
            await hold()
    return work


async def test_consumer_groups_and_commands_on_other_organisations_do_not_conflict(db):
    """A standing batch holds its transaction open (marked, not committed) while an identity batch of
    another partition and a profile's creation for a third organisation commit: no write conflict, no
    rerun. With one counter for the area, both met the first's uncommitted bump and ran again until it
    committed (a restarted procurement's first batch ran 20 times in 8.4 s in ``make chaos``)."""
    service = SuppliersService(db)
    (standing_org, _), (renamed_org, siret), (new_org, _) = [await _known(db) for _ in range(3)]
    renamed = await service.profile_supplier(organisation_id=renamed_org, sectors=["food"])
    member = await service.profile_supplier(organisation_id=standing_org, sectors=["food"])
    search = SupplierSearch(db)
    assert {renamed.id, member.id} <= _found(await search.fresh())
    assert member.id not in _found(await search.fresh(), member_only=True)
    retries = metrics.TRANSACTION_RETRIES.labels(db.settings.service_name)
    before = retries._value.get()
    runs: list[str] = []
    marked, others_committed = asyncio.Event(), asyncio.Event()

    async def hold():  # until the others committed (at most 5 s: a conflict waits for us)
        marked.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(others_committed.wait(), 5)

    activated = _envelope(MemberActivated(organisation_id=standing_org, application_id="app-1",
                                          legal_form="association", departement="93", sector="alimentation",
                                          esus_agreed=False, since=date(2007, 6, 1), year=2007, dues_cents=15_000))
    updated = _envelope(OrganisationUpdated(organisation_id=renamed_org, siret=siret, name="Conserverie solidaire",
                                            updated_on=date(2007, 6, 1), changed_fields=["name"], **PROFILE))

    async def others():
        await marked.wait()
        await db.transaction(_handling("membership.organisations:2", _handler("supplier-identity", OrganisationUpdated),
                                       *updated, runs))
        created = await service.profile_supplier(organisation_id=new_org, sectors=["food"])  # a rerun is counted
        others_committed.set()
        return created

    _, created = await asyncio.gather(
        db.transaction(_handling("membership.members:0", _handler("supplier-standing", MemberActivated),
                                 *activated, runs, hold=hold)),
        others())
    assert sorted(runs) == ["membership.members:0", "membership.organisations:2"], "each batch ran once"
    assert retries._value.get() == before, "no transaction ran again (the command's included)"
    lanes = {doc["_id"]: doc["seq"] async for doc in db.db[suppliers.SEARCH_STATE].find(
        {"_id": {"$in": ["membership.members:0", "membership.organisations:2"]}})}
    assert lanes == {"membership.members:0": 1, "membership.organisations:2": 1}

    index = await search.fresh()  # a catch-up over the three lanes
    assert search.loads == 1 and search.catch_ups == 1
    hits = {h.row.id: h.row for h in index.search(SearchQuery(limit=100, sectors=("food",))).hits}
    assert created.id in hits and hits[renamed.id].name == "Conserverie solidaire"
    member_only = _found(index, member_only=True)
    assert member.id in member_only and created.id not in member_only and renamed.id not in member_only


async def test_a_creation_and_an_identity_update_of_one_organisation_commit_one_after_the_other(db):
    """The creation holds its transaction open after writing the profile while the identity update of the
    same organisation arrives: the update waits for the creation's turn, runs again once it committed, and
    finds the profile — which ends with the new name. Without the turn the update committed at once, found
    no profile, and the creation's stale copy of the identity stood."""
    service = SuppliersService(db)
    org, siret = await _known(db, "Ancien nom")
    runs: list[str] = []
    created, update_committed = asyncio.Event(), asyncio.Event()

    async def creation(tx):
        supplier = await service.profile_supplier(organisation_id=org, sectors=["food"], within=tx)
        created.set()
        with contextlib.suppress(TimeoutError):  # until the update committed (it cannot while this is open)
            await asyncio.wait_for(update_committed.wait(), 3)
        return supplier

    updated = _envelope(OrganisationUpdated(organisation_id=org, siret=siret, name="Nouveau nom",
                                            updated_on=date(2007, 6, 1), changed_fields=["name"], **PROFILE))

    async def update():
        await created.wait()
        await db.transaction(_handling("membership.organisations:1", _handler("supplier-identity", OrganisationUpdated),
                                       *updated, runs))
        update_committed.set()

    supplier, _ = await asyncio.gather(db.transaction(creation), update())
    assert supplier.identity.name == "Ancien nom"  # what the creation copied
    stored = await db.db[suppliers.SUPPLIERS].find_one({"_id": supplier.id})
    assert stored["identity"]["name"] == "Nouveau nom", "the update found the profile"
    assert len(runs) >= 2, "the update ran again after the creation's turn"


def _found(index, **fields) -> set[str]:
    return {h.row.id for h in index.search(SearchQuery(limit=100, sectors=("food",), **fields)).hits}


async def test_commands_on_organisations_of_other_buckets_do_not_conflict(db):
    """A profile's creation holds its transaction open while another organisation's, in another bucket of
    the command lanes, commits: no rerun. With one lane for every command, the second met the first's
    uncommitted version and ran again until it committed."""
    service = SuppliersService(db)
    first, _ = await _known(db)
    second, _ = await _known(db)
    while suppliers.command_lane(second) == suppliers.command_lane(first):
        second, _ = await _known(db)
    retries = metrics.TRANSACTION_RETRIES.labels(db.settings.service_name)
    before = retries._value.get()
    created, other_committed = asyncio.Event(), asyncio.Event()

    async def creation(tx):
        await service.profile_supplier(organisation_id=first, sectors=["food"], within=tx)
        created.set()
        with contextlib.suppress(TimeoutError):  # until the other committed (at most 5 s: a conflict waits for us)
            await asyncio.wait_for(other_committed.wait(), 5)

    async def other():
        await created.wait()
        await service.profile_supplier(organisation_id=second, sectors=["food"])
        other_committed.set()

    await asyncio.gather(db.transaction(creation), other())
    assert retries._value.get() == before, "no transaction ran again"
