"""Buyers' needs through the procurement API, on the real broker and database: a need drafted,
submitted, sent back, resubmitted, validated and dispatched to the matching suppliers only; the
suppliers open, view, say interested or not and answer through their signed links; reminders skip
"not interested" and stop once the need closes; the award; the impact survey after the deadline;
a business meeting of a convention (events service's events) linked to the need and counted in the
figures; a dispatch taken over after its process died; bad input named.

The service's clock is set to 2008 (the dates of these tests' facts): projections read whole
shared topics, and other tests count other years. The buyer and the suppliers are created through
the APIs: the suppliers' organisations made members in the membership service, then profiled.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from contracts.envelope import CloudEvent
from contracts.events.conventions import MeetingHeld
from runtime.kafka import make_producer
from runtime.platform import running
from runtime.service import service
from services.procurement.settings import ProcurementSettings
from tests.integration.conftest import (active_member, client_of, eventually, fields, read_topic, service_settings,
                                        serving)

pytestmark = pytest.mark.integration

UTC = timezone.utc
START = datetime(2008, 3, 3, 9, 0, tzinfo=UTC)
DEADLINE = "2008-04-15T12:00:00+02:00"
NEED_TOPIC = "procurement.need"


class Clock:
    """The service's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


MATRIX: dict[str, dict] = {
    # matching the need (circular economy, Montreuil 93048, reserved L2113-13):
    "base93": {"base_commune": "93066"},  # Saint-Denis: based in the need's département
    "serves93": {"serves": {"departements": ["94", "93"]}, "kinds": ["aci"]},
    "commune": {"serves": {"communes": ["93048"]}, "kinds": ["geiq", "ea"]},
    "radius": {"serves": {"radius_km": 15}, "kinds": ["etti"]},  # Paris, ~7 km from Montreuil
    "radius2": {"base_commune": "94028", "serves": {"radius_km": 10}},  # Créteil
    # not matching:
    "sector": {"sectors": ["food"], "serves": {"departements": ["93"]}},
    "archived": {"serves": {"departements": ["93"]}},  # archived once profiled
    "far": {"base_commune": "77288", "serves": {"radius_km": 20}},  # Melun
    "ea": {"kinds": ["ea", "esat"], "serves": {"departements": ["93"]}},  # not an SIAE
    "small-radius": {"serves": {"radius_km": 5}},
}
"""The suppliers' profiles beyond the defaults (circular economy, an EI based in Paris 75056), by name."""
MATCHING = ("base93", "serves93", "commune", "radius", "radius2")


async def _seed(infrastructure, app, settings) -> tuple[str, dict[str, str]]:
    """The buyer (Ville de Montreuil) and the suppliers of :data:`MATRIX`, through the APIs: each
    supplier's organisation made a member in the membership service (served meanwhile), learnt by
    procurement from its events, then profiled. Returns the buyer's id and the suppliers' ids by name."""
    membership_settings = service_settings(infrastructure, "membership")
    async with serving("membership", membership_settings) as membership_app, \
            client_of(membership_app, membership_settings) as membership, \
            client_of(app, settings, "staff:procurement") as staff:
        r = await staff.post("/buyers", json={"kind": "commune", "siret": "21930048000015",
                                              "name": "Ville de Montreuil", "departement": "93", "commune": "93048"})
        assert r.status_code == 201, r.text
        buyer = r.json()["id"]
        orgs = {name: await active_member(membership, on="2008-01-10", name=f"Fournisseur {name}")
                for name in MATRIX}

        async def known(org: str) -> bool:
            return (await staff.get(f"/organisations/{org}")).status_code == 200

        for org in orgs.values():
            await eventually(lambda org=org: known(org), timeout=60)
        suppliers = {}
        for name, profile in MATRIX.items():
            r = await staff.post("/suppliers", json={"organisation_id": orgs[name], "sectors": ["circular_economy"],
                                                     "kinds": ["ei"], "base_commune": "75056", **profile})
            assert r.status_code == 201, r.text
            suppliers[name] = r.json()["id"]
        assert (await staff.post(f"/suppliers/{suppliers['archived']}/archive")).status_code == 200
    return buyer, suppliers


