"""The activity report's web page in a real headless browser (Debian's chromium driven by
Playwright), its charts, map and exports — on the real broker and database: membership and
observatory served side by side, members driven through membership's API in 2030 (a year no other
test dates events in), the observatory served over HTTP on 127.0.0.1 for the browser.

The page must draw its charts and map from assets the service serves itself: any request leaving
127.0.0.1, any failed request, any console error (a CSP violation is one) fails the test. A
screenshot is kept under ``test-artifacts/`` (gitignored); its path is printed.

The browser is /usr/bin/chromium (``make install`` installs it where it is missing): no skip.
"""
from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import shutil
import socket
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
import uvicorn
from playwright.async_api import async_playwright

from runtime.auth import issue_token
from services.observatory.entrypoints.exports import CSV_HEADERS
from tests.integration.conftest import active_member, client_of, eventually, service_settings, serving

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("CRESS_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NNBSP = "\u202f"


@asynccontextmanager
async def over_http(application):
    """``application`` (its lifespan already running) served by uvicorn on 127.0.0.1, for a browser."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, timeout=20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def chromium():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make install` installs it (apt-get install chromium)"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


class Watched:
    """A page whose console errors, uncaught exceptions, failed requests and requests to anywhere
    but ``base`` are recorded."""

    def __init__(self, page, base: str) -> None:
        self.page, self.errors, self.failed, self.outside, self.requests = page, [], [], [], []
        host = urlsplit(base).netloc
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))

        def seen(request) -> None:
            self.requests.append(request.url)
            if request.url.startswith(("data:", "blob:", "about:")):
                return
            if urlsplit(request.url).netloc != host:
                self.outside.append(request.url)
        page.on("request", seen)

    async def route_outside_away(self) -> None:
        async def refuse(route):  # nothing may leave 127.0.0.1: abort it (and the listener records it)
            await route.abort()
        await self.page.route(re.compile(r"^(?!http://127\.0\.0\.1:)(?!data:)(?!blob:).*"), refuse)

    def assert_clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.failed, self.failed
        assert not self.outside, f"requests left 127.0.0.1: {self.outside}"


async def _activity_2030(m) -> dict[str, str]:
    orgs = {
        "montreuil": await active_member(m, on="2030-02-01", departement="93", commune="Montreuil"),
        "montreuil2": await active_member(m, on="2030-03-10", departement="93", commune="Montreuil"),
        "paris": await active_member(m, on="2030-04-15", departement="75", commune="Paris"),
        "meaux": await active_member(m, on="2030-09-01", departement="77", commune="Meaux"),
    }
    member = (await m.get(f"/members/{orgs['paris']}")).json()
    amount = next(inv["amount_cents"] for inv in member["invoices"] if inv["year"] == 2030)
    r = await m.post(f"/members/{orgs['paris']}/payments", json={"year": 2030, "amount_cents": amount,
                                                               "on": "2030-05-02"})
    assert r.status_code == 201, r.text
    r = await m.post(f"/members/{orgs['montreuil2']}/withdrawal", json={"reason": "resignation", "on": "2030-10-20"})
    assert r.status_code == 200, r.text
    return orgs


def _figures(report: dict) -> dict:
    return {f["indicator"]: f for t in report["teams"] for f in t["figures"]}


async def test_the_page_draws_the_report_with_its_charts_and_map_in_a_real_browser(infrastructure):
    ms, os_ = service_settings(infrastructure, "membership"), service_settings(infrastructure, "observatory")
    async with serving("membership", ms) as membership_app, serving("observatory", os_) as observatory_app:
        async with client_of(membership_app, ms) as m, client_of(observatory_app, os_, "reader") as o:
            async def counts(day: str, level: str) -> dict:
                r = await o.get("/reports/2030/territories", params={"as_of": day, "level": level})
                assert r.status_code == 200, r.text
                return {c["code"]: c for c in r.json()}
            await _activity_2030(m)

            def added(before: dict, after: dict, code: str, what: str) -> int:  # others' structures cancel out
                return after.get(code, {}).get(what, 0) - before.get(code, {}).get(what, 0)

            async def caught_up():  # the ledger (report) and the organisations' read model (map) both
                f = _figures((await o.get("/reports/2030", params={"as_of": "2030-12-31"})).json())
                before, after = await counts("2029-12-31", "commune"), await counts("2030-12-31", "commune")
                return f["new_members"]["value"] == 4 and f["withdrawals"]["value"] == 1 \
                    and f["dues_collected_cents"]["value"] > 0 \
                    and [added(before, after, code, what) for code, what in (
                        ("93048", "structures"), ("93048", "members"), ("75056", "members"), ("77284", "members"))] \
                    == [2, 1, 1, 1] and (before, after)  # Montreuil: two joined, one left in October
            before, after = await eventually(caught_up, timeout=90)
            assert after["77284"]["lat"] > 48.9 and after["77284"]["departement"] == "77"
            mid = await counts("2030-06-30", "commune")
            assert mid.get("77284", {}).get("structures", 0) == before.get("77284", {}).get("structures", 0), \
                "Meaux joined in September: not on the map of June"
            deps_before, deps = await counts("2029-12-31", "departement"), await counts("2030-12-31", "departement")
            assert deps["93"]["structures"] - deps_before.get("93", {}).get("structures", 0) == 2
            assert deps["93"]["name"] == "Seine-Saint-Denis"

            charts = (await o.get("/reports/2030/charts", params={"as_of": "2030-12-31"})).json()
            by_name = {c["name"]: c for c in charts["charts"]}
            assert set(by_name) == {"members_over_time", "dues", "events_by_kind", "business_conventions",
                                    "map_structures", "map_members"}
            months = by_name["members_over_time"]["spec"]["data"]["values"]
            assert [v["label"] for v in months][:3] == ["2029", "janv.", "févr."] and len(months) == 13
            assert months[-1]["members"] - months[0]["members"] == 3, "4 joined, 1 withdrew in 2030"
            assert months[2]["members"] - months[0]["members"] == 1, "one member by the end of February"
            shapes = by_name["map_members"]["spec"]["layer"][0]["data"]["values"]
            assert sorted(f["properties"]["code"] for f in shapes) == ["75", "77", "78", "91", "92", "93", "94", "95"]
            geojson = await o.get("/maps/departements.geojson", params={"region": "11"})
            assert geojson.headers["content-type"].startswith("application/geo+json")
            assert len(geojson.json()["features"]) == 8
            assert (await o.get("/maps/departements.geojson", params={"region": "99"})).status_code == 404
        async with client_of(observatory_app, os_, "staff:observatory") as staff:
            r = await staff.post("/objectives", json={"code": "1.2", "title": "Renforcer la vie associative",
                                                      "team": "membership", "target_year": 2030,
                                                      "adopted_on": "2026-01-15", "status": "atteint"})
            assert r.status_code == 201, r.text

        token = issue_token(os_, "page-test", ["reader"])
        async with over_http(observatory_app) as base, chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
            watched = Watched(page, base)
            await watched.route_outside_away()
            response = await page.goto(f"{base}/reports/2030/page?as_of=2030-12-31#token={token}")
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "unsafe-inline" not in csp
            await page.wait_for_selector("main[data-state]", timeout=60_000)
            state = await page.get_attribute("main", "data-state")
            assert state == "ready", (await page.inner_text("#message"), watched.errors)
            await page.wait_for_selector("main[data-charts=drawn]", timeout=30_000)

            assert "token=" not in page.url, "the token leaves the address bar"
            for chart in ("members_over_time", "dues", "events_by_kind", "business_conventions", "map_structures",
                          "map_members"):
                assert await page.locator(f'figure[data-chart="{chart}"][data-drawn=true] svg').count() >= 1, chart
            # the map: the 8 départements are drawn as paths, the communes as circles (symbol paths too)
            departements = await page.locator('figure[data-chart="map_members"] g.mark-shape path').count()
            assert departements == 8, departements
            circles = await page.locator('figure[data-chart="map_members"] g.mark-symbol path').count()
            assert circles >= 3
            text = await page.inner_text("body")
            for french in ("Rapport d'activité 2030", "Vie interne", "Adhérent·e·s en fin d'année",
                           "Cotisations encaissées", "Carte de la région", "Adhérent·e·s à jour de cotisation",
                           "Chiffres au 31 décembre 2030", "Objectifs du plan stratégique",
                           "Renforcer la vie associative", "ATTEINT"):
                assert french in text, french
            svg_text = await page.inner_text('figure[data-chart="map_members"]')
            assert "Par département" in svg_text and "Par commune" in svg_text, "the map has a legend"
            dues = await page.locator("tr", has=page.locator("td.label", has_text=re.compile(
                r"^Cotisations encaissées$"))).locator("td.value").inner_text()
            assert re.fullmatch(r"[\d\u202f\u00a0 ]+\u00a0€", dues), repr(dues)  # French: 1 234 €
            # a figure's source is one click away
            row = page.locator("tr", has=page.locator("td.label", has_text=re.compile(r"^Nouvelles adhésions$")))
            await row.locator("summary").click()
            assert "member-activated" in await row.locator("details").inner_text()

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "observatory-page-2030.png"
            await page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the report page: {shot}")
            watched.assert_clean()
            assert any("/static/observatory/vega.min.js" in u for u in watched.requests)


async def test_the_page_says_in_french_when_the_token_is_missing_or_refused(infrastructure):
    os_ = service_settings(infrastructure, "observatory")
    async with serving("observatory", os_) as observatory_app:
        async with over_http(observatory_app) as base, chromium() as browser:
            cases = {"": "il faut un jeton d'accès",
                     "#token=not-a-token": "Jeton d'accès refusé : il est invalide ou a expiré",
                     f"#token={issue_token(os_, 'x', ['staff:events'])}": "il faut le rôle « reader »"}
            for fragment, expected in cases.items():
                page = await browser.new_page()
                watched = Watched(page, base)
                await page.goto(f"{base}/reports/2031/page{fragment}")
                alert = page.locator("#message")
                await alert.wait_for(state="visible", timeout=30_000)
                assert expected in await alert.inner_text()
                assert await page.locator("#token-form").is_visible()
                assert await page.locator("figure[data-drawn]").count() == 0
                # failed API calls (401/403) are answers, not failed requests; nothing else may fail
                watched.errors = [e for e in watched.errors if "401" not in e and "403" not in e]
                watched.assert_clean()
                await page.close()
        # the shell and its files are public and hold no data; anything else is not served
        async with client_of(observatory_app, os_) as anyone:
            anyone.headers.pop("Authorization")
            shell = await anyone.get("/reports/2031/page")
            assert shell.status_code == 200 and "<script>" not in shell.text and "Rapport d'activité 2031" in shell.text
            assert (await anyone.get("/static/observatory/vega.min.js")).headers["content-type"].startswith(
                "text/javascript")
            assert (await anyone.get("/static/observatory/..%2Fpage.py")).status_code == 404
            assert (await anyone.get("/static/observatory/page.py")).status_code == 404
            assert (await anyone.get("/reports/2031/charts")).status_code == 401
            assert (await anyone.get("/reports/2031/export", params={"format": "csv"})).status_code == 401
            assert (await anyone.get("/reports/99999/page")).status_code == 422


async def test_the_report_exports_as_csv_xlsx_and_pdf(infrastructure):
    ms, os_ = service_settings(infrastructure, "membership"), service_settings(infrastructure, "observatory")
    async with serving("membership", ms) as membership_app, serving("observatory", os_) as observatory_app:
        async with client_of(membership_app, ms) as m, client_of(observatory_app, os_, "staff:observatory") as o:
            await active_member(m, on="2031-03-01", departement="95", commune="Cergy")
            await active_member(m, on="2031-04-01", departement="95", commune="Cergy")

            async def caught_up():
                r = await o.get("/reports/2031", params={"as_of": "2031-12-31"})
                return _figures(r.json())["new_members"]["value"] == 2
            await eventually(caught_up, timeout=90)
            r = await o.post("/objectives", json={"code": "3.1", "title": "Cartographier l'ESS francilienne",
                                                  "team": "observatory", "target_year": 2031})
            assert r.status_code == 201, r.text
            r = await o.post("/facts", json={"team": "education", "indicator": "school_sessions", "value": 12.5,
                                             "unit": "séances", "year": 2026, "source": "Bilan école"})
            assert r.status_code == 201, r.text

            r = await o.get("/reports/2031/export", params={"format": "csv", "as_of": "2031-12-31"})
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            assert r.headers["content-disposition"] == 'attachment; filename="rapport-activite-2031.csv"'
            assert r.content.startswith(b"\xef\xbb\xbf"), "a BOM, for Excel"
            lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
            assert tuple(lines[0]) == CSV_HEADERS
            rows = {line[1]: line for line in lines[1:]}
            assert rows["new_members"][0] == "Vie interne" and rows["new_members"][3] == "2"
            assert rows["new_members"][5].startswith("2 événement(s)") and "member-activated" in rows["new_members"][5]
            assert rows["dues_invoiced_cents"][4] == "€" and rows["new_members"][6] == "non"

            recorded = (await o.get("/reports/2026/export", params={"format": "csv"})).content.decode("utf-8-sig")
            fact = next(line for line in csv.reader(io.StringIO(recorded), delimiter=";")
                        if line[1] == "school_sessions")
            assert fact[0] == "Éducation" and fact[3] == "12,5" and fact[6] == "oui" and "Bilan école" in fact[5]

            r = await o.get("/reports/2031/export", params={"format": "xlsx", "as_of": "2031-06-30"})
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
            assert 'filename="rapport-activite-2031-au-2031-06-30.xlsx"' in r.headers["content-disposition"]
            book = openpyxl.load_workbook(io.BytesIO(r.content))
            assert book.sheetnames == ["Rapport", "Objectifs"]
            sheet = book["Rapport"]
            assert "Rapport d'activité 2031" in sheet["A1"].value
            header = [c.value for c in sheet[3]]
            assert tuple(header) == CSV_HEADERS
            found = {row[1]: row for row in sheet.iter_rows(min_row=4, values_only=True)}
            assert found["new_members"][3] == 2 and isinstance(found["dues_invoiced_cents"][3], (int, float))
            goals = list(book["Objectifs"].iter_rows(min_row=2, values_only=True))
            assert any(g[0] == "3.1" and g[4] == "EN COURS" for g in goals)

            r = await o.get("/reports/2031/export", params={"format": "pdf", "as_of": "2031-12-31"})
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
            assert r.headers["content-disposition"] == 'attachment; filename="rapport-activite-2031.pdf"'
            assert r.content.startswith(b"%PDF-")
            assert r.content.rstrip().endswith(b"%%EOF")
            if shutil.which("pdftotext"):  # poppler-utils; else the header and trailer above are all we check
                text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=r.content, capture_output=True,
                                      check=True).stdout.decode()
                pages = text.count("\f")
                assert 2 <= pages <= 12, pages
                for french in ("Rapport d'activité 2031", "Vie interne", "Nouvelles adhésions",
                               "Objectifs du plan stratégique", "Cartographier", "Carte de la région",
                               "Adhérent·e·s à jour de cotisation", "page 1 / "):
                    assert french in text, french

            assert (await o.get("/reports/2031/export", params={"format": "docx"})).status_code == 422
        async with client_of(observatory_app, os_, "staff:events") as other:
            assert (await other.get("/reports/2031/export", params={"format": "csv"})).status_code == 403
