"""Request and response bodies of the webhooks API."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.webhooks import DisabledReason
from runtime.api import Body, partial
from services.webhooks.domain.delivery import MessageStatus, Outcome
from services.webhooks.domain.endpoints import MAX_HEADERS, MAX_RATE, Endpoint

_URL = dict(min_length=1, max_length=2048, description="Where messages are POSTed: an https URL on a public address.")
_TYPES = dict(min_length=1, max_length=50, description="Event types or patterns (`*` matches any characters), each "
                                                       "matching at least one type of `GET /event-types`.")
_HEADERS = dict(max_length=MAX_HEADERS, description="Headers sent with every message (e.g. your own token). Not "
                                                    "hop-by-hop headers, not `webhook-*`, `host`, `content-type`, "
                                                    "`user-agent`.")
_RATE = dict(ge=1, le=MAX_RATE, description="At most this many messages per second (null: no limit).")
_EXAMPLE = {"url": "https://hooks.partner.example/cress", "event_types": ["org.cress.membership.*",
                                                                         "org.cress.events.event-published.v1"],
            "description": "Adhésions et événements publiés", "headers": {"X-Partner-Token": "abc123"},
            "rate_limit_per_second": 10}


class EndpointIn(Body):
    url: str = Field(**_URL)
    event_types: list[str] = Field(**_TYPES)
    description: str | None = Field(None, max_length=500)
    headers: dict[str, str] = Field(default_factory=dict, **_HEADERS)
    rate_limit_per_second: int | None = Field(None, **_RATE)
    enabled: bool = Field(True, description="Receive messages from now on (false: registered but disabled).")
    secret: str | None = Field(None, max_length=200, description="Your own signing secret (`whsec_` + base64 of 24 "
                                                                 "to 64 bytes); default: one is generated.")
    partner_id: str | None = Field(None, max_length=100, description="Staff only: the partner the endpoint is for. "
                                                                     "A partner's endpoints are its own (its token's "
                                                                     "`sub`).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})


EndpointPatch = partial(EndpointIn, name="EndpointPatch", exclude=("enabled", "secret", "partner_id"),
                        examples=[{"event_types": ["org.cress.membership.*"], "rate_limit_per_second": 5}])


class EndpointView(BaseModel):
    """An endpoint, without its secrets (``GET /endpoints/{id}/secret``, for its partner)."""

    id: str = Field(examples=["ep-3b9e1c2d4f5a"])
    version: int = Field(examples=[1])
    partner_id: str = Field(examples=["partner-region-idf"])
    url: str
    event_types: list[str]
    description: str | None
    headers: dict[str, str]
    rate_limit_per_second: int | None
    enabled: bool
    disabled_reason: DisabledReason | None = Field(description="by_partner, by_staff, gone (410) or failing.")
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointView:
        return cls.model_validate(endpoint.model_dump(exclude={"secrets", "deleted_at"}))


class SecretKey(BaseModel):
    key: str = Field(description="`whsec_…`: verify with any Standard Webhooks library.",
                     examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    created_at: datetime
    expires_at: datetime | None = Field(description="For a previous secret: until when it also signs.")


class SecretView(BaseModel):
    """The secrets signing the endpoint's messages, newest first."""

    key: str = Field(description="The current secret.", examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    keys: list[SecretKey] = Field(description="Every secret in force (the previous one during its grace period).")


class RotateIn(Body):
    secret: str | None = Field(None, max_length=200, description="Your new secret (`whsec_…`); default: generated.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class ReplayIn(Body):
    since: AwareDatetime = Field(description="Replay the failed messages created since this instant (with its "
                                             "time zone).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"since": "2024-05-01T00:00:00Z"}]})


class ReplayView(BaseModel):
    replayed: int = Field(description="How many messages were queued again.", examples=[12])


class MessageView(BaseModel):
    id: str = Field(examples=["msg-0f1e2d3c4b5a6978"])
    endpoint_id: str
    webhook_id: str = Field(description="The `webhook-id` header: the event's CloudEvents id (idempotency key).")
    event_type: str
    status: MessageStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="With pending: when the next attempt is due.")
    created_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    last_outcome: Outcome | None
    last_status_code: int | None
    payload: dict[str, Any] = Field(description="The body sent: `{type, timestamp, data}`.")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> MessageView:
        pending = doc["status"] == MessageStatus.PENDING
        return cls(id=doc["_id"], endpoint_id=doc["endpoint_id"], webhook_id=doc["webhook_id"],
                   event_type=doc["event_type"], status=doc["status"], attempts=doc["attempts"],
                   next_attempt_at=doc["next_attempt_at"] if pending else None, created_at=doc["created_at"],
                   delivered_at=doc.get("delivered_at"), failed_at=doc.get("failed_at"),
                   last_outcome=doc.get("last_outcome"), last_status_code=doc.get("last_status_code"),
                   payload=json.loads(doc["body"]))


class AttemptView(BaseModel):
    id: str
    message_id: str
    attempt: int = Field(description="1 for the first attempt of the message.")
    at: datetime
    outcome: Outcome
    status_code: int | None = Field(description="The receiver's status code, when it answered.")
    error: str | None = Field(description="Timeout, connection refused, refused address, body too large…")
    latency_ms: float
    response_excerpt: str | None = Field(description="The start of the response body.")

    @classmethod
    def of(cls, doc: dict[str, Any]) -> AttemptView:
        return cls(id=doc["_id"], **{k: doc.get(k) for k in cls.model_fields if k != "id"})


class EventTypesView(BaseModel):
    event_types: list[str] = Field(examples=[["org.cress.membership.member-activated.v1"]])
