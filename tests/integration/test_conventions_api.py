"""Business conventions over HTTP and Kafka, on the real broker and database: a convention
created, filled, scheduled, checked in, re-planned and followed up through the API alone — and
the wrong steps and hostile values on the way."""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar

import services.events.domain.scheduling as scheduling_package
from runtime.mongo import stored_instant
from services.events.adapters.repository import CONVENTIONS, SCHEDULE_RUNS
from services.events.domain.conventions import Convention
from tests.integration.conftest import client_of, eventually, fields, header, read_topic, service_settings, serving

pytestmark = pytest.mark.integration

NOW = datetime.now(timezone.utc)
DAY = (NOW + timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)  # the convention's day (UTC)
AT = lambda h, m=0: DAY + timedelta(hours=h, minutes=m)  # noqa: E731 — a time of the day, UTC
SUPPLIERS = [f"Coop Solidaire {i}" for i in range(6)]
BUYERS = ["Ville de Melun", "Département 77", "Hôpital Nord", "Groupe Alpha", "Banque Beta", "Logistique Gamma"]
SECRET_MESSAGE = "Appelez-moi au 06 12 34 56 78"



@pytest.fixture
async def events_app(infrastructure):
    settings = service_settings(infrastructure, "events")
    async with serving("events", settings) as application:
        yield application, settings
        await application.state.platform.commands.conventions.wait_for_runs()


@pytest.fixture
async def api(events_app):
    application, settings = events_app
    async with client_of(application, settings) as c:
        yield c


def convention_event(**over) -> dict:
    body = {"kind": "business_convention", "team": "business_development", "title": "OpenMap ESS — Melun",
            "starts_at": AT(8).isoformat(), "ends_at": AT(17).isoformat(),
            "place": "Espace Saint-Jean, Melun", "capacity": 13}
    body.update(over)
    return body


async def new_event(api, **over) -> str:
    r = await api.post("/events", json=convention_event(**over))
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    assert (await api.post(f"/events/{eid}/publication")).status_code == 200
    return eid


async def register(api, eid: str, i: int) -> dict:
    r = await api.post(f"/events/{eid}/registrations", json={"name": f"Personne {i}", "email": f"p{i}@example.org",
                                                              "organisation_id": f"org-{i}"})
    assert r.status_code == 201, r.text
    return r.json()["registration"]


SETTINGS = {
    "generate": {"start_at": AT(13).isoformat(), "slot_minutes": 20, "count": 6, "gap_minutes": 5},
    "breaks": [{"start_at": AT(14, 15).isoformat(), "end_at": AT(14, 30).isoformat()}],
    "tables": 4, "request_expiry_hours": 72}


async def poll(api, cid: str, run_id: str) -> dict:
    async def finished():
        run = (await api.get(f"/conventions/{cid}/schedule-runs/{run_id}")).json()
        return run if run["status"] in ("done", "failed") else None
    return await eventually(finished, timeout=90)


def slot_of(meeting: dict) -> str:
    return meeting["slot_id"]


async def all_meetings(api, cid: str) -> list[dict]:
    r = await api.get(f"/conventions/{cid}/meetings", params={"limit": 500})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def pair(m: dict) -> frozenset:
    return frozenset((m["a"], m["b"]))


