"""The suppliers API: supplier profiles, the sourcing search, groupings. Thin.

Roles: writes need ``staff:procurement`` (or ``admin``) — staff, or an app acting for a supplier
with that role (groupings formed "on their behalf"); reads ``staff:procurement`` or ``reader``.
Single resources carry an ``ETag`` (their version); writes accept ``If-Match`` (412 when stale).
"""
from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from contracts.procurement.suppliers import GroupingStatus, SupplierStatus
from contracts.procurement.vocabulary import Sector, SupplierKind, SupplierLabel
from runtime.api import ONE, READ, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, errors, expected, router, tagged
from runtime.auth import READER, allow, staff
from runtime.errors import InvalidInput
from services.procurement.adapters.suppliers import GROUPINGS, SUPPLIERS
from services.procurement.domain.groupings import Grouping
from services.procurement.domain.sourcing import SearchQuery
from services.procurement.domain.suppliers import Supplier
from services.procurement.entrypoints.supplier_schemas import (DEPARTEMENT, INSEE, DissolutionIn, GroupingIn, JoinIn,
                                                               SearchPage, SupplierIn, SupplierPatch)
from services.procurement.service_layer.groupings import GroupingsService
from services.procurement.service_layer.suppliers import SuppliersService

TEAM = "procurement"
reads = Depends(allow(staff(TEAM), READER))
writes = Depends(allow(staff(TEAM)))


async def _suppliers(request: Request) -> SuppliersService:
    # async: a plain ``def`` dependency runs in a worker thread (about half a millisecond a request)
    return request.app.state.platform.commands.suppliers


async def _groupings(request: Request) -> GroupingsService:
    return request.app.state.platform.commands.groupings


Suppliers = Annotated[SuppliersService, Depends(_suppliers)]
Groupings = Annotated[GroupingsService, Depends(_groupings)]

suppliers = router("/suppliers", tags=["suppliers"])
groupings = router("/groupings", tags=["groupings"])


# -- profiles ---------------------------------------------------------------------------------------------
@suppliers.post("", status_code=status.HTTP_201_CREATED, response_model=Supplier, dependencies=[writes],
                responses=errors(401, 403, 409, 422, c409="The organisation has a supplier profile already (the "
                                                          "problem names it: supplier_id)",
                                 c422="Invalid input, or an organisation unknown to procurement (organisation_id)"),
                summary="Create the supplier profile of an ESS organisation known from membership's events")
async def profile_supplier(body: SupplierIn, response: Response, svc: Suppliers) -> Supplier:
    supplier = await svc.profile_supplier(**body.model_dump())
    return tagged(response, supplier, f"/suppliers/{supplier.id}")


@suppliers.get("", response_model=Page[Supplier], dependencies=[reads], responses=READ,
               summary="List supplier profiles (by status, organisation, sector), by id — to search, see /search")
