"""Supplier profiles, the sourcing search and groupings, through the procurement API, on the real
broker and database, with membership running beside it (organisations and member standing come
from its events only). Dated 2005–2007: projections read whole shared topics, and other tests
count other years."""
from __future__ import annotations

import json
from contextlib import asynccontextmanager

import pytest

from reference import geo
from tests.integration.conftest import (active_member, client_of, eventually, fields, header, read_topic,
                                        service_settings, serving, unique_siret)

pytestmark = pytest.mark.integration

TOPIC = "procurement.supplier"
MONTREUIL, LAGNY, PARIS_11, MELUN = "93048", "77243", "75111", "77288"


@asynccontextmanager
async def services(infrastructure):
    membership_settings = service_settings(infrastructure, "membership")
    procurement_settings = service_settings(infrastructure, "procurement")
    async with serving("membership", membership_settings) as membership_app, \
            serving("procurement", procurement_settings) as procurement_app:
        async with client_of(membership_app, membership_settings) as m, \
                client_of(procurement_app, procurement_settings, "staff:procurement") as p:
            yield m, p, procurement_settings, (procurement_app, procurement_settings)


async def known(p, org: str, standing: str | None = None) -> None:
    """Wait until procurement learnt the organisation (and its standing) from membership's events."""
    async def check():
        if (await p.get(f"/organisations/{org}")).status_code != 200:
            return False
        if standing is None:
            return True
        return (await p.get(f"/organisations/{org}/standing")).json()["status"] == standing
    await eventually(check, timeout=60)


