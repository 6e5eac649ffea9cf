"""Partner webhooks on the real broker and database, to a real HTTP receiver (127.0.0.1, allowed by
configuration): a partner registers an endpoint with its own token; an organisation registered
through membership's API reaches it signed (verified with standardwebhooks); retries after 500;
410 disables; 3xx fails without following; Retry-After honoured; rotation; replay; the test event;
SSRF refusals at registration and at delivery; one hanging endpoint does not hold others; partner
isolation. The retry schedule is shortened through ``WEBHOOKS_*`` settings."""
from __future__ import annotations

import json
import threading
from contextlib import asynccontextmanager

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from runtime.auth import issue_token
from services.webhooks.domain.addresses import AllowList
from tests.integration.conftest import eventually, fields, header, read_topic, service_settings, serving, unique_siret
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.integration

SCHEDULE = [0, 0.2, 0.2]  # three attempts


@pytest.fixture
def webhook_env(monkeypatch):
    for name, value in {"RETRY_SCHEDULE_SECONDS": json.dumps(SCHEDULE), "RETRY_JITTER": "0",
                        "ALLOW_HOSTS": '["127.0.0.1/32"]', "POLL_INTERVAL_SECONDS": "0.05",
                        "REQUEST_TIMEOUT_SECONDS": "2", "RETRY_AFTER_CAP_SECONDS": "5"}.items():
        monkeypatch.setenv(f"WEBHOOKS_{name}", value)


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
async def webhooks(infrastructure, webhook_env):
    settings = service_settings(infrastructure, "webhooks")
    async with serving("webhooks", settings) as app:
        yield app, settings


@asynccontextmanager
async def as_(app, settings, subject: str, *roles: str):
    token = issue_token(settings, subject, list(roles))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://webhooks.test",
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


