"""The HTTP face of a service, built once here: lifecycle, health, metrics, docs, errors, the door.

:func:`create_app` serves a :class:`runtime.service.ServiceDefinition`:

- its lifecycle is :func:`runtime.platform.running` (database, producer, relay, consumers, jobs),
  entered by the app's lifespan; ``app.state.platform`` is the running :class:`Platform`;
- ``/healthz`` (alive), ``/readyz`` (MongoDB, Kafka and the workers, else 503), ``/metrics``,
  ``/asyncapi`` (AsyncAPI 3.0) beside FastAPI's ``/docs`` and ``/openapi.json``;
- RED metrics per route template, correlation ids (``X-Correlation-ID``) in logs and events;
- errors as RFC 9457 problem details (``application/problem+json``), documented as such in
  OpenAPI: 400 for a body that is not JSON, 401/403/404/405 (with ``Allow``)/409/412, 413 for a
  body over ``HTTP_MAX_BODY_BYTES``, 422 naming each field at fault;
- the door (:class:`GuardedRoute`): who calls before what is asked — a protected route answers
  401 / 403 (and a partner's 429) before it reads the request's input; then, whatever a service
  declares, an unknown query parameter, an integer MongoDB cannot store
  (beyond 64 bits), a date outside the years the event contracts accept
  (:data:`contracts.base.EARLIEST_YEAR`–:data:`~contracts.base.LATEST_YEAR`), a number that is
  not finite or a key MongoDB refuses is a 422 naming the field, before any command runs.

``uvicorn --factory runtime.http:app_from_environment`` serves the service named by
``SERVICE_NAME`` (what ``make run`` and the image do).
"""
from __future__ import annotations

import functools
import inspect
import logging
import math
import re
import time
import uuid
from collections.abc import Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from contracts.asyncapi import asyncapi_document
from contracts.base import EARLIEST_DATE, EARLIEST_YEAR, LATEST_DATE, LATEST_YEAR
from runtime import logging as log_context
from runtime import metrics, ratelimit
from runtime.api import Problem
from runtime.auth import authenticate, authenticator
from runtime.errors import DomainError, InvalidInput
from runtime.platform import Platform, running
from runtime.service import ServiceDefinition, service
from runtime.settings import DEV_JWT_SECRET, DEV_PRIVACY_KEY, DEV_SECRETS_KEY, Settings

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
UNMETERED = {"/metrics", "/healthz", "/readyz"}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def problem(status: int, title: str, detail: str, request: Request | None = None, *,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers or None)


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if where == "body" and rest else ".".join([where, *rest])
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        malformed = [e for e in exc.errors() if e["type"] == "json_invalid"]
        if malformed:
            where = malformed[0].get("ctx", {}).get("error", "")
            return problem(400, "Malformed request", f"the request body is not valid JSON: {where}".rstrip(": "),
                           request)
        errors = [{"field": _field_path(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, request, errors=errors)

    @app.exception_handler(DomainError)
    async def domain(request: Request, exc: DomainError) -> JSONResponse:
        extra = dict(exc.extra)
        if exc.status == 422 and "field" in extra:
            extra["errors"] = [{"field": extra["field"], "message": exc.detail, "type": "domain"}]
        return problem(exc.status, exc.title, exc.detail, request, headers=getattr(exc, "headers", None), **extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthenticated", 403: "Forbidden",
                  413: "Request body too large"}
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # Starlette names only the first route of the path; every one counts
            allowed = sorted(_allowed_methods(request))
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
            return problem(405, titles[405], detail, request, headers=headers)
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), request,
                       headers=headers or None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged", request)


def _allowed_methods(request: Request) -> set[str]:
    """The methods some route of the app answers on this path."""
    return {method for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                   for route in request.app.routes)}


