"""The membership lifecycle gaps over HTTP and Kafka: idempotent payments, withdrawn applications,
rejoining, the dues runner, fee scales per dues year, back-dated commands (years 2060–2069)."""
from __future__ import annotations

import socket
import subprocess
import sys
from datetime import date, datetime

import pytest

from contracts.envelope import CloudEvent
from runtime import members as view
from runtime.mongo import OUTBOX
from tests.integration.conftest import active_member, eventually, fields, header, read_topic

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


async def new_organisation(client, on: str, **over) -> str:
    from tests.integration.conftest import unique_siret

    body = {"siret": unique_siret(), "name": "Structure ESS", "legal_form": "association", "departement": "93",
            "commune": "Montreuil", "sector": "économie circulaire", "headcount": 5,
            "annual_budget_cents": 20_000_000, "on": on, **over}
    r = await client.post("/organisations", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_an_applicant_withdraws_and_may_apply_again(client, app, settings):
    org = await new_organisation(client, "2061-01-02")
    app_id = (await client.post("/applications", json={"organisation_id": org, "on": "2061-01-05"})).json()["id"]
    await client.post(f"/applications/{app_id}/welcome-meeting", json={"on": "2061-01-10"})
    r = await client.post(f"/applications/{app_id}/withdrawal", json={"on": "2061-01-09"})
    assert r.status_code == 422 and fields(r) == ["on"]
    r = await client.post(f"/applications/{app_id}/withdrawal", json={"on": "2061-01-12", "reason": "Fusion"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and r.json()["withdrawal_reason"] == "Fusion"
    r = await client.post(f"/applications/{app_id}/withdrawal", json={"on": "2061-01-13"})
    assert r.status_code == 409 and r.json()["current_state"] == "withdrawn"
    assert (await client.post(f"/applications/{app_id}/admission", json={"on": "2061-01-13"})).status_code == 409
    r = await client.post("/applications", json={"organisation_id": org, "on": "2061-02-01"})
    assert r.status_code == 201, "a withdrawn application is not an open one"
    again = r.json()["id"]
    await client.post(f"/applications/{again}/welcome-meeting", json={"on": "2061-02-02"})
    await client.post(f"/applications/{again}/admission", json={"on": "2061-02-03"})
    r = await client.post(f"/applications/{again}/withdrawal", json={"on": "2061-02-04"})
    assert r.status_code == 409 and r.json()["current_state"] == "admitted"
    records = await read_topic(settings, "membership.application", lambda r: r.key == app_id.encode(), count=3)
    assert [header(r, "ce_type").split(".")[3] for r in records] == [
        "application-submitted", "welcome-meeting-held", "application-withdrawn"]
    listed = (await client.get("/applications", params={"status": "withdrawn", "organisation_id": org})).json()
    assert [a["id"] for a in listed["items"]] == [app_id]


async def admit(client, org: str, on: str) -> str:
    r = await client.post("/applications", json={"organisation_id": org, "on": on})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    await client.post(f"/applications/{app_id}/welcome-meeting", json={"on": on})
    assert (await client.post(f"/applications/{app_id}/admission", json={"on": on})).status_code == 200
    return app_id


async def test_a_withdrawn_organisation_joins_again_with_its_history_kept(client, app, settings):

    org = await active_member(client, on="2062-01-10")
    due = (await client.get(f"/members/{org}")).json()["invoices"][0]["amount_cents"]
    await client.post(f"/members/{org}/payments", json={"year": 2062, "amount_cents": due, "on": "2062-01-20"})
    r = await client.post("/applications", json={"organisation_id": org, "on": "2062-02-01"})
    assert r.status_code == 409 and r.json()["current_state"] == "active", "an active member does not apply"
    await client.post(f"/members/{org}/withdrawal", json={"reason": "resignation", "on": "2062-06-30"})
    app2 = await admit(client, org, "2063-01-05")
    r = await client.post("/members", json={"application_id": app2, "on": "2063-01-04"})
    assert r.status_code == 422 and fields(r) == ["on"]
    r = await client.post("/members", json={"application_id": app2, "on": "2063-01-10"})
    assert r.status_code == 201, r.text
    member = r.json()
    assert member["id"] == org and member["status"] == "active" and member["since"] == "2063-01-10"
    assert [(p["number"], p["start_on"], p["end_on"], p["end_reason"]) for p in member["periods"]] == [
        (1, "2062-01-11", "2062-06-30", "resignation"), (2, "2063-01-10", None, None)]
    assert (await client.post("/members", json={"application_id": app2, "on": "2063-01-11"})).status_code == 409
    for day, standing in (("2062-03-01", True), ("2062-09-01", False), ("2063-02-01", True)):
        r = await client.get(f"/members/{org}/standing", params={"on": day})
        assert r.json()["in_good_standing"] is standing, day
        page = (await client.get("/members/in-good-standing", params={"on": day})).json()
        assert (org in [m["id"] for m in page["items"]]) is standing, day

    # what other services learn from the events gives the same standing on each date
    records = await read_topic(settings, "membership.member", lambda r: r.key == org.encode(), count=6)
    kinds = [header(r, "ce_type").split(".")[3] for r in records]
    assert kinds == ["member-activated", "dues-invoiced", "dues-payment-recorded", "membership-withdrawn",
                     "member-activated", "dues-invoiced"]
    assert CloudEvent.from_kafka(records[4].headers, records[4].value).to_domain().period == 2
    db = app.state.platform.db
    for record in records:
        envelope = CloudEvent.from_kafka(record.headers, record.value)
        event = envelope.to_domain()
        handler = {"member-activated": view.on_member_activated,
                   "membership-withdrawn": view.on_withdrawn}.get(header(record, "ce_type").split(".")[3])
        if handler is not None:
            await db.transaction(lambda tx, h=handler, e=event, env=envelope: h(e, tx, env))
    doc = await db[view.STANDING].find_one({"_id": org})
    assert [view.standing_on(doc, date.fromisoformat(d))["in_good_standing"]
            for d in ("2062-03-01", "2062-09-01", "2063-02-01")] == [True, False, True]

    async def figures():
        rows = {row["year"]: row for row in (await client.get("/statistics/yearly")).json()}
        return rows if rows.get(2063, {}).get("members_joined") == 1 else None

    rows = await eventually(figures)
    before = rows.get(2061, {}).get("members_at_year_end", 0)  # the tests of this module share their figures
    assert (rows[2062]["members_joined"], rows[2062]["members_withdrawn"], rows[2062]["members_rejoined"]) == (1, 1, 0)
    assert rows[2062]["members_at_year_end"] == before
    assert (rows[2063]["members_joined"], rows[2063]["members_rejoined"]) == (1, 1)
    assert rows[2063]["members_at_year_end"] == before + 1


async def test_the_dues_runner_invoices_and_applies_deadlines_by_itself_once_a_day(client, app):
    from services.membership.bootstrap import SERVICE
    from services.membership.service_layer.runner import DuesRunner, run_dues

    assert [job.run for job in SERVICE.jobs if job.name == "dues-runner"] == [run_dues]
    svc = app.state.platform.commands
    org = await active_member(client, on="2064-02-10")  # 2064 invoice due 2064-03-12, grace ends 2064-05-11
    today = {"day": date(2064, 3, 13)}
    runner = DuesRunner(svc, clock=lambda: today["day"], owner="runner-a")
    other = DuesRunner(svc, clock=lambda: today["day"], owner="runner-b")
    done = await runner.run_once()
    assert done["deadlines"]["changed"] >= 1 and "invoicing" in done  # 2064's, after its invoicing day
    assert (await client.get(f"/members/{org}")).json()["status"] == "grace_period"
    assert await other.run_once() == {"lease": False}, "one runner at a time"
    assert "deadlines" not in await runner.run_once(), "a second run the same day does nothing more"
    today["day"] = date(2065, 1, 4)  # the day before the invoicing day (5 January by default)
    done = await runner.run_once()
    assert "invoicing" not in done and (await client.get(f"/members/{org}")).json()["status"] == "lapsed"
    await client.post(f"/members/{org}/invoices", json={"year": 2065, "on": "2065-01-04"})
    due = (await client.get(f"/members/{org}")).json()["invoices"][-1]["amount_cents"]
    await client.post(f"/members/{org}/payments", json={"year": 2065, "amount_cents": due, "on": "2065-01-04"})
    second = await active_member(client, on="2064-06-01")
    today["day"] = date(2065, 1, 6)
    done = await runner.run_once()
    assert done["invoicing"]["invoiced"] >= 1
    invoiced = [i["year"] for i in (await client.get(f"/members/{second}")).json()["invoices"]]
    assert invoiced == [2064, 2065]
    assert "invoicing" not in await runner.run_once() and "deadlines" not in await runner.run_once()
    assert [i["year"] for i in (await client.get(f"/members/{second}")).json()["invoices"]] == [2064, 2065]
    runs = (await client.get("/dues/runs")).json()
    assert {"deadlines:2064-03-13", "deadlines:2065-01-04", "deadlines:2065-01-06", "invoicing:2065"} <= \
        {r["run"] for r in runs}
    # the lease expires: another runner takes over
    await app.state.platform.db["dues_runner_lease"].update_one({"_id": "dues-runner"},
                                                                {"$set": {"expires_at": datetime(2000, 1, 1)}})
    assert (await other.run_once())["lease"] is True
    assert (await runner.run_once())["lease"] is False
    # its holder, a process of this machine, is gone (killed): the lease is taken at once, not waited out
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    await app.state.platform.db["dues_runner_lease"].update_one(
        {"_id": "dues-runner"}, {"$set": {"owner": f"{socket.gethostname()}:{int(done.stdout)}:dead0001"}})
    assert (await runner.run_once())["lease"] is True


SCALE_2066 = [{"label": "S1", "max_headcount": 10, "max_budget_cents": 50_000_000, "dues_cents": 10_000},
              {"label": "S2", "max_headcount": None, "max_budget_cents": None, "dues_cents": 30_000}]


async def test_fee_scales_are_voted_per_dues_year_and_dues_follow_the_size_at_invoicing(client, settings):
    r = await client.get("/dues/fee-scales/2066")
    assert r.status_code == 200 and r.json()["source"] == "default"
    r = await client.put("/dues/fee-scales/2066", json={"brackets": SCALE_2066[:1], "on": "2065-06-12"})
    assert r.status_code == 422 and fields(r) == ["brackets"]
    r = await client.put("/dues/fee-scales/2066", json={"brackets": SCALE_2066, "on": "2065-06-12",
                                                        "reference": "AG-2065 r4"})
    assert r.status_code == 201, r.text
    assert (r.json()["source"], r.json()["revision"], r.json()["reference"]) == ("voted", 1, "AG-2065 r4")
    r = await client.put("/dues/fee-scales/3066", json={"brackets": SCALE_2066})
    assert r.status_code == 422 and fields(r) == ["path.year"]

    org = await active_member(client, on="2066-01-10", headcount=5, annual_budget_cents=20_000_000)
    invoice = (await client.get(f"/members/{org}")).json()["invoices"][0]
    assert (invoice["year"], invoice["fee_bracket"], invoice["amount_cents"]) == (2066, "S1", 10_000)
    # 2066 is invoiced: its scale stays unless forced, and the invoice issued keeps its amount
    raised = [{**b, "dues_cents": b["dues_cents"] + 2_000} for b in SCALE_2066]
    r = await client.put("/dues/fee-scales/2066", json={"brackets": raised, "on": "2066-02-01"})
    assert r.status_code == 409 and "force" in r.json()["detail"]
    r = await client.put("/dues/fee-scales/2066", json={"brackets": raised, "on": "2066-02-01", "force": True})
    assert r.status_code == 200 and r.json()["revision"] == 2 and r.json()["forced"] is True
    assert [h["revision"] for h in r.json()["history"]] == [1]
    assert (await client.get(f"/members/{org}")).json()["invoices"][0]["amount_cents"] == 10_000
    # the organisation grew: 2067 is invoiced by its size then, under the scale of 2067 (none voted: the default)
    r = await client.patch(f"/organisations/{org}", json={"headcount": 60, "on": "2066-09-01"})
    assert r.status_code == 200
    r = await client.post("/dues/invoicing", json={"year": 2067, "on": "2067-01-05"})
    assert r.status_code == 200
    invoice = (await client.get(f"/members/{org}")).json()["invoices"][-1]
    assert (invoice["year"], invoice["fee_bracket"], invoice["amount_cents"]) == (2067, "B4", 100_000)
    listed = (await client.get("/dues/fee-scales")).json()
    assert [(s["year"], s["revision"]) for s in listed] == [(2066, 2)]
    records = await read_topic(settings, "membership.fee-scale", lambda r: r.key == b"2066", count=2)
    assert [CloudEvent.from_kafka(r.headers, r.value).to_domain().revision for r in records] == [1, 2]


async def test_a_back_dated_deadline_run_decides_from_the_facts_of_its_date(client, app):
    escaped = await active_member(client, on="2068-01-10")  # 2068 invoice due 2068-02-09, grace ends 2068-04-10
    paid_next = await active_member(client, on="2068-01-10")
    lapses = await active_member(client, on="2068-01-10")
    good = await active_member(client, on="2068-01-10")
    due = (await client.get(f"/members/{good}")).json()["invoices"][0]["amount_cents"]
    await client.post(f"/members/{good}/payments", json={"year": 2068, "amount_cents": due, "on": "2068-02-01"})
    # recorded before the run, made after its date
    await client.post(f"/members/{escaped}/payments", json={"year": 2068, "amount_cents": due, "on": "2069-01-20"})
    await client.post(f"/members/{paid_next}/invoices", json={"year": 2069, "on": "2069-01-05"})
    await client.post(f"/members/{paid_next}/payments", json={"year": 2069, "amount_cents": due, "on": "2069-01-20"})

    r = await client.post("/dues/deadlines", json={"on": "2068-12-31"})
    assert r.status_code == 200, r.text
    result = r.json()
    refused = {item["member_id"]: item["later_fact"] for item in result["refused"]}
    assert refused.keys() >= {escaped, paid_next} and lapses not in refused and good not in refused
    assert "2069-01-20" in refused[escaped] and "2069-01-20" in refused[paid_next]
    statuses = {m: (await client.get(f"/members/{m}")).json()["status"] for m in (escaped, paid_next, lapses, good)}
    assert statuses == {escaped: "active", paid_next: "active", lapses: "lapsed", good: "active"}
    for member, standing in ((escaped, False), (paid_next, False), (lapses, False), (good, True)):
        r = await client.get(f"/members/{member}/standing", params={"on": "2068-12-31"})
        assert r.json()["in_good_standing"] is standing, member
    # its 2068 dues are still unpaid past their grace: not in good standing until they are paid
    assert (await client.get(f"/members/{paid_next}/standing", params={"on": "2069-02-01"})).json()[
        "in_good_standing"] is False

    # a status change dated before the member's last fact: 409 naming it
    r = await client.post(f"/members/{escaped}/withdrawal", json={"reason": "resignation", "on": "2068-12-01"})
    assert r.status_code == 409 and r.json()["later_fact_on"] == "2069-01-20"
    assert "payment" in r.json()["detail"]
    # a date typo beyond the platform's horizon is refused at the door, naming the field
    r = await client.post("/dues/deadlines", json={"on": "3023-12-08"})
    assert r.status_code == 422 and fields(r) == ["on"]
    r = await client.get("/statistics/yearly", params={"since": 3023})
    assert r.status_code == 422 and fields(r) == ["query.since"]
    assert (await client.get("/statistics/yearly", params={"since": 2150})).status_code == 200


REGISTER_HEADER = ("kind;siret;name;legal_form;departement;commune;sector;headcount;annual_budget_cents;"
                   "registered_on;member_since;year;amount_cents;issued_on;fee_bracket;paid_on;method;payment_id\n")


async def test_a_register_is_imported_as_it_happened_once_with_a_line_report(client, app, settings, tmp_path):
    from tests.integration.conftest import unique_siret
    from services.membership.register_cli import run_import

    old, newer = unique_siret(), unique_siret()
    body = (REGISTER_HEADER
            + f"organisation;{old};Les Ateliers;association;93;Montreuil;recyclage;12;45000000;2060-01-10;2060-02-01"
              ";;;;;;;\n"
            + f"invoice;{old};;;;;;;;;;2060;12000;2060-02-01;B2;;;\n"
            + f"payment;{old};;;;;;;;;;2060;12000;;;2060-03-01;cheque;CHQ-2060-17\n"
            + f"invoice;{old};;;;;;;;;;2061;12500;2061-12-15;B2;;;\n"
            + f"payment;{old};;;;;;;;;;2061;12500;;;2062-01-10;transfer;\n"
            + f"payment;{old};;;;;;;;;;2061;1,5;;;2062-01-10;transfer;\n"
            + f"invoice;{unique_siret()};;;;;;;;;;2061;100;2061-01-05;;;;\n"
            + f"organisation;{newer};Coop;scop;75;Paris;numérique;3;9000000;2061-05-01;;;;;;;;\n")
    r = await client.post("/register-imports", content=body.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    result = r.json()
    assert {k: result["counts"][k] for k in ("organisations", "members", "invoices", "payments", "rejected")} == \
        {"organisations": 2, "members": 1, "invoices": 2, "payments": 2, "rejected": 2}
    assert [(f["line"], f["field"]) for f in result["faults"]] == [(7, "amount_cents"), (8, "siret")]
    org = (await client.get("/organisations", params={"q": old})).json()["items"][0]["id"]
    member = (await client.get(f"/members/{org}")).json()
    assert member["since"] == "2060-02-01" and member["application_id"] == "imported"
    assert [(i["year"], i["amount_cents"], i["fee_bracket"], i["issued_on"]) for i in member["invoices"]] == [
        (2060, 12_000, "B2", "2060-02-01"), (2061, 12_500, "B2", "2061-12-15")]
    records = await read_topic(settings, "membership.member", lambda r: r.key == org.encode(), count=6)
    events = [CloudEvent.from_kafka(r.headers, r.value).to_domain() for r in records]
    assert [type(e).__name__ for e in events] == ["MemberActivated", "DuesInvoiced", "DuesPaymentRecorded",
                                                  "DuesInvoiced", "DuesPaymentRecorded", "MembershipRenewed"]
    assert all(e.imported for e in events)

    # again, through the CLI's code (progress bar on stderr): nothing changes
    file = tmp_path / "registre.csv"
    file.write_text(body, encoding="utf-8")
    again = await run_import(app.state.platform.db, file)
    assert {k: again["counts"][k] for k in ("organisations", "members", "invoices", "payments", "unchanged")} == \
        {"organisations": 0, "members": 0, "invoices": 0, "payments": 0, "unchanged": 6}
    assert (await client.get(f"/members/{org}")).json()["version"] == member["version"]

    # collected counts by dues year, received by the year the money came in
    async def figures():
        rows = {row["year"]: row for row in (await client.get("/statistics/yearly", params={"since": 2060})).json()}
        return rows if rows.get(2061, {}).get("dues_collected_cents", 0) >= 12_500 else None

    rows = await eventually(figures)  # (the figures also count the events other tests of the session published)
    assert rows[2062]["dues_received_cents"] >= 12_500, "the 2061 dues paid in January 2062, by payment year"
    assert rows[2060]["dues_collected_cents"] >= 12_000 and rows[2060]["dues_received_cents"] >= 12_000
    r = await client.post("/register-imports", content=b"name;siret\nx;1\n", headers={"content-type": "text/csv"})
    assert r.status_code == 422 and fields(r) == ["file"]
