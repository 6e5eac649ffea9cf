"""A partner's receiver of CRESS webhooks: verify, deduplicate, answer 204 at once, work afterwards.

Run it (Python 3.10+, ``pip install fastapi uvicorn standardwebhooks``)::

    export WEBHOOK_SECRETS=whsec_...        # the endpoint's secret (GET /endpoints/{id}/secret)
    uvicorn examples.webhook_receiver.app:app --port 8080

What it does with every POST to ``/webhooks``:

1. verifies the signature on the **raw body**, as received, with ``standardwebhooks``
   (``Webhook(secret).verify(body, headers)``: the HMAC-SHA256 of ``id.timestamp.body`` in
   ``webhook-signature``, and a ``webhook-timestamp`` within 5 minutes); a bad or missing signature
   is answered ``400`` (the platform retries, then gives up: nothing forged is processed). Several
   secrets may be given (``WEBHOOK_SECRETS=whsec_new,whsec_old``) while you switch to a new one;
2. is idempotent: the ``webhook-id`` (the event's id, the same at every retry and replay) is
   recorded with the payload in a small SQLite store; a message already received is answered
   ``204`` again and not processed twice;
3. answers ``204`` at once and processes the event afterwards (:func:`process`, on a queue of its
   own): the platform waits 15 s at most for an answer, and anything but a 2xx is retried. A
   message is marked processed only when :func:`process` returns: after a crash or a restart, the
   messages received but not processed yet are processed then (set ``WEBHOOK_STORE`` to a file).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

log = logging.getLogger("webhook_receiver")

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


class SeenStore:
    """The ``webhook-id`` values already received (SQLite: it survives a restart), forgotten after
    ``keep_days`` (the platform retries for about 28 hours and replays on request only)."""

    def __init__(self, path: str = ":memory:", keep_days: float = 30.0) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS seen (webhook_id TEXT PRIMARY KEY, type TEXT, received_at REAL, "
                        "payload TEXT, processed INTEGER NOT NULL DEFAULT 0)")
        self.lock = threading.Lock()
        self.keep = keep_days * 86_400

    def first_time(self, webhook_id: str, payload: dict[str, Any]) -> bool:
        """Record ``webhook_id`` and its payload (not processed yet); True if it was not known yet."""
        with self.lock, self.db:
            cursor = self.db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?, 0)",
                                     (webhook_id, payload.get("type", ""), time.time(), json.dumps(payload)))
            return cursor.rowcount == 1

    def processed(self, webhook_id: str) -> None:
        with self.lock, self.db:
            self.db.execute("UPDATE seen SET processed = 1 WHERE webhook_id = ?", (webhook_id,))

    def unprocessed(self) -> list[tuple[str, dict[str, Any]]]:
        """Messages received but not processed (a crash or a restart came in between), oldest first."""
        with self.lock:
            return [(row[0], json.loads(row[1])) for row in self.db.execute(
                "SELECT webhook_id, payload FROM seen WHERE processed = 0 ORDER BY received_at")]

    def forget_old(self) -> None:
        with self.lock, self.db:
            self.db.execute("DELETE FROM seen WHERE received_at < ?", (time.time() - self.keep,))

    def ids(self) -> list[str]:
        with self.lock:
            return [row[0] for row in self.db.execute("SELECT webhook_id FROM seen ORDER BY received_at")]


async def process(webhook_id: str, payload: dict[str, Any]) -> None:
    """Your work: the payload is ``{"type": ..., "timestamp": ..., "data": {...}}`` (ids, never personal
    data: ask the platform's API for details with your token)."""
    log.info("received %s %s: %s", webhook_id, payload["type"], payload["data"])


def create_app(secrets: list[str] | None = None, *, store: SeenStore | None = None,
               handler: Handler = process) -> FastAPI:
    """The receiver, verifying with ``secrets`` (default: ``WEBHOOK_SECRETS``, comma-separated)."""
    secrets = secrets if secrets is not None else [s.strip() for s in os.environ.get("WEBHOOK_SECRETS", "").split(",")
                                                   if s.strip()]
    if not secrets:
        raise RuntimeError("no secret: set WEBHOOK_SECRETS=whsec_... (the endpoint's signing secret)")
    verifiers = [Webhook(s) for s in secrets]
    store = store or SeenStore(os.environ.get("WEBHOOK_STORE", ":memory:"))
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def worker() -> None:
        while True:
            webhook_id, payload = await queue.get()
            try:
                await handler(webhook_id, payload)
                store.processed(webhook_id)
            except Exception:  # noqa: BLE001 — left unprocessed: tried again at the next start
                log.exception("processing %s failed", webhook_id)
            finally:
                queue.task_done()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        task = asyncio.create_task(worker())
        store.forget_old()
        for pending in store.unprocessed():  # received before a crash or a restart, not processed yet
            queue.put_nowait(pending)
        yield
        task.cancel()

    app = FastAPI(title="CRESS webhooks receiver (example)", lifespan=lifespan)
    app.state.store = store
    app.state.queue = queue

    @app.post("/webhooks", status_code=204)
    async def receive(request: Request) -> Response:
        body = await request.body()  # the raw bytes: re-serialised JSON would not match the signature
        headers = dict(request.headers)
        payload = None
        for verifier in verifiers:
            try:
                payload = verifier.verify(body, headers)
                break
            except WebhookVerificationError:
                continue
        if payload is None:
            return Response(status_code=400, content=json.dumps({"detail": "bad signature"}),
                            media_type="application/json")
        webhook_id = headers["webhook-id"]
        if store.first_time(webhook_id, payload):
            queue.put_nowait((webhook_id, payload))
        return Response(status_code=204)

    return app


def __getattr__(name: str) -> Any:  # ``uvicorn examples.webhook_receiver.app:app`` builds it from the environment
    if name == "app":
        return create_app()
    raise AttributeError(name)
