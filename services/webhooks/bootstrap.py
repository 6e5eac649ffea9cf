"""The webhooks service, declared once: everything that starts it reads this.

Partners' endpoints (self-service, with the ``partner`` role), the fan-out of the platform's
domain events into messages, and their delivery as Standard Webhooks: signed, retried, logged,
replayable (:mod:`services.webhooks.service_layer.delivery`). Settings: ``WEBHOOKS_*``
(:mod:`services.webhooks.settings`), read at start-up.
"""
from __future__ import annotations

from runtime.consumer import Consumer
from runtime.service import Job, ServiceDefinition
from services.webhooks.adapters.repository import ensure_indexes, stored_forms


def _commands(platform):
    from services.webhooks.service_layer import WebhooksCommands
    from services.webhooks.service_layer.delivery import Deliverer, wake
    from services.webhooks.service_layer.endpoints import EndpointsService
    from services.webhooks.settings import WebhooksSettings

    settings = WebhooksSettings()
    endpoints = EndpointsService(platform.db, settings, wake=lambda: wake(platform.db))
    deliverer = Deliverer(platform.db, settings, disable=endpoints.disable_by_platform)
    return WebhooksCommands(endpoints=endpoints, deliverer=deliverer, settings=settings)


async def _indexes(db) -> None:
    from services.webhooks.settings import WebhooksSettings

    await ensure_indexes(db, WebhooksSettings().retention_days)


def _routers():
    from services.webhooks.entrypoints.api import ROUTERS

    return ROUTERS


def _consumers() -> list[Consumer]:
    from services.webhooks.service_layer.fanout import fan_out_consumer

    return [fan_out_consumer()]  # every domain topic → one message per matching enabled endpoint


async def _deliver(platform) -> None:
    await platform.commands.deliverer.run(platform)  # runs until the process stops (a lease: one process delivers)


async def _gauges(platform) -> None:
    await platform.commands.deliverer.update_gauges()


async def _purge(platform) -> int:
    return await platform.commands.deliverer.purge()


DESCRIPTION = """
Partners' webhooks: the platform's events delivered to partners' HTTPS endpoints, **signed**
([Standard Webhooks](https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp`,
`webhook-signature`; secrets `whsec_…`), **retried** (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
10 h, with jitter; `Retry-After` honoured; `410 Gone` disables the endpoint; an endpoint failing for
5 days is disabled and its partner told), **logged** (every attempt, 30 days) and **replayable**.

Partners manage their own endpoints with a `partner` token: the partner id is the token's subject
(`sub`); a partner sees only its own endpoints, messages, attempts and secrets (another's id is a
404). Staff (`staff:partnerships`) and administrators see and manage every partner's, but only the
partner reads its secrets. The body of a webhook is `{type, timestamp, data}`: `data` is the
event as its contract defines it (`/asyncapi`; ids and facts, never personal data), `webhook-id`
the event's CloudEvents id (the receiver's idempotency key: a message may come more than once).
Endpoints must be `https` on public addresses (private, loopback and link-local addresses are
refused, at registration and at each delivery). Errors are RFC 9457 problem details.

A ready-made receiver for partners (FastAPI: verifies the raw body with `standardwebhooks`, answers
204 at once, idempotent by `webhook-id`, 400 on a bad signature), with its guide in French and
English (headers, payload, retries, idempotency, secret rotation): `examples/webhook_receiver/` in
the platform's repository (README.md, app.py).
"""

SERVICE = ServiceDefinition(
    name="webhooks",
    port=8005,
    title="CRESS — partner webhooks",
    description=DESCRIPTION,
    contracts="contracts.webhooks",
    commands=_commands,
    routers=_routers,
    indexes=_indexes,  # also seals again the secrets in clear or under a key rotated out
    stored_forms=stored_forms,  # signing secrets encrypted at rest (SECRETS_KEY)
    consumers=_consumers,
    jobs=[Job("deliveries", 0.05, _deliver),
          Job("webhook-gauges", 15.0, _gauges),
          Job("webhook-retention", 3600.0, _purge)],
    openapi_tags=[
        {"name": "endpoints", "description": "A partner's endpoints: URL, event type filters (with `*`), "
                                             "description, custom headers, rate limit; enabled or not"},
        {"name": "secrets", "description": "The signing secret of an endpoint (its partner only) and its rotation "
                                           "(the previous secret keeps signing for a grace period)"},
        {"name": "messages", "description": "What was sent to an endpoint, every attempt, replays and test "
                                            "messages"},
        {"name": "event types", "description": "The event types partners may subscribe to"},
    ],
)
