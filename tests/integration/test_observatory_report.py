"""The observatory's activity report, live from membership's events — on the real broker and
database: membership and observatory served side by side, members driven through membership's API
in 2001–2002 (years no other test dates events in), the report for 2001 and 2002 and as of mid-2002,
recorded facts and objectives, roles and bad input.

Stocks (members at year end) also count members other tests made before 2001: they are checked
against the previous year end the report gives, year-scoped figures exactly."""
from __future__ import annotations

import pytest

from tests.integration.conftest import active_member, client_of, eventually, fields, service_settings, serving

pytestmark = pytest.mark.integration


def _figures(report: dict, team: str = "membership") -> dict:
    return {f["indicator"]: f for t in report["teams"] if t["team"] == team for f in t["figures"]}


async def _dues(m, org: str, year: int) -> int:
    member = (await m.get(f"/members/{org}")).json()
    return next(inv["amount_cents"] for inv in member["invoices"] if inv["year"] == year)


async def test_the_membership_report_as_of_any_date(infrastructure):
    ms, os_ = service_settings(infrastructure, "membership"), service_settings(infrastructure, "observatory")
    async with serving("membership", ms) as membership_app, serving("observatory", os_) as observatory_app:
        async with client_of(membership_app, ms) as m, \
                client_of(observatory_app, os_, "staff:observatory") as o:
            a = await active_member(m, on="2001-03-01")
            b = await active_member(m, on="2001-05-01")
            e = await active_member(m, on="2001-09-01")
            dues = {org: await _dues(m, org, 2001) for org in (a, b, e)}
            for org, day in ((a, "2001-04-01"), (b, "2001-05-20")):
                r = await m.post(f"/members/{org}/payments", json={"year": 2001, "amount_cents": dues[org], "on": day})
                assert r.status_code == 201, r.text
            assert (await m.post("/dues/deadlines", json={"on": "2002-02-01"})).status_code == 200  # e lapses
            r = await m.post(f"/members/{b}/withdrawal", json={"reason": "resignation", "on": "2002-03-15"})
            assert r.status_code == 200, r.text
            c = await active_member(m, on="2002-04-01")
            dues[c] = await _dues(m, c, 2002)
            r = await m.post(f"/members/{c}/payments", json={"year": 2002, "amount_cents": dues[c], "on": "2002-04-10"})
            assert r.status_code == 201, r.text
            d = await active_member(m, on="2002-09-01")
            dues[d] = await _dues(m, d, 2002)

            async def report(year: int, **params) -> dict | None:
                r = await o.get(f"/reports/{year}", params=params)
                assert r.status_code == 200, r.text
                return r.json()

            async def caught_up():
                r01, r02, mid = await report(2001), await report(2002), await report(2002, as_of="2002-06-30")
                f01, f02, fm = _figures(r01), _figures(r02), _figures(mid)
                ok = (f01["new_members"]["value"] == 3 and f02["new_members"]["value"] == 2
                      and f02["withdrawals"]["value"] == 1 and f02["lapses"]["value"] == 1
                      and f02["dues_invoiced_cents"]["value"] == dues[c] + dues[d]
                      and f01["dues_collected_cents"]["value"] == dues[a] + dues[b]
                      and f02["dues_collected_cents"]["value"] == dues[c]
                      and f01["members_at_year_end"]["value"] == f01["members_previous_year_end"]["value"] + 3)
                return ok and (f01, f02, fm)

            f01, f02, fm = await eventually(caught_up, timeout=90)
            base = f01["members_previous_year_end"]["value"]  # members other tests made before 2001
            assert f01["withdrawals"]["value"] == 0 and f01["lapses"]["value"] == 0
            assert f01["dues_invoiced_cents"]["value"] == dues[a] + dues[b] + dues[e]
            assert f01["dues_collected_cents"]["value"] == dues[a] + dues[b]
            assert f01["dues_from_new_members_share_percent"]["value"] == 100.0
            assert f01["new_members"]["source"] == {
                "kind": "events", "event_types": ["org.cress.membership.member-activated.v1"], "events": 3,
                "fact_id": None, "detail": "adhésions ayant débuté dans l'année", "recorded_on": None}
            # 2002: a, c, d at the end (b withdrew, e lapsed)
            assert f02["members_previous_year_end"]["value"] == base + 3
            assert f02["members_at_year_end"]["value"] == base + 3
            assert f02["dues_collected_cents"]["value"] == dues[c]
            assert f02["dues_from_new_members_cents"]["value"] == dues[c] + dues[d]
            # as of 30 June 2002: a and c only; d had not joined
            assert fm["members_at_year_end"]["value"] == base + 2
            assert fm["new_members"]["value"] == 1 and fm["withdrawals"]["value"] == 1
            assert fm["dues_invoiced_cents"]["value"] == dues[c]
            expected_growth = round(-100 / (base + 3), 1)
            assert abs(fm["members_growth_percent"]["value"] - expected_growth) <= 0.05

            # -- recorded facts ------------------------------------------------------------------
            body = {"team": "education", "indicator": "school_sessions", "value": 42, "unit": "séances",
                    "year": 2002, "source": "Bilan du programme école 2002"}
            r = await o.post("/facts", json=body)
            assert r.status_code == 201, r.text
            fact = r.json()
            r = await o.post(f"/facts/{fact['id']}/corrections", json={"value": 45, "reason": "décembre oublié"},
                             headers={"If-Match": r.headers["ETag"]})
            assert r.status_code == 200 and r.json()["value"] == 45 and len(r.json()["history"]) == 2
            recorded = _figures(await report(2002), "education")["school_sessions"]
            assert recorded["recorded"] is True and recorded["value"] == 45
            assert recorded["source"]["kind"] == "recorded" and recorded["source"]["fact_id"] == fact["id"]
            assert "school_sessions" not in _figures(await report(2002, as_of="2002-06-30"), "education")
            other = (await o.post("/facts", json={**body, "indicator": "interviews", "value": 25})).json()
            r = await o.post(f"/facts/{other['id']}/withdrawal", json={"reason": "doublon"})
            assert r.status_code == 200 and r.json()["withdrawn_on"]
            assert "interviews" not in _figures(await report(2002), "education")
            again = await o.post(f"/facts/{other['id']}/withdrawal", json={"reason": "encore"})
            assert again.status_code == 409

            # -- objectives -----------------------------------------------------------------------
            r = await o.post("/objectives", json={"code": "0.1", "title": "Augmenter le nombre d'adhérent-e-s",
                                                  "team": "membership", "target_year": 2002,
                                                  "adopted_on": "2001-04-15"})
            assert r.status_code == 201, r.text
            objective = r.json()
            r = await o.post(f"/objectives/{objective['id']}/status",
                             json={"status": "partiellement_atteint", "on": "2002-05-01", "comment": "AG"})
            assert r.status_code == 200 and r.json()["status"] == "partiellement_atteint"
            r = await o.post(f"/objectives/{objective['id']}/status", json={"status": "atteint", "on": "2002-12-01"})
            assert r.status_code == 200

            def line(rep):
                return next(x for x in rep["objectives"] if x["objective_id"] == objective["id"])
            assert line(await report(2002, as_of="2002-06-30"))["status_label"] == "PARTIELLEMENT ATTEINT"
            assert line(await report(2002))["status"] == "atteint"
            assert line(await report(2001, as_of="2001-12-31"))["status"] == "en_cours"
            assert all(x["objective_id"] != objective["id"]
                       for x in (await report(2001, as_of="2001-01-01"))["objectives"])

            # -- bad input names the field --------------------------------------------------------
            for bad, field in (({**body, "value": 10 ** 13}, "value"), ({**body, "team": "nobody"}, "team"),
                               ({**body, "indicator": "Not A Code"}, "indicator"),
                               ({**body, "year": 2999}, "year"), ({**body, "year": None}, "year")):
                r = await o.post("/facts", json=bad)
                assert r.status_code == 422 and field in fields(r), (bad, r.text)
            r = await o.post(f"/objectives/{objective['id']}/status", json={"status": "done"})
            assert r.status_code == 422 and "status" in fields(r)
            r = await o.post(f"/objectives/{objective['id']}/status", json={"status": "arrete", "on": "2002-01-01"})
            assert r.status_code == 422 and "on" in fields(r)
            r = await o.get("/reports/2002", params={"as_of": "2002-13-01"})
            assert r.status_code == 422 and "query.as_of" in fields(r)
            assert (await o.get("/reports/99999")).status_code == 422
            assert (await o.get("/facts/fct-nobody")).status_code == 404

        async with client_of(observatory_app, os_, "reader") as reader, \
                client_of(observatory_app, os_, "staff:events") as other_team:
            assert (await reader.get("/reports/2002")).status_code == 200
            assert (await reader.post("/facts", json=body)).status_code == 403
            assert (await other_team.get("/reports/2002")).status_code == 403
            assert (await other_team.post("/objectives", json={"title": "x", "team": "membership",
                                                                "target_year": 2002})).status_code == 403
