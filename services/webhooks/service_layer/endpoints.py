"""The webhooks service's commands: endpoints (partners' own), their secrets, replays and test
messages.

Each command is one MongoDB transaction (``within=`` joins another); the server clock dates every
step; versioned saves, ``If-Match`` honoured. ``partner`` scopes a command to one partner's
endpoints: another partner's id is a 404, exactly as an unknown id (``None``: staff, every
partner). Messages created here (test, notices) wake the delivery worker at once.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from contracts.topics import catalogue
from contracts.webhooks import SERVICE, DisabledReason, EndpointDisabled, EndpointTested, MessagesReplayed
from runtime.aggregate import check_version, new_id
from runtime.errors import Conflict, InvalidInput, NotFound
from contracts.privacy import AGGREGATE as ERASURE
from runtime.mongo import Database, Transaction, utcnow
from services.webhooks.adapters.repository import ENDPOINTS, MESSAGES, new_message
from services.webhooks.adapters.resolver import Refused, Resolver, Unresolvable, checked_addresses, resolve
from services.webhooks.domain.addresses import AllowList, endpoint_url
from services.webhooks.domain.delivery import MessageStatus
from services.webhooks.domain.endpoints import Endpoint, EndpointRules
from services.webhooks.settings import WebhooksSettings


def deliverable_types() -> list[str]:
    """The event types partners may subscribe to: every topic of the catalogue but this service's own
    and the personal-data erasure requests' (the platform's own GDPR bookkeeping: a partner has no
    use for whose data were erased, even as a keyed hash)."""
    return sorted({t for topic in catalogue() if topic.service != SERVICE and topic.aggregate_type != ERASURE
                   for t in topic.event_types})


def rules_of(settings: WebhooksSettings) -> EndpointRules:
    return EndpointRules(event_types=frozenset(deliverable_types()), allow=AllowList.parse(settings.allow_hosts),
                         secret_grace=timedelta(seconds=settings.secret_grace_seconds))


class EndpointsService:
    """Endpoints, secrets, replays and tests, bound to the database, the settings and the clock."""

    def __init__(self, db: Database, settings: WebhooksSettings, *, clock: Callable[[], datetime] = utcnow,
                 resolver: Resolver = resolve, wake: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.settings = settings
        self.rules = rules_of(settings)
        self.clock = clock
        self.resolver = resolver
        self.wake = wake

    # -- helpers --------------------------------------------------------------------------------------
    async def _endpoint(self, tx: Transaction | None, endpoint_id: str, partner: str | None) -> Endpoint:
        """The endpoint, if ``partner`` (when given) owns it and it is not deleted; else 404."""
        endpoint = await (tx.find(ENDPOINTS, Endpoint, endpoint_id) if tx is not None
                          else _find(self.db, endpoint_id))
        if endpoint is None or endpoint.deleted_at is not None or (partner is not None
                                                                   and endpoint.partner_id != partner):
            raise NotFound(f"endpoint {endpoint_id!r} not found", resource="Endpoint", id=endpoint_id)
        return endpoint

    async def get(self, endpoint_id: str, partner: str | None) -> Endpoint:
        return await self._endpoint(None, endpoint_id, partner)

    async def check_url(self, url: object) -> None:
        """The URL's host resolves, and only to addresses webhooks may go to (422 naming ``url``)."""
        target = endpoint_url(url, self.rules.allow)
        try:
            await checked_addresses(target.host, target.port, self.rules.allow, self.resolver)
        except Refused as exc:
            raise InvalidInput("url", f"url's host {target.host} resolves to {exc}: refused") from None
        except Unresolvable as exc:
            raise InvalidInput("url", f"url's host: {exc}") from None

    async def _step(self, endpoint_id: str, partner: str | None, expected_version: int | None,
                    step: Callable[[Endpoint, datetime], Any], within: Transaction | None,
                    conflict_retries: int = 0) -> Endpoint:
        async def work(tx: Transaction) -> Endpoint:
            endpoint = await self._endpoint(tx, endpoint_id, partner)
            check_version(endpoint, expected_version)
            step(endpoint, self.clock())
            await tx.save(ENDPOINTS, endpoint)
            return endpoint
        return await self.db.transaction(work, within=within, conflict_retries=conflict_retries)

    # -- endpoints --------------------------------------------------------------------------------------
    async def create(self, *, partner_id: str, url: object, within: Transaction | None = None,
                     **fields: Any) -> Endpoint:
        # every rule of the input first (422 naming the field), then the host's addresses (DNS)
        Endpoint.create("ep-check", partner_id=partner_id, url=url, rules=self.rules, at=self.clock(), **fields)
        await self.check_url(url)

        async def work(tx: Transaction) -> Endpoint:
            count = await tx.db[ENDPOINTS].count_documents({"partner_id": partner_id, "deleted_at": None},
                                                            session=tx.session)
            if count >= self.settings.max_endpoints_per_partner:
                raise Conflict(f"partner {partner_id} has {count} endpoints: at most "
                               f"{self.settings.max_endpoints_per_partner}; delete one first",
                               current_state="at_limit")
            endpoint = Endpoint.create(new_id("ep"), partner_id=partner_id, url=url, rules=self.rules,
                                       at=self.clock(), **fields)
            await tx.save(ENDPOINTS, endpoint)
            return endpoint
        return await self.db.transaction(work, within=within)

    async def update(self, endpoint_id: str, *, partner: str | None, expected_version: int | None = None,
                     within: Transaction | None = None, **changes: Any) -> Endpoint:
        if "url" in changes:
            (await self.get(endpoint_id, partner)).update(at=self.clock(), rules=self.rules, **changes)  # rules first
            await self.check_url(changes["url"])
        return await self._step(endpoint_id, partner, expected_version,
                                lambda e, at: e.update(at=at, rules=self.rules, **changes), within)

    async def disable(self, endpoint_id: str, *, partner: str | None, reason: DisabledReason,
                      expected_version: int | None = None, within: Transaction | None = None) -> Endpoint:
        """Disabled by its partner or by staff (``reason``)."""
        return await self._step(endpoint_id, partner, expected_version,
                                lambda e, at: e.disable(reason=reason, at=at), within)

    async def enable(self, endpoint_id: str, *, partner: str | None, expected_version: int | None = None,
                     within: Transaction | None = None) -> Endpoint:
        endpoint = await self.get(endpoint_id, partner)
        await self.check_url(endpoint.url)  # the host may have moved inward since
        result = await self._step(endpoint_id, partner, expected_version, lambda e, at: e.enable(at=at), within)
        self.wake()
        return result

    async def delete(self, endpoint_id: str, *, partner: str | None, expected_version: int | None = None,
                     within: Transaction | None = None) -> Endpoint:
        return await self._step(endpoint_id, partner, expected_version, lambda e, at: e.delete(at=at), within)

    async def rotate_secret(self, endpoint_id: str, *, partner: str | None, secret: object = None,
                            expected_version: int | None = None, within: Transaction | None = None) -> Endpoint:
        return await self._step(endpoint_id, partner, expected_version,
                                lambda e, at: e.rotate_secret(at=at, grace=self.rules.secret_grace, secret=secret),
                                within)

    async def disable_by_platform(self, endpoint_id: str, *, reason: DisabledReason,
                                  failing_since: datetime | None = None) -> bool:
        """The delivery worker disables an endpoint (``gone``, ``failing``); its partner's other enabled
        endpoints get the ``endpoint-disabled`` event as a webhook. False if it was disabled already."""
        async def work(tx: Transaction) -> bool:
            endpoint = await tx.find(ENDPOINTS, Endpoint, endpoint_id)
            if endpoint is None or not endpoint.enabled or endpoint.deleted_at is not None:
                return False
            at = self.clock()
            endpoint.disable(reason=reason, at=at, failing_since=failing_since)
            notice = next(e for e in endpoint.pending_events if isinstance(e, EndpointDisabled))
            await tx.save(ENDPOINTS, endpoint)
            others = tx.db[ENDPOINTS].find({"partner_id": endpoint.partner_id, "enabled": True, "deleted_at": None,
                                            "_id": {"$ne": endpoint_id}}, {"_id": 1}, session=tx.session)
            async for other in others:
                message_id = f"msg-{uuid.uuid4().hex[:16]}"
                await tx.db[MESSAGES].insert_one(new_message(
                    endpoint_id=other["_id"], partner_id=endpoint.partner_id, webhook_id=message_id,
                    message_id=message_id, event_type=notice.event_type, data=notice.model_dump(mode="json"),
                    event_at=at, at=at), session=tx.session)
            return True
        done = await self.db.transaction(work, conflict_retries=5)
        if done:
            self.wake()
        return done

    # -- messages ----------------------------------------------------------------------------------------
    async def send_test(self, endpoint_id: str, *, partner: str | None) -> dict[str, Any]:
        """Queue an ``endpoint-tested`` message for the endpoint (enabled ones only)."""
        async def work(tx: Transaction) -> dict[str, Any]:
            endpoint = await self._endpoint(tx, endpoint_id, partner)
            if not endpoint.enabled:
                raise Conflict(f"endpoint {endpoint_id} is disabled: enable it to test it", current_state="disabled",
                               expected="enabled")
            at = self.clock()
            message_id = f"msg-{uuid.uuid4().hex[:16]}"
            event = EndpointTested(endpoint_id=endpoint.id, partner_id=endpoint.partner_id, message_id=message_id,
                                   tested_at=at)
            doc = new_message(endpoint_id=endpoint.id, partner_id=endpoint.partner_id, webhook_id=message_id,
                              message_id=message_id, event_type=event.event_type, data=event.model_dump(mode="json"),
                              event_at=at, at=at)
            await tx.db[MESSAGES].insert_one(doc, session=tx.session)
            tx.events.append(event)
            return doc
        doc = await self.db.transaction(work)
        self.wake()
        return doc

    async def replay_message(self, message_id: str, *, partner: str | None) -> dict[str, Any]:
        """Queue a delivered or failed message again (its ``webhook-id`` stays: receivers deduplicate)."""
        async def work(tx: Transaction) -> dict[str, Any]:
            query: dict[str, Any] = {"_id": message_id}
            if partner is not None:
                query["partner_id"] = partner
            doc = await tx.db[MESSAGES].find_one(query, session=tx.session)
            if doc is None:
                raise NotFound(f"message {message_id!r} not found", resource="Message", id=message_id)
            endpoint = await self._endpoint(tx, doc["endpoint_id"], partner)
            if doc["status"] == MessageStatus.PENDING:
                raise Conflict(f"message {message_id} is pending already", current_state="pending",
                               expected="delivered or failed")
            self._replayable(endpoint)
            at = self.clock()
            await tx.db[MESSAGES].update_one({"_id": message_id, "status": doc["status"]}, _requeue(at),
                                             session=tx.session)
            tx.events.append(MessagesReplayed(endpoint_id=endpoint.id, partner_id=endpoint.partner_id,
                                              message_id=message_id, since=None, count=1, replayed_at=at))
            return await tx.db[MESSAGES].find_one({"_id": message_id}, session=tx.session)
        doc = await self.db.transaction(work)
        self.wake()
        return doc

    async def replay_failed(self, endpoint_id: str, *, partner: str | None, since: datetime) -> int:
        """Queue again every failed message of the endpoint created since ``since``; return how many."""
        if since.tzinfo is None:
            raise InvalidInput("since", "since must carry its time zone (e.g. 2024-05-01T00:00:00Z)")

        async def work(tx: Transaction) -> int:
            endpoint = await self._endpoint(tx, endpoint_id, partner)
            self._replayable(endpoint)
            at = self.clock()
            if since > at:
                raise InvalidInput("since", "since is in the future")
            result = await tx.db[MESSAGES].update_many(
                {"endpoint_id": endpoint_id, "status": MessageStatus.FAILED.value, "created_at": {"$gte": since}},
                _requeue(at), session=tx.session)
            tx.events.append(MessagesReplayed(endpoint_id=endpoint.id, partner_id=endpoint.partner_id,
                                              message_id=None, since=since, count=result.modified_count,
                                              replayed_at=at))
            return result.modified_count
        count = await self.db.transaction(work)
        self.wake()
        return count

    @staticmethod
    def _replayable(endpoint: Endpoint) -> None:
        if not endpoint.enabled:
            raise Conflict(f"endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}): enable it first",
                           current_state="disabled", expected="enabled")


def _requeue(at: datetime) -> dict[str, Any]:
    return {"$set": {"status": MessageStatus.PENDING.value, "round_attempts": 0, "next_attempt_at": at,
                     "updated_at": at, "failed_at": None},
            "$inc": {"replays": 1}}


async def _find(db: Database, endpoint_id: str) -> Endpoint | None:
    from runtime.mongo import from_document

    doc = await db[ENDPOINTS].find_one({"_id": endpoint_id})
    return None if doc is None else from_document(Endpoint, db.loaded(ENDPOINTS, doc))  # secrets opened
