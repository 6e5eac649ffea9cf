"""The business-development team's whole path through the APIs alone, on the real broker and
database: ESS organisations made members in the membership service (procurement learns them from
membership's events), their supplier profiles, a local authority as buyer with a PAMS engagement,
an intervention and a convention, a need validated and dispatched to the suppliers that serve its
place, suppliers answering through their links, the award and the impact survey, a purchase
diagnostic of a spend file with a broken line, and quotes with and without the member discount.

Nothing is written to a database by hand. The needs' clock is set to 2004 (the year of these
facts: projections read whole shared topics and other tests count other years).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.conftest import (active_member, client_of, eventually, fields, read_topic, service_settings,
                                        serving, unique_siret)

pytestmark = pytest.mark.integration
UTC = timezone.utc


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_a_buyer_a_need_dispatched_and_awarded_a_diagnostic_and_quotes_through_the_apis(infrastructure):
    membership_settings = service_settings(infrastructure, "membership")
    settings = service_settings(infrastructure, "procurement")
    async with serving("membership", membership_settings) as membership_app, \
            serving("procurement", settings) as app:
        clock = Clock(datetime(2004, 3, 1, 9, 0, tzinfo=UTC))
        app.state.platform.commands.needs.clock = clock
        async with client_of(membership_app, membership_settings) as m, \
                client_of(app, settings, "staff:procurement") as staff, client_of(app, settings) as anyone:
            anyone.headers.pop("Authorization")

            # -- ESS organisations, members, known to procurement from membership's events only ---------------
            near = await active_member(m, on="2004-01-10", name="Recyclerie de Montreuil", departement="93",
                                       commune="Montreuil", legal_form="association")
            paris = await active_member(m, on="2004-01-10", name="Atelier Réemploi Paris", departement="75",
                                        commune="Paris", legal_form="scop")
            far = await active_member(m, on="2004-01-10", name="Ressourcerie de Marseille", departement="13",
                                      commune="Marseille")
            r = await m.post("/organisations", json={
                "siret": unique_siret(), "name": "Coop non adhérente", "legal_form": "scic", "departement": "93",
                "commune": "Bobigny", "sector": "économie circulaire", "headcount": 3,
                "annual_budget_cents": 5_000_000, "on": "2004-01-12"})
            outsider = r.json()["id"]

            async def known(org: str):
                return (await staff.get(f"/organisations/{org}")).status_code == 200

            for org in (near, paris, far, outsider):
                await eventually(lambda org=org: known(org), timeout=60)

            # -- supplier profiles ---------------------------------------------------------------------------------
            suppliers = {}
            for org, extra in ((near, {"kinds": ["aci"]}),
                               (paris, {"kinds": ["ei"], "serves": {"radius_km": 15}}),
                               (far, {"kinds": ["ei"]})):
                r = await staff.post("/suppliers", json={"organisation_id": org, "sectors": ["circular_economy"],
                                                         "services": ["collecte et réemploi de mobilier"], **extra})
                assert r.status_code == 201, r.text
                suppliers[org] = r.json()["id"]
            r = await staff.post("/suppliers", json={"organisation_id": near, "sectors": ["food"]})
            assert r.status_code == 409  # one profile per organisation
            r = await staff.post("/suppliers", json={"organisation_id": "org-unknown", "sectors": ["food"]})
            assert r.status_code == 422 and fields(r) == ["organisation_id"]

            async def found():
                r = await staff.get("/suppliers/search", params={"sector": "circular_economy", "commune": "93048"})
                hits = r.json()["items"]
                return {h["supplier_id"] for h in hits} >= {suppliers[near], suppliers[paris]} and hits

            hits = await eventually(found, timeout=30)
            assert suppliers[far] not in {h["supplier_id"] for h in hits}  # Marseille does not serve Montreuil

            # -- a buyer (a commune), a PAMS engagement, an intervention, a convention ----------------------------
            r = await staff.post("/buyers", json={"kind": "commune", "siret": "2193 0048 000015",
                                                  "name": "Ville de Montreuil", "departement": "93",
                                                  "commune": "93048"})
            assert r.status_code == 201, r.text
            buyer = r.json()["id"]
            r = await staff.post("/buyers", json={"kind": "commune", "siret": "21930048000016", "name": "X",
                                                  "departement": "93"})
            assert r.status_code == 422 and fields(r) == ["siret"]  # a malformed SIRET, named
            r = await staff.post(f"/buyers/{buyer}/engagements", json={"programme": "pams", "on": "2004-01-20"})
            assert r.status_code == 201, r.text
            engagement = r.json()["id"]
            r = await staff.post(f"/buyers/{buyer}/engagements/{engagement}/phase", json={"phase": "act"})
            assert r.status_code == 409  # Measure → Train → Act, in order
            r = await staff.post(f"/buyers/{buyer}/engagements/{engagement}/phase",
                                 json={"phase": "train", "on": "2004-02-10"})
            assert r.status_code == 200, r.text
            r = await staff.post(f"/buyers/{buyer}/interventions", json={
                "kind": "awareness_workshop", "on": "2004-02-12", "engagement_id": engagement, "participants": 14})
            assert r.status_code == 201, r.text
            r = await staff.post(f"/buyers/{buyer}/conventions", json={
                "subject": "Achats responsables 2004-2006", "signed_on": "2004-01-25", "starts_on": "2004-02-01",
                "ends_on": "2006-12-31"})
            assert r.status_code == 201, r.text
            figures = (await staff.get("/buyers/figures", params={"year": 2004})).json()
            assert figures["local_authorities_met"] == 1 and figures["conventions_active_at_year_end"] == 1

            # -- a need: drafted, validated, dispatched to the suppliers serving Montreuil --------------------------
            deadline = (clock.now + timedelta(days=30)).isoformat()
            r = await staff.post("/needs", json={
                "buyer_id": buyer, "title": "Collecte et réemploi du mobilier", "kind": "tender",
                "sectors": ["circular_economy"], "place": {"commune": "93048"}, "amount_band": "20k_30k",
                "deadline_at": deadline, "reserved": True, "reserved_article": "l2113_13", "social_clause": False})
            assert r.status_code == 201, r.text
            need = r.json()["id"]
            r = await staff.post("/needs", json={
                "buyer_id": buyer, "title": "x", "kind": "tender", "sectors": ["food"],
                "place": {"commune": "93048"}, "amount_band": "20k_31k", "deadline_at": deadline, "reserved": False,
                "social_clause": False})
            assert r.status_code == 422 and fields(r) == ["amount_band"]  # a band that does not exist
            assert (await staff.post(f"/needs/{need}/submission")).json()["status"] == "submitted"
            assert (await staff.post(f"/needs/{need}/validation")).json()["status"] == "validated"
            advice = (await staff.get(f"/needs/{need}/reservation-advice")).json()
            assert advice["recommended"]["kind"] in ("reserved_contract", "reserved_lot", "social_clause",
                                                     "social_award_criterion") and advice["recommended"]["why"]
            assert (await staff.post(f"/needs/{need}/dispatch")).status_code == 202

            async def dispatched():
                state = (await staff.get(f"/needs/{need}/dispatch")).json()
                return state["status"] == "completed" and state

            assert (await eventually(dispatched, timeout=30))["notified"] == 2
            rows = {row["supplier_id"]: row for row in
                    (await staff.get(f"/needs/{need}/suppliers", params={"limit": 10})).json()["items"]}
            assert set(rows) == {suppliers[near], suppliers[paris]}  # Paris by its 15 km radius; not Marseille

            # -- suppliers answer through their links; the award; the impact survey --------------------------------
            link = rows[suppliers[near]]["link_path"]
            for step in ("opened", "viewed", "interested", "answered"):
                r = await anyone.post(f"{link}/steps", json={"step": step})
                assert r.status_code == 200, r.text
            r = await anyone.post(f"{rows[suppliers[paris]]['link_path']}/steps", json={"step": "not_interested"})
            assert r.status_code == 200
            assert (await staff.post(f"/needs/{need}/closing")).json()["status"] == "closed"
            r = await staff.post(f"/needs/{need}/award", json={"supplier_ids": [suppliers[near]],
                                                               "amount_cents": 2_600_000})
            assert r.status_code == 200 and r.json()["status"] == "awarded", r.text
            clock.now += timedelta(days=40)  # the deadline and the survey's delay have passed
            assert await app.state.platform.commands.needs.open_impact_surveys() == 2
            surveys = {s["respondent"]: s for s in (await staff.get(f"/needs/{need}/impact-surveys")).json()}
            r = await anyone.put(surveys["buyer"]["answer_path"], json={"answer": "yes", "amount_cents": 2_600_000})
            assert r.status_code == 200, r.text
            figures = (await staff.get("/needs/figures", params={"year": 2004})).json()
            assert figures["needs_per_status"] == {"awarded": 1} and figures["awarded_amount_cents"] == 2_600_000

            # -- a purchase diagnostic: a spend file with a broken line ----------------------------------------------
            r = await staff.post("/diagnostics", json={"buyer_id": buyer})
            assert r.status_code == 201, r.text
            diagnostic = r.json()["id"]
            near_siret = (await staff.get(f"/organisations/{near}")).json()["siret"]
            other = unique_siret()
            spend = (f"SIRET fournisseur;Montant;Catégorie;Date\r\n"
                     f"{near_siret};1 000,00;Collecte des déchets;2004-02-01\r\n"
                     f"{other};3 000,00;Collecte des déchets;15/02/2004\r\n"
                     f"{other};douze;Collecte des déchets;2004-02-01\r\n").encode()
            r = await staff.post(f"/diagnostics/{diagnostic}/imports", files={"file": ("achats.csv", spend)})
            assert r.status_code == 202, r.text

            async def imported():
                state = (await staff.get(r.headers["Location"])).json()
                return state["state"] != "running" and state

            done = await eventually(imported, timeout=60)
            assert (done["state"], done["lines_imported"], done["lines_rejected"]) == ("completed", 2, 1)
            assert done["first_rejections"][0]["line"] == 4
            totals = (await staff.get(f"/diagnostics/{diagnostic}/report")).json()["totals"]
            assert (totals["total_spend_cents"], totals["ess_spend_cents"]) == (400_000, 100_000)

            # -- quotes: the member discount for a member in good standing, none for the outsider ----------------
            quotes = {}
            for org in (near, outsider):
                r = await staff.post("/quotes", json={"organisation_id": org, "offer": "application_support",
                                                      "amount_cents": 500_000})
                assert r.status_code == 201, r.text
                r = await staff.post(f"/quotes/{r.json()['id']}/sending")
                assert r.status_code == 200, r.text
                quotes[org] = r.json()
            assert quotes[near]["pricing"]["discount_cents"] == 100_000
            assert quotes[near]["pricing"]["total_incl_vat_cents"] == 480_000
            assert quotes[outsider]["pricing"]["discount_cents"] == 0
            assert quotes[outsider]["pricing"]["total_incl_vat_cents"] == 600_000
            r = await staff.post(f"/quotes/{quotes[near]['id']}/acceptance")
            assert r.status_code == 200 and r.json()["status"] == "accepted"
            r = await staff.post("/quotes", json={"organisation_id": near, "offer": "application_support",
                                                  "amount_cents": 900_000})
            assert r.status_code == 422 and fields(r) == ["amount_cents"]

        # every step is an event on its topic: read while the services run (their relays publish the last ones)
        assert await read_topic(settings, "procurement.need", lambda rec: rec.key == need.encode(), count=10)
        assert await read_topic(settings, "procurement.quote", lambda rec: rec.key == quotes[near]["id"].encode(),
                                count=3)
