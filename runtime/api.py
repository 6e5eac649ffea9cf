"""What every service's HTTP API is built from: routers, pages, ETags, limits, problem details.

- :func:`router` — an ``APIRouter`` whose routes stop hostile input at the door (see
  :mod:`runtime.http`): the app factory refuses routes built any other way;
- :class:`Body` (no unknown fields) and :func:`partial` (a PATCH body derived from a creation
  body: every field optional, ``null`` refused where the field is required);
- :class:`Page` (``items``, ``total``, ``limit``, ``offset``), :data:`Limit`, :data:`Offset`;
- :data:`IfMatch`, :func:`expected` and :func:`tagged`: optimistic concurrency over HTTP
  (``ETag: "3"`` is the aggregate's version; ``If-Match: "3"`` makes a stale write a 412);
- :class:`Problem` (RFC 9457) and :func:`errors`: the error responses an operation documents;
- :func:`platform_of`, :data:`PlatformDep`, :func:`commands`: typed access to the running service.
"""
from __future__ import annotations

import copy
import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from runtime.aggregate import Aggregate
from runtime.errors import InvalidInput
from runtime.platform import Platform

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    """Today in Europe/Paris: the default date of a fact the client does not date."""
    return datetime.now(PARIS).date()


def router(prefix: str = "", *, tags: list[str] | None = None, **kwargs: Any) -> APIRouter:
    """An ``APIRouter`` of guarded routes (hostile input is refused before the endpoint runs)."""
    from runtime.http import GuardedRoute  # runtime.http imports this module

    return APIRouter(prefix=prefix, tags=tags or [], route_class=GuardedRoute, **kwargs)


def body_limit(max_bytes: int):
    """Give one endpoint (a file upload) its own request-body limit instead of
    ``HTTP_MAX_BODY_BYTES`` (:class:`runtime.http.BodyLimitMiddleware` reads it). Put it under the
    route decorator::

        @imports.post("/diagnostics/{diagnostic_id}/imports", ...)
        @body_limit(SETTINGS.diagnostic_max_upload_bytes)
        async def upload(...): ...
    """
    def mark(endpoint):
        endpoint.__cress_max_body_bytes__ = int(max_bytes)
        return endpoint
    return mark


def idempotent(enabled: bool = True):
    """Say whether a POST endpoint takes an ``Idempotency-Key`` (:mod:`runtime.idempotency`) when the
    default does not fit: by default an authenticated POST answering 201 (a create) takes one; mark
    another POST whose retry must not apply it twice with ``@idempotent()``, and a create that cannot
    take part (it starts work in the background, or answers a stream) with ``@idempotent(False)``.
    Put it under the route decorator, as :func:`body_limit`."""
    def mark(endpoint):
        endpoint.__cress_idempotent__ = bool(enabled)
        return endpoint
    return mark


# -- bodies ---------------------------------------------------------------------------------------
class Body(BaseModel):
    """Base of request bodies: an unknown field is a 422 naming it (a typo is not silently dropped)."""

    model_config = ConfigDict(extra="forbid")


def partial(model: type[M], *, name: str | None = None, exclude: tuple[str, ...] = (),
            examples: list[dict[str, Any]] | None = None) -> type[M]:
    """The PATCH body of ``model``: the same fields and constraints, each optional (only those sent
    change), and ``null`` refused (422 naming the field) for a field ``model`` requires or does not
    let be null — a PATCH cannot blank a required field."""
    fields: dict[str, Any] = {}
    nullable: set[str] = set()
    for field_name, info in model.model_fields.items():
        if field_name in exclude:
            continue
        annotation = info.annotation
        if _allows_none(annotation):
            nullable.add(field_name)
        new = copy.copy(info)
        new.default, new.default_factory = None, None
        fields[field_name] = (annotation | None if not _allows_none(annotation) else annotation, new)

    def refuse_null(cls, value: Any, info) -> Any:
        if value is None and info.field_name not in nullable:
            raise ValueError(f"{info.field_name} cannot be null; leave it out to keep its value")
        return value

    validators = {"refuse_null": field_validator("*", mode="before")(refuse_null)}
    base = type("PatchBody", (Body,), {"model_config": ConfigDict(
        extra="forbid", json_schema_extra={"examples": examples} if examples else None)})
    patch = create_model(name or f"{model.__name__}Patch", __base__=base, __validators__=validators,
                         __doc__="Only the fields given change (send `If-Match` with the ETag you read); "
                                 "null is refused for a field that cannot be empty.",
                         **fields)
    return patch  # type: ignore[return-value]


