"""The delivery worker: sends due messages to their endpoints, signed, and records every attempt.

One process delivers at a time: it holds a lease in MongoDB (``delivery_lease``, a
:class:`runtime.lease.Lease` as the outbox relay's), renewed every third of its length; another
process takes over once it lapses, at once when its holder stopped cleanly (released) or was a
process of this machine that no longer runs. The
worker runs as the service's ``deliveries`` job, until the process stops.

Each round (when woken by the fan-out or a command, when a request ends, or every
``poll_interval_seconds``):

1. the enabled endpoints (read again at most every ``poll_interval_seconds``, and at once after
   the fan-out or a command woke the worker), taken in turn from a rotating start (fairness);
2. per endpoint, as many messages as it has free slots: its concurrency limit
   (``per_endpoint_concurrency``) less its requests in flight, within the global pool
   (``max_concurrency`` requests) and its rate limit (a token bucket) — so a slow or hanging
   endpoint holds at most its own slots, never the others'. The messages come from the endpoint's
   queue in memory, filled by one query for up to ``fetch_batch`` due messages (``status``
   pending, ``next_attempt_at`` past, oldest due first; a backlog is read window by window from
   where the last query stopped, see :meth:`Deliverer._fetch`) when it runs short; an endpoint found
   without due messages is not asked again before ``poll_interval_seconds`` unless the worker is
   woken;
3. each message is sent by a task of its own, on the endpoint's own HTTP client (its connection
   pool is its own too), to an address resolved and checked again (SSRF) and pinned for the
   request (the name is not resolved a second time by the HTTP client: no DNS rebinding between
   the check and the connection; TLS still verifies the name).

An attempt: POST of the stored body with ``webhook-id`` / ``webhook-timestamp`` /
``webhook-signature`` (every secret in force), redirects not followed, the whole exchange within
``request_timeout_seconds``, the response read up to ``response_max_bytes`` (beyond: cut there, the
attempt says so; a 2xx is delivered all the same, another status fails as ``too_large``) of which
``response_excerpt_bytes`` are kept. Its outcome (:mod:`..domain.delivery`) decides:
delivered; failed with the next attempt after the schedule's delay (jitter, Retry-After); failed
for good after the last (``message-failed``); ``410`` disables the endpoint. An endpoint whose
every attempt failed for ``disable_after_failing_seconds`` is disabled (``failing``); the
partner's other endpoints are told.

Recording: once the answer is read, the request's slot is free, and the attempt joins the next
batch of records: the attempts and the messages' new states of up to ``record_batch_size``
attempts are written in one transaction (with their ``message-failed`` events), at most
``record_linger_seconds`` after the first of them (one batch is written at a time; the next one
fills meanwhile). The batch's attempts go into one ``attempt_batches`` document, its delivered
messages are marked by one ``update_many`` (per status code), each other message by an update of its
own (:class:`Recorder`; why: :mod:`..adapters.repository`). A message stays out of the queries
until its record is committed, so it is never sent twice because of the batching; and no new
request starts while twice ``record_batch_size`` answers wait for their record (what a crash may
send again stays bounded).

At least once: a message is marked delivered after the receiver's 2xx; a crash in between sends it
again (same ``webhook-id``).
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import PyMongoError

from contracts.webhooks import DisabledReason, MessageFailed
from runtime import metrics
from runtime.lease import Lease
from runtime.errors import InvalidInput
from runtime.mongo import Database, Transaction, from_document, utcnow
from services.webhooks.adapters.repository import ATTEMPTS, ENDPOINTS, HEALTH, LEASE, MESSAGES, due_query
from services.webhooks.adapters.resolver import Refused, Resolver, Unresolvable, checked_addresses, resolve
from services.webhooks.domain.addresses import AllowList, endpoint_url, literal
from services.webhooks.domain.delivery import MessageStatus, Outcome, TokenBucket, answer_outcome, outcome_of, \
    parse_retry_after, retry_delay
from services.webhooks.domain.endpoints import Endpoint
from services.webhooks.domain.signing import webhook_headers
from services.webhooks.settings import WebhooksSettings

log = logging.getLogger(__name__)

USER_AGENT = "CRESS-Webhooks/1.0 (+https://www.standardwebhooks.com)"
FIRST_WINDOW_SECONDS, MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS = 5.0, 0.01, 3600.0  # of next_attempt_at, per fetch
LATE_SECONDS = 2.0  # each window starts this much before the last message fetched
GAUGE_COST_RATIO = 20.0  # the backlog counts take at most 1/20 of the time
_WAKERS: weakref.WeakKeyDictionary[Database, asyncio.Event] = weakref.WeakKeyDictionary()
_NEWS: weakref.WeakKeyDictionary[Database, int] = weakref.WeakKeyDictionary()  # wake() calls, per database


def wake(db: Database) -> None:
    """Wake the delivery worker of this process (new messages are there, or an endpoint changed)."""
    _NEWS[db] = _NEWS.get(db, 0) + 1
    event = _WAKERS.get(db)
    if event is not None:
        event.set()


def _waker(db: Database) -> asyncio.Event:
    return _WAKERS.setdefault(db, asyncio.Event())


@dataclass
class _Record:
    """One attempt to write: its entry in the attempts log, the message's change (``update``: the fields
    to set, for an attempt that did not deliver; None: delivered), its event if the message failed."""

    attempt: dict[str, Any]
    message_id: str
    attempts_before: int  # the message's ``attempts`` when it was sent (the write's guard)
    update: dict[str, Any] | None
    event: MessageFailed | None
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


BATCH_DOCUMENT_BYTES = 4 * 1024 * 1024  # an attempt batch document stays well under MongoDB's 16 MB


class Recorder:
    """Writes attempts in batches: one transaction for up to ``size`` of them, ``linger`` seconds after the
    first at most; one batch at a time (the next one fills while one is written).

    A batch is one ``attempt_batches`` document (or a few, for large response excerpts) holding its
    attempts; the messages delivered are marked by one ``update_many`` per (attempts before, status
    code) — usually one or two for the whole batch; the others (a retry scheduled, failed for good) by
    one update each. Every message's ``log`` gets the id of the batch document holding its attempt."""

    def __init__(self, db: Database, *, size: int, linger: float, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.size = size
        self.linger = linger
        self.clock = clock
        self.waiting: list[_Record] = []
        self.full = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.batches = 0

    async def write(self, record: _Record) -> None:
        """Return once the record is committed (raises what the write raised)."""
        self.waiting.append(record)
        if len(self.waiting) >= self.size:
            self.full.set()
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._flush(), name="webhook-records")
        await asyncio.shield(record.done)

    async def _flush(self) -> None:
        while self.waiting:
            if len(self.waiting) < self.size:
                try:
                    await asyncio.wait_for(self.full.wait(), self.linger)
                except asyncio.TimeoutError:
                    pass
            self.full.clear()
            batch, self.waiting = self.waiting[: self.size], self.waiting[self.size:]
            try:
                await self._commit(batch)
            except Exception as exc:  # noqa: BLE001 — each record alone, so that one bad record fails alone
                if len(batch) == 1:
                    _settle(batch[0], exc)
                    continue
                log.warning("webhook attempts: batch of %d not written (%s); writing them one by one", len(batch), exc)
                for record in batch:
                    try:
                        await self._commit([record])
                    except Exception as one:  # noqa: BLE001
                        _settle(record, one)
            self.batches += 1

    async def _commit(self, batch: list[_Record]) -> None:
        chunks = _chunks(batch)
        pending = MessageStatus.PENDING.value

        async def work(tx: Transaction) -> None:
            now = self.clock()
            for batch_id, records in chunks:
                await tx.db[ATTEMPTS].insert_one({"_id": batch_id, "at": min(r.attempt["at"] for r in records),
                                                  "attempts": [r.attempt for r in records]}, session=tx.session)
                delivered: dict[tuple[int, int | None], list[str]] = {}
                others = []
                for r in records:
                    if r.update is None:
                        delivered.setdefault((r.attempts_before, r.attempt["status_code"]), []).append(r.message_id)
                    else:
                        others.append(UpdateOne({"_id": r.message_id, "status": pending, "attempts": r.attempts_before},
                                                {"$set": r.update, "$push": {"log": batch_id}}))
                for (before, status_code), ids in delivered.items():
                    await tx.db[MESSAGES].update_many(
                        {"_id": {"$in": ids}, "status": pending, "attempts": before},
                        {"$set": {"status": MessageStatus.DELIVERED.value, "delivered_at": now, "updated_at": now,
                                  "last_outcome": Outcome.DELIVERED.value, "last_status_code": status_code},
                         "$inc": {"attempts": 1, "round_attempts": 1}, "$push": {"log": batch_id}},
                        session=tx.session)
                if others:
                    await tx.db[MESSAGES].bulk_write(others, ordered=False, session=tx.session)
            tx.events.extend(r.event for r in batch if r.event is not None)
        await self.db.transaction(work)
        for record in batch:
            _settle(record, None)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        for record in self.waiting:
            _settle(record, asyncio.CancelledError())
        self.waiting.clear()


