"""Events of the webhooks service: partners' endpoints and the deliveries made to them.

One aggregate, one topic (:mod:`contracts.topics`):

- ``endpoint`` (key: ``endpoint_id``): a partner's HTTPS endpoint receiving the platform's events
  as signed webhooks (Standard Webhooks). Created, updated, disabled (by its partner, by staff,
  because it answered ``410 Gone`` or because it failed for days), enabled again, deleted; its
  signing secret rotated; messages replayed; a test message sent; a message given up on.

Partners are known by their id (the ``sub`` of their access token): no name, no e-mail. **A secret
never enters an event**: ``endpoint-secret-rotated`` says when, and until when the previous
secret still signs. Event types filters are the partner's configuration, not personal data; the
URL is left out (it may carry a partner's own token in its path).

These events are the webhooks service's own (operations, a notifier, the observatory). They are
not fanned out to partners as webhooks, except two a partner's own endpoints receive directly:
``endpoint-disabled`` (sent to the partner's *other* enabled endpoints when one is disabled by
the platform) and ``endpoint-tested`` (the "send a test event" button).
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent
from contracts.topics import Topic

SERVICE = "webhooks"

TOPICS: tuple[Topic, ...] = (
    Topic("webhooks.endpoint", SERVICE, "endpoint",
          description="Partners' webhook endpoints: created, updated, disabled, enabled, deleted, secret rotated; "
                      "messages replayed, tested or given up on (ids only: no URL, no secret)."),
)


class DisabledReason(StrEnum):
    """Why an endpoint stopped receiving messages."""

    BY_PARTNER = "by_partner"
    """Its partner disabled it."""
    BY_STAFF = "by_staff"
    """Staff (or an administrator) disabled it."""
    GONE = "gone"
    """It answered ``410 Gone``."""
    FAILING = "failing"
    """Every attempt failed for longer than the platform allows (5 days by default)."""


def _endpoint_id() -> Any:
    return Field(description="Id of the endpoint.", examples=["ep-3b9e1c2d4f5a"])


def _partner_id() -> Any:
    return Field(description="The partner that owns the endpoint (its access token's subject).",
                 examples=["partner-region-idf"])


class EndpointCreated(DomainEvent, event_type="org.cress.webhooks.endpoint-created.v1",
                      aggregate_type="endpoint", aggregate_id_field="endpoint_id"):
    """A partner (or staff for it) registered an endpoint: it receives the events its filters match
    from now on."""

    endpoint_id: str = _endpoint_id()
    partner_id: str = _partner_id()
    event_types: list[str] = Field(description="Event type filters (`*` matches any characters).",
                                   examples=[["org.cress.membership.*", "org.cress.events.event-published.v1"]])
    enabled: bool = Field(description="Whether it receives messages from now on.", examples=[True])
    rate_limit_per_second: int | None = Field(description="Most messages sent per second (none: no limit).",
                                              examples=[10])
    created_at: AwareDatetime = Field(description="When it was registered (server time).",
                                      examples=["2024-05-02T09:30:00Z"])


class EndpointUpdated(DomainEvent, event_type="org.cress.webhooks.endpoint-updated.v1",
                      aggregate_type="endpoint", aggregate_id_field="endpoint_id"):
    """An endpoint's settings changed (URL, filters, description, headers or rate limit)."""

    endpoint_id: str = _endpoint_id()
    partner_id: str = _partner_id()
    changed: list[str] = Field(description="The settings that changed (names only, not their values).",
                               examples=[["url", "event_types"]])
    event_types: list[str] = Field(description="Event type filters after the change.",
                                   examples=[["org.cress.membership.*"]])
    updated_at: AwareDatetime = Field(description="When (server time).", examples=["2024-05-03T10:00:00Z"])


class EndpointDisabled(DomainEvent, event_type="org.cress.webhooks.endpoint-disabled.v1",
                       aggregate_type="endpoint", aggregate_id_field="endpoint_id"):
    """An endpoint stopped receiving messages. When the platform disabled it (``gone``, ``failing``) the
    partner's other enabled endpoints receive this event as a webhook."""

    endpoint_id: str = _endpoint_id()
    partner_id: str = _partner_id()
    reason: DisabledReason = Field(description="Why (code).", examples=["failing"])
    failing_since: AwareDatetime | None = Field(
        description="With `failing`: since when every attempt failed.", examples=["2024-05-01T08:00:00Z"])
    disabled_at: AwareDatetime = Field(description="When (server time).", examples=["2024-05-06T08:00:00Z"])


