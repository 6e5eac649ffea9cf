"""The membership service over HTTP, on the real broker and database (lifespan included)."""
from __future__ import annotations

import asyncio
from datetime import date

import pytest

from contracts.envelope import CloudEvent
from runtime.errors import ConcurrencyConflict
from runtime.mongo import OUTBOX, from_document
from services.membership.adapters.repository import ORGANISATIONS
from services.membership.domain.organisation import Organisation
from tests.integration.conftest import bearer, eventually, header, read_topic, unique_siret

pytestmark = pytest.mark.integration

SCESS_SIRET = "44306184100047"  # a valid SIRET (Luhn)
ASSOCIATION_SIRET = "73282932000074"


def org_body(siret: str = ASSOCIATION_SIRET, **over) -> dict:
    body = {"siret": siret, "name": "Les Ateliers Solidaires", "legal_form": "association",
            "departement": "93", "commune": "Montreuil", "sector": "économie circulaire",
            "headcount": 12, "annual_budget_cents": 45_000_000, "on": "2026-01-05"}
    body.update(over)
    return body


def problem_fields(response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


async def outbox_types(app, aggregate_id: str) -> list[str]:
    db = app.state.platform.db
    docs = await db[OUTBOX].find({"aggregateid": aggregate_id}).sort([("created_at", 1), ("position", 1)]).to_list()
    return [d["type"].split(".")[3] for d in docs]


async def test_operations_endpoints_need_no_token(client):
    anonymous = {"Authorization": ""}
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs", "/asyncapi"):
        r = await client.get(path, headers=anonymous)
        assert r.status_code == 200, path
    assert (await client.get("/readyz")).json()["checks"] == {"mongodb": "ok", "kafka": "ok", "workers": "ok"}
    asyncapi = (await client.get("/asyncapi")).json()
    assert asyncapi["asyncapi"] == "3.0.0"
    assert "membership_member" in asyncapi["channels"]
    await client.get("/organisations")
    metrics = (await client.get("/metrics", headers=anonymous)).text
    assert 'cress_http_requests_total{method="GET",route="/organisations",service="membership",status="200"}' in metrics
    assert "cress_outbox_backlog_records" in metrics


async def test_the_whole_membership_workflow_emits_one_event_per_state_change(client, app, settings):
    r = await client.post("/organisations", json=org_body(SCESS_SIRET, legal_form="scess", name="Repar'Tout SAS"))
    assert r.status_code == 201, r.text
    org_id = r.json()["id"]
    assert r.headers["Location"] == f"/organisations/{org_id}" and r.headers["ETag"] == '"1"'

    r = await client.post("/applications", json={"organisation_id": org_id, "on": "2026-01-10"})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    assert r.json()["status"] == "submitted"

    # out-of-order steps are refused with a clear 409
    r = await client.post(f"/applications/{app_id}/admission", json={"on": "2026-01-11"})
    assert r.status_code == 409 and "expected step" in r.json()["detail"]
    r = await client.post(f"/applications/{app_id}/statutes-review",
                          json={"on": "2026-01-11", "findings": [{"article": "Art. 1", "compliant": True}]})
    assert r.status_code == 409
    r = await client.post("/members", json={"application_id": app_id, "on": "2026-01-11"})
    assert r.status_code == 409

    assert (await client.post(f"/applications/{app_id}/welcome-meeting", json={"on": "2026-01-15"})).status_code == 200
    r = await client.post(f"/applications/{app_id}/statutes-review", json={"on": "2026-01-20", "findings": [
        {"article": "Art. 2 — Objet social", "compliant": True},
        {"article": "Art. 12 — Bénéfices", "compliant": False, "comment": "Réserves obligatoires absentes."}]})
    assert r.status_code == 200 and r.json()["reviews"][-1]["outcome"] == "must_amend"
    r = await client.post(f"/applications/{app_id}/admission", json={"on": "2026-01-21"})
    assert r.status_code == 409, "a commercial company needs compliant statutes"
    r = await client.post(f"/applications/{app_id}/statutes-review", json={"on": "2026-02-20", "findings": [
        {"article": "Art. 12 — Bénéfices", "compliant": True}]})
    assert r.json()["reviews"][-1]["outcome"] == "compliant"
    r = await client.post(f"/applications/{app_id}/admission", json={"on": "2026-03-01", "board_meeting_ref": "CA-3"})
    assert r.status_code == 200 and r.json()["status"] == "admitted"

    r = await client.post("/members", json={"application_id": app_id, "on": "2026-03-02"})
    assert r.status_code == 201, r.text
    member = r.json()
    assert member["id"] == org_id and member["status"] == "active"
    dues = member["invoices"][0]["amount_cents"]
    r = await client.post(f"/members/{org_id}/payments",
                          json={"year": 2026, "amount_cents": dues + 1, "on": "2026-03-10"})
    assert r.status_code == 422 and problem_fields(r) == ["amount_cents"]
    r = await client.post(f"/members/{org_id}/payments", json={"year": 2026, "amount_cents": dues // 2,
                                                               "payment_id": "VIR-1", "on": "2026-03-10"})
    assert r.status_code == 201
    assert (await client.post(f"/members/{org_id}/reminders", json={"year": 2026, "on": "2026-03-20"})).status_code == 201
    r = await client.post(f"/members/{org_id}/payments", json={"year": 2026, "amount_cents": dues - dues // 2,
                                                               "payment_id": "VIR-2", "on": "2026-03-25"})
    assert r.status_code == 201 and r.json()["invoices"][0]["payments"][-1]["payment_id"] == "VIR-2"
    r = await client.get(f"/members/{org_id}/standing", params={"on": "2026-04-01"})
    assert r.json()["in_good_standing"] is True
    r = await client.post(f"/members/{org_id}/withdrawal", json={"reason": "resignation", "on": "2026-06-30"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = await client.post(f"/members/{org_id}/withdrawal", json={"reason": "resignation", "on": "2026-07-01"})
    assert r.status_code == 409

    # one event per state change, in order, through the outbox…
    assert await outbox_types(app, app_id) == ["application-submitted", "welcome-meeting-held", "statutes-reviewed",
                                               "statutes-reviewed", "application-admitted"]
    assert await outbox_types(app, org_id) == [
        "organisation-registered", "member-activated", "dues-invoiced", "dues-payment-recorded",
        "dues-reminder-sent", "dues-payment-recorded", "membership-withdrawn"]
    # …reaching its topic with the right envelope, in order per aggregate
    records = await read_topic(settings, "membership.application", lambda r: r.key == app_id.encode(), count=5)
    assert [header(r, "ce_type") for r in records] == [
        f"org.cress.membership.{t}.v1" for t in ("application-submitted", "welcome-meeting-held",
                                                 "statutes-reviewed", "statutes-reviewed", "application-admitted")]
    for record in records:
        envelope = CloudEvent.from_kafka(record.headers, record.value)
        assert envelope.source == "/cress/membership" and envelope.subject == app_id
        assert envelope.to_domain().application_id == app_id
    member_events = await read_topic(settings, "membership.member", lambda r: r.key == org_id.encode(), count=6)
    assert [header(r, "ce_type").split(".")[3] for r in member_events] == [
        "member-activated", "dues-invoiced", "dues-payment-recorded", "dues-reminder-sent",
        "dues-payment-recorded", "membership-withdrawn"]


async def test_refusal_needs_a_reason_and_is_final(client):
    org_id = (await client.post("/organisations", json=org_body())).json()["id"]
    app_id = (await client.post("/applications", json={"organisation_id": org_id, "on": "2026-02-01"})).json()["id"]
    await client.post(f"/applications/{app_id}/welcome-meeting", json={"on": "2026-02-03"})
    r = await client.post(f"/applications/{app_id}/refusal", json={"on": "2026-02-10"})
    assert r.status_code == 422 and problem_fields(r) == ["reason"]
    r = await client.post(f"/applications/{app_id}/refusal", json={"on": "2026-02-10", "reason": "Hors ESS"})
    assert r.status_code == 200 and r.json()["refusal_reason"] == "Hors ESS"
    r = await client.post(f"/applications/{app_id}/admission", json={"on": "2026-02-11"})
    assert r.status_code == 409
    r = await client.post("/members", json={"application_id": app_id})
    assert r.status_code == 409


async def test_authentication_and_roles(client, settings):
    r = await client.get("/organisations", headers={"Authorization": ""})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/organisations", headers={"Authorization": "Bearer not-a-jwt"})
    assert r.status_code == 401
    other = settings.model_copy(update={"jwt_secret": "another-secret-another-secret-0123456789"})
    r = await client.get("/organisations", headers=bearer(other, "admin"))
    assert r.status_code == 401, "a token signed with another key is refused"

    assert (await client.get("/organisations", headers=bearer(settings, "reader"))).status_code == 200
    r = await client.post("/organisations", json=org_body(), headers=bearer(settings, "reader"))
    assert r.status_code == 403 and "staff:membership" in r.json()["detail"]
    assert (await client.get("/organisations", headers=bearer(settings, "staff:events"))).status_code == 403
    assert (await client.get("/organisations", headers=bearer(settings, "partner"))).status_code == 403
    r = await client.get("/members/in-good-standing", headers=bearer(settings, "partner"))
    assert r.status_code == 200
    r = await client.post("/organisations", json=org_body(), headers=bearer(settings, "staff:membership"))
    assert r.status_code == 201
    org = r.json()["id"]
    r = await client.post(f"/organisations/{org}/contacts", json={
        "name": "Camille Martin", "role": "membership_contact", "email": "camille.martin@example.org",
        "consent_on": "2026-03-02"})
    assert r.status_code == 201 and r.json()["contacts"][0]["email"] == "camille.martin@example.org"
    # contacts are personal data: staff see them, readers get the organisation without them
    reader = bearer(settings, "reader")
    assert (await client.get(f"/organisations/{org}", headers=reader)).json()["contacts"] == []
    listed = (await client.get("/organisations", headers=reader)).json()["items"]
    assert [o["contacts"] for o in listed if o["id"] == org] == [[]]
    staff = bearer(settings, "staff:membership")
    assert len((await client.get(f"/organisations/{org}", headers=staff)).json()["contacts"]) == 1


async def test_bad_input_gets_422_naming_the_field_and_writes_nothing(client, app):
    db = app.state.platform.db
    before = await db[OUTBOX].count_documents({})
    r = await client.post("/organisations", json=org_body(siret="73282932000075"))
    assert r.status_code == 422 and problem_fields(r) == ["siret"]
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post("/organisations", json=org_body(headcount=-1))
    assert r.status_code == 422 and problem_fields(r) == ["headcount"]
    r = await client.post("/organisations", json=org_body(legal_form="sarl"))
    assert r.status_code == 422 and problem_fields(r) == ["legal_form"]
    r = await client.post("/organisations", json=org_body(esus_agreed=True))
    assert r.status_code == 422 and problem_fields(r) == ["esus_agreed_on"]
    r = await client.post("/organisations", json=org_body(departement="99"))
    assert r.status_code == 422 and problem_fields(r) == ["departement"]
    body = org_body()
    del body["name"]
    r = await client.post("/organisations", json=body)
    assert r.status_code == 422 and problem_fields(r) == ["name"]
    r = await client.post("/organisations", json={**org_body(), "colour": "green"})
    assert r.status_code == 422 and problem_fields(r) == ["colour"]
    r = await client.post("/organisations", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = await client.get("/members/in-good-standing", params={"on": "31/12/2026"})
    assert r.status_code == 422 and problem_fields(r) == ["query.on"]
    assert await db[OUTBOX].count_documents({}) == before
    assert await db["organisations"].count_documents({}) == 0


async def test_unknown_ids_get_404(client):
    for path in ("/organisations/org-nope", "/applications/app-nope", "/members/org-nope",
                 "/members/org-nope/standing"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert "org-nope" in r.json()["detail"] or "app-nope" in r.json()["detail"]
    r = await client.post("/applications", json={"organisation_id": "org-nope"})
    assert r.status_code == 404
    r = await client.post("/members/org-nope/payments", json={"year": 2026, "amount_cents": 100})
    assert r.status_code == 404


async def test_duplicates_and_conflicting_updates_are_rejected(client, app):
    r = await client.post("/organisations", json=org_body())
    org_id = r.json()["id"]
    r = await client.post("/organisations", json=org_body(name="Another name, same SIRET"))
    assert r.status_code == 409 and ASSOCIATION_SIRET in r.json()["detail"]
    r = await client.post("/applications", json={"organisation_id": org_id})
    assert r.status_code == 201
    r = await client.post("/applications", json={"organisation_id": org_id})
    assert r.status_code == 409, "one open application per organisation"

    # If-Match: a stale version is refused with 412, never silently overwritten
    r = await client.patch(f"/organisations/{org_id}", json={"headcount": 13}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    r = await client.patch(f"/organisations/{org_id}", json={"headcount": 14}, headers={"If-Match": '"1"'})
    assert r.status_code == 412
    r = await client.patch(f"/organisations/{org_id}", json={"headcount": 14}, headers={"If-Match": "yesterday"})
    assert r.status_code == 422 and problem_fields(r) == ["header.If-Match"]
    assert (await client.get(f"/organisations/{org_id}")).json()["headcount"] == 13

    # writers racing with the same If-Match: exactly one wins; the others' transactions, retried
    # after their write conflict, read the winner's version and are refused with 412 naming it
    results = await asyncio.gather(*(
        client.patch(f"/organisations/{org_id}", json={"commune": commune}, headers={"If-Match": '"2"'})
        for commune in ("Bagnolet", "Pantin", "Romainville")))
    assert sorted(r.status_code for r in results) == [200, 412, 412], [r.text for r in results]
    assert all(r.json()["current_version"] == 3 for r in results if r.status_code == 412)
    final = (await client.get(f"/organisations/{org_id}")).json()
    winner = next(r for r in results if r.status_code == 200).json()
    assert final["commune"] == winner["commune"] and final["version"] == 3
    assert (await outbox_types(app, org_id)).count("organisation-updated") == 2, "one event per winning write"


async def test_a_stale_if_match_is_refused_naming_the_current_version_and_writes_nothing(client, app):
    org_id = (await client.post("/organisations", json=org_body(siret=unique_siret()))).json()["id"]
    r = await client.patch(f"/organisations/{org_id}", json={"headcount": 13}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    before = await outbox_types(app, org_id)

    r = await client.patch(f"/organisations/{org_id}", json={"headcount": 99, "commune": "Pantin"},
                           headers={"If-Match": '"1"'})
    assert r.status_code == 412, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["current_version"] == 2 and "version 2" in r.json()["detail"] and "not 1" in r.json()["detail"]
    after = (await client.get(f"/organisations/{org_id}"))
    assert after.headers["ETag"] == '"2"'
    assert (after.json()["headcount"], after.json()["commune"]) == (13, "Montreuil")
    assert await outbox_types(app, org_id) == before, "a refused write emits no event"


async def test_a_save_over_a_version_changed_since_it_was_read_is_a_409_naming_the_current_version(client, app):
    """The runtime's last guard (``Transaction.save``): an aggregate read before someone else's
    change committed cannot overwrite it — 409 naming the version now stored, nothing written."""
    org_id = (await client.post("/organisations", json=org_body(siret=unique_siret()))).json()["id"]
    db = app.state.platform.db
    stale = from_document(Organisation, await db[ORGANISATIONS].find_one({"_id": org_id}))  # version 1
    assert (await client.patch(f"/organisations/{org_id}", json={"headcount": 13})).status_code == 200  # → 2
    before = await outbox_types(app, org_id)

    stale.update(on=date(2026, 2, 1), commune="Pantin")

    async def save(tx):
        await tx.save(ORGANISATIONS, stale)

    with pytest.raises(ConcurrencyConflict) as refused:
        await db.transaction(save)
    assert refused.value.status == 409 and refused.value.extra["current_version"] == 2
    assert "version 2" in refused.value.detail and "not 1" in refused.value.detail
    stored = (await client.get(f"/organisations/{org_id}")).json()
    assert (stored["version"], stored["headcount"], stored["commune"]) == (2, 13, "Montreuil")
    assert await outbox_types(app, org_id) == before, "the refused save wrote no event"


async def test_concurrent_payments_are_all_kept(client, app):
    org_id = (await client.post("/organisations", json=org_body(headcount=40, annual_budget_cents=300_000_000)))
    org_id = org_id.json()["id"]
    app_id = (await client.post("/applications", json={"organisation_id": org_id, "on": "2026-01-02"})).json()["id"]
    await client.post(f"/applications/{app_id}/welcome-meeting", json={"on": "2026-01-03"})
    await client.post(f"/applications/{app_id}/admission", json={"on": "2026-01-04"})
    dues = (await client.post("/members", json={"application_id": app_id, "on": "2026-01-05"})).json()
    amount = dues["invoices"][0]["amount_cents"]
    part = amount // 4
    results = await asyncio.gather(*(
        client.post(f"/members/{org_id}/payments", json={"year": 2026, "amount_cents": part,
                                                         "payment_id": f"P{i}", "on": "2026-01-20"})
        for i in range(3)))
    # distinct payments that together stay within the balance commute: none is refused (the loser of
    # a write conflict is retried on the new state by the transaction, not answered 409), none lost
    assert [r.status_code for r in results] == [201, 201, 201], [r.text for r in results]
    invoice = (await client.get(f"/members/{org_id}")).json()["invoices"][0]
    assert sorted(p["payment_id"] for p in invoice["payments"]) == ["P0", "P1", "P2"]
    assert sum(p["amount_cents"] for p in invoice["payments"]) == 3 * part
    assert (await outbox_types(app, org_id)).count("dues-payment-recorded") == 3


async def test_statistics_and_good_standing_follow_the_events(client):
    # years before every other test's (1991-1992): the yearly figures read every test's events on the
    # shared topics, and a year's members at year end count those who joined in any earlier year
    ids = []
    for i, siret in enumerate(("73282932000074", "44306184100047", "55210055400013")):
        org = await client.post("/organisations", json=org_body(siret=siret, name=f"Structure {i}", on="1991-01-05"))
        ids.append(org.json()["id"])
        app_id = (await client.post("/applications", json={"organisation_id": ids[-1], "on": "1991-02-01"})).json()["id"]
        await client.post(f"/applications/{app_id}/welcome-meeting", json={"on": "1991-02-02"})
        await client.post(f"/applications/{app_id}/admission", json={"on": "1991-02-03"})
        r = await client.post("/members", json={"application_id": app_id, "on": "1991-02-04"})
        assert r.status_code == 201, r.text
    paid = ids[0]
    dues = (await client.get(f"/members/{paid}")).json()["invoices"][0]["amount_cents"]
    await client.post(f"/members/{paid}/payments", json={"year": 1991, "amount_cents": dues, "on": "1991-02-20"})
    r = await client.post("/dues/deadlines", json={"on": "1991-12-31"})
    assert r.json()["counts"]["changed"] == 2  # the two unpaid members lapse (grace over)
    standing = (await client.get("/members/in-good-standing", params={"on": "1991-12-31"})).json()
    assert [m["id"] for m in standing["items"]] == [paid] and standing["total"] == 1
    r = await client.post("/dues/invoicing", json={"year": 1992, "on": "1992-01-05"})
    assert r.json()["counts"] == {"invoiced": 1, "already_invoiced": 0}

    async def figures():
        rows = (await client.get("/statistics/yearly", params={"since": 1991})).json()
        y = {row["year"]: row for row in rows}
        done = 1992 in y and y[1991]["members_lapsed"] == 2 and y[1992]["dues_invoiced_cents"] > 0
        return y if done and y[1991]["dues_collected_cents"] == dues else None

    years = await eventually(figures)
    assert years[1991]["applications_submitted"] == 3 and years[1991]["members_joined"] == 3
    assert years[1991]["members_at_year_end"] == 1
    assert years[1991]["dues_invoiced_cents"] == dues + 2 * years[1991]["dues_written_off_cents"] // 2


async def test_search_filters_and_pagination(client):
    sirets = ["73282932000074", "44306184100047", "55210055400013", "38012986643097", "41785011900021"]
    made = []
    for i, siret in enumerate(sirets):
        body = org_body(siret=siret, name=f"Coop {chr(65 + i)} Solidaire", departement="93" if i % 2 else "75",
                        legal_form="scop" if i < 3 else "association", esus_agreed=i == 0,
                        esus_agreed_on="2020-01-01" if i == 0 else None)
        r = await client.post("/organisations", json=body)
        assert r.status_code == 201, r.text
        made.append(r.json())
    page = (await client.get("/organisations", params={"limit": 2, "offset": 0})).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["limit"] == 2
    rest = (await client.get("/organisations", params={"limit": 2, "offset": 4})).json()
    assert len(rest["items"]) == 1
    names = [o["name"] for o in page["items"]] + [o["name"] for o in (await client.get(
        "/organisations", params={"limit": 2, "offset": 2})).json()["items"]] + [rest["items"][0]["name"]]
    assert names == sorted(o["name"] for o in made), "stable order across pages"
    assert (await client.get("/organisations", params={"departement": "93"})).json()["total"] == 2
    assert (await client.get("/organisations", params={"legal_form": "scop", "departement": "75"})).json()["total"] == 2
    assert (await client.get("/organisations", params={"esus_agreed": True})).json()["total"] == 1
    found = (await client.get("/organisations", params={"q": "coop c"})).json()
    assert [o["name"] for o in found["items"]] == ["Coop C Solidaire"]
    assert (await client.get("/organisations", params={"q": "4430"})).json()["items"][0]["siret"] == sirets[1]
    r = await client.get("/organisations", params={"limit": 0})
    assert r.status_code == 422 and problem_fields(r) == ["query.limit"]


async def test_readiness_is_503_when_the_database_is_unreachable(client, app, settings):
    from runtime.mongo import Database
    from runtime.stack import free_port

    platform = app.state.platform
    healthy = platform.db
    platform.db = Database(settings.model_copy(update={
        "mongodb_uri": f"mongodb://127.0.0.1:{free_port()}/?directConnection=true&serverSelectionTimeoutMS=500"}))
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["mongodb"].startswith("unreachable") and r.json()["checks"]["kafka"] == "ok"
        assert (await client.get("/healthz")).status_code == 200, "alive all the same"
        assert 'cress_dependency_up{dependency="mongodb",service="membership"} 0.0' in (await client.get("/metrics")).text
    finally:
        await platform.db.close()
        platform.db = healthy
    assert (await client.get("/readyz")).status_code == 200
