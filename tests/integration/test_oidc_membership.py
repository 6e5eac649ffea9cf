"""The membership service in AUTH_MODE=oidc, end to end: staff sign in through a real identity
provider (tests/oidc_issuer.py, over HTTP), partners read who is in good standing under their rate
limit, the development tokens are refused, and the provider going down does not lock staff out."""
from __future__ import annotations

import re
from datetime import date

import httpx
import pytest

from runtime.auth import issue_token
from tests.integration.conftest import active_member, eventually, service_settings, serving, unique_siret
from tests.oidc_issuer import AUDIENCE, Issuer

pytestmark = pytest.mark.integration


@pytest.fixture
def issuer():
    provider = Issuer().start()
    yield provider
    provider.stop()


def client(app, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://membership.test",
                             headers={"Authorization": f"Bearer {token}"})


def refused_so_far(metrics_text: str, route: str) -> float | None:
    m = re.search(r'cress_rate_limited_total\{route="%s",service="membership"\} ([0-9.e+]+)' % re.escape(route),
                  metrics_text)
    return float(m.group(1)) if m else None


async def test_membership_serves_identity_provider_tokens_and_limits_partners(infrastructure, issuer):
    staff_key, partner_key = issuer.add_key("RS256"), issuer.add_key("ES256")
    settings = service_settings(infrastructure, "membership", auth_mode="oidc", oidc_issuer=issuer.issuer,
                                oidc_audience=AUDIENCE, partner_rate_burst=3, partner_rate_per_second=0.01)
    staff_token = issuer.token("camille", ["staff:membership"], kid=staff_key)
    async with serving("membership", settings) as app:
        async with client(app, staff_token) as staff:
            metrics = (await staff.get("/metrics")).text
            assert refused_so_far(metrics, "/members/{member_id}/standing") is not None  # exists from the start
            before = refused_so_far(metrics, "/members/in-good-standing") or 0.0

            org = await active_member(staff, on="2026-03-02")  # staff writes: organisation → member
            standing_path = f"/members/{org}/standing"

            async def standing_known():
                r = await staff.get(standing_path, params={"on": "2026-03-10"})
                return r.status_code == 200 and r.json()["status"]

            await eventually(standing_known)

            # a development token (HS256, the shared secret) is no longer accepted
            async with client(app, issue_token(settings, "camille", ["admin"])) as dev:
                r = await dev.get("/organisations")
                assert r.status_code == 401 and "algorithm 'HS256' is not accepted" in r.json()["detail"]

            # a partner (ES256 token) reads standings, up to its burst
            async with client(app, issuer.token("region-idf", ["partner"], kid=partner_key)) as partner, \
                    client(app, issuer.token("metropole", ["partner"], kid=partner_key)) as other_partner:
                assert (await partner.get("/organisations")).status_code == 403  # not a partner route
                for _ in range(3):
                    r = await partner.get("/members/in-good-standing", params={"on": "2026-03-10"})
                    assert r.status_code == 200, r.text
                assert org in [m["id"] for m in r.json()["items"]]
                r = await partner.get("/members/in-good-standing", params={"on": "2026-03-10"})
                assert r.status_code == 429, r.text
                assert r.headers["content-type"] == "application/problem+json"
                assert 1 <= int(r.headers["retry-after"]) <= 100 and "region-idf" in r.json()["detail"]
                assert (await partner.get(standing_path)).status_code == 429  # the same bucket on every route

                assert (await other_partner.get(standing_path)).status_code == 200  # another partner: its own
                for _ in range(6):  # staff are not limited
                    assert (await staff.get("/members/in-good-standing")).status_code == 200

            metrics = (await staff.get("/metrics")).text
            assert refused_so_far(metrics, "/members/in-good-standing") == before + 1

            # the identity provider goes down: the cached keys keep staff working
            issuer.stop()
            r = await staff.post("/organisations", json={
                "siret": unique_siret(), "name": "Coop du Canal", "legal_form": "scop", "departement": "93",
                "commune": "Pantin", "sector": "BTP durable", "headcount": 4, "annual_budget_cents": 9_000_000,
                "on": date(2026, 3, 12).isoformat()})
            assert r.status_code == 201, r.text
