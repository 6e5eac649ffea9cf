"""The partner routes' rate limit holds across the instances of one service (runtime.ratelimit).

Two instances of membership run on one database, as two replicas behind the gateway: two apps
(``create_app``), each with its lifespan and its own MongoDB client. A partner sending to both at
once gets one burst between them (not one each), on the real database (the session's SecantusDB,
or ``MONGODB_URI``): the update pipeline, ``$$NOW``, the upsert and the TTL index are the server's.
Every answer must come from the shared bucket: a request decided by an instance alone (the database
slow or refusing the update: ``cress_rate_limit_fallbacks_total``) fails the test, whatever it granted.
"""
from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from prometheus_client import REGISTRY

from runtime.auth import PARTNER, issue_token
from runtime.ratelimit import COLLECTION
from tests.integration.conftest import service_settings, serving

pytestmark = pytest.mark.integration

BURST, RATE = 4, 0.01  # a token every 100 s: within the test, (about) the burst is all there is
ROUTE = "/members/in-good-standing"
#: Generous: on a loaded shared machine the database may take seconds; the test is about sharing.
TIMEOUT = 10.0


def fallbacks() -> float:
    return REGISTRY.get_sample_value("cress_rate_limit_fallbacks_total", {"service": "membership"}) or 0


def partner(app, settings, subject: str) -> httpx.AsyncClient:
    token = issue_token(settings, subject, [PARTNER])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://membership.test",
                             headers={"Authorization": f"Bearer {token}"})


async def test_two_instances_grant_a_partner_one_burst_between_them(infrastructure):
    settings = service_settings(infrastructure, "membership", partner_rate_burst=BURST, partner_rate_per_second=RATE,
                                rate_limit_timeout_seconds=TIMEOUT)
    before = fallbacks()
    async with serving("membership", settings, consumers=False, jobs=False) as one, \
            serving("membership", settings, consumers=False, jobs=False) as two:
        assert one.state.rate_limits is not two.state.rate_limits, "two instances, each its own limiter"
        assert one.state.rate_limits.shared and two.state.rate_limits.shared
        async with partner(one, settings, "region-idf") as via_one, partner(two, settings, "region-idf") as via_two:
            started = time.monotonic()
            # 3 × the burst at once, half through each instance: the bucket is met concurrently
            answers = await asyncio.gather(*[(via_one if i % 2 else via_two).get(ROUTE) for i in range(3 * BURST)])
            elapsed = time.monotonic() - started
            granted = [r for r in answers if r.status_code == 200]
            refused = [r for r in answers if r.status_code == 429]
            assert len(granted) + len(refused) == len(answers), [r.text for r in answers]
            assert BURST <= len(granted) <= BURST + RATE * elapsed, \
                f"{len(granted)} granted by two instances for a burst of {BURST}"
            assert all(1 <= int(r.headers["retry-after"]) <= 1 / RATE for r in refused)
            # each instance refuses now: the bucket is one
            assert (await via_one.get(ROUTE)).status_code == 429
            assert (await via_two.get(ROUTE)).status_code == 429
        async with partner(two, settings, "metropole") as other:  # another partner: its own bucket
            assert (await other.get(ROUTE)).status_code == 200

        assert fallbacks() == before, "every request was decided by the shared bucket"
        buckets = one.state.platform.db.db.raw[COLLECTION]
        stored = {doc["_id"]: doc async for doc in buckets.find()}
        assert set(stored) == {"region-idf", "metropole"}
        spent = stored["region-idf"]
        assert 0 <= spent["tokens"] < 1
        assert spent["expires_at"].timestamp() * 1000 - spent["at_ms"] == pytest.approx(BURST / RATE * 1000)
        ttl = [index for index in (await buckets.index_information()).values() if "expireAfterSeconds" in index]
        assert [(index["key"], index["expireAfterSeconds"]) for index in ttl] == [([("expires_at", 1)], 0)]


async def test_a_restarted_instance_keeps_the_partner_s_bucket(infrastructure):
    """The bucket lives in the database: a new instance (a restart, a scale-out) finds it spent."""
    settings = service_settings(infrastructure, "membership", partner_rate_burst=2, partner_rate_per_second=RATE,
                                rate_limit_timeout_seconds=TIMEOUT)
    before = fallbacks()
    async with serving("membership", settings, consumers=False, jobs=False) as first:
        async with partner(first, settings, "region-idf") as c:
            assert [(await c.get(ROUTE)).status_code for _ in range(2)] == [200, 200]
    async with serving("membership", settings, consumers=False, jobs=False) as second:
        async with partner(second, settings, "region-idf") as c:
            assert (await c.get(ROUTE)).status_code == 429
    assert fallbacks() == before
