"""A person's data across the services (GDPR), on the real broker and database: a person who is
the contact of an organisation in membership, registered for an event in the events service and
answered its surveys (free text naming them) is exported (one JSON of both), then erased on
request — each holder erases or anonymises and confirms with its event, the request completes,
the export is empty afterwards, the answers' text is gone, and the event's figures and survey
results are what they were. Records stored before the subject references existed are found all
the same (the references are written at start)."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

import httpx
from pymongo import AsyncMongoClient

from contracts.privacy import subject_ref
from services.events.domain.surveys import ERASED_ANSWER
from runtime.privacy import export, is_empty
from tests.integration.conftest import (client_of, eventually, fields, read_topic, service_settings, serving,
                                        unique_siret)
from tests.integration.test_surveys_api import PARTNER_QUESTIONS

pytestmark = pytest.mark.integration

EMAIL = "Camille.Martin@Example.org"  # as the person gave it to membership; events stores it lower-cased
SOON = datetime.now(timezone.utc) + timedelta(days=30)


@pytest.fixture
async def platform(infrastructure):
    """membership and events, each in its own database, on the session's broker."""
    m_settings = service_settings(infrastructure, "membership")
    e_settings = service_settings(infrastructure, "events")
    async with serving("membership", m_settings) as m_app, serving("events", e_settings) as e_app:
        async with client_of(m_app, m_settings) as membership, client_of(e_app, e_settings) as events, \
                client_of(m_app, m_settings, "privacy") as m_privacy, \
                client_of(e_app, e_settings, "privacy") as e_privacy, \
                client_of(m_app, m_settings, "staff:membership") as m_staff, \
                client_of(e_app, e_settings, "staff:events") as e_staff:
            yield {"membership": membership, "events": events, "privacy": {"membership": m_privacy,
                                                                          "events": e_privacy},
                   "staff": {"membership": m_staff, "events": e_staff}, "settings": m_settings, "events_app": e_app}


async def _organisation_with_contacts(membership, email_of_camille: str = EMAIL) -> str:
    r = await membership.post("/organisations", json={
        "siret": unique_siret(), "name": "Les Ateliers Solidaires", "legal_form": "association",
        "departement": "93", "commune": "Montreuil", "sector": "économie circulaire", "headcount": 5,
        "annual_budget_cents": 20_000_000})
    assert r.status_code == 201, r.text
    org = r.json()["id"]
    for name, email in (("Camille Martin", email_of_camille), ("Dominique Petit", "d.petit@example.org")):
        r = await membership.post(f"/organisations/{org}/contacts", json={
            "name": name, "role": "membership_contact", "email": email, "phone": "+33 1 23 45 67 89",
            "consent_on": date.today().isoformat()})
        assert r.status_code == 201, r.text
    return org


async def _published_event(events) -> str:
    r = await events.post("/events", json={
        "kind": "club_des_collectivites", "team": "territories", "title": "Club des collectivités",
        "starts_at": SOON.isoformat(), "ends_at": (SOON + timedelta(hours=3)).isoformat(),
        "place": "CRESS, 7-9 rue Darboy, Paris", "capacity": 10})
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    assert (await events.post(f"/events/{eid}/publication")).status_code == 200
    return eid


async def _event_with_registrations(events, email_of_camille: str = EMAIL) -> tuple[str, list[str]]:
    eid = await _published_event(events)
    regs = []
    for name, email in (("Camille Martin", email_of_camille), ("Dominique Petit", "d.petit@example.org")):
        r = await events.post(f"/events/{eid}/registrations", json={"name": name, "email": email,
                                                                      "phone": "+33 6 12 34 56 78"})
        assert r.status_code == 201, r.text
        regs.append(r.json()["registration"]["id"])
    # the person is also invited, as a partner, to the event's partners survey
    r = await events.post(f"/events/{eid}/surveys", json={
        "audience": "partners", "title": "Votre avis", "questions": PARTNER_QUESTIONS,
        "closes_at": (datetime.now(timezone.utc) + timedelta(days=10)).isoformat()})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = await events.post(f"/surveys/{sid}/invitations", json={"partners": [
        {"name": "Camille Martin", "email": email_of_camille, "organisation": "Région"},
        {"name": "Dominique Petit", "email": "d.petit@example.org"}]})
    assert r.status_code == 200, r.text
    return eid, regs


CAMILLE_SAYS = "Camille Martin, Région : très bon accueil, rappelez-moi au 06 12 34 56 78"
DOMINIQUE_SAYS = "Dominique : parfait"


