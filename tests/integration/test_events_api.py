"""The events service over HTTP and Kafka, on the real broker and database: the catalogue,
registrations and the waiting list, member-only access learnt from membership's events, badges
and check-in, calendars — as staff, partners and gates use them."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from runtime.mongo import OUTBOX, from_document
from services.events.adapters.repository import OCCUPANCY, REGISTRATIONS
from services.events.domain.catalogue import Occupancy
from services.events.domain.registrations import Registration
from tests.integration.conftest import (client_of, eventually, fields, header, read_topic, service_settings,
                                        serving)

pytestmark = pytest.mark.integration

SOON = datetime.now(timezone.utc) + timedelta(days=30)


def event_body(**over) -> dict:
    body = {"kind": "club_des_collectivites", "team": "territories", "title": "Club des collectivités",
            "starts_at": SOON.isoformat(), "ends_at": (SOON + timedelta(hours=3)).isoformat(),
            "place": "CRESS, 7-9 rue Darboy, Paris", "capacity": 3}
    body.update(over)
    return body


def person(i: int, **over) -> dict:
    return {"name": f"Personne {i}", "email": f"p{i}@example.org", **over}



@pytest.fixture
async def events_app(infrastructure):
    settings = service_settings(infrastructure, "events")
    async with serving("events", settings) as application:
        yield application, settings


@pytest.fixture
async def events(events_app):
    application, settings = events_app
    async with client_of(application, settings) as c:
        yield c


async def published(client, **over) -> dict:
    r = await client.post("/events", json=event_body(**over))
    assert r.status_code == 201, r.text
    r = await client.post(f"/events/{r.json()['id']}/publication")
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_full_event_fills_its_waiting_list_and_a_freed_place_is_offered_in_turn(events, events_app):
    application, settings = events_app
    event = await published(events, capacity=2, offer_validity_hours=24)
    eid = event["id"]
    regs = []
    for i in range(5):
        r = await events.post(f"/events/{eid}/registrations", json=person(i))
        assert r.status_code == 201, r.text
        regs.append(r.json())
    assert [r["registration"]["status"] for r in regs] == ["confirmed"] * 2 + ["waitlisted"] * 3
    assert [r["waitlist_position"] for r in regs] == [None, None, 1, 2, 3]
    r = await events.post(f"/events/{eid}/registrations", json=person(0, email=" P0@Example.ORG "))
    assert r.status_code == 409 and regs[0]["registration"]["id"] in r.json()["detail"], "one registration per e-mail"

    # a confirmed person cancels: the first in line is offered the place, for 24 h, and it is logged
    first = regs[0]["registration"]["id"]
    r = await events.post(f"/registrations/{first}/cancellation", json={"reason": "participant_request"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    offered = (await events.get(f"/registrations/{regs[2]['registration']['id']}")).json()["registration"]
    assert offered["status"] == "offered" and offered["offers"][0]["outcome"] is None
    waiting = (await events.get(f"/events/{eid}/waiting-list")).json()
    assert [(w["status"], w["position"]) for w in waiting] == [("offered", None), ("waitlisted", 1), ("waitlisted", 2)]
    assert (await events.get(f"/registrations/{regs[4]['registration']['id']}")).json()["waitlist_position"] == 2
    occupancy = (await events.get(f"/events/{eid}/occupancy")).json()
    assert (occupancy["held"], occupancy["waiting"]) == (2, 2)

    # the offer runs out unanswered: the sweeper expires it and offers the place to the next
    service = application.state.platform.commands.events
    real_clock = service.clock
    service.clock = lambda: real_clock() + timedelta(hours=25)
    try:
        assert await service.expire_offers() == 1
    finally:
        service.clock = real_clock
    assert (await events.get(f"/registrations/{offered['id']}")).json()["registration"]["status"] == "offer_expired"
    second = regs[3]["registration"]["id"]
    assert (await events.get(f"/registrations/{second}")).json()["registration"]["status"] == "offered"
    r = await events.post(f"/registrations/{second}/offer/acceptance")
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    r = await events.post(f"/registrations/{second}/offer/acceptance")
    assert r.status_code == 409 and "confirmed" in r.json()["detail"]

    # who received what, when: the events say it, with ids only
    records = await read_topic(settings, "events.registration", lambda rec: rec.key == offered["id"].encode(), count=3)
    assert [header(r, "ce_type").split(".")[3] for r in records] == ["registration-waitlisted", "place-offered",
                                                                     "place-offer-expired"]
    everything = await read_topic(settings, "events.registration",
                                  lambda rec: header(rec, "ce_type").endswith("registration-confirmed.v1"), count=2)
    assert all(b"@example.org" not in r.value and b"Personne" not in r.value for r in everything), "no personal data"

    # the counter equals a recount of the registrations
    db = application.state.platform.db
    recount = Occupancy.from_registrations([from_document(Registration, d) async for d in
                                            db[REGISTRATIONS].find({"event_id": eid})])
    stored = await db[OCCUPANCY].find_one({"_id": eid})
    assert {k: v["held"] for k, v in stored["categories"].items()} == {k: v.held for k, v in recount.categories.items()}


async def test_no_overselling_under_concurrency_and_the_waiting_list_follows_commit_order(events, events_app):
    application, _ = events_app
    event = await published(events, capacity=10)
    results = await asyncio.gather(*(events.post(f"/events/{event['id']}/registrations", json=person(i))
                                     for i in range(40)))
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201]
    statuses = [r.json()["registration"]["status"] for r in results]
    assert statuses.count("confirmed") == 10 and statuses.count("waitlisted") == 30
    seqs = sorted(r.json()["registration"]["waitlist_seq"] for r in results
                  if r.json()["registration"]["status"] == "waitlisted")
    assert seqs == list(range(1, 31)), "one sequence number each, none lost"
    occupancy = (await events.get(f"/events/{event['id']}/occupancy")).json()
    assert (occupancy["held"], occupancy["waiting"], occupancy["categories"][0]["free"]) == (10, 30, 0)


async def test_member_only_events_follow_membership_events(infrastructure, events, events_app):
    """A member activated in the membership service may register; once its membership lapses (an
    event on Kafka, not an API call), it may not. (Dated 2019: membership's yearly-statistics
    projection reads the whole topic, and another test counts 2025's lapses.)"""
    membership_settings = service_settings(infrastructure, "membership")
    async with serving("membership", membership_settings) as membership_app:
        async with client_of(membership_app, membership_settings) as m:
            org = (await m.post("/organisations", json={
                "siret": "73282932000074", "name": "Coop Membre", "legal_form": "scop", "departement": "93",
                "commune": "Montreuil", "sector": "BTP durable", "headcount": 4, "annual_budget_cents": 9_000_000,
                "on": "2019-01-05"})).json()["id"]
            app_id = (await m.post("/applications", json={"organisation_id": org, "on": "2019-01-06"})).json()["id"]
            await m.post(f"/applications/{app_id}/welcome-meeting", json={"on": "2019-01-07"})
            await m.post(f"/applications/{app_id}/admission", json={"on": "2019-01-08"})
            assert (await m.post("/members", json={"application_id": app_id, "on": "2019-01-09"})).status_code == 201

            async def standing():
                return (await events.get(f"/organisations/{org}/standing")).json()["in_good_standing"]

            await eventually(standing, timeout=60)
            event = await published(events, access="members_only", capacity=5)
            r = await events.post(f"/events/{event['id']}/registrations", json=person(1, organisation_id=org))
            assert r.status_code == 201 and r.json()["registration"]["status"] == "confirmed"
            r = await events.post(f"/events/{event['id']}/registrations", json=person(2, organisation_id="org-nope"))
            assert r.status_code == 409 and "members in good standing only" in r.json()["detail"]

            # the member's dues stay unpaid past the grace period: membership records the lapse
            assert (await m.post("/dues/deadlines", json={"on": "2019-12-31"})).json()["counts"]["changed"] == 1

            async def lapsed():
                return (await events.get(f"/organisations/{org}/standing")).json()["status"] == "lapsed"

            await eventually(lapsed, timeout=60)
            r = await events.post(f"/events/{event['id']}/registrations", json=person(3, organisation_id=org))
            assert r.status_code == 409


async def test_badges_scans_offline_uploads_and_attendance(events, events_app):
    event = await published(events, capacity=None,
                            categories=[{"code": "buyers", "quota": 5}, {"code": "suppliers", "quota": 5}])
    eid = event["id"]
    a = (await events.post(f"/events/{eid}/registrations", json=person(1, category="buyers"))).json()["registration"]
    b = (await events.post(f"/events/{eid}/registrations", json=person(2, category="suppliers"))).json()["registration"]
    c = (await events.post(f"/events/{eid}/registrations", json=person(3, category="suppliers"))).json()["registration"]
    gate = (await events.post(f"/events/{eid}/checkin-lists", json={"name": "Entrée"})).json()
    badge = (await events.get(f"/registrations/{a['id']}/badge")).json()
    svg = await events.get(badge["qr_svg_url"])
    assert svg.headers["content-type"] == "image/svg+xml" and svg.content.startswith(b"<svg")

    scan = {"list_id": gate["list_id"], "token": badge["token"], "gate": "Porte A", "nonce": "a-1"}
    first = (await events.post(f"/events/{eid}/scans", json=scan)).json()
    assert first["result"]["outcome"] == "checked_in" and first["ok"]
    again = (await events.post(f"/events/{eid}/scans", json={**scan, "nonce": "a-2", "gate": "Porte B"})).json()
    assert again["result"]["outcome"] == "already_checked_in" and again["message"].startswith("already checked in at")
    assert "Porte A" in again["message"]
    replay = (await events.post(f"/events/{eid}/scans", json=scan)).json()
    assert replay["result"] == first["result"], "the same nonce answers the same"

    forged = (await events.post(f"/events/{eid}/scans", json={**scan, "token": badge["token"][:-2] + "xx",
                                                                  "nonce": "f-1"}))
    assert forged.status_code == 422 and fields(forged) == ["token"]
    future = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    r = await events.post(f"/events/{eid}/scans", json={**scan, "nonce": "a-3", "scanned_at": future})
    assert r.status_code == 422 and fields(r) == ["scanned_at"]
    r = await events.post(f"/events/{eid}/scans", json={**scan, "nonce": "a-4", "scanned_at": "1950-06-01T10:00:00Z"})
    assert r.status_code == 422 and fields(r) == ["scanned_at"] and "before the registration" in r.json()["detail"]

    # gate B was offline: its scans arrive in a batch, one of them twice, one of them forged
    b_token = (await events.get(f"/registrations/{b['id']}/badge")).json()["token"]
    earlier = (datetime.fromisoformat(b["registered_at"]) + timedelta(seconds=1)).isoformat()  # offline, before now
    batch = {"scans": [
        {"list_id": gate["list_id"], "token": b_token, "gate": "Porte B", "nonce": "b-1", "offline": True,
         "scanned_at": earlier},
        {"list_id": gate["list_id"], "token": b_token, "gate": "Porte B", "nonce": "b-1", "offline": True,
         "scanned_at": earlier},
        {"list_id": gate["list_id"], "token": "reg-nope.AAAA", "gate": "Porte B", "nonce": "b-2", "offline": True},
    ]}
    r = await events.post(f"/events/{eid}/scans/batch", json=batch)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["checked_in"], summary["refused"]) == (2, 1), "the replayed nonce answers as the first"
    assert summary["results"][2]["index"] == 2 and "signature" in summary["results"][2]["detail"]
    again = await events.post(f"/events/{eid}/scans/batch", json=batch)
    assert again.json()["results"][:2] == summary["results"][:2], "uploading the batch twice changes nothing"

    figures = (await events.get(f"/events/{eid}/attendance")).json()
    assert figures["total"] == {"registered": 3, "checked_in": 2, "no_shows": 1, "attendance_rate": 0.6667,
                                "no_show_rate": 0.3333}
    assert figures["by_category"]["suppliers"]["no_shows"] == 1 and c["status"] == "confirmed"


