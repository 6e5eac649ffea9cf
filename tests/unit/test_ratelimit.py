"""The partner routes' rate limit (runtime.ratelimit): the token bucket, and the 429 a guarded app
answers (problem details, Retry-After), per subject, staff exempt."""
from __future__ import annotations

import httpx
import pytest
from fastapi import Depends, FastAPI
from prometheus_client import REGISTRY

from runtime.auth import PARTNER, READER, Principal, allow, issue_token, staff
from runtime.http import install_error_handlers
from runtime.ratelimit import TokenBuckets
from runtime.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_grants_its_burst_then_its_rate():
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token comes back every 0.5 s
    assert buckets.take("b") == 0.0  # another key: its own bucket
    clock.now += 0.25
    assert buckets.take("a") == pytest.approx(0.25)
    clock.now += 0.25
    assert buckets.take("a") == 0.0
    clock.now += 100  # refilled up to the burst, not beyond
    assert [buckets.take("a") for _ in range(4)][-1] > 0


def test_refilled_buckets_are_forgotten_beyond_max_keys():
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=2, clock=clock, max_keys=3)
    for key in "abc":
        buckets.take(key)
    clock.now += 10
    buckets.take("d")  # a fourth key: the three refilled buckets are dropped
    assert set(buckets._buckets) == {"d"}  # noqa: SLF001


SETTINGS = Settings(service_name="ratetest", partner_rate_per_second=0.01, partner_rate_burst=3)


@pytest.fixture
def client():
    app = FastAPI()
    app.state.settings = SETTINGS
    install_error_handlers(app)

    @app.get("/standing")
    async def standing(principal: Principal = Depends(allow(staff("membership"), READER, PARTNER))) -> dict:
        return {"subject": principal.subject}

    @app.get("/organisations")
    async def organisations(principal: Principal = Depends(allow(staff("membership"), READER))) -> dict:
        return {"subject": principal.subject}

    async def get(path: str, subject: str, *roles: str) -> httpx.Response:
        token = issue_token(SETTINGS, subject, list(roles))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            return await c.get(path, headers={"Authorization": f"Bearer {token}"})

    return get


def refusals() -> float:
    return REGISTRY.get_sample_value("cress_rate_limited_total", {"service": "ratetest", "route": "/standing"}) or 0


async def test_a_partner_over_its_burst_gets_429_with_retry_after(client):
    before = refusals()
    for _ in range(3):
        assert (await client("/standing", "partner-a", PARTNER)).status_code == 200
    r = await client("/standing", "partner-a", PARTNER)
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert 1 <= int(r.headers["retry-after"]) <= 100  # a token every 100 s
    body = r.json()
    assert body["title"] == "Too many requests" and "partner-a" in body["detail"]
    assert body["retry_after_seconds"] == int(r.headers["retry-after"])
    assert refusals() == before + 1
    # another partner, staff and admin are not affected
    assert (await client("/standing", "partner-b", PARTNER)).status_code == 200
    for _ in range(5):
        assert (await client("/standing", "partner-a", "staff:membership")).status_code == 200
        assert (await client("/standing", "root", "admin")).status_code == 200


async def test_routes_not_open_to_partners_are_not_limited(client):
    for _ in range(6):
        assert (await client("/organisations", "reader-1", READER)).status_code == 200
    for _ in range(3):
        assert (await client("/standing", "reader-1", READER)).status_code == 200
    assert (await client("/standing", "reader-1", READER)).status_code == 429  # a reader on a partner route is


async def test_staff_can_be_limited_too():
    strict = SETTINGS.model_copy(update={"rate_limit_staff": True})
    app = FastAPI()
    app.state.settings = strict
    install_error_handlers(app)

    @app.get("/standing")
    async def standing(principal: Principal = Depends(allow(staff("membership"), PARTNER))) -> dict:
        return {"subject": principal.subject}

    token = issue_token(strict, "camille", ["staff:membership"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        assert [(await c.get("/standing")).status_code for _ in range(4)] == [200, 200, 200, 429]