async def _answers(events, app, eid: str) -> dict[str, str]:
    """Both people answer both surveys of the event (participants: by registration; partners: as
    invitees), with free text that names them; returns {survey id: audience}."""
    surveys = {s["audience"]: s["id"] for s in (await events.get(f"/events/{eid}/surveys")).json()}
    r = await events.post(f"/events/{eid}/surveys", json={
        "audience": "participants", "title": "Votre avis", "questions": PARTNER_QUESTIONS,
        "closes_at": (datetime.now(timezone.utc) + timedelta(days=10)).isoformat()})
    assert r.status_code == 201, r.text
    surveys["participants"] = r.json()["id"]
    r = await events.post(f"/surveys/{surveys['participants']}/invitations", json={"registrations": "confirmed"})
    assert r.status_code == 200, r.text
    paths = {}
    for audience, sid in surveys.items():
        assert (await events.post(f"/surveys/{sid}/opening")).status_code == 200
        invited = (await events.get(f"/surveys/{sid}/invitations")).json()["items"]
        paths[audience] = {i["email"].lower(): i["answer_path"] for i in invited}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://events.test") as anonymous:
        for audience in surveys:
            for email, mark, text in ((EMAIL.lower(), 12, CAMILLE_SAYS), ("d.petit@example.org", 18, DOMINIQUE_SAYS)):
                r = await anonymous.put(paths[audience][email], json={"answers": {
                    "overall": mark, "come_again": True, "comment": text}})
                assert r.status_code == 201, r.text
    return {sid: audience for audience, sid in surveys.items()}


async def _free_text(events, survey_ids) -> list[str]:
    texts = []
    for sid in survey_ids:
        texts += [item["answers"]["comment"] for item in (await events.get(f"/surveys/{sid}/free-text")).json()["items"]]
    return sorted(texts)


async def _figures(events, eid: str) -> dict:
    occupancy = (await events.get(f"/events/{eid}/occupancy")).json()
    page = (await events.get(f"/events/{eid}/registrations")).json()
    surveys = (await events.get(f"/events/{eid}/surveys")).json()
    results = (await events.get(f"/events/{eid}/survey-results")).json()  # marks, shares, counts answered
    return {"occupancy": occupancy, "registrations": page["total"],
            "invited": [(s["audience"], s["invited_count"]) for s in surveys],
            "statuses": sorted((r["id"], r["status"], r["category"]) for r in page["items"]),
            "survey_results": results}


async def test_a_person_is_exported_then_erased_everywhere_and_the_figures_stay(platform):
    membership, events, privacy = platform["membership"], platform["events"], platform["privacy"]
    org = await _organisation_with_contacts(membership)
    eid, (camille, dominique) = await _event_with_registrations(events)
    surveys = await _answers(events, platform["events_app"], eid)
    before = await _figures(events, eid)
    assert before["registrations"] == 2 and before["occupancy"]["held"] == 2
    assert sorted(before["invited"]) == [("participants", 2), ("partners", 2)]
    assert {a: (before["survey_results"][a]["responses"], [(q["question_id"], q["answered"])
                                                           for q in before["survey_results"][a]["questions"]])
            for a in ("participants", "partners")} == {
        a: (2, [("overall", 2), ("come_again", 2), ("comment", 2)]) for a in ("participants", "partners")}
    assert await _free_text(events, surveys) == sorted([CAMILLE_SAYS, DOMINIQUE_SAYS] * 2)

    # the export: one JSON of everything both holders keep about the person
    exported = await export(EMAIL, privacy)
    assert exported["email"] == "camille.martin@example.org"
    contacts = exported["services"]["membership"]["contacts"]
    assert [(c["organisation_id"], c["name"], c["email"]) for c in contacts] == [(org, "Camille Martin", EMAIL)]
    registrations = exported["services"]["events"]["registrations"]
    assert [(r["id"], r["event_id"], r["event_title"], r["person"]["name"]) for r in registrations] == [
        (camille, eid, "Club des collectivités", "Camille Martin")]
    invitations = exported["services"]["events"]["survey_invitations"]
    assert [(i["name"], i["email"], i["organisation"]) for i in invitations] == [("Camille Martin", EMAIL, "Région")]
    answers = exported["services"]["events"]["survey_answers"]
    assert sorted((surveys[a["survey_id"]], a["answers"]["comment"]) for a in answers) == [
        ("participants", CAMILLE_SAYS), ("partners", CAMILLE_SAYS)]
    assert "d.petit" not in json.dumps(exported) and DOMINIQUE_SAYS not in json.dumps(exported)  # nobody else's

    # the request: 202, pending or already complete, the requester kept, no e-mail anywhere in it
    r = await privacy["membership"].post("/personal-data-erasure-requests", json={"email": " camille.MARTIN@example.org"})
    assert r.status_code == 202, r.text
    request = r.json()
    assert request["requested_by"] == "test" and request["holders"] == ["membership", "events"]
    assert request["subject_ref"] == subject_ref(EMAIL, platform["settings"].privacy_key)
    assert "camille" not in r.text.lower()

    async def complete():
        got = (await privacy["membership"].get(f"/personal-data-erasure-requests/{request['id']}")).json()
        return got if got["status"] == "complete" else None

    done = await eventually(complete, timeout=30)
    assert {s: c["erased"] for s, c in done["confirmations"].items()} == {
        "membership": {"contacts": 1}, "events": {"registrations": 1, "survey_invitations": 1, "survey_answers": 2}}
    assert done["completed_at"] is not None

    # afterwards the export is empty; the other person's data are untouched
    after = await export(EMAIL, privacy)
    assert is_empty(after), after
    other = await export("d.petit@example.org", privacy)
    assert len(other["services"]["membership"]["contacts"]) == 1
    assert len(other["services"]["events"]["registrations"]) == 1
    assert len(other["services"]["events"]["survey_invitations"]) == 1

    assert len(other["services"]["events"]["survey_answers"]) == 2

    # the figures keep: the registration is there, confirmed, anonymised; every survey result is what
    # it was (the erased comments still count as answered); the text of the person's answers is gone
    assert await _figures(events, eid) == before
    assert await _free_text(events, surveys) == sorted([ERASED_ANSWER, DOMINIQUE_SAYS] * 2)
    reg = (await events.get(f"/registrations/{camille}")).json()["registration"]
    assert reg["status"] == "confirmed" and reg["person"]["name"] is None and reg["person"]["email"] is None
    assert reg["person"]["erased_at"] is not None
    org_now = (await membership.get(f"/organisations/{org}")).json()
    assert [c["name"] for c in org_now["contacts"]] == ["Dominique Petit"]

    # the events: request, both confirmations and the completion, none of them naming the person
    topic = await read_topic(platform["settings"], "membership.erasure-request",
                             lambda rec: rec.key.decode() == request["id"], count=3)
    assert {dict(rec.headers)["ce_type"].decode().split(".")[3] for rec in topic} == {
        "personal-data-erasure-requested", "personal-data-erased", "personal-data-erasure-completed"}
    confirmed = await read_topic(platform["settings"], "events.erasure-request",
                                 lambda rec: rec.key.decode() == request["id"], count=1)
    assert json.loads(confirmed[0].value)["erased"] == {"registrations": 1, "survey_invitations": 1,
                                                        "survey_answers": 2}
    assert all(b"camille" not in rec.value.lower() for rec in topic + confirmed)
    removed = await read_topic(platform["settings"], "membership.organisation",
                               lambda rec: rec.key.decode() == org and b"contact-removed" in dict(rec.headers)["ce_type"])
    assert len(removed) == 1  # the contact's removal, through the outbox like any other


