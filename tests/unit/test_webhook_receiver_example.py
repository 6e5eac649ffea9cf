"""The partners' receiver example keeps what it received until it is processed: a message whose
processing failed (or was cut by a crash) is processed at the next start, once."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import httpx
from asgi_lifespan import LifespanManager

from examples.webhook_receiver.app import SeenStore, create_app
from services.webhooks.domain.signing import new_secret, webhook_headers


def test_a_message_not_processed_before_a_restart_is_processed_after_it_once(tmp_path):
    secret = new_secret()
    store_path = str(tmp_path / "seen.sqlite")
    body = b'{"type": "org.cress.membership.member-activated.v1", "timestamp": "2026-01-01T00:00:00Z", "data": {}}'
    headers = webhook_headers([secret], "msg-1", datetime.now(timezone.utc), body.decode())
    calls: list[str] = []

    async def failing(webhook_id: str, payload: dict) -> None:
        calls.append(f"failed {webhook_id}")
        raise RuntimeError("the partner's database is down")

    async def working(webhook_id: str, payload: dict) -> None:
        calls.append(f"done {webhook_id}")

    async def serve(handler, post: bool) -> None:
        app = create_app([secret], store=SeenStore(store_path), handler=handler)
        async with LifespanManager(app):
            if post:
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as client:
                    r = await client.post("/webhooks", content=body, headers=headers)
                    assert r.status_code == 204
            await asyncio.wait_for(app.state.queue.join(), 5)

    asyncio.run(serve(failing, post=True))  # answered 204, processing failed
    asyncio.run(serve(working, post=False))  # the restart processes it
    asyncio.run(serve(working, post=False))  # and only once
    assert calls == ["failed msg-1", "done msg-1"]
