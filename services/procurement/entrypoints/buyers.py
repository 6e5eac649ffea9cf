"""The buyers HTTP API: buyers, their engagements, conventions and interventions, and the activity
report's figures. Thin: the commands are :class:`~services.procurement.service_layer.buyers.BuyersService`.

Roles: writes need ``staff:procurement`` (or ``admin``); reads ``staff:procurement`` or ``reader``.
Single resources carry an ``ETag`` (their version); writes accept ``If-Match`` (412 when stale).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response, status

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from contracts.procurement.buyers import BuyerStatus, InterventionKind
from contracts.procurement.vocabulary import BuyerKind
from runtime.api import (ONE, READ, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, errors, expected, router,
                         tagged)
from runtime.auth import READER, allow, staff
from runtime.errors import NotFound
from services.procurement.adapters import buyers as queries
from services.procurement.adapters.buyers import BUYERS, CONVENTIONS, ENGAGEMENTS, INTERVENTIONS
from services.procurement.domain.buyers import Buyer, BuyerConvention, Engagement, Intervention, YearFigures
from services.procurement.entrypoints.buyers_schemas import (AbandonmentIn, BuyerIn, BuyerPatch, CompletionIn,
                                                             ConventionIn, ConventionView, EngagementIn,
                                                             EngagementView, InterventionIn, InterventionPatch,
                                                             PhaseIn, TerminationIn)
from services.procurement.service_layer.buyers import BuyersService

TEAM = "procurement"
reads = Depends(allow(staff(TEAM), READER))
writes = Depends(allow(staff(TEAM)))


def _service(platform: PlatformDep) -> BuyersService:
    return platform.commands.buyers


Service = Annotated[BuyersService, Depends(_service)]

buyers = router("/buyers", tags=["buyers"])
engagements = router("/buyers", tags=["buyer engagements"])
conventions = router("/buyers", tags=["buyer conventions"])
interventions = router("/buyers", tags=["interventions"])


# -- buyers ---------------------------------------------------------------------------------------------
@buyers.post("", status_code=status.HTTP_201_CREATED, response_model=Buyer, dependencies=[writes],
             responses=errors(401, 403, 409, 422, c409="The SIRET is already registered (the detail names the buyer)"),
             summary="Register a buyer: a local authority, another public buyer or a private company")
async def register_buyer(body: BuyerIn, response: Response, svc: Service) -> Buyer:
    buyer = await svc.register(body.model_dump())
    return tagged(response, buyer, f"/buyers/{buyer.id}")


@buyers.get("", response_model=Page[Buyer], dependencies=[reads], responses=READ,
            summary="Search buyers: by kind, département, local authorities only, status and text")
async def search_buyers(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                        kind: BuyerKind | None = None,
                        departement: Annotated[str | None, Query(max_length=3, description="Département code.")] = None,
                        local_authorities: Annotated[bool | None, Query(
                            description="true: local authorities only; false: none of them.")] = None,
                        status: BuyerStatus | None = None,
                        q: Annotated[str | None, Query(max_length=200, description="Name contains (any case), or "
                                                                                   "a SIRET / SIREN.")] = None):
    items, total = await queries.search_buyers(platform.db, kind=kind, departement=departement,
                                               local_authorities=local_authorities, status=status, q=q,
                                               limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@buyers.get("/figures", response_model=YearFigures, dependencies=[reads], responses=READ,
            summary="The activity report's figures of a year: local authorities met, interventions, conventions, "
                    "engagements")
async def figures(platform: PlatformDep, year: Annotated[int, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR)]) -> YearFigures:
    return await queries.figures(platform.db, year)


@buyers.get("/{buyer_id}", response_model=Buyer, dependencies=[reads], responses=ONE, summary="One buyer")
async def get_buyer(buyer_id: str, platform: PlatformDep, response: Response) -> Buyer:
    return tagged(response, await platform.db.get(BUYERS, Buyer, buyer_id))


@buyers.patch("/{buyer_id}", response_model=Buyer, dependencies=[writes], responses=WRITE,
              summary="Correct a buyer's identity or territory (send If-Match)")
async def update_buyer(buyer_id: str, body: BuyerPatch, response: Response, svc: Service,
                       if_match: IfMatch = None) -> Buyer:
    return tagged(response, await svc.update(buyer_id, body.model_dump(exclude_unset=True),
                                             expected_version=expected(if_match)))


@buyers.post("/{buyer_id}/archive", response_model=Buyer, dependencies=[writes], responses=WRITE,
             summary="Archive a buyer no longer followed (refused while an engagement is open or a convention binds)")
async def archive_buyer(buyer_id: str, response: Response, svc: Service, if_match: IfMatch = None) -> Buyer:
    return tagged(response, await svc.archive(buyer_id, expected_version=expected(if_match)))


# -- engagements ----------------------------------------------------------------------------------------
@engagements.post("/{buyer_id}/engagements", status_code=201, response_model=EngagementView, dependencies=[writes],
                  responses=errors(401, 403, 404, 409, 422, c409="An engagement is open already, or the buyer is "
                                                                  "archived"),
                  summary="Open a PAMS (public buyer) or OSER (private company) engagement, in its first phase")
async def open_engagement(buyer_id: str, body: EngagementIn, response: Response, svc: Service) -> EngagementView:
    engagement = await svc.open_engagement(buyer_id, programme=body.programme, on=body.on)
    tagged(response, engagement, f"/buyers/{buyer_id}/engagements/{engagement.id}")
    return EngagementView.of(engagement)


@engagements.get("/{buyer_id}/engagements", response_model=list[EngagementView], dependencies=[reads],
                 responses=ONE, summary="A buyer's engagements, oldest first, with their phase history")
async def list_engagements(buyer_id: str, platform: PlatformDep) -> list[EngagementView]:
    await platform.db.get(BUYERS, Buyer, buyer_id)
    return [EngagementView.of(e) for e in await queries.engagements_of(platform.db, buyer_id)]


@engagements.get("/{buyer_id}/engagements/{engagement_id}", response_model=EngagementView, dependencies=[reads],
                 responses=ONE, summary="One engagement, its phase history and the next phase allowed")
async def get_engagement(buyer_id: str, engagement_id: str, platform: PlatformDep,
                         response: Response) -> EngagementView:
    engagement = await platform.db.get(ENGAGEMENTS, Engagement, engagement_id)
    if engagement.buyer_id != buyer_id:
        raise NotFound(f"Engagement {engagement_id!r} of buyer {buyer_id!r} not found", resource="Engagement",
                       id=engagement_id)
    tagged(response, engagement)
    return EngagementView.of(engagement)


@engagements.post("/{buyer_id}/engagements/{engagement_id}/phase", response_model=EngagementView,
                  dependencies=[writes], responses=errors(401, 403, 404, 409, 412, 422, c409=(
                      "Not the next phase (the detail names the current phase and the next allowed one), or the "
                      "engagement is closed")),
                  summary="Enter the engagement's next phase (in order: none skipped, no going back)")
async def advance_engagement(buyer_id: str, engagement_id: str, body: PhaseIn, response: Response, svc: Service,
                             if_match: IfMatch = None) -> EngagementView:
    engagement = await svc.advance_engagement(buyer_id, engagement_id, phase=body.phase, on=body.on,
                                              expected_version=expected(if_match))
    tagged(response, engagement)
    return EngagementView.of(engagement)


@engagements.post("/{buyer_id}/engagements/{engagement_id}/completion", response_model=EngagementView,
                  dependencies=[writes], responses=WRITE,
                  summary="Complete the engagement (from its programme's last phase)")
async def complete_engagement(buyer_id: str, engagement_id: str, body: CompletionIn, response: Response,
                              svc: Service, if_match: IfMatch = None) -> EngagementView:
    engagement = await svc.complete_engagement(buyer_id, engagement_id, on=body.on,
                                               expected_version=expected(if_match))
    tagged(response, engagement)
    return EngagementView.of(engagement)


@engagements.post("/{buyer_id}/engagements/{engagement_id}/abandonment", response_model=EngagementView,
                  dependencies=[writes], responses=WRITE, summary="Abandon the engagement, with the reason")
async def abandon_engagement(buyer_id: str, engagement_id: str, body: AbandonmentIn, response: Response,
                             svc: Service, if_match: IfMatch = None) -> EngagementView:
    engagement = await svc.abandon_engagement(buyer_id, engagement_id, reason=body.reason, on=body.on,
                                              expected_version=expected(if_match))
    tagged(response, engagement)
    return EngagementView.of(engagement)


# -- conventions ----------------------------------------------------------------------------------------
@conventions.post("/{buyer_id}/conventions", status_code=201, response_model=ConventionView, dependencies=[writes],
                  responses=errors(401, 403, 404, 409, 422, c409="The buyer is not a local authority, or is archived"),
                  summary="Record a convention signed with a local authority")
async def sign_convention(buyer_id: str, body: ConventionIn, response: Response, svc: Service) -> ConventionView:
    convention = await svc.sign_convention(buyer_id, body.model_dump())
    tagged(response, convention, f"/buyers/{buyer_id}/conventions/{convention.id}")
    return ConventionView.of(convention, svc.today())


@conventions.get("/{buyer_id}/conventions", response_model=list[ConventionView], dependencies=[reads],
                 responses=ONE, summary="A buyer's conventions, with whether each is in force today")
async def list_conventions(buyer_id: str, platform: PlatformDep, svc: Service) -> list[ConventionView]:
    await platform.db.get(BUYERS, Buyer, buyer_id)
    today = svc.today()
    return [ConventionView.of(c, today) for c in await queries.conventions_of(platform.db, buyer_id)]


async def _convention(platform, buyer_id: str, convention_id: str) -> BuyerConvention:
    convention = await platform.db.get(CONVENTIONS, BuyerConvention, convention_id)
    if convention.buyer_id != buyer_id:
        raise NotFound(f"Convention {convention_id!r} of buyer {buyer_id!r} not found", resource="BuyerConvention",
                       id=convention_id)
    return convention


@conventions.get("/{buyer_id}/conventions/{convention_id}", response_model=ConventionView, dependencies=[reads],
                 responses=ONE, summary="One convention")
async def get_convention(buyer_id: str, convention_id: str, platform: PlatformDep, svc: Service,
                         response: Response) -> ConventionView:
    convention = await _convention(platform, buyer_id, convention_id)
    tagged(response, convention)
    return ConventionView.of(convention, svc.today())


@conventions.post("/{buyer_id}/conventions/{convention_id}/termination", response_model=ConventionView,
                  dependencies=[writes], responses=WRITE,
                  summary="Terminate a convention early: not in force from the date given")
async def terminate_convention(buyer_id: str, convention_id: str, body: TerminationIn, response: Response,
                               svc: Service, if_match: IfMatch = None) -> ConventionView:
    convention = await svc.terminate_convention(buyer_id, convention_id, on=body.on, reason=body.reason,
                                                expected_version=expected(if_match))
    tagged(response, convention)
    return ConventionView.of(convention, svc.today())


# -- interventions --------------------------------------------------------------------------------------
@interventions.post("/{buyer_id}/interventions", status_code=201, response_model=Intervention,
                    dependencies=[writes], responses=errors(401, 403, 404, 409, 422, c409="The buyer is archived"),
                    summary="Log an intervention with a buyer (training, workshop, diagnostic, sourcing, meeting)")
async def log_intervention(buyer_id: str, body: InterventionIn, response: Response, svc: Service) -> Intervention:
    intervention = await svc.log_intervention(buyer_id, body.model_dump())
    return tagged(response, intervention, f"/buyers/{buyer_id}/interventions/{intervention.id}")


@interventions.get("/{buyer_id}/interventions", response_model=Page[Intervention], dependencies=[reads],
                   responses=ONE, summary="A buyer's interventions, latest first (by year, kind)")
async def list_interventions(buyer_id: str, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                             year: Annotated[int | None, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR)] = None,
                             kind: InterventionKind | None = None,
                             include_withdrawn: bool = False):
    await platform.db.get(BUYERS, Buyer, buyer_id)
    items, total = await queries.interventions_of(platform.db, buyer_id, year=year, kind=kind,
                                                  include_withdrawn=include_withdrawn, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@interventions.get("/{buyer_id}/interventions/{intervention_id}", response_model=Intervention, dependencies=[reads],
                   responses=ONE, summary="One intervention")
async def get_intervention(buyer_id: str, intervention_id: str, platform: PlatformDep,
                           response: Response) -> Intervention:
    intervention = await platform.db.get(INTERVENTIONS, Intervention, intervention_id)
    if intervention.buyer_id != buyer_id:
        raise NotFound(f"Intervention {intervention_id!r} of buyer {buyer_id!r} not found", resource="Intervention",
                       id=intervention_id)
    return tagged(response, intervention)


@interventions.patch("/{buyer_id}/interventions/{intervention_id}", response_model=Intervention,
                     dependencies=[writes], responses=WRITE,
                     summary="Correct a mistaken intervention (send If-Match)")
async def correct_intervention(buyer_id: str, intervention_id: str, body: InterventionPatch, response: Response,
                               svc: Service, if_match: IfMatch = None) -> Intervention:
    return tagged(response, await svc.correct_intervention(buyer_id, intervention_id,
                                                           body.model_dump(exclude_unset=True),
                                                           expected_version=expected(if_match)))


@interventions.delete("/{buyer_id}/interventions/{intervention_id}", response_model=Intervention,
                      dependencies=[writes], responses=WRITE,
                      summary="Withdraw an intervention logged by mistake (it no longer counts; send If-Match)")
async def withdraw_intervention(buyer_id: str, intervention_id: str, response: Response, svc: Service,
                                if_match: IfMatch = None) -> Intervention:
    return tagged(response, await svc.withdraw_intervention(buyer_id, intervention_id,
                                                            expected_version=expected(if_match)))


ROUTERS = (buyers, engagements, conventions, interventions)