async def test_a_second_request_about_an_erased_person_completes_with_nothing_to_erase(platform):
    privacy = platform["privacy"]
    await _organisation_with_contacts(platform["membership"])
    ids = []
    for _ in range(2):
        r = await privacy["membership"].post("/personal-data-erasure-requests", json={"email": EMAIL})
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])

    async def both_complete():
        got = [(await privacy["membership"].get(f"/personal-data-erasure-requests/{i}")).json() for i in ids]
        return got if all(g["status"] == "complete" for g in got) else None

    first, second = sorted(await eventually(both_complete, timeout=30),
                           key=lambda g: g["confirmations"]["membership"]["erased"]["contacts"], reverse=True)
    assert first["confirmations"]["membership"]["erased"] == {"contacts": 1}  # whichever ran first erased
    assert second["confirmations"]["membership"]["erased"] == {"contacts": 0}  # the other found nothing
    assert second["confirmations"]["events"]["erased"] == {"registrations": 0, "survey_invitations": 0,
                                                           "survey_answers": 0}


async def test_an_answer_kept_for_an_idempotency_key_goes_with_the_person(platform):
    """A registration sent with an Idempotency-Key keeps its answer (name and e-mail, sealed) for a day,
    for the retries: the person's erasure deletes it too, in the events service's erasure transaction,
    and counts it in the confirmation; a retry of the key afterwards is a new request."""
    email = f"sacha.{uuid.uuid4().hex[:8]}@example.org"  # its own person: other tests' requests are on the topics
    events, privacy = platform["events"], platform["privacy"]
    eid = await _published_event(events)
    body, key = {"name": "Sacha Roux", "email": email}, {"Idempotency-Key": str(uuid.uuid4())}
    first = await events.post(f"/events/{eid}/registrations", json=body, headers=key)
    assert first.status_code == 201, first.text
    keys = platform["events_app"].state.platform.db["idempotency_keys"]
    ref = subject_ref(email, platform["settings"].privacy_key)
    assert await keys.count_documents({"email_refs": ref}) == 1

    r = await privacy["membership"].post("/personal-data-erasure-requests", json={"email": email})
    assert r.status_code == 202, r.text

    async def complete():
        got = (await privacy["membership"].get(f"/personal-data-erasure-requests/{r.json()['id']}")).json()
        return got if got["status"] == "complete" else None

    done = await eventually(complete, timeout=30)
    assert done["confirmations"]["events"]["erased"] == {"registrations": 1, "survey_invitations": 0,
                                                         "survey_answers": 0, "stored_answers": 1}
    assert await keys.count_documents({"email_refs": ref}) == 0
    again = await events.post(f"/events/{eid}/registrations", json=body, headers=key)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers, again.text
    assert again.json()["registration"]["id"] != first.json()["registration"]["id"]


