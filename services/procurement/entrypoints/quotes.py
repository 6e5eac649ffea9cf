"""The Prom'ESS Europe HTTP API: quotes for the paid offers (with the member discount, fixed when a
quote is sent) and the free individual diagnostics. Thin: the commands are
:class:`~services.procurement.service_layer.quotes.QuotesService`.

Roles: writes need ``staff:procurement`` (or ``admin``); reads ``staff:procurement`` or ``reader``.
The organisation's acceptance or refusal is recorded by staff (the signed quote came back).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response, status
from fastapi.responses import HTMLResponse

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from contracts.procurement.quotes import PaidOffer, QuoteStatus
from runtime import members
from runtime.api import ONE, READ, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, errors, expected, router, tagged
from runtime.auth import READER, allow, staff
from services.procurement.adapters import quotes as queries
from services.procurement.adapters.quotes import INDIVIDUAL_DIAGNOSTICS, QUOTES
from services.procurement.domain.quotes import IndividualDiagnostic, Quote
from services.procurement.entrypoints.quote_page import page_response
from services.procurement.entrypoints.quotes_schemas import DeclineIn, DiagnosticIn, QuoteIn, QuotePatch, QuoteView
from services.procurement.service_layer.quotes import QuotesService

TEAM = "procurement"
reads = Depends(allow(staff(TEAM), READER))
writes = Depends(allow(staff(TEAM)))


def _service(platform: PlatformDep) -> QuotesService:
    return platform.commands.quotes


Service = Annotated[QuotesService, Depends(_service)]

quotes = router("/quotes", tags=["quotes"])
diagnostics = router("/individual-diagnostics", tags=["individual diagnostics"])


def _view(response: Response, quote: Quote, location: str | None = None) -> QuoteView:
    tagged(response, quote, location)
    return QuoteView.of(quote)


@quotes.post("", status_code=status.HTTP_201_CREATED, response_model=QuoteView, dependencies=[writes],
             responses=errors(401, 403, 422), summary="Draft a quote for a paid offer to a known ESS organisation")
async def draft_quote(body: QuoteIn, response: Response, svc: Service) -> QuoteView:
    quote = await svc.draft(**body.model_dump())
    return _view(response, quote, f"/quotes/{quote.id}")


@quotes.get("", response_model=Page[QuoteView], dependencies=[reads], responses=READ,
            summary="Search quotes: by organisation, status and offer (newest first)")
async def search_quotes(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                        organisation_id: Annotated[str | None, Query(max_length=100)] = None,
                        status: QuoteStatus | None = None, offer: PaidOffer | None = None):
    items, total = await queries.search_quotes(platform.db, organisation_id=organisation_id, status=status,
                                               offer=offer, limit=limit, offset=offset)
    return Page(items=[QuoteView.of(q) for q in items], total=total, limit=limit, offset=offset)


# declared before /{quote_id}: that one would take "quo-….html" as an id
@quotes.get("/{quote_id}.html", response_class=HTMLResponse, dependencies=[reads], responses=ONE,
            summary="The printable quote (an HTML page needing nothing from the network)")
async def quote_page(quote_id: str, platform: PlatformDep, svc: Service) -> HTMLResponse:
    quote = await platform.db.get(QUOTES, Quote, quote_id)
    organisation = await members.organisation(platform.db, quote.organisation_id)
    return page_response(quote, organisation, vat_rate_bp=svc.vat_rate_bp)


@quotes.get("/{quote_id}", response_model=QuoteView, dependencies=[reads], responses=ONE,
            summary="One quote: its price (fixed when sent), the member standing found, its status")
async def get_quote(quote_id: str, platform: PlatformDep, response: Response) -> QuoteView:
    return _view(response, await platform.db.get(QUOTES, Quote, quote_id))


@quotes.patch("/{quote_id}", response_model=QuoteView, dependencies=[writes], responses=WRITE,
              summary="Change a draft quote's offer, amount or description (send If-Match)")
async def revise_quote(quote_id: str, body: QuotePatch, response: Response, svc: Service,
                       if_match: IfMatch = None) -> QuoteView:
    return _view(response, await svc.revise(quote_id, body.model_dump(exclude_unset=True),
                                            expected_version=expected(if_match)))


@quotes.post("/{quote_id}/sending", response_model=QuoteView, dependencies=[writes], responses=WRITE,
             summary="Send the quote: dated today, its price fixed, with the 20 % member discount when the "
                     "organisation is a member in good standing today")
async def send_quote(quote_id: str, response: Response, svc: Service, if_match: IfMatch = None) -> QuoteView:
    return _view(response, await svc.send(quote_id, expected_version=expected(if_match)))


@quotes.post("/{quote_id}/acceptance", response_model=QuoteView, dependencies=[writes], responses=WRITE,
             summary="Record that the organisation accepted the quote (within its validity)")
async def accept_quote(quote_id: str, response: Response, svc: Service, if_match: IfMatch = None) -> QuoteView:
    return _view(response, await svc.accept(quote_id, expected_version=expected(if_match)))


@quotes.post("/{quote_id}/decline", response_model=QuoteView, dependencies=[writes], responses=WRITE,
             summary="Record that the organisation declined the quote")
async def decline_quote(quote_id: str, body: DeclineIn, response: Response, svc: Service,
                        if_match: IfMatch = None) -> QuoteView:
    return _view(response, await svc.decline(quote_id, reason=body.reason, expected_version=expected(if_match)))


# -- individual diagnostics ---------------------------------------------------------------------------------
@diagnostics.post("", status_code=201, response_model=IndividualDiagnostic, dependencies=[writes],
                  responses=errors(401, 403, 422),
                  summary="Record a free individual diagnostic held with a known ESS organisation")
async def hold_diagnostic(body: DiagnosticIn, response: Response, svc: Service) -> IndividualDiagnostic:
    diagnostic = await svc.hold_diagnostic(**body.model_dump())
    return tagged(response, diagnostic, f"/individual-diagnostics/{diagnostic.id}")


@diagnostics.get("", response_model=Page[IndividualDiagnostic], dependencies=[reads], responses=READ,
                 summary="Individual diagnostics: by organisation and year (latest first)")
async def search_diagnostics(platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                             organisation_id: Annotated[str | None, Query(max_length=100)] = None,
                             year: Annotated[int | None, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR)] = None):
    items, total = await queries.search_diagnostics(platform.db, organisation_id=organisation_id, year=year,
                                                    limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@diagnostics.get("/{diagnostic_id}", response_model=IndividualDiagnostic, dependencies=[reads], responses=ONE,
                 summary="One individual diagnostic")
async def get_diagnostic(diagnostic_id: str, platform: PlatformDep, response: Response) -> IndividualDiagnostic:
    return tagged(response, await platform.db.get(INDIVIDUAL_DIAGNOSTICS, IndividualDiagnostic, diagnostic_id))


ROUTERS = (quotes, diagnostics)
