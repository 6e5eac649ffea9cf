"""Buyers, engagements, conventions, interventions and the activity report's figures, through the
procurement API on the real broker and database.

Dated 2013–2015: the buyer topic is shared by the whole session and the observatory counts per year;
those years are this file's (and the quotes file's) own.
"""
from __future__ import annotations

import json

import pytest

from tests.integration.conftest import client_of, fields, read_topic, service_settings, serving, unique_siret

pytestmark = pytest.mark.integration

NOTES = "Réunion avec Mme Durand, directrice de la commande publique"


@pytest.fixture
def settings(infrastructure):
    return service_settings(infrastructure, "procurement")


@pytest.fixture
async def app(settings):
    async with serving("procurement", settings) as application:
        yield application


@pytest.fixture
async def api(app, settings):
    async with client_of(app, settings, "staff:procurement") as c:
        yield c


async def _buyer(api, **overrides) -> dict:
    body = {"kind": "commune", "siret": unique_siret(), "name": "Ville de Montreuil", "departement": "93",
            "commune": "93048", **overrides}
    r = await api.post("/buyers", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_commune_its_engagement_its_conventions_its_interventions_and_the_year_s_figures(api, settings):
    commune = await _buyer(api)
    bid = commune["id"]
    assert (commune["kind"], commune["departement"], commune["commune"], commune["status"]) == (
        "commune", "93", "93048", "active")
    company = await _buyer(api, kind="private_company", name="Logisticien SA", departement="94", commune="94028")

    # -- an engagement, phase by phase ------------------------------------------------------------------
    r = await api.post(f"/buyers/{bid}/engagements", json={"programme": "oser", "on": "2014-01-15"})
    assert r.status_code == 422 and fields(r) == ["programme"]
    r = await api.post(f"/buyers/{bid}/engagements", json={"programme": "pams", "on": "2014-01-15"})
    assert r.status_code == 201, r.text
    engagement = r.json()
    eid = engagement["id"]
    assert (engagement["phase"], engagement["next_allowed_phase"]) == ("measure", "train")
    r = await api.post(f"/buyers/{bid}/engagements", json={"programme": "pams"})
    assert r.status_code == 409 and eid in r.json()["detail"]

    r = await api.post(f"/buyers/{bid}/engagements/{eid}/phase", json={"phase": "act", "on": "2014-03-01"})
    assert r.status_code == 409
    problem = r.json()
    assert problem["current_state"] == "measure" and problem["next_phase"] == "train"
    assert "measure" in problem["detail"] and "train" in problem["detail"]
    r = await api.post(f"/buyers/{bid}/engagements/{eid}/phase", json={"phase": "train", "on": "2014-03-01"},
                       headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    r = await api.post(f"/buyers/{bid}/engagements/{eid}/phase", json={"phase": "act", "on": "2014-06-01"},
                       headers={"If-Match": '"1"'})
    assert r.status_code == 412
    r = await api.post(f"/buyers/{bid}/engagements/{eid}/phase", json={"phase": "measure", "on": "2014-06-01"})
    assert r.status_code == 409 and r.json()["current_state"] == "train" and r.json()["next_phase"] == "act"
    r = await api.post(f"/buyers/{bid}/engagements/{eid}/phase", json={"phase": "act", "on": "2014-06-01"})
    assert r.status_code == 200
    assert [(h["phase"], h["on"]) for h in r.json()["history"]] == [
        ("measure", "2014-01-15"), ("train", "2014-03-01"), ("act", "2014-06-01")]

    # -- conventions ------------------------------------------------------------------------------------
    r = await api.post(f"/buyers/{bid}/conventions", json={"subject": "Convention PAMS 2014-2016",
                                                           "signed_on": "2014-02-01", "starts_on": "2014-03-01",
                                                           "ends_on": "2016-02-28"})
    assert r.status_code == 201, r.text
    assert r.json()["status_today"] == "ended"
    r = await api.post(f"/buyers/{bid}/conventions", json={"subject": "Convention achats", "signed_on": "2013-12-01",
                                                           "starts_on": "2014-01-01", "ends_on": "2015-12-31"})
    cut = r.json()["id"]
    r = await api.post(f"/buyers/{bid}/conventions/{cut}/termination", json={"on": "2014-07-01"})
    assert r.status_code == 200 and r.json()["last_day_in_force"] == "2014-06-30"
    assert (await api.post(f"/buyers/{bid}/conventions/{cut}/termination", json={"on": "2014-08-01"})).status_code \
        == 409
    r = await api.post(f"/buyers/{bid}/conventions", json={"subject": "x", "signed_on": "2014-02-01",
                                                           "starts_on": "2014-03-01", "ends_on": "2014-03-01"})
    assert r.status_code == 422 and fields(r) == ["ends_on"]
    r = await api.post(f"/buyers/{company['id']}/conventions", json={
        "subject": "x", "signed_on": "2014-02-01", "starts_on": "2014-03-01", "ends_on": "2015-03-01"})
    assert r.status_code == 409 and "local authorities" in r.json()["detail"]

    # -- interventions ----------------------------------------------------------------------------------
    async def log(buyer_id: str, **body) -> dict:
        r = await api.post(f"/buyers/{buyer_id}/interventions", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    training = await log(bid, kind="training", on="2014-03-10", participants=15, engagement_id=eid, notes=NOTES)
    assert training["team"] == "business_development"
    await log(bid, kind="awareness_workshop", on="2014-04-02", team="territories", participants=30)
    await log(bid, kind="meeting", on="2013-12-20")
    await log(company["id"], kind="sourcing", on="2014-05-20")
    mistaken = await log(bid, kind="diagnostic", on="2014-09-09")
    moved = await log(bid, kind="meeting", on="2014-05-05")
    r = await api.patch(f"/buyers/{bid}/interventions/{moved['id']}", json={"on": "2015-01-10"},
                        headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["on"] == "2015-01-10" and r.headers["ETag"] == '"2"'
    r = await api.delete(f"/buyers/{bid}/interventions/{mistaken['id']}", headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["withdrawn"] is True
    assert (await api.delete(f"/buyers/{bid}/interventions/{mistaken['id']}")).status_code == 409
    listed = (await api.get(f"/buyers/{bid}/interventions", params={"year": 2014})).json()
    assert listed["total"] == 2 and {i["kind"] for i in listed["items"]} == {"training", "awareness_workshop"}

    r = await api.post(f"/buyers/{bid}/interventions", json={"kind": "meeting", "on": "2014-05-05",
                                                             "engagement_id": "eng-of-someone-else"})
    assert r.status_code == 422 and fields(r) == ["engagement_id"]
    r = await api.post(f"/buyers/{bid}/interventions", json={"kind": "meeting", "on": "2199-01-01"})
    assert r.status_code == 422 and fields(r) == ["on"]

    # -- the figures of 2014 ----------------------------------------------------------------------------
    figures = (await api.get("/buyers/figures", params={"year": 2014})).json()
    assert figures["local_authorities_met"] == 1 and figures["local_authorities_met_by_kind"]["commune"] == 1
    assert figures["buyers_met"] == 2 and figures["interventions"] == 3 and figures["participants"] == 45
    assert figures["interventions_by_kind"] == {"training": 1, "awareness_workshop": 1, "diagnostic": 0,
                                                "sourcing": 1, "meeting": 0}
    assert figures["interventions_by_team"] == {"business_development": 2, "territories": 1}
    assert figures["conventions_signed"] == 1
    assert (figures["conventions_active_at_year_end"], figures["conventions_active_during_year"]) == (1, 2)
    pams = figures["engagements"]["pams"]
    assert (pams["opened"], pams["open_at_year_end"], pams["phase_at_year_end"]["act"]) == (1, 1, 1)
    assert pams["phases_entered"] == {"measure": 1, "train": 1, "act": 1}
    f2015 = (await api.get("/buyers/figures", params={"year": 2015})).json()
    assert (f2015["interventions"], f2015["local_authorities_met"], f2015["conventions_active_at_year_end"]) == (1, 1, 1)

    # -- closing: archiving waits for the engagement ------------------------------------------------------
    r = await api.post(f"/buyers/{bid}/archive")
    assert r.status_code == 409 and eid in r.json()["detail"]
    r = await api.post(f"/buyers/{bid}/engagements/{eid}/completion", json={"on": "2015-03-31"})
    assert r.status_code == 200 and r.json()["status"] == "completed"
    r = await api.post(f"/buyers/{bid}/archive")
    assert r.status_code == 200 and r.json()["status"] == "archived"
    r = await api.post(f"/buyers/{bid}/interventions", json={"kind": "meeting", "on": "2015-04-01"})
    assert r.status_code == 409 and r.json()["current_state"] == "archived"
    r = await api.post(f"/buyers/{bid}/engagements", json={"programme": "pams", "on": "2015-04-01"})
    assert r.status_code == 409

    # -- every fact is on the buyer topic, without the notes ----------------------------------------------
    records = await read_topic(settings, "procurement.buyer", lambda rec: rec.key == bid.encode(), count=16)
    types = [dict(rec.headers)["ce_type"].decode().split(".")[3] for rec in records]
    assert types == ["buyer-registered", "engagement-opened", "engagement-phase-advanced",
                     "engagement-phase-advanced", "buyer-convention-signed", "buyer-convention-signed",
                     "buyer-convention-terminated", *["intervention-logged"] * 5, "intervention-corrected",
                     "intervention-withdrawn", "engagement-completed", "buyer-archived"]
    payloads = [json.loads(rec.value) for rec in records]
    assert all("Durand" not in json.dumps(p) and "Convention" not in json.dumps(p) for p in payloads)
    logged = next(p for p in payloads if p.get("kind") == "training")
    assert (logged["on"], logged["team"], logged["buyer_kind"], logged["engagement_id"]) == (
        "2014-03-10", "business_development", "commune", eid)


async def test_buyers_are_found_by_kind_territory_and_text_and_a_siret_is_registered_once(api):
    siret = unique_siret()
    commune = await _buyer(api, siret=siret, name="Ville de Bagnolet", commune="93006")
    await _buyer(api, kind="departement", name="Département de la Seine-Saint-Denis", commune=None)
    await _buyer(api, kind="other_public", name="Hôpital intercommunal", departement="94", commune="94028")
    await _buyer(api, kind="private_company", name="Bâtisseurs SAS", departement="75", commune="75056")

    r = await api.post("/buyers", json={"kind": "commune", "siret": siret[:7] + " " + siret[7:], "name": "Doublon",
                                        "departement": "93"})
    assert r.status_code == 409 and r.json()["field"] == "siret" and commune["id"] in r.json()["detail"]

    async def names(**params) -> list[str]:
        return [b["name"] for b in (await api.get("/buyers", params=params)).json()["items"]]

    assert await names(local_authorities="true") == ["Département de la Seine-Saint-Denis", "Ville de Bagnolet"]
    assert await names(local_authorities="false") == ["Bâtisseurs SAS", "Hôpital intercommunal"]
    assert await names(departement="94") == ["Hôpital intercommunal"]
    assert await names(kind="commune", departement="93") == ["Ville de Bagnolet"]
    assert await names(kind="commune", local_authorities="false") == []
    assert await names(q="bagn") == ["Ville de Bagnolet"]
    assert await names(q=siret) == ["Ville de Bagnolet"]  # (the test SIRETs share their SIREN)
    assert await names(q=".*") == []  # a text, not a pattern
    page = (await api.get("/buyers", params={"limit": 1, "offset": 1})).json()
    assert page["total"] == 4 and len(page["items"]) == 1

    r = await api.patch(f"/buyers/{commune['id']}", json={"name": "Ville de Bagnolet (93)"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["name"] == "Ville de Bagnolet (93)" and r.headers["ETag"] == '"2"'
    r = await api.patch(f"/buyers/{commune['id']}", json={"name": "x"}, headers={"If-Match": '"1"'})
    assert r.status_code == 412
    r = await api.patch(f"/buyers/{commune['id']}", json={"name": None})
    assert r.status_code == 422 and fields(r) == ["name"]


@pytest.mark.parametrize("body, field", [
    ({"siret": "12345678901234"}, "siret"),
    ({"siret": "not a siret at all"}, "siret"),
    ({"departement": "20"}, "departement"),
    ({"departement": "<script>"}, "departement"),
    ({"commune": "75056"}, "commune"),
    ({"commune": "9304"}, "commune"),
    ({"kind": "ministry"}, "kind"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"status": "archived"}, "status"),
    ({"$where": "1"}, "$where"),
])
async def test_bad_buyers_are_a_422_naming_the_field(api, body, field):
    base = {"kind": "commune", "siret": unique_siret(), "name": "Ville", "departement": "93", "commune": "93048"}
    r = await api.post("/buyers", json={**base, **body})
    assert r.status_code == 422, r.text
    assert field in fields(r)


async def test_hostile_values_on_the_other_endpoints_are_4xx_never_500(api):
    bid = (await _buyer(api))["id"]
    cases = [
        ("post", f"/buyers/{bid}/interventions", {"kind": "meeting", "on": "2014-01-01", "participants": 2**70},
         "participants"),
        ("post", f"/buyers/{bid}/interventions", {"kind": "meeting", "on": "2014-01-01", "participants": -3},
         "participants"),
        ("post", f"/buyers/{bid}/interventions", {"kind": "meeting", "on": "99999-01-01"}, "on"),
        ("post", f"/buyers/{bid}/interventions", {"kind": "meeting", "on": "2014-01-01", "team": "mars"}, "team"),
        ("post", f"/buyers/{bid}/engagements", {"programme": "promess"}, "programme"),
        ("post", f"/buyers/{bid}/engagements", {"programme": "pams", "on": "1066-10-14"}, "on"),
        ("post", f"/buyers/{bid}/conventions", {"subject": "x", "signed_on": "2014-01-01", "starts_on": "2014-01-01",
                                                "ends_on": "2030-01-02"}, "ends_on"),
    ]
    for method, path, body, field in cases:
        r = await getattr(api, method)(path, json=body)
        assert r.status_code == 422, (path, body, r.text)
        assert field in fields(r), (body, r.json())
    assert (await api.get("/buyers/figures", params={"year": 99999})).status_code == 422
    assert (await api.get("/buyers/buy-nobody")).status_code == 404
    assert (await api.post("/buyers/buy-nobody/engagements", json={"programme": "pams"})).status_code == 404
    r = await api.post(f"/buyers/{bid}/engagements/eng-nobody/phase", json={"phase": "train"})
    assert r.status_code == 404


async def test_roles(app, settings, api):
    bid = (await _buyer(api))["id"]
    async with client_of(app, settings, "reader") as reader:
        assert (await reader.get(f"/buyers/{bid}")).status_code == 200
        assert (await reader.get("/buyers/figures", params={"year": 2014})).status_code == 200
        assert (await reader.post(f"/buyers/{bid}/interventions", json={"kind": "meeting"})).status_code == 403
    async with client_of(app, settings, "staff:events") as other_team:
        assert (await other_team.get(f"/buyers/{bid}")).status_code == 403
