"""The rate limit of partner-facing routes: a token bucket per principal (the token's ``sub``), one
for all the instances of a service.

A route whose :func:`runtime.auth.allow` admits ``partner`` takes one token from its caller's
bucket per request: ``PARTNER_RATE_BURST`` requests at once, then ``PARTNER_RATE_PER_SECOND`` on
average. An empty bucket answers 429 (problem details) with ``Retry-After``: the whole seconds
until a token is back. Admin and staff are not limited unless ``RATE_LIMIT_STAFF``. Refusals are
counted in ``cress_rate_limited_total`` (service, route), at 0 from the start for every
partner-facing route. The limit is checked right after authorization, before the request's input
(:class:`runtime.http.GuardedRoute`): a flood of malformed requests is limited too.

Where the buckets live (:class:`RateLimiter`):

- **in the service's database** (collection ``rate_limits``, one document per principal) once the
  app's lifespan has attached it: every instance of the service takes from the same bucket, so
  three replicas behind the gateway grant one rate, not three. A request costs one round trip: one
  ``findAndModify`` whose update pipeline refills the bucket for the time elapsed, takes a token if
  there is one and dates the bucket, atomically, on the *database's* clock (``$$NOW``: the
  instances' clocks never meet; :func:`bucket_update`); a partner's first request creates its
  bucket first (two more round trips). Written with ``w: 1`` (a bucket lost in a fail-over only gives a
  partner a few requests more). A TTL index on ``expires_at`` drops a bucket once it would be full
  again: a missing bucket *is* a full one, so the sweep changes nothing but the collection's size;
- **in the process** (:class:`TokenBuckets`) before that (an app without a lifespan: unit tests)
  and **while the database does not answer** within ``RATE_LIMIT_TIMEOUT_SECONDS``. The limit then
  holds per instance (N instances grant up to N times the rate: what it was before the buckets were
  shared) instead of failing open (a partner unlimited exactly when the platform is weakest) or
  closed (every partner refused because of our own outage, although the limit only exists to share
  the platform fairly). Each request decided so counts in ``cress_rate_limit_fallbacks_total``; the
  first failure of an outage is logged as a warning, the return of the database once. After a
  failure the database is left alone for :data:`RETRY_AFTER_FAILURE` seconds, so an outage does not
  add the timeout to every partner request.

A bucket of our own rather than a library: ``limits`` offers fixed, moving and sliding windows (no
burst-then-rate bucket; its MongoDB storage keeps a window per key with several operations per hit),
``aiolimiter`` waits instead of refusing and tells no retry time.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pymongo
from fastapi import Request
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError
from pymongo.write_concern import WriteConcern

from runtime import metrics
from runtime.errors import DomainError

if TYPE_CHECKING:
    from runtime.auth import Principal
    from runtime.mongo import Database

log = logging.getLogger(__name__)

COLLECTION = "rate_limits"
#: Seconds during which the process's own buckets decide, after the database failed to answer.
RETRY_AFTER_FAILURE = 1.0


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(detail, retry_after_seconds=seconds)
        self.headers = {"Retry-After": str(seconds)}


class TokenBuckets:
    """A token bucket per key, in this process: ``burst`` tokens at most, ``rate`` tokens a second back."""

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0 if there was one, else the seconds until there is one."""
        now = self._clock()
        tokens, since = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - since) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > self.max_keys:
                self._forget_full(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: a missing bucket is a full one."""
        for key, (tokens, since) in list(self._buckets.items()):
            if tokens + (now - since) * self.rate >= self.burst:
                del self._buckets[key]


def bucket_update(rate: float, burst: int) -> list[dict[str, Any]]:
    """The update pipeline of one request on a bucket document ``{tokens, at_ms, expires_at}`` (a
    missing document is a full bucket): the :class:`TokenBuckets` arithmetic, on the database's
    clock ``$$NOW``. ``granted`` says whether a token was taken; ``tokens`` is what is left (when
    refused: the fraction of a token there is, so the wait is ``(1 - tokens) / rate``). A clock
    that steps back (a fail-over to a member whose clock is behind) adds no token and keeps
    ``at_ms``: the bucket's time never runs backwards.

    The bucket is dated in milliseconds since the epoch (``$toLong`` of ``$$NOW``), not as a date:
    SecantusDB reads a stored date back without its time zone and then cannot subtract it from
    ``$$NOW`` (an internal error), while numbers subtract the same everywhere. ``expires_at`` is a
    date, for the TTL index."""
    now_ms = {"$toLong": "$$NOW"}
    at_ms = {"$ifNull": ["$at_ms", now_ms]}
    elapsed = {"$divide": [{"$max": [0, {"$subtract": [now_ms, at_ms]}]}, 1000]}
    refilled = {"$min": [burst, {"$add": [{"$ifNull": ["$tokens", burst]}, {"$multiply": [elapsed, rate]}]}]}
    full_again_ms = math.ceil(burst / rate * 1000)  # from empty; after that the document is not needed
    return [
        {"$set": {"tokens": refilled, "at_ms": {"$max": [at_ms, now_ms]}}},
        {"$set": {"granted": {"$gte": ["$tokens", 1]}}},
        {"$set": {"tokens": {"$cond": ["$granted", {"$subtract": ["$tokens", 1]}, "$tokens"]},
                  "expires_at": {"$toDate": {"$add": ["$at_ms", full_again_ms]}}}},
    ]


class RateLimiter:
    """The partner routes' buckets of one app: in the service's database once :meth:`attach`-ed
    (shared by every instance of the service), in this process before that and while the database
    does not answer (see the module's docstring)."""

    def __init__(self, rate: float, burst: int, *, service: str, timeout: float = 0.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.service, self.timeout = rate, burst, service, timeout
        self.local = TokenBuckets(rate, burst, clock=clock)
        self._clock = clock
        self._update = bucket_update(rate, burst)
        self._collection = None
        self._away_until: float | None = None  # the database failed: the local buckets decide until then

    async def attach(self, db: Database) -> None:
        """Keep the buckets in the service's database ``db`` from now on."""
        await self.share(db.db.raw.get_collection(COLLECTION, write_concern=WriteConcern(w=1)))

    async def share(self, collection: Any) -> None:
        """Keep the buckets in ``collection`` from now on (its TTL index ensured; a server without
        TTL indexes keeps the buckets, which only costs room)."""
        try:
            await collection.create_index("expires_at", expireAfterSeconds=0, name="expires_at_ttl")
        except PyMongoError as exc:
            log.warning("rate limits: no TTL index on %s (%s); buckets stay until deleted", COLLECTION, exc)
        self._collection = collection

    @property
    def shared(self) -> bool:
        return self._collection is not None

    async def take(self, key: str) -> float:
        """Take a token for ``key``: 0 if there was one, else the seconds until there is one."""
        if self._collection is None:
            return self.local.take(key)
        if self._away_until is not None and self._clock() < self._away_until:
            return self._fallback(key)
        try:
            doc = await self._take_shared(key)
        except PyMongoError as exc:
            if self._away_until is None:
                log.warning("rate limits: the database did not answer (%s: %s); each instance limits partners "
                            "on its own until it does", type(exc).__name__, exc)
            self._away_until = self._clock() + RETRY_AFTER_FAILURE
            return self._fallback(key)
        if self._away_until is not None:
            log.info("rate limits: the database answers again; the limit is shared by every instance again")
            self._away_until = None
        return 0.0 if doc["granted"] else (1 - doc["tokens"]) / self.rate

    async def _take_shared(self, key: str) -> dict[str, Any]:
        """One round trip when the partner's bucket exists; three for its first request (and the first
        after the TTL index dropped its full bucket): not found, created full, taken from."""
        with pymongo.timeout(self.timeout):  # server selection included: a database away costs this at most
            doc = await self._find_and_take(key)
            if doc is None:
                try:
                    await self._collection.insert_one({"_id": key})  # a full bucket (see bucket_update)
                except DuplicateKeyError:
                    pass  # another request, or another instance, created it first
                doc = await self._find_and_take(key)
        if doc is None:
            raise PyMongoError(f"the bucket of {key!r} vanished between its creation and its update")
        return doc

    async def _find_and_take(self, key: str) -> dict[str, Any] | None:
        # No upsert: SecantusDB answers the upserts that lose the race of a new key's first requests
        # with no document although they took a token (probed), where a plain insert's duplicate key is
        # unambiguous (and mongod's behaves the same).
        return await self._collection.find_one_and_update(
            {"_id": key}, self._update, projection={"_id": 0, "granted": 1, "tokens": 1},
            return_document=ReturnDocument.AFTER)

    def _fallback(self, key: str) -> float:
        metrics.RATE_LIMIT_FALLBACKS.labels(self.service).inc()
        return self.local.take(key)


def limiter(settings) -> RateLimiter:
    """A service's limiter, from its settings (in this process until attached to its database)."""
    return RateLimiter(settings.partner_rate_per_second, settings.partner_rate_burst, service=settings.service_name,
                       timeout=settings.rate_limit_timeout_seconds)


async def limit(request: Request, principal: Principal) -> None:
    """Take a token of ``principal``'s bucket for this request (once per request), or raise
    :class:`RateLimited`."""
    settings = request.app.state.settings
    if principal.is_staff() and not settings.rate_limit_staff:
        return
    if getattr(request.state, "cress_rate_counted", False):  # taken already (the door, or another gate)
        return
    request.state.cress_rate_counted = True
    state = request.app.state
    if getattr(state, "rate_limits", None) is None:  # an app not built by runtime.http.create_app
        state.rate_limits = limiter(settings)
    wait = await state.rate_limits.take(principal.subject)
    if wait:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.RATE_LIMITED.labels(settings.service_name, route).inc()
        raise RateLimited(f"too many requests from {principal.subject}: at most {settings.partner_rate_burst} at "
                          f"once and {settings.partner_rate_per_second:g} a second on partner routes; "
                          f"retry after the Retry-After seconds", wait)
