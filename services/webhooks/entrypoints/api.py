"""The webhooks HTTP API: partners' endpoints, secrets, messages, attempts, replays and tests.

Roles: ``partner`` manages its own endpoints (the partner id is the token's subject, ``sub``);
``staff:partnerships`` and ``admin`` see and manage every partner's. One partner never sees
another's endpoints, messages, attempts or secrets: their ids answer 404, as unknown ids do.
Secrets are read by their partner only (staff and admin: 403). Readers read the event types only.
The table in :mod:`runtime.authorization` lists every operation.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Response, status

from contracts.webhooks import DisabledReason
from runtime.api import ONE, READ, WRITE, IfMatch, Limit, Offset, Page, PlatformDep, errors, expected, router
from runtime.auth import PARTNER, READER, Forbidden, Principal, allow, staff
from runtime.errors import NotFound
from services.webhooks.adapters.repository import ENDPOINTS, MESSAGES, attempts_of
from services.webhooks.domain.delivery import MessageStatus
from services.webhooks.domain.endpoints import Endpoint
from services.webhooks.entrypoints.schemas import (AttemptView, EndpointIn, EndpointPatch, EndpointView,
                                                   EventTypesView, MessageView, ReplayIn, ReplayView, RotateIn,
                                                   SecretKey, SecretView)
from services.webhooks.service_layer.endpoints import EndpointsService, deliverable_types

TEAM = "partnerships"
STAFF = staff(TEAM)
Caller = Annotated[Principal, Depends(allow(PARTNER, STAFF))]
PartnerCaller = Annotated[Principal, Depends(allow(PARTNER))]
Browser = Annotated[Principal, Depends(allow(PARTNER, STAFF, READER))]  # documentation: readers too


def _service(platform: PlatformDep) -> EndpointsService:
    return platform.commands.endpoints


Service = Annotated[EndpointsService, Depends(_service)]


def scope(principal: Principal) -> str | None:
    """The partner whose data the caller may see: its own (``sub``) for a partner, None (all) for staff."""
    return None if principal.has_any({STAFF}) else principal.subject


def _etag(response: Response, endpoint: Endpoint, location: str | None = None) -> EndpointView:
    response.headers["ETag"] = f'"{endpoint.version}"'
    if location:
        response.headers["Location"] = location
    return EndpointView.of(endpoint)


endpoints = router("/endpoints", tags=["endpoints"])
secrets = router("/endpoints", tags=["secrets"])
messages = router("", tags=["messages"])
types = router("/event-types", tags=["event types"])

WRITE_BODY = errors(400, 401, 403, 404, 409, 412, 413, 422)


# -- event types --------------------------------------------------------------------------------------
@types.get("", response_model=EventTypesView, responses=READ,
           summary="The event types an endpoint may subscribe to (filters may use `*`)")
async def event_types(_: Browser) -> EventTypesView:
    return EventTypesView(event_types=deliverable_types())


# -- endpoints ----------------------------------------------------------------------------------------
@endpoints.post("", status_code=status.HTTP_201_CREATED, response_model=EndpointView,
                responses=errors(400, 401, 403, 409, 413, 422),
                summary="Register an endpoint: it receives the matching events from now on, signed with its secret")
async def create_endpoint(body: EndpointIn, principal: Caller, response: Response, svc: Service) -> EndpointView:
    own = scope(principal)
    if own is not None and body.partner_id not in (None, own):
        raise Forbidden("a partner registers its own endpoints only (leave partner_id out)")
    partner_id = own if own is not None else (body.partner_id or principal.subject)
    endpoint = await svc.create(partner_id=partner_id, **body.model_dump(exclude={"partner_id"}))
    return _etag(response, endpoint, f"/endpoints/{endpoint.id}")


@endpoints.get("", response_model=Page[EndpointView], responses=READ,
               summary="The caller's endpoints (staff: every partner's, or one partner's)")
async def list_endpoints(principal: Caller, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0,
                         partner_id: Annotated[str | None, Query(max_length=100, description="Staff: one partner's.")]
                         = None, enabled: bool | None = None) -> Page[EndpointView]:
    query: dict[str, Any] = {"deleted_at": None}
    own = scope(principal)
    if own is not None:
        query["partner_id"] = own
    elif partner_id is not None:
        query["partner_id"] = partner_id
    if enabled is not None:
        query["enabled"] = enabled
    items, total = await platform.db.page(ENDPOINTS, query, sort=[("created_at", 1), ("_id", 1)], limit=limit,
                                          offset=offset, model=Endpoint)
    return Page(items=[EndpointView.of(e) for e in items], total=total, limit=limit, offset=offset)


@endpoints.get("/{endpoint_id}", response_model=EndpointView, responses=ONE, summary="One endpoint (no secret)")
async def get_endpoint(endpoint_id: str, principal: Caller, response: Response, svc: Service) -> EndpointView:
    return _etag(response, await svc.get(endpoint_id, scope(principal)))


@endpoints.patch("/{endpoint_id}", response_model=EndpointView, responses=WRITE_BODY,
                 summary="Change an endpoint's URL, filters, description, headers or rate limit")
async def update_endpoint(endpoint_id: str, body: EndpointPatch, principal: Caller, response: Response,
                          svc: Service, if_match: IfMatch = None) -> EndpointView:
    changes = body.model_dump(exclude_unset=True)
    return _etag(response, await svc.update(endpoint_id, partner=scope(principal),
                                            expected_version=expected(if_match), **changes))


@endpoints.post("/{endpoint_id}/disable", response_model=EndpointView, responses=WRITE,
                summary="Stop sending to an endpoint (its messages wait until it is enabled again)")
async def disable_endpoint(endpoint_id: str, principal: Caller, response: Response, svc: Service,
                           if_match: IfMatch = None) -> EndpointView:
    own = scope(principal)
    reason = DisabledReason.BY_PARTNER if own is not None else DisabledReason.BY_STAFF
    return _etag(response, await svc.disable(endpoint_id, partner=own, reason=reason,
                                             expected_version=expected(if_match)))


@endpoints.post("/{endpoint_id}/enable", response_model=EndpointView, responses=WRITE,
                summary="Send to a disabled endpoint again (its URL is checked again)")
async def enable_endpoint(endpoint_id: str, principal: Caller, response: Response, svc: Service,
                          if_match: IfMatch = None) -> EndpointView:
    return _etag(response, await svc.enable(endpoint_id, partner=scope(principal),
                                            expected_version=expected(if_match)))


@endpoints.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE,
                  summary="Delete an endpoint: nothing more is sent to it")
async def delete_endpoint(endpoint_id: str, principal: Caller, svc: Service, if_match: IfMatch = None) -> Response:
    await svc.delete(endpoint_id, partner=scope(principal), expected_version=expected(if_match))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- secrets ------------------------------------------------------------------------------------------
def _own_partner(principal: Principal) -> str:
    if PARTNER not in principal.roles:
        raise Forbidden("only the partner that owns an endpoint handles its secret", needed=[PARTNER])
    return principal.subject


@secrets.get("/{endpoint_id}/secret", response_model=SecretView, responses=ONE,
             summary="The endpoint's signing secret(s) — its partner only")
async def get_secret(endpoint_id: str, principal: PartnerCaller, svc: Service) -> SecretView:
    endpoint = await svc.get(endpoint_id, _own_partner(principal))
    keys = [SecretKey(**s.model_dump()) for s in endpoint.secrets]
    return SecretView(key=keys[0].key, keys=keys)


@secrets.post("/{endpoint_id}/secret/rotate", response_model=SecretView, responses=WRITE_BODY,
              summary="Replace the signing secret; the previous one keeps signing for a grace period (24 h)")
async def rotate_secret(endpoint_id: str, body: RotateIn, principal: PartnerCaller, response: Response,
                        svc: Service, if_match: IfMatch = None) -> SecretView:
    endpoint = await svc.rotate_secret(endpoint_id, partner=_own_partner(principal), secret=body.secret,
                                       expected_version=expected(if_match))
    response.headers["ETag"] = f'"{endpoint.version}"'
    keys = [SecretKey(**s.model_dump()) for s in endpoint.secrets]
    return SecretView(key=keys[0].key, keys=keys)


# -- messages and attempts ---------------------------------------------------------------------------
async def _message(platform, message_id: str, partner: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {"_id": message_id}
    if partner is not None:
        query["partner_id"] = partner
    doc = await platform.db[MESSAGES].find_one(query)
    if doc is None:
        raise NotFound(f"message {message_id!r} not found", resource="Message", id=message_id)
    return doc


@messages.get("/endpoints/{endpoint_id}/messages", response_model=Page[MessageView], responses=ONE,
              summary="An endpoint's messages, newest first (by status: pending, delivered, failed)")
async def list_messages(endpoint_id: str, principal: Caller, platform: PlatformDep, svc: Service,
                        status_: Annotated[MessageStatus | None, Query(alias="status")] = None,
                        since: Annotated[datetime | None, Query(description="Created since (with its time zone).")]
                        = None, limit: Limit = 50, offset: Offset = 0) -> Page[MessageView]:
    await svc.get(endpoint_id, scope(principal))
    query: dict[str, Any] = {"endpoint_id": endpoint_id}
    if status_ is not None:
        query["status"] = status_.value
    if since is not None:
        query["created_at"] = {"$gte": since}
    docs, total = await platform.db.page(MESSAGES, query, sort=[("created_at", -1), ("_id", -1)], limit=limit,
                                         offset=offset)
    return Page(items=[MessageView.of(d) for d in docs], total=total, limit=limit, offset=offset)


@messages.get("/messages/{message_id}", response_model=MessageView, responses=ONE, summary="One message")
async def get_message(message_id: str, principal: Caller, platform: PlatformDep) -> MessageView:
    return MessageView.of(await _message(platform, message_id, scope(principal)))


@messages.get("/messages/{message_id}/attempts", response_model=list[AttemptView], responses=ONE,
              summary="Every attempt of a message, oldest first: time, status code or error, latency, response")
async def list_attempts(message_id: str, principal: Caller, platform: PlatformDep) -> list[AttemptView]:
    doc = await _message(platform, message_id, scope(principal))
    return [AttemptView.of(a) for a in await attempts_of(platform.db, doc)]


@messages.post("/messages/{message_id}/replay", status_code=status.HTTP_202_ACCEPTED, response_model=MessageView,
               responses=WRITE, summary="Send a delivered or failed message again (same webhook-id)")
async def replay_message(message_id: str, principal: Caller, svc: Service) -> MessageView:
    return MessageView.of(await svc.replay_message(message_id, partner=scope(principal)))


@messages.post("/endpoints/{endpoint_id}/replay", status_code=status.HTTP_202_ACCEPTED, response_model=ReplayView,
               responses=WRITE_BODY, summary="Send again every failed message of an endpoint created since a date")
async def replay_failed(endpoint_id: str, body: ReplayIn, principal: Caller, svc: Service) -> ReplayView:
    return ReplayView(replayed=await svc.replay_failed(endpoint_id, partner=scope(principal), since=body.since))


@messages.post("/endpoints/{endpoint_id}/test", status_code=status.HTTP_202_ACCEPTED, response_model=MessageView,
               responses=WRITE, summary="Send a test event (org.cress.webhooks.endpoint-tested.v1) to an endpoint")
async def send_test(endpoint_id: str, principal: Caller, svc: Service) -> MessageView:
    return MessageView.of(await svc.send_test(endpoint_id, partner=scope(principal)))


ROUTERS = (types, endpoints, secrets, messages)
