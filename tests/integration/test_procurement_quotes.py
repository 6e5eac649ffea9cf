"""Prom'ESS Europe quotes through the procurement API, with membership running beside it on the real
broker and database: the 20 % member discount decided from membership's events as of the quote's
date, sending, acceptance, refusal, expiry by the job, the printable quote, bad input.

Dates. A quote's date is today (the server's): the member must be in good standing *today*. It is
made an active member on 2014-01-11 (``active_member(on="2014-01-10")``) and its lapse is never
recorded (membership records lapses only when its deadlines command runs, in this test's own
membership database), so procurement's copy of membership says "active since 2014-01-11" — in good
standing today. Nothing is dated in the current year: membership's yearly statistics (read from the
shared topics by other tests, e.g. test_membership_api's for 2025–2026) count no member of this
file. The non-member is registered through membership's API (POST /organisations), never admitted.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from runtime.mongo import utcnow
from services.procurement.bootstrap import SERVICE
from tests.integration.conftest import (active_member, client_of, eventually, fields, read_topic, service_settings,
                                        serving, unique_siret)

pytestmark = pytest.mark.integration

HOSTILE = '<img src=x onerror="alert(1)">'


async def _known(p, org: str, *, member: bool) -> bool:
    profile = await p.get(f"/organisations/{org}")
    standing = (await p.get(f"/organisations/{org}/standing")).json()
    return profile.status_code == 200 and standing["in_good_standing"] is member


async def test_quotes_with_and_without_the_member_discount(infrastructure):
    membership_settings = service_settings(infrastructure, "membership")
    settings = service_settings(infrastructure, "procurement")
    async with serving("membership", membership_settings) as membership_app, \
            serving("procurement", settings) as app:
        async with client_of(membership_app, membership_settings) as m, \
                client_of(app, settings, "staff:procurement") as p:
            member = await active_member(m, on="2014-01-10", name="Coopérative Europe Solidaire")
            r = await m.post("/organisations", json={
                "siret": unique_siret(), "name": HOSTILE, "legal_form": "association", "departement": "93",
                "commune": "Montreuil", "sector": "culture", "headcount": 3, "annual_budget_cents": 5_000_000,
                "on": "2014-02-01"})
            assert r.status_code == 201, r.text
            stranger = r.json()["id"]
            await eventually(lambda: _known(p, member, member=True), timeout=60)
            await eventually(lambda: _known(p, stranger, member=False), timeout=60)

            # -- bad input ---------------------------------------------------------------------------------
            r = await p.post("/quotes", json={"organisation_id": "org-nobody", "offer": "application_support",
                                              "amount_cents": 550_000})
            assert r.status_code == 422 and fields(r) == ["organisation_id"]
            r = await p.post("/quotes", json={"organisation_id": member, "offer": "administrative_management",
                                              "amount_cents": 450_000})
            assert r.status_code == 422 and fields(r) == ["amount_cents"]
            assert "500000" in r.json()["detail"] and "700000" in r.json()["detail"]
            for bad, field in ((2**64, "amount_cents"), (-1, "amount_cents"), ("beaucoup", "amount_cents")):
                r = await p.post("/quotes", json={"organisation_id": member, "offer": "application_support",
                                                  "amount_cents": bad})
                assert r.status_code == 422 and field in fields(r), r.text
            r = await p.post("/quotes", json={"organisation_id": member, "offer": "consortium",
                                              "amount_cents": 550_000})
            assert r.status_code == 422 and fields(r) == ["offer"]
            r = await p.post("/quotes", json={"organisation_id": member, "offer": "application_support",
                                              "amount_cents": 550_000, "quoted_on": "2014-01-15"})
            assert r.status_code == 422 and fields(r) == ["quoted_on"], "a client cannot date a quote"

            # -- a member in good standing today: 20 % off, fixed when sent ------------------------------------
            r = await p.post("/quotes", json={"organisation_id": member, "offer": "application_support",
                                              "amount_cents": 550_000, "description": HOSTILE})
            assert r.status_code == 201, r.text
            quote = r.json()
            qid = quote["id"]
            assert (quote["status"], quote["pricing"], quote["price_range"]) == (
                "draft", None, {"min_cents": 400_000, "max_cents": 700_000})
            r = await p.post(f"/quotes/{qid}/acceptance")
            assert r.status_code == 409 and r.json()["current_state"] == "draft"
            assert "send" in r.json()["expected_step"]
            r = await p.patch(f"/quotes/{qid}", json={"amount_cents": 600_000}, headers={"If-Match": '"1"'})
            assert r.status_code == 200 and r.json()["amount_cents"] == 600_000
            r = await p.post(f"/quotes/{qid}/sending", headers={"If-Match": '"2"'})
            assert r.status_code == 200, r.text
            sent = r.json()
            today = sent["quoted_on"]
            assert sent["status"] == "sent" and sent["standing"]["checked_on"] == today
            assert sent["standing"]["in_good_standing"] and sent["standing"]["status"] == "active"
            assert sent["pricing"] == {"amount_cents": 600_000, "discount_applied": True, "discount_rate_bp": 2000,
                                       "discount_cents": 120_000, "net_cents": 480_000, "vat_rate_bp": 2000,
                                       "vat_cents": 96_000, "total_incl_vat_cents": 576_000}
            r = await p.post(f"/quotes/{qid}/sending")
            assert r.status_code == 409 and r.json()["current_state"] == "sent"
            r = await p.patch(f"/quotes/{qid}", json={"amount_cents": 400_000})
            assert r.status_code == 409
            r = await p.post(f"/quotes/{qid}/acceptance")
            assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["accepted_on"] == today

            page = await p.get(f"/quotes/{qid}.html")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert "default-src 'none'" in page.headers["content-security-policy"]
            assert "Coopérative Europe Solidaire" in page.text and "Remise adhérent (20\u00a0%)" in page.text
            assert "5\u202f760,00\u00a0€" in page.text and "onerror=\"alert" not in page.text
            assert "&lt;img" in page.text and "<script" not in page.text

            # -- an organisation that is not a member: full price ----------------------------------------------
            r = await p.post("/quotes", json={"organisation_id": stranger, "offer": "administrative_management",
                                              "amount_cents": 500_000})
            other = r.json()["id"]
            r = await p.post(f"/quotes/{other}/sending")
            assert r.status_code == 200
            priced = r.json()
            assert not priced["standing"]["in_good_standing"] and priced["standing"]["status"] is None
            assert (priced["pricing"]["discount_applied"], priced["pricing"]["discount_cents"],
                    priced["pricing"]["total_incl_vat_cents"]) == (False, 0, 600_000)
            r = await p.post(f"/quotes/{other}/decline", json={"reason": "Budget 2015 non voté"})
            assert r.status_code == 200 and r.json()["status"] == "declined"
            assert (await p.post(f"/quotes/{other}/acceptance")).status_code == 409
            page = await p.get(f"/quotes/{other}.html")
            assert "Sans remise adhérent" in page.text and HOSTILE not in page.text and "&lt;img" in page.text

            # -- a sent quote nobody answered expires, by the job ------------------------------------------------
            r = await p.post("/quotes", json={"organisation_id": member, "offer": "application_support",
                                              "amount_cents": 400_000})
            late = r.json()["id"]
            assert (await p.post(f"/quotes/{late}/sending")).status_code == 200
            platform = app.state.platform
            job = next(j for j in SERVICE.jobs if j.name == "expire-quotes")
            assert await job.run(platform) == 0, "not yet: the quote is valid 30 days"
            quotes = platform.commands.quotes
            quotes.clock = lambda: utcnow() + timedelta(days=31)
            try:
                assert await job.run(platform) == 1
                assert await job.run(platform) == 0, "expired once"
            finally:
                quotes.clock = utcnow
            assert (await p.get(f"/quotes/{late}")).json()["status"] == "expired"
            assert (await p.get(f"/quotes/{qid}")).json()["status"] == "accepted", "an accepted quote stays so"
            listed = (await p.get("/quotes", params={"organisation_id": member})).json()
            assert listed["total"] == 2 and {q["status"] for q in listed["items"]} == {"accepted", "expired"}

            # -- the free individual diagnostic ------------------------------------------------------------------
            r = await p.post("/individual-diagnostics", json={"organisation_id": stranger, "held_on": "2014-09-05",
                                                              "outcome_notes": "Contact : M. Martin"})
            assert r.status_code == 201 and r.json()["held_on"] == "2014-09-05"
            diagnostic = r.json()["id"]
            r = await p.post("/individual-diagnostics", json={"organisation_id": stranger, "held_on": "2199-12-31"})
            assert r.status_code == 422 and fields(r) == ["held_on"]
            r = await p.post("/individual-diagnostics", json={"organisation_id": "org-nobody"})
            assert r.status_code == 422 and fields(r) == ["organisation_id"]

            # -- the events: what the observatory counts, and no free text ---------------------------------------
            mine = {qid, other, late, diagnostic}
            records = await read_topic(settings, "procurement.quote", lambda rec: rec.key.decode() in mine, count=13)
            by_type: dict[str, list[dict]] = {}
            for rec in records:
                by_type.setdefault(dict(rec.headers)["ce_type"].decode().split(".")[3], []).append(
                    json.loads(rec.value))
            assert {t: len(v) for t, v in by_type.items()} == {
                "quote-drafted": 3, "quote-revised": 1, "quote-sent": 3, "quote-accepted": 1, "quote-declined": 1,
                "quote-expired": 1, "individual-diagnostic-held": 1}
            sent_events = {e["quote_id"]: e for e in by_type["quote-sent"]}
            assert sent_events[qid]["discount_applied"] and sent_events[qid]["member_status"] == "active"
            assert sent_events[qid]["quoted_on"] == today and sent_events[qid]["total_incl_vat_cents"] == 576_000
            assert not sent_events[other]["discount_applied"] and not sent_events[other]["member_in_good_standing"]
            accepted = by_type["quote-accepted"][0]
            assert (accepted["quote_id"], accepted["offer"], accepted["net_cents"]) == (qid, "application_support",
                                                                                       480_000)
            text = json.dumps(by_type)
            assert "onerror" not in text and "Martin" not in text and "Budget" not in text

        async with client_of(app, settings, "reader") as reader:
            assert (await reader.get(f"/quotes/{qid}")).status_code == 200
            assert (await reader.get(f"/quotes/{qid}.html")).status_code == 200
            assert (await reader.post(f"/quotes/{qid}/acceptance")).status_code == 403
        async with client_of(app, settings, "staff:procurement") as p:
            assert (await p.get("/quotes/quo-nobody.html")).status_code == 404
            assert (await p.get("/quotes/quo-nobody")).status_code == 404