# -- the door ---------------------------------------------------------------------------------------
def refuse_hostile(value: Any, where: str) -> None:
    """Raise :class:`InvalidInput` naming the first value MongoDB or the event contracts cannot take:
    an integer beyond 64 bits, a number that is not finite, a date outside the contracts' years,
    a mapping key starting with ``$`` or holding a NUL."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidInput(where, f"{where}: {value} is beyond what can be stored "
                                      f"(at most {INT64_MAX}, at least {INT64_MIN})")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(where, f"{where}: {value} is not a finite number")
    elif isinstance(value, (date, datetime)):
        day = value.date() if isinstance(value, datetime) else value
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise InvalidInput(where, f"{where}: {value.isoformat()} is outside the years "
                                      f"{EARLIEST_YEAR}–{LATEST_YEAR} the platform accepts")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            refuse_hostile(getattr(value, name), f"{where}.{name}" if where else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (key.startswith("$") or "\x00" in key):
                raise InvalidInput(f"{where}.{key}" if where else key,
                                   f"{key!r}: a key may not start with '$' or contain NUL")
            refuse_hostile(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            refuse_hostile(item, f"{where}.{i}" if where else str(i))


def guarded(endpoint, path: str):
    """``endpoint`` with its validated arguments checked by :func:`refuse_hostile` first. (The
    wrapper is a coroutine: endpoints are ``async def``; a plain ``def`` one would run on the loop.)"""
    if getattr(endpoint, "__cress_guarded__", False):
        return endpoint
    in_path = set(re.findall(r"{(\w+)(?::\w+)?}", path))

    def where(name: str, value: Any) -> str:
        if isinstance(value, BaseModel):
            return ""  # a body: its fields are named as pydantic's errors name them
        return f"{'path' if name in in_path else 'query'}.{name}"  # headers are strings: never refused

    @functools.wraps(endpoint)
    async def check_then_call(*args: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            refuse_hostile(value, where(name, value))
        result = endpoint(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    check_then_call.__cress_guarded__ = True  # type: ignore[attr-defined]
    return check_then_call


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _query_parameters(dependant) -> tuple[dict[str, bool], set[str]]:
    """The query parameters ``dependant`` and its sub-dependencies declare, each with whether it
    takes several values (a list), and the names of those that are dates; a pydantic model declared
    as ``Query()`` stands for its fields."""
    from fastapi._compat import field_annotation_is_sequence

    declared: dict[str, bool] = {}
    dates: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        for field in current.query_params:
            annotation = getattr(field.field_info, "annotation", None)
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                declared.update({info.alias or name: field_annotation_is_sequence(info.annotation)
                                 for name, info in annotation.model_fields.items()})
            else:
                declared[field.alias] = field_annotation_is_sequence(annotation)
                if _is_date(annotation):
                    dates.add(field.alias)
        stack.extend(current.dependencies)
    return declared, dates


def _api_description(code: int) -> str:
    from runtime.api import _DESCRIPTIONS

    return _DESCRIPTIONS.get(code, "")


def _is_date(annotation: Any) -> bool:
    return annotation is date or date in getattr(annotation, "__args__", ())


def _takes_idempotency_key(path: str, endpoint, kwargs: dict[str, Any]) -> bool:
    """Whether an operation takes ``Idempotency-Key`` (:mod:`runtime.idempotency`): a POST that creates
    (201) but a file upload (:func:`runtime.api.body_limit`), or one marked with
    :func:`runtime.api.idempotent`, of an authenticated caller (the key is the caller's: an operation
    without a bearer token, e.g. a link whose token is the credential, takes none)."""
    marked = getattr(endpoint, "__cress_idempotent__", None)
    if "POST" not in {m.upper() for m in kwargs.get("methods") or ()} or marked is False:
        return False
    if marked is None and (kwargs.get("status_code") != 201 or hasattr(endpoint, "__cress_max_body_bytes__")):
        return False  # not a create; or a file upload (its answer, a line report, may be large: not stored)
    from fastapi.dependencies.utils import get_dependant, get_parameterless_sub_dependant

    from runtime.auth import current_principal

    stack = [get_dependant(path=path, call=endpoint),
             *(get_parameterless_sub_dependant(depends=d, path=path) for d in kwargs.get("dependencies") or ())]
    while stack:
        dependant = stack.pop()
        if dependant.call is current_principal:
            return True
        stack.extend(dependant.dependencies)
    return False


_IN_FLIGHT = "a request with the same Idempotency-Key is still being processed (send it again later)"
_KEY_REUSED = "the Idempotency-Key was used for another request (`header.Idempotency-Key`)"


def _gates(dependant) -> list:
    """The checks of the :func:`runtime.auth.allow` gates ``dependant`` and its sub-dependencies
    declare (their ``admit``), each once, in the order FastAPI would meet them."""
    found: list = []
    for sub in dependant.dependencies:
        admit = getattr(sub.call, "admit", None)
        if admit is not None and isinstance(getattr(sub.call, "roles", None), frozenset) and admit not in found:
            found.append(admit)
        found += [a for a in _gates(sub) if a not in found]
    return found


class GuardedRoute(APIRoute):
    """A route whose caller is checked before its input, and whose input is checked before it runs.

    In order: **who calls** — a route behind :func:`runtime.auth.allow` verifies the bearer token
    (401), the roles (403) and takes the partner's rate-limit token (429) before anything of the
    request is read, so a caller without the right learns nothing of the request's shape (an
    unknown parameter, a body that is not JSON); then **what is asked** — unknown query parameters
    are a 422 naming them (``?limt=5`` is a typo, not a default page size; a body's unknown fields
    are refused the same way, :class:`runtime.api.Body`), a body that is not JSON a 400, and the
    endpoint refuses hostile input (:func:`refuse_hostile`) before it runs. Routes without a gate
    (health, metrics, documents, signed links) go straight to the input.

    A POST that creates takes an ``Idempotency-Key`` (:func:`_takes_idempotency_key`): the header is
    declared (documented, validated) and the request handled by :func:`runtime.idempotency.guarding`,
    once the caller is known."""

    def __init__(self, path: str, endpoint, **kwargs: Any) -> None:
        self.takes_idempotency_key = _takes_idempotency_key(path, endpoint, kwargs)
        if self.takes_idempotency_key:
            from fastapi import Depends

            from runtime.idempotency import key_header

            kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), Depends(key_header())]
            responses = dict(kwargs.get("responses") or {})
            for code, addition in ((409, _IN_FLIGHT), (422, _KEY_REUSED)):
                documented = dict(responses.get(code) or responses.get(str(code)) or {"model": Problem})
                documented["description"] = "; or ".join(
                    filter(None, [documented.get("description", _api_description(code)), addition]))
                responses.pop(str(code), None)
                responses[code] = documented
            kwargs["responses"] = responses
        super().__init__(path, guarded(endpoint, path), **kwargs)

    #: Whether unknown or repeated query parameters are refused (the health probes are lenient).
    strict_query = True

    def get_route_handler(self):
        handle = super().get_route_handler()
        if self.takes_idempotency_key:
            from runtime.idempotency import guarding

            handle = guarding(handle, f"POST {self.path}")
        gates = _gates(self.dependant)
        if not self.strict_query and not gates:
            return handle
        declared, dates = _query_parameters(self.dependant)
        expected = ", ".join(sorted(declared)) or "none"
        strict = self.strict_query

        async def caller_then_input(request: Request) -> Response:
            if gates:
                principal = await authenticate(request)
                for admit in gates:
                    await admit(request, principal)
            if not strict:
                return await handle(request)
            errors = []
            for name in dict.fromkeys(request.query_params.keys()):
                values = request.query_params.getlist(name)
                if name not in declared:
                    errors.append({"type": "extra_forbidden", "loc": ("query", name), "input": values[0],
                                   "msg": f"Unknown query parameter (this operation takes: {expected})"})
                elif len(values) > 1 and not declared[name]:
                    errors.append({"type": "too_long", "loc": ("query", name), "input": values,
                                   "msg": f"Given {len(values)} times; this parameter takes one value"})
                elif name in dates and not all(ISO_DATE.fullmatch(v) for v in values):
                    # pydantic's lax mode reads a number as a Unix time (`as_of=-7e-223` → 1970-01-01)
                    errors.append({"type": "date_parsing", "loc": ("query", name), "input": values[0],
                                   "msg": "Expected a date as YYYY-MM-DD"})
            if errors:
                raise RequestValidationError(errors)
            return await handle(request)

        return caller_then_input


class _OperationsRoute(GuardedRoute):
    """The operations endpoints (health, metrics, docs): probes and scrapers may add what they like."""

    strict_query = False


class BodyLimitMiddleware:
    """413 for a request body over ``limit`` bytes (announced by Content-Length, or streamed).

    ``overrides``: (path pattern, limit) of the routes whose endpoint declared its own limit with
    :func:`runtime.api.body_limit` (a file upload); the first pattern matching the path wins.
    """

    def __init__(self, app, limit: int, overrides: Sequence[tuple[re.Pattern, int]] = ()) -> None:
        self.app = app
        self.limit = limit
        self.overrides = overrides

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = next((own for pattern, own in self.overrides if pattern.match(path)), self.limit)
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"the request body is over {limit} bytes")
            return message

        await self.app(scope, counted, send)

    async def _too_large(self, scope, receive, send, limit: int) -> None:
        request = Request(scope, receive)
        where = "HTTP_MAX_BODY_BYTES" if limit == self.limit else "this operation's limit"
        response = problem(413, "Request body too large", f"the request body is over {limit} bytes ({where})",
                           request)
        await response(scope, receive, send)


class ObservabilityMiddleware:
    """RED metrics per route template and correlation ids, as a plain ASGI middleware.

    (Starlette's ``BaseHTTPMiddleware`` costs a task group and memory streams per request.)
    """

    def __init__(self, app, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-correlation-id"), None)
        cid = cid or str(uuid.uuid4())
        token = log_context.correlation_id.set(cid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", cid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            if path not in UNMETERED:
                method = scope["method"]
                metrics.HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
                metrics.HTTP_DURATION.labels(self.service, method, path).observe(time.perf_counter() - started)
            log_context.correlation_id.reset(token)


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"], route_class=_OperationsRoute)

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: MongoDB, Kafka and the workers (503 otherwise)",
                responses={503: {"description": "A dependency is unreachable or a worker stopped"}})
    async def readyz(request: Request) -> JSONResponse:
        platform: Platform = request.app.state.platform
        checks = await platform.readiness()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi", summary="AsyncAPI 3.0 document of the platform's events")
    async def asyncapi(request: Request) -> dict[str, Any]:
        # built once per app: it takes ~2 s of CPU on the event loop, and anyone may ask (no token)
        state = request.app.state
        if getattr(state, "asyncapi", None) is None:
            state.asyncapi = asyncapi_document(state.settings)
        return state.asyncapi

    return router


def _problem_openapi(app: FastAPI):
    """OpenAPI with every error response documented as ``application/problem+json`` (:class:`Problem`),
    and the 400 / 413 every operation with a body may answer."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes, tags=app.openapi_tags)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update({name: s for name, s in Problem.model_json_schema(
            ref_template="#/components/schemas/{model}").pop("$defs", {}).items()})
        components["Problem"] = {k: v for k, v in Problem.model_json_schema(
            ref_template="#/components/schemas/{model}").items() if k != "$defs"}
        ref = {"$ref": "#/components/schemas/Problem"}
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("400", {"description": "Malformed request (the body is not valid JSON)"})
                    responses.setdefault("413", {"description": "Request body too large"})
                if "401" in responses:  # AUTH_MODE=oidc: no key of the identity provider
                    responses.setdefault("503", {"description": "The identity provider cannot be reached and "
                                                                "no keys of it are cached (AUTH_MODE=oidc)"})
                for code, response in responses.items():
                    if code.isdigit() and int(code) >= 400 and (int(code) != 503 or "401" in responses):
                        response["content"] = {PROBLEM: {"schema": ref}}
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    return openapi