def _need(buyer: str, **overrides) -> dict:
    return {"buyer_id": buyer, "title": "Collecte et réemploi du mobilier de bureau", "kind": "tender",
            "sectors": ["circular_economy"], "description": "Trois sites municipaux.", "place": {"commune": "93048"},
            "perimeter": {"departements": ["93"]}, "amount_band": "20k_30k", "deadline_at": DEADLINE,
            "reserved": True, "reserved_article": "l2113_13", "social_clause": False, **overrides}


def _of_need(need_id: str, event_type: str | None = None):
    def match(record) -> bool:
        headers = dict(record.headers)
        return headers.get("ce_subject", b"").decode() == need_id and (
            event_type is None or headers.get("ce_type", b"").decode() == f"org.cress.procurement.{event_type}.v1")
    return match


def _types(records) -> list[str]:
    return [dict(r.headers)["ce_type"].decode().split(".")[3] for r in records]


async def _publish(settings, event) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        envelope = CloudEvent.from_domain(event, source="/cress/events")
        await producer.send_and_wait("events.convention", value=envelope.kafka_value(), key=envelope.kafka_key(),
                                     headers=envelope.kafka_headers())
    finally:
        await producer.stop()


async def test_the_whole_path_from_draft_to_impact_survey(infrastructure):
    settings = service_settings(infrastructure, "procurement")
    tag = uuid.uuid4().hex[:8]
    async with serving("procurement", settings) as app:
        platform = app.state.platform
        svc = platform.commands.needs
        clock = Clock(START)
        svc.clock = clock
        svc.config = replace_settings(svc.config, need_dispatch_batch_size=2)  # several batches
        buyer, suppliers = await _seed(infrastructure, app, settings)
        matching = {suppliers[name] for name in MATCHING}
        async with client_of(app, settings, "staff:procurement") as staff, \
                client_of(app, settings, "reader") as reader:
            # -- draft, edit, submit, send back, resubmit, validate -----------------------------------------
            r = await staff.post("/needs", json=_need(buyer))
            assert r.status_code == 201, r.text
            need = r.json()
            nid = need["id"]
            assert r.headers["Location"] == f"/needs/{nid}" and r.headers["ETag"] == '"1"'
            assert (need["status"], need["place"], need["amount_band"]) == \
                ("draft", {"commune": "93048", "departement": "93"}, "20k_30k")
            r = await staff.patch(f"/needs/{nid}", json={"amount_cents": 2_400_000}, headers={"If-Match": '"1"'})
            assert r.status_code == 200 and r.json()["amount_cents"] == 2_400_000, r.text
            r = await staff.patch(f"/needs/{nid}", json={"title": "x"}, headers={"If-Match": '"1"'})
            assert r.status_code == 412
            clock.advance(hours=1)
            assert (await staff.post(f"/needs/{nid}/submission")).json()["status"] == "submitted"
            r = await staff.patch(f"/needs/{nid}", json={"title": "Autre"})
            assert r.status_code == 409 and r.json()["current_state"] == "submitted", r.text
            r = await staff.post(f"/needs/{nid}/dispatch")
            assert r.status_code == 409 and r.json()["current_state"] == "submitted"
            assert "validate it" in r.json()["expected_step"]
            r = await staff.post(f"/needs/{nid}/sending-back", json={"reason": "Précisez les sites."})
            assert r.json()["status"] == "draft"
            await staff.patch(f"/needs/{nid}", json={"description": "Montreuil : trois sites."})
            assert (await staff.post(f"/needs/{nid}/submission")).json()["submissions"] == 2
            r = await staff.post(f"/needs/{nid}/validation")
            assert r.json()["status"] == "validated" and r.json()["next_step"].startswith("dispatch")
            assert (await reader.post(f"/needs/{nid}/validation")).status_code == 403

            # -- dispatch to the matching suppliers only, in batches --------------------------------------------
            clock.advance(hours=1)
            r = await staff.post(f"/needs/{nid}/dispatch")
            assert r.status_code == 202 and r.json()["status"] == "running", r.text

            async def completed():
                state = (await reader.get(f"/needs/{nid}/dispatch")).json()
                return state if state["status"] == "completed" else None

            state = await eventually(completed, timeout=30)
            assert state["notified"] == len(matching) and state["batches"] == 3 and not state["capped"]
            r = await staff.get(f"/needs/{nid}/suppliers", params={"limit": 100})
            rows = {row["supplier_id"]: row for row in r.json()["items"]}
            assert set(rows) == matching and all(row["step"] == "notified" for row in rows.values())
            links = {sid: row["link_path"] for sid, row in rows.items()}
            assert all(path.startswith("/need-links/") for path in links.values())
            as_reader = (await reader.get(f"/needs/{nid}/suppliers")).json()["items"]
            assert all(row["link_token"] is None for row in as_reader)
            assert (await reader.get(f"/needs/{nid}")).json()["status"] == "dispatched"

            # -- suppliers act through their links (no bearer token) ---------------------------------------
            async with client_of(app, settings) as anyone:
                anyone.headers.pop("Authorization")
                first, nope, maybe, silent, quiet = (suppliers[n] for n in
                                                     ("base93", "serves93", "radius", "commune", "radius2"))
                clock.advance(hours=2)
                for step in ("opened", "viewed", "interested", "answered"):
                    r = await anyone.post(f"{links[first]}/steps", json={"step": step})
                    assert r.status_code == 200, r.text
                seen = r.json()
                assert seen["funnel"]["step"] == "answered" and seen["buyer_name"] == "Ville de Montreuil"
                assert seen["title"].startswith("Collecte") and seen["takes_answers"]
                r = await anyone.post(f"{links[nope]}/steps", json={"step": "not_interested",
                                                                    "feedback": "Hors zone cette année."})
                assert r.json()["funnel"]["stance"] == "not_interested"
                assert r.json()["funnel"]["not_interested_feedback"] is None  # staff only
                r = await anyone.post(f"{links[nope]}/steps", json={"step": "answered"})
                assert r.status_code == 409 and r.json()["current_state"] == "not_interested"
                await anyone.post(f"{links[maybe]}/steps", json={"step": "interested"})
                r = await anyone.post(f"{links[maybe]}/questions", json={"text": "Le mobilier est-il démonté ?"})
                assert r.status_code == 201, r.text
                qid = r.json()["questions"][0]["id"]
                assert r.json()["questions"][0]["supplier_id"] is None
                r = await staff.put(f"/needs/{nid}/questions/{qid}/answer", json={"text": "Oui, palettisé."})
                assert r.status_code == 200 and r.json()["answer"] == "Oui, palettisé."
                seen = (await anyone.get(links[silent])).json()
                assert seen["questions"][0]["answer"] == "Oui, palettisé." and seen["funnel"]["step"] == "notified"
                r = await anyone.post(f"{links[first][:-2]}xx/steps", json={"step": "viewed"})
                assert r.status_code == 422 and fields(r) == ["token"]
                r = await staff.post(f"/needs/{nid}/suppliers/{quiet}/steps", json={"step": "viewed"})
                assert r.status_code == 200 and r.json()["step"] == "viewed"
                r = await staff.post(f"/needs/{nid}/suppliers/{suppliers['sector']}/steps", json={"step": "viewed"})
                assert r.status_code == 404

                # -- reminders: not to the one who answered, nor to the one not interested -------------------
                clock.advance(hours=50)
                assert await svc.send_reminders() == 3
                assert await svc.send_reminders() == 0  # not again before the interval
                rows = {row["supplier_id"]: row for row in
                        (await staff.get(f"/needs/{nid}/suppliers", params={"limit": 100})).json()["items"]}
                assert {sid for sid, row in rows.items() if row["reminders"]} == {maybe, silent, quiet}
                assert rows[nope]["not_interested_feedback"] == "Hors zone cette année."

                # -- closing: no more answers, no more reminders -----------------------------------------------
                r = await staff.post(f"/needs/{nid}/closing")
                assert r.json()["status"] == "closed" and r.json()["funnel"]["answered"] == 1
                clock.advance(days=5)
                assert await svc.send_reminders() == 0
                r = await anyone.post(f"{links[maybe]}/steps", json={"step": "answered"})
                assert r.status_code == 409 and r.json()["current_state"] == "closed", r.text
                r = await anyone.post(f"{links[maybe]}/questions", json={"text": "Encore ?"})
                assert r.status_code == 409

                # -- award --------------------------------------------------------------------------------------
                r = await staff.post(f"/needs/{nid}/award", json={"supplier_ids": [first, "sup-nobody"],
                                                                  "amount_cents": 2_450_000})
                assert r.status_code == 422 and fields(r) == ["supplier_ids.1"]
                r = await staff.post(f"/needs/{nid}/award", json={"supplier_ids": [first], "amount_cents": 2_450_000})
                assert r.status_code == 200 and r.json()["contract"]["amount_cents"] == 2_450_000, r.text
                awarded = (await staff.get(f"/needs/{nid}/suppliers", params={"step": "awarded"})).json()["items"]
                assert [row["supplier_id"] for row in awarded] == [first]

                # -- the impact survey, after the deadline and its delay ---------------------------------------
                clock.now = datetime(2008, 4, 22, 9, 0, tzinfo=UTC)  # deadline + 7 days − 1 h
                assert await svc.open_impact_surveys() == 0
                clock.advance(hours=2)
                assert await svc.open_impact_surveys() == 2
                assert await svc.open_impact_surveys() == 0
                surveys = {s["respondent"]: s for s in (await staff.get(f"/needs/{nid}/impact-surveys")).json()}
                assert surveys["buyer"]["respondent_id"] == buyer and surveys["supplier"]["respondent_id"] == first
                buyer_link = surveys["buyer"]["answer_path"]
                r = await anyone.put(buyer_link, json={"answer": "not_yet"})
                assert r.status_code == 200 and r.json()["answer"] == "not_yet", r.text
                r = await anyone.put(buyer_link, json={"answer": "no", "amount_cents": 5})
                assert r.status_code == 422 and fields(r) == ["amount_cents"]
                r = await anyone.put(buyer_link, json={"answer": "yes", "amount_cents": 2_450_000,
                                                       "comment": "Très satisfaits."})
                assert r.json()["amount_cents"] == 2_450_000
                r = await anyone.put(surveys["supplier"]["answer_path"], json={"answer": "yes"})
                assert r.status_code == 200
                r = await anyone.put(f"/impact-answers/{links[first].rsplit('/', 1)[1]}", json={"answer": "yes"})
                assert r.status_code == 422 and fields(r) == ["token"]  # a supplier link is no survey link

            # -- a business meeting held at a convention, linked to the need -----------------------------------
            meeting, convention = f"mtg-{tag}", f"evt-{tag}"
            await _publish(settings, MeetingHeld(convention_id=convention, meeting_id=meeting,
                                                 participant_ids=("reg-a", "reg-b"), slot_id="s3", table=4,
                                                 how="badges", held_at=datetime(2008, 2, 12, 15, tzinfo=UTC)))

            async def linked():
                r = await staff.post(f"/needs/{nid}/meetings", json={"meeting_id": meeting})
                return r.status_code == 200 and r.json()

            seen = await eventually(linked, timeout=30)
            assert seen["meetings"][0]["convention_id"] == convention
            r = await staff.post(f"/needs/{nid}/meetings", json={"meeting_id": "mtg-never-held"})
            assert r.status_code == 422 and fields(r) == ["meeting_id"]

            # -- the log, the figures, the events ------------------------------------------------------------
            need = (await reader.get(f"/needs/{nid}")).json()
            assert [e["action"] for e in need["log"]] == [
                "drafted", "updated", "submitted", "sent_back", "updated", "submitted", "validated",
                "dispatch_started", "dispatch_completed", "closed", "awarded", "impact_survey_opened",
                "impact_survey_opened", "meeting_linked"]
            assert need["log"][3]["detail"] == "Précisez les sites." and need["log"][3]["by"] == "test"
            figures = (await reader.get("/needs/figures", params={"year": 2008})).json()
            assert figures["needs_per_status"] == {"awarded": 1} and figures["awarded_amount_cents"] == 2_450_000
            assert figures["funnel"] == {"notified": 5, "opened": 1, "viewed": 2, "interested": 2,
                                         "not_interested": 1, "answered": 1, "awarded": 1}
            assert figures["impact_answers"] == {"buyer_yes": 1, "supplier_yes": 1}
            (per_convention,) = figures["conventions"]
            assert per_convention["convention_id"] == convention and per_convention["contracts_count"] == 1
            assert per_convention["contracts"][0]["supplier_ids"] == [first]
            assert per_convention["awarded_amount_cents"] == 2_450_000
            assert (await reader.get("/needs/figures", params={"year": 2009})).json()["needs"] == 0

            records = await read_topic(settings, NEED_TOPIC, _of_need(nid), count=35)
            types = _types(records)
            assert types[:6] == ["need-drafted", "need-updated", "need-submitted", "need-sent-back", "need-updated",
                                 "need-submitted"]
            assert types.count("supplier-notified") == 5 and types.count("supplier-reminded") == 3
            assert types.count("funnel-step-recorded") == 8  # 4 + 1 + 1 (interested) + 1 (staff viewed) + awarded
            assert len(records) == 35
            for expected in ("need-validated", "need-dispatch-started", "need-dispatch-completed", "need-closed",
                             "need-awarded", "need-question-asked", "need-question-answered", "impact-survey-opened",
                             "impact-survey-answered", "need-linked-to-meeting"):
                assert expected in types, expected
            payloads = b" ".join(r.value for r in records)
            assert b"Hors zone" not in payloads and b"mobilier" not in payloads and b"Pr\xc3\xa9cisez" not in payloads


