"""The directory of ESS structures on the real broker and database: organisations registered through
membership's API, a supplier profiled through procurement's API, a CSV import with bad rows through
the observatory's API → the directory lists them merged, filters and facets work, counts at year
end, the map's territories, a proposal moderated. Dated 2033–2035 (no other test uses these years;
every query names its as_of date: those years are after today)."""
from __future__ import annotations

import json

import pytest

from runtime.siret import with_check_digit
from tests.integration.conftest import (active_member, client_of, eventually, fields, header, read_topic,
                                        service_settings, serving, unique_siret)

pytestmark = pytest.mark.integration
AS_OF = "2035-12-31"
TAG = "Dirtest"


async def test_the_directory_merges_its_sources_and_is_moderated(infrastructure, tmp_path):
    ms, ps, os_ = (service_settings(infrastructure, n) for n in ("membership", "procurement", "observatory"))
    async with serving("membership", ms) as m_app, serving("procurement", ps) as p_app, \
            serving("observatory", os_) as o_app:
        async with client_of(m_app, ms) as m, client_of(p_app, ps, "staff:procurement") as p, \
                client_of(o_app, os_, "staff:observatory") as o:
            siret_a = unique_siret()
            a = await active_member(m, on="2033-02-01", siret=siret_a, name=f"{TAG} Recyclerie", legal_form="scop",
                                    departement="93", commune="Montreuil", sector="économie circulaire")
            r = await m.post("/organisations", json={
                "siret": unique_siret(), "name": f"{TAG} Jardins", "legal_form": "association", "departement": "77",
                "commune": "Melun", "sector": "espaces verts", "headcount": 2, "annual_budget_cents": 100_000,
                "on": "2033-03-01"})
            assert r.status_code == 201, r.text
            b = r.json()["id"]
            await eventually(lambda: _known(p, a), timeout=60)
            r = await p.post("/suppliers", json={"organisation_id": a, "sectors": ["circular_economy", "logistics"],
                                                 "kinds": ["ei"], "labels": ["lucie"]})
            assert r.status_code == 201, r.text
            supplier = r.json()["id"]

            # -- a CSV import with bad rows (cp1252, ';', a personal column) --------------------------------
            siret_new = with_check_digit(f"8{siret_a[1:9]}0002"[:13])
            lines = ["nom;siret;famille;secteur;commune;departement;site;E-mail du contact",
                     f"Nom importé de la recyclerie;{siret_a};SCOP;réemploi;93048;;recyclerie.example.org;x@y.fr",
                     f"{TAG} Café coopératif;{siret_new};SCIC;restauration;75111;;;",
                     f"{TAG} Fondation du Val;;fondation;social;Créteil;94;;",
                     "Mauvais SIRET;12345678901234;association;;93048;;;",
                     "Commune inconnue;;association;;99999;;;",
                     "Famille inconnue;;SARL;;93048;;;"]
            content = "\n".join(lines).encode("cp1252")
            r = await o.post("/directory/imports", params={"source": "Carteco test", "on": "2033-06-01"},
                             files={"file": ("structures.csv", content, "text/csv")})
            assert r.status_code == 201, r.text
            first = r.json()
            assert (first["encoding"], first["separator"], first["lines"]) == ("cp1252", ";", 6)
            assert (first["imported"], first["updated"], first["unchanged"], first["rejected"]) == (3, 0, 0, 3)
            assert [(f["line"], f["field"]) for f in first["faults"]] == [(5, "siret"), (6, "commune"),
                                                                            (7, "legal_family")]
            assert first["ignored_columns"] == [{"column": "E-mail du contact", "why": "personal data: never imported"}]
            # the same file again, as text/csv: nothing changes
            r = await o.post("/directory/imports", params={"source": "Carteco test", "on": "2033-06-01"},
                             content=content, headers={"Content-Type": "text/csv"})
            assert r.status_code == 201 and (r.json()["imported"], r.json()["unchanged"]) == (0, 3), r.text

            async def page(**params) -> dict:
                r = await o.get("/directory", params={"as_of": AS_OF, **params})
                assert r.status_code == 200, r.text
                return r.json()

            async def merged():
                got = await page(q=TAG)
                entry = next((e for e in got["items"] if e["id"] == a), None)
                return got["total"] == 4 and entry and entry["supplier"] and entry["member"] and got

            listed = await eventually(merged, timeout=90)
            by_name = {e["name"]: e for e in listed["items"]}
            ea = by_name[f"{TAG} Recyclerie"]  # membership's name wins over the import's
            assert [s["kind"] for s in ea["sources"]] == ["membership", "procurement", "import"]
            assert ea["legal_family"] == "cooperative" and ea["website"] == "https://recyclerie.example.org"
            assert ea["supplier"]["supplier_id"] == supplier and ea["supplier"]["kinds"] == ["ei"]
            assert ea["commune"] == {"code": "93048", "name": "Montreuil"} and ea["ept"]["name"] == "Est Ensemble"
            assert ea["added_on"] == "2033-02-01" and ea["membership"]["status"] == "active"
            assert by_name[f"{TAG} Jardins"]["member"] is False and by_name[f"{TAG} Jardins"]["id"] == b
            cafe = by_name[f"{TAG} Café coopératif"]
            assert cafe["id"].startswith("str-") and cafe["sources"][0]["name"] == "Carteco test"
            assert by_name[f"{TAG} Fondation du Val"]["commune"]["code"] == "94028"

            # -- filters and facets ---------------------------------------------------------------------
            assert {e["id"] for e in (await page(q=TAG, member="true"))["items"]} == {a}
            assert {e["name"] for e in (await page(q=TAG, legal_family="cooperative"))["items"]} == \
                {f"{TAG} Recyclerie", f"{TAG} Café coopératif"}
            assert {e["id"] for e in (await page(q=TAG, departement="77"))["items"]} == {b}
            assert {e["id"] for e in (await page(q=TAG, sector="logistics"))["items"]} == {a}
            assert {e["id"] for e in (await page(q=TAG, commune="75111"))["items"]} == {cafe["id"]}
            faceted = await page(q=TAG, departement="93")
            assert faceted["total"] == 1 and faceted["facets"]["departement"] == {"75": 1, "77": 1, "93": 1, "94": 1}
            assert (await page(q=TAG, limit=2, offset=2))["total"] == 4
            assert len((await page(q=TAG, limit=2, offset=2))["items"]) == 2
            assert (await page(q=TAG, as_of="2033-04-01"))["total"] == 2  # before the import

            # -- counts at year end, territories ---------------------------------------------------------
            r = await o.get("/directory/counts", params={"year": 2033, "as_of": AS_OF})
            assert r.status_code == 200, r.text
            c33 = r.json()
            assert c33["on"] == "2033-12-31" and c33["added"] == 4
            assert c33["by_legal_family"]["cooperative"]["added"] == 2
            mid = (await o.get("/directory/counts", params={"year": 2033, "as_of": "2033-04-01"})).json()
            assert mid["added"] == 2 and mid["structures"] == c33["structures"] - 2
            c34 = (await o.get("/directory/counts", params={"year": 2034, "as_of": AS_OF})).json()
            assert c34["structures"] == c33["structures"] and c34["added"] == 0
            r = await o.get("/directory/territories", params={"level": "commune", "as_of": AS_OF, "member": "true"})
            assert r.status_code == 200 and any(t["code"] == "93048" and t["members"] >= 1
                                                for t in r.json()["territories"])
            r = await o.get("/directory/territories", params={"level": "departement", "as_of": AS_OF})
            deps = {t["code"]: t for t in r.json()["territories"]}
            assert set(deps) <= {"75", "77", "78", "91", "92", "93", "94", "95"} and deps["93"]["members"] >= 1
            assert 48.8 < deps["93"]["lat"] < 49.0

            # -- moderation -------------------------------------------------------------------------------
            r = await o.post(f"/directory/{a}/proposals", json={"changes": {"website": "ateliers.example.org",
                                                                             "name": f"{TAG} Recyclerie (nouveau)"},
                                                                 "channel": "email"})
            assert r.status_code == 201, r.text
            prop = r.json()
            r = await o.post(f"/directory/{cafe['id']}/proposals", json={"changes": {"commune": "93048"}})
            other = r.json()
            pending = (await o.get("/directory/proposals", params={"status": "pending"})).json()
            assert {x["id"] for x in pending} == {prop["id"], other["id"]}
            r = await o.post(f"/directory/proposals/{prop['id']}/acceptance", json={"note": "x" * 4001})
            assert r.status_code == 422 and "note" in r.text, r.text  # refused whole: the proposal stays pending
            r = await o.get(f"/directory/proposals/{prop['id']}")
            assert (r.json()["status"], len(r.json()["history"])) == ("pending", len(prop["history"])), r.text
            r = await o.post(f"/directory/proposals/{prop['id']}/acceptance", json={"note": "vérifié"},
                             headers={"If-Match": '"1"'})
            assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
            r = await o.post(f"/directory/proposals/{other['id']}/rejection", json={"reason": "non vérifiable"})
            assert r.status_code == 200 and r.json()["status"] == "rejected"
            assert (await o.post(f"/directory/proposals/{prop['id']}/rejection", json={"reason": "x"})).status_code == 409
            entry = (await o.get(f"/directory/{a}", params={"as_of": AS_OF})).json()
            assert entry["name"] == f"{TAG} Recyclerie (nouveau)" and entry["website"] == "https://ateliers.example.org"
            assert {x["field"]: x["source_value"] for x in entry["moderated"]} == {
                "website": "https://recyclerie.example.org", "name": f"{TAG} Recyclerie"}
            assert (await o.get(f"/directory/{cafe['id']}", params={"as_of": AS_OF})).json()["commune"]["code"] == \
                "75111"

            # -- events through the outbox ------------------------------------------------------------------
            done = await read_topic(os_, "observatory.directory-import",
                                    lambda rec: json.loads(rec.value)["import_id"] == first["id"])
            assert json.loads(done[0].value)["rejected"] == 3
            decided = await read_topic(os_, "observatory.directory-proposal",
                                       lambda rec: json.loads(rec.value)["proposal_id"] == prop["id"], count=2)
            assert [header(x, "ce_type").split(".")[3] for x in decided] == ["directory-change-proposed",
                                                                             "directory-change-accepted"]
            imported = await read_topic(os_, "observatory.structure",
                                        lambda rec: json.loads(rec.value).get("import_id") == first["id"], count=3)
            assert len(imported) == 3 and all("y.fr" not in rec.value.decode() for rec in imported)

            # -- bad input names the field ------------------------------------------------------------------
            for body, field in ((b"", "file"), ("nom;famille\nA;association\n".encode(), "file"),
                                ("\ufeffnom;famille;commune\n".encode(), "file"), (b"\x00\x01\x02", "file")):
                r = await o.post("/directory/imports", params={"source": "x"}, content=body,
                                 headers={"Content-Type": "text/csv"})
                assert r.status_code == 422 and fields(r) == [field], (body, r.text)
            r = await o.post("/directory/imports", params={"source": "x"}, content=b"x" * (11 * 1024 * 1024),
                             headers={"Content-Type": "text/csv"})
            assert r.status_code == 413
            r = await o.post(f"/directory/{a}/proposals", json={"changes": {"commune": "00000"}})
            assert r.status_code == 422 and fields(r) == ["changes.commune"]
            assert (await o.post("/directory/org-nobody/proposals", json={"changes": {"name": "X"}})).status_code == 404
            r = await o.get("/directory", params={"legal_family": "sarl"})
            assert r.status_code == 422 and fields(r) == ["query.legal_family"]
            assert (await o.get("/directory/nobody", params={"as_of": AS_OF})).status_code == 404

        async with client_of(o_app, os_, "reader") as reader, client_of(o_app, os_, "staff:events") as other_team:
            assert (await reader.get("/directory", params={"as_of": AS_OF, "q": TAG})).status_code == 200
            assert (await reader.post(f"/directory/{a}/proposals", json={"changes": {"name": "X"}})).status_code == 403
            assert (await reader.post("/directory/imports", params={"source": "x"}, content=content,
                                      headers={"Content-Type": "text/csv"})).status_code == 403
            assert (await other_team.get("/directory")).status_code == 403


async def _known(p, org: str) -> bool:
    return (await p.get(f"/organisations/{org}")).status_code == 200