async def test_a_convention_from_settings_to_outcomes_through_the_api_alone(api, events_app, monkeypatch):
    application, settings = events_app
    conventions = application.state.platform.commands.conventions
    events_service = application.state.platform.commands.events

    # -- the event, its registrations, the settings --------------------------------------------------------
    cid = await new_event(api)
    regs = [await register(api, cid, i) for i in range(13)]
    waitlisted = await register(api, cid, 13)
    assert waitlisted["status"] == "waitlisted"
    r = await api.post(f"/conventions/{cid}/participants", json={"registration_id": regs[0]["id"],
                                                                   "role": "ess_supplier"})
    assert r.status_code == 409 and "settings" in r.json()["detail"], "no participant before the settings"

    r = await api.put(f"/conventions/{cid}/settings", json={**SETTINGS, "generate": {**SETTINGS["generate"],
                                                                                      "count": 40}})
    assert r.status_code == 422 and fields(r) == ["generate.count"], "slots beyond the event's end"
    r = await api.put(f"/conventions/{cid}/settings", json={**SETTINGS, "breaks": [
        {"start_at": AT(14, 15).isoformat().replace("+00:00", ""), "end_at": AT(14, 30).isoformat()}]})
    assert r.status_code == 422 and fields(r) == ["breaks.0.start_at"], "a naive time is ambiguous"
    r = await api.put(f"/conventions/{cid}/settings", json={**SETTINGS, "generate": {
        **SETTINGS["generate"], "start_at": "2300-03-16T14:00:00+01:00"}})
    assert r.status_code == 422 and fields(r) == ["generate.start_at"], "far-off date"
    r = await api.put(f"/conventions/{cid}/settings", json=SETTINGS)
    assert r.status_code == 201, r.text
    convention = r.json()
    assert [s["id"] for s in convention["settings"]["slots"]] == ["s1", "s2", "s3", "s4", "s5", "s6"]
    assert convention["settings"]["slots"][3]["start_at"].startswith(AT(14, 30).strftime("%Y-%m-%dT%H:%M")), \
        "s4 starts after the break"
    assert r.headers["ETag"] == '"1"'
    r = await api.put(f"/conventions/{cid}/settings", json={**SETTINGS, "tables": 5}, headers={"If-Match": '"7"'})
    assert r.status_code == 412
    r = await api.put(f"/conventions/{cid}/settings", json=SETTINGS, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["settings_revision"] == 1, "the same settings change nothing"

    # -- participants join with their role and profile ---------------------------------------------------------
    people: dict[str, str] = {}  # participant id -> organisation name
    suppliers, buyers = [], []
    for i, reg in enumerate(regs[:12]):
        supplier = i < 6
        body = {"registration_id": reg["id"], "role": "ess_supplier" if supplier else
                ("public_buyer" if i < 9 else "private_buyer"),
                "organisation_name": SUPPLIERS[i] if supplier else BUYERS[i - 6],
                "sectors": ["économie circulaire"] if supplier else ["achats"],
                "offers": ["réemploi de mobilier"] if supplier else [],
                "needs": [] if supplier else ["traiteur", "nettoyage"]}
        r = await api.post(f"/conventions/{cid}/participants", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["id"] == reg["id"] and r.json()["name"] == f"Personne {i}"
        people[reg["id"]] = body["organisation_name"]
        (suppliers if supplier else buyers).append(reg["id"])
    r = await api.post(f"/conventions/{cid}/participants", json={"registration_id": regs[0]["id"],
                                                                   "role": "ess_supplier"})
    assert r.status_code == 409, "joined already"
    r = await api.post(f"/conventions/{cid}/participants", json={"registration_id": waitlisted["id"],
                                                                   "role": "ess_supplier"})
    assert r.status_code == 409 and r.json()["current_state"] == "waitlisted"
    r = await api.post(f"/conventions/{cid}/participants", json={"registration_id": "reg-nope", "role": "ess_supplier"})
    assert r.status_code == 422 and fields(r) == ["registration_id"]
    r = await api.post(f"/conventions/{cid}/participants", json={"registration_id": regs[12]["id"],
                                                                   "role": "ess_supplier", "sectors": ["a@b.fr"]})
    assert r.status_code == 422 and fields(r) == ["sectors.0"], "tags are not contact details"
    r = await api.post(f"/conventions/{cid}/participants", json={
        "registration_id": regs[12]["id"], "role": "ess_supplier", "arrives_at": "2500-01-01T10:00:00+01:00"})
    assert r.status_code == 422 and fields(r) == ["arrives_at"]
    r = await api.patch(f"/conventions/{cid}/participants/{suppliers[5]}", json={"needs": ["transport"]},
                        headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["profile"]["needs"] == ["transport"] and r.headers["ETag"] == '"2"'
    page = (await api.get(f"/conventions/{cid}/participants", params={"role": "public_buyer"})).json()
    assert page["total"] == 3 and {p["id"] for p in page["items"]} == set(buyers[:3])

    # another convention, and its participant
    other = await new_event(api, title="OpenMap ESS — Nanterre")
    assert (await api.put(f"/conventions/{other}/settings", json=SETTINGS)).status_code == 201
    outsider = (await register(api, other, 99))["id"]
    assert (await api.post(f"/conventions/{other}/participants", json={"registration_id": outsider,
                                                                         "role": "public_buyer"})).status_code == 201
    r = await api.post(f"/conventions/{cid}/participants", json={"registration_id": outsider, "role": "public_buyer"})
    assert r.status_code == 422 and fields(r) == ["registration_id"], "a registration of another event"
    assert (await api.get(f"/conventions/{cid}/participants/{outsider}")).status_code == 404

    # -- meeting requests: sent, accepted, declined, forced, withdrawn, one left to expire ------------------------
    async def ask(a: str, b: str, **over) -> dict:
        r = await api.post(f"/conventions/{cid}/requests", json={"from_participant_id": a, "to_participant_id": b,
                                                                  **over})
        assert r.status_code == 201, r.text
        return r.json()

    sent = {}
    for i, s in enumerate(suppliers):
        for k in range(3):
            b = buyers[(i + k) % 6]
            sent[(s, b)] = await ask(s, b, priority=5 - k, **({"message": SECRET_MESSAGE} if k == 0 else {}))
    mutual = await ask(buyers[1], suppliers[0], priority=4)
    r = await api.post(f"/conventions/{cid}/requests", json={"from_participant_id": suppliers[0],
                                                              "to_participant_id": buyers[0]})
    assert r.status_code == 409 and r.json()["existing_request_id"] == sent[(suppliers[0], buyers[0])]["id"]
    r = await api.post(f"/conventions/{cid}/requests", json={"from_participant_id": suppliers[0],
                                                              "to_participant_id": outsider})
    assert r.status_code == 422 and fields(r) == ["to_participant_id"], "a participant of another convention"
    r = await api.post(f"/conventions/{cid}/requests", json={"from_participant_id": suppliers[0],
                                                              "to_participant_id": suppliers[1]})
    assert r.status_code == 422 and fields(r) == ["to_participant_id"], "two ESS suppliers"

    declined = sent[(suppliers[0], buyers[0])]  # declined, never forced: never scheduled
    forced = sent[(suppliers[1], buyers[1])]  # declined, then forced by the organiser
    pending = sent[(suppliers[2], buyers[2])]  # left unanswered: expires
    withdrawn = sent[(suppliers[3], buyers[5])]
    for key, req in sent.items():
        if req["id"] in (declined["id"], forced["id"]):
            r = await api.post(f"/conventions/{cid}/requests/{req['id']}/decline")
            assert r.status_code == 200 and r.json()["status"] == "declined"
        elif req["id"] not in (pending["id"], withdrawn["id"]):
            assert (await api.post(f"/conventions/{cid}/requests/{req['id']}/acceptance")).status_code == 200
    assert (await api.post(f"/conventions/{cid}/requests/{mutual['id']}/acceptance")).status_code == 200
    r = await api.post(f"/conventions/{cid}/requests/{forced['id']}/forcing")
    assert r.status_code == 200 and r.json()["forced"] is True
    assert (await api.post(f"/conventions/{cid}/requests/{forced['id']}/acceptance")).status_code == 200
    r = await api.post(f"/conventions/{cid}/requests/{forced['id']}/decline")
    assert r.status_code == 409 and "forced" in r.json()["detail"], "a forced request cannot be declined"
    r = await api.post(f"/conventions/{cid}/requests/{withdrawn['id']}/withdrawal")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    mine = (await api.get(f"/conventions/{cid}/requests", params={"participant_id": suppliers[0],
                                                                   "direction": "received"})).json()
    assert [x["id"] for x in mine["items"]] == [mutual["id"]]
    assert (await api.get(f"/conventions/{cid}/requests", params={"status": "declined"})).json()["total"] == 1
    assert [x["id"] for x in (await api.get(f"/conventions/{cid}/requests",
                                            params={"forced": "true"})).json()["items"]] == [forced["id"]]

    # the sweeper, 73 hours later: the unanswered request expires; sweeping again changes nothing
    real_clock = conventions.clock
    conventions.clock = lambda: real_clock() + timedelta(hours=73)
    try:
        await conventions.expire_requests()  # (the job may have run meanwhile: the state says it)
        assert await conventions.expire_requests() == 0
    finally:
        conventions.clock = real_clock
    assert (await api.get(f"/conventions/{cid}/requests/{pending['id']}")).json()["status"] == "expired"
    r = await api.post(f"/conventions/{cid}/requests/{pending['id']}/acceptance")
    assert r.status_code == 409, "too late to answer"

    # -- scheduling in the background: one run at a time, progress, result ------------------------------------------
    r = await api.post(f"/conventions/{cid}/schedule-runs", json={"mode": "replan"})
    assert r.status_code == 409 and "no plan" in r.json()["detail"]
    r = await api.post(f"/conventions/{cid}/schedule-runs", json={"time_limit_seconds": 10**6})
    assert r.status_code == 422 and fields(r) == ["time_limit_seconds"]

    gate = threading.Event()
    real_schedule = scheduling_package.schedule

    def held_schedule(problem, options=None, progress=None):
        progress("validation", 0.25)
        gate.wait(60)
        return real_schedule(problem, options, progress=progress)

    monkeypatch.setattr(scheduling_package, "schedule", held_schedule)
    try:
        r = await api.post(f"/conventions/{cid}/schedule-runs", json={"mode": "initial", "time_limit_seconds": 3})
        assert r.status_code == 202, r.text
        run = r.json()
        assert run["status"] == "queued" and r.headers["Location"].endswith(run["run_id"])

        async def reported():
            doc = (await api.get(f"/conventions/{cid}/schedule-runs/{run['run_id']}")).json()
            return doc if doc["phase"] == "validation" else None
        doc = await eventually(reported)
        assert doc["status"] == "running" and doc["fraction"] == 0.25 and doc["started_at"]
        second = await api.post(f"/conventions/{cid}/schedule-runs", json={"mode": "initial"})
        assert second.status_code == 409 and second.json()["run_id"] == run["run_id"], "one run at a time"
        assert (await api.get(f"/conventions/{cid}")).json()["run_in_progress"]["run_id"] == run["run_id"]
    finally:
        gate.set()
    done = await poll(api, cid, run["run_id"])
    assert done["status"] == "done", done
    quality = done["quality"]
    assert done["phase"] == "done" and done["fraction"] == 1.0 and done["finished_at"]
    assert quality["status"] in ("optimal", "feasible", "heuristic") and quality["meetings"] > 0
    assert quality["bound"] >= quality["weighted"] and 0 <= quality["gap"] <= 1
    view = (await api.get(f"/conventions/{cid}")).json()
    assert view["quality"] == quality and view["plan_run_id"] == run["run_id"] and view["run_in_progress"] is None

    plan = await all_meetings(api, cid)
    pairs = {pair(m) for m in plan}
    assert frozenset((suppliers[0], buyers[0])) not in pairs, "a declined, unforced pair is never scheduled"
    assert frozenset((suppliers[1], buyers[1])) in pairs, "a forced pair is scheduled"
    assert frozenset((suppliers[2], buyers[2])) not in pairs, "an expired request is not scheduled"
    assert frozenset((suppliers[3], buyers[5])) not in pairs, "a withdrawn request is not scheduled"

    # -- agendas: published, then JSON, iCalendar, printable pages -----------------------------------------------------
    assert (await api.get(f"/conventions/{cid}/participants/{suppliers[0]}/agenda")).status_code == 409
    r = await api.post(f"/conventions/{cid}/agendas/publication")
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["new"] is True
    again = (await api.post(f"/conventions/{cid}/agendas/publication")).json()
    assert again["version"] == 1 and again["new"] is False
    busiest = max(people, key=lambda p: sum(p in pair(m) for m in plan))
    agenda = (await api.get(f"/conventions/{cid}/participants/{busiest}/agenda")).json()
    assert agenda["version"] == 1 and len(agenda["items"]) == sum(busiest in pair(m) for m in plan)
    first = agenda["items"][0]
    assert first["counterpart_organisation_name"] == people[first["counterpart_id"]]
    assert first["start_at"][-6:] in ("+01:00", "+02:00"), "times in Europe/Paris"
    assert [i["start_at"] for i in agenda["items"]] == sorted(i["start_at"] for i in agenda["items"])

    ics = await api.get(f"/conventions/{cid}/participants/{busiest}/agenda.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    vevents = list(Calendar.from_ical(ics.content).walk("VEVENT"))
    assert sorted(str(v["UID"]) for v in vevents) == sorted(f"{i['meeting_id']}@cress" for i in agenda["items"])
    assert all(int(v["SEQUENCE"]) == 1 and str(v["STATUS"]) == "CONFIRMED" for v in vevents)
    assert any(f"table {first['table']}" in str(v["SUMMARY"]) for v in vevents)

    page = await api.get(f"/conventions/{cid}/participants/{busiest}/agenda.html")
    html = page.text
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert people[first["counterpart_id"]] in html and f'<td class="table">{first["table"]}</td>' in html
    assert people[busiest] in html and "Acheteur" in html and "Structure de l&#x27;ESS" in html
    assert "<script" not in html and "<link" not in html and "@import" not in html and "src=" not in html
    assert "@page" in html and "break-after: page" in html
    local = datetime.fromisoformat(first["start_at"]).strftime("%H:%M")
    assert local in html, "times of the printed page in Europe/Paris"
    grid = (await api.get(f"/conventions/{cid}/agendas.html")).text
    assert grid.count('<section class="agenda"') == 12, "one page per participant"
    async with client_of(application, settings, "reader") as reader:
        assert (await reader.get(f"/conventions/{cid}/figures")).status_code == 200
        for named in (f"/conventions/{cid}/agendas.html", f"/conventions/{cid}/participants"):
            assert (await reader.get(named)).status_code == 403, "named people are for staff only"
        r = await reader.post(f"/conventions/{cid}/requests/{mutual['id']}/decline")
        assert r.status_code == 403, "participants' own actions need staff:events (or an app acting for them)"

    # -- on the day: arrivals (a badge at the door counts), a no-show, a re-plan, version 2 ----------------------------
    starts = {x["id"]: datetime.fromisoformat(x["start_at"]) for x in view["settings"]["slots"]}
    order = sorted(starts, key=starts.get)
    first_slot = min({slot_of(m) for m in plan}, key=starts.get)  # the first slot with meetings
    next_slot = order[order.index(first_slot) + 1]  # re-planned from here, at 5 minutes into the first
    history = {x for x in order if starts[x] < starts[next_slot]}
    under_way = [m for m in plan if slot_of(m) == first_slot]
    later = [m for m in plan if slot_of(m) not in history]
    assert under_way and later
    held_meeting = under_way[0]  # both badges will be scanned at its table
    candidates = [p for p in people if p not in pair(held_meeting)
                  and any(p in pair(m) for m in later)]
    absent = max(candidates, key=lambda p: sum(p in pair(m) for m in later))
    events_clock, conventions_clock = events_service.clock, conventions.clock
    events_service.clock = conventions.clock = lambda: starts[first_slot] - timedelta(minutes=30)
    try:
        checkin_list = (await api.post(f"/events/{cid}/checkin-lists", json={"name": "Accueil"})).json()
        door = held_meeting["a"]
        token = (await api.get(f"/registrations/{door}/badge")).json()["token"]
        r = await api.post(f"/events/{cid}/scans", json={"list_id": checkin_list["list_id"], "token": token,
                                                         "gate": "Accueil", "nonce": "door-1"})
        assert r.status_code == 200 and r.json()["result"]["outcome"] == "checked_in"
        participant = (await api.get(f"/conventions/{cid}/participants/{door}")).json()
        assert participant["arrived_at"] is not None, "the check-in at the door is the convention arrival"
        for p in people:
            if p not in (absent, door):
                r = await api.post(f"/conventions/{cid}/participants/{p}/arrival")
                assert r.status_code == 200 and r.json()["changed"] is True
        r = await api.post(f"/conventions/{cid}/participants/{door}/arrival")
        assert r.status_code == 200 and r.json()["changed"] is False, "recorded once"
        r = await api.post(f"/conventions/{cid}/participants/{door}/no-show")
        assert r.status_code == 409, "here already"

        events_service.clock = conventions.clock = lambda: starts[first_slot] + timedelta(minutes=5)
        r = await api.post(f"/conventions/{cid}/participants/{absent}/no-show")
        assert r.status_code == 200 and r.json()["participant"]["no_show_at"] is not None
        # badges scanned at the table of a meeting under way: held at the second one (one by its QR token)
        other_side = held_meeting["b"]
        r = await api.post(f"/conventions/{cid}/meetings/{held_meeting['meeting_id']}/scans",
                           json={"participant_id": held_meeting["a"]})
        assert r.status_code == 200 and r.json()["held_now"] is False
        badge = (await api.get(f"/registrations/{other_side}/badge")).json()["token"]
        r = await api.post(f"/conventions/{cid}/meetings/{held_meeting['meeting_id']}/scans", json={"token": badge})
        assert r.status_code == 200 and r.json()["held_now"] is True
        assert r.json()["meeting"]["held"] is True and r.json()["meeting"]["held_how"] == "badges"
        r = await api.post(f"/conventions/{cid}/meetings/m-0000000000000000/scans",
                           json={"participant_id": held_meeting["a"]})
        assert r.status_code == 404, "unknown meeting"

        r = await api.post(f"/conventions/{cid}/schedule-runs", json={"mode": "replan", "time_limit_seconds": 3})
        assert r.status_code == 202, r.text
        replanned = await poll(api, cid, r.json()["run_id"])
        assert replanned["status"] == "done", replanned
        assert replanned["from_slot_id"] == next_slot and absent in replanned["absent"]
        assert replanned["replan"]["released"] >= 1
        r = await api.post(f"/conventions/{cid}/agendas/publication")
        assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["new"] is True
        changed = set(r.json()["changed_participant_ids"])
    finally:
        events_service.clock, conventions.clock = events_clock, conventions_clock

    assert absent in changed
    v1 = {p: (await api.get(f"/conventions/{cid}/participants/{p}/agenda", params={"version": 1})).json()["items"]
          for p in people}
    v2 = {p: (await api.get(f"/conventions/{cid}/participants/{p}/agenda")).json()["items"] for p in people}
    assert all(v1[p] == v2[p] for p in people if p not in changed), "only the changed people's agendas differ"
    assert all(v1[p] != v2[p] for p in changed)
    assert all(i["slot_id"] in history for i in v2[absent]), "the no-show's meetings are gone from the re-plan on"
    before = sorted((i["meeting_id"], i["table"]) for p in people for i in v1[p] if i["slot_id"] in history)
    after = sorted((i["meeting_id"], i["table"]) for p in people for i in v2[p] if i["slot_id"] in history)
    assert before == after and before, "earlier slots unchanged"
    ics = Calendar.from_ical((await api.get(f"/conventions/{cid}/participants/{absent}/agenda.ics")).content)
    cancelled = [v for v in ics.walk("VEVENT") if str(v["STATUS"]) == "CANCELLED"]
    gone = {i["meeting_id"] for i in v1[absent]} - {i["meeting_id"] for i in v2[absent]}
    assert {str(v["UID"]) for v in cancelled} == {f"{m}@cress" for m in gone} and gone
    assert all(int(v["SEQUENCE"]) == 2 for v in ics.walk("VEVENT"))

    # -- after the day: the organiser marks, settles, records outcomes; figures ----------------------------------------
    events_service.clock = conventions.clock = lambda: AT(16, 30)
    try:
        plan = await all_meetings(api, cid)
        rest = [m for m in plan if m["meeting_id"] != held_meeting["meeting_id"] and m["held"] is None]
        marked_held, marked_not = rest[0], rest[1]
        r = await api.post(f"/conventions/{cid}/meetings/{marked_held['meeting_id']}/mark", json={"held": True})
        assert r.status_code == 200 and r.json()["held_how"] == "organiser"
        r = await api.post(f"/conventions/{cid}/meetings/{marked_not['meeting_id']}/mark", json={"held": False})
        assert r.status_code == 200 and r.json()["held"] is False
        r = await api.post(f"/conventions/{cid}/meetings/settlement")
        assert r.status_code == 200 and r.json()["settled"] == len(plan) - 3

        outcome = f"/conventions/{cid}/meetings/{held_meeting['meeting_id']}/outcomes"
        r = await api.post(outcome, json={"outcome": "contract_signed"})
        assert r.status_code == 422 and fields(r) == ["amount_cents"]
        r = await api.post(outcome, json={"outcome": "contract_signed", "amount_cents": 10**30})
        assert r.status_code == 422 and fields(r) == ["amount_cents"]
        r = await api.post(outcome, json={"outcome": "contract_signed", "amount_cents": -1})
        assert r.status_code == 422 and fields(r) == ["amount_cents"]
        r = await api.post(outcome, json={"outcome": "negotiation_started", "need_id": "need-7c1d2e3f4a5b"})
        assert r.status_code == 201
        r = await api.post(outcome, json={"outcome": "contract_signed", "amount_cents": 1_250_000,
                                          "need_id": "need-7c1d2e3f4a5b", "contract_id": "2027-MAPA-0042"})
        assert r.status_code == 201 and r.json()["outcome"]["need_id"] == "need-7c1d2e3f4a5b"
        r = await api.post(f"/conventions/{cid}/meetings/{marked_held['meeting_id']}/outcomes",
                           json={"outcome": "quote_requested"})
        assert r.status_code == 201
        r = await api.post(f"/conventions/{cid}/meetings/{marked_not['meeting_id']}/outcomes",
                           json={"outcome": "quote_requested"})
        assert r.status_code == 409, "no outcome for a meeting that did not take place"
        r = await api.post(f"/conventions/{cid}/meetings/m-0000000000000000/outcomes",
                           json={"outcome": "quote_requested"})
        assert r.status_code == 404
        events_service.clock = lambda: AT(17, 30)
        assert (await api.post(f"/events/{cid}/held")).status_code == 200
    finally:
        events_service.clock, conventions.clock = events_clock, conventions_clock

    figures = (await api.get(f"/conventions/{cid}/figures")).json()
    n = len(plan)
    assert (figures["meetings_scheduled"], figures["meetings_held"], figures["meetings_not_held"],
            figures["meetings_unmarked"], figures["held_by_badges"]) == (n, 2, n - 2, 0, 1)
    assert figures["held_rate"] == pytest.approx(2 / n)
    assert figures["outcomes"] == {"no_further_contact": 0, "quote_requested": 1, "negotiation_started": 0,
                                   "contract_signed": 1}
    assert (figures["contracts_signed"], figures["contract_amount_cents"]) == (1, 1_250_000)
    assert figures["participants"] == {"active": 12, "left": 0, "arrived": 11, "no_shows": 1}
    assert figures["requests"]["expired"] == 1 and figures["requests"]["withdrawn"] == 1
    yearly = (await api.get("/statistics/yearly", params={"year": DAY.year})).json()
    assert {"convention_id": cid, "title": "OpenMap ESS — Melun", "meetings_scheduled": n,
            "meetings_held": 2} in yearly["conventions"]

    # -- the convention's events: ids only, no names, e-mails, organisation names or messages --------------------------
    records = await read_topic(settings, "events.convention", lambda rec: rec.key == cid.encode(), count=60)
    types = {header(rec, "ce_type").split(".")[3] for rec in records}
    assert {"convention-configured", "convention-participant-joined", "meeting-requested", "meeting-request-forced",
            "meeting-request-expired", "schedule-run-started", "schedule-computed", "agendas-published",
            "participant-arrived", "participant-no-show", "meeting-badge-scanned", "meeting-held", "meeting-not-held",
            "meeting-outcome-recorded"} <= types
    for rec in records:
        assert b"@example.org" not in rec.value and b"Personne" not in rec.value
        assert SECRET_MESSAGE.encode() not in rec.value and b"06 12 34" not in rec.value
        assert not any(name.encode() in rec.value for name in [*SUPPLIERS, *BUYERS])


async def test_a_run_left_by_a_dead_process_is_failed_on_the_next_request(api, events_app):
    """A run whose process stopped (no heartbeat) does not block the convention: the next request
    fails it, through the domain, and a new run starts."""
    application, _ = events_app
    conventions = application.state.platform.commands.conventions
    cid = await new_event(api)
    regs = [await register(api, cid, i) for i in range(2)]
    assert (await api.put(f"/conventions/{cid}/settings", json=SETTINGS)).status_code == 201
    a, b = regs[0]["id"], regs[1]["id"]
    for reg, role in ((a, "ess_supplier"), (b, "public_buyer")):
        assert (await api.post(f"/conventions/{cid}/participants", json={"registration_id": reg,
                                                                          "role": role})).status_code == 201
    req = (await api.post(f"/conventions/{cid}/requests", json={"from_participant_id": a,
                                                                 "to_participant_id": b})).json()
    await api.post(f"/conventions/{cid}/requests/{req['id']}/acceptance")

    # a run started by "another process" that died: on the convention, and its document, with an old heartbeat
    async def crashed(tx):
        convention = await tx.get(CONVENTIONS, Convention, cid)
        convention.start_schedule_run("run-crashed", mode="initial", at=conventions.clock())
        await tx.save(CONVENTIONS, convention)
        old = stored_instant(conventions.clock() - timedelta(minutes=5))
        await tx.db[SCHEDULE_RUNS].insert_one({
            "_id": "run-crashed", "convention_id": cid, "mode": "initial", "status": "running", "phase": "cp-sat",
            "fraction": 0.4, "time_limit_seconds": 10.0, "check_in_closed": False, "from_slot_id": None,
            "settings_revision": 1, "participants": 2, "requests": 1, "absent": [], "requested_at": old,
            "started_at": old, "finished_at": None, "heartbeat_at": old, "process_id": "proc-dead", "quality": None,
            "unscheduled": None, "replan": None, "error": None}, session=tx.session)
    await application.state.platform.db.transaction(crashed)

    r = await api.get(f"/conventions/{cid}/schedule-runs/run-crashed")
    assert r.status_code == 200 and r.json()["status"] == "failed" and "abandoned" in r.json()["error"]
    assert (await api.get(f"/conventions/{cid}")).json()["run_in_progress"] is None
    r = await api.post(f"/conventions/{cid}/schedule-runs", json={"time_limit_seconds": 2})
    assert r.status_code == 202, r.text
    done = await poll(api, cid, r.json()["run_id"])
    assert done["status"] == "done" and done["quality"]["meetings"] == 1
    assert (await api.get(f"/conventions/{cid}/schedule-runs/nope")).status_code == 404
    runs = (await api.get(f"/conventions/{cid}/schedule-runs")).json()
    assert [x["status"] for x in runs["items"]] == ["done", "failed"]


async def test_settings_on_an_event_that_is_not_a_convention_and_unknown_ids(api):
    r = await api.post("/events", json=convention_event(kind="webinar", team="education"))
    eid = r.json()["id"]
    r = await api.put(f"/conventions/{eid}/settings", json=SETTINGS)
    assert r.status_code == 409 and r.json()["current_state"] == "webinar"
    assert (await api.put("/conventions/evt-nope/settings", json=SETTINGS)).status_code == 404
    assert (await api.get("/conventions/evt-nope")).status_code == 404
    assert (await api.get("/conventions/evt-nope/meetings/m-1")).status_code == 404
    r = await api.put(f"/conventions/{eid}/settings", json={**SETTINGS, "tables": 10**30})
    assert r.status_code == 422 and fields(r) == ["tables"]
    cid = await new_event(api)
    r = await api.put(f"/conventions/{cid}/settings", json={**SETTINGS, "slots": [
        {"id": "s1", "start_at": AT(13).isoformat(), "duration_minutes": 20}]})
    assert r.status_code == 422 and fields(r) == ["slots"], "slots or generate, not both"
    assert (await api.get(f"/conventions/{eid}", headers={"Authorization": ""})).status_code == 401


async def test_concurrent_requests_of_one_pair_make_one_request(api):
    cid = await new_event(api)
    regs = [await register(api, cid, i) for i in range(2)]
    assert (await api.put(f"/conventions/{cid}/settings", json=SETTINGS)).status_code == 201
    a, b = regs[0]["id"], regs[1]["id"]
    for reg, role in ((a, "ess_supplier"), (b, "private_buyer")):
        assert (await api.post(f"/conventions/{cid}/participants", json={"registration_id": reg,
                                                                          "role": role})).status_code == 201
    results = await asyncio.gather(*(api.post(f"/conventions/{cid}/requests", json={
        "from_participant_id": a, "to_participant_id": b}) for _ in range(6)))
    assert sorted(r.status_code for r in results) == [201] + [409] * 5
    assert (await api.get(f"/conventions/{cid}/requests")).json()["total"] == 1
    r = await api.post(f"/conventions/{cid}/participants/{b}/withdrawal")
    assert r.status_code == 200 and r.json()["status"] == "left"
    assert (await api.post(f"/conventions/{cid}/participants/{b}/withdrawal")).status_code == 409
    r = await api.post(f"/conventions/{cid}/requests", json={"from_participant_id": b, "to_participant_id": a})
    assert r.status_code == 409 and r.json()["current_state"] == "left"
    assert (await api.get(f"/conventions/{cid}/participants", params={"status": "left"})).json()["total"] == 1


async def test_locked_meetings_stay_put_and_table_scans_upload_together(api, events_app):
    application, _ = events_app
    conventions = application.state.platform.commands.conventions
    cid = await new_event(api)
    a, b, c, d = [(await register(api, cid, i))["id"] for i in range(4)]
    assert (await api.put(f"/conventions/{cid}/settings", json=SETTINGS)).status_code == 201
    for pid, role in ((a, "ess_supplier"), (b, "public_buyer"), (c, "ess_supplier"), (d, "private_buyer")):
        assert (await api.post(f"/conventions/{cid}/participants", json={"registration_id": pid,
                                                                          "role": role})).status_code == 201
    for x, y in ((a, b), (c, d)):
        req = (await api.post(f"/conventions/{cid}/requests", json={"from_participant_id": x,
                                                                     "to_participant_id": y})).json()
        assert (await api.post(f"/conventions/{cid}/requests/{req['id']}/acceptance")).status_code == 200

    lock = {"a": a, "b": d, "slot_id": "s3", "table": 2}
    r = await api.post(f"/conventions/{cid}/locked-meetings", json=lock)
    assert r.status_code == 201 and r.json()["locked"][0]["slot_id"] == "s3"
    assert (await api.post(f"/conventions/{cid}/locked-meetings", json=lock)).status_code == 409
    r = await api.post(f"/conventions/{cid}/locked-meetings", json={**lock, "b": b, "table": 9})
    assert r.status_code == 422 and fields(r) == ["table"]
    r = await api.post(f"/conventions/{cid}/locked-meetings", json={**lock, "b": b, "slot_id": "s99"})
    assert r.status_code == 422 and fields(r) == ["slot_id"]

    r = await api.post(f"/conventions/{cid}/schedule-runs", json={"time_limit_seconds": 2})
    assert (await poll(api, cid, r.json()["run_id"]))["status"] == "done"
    plan = await all_meetings(api, cid)
    locked = next(m for m in plan if pair(m) == frozenset((a, d)))
    assert (locked["slot_id"], locked["table"], locked["locked"]) == ("s3", 2, True), "the lock is kept"
    assert {pair(m) for m in plan} == {frozenset((a, b)), frozenset((c, d)), frozenset((a, d))}
    assert (await api.delete(f"/conventions/{cid}/locked-meetings/{a}/{d}")).status_code == 200
    assert (await api.delete(f"/conventions/{cid}/locked-meetings/{a}/{d}")).status_code == 404

    # the table's device uploads its scans together, once the slot has started
    other = next(m for m in plan if pair(m) == frozenset((a, b)))
    token = (await api.get(f"/registrations/{d}/badge")).json()["token"]
    slot_start = datetime.fromisoformat(locked["start_at"])
    real_clock = conventions.clock
    conventions.clock = lambda: slot_start + timedelta(minutes=1)
    try:
        r = await api.post(f"/conventions/{cid}/meeting-scans", json={"scans": [
            {"meeting_id": locked["meeting_id"], "participant_id": a},
            {"meeting_id": locked["meeting_id"], "token": token},
            {"meeting_id": "m-0000000000000000", "participant_id": a},
            {"meeting_id": other["meeting_id"], "participant_id": c},
            {"meeting_id": locked["meeting_id"], "participant_id": a},
            {"meeting_id": locked["meeting_id"], "participant_id": a,
             "scanned_at": (slot_start + timedelta(hours=2)).isoformat()},
        ]})
    finally:
        conventions.clock = real_clock
    assert r.status_code == 200, r.text
    batch = r.json()
    assert [(x["status"], x["held_now"]) for x in batch["results"]] == [
        (200, False), (200, True), (404, None), (422, None), (200, False), (422, None)]
    assert batch["results"][3]["field"] == "participant_id" and batch["results"][5]["field"] == "scans.5.scanned_at"
    assert (batch["recorded"], batch["held_now"], batch["refused"]) == (3, 1, 3)
    meeting = (await api.get(f"/conventions/{cid}/meetings/{locked['meeting_id']}")).json()
    assert meeting["held"] is True and set(meeting["scans"]) == {a, d}
    assert (await api.get(f"/conventions/{cid}/meetings/{other['meeting_id']}")).json()["scans"] == {}
