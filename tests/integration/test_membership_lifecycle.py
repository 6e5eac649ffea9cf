"""The membership lifecycle gaps over HTTP and Kafka: idempotent payments, withdrawn applications,
rejoining, the dues runner, fee scales per dues year, back-dated commands (years 2060–2069)."""
from __future__ import annotations

import pytest

from runtime.mongo import OUTBOX
from tests.integration.conftest import active_member, fields, read_topic, header

pytestmark = pytest.mark.integration


async def member_events(app, member_id: str) -> list[str]:
    docs = await app.state.platform.db[OUTBOX].find({"aggregateid": member_id}).sort(
        [("created_at", 1), ("position", 1)]).to_list()
    return [d["type"].split(".")[3] for d in docs]


async def test_a_replayed_payment_answers_200_with_the_first_result(client, app, settings):
    org = await active_member(client, on="2060-01-10")
    body = {"year": 2060, "amount_cents": 5_000, "payment_id": "VIR-2060-1", "method": "cheque", "on": "2060-01-20"}
    first = await client.post(f"/members/{org}/payments", json=body)
    assert first.status_code == 201, first.text
    again = await client.post(f"/members/{org}/payments", json={**body, "on": "2060-01-21"},
                              headers={"If-Match": f'"{first.json()["version"] - 1}"'})
    assert again.status_code == 200, again.text  # the If-Match its first send made stale does not matter
    assert again.json() == first.json() and again.headers["ETag"] == first.headers["ETag"]
    other = await client.post(f"/members/{org}/payments", json={**body, "amount_cents": 6_000})
    assert other.status_code == 409 and "amount_cents 6000 (recorded: 5000)" in other.json()["detail"]
    assert (await member_events(app, org)).count("dues-payment-recorded") == 1
    records = await read_topic(settings, "membership.member",
                               lambda r: r.key == org.encode() and header(r, "ce_type").endswith("payment-recorded.v1"))
    assert len(records) == 1
