"""Commands on supplier profiles, the sourcing search, and the consumers that keep profiles in step
with membership's events.

Each command is one transaction (``within=`` runs it inside another), dated by the server clock.
Every transaction that changes what a search sees also marks it for the in-memory index
(:func:`services.procurement.adapters.suppliers.mark_changed`).

Identity. A profile is made for an organisation known from membership's events (the
``organisations`` projection of :mod:`runtime.members`): unknown → 422 naming
``organisation_id``; one profile per organisation → 409 naming the existing one. Its identity
(name, SIRET, legal form, ESUS agreement) is copied from that projection into the profile and
refreshed by the consumer group ``supplier-identity`` (``OrganisationUpdated``). Measured: reading
a page's 20 organisations at query time (one ``$in`` query) took 2.4–3.4 ms on SecantusDB on a
quiet machine — more than the whole in-memory search (about 1 ms) — while the copy costs nothing
at search time, and the other areas reading ``suppliers`` get the name without a join.

Consumers and the projection. The ``supplier-identity`` and ``supplier-standing`` handlers first
apply the event to :mod:`runtime.members`' projection themselves (its handlers are idempotent:
whichever consumer group comes first writes it, the other changes nothing), so that when their
transaction commits the projection is at least as new as the event, whatever the other group's
progress. The identity handler takes the organisation's turn first, as a profile's creation does
(:func:`~services.procurement.adapters.suppliers.take_turn`): a creation and an identity update of
the same organisation commit one after the other, and neither misses the other's write (the creation
copies the newer identity, or the handler finds the profile). The standing handler needs no turn: the
profile holds no copy of the standing, which the search reads by organisation from the projection
when it sees the organisation's mark.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from contracts.envelope import CloudEvent
from contracts.membership import (MemberActivated, MembershipEnteredGracePeriod, MembershipLapsed,
                                  MembershipRenewed, MembershipWithdrawn, OrganisationUpdated)
from reference import geo
from runtime import members
from runtime.aggregate import check_version, new_id
from runtime.consumer import Consumer, Subscription
from runtime.errors import Conflict, InvalidInput
from runtime.mongo import Database, Transaction, from_document, utcnow
from services.procurement.adapters.supplier_search import SupplierSearch
from services.procurement.adapters.suppliers import (SUPPLIERS, mark_changed, organisation_mark, supplier_mark,
                                                     take_turn)
from services.procurement.domain.sourcing import SearchQuery, SearchResult
from services.procurement.domain.suppliers import Identity, Supplier


class SuppliersService:
    """Supplier profiles and their search, bound to the database."""

    def __init__(self, db: Database, search: SupplierSearch | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.search_index = search or SupplierSearch(db)
        self.clock = clock

    # -- commands ---------------------------------------------------------------------------------------
    async def profile_supplier(self, *, organisation_id: str, sectors: list, base_commune: str | None = None,
                               within: Transaction | None = None, **fields: Any) -> Supplier:
        """Create the profile of an organisation known from membership's events.

        ``base_commune`` defaults to the organisation's commune (a name, as membership stores it)
        found in its département.

        :raises InvalidInput: unknown organisation (``organisation_id``); its commune not found
            and no ``base_commune``; any field the domain refuses.
        :raises Conflict: the organisation has a profile already (the problem names it).
        """
        async def work(tx: Transaction) -> Supplier:
            if not isinstance(organisation_id, str) or not organisation_id.strip():
                raise InvalidInput("organisation_id", "organisation_id is required")
            await take_turn(tx, organisation_id)  # first: see the module's docstring
            organisation = await members.organisation(tx, organisation_id)
            if organisation is None:
                raise InvalidInput("organisation_id", f"organisation {organisation_id} is unknown to procurement "
                                                      f"(no membership event named it)")
            existing = await tx.db[SUPPLIERS].find_one({"organisation_id": organisation_id}, {"_id": 1},
                                                       session=tx.session)
            if existing is not None:
                raise Conflict(f"organisation {organisation_id} has a supplier profile already: {existing['_id']}",
                               supplier_id=existing["_id"])
            base = base_commune
            if base is None:
                found = geo.find(organisation["commune"], organisation["departement"])
                if found is None:
                    raise InvalidInput("base_commune", f"the organisation's commune {organisation['commune']!r} "
                                                       f"({organisation['departement']}) is not a known commune: "
                                                       f"give base_commune (an INSEE code)")
                base = found.code
            supplier = Supplier.profile(new_id("sup"), organisation_id=organisation_id,
                                        identity=Identity.of(organisation), sectors=sectors, base_commune=base,
                                        at=self.clock(), **fields)
            await tx.save(SUPPLIERS, supplier, conflict=f"organisation {organisation_id} has a supplier profile "
                                                        f"already")
            await mark_changed(tx, organisation_id, supplier_mark(supplier.id))
            return supplier
        return await self.db.transaction(work, within=within)

    async def _step(self, supplier_id: str, expected_version: int | None, step, within: Transaction | None) -> Supplier:
        """``step(supplier, now)`` in one transaction. Without ``If-Match`` a step that lost a race with
        another write (a membership event refreshing the identity) runs again on the new state."""
        async def work(tx: Transaction) -> Supplier:
            supplier = await tx.get(SUPPLIERS, Supplier, supplier_id)
            check_version(supplier, expected_version)
            step(supplier, self.clock())
            if supplier.pending_events:
                await tx.save(SUPPLIERS, supplier)
                await mark_changed(tx, supplier.organisation_id, supplier_mark(supplier.id))
            return supplier
        return await self.db.transaction(work, within=within, conflict_retries=2 if expected_version is None else 0)

    async def update_supplier(self, supplier_id: str, changes: dict[str, Any], *,
                              expected_version: int | None = None, within: Transaction | None = None) -> Supplier:
        """Change what staff edit (only the fields given); nothing changed: nothing recorded."""
        return await self._step(supplier_id, expected_version, lambda s, now: s.update(at=now, **changes), within)

    async def archive_supplier(self, supplier_id: str, *, expected_version: int | None = None,
                               within: Transaction | None = None) -> Supplier:
        return await self._step(supplier_id, expected_version, lambda s, now: s.archive(at=now), within)

    # -- queries ----------------------------------------------------------------------------------------
    async def search(self, query: SearchQuery) -> SearchResult:
        """A sourcing search over every change committed before it (see :mod:`...sourcing`)."""
        query.place()  # a bad place is a 422 before any catch-up
        index = await self.search_index.fresh()
        return index.search(query)


# -- consumers of membership's events ------------------------------------------------------------------

async def on_organisation_updated(event: OrganisationUpdated, tx: Transaction, envelope: CloudEvent) -> None:
    """Refresh the identity copy of the organisation's profile (``supplier-identity``)."""
    await take_turn(tx, event.organisation_id)  # first: see the module's docstring
    await members.on_organisation_updated(event, tx, envelope)
    doc = await tx.db[SUPPLIERS].find_one({"organisation_id": event.organisation_id}, session=tx.session)
    if doc is None:
        return
    supplier = from_document(Supplier, doc)
    identity = Identity.of({**event.model_dump(mode="json"), "as_of": envelope.time})
    before = supplier.identity
    supplier.refresh_identity(identity, at=envelope.time)
    if supplier.identity != before or supplier.pending_events:
        await tx.save(SUPPLIERS, supplier)
        await mark_changed(tx, event.organisation_id, supplier_mark(supplier.id))


def _standing(apply):
    """``apply`` (a handler of :mod:`runtime.members`), then the organisation marked for the search."""
    async def handler(event, tx: Transaction, envelope: CloudEvent) -> None:
        await apply(event, tx, envelope)
        await mark_changed(tx, event.organisation_id, organisation_mark(event.organisation_id))
    handler.__name__ = f"supplier_{apply.__name__}"
    return handler


def consumers() -> list[Consumer]:
    """The consumer groups of this area: identity copies, and member standing for the search."""
    return [
        Consumer("supplier-identity", [Subscription(OrganisationUpdated, on_organisation_updated)]),
        Consumer("supplier-standing", [
            Subscription(MemberActivated, _standing(members.on_member_activated)),
            Subscription(MembershipEnteredGracePeriod, _standing(members.on_grace_period)),
            Subscription(MembershipLapsed, _standing(members.on_lapsed)),
            Subscription(MembershipRenewed, _standing(members.on_renewed)),
            Subscription(MembershipWithdrawn, _standing(members.on_withdrawn)),
        ]),
    ]
