"""The parts of the door (``runtime.http``) one at a time, built while the test runs: the dotted field
paths of a 422, the hostile values refused with their words, which operations take an
``Idempotency-Key`` and how their 409 / 422 are documented, the allow gates a route runs first, the
query parameters' refusals and the lenient operations routes."""
from __future__ import annotations

import asyncio
import math
from datetime import date, datetime, timezone
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, Query
from pydantic import BaseModel, Field

from runtime.api import Limit, body_limit, errors, idempotent, router
from runtime.auth import allow, issue_token, staff
from runtime.errors import InvalidInput
from runtime.http import _IN_FLIGHT, _KEY_REUSED, _field_path, _gates, refuse_hostile
from runtime.api import _DESCRIPTIONS
from tests.unit.test_app_kit import OWN, app_of


@pytest.mark.parametrize(("loc", "path"), [
    (("body", "contacts", 0, "email"), "contacts.0.email"), (("body",), "body"), (("query", "limit"), "query.limit"),
    (("path", "stand_id"), "path.stand_id"), (("header", "If-Match"), "header.If-Match"),
    (("stand", "size"), "stand.size"), ((), "")])
def test_a_422_names_each_field_by_its_dotted_path(loc, path):
    assert _field_path(loc) == path


def refusal(value, where: str = "query.size") -> tuple[str, str]:
    with pytest.raises(InvalidInput) as caught:
        refuse_hostile(value, where)
    return caught.value.field, caught.value.detail


def test_hostile_values_are_refused_in_words():
    assert refusal(2**63) == ("query.size", f"query.size: {2**63} is beyond what can be stored "
                                            f"(at most {2**63 - 1}, at least {-(2**63)})")
    assert refusal(math.nan) == ("query.size", "query.size: nan is not a finite number")
    assert refusal(date(1899, 12, 31), "query.on") == (
        "query.on", "query.on: 1899-12-31 is outside the years 1900–2200 the platform accepts")
    assert refusal({"$where": 1}, "filters") == ("filters.$where", "'$where': a key may not start with '$' or contain NUL")
    assert refusal({"a\x00b": 1}, "") == ("a\x00b", "'a\\x00b': a key may not start with '$' or contain NUL")


def test_plain_values_pass():
    for value in (None, True, False, "", "a\x00b", "$set", 2**63 - 1, -(2**63), 1.5, date(1900, 1, 1),
                  datetime(2200, 12, 31, 23, tzinfo=timezone.utc), {1: "an int key"}, {"a": [1, {"b": 2}]}):
        refuse_hostile(value, "body")


def test_a_refusal_inside_a_mapping_or_a_list_names_where_it_is():
    assert refusal({"stands": [{"size": 2**64}]}, "")[0] == "stands.0.size"
    assert refusal([1, 2**64], "")[0] == "1"
    assert refusal([1, 2**64], "query.sizes")[0] == "query.sizes.1"
    assert refusal({"size": math.inf}, "")[0] == "size"


GATE = Depends(allow(staff("events")))


def route_of(method: str, status_code: int | None = None, *, dependencies=(), responses=None, mark=None):
    stands = router("/stands")

    async def endpoint(principal_free: int = 0) -> dict:
        return {}
    if mark is not None:
        endpoint = mark(endpoint)
    options = {"dependencies": list(dependencies), "responses": responses}
    if status_code is not None:
        options["status_code"] = status_code
    getattr(stands, method)("", **options)(endpoint)
    [route] = stands.routes
    return route


def test_which_operations_take_an_idempotency_key():
    assert route_of("post", 201, dependencies=[GATE]).takes_idempotency_key, "an authenticated create"
    assert not route_of("post", 201).takes_idempotency_key, "no bearer token: no key of its own"
    assert not route_of("put", 201, dependencies=[GATE]).takes_idempotency_key, "not a POST"
    assert not route_of("post", 200, dependencies=[GATE]).takes_idempotency_key, "not a create"
    assert route_of("post", 200, dependencies=[GATE], mark=idempotent()).takes_idempotency_key, "marked"
    assert not route_of("post", 201, dependencies=[GATE], mark=idempotent(False)).takes_idempotency_key
    assert not route_of("post", 201, dependencies=[GATE], mark=body_limit(10)).takes_idempotency_key, "an upload"


def test_a_create_documents_the_409_and_422_an_idempotency_key_adds():
    route = route_of("post", 201, dependencies=[GATE], responses={"409": {"description": "The stand is taken"}})
    assert "409" not in route.responses
    assert route.responses[409] == {"description": f"The stand is taken; or {_IN_FLIGHT}"}
    assert route.responses[422] == {"model": errors(422)[422]["model"],
                                    "description": f"{_DESCRIPTIONS[422]}; or {_KEY_REUSED}"}
    plain = route_of("post", 201, dependencies=[GATE], responses={409: {"model": str}})
    assert plain.responses[409] == {"model": str, "description": f"{_DESCRIPTIONS[409]}; or {_IN_FLIGHT}"}
    assert route_of("post", 201, dependencies=[GATE]).responses[409]["description"] == (
        f"{_DESCRIPTIONS[409]}; or {_IN_FLIGHT}")
    assert route_of("post", 200, dependencies=[GATE], responses={"409": {"description": "x"}}).responses == {
        "409": {"description": "x"}}, "no key: left as given"


