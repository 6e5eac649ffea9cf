"""Surveys over HTTP and Kafka, on the real broker and database: staff build a survey for an event's
participants and one for its partners, invite them, remind only those who have not answered;
respondents answer (and change their answers) with a signed token, without logging in; results
per audience; closing by hand and by the sweeper; hostile input, forged tokens and roles."""
from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from asgi_lifespan import LifespanManager

from runtime.http import create_app
from runtime.service import service
from services.events.adapters.repository import SURVEY_INVITATIONS, SURVEY_RESPONSES
from tests.integration.conftest import client_of, fields, header, read_topic, service_settings

pytestmark = pytest.mark.integration

SOON = datetime.now(timezone.utc) + timedelta(days=30)
COMMENT = "Merci à Camille Martin pour l'accueil (camille.martin@example.org)"
PARTICIPANT_QUESTIONS = [
    {"question_id": "overall", "type": "mark", "text": "Note globale (sur 20)"},
    {"question_id": "come_again", "type": "would_come_again", "text": "Souhaitez-vous revenir ?"},
    {"question_id": "format", "type": "single_choice", "text": "Format préféré", "required": False,
     "choices": [{"code": "morning", "label": "Matinée"}, {"code": "afternoon", "label": "Après-midi"}]},
    {"question_id": "best_part", "type": "multiple_choice", "text": "Temps forts", "required": False,
     "choices": [{"code": "talks"}, {"code": "speed_meetings"}, {"code": "lunch", "label": "Le déjeuner"}]},
    {"question_id": "comment", "type": "free_text", "text": "Un commentaire ?", "required": False},
]
PARTNER_QUESTIONS = [
    {"question_id": "overall", "type": "mark", "text": "Note globale (sur 20)"},
    {"question_id": "come_again", "type": "would_come_again", "text": "Seriez-vous partenaire l'an prochain ?"},
    {"question_id": "comment", "type": "free_text", "text": "Vos remarques", "required": False},
]
PARTNERS = [{"name": "Dominique Petit", "email": "d.petit@region.example.org", "organisation": "Région"},
            {"name": "Sacha Bernard", "email": "s.bernard@bpi.example.org"},
            {"name": "Alix Moreau", "email": "a.moreau@ville.example.org"},
            {"name": "Dominique PETIT", "email": "D.Petit@Region.example.org"}]  # the same e-mail: once



@pytest.fixture
async def events_app(infrastructure):
    """The events service with its consumers and relay, without its periodic jobs: the tests run
    the close-surveys job themselves, on a clock they move."""
    settings = service_settings(infrastructure, "events")
    application = create_app(service("events"), settings, jobs=False)
    async with LifespanManager(application, startup_timeout=90, shutdown_timeout=30):
        yield application, settings


async def run_job(application, name: str):
    job = next(j for j in service("events").jobs if j.name == name)
    return await job.run(application.state.platform)


@pytest.fixture
async def staff(events_app):
    application, settings = events_app
    async with client_of(application, settings, "staff:events") as c:
        yield c


@pytest.fixture
async def anonymous(events_app):
    """A respondent: no bearer token at all."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=events_app[0]), base_url="http://events.test") as c:
        yield c


def surveys_of(application):
    return application.state.platform.commands.surveys


class Clock:
    """Moves the surveys service's clock forward (the server clock dates every fact)."""

    def __init__(self, service):
        self.service, self.real, self.offset = service, service.clock, timedelta()
        service.clock = lambda: self.real() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    def restore(self) -> None:
        self.service.clock = self.real


async def an_event(staff, capacity: int = 20) -> str:
    r = await staff.post("/events", json={
        "kind": "business_convention", "team": "business_development", "title": "Rencontres d'affaires de Melun",
        "starts_at": SOON.isoformat(), "ends_at": (SOON + timedelta(hours=6)).isoformat(),
        "place": "Melun", "capacity": capacity})
    assert r.status_code == 201, r.text
    assert (await staff.post(f"/events/{r.json()['id']}/publication")).status_code == 200
    return r.json()["id"]


