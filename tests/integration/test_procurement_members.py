"""Procurement learns ESS organisations and their membership from membership's events only — on
the real broker and database: an organisation's profile, and whether it was a member in good
standing on any date (what a quote's member discount depends on). Dated 2016: projections read
whole shared topics, and other tests count other years."""
from __future__ import annotations

import pytest

from tests.integration.conftest import active_member, client_of, eventually, service_settings, serving

pytestmark = pytest.mark.integration


async def test_organisations_and_standing_on_any_date_come_from_membership_events(infrastructure):
    membership_settings = service_settings(infrastructure, "membership")
    procurement_settings = service_settings(infrastructure, "procurement")
    async with serving("membership", membership_settings) as membership_app, \
            serving("procurement", procurement_settings) as procurement_app:
        async with client_of(membership_app, membership_settings) as m, \
                client_of(procurement_app, procurement_settings, "staff:procurement") as p:
            org = await active_member(m, on="2016-01-10", name="Recyclerie du Val", departement="94",
                                      commune="Créteil")

            async def profile():
                r = await p.get(f"/organisations/{org}")
                return r.status_code == 200 and r.json()

            seen = await eventually(profile, timeout=60)
            assert (seen["name"], seen["departement"], seen["commune"]) == ("Recyclerie du Val", "94", "Créteil")
            await eventually(lambda: _standing(p, org, None, "active"), timeout=60)

            # dues unpaid past the grace period: membership records the lapse (an event, not a call)
            assert (await m.post("/dues/deadlines", json={"on": "2016-12-31"})).status_code == 200
            await eventually(lambda: _standing(p, org, None, "lapsed"), timeout=60)

            # the history answers for any date
            before = (await p.get(f"/organisations/{org}/standing", params={"on": "2015-12-31"})).json()
            assert before["known"] and not before["in_good_standing"] and before["status"] is None
            during = (await p.get(f"/organisations/{org}/standing", params={"on": "2016-06-30"})).json()
            assert during["in_good_standing"] and during["status"] == "active"
            after = (await p.get(f"/organisations/{org}/standing", params={"on": "2017-01-15"})).json()
            assert not after["in_good_standing"] and after["status"] == "lapsed"

            unknown = await p.get("/organisations/org-nobody")
            assert unknown.status_code == 404 and "unknown to procurement" in unknown.json()["detail"]
            assert (await p.get("/organisations/org-nobody/standing")).json()["known"] is False
        async with client_of(procurement_app, procurement_settings, "staff:events") as other_team:
            assert (await other_team.get(f"/organisations/{org}")).status_code == 403


async def _standing(client, org: str, on: str | None, status: str) -> bool:
    r = await client.get(f"/organisations/{org}/standing", params={"on": on} if on else {})
    return r.status_code == 200 and r.json()["status"] == status
