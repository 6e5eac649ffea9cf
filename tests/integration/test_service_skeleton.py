"""The service skeleton on the real broker and database: the door (hostile input stops at the
runtime, for every service), the lifecycle without HTTP, commands inside a given transaction."""
from __future__ import annotations

import asyncio
from datetime import date

import pytest

from runtime.mongo import OUTBOX, PROCESSED
from runtime.platform import running
from runtime.service import discover, service
from tests.integration.conftest import client_of, eventually, fields, read_topic, service_settings, serving

pytestmark = pytest.mark.integration

ORG = {"siret": "73282932000074", "name": "Les Ateliers Solidaires", "legal_form": "association",
       "departement": "93", "commune": "Montreuil", "sector": "économie circulaire", "headcount": 12,
       "annual_budget_cents": 45_000_000, "on": "2026-01-05"}



async def test_hostile_input_gets_a_4xx_naming_the_field_and_writes_nothing(client, app):
    db = app.state.platform.db
    cases = [
        ({**ORG, "headcount": 10**30}, "headcount"),
        ({**ORG, "annual_budget_cents": 2**63}, "annual_budget_cents"),
        ({**ORG, "on": "9999-12-31"}, "on"),
        ({**ORG, "esus_agreed": True, "esus_agreed_on": "0001-01-01"}, "esus_agreed_on"),
    ]
    for body, field in cases:
        r = await client.post("/organisations", json=body)
        assert r.status_code == 422, (field, r.text)
        assert fields(r) == [field] and field in r.json()["detail"]
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/organisations", params={"offset": 10**20})
    assert r.status_code == 422 and fields(r) == ["query.offset"]
    assert await db["organisations"].count_documents({}) == 0 and await db[OUTBOX].count_documents({}) == 0


async def test_a_patch_cannot_null_a_required_field(client):
    org = (await client.post("/organisations", json={**ORG, "esus_agreed": True, "esus_agreed_on": "2020-01-01"}))
    org_id = org.json()["id"]
    for field in ("name", "headcount", "siret", "legal_form", "esus_agreed", "departement"):
        r = await client.patch(f"/organisations/{org_id}", json={field: None})
        assert r.status_code == 422 and fields(r) == [field], (field, r.text)
    r = await client.patch(f"/organisations/{org_id}", json={"esus_agreed": False, "esus_agreed_on": None})
    assert r.status_code == 200 and r.json()["esus_agreed_on"] is None, "a nullable field may be nulled"


async def test_a_member_who_joined_in_1985_can_be_migrated_and_far_off_dates_stop_at_the_door(client, settings):
    org_id = (await client.post("/organisations", json={**ORG, "on": "1984-11-02"})).json()["id"]
    app_id = (await client.post("/applications", json={"organisation_id": org_id, "on": "1984-12-01"})).json()["id"]
    assert (await client.post(f"/applications/{app_id}/welcome-meeting", json={"on": "1985-01-10"})).status_code == 200
    assert (await client.post(f"/applications/{app_id}/admission", json={"on": "1985-02-01"})).status_code == 200
    r = await client.post("/members", json={"application_id": app_id, "on": "2201-01-01"})
    assert r.status_code == 422 and fields(r) == ["on"], "refused at the door, not a 500 from the event contract"
    r = await client.post("/members", json={"application_id": app_id, "on": "1985-03-01"})
    assert r.status_code == 201, r.text
    records = await read_topic(settings, "membership.member", lambda rec: rec.key == org_id.encode(), count=2)
    assert [r.value for r in records] and b'"year":1985' in records[0].value


async def test_method_not_allowed_says_what_is_allowed(client):
    r = await client.delete("/organisations")
    assert r.status_code == 405
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert r.json()["title"] == "Method not allowed"


async def test_bodies_over_the_configured_size_get_413(infrastructure):
    settings = service_settings(infrastructure, "membership", http_max_body_bytes=2048)
    async with serving("membership", settings) as application:
        async with client_of(application, settings) as c:
            big = {**ORG, "name": "x" * 4000}
            r = await c.post("/organisations", json=big)
            assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")

            async def chunks():  # no Content-Length: counted as it streams
                yield b'{"name": "'
                for _ in range(10):
                    yield b"y" * 500
                yield b'"}'

            r = await c.post("/organisations", content=chunks(), headers={"content-type": "application/json"})
            assert r.status_code == 413
            assert (await c.post("/organisations", json=ORG)).status_code == 201, "a normal body still passes"
            assert await application.state.platform.db["organisations"].count_documents({}) == 1


async def test_the_platform_runs_without_http_and_commands_join_a_given_transaction(infrastructure):
    settings = service_settings(infrastructure, "membership")
    async with running(service("membership"), settings) as platform:
        assert not hasattr(platform, "app") and [c.name for c in platform.consumers] == [
            c.name for c in service("membership").consumers()] and "yearly-statistics" in [c.name for c in platform.consumers]
        commands = platform.commands
        org = await commands.register_organisation({k: v for k, v in ORG.items() if k != "on"},
                                                   on=date(2026, 1, 5))

        async def both(tx):
            await commands.submit_application(org.id, on=org.registered_on, within=tx)
            raise RuntimeError("the caller fails after the command")

        with pytest.raises(RuntimeError):
            await platform.db.transaction(both)
        assert await platform.db["applications"].count_documents({}) == 0, "rolled back with its caller"
        assert await platform.db[OUTBOX].count_documents({"aggregatetype": "application"}) == 0

        async def together(tx):
            return await commands.submit_application(org.id, on=org.registered_on, within=tx)

        application = await platform.db.transaction(together)
        records = await read_topic(settings, "membership.application",
                                   lambda r: r.key == application.id.encode(), count=1)
        assert len(records) == 1, "the event of a command run within a transaction is published"

        event_id = dict(records[0].headers)["ce_id"].decode()

        async def projected():  # the service's own consumer runs in this process too
            return await platform.db[PROCESSED].find_one({"consumer": "yearly-statistics", "event_id": event_id})

        await eventually(projected, timeout=60)
        assert all(v == "ok" for v in (await platform.readiness()).values())
    assert all(t.done() for t in platform.tasks), "every worker stopped with the block"


def test_every_service_is_discovered_from_its_bootstrap():
    services = discover()
    assert "membership" in services and services["membership"].port == 8001
    for name, definition in services.items():
        assert definition.contracts_module().SERVICE == name


async def test_concurrent_clients_do_not_break_the_door(client):
    results = await asyncio.gather(*(client.post("/organisations", json={**ORG, "headcount": 10**25 + i})
                                     for i in range(5)))
    assert {r.status_code for r in results} == {422}
