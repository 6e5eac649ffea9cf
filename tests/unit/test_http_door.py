"""The runtime's door and API helpers, without a server: hostile values, PATCH bodies, ETags."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

import pytest
from fastapi import Depends, Query
from pydantic import BaseModel, Field, ValidationError

from runtime.api import Body, Limit, expected, partial
from runtime.errors import InvalidInput
from runtime.http import INT64_MAX, INT64_MIN, guarded, refuse_hostile


class Inner(BaseModel):
    amount: int
    when: date | None = None


class Outer(BaseModel):
    name: str
    items: list[Inner] = []
    extra: dict[str, int] = {}


@pytest.mark.parametrize("value, field", [
    (Outer(name="x", items=[Inner(amount=1), Inner(amount=10**30)]), "items.1.amount"),
    (Outer(name="x", items=[Inner(amount=INT64_MAX + 1)]), "items.0.amount"),
    (Outer(name="x", items=[Inner(amount=INT64_MIN - 1)]), "items.0.amount"),
    (Outer(name="x", items=[Inner(amount=1, when=date(9999, 12, 31))]), "items.0.when"),
    (Outer(name="x", items=[Inner(amount=1, when=date(1899, 12, 31))]), "items.0.when"),
    (Outer(name="x", extra={"$where": 1}), "extra.$where"),
    (Outer(name="x", extra={"ok": 2**64}), "extra.ok"),
])
def test_hostile_values_are_refused_naming_the_field(value, field):
    with pytest.raises(InvalidInput) as caught:
        refuse_hostile(value, "")
    assert caught.value.field == field


@pytest.mark.parametrize("value", [
    Outer(name="x", items=[Inner(amount=INT64_MAX), Inner(amount=INT64_MIN, when=date(1985, 3, 1))]),
    Outer(name="x" * 10_000, items=[Inner(amount=0, when=date(2200, 12, 31))]),
    datetime(1900, 1, 1, tzinfo=timezone.utc), True, None, "9" * 40, 1.5,
])
def test_values_the_platform_stores_pass(value):
    refuse_hostile(value, "")


def test_floats_must_be_finite():
    with pytest.raises(InvalidInput) as caught:
        refuse_hostile(float("inf"), "query.rate")
    assert caught.value.field == "query.rate"
    with pytest.raises(InvalidInput):
        refuse_hostile(float("nan"), "rate")


async def test_a_guarded_endpoint_names_query_and_path_parameters():
    calls = []

    async def endpoint(item_id: str, offset: int = 0, body: Outer | None = None):
        calls.append((item_id, offset))
        return "ran"

    wrapped = guarded(endpoint, "/items/{item_id}")
    assert await wrapped(item_id="a", offset=3) == "ran"
    with pytest.raises(InvalidInput) as caught:
        await wrapped(item_id="a", offset=10**20)
    assert caught.value.field == "query.offset"
    with pytest.raises(InvalidInput) as caught:
        await wrapped(item_id="a", body=Outer(name="x", items=[Inner(amount=10**19)]))
    assert caught.value.field == "items.0.amount"
    assert calls == [("a", 3)], "the endpoint never ran on hostile input"
    assert guarded(wrapped, "/items/{item_id}") is wrapped, "guarding twice changes nothing"


class Thing(Body):
    name: str = Field(min_length=1, examples=["x"])
    size: int = Field(ge=0)
    note: str | None = None
    on: date | None = None


ThingPatch = partial(Thing, examples=[{"size": 3}])


def test_partial_keeps_constraints_makes_fields_optional_and_refuses_null_where_required():
    assert ThingPatch.model_validate({}).model_dump(exclude_unset=True) == {}
    assert ThingPatch.model_validate({"size": 4}).model_dump(exclude_unset=True) == {"size": 4}
    assert ThingPatch.model_validate({"note": None}).model_dump(exclude_unset=True) == {"note": None}
    for bad, field in (({"name": None}, "name"), ({"size": None}, "size"), ({"size": -1}, "size"),
                       ({"name": ""}, "name"), ({"colour": "red"}, "colour")):
        with pytest.raises(ValidationError) as caught:
            ThingPatch.model_validate(bad)
        assert [e["loc"] for e in caught.value.errors()] == [(field,)], bad
    assert ThingPatch.model_json_schema()["examples"] == [{"size": 3}]


@pytest.mark.parametrize("header, version", [('"3"', 3), ('W/"12"', 12), ("7", 7), ("*", None), (None, None)])
def test_if_match_accepts_the_etag_forms(header, version):
    assert expected(header) == version


@pytest.mark.parametrize("header", ["yesterday", '"3', '"-1"', '"' + "9" * 30 + '"'])
def test_if_match_refuses_anything_else(header):
    with pytest.raises(InvalidInput) as caught:
        expected(header)
    assert caught.value.field == "header.If-Match"


def _service_with(*routers):
    import dataclasses

    from runtime.service import service

    return dataclasses.replace(service("procurement"), routers=lambda: routers)


def test_routes_not_built_with_the_guarded_router_are_refused():
    from fastapi import APIRouter

    from runtime.http import create_app

    plain = APIRouter(prefix="/plain")

    @plain.get("/x", summary="x")
    async def x() -> int:
        return 1

    with pytest.raises(TypeError, match="/plain/x"):
        create_app(_service_with(plain))


async def test_an_upload_route_has_its_own_body_limit_and_the_others_keep_the_service_limit():
    import httpx

    from runtime.api import body_limit, router
    from runtime.http import create_app
    from runtime.settings import Settings

    uploads = router("/things")

    @uploads.post("/{thing_id}/files", summary="upload")
    @body_limit(10_000)
    async def upload(thing_id: str) -> dict:
        return {"ok": thing_id}

    @uploads.post("/{thing_id}/notes", summary="note")
    async def note(thing_id: str) -> dict:
        return {"ok": thing_id}

    app = create_app(_service_with(uploads), Settings(service_name="procurement", http_max_body_bytes=2048))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/things/a/files", content=b"x" * 9_000)).status_code == 200
        too_big = await client.post("/things/a/files", content=b"x" * 10_001)
        assert too_big.status_code == 413 and "10000 bytes" in too_big.json()["detail"]
        announced = await client.post("/things/a/files", content=b"x", headers={"Content-Length": str(2 * 1024**3)})
        assert announced.status_code == 413
        assert (await client.post("/things/a/notes", content=b"x" * 3_000)).status_code == 413
        assert (await client.post("/things/a/notes", content=b"x" * 1_000)).status_code == 200


async def test_unknown_or_repeated_query_parameters_are_a_422_naming_them():
    """Found by the fuzzer: ``?limt=5`` or ``?buyer_id=a&buyer_id=b`` were answered 200, the typo
    ignored and the last value silently kept."""
    import httpx

    from runtime.api import router
    from runtime.http import create_app
    from runtime.settings import Settings

    things = router("/things")  # (its annotations are resolved in this module's globals: imports at the top)

    def paging(offset: int = 0) -> int:  # a dependency's parameters count as declared
        return offset

    @things.get("", summary="list")
    async def listing(limit: Limit = 10, tag: Annotated[list[str] | None, Query()] = None,
                      owner: str | None = None, offset: int = Depends(paging), day: date | None = None) -> dict:
        return {"limit": limit, "tag": tag, "owner": owner, "offset": offset}

    app = create_app(_service_with(things), Settings(service_name="procurement"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        ok = await client.get("/things", params=[("limit", 5), ("tag", "a"), ("tag", "b"), ("owner", "x"),
                                                 ("offset", 2)])
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"limit": 5, "tag": ["a", "b"], "owner": "x", "offset": 2}
        typo = await client.get("/things", params={"limt": 5, "limit": 3})
        assert typo.status_code == 422
        assert [e["field"] for e in typo.json()["errors"]] == ["query.limt"]
        assert "limit, offset, owner, tag" in typo.json()["detail"]
        twice = await client.get("/things", params=[("owner", "a"), ("owner", "b")])
        assert twice.status_code == 422 and [e["field"] for e in twice.json()["errors"]] == ["query.owner"]
        assert (await client.get("/things", params={"day": "2026-01-05"})).status_code == 200
        timestamp = await client.get("/things", params={"day": "-7.06e-223"})  # pydantic: 1970-01-01
        assert timestamp.status_code == 422 and [e["field"] for e in timestamp.json()["errors"]] == ["query.day"]
        assert (await client.get("/healthz", params={"probe": 1})).status_code == 200, "probes stay lenient"