async def test_concurrent_gates_never_check_a_badge_in_twice(events, events_app):
    event = await published(events, capacity=5)
    reg = (await events.post(f"/events/{event['id']}/registrations", json=person(1))).json()["registration"]
    lst = (await events.post(f"/events/{event['id']}/checkin-lists", json={"name": "Entrée"})).json()
    token = (await events.get(f"/registrations/{reg['id']}/badge")).json()["token"]
    results = await asyncio.gather(*(events.post(f"/events/{event['id']}/scans", json={
        "list_id": lst["list_id"], "token": token, "gate": f"Porte {g}", "nonce": f"g{g}-1"}) for g in range(8)))
    outcomes = sorted(r.json()["result"]["outcome"] for r in results)
    assert outcomes == ["already_checked_in"] * 7 + ["checked_in"]
    records = await read_topic(events_app[1], "events.registration", lambda rec: rec.key == reg["id"].encode()
                               and header(rec, "ce_type").endswith("participant-checked-in.v1"), count=1)
    assert len(records) == 1, "one check-in event"


async def test_lifecycle_calendars_roles_and_hostile_input(events, events_app):
    application, settings = events_app
    r = await events.post("/events", json=event_body(capacity=10**30))
    assert r.status_code == 422 and fields(r) == ["capacity"]
    r = await events.post("/events", json=event_body(starts_at="2999-01-01T10:00:00+01:00"))
    assert r.status_code == 422 and fields(r) == ["starts_at"]
    r = await events.post("/events", json=event_body(starts_at="2027-01-01T10:00:00"))
    assert r.status_code == 422 and fields(r) == ["starts_at"], "a time without its offset is ambiguous"
    r = await events.post("/events", json=event_body(ends_at=(SOON - timedelta(hours=1)).isoformat()))
    assert r.status_code == 422 and fields(r) == ["ends_at"]
    r = await events.post("/events", json=event_body(categories=[{"code": "a", "quota": 0}], capacity=None))
    assert r.status_code == 422 and fields(r) == ["categories.0.quota"]

    draft = (await events.post("/events", json=event_body(title="Webinaire", kind="webinar", team="education",
                                                          place=None, online_url="https://visio.example.org/r"))).json()
    r = await events.patch(f"/events/{draft['id']}", json={"title": None})
    assert r.status_code == 422 and fields(r) == ["title"]
    r = await events.post(f"/events/{draft['id']}/registrations", json=person(1))
    assert r.status_code == 409 and "draft" in r.json()["detail"]
    r = await events.post(f"/events/{draft['id']}/held")
    assert r.status_code == 409
    r = await events.patch(f"/events/{draft['id']}", json={"title": "Webinaire ESS"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    r = await events.patch(f"/events/{draft['id']}", json={"title": "Autre"}, headers={"If-Match": '"1"'})
    assert r.status_code == 412

    async with client_of(application, settings, "partner") as partner:
        assert (await partner.get(f"/events/{draft['id']}")).status_code == 404, "partners do not see drafts"
        assert all(e["status"] != "draft" for e in (await partner.get("/events")).json()["items"])
        assert (await partner.post("/events", json=event_body())).status_code == 403
    async with client_of(application, settings, "reader") as reader:
        assert (await reader.get(f"/events/{draft['id']}")).status_code == 200
        assert (await reader.post(f"/events/{draft['id']}/publication")).status_code == 403
    assert (await events.get("/events", headers={"Authorization": ""})).status_code == 401

    event = await published(events, capacity=4)
    await events.post(f"/events/{event['id']}/registrations", json=person(7))
    ics = await events.get(f"/events/{event['id']}/calendar.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    vevent = next(c for c in Calendar.from_ical(ics.content).walk("VEVENT"))
    assert str(vevent["UID"]) == f"{event['id']}@cress" and str(vevent["STATUS"]) == "CONFIRMED"
    mine = Calendar.from_ical((await events.get("/calendar.ics", params={"email": "p7@example.org"})).content)
    assert [str(v["UID"]) for v in mine.walk("VEVENT")] == [f"{event['id']}@cress"]

    r = await events.post(f"/events/{event['id']}/cancellation", json={"reason": "Salle indisponible"})
    assert r.status_code == 200 and r.headers["X-Registrations-Cancelled"] == "1"
    cancelled = Calendar.from_ical((await events.get(f"/events/{event['id']}/calendar.ics")).content)
    assert str(next(iter(cancelled.walk("VEVENT")))["STATUS"]) == "CANCELLED"
    db = application.state.platform.db
    assert await db[OUTBOX].count_documents({"type": {"$regex": "event-cancelled"}}) == 1


async def test_yearly_figures_count_events_held_per_kind(events, events_app):
    application, _ = events_app
    service = application.state.platform.commands.events
    event = await published(events, capacity=5)
    await events.post(f"/events/{event['id']}/registrations", json=person(1))
    real_clock = service.clock
    service.clock = lambda: real_clock() + timedelta(days=31)
    try:
        assert (await events.post(f"/events/{event['id']}/held")).status_code == 200
    finally:
        service.clock = real_clock
    figures = (await events.get("/statistics/yearly", params={"year": SOON.year})).json()
    assert figures["by_kind"]["club_des_collectivites"] == {"events": 1, "participants": 1, "checked_in": 0}
    assert (await events.get("/statistics/yearly", params={"year": 99999})).status_code == 422


async def test_approval_rejection_and_exit_scans(events):
    event = await published(events, capacity=2, requires_approval=True)
    eid = event["id"]
    a, b, c = [(await events.post(f"/events/{eid}/registrations", json=person(i))).json()["registration"]
               for i in (1, 2, 3)]
    assert [r["status"] for r in (a, b, c)] == ["pending_approval", "pending_approval", "waitlisted"]
    r = await events.post(f"/registrations/{a['id']}/approval")
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    r = await events.post(f"/registrations/{a['id']}/approval")
    assert r.status_code == 409 and "confirmed" in r.json()["detail"]
    r = await events.post(f"/registrations/{b['id']}/rejection", json={})
    assert r.status_code == 422 and fields(r) == ["reason"]
    r = await events.post(f"/registrations/{b['id']}/rejection", json={"reason": "Hors public visé"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    offered = (await events.get(f"/registrations/{c['id']}")).json()["registration"]
    assert offered["status"] == "offered", "the rejected one's place goes to the next in line"
    r = await events.post(f"/registrations/{c['id']}/offer/acceptance")
    assert r.json()["status"] == "pending_approval", "an accepted offer still waits for approval"

    lst = (await events.post(f"/events/{eid}/checkin-lists", json={"name": "Salle"})).json()
    token = (await events.get(f"/registrations/{a['id']}/badge")).json()["token"]
    scan = {"list_id": lst["list_id"], "token": token, "gate": "Salle"}
    assert (await events.post(f"/events/{eid}/scans", json={**scan, "nonce": "x1", "type": "exit"})).json()[
        "result"]["outcome"] == "not_checked_in"
    assert (await events.post(f"/events/{eid}/scans", json={**scan, "nonce": "x2"})).json()["ok"]
    assert (await events.post(f"/events/{eid}/scans", json={**scan, "nonce": "x3", "type": "exit"})).json()[
        "result"]["outcome"] == "checked_out"
    pending = (await events.get(f"/registrations/{c['id']}/badge")).json()["token"]
    r = (await events.post(f"/events/{eid}/scans", json={**scan, "token": pending, "nonce": "x4"})).json()
    assert r["ok"] is False and r["result"]["reason"] == "not_approved" and r["message"] == "invalid: not_approved"


async def test_the_venue_commune_is_checked_kept_and_published(events, events_app):
    _, settings = events_app
    r = await events.post("/events", json=event_body(venue_commune="99999"))
    assert r.status_code == 422 and fields(r) == ["venue_commune"] and "99999" in r.json()["detail"]
    r = await events.post("/events", json=event_body(place=None, online_url="https://visio.example.org/v",
                                                     venue_commune="93048"))
    assert r.status_code == 422 and fields(r) == ["venue_commune"], "an online event has no venue commune"
    event = await published(events, venue_commune="93048")
    assert event["venue_commune"] == "93048"
    r = await events.patch(f"/events/{event['id']}", json={"venue_commune": "93066"})
    assert r.status_code == 200 and r.json()["venue_commune"] == "93066"
    assert (await events.get(f"/events/{event['id']}")).json()["venue_commune"] == "93066"
    records = await read_topic(settings, "events.event", lambda rec: rec.key == event["id"].encode(), count=3)
    assert [json.loads(rec.value)["venue_commune"] for rec in records] == ["93048", "93048", "93066"]
