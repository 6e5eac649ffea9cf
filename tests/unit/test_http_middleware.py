"""The two ASGI middlewares every service runs (``runtime.http``), called directly and through an app:
the body limit (413 by Content-Length or by counting a streamed body; a route's own limit) and the
observability one (correlation id in and out, one RED series per route template, the probes unmetered)."""
from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import pytest
from fastapi import HTTPException
from prometheus_client import REGISTRY

from runtime import logging as log_context
from runtime.http import BodyLimitMiddleware, ObservabilityMiddleware
from tests.unit.test_app_kit import OWN, app_of


class Inner:
    """An app behind the middleware: records what it was called with, reads the whole body."""

    def __init__(self, read: bool = True) -> None:
        self.calls: list[tuple] = []
        self.read = read
        self.body = b""

    async def __call__(self, scope, receive, send) -> None:
        self.calls.append((scope, receive, send))
        if scope["type"] == "http" and self.read:
            while True:
                message = await receive()
                self.body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})


def scope(path: str = "/stands", length: int | None = None) -> dict:
    headers = [(b"content-length", str(length).encode())] if length is not None else []
    return {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b"",
            "root_path": "", "scheme": "http", "server": ("t", 80)}


def chunks(*parts: bytes):
    messages = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]

    async def receive():
        return messages.pop(0)
    return receive


async def answer(middleware, scope_, receive) -> tuple[list[dict], dict | None]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    await middleware(scope_, receive, send)
    start = sent[0] if sent else None
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent, (start["status"], json.loads(body) if body else None) if start else None


def test_other_scopes_pass_through_untouched():
    for middleware in (BodyLimitMiddleware, lambda app: ObservabilityMiddleware(app, "svc")):
        inner = Inner()
        limited = middleware(inner) if middleware is not BodyLimitMiddleware else middleware(inner, limit=1)
        lifespan, receive, send = {"type": "lifespan"}, object(), object()
        asyncio.run(limited(lifespan, receive, send))
        assert inner.calls == [(lifespan, receive, send)]


def test_a_body_announced_over_the_limit_is_refused_before_the_app_runs():
    inner = Inner()
    limited = BodyLimitMiddleware(inner, limit=10, overrides=[(re.compile("^/uploads"), 100)])
    _, (status, body) = asyncio.run(answer(limited, scope(length=11), chunks(b"x" * 11)))
    assert (status, body) == (413, {"type": "about:blank", "title": "Request body too large", "status": 413,
                                    "detail": "the request body is over 10 bytes (HTTP_MAX_BODY_BYTES)",
                                    "instance": "/stands"})
    assert inner.calls == []
    _, (status, _) = asyncio.run(answer(limited, scope(length=10), chunks(b"x" * 10)))
    assert status == 204 and inner.body == b"x" * 10, "exactly the limit passes"


def test_a_route_with_its_own_limit_is_refused_by_that_one_and_says_so():
    inner = Inner()
    limited = BodyLimitMiddleware(inner, limit=10, overrides=[(re.compile("^/uploads"), 100)])
    _, (status, _) = asyncio.run(answer(limited, scope("/uploads/1", length=100), chunks(b"x" * 100)))
    assert status == 204
    _, (status, body) = asyncio.run(answer(limited, scope("/uploads/1", length=101), chunks(b"x")))
    assert (status, body["detail"]) == (413, "the request body is over 100 bytes (this operation's limit)")
    assert body["instance"] == "/uploads/1"


def test_a_streamed_body_is_counted_across_its_chunks():
    inner = Inner()
    limited = BodyLimitMiddleware(inner, limit=10)
    _, (status, _) = asyncio.run(answer(limited, scope(), chunks(b"x" * 5, b"y" * 5)))
    assert status == 204 and inner.body == b"x" * 5 + b"y" * 5, "exactly the limit passes"
    with pytest.raises(HTTPException) as caught:
        asyncio.run(answer(BodyLimitMiddleware(Inner(), limit=10), scope(), chunks(b"x" * 6, b"y" * 5)))
    assert (caught.value.status_code, caught.value.detail) == (413, "the request body is over 10 bytes")


def requests_total(service: str, method: str, route: str, status: str) -> float | None:
    return REGISTRY.get_sample_value("cress_http_requests_total",
                                     {"service": service, "method": method, "route": route, "status": status})


def durations(service: str, method: str, route: str) -> float | None:
    return REGISTRY.get_sample_value("cress_http_request_duration_seconds_count",
                                     {"service": service, "method": method, "route": route})


def test_each_request_is_counted_by_route_template_and_status_with_its_duration():
    app, name = app_of(**OWN)

    async def calls():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            for stand in ("a", "b"):
                assert (await client.get(f"/stands/{stand}")).status_code == 401
            assert (await client.get("/nowhere")).status_code == 404
            assert (await client.get("/healthz")).status_code == 200
    asyncio.run(calls())
    assert requests_total(name, "GET", "/stands/{stand_id}", "401") == 2
    assert durations(name, "GET", "/stands/{stand_id}") == 2
    sum_ = REGISTRY.get_sample_value("cress_http_request_duration_seconds_sum",
                                     {"service": name, "method": "GET", "route": "/stands/{stand_id}"})
    assert 0 < sum_ < 5
    assert requests_total(name, "GET", "unmatched", "404") == 1
    assert durations(name, "GET", "/healthz") is None and requests_total(name, "GET", "/healthz", "200") is None


def test_the_correlation_id_is_taken_or_made_sent_back_and_in_scope_during_the_request_only():
    seen: list[str | None] = []
    inner = Inner()

    async def app(scope_, receive, send):
        seen.append(log_context.correlation_id.get())
        await inner(scope_, receive, send)

    observed = ObservabilityMiddleware(app, "svc-" + uuid.uuid4().hex[:6])
    given = [(b"x-correlation-id", b"r\xe9q-1")]
    sent, (status, _) = asyncio.run(answer(observed, {**scope(), "headers": given}, chunks(b"")))
    assert status == 204 and seen == ["r\xe9q-1"]
    assert (b"x-correlation-id", b"r\xe9q-1") in sent[0]["headers"]
    sent, _ = asyncio.run(answer(observed, scope(), chunks(b"")))
    made = dict(sent[0]["headers"])[b"x-correlation-id"].decode()
    assert str(uuid.UUID(made)) == made and seen[1] == made
    assert log_context.correlation_id.get() is None, "reset after the request"
    assert requests_total(observed.service, "POST", "unmatched", "204") == 2


def test_a_request_that_fails_before_answering_counts_as_a_500():
    async def broken(scope_, receive, send):
        raise RuntimeError("boom")

    observed = ObservabilityMiddleware(broken, "svc-" + uuid.uuid4().hex[:6])
    with pytest.raises(RuntimeError):
        asyncio.run(answer(observed, scope(), chunks(b"")))
    assert requests_total(observed.service, "POST", "unmatched", "500") == 1
    assert log_context.correlation_id.get() is None


def test_the_correlation_id_is_added_to_an_answer_that_came_without_headers():
    async def bare(scope_, receive, send):
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body", "body": b""})

    observed = ObservabilityMiddleware(bare, "svc-" + uuid.uuid4().hex[:6])
    sent, (status, _) = asyncio.run(answer(observed, {**scope(), "headers": [(b"x-correlation-id", b"c-1")]},
                                           chunks(b"")))
    assert status == 204 and sent[0]["headers"] == [(b"x-correlation-id", b"c-1")]
