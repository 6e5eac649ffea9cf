"""The authorization table (runtime/authorization.py), called cell by cell on the running services.

Every service runs once for the module, on the session's real broker and database. For every
operation of every OpenAPI document (and the routes the documents leave out), each caller of the
table calls it with a real signed token — admin, the owning team's staff, another team's staff, a
reader, partner A on its own resources, partner B on A's — and once without a token:

- ``yes``: anything but 401/403 (a 404/409/412/422 after authorization is an allow: ids are made up,
  bodies are a probe the operation refuses, ``If-Match`` is stale so no write lands);
- ``no``: 403 (401 without a token); ``404``: 404 (another partner's endpoint or message).

Partner A's webhook endpoint and message are real (created as A), so partner B meets real ids.
Also pinned: a token from another issuer, for another audience, expired, signed with another
key, or whose ``roles`` is not a list, is a 401 on every service.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
from contextlib import AsyncExitStack
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import jwt
import pytest

from runtime import authorization
from runtime.auth import issue_token
from runtime.authorization import Caller, Decision
from runtime.service import discover
from tests.integration.conftest import service_settings, serving

pytestmark = pytest.mark.integration

PARTNER_A, PARTNER_B = "partner-authz-a", "partner-authz-b"
STALE = '"999999"'  # every call carries a stale If-Match: a write that gets through stops at 412
PROBE = {"authz_probe": True}  # a body every operation refuses (422: unknown field) after authorization
RECEIVER = "http://127.0.0.1:9/authz"  # allowed by WEBHOOKS_ALLOW_HOSTS below; nothing listens there
WEBHOOKS_ENV = {"WEBHOOKS_ALLOW_HOSTS": '["127.0.0.1/32"]', "WEBHOOKS_RETRY_SCHEDULE_SECONDS": "[0]",
                "WEBHOOKS_REQUEST_TIMEOUT_SECONDS": "1", "WEBHOOKS_POLL_INTERVAL_SECONDS": "0.2"}
# values of path parameters (others: a made-up id, answered 404 after authorization). The year is
# one the platform refuses (422 after authorization): a report computed 7 times per operation would
# cost minutes and prove nothing more about who may call it.
PARAMETERS = {"year": "1899", "level": "departement", "code": "93", "name": "authz-probe.js"}


class Platform:
    def __init__(self) -> None:
        self.apps: dict[str, Any] = {}
        self.settings: dict[str, Any] = {}
        self.owned: dict[str, str] = {}  # partner A's resources: endpoint_id, message_id


@pytest.fixture(scope="module")
async def platform(infrastructure):
    saved = {k: os.environ.get(k) for k in WEBHOOKS_ENV}
    os.environ.update(WEBHOOKS_ENV)  # read when webhooks starts
    found = Platform()
    try:
        async with AsyncExitStack() as stack:
            for name in discover():
                found.settings[name] = service_settings(infrastructure, name)
                # the HTTP API alone: who may call what is decided there (no consumers, no jobs)
                found.apps[name] = await stack.enter_async_context(
                    serving(name, found.settings[name], consumers=False, jobs=False))
            async with client(found, "webhooks", token(found, "webhooks", PARTNER_A, "partner")) as a:
                r = await a.post("/endpoints", json={"url": RECEIVER, "event_types": ["org.cress.membership.*"]})
                assert r.status_code == 201, r.text
                found.owned["endpoint_id"] = r.json()["id"]
                r = await a.post(f"/endpoints/{found.owned['endpoint_id']}/test")
                assert r.status_code == 202, r.text
                found.owned["message_id"] = r.json()["id"]
            yield found
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def token(platform: Platform, name: str, subject: str, *roles: str, **claims: Any) -> str:
    settings = platform.settings[name]
    if not claims:
        return issue_token(settings, subject, list(roles))
    now = datetime.now(timezone.utc)
    body = {"sub": subject, "roles": list(roles), "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
            "iat": now, "nbf": now, "exp": now + timedelta(hours=1), **claims}
    key = body.pop("key", settings.jwt_secret)
    return jwt.encode(body, key, algorithm=settings.jwt_algorithm)


def client(platform: Platform, name: str, bearer: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=platform.apps[name]),
                             base_url=f"http://{name}.test", headers=headers)


def callers(platform: Platform, name: str) -> dict[Caller, str | None]:
    teams = authorization.teams()
    other = next(t for s, t in teams.items() if s != name and t != teams[name])
    return {Caller.ADMIN: token(platform, name, "authz-admin", "admin"),
            Caller.OWN_STAFF: token(platform, name, "authz-own", f"staff:{teams[name]}"),
            Caller.OTHER_STAFF: token(platform, name, "authz-other", f"staff:{other}"),
            Caller.READER: token(platform, name, "authz-reader", "reader"),
            Caller.PRIVACY: token(platform, name, "authz-dpo", "privacy"),
            Caller.PARTNER: token(platform, name, PARTNER_A, "partner"),
            Caller.OTHER_PARTNER: token(platform, name, PARTNER_B, "partner"),
            Caller.ANONYMOUS: None}


def operations(platform: Platform, name: str) -> dict[tuple[str, str], dict[str, Any] | None]:
    """The OpenAPI document's operations (with their description), then the routes it leaves out."""
    document = platform.apps[name].openapi()
    found: dict[tuple[str, str], dict[str, Any] | None] = {
        (method.upper(), path): operation for path, item in document["paths"].items()
        for method, operation in item.items()}
    for key in authorization.routes(platform.apps[name]):
        found.setdefault(key, None)
    return found