async def test_reminders_stop_when_the_deadline_closes_the_need(infrastructure):
    settings = service_settings(infrastructure, "procurement")
    async with serving("procurement", settings) as app:
        svc = app.state.platform.commands.needs
        clock = Clock(START)
        svc.clock = clock
        buyer, _ = await _seed(infrastructure, app, settings)
        async with client_of(app, settings, "staff:procurement") as staff:
            nid = (await staff.post("/needs", json=_need(buyer, deadline_at="2008-03-10T12:00:00+01:00"))).json()["id"]
            for step in ("submission", "validation", "dispatch"):
                assert (await staff.post(f"/needs/{nid}/{step}")).status_code in (200, 202)
            await eventually(lambda: _status(staff, nid, "dispatched"), timeout=30)
            clock.advance(days=3)
            assert await svc.send_reminders() == len(MATCHING)
            clock.now = datetime(2008, 3, 10, 12, 0, tzinfo=timezone(timedelta(hours=1)))  # the deadline
            clock.advance(days=5)
            assert await svc.send_reminders() == 0
            need = (await staff.get(f"/needs/{nid}")).json()
            assert need["status"] == "closed" and need["log"][-1]["by"] == "system"
            closed = await read_topic(settings, NEED_TOPIC, _of_need(nid, "need-closed"))
            assert b'"at_deadline":true' in closed[0].value