async def list_suppliers(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                         status: SupplierStatus | None = None,
                         organisation_id: Annotated[str | None, Query(max_length=100)] = None,
                         sector: Sector | None = None):
    query: dict = {}
    if status is not None:
        query["status"] = status.value
    if organisation_id is not None:
        query["organisation_id"] = organisation_id
    if sector is not None:
        query["sectors"] = sector.value
    items, total = await platform.db.page(SUPPLIERS, query, model=Supplier, sort=[("_id", 1)], limit=limit,
                                          offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@suppliers.get("/search", response_model=SearchPage, dependencies=[reads], responses=READ,
               summary="Search suppliers by sector × place × radius × kind × label × member-only, with facet "
                       "counts, ordered by relevance")
async def search_suppliers(
        svc: Suppliers, limit: Limit = 20, offset: Offset = 0,
        sector: Annotated[list[Sector] | None, Query(description="Sectors (any of them).")] = None,
        kind: Annotated[list[SupplierKind] | None, Query(description="Kinds (any of them).")] = None,
        label: Annotated[list[SupplierLabel] | None, Query(description="Labels (any of them).")] = None,
        commune: Annotated[str | None, Query(pattern=INSEE, description="The place: a commune (INSEE code).")] = None,
        departement: Annotated[str | None, Query(pattern=DEPARTEMENT, description="The place: a département (code), "
                                                                                  "when no commune is given.")] = None,
        radius_km: Annotated[int | None, Query(ge=0, le=300, description="Also suppliers based within this "
                                                                         "distance of the commune (km).")] = None,
        member_only: Annotated[bool, Query(description="Only members in good standing now.")] = False) -> Response:
    """Filters: within a facet the values are alternatives; facets combine. Facet counts: each
    facet counts the matches of every filter but its own. Relevance: sector 0–30, distance 0–25,
    territory 0–20, labels 0–9, member 10, track record 0–15 (see `score_details`); ties by id."""
    query = SearchQuery(sectors=tuple(sector or ()), kinds=tuple(kind or ()), labels=tuple(label or ()),
                        commune=commune, departement=departement, radius_km=radius_km, member_only=member_only,
                        limit=limit, offset=offset)
    try:
        result = await svc.search(query)
    except InvalidInput as exc:
        raise InvalidInput(f"query.{exc.field}", exc.detail) from None
    page = {"items": [_hit(h) for h in result.hits], "total": result.total, "limit": limit, "offset": offset,
            "facets": result.facets}
    # serialised here: the page is built of plain values only (half a millisecond less than validating it
    # against SearchPage, which documents it)
    return Response(json.dumps(page, ensure_ascii=False, separators=(",", ":")), media_type="application/json")


def _hit(hit) -> dict:
    row = hit.row
    return {"supplier_id": row.id, "organisation_id": row.organisation_id, "name": row.name,
            "legal_form": row.legal_form, "sectors": list(row.sectors), "kinds": list(row.kinds),
            "labels": list(row.labels), "services": list(row.services),
            "base": {"commune": row.base_commune, "commune_name": row.base_commune_name,
                     "departement": row.base_departement, "approximate": row.approximate},
            "serves": row.serves, "member": hit.member, "reach": None if hit.reach is None else hit.reach.value,
            "distance_km": hit.distance_km,
            "score": hit.score, "score_details": hit.details, "references": row.references,
            "past_contracts": row.past_contracts, "max_contract_cents": row.max_contract_cents,
            "headcount_available": row.headcount_available}


@suppliers.get("/{supplier_id}", response_model=Supplier, dependencies=[reads], responses=ONE,
               summary="One supplier profile")
async def get_supplier(supplier_id: str, platform: PlatformDep, response: Response) -> Supplier:
    return tagged(response, await platform.db.get(SUPPLIERS, Supplier, supplier_id))


@suppliers.patch("/{supplier_id}", response_model=Supplier, dependencies=[writes], responses=WRITE,
                 summary="Change a supplier profile (only the fields sent; an object such as serves or capacity is "
                         "replaced whole; identity comes from membership)")
async def update_supplier(supplier_id: str, body: SupplierPatch, response: Response, svc: Suppliers,
                          if_match: IfMatch = None) -> Supplier:
    changes = body.model_dump(exclude_unset=True)
    return tagged(response, await svc.update_supplier(supplier_id, changes, expected_version=expected(if_match)))


@suppliers.post("/{supplier_id}/archive", response_model=Supplier, dependencies=[writes], responses=WRITE,
                summary="Archive a supplier profile (no search nor dispatch finds it any more)")
async def archive_supplier(supplier_id: str, response: Response, svc: Suppliers, if_match: IfMatch = None) -> Supplier:
    return tagged(response, await svc.archive_supplier(supplier_id, expected_version=expected(if_match)))


# -- groupings ---------------------------------------------------------------------------------------------
@groupings.post("", status_code=status.HTTP_201_CREATED, response_model=Grouping, dependencies=[writes],
                responses=errors(401, 403, 409, 422, c409="A supplier is archived, or in another grouping for this "
                                                          "need (the problem names it)"),
                summary="Form a grouping of suppliers (a lead and members) to answer one need together")
async def form_grouping(body: GroupingIn, response: Response, svc: Groupings) -> Grouping:
    grouping = await svc.form_grouping(**body.model_dump())
    return tagged(response, grouping, f"/groupings/{grouping.id}")


@groupings.get("", response_model=Page[Grouping], dependencies=[reads], responses=READ,
               summary="List groupings: of a need, of a supplier (lead or member), by status")
async def list_groupings(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                         need_id: Annotated[str | None, Query(max_length=100)] = None,
                         supplier_id: Annotated[str | None, Query(max_length=100)] = None,
                         status: GroupingStatus | None = None):
    query: dict = {}
    if need_id is not None:
        query["need_id"] = need_id
    if supplier_id is not None:
        query["$or"] = [{"lead_supplier_id": supplier_id}, {"member_supplier_ids": supplier_id}]
    if status is not None:
        query["status"] = status.value
    items, total = await platform.db.page(GROUPINGS, query, model=Grouping, sort=[("_id", 1)], limit=limit,
                                          offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@groupings.get("/{grouping_id}", response_model=Grouping, dependencies=[reads], responses=ONE, summary="One grouping")
async def get_grouping(grouping_id: str, platform: PlatformDep, response: Response) -> Grouping:
    return tagged(response, await platform.db.get(GROUPINGS, Grouping, grouping_id))


@groupings.post("/{grouping_id}/members", response_model=Grouping, dependencies=[writes], responses=WRITE,
                summary="A supplier joins a forming grouping")
async def join_grouping(grouping_id: str, body: JoinIn, response: Response, svc: Groupings,
                        if_match: IfMatch = None) -> Grouping:
    return tagged(response, await svc.join_grouping(grouping_id, body.supplier_id, expected_version=expected(if_match)))


@groupings.delete("/{grouping_id}/members/{supplier_id}", response_model=Grouping, dependencies=[writes],
                  responses=WRITE, summary="A member leaves a forming grouping")
async def leave_grouping(grouping_id: str, supplier_id: str, response: Response, svc: Groupings,
                         if_match: IfMatch = None) -> Grouping:
    return tagged(response, await svc.leave_grouping(grouping_id, supplier_id, expected_version=expected(if_match)))


@groupings.post("/{grouping_id}/submission", response_model=Grouping, dependencies=[writes], responses=WRITE,
                summary="Submit the grouping's answer to its need (its composition is frozen)")
async def submit_grouping(grouping_id: str, response: Response, svc: Groupings, if_match: IfMatch = None) -> Grouping:
    return tagged(response, await svc.submit_grouping(grouping_id, expected_version=expected(if_match)))


@groupings.post("/{grouping_id}/dissolution", response_model=Grouping, dependencies=[writes], responses=WRITE,
                summary="Dissolve a forming or submitted grouping")
async def dissolve_grouping(grouping_id: str, body: DissolutionIn, response: Response, svc: Groupings,
                            if_match: IfMatch = None) -> Grouping:
    return tagged(response, await svc.dissolve_grouping(grouping_id, reason=body.reason,
                                                        expected_version=expected(if_match)))


ROUTERS = (suppliers, groupings)
