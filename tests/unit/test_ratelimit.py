"""The partner routes' rate limit (runtime.ratelimit): the token bucket, and the 429 a guarded app
answers (problem details, Retry-After), per subject, staff exempt; the bucket kept in the database
for every instance (its update pipeline, shared, the fallback while the database does not answer)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import bson
import httpx
import pytest
from fastapi import Depends, FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError
from secantus.update import apply_update

from runtime.auth import PARTNER, READER, Principal, allow, issue_token, staff
from runtime.http import install_error_handlers
from runtime.ratelimit import RETRY_AFTER_FAILURE, RateLimiter, TokenBuckets, bucket_update
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


# -- the buckets shared by every instance of a service (runtime.ratelimit.RateLimiter) -----------------
# The update pipeline runs here on SecantusDB's own expression evaluator (the engine the platform's
# database runs; tests/integration/test_rate_limit_shared.py runs it on the real server).
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Store:
    """A collection of bucket documents in memory, each request applying the real update pipeline
    with ``$$NOW`` from a clock of ours; ``down`` makes it fail as an unreachable server does;
    ``raced`` makes the next inserts lose to another instance's (the document is there, created by it)."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.docs, self.calls, self.down, self.raced = clock, {}, 0, False, 0

    async def create_index(self, *args, **kwargs) -> str:
        return "expires_at_ttl"

    async def insert_one(self, doc: dict) -> None:
        self.calls += 1
        if self.down:
            raise ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connection refused")
        if self.raced:
            self.raced -= 1
            self.docs.setdefault(doc["_id"], stored(doc))
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("E11000 duplicate key error collection: rate_limits index: _id_")
        self.docs[doc["_id"]] = stored(doc)

    async def find_one_and_update(self, query, update, *, projection, return_document, upsert=False):
        self.calls += 1
        if self.down:
            raise ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connection refused")
        assert not upsert and return_document is ReturnDocument.AFTER
        key = query["_id"]
        if key not in self.docs:
            return None
        now = EPOCH + timedelta(seconds=self.clock.now)
        self.docs[key] = stored(apply_update(self.docs[key], update, let={"NOW": now}))
        return {name: self.docs[key][name] for name, shown in projection.items() if shown}


def stored(doc: dict) -> dict:
    """``doc`` as the server reads it back: through BSON, its dates without a time zone (what
    SecantusDB's own evaluator then meets)."""
    return bson.decode(bson.encode(doc))


async def limiter_on(store: Store | None, clock: Clock, *, rate: float = 1.0, burst: int = 2,
                     service: str = "sharedtest") -> RateLimiter:
    limiter = RateLimiter(rate, burst, service=service, clock=clock)
    if store is not None:
        await limiter.share(store)
    return limiter


@settings(max_examples=150, deadline=None)
@given(rate=st.sampled_from([0.25, 0.5, 1.0, 2.0, 8.0]), burst=st.integers(1, 6),
       steps=st.lists(st.integers(0, 40), min_size=1, max_size=40))
def test_the_database_bucket_is_the_process_bucket_on_the_database_clock(rate, burst, steps):
    """The pipeline and TokenBuckets agree, request after request (steps of 1/8 s: exact in binary)."""
    clock = Clock()
    local, doc = TokenBuckets(rate, burst, clock=clock), {"_id": "p"}
    pipeline = bucket_update(rate, burst)
    for step in steps:
        clock.now += step / 8
        wait = local.take("p")
        doc = stored(apply_update(doc, pipeline, let={"NOW": EPOCH + timedelta(seconds=clock.now)}))
        assert doc["granted"] is (wait == 0)
        if not doc["granted"]:
            assert (1 - doc["tokens"]) / rate == pytest.approx(wait)
        assert 0 <= doc["tokens"] <= burst
        assert doc["at_ms"] == (EPOCH + timedelta(seconds=clock.now)).timestamp() * 1000
        # the TTL index may drop the document from expires_at on: the bucket is full by then
        expires_ms = doc["expires_at"].replace(tzinfo=timezone.utc).timestamp() * 1000
        assert doc["tokens"] + (expires_ms - doc["at_ms"]) / 1000 * rate >= burst


