"""The events service under concurrent registrations, on the real broker and database: found by
``make bench-events`` (64 clients registering for one event: transactions retried on the places
counter until PyMongo gave up, 500s), guarded here."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from services.events.service_layer import handlers
from tests.integration.conftest import client_of, serving, service_settings

pytestmark = pytest.mark.integration

SOON = datetime.now(timezone.utc) + timedelta(days=30)


@pytest.fixture
async def app_and_client(infrastructure):
    settings = service_settings(infrastructure, "events")
    async with serving("events", settings) as application:
        async with client_of(application, settings) as client:
            yield application, client


async def published(client, capacity: int) -> str:
    r = await client.post("/events", json={
        "kind": "club_des_collectivites", "team": "territories", "title": "Club des collectivités",
        "starts_at": SOON.isoformat(), "ends_at": (SOON + timedelta(hours=3)).isoformat(),
        "place": "CRESS, 7-9 rue Darboy, Paris", "capacity": capacity})
    assert r.status_code == 201, r.text
    assert (await client.post(f"/events/{r.json()['id']}/publication")).status_code == 200
    return r.json()["id"]


async def test_concurrent_registrations_for_one_event_wait_their_turn_instead_of_retrying(app_and_client,
                                                                                        monkeypatch):
    """Each registration's transaction runs once: no write conflict on the counter to retry
    (they used to retry each other until the 120 s limit under a burst)."""
    _, client = app_and_client
    event_id = await published(client, capacity=10)
    runs = []
    read_occupancy = handlers.read_occupancy

    async def counted(tx, eid):
        runs.append(eid)
        return await read_occupancy(tx, eid)

    monkeypatch.setattr(handlers, "read_occupancy", counted)
    results = await asyncio.gather(*(client.post(f"/events/{event_id}/registrations",
                                                 json={"name": f"P {i}", "email": f"p{i}@example.org"})
                                     for i in range(48)))
    assert [r.status_code for r in results] == [201] * 48, [r.text for r in results if r.status_code != 201]
    statuses = [r.json()["registration"]["status"] for r in results]
    assert statuses.count("confirmed") == 10 and statuses.count("waitlisted") == 38
    assert len(runs) == 48, f"{len(runs) - 48} transactions ran again after a conflict"


async def test_a_person_who_cancelled_may_register_again_but_not_twice(app_and_client):
    _, client = app_and_client
    event_id = await published(client, capacity=5)
    person = {"name": "Camille Martin", "email": "camille@example.org"}
    first = (await client.post(f"/events/{event_id}/registrations", json=person)).json()["registration"]
    r = await client.post(f"/registrations/{first['id']}/cancellation", json={"reason": "participant_request"})
    assert r.status_code == 200, r.text
    again = await client.post(f"/events/{event_id}/registrations", json=person)
    assert again.status_code == 201, again.text
    second = again.json()["registration"]["id"]
    twice = await client.post(f"/events/{event_id}/registrations", json=person)
    assert twice.status_code == 409 and second in twice.json()["detail"] and first["id"] not in twice.json()["detail"]