def create_app(definition: ServiceDefinition, settings: Settings | None = None, *,
               consumers: bool = True, jobs: bool = True) -> FastAPI:
    """The FastAPI app of ``definition`` (its routers, behind the shared operations, errors and door)."""
    settings = settings or definition.settings()
    log_context.configure(settings.service_name, settings.log_level, settings.log_format)
    if settings.jwt_secret == DEV_JWT_SECRET:
        log.warning("JWT_SECRET is the development default: anyone can mint tokens; set it outside a laptop")
    if settings.environment == "production" and settings.auth_mode == "dev":
        log.warning("ENVIRONMENT=production with AUTH_MODE=dev: staff should sign in through the identity "
                    "provider (AUTH_MODE=oidc, OIDC_ISSUER, OIDC_AUDIENCE)")
    if settings.privacy_key == DEV_PRIVACY_KEY:
        log.warning("PRIVACY_KEY is the development default: anyone can tell whose erasure request an event is; "
                    "set it outside a laptop")
    if DEV_SECRETS_KEY in settings.secrets_key:
        log.warning("SECRETS_KEY holds the development key: secrets kept at rest are readable by anyone with the "
                    "database; set your own outside a laptop (python -m runtime.sealing new-key)")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with running(definition, settings, consumers=consumers, jobs=jobs) as platform:
            app.state.platform = platform
            if limited:  # the partner routes' buckets, shared by every instance of the service
                await app.state.rate_limits.attach(platform.db)
            yield

    app = FastAPI(title=definition.title, description=definition.description, version=definition.version,
                  lifespan=lifespan, openapi_tags=[*definition.openapi_tags,
                                                   {"name": "operations", "description": "Health, metrics, docs"}])
    app.state.settings = settings
    app.state.authenticator = authenticator(settings)
    app.state.rate_limits = ratelimit.limiter(settings)  # in the process until the lifespan attaches the database
    install_error_handlers(app)
    app.include_router(_operations_router())
    routers = list(definition.routers())
    for router in routers:
        app.include_router(router)
    own_limits = [(route.path_regex, route.endpoint.__cress_max_body_bytes__) for router in routers
                  for route in router.routes
                  if isinstance(route, APIRoute) and hasattr(route.endpoint, "__cress_max_body_bytes__")]
    app.add_middleware(BodyLimitMiddleware, limit=settings.http_max_body_bytes, overrides=own_limits)
    app.add_middleware(ObservabilityMiddleware, service=settings.service_name)
    # (the routers' own routes: FastAPI ≥ 0.16x keeps an included router as one entry of app.routes)
    plain = [r.path for router in routers for r in router.routes
             if isinstance(r, APIRoute) and not isinstance(r, GuardedRoute)]
    if plain:
        raise TypeError(f"{definition.name}: routes not built with runtime.api.router(): {plain}")
    limited = False  # whether some route is open to partners (the lifespan then shares their buckets)
    for router in routers:  # each route's 500 series exists from the start, at 0: increase() sees the first
        for route in router.routes:
            if isinstance(route, APIRoute) and route.path not in UNMETERED:
                for method in route.methods:
                    metrics.HTTP_REQUESTS.labels(settings.service_name, method, route.path, "500")
                if _rate_limited(route.dependant):  # its 429: documented, and counted from 0
                    route.responses = {**route.responses, 429: {"description": _TOO_MANY}}
                    metrics.RATE_LIMITED.labels(settings.service_name, route.path)
                    limited = True
    if limited:
        metrics.RATE_LIMIT_FALLBACKS.labels(settings.service_name)
    metrics.TRANSACTION_RETRIES.labels(settings.service_name)  # at 0 from the start: increase() sees the first
    app.openapi = _problem_openapi(app)
    return app


_TOO_MANY = ("Too many requests from this principal on partner routes (see Retry-After; "
             "PARTNER_RATE_PER_SECOND, PARTNER_RATE_BURST)")


def _rate_limited(dependant) -> bool:
    """Whether a route depends on a rate-limited :func:`runtime.auth.allow` (one admitting ``partner``)."""
    return any(getattr(d.call, "__cress_rate_limited__", False) or _rate_limited(d) for d in dependant.dependencies)


def app_from_environment() -> FastAPI:
    """The app of the service named by ``SERVICE_NAME`` (``uvicorn --factory``)."""
    return create_app(service(Settings().service_name))
