"""Idempotency keys on the real broker and database (runtime.idempotency): a create sent again with its
key is answered, not applied twice — one resource, one event on the log — and the key is stored in the
command's own transaction, with its outbox record."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from runtime.auth import issue_token
from runtime.idempotency import COLLECTION, HEADER, REPLAYED, KeyedRequest
from runtime.mongo import OUTBOX
from services.events.adapters.repository import EVENTS
from tests.integration.conftest import client_of, fields, read_topic, service_settings, serving

pytestmark = pytest.mark.integration

SCHEDULED = "org.cress.events.event-scheduled.v1"


SOON = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)


def event_body(title: str) -> dict:
    soon = SOON  # (the same body each time: a retry sends what the first attempt sent)
    return {"kind": "club_des_collectivites", "team": "territories", "title": title,
            "starts_at": soon.isoformat(), "ends_at": (soon + timedelta(hours=3)).isoformat(),
            "place": "CRESS, 7-9 rue Darboy, Paris", "capacity": 10}


@pytest.fixture
async def events_app(infrastructure):
    settings = service_settings(infrastructure, "events")
    async with serving("events", settings, consumers=False, jobs=False) as application:
        yield application, settings


async def scheduled(settings, title: str, count: int) -> list[str]:
    """The ids of the events scheduled with ``title`` on the log (waits for ``count``, returns every one)."""
    def match(record) -> bool:
        return dict(record.headers).get("ce_type") == SCHEDULED.encode() and \
            json.loads(record.value).get("title") == title
    return [r.key.decode() for r in await read_topic(settings, "events.event", match, count=count)]


async def test_a_create_sent_twice_with_one_key_creates_one_event_and_answers_the_same(events_app):
    application, settings = events_app
    title, key = f"Club {uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    async with client_of(application, settings) as staff:
        first = await staff.post("/events", json=event_body(title), headers={HEADER: key})
        again = await staff.post("/events", json=event_body(title), headers={HEADER: key})
        assert first.status_code == 201, first.text
        assert again.status_code == 201 and again.headers[REPLAYED] == "true" and REPLAYED not in first.headers
        assert again.content == first.content
        assert again.headers["Location"] == first.headers["Location"] == f"/events/{first.json()['id']}"
        assert again.headers["ETag"] == first.headers["ETag"]

        other = await staff.post("/events", json=event_body(title + " (autre)"), headers={HEADER: key})
        assert other.status_code == 422 and fields(other) == ["header.Idempotency-Key"], other.text
        hostile = await staff.post("/events", json=event_body(title), headers={HEADER: "é t é".encode()})
        assert hostile.status_code == 422 and fields(hostile) == ["header.Idempotency-Key"], hostile.text
        too_long = await staff.post("/events", json=event_body(title), headers={HEADER: "k" * 256})
        assert too_long.status_code == 422 and fields(too_long) == ["header.Idempotency-Key"], too_long.text
        assert "1–255 printable ASCII characters" in too_long.text, too_long.text  # not pydantic's 257

    db = application.state.platform.db
    assert await db[EVENTS].count_documents({"title": title}) == 1
    assert await scheduled(settings, title, count=1) == [first.json()["id"]], "one event on the log"

    # another caller, the same key and body: its own request, not the first caller's answer
    someone = {"Authorization": f"Bearer {issue_token(settings, 'someone-else', ['staff:events'])}"}
    async with client_of(application, settings) as other_caller:
        theirs = await other_caller.post("/events", json=event_body(title), headers={HEADER: key, **someone})
    assert theirs.status_code == 201 and REPLAYED not in theirs.headers
    assert theirs.json()["id"] != first.json()["id"]
    assert sorted(await scheduled(settings, title, count=2)) == sorted([first.json()["id"], theirs.json()["id"]])
    assert await db[COLLECTION].count_documents({"key": key}) == 2


async def test_a_failure_before_the_commit_leaves_neither_the_event_nor_its_event_nor_its_key(events_app,
                                                                                            monkeypatch):
    """The answer is written in the command's transaction: a failure after it (a kill -9 before the commit)
    leaves nothing — no event, no outbox record, no key — and the retry creates the event once."""
    application, settings = events_app
    title, key = f"Club {uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    store = KeyedRequest.store

    async def store_then_fail(self, tx, response):
        await store(self, tx, response)
        raise RuntimeError("the process dies before the commit")

    monkeypatch.setattr(KeyedRequest, "store", store_then_fail)
    async with client_of(application, settings) as staff:
        staff._transport.raise_app_exceptions = False  # noqa: SLF001 — the 500, as a client would see it
        failed = await staff.post("/events", json=event_body(title), headers={HEADER: key})
        assert failed.status_code == 500
        db = application.state.platform.db
        assert await db[EVENTS].count_documents({"title": title}) == 0
        assert await db[OUTBOX].count_documents({"type": SCHEDULED, "payload.title": title}) == 0
        assert await db[COLLECTION].count_documents({"key": key}) == 0

        monkeypatch.setattr(KeyedRequest, "store", store)
        retried = await staff.post("/events", json=event_body(title), headers={HEADER: key})
        assert retried.status_code == 201 and REPLAYED not in retried.headers, retried.text
    assert await db[EVENTS].count_documents({"title": title}) == 1
    assert await scheduled(settings, title, count=1) == [retried.json()["id"]]


async def test_a_retry_while_the_first_request_is_in_flight_is_a_409(events_app, monkeypatch):
    application, settings = events_app
    title, key = f"Club {uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    import services.events.service_layer.handlers as handlers

    entered, release = asyncio.Event(), asyncio.Event()
    write_occupancy = handlers.write_occupancy

    async def held(tx, event_id, occupancy):
        entered.set()  # the first request has claimed its key, in its open transaction
        await release.wait()
        await write_occupancy(tx, event_id, occupancy)

    monkeypatch.setattr(handlers, "write_occupancy", held)
    async with client_of(application, settings) as staff:
        first = asyncio.create_task(staff.post("/events", json=event_body(title), headers={HEADER: key}))
        await asyncio.wait_for(entered.wait(), 30)
        monkeypatch.setattr(handlers, "write_occupancy", write_occupancy)
        try:
            second = await asyncio.wait_for(staff.post("/events", json=event_body(title), headers={HEADER: key}), 30)
        finally:
            release.set()
        assert second.status_code == 409, second.text
        assert "still being processed" in second.json()["detail"]
        assert (await first).status_code == 201
        third = await staff.post("/events", json=event_body(title), headers={HEADER: key})
    assert third.status_code == 201 and third.headers[REPLAYED] == "true"
    assert third.json()["id"] == (await first).json()["id"]
    assert await application.state.platform.db[EVENTS].count_documents({"title": title}) == 1