def body_of(name: str, method: str, path: str, operation: dict[str, Any] | None) -> dict[str, Any] | None:
    """A body that reaches the partner scoping of webhooks' operations (valid, so the operation runs
    and answers 404 to another partner), elsewhere a probe refused after authorization."""
    if name == "webhooks":
        valid = {("POST", "/endpoints"): {"url": RECEIVER, "event_types": ["org.cress.membership.*"],
                                          "partner_id": PARTNER_A},
                 ("PATCH", "/endpoints/{endpoint_id}"): {"description": "authz"},
                 ("POST", "/endpoints/{endpoint_id}/secret/rotate"): {},
                 ("POST", "/endpoints/{endpoint_id}/replay"): {"since": "2026-01-01T00:00:00Z"}}
        if (method, path) in valid:
            return valid[(method, path)]
    return PROBE if operation and "requestBody" in operation else None


def url_of(platform: Platform, path: str) -> str:
    return re.sub(r"{(\w+)(?::\w+)?}",
                  lambda m: platform.owned.get(m[1]) or PARAMETERS.get(m[1]) or f"authz-{m[1]}", path)


def verdict(expected: Decision, caller: Caller, status: int) -> bool:
    if status >= 500 and status != 503:  # (a readiness answer may be 503)
        return False
    if expected is Decision.ALLOW:
        return status not in (401, 403)
    if expected is Decision.HIDE:
        return status == 404
    return status == (401 if caller is Caller.ANONYMOUS else 403)


async def test_every_operation_of_every_openapi_document_is_in_the_table(platform):
    missing, unknown = [], []
    for name in platform.apps:
        ops = operations(platform, name)
        missing += [f"{name} {m} {p}" for (m, p) in sorted(ops) if authorization.rule(name, m, p) is None]
        unknown += [f"{name} {m} {p}" for (s, m, p) in authorization.rules()
                    if s in (name, authorization.ANY_SERVICE) and (m, p) not in ops]
    assert not missing, "operations missing from runtime/authorization.py's table:\n  " + "\n  ".join(missing)
    assert not unknown, "lines of the table naming no operation:\n  " + "\n  ".join(unknown)


async def test_every_cell_of_the_table_answers_as_declared(platform):
    cells: list[tuple[str, str, str, Caller, Decision]] = []
    calls = []
    limit = asyncio.Semaphore(8)
    clients: dict[tuple[str, Caller], httpx.AsyncClient] = {}
    async with AsyncExitStack() as stack:
        for name in platform.apps:
            for caller, bearer in callers(platform, name).items():
                clients[(name, caller)] = await stack.enter_async_context(client(platform, name, bearer))

        async def call(name: str, method: str, path: str, caller: Caller, body: Any) -> tuple[int, str]:
            async with limit:
                headers = {"If-Match": STALE, **({"Content-Type": "application/json"} if body is not None else {})}
                r = await clients[(name, caller)].request(method, url_of(platform, path), headers=headers,
                                                          content=None if body is None else json.dumps(body))
                detail = r.text[:160] if r.headers.get("content-type", "").startswith("application/") else ""
                return r.status_code, detail

        for name in platform.apps:
            for (method, path), operation in sorted(operations(platform, name).items()):
                found = authorization.rule(name, method, path)
                if found is None:
                    continue  # the test above names it
                body = body_of(name, method, path, operation)
                for caller in Caller:
                    cells.append((name, method, path, caller, found[caller]))
                    calls.append(call(name, method, path, caller, body))
        answers = await asyncio.gather(*calls)
        # a list is a partner's own: partner B does not see A's endpoint
        seen_by = {caller: {e["id"] for e in (await clients[("webhooks", caller)].get("/endpoints")).json()["items"]}
                   for caller in (Caller.PARTNER, Caller.OTHER_PARTNER)}

    wrong = [(cell, answer) for cell, answer in zip(cells, answers) if not verdict(cell[4], cell[3], answer[0])]
    allows = sum(1 for (_, _, _, _, e), (s, _) in wrong if e is not Decision.ALLOW and s not in (401, 403, 404))
    refusals = len(wrong) - allows
    lines = [f"{name:<12} {method:<6} {path:<66} {caller.value:<6} expected {expected.value:<3} got {status} {detail}"
             for (name, method, path, caller, expected), (status, detail) in wrong]
    assert not wrong, (f"{allows} unexpected allows, {refusals} unexpected refusals (or errors) over {len(cells)} "
                       f"cells (runtime/authorization.py):\n" + "\n".join(lines))
    assert len(cells) >= 7 * 300, "every operation of every service was called by every caller"
    assert platform.owned["endpoint_id"] in seen_by[Caller.PARTNER]
    assert platform.owned["endpoint_id"] not in seen_by[Caller.OTHER_PARTNER], "partner B lists A's endpoint"


