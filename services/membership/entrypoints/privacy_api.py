"""Personal data over HTTP (GDPR): erasure requests and membership's part of a person's export.

Only the ``privacy`` role (the chamber's data protection officer) and ``admin``:

- ``POST /personal-data-erasure-requests`` ``{"email": …}`` — record a request to erase the person
  everywhere (202: the holders erase as they consume it); the address is hashed, not kept;
- ``GET /personal-data-erasure-requests/{id}`` — the audit record: who asked, when, each holder's
  confirmation, ``pending`` or ``complete``;
- ``GET /personal-data?email=`` — what membership holds about the person (its contacts).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response, status
from pydantic import Field

from runtime.api import ONE, Body, PlatformDep, errors, router, tagged
from runtime.auth import PRIVACY, Principal, allow
from runtime.privacy import MAX_EMAIL, personal_data_router
from services.membership.domain.privacy import ErasureRequest
from services.membership.service_layer.privacy import collect

erasures = router("/personal-data-erasure-requests", tags=["personal data"])
Officer = Annotated[Principal, Depends(allow(PRIVACY))]


class ErasureRequestIn(Body):
    """Whose data to erase, by e-mail address (any case): the address is hashed into the request's
    subject reference and not kept."""

    email: str = Field(min_length=3, max_length=MAX_EMAIL, examples=["camille.martin@example.org"])


@erasures.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ErasureRequest,
               responses=errors(401, 403, 422), summary="Ask for a person's data to be erased in every service")
async def request_erasure(body: ErasureRequestIn, platform: PlatformDep, officer: Officer,
                          response: Response) -> ErasureRequest:
    request = await platform.commands.privacy.request_erasure(body.email, requested_by=officer.subject)
    return tagged(response, request, f"/personal-data-erasure-requests/{request.id}")


@erasures.get("/{request_id}", response_model=ErasureRequest, responses=ONE,
              summary="An erasure request: who asked, when, each service's confirmation, pending or complete")
async def get_erasure_request(request_id: str, platform: PlatformDep, officer: Officer,
                              response: Response) -> ErasureRequest:
    return tagged(response, await platform.commands.privacy.get(request_id))


ROUTERS = (erasures, personal_data_router(collect))
