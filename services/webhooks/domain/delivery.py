"""The delivery policy, pure: what an answer means, when to try again, how fast an endpoint may be
called.

- :func:`outcome_of` — 2xx delivered; 3xx a failure (redirects are not followed); ``410 Gone``
  disables the endpoint; 429 and 503 are throttling (their ``Retry-After`` is honoured); any
  other status a failure; :func:`answer_outcome` — the same for an answer whose body may have been
  cut (too large to read whole);
- :func:`retry_delay` — the configured schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
  10 h by default) with jitter, stretched to a receiver's ``Retry-After`` (capped); ``None`` once
  the schedule is spent (the message is ``failed``);
- :func:`parse_retry_after` — seconds or an HTTP date (RFC 9110 §10.2.3);
- :class:`TokenBucket` — an endpoint's rate limit (messages per second).
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from enum import StrEnum


class MessageStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its next attempt (or in flight)."""
    DELIVERED = "delivered"
    """A 2xx answer was received."""
    FAILED = "failed"
    """Every attempt failed (or the endpoint answered 410): replay it once the cause is fixed."""


class Outcome(StrEnum):
    """What one attempt came to (the attempts log's ``outcome``, the metric's label)."""

    DELIVERED = "delivered"
    HTTP_ERROR = "http_error"
    REDIRECT = "redirect"
    GONE = "gone"
    THROTTLED = "throttled"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    SSRF_REFUSED = "ssrf_refused"
    TOO_LARGE = "too_large"

    @property
    def succeeded(self) -> bool:
        return self is Outcome.DELIVERED


def outcome_of(status_code: int) -> Outcome:
    if 200 <= status_code < 300:
        return Outcome.DELIVERED
    if status_code == 410:
        return Outcome.GONE
    if status_code in (429, 503):
        return Outcome.THROTTLED
    if 300 <= status_code < 400:
        return Outcome.REDIRECT
    return Outcome.HTTP_ERROR


def answer_outcome(status_code: int, body_cut: bool) -> Outcome:
    """What an answer comes to when its body was read only up to the limit (``body_cut``): a 2xx is
    delivered all the same (the receiver accepted the message; only its answer was not kept whole);
    any other status with a body too large fails as ``too_large``."""
    outcome = outcome_of(status_code)
    if body_cut and not outcome.succeeded:
        return Outcome.TOO_LARGE
    return outcome


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait that a ``Retry-After`` header asks for (0 for a date in the past); None when
    absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # RFC 9110's DIGIT is ASCII (str.isdigit also takes "²", "٣")
        digits = value.lstrip("0")
        return 1e9 if len(digits) > 9 else float(digits or 0)  # int() refuses more than 4,300 digits
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def retry_delay(attempts: int, schedule: Sequence[float], *, jitter: float = 0.0, rng: random.Random | None = None,
                retry_after: float | None = None, retry_after_cap: float = 3600.0) -> float | None:
    """Seconds until the next attempt after ``attempts`` attempts failed; None when the schedule is spent.

    The scheduled delay is drawn within ±``jitter`` of itself (receivers are not hit by synchronised
    waves); a ``Retry-After`` (capped at ``retry_after_cap``) makes it longer, never shorter.
    """
    if attempts < 1:
        raise ValueError("retry_delay is for a message that had at least one attempt")
    if attempts >= len(schedule):
        return None
    delay = float(schedule[attempts])
    if jitter and delay:
        delay *= (rng or random).uniform(1 - jitter, 1 + jitter)
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, 0.0), retry_after_cap))
    return delay


class TokenBucket:
    """At most ``rate`` messages per second on average, in bursts of at most ``rate`` (at least 1).
    Time is given in seconds of a monotonic clock."""

    def __init__(self, rate: float, now: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = max(1.0, float(rate))
        self.tokens = self.capacity
        self.at = now

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
            self.at = now

    def available(self, now: float) -> int:
        """How many messages may go now."""
        self._refill(now)
        return int(self.tokens)

    def take(self, now: float, n: int = 1) -> bool:
        self._refill(now)
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False
