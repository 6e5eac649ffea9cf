"""The FastAPI app of a service, built once here: lifecycle, health, metrics, docs, errors.

:func:`create_service_app` wires what every service has:

- start-up: the MongoDB client, the outbox and idempotency indexes, the topics of the
  catalogue (before any consumer subscribes), the Kafka producer, the outbox relay and the
  service's consumers; shutdown in reverse order;
- ``/healthz`` (alive), ``/readyz`` (MongoDB and Kafka answer, else 503), ``/metrics``,
  ``/asyncapi`` (AsyncAPI 3.0, JSON) beside FastAPI's ``/docs`` and ``/openapi.json``;
- RED metrics per route template, correlation ids (``X-Correlation-ID``) in logs and events;
- errors as RFC 9457 problem details: 422 naming the field at fault, 401/403/404/409/412.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.asyncapi import asyncapi_document
from runtime import logging as log_context
from runtime import metrics
from runtime.consumer import Consumer
from runtime.errors import DomainError
from runtime.kafka import ensure_topics, make_producer, ping
from runtime.mongo import PROCESSED, Database
from runtime.outbox import OutboxRelay, ensure_outbox_indexes
from runtime.settings import DEV_JWT_SECRET, Settings

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
UNMETERED = {"/metrics", "/healthz", "/readyz"}


@dataclass
class Platform:
    """The running parts of one service process (``app.state.platform``)."""

    settings: Settings
    db: Database
    producer: Any
    relay: OutboxRelay
    consumers: list[Consumer]
    tasks: list[asyncio.Task] = field(default_factory=list)


def problem(status: int, title: str, detail: str, request: Request | None = None, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if where == "body" and rest else ".".join([where, *rest])
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_path(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, request, errors=errors)

    @app.exception_handler(DomainError)
    async def domain(request: Request, exc: DomainError) -> JSONResponse:
        extra = dict(exc.extra)
        if exc.status == 422 and "field" in extra:
            extra["errors"] = [{"field": extra["field"], "message": exc.detail, "type": "domain"}]
        return problem(exc.status, exc.title, exc.detail, request, **extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthenticated", 403: "Forbidden"}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), request)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged", request)


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
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: MongoDB and Kafka answer (503 otherwise)",
                responses={503: {"description": "A dependency is unreachable"}})
    async def readyz(request: Request) -> JSONResponse:
        platform: Platform = request.app.state.platform
        service = platform.settings.service_name
        checks: dict[str, str] = {}
        for name, check in (("mongodb", platform.db.ping()), ("kafka", ping(platform.producer))):
            try:
                await check
                checks[name] = "ok"
            except Exception as exc:  # noqa: BLE001 — any failure means not ready
                checks[name] = f"unreachable: {type(exc).__name__}"
            metrics.DEPENDENCY_UP.labels(service, name).set(1 if checks[name] == "ok" else 0)
        stopped = [t.get_name() for t in platform.tasks if t.done()]
        checks["workers"] = "ok" if not stopped else f"stopped: {', '.join(stopped)}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi", summary="AsyncAPI 3.0 document of the platform's events")
    async def asyncapi(request: Request) -> dict[str, Any]:
        return asyncapi_document(request.app.state.settings)

    return router


def create_service_app(settings: Settings, *, title: str, description: str, version: str = "1.0.0",
                       routers: Sequence[APIRouter] = (), consumers: Sequence[Consumer] = (),
                       indexes: Callable[[Database], Awaitable[None]] | None = None,
                       on_started: Callable[[FastAPI, Platform], None] | None = None,
                       openapi_tags: list[dict[str, Any]] | None = None) -> FastAPI:
    log_context.configure(settings.service_name, settings.log_level, settings.log_format)
    if settings.jwt_secret == DEV_JWT_SECRET:
        log.warning("JWT_SECRET is the development default: anyone can mint tokens; set it outside a laptop")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db = Database(settings)
        await ensure_outbox_indexes(db)
        await db[PROCESSED].create_index("consumer")
        if indexes is not None:
            await indexes(db)
        await ensure_topics(settings)
        producer = make_producer(settings)
        await producer.start()
        relay = OutboxRelay(db, producer, batch_size=settings.outbox_batch_size,
                            poll_interval=settings.outbox_poll_interval_seconds,
                            coalesce=settings.outbox_coalesce_seconds)
        db.on_commit(relay.notify)
        bound = [c.bind(db, producer, max_attempts=settings.consumer_max_attempts,
                        retry_base=settings.consumer_retry_base_seconds, batch_size=settings.consumer_batch_size)
                 for c in consumers]
        for consumer in bound:
            await consumer.start()
        platform = Platform(settings, db, producer, relay, bound)
        platform.tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
        platform.tasks += [asyncio.create_task(c.run(), name=f"consumer-{c.name}") for c in bound]
        for task in platform.tasks:
            task.add_done_callback(_report_crash)
        app.state.platform = platform
        if on_started is not None:
            on_started(app, platform)  # the service binds its command handlers to the database
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            relay.stop()
            for consumer in bound:
                consumer.stop()
            _, pending = await asyncio.wait(platform.tasks, timeout=10)
            for task in pending:  # stuck on a dead dependency: do not hang the shutdown
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for consumer in bound:
                await consumer.close()
            await producer.stop()
            await db.close()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan,
                  openapi_tags=(openapi_tags or []) + [{"name": "operations", "description": "Health, metrics, docs"}])
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(ObservabilityMiddleware, service=settings.service_name)
    app.include_router(_operations_router())
    for router in routers:
        app.include_router(router)
    return app


def _report_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s stopped: %r", task.get_name(), task.exception(),
                  exc_info=task.exception())