def test_a_clock_stepping_back_adds_no_token():
    pipeline, now = bucket_update(1.0, 1), EPOCH + timedelta(hours=1)
    doc = stored(apply_update({"_id": "p"}, pipeline, let={"NOW": now}))
    assert doc["granted"] and doc["tokens"] == 0
    earlier = stored(apply_update(doc, pipeline, let={"NOW": now - timedelta(seconds=30)}))
    assert not earlier["granted"] and earlier["at_ms"] == now.timestamp() * 1000, "the bucket's time stays"
    assert not apply_update(earlier, pipeline, let={"NOW": now + timedelta(milliseconds=500)})["granted"]
    assert apply_update(earlier, pipeline, let={"NOW": now + timedelta(seconds=1)})["granted"]


async def test_instances_sharing_the_store_grant_one_burst_between_them():
    clock = Clock()
    store = Store(clock)
    one, two = await limiter_on(store, clock, burst=3), await limiter_on(store, clock, burst=3)
    waits = [await (one if i % 2 else two).take("partner-a") for i in range(8)]
    assert waits[:3] == [0, 0, 0] and all(w > 0 for w in waits[3:]), waits
    assert waits[-1] == pytest.approx(1.0), "a token a second: the next one in 1 s"
    clock.now += 1
    assert await one.take("partner-a") == 0 and await two.take("partner-a") > 0
    assert await two.take("partner-b") == 0, "another partner: its own bucket"
    # the same instances, each on its own store (per-process buckets): twice the burst
    apart = [await limiter_on(Store(clock), clock, burst=3) for _ in range(2)]
    assert sum([await apart[i % 2].take("partner-a") == 0 for i in range(8)]) == 6


async def test_one_round_trip_a_request_and_three_for_a_partner_s_first():
    clock = Clock()
    store = Store(clock)
    limiter = await limiter_on(store, clock, burst=3)
    assert await limiter.take("partner-a") == 0 and store.calls == 3, "not found, created full, taken"
    assert await limiter.take("partner-a") == 0 and store.calls == 4
    assert await limiter.take("partner-a") == 0 and store.calls == 5
    assert store.docs["partner-a"]["tokens"] == 0
    del store.docs["partner-a"]  # the TTL index dropped it, full again
    clock.now += 3
    assert await limiter.take("partner-a") == 0 and store.calls == 8


async def test_two_first_requests_at_once_meet_on_one_bucket():
    clock = Clock()
    store = Store(clock)
    store.raced = 1  # another instance created the bucket and took from it meanwhile
    limiter = await limiter_on(store, clock, service="racetest", burst=2)
    other = await limiter_on(store, clock, service="racetest", burst=2)
    before = fallbacks("racetest")
    assert await limiter.take("partner-a") == 0 and await other.take("partner-a") == 0
    assert await limiter.take("partner-a") > 0 and fallbacks("racetest") == before


def fallbacks(service: str) -> float:
    return REGISTRY.get_sample_value("cress_rate_limit_fallbacks_total", {"service": service}) or 0