def test_the_gates_a_route_runs_first_each_once_nested_ones_included():
    gate = allow(staff("events"))

    def uses_the_gate(principal=Depends(gate)) -> int:
        return 1

    def looks_like_a_gate() -> int:  # an admit, but no roles: not an allow gate
        return 1
    looks_like_a_gate.admit = object()

    stands = router("/stands")

    @stands.get("", dependencies=[Depends(gate), Depends(uses_the_gate), Depends(looks_like_a_gate)])
    async def listing() -> dict:
        return {}

    @stands.get("/nested", dependencies=[Depends(uses_the_gate)])
    async def nested() -> dict:
        return {}

    direct, inner = stands.routes
    assert _gates(direct.dependant) == [gate.admit]
    assert _gates(inner.dependant) == [gate.admit]


class StandFilter(BaseModel):
    sector: str | None = None
    kinds: list[str] = Field(default_factory=list, alias="kind")


def query_app():
    stands = router("/stands")
    reader = Depends(allow(staff("events")))

    @stands.get("", dependencies=[reader])
    async def listing(limit: Limit = 10, on: date | None = None) -> dict:
        return {"limit": limit}

    @stands.get("/filtered", dependencies=[reader])
    async def filtered(filters: Annotated[StandFilter, Query()]) -> dict:
        return filters.model_dump()

    @stands.get("/bare", dependencies=[reader])
    async def bare() -> dict:
        return {}
    return stands


def test_query_parameters_unknown_repeated_or_not_a_date_are_refused_by_name():
    import dataclasses

    from runtime.http import create_app
    from runtime.service import service
    from runtime.settings import Settings

    settings = Settings(service_name="events", **OWN)
    app = create_app(dataclasses.replace(service("events"), routers=lambda: [query_app()]), settings)
    token = issue_token(settings, "amina", ["staff:events"])

    async def errors_of(url: str) -> list[dict] | int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            r = await client.get(url)
        return r.json()["errors"] if r.status_code == 422 else r.status_code

    def run(url):
        return asyncio.run(errors_of(url))

    assert run("/stands?limt=5") == [{"field": "query.limt", "type": "extra_forbidden",
                                      "message": "Unknown query parameter (this operation takes: limit, on)"}]
    assert run("/stands/bare?x=1") == [{"field": "query.x", "type": "extra_forbidden",
                                        "message": "Unknown query parameter (this operation takes: none)"}]
    assert run("/stands?limit=5&limit=6") == [{"field": "query.limit", "type": "too_long",
                                               "message": "Given 2 times; this parameter takes one value"}]
    assert run("/stands?on=-7e-223") == [{"field": "query.on", "type": "date_parsing",
                                          "message": "Expected a date as YYYY-MM-DD"}]
    assert run("/stands?on=2031-01-02&limit=5") == 200
    assert run("/stands/filtered?kind=a&kind=b&sector=x") == 200, "a model's fields, by alias, lists repeated"
    assert run("/stands/filtered?sector=x&sector=y") == [{"field": "query.sector", "type": "too_long",
                                                          "message": "Given 2 times; this parameter takes one value"}]
    assert run("/stands/filtered?kinds=a")[0]["message"] == (
        "Unknown query parameter (this operation takes: kind, sector)")


def test_the_operations_routes_are_tagged_and_lenient():
    app, _ = app_of(**OWN)
    assert app.openapi()["paths"]["/healthz"]["get"]["tags"] == ["operations"]

    async def probe():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return (await client.get("/healthz?probe=kubelet&probe=again")).status_code
    assert asyncio.run(probe()) == 200


def test_a_method_no_route_of_the_path_answers_is_a_405_naming_every_allowed_one():
    app, _ = app_of(**OWN)

    async def call(method: str, path: str):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.request(method, path)
    r = asyncio.run(call("DELETE", "/stands"))
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert r.json()["detail"] == "DELETE is not allowed here; allowed: POST"
    r = asyncio.run(call("POST", "/stands/s-1"))
    assert r.status_code == 405 and r.headers["Allow"] == "DELETE, GET, PATCH, PUT"
    assert r.json()["detail"] == "POST is not allowed here; allowed: DELETE, GET, PATCH, PUT"


def test_a_hostile_path_parameter_is_named_as_one():
    sizes = router("/sizes")

    @sizes.get("/{size}", dependencies=[GATE])
    async def read(size: int, other: int = 0) -> dict:
        return {}

    [route] = sizes.routes

    async def call(**kwargs):
        return await route.endpoint(**kwargs)
    with pytest.raises(InvalidInput) as caught:
        asyncio.run(call(size=2**64, other=0))
    assert caught.value.field == "path.size"
    with pytest.raises(InvalidInput) as caught:
        asyncio.run(call(size=1, other=2**64))
    assert caught.value.field == "query.other"
