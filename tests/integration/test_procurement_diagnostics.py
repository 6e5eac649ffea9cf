"""Purchase diagnostics through the API, on the real broker and database: a buyer's spend files
(CSV with broken lines, XLSX) imported with progress, matched against ESS organisations learnt
from membership's events, the report as JSON, a page and a spreadsheet; hostile uploads get a
clear 4xx; an import whose process died never counts. Dated 2010–2012 (other tests count other
years)."""
from __future__ import annotations

import asyncio
import csv
import io
import random
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from runtime.siret import with_check_digit
from tests.integration.conftest import (active_member, client_of, eventually, fields, read_topic, service_settings,
                                        serving)

pytestmark = pytest.mark.integration
TOPIC = "procurement.diagnostic"


async def add_buyer(staff) -> str:
    """Register Ville de Montreuil through the buyers API (``staff``: a staff:procurement client); its id."""
    r = await staff.post("/buyers", json={"kind": "commune", "siret": "21930048000015", "name": "Ville de Montreuil",
                                          "departement": "93", "commune": "93048"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def add_supplier(staff, organisation_id: str, sectors: list[str], base_commune: str = "93048",
                       served: list[str] | None = None) -> str:
    """The supplier profile of an organisation procurement knows, through the suppliers API; its id."""
    r = await staff.post("/suppliers", json={"organisation_id": organisation_id, "sectors": sectors, "kinds": ["ei"],
                                             "base_commune": base_commune,
                                             "serves": {"departements": served or []}})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def finished(client, location: str, timeout: float = 60) -> dict:
    async def done():
        r = await client.get(location)
        assert r.status_code == 200, r.text
        return r.json() if r.json()["state"] != "running" else None
    return await eventually(done, timeout=timeout)


def fresh_siret(first: str) -> str:
    """A valid SIRET whose SIREN (first 9 digits) no other test uses (a head office, NIC 0001)."""
    return with_check_digit(f"{first}{random.randrange(10**8):08d}0001")


def sibling_of(siret: str) -> str:
    """Another establishment of the same legal entity (same SIREN)."""
    nic = (int(siret[9:13]) + 1) % 10_000
    return with_check_digit(f"{siret[:9]}{nic:04d}")


async def test_a_diagnostic_from_upload_to_report(infrastructure):
    membership_settings = service_settings(infrastructure, "membership")
    settings = service_settings(infrastructure, "procurement")
    async with serving("membership", membership_settings) as membership_app, \
            serving("procurement", settings) as app:
        async with client_of(membership_app, membership_settings) as m, \
                client_of(app, settings, "staff:procurement") as p:
            recyclerie = await active_member(m, on="2010-01-10", name="Recyclerie <du> Val", sector="nettoyage",
                                             annual_budget_cents=50_000_000, siret=fresh_siret("7"))
            traiteur = await active_member(m, on="2010-01-10", name="Traiteur solidaire", departement="75",
                                           annual_budget_cents=80_000_000, siret=fresh_siret("7"))
            orgs = {}
            for org in (recyclerie, traiteur):
                async def known(org=org):
                    r = await p.get(f"/organisations/{org}")
                    return r.status_code == 200 and r.json()
                orgs[org] = await eventually(known, timeout=60)
            ess_siret, ess_sibling = orgs[recyclerie]["siret"], sibling_of(orgs[traiteur]["siret"])
            other_a, other_b = fresh_siret("8"), fresh_siret("8")
            buyer = await add_buyer(p)
            await add_supplier(p, recyclerie, ["cleaning"])
            await add_supplier(p, traiteur, ["food"], base_commune="75056", served=["93", "94"])

            # unknown buyer, then open
            r = await p.post("/diagnostics", json={"buyer_id": "buy-nobody"})
            assert r.status_code == 422 and fields(r) == ["buyer_id"]
            r = await p.post("/diagnostics", json={"buyer_id": buyer})
            assert r.status_code == 201, r.text
            diagnostic = r.json()["id"]
            assert r.headers["Location"] == f"/diagnostics/{diagnostic}" and r.json()["status"] == "open"

            # a CSV (cp1252, ';', French forms) with broken lines
            lines = ["SIRET fournisseur;Montant;Catégorie;Date",
                     f"{ess_siret};1 000,00;Nettoyage des locaux;15/03/2010",       # 2 ESS (SIRET)
                     f"{other_a};3 000,00;Nettoyage des locaux;2010-06-01",         # 3
                     f"{ess_sibling};500,50;Restauration <b>scolaire</b>;01/02/2011",  # 4 ESS (SIREN)
                     f"{other_b};2 000;Restauration <b>scolaire</b>;2011-09-30",    # 5
                     f"12345;10;Nettoyage des locaux;2010-01-01",                   # 6 bad SIRET
                     f"{other_a};douze;Nettoyage des locaux;2010-01-01",            # 7 bad amount
                     f"{other_a};-5;Nettoyage des locaux;2010-01-01",               # 8 negative
                     f"{other_a};999999999999;Nettoyage des locaux;2010-01-01",     # 9 absurd
                     f"{other_a};10;Nettoyage des locaux;1850-01-01",               # 10 out of range
                     f"{other_a};10;Nettoyage des locaux;le 3 mars",                # 11 unparsable
                     f"{other_a};10;;2010-01-01",                                   # 12 no category
                     "",
                     f"{other_b};1,50;Fournitures;31/12/2012"]                     # 14
            content = ("\r\n".join(lines) + "\r\n").encode("cp1252")
            r = await p.post(f"/diagnostics/{diagnostic}/imports", files={"file": ("achats 2010-2012.csv", content,
                                                                                   "text/csv")})
            assert r.status_code == 202, r.text
            assert r.headers["Location"] == f"/diagnostics/{diagnostic}/imports/{r.json()['import_id']}"
            assert r.json()["state"] == "running" and r.json()["lines_total"] == 12
            done = await finished(p, r.headers["Location"])
            assert done["state"] == "completed", done
            assert (done["lines_read"], done["lines_imported"], done["lines_rejected"]) == (12, 5, 7)
            assert (done["encoding"], done["separator"], done["fraction"]) == ("cp1252", ";", 1.0)
            assert done["total_spend_cents"] == 100_000 + 300_000 + 50_050 + 200_000 + 150
            assert done["years"] == [2010, 2011, 2012]
            report_of_faults = {(f["line"], f["column"], f["reason"]) for f in done["first_rejections"]}
            assert report_of_faults == {(6, "SIRET fournisseur", "siret_malformed"), (7, "Montant", "amount_not_a_number"),
                                        (8, "Montant", "amount_negative"), (9, "Montant", "amount_absurd"),
                                        (10, "Date", "date_out_of_range"), (11, "Date", "date_unparsable"),
                                        (12, "Catégorie", "category_missing")}
            r = await p.get(done["links"]["rejections_csv"])
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
            assert rows[0] == ["line", "column", "field", "reason", "message", "value"]
            assert [row[0] for row in rows[1:]] == ["6", "7", "8", "9", "10", "11", "12"]
            assert rows[2][5] == "douze" and rows[3][5] == "'-5"  # a formula-looking value stays text

            # the same file again: refused, naming the import
            again = await p.post(f"/diagnostics/{diagnostic}/imports", files={"file": ("copy.csv", content)})
            assert again.status_code == 409 and done["import_id"] in again.json()["detail"]

            # an XLSX (a second file, another year's spend)
            wb = Workbook()
            wb.active.append(["N° SIRET", "Montant HT", "Famille d'achat", "Date de paiement"])
            wb.active.append([int(ess_siret), 250.25, "Nettoyage des locaux", date(2012, 5, 4)])
            wb.active.append([other_b, "4 000,00", "Travaux de voirie", "04/05/2012"])
            wb.active.append(["pas un siret", 1, "Travaux de voirie", "04/05/2012"])
            out = io.BytesIO()
            wb.save(out)
            r = await p.post(f"/diagnostics/{diagnostic}/imports", files={"file": ("achats.xlsx", out.getvalue())})
            assert r.status_code == 202, r.text
            xlsx_done = await finished(p, r.headers["Location"])
            assert (xlsx_done["state"], xlsx_done["file_format"]) == ("completed", "xlsx")
            assert (xlsx_done["lines_imported"], xlsx_done["lines_rejected"]) == (2, 1)

            # the report, against a hand count
            r = await p.get(f"/diagnostics/{diagnostic}/report")
            assert r.status_code == 200, r.text
            report = r.json()
            total = 100_000 + 300_000 + 50_050 + 200_000 + 150 + 25_025 + 400_000
            ess = 100_000 + 50_050 + 25_025
            t = report["totals"]
            assert (t["total_spend_cents"], t["ess_spend_cents"]) == (total, ess)
            assert t["ess_share_percent"] == round(ess * 100 / total, 2)
            assert (t["siret_matched_spend_cents"], t["siren_matched_spend_cents"]) == (125_025, 50_050)
            assert (t["suppliers"], t["ess_suppliers"], t["lines"], t["years"]) == (4, 2, 7, [2010, 2011, 2012])
            assert sorted(report["import_ids"]) == sorted([done["import_id"], xlsx_done["import_id"]])
            by_year = {y["year"]: (y["total_spend_cents"], y["ess_spend_cents"]) for y in report["by_year"]}
            assert by_year == {2010: (400_000, 100_000), 2011: (250_050, 50_050), 2012: (425_175, 25_025)}
            by_category = {c["category"]: c["ess_share_percent"] for c in report["by_category"]}
            assert by_category["Nettoyage des locaux"] == round(125_025 * 100 / 425_025, 2)
            assert [s["organisation_id"] for s in report["top_ess_suppliers"]] == [recyclerie, traiteur]
            potential = {c["category"]: c for c in report["potential"]}
            assert potential["Nettoyage des locaux"]["eligible_suppliers"] == 1
            assert potential["Nettoyage des locaux"]["recommendation"]["kind"] == "social_clause"
            assert potential["Restauration <b>scolaire</b>"]["eligible_suppliers"] == 1  # serves 93 from Paris
            assert potential["Travaux de voirie"]["recommendation"]["kind"] == "social_award_criterion"

            page = await p.get(f"/diagnostics/{diagnostic}/report.html")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert "<svg" in page.text and "<script" not in page.text and "http://" not in page.text.replace(
                'xmlns="http://www.w3.org/2000/svg"', "")
            assert "Restauration &lt;b&gt;scolaire&lt;/b&gt;" in page.text and "<b>scolaire" not in page.text
            assert "Recyclerie &lt;du&gt; Val" in page.text
            sheet = await p.get(f"/diagnostics/{diagnostic}/report.xlsx")
            assert sheet.status_code == 200
            workbook = load_workbook(io.BytesIO(sheet.content))
            assert workbook.sheetnames == ["Summary", "By year", "By category", "Top ESS suppliers", "Potential"]
            years_sheet = list(workbook["By year"].iter_rows(values_only=True))
            assert years_sheet[1][:3] == (2010, 4000.0, 1000.0) and isinstance(years_sheet[1][3], float)

            # closing, then no more imports
            r = await p.post(f"/diagnostics/{diagnostic}/closing")
            assert r.status_code == 200 and r.json()["status"] == "closed"
            late = await p.post(f"/diagnostics/{diagnostic}/imports", files={"file": ("x.csv", b"SIRET;Montant;"
                                                                                      b"Categorie;Date\n1;1;1;1\n")})
            assert late.status_code == 409

        events = await read_topic(settings, TOPIC, lambda rec: rec.key == diagnostic.encode(), count=8)
        types = [dict(e.headers)["ce_type"].decode().split(".")[3] for e in events]
        assert types == ["diagnostic-opened", "spend-import-started", "spend-file-imported",
                         "diagnostic-report-computed", "spend-import-started", "spend-file-imported",
                         "diagnostic-report-computed", "diagnostic-closed"]
        assert all(ess_siret.encode() not in e.value for e in events)  # no line of a file in an event
        async with client_of(app, settings, "reader") as reader:
            assert (await reader.get(f"/diagnostics/{diagnostic}/report")).status_code == 200
            assert (await reader.post("/diagnostics", json={"buyer_id": buyer})).status_code == 403


def big_csv(lines: int) -> bytes:
    siret = with_check_digit("4000000000001")
    return ("SIRET;Montant;Catégorie;Date\n" + f"{siret};12,50;Nettoyage;2011-01-01\n" * lines).encode()


async def test_hostile_uploads_get_a_clear_4xx(infrastructure):
    settings = service_settings(infrastructure, "procurement")
    async with serving("procurement", settings) as app:
        async with client_of(app, settings, "staff:procurement") as p:
            diagnostic = (await p.post("/diagnostics", json={"buyer_id": await add_buyer(p)})).json()["id"]
            url = f"/diagnostics/{diagnostic}/imports"
            for content, words in [(b"", "empty"), ("SIRET fournisseur;Montant;Catégorie;Date\r\n".encode(),
                                                    "no data line"),
                                   (bytes(range(256)) * 64, "binary"), (b"PK\x03\x04" + b"\x00" * 300, "spreadsheet"),
                                   (big_csv(100_001), "100,000")]:
                r = await p.post(url, files={"file": ("f.csv", content)})
                assert r.status_code == 422, (words, r.status_code, r.text)
                assert fields(r) == ["file"] and words in r.json()["detail"], r.text
            r = await p.post(url, content=b"x" * 10, headers={"Content-Length": str(2 * 1024**3),
                                                              "Content-Type": "multipart/form-data; boundary=x"})
            assert r.status_code == 413 and "bytes" in r.json()["detail"]
            r = await p.post(url, json={"file": "SIRET;Montant"})
            assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"
            r = await p.post(url, content=b"--x\r\ngarbage", headers={"Content-Type": "multipart/form-data; boundary=x"})
            assert 400 <= r.status_code < 500
            assert (await p.post("/diagnostics/diag-nope/imports", files={"file": ("f.csv", big_csv(1))})).status_code \
                == 404
            assert (await p.get(f"{url}/imp-nope")).status_code == 404
            assert (await p.get(f"/diagnostics/{diagnostic}/report")).status_code == 404  # nothing imported yet
            assert (await p.post(f"/diagnostics/{diagnostic}/report/computation")).status_code == 409
            # the JSON endpoints keep the service's 1 MiB limit
            r = await p.post("/diagnostics", content=b"{" + b" " * 2_000_000 + b"}",
                             headers={"Content-Type": "application/json"})
            assert r.status_code == 413
            # exactly the limit is fine
            r = await p.post(url, files={"file": ("f.csv", big_csv(100_000))})
            assert r.status_code == 202, r.text
            done = await finished(p, r.headers["Location"], timeout=120)
            assert (done["state"], done["lines_imported"]) == ("completed", 100_000)


async def test_an_import_whose_process_died_is_failed_and_never_counts(infrastructure):
    settings = service_settings(infrastructure, "procurement")
    async with serving("procurement", settings) as app:
        db = app.state.platform.db
        svc = app.state.platform.commands.diagnostics
        async with client_of(app, settings, "staff:procurement") as p:
            diagnostic = (await p.post("/diagnostics", json={"buyer_id": await add_buyer(p)})).json()["id"]
            killed: list[str] = []

            def die_after_the_first_chunks(doc):  # the process "dies" once part of the file is stored
                if not killed:
                    killed.append(doc["_id"])
                    svc.running[doc["_id"]].cancel()

            doc = await svc.start_import(diagnostic, big_csv(20_000), file_name="big.csv",
                                         progress=die_after_the_first_chunks)
            await svc.wait(doc["_id"])
            stuck = await db["diagnostic_imports"].find_one({"_id": doc["_id"]})
            assert stuck["state"] == "running" and 0 < stuck["lines_read"] < 20_000
            assert await db["diagnostic_spend"].count_documents({"import_id": doc["_id"]}) > 0
            assert (await p.get(f"/diagnostics/{diagnostic}/report")).status_code == 404
            await db["diagnostic_imports"].update_one({"_id": doc["_id"]},
                                                      {"$set": {"heartbeat_at": "2010-01-01T00:00:00Z"}})
            assert await svc.reap_stale_imports() == 1
            assert await svc.reap_stale_imports() == 0
            failed = (await p.get(f"/diagnostics/{diagnostic}/imports/{doc['_id']}")).json()
            assert failed["state"] == "failed" and "abandoned" in failed["error"]
            assert await db["diagnostic_spend"].count_documents({"import_id": doc["_id"]}) == 0
            # the same file can be imported again, and counts once
            r = await p.post(f"/diagnostics/{diagnostic}/imports", files={"file": ("big.csv", big_csv(20_000))})
            assert r.status_code == 202, r.text
            assert (await finished(p, r.headers["Location"]))["state"] == "completed"
            report = (await p.get(f"/diagnostics/{diagnostic}/report")).json()
            assert report["totals"]["lines"] == 20_000 and report["totals"]["total_spend_cents"] == 20_000 * 1250
            assert report["import_ids"] == [r.json()["import_id"]]
        events = await read_topic(settings, TOPIC, lambda rec: rec.key == diagnostic.encode(), count=6)
        types = [dict(e.headers)["ce_type"].decode().split(".")[3] for e in events]
        assert types == ["diagnostic-opened", "spend-import-started", "spend-import-failed", "spend-import-started",
                         "spend-file-imported", "diagnostic-report-computed"]
        await asyncio.sleep(0)


async def register_buyer(settings) -> str:
    async with serving("procurement", settings) as app, client_of(app, settings, "staff:procurement") as p:
        return await add_buyer(p)


def test_the_cli_imports_a_file_through_the_same_code(infrastructure, tmp_path):
    import os
    import subprocess
    import sys
    import uuid

    from pymongo import MongoClient

    database = f"t_proc_cli_{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "MONGODB_URI": infrastructure.mongodb_uri, "MONGODB_DATABASE": database,
           "SERVICE_NAME": "procurement", "LOG_LEVEL": "WARNING"}
    client = MongoClient(infrastructure.mongodb_uri)
    try:
        # the buyer through the API, the service on the same database then stopped: the CLI works alone
        buyer = asyncio.run(register_buyer(service_settings(infrastructure, "procurement", mongodb_database=database)))

        def cli(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "services.procurement.diagnostics_cli", *args], env=env,
                                  capture_output=True, text=True, timeout=180)

        opened = cli("open", "--buyer", buyer)
        assert opened.returncode == 0, opened.stderr
        diagnostic = opened.stdout.strip()
        assert diagnostic.startswith("diag-")
        spend = tmp_path / "achats.csv"
        spend.write_bytes(big_csv(3_000) + b"12345;1;x;2011-01-01\n")
        done = cli("import", "--diagnostic", diagnostic, str(spend))
        assert done.returncode == 0, done.stderr
        assert "3,000 imported, 1 rejected" in done.stdout
        assert client[database]["diagnostic_reports"].find_one({"_id": diagnostic})["totals"]["lines"] == 3_000
        assert client[database]["outbox"].count_documents({}) >= 4  # opened, started, imported, report: to publish
        again = cli("import", "--diagnostic", diagnostic, str(spend))
        assert again.returncode == 2 and "already imported" in again.stderr
        assert cli("import", "--diagnostic", "diag-nope", str(spend)).returncode == 2
    finally:
        client.drop_database(database)
        client.close()