async def register(client, url: str, types=("org.cress.membership.*",), **extra) -> dict:
    r = await client.post("/endpoints", json={"url": url, "event_types": list(types), **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def secret(client, endpoint_id: str) -> str:
    r = await client.get(f"/endpoints/{endpoint_id}/secret")
    assert r.status_code == 200, r.text
    return r.json()["key"]


def verified(request, key: str) -> dict:
    return Webhook(key).verify(request.body, request.headers)


async def settled(client, message_id: str, status: str) -> dict:
    async def check():
        m = (await client.get(f"/messages/{message_id}")).json()
        return m if m["status"] == status else None
    return await eventually(check, timeout=20)


async def test_an_event_of_membership_reaches_the_partner_signed(infrastructure, webhooks, receiver):
    app, ws = webhooks
    ms = service_settings(infrastructure, "membership")
    consumer = app.state.platform.consumers[0]
    await consumer.wait_assigned()
    async with as_(app, ws, "partner-a", "partner") as a, serving("membership", ms) as membership_app:
        receiver.script("/hooks", then=(200, {}, "ok"))
        ep = await register(a, receiver.url("/hooks"), ["org.cress.membership.organisation-*"],
                            headers={"X-Partner-Token": "t0k"})
        other = await register(a, receiver.url("/other"), ["org.cress.events.*"])  # matches nothing published here
        key = await secret(a, ep["id"])
        async with as_(membership_app, ms, "staff", "admin") as m:
            r = await m.post("/organisations", json={
                "siret": unique_siret(), "name": "Structure ESS", "legal_form": "association", "departement": "93",
                "commune": "Montreuil", "sector": "économie circulaire", "headcount": 5,
                "annual_budget_cents": 20_000_000, "on": "2024-03-01"})
            assert r.status_code == 201, r.text
            org = r.json()["id"]
        [request] = await eventually(lambda: receiver.received("/hooks"))
        payload = verified(request, key)
        assert payload["type"] == "org.cress.membership.organisation-registered.v1"
        assert payload["data"]["organisation_id"] == org and set(payload) == {"type", "timestamp", "data"}
        assert request.headers["x-partner-token"] == "t0k" and request.headers["content-type"] == "application/json"
        [record] = await read_topic(ms, "membership.organisation",
                                    lambda r: header(r, "ce_subject") == org
                                    and header(r, "ce_type").endswith("organisation-registered.v1"))
        assert request.headers["webhook-id"] == header(record, "ce_id")  # the CloudEvents id: idempotency key
        with pytest.raises(WebhookVerificationError):
            Webhook(key).verify(request.body.replace(org.encode(), b"org-forged"), request.headers)
        page = await eventually(lambda: _delivered(a, ep["id"]))
        [message] = page["items"]
        attempts = (await a.get(f"/messages/{message['id']}/attempts")).json()
        assert [(t["outcome"], t["status_code"]) for t in attempts] == [("delivered", 200)]
        assert attempts[0]["response_excerpt"] == "ok" and attempts[0]["latency_ms"] >= 0
        assert (await a.get(f"/endpoints/{other['id']}/messages")).json()["total"] == 0
        assert receiver.received("/other") == []


async def _disabled(client, endpoint_id: str):
    endpoint = (await client.get(f"/endpoints/{endpoint_id}")).json()
    return endpoint if endpoint["enabled"] is False else None


async def _delivered(client, endpoint_id: str):
    page = (await client.get(f"/endpoints/{endpoint_id}/messages", params={"status": "delivered"})).json()
    return page if page["total"] else None


async def test_retries_after_500_then_success(webhooks, receiver):
    app, ws = webhooks
    async with as_(app, ws, "partner-r", "partner") as a:
        receiver.script("/flaky", (500, {}, "down"), then=204)
        ep = await register(a, receiver.url("/flaky"))
        message = (await a.post(f"/endpoints/{ep['id']}/test")).json()
        assert message["event_type"] == "org.cress.webhooks.endpoint-tested.v1"
        done = await settled(a, message["id"], "delivered")
        assert done["attempts"] == 2
        attempts = (await a.get(f"/messages/{message['id']}/attempts")).json()
        assert [(t["outcome"], t["status_code"], t["response_excerpt"]) for t in attempts] == \
            [("http_error", 500, "down"), ("delivered", 204, None)]
        first, second = receiver.received("/flaky")
        assert first.headers["webhook-id"] == second.headers["webhook-id"] == message["webhook_id"]
        assert first.body == second.body
        key = await secret(a, ep["id"])
        assert verified(second, key)["data"]["endpoint_id"] == ep["id"]


async def test_410_disables_the_endpoint_and_tells_the_partner_elsewhere(webhooks, receiver):
    app, ws = webhooks
    async with as_(app, ws, "partner-g", "partner") as a:
        receiver.script("/gone", 410)
        gone = await register(a, receiver.url("/gone"))
        ok = await register(a, receiver.url("/still-here"))
        message = (await a.post(f"/endpoints/{gone['id']}/test")).json()
        assert (await settled(a, message["id"], "failed"))["attempts"] == 1  # no retry after 410
        endpoint = await eventually(lambda: _disabled(a, gone["id"]))
        assert endpoint["disabled_reason"] == "gone"
        [notice] = await eventually(lambda: receiver.received("/still-here"))
        payload = verified(notice, await secret(a, ok["id"]))
        assert payload["type"] == "org.cress.webhooks.endpoint-disabled.v1"
        assert payload["data"] == {**payload["data"], "endpoint_id": gone["id"], "reason": "gone"}
        records = await read_topic(ws, "webhooks.endpoint", lambda r: header(r, "ce_subject") == gone["id"]
                                   and header(r, "ce_type") == "org.cress.webhooks.endpoint-disabled.v1")
        assert len(records) == 1
        r = await a.post(f"/endpoints/{gone['id']}/test")
        assert r.status_code == 409  # disabled: enable it first
        assert (await a.post(f"/endpoints/{gone['id']}/enable")).status_code == 200


async def test_a_redirect_is_a_failure_and_is_not_followed(webhooks, receiver):
    app, ws = webhooks
    async with as_(app, ws, "partner-3", "partner") as a:
        receiver.script("/moved", then=(302, {"Location": receiver.url("/target")}, ""))
        ep = await register(a, receiver.url("/moved"))
        message = (await a.post(f"/endpoints/{ep['id']}/test")).json()
        failed = await settled(a, message["id"], "failed")
        assert failed["attempts"] == len(SCHEDULE) and failed["last_outcome"] == "redirect"
        assert receiver.received("/target") == []
        attempts = (await a.get(f"/messages/{message['id']}/attempts")).json()
        assert [t["status_code"] for t in attempts] == [302] * len(SCHEDULE)
        records = await read_topic(ws, "webhooks.endpoint", lambda r: header(r, "ce_subject") == ep["id"]
                                   and header(r, "ce_type") == "org.cress.webhooks.message-failed.v1")
        assert len(records) == 1


async def test_retry_after_is_honoured(webhooks, receiver):
    app, ws = webhooks
    async with as_(app, ws, "partner-t", "partner") as a:
        receiver.script("/busy", (429, {"Retry-After": "2"}, "slow down"), then=200)
        ep = await register(a, receiver.url("/busy"))
        message = (await a.post(f"/endpoints/{ep['id']}/test")).json()
        await settled(a, message["id"], "delivered")
        first, second = receiver.received("/busy")
        assert second.at - first.at >= 1.9  # the schedule alone would have retried after 0.2 s
        attempts = (await a.get(f"/messages/{message['id']}/attempts")).json()
        assert attempts[0]["outcome"] == "throttled"


async def test_rotation_signs_with_the_old_and_the_new_secret(webhooks, receiver):
    app, ws = webhooks
    async with as_(app, ws, "partner-k", "partner") as a:
        ep = await register(a, receiver.url("/rotated"))
        old = await secret(a, ep["id"])
        r = await a.post(f"/endpoints/{ep['id']}/secret/rotate", json={})
        assert r.status_code == 200, r.text
        new = r.json()["key"]
        assert new != old and [k["key"] for k in r.json()["keys"]] == [new, old]
        assert r.json()["keys"][1]["expires_at"] is not None
        message = (await a.post(f"/endpoints/{ep['id']}/test")).json()
        await settled(a, message["id"], "delivered")
        [request] = receiver.received("/rotated")
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        verified(request, old)
        verified(request, new)
        records = await read_topic(ws, "webhooks.endpoint", lambda r: header(r, "ce_subject") == ep["id"]
                                   and header(r, "ce_type") == "org.cress.webhooks.endpoint-secret-rotated.v1")
        assert old.encode() not in records[0].value and new.encode() not in records[0].value


async def test_replay_one_message_and_every_failed_one_since_a_date(webhooks, receiver):
    app, ws = webhooks
    async with as_(app, ws, "partner-p", "partner") as a:
        receiver.script("/replay", then=500)
        ep = await register(a, receiver.url("/replay"))
        first = (await a.post(f"/endpoints/{ep['id']}/test")).json()
        second = (await a.post(f"/endpoints/{ep['id']}/test")).json()
        await settled(a, first["id"], "failed")
        await settled(a, second["id"], "failed")
        assert (await a.post(f"/messages/{first['id']}/replay")).status_code == 202
        r = await a.post(f"/messages/{first['id']}/replay")
        assert r.status_code == 409  # pending already
        await settled(a, first["id"], "failed")
        receiver.script("/replay", then=200)
        assert (await a.post(f"/messages/{first['id']}/replay")).status_code == 202
        done = await settled(a, first["id"], "delivered")
        assert done["attempts"] == 2 * len(SCHEDULE) + 1 and done["webhook_id"] == first["webhook_id"]
        r = await a.post(f"/endpoints/{ep['id']}/replay", json={"since": first["created_at"]})
        assert r.status_code == 202 and r.json() == {"replayed": 1}  # the second one; the first is delivered
        await settled(a, second["id"], "delivered")
        r = await a.post(f"/endpoints/{ep['id']}/replay", json={"since": "2024-01-01T00:00:00"})
        assert r.status_code == 422 and fields(r) == ["since"]
        records = await read_topic(ws, "webhooks.endpoint", lambda r: header(r, "ce_subject") == ep["id"]
                                   and header(r, "ce_type") == "org.cress.webhooks.messages-replayed.v1", count=3)
        assert len(records) == 3  # the refused replay (409) recorded nothing


async def test_ssrf_refused_at_registration_and_at_delivery(webhooks, receiver):
    app, ws = webhooks
    async with as_(app, ws, "partner-s", "partner") as a:
        for url in ("https://10.1.2.3/hook", "https://169.254.169.254/latest/meta-data", "http://127.0.0.2:1/x", "https://[::ffff:10.0.0.1]/x",
                    "https://[::1]/x", "https://0.0.0.0/"):
            r = await a.post("/endpoints", json={"url": url, "event_types": ["org.cress.*"]})
            assert r.status_code == 422 and fields(r) == ["url"], (url, r.text)
        r = await a.post("/endpoints", json={"url": "https://x.example/", "event_types": ["org.cress.nothing.*"]})
        assert r.status_code == 422 and fields(r) == ["event_types.0"] and "org.cress.nothing.*" in r.text
        r = await a.post("/endpoints", json={"url": "https://x.example/", "event_types": ["org.cress.*"],
                                             "headers": {"Webhook-Id": "x"}})
        assert r.status_code == 422 and fields(r) == ["headers.Webhook-Id"]
        ep = await register(a, receiver.url("/inward"))
        app.state.platform.commands.deliverer.allow = AllowList()  # the configuration no longer allows 127.0.0.1
        message = (await a.post(f"/endpoints/{ep['id']}/test")).json()
        await settled(a, message["id"], "failed")
        attempts = (await a.get(f"/messages/{message['id']}/attempts")).json()
        assert {t["outcome"] for t in attempts} == {"ssrf_refused"} and "loopback" in attempts[0]["error"]
        assert receiver.received("/inward") == []


async def test_a_hanging_endpoint_does_not_hold_the_others(webhooks, receiver):
    app, ws = webhooks
    hold = threading.Event()
    async with as_(app, ws, "partner-h", "partner") as a:
        receiver.script("/hang", hold=hold)
        slow = await register(a, receiver.url("/hang"))
        fast = await register(a, receiver.url("/fast"))
        for _ in range(app.state.platform.commands.settings.per_endpoint_concurrency + 2):  # more than its slots
            assert (await a.post(f"/endpoints/{slow['id']}/test")).status_code == 202
        quick = [(await a.post(f"/endpoints/{fast['id']}/test")).json() for _ in range(3)]
        for message in quick:
            await settled(a, message["id"], "delivered")
        assert not hold.is_set() and receiver.received("/hang") == []  # still hanging
        hold.set()


async def test_partners_never_see_each_others_endpoints(webhooks, receiver):
    app, ws = webhooks
    async with as_(app, ws, "partner-a", "partner") as a, as_(app, ws, "partner-b", "partner") as b, \
            as_(app, ws, "staff-1", "staff:partnerships") as staff:
        ep = await register(a, receiver.url("/mine"))
        message = (await a.post(f"/endpoints/{ep['id']}/test")).json()
        await settled(a, message["id"], "delivered")
        for method, path, body in [("GET", f"/endpoints/{ep['id']}", None), ("PATCH", f"/endpoints/{ep['id']}",
                                                                              {"description": "mine now"}),
                                   ("GET", f"/endpoints/{ep['id']}/secret", None),
                                   ("POST", f"/endpoints/{ep['id']}/secret/rotate", {}),
                                   ("POST", f"/endpoints/{ep['id']}/disable", None),
                                   ("DELETE", f"/endpoints/{ep['id']}", None),
                                   ("GET", f"/endpoints/{ep['id']}/messages", None),
                                   ("GET", f"/messages/{message['id']}", None),
                                   ("GET", f"/messages/{message['id']}/attempts", None),
                                   ("POST", f"/messages/{message['id']}/replay", None),
                                   ("POST", f"/endpoints/{ep['id']}/test", None),
                                   ("POST", f"/endpoints/{ep['id']}/replay", {"since": "2024-01-01T00:00:00Z"})]:
            r = await b.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.status_code)
        assert (await b.get("/endpoints")).json()["total"] == 0
        r = await b.post("/endpoints", json={"url": receiver.url("/x"), "event_types": ["org.cress.*"],
                                             "partner_id": "partner-a"})
        assert r.status_code == 403
        listed = (await staff.get("/endpoints", params={"partner_id": "partner-a"})).json()
        assert [e["id"] for e in listed["items"]] == [ep["id"]] and "secrets" not in listed["items"][0]
        assert (await staff.get(f"/endpoints/{ep['id']}/secret")).status_code == 403  # the partner's only
        r = await staff.post(f"/endpoints/{ep['id']}/disable")
        assert r.status_code == 200 and r.json()["disabled_reason"] == "by_staff"
        assert (await a.get(f"/endpoints/{ep['id']}")).json()["enabled"] is False


async def test_a_2xx_with_a_body_too_large_is_delivered_and_the_attempt_says_it_was_cut(webhooks, receiver):
    app, ws = webhooks
    limit = app.state.platform.commands.settings.response_max_bytes
    async with as_(app, ws, "partner-l", "partner") as a:
        receiver.script("/chatty", then=(200, {}, "x" * (limit + 10)))
        ep = await register(a, receiver.url("/chatty"))
        message = (await a.post(f"/endpoints/{ep['id']}/test")).json()
        done = await settled(a, message["id"], "delivered")
        assert done["attempts"] == 1 and done["last_status_code"] == 200
        [attempt] = (await a.get(f"/messages/{message['id']}/attempts")).json()
        assert attempt["outcome"] == "delivered" and "cut" in attempt["error"]
        assert len(receiver.received("/chatty")) == 1  # not sent again


CHOSEN = "whsec_" + "c2VjcmV0LWNob3Nlbi1ieS10aGUtcGFydG5lci0wMQ=="  # a partner's own secret (32 bytes)
LEGACY = "whsec_" + "bGVnYWN5LXNlY3JldC1zdG9yZWQtaW4tY2xlYXItMDE="  # stored in clear before encryption came


async def test_signing_secrets_are_stored_encrypted_and_those_in_clear_are_sealed_at_start(
        infrastructure, webhook_env, receiver):
    from pymongo import AsyncMongoClient

    settings = service_settings(infrastructure, "webhooks")
    mongo = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    endpoints = mongo[settings.mongodb_database]["endpoints"]
    try:
        async with serving("webhooks", settings) as app, as_(app, settings, "partner-z", "partner") as a:
            ep = await register(a, receiver.url("/sealed"), secret=CHOSEN)
            r = await a.post(f"/endpoints/{ep['id']}/secret/rotate", json={})
            assert r.status_code == 200, r.text
            new = r.json()["key"]
            doc = await endpoints.find_one({"_id": ep["id"]})
            stored = json.dumps(doc, default=str)
            assert [s["key"][:7] for s in doc["secrets"]] == ["fernet:", "fernet:"]
            assert "whsec_" not in stored and CHOSEN[6:] not in stored and new[6:] not in stored
            # the partner reads its secrets as ever, and the deliveries verify with them
            assert [k["key"] for k in (await a.get(f"/endpoints/{ep['id']}/secret")).json()["keys"]] == [new, CHOSEN]
            message = (await a.post(f"/endpoints/{ep['id']}/test")).json()
            await settled(a, message["id"], "delivered")
            [request] = receiver.received("/sealed")
            verified(request, new)
            verified(request, CHOSEN)

        # an endpoint as stored before encryption came: its secret in clear
        await endpoints.update_one({"_id": ep["id"]}, {"$set": {"secrets": [
            {"key": LEGACY, "created_at": doc["secrets"][0]["created_at"], "expires_at": None}]}})
        async with serving("webhooks", settings) as app, as_(app, settings, "partner-z", "partner") as a:
            doc = await endpoints.find_one({"_id": ep["id"]})
            assert doc["secrets"][0]["key"].startswith("fernet:") and LEGACY[6:] not in json.dumps(doc, default=str)
            assert (await a.get(f"/endpoints/{ep['id']}/secret")).json()["key"] == LEGACY
            message = (await a.post(f"/endpoints/{ep['id']}/test")).json()
            await settled(a, message["id"], "delivered")
            verified(receiver.received("/sealed")[-1], LEGACY)
    finally:
        await mongo.close()