@pytest.mark.parametrize("case, claims", [
    ("another issuer", {"iss": "someone-else"}),
    ("another audience", {"aud": "another-api"}),
    ("expired", {"exp": datetime.now(timezone.utc) - timedelta(minutes=5),
                 "iat": datetime.now(timezone.utc) - timedelta(hours=1),
                 "nbf": datetime.now(timezone.utc) - timedelta(hours=1)}),
    ("signed with another key", {"key": "another-key-another-key-another-key-0123"}),
    ("roles not a list", {"roles": "admin"}),
])
async def test_a_token_that_is_not_ours_is_a_401_everywhere(platform, case, claims):
    for name in platform.apps:
        gated = next((m, p) for (m, p) in sorted(operations(platform, name))
                     if m == "GET" and "{" not in p and not authorization.rule(name, m, p).public)
        async with client(platform, name, token(platform, name, "authz-admin", "admin", **claims)) as c:
            r = await c.request(gated[0], gated[1])
        assert r.status_code == 401, (case, name, gated, r.status_code, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
    async with client(platform, "membership", token(platform, "membership", "authz-admin", "admin")) as c:
        assert (await c.get("/organisations")).status_code == 200, "the same token, ours, passes"


async def test_who_calls_is_checked_before_what_is_asked(platform):
    """A caller the table refuses learns nothing of a request's shape: on every protected operation of
    every service, an unknown query parameter and a body that is not JSON still answer 401 without a
    token and 403 to a caller without the role (runtime.http.GuardedRoute checks the caller first);
    an admin sending the same is told what is wrong (422 / 400)."""
    wrong, calls = [], 0
    for name in platform.apps:
        async with AsyncExitStack() as stack:
            tokens = callers(platform, name)
            anonymous, admin, other, reader = [await stack.enter_async_context(client(platform, name, tokens[c]))
                                               for c in (Caller.ANONYMOUS, Caller.ADMIN, Caller.OTHER_STAFF,
                                                         Caller.READER)]
            for (method, path), operation in sorted(operations(platform, name).items()):
                found = authorization.rule(name, method, path)
                if found is None or found.public:
                    continue
                body = operation is not None and "requestBody" in operation
                shape = {"params": {"authz_unknown": "1"},
                         **({"content": b'{"authz": ', "headers": {"Content-Type": "application/json"}} if body else {})}
                expected = [(anonymous, "anon", 401)]
                expected += [(c, caller.value, 403) for c, caller in ((other, Caller.OTHER_STAFF), (reader, Caller.READER))
                             if found[caller] is Decision.REFUSE]
                for c, who, status in expected:
                    r = await c.request(method, url_of(platform, path), **shape)
                    calls += 1
                    if r.status_code != status:
                        wrong.append(f"{name:<12} {method:<6} {path:<60} {who:<5} expected {status} got "
                                     f"{r.status_code} {r.text[:120]}")
                if name == "membership" and (method, path) == ("POST", "/organisations"):
                    r = await admin.request(method, path, **shape)  # the door's second step: the input
                    assert r.status_code == 422 and "query.authz_unknown" in r.text, r.text
                    r = await admin.request(method, path, content=b'{"authz": ',
                                            headers={"Content-Type": "application/json"})
                    assert r.status_code == 400 and "not valid JSON" in r.text, r.text
    assert not wrong, f"{len(wrong)} of {calls} calls told the caller about its request first:\n" + "\n".join(wrong)
    assert calls >= 2 * 250, "every protected operation of every service was called"
