"""The door checks who calls before what is asked (runtime.http.GuardedRoute): on a protected route
an anonymous caller gets 401 and a caller without the role 403, whatever the request's shape (an
unknown query parameter, a body that is not JSON, a body that breaks the schema); the partner's rate
limit comes before the input too. Only an authorised caller learns what is wrong with its request
(422 / 400, as before). Health, metrics, documents and signed links stay open."""
from __future__ import annotations

import dataclasses
import httpx
import pytest
from fastapi import Depends
from pydantic import Field

from runtime.api import Body, Limit, router
from runtime.auth import PARTNER, READER, Principal, allow, issue_token, staff
from runtime.http import create_app
from runtime.service import service
from runtime.settings import Settings

SETTINGS = Settings(service_name="procurement", partner_rate_burst=2, partner_rate_per_second=0.01)


class Thing(Body):
    name: str = Field(min_length=1)
    size: int = Field(ge=0)


def things_router():
    """The routes, made in each test (not at import: its gates are then made by the code under test
    as it is when the test runs, which mutation testing relies on)."""
    things = router("/things")
    writes = Depends(allow(staff("procurement")))
    reader = Depends(allow(staff("procurement"), READER))

    @things.post("", status_code=201, dependencies=[writes], summary="create")
    async def create(body: Thing, dry_run: bool = False) -> dict:
        return {"name": body.name, "dry_run": dry_run}

    @things.get("", summary="list")
    async def listing(principal: Principal = reader, limit: Limit = 10) -> dict:
        return {"limit": limit, "by": principal.subject}

    @things.get("/standing", dependencies=[Depends(allow(staff("procurement"), READER, PARTNER))], summary="standing")
    async def standing(limit: Limit = 10) -> dict:
        return {"limit": limit}

    @things.put("/links/{token}", summary="signed link: the token in the path is the credential")
    async def answer(token: str, body: Thing) -> dict:
        return {"token": token}

    return things


@pytest.fixture
def app():
    return create_app(dataclasses.replace(service("procurement"), routers=lambda: [things_router()]), SETTINGS)


@pytest.fixture
def call(app):

    async def send(method: str, path: str, *roles: str, subject: str = "caller", **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {issue_token(SETTINGS, subject, list(roles))}"} if roles else {}
        headers |= kwargs.pop("headers", {})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.request(method, path, headers=headers, **kwargs)

    return send


NOT_JSON = {"content": b'{"name": "x", ', "headers": {"Content-Type": "application/json"}}
BAD_BODY = {"json": {"name": "", "size": -1, "colour": "red"}}


@pytest.mark.parametrize("shape", [
    {"params": {"bogus": "1"}}, NOT_JSON, BAD_BODY, {"params": {"bogus": "1"}, **NOT_JSON},
], ids=["unknown-query", "not-json", "bad-body", "both"])
async def test_an_anonymous_caller_is_told_to_authenticate_whatever_it_sends(call, shape):
    r = await call("POST", "/things", **shape)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"] == "a bearer token is required (Authorization: Bearer <token>)"
    assert "bogus" not in r.text and "JSON" not in r.text, "nothing about the request's shape"


async def test_an_anonymous_read_with_an_unknown_parameter_is_401(call):
    assert (await call("GET", "/things", params={"bogus": "1"})).status_code == 401
    r = await call("GET", "/things", params={"bogus": "1"}, headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401, "an invalid token is no token"
    r = await call("GET", "/things", params={"bogus": "1"}, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401, "nor is another scheme"


@pytest.mark.parametrize("shape", [
    {"params": {"bogus": "1"}, "json": {"name": "x", "size": 1}}, NOT_JSON, BAD_BODY,
], ids=["unknown-query", "not-json", "bad-body"])
async def test_a_reader_on_a_write_route_is_refused_whatever_it_sends(call, shape):
    r = await call("POST", "/things", READER, **shape)
    assert r.status_code == 403, r.text
    assert r.json()["needed"] == ["admin", "staff:procurement"]
    assert r.json()["detail"] == "this operation needs one of the roles: admin, staff:procurement"


async def test_an_authorised_caller_learns_what_is_wrong_with_its_request(call):
    staff_role = staff("procurement")
    r = await call("POST", "/things", staff_role, **NOT_JSON)
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"], r.text
    r = await call("POST", "/things", staff_role, **BAD_BODY)
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"name", "size", "colour"}, r.text
    r = await call("POST", "/things", staff_role, params={"bogus": "1"}, json={"name": "x", "size": 1})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["query.bogus"], r.text
    r = await call("GET", "/things", READER, params={"limit": "0"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["query.limit"], r.text
    assert (await call("POST", "/things", staff_role, json={"name": "x", "size": 1})).status_code == 201
    r = await call("GET", "/things", READER, subject="reader-1")
    assert r.json() == {"limit": 10, "by": "reader-1"}, "the endpoint gets the principal the door verified"


async def test_a_partner_over_its_limit_is_told_so_before_what_is_wrong(call):
    for _ in range(2):  # the door and the route's own gate take one token per request, not two
        assert (await call("GET", "/things/standing", PARTNER, subject="p-1")).status_code == 200
    r = await call("GET", "/things/standing", PARTNER, subject="p-1", params={"bogus": "1"})
    assert r.status_code == 429 and "retry-after" in r.headers, r.text
    r = await call("GET", "/things/standing", PARTNER, subject="p-2", params={"bogus": "1"})
    assert r.status_code == 422, "another partner's bucket is full: its input is checked"


async def test_open_routes_check_the_input_alone(call):
    assert (await call("GET", "/healthz", params={"probe": "1"})).status_code == 200
    assert (await call("GET", "/metrics", params={"probe": "1"})).status_code == 200
    assert (await call("GET", "/openapi.json")).status_code == 200
    r = await call("PUT", "/things/links/signed-token", params={"bogus": "1"}, json={"name": "x", "size": 1})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["query.bogus"], r.text
    assert (await call("PUT", "/things/links/signed-token", **NOT_JSON)).status_code == 400
    assert (await call("PUT", "/things/links/signed-token", json={"name": "x", "size": 1})).status_code == 200


async def test_the_token_is_verified_once_per_request(app, call):
    """The door verifies the caller; the route's gates and the endpoint reuse that principal."""
    verified = []
    real = app.state.authenticator

    class Counting:
        async def principal(self, token: str) -> Principal:
            verified.append(token)
            return await real.principal(token)

    app.state.authenticator = Counting()
    r = await call("GET", "/things", READER, subject="reader-1")
    assert r.status_code == 200 and r.json()["by"] == "reader-1", r.text
    assert len(verified) == 1


def test_the_partner_routes_document_their_429(app):
    operations = app.openapi()["paths"]
    assert "429" in operations["/things/standing"]["get"]["responses"]  # admits partner: rate-limited
    assert "429" not in operations["/things"]["get"]["responses"]