async def test_only_the_privacy_officer_exports_and_erases_and_bad_addresses_are_named(platform):
    staff, privacy = platform["staff"], platform["privacy"]
    r = await staff["membership"].post("/personal-data-erasure-requests", json={"email": EMAIL})
    assert r.status_code == 403 and "privacy" in r.text
    for service in ("membership", "events"):
        r = await staff[service].get("/personal-data", params={"email": EMAIL})
        assert r.status_code == 403, (service, r.text)
        r = await privacy[service].get("/personal-data", params={"email": "not an address"})
        assert r.status_code == 422 and fields(r) == ["query.email"], (service, r.text)
    r = await privacy["membership"].post("/personal-data-erasure-requests", json={"email": "camille@"})
    assert r.status_code == 422 and fields(r) == ["email"], r.text
    r = await privacy["membership"].get("/personal-data-erasure-requests/era-unknown")
    assert r.status_code == 404, r.text
    r = await privacy["membership"].get("/organisations")  # the privacy role opens nothing else
    assert r.status_code == 403, r.text


async def test_records_stored_before_the_references_existed_are_found_after_a_start(infrastructure):
    """Documents written before the subject references were stored beside the addresses (or made
    under a former PRIVACY_KEY) get them at the service's start: the erasure's indexed query finds them.

    Another address than the other tests': their erasure requests are on the same topics, and this test's
    services (new consumer groups, read from the beginning) would apply them to its records first."""
    email = "Camille.Martin.Legacy@Example.org"
    m_settings = service_settings(infrastructure, "membership")
    e_settings = service_settings(infrastructure, "events")
    async with serving("membership", m_settings, consumers=False) as m_app, \
            serving("events", e_settings, consumers=False) as e_app:
        async with client_of(m_app, m_settings) as membership, client_of(e_app, e_settings) as events:
            org = await _organisation_with_contacts(membership, email)
            eid, (camille, dominique) = await _event_with_registrations(events, email)

    mongo = AsyncMongoClient(m_settings.mongodb_uri, tz_aware=True)
    try:
        m, e = mongo[m_settings.mongodb_database], mongo[e_settings.mongodb_database]
        doc = await m.organisations.find_one({"_id": org})
        assert [c["email_ref"] for c in doc["contacts"]][0] == subject_ref(email, m_settings.privacy_key)
        # as stored before: no reference beside the contacts' and the invited partners' addresses…
        await m.organisations.update_one({"_id": org}, {"$set": {"contacts": [
            {k: v for k, v in c.items() if k != "email_ref"} for c in doc["contacts"]]}})
        await e.survey_invitations.update_many({}, {"$unset": {"email_ref": ""}})
        # …and the registrations' made under a former key
        await e.registrations.update_many({}, {"$set": {"person.email_ref": "0" * 64}})
        assert (await e.privacy_refs.update_one({"_id": "registrations::person.email"},
                                                {"$set": {"key": "a former key"}})).matched_count == 1
        assert await m.organisations.count_documents({"contacts.email_ref": {"$exists": True}}) == 0

        async with serving("membership", m_settings) as m_app, serving("events", e_settings) as e_app:
            async with client_of(m_app, m_settings, "privacy") as privacy:
                r = await privacy.post("/personal-data-erasure-requests", json={"email": email})
                assert r.status_code == 202, r.text

                async def complete():
                    got = (await privacy.get(f"/personal-data-erasure-requests/{r.json()['id']}")).json()
                    return got if got["status"] == "complete" else None

                done = await eventually(complete, timeout=30)
        assert {s: c["erased"] for s, c in done["confirmations"].items()} == {
            "membership": {"contacts": 1},
            "events": {"registrations": 1, "survey_invitations": 1, "survey_answers": 0}}
        left = await m.organisations.find_one({"_id": org})
        assert [c["name"] for c in left["contacts"]] == ["Dominique Petit"]
        assert (await e.registrations.find_one({"_id": camille}))["person"]["email"] is None
        assert (await e.registrations.find_one({"_id": dominique}))["person"]["email_ref"] == subject_ref(
            "d.petit@example.org", e_settings.privacy_key)  # recomputed under the key in force
    finally:
        await mongo.close()