async def test_while_the_database_does_not_answer_each_instance_limits_alone(caplog):
    clock = Clock()
    store = Store(clock)
    limiter = await limiter_on(store, clock, service="fallbacktest", rate=0.01, burst=2)
    assert await limiter.take("partner-a") == 0  # shared: one token of two left in the database
    before, calls = fallbacks("fallbacktest"), store.calls
    store.down = True
    with caplog.at_level(logging.INFO, logger="runtime.ratelimit"):
        waits = [await limiter.take("partner-a") for _ in range(3)]
        assert waits[:2] == [0, 0] and waits[2] > 0, "the process's own bucket (full: it had not been used)"
        assert store.calls == calls + 1, "after a failure the database is left alone for a while"
        assert fallbacks("fallbacktest") == before + 3
        clock.now += RETRY_AFTER_FAILURE
        assert await limiter.take("partner-a") > 0 and store.calls == calls + 2, "then asked again"
        store.down = False
        clock.now += RETRY_AFTER_FAILURE
        assert await limiter.take("partner-a") == 0 and store.calls == calls + 3, "back: its last token"
        assert await limiter.take("partner-a") > 0 and fallbacks("fallbacktest") == before + 4
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "did not answer" in warnings[0].getMessage(), "one warning per outage"
    assert any("answers again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


async def test_an_unreachable_server_is_a_fallback_not_an_error():
    """The real driver's errors (no server listens on the port): the request is decided locally."""
    from pymongo import AsyncMongoClient

    from runtime.stack import free_port

    client = AsyncMongoClient(f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
                              serverSelectionTimeoutMS=2000)
    try:
        limiter = RateLimiter(1.0, 1, service="unreachabletest", timeout=0.2)
        await limiter.share(client["t"]["rate_limits"])
        before = fallbacks("unreachabletest")
        assert await limiter.take("partner-a") == 0 and await limiter.take("partner-a") > 0
        assert fallbacks("unreachabletest") == before + 2
    finally:
        await client.close()


async def test_an_app_without_a_database_limits_in_its_process():
    clock = Clock()
    limiter = await limiter_on(None, clock, service="nodbtest", burst=1)
    before = fallbacks("nodbtest")
    assert await limiter.take("p") == 0 and await limiter.take("p") > 0
    assert fallbacks("nodbtest") == before, "by design, not a fallback"


# -- what a partner is told, and what is counted ---------------------------------------------------------------
def test_retry_after_is_the_whole_seconds_until_a_token_is_back_and_at_least_one():
    from runtime.ratelimit import RateLimited

    for wait, seconds in ((0.01, 1), (0.5, 1), (1.0, 1), (1.2, 2), (99.99, 100)):
        refused = RateLimited("too many", wait)
        assert refused.headers == {"Retry-After": str(seconds)} and refused.extra == {"retry_after_seconds": seconds}
    assert RateLimited("too many", 0.3).status == 429


async def test_a_request_through_two_partner_gates_takes_one_token():
    app = FastAPI()
    app.state.settings = SETTINGS
    install_error_handlers(app)
    partners = allow(PARTNER)

    @app.get("/gated-twice", dependencies=[Depends(partners)])
    async def gated_twice(principal: Principal = Depends(allow(staff("membership"), PARTNER))) -> dict:
        return {"subject": principal.subject}

    token = issue_token(SETTINGS, "partner-twice", [PARTNER])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        assert [(await c.get("/gated-twice")).status_code for _ in range(4)] == [200, 200, 200, 429], "a burst of 3"


def test_a_service_s_limiter_is_made_of_its_settings():
    from runtime.ratelimit import limiter

    made = limiter(Settings(service_name="events", partner_rate_per_second=4.0, partner_rate_burst=7,
                            rate_limit_timeout_seconds=0.25))
    assert (made.rate, made.burst, made.service, made.timeout) == (4.0, 7, "events", 0.25)
    assert (made.local.rate, made.local.burst) == (4.0, 7) and not made.shared


# -- the TTL index, and a database that refuses it ---------------------------------------------------------------
class Swept(Store):
    """A store that keeps the TTL index share() asks for and sweeps as the server's TTL monitor does."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.ttl: tuple[str, int] | None = None

    async def create_index(self, keys, *, expireAfterSeconds=None, **kwargs) -> str:  # noqa: N803 (PyMongo's)
        self.ttl = (keys, expireAfterSeconds)
        return "expires_at_ttl"

    def sweep(self) -> None:
        (name, after) = self.ttl
        now = EPOCH + timedelta(seconds=self.clock.now)
        for key, doc in list(self.docs.items()):
            expires = doc.get(name)
            if isinstance(expires, datetime) and expires.replace(tzinfo=timezone.utc) + timedelta(seconds=after) <= now:
                del self.docs[key]


async def test_the_ttl_index_drops_a_bucket_once_it_is_full_again_and_not_before():
    clock = Clock()
    store = Swept(clock)
    limiter = await limiter_on(store, clock, rate=1.0, burst=2)
    assert [await limiter.take("partner-a") for _ in range(2)] == [0, 0]  # empty now: full again in 2 s
    clock.now += 1.5
    store.sweep()
    assert "partner-a" in store.docs, "half a bucket is not a full one"
    clock.now += 0.5
    store.sweep()
    assert "partner-a" not in store.docs, "full again: the document is not needed"
    assert [await limiter.take("partner-a") for _ in range(3)][-1] > 0, "a missing bucket is a full one, no more"


async def test_a_database_without_ttl_indexes_still_shares_the_buckets():
    from pymongo.errors import OperationFailure

    clock = Clock()
    store = Store(clock)

    async def refused(*args, **kwargs):
        raise OperationFailure("TTL indexes are not supported", code=67)

    store.create_index = refused
    limiter = await limiter_on(store, clock, burst=1)
    assert limiter.shared and await limiter.take("partner-a") == 0 and "partner-a" in store.docs


async def test_the_first_request_the_database_fails_is_logged_at_once(caplog):
    clock = Clock()
    store = Store(clock)
    limiter = await limiter_on(store, clock, service="firstfailuretest")
    store.down = True
    with caplog.at_level(logging.WARNING, logger="runtime.ratelimit"):
        assert await limiter.take("partner-a") == 0
    assert [r.getMessage() for r in caplog.records if "did not answer" in r.getMessage()], "the outage is told"


async def test_attached_to_the_service_s_database_the_buckets_are_its_rate_limits_written_without_a_majority():
    """``attach`` (the app's lifespan): the collection every instance of the service shares, written with
    ``w: 1`` — one round trip to the primary; a bucket lost in a fail-over only grants a few requests more."""
    clock = Clock()
    store = Store(clock)
    asked = []

    def get_collection(name, *, write_concern):
        asked.append((name, write_concern.document))
        return store

    db = SimpleNamespace(db=SimpleNamespace(raw=SimpleNamespace(get_collection=get_collection)))
    limiter = RateLimiter(1.0, 1, service="attachtest", clock=clock)
    await limiter.attach(db)
    assert asked == [("rate_limits", {"w": 1})]
    assert limiter.shared and await limiter.take("partner-a") == 0 and "partner-a" in store.docs


async def test_while_the_database_does_not_answer_each_partner_keeps_its_own_bucket():
    clock = Clock()
    store = Store(clock)
    limiter = await limiter_on(store, clock, service="ownbuckettest", rate=0.01, burst=2)
    store.down = True
    assert [await limiter.take("partner-a") for _ in range(3)][-1] > 0
    assert await limiter.take("partner-b") == 0, "partner-a's flood does not refuse partner-b"


async def test_each_outage_is_told_once_and_so_is_each_return(caplog):
    clock = Clock()
    store = Store(clock)
    limiter = await limiter_on(store, clock, service="outagestest", rate=100.0, burst=5)
    with caplog.at_level(logging.INFO, logger="runtime.ratelimit"):
        for down in (True, False, False, True, False, False):
            store.down = down
            clock.now += RETRY_AFTER_FAILURE
            await limiter.take("partner-a")
    told = [r.getMessage() for r in caplog.records]
    assert [("did not answer" in m, "answers again" in m) for m in told] == [(True, False), (False, True)] * 2


async def test_a_shared_bucket_tells_the_wait_for_the_part_of_a_token_missing():
    clock = Clock()
    store = Store(clock)
    limiter = await limiter_on(store, clock, rate=2.0, burst=1)
    assert await limiter.take("partner-a") == 0
    clock.now += 0.25  # half a token back: the other half comes in 0.25 s
    assert await limiter.take("partner-a") == pytest.approx(0.25)


def test_a_bucket_is_forgotten_only_once_refilled_whatever_the_rate():
    clock = Clock()
    buckets = TokenBuckets(rate=0.5, burst=2, clock=clock, max_keys=1)
    assert buckets.take("a") == buckets.take("a") == 0
    clock.now += 1  # half a token back: not full
    buckets.take("b")  # a second key: the full buckets are dropped, not "a"
    assert buckets.take("a") == pytest.approx(1.0), "a's half token is still there: the other half in 1 s"