class EndpointEnabled(DomainEvent, event_type="org.cress.webhooks.endpoint-enabled.v1",
                      aggregate_type="endpoint", aggregate_id_field="endpoint_id"):
    """A disabled endpoint receives messages again (its pending messages are sent)."""

    endpoint_id: str = _endpoint_id()
    partner_id: str = _partner_id()
    enabled_at: AwareDatetime = Field(description="When (server time).", examples=["2024-05-07T09:00:00Z"])


class EndpointDeleted(DomainEvent, event_type="org.cress.webhooks.endpoint-deleted.v1",
                      aggregate_type="endpoint", aggregate_id_field="endpoint_id"):
    """An endpoint was deleted: nothing more is sent to it; its messages and attempts age out."""

    endpoint_id: str = _endpoint_id()
    partner_id: str = _partner_id()
    deleted_at: AwareDatetime = Field(description="When (server time).", examples=["2024-06-01T12:00:00Z"])


class EndpointSecretRotated(DomainEvent, event_type="org.cress.webhooks.endpoint-secret-rotated.v1",
                            aggregate_type="endpoint", aggregate_id_field="endpoint_id"):
    """An endpoint's signing secret was replaced; the previous one keeps signing (a second signature in
    ``webhook-signature``) until ``previous_valid_until``. The secrets themselves never travel."""

    endpoint_id: str = _endpoint_id()
    partner_id: str = _partner_id()
    rotated_at: AwareDatetime = Field(description="When (server time).", examples=["2024-05-10T14:00:00Z"])
    previous_valid_until: AwareDatetime = Field(description="Until when the previous secret also signs.",
                                                examples=["2024-05-11T14:00:00Z"])


class MessagesReplayed(DomainEvent, event_type="org.cress.webhooks.messages-replayed.v1",
                       aggregate_type="endpoint", aggregate_id_field="endpoint_id"):
    """Messages of an endpoint were queued for delivery again: one (``message_id``), or every failed one
    created since ``since``."""

    endpoint_id: str = _endpoint_id()
    partner_id: str = _partner_id()
    message_id: str | None = Field(description="The message replayed, for a replay of one.",
                                   examples=["msg-0f1e2d3c4b5a"])
    since: AwareDatetime | None = Field(description="For a replay of the failed ones: created since.",
                                        examples=["2024-05-01T00:00:00Z"])
    count: int = Field(ge=0, description="How many messages were queued again.", examples=[12])
    replayed_at: AwareDatetime = Field(description="When (server time).", examples=["2024-05-10T15:00:00Z"])


class EndpointTested(DomainEvent, event_type="org.cress.webhooks.endpoint-tested.v1",
                     aggregate_type="endpoint", aggregate_id_field="endpoint_id"):
    """A test message was queued for an endpoint (its partner's "send a test event"); the endpoint
    receives this event as a webhook."""

    endpoint_id: str = _endpoint_id()
    partner_id: str = _partner_id()
    message_id: str = Field(description="The test message.", examples=["msg-7a6b5c4d3e2f"])
    tested_at: AwareDatetime = Field(description="When (server time).", examples=["2024-05-02T09:31:00Z"])


class MessageFailed(DomainEvent, event_type="org.cress.webhooks.message-failed.v1",
                    aggregate_type="endpoint", aggregate_id_field="endpoint_id"):
    """Every attempt of a message failed: it is ``failed`` (it can be replayed)."""

    endpoint_id: str = _endpoint_id()
    partner_id: str = _partner_id()
    message_id: str = Field(description="The message given up on.", examples=["msg-0f1e2d3c4b5a"])
    message_type: str = Field(description="The message's event type.",
                              examples=["org.cress.membership.member-activated.v1"])
    attempts: int = Field(ge=1, description="How many attempts were made.", examples=[8])
    failed_at: AwareDatetime = Field(description="When the last attempt failed.", examples=["2024-05-03T02:00:00Z"])


#: The events a partner's endpoints receive from this service (the others are operational).
PARTNER_NOTICES: tuple[type[DomainEvent], ...] = (EndpointDisabled, EndpointTested)

__all__ = [
    "SERVICE", "TOPICS", "DisabledReason", "EndpointCreated", "EndpointUpdated", "EndpointDisabled",
    "EndpointEnabled", "EndpointDeleted", "EndpointSecretRotated", "MessagesReplayed", "EndpointTested",
    "MessageFailed", "PARTNER_NOTICES",
]
