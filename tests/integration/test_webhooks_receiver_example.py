"""The partners' receiver example (examples/webhook_receiver) against the real platform: it runs for
real (uvicorn, in a thread, on a free port of 127.0.0.1, allowed by ``WEBHOOKS_ALLOW_HOSTS``) as a
partner's endpoint; an organisation registered through membership's API reaches it, verified on
the raw body; a replay is not processed twice; a tampered body is refused with 400."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime, timezone

import httpx
import pytest
import uvicorn

from examples.webhook_receiver.app import SeenStore, create_app
from runtime import metrics
from runtime.auth import issue_token
from runtime.stack import free_port
from services.webhooks.domain.signing import new_secret, webhook_headers
from tests.integration.conftest import eventually, service_settings, serving, unique_siret

pytestmark = pytest.mark.integration


@pytest.fixture
def webhook_env(monkeypatch):
    for name, value in {"RETRY_SCHEDULE_SECONDS": "[0, 0.2, 0.2]", "RETRY_JITTER": "0",
                        "ALLOW_HOSTS": '["127.0.0.1/32"]', "POLL_INTERVAL_SECONDS": "0.05"}.items():
        monkeypatch.setenv(f"WEBHOOKS_{name}", value)


class Example:
    """The example app served by uvicorn in a thread; what its handler processed."""

    def __init__(self, secret: str) -> None:
        self.processed: list[tuple[str, dict]] = []
        self.store = SeenStore()

        async def handler(webhook_id: str, payload: dict) -> None:
            self.processed.append((webhook_id, payload))

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(create_app([secret], store=self.store, handler=handler),
                                                    host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Example":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the example did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"


async def test_the_example_receives_verifies_and_deduplicates(infrastructure, webhook_env):
    ws, ms = service_settings(infrastructure, "webhooks"), service_settings(infrastructure, "membership")
    secret = new_secret()
    partner = {"Authorization": f"Bearer {issue_token(ws, 'partner-example', ['partner'])}"}
    with Example(secret) as example:
        async with serving("webhooks", ws) as app, serving("membership", ms) as membership_app, \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://webhooks.test",
                                  headers=partner) as w, \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=membership_app), base_url="http://m.test",
                                  headers={"Authorization": f"Bearer {issue_token(ms, 'staff', ['admin'])}"}) as m:
            await app.state.platform.consumers[0].wait_assigned()
            r = await w.post("/endpoints", json={"url": example.url, "secret": secret,
                                                 "event_types": ["org.cress.membership.organisation-*"]})
            assert r.status_code == 201, r.text
            endpoint = r.json()
            r = await m.post("/organisations", json={
                "siret": unique_siret(), "name": "Structure ESS", "legal_form": "association", "departement": "93",
                "commune": "Montreuil", "sector": "économie circulaire", "headcount": 5,
                "annual_budget_cents": 20_000_000, "on": "2024-03-01"})
            assert r.status_code == 201, r.text
            organisation = r.json()["id"]

            [(webhook_id, payload)] = await eventually(lambda: example.processed)
            assert payload["type"] == "org.cress.membership.organisation-registered.v1"
            assert payload["data"]["organisation_id"] == organisation
            page = await eventually(lambda: _delivered(w, endpoint["id"]))
            [message] = page["items"]
            assert message["webhook_id"] == webhook_id
            attempts = (await w.get(f"/messages/{message['id']}/attempts")).json()
            assert [(a["outcome"], a["status_code"]) for a in attempts] == [("delivered", 204)]
            backlog = metrics.WEBHOOK_BACKLOG.labels(ws.service_name, endpoint["id"])
            backlog.set(7)
            await app.state.platform.commands.deliverer.update_gauges()  # one aggregation on the real database
            assert backlog._value.get() == 0  # noqa: SLF001 — nothing pending for it any more

            # a replay comes with the same webhook-id: answered 204, not processed again
            assert (await w.post(f"/messages/{message['id']}/replay")).status_code == 202
            await eventually(lambda: _attempts(w, message["id"], 2))
            await asyncio.sleep(0.2)
            assert len(example.processed) == 1 and example.store.ids() == [webhook_id]

    # a body changed on the way (or forged without the secret) is refused, and not processed
    with Example(secret) as example:
        body = json.dumps({"type": "org.cress.membership.organisation-registered.v1",
                           "timestamp": "2024-03-01T09:00:00Z", "data": {"organisation_id": "org-1"}})
        headers = webhook_headers([secret], "msg-forged", datetime.now(timezone.utc), body)
        async with httpx.AsyncClient() as client:
            tampered = body.replace("org-1", "org-2")
            r = await client.post(example.url, content=tampered, headers={**headers, "content-type": "application/json"})
            assert r.status_code == 400
            r = await client.post(example.url, content=body, headers={**headers, "webhook-signature": "v1,AAAA"})
            assert r.status_code == 400
            r = await client.post(example.url, content=body, headers={**headers, "content-type": "application/json"})
            assert r.status_code == 204  # the same, untouched: accepted
        await eventually(lambda: example.processed)
        assert [w for w, _ in example.processed] == ["msg-forged"]


async def _delivered(client, endpoint_id: str):
    page = (await client.get(f"/endpoints/{endpoint_id}/messages", params={"status": "delivered"})).json()
    return page if page["total"] else None


async def _attempts(client, message_id: str, count: int):
    attempts = (await client.get(f"/messages/{message_id}/attempts")).json()
    return len(attempts) >= count and attempts[-1]["outcome"] == "delivered"