def _allows_none(annotation: Any) -> bool:
    return annotation is None or type(None) in getattr(annotation, "__args__", ())


# -- pages ----------------------------------------------------------------------------------------
class Page(BaseModel, Generic[T]):
    """One page of a list; ``total`` counts every match."""

    items: list[T]
    total: int = Field(description="How many match, over all pages.")
    limit: int
    offset: int


Limit = Annotated[int, Query(ge=1, le=500, description="Page size (1–500).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")]


# -- ETag / If-Match --------------------------------------------------------------------------------
_IF_MATCH = re.compile(r'\s*(?:W/)?(?:"(\d{1,18})"|(\d{1,18}))\s*')
IfMatch = Annotated[str | None, Header(
    description='The `ETag` you read, e.g. `"3"` (a weak `W/"3"` and a bare `3` are accepted too; `*` '
                'matches any version). The write fails with 412 if the resource changed since.',
    examples=['"3"'])]


def expected(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names (``None``: no precondition)."""
    if if_match is None or if_match.strip() == "*":
        return None
    m = _IF_MATCH.fullmatch(if_match)
    if not m:
        raise InvalidInput("header.If-Match", f'If-Match must be an ETag such as "3", not {if_match!r}')
    return int(m.group(1) or m.group(2))


def tagged(response: Response, aggregate: Aggregate, location: str | None = None) -> Aggregate:
    """Set the ``ETag`` (and ``Location`` for a creation) of a response carrying ``aggregate``."""
    response.headers["ETag"] = f'"{aggregate.version}"'
    if location is not None:
        response.headers["Location"] = location
    return aggregate


# -- problem details --------------------------------------------------------------------------------
class ProblemError(BaseModel):
    field: str = Field(description="The input at fault, as a dotted path (`siret`, `query.limit`, "
                                   "`contacts.0.email`, `header.If-Match`).", examples=["headcount"])
    message: str = Field(examples=["Input should be less than or equal to 9223372036854775807"])
    type: str = Field(description="A machine-readable kind (pydantic's error type, or `domain`).",
                      examples=["less_than_equal"])


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``): every error the platform answers."""

    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(examples=["Invalid input"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["headcount: Input should be less than or equal to 9223372036854775807"])
    instance: str | None = Field(None, description="The path of the request.", examples=["/organisations"])
    errors: list[ProblemError] | None = Field(None, description="With 422: each input at fault.")

    model_config = ConfigDict(extra="allow")


_DESCRIPTIONS = {
    400: "Malformed request (the body is not valid JSON)",
    401: "No or invalid bearer token",
    403: "The token's roles do not allow this operation",
    404: "Unknown id",
    405: "Method not allowed (see the Allow header)",
    409: "Out-of-order step, duplicate or conflicting state (the detail names the current state)",
    412: "If-Match names a stale version",
    413: "Request body too large",
    422: "Invalid input (problem details name each field at fault)",
}


def errors(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of an operation: each code documented with the :class:`Problem` schema
    (``descriptions``: ``c409="…"`` overrides one)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        out[code] = {"model": Problem, "description": descriptions.get(f"c{code}", _DESCRIPTIONS.get(code, "Error"))}
    return out


#: The errors of a guarded read, of a read of one resource, of a write.
READ = errors(401, 403, 422)
ONE = errors(401, 403, 404, 422)
WRITE = errors(401, 403, 404, 409, 412, 422)


# -- the running service ------------------------------------------------------------------------------
def platform_of(request: Request) -> Platform:
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(platform_of)]


def commands(kind: type[T]) -> Any:
    """``Annotated[kind, Depends(...)]``: the service's command handlers, typed (``platform.commands``)."""

    def dependency(request: Request) -> T:
        handlers = platform_of(request).commands
        if not isinstance(handlers, kind):
            raise TypeError(f"the service's commands are a {type(handlers).__name__}, not a {kind.__name__}")
        return handlers

    return Annotated[kind, Depends(dependency)]


def on_or_today(body: Any) -> date:
    """The body's ``on`` (the date of the fact), or today in Europe/Paris."""
    return getattr(body, "on", None) or today()