def _chunks(batch: list[_Record]) -> list[tuple[str, list[_Record]]]:
    """The batch's records by attempt batch document (one, unless their excerpts and errors are large)."""
    chunks: list[tuple[str, list[_Record]]] = []
    size = BATCH_DOCUMENT_BYTES
    for record in batch:
        weight = 300 + 4 * (len(record.attempt.get("response_excerpt") or "") + len(record.attempt.get("error") or ""))
        if size + weight > BATCH_DOCUMENT_BYTES:
            chunks.append((f"atb-{uuid.uuid4().hex[:16]}", []))
            size = 0
        chunks[-1][1].append(record)
        size += weight
    return chunks


def _settle(record: _Record, error: BaseException | None) -> None:
    if record.done.done():
        return
    if error is None:
        record.done.set_result(None)
    else:
        record.done.set_exception(error)
        record.done.exception()  # retrieved: no "never retrieved" warning if its task is gone


class Deliverer:
    """The delivery worker of one process (see the module docstring)."""

    def __init__(self, db: Database, settings: WebhooksSettings, *, disable: Callable[..., Any],
                 clock: Callable[[], datetime] = utcnow, resolver: Resolver = resolve,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.db = db
        self.settings = settings
        self.disable = disable  # EndpointsService.disable_by_platform
        self.clock = clock
        self.resolver = resolver
        self.transport = transport
        self.allow = AllowList.parse(settings.allow_hosts)
        self.rng = random.Random()
        self.service = db.settings.service_name
        self.lease = Lease(db[LEASE], "deliveries", seconds=settings.lease_seconds, previous_field="until")
        self.owner = self.lease.owner
        self.in_flight: dict[str, set[str]] = {}  # endpoint id -> message ids whose request is in flight
        self.recording: dict[str, set[str]] = {}  # endpoint id -> message ids whose attempt is being written
        self.queues: dict[str, deque[dict[str, Any]]] = {}  # endpoint id -> due messages fetched, not started
        self.drained: dict[str, float] = {}  # endpoint id -> when (monotonic) a fetch found no more due messages
        self.horizons: dict[str, tuple[datetime, float]] = {}  # endpoint id -> (its next fetch from, window seconds)
        self.buckets: dict[str, TokenBucket] = {}
        self.clients: dict[tuple[str, str], httpx.AsyncClient] = {}
        self.failing_since: dict[str, datetime | None] = {}
        self.tasks: set[asyncio.Task] = set()
        self.requests = 0  # requests in flight, all endpoints
        self.unrecorded = 0  # attempts answered, not yet written
        self.endpoints: dict[str, Endpoint] = {}
        self._endpoints_at = float("-inf")
        self._news = -1
        self._turn = 0
        self._gauged: set[str] = set()
        self._gauges_not_before = float("-inf")
        self._recorder: Recorder | None = None

    @property
    def recorder(self) -> Recorder:
        if self._recorder is None:
            self._recorder = Recorder(self.db, size=self.settings.record_batch_size,
                                      linger=self.settings.record_linger_seconds, clock=self.clock)
        return self._recorder

    # -- the loop ----------------------------------------------------------------------------------------
    async def run(self, platform: Any = None) -> None:
        """Deliver until cancelled (the service's ``deliveries`` job)."""
        woken = _waker(self.db)
        try:
            while True:
                woken.clear()
                try:
                    if await self.hold_lease():
                        await self.round()
                    else:
                        self._forget_queues()
                except (PyMongoError, OSError) as exc:
                    log.warning("webhook deliveries: %s; retrying", exc)
                    self._forget_queues()
                    await asyncio.sleep(1.0)
                try:
                    await asyncio.wait_for(woken.wait(), self.settings.poll_interval_seconds)
                except asyncio.TimeoutError:
                    pass
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            if self._recorder is not None:
                await self._recorder.close()
            for client in self.clients.values():
                await client.aclose()
            self.clients.clear()
            if self.lease.held:  # the process stops: another one delivers at once
                await self.lease.release()

    async def hold_lease(self) -> bool:
        held = await self.lease.hold()
        metrics.WEBHOOK_LEASE_HELD.labels(self.service).set(1 if held else 0)
        return held

    def _forget_queues(self) -> None:
        """Messages fetched but not started are fetched again when needed (after a lost lease, an error)."""
        self.queues.clear()
        self.drained.clear()
        self.horizons.clear()
        self._endpoints_at = float("-inf")

    async def _enabled_endpoints(self, monotonic: float) -> dict[str, Endpoint]:
        news = _NEWS.get(self.db, 0)
        if news != self._news or monotonic - self._endpoints_at >= self.settings.poll_interval_seconds:
            if news != self._news:
                self.drained.clear()  # new messages may be there for any endpoint
            self._news = news
            self.endpoints = {d["_id"]: from_document(Endpoint, self.db.loaded(ENDPOINTS, d)) for d in
                              await self.db[ENDPOINTS].find({"enabled": True, "deleted_at": None}).to_list()}
            self._endpoints_at = monotonic
            for gone in [e for e in self.queues if e not in self.endpoints]:
                del self.queues[gone]
            await self._forget_gone(self.endpoints)
        return self.endpoints

    async def round(self) -> int:
        """Start the deliveries that are due and have room; return how many started."""
        monotonic = time.monotonic()
        endpoints = await self._enabled_endpoints(monotonic)
        if not endpoints or self.unrecorded >= 2 * self.settings.record_batch_size:
            return 0  # none, or the records lag behind: no more answers to lose in a crash until they are written
        order = sorted(endpoints)
        start = self._turn % len(order)
        self._turn += 1
        started = 0
        now = self.clock()
        for endpoint_id in order[start:] + order[:start]:
            pool_free = self.settings.max_concurrency - self.requests
            if pool_free <= 0:
                break
            endpoint = endpoints[endpoint_id]
            busy = self.in_flight.setdefault(endpoint_id, set())
            room = min(self.settings.per_endpoint_concurrency - len(busy), pool_free)
            bucket = self._bucket(endpoint, monotonic)
            if bucket is not None:
                room = min(room, bucket.available(monotonic))
            if room <= 0:
                continue
            queue = self.queues.setdefault(endpoint_id, deque())
            if len(queue) < room and monotonic - self.drained.get(endpoint_id, float("-inf")) \
                    >= self.settings.poll_interval_seconds:
                await self._fetch(endpoint_id, queue, now, monotonic)
            while room > 0 and queue:
                if bucket is not None and not bucket.take(monotonic):
                    break
                doc = queue.popleft()
                busy.add(doc["_id"])
                self.requests += 1
                task = asyncio.create_task(self._deliver(endpoint, doc), name=f"webhook-{doc['_id']}")
                self.tasks.add(task)
                task.add_done_callback(self._done(endpoint_id, doc["_id"]))
                room -= 1
                started += 1
        return started

    async def _fetch(self, endpoint_id: str, queue: deque[dict[str, Any]], now: datetime, monotonic: float) -> None:
        """Add up to ``fetch_batch`` due messages of the endpoint to its queue (oldest due first), leaving
        out those already queued, in flight or being recorded (left out here rather than by the query:
        a long ``$nin`` costs the database more than the few documents read in excess).

        SecantusDB reads every due message in the query's bounds before its ``limit``: while an endpoint
        has a backlog, each fetch reads a window of ``next_attempt_at`` going on from the last one
        (keyset; the window narrows when it held more than a fetch takes, widens when it held fewer),
        back ``LATE_SECONDS`` (messages committed a little late with an earlier ``next_attempt_at``);
        the endpoint's whole due set is read again once it is drained (a window reaching the present
        with room to spare)."""
        known = {d["_id"] for d in queue} | self.in_flight.get(endpoint_id, set()) \
            | self.recording.get(endpoint_id, set())
        state = self.horizons.get(endpoint_id)
        bounds: dict[str, Any] = {"$lte": now}
        upper, window = now, FIRST_WINDOW_SECONDS
        if state is not None:
            horizon, window = state
            upper = min(now, horizon + timedelta(seconds=window))
            bounds = {"$gte": horizon - timedelta(seconds=LATE_SECONDS), "$lte": upper}
        limit = self.settings.fetch_batch + len(known)
        docs = await self.db[MESSAGES].find(due_query(endpoint_id, bounds)) \
            .sort([("next_attempt_at", ASCENDING)]).limit(limit).to_list()
        queue.extend(d for d in docs if d["_id"] not in known)
        if len(docs) >= limit:  # more in this window: go on from the last one, with a narrower window
            self.drained.pop(endpoint_id, None)
            self.horizons[endpoint_id] = (docs[-1]["next_attempt_at"], max(window / 2, MIN_WINDOW_SECONDS))
        elif upper < now:  # the window ends before the present: the next one from its end, wider
            self.drained.pop(endpoint_id, None)
            self.horizons[endpoint_id] = (upper, min(window * 2, MAX_WINDOW_SECONDS))
        else:
            self.drained[endpoint_id] = monotonic
            self.horizons.pop(endpoint_id, None)

    def _done(self, endpoint_id: str, message_id: str) -> Callable[[asyncio.Task], None]:
        def callback(task: asyncio.Task) -> None:
            self.tasks.discard(task)
            if message_id in self.in_flight.get(endpoint_id, ()):  # ended before its answer (cancelled, a bug)
                self.in_flight[endpoint_id].discard(message_id)
                self.requests -= 1
            recording = self.recording.get(endpoint_id, set())
            if message_id in recording:
                recording.discard(message_id)
                self.unrecorded -= 1
            if not task.cancelled() and task.exception() is not None:
                log.error("webhook delivery of %s failed: %r", message_id, task.exception(),
                          exc_info=task.exception())
            _waker(self.db).set()
        return callback

    def _answered(self, endpoint_id: str, message_id: str) -> None:
        """The request is over: its slot is free; the message stays out of the queries until recorded."""
        busy = self.in_flight.get(endpoint_id, set())
        if message_id in busy:
            busy.discard(message_id)
            self.requests -= 1
        self.recording.setdefault(endpoint_id, set()).add(message_id)
        self.unrecorded += 1
        _waker(self.db).set()

    def _bucket(self, endpoint: Endpoint, now: float) -> TokenBucket | None:
        rate = endpoint.rate_limit_per_second
        if rate is None:
            self.buckets.pop(endpoint.id, None)
            return None
        bucket = self.buckets.get(endpoint.id)
        if bucket is None or bucket.rate != rate:
            bucket = self.buckets[endpoint.id] = TokenBucket(rate, now)
        return bucket

    async def _forget_gone(self, endpoints: dict[str, Endpoint]) -> None:
        """Close the HTTP clients of endpoints no longer enabled, or whose host changed."""
        for key in [k for k in self.clients
                    if k[0] not in endpoints or urlsplit(endpoints[k[0]].url).hostname != k[1]]:
            if not self.in_flight.get(key[0]):
                await self.clients.pop(key).aclose()

    def _client(self, endpoint: Endpoint, host: str) -> httpx.AsyncClient:
        key = (endpoint.id, host)
        client = self.clients.get(key)
        if client is None:
            limit = self.settings.per_endpoint_concurrency
            client = self.clients[key] = httpx.AsyncClient(
                follow_redirects=False, timeout=self.settings.request_timeout_seconds, transport=self.transport,
                limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit), trust_env=False)
        return client

    # -- one attempt ----------------------------------------------------------------------------------------
    async def _deliver(self, endpoint: Endpoint, message: dict[str, Any]) -> None:
        started = self.clock()
        t0 = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        excerpt = ""
        retry_after: float | None = None
        try:
            parts = urlsplit(endpoint.url)
            address = (await checked_addresses(parts.hostname or "", parts.port or (443 if parts.scheme == "https"
                                                                                     else 80),
                                               self.allow, self.resolver))[0]
            target = endpoint_url(endpoint.url, self.allow)  # the rules as configured now (https…)
            url, host_header = _pinned(target.url, address)
            sent_at = self.clock()
            headers = {**endpoint.headers, "content-type": "application/json", "user-agent": USER_AGENT,
                       **webhook_headers(endpoint.signing_keys(sent_at), message["webhook_id"], sent_at,
                                         message["body"])}
            if host_header is not None:
                headers["host"] = host_header
            extensions = {"sni_hostname": target.host} if target.scheme == "https" and host_header else {}
            async with asyncio.timeout(self.settings.request_timeout_seconds):
                async with self._client(endpoint, target.host).stream(
                        "POST", url, content=message["body"].encode(), headers=headers,
                        extensions=extensions) as response:
                    status_code = response.status_code
                    outcome = outcome_of(status_code)
                    if outcome is Outcome.THROTTLED:
                        retry_after = parse_retry_after(response.headers.get("retry-after"), self.clock())
                    body, cut = await _read_capped(response, self.settings.response_max_bytes)
                    excerpt = body[: self.settings.response_excerpt_bytes].decode("utf-8", errors="replace")
                    if cut:  # a 2xx is delivered all the same; another status fails as too_large
                        outcome = answer_outcome(status_code, body_cut=True)
                        error = f"response body larger than {self.settings.response_max_bytes} bytes: cut there"
        except Refused as exc:
            outcome, error = Outcome.SSRF_REFUSED, f"refused: {exc}"
        except InvalidInput as exc:
            outcome, error = Outcome.SSRF_REFUSED, f"refused: {exc.detail}"
        except Unresolvable as exc:
            outcome, error = Outcome.CONNECTION_ERROR, str(exc)
        except (TimeoutError, httpx.TimeoutException):
            outcome, error = Outcome.TIMEOUT, f"no complete answer within {self.settings.request_timeout_seconds:g} s"
        except httpx.ConnectError as exc:
            outcome, error = Outcome.CONNECTION_ERROR, f"connection failed: {exc or type(exc).__name__}"
        except (httpx.HTTPError, OSError) as exc:
            outcome, error = Outcome.CONNECTION_ERROR, f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:  # noqa: BLE001 — e.g. the URL no longer passes the rules: an attempt failed
            outcome, error = Outcome.CONNECTION_ERROR, f"{type(exc).__name__}: {exc}"[:500]
        latency = time.perf_counter() - t0
        self._answered(endpoint.id, message["_id"])
        await self.record(endpoint, message, outcome=outcome, status_code=status_code, error=error, excerpt=excerpt,
                          latency=latency, at=started, retry_after=retry_after)

    async def record(self, endpoint: Endpoint, message: dict[str, Any], *, outcome: Outcome, status_code: int | None,
                     error: str | None, excerpt: str, latency: float, at: datetime,
                     retry_after: float | None = None) -> str:
        """Log the attempt and move the message on (in the next batch of records); return its new status."""
        now = self.clock()
        round_attempts = message["round_attempts"] + 1
        attempts = message["attempts"] + 1
        update: dict[str, Any] | None = None  # delivered: marked with the batch's other deliveries
        failed_event = None
        status = MessageStatus.DELIVERED.value
        if not outcome.succeeded:
            status = MessageStatus.PENDING.value
            update = {"attempts": attempts, "round_attempts": round_attempts, "updated_at": now,
                      "last_outcome": outcome.value, "last_status_code": status_code}
            delay = None if outcome is Outcome.GONE else retry_delay(
                round_attempts, self.settings.retry_schedule_seconds, jitter=self.settings.retry_jitter, rng=self.rng,
                retry_after=retry_after, retry_after_cap=self.settings.retry_after_cap_seconds)
            if delay is None:
                status = MessageStatus.FAILED.value
                update.update(status=status, failed_at=now)
                failed_event = MessageFailed(endpoint_id=endpoint.id, partner_id=endpoint.partner_id,
                                             message_id=message["_id"], message_type=message["event_type"],
                                             attempts=attempts, failed_at=now)
            else:
                update["next_attempt_at"] = now + timedelta(seconds=delay)
        attempt = {"_id": f"att-{uuid.uuid4().hex[:16]}", "message_id": message["_id"], "endpoint_id": endpoint.id,
                   "partner_id": endpoint.partner_id, "attempt": attempts, "at": at,
                   "outcome": outcome.value, "status_code": status_code, "error": error,
                   "latency_ms": round(latency * 1000, 1), "response_excerpt": excerpt or None}
        await self.recorder.write(_Record(attempt, message["_id"], message["attempts"], update, failed_event))

        metrics.WEBHOOK_DELIVERIES.labels(self.service, outcome.value).inc()
        if outcome.succeeded and message.get("replays", 0) == 0:  # from the commit, retries included; not replays
            metrics.WEBHOOK_LATENCY.labels(self.service).observe(max(0.0, (now - message["event_at"]).total_seconds()))
        await self._health(endpoint, outcome, now)
        return status

    async def _health(self, endpoint: Endpoint, outcome: Outcome, now: datetime) -> None:
        """Track since when every attempt of the endpoint failed; disable it when gone or failing too long."""
        if endpoint.id not in self.failing_since:
            doc = await self.db[HEALTH].find_one({"_id": endpoint.id})
            self.failing_since[endpoint.id] = doc.get("failing_since") if doc else None
        since = self.failing_since[endpoint.id]
        if outcome.succeeded:
            if since is not None:
                self.failing_since[endpoint.id] = None
                await self.db[HEALTH].update_one({"_id": endpoint.id}, {"$set": {"failing_since": None,
                                                                                  "recovered_at": now}}, upsert=True)
            return
        if since is None:
            since = self.failing_since[endpoint.id] = now
            await self.db[HEALTH].update_one({"_id": endpoint.id}, {"$set": {"failing_since": now}}, upsert=True)
        reason = None
        if outcome is Outcome.GONE:
            reason = DisabledReason.GONE
        elif (now - since).total_seconds() >= self.settings.disable_after_failing_seconds:
            reason = DisabledReason.FAILING
        if reason is not None and await self.disable(endpoint.id, reason=reason, failing_since=since):
            metrics.WEBHOOK_ENDPOINTS_DISABLED.labels(self.service, reason.value).inc()
            self.failing_since.pop(endpoint.id, None)
            await self.db[HEALTH].update_one({"_id": endpoint.id}, {"$set": {"failing_since": None}}, upsert=True)
            log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason.value)

    # -- gauges and retention ---------------------------------------------------------------------------------
    async def update_gauges(self) -> None:
        """Backlog per endpoint (pending messages, one count per endpoint on the due index); enabled
        endpoints without any, and those whose backlog ended, show 0.

        Counting reads every pending message: when the last counts took more than half a second (a large
        backlog), the next ones wait ``GAUGE_COST_RATIO`` times as long (at most 1/20 of the database's
        time, which the deliveries need more then)."""
        if time.monotonic() < self._gauges_not_before:
            return
        started = time.monotonic()
        ids = [d["_id"] for d in await self.db[ENDPOINTS].find({"deleted_at": None}, {"_id": 1}).to_list()]
        counts = {}
        for endpoint_id in ids:
            n = await self.db[MESSAGES].count_documents(due_query(endpoint_id))
            if n:
                counts[endpoint_id] = n
        for endpoint_id in set(counts) | self._gauged | set(self.endpoints):  # enabled ones show 0 too
            metrics.WEBHOOK_BACKLOG.labels(self.service, endpoint_id).set(counts.get(endpoint_id, 0))
        self._gauged = set(counts)
        took = time.monotonic() - started
        self._gauges_not_before = time.monotonic() + GAUGE_COST_RATIO * took if took > 0.5 else float("-inf")

    async def purge(self) -> int:
        """Delete attempt batches and finished messages older than the retention (messages by endpoint,
        on the index of an endpoint's messages by creation)."""
        cutoff = self.clock() - timedelta(days=self.settings.retention_days)
        attempts = await self.db[ATTEMPTS].delete_many({"at": {"$lt": cutoff}})
        deleted = attempts.deleted_count
        for endpoint in await self.db[ENDPOINTS].find({}, {"_id": 1}).to_list():  # deleted ones too
            endpoint_id = endpoint["_id"]
            messages = await self.db[MESSAGES].delete_many({"endpoint_id": endpoint_id, "created_at": {"$lt": cutoff},
                                                            "status": {"$ne": MessageStatus.PENDING.value},
                                                            "updated_at": {"$lt": cutoff}})
            deleted += messages.deleted_count
        return deleted


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body; True if there was more (reading stops there)."""
    chunks, size = [], 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _pinned(url: str, address: str) -> tuple[str, str | None]:
    """``url`` with its host replaced by the checked ``address`` (and the Host header to send), so that
    the connection goes where the check looked; unchanged for an address literal."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if literal(host) is not None:
        return url, None
    netloc_host = f"[{address}]" if ":" in address else address
    netloc = f"{netloc_host}:{parts.port}" if parts.port else netloc_host
    host_header = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header