def _gone_process_owner() -> str:
    """The lease owner id of a process of this machine that has exited (a service killed with ``-9``)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{int(done.stdout)}:dead0001"


@pytest.mark.parametrize("died", ["lease lapsed", "process gone"])
async def test_a_dispatch_whose_process_died_is_finished_by_another_each_supplier_notified_once(infrastructure, died):
    """Its lease lapses (1 s), or — a process of this machine that no longer runs — is taken at once
    (a lease of 10 minutes: only the holder's death lets the next process in within the test)."""
    settings = service_settings(infrastructure, "procurement")
    config = ProcurementSettings(need_dispatch_batch_size=2,
                                 need_dispatch_lease_seconds=1.0 if died == "lease lapsed" else 600.0)
    async with serving("procurement", settings) as app:
        buyer, suppliers = await _seed(infrastructure, app, settings)
    matching = {suppliers[name] for name in MATCHING}
    async with running(service("procurement"), settings, consumers=False, jobs=False) as dying:
        svc = dying.commands.needs
        svc.clock, svc.config = Clock(START), config
        if died == "process gone":
            svc.owner = _gone_process_owner()
        need = await svc.draft(buyer_id=buyer, fields=_terms(), by="test")
        await svc.submit(need.id, by="test")
        await svc.validate(need.id, by="test")
        await svc.start_dispatch(need.id, by="test")
        assert await svc.dispatch_lease(need.id).acquire()
        candidates = [(sid, None) for sid in sorted(matching)]
        assert await svc._dispatch_batch(need.id, candidates, sorted(matching)) is False  # one batch, then it "dies"
        assert await dying.db["need_suppliers"].count_documents({"need_id": need.id}) == 2
    async with serving("procurement", settings) as app:  # another process: it takes the dispatch over
        async with client_of(app, settings, "reader") as reader:
            async def completed():
                state = (await reader.get(f"/needs/{need.id}/dispatch")).json()
                return state["status"] == "completed" and state

            state = await eventually(completed, timeout=30)
            assert state["notified"] == len(matching)
            rows = (await reader.get(f"/needs/{need.id}/suppliers", params={"limit": 100})).json()
            assert rows["total"] == len(matching) and {r["supplier_id"] for r in rows["items"]} == matching
        notified = await read_topic(settings, NEED_TOPIC, _of_need(need.id, "supplier-notified"), count=len(matching))
        assert len(notified) == len(matching)


async def test_bad_input_is_a_4xx_naming_the_field(infrastructure):
    settings = service_settings(infrastructure, "procurement")
    async with serving("procurement", settings) as app:
        app.state.platform.commands.needs.clock = Clock(START)
        buyer, _ = await _seed(infrastructure, app, settings)
        async with client_of(app, settings, "staff:procurement") as staff:
            cases = [
                ({"amount_band": "30k_60k"}, "amount_band"),
                ({"amount_band": "20k_30k", "amount_cents": 3_500_000}, "amount_cents"),
                ({"amount_cents": -1}, "amount_cents"),
                ({"amount_cents": 10**20}, "amount_cents"),
                ({"deadline_at": "2008-03-01T12:00:00+01:00"}, "deadline_at"),  # before the service's now
                ({"deadline_at": "2008-04-15T12:00:00"}, "deadline_at"),  # naive
                ({"deadline_at": "9999-01-01T00:00:00+00:00"}, "deadline_at"),
                ({"reserved": True, "reserved_article": None}, "reserved_article"),
                ({"reserved": False, "reserved_article": "l2113_12"}, "reserved_article"),
                ({"buyer_id": "buy-nobody"}, "buyer_id"),
                ({"place": {"commune": "99999"}}, "place.commune"),
                ({"place": {"commune": "93048", "departement": "75"}}, "place.departement"),
                ({"place": {}}, "place"),
                ({"sectors": []}, "sectors"),
                ({"sectors": ["circular_economy", "space"]}, "sectors.1"),
                ({"title": ""}, "title"),
                ({"title": "x" * 5000}, "title"),
                ({"kind": "auction"}, "kind"),
                ({"colour": "blue"}, "colour"),
            ]
            for overrides, field in cases:
                r = await staff.post("/needs", json=_need(buyer, **overrides))
                assert r.status_code == 422, (overrides, r.text)
                assert field in fields(r), (overrides, fields(r))
            r = await staff.post("/needs", content=b"{not json", headers={"Content-Type": "application/json"})
            assert r.status_code == 400
            assert (await staff.get("/needs/need-nobody")).status_code == 404
            assert (await staff.get("/needs/figures", params={"year": 99999})).status_code == 422
            assert (await staff.get("/need-links/%00%01")).status_code == 422
            assert (await staff.put("/impact-answers/abc.def", json={"answer": "yes"})).status_code == 422
            nid = (await staff.post("/needs", json=_need(buyer))).json()["id"]
            r = await staff.post(f"/needs/{nid}/abandonment", json={"reason": "bored"})
            assert r.status_code == 422 and fields(r) == ["reason"]
            r = await staff.post(f"/needs/{nid}/sending-back", json={"reason": "x"})
            assert r.status_code == 409 and r.json()["current_state"] == "draft"
            r = await staff.post(f"/needs/{nid}/meetings", json={"meeting_id": "mtg-x"})
            assert r.status_code == 409
            advice = (await staff.get(f"/needs/{nid}/reservation-advice")).json()
            counts = {f["family"]: f["eligible_suppliers"] for f in advice["families"]}
            assert counts == {"disability": 2, "insertion": 5, "ess": 6}
            assert advice["recommended"]["kind"] == "social_clause" and advice["spend_cents"] == 2_500_000


def replace_settings(config: ProcurementSettings, **changes) -> ProcurementSettings:
    return config.model_copy(update=changes)


def _terms() -> dict:
    need = _need("x")
    need.pop("buyer_id")
    need["deadline_at"] = datetime.fromisoformat(DEADLINE)
    return need


async def _status(client, nid: str, status: str) -> bool:
    return (await client.get(f"/needs/{nid}")).json()["status"] == status

