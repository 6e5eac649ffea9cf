"""Errors a domain raises, mapped once to HTTP problem details by :mod:`runtime.http`.

Pure Python: domains import these without pulling in FastAPI, Kafka or MongoDB.
"""
from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a command may legitimately end with (never a 500)."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    """Input that parses but breaks a business rule (bad SIRET checksum, unknown legal form…).

    ``field`` names the input at fault, as a dotted path (``siret``, ``contacts.0.email``).
    """

    status = 422
    title = "Invalid input"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, field=field)
        self.field = field


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The request conflicts with the current state (out-of-order step, duplicate SIRET…)."""

    status = 409
    title = "Conflict"


class ConcurrencyConflict(Conflict):
    """Someone else changed the aggregate since it was read: re-read and retry."""

    title = "Concurrent update"


class PreconditionFailed(DomainError):
    """``If-Match`` named a version that is no longer the current one."""

    status = 412
    title = "Precondition failed"
