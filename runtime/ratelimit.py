"""The rate limit of partner-facing routes: a token bucket per principal (the token's ``sub``).

A route whose :func:`runtime.auth.allow` admits ``partner`` takes one token from its caller's
bucket per request: ``PARTNER_RATE_BURST`` requests at once, then ``PARTNER_RATE_PER_SECOND`` on
average. An empty bucket answers 429 (problem details) with ``Retry-After``: the whole seconds
until a token is back. Admin and staff are not limited unless ``RATE_LIMIT_STAFF``. Refusals are
counted in ``cress_rate_limited_total`` (service, route), at 0 from the start for every
partner-facing route.

The buckets live in the process (one set per app): N instances of a service grant up to N times
the rate. A small bucket rather than a library: ``limits`` offers fixed, moving and sliding windows
(no burst-then-rate bucket), ``aiolimiter`` waits instead of refusing and tells no retry time.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request

from runtime import metrics
from runtime.errors import DomainError

if TYPE_CHECKING:
    from runtime.auth import Principal


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(detail, retry_after_seconds=seconds)
        self.headers = {"Retry-After": str(seconds)}


class TokenBuckets:
    """A token bucket per key: ``burst`` tokens at most, ``rate`` tokens a second back."""

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


def limit(request: Request, principal: Principal) -> None:
    """Take a token of ``principal``'s bucket for this request (once per request), or raise
    :class:`RateLimited`."""
    settings = request.app.state.settings
    if principal.is_staff() and not settings.rate_limit_staff:
        return
    if getattr(request.state, "cress_rate_counted", False):  # two partner dependencies on one route
        return
    request.state.cress_rate_counted = True
    state = request.app.state
    if getattr(state, "rate_limits", None) is None:  # an app not built by runtime.http.create_app
        state.rate_limits = TokenBuckets(settings.partner_rate_per_second, settings.partner_rate_burst)
    wait = state.rate_limits.take(principal.subject)
    if wait:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.RATE_LIMITED.labels(settings.service_name, route).inc()
        raise RateLimited(f"too many requests from {principal.subject}: at most {settings.partner_rate_burst} at "
                          f"once and {settings.partner_rate_per_second:g} a second on partner routes; "
                          f"retry after the Retry-After seconds", wait)