async def register(staff, event_id: str, n: int, start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + n):
        r = await staff.post(f"/events/{event_id}/registrations",
                             json={"name": f"Participant {i}", "email": f"participant{i}@example.org"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["registration"]["id"])
    return ids


async def check_in(staff, event_id: str, registration_ids: list[str]) -> None:
    gate = (await staff.post(f"/events/{event_id}/checkin-lists", json={"name": "Entrée"})).json()
    for rid in registration_ids:
        token = (await staff.get(f"/registrations/{rid}/badge")).json()["token"]
        r = await staff.post(f"/events/{event_id}/scans", json={"list_id": gate["list_id"], "token": token,
                                                                "gate": "Porte A", "nonce": f"n-{rid}"})
        assert r.json()["result"]["outcome"] == "checked_in", r.text


async def a_survey(staff, event_id: str, audience: str, questions, **over) -> dict:
    body = {"audience": audience, "title": f"Votre avis ({audience})", "questions": questions,
            "closes_at": (datetime.now(timezone.utc) + timedelta(days=10)).isoformat(), **over}
    r = await staff.post(f"/events/{event_id}/surveys", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def path_of(invitations, respondent_id: str) -> str:
    return next(i["answer_path"] for i in invitations if i["respondent_id"] == respondent_id)


# -- the whole story ------------------------------------------------------------------------------
async def test_surveys_from_invitation_to_results_per_audience(staff, anonymous, events_app):
    application, settings = events_app
    eid = await an_event(staff)
    regs = await register(staff, eid, 6)
    await check_in(staff, eid, regs[:3])
    r = await staff.post(f"/registrations/{regs[5]}/cancellation", json={"reason": "participant_request"})
    assert r.status_code == 200  # a cancelled registration is never invited

    participants = await a_survey(staff, eid, "participants", PARTICIPANT_QUESTIONS)
    partners = await a_survey(staff, eid, "partners", PARTNER_QUESTIONS)
    assert (participants["status"], participants["invited_count"], partners["audience"]) == ("draft", 0, "partners")
    r = await staff.post(f"/events/{eid}/surveys", json={"audience": "participants", "title": "Encore",
                                                         "questions": PARTICIPANT_QUESTIONS})
    assert r.status_code == 409 and participants["id"] in r.json()["detail"], "one survey per event and audience"
    sid, pid = participants["id"], partners["id"]

    # revise the draft (with its ETag), invite the checked-in, then every confirmed registration
    r = await staff.patch(f"/surveys/{sid}", json={"title": "Votre avis sur les Rencontres"},
                          headers={"If-Match": f'"{participants["version"]}"'})
    assert r.status_code == 200 and r.json()["title"] == "Votre avis sur les Rencontres"
    r = await staff.post(f"/surveys/{sid}/invitations", json={"registrations": "checked_in"})
    assert r.status_code == 200, r.text
    assert sorted(i["respondent_id"] for i in r.json()["invited"]) == sorted(regs[:3])
    r = await staff.post(f"/surveys/{sid}/invitations", json={"registrations": "confirmed"})
    assert [i["respondent_id"] for i in r.json()["invited"]] == regs[3:5] and r.json()["invited_count"] == 5
    assert r.json()["invited"][0]["email"] == "participant3@example.org", "staff see who they invite"
    r = await staff.post(f"/surveys/{sid}/invitations", json={"registrations": "confirmed"})
    assert r.json()["invited"] == [] and r.json()["invited_count"] == 5, "inviting again invites nobody twice"
    p_tokens = {i["respondent_id"]: i["answer_path"]
                for i in (await staff.get(f"/surveys/{sid}/invitations", params={"limit": 500})).json()["items"]}
    assert set(p_tokens) == set(regs[:5])

    r = await staff.post(f"/surveys/{pid}/invitations", json={"partners": PARTNERS})
    assert r.status_code == 200, r.text
    invited_partners = r.json()["invited"]
    assert [p["name"] for p in invited_partners] == ["Dominique Petit", "Sacha Bernard", "Alix Moreau"]
    assert all(p["respondent_id"].startswith("pin-") for p in invited_partners)
    r = await staff.post(f"/surveys/{pid}/invitations", json={"partners": PARTNERS[1:2]})
    assert r.json()["invited"] == [] and r.json()["invited_count"] == 3
    dominique, sacha, alix = (p["respondent_id"] for p in invited_partners)

    # the survey is a draft: no answers yet; opened: answers, no more revisions
    r = await anonymous.put(p_tokens[regs[0]], json={"answers": {"overall": 12, "come_again": True}})
    assert r.status_code == 409 and r.json()["current_state"] == "draft"
    for survey_id in (sid, pid):
        r = await staff.post(f"/surveys/{survey_id}/opening")
        assert r.status_code == 200 and r.json()["status"] == "open", r.text
    r = await staff.patch(f"/surveys/{sid}", json={"title": "Trop tard"})
    assert r.status_code == 409 and r.json()["current_state"] == "open"

    form = (await anonymous.get(p_tokens[regs[0]])).json()
    assert (form["title"], form["event_title"], form["accepts_answers"], form["answers"]) == (
        "Votre avis sur les Rencontres", "Rencontres d'affaires de Melun", True, {})
    assert [q["question_id"] for q in form["questions"]] == [q["question_id"] for q in PARTICIPANT_QUESTIONS]
    assert form["questions"][3]["choices"][2] == {"code": "lunch", "label": "Le déjeuner"}

    first = {"overall": 10, "come_again": True, "format": "morning", "best_part": ["talks", "speed_meetings"],
             "comment": COMMENT}
    r = await anonymous.put(p_tokens[regs[0]], json={"answers": first})
    assert r.status_code == 201 and r.json()["answers"] == first and r.json()["revision"] == 0, r.text
    r = await anonymous.put(p_tokens[regs[0]], json={"answers": {**first, "overall": 14}})  # saved, then changed
    assert r.status_code == 200 and r.json()["answers"]["overall"] == 14 and r.json()["revision"] == 1
    assert (await anonymous.get(p_tokens[regs[0]])).json()["answers"]["overall"] == 14
    r = await anonymous.put(p_tokens[regs[0]], json={"answers": {**first, "overall": 14}})
    assert r.status_code == 200 and r.json()["revision"] == 1, "the same answers again change nothing"
    for rid, answers in ((regs[1], {"overall": 17, "come_again": True, "best_part": ["talks"]}),
                         (regs[2], {"overall": 17, "come_again": True, "format": "afternoon", "comment": ""})):
        assert (await anonymous.put(p_tokens[rid], json={"answers": answers})).status_code == 201
    for who, answers in ((dominique, {"overall": 18, "come_again": True, "comment": "Dominique Petit: bravo"}),
                         (sacha, {"overall": 15, "come_again": False})):
        assert (await anonymous.put(path_of(invited_partners, who), json={"answers": answers})).status_code == 201

    # who has not answered (Indico #3384): staff see names and e-mails
    r = await staff.get(f"/surveys/{sid}/non-respondents")
    assert r.json()["total"] == 2
    assert [(n["respondent_id"], n["email"]) for n in r.json()["items"]] == [
        (regs[3], "participant3@example.org"), (regs[4], "participant4@example.org")]
    partners_left = (await staff.get(f"/surveys/{pid}/non-respondents")).json()["items"]
    assert [(n["respondent_id"], n["name"]) for n in partners_left] == [(alix, "Alix Moreau")]

    # reminders: only to those who have not answered; a second within 24 h is refused
    clock = Clock(surveys_of(application))
    try:
        r = await staff.post(f"/surveys/{sid}/reminders")
        assert r.status_code == 200, r.text
        reminder = r.json()
        assert (reminder["reminder_number"], reminder["count"]) == (1, 2)
        assert [p["respondent_id"] for p in reminder["reminded"]] == regs[3:5]
        assert reminder["reminded"][0]["answer_path"] == p_tokens[regs[3]], "the reminder carries their token"
        r = await staff.post(f"/surveys/{sid}/reminders")
        assert r.status_code == 409 and r.json()["current_state"] == "reminded_recently"
        clock.advance(timedelta(hours=1))
        r = await anonymous.put(p_tokens[regs[3]], json={"answers": {"overall": 9, "come_again": False}})
        assert r.status_code == 201
        clock.advance(timedelta(hours=24))
        r = await staff.post(f"/surveys/{sid}/reminders")
        assert (r.json()["reminder_number"], [p["respondent_id"] for p in r.json()["reminded"]]) == (2, [regs[4]])
        left = (await staff.get(f"/surveys/{sid}/non-respondents")).json()["items"]
        assert [(n["respondent_id"], n["reminders"]) for n in left] == [(regs[4], 2)]
        survey = (await staff.get(f"/surveys/{sid}")).json()
        assert [(x["number"], x["count"]) for x in survey["reminders"]] == [(1, 2), (2, 1)]
        assert (survey["invited_count"], survey["responses"]) == (5, 4)
    finally:
        clock.restore()

    # results per audience, as computed by hand
    res = (await staff.get(f"/surveys/{sid}/results")).json()
    q = {x["question_id"]: x for x in res["questions"]}
    assert (res["invited"], res["responses"], res["response_rate"]) == (5, 4, 0.8)
    assert (q["overall"]["mean_mark"], q["overall"]["answered"]) == ((14 + 17 + 17 + 9) / 4, 4)
    assert q["come_again"]["would_come_again_share"] == 0.75
    assert q["format"]["choice_counts"] == {"morning": 1, "afternoon": 1}
    assert q["best_part"]["choice_counts"] == {"talks": 2, "speed_meetings": 1, "lunch": 0}
    assert q["comment"]["answered"] == 1 and COMMENT not in json.dumps(res), "results carry no free text"
    by_event = (await staff.get(f"/events/{eid}/survey-results")).json()
    assert by_event["participants"] == res
    pq = {x["question_id"]: x for x in by_event["partners"]["questions"]}
    assert (by_event["partners"]["response_rate"], pq["overall"]["mean_mark"],
            pq["come_again"]["would_come_again_share"]) == (0.6667, 16.5, 0.5)
    text = (await staff.get(f"/surveys/{sid}/free-text")).json()
    assert (text["total"], text["items"][0]["respondent_id"], text["items"][0]["answers"]) == (
        1, regs[0], {"comment": COMMENT})

    # closed by hand: no more answers nor changes; the answers stay readable
    r = await staff.post(f"/surveys/{sid}/closing")
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = await anonymous.put(p_tokens[regs[0]], json={"answers": {**first, "overall": 20}})
    assert r.status_code == 409 and r.json()["current_state"] == "closed"
    r = await anonymous.put(p_tokens[regs[4]], json={"answers": {"overall": 20, "come_again": True}})
    assert r.status_code == 409 and r.json()["current_state"] == "closed"
    form = (await anonymous.get(p_tokens[regs[0]])).json()
    assert (form["status"], form["accepts_answers"], form["answers"]["overall"]) == ("closed", False, 14)
    assert (await staff.post(f"/surveys/{sid}/reminders")).status_code == 409

    # the partners' survey closes at its closes_at: refused from then on, recorded by the sweeper
    closes_at = datetime.fromisoformat(partners["closes_at"])
    clock = Clock(surveys_of(application))
    try:
        clock.advance(closes_at - datetime.now(timezone.utc) + timedelta(seconds=1))
        r = await anonymous.put(path_of(invited_partners, alix), json={"answers": {"overall": 1, "come_again": False}})
        assert r.status_code == 409 and r.json()["current_state"] == "closed", "closed at closes_at, swept or not"
        assert await run_job(application, "close-surveys") == 1
        assert await run_job(application, "close-surveys") == 0, "the sweeper is idempotent"
    finally:
        clock.restore()
    swept = (await staff.get(f"/surveys/{pid}")).json()
    assert swept["status"] == "closed" and datetime.fromisoformat(swept["closed_at"]) == closes_at

    # events on events.survey: ids, marks and choice codes; no free text, no names, no e-mails
    records = await read_topic(settings, "events.survey", lambda rec: rec.key in (sid.encode(), pid.encode()),
                               count=16)
    kinds = [header(rec, "ce_type").split(".")[3] for rec in records if rec.key == sid.encode()]
    assert kinds == ["survey-respondents-invited"] * 2 + ["survey-opened"] + ["survey-answer-submitted"] + [
        "survey-answer-updated"] + ["survey-answer-submitted"] * 2 + ["survey-reminder-sent",
                                                                     "survey-answer-submitted",
                                                                     "survey-reminder-sent", "survey-closed"]
    assert [header(rec, "ce_type").split(".")[3] for rec in records if rec.key == pid.encode()] == [
        "survey-respondents-invited", "survey-opened", "survey-answer-submitted", "survey-answer-submitted",
        "survey-closed"]
    for rec in records:
        for secret in (b"Merci", b"Camille", b"bravo", b"example.org", b"Dominique", b"Sacha", b"Alix", b"Participant",
                       b"R\xc3\xa9gion"):
            assert secret not in rec.value, (header(rec, "ce_type"), secret)
    submitted = [json.loads(rec.value) for rec in records if header(rec, "ce_type").endswith("answer-submitted.v1")]
    assert all("comment" not in json.dumps(e) for e in submitted)
    data = next(e for e in submitted if e.get("data", e).get("respondent_id") == regs[0])
    data = data.get("data", data)
    assert (data["marks"], data["choices"]["best_part"]) == ({"overall": 10}, ["talks", "speed_meetings"])


# -- tokens, hostile input ------------------------------------------------------------------------------
async def test_forged_tokens_and_hostile_answers_are_refused(staff, anonymous, events_app):
    application, _ = events_app
    eid = await an_event(staff)
    regs = await register(staff, eid, 2)
    survey = await a_survey(staff, eid, "participants", PARTICIPANT_QUESTIONS)
    partners = await a_survey(staff, eid, "partners", PARTNER_QUESTIONS)
    invited = (await staff.post(f"/surveys/{survey['id']}/invitations", json={"registrations": "confirmed"})).json()
    other = (await staff.post(f"/surveys/{partners['id']}/invitations", json={"partners": PARTNERS[:1]})).json()
    for s in (survey, partners):
        assert (await staff.post(f"/surveys/{s['id']}/opening")).status_code == 200
    path = path_of(invited["invited"], regs[0])
    token = path.rsplit("/", 1)[1]
    payload, mac = token.split(".")

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    spliced = b64(f"{partners['id']}\x1f{regs[0]}".encode()) + "." + mac  # another survey, same signature
    for bad in (payload + "." + mac[:-2] + ("AA" if not mac.endswith("AA") else "BB"),  # a forged signature
                spliced, b64(f"{survey['id']}\x1f{regs[1]}".encode()) + "." + mac,  # another respondent
                "not-a-token", "a.b", "%00", "....", token + "x"):
        for method in ("GET", "PUT"):
            r = await anonymous.request(method, f"/survey-answers/{bad}", json={"answers": {"overall": 12}})
            assert r.status_code == 422 and fields(r) == ["token"], (bad, method, r.text)
    r = await anonymous.get(f"/survey-answers/{'x' * 500}")
    assert r.status_code == 422 and fields(r) == ["path.token"]
    # a genuine signature for someone never invited: no such invitation
    stranger = surveys_of(application).tokens.token(survey["id"], "reg-stranger")
    r = await anonymous.put(f"/survey-answers/{stranger}", json={"answers": {"overall": 12, "come_again": True}})
    assert r.status_code == 404
    # each token opens its own survey only
    partner_form = (await anonymous.get(other["invited"][0]["answer_path"])).json()
    assert (partner_form["survey_id"], partner_form["audience"]) == (partners["id"], "partners")
    assert (await anonymous.get(path)).json()["survey_id"] == survey["id"]

    good = {"overall": 16, "come_again": True}
    for answers, field in (({**good, "overall": 21}, "answers.overall"), ({**good, "overall": -1}, "answers.overall"),
                           ({**good, "overall": 10**30}, "answers.overall"),
                           ({**good, "overall": 16.5}, "answers.overall"),
                           ({**good, "overall": "16"}, "answers.overall"),
                           ({**good, "overall": None}, "answers.overall"), ({"come_again": True}, "answers.overall"),
                           ({**good, "come_again": "yes"}, "answers.come_again"),
                           ({**good, "nope": 3}, "answers.nope"), ({**good, "format": "evening"}, "answers.format"),
                           ({**good, "best_part": ["talks", "talks"]}, "answers.best_part"),
                           ({**good, "comment": "x" * 4001}, "answers.comment"),
                           ({**good, "comment": {"$where": "1"}}, "answers.comment.$where")):
        r = await anonymous.put(path, json={"answers": answers})
        assert r.status_code == 422 and fields(r) == [field], (answers, r.text)
    for body, field in (({"answers": None}, "answers"), ({}, "answers"), ({"answers": [1]}, "answers"),
                        ({"answers": good, "respondent_id": regs[1]}, "respondent_id")):
        r = await anonymous.put(path, json=body)
        assert r.status_code == 422 and fields(r) == [field], (body, r.text)
    r = await anonymous.put(path, json={"answers": {**good, "comment": "x" * 2_000_000}})
    assert r.status_code == 413
    r = await anonymous.put(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    db = application.state.platform.db
    assert await db[SURVEY_RESPONSES].count_documents({}) == 0, "nothing half-written"
    assert await db[SURVEY_INVITATIONS].count_documents({"answered_at": {"$ne": None}}) == 0

    # hostile surveys and invitations
    def body(**over):
        return {"audience": "participants", "title": "t", "questions": PARTICIPANT_QUESTIONS, **over}

    other_event = await an_event(staff)
    for over, field in ((dict(closes_at="2999-01-01T00:00:00+01:00"), "closes_at"),
                        (dict(closes_at="2150-01-01T00:00:00+01:00"), "closes_at"),  # far off: within a year
                        (dict(closes_at="2027-01-01T00:00:00"), "closes_at"),  # no offset
                        (dict(closes_at="2001-01-01T00:00:00+01:00"), "closes_at"),  # past
                        (dict(audience="press"), "audience"), (dict(title=" "), "title"),
                        (dict(questions=[]), "questions"),
                        (dict(questions=[{"question_id": "q", "type": "stars", "text": "x"}]), "questions.0.type"),
                        (dict(questions=[{"question_id": "Q!", "type": "mark", "text": "x"}]),
                         "questions.0.question_id"),
                        (dict(questions=[{"question_id": "q", "type": "mark", "text": "x"}] * 2),
                         "questions.1.question_id"),
                        (dict(questions=[{"question_id": "q", "type": "single_choice", "text": "x",
                                          "choices": [{"code": "a"}]}]), "questions.0.choices"),
                        (dict(questions=[{"question_id": f"q{i}", "type": "mark", "text": "x"} for i in range(51)]),
                         "questions"),
                        (dict(extra=1), "extra")):
        r = await staff.post(f"/events/{other_event}/surveys", json=body(**over))
        assert r.status_code == 422 and fields(r) == [field], (over, r.text)
    assert (await staff.post("/events/evt-nope/surveys", json=body())).status_code == 404
    assert (await staff.get(f"/events/{other_event}/surveys")).json() == [], "nothing half-written"

    stranger_reg = (await register(staff, other_event, 1, start=50))[0]
    for payload, field in (({"partners": PARTNERS}, "partners"), ({"registration_ids": [stranger_reg]},
                                                                   "registration_ids.0"),
                           ({"registration_ids": [regs[0], "reg-nope"]}, "registration_ids.1"),
                           ({"registrations": "everyone"}, "registrations"),
                           ({"registrations": "confirmed", "partners": PARTNERS}, "partners"), ({}, "registrations")):
        r = await staff.post(f"/surveys/{survey['id']}/invitations", json=payload)
        assert r.status_code == 422 and fields(r) == [field], (payload, r.text)
    r = await staff.post(f"/surveys/{partners['id']}/invitations",
                         json={"partners": [{"name": "X", "email": "not-an-email"}]})
    assert r.status_code == 422 and fields(r) == ["partners.0.email"]
    r = await staff.post(f"/surveys/{partners['id']}/invitations", json={"registrations": "confirmed"})
    assert r.status_code == 422 and fields(r) == ["registrations"]
    assert (await staff.get(f"/surveys/{survey['id']}")).json()["invited_count"] == 2


async def test_concurrent_first_answers_make_one_response(staff, anonymous, events_app):
    application, settings = events_app
    eid = await an_event(staff)
    (reg,) = await register(staff, eid, 1)
    survey = await a_survey(staff, eid, "participants", PARTICIPANT_QUESTIONS)
    invited = (await staff.post(f"/surveys/{survey['id']}/invitations", json={"registration_ids": [reg]})).json()
    await staff.post(f"/surveys/{survey['id']}/opening")
    path = path_of(invited["invited"], reg)
    results = await asyncio.gather(*(anonymous.put(path, json={"answers": {"overall": mark, "come_again": True}})
                                     for mark in range(8)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 7 + [201], [r.text for r in results]
    db = application.state.platform.db
    assert await db[SURVEY_RESPONSES].count_documents({"survey_id": survey["id"]}) == 1
    stored = await db[SURVEY_RESPONSES].find_one({"survey_id": survey["id"]})
    records = await read_topic(settings, "events.survey", lambda rec: rec.key == survey["id"].encode() and "answer"
                               in header(rec, "ce_type"), count=1 + stored["revision"])
    kinds = [header(rec, "ce_type").split(".")[3] for rec in records]
    assert kinds == ["survey-answer-submitted"] + ["survey-answer-updated"] * stored["revision"]
    assert (await staff.get(f"/surveys/{survey['id']}/results")).json()["responses"] == 1


async def test_roles(staff, anonymous, events_app):
    application, settings = events_app
    eid = await an_event(staff)
    regs = await register(staff, eid, 2)
    survey = await a_survey(staff, eid, "participants", PARTICIPANT_QUESTIONS)
    sid = survey["id"]
    invited = (await staff.post(f"/surveys/{sid}/invitations", json={"registrations": "confirmed"})).json()
    await staff.post(f"/surveys/{sid}/opening")
    path = path_of(invited["invited"], regs[0])
    r = await anonymous.put(path, json={"answers": {"overall": 15, "come_again": True, "comment": COMMENT}})
    assert r.status_code == 201, "no bearer token needed to answer"
    assert (await anonymous.get(path)).status_code == 200
    assert (await anonymous.get(f"/surveys/{sid}/results")).status_code == 401, "but everywhere else"

    async with client_of(application, settings, "reader") as reader:
        assert (await reader.get(f"/surveys/{sid}/results")).json()["responses"] == 1
        by_event = (await reader.get(f"/events/{eid}/survey-results")).json()
        assert (by_event["participants"]["responses"], by_event["partners"]) == (1, None)
        assert (await reader.get(f"/surveys/{sid}")).status_code == 200
        left = (await reader.get(f"/surveys/{sid}/non-respondents")).json()["items"]
        assert [(n["respondent_id"], n["name"], n["email"]) for n in left] == [(regs[1], None, None)], "ids only"
        for url in (f"/surveys/{sid}/free-text", f"/surveys/{sid}/invitations"):
            assert (await reader.get(url)).status_code == 403, url
        for url in (f"/surveys/{sid}/reminders", f"/surveys/{sid}/closing"):
            assert (await reader.post(url)).status_code == 403, url
    async with client_of(application, settings, "partner") as partner:
        for url in (f"/surveys/{sid}/results", f"/surveys/{sid}", f"/surveys/{sid}/non-respondents",
                    f"/surveys/{sid}/free-text", f"/surveys/{sid}/invitations", f"/events/{eid}/surveys",
                    f"/events/{eid}/survey-results"):
            assert (await partner.get(url)).status_code == 403, url
        for url, body in ((f"/events/{eid}/surveys", {"audience": "partners", "title": "t",
                                                      "questions": PARTNER_QUESTIONS}),
                          (f"/surveys/{sid}/reminders", None), (f"/surveys/{sid}/closing", None),
                          (f"/surveys/{sid}/invitations", {"registrations": "confirmed"})):
            assert (await partner.post(url, json=body)).status_code == 403, url
        assert (await partner.patch(f"/surveys/{sid}", json={"title": "x"})).status_code == 403
    async with client_of(application, settings, "staff:membership") as other_team:
        assert (await other_team.post(f"/surveys/{sid}/closing")).status_code == 403
    r = await staff.post(f"/surveys/{sid}/closing", headers={"If-Match": '"1"'})
    assert r.status_code == 412, "a stale ETag"


async def test_a_participant_who_cancels_after_the_invitation_neither_answers_nor_is_reminded(
        staff, anonymous, events_app):
    application, _ = events_app
    eid = await an_event(staff)
    regs = await register(staff, eid, 3)
    survey = await a_survey(staff, eid, "participants", PARTICIPANT_QUESTIONS)
    r = await staff.post(f"/surveys/{survey['id']}/invitations", json={"registrations": "confirmed"})
    assert r.status_code == 200 and r.json()["invited_count"] == 3
    paths = {i["respondent_id"]: i["answer_path"] for i in r.json()["invited"]}
    assert (await staff.post(f"/surveys/{survey['id']}/opening")).status_code == 200
    r = await staff.post(f"/registrations/{regs[2]}/cancellation", json={"reason": "participant_request"})
    assert r.status_code == 200
    r = await anonymous.put(paths[regs[2]], json={"answers": {"overall": 3, "come_again": False}})
    assert r.status_code == 409 and r.json()["current_state"] == "registration_cancelled"
    r = await staff.post(f"/surveys/{survey['id']}/reminders")
    assert r.status_code == 200, r.text
    assert sorted(x["respondent_id"] for x in r.json()["reminded"]) == sorted(regs[:2]), "not the cancelled one"