async def registered(m, **profile) -> str:
    """An organisation known to membership, not a member."""
    body = {"siret": unique_siret(), "name": "Structure ESS", "legal_form": "association", "departement": "93",
            "commune": "Montreuil", "sector": "alimentation", "headcount": 3, "annual_budget_cents": 5_000_000,
            "on": "2005-01-05", **profile}
    r = await m.post("/organisations", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def profile(p, org: str, **body) -> dict:
    r = await p.post("/suppliers", json={"organisation_id": org, **body})
    assert r.status_code == 201, r.text
    return r.json()


async def search(p, **params) -> dict:
    r = await p.get("/suppliers/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def names(page: dict) -> set[str]:
    return {item["name"] for item in page["items"]}


def events_of(records, ids: set[str]) -> list[tuple[str, dict]]:
    out = []
    for r in records:
        data = json.loads(r.value)
        if data.get("supplier_id") in ids:
            out.append((header(r, "ce_type").split(".")[3], data))
    return out


async def test_profiles_and_the_sourcing_search(infrastructure):
    async with services(infrastructure) as (m, p, settings, app):
        a = await active_member(m, on="2005-01-10", name="Recyclerie de Montreuil", departement="93",
                                commune="Montreuil")
        b = await active_member(m, on="2005-01-11", name="Traiteur de Créteil", departement="94", commune="Créteil")
        c = await active_member(m, on="2005-01-12", name="Logistique de Lagny", departement="77",
                                commune="Lagny-sur-Marne")
        d = await registered(m, name="Atelier de Paris", departement="75", commune="Paris")
        e = await active_member(m, on="2005-02-01", name="Jardins de Melun", departement="77", commune="Melun")
        for org in (a, b, c, e):
            await known(p, org, "active")
        await known(p, d)

        # -- profiles: identity from membership, base commune found from the organisation's -------------
        sa = await profile(p, a, sectors=["circular_economy", "logistics"], kinds=["ei"], labels=["lucie"],
                           services=["Collecte et réemploi de mobilier"],
                           references=[{"client_name": "Ville de Montreuil", "year": 2004, "amount_cents": 900_000}],
                           past_contracts=[{"buyer_name": "Département 93", "year": 2004, "amount_cents": 1_500_000,
                                            "reserved_article": "l2113_13"}])
        assert (sa["identity"]["name"], sa["base"]["commune"], sa["base"]["departement"]) == \
            ("Recyclerie de Montreuil", MONTREUIL, "93")
        assert sa["labels"] == ["lucie"] and sa["status"] == "active" and sa["version"] == 1
        sb = await profile(p, b, sectors=["food"], kinds=["esat"], serves={"departements": ["93"]})
        sc = await profile(p, c, sectors=["food", "logistics"], kinds=["aci"])
        assert sc["base"]["commune"] == LAGNY
        sd = await profile(p, d, sectors=["food"], kinds=["ess"], base_commune=PARIS_11,
                           serves={"communes": [MONTREUIL]})
        se = await profile(p, e, sectors=["green_spaces"], serves={"radius_km": 50})
        assert geo.find("Paris", "75").code == "75056" and sd["base"]["commune"] == PARIS_11

        r = await p.get(f"/suppliers/{sb['id']}")
        assert r.status_code == 200 and r.headers["ETag"] == '"1"' and r.json()["serves"]["departements"] == ["93"]

        # -- refusals naming the field ----------------------------------------------------------------
        r = await p.post("/suppliers", json={"organisation_id": "org-nobody", "sectors": ["food"]})
        assert r.status_code == 422 and fields(r) == ["organisation_id"]
        r = await p.post("/suppliers", json={"organisation_id": a, "sectors": ["food"]})
        assert r.status_code == 409 and r.json()["supplier_id"] == sa["id"]
        for body, field in (
                ({"sectors": []}, "sectors"),
                ({"sectors": ["spaceflight"]}, "sectors.0"),
                ({"sectors": ["food"], "base_commune": "99999"}, "base_commune"),
                ({"sectors": ["food"], "base_commune": "Montreuil"}, "base_commune"),
                ({"sectors": ["food"], "serves": {"communes": [MONTREUIL, "00000"]}}, "serves.communes.1"),
                ({"sectors": ["food"], "serves": {"departements": ["20"]}}, "serves.departements.0"),
                ({"sectors": ["food"], "serves": {"radius_km": 500}}, "serves.radius_km"),
                ({"sectors": ["food"], "labels": ["esus"]}, "labels.0"),
                ({"sectors": ["food", "food"]}, "sectors.1"),
                ({"sectors": ["food"], "capacity": {"max_contract_cents": 2**70}}, "capacity.max_contract_cents"),
                ({"sectors": ["food"], "references": [{"client_name": "X", "year": 2999}]}, "references.0.year"),
                ({"sectors": ["food"], "siret": "73282932000074"}, "siret")):
            org = await registered(m, name="Structure refusée")
            await known(p, org)
            r = await p.post("/suppliers", json={"organisation_id": org, **body})
            assert r.status_code == 422 and fields(r) == [field], (body, r.text)
        assert (await p.get("/suppliers", params={"organisation_id": org})).json()["total"] == 0  # nothing half-made

        # -- each filter --------------------------------------------------------------------------------
        assert names(await search(p, sector="food")) == {"Traiteur de Créteil", "Logistique de Lagny",
                                                         "Atelier de Paris"}
        assert names(await search(p, kind="ei")) == {"Recyclerie de Montreuil"}
        assert names(await search(p, kind=["ei", "esat"])) == {"Recyclerie de Montreuil", "Traiteur de Créteil"}
        assert names(await search(p, label="lucie")) == {"Recyclerie de Montreuil"}
        # Montreuil: its own (A), 93 declared (B), Montreuil named (D), Melun's 50 km radius (E, 38.6 km)
        around = await search(p, commune=MONTREUIL)
        assert names(around) == {"Recyclerie de Montreuil", "Traiteur de Créteil", "Atelier de Paris",
                                 "Jardins de Melun"}
        assert around["items"][0]["name"] == "Recyclerie de Montreuil"  # its own commune, nearest, most complete
        top = around["items"][0]
        assert top["reach"] == "commune" and top["distance_km"] == 0 and top["member"] is True
        assert top["score_details"] == {"sector": 0, "distance": 25, "territory": 20, "labels": 3, "member": 10,
                                        "track_record": 3}
        # Lagny is 20 km from Montreuil and serves its own département only: the search radius finds it
        assert "Logistique de Lagny" in names(await search(p, commune=MONTREUIL, radius_km=25))
        assert "Logistique de Lagny" not in names(await search(p, commune=MONTREUIL, radius_km=15))
        lagny = next(i for i in (await search(p, commune=MONTREUIL, radius_km=25))["items"]
                     if i["name"] == "Logistique de Lagny")
        assert lagny["reach"] == "nearby" and 19.5 < lagny["distance_km"] < 20.5
        assert names(await search(p, departement="93")) == names(around)  # D serves part of 93, E's radius reaches it
        assert names(await search(p, member_only="true")) == {"Recyclerie de Montreuil", "Traiteur de Créteil",
                                                              "Logistique de Lagny", "Jardins de Melun"}

        # -- facets: every filter but their own (hand count) -------------------------------------------
        page = await search(p, sector="food", commune=MONTREUIL, member_only="true")
        assert names(page) == {"Traiteur de Créteil"} and page["total"] == 1
        facets = page["facets"]
        # sectors, without the sector filter: Montreuil ∩ member = A, B, E
        assert {k: v for k, v in facets["sectors"].items() if v} == {"circular_economy": 1, "logistics": 1, "food": 1,
                                                                     "green_spaces": 1}
        # départements served, without the place: food ∩ member = B (94, 93), C (77)
        assert facets["departements"] == {"93": 1, "94": 1, "77": 1}
        # member, without member-only: food ∩ Montreuil = B (member), D (not)
        assert facets["member"] == {"in_good_standing": 1, "not_in_good_standing": 1}
        assert {k: v for k, v in facets["kinds"].items() if v} == {"esat": 1}

        # -- pages ----------------------------------------------------------------------------------------
        everything = [i["supplier_id"] for i in around["items"]]
        pages = []
        for offset in (0, 2, 4):
            chunk = await search(p, commune=MONTREUIL, limit=2, offset=offset)
            assert chunk["total"] == 4 and chunk["limit"] == 2
            pages += [i["supplier_id"] for i in chunk["items"]]
        assert pages == everything

        # -- bad search input --------------------------------------------------------------------------
        for params, field in (({"commune": "99999"}, "query.commune"), ({"commune": "Montreuil"}, "query.commune"),
                              ({"departement": "93", "radius_km": 10}, "query.radius_km"),
                              ({"commune": MONTREUIL, "radius_km": 301}, "query.radius_km"),
                              ({"commune": MONTREUIL, "departement": "94"}, "query.departement"),
                              ({"sector": "spaceflight"}, "query.sector.0"), ({"limit": 0}, "query.limit"),
                              ({"offset": -1}, "query.offset")):
            r = await p.get("/suppliers/search", params=params)
            assert r.status_code == 422 and fields(r) == [field], (params, r.text)

        # -- a change is seen by the next search; a stale write is refused -------------------------------
        r = await p.patch(f"/suppliers/{sb['id']}", json={"serves": {"departements": []}}, headers={"If-Match": '"1"'})
        assert r.status_code == 200 and r.headers["ETag"] == '"2"'
        assert "Traiteur de Créteil" not in names(await search(p, commune=MONTREUIL))
        r = await p.patch(f"/suppliers/{sb['id']}", json={"sectors": ["cleaning"]}, headers={"If-Match": '"1"'})
        assert r.status_code == 412
        r = await p.patch(f"/suppliers/{sb['id']}", json={"sectors": None})
        assert r.status_code == 422 and fields(r) == ["sectors"]
        r = await p.patch(f"/suppliers/{sb['id']}", json={"serves": {"communes": ["2A004", "12345"]}})
        assert r.status_code == 422 and fields(r) == ["serves.communes.1"]
        r = await p.post(f"/suppliers/{se['id']}/archive")
        assert r.status_code == 200 and r.json()["status"] == "archived"
        assert "Jardins de Melun" not in names(await search(p, commune=MONTREUIL))
        assert (await p.post(f"/suppliers/{se['id']}/archive")).status_code == 409
        assert (await p.patch(f"/suppliers/{se['id']}", json={"sectors": ["food"]})).status_code == 409
        listed = await p.get("/suppliers", params={"status": "archived"})
        assert [s["id"] for s in listed.json()["items"]] == [se["id"]]

        # -- events: ids and codes ------------------------------------------------------------------------
        ids = {s["id"] for s in (sa, sb, sc, sd, se)}
        records = events_of(await read_topic(settings, TOPIC, lambda r: json.loads(r.value).get("supplier_id") in ids,
                                             count=7, timeout=60), ids)
        kinds = sorted(kind for kind, _ in records)
        assert kinds == ["supplier-archived"] + ["supplier-profile-updated"] + ["supplier-profiled"] * 5
        updated = next(data for kind, data in records if kind == "supplier-profile-updated")
        assert updated["changed_fields"] == ["serves"] and updated["source"] == "staff"
        assert all("Montreuil" not in json.dumps(data) for _, data in records)

        async with client_of(*app, "reader") as reader:
            assert (await reader.get("/suppliers/search", params={"sector": "food"})).status_code == 200
            assert (await reader.post("/suppliers", json={"organisation_id": a, "sectors": ["food"]})).status_code \
                == 403


async def test_identity_and_member_standing_follow_membership_events(infrastructure):
    async with services(infrastructure) as (m, p, settings, _):
        org = await active_member(m, on="2006-01-10", name="Conserverie de Saint-Denis", departement="93",
                                  commune="Saint-Denis")
        await known(p, org, "active")
        supplier = await profile(p, org, sectors=["food"], labels=["ecocert"])
        assert supplier["labels"] == ["ecocert"] and supplier["base"]["commune"] == "93066"
        assert names(await search(p, member_only="true", sector="food")) == {"Conserverie de Saint-Denis"}

        # membership renames it and records its ESUS agreement: the copy follows, the label is derived
        r = await m.patch(f"/organisations/{org}", json={"name": "Conserverie solidaire", "esus_agreed": True,
                                                         "esus_agreed_on": "2006-03-01", "on": "2006-03-02"})
        assert r.status_code == 200, r.text

        async def refreshed():
            s = (await p.get(f"/suppliers/{supplier['id']}")).json()
            return s["identity"]["name"] == "Conserverie solidaire" and s

        s = await eventually(refreshed, timeout=60)
        assert s["labels"] == ["esus", "ecocert"] and s["declared_labels"] == ["ecocert"] and s["version"] == 2
        assert names(await search(p, label="esus")) == {"Conserverie solidaire"}
        records = events_of(await read_topic(settings, TOPIC, lambda r: json.loads(r.value).get("supplier_id")
                                             == supplier["id"], count=2, timeout=60), {supplier["id"]})
        updated = [data for kind, data in records if kind == "supplier-profile-updated"]
        assert len(updated) == 1 and updated[0]["source"] == "membership" and updated[0]["labels"] == ["esus", "ecocert"]

        # the membership ends: member-only searches no longer find it
        r = await m.post(f"/members/{org}/withdrawal", json={"reason": "resignation", "on": "2006-09-01"})
        assert r.status_code == 200, r.text

        async def gone():
            return names(await search(p, member_only="true", sector="food")) == set()

        await eventually(gone, timeout=60)
        page = await search(p, sector="food")
        assert page["total"] == 1 and page["items"][0]["member"] is False
        assert page["facets"]["member"] == {"in_good_standing": 0, "not_in_good_standing": 1}


async def test_groupings_lifecycle(infrastructure):
    async with services(infrastructure) as (m, p, settings, _):
        orgs = [await active_member(m, on="2007-01-10", name=f"Structure {i}", departement="93", commune="Montreuil")
                for i in range(5)]
        for org in orgs:
            await known(p, org)
        lead, s1, s2, s3, old = [(await profile(p, org, sectors=["sustainable_construction"]))["id"] for org in orgs]
        assert (await p.post(f"/suppliers/{old}/archive")).status_code == 200
        need = "need-2007-ecole"

        for body, status, field in (
                ({"member_supplier_ids": []}, 422, "member_supplier_ids"),
                ({"member_supplier_ids": [s1, s1]}, 422, "member_supplier_ids.1"),
                ({"member_supplier_ids": [s1, lead]}, 422, "member_supplier_ids.1"),
                ({"member_supplier_ids": ["sup-nobody"]}, 422, "member_supplier_ids.0"),
                ({"lead_supplier_id": "sup-nobody", "member_supplier_ids": [s1]}, 422, "lead_supplier_id"),
                ({"need_id": "need with spaces", "member_supplier_ids": [s1]}, 422, "need_id"),
                ({"member_supplier_ids": [s1, old]}, 409, None)):
            r = await p.post("/groupings", json={"need_id": need, "lead_supplier_id": lead, **body})
            assert r.status_code == status, (body, r.text)
            if field:
                assert fields(r) == [field], (body, r.text)
        r = await p.post("/groupings", json={"need_id": need, "lead_supplier_id": lead, "member_supplier_ids": [s1]})
        assert r.status_code == 201 and r.json()["status"] == "forming"
        grouping = r.json()["id"]
        # s1 is in a grouping for this need already; for another need it may
        r = await p.post("/groupings", json={"need_id": need, "lead_supplier_id": s2, "member_supplier_ids": [s1]})
        assert r.status_code == 409 and r.json()["grouping_id"] == grouping
        other = await p.post("/groupings", json={"need_id": "need-2007-other", "lead_supplier_id": s2,
                                                 "member_supplier_ids": [s1]})
        assert other.status_code == 201

        r = await p.post(f"/groupings/{grouping}/members", json={"supplier_id": s2}, headers={"If-Match": '"1"'})
        assert r.status_code == 200 and r.json()["member_supplier_ids"] == [s1, s2]
        assert (await p.post(f"/groupings/{grouping}/members", json={"supplier_id": s2})).status_code == 409
        assert (await p.post(f"/groupings/{grouping}/members", json={"supplier_id": old})).status_code == 409
        assert (await p.post(f"/groupings/{grouping}/members", json={"supplier_id": s3},
                             headers={"If-Match": '"1"'})).status_code == 412
        r = await p.delete(f"/groupings/{grouping}/members/{s1}")
        assert r.status_code == 200 and r.json()["member_supplier_ids"] == [s2]
        assert (await p.delete(f"/groupings/{grouping}/members/{s2}")).status_code == 409  # the last member
        assert (await p.delete(f"/groupings/{grouping}/members/{lead}")).status_code == 409
        # s1 left: its seat for this need is free again
        r = await p.post("/groupings", json={"need_id": need, "lead_supplier_id": s1, "member_supplier_ids": [s3]})
        assert r.status_code == 201, r.text

        r = await p.post(f"/groupings/{grouping}/submission")
        assert r.status_code == 200 and r.json()["status"] == "submitted"
        assert (await p.post(f"/groupings/{grouping}/submission")).status_code == 409
        assert (await p.post(f"/groupings/{grouping}/members", json={"supplier_id": s3})).status_code == 409
        r = await p.post(f"/groupings/{grouping}/dissolution", json={"reason": "Lot attribué à un autre titulaire"})
        assert r.status_code == 200 and r.json()["status"] == "dissolved"
        assert (await p.post(f"/groupings/{grouping}/dissolution", json={})).status_code == 409

        listed = (await p.get("/groupings", params={"need_id": need})).json()
        assert listed["total"] == 2
        mine = (await p.get("/groupings", params={"supplier_id": s2})).json()
        assert {g["id"] for g in mine["items"]} == {grouping, other.json()["id"]}
        assert (await p.get("/groupings/grp-nobody")).status_code == 404

        records = await read_topic(settings, TOPIC, lambda r: json.loads(r.value).get("grouping_id") == grouping,
                                   count=5, timeout=60)
        kinds = [header(r, "ce_type").split(".")[3] for r in records]
        assert kinds == ["grouping-formed", "grouping-member-joined", "grouping-member-left", "grouping-submitted",
                         "grouping-dissolved"]
        assert all(r.key.decode() == lead for r in records)  # keyed by the lead: in order
        assert all("Lot" not in r.value.decode() for r in records)
